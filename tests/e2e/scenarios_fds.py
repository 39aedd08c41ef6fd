# SPDX-License-Identifier: MIT
"""Descriptors: every one a program leaves open counted on the line that
made it, with what it is (kind) and its name (path, addresses, pipe inode);
what it closes, passes over SCM_RIGHTS and closes, or churns, absent; a
forked child's and an exec'd image's own; Python lines (tests/progs/fd_leaky.c,
tests/progs/py_fd_leak.py, whose truth lines give the numbers)."""

import json
import os
import signal
import time

import __main__ as h

PY_FD_LEAK = os.path.join(h.SRC_PROGS, 'py_fd_leak.py')

# tests/progs/fd_leaky.c: what the parent leaves open, by site.
C_FILES, C_SAME, C_CLIENTS = 5, 4, 3
C_OPEN = C_FILES + C_SAME + 1 + 2 * C_CLIENTS + 2 + 2 + 1 + 1 + 1  # 23
C_KINDS = {'file': C_FILES + C_SAME + 3, 'tcp': 1 + 2 * C_CLIENTS, 'pipe': 2, 'unix': 2}
# Descriptors made and closed (churn, SCM_RIGHTS, dup sources): never reported.
C_CLOSED_SITES = ('churn_open', 'churn_dup', 'churn_fdupfd', 'churn_dup2_range',
                  'churn_dup3_range', 'churn_dup2_wide', 'churn_dup2_wide2', 'churn_pipe',
                  'churn_eventfd', 'churn_client', 'churn_accept', 'churn_socketpair',
                  'dup_source', 'dup2_source', 'dup2_victim', 'pass_pair', 'pass_closed_open',
                  'recv_closed', 'pass_kept_open', 'pre_exec', 'before_open')
C_CHURN = 200

# tests/progs/py_fd_leak.py
PY_OPEN = 7 + 2 + 4 + 3 + 4 + 2  # 22
PY_KINDS = {'file': 9, 'tcp': 7, 'unix': 4, 'pipe': 2}
PY_CHURN_SITES = ('churn_with_open', 'churn_dropped_open', 'churn_connect', 'churn_accept',
                  'churn_sqlite', 'churn_pipe', 'churn_dup', 'churn_socketpair',
                  'churn_subprocess')
GROW_RATE = 20


def tagged(lines, tag):
    for line in lines:
        if line.startswith(tag + ' '):
            return json.loads(line[len(tag) + 1:])
    raise h.Fail('the program printed no %s line' % tag)


class Problems(list):
    """Every mismatch of a run, not only the first: one Fail lists them."""

    def check(self, cond, msg):
        if not cond:
            self.append(msg)
        return cond

    def done(self, what):
        if self:
            raise h.Fail('%s: %s%s' % (what, '; '.join(self[:8]),
                                      ' (+%d more)' % (len(self) - 8) if len(self) > 8 else ''))


def fds_of(pr, proc, where):
    fds = proc.get('fds')
    if not pr.check(isinstance(fds, dict), '%s: no "fds" object' % where):
        return {'open': None, 'open_before': None, 'kinds': {}, 'stacks': []}
    return fds


def short(row):
    """A row in a few words, for messages."""
    fr = ['%s:%s' % (f.get('func'), f.get('line')) for f in row['frames'][:4]]
    return '%d %s %s' % (row['count'], row.get('kinds'), fr)


def check_row(pr, where, row, count, kinds, exact=None, among=None):
    """count and kinds exact; names either exactly {name: count} (exact) or
    up to three of a set of names each made once (among), the rest in
    other_names."""
    pr.check(row['count'] == count, '%s: count %d, want %d' % (where, row['count'], count))
    pr.check(row.get('kinds') == kinds, '%s: kinds %r, want %r' % (where, row.get('kinds'), kinds))
    names = {n['name']: n['count'] for n in row.get('names', [])}
    if exact is not None:
        pr.check(names == exact and row.get('other_names') == 0,
                 '%s: names %r (other %r), want %r' % (where, names, row.get('other_names'), exact))
    if among is not None:
        shown = min(3, len(among))
        pr.check(len(names) == shown and set(names) <= among and set(names.values()) == {1} and
                 row.get('other_names') == count - shown,
                 '%s: names %r (other %r), want %d of %s, each once, other_names %d' % (
                     where, names, row.get('other_names'), shown, sorted(among), count - shown))
    hist = row.get('age_histogram') or {}
    pr.check(sum(hist.get('count') or []) == count,
             '%s: age_histogram counts %r do not add up to %d' % (where, hist.get('count'), count))


# ---------------------------------------------------------------------------
# fd_leaky (C)
# ---------------------------------------------------------------------------

def c_frames(row):
    """(func, line) of the row's frames in fd_leaky.c, innermost first."""
    return [(f.get('func'), f.get('line')) for f in row['frames']
            if f.get('file') and os.path.basename(f['file']) == 'fd_leaky.c']


