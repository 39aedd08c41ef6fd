# SPDX-License-Identifier: MIT
"""Python: every object counted at its true size on the line that made it
(tests/progs/py_cache_leak.py against tracemalloc in the same process), short
programs with their names, native blocks made with the GIL released, and one
moment for the final report of a program run to its end."""

import json
import os
import time

import __main__ as h

CACHE_LEAK = os.path.join(h.SRC_PROGS, 'py_cache_leak.py')
SHORT = os.path.join(h.SRC_PROGS, 'py_short.py')
# Every object traps: 2,000 entries per cache keep a run near 10 s.
N = 2000
# Freed objects a free list may keep (and so a churn line may still hold).
CHURN_SLACK = 2


TABLE = os.path.join(h.SRC_PROGS, 'py_allocator_table.py')
DEBIAN = '/usr/bin/python3.11'


def all_objects_pythons():
    """(name, exe) of every interpreter here: pyenv's call their object
    allocator; Debian's python3.11 inlines it and is pointed at it."""
    return h.pythons_found()


def tagged_line(lines, tag):
    for line in lines:
        if line.startswith(tag + ' '):
            return json.loads(line[len(tag) + 1:])
    raise h.Fail('the program printed no %s line' % tag)


def python_proc(report, pid=None):
    procs = [p for p in report['processes'] if 'python' in p and (pid is None or p['pid'] == pid)]
    h.expect(len(procs) == 1, '%d Python processes in the report' % len(procs))
    return procs[0]


def by_line(proc, path):
    """{line: (blocks, bytes)} of the Python stacks whose innermost frame is
    in the file path (one per line with --group lineno)."""
    out = {}
    for s in proc['python']['stacks']:
        if s['frames'] and s['frames'][0]['file'] == path:
            n, b = out.get(s['frames'][0]['line'], (0, 0))
            out[s['frames'][0]['line']] = (n + s['allocs'], b + s['bytes'])
    return out


def check_cache_leak(name, proc, truth, minor, follows_reuse=True):
    h.expect(proc['python']['counted'] == 'all', '%s: counted %r' % (name, proc['python']['counted']))
    got = by_line(proc, truth['file'])
    traced = {k: tuple(v) for k, v in truth['traced'].items()}
    leaking = truth['leaking']
    # 3.8 has no _Py_NewReference function to follow objects taken from
    # free lists: there a reused tuple stays on the line that first made it
    # (bytearray's argument tuple, kept as a closure's cells tuple).
    # Debian's 3.11 inlines it everywhere that matters.
    moved = ('closure', 'bytearray') if minor == 8 or not follows_reuse else ()
    for site in leaking:
        if site in moved:
            continue
        want = traced[site]
        h.expect(want[0] >= N - 20, '%s: tracemalloc counts %r at %s' % (name, want, site))
        have = got.get(truth['sites'][site], (0, 0))
        h.expect(have == want, '%s: line %d (%s): leaktrace %d blocks, %d bytes; tracemalloc %d, %d' % (
            name, truth['sites'][site], site, have[0], have[1], want[0], want[1]))
    if moved:
        have = [got.get(truth['sites'][s], (0, 0)) for s in moved]
        want = [traced[s] for s in moved]
        h.expect(sum(x[0] for x in have) == sum(x[0] for x in want) and
                 sum(x[1] for x in have) == sum(x[1] for x in want),
                 '%s: lines %s hold %r, tracemalloc %r' % (name, moved, have, want))
    for site in truth['sites']:
        if site in leaking:
            continue
        have = got.get(truth['sites'][site], (0, 0))
        h.expect(have[0] <= CHURN_SLACK, '%s: churn line %d (%s) holds %d blocks' % (
            name, truth['sites'][site], site, have[0]))
    types = {t['type']: t for t in proc['types']}
    # int: the cache's, and each loop index past the small-int cache, which
    # its closure's cell keeps alive. 3.15's bytearray keeps a bytes object.
    # Free lists may hand out a few objects made before tracing began: up
    # to 100 ints from 3.14 on, whose blocks no one saw allocated.
    ints = 2 * N - 1 - truth['small_int_max']
    for tname, n, slack in (('str', N, 20), ('bytes', 2 * N if minor >= 15 else N, 20),
                            ('int', ints, 100 if minor >= 14 else 20), ('bytearray', N, 20),
                            ('function', N, 20), ('method', N, 20), ('cell', N, 20), ('float', N, 20)):
        t = types.get(tname)
        h.expect(t is not None and n - slack <= t['objects'] <= n + n // 50,
                 '%s: type %s: %r, expected %d (-%d, +2 %%)' % (name, tname, t, n, slack))
    h.expect('(unread)' not in types, '%s: blocks left unread: %r' % (name, types.get('(unread)')))


