# Sourced by t/69: several noqueue nodes behind the real HAProxy, and the
# real Postfix as their smarthost, each with a configuration of the test's
# own in $T (nothing under /etc is read or touched), on 127.0.0.1 at ports
# chosen at run time.

# start_postfix DOMAIN: Postfix's smtpd on 127.0.0.1:$PF_PORT trusting
# 127.0.0.0/8 for XCLIENT, and a second smtpd on $PF_XF_PORT that offers
# only XFORWARD; mail for DOMAIN goes to the maildir $T/pf/mail/box
# (virtual(8)); the log is $PF_LOG (maillog_file, postlogd).  The master
# runs as the system's postfix user, so $T is opened to it (0711).
start_postfix() {
  command -v postfix > /dev/null || skip "no postfix"
  [ -x /usr/lib/postfix/sbin/master ] || skip "no /usr/lib/postfix/sbin/master"
  id postfix > /dev/null 2>&1 || skip "no postfix user"
  [ "$(id -u)" = 0 ] || skip "Postfix with a private configuration needs root"
  PF=$T/pf
  PF_PORT=$(free_port)
  PF_XF_PORT=$(free_port)
  PF_LOG=$PF/maillog
  chmod 711 "$T"
  mkdir -p "$PF/etc" "$PF/spool" "$PF/data" "$PF/mail"
  chown postfix "$PF/data"
  chmod 1777 "$PF/mail"
  cat > "$PF/etc/main.cf" << EOF
compatibility_level = 3.6
config_directory = $PF/etc
queue_directory = $PF/spool
data_directory = $PF/data
shlib_directory = /usr/lib/postfix
daemon_directory = /usr/lib/postfix/sbin
mail_owner = postfix
setgid_group = postdrop
myhostname = smarthost.test
mydomain = smarthost.test
myorigin = smarthost.test
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mydestination =
mynetworks = 127.0.0.0/8
relay_domains =
smtpd_authorized_xclient_hosts = 127.0.0.0/8
smtpd_authorized_xforward_hosts = 127.0.0.0/8
virtual_mailbox_domains = $1
virtual_mailbox_base = $PF/mail
virtual_mailbox_maps = static:box/
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
virtual_minimum_uid = 100
maillog_file = $PF_LOG
maillog_file_prefixes = $PF
smtpd_recipient_restrictions = permit_mynetworks, reject
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
disable_dns_lookups = yes
alias_maps =
alias_database =
biff = no
smtputf8_enable = no
EOF
  cat > "$PF/etc/master.cf" << EOF
127.0.0.1:$PF_PORT inet n - n - - smtpd
127.0.0.1:$PF_XF_PORT inet n - n - - smtpd -o smtpd_authorized_xclient_hosts=
pickup    unix  n - n 60  1 pickup
cleanup   unix  n - n -   0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n -   - trivial-rewrite
bounce    unix  - - n -   0 bounce
defer     unix  - - n -   0 bounce
trace     unix  - - n -   0 bounce
verify    unix  - - n -   1 verify
proxymap  unix  - - n -   - proxymap
error     unix  - - n -   - error
retry     unix  - - n -   - error
discard   unix  - - n -   - discard
virtual   unix  - n n -   - virtual
anvil     unix  - - n -   1 anvil
scache    unix  - - n -   1 scache
postlog   unix-dgram n - n - 1 postlogd
EOF
  # postfix(1) checks the configuration and makes the queue's directories;
  # it says why it fails only on a terminal or in the log.
  postfix -c "$PF/etc" start > "$T/postfix.out" 2>&1
  wait_for "[ -s '$PF/spool/pid/master.pid' ] && grep -q 'daemon started' '$PF_LOG' 2>/dev/null" 15 ||
    { cat "$T/postfix.out" "$PF_LOG" 2> /dev/null; skip "Postfix did not start here"; }
  PF_PID=$(tr -dc 0-9 < "$PF/spool/pid/master.pid")
  PIDS="$PIDS $PF_PID"
}