def c_rows_by_site(pr, where, rows, sites, want):
    """{site: row} for rows whose innermost fd_leaky.c frame is a wanted
    (func, line of a site) and whose outermost is main on the line of a call
    site, want being {site: (func, line's site, main's call site)}; any
    other row is a problem (named by its site if it has one)."""
    by_line = {line: name for name, line in sites.items()}
    found = {}
    for row in rows:
        cf = c_frames(row)
        key = next((name for name, (func, line, _) in want.items() if cf and cf[0] == (func, sites[line])),
                   None)
        if key is None:
            lines = [by_line.get(line, '%s:%s' % (func, line)) for func, line in cf]
            pr.append('%s: unexpected row %s (program frames: %s)' % (where, short(row), lines))
            continue
        if not pr.check(key not in found, '%s: two rows for %s' % (where, key)):
            continue
        found[key] = row
        fr = row['frames']
        pr.check(fr and os.path.basename(fr[0].get('module') or '').startswith('libc'),
                 '%s %s: frames[0] %r is not in libc' % (where, key, fr[0] if fr else None))
        # The outermost frame in the program: main, on its call of the function.
        call = want[key][2]
        pr.check(cf[-1] == ('main', sites[call]), '%s %s: outermost program frame %s, want main:%d (%s)'
                 % (where, key, cf[-1], sites[call], call))
    for key in want:
        pr.check(key in found, '%s: no row for %s (line %d); rows: %s' % (
            where, key, sites[want[key][1]], [short(r) for r in rows]))
    # Named explicitly: what was closed must show nowhere in any frame.
    for name in C_CLOSED_SITES:
        hits = [r for r in rows if any(line == sites[name] for _, line in c_frames(r))]
        pr.check(not hits, '%s: closed descriptors of %s (line %d) reported: %s' % (
            where, name, sites[name], [short(r) for r in hits]))
    return found


def check_fd_leaky_parent(pr, proc, truth, sites, open_before):
    where = 'fd_leaky pid %d' % proc['pid']
    fds = fds_of(pr, proc, where)
    d, port = truth['dir'], truth['port']
    want = {site: (func, site, 'call_' + func) for site, func in (
        ('leak_files', 'leak_files'), ('leak_same', 'leak_same'), ('leak_listener', 'leak_listener'),
        ('leak_client', 'leak_clients'), ('leak_accepted', 'leak_accepted'), ('leak_pipe', 'leak_pipe'),
        ('leak_socketpair', 'leak_socketpair'), ('leak_dup', 'leak_dup'), ('leak_dup2', 'leak_dup2'))}
    want['recv_kept'] = ('recv_fd', 'recvmsg', 'call_pass_fds')
    rows = c_rows_by_site(pr, where, fds['stacks'], sites, want)
    path = lambda name: os.path.join(d, name)  # noqa: E731
    expect = {
        'leak_files': (C_FILES, {'file': C_FILES}, None, {path('leak-%d.txt' % i) for i in range(C_FILES)}),
        'leak_same': (C_SAME, {'file': C_SAME}, {path('same.txt'): C_SAME}, None),
        'leak_listener': (1, {'tcp': 1}, {'tcp 127.0.0.1:%d' % port: 1}, None),
        'leak_client': (C_CLIENTS, {'tcp': C_CLIENTS},
                        {'tcp 127.0.0.1:%d -> 127.0.0.1:%d' % (cp, port): 1 for cp in truth['client_ports']},
                        None),
        'leak_accepted': (C_CLIENTS, {'tcp': C_CLIENTS},
                          {'tcp 127.0.0.1:%d -> 127.0.0.1:%d' % (port, ap): 1
                           for ap in truth['accepted_ports']}, None),
        'leak_pipe': (2, {'pipe': 2}, {'pipe:[%d]' % truth['pipe_ino']: 2}, None),
        'leak_socketpair': (2, {'unix': 2}, {'unix stream (unnamed)': 2}, None),
        'leak_dup': (1, {'file': 1}, {path('dup-src.txt'): 1}, None),
        'leak_dup2': (1, {'file': 1}, {path('dup2-src.txt'): 1}, None),
        'recv_kept': (1, {'file': 1}, {path('passed-kept.txt'): 1}, None),
    }
    for key, (count, kinds, exact, among) in expect.items():
        if key in rows:
            check_row(pr, '%s %s' % (where, key), rows[key], count, kinds, exact, among)
    if 'recv_kept' in rows:
        cf = c_frames(rows['recv_kept'])
        pr.check(cf[:2] == [('recv_fd', sites['recvmsg']), ('pass_fds', sites['recv_kept'])],
                 '%s: the received descriptor\'s frames %s, want recv_fd:%d then pass_fds:%d' % (
                     where, cf[:3], sites['recvmsg'], sites['recv_kept']))
    pr.check(fds['open'] == C_OPEN, '%s: open %r, want %d' % (where, fds['open'], C_OPEN))
    pr.check(fds['kinds'] == C_KINDS, '%s: kinds %r, want %r' % (where, fds['kinds'], C_KINDS))
    pr.check(fds['open_before'] == open_before, '%s: open_before %r, want %d' % (
        where, fds['open_before'], open_before))


