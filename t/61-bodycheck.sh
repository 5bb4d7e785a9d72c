# smtp-bodycheck end to end, through smtp-proxyd and the test smarthost,
# with examples/bodycheck.conf: the corpus of t/bodycheck/ gets the reply
# codes and texts it should, a refused message is not stored, a relayed
# one carries the added field and is otherwise intact; pathological
# messages made here are answered in time with the filter's memory capped
# and measured; then options, status texts, configuration errors and exit
# codes of the program alone.
. "$(dirname "$0")/lib.sh"
C=$TOP/t/bodycheck
CONF=$TOP/examples/bodycheck.conf
BC=$BIN/smtp-bodycheck
[ -x "$BC" ] || fail "no $BC (make)"
setup ""

# The filter under a hard memory cap: past 8 MiB (far less than the big
# messages below would take if they were read whole) it dies, and the
# proxy answers 451 4.3.0 instead of the expected reply.  A sanitized
# build (make check-sanitize) reserves terabytes of address space and
# cannot run under ulimit -v: there the cap is left out, and the memory of
# the real program is what t/61 measures in make check.
if [ -n "$SANITIZED" ]; then cap=; else cap='ulimit -v 8192 || exit 111'; fi
cat > "$T/capped" <<EOT
#!/bin/sh
$cap
exec "$BC" "\$@"
EOT
chmod +x "$T/capped"

# session FILE...: one transaction per FILE, dot-stuffed, to $T/in
session() {
  { printf 'EHLO client.test\r\n'
    for f in "$@"; do
      printf 'MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n'
      sed 's/^\./../' "$f"
      printf '.\r\n'
    done
    printf 'QUIT\r\n'; } > "$T/in"
}

# relay FILE REPLY [filter options]: the client gets REPLY (a regex) after
# the data; the filter (capped, 10 s) logs into $T/err.
relay() {
  _file=$1 _want=$2; shift 2
  rm -f "$T"/host/*
  session "$_file"
  proxy_pipe "$T/in" { -t 10 "$T/capped" "$@" } --
  grep -Eq "^$_want" "$T/out" || { cat "$T/out" "$T/err"; fail "${_file##*/}: no $_want"; }
}

refused() {   # refused NAME REPLY: a corpus message; not stored
  relay "$C/$1.eml" "$2" -f "$CONF"
  [ "$(stored)" = 0 ] || fail "$1: refused, yet stored"
}

# stored_ok FILE FIELD [options]: relayed once, with FIELD in its header,
# and otherwise as it was sent.
stored_ok() {
  _file=$1 _field=$2; shift 2
  relay "$_file" '250 2\.0\.0 Ok: stored' "$@"
  [ "$(stored)" = 1 ] || fail "${_file##*/}: not stored once"
  sed -n '1,/^\r$/p' "$T"/host/msg.* | tr -d '\r' > "$T/header"
  grep -qxF "$_field" "$T/header" || { cat "$T/header"; fail "${_file##*/}: no $_field"; }
  tail -c "$(wc -c < "$_file")" "$T"/host/msg.* | cmp -s - "$_file" || fail "${_file##*/}: changed"
}

logged_here() {   # logged_here REGEX: the filter's log line for the last message
  grep -q "^smtp-bodycheck: info: conn=[0-9a-f-]* $1" "$T/err" || { cat "$T/err"; fail "no log line $1"; }
}

# --- the corpus ---------------------------------------------------------
EXE='550 5\.7\.1 Executable attachments are refused here; please send a link instead'
BAD='554 5\.6\.0 Message structure is malformed or too complex'
line() { grep -n "^$1" "$CONF" | cut -d: -f1; }

for m in clean alternative attachment-ok; do
  stored_ok "$C/$m.eml" "X-Bodycheck: none" -f "$CONF"
done
stored_ok "$C/unclosed.eml" "X-Bodycheck: malformed=unclosed-boundary" -f "$CONF"
stored_ok "$C/8bit-header.eml" "X-Bodycheck: malformed=8bit-header" -f "$CONF"
stored_ok "$C/bulk.eml" "X-Bodycheck: header=Subject:$(line 'header Subject /^') header=X-Mailer:$(line 'header X-Mailer')" -f "$CONF"
grep -q 'score=5' "$T/err" || fail "bulk: the score is not in the proxy's log"
ok "relayed intact, with X-Bodycheck: clean, multipart/alternative, a PDF, an unclosed boundary, an 8-bit header, tag and score rules"

