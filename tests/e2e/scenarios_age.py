# SPDX-License-Identifier: MIT
"""Age histograms: every stack's live blocks by age bucket (src/report/age_histogram.c)."""

import os
import re
import signal
import time

import __main__ as h

LE_S = [1, 10, 60, 600, 3600, 21600, None]
LABELS = ['0-1s', '1-10s', '10s-1m', '1-10m', '10m-1h', '1-6h', '>6h']


def bucket_of(age_s):
    for i, le in enumerate(LE_S):
        if le is None or age_s <= le:
            return i
    return len(LE_S) - 1


def check_histogram(s, where):
    """The histogram's shape, its sums against the stack's own counts, and
    the oldest block's bucket as its last non-empty one."""
    hist = s.get('age_histogram')
    h.expect(isinstance(hist, dict), '%s: no age_histogram: %r' % (where, sorted(s)))
    h.expect(hist.get('le_s') == LE_S, '%s: le_s %r' % (where, hist.get('le_s')))
    for k in ('allocs', 'bytes'):
        v = hist.get(k)
        h.expect(isinstance(v, list) and len(v) == len(LE_S) and all(h.is_int(x) and x >= 0 for x in v),
                 '%s: bad age_histogram.%s %r' % (where, k, v))
    h.expect(sum(hist['allocs']) == s['allocs'] and sum(hist['bytes']) == s['bytes'],
             '%s: buckets hold %d allocs, %d bytes; the stack %d, %d' % (
                 where, sum(hist['allocs']), sum(hist['bytes']), s['allocs'], s['bytes']))
    last = max(i for i, n in enumerate(hist['allocs']) if n)
    h.expect(last == bucket_of(s['oldest_age_s']),
             '%s: oldest block %.3f s old, but the oldest non-empty bucket is %s' % (
                 where, s['oldest_age_s'], LABELS[last]))
    return hist


def check_leaks_in(stacks, bucket, where):
    """Each leak_via_* stack of leaky: all its blocks and bytes in bucket."""
    for fn, (count, size) in h.LEAKY_LEAKS.items():
        hits = [s for s in stacks if s['frames'] and s['frames'][0].get('func') == fn]
        h.expect(len(hits) == 1, '%s: %d stacks for %s' % (where, len(hits), fn))
        hist = check_histogram(hits[0], '%s %s' % (where, fn))
        want_allocs = [count if i == bucket else 0 for i in range(len(LE_S))]
        want_bytes = [count * size if i == bucket else 0 for i in range(len(LE_S))]
        h.expect(hist['allocs'] == want_allocs and hist['bytes'] == want_bytes,
                 '%s %s: allocs %s bytes %s, want all %d blocks (%d bytes) in %s' % (
                     where, fn, hist['allocs'], hist['bytes'], count, count * size, LABELS[bucket]))


