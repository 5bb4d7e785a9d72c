#!/usr/bin/python3
# A milter that accepts every message and asks for nothing else (pymilter
# then negotiates every step but end-of-message away): the milter side of
# the cost of smtp-milter, for a benchmark.   usage: accept.py SOCKET
import sys

import Milter


class Accept(Milter.Base):
    def eom(self):
        return Milter.ACCEPT


Milter.factory = Accept
Milter.runmilter('accept', sys.argv[1], 60)