for m in encoded-word rfc2231 utf16-name trailing-dot rfc822 digest msdownload nested-exe; do
  refused "$m" "$EXE"
done
logged_here 'verdict=reject size=[0-9]* found=extension=exe@2.2.2 name=invoice.exe$'
ok "refused, not stored: .exe in an encoded-word, RFC 2231 .scr, UTF-16 .vbs, 'EXE. ', .js in an attached message, .msi in a digest, x-msdownload, .exe three multiparts down"

refused rfc2231-gap "$EXE"
logged_here 'verdict=reject size=[0-9]* found=extension=exe@2 name=evil.exe$'
refused rfc2231-repeat "$EXE"
logged_here 'verdict=reject size=[0-9]* found=extension=js@2 name=report.js$'
refused uuencode "$EXE"
logged_here 'verdict=reject size=[0-9]* found=extension=exe name=invoice.exe$'
refused yenc "$EXE"
logged_here 'verdict=reject size=[0-9]* found=extension=scr@1 name="holiday photo.scr"$'
refused binhex "$BAD"
logged_here 'verdict=reject size=[0-9]* found=malformed=embedded-attachment$'
ok "refused, not stored: RFC 2231 sections with a gap (evil.exe, as Thunderbird reads it) or a repeated number; uuencode in a plain message, yEnc in base64 text, BinHex"

# The program alone, as in the review: sections after a gap, with -e exe only.
for m in rfc2231-gap uuencode; do
  printf 'filter 1\neom 1 %s -\n' "$(wc -c < "$C/$m.eml")" |
    "$BC" -e exe 3< "$C/$m.eml" > "$T/stdout" 2> "$T/stderr"
  [ "$(tail -n 1 "$T/stdout")" = "reject 1 550 5.7.1 Message contains a forbidden attachment" ] ||
    { cat "$T/stdout" "$T/stderr"; fail "$m with -e exe: not refused"; }
done
ok "smtp-bodycheck -e exe alone refuses evil.exe before an RFC 2231 gap and a uuencoded invoice.exe"

refused no-from '550 5\.6\.0 Message lacks a required header field'
refused subject-rule '550 5\.7\.1 No pharmacy spam, thank you'
refused tempfail '451 4\.7\.1 Try again from a resolvable host'
for m in no-boundary header-syntax encoded-container duplicate-type; do refused "$m" "$BAD"; done
ok "refused: no From, a Subject rule, a tempfail rule; no boundary, a header line without colon, an encoded multipart, two Content-Types"

