# SPDX-License-Identifier: MIT
"""Faults: targets that die, exec, fork, reuse a PID, leave malloc without
returning or run a libc replaced on disk; leaktrace stopped by a signal or
by SIGKILL; a full ring buffer. No crash, nothing attributed to the wrong
process, exact reports afterwards, no probe left behind."""

import json
import os
import re
import shutil
import signal
import subprocess
import time

import __main__ as h

# tests/progs/stuck_malloc.c: function -> (blocks, bytes per block)
STUCK_LEAKS = {
    'after_jump_same_slot': (1, 1500),
    'after_jump_leak': (7, 1300),
    'new_thread_leak': (4, 1700),
}
STUCK_FREED = 'kept_then_freed'  # 5 x 1100, freed after the abandoned call
STUCK_BYTES = 77777              # the size of the calls that never return
STUCK_CALLERS = {'after_jump_same_slot': ['main'], 'after_jump_leak': ['main'],
                 'new_thread_leak': ['leaking_thread']}


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

def reports_in(path, want_mmap=False):
    """Schema-checked reports of a -w FILE, one JSON object per line."""
    out = []
    try:
        with open(path) as f:
            lines = [line for line in f if line.strip()]
    except OSError as e:
        raise h.Fail('cannot read %s: %s' % (path, e))
    for i, line in enumerate(lines):
        try:
            r = json.loads(line)
        except ValueError:
            raise h.Fail('%s line %d is not JSON: %.80r' % (path, i + 1, line))
        errs = h.validate_report(r, want_mmap)
        if errs:
            raise h.Fail('%s report %d does not match the schema: %s' % (path, i, '; '.join(errs[:4])))
        out.append(r)
    return out


def exact(stacks, expected, callers, src, module, absent=(), what='heap'):
    """check_stacks for functions with their own callers each."""
    problems = []
    for fn, (count, size) in expected.items():
        problems += h.check_stacks(stacks, {fn: (count, size)}, callers=callers[fn], src=src,
                                   sites=h.source_sites(src), module=module, what=what)
    for fn in absent:
        hits = [s for s in stacks if fn in h.stack_funcs(s)]
        if hits:
            problems.append('%s %s must not be reported; got %d bytes in %d allocs' % (
                what, fn, sum(s['bytes'] for s in hits), sum(s['allocs'] for s in hits)))
    return problems


# System-wide on a busy host: only the top stacks of each process are named
# (the default suppressions would have every stack of every process named).
SYSTEM_WIDE_OPTS = ['-T', '20', '--no-default-suppressions', '--format', 'json']


def report_with(p, pid, timeout=40):
    """SIGUSR1 reports until one shows pid: a system-wide leaktrace can lag
    behind a busy host (its final report drains the ring buffer for 2 s only)."""
    deadline = time.monotonic() + timeout
    while True:
        rep = h.report_now(p)
        if any(q['pid'] == pid for q in rep['processes']) or time.monotonic() > deadline:
            return rep
        time.sleep(0.5)


def fail_if(problems, where=''):
    if problems:
        raise h.Fail(where + '; '.join(problems[:5]) +
                     (' (+%d more)' % (len(problems) - 5) if len(problems) > 5 else ''))


def total(expected):
    return (sum(c * s for c, s in expected.values()), sum(c for c, _ in expected.values()))


# ---------------------------------------------------------------------------
# Allocator calls that never return
# ---------------------------------------------------------------------------

def t_inflight_never_returns(ctx):
    """calls left inside malloc (siglongjmp out, thread ended, process exit) are not counted and hide nothing: later calls and frees on that thread, and a new thread with the ended one's TID, are exact."""
    prog = ctx.prog('stuck_malloc')
    out = os.path.join(ctx.tmpdir(), 'reports.ndjson')
    p = h.run_to_end(ctx, ['-O', prog, '-T', '0', '--format', 'json', '-w', out, '-c', prog])
    h.expect(p.popen.returncode == 0, 'exit status %s%s' % (p.popen.returncode, h.tail(p)))
    h.expect('done' in p.out_lines, 'stuck_malloc did not finish: %s' % p.out_lines[-3:])
    if 'tid reused' not in p.out_lines:
        ctx.notes.append('the ended thread\'s TID was not reused (another process took it)')
    reps = reports_in(out)
    h.expect(len(reps) == 1 and reps[0]['final'], '%d reports, expected one final' % len(reps))
    rep = reps[0]
    proc = h.find_proc(rep, comm='stuck_malloc')
    h.expect(proc['exited'], 'stuck_malloc not shown as exited')
    problems = exact(proc['stacks'], STUCK_LEAKS, STUCK_CALLERS, 'stuck_malloc.c', 'stuck_malloc',
                     absent=[STUCK_FREED, 'stuck_call', 'stuck_thread'])
    stuck = [s for s in proc['stacks'] if s['bytes'] % STUCK_BYTES == 0]
    if stuck:
        problems.append('a call that never returned is counted: %s' % h.describe(stuck))
    # glibc's own blocks (a thread's DTV, from ld.so) are hidden by the default
    # suppressions and counted there: together they are the whole process.
    want_b, want_a = total(STUCK_LEAKS)
    got = (proc['outstanding_bytes'], proc['outstanding_allocs'])
    hidden = (rep['stats']['suppressed_bytes'], rep['stats']['suppressed_allocs'])
    if got != (want_b + hidden[0], want_a + hidden[1]):
        problems.append('outstanding %d bytes in %d allocs, expected %d in %d plus %d in %d '
                        'suppressed (stacks: %s)' % (got + (want_b, want_a) + hidden +
                                                     (h.describe(proc['stacks'], 8),)))
    if rep['stats']['lost_events']:
        problems.append('lost_events %d' % rep['stats']['lost_events'])
    fail_if(problems)


# ---------------------------------------------------------------------------
# PID reuse
# ---------------------------------------------------------------------------

# tests/progs/pid_reuse.c: child A; child B (same PID) runs "leaky wait"
REUSE_A = {'first_child_leak': (3, 2700)}


