# SPDX-License-Identifier: MIT
"""Who holds leaked Python objects, from outside: the chain objgraph's
find_backref_chain would draw, for each way a leak is held (module list,
dict cache, class registry, listeners' bound methods, closure cell,
gc.garbage, a running frame's local), on every interpreter here; the
process never left stopped, even when leaktrace is killed mid-pause; the
pause bounded; --holders in reports and on a snapshot."""

import json
import os
import re
import signal
import subprocess
import socket
import time
import urllib.request

import __main__ as h

PROG = os.path.join(h.SRC_PROGS, 'py_holders.py')
MODULE = 'py_holders_billing'
N = 2000
GARBAGE = 50
SAMPLES = 6


def start(ctx, exe, n=N, garbage=GARBAGE, name='py_holders'):
    t = ctx.target([exe, PROG, str(n), str(garbage)], name)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for line in t.out_lines:
            if line.startswith('ready '):
                return t, json.loads(line[len('ready '):])
        if t.poll() is not None:
            raise h.Fail('%s exited early: %s' % (name, ' | '.join(t.err_lines[-3:])))
        time.sleep(0.1)
    raise h.Fail('%s never got ready' % name)


def holders_cmd(ctx, args, timeout=120):
    r = subprocess.run([ctx.args.leaktrace, 'holders'] + args, capture_output=True, text=True,
                       timeout=timeout)
    return r


def state_of(pid):
    with open('/proc/%d/stat' % pid) as f:
        return f.read().rsplit(')', 1)[1].split()[0]


def expect_running(pid, what):
    """Not stopped: neither a group stop nor a ptrace stop."""
    st = state_of(pid)
    h.expect(st not in ('T', 't'), '%s: the process is left stopped (state %s)' % (what, st))


def only_chain(res, type_name, where):
    chains = [c for c in res['holders']['chains'] if c['type'] == type_name]
    h.expect(len(chains) == 1, '%s: %s: %d chains: %s' % (
        where, type_name, len(chains), [c['text'] for c in chains]))
    c = chains[0]
    h.expect(c['samples'] == c['sampled'] == SAMPLES and not c['conservative'],
             '%s: %s: %d of %d sampled (conservative %s): %s' % (
                 where, type_name, c['samples'], c['sampled'], c['conservative'], c['text']))
    return c


def expect_links(c, want, where):
    """want: (holder, how, key or None, index or None) per link, a key of
    '*' matching any; index 'n' meaning 0 <= index < N."""
    got = [(k['holder'], k['how'], k.get('key'), k.get('index')) for k in c['links']]
    ok = len(got) == len(want)
    for g, w in zip(got, want):
        ok = ok and g[0] == w[0] and g[1] == w[1]
        ok = ok and (w[2] is None and g[2] is None or w[2] == '*' and g[2] or g[2] == w[2]
                     or isinstance(w[2], re.Pattern) and g[2] and w[2].fullmatch(g[2]))
        ok = ok and (w[3] is None and g[3] is None or w[3] == 'n' and g[3] is not None and
                     0 <= g[3] < N or g[3] == w[3])
    h.expect(ok, '%s: links %r, want %r (%s)' % (where, got, want, c['text']))


def expect_root(c, want, where):
    r = c['root']
    bad = {k: (r.get(k), v) for k, v in want.items() if r.get(k) != v}
    h.expect(not bad, '%s: root %s: %r' % (where, r['text'], bad))