rm -f "$T"/host/*
session "$C/bulk.eml"
proxy_pipe "$T/in" -S 5 { "$BC" -f "$CONF" } --
grep -q '^550 5.7.1 Message rejected' "$T/out" || { cat "$T/out"; fail "score 5 at threshold 5 not rejected"; }
[ "$(stored)" = 0 ] || fail "score: stored"
ok "score: 5 points from a header rule reach smtp-proxyd -S 5"

# One connection, three messages: nothing carries over from one to the next.
rm -f "$T"/host/*
session "$C/nested-exe.eml" "$C/clean.eml" "$C/nested-exe.eml"
proxy_pipe "$T/in" { "$BC" -f "$CONF" } --
[ "$(grep -Ec "^$EXE" "$T/out")" = 2 ] || { cat "$T/out"; fail "two refusals in one connection"; }
[ "$(stored)" = 1 ] || fail "the clean message between two refused ones"
grep -q '^X-Bodycheck: none' "$T"/host/msg.* || fail "the clean message's field"
ok "three messages in one connection: refused, relayed with 'none', refused"

# --- pathological messages, made here ------------------------------------
export HEAD="From: a@example.org\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\n"
perl -e 'print "$ENV{HEAD}" =~ s/\\r\\n/\r\n/gr;
  for $i (0..199) { print "Content-Type: multipart/mixed; boundary=\"b$i\"\r\n\r\n--b$i\r\n" }
  print "Content-Type: text/plain; name=deep.exe\r\n\r\nx\r\n";
  for $i (reverse 0..199) { print "--b$i--\r\n" }' > "$T/deep.eml"
perl -e 'print "$ENV{HEAD}" =~ s/\\r\\n/\r\n/gr, "Subject: ", "a" x (5 << 20), "\r\n\r\nbody\r\n"' > "$T/longline.eml"
perl -e 'print "$ENV{HEAD}" =~ s/\\r\\n/\r\n/gr; print "X-Filler: $_\r\n" for 1..40000; print "\r\nbody\r\n"' > "$T/section.eml"
perl -e 'print "$ENV{HEAD}" =~ s/\\r\\n/\r\n/gr, "Content-Type: multipart/mixed; boundary=b\r\n\r\n";
  print "--b\r\nContent-Type: text/plain\r\n\r\nx\r\n" for 1..1200; print "--b--\r\n"' > "$T/parts.eml"
printf "${HEAD}Subject: a\\000b\r\n\r\nbody\r\n" > "$T/nul.eml"
printf "${HEAD}Subject: \\377\\376 garbage \\200\r\n\r\nbody\r\n" > "$T/garbage.eml"
# 18 MiB (below the size limit of the example): parts of megabyte lines,
# and a .exe at the end
perl -e 'print "$ENV{HEAD}" =~ s/\\r\\n/\r\n/gr, "Content-Type: multipart/mixed; boundary=b\r\n\r\n";
  for (1..18) { print "--b\r\nContent-Type: text/plain\r\n\r\n", "z" x (1 << 20), "\r\n" }
  print "--b\r\nContent-Type: application/octet-stream; name=\"late.exe\"\r\n\r\nMZ\r\n--b--\r\n"' > "$T/big.eml"
[ "$(head -c 4 "$T/deep.eml")" = From ] && [ "$(grep -c "$(printf 'a\000b')" "$T/nul.eml")" ] || fail "generated messages"

relay "$T/deep.eml" "$BAD" -f "$CONF"
logged_here 'verdict=reject size=[0-9]* found=malformed=depth@1\(\.1\)\{31\}$'
relay "$T/longline.eml" "$BAD" -f "$CONF"
logged_here 'verdict=reject size=[0-9]* found=malformed=long-field$'
relay "$T/section.eml" "$BAD" -f "$CONF"
logged_here 'verdict=reject size=[0-9]* found=malformed=header-section$'
relay "$T/parts.eml" "$BAD" -f "$CONF"
logged_here 'verdict=reject size=[0-9]* found=malformed=parts@1000$'
relay "$T/nul.eml" "$BAD" -f "$CONF"
logged_here 'verdict=reject size=[0-9]* found=malformed=nul$'
[ "$(stored)" = 0 ] || fail "a malformed message was stored"
stored_ok "$T/garbage.eml" "X-Bodycheck: malformed=8bit-header" -f "$CONF"
relay "$T/big.eml" "$EXE" -f "$CONF"
logged_here 'verdict=reject size=[0-9]* found=extension=exe@19 name=late.exe$'
ok "under an 8 MiB cap, within 10 s: 200 deep, a 5 MB header line, 40000 fields, 1200 parts, a NUL refused with 554 5.6.0; 8-bit garbage tagged; a .exe after 18 MiB of megabyte lines found"

# Every malformation only tagged, so that each message is read to its end;
# then the filter's peak memory, measured, where GNU time is installed.
sed 's/^malformed \(.*\) reject$/malformed \1 tag/' "$CONF" > "$T/tag.conf"
stored_ok "$T/deep.eml" "X-Bodycheck: malformed=depth@1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1" -f "$T/tag.conf"
stored_ok "$T/longline.eml" "X-Bodycheck: malformed=long-field malformed=header-section" -f "$T/tag.conf"
stored_ok "$T/parts.eml" "X-Bodycheck: malformed=parts@1000" -f "$T/tag.conf"
if [ -n "$SANITIZED" ]; then
  echo "skipped: peak memory, in a sanitized build (make check measures the real programs)"
elif /usr/bin/time -f %M -o "$T/rss" true 2>/dev/null; then
  peak() {   # peak FILE: relayed, the filter under GNU time; its peak RSS (KiB) in $T/rss
    rm -f "$T/rss" "$T"/host/*
    session "$1"
    proxy_pipe "$T/in" { -t 10 /usr/bin/time -f %M -o "$T/rss" "$BC" -f "$T/tag.conf" } --
    grep -Eq '^(250 2\.0\.0 Ok: stored|550 5\.7\.1 Executable)' "$T/out" || { cat "$T/out"; fail "${1##*/}: no verdict"; }
    [ -s "$T/rss" ] || fail "${1##*/}: GNU time wrote nothing"
  }
  peak "$C/clean.eml"
  base=$(cat "$T/rss")
  most=0
  for f in deep longline section parts big; do
    peak "$T/$f.eml"
    kb=$(cat "$T/rss")
    [ "$kb" -le $((base + 512)) ] && [ "$kb" -le 4096 ] || fail "$f: $kb KiB at peak, $base for a small message"
    [ "$kb" -gt "$most" ] && most=$kb
  done
  ok "peak memory, every message read whole: $base KiB for a small one, at most $most KiB for 5 MB lines, 18 MiB and the rest"
