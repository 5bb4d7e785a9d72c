# smtp-greylist end to end through smtp-proxyd, the same checks on both
# stores (the rolling file, and a real redis-server started here), the
# clock moved through $T/now: a first attempt gets 451, a retry before
# the delay 451, after it the message is delivered and the client's
# network is known; the pass memory and the retry window expire; the
# allow-lists and the "doubtful only" options; 20 parallel connections
# lose no record; a Redis that stalls or is stopped makes the filter fail
# (its policy applies) within its deadline.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-store.sh"
start_redis
clocked smtp-greylist
GL=$T/bin/smtp-greylist
T0=1700000000

msg() { send --from "$1" --to "$2" --body "Greylisting test."; }
one_client() { echo "--from p$1@parallel.example --to bob@example.net"; }
count() { grep -Ec "$1" "$T/PROXY.log"; }

suite() {       # suite NAME STORE PARALLEL-STORE
  name=$1 store=$2
  now $T0
  setup "" "{ -p tempfail $GL -d 300 -r 3600 -m 86400 $store }"
  msg alice@sender.example bob@example.net
  greylisted "$name: first attempt" 0
  logged "smtp-greylist: info: greylisted conn=[0-9a-f]+-[0-9]+ net=127.0.0.0/24 from=alice@sender.example to=bob@example.net age=0"
  now $((T0 + 100))
  msg alice@sender.example bob@example.net
  greylisted "$name: retry before the delay" 0
  logged 'greylisted .* reason="too early" age=100'
  now $((T0 + 300))
  msg alice@sender.example bob@example.net
  delivered "$name: retry after the delay" 1
  logged "smtp-greylist: info: passed conn=[0-9a-f]+-[0-9]+ net=127.0.0.0/24 from=alice@sender.example to=bob@example.net age=300"
  msg carol@other.example dave@example.net
  delivered "$name: another triplet of a known network" 2
  logged "smtp-greylist: info: known conn=[0-9a-f]+-[0-9]+ net=127.0.0.0/24 from=carol@other.example"
  ok "$name: first attempt 451 4.7.1, retry before the delay 451, after it delivered; the network then known"

  # The pass memory (-m 86400) runs out: the network is a stranger again.
  T1=$((T0 + 300 + 86401))
  now $T1
  msg erin@new.example bob@example.net
  greylisted "$name: after the pass memory" 2
  # The retry window (-r 3600 after the delay) runs out: new again.
  now $((T1 + 300 + 3601))
  msg erin@new.example bob@example.net
  greylisted "$name: after the retry window" 2
  [ "$(count 'from=erin@new.example to=bob@example.net age=0')" = 2 ] || fail "$name: window: not new again"
  ok "$name: the pass memory and the retry window expire: greylisted anew"

  # Allow-lists, and only doubtful mail.
  echo "127.0.0.1  # the test's own client" > "$T/clients"
  echo "Friend.Example" > "$T/domains"
  now $((T0 + 10 * 86400))
  setup "" "{ -p tempfail $GL -c $T/clients $store }"
  msg frank@x1.example bob@example.net
  delivered "$name: a client on the allow-list" 1
  logged 'exempt .* reason=client'
  setup "" "{ -p tempfail $GL -f $T/domains $store }"
  msg frank@friend.example bob@example.net
  delivered "$name: a sender domain on the allow-list" 1
  msg frank@x2.example bob@example.net
  greylisted "$name: another domain" 1
  setup "" "{ $T/facts.sh '*@spf.example=fact spf pass' '*@spam.example=score 10' } { -p tempfail $GL -k spf=pass -s -5:5 $store }"
  msg grace@spf.example bob@example.net
  delivered "$name: with fact spf pass" 1
  logged 'exempt .* from=grace@spf.example .* reason=fact'
  msg grace@spam.example bob@example.net
  [ "$(final_code)" = 250 ] || fail "$name: score 10, out of the window: not passed"
  logged 'exempt .* from=grace@spam.example .* reason=score'
  msg grace@plain.example bob@example.net
  greylisted "$name: no fact, score 0 in the window" 2
  ok "$name: clients and sender domains allowed; only doubtful mail greylisted (-k spf=pass, -s -5:5)"

  # 20 parallel connections, each a new triplet, on a new store.
  now $T0
  setup "" "{ -p tempfail $GL $3 }"
  parallel
  now $((T0 + 60))
  : > "$T/PROXY.log"
  parallel
  wait_for "[ \$(count 'reason=\"too early\" age=60') = 20 ]" 5 ||
    { grep greylist "$T/PROXY.log"; fail "$name: parallel: $(count 'reason="too early" age=60') of 20 triplets found again"; }
  ok "$name: 20 parallel connections: 20 triplets recorded, all 20 found again a minute later"
}

