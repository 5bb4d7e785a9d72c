# smtp-milter against a test milter of our own (t/milter/act.py, pymilter
# on Debian's libmilter) that does what each message asks: the envelope
# live, the header and body as sent, macros, every reply at eom, progress
# and timeouts, a milter that dies or is down, and every change mapped onto
# smtp-filter(7) version 2 (those once the proxy applies them).
. "$(dirname "$0")/lib.sh"
. "$TOP/t/lib-milter.sh"
CR=$(printf '\r')
/usr/bin/python3 -c 'import Milter' 2>/dev/null || skip "python3-milter is not installed"
serve_host
start_act ACT
start_act LEAD leadspc
M="smtp-milter -h mx.test inet:127.0.0.1:$ACT_PORT"
L="smtp-milter -h mx.test inet:$LEAD_PORT@127.0.0.1"
# shellcheck disable=SC2086  # $M: the program and its arguments
milter() { through "$@" { -p required -t 20 $M } --; }

# Envelope: a recipient refused live with the milter's text, the other
# one relayed; a sender refused; a milter that accepted at MAIL is not
# asked again for that message.
message "" "hello"
session alice@example.org reject-rcpt@example.net bob@example.net
milter
grep -q '^550 5.1.1 no such user here' "$T/out" || { cat "$T/out"; fail "RCPT refusal: not the milter's text"; }
stored_msg "one recipient refused"
grep -q '^RCPT TO:<bob@example.net>' "$T"/host/env.* || fail "bob not relayed"
grep -q 'reject-rcpt' "$T"/host/env.* && fail "the refused recipient was relayed"
ok "RCPT refused live with the milter's 550 5.1.1 text; the other recipient relayed"
session reject-mail@example.org bob@example.net
milter
grep -q '^550 5.7.1 sender refused by the test milter' "$T/out" || { cat "$T/out"; fail "MAIL refusal"; }
[ "$(stored)" = 0 ] || fail "a refused sender's message relayed"
session tempfail-mail@example.org bob@example.net
milter
grep -q '^451 4.7.1' "$T/out" || { cat "$T/out"; fail "MAIL tempfail"; }
ok "MAIL refused (550 with its text) and tempfailed (451 4.7.1)"
: > "$T/ACT.events"
message "X-Act: reject" "accepted at MAIL"
session accept-mail@example.org bob@example.net
milter
stored_msg "accepted at MAIL"
grep -q '^header' "$T/ACT.events" && fail "a message accepted at MAIL still went to the milter"
ok "ACCEPT at MAIL: the milter sees nothing more of that message (its X-Act: reject unseen)"
message "" "discard me"
session discard-mail@example.org bob@example.net
milter
data_reply | grep -q '^250' || { cat "$T/out"; fail "DISCARD at MAIL: not 250"; }
[ "$(stored)" = 0 ] || fail "DISCARD at MAIL: relayed"
ok "DISCARD at MAIL: 250 to the client, nothing relayed"

# What the milter is told: the client, macros, header fields as sent
# (one space after the colon dropped, folding with bare LF), the body.
: > "$T/ACT.events"
message "X-Fold: first
	second" "body line one
body line two"
session alice@example.org bob@example.net
milter
stored_msg "plain"
e=$T/ACT.events
grep -q '^connect \[192.0.2.1\] 192.0.2.1 4000$' "$e" || { cat "$e"; fail "connect: not the client"; }
grep -q '^macro connect j=mx.test$' "$e" || fail "macro j"
grep -q '^macro connect _=unknown \[192.0.2.1\]$' "$e" || fail "macro _"
grep -q '^macro connect {daemon_addr}=127.0.0.1$' "$e" || fail "macro daemon_addr"
grep -q '^helo client.test$' "$e" || fail "helo"
grep -q '^mail <alice@example.org>' "$e" || fail "mail"
grep -q '^macro mail {mail_addr}=alice@example.org$' "$e" || fail "macro mail_addr"
grep -q '^rcpt <bob@example.net>$' "$e" || fail "rcpt"
grep -q '^macro rcpt {rcpt_addr}=bob@example.net$' "$e" || fail "macro rcpt_addr"
grep -q "^header 'Subject' 'test'$" "$e" || { cat "$e"; fail "header without LEADSPC"; }
grep -q "^header 'X-Fold' 'first\\\\n\\\\tsecond'$" "$e" || { cat "$e"; fail "folded header"; }
grep -q "^body 30 b'body line one\\\\r\\\\nbody line two\\\\r\\\\n'$" "$e" || { cat "$e"; fail "body"; }
id=$(sed -n 's/^macro eom i=//p' "$e")
[ -n "$id" ] || fail "no i at eom"
ok "the milter was told the client, j _ {daemon_addr} {mail_addr} {rcpt_addr} i, header fields (LF folding), the CRLF body"
grep -q "^data$" "$e" || fail "DATA not sent"
: > "$T/LEAD.events"
# shellcheck disable=SC2086
through { -p required -t 20 $L } --
grep -q "^header 'Subject' ' test'$" "$T/LEAD.events" || { cat "$T/LEAD.events"; fail "HDR_LEADSPC: the space lost"; }
ok "HDR_LEADSPC negotiated: the value goes with its leading space (libmilter's inet:PORT@HOST address)"

