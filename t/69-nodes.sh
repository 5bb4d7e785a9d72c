# Two noqueue nodes behind the real HAProxy (PROXY protocol v2, health
# checks with a LOCAL header), sharing one redis-server (smtp-greylist,
# smtp-dupcheck), with the real Postfix as their smarthost (XCLIENT):
# clients from 127.0.0.2 and 127.0.0.3 are seen as themselves by the
# filters, noqueue's log and Received field, and Postfix; mail spreads
# over both nodes; a duplicate seen by one is discarded by the other; a
# triplet greylisted on one passes on the other; a PROXY header from an
# address not allowed, a truncated one and garbage are each closed with
# one log line; XFORWARD when that is all the smarthost offers, nothing
# with -X off; one node killed mid-run: HAProxy moves the traffic, and the
# ledger (sent, accepted, stored at Postfix) shows nothing lost.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-store.sh"
. "$(dirname "$0")/lib-nodes.sh"
timeout 10 "$BIN/smtp-proxyd" -P 127.0.0.1 -- true < /dev/null 2>&1 | grep -q 'usage' &&
  skip "smtp-proxyd has no -P (PROXY protocol) yet"

start_postfix example.net
start_redis
clocked smtp-greylist
clocked smtp-dupcheck
T0=1700000000
now $T0

# record.sh FILE: a version 2 filter that writes "IP PORT LOCALIP
# LOCALPORT SENDER" to FILE at each MAIL, the addresses from its connect
# event.
cat > "$T/record.sh" << 'EOS'
#!/bin/sh
read -r hello; echo "filter 2 connect mail"
while read -r event token a b c d rest; do
  case $event in
  connect) conn="$a $b $c $d"; echo "continue $token" ;;
  mail) echo "$conn $a" >> "$1"; echo "continue $token" ;;
  esac
done
EOS
chmod +x "$T/record.sh"

filters() {
  echo "{ $T/record.sh $T/seen.$1 }" \
    "{ -p tempfail $T/bin/smtp-greylist -d 300 -r 3600 -m 86400 $REDIS }" \
    "{ -p accept $T/bin/smtp-dupcheck -w 3600 $REDIS }"
}
start_node 1 "$(filters 1)"
start_node 2 "$(filters 2)"
start_haproxy
# Both servers up: the health checks (LOCAL header, 220, QUIT) pass.
wait_for "[ \$(grep -c 'smtp-proxyd: info: end conn=.*ip=127.0.0.1 ' '$T/NODE1.log') -ge 2 ] &&
  [ \$(grep -c 'smtp-proxyd: info: end conn=.*ip=127.0.0.1 ' '$T/NODE2.log') -ge 2 ]" 10 ||
  { cat "$T/haproxy.log" "$T/NODE1.log" "$T/NODE2.log"; fail "no health checks seen by both nodes"; }
grep -q 'is DOWN' "$T/haproxy.log" && { cat "$T/haproxy.log"; fail "a node is down from the start"; }
ok "HAProxy up; its health checks (PROXY v2 LOCAL, 220, QUIT) reach both nodes, both up"

# The node that handled the transaction of this sender.
node_of() {
  for _n in 1 2; do
    grep -q " $1\$" "$T/seen.$_n" 2> /dev/null && { echo "$_n"; return; }
  done
  echo none
}
mail_from() {   # mail_from SOURCE SENDER ID [swaks options]
  _src=$1 _from=$2 _id=$3; shift 3
  client "$_src" --helo "client${_src##*.}.test" --from "$_from" --to bob@example.net \
    --header "Message-Id: <$_id@test>" --header "Subject: $_id" --body "Body of $_id." "$@"
}

send_n() {      # send_n NAME COUNT: from 127.0.0.2 and .3 in turn, each 250
  _i=0
  while [ $_i -lt "$2" ]; do
    mail_from "127.0.0.$((2 + _i % 2))" "$1$_i@sender.example" "$1$_i"
    [ "$(final_code)" = 250 ] || { cat "$T/swaks.out"; fail "$1 $_i: $(final_code)"; }
    _i=$((_i + 1))
  done
}

