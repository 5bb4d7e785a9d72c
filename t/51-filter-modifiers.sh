# Modifiers count only for what passes, in the scope they were given in;
# a filter that says more than it was asked has failed; header fields are
# never lost on the way.
. "$(dirname "$0")/lib.sh"
F=$TOP/t/filters
setup ""
session() {   # session EHLO-COUNT RCPT... : pipelined, to $T/in
  n=$1; shift
  { i=0; while [ $i -lt "$n" ]; do printf 'EHLO client.test\r\n'; i=$((i + 1)); done
    printf 'MAIL FROM:<alice@example.org>\r\n'
    for r in "$@"; do printf 'RCPT TO:<%s>\r\n' "$r"; done
    printf 'DATA\r\nSubject: m\r\n\r\nbody\r\n.\r\nQUIT\r\n'; } > "$T/in"
}
last_reply() { grep -E '^[245][0-9][0-9] ' "$T/out" | tail -n 2 | head -n 1; }

# One extra line at data shifts nothing: the filter has failed, and its
# policy (required) answers for the message.
session 1 bob@example.net
rm -f "$T"/host/*
proxy_pipe "$T/in" { -p required "$F/act" data twice } --
grep -q '^451 4.3.0' "$T/out" || { cat "$T/out"; fail "a filter that answered twice was believed"; }
grep -q '^250 2.0.0 Ok: stored' "$T/out" && fail "a filter that answered twice: delivered"
grep -Eq 'filter act failed at .*(spoke unasked|answered another event)' "$T/err" ||
  fail "no log of the unasked line"
[ "$(stored)" = 0 ] || fail "relayed"
ok "a filter that answers twice has failed: 451 under required, never a shifted verdict"

# A verdict that echoes another event's token is a failure too.
rm -f "$T"/host/*
proxy_pipe "$T/in" { -p required "$F/act" eom stale } --
grep -q '^451 4.3.0' "$T/out" || { cat "$T/out"; fail "a stale verdict was believed"; }
grep -q 'filter act failed at eom: answered another event' "$T/err" || fail "stale: log"
[ "$(stored)" = 0 ] || fail "stale: relayed"
ok "a verdict with another event's token has failed"

# HELO modifiers hold for the last HELO only.
session 3 bob@example.net
HELO_SCORE=-5 proxy_pipe "$T/in" -S 10 { "$F/rcpt-rules" } --
last_reply | grep -q '^550 5.7.1' || { cat "$T/out"; fail "three EHLOs lowered the score"; }
grep -q 'score=15' "$T/err" || fail "score not 15: $(grep -o 'score=[-0-9]*' "$T/err")"
session 3 bob@example.net
rm -f "$T"/host/*
HELO_SCORE=1 proxy_pipe "$T/in" -S 100 { "$F/rcpt-rules" } --
[ "$(grep -c '^X-Helo: seen' "$T"/host/msg.*)" = 1 ] || fail "HELO header fields piled up"
ok "HELO/EHLO modifiers: the last HELO's only (score 15 after three EHLOs at -5)"

# A refused recipient's modifiers do not count.
session 1 bob@example.net gone@example.net
proxy_pipe "$T/in" -S 10 { "$F/rcpt-rules" } --
last_reply | grep -q '^550 5.7.1' || { cat "$T/out"; fail "a refused recipient lowered the score"; }
session 1 bob@example.net vip@example.net
rm -f "$T"/host/*
proxy_pipe "$T/in" -S 10 { "$F/rcpt-rules" } --
grep -q '^452 4.5.3' "$T/out" || fail "vip: no 452 (another class)"
last_reply | grep -q '^550 5.7.1' || { cat "$T/out"; fail "a recipient refused by the split policy lowered the score"; }
stop HOST; setup "-R vip@example.net=550"
session 1 vip@example.net bob@example.net
proxy_pipe "$T/in" -S 1000 { "$F/rcpt-rules" } --
grep -q '^250 2.0.0 Ok: stored' "$T/out" || { cat "$T/out"; fail "vip refused upstream: not delivered"; }
grep -q '^X-VIP' "$T"/host/msg.* && fail "a header field from a recipient the smarthost refused"
ok "modifiers of a refused recipient (by a filter, the split policy, the smarthost) do not count"

# Connect-time fields survive any number of HELOs.
setup ""
session 200 bob@example.net
CONNECT_HEADER=1 HELO_SCORE=1 proxy_pipe "$T/in" -E 1000 { "$F/rcpt-rules" } --
grep -q '^X-Connect: yes' "$T"/host/msg.* || fail "the connect-time field was lost after 200 EHLOs"
ok "200 EHLOs: the connect-time header field is still there"

# A long folded header field, as the protocol allows, reaches the smarthost
# whole; a field starting with a dot is dot-stuffed.
value=$(perl -e 'print join("+0D+0A+09", ("v" x 900) x 2), "+20end"')
session 1 bob@example.net
rm -f "$T"/host/*
proxy_pipe "$T/in" { "$F/act" eom header X-Long "$value" } { "$F/act" eom header .Dotted yes } --
grep -q '^250 2.0.0 Ok: stored' "$T/out" || { cat "$T/out" "$T/err"; fail "long field: not delivered"; }
[ "$(cat "$T"/host/msg.* | tr -d '\r' | grep -c '^X-Long: v\{900\}$\|^	v\{900\} end$')" = 2 ] ||
  fail "the folded field did not arrive whole"
grep -q '^\.Dotted: yes' "$T"/host/msg.* || fail "a field starting with a dot was not dot-stuffed"
ok "a 1.8 KB folded header field arrives whole; a leading dot survives"

# The HELO name in Received keeps the field's syntax.
printf 'EHLO x)(by:evil"\\\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n.\r\nQUIT\r\n' > "$T/in"
rm -f "$T"/host/*
proxy_pipe "$T/in"
grep -q '^Received: from x__by:evil__ (\[192.0.2.1\])' "$T"/host/msg.* || { head -n 3 "$T"/host/msg.*; fail "Received"; }
ok "an odd HELO name is shown with '_' in Received"

# More header fields than the forwarder takes (16 KB): the message gets
# 451, it never goes out without some of them.
cat > "$T/manyfields" <<'EOT'
#!/bin/sh
read -r hello; echo "filter 1 connect helo eom"
x=$(printf 'x%.0s' $(seq 1 980)); v="$x+0D+0A+09$x"
while read -r ev tok rest; do       # 3 scopes, each under 8 KB, 18 KB in all
  for i in 1 2 3; do echo "header X-$ev-$i $v"; done
  echo "continue $tok"
done
EOT
chmod +x "$T/manyfields"
session 1 bob@example.net
rm -f "$T"/host/*
proxy_pipe "$T/in" { "$T/manyfields" } --
grep -q '^451 4.3.0' "$T/out" || { cat "$T/out" "$T/err"; fail "fields over 16 KB: no 451"; }
[ "$(stored)" = 0 ] || fail "fields over 16 KB: relayed without some"
grep -q 'header fields for the message over 16384 octets: refused' "$T/err" || fail "fields over 16 KB: not logged"
ok "header fields beyond what the forwarder takes: 451, never a message without them"

# The forwarder's side of it, by hand: after a refused HEADER, the DATA
# that follows is refused too, even sent in the same write.
field=$(perl -e 'print "X-Big:+20", "v" x 900, "+0D+0A+09", "v" x 900')
{ printf 'MAIL FROM:<alice@example.org>\nRCPT TO:<bob@example.net>\n'
  for i in 1 2 3 4 5 6 7 8 9 10; do printf 'HEADER %s\n' "$field"; done
  printf 'DATA\nQUIT\n'; } |
  "$BIN/smtp-forward" -h proxy.test 127.0.0.1 "$HOST_PORT" 3< "$T/in" > "$T/fout" 2> "$T/ferr"
grep -q '^452 4.3.1' "$T/fout" || { cat "$T/fout"; fail "forwarder: no 452 for the fields over 16 KB"; }
tail -n 2 "$T/fout" | head -n 1 | grep -q '^451 4.3.0' || { cat "$T/fout"; fail "forwarder: DATA not refused after a refused field"; }
[ "$(stored)" = 0 ] || fail "forwarder: stored without a field"
# A HEADER line too long for the forwarder: the same.
printf 'MAIL FROM:<alice@example.org>\nRCPT TO:<bob@example.net>\nHEADER X-Long:+20%s\nDATA\nQUIT\n' \
    "$(perl -e 'print "v" x 9000')" |
  "$BIN/smtp-forward" -h proxy.test 127.0.0.1 "$HOST_PORT" 3< "$T/in" > "$T/fout" 2> "$T/ferr"
grep -q '^500 5.5.2 Line too long' "$T/fout" || { cat "$T/fout"; fail "forwarder: no 500 for a long line"; }
tail -n 2 "$T/fout" | head -n 1 | grep -q '^451 4.3.0' || { cat "$T/fout"; fail "forwarder: DATA not refused after a long HEADER"; }
[ "$(stored)" = 0 ] || fail "forwarder: stored without the long field"
ok "smtp-forward: a DATA after a refused or over-long HEADER is refused (451)"

# MAIL's parameters, by hand: SIZE a number, BODY 7BIT or 8BITMIME, and
# nothing else; a value the smarthost could not take is refused before
# anything is sent to it, whatever its length.
{ printf 'MAIL FROM:<alice@example.org> SIZE=12k\n'
  printf 'MAIL FROM:<alice@example.org> BODY=%s\n' "$(perl -e 'print "B" x 120')"
  printf 'MAIL FROM:<alice@example.org> SIZE=%s\n' "$(perl -e 'print "9" x 40')"
  printf 'MAIL FROM:<alice@example.org> AUTH=<>\n'
  printf 'MAIL FROM:<alice@example.org> SIZE=120 BODY=8bitmime\nRCPT TO:<bob@example.net>\nRSET\nQUIT\n'; } |
  "$BIN/smtp-forward" -h proxy.test 127.0.0.1 "$HOST_PORT" 3< "$T/in" > "$T/fout" 2> "$T/ferr"
[ "$(cut -c1-3 "$T/fout" | tr '\n' ' ')" = "501 501 501 555 250 250 250 221 " ] ||
  { cat "$T/fout"; fail "forwarder: MAIL parameters not checked"; }
ok "smtp-forward: MAIL with a SIZE that is no number or too long, another BODY, another parameter: 501, 555"

# A smarthost given by name goes through the resolver (an address does
# not): localhost, from /etc/hosts, reaches the same smarthost.
printf 'MAIL FROM:<alice@example.org>\nRCPT TO:<bob@example.net>\nRSET\nQUIT\n' |
  "$BIN/smtp-forward" -h proxy.test localhost "$HOST_PORT" 3< "$T/in" > "$T/fout" 2> "$T/ferr"
[ "$(cut -c1-3 "$T/fout" | tr '\n' ' ')" = "250 250 250 221 " ] ||
  { cat "$T/fout" "$T/ferr"; fail "forwarder: smarthost by name"; }
ok "smtp-forward: a smarthost given by name (localhost) is resolved and used"
