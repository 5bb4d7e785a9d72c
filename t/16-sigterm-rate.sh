# SIGTERM is an event the session reads where it waits for its client:
# per phase, what the client gets.  And the body deadline's minimum data
# rate: a slow but steady large message is delivered, a drip is ended.
. "$(dirname "$0")/lib.sh"
serve_host
F=$TOP/t/filters

# proxyd on a pipe fed by INPUT then silence; SIGTERM after SECONDS.
# term_after SECONDS INPUT [proxy args]
term_after() {
  _s=$1 _in=$2; shift 2
  { printf "$_in"; sleep 5; } | {
    exec 4<&0
    TCPREMOTEIP=192.0.2.1 "$BIN/smtp-proxyd" -h proxy.test "$@" -- \
      "$BIN/smtp-forward" 127.0.0.1 "$HOST_PORT" <&4 > "$T/out" 2> "$T/err" &
    p=$!; sleep "$_s"; kill -TERM $p; wait $p; echo $? > "$T/rc"; }
}
env='EHLO client.test\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n'

# In the middle of a command line.
term_after 1 'EHLO client.test\r\nMAIL FROM:<a@exa'
grep -q '^421 4.3.2' "$T/out" || { cat "$T/out"; fail "TERM in a command: no 421"; }
grep -q 'reason=terminated' "$T/err" || { cat "$T/err"; fail "TERM in a command: log"; }
ok "SIGTERM in the middle of a command: 421 4.3.2"

# In the body: 421, nothing relayed.
rm -f "$T"/host/*
term_after 1 "${env}DATA\r\nSubject: t\r\n\r\nhalf a bo"
grep -q '^354' "$T/out" && grep -q '^421 4.3.2' "$T/out" || { cat "$T/out"; fail "TERM in the body: no 421"; }
[ "$(stored)" = 0 ] || fail "TERM in the body: stored"
grep -q 'reason="terminated in data"' "$T/err" || { cat "$T/err"; fail "TERM in the body: log"; }
ok "SIGTERM in the body: 421 4.3.2, nothing relayed"

# In a slow end-of-data filter: the filter is not interrupted, the
# message is delivered and the client gets 250, then 421.
rm -f "$T"/host/*
term_after 1 "${env}DATA\r\nSubject: t\r\n\r\nbody\r\n.\r\n" { "$F/think" eom 3 }
grep -q '^250 2.0.0 Ok: stored' "$T/out" || { cat "$T/out" "$T/err"; fail "TERM in an eom filter: the message was cut"; }
grep -q '^421 4.3.2' "$T/out" || fail "TERM in an eom filter: no 421 after the reply"
[ "$(stored)" = 1 ] || fail "TERM in an eom filter: $(stored) stored"
grep -q 'filter .* failed' "$T/err" && { cat "$T/err"; fail "TERM in an eom filter: the filter failed"; }
grep -q 'result=delivered' "$T/err" || fail "TERM in an eom filter: log"
ok "SIGTERM during a 3 s end-of-data filter: the filter finishes, 250 stored, then 421"

# While the smarthost takes its time over the message: its answer first.
stop HOST; serve_host -w 3000; rm -f "$T"/host/*
term_after 1 "${env}DATA\r\nSubject: t\r\n\r\nbody\r\n.\r\n"
grep -q '^250 2.0.0 Ok: stored' "$T/out" || { cat "$T/out" "$T/err"; fail "TERM while relaying: the reply was lost"; }
grep -q '^421 4.3.2' "$T/out" || fail "TERM while relaying: no 421 after the reply"
ok "SIGTERM while the smarthost takes 3 s at end of data: 250 stored, then 421"
stop HOST; serve_host

# The minimum data rate.  -b 2 alone would end any body after 2 s; 5 MB
# sent at about 1.25 MB/s over 4 s is delivered under -b 2 -D 500000,
# since each octet pushes the deadline back by 2 microseconds.
perl -e 'print "Subject: big\r\n\r\n"; print "x" x 998, "\r\n" for 1 .. 5000' > "$T/big"
rm -f "$T"/host/*
{ printf "${env}DATA\r\n"
  perl -e 'open F, "<", $ARGV[0] or die; binmode F; $| = 1; while (read F, $b, 262144) { print $b; select undef, undef, undef, 0.2 }' "$T/big"
  printf '.\r\nQUIT\r\n'; } |
  TCPREMOTEIP=192.0.2.1 "$BIN/smtp-proxyd" -h proxy.test -b 2 -D 500000 -R -- \
  "$BIN/smtp-forward" 127.0.0.1 "$HOST_PORT" > "$T/out" 2> "$T/err"
grep -q '^250 2.0.0 Ok: stored' "$T/out" || { cat "$T/out" "$T/err"; fail "slow steady 5 MB: not delivered"; }
cmp -s "$T/big" "$T"/host/msg.* || fail "slow steady 5 MB: stored otherwise"
ok "a 5 MB body over 4 s under -b 2 -D 500000: delivered whole"

# A drip of one octet a second: ended by the same deadline.
start=$(date +%s.%N)
{ printf "${env}DATA\r\n"; perl -e '$| = 1; for (1 .. 20) { print "x"; sleep 1 }'; } |
  TCPREMOTEIP=192.0.2.1 "$BIN/smtp-proxyd" -h proxy.test -b 2 -D 500000 -- \
  "$BIN/smtp-forward" 127.0.0.1 "$HOST_PORT" > "$T/out" 2> "$T/err"
took=$(perl -e "print $(date +%s.%N) - $start")
grep -q '^421 4.4.2' "$T/out" || { cat "$T/out"; fail "drip: no 421"; }
perl -e "exit !($took < 6)" || fail "drip: ended after $took s"
grep -q 'result="timeout in data"' "$T/err" || { cat "$T/err"; fail "drip: log"; }
ok "a drip of one octet a second under -b 2 -D 500000: 421 4.4.2"