# --- A triplet greylisted on one node passes on the other (the clock of
# the filters moves through $T/now).
mail_from 127.0.0.2 grey@sender.example grey1
greylisted "first attempt" 0
first=$(node_of grey@sender.example)
[ "$first" != none ] || fail "greylist: no node saw the first attempt"
: > "$T/seen.$first"
now $((T0 + 300))
mail_from 127.0.0.2 grey@sender.example grey1
[ "$(final_code)" = 250 ] || { cat "$T/swaks.out"; fail "greylist: the retry got $(final_code)"; }
second=$(node_of grey@sender.example)
[ "$second" != none ] && [ "$second" != "$first" ] ||
  fail "greylist: the retry went to node $second, the first attempt to node $first"
grep -q 'smtp-greylist: info: greylisted .*from=grey@sender.example' "$T/NODE$first.log" ||
  fail "greylist: node $first did not log the triplet greylisted"
grep -q 'smtp-greylist: info: passed .*from=grey@sender.example .*age=300' "$T/NODE$second.log" ||
  { cat "$T/NODE$second.log"; fail "greylist: node $second did not pass the triplet"; }
wait_for '[ "$(pf_stored)" = 1 ]' 10 || fail "greylist: $(pf_stored) messages at Postfix, not 1"
ok "a triplet greylisted on node $first (451 4.7.1) passes on node $second after 300 s: one Redis"

# --- Both client addresses, as themselves, everywhere.
mail_from 127.0.0.3 three@sender.example three1
[ "$(final_code)" = 250 ] || { cat "$T/swaks.out"; fail "from 127.0.0.3: $(final_code)"; }
wait_for '[ "$(pf_stored)" = 2 ]' 10 || fail "$(pf_stored) messages at Postfix, not 2"
cat "$T"/seen.* > "$T/seen"
grep -Eq "^127\.0\.0\.2 [0-9]+ 127\.0\.0\.1 $HA_PORT grey@sender\.example\$" "$T/seen" ||
  { cat "$T/seen"; fail "the filter did not see 127.0.0.2 (to HAProxy's port $HA_PORT)"; }
grep -Eq "^127\.0\.0\.3 [0-9]+ 127\.0\.0\.1 $HA_PORT three@sender\.example\$" "$T/seen" ||
  { cat "$T/seen"; fail "the filter did not see 127.0.0.3"; }
ok "filters: connect events from 127.0.0.2 and 127.0.0.3, to HAProxy's address and port"
grep -Eq 'info: transaction conn=[0-9a-f]+-[0-9]+ n=1 ip=127\.0\.0\.2 helo=client2\.test from=<grey@sender\.example>.*result=delivered' \
  "$T/NODE$second.log" || { cat "$T/NODE$second.log"; fail "node $second did not log ip=127.0.0.2"; }
grep -Eq 'info: transaction conn=[0-9a-f]+-[0-9]+ n=1 ip=127\.0\.0\.3 .*from=<three@sender\.example>.*result=delivered' \
  "$T/NODE1.log" "$T/NODE2.log" || fail "no node logged ip=127.0.0.3"
ok "noqueue's log: ip=127.0.0.2 and ip=127.0.0.3"
f2=$(pf_message grey1@test) f3=$(pf_message three1@test)
[ -n "$f2" ] && [ -n "$f3" ] || fail "Postfix did not deliver grey1 and three1"
grep -Eq "^Received: from client2\.test \(\[127\.0\.0\.2\]\)" "$f2" ||
  { cat "$f2"; fail "noqueue's Received field does not name [127.0.0.2]"; }
grep -Eq "^Received: from client3\.test \(\[127\.0\.0\.3\]\)" "$f3" ||
  { cat "$f3"; fail "noqueue's Received field does not name [127.0.0.3]"; }
grep -Eq "^Received: from client2\.test \(unknown \[127\.0\.0\.2\]\)" "$f2" ||
  { cat "$f2"; fail "Postfix's Received field does not name the client 127.0.0.2"; }
grep -Eq "^Received: from client3\.test \(unknown \[127\.0\.0\.3\]\)" "$f3" ||
  { cat "$f3"; fail "Postfix's Received field does not name the client 127.0.0.3"; }
ok "Received fields: noqueue's and Postfix's both name 127.0.0.2 and 127.0.0.3 (and their HELO names)"
grep -Eq 'postfix/smtpd\[[0-9]+\]: [0-9A-F]+: client=unknown\[127\.0\.0\.2\]' "$PF_LOG" &&
  grep -Eq 'postfix/smtpd\[[0-9]+\]: [0-9A-F]+: client=unknown\[127\.0\.0\.3\]' "$PF_LOG" ||
  { cat "$PF_LOG"; fail "Postfix's log does not show the clients"; }
