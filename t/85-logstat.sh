# smtp-logstat on a real log: smtp-proxyd with smtp-envcheck,
# smtp-bodycheck and smtp-dupcheck in front of the test smarthost, known
# numbers of delivered, refused (5xx), tempfailed (4xx), discarded
# messages and refused recipients; the log stamped by s6-log and rotated
# into a directory.  Every count of the summary exact, the times against
# the log's own figures, -m finds exactly one message's lines, -f and -t,
# the HTML page rendered by Debian's chromium (headless, offline) into a
# screenshot with its charts, errors and exit codes, garbage.
. "$(dirname "$0")/lib.sh"
LS=$BIN/smtp-logstat
for p in smtp-logstat smtp-envcheck smtp-bodycheck smtp-dupcheck smtp-table; do
  [ -x "$BIN/$p" ] || fail "$p is not built"
done
command -v s6-log > /dev/null || skip "no s6-log (s6)"
export TZ=UTC
EX=$TOP/examples/tables
for k in senders recipients; do
  smtp-table $k "$EX/$k" "$T/$k.cdb" || fail "smtp-table $k"
done

# The smarthost refuses gone@example.org (550) and busy@example.org (451)
# at RCPT; smtp-envcheck passes both (*@example.org is listed); it waits
# 20 ms before its reply to a message (upstream_ms).
serve_host -w 20 -R gone@example.org=550 -R busy@example.org=451
serve_proxy { -p required smtp-envcheck -s "$T/senders.cdb" -r "$T/recipients.cdb" } \
  { -p required smtp-bodycheck -f "$TOP/examples/bodycheck.conf" } \
  { -p required smtp-dupcheck -w 3600 "$T/store" } --

# msg ID FROM TO [swaks options]: one message with Message-ID <ID@test>
msg() {
  _id=$1 _from=$2 _to=$3; shift 3
  send --from "$_from" --to "$_to" --header "Message-Id: <$_id@test>" \
    --header "Subject: Message $_id" --body "The body of $_id." "$@"
}
code() {   # code WANT WHAT: the client's last reply after the data
  [ "$(final_code)" = "$1" ] || { cat "$T/swaks.out"; fail "$2: the client got $(final_code), not $1"; }
}

msg d1 alice@example.org bob@example.net;        code 250 "delivered 1"
msg d2 alice@example.org bob@example.net;        code 250 "delivered 2"
msg track-me tracker@example.org carol@example.net; code 250 "delivered 3"
msg d3 alice@example.org bob@example.net,nobody@example.net; code 250 "delivered 4, one recipient refused"
msg d1 alice@example.org bob@example.net;        code 250 "discarded (a duplicate)"
msg r1 spammer@example.com bob@example.net;      saw '5[0-9][0-9]'
msg r2 alice@example.org nobody@example.net;     saw '550'
msg r3 alice@example.org bob@example.net --header "Subject: cheap viagra"; code 550 "rejected 2"
msg r4 alice@example.org bob@example.net --header "Subject: Cialis here"; code 550 "rejected 3"
msg t1 alice@example.org bob@example.net --header "Received: from host.invalid (x)"; code 451 "tempfailed"
msg r5 alice@example.org gone@example.org;       saw '550'
msg r6 alice@example.org busy@example.org;       saw '451'
[ "$(stored)" = 4 ] || fail "$(stored) messages stored, not 4"
wait_for "[ \$(grep -c ' end conn=' '$T/PROXY.log') = 12 ]" 10 || { cat "$T/PROXY.log"; fail "not 12 end lines"; }
ok "a day of mail: 4 delivered (one with a recipient refused), 1 discarded, 3 rejected, 1 tempfailed, 3 with every recipient refused"

# The log as s6-log writes it: stamped, rotated at 4096 octets.
s6-log -b t s4096 n50 "$T/logdir" < "$T/PROXY.log" || fail "s6-log"
ls "$T/logdir" | grep -q '^@.*\.[su]$' || fail "s6-log did not rotate the log"
cat "$T"/logdir/@* "$T/logdir/current" > "$T/stamped"
lines=$(wc -l < "$T/PROXY.log")
[ "$(wc -l < "$T/stamped")" = "$lines" ] || fail "s6-log lost lines"

"$LS" "$T/logdir" > "$T/sum" 2> "$T/err" || { cat "$T/err"; fail "smtp-logstat exited $?"; }
[ -s "$T/err" ] && { cat "$T/err"; fail "smtp-logstat wrote to stderr"; }

