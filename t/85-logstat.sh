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

# A new rule, run dry (-d): it would refuse "Subject: dry-run".
printf 'header Subject /dry-run/ reject 550 5.7.1 The dry-run rule\n' > "$T/dry.conf"
# The smarthost refuses gone@example.org (550) and busy@example.org (451)
# at RCPT; smtp-envcheck passes both (*@example.org is listed); it waits
# 20 ms before its reply to a message (upstream_ms).
serve_host -w 20 -R gone@example.org=550 -R busy@example.org=451
serve_proxy { -p required smtp-envcheck -s "$T/senders.cdb" -r "$T/recipients.cdb" } \
  { -p required smtp-bodycheck -f "$TOP/examples/bodycheck.conf" } \
  { -p required smtp-dupcheck -w 3600 "$T/store" } \
  { -d -n dryrun smtp-bodycheck -f "$T/dry.conf" } --

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
msg d4 alice@example.org bob@example.net --header "Subject: dry-run"; code 250 "delivered 5, the dry-run rule would reject"
msg r1 spammer@example.com bob@example.net;      saw '5[0-9][0-9]'
msg r2 alice@example.org nobody@example.net;     saw '550'
msg r3 alice@example.org bob@example.net --header "Subject: cheap viagra"; code 550 "rejected 2"
msg r4 alice@example.org bob@example.net --header "Subject: Cialis here"; code 550 "rejected 3"
msg t1 alice@example.org bob@example.net --header "Received: from host.invalid (x)"; code 451 "tempfailed"
msg r5 alice@example.org gone@example.org;       saw '550'
msg r6 alice@example.org busy@example.org;       saw '451'
[ "$(stored)" = 5 ] || fail "$(stored) messages stored, not 5"
wait_for "[ \$(grep -c ' end conn=' '$T/PROXY.log') = 13 ]" 10 || { cat "$T/PROXY.log"; fail "not 13 end lines"; }
ok "a day of mail: 5 delivered (one with a recipient refused, one that a dry-run rule would reject), 1 discarded, 3 rejected, 1 tempfailed, 3 with every recipient refused"

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
is connections "$(val connections)" 13
is transactions "$(val transactions)" 13
is "refused recipients" "$(val refused-recipients)" 4
is tls "$(grep '^tls ' "$T/sum")" "tls 0 (0.0%)"
for r in delivered:5 rejected:3 tempfailed:1 discarded:1 quarantined:0 aborted:0 norecipient:3 unavailable:0 other:0; do
  is "result ${r%:*}" "$(row results "${r%:*}")" "${r#*:}"
done
grep -q '^lines .*without a time 0' "$T/sum" || { cat "$T/sum"; fail "stamped lines read as without a time"; }
ok "from the rotated s6-log directory: every line, 13 connections, 13 transactions, the count of each result, 4 refused recipients, no TLS"

is "hours: transactions" "$(awk '/^per hour/ { on = 1; next } on && /^$/ { exit } on { t += $3 } END { print t }' "$T/sum")" 13
is "hours: refused" "$(awk '/^per hour/ { on = 1; next } on && /^$/ { exit } on { t += $5 } END { print t }' "$T/sum")" 7
is "hours: the log's hour" "$(awk -v h="$(sed -n 's/^period [^ ]* \([0-9][0-9]\).*/\1/p' "$T/sum")" '/^per hour/ { on = 1; next } on && $1 == h { print $2 }' "$T/sum")" 13
ok "per hour (TZ=UTC): the 13 connections and transactions in this hour, 7 of them refused"

