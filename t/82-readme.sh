# The README's commands, run exactly as written: examples/s6/README's
# steps on a fresh Debian 12 (the service up under s6-svscan, in one go),
# then the top README's pipeline, the tables of the typical setup
# (smtp-table), its checks (smtp-proxyd -C) and its whole command line,
# each with what the README says it needs around it (the files of
# /etc/noqueue, a user noqueue, /var/lib/noqueue, a certificate, a local
# caching resolver on 127.0.0.1, clamd on /run/clamav/clamd.ctl, rspamd on
# 127.0.0.1:11333, Redis on 127.0.0.1:6379, the smarthost 10.0.0.5:25: the
# test smarthost).  Port 25 and those addresses are the machine's, and
# /etc, /var/lib and /run are not the test's to change: all of it runs in
# a network and mount namespace of its own (unshare -n -m, as root), with
# /etc, /var/lib and /run as overlays whose changes vanish with it.
# Each command line must serve: a message through it is stored by the
# smarthost; a test fails when a README command does not work as written.
if [ -z "${NOQUEUE_README_NS:-}" ]; then
  [ "$(id -u)" = 0 ] || { echo "skip: the README's commands need root (port 25, /etc/noqueue)"; exit 77; }
  unshare -n -m true 2> /dev/null || { echo "skip: no network and mount namespace here (unshare -n -m)"; exit 77; }
  NOQUEUE_README_NS=1 exec unshare -n -m sh "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
. "$TOP/t/lib-scan.sh"
. "$TOP/t/lib-dns.sh"
. "$TOP/t/lib-rspamd.sh"
for c in ip redis-server swaks openssl; do command -v $c > /dev/null || skip "no $c"; done

# --- the namespace ----------------------------------------------------------
ip link set lo up || fail "lo up"
mkdir "$T/ov" && mount -t tmpfs tmpfs "$T/ov" || fail "tmpfs for the overlays"
# Unmounted before lib.sh's cleanup removes $T.
trap 's6-svscanctl -t /run/service 2> /dev/null; sleep 0.2; for p in $PIDS; do kill "$p" 2> /dev/null; done; sleep 0.1
  umount -l /etc /var/lib /var/log /var/spool /run /usr/local "$T/ov" 2> /dev/null; cleanup' EXIT
for d in /etc /var/lib /var/log /var/spool /run /usr/local; do
  n=$(echo "$d" | tr / _)
  mkdir "$T/ov/$n.up" "$T/ov/$n.work"
  mount -t overlay overlay -o "lowerdir=$d,upperdir=$T/ov/$n.up,workdir=$T/ov/$n.work" "$d" ||
    skip "no overlay on $d here"
