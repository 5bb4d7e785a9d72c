# Whole-program transcripts: each t/transcripts/NAME.in (LF lines, sent
# with CRLF, all at once: the client pipelines everything) must produce
# exactly NAME.out.  Optional first lines of NAME.in:
#   #proxyd ARGS      options for smtp-proxyd (filters allowed)
#   #forward ARGS     options for smtp-forward
#   #host ARGS        options for the test smarthost
#   #env NAME=VALUE   environment of smtp-proxyd
# Every reply line must also end in CRLF.
. "$(dirname "$0")/lib.sh"
cd "$TOP/t/transcripts" || exit 1
n=0
for in in *.in; do
  name=${in%.in}
  proxyd=$(sed -n 's/^#proxyd //p' "$in")
  forward=$(sed -n 's/^#forward //p' "$in")
  host=$(sed -n 's/^#host //p' "$in")
  rm -rf "$T/host"
  eval "serve_host $host"
  grep -v '^#' "$in" | crlf > "$T/in"
  (
    sed -n 's/^#env //p' "$in" > "$T/env"
    while IFS= read -r kv; do export "$kv"; done < "$T/env"
    eval "proxy_pipe '$T/in' $proxyd -- $forward"
  )
  sed 's/stored [0-9]*\./stored PID./' "$T/out" | tr -d '\r' > "$T/got"
  # GENERATE=dir writes what we got there, for review; it never passes.
  if [ -n "${GENERATE:-}" ]; then
    cp "$T/got" "$GENERATE/$name.out"; cp "$T/err" "$GENERATE/$name.err"; stop HOST; n=$((n + 1)); continue
  fi
  if ! cmp -s "$T/got" "$name.out"; then
    echo "--- $name: expected vs got"; diff "$name.out" "$T/got"; cat "$T/err"
    fail "transcript $name"
  fi
  lines=$(wc -l < "$T/out"); crlfs=$(grep -c "$(printf '\r')\$" "$T/out")
  [ "$lines" = "$crlfs" ] || fail "transcript $name: a reply line without CRLF"
  stop HOST
  n=$((n + 1))
  ok "$name"
done
[ $n -gt 0 ] || fail "no transcripts"
[ -z "${GENERATE:-}" ] || fail "GENERATE mode never passes"
