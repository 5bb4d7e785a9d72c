# smtp-dupcheck end to end, through smtp-proxyd to the test smarthost: a
# second copy is discarded (250 to the client, RSET to the smarthost,
# logged), a copy the smarthost refused is not recorded, other recipients
# or a copy past the window are delivered, the dry run only logs, the
# permanent cdb; 50 parallel connections on one store; writers killed
# with SIGKILL at random moments leave a store that works.
. "$(dirname "$0")/lib.sh"
command -v cdb > /dev/null || skip "no cdb (tinycdb)"
DUP=$BIN/smtp-dupcheck
STORE=$T/store

# msg ID [swaks options]: one message with Message-ID <ID@test>, from
# alice to bob unless the options say otherwise.  (swaks's own Subject
# has the time in it, and the Subject is part of the fingerprint.)
msg() {
  _id=$1; shift
  send --from alice@example.org --to bob@example.net --header "Message-Id: <$_id@test>" \
    --header "Subject: Message $_id" --body "The body of $_id." "$@"
}
delivered() {   # delivered WHAT COUNT: the client got 250, COUNT stored
  [ "$(final_code)" = 250 ] || { cat "$T/swaks.out"; fail "$1: the client got $(final_code)"; }
  [ "$(stored)" = "$2" ] ||
    { tail -n 6 "$T/PROXY.log"; fail "$1: $(stored) messages stored, not $2"; }
}

setup "" "{ -p accept $DUP -w 3600 $STORE }"
msg one
delivered "first copy" 1
logged "smtp-dupcheck: info: recorded conn=[0-9a-f]+-[0-9]+ fp=[0-9a-f]{64} msgid=<one@test>"
msg one
delivered "second copy" 1
grep -q '^RSET' "$T"/host/log.* || fail "discard: the smarthost got no RSET"
logged 'result=discarded'
logged 'smtp-dupcheck: info: duplicate conn=[0-9a-f]+-[0-9]+ fp=[0-9a-f]{64} msgid=<one@test> from=alice@example.org rcpts=1 source=store age=[0-9]+ action=discard'
ok "the same message twice: the second gets 250, is not relayed (RSET), logged discarded"

msg one --to carol@example.net
delivered "another recipient" 2
msg one --to bob@example.net,carol@example.net
delivered "a recipient more" 3
msg one --from mallory@example.org
delivered "another sender" 4
msg one --body "Another body."
delivered "another body" 5
msg two
delivered "another Message-ID" 6
msg one --to carol@example.net,bob@example.net
delivered "the same two recipients in the other order" 6
ok "other recipients, sender, body or Message-ID: delivered; the order of RCPTs does not matter"

# What a reader shows, or reads the body by, is part of the fingerprint:
# who knows the Message-ID and the body cannot send them first under
# other such fields and have the real message discarded.
msg one --header "Content-Type: text/html; charset=us-ascii"
delivered "another Content-Type" 7
msg one --header "Content-Transfer-Encoding: base64"
delivered "another Content-Transfer-Encoding" 8
msg one --header "From: Bank <alerts@bank.example>"
delivered "another From field" 9
msg one --header "Subject: Urgent"
delivered "another Subject" 10
msg one --header "Content-Type: text/html; charset=us-ascii"
delivered "a copy of the one with another Content-Type" 10
ok "the same envelope, Message-ID and body under another Content-Type, Content-Transfer-Encoding, From or Subject: delivered; a copy again: discarded"

# The recipients that get the message are the fingerprint's, whatever
# the others' fate: an earlier filter that accepts at RCPT (and so hides
# the recipient from the filters after it) and a recipient the smarthost
# refuses no longer make a legitimate copy look like one already
# delivered.  Version 1 saw only bob here, one recipient of one accepted,
# and discarded carol's copy as a duplicate of bob's.
setup "" "{ -p accept $DUP -w 3600 $STORE }"
msg hidden
delivered "to bob" 1
cat > "$T/accept-carol" <<'EOT'
#!/bin/sh
read -r hello; echo "filter 1 rcpt"
while read -r ev tok rcpt; do
  case $rcpt in carol@*) echo "accept $tok" ;; *) echo "continue $tok" ;; esac
done
EOT
chmod +x "$T/accept-carol"
setup "-R bob@example.net=550" "{ $T/accept-carol } { -p accept $DUP -w 3600 $STORE }"
msg hidden --to bob@example.net,carol@example.net
delivered "to carol, bob refused, carol accepted by an earlier filter" 1
grep -q '^RCPT TO:<carol@example.net>$' "$T"/host/env.* || fail "not delivered to carol"
grep -q 'result=discarded' "$T/PROXY.log" && fail "carol's copy was discarded"
ok "an earlier filter's accept and a refused recipient: the copy to carol is delivered, not taken for bob's"

