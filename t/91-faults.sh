# Fault injection, end to end: kill -9 of each child of smtp-proxyd (a
# filter, smtp-forward) and of the proxy itself at each phase (the
# envelope, the body, the end of the data while the filters think, while
# the message goes to the smarthost, while the smarthost answers); a
# smarthost that flaps (up, down, greeting 421, sessions killed) under a
# stream of messages; a full disk for the spool (a tiny tmpfs), a file
# size limit (RLIMIT_FSIZE); file descriptors exhausted (RLIMIT_NOFILE).
# Each gives the right reply (4xx, or what the filter's policy says) and a
# log line, in bounded time (a dead child is noticed at once, not at its
# timeout), no 2xx for a message the smarthost did not take, and no child
# left running.  The one honest exception is counted, never hidden: a
# message the smarthost took whose reply was lost on the way (the
# forwarder or the proxy killed while the smarthost answers) is stored
# while the client was told 4xx or nothing: a duplicate when it sends it
# again, never a loss.
. "$(dirname "$0")/lib.sh"
F=$TOP/t/filters
PROBLEMS=0
bad() { echo "FAIL: $*"; PROBLEMS=$((PROBLEMS + 1)); }
export RECORD="$T/record"
ENVELOPE='send EHLO client.test\r\n
expect 250
send MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n
expect 250
expect 250
expect 354'

# fault WHAT "HOST OPTIONS" "PROXY ARGS": run the script on stdin through
# t/session.pl against a fresh smarthost and proxy (-e 30 -b 30 -w 20, and
# filters with -t 20: a wait for a timeout would show); 1 if it failed.
fault() {
  _what=$1
  setup "$2" "-e 30 -b 30 -w 20 $3"
  rm -f "$T/record"
  { echo "expect 220"; cat; } > "$T/script"
  timeout 60 perl "$TOP/t/session.pl" "$PROXY_PORT" "$PROXY_PID" "$HOST_PID" < "$T/script" > "$T/session" 2>&1
  _rc=$?
  if [ $_rc != 0 ]; then sed 's/^/    /' "$T/session"; bad "$_what: the session did not go as it must"; return 1; fi
  # Every child of the proxy ends (no orphan left running).
  for _p in $(sed -n 's/^t=[0-9.]* children //p' "$T/session" | tr ' ' '\n' | sed 's/:.*//'); do
    wait_for "! [ -d /proc/$_p ] || grep -q '^[0-9]* ([^)]*) Z' /proc/$_p/stat" 5 ||
      { bad "$_what: child $_p ($(tr '\0' ' ' < /proc/$_p/cmdline 2>/dev/null)) still runs"; return 1; }
  done
  return 0
}
# quick SECONDS: the reply after the kill came within SECONDS.
quick() {
  _k=$(sed -n 's/^t=\([0-9.]*\) killed.*/\1/p' "$T/session" | head -n 1)
  _r=$(sed -n 's/^t=\([0-9.]*\) \(reply\|closed\).*/\1/p' "$T/session" | awk -v k="$_k" '$1 >= k' | head -n 1)
  [ -n "$_r" ] && perl -e "exit !($_r - $_k <= $1)" ||
    { bad "$_what: the answer after the kill took $(perl -e "print ${_r:-99} - $_k") s"; return 1; }
}
nothing_stored() {
  sleep "${1:-0}"
  [ "$(stored)" = 0 ] || { bad "$_what: the smarthost stored the message"; return 1; }
}
has_log() { logged "$1" > /dev/null || bad "$_what: no log line $1"; }

# --- a filter killed -----------------------------------------------------

fault "filter killed in the envelope (policy tempfail)" "" "{ $F/act none x }" <<EOT &&
send EHLO client.test\r\n
expect 250
kill filters/act
send MAIL FROM:<alice@example.org>\r\n
expect 451
quit
EOT
quick 2 && nothing_stored && has_log 'filter act failed at mail: exited with signal 9; policy tempfail' &&
  ok "$_what: 451 at MAIL, logged"

fault "filter killed in the envelope (policy accept)" "" "{ -p accept $F/act none x }" <<EOT &&
send EHLO client.test\r\n
expect 250
kill filters/act
$ENVELOPE
send Subject: x\r\n\r\nbody\r\n.\r\n
expect 250
quit
EOT
[ "$(stored)" = 1 ] && has_log 'filters=act:mail:failed-accept' && ok "$_what: delivered, as its policy says, logged"