# A body of 200 KB goes in chunks of at most 65535 octets; SKIP after the
# first one ends them.
: > "$T/ACT.events"
message "" "$(awk 'BEGIN { for (i = 0; i < 2000; i++) printf "%099d\n", i }')"
session alice@example.org bob@example.net
milter
stored_msg "200 KB"
[ "$(grep -c '^body 65535 ' "$T/ACT.events")" = 3 ] || { grep '^body' "$T/ACT.events"; fail "not 3 chunks of 65535"; }
[ "$(grep -c '^body ' "$T/ACT.events")" = 4 ] || fail "not 4 body chunks"
: > "$T/ACT.events"
message "X-Act: skip" "$(awk 'BEGIN { for (i = 0; i < 2000; i++) printf "%099d\n", i }')"
session alice@example.org bob@example.net
milter
stored_msg "SKIP"
[ "$(grep -c '^body ' "$T/ACT.events")" = 1 ] || { grep '^body' "$T/ACT.events"; fail "SKIP: more chunks sent"; }
grep -q '^eom' "$T/ACT.events" || fail "SKIP: no end of message"
ok "the body in chunks of 65535 octets; SKIP: no more chunks, then end of message"

# A milter on a UNIX socket.
/usr/bin/python3 "$TOP/t/milter/act.py" "unix:$T/act.sock" "$T/UNIX.events" >> "$T/UNIX.log" 2>&1 &
PIDS="$PIDS $!"
wait_for "[ -S '$T/act.sock' ]" 10 || fail "the milter on a UNIX socket did not start"
message "" "unix"
session alice@example.org bob@example.net
through { -p required -t 20 smtp-milter "unix:$T/act.sock" } --
stored_msg "unix:"
grep -q '^eom' "$T/UNIX.events" || fail "unix: the milter saw no message"
ok "unix:PATH: a milter on a UNIX socket"

# Verdicts at eom.
verdict() {   # verdict ACT CODE-PATTERN WHAT
  message "X-Act: $1" "body"
  session alice@example.org bob@example.net
  milter
  refused "$2" "$3"
}
verdict reject '^550 5\.7\.1 Command rejected' "REJECT"
verdict tempfail '^451 4\.7\.1' "TEMPFAIL"
verdict 'reply 554 5.7.0 Go away' '^554 5\.7\.0 Go away$' "REPLYCODE"
verdict 'mlreply 550 5.7.2 first line 100%% sure|second line' '^550 5\.7\.2 first line 100% sure second line$' "multi-line REPLYCODE"
verdict 'reply 452 4.2.2 mailbox full' '^452 4\.2\.2 mailbox full$' "4xx REPLYCODE"
ok "eom: REJECT 550, TEMPFAIL 451, REPLYCODE 554/452 with the milter's text, a multi-line one joined, %% as %"
verdict discard '^250' "DISCARD"
grep -q 'result=discarded' "$T/err" || fail "DISCARD: not logged as discarded"
ok "eom: DISCARD: 250, nothing relayed"
message "X-Act: add X-Lost yes
X-Act: reject" "body"
session alice@example.org bob@example.net
milter
data_reply | grep -q '^550' || fail "changes then REJECT: not refused"
grep -q 'changes=' "$T/err" && fail "changes before a REJECT were relayed"
ok "changes followed by REJECT are dropped with the message"

# Progress and timeouts: -b 2, a milter 4 s at eom with a progress each
# second passes; one that sleeps 4 s has failed (451 under required).
message "X-Act: progress 4" "slow"
session alice@example.org bob@example.net
# shellcheck disable=SC2086
through { -p required -t 20 smtp-milter -b 2 inet:127.0.0.1:$ACT_PORT } --
stored_msg "progress"
ok "PROGRESS restarts the content timeout (4 s with -b 2)"
message "X-Act: sleep 4" "slow"
session alice@example.org bob@example.net
# shellcheck disable=SC2086
through { -p required -t 20 smtp-milter -b 2 inet:127.0.0.1:$ACT_PORT } --
data_reply | grep -q '^451 4.3.0' || { cat "$T/out"; fail "timeout: not 451"; }
grep -q 'smtp-milter: fatal: conn=[0-9a-f-]*: milter inet:127.0.0.1:[0-9]*: timeout' "$T/err" ||
  { cat "$T/err"; fail "timeout: no log line"; }