def wait_out_line(p, pattern, timeout=20):
    """The first stdout line of p matching pattern (a regex), as a match."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in list(p.out_lines):
            m = re.match(pattern, line.strip())
            if m:
                return m
        if p.poll() is not None:
            break
        time.sleep(0.05)
    raise h.Fail('no line matching %r on stdout within %ds (rc=%s)%s' % (
        pattern, timeout, p.poll(), h.tail(p)))


def check_reuse_pair(rep, pid, where):
    """pid shows twice: A exited with its own leaks and names, B with leaky's."""
    entries = [q for q in rep['processes'] if q['pid'] == pid]
    a = [q for q in entries if any('first_child_leak' in h.stack_funcs(s) for s in q['stacks'])]
    b = [q for q in entries if q not in a]
    h.expect(len(a) == 1 and len(b) == 1, '%s: pid %d shows %d times (%s), expected A and B' % (
        where, pid, len(entries), ', '.join('%s/%s' % (q['comm'], q['exe']) for q in entries)))
    a, b = a[0], b[0]
    problems = []
    if a['comm'] != 'pid_reuse' or os.path.basename(a['exe'] or '') != 'pid_reuse':
        problems.append('A is named %r, exe %r' % (a['comm'], a['exe']))
    if not a['exited']:
        problems.append('A is not shown as exited')
    problems += h.check_stacks(a['stacks'], REUSE_A, callers=['main'], src='pid_reuse.c',
                               sites=h.source_sites('pid_reuse.c'), module='pid_reuse',
                               absent=list(h.LEAKY_LEAKS))
    if (a['outstanding_bytes'], a['outstanding_allocs']) != total(REUSE_A):
        problems.append('A outstanding %d/%d, expected %d/%d' % (
            (a['outstanding_bytes'], a['outstanding_allocs']) + total(REUSE_A)))
    if b['comm'] != 'leaky' or os.path.basename(b['exe'] or '') != 'leaky':
        problems.append('B is named %r, exe %r' % (b['comm'], b['exe']))
    try:
        h.check_leaky(b, absent=list(REUSE_A))
    except h.Fail as e:
        problems.append('B: %s' % e)
    fail_if(problems, '%s: ' % where)


def run_pid_reuse(ctx, stop_tracer):
    """-c pid_reuse: A leaks and exits, B takes its PID and runs leaky."""
    out = os.path.join(ctx.tmpdir(), 'reports.ndjson')
    p = ctx.lt(['-T', '0', '--format', 'json', '-w', out, '-c',
                '%s %s wait 1000' % (ctx.prog('pid_reuse'), ctx.prog('leaky'))], stdin=True)
    h.expect(p.expect_err_line('leaktrace: tracing', 30), 'leaktrace did not start' + h.tail(p))
    if stop_tracer:
        # A lives, leaks and goes, and B takes its PID, before leaktrace
        # reads a single record of A: all it reads of /proc is B's.
        p.signal(signal.SIGSTOP)
    try:
        p.send('start\n')
        pid_a = int(wait_out_line(p, r'^A (\d+)$').group(1))
        time.sleep(0.05)  # A lives a few clock ticks
        p.send('exit A\n')
        pid_b = int(wait_out_line(p, r'^B (\d+)$').group(1))
        if pid_b != pid_a:
            raise h.Skip('B got PID %d, not A\'s %d (ns_last_pid not writable, or taken)' % (
                pid_b, pid_a))
        wait_out_line(p, r'^ready$')
    finally:
        if stop_tracer:
            p.signal(signal.SIGCONT)
    p.send('go\n')
    wait_out_line(p, r'^leaked$', timeout=60)
    time.sleep(0.6)
    p.send('exit\n')
    rc = p.wait(60)
    h.expect(rc == 0, 'exit status %s%s' % (rc, h.tail(p)))
    reps = reports_in(out)
    h.expect(len(reps) == 1 and reps[0]['final'], '%d reports, expected one final' % len(reps))
    check_reuse_pair(reps[0], pid_a, 'final report')


def t_pid_reuse_system_wide(ctx):
    """system-wide: a process shown at its PID exits, a later one takes the PID: reports show the later one alone there, with its own leaks and names."""
    p = ctx.lt(SYSTEM_WIDE_OPTS)
    h.wait_probes(p.pid, min_wait=2.0, max_wait=10)
    h.expect(p.poll() is None, 'leaktrace exited early with status %s%s' % (p.poll(), h.tail(p)))
    t = ctx.target([ctx.prog('pid_reuse'), ctx.prog('leaky'), 'wait', str(h.SYSTEM_WIDE_CHURN)],
                   'pid_reuse')
    t.send('start\n')
    pid_a = int(wait_out_line(t, r'^A (\d+)$').group(1))
    time.sleep(0.8)  # past the 500 ms age filter
    a = h.find_proc(report_with(p, pid_a), pid=pid_a)
    problems = h.check_stacks(a['stacks'], REUSE_A, callers=['main'], src='pid_reuse.c',
                              sites=h.source_sites('pid_reuse.c'), module='pid_reuse')
    if a['comm'] != 'pid_reuse':
        problems.append('A is named %r' % a['comm'])
    fail_if(problems, 'A while it runs: ')
    t.send('exit A\n')
    pid_b = int(wait_out_line(t, r'^B (\d+)$').group(1))
    if pid_b != pid_a:
        raise h.Skip('B got PID %d, not A\'s %d (ns_last_pid not writable, or taken)' % (pid_b, pid_a))
    wait_out_line(t, r'^ready$')
    h.trigger(t)
    time.sleep(1.0)
    report_with(p, pid_b)
    rc = h.interrupt(p, signal.SIGINT)
    h.expect(rc == 0, 'exit status %s after SIGINT%s' % (rc, h.tail(p)))
    for i, r in enumerate(h.parse_reports(p)[1:]):
        entries = [q for q in r['processes'] if q['pid'] == pid_a]
        h.expect(len(entries) <= 1, 'report %d shows pid %d %d times' % (i + 1, pid_a, len(entries)))
    b = h.find_proc(h.final_report(p), pid=pid_b)
    h.expect(b['comm'] == 'leaky' and os.path.basename(b['exe']) == 'leaky',
             'B is named %r, exe %r' % (b['comm'], b['exe']))
    h.check_leaky(b, exited=False, absent=list(REUSE_A))