V="verdicts by filter"
is "bodycheck reject" "$(row "$V" 'smtp-bodycheck:eom:reject 550')" 2
is "bodycheck tempfail" "$(row "$V" 'smtp-bodycheck:eom:tempfail 451')" 1
is "envcheck rcpt" "$(row "$V" 'smtp-envcheck:rcpt:reject 550')" 2
is "envcheck mail" "$(row "$V" 'smtp-envcheck:mail:reject 550')" 1
is "dupcheck discard" "$(row "$V" 'smtp-dupcheck:eom:discard 250')" 1
is "smarthost 550" "$(row "$V" '(no filter):rcpt:refused 550')" 1
is "smarthost 451" "$(row "$V" '(no filter):rcpt:refused 451')" 1
is "dry run" "$(row "$V" 'dryrun:eom:would-reject -')" 1
F="refusals in the filters' lines"
is "envcheck lines" "$(row "$F" 'smtp-envcheck refused 550 reason=unknown recipient')" 2
is "envcheck sender" "$(row "$F" 'smtp-envcheck refused 550 reason=sender table')" 1
is "bodycheck lines" "$(grep -c 'smtp-bodycheck reject found=header=Subject:[0-9]* *2$' "$T/sum")" 1
is "bodycheck tempfail line" "$(grep -c 'smtp-bodycheck tempfail found=header=Received:[0-9]* *1$' "$T/sum")" 1
is "dupcheck line" "$(row "$F" 'smtp-dupcheck duplicate action=discard')" 1
is "would-reject line" "$(row "$F" 'smtp-proxyd would-reject dryrun:eom 550')" 1
ok "refusals by filter, event, verdict and code from the transaction lines (a dry run's would-reject too), and the filters' own lines with their reasons"

is "refused client" "$(row 'refused clients' 127.0.0.1)" 7
is "refused sender alice" "$(row 'refused senders' '<alice@example.org>')" 6
is "refused sender spammer" "$(row 'refused senders' '<spammer@example.com>')" 1
is "refused domain example.net" "$(row 'refused recipient domains' example.net)" 2
is "refused domain example.org" "$(row 'refused recipient domains' example.org)" 2
is "end reasons" "$(row 'connections by end reason' quit)" 13
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
grep -q 'upstream_ms=' "$T/PROXY.log" || fail "the log has no upstream_ms="
grep -o 'upstream_ms=[0-9]*' "$T/PROXY.log" | cut -d= -f2 > "$T/ums"
is "smarthost times" "$(timing smarthost)" "$(want "$T/ums")"
for f in smtp-envcheck smtp-bodycheck smtp-dupcheck dryrun; do
  grep -o 'filter_ms=[^ ]*' "$T/PROXY.log" | tr ',' '\n' | sed -n "s/.*$f:\([0-9]*\)\$/\1/p" > "$T/fms"
  [ -s "$T/fms" ] || fail "no filter_ms for $f"
  is "$f times" "$(timing $f)" "$(want "$T/fms")"
done
is "smarthost count" "$(timing smarthost | cut -d' ' -f1)" 5
ok "the smarthost's reply times (5) and each filter's: count, median, 95th, 99th percentile and maximum as the log's figures give them"

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
is "-f -t around now" "$(val transactions "$T/sum2")" 13
"$LS" -t "@$(date -u -d '-1 hour' +%s)" "$T/logdir" > "$T/sum2" || fail "-t"
is "-t an hour ago" "$(val connections "$T/sum2")" 0
"$LS" -m "$ID" -f "$(date -u -d '+1 day' +%Y-%m-%d)" "$T/logdir" > "$T/got" || fail "-m -f"
[ -s "$T/got" ] && fail "-m -f tomorrow printed lines"
ok "-f and -t select by time (a date, a date and time, @seconds), for the summary and for -m"

# Without stamps (the log on standard input as the programs write it).
"$LS" < "$T/PROXY.log" > "$T/sum2" || fail "standard input"
is "unstamped transactions" "$(val transactions "$T/sum2")" 13
grep -q "^lines $lines (of the programs $lines, other 0, without a time $lines, too long 0)" "$T/sum2" ||
  { cat "$T/sum2"; fail "unstamped lines"; }
is "unstamped delivered" "$(row results delivered "$T/sum2")" 5
ok "lines without a stamp, on standard input: the same counts"

