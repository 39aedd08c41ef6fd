#!/usr/bin/python3
"""make bench: leaktrace's own memory and its consumer's speed, next to the goals.

  - the consumer alone (tools/bench/replay_events: a generated record
    stream fed to the real consumer, no BPF), events/s on one thread, and
    on two (a process each, through the lanes' locks), with 4,096 and with
    65,536 call sites, 200,000 live blocks per process;
  - leaktrace -p's resident memory with 0, 1M and 10M live native blocks in
    its target, and with 2M live Python objects (tools/bench/rss_live.py):
    bytes per live block (the growth of leaktrace's own heap over the blocks
    added), RSS, and the peak (VmHWM).

Exit status 0 when it measured (whether or not a goal is met), 1 when it
could not.
"""

import argparse
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def replay(binary, sites, live):
    """events/s with one lane and with two (two threads, a process each)."""
    out = subprocess.run([binary, '4000000', str(live), str(sites)], capture_output=True,
                         text=True, timeout=600, check=True).stdout
    one = re.search(r'1 lane: +([0-9]+) events/s', out)
    two = re.search(r'2 lanes: +([0-9]+) events/s', out)
    if not one or not two:
        raise RuntimeError('replay_events printed no rate: ' + out)
    return int(one.group(1)), int(two.group(1))


def rss(extra, counts):
    out = subprocess.run([sys.executable, os.path.join(HERE, 'rss_live.py')] + extra +
                         [str(c) for c in counts], capture_output=True, text=True,
                         timeout=3600, check=True).stdout
    rows = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) == 6 and f[0].isdigit():
            rows[int(f[0])] = {'anon': float(f[1]), 'rss': float(f[2]),
                               'hwm': None if f[3] == '-' else float(f[3]),
                               'per': None if f[4] == '-' else float(f[4]), 'lost': f[5]}
    return rows


def verdict(ok):
    return 'met' if ok else 'NOT MET'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--replay', required=True)
    ap.add_argument('--python', required=True, help='an interpreter for the object rows')
    args = ap.parse_args()
    try:
        r4k = replay(args.replay, 4096, 200000)
        r64k = replay(args.replay, 65536, 200000)
        native = rss([], [1000000, 10000000])
        # The interpreter's start moves its baseline: count the 2M added after 500k.
        py = rss(['--python', args.python], [500000, 2500000])
    except (subprocess.SubprocessError, RuntimeError, OSError) as e:
        print('memory bench: could not measure: %s' % e, file=sys.stderr)
        return 1
    print('leaktrace memory and consumer speed (goals from issue 17)')
    print('%-46s %14s %12s %8s' % ('', 'measured', 'goal', ''))
    print('(two threads: "met" from 1.5x one)')
    rows = [
        ('consumer, 1 thread, 4,096 call sites (ev/s)', r4k[0], '>= 1,000,000', r4k[0] >= 1e6),
        ('consumer, 2 threads, 4,096 call sites (ev/s)', r4k[1], '~2x 1 thread',
         r4k[1] >= 1.5 * r4k[0]),
        ('consumer, 1 thread, 65,536 call sites (ev/s)', r64k[0], '>= 1,000,000',
         r64k[0] >= 1e6),
        ('consumer, 2 threads, 65,536 call sites (ev/s)', r64k[1], '~2x 1 thread',
         r64k[1] >= 1.5 * r64k[0]),
        ('RSS, nothing traced (MiB)', native[0]['rss'], '<= 48', native[0]['rss'] <= 48),
        ('bytes per live native block, 1M', native[1000000]['per'], '<= 32',
         native[1000000]['per'] <= 32),
        ('bytes per live native block, 10M', native[10000000]['per'], '<= 32',
         native[10000000]['per'] <= 32),
        ('bytes per live Python object, 2M', py[2500000]['per'], '<= 32',
         py[2500000]['per'] <= 32),
        ('peak RSS, 1M live blocks (MiB)', native[1000000]['hwm'], '<= 96',
         native[1000000]['hwm'] <= 96),
        ('peak RSS, 10M live blocks (MiB)', native[10000000]['hwm'], '<= 450',
         native[10000000]['hwm'] <= 450),
    ]
    for name, value, goal, ok in rows:
        shown = '{:,.0f}'.format(value) if value >= 1000 else '%.1f' % value
        print('%-46s %14s %12s %8s' % (name, shown, goal, verdict(ok)))
    lost = [r['lost'] for r in list(native.values()) + list(py.values()) if r['lost'] not in '-0']
    print('events lost while measuring: %s' % (', '.join(lost) if lost else 'none'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
