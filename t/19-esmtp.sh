# ESMTP through smtp-proxyd and smtp-forward, against the test smarthost
# offering and not offering SMTPUTF8, DSN and CHUNKING (smtp-testhost -X,
# -N): the EHLO reply follows the smarthost (the EHLO cache), SIZE is the
# smaller limit, UTF-8 addresses and DSN parameters reach the smarthost
# byte for byte, BDAT in 1, 2 and 100 chunks and with a 0-octet LAST, bare
# LF in a chunk, a chunk over SIZE; an extension the smarthost lost; and
# smtp-forward's check mode (NOQUEUE_CHECK).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-esmtp.sh"

mkdir -p "$T/spool"
RECORD=$T/record
export RECORD
serve_host -X SMTPUTF8,DSN,CHUNKING -s 100000
serve_proxy -R -d "$T/spool" -s 200000 { "$TOP/t/filters/record" } { "$TOP/t/filters/v2" mail,rcpt,eom } --
: > "$RECORD"

# --- the EHLO reply follows the smarthost --------------------------------
script "EHLO client.test" "QUIT"
session "$PROXY_PORT" "$T/script"
grep -q '^250-CHUNKING$' "$T/replies" || fail "no CHUNKING offered"
grep -q '^250-SIZE 200000$' "$T/replies" || fail "before any smarthost session: SIZE is not the proxy's own"
grep -q '^250-8BITMIME$' "$T/replies" || fail "before any smarthost session: no 8BITMIME (the default)"
grep -Eq '^250-(SMTPUTF8|DSN)$' "$T/replies" && fail "SMTPUTF8 or DSN offered before the smarthost was known"
ls "$T/spool" | grep -q noqueue-ehlo && fail "an EHLO cache before any smarthost session"
ok "before the smarthost is known: PIPELINING, SIZE (own), 8BITMIME, CHUNKING; no SMTPUTF8, no DSN"

send --from a@example.org --to b@example.net || fail "first message: $(cat "$T/swaks.out")"
cache=$(ls "$T"/spool/noqueue-ehlo.* 2>/dev/null)
[ -n "$cache" ] || fail "no EHLO cache written by smtp-forward"
grep -qx 'SMTPUTF8' "$cache" && grep -qx 'DSN' "$cache" && grep -qx 'SIZE 100000' "$cache" ||
  { cat "$cache"; fail "the EHLO cache lacks what the smarthost offers"; }
ino=$(stat -c %i "$cache")
send --from a@example.org --to b@example.net || fail "second message"
[ "$(stat -c %i "$cache")" = "$ino" ] || fail "the EHLO cache was written again though unchanged"
ok "smtp-forward writes the smarthost's EHLO keywords to $(basename "$cache"), once, not again when unchanged"

send --quit-after EHLO || true
grep -q 'SMTPUTF8' "$T/swaks.out" && grep -q '250-DSN' "$T/swaks.out" && grep -q 'SIZE 100000' "$T/swaks.out" &&
  grep -q 'CHUNKING' "$T/swaks.out" || { cat "$T/swaks.out"; fail "swaks: EHLO reply without the smarthost's extensions"; }
ok "swaks sees SMTPUTF8, DSN, CHUNKING and SIZE 100000 (the smarthost's, smaller than -s 200000)"

# --- SMTPUTF8 --------------------------------------------------------------
rm -f "$T"/host/msg.* "$T"/host/env.*
U_FROM='j\303\266rg@b\303\274cher.example'
U_TO='\316\264\316\277\316\272\316\271\316\274\316\256@\317\200\316\261\317\201\316\254\316\264\316\265\316\271\316\263\316\274\316\261.example'
U_TO2='"\344\270\255 \346\226\207"@example.net'
script "EHLO client.test" "MAIL FROM:<$U_FROM> SMTPUTF8" "RCPT TO:<$U_TO>" "RCPT TO:<$U_TO2>" "DATA" \
  "Subject: =?UTF-8?Q?gr=C3=BC=C3=9Fe?=" "" "hallo" "." "QUIT"