# -H: one self-contained page, rendered by a real browser.
mkdir -p "$T/out"
"$LS" -H "$T/logdir" > "$T/out/logstat.html" 2> "$T/err" || { cat "$T/err"; fail "-H exited $?"; }
H=$T/out/logstat.html
[ "$(grep -c '<svg ' "$H")" = 2 ] || fail "-H: not two SVG charts"
grep -Eiq '<script|<link|<img|<iframe|<object|src=|href=|url\(|@import' "$H" && fail "-H: the page refers to something outside it or has a script"
[ "$(grep -o 'http[s]*://[^"]*' "$H" | sort -u)" = "http://www.w3.org/2000/svg" ] || fail "-H: an address other than SVG's namespace"
grep -q '<tr><td>delivered</td><td class="n">5</td></tr>' "$H" || fail "-H: no delivered 5"
grep -q '<tr><td>norecipient</td><td class="n">3</td></tr>' "$H" || fail "-H: no norecipient 3"
grep -q '<tr><td>&lt;spammer@example.com&gt;</td><td class="n">1</td></tr>' "$H" || fail "-H: the sender not escaped"
ok "-H: one page, two inline SVG charts, no script, nothing fetched, the same counts, HTML escaped"

if ! command -v chromium > /dev/null; then
  echo "note: no chromium (tools/deps.d/logstat): the page was not rendered"
else
  # Offline: no proxy, no DNS (every host maps to nowhere), no background
  # fetches; HOME and the profile in $T.
  HOME=$T timeout 60 chromium --headless --no-sandbox --disable-gpu --no-first-run \
    --user-data-dir="$T/chromium" --disable-background-networking --disable-component-update \
    --disable-sync --disable-extensions --disable-dev-shm-usage --no-proxy-server --host-resolver-rules='MAP * ~NOTFOUND' \
    --hide-scrollbars --screenshot="$T/out/logstat.png" --window-size=1200,1600 "file://$H" \
    > "$T/chromium.log" 2>&1 || { tail -n 5 "$T/chromium.log"; fail "chromium exited $?"; }
  PNG=$T/out/logstat.png
  [ -s "$PNG" ] || fail "no screenshot"
  size=$(wc -c < "$PNG")
  [ "$size" -gt 20000 ] || fail "the screenshot is $size octets: a blank page?"
  [ "$(head -c 8 "$PNG" | od -An -c | tr -d ' ')" = '211PNG\r\n032\n' ] || fail "the screenshot is not a PNG"
  if command -v python3 > /dev/null; then
    # Decode it and count the pixels of the charts' colours: the bars of
    # delivered (#2e8b57) and refused (#c0392b) must be there, and large.
    python3 - "$PNG" > "$T/pixels" <<'EOT' || fail "the screenshot could not be decoded"
