# smtp-milter against the real milters from Debian, each started here once
# with its own configuration on 127.0.0.1 at a port chosen at run time, no
# internet, no system DNS: OpenDKIM (verifying with the public key given
# locally, and signing), clamav-milter with clamd and a private EICAR
# signature, rspamd's proxy worker in milter mode, spamass-milter with
# spamd.  The daemons load in parallel; each part waits for its own.
. "$(dirname "$0")/lib.sh"
. "$TOP/t/lib-milter.sh"
PATH=$PATH:/usr/sbin
for p in opendkim opendkim-genkey clamd clamav-milter rspamd spamd spamass-milter; do
  command -v $p > /dev/null || skip "$p is not installed (tools/deps.d/milter)"
done
serve_host
CR=$(printf '\r')

# --- start everything -------------------------------------------------------
# OpenDKIM: a key, its public half in the file TestPublicKeys reads (no
# DNS), a verifying instance and a signing one (192.0.2.1, the client of
# proxy_pipe, is internal to the signer only).
mkdir -p "$T/dkim"
opendkim-genkey -D "$T/dkim" -d example.org -s test -b 1024 || fail "opendkim-genkey"
pub=$(openssl rsa -in "$T/dkim/test.private" -pubout -outform DER 2> /dev/null | base64 -w0)
printf 'test._domainkey.example.org v=DKIM1; k=rsa; p=%s\n' "$pub" > "$T/dkim/keys"
echo 192.0.2.1 > "$T/dkim/internal"
DKIMV_PORT=$(free_port)
DKIMS_PORT=$(free_port)
for i in v s; do
  port=$( [ $i = v ] && echo "$DKIMV_PORT" || echo "$DKIMS_PORT")
  { printf 'Syslog no\nBackground no\nSocket inet:%s@127.0.0.1\nPidFile %s/dkim/%s.pid\n' "$port" "$T" $i
    printf 'AuthservID mx.test.local\nTestPublicKeys %s/dkim/keys\nRequireSafeKeys no\n' "$T"
    if [ $i = v ]; then printf 'Mode v\n'
    else printf 'Mode s\nDomain example.org\nSelector test\nKeyFile %s/dkim/test.private\nInternalHosts %s/dkim/internal\n' "$T" "$T"
    fi; } > "$T/dkim/$i.conf"
  opendkim -f -x "$T/dkim/$i.conf" >> "$T/opendkim-$i.log" 2>&1 &
  PIDS="$PIDS $!"
done

# clamd with one signature of ours, and clamav-milter.
mkdir -p "$T/clamdb"
EICAR='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
printf 'Noqueue.Test.EICAR:0:*:%s\n' "$(printf '%s' "$EICAR" | od -An -tx1 | tr -d ' \n')" > "$T/clamdb/test.ndb"
CLAMD_PORT=$(free_port)
CLAMM_PORT=$(free_port)
cat > "$T/clamd.conf" <<EOT
Foreground yes
DatabaseDirectory $T/clamdb
TCPSocket $CLAMD_PORT
TCPAddr 127.0.0.1
LogFile $T/clamd.log
PidFile $T/clamd.pid
User $(id -un)
EOT
cat > "$T/clamav-milter.conf" <<EOT
MilterSocket inet:$CLAMM_PORT@127.0.0.1
Foreground yes
User $(id -un)
ClamdSocket tcp:127.0.0.1:$CLAMD_PORT
OnClean Accept
OnInfected Reject
OnFail Defer
AddHeader Replace
LogFile $T/clamav-milter.log
LogInfected Full
PidFile $T/clamav-milter.pid
EOT
clamd -c "$T/clamd.conf" >> "$T/clamd.out" 2>&1 &
CLAMD_PID=$!
PIDS="$PIDS $CLAMD_PID"

# spamd with Debian's rules, local tests only, and spamass-milter.
SPAMD_PORT=$(free_port)
SPAMM_PORT=$(free_port)
spamd -L --listen="127.0.0.1:$SPAMD_PORT" --allowed-ips=127.0.0.1 -u nobody --max-children=1 \
  --pidfile="$T/spamd.pid" -s "$T/spamd.log" >> "$T/spamd.out" 2>&1 &
PIDS="$PIDS $!"

# rspamd: the proxy worker alone, in milter mode, scanning itself; the
# test's dnsmasq as its only name server (every name refused at once).
RSPAMD_PORT=$(free_port)
DNS_PORT=$(free_port)
printf 'port=%s\nlisten-address=127.0.0.1\nbind-interfaces\nno-resolv\nno-hosts\nuser=%s\n' \
  "$DNS_PORT" "$(id -un)" > "$T/dnsmasq.conf"
