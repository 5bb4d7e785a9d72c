# smtp-trust end to end through smtp-proxyd, on both stores (the rolling
# file and a real redis-server started here), the clock moved through
# $T/now.  An outbound noqueue (smtp-trust -o) delivers mail from
# alice@example.org to bob@partner.example; on the inbound noqueue mail
# from bob to alice gets the bonus (score, the trust fact, accept) and is
# not greylisted, the same from a stranger is; the domain's bonus only
# with an SPF pass fact; the decay; freemail domains earn nothing;
# smtp-trust -l; 20 parallel deliveries lose no partner.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-store.sh"
start_redis
clocked smtp-trust
clocked smtp-greylist
TR=$T/bin/smtp-trust
GL=$T/bin/smtp-greylist
T0=1700000000

msg() { send --from "$1" --to "$2" --body "Trust test."; }
one_client() { echo "--from user$1@example.org --to bob@partner.example"; }
outbound() { setup "" "{ -p tempfail $TR -o -p 25 -P 20 $1 }"; }
inbound() { setup "" "{ $T/facts.sh 'spf*@partner.example=fact spf pass' } { -p tempfail $TR -a $1 } { -p tempfail $GL $2 }"; }

suite() {       # suite NAME STORE GREYLIST-STORE PARALLEL-STORE
  name=$1 store=$2
  now $T0
  outbound "$store"
  msg alice@example.org bob@partner.example
  delivered "$name: outbound to bob" 1
  msg alice@example.org Bob@Partner.Example
  delivered "$name: outbound to bob again" 2
  msg alice@example.org carol@gmail.com
  delivered "$name: outbound to a freemail address" 3
  logged "smtp-trust: info: learned conn=[0-9a-f]+-[0-9]+ from=alice@example.org to=bob@partner.example domain=partner.example"
  logged "smtp-trust: info: learned conn=[0-9a-f]+-[0-9]+ from=alice@example.org to=carol@gmail.com\$"
  "$TR" -l "$store" > "$T/list" || fail "$name: smtp-trust -l"
  if [ "$name" = redis ]; then
    grep -q "^pair alice@example.org bob@partner.example 50 $T0\$" "$T/list" || { cat "$T/list"; fail "$name: -l: no pair of 50"; }
    grep -q "^domain partner.example 40 $T0\$" "$T/list" || { cat "$T/list"; fail "$name: -l: no domain of 40"; }
    grep -q "^domain gmail" "$T/list" && fail "$name: a freemail domain earned trust"
  fi
  [ "$(wc -l < "$T/list")" = 3 ] || { cat "$T/list"; grep smtp-trust "$T/PROXY.log"; fail "$name: -l: not 3 partners"; }
  ok "$name: outbound: alice -> bob twice, -> carol@gmail.com: the pair (50), the domain (40), carol's pair; no gmail.com; smtp-trust -l"

  now $((T0 + 3600))
  inbound "$store" "$3"
  msg bob@partner.example alice@example.org
  delivered "$name: inbound from bob" 1
  logged "smtp-trust: info: trusted conn=[0-9a-f]+-[0-9]+ from=bob@partner.example to=alice@example.org by=pair points=50"
  logged "facts=.*trust=50"
  logged "score=-5"
  grep -q '^smtp-greylist: info:' "$T/PROXY.log" && fail "$name: smtp-greylist was asked about trusted mail"
  msg mallory@stranger.example alice@example.org
  greylisted "$name: a stranger"
  msg dave@partner.example alice@example.org
  greylisted "$name: another of the domain, without SPF"
  msg spfdave@partner.example alice@example.org
  delivered "$name: another of the domain, with SPF pass" 2
  logged "trusted conn=[0-9a-f]+-[0-9]+ from=spfdave@partner.example to=alice@example.org by=domain points=40"
  ok "$name: inbound: bob -> alice trusted (score -5, fact trust=50, accept: not greylisted); a stranger greylisted; the domain trusted only with fact spf pass"

  # Decay: one point a day; 11 days later the pair has 39 points, the
  # domain 29: nothing trusted, the messages greylisted.
  now $((T0 + 11 * 86400))
  inbound "$store" "$3"
  msg bob@partner.example alice@example.org
  greylisted "$name: bob after 11 days"
  msg spfdave@partner.example alice@example.org
  greylisted "$name: the domain after 11 days"
  grep -q 'smtp-trust: info: trusted' "$T/PROXY.log" && fail "$name: trusted after the decay"
  ok "$name: the decay: 11 days without outbound mail, trust under the threshold, greylisted again"

  # 20 parallel deliveries, 20 senders to one partner: 20 pairs.
  now $T0
  outbound "$4"
  parallel
  wait_for "[ \$(grep -c 'smtp-trust: info: learned' '$T/PROXY.log') = 20 ]" 5 || fail "$name: parallel: not 20 learned"
  "$TR" -l "$4" > "$T/list" || fail "$name: smtp-trust -l"
  [ "$(wc -l < "$T/list")" = 21 ] || { cat "$T/list"; fail "$name: parallel: not 20 pairs and a domain"; }
  ok "$name: 20 parallel deliveries from 20 senders: 20 pairs and the domain recorded"
}

suite file "$T/trust.store" "$T/grey.store" "$T/parallel.store"
suite redis "$REDIS" "redis://127.0.0.1:$REDIS_PORT/6" "redis://127.0.0.1:$REDIS_PORT/7"

# Check mode (NOQUEUE_CHECK=1): one look-up in the store before the
# handshake; every bad option at once.
. "$TOP/t/lib-checkmode.sh"
check_passes "Redis up" "$TR" "$REDIS"
check_passes "a file store, outbound" "$TR" -o "$T/check.store"
check_fails 100 3 "bad configuration" "$TR" -p x -T 0 -f "$T/no-freemail" "$REDIS"
check_said '^smtp-trust: fatal: bad pair points: x '
check_said '^smtp-trust: fatal: bad -T: 0; usage'
check_said "^smtp-trust: fatal: unable to open $T/no-freemail: No such file or directory\$"
ok "check mode: Redis and a file store answer, the handshake, exit 0; every bad option at once: 100"

# Redis stopped: the outbound filter fails, its policy (accept) delivers.
stop_redis
setup "" "{ -p accept $TR -o $REDIS }"
msg alice@example.org bob@partner.example
delivered "redis stopped, policy accept" 1
logged 'smtp-trust: fatal: conn=[0-9a-f]+-[0-9]+: store redis://.*Connection refused'
ok "redis stopped: smtp-trust fails, its policy applies (accept: delivered)"

# Check mode, Redis stopped: 111 before any handshake, one line naming it.
check_fails 111 1 "Redis down" "$TR" "$REDIS"
check_said "^smtp-trust: fatal: store $REDIS: .*Connection refused"
ok "check mode, Redis down: exit 111, one line"