def check_fd_leaky_child(pr, report, pid, what, site, func, names, sites):
    procs = [p for p in report['processes'] if p['pid'] == pid]
    if not pr.check(len(procs) == 1, '%s (pid %d): %d entries in the report' % (what, pid, len(procs))):
        return
    proc = procs[0]
    where = '%s pid %d' % (what, pid)
    pr.check(proc['exited'] and proc['comm'] == 'fd_leaky', '%s: exited %r comm %r' % (
        where, proc['exited'], proc['comm']))
    fds = fds_of(pr, proc, where)
    rows = c_rows_by_site(pr, where, fds['stacks'], sites, {site: (func, site, 'call_' + func)})
    if site in rows:
        check_row(pr, '%s %s' % (where, site), rows[site], len(names), {'file': len(names)},
                  exact={n: 1 for n in names})
    pr.check(fds['open'] == len(names) and fds['kinds'] == {'file': len(names)},
             '%s: open %r kinds %r, want %d files (inherited descriptors are not its own)' % (
                 where, fds['open'], fds['kinds'], len(names)))
    # Its records start at the fork (or exec): nothing is counted from before.
    pr.check(fds['open_before'] == 0, '%s: open_before %r, want 0' % (where, fds['open_before']))


def raw_reports(p):
    """The JSON reports on a leaktrace's stdout, parsed but not checked."""
    reps = [json.loads(line) for line in p.out_lines if line.strip().startswith('{')]
    h.expect(reps, 'no JSON report on stdout' + h.tail(p))
    return reps


def final_of(pr, p):
    """The final report, schema-checked; a report that does not match the
    schema is a problem, and the checks go on with it as it is."""
    try:
        return h.final_report(p)
    except h.Fail as e:
        pr.append('the report: %s' % e)
        return raw_reports(p)[-1]


def only_target(pr, report, pid):
    """-p PID: the report is of that process alone (descriptor syscalls
    are traced by system-wide tracepoints; only the target's count)."""
    others = [(p['pid'], p['comm']) for p in report['processes'] if p['pid'] != pid]
    pr.check(not others, '-p %d: the report also has %d other processes, e.g. %s' % (
        pid, len(others), others[:5]))


def t_fds_c_run(ctx):
    """-c fd_leaky: each leak row exact (count, kind, names: paths, 127.0.0.1:PORT peers, pipe inode) on its line in fd_leaky.c under main; churn, dup sources and the SCM_RIGHTS descriptor closed by the receiver absent, the kept one on recvmsg's line; a forked child and an exec'd image under their own pids with only their own; open_before 3."""
    d = ctx.tmpdir()
    sites = h.source_sites('fd_leaky.c')
    p = h.run_to_end(ctx, ['-T', '0', '--format', 'json', '-c',
                           '%s run %s %d' % (ctx.prog('fd_leaky'), d, C_CHURN)], timeout=60)
    h.expect(p.popen.returncode == 0, 'exit status %s%s' % (p.popen.returncode, h.tail(p)))
    truth = tagged(p.out_lines, 'FDLEAKY')
    h.expect(truth['status_child'] == 0 and truth['status_execd'] == 0,
             'fd_leaky children failed: %r' % truth)
    rep = h.final_report(p, strict=False)
    pr = Problems()
    pr.check(rep['stats'].get('lost_events') == 0, 'lost_events %r' % rep['stats'].get('lost_events'))
    # Every descriptor of the churn: 12 made per round, all closed.
    pr.check(rep['stats'].get('fd_open_events', 0) >= 12 * C_CHURN + C_OPEN and
             rep['stats'].get('fd_close_events', 0) >= 12 * C_CHURN,
             'stats: %r made, %r closed; the churn alone makes and closes %d' % (
                 rep['stats'].get('fd_open_events'), rep['stats'].get('fd_close_events'), 12 * C_CHURN))
    pids = {q['pid'] for q in rep['processes']}
    want_pids = {truth['pid'], truth['child'], truth['execd']}
    pr.check(pids == want_pids, 'processes %s, want the parent and its two children %s' % (
        sorted(pids), sorted(want_pids)))
    parent = [q for q in rep['processes'] if q['pid'] == truth['pid']]
    if pr.check(len(parent) == 1, 'fd_leaky pid %d not in the report' % truth['pid']):
        pr.check(parent[0]['exited'], 'the parent did not exit')
        # 0, 1 and 2: open before the program ran and never closed.
        check_fd_leaky_parent(pr, parent[0], truth, sites, open_before=3)
    d = truth['dir']
    check_fd_leaky_child(pr, rep, truth['child'], 'forked child', 'child_leak', 'child_leak',
                         [os.path.join(d, 'child-%d.txt' % i) for i in range(truth['child_files'])],
                         sites)
    check_fd_leaky_child(pr, rep, truth['execd'], "exec'd child", 'execd_leak', 'execd_leak',
                         [os.path.join(d, 'execd.txt')], sites)
    pr.done('-c fd_leaky')


