# ESMTP with a real smarthost: Postfix's smtpd 3.7 (private configuration,
# smtputf8_enable=yes) behind smtp-proxyd and smtp-forward.  The EHLO
# reply follows Postfix's (SMTPUTF8, DSN, 8BITMIME, SIZE as the smaller
# limit); an SMTPUTF8 message with UTF-8 sender and recipient delivered
# with its addresses exact; a DSN-carrying message whose NOTIFY, ORCPT,
# RET and ENVID Postfix honours (its success notice says them); BDAT in
# chunks delivered as sent; swaks's plain session; smtp-forward's check
# mode against Postfix.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-esmtp.sh"
. "$(dirname "$0")/lib-nodes.sh"

start_postfix dest.test
# lib-nodes.sh's Postfix has SMTPUTF8 off; this test wants it on, and a
# smaller size limit than the proxy's.
postconf -c "$PF/etc" -e smtputf8_enable=yes message_size_limit=300000 ||
  fail "postconf"
postfix -c "$PF/etc" reload > /dev/null 2>&1 || fail "postfix reload"
wait_for "[ \$(grep -c 'reload' '$PF_LOG') -ge 1 ]" 10 || fail "Postfix did not reload"
mkdir -p "$T/spool"
serve PROXY "$BIN/smtp-proxyd" -h proxy.test -d "$T/spool" -s 500000 \
  -- "$BIN/smtp-forward" -h proxy.test -T off 127.0.0.1 "$PF_PORT"

# The first session teaches the proxy what Postfix offers.
swaks --server 127.0.0.1 --port "$PROXY_PORT" --helo client.test --timeout 30 \
  --from a@example.org --to first@dest.test > "$T/swaks.out" 2>&1 || { cat "$T/swaks.out"; fail "swaks through to Postfix"; }
wait_for '[ "$(pf_stored)" -ge 1 ]' 20 || { tail "$PF_LOG"; fail "Postfix did not deliver the first message"; }
swaks --server 127.0.0.1 --port "$PROXY_PORT" --helo client.test --timeout 30 --quit-after EHLO > "$T/swaks.out" 2>&1
for k in SMTPUTF8 DSN 8BITMIME CHUNKING 'SIZE 300000'; do
  grep -q "250[- ]$k" "$T/swaks.out" || { cat "$T/swaks.out"; fail "EHLO reply lacks $k after a Postfix session"; }
done
ok "after one session with Postfix: swaks sees SMTPUTF8, DSN, 8BITMIME, CHUNKING and SIZE 300000 (Postfix's, below -s 500000)"

# SMTPUTF8: UTF-8 sender and recipient, delivered exactly.
U_FROM='j\303\266rg@b\303\274cher.example'
U_TO='\316\264\316\277\316\272\316\271\316\274\316\256@dest.test'
script "EHLO client.test" "MAIL FROM:<$U_FROM> SMTPUTF8" "RCPT TO:<$U_TO>" "DATA" \
  "Subject: utf8" "Message-Id: <utf8@client.test>" "" "hallo" "." "QUIT"
session "$PROXY_PORT" "$T/script"
expect_reply 3 '^250 ' "MAIL SMTPUTF8"
expect_reply 4 '^250 ' "RCPT with a UTF-8 local part"
expect_reply 6 '^250 ' "the SMTPUTF8 message"
wait_for '[ -n "$(pf_message utf8@client.test)" ]' 20 || { tail "$PF_LOG"; fail "Postfix did not deliver the SMTPUTF8 message"; }
f=$(pf_message utf8@client.test)
grep -aqx "$(printf 'Return-Path: <%b>' "$U_FROM")" "$f" || { head -5 "$f"; fail "Return-Path is not the UTF-8 sender"; }
grep -aqx "$(printf 'Delivered-To: %b' "$U_TO")" "$f" || { head -5 "$f"; fail "Delivered-To is not the UTF-8 recipient"; }
grep -aq 'by proxy.test (noqueue) with UTF8SMTP id' "$f" || { head -12 "$f"; fail "noqueue's Received field does not say UTF8SMTP"; }
ok "SMTPUTF8 through to Postfix: Return-Path and Delivered-To are the UTF-8 sender and recipient, exact; noqueue's Received field says UTF8SMTP (RFC 6531 3.7.3)"

# The same without SMTPUTF8: refused by the proxy, Postfix never asked.
script "EHLO client.test" "MAIL FROM:<$U_FROM>" "QUIT"
session "$PROXY_PORT" "$T/script"
expect_reply 3 '^553 5\.6\.7 ' "a UTF-8 sender without SMTPUTF8"
ok "a UTF-8 sender without SMTPUTF8: 553 5.6.7"

# DSN: Postfix writes a success notice (NOTIFY=SUCCESS) carrying ENVID and
# the ORCPT; it stays in Postfix's queue (no DNS here), where postcat
# shows it.
script "EHLO client.test" "MAIL FROM:<sender@example.org> RET=HDRS ENVID=QQ314159+2Bx" \
  "RCPT TO:<dsn@dest.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;original+40example.net" "DATA" \
  "Subject: dsn" "Message-Id: <dsn@client.test>" "" "body" "." "QUIT"
