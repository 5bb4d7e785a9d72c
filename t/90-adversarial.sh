# Adversarial clients, end to end through smtp-proxyd and smtp-forward to
# the test smarthost: SMTP smuggling in every combination of CR, LF and
# dots around the end of the data, also cut at the proxy's buffer
# boundaries, across reads and across TCP segments; stuffed dots at the
# forwarder's read boundaries; NUL bytes; lines of 1 MB without CRLF;
# 10,000 RCPTs; floods of unknown commands and of NOOPs, also from a
# client that never reads; slow-drip clients against the deadlines;
# addresses with quotes, brackets and control characters; plaintext
# injected after STARTTLS.  Each gets a defined reply, the proxy's peak
# memory stays near that of a plain session, each ends in bounded time,
# and the smarthost never gets a message the proxy did not relay as one.
# The replies and what the smarthost must store come from a model of the
# session written from RFC 5321 (t/smuggle.pl), not from the proxy's code.
. "$(dirname "$0")/lib.sh"
F=$TOP/t/filters
SMUGGLE="perl $TOP/t/smuggle.pl"
PROBLEMS=0
bad() { echo "FAIL: $*"; PROBLEMS=$((PROBLEMS + 1)); }
env_ip="TCPREMOTEIP=192.0.2.1 TCPREMOTEPORT=4000 TCPLOCALIP=127.0.0.1 TCPLOCALPORT=25"