def t_python_every_object(ctx):
    """Every interpreter (Debian 3.11, pyenv 3.8-3.13, Debian's 3.14 and 3.15 static and shared), -p: str/bytes/int/float/bytearray caches, closures and bound methods exactly as tracemalloc counts each line in-process; churn lines empty; types counted."""
    found = all_objects_pythons()
    h.expect(found, 'no CPython 3.8-3.15 found')
    print('  Pythons: %s' % ', '.join(n for n, _ in found), flush=True)
    for name, exe in found:
        t = ctx.target([exe, CACHE_LEAK, str(N)], name)
        if not t.expect_line('ready', 30):
            raise h.Fail('%s: py_cache_leak did not print "ready"%s' % (name, h.tail(t)))
        p = h.attach_pid(ctx, ['-T', '0', '-o', '0', '--group', 'lineno', '--format', 'json',
                               '-p', str(t.pid)])
        h.trigger(t)
        truth = tagged_line(t.out_lines, 'CACHELEAK')
        rc = h.interrupt(p)
        h.expect(rc == 0, '%s: exit status %s%s' % (name, rc, h.tail(p)))
        proc = python_proc(h.final_report(p), t.pid)
        check_cache_leak(name, proc, truth, int(truth['version'].split('.')[1]),
                         not name.startswith('debian'))
        t.send('exit\n')
        t.wait(10)


def tables_line(t, want):
    """Ask py_allocator_table for its tables; the want-th TABLES line."""
    h.expect(t.send('go\n'), '%s: cannot write to it' % t.name)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        lines = [line for line in list(t.out_lines) if line.startswith('TABLES ')]
        if len(lines) >= want:
            return json.loads(lines[want - 1][len('TABLES '):])
        time.sleep(0.05)
    raise h.Fail('%s printed no TABLES line%s' % (t.name, h.tail(t)))


def inlined_allocator_run(ctx, name, exe, with_tracemalloc):
    t = ctx.target([exe, TABLE] + (['tracemalloc'] if with_tracemalloc else []), 'py_allocator_table')
    h.expect(t.expect_line('ready', 30), '%s: py_allocator_table did not start%s' % (name, h.tail(t)))
    before = tables_line(t, 1)
    h.expect(before['obj'] == before['mem'], '%s: the domains differ at start: %r' % (name, before))
    p = h.attach_pid(ctx, ['-T', '0', '-o', '0', '--group', 'lineno', '--format', 'json',
                           '-p', str(t.pid)])
    during = tables_line(t, 2)
    for dom in ('obj', 'mem'):
        for fn, was, now in zip(('malloc', 'calloc', 'realloc', 'free'), before[dom], during[dom]):
            # tracemalloc's hooks stay in place; the tables they call change.
            h.expect(now == was if with_tracemalloc else was - 16 < now < was,
                     '%s: %s %s: %#x while traced, %#x before' % (name, dom, fn, now, was))
    if before['tracer'] is not None or during['tracer'] is not None:
        # 3.13+: tracemalloc's own tracer entered past its endbr64 (or
        # through no-ops before it), or code that calls no one.
        was, now = before['tracer'], during['tracer']
        h.expect(now and now != was and (not was or was < now <= was + 4 or was - 16 < now < was),
                 '%s: tracer %r while traced, %r before' % (name, now, was))
    rc = h.interrupt(p)
    h.expect(rc == 0, '%s: exit status %s%s' % (name, rc, h.tail(p)))
    proc = python_proc(h.final_report(p), t.pid)
    h.expect(proc['python']['counted'] == 'all', '%s: counted %r' % (name, proc['python']['counted']))
    types = {x['type']: x['objects'] for x in proc['types']}
    h.expect(1000 <= types.get('str', 0) <= 1020, '%s: str objects: %r' % (name, types.get('str')))
    after = tables_line(t, 3)
    h.expect(after['obj'] == before['obj'] and after['mem'] == before['mem'] and
             after['tracer'] == before['tracer'],
             '%s: tables after tracing %r, before %r' % (name, after, before))
    h.expect(after['kept'] == 3000, '%s: it kept %r strings' % (name, after['kept']))
    t.send('exit\n')
    h.expect(t.wait(10) == 0, '%s: py_allocator_table exit status %s%s' % (name, t.poll(), h.tail(t)))


def t_python_inlined_allocator(ctx):
    """Builds that inline their allocator (Debian's 3.11, 3.14 and 3.15 executables), -p, with and without tracemalloc: while traced, both allocator tables call the same functions through the no-ops just before them and the reference tracer leads to a probe; every str is counted on its line; afterwards tables and tracer are as they were and the process runs on."""
    # (Debian's shared libpython3.14 and 3.15 call their allocator.)
    found = [(n, exe) for n, exe in all_objects_pythons()
             if n == 'debian-3.11' or (n.startswith('sid-') and not n.endswith('-shared'))]
    if not found:
        raise h.Skip('neither Debian python3.11 nor 3.14/3.15 here')
    print('  Pythons: %s' % ', '.join(n for n, _ in found), flush=True)
    for name, exe in found:
        for with_tracemalloc in (False, True):
            inlined_allocator_run(ctx, name + (' (tracemalloc)' if with_tracemalloc else ''), exe,
                                  with_tracemalloc)