session "$PROXY_PORT" "$T/script"
expect_reply 3 '^250 ' "MAIL with SMTPUTF8"
expect_reply 4 '^250 ' "RCPT with a UTF-8 address"
expect_reply 5 '^250 ' "RCPT with a quoted UTF-8 local part"
expect_reply 7 '^250 ' "SMTPUTF8 message"
printf 'MAIL FROM:<%b>\nRCPT TO:<%b>\nRCPT TO:<%b>\n' "$U_FROM" "$U_TO" "$U_TO2" > "$T/want.env"
cmp -s "$T"/host/env.* "$T/want.env" || { cat "$T"/host/env.*; fail "UTF-8 addresses not stored exactly"; }
grep -aqx "$(printf 'MAIL FROM:<%b> SMTPUTF8' "$U_FROM")" "$T"/host/log.* ||
  fail "the smarthost did not get MAIL with SMTPUTF8 as sent"
grep -q '^mail j+C3+B6rg@b+C3+BCcher.example$' "$RECORD" || { cat "$RECORD"; fail "the filter's mail field is not the xtext of the UTF-8 address"; }
ok "SMTPUTF8: UTF-8 sender and recipients (one quoted) stored exactly; MAIL relayed with SMTPUTF8; the filter gets them in xtext"

script "EHLO client.test" "MAIL FROM:<$U_FROM>" "MAIL FROM:<a@example.org> SMTPUTF8" "RCPT TO:<a\\377@example.net>" \
  "RCPT TO:<a\\300\\200@example.net>" "RCPT TO:<\\303\\244@example.net>" "RSET" "MAIL FROM:<a@example.org>" \
  "RCPT TO:<\\303\\244@example.net>" "NOOP \\303\\244" "QUIT"
session "$PROXY_PORT" "$T/script"
expect_reply 3 '^553 5\.6\.7 ' "non-ASCII sender without SMTPUTF8"
expect_reply 4 '^250 ' "MAIL SMTPUTF8"
expect_reply 5 '^553 5\.6\.7 ' "not UTF-8 (0xFF)"
expect_reply 6 '^553 5\.6\.7 ' "overlong UTF-8"
expect_reply 7 '^250 ' "a valid one after the refusals"
expect_reply 10 '^553 5\.6\.7 ' "non-ASCII recipient without SMTPUTF8"
expect_reply 11 '^500 ' "8-bit octets in another command"
ok "553 5.6.7 for a non-ASCII address without SMTPUTF8 and for octets that are not UTF-8; 500 for 8-bit elsewhere"
# swaks (20201014) has no SMTPUTF8 nor BDAT: it is the client that does
# not know the extension, and sends a UTF-8 address all the same.
send --from "$(printf '%b' "$U_FROM")" --to b@example.net && fail "swaks: a UTF-8 sender without SMTPUTF8 was taken"
grep -q '^<\*\* *553 5\.6\.7 ' "$T/swaks.out" || { cat "$T/swaks.out"; fail "swaks: no 553 5.6.7 for its UTF-8 sender"; }
ok "swaks, a UTF-8 sender without SMTPUTF8 (what it can send): 553 5.6.7"

# --- DSN ---------------------------------------------------------------------
script "EHLO client.test" "MAIL FROM:<a@example.org> RET=HDRS ENVID=QQ314159+2Bx" \
  "RCPT TO:<b@example.net> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;b+40example.net" \
  "RCPT TO:<c@example.net> notify=never" "DATA" "Subject: dsn" "" "x" "." \
  "MAIL FROM:<a@example.org> RET=ALL" "MAIL FROM:<a@example.org> ENVID=a+zz" \
  "MAIL FROM:<a@example.org> RET=FULL RET=HDRS" "MAIL FROM:<a@example.org> XFOO=1" \
  "MAIL FROM:<a@example.org>" "RCPT TO:<b@example.net> NOTIFY=NEVER,SUCCESS" "RCPT TO:<b@example.net> ORCPT=b@example.net" \
  "RCPT TO:<b@example.net> XFOO" "QUIT"