dnsmasq -k -C "$T/dnsmasq.conf" >> "$T/dnsmasq.log" 2>&1 &
PIDS="$PIDS $!"
R=$T/rspamd
mkdir -p "$R/conf/local.d" "$R/conf/override.d" "$R/db" "$R/run" "$R/log"
cat > "$R/conf/override.d/worker-proxy.inc" <<EOT
bind_socket = "127.0.0.1:$RSPAMD_PORT";
milter = yes;
timeout = 60s;
count = 1;
upstream "local" {
  default = yes;
  self_scan = yes;
}
EOT
echo 'enabled = false;' > "$R/conf/override.d/worker-normal.inc"
echo 'enabled = false;' > "$R/conf/override.d/worker-controller.inc"
printf 'type = "file";\nfilename = "%s/rspamd.log";\nlevel = "info";\n' "$R" > "$R/conf/override.d/logging.inc"
printf 'dns {\n  nameserver = ["127.0.0.1:%s"];\n  timeout = 0.5s;\n  retransmits = 1;\n}\n' "$DNS_PORT" \
  > "$R/conf/local.d/options.inc"
cat > "$R/conf/local.d/milter_headers.conf" <<EOT
use = ["x-spamd-result", "x-spam-status", "authentication-results"];
skip_local = false;
skip_authenticated = false;
EOT
rspamd -f -i -u "$(id -un)" -g "$(id -gn)" --var=LOCAL_CONFDIR="$R/conf" --var=DBDIR="$R/db" \
  --var=RUNDIR="$R/run" --var=LOGDIR="$R/log" >> "$R/stdout" 2>&1 &
RSPAMD_PID=$!
PIDS="$PIDS $RSPAMD_PID"

# --- OpenDKIM ---------------------------------------------------------------
wait_port "$DKIMV_PORT" 10 "opendkim (verifying)"
wait_port "$DKIMS_PORT" 10 "opendkim (signing)"
V="smtp-milter -h mx.test inet:127.0.0.1:$DKIMV_PORT"
S="smtp-milter -h mx.test inet:127.0.0.1:$DKIMS_PORT"
# The signing instance signs an outbound message from 192.0.2.1 (INSHEADER
# 0 with HDR_LEADSPC and LF folding); the message the smarthost stored,
# less the proxy's Received field, then goes through the verifier.
message "" "An outbound message, signed on the way.
Second line."
one_milter "$S"
stored_msg "DKIM sign"
grep -q '^DKIM-Signature: v=1;' "$MSG" || { cat "$MSG" "$T/err"; fail "signer: no DKIM-Signature"; }
grep -q "^DKIM-Signature: .*$CR\$" "$MSG" || fail "DKIM-Signature: not CRLF"
sed '1,3d; s/\r$//' "$MSG" > "$T/msg"      # less the proxy's Received (3 lines)
head -n 1 "$T/msg" | grep -q '^DKIM-Signature:' || { cat "$T/msg"; fail "DKIM-Signature not at the top"; }
cp "$T/msg" "$T/signed"
ok "OpenDKIM (signing): the outbound message signed, DKIM-Signature at the top, CRLF folded"
one_milter "$V"
stored_msg "DKIM verify"
grep -q '^Authentication-Results: mx.test.local;' "$MSG" || { cat "$MSG" "$T/err"; fail "no Authentication-Results"; }
sed -n '/^Authentication-Results:/,/^[^ \t]/p' "$MSG" | grep -q 'dkim=pass' ||
  { cat "$MSG"; fail "signed: not dkim=pass"; }
ok "OpenDKIM (verifying, public key from TestPublicKeys): Authentication-Results dkim=pass stored"
sed 's/^Second line\.$/Second line, changed./' "$T/signed" > "$T/msg"
one_milter "$V"
stored_msg "DKIM tampered"
sed -n '/^Authentication-Results:/,/^[^ \t]/p' "$MSG" | grep -q 'dkim=fail' ||
  { cat "$MSG"; fail "tampered body: not dkim=fail"; }
ok "OpenDKIM: the same message with its body changed: dkim=fail"

# --- clamav-milter ----------------------------------------------------------
wait_port "$CLAMD_PORT" 30 "clamd"
clamav-milter -c "$T/clamav-milter.conf" >> "$T/clamav-milter.out" 2>&1 &
PIDS="$PIDS $!"
wait_port "$CLAMM_PORT" 10 "clamav-milter"
C="smtp-milter -h mx.test inet:127.0.0.1:$CLAMM_PORT"
message "" "$EICAR"
one_milter "$C"
refused '^550 ' "EICAR"
grep -q 'Noqueue.Test.EICAR' "$T/clamav-milter.log" || fail "clamav-milter did not log the signature"
ok "clamav-milter: the EICAR test file refused (550), clamd found our private signature"
message "" "A clean message."
one_milter "$C"
stored_msg "clean, clamav"
grep -q '^X-Virus-Scanned: ClamAV using ClamSMTP\|^X-Virus-Scanned: clamav-milter' "$MSG" || { cat "$MSG"; fail "no X-Virus-Scanned"; }
grep -q '^X-Virus-Status: Clean' "$MSG" || { cat "$MSG"; fail "no X-Virus-Status: Clean"; }
ok "clamav-milter: a clean message delivered with X-Virus-Scanned and X-Virus-Status: Clean"
kill "$CLAMD_PID"
wait_for "! port_open $CLAMD_PORT" 10 || fail "clamd did not stop"
one_milter "$C"
refused '^4[0-9][0-9] ' "clamd down"
ok "clamav-milter with clamd down: $(data_reply | cut -c1-9) (its OnFail Defer), nothing relayed"

