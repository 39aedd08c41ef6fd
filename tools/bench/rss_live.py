#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""leaktrace's memory with many live blocks outstanding in its target.

Usage (as root, after make): python3 tools/bench/rss_live.py [COUNTS...]
(default 1000000 10000000). Runs build/tests/progs/many_live under
`leaktrace -p`, makes it hold COUNT live 16-byte blocks (one stack), waits
until leaktrace has taken every event in, and prints leaktrace's resident
memory (VmRSS, and the peak VmHWM) with bytes per live block.
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


def main():
    counts = [int(x) for x in sys.argv[1:]] or [1000000, 10000000]
    target = subprocess.Popen([PROG], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    tout = Lines(target.stdout)
    if not tout.wait_for(lambda x: x == 'ready', 10):
        sys.exit('many_live did not start')
    lt = subprocess.Popen([LT, '-p', str(target.pid), '-o', '0', '-T', '3', '--format', 'json',
                           '--max-allocs', str(max(counts) + (1 << 20))],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lerr = Lines(lt.stderr)
    lout = Lines(lt.stdout)
    if not lerr.wait_for(lambda x: x.startswith('leaktrace: tracing'), 60):
        sys.exit('leaktrace did not start')
    time.sleep(0.5)
    base = status_kib(lt.pid, 'RssAnon')
    print('leaktrace -p with N live 16-byte blocks in the target (one stack); RssAnon is its own')
    print('heap, VmRSS also counts the mapped ring buffer and BPF maps')
    print('%12s %12s %12s %12s %16s %8s' % ('live blocks', 'RssAnon MiB', 'VmRSS MiB', 'VmHWM MiB',
                                          'bytes per block', 'lost'))
    print('%12d %12.1f %12.1f %12s %16s %8s' % (0, base / 1024, status_kib(lt.pid, 'VmRSS') / 1024,
                                                '-', '-', '-'))
    held = 0
    try:
        for n in counts:
            target.stdin.write(('live %d\n' % (n - held)).encode())
            target.stdin.flush()
            if not tout.wait_for(lambda x: x == 'done', 3600):
                sys.exit('many_live did not finish')
            held = n
            while True:  # until every event is in
                lt.send_signal(signal.SIGUSR1)
                line = lout.wait_for(lambda x: x.startswith('{'), 600)
                st = json.loads(line)['stats']
                if st['tracked_allocs'] + st['lost_events'] >= n:
                    break
                time.sleep(1)
            anon = status_kib(lt.pid, 'RssAnon')
            rss, hwm = status_kib(lt.pid, 'VmRSS'), status_kib(lt.pid, 'VmHWM')
            print('%12d %12.1f %12.1f %12.1f %16.1f %8d' % (n, anon / 1024, rss / 1024, hwm / 1024,
                                                           (anon - base) * 1024 / n,
                                                           st['lost_events']),
                  flush=True)
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