def t_pid_reuse_command(ctx):
    """-c: a child that exits and a later one given its PID are both in the final report, each with its own leaks, name and program."""
    run_pid_reuse(ctx, stop_tracer=False)


def t_pid_reuse_behind(ctx):
    """-c, leaktrace stopped meanwhile: when it reads the first child's records its PID is the second's; names and stacks still come from the right process."""
    run_pid_reuse(ctx, stop_tracer=True)


# ---------------------------------------------------------------------------
# -p targets that fork or exec
# ---------------------------------------------------------------------------

# tests/progs/fork_wait.c
FORK_PARENT = {'parent_leak': (3, 2400)}
FORK_CHILD = {'child_leak': (2, 2500), 'waiting_child_leak': (4, 2600)}


def t_p_fork_children(ctx):
    """-p on a parent that forks leaking children: the children are not traced (nor listed), nothing of theirs is counted in the parent, whose numbers are exact in every report."""
    t = ctx.target([ctx.prog('fork_wait')], 'fork_wait')
    h.expect(t.expect_line('ready', 15), 'fork_wait did not start' + h.tail(t))
    p = h.attach_pid(ctx, ['-T', '0', '--format', 'json', '-p', str(t.pid)])
    fds = h.probe_fds(p.pid)
    h.trigger(t)
    child = int(wait_out_line(t, r'^child (\d+)$').group(1))
    time.sleep(1.0)
    mid = h.report_now(p)
    h.expect(h.pid_alive(child), 'the waiting child is gone (test setup problem)')
    h.expect(h.probe_fds(p.pid) == fds, 'leaktrace attached probes for the children: %d -> %d '
             'probe descriptors' % (fds, h.probe_fds(p.pid)))
    t.send('exit\n')
    rc = p.wait(30)
    h.expect(rc == 0, 'leaktrace did not end with its only target (status %s)%s' % (rc, h.tail(p)))
    reps = h.parse_reports(p)
    h.expect(reps[-1] is not mid and reps[-1]['final'], 'no final report after the target exited')
    for what, rep in (('report', mid), ('final report', reps[-1])):
        pids = [q['pid'] for q in rep['processes']]
        h.expect(pids == [t.pid], '%s lists %s, expected the parent %d alone' % (what, pids, t.pid))
        proc = rep['processes'][0]
        problems = h.check_stacks(proc['stacks'], FORK_PARENT, callers=['main'], src='fork_wait.c',
                                  sites=h.source_sites('fork_wait.c'), module='fork_wait',
                                  absent=list(FORK_CHILD))
        if (proc['outstanding_bytes'], proc['outstanding_allocs']) != total(FORK_PARENT):
            problems.append('outstanding %d/%d, expected %d/%d' % (
                (proc['outstanding_bytes'], proc['outstanding_allocs']) + total(FORK_PARENT)))
        if proc['exited'] != (what == 'final report'):
            problems.append('exited is %r' % proc['exited'])
        fail_if(problems, '%s: ' % what)


# tests/progs/exec_leaky.c, before it execs "leaky wait"
EXEC_OLD = {'old_image_leak': (3, 2100)}


def p_exec(ctx, from_thread):
    """-p on exec_leaky: its own leaks exact; then it execs leaky (same PID):
    only leaky's leaks, exact, named from leaky's image."""
    t = ctx.target([ctx.prog('exec_leaky')] + (['-t'] if from_thread else []) +
                   [ctx.prog('leaky'), 'wait', '20000'], 'exec_leaky')
    h.expect(t.expect_line('ready', 15), 'exec_leaky did not start' + h.tail(t))
    p = h.attach_pid(ctx, ['-T', '0', '--format', 'json', '-p', str(t.pid)])
    fds = h.probe_fds(p.pid)
    h.trigger(t)
    time.sleep(0.8)
    before = h.find_proc(h.report_now(p), pid=t.pid)
    problems = h.check_stacks(before['stacks'], EXEC_OLD, callers=['main'], src='exec_leaky.c',
                              sites=h.source_sites('exec_leaky.c'), module='exec_leaky')
    if (before['outstanding_bytes'], before['outstanding_allocs']) != total(EXEC_OLD):
        problems.append('outstanding %d/%d, expected %d/%d' % (
            (before['outstanding_bytes'], before['outstanding_allocs']) + total(EXEC_OLD)))
    fail_if(problems, 'before exec: ')
    t.send('exec\n')
    h.expect(t.expect_line('ready', 15), 'leaky did not start after the exec' + h.tail(t))
    time.sleep(0.3)
    h.trigger(t)
    time.sleep(1.2)
    # The same libc keeps its probes; after an exec by another thread they
    # are made again, as many, and the dead ones are closed (in the
    # background, about 0.1 s each).
    deadline = time.monotonic() + 10
    while h.probe_fds(p.pid) != fds and time.monotonic() < deadline:
        time.sleep(0.1)
    h.expect(h.probe_fds(p.pid) == fds, 'probe descriptors %d -> %d after the exec' % (
        fds, h.probe_fds(p.pid)))
    rc = h.interrupt(p, signal.SIGINT)
    h.expect(rc == 0, 'exit status %s after SIGINT%s' % (rc, h.tail(p)))
    rep = h.final_report(p)
    proc = h.find_proc(rep, pid=t.pid)
    h.expect(proc['comm'] == 'leaky' and os.path.basename(proc['exe']) == 'leaky',
             'after exec: named %r, exe %r' % (proc['comm'], proc['exe']))
    h.check_leaky(proc, exited=False, absent=list(EXEC_OLD))
    h.expect([q['pid'] for q in rep['processes']] == [t.pid],
             'processes in the report: %s' % [q['pid'] for q in rep['processes']])
    st = rep['stats']
    # Doubled probes would record each call twice: the same block put twice.
    h.expect(st['replaced_allocs'] == 0 and st['lost_events'] == 0,
             'replaced_allocs %d, lost_events %d' % (st['replaced_allocs'], st['lost_events']))
    # exec_leaky: 3 blocks; leaky: 66 leaks, 20000 churn pairs and a few no-count calls.
    h.expect(st['alloc_events'] < 20000 + 3 + 200, 'alloc_events %d: counted twice?' %
             st['alloc_events'])