def t_fds_c_attach(ctx):
    """-p on a waiting fd_leaky: the same rows exact for what it made after the attach; open_before 4 (0-2 and a file opened before, less one closed after); only the target in the report."""
    d = ctx.tmpdir()
    sites = h.source_sites('fd_leaky.c')
    t = ctx.target([ctx.prog('fd_leaky'), 'wait', d, str(C_CHURN)], 'fd_leaky')
    h.expect(t.expect_line('ready', 15), 'fd_leaky did not print "ready" (rc=%s)%s' % (t.poll(), h.tail(t)))
    p = h.attach_pid(ctx, ['-T', '0', '-o', '0', '--format', 'json', '-p', str(t.pid)])
    h.trigger(t)
    truth = tagged(t.out_lines, 'FDLEAKY')
    time.sleep(0.5)
    rc = h.interrupt(p, signal.SIGINT)
    h.expect(rc == 0, 'exit status %s after SIGINT%s' % (rc, h.tail(p)))
    pr = Problems()
    rep = final_of(pr, p)
    proc = [q for q in rep['processes'] if q['pid'] == t.pid]
    h.expect(len(proc) == 1, 'fd_leaky pid %d not in the report' % t.pid)
    pr.check(not proc[0]['exited'], 'fd_leaky is said to have exited')
    # 0, 1, 2 and before-0.txt; before-1.txt was closed after the attach.
    check_fd_leaky_parent(pr, proc[0], truth, sites, open_before=4)
    only_target(pr, rep, t.pid)
    pr.done('-p fd_leaky')
    t.send('exit\n')
    t.wait(10)


def t_fds_off(ctx):
    """--no-fds: no "fds" object in any process, no descriptor event counted."""
    d = ctx.tmpdir()
    p = h.run_to_end(ctx, ['-T', '0', '--format', 'json', '--no-fds', '-c',
                           '%s run %s 20' % (ctx.prog('fd_leaky'), d)], timeout=60)
    h.expect(p.popen.returncode == 0, '--no-fds: exit status %s, stdout %d lines%s' % (
        p.popen.returncode, len(p.out_lines), h.tail(p) or ' [nothing on stderr]'))
    truth = tagged(p.out_lines, 'FDLEAKY')
    reps = h.parse_reports(p)
    rep = h.final_report(p, reports=reps)
    pids = {q['pid'] for q in rep['processes']}
    h.expect(truth['pid'] in pids, 'fd_leaky pid %d not in the report' % truth['pid'])
    for r in reps:
        with_fds = [q['pid'] for q in r['processes'] if 'fds' in q]
        h.expect(not with_fds, '--no-fds: processes %s have "fds"' % with_fds)
        st = r['stats']
        h.expect(st.get('fd_open_events', 0) == 0 and st.get('fd_close_events', 0) == 0,
                 '--no-fds: stats count %r made and %r closed' % (st.get('fd_open_events'),
                                                                   st.get('fd_close_events')))


def t_fds_open_before(ctx):
    """-c /bin/true: open_before 3 (0, 1 and 2, which it never closes), nothing made, no rows."""
    p = h.run_to_end(ctx, ['-T', '0', '--format', 'json', '-c', '/bin/true'], timeout=60)
    h.expect(p.popen.returncode == 0, 'exit status %s%s' % (p.popen.returncode, h.tail(p)))
    rep = h.final_report(p)
    procs = [q for q in rep['processes'] if q['comm'] == 'true']
    h.expect(len(procs) == 1, '%d processes "true" in the report' % len(procs))
    fds = procs[0].get('fds')
    h.expect(isinstance(fds, dict), 'no "fds" object')
    # The harness gives leaktrace, and so the command, 0, 1 and 2 only.
    h.expect((fds['open'], fds['open_before'], fds['stacks']) == (0, 3, []),
             'open %r, open_before %r, %d rows; want 0, 3 (0, 1, 2) and none' % (
                 fds['open'], fds['open_before'], len(fds['stacks'])))


# ---------------------------------------------------------------------------
# py_fd_leak (Python)
# ---------------------------------------------------------------------------

def fd_pythons():
    """Debian's 3.11 and pyenv's 3.12 and 3.8 (others found if those are not)."""
    found = h.pythons_found()
    h.expect(found, 'no CPython 3.8-3.15 found')
    runs = [(n, exe) for n, exe in found
            if n == 'debian-3.11' or n.startswith('pyenv-3.12.') or n.startswith('pyenv-3.8.')]
    if not any(n.startswith('pyenv-') for n, _ in runs):
        runs += [(n, exe) for n, exe in found if n.startswith('pyenv-')][:1]
    return runs or found[:1]