# --- rspamd -------------------------------------------------------------------
wait_for "port_open $RSPAMD_PORT" 60 || { tail -n 20 "$R/stdout" "$R/rspamd.log"; fail "rspamd did not listen"; }
for p in $(ps -o pid= --ppid "$RSPAMD_PID" 2>/dev/null); do PIDS="$PIDS $p"; done
RS="smtp-milter -h mx.test -d mx.test inet:127.0.0.1:$RSPAMD_PORT"
message "" "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
one_milter "$RS"
refused '^554 5\.7\.1 Gtube pattern' "rspamd: GTUBE"
ok "rspamd (proxy worker, milter mode): GTUBE refused with rspamd's own 554 5.7.1 Gtube pattern"
message "" "A plain message for rspamd."
one_milter "$RS"
stored_msg "rspamd clean"
grep -q '^X-Spamd-Result: default: False' "$MSG" || { cat "$MSG" "$T/err"; fail "rspamd: no X-Spamd-Result"; }
grep -q '^X-Spam-Status: [YN][eo]' "$MSG" || { cat "$MSG"; fail "rspamd: no X-Spam-Status"; }
# Offline, the failed DNS lists push a plain message over add_header:
# rspamd then deletes any X-Spam and adds its own (CHGHEADER, index 1,
# a missing occurrence added).
if grep -q '^X-Spam-Status: Yes' "$MSG"; then
  grep -q '^X-Spam: Yes' "$MSG" || { cat "$MSG"; fail "rspamd's add header action: no X-Spam: Yes"; }
fi
ok "rspamd: a plain message delivered with the X-Spamd-Result, X-Spam-Status (and X-Spam) it added"

# --- spamass-milter -------------------------------------------------------------
wait_port "$SPAMD_PORT" 60 "spamd"
spamass-milter -p "inet:$SPAMM_PORT@127.0.0.1" -P "$T/spamass-milter.pid" -r 15 -- \
  -d 127.0.0.1 -p "$SPAMD_PORT" >> "$T/spamass-milter.log" 2>&1 &
PIDS="$PIDS $!"
wait_port "$SPAMM_PORT" 10 "spamass-milter"
SA="smtp-milter -h mx.test inet:127.0.0.1:$SPAMM_PORT"
message "" "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
one_milter "$SA"
refused '^550 5\.7\.1 Blocked by SpamAssassin' "spamass-milter: GTUBE"
ok "spamass-milter with spamd: GTUBE refused (550 5.7.1 Blocked by SpamAssassin)"
message "" "A plain message for SpamAssassin."
one_milter "$SA"
stored_msg "spamass tagged"
# Offline, a bare test message scores over 5 (no Date, a TEST-NET client
# without rDNS) but under -r 15: tagged, and SpamAssassin's report
# replaces the body (REPLBODY and CHGHEADER Content-Type) with the
# original attached.
grep -q '^X-Spam-Status: Yes' "$MSG" || { cat "$MSG" "$T/err"; fail "spamass-milter: no X-Spam-Status: Yes"; }
grep -q '^X-Spam-Flag: YES' "$MSG" || fail "spamass-milter: no X-Spam-Flag"
grep -q '^Content-Type: multipart/mixed' "$MSG" || { cat "$MSG"; fail "spamass-milter: Content-Type not changed"; }
grep -q '^Spam detection software' "$MSG" || fail "spamass-milter: the body not replaced"
grep -q '^A plain message for SpamAssassin' "$MSG" || fail "spamass-milter: the original not attached"
grep -c "$CR\$" "$MSG" | grep -q "^$(wc -l < "$MSG")\$" || fail "spamass-milter: a line without CRLF"
ok "spamass-milter: a message tagged as spam below -r: its headers, and the body replaced by SpamAssassin's report (REPLBODY)"

# Check mode (NOQUEUE_CHECK=1) against real milters: the negotiation with
# OpenDKIM, clamav-milter and spamass-milter, then the handshake.
. "$TOP/t/lib-checkmode.sh"
for port in "$DKIMV_PORT" "$CLAMM_PORT" "$SPAMM_PORT"; do
  check_passes "the milter on $port" smtp-milter -h mx.test "inet:$port@127.0.0.1"
done
ok "check mode: OpenDKIM, clamav-milter and spamass-milter negotiate, the handshake, exit 0"

# --- OpenDMARC after OpenDKIM -----------------------------------------------------
# OpenDMARC has no name server option: t/milter/dmarc.sh runs in a network
# namespace of its own, where the test's dnsmasq is on port 53.
command -v opendmarc > /dev/null || skip "opendmarc is not installed (the other parts passed)"
unshare -n -m true 2> /dev/null || skip "no network namespace here (unshare -n -m needs root): the OpenDMARC part not run, the others passed"
NOQUEUE_BIN=$BIN NOQUEUE_BUILD=${TOOLS%/t} unshare -n -m sh "$TOP/t/milter/dmarc.sh" "$T/signed" "$T/dkim/keys" ||
  fail "the OpenDMARC part"