else
  echo "skipped: peak memory, GNU time is not installed (the 8 MiB cap above holds)"
fi

# --- options and texts ------------------------------------------------------
relay "$C/alternative.eml" '552 5\.3\.4 Message size exceeds fixed maximum message size' -s 300
[ "$(stored)" = 0 ] || fail "-s: stored"
stored_ok "$C/alternative.eml" "X-Check: none" -s 1k -H X-Check
relay "$C/nested-exe.eml" '550 5\.7\.1 Message contains a forbidden attachment' -e com,EXE
relay "$C/msdownload.eml" '550 5\.7\.1 Message contains a forbidden attachment' -t 'application/x-ms*'
relay "$C/alternative.eml" '550 5\.6\.0 Message lacks a required header field' -r X-Required
ok "options: -s (552), -H, -e and -t with the default text, -r"

export SMTP_TEXT_ATTACHMENT="No such attachments, please"
relay "$C/nested-exe.eml" '550 5\.7\.1 No such attachments, please' -e exe
export SMTP_TEXT_ATTACHMENT="$(printf 'caf\303\251')"
"$BC" -e exe < /dev/null > /dev/null 2> "$T/stderr"
[ $? = 100 ] || fail "a non-ASCII status text: not exit 100"
[ "$(cat "$T/stderr")" = "smtp-bodycheck: fatal: SMTP_TEXT_ATTACHMENT has a non-ASCII byte" ] ||
  fail "text error: $(cat "$T/stderr")"
unset SMTP_TEXT_ATTACHMENT
ok "SMTP_TEXT_ATTACHMENT replaces the default text; a non-ASCII one stops the start (exit 100)"

# --- configuration errors and exit codes, the program alone ----------------
# The proxy's side written by hand, as smtp-filter(7) has it: an event's
# name, its token, its fields.
EOM="eom 7"
# fatal STATUS MESSAGE INPUT COMMAND...: exits STATUS, one stderr line MESSAGE
fatal() {
  _st=$1 _msg=$2 _in=$3; shift 3
  "$@" < "$_in" > "$T/stdout" 2> "$T/stderr"
  _rc=$?
  [ "$_rc" = "$_st" ] || fail "$*: exit $_rc, not $_st ($(cat "$T/stderr"))"
  [ "$(cat "$T/stderr")" = "smtp-bodycheck: fatal: $_msg" ] || fail "$*: stderr: $(cat "$T/stderr")"
}
USAGE="usage: smtp-bodycheck [-f file] [-s size] [-r field] [-e ext[,ext...]] [-t type[,type...]] [-H field]"
printf 'size 1M\n# fine\nextension exe frobnicate\n' > "$T/bad.conf"
fatal 100 "$T/bad.conf:3: unknown action frobnicate" /dev/null "$BC" -f "$T/bad.conf"
printf 'header Subject /(/\n' > "$T/bad.conf"
"$BC" -f "$T/bad.conf" < /dev/null 2> "$T/stderr"
[ $? = 100 ] && [ "$(wc -l < "$T/stderr")" = 1 ] &&
  grep -q "^smtp-bodycheck: fatal: $T/bad.conf:1: bad regular expression: ." "$T/stderr" ||
  fail "bad regex: $(cat "$T/stderr")"