session "$PROXY_PORT" "$T/script"
expect_reply 3 '^250 ' "MAIL with RET and ENVID"
expect_reply 4 '^250 ' "RCPT with NOTIFY and ORCPT"
expect_reply 5 '^250 ' "RCPT with notify=never"
expect_reply 7 '^250 ' "DSN message"
grep -qx 'MAIL FROM:<a@example.org> RET=HDRS ENVID=QQ314159+2Bx' "$T"/host/log.* &&
  grep -qx 'RCPT TO:<b@example.net> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;b+40example.net' "$T"/host/log.* &&
  grep -qx 'RCPT TO:<c@example.net> notify=never' "$T"/host/log.* ||
  { grep -a 'MAIL\|RCPT' "$T"/host/log.*; fail "DSN parameters not relayed byte for byte"; }
grep -qx 'mail a@example.org RET+3DHDRS+20ENVID+3DQQ314159+2B2Bx' "$RECORD" &&
  grep -qx 'rcpt b@example.net NOTIFY+3DSUCCESS,DELAY+20ORCPT+3Drfc822;b+2B40example.net' "$RECORD" &&
  grep -qx 'recipient b@example.net 250 NOTIFY+3DSUCCESS,DELAY+20ORCPT+3Drfc822;b+2B40example.net' "$RECORD" &&
  grep -q '^sender a@example.org RET+3DHDRS+20ENVID+3DQQ314159+2B2Bx ' "$RECORD" ||
  { grep -a 'example' "$RECORD"; fail "a version 2 filter does not get the DSN parameters in its fields"; }
ok "DSN: RET, ENVID, NOTIFY and ORCPT reach the smarthost byte for byte, and a version 2 filter's fields (mail, rcpt, sender, recipient)"
expect_reply 8 '^501 5\.5\.4 ' "RET=ALL"
expect_reply 9 '^501 5\.5\.4 ' "ENVID not xtext"
expect_reply 10 '^501 5\.5\.4 ' "RET twice"
expect_reply 11 '^555 5\.5\.4 ' "an unknown MAIL parameter"
expect_reply 13 '^501 5\.5\.4 ' "NOTIFY=NEVER,SUCCESS"
expect_reply 14 '^501 5\.5\.4 ' "ORCPT without its type"
expect_reply 15 '^555 5\.5\.4 ' "an unknown RCPT parameter"
ok "DSN syntax: 501 5.5.4 for a bad value or a repeat, 555 5.5.4 for an unknown parameter"

# A filter's envelope changes keep their DSN parameters too.
stop PROXY
serve_proxy -R -d "$T/spool" { "$TOP/t/filters/v2" eom "add-recipient carol@example.net NOTIFY+3DSUCCESS+20ORCPT+3Drfc822;carol+2B40example.net" \
  "change-sender bounce@example.org RET+3DFULL+20ENVID+3Dchanged" } --
send --from a@example.org --to b@example.net || fail "a message with a filter's envelope changes"
grep -qx 'MAIL FROM:<bounce@example.org> RET=FULL ENVID=changed' "$T"/host/log.* &&
  grep -qx 'RCPT TO:<carol@example.net> NOTIFY=SUCCESS ORCPT=rfc822;carol+40example.net' "$T"/host/log.* ||
  { grep -a 'MAIL\|RCPT' "$T"/host/log.*; fail "a filter's DSN parameters not relayed"; }
ok "a version 2 filter's change-sender (RET, ENVID) and add-recipient (NOTIFY, ORCPT): relayed as given"
stop PROXY
serve_proxy -R -d "$T/spool" -s 200000 { "$TOP/t/filters/record" } { "$TOP/t/filters/v2" mail,rcpt,eom } --

# --- CHUNKING ---------------------------------------------------------------
printf 'Subject: chunks\r\nFrom: a@example.org\r\n\r\n' > "$T/msg"
chunk 20000 >> "$T/msg"
printf '\r\n.a line starting with a dot\r\nend\r\n' >> "$T/msg"
for k in 1 2 100; do
  rm -f "$T"/host/msg.*
  bdat_script "$T/msg" $k "" "MAIL FROM:<a@example.org>" "RCPT TO:<b@example.net>"
  session "$PROXY_PORT" "$T/script"
  expect_reply $((4 + k)) '^250 2\.0\.0 Ok: stored' "BDAT in $k chunks"
  cmp -s "$T"/host/msg.* "$T/msg" || fail "BDAT in $k chunks: the stored message differs"