session "$PROXY_PORT" "$T/script"
expect_reply 6 '^250 ' "the DSN message"
wait_for '[ -n "$(pf_message dsn@client.test)" ]' 20 || { tail "$PF_LOG"; fail "Postfix did not deliver the DSN message"; }
wait_for "grep -q 'sender delivery status notification' '$PF_LOG'" 20 ||
  { tail "$PF_LOG"; fail "Postfix made no success notification: NOTIFY=SUCCESS lost"; }
id=$(sed -n 's/.*sender delivery status notification: \([0-9A-F]*\).*/\1/p' "$PF_LOG" | tail -n 1)
postcat -c "$PF/etc" -bh -q "$id" > "$T/dsn" 2>&1 || true
grep -q 'Original-Envelope-Id: QQ314159+x' "$T/dsn" && grep -q 'Original-Recipient: rfc822;original@example.net' "$T/dsn" ||
  { cat "$T/dsn"; fail "the notification lacks ENVID or ORCPT"; }
grep -q '^Subject: dsn' "$T/dsn" || { cat "$T/dsn"; fail "RET=HDRS: the notification lacks the message's header"; }
ok "DSN through to Postfix: NOTIFY=SUCCESS gives a success notice with Original-Envelope-Id and Original-Recipient as sent (xtext decoded by Postfix), the notice carries the message's header (Postfix returns only the header in a success notice, RET=HDRS or not: RET itself is checked byte for byte against the test smarthost in t/19)"

# BDAT from the client, DATA to Postfix.
printf 'Subject: chunks\r\nMessage-Id: <bdat@client.test>\r\n\r\n' > "$T/msg"
chunk 30000 >> "$T/msg"
printf '\r\n.dot line\r\nend\r\n' >> "$T/msg"
bdat_script "$T/msg" 7 last0 "MAIL FROM:<a@example.org>" "RCPT TO:<bdat@dest.test>"
session "$PROXY_PORT" "$T/script"
expect_reply 12 '^250 ' "BDAT in 7 chunks and 0 LAST"
wait_for '[ -n "$(pf_message bdat@client.test)" ]' 20 || { tail "$PF_LOG"; fail "Postfix did not deliver the BDAT message"; }
f=$(pf_message bdat@client.test)
# Postfix adds fields of its own (Received, Date, From) and stores LF
# lines: the body, after the header, must be the one sent.
sed '1,/^$/d' "$f" > "$T/got"
tr -d '\r' < "$T/msg" | sed '1,/^$/d' > "$T/want"
cmp -s "$T/got" "$T/want" || fail "the BDAT message's body delivered by Postfix differs"
grep -q '^Subject: chunks$' "$f" || fail "the BDAT message's Subject is not delivered"
ok "BDAT in 7 chunks and a 0-octet LAST, relayed by DATA: Postfix delivers it as sent (a dot line too)"

# Over Postfix's limit (the SIZE the proxy offers), under the proxy's own:
# the proxy takes MAIL and gives Postfix the SIZE, whose 552 the client
# gets (with the first RCPT, which MAIL goes with); over the proxy's own
# -s, the proxy refuses MAIL itself.
script "EHLO client.test" "MAIL FROM:<a@example.org> SIZE=400000" "RCPT TO:<bob@example.net>" "QUIT"
session "$PROXY_PORT" "$T/script"
grep -q '^250-SIZE 300000$' "$T/replies" || fail "the SIZE offered is not Postfix's 300000"
expect_reply 3 '^250 ' "MAIL SIZE=400000, under the proxy's own limit"
expect_reply 4 '^552 5\.3\.4 ' "SIZE=400000 over Postfix's 300000: Postfix's refusal"
script "EHLO client.test" "MAIL FROM:<a@example.org> SIZE=99999999999" "QUIT"
session "$PROXY_PORT" "$T/script"
expect_reply 3 '^552 5\.3\.4 ' "SIZE over the proxy's own limit"
ok "SIZE offered is Postfix's 300000; SIZE=400000: Postfix's own 552 5.3.4 (at RCPT); over the proxy's -s: 552 from the proxy at MAIL"

NOQUEUE_CHECK=connect "$BIN/smtp-forward" -T off -h check.test 127.0.0.1 "$PF_PORT" 2> "$T/check.err" ||
  { cat "$T/check.err"; fail "check mode against Postfix"; }
grep -q 'ehlo=250-SMTPUTF8' "$T/check.err" && grep -q 'ehlo="250-SIZE 300000"' "$T/check.err" ||
  { cat "$T/check.err"; fail "check mode: Postfix's EHLO reply not shown"; }
ok "NOQUEUE_CHECK=connect shows Postfix's EHLO reply"
exit 0
