# Sourced by t/58, t/59, t/68: a redis-server of the test's own, and a
# clock the filters read from a file ($T/now), through NOQUEUE_NOW.

# start_redis: redis-server on 127.0.0.1 at a free port, no persistence;
# sets REDIS_PORT, REDIS_PID (in PIDS) and REDIS (the store's name).
start_redis() {
  command -v redis-server > /dev/null || skip "no redis-server"
  REDIS_PORT=$(free_port)
  mkdir -p "$T/redis"
  (cd "$T/redis" && exec redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' \
    --appendonly no --daemonize no --dir "$T/redis") > "$T/redis.log" 2>&1 &
  REDIS_PID=$!
  PIDS="$PIDS $REDIS_PID"
  wait_for "redis-cli -p $REDIS_PORT ping 2>/dev/null | grep -q PONG" 10 ||
    { cat "$T/redis.log"; fail "redis-server did not start"; }
  REDIS=redis://127.0.0.1:$REDIS_PORT/5
}

stop_redis() {
  kill "$REDIS_PID" 2> /dev/null
  wait_for "! kill -0 $REDIS_PID 2>/dev/null" 10 || fail "redis-server did not stop"
}

# The clock: now SECONDS sets it for every filter started from then on.
now() { echo "$1" > "$T/now"; }
now 1700000000

# clocked PROGRAM: $T/bin/PROGRAM, the program under the test's clock.
clocked() {
  mkdir -p "$T/bin"
  cat > "$T/bin/$1" << EOS
#!/bin/sh
NOQUEUE_NOW=\$(cat "$T/now") exec "$BIN/$1" "\$@"
EOS
  chmod +x "$T/bin/$1"
}

# $T/facts.sh, a filter of version 2 in sh: at MAIL, for each argument
# PATTERN=LINE whose shell pattern matches the sender, it says LINE (a
# fact or a score), then continue.
cat > "$T/facts.sh" << 'EOS'
#!/bin/sh
read -r hello; echo "filter 2 mail"
while read -r event token arg rest; do
  case $event in
  mail)
    for rule; do
      # shellcheck disable=SC2254  # the pattern is the rule's
      case $arg in ${rule%%=*}) echo "${rule#*=}" ;; esac
    done
    echo "continue $token" ;;
  esac
done
EOS
chmod +x "$T/facts.sh"

delivered() {   # delivered WHAT COUNT: the client got 250, COUNT stored
  [ "$(final_code)" = 250 ] ||
    { cat "$T/swaks.out"; tail -n 5 "$T/PROXY.log"; fail "$1: the client got $(final_code)"; }
  [ "$(stored)" = "$2" ] || fail "$1: $(stored) messages stored, not $2"
}

greylisted() {  # greylisted WHAT [COUNT]: 451 4.7.1 at RCPT, COUNT stored
  grep -aq '^<\*\* *451 4\.7\.1 Greylisted' "$T/swaks.out" || { cat "$T/swaks.out"; fail "$1: no 451 4.7.1"; }
  [ "$(stored)" = "${2:-$(stored)}" ] || fail "$1: $(stored) messages stored"
}

# parallel: 20 clients at once, client N running "one_client N" (the
# test's function: swaks options after the server's) into $T/par.N.
parallel() {
  _i=0; _pids=
  while [ $_i -lt 20 ]; do
    # shellcheck disable=SC2046  # one_client's words are options
    swaks --server 127.0.0.1 --port "$PROXY_PORT" --helo client.test --timeout 30 \
      $(one_client $_i) > "$T/par.$_i" 2>&1 &
    _pids="$_pids $!"; _i=$((_i + 1))
  done
  for _p in $_pids; do wait "$_p"; done
}
