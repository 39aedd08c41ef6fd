#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""make bench, holders part: what `leaktrace holders` costs a Python
process with a 1 GiB heap (tools/bench/py_big_heap.py on Debian's
python3.11, a worker thread counting its operations), side by side in one
run:
  (a) the worker's rate alone, for WINDOW seconds before the walks and
      WINDOW seconds after them (the collector's passes over a heap this
      big make either window vary: their mean is the reference);
  (b) its rate while leaktrace walks the heap with --pause-ms 0 (never held
      still: only the reads);
  (c) a walk with the default bound (200 ms): the pauses, the walk's time,
      leaktrace's peak memory, and the worker's rate outside the pauses.
The table gives the rates' ratios to (a), the pauses against their bound,
and whether the chain found is the module global holding the records.
Exit status 0 when everything was measured, 1 otherwise."""

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PY = '/usr/bin/python3.11'


class Target:
    def __init__(self, mib):
        self.p = subprocess.Popen([PY, os.path.join(HERE, 'py_big_heap.py'), str(mib)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.samples = []  # (monotonic s, ops)
        line = self.p.stdout.readline()
        if not line.startswith('ready '):
            raise RuntimeError('the heap program did not start: %r' % line)
        self.info = json.loads(line[len('ready '):])
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            f = line.split()
            if len(f) == 3 and f[0] == 'ops':
                self.samples.append((float(f[1]), int(f[2])))

    def rate(self, t0, t1, skip=()):
        """Operations per second between t0 and t1, leaving out the
        intervals in skip (the pauses, with a sample's slack around them)."""
        pts = [s for s in self.samples if t0 <= s[0] <= t1]
        ops = secs = 0.0
        for (a, na), (b, nb) in zip(pts, pts[1:]):
            if any(a < e + 0.06 and b > s - 0.06 for s, e in skip):
                continue
            ops += nb - na
            secs += b - a
        return ops / secs if secs else float('nan')

    def stop(self):
        try:
            self.p.stdin.close()
            self.p.wait(10)
        except Exception:
            self.p.kill()


def holders(lt, pid, pause_ms):
    t0 = time.monotonic()
    r = subprocess.run([lt, 'holders', '-p', str(pid), '-t', 'Rec', '-n', '8', '--json',
                        '--pause-ms', str(pause_ms)], capture_output=True, text=True, timeout=600)
    t1 = time.monotonic()
    if r.returncode:
        raise RuntimeError('leaktrace holders failed: %s' % r.stderr.strip())
    return t0, t1, json.loads(r.stdout)['holders'], resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--leaktrace', required=True)
    ap.add_argument('--mib', type=int, default=1024)
    ap.add_argument('--window', type=float, default=5.0)
    args = ap.parse_args()
    if not os.access(PY, os.X_OK):
        print('holders bench: n/a (no %s)' % PY)
        return 1
    t = Target(args.mib)
    try:
        time.sleep(1.0)
        a0 = time.monotonic()
        time.sleep(args.window)
        base = t.rate(a0, time.monotonic())
        b0, b1, racy, _ = holders(args.leaktrace, t.info['pid'], 0)
        racy_rate = t.rate(b0, b1)
        c0, c1, held, peak_kib = holders(args.leaktrace, t.info['pid'], 200)
        a1 = time.monotonic()
        time.sleep(args.window)
        after = t.rate(a1, time.monotonic())
        # The first pause starts as the walk does; the second one comes at its end.
        p1 = held['pause_ms'][0] / 1000 if held['pause_ms'] else 0
        p2 = held['pause_ms'][1] / 1000 if len(held['pause_ms']) > 1 else 0
        start = c1 - held['walk_ms'] / 1000 - 0.2
        held_rate = t.rate(c0, c1, skip=[(start, start + p1 + 0.3), (c1 - 1.0, c1)])
    finally:
        t.stop()
    chain = [c['text'] for c in held['chains']]
    ok = len(chain) == 1 and chain[0].startswith('Rec <- list[') and chain[0].endswith(
        '<- module __main__: _ALL')
    print('holders: Debian python3.11, heap %.0f MiB (%d records, %d objects read)' % (
        t.info['rss'] / 2**20, t.info['records'], held['objects']))
    print('  %-46s %14s %8s' % ('', 'worker ops/s', 'ratio'))
    before, base = base, (base + after) / 2
    print('  %-46s %14.0f %8.2f' % ('(a) alone, before the walks', before, before / base))
    print('  %-46s %14.0f %8.2f' % ('(a) alone, after them', after, after / base))
    print('  %-46s %14.0f %8.2f' % ('(b) during a walk never paused (%.1f s)' % (racy['walk_ms'] / 1000),
                                   racy_rate, racy_rate / base))
    print('  %-46s %14.0f %8.2f' % ('(c) during a walk, outside its pauses', held_rate, held_rate / base))
    print('  pauses: %s ms (bound 200, %s); walk %.1f s; %.0f MiB copied; leaktrace peak %.0f MiB' % (
        ' + '.join('%.1f' % p for p in held['pause_ms']),
        'met' if all(p <= 200 for p in held['pause_ms']) else 'NOT met',
        held['walk_ms'] / 1000, held['bytes_copied'] / 2**20, peak_kib / 1024))
    print('  chain: %s (%s)' % (chain[0] if chain else 'none', 'right' if ok else 'WRONG'))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