# Messages Postfix delivered.
pf_stored() { find "$T/pf/mail/box/new" -type f 2> /dev/null | wc -l; }
# The Message-Ids Postfix delivered, one a line.
pf_ids() {
  find "$T/pf/mail/box/new" -type f -exec grep -ih -m1 '^Message-Id:' {} + 2> /dev/null |
    sed 's/^[^<]*<\([^>]*\)>.*/\1/' | sort
}
# The delivered message with this Message-Id (its file name).
pf_message() { grep -il -m1 "^Message-Id: *<$1>" "$T"/pf/mail/box/new/* 2> /dev/null | head -n 1; }

# start_node N PROXY-ARGS: a noqueue node, tcpserver on 127.0.0.1 at a free
# port ($NODEn_PORT, $NODEn_PID; its log $T/NODEn.log), smtp-proxyd named
# nodeN.test taking PROXY headers from 127.0.0.1 only, then the filters
# given, then smtp-forward to Postfix.
start_node() {
  _n=$1; shift
  eval "serve NODE$_n '$BIN/smtp-proxyd' -h node$_n.test -P 127.0.0.1 $* \
    -- '$BIN/smtp-forward' -h node$_n.test -T off 127.0.0.1 $PF_PORT"
}

# start_haproxy: HAProxy on 127.0.0.1:$HA_PORT, round robin over node 1
# and node 2, each sent a PROXY v2 header, health checks every 300 ms with
# the header too (a LOCAL one) expecting the greeting; its configuration
# is $T/haproxy.cfg, its log (alerts, servers up and down) $T/haproxy.log.
start_haproxy() {
  command -v haproxy > /dev/null || skip "no haproxy"
  HA_PORT=$(free_port)
  cat > "$T/haproxy.cfg" << EOF
global
    maxconn 200

defaults
    mode tcp
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout check 2s
    retries 2
    option redispatch

frontend mx
    bind 127.0.0.1:$HA_PORT
    default_backend nodes

backend nodes
    balance roundrobin
    option tcp-check
    tcp-check expect rstring ^220
    tcp-check send QUIT\r\n
    tcp-check expect rstring ^221
    server node1 127.0.0.1:$NODE1_PORT send-proxy-v2 check check-send-proxy inter 300 fall 1 rise 2
    server node2 127.0.0.1:$NODE2_PORT send-proxy-v2 check check-send-proxy inter 300 fall 1 rise 2
EOF
  haproxy -f "$T/haproxy.cfg" -c > "$T/haproxy.check" 2>&1 ||
    { cat "$T/haproxy.check"; fail "haproxy -c refused the configuration"; }
  haproxy -f "$T/haproxy.cfg" -db > "$T/haproxy.log" 2>&1 &
  HA_PID=$!
  PIDS="$PIDS $HA_PID"
  wait_for "perl -MIO::Socket::INET -e 'IO::Socket::INET->new(\"127.0.0.1:$HA_PORT\") or exit 1'" 10 ||
    { cat "$T/haproxy.log"; fail "haproxy did not start"; }
}

# client ADDRESS ARGS...: swaks from ADDRESS (a bound source address)
# through HAProxy; the transcript in $T/swaks.out.
client() {
  _from=$1; shift
  swaks --server 127.0.0.1 --port "$HA_PORT" --local-interface "$_from" \
    --timeout 30 --suppress-data "$@" > "$T/swaks.out" 2>&1
}

# The number of lines matching in a node's log.
node_count() { grep -Ec "$2" "$T/NODE$1.log"; }

# raw_session PORT SOURCE HEX: connect from SOURCE, send the octets (hex),
# half-close, and print what came back (hex).
raw_session() {
  perl -MIO::Socket::INET -e '
    my ($port, $src, $hex) = @ARGV;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $port,
                                  LocalAddr => $src) or die "connect: $!";
    print $s pack("H*", $hex);
    shutdown($s, 1);
    my $got = ""; my $buf;
    local $SIG{ALRM} = sub { die "timeout\n" }; alarm 10;
    while (sysread($s, $buf, 4096)) { $got .= $buf }
    print unpack("H*", $got), "\n";' "$@"
}

# held_client SOURCE ID: through HAProxy from SOURCE, a message whose data
# stops half-way until the file $T/go exists, then ends; prints "ID CODE"
# (the final reply's code, or "dropped" when the connection went away)
# into $T/held.ID.  $T/held.ID.mid appears once the data has begun.
held_client() {
  perl -MIO::Socket::INET -e '
    my ($port, $src, $id, $dir) = @ARGV;
    my $out = "$dir/held.$id";
    sub done { open my $f, ">", "$out.tmp" or die; print $f "$id $_[0]\n"; close $f;
               rename "$out.tmp", $out; exit 0 }
    local $SIG{ALRM} = sub { done("timeout") }; alarm 40;
    $SIG{PIPE} = "IGNORE";
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $port,
                                  LocalAddr => $src) or done("refused");
    sub reply { my $l; do { $l = <$s>; defined $l or done("dropped") } while $l =~ /^\d\d\d-/;
                return substr($l, 0, 3) }
    sub cmd { print $s "$_[0]\r\n" or done("dropped"); my $c = reply();
              $c =~ /^$_[1]/ or done($c) }
    reply() eq "220" or done("nogreeting");
    cmd("EHLO held.test", 250);
    cmd("MAIL FROM:<$id\@sender.example>", 250);
    cmd("RCPT TO:<bob\@example.net>", 250);
    cmd("DATA", 354);
    print $s "Message-Id: <$id\@test>\r\nSubject: $id\r\n\r\nthe first half\r\n";
    open my $m, ">", "$out.mid"; close $m;
    select(undef, undef, undef, 0.05) until -e "$dir/go";
    print $s "the second half\r\n.\r\n" or done("dropped");
    done(reply());' "$HA_PORT" "$@" "$T"
}