done
ok "BDAT in 1, 2 and 100 chunks (CRLF cut between chunks too): stored byte for byte"

rm -f "$T"/host/msg.*
bdat_script "$T/msg" 3 last0 "MAIL FROM:<a@example.org>" "RCPT TO:<b@example.net>"
session "$PROXY_PORT" "$T/script"
expect_reply 8 '^250 2\.0\.0 Ok: stored' "3 chunks then BDAT 0 LAST"
cmp -s "$T"/host/msg.* "$T/msg" || fail "BDAT 0 LAST: the stored message differs"
ok "three chunks then a 0-octet BDAT LAST: stored byte for byte"

# Bare LF inside a chunk: as with DATA, 554 5.6.0 and nothing stored.
rm -f "$T"/host/msg.*
printf 'Subject: bare\r\n\r\nline one\nline two\r\n' > "$T/bare"
bdat_script "$T/bare" 1 "" "MAIL FROM:<a@example.org>" "RCPT TO:<b@example.net>"
session "$PROXY_PORT" "$T/script"
expect_reply 5 '^554 5\.6\.0 ' "bare LF in BDAT"
script "EHLO client.test" "MAIL FROM:<a@example.org>" "RCPT TO:<b@example.net>" "DATA"
printf 'Subject: bare\r\n\r\nline one\nline two\r\n.\r\nQUIT\r\n' >> "$T/script"
session "$PROXY_PORT" "$T/script"
expect_reply 6 '^554 5\.6\.0 ' "bare LF in DATA"
[ "$(stored)" = 0 ] || fail "a message with a bare LF was stored"
ok "a bare LF inside a BDAT chunk: 554 5.6.0 as with DATA, nothing stored"

# Over -s: 552 once the chunk is read, the session still in step.
chunk 250000 > "$T/big"
script "EHLO client.test" "MAIL FROM:<a@example.org>" "RCPT TO:<b@example.net>"
{ printf 'BDAT 250000\r\n'; cat "$T/big"; printf 'BDAT 5 LAST\r\nabcde'
  printf 'NOOP\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nBDAT 6 LAST\r\nx: y\r\n'
  printf 'DATA\r\nQUIT\r\n'; } >> "$T/script"
rm -f "$T"/host/msg.*
session "$PROXY_PORT" "$T/script"
expect_reply 5 '^552 5\.3\.4 ' "BDAT over SIZE"
expect_reply 6 '^503 5\.5\.1 ' "the next chunk of the refused message"
expect_reply 7 '^250 ' "NOOP after the refused chunks"
expect_reply 10 '^250 2\.0\.0 Ok: stored' "a message after the refusal"
expect_reply 11 '^503 5\.5\.1 ' "DATA without a transaction"
[ "$(stored)" = 1 ] || fail "stored $(stored) messages, want the small one only"
ok "a BDAT chunk over -s: 552 5.3.4 after its octets are read, 503 to the rest, the session in step"

script "EHLO client.test" "MAIL FROM:<a@example.org>" "RCPT TO:<b@example.net>" "BDAT 3" "abcDATA" "QUIT"
session "$PROXY_PORT" "$T/script"
expect_reply 5 '^250 ' "BDAT 3"
expect_reply 6 '^503 5\.5\.1 ' "DATA after BDAT"
script "EHLO client.test" "BDAT 4 LAST" "abcdNOOP" "QUIT"
session "$PROXY_PORT" "$T/script"
expect_reply 3 '^503 5\.5\.1 ' "BDAT without MAIL"
expect_reply 4 '^250 ' "NOOP after a refused chunk"
script "EHLO client.test" "MAIL FROM:<a@example.org>" "RCPT TO:<b b@example.net>" "BDAT 2 LAST" "xyNOOP" "QUIT"
session "$PROXY_PORT" "$T/script"
expect_reply 5 '^554 5\.5\.1 ' "BDAT without an accepted recipient"
expect_reply 6 '^250 ' "NOOP after it"
script "EHLO client.test" "BDAT x" "NOOP" "QUIT"
session "$PROXY_PORT" "$T/script"
expect_reply 3 '^501 5\.5\.4 ' "BDAT with a bad size"
[ -z "$(reply 4)" ] || fail "the session went on after a BDAT with a bad size: $(reply 4)"
ok "DATA after BDAT: 503; BDAT without MAIL: 503, without a recipient: 554, after its octets; a bad BDAT size: 501 and the connection closed"