def t_p_exec_same_libc(ctx):
    """-p on a process that leaks, then execs leaky: only the new image's leaks, exact and named from it; the per-process probes carry over (same libc), not doubled."""
    p_exec(ctx, from_thread=False)


def t_p_exec_from_thread(ctx):
    """-p on a process whose second thread execs leaky: the probes the kernel tied to the old leader thread are made again; the new image's leaks exact."""
    p_exec(ctx, from_thread=True)


def t_p_exec_other_libc(ctx):
    """-p on a process that execs a program running with a private libc copy: the new libc is probed for that process, the new image's leaks exact."""
    d = ctx.tmpdir()
    os.chmod(d, 0o755)
    libc, ldso = '/lib/x86_64-linux-gnu/libc.so.6', '/lib64/ld-linux-x86-64.so.2'
    shutil.copy(libc, os.path.join(d, 'libc.so.6'))
    shutil.copy(os.path.realpath(ldso), os.path.join(d, 'ld-linux-x86-64.so.2'))
    # exec_leaky itself runs on the host libc; leaky on the copy.
    argv_leaky = [os.path.join(d, 'ld-linux-x86-64.so.2'), '--library-path', d]
    t = ctx.target([ctx.prog('exec_leaky')] + argv_leaky + [ctx.prog('leaky'), 'wait', '20000'],
                   'exec_leaky')
    h.expect(t.expect_line('ready', 15), 'exec_leaky did not start' + h.tail(t))
    p = h.attach_pid(ctx, ['-T', '0', '--format', 'json', '-p', str(t.pid)])
    fds = h.probe_fds(p.pid)
    h.trigger(t)
    t.send('exec\n')
    h.expect(t.expect_line('ready', 15), 'leaky did not start after the exec' + h.tail(t))
    with open('/proc/%d/maps' % t.pid) as f:
        h.expect(os.path.join(d, 'libc.so.6') in f.read(), 'the private libc is not mapped (setup)')
    # Its libc is attached as it is mapped: wait for the new probes.
    h.wait_probes(p.pid, above=fds, min_wait=0.3, max_wait=8)
    h.trigger(t)
    time.sleep(1.2)
    rc = h.interrupt(p, signal.SIGINT)
    h.expect(rc == 0, 'exit status %s after SIGINT%s' % (rc, h.tail(p)))
    rep = h.final_report(p)
    proc = h.find_proc(rep, pid=t.pid)
    h.expect(proc['comm'] in ('leaky', 'ld-linux-x86-64'), 'after exec: named %r' % proc['comm'])
    h.check_leaky(proc, exited=False, absent=list(EXEC_OLD))


def t_p_libc_moving_while_attaching(ctx):
    """-p on a process that maps a deleted libc and moves the mapping every millisecond (as ld.so replaces its first whole-file mapping while a program starts): each /proc map_files name is gone a moment after it is found, yet the file is attached, with no warning."""
    d = ctx.tmpdir()
    os.chmod(d, 0o755)
    copy = os.path.join(d, 'libc.so.6')
    shutil.copy('/lib/x86_64-linux-gnu/libc.so.6', copy)
    t = ctx.target([ctx.prog('moving_libc'), copy], 'moving_libc')
    h.expect(t.expect_line('ready', 15), 'moving_libc did not start' + h.tail(t))
    p = h.attach_pid(ctx, ['-T', '0', '--format', 'json', '-p', str(t.pid)])
    fds, before = h.probe_fds(p.pid), h.uprobe_fds(p.pid)
    t.send('go\n')
    h.expect(t.expect_line('mapped', 15), 'moving_libc did not map the copy' + h.tail(t))
    h.wait_probes(p.pid, above=fds, min_wait=0.5, max_wait=10)
    after = h.uprobe_fds(p.pid)
    with open('/proc/%d/maps' % t.pid) as f:
        h.expect(copy + ' (deleted)' in f.read(), 'the deleted copy is not mapped (setup)')
    rc = h.interrupt(p, signal.SIGINT)
    h.expect(rc == 0, 'exit status %s after SIGINT%s' % (rc, h.tail(p)))
    warnings = [line for line in p.err_lines if 'warning' in line]
    h.expect(not warnings, 'warnings: %s' % ' | '.join(warnings))
    # The copy gets the same probes as the libc the process runs on.
    h.expect(after == 2 * before, 'uprobes: %d on the first libc, then %d in all' % (before, after))


# ---------------------------------------------------------------------------
# A target killed while leaktrace reports
# ---------------------------------------------------------------------------

# tests/progs/tree_leaky.c: one 40-byte block at each of 2048 distinct stacks
TREE_STACKS, TREE_BLOCK = 2048, 40


