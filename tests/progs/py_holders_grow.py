# SPDX-License-Identifier: MIT
"""py_holders_grow.py: leaks on two lines, steadily, until stdin ends:
InvoiceRecord objects into a module list, and str values into a dict cache
keyed by strings (a dict of strings only, which the collector does not
track). Prints `ready {json}` with the lines."""
import json
import os
import sys
import threading
import time

LINE_RECORD = 26
LINE_NAME = 27


class InvoiceRecord:
    def __init__(self, n):
        self.n = n


_AUDIT_TRAIL = []
_NAMES = {}


def bill(i):
    _AUDIT_TRAIL.append(InvoiceRecord(i))
    _NAMES['customer-%d' % i] = 'name of customer %d' % i


def exit_on_eof():
    sys.stdin.read()
    os._exit(0)


if __name__ == '__main__':
    threading.Thread(target=exit_on_eof, daemon=True).start()
    print('ready ' + json.dumps({'pid': os.getpid(), 'file': os.path.abspath(__file__),
                                 'record': LINE_RECORD, 'name': LINE_NAME}), flush=True)
    i = 0
    while True:
        for _ in range(100):
            bill(i)
            i += 1
        time.sleep(0.05)