fault "filter killed during the body" "" "{ $F/act none x }" <<EOT &&
$ENVELOPE
body 200000
kill filters/act
body 200000
send \r\n.\r\n
expect 451
quit
EOT
nothing_stored && has_log 'filter act failed at eom: exited' && ok "$_what: 451 after the data, nothing relayed"

fault "filter killed while it thinks at the end of the data" "" "{ $F/act eom hang }" <<EOT &&
$ENVELOPE
send Subject: x\r\n\r\nbody\r\n.\r\n
wait $T/record ^eom
kill ^sleep 3600|act eom hang
expect 451
quit
EOT
quick 2 && nothing_stored && has_log 'filter act failed at eom: exited with signal 9' &&
  ok "$_what: 451 at once (its timeout is 20 s), logged"

fault "required filter killed while it thinks, another before it" "" \
  "{ -n first $F/act none x } { -p required -n second $F/act eom hang }" <<EOT &&
$ENVELOPE
send Subject: x\r\n\r\nbody\r\n.\r\n
wait $T/record ^eom
kill ^sleep 3600|act eom hang
expect 451
quit
EOT
quick 2 && nothing_stored && has_log 'filter second failed at eom: exited' && ok "$_what: 451 at once"

fault "filter killed while the smarthost answers" "-w 2000" "{ $F/act none x }" <<EOT &&
$ENVELOPE
send Subject: x\r\n\r\nbody\r\n.\r\n
wait $T/host/log.* ^\\. [0-9]
kill filters/act
expect 250
send MAIL FROM:<alice@example.org>\r\n
expect 451
quit
EOT
[ "$(stored)" = 1 ] && has_log 'filter act failed at (report|mail): exited' &&
  ok "$_what: the smarthost's 250 (it took the message), then 451 at the next MAIL"

# --- smtp-forward killed -------------------------------------------------

fault "smtp-forward killed in the envelope" "" "" <<EOT &&
send EHLO client.test\r\n
expect 250
send MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\n
expect 250
expect 250
kill smtp-forward
send RCPT TO:<carol@example.net>\r\n
expect 421
closed
EOT
quick 2 && nothing_stored && has_log 'smtp-forward (exited|spoke unasked or exited)' &&
  has_log 'reason="forwarder failed"' && ok "$_what: 421 at the next RCPT, logged"

fault "smtp-forward killed during the body" "" "" <<EOT &&
$ENVELOPE
body 200000
kill smtp-forward
body 200000
send \r\n.\r\n
expect 421
closed
EOT
nothing_stored && has_log 'reason="forwarder failed"' && ok "$_what: 421 after the data, nothing relayed"

fault "smtp-forward killed while the filters think" "" "{ $F/think eom 2 }" <<EOT &&
$ENVELOPE
send Subject: x\r\n\r\nbody\r\n.\r\n
wait $T/record ^eom
kill smtp-forward
expect 421
closed
EOT
nothing_stored && has_log 'reason="forwarder failed"' && ok "$_what: 421 once they accept, nothing relayed"

# The smarthost stops itself (smtp-testhost -z) with 1 MB of a 20 MB
# message read: the message is on its way when smtp-forward dies.
fault "smtp-forward killed while it sends the message" "-z 1000000" "" <<EOT &&
$ENVELOPE
body 20000000
send \r\n.\r\n
wait $T/host/log.* ^DATA
sleep 0.3
kill smtp-forward
conthost
expect 421
closed
EOT
quick 3 && nothing_stored 1 && ok "$_what: 421; the smarthost, without the final dot, kept nothing"

# The same without a Received field (-R): no header field goes before
# DATA, so the forwarder's death shows at the final reply itself.
fault "smtp-forward killed while it sends the message, no header fields" "-z 1000000" "-R" <<EOT &&
$ENVELOPE
body 20000000
send \r\n.\r\n
wait $T/host/log.* ^DATA
sleep 0.3
kill smtp-forward
conthost
expect 421
closed
EOT
quick 3 && nothing_stored 1 && ok "$_what: 421; nothing kept"