def check_cases(res, truth, where):
    """The chain of each case, link by link, and its root."""
    c = only_chain(res, 'InvoiceRecord', where)
    expect_links(c, [('list', 'index', None, 'n')], where)
    expect_root(c, {'kind': 'module', 'module': MODULE, 'name': '_AUDIT_TRAIL'}, where)
    h.expect(re.fullmatch(r'InvoiceRecord <- list\[\d+\] <- module %s: _AUDIT_TRAIL' % MODULE,
                          c['text']), '%s: text %r' % (where, c['text']))

    c = only_chain(res, 'CacheEntry', where)
    expect_links(c, [('dict', 'value', re.compile(r"'key-\d+'"), None)], where)
    expect_root(c, {'kind': 'module', 'module': MODULE, 'name': '_CACHE'}, where)

    c = only_chain(res, 'Registered', where)
    expect_links(c, [('list', 'index', None, 'n')], where)
    expect_root(c, {'kind': 'class', 'module': MODULE, 'class': 'Registry', 'name': 'items'}, where)

    c = only_chain(res, 'Listener', where)
    expect_links(c, [('method', 'self', None, None), ('list', 'index', None, 'n'),
                     ('Bus', 'attr', 'listeners', None)], where)
    expect_root(c, {'kind': 'module', 'module': MODULE, 'name': 'BUS'}, where)
    h.expect(c['links'][0]['text'] == 'method Listener.on_event.__self__',
             '%s: %r' % (where, c['links'][0]['text']))

    c = only_chain(res, 'Captured', where)
    expect_links(c, [('list', 'index', None, 'n'), ('cell', 'cell', None, None),
                     ('function', 'closure', None, 0)], where)
    expect_root(c, {'kind': 'module', 'module': MODULE, 'name': 'collect'}, where)
    h.expect(c['links'][2]['text'] == 'function make_collector.<locals>.collect.__closure__[0]',
             '%s: %r' % (where, c['links'][2]['text']))

    c = only_chain(res, 'Queued', where)
    expect_links(c, [('collections.deque', 'index', None, 'n')], where)
    expect_root(c, {'kind': 'module', 'module': MODULE, 'name': '_RECENT'}, where)

    c = only_chain(res, 'Seen', where)
    expect_links(c, [('set', 'element', None, None)], where)
    expect_root(c, {'kind': 'module', 'module': MODULE, 'name': '_SEEN'}, where)

    c = only_chain(res, 'Member', where)
    expect_links(c, [('list', 'index', None, 'n'), ('Pool', 'slot', 'members', None)], where)
    expect_root(c, {'kind': 'module', 'module': MODULE, 'name': 'POOL'}, where)

    c = only_chain(res, 'Garbage', where)
    h.expect(c['links'] and c['links'][0]['holder'] == 'list' and
             0 <= c['links'][0]['index'] < truth['garbage'], '%s: %s' % (where, c['text']))
    expect_root(c, {'kind': 'module', 'module': 'gc', 'name': 'garbage'}, where)

    c = only_chain(res, 'FrameHeld', where)
    expect_links(c, [('list', 'index', None, 'n')], where)
    want = {'kind': 'frame', 'function': 'serve', 'file': truth['file'], 'name': 'held'}
    # Thread ids are in the thread state from 3.11; the main thread's is the pid.
    if truth['minor'] >= 11:
        want['thread'] = truth['pid']
    expect_root(c, want, where)


TYPES = ['InvoiceRecord', 'CacheEntry', 'Registered', 'Listener', 'Captured', 'Queued', 'Seen',
         'Member', 'Garbage', 'FrameHeld']


def t_holders_every_python(ctx):
    """leaktrace holders -p PID --type ..., every interpreter found (Debian's static 3.11, pyenv 3.8-3.13, unstable's 3.14 and 3.15 static and shared): the exact chain of each way a leak is held (module list, dict cache, class registry, listeners' bound methods, closure cell, deque, set, __slots__, gc.garbage, frame local: container kind, index or key, module and global, class and attribute, frame and local), all samples alike; the GC state as gc says; the process paused within the bound and left running."""
    found = h.pythons_found()
    h.expect(len(found) >= 7, 'interpreters found: %r' % found)
    for name, exe in found:
        t, truth = start(ctx, exe, name=name)
        args = ['-p', str(truth['pid']), '--samples', str(SAMPLES), '--json']
        for ty in TYPES:
            args += ['--type', ty]
        r = holders_cmd(ctx, args)
        h.expect(r.returncode == 0, '%s: exit %d: %s' % (name, r.returncode, r.stderr.strip()))
        res = json.loads(r.stdout)
        hol = res['holders']
        h.expect(hol['ok'] and hol['consistent'] and len(hol['pause_ms']) == 1 and
                 0 < hol['pause_ms'][0] <= 200 + 20 and hol['changed'] == 0 and hol['unreached'] == 0,
                 '%s: %r' % (name, {k: v for k, v in hol.items() if k != 'chains'}))
        check_cases(res, truth, name)
        check_gc(res['gc'], truth, name)
        expect_running(truth['pid'], name)
        h.log('%s: %d objects read, paused %.1f ms' % (name, hol['objects'], hol['pause_ms'][0]))
        t.close_stdin()
        t.wait(10)