def base_func(fr):
    """A Python frame's function without its class (3.11+ give qualnames)."""
    return (fr.get('func') or '').split('.')[-1]


def py_names(truth):
    d, port = truth['dir'], truth['port']
    clients = {'tcp 127.0.0.1:%d -> 127.0.0.1:%d' % (cp, port) for cp in truth['client_ports']}
    return {
        'files': {os.path.join(d, 'leak-%d.txt' % i) for i in range(truth['counts']['open_file'])},
        'dbs': {os.path.join(d, 'db-%d.sqlite' % i): 1 for i in range(truth['counts']['sqlite_connect'])},
        'clients': clients,
        'listener': 'tcp 127.0.0.1:%d' % port,
        'accepted': {'tcp 127.0.0.1:%d -> 127.0.0.1:%d' % (port, ap): 1 for ap in truth['accepted_ports']},
        'pipes': {'pipe:[%d]' % i: 1 for i in truth['pipe_inodes']},
    }


def check_py_lineno(pr, where, proc, truth):
    """--group lineno: one row per innermost Python line, that frame alone.
    Sockets, socketpairs and subprocess pipes are made in socket.py and
    subprocess.py: their rows are those lines (found by function, the line
    differs between versions), the churn's closed ones not in their counts."""
    fds = fds_of(pr, proc, where)
    sites, mine = truth['sites'], os.path.basename(truth['file'])
    names = py_names(truth)
    want = {
        ('py_fd_leak.py', 'leak_files', sites['open_file']):
            (7, {'file': 7}, None, names['files']),
        ('py_fd_leak.py', 'leak_sqlite', sites['sqlite_connect']):
            (2, {'file': 2}, names['dbs'], None),
        ('socket.py', '__init__', None):
            (4, {'tcp': 4}, None, names['clients'] | {names['listener']}),
        ('socket.py', 'accept', None): (3, {'tcp': 3}, names['accepted'], None),
        ('socket.py', 'socketpair', None): (4, {'unix': 4}, {'unix stream (unnamed)': 4}, None),
        ('subprocess.py', '_get_handles', None): (2, {'pipe': 2}, names['pipes'], None),
    }
    by_line = {line: name for name, line in sites.items()}
    found = {}
    for row in fds['stacks']:
        fr = row['frames']
        if not pr.check(len(fr) == 1 and fr[0].get('lang') == 'python',
                        '%s: a --group lineno row has frames %s' % (
                            where, [(f.get('func'), f.get('line'), f.get('lang')) for f in fr[:4]])):
            continue
        f = fr[0]
        base = os.path.basename(f.get('file') or '')
        key = next((k for k in want if k[0] == base and k[1] == base_func(f) and k[2] in (None, f['line'])),
                   None)
        if key is None:
            site = by_line.get(f['line']) if base == mine else None
            pr.append('%s: unexpected row %d at %s:%s %s%s' % (
                where, row['count'], base, f['line'], f.get('func'), ' (site %s)' % site if site else ''))
            continue
        if pr.check(key not in found, '%s: two rows for %s' % (where, key)):
            found[key] = row
    for key, (count, kinds, exact, among) in want.items():
        label = '%s %s:%s' % (where, key[0], key[2] or key[1])
        if pr.check(key in found, '%s: no row (rows: %s)' % (label, [short(r) for r in fds['stacks']])):
            check_row(pr, label, found[key], count, kinds, exact, among)
    for name in PY_CHURN_SITES:
        hits = [r for r in fds['stacks'] if any(
            os.path.basename(f.get('file') or '') == mine and f.get('line') == sites[name] for f in r['frames'])]
        pr.check(not hits, '%s: churn line %s (%d) reported: %s' % (where, name, sites[name],
                                                                    [short(r) for r in hits]))
    pr.check(fds['open'] == PY_OPEN and fds['kinds'] == PY_KINDS,
             '%s: open %r kinds %r, want %d %r' % (where, fds['open'], fds['kinds'], PY_OPEN, PY_KINDS))
    return fds


def py_frames(row):
    """(func, line, file name) of the Python frames, innermost first."""
    return [(base_func(f), f['line'], os.path.basename(f.get('file') or ''))
            for f in row['frames'] if f.get('lang') == 'python']


