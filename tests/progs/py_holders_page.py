# SPDX-License-Identifier: MIT
"""py_holders_page: Python objects kept by known holders, for the holders
graph of --format html (tests/e2e/scenarios_html.py, html_holders).

Usage:
  python3 py_holders_page.py   print "ready", then every 100 ms keep 200
                               more InvoiceRecord objects (each with a
                               note, a str) in the module global list
                               _AUDIT_TRAIL, and 50 more Session objects in
                               a list the module global dict _SESSIONS keeps
                               under SESSION_KEY (long, and markup: the page
                               must escape and shorten it), and 20 more
                               Pending objects in main's local list
                               pending; exit 0 when stdin ends.

leaktrace --holders must find the chains
  InvoiceRecord <- list[i] <- module __main__: _AUDIT_TRAIL
  str <- InvoiceRecord.note <- list[i] <- module __main__: _AUDIT_TRAIL
  Session <- list[i] <- dict[SESSION_KEY] <- module __main__: _SESSIONS
  Pending <- list[i] <- frame main in FILE (thread T): local pending
each made at the line marked "site:" below.
"""
import select
import sys

SESSION_KEY = '</script><svg onload="alert(1)"> & sessions of tenant ' + 'k' * 40


class InvoiceRecord:
    def __init__(self, n):
        self.note = 'invoice %d' % n  # site: note


class Session:
    pass


class Pending:
    pass


_AUDIT_TRAIL = []
_SESSIONS = {SESSION_KEY: []}


def bill(n):
    _AUDIT_TRAIL.append(InvoiceRecord(n))  # site: invoice


def open_session():
    _SESSIONS[SESSION_KEY].append(Session())  # site: session


def main():
    print('ready', flush=True)
    n = 0
    pending = []
    while True:
        for _ in range(200):
            bill(n)
            n += 1
        for _ in range(50):
            open_session()
        for _ in range(20):
            pending.append(Pending())  # site: pending
        ready, _, _ = select.select([sys.stdin], [], [], 0.1)
        if ready and not sys.stdin.readline():
            return 0


if __name__ == '__main__':
    sys.exit(main())