def t_python_objects_gc_option(ctx):
    """--python-objects gc on pyenv 3.12: only the GC allocation entry points, said in text and JSON; str not counted, instances exact."""
    found = [exe for n, exe in all_objects_pythons() if n.startswith('pyenv-3.12')]
    if not found:
        raise h.Skip('pyenv 3.12 not installed')
    p = h.run_to_end(ctx, ['-T', '0', '--python-objects', 'gc', '--group', 'lineno', '--format', 'json',
                           '-c', '%s %s 2000' % (found[0], SHORT)])
    h.expect(p.popen.returncode == 0, 'exit status %s%s' % (p.popen.returncode, h.tail(p)))
    truth = tagged_line(p.out_lines, 'SHORT')
    proc = python_proc(h.final_report(p))
    h.expect(proc['python']['counted'] == 'gc', 'counted %r' % proc['python']['counted'])
    got = by_line(proc, truth['file'])
    h.expect(got.get(truth['sites']['instance'], (0, 0))[0] == 2000,
             'instance line: %r' % (got.get(truth['sites']['instance']),))
    h.expect(truth['sites']['str'] not in got, 'str line counted with --python-objects gc: %r' % got)
    t = h.run_to_end(ctx, ['-T', '1', '--python-objects', 'gc', '-c', '%s %s 10' % (found[0], SHORT)])
    h.expect(any('--python-objects gc:' in line for line in t.out_lines),
             'the text report does not say what was counted: %s' % t.out_lines[:6])


def check_short(name, p, pid=None):
    truth = tagged_line(p.out_lines, 'SHORT')
    n = truth['n']
    proc = python_proc(h.final_report(p), pid)
    py = proc['python']
    h.expect(py['at_shutdown'], '%s: not counted at the start of shutdown' % name)
    types = {t['type']: t for t in proc['types']}
    h.expect(types.get('Short', {}).get('objects') == n, '%s: Short %r' % (name, types.get('Short')))
    for bad in ('?', '(unread)'):
        h.expect(bad not in types, '%s: %d objects of type %r' % (name, types.get(bad, {}).get('objects', 0), bad))
    # Its tracebacks keep their names to the outermost frame after it is
    # gone, and so do its imports' (module and class bodies are gone by the
    # time they are read: BPF copies code objects as they first run, and a
    # copy answers for its address until the object's free).
    def frames(stacks):
        return [(s['allocs'], [f['func'] for f in s['frames']][:4]) for s in stacks[:4]]
    unnamed = [s for s in py['stacks'] if any(f['func'] == '?' for f in s['frames'])]
    own = [s for s in unnamed if s['frames'][0]['file'] == truth['file']]
    h.expect(not own, '%s: unnamed frames in its own tracebacks: %s' % (name, frames(own)))
    total, bad = sum(s['allocs'] for s in py['stacks']), sum(s['allocs'] for s in unnamed)
    h.expect(bad == 0, '%s: %d of %d blocks with unnamed frames: %s' % (
        name, bad, total, frames(unnamed)))
    got = by_line(proc, truth['file'])
    strings = got.get(truth['sites']['str'], (0, 0))
    h.expect(strings[0] == n, '%s: str line holds %r, want %d blocks' % (name, strings, n))
    # Freed by an exit handler during shutdown: still held when it began.
    native = [s for s in proc['stacks']
              if any(f.get('lang') == 'python' and f['file'] == truth['file'] and
                     f['line'] == truth['sites']['native'] for f in s['frames'])]
    h.expect(native and sum(s['allocs'] for s in native) == n and
             sum(s['bytes'] for s in native) == n * truth['block'],
             '%s: native blocks at the ctypes line: %r' % (name, [(s['allocs'], s['bytes']) for s in native]))
    mallocs = [s for s in native if any('libffi' in (f.get('module') or '') for f in s['frames'][:8])]
    h.expect(mallocs, '%s: the ctypes blocks have no native frames into libffi' % name)


def t_python_short_program(ctx):
    """-c, every interpreter found (3.8-3.15): a program that leaks and exits within a fraction of a second keeps its names; native blocks made with the GIL released (ctypes) carry their Python line; blocks an exit handler frees are still held at the start of shutdown."""
    found = all_objects_pythons()
    h.expect(found, 'no pyenv CPython found')
    for name, exe in found:
        p = h.run_to_end(ctx, ['-T', '0', '--native', '--format', 'json', '-c',
                               '%s %s 2000' % (exe, SHORT)])
        h.expect(p.popen.returncode == 0, '%s: exit status %s%s' % (name, p.popen.returncode, h.tail(p)))
        # It was stopped while its objects were read: resumed, it ran to
        # its end (run_to_end would time out otherwise).
        check_short(name, p)


SCENARIOS = [
    ('python_every_object', t_python_every_object),
    ('python_inlined_allocator', t_python_inlined_allocator),
    ('python_short_program', t_python_short_program),
    ('python_objects_gc_option', t_python_objects_gc_option),
]
