# The ledger: 2,000 messages over 100 concurrent connections, through
# tcpserver, smtp-proxyd (with smtp-dupcheck in the chain) and
# smtp-forward, to a smarthost that refuses (4xx, 5xx), drops the
# connection and delays at random, seeded (smtp-testhost -r), at MAIL,
# RCPT, DATA and the end of data.  The client (t/ledger.pl) writes down
# every reply; t/ledger-check.pl then balances the books against what the
# smarthost stored: every message told 2xx is there exactly once, byte for
# byte, for exactly the recipients told 2xx; none told 5xx or refused
# before its data is there; a copy told 4xx after its data is there only
# when the smarthost's reply was lost (it dropped the connection just after
# storing) or came later than the forwarder waits: counted apart, as a
# possible duplicate on retry, never as a loss.  Some accepted messages are
# sent again at once: smtp-dupcheck discards them (250, counted apart).
#   LEDGER_SEED, LEDGER_MESSAGES, LEDGER_CONNS, LEDGER_PERCENT: to vary it.
. "$(dirname "$0")/lib.sh"
command -v smtp-dupcheck > /dev/null || skip "no smtp-dupcheck"
SEED=${LEDGER_SEED:-20261124}
MESSAGES=${LEDGER_MESSAGES:-2000}
CONNS=${LEDGER_CONNS:-100}
PERCENT=${LEDGER_PERCENT:-12}
LATE=3000                       # longer than the forwarder's -d 2

# The smarthost's faults; the forwarder waits 2 s for a DATA exchange and
# 3 s for any other reply, so a late reply (3 s) is one it gave up on.
setup "-r $SEED:$PERCENT:$LATE" \
  "-R -e 60 -b 60 -w 20 { -p accept -t 20 $BIN/smtp-dupcheck -t 20000 -w 3600 $T/store }" \
  "-d 2 -r 3"
start=$(date +%s)
timeout 150 perl "$TOP/t/ledger.pl" -c "$CONNS" -n "$MESSAGES" -s "$SEED" -r 5 -t 60 -T 120 \
  127.0.0.1 "$PROXY_PORT" "$T/ledger"
rc=$?
took=$(( $(date +%s) - start ))
[ $rc = 0 ] || echo "the client ended with status $rc (2: a reply did not come in time)"
[ "$(wc -l < "$T/ledger")" -ge "$MESSAGES" ] || fail "the ledger has $(wc -l < "$T/ledger") lines for $MESSAGES messages"

# A smarthost still asleep over a late reply stores its copy when it
# wakes: wait for every one of its sessions to end.
stop PROXY
wait_for '[ -z "$(ps -o pid= --ppid "$HOST_PID")" ]' 15 ||
  fail "smarthost sessions still running: $(ps -o pid=,args= --ppid "$HOST_PID" | head -n 3)"
perl "$TOP/t/ledger-check.pl" -p "$T/PROXY.log" "$T/ledger" "$T/host" > "$T/check"
check=$?
cat "$T/check"
[ $check = 0 ] && [ $rc = 0 ] || fail "the books do not balance (seed $SEED)"
grep -q 'accepted (2xx, stored exactly once) [1-9]' "$T/check" || fail "nothing was accepted"
grep -q 'duplicates discarded [1-9]' "$T/check" || fail "no resend was discarded"
grep -q 'possible duplicates on retry (reply lost or late) [1-9]' "$T/check" ||
  fail "no lost or late reply was met: the test did not test that"
grep -Eq 'faults injected: .*EOD drop-after-store' "$T/check" || fail "no drop after store"
if grep -q 'smtp-proxyd: fatal' "$T/PROXY.log"; then
  grep 'smtp-proxyd: fatal' "$T/PROXY.log" | head -n 5; fail "the proxy died"
fi
ok "ledger: $MESSAGES messages over $CONNS connections, faults at $PERCENT % (seed $SEED), balanced in ${took}s"