def wait_mid_write(path, timeout=30):
    """Wait until leaktrace is writing a report to path (the file ends in
    the middle of a line). Returns the number of complete lines then."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(path, 'rb') as f:
                f.seek(0, os.SEEK_END)
                size = f.tell()
                if size:
                    f.seek(size - 1)
                    if f.read(1) != b'\n':
                        f.seek(0)
                        return f.read(size).count(b'\n')
        except OSError:
            pass
        time.sleep(0.002)
    raise h.Fail('leaktrace was never seen writing a report')


def check_tree(proc, where):
    problems = []
    if (proc['outstanding_bytes'], proc['outstanding_allocs']) != (TREE_STACKS * TREE_BLOCK,
                                                                   TREE_STACKS):
        problems.append('outstanding %d/%d, expected %d/%d' % (
            proc['outstanding_bytes'], proc['outstanding_allocs'], TREE_STACKS * TREE_BLOCK,
            TREE_STACKS))
    stacks = proc['stacks']
    if len(stacks) != TREE_STACKS:
        problems.append('%d stacks, expected %d' % (len(stacks), TREE_STACKS))
    bad = [s for s in stacks if (s['bytes'], s['allocs']) != (TREE_BLOCK, 1) or not s['frames'] or
           s['frames'][0]['func'] != 'tree_leaf' or
           os.path.basename(s['frames'][0]['module'] or '') != 'tree_leaky']
    if bad:
        problems.append('%d stacks are not one block at tree_leaf: %s' % (len(bad), h.describe(bad, 3)))
    paths = {tuple(fr['addr'] for fr in s['frames']) for s in stacks}
    if len(paths) != len(stacks):
        problems.append('%d distinct stacks listed as %d' % (len(paths), len(stacks)))
    fail_if(problems, '%s: pid %d: ' % (where, proc['pid']))


def t_killed_mid_report(ctx):
    """-p A -p B, reports every 0.2 s, A holds 2048 stacks (each report takes a while): A is SIGKILLed while a report is being written; leaktrace goes on, shows A once as exited with all it held, then drops it; B stays exact."""
    a = ctx.target([ctx.prog('tree_leaky')], 'tree_leaky')
    h.expect(a.expect_line('ready', 15), 'tree_leaky did not start' + h.tail(a))
    b = h.start_waiting_leaky(ctx, churn=20000)
    out = os.path.join(ctx.tmpdir(), 'reports.ndjson')
    p = h.attach_pid(ctx, ['-T', '0', '--format', 'json', '-w', out, '-p', str(a.pid),
                           '-p', str(b.pid), '0.2'])
    h.trigger(a)
    h.trigger(b)
    time.sleep(1.5)
    complete = wait_mid_write(out)
    a.popen.kill()
    killed_at = time.monotonic()
    h.expect(a.wait(10) is not None, 'tree_leaky did not die')
    # Three whole reports after the one being written.
    while time.monotonic() - killed_at < 60:
        with open(out, 'rb') as f:
            if f.read().count(b'\n') >= complete + 4:
                break
        h.expect(p.poll() is None, 'leaktrace died (status %s)%s' % (p.poll(), h.tail(p)))
        time.sleep(0.1)
    rc = h.interrupt(p, signal.SIGINT, timeout=90)
    h.expect(rc == 0, 'exit status %s after SIGINT%s' % (rc, h.tail(p)))
    reps = reports_in(out)
    h.expect(reps[-1]['final'] and not any(r['final'] for r in reps[:-1]),
             'the final report is not the last one, alone')
    h.expect(len(reps) >= complete + 4, '%d reports, expected at least %d' % (len(reps), complete + 4))
    seen = [next((q for q in r['processes'] if q['pid'] == a.pid), None) for r in reps]
    exited = [i for i, q in enumerate(seen) if q and q['exited']]
    h.expect(len(exited) == 1, 'A shown as exited in %d reports, expected 1' % len(exited))
    i = exited[0]
    h.expect(i >= complete, 'A shown as exited before it was killed (report %d)' % i)
    h.expect(all(q is None for q in seen[i + 1:]), 'A still listed after its exit was shown')
    h.expect(i < len(reps) - 1, 'A\'s exit was shown by the final report only')
    check_tree(seen[i], 'report %d (A exited)' % i)
    check_tree(seen[complete - 1], 'report %d (before the kill)' % (complete - 1))
    for r in reps[complete:]:
        h.check_leaky(h.find_proc(r, pid=b.pid), exited=False)
    for r in reps:
        h.expect(r['stats']['lost_events'] == 0, 'lost_events %d' % r['stats']['lost_events'])


# ---------------------------------------------------------------------------
# A libc replaced on disk while processes run with it
# ---------------------------------------------------------------------------

HOST_LIBC = '/lib/x86_64-linux-gnu/libc.so.6'
HOST_LDSO = '/lib64/ld-linux-x86-64.so.2'
OTHER_LIB = '/lib/x86_64-linux-gnu/libm.so.6'  # an ELF file with other symbols


def build_id(path):
    r = subprocess.run(['readelf', '-n', path], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    m = re.search(rb'Build ID:\s*([0-9a-f]+)', r.stdout)
    return m.group(1).decode() if m else None


def private_libc_dir(ctx):
    """A directory with copies of the host's libc and ld.so (new inodes)."""
    for f in (HOST_LIBC, HOST_LDSO, OTHER_LIB):
        if not os.path.exists(f):
            raise h.Skip('no %s' % f)
    if not shutil.which('readelf'):
        raise h.Skip('no readelf')
    d = ctx.tmpdir()
    os.chmod(d, 0o755)
    shutil.copy(HOST_LIBC, os.path.join(d, 'libc.so.6'))
    shutil.copy(os.path.realpath(HOST_LDSO), os.path.join(d, 'ld-linux-x86-64.so.2'))
    return d


def replace_file(path, source):
    """Put a copy of source at path by rename, as package managers do: the
    path names a new inode, the old one lives on in the processes mapping it."""
    tmp = path + '.new'
    shutil.copy(source, tmp)
    os.rename(tmp, path)


def leaky_on(ctx, d, name):
    t = h.start_waiting_leaky(ctx, churn=h.SYSTEM_WIDE_CHURN, name=name,
                              argv_prefix=[os.path.join(d, 'ld-linux-x86-64.so.2'),
                                           '--library-path', d])
    with open('/proc/%d/maps' % t.pid) as f:
        h.expect(os.path.join(d, 'libc.so.6') in f.read(), 'the private libc is not mapped (setup)')
    return t


def check_libc_frames(proc, d, want_build_id):
    """Each leak's stack goes through the private libc's start-up code, named
    from the file the process maps (the build-id says which), not from the
    one now at that path."""
    problems = []
    for s in proc['stacks']:
        libc = [fr for fr in s['frames'] if fr.get('module') and
                os.path.basename(fr['module']).startswith('libc.so')]
        if not libc:
            problems.append('no libc frame in %s' % h.stack_funcs(s)[:8])
            continue
        for fr in libc:
            if fr.get('build_id') != want_build_id:
                problems.append('libc frame %s has build-id %s, the mapped file\'s is %s' % (
                    fr.get('func'), fr.get('build_id'), want_build_id))
            if fr['module'] != os.path.join(d, 'libc.so.6'):
                problems.append('libc frame module %r is not the private copy' % fr['module'])
        if '__libc_start_call_main' not in [fr.get('func') for fr in libc]:
            problems.append('libc frames named %s' % [fr.get('func') for fr in libc])
    fail_if(problems, 'pid %d: ' % proc['pid'])