def t_holders_text_and_dot(ctx):
    """leaktrace holders in text and --dot: one line per chain as objgraph would draw it; the DOT graph has the holders as nodes, the links as labelled edges, and is accepted by graphviz."""
    t, truth = start(ctx, '/usr/bin/python3.11')
    dot = os.path.join(ctx.tmpdir(), 'h.dot')
    r = holders_cmd(ctx, ['-p', str(truth['pid']), '-t', 'InvoiceRecord', '-t', 'Captured',
                          '-n', '4', '--dot', dot])
    h.expect(r.returncode == 0, 'exit %d: %s' % (r.returncode, r.stderr))
    lines = r.stdout.splitlines()
    want = [r'pid %d, Python 3\.11' % truth['pid'],
            r'holders: \d+ objects read \(\d+ tracked by the GC, \d+ frames\), [\d.]+ ms; paused [\d.]+ ms',
            r'  InvoiceRecord <- list\[\d+\] <- module %s: _AUDIT_TRAIL  \(4 of 4 sampled\)' % MODULE,
            r'  Captured <- list\[\d+\] <- cell <- function make_collector\.<locals>\.collect\.__closure__\[0\] '
            r'<- module %s: collect  \(4 of 4 sampled\)' % MODULE,
            r'gc: automatic collection DISABLED \(gc\.disable\(\)\), debug flags 0x20 \(DEBUG_SAVEALL: '
            r'every unreachable object kept in gc\.garbage\)',
            r'  generation 0: \d+ of 700 to the next collection; \d+ collections, \d+ collected, 0 uncollectable',
            r'  generation 1: \d+ of 10 to the next collection; \d+ collections, \d+ collected, 0 uncollectable',
            r'  generation 2: \d+ of 10 to the next collection; \d+ collections, \d+ collected, 0 uncollectable',
            r'  gc\.garbage: %d objects \(Garbage %d\)' % (GARBAGE, GARBAGE)]
    h.expect(len(lines) == len(want) and all(re.fullmatch(w, l) for w, l in zip(want, lines)),
             'text:\n%s' % r.stdout)
    with open(dot) as f:
        text = f.read()
    h.expect('-> ' in text and 'label="list[' in text and
             'label="module %s: _AUDIT_TRAIL"' % MODULE in text, 'dot:\n%s' % text[:600])
    g = subprocess.run(['dot', '-Tsvg', dot], capture_output=True, text=True)
    h.expect(g.returncode == 0 and '<svg' in g.stdout, 'graphviz: %s' % g.stderr[:300])