# --- a smarthost without them ----------------------------------------------
stop HOST
stop PROXY
serve_host -N -s 0
serve_proxy -R -d "$T/spool" -s 200000 --
cache=
send --from a@example.org --to b@example.net || fail "message to the plain smarthost"
for f in "$T"/spool/noqueue-ehlo.*; do grep -q "127.0.0.1:$HOST_PORT" "$f" && cache=$f; done
[ -n "$cache" ] || fail "no EHLO cache for the new smarthost"
script "EHLO client.test" "MAIL FROM:<a@example.org> SMTPUTF8" "MAIL FROM:<a@example.org> RET=HDRS" \
  "MAIL FROM:<a@example.org> BODY=8BITMIME" "RCPT TO:<b@example.net> NOTIFY=NEVER" "QUIT"
session "$PROXY_PORT" "$T/script"
grep -Eq '^250-(SMTPUTF8|DSN|8BITMIME)$' "$T/replies" && { cat "$T/replies"; fail "extensions offered that the smarthost lacks"; }
grep -q '^250-SIZE 200000$' "$T/replies" || fail "SIZE: the smarthost gave no limit, the proxy's own is offered"
grep -q '^250-CHUNKING$' "$T/replies" || fail "CHUNKING is the proxy's own"
expect_reply 3 '^555 ' "SMTPUTF8 not offered"
expect_reply 4 '^555 ' "RET not offered"
expect_reply 5 '^250 ' "BODY=8BITMIME (taken as always, relayed as it is)"
expect_reply 6 '^555 ' "NOTIFY not offered"
ok "a smarthost without SMTPUTF8, DSN, 8BITMIME, SIZE limit: none offered (CHUNKING still), their parameters 555"

# The smarthost lost an extension after the client's EHLO: here the cache
# says it has them; the first RCPT gets 451 4.3.3, the next EHLO follows.
printf 'smarthost 127.0.0.1:%s\nPIPELINING\nSMTPUTF8\nDSN\n8BITMIME\n' "$HOST_PORT" > "$cache"
script "EHLO client.test" "MAIL FROM:<$U_FROM> SMTPUTF8" "RCPT TO:<b@example.net>" "QUIT"
session "$PROXY_PORT" "$T/script"
grep -q '^250-SMTPUTF8$' "$T/replies" || fail "SMTPUTF8 not offered from the cache"
expect_reply 3 '^250 ' "MAIL SMTPUTF8 (offered)"
expect_reply 4 '^451 4\.3\.3 ' "RCPT once the smarthost lost SMTPUTF8"
grep -qx SMTPUTF8 "$cache" && fail "the cache still says SMTPUTF8"
script "EHLO client.test" "QUIT"
session "$PROXY_PORT" "$T/script"
grep -q '^250-SMTPUTF8$' "$T/replies" && fail "SMTPUTF8 still offered after the smarthost lost it"
ok "an extension the smarthost lost: 451 4.3.3 at the first RCPT, and the next EHLO no longer offers it"