POSSIBLE_DUPLICATES=0
for received in "" -R; do
  fault "smtp-forward killed while the smarthost answers${received:+, no header fields}" "-w 2000" "$received" <<EOT &&
$ENVELOPE
send Subject: x\r\n\r\nbody\r\n.\r\n
wait $T/host/log.* ^\\. [0-9]
kill smtp-forward
expect 421
closed
EOT
  quick 1 && has_log 'reason="forwarder failed"' &&
    if wait_for '[ "$(stored)" = 1 ]' 5; then
      POSSIBLE_DUPLICATES=$((POSSIBLE_DUPLICATES + 1))
      ok "$_what: 421 at once; the smarthost kept the message (a possible duplicate, the client retries)"
    else
      bad "$_what: the smarthost did not keep the message it was answering for"
    fi
done

# --- smtp-proxyd itself killed -------------------------------------------

fault "smtp-proxyd killed in the envelope" "" "{ $F/act none x }" <<EOT &&
send EHLO client.test\r\n
expect 250
send MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\n
expect 250
expect 250
killproxy
closed
EOT
nothing_stored 0.5 && ok "$_what: the connection closes, filter and forwarder end, nothing relayed"

fault "smtp-proxyd killed during the body" "" "{ $F/act none x }" <<EOT &&
$ENVELOPE
body 200000
killproxy
closed
EOT
nothing_stored 0.5 && ok "$_what: the connection closes, filter and forwarder end, nothing relayed"

fault "smtp-proxyd killed while the smarthost answers" "-w 2000" "{ $F/act none x }" <<EOT &&
$ENVELOPE
send Subject: x\r\n\r\nbody\r\n.\r\n
wait $T/host/log.* ^\\. [0-9]
killproxy
closed
EOT
  if wait_for '[ "$(stored)" = 1 ]' 5; then
    POSSIBLE_DUPLICATES=$((POSSIBLE_DUPLICATES + 1))
    ok "$_what: no reply; the smarthost kept the message (a possible duplicate, the client retries)"
  else
    bad "$_what: the smarthost did not keep the message"
  fi
echo "possible duplicates on retry (a reply lost after the smarthost took the message): $POSSIBLE_DUPLICATES"

# --- the client gone at the end of the data --------------------------------

# The client resets the connection (RST) after its final dot, while the
# smarthost thinks (1.5 s): the smarthost takes the message, the reply
# cannot be written.  That is RFC 1047's duplicate: the client never heard
# 250 and sends the message again.  The message was delivered: the log
# must say so, and the filters must hear it (report), so that
# smtp-dupcheck records it and discards the copy that comes again.
if [ -x "$BIN/smtp-dupcheck" ]; then
  setup "-w 1500" "{ -p accept $BIN/smtp-dupcheck -w 3600 $T/store }"
  for attempt in 1 2; do
    { echo 'expect 220'; printf '%s\n' "$ENVELOPE"
      printf '%s\n' 'send Message-ID: <rfc1047@test>\r\nSubject: gone\r\n\r\nbody\r\n.\r\n'
      if [ $attempt = 1 ]; then printf '%s\n' "wait $T/host/log.* ^\\. [0-9]" reset
      else echo 'expect 250'; echo quit; fi
    } > "$T/script"
    timeout 30 perl "$TOP/t/session.pl" "$PROXY_PORT" "$PROXY_PID" "$HOST_PID" < "$T/script" > "$T/session" 2>&1 ||
      { sed 's/^/    /' "$T/session"; bad "client gone: attempt $attempt failed"; }
    [ $attempt = 1 ] && wait_for "grep -q ' end conn=' '$T/PROXY.log'" 5
  done
  _what="client gone after its final dot, then the same message again"
  grep -q 'upstream=250 .*result=delivered' "$T/PROXY.log" ||
    bad "$_what: the first copy, which the smarthost took, is not logged as delivered: $(grep -o 'result=[^ ]*' "$T/PROXY.log" | head -n 1)"
  grep -q 'recorded .*msgid=<rfc1047@test>' "$T/PROXY.log" ||
    bad "$_what: smtp-dupcheck never heard of the delivery (no report)"
  [ "$(stored)" = 1 ] || bad "$_what: the smarthost has $(stored) copies: the one sent again was not discarded"
  [ "$(stored)" = 1 ] && ok "$_what: delivered once, logged, the copy discarded"
