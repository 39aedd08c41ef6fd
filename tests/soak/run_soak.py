#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Soak test (make soak; not part of make test).

Runs tests/progs/soak_target (THREADS churning threads plus one thread that
leaks one 4096-byte block every LEAK_MS ms) under `leaktrace -p` with a
report every INTERVAL seconds for SECONDS seconds, and checks:
  - leaktrace's own heap (RssAnon) stays flat after the first third;
  - every report counts the slow leak: it grows by the expected number of
    blocks between reports, and its verdict becomes "growing";
  - at the end, with the leak stopped, the report has exactly the blocks
    the target says it leaked (when no event was lost; lost events must be
    counted and shown in every report otherwise);
  - leaktrace exits 0 on SIGINT with a final report.
Prints a summary and exits 1 on any failure.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))


class Stream:
    def __init__(self, stream):
        self.lines = []
        self.lock = threading.Lock()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream):
        for raw in iter(stream.readline, b''):
            with self.lock:
                self.lines.append(raw.decode('utf-8', 'replace').rstrip('\n'))

    def snapshot(self):
        with self.lock:
            return list(self.lines)

    def wait(self, pred, timeout):
        deadline = time.monotonic() + timeout
        seen = 0
        while time.monotonic() < deadline:
            lines = self.snapshot()
            for line in lines[seen:]:
                if pred(line):
                    return line
            seen = len(lines)
            time.sleep(0.05)
        return None


def rss_anon_kib(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('RssAnon:'):
                return int(line.split()[1])
    return 0


def slow_leak(report, pid):
    """The slow leak's stack (all of them, summed, should unwinding ever
    give it two: then 'stacks' says how many)."""
    found = None
    for p in report['processes']:
        if p['pid'] != pid:
            continue
        for s in p['stacks']:
            names = [f.get('func') or '' for f in s['frames']]
            if 'slow_leak' not in names:
                continue
            if found is None:
                found = dict(s, stacks=1)
            else:
                found['allocs'] += s['allocs']
                found['bytes'] += s['bytes']
                found['stacks'] += 1
    return found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--leaktrace', default=os.path.join(ROOT, 'build', 'leaktrace'))
    ap.add_argument('--target', default=os.path.join(ROOT, 'build', 'tests', 'progs', 'soak_target'))
    ap.add_argument('--seconds', type=float, default=float(os.environ.get('SOAK_SECONDS', 180)))
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--leak-ms', type=int, default=100)
    ap.add_argument('--interval', type=float, default=10)
    args = ap.parse_args()
    problems = []

    target = subprocess.Popen([args.target, str(args.threads), str(args.leak_ms)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    tout = Stream(target.stdout)
    if not tout.wait(lambda x: x == 'ready', 10):
        sys.exit('soak_target did not start')
    lt = subprocess.Popen([args.leaktrace, '-p', str(target.pid), '-o', '0', '-T', '0',
                           '--format', 'json', str(args.interval)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lout, lerr = Stream(lt.stdout), Stream(lt.stderr)
    try:
        if not lerr.wait(lambda x: x.startswith('leaktrace: tracing'), 60):
            sys.exit('leaktrace did not start: %s' % lerr.snapshot()[-3:])
        target.stdin.write(b'start\n')
        target.stdin.flush()
        t0 = time.monotonic()
        rss = []
        while time.monotonic() - t0 < args.seconds:
            time.sleep(2)
            if lt.poll() is not None:
                problems.append('leaktrace exited early with %s' % lt.returncode)
                break
            rss.append((time.monotonic() - t0, rss_anon_kib(lt.pid)))
        target.stdin.write(b'stop\n')
        target.stdin.flush()
        line = tout.wait(lambda x: x.startswith('leaked '), 10)
        leaked = int(line.split()[1]) if line else -1
        time.sleep(1.5)
        n_before = len(lout.snapshot())
        lt.send_signal(signal.SIGINT)
        rc = lt.wait(120)
        if rc != 0:
            problems.append('leaktrace exit status %s' % rc)
        reports = [json.loads(x) for x in lout.snapshot() if x.startswith('{')]
        final = reports[-1] if reports else None
        if not final or not final['final'] or len(lout.snapshot()) <= n_before:
            problems.append('no final report')
    finally:
        if lt.poll() is None:
            lt.kill()
        target.stdin.close()
        target.wait(10)

    # Reports: lost events shown in each; the slow leak grows as it should.
    per_report = args.interval * 1000 / args.leak_ms
    prev = None
    lost = 0
    for r in reports:
        st = r['stats']
        lost = st['lost_events']
        s = slow_leak(r, target.pid)
        n = s['allocs'] if s else 0
        if prev is not None and not r['final']:
            step = n - prev
            if abs(step - per_report) > max(3, per_report * 0.1) and not lost:
                problems.append('report at %.0f s: slow leak grew by %d blocks, expected ~%.0f' %
                                (r['elapsed_s'], step, per_report))
        prev = n
    growing = [r for r in reports if (slow_leak(r, target.pid) or {}).get('verdict') == 'growing']
    if len(reports) > 10 and not growing:
        problems.append('the slow leak was never called growing')
    if final:
        s = slow_leak(final, target.pid)
        got = (s['allocs'], s['bytes']) if s else (0, 0)
        if lost == 0 and got != (leaked, leaked * 4096):
            problems.append('final report: slow leak %s, the target leaked %d blocks; stats %s' %
                            (got, leaked, final['stats']))
        if s and s['stacks'] != 1:
            problems.append('final report: the slow leak has %d different stacks: %s' % (
                s['stacks'], [[f.get('func') for f in x['frames']] for p in final['processes']
                              for x in p['stacks'] if any(f.get('func') == 'slow_leak'
                                                          for f in x['frames'])]))
        if lost and not (got[0] <= leaked and leaked - got[0] <= lost):
            problems.append('final report: slow leak %d of %d with %d events lost' % (got[0], leaked, lost))

    # leaktrace's heap: flat once warm.
    warm = [kib for t, kib in rss if t >= args.seconds / 3]
    if warm:
        base, top = warm[0], max(warm)
        if top - base > 10 * 1024:
            problems.append("leaktrace's RssAnon grew from %.1f to %.1f MiB after warm-up" %
                            (base / 1024, top / 1024))
    events = final['stats']['alloc_events'] + final['stats']['free_events'] if final else 0
    print('soak: %.0f s, %d churn threads, %d reports, %.0f events/s, %d lost, slow leak %d blocks' %
          (args.seconds, args.threads, len(reports), events / max(args.seconds, 1), lost, leaked))
    if rss:
        print("soak: leaktrace RssAnon %.1f MiB after %.0f s, %.1f..%.1f MiB after warm-up" %
              (rss[0][1] / 1024, rss[0][0], min(warm) / 1024 if warm else 0,
               max(warm) / 1024 if warm else 0))
    for p in problems:
        print('FAIL: ' + p)
    print('soak: %s' % ('FAIL' if problems else 'PASS'))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