import struct, sys, zlib
data = open(sys.argv[1], 'rb').read()
pos, idat = 8, b''
while pos < len(data):
    n, kind = struct.unpack('>I4s', data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b'IHDR':
        w, h, depth, ctype = struct.unpack('>IIBB', body[:10])
    elif kind == b'IDAT':
        idat += body
    pos += 12 + n
assert depth == 8 and ctype in (2, 6), (depth, ctype)
bpp = 3 if ctype == 2 else 4
raw, stride = zlib.decompress(idat), w * bpp
prev, counts, i = bytearray(stride), {}, 0
for y in range(h):
    f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
    i += 1 + stride
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0
        b = prev[x]
        c = prev[x - bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    for x in range(0, stride, bpp):
        k = bytes(line[x:x + 3])
        counts[k] = counts.get(k, 0) + 1
    prev = line
print(w, h, len(counts), counts.get(bytes((0x2e, 0x8b, 0x57)), 0), counts.get(bytes((0xc0, 0x39, 0x2b)), 0))
EOT
    read -r w h colours green red < "$T/pixels"
    [ "$w" = 1200 ] && [ "$h" = 1600 ] || fail "the screenshot is ${w}x$h"
    [ "$colours" -gt 50 ] || fail "the screenshot has $colours colours: not the page"
    [ "$green" -gt 2000 ] && [ "$red" -gt 1000 ] || fail "the charts' bars are not in the screenshot ($green green, $red red pixels)"
    extra="; decoded: $colours colours, $green pixels of the delivered bars, $red of the refused"
  else
    extra=
  fi
  # Kept where the build is, for a look.
  cp "$PNG" "$TOOLS/../logstat.png" 2> /dev/null
  ok "-H: chromium (headless, offline) renders the page: a ${size}-octet 1200x1600 screenshot$extra"
fi

# Garbage: random octets, NULs, a line past 8192 octets, broken fields.
{ head -c 300000 /dev/urandom
  printf '\n@4000000069c1a2b30c5d8e4f smtp-proxyd: info: transaction conn= rcpt=<<a>:550,<>:5,<b@x>:9999 from="unclosed\\x4\n'
  printf 'smtp-proxyd: info: transaction rcpt=<a@b>:550 filters=:::,::,a filter_ms=x:,:5,a:99999999999999999999 result= upstream_ms=-1\n'
  printf 'smtp-proxyd: info: end conn=1 filters=early-talker tls="\n'
  printf '@4000000069c1a2b30c5d8e4f\n@zzzz smtp-proxyd: info: end\n: info: x\nsmtp-proxyd:\n'
  head -c 20000 /dev/zero | tr '\0' 'x'; printf '\n'
  printf 'smtp-proxyd: info: transaction n=1 ip=192.0.2.9 from=<z@z> rcpt=<y@Example.COM>:550 accepted=0 result=aborted ms=1\n'
  printf '\000\000smtp-proxyd: info: end\000 conn=2\n'
  printf 'no newline at the end'; } > "$T/garbage"
"$LS" "$T/garbage" > "$T/sum2" 2> "$T/err" || { cat "$T/err"; fail "garbage: exit $?"; }
[ -s "$T/err" ] && { cat "$T/err"; fail "garbage: a word on stderr"; }
grep -Eq '^lines [0-9]+ .*too long [1-9]' "$T/sum2" || { head -n 3 "$T/sum2"; fail "garbage: the long line not counted"; }
is "garbage: old norecipient" "$(row results norecipient "$T/sum2")" 1
is "garbage: domain" "$(row 'refused recipient domains' example.com "$T/sum2")" 1
"$LS" -H "$T/garbage" > /dev/null && "$LS" -m a@b "$T/garbage" > /dev/null || fail "garbage: -H or -m"
ok "garbage (random octets, NULs, a line past 8192 octets, broken fields): counted or passed over, exit 0; an old log's aborted with every recipient refused counts as norecipient"

# Errors: one line, exit 100 for usage, 111 for what cannot be read.
err() {   # err STATUS REGEX ARGS...: exit STATUS, one line on stderr
  _st=$1 _re=$2; shift 2
  "$LS" "$@" > /dev/null 2> "$T/err" < /dev/null; _got=$?
  [ "$_got" = "$_st" ] || { cat "$T/err"; fail "smtp-logstat $*: exit $_got, not $_st"; }
  [ "$(wc -l < "$T/err")" = 1 ] && grep -Eq "^smtp-logstat: fatal: $_re" "$T/err" ||
    { cat "$T/err"; fail "smtp-logstat $*: not one line matching $_re"; }
}
err 100 'unknown option -x' -x
err 100 'option -m needs a value' -m
err 100 'not a time for -f: yesterday' -f yesterday
err 100 'not a time for -t: 2026-13-01' -t 2026-13-01
err 100 'not a number from 1 to 4096 for -n: 0' -n 0
err 100 '-m and -H do not go together' -m x -H
err 100 '-m reads its input more than once' -m x - "$T/stamped"
err 111 "unable to open $T/none: No such file or directory" "$T/none"
mkdir "$T/locked"; : > "$T/locked/current"; chmod 000 "$T/locked/current"
if [ "$(id -u)" != 0 ]; then err 111 "unable to open $T/locked/current" "$T/locked"; fi
"$LS" "$T/stamped" > /dev/full 2> "$T/err"; rc=$?
[ $rc = 111 ] && grep -q '^smtp-logstat: fatal: unable to write to standard output' "$T/err" || fail "/dev/full: exit $rc"
"$LS" -V | grep -Eq '^smtp-logstat [^ ]+$' || fail "-V"
"$LS" -n 1 "$T/logdir" > "$T/sum2" || fail "-n 1"
grep -q '^  (1 more)$' "$T/sum2" || { cat "$T/sum2"; fail "-n 1: no (1 more)"; }
ok "errors: an unknown option, a missing value, a bad time or -n, -m with -H or with standard input among files (100), a file that cannot be opened or a full standard output (111), each one line; -V; -n"