done
# The programs, where the service's user reaches them.
mkdir "$T/bin" && cp -p "$BIN"/* "$T/bin"/ && chmod 755 "$T" || fail "copy $BIN"
PATH=$T/bin:$PATH

# The smarthosts 10.0.0.5 and 10.0.0.6, port 25: the test smarthost in a
# network namespace of its own, at the end of a veth pair (port 25 of
# 0.0.0.0 is the proxy's here).
ip link add noqueue0 type veth peer name noqueue1 || skip "no veth here"
mkdir "$T/host"
unshare -n sh -c 'while [ ! -e "$1/host.net" ]; do sleep 0.05; done
  ip link set lo up && ip addr add 10.0.0.5/24 dev noqueue1 && ip addr add 10.0.0.6/24 dev noqueue1 &&
  ip link set noqueue1 up && exec tcpserver -q -HR -l localhost 10.0.0.5 25 "$2" -d "$1/host" -l' \
  sh "$T" "$TOOLS/smtp-testhost" 2>> "$T/HOST.log" &
smarthost=$!; PIDS="$PIDS $smarthost"
# Once it is in its own namespace, the far end of the pair goes there.
wait_for "[ \"\$(readlink /proc/$smarthost/ns/net)\" != \"\$(readlink /proc/self/ns/net)\" ]" 10 ||
  fail "the smarthost's namespace"
ip link set noqueue1 netns "$smarthost" && ip addr add 10.0.0.1/24 dev noqueue0 && ip link set noqueue0 up &&
  touch "$T/host.net" || fail "the veth pair"
open_at() { perl -MIO::Socket::INET -e 'exit !IO::Socket::INET->new(PeerAddr => $ARGV[0], Timeout => 1)' "$1"; }
wait_for "open_at 10.0.0.5:25" 10 || { cat "$T/HOST.log"; fail "the smarthost on 10.0.0.5:25"; }

# --- examples/s6/README: the service on a fresh Debian 12, in one go ----------------
# Its block, as written, from the top of the source tree, but for its
# first two lines: apt-get (the packages are here: tools/deps) and make
# install (t/81 tests it; the programs of this build are put where it
# puts them, /usr/local/bin).
awk '/^Setting it up on Debian 12/ { s = 1 } s && /^The settings: env/ { exit }
     s && /^    / { print substr($0, 5) }' "$TOP/examples/s6/README" > "$T/s6.sh"
sed -n 1p "$T/s6.sh" | grep -qx 'apt-get install -y s6 ucspi-tcp' &&
  sed -n 2p "$T/s6.sh" | grep -q '^make deps && make && make install ' || { cat "$T/s6.sh"; fail "examples/s6/README: not the block expected"; }
for p in s6 ucspi-tcp; do dpkg -s $p > /dev/null 2>&1 || skip "$p is not installed"; done
install -m 755 "$BIN"/* /usr/local/bin/ || fail "the programs in /usr/local/bin"
sed 1,2d "$T/s6.sh" > "$T/s6.run"
# Under the sanitizers (make check-sanitize) a program reserves terabytes
# of address space for its shadow memory, which the example's memory
# limit (env/MEMORY) refuses: there, and only there, the limit is left
# out, right after the service directory is made.
if [ -n "${NOQUEUE_SANITIZED:-}" ]; then
  sed -i 's|^cp -R examples/s6/noqueue /etc/s6/sv/$|&\n: > /etc/s6/sv/noqueue/env/MEMORY|' "$T/s6.run"
  grep -q '^: > /etc/s6/sv/noqueue/env/MEMORY$' "$T/s6.run" || fail "the sanitized run: no memory limit to leave out"
fi
(cd "$TOP" && sh -e "$T/s6.run") > "$T/s6.out" 2>&1 || { cat "$T/s6.out"; fail "examples/s6/README's steps, as written"; }
for d in /proc/[0-9]*; do
  [ "$(cat "$d/comm" 2> /dev/null)" = s6-svscan ] && [ "$(readlink "$d/cwd")" = /run/service ] && PIDS="$PIDS ${d#/proc/}"
done
grep -q '^up (pid [0-9]*) .*ready' "$T/s6.out" || { cat "$T/s6.out"; fail "examples/s6/README: the service is not up"; }
PROXY_PORT=25
send --from alice@example.org --to bob@example.net --header 'Subject: the s6 service' ||
  { cat "$T/swaks.out"; fail "the s6 service: swaks"; }
[ "$(final_code)" = 250 ] && grep -lq 'Subject: the s6 service' "$T"/host/msg.* ||
  { cat "$T/swaks.out"; s6-tai64nlocal < /var/log/noqueue/current | tail; fail "the s6 service: not delivered"; }
grep -q 'noqueue/run: info: smtp-proxyd .* on 0.0.0.0:25 as noqueue: smtp-proxyd -h mx.example.org ' /var/log/noqueue/current &&
  grep -q 'smtp-proxyd: info: check ok' /var/log/noqueue/current ||
  { s6-tai64nlocal < /var/log/noqueue/current; fail "the s6 service: its start not logged"; }
s6-svscanctl -t /run/service
wait_for "! open_at 127.0.0.1:25" 10 || fail "the s6 service did not stop"
ok "examples/s6/README's steps on Debian 12, as written (but apt-get and make install): up, ready, a message through it stored by 10.0.0.5:25, its version and command line logged, smtp-proxyd -C passed"

# --- what the README says is there --------------------------------------------
mkdir -p /etc/noqueue
cp "$TOP"/examples/tables/clients "$TOP"/examples/tables/senders "$TOP"/examples/tables/recipients \
  "$TOP/examples/bodycheck.conf" /etc/noqueue/
id noqueue > /dev/null 2>&1 ||       # (made by examples/s6/README's steps above)
  useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin noqueue || fail "useradd noqueue"
install -d -o noqueue -g noqueue -m 0700 /var/lib/noqueue
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=mx.example.org -days 2 \
  -keyout /etc/noqueue/key.pem -out /etc/noqueue/cert.pem > "$T/openssl.out" 2>&1 ||
  { cat "$T/openssl.out"; fail "a certificate"; }
chgrp noqueue /etc/noqueue/key.pem && chmod 640 /etc/noqueue/key.pem
# "my-filter.sh": the README's own filter, the example of examples/filters.
printf '#!/bin/sh\nexec %s /etc/noqueue/blocked\n' "$TOP/examples/filters/blocklist" > /etc/noqueue/my-filter.sh
chmod 755 /etc/noqueue/my-filter.sh
echo '@spam.example' > /etc/noqueue/blocked
# The README's blocks: indented lines, a command with its continuations;
# readme_block SECTION N: the Nth block after the heading "## SECTION".
readme_block() {
  awk -v want="## $1" -v n="$2" '
    /^## / { in_s = ($0 == want); k = 0; inb = 0; next }
    !in_s { next }
    /^    / { if (!inb) { k++; inb = 1 } if (k == n) print substr($0, 5); next }
    { inb = 0 }' "$TOP/README.md"
}
# listen NAME: the block in $T/NAME.sh started as written, by sh, in
# the background; waits until port 25 answers.
listen() {
  sh "$T/$1.sh" > "$T/$1.out" 2>&1 &
  LISTENER=$!; PIDS="$PIDS $LISTENER"
  wait_for "open_at 127.0.0.1:25" 20 ||
    { cat "$T/$1.out"; fail "$1: the README's command does not listen on port 25"; }
  PIDS="$PIDS $(ps -o pid= --ppid "$LISTENER")"      # its tcpserver
}
# unlisten: the listener stopped: sh, and its tcpserver (by its pid,
# the child of that sh); the sessions end by themselves.
unlisten() {
  _server=$(ps -o pid= --ppid "$LISTENER")
  kill $_server "$LISTENER" 2> /dev/null; wait "$LISTENER" 2> /dev/null
  wait_for "! open_at 127.0.0.1:25" 10 ||
    fail "port 25 still open"
}
PROXY_PORT=25

# --- the pipeline ------------------------------------------------------------------
readme_block "The pipeline" 1 > "$T/pipeline.sh"
head -n 1 "$T/pipeline.sh" | grep -q '^tcpserver ' || { cat "$T/pipeline.sh"; fail "the pipeline: not the block expected"; }
readme_block "A typical setup" 1 > "$T/tables.sh"
grep -q '^smtp-table clients ' "$T/tables.sh" || { cat "$T/tables.sh"; fail "the tables: not the block expected"; }
sh -e "$T/tables.sh" > "$T/tables.out" 2>&1 || { cat "$T/tables.sh" "$T/tables.out"; fail "the README's smtp-table commands"; }
for t in clients senders recipients; do [ -s "/etc/noqueue/$t.cdb" ] || fail "no /etc/noqueue/$t.cdb"; done
ok "the README's smtp-table commands, as written: /etc/noqueue/clients.cdb, senders.cdb, recipients.cdb"

listen pipeline
send --from alice@example.org --to bob@example.net --header 'Subject: the pipeline' ||
  { cat "$T/swaks.out" "$T/pipeline.out"; fail "the pipeline: swaks"; }
[ "$(final_code)" = 250 ] && grep -lq 'Subject: the pipeline' "$T"/host/msg.* ||
  { cat "$T/swaks.out" "$T/pipeline.out"; fail "the pipeline: not delivered ($(final_code))"; }
send --from eve@spam.example --to bob@example.net
saw '550 5.7.1 Sender eve@spam.example is not welcome here' || fail "the pipeline: my-filter.sh did not refuse"
unlisten
ok "the README's pipeline, as written: a message through it stored by the smarthost 10.0.0.5:25; its own filter refuses a listed sender"

# --- the typical setup --------------------------------------------------------------
readme_block "A typical setup" 2 > "$T/typical.sh"
head -n 1 "$T/typical.sh" | grep -q '^tcpserver ' || { cat "$T/typical.sh"; fail "the typical setup: not the block expected"; }
# Its daemons, where it looks for them: the resolver on 127.0.0.1:53 (SPF
# of example.org: this host), Redis on 6379, clamd's socket, rspamd on
# 11333 (the test's configurations, at the README's addresses).
# free_port, which they ask, gives those (called in $(...): the list is a file).
printf '%s\n' 53 3310 11333 > "$T/ports"     # dnsmasq, clamd (TCP, not used), rspamd: in this order
free_port() { head -n 1 "$T/ports"; sed -i 1d "$T/ports"; }
cat > "$T/zone" <<'EOT'
local=/org/
local=/net/
txt-record=example.org,"v=spf1 ip4:127.0.0.1 -all"
EOT
dns_start
redis-server --port 6379 --bind 127.0.0.1 --save '' --appendonly no --daemonize no --dir "$T" > "$T/redis.log" 2>&1 &
PIDS="$PIDS $!"
start_clamd "LocalSocketMode 666"
mkdir -p /run/clamav && ln -s "$T/clamd/sock" /run/clamav/clamd.ctl
start_rspamd
wait_for "redis-cli -p 6379 ping 2> /dev/null | grep -q PONG" 10 || { cat "$T/redis.log"; fail "redis-server"; }
# "-C after smtp-proxyd": the same command line from smtp-proxyd on.
sed -e '1d' -e '2s/^\( *\)smtp-proxyd /\1smtp-proxyd -C /' "$T/typical.sh" > "$T/check.sh"
grep -q '^ *smtp-proxyd -C ' "$T/check.sh" || { cat "$T/check.sh"; fail "no smtp-proxyd line to check"; }
sh "$T/check.sh" > "$T/check.out" 2>&1 || { cat "$T/check.out"; fail "the typical setup: smtp-proxyd -C fails"; }
grep -q 'check ok' "$T/check.out" || { cat "$T/check.out"; fail "the typical setup: smtp-proxyd -C said no check ok"; }
printf 'sizee 10M\n' >> /etc/noqueue/bodycheck.conf
sh "$T/check.sh" > "$T/check.out" 2>&1 && fail "smtp-proxyd -C: exit 0 with a typo in bodycheck.conf"
grep -q "smtp-bodycheck: fatal: /etc/noqueue/bodycheck.conf:$(wc -l < /etc/noqueue/bodycheck.conf): unknown keyword sizee" "$T/check.out" ||
  { cat "$T/check.out"; fail "smtp-proxyd -C: the typo not named"; }
readme_block "A typical setup" 4 > "$T/bycheck.sh"
grep -q 'NOQUEUE_CHECK=1 smtp-bodycheck' "$T/bycheck.sh" || { cat "$T/bycheck.sh"; fail "not the check by hand"; }
sh "$T/bycheck.sh" > "$T/bycheck.out" 2>&1 && fail "the README's check by hand: exit 0 with a typo"
sed -i '$d' /etc/noqueue/bodycheck.conf
sh "$T/bycheck.sh" > "$T/bycheck.out" 2>&1 && [ "$(cat "$T/bycheck.out")" = "filter 1 eom" ] ||
  { cat "$T/bycheck.out"; fail "the README's check by hand"; }
ok "the README's checks: smtp-proxyd -C on the typical command line (check ok; a typo in bodycheck.conf named with its line, exit 100), and smtp-bodycheck's check by hand, as written"

listen typical
send --from alice@example.org --to bob@example.net --header 'Subject: the typical setup' \
  --header "Date: $(date -R)" --header "Message-ID: <typical.$$@example.org>" ||
  { cat "$T/swaks.out" "$T/typical.out"; fail "the typical setup: swaks"; }
[ "$(final_code)" = 250 ] && grep -lq 'Subject: the typical setup' "$T"/host/msg.* ||
  { cat "$T/swaks.out" "$T/typical.out"; fail "the typical setup: not delivered ($(final_code))"; }
msg=$(grep -l 'Subject: the typical setup' "$T"/host/msg.*)
grep -q '^X-Virus-Scanned: clean' "$msg" || { cat "$msg"; fail "the typical setup: smtp-clamd did not scan"; }
grep -q '^Received-SPF: pass' "$msg" || { cat "$msg"; fail "the typical setup: no SPF pass"; }
send --from alice@example.org --to nobody@example.net
saw '550 5\.1\.1'
grep -q '^<-  250-STARTTLS' "$T/swaks.out" || { cat "$T/swaks.out"; fail "the typical setup: no STARTTLS offered"; }
grep -q ': fatal: ' "$T/typical.out" && { cat "$T/typical.out"; fail "the typical setup: a filter failed"; }
unlisten
ok "the README's typical setup, as written (8 filters: DNS lists, tables, SPF, greylisting, body, clamd, rspamd, duplicates; STARTTLS offered): delivered to 10.0.0.5:25, scanned, SPF pass; an unknown recipient refused"
