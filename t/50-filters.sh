# The filter protocol end to end: the events and their encoding, each
# verdict at each step, modifiers (header, score, class), discard, the
# report, the message on fd 3, one-shot filters, and the example filters.
. "$(dirname "$0")/lib.sh"
F=$TOP/t/filters
message() {   # message FROM TO... : one transaction, pipelined, to $T/in
  from=$1; shift
  { printf 'EHLO client.test\r\nMAIL FROM:<%s>\r\n' "$from"
    for r in "$@"; do printf 'RCPT TO:<%s>\r\n' "$r"; done
    printf 'DATA\r\nSubject: filtered\r\n\r\nbody\r\n.\r\nQUIT\r\n'; } > "$T/in"
}
setup ""

# The events a filter sees, with xtext fields.
message alice@example.org '"bob smith"@example.net' carol+tag@example.net
export RECORD="$T/events"
proxy_pipe "$T/in" { "$F/act" - none } --
unset RECORD
size=$(grep -o 'size=[0-9]*' "$T/err" | cut -d= -f2)
cat > "$T/want" <<EOT
connect 192.0.2.1 4000 127.0.0.1 25 -
helo EHLO client.test
mail alice@example.org
rcpt "bob+20smith"@example.net
rcpt carol+2Btag@example.net
data 2
eom $size -
report delivered 250
EOT
diff "$T/want" "$T/events" || fail "events"
ok "events and fields as smtp-filter(7) says, addresses in xtext"

