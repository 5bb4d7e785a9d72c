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
