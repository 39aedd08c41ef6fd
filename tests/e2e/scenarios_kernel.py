# SPDX-License-Identifier: MIT
"""--kernel: kernel objects held, by kernel stack, slab cache, process and cgroup.

tests/progs/kernel_hold makes the kernel hold objects on its behalf (eventfds,
pipes, files kept open), then releases them; each eventfd is exactly one
eventfd_ctx (kmalloc), one file (filp) and one dentry, so counts are exact."""

import gzip
import json
import os
import re
import shutil
import subprocess
import time

import __main__ as h

N_EVENTFD = 10000
N_PIPES = 3000
N_FILES = 5000
KERNEL_PROGS = ('on_kmalloc', 'on_kmem_cache_alloc', 'on_kfree', 'on_kmem_cache_free')


def kernel_lt(ctx, extra=()):
    """leaktrace --kernel with JSON reports of every stack, once it traces."""
    p = ctx.lt(['--kernel', '--format', 'json', '-o', '0', '-T', '0'] + list(extra))
    h.expect(p.expect_err_line('leaktrace: tracing', 60), 'leaktrace did not start' + h.tail(p))
    return p


def holder(ctx, kind, n, *extra):
    return ctx.target([ctx.prog('kernel_hold'), kind, str(n)] + list(extra), 'kernel_hold-' + kind)


def step(t, want, timeout=60):
    h.expect(t.send('go\n'), 'cannot write to %s' % t.name)
    if not t.expect_line(want, timeout):
        raise h.Fail('%s did not print %r (rc=%s)%s' % (t.name, want, t.poll(), h.tail(t)))


def kernel_of(report, exact=True):
    """The kernel section; with exact, nothing may have been lost on the way
    (counts are then exact, and a loss is said as such)."""
    k = report.get('kernel')
    h.expect(isinstance(k, dict), 'no "kernel" section in the report')
    problems = validate_kernel(k)
    h.expect(not problems, 'kernel section: ' + '; '.join(problems[:4]))
    if exact:
        d = k.get('dropped', {})
        h.expect(not d.get('allocs') and not d.get('frees'),
                 'records lost in BPF: %r (ring buffer %s bytes)' % (d, report['stats'].get('ringbuf_bytes')))
    return k


def settled(p, done, timeout=10, exact=True):
    """Reports until done(kernel section) holds (records still in the ring
    buffer when a report is asked for come in the next ones); the last one."""
    deadline = time.monotonic() + timeout
    while True:
        k = kernel_of(h.report_now(p), exact)
        if done(k) or time.monotonic() >= deadline:
            return k
        time.sleep(0.3)


def validate_kernel(k):
    errs = []
    for key in ('outstanding_bytes', 'outstanding_allocs', 'alloc_events', 'free_events'):
        if not h.is_int(k.get(key)) or k[key] < 0:
            errs.append('bad %s %r' % (key, k.get(key)))
    if not k.get('symbols'):
        errs.append('no kernel symbols')
    for i, s in enumerate(k.get('stacks', [])):
        errs += h.validate_stack(s, 'kernel stack %d' % i)
        if not isinstance(s.get('cache'), str) or not s['cache']:
            errs.append('kernel stack %d: no cache' % i)
        for o in s.get('made_by', []):
            if not h.is_int(o.get('pid')) or not o.get('cgroup', '/').startswith('/'):
                errs.append('kernel stack %d: bad maker %r' % (i, o))
    if errs:
        return errs
    if sum(s['bytes'] for s in k['stacks']) > k['outstanding_bytes']:
        errs.append('stacks hold more than outstanding_bytes')
    for c in k.get('caches', []):
        errs += h.validate_verdict(c, 'growth_bytes_per_s', 'cache %r' % c.get('cache'))
    return errs


def made_by(stack, pid):
    """(bytes, allocs) of stack's objects pid made."""
    for o in stack['made_by']:
        if o['pid'] == pid:
            return o['bytes'], o['allocs']
    return 0, 0


def count(k, pid, func, cache_pred=lambda c: True, depth=None):
    """Objects pid made on stacks through func (within the first depth
    frames: depth 2 is the allocator's direct caller) whose cache passes
    cache_pred."""
    return sum(made_by(s, pid)[1] for s in k['stacks']
               if func in h.stack_funcs(s)[:depth] and cache_pred(s['cache']))


def slab_active(cache):
    """The kernel's own count of cache's objects in use (/proc/slabinfo)."""
    with open('/proc/slabinfo') as f:
        for line in f:
            w = line.split()
            if w and w[0] == cache:
                return int(w[1])
    return None


def no_kernel_links():
    """Problems: tracing links of the kmem programs still there."""
    try:
        progs = json.loads(subprocess.run(['bpftool', '-j', 'prog', 'show'], stdout=subprocess.PIPE,
                                          timeout=20).stdout or b'[]')
        links = json.loads(subprocess.run(['bpftool', '-j', 'link', 'list'], stdout=subprocess.PIPE,
                                          timeout=20).stdout or b'[]')
    except (OSError, ValueError, subprocess.TimeoutExpired) as e:
        return ['bpftool: %s' % e]
    ours = {p['id'] for p in progs if p.get('name') in KERNEL_PROGS}
    left = [lk['id'] for lk in links if lk.get('prog_id') in ours]
    return ['kmem links left after leaktrace exited: %s' % left] if left else []