[ "$(stored)" = 0 ] || fail "timeout: relayed"
ok "a milter silent past -b: failed filter, 451 4.3.0 under -p required, one log line"

# A milter that dies mid-message; one that is down.
message "X-Act: die" "dying"
session alice@example.org bob@example.net
milter
data_reply | grep -q '^451 4.3.0' || { cat "$T/out"; fail "died: not 451"; }
grep -q 'milter inet:127.0.0.1:[0-9]*: the milter closed the connection' "$T/err" || { cat "$T/err"; fail "died: log"; }
[ "$(stored)" = 0 ] || fail "died: relayed"
grep -q '^dying' "$T/ACT.events" || fail "the milter did not die"
ok "a milter that dies mid-message: 451 4.3.0, nothing relayed"
start_act ACT           # it died whole: a new one
M="smtp-milter -h mx.test inet:127.0.0.1:$ACT_PORT"
# Dying in the middle of a body replacement, under -p accept: never the
# old body as if the milter had been content with it.
message "X-Act: body the new body
X-Act: die" "the old body"
session alice@example.org bob@example.net
# shellcheck disable=SC2086
through { -p accept -t 20 $M } --
refused '^451 4\.7\.1' "died during REPLBODY, -p accept"
ok "a milter that dies during a body replacement: 451 even under -p accept (the old body not relayed)"
start_act ACT           # it died whole: a new one
M="smtp-milter -h mx.test inet:127.0.0.1:$ACT_PORT"
down=$(free_port)
message "" "nobody there"
session alice@example.org bob@example.net
through { -p required -t 20 smtp-milter "inet:127.0.0.1:$down" } --
grep -Eq '^4[25]1 4.3.0' "$T/out" || { cat "$T/out"; fail "milter down: no 421 or 451"; }
[ "$(stored)" = 0 ] || fail "milter down: relayed"
grep -q "milter inet:127.0.0.1:$down: unable to connect" "$T/err" || { cat "$T/err"; fail "down: log"; }
through { -p accept -t 20 smtp-milter "inet:127.0.0.1:$down" } --
stored_msg "milter down, -p accept"
ok "a milter that is down: 421 4.3.0 at connect under required, relayed under -p accept"

# The changes: version 2 modifiers, applied by the proxy.
proxy_v2 || { echo "ok: (message changes not tested: smtp-proxyd does not apply version 2 changes yet)"; exit 0; }
message "Received: from a
Received: from b
X-Act: add X-Added added value
X-Act: ins 0 X-Top at the top
X-Act: chg 1 Subject changed
X-Act: del 2 Received
X-Act: chg 3 Received added as missing
X-Act: add X-Folded one\\n	two" "original body"
session alice@example.org bob@example.net
milter
stored_msg "header changes"
sed -n '1,/^\r$/p' "$MSG" > "$T/hdr"
grep -q '^X-Added: added value' "$T/hdr" || { cat "$T/hdr"; fail "ADDHEADER"; }
[ "$(grep -n '^X-Added:' "$T/hdr" | cut -d: -f1)" -gt "$(grep -n '^Subject:' "$T/hdr" | cut -d: -f1)" ] ||
  fail "ADDHEADER: not at the end"
# at the top of the message; only the proxy's own Received goes above
[ "$(grep -n '^X-Top: at the top' "$T/hdr" | cut -d: -f1)" -lt "$(grep -n '^From:' "$T/hdr" | cut -d: -f1)" ] ||
  { cat "$T/hdr"; fail "INSHEADER 0: not at the top"; }
grep -q '^Subject: changed' "$T/hdr" || fail "CHGHEADER"
grep -q '^Subject: test' "$T/hdr" && fail "CHGHEADER: the old Subject stayed"
grep -q '^Received: from a' "$T/hdr" || fail "CHGHEADER delete: the wrong Received went"
grep -q '^Received: from b' "$T/hdr" && fail "CHGHEADER with an empty value: not deleted"
grep -q '^Received: added as missing' "$T/hdr" || fail "CHGHEADER of a missing occurrence: not added"
grep -q "^X-Folded: one$CR\$" "$T/hdr" || { od -c "$T/hdr" | tail; fail "LF folding not made CRLF"; }
ok "ADDHEADER at the end, INSHEADER 0 at the top, CHGHEADER change/delete/add-if-missing, LF folding as CRLF"

message "X-Act: body new body\\nsecond line" "old body"
session alice@example.org bob@example.net
milter
stored_msg "REPLBODY"; f=$MSG
grep -q 'old body' "$f" && fail "REPLBODY: the old body stayed"
grep -q "^second line$CR\$" "$f" || { cat "$f"; fail "REPLBODY: not the new body"; }
grep -q '^Subject: test' "$f" || fail "REPLBODY: the header was lost"
ok "REPLBODY: the header kept, the body replaced"

