# The s6 service of examples/s6/noqueue, as an admin deploys it, under a
# real s6-svscan on a scan directory of this test: the service comes up
# (tcpserver form) as an unprivileged user with its limits, its tables
# compiled by data/compile, its settings from env/; it relays mail; a
# restart (s6-svc -t) with a transaction in flight, a kill of the
# service's process group, down and up; a client over the connection
# limit; a configuration the user cannot read; the log (s6-log, TAI64N,
# rotation) and the worked example of noqueue(7); then s6-svscanctl -t,
# and no process left behind.
. "$(dirname "$0")/lib.sh"
for c in s6-svscan s6-svscanctl s6-supervise s6-svc s6-svstat s6-svwait s6-svok s6-log \
    s6-envdir s6-envuidgid s6-applyuidgid s6-setuidgid s6-softlimit s6-tai64nlocal \
    s6-accessrules-fs-from-cdb tcpserver tcprules tcprulescheck swaks smtp-source perl; do
  command -v $c > /dev/null || skip "no $c"
done

# The programs, copied: the service's user must reach them, and a make in
# the tree during the test must not change them halfway.
mkdir "$T/bin" && cp -p "$BIN"/* "$T/bin"/ || fail "copy $BIN"
if [ "$(id -u)" = 0 ]; then RUNAS=nobody; else RUNAS=$(id -un); fi
chmod 755 "$T"
TR=$(cd "$T" && pwd -P)          # as /proc shows working directories
SVC=$T/scan/noqueue

# --- clients -----------------------------------------------------------
# slow.pl PORT ID DIR: one message whose body stops in the middle until
# DIR/ID.go appears (DIR/ID.indata says it is there); prints "final CODE",
# or "final none" when the connection ended without a reply.
cat > "$T/slow.pl" <<'EOT'
use IO::Socket::INET;
my ($port, $id, $dir) = @ARGV;
$SIG{PIPE} = 'IGNORE'; $SIG{ALRM} = sub { print "final timeout\n"; exit 1 }; alarm 90; $| = 1;
my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 10) or die "connect: $!";
sub reply { my $r = ''; while (defined(my $l = <$s>)) { $r .= $l; last if $l =~ /^\d\d\d /; } $r }
sub step { print $s "$_[0]\r\n"; my $r = reply(); $r =~ /^$_[1]/ or die "$_[0]: $r"; }
reply() =~ /^220 / or die "no greeting";
step("EHLO slow.test", 250); step("MAIL FROM:<alice\@example.org>", 250);
step("RCPT TO:<bob\@example.net>", 250); step("DATA", 354);
print $s "Message-Id: <$id\@test>\r\nSubject: $id\r\nFrom: alice\@example.org\r\n\r\nThe first half of $id.\r\n";
open my $f, '>', "$dir/$id.indata"; close $f;
for (1 .. 600) { last if -e "$dir/$id.go"; select(undef, undef, undef, 0.05); }
print $s "The second half of $id.\r\n.\r\n";
my $r = reply();
print "final ", ($r =~ /^(\d\d\d)/ ? $1 : "none"), "\n";
print $s "QUIT\r\n"; reply();
EOT
# hold.pl PORT N DIR: N connections, each greeted, held until DIR/release
# appears; DIR/held once all are greeted.
cat > "$T/hold.pl" <<'EOT'
use IO::Socket::INET;
my ($port, $n, $dir) = @ARGV;
$SIG{ALRM} = sub { exit 1 }; alarm 90;
my @s;
for (1 .. $n) {
  my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 10) or die "connect: $!";
  my $l = <$s>; $l =~ /^220 / or die "no greeting: $l";
  push @s, $s;
}
open my $f, '>', "$dir/held"; close $f;
for (1 .. 1200) { last if -e "$dir/release"; select(undef, undef, undef, 0.05); }
for my $s (@s) { print $s "QUIT\r\n"; <$s>; }
EOT
# probe.pl PORT SECONDS DIR: connect ("refused" if it cannot), then wait
# SECONDS for the greeting: "greeting CODE", "closed", or "silent" (and
# DIR/silent), and then up to 30 s more for what comes.
cat > "$T/probe.pl" <<'EOT'
use IO::Socket::INET; use IO::Select;
my ($port, $secs, $dir) = @ARGV;
$| = 1;
my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 10) or do { print "refused\n"; exit 0 };
my $sel = IO::Select->new($s);
sub greeting { my $l = <$s>; defined $l ? ($l =~ /^(\d\d\d)/ ? "greeting $1" : "garbage") : "closed" }
if ($sel->can_read($secs)) { print greeting(), "\n"; exit 0; }
print "silent\n"; open my $f, '>', "$dir/silent"; close $f;
print $sel->can_read(30) ? greeting() : "still silent", "\n";
print $s "QUIT\r\n";
EOT

# --- the supervision tree ------------------------------------------------
SVSCAN=
alive() { _s=$(sed 's/.*) //' "/proc/$1/stat" 2> /dev/null | cut -c1); [ -n "$_s" ] && [ "$_s" != Z ]; }
# Live processes working in the service or scan directory: the whole tree
# (s6-svscan, s6-supervise, the run scripts, tcpserver, every session
# and its filters, s6-log), and nothing else.
service_procs() {
  for _d in /proc/[0-9]*; do
    _c=$(readlink "$_d/cwd" 2> /dev/null) || continue
    case $_c in "$TR/sv" | "$TR/sv/"* | "$TR/scan" | "$TR/scan/"*)
      alive "${_d#/proc/}" && echo "${_d#/proc/}" ;;
    esac
  done
}
teardown() {
  if [ -n "$SVSCAN" ]; then
    s6-svscanctl -t "$T/scan" 2> /dev/null || kill "$SVSCAN" 2> /dev/null
    wait_for "! alive $SVSCAN" 15 || kill -9 "$SVSCAN" 2> /dev/null
    wait "$SVSCAN" 2> /dev/null
    SVSCAN=
  fi
  _left=$(service_procs)
  [ -z "$_left" ] && return 0
  # Ours (they work in our directory): by pid, never by name.
  for _p in $_left; do kill "$_p" 2> /dev/null; done
  sleep 0.2
  for _p in $_left; do kill -9 "$_p" 2> /dev/null; done
  return 1
}
trap 'teardown; cleanup' EXIT
trap 'exit 1' HUP PIPE

setting() { printf '%s\n' "$2" > "$T/sv/env/$1"; }
svpid() { s6-svstat -o pid "$SVC"; }
uid_of() { awk '/^Uid:/ { print $2 }' "/proc/$1/status"; }
limit_of() { awk -v what="$2" 'index($0, what) == 1 { print $(NF - 2) }' "/proc/$1/limits"; }
# The first pid of a live process named $1 working in the service directory.
session_pid() {
  for _p in $(service_procs); do
    [ "$(cat "/proc/$_p/comm" 2> /dev/null)" = "$1" ] && { echo "$_p"; return 0; }
  done
  return 1
}
# slow_start ID: a message held open in the middle of its body (slow.pl);
# slow_finish ID: its end sent, its reply in $T/ID.out.
slow_start() {
  perl "$T/slow.pl" "$PORT" "$1" "$T" > "$T/$1.out" 2>&1 &
  slow=$!; PIDS="$PIDS $slow"
  wait_for "[ -e '$T/$1.indata' ]" 10 || { cat "$T/$1.out"; fail "$1: no session in data"; }
}
slow_finish() { touch "$T/$1.go"; wait "$slow"; }
log_has() { wait_for "grep -Eq '$1' '$T/log/current'" "${2:-5}" || { s6-tai64nlocal < "$T/log/current" | tail -n 30; fail "the log has no $1"; }; }
ready() { [ "$(s6-svstat -o up,ready "$SVC" 2> /dev/null)" = "true true" ]; }

# --- the service, as the README installs it --------------------------------
serve_host
cp -R "$TOP/examples/s6/noqueue" "$T/sv" || fail "copy the service directory"
mkdir "$T/scan" "$T/etc" "$T/spool" "$T/dup" "$T/log"
ln -s "$T/sv" "$SVC"
cp "$TOP"/examples/tables/clients "$TOP"/examples/tables/senders \
  "$TOP"/examples/tables/recipients "$TOP"/examples/bodycheck.conf "$T/etc/"
PORT=$(free_port)
PROXY_PORT=$PORT             # for send
setting PATH "$T/bin:/usr/local/bin:/usr/bin:/bin"
setting IP 127.0.0.1
setting PORT "$PORT"
setting HOSTNAME proxy.test
setting USER "$RUNAS"
setting SMARTHOST 127.0.0.1
setting SMARTPORT "$HOST_PORT"
setting TABLES "$T/etc"
setting BODYCHECK "$T/etc/bodycheck.conf"
setting DUPSTORE "$T/dup/store"
setting SPOOL "$T/spool"
setting CONCURRENCY 4
setting FILES 64
setting MEMORY 64000000
# A sanitized build maps terabytes of shadow memory: no memory limit then.
if [ -n "$SANITIZED" ]; then
  : > "$T/sv/env/MEMORY"
fi
setting SMTP_TEXT_RECIPIENT_UNKNOWN "No such user here (say hello to the test)"
printf '%s\n' "$T/log" > "$T/sv/log/env/LOGDIR"
printf '%s\n' "$RUNAS" > "$T/sv/log/env/LOGUSER"
# The ownership and modes of the README: the spool, the store's directory
# and the log directory belong to the service's user (here one user for
# both); the tables to root, readable by all.
chown "$RUNAS" "$T/spool" "$T/dup" "$T/log"
chmod 700 "$T/spool" "$T/dup"
chmod 750 "$T/log"
"$T/sv/data/compile" > "$T/compile.out" 2>&1 || { cat "$T/compile.out"; fail "data/compile"; }
for f in clients.cdb senders.cdb recipients.cdb; do
  [ -s "$T/etc/$f" ] || fail "data/compile made no $f"
done
[ -s "$T/sv/data/tcp.cdb" ] || fail "data/compile made no data/tcp.cdb"
# The shipped access rules mean what the README says.
rule() { TCPREMOTEIP=$1 tcprulescheck "$T/sv/data/tcp.cdb" | grep -qx "$2" || fail "tcp.rules for $1: not $2"; }
rule 198.51.100.7 'deny connection'
rule 192.0.2.66 'set environment variable RBLSMTPD=-Too much spam from your host'
rule 192.0.2.66 'allow connection'
rule 10.1.2.3 'allow connection'
ok "data/compile: the three tables and the access rules, compiled; the rules deny, refuse (RBLSMTPD) and allow as the README says"

cp -R "$T/sv" "$T/sv6"             # for the s6-tcpserver form, below
s6-svscan "$T/scan" > "$T/svscan.log" 2>&1 &
SVSCAN=$!
wait_for "s6-svok '$SVC' 2> /dev/null" 10 || fail "s6-svscan started no s6-supervise"
s6-svwait -U -t 20000 "$SVC" || { cat "$T/svscan.log" "$T/log/current"; fail "the service is not ready"; }
server=$(svpid)
[ "$(cat "/proc/$server/comm")" = tcpserver ] || fail "the service is $(cat "/proc/$server/comm"), not tcpserver"
[ "$(uid_of "$server")" = "$(id -u "$RUNAS")" ] || fail "tcpserver runs as uid $(uid_of "$server")"
[ "$(limit_of "$server" 'Max open files')" = 64 ] || fail "FILES: $(limit_of "$server" 'Max open files')"
log_has '^@4000[0-9a-f]{20} store=.*/dup/store slots=65536 used=0 '
[ "$(stat -c '%U %a' "$T/dup/store")" = "$RUNAS 600" ] ||
  fail "the store is $(stat -c '%U %a' "$T/dup/store"), not $RUNAS 600"
