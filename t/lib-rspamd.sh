# Sourced by t/67-rspamd.sh after t/lib.sh and t/lib-dns.sh: the real
# rspamd from Debian, its normal worker alone, with the configuration of
# t/rspamd/ in $T/rspamd (nothing read from /etc/rspamd's local.d, nothing
# written outside $T).

# start_rspamd: sets RSPAMD_PORT and RSPAMD_PID (the main process; its
# workers' pids are added to PIDS too).  Needs DNS_PORT.  Loading the
# configuration takes seconds: the port is waited for once.
start_rspamd() {
  command -v rspamd > /dev/null || skip "no rspamd (Debian: rspamd)"
  RSPAMD_PORT=$(free_port)
  _r=$T/rspamd
  mkdir -p "$_r/db" "$_r/run" "$_r/log"
  cp -R "$TOP/t/rspamd" "$_r/conf"
  find "$_r/conf" -type f -exec sed -i "s|@PORT@|$RSPAMD_PORT|; s|@DNS_PORT@|$DNS_PORT|; s|@DIR@|$_r|" {} +
  # -i: the worker may run as root (the tests do); -f: in the foreground.
  rspamd -f -i -u "$(id -un)" -g "$(id -gn)" --var=LOCAL_CONFDIR="$_r/conf" \
    --var=DBDIR="$_r/db" --var=RUNDIR="$_r/run" --var=LOGDIR="$_r/log" \
    > "$_r/stdout" 2>&1 &
  RSPAMD_PID=$!
  PIDS="$PIDS $RSPAMD_PID"
  wait_for "port_open $RSPAMD_PORT" 60 || {
    tail -n 20 "$_r/stdout" "$_r/rspamd.log" 2>/dev/null; skip "rspamd did not start"; }
  rspamd_workers
}

# The main process's children (the normal worker, hs_helper), by parent
# pid, so that the cleanup ends them too even if the main process died.
rspamd_workers() {
  for _p in $(ps -o pid= --ppid "$RSPAMD_PID" 2>/dev/null); do PIDS="$PIDS $_p"; done
}

# stop_rspamd: SIGTERM to the main process, which stops its workers;
# waits until the port is closed.
stop_rspamd() {
  [ -n "${RSPAMD_PID:-}" ] || return 0
  rspamd_workers
  kill "$RSPAMD_PID" 2>/dev/null
  wait_for "! port_open $RSPAMD_PORT" 10 || fail "rspamd did not stop"
  wait_for "! kill -0 $RSPAMD_PID 2>/dev/null" 10
  RSPAMD_PID=
}