# val NAME: the number after a summary line's first word
val() { awk -v k="$1" '$1 == k { print $2; exit }' "${2:-$T/sum}"; }
# row SECTION KEY: the count of KEY in a section of the summary
row() {
  awk -v s="$1" -v k="$2" '$0 == s { on = 1; next } on && /^$/ { exit }
    on { line = $0; sub(/^  /, "", line); v = line; sub(/.* /, "", v); sub(/ +[0-9]+$/, "", line)
         if (line == k) { print v; exit } }' "${3:-$T/sum}"
}
is() {   # is WHAT GOT WANT
  [ "$2" = "$3" ] || { cat "$T/sum"; fail "$1: $2, not $3"; }
}
is lines "$(val lines)" "$lines"
is connections "$(val connections)" 12
is transactions "$(val transactions)" 12
is "refused recipients" "$(val refused-recipients)" 4
is tls "$(grep '^tls ' "$T/sum")" "tls 0 (0.0%)"
for r in delivered:4 rejected:3 tempfailed:1 discarded:1 quarantined:0 aborted:0 norecipient:3 unavailable:0 other:0; do
  is "result ${r%:*}" "$(row results "${r%:*}")" "${r#*:}"
done
grep -q '^lines .*without a time 0' "$T/sum" || { cat "$T/sum"; fail "stamped lines read as without a time"; }
ok "from the rotated s6-log directory: every line, 12 connections, 12 transactions, the count of each result, 4 refused recipients, no TLS"

is "hours: transactions" "$(awk '/^per hour/ { on = 1; next } on && /^$/ { exit } on { t += $3 } END { print t }' "$T/sum")" 12
is "hours: refused" "$(awk '/^per hour/ { on = 1; next } on && /^$/ { exit } on { t += $5 } END { print t }' "$T/sum")" 7
is "hours: the log's hour" "$(awk -v h="$(sed -n 's/^period [^ ]* \([0-9][0-9]\).*/\1/p' "$T/sum")" '/^per hour/ { on = 1; next } on && $1 == h { print $2 }' "$T/sum")" 12
ok "per hour (TZ=UTC): the 12 connections and transactions in this hour, 7 of them refused"

V="verdicts by filter"
is "bodycheck reject" "$(row "$V" 'smtp-bodycheck:eom:reject 550')" 2
is "bodycheck tempfail" "$(row "$V" 'smtp-bodycheck:eom:tempfail 451')" 1
is "envcheck rcpt" "$(row "$V" 'smtp-envcheck:rcpt:reject 550')" 2
is "envcheck mail" "$(row "$V" 'smtp-envcheck:mail:reject 550')" 1
is "dupcheck discard" "$(row "$V" 'smtp-dupcheck:eom:discard 250')" 1
is "smarthost 550" "$(row "$V" '(no filter):rcpt:refused 550')" 1
is "smarthost 451" "$(row "$V" '(no filter):rcpt:refused 451')" 1
F="refusals in the filters' lines"
is "envcheck lines" "$(row "$F" 'smtp-envcheck refused 550 reason=unknown recipient')" 2
is "envcheck sender" "$(row "$F" 'smtp-envcheck refused 550 reason=sender table')" 1
is "bodycheck lines" "$(grep -c 'smtp-bodycheck reject found=header=Subject:[0-9]* *2$' "$T/sum")" 1
is "bodycheck tempfail line" "$(grep -c 'smtp-bodycheck tempfail found=header=Received:[0-9]* *1$' "$T/sum")" 1
is "dupcheck line" "$(row "$F" 'smtp-dupcheck duplicate action=discard')" 1
ok "refusals by filter, event, verdict and code from the transaction lines, and the filters' own lines with their reasons"

is "refused client" "$(row 'refused clients' 127.0.0.1)" 7
is "refused sender alice" "$(row 'refused senders' '<alice@example.org>')" 6
is "refused sender spammer" "$(row 'refused senders' '<spammer@example.com>')" 1
is "refused domain example.net" "$(row 'refused recipient domains' example.net)" 2
is "refused domain example.org" "$(row 'refused recipient domains' example.org)" 2
is "end reasons" "$(row 'connections by end reason' quit)" 12
ok "top refused clients, senders and recipient domains; connections by end reason"