# Only what the smarthost accepted is recorded.
setup "-E 451" "{ -p accept $DUP -w 3600 $STORE }"
msg refused
[ "$(final_code)" = 451 ] || fail "refused: the client got $(final_code)"
grep -q 'recorded.*refused@test' "$T/PROXY.log" && fail "a refused message was recorded"
setup "" "{ -p accept $DUP -w 3600 $STORE }"
msg refused
delivered "sent again after a refusal" 1
ok "a message the smarthost refused (451) is not recorded: sent again, it is delivered"

# The window.
setup "" "{ -p accept $DUP -w 2 $STORE }"
msg window
delivered "window, first" 1
msg window
delivered "window, within" 1
sleep 3
msg window
delivered "window, past it" 2
ok "the window: a copy within 2 s is discarded, one 3 s later delivered"

# The dry run logs and never discards.
setup "" "{ -p accept $DUP -n -w 3600 $STORE }"
msg one
delivered "dry run" 1
logged 'duplicate .*msgid=<one@test> .*action=none'
grep -q 'result=discarded' "$T/PROXY.log" && fail "dry run discarded"
ok "-n: the duplicate is logged (action=none) and delivered"

# Permanent entries: Message-IDs in a cdb.
printf '<looping@test> a mail loop, 2026-11-24\n' | cdb -c -m "$T/permanent.cdb" ||
  fail "cdb -c -m"
setup "" "{ -p accept $DUP -c $T/permanent.cdb -w 3600 $STORE }"
msg looping
delivered "permanent entry" 0
logged 'duplicate .*msgid=<looping@test> .*source=permanent action=discard'
msg not-looping
delivered "not a permanent entry" 1
ok "-c: a Message-ID in the permanent cdb is discarded the first time already"

# A message without Message-ID is never a duplicate.
setup "" "{ -p accept $DUP -w 3600 $STORE }"
printf 'Subject: disk full\r\n\r\nDisk full on host1.\r\n' > "$T/alert"
for i in 1 2; do
  swaks --server 127.0.0.1 --port "$PROXY_PORT" --helo client.test --from nagios@example.org \
    --to bob@example.net --data "$T/alert" > "$T/swaks.out" 2>&1
done
delivered "no Message-ID" 2
logged 'unchecked conn=[0-9a-f]+-[0-9]+ reason="no Message-ID"'
ok "no Message-ID: never checked, both copies delivered"

# The store cannot be used: mail goes through, and the log says why.
setup "" "{ -p accept $DUP -t 200 $T/no/such/dir/store }"
msg nostore
delivered "no store" 1
logged 'smtp-dupcheck: warning: conn=[0-9a-f]+-[0-9]+: store .*/no/such/dir/store: unable to open: No such file'
ok "store unusable: the message is delivered, a warning logged"

# 50 parallel connections on one new store.
STORE=$T/parallel
setup "" "{ -p accept $DUP -w 3600 -s 4096 $STORE }"
parallel() {   # parallel ROUND: 50 distinct messages at once
  pids=
  i=0
  while [ $i -lt 50 ]; do
    swaks --server 127.0.0.1 --port "$PROXY_PORT" --helo client.test --timeout 60 \
      --from "p$i@example.org" --to bob@example.net --header "Message-Id: <par$i@test>" \
      --header "Subject: Parallel $i" --body "Parallel message $i." > "$T/par.$1.$i" 2>&1 &
    pids="$pids $!"
    i=$((i + 1))
  done
  for p in $pids; do wait "$p"; done
  for f in "$T"/par.$1.*; do
    grep -aq '^<-  250 2.0.0 Ok' "$f" || { cat "$f"; fail "parallel $1: not 250 after data"; }
  done
}
parallel 1
[ "$(stored)" = 50 ] || fail "parallel: $(stored) messages stored, not 50"
smtp-dupstore "$STORE" > "$T/summary" || fail "smtp-dupstore: exit $?"
grep -q ' slots=4096 used=50 live=50 .*damaged=0 ' "$T/summary" || { cat "$T/summary"; fail "parallel: store"; }
parallel 2
[ "$(stored)" = 50 ] || fail "parallel again: $(stored) messages stored, not 50"
wait_for '[ "$(grep -c result=discarded "$T/PROXY.log")" = 50 ]' 5 ||
  fail "parallel again: $(grep -c result=discarded "$T/PROXY.log") discarded, not 50"
ok "50 parallel connections: 50 delivered and recorded (store: used=50, damaged=0); again: 50 discarded"