def t_libc_replaced_p_attach(ctx):
    """-p on a process whose private libc was replaced on disk (by another file) before attaching, and again after: probes and names follow the mapped file; exact numbers."""
    d = private_libc_dir(ctx)
    want = build_id(os.path.join(d, 'libc.so.6'))
    t = leaky_on(ctx, d, 'leaky (private libc)')
    replace_file(os.path.join(d, 'libc.so.6'), OTHER_LIB)
    p = h.attach_pid(ctx, ['-T', '0', '--format', 'json', '-p', str(t.pid)])
    replace_file(os.path.join(d, 'libc.so.6'), HOST_LIBC)
    h.trigger(t)
    time.sleep(1.2)
    rc = h.interrupt(p, signal.SIGINT)
    h.expect(rc == 0, 'exit status %s after SIGINT%s' % (rc, h.tail(p)))
    proc = h.find_proc(h.final_report(p), pid=t.pid)
    h.check_leaky(proc, exited=False)
    check_libc_frames(proc, d, want)


def t_libc_replaced_system_wide(ctx):
    """system-wide: a running process's private libc is replaced on disk by another file: its leaks are exact and named from the mapped libc; a process started on the libc put there later is traced too."""
    d = private_libc_dir(ctx)
    want = build_id(os.path.join(d, 'libc.so.6'))
    p = ctx.lt(SYSTEM_WIDE_OPTS)
    before = h.wait_probes(p.pid, min_wait=2.0, max_wait=10)
    h.expect(p.poll() is None, 'leaktrace exited early with status %s%s' % (p.poll(), h.tail(p)))
    first = leaky_on(ctx, d, 'leaky (old libc)')
    fds = h.wait_probes(p.pid, above=before, min_wait=1.0, max_wait=8)
    h.expect(fds > before, 'the private libc was not attached (probe fds %d -> %d)' % (before, fds))
    replace_file(os.path.join(d, 'libc.so.6'), OTHER_LIB)
    h.trigger(first)
    # An upgrade's new libc at the same path: a new inode, attached when mapped.
    replace_file(os.path.join(d, 'libc.so.6'), HOST_LIBC)
    second = leaky_on(ctx, d, 'leaky (new libc)')
    h.wait_probes(p.pid, above=fds, min_wait=1.0, max_wait=8)
    h.trigger(second)
    time.sleep(1.0)
    report_with(p, second.pid)
    rc = h.interrupt(p, signal.SIGINT)
    h.expect(rc == 0, 'exit status %s after SIGINT%s' % (rc, h.tail(p)))
    rep = h.final_report(p)
    for t in (first, second):
        proc = h.find_proc(rep, pid=t.pid)
        h.check_leaky(proc, exited=False)
        check_libc_frames(proc, d, want)


# ---------------------------------------------------------------------------
# leaktrace stopped by SIGINT, SIGTERM or SIGKILL: nothing left behind
# ---------------------------------------------------------------------------

def code_mapping(pid, path):
    """(start, end, file offset) of pid's executable mapping of path."""
    with open('/proc/%d/maps' % pid) as f:
        for line in f:
            parts = line.split(None, 5)
            if len(parts) == 6 and 'x' in parts[1] and parts[5].strip() == path:
                start, end = (int(x, 16) for x in parts[0].split('-'))
                return start, end, int(parts[2], 16)
    raise h.Fail('pid %d does not map %s executable' % (pid, path))


def breakpoint_bytes(pid, mapping):
    """Bytes of the mapped code that differ from the file: a uprobe is an
    int3 written into the process's copy of the page, and must be gone
    once its probe is."""
    start, end, offset = mapping
    with open('/proc/%d/map_files/%x-%x' % (pid, start, end), 'rb') as f:
        f.seek(offset)
        want = f.read(end - start)
    with open('/proc/%d/mem' % pid, 'rb') as f:
        f.seek(start)
        got = f.read(len(want))
    return sum(1 for x, y in zip(got, want) if x != y)


def uprobe_perf_events(holder):
    """uprobe perf events held by pid holder (bpftool perf list)."""
    r = subprocess.run(['bpftool', '-j', 'perf', 'list'], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, timeout=20)
    try:
        events = json.loads(r.stdout.decode() or '[]')
    except ValueError:
        raise h.Fail('bpftool perf list printed no JSON')
    return [e for e in events if e.get('pid') == holder and 'uprobe' in str(e.get('fd_type'))]


def stop_and_check_detached(ctx, sig, system_wide=False):
    """A leaky running on a private libc copy (no other tracer probes it),
    traced; leaktrace stopped with sig. SIGINT/SIGTERM: one final report,
    exact, status 0. Any signal: no link, no perf event, no breakpoint left."""
    if shutil.which('bpftool') is None or h.list_probe_links() is None:
        raise h.Skip('bpftool cannot list links and perf events')
    d = private_libc_dir(ctx)
    t = leaky_on(ctx, d, 'leaky (private libc)')
    code = code_mapping(t.pid, os.path.join(d, 'libc.so.6'))
    h.expect(breakpoint_bytes(t.pid, code) == 0, 'the private libc carries breakpoints before '
             'leaktrace starts (setup)')
    links_before = set(h.list_probe_links())
    if system_wide:
        p = ctx.lt(SYSTEM_WIDE_OPTS)
        h.wait_probes(p.pid, min_wait=2.0, max_wait=10)
    else:
        p = h.attach_pid(ctx, ['-T', '0', '--format', 'json', '-p', str(t.pid)])
    h.expect(p.poll() is None, 'leaktrace exited early with status %s%s' % (p.poll(), h.tail(p)))
    h.trigger(t)
    time.sleep(1.2)
    if system_wide:
        report_with(p, t.pid)
    # What must go: seen while tracing, or the checks below prove nothing.
    n_break = breakpoint_bytes(t.pid, code)
    events = uprobe_perf_events(p.pid)
    new_links = set(h.list_probe_links()) - links_before
    links = {i for i, owners in h.link_owners(list(new_links)).items() if p.pid in owners}
    h.expect(n_break > 0, 'no breakpoint in the traced libc while tracing')
    h.expect(events or links, 'no uprobe perf event or link held by leaktrace while tracing')
    p.signal(sig)
    rc = p.wait(90)
    h.expect(rc is not None, 'leaktrace still running 90 s after %s' % signal.Signals(sig).name)
    if sig == signal.SIGKILL:
        h.expect(rc == -signal.SIGKILL, 'exit status %s after SIGKILL' % rc)
        h.expect(not [r for r in h.parse_reports(p) if r['final']], 'a final report after SIGKILL?')
    else:
        h.expect(rc == 0, 'exit status %s after %s%s' % (rc, signal.Signals(sig).name, h.tail(p)))
        h.check_leaky(h.find_proc(h.final_report(p), pid=t.pid), exited=False)
    left = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        left = []
        n = breakpoint_bytes(t.pid, code)
        if n:
            left.append('%d bytes of the libc code still differ from the file' % n)
        still = links & set(h.list_probe_links() or {})
        if still:
            left.append('links %s remain' % sorted(still))
        if uprobe_perf_events(p.pid):
            left.append('uprobe perf events remain')
        if not left:
            break
        time.sleep(0.2)
    fail_if(left, 'after %s: ' % signal.Signals(sig).name)
    # The code runs as before: leaky exits normally, no stray int3 (SIGTRAP).
    t.send('exit\n')
    h.expect(t.wait(15) == 0, 'the target did not exit cleanly after leaktrace left (rc %s)' % t.poll())