grep -Eq 'postfix/smtpd.*client=.*\[127\.0\.0\.1\]' "$PF_LOG" &&
  { cat "$PF_LOG"; fail "Postfix logged a message from 127.0.0.1"; }
ok "Postfix's log: client=unknown[127.0.0.2], client=unknown[127.0.0.3] (XCLIENT), never 127.0.0.1"

# --- Spread over both nodes.
: > "$T/seen.1"; : > "$T/seen.2"
send_n spread 6
s1=$(wc -l < "$T/seen.1") s2=$(wc -l < "$T/seen.2")
[ "$s1" -ge 2 ] && [ "$s2" -ge 2 ] && [ $((s1 + s2)) = 6 ] ||
  fail "spread: node 1 got $s1 messages, node 2 $s2 (of 6)"
wait_for '[ "$(pf_stored)" = 8 ]' 10 || fail "spread: $(pf_stored) messages at Postfix, not 8"
ok "6 messages spread over the nodes: $s1 and $s2, all delivered"

# --- A duplicate through one node is discarded by the other.
: > "$T/seen.1"; : > "$T/seen.2"
mail_from 127.0.0.2 dup@sender.example dup1
[ "$(final_code)" = 250 ] || fail "dup: first copy $(final_code)"
d1=$(node_of dup@sender.example)
: > "$T/seen.1"; : > "$T/seen.2"
mail_from 127.0.0.3 dup@sender.example dup1
[ "$(final_code)" = 250 ] || fail "dup: second copy $(final_code)"
d2=$(node_of dup@sender.example)
[ "$d1" != "$d2" ] || fail "dup: both copies went to node $d1"
grep -Eq 'smtp-dupcheck: info: recorded .*msgid=<dup1@test>' "$T/NODE$d1.log" ||
  fail "dup: node $d1 did not record the first copy"
grep -Eq 'smtp-dupcheck: info: duplicate .*msgid=<dup1@test> .*source=store .*action=discard' "$T/NODE$d2.log" ||
  { cat "$T/NODE$d2.log"; fail "dup: node $d2 did not find the second copy a duplicate"; }
grep -Eq 'info: transaction .*from=<dup@sender\.example>.*result=discarded' "$T/NODE$d2.log" ||
  fail "dup: node $d2 did not discard it"
sleep 0.5
[ "$(pf_ids | grep -c '^dup1@test$')" = 1 ] || fail "dup: Postfix has $(pf_ids | grep -c '^dup1@test$') copies"
ok "a message through node $d1, then again through node $d2: recorded, then discarded as a duplicate (one copy at Postfix)"

# --- Bad PROXY headers, straight to node 2: each closed, no greeting, one
# log line, no filter started, nothing relayed.
v2_tcp4=0d0a0d0a000d0a515549540a2111000c7f0000097f000001c35000"19"
# The node's log but the lines of HAProxy's health checks (which QUIT).
log2() { grep -Ev 'info: end conn=[0-9a-f]+-[0-9]+ ip=127\.0\.0\.1 .*transactions=0 .*reason=quit' "$T/NODE2.log"; }
bad() {   # bad WHAT SOURCE HEX PATTERN
  _before=$(log2 | wc -l)
  _got=$(raw_session "$NODE2_PORT" "$2" "$3")
  [ -z "$_got" ] || fail "$1: the node answered $_got"
  wait_for "[ \$(log2 | wc -l) -gt $_before ]" 5 || fail "$1: nothing logged"
  sleep 0.2
  _new=$(log2 | tail -n +$((_before + 1)))
  [ "$(echo "$_new" | wc -l)" = 1 ] || { echo "$_new"; fail "$1: not one log line"; }
  echo "$_new" | grep -Eq "$4" || { echo "$_new"; fail "$1: the log line does not say $4"; }
}
stored_before=$(pf_stored)
: > "$T/seen.1"; : > "$T/seen.2"
bad "a header from an address not allowed" 127.0.0.2 "${v2_tcp4}45484c4f20780d0a" \
  'info: end conn=[0-9a-f]+-[0-9]+ ip=127\.0\.0\.2 transactions=0 reason="not a balancer'
bad "a truncated header" 127.0.0.1 0d0a0d0a000d0a5155 \
  'info: end conn=[0-9a-f]+-[0-9]+ ip=127\.0\.0\.1 transactions=0 reason="PROXY header: end of file within the PROXY header"'
