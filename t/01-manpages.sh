# The manual: every program has a page, every page passes mandoc's lint
# without a warning, and every option a program's getopt takes is in its
# page.
. "$(dirname "$0")/lib.sh"
command -v mandoc >/dev/null || skip "no mandoc"
cd "$TOP" || exit 1
mandoc -T lint -W warning man/* > "$T/lint" 2>&1 || { cat "$T/lint"; fail "mandoc lint"; }
ok "mandoc -T lint -W warning: clean ($(ls man | wc -l) pages)"
for d in cmd/*/; do
  p=$(basename "$d")
  page=$(ls man/"$p".[0-9] 2>/dev/null) || fail "$p has no page"
  letters=$(grep -ho 'getopt(argc, argv, "[^"]*")' "$d"*.c | sed 's/.*"\(.*\)".*/\1/; s/[+:]//g')
  [ -n "$letters" ] || continue
  for l in $(echo "$letters" | sed 's/./& /g'); do
    grep -q "^\.B[RI]* *\\\\-$l\\b\|^\.RB \[ *\\\\-$l\\b\|\\\\-$l\\b" "$page" || fail "$p: option -$l not in $page"
  done
  ok "$p: a page, and its options -$(echo "$letters" | tr -d ' ') all documented"
done