def report_now(p, n_before, timeout=10):
    """SIGUSR1 to leaktrace; the next JSON report."""
    p.signal(signal.SIGUSR1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and p.poll() is None:
        reps = h.parse_reports(p)
        if len(reps) > n_before:
            return reps[n_before], time.monotonic()
        time.sleep(0.05)
    raise h.Fail('no report within %ds of SIGUSR1%s' % (timeout, h.tail(p)))


def sleep_until(t):
    time.sleep(max(0.0, t - time.monotonic()))


def t_age_buckets_move(ctx):
    """-p on "leaky wait": 3 s after the leaks every leak_via_* stack has all its blocks
    and bytes in 1-10s (per process and in summary), 12.5 s after in 10s-1m; buckets sum
    to the stack's counts everywhere."""
    t = h.start_waiting_leaky(ctx, churn=1000)
    p = h.attach_pid(ctx, ['-T', '0', '--format', 'json', '-p', str(t.pid)])
    went_at = time.monotonic()
    leaked_at = h.trigger(t)
    for delay, bucket in ((3.0, 1), (12.5, 2)):
        sleep_until(leaked_at + delay)
        rep, got_at = report_now(p, len(h.parse_reports(p)))
        # The blocks were made after "go" and before "leaked" was read: at
        # least delay old, and younger than the next bound if the report
        # came in time.
        h.expect(got_at - went_at < LE_S[bucket],
                 'the report came %.1f s after the trigger: too late for bucket %s' % (
                     got_at - went_at, LABELS[bucket]))
        where = 'report at +%.1f s' % delay
        proc = h.find_proc(rep, pid=t.pid)
        check_leaks_in(proc['stacks'], bucket, where)
        for i, s in enumerate(proc['stacks']):
            check_histogram(s, '%s stack %d' % (where, i))
        check_leaks_in(rep['summary']['stacks'], bucket, where + ' summary')
    t.send('exit\n')
    h.expect(t.wait(10) == 0, 'leaky did not exit cleanly')
    rc = p.wait(30)
    h.expect(rc == 0, 'leaktrace exit status %s after its target exited%s' % (rc, h.tail(p)))
    rep = h.final_report(p)
    proc = h.find_proc(rep, pid=t.pid)
    h.expect(proc['exited'], 'leaky not marked exited')
    check_leaks_in(proc['stacks'], 2, 'final report (at exit)')


def t_age_text_at_exit(ctx):
    """-c "leaky run", text: under each leak's header one line "ages: 0-1s N (B B)" with
    its exact count and bytes (ages at exit); no other bucket."""
    p = h.run_to_end(ctx, ['-T', '0', '-c', h.leaky_cmd(ctx, 2000)])
    h.expect(p.popen.returncode == 0, 'exit status %s%s' % (p.popen.returncode, h.tail(p)))
    lines = p.out_lines
    for fn, (count, size) in h.LEAKY_LEAKS.items():
        header = re.compile(r'^    %d bytes in %d allocations?, oldest [\d.]+ s at exit' % (count * size, count))
        at = [i for i, line in enumerate(lines[:-2]) if header.match(line)
              and lines[i + 2].strip().startswith(fn + '+')]
        h.expect(len(at) == 1, '%s: %d stack headers followed by an ages line and %s' % (fn, len(at), fn))
        want = '      ages: 0-1s %d (%d B)' % (count, count * size)
        h.expect(lines[at[0] + 1] == want, '%s: ages line %r, want %r' % (fn, lines[at[0] + 1], want))


def t_age_python(ctx):
    """Debian python3.11 "py_leaky.py wait", -p -o 0: 2.5 s after the trigger the
    objects of every leak site's traceback are all in 1-10s; every Python stack's
    buckets sum to its objects and bytes."""
    exe = '/usr/bin/python3.11'
    if not os.access(exe, os.X_OK):
        raise h.Skip('no %s' % exe)
    t = ctx.target([exe, h.PY_LEAKY, 'wait', '1'], 'py_leaky')
    if not t.expect_line('ready', 30):
        raise h.Fail('py_leaky did not print "ready"%s' % h.tail(t))
    p = h.attach_pid(ctx, ['-T', '0', '-o', '0', '--format', 'json', '-p', str(t.pid)])
    went_at = time.monotonic()
    leaked_at = h.trigger(t)
    truth = h.pyleaky_truth(t.out_lines)
    sleep_until(leaked_at + 2.5)
    rep, got_at = report_now(p, len(h.parse_reports(p)))
    h.expect(got_at - went_at < 9.5, 'the report came %.1f s after the trigger: too late for 1-10s'
             % (got_at - went_at))
    proc = h.find_proc(rep, pid=t.pid)
    stacks = proc['python']['stacks']
    for i, s in enumerate(stacks):
        check_histogram(s, 'python stack %d' % i)
    for site, frames in truth['stacks'].items():
        want = [(f, l) for f, l in reversed(frames)]
        hits = [s for s in stacks if [(fr['func'], fr['line']) for fr in s['frames']][:len(want)] == want]
        h.expect(hits, '%s: no traceback %s' % (site, want))
        for s in hits:
            hist = s['age_histogram']
            h.expect(hist['allocs'][1] == s['allocs'] and hist['bytes'][1] == s['bytes'],
                     '%s: objects by age %s, want all %d in 1-10s' % (site, hist['allocs'], s['allocs']))
    rc = h.interrupt(p, signal.SIGINT)
    h.expect(rc == 0, 'exit status %s%s' % (rc, h.tail(p)))


SCENARIOS = [
    ('age_hist_buckets_move', t_age_buckets_move),
    ('age_hist_text_at_exit', t_age_text_at_exit),
    ('age_hist_python', t_age_python),
]
