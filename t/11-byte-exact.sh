# Byte-exact relay, checked by the test smarthost: dot-stuffed lines, 8-bit
# bytes, 998-octet lines, an empty body, 50 MB, 100 recipients, several
# transactions on one connection, pipelining.  The wire form is made here
# with sed/perl, independently of the project's own DATA code.
. "$(dirname "$0")/lib.sh"
setup ""

# wire: the SMTP form of a message file (leading dots doubled)
wire() { perl -pe 's/^\./../' "$1"; }
envelope() {
  printf 'MAIL FROM:<alice@example.org>\r\n'
  for r in "$@"; do printf 'RCPT TO:<%s>\r\n' "$r"; done
  printf 'DATA\r\n'
}

# Three messages, pipelined on one connection, relayed without Received.
perl "$TOP/t/genmsg" 300000 1 > "$T/m1"
perl "$TOP/t/genmsg" 5000 2 > "$T/m2"
: > "$T/m3"                                          # the empty message
{
  printf 'EHLO client.test\r\n'
  envelope bob@example.net; wire "$T/m1"; printf '.\r\n'
  envelope carol@example.net; wire "$T/m2"; printf '.\r\n'
  envelope dave@example.net; printf '.\r\n'
  printf 'QUIT\r\n'
} > "$T/in"
proxy_pipe "$T/in" -R
[ "$(grep -c '^250 2.0.0 Ok: stored' "$T/out")" = 3 ] || { cat "$T/out"; fail "three messages"; }
pid=$(ls "$T/host" | sed -n 's/^msg\.\([0-9]*\)\.1$/\1/p')
for i in 1 2 3; do
  cmp "$T/host/msg.$pid.$i" "$T/m$i" || fail "message $i differs"
done
[ ! -s "$T/host/msg.$pid.3" ] || fail "the empty message is not empty"
ok "three pipelined transactions, 8-bit, dots, 998-octet lines, empty body: byte-exact"

# With the Received field (the default), the message follows it unchanged.
rm -f "$T"/host/*
{ printf 'EHLO client.test\r\n'; envelope bob@example.net; wire "$T/m2"; printf '.\r\nQUIT\r\n'; } > "$T/in"
proxy_pipe "$T/in"
f=$(ls "$T"/host/msg.*)
head -c 10 "$f" | grep -q '^Received:' || fail "no Received field on top"
tail -c "$(wc -c < "$T/m2")" "$f" | cmp - "$T/m2" || fail "message after Received differs"
sed -n 1,3p "$f" | tr -d '\r' | grep -q "from client.test (\[192.0.2.1\])" || fail "Received: $(head -n 3 "$f")"
ok "Received field added on top, message unchanged below it"

# 100 recipients in one transaction.
rm -f "$T"/host/*
rcpts=$(seq 1 100 | sed 's/.*/r&@example.net/')
# shellcheck disable=SC2086
{ printf 'EHLO client.test\r\n'; envelope $rcpts; wire "$T/m2"; printf '.\r\nQUIT\r\n'; } > "$T/in"
proxy_pipe "$T/in" -R
[ "$(grep -c '^RCPT TO:' "$T"/host/env.*)" = 100 ] || fail "100 recipients: $(grep -c RCPT "$T"/host/env.*)"
cmp "$T"/host/msg.* "$T/m2" || fail "100 recipients: message differs"
grep -q 'accepted=100 ' "$T/err" || fail "100 recipients: log"
ok "100 recipients in one transaction"

# swaks rewrites its data (\n escapes, %TOKENS%) unless told -ndf; then it
# sends the file as it is and adds only the last CRLF.
swaks_wire() { wire "$1" > "$1.wire"; printf . >> "$1.wire"; }

# 50 MB through tcpserver, swaks as the client.
perl "$TOP/t/genmsg" 52000000 3 > "$T/big"
swaks_wire "$T/big"
rm -f "$T"/host/*
stop PROXY; serve_proxy -R -s 60M
send --to bob@example.net --from alice@example.org -ndf --data "@$T/big.wire" ||
  { tail "$T/swaks.out"; fail "50 MB: swaks"; }
[ "$(final_code)" = 250 ] || fail "50 MB: final $(final_code)"
cmp "$T"/host/msg.* "$T/big" || fail "50 MB: message differs"
ok "50 MB message over TCP with swaks: byte-exact"

# swaks pipelining, over TCP.
rm -f "$T"/host/*
swaks_wire "$T/m1"
send --pipeline --to bob@example.net,carol@example.net --from alice@example.org -ndf --data "@$T/m1.wire" ||
  fail "pipelining: swaks"
cmp "$T"/host/msg.* "$T/m1" || fail "pipelining: message differs"
grep -q PIPELINING "$T/swaks.out" || fail "pipelining not offered"
ok "swaks --pipeline: byte-exact"