# Times: the median, 95th and 99th percentile (nearest rank) of the
# log's own figures.
pct() {   # pct FILE P: the P-th percentile of the numbers in FILE
  sort -n "$1" | awk -v p="$2" '{ v[NR] = $1 } END { r = int((NR * p + 99) / 100); if (r < 1) r = 1; print v[r] }'
}
timing() {   # timing NAME: "count median p95 p99 max" of smtp-logstat
  awk -v k="$1" '/^times/ { on = 1; next } on && $1 == k { print $2, $3, $4, $5, $6 }' "$T/sum"
}
want() { echo "$(wc -l < "$1") $(pct "$1" 50) $(pct "$1" 95) $(pct "$1" 99) $(pct "$1" 100)"; }
if grep -q 'upstream_ms=' "$T/PROXY.log"; then
  grep -o 'upstream_ms=[0-9]*' "$T/PROXY.log" | cut -d= -f2 > "$T/ums"
  is "smarthost times" "$(timing smarthost)" "$(want "$T/ums")"
  for f in smtp-envcheck smtp-bodycheck smtp-dupcheck; do
    grep -o 'filter_ms=[^ ]*' "$T/PROXY.log" | tr ',' '\n' | sed -n "s/.*$f:\([0-9]*\)\$/\1/p" > "$T/fms"
    [ -s "$T/fms" ] || fail "no filter_ms for $f"
    is "$f times" "$(timing $f)" "$(want "$T/fms")"
  done
  is "smarthost count" "$(timing smarthost | cut -d' ' -f1)" 4
  ok "the smarthost's reply times (4) and each filter's: count, median, 95th, 99th percentile and maximum as the log's figures give them"
else
  echo "note: this smtp-proxyd logs no upstream_ms= or filter_ms=: times not checked end to end"
fi

# -m: exactly one message's lines, by each of its names.
ID=$(grep 'msgid=<track-me@test>' "$T/PROXY.log" | grep ' transaction ' | sed 's/.* conn=\([^ ]*\) .*/\1/')
[ -n "$ID" ] || fail "no transaction line for <track-me@test>"
grep -E "conn=$ID( |:|\$)" "$T/stamped" > "$T/want"
[ "$(wc -l < "$T/want")" -ge 2 ] || fail "too few lines for $ID"
for p in track-me@test '<track-me@test>' tracker@example.org CAROL@example.net "$ID" "$ID.1"; do
  "$LS" -m "$p" "$T/logdir" > "$T/got" 2> "$T/err" || { cat "$T/err"; fail "-m $p: exit $?"; }
  diff "$T/want" "$T/got" > /dev/null || { diff "$T/want" "$T/got"; fail "-m $p: not that message's lines"; }
done
"$LS" -m "$p" - < "$T/stamped" > "$T/got" || fail "-m on standard input"
diff "$T/want" "$T/got" > /dev/null || fail "-m $p on standard input: not that message's lines"
"$LS" -m spammer@example.com "$T/stamped" > "$T/got" || fail "-m spammer"
[ "$(wc -l < "$T/got")" = 3 ] && grep -q 'smtp-envcheck: info: refused .*reason="sender table"' "$T/got" ||
  { cat "$T/got"; fail "-m spammer: not its 3 lines"; }
"$LS" -m nobody@nowhere.example "$T/logdir" > "$T/got" || fail "-m with no match: exit $?"
[ -s "$T/got" ] && fail "-m with no match printed lines"
ok "-m by Message-ID (with or without <>), sender, recipient (any case), conn id and ID.n: exactly the $(wc -l < "$T/want") lines of that connection; from stdin too"

# -f and -t: the lines at or after -f and before -t.
"$LS" -f "$(date -u -d '+1 day' +%Y-%m-%d)" "$T/logdir" > "$T/sum2" || fail "-f"
is "-f tomorrow" "$(val transactions "$T/sum2")" 0
"$LS" -f "$(date -u -d '-1 hour' '+%Y-%m-%d %H:%M')" -t "$(date -u -d '+1 hour' '+%Y-%m-%dT%H:%M:%S')" "$T/logdir" > "$T/sum2" || fail "-f -t"
is "-f -t around now" "$(val transactions "$T/sum2")" 12
"$LS" -t "@$(date -u -d '-1 hour' +%s)" "$T/logdir" > "$T/sum2" || fail "-t"
is "-t an hour ago" "$(val connections "$T/sum2")" 0
"$LS" -m "$ID" -f "$(date -u -d '+1 day' +%Y-%m-%d)" "$T/logdir" > "$T/got" || fail "-m -f"
[ -s "$T/got" ] && fail "-m -f tomorrow printed lines"
ok "-f and -t select by time (a date, a date and time, @seconds), for the summary and for -m"

# Without stamps (the log on standard input as the programs write it).
"$LS" < "$T/PROXY.log" > "$T/sum2" || fail "standard input"
is "unstamped transactions" "$(val transactions "$T/sum2")" 12
grep -q "^lines $lines (of the programs $lines, other 0, without a time $lines, too long 0)" "$T/sum2" ||
  { cat "$T/sum2"; fail "unstamped lines"; }
is "unstamped delivered" "$(row results delivered "$T/sum2")" 4
ok "lines without a stamp, on standard input: the same counts"
