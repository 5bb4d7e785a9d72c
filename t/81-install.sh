# make install and make uninstall into a temporary root (DESTDIR), with
# two PREFIXes: each program in PREFIX/bin, mode 755, each page in
# PREFIX/share/man/manN, mode 644, and nothing else; what is installed
# runs and renders; a second install changes nothing; uninstall removes
# exactly what install put there, and nothing it did not.
. "$(dirname "$0")/lib.sh"
command -v make > /dev/null || skip "no make"
cd "$TOP" || exit 1
programs=$(for d in cmd/*/; do basename "$d"; done)
for p in $programs; do [ -x "$BIN/$p" ] || skip "$BIN/$p is not built (make)"; done

# -o all: what make check built is installed as it is; a test does not
# rebuild the tree.
mk() { make --no-print-directory -o all BIN="$BIN" "$@" > "$T/make.out" 2>&1; }

# The files install must put under $1 (a PREFIX inside the root).
expected() {
  for p in $programs; do echo "$1/bin/$p"; done
  for m in man/*.[0-9]; do echo "$1/share/man/man${m##*.}/${m#man/}"; done
}
installed() { (cd "$T/root" && find . -type f | sed 's/^\.//' | sort); }

for prefix in /usr/local /opt/noqueue; do
  rm -rf "$T/root"; mkdir "$T/root"
  mk install PREFIX=$prefix DESTDIR="$T/root" || { cat "$T/make.out"; fail "make install PREFIX=$prefix"; }
  expected $prefix | sort > "$T/expected"
  installed > "$T/installed"
  diff "$T/expected" "$T/installed" > "$T/diff" || { cat "$T/diff"; fail "PREFIX=$prefix: not the files documented"; }
  for f in $(cat "$T/expected"); do
    case $f in */bin/*) mode=755 src=$BIN/${f##*/} ;; *) mode=644 src=man/${f##*/} ;; esac
    [ "$(stat -c %a "$T/root$f")" = $mode ] || fail "$f: mode $(stat -c %a "$T/root$f"), not $mode"
    cmp -s "$src" "$T/root$f" || fail "$f is not $src"
  done
  ok "make install PREFIX=$prefix DESTDIR=...: $(wc -l < "$T/expected") files, each where INSTALL says, with its mode, nothing else"
done

# What is installed works: each program starts, refuses an unknown
# option with one line and exit 100; each page renders without warnings.
for p in $programs; do
  "$T/root/opt/noqueue/bin/$p" -Z < /dev/null > /dev/null 2> "$T/err"
  rc=$?
  [ $rc = 100 ] && [ "$(wc -l < "$T/err")" = 1 ] || { cat "$T/err"; fail "installed $p -Z: exit $rc"; }
done
if command -v mandoc > /dev/null; then
  mandoc -T lint -W warning "$T"/root/opt/noqueue/share/man/man*/* > "$T/lint" 2>&1 ||
    { cat "$T/lint"; fail "installed pages: mandoc lint"; }
fi
for p in $programs; do
  ls "$T"/root/opt/noqueue/share/man/man8/$p.8 > /dev/null 2>&1 || fail "$p is installed without its page"
done
ok "installed: every program runs (-Z: exit 100, one line), every page renders, every program has its page"

# Installed again over itself: the same files, no error.
mk install PREFIX=/opt/noqueue DESTDIR="$T/root" || { cat "$T/make.out"; fail "make install, twice"; }
installed > "$T/again"
cmp -s "$T/installed" "$T/again" || fail "a second make install changed the files"

# Uninstall, with files of others beside ours: ours go, theirs stay.
echo other > "$T/root/opt/noqueue/bin/other-program"
echo other > "$T/root/opt/noqueue/share/man/man8/other.8"
mk uninstall PREFIX=/opt/noqueue DESTDIR="$T/root" || { cat "$T/make.out"; fail "make uninstall"; }
installed > "$T/left"
printf '%s\n' /opt/noqueue/bin/other-program /opt/noqueue/share/man/man8/other.8 > "$T/theirs"
diff "$T/theirs" "$T/left" > "$T/diff" || { cat "$T/diff"; fail "make uninstall: not exactly ours removed"; }
dirs=$(cd "$T/root" && find . -mindepth 1 -type d | sed 's/^\.//' | sort | tr '\n' ' ' | sed 's/ $//')
ok "make uninstall: every file install put there is gone, the others stay (directories left: $dirs)"

# A file that cannot be installed must fail make install, whatever its
# place in the loop.
mkdir "$T/partial" && cp -p "$BIN"/* "$T/partial"/ && rm "$T/partial/$(echo "$programs" | head -n 1)"
if make --no-print-directory -o all BIN="$T/partial" install PREFIX=/x DESTDIR="$T/root3" > "$T/make.out" 2>&1; then
  fail "make install exits 0 although $(echo "$programs" | head -n 1) could not be installed"
fi
ls -A "$T/root3/x/bin" 2>/dev/null | grep -q '^\.' && fail "make install left a temporary file"
ok "make install fails when a program cannot be installed"
