# Sourced after t/lib.sh by the tests of the filters: their check mode
# (NOQUEUE_CHECK=1, see smtp-filter(7) and each filter's ENVIRONMENT) and
# the by-hand commands of their man pages, run as written.

# check_run COMMAND...: COMMAND in check mode, "filter 1" on its standard
# input as from the proxy; its exit code in CHECK_RC, its standard output
# in $T/check.out, its standard error in $T/check.err.
check_run() {
  printf 'filter 1\n' | NOQUEUE_CHECK=1 "$@" > "$T/check.out" 2> "$T/check.err"
  CHECK_RC=$?
}

# check_fails STATUS LINES WHAT COMMAND...: in check mode, COMMAND exits
# STATUS before any handshake, with LINES lines on standard error, each a
# fatal line.  Then check_said tells what they say.
check_fails() {
  _st=$1 _n=$2 _what=$3; shift 3
  check_run "$@"
  [ "$CHECK_RC" = "$_st" ] || { cat "$T/check.err"; fail "$_what: check mode exits $CHECK_RC, not $_st"; }
  [ ! -s "$T/check.out" ] || fail "$_what: a handshake despite the problems: $(cat "$T/check.out")"
  [ "$(wc -l < "$T/check.err")" = "$_n" ] ||
    { cat "$T/check.err"; fail "$_what: $(wc -l < "$T/check.err") lines on stderr, not $_n"; }
  grep -v -q ': fatal: ' "$T/check.err" && { cat "$T/check.err"; fail "$_what: a line that is not fatal"; }
  return 0
}

# check_said PATTERN (grep -E): one of the lines of the last check.
check_said() {
  grep -E -q -- "$1" "$T/check.err" || { cat "$T/check.err"; fail "the check did not say: $1"; }
}

# check_passes WHAT COMMAND...: in check mode, COMMAND answers the
# handshake, says nothing on stderr, and exits 0 at the end of its input.
check_passes() {
  _what=$1; shift
  check_run "$@"
  [ "$CHECK_RC" = 0 ] || { cat "$T/check.err"; fail "$_what: check mode exits $CHECK_RC"; }
  grep -q '^filter [12]' "$T/check.out" || fail "$_what: no handshake: $(cat "$T/check.out")"
  [ ! -s "$T/check.err" ] || { cat "$T/check.err"; fail "$_what: said something"; }
  return 0
}

# man_examples PAGE DIR: each command of PAGE's EXAMPLES section written
# "$ command" (with its continuation lines: a line ending in | or \)
# becomes DIR/N.sh, the lines shown after it (up to the next "$ " or the
# end of the block) DIR/N.out; the roff escapes undone.  Prints N.
man_examples() {
  mkdir -p "$2" && rm -f "$2"/*.sh "$2"/*.out
  awk -v dir="$2" '
    function unroff(s) {
      gsub(/\\-/, "-", s); gsub(/\\\(dq/, "\"", s); gsub(/\\&/, "", s); gsub(/\\e/, "\\\\", s)
      return s
    }
    /^\.SH / { ex = ($0 ~ /^\.SH EXAMPLES/); blk = 0; next }
    !ex { next }
    /^\.(nf|EX)/ { blk = 1; shown = 0; next }
    /^\.(fi|EE)/ { blk = 0; cont = 0; shown = 0; next }
    !blk { next }
    { line = unroff($0) }
    cont { print line > cmd; cont = (line ~ /[|\\]$/); next }
    line ~ /^\$ / {
      n++; cmd = dir "/" n ".sh"; out = dir "/" n ".out"; printf "" > out
      print substr(line, 3) > cmd; cont = (line ~ /[|\\]$/); shown = 1; next
    }
    shown { print line > out }
    END { print n + 0 }' "$1"
}

# man_examples_run PAGE WHERE [PATTERN [SED]]: every "$ " command of
# PAGE's EXAMPLES, as written, by sh in the directory WHERE, in order,
# its standard input empty; each must exit 0 and print exactly what the
# page shows.  With PATTERN, only the commands that have it (grep -E);
# with SED, each command edited by that sed expression first (a daemon's
# port, chosen at run time).  MAN_EXAMPLES: how many ran.
man_examples_run() {
  _n=$(man_examples "$1" "$T/man-examples") || fail "$1: unable to read its examples"
  _i=1 MAN_EXAMPLES=0
  while [ "$_i" -le "$_n" ]; do
    _ex=$T/man-examples/$_i
    if [ -z "${3:-}" ] || grep -E -q -- "$3" "$_ex.sh"; then
      [ -z "${4:-}" ] || { sed -e "$4" "$_ex.sh" > "$_ex.run" && mv "$_ex.run" "$_ex.sh"; }
      (cd "$2" && sh "$_ex.sh") < /dev/null > "$_ex.got" 2> "$_ex.err" ||
        { cat "$_ex.sh" "$_ex.err"; fail "$1: example $_i fails as written"; }
      cmp -s "$_ex.out" "$_ex.got" ||
        { cat "$_ex.sh"; diff "$_ex.out" "$_ex.got"; fail "$1: example $_i does not print what the page shows"; }
      MAN_EXAMPLES=$((MAN_EXAMPLES + 1))
    fi
    _i=$((_i + 1))
  done
  [ "$MAN_EXAMPLES" -gt 0 ] || fail "$1: no \$ command${3:+ with $3} in EXAMPLES"
}
