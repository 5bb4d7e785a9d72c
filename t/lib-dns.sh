# Sourced by t/56 and t/57 after t/lib.sh: the test's own DNS server, a
# real dnsmasq on 127.0.0.1 at a port chosen at run time, answering only
# what the test wrote (names under .example, reverse names), and a server
# that reads queries and never answers.
command -v dnsmasq > /dev/null 2>&1 || PATH=$PATH:/usr/sbin
command -v dnsmasq > /dev/null 2>&1 || skip "dnsmasq is not installed (Debian: dnsmasq-base)"

# dns_start: serve the records of $T/zone (dnsmasq lines: host-record=,
# address=, txt-record=, mx-host=, ptr-record=, server=/zone/ip#port) on
# 127.0.0.1 $DNS_PORT.  Names not written are NXDOMAIN.
dns_start() {
  # free_port finds a free TCP port; dnsmasq takes UDP too, where a
  # client's ephemeral port may be: another port when it is taken.
  for _try in 1 2 3 4 5; do
    DNS_PORT=$(free_port)
    cat > "$T/dnsmasq.conf" <<EOT
port=$DNS_PORT
listen-address=127.0.0.1
bind-interfaces
no-resolv
no-hosts
no-negcache
local=/example/
local=/in-addr.arpa/
local=/ip6.arpa/
log-queries
log-facility=$T/dnsmasq.log
user=$(id -un)
EOT
    cat "$T/zone" >> "$T/dnsmasq.conf"
    dnsmasq --test -C "$T/dnsmasq.conf" > "$T/dnsmasq.test" 2>&1 || { cat "$T/dnsmasq.test"; fail "dnsmasq config"; }
    : > "$T/dnsmasq.err"
    : > "$T/dnsmasq.log"
    dnsmasq -k -C "$T/dnsmasq.conf" 2>> "$T/dnsmasq.err" &
    DNS_PID=$!
    PIDS="$PIDS $DNS_PID"
    wait_for "grep -q 'started' '$T/dnsmasq.log' || grep -q 'Address already in use' '$T/dnsmasq.err'" 10
    grep -q 'Address already in use' "$T/dnsmasq.err" || break
    wait "$DNS_PID" 2>/dev/null
  done
  grep -q 'started' "$T/dnsmasq.log" && ! grep -q 'Address already in use' "$T/dnsmasq.err" && return 0
  cat "$T/dnsmasq.err"; fail "dnsmasq did not start"
}

# silent_start: a UDP socket on 127.0.0.1 $SILENT_PORT that reads every
# query and never answers (a list whose servers are down).
silent_start() {
  perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new(LocalAddr => "127.0.0.1",
    LocalPort => 0, Proto => "udp") or die "no socket: $!";
    open F, ">", $ARGV[0]; print F $s->sockport, "\n"; close F;
    $SIG{TERM} = sub { exit 0 }; while (1) { $s->recv($b, 4096) }' "$T/silent.port" &
  PIDS="$PIDS $!"
  wait_for "[ -s '$T/silent.port' ]" 10 || fail "the silent server did not start"
  SILENT_PORT=$(cat "$T/silent.port")
}