# run INPUT OUT [proxy args] -- [forward args]: the proxy (with -R: no
# Received field) on its input from a file (so it reads 64 KB at a time),
# its log in OUT.err, its peak memory in KB in OUT.rss (GNU time: the
# largest of the proxy and the children it reaped, smtp-forward, and the
# filters if any), its time in seconds in OUT.time.
run() {
  _in=$1 _out=$2; shift 2
  _args=
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do _args="$_args $(quote "$1")"; shift; done
  [ $# -gt 0 ] && shift
  eval "env $env_ip timeout 60 /usr/bin/time -f '%M %e' -o '$_out.res' \
    '$BIN/smtp-proxyd' -h proxy.test -R $_args -- '$BIN/smtp-forward' -h proxy.test \"\$@\" \
    127.0.0.1 $HOST_PORT" < "$_in" > "$_out" 2> "$_out.err"
  _rc=$?
  tail -n 1 "$_out.res" | { read -r _rss _time; echo "$_rss" > "$_out.rss"; echo "$_time" > "$_out.time"; }
  return $_rc
}
codes() { grep -a -o '^[0-9][0-9][0-9] ' "$1" | tr -d ' ' | tr '\n' ' ' | sed 's/ $//'; }
count() { grep -a -c "^$1 " "$2"; }
# within FILE KB SECONDS WHAT: the run's memory and time were bounded.
# Under AddressSanitizer (make check-sanitize) memory moves with its
# quarantine and fake stacks: the bound is then 16 MB more, and it is the
# plain build that pins memory.
SLACK=0
[ -n "$SANITIZED" ] && SLACK=16384
within() {
  _rss=$(cat "$1.rss") _time=$(cat "$1.time")
  [ "$_rss" -le $((BASE_RSS + SLACK + $2)) ] || bad "$4: peak memory $_rss KB, a plain session takes $BASE_RSS KB"
  perl -e "exit !($_time <= $3)" || bad "$4: took $_time s (bound $3 s)"
}

setup "" -R

# A plain session: the memory every other run is measured against.
printf 'EHLO client.test\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\nSubject: x\r\n\r\nhello\r\n.\r\nQUIT\r\n' > "$T/plain"
run "$T/plain" "$T/plain.out" || fail "a plain session failed"
BASE_RSS=$(cat "$T/plain.out.rss")
[ "$(codes "$T/plain.out")" = "220 250 250 250 354 250 221" ] || fail "a plain session: $(codes "$T/plain.out")"
rm -f "$T"/host/*
ok "a plain session: peak memory $BASE_RSS KB (proxy and forwarder)"

# --- SMTP smuggling --------------------------------------------------------

# check_cases DIR WHAT: the replies and the smarthost's messages of the
# cases in DIR against the model; the smarthost is emptied after.
check_cases() {
  if $SMUGGLE check "$1" "$T/host" > "$1/check"; then
    ok "$2: $(head -n 1 "$1/check")"
  else
    head -n 30 "$1/check"; bad "$2: the proxy or the smarthost departed from the model"
  fi
  rm -f "$T"/host/*
}

# Every combination around the dot, the buffer boundaries, the spool's
# read boundaries, random mixtures: from a file, so 64 KB reads.
mkdir "$T/cases"
ncases=$($SMUGGLE gen "$T/cases") || fail "smuggle.pl gen"
i=0 maxrss=0 start=$(date +%s)
while [ $i -lt "$ncases" ]; do
  run "$T/cases/$i.in" "$T/cases/$i.out"
  r=$(cat "$T/cases/$i.out.rss")
  [ "$r" -gt "$maxrss" ] && maxrss=$r
  i=$((i + 1))
done
check_cases "$T/cases" "smuggling, $ncases cases around the end of the data (in $(( $(date +%s) - start ))s)"
[ "$maxrss" -le $((BASE_RSS + SLACK + 512)) ] || bad "smuggling: peak memory $maxrss KB"

# The same ends cut in two at each place, the pieces 0.1 s apart: on a
# pipe (two reads), then over TCP (two segments).
mkdir "$T/cut" "$T/tcpcut"
ncases=$($SMUGGLE gen "$T/cut" cut) || fail "smuggle.pl gen cut"
cp "$T"/cut/* "$T/tcpcut/"
i=0
while [ $i -lt "$ncases" ]; do
  $SMUGGLE drip "$T/cut/$i.in" 0 $(cat "$T/cut/$i.cut") | cmp -s - "$T/cut/$i.in" ||
    fail "smuggle.pl drip does not add up for case $i"
  $SMUGGLE drip "$T/cut/$i.in" 0.1 $(cat "$T/cut/$i.cut") |
    env $env_ip timeout 60 "$BIN/smtp-proxyd" -h proxy.test -R -- "$BIN/smtp-forward" -h proxy.test \
      127.0.0.1 "$HOST_PORT" > "$T/cut/$i.out" 2> "$T/cut/$i.err"
  i=$((i + 1))
done
check_cases "$T/cut" "smuggling, $ncases cases cut in two across reads of a pipe"
i=0
while [ $i -lt "$ncases" ]; do
  $SMUGGLE tcp "$PROXY_PORT" "$T/tcpcut/$i.in" 0.1 $(cat "$T/tcpcut/$i.cut") \
    > "$T/tcpcut/$i.out" 2> "$T/tcpcut/$i.err"
  i=$((i + 1))
done
check_cases "$T/tcpcut" "smuggling, $ncases cases cut in two across TCP segments"

# --- NUL bytes, long lines, floods: more cases for the model ------------

mkdir "$T/misc"
m=0
misc() {   # misc WHAT: $T/misc/$m.in is the session
  echo "$1" > "$T/misc/$m.what"; m=$((m + 1))
}
printf 'EHLO client.test\r\nNO\000OP\r\n\000\r\nEHLO a\000b\r\nMAIL FROM:<a\000@example.org>\r\nMAIL FROM:<alice+%s@example.org>\000\r\nMAIL FROM:<alice+%s@example.org>\r\nRCPT TO:<b@exa\000mple.net>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n\000\r\n..\000\r\n.\000\r\n\000.\r\n\000\r\n.\r\nQUIT\r\n' $m $m > "$T/misc/$m.in"
misc "NUL bytes in commands (500) and in the data (relayed as they are)"
perl -e 'my $mail = "MAIL FROM:<mallory+$ARGV[0]\@example.org>"; my $block = $mail . "x" x (1024 - length $mail);
  print "EHLO client.test\r\n", $block x 1023, "$mail\r\n",
  "MAIL FROM:<alice+$ARGV[0]\@example.org>\r\nRCPT TO:<b\@example.net>\r\nDATA\r\n\r\nafter the long line\r\n.\r\nQUIT\r\n"' $m > "$T/misc/$m.in"
misc "a 1 MB command line, a MAIL command every 1024 octets of it and at its end: one 500"
perl -e 'print "EHLO client.test\r\nMAIL FROM:<alice+$ARGV[0]\@example.org>\r\nRCPT TO:<b\@example.net>\r\nDATA\r\nSubject: long\r\n\r\n",
  "y" x 1048576, "\r\n.\r\nQUIT\r\n"' $m > "$T/misc/$m.in"
misc "a 1 MB line in the body: relayed as it is"
perl -e 'print "EHLO client.test\r\nNOOP", "z" x 1048576' > "$T/misc/$m.in"
misc "a 1 MB command line and the end of the input"
perl -e 'print "EHLO client.test\r\nMAIL FROM:<alice+$ARGV[0]\@example.org>\r\nRCPT TO:<b\@example.net>\r\nDATA\r\n", "y" x 1048576' $m > "$T/misc/$m.in"
misc "a 1 MB body line and the end of the input: nothing relayed"
perl -e 'print "EHLO client.test\r\n", "\r" x 1048576, "\r\nNOOP\r\nQUIT\r\n"' > "$T/misc/$m.in"
misc "1 MB of CR, then CRLF: one 500"
perl -e 'print "EHLO client.test\r\n", "\n" x 1048576, "QUIT\r\n"' > "$T/misc/$m.in"
misc "1 MB of LF: 20 errors, then 421"
perl -e 'print "EHLO client.test\r\n", "XYZZY\r\n" x 100000, "QUIT\r\n"' > "$T/misc/$m.in"
misc "100,000 unknown commands: 20 errors, then 421"
perl -e 'print "EHLO client.test\r\n", "NOOP\r\n" x 200000, "MAIL FROM:<alice+$ARGV[0]\@example.org>\r\nRCPT TO:<b\@example.net>\r\nDATA\r\n.\r\nQUIT\r\n"' $m > "$T/misc/$m.in"
misc "200,000 NOOPs pipelined, then a message"
# Command lines around the limit (1024 octets with the CRLF), the CR as
# the 1024th octet and the LF the 1025th too.
for len in 1022 1023 1024 1025 1026; do
  perl -e 'my $l = "NOOP " . "x" x ($ARGV[0] - 7); print "EHLO client.test\r\n$l\r\n${l}y\r\n", "NOOP\r\n", "x" x ($ARGV[0] - 2), "\r\nQUIT\r\n"' $len > "$T/misc/$m.in"
  misc "command lines of $len, $((len + 1)) and $len octets"
done
# A command, or its CRLF, across the first 64 KB read: the proxy must
# join the two reads into one line, never take them as two commands.
for cut in 0 1 2 3 4 5 6 10 20 30 31 32 33; do
  perl -e 'my ($cut, $m) = @ARGV; my $head = "EHLO client.test\r\n"; my $mail = "MAIL FROM:<alice+$m\@example.org>\r\n";
    my $fill = 65536 - $cut - length $head; my $noops = "";
    while (length($noops) + 1000 < $fill) { $noops .= "NOOP " . "n" x 993 . "\r\n" }
    $noops .= "NOOP " . "p" x ($fill - length($noops) - 7) . "\r\n";
    print $head, $noops, $mail, "RCPT TO:<b\@example.net>\r\nDATA\r\nSubject: straddle\r\n\r\nbody\r\n.\r\nQUIT\r\n"' $cut $m > "$T/misc/$m.in"
  misc "MAIL across the 64 KB boundary, $cut octets of it before"
done
i=0
while [ $i -lt $m ]; do
  run "$T/misc/$i.in" "$T/misc/$i.out"
  within "$T/misc/$i.out" 512 20 "$(cat "$T/misc/$i.what")"
  i=$((i + 1))
done
check_cases "$T/misc" "NUL bytes, 1 MB lines, floods: $m cases, memory within 512 KB of a plain session"

# --- 10,000 RCPTs ------------------------------------------------------

perl -e 'print "EHLO client.test\r\nMAIL FROM:<a\@example.org>\r\n";
  print "RCPT TO:<r$_\@example.net>\r\n" for 1 .. 10000;
  print "DATA\r\nSubject: many\r\n\r\nhi\r\n.\r\nQUIT\r\n"' > "$T/rcpts"
run "$T/rcpts" "$T/rcpts.out"
within "$T/rcpts.out" 512 10 "10,000 RCPTs"
[ "$(count 250 "$T/rcpts.out")" = 102 ] && [ "$(count 452 "$T/rcpts.out")" = 20 ] &&
  [ "$(codes "$T/rcpts.out" | awk '{print $NF}')" = 421 ] ||
  bad "10,000 RCPTs: $(codes "$T/rcpts.out" | tr ' ' '\n' | sort | uniq -c | tr '\n' ' ')"
[ "$(stored)" = 0 ] || bad "10,000 RCPTs: a message was relayed after 421"
ok "10,000 RCPTs: 100 accepted, 452 until the 20th error, then 421 4.7.0"
run "$T/rcpts" "$T/rcpts.out" -E 100000
within "$T/rcpts.out" 512 20 "10,000 RCPTs, -E 100000"
[ "$(count 452 "$T/rcpts.out")" = 9900 ] && grep -q '^250 2.0.0 Ok: stored' "$T/rcpts.out" ||
  bad "10,000 RCPTs, -E 100000: $(codes "$T/rcpts.out" | tr ' ' '\n' | sort | uniq -c | tr '\n' ' ')"
[ "$(cat "$T"/host/env.* | grep -c '^RCPT TO:')" = 100 ] || bad "10,000 RCPTs: the smarthost got $(cat "$T"/host/env.* | grep -c '^RCPT TO:') recipients"
grep -q 'rcpt_unlogged=9884' "$T/rcpts.out.err" || bad "10,000 RCPTs: log line: $(grep -o 'rcpt_unlogged=[0-9]*' "$T/rcpts.out.err")"
[ "$(wc -c < "$T/rcpts.out.err")" -lt 8000 ] || bad "10,000 RCPTs: the log is $(wc -c < "$T/rcpts.out.err") octets"
rm -f "$T"/host/*
ok "10,000 RCPTs with -E 100000: 100 relayed, 9,900 452s, the message delivered to 100, one bounded log line"
# Recipients the smarthost refuses do not count toward -r, only toward
# -E: with -E 100000, each of the 10,000 goes to the smarthost.
stop HOST; serve_host -R '*=550'
run "$T/rcpts" "$T/rcpts.out"
[ "$(count 550 "$T/rcpts.out")" = 20 ] && [ "$(codes "$T/rcpts.out" | awk '{print $NF}')" = 421 ] ||
  bad "10,000 RCPTs refused by the smarthost: $(codes "$T/rcpts.out" | tr ' ' '\n' | sort | uniq -c | tr '\n' ' ')"
run "$T/rcpts" "$T/rcpts.out" -E 100000
within "$T/rcpts.out" 512 30 "10,000 RCPTs refused by the smarthost"
[ "$(count 550 "$T/rcpts.out")" = 10000 ] && grep -q '^554 5.5.1' "$T/rcpts.out" ||
  bad "10,000 RCPTs refused by the smarthost: $(codes "$T/rcpts.out" | tr ' ' '\n' | sort | uniq -c | tr '\n' ' ')"
[ "$(cat "$T"/host/log.* | grep -c '^RCPT')" = 10020 ] || bad "10,000 RCPTs: the smarthost saw $(cat "$T"/host/log.* | grep -c '^RCPT') in all"
ok "10,000 RCPTs the smarthost refuses: 20 then 421 (default -E); with -E 100000 all 10,000 relayed and refused, in $(cat "$T/rcpts.out.time") s"
rm -f "$T"/host/*
stop HOST; serve_host

# --- addresses with quotes, brackets, control characters -----------------

# addr mail|rcpt CODE COMMAND [WANT]: COMMAND (printf format) gets CODE;
# with 250, the smarthost gets the address WANT (printf format; default:
# what is between the brackets) and so does the filter, in xtext, as one
# field.
addr() {
  _where=$1 _code=$2 _cmd=$3
  {
    printf 'EHLO client.test\r\n'
    [ "$_where" = rcpt ] && printf 'MAIL FROM:<alice@example.org>\r\n'
    printf "$_cmd"; printf '\r\n'
    [ "$_where" = mail ] && printf 'RCPT TO:<bob@example.net>\r\n'
    printf 'DATA\r\nSubject: addr\r\n\r\nhello\r\n.\r\nQUIT\r\n'
  } > "$T/addr"
  if [ $# -ge 4 ]; then printf "$4" > "$T/want"; else printf "$_cmd" | sed 's/^[^<]*<//; s/>[^>]*$//' > "$T/want"; fi
  rm -f "$T"/host/* "$T/record"
  run "$T/addr" "$T/addr.out" -E 100 { "$F/record" }
  _got=$(codes "$T/addr.out" | awk -v w="$_where" '{print (w == "mail") ? $3 : $4}')
  _what=$(printf "$_cmd" | perl -pe 's/([^\x21-\x7e])/sprintf "\\x%02x", ord $1/ge')
  if [ "$_got" != "$_code" ]; then bad "$_what: got $_got, not $_code"; return; fi
  if [ "$_code" = 250 ]; then
    _verb=$( [ "$_where" = mail ] && echo 'MAIL FROM:' || echo 'RCPT TO:')
    grep -qxF "$_verb<$(cat "$T/want")>" "$T"/host/env.* 2>/dev/null ||
      { bad "$_what: the smarthost got $(cat "$T"/host/env.* 2>/dev/null | tr '\n' ' ')"; return; }
    perl -e 'my ($w, $want) = @ARGV; open my $r, "<", $w or exit 1;
      while (<$r>) { chomp; my @f = split / /, $_, -1; next unless $f[0] eq $ARGV[2];
        exit 1 unless @f == 2; (my $a = $f[1]) =~ s/\+([0-9A-F]{2})/chr hex $1/ge; $a = "" if $a eq "-";
        exit($a eq $want ? 0 : 1) } exit 1' "$T/record" "$(cat "$T/want")" "$_where" ||
      { bad "$_what: the filter got $(grep "^$_where " "$T/record")"; return; }
  else
    [ "$(stored)" = 0 ] || { bad "$_what: refused, yet relayed"; return; }
  fi
  ok "$_what: $_code"
}
export RECORD="$T/record"
addr mail 250 'MAIL FROM:<"john doe"@example.org>'
addr mail 250 'MAIL FROM:<"a>b"@example.org>'
addr mail 250 'MAIL FROM:<"a\\"b"@example.org>'
addr mail 250 'MAIL FROM:<"<mallory@example.org> rcpt=x"@example.org>'
addr mail 250 'MAIL FROM:<"a,b:c;d[e]"@example.org>'
addr mail 250 'MAIL FROM:<a@[192.0.2.1]>'
addr mail 250 'MAIL FROM:<a@[IPv6:2001:db8::1]>'
addr mail 250 'MAIL FROM:<@relay.example,@other.example:a@example.org>' 'a@example.org'
addr mail 250 'MAIL FROM:<a+b=c@example.org>'
addr mail 250 'MAIL FROM:<>'
addr mail 501 'MAIL FROM:<"unterminated@example.org>'
addr mail 501 'MAIL FROM:<a@[192.0.2.1>'
addr mail 501 'MAIL FROM:<a@[300.0.2.1]>'
addr mail 501 'MAIL FROM:<<a@example.org>>'
addr mail 501 'MAIL FROM:<a@example.org>>'
addr mail 501 'MAIL FROM:<a b@example.org>'
addr mail 501 'MAIL FROM:<a\t@example.org>'
addr mail 501 'MAIL FROM:<a@exa\tmple.org>'
addr mail 501 'MAIL FROM:<a@example.org'
addr mail 501 'MAIL FROM:a@example.org'
addr mail 500 'MAIL FROM:<a\001@example.org>'
addr mail 500 'MAIL FROM:<a\033[31m@example.org>'
addr mail 500 'MAIL FROM:<a\177@example.org>'
addr mail 553 'MAIL FROM:<\303\251@example.org>'   # RFC 6531: no SMTPUTF8 (t/19)
addr mail 500 'MAIL FROM:<"a\rb"@example.org>'
addr mail 555 'MAIL FROM:<a@example.org> X-EVIL=1'
addr rcpt 250 'RCPT TO:<"bob rcpt evil"@example.net>'
addr rcpt 250 'RCPT TO:<"x+y=z\\\\"@example.net>'
addr rcpt 250 'RCPT TO:<postmaster>'
addr rcpt 250 'RCPT TO:<PostMaster>'
addr rcpt 250 'RCPT TO: <bob@example.net>' 'bob@example.net'
addr rcpt 250 'RCPT TO:<bob@[127.0.0.1]>'
addr rcpt 501 'RCPT TO:<>'
addr rcpt 501 'RCPT TO:<bob>'
addr rcpt 501 'RCPT TO:bob@example.net'
addr rcpt 501 'RCPT TO:<bob@[127.0.0.1]x>'
addr rcpt 501 'RCPT TO:<bob@example.net> <carol@example.net>'
addr rcpt 501 "RCPT TO:<$(perl -e 'print "a" x 250')@example.net>"
addr rcpt 555 'RCPT TO:<bob@example.net> NOTIFY=NEVER'
addr rcpt 500 'RCPT TO:<bob@example.net>\001'

# --- a client that never reads, slow-drip clients --------------------------

# 20 MB of NOOPs, never reading a reply: the proxy's replies fill the
# socket, and the envelope deadline (3 s) ends the session all the same.
stop PROXY; : > "$T/PROXY.log"; serve_proxy -e 3 -b 3
perl -e 'print "NOOP\r\n" x 3500000' > "$T/noops"
start=$(date +%s)
perl -e 'use IO::Socket::INET; $SIG{PIPE} = "IGNORE";
  my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$ARGV[0]") or die "connect: $!";
  open my $f, "<", $ARGV[1] or die; local $/; my $d = <$f>;
  my $o = 0; while ($o < length $d) { my $w = syswrite $s, $d, 65536, $o; last unless $w; $o += $w }
  print "$o\n"' "$PROXY_PORT" "$T/noops" > "$T/noops.sent" &
writer=$!
PIDS="$PIDS $writer"
wait_for "grep -q 'reason=' '$T/PROXY.log'" 15 || bad "a client that never reads: the session did not end"
took=$(( $(date +%s) - start ))
wait "$writer" 2> /dev/null
[ $took -le 8 ] || bad "a client that never reads: the session took $took s (deadline 3 s)"
ok "a client that sends 20 MB of NOOPs and never reads: ended after ${took}s ($(grep -o 'reason=[^ ]*' "$T/PROXY.log")), it wrote $(cat "$T/noops.sent") octets"

# drip WHAT FILE FROM-OFFSET EXPECT...: FILE over TCP, one octet a second
# from FROM-OFFSET; the proxy (-e 4 -b 4) must answer 421 4.4.2 and close
# within 4 s (+2) of the start of the phase.
drip() {
  _what=$1 _file=$2 _from=$3
  : > "$T/PROXY.log"
  $SMUGGLE tcp "$PROXY_PORT" "$_file" 1 "$_from-$(( $(wc -c < "$_file") - 1 ))" > "$T/drip.out" 2> "$T/drip.times"
  _closed=$(sed -n 's/^closed //p' "$T/drip.times")
  [ -n "$_closed" ] || { bad "$_what: the proxy did not close"; return; }
  grep -q '^421 4.4.2' "$T/drip.out" || { bad "$_what: no 421 4.4.2: $(codes "$T/drip.out")"; return; }
  perl -e "exit !($_closed >= 3.5 && $_closed <= 6.5)" || { bad "$_what: closed after $_closed s"; return; }
  [ "$(stored)" = 0 ] || { bad "$_what: a message was relayed"; return; }
  ok "$_what: 421 4.4.2 and closed after $_closed s"
}
stop PROXY; serve_proxy -e 4 -b 4
printf 'EHLO client.test\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nQUIT\r\n' > "$T/drip1"
drip "the envelope, one octet a second (-e 4)" "$T/drip1" 0
printf 'EHLO client.test\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\nSubject: slow\r\n\r\na slow body\r\n.\r\nQUIT\r\n' > "$T/drip2"
# The envelope at once, the body a byte a second: 4 s from the 354.
start=$(( $(printf 'EHLO client.test\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n' | wc -c) ))
drip "the body, one octet a second (-b 4)" "$T/drip2" "$start"
grep -q 'result="timeout in data"' "$T/PROXY.log" || bad "the body drip: log: $(grep -o 'result=[^ ]*' "$T/PROXY.log")"
# The end of the data dripped: the final dot must not come in after -b.
perl -e 'print "EHLO client.test\r\nMAIL FROM:<a\@example.org>\r\nRCPT TO:<b\@example.net>\r\nDATA\r\nSubject: slow\r\n\r\nbody\r\n.\r\n"' > "$T/drip3"
start=$(( $(wc -c < "$T/drip3") - 9 ))
drip "the last octets of the data, one a second (-b 4)" "$T/drip3" "$start"

# --- STARTTLS: plaintext injected in other ways than t/71 ----------------

if command -v openssl > /dev/null && perl -MIO::Socket::SSL -e 1 2> /dev/null; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/key.pem" \
    -out "$T/cert.pem" -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost 2> /dev/null ||
    fail "openssl: no certificate"
  stop PROXY; : > "$T/PROXY.log"; serve_proxy -e 10 -c "$T/cert.pem" -k "$T/key.pem"
  cat > "$T/inject.pl" <<'EOT'
use IO::Socket::INET; use IO::Socket::SSL;
my ($port, $ca, $how) = @ARGV;
$SIG{PIPE} = 'IGNORE';
my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 10) or die "connect: $!";
sub reply { my $r = ''; while (my $l = <$s>) { $r .= $l; last if $l =~ /^\d\d\d /; } print $r; return $r; }
reply();
print $s "EHLO inject.test\r\n"; reply();
if ($how eq 'after') {           # the 220 first, then plaintext, then TLS
  print $s "STARTTLS\r\n"; reply() =~ /^220 / or exit 3;
  print $s "MAIL FROM:<mallory\@example.org>\r\n";
  sleep 1;
} elsif ($how eq 'big') {        # more than the proxy's 64 KB buffer
  print $s "STARTTLS\r\n", "MAIL FROM:<mallory\@example.org>\r\nRSET\r\n" x 5000;
  reply() =~ /^220 / or exit 3;
} elsif ($how eq 'mail') {       # STARTTLS inside a transaction: forgotten
  print $s "MAIL FROM:<mallory\@example.org>\r\n"; reply();
  print $s "STARTTLS\r\n"; reply() =~ /^220 / or exit 0;
}
IO::Socket::SSL->start_SSL($s, SSL_ca_file => $ca, SSL_verifycn_name => 'localhost',
  SSL_verify_mode => SSL_VERIFY_PEER, Timeout => 10) or do { print "no TLS\n"; exit 0 };
print $s "EHLO inject.test\r\n"; reply();
print $s "RCPT TO:<bob\@example.net>\r\n"; reply();
print $s "QUIT\r\n"; reply();
EOT
  for how in after big mail; do
    : > "$T/PROXY.log"; rm -f "$T"/host/*
    timeout 30 perl "$T/inject.pl" "$PROXY_PORT" "$T/cert.pem" $how > "$T/inject.out" 2>&1
    rc=$?
    [ $rc = 0 ] || { cat "$T/inject.out"; bad "STARTTLS injection ($how): client status $rc"; continue; }
    wait_for "grep -q ' end conn=' '$T/PROXY.log'" 10 || bad "STARTTLS injection ($how): the session did not end"
    grep -q '^250 2.1.5' "$T/inject.out" && bad "STARTTLS injection ($how): a RCPT was accepted inside TLS"
    grep -q 'mallory' "$T"/host/log.* 2> /dev/null && bad "STARTTLS injection ($how): mallory reached the smarthost"
    grep 'from=<mallory' "$T/PROXY.log" | grep -qv 'result=aborted' &&
      bad "STARTTLS injection ($how): mallory's transaction went further than aborted"
    case $how in
      after|big) grep -q 'reason="tls failed"' "$T/PROXY.log" ||
        bad "STARTTLS injection ($how): the handshake on plaintext did not fail: $(cat "$T/PROXY.log")" ;;
      mail) if grep -q '^220 2' "$T/inject.out" && ! grep -q '^503 ' "$T/inject.out"; then
          bad "STARTTLS injection ($how): no 503 for the RCPT inside TLS"; fi ;;
    esac
    ok "STARTTLS with plaintext injected ($how): $(grep -c . "$T/inject.out") reply lines, nothing executed inside TLS"
  done
else
  echo "no openssl or IO::Socket::SSL: STARTTLS injection not tested"
fi

[ $PROBLEMS = 0 ] || fail "$PROBLEMS problem(s)"