fi

# --- the smarthost flaps ---------------------------------------------------

# Up (the test smarthost, slow: 20 ms a reply, 150 ms more at the end of
# the data), down (nothing listens), up refusing (greeting 421), and each
# time it goes down, its sessions are killed (-9) in the middle of
# whatever they do; a seeded sequence of 0.1 to 0.6 s periods.
# Meanwhile 300 messages over 10 connections, spread over 10 s (t/ledger.pl): the books
# must balance, a copy stored while the client was told 4xx or nothing
# counting as a possible duplicate (t/ledger-check.pl -k).
stop HOST; stop PROXY; : > "$T/PROXY.log"
rm -rf "$T/host"; mkdir -p "$T/host"
HOST_PORT=$(free_port)
cat > "$T/flap" <<EOT
cur=
down() {
  [ -n "\$cur" ] || return 0
  kill -STOP "\$cur" 2> /dev/null       # no new session while its sessions die
  for k in \$(ps -o pid= --ppid "\$cur"); do kill -9 "\$k" 2> /dev/null; done
  kill "\$cur" 2> /dev/null; kill -CONT "\$cur" 2> /dev/null
  wait "\$cur" 2> /dev/null
  cur=
}
trap 'down; exit 0' TERM INT
for p in \$(awk 'BEGIN { srand(91); for (i = 0; i < 400; i++) printf "%d %.1f ", int(rand() * 4), 0.1 + int(rand() * 6) / 10 }'); do
  case \$p in
    0|3) down; tcpserver -q -HR -l localhost -c 50 127.0.0.1 $HOST_PORT "$TOOLS/smtp-testhost" -d "$T/host" -l -W 20 -w 150 & cur=\$! ;;
    1) down ;;
    2) down; tcpserver -q -HR -l localhost -c 50 127.0.0.1 $HOST_PORT "$TOOLS/smtp-testhost" -g 421 & cur=\$! ;;
    *) sleep \$p ;;
  esac
done
down
EOT
sh "$T/flap" 2>> "$T/HOST.log" &
FLAPPER=$!
PIDS="$PIDS $FLAPPER"
serve_proxy -R -e 20 -b 20 -w 10 -- -c 2 -r 3 -d 3
timeout 100 perl "$TOP/t/ledger.pl" -c 10 -n 300 -s 91 -p 300 -t 40 -T 80 127.0.0.1 "$PROXY_PORT" "$T/ledger"
rc=$?
kill "$FLAPPER"; wait "$FLAPPER" 2> /dev/null
perl "$TOP/t/ledger-check.pl" -k -p "$T/PROXY.log" "$T/ledger" "$T/host" > "$T/check"
check=$?
sed 's/^/    /' "$T/check"
if [ $rc != 0 ] || [ $check != 0 ]; then
  bad "a flapping smarthost: the books do not balance (client status $rc)"
elif ! grep -q 'accepted (2xx, stored exactly once) [1-9][0-9]' "$T/check" ||
     ! grep -Eq 'refused in the envelope: 4xx [1-9]' "$T/check"; then
  bad "a flapping smarthost: it was never up, or never down"
else
  ok "a flapping smarthost, 300 messages: every 2xx stored once, no 5xx, nothing refused stored"
fi
stop PROXY

# --- a full disk for the spool ----------------------------------------------

setup "" ""
mkdir "$T/spool"
if mount -t tmpfs -o size=1m noqueue-test "$T/spool" 2> /dev/null; then
  trap 'umount "$T/spool" 2> /dev/null; cleanup' EXIT
  {
    printf 'EHLO client.test\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n'
    perl -e 'print "x" x 78, "\r\n" for 1 .. 30000'      # 2.4 MB
    printf '.\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\nSubject: small\r\n\r\nfits\r\n.\r\nQUIT\r\n'
  } > "$T/big"
  proxy_pipe "$T/big" -d "$T/spool"
  grep -q '^452 4.3.1' "$T/out" || bad "a full spool: no 452 4.3.1: $(grep -o '^[0-9][0-9][0-9]' "$T/out" | tr '\n' ' ')"
  grep -q 'unable to spool the message: No space left on device' "$T/err" || bad "a full spool: no log line"
  [ "$(grep -c '^250 2.0.0 Ok: stored' "$T/out")" = 1 ] && [ "$(stored)" = 1 ] ||
    bad "a full spool: the small message after it was not delivered"
  grep -q '^221' "$T/out" || bad "a full spool: no 221"
  ok "a full spool (tmpfs of 1 MB, a 2.4 MB message): 452 4.3.1, logged; the next message fits and is delivered"
  umount "$T/spool"
  trap cleanup EXIT