def t_holders_bad_input(ctx):
    """leaktrace holders refuses with one line and a non-zero exit: no such pid, a process that is not Python, no --type, bad numbers; nothing is left stopped."""
    t = ctx.target(['sleep', '60'], 'sleep')
    cases = [
        (['-p', '12ab', '-t', 'X'], 2, 'bad pid'),
        (['-p', '4194303', '-t', 'X'], 1, 'no such process'),
        (['-p', str(t.pid), '-t', 'X'], 1, 'not a Python process'),
        (['-p', str(t.pid)], 2, 'needs -p PID and --type NAME'),
        (['-p', str(t.pid), '-t', 'X', '--samples', '0'], 2, '--samples takes'),
        (['-p', str(t.pid), '-t', 'X', '--pause-ms', 'x'], 2, '--pause-ms takes'),
    ]
    for args, rc, text in cases:
        r = holders_cmd(ctx, args)
        err = r.stderr.strip().splitlines()
        h.expect(r.returncode == rc and len(err) == 1 and text in err[0],
                 '%r: exit %d, stderr %r' % (args, r.returncode, r.stderr))
    expect_running(t.pid, 'sleep')


def t_holders_killed_mid_pause(ctx):
    """leaktrace killed (SIGKILL) while it holds a large heap still: the kernel lets the threads go, the process runs on."""
    t, truth = start(ctx, '/usr/bin/python3.11', n=300000, garbage=0, name='big')
    p = h.Proc([ctx.args.leaktrace, 'holders', '-p', str(truth['pid']), '-t', 'InvoiceRecord',
                '--pause-ms', '60000'], 'holders')
    stopped = False
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not stopped:
        stopped = state_of(truth['pid']) == 't'
        time.sleep(0.005)
    h.expect(stopped, 'never saw the process held still')
    p.popen.send_signal(signal.SIGKILL)
    p.popen.wait(10)
    time.sleep(0.5)
    expect_running(truth['pid'], 'after SIGKILL of leaktrace')
    # Still answering: it reads its stdin and exits at its end.
    t.close_stdin()
    h.expect(t.wait(10) is not None, 'the process did not run on after leaktrace was killed')


def t_holders_pause_bound(ctx):
    """A heap too big for the pause bound: the walk is cut at the bound and goes on with the process running, the chains are read again in a second short pause, and they are still exact."""
    t, truth = start(ctx, '/usr/bin/python3.11', n=200000, garbage=0, name='big')
    r = holders_cmd(ctx, ['-p', str(truth['pid']), '-t', 'InvoiceRecord', '-t', 'Captured',
                          '-n', str(SAMPLES), '--pause-ms', '20', '--json'])
    h.expect(r.returncode == 0, 'exit %d: %s' % (r.returncode, r.stderr))
    hol = json.loads(r.stdout)['holders']
    info = {k: v for k, v in hol.items() if k != 'chains'}
    h.expect(hol['ok'] and not hol['consistent'] and len(hol['pause_ms']) == 2 and
             hol['pause_ms'][0] <= 20 + 15 and hol['pause_ms'][1] <= 20 + 15 and
             hol['walk_ms'] > hol['pause_ms'][0], 'pauses: %r' % info)
    c = only_chain({'holders': hol}, 'InvoiceRecord', 'big')
    expect_root(c, {'kind': 'module', 'module': MODULE, 'name': '_AUDIT_TRAIL'}, 'big')
    expect_running(truth['pid'], 'big')
    h.log('walk %.0f ms, pauses %r ms' % (hol['walk_ms'], hol['pause_ms']))


GROW = os.path.join(h.SRC_PROGS, 'py_holders_grow.py')


def start_grow(ctx, exe, name):
    t = ctx.target([exe, GROW], name)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for line in t.out_lines:
            if line.startswith('ready '):
                return t, json.loads(line[len('ready '):])
        time.sleep(0.05)
    raise h.Fail('%s never got ready' % name)


def chains_at(hol, type_name, line, truth):
    where = '%s:%d' % (truth['file'], line)
    return [c for c in hol['chains'] if c['type'] == type_name and c['where'] == where]


