# SPDX-License-Identifier: MIT
"""--cgroup: the processes of a cgroup tree, each with its own probes."""

import os
import shutil
import signal
import time

import __main__ as h

FORK_CHILD_LEAK = {'fork_child_leak': (5, 3100)}  # tests/progs/fork_leaky.c


def move(pid, cgroup_dir):
    with open(os.path.join(cgroup_dir, 'cgroup.procs'), 'w') as f:
        f.write('%d\n' % pid)


def children(pid):
    try:
        with open('/proc/%d/task/%d/children' % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def end_targets_and_cgroups(ctx, dirs):
    for t in ctx.targets:
        t.close_stdin()
        if t.wait(3) is None:
            t.kill_session()
    problem = h.remove_cgroup([dirs['app'], dirs['top'], dirs['outside']])
    if problem:
        ctx.notes.append(problem)


def wait_attached(p, pid, timeout=15):
    """leaktrace -v says so for each process it attaches (scan, fork or a
    new program's libc)."""
    needles = ('pid %d (' % pid, '(pid %d) attached' % pid)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in list(p.err_lines):
            if 'attached' in line and any(n in line for n in needles):
                return
        h.expect(p.poll() is None, 'leaktrace exited early%s' % h.tail(p))
        time.sleep(0.05)
    raise h.Fail('pid %d was not attached within %ds%s' % (pid, timeout, h.tail(p, 6)))


def make_cgroups():
    if not os.path.exists(os.path.join(h.CGROUP2_ROOT, 'cgroup.procs')):
        raise h.Skip('no cgroup v2 hierarchy at %s' % h.CGROUP2_ROOT)
    name = 'leaktrace-e2e-cg-%s' % os.urandom(4).hex()
    top = os.path.join(h.CGROUP2_ROOT, name)
    dirs = {'name': name, 'top': top, 'app': os.path.join(top, 'app'),
            'outside': top + '-outside'}
    try:
        os.makedirs(dirs['app'])
        os.makedirs(dirs['outside'])
    except OSError as e:
        h.remove_cgroup([dirs['app'], top, dirs['outside']])
        raise h.Skip('cannot create cgroups under %s: %s' % (h.CGROUP2_ROOT, e))
    return dirs


def t_cgroup_tree(ctx):
    """--cgroup: processes there before, exec'd in, forked (with and without exec) and moved in later are traced exactly; others not at all; an exited one's probes are closed."""
    dirs = make_cgroups()
    leaky = ctx.prog('leaky')
    try:
        before = h.start_waiting_leaky(ctx, name='leaky-before')
        move(before.pid, dirs['app'])
        outside = h.start_waiting_leaky(ctx, name='leaky-outside')
        move(outside.pid, dirs['outside'])
        later = h.start_waiting_leaky(ctx, name='leaky-moved-later')

        # Relative to the cgroup2 mount, as users write it.
        p = ctx.lt(['-v', '-T', '0', '--format', 'json', '--cgroup', dirs['name']])
        h.expect(p.expect_err_line('leaktrace: tracing', 60), 'leaktrace did not start' + h.tail(p))
        wait_attached(p, before.pid)
        base_fds = h.probe_fds(p.pid)

        # Moved in, then exec'd: how a container's first process starts.
        execd = ctx.target(['/bin/sh', '-c', 'echo $$ > %s/cgroup.procs && exec %s wait' %
                            (dirs['app'], leaky)], 'leaky-execd')
        h.expect(execd.expect_line('ready', 15), 'exec\'d leaky did not start' + h.tail(execd))
        wait_attached(p, execd.pid)

        # A shell in the cgroup forks a child, which execs leaky.
        shell = ctx.target(['/bin/sh', '-c', 'echo $$ > %s/cgroup.procs && %s wait; exit 0' %
                            (dirs['top'], leaky)], 'sh-forks-leaky')
        h.expect(shell.expect_line('ready', 15), 'leaky under sh did not start' + h.tail(shell))
        kids = children(shell.pid)
        h.expect(len(kids) == 1, 'sh %d has children %s, expected one leaky' % (shell.pid, kids))
        forked_exec = kids[0]
        wait_attached(p, forked_exec)
        wait_attached(p, shell.pid)  # moved itself in: found by the scan

        # A forked child that never execs.
        forker = ctx.target(['/bin/sh', '-c', 'echo $$ > %s/cgroup.procs && exec %s' %
                             (dirs['app'], ctx.prog('fork_leaky'))], 'fork_leaky')
        line = None
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and line is None:
            line = next((x for x in list(forker.out_lines) if x.startswith('child ')), None)
            time.sleep(0.05)
        h.expect(line is not None, 'fork_leaky did not say its child' + h.tail(forker))
        fork_child = int(line.split()[1])
        wait_attached(p, fork_child)

        # Moved in with no exec or fork: found by the periodic scan.
        fds = h.probe_fds(p.pid)
        move(later.pid, dirs['app'])
        wait_attached(p, later.pid)
        per_process = h.wait_probes(p.pid, above=fds, max_wait=5) - fds
        h.expect(per_process >= 10, 'attaching pid %d added %d probe descriptors' % (
            later.pid, per_process))

        for t in (before, execd, shell, later, outside):
            h.trigger(t)
        os.kill(fork_child, signal.SIGUSR1)
        h.expect(forker.expect_line('leaked', 15), 'fork_leaky child did not leak' + h.tail(forker))
        time.sleep(1.5)

        # An exited process's probes are closed while tracing goes on.
        fds = h.probe_fds(p.pid)
        before.close_stdin()
        h.expect(before.wait(10) is not None, 'leaky-before did not exit')
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and h.probe_fds(p.pid) > fds - per_process:
            time.sleep(0.1)
        left = h.probe_fds(p.pid)
        h.expect(left == fds - per_process, 'after pid %d exited leaktrace holds %d probe '
                 'descriptors, expected %d - %d' % (before.pid, left, fds, per_process))

        rc = h.interrupt(p, signal.SIGINT)
        h.expect(rc == 0, 'exit status %s after SIGINT%s' % (rc, h.tail(p)))
        rep = h.final_report(p)
        h.check_stats(rep)
        pids = {x['pid'] for x in rep['processes']}
        h.expect(outside.pid not in pids, 'pid %d of another cgroup is in the report' % outside.pid)
        allowed = {before.pid, execd.pid, shell.pid, forked_exec, forker.pid, fork_child, later.pid}
        h.expect(pids <= allowed, 'processes outside the cgroup in the report: %s' % sorted(pids - allowed))
        h.check_leaky(h.find_proc(rep, pid=before.pid), exited=True)
        for pid in (execd.pid, forked_exec, later.pid):
            h.check_leaky(h.find_proc(rep, pid=pid), exited=False, min_age=1.0)
        fc = h.find_proc(rep, pid=fork_child)
        problems = h.check_stacks(fc['stacks'], FORK_CHILD_LEAK, callers=['main'],
                                  src='fork_leaky.c', sites=h.source_sites('fork_leaky.c'),
                                  module='fork_leaky')
        got = (fc['outstanding_bytes'], fc['outstanding_allocs'])
        if got != (15500, 5):
            problems.append('outstanding %s, expected (15500, 5)' % (got,))
        h.expect(not problems, 'fork child %d: %s' % (fork_child, '; '.join(problems)))
        want = '/' + os.path.relpath(dirs['app'], h.CGROUP2_ROOT)
        h.expect(h.find_proc(rep, pid=later.pid)['cgroup'].endswith(want),
                 'cgroup of pid %d is %r' % (later.pid, h.find_proc(rep, pid=later.pid)['cgroup']))
    finally:
        for t in ctx.targets:
            t.close_stdin()
            if t.wait(3) is None:
                t.kill_session()
        for pid in list(children_all(dirs)):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        problem = h.remove_cgroup([dirs['app'], dirs['top'], dirs['outside']])
        if problem:
            ctx.notes.append(problem)


def children_all(dirs):
    for d in (dirs['app'], dirs['top'], dirs['outside']):
        try:
            with open(os.path.join(d, 'cgroup.procs')) as f:
                for x in f.read().split():
                    yield int(x)
        except OSError:
            pass


def t_cgroup_moved_out(ctx):
    """--cgroup: a process moved out of the tree has its probes closed, is shown once more with exactly what it held (left_cgroup, not exited), then dropped; one moved between two cgroups of the tree stays traced."""
    dirs = make_cgroups()
    try:
        staying = h.start_waiting_leaky(ctx, name='leaky-staying')
        move(staying.pid, dirs['app'])
        leaving = h.start_waiting_leaky(ctx, name='leaky-leaving')
        move(leaving.pid, dirs['app'])
        p = ctx.lt(['-v', '-T', '0', '--format', 'json', '--cgroup', dirs['top']])
        h.expect(p.expect_err_line('leaktrace: tracing', 60), 'leaktrace did not start' + h.tail(p))
        wait_attached(p, staying.pid)
        wait_attached(p, leaving.pid)
        h.wait_probes(p.pid, min_wait=0.5)
        for t in (staying, leaving):
            h.trigger(t)
        time.sleep(1.0)
        probes = h.uprobe_fds(p.pid)  # the same probes for each of the two

        # Within the tree (app -> top): nothing changes.
        move(staying.pid, dirs['top'])
        move(leaving.pid, dirs['outside'])
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and h.uprobe_fds(p.pid) > probes // 2:
            time.sleep(0.1)
        h.expect(h.uprobe_fds(p.pid) == probes // 2,
                 'after pid %d left leaktrace holds %d probes, expected %d' % (
                     leaving.pid, h.uprobe_fds(p.pid), probes // 2))
        h.expect(any('pid %d (' % leaving.pid in x and 'left the cgroup' in x for x in p.err_lines),
                 'no "left the cgroup" line for pid %d%s' % (leaving.pid, h.tail(p)))
        time.sleep(2.5)  # two more scans: the one that moved within the tree is kept
        h.expect(h.uprobe_fds(p.pid) == probes // 2, 'probes %d -> %d' % (
            probes // 2, h.uprobe_fds(p.pid)))

        rep = h.report_now(p)
        left = h.find_proc(rep, pid=leaving.pid)
        h.expect(left['left_cgroup'] and not left['exited'],
                 'pid %d: left_cgroup %r, exited %r' % (leaving.pid, left['left_cgroup'],
                                                      left['exited']))
        h.check_leaky(left, min_age=1.0)
        stay = h.find_proc(rep, pid=staying.pid)
        h.expect(not stay['left_cgroup'], 'pid %d, moved within the tree, left' % staying.pid)
        h.check_leaky(stay, exited=False, min_age=1.0)

        rc = h.interrupt(p, signal.SIGINT)
        h.expect(rc == 0, 'exit status %s after SIGINT%s' % (rc, h.tail(p)))
        final = h.final_report(p)
        pids = [x['pid'] for x in final['processes']]
        h.expect(pids == [staying.pid], 'final report lists %s, expected only %d' % (
            pids, staying.pid))
        h.check_leaky(h.find_proc(final, pid=staying.pid), exited=False, min_age=1.0)
    finally:
        end_targets_and_cgroups(ctx, dirs)


def wait_lines(t, text, n, timeout=15):
    """Until t has written the line text n times."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sum(1 for x in list(t.out_lines) if x.strip() == text) >= n:
            return
        h.expect(t.poll() is None, '%s exited (rc %s)%s' % (t.name, t.poll(), h.tail(t)))
        time.sleep(0.05)
    raise h.Fail('%s did not say %r %d times%s' % (t.name, text, n, h.tail(t)))


def wait_uprobes(p, want, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and h.uprobe_fds(p.pid) != want:
        time.sleep(0.1)
    return h.uprobe_fds(p.pid)


def t_cgroup_pid_reuse_new_libc(ctx):
    """--cgroup: a process maps a second libc and exits; a later one given its PID maps the same file: it is attached again (what leaktrace knew of the first process's files went with it)."""
    dirs = make_cgroups()
    d = ctx.tmpdir()
    os.chmod(d, 0o755)
    copy = os.path.join(d, 'libc.so.6')
    shutil.copy('/lib/x86_64-linux-gnu/libc.so.6', copy)
    p = ctx.lt(['-v', '-T', '0', '--format', 'json', '--cgroup', dirs['top']])
    try:
        h.expect(p.expect_err_line('leaktrace: tracing', 60), 'leaktrace did not start' + h.tail(p))
        t = ctx.target(['/bin/sh', '-c', 'echo $$ > %s/cgroup.procs && exec %s --a-execs %s -k %s' %
                        (dirs['app'], ctx.prog('pid_reuse'), ctx.prog('moving_libc'), copy)],
                       'pid_reuse')
        wait_attached(p, t.pid)
        t.send('start\n')
        wait_lines(t, 'ready', 1)
        pid_a = int(next(x.split()[1] for x in t.out_lines if x.startswith('A ')))
        wait_attached(p, pid_a)
        fds = h.wait_probes(p.pid, min_wait=0.5)
        base = h.uprobe_fds(p.pid)
        t.send('go\n')
        wait_lines(t, 'mapped', 1)
        h.wait_probes(p.pid, above=fds, min_wait=0.3)
        per_file = h.uprobe_fds(p.pid) - base
        h.expect(per_file > 0, 'the copy mapped by A (pid %d) was not attached' % pid_a)

        t.send('exit\n')  # A exits; pid_reuse offers its PID to B
        wait_lines(t, 'ready', 2)
        pid_b = int(next(x.split()[1] for x in t.out_lines if x.startswith('B ')))
        if pid_b != pid_a:
            raise h.Skip('B got PID %d, not A\'s %d (ns_last_pid not writable, or taken)' % (
                pid_b, pid_a))
        wait_attached(p, pid_b)
        # A's probes (libc and copy) closed, B's libc probes in.
        now = wait_uprobes(p, base)
        h.expect(now == base, 'uprobes %d after A exited and B started, expected %d' % (now, base))
        t.send('go\n')
        wait_lines(t, 'mapped', 2)
        got = wait_uprobes(p, base + per_file)
        h.expect(got == base + per_file, 'B (pid %d, A\'s PID) mapped the copy: uprobes %d, '
                 'expected %d + %d' % (pid_b, got, base, per_file))
        t.send('exit\n')
        h.expect(t.wait(10) == 0, 'pid_reuse exit status %s' % t.poll())
        rc = h.interrupt(p, signal.SIGINT)
        h.expect(rc == 0, 'exit status %s after SIGINT%s' % (rc, h.tail(p)))
        h.expect(not [x for x in p.err_lines if 'warning' in x], 'warnings%s' % h.tail(p))
    finally:
        if p.poll() is None:
            h.interrupt(p, signal.SIGINT)
        end_targets_and_cgroups(ctx, dirs)


def t_err_cgroup(ctx):
    """--cgroup with a missing directory or one that is not a cgroup: one line, exit 1."""
    for arg, words in (('/nonexistent-cgroup-dir', 'No such file'),
                       ('/tmp', 'not a cgroup v2 directory'),
                       ('no-such-cgroup-%s' % os.urandom(3).hex(), 'No such file')):
        p = h.error_run(ctx, ['--cgroup', arg])
        h.expect(p.popen.returncode == 1, '--cgroup %s: exit %s, want 1' % (arg, p.popen.returncode))
        h.expect(len(p.err_lines) == 1 and words in p.err_lines[0] and '--cgroup' in p.err_lines[0],
                 '--cgroup %s: stderr %r' % (arg, p.err_lines))


SCENARIOS = [
    ('cgroup_tree', t_cgroup_tree),
    ('cgroup_moved_out', t_cgroup_moved_out),
    ('cgroup_pid_reuse_new_libc', t_cgroup_pid_reuse_new_libc),
    ('err_cgroup', t_err_cgroup),
]