log_has "^@4000[0-9a-f]{20} noqueue/run: info: smtp-proxyd [0-9][0-9a-z.-]* on 127\\.0\\.0\\.1:$PORT as $RUNAS: smtp-proxyd -h proxy\\.test -d $T/spool .* \\{ -p required smtp-envcheck .* \\} .* -- smtp-forward -h proxy\\.test .* 127\\.0\\.0\\.1 $HOST_PORT\$"
log_has '^@4000[0-9a-f]{20} smtp-proxyd: .*check ok'
ok "up under s6-svscan (tcpserver, the shipped default): as $RUNAS, open files limited, ready; the store made by run, $RUNAS 0600; the version and the whole command line logged, smtp-proxyd -C passed"

# The s6-tcpserver form, as far as it can be checked without s6-networking
# (not packaged in Debian 12): the same run script with SUPERSERVER
# s6-tcpserver, run by hand, with a stand-in s6-tcpserver that writes down
# its environment and argv.  They must be the documented interface of
# s6-tcpserver (options, -U with UID, GID and GIDLIST from s6-envuidgid;
# ip port; s6-tcpserver-access with its rules) and, from smtp-proxyd on,
# the very argv that tcpserver runs.
mkdir "$T/stub"
cat > "$T/stub/s6-tcpserver" <<'EOT'
#!/bin/sh
{ echo "uid=$(id -u) UID=${UID-} GID=${GID-} GIDLIST=${GIDLIST-unset}"; printf '%s\n' "$@"; } > "$STUB_OUT"
EOT
printf '#!/bin/sh\nexit 111\n' > "$T/stub/s6-tcpserver-access"     # looked for, never run
chmod 755 "$T/stub/s6-tcpserver" "$T/stub/s6-tcpserver-access"
printf '%s\n' s6-tcpserver > "$T/sv6/env/SUPERSERVER"
printf '%s\n' "$T/stub:$T/bin:/usr/local/bin:/usr/bin:/bin" > "$T/sv6/env/PATH"
"$T/sv6/data/compile" > "$T/compile.out" 2>&1 || { cat "$T/compile.out"; fail "data/compile, s6-tcpserver form"; }
[ -s "$T/sv6/data/rules.cdb" ] || fail "data/compile made no data/rules.cdb"
s6-accessrules-fs-from-cdb "$T/rules.dump" "$T/sv6/data/rules.cdb" &&
  diff -r "$T/sv6/data/rules" "$T/rules.dump" || fail "data/rules.cdb is not data/rules/"