bad "garbage instead of a header" 127.0.0.1 "$(printf 'EHLO x\r\n' | od -An -tx1 | tr -d ' \n')" \
  'info: end conn=[0-9a-f]+-[0-9]+ ip=127\.0\.0\.1 transactions=0 reason="PROXY header: not a PROXY header"'
[ ! -s "$T/seen.2" ] || fail "bad headers: a filter saw a transaction"
[ "$(pf_stored)" = "$stored_before" ] || fail "bad headers: Postfix got mail"
ok "a PROXY header from 127.0.0.2 (not a balancer), a truncated one, garbage: each closed without a greeting, one log line"

# --- smtp-forward by hand, as smtp-proxyd runs it, to Postfix: values
# Postfix would refuse XCLIENT for are not sent; XFORWARD when that is all
# the smarthost offers (Postfix's second smtpd); nothing with -X off.
printf 'Message-Id: <xf1@test>\r\n\r\nxforward\r\n' > "$T/xf.eml"
fwd() {   # fwd PORT [options]; the client from $XHOST, $XHELO, $XPROTO
  _port=$1; shift
  printf 'MAIL FROM:<xf@sender.example>\nRCPT TO:<bob@example.net>\nDATA\nQUIT\n' |
    TCPREMOTEIP=127.0.0.9 TCPREMOTEPORT=4009 TCPREMOTEHOST=${XHOST:-} NOQUEUE_HELO=${XHELO:-client9.test} \
    NOQUEUE_PROTO=${XPROTO:-ESMTP} \
      "$BIN/smtp-forward" -h fwd.test -T off "$@" 127.0.0.1 "$_port" 3< "$T/xf.eml" > "$T/fwd.out" 2>&1
  grep -q '^250 2.0.0 Ok: queued as' "$T/fwd.out" || { cat "$T/fwd.out"; fail "smtp-forward $*: not queued"; }
  wait_for '[ -n "$(pf_message xf1@test)" ]' 10 || fail "smtp-forward $*: not delivered"
  mv "$(pf_message xf1@test)" "$T/xf.delivered"
}
XHOST='bad_name!' XHELO='odd!helo' XPROTO=FOO fwd "$PF_PORT"
grep -q 'warning' "$T/fwd.out" && { cat "$T/fwd.out"; fail "odd values: smtp-forward warned"; }
grep -Eq '^Received: from fwd\.test \(unknown \[127\.0\.0\.9\]\)' "$T/xf.delivered" ||
  { cat "$T/xf.delivered"; fail "odd values: Postfix's Received field does not name 127.0.0.9"; }
ok "a host name, HELO name and protocol Postfix would refuse XCLIENT for: [UNAVAILABLE] or left out, XCLIENT taken"
fwd "$PF_XF_PORT"
grep -Eq 'postfix/smtpd\[[0-9]+\]: [0-9A-F]+: client=unknown\[127\.0\.0\.1\], orig_client=unknown\[127\.0\.0\.9\]' "$PF_LOG" ||
  { tail -n 20 "$PF_LOG"; fail "xforward: Postfix did not log orig_client=unknown[127.0.0.9]"; }
grep -Eq 'disconnect from [^ ]*\[127\.0\.0\.1\] .*xforward=1 ' "$PF_LOG" ||
  { tail -n 20 "$PF_LOG"; fail "xforward: Postfix did not log one XFORWARD"; }
n_orig=$(grep -c 'orig_client=' "$PF_LOG")
fwd "$PF_XF_PORT" -X off
grep -Eq '^Received: from fwd\.test \([a-z]+ \[127\.0\.0\.1\]\)' "$T/xf.delivered" ||
  { cat "$T/xf.delivered"; fail "-X off: Postfix's Received field names someone else"; }
[ "$(grep -c 'orig_client=' "$PF_LOG")" = "$n_orig" ] || fail "-X off: XFORWARD sent all the same"
ok "XFORWARD to a smarthost that offers only that (Postfix logs orig_client=unknown[127.0.0.9]); -X off: nothing said"

