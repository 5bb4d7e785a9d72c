# bench/anatomy and bench/faults, the tools of issue 17, run as written on
# a few connections: every process of each path has its row, with counts
# that are numbers and not zero, and the gap to the floor is printed.  No
# figure is asserted (the machine is shared: bench/README); what fails here
# is a tool that no longer runs or no longer finds a process.
. "$(dirname "$0")/lib.sh"
[ -n "$SANITIZED" ] && skip "bench/ measures the programs as built for use, not under the sanitizers"
for c in smtp-source smtp-sink tcpserver strace perf musl-gcc; do
  command -v $c > /dev/null 2>&1 || fail "$c is missing (make deps installs it)"
done

# A row: name, then numbers; its minor faults (column 6 of anatomy's
# table) above zero.
row() {   # row FILE LABEL: the row's fields
  grep -E "^  $2 +" "$1" | head -n 1
}

TMPDIR=$T BENCH_BIN=$BIN ANATOMY_N=5 timeout 120 sh "$TOP/bench/anatomy" zero flood \
  > "$T/anatomy" 2> "$T/anatomy.err" || { cat "$T/anatomy.err"; fail "bench/anatomy failed"; }
for label in smtp-proxyd smtp-forward smtp-envcheck floor floor-child; do
  r=$(row "$T/anatomy" "$label")
  [ -n "$r" ] || { cat "$T/anatomy"; fail "bench/anatomy: no row for $label"; }
  echo "$r" | awk '{ if ($2 != "1.00" || $6 + 0 <= 0 || $10 + 0 <= 0) exit 1 }' ||
    { cat "$T/anatomy"; fail "bench/anatomy: $label's row is not one process with faults and calls: $r"; }
done
[ "$(grep -c '^  gap, ' "$T/anatomy")" = 2 ] || { cat "$T/anatomy"; fail "bench/anatomy: no gap line for each path"; }
ok "bench/anatomy zero flood: a row for each process of noqueue and of the floor, and the gaps"

TMPDIR=$T BENCH_BIN=$BIN FAULTS_N=5 timeout 120 sh "$TOP/bench/faults" zero flood \
  > "$T/faults" 2> "$T/faults.err" || { cat "$T/faults.err"; fail "bench/faults failed"; }
for label in smtp-proxyd smtp-forward smtp-envcheck; do
  r=$(row "$T/faults" "$label")
  echo "$r" | awk '{ if ($2 + 0 <= 0) exit 1 }' || { cat "$T/faults"; fail "bench/faults: no faults for $label"; }
done
grep -Eq '^ +[0-9.]+  stack, by ' "$T/faults" && grep -Eq '^ +[0-9.]+  tx, by ' "$T/faults" ||
  { cat "$T/faults"; fail "bench/faults: the stack or smtp-proxyd's tx not named"; }
ok "bench/faults zero flood: each program's faults, by the stack and by the variables of the binary"