[ "$(stat -c %a "$T/sv6/data/rules.cdb")" = 644 ] || fail "data/rules.cdb: mode $(stat -c %a "$T/sv6/data/rules.cdb")"
(cd "$T/sv6" && STUB_OUT=$T/stub.out ./run 3> "$T/notify") > "$T/run6.out" 2>&1 ||
  { cat "$T/run6.out"; fail "run, s6-tcpserver form"; }
if [ "$(id -u)" = 0 ]; then
  head -n 1 "$T/stub.out" | grep -Eq "^uid=0 UID=$(id -u "$RUNAS") GID=$(id -g "$RUNAS") GIDLIST=[0-9,]*\$" ||
    fail "s6-tcpserver form: $(head -n 1 "$T/stub.out")"
  U=-U
else
  U=
fi
tail -n +2 "$T/stub.out" | tr '\n' ' ' > "$T/s6.argv"
tr '\0' ' ' < "/proc/$server/cmdline" | sed 's/^.* smtp-proxyd /smtp-proxyd /' > "$T/tcpserver.argv"
[ "$(cat "$T/s6.argv")" = "${U:+$U }-c 4 -C 10 -1 127.0.0.1 $PORT s6-tcpserver-access -v 0 -D -H -l proxy.test -x data/rules.cdb $(cat "$T/tcpserver.argv")" ] ||
  { cat "$T/s6.argv"; echo; cat "$T/tcpserver.argv"; fail "the s6-tcpserver form"; }