fatal 100 "unable to open $T/none.conf: No such file or directory" /dev/null "$BC" -f "$T/none.conf"
fatal 100 "option -s: bad size 10X" /dev/null "$BC" -s 10X
fatal 100 "option -e: bad argument: exe tag" /dev/null "$BC" -e 'exe tag'
fatal 100 "option -H: bad field name X:Y" /dev/null "$BC" -H X:Y
fatal 100 "bad option -x; $USAGE" /dev/null "$BC" -x
fatal 100 "only one -f; $USAGE" /dev/null "$BC" -f "$CONF" -f "$CONF"
fatal 100 "unexpected argument extra; $USAGE" /dev/null "$BC" extra
ok "configuration errors: one line naming file:line or the option, exit 100"

printf 'filter 1\n' > "$T/in2"
"$BC" < "$T/in2" > "$T/stdout" 2> "$T/stderr"
[ $? = 0 ] && [ "$(cat "$T/stdout")" = "filter 1 eom" ] && [ ! -s "$T/stderr" ] || fail "EOF after the handshake"
printf 'filter 2\n' > "$T/in2"
fatal 111 "the proxy does not speak smtp-filter version 1" "$T/in2" "$BC"
printf 'filter 1\nnonsense 7\n' > "$T/in2"
fatal 111 "malformed event from the proxy" "$T/in2" "$BC"
printf "filter 1\n$EOM %s -\n" $(( $(wc -c < "$C/clean.eml") + 11 )) > "$T/in2"
fatal 111 "the message on fd 3 ends 11 octets before its size" "$T/in2" sh -c 'exec "$0" 3< "$1"' "$BC" "$C/clean.eml"
fatal 111 "unable to read the message on fd 3: Bad file descriptor" "$T/in2" sh -c 'exec "$0" 3<&-' "$BC"
ok "exit 0 at the end of input; 111 for another protocol, a bad event, a short or a missing message"

# --- check mode (NOQUEUE_CHECK=1): every bad line at once -----------------
. "$TOP/t/lib-checkmode.sh"
printf 'size 1M\nsizee 2M\nextension exe frobnicate\n# fine\nheader Subject /(/\nsize 10X\n' > "$T/typos.conf"
check_fails 100 6 "bad configuration" env SMTP_TEXT_TOO_BIG="$(printf 'a\tb')" "$BC" -f "$T/typos.conf" -s 3Q
check_said "^smtp-bodycheck: fatal: $T/typos.conf:2: unknown keyword sizee\$"
check_said "^smtp-bodycheck: fatal: $T/typos.conf:3: unknown action frobnicate\$"
check_said "^smtp-bodycheck: fatal: $T/typos.conf:5: bad regular expression: "
check_said "^smtp-bodycheck: fatal: option -s: bad size 3Q\$"
check_said "^smtp-bodycheck: fatal: SMTP_TEXT_TOO_BIG has a control character\$"
check_said "^smtp-bodycheck: fatal: $T/typos.conf:6: bad size 10X\$"
# Without check mode too, every bad line is on the log, then exit 100.
"$BC" -f "$T/typos.conf" < /dev/null 2> "$T/err"
[ $? = 100 ] && [ "$(grep -c "^smtp-bodycheck: fatal: $T/typos.conf:[2356]: " "$T/err")" = 4 ] ||
  { cat "$T/err"; fail "without check mode: not every bad line"; }
check_passes "the example configuration" "$BC" -f "$CONF"
man_examples_run "$TOP/man/smtp-bodycheck.8" "$TOP/examples" NOQUEUE_CHECK
ok "check mode: every bad line of the file, the option and the text at once, exit 100, no handshake (and every bad line without it too); the example configuration: the handshake, exit 0, as smtp-bodycheck(8) shows"