def check_py_native(pr, where, proc, truth):
    """Without --group: rows by native stack and Python traceback; the
    Python frames are spliced into the native stack, innermost first."""
    fds = fds_of(pr, proc, where)
    s, mine = truth['sites'], os.path.basename(truth['file'])
    names = py_names(truth)
    want = {
        'open_file': ([('leak_files', s['open_file']), ('leak_all', s['call_leak_files'])],
                      7, {'file': 7}, None, names['files']),
        'sqlite_connect': ([('leak_sqlite', s['sqlite_connect']), ('leak_all', s['call_leak_sqlite'])],
                           2, {'file': 2}, names['dbs'], None),
        'tcp_client': ([('leak_tcp', s['tcp_client']), ('leak_all', s['call_leak_tcp'])],
                       3, {'tcp': 3}, {n: 1 for n in names['clients']}, None),
        'tcp_accept': ([('leak_tcp', s['tcp_accept']), ('leak_all', s['call_leak_tcp'])],
                       3, {'tcp': 3}, names['accepted'], None),
    }
    total = 0
    for row in fds['stacks']:
        total += row['count']
    pr.check(total == PY_OPEN and fds['open'] == PY_OPEN, '%s: rows hold %d, open %r, want %d' % (
        where, total, fds['open'], PY_OPEN))
    for site, (inner, count, kinds, exact, among) in want.items():
        line = s[site]
        hits = [r for r in fds['stacks'] if any(
            os.path.basename(f.get('file') or '') == mine and f.get('line') == line
            for f in r['frames'] if f.get('lang') == 'python')]
        if not pr.check(len(hits) == 1, '%s %s: %d rows with line %d' % (where, site, len(hits), line)):
            continue
        row = hits[0]
        check_row(pr, '%s %s' % (where, site), row, count, kinds, exact, among)
        fr = row['frames']
        py = py_frames(row)
        ours = [(fn, ln) for fn, ln, base in py if base == mine]
        want_py = inner + [('main', s['call_leak_all']), ('<module>', s['call_main'])]
        pr.check(ours == want_py, '%s %s: Python frames %s, want %s (in %s)' % (
            where, site, [x[:2] for x in py], want_py, mine))
        first_py = next((i for i, f in enumerate(fr) if f.get('lang') == 'python'), None)
        last_py = max((i for i, f in enumerate(fr) if f.get('lang') == 'python'), default=None)
        pr.check(first_py is not None and first_py >= 1 and
                 os.path.basename(fr[0].get('module') or '').startswith('libc'),
                 '%s %s: the stack does not start in libc before the Python frames: %s' % (
                     where, site, [h.frame_name(f) for f in fr[:4]]))
        pr.check(last_py is not None and fr[-1].get('func') == '_start' and
                 any(f.get('func') == 'Py_RunMain' for f in fr[last_py:]),
                 '%s %s: the native stack does not go on to Py_RunMain and _start after the '
                 'Python frames: %s' % (where, site, [h.frame_name(f) for f in fr[(last_py or 0):]]))
        if site == 'sqlite_connect':
            pr.check(any('libsqlite3' in os.path.basename(f.get('module') or '') for f in fr[:first_py or 0]),
                     '%s sqlite_connect: no libsqlite3 frame before the Python ones' % where)


def py_run(ctx, name, exe, group):
    d = ctx.tmpdir()
    opts = ['-T', '0', '--format', 'json'] + (['--group', 'lineno'] if group else [])
    p = h.run_to_end(ctx, opts + ['-c', '%s %s run %s' % (exe, PY_FD_LEAK, d)], timeout=60)
    h.expect(p.popen.returncode == 0, '%s: exit status %s%s' % (name, p.popen.returncode, h.tail(p)))
    truth = tagged(p.out_lines, 'PYFDLEAK')
    rep = h.final_report(p)
    procs = [q for q in rep['processes'] if q['pid'] == truth['pid']]
    h.expect(len(procs) == 1, '%s: pid %d not in the report' % (name, truth['pid']))
    h.expect('python' in procs[0], '%s: pid %d is not seen as Python' % (name, truth['pid']))
    return procs[0], truth


def t_fds_python_c_run(ctx):
    """-c py_fd_leak.py on Debian 3.11, pyenv 3.12 and 3.8 with --group lineno: files and sqlite on their lines, sockets, socketpairs and Popen pipes on socket.py's and subprocess.py's, each count exact with its names (paths, 127.0.0.1:PORT peers, pipe inodes); churn absent; then Debian 3.11 without --group: the Python lines spliced into the native stacks, counts exact."""
    runs = fd_pythons()
    print('  Pythons: %s' % ', '.join(n for n, _ in runs), flush=True)
    pr = Problems()
    for name, exe in runs:
        proc, truth = py_run(ctx, name, exe, True)
        check_py_lineno(pr, '%s -c' % name, proc, truth)
    native = [(n, exe) for n, exe in runs if n == 'debian-3.11'] or runs[:1]
    for name, exe in native:
        proc, truth = py_run(ctx, name, exe, False)
        check_py_native(pr, '%s -c (by stack)' % name, proc, truth)
    pr.done('-c py_fd_leak.py')