def t_sigint_detaches(ctx):
    """-p, SIGINT: a final report (exact), status 0, no link, perf event or breakpoint left in the target's code."""
    stop_and_check_detached(ctx, signal.SIGINT)


def t_sigterm_detaches(ctx):
    """-p, SIGTERM: a final report (exact), status 0, no link, perf event or breakpoint left in the target's code."""
    stop_and_check_detached(ctx, signal.SIGTERM)


def t_sigterm_system_wide_detaches(ctx):
    """system-wide, SIGTERM: a final report (exact for the target), status 0, no link, perf event or breakpoint left."""
    stop_and_check_detached(ctx, signal.SIGTERM, system_wide=True)


def t_sigkill_leaves_no_probe(ctx):
    """-p, SIGKILL: no report, but the kernel takes every probe away: no link, perf event or breakpoint left in the target's code, which runs on."""
    stop_and_check_detached(ctx, signal.SIGKILL)


# ---------------------------------------------------------------------------
# A full ring buffer: drops counted per cause, in every report
# ---------------------------------------------------------------------------

# include/leaktrace_events.h, enum lt_drop: index -> JSON stats.dropped key
DROP_CAUSES = ['ringbuf_alloc', 'ringbuf_free', 'ringbuf_task', 'inflight_full']
DROP_STACK_TRUNCATED = 4
OVERRUN_CHURN = 60000


def bpf_drop_counters(lt_pid):
    """The kernel's own drop counters: leaktrace's per-CPU "drops" map,
    summed over CPUs, as a list indexed by enum lt_drop."""
    ids = set()
    for fd in os.listdir('/proc/%d/fdinfo' % lt_pid):
        try:
            with open('/proc/%d/fdinfo/%s' % (lt_pid, fd)) as f:
                m = re.search(r'^map_id:\s*(\d+)', f.read(), re.M)
        except OSError:
            continue
        if m:
            ids.add(int(m.group(1)))
    for map_id in sorted(ids):
        show = subprocess.run(['bpftool', '-j', 'map', 'show', 'id', str(map_id)],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=20)
        try:
            if json.loads(show.stdout.decode() or '{}').get('name') != 'drops':
                continue
        except ValueError:
            continue
        dump = subprocess.run(['bpftool', '-j', 'map', 'dump', 'id', str(map_id)],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=20)
        counts = {}
        for entry in json.loads(dump.stdout.decode()):
            # With BTF, bpftool adds the decoded form beside the raw bytes.
            f = entry.get('formatted', entry)
            counts[int(f['key'])] = sum(int(v['value']) for v in f['values'])
        return [counts.get(i, 0) for i in range(max(counts) + 1)]
    raise h.Fail('no "drops" map among the maps leaktrace holds')


def leaky_records(ctx):
    """(alloc records, free records) that "leaky wait OVERRUN_CHURN" makes
    once triggered, counted by a leaktrace with room enough to lose none."""
    t = h.start_waiting_leaky(ctx, churn=OVERRUN_CHURN, name='leaky (count)')
    p = h.attach_pid(ctx, ['--format', 'json', '-p', str(t.pid)])
    h.trigger(t)
    h.expect(h.interrupt(p) == 0, 'counting run failed%s' % h.tail(p))
    st = h.final_report(p)['stats']
    h.expect(st['lost_events'] == 0, 'the counting run lost %d events' % st['lost_events'])
    t.send('exit\n')
    t.wait(10)
    return st['alloc_events'], st['free_events']


def overrun(ctx, fmt):
    """leaky churns while leaktrace (1 MiB ring buffer, a report every
    0.3 s) is stopped. Returns (leaktrace, alloc and free records expected,
    the kernel's counters once all is read)."""
    want_allocs, want_frees = leaky_records(ctx)
    t = h.start_waiting_leaky(ctx, churn=OVERRUN_CHURN)
    p = h.attach_pid(ctx, ['--ringbuf-mb', '1', '--format', fmt, '-p', str(t.pid), '0.3'])
    time.sleep(0.7)  # reports with nothing lost yet
    p.signal(signal.SIGSTOP)
    try:
        h.trigger(t)
    finally:
        p.signal(signal.SIGCONT)
    time.sleep(1.5)  # a few reports after: the target is idle, counters still
    kernel = bpf_drop_counters(p.pid)
    time.sleep(0.7)
    h.expect(bpf_drop_counters(p.pid) == kernel, 'drop counters still moving with the target idle')
    rc = h.interrupt(p, signal.SIGINT)
    h.expect(rc == 0, 'exit status %s after SIGINT%s' % (rc, h.tail(p)))
    h.expect(sum(kernel[:len(DROP_CAUSES)]) > 0, 'nothing was dropped: the test proves nothing')
    h.expect(any('lost' in line for line in p.err_lines), 'no warning about lost events on stderr')
    return p, (want_allocs, want_frees), kernel