def t_holders_in_reports(ctx):
    """leaktrace -p PID --holders, every interpreter found: each report samples the types growing most at the lines that made them and shows who holds them; a str cache (a dict of strings the collector does not track) is followed too; with --snapshot, leaktrace holders SNAPSHOT follows the same objects later."""
    found = h.pythons_found()
    for name, exe in found:
        t, truth = start_grow(ctx, exe, name)
        snap = os.path.join(ctx.tmpdir(), 'py.snap')
        p = ctx.lt(['-p', str(truth['pid']), '--holders', '--holders-samples', '5', '--snapshot', snap,
                    '--format', 'json', '2', '2'])
        h.expect(p.wait(90) == 0, '%s: leaktrace exit %s%s' % (name, p.popen.returncode, h.tail(p)))
        reports = [json.loads(l) for l in p.out_lines if l.startswith('{')]
        h.expect(len(reports) == 2, '%s: %d reports' % (name, len(reports)))
        for i, r in enumerate(reports):
            proc = [x for x in r['processes'] if x['pid'] == truth['pid']]
            h.expect(proc and 'holders' in proc[0].get('python', {}), '%s: report %d: no holders' % (name, i))
            hol = proc[0]['python']['holders']
            h.expect(hol['ok'] and hol['changed'] == 0, '%s: report %d: %r' % (
                name, i, {k: v for k, v in hol.items() if k != 'chains'}))
            rec = chains_at(hol, 'InvoiceRecord', truth['record'], truth)
            h.expect(len(rec) == 1 and rec[0]['samples'] == rec[0]['sampled'] == 5 and
                     re.fullmatch(r'InvoiceRecord <- list\[\d+\] <- module __main__: _AUDIT_TRAIL',
                                  rec[0]['text']),
                     '%s: report %d: InvoiceRecord chains %r' % (name, i, [(c['text'], c['where']) for c in hol['chains']]))
            names = chains_at(hol, 'str', truth['name'], truth)
            # Keys and values are made by two instructions of the line: two
            # places, each sampled alike.
            h.expect(names and all(c['samples'] == c['sampled'] == 5 for c in names) and
                     any('[' in c['text'] for c in names) and
                     # Keys and values are both made there: a dict holds either.
                     all(re.fullmatch(r"str <- dict(\[| key )'customer-\d+'\]? <- module __main__: _NAMES",
                                      c['text']) for c in names),
                     '%s: report %d: str chains %r' % (name, i, [(c['text'], c['where'], c['samples'], c['sampled'])
                                                                for c in hol['chains']]))
        r = holders_cmd(ctx, [snap, '--json'])
        h.expect(r.returncode == 0, '%s: holders SNAPSHOT: exit %d: %s' % (name, r.returncode, r.stderr))
        later = json.loads(r.stdout)['processes']
        h.expect(len(later) == 1 and later[0]['pid'] == truth['pid'], '%s: %r' % (name, later))
        rec = chains_at(later[0]['holders'], 'InvoiceRecord', truth['record'], truth)
        h.expect(len(rec) == 1 and rec[0]['samples'] == 5, '%s: from the snapshot: %r' % (
            name, [c['text'] for c in later[0]['holders']['chains']]))
        expect_running(truth['pid'], name)
        t.close_stdin()
        t.wait(10)
        # Gone: the snapshot's process is not followed, with one line.
        r = holders_cmd(ctx, [snap])
        h.expect(r.returncode == 1 and 'exited since the snapshot' in r.stderr and
                 len(r.stderr.strip().splitlines()) == 1, '%s: after exit: %d %r' % (
                     name, r.returncode, r.stderr))


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sk:
        sk.bind(('127.0.0.1', 0))
        return sk.getsockname()[1]


def garbage_types(truth):
    """What gc.garbage holds: the Garbage cycles, and before 3.11 each one's
    __dict__ as an object of its own."""
    want = [{'type': 'Garbage', 'objects': GARBAGE}]
    if truth['minor'] < 11:
        want.append({'type': 'dict', 'objects': GARBAGE})
    return want