ok "the s6-tcpserver form: s6-envuidgid, s6-tcpserver $U -c -C -1 ip port, s6-tcpserver-access -x data/rules.cdb, then the same argv as tcpserver's"

# --- mail ------------------------------------------------------------------
# The same message twice: Message-ID, Subject and body as the first.
first() { send --from alice@example.org --to bob@example.net --header 'Message-Id: <first@test>' \
  --header 'Subject: first' --body 'The first message.'; }
first || { cat "$T/swaks.out"; fail "swaks"; }
[ "$(final_code)" = 250 ] && [ "$(stored)" = 1 ] || fail "not delivered: $(final_code), $(stored) stored"
grep -q '^X-Bodycheck: none' "$T"/host/msg.* || fail "no X-Bodycheck: smtp-bodycheck did not run"
grep -q 'by proxy.test (noqueue)' "$T"/host/msg.* || fail "no Received field of proxy.test"
send --from alice@example.org --to nobody@example.net
saw '550 5.1.1 No such user here \(say hello to the test\)'
first
[ "$(final_code)" = 250 ] && [ "$(stored)" = 1 ] || fail "the copy: $(final_code), $(stored) stored"
smtp-source -s 4 -m 20 -f alice@example.org -t carol@example.net "127.0.0.1:$PORT" ||
  fail "smtp-source"