def t_ringbuf_drops_every_report_json(ctx):
    """1 MiB ring buffer overrun: every JSON report (periodic and final) carries the drops per cause, lost_events is their sum; once read they equal the kernel's counters, and records received + dropped = records the target made."""
    p, (want_allocs, want_frees), kernel = overrun(ctx, 'json')
    reps = h.parse_reports(p, strict=True)
    h.expect(len(reps) >= 6, 'only %d reports' % len(reps))
    h.final_report(p, reports=reps)
    kernel_causes = dict(zip(DROP_CAUSES, kernel))
    problems, prev = [], None
    for i, r in enumerate(reps):
        st = r['stats']
        d = st.get('dropped')
        if not isinstance(d, dict) or any(not h.is_int(d.get(k)) for k in DROP_CAUSES):
            problems.append('report %d: stats.dropped %r lacks a cause' % (i, d))
            continue
        if st['lost_events'] != sum(d[k] for k in DROP_CAUSES):
            problems.append('report %d: lost_events %d is not the sum of %r' % (i, st['lost_events'], d))
        if prev and any(d[k] < prev[k] for k in DROP_CAUSES):
            problems.append('report %d: drops went down: %r -> %r' % (i, prev, d))
        prev = d
        got = (st['alloc_events'] + d['ringbuf_alloc'], st['free_events'] + d['ringbuf_free'])
        # Records still in the ring buffer are neither, until read.
        if got[0] > want_allocs or got[1] > want_frees:
            problems.append('report %d: %d alloc and %d free records received or dropped, the '
                            'target made %d and %d' % ((i,) + got + (want_allocs, want_frees)))
        # The last reports come after everything was read.
        if i >= len(reps) - 3:
            if {k: d[k] for k in DROP_CAUSES} != kernel_causes or d.get('userspace_oom'):
                problems.append('report %d: drops %r, the kernel counted %r' % (i, d, kernel_causes))
            if st['stacks_truncated'] != kernel[DROP_STACK_TRUNCATED]:
                problems.append('report %d: stacks_truncated %d, the kernel counted %d' % (
                    i, st['stacks_truncated'], kernel[DROP_STACK_TRUNCATED]))
            if got != (want_allocs, want_frees):
                problems.append('report %d: %d alloc and %d free records received or dropped, '
                                'the target made %d and %d' % ((i,) + got + (want_allocs, want_frees)))
    if reps[0]['stats']['lost_events']:
        problems.append('the first report already lost events')
    fail_if(problems)


TEXT_EVENTS = re.compile(r'^events: (\d+) allocs, (\d+) frees, (\d+) frees of blocks not seen '
                         r'allocated, (\d+) lost(.*)$')


def t_ringbuf_drops_every_report_text(ctx):
    """1 MiB ring buffer overrun, text reports: every report's events line says how many were lost, with a warning line; once read it is the kernel's count, and records received + dropped = records made."""
    p, (want_allocs, want_frees), kernel = overrun(ctx, 'text')
    headers = [i for i, line in enumerate(p.out_lines) if line.startswith('=== leaktrace ')]
    h.expect(len(headers) >= 6, 'only %d text reports' % len(headers))
    h.expect('final report' in p.out_lines[headers[-1]], 'the last report is not the final one')
    lost_total = sum(kernel[:len(DROP_CAUSES)])
    problems, by_cause, prev = [], 0, 0
    for n, i in enumerate(headers):
        m = TEXT_EVENTS.match(p.out_lines[i + 1] if i + 1 < len(p.out_lines) else '')
        if not m:
            problems.append('report %d: no events line under its header' % n)
            continue
        allocs, frees, lost, rest = int(m.group(1)), int(m.group(2)), int(m.group(4)), m.group(5)
        if lost < prev:
            problems.append('report %d: lost went down, %d -> %d' % (n, prev, lost))
        prev = lost
        # Per cause, when the line breaks the total down: "(name N, ...)".
        causes = dict((k.strip().replace(' ', '_'), int(v))
                      for k, v in re.findall(r'([a-z_ ]+?) (\d+)', rest))
        by_cause += bool(causes)
        if n >= len(headers) - 3:
            if lost != lost_total:
                problems.append('report %d: %d lost, the kernel counted %d' % (n, lost, lost_total))
            if (allocs + kernel[0], frees + kernel[1]) != (want_allocs, want_frees):
                problems.append('report %d: %d + %d dropped alloc and %d + %d free records, the '
                                'target made %d and %d' % (n, allocs, kernel[0], frees, kernel[1],
                                                           want_allocs, want_frees))
            for k, v in zip(DROP_CAUSES, kernel):
                if causes and causes.get(k) != v:
                    problems.append('report %d: %s %r, the kernel counted %d' % (n, k, causes.get(k), v))
        end = headers[n + 1] if n + 1 < len(headers) else len(p.out_lines)
        warned = any(line.startswith('warning: %d events were lost' % lost)
                     for line in p.out_lines[i:end])
        if lost and not warned:
            problems.append('report %d: %d lost but no warning line' % (n, lost))
    if not by_cause:
        ctx.notes.append('text reports give lost events as a total, not per cause')
    fail_if(problems)


SCENARIOS = [
    ('faults_inflight_never_returns', t_inflight_never_returns),
    ('faults_pid_reuse_command', t_pid_reuse_command),
    ('faults_pid_reuse_behind', t_pid_reuse_behind),
    ('faults_pid_reuse_system_wide', t_pid_reuse_system_wide),
    ('faults_p_fork_children', t_p_fork_children),
    ('faults_p_exec_same_libc', t_p_exec_same_libc),
    ('faults_p_exec_from_thread', t_p_exec_from_thread),
    ('faults_p_libc_moving_while_attaching', t_p_libc_moving_while_attaching),
    ('faults_p_exec_other_libc', t_p_exec_other_libc),
    ('faults_killed_mid_report', t_killed_mid_report),
    ('faults_libc_replaced_p_attach', t_libc_replaced_p_attach),
    ('faults_libc_replaced_system_wide', t_libc_replaced_system_wide),
    ('faults_sigint_detaches', t_sigint_detaches),
    ('faults_sigterm_detaches', t_sigterm_detaches),
    ('faults_sigterm_system_wide_detaches', t_sigterm_system_wide_detaches),
    ('faults_sigkill_leaves_no_probe', t_sigkill_leaves_no_probe),
    ('faults_ringbuf_drops_every_report_json', t_ringbuf_drops_every_report_json),
    ('faults_ringbuf_drops_every_report_text', t_ringbuf_drops_every_report_text),
]