message "X-Act: addrcpt <carol@example.net>
X-Act: delrcpt <bob@example.net>
X-Act: chgfrom <bounce@example.org>" "envelope"
session alice@example.org bob@example.net dave@example.net
milter
stored_msg "envelope"
env=$(ls "$T"/host/env.*)
grep -q '^MAIL FROM:<bounce@example.org>' "$env" || { cat "$env"; fail "CHGFROM"; }
grep -q '^RCPT TO:<carol@example.net>' "$env" || fail "ADDRCPT"
grep -q '^RCPT TO:<bob@example.net>' "$env" && fail "DELRCPT"
grep -q '^RCPT TO:<dave@example.net>' "$env" || fail "DELRCPT took another recipient"
ok "ADDRCPT, DELRCPT, CHGFROM: the smarthost's envelope changed"
message "X-Act: addrcpt <erin@example.net> NOTIFY=NEVER" "params"
session alice@example.org bob@example.net
milter
grep -q '^RCPT TO:<erin@example.net>' "$T"/host/env.* || { cat "$T"/host/env.*; fail "ADDRCPT_PAR"; }
grep -q 'added recipient <erin@example.net>: parameters left out' "$T/err" || { cat "$T/err"; fail "ADDRCPT_PAR: the parameters did not reach the proxy"; }
ok "ADDRCPT_PAR: the recipient added; its NOTIFY=NEVER reached the proxy (its smarthost offers no DSN: left out, with a warning)"
message "X-Act: quarantine looks bad" "q"
session alice@example.org bob@example.net
# shellcheck disable=SC2086
through -Q quarantine@example.net { -p required -t 20 $M } --
stored_msg "QUARANTINE"
grep -q '^RCPT TO:<quarantine@example.net>' "$T"/host/env.* || { cat "$T"/host/env.*; fail "QUARANTINE: not to the quarantine mailbox"; }
grep -q '^RCPT TO:<bob@example.net>' "$T"/host/env.* && fail "QUARANTINE: delivered to its recipient"
grep -q '^X-Noqueue-Quarantine: looks bad' "$MSG" || { cat "$MSG"; fail "QUARANTINE: not the milter's reason"; }
ok "QUARANTINE: the message to the proxy's quarantine mailbox with the milter's reason, not to bob"

# -m: a macro more, by name (one of ours) or with a value.
: > "$T/ACT.events"
message "" "macros"
session alice@example.org bob@example.net
# shellcheck disable=SC2086
through { -p required -t 20 smtp-milter -m connect:{client_addr} -m 'eom:{x_test}=some value' \
  "inet:127.0.0.1:$ACT_PORT" } --
grep -q '^macro connect {client_addr}=192.0.2.1$' "$T/ACT.events" || { cat "$T/ACT.events"; fail "-m connect:{client_addr}"; }
grep -q '^macro eom {x_test}=some value$' "$T/ACT.events" || fail "-m eom:{x_test}=some value"
ok "-m: {client_addr} at connect by name, {x_test} at eom with its value"

# A chain: the second milter sees the first one's change.
: > "$T/LEAD.events"
message "X-Act: add X-First from the first" "chain"
session alice@example.org bob@example.net
# shellcheck disable=SC2086
through { -p required -t 20 $M } { -p required -t 20 $L } --
grep -q "^header 'X-First' ' from the first'" "$T/LEAD.events" || { cat "$T/LEAD.events"; fail "chain: the second milter did not see the first one's field"; }
ok "two milters in a chain: the second sees the field the first added"

# Check mode (NOQUEUE_CHECK=1): the option negotiation with the milter
# before the handshake; every bad option at once; a milter down: 111.
. "$TOP/t/lib-checkmode.sh"
check_passes "the milter up" smtp-milter -h mx.test "inet:127.0.0.1:$ACT_PORT"
check_fails 100 3 "bad configuration" smtp-milter -c 0 -m nowhere:x -m 'eom:{a}=b	c' "inet:127.0.0.1:$ACT_PORT"
check_said '^smtp-milter: fatal: bad timeout: say 1 to 86400 seconds; usage'
check_said '^smtp-milter: fatal: bad -m: say STAGE:NAME\[=VALUE\]'
check_said '^smtp-milter: fatal: bad -m: the value is not printable; usage'
down=$(free_port)
check_fails 111 1 "the milter down" smtp-milter "inet:127.0.0.1:$down"
check_said "^smtp-milter: fatal: milter inet:127.0.0.1:$down: unable to connect: Connection refused\$"
check_fails 100 2 "the milter down and a bad option" smtp-milter -c 0 "inet:127.0.0.1:$down"
check_said "^smtp-milter: fatal: milter inet:127.0.0.1:$down: unable to connect: Connection refused\$"
ok "check mode: the milter's negotiation, the handshake, exit 0; bad options all at once: 100; the milter down: 111; down and a bad option: both said, 100"