[ "$(stored)" = 21 ] || fail "smtp-source: $(stored) stored, not 21"
ok "relayed: swaks and smtp-source (4 at once, 20 messages); an unknown recipient gets env/SMTP_TEXT_RECIPIENT_UNKNOWN; a copy is discarded"

# Every process of a session runs as the user, with the limits.
slow_start held
for prog in smtp-proxyd smtp-envcheck smtp-bodycheck smtp-dupcheck smtp-forward; do
  p=$(session_pid $prog) || fail "no $prog in the session"
  [ "$(uid_of "$p")" = "$(id -u "$RUNAS")" ] || fail "$prog runs as uid $(uid_of "$p")"
  [ "$(limit_of "$p" 'Max open files')" = 64 ] || fail "$prog: open files $(limit_of "$p" 'Max open files')"
  [ ! -s "$T/sv/env/MEMORY" ] ||
    [ "$(limit_of "$p" 'Max address space')" = 64000000 ] || fail "$prog: address space $(limit_of "$p" 'Max address space')"
done
slow_finish held
grep -q '^final 250' "$T/held.out" || { cat "$T/held.out"; fail "the held message"; }
ok "each process of a session (proxy, three filters, forwarder) runs as $RUNAS, with MEMORY and FILES"

# --- restart with a transaction in flight ----------------------------------
# s6-svc -t sends SIGTERM to tcpserver, which exits at once and leaves its
# children: the session in flight goes on, and ends as it would have.
before=$(stored)
slow_start restart
proxy=$(session_pid smtp-proxyd) || fail "no session"
s6-svc -t "$SVC"
wait_for "! alive $server" 10 || fail "s6-svc -t: tcpserver $server still there"
wait_for "ready && [ \$(svpid) != $server ]" 10 || fail "s6-svc -t: not up again"
alive "$proxy" || fail "s6-svc -t killed the session in flight"
send --from alice@example.org --to bob@example.net
[ "$(final_code)" = 250 ] || fail "a new connection after the restart: $(final_code)"
slow_finish restart
case $(cat "$T/restart.out") in
  "final 250") grep -lq 'Subject: restart' "$T"/host/msg.* || fail "250 for a message not stored" ;;
  "final 4"*) grep -lq 'Subject: restart' "$T"/host/msg.* && fail "4xx for a message stored" ;;
  *) cat "$T/restart.out"; fail "the transaction in flight vanished" ;;
esac
grep -q '^final 250' "$T/restart.out" || fail "tcpserver's session did not complete: $(cat "$T/restart.out")"
[ "$(stored)" = $((before + 2)) ] || fail "after the restart: $(stored) stored, not $((before + 2))"
log_has "transaction conn=[0-9a-f]+-$proxy .*result=delivered"
ok "s6-svc -t in the middle of a body: tcpserver restarts at once, new clients are served, the session in flight completes (250, stored, logged)"

# A kill of the whole process group (tcpserver and every session): the
# client in the middle of its body loses the connection and has no reply,
# and the smarthost keeps nothing: the client still has the message.
before=$(stored)
server=$(svpid)
slow_start killed
kill -KILL "-$server"
slow_finish killed
grep -q '^final none' "$T/killed.out" || { cat "$T/killed.out"; fail "killed: the client got a reply"; }
[ "$(stored)" = "$before" ] || fail "killed: the smarthost stored the message"
grep -lq 'Subject: killed' "$T"/host/msg.* && fail "killed: stored"
wait_for "ready && [ \$(svpid) != $server ]" 10 || fail "not up again after the kill"
ok "kill -KILL of the service's process group mid-body: the connection is cut without a reply, nothing stored, the service comes back"

