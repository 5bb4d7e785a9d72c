# Sourced by t/63 and t/64 after lib.sh: milters on 127.0.0.1 at ports
# chosen at run time, and SMTP sessions through smtp-proxyd with
# smtp-milter filters in front of the test smarthost.

# The test milter (t/milter/act.py): start_act NAME [leadspc] sets
# ${NAME}_PORT; what it is told goes to $T/NAME.events.
start_act() {
  _p=$(free_port)
  /usr/bin/python3 "$TOP/t/milter/act.py" "inet:$_p@127.0.0.1" "$T/$1.events" ${2:-} \
    >> "$T/$1.log" 2>&1 &
  PIDS="$PIDS $!"
  eval "${1}_PID=$!"
  eval "${1}_PORT=$_p"
  wait_port "$_p" 10 "$1"
}

# A session in $T/in: session FROM RCPT... with the message $T/msg (LF
# lines, made CRLF and dot-stuffed here).
session() {
  _from=$1; shift
  { printf 'EHLO client.test\r\nMAIL FROM:<%s>\r\n' "$_from"
    for _r in "$@"; do printf 'RCPT TO:<%s>\r\n' "$_r"; done
    printf 'DATA\r\n'
    sed 's/^\./../; s/$/\r/' "$T/msg"
    printf '.\r\nQUIT\r\n'; } > "$T/in"
}

# A message with header fields $1 (LF-separated) and body $2.
message() {
  { printf 'From: <alice@example.org>\nTo: <bob@example.net>\nSubject: test\n'
    printf 'Message-ID: <%s@example.org>\n' "$$.$(date +%s%N)"
    [ -n "$1" ] && printf '%s\n' "$1"
    printf '\n%s\n' "$2"; } > "$T/msg"
}

# The reply to the message's data (the last but the QUIT's).
data_reply() { tr -d '\r' < "$T/out" | grep -E '^[245][0-9][0-9] ' | tail -n 2 | head -n 1; }

# proxy_pipe with smtp-milter blocks: through ARGS... (proxy args, -- ,
# forward args); clears the smarthost first.
through() {
  rm -f "$T"/host/*
  proxy_pipe "$T/in" "$@"
}

# The smarthost stored one message, or fail; its file is then $MSG.
stored_msg() {
  [ "$(stored)" = 1 ] || { cat "$T/out" "$T/err"; fail "$1: $(stored) messages stored, not 1"; }
  MSG=$(ls "$T"/host/msg.* | head -n 1)
}

# Does the proxy apply version 2 message changes yet?
proxy_v2() { grep -q 'replace-message' "$TOP/man/smtp-filter.7"; }

# one_milter "SMTP-MILTER ARGS": $T/msg from alice to bob through one
# smtp-milter block (policy required).
one_milter() {
  session alice@example.org bob@example.net
  # shellcheck disable=SC2086  # the program and its arguments, as words
  through { -p required -t 60 $1 } --
}

# refused PATTERN WHAT: the message got a reply matching PATTERN (ERE),
# and nothing was stored.
refused() {
  data_reply | grep -Eq "$1" || { cat "$T/out" "$T/err"; fail "$2: $(data_reply)"; }
  [ "$(stored)" = 0 ] || fail "$2: relayed"
}
