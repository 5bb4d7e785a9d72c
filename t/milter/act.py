#!/usr/bin/python3
# A test milter (pymilter on Debian's libmilter) that does what the
# message asks, so that every action smtp-milter maps can be tested:
#   usage: act.py SOCKET LOG [leadspc]
# Envelope: MAIL FROM reject-mail@ / tempfail-mail@ / accept-mail@ /
# discard-mail@, RCPT TO reject-rcpt@ / tempfail-rcpt@, HELO reject-helo.
# At end of message, each "X-Act: WORD ARGS" header field, in order:
#   add NAME VALUE | ins INDEX NAME VALUE | chg INDEX NAME VALUE |
#   del INDEX NAME | addrcpt ADDR [PARAMS] | delrcpt ADDR |
#   chgfrom ADDR [PARAMS] | body TEXT (\n in TEXT: a line end) |
#   quarantine REASON | progress N (N x 1 s with a progress each) |
#   sleep N | die | reject | tempfail | discard | reply CODE XCODE TEXT |
#   mlreply CODE XCODE LINE1|LINE2 | skip (SKIP after the first body chunk)
# Everything it is told goes to LOG, one line each, for the test to read.
import os
import sys
import time

import Milter

SOCKET, LOG = sys.argv[1], sys.argv[2]
LEADSPC = len(sys.argv) > 3 and sys.argv[3] == 'leadspc'
logfd = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)


def log(*words):
    os.write(logfd, (' '.join(str(w) for w in words) + '\n').encode('utf-8', 'backslashreplace'))


class Act(Milter.Base):
    def macros(self, stage, names):
        for n in names:
            v = self.getsymval(n)
            if v is not None:
                log('macro', stage, n + '=' + v)

    def connect(self, host, family, addr):
        self.acts = []
        log('connect', host, addr[0] if isinstance(addr, tuple) else addr,
            addr[1] if isinstance(addr, tuple) else '')
        self.macros('connect', ['j', '_', '{daemon_name}', '{daemon_addr}', 'v', '{client_addr}'])
        return Milter.CONTINUE

    def hello(self, name):
        log('helo', name)
        if name == 'reject-helo':
            return Milter.REJECT
        return Milter.CONTINUE

    def envfrom(self, sender, *params):
        self.acts = []
        log('mail', sender, *params)
        self.macros('mail', ['i', '{mail_addr}'])
        local = sender.strip('<>').split('@')[0]
        if local == 'reject-mail':
            self.setreply('550', '5.7.1', 'sender refused by the test milter')
            return Milter.REJECT
        if local == 'tempfail-mail':
            return Milter.TEMPFAIL
        if local == 'accept-mail':
            return Milter.ACCEPT
        if local == 'discard-mail':
            return Milter.DISCARD
        return Milter.CONTINUE

    def envrcpt(self, rcpt, *params):
        log('rcpt', rcpt, *params)
        self.macros('rcpt', ['{rcpt_addr}', '{rcpt_host}', '{rcpt_mailer}'])
        local = rcpt.strip('<>').split('@')[0]
        if local == 'reject-rcpt':
            self.setreply('550', '5.1.1', 'no such user here')
            return Milter.REJECT
        if local == 'tempfail-rcpt':
            return Milter.TEMPFAIL
        return Milter.CONTINUE

    def data(self):
        log('data')
        return Milter.CONTINUE

    def header(self, name, value):
        log('header', repr(name), repr(value))
        if name.lower() == 'x-act':
            self.acts.append(value.strip())
        return Milter.CONTINUE

    def eoh(self):
        log('eoh')
        return Milter.CONTINUE

    def body(self, chunk):
        log('body', len(chunk), repr(chunk[:60]))
        if 'skip' in self.acts:
            return Milter.SKIP
        return Milter.CONTINUE

    def eom(self):
        self.macros('eom', ['i', '{x_test}'])
        log('eom')
        for a in self.acts:
            w = a.split(' ')
            verb = w[0]
            if verb == 'add':
                self.addheader(w[1], ' '.join(w[2:]).replace('\\n', '\n'))
            elif verb == 'ins':
                self.addheader(w[2], ' '.join(w[3:]), int(w[1]))
            elif verb == 'chg':
                self.chgheader(w[2], int(w[1]), ' '.join(w[3:]))
            elif verb == 'del':
                self.chgheader(w[2], int(w[1]), '')
            elif verb == 'addrcpt':
                self.addrcpt(w[1], ' '.join(w[2:]) or None)
            elif verb == 'delrcpt':
                self.delrcpt(w[1])
            elif verb == 'chgfrom':
                self.chgfrom(w[1], ' '.join(w[2:]) or None)
            elif verb == 'body':
                self.replacebody(' '.join(w[1:]).replace('\\n', '\r\n').encode())
            elif verb == 'quarantine':
                self.quarantine(' '.join(w[1:]))
            elif verb == 'progress':
                for _ in range(int(w[1])):
                    time.sleep(1)
                    self.progress()
            elif verb == 'sleep':
                time.sleep(int(w[1]))
            elif verb == 'die':
                log('dying')
                os._exit(1)
            elif verb == 'reject':
                return Milter.REJECT
            elif verb == 'tempfail':
                return Milter.TEMPFAIL
            elif verb == 'discard':
                return Milter.DISCARD
            elif verb == 'reply':
                self.setreply(w[1], w[2], ' '.join(w[3:]))
                return Milter.REJECT if w[1][0] == '5' else Milter.TEMPFAIL
            elif verb == 'mlreply':
                self.setreply(w[1], w[2], *' '.join(w[3:]).split('|'))
                return Milter.REJECT if w[1][0] == '5' else Milter.TEMPFAIL
        return Milter.ACCEPT

    def abort(self):
        log('abort')
        return Milter.CONTINUE

    def close(self):
        log('close')
        return Milter.CONTINUE


if LEADSPC:
    Act = Milter.header_leading_space(Act)
Milter.factory = Act
log('start')
Milter.runmilter('act', SOCKET, 60)