suite file "$T/grey.store" "$T/parallel.store"
[ "$(stat -c %s "$T/grey.store")" = $((4096 + 65536 * 64)) ] || fail "file: not a store of the default size"
suite redis "$REDIS" "redis://127.0.0.1:$REDIS_PORT/6"
redis-cli -p "$REDIS_PORT" -n 5 --scan | grep -q '^white:127\.0\.0\.0/24$' || fail "redis: no white: key"

# Redis stalled (SIGSTOP: connections are taken, nothing answers), then
# stopped: the filter fails within its -t, its policy applies.
now $((T0 + 30 * 86400))
kill -STOP "$REDIS_PID"
setup "" "{ -p tempfail -t 20 $GL -t 500 $REDIS }"
start=$(date +%s)
msg stall@x.example bob@example.net
end=$(date +%s)
kill -CONT "$REDIS_PID"
[ $((end - start)) -le 5 ] || fail "stalled redis: the session took $((end - start)) s"
grep -aq '^<\*\* *4[0-9][0-9] ' "$T/swaks.out" || { cat "$T/swaks.out"; fail "stalled redis, policy tempfail: no 4xx"; }
[ "$(stored)" = 0 ] || fail "stalled redis: stored"
logged 'smtp-greylist: fatal: conn=[0-9a-f]+-[0-9]+: store redis://.*: timed out'
ok "redis stalled: the filter fails after its 500 ms, policy tempfail: 4xx, in $((end - start)) s"
# Check mode (NOQUEUE_CHECK=1): one look-up in the store before the
# handshake; every bad line of the lists, every bad option at once.
. "$TOP/t/lib-checkmode.sh"
check_passes "Redis up" "$GL" "$REDIS"
check_passes "a file store" "$GL" "$T/check.store"
[ -s "$T/check.store" ] || fail "check mode: the file store not made"
printf '192.0.2.0/24\nnot-an-address\n# fine\n10.0.0.0/33\n' > "$T/bad-clients"
printf 'example.org\nuser@example.net\n' > "$T/bad-domains"
check_fails 100 5 "bad configuration" "$GL" -4 0 -c "$T/bad-clients" -f "$T/bad-domains" -s 5:1 "$REDIS"
check_said "^smtp-greylist: fatal: $T/bad-clients line 2: not an address or prefix: not-an-address\$"
check_said "^smtp-greylist: fatal: $T/bad-clients line 4: not an address or prefix: 10.0.0.0/33\$"
check_said "^smtp-greylist: fatal: $T/bad-domains line 2: not a domain: user@example.net\$"
check_said '^smtp-greylist: fatal: bad -4: 1 to 32; usage'
check_said '^smtp-greylist: fatal: bad -s: say low:high, two integers, low below high; usage'
ok "check mode: Redis and a file store answer, the handshake, exit 0; every bad line of -c and -f and every bad option at once: 100"

stop_redis
setup "" "{ -p accept $GL $REDIS }"
msg stopped@x.example bob@example.net
delivered "stopped redis, policy accept" 1
logged 'smtp-greylist: fatal: conn=[0-9a-f]+-[0-9]+: store redis://.*Connection refused'
setup "" "{ -p tempfail $GL $REDIS }"
msg stopped@x.example bob@example.net
grep -aq '^<\*\* *4[0-9][0-9] ' "$T/swaks.out" || { cat "$T/swaks.out"; fail "stopped redis, policy tempfail: no 4xx"; }
ok "redis stopped: policy accept delivers, policy tempfail gives 4xx"

# Check mode, Redis stopped: 111 before any handshake, one line naming it.
check_fails 111 1 "Redis down" "$GL" "$REDIS"
check_said "^smtp-greylist: fatal: store $REDIS: .*Connection refused"
ok "check mode, Redis down: exit 111, one line"