def finish(ctx, p, last=True):
    """Stop leaktrace p; with last (no other --kernel run of ours left), no
    kmem program may stay attached."""
    rc = h.interrupt(p)
    h.expect(rc == 0, 'leaktrace exited with %s%s' % (rc, h.tail(p)))
    kernel_of(h.final_report(p))
    if not last:
        return
    deadline = time.monotonic() + 3
    while no_kernel_links() and time.monotonic() < deadline:
        time.sleep(0.2)
    left = no_kernel_links()
    h.expect(not left, '; '.join(left))


def eventfd_objects(k, pid):
    """pid's eventfd contexts, files and dentries (not the descriptor table
    growing on the way, which the process keeps until it exits)."""
    return (count(k, pid, 'do_eventfd', lambda c: c.startswith('kmalloc-'), depth=2),
            count(k, pid, 'do_eventfd', lambda c: c == 'filp'),
            count(k, pid, 'do_eventfd', lambda c: c == 'dentry'))


def wait_released(p, pid, func, timeout=30):
    """Reports until pid holds none of its objects made by func (frees
    through RCU, lazy here, can lag ~10 s), but for as many as the kernel
    says it kept the programs from seeing (runs nested on a CPU)."""
    deadline = time.monotonic() + timeout
    missed_before = None
    while True:
        k = kernel_of(h.report_now(p))
        if missed_before is None:
            missed_before = k['dropped']['missed_runs']
        n = sum(eventfd_objects(k, pid)) if func == 'do_eventfd' else count(k, pid, func, depth=2)
        missed = k['dropped']['missed_runs'] - missed_before
        if n <= missed:
            return k
        if time.monotonic() >= deadline:
            raise h.Fail('%d objects of pid %d through %s still held %ds after release '
                         '(%d program runs skipped by the kernel meanwhile)' % (n, pid, func, timeout, missed))
        time.sleep(0.5)


def t_kernel_eventfds(ctx):
    """--kernel: 10,000 eventfds held are 10,000 eventfd contexts (kmalloc), files and dentries of that pid, exactly, while 3,000 pipes of another process at the same time are its own; all go when closed."""
    efd = holder(ctx, 'eventfd', N_EVENTFD)
    pipes = holder(ctx, 'pipe', N_PIPES)
    filp_before = slab_active('filp')
    p = kernel_lt(ctx)
    step(efd, 'ready')
    step(pipes, 'ready')
    k = settled(p, lambda k: eventfd_objects(k, efd.pid) == (N_EVENTFD,) * 3 and
                count(k, pipes.pid, 'alloc_pipe_info', depth=2) >= 2 * N_PIPES)
    n_ctx, n_filp, n_dentry = eventfd_objects(k, efd.pid)
    h.expect((n_ctx, n_filp, n_dentry) == (N_EVENTFD,) * 3,
             'eventfd contexts/files/dentries of pid %d: %d/%d/%d, want %d each' % (
                 efd.pid, n_ctx, n_filp, n_dentry, N_EVENTFD))
    # The kernel's own count bounds ours: no more files than it holds.
    filp_now = slab_active('filp')
    if filp_now is not None:
        mine = sum(s['allocs'] for s in k['stacks'] if s['cache'] == 'filp')
        h.expect(mine <= filp_now, '%d filp objects reported, the kernel holds %d' % (mine, filp_now))
        h.expect(filp_now - filp_before >= N_EVENTFD + 2 * N_PIPES - 500,
                 'slabinfo: filp grew by %d only' % (filp_now - filp_before))
    # The other process's pipes (a pipe_inode_info and its buffer array
    # each, kmalloc'd by alloc_pipe_info) are its own, none the first's.
    n_pipe = count(k, pipes.pid, 'alloc_pipe_info', depth=2)
    h.expect(n_pipe == 2 * N_PIPES, 'pipe objects of pid %d: %d, want %d' % (
        pipes.pid, n_pipe, 2 * N_PIPES))
    h.expect(count(k, efd.pid, 'alloc_pipe_info') == 0, 'pipe objects charged to the eventfd pid')
    h.expect(count(k, pipes.pid, 'do_eventfd') == 0, 'eventfd objects charged to the pipe pid')
    procs = {o['pid']: o for o in k['processes']}
    h.expect(efd.pid in procs and procs[efd.pid]['allocs'] >= 3 * N_EVENTFD and
             procs[efd.pid]['comm'] == 'kernel_hold',
             'kernel.processes: %r' % procs.get(efd.pid))
    step(efd, 'released')
    k = wait_released(p, efd.pid, 'do_eventfd')
    h.expect(count(k, pipes.pid, 'alloc_pipe_info', depth=2) == n_pipe,
             'the pipes changed when the eventfds went')
    step(pipes, 'released')
    wait_released(p, pipes.pid, 'alloc_pipe_info')
    finish(ctx, p)


N_EPOLL = 10000


