#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""leaktrace's memory with many live blocks outstanding in its target.

Usage (as root, after make): python3 tools/bench/rss_live.py [--python PY] [COUNTS...]
(default 1000000 10000000). Runs build/tests/progs/many_live under
`leaktrace -p`, makes it hold COUNT live 16-byte blocks (one stack), waits
until leaktrace has taken every event in, and prints leaktrace's resident
memory (VmRSS, and the peak VmHWM) with bytes per live block (over the
blocks added since the row before). With --python,
the target is that interpreter holding COUNT small str objects in a list
(each one a Python object of its own, from one line).
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
LT = os.path.join(ROOT, 'build', 'leaktrace')
PROG = os.path.join(ROOT, 'build', 'tests', 'progs', 'many_live')


def status_kib(pid, field):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    return 0


class Lines:
    def __init__(self, stream):
        self.lines = []
        self.cv = threading.Condition()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream):
        for raw in iter(stream.readline, b''):
            with self.cv:
                self.lines.append(raw.decode('utf-8', 'replace').rstrip('\n'))
                self.cv.notify_all()

    def wait_for(self, pred, timeout):
        deadline = time.monotonic() + timeout
        with self.cv:
            while True:
                for i, line in enumerate(self.lines):
                    if pred(line):
                        del self.lines[:i + 1]
                        return line
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cv.wait(left)


PY_TARGET = r"""
import sys
keep = []
print('ready', flush=True)
for line in sys.stdin:
    if line.startswith('live '):
        n = len(keep)
        keep.extend(['s%d' % i for i in range(n, n + int(line.split()[1]))])
        print('done', flush=True)
    elif line.startswith('exit'):
        break
"""


def main():
    argv = sys.argv[1:]
    python = None
    if argv[:1] == ['--python']:
        python, argv = argv[1], argv[2:]
    counts = [int(x) for x in argv] or [1000000, 10000000]
    cmd = [python, '-c', PY_TARGET] if python else [PROG]
    target = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    tout = Lines(target.stdout)
    if not tout.wait_for(lambda x: x == 'ready', 10):
        sys.exit('the target did not start')
    lt = subprocess.Popen([LT, '-p', str(target.pid), '-o', '0', '-T', '3', '--format', 'json',
                           '--max-allocs', str(max(counts) + (1 << 20))],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lerr = Lines(lt.stderr)
    lout = Lines(lt.stdout)
    if not lerr.wait_for(lambda x: x.startswith('leaktrace: tracing'), 60):
        sys.exit('leaktrace did not start')
    time.sleep(0.5)
    base = status_kib(lt.pid, 'RssAnon')
    what = 'small str objects (%s)' % os.path.basename(python) if python else '16-byte blocks'
    print('leaktrace -p with N live %s in the target (one stack); RssAnon is its own' % what)
    print('heap, VmRSS also counts the mapped ring buffer and BPF maps')
    print('%12s %12s %12s %12s %16s %8s' % ('live blocks', 'RssAnon MiB', 'VmRSS MiB', 'VmHWM MiB',
                                          'bytes per block', 'lost'))
    print('%12d %12.1f %12.1f %12s %16s %8s' % (0, base / 1024, status_kib(lt.pid, 'VmRSS') / 1024,
                                                '-', '-', '-'))
    held, prev_anon = 0, base
    try:
        for n in counts:
            target.stdin.write(('live %d\n' % (n - held)).encode())
            target.stdin.flush()
            if not tout.wait_for(lambda x: x == 'done', 3600):
                sys.exit('the target did not finish')
            last = None
            while True:  # until every event is in
                lt.send_signal(signal.SIGUSR1)
                line = lout.wait_for(lambda x: x.startswith('{'), 600)
                st = json.loads(line)['stats']
                seen = st['tracked_allocs'] + st['lost_events']
                # An interpreter has objects of its own: wait for the count to settle.
                if seen >= n and (not python or seen == last):
                    break
                last = seen
                time.sleep(1)
            anon = status_kib(lt.pid, 'RssAnon')
            rss, hwm = status_kib(lt.pid, 'VmRSS'), status_kib(lt.pid, 'VmHWM')
            if os.environ.get('RSS_LIVE_DEBUG'):
                print(st, file=sys.stderr)
            print('%12d %12.1f %12.1f %12.1f %16.1f %8d' % (n, anon / 1024, rss / 1024, hwm / 1024,
                                                           (anon - prev_anon) * 1024 / (n - held),
                                                           st['lost_events']),
                  flush=True)
            held, prev_anon = n, anon
    finally:
        lt.send_signal(signal.SIGINT)
        try:
            lt.wait(120)
        except subprocess.TimeoutExpired:
            lt.kill()
        target.stdin.write(b'exit\n')
        target.stdin.close()
        target.wait(30)


if __name__ == '__main__':
    main()
