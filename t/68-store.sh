# lib/store through smtp-dupcheck, the same checks on both stores (the
# rolling file of version 1, and a real redis-server started here), the
# clock moved through $T/now: a second copy is discarded, a copy after
# the window delivered; 20 parallel connections lose no record; a Redis
# that stalls or is stopped lets the mail through (smtp-dupcheck's own
# failure rule) within -t, never a hang.  And smtp-dupstore still reads
# the file.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-store.sh"
start_redis
clocked smtp-dupcheck
DUP=$T/bin/smtp-dupcheck
T0=1700000000

msg() {
  _id=$1; shift
  send --from alice@example.org --to bob@example.net --header "Message-Id: <$_id@test>" \
    --header "Subject: Message $_id" --body "The body of $_id." "$@"
}
one_client() {
  echo "--from alice@example.org --to bob@example.net --header Message-Id:<p$1@test> --header Subject:parallel-$1 --body Parallel-$1."
}

suite() {       # suite NAME STORE PARALLEL-STORE
  name=$1 store=$2
  now $T0
  setup "" "{ -p accept $DUP -w 3600 $store }"
  msg one
  delivered "$name: first copy" 1
  logged "smtp-dupcheck: info: recorded conn=[0-9a-f]+-[0-9]+ fp=[0-9a-f]{64} msgid=<one@test>"
  now $((T0 + 3599))
  msg one
  delivered "$name: second copy" 1
  logged "duplicate conn=[0-9a-f]+-[0-9]+ fp=[0-9a-f]{64} msgid=<one@test> .* source=store age=3599 action=discard"
  now $((T0 + 3601))
  msg one
  delivered "$name: a copy after the window" 2
  ok "$name: a second copy within the window discarded (age 3599), one after it delivered"

  now $T0
  setup "" "{ -p accept $DUP -w 3600 $3 }"
  parallel
  wait_for "[ \$(grep -c 'smtp-dupcheck: info: recorded' '$T/PROXY.log') = 20 ]" 5 ||
    fail "$name: parallel: $(grep -c 'smtp-dupcheck: info: recorded' "$T/PROXY.log") of 20 recorded"
  [ "$(stored)" = 20 ] || fail "$name: parallel: $(stored) stored"
  parallel
  wait_for "[ \$(grep -c 'smtp-dupcheck: info: duplicate' '$T/PROXY.log') = 20 ]" 5 ||
    fail "$name: parallel: $(grep -c 'smtp-dupcheck: info: duplicate' "$T/PROXY.log") of 20 found again"
  [ "$(stored)" = 20 ] || fail "$name: parallel again: $(stored) stored"
  ok "$name: 20 parallel connections: 20 recorded; the 20 again: all discarded"
}

suite file "$T/dup.store" "$T/parallel.store"
"$BIN/smtp-dupstore" -l "$T/parallel.store" > "$T/summary" 2>&1 || { cat "$T/summary"; fail "smtp-dupstore -l"; }
[ "$(wc -l < "$T/summary")" = 20 ] || { cat "$T/summary"; fail "file: smtp-dupstore does not list 20 records"; }
ok "file: still noqueue-dupstore version 1: smtp-dupstore -l sees the 20 records"
suite redis "$REDIS" "redis://127.0.0.1:$REDIS_PORT/6"
[ "$(redis-cli -p "$REDIS_PORT" -n 6 --scan --pattern 'dup:*' | wc -l)" = 20 ] || fail "redis: not 20 dup: keys"
ttl=$(redis-cli -p "$REDIS_PORT" -n 6 ttl "$(redis-cli -p "$REDIS_PORT" -n 6 --scan --pattern 'dup:*' | head -n 1)")
{ [ "$ttl" -gt 3500 ] && [ "$ttl" -le 3600 ]; } || fail "redis: a dup: key's TTL is $ttl, not the window"
ok "redis: 20 dup: keys, each expiring with the window"

# Stalled, then stopped: the message is delivered, not checked, logged.
now $T0
kill -STOP "$REDIS_PID"
setup "" "{ -p accept $DUP -w 3600 -t 300 $REDIS }"
start=$(date +%s)
msg stalled
end=$(date +%s)
kill -CONT "$REDIS_PID"
delivered "stalled redis" 1
[ $((end - start)) -le 5 ] || fail "stalled redis: the session took $((end - start)) s"
logged "smtp-dupcheck: warning: conn=[0-9a-f]+-[0-9]+: store redis://.*timed out; not checked"
stop_redis
msg stopped
delivered "stopped redis" 2
logged "smtp-dupcheck: warning: conn=[0-9a-f]+-[0-9]+: store redis://.*Connection refused; not checked"
ok "redis stalled (within -t 300 ms) or stopped: logged, the message delivered, nothing hangs"