def t_kernel_epoll(ctx):
    """--kernel: 10,000 epoll instances held are 10,000 eventpoll objects kmalloc'd by do_epoll_create (ep_alloc inlined) for that pid, and files; the files go when closed (the eventpoll objects go by kfree_rcu, which no tracepoint here shows)."""
    t = holder(ctx, 'epoll', N_EPOLL)
    p = kernel_lt(ctx)
    step(t, 'ready')

    def objects(k):
        return (count(k, t.pid, 'do_epoll_create', lambda c: c.startswith('kmalloc-'), depth=2),
                count(k, t.pid, 'do_epoll_create', lambda c: c == 'filp'))

    k = settled(p, lambda k: objects(k) == (N_EPOLL, N_EPOLL))
    h.expect(objects(k) == (N_EPOLL, N_EPOLL), 'eventpoll objects/files of pid %d: %s, want %d each' % (
        t.pid, objects(k), N_EPOLL))
    step(t, 'released')
    # ep_free() hands the eventpoll to kfree_rcu: its batched free fires no
    # kmem tracepoint (nor, without CONFIG_RCU_TRACE, an rcu one), so those
    # stay listed until their addresses are handed out again (README,
    # Limits). The files are freed through kmem_cache_free.
    deadline = time.monotonic() + 30
    while True:
        k = kernel_of(h.report_now(p))
        left = objects(k)[1]
        if left == 0:
            break
        h.expect(time.monotonic() < deadline, '%d epoll files of pid %d still held' % (left, t.pid))
        time.sleep(0.5)
    finish(ctx, p)


def t_kernel_files(ctx):
    """--kernel: files created and kept open are a dentry, an inode and a file each, by the creating pid; gone once closed and unlinked."""
    d = ctx.tmpdir()
    files = holder(ctx, 'files', N_FILES, d)
    p = kernel_lt(ctx)
    step(files, 'ready')
    k = settled(p, lambda k: sum(made_by(s, files.pid)[1] for s in k['stacks']
                                 if s['cache'] == 'filp') >= N_FILES)
    mine = [s for s in k['stacks'] if made_by(s, files.pid)[1]]
    by_cache = {}
    for s in mine:
        by_cache[s['cache']] = by_cache.get(s['cache'], 0) + made_by(s, files.pid)[1]
    # The file system's own inodes (ext4_inode_cache...), not the LSM blobs beside them.
    inodes = sum(n for c, n in by_cache.items() if c.endswith('inode_cache') and not c.startswith('lsm_'))
    # A lookup can allocate a dentry it then throws away: a few over, never under.
    h.expect(N_FILES <= by_cache.get('dentry', 0) <= N_FILES + 100,
             'dentries of pid %d: %d, want %d (caches %s)' % (files.pid, by_cache.get('dentry', 0),
                                                           N_FILES, by_cache))
    h.expect(by_cache.get('filp') == N_FILES, 'files of pid %d: %s, want %d' % (
        files.pid, by_cache.get('filp'), N_FILES))
    h.expect(N_FILES <= inodes <= N_FILES + 100, 'inodes of pid %d: %d (caches %s)' % (
        files.pid, inodes, by_cache))
    missed_before = k['dropped']['missed_runs']
    step(files, 'released')
    # Files and inodes go (inodes after an RCU grace period, lazy here).
    # A free the kernel did not let the program see (a run nested in
    # another on the same CPU: an RCU softirq on an interrupt's way out)
    # leaves its object listed: the kernel counts those runs, and they
    # bound what may be left. A dentry closed, then unlinked, stays as a
    # negative dentry: still held, which the kernel counts in nr_negative.
    deadline = time.monotonic() + 30
    while True:
        k = kernel_of(h.report_now(p))
        left = sum(made_by(s, files.pid)[1] for s in k['stacks']
                   if s['cache'] == 'filp' or s['cache'].endswith('inode_cache'))
        dentries = sum(made_by(s, files.pid)[1] for s in k['stacks'] if s['cache'] == 'dentry')
        missed = k['dropped']['missed_runs'] - missed_before
        if left <= missed:
            break
        if time.monotonic() > deadline:
            raise h.Fail('%d inodes and files of pid %d still held after close and unlink '
                         '(%d program runs skipped by the kernel meanwhile)' % (left, files.pid, missed))
        time.sleep(0.5)
    with open('/proc/sys/fs/dentry-state') as f:
        negative = int(f.read().split()[4])
    h.expect(dentries <= negative, '%d dentries of pid %d still held, the kernel has %d negative ones'
             % (dentries, files.pid, negative))
    finish(ctx, p)


def make_cgroup():
    if not os.path.exists(os.path.join(h.CGROUP2_ROOT, 'cgroup.procs')):
        raise h.Skip('no cgroup v2 hierarchy at %s' % h.CGROUP2_ROOT)
    name = 'leaktrace-e2e-kernel-%s' % os.urandom(4).hex()
    path = os.path.join(h.CGROUP2_ROOT, name)
    try:
        os.makedirs(path)
    except OSError as e:
        raise h.Skip('cannot create a cgroup under %s: %s' % (h.CGROUP2_ROOT, e))
    return name, path


