# SPDX-License-Identifier: MIT
"""leaky_service.py: a toy Python request handler with the leaks Python
services have, for `make demo`. Standard library only.

Usage: leaky_service.py SECONDS   print "ready", then handle 100 fake
                                  requests a second for SECONDS seconds
                                  (or until stdin closes), then exit 0.

Per request it:
  * opens a Session and keeps it in SESSIONS, a cache nothing evicts (the
    leak: one Session, its dict and its token str per request);
  * registers an event listener on every 10th request and never removes it
    (the other leak: a bound method per 10 requests);
  * renders a response and keeps the last 100 in RECENT, a bounded cache
    (not a leak: it fills, then stays the same size).
"""
import collections
import hashlib
import json
import select
import sys
import time

SESSIONS = {}
LISTENERS = []
RECENT = collections.OrderedDict()


class Session:
    def __init__(self, user, token):
        self.user = user
        self.token = token
        self.started = time.time()

    def on_event(self, event):
        return (self.user, event)


def open_session(n):
    user = 'user-%06d' % n
    token = hashlib.sha256(user.encode()).hexdigest()
    session = Session(user, token)
    SESSIONS[token] = session
    return session


def handle(n):
    session = open_session(n)
    if n % 10 == 0:
        LISTENERS.append(session.on_event)
    body = json.dumps({'request': n, 'user': session.user, 'items': list(range(8))})
    RECENT[n] = body
    if len(RECENT) > 100:
        RECENT.popitem(last=False)


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    seconds = float(argv[1])
    print('ready', flush=True)
    start = time.monotonic()
    n = 0
    while time.monotonic() - start < seconds:
        # 100 requests a second, paced by the clock.
        while n < (time.monotonic() - start) * 100:
            handle(n)
            n += 1
        ready, _, _ = select.select([sys.stdin], [], [], 0.01)
        if ready and not sys.stdin.readline():
            break
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