# --- BDAT and the filters: refused at the first chunk, and at LAST ---------
for ev in data eom; do
  stop PROXY
  serve_proxy -R -d "$T/spool" { "$TOP/t/filters/act" $ev reject } --
  before=$(stored)
  script "EHLO client.test" "MAIL FROM:<a@example.org>" "RCPT TO:<b@example.net>" "BDAT 5" "abcdeBDAT 3 LAST" \
    "xyzRSET" "MAIL FROM:<a@example.org>" "RCPT TO:<b@example.net>" "DATA" "x: y" "" "." "QUIT"
  session "$PROXY_PORT" "$T/script"
  if [ $ev = data ]; then
    expect_reply 5 '^5[0-9][0-9] ' "BDAT refused by a filter at its data event"
    expect_reply 6 '^503 5\.5\.1 ' "the next chunk after a refused first one"
  else
    expect_reply 5 '^250 ' "BDAT 5 (the filter refuses at eom)"
    expect_reply 6 '^5[0-9][0-9] ' "BDAT LAST refused by a filter at eom"
  fi
  expect_reply 7 '^250 ' "RSET after a refused BDAT"
  if [ $ev = data ]; then expect_reply 10 '^550 ' "DATA refused by the same filter"
  else expect_reply 11 '^550 ' "DATA's end refused by the same filter"; fi
  [ "$(stored)" = "$before" ] || fail "a message refused by a filter ($ev) was stored"
done
ok "BDAT and the filters: refused at the first chunk (data event; 503 to the next chunk) or at LAST (eom); nothing stored"

# --- MAIL and RCPT in one write to a smarthost with PIPELINING ------------
for pipelining in yes no; do
  stop HOST; stop PROXY
  rm -rf "$T/host"
  if [ $pipelining = yes ]; then serve_host -Y -X DSN; else serve_host -Y -p -X DSN; fi
  serve_proxy -R -d "$T/spool" --
  send --from a@example.org --to b@example.net || fail "PIPELINING $pipelining: first message"
  script "EHLO client.test" "MAIL FROM:<a@example.org> RET=HDRS" "RCPT TO:<b@example.net> NOTIFY=NEVER" \
    "RCPT TO:<c@example.net>" "DATA" "Subject: p" "" "x" "." "QUIT"
  session "$PROXY_PORT" "$T/script"
  expect_reply 7 '^250 2\.0\.0 Ok: stored' "PIPELINING $pipelining: the message"
  log=$(ls -t "$T"/host/log.* | head -n 1)
  if [ $pipelining = yes ]; then
    grep -qx 'MAIL FROM:<a@example.org> RET=HDRS' "$log" && grep -qx '| RCPT TO:<b@example.net> NOTIFY=NEVER' "$log" ||
      { cat "$log"; fail "MAIL and the first RCPT not sent together to a smarthost with PIPELINING"; }
  else
    grep -qx 'RCPT TO:<b@example.net> NOTIFY=NEVER' "$log" ||
      { cat "$log"; fail "MAIL and RCPT sent together to a smarthost without PIPELINING"; }
  fi
done
for code in 550 421; do
  stop HOST; stop PROXY
  rm -rf "$T/host"
  serve_host -Y -M $code
  serve_proxy -R -d "$T/spool" --
  script "EHLO client.test" "MAIL FROM:<a@example.org>" "RCPT TO:<b@example.net>" "RCPT TO:<c@example.net>" "QUIT"
  session "$PROXY_PORT" "$T/script"
  want=$code; [ $code = 421 ] && want=451
  expect_reply 4 "^$want " "MAIL refused with $code, pipelined with RCPT: the RCPT"
  expect_reply 5 "^$want " "MAIL refused with $code: the next RCPT"
  expect_reply 6 '^221 ' "QUIT after a refused MAIL"
done
ok "RFC 2920 towards the smarthost: MAIL and the first RCPT in one write when it offers PIPELINING, one by one when not; a refused MAIL (550, 421) still answers each RCPT with its refusal"

# --- smtp-forward's check mode --------------------------------------------
FW=$BIN/smtp-forward
NOQUEUE_CHECK=1 "$FW" -c x -T bogus -X maybe -q 127.0.0.1 smtp 2> "$T/check.err"
[ $? = 100 ] || fail "NOQUEUE_CHECK=1 with bad options: not 100"
for w in '-c: bad connect timeout' '-T: bad TLS mode' '-X: bad mode' '-q: unknown option' 'bad port of smarthost 127.0.0.1: smtp'; do
  grep -q -- "$w" "$T/check.err" || { cat "$T/check.err"; fail "check mode: no line for $w"; }