def t_kernel_cgroup(ctx):
    """--kernel: a program run inside a cgroup has its kernel objects charged to that cgroup; --cgroup keeps only that cgroup's tasks (in BPF); the same program outside is not counted there."""
    name, path = make_cgroup()
    try:
        inside = holder(ctx, 'eventfd', 2000)
        with open(os.path.join(path, 'cgroup.procs'), 'w') as f:
            f.write('%d\n' % inside.pid)
        outside = holder(ctx, 'eventfd', 1000)
        every = kernel_lt(ctx)
        only = kernel_lt(ctx, ['--cgroup', name])
        step(inside, 'ready')
        step(outside, 'ready')
        k = settled(every, lambda k: eventfd_objects(k, inside.pid) == (2000,) * 3)
        cg = [c for c in k['cgroups'] if c['cgroup'] == '/' + name]
        h.expect(cg and cg[0]['allocs'] >= 3 * 2000,
                 'cgroup /%s in kernel.cgroups: %r' % (name, cg))
        h.expect(eventfd_objects(k, inside.pid) == (2000,) * 3,
                 'inside pid: %s objects' % (eventfd_objects(k, inside.pid),))
        for s in k['stacks']:
            for o in s['made_by']:
                if o['pid'] == inside.pid:
                    h.expect(o['cgroup'] == '/' + name, 'inside pid charged to %r' % o['cgroup'])
                if o['pid'] == outside.pid:
                    h.expect(o['cgroup'] != '/' + name, 'outside pid charged to the cgroup')
        k2 = settled(only, lambda k: eventfd_objects(k, inside.pid) == (2000,) * 3)
        h.expect(k2['cgroup_filter'] and k2['cgroup_filter'].endswith('/' + name),
                 'cgroup_filter %r' % k2['cgroup_filter'])
        h.expect(eventfd_objects(k2, inside.pid) == (2000,) * 3,
                 '--cgroup: inside pid has %s objects' % (eventfd_objects(k2, inside.pid),))
        strangers = sorted({o['pid'] for s in k2['stacks'] for o in s['made_by']
                            if not o['cgroup'] or not o['cgroup'].startswith('/' + name)})
        h.expect(not strangers, '--cgroup %s: objects of tasks outside it: %s' % (name, strangers))
        step(inside, 'released')
        step(outside, 'released')
        finish(ctx, only, last=False)
        finish(ctx, every)
    finally:
        for t in ctx.targets:
            t.close_stdin()
            if t.wait(3) is None:
                t.kill_session()
        problem = h.remove_cgroup([path])
        if problem:
            ctx.notes.append(problem)


def t_kernel_container(ctx):
    """--kernel: objects made in a container's cgroup are summed under its id in containers[], with the container on each maker."""
    if not os.path.exists(os.path.join(h.CGROUP2_ROOT, 'cgroup.procs')):
        raise h.Skip('no cgroup v2 hierarchy at %s' % h.CGROUP2_ROOT)
    cid = os.urandom(32).hex()
    path = os.path.join(h.CGROUP2_ROOT, 'docker-%s.scope' % cid)
    os.mkdir(path)
    try:
        efd = holder(ctx, 'eventfd', 1500)
        with open(os.path.join(path, 'cgroup.procs'), 'w') as f:
            f.write('%d\n' % efd.pid)
        p = kernel_lt(ctx)
        step(efd, 'ready')
        k = settled(p, lambda k: eventfd_objects(k, efd.pid) == (1500,) * 3)
        report = h.parse_reports(p)[-1]
        mine = [c for c in report['containers'] if c['container'] == cid]
        h.expect(mine and mine[0]['kernel_allocs'] >= 3 * 1500 and
                 mine[0]['cgroup'] == '/docker-%s.scope' % cid,
                 'containers[]: %r' % [(c['container'], c.get('kernel_allocs')) for c in report['containers']])
        makers = [o for s in k['stacks'] for o in s['made_by'] if o['pid'] == efd.pid]
        h.expect(makers and all(o['container'] == cid for o in makers),
                 'makers of pid %d: %r' % (efd.pid, makers[:2]))
        step(efd, 'released')
        finish(ctx, p)
    finally:
        for t in ctx.targets:
            t.close_stdin()
            if t.wait(3) is None:
                t.kill_session()
        problem = h.remove_cgroup([path])
        if problem:
            ctx.notes.append(problem)


def t_kernel_cache_filter(ctx):
    """--kernel-cache: only that cache's objects are recorded, a named cache (filp) or a kmalloc one, decided in BPF."""
    efd = holder(ctx, 'eventfd', 1000)
    filp = kernel_lt(ctx, ['--kernel-cache', 'filp'])
    step(efd, 'ready')
    k = settled(filp, lambda k: eventfd_objects(k, efd.pid)[1] >= 1000)
    h.expect(k['cache_filter'] == 'filp', 'cache_filter %r' % k['cache_filter'])
    h.expect({c['cache'] for c in k['caches']} <= {'filp'}, 'caches: %s' % [c['cache'] for c in k['caches']])
    h.expect(eventfd_objects(k, efd.pid) == (0, 1000, 0), 'eventfd objects of pid: %s' % (
        eventfd_objects(k, efd.pid),))
    step(efd, 'released')
    finish(ctx, filp)