# SIGKILL at random moments: writers that each record 3000 fingerprints
# (about 100 ms of work) are killed after 0 to 80 ms, three at a time,
# from the store's creation on, while the proxy uses the same store.
# Under the sanitizers their leak check is off: a writer killed while
# LeakSanitizer stops its threads at exit leaves a report of that, not of
# a leak.
STORE=$T/killed
printf 'Message-ID: <flood@test>\r\nSubject: flood\r\n\r\nflood\r\n' > "$T/flood.msg"
killer() {
  for d in $(awk -v s="$1" 'BEGIN { srand(s); for (i = 0; i < 60; i++) printf "%.3f ", rand() * 0.08 }'); do
    perl -e 'print "filter 1\n";
      for $i (1..3000) { $t = 5 * $i; printf "mail %d flood\@test\nrcpt %d r$i-$ARGV[0]\@test\n" .
        "data %d 1\neom %d 40 -\nreport %d delivered 250\n", $t, $t + 1, $t + 2, $t + 3, $t + 4 }' \
      "$1-$d" | ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" "$DUP" -w 3600 -s "$SLOTS" "$STORE" 3< "$T/flood.msg" > /dev/null 2>> "$T/flood.err" &
    p=$!
    sleep "$d"
    kill -9 "$p" 2>/dev/null
    wait "$p"
    echo $? >> "$T/flood.status"
  done
}
# The store is sized for the flood: the writers record some 180,000
# fingerprints, and in a store that fills up, the oldest record of a full
# bucket is pushed out (evicted=1), a copy sent after it then delivered,
# as smtp-dupcheck(8) says.  With 524,288 slots no bucket of 8 fills.
# And the proxy's smtp-dupcheck waits for a lock up to 20 s (-t), not 1 s:
# the writers take locks thousands of times a second, far beyond any real
# load, and a lock not had in time also lets a copy through by design.
SLOTS=524288
setup "" "{ -p accept -t 30 $DUP -t 20000 -w 3600 -s $SLOTS $STORE }"
# (the shell's "Killed" notices to /dev/null)
killer $$ 2> /dev/null & k1=$!
killer $(($$ + 1)) 2> /dev/null & k2=$!
killer $(($$ + 2)) 2> /dev/null & k3=$!
n=0
while kill -0 $k1 2>/dev/null || kill -0 $k2 2>/dev/null || kill -0 $k3 2>/dev/null; do
  n=$((n + 1))
  msg "during$n"
  delivered "during the kills, message $n" $((2 * n - 1))
  msg "during$n"
  delivered "during the kills, copy of message $n" $((2 * n - 1))
  msg "during$n" --to carol@example.net
  delivered "during the kills, message $n to another" $((2 * n))
done
wait $k1 $k2 $k3
killed=$(grep -c '^137$' "$T/flood.status")
[ "$killed" -ge 20 ] || fail "only $killed of 180 writers were killed while working"
smtp-dupstore "$STORE" > "$T/summary" || fail "smtp-dupstore after the kills: exit $?"
grep -q " slots=$SLOTS .* damaged=0 " "$T/summary" || { cat "$T/summary"; fail "after the kills: store"; }
used=$(sed 's/.* used=\([0-9]*\) .*/\1/' "$T/summary")
[ "$(smtp-dupstore -l "$STORE" | wc -l)" = "$used" ] || fail "after the kills: the list is not $used lines"
[ "$(wc -c < "$STORE")" = $((4096 + SLOTS * 64)) ] || fail "after the kills: the file's size changed"
msg after
delivered "after the kills" $((2 * n + 1))
msg after
delivered "after the kills, a copy" $((2 * n + 1))
ok "$killed of 180 writers killed at random moments ($used records, $n rounds through the proxy meanwhile): store readable, damaged=0, size unchanged, duplicates still found"

# The admin tool: expire everything, delete one, refuse a damaged file.
fp=$(smtp-dupstore -l "$STORE" | head -n 1 | cut -d' ' -f1)
[ "$(smtp-dupstore -d "$fp" "$STORE")" = deleted=1 ] || fail "smtp-dupstore -d"
[ "$(smtp-dupstore -d "$fp" "$STORE")" = deleted=0 ] || fail "smtp-dupstore -d twice"
used=$(smtp-dupstore "$STORE" | sed 's/.* used=\([0-9]*\) .*/\1/')
smtp-dupstore -x 0 "$STORE" > "$T/x" || fail "smtp-dupstore -x 0: exit $?"
grep -q "^expired=$used damaged=0\$" "$T/x" || { cat "$T/x"; fail "smtp-dupstore -x 0: not $used expired"; }
smtp-dupstore "$STORE" | grep -q ' used=0 ' || fail "not empty after -x 0"
msg after
delivered "after expiry" $((2 * n + 2))
printf 'not a store' > "$T/junk"
smtp-dupstore "$T/junk" 2> "$T/err" && fail "smtp-dupstore accepted junk"
[ $? = 100 ] && grep -q "^smtp-dupstore: fatal: store $T/junk: not a noqueue-dupstore file\$" "$T/err" ||
  { cat "$T/err"; fail "smtp-dupstore on junk"; }