done
[ "$(wc -l < "$T/check.err")" = 5 ] || { cat "$T/check.err"; fail "check mode: not one line per problem"; }
NOQUEUE_CHECK=1 "$FW" -T off 127.0.0.1 "$HOST_PORT" 2> "$T/check.err" || fail "NOQUEUE_CHECK=1, good options: $(cat "$T/check.err")"
[ -s "$T/check.err" ] && fail "check mode said something of good options: $(cat "$T/check.err")"
before=$(stored)
NOQUEUE_CHECK=connect "$FW" -T off -h check.test 127.0.0.1 "$HOST_PORT" 2> "$T/check.err" ||
  fail "NOQUEUE_CHECK=connect to a working smarthost: $(cat "$T/check.err")"
grep -q "^smtp-forward: info: smarthost=127.0.0.1:$HOST_PORT ehlo=250-testhost" "$T/check.err" &&
  grep -q 'ehlo="250 ENHANCEDSTATUSCODES"' "$T/check.err" || { cat "$T/check.err"; fail "check mode: no EHLO reply"; }
grep -aqx 'QUIT' "$T"/host/log.* || fail "check mode did not say QUIT"
dead=$(free_port)
NOQUEUE_CHECK=connect "$FW" -T off -c 2 127.0.0.1 "$HOST_PORT" 127.0.0.1 "$dead" 2> "$T/check.err"
[ $? = 111 ] || { cat "$T/check.err"; fail "check mode: an unreachable smarthost is not 111"; }
grep -q "smarthost 127.0.0.1 $dead: not reachable" "$T/check.err" || { cat "$T/check.err"; fail "check mode: the unreachable one not named"; }
[ "$(stored)" = "$before" ] || fail "check mode delivered something"
ok "NOQUEUE_CHECK=1: every bad option named, one line each, 100; =connect: EHLO reply as info lines, QUIT, 111 for one unreachable"

# --- smtp-envcheck's tables with UTF-8 addresses ---------------------------
# The domain's ASCII letters match without case; UTF-8 octets exactly.
printf '%b deny\n' 'j\303\266rg@b\303\274cher.example' > "$T/senders"
printf '*@example.net\n%b\n' '\347\224\250\346\210\267@\344\276\213\345\255\220.example' > "$T/recipients"
"$BIN/smtp-table" senders "$T/senders" || fail "smtp-table: a UTF-8 sender"
"$BIN/smtp-table" recipients "$T/recipients" || fail "smtp-table: a UTF-8 recipient"
stop PROXY; stop HOST
rm -rf "$T/host"
serve_host -X SMTPUTF8,DSN,CHUNKING
serve_proxy -R -d "$T/spool" { "$BIN/smtp-envcheck" -n proxy.test -s "$T/senders.cdb" -r "$T/recipients.cdb" } --
send --from a@example.org --to b@example.net || { cat "$T/swaks.out"; fail "envcheck with UTF-8 tables: a first message"; }
script "EHLO client.test" "MAIL FROM:<j\303\266rg@b\303\274cher.EXAMPLE> SMTPUTF8" \
  "RCPT TO:<\347\224\250\346\210\267@\344\276\213\345\255\220.example>" "RSET" \
  "MAIL FROM:<j\303\266rg@B\303\234CHER.example> SMTPUTF8" \
  "RCPT TO:<\347\224\250\346\210\267@\344\276\213\345\255\220.Example>" \
  "RCPT TO:<\345\205\266\344\273\226@\344\276\213\345\255\220.example>" "QUIT"
session "$PROXY_PORT" "$T/script"
expect_reply 3 '^550 5\.7\.1 ' "a listed UTF-8 sender, its ASCII domain in upper case"
expect_reply 6 '^250 ' "a UTF-8 sender whose non-ASCII letter differs in case (not the listed one)"
expect_reply 7 '^250 ' "a listed UTF-8 recipient, its ASCII domain part in another case"
expect_reply 8 '^550 ' "an unlisted UTF-8 recipient of that domain"
ok "smtp-envcheck's tables with UTF-8 addresses: a listed sender refused (its ASCII letters without case), the same with another non-ASCII letter not; a listed UTF-8 recipient taken, another 550"