# --- One node killed mid-run.  Two clients hold a message each half-way
# through its data (one on each node, round robin), two more send 10
# messages each in a row; node 1's tcpserver and its sessions are killed
# when the held messages are half-way and the others under way.
: > "$T/ledger"
rm -f "$T/go"
: > "$T/seen.1"; : > "$T/seen.2"
held_client 127.0.0.2 held-a & ha=$!
wait_for "[ -e '$T/held.held-a.mid' ]" 10 || fail "kill: the first held client did not get to its data"
held_client 127.0.0.3 held-b & hb=$!
wait_for "[ -e '$T/held.held-b.mid' ]" 10 || fail "kill: the second held client did not get to its data"
held_on_1=$(node_of held-a@sender.example)
[ "$held_on_1" != "$(node_of held-b@sender.example)" ] || fail "kill: both held clients on node $held_on_1"
if [ "$held_on_1" = 1 ]; then held_on_1=held-a held_on_2=held-b; else held_on_1=held-b held_on_2=held-a; fi
batch() {   # batch SOURCE
  _k=0
  while [ $_k -lt 10 ]; do
    _id="kill-${1##*.}-$_k"
    swaks --server 127.0.0.1 --port "$HA_PORT" --local-interface "$1" --timeout 20 \
      --helo "client${1##*.}.test" --from "$_id@sender.example" --to bob@example.net \
      --header "Message-Id: <$_id@test>" --body "Body of $_id." --suppress-data \
      > "$T/batch.$_id" 2>&1
    _c=$(grep -a -A1 -E '^ [-~]> ([0-9]+ lines sent|\.)$' "$T/batch.$_id" |
      sed -n 's/^<[-*~]* *\([0-9][0-9][0-9]\).*/\1/p' | tail -n 1)
    echo "$_id ${_c:-dropped}" >> "$T/ledger"
    _k=$((_k + 1))
  done
}
batch 127.0.0.2 & b2=$!
batch 127.0.0.3 & b3=$!
wait_for "[ \$(wc -l < '$T/ledger') -ge 6 ]" 30 || fail "kill: the clients made no progress"
sessions=$(ps -o pid= --ppid "$NODE1_PID" | tr -d ' ' | tr '\n' ' ')
# shellcheck disable=SC2086  # the sessions' pids, one word each
kill -KILL "$NODE1_PID" $sessions 2> /dev/null
PIDS=$(echo " $PIDS " | sed "s/ $NODE1_PID / /")
touch "$T/go"
wait "$b2" "$b3" "$ha" "$hb"
cat "$T/held.held-a" "$T/held.held-b" >> "$T/ledger"
grep -q "^$held_on_1 dropped\$" "$T/ledger" ||
  { cat "$T/ledger"; fail "kill: the client held on node 1 was not dropped"; }
grep -q "^$held_on_2 250\$" "$T/ledger" ||
  { cat "$T/ledger"; fail "kill: the client held on node 2 did not get 250"; }
wait_for "grep -q 'node1 is DOWN' '$T/haproxy.log'" 5 || { cat "$T/haproxy.log"; fail "HAProxy did not mark node 1 down"; }
sent=$(wc -l < "$T/ledger")
accepted=$(grep -c ' 250$' "$T/ledger")
refused=$(grep -v ' 250$' "$T/ledger" | grep -Evc ' (4[0-9][0-9]|dropped)$')
[ "$sent" = 22 ] || fail "kill: $sent messages sent, not 22"
[ "$refused" = 0 ] || { grep -v ' 250$' "$T/ledger"; fail "kill: $refused messages refused for good"; }
sleep 1
pf_ids > "$T/pf.ids"
lost=0
for id in $(grep ' 250$' "$T/ledger" | cut -d' ' -f1); do
  grep -qx "$id@test" "$T/pf.ids" || { echo "lost: $id"; lost=$((lost + 1)); }
done
[ "$lost" = 0 ] || fail "kill: $lost accepted messages not at Postfix"
stored_kill=$(grep -Ec '^(kill|held)-' "$T/pf.ids")
[ "$stored_kill" -ge "$accepted" ] || fail "kill: $stored_kill stored, $accepted accepted"
# After the kill, every new client is served by node 2.
tail_before=$(grep -c 'result=delivered' "$T/NODE2.log")
send_n after 4
[ $(($(grep -c 'result=delivered' "$T/NODE2.log") - tail_before)) = 4 ] ||
  fail "after the kill: node 2 did not deliver all 4"
ok "node 1 killed mid-run: its client in the middle of its data dropped, node 2's delivered;" \
  "HAProxy marked node 1 down and sent the rest to node 2; ledger: $sent sent, $accepted accepted, $((sent - accepted)) tempfailed or dropped, $stored_kill stored, none lost"