def t_kernel_sampling_verdict(ctx):
    """--kernel --sample-bytes: estimates within bounds of the exact count; a process making eventfds every half second is named growing, on its stack and its cache."""
    grow = holder(ctx, 'grow', 400)
    p = ctx.lt(['--kernel', '--format', 'json', '-o', '0', '-T', '0', '--trend-window', '4',
                '--sample-bytes', '4096', '0.5'])
    h.expect(p.expect_err_line('leaktrace: tracing', 60), 'leaktrace did not start' + h.tail(p))
    h.expect(grow.send('go\n'), 'cannot start kernel_hold')
    grew = 0
    deadline = time.monotonic() + 60
    while grew < 12 and time.monotonic() < deadline:
        if grow.expect_line('grew', 5):
            grew += 1
    h.expect(grew >= 12, 'kernel_hold grew %d times only' % grew)
    reports = h.parse_reports(p)
    k = kernel_of(reports[-1])
    made = grew * 400
    filp = [s for s in k['stacks'] if s['cache'] == 'filp' and 'do_eventfd' in h.stack_funcs(s)]
    h.expect(filp, 'no eventfd filp stack in the last report')
    est = sum(made_by(s, grow.pid)[0] for s in filp) / 192.0
    # ~4.6% of 192-byte objects sampled: thousands made, a few hundred seen.
    h.expect(0.6 * made * 0.8 <= est <= 1.4 * made, 'estimated %.0f eventfd files of %d made' % (est, made))
    h.expect(any(s.get('verdict') == 'growing' for s in filp),
             'eventfd filp stack not growing: %s' % [(s.get('verdict'), s['allocs']) for s in filp])
    caches = {c['cache']: c for c in k['caches']}
    h.expect(caches.get('filp', {}).get('verdict') == 'growing',
             'filp cache verdict %r' % caches.get('filp', {}).get('verdict'))
    step(grow, 'ready')
    step(grow, 'released')
    finish(ctx, p)


N_PAGES = 4000


def t_kernel_pages(ctx):
    """--kernel --kernel-pages: anonymous pages a process touched are page allocations by its fault stack, one each, gone when unmapped."""
    t = holder(ctx, 'pages', N_PAGES)
    p = kernel_lt(ctx, ['--kernel-pages'])
    step(t, 'ready')

    def faults(k):
        return count(k, t.pid, 'handle_mm_fault', lambda c: c == 'page-order-0')

    k = settled(p, lambda k: faults(k) >= N_PAGES, exact=False)
    n = faults(k)
    # Page-table pages come on the same path: a few over, never under.
    h.expect(N_PAGES <= n <= N_PAGES + 50, 'pages faulted in by pid %d: %d, want %d' % (t.pid, n, N_PAGES))
    step(t, 'released')
    deadline = time.monotonic() + 15
    while faults(k) > 50:
        h.expect(time.monotonic() < deadline, '%d pages of pid %d still held after munmap' % (faults(k), t.pid))
        time.sleep(0.5)
        k = kernel_of(h.report_now(p), exact=False)
    finish(ctx, p)