def t_fds_python_attach(ctx):
    """-p on a waiting py_fd_leak.py (Debian 3.11, pyenv 3.12 and 3.8), --group lineno: the same rows exact; open_before what the script had open when it said "ready"; only the target in the report."""
    runs = fd_pythons()
    print('  Pythons: %s' % ', '.join(n for n, _ in runs), flush=True)
    pr = Problems()
    for name, exe in runs:
        d = ctx.tmpdir()
        t = ctx.target([exe, PY_FD_LEAK, 'wait', d], name)
        h.expect(t.expect_line('ready', 30), '%s: py_fd_leak did not print "ready"%s' % (name, h.tail(t)))
        p = h.attach_pid(ctx, ['-T', '0', '-o', '0', '--group', 'lineno', '--format', 'json',
                               '-p', str(t.pid)])
        h.trigger(t)
        truth = tagged(t.out_lines, 'PYFDLEAK')
        rc = h.interrupt(p)
        h.expect(rc == 0, '%s: exit status %s%s' % (name, rc, h.tail(p)))
        rep = final_of(pr, p)
        procs = [q for q in rep['processes'] if q['pid'] == t.pid]
        h.expect(len(procs) == 1, '%s: pid %d not in the report' % (name, t.pid))
        where = '%s -p' % name
        fds = check_py_lineno(pr, where, procs[0], truth)
        pr.check(fds['open_before'] == truth['before'], '%s: open_before %r, the script had %d open' % (
            where, fds['open_before'], truth['before']))
        only_target(pr, rep, t.pid)
        t.send('exit\n')
        t.wait(10)
    pr.done('-p py_fd_leak.py')


def t_fds_python_growing(ctx):
    """-p PID 1 on a Python service opening 20 connections a second it never closes: in later reports that row is "growing" at 20/s (within 30 %); 4 connections made once are "stable"; the closed ones and those made before the attach are not rows (the latter are open_before)."""
    found = h.pythons_found()
    h.expect(found, 'no CPython 3.8-3.15 found')
    name, exe = ([x for x in found if x[0] == 'debian-3.11'] or found)[0]
    d = ctx.tmpdir()
    t = ctx.target([exe, PY_FD_LEAK, 'serve', d, str(GROW_RATE)], 'py_fd_leak serve')
    h.expect(t.expect_line('ready', 30), '%s: py_fd_leak serve did not print "ready"%s' % (name, h.tail(t)))
    truth = tagged(t.out_lines, 'SERVE')
    sites = truth['sites']
    p = h.attach_pid(ctx, ['-T', '0', '--format', 'json', '-p', str(t.pid), '1'])
    h.expect(t.send('go\n'), 'cannot write to %s' % t.name)
    h.expect(t.expect_line('going', 15), 'py_fd_leak serve did not start%s' % h.tail(t))
    before = len(p.out_lines)
    deadline = time.monotonic() + 30
    while len(p.out_lines) - before < 9 and time.monotonic() < deadline and p.poll() is None:
        time.sleep(0.1)
    rc = h.interrupt(p)
    h.expect(rc == 0, 'exit status %s after SIGINT%s' % (rc, h.tail(p)))
    # Other processes are fds_c_attach's and fds_python_attach's matter.
    reps = raw_reports(p)
    h.expect(len(reps) >= 9, 'only %d reports at 1 s intervals' % len(reps))

    def rows_at(rep):
        procs = [q for q in rep['processes'] if q['pid'] == t.pid]
        if not procs or 'fds' not in procs[0]:
            return None, {}
        out = {}
        for row in procs[0]['fds']['stacks']:
            lines = [f.get('line') for f in row['frames'] if f.get('lang') == 'python' and
                     os.path.basename(f.get('file') or '') == 'py_fd_leak.py']
            for site in ('grow_connect', 'fixed_connect', 'grow_churn', 'pool_connect'):
                if sites[site] in lines:
                    out.setdefault(site, []).append(row)
        return procs[0], out

    pr = Problems()
    summary = []
    for rep in reps:
        _, rows = rows_at(rep)
        g = rows.get('grow_connect', [{}])[0]
        summary.append((round(rep['elapsed_s'], 1), g.get('count'), g.get('verdict'), g.get('growth_per_s')))
    h.log('grow_connect by report: %s' % summary)
    # The last three interval reports (the final one may come a moment after).
    for rep in reps[-4:-1]:
        proc, rows = rows_at(rep)
        where = 'report at %.1f s' % rep['elapsed_s']
        if not pr.check(proc is not None, '%s: pid %d or its "fds" missing' % (where, t.pid)):
            continue
        grow = rows.get('grow_connect', [])
        if pr.check(len(grow) == 1, '%s: %d grow_connect rows' % (where, len(grow))):
            g = grow[0]
            rate = g.get('growth_per_s') or 0
            pr.check(g.get('verdict') == 'growing' and abs(rate - GROW_RATE) <= 0.3 * GROW_RATE,
                     '%s: grow_connect verdict %r at %r/s, want growing at %d/s (by report: %s)' % (
                         where, g.get('verdict'), g.get('growth_per_s'), GROW_RATE, summary))
            pr.check(g.get('kinds') == {'tcp': g['count']}, '%s: grow_connect kinds %r' % (where, g.get('kinds')))
            pr.check(all(n['name'].endswith(' -> 127.0.0.1:%d' % truth['port']) for n in g.get('names', [])),
                     '%s: grow_connect names %r' % (where, g.get('names')))
        fixed = rows.get('fixed_connect', [])
        if pr.check(len(fixed) == 1, '%s: %d fixed_connect rows' % (where, len(fixed))):
            pr.check(fixed[0]['count'] == truth['fixed'] and fixed[0].get('verdict') == 'stable',
                     '%s: fixed_connect %d %r, want %d stable' % (
                         where, fixed[0]['count'], fixed[0].get('verdict'), truth['fixed']))
        for site in ('grow_churn', 'pool_connect'):
            pr.check(site not in rows, '%s: %s reported: %s' % (where, site, [short(r) for r in rows.get(site, [])]))
        pr.check(proc['fds']['open_before'] == truth['before'], '%s: open_before %r, want %d' % (
            where, proc['fds']['open_before'], truth['before']))
    pr.done('-p py_fd_leak.py serve (%s)' % name)
    t.send('exit\n')
    t.wait(10)


