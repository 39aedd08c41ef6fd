# SPDX-License-Identifier: MIT
"""py_big_heap.py MIB: a Python heap of about MIB MiB (records with a str,
a list and an int each, in one module list), then a worker thread doing
dict and list work without end, its count of operations printed as
`ops SECONDS COUNT` every 50 ms, until stdin ends. Prints `ready {json}`
first. For tools/bench/run_holders_bench.py."""
import json
import os
import sys
import threading
import time


class Rec:
    __slots__ = ('n', 'name', 'tags')

    def __init__(self, n):
        self.n = n
        self.name = 'rec-%d' % n
        self.tags = [n, n + 1]


_ALL = []
ops = 0


def work():
    global ops
    d = {}
    while True:
        for i in range(1000):
            d[i] = [i]
            del d[i]
        ops += 1000


def report():
    while True:
        time.sleep(0.05)
        print('ops %.6f %d' % (time.monotonic(), ops), flush=True)


def main():
    mib = int(sys.argv[1])
    while True:
        for _ in range(100000):
            _ALL.append(Rec(len(_ALL)))
        with open('/proc/self/statm') as f:
            rss = int(f.read().split()[1]) * 4096
        if rss >= mib << 20:
            break
    print('ready ' + json.dumps({'pid': os.getpid(), 'records': len(_ALL), 'rss': rss}), flush=True)
    threading.Thread(target=work, daemon=True).start()
    threading.Thread(target=report, daemon=True).start()
    sys.stdin.read()


main()