# Down: the port is closed, a client is refused and retries later; up again.
s6-svc -wd -T 10000 -d "$SVC" || fail "s6-svc -d"
[ "$(perl "$T/probe.pl" "$PORT" 2 "$T")" = refused ] || fail "down: a client was not refused"
s6-svc -wU -T 10000 -u "$SVC" || fail "s6-svc -u"
[ "$(perl "$T/probe.pl" "$PORT" 2 "$T")" = "greeting 220" ] || fail "up: no greeting"
ok "s6-svc -d: connections refused; s6-svc -u: served again"

# --- limits ------------------------------------------------------------------
# CONCURRENCY=4: a fifth client is taken into the kernel's listen queue and
# waits there, without a greeting, until one of the four ends.
perl "$T/hold.pl" "$PORT" 4 "$T" > "$T/hold.out" 2>&1 &
hold=$!; PIDS="$PIDS $hold"
wait_for "[ -e '$T/held' ]" 10 || { cat "$T/hold.out"; fail "four connections"; }
perl "$T/probe.pl" "$PORT" 2 "$T" > "$T/probe.out" 2>&1 &
probe=$!; PIDS="$PIDS $probe"
wait_for "[ -e '$T/silent' ]" 10 || { cat "$T/probe.out"; fail "the fifth client was served at once"; }
touch "$T/release"
wait "$probe"; wait "$hold"
[ "$(cat "$T/probe.out")" = "silent
greeting 220" ] || { cat "$T/probe.out"; fail "the fifth client"; }
ok "CONCURRENCY=4 (tcpserver -c 4): a fifth client waits, silent, and is greeted when one of the four ends"

# --- configuration errors stop the service at its start -------------------------
# A broken configuration: a table the user cannot read, two typos in
# bodycheck.conf, the spool directory gone, the access rules not
# compiled.  One run says every problem (its checks, then smtp-proxyd -C
# with each filter in its check mode), the service stays down, and
# ./finish waits longer after each failed start (1, 2, 4 ... s) instead
# of a restart every second.  Fixed, the service comes up by itself.
if [ "$(id -u)" = 0 ]; then
  chmod 600 "$T/etc/recipients.cdb"
  cp "$T/etc/bodycheck.conf" "$T/bodycheck.good"
  printf 'sizee 10M\nextension exe frobnicate\n' >> "$T/etc/bodycheck.conf"
  lines=$(wc -l < "$T/etc/bodycheck.conf")
  mv "$T/spool" "$T/spool.away"
  mv "$T/sv/data/tcp.cdb" "$T/tcp.cdb.away"
  s6-svc -a "$SVC/log"; sleep 0.2
  s6-svc -t "$SVC"
  log_has 'noqueue/finish: run ended with status 100, failure 3 in a row: the next start in 4 s' 15
  ready && fail "up with a broken configuration"
  # The first failed start (the log was rotated just before): every
  # problem in it, up to its "not started".
  sed '/not started/q' "$T/log/current" > "$T/broken.log"
  for want in "noqueue/run: fatal: data/tcp.cdb: no such file \\(data/compile\\)" \
      "smtp-envcheck: fatal: unable to open $T/etc/recipients.cdb: Permission denied" \
      "smtp-bodycheck: fatal: $T/etc/bodycheck.conf:$((lines - 1)): unknown keyword sizee" \
      "smtp-bodycheck: fatal: $T/etc/bodycheck.conf:$lines: unknown action frobnicate" \
      "smtp-proxyd: .*$T/spool" \
      "noqueue/run: fatal: [0-9]+ problems: not started"; do
    grep -Eq "$want" "$T/broken.log" || { s6-tai64nlocal < "$T/broken.log"; fail "the first failed start did not say: $want"; }
  done
  for n in 1 2 3; do
    grep -Eq "failure $n in a row: the next start in $((1 << (n - 1))) s\$" "$T/log/current" ||
      { s6-tai64nlocal < "$T/log/current" | tail -n 20; fail "no back-off after failure $n"; }
  done
  # The starts, from their info lines: 1, then 2, then 4 s apart or more.
  grep 'noqueue/run: info: ' "$T/log/current" | cut -c2-17 | while read -r tai; do
    echo $((0x${tai#40000000}))
  done > "$T/starts"
  awk 'NR > 1 { gap = $1 - last; if (gap < want - 1) bad = 1; want *= 2 } { last = $1 } NR == 1 { want = 1 }
       END { exit bad }' "$T/starts" || { cat "$T/starts"; fail "the starts are not farther apart each time"; }
  # "run check", by hand from elsewhere: the same problems, nothing started.
  (cd / && "$T/sv/run" check) > "$T/check.out" 2>&1 && fail "run check: exit 0 with a broken configuration"
  grep -q "smtp-bodycheck: fatal: $T/etc/bodycheck.conf:$lines: unknown action frobnicate" "$T/check.out" &&
    grep -q 'noqueue/run: fatal: data/tcp.cdb: no such file' "$T/check.out" || { cat "$T/check.out"; fail "run check"; }
  chmod 644 "$T/etc/recipients.cdb"
  cp "$T/bodycheck.good" "$T/etc/bodycheck.conf"
  mv "$T/spool.away" "$T/spool"
  mv "$T/tcp.cdb.away" "$T/sv/data/tcp.cdb"
  (cd / && "$T/sv/run" check) > "$T/check.out" 2>&1 || { cat "$T/check.out"; fail "run check, fixed"; }
  tail -n 1 "$T/check.out" | grep -q '^noqueue/run: info: check ok$' || { cat "$T/check.out"; fail "run check: no check ok"; }
  wait_for ready 20 || fail "not up again once fixed"
  send --from alice@example.org --to bob@example.net
  [ "$(final_code)" = 250 ] || fail "after the fix: $(final_code)"
  # No user, no directory for the store, no super-server, no HOSTNAME: all
  # four said by one run check, exit 100.
  cp -R "$T/sv" "$T/svx" && rm -rf "$T/svx/supervise" "$T/svx/event"
  printf 'no-such-user-here\n' > "$T/svx/env/USER"
  printf '%s\n' "$T/none/store" > "$T/svx/env/DUPSTORE"
  printf 's6-tcpserver\n' > "$T/svx/env/SUPERSERVER"
  : > "$T/svx/env/HOSTNAME"
  (cd / && "$T/svx/run" check) > "$T/check.out" 2>&1
  [ $? = 100 ] || { cat "$T/check.out"; fail "run check, no user: not 100"; }
  for want in 'env/USER: no user no-such-user-here' "$T/none \\(env/DUPSTORE\\): no such directory" \
      's6-tcpserver: not found in PATH' 'env/HOSTNAME is missing or empty' 'data/rules.cdb: no such file' \
      '[0-9]+ problems: not started'; do
    grep -Eq "^noqueue/run: fatal: $want" "$T/check.out" || { cat "$T/check.out"; fail "run check did not say: $want"; }
  done
  ok "a broken configuration (a table $RUNAS cannot read, two typos, no spool, no rules): every problem said by one start and by run check, the service stays down, starts 1, 2, 4 s apart; fixed, run check says check ok and it comes up by itself; no user, no directory, no program, no setting: all said by one run check"
fi

# --- the log -------------------------------------------------------------------
s6-svc -a "$SVC/log"
wait_for "ls '$T/log' | grep -q '^@4000[0-9a-f]*\.s\$'" 10 || fail "s6-svc -a: no rotation"
[ "$(stat -c %U "$T/log/current")" = "$RUNAS" ] || fail "current is not $RUNAS's"
cat "$T"/log/@*.s "$T/log/current" > "$T/all.log"
grep -Ev '^@4000[0-9a-f]{20} ' "$T/all.log" && fail "a log line without a TAI64N timestamp"
for want in 'smtp-proxyd: info: transaction conn=[0-9a-f]+-[0-9]+ n=1 ip=127\.0\.0\.1 helo=client\.test from=<alice@example\.org> rcpt=<bob@example\.net>:250 accepted=1 class=sales size=[0-9]+ .*upstream=250 reply=250 .*result=delivered ms=[0-9]+$' \
    'smtp-proxyd: info: end conn=[0-9a-f]+-[0-9]+ ip=127\.0\.0\.1 helo=client\.test transactions=1 .*reason=quit ms=[0-9]+$' \
    'smtp-envcheck: info: refused conn=[0-9a-f]+-[0-9]+ ip=127\.0\.0\.1 event=rcpt address=nobody@example\.net code=550 reason="unknown recipient" entry=@example\.net$' \
    'smtp-dupcheck: info: recorded conn=[0-9a-f]+-[0-9]+ fp=[0-9a-f]{64} msgid=<first@test>$' \
    'smtp-dupcheck: info: duplicate conn=[0-9a-f]+-[0-9]+ fp=[0-9a-f]{64} msgid=<first@test> from=alice@example\.org rcpts=1 source=store age=[0-9]+ action=discard$' \
    'result=discarded' 'smtp-bodycheck: info: conn=[0-9a-f]+-[0-9]+ verdict=continue size=[0-9]+ found=missing=Date$' \
    "$([ "$(id -u)" = 0 ] && echo 'noqueue/run: fatal' || echo 'end conn=')"; do
  grep -Eq "$want" "$T/all.log" || { s6-tai64nlocal < "$T/all.log" | tail -n 40; fail "the log has no $want"; }
done
# The worked example of noqueue(7), its commands as they are there: what
# happened to the message from alice@example.org at this minute?
minute=$(s6-tai64nlocal < "$T/all.log" | grep ' transaction .*from=<alice@example.org>.*result=discarded' |
  head -n 1 | cut -c12-16)
s6-tai64nlocal < "$T/all.log" | grep " $minute:.* transaction .*from=<alice@example.org>" > "$T/example.out"
conn=$(grep 'result=discarded' "$T/example.out" | sed 's/.* conn=\([0-9a-f-]*\) .*/\1/' | head -n 1)
[ -n "$conn" ] || { cat "$T/example.out"; fail "the worked example: no discarded copy"; }
s6-tai64nlocal < "$T/all.log" | grep -E "conn=$conn( |\$)" > "$T/conn.out"
grep -q " end conn=$conn " "$T/conn.out" || { cat "$T/conn.out"; fail "the worked example: conn=$conn has no end line"; }
grep -oE 'result=("[^"]*"|[^ ]+)' "$T/all.log" | sort | uniq -c > "$T/results.out"
grep -Eq '^ +[0-9]+ result=delivered$' "$T/results.out" && grep -Eq '^ +1 result=discarded$' "$T/results.out" ||
  { cat "$T/results.out"; fail "the worked example: the count of results"; }
ok "the log: TAI64N on every line, rotated by s6-svc -a, $RUNAS's; each program's lines as noqueue(7) says; its worked example works"

# --- the end -------------------------------------------------------------------
# s6-svscanctl -t with a session in flight: the service is brought down
# (tcpserver exits), the session goes on and completes, and the tree (the
# logger last) waits for it: its transaction line is in the log.
server=$(svpid)
slow_start shutdown
proxy=$(session_pid smtp-proxyd) || fail "no session"
s6-svscanctl -t "$T/scan" || fail "s6-svscanctl -t"
wait_for "! alive $server" 10 || fail "s6-svscanctl -t: tcpserver still there"
sleep 1
alive "$SVSCAN" || fail "s6-svscan ended before the session in flight"
slow_finish shutdown
grep -q '^final 250' "$T/shutdown.out" || { cat "$T/shutdown.out"; fail "the session in flight at the shutdown"; }
wait_for "! alive $SVSCAN" 15 || fail "s6-svscan did not end after the last session"
wait "$SVSCAN"; SVSCAN=
teardown || fail "processes left after s6-svscanctl -t"
grep -Eq "transaction conn=[0-9a-f]+-$proxy .*result=delivered" "$T/log/current" ||
  fail "the last session's transaction is not in the log"
[ -x "$T/log/current" ] || fail "s6-log did not finish current (it was killed, or lost lines)"
ok "s6-svscanctl -t with a session in flight: it completes (250, logged), then the tree ends, s6-log last and cleanly; no process left"
