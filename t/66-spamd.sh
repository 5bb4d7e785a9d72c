# smtp-spamd end to end against the real spamd (Debian's spamd, the rules
# Debian ships, local tests only), started once: GTUBE refused with -r
# spam; a clean message delivered and tagged (X-Spam-Status, X-Spam-Score,
# the facts spamd and spamd.score); GTUBE tagged with X-Spam-Flag when not
# refused; the score as noqueue points (-P) that reach smtp-proxyd -S;
# REPORT's X-Spam-Report; spamd down: the block's policy (tempfail: 451,
# accept: delivered untagged).
. "$(dirname "$0")/lib.sh"
. "$TOP/t/lib-scan.sh"
SPAMD=$BIN/smtp-spamd
[ -x "$SPAMD" ] || fail "no $SPAMD (make)"
start_spamd

# proxy POLICY [PROXY-OPTIONS] -- ADAPTER-OPTIONS
proxy() {
  _p=$1; shift; _o=
  while [ "$1" != -- ]; do _o="$_o $1"; shift; done
  shift
  # A version 2 test filter after ours records the facts it is told at eom.
  setup "" "$_o { -p $_p -t 30 $SPAMD -t 20 $* inet:127.0.0.1:$SPAMD_PORT } \
    { env RECORD=$T/facts $TOP/t/filters/v2 eom }"
}
mail() { _f=$1; shift; rm -f "$T"/host/* "$T/facts"; : > "$T/PROXY.log"; send --from alice@example.org --to bob@example.net --data "@$_f" "$@"; }
delivered() {
  [ "$(final_code)" = 250 ] || { cat "$T/swaks.out" "$T/PROXY.log"; fail "$1: the client got $(final_code)"; }
  [ "$(stored)" = 1 ] || fail "$1: not stored once"
  sed -n '1,/^\r$/p' "$T"/host/msg.* | tr -d '\r' > "$T/header"
}
has() { grep -Eq "$2" "$T/header" || { cat "$T/header"; fail "$1: no $2"; }; }
hasnt() { ! grep -Eq "$2" "$T/header" || { cat "$T/header"; fail "$1: $2"; }; }

message "$T/clean.eml" "Lunch"
message "$T/gtube.eml" "Offer" "$GTUBE"

proxy required -- -r spam -u nobody
mail "$T/gtube.eml"
saw '550 5\.7\.1 Message refused as spam, score [0-9]+\.[0-9]' || fail "GTUBE: not refused"
not_delivered "GTUBE"
logged 'smtp-spamd: info: conn=[0-9a-f]+-[0-9]+ spamd=spam score=[0-9.]+ required=5.0 tests=[^ ]*GTUBE'
grep -q 'identified spam (.*) for nobody:' "$T/spamd.log" || { tail "$T/spamd.log"; fail "-u: not for nobody"; }
ok "GTUBE with -r spam: 550 5.7.1 with the score, not relayed; -u names spamd's user"

mail "$T/clean.eml"
delivered "clean"
has clean '^X-Spam-Status: No, score=-?[0-9]+\.[0-9] required=5\.0 tests='
has clean '^X-Spam-Score: -?[0-9]+\.[0-9]$'
hasnt clean '^X-Spam-Flag'
wait_for "[ -s '$T/facts' ]" 5 || fail "clean: the next filter got no eom"
grep -q '^fact spamd ham$' "$T/facts" || { cat "$T/facts"; fail "clean: no fact spamd ham"; }
grep -Eq '^fact spamd\.score -?[0-9]+\.[0-9]$' "$T/facts" || fail "clean: no fact spamd.score"
ok "a clean message: delivered, tagged X-Spam-Status: No and X-Spam-Score, facts spamd=ham and spamd.score"

# Not refused: tagged; and the score as points against smtp-proxyd -S.
proxy required --
mail "$T/gtube.eml"
delivered "GTUBE tagged"
has "GTUBE tagged" '^X-Spam-Flag: YES$'
has "GTUBE tagged" '^X-Spam-Status: Yes, score=[0-9]+\.[0-9] required=5\.0 tests=.*GTUBE'
proxy required -S 100 -- -P 1
mail "$T/gtube.eml"
saw '550 5\.7\.1' || fail "-P 1 with -S 100: GTUBE not refused"
not_delivered "GTUBE over -S"
logged 'transaction .* score=10[0-9][0-9] '
mail "$T/clean.eml"
delivered "clean under -S"
ok "without -r GTUBE is delivered with X-Spam-Flag: YES; -P 1 adds its score to the proxy's (-S 100 refuses)"

proxy required -- -M report
mail "$T/clean.eml"
delivered "report"
has report '^X-Spam-Report: Content analysis details:'
has report '^	pts rule name'
ok "-M report: X-Spam-Report with spamd's table, folded"

# Check mode (NOQUEUE_CHECK=1): spamd answers PING; every problem at once.
. "$TOP/t/lib-checkmode.sh"
check_passes "spamd up" "$SPAMD" "inet:127.0.0.1:$SPAMD_PORT"
man_examples_run "$TOP/man/smtp-spamd.8" "$T" NOQUEUE_CHECK "s/127.0.0.1:783/127.0.0.1:$SPAMD_PORT/"
check_fails 100 3 "bad configuration" env SMTP_TEXT_SPAM="$(printf 'Spam\001')" "$SPAMD" -M check -u a:b \
  "inet:127.0.0.1:$SPAMD_PORT"
check_said '^smtp-spamd: fatal: option -M: neither symbols nor report: check$'
check_said '^smtp-spamd: fatal: option -u: bad user name: a:b$'
check_said '^smtp-spamd: fatal: SMTP_TEXT_SPAM has a control character$'
ok "check mode: spamd answers PING (and smtp-spamd(8)'s command): the handshake, exit 0; bad options and text: all at once, exit 100"

kill "$SPAMD_PID"
wait_for "! port_open $SPAMD_PORT" 10 || fail "spamd did not stop"
proxy tempfail --
mail "$T/clean.eml"
saw '451 4\.3\.0' || fail "spamd down, -p tempfail: no 451"
not_delivered "spamd down"
logged "smtp-spamd: fatal: conn=[0-9a-f]+-[0-9]+: unable to connect to spamd inet:127.0.0.1:$SPAMD_PORT: Connection refused"
proxy accept --
mail "$T/clean.eml"
delivered "spamd down, -p accept"
hasnt "spamd down, -p accept" '^X-Spam'
ok "spamd down: -p tempfail gives 451, -p accept delivers untagged; one log line"

# The program alone: every bad usage is exit 100 with one line.
for args in "" "-M check inet:127.0.0.1:1" "-r lots inet:127.0.0.1:1" "-r 1.2345 inet:127.0.0.1:1" \
    "-c 451 inet:127.0.0.1:1" "-P 0 inet:127.0.0.1:1" "-u a:b inet:127.0.0.1:1" \
    "-m 2G inet:127.0.0.1:1" "-t 3601 inet:127.0.0.1:1" "inet:[::1:783" "inet:127.0.0.1:1 extra"; do
  # shellcheck disable=SC2086  # the words of args are the arguments
  "$SPAMD" $args < /dev/null 2> "$T/usage"
  rc=$?
  [ $rc = 100 ] && [ "$(wc -l < "$T/usage")" = 1 ] || { cat "$T/usage"; fail "smtp-spamd $args: exit $rc"; }
done
SMTP_TEXT_SPAM="$(printf 'Spam\001')" "$SPAMD" inet:127.0.0.1:1 < /dev/null 2> "$T/usage"
[ $? = 100 ] && grep -q 'SMTP_TEXT_SPAM' "$T/usage" || fail "a status text with a control byte is taken"
ok "bad options, addresses and status texts: exit 100 with one line"

# Check mode, spamd gone: 111 before any handshake, one line naming it.
check_fails 111 1 "spamd down" "$SPAMD" "inet:127.0.0.1:$SPAMD_PORT"
check_said "^smtp-spamd: fatal: unable to connect to spamd inet:127.0.0.1:$SPAMD_PORT: Connection refused\$"
ok "check mode, spamd down: exit 111, one line"
