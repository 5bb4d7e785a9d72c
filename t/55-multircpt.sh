# The multi-recipient policy with a client that retries, as a real MTA
# does after 452: under "split" each rule class gets its own transaction
# and every recipient is delivered exactly once; under "first" one
# transaction takes them all.  The client is swaks in a loop, resending to
# the recipients that got a 4xx.
. "$(dirname "$0")/lib.sh"
F=$TOP/t/filters
all="a@one.test b@two.test c@one.test d@three.test e@two.test f@one.test"

# deliver RCPTS...: retry until every recipient is accepted (at most 6 rounds);
# prints the number of transactions.
deliver() {
  left="$*" rounds=0
  while [ -n "$left" ] && [ $rounds -lt 6 ]; do
    rounds=$((rounds + 1))
    send --from alice@example.org --to "$(echo $left | tr ' ' ,)" --body "round $rounds"
    again=
    for r in $left; do
      reply=$(grep -a -A1 "^ -> RCPT TO:<$r>" "$T/swaks.out" | sed -n 2p)
      case $reply in
        "<-  250"*) ;;
        "<** 4"*) again="$again $r" ;;
        *) fail "$r: unexpected reply: $reply" ;;
      esac
    done
    left=$(echo $again)
  done
  [ -z "$left" ] || fail "still refused after $rounds rounds: $left"
  echo $rounds
}

# every recipient in exactly one stored message, and each message one class
check_once() {
  for r in $all; do
    n=$(cat "$T"/host/env.* | grep -c "^RCPT TO:<$r>\$")
    [ "$n" = 1 ] || fail "$r delivered $n times"
  done
}

setup "" "{ $F/class-by-domain }"
rounds=$(deliver $all)
check_once
[ "$(stored)" = 3 ] || fail "split: $(stored) messages for 3 classes"
for f in "$T"/host/env.*; do
  classes=$(sed -n 's/^RCPT TO:<[^@]*@\(.*\)>$/\1/p' "$f" | sort -u | wc -l)
  [ "$classes" = 1 ] || fail "split: a message with $classes classes: $(cat "$f")"
done
[ "$(grep -c 'rcpt=.*:452' "$T/PROXY.log")" -ge 2 ] || fail "split: no 452 logged"
ok "split: 6 recipients of 3 classes, $rounds transactions, each recipient once, one class each"

setup "" "-m first { $F/class-by-domain }"
rounds=$(deliver $all)
check_once
[ "$rounds" = 1 ] && [ "$(stored)" = 1 ] || fail "first: $rounds rounds, $(stored) messages"
grep -q 'class=one.test' "$T/PROXY.log" || fail "first: not the first recipient's class"
ok "first: one transaction, every recipient once, with the first recipient's class"
