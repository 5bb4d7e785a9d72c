# The envelope and body deadlines end the session with 421, in time; the
# envelope deadline starts again after each message.
. "$(dirname "$0")/lib.sh"
setup ""
now() { date +%s.%N; }

# Run proxyd fed by a writer that then stays silent for 6 seconds.
silent_after() {
  start=$(now) input=$1
  shift
  { printf "$input"; sleep 6; } | {
    TCPREMOTEIP=192.0.2.1 "$BIN/smtp-proxyd" -h proxy.test "$@" -- \
      "$BIN/smtp-forward" 127.0.0.1 "$HOST_PORT" > "$T/out" 2> "$T/err"
    perl -e "print $(date +%s.%N) - $start" > "$T/took"
  }
}
silent_after 'EHLO client.test\r\n' -e 2
grep -q '^421 4.4.2' "$T/out" || fail "envelope: no 421"
took=$(cat "$T/took")
perl -e "exit !($took >= 1.8 && $took < 5)" || fail "envelope deadline took $took s"
ok "envelope deadline 2 s: 421 4.4.2 after $took s"

silent_after 'EHLO client.test\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\nSubject: x\r\n\r\nsome' -b 2
grep -q '^421 4.4.2' "$T/out" || fail "body: no 421"
took=$(cat "$T/took")
perl -e "exit !($took >= 1.8 && $took < 5)" || fail "body deadline took $took s"
[ "$(stored)" = 0 ] || fail "body deadline: stored"
grep -q 'result="timeout in data"' "$T/err" || fail "body deadline: log"
ok "body deadline 2 s: 421 4.4.2 after $took s, nothing relayed"

# Two messages 2 s apart under a 3 s envelope deadline: both pass.
msg='MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\nSubject: x\r\n\r\nbody\r\n.\r\n'
{ printf "EHLO client.test\r\n$msg"; sleep 2; printf "$msg"; sleep 2; printf 'QUIT\r\n'; } |
  TCPREMOTEIP=192.0.2.1 "$BIN/smtp-proxyd" -h proxy.test -e 3 -- \
  "$BIN/smtp-forward" 127.0.0.1 "$HOST_PORT" > "$T/out" 2> "$T/err"
[ "$(grep -c '^250 2.0.0 Ok: stored' "$T/out")" = 2 ] || { cat "$T/out"; fail "restart"; }
grep -q '^221' "$T/out" || fail "restart: no 221"
ok "the envelope deadline starts again after each message"

# The envelope deadline bounds waiting for the smarthost too: a smarthost
# that takes 2 s a reply cannot hold three pipelined RCPTs past 3 s.
stop HOST; serve_host -W 2000
start=$(now)
printf 'EHLO client.test\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nRCPT TO:<c@example.net>\r\nRCPT TO:<d@example.net>\r\nQUIT\r\n' |
  TCPREMOTEIP=192.0.2.1 "$BIN/smtp-proxyd" -h proxy.test -e 3 -- \
  "$BIN/smtp-forward" 127.0.0.1 "$HOST_PORT" > "$T/out" 2> "$T/err"
took=$(perl -e "print $(now) - $start")
grep -q '^421' "$T/out" || { cat "$T/out"; fail "slow smarthost: no 421"; }
perl -e "exit !($took < 5)" || fail "slow smarthost held the envelope phase $took s"
ok "envelope deadline 3 s with a smarthost slow to reply: 421 after $took s"

# A timeout while discarding an over-long line is a timeout: 421.
stop HOST; serve_host
silent_after "EHLO client.test\r\n$(perl -e 'print "x" x 2000')" -e 2
grep -q '^421 4.4.2' "$T/out" || { cat "$T/out"; fail "long line then silence: no 421"; }
grep -q 'reason=timeout' "$T/err" || fail "long line then silence: logged as $(grep -o 'reason=[a-z]*' "$T/err")"
ok "silence in the middle of an over-long line: 421 4.4.2, logged as a timeout"

# SIGTERM: a session waiting for a command ends with 421 4.3.2 at once;
# one relaying a message first gives the client the smarthost's answer.
stop HOST; serve_host -w 2000
term_after() {   # term_after SECONDS INPUT: proxyd on a pipe, TERM after SECONDS
  # (a background job's stdin is /dev/null: the pipe goes by fd 4)
  { printf "$2"; sleep 5; } | {
    exec 4<&0
    TCPREMOTEIP=192.0.2.1 "$BIN/smtp-proxyd" -h proxy.test -- \
      "$BIN/smtp-forward" 127.0.0.1 "$HOST_PORT" <&4 > "$T/out" 2> "$T/err" &
    p=$!; sleep "$1"; kill -TERM $p; wait $p; echo $? > "$T/rc"; }
}
term_after 1 'EHLO client.test\r\n'
grep -q '^421 4.3.2 Service shutting down' "$T/out" || { cat "$T/out"; fail "TERM while idle: no 421"; }
grep -q 'reason=terminated' "$T/err" || fail "TERM while idle: log"
[ "$(cat "$T/rc")" = 0 ] || fail "TERM while idle: exit $(cat "$T/rc")"
term_after 1 'EHLO client.test\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\nSubject: t\r\n\r\nbody\r\n.\r\n'
grep -q '^250 2.0.0 Ok: stored' "$T/out" || { cat "$T/out" "$T/err"; fail "TERM while relaying: the final reply was lost"; }
grep -q '^421 4.3.2' "$T/out" || fail "TERM while relaying: no 421 after the reply"
grep -q 'result=delivered' "$T/err" && grep -q 'reason=terminated' "$T/err" || fail "TERM while relaying: log"
ok "SIGTERM: 421 4.3.2 to a waiting client; a message being relayed gets its final reply first"