def check_gc(gc, truth, where):
    h.expect(gc is not None, '%s: no gc state' % where)
    got = (gc['enabled'], gc['debug'], [g['threshold'] for g in gc['generations']],
           [{k: g[k] for k in ('collections', 'collected', 'uncollectable')} for g in gc['generations']],
           gc['garbage'], gc['garbage_types'])
    # 3.15's get_stats() also gives candidates and duration, not read.
    stats = [{k: g[k] for k in ('collections', 'collected', 'uncollectable')} for g in truth['stats']]
    want = (truth['enabled'], truth['debug'], truth['threshold'], stats, truth['garbage'],
            garbage_types(truth))
    h.expect(got == want, '%s: gc state %r, the process says %r' % (where, got, want))


def t_python_gc_state(ctx):
    """The garbage collector's state of every interpreter found, as gc.isenabled(), get_debug(), get_threshold(), get_stats() and gc.garbage say in the process (collection disabled, DEBUG_SAVEALL, 50 cycles saved): in JSON and text reports, and as Prometheus series on /metrics."""
    for name, exe in h.pythons_found():
        t, truth = start(ctx, exe, n=200, name=name)
        p = ctx.lt(['-p', str(truth['pid']), '--format', 'json', '1', '1'])
        h.expect(p.wait(60) == 0, '%s: exit %s%s' % (name, p.popen.returncode, h.tail(p)))
        r = json.loads([l for l in p.out_lines if l.startswith('{')][-1])
        proc = [x for x in r['processes'] if x['pid'] == truth['pid']]
        h.expect(proc and 'python' in proc[0], '%s: no Python process in the report' % name)
        check_gc(proc[0]['python']['gc'], truth, name)
        t.close_stdin()
        t.wait(10)
    t, truth = start(ctx, '/usr/bin/python3.11', n=200, name='text')
    p = ctx.lt(['-p', str(truth['pid']), '1', '1'])
    h.expect(p.wait(60) == 0, 'text: exit %s%s' % (p.popen.returncode, h.tail(p)))
    text = '\n'.join(p.out_lines)
    for line in ['    gc: automatic collection DISABLED (gc.disable()), debug flags 0x20 '
                 '(DEBUG_SAVEALL: every unreachable object kept in gc.garbage)',
                 '      gc.garbage: 50 objects (Garbage 50)']:
        h.expect(line in p.out_lines, 'text: no line %r in\n%s' % (line, text[-2000:]))
    port = free_port()
    p = ctx.lt(['-p', str(truth['pid']), '--serve', '127.0.0.1:%d' % port, '1'])
    body = ''
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and 'leaktrace_python_gc_garbage_objects' not in body:
        time.sleep(0.5)
        try:
            with urllib.request.urlopen('http://127.0.0.1:%d/metrics' % port, timeout=5) as resp:
                body = resp.read().decode()
        except OSError:
            pass
    labels = 'pid="%d",comm="python3.11",container=""' % truth['pid']
    for series in ['leaktrace_python_gc_enabled{%s} 0' % labels,
                   'leaktrace_python_gc_debug_flags{%s} 32' % labels,
                   'leaktrace_python_gc_garbage_objects{%s} 50' % labels,
                   'leaktrace_python_gc_threshold{%s,generation="0"} 700' % labels,
                   'leaktrace_python_gc_collections_total{%s,generation="2"} %d' % (
                       labels, truth['stats'][2]['collections']),
                   'leaktrace_python_gc_garbage_type_objects{%s,type="Garbage"} 50' % labels]:
        h.expect(series in body.splitlines(), '/metrics has no %r:\n%s' % (
            series, '\n'.join(l for l in body.splitlines() if 'python_gc' in l)))
    p.signal(signal.SIGTERM)
    p.wait(30)


SCENARIOS = [
    ('python_gc_state', t_python_gc_state),
    ('holders_in_reports', t_holders_in_reports),
    ('holders_every_python', t_holders_every_python),
    ('holders_text_and_dot', t_holders_text_and_dot),
    ('holders_bad_input', t_holders_bad_input),
    ('holders_killed_mid_pause', t_holders_killed_mid_pause),
    ('holders_pause_bound', t_holders_pause_bound),
]