# Verdicts at each step.
verdict() {  # verdict EVENTS ACTION EXPECTED-REPLY-REGEX
  proxy_pipe "$T/in" { "$F/act" "$1" "$2" } --
  grep -Eq "$3" "$T/out" || { cat "$T/out"; fail "$2 at $1: no $3"; }
}
message alice@example.org bob@example.net
rm -f "$T"/host/*
verdict connect reject '^554 5\.7\.1 Refused by the test filter'
grep -q '^503 5.5.1 No SMTP service here' "$T/out" || fail "commands after a refused greeting"
grep -q '^221' "$T/out" || fail "QUIT after a refused greeting"
verdict connect tempfail '^421 4\.7\.1 Not now'
[ "$(wc -l < "$T/out")" = 1 ] || fail "tempfail at connect: not closed"
verdict helo reject '^550 5\.7\.1 Refused'
grep -q '^503 5.5.1' "$T/out" || fail "MAIL accepted after a refused EHLO"
verdict mail reject '^550 5\.7\.1 Refused'
verdict rcpt tempfail '^451 4\.7\.1 Not now'
grep -q '^554 5.5.1 No valid recipients' "$T/out" || fail "DATA after every RCPT refused"
verdict data reject '^550 5\.7\.1 Refused'
verdict eom reject '^550 5\.7\.1 Refused'
verdict mail close '^421 4\.7\.0 Go away'
grep -q '^250 2.1.5' "$T/out" && fail "the session went on after 421"
[ "$(stored)" = 0 ] || fail "something was relayed"
ok "reject and tempfail at connect, helo, mail, rcpt, data, eom; 421 closes"

verdict eom discard '^250 2\.0\.0 Ok'
[ "$(stored)" = 0 ] || fail "discard: relayed"
grep -q '^RSET' "$T"/host/log.* || fail "discard: the smarthost got no RSET"
grep -q 'result=discarded' "$T/err" || fail "discard: log"
ok "discard: 250 to the client, RSET to the smarthost, logged as discarded"

# Modifiers.
rm -f "$T"/host/*
proxy_pipe "$T/in" { "$F/act" eom header X-Test 'checked+2C+20fine' } --
grep -q '^X-Test: checked, fine' "$T"/host/msg.* || fail "header not added"
ok "header modifier: X-Test added to the relayed message"
# A long chain (more than smtp-proxyd's static room for seven): each of
# nine filters adds its field, in the chain's order.
rm -f "$T"/host/*
set --
for k in 1 2 3 4 5 6 7 8 9; do set -- "$@" { "$F/act" eom header X-Chain "$k" }; done
proxy_pipe "$T/in" "$@" --
[ "$(grep -h '^X-Chain: ' "$T"/host/msg.* | tr -d '\r' | cut -d' ' -f2 | tr -d '\n')" = 123456789 ] ||
  fail "nine filters: not nine fields in order"
ok "a chain of nine filters: each one's field, in order"
proxy_pipe "$T/in" -S 5 { "$F/act" eom score 7 } --
grep -q '^550 5.7.1 Message rejected' "$T/out" || { cat "$T/out"; fail "score 7 >= 5 not rejected"; }
proxy_pipe "$T/in" -S 10 { "$F/act" eom score 7 } --
grep -q '^250 2.0.0 Ok: stored' "$T/out" || fail "score 7 < 10 rejected"
proxy_pipe "$T/in" -S 10 -S vip=5 { "$F/act" rcpt class vip } { "$F/act" eom score 7 } --
grep -q '^550 5.7.1' "$T/out" || fail "class threshold not used"
grep -q 'class=vip' "$T/err" || fail "class not logged"
ok "score: rejected at the threshold, per rule class"

# Multi-recipient policy: split (default) and first.
message alice@example.org a@one.test b@two.test c@one.test
rm -f "$T"/host/*
proxy_pipe "$T/in" { "$F/class-by-domain" } --
grep -q '^452 4.5.3 Too many recipients' "$T/out" || { cat "$T/out"; fail "split: no 452"; }
[ "$(grep -c '^RCPT' "$T"/host/env.*)" = 2 ] || fail "split: not two recipients"
grep -q 'b@two.test' "$T"/host/env.* && fail "split: the other class was relayed"
rm -f "$T"/host/*
proxy_pipe "$T/in" -m first { "$F/class-by-domain" } --
[ "$(grep -c '^RCPT' "$T"/host/env.*)" = 3 ] || fail "first: not three recipients"
ok "multi-recipient policy: split refuses another class with 452 4.5.3, first takes all"

# The message on fd 3, for two filters in turn, each from the start.
cat > "$T/readfd3" <<'EOT'
#!/bin/sh
read -r hello; echo "filter 1 eom"
while read -r ev tok rest; do cat <&3 > "$1"; echo "continue $tok"; done
EOT
chmod +x "$T/readfd3"
message alice@example.org bob@example.net
proxy_pipe "$T/in" -R { "$T/readfd3" "$T/copy1" } { "$T/readfd3" "$T/copy2" } --
printf 'Subject: filtered\r\n\r\nbody\r\n' > "$T/want"
cmp "$T/copy1" "$T/want" && cmp "$T/copy2" "$T/want" || fail "fd 3"
ok "eom: the message on fd 3, from its start for each filter"

# One-shot filters: exit 0 / 100 / 111, text on the last line, envelope in
# the environment, message on stdin.
cat > "$T/oneshot" <<'EOT'
#!/bin/sh
cat > "$2.msg"
echo "$NOQUEUE_SENDER|$NOQUEUE_RECIPIENTS" > "$2.env"
echo "some chatter"
echo "Go away, said the one-shot"
exit $1
EOT
chmod +x "$T/oneshot"
message alice@example.org bob@example.net carol@example.net
proxy_pipe "$T/in" -R { -1 "$T/oneshot" 0 "$T/o" } --
grep -q '^250 2.0.0 Ok: stored' "$T/out" || fail "one-shot 0"
cmp "$T/o.msg" "$T/want" || fail "one-shot stdin"
[ "$(cat "$T/o.env")" = "alice@example.org|bob@example.net carol@example.net" ] || fail "one-shot env: $(cat "$T/o.env")"
proxy_pipe "$T/in" { -1 "$T/oneshot" 100 "$T/o" } --
grep -q '^554 5.7.1 Go away, said the one-shot' "$T/out" || { cat "$T/out"; fail "one-shot 100"; }
proxy_pipe "$T/in" { -1 "$T/oneshot" 111 "$T/o" } --
grep -q '^451 4.7.1 Go away, said the one-shot' "$T/out" || fail "one-shot 111"
proxy_pipe "$T/in" { -1 "$T/oneshot" 3 "$T/o" } --
grep -q '^451 4.3.0' "$T/out" || fail "one-shot exit 3 is a failure (tempfail)"
proxy_pipe "$T/in" { -1 -p accept "$T/oneshot" 3 "$T/o" } --
grep -q '^250 2.0.0 Ok: stored' "$T/out" || fail "one-shot exit 3, policy accept"
ok "one-shot filters: 0 relays, 100 rejects, 111 tempfails with their text; others are failures"

# The example filter in plain sh, examples/filters/blocklist: a listed
# address or domain is refused at MAIL, case and xtext notwithstanding;
# others pass; editing the list takes effect at the next MAIL.
printf 'mallory@example.org\n@spam.example\n' > "$T/blocklist"
BL="$TOP/examples/filters/blocklist"
for sender in MALLORY@example.org someone@SPAM.example; do
  message "$sender" bob@example.net
  proxy_pipe "$T/in" { "$BL" "$T/blocklist" } --
  grep -q "^550 5.7.1 Sender .* is not welcome here" "$T/out" || { cat "$T/out"; fail "blocklist: $sender passed"; }
done
rm -f "$T"/host/*
message alice+tag@example.org bob@example.net
proxy_pipe "$T/in" { "$BL" "$T/blocklist" } --
grep -q '^250 2.0.0 Ok: stored' "$T/out" || { cat "$T/out" "$T/err"; fail "blocklist: an unlisted sender refused"; }
echo 'alice+tag@example.org' >> "$T/blocklist"
proxy_pipe "$T/in" { "$BL" "$T/blocklist" } --
grep -q '^550 5.7.1 Sender alice+tag@example.org is not welcome' "$T/out" || fail "blocklist: the edit, or +2B, not taken"
ok "examples/filters/blocklist (sh): listed addresses and domains refused, others relayed, edits live"
