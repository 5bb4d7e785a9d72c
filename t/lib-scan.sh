# Sourced after t/lib.sh by the tests of the scanner adapters: the real
# daemons from Debian, once per script, on 127.0.0.1 at a port chosen at
# run time, with private configurations in $T.

# The EICAR test string (not a virus: the industry's test pattern).
EICAR='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
# SpamAssassin's GTUBE test string.
GTUBE='XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X'

# start_clamd [clamd.conf lines...]: clamd -c with one signature of our
# own (a body signature of EICAR, .ndb) and no official database, on TCP
# and on the Unix socket $T/clamd/sock; sets CLAMD_PORT and CLAMD_PID.
# Its log is $T/clamd/log.
start_clamd() {
  command -v clamd > /dev/null || skip "no clamd (clamav-daemon)"
  mkdir -p "$T/clamd/db"
  printf 'Noqueue.Test.EICAR:0:*:%s\n' "$(printf %s "$EICAR" | od -An -tx1 | tr -d ' \n')" \
    > "$T/clamd/db/noqueue.ndb"
  CLAMD_PORT=$(free_port)
  { printf '%s\n' "Foreground yes" "DatabaseDirectory $T/clamd/db" "TCPSocket $CLAMD_PORT" \
      "TCPAddr 127.0.0.1" "LocalSocket $T/clamd/sock" "LogFile $T/clamd/log" "PidFile $T/clamd/pid" "User root"
    for _l in "$@"; do printf '%s\n' "$_l"; done; } > "$T/clamd/conf"
  clamd -c "$T/clamd/conf" > /dev/null 2>&1 &
  CLAMD_PID=$!
  PIDS="$PIDS $CLAMD_PID"
  wait_for "port_open $CLAMD_PORT && [ -S '$T/clamd/sock' ]" 60 ||
    { cat "$T/clamd/log"; skip "clamd did not start"; }
}

# start_spamd: spamd with the rules Debian ships, local tests only (-L),
# as nobody; sets SPAMD_PORT and SPAMD_PID (the parent: it ends its
# children when it gets SIGTERM).  Its log is $T/spamd.log.
start_spamd() {
  command -v spamd > /dev/null || skip "no spamd"
  SPAMD_PORT=$(free_port)
  spamd -L -x --listen="127.0.0.1:$SPAMD_PORT" --allowed-ips=127.0.0.1 -u nobody \
    --max-children=2 --min-children=1 --pidfile="$T/spamd.pid" -s "$T/spamd.log" > /dev/null 2>&1 &
  SPAMD_PID=$!
  PIDS="$PIDS $SPAMD_PID"
  wait_for "port_open $SPAMD_PORT" 60 || { cat "$T/spamd.log" 2> /dev/null; skip "spamd did not start"; }
}

# message FILE SUBJECT [BODY-LINE]: a plain message with a Date and a
# Message-ID, CRLF lines.
message() {
  printf '%s\r\n' "From: Alice <alice@example.org>" "To: Bob <bob@example.net>" \
    "Subject: $2" "Date: $(date -R)" "Message-ID: <$(date +%s%N).$$@example.org>" \
    "MIME-Version: 1.0" "Content-Type: text/plain; charset=us-ascii" "" \
    "Hello Bob," "" "${3:-the meeting is at ten tomorrow, in the small room.}" "" "Alice" > "$1"
}

# cpu_ticks PID...: user+system clock ticks of those processes so far.
cpu_ticks() {
  for _p in "$@"; do cut -d' ' -f14,15 "/proc/$_p/stat" 2> /dev/null; done |
    awk '{ t += $1 + $2 } END { print t + 0 }'
}