ok "smtp-dupstore: -d deletes one, -x 0 expires all (the copy is delivered again), junk refused (100)"

# Usage errors: 100 and one line.
for args in "" "-w 0 $STORE" "-s 3 $STORE" "-t x $STORE" "-Z $STORE" "a b"; do
  $DUP $args < /dev/null 2> "$T/err"
  rc=$?
  [ $rc = 100 ] && [ "$(wc -l < "$T/err")" = 1 ] && grep -q '^smtp-dupcheck: fatal: ' "$T/err" ||
    { cat "$T/err"; fail "smtp-dupcheck $args: exit $rc"; }
done
ok "usage errors: exit 100 with one line"

# A write error after the smarthost's 2xx (the client gone before its
# final reply) still sends the report: the delivery is recorded, and the
# client's retry is discarded, not delivered twice.
setup "" "{ -p accept $DUP -w 3600 $STORE }"
gone_msg='Message-ID: <gone@test>\r\nSubject: gone\r\n\r\nbody\r\n.\r\n'
gone_env='EHLO client.test\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n'
{ printf "$gone_env"; sleep 1; printf "$gone_msg"; sleep 2; } |
  TCPREMOTEIP=192.0.2.1 "$BIN/smtp-proxyd" -h proxy.test { -p accept "$DUP" -w 3600 "$STORE" } -- \
  "$BIN/smtp-forward" 127.0.0.1 "$HOST_PORT" 2> "$T/err" | perl -ne 'exit if /^354/'
wait_for "grep -q 'reason=\"write error\"' '$T/err'" 5 || { cat "$T/err"; fail "no write error after the 2xx"; }
[ "$(stored)" = 1 ] || fail "the message was not delivered before the write error"
grep -q 'recorded conn=[0-9a-f-]* fp=[0-9a-f]* msgid=<gone@test>' "$T/err" || { cat "$T/err"; fail "not recorded after the write error"; }
grep -q 'result=delivered' "$T/err" || fail "the transaction log line is missing"
printf "${gone_env}${gone_msg}QUIT\r\n" |
  TCPREMOTEIP=192.0.2.1 "$BIN/smtp-proxyd" -h proxy.test { -p accept "$DUP" -w 3600 "$STORE" } -- \
  "$BIN/smtp-forward" 127.0.0.1 "$HOST_PORT" > "$T/out" 2> "$T/err"
grep -q '^250 2.0.0 Ok' "$T/out" || { cat "$T/out"; fail "the retry: no 250"; }
grep -q 'result=discarded' "$T/err" || { cat "$T/err"; fail "the retry was not discarded"; }
[ "$(stored)" = 1 ] || fail "the retry was delivered again"
ok "a write error after the smarthost's 2xx: the delivery is still recorded, the retry discarded"

# --- check mode (NOQUEUE_CHECK=1) and the page's by-hand commands ----------
. "$TOP/t/lib-checkmode.sh"
check_fails 100 3 "bad configuration" "$DUP" -w 0 -t x -c "$T/none.cdb" "$T/ok-store"
check_said "^smtp-dupcheck: fatal: bad window: 0\$"
check_said "^smtp-dupcheck: fatal: bad lock wait: x\$"
check_said "^smtp-dupcheck: fatal: unable to open $T/none.cdb: No such file or directory\$"
mkdir "$T/ro" && chmod 555 "$T/ro"
if [ "$(id -u)" != 0 ]; then
  check_fails 100 1 "a store it cannot make" "$DUP" "$T/ro/store"
  check_said "^smtp-dupcheck: fatal: store $T/ro/store: "
fi
down=$(free_port)
check_fails 111 1 "Redis down" "$DUP" "redis://127.0.0.1:$down"
check_said "^smtp-dupcheck: fatal: store redis://127.0.0.1:$down: .*Connection refused"
check_fails 100 2 "Redis down and a bad option" "$DUP" -w 0 "redis://127.0.0.1:$down"
check_passes "good configuration" "$DUP" -w 3600 "$T/ok-store"
[ -s "$T/ok-store" ] || fail "check mode did not make the store"
mkdir "$T/page"
man_examples_run "$TOP/man/smtp-dupcheck.8" "$T/page"
ok "check mode: every problem at once (options, the permanent table), exit 100; Redis down: 111; a good configuration: the handshake, exit 0; smtp-dupcheck(8): its $MAN_EXAMPLES by-hand commands run as written"
