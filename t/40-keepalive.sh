# Keep-alive: a smarthost that drops sessions idle for 2 s still receives a
# message whose body the client sends over 6 s, because smtp-forward sends
# NOOP every second.  Without keep-alive the same message gets a 451.
. "$(dirname "$0")/lib.sh"
setup "-i 2000"
slow_client() {
  printf 'EHLO client.test\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\nSubject: slow\r\n\r\n'
  for i in 1 2 3 4 5 6; do sleep 1; printf 'line %s\r\n' $i; done
  printf '.\r\nQUIT\r\n'
}
slow_client | TCPREMOTEIP=192.0.2.1 "$BIN/smtp-proxyd" -h proxy.test -- \
  "$BIN/smtp-forward" -k 1 127.0.0.1 "$HOST_PORT" > "$T/out" 2> "$T/err"
grep -q '^250 2.0.0 Ok: stored' "$T/out" || { cat "$T/out" "$T/err"; fail "keep-alive: not delivered"; }
[ "$(stored)" = 1 ] || fail "keep-alive: not stored"
noops=$(grep -c '^NOOP' "$T"/host/log.*)
[ "$noops" -ge 4 ] || fail "keep-alive: only $noops NOOPs"
ok "body over 6 s, smarthost idle limit 2 s: delivered, $noops NOOPs kept it alive"

rm -f "$T"/host/*
slow_client | TCPREMOTEIP=192.0.2.1 "$BIN/smtp-proxyd" -h proxy.test -- \
  "$BIN/smtp-forward" -k 0 127.0.0.1 "$HOST_PORT" > "$T/out" 2> "$T/err"
grep -q '^451 4.4.2' "$T/out" || { cat "$T/out"; fail "without keep-alive: no 451"; }
[ "$(stored)" = 0 ] || fail "without keep-alive: stored"
ok "the same without keep-alive: 451 4.4.2, not delivered (the test can fail)"

# The smarthost leaves the open transaction (its idle limit, 421) while
# the client thinks before DATA: smtp-forward says so unasked, and DATA
# gets 451 at once, not a 354 and a 451 after the whole body.
rm -f "$T"/host/*
{ printf 'EHLO client.test\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\n'
  sleep 3; printf 'DATA\r\n'; sleep 1; printf 'Subject: late\r\n\r\nbody\r\n.\r\nQUIT\r\n'; } |
  TCPREMOTEIP=192.0.2.1 "$BIN/smtp-proxyd" -h proxy.test -- \
  "$BIN/smtp-forward" -k 0 127.0.0.1 "$HOST_PORT" > "$T/out" 2> "$T/err"
grep -q '^354' "$T/out" && { cat "$T/out"; fail "the smarthost gone before DATA: 354"; }
grep -q '^451 4.4.2 Connection to the mail server lost' "$T/out" || { cat "$T/out" "$T/err"; fail "the smarthost gone before DATA: no 451 to DATA"; }
[ "$(stored)" = 0 ] || fail "the smarthost gone before DATA: stored"
grep -q 'result=tempfailed' "$T/err" || fail "the smarthost gone before DATA: log"
ok "the smarthost leaves during the envelope: DATA gets 451 4.4.2 at once, no 354"

# The same during the body: 451 at its end without the filters' work.
rm -f "$T"/host/*
RECORD=$T/events; export RECORD
slow_client | TCPREMOTEIP=192.0.2.1 "$BIN/smtp-proxyd" -h proxy.test { "$TOP/t/filters/think" eom 0 } -- \
  "$BIN/smtp-forward" -k 0 127.0.0.1 "$HOST_PORT" > "$T/out" 2> "$T/err"
unset RECORD
grep -q '^451 4.4.2 Connection to the mail server lost' "$T/out" || { cat "$T/out"; fail "gone in the body: no 451"; }
grep -q '^eom' "$T/events" && fail "gone in the body: the eom filters still ran"
ok "the smarthost leaves during the body: 451 4.4.2 at its end, and no eom filter runs"
