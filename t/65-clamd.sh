# smtp-clamd end to end against the real clamd (Debian's clamav-daemon),
# started once with a private configuration and one signature of our own:
# EICAR refused with the signature's name, also inside a base64
# attachment; a clean message delivered with the added field and the
# fact; a message larger than -m refused with 552 (the documented outcome)
# and one larger than clamd's own StreamMaxLength a failed filter (451
# under -p required); clamd stopped (SIGSTOP) past -t and clamd gone:
# 451 under -p required, never a silent pass.
. "$(dirname "$0")/lib.sh"
. "$TOP/t/lib-scan.sh"
CLAMD=$BIN/smtp-clamd
[ -x "$CLAMD" ] || fail "no $CLAMD (make)"
start_clamd "StreamMaxLength 1M"

# proxy ADAPTER-OPTIONS: a fresh smarthost and proxy with smtp-clamd
# in a required block.
proxy() {
  # A version 2 test filter after ours records the facts it is told at eom.
  setup "" "{ -p required -t 10 $CLAMD $* inet:127.0.0.1:$CLAMD_PORT } \
    { env RECORD=$T/facts $TOP/t/filters/v2 eom }"
}
# mail FILE [swaks options]: one message through the proxy.
mail() { _f=$1; shift; rm -f "$T"/host/* "$T/facts"; : > "$T/PROXY.log"; send --from alice@example.org --to bob@example.net --data "@$_f" "$@"; }
refused_with() {   # refused_with WHAT CODE-AND-TEXT
  saw "$2" || fail "$1: no $2"
  not_delivered "$1"
}
adapter_logged() { logged "smtp-clamd: info: conn=[0-9a-f]+-[0-9]+ $1"; }

proxy -H X-Virus-Scanned
message "$T/clean.eml" "Lunch"
mail "$T/clean.eml"
[ "$(final_code)" = 250 ] || { cat "$T/swaks.out"; fail "clean: the client got $(final_code)"; }
[ "$(stored)" = 1 ] || fail "clean: not stored once"
grep -q '^X-Virus-Scanned: clean' "$T"/host/msg.* || fail "clean: no X-Virus-Scanned field"
# (after the proxy's Received field, 3 lines, and ours)
tail -n +5 "$T"/host/msg.* | head -n "$(wc -l < "$T/clean.eml")" | cmp -s - "$T/clean.eml" ||
  fail "clean: the message changed"
adapter_logged 'clamd=clean size=[0-9]+'
wait_for "[ -s '$T/facts' ]" 5 || fail "clean: the next filter got no eom"
grep -q '^fact clamd clean$' "$T/facts" || { cat "$T/facts"; fail "clean: no fact clamd clean"; }
ok "a clean message is delivered intact, with X-Virus-Scanned: clean, the fact clamd clean, logged"

NAME=Noqueue.Test.EICAR.UNOFFICIAL
message "$T/eicar.eml" "Test" "$EICAR"
mail "$T/eicar.eml"
refused_with "EICAR" "554 5.7.1 Malware found: $NAME"
adapter_logged "clamd=infected:$NAME"
setup "" "{ -p required -t 10 $CLAMD unix:$T/clamd/sock }"
mail "$T/eicar.eml"
refused_with "EICAR, unix:" "554 5.7.1 Malware found: $NAME"
ok "EICAR in the body: 554 5.7.1 with the signature's name, not relayed (clamd on TCP and on its Unix socket)"

# A multipart message with EICAR as a base64 attachment: only a scanner
# that decodes MIME finds it (the base64 text is not the signature).
printf '%s\r\n' "From: Alice <alice@example.org>" "To: Bob <bob@example.net>" "Subject: Report" \
  "MIME-Version: 1.0" 'Content-Type: multipart/mixed; boundary="b1"' "" "--b1" \
  "Content-Type: text/plain" "" "The file." "--b1" "Content-Type: application/octet-stream" \
  "Content-Transfer-Encoding: base64" 'Content-Disposition: attachment; filename="report.com"' "" \
  "$(printf %s "$EICAR" | base64 -w 76)" "--b1--" > "$T/attached.eml"
grep -qF "$EICAR" "$T/attached.eml" && fail "attachment: EICAR in plain text"
mail "$T/attached.eml"
refused_with "EICAR attached" "554 5.7.1 Malware found: $NAME"
ok "EICAR in a base64 attachment: 554 5.7.1, not relayed"

# The action and the code of a find are options.
proxy -a tempfail -c 452
mail "$T/eicar.eml"
refused_with "EICAR, -a tempfail" "452 4.7.1 Malware found: $NAME"
proxy -a discard
mail "$T/eicar.eml"
[ "$(final_code)" = 250 ] && [ "$(stored)" = 0 ] || fail "-a discard: $(final_code), $(stored) stored"
logged 'result=discarded'
setup "" "{ -p required -t 10 env SMTP_TEXT_MALWARE_FOUND=Infected: $CLAMD inet:127.0.0.1:$CLAMD_PORT }"
mail "$T/eicar.eml"
refused_with "SMTP_TEXT_MALWARE_FOUND" "554 5.7.1 Infected: $NAME"
ok "-a tempfail -c 452 gives 452 4.7.1; -a discard gives 250 and relays nothing; the text is SMTP_TEXT_MALWARE_FOUND"

# Larger than -m: never sent; refused with 552 by default.
message "$T/big.eml" "Big" "$(head -c 1200000 /dev/zero | tr '\0' x | fold -w 76)"
proxy -m 1M
mail "$T/big.eml"
refused_with "over -m" "552 5.3.4 Message too big to be scanned for malware"
adapter_logged 'clamd=unscanned:size size=[0-9]+'
proxy -m 1M -b tempfail
mail "$T/big.eml"
refused_with "over -m, -b tempfail" "452 4.3.4 Message too big to be scanned for malware"
ok "a message larger than -m is refused, 552 5.3.4 (-b tempfail: 452 4.3.4), not relayed"

# -m above clamd's StreamMaxLength: clamd cuts the stream, the filter
# fails, and -p required answers 451.
proxy -m 4M
mail "$T/big.eml"
refused_with "over StreamMaxLength" "451 4.3.0"
logged 'smtp-clamd: fatal: conn=[0-9a-f]+-[0-9]+: clamd inet:127.0.0.1:[0-9]+ refused a message of [0-9]+ octets as too big'
ok "a message over clamd's StreamMaxLength (with -m set too high): 451 under -p required, one log line"

# clamd too slow: stopped with SIGSTOP past smtp-clamd's -t.
proxy -t 2
kill -STOP "$CLAMD_PID"
start=$(date +%s)
mail "$T/eicar.eml"
kill -CONT "$CLAMD_PID"
refused_with "clamd stopped" "451 4.3.0"
[ $(( $(date +%s) - start )) -le 8 ] || fail "clamd stopped: no answer within -t"
logged 'smtp-clamd: fatal: conn=[0-9a-f]+-[0-9]+: clamd did not answer in time'
mail "$T/clean.eml"
[ "$(final_code)" = 250 ] || fail "clamd resumed: the client got $(final_code)"
ok "clamd stopped (SIGSTOP) past -t 2: 451 under -p required; resumed, it delivers again"

# Check mode (NOQUEUE_CHECK=1): clamd answers PING; every problem at once.
. "$TOP/t/lib-checkmode.sh"
check_passes "clamd up" "$CLAMD" -t 5 "inet:127.0.0.1:$CLAMD_PORT"
check_passes "clamd up, its socket" "$CLAMD" "unix:$T/clamd/sock"
man_examples_run "$TOP/man/smtp-clamd.8" "$T" NOQUEUE_CHECK "s/127.0.0.1:3310/127.0.0.1:$CLAMD_PORT/"
check_fails 100 3 "bad configuration" "$CLAMD" -t 0 -a continue -H Bad:Name "inet:127.0.0.1:$CLAMD_PORT"
check_said '^smtp-clamd: fatal: option -t: bad number of seconds: 0$'
check_said '^smtp-clamd: fatal: option -a: neither reject, tempfail nor discard: continue$'
check_said '^smtp-clamd: fatal: option -H: bad header field name: Bad:Name$'
ok "check mode: clamd answers PING (TCP, Unix socket, and smtp-clamd(8)'s command): the handshake, exit 0; bad options: all at once, exit 100"

# clamd gone.
kill "$CLAMD_PID"
wait_for "! port_open $CLAMD_PORT" 10 || fail "clamd did not stop"
proxy
mail "$T/clean.eml"
refused_with "clamd down" "451 4.3.0"
logged "smtp-clamd: fatal: conn=[0-9a-f]+-[0-9]+: unable to connect to clamd inet:127.0.0.1:$CLAMD_PORT: Connection refused"
ok "clamd down: 451 under -p required, one log line"

# The program alone: every bad usage is exit 100 with one line.
for args in "" "-a continue inet:127.0.0.1:1" "-b discard inet:127.0.0.1:1" \
    "-c 451 inet:127.0.0.1:1" "-a discard -c 550 inet:127.0.0.1:1" "-t 0 inet:127.0.0.1:1" \
    "-m 0 inet:127.0.0.1:1" "-H Bad:Name inet:127.0.0.1:1" "inet:localhost:3310" \
    "unix:relative" "inet:127.0.0.1:1 extra"; do
  # shellcheck disable=SC2086  # the words of args are the arguments
  "$CLAMD" $args < /dev/null 2> "$T/usage"
  rc=$?
  [ $rc = 100 ] && [ "$(wc -l < "$T/usage")" = 1 ] || { cat "$T/usage"; fail "smtp-clamd $args: exit $rc"; }
done
SMTP_TEXT_MALWARE_FOUND="$(printf 'Virus \303\251')" "$CLAMD" inet:127.0.0.1:1 < /dev/null 2> "$T/usage"
[ $? = 100 ] && grep -q 'SMTP_TEXT_MALWARE_FOUND' "$T/usage" || fail "a non-ASCII status text is taken"
ok "bad options, addresses and status texts: exit 100 with one line"

# Check mode, clamd gone: 111 before any handshake, one line naming it.
check_fails 111 1 "clamd down" "$CLAMD" "inet:127.0.0.1:$CLAMD_PORT"
check_said "^smtp-clamd: fatal: unable to connect to clamd inet:127.0.0.1:$CLAMD_PORT: Connection refused\$"
check_fails 100 2 "clamd down and a bad option" "$CLAMD" -m 0 "inet:127.0.0.1:$CLAMD_PORT"
ok "check mode, clamd down: exit 111, one line; with a bad option too: both said, exit 100"