# --- from review: the envelope closes at the first chunk; refused chunks
# pipelined after a refusal are no errors; the EHLO cache only if ours ---
stop PROXY
serve_proxy -R -d "$T/spool" -E 3 -s 1000 --
script "EHLO client.test" "MAIL FROM:<a@example.org>" "RCPT TO:<b@example.net>" "BDAT 5" \
  "abcdeRCPT TO:<late@example.net>" "BDAT 3 LAST" "abcQUIT"
session "$PROXY_PORT" "$T/script"
expect_reply 6 '^503 ' "RCPT after the first chunk"
expect_reply 7 '^250 ' "the last chunk after a refused RCPT"
ok "RCPT after BDAT has begun: 503 (the envelope is closed), the message goes on"
: > "$T/script"
printf 'EHLO client.test\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nBDAT 1200\r\n' >> "$T/script"
head -c 1200 /dev/zero | tr '\0' x >> "$T/script"
for i in 1 2 3 4 5 6; do printf 'BDAT 2\r\nxx' >> "$T/script"; done
printf 'BDAT 2 LAST\r\nxxNOOP\r\nQUIT\r\n' >> "$T/script"
session "$PROXY_PORT" "$T/script"
expect_reply 5 '^552 ' "a chunk over -s"
expect_reply 6 '^503 ' "the chunk after it"
expect_reply 12 '^503 ' "the last pipelined chunk"
expect_reply 13 '^250 ' "NOOP: the session goes on (-E 3 not reached by the pipelined chunks)"
ok "a chunk over -s: 552, then 503 to each pipelined chunk, counted as no error (-E 3: the session goes on)"

cache=$(grep -l "^smarthost 127.0.0.1:$HOST_PORT\$" "$T"/spool/noqueue-ehlo.*)
[ -n "$cache" ] && [ "$(echo "$cache" | wc -l)" = 1 ] || fail "no one EHLO cache of this smarthost: $cache"
rm -f "$cache"; mkfifo "$cache"
script "EHLO client.test" "QUIT"
session "$PROXY_PORT" "$T/script"
expect_reply 2 '^250 ' "EHLO with a FIFO as the EHLO cache"
grep -Eq '^250-(SMTPUTF8|DSN)$' "$T/replies" && fail "a FIFO taken as the EHLO cache"
rm -f "$cache"
printf 'smarthost x\nSIZE 10\nSMTPUTF8\n' > "$cache"; chown nobody "$cache"
session "$PROXY_PORT" "$T/script"
grep -q '^250-SIZE 10$' "$T/replies" && fail "an EHLO cache of another user taken"
grep -q '^250-SIZE 1000$' "$T/replies" || { cat "$T/replies"; fail "the default SIZE not offered"; }
ok "an EHLO cache that is a FIFO, or a file of another user: not read (no hang), the default offered"

# A BDAT message over the smarthost's SIZE (100000) but within the proxy's
# own -s (200000): the proxy takes it, the smarthost refuses it at the end
# of its DATA, and its 552 is the client's; nothing stored.
stop PROXY; stop HOST
rm -rf "$T/host"
serve_host -X SMTPUTF8,DSN,CHUNKING -s 100000
serve_proxy -R -d "$T/spool" -s 200000 --
: > "$T/script"
printf 'EHLO client.test\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nBDAT 150000 LAST\r\n' >> "$T/script"
{ printf 'Subject: big\r\n\r\n'; head -c 149984 /dev/zero | tr '\0' x; printf '\r\n'; } | head -c 150000 >> "$T/script"
printf 'QUIT\r\n' >> "$T/script"
session "$PROXY_PORT" "$T/script"
expect_reply 4 '^250 ' "RCPT (no SIZE given)"
expect_reply 5 '^552 ' "BDAT of 150000 octets over the smarthost's SIZE 100000, within -s 200000"
[ "$(stored)" = 0 ] || fail "a message over the smarthost's SIZE was stored"
ok "BDAT over the smarthost's SIZE, within the proxy's -s: the smarthost's 552, nothing stored"
exit 0
