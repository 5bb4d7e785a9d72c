#!/bin/sh
# Filter protocol version 2 (smtp-filter(7)): the whole transaction at
# eom, facts, and every message change, end to end through the proxy and
# the forwarder into the test smarthost.
. "$(dirname "$0")/lib.sh"
F=$TOP/t/filters

serve_host -R refused@example.net=550
msg() {
  printf 'Received: from a.example by b.example; Mon, 1 Dec 2026 10:00:00 +0000\r\n'
  printf 'Received: from c.example by d.example; Mon, 1 Dec 2026 09:00:00 +0000\r\n'
  printf 'From: alice@example.org\r\nTo: bob@example.net\r\nSubject: original\r\n'
  printf 'Message-ID: <1@example.org>\r\n\r\nbody line\r\n'
}
msg > "$T/msg"

# run NAME FILTERS...: a fresh proxy (no Received field of its own, so
# that the stored message is exactly what the filters made) and one
# message from alice to bob and dave.
run() {
  _name=$1; shift
  stop PROXY; : > "$T/PROXY.log"; rm -f "$T"/host/*
  serve_proxy -R -Q quarantine@example.net "$@" --
  send --from alice@example.org --to bob@example.net,dave@example.net --data "$T/msg"
}
env_of() { cat "$T"/host/env.* 2>/dev/null; }
msg_of() { cat "$T"/host/msg.* 2>/dev/null | tr -d '\r'; }
delivered() {
  [ "$(stored)" = 1 ] || { cat "$T/swaks.out" "$T/PROXY.log"; fail "$1: stored $(stored) messages, not 1"; }
}

run top { "$F/v2" eom 'insert-header 0 X-Top +20at+20the+20top' }
delivered "insert at the top"
[ "$(msg_of | head -n 1)" = "X-Top: at the top" ] || { msg_of; fail "not inserted at the top"; }
ok "insert-header 0: the first field of the stored message"

run third { "$F/v2" eom 'insert-header 3 X-Third +20third' }
delivered "insert after the third"
[ "$(msg_of | sed -n 3,4p | tr '\n' '|')" = "From: alice@example.org|X-Third: third|" ] ||
  { msg_of; fail "not inserted after the third field"; }
ok "insert-header 3: after the third field"

run delete { "$F/v2" eom 'change-header 2 Received -' }
delivered "delete"
msg_of | grep -q 'c.example' && fail "the second Received field is still there"
msg_of | grep -q 'a.example' || fail "the first Received field went too"
ok "change-header 2 Received -: the second Received field deleted, the first kept"

run subject { "$F/v2" eom 'change-header 1 subject +20changed' }
delivered "subject"
[ "$(msg_of | sed -n 5p)" = "subject: changed" ] || { msg_of; fail "Subject not changed in place"; }
[ "$(msg_of | grep -ci '^Subject')" = 1 ] || fail "two Subject fields"
ok "change-header 1 subject: Subject changed in place (the name matched without case, written as given)"

printf 'From: filter@example.org\r\nSubject: new\r\n\r\nan entirely new body\r\n..dot\r\n' > "$T/new"
run replace { "$F/v2" eom "<$T/new" replace-message }
delivered "replace"
cmp -s "$T/new" "$T"/host/msg.* || { od -c "$T"/host/msg.* | head; fail "not exactly the new message"; }
ok "replace-message: the smarthost stores exactly the new message (dot line included)"

printf 'Subject: bare\n\nLF only\n' > "$T/bad"
run badreplace { -p tempfail "$F/v2" eom "<$T/bad" replace-message }
[ "$(final_code)" = 451 ] || { cat "$T/swaks.out"; fail "a replacement with bare LFs: $(final_code), not 451"; }
[ "$(stored)" = 0 ] || fail "a bad replacement was stored"
logged 'failed at eom: replacement message: bare CR or LF'
ok "a replacement with bare LFs: the filter has failed (451 under tempfail), nothing stored"

# A change that cannot be made leaves the message as it was: a
# replacement whose header is over 256 KB, with a header change, from a
# filter whose policy is accept: the original is delivered, untouched.
perl -e 'printf "X-Pad-%05d: padding padding padding padding padding padding\r\n", $_ for 1 .. 5000;
  print "Subject: replaced\r\n\r\nnew body\r\n"' > "$T/hugehdr"
run hugehdr { -p accept "$F/v2" eom "<$T/hugehdr" replace-message 'change-header 1 Subject +20CHANGED' }
delivered "a change too large, policy accept"
[ "$(msg_of | grep -c '^X-Pad')" = 0 ] && msg_of | grep -q '^Subject: original$' ||
  { msg_of | head -n 5; fail "not the original message"; }
logged 'failed at eom: header changes: the header is over 256 KB; policy accept'
: > "$T/empty"
run emptyreplace { -p accept "$F/v2" eom "<$T/empty" replace-message }
delivered "an empty replacement, policy accept"
msg_of | grep -q '^Subject: original$' || fail "an empty replacement was delivered"
logged 'failed at eom: replacement message: empty'
ok "a replacement over 256 KB of header, or empty: the filter failed, the original delivered untouched (policy accept)"

run add { "$F/v2" eom 'add-recipient carol@example.net -' }
delivered "add"
[ "$(env_of | grep -c '^RCPT TO:')" = 3 ] || { env_of; fail "not three RCPTs"; }
env_of | grep -q '^RCPT TO:<carol@example.net>$' || fail "carol not added"
ok "add-recipient: the smarthost gets three RCPTs"

run del { "$F/v2" eom 'delete-recipient bob@example.net' }
delivered "delete recipient"
[ "$(env_of | grep '^RCPT' | tr '\n' ' ')" = "RCPT TO:<dave@example.net> " ] ||
  { env_of; fail "bob not deleted"; }
grep -q '^RSET' "$T"/host/log.* || fail "no RSET before the replay"
ok "delete-recipient: RSET, and the envelope again without bob"

run sender { "$F/v2" eom 'change-sender bounce@example.org -' }
delivered "sender"
[ "$(env_of | head -n 1)" = "MAIL FROM:<bounce@example.org>" ] || { env_of; fail "sender not changed"; }
[ "$(env_of | grep -c '^RCPT')" = 2 ] || fail "recipients lost in the replay"
ok "change-sender: MAIL FROM the new sender, both recipients replayed"

run quarantine { "$F/v2" eom 'quarantine looks+20bad' }
delivered "quarantine"
[ "$(env_of | grep '^RCPT' | tr '\n' ' ')" = "RCPT TO:<quarantine@example.net> " ] ||
  { env_of; fail "not to the quarantine mailbox alone"; }
msg_of | grep -q '^X-Noqueue-Quarantine: looks bad$' || { msg_of; fail "no reason field"; }
msg_of | sed -n '/^X-Noqueue-Recipients:/,/^[^ \t]/p' | grep -q 'bob@example.net' || fail "bob not listed"
msg_of | sed -n '/^X-Noqueue-Recipients:/,/^[^ \t]/p' | grep -q 'dave@example.net' || fail "dave not listed"
logged 'result=quarantined'
ok "quarantine: the quarantine mailbox gets the message, with the reason and both recipients"

run refusal { "$F/v2" eom 'add-recipient refused@example.net -' }
[ "$(final_code)" = 451 ] || { cat "$T/swaks.out"; fail "refusal in the replay: $(final_code), not 451"; }
[ "$(stored)" = 0 ] || fail "stored although the changed envelope was refused"
logged 'refused the changed envelope'
ok "a refusal of the changed envelope: 451, nothing delivered"

run alldeleted { "$F/v2" eom 'delete-recipient bob@example.net' 'delete-recipient dave@example.net' }
[ "$(final_code)" = 250 ] || fail "every recipient deleted: $(final_code)"
[ "$(stored)" = 0 ] || fail "stored without recipients"
logged 'result=discarded'
ok "every recipient deleted: a discard (250, nothing relayed, logged)"

# A later filter sees the changes of an earlier one: the new field in
# its message, the new recipient in its context.
RECORD=$T/seen; export RECORD
run chain { "$F/v2" eom 'insert-header 0 X-First +20yes' 'add-recipient carol@example.net -' } \
  { "$F/v2" eom ">$T/second.msg" }
unset RECORD
delivered "chain"
head -n 1 "$T/second.msg" | grep -q '^X-First: yes' || fail "the second filter did not see the new field"
grep -q '^recipient carol@example.net 0 -$' "$T/seen" || { cat "$T/seen"; fail "the second filter did not see carol"; }
second_eom=$(grep '^eom' "$T/seen" | tail -n 1)
[ "$second_eom" = "eom $(wc -c < "$T/second.msg") - 3" ] ||
  { echo "$second_eom; $(wc -c < "$T/second.msg") octets"; fail "the second filter's eom line has the old size or count"; }
ok "a later filter sees an earlier one's field on fd 3, its recipient in the context, the new size and count in its eom line"

# A version 1 filter may not use version 2 modifiers.
stop PROXY; : > "$T/PROXY.log"; rm -f "$T"/host/*
cat > "$T/v1bad" <<'EOT'
#!/bin/sh
read -r hello; echo "filter 1 eom"
while read -r ev tok rest; do echo "fact spf pass"; echo "continue $tok"; done
EOT
chmod +x "$T/v1bad"
serve_proxy { -p tempfail "$T/v1bad" } --
send --from a@example.org --to bob@example.net --data "$T/msg"
[ "$(final_code)" = 451 ] || fail "a version 1 filter's fact: $(final_code)"
logged 'failed at eom: modifier not allowed here'
ok "a version 1 filter that says fact: failed"

# A filter that subscribes to eom alone learns the whole transaction: the
# client, its HELO, the sender, all 1,000 recipients, and the facts set
# before it (one at connect, one at mail, by a filter earlier in the chain).
stop PROXY; : > "$T/PROXY.log"; rm -f "$T"/host/*
rcpts=$(seq 1 1000 | sed 's/.*/r&@example.net/' | paste -sd, -)
RECORD=$T/eomonly; export RECORD
serve_proxy -r 1000 { "$F/v2" connect 'fact trust 40' } { "$F/v2" mail 'fact spf pass' } { "$F/v2" eom } --
send --from alice@example.org --to "$rcpts" --data "$T/msg"
unset RECORD
[ "$(stored)" = 1 ] || { tail -n 5 "$T/swaks.out"; fail "the 1,000-recipient message was not delivered"; }
grep -q "^client 127.0.0.1 [0-9]* 127.0.0.1 $PROXY_PORT - EHLO client.test - -\$" "$T/eomonly" ||
  { grep '^client' "$T/eomonly"; fail "no client line with the address and HELO"; }
grep -Eq '^sender alice@example.org - [0-9a-f]+-[0-9]+\.1$' "$T/eomonly" || { grep '^sender' "$T/eomonly"; fail "no sender line"; }
[ "$(grep -c '^recipient r[0-9]*@example.net 250 -$' "$T/eomonly")" = 1000 ] ||
  fail "not 1,000 recipient lines: $(grep -c '^recipient' "$T/eomonly")"
grep -q '^recipient r1000@example.net 250 -$' "$T/eomonly" || fail "the 1,000th recipient is missing"
grep -q '^fact trust 40$' "$T/eomonly" || fail "the connect fact is missing"
grep -q '^fact spf pass$' "$T/eomonly" || fail "the mail fact is missing"
grep -q '^eom [0-9]* - 1000$' "$T/eomonly" || { grep '^eom' "$T/eomonly"; fail "eom without the count"; }
logged 'facts=trust=40,spf=pass'
ok "an eom-only filter sees the client, HELO, sender, 1,000 recipients and the earlier facts; the log lists the facts"

# smtp-filter(7)'s version 2 example in sh, as written there.
awk '/reverse name, using the context lines/ { f = 1 } f && /^\.nf/ { p = 1; next }
     p && /^\.fi/ { exit } p' "$TOP/man/smtp-filter.7" | sed 's/\\-/-/g' > "$T/noreverse"
chmod +x "$T/noreverse"
grep -q '^while read' "$T/noreverse" || fail "the example was not found in smtp-filter(7)"
stop PROXY; : > "$T/PROXY.log"; rm -f "$T"/host/*
serve_proxy -R { "$T/noreverse" } --
send --from alice@example.org --to bob@example.net --data "$T/msg"
[ "$(stored)" = 1 ] || fail "the example filter: not delivered"
[ "$(msg_of | head -n 1)" = "X-No-Reverse-Name: yes" ] || { msg_of; fail "the example filter added no field"; }
ok "smtp-filter(7)'s sh example of version 2, as written: the field added for a client without a reverse name"

# Facts set at eom reach the report's context and the log line, those of
# a refused message too.
stop PROXY; : > "$T/PROXY.log"; rm -f "$T"/host/*
RECORD=$T/report; export RECORD
serve_proxy { "$F/v2" eom 'fact scan clean' } { "$F/v2" report } --
send --from alice@example.org --to bob@example.net --data "$T/msg"
unset RECORD
grep -q '^fact scan clean$' "$T/report" || { cat "$T/report"; fail "the eom fact is not in the report's context"; }
grep -q '^recipient bob@example.net 250 -$' "$T/report" || fail "the report's recipient has not its final code"
logged 'facts=scan=clean'
stop PROXY; : > "$T/PROXY.log"
serve_proxy { "$F/v2" eom 'fact scan infected:Test.EICAR' 'verdict reject 554 5.7.1 Malware found' } --
send --from alice@example.org --to bob@example.net --data "$T/msg"
logged 'facts=scan=infected:Test.EICAR.*result=rejected'
ok "a fact set at eom: in the report's context and the log line, also for a refused message"

# smtp-filter(7)'s example sessions: what the proxy writes to a filter is
# what the page shows, line by line (the words, their number, the facts
# and the score; addresses, ports, sizes and the id are this test's).
# Version 2: a filter of mail and eom after one that sets spf pass at mail.
session_of() {   # session_of "START" : the page's "> " lines after START, tokens out
  awk -v start="$1" 'index($0, start) { f = 1 } f && /^\.nf/ { p = 1; next } p && /^\.fi/ { exit }
       p && /^> / { print substr($0, 3) }' "$TOP/man/smtp-filter.7" | sed 's/\\-/-/g' |
    awk '$1 ~ /^(connect|helo|tls|mail|rcpt|data|eom|rset|report)$/ { $2 = ""; $0 = $0; $1 = $1 } $1 != "filter" { print }'
}
shape() { awk '{ print $1, NF }'; }
session_of 'The same in version 2' > "$T/page2"
[ "$(wc -l < "$T/page2")" -ge 10 ] || { cat "$T/page2"; fail "the version 2 example session was not found in smtp-filter(7)"; }
stop PROXY; : > "$T/PROXY.log"; rm -f "$T"/host/*
serve_proxy { "$F/v2" mail 'fact spf pass' } { env RECORD="$T/seen2" "$F/v2" mail,eom 'fact greeted yes' } --
send --from alice@example.org --to bob+sales@example.net,carol@example.net --data "$T/msg"
[ "$(stored)" = 1 ] || fail "example session 2: not delivered"
shape < "$T/page2" > "$T/page2.shape"; shape < "$T/seen2" > "$T/seen2.shape"
cmp -s "$T/page2.shape" "$T/seen2.shape" || { paste "$T/page2" "$T/seen2"; fail "the proxy's lines differ from smtp-filter(7)'s version 2 example"; }
grep '^fact\|^score' "$T/page2" > "$T/page2.facts"; grep '^fact\|^score' "$T/seen2" > "$T/seen2.facts"
cmp -s "$T/page2.facts" "$T/seen2.facts" || { paste "$T/page2.facts" "$T/seen2.facts"; fail "the facts and scores differ from the example"; }
ok "smtp-filter(7)'s version 2 example session: the proxy sends a filter of mail and eom the same lines (words, fields, facts, score)"

# Version 1: a filter of every event, unchanged since version 1.
session_of 'A whole session, as seen by a filter' > "$T/page1"
[ "$(wc -l < "$T/page1")" -ge 6 ] || { cat "$T/page1"; fail "the version 1 example session was not found in smtp-filter(7)"; }
stop PROXY; : > "$T/PROXY.log"; rm -f "$T"/host/*
serve_proxy { env RECORD="$T/seen1" "$F/act" - none } --
send --from alice@example.org --to bob+sales@example.net --data "$T/msg"
[ "$(stored)" = 1 ] || fail "example session 1: not delivered"
grep -v '^rset\|^data ' "$T/seen1" > "$T/seen1.events"
shape < "$T/page1" > "$T/page1.shape"; shape < "$T/seen1.events" > "$T/seen1.shape"
cmp -s "$T/page1.shape" "$T/seen1.shape" || { paste "$T/page1" "$T/seen1.events"; fail "the proxy's version 1 lines differ from smtp-filter(7)'s example"; }
ok "smtp-filter(7)'s version 1 example session: the same events with the same number of fields (a version 1 filter gets no version 2 field)"