def other_mode_run(ctx, what, opts, before_attach=None):
    """fd_leaky waiting, then leaktrace with opts: the parent's rows exact,
    open_before 4 (0-2 and a file opened before tracing began, less one
    closed after), as with -p. before_attach(pid) runs before leaktrace starts."""
    d = ctx.tmpdir()
    sites = h.source_sites('fd_leaky.c')
    t = ctx.target([ctx.prog('fd_leaky'), 'wait', d, str(C_CHURN)], 'fd_leaky')
    h.expect(t.expect_line('ready', 15), 'fd_leaky did not print "ready" (rc=%s)%s' % (t.poll(), h.tail(t)))
    if before_attach:
        before_attach(t.pid)
    p = ctx.lt(['-v', '-T', '0', '-o', '0', '--format', 'json'] + opts)
    h.expect(p.expect_err_line('leaktrace: tracing', 60), '%s: leaktrace did not start%s' % (what, h.tail(p)))
    h.wait_probes(p.pid, min_wait=1.0, max_wait=10)
    h.expect(p.poll() is None, '%s: leaktrace exited early%s' % (what, h.tail(p)))
    h.trigger(t)
    truth = tagged(t.out_lines, 'FDLEAKY')
    time.sleep(0.5)
    rc = h.interrupt(p, signal.SIGINT)
    h.expect(rc == 0, '%s: exit status %s after SIGINT%s' % (what, rc, h.tail(p)))
    pr = Problems()
    rep = final_of(pr, p)
    proc = [q for q in rep['processes'] if q['pid'] == t.pid]
    h.expect(len(proc) == 1, '%s: fd_leaky pid %d not in the report' % (what, t.pid))
    check_fd_leaky_parent(pr, proc[0], truth, sites, open_before=4)
    pr.done('%s fd_leaky' % what)
    t.send('exit\n')
    t.wait(10)
    return rep, truth


def t_fds_cgroup_and_system_wide(ctx):
    """--cgroup (fd_leaky moved into a new cgroup) and system-wide: the same rows exact as with -p, open_before 4; with --cgroup no process from outside the cgroup."""
    if not os.path.exists(os.path.join(h.CGROUP2_ROOT, 'cgroup.procs')):
        raise h.Skip('no cgroup v2 hierarchy at %s' % h.CGROUP2_ROOT)
    cg = os.path.join(h.CGROUP2_ROOT, 'leaktrace-e2e-fds-%s' % os.urandom(4).hex())
    os.makedirs(cg)
    members = []

    def move_in(pid):
        with open(os.path.join(cg, 'cgroup.procs'), 'w') as f:
            f.write('%d\n' % pid)
        members.append(pid)

    try:
        rep, truth = other_mode_run(ctx, '--cgroup', ['--cgroup', cg], before_attach=move_in)
        # Its forked and exec'd children are in the cgroup too (gone by the
        # report, their cgroup may be unknown).
        members += [truth.get('child'), truth.get('execd')]
        outside = [(q['pid'], q['comm']) for q in rep['processes']
                   if q['pid'] not in members and q.get('cgroup') != cg[len(h.CGROUP2_ROOT):]]
        h.expect(not outside, '--cgroup: processes from outside it in the report: %s' % outside[:5])
    finally:
        problem = h.remove_cgroup([cg])
        if problem:
            h.log(problem)
    other_mode_run(ctx, 'system-wide', [])


SCENARIOS = [
    ('fds_c_run', t_fds_c_run),
    ('fds_c_attach', t_fds_c_attach),
    ('fds_off', t_fds_off),
    ('fds_open_before', t_fds_open_before),
    ('fds_python_c_run', t_fds_python_c_run),
    ('fds_python_attach', t_fds_python_attach),
    ('fds_python_growing', t_fds_python_growing),
    ('fds_cgroup_and_system_wide', t_fds_cgroup_and_system_wide),
]
