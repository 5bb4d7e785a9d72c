# Run by t/64-milter-real.sh in a network namespace of its own (unshare
# -n -m, as root): OpenDMARC reads /etc/resolv.conf and asks port 53, so
# here a dnsmasq of the test listens on 127.0.0.1:53, the only name server
# the namespace knows (a private resolv.conf mounted over /etc/resolv.conf,
# seen only in this mount namespace).  No internet can be reached from
# here.  Arguments: a message signed by OpenDKIM for example.org, and the
# public key file for OpenDKIM's TestPublicKeys.
#   OpenDKIM then OpenDMARC in one chain: dmarc=pass (OpenDMARC trusts
#   OpenDKIM's Authentication-Results); OpenDMARC alone: dmarc=fail.
. "$(dirname "$0")/../lib.sh"     # (NOQUEUE_BIN and NOQUEUE_BUILD absolute)
TOP=$(cd "$TOP/.." && pwd)
. "$TOP/t/lib-milter.sh"
PATH=$PATH:/usr/sbin
SIGNED=$1 KEYS=$2
ip link set lo up || fail "netns: lo"
echo 'nameserver 127.0.0.1' > "$T/resolv.conf"
mount --bind "$T/resolv.conf" /etc/resolv.conf || fail "netns: resolv.conf"
cat > "$T/dnsmasq.conf" <<EOT
port=53
listen-address=127.0.0.1
bind-interfaces
no-resolv
no-hosts
user=$(id -un)
log-queries
log-facility=$T/dnsmasq.log
txt-record=_dmarc.example.org,"v=DMARC1; p=reject"
EOT
dnsmasq -k -C "$T/dnsmasq.conf" 2>> "$T/dnsmasq.err" &
PIDS="$PIDS $!"
DKIM_PORT=$(free_port)
DMARC_PORT=$(free_port)
printf 'Syslog no\nBackground no\nSocket inet:%s@127.0.0.1\nPidFile %s/dkim.pid\nMode v\nAuthservID mx.test.local\nTestPublicKeys %s\n' \
  "$DKIM_PORT" "$T" "$KEYS" > "$T/opendkim.conf"
opendkim -f -x "$T/opendkim.conf" >> "$T/opendkim.log" 2>&1 &
PIDS="$PIDS $!"
echo 10.255.255.254 > "$T/ignore"      # not the test client (OpenDMARC ignores 127.0.0.1 by default)
cat > "$T/opendmarc.conf" <<EOT
Socket inet:$DMARC_PORT@127.0.0.1
AuthservID mx.test.local
TrustedAuthservIDs mx.test.local
IgnoreHosts $T/ignore
Syslog false
Background false
PidFile $T/opendmarc.pid
EOT
opendmarc -f -c "$T/opendmarc.conf" >> "$T/opendmarc.log" 2>&1 &
PIDS="$PIDS $!"
serve_host
wait_port "$DKIM_PORT" 10 "opendkim"
wait_port "$DMARC_PORT" 10 "opendmarc"
wait_for "grep -q started '$T/dnsmasq.log' 2>/dev/null" 10 || fail "dnsmasq on port 53 did not start"
cp "$SIGNED" "$T/msg"
session alice@example.org bob@example.net
through { -p required -t 30 smtp-milter -h mx.test "inet:127.0.0.1:$DKIM_PORT" } \
        { -p required -t 30 smtp-milter -h mx.test "inet:127.0.0.1:$DMARC_PORT" } --
stored_msg "DKIM then DMARC"
grep -q 'dkim=pass' "$MSG" || { cat "$MSG" "$T/err"; fail "DMARC chain: no dkim=pass"; }
grep -q 'dmarc=pass' "$MSG" || { cat "$MSG" "$T/err"; fail "DMARC chain: not dmarc=pass"; }
grep -q 'query\[TXT\] _dmarc.example.org' "$T/dnsmasq.log" || fail "OpenDMARC did not ask our dnsmasq"
ok "OpenDKIM then OpenDMARC in one chain: dmarc=pass (OpenDMARC read OpenDKIM's result; _dmarc from the test's dnsmasq on port 53, in a network namespace)"
session alice@example.org bob@example.net
through { -p required -t 30 smtp-milter -h mx.test "inet:127.0.0.1:$DMARC_PORT" } --
stored_msg "DMARC alone"
grep -q 'dmarc=fail' "$MSG" || { cat "$MSG" "$T/err"; fail "OpenDMARC without OpenDKIM: not dmarc=fail"; }
ok "OpenDMARC without OpenDKIM before it: dmarc=fail (p=reject, not enforced: RejectFailures is off)"
