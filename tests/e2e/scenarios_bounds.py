# SPDX-License-Identifier: MIT
"""--max-allocs and --max-stacks: past a bound new blocks are counted, not kept."""

import signal
import time

import __main__ as h


def command(t, line, timeout=60):
    h.expect(t.send(line + '\n'), 'cannot write to many_live')
    h.expect(t.expect_line('done', timeout), 'many_live did not finish %r%s' % (line, h.tail(t)))


def report_now(p, n_before):
    """SIGUSR1, then the report it printed."""
    p.signal(signal.SIGUSR1)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        reps = h.parse_reports(p)
        if len(reps) > n_before:
            return reps[-1], len(reps)
        time.sleep(0.05)
    raise h.Fail('no report after SIGUSR1%s' % h.tail(p))


def t_bounds(ctx):
    """--max-allocs 1024 --max-stacks 64: extra blocks and stacks are counted as untracked; freed room and released stacks are used again."""
    t = ctx.target([ctx.prog('many_live')], 'many_live')
    h.expect(t.expect_line('ready', 15), 'many_live did not start' + h.tail(t))
    p = h.attach_pid(ctx, ['-T', '0', '-o', '0', '--format', 'json', '--max-allocs', '1024',
                           '--max-stacks', '64', '-p', str(t.pid)])
    n = 0

    # 5000 blocks, room for 1024.
    command(t, 'live 5000')
    time.sleep(0.3)
    rep, n = report_now(p, n)
    st = rep['stats']
    got = (st['tracked_allocs'], st['untracked_allocs'], st['untracked_bytes'])
    h.expect(got == (1024, 3976, 3976 * 16), 'after 5000 blocks: tracked/untracked/bytes %s, '
             'expected (1024, 3976, 63616)' % (got,))
    proc = h.find_proc(rep, pid=t.pid)
    h.expect((proc['outstanding_allocs'], proc['outstanding_bytes']) == (1024, 1024 * 16),
             'outstanding %d/%d, expected 1024/16384' % (proc['outstanding_allocs'],
                                                         proc['outstanding_bytes']))

    # All freed: the untracked ones are frees of unknown blocks; room again.
    command(t, 'free')
    command(t, 'live 500')
    time.sleep(0.3)
    rep, n = report_now(p, n)
    st = rep['stats']
    proc = h.find_proc(rep, pid=t.pid)
    h.expect((proc['outstanding_allocs'], proc['outstanding_bytes']) == (500, 8000),
             'after free and 500 more: outstanding %d/%d, expected 500/8000' % (
                 proc['outstanding_allocs'], proc['outstanding_bytes']))
    h.expect(st['untracked_allocs'] == 3976, 'untracked_allocs %d, expected 3976 still' %
             st['untracked_allocs'])
    h.expect(st['unmatched_frees'] >= 3976, 'unmatched_frees %d < 3976' % st['unmatched_frees'])
    h.expect(st['tracked_stacks'] == 1, 'tracked_stacks %d, expected 1 (the first stack, '
             'freed, was recycled)' % st['tracked_stacks'])

    # 100 distinct stacks, room for 63 more.
    command(t, 'stacks 100')
    time.sleep(0.3)
    rep, n = report_now(p, n)
    st = rep['stats']
    proc = h.find_proc(rep, pid=t.pid)
    deep = [s for s in proc['stacks'] if 'alloc_deep' in h.stack_funcs(s)]
    h.expect(len(deep) == 63 and all(s['allocs'] == 1 and s['bytes'] == 24 for s in deep),
             '%d alloc_deep stacks kept, expected 63 of one 24-byte block each' % len(deep))
    h.expect((st['tracked_stacks'], st['untracked_allocs'], st['untracked_bytes']) ==
             (64, 3976 + 37, 3976 * 16 + 37 * 24),
             'stacks/untracked/bytes %s, expected (64, 4013, 64504)' % (
                 (st['tracked_stacks'], st['untracked_allocs'], st['untracked_bytes']),))

    # Freed: their stacks are released, and new ones fit again.
    command(t, 'freestacks')
    command(t, 'stacks 40')
    time.sleep(0.3)
    rep, n = report_now(p, n)
    st = rep['stats']
    proc = h.find_proc(rep, pid=t.pid)
    deep = [s for s in proc['stacks'] if 'alloc_deep' in h.stack_funcs(s)]
    h.expect(len(deep) == 40, '%d alloc_deep stacks after recycling, expected 40' % len(deep))
    h.expect(st['tracked_stacks'] == 41, 'tracked_stacks %d, expected 41' % st['tracked_stacks'])
    h.expect(st['untracked_allocs'] == 4013, 'untracked_allocs %d, expected 4013' %
             st['untracked_allocs'])
    h.expect(st['lost_events'] == 0, 'lost events: %d' % st['lost_events'])
    rc = h.interrupt(p, signal.SIGINT)
    h.expect(rc == 0, 'exit status %s after SIGINT%s' % (rc, h.tail(p)))


def t_bounds_text(ctx):
    """The text report says how much was not tracked and which bounds were reached."""
    t = ctx.target([ctx.prog('many_live')], 'many_live')
    h.expect(t.expect_line('ready', 15), 'many_live did not start' + h.tail(t))
    p = h.attach_pid(ctx, ['-o', '0', '--max-allocs', '1024', '-p', str(t.pid)])
    command(t, 'live 2000')
    time.sleep(0.5)
    rc = h.interrupt(p, signal.SIGINT)
    h.expect(rc == 0, 'exit status %s after SIGINT%s' % (rc, h.tail(p)))
    want = ('15616 bytes in 976 allocations not tracked: --max-allocs 1024 or --max-stacks '
            '262144 reached')
    h.expect(want in p.out_lines, 'text report lacks %r: %s' % (want, p.out_lines[:4]))


SCENARIOS = [
    ('bounds', t_bounds),
    ('bounds_text', t_bounds_text),
]