def t_kernel_percpu(ctx):
    """--kernel: per-CPU areas (cgroups made here allocate them) are objects of the percpu cache, by the process that made the cgroups, freed when they go."""
    if not os.path.exists(os.path.join(h.CGROUP2_ROOT, 'cgroup.procs')):
        raise h.Skip('no cgroup v2 hierarchy at %s' % h.CGROUP2_ROOT)
    me = os.getpid()
    p = kernel_lt(ctx)
    dirs = [os.path.join(h.CGROUP2_ROOT, 'leaktrace-e2e-percpu-%d-%d' % (me, i)) for i in range(20)]
    try:
        for d in dirs:
            os.mkdir(d)
        k = settled(p, lambda k: count(k, me, 'cgroup_mkdir', lambda c: c == 'percpu') >= len(dirs),
                    exact=False)
        mine = count(k, me, 'cgroup_mkdir', lambda c: c == 'percpu')
        h.expect(mine >= len(dirs), 'per-CPU areas made by the cgroups of pid %d: %d' % (me, mine))
    finally:
        problem = h.remove_cgroup(dirs)
        if problem:
            ctx.notes.append(problem)
    # Freed by a worker after an RCU grace period (lazy here), once nothing
    # holds the cgroup any more: the kernel counts those still dying, and
    # their areas may stay (as may those of runs it skipped).
    per_cgroup = -(-mine // len(dirs))
    deadline = time.monotonic() + 30
    while True:
        k = kernel_of(h.report_now(p), exact=False)
        left = count(k, me, 'cgroup_mkdir', lambda c: c == 'percpu')
        bound = per_cgroup * dying_cgroups() + k['dropped']['missed_runs']
        if left <= bound:
            break
        h.expect(time.monotonic() < deadline, '%d per-CPU areas of removed cgroups still held '
                 '(%d cgroups dying, %d areas a cgroup)' % (left, dying_cgroups(), per_cgroup))
        time.sleep(0.5)
    finish(ctx, p)


def dying_cgroups():
    """Removed cgroups the kernel still holds (nr_dying_descendants of the root)."""
    with open(os.path.join(h.CGROUP2_ROOT, 'cgroup.stat')) as f:
        for line in f:
            if line.startswith('nr_dying_descendants '):
                return int(line.split()[1])
    return 0


def free_port():
    import socket
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def t_kernel_serve(ctx):
    """--kernel --serve: /metrics has the objects held by slab cache and by cgroup."""
    import re
    import urllib.request
    efd = holder(ctx, 'eventfd', 1000)
    port = free_port()
    p = ctx.lt(['--kernel', '--serve', '127.0.0.1:%d' % port, '1'])
    h.expect(p.expect_err_line('leaktrace: tracing', 60), 'leaktrace did not start' + h.tail(p))
    step(efd, 'ready')
    deadline = time.monotonic() + 20
    filp = 0
    while time.monotonic() < deadline:
        time.sleep(1)
        try:
            text = urllib.request.urlopen('http://127.0.0.1:%d/metrics' % port, timeout=5).read().decode()
        except OSError:
            continue
        m = re.search(r'^leaktrace_kernel_cache_bytes\{cache="filp"\} (\d+)$', text, re.M)
        filp = int(m.group(1)) if m else 0
        if filp >= 1000 * 192 and re.search(r'^leaktrace_kernel_cgroup_objects\{cgroup="/"\} \d+$', text, re.M):
            break
    h.expect(filp >= 1000 * 192, '/metrics: filp bytes %d, want >= %d' % (filp, 1000 * 192))
    step(efd, 'released')
    rc = h.interrupt(p)
    h.expect(rc == 0, 'leaktrace exited with %s%s' % (rc, h.tail(p)))


# --- the profile formats ----------------------------------------------------

N_PROFILED = 2000
KMALLOC_CACHE = re.compile(r'^kmalloc-(?:[a-z]+-)?(\d+)(k?)$')


def kmalloc_size(cache):
    """The object size of a kmalloc cache by its name (kmalloc-64, kmalloc-cg-1k); None for others."""
    m = KMALLOC_CACHE.match(cache)
    return int(m.group(1)) * (1024 if m.group(2) else 1) if m else None


def profile_of_eventfds(ctx, fmt):
    """The file leaktrace --kernel --format fmt -w FILE wrote at its final
    report, while kernel_hold held N_PROFILED eventfds in a cgroup of its
    own (--cgroup: no other task's objects in the file)."""
    name, path = make_cgroup()
    try:
        t = holder(ctx, 'eventfd', N_PROFILED)
        with open(os.path.join(path, 'cgroup.procs'), 'w') as f:
            f.write('%d\n' % t.pid)
        out = os.path.join(ctx.tmpdir(), 'kernel.' + fmt)
        p = ctx.lt(['--kernel', '--cgroup', name, '--format', fmt, '-w', out, '-o', '0', '-T', '0'])
        h.expect(p.expect_err_line('leaktrace: tracing', 60), 'leaktrace did not start' + h.tail(p))
        step(t, 'ready')
        # The final report reads what is left in the ring buffer first.
        rc = h.interrupt(p)
        h.expect(rc == 0, 'leaktrace exited with %s%s' % (rc, h.tail(p)))
        h.expect(os.path.exists(out), '%s not written' % out)
        step(t, 'released')
        deadline = time.monotonic() + 3
        while no_kernel_links() and time.monotonic() < deadline:
            time.sleep(0.2)
        left = no_kernel_links()
        h.expect(not left, '; '.join(left))
        return out
    finally:
        for t in ctx.targets:
            t.close_stdin()
            if t.wait(3) is None:
                t.kill_session()
        problem = h.remove_cgroup([path])
        if problem:
            ctx.notes.append(problem)


def eventfd_contexts(stacks):
    """From (cache, frames innermost first, bytes, objects) of every kernel
    stack, those of the eventfd contexts: kmalloc'd by do_eventfd itself.
    Their (bytes, objects, object size)."""
    ctxs = [(kmalloc_size(c.split(' ')[0]), b, n) for c, frames, b, n in stacks
            if 'do_eventfd' in frames[:2] and kmalloc_size(c.split(' ')[0])]
    h.expect(ctxs and len({size for size, _, _ in ctxs}) == 1, 'eventfd context stacks: %r' % (ctxs,))
    return (sum(b for _, b, _ in ctxs), sum(n or 0 for _, _, n in ctxs), ctxs[0][0])


def t_kernel_folded(ctx):
    """--kernel --format folded: each kernel stack a line rooted at [kernel] then its cache; the eventfd contexts held are one do_eventfd line of exactly N times the kmalloc size."""
    with open(profile_of_eventfds(ctx, 'folded')) as f:
        lines = [x for x in f.read().splitlines() if x]
    h.expect(lines, 'no folded lines')
    stacks = []
    for line in lines:
        m = re.match(r'^(.*) (\d+)$', line)
        h.expect(m, 'not a folded line: %r' % line)
        frames = m.group(1).split(';')
        h.expect(frames[0] == '[kernel]' and len(frames) >= 3, 'not a kernel stack: %r' % line)
        stacks.append((frames[1], frames[2:][::-1], int(m.group(2)), None))
    b, _, size = eventfd_contexts(stacks)
    h.expect(b == N_PROFILED * size, 'do_eventfd: %d bytes, want %d x %d' % (b, N_PROFILED, size))


def pb_fields(buf):
    """(field, value) of one protobuf message: an int, or the bytes of a
    length-delimited field."""
    i, out = 0, []

    def varint():
        nonlocal i
        v = shift = 0
        while True:
            c = buf[i]
            i += 1
            v |= (c & 0x7f) << shift
            shift += 7
            if not c & 0x80:
                return v
    while i < len(buf):
        tag = varint()
        if tag & 7 == 0:
            out.append((tag >> 3, varint()))
        elif tag & 7 == 2:
            n = varint()
            out.append((tag >> 3, buf[i:i + n]))
            i += n
        else:
            raise h.Fail('wire type %d in the profile' % (tag & 7))
    return out


def pb_ints(v):
    """A repeated integer field's values, packed or not."""
    if isinstance(v, int):
        return [v]
    vals, i = [], 0
    while i < len(v):
        x = shift = 0
        while True:
            c = v[i]
            i += 1
            x |= (c & 0x7f) << shift
            shift += 7
            if not c & 0x80:
                break
        vals.append(x)
    return vals


def decode_profile(path):
    """The samples of a gzipped pprof profile: (values, function names
    innermost first, {label: str or num}), and its mapping files by id."""
    with open(path, 'rb') as f:
        raw = f.read()
    h.expect(raw[:2] == b'\x1f\x8b', '%s is not gzip' % path)
    prof = pb_fields(gzip.decompress(raw))
    strs = [v.decode() for f, v in prof if f == 6]
    funcs = {}
    for f, v in prof:
        if f == 5:
            d = dict(pb_fields(v))
            funcs[d[1]] = strs[d.get(2, 0)]
    locs, maps = {}, {}
    for f, v in prof:
        if f == 4:
            fl = pb_fields(v)
            d = dict((k, x) for k, x in fl if k != 4)
            names = [funcs[dict(pb_fields(x))[1]] for k, x in fl if k == 4]
            locs[d[1]] = (names, d.get(2, 0), d.get(3, 0))
        elif f == 3:
            d = dict(pb_fields(v))
            maps[d[1]] = (strs[d.get(5, 0)], d.get(2, 0), d.get(3, 0))
    samples = []
    for f, v in prof:
        if f != 2:
            continue
        ids, values, labels = [], [], {}
        for k, x in pb_fields(v):
            if k == 1:
                ids += pb_ints(x)
            elif k == 2:
                values += pb_ints(x)
            elif k == 3:
                d = dict(pb_fields(x))
                labels[strs[d[1]]] = strs[d[2]] if d.get(2) else d.get(3)
        samples.append((values, [locs[i] for i in ids], labels))
    return samples, maps


def t_kernel_pprof(ctx):
    """--kernel --format pprof: each kernel stack a sample under [kernel] with its cache as a label, kernel frames in the [vmlinux] mapping; the eventfd contexts held are exactly N objects of the kmalloc size; go tool pprof reads it."""
    out = profile_of_eventfds(ctx, 'pprof')
    samples, maps = decode_profile(out)
    h.expect(samples, 'no samples in the profile')
    stacks = []
    for values, locs, labels in samples:
        names = [n for ln, _, _ in locs for n in ln]
        h.expect(names and names[-1] == '[kernel]', 'a sample not rooted at [kernel]: %r' % names[-4:])
        h.expect(isinstance(labels.get('cache'), str), 'a sample without its cache: %r' % labels)
        for ln, mid, addr in locs[:-1]:
            if ln:
                h.expect(mid in maps and maps[mid][1] <= addr < maps[mid][2],
                         '%s at %#x outside its mapping %r' % (ln[0], addr, maps.get(mid)))
        stacks.append((labels['cache'], names[:-1], values[1], values[0]))
    b, n, size = eventfd_contexts(stacks)
    h.expect((b, n) == (N_PROFILED * size, N_PROFILED), 'do_eventfd: %d bytes in %d objects, want %d x %d' % (
        b, n, N_PROFILED, size))
    h.expect('[vmlinux]' in {m[0] for m in maps.values()}, 'mappings: %r' % sorted({m[0] for m in maps.values()}))
    go = shutil.which('go')
    if go:
        d = os.path.dirname(out)
        env = dict(os.environ, HOME=d, GOCACHE=os.path.join(d, 'gocache'), PPROF_TMPDIR=d)
        r = subprocess.run([go, 'tool', 'pprof', '-symbolize=none', '-traces', out],
                           capture_output=True, text=True, timeout=120, env=env, cwd=d)
        h.expect(r.returncode == 0, 'go tool pprof: status %d: %s' % (r.returncode, r.stderr.strip()[-300:]))
        h.expect(re.search(r'cache:\s*\[?kmalloc-', r.stdout) and 'do_eventfd' in r.stdout,
                 'go tool pprof -traces: no do_eventfd of a kmalloc cache: %s' % r.stdout[-400:])


def t_kernel_html(ctx):
    """--kernel --format html: the page's data holds the kernel stacks, and Chromium draws a Kernel memory graph with the eventfd contexts on do_eventfd under their cache, exactly N times the kmalloc size."""
    out = profile_of_eventfds(ctx, 'html')
    html = __import__('scenarios_html')
    text = html.read_page(out)
    html.check_self_contained(text)
    data = html.page_data(text)
    k = data.get('kernel')
    h.expect(isinstance(k, dict) and k.get('stacks'), 'no kernel stacks in the page data')
    frames = data['frames']
    stacks = []
    for s in k['stacks']:
        names = [frames[i]['name'] for i in s['f']]
        stacks.append((names[0], names[1:][::-1], s['b'], s['n']))
    b, n, size = eventfd_contexts(stacks)
    h.expect((b, n) == (N_PROFILED * size, N_PROFILED), 'page data: do_eventfd %d bytes in %d objects, want %d x %d' % (
        b, n, N_PROFILED, size))
    if not os.path.exists(html.CHROMIUM):
        raise h.Skip('no %s to draw the page' % html.CHROMIUM)
    dom = html.load_dom(ctx, out)
    h.expect('kernel' in dom.body.get('data-lt-graphs', '').split(),
             'graphs drawn: %r' % dom.body.get('data-lt-graphs'))
    graph = dom.graphs.get('kernel')
    h.expect(graph and graph['frames'], 'no kernel flame graph in the DOM')
    h.expect(int(graph['attrs']['data-total']) == sum(s['b'] for s in k['stacks']),
             'graph total %s, stacks %d' % (graph['attrs']['data-total'], sum(s['b'] for s in k['stacks'])))
    html.one_frame(graph, '[kernel]')
    drawn = [f for f in html.frames_named(graph, 'do_eventfd')
             if int(f['attrs']['data-bytes']) == N_PROFILED * size]
    h.expect(drawn, 'no do_eventfd frame of %d bytes drawn: %s' % (
        N_PROFILED * size, [f['attrs'].get('data-bytes') for f in html.frames_named(graph, 'do_eventfd')]))


def t_kernel_live(ctx):
    """--kernel --live: the kernel stacks view (5) shows the eventfd contexts held on do_eventfd, pid 0 and their kmalloc cache, exactly N objects of its size; the caches view (6) the files; q exits 0."""
    live = __import__('scenarios_live')
    name, path = make_cgroup()
    tm = None
    try:
        t = holder(ctx, 'eventfd', N_PROFILED)
        with open(os.path.join(path, 'cgroup.procs'), 'w') as f:
            f.write('%d\n' % t.pid)
        tm = live.Tmux(ctx, ['--kernel', '--cgroup', name, '-o', '0', '-T', '0', '1'])
        # The view opens once the programs are attached.
        tm.wait('the live header', lambda s: live.header(s).startswith('leaktrace --live:'))
        step(t, 'ready')
        tm.keys('5')

        def contexts(screen):
            return [r for r in live.rows(screen) if 'do_eventfd' in r['where'].split(' < ')[:2] and
                    kmalloc_size(r['comm'])]
        s = tm.wait('the eventfd contexts', lambda s: live.header(s).startswith(
            'leaktrace --live: kernel stacks') and sum(r['count'] for r in contexts(s)) == N_PROFILED)
        h.log('kernel stacks view:\n' + s.rstrip())
        for r in contexts(s):
            h.expect(r['pid'] == 0 and r['bytes'] == r['count'] * kmalloc_size(r['comm']),
                     'eventfd context row: %r' % r['line'])
        tm.keys('6')
        s = tm.wait('the files', lambda s: live.header(s).startswith('leaktrace --live: kernel caches') and
                    any(r['func'] == 'filp' and r['count'] >= N_PROFILED for r in live.rows(s)))
        h.log('kernel caches view:\n' + s.rstrip())
        step(t, 'released')
        live.quit_and_check(tm)
        tm.close()
        tm = None
        deadline = time.monotonic() + 3
        while no_kernel_links() and time.monotonic() < deadline:
            time.sleep(0.2)
        left = no_kernel_links()
        h.expect(not left, '; '.join(left))
    finally:
        if tm:
            tm.close()
        for t in ctx.targets:
            t.close_stdin()
            if t.wait(3) is None:
                t.kill_session()
        problem = h.remove_cgroup([path])
        if problem:
            ctx.notes.append(problem)


def t_err_kernel(ctx):
    """--kernel: combinations that cannot work are refused with one line and status 2."""
    for opts in (['--kernel', '-p', '1'], ['--kernel-cache', 'filp'],
                 ['--kernel', '--kernel-cache', 'x' * 40], ['--kernel', '-c', '/bin/true'],
                 ['--kernel-pages'], ['--kernel', '--kernel-pages', '--kernel-cache', 'filp']):
        p = h.run_to_end(ctx, opts, timeout=20)
        err = [x for x in p.err_lines if x.strip()]
        h.expect(p.popen.returncode == 2 and len(err) == 1 and err[0].startswith('leaktrace: '),
                 '%s: status %s, stderr %r' % (' '.join(opts), p.popen.returncode, err))


SCENARIOS = [
    ('kernel_eventfds', t_kernel_eventfds),
    ('kernel_epoll', t_kernel_epoll),
    ('kernel_files', t_kernel_files),
    ('kernel_cgroup', t_kernel_cgroup),
    ('kernel_container', t_kernel_container),
    ('kernel_cache_filter', t_kernel_cache_filter),
    ('kernel_sampling_verdict', t_kernel_sampling_verdict),
    ('kernel_pages', t_kernel_pages),
    ('kernel_percpu', t_kernel_percpu),
    ('kernel_serve', t_kernel_serve),
    ('kernel_folded', t_kernel_folded),
    ('kernel_pprof', t_kernel_pprof),
    ('kernel_html', t_kernel_html),
    ('kernel_live', t_kernel_live),
    ('err_kernel', t_err_kernel),
]