else
  echo "no tmpfs can be mounted here (not root?): the full spool is tested with RLIMIT_FSIZE only"
fi

# A file size limit (ulimit -f, 512-octet blocks): a message beyond it
# cannot be spooled; the proxy must say 452, not die of SIGXFSZ.
rm -f "$T"/host/*
env TCPREMOTEIP=192.0.2.1 timeout 60 sh -c 'ulimit -f 2000; exec "$@"' - "$BIN/smtp-proxyd" -h proxy.test -- \
  "$BIN/smtp-forward" 127.0.0.1 "$HOST_PORT" < "$T/big" > "$T/out" 2> "$T/err"
rc=$?
if [ $rc -gt 128 ]; then
  bad "RLIMIT_FSIZE: smtp-proxyd died of signal $((rc - 128)) (SIGXFSZ: it must ignore it and get EFBIG)"
elif ! grep -q '^452 4.3.1' "$T/out"; then
  bad "RLIMIT_FSIZE: no 452 4.3.1: $(grep -o '^[0-9][0-9][0-9]' "$T/out" | tr '\n' ' ')"
else
  grep -q 'unable to spool the message' "$T/err" || bad "RLIMIT_FSIZE: no log line"
  ok "RLIMIT_FSIZE below the message: 452 4.3.1, logged"
fi
[ "$(stored | tr -d ' ')" -le 1 ] || bad "RLIMIT_FSIZE: more than the small message stored"

# --- file descriptors exhausted --------------------------------------------

# With 3 to 16 descriptors the proxy cannot make its spool, or start its
# filter, or its forwarder, or the forwarder its connection: each ends in
# a defined reply (a 4xx, or the message delivered when there are
# enough), in bounded time, never a signal, never a 2xx without the
# message stored.
printf 'EHLO client.test\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\nSubject: fds\r\n\r\nbody\r\n.\r\nQUIT\r\n' > "$T/fds"
summary=
for nofile in 3 4 5 6 7 8 9 10 11 12 13 14 16; do
  rm -f "$T"/host/*
  start=$(date +%s)
  env TCPREMOTEIP=192.0.2.1 RECORD=/dev/null timeout 30 sh -c "ulimit -n $nofile; exec \"\$@\"" - \
    "$BIN/smtp-proxyd" -h proxy.test { "$F/act" none x } -- \
    "$BIN/smtp-forward" 127.0.0.1 "$HOST_PORT" < "$T/fds" > "$T/out" 2> "$T/err"
  rc=$? took=$(( $(date +%s) - start ))
  codes=$(grep -o '^[0-9][0-9][0-9] ' "$T/out" | tr -d ' ' | tr '\n' ' ')
  summary="$summary
    -n $nofile: exit $rc, replies $codes"
  # A dynamic build (make check-sanitize) may not even be loaded.
  grep -q 'error while loading shared libraries' "$T/err" && continue
  [ $rc -le 128 ] && [ $rc != 124 ] || { bad "-n $nofile: exit status $rc"; continue; }
  [ $took -le 10 ] || bad "-n $nofile: took $took s"
  if grep -q '^250 2.0.0 Ok: stored' "$T/out"; then
    [ "$(stored)" = 1 ] || bad "-n $nofile: 2xx, not stored"
  else
    [ "$(stored)" = 0 ] || bad "-n $nofile: stored, not 2xx"
    echo "$codes" | grep -Eq '(^| )4[0-9][0-9] ' || bad "-n $nofile: neither delivered nor a 4xx: $codes"
    [ -s "$T/err" ] || bad "-n $nofile: no log line"
  fi
done
echo "file descriptor limits:$summary"
ok "file descriptors exhausted (ulimit -n 3 to 16): each a 4xx and a log line, or delivered"

[ $PROBLEMS = 0 ] || fail "$PROBLEMS problem(s)"
