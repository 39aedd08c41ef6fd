#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Check the expected numbers of run_e2e.py against the test programs,
independently of leaktrace: valgrind for the heap, strace -k for mmap.

Usage: python3 tests/e2e/verify_progs.py [-v]

Builds tests/progs/*.c into a temporary directory, then:
  * leaky (built with -Dpvalloc=valloc: valgrind 3.19 aborts on pvalloc;
    both count the requested size) under valgrind: each leak_via_* loss
    record (definitely/possibly lost or still reachable) must equal
    LEAKY_LEAKS, the allocation must be on its "site:" line, the total in use
    at exit must be LEAKY_TOTAL_BYTES in LEAKY_TOTAL_ALLOCS blocks;
  * forker (valgrind --trace-children=yes): parent, child A, exec'd leaky;
  * mmap_leaky: the 1 MiB heap block under valgrind, and the anonymous
    mmap/munmap calls under strace -k, attributed to the innermost
    mmap_leaky function, must leave MMAP_REGIONS.
Uprobes (a running leaktrace) put breakpoints into libc that valgrind trips
over: run this with no leaktrace running. Prints "OK" or the mismatches.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_e2e as E  # noqa: E402

CFLAGS = ['-O0', '-g', '-fno-omit-frame-pointer', '-Wall', '-Wextra', '-Werror']
LEAK_KINDS = ('Leak_DefinitelyLost', 'Leak_PossiblyLost', 'Leak_StillReachable', 'Leak_IndirectlyLost')
ALLOCATOR = re.compile(r'^(malloc|calloc|realloc|reallocarray|memalign|posix_memalign|aligned_alloc|'
                       r'valloc|pvalloc|free)$')
VERBOSE = '-v' in sys.argv


def build(out, name, extra=()):
    exe = os.path.join(out, name)
    subprocess.run(['gcc'] + CFLAGS + list(extra) + ['-o', exe, os.path.join(E.SRC_PROGS, name + '.c')],
                   check=True)
    return exe


def valgrind(out, argv, children=False):
    """{pid: [(function, file, line, bytes, blocks)]} of leak records, per process."""
    xmldir = tempfile.mkdtemp(dir=out)
    cmd = ['valgrind', '--leak-check=full', '--show-leak-kinds=all', '--run-libc-freeres=no',
           '--xml=yes', '--xml-file=%s/%%p.xml' % xmldir]
    if children:
        cmd.append('--trace-children=yes')
    r = subprocess.run(cmd + argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=600)
    if r.returncode < 0:
        sys.exit('valgrind killed by signal %d (is a leaktrace running? its uprobes trip valgrind)'
                 % -r.returncode)
    result = {}
    for f in sorted(os.listdir(xmldir)):
        root = ET.parse(os.path.join(xmldir, f)).getroot()
        pid = int(root.findtext('pid'))
        recs = []
        for err in root.iter('error'):
            if err.findtext('kind') not in LEAK_KINDS:
                continue
            xw = err.find('xwhat')
            nbytes, blocks = int(xw.findtext('leakedbytes')), int(xw.findtext('leakedblocks'))
            frames = err.find('stack').findall('frame')
            user = [fr for fr in frames if fr.findtext('fn') and not ALLOCATOR.match(fr.findtext('fn'))
                    and 'vg_replace' not in (fr.findtext('file') or '')]
            fr = user[0] if user else None
            recs.append((fr.findtext('fn') if fr is not None else None,
                         fr.findtext('file') if fr is not None else None,
                         int(fr.findtext('line') or 0) if fr is not None else 0, nbytes, blocks))
        result[pid] = (root.findtext('args/argv/exe') or '', recs)
    return result


def compare(what, recs, expected, src):
    problems = []
    sites = E.source_sites(src)
    got = {}
    for fn, file, line, nbytes, blocks in recs:
        b, n = got.get(fn, (0, 0))
        got[fn] = (b + nbytes, n + blocks)
        if fn in expected and (file != src or line != sites.get(fn)):
            problems.append('%s %s: allocated at %s:%s, site marker says %s' % (what, fn, file, line, sites.get(fn)))
    for fn, (count, size) in expected.items():
        if got.get(fn) != (count * size, count):
            problems.append('%s %s: valgrind %s, expected %s' % (what, fn, got.get(fn), (count * size, count)))
    extra = set(got) - set(expected)
    if extra:
        problems.append('%s: unexpected leaks in %s' % (what, sorted(extra)))
    if VERBOSE:
        print('%s: %s' % (what, got))
    return problems


def strace_mmap(exe):
    """{function: (regions, bytes)} left mapped (anonymous), from strace -k."""
    r = subprocess.run(['strace', '-k', '-e', 'trace=mmap,munmap', exe, 'run'],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)
    calls = []  # [syscall line, innermost function of exe, made inside the allocator]
    for line in r.stderr.decode(errors='replace').splitlines():
        if re.match(r'^(mmap|munmap)\(', line):
            calls.append([line, None, False])
            continue
        if not calls:
            continue
        m = re.search(r'libc\.so\.6\((\w+)\+', line)
        if m and calls[-1][1] is None and ALLOCATOR.match(m.group(1)):
            calls[-1][2] = True  # e.g. malloc's own mmap for a big block
        m = re.search(r'%s\((\w+)\+' % re.escape(os.path.basename(exe)), line)
        if m and calls[-1][1] is None:
            calls[-1][1] = m.group(1)
    regions = {}  # start -> [end, function]
    for line, fn, in_allocator in calls:
        m = re.match(r'^mmap\(NULL, (\d+), [^,]+, ([^,]+), (-?\d+), 0\) = (0x[0-9a-f]+)', line)
        if m and 'MAP_ANONYMOUS' in m.group(2) and fn and not in_allocator:
            start = int(m.group(4), 16)
            regions[start] = [start + int(m.group(1)), fn]
            continue
        m = re.match(r'^munmap\((0x[0-9a-f]+), (\d+)\)\s+= 0', line)
        if m:
            lo = int(m.group(1), 16)
            hi = lo + int(m.group(2))
            for start in list(regions):
                end, fn2 = regions[start]
                if end <= lo or start >= hi:
                    continue
                del regions[start]
                if start < lo:
                    regions[start] = [lo, fn2]
                if end > hi:
                    regions[hi] = [end, fn2]
    out = {}
    for start, (end, fn) in regions.items():
        n, b = out.get(fn, (0, 0))
        out[fn] = (n + 1, b + end - start)
    return out


def main():
    for tool in ('gcc', 'valgrind', 'strace'):
        if not shutil.which(tool):
            sys.exit('%s not found' % tool)
    others = E.other_tracers('')
    if others:
        print('warning: leaktrace running (pids %s): its uprobes make valgrind fail' %
              ', '.join(map(str, others)))
    out = tempfile.mkdtemp(prefix='lt-verify-')
    problems = []
    try:
        leaky = build(out, 'leaky', ['-Dpvalloc=valloc'])
        forker = build(out, 'forker')
        mmap_leaky = build(out, 'mmap_leaky')

        res = valgrind(out, [leaky, 'run', '2000'])
        (exe, recs), = res.values()
        problems += compare('leaky', recs, E.LEAKY_LEAKS, 'leaky.c')
        total = (sum(r[3] for r in recs), sum(r[4] for r in recs))
        if total != (E.LEAKY_TOTAL_BYTES, E.LEAKY_TOTAL_ALLOCS):
            problems.append('leaky: in use at exit %s, expected %s' % (
                total, (E.LEAKY_TOTAL_BYTES, E.LEAKY_TOTAL_ALLOCS)))

        res = valgrind(out, [forker, leaky, os.path.join(out, 'pids')], children=True)
        with open(os.path.join(out, 'pids')) as f:
            info = dict(kv.split('=') for kv in f.read().split())
        if info['statusA'] != '0' or info['statusB'] != '0':
            problems.append('forker children failed under valgrind: %s (a leaktrace running?)' % info)
        expect_by_pid = {int(info['parent']): ('forker parent', E.FORKER_PARENT, 'forker.c'),
                         int(info['childA']): ('forker child A', E.FORKER_CHILD, 'forker.c'),
                         int(info['childB']): ("forker exec'd leaky", E.LEAKY_LEAKS, 'leaky.c')}
        for pid, (what, expected, src) in expect_by_pid.items():
            if pid not in res:
                problems.append('%s: no valgrind output' % what)
                continue
            problems += compare(what, res[pid][1], expected, src)

        res = valgrind(out, [mmap_leaky, 'run'])
        (exe, recs), = res.values()
        problems += compare('mmap_leaky heap', recs, E.MMAP_HEAP, 'mmap_leaky.c')
        regions = strace_mmap(mmap_leaky)
        if VERBOSE:
            print('mmap_leaky regions: %s' % regions)
        for fn, (count, size) in E.MMAP_REGIONS.items():
            if regions.get(fn) != (count, count * size):
                problems.append('mmap_leaky %s: strace %s, expected %s' % (fn, regions.get(fn), (count, count * size)))
        extra = set(regions) - set(E.MMAP_REGIONS)
        if extra:
            problems.append('mmap_leaky: unexpected regions left by %s' % sorted(extra))
    finally:
        shutil.rmtree(out, ignore_errors=True)
    for p in problems:
        print('MISMATCH ' + p)
    print('OK' if not problems else '%d mismatches' % len(problems))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
