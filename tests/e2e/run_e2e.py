#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""End-to-end tests of leaktrace (Python 3 standard library only).

Usage (as root):
    python3 tests/e2e/run_e2e.py --leaktrace build/leaktrace \
        --progs build/tests/progs [-k NAMEFILTER] [-v]

Every scenario runs build/leaktrace against the test programs of
tests/progs (leaky, mmap_leaky, forker), parses the NDJSON reports and
compares them with the exact numbers below, which were checked independently
with valgrind. Each scenario prints "PASS name" or "FAIL name: reason" (or
"SKIP name: reason"); the last line is "N passed, N failed" and the exit
status is 1 when anything failed.

Every process the harness starts runs in its own session; whatever is still
running when a scenario ends is stopped with SIGINT, then SIGKILL. After each
scenario the harness checks that no process of a leaktrace session is left
and that no uprobe (uprobe_multi or perf_event) BPF link created during the
scenario survives (links held by processes the harness did not start, e.g. a
leaktrace someone else runs at the same time, are ignored).

How the leaks are triggered in the attach scenarios: "leaky wait" writes
"ready" on stdout, then waits for a line on its stdin (SIGUSR1 works too);
the harness writes "go" once leaktrace has attached (its bpf_link /
perf_event file descriptors stop changing), waits for "leaked", waits
longer than the default 500 ms age filter, then asks leaktrace for its report.
A line "exit" makes leaky exit normally while keeping its leaks.

The expected numbers (LEAKY_LEAKS, MMAP_REGIONS, ...) are checked against
valgrind and strace -k by tests/e2e/verify_progs.py; run it after changing a
test program (with no leaktrace running: uprobes upset valgrind).
"""

import argparse
import glob
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
SRC_PROGS = os.path.normpath(os.path.join(HERE, '..', 'progs'))
PAGE = os.sysconf('SC_PAGE_SIZE')

# ---------------------------------------------------------------------------
# Expected numbers. function -> (blocks, requested bytes per block)
# ---------------------------------------------------------------------------

# tests/progs/leaky.c (valgrind: "in use at exit: 97,800 bytes in 66 blocks")
LEAKY_LEAKS = {
    'leak_via_malloc': (11, 1000),          # 11000
    'leak_via_calloc': (3, 1100),           # calloc(11, 100): 3300
    'leak_via_realloc': (7, 1200),          # realloc(NULL, 1200): 8400
    'leak_via_realloc_grow': (2, 1300),     # malloc 40 -> 300 -> 1300: 2600
    'leak_via_reallocarray': (5, 1400),     # reallocarray(NULL, 14, 100): 7000
    'leak_via_posix_memalign': (9, 1500),   # 13500
    'leak_via_aligned_alloc': (4, 1600),    # 6400
    'leak_via_memalign': (6, 1700),         # 10200
    'leak_via_valloc': (8, 1800),           # 14400
    'leak_via_pvalloc': (10, 1900),         # 19000 (requested size)
    'leak_via_failed_realloc': (1, 2000),   # 2000, realloc(p, huge) failed
}
LEAKY_TOTAL_BYTES = sum(c * s for c, s in LEAKY_LEAKS.values())   # 97800
LEAKY_TOTAL_ALLOCS = sum(c for c, _ in LEAKY_LEAKS.values())      # 66
LEAKY_CALLERS = ['run_leaks', 'do_everything', 'main']  # frames[1], then in order
LEAKY_CHURN = ['churn_flat', 'churn_inner', 'churn_middle', 'churn_outer', 'run_churn']
LEAKY_NOCOUNT = ['nocount_realloc_chain', 'nocount_realloc_null', 'nocount_realloc_zero',
                 'nocount_failed_allocs', 'nocount_free_null', 'run_nocount']
LEAKY_CHURN_PAIRS = 200000  # leaky's default
SYSTEM_WIDE_CHURN = 50000   # fewer pairs where every process is traced (time)

# tests/progs/mmap_leaky.c
MMAP_REGIONS = {
    'leak_mmap_small': (3, 3 * PAGE),
    'leak_mmap_large': (2, 16 * PAGE),
    'leak_mmap_partial': (1, 5 * PAGE),  # 8 pages mapped, last 3 unmapped
}
MMAP_TOTAL_BYTES = sum(c * s for c, s in MMAP_REGIONS.values())
MMAP_TOTAL_REGIONS = sum(c for c, _ in MMAP_REGIONS.values())
MMAP_HEAP = {'leak_big_malloc': (1, 1024 * 1024)}
MMAP_CALLERS = ['run_all', 'main']
MMAP_NOCOUNT = ['nocount_mmap_unmapped', 'anon_map', 'nocount_file_mmap',
                'nocount_big_malloc_freed']

# tests/progs/forker.c
FORKER_CHILD = {'forker_child_leak': (4, 2300)}    # 9200, in child A
FORKER_PARENT = {'forker_parent_leak': (3, 2200)}  # 6600, in the parent
FORKER_CALLERS = ['main']

DEFAULT_TOP = 10

VERBOSE = False
_T0 = time.monotonic()


def log(msg):
    if VERBOSE:
        print('  [%7.2f] %s' % (time.monotonic() - _T0, msg), flush=True)


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------

class Fail(Exception):
    pass


class Skip(Exception):
    pass


def expect(cond, msg):
    if not cond:
        raise Fail(msg)


def source_sites(name):
    """{function: line} from the "/* site: function */" markers of a test program."""
    path = os.path.join(SRC_PROGS, name)
    sites = {}
    try:
        with open(path) as f:
            for no, line in enumerate(f, 1):
                m = re.search(r'/\*\s*site:\s*(\w+)\s*\*/', line) or \
                    re.search(r'#\s*site:\s*(\w+)\s*$', line)
                if m:
                    sites[m.group(1)] = no
    except OSError:
        return None
    return sites


def proc_stat(pid):
    """(comm, ppid, pgrp, session) of a process, or None."""
    try:
        with open('/proc/%d/stat' % pid, 'rb') as f:
            data = f.read().decode('utf-8', 'replace')
    except OSError:
        return None
    lp, rp = data.find('('), data.rfind(')')
    fields = data[rp + 2:].split()
    try:
        return data[lp + 1:rp], int(fields[1]), int(fields[2]), int(fields[3])
    except (IndexError, ValueError):
        return None


def all_pids():
    for d in os.listdir('/proc'):
        if d.isdigit():
            yield int(d)


def session_members(sid):
    out = []
    for pid in all_pids():
        st = proc_stat(pid)
        if st and st[3] == sid and st[0] != '' and not is_zombie(pid):
            out.append((pid, st[0]))
    return out


def is_zombie(pid):
    try:
        with open('/proc/%d/stat' % pid, 'rb') as f:
            data = f.read().decode('utf-8', 'replace')
        return data[data.rfind(')') + 2:].startswith('Z')
    except OSError:
        return True


def pid_alive(pid):
    return os.path.exists('/proc/%d' % pid) and not is_zombie(pid)


def probe_fds(pid):
    """Number of bpf_link and perf_event descriptors a process holds (-1: gone)."""
    n = 0
    try:
        fds = os.listdir('/proc/%d/fd' % pid)
    except OSError:
        return -1
    for fd in fds:
        try:
            target = os.readlink('/proc/%d/fd/%s' % (pid, fd))
        except OSError:
            continue
        if target in ('anon_inode:bpf_link', 'anon_inode:[perf_event]'):
            n += 1
    return n


def uprobe_fds(pid):
    """Perf event descriptors a leaktrace holds: one per uprobe."""
    n = 0
    for fd in os.listdir('/proc/%d/fd' % pid):
        try:
            n += os.readlink('/proc/%d/fd/%s' % (pid, fd)) == 'anon_inode:[perf_event]'
        except OSError:
            pass
    return n


def wait_probes(pid, above=0, min_wait=0.0, max_wait=8.0, settle=0.5):
    """Wait until `pid` holds more than `above` probe descriptors and the number
    has been stable for `settle` seconds (at least min_wait, at most max_wait).
    Returns the final count."""
    start = time.monotonic()
    last, since = None, time.monotonic()
    while True:
        now = time.monotonic()
        n = probe_fds(pid)
        if n != last:
            last, since = n, now
        elapsed = now - start
        if n < 0:
            return n
        if elapsed >= max_wait:
            log('pid %d holds %d probe fds after %.2fs (gave up waiting)' % (pid, n, elapsed))
            return n
        if elapsed >= min_wait and n > above and now - since >= settle:
            log('pid %d holds %d probe fds after %.2fs' % (pid, n, elapsed))
            return n
        time.sleep(0.05)


# ---------------------------------------------------------------------------
# BPF links (bpftool link list) and their owners (/proc/PID/fdinfo)
# ---------------------------------------------------------------------------

UPROBE_LINK_TYPES = ('uprobe_multi', 12, '12', 'perf_event', 'perf')


def list_probe_links():
    """{link id: type} of uprobe_multi and perf_event links, or None without bpftool."""
    bpftool = shutil.which('bpftool') or ('/usr/sbin/bpftool' if os.path.exists('/usr/sbin/bpftool') else None)
    if not bpftool:
        return None
    try:
        r = subprocess.run([bpftool, '-j', 'link', 'list'], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=20)
        links = json.loads(r.stdout.decode() or '[]')
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None
    return {lk['id']: lk.get('type') for lk in links
            if isinstance(lk, dict) and lk.get('type') in UPROBE_LINK_TYPES}


def link_owners(ids):
    """{link id: [pid, ...]} for the given ids, from /proc/*/fdinfo."""
    owners = {i: [] for i in ids}
    for pid in all_pids():
        try:
            fds = os.listdir('/proc/%d/fdinfo' % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                with open('/proc/%d/fdinfo/%s' % (pid, fd)) as f:
                    info = f.read()
            except OSError:
                continue
            m = re.search(r'^link_id:\s*(\d+)', info, re.M)
            if m and int(m.group(1)) in owners:
                owners[int(m.group(1))].append(pid)
    return owners


# ---------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------

class Proc:
    """A child process in its own session, stdout/stderr read by threads."""

    def __init__(self, argv, name, stdin=False, env=None):
        self.name = name
        self.argv = argv
        self.popen = subprocess.Popen(
            argv, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
            start_new_session=True)
        self.pid = self.popen.pid
        self.started = time.monotonic()
        log('started %s pid %d: %s' % (name, self.pid, ' '.join(argv)))
        self.out_lines = []
        self.err_lines = []
        self.out_q = queue.Queue()
        self.threads = [
            threading.Thread(target=self._reader, args=(self.popen.stdout, self.out_lines, self.out_q), daemon=True),
            threading.Thread(target=self._reader, args=(self.popen.stderr, self.err_lines, None), daemon=True),
        ]
        for t in self.threads:
            t.start()

    @staticmethod
    def _reader(stream, lines, q):
        for raw in iter(stream.readline, b''):
            line = raw.decode('utf-8', 'replace').rstrip('\n')
            lines.append(line)
            if q is not None:
                q.put(line)
        if q is not None:
            q.put(None)

    def expect_line(self, text, timeout):
        """Wait for a stdout line equal to text; return whether it came."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                line = self.out_q.get(timeout=left)
            except queue.Empty:
                return False
            if line is None:
                return False
            if line.strip() == text:
                return True

    def expect_err_line(self, prefix, timeout):
        """Wait for a stderr line starting with prefix; return whether it came."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(line.startswith(prefix) for line in list(self.err_lines)):
                return True
            if self.poll() is not None:
                return False
            time.sleep(0.05)
        return False

    def send(self, text):
        try:
            self.popen.stdin.write(text.encode())
            self.popen.stdin.flush()
            return True
        except (OSError, ValueError):
            return False

    def close_stdin(self):
        try:
            if self.popen.stdin:
                self.popen.stdin.close()
        except OSError:
            pass

    def poll(self):
        return self.popen.poll()

    def wait(self, timeout):
        """Exit status, or None if still running after timeout."""
        try:
            rc = self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        if not getattr(self, 'logged_exit', False):
            self.logged_exit = True
            log('%s pid %d exited with %s' % (self.name, self.pid, rc))
        self.drain()
        return rc

    def drain(self, timeout=3.0):
        # The pipes can be held open by children of the process; do not block
        # forever, and only once.
        if getattr(self, 'drained', False):
            timeout = 0.05
        self.drained = True
        for t in self.threads:
            t.join(timeout)

    def signal(self, sig):
        if self.popen.poll() is None:
            log('%s to %s pid %d' % (signal.Signals(sig).name, self.name, self.pid))
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def kill_session(self):
        """SIGKILL every process of the session this process leads."""
        for pid, _ in session_members(self.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.popen.poll() is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def stop(self, grace=10.0):
        """SIGINT, then SIGKILL (whole session) after grace seconds. Returns rc.
        Processes left in the session after the leader exited are not touched."""
        if self.popen.poll() is None:
            self.signal(signal.SIGINT)
            if self.wait(grace) is None:
                self.kill_session()
                self.wait(30)  # detaching many uprobes can take a while
        else:
            self.wait(1)
        return self.popen.returncode

    def stdout_text(self):
        return '\n'.join(self.out_lines)

    def stderr_text(self):
        return '\n'.join(self.err_lines)


class Ctx:
    def __init__(self, args, name):
        self.args = args
        self.name = name
        self.lt_procs = []
        self.targets = []
        self.tmpdirs = []
        self.notes = []

    def lt(self, opts, stdin=False):
        p = Proc([self.args.leaktrace] + list(opts), 'leaktrace', stdin=stdin)
        self.lt_procs.append(p)
        return p

    def target(self, argv, name, env=None):
        p = Proc(argv, name, stdin=True, env=env)
        self.targets.append(p)
        return p

    def tmpdir(self):
        d = tempfile.mkdtemp(prefix='lt-e2e-')
        self.tmpdirs.append(d)
        return d

    def prog(self, name):
        return os.path.join(self.args.progs, name)

    def cleanup(self):
        """Stop everything this scenario started. Returns problems: a leaktrace
        still running, processes left behind in a leaktrace session."""
        problems = []
        for p in self.targets:
            if p.poll() is None:
                p.close_stdin()  # leaky exits on EOF
                if p.wait(2) is None:
                    p.stop(grace=3)
            else:
                p.wait(1)
        for p in self.lt_procs:
            if p.poll() is None:
                problems.append('leaktrace pid %d still running at the end' % p.pid)
                p.stop(grace=10)
            else:
                p.wait(1)
            deadline = time.monotonic() + 2.0
            left = session_members(p.pid)
            while left and time.monotonic() < deadline:
                time.sleep(0.1)
                left = session_members(p.pid)
            if left:
                problems.append('processes left behind in the leaktrace session: %s' %
                                ', '.join('%d/%s' % x for x in left))
                p.kill_session()
        for p in self.targets:
            if session_members(p.pid):
                p.kill_session()
        for d in self.tmpdirs:
            shutil.rmtree(d, ignore_errors=True)
        return problems


def run_to_end(ctx, opts, timeout=90):
    """Start leaktrace and wait for it to exit by itself."""
    p = ctx.lt(opts)
    rc = p.wait(timeout)
    if rc is None:
        raise Fail('leaktrace %s did not exit within %ds' % (' '.join(opts), timeout) + tail(p))
    return p


def tail(p, n=3):
    err = [line for line in p.err_lines if line.strip()][-n:]
    return (' [stderr: %s]' % ' | '.join(err)) if err else ''


def start_waiting_leaky(ctx, churn=None, argv_prefix=(), env=None, name='leaky'):
    argv = list(argv_prefix) + [ctx.prog('leaky'), 'wait']
    if churn is not None:
        argv.append(str(churn))
    t = ctx.target(argv, name, env=env)
    if not t.expect_line('ready', 15):
        raise Fail('%s did not print "ready" (rc=%s)%s' % (name, t.poll(), tail(t)))
    return t


def attach_pid(ctx, opts):
    """Start leaktrace with opts (a -p run) and wait until it is tracing: its
    "tracing" line comes once unwind tables and interpreter probes are in,
    after the libc probes whose descriptors wait_probes counts."""
    p = ctx.lt(opts)
    expect(p.expect_err_line('leaktrace: tracing', 60), 'leaktrace did not start' + tail(p))
    wait_probes(p.pid, min_wait=0.2, max_wait=10)
    expect(p.poll() is None, 'leaktrace exited early with status %s%s' % (p.poll(), tail(p)))
    return p


def trigger(t, timeout=120):
    log('trigger %s pid %d' % (t.name, t.pid))
    expect(t.send('go\n'), 'cannot write to leaky stdin')
    if not t.expect_line('leaked', timeout):
        raise Fail('leaky did not print "leaked" within %ds (rc=%s)%s' % (timeout, t.poll(), tail(t)))
    log('%s pid %d leaked' % (t.name, t.pid))
    return time.monotonic()


def interrupt(p, sig=signal.SIGINT, timeout=45):
    """Send sig to a running leaktrace and wait for it to exit; return rc."""
    expect(p.poll() is None, 'leaktrace exited early with status %s%s' % (p.poll(), tail(p)))
    p.signal(sig)
    rc = p.wait(timeout)
    if rc is None:
        raise Fail('leaktrace did not exit within %ds of %s' % (timeout, signal.Signals(sig).name))
    return rc


# ---------------------------------------------------------------------------
# Reports
# ---------------------------------------------------------------------------

RFC3339 = re.compile(r'^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})$')
HEXADDR = re.compile(r'^0x[0-9a-fA-F]+$')


def is_int(x):
    return type(x) is int


def is_num(x):
    return type(x) in (int, float)


VERDICTS = ('unknown', 'stable', 'growing', 'shrinking')


def validate_verdict(s, rate_key, where):
    """Leak verdicts are optional (heap stacks and Python types only), but come
    as a pair: a rate (null while unknown) and the verdict."""
    if 'verdict' not in s and rate_key not in s:
        return []
    v, rate = s.get('verdict'), s.get(rate_key, '<missing>')
    if v not in VERDICTS:
        return ['%s: bad "verdict" %r' % (where, v)]
    if (v == 'unknown') != (rate is None) or not (rate is None or is_num(rate)):
        return ['%s: bad "%s" %r for verdict %r' % (where, rate_key, rate, v)]
    return []


def validate_stack(s, where):
    errs = []
    if not isinstance(s, dict):
        return ['%s: stack is not an object' % where]
    if not is_int(s.get('bytes')) or s['bytes'] < 0:
        errs.append('%s: bad "bytes" %r' % (where, s.get('bytes')))
    if not is_int(s.get('allocs')) or s['allocs'] < 1:
        errs.append('%s: bad "allocs" %r' % (where, s.get('allocs')))
    if not is_num(s.get('oldest_age_s')) or s['oldest_age_s'] < 0:
        errs.append('%s: bad "oldest_age_s" %r' % (where, s.get('oldest_age_s')))
    errs += validate_verdict(s, 'growth_bytes_per_s', where)
    frames = s.get('frames')
    if not isinstance(frames, list):
        return errs + ['%s: "frames" is not a list' % where]
    for i, fr in enumerate(frames):
        w = '%s frame %d' % (where, i)
        if not isinstance(fr, dict):
            errs.append('%s: not an object' % w)
            continue
        if fr.get('lang') == 'python':
            # A Python frame: function, file and line only.
            if set(fr) != {'lang', 'func', 'file', 'line'}:
                errs.append('%s: Python frame keys %s' % (w, sorted(fr)))
            if not isinstance(fr.get('func'), str) or not isinstance(fr.get('file'), str):
                errs.append('%s: bad Python func/file %r' % (w, fr))
            if not (fr.get('line') is None or is_int(fr.get('line'))):
                errs.append('%s: bad Python "line" %r' % (w, fr.get('line')))
            continue
        for key in ('func', 'file', 'module'):
            if key not in fr or not (fr[key] is None or isinstance(fr[key], str)):
                errs.append('%s: bad "%s" %r' % (w, key, fr.get(key, '<missing>')))
        if 'line' not in fr or not (fr['line'] is None or is_int(fr['line'])):
            errs.append('%s: bad "line" %r' % (w, fr.get('line', '<missing>')))
        if not isinstance(fr.get('addr'), str) or not HEXADDR.match(fr['addr']):
            errs.append('%s: bad "addr" %r' % (w, fr.get('addr')))
        if fr.get('lang') != 'native':
            errs.append('%s: bad "lang" %r' % (w, fr.get('lang')))
    return errs


def validate_report(r, want_mmap=False):
    """Schema problems of one report (list of strings)."""
    if not isinstance(r, dict):
        return ['report is not a JSON object']
    errs = []
    if r.get('schema') != 'leaktrace/report/v1':
        errs.append('bad "schema" %r' % r.get('schema'))
    if type(r.get('final')) is not bool:
        errs.append('bad "final" %r' % r.get('final'))
    if not isinstance(r.get('time'), str) or not RFC3339.match(r['time']):
        errs.append('bad "time" %r' % r.get('time'))
    if not is_num(r.get('elapsed_s')) or r['elapsed_s'] < 0:
        errs.append('bad "elapsed_s" %r' % r.get('elapsed_s'))
    st = r.get('stats')
    if not isinstance(st, dict):
        errs.append('"stats" missing')
    else:
        for k in ('alloc_events', 'free_events', 'lost_events', 'unmatched_frees'):
            if not is_int(st.get(k)) or st[k] < 0:
                errs.append('bad stats.%s %r' % (k, st.get(k)))
    procs = r.get('processes')
    if not isinstance(procs, list):
        return errs + ['"processes" is not a list']
    for p in procs:
        if not isinstance(p, dict):
            errs.append('process is not an object')
            continue
        w = 'pid %r' % p.get('pid')
        if not is_int(p.get('pid')) or p['pid'] <= 0:
            errs.append('%s: bad "pid"' % w)
        for k in ('comm', 'exe'):
            if not isinstance(p.get(k), str):
                errs.append('%s: bad "%s" %r' % (w, k, p.get(k)))
        if type(p.get('exited')) is not bool:
            errs.append('%s: bad "exited" %r' % (w, p.get('exited')))
        if type(p.get('left_cgroup')) is not bool or (p.get('left_cgroup') and p.get('exited')):
            errs.append('%s: bad "left_cgroup" %r (exited %r)' % (w, p.get('left_cgroup'),
                                                                 p.get('exited')))
        if type(p.get('started_before_probes')) is not bool:
            errs.append('%s: bad "started_before_probes" %r' % (w, p.get('started_before_probes')))
        for k in ('outstanding_bytes', 'outstanding_allocs'):
            if not is_int(p.get(k)) or p[k] < 0:
                errs.append('%s: bad "%s" %r' % (w, k, p.get(k)))
        stacks = p.get('stacks')
        if not isinstance(stacks, list):
            errs.append('%s: "stacks" is not a list' % w)
            stacks = []
        for i, s in enumerate(stacks):
            errs += validate_stack(s, '%s stack %d' % (w, i))
        for ty in p.get('types') or []:
            errs += validate_verdict(ty, 'growth_objects_per_s', '%s type %r' % (w, ty.get('type')))
        if not errs and stacks:
            if sum(s['bytes'] for s in stacks) > p['outstanding_bytes']:
                errs.append('%s: stacks hold more bytes than outstanding_bytes' % w)
            if sum(s['allocs'] for s in stacks) > p['outstanding_allocs']:
                errs.append('%s: stacks hold more allocs than outstanding_allocs' % w)
        errs += validate_process_cgroup(p, w)
        mm = p.get('mmap')
        if mm is None:
            if want_mmap:
                errs.append('%s: "mmap" missing with --mmap' % w)
        elif not isinstance(mm, dict):
            errs.append('%s: "mmap" is not an object' % w)
        else:
            for k in ('outstanding_bytes', 'outstanding_regions'):
                if not is_int(mm.get(k)) or mm[k] < 0:
                    errs.append('%s: bad mmap.%s %r' % (w, k, mm.get(k)))
            if not isinstance(mm.get('stacks'), list):
                errs.append('%s: mmap.stacks is not a list' % w)
            else:
                for i, s in enumerate(mm['stacks']):
                    errs += validate_stack(s, '%s mmap stack %d' % (w, i))
    if not errs:
        errs += validate_containers(r.get('containers'), procs)
    return errs


CONTAINER_ID = re.compile(r'^[0-9a-f]{64}$')


def validate_process_cgroup(p, w):
    """cgroup: the v2 path or null; container: its 64-hex id or null."""
    errs = []
    cg, cid = p.get('cgroup', '<missing>'), p.get('container', '<missing>')
    if not (cg is None or (isinstance(cg, str) and cg.startswith('/'))):
        errs.append('%s: bad "cgroup" %r' % (w, cg))
    if not (cid is None or (isinstance(cid, str) and CONTAINER_ID.match(cid))):
        errs.append('%s: bad "container" %r' % (w, cid))
    elif cid is not None and not (isinstance(cg, str) and cid in cg):
        errs.append('%s: container %s not in its cgroup %r' % (w, cid, cg))
    return errs


def validate_containers(cs, procs):
    """containers[]: the processes summed per container (null: the host),
    largest first, each process counted once."""
    if not isinstance(cs, list):
        return ['"containers" is not a list']
    errs = []
    for c in cs:
        if not isinstance(c, dict):
            return ['container entry is not an object']
        cid = c.get('container', '<missing>')
        w = 'container %r' % cid
        if not (cid is None or (isinstance(cid, str) and CONTAINER_ID.match(cid))):
            errs.append('%s: bad id' % w)
        cg = c.get('cgroup', '<missing>')
        if (cid is None) != (cg is None) or not (cg is None or isinstance(cg, str)):
            errs.append('%s: bad "cgroup" %r' % (w, cg))
        # --kernel: a container can hold kernel objects and no traced process.
        for k in ('processes', 'outstanding_bytes', 'outstanding_allocs'):
            least = 1 if k == 'processes' and 'kernel_bytes' not in c else 0
            if not is_int(c.get(k)) or c[k] < least:
                errs.append('%s: bad "%s" %r' % (w, k, c.get(k)))
    if errs:
        return errs
    ids = [c['container'] for c in cs]
    if len(set(ids)) != len(ids):
        errs.append('containers listed twice: %s' % ids)
    byts = [c['outstanding_bytes'] + c.get('kernel_bytes', 0) for c in cs]
    if byts != sorted(byts, reverse=True):
        errs.append('containers not sorted by bytes: %s' % byts)
    for c in cs:
        mine = [p for p in procs if p.get('container') == c['container']]
        want = (len(mine), sum(p['outstanding_bytes'] for p in mine),
                sum(p['outstanding_allocs'] for p in mine))
        got = (c['processes'], c['outstanding_bytes'], c['outstanding_allocs'])
        if got != want:
            errs.append('container %r: processes/bytes/allocs %s, its processes sum to %s' % (
                c['container'], got, want))
    if sum(c['processes'] for c in cs) != len(procs):
        errs.append('containers hold %d processes, the report %d' % (
            sum(c['processes'] for c in cs), len(procs)))
    return errs


def parse_reports(p, want_mmap=False, strict=False):
    """All reports on the stdout of a leaktrace process; schema-checked."""
    reports = []
    junk = []
    for line in p.out_lines:
        s = line.strip()
        if not s:
            continue
        try:
            obj = json.loads(s)
        except ValueError:
            junk.append(s)
            continue
        reports.append(obj)
    if strict and junk:
        raise Fail('stdout has %d non-JSON line(s), first: %.80r' % (len(junk), junk[0]))
    for i, r in enumerate(reports):
        errs = validate_report(r, want_mmap)
        if errs:
            raise Fail('report %d does not match the schema: %s' % (i, '; '.join(errs[:4])))
    return reports


def final_report(p, want_mmap=False, strict=False, reports=None):
    if reports is None:
        reports = parse_reports(p, want_mmap, strict)
    expect(reports, 'no JSON report on stdout' + tail(p))
    finals = [r for r in reports if r['final']]
    expect(len(finals) == 1, '%d reports with final:true (of %d)' % (len(finals), len(reports)))
    expect(reports[-1]['final'], 'the final report is not the last one')
    return reports[-1]


def report_now(p, timeout=60):
    """SIGUSR1 to a running leaktrace (JSON on stdout); its next report."""
    n_before = len(parse_reports(p))
    p.signal(signal.SIGUSR1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and p.poll() is None:
        reps = parse_reports(p)
        if len(reps) > n_before:
            return reps[n_before]
        time.sleep(0.05)
    raise Fail('no report within %ds of SIGUSR1%s' % (timeout, tail(p)))


def find_proc(report, pid=None, comm=None, func=None):
    """The single process entry matching pid / comm / having a stack with func."""
    cands = []
    for p in report['processes']:
        if pid is not None and p['pid'] != pid:
            continue
        if comm is not None and p['comm'] != comm:
            continue
        if func is not None and not any(func in stack_funcs(s) for s in p['stacks']):
            continue
        cands.append(p)
    what = ', '.join('%s=%s' % kv for kv in (('pid', pid), ('comm', comm), ('func', func)) if kv[1] is not None)
    expect(cands, 'no process with %s in the report (%d processes: %s)' % (
        what, len(report['processes']),
        ', '.join('%s/%s' % (p['pid'], p['comm']) for p in report['processes'][:8])))
    expect(len(cands) == 1, '%d processes with %s in the report' % (len(cands), what))
    return cands[0]


def stack_funcs(s):
    return [fr.get('func') for fr in s['frames']]


def frame_name(fr):
    if fr.get('func'):
        return fr['func']
    return '%s@%s' % (fr.get('addr'), os.path.basename(fr['module']) if fr.get('module') else '<no module>')


def describe(stacks, n=6):
    """Short text of stacks: innermost frame:bytes/allocs."""
    out = []
    for s in stacks[:n]:
        f0 = frame_name(s['frames'][0]) if s['frames'] else '<no frames>'
        out.append('%s:%d/%d' % (f0, s['bytes'], s['allocs']))
    return '[' + ', '.join(out) + (' ...]' if len(stacks) > n else ']')


def check_stacks(stacks, expected, *, callers, src, sites, module, absent=(),
                 min_age=None, what='heap'):
    """Problems found comparing stacks with expected {func: (count, size)}."""
    problems = []
    missing = []
    for fn, (count, size) in expected.items():
        hits = [s for s in stacks if fn in stack_funcs(s)]
        if not hits:
            missing.append(fn)
            continue
        b = sum(s['bytes'] for s in hits)
        a = sum(s['allocs'] for s in hits)
        if (b, a) != (count * size, count):
            problems.append('%s %s: %d bytes in %d allocs, expected %d in %d' % (
                what, fn, b, a, count * size, count))
        for s in hits:
            fr = s['frames']
            names = stack_funcs(s)
            if names[0] != fn:
                problems.append('%s %s: frames[0] is %r, not the leaking function (frames: %s)' % (
                    what, fn, names[0], names[:5]))
                continue
            if len(names) < 2 or names[1] != callers[0]:
                problems.append('%s %s: frames[1] is %r, expected %r (frames: %s)' % (
                    what, fn, names[1] if len(names) > 1 else None, callers[0], names[:6]))
            else:
                pos = 1
                for c in callers[1:]:
                    try:
                        pos = names.index(c, pos + 1)
                    except ValueError:
                        problems.append('%s %s: %r not reached in the stack (frames: %s)' % (
                            what, fn, c, names[:8]))
                        break
            f0 = fr[0]
            if sites is not None and fn in sites:
                if not f0.get('file') or os.path.basename(f0['file']) != src:
                    problems.append('%s %s: frames[0].file is %r, expected %s' % (what, fn, f0.get('file'), src))
                elif f0.get('line') != sites[fn]:
                    problems.append('%s %s: frames[0].line is %r, expected %d' % (what, fn, f0.get('line'), sites[fn]))
            if module and (not f0.get('module') or os.path.basename(f0['module']) != module):
                problems.append('%s %s: frames[0].module is %r, expected %s' % (what, fn, f0.get('module'), module))
            if min_age is not None and s['oldest_age_s'] < min_age:
                problems.append('%s %s: oldest_age_s %.3f < %.3f' % (what, fn, s['oldest_age_s'], min_age))
    if missing:
        problems.insert(0, '%s: no stack with %s (stacks: %s)' % (what, ', '.join(missing), describe(stacks, 4)))
    for fn in absent:
        hits = [s for s in stacks if fn in stack_funcs(s)]
        if hits:
            problems.append('%s %s must not be reported; got %d bytes in %d allocs (%d stacks)' % (
                what, fn, sum(s['bytes'] for s in hits), sum(s['allocs'] for s in hits), len(hits)))
    return problems


def check_leaky(proc, *, expected=None, absent=(), module='leaky', totals=True,
                min_age=None, exited=None):
    """Check a process entry of leaky against LEAKY_LEAKS (or a subset)."""
    if expected is None:
        expected = LEAKY_LEAKS
    problems = check_stacks(
        proc['stacks'], expected, callers=LEAKY_CALLERS, src='leaky.c',
        sites=source_sites('leaky.c'), module=module, min_age=min_age,
        absent=list(absent) + LEAKY_CHURN + LEAKY_NOCOUNT)
    if exited is not None and proc['exited'] != exited:
        problems.append('exited is %r, expected %r' % (proc['exited'], exited))
    if totals and (proc['outstanding_bytes'], proc['outstanding_allocs']) != (LEAKY_TOTAL_BYTES, LEAKY_TOTAL_ALLOCS):
        problems.append('process outstanding %d bytes in %d allocs, expected %d in %d (stacks: %s)' % (
            proc['outstanding_bytes'], proc['outstanding_allocs'], LEAKY_TOTAL_BYTES,
            LEAKY_TOTAL_ALLOCS, describe(proc['stacks'], 14)))
    if problems:
        raise Fail('pid %d: %s%s' % (proc['pid'], '; '.join(problems[:5]),
                                     ' (+%d more)' % (len(problems) - 5) if len(problems) > 5 else ''))


def check_stats(report, min_allocs=0, min_frees=0):
    st = report['stats']
    expect(st['lost_events'] == 0, 'stats.lost_events = %d' % st['lost_events'])
    expect(st['alloc_events'] >= min_allocs, 'stats.alloc_events = %d < %d' % (st['alloc_events'], min_allocs))
    expect(st['free_events'] >= min_frees, 'stats.free_events = %d < %d' % (st['free_events'], min_frees))


def leaky_cmd(ctx, churn=None):
    cmd = ctx.prog('leaky') + ' run'
    if churn is not None:
        cmd += ' %d' % churn
    return cmd


# ---------------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------------

def leak_interrupt_check(p, t, **check_kw):
    """With leaktrace p attached to a waiting leaky t: make t leak, let the
    blocks age past -o, stop leaktrace with SIGINT and check its final report
    for t (still running)."""
    trigger(t)
    time.sleep(1.5)
    rc = interrupt(p, signal.SIGINT)
    expect(rc == 0, 'exit status %s after SIGINT%s' % (rc, tail(p)))
    proc = find_proc(final_report(p), pid=t.pid)
    check_leaky(proc, exited=False, min_age=1.0, **check_kw)
    return proc


def t_c_run(ctx):
    """-c "leaky run": every leak exact, churn and no-count paths absent."""
    p = run_to_end(ctx, ['-T', '0', '--format', 'json', '-c', leaky_cmd(ctx)], timeout=150)
    expect(p.popen.returncode == 0, 'exit status %s%s' % (p.popen.returncode, tail(p)))
    rep = final_report(p, strict=True)
    proc = find_proc(rep, comm='leaky')
    expect(os.path.basename(proc['exe']) == 'leaky', 'exe is %r' % proc['exe'])
    check_leaky(proc, exited=True)
    check_stats(rep, min_allocs=LEAKY_CHURN_PAIRS + LEAKY_TOTAL_ALLOCS, min_frees=LEAKY_CHURN_PAIRS)
    expect(proc['started_before_probes'] is False, 'the command is said to have run before its probes')


def t_text_format(ctx):
    """default text output of -c "leaky run" names leak_via_malloc and shows byte totals."""
    p = run_to_end(ctx, ['-c', leaky_cmd(ctx, 2000)])
    expect(p.popen.returncode == 0, 'exit status %s%s' % (p.popen.returncode, tail(p)))
    out = p.stdout_text()
    expect(out.strip(), 'no output')
    expect(not out.lstrip().startswith('{"schema"'), 'default format looks like JSON')
    expect('leak_via_malloc' in out, 'leak_via_malloc not in the text report')

    def has_num(n):
        return re.search(r'(?<![\d.,])(%d|%s)(?![\d.,]\d)' % (n, '{:,}'.format(n)), out) is not None
    for fn in ('leak_via_malloc', 'leak_via_pvalloc', 'leak_via_posix_memalign'):
        c, s = LEAKY_LEAKS[fn]
        expect(has_num(c * s), 'byte total %d of %s not in the text report' % (c * s, fn))
    expect(has_num(LEAKY_TOTAL_BYTES), 'process total %d not in the text report' % LEAKY_TOTAL_BYTES)


def t_p_attach_sigint(ctx):
    """-p on a running "leaky wait": leaks made after attach, SIGINT, exact final report."""
    t = start_waiting_leaky(ctx)
    p = attach_pid(ctx, ['-T', '0', '--format', 'json', '-p', str(t.pid)])
    trigger(t)
    time.sleep(1.5)
    rc = interrupt(p, signal.SIGINT)
    expect(rc == 0, 'exit status %s after SIGINT%s' % (rc, tail(p)))
    expect(t.poll() is None, 'leaky died while traced (rc=%s)' % t.poll())
    rep = final_report(p)
    proc = find_proc(rep, pid=t.pid)
    check_leaky(proc, exited=False, min_age=1.0)
    check_stats(rep, min_allocs=LEAKY_CHURN_PAIRS + LEAKY_TOTAL_ALLOCS, min_frees=LEAKY_CHURN_PAIRS)


def t_p_attach_exit(ctx):
    """-p A -p B: leaktrace ends by itself (final report) once both exited; no age filter for exited."""
    a = start_waiting_leaky(ctx, churn=20000, name='leaky A')
    b = start_waiting_leaky(ctx, churn=20000, name='leaky B')
    p = ctx.lt(['-T', '0', '--format', 'json', '-p', str(a.pid), '-p', str(b.pid)])
    wait_probes(p.pid, min_wait=0.5, max_wait=8)
    expect(p.poll() is None, 'leaktrace exited early with status %s%s' % (p.poll(), tail(p)))
    trigger(a)
    trigger(b)
    a.send('exit\n')  # right away: younger than the 500 ms age filter
    expect(a.wait(10) == 0, 'leaky A did not exit cleanly')
    time.sleep(1.0)
    expect(p.poll() is None, 'leaktrace exited (status %s) while pid %d is still running' % (p.poll(), b.pid))
    b.send('exit\n')
    expect(b.wait(10) == 0, 'leaky B did not exit cleanly')
    rc = p.wait(20)
    expect(rc is not None, 'leaktrace still running 20s after all traced processes exited')
    expect(rc == 0, 'exit status %s%s' % (rc, tail(p)))
    rep = final_report(p)
    for t in (a, b):
        check_leaky(find_proc(rep, pid=t.pid), exited=True)


def t_system_wide(ctx):
    """no target: a "leaky wait" started after leaktrace is traced; exact numbers by pid."""
    p = ctx.lt(['-T', '0', '--format', 'json'])
    wait_probes(p.pid, min_wait=2.0, max_wait=10)
    expect(p.poll() is None, 'leaktrace exited early with status %s%s' % (p.poll(), tail(p)))
    t = start_waiting_leaky(ctx, churn=SYSTEM_WIDE_CHURN)
    time.sleep(0.3)
    proc = leak_interrupt_check(p, t)
    expect(proc['started_before_probes'] is False, 'the host libc was probed before it started, '
           'yet it is said to have run before its probes')


def t_system_wide_own_libc(ctx):
    """no target: a program running with its own copy of libc.so.6 (new inode) is traced."""
    d = ctx.tmpdir()
    os.chmod(d, 0o755)
    libc = '/lib/x86_64-linux-gnu/libc.so.6'
    ldso = '/lib64/ld-linux-x86-64.so.2'
    if not (os.path.exists(libc) and os.path.exists(ldso)):
        raise Skip('no %s or %s' % (libc, ldso))
    shutil.copy(libc, os.path.join(d, 'libc.so.6'))
    shutil.copy(os.path.realpath(ldso), os.path.join(d, 'ld-linux-x86-64.so.2'))
    p = ctx.lt(['-T', '0', '--format', 'json'])
    before = wait_probes(p.pid, min_wait=2.0, max_wait=10)
    expect(p.poll() is None, 'leaktrace exited early with status %s%s' % (p.poll(), tail(p)))
    t = start_waiting_leaky(ctx, churn=SYSTEM_WIDE_CHURN, name='leaky (own libc)',
                            argv_prefix=[os.path.join(d, 'ld-linux-x86-64.so.2'), '--library-path', d])
    with open('/proc/%d/maps' % t.pid) as f:
        maps = f.read()
    expect(os.path.join(d, 'libc.so.6') in maps and libc not in maps,
           'the private libc copy is not the one mapped (test setup problem)')
    # New uprobes for the new libc inode: wait for leaktrace's probe fds to grow (>= 1 s).
    after = wait_probes(p.pid, above=before, min_wait=1.0, max_wait=5)
    if after <= before:
        time.sleep(0.5)
    proc = leak_interrupt_check(p, t)
    # It ran on its libc for the tens of ms before that libc was probed.
    expect(proc['started_before_probes'] is True, 'not said to have run before its libc was probed')


def private_libcs(ctx):
    """(name, ld.so, library dir) of each libc a program can bring along:
    Debian unstable's glibc 2.43 (make sid-pythons), and a copy of the
    host's (a new inode, as in a container image)."""
    found = []
    sid_lib = os.path.join(os.path.dirname(SID_RUN or ''), 'usr', 'lib', 'x86_64-linux-gnu')
    if SID_RUN and os.path.exists(os.path.join(sid_lib, 'libc.so.6')):
        found.append(('glibc 2.43 (sid)', os.path.join(sid_lib, 'ld-linux-x86-64.so.2'), sid_lib))
    d = ctx.tmpdir()
    os.chmod(d, 0o755)
    shutil.copy('/lib/x86_64-linux-gnu/libc.so.6', os.path.join(d, 'libc.so.6'))
    shutil.copy(os.path.realpath('/lib64/ld-linux-x86-64.so.2'), os.path.join(d, 'ld-linux-x86-64.so.2'))
    found.append(('copy of the host glibc', os.path.join(d, 'ld-linux-x86-64.so.2'), d))
    return found


def t_c_own_libc_from_start(ctx):
    """-c "LDSO --library-path DIR early_leaker" (Debian unstable's glibc 2.43, and a copy of the host's): the private libc is probed before the command starts, so the 1,000 blocks a constructor leaks at once, before main, are all counted, as are main's 10."""
    for name, ldso, libdir in private_libcs(ctx):
        cmd = '%s --library-path %s %s' % (ldso, libdir, ctx.prog('early_leaker'))
        p = run_to_end(ctx, ['-v', '-T', '0', '--format', 'json', '-c', cmd], timeout=60)
        expect(p.popen.returncode == 0, '%s: exit status %s%s' % (name, p.popen.returncode, tail(p)))
        libc = os.path.realpath(os.path.join(libdir, 'libc.so.6'))
        expect(any(line.startswith('leaktrace: attached malloc') and libc in line for line in p.err_lines),
               '%s: no probe on %s reported by -v' % (name, libc))
        proc = find_proc(final_report(p, strict=True), func='leak_in_main')
        expect(proc['started_before_probes'] is False,
               '%s: said to have run before its libc was probed' % name)
        for fn, caller, count, size in (('leak_before_main', 'first_thing', 1000, 48),
                                        ('leak_in_main', 'main', 10, 4000)):
            hits = [s for s in proc['stacks'] if fn in stack_funcs(s)]
            got = (sum(s['allocs'] for s in hits), sum(s['bytes'] for s in hits))
            expect(got == (count, count * size), '%s: %s holds %d blocks, %d bytes; want %d, %d' % (
                name, fn, got[0], got[1], count, count * size))
            expect(all(stack_funcs(s)[:2] == [fn, caller] for s in hits),
                   '%s: %s stacks do not start %s <- %s: %s' % (name, fn, fn, caller, describe(hits)))
        log('%s: 1000 + 10 blocks exact' % name)


def t_stacks_threads_and_coroutine(ctx):
    """no frame pointers, the host's glibc and Debian unstable's 2.43: 100 threads started at once (the mmap lock busy with their stacks) each leak a block, all 100 stacks whole down to clone3; a swapcontext coroutine's stack ends at __start_context, with nothing past it."""
    runs = [('host glibc', ctx.prog('thread_stacks'))]
    for name, ldso, libdir in private_libcs(ctx)[:1]:
        if 'sid' in name:
            runs.append((name, '%s --library-path %s %s' % (ldso, libdir, ctx.prog('thread_stacks'))))
    for name, cmd in runs:
        p = run_to_end(ctx, ['-T', '0', '--format', 'json', '-c', cmd], timeout=60)
        expect(p.popen.returncode == 0, '%s: exit status %s%s' % (name, p.popen.returncode, tail(p)))
        proc = find_proc(final_report(p, strict=True), func='leak_in_thread')
        threads = [s for s in proc['stacks'] if 'leak_in_thread' in stack_funcs(s)]
        # Debian unstable's libc keeps no names for start_thread and clone3.
        whole = [s for s in threads
                 if stack_funcs(s)[:2] == ['leak_in_thread', 'thread_main'] and len(s['frames']) == 4
                 and all(os.path.basename(f.get('module') or '') == 'libc.so.6' for f in s['frames'][2:])
                 and [f.get('func') for f in s['frames'][2:]] in (['start_thread', 'clone3'], [None, None])]
        expect(sum(s['allocs'] for s in threads) == 100, '%s: %d thread blocks, want 100' % (
            name, sum(s['allocs'] for s in threads)))
        expect(sum(s['allocs'] for s in whole) == 100, '%s: %d of 100 thread stacks whole '
               '(leak_in_thread <- thread_main <- start_thread <- clone3, in libc); the others: %s' % (
                   name, sum(s['allocs'] for s in whole),
                   describe([s for s in threads if s not in whole])))
        co = [s for s in proc['stacks'] if 'leak_in_coroutine' in stack_funcs(s)]
        expect(len(co) == 1 and co[0]['allocs'] == 1, '%s: coroutine stacks %s' % (name, describe(co)))
        fr = co[0]['frames']
        expect(stack_funcs(co[0])[:2] == ['leak_in_coroutine', 'coroutine'] and len(fr) == 3 and
               os.path.basename(fr[2].get('module') or '') == 'libc.so.6',
               '%s: the coroutine stack is not leak_in_coroutine <- coroutine <- __start_context '
               '(libc) and nothing more: %s' % (name, [(frame_name(f), f.get('module')) for f in fr]))
        log('%s: 100 thread stacks whole, the coroutine ends at __start_context' % name)


def t_mmap(ctx):
    """--mmap -c mmap_leaky: regions exact; the 1 MiB malloc is heap, not an mmap region."""
    p = run_to_end(ctx, ['--mmap', '-T', '0', '--format', 'json', '-c', ctx.prog('mmap_leaky') + ' run'])
    expect(p.popen.returncode == 0, 'exit status %s%s' % (p.popen.returncode, tail(p)))
    rep = final_report(p, want_mmap=True, strict=True)
    proc = find_proc(rep, comm='mmap_leaky')
    expect(proc['exited'], 'exited is false')
    sites = source_sites('mmap_leaky.c')
    problems = check_stacks(proc['stacks'], MMAP_HEAP, callers=MMAP_CALLERS, src='mmap_leaky.c',
                            sites=sites, module='mmap_leaky', absent=list(MMAP_REGIONS) + MMAP_NOCOUNT)
    if (proc['outstanding_bytes'], proc['outstanding_allocs']) != (1 << 20, 1):
        problems.append('heap outstanding %d bytes in %d allocs, expected %d in 1 (stacks: %s)' % (
            proc['outstanding_bytes'], proc['outstanding_allocs'], 1 << 20, describe(proc['stacks'])))
    mm = proc.get('mmap')
    expect(isinstance(mm, dict), 'no "mmap" object with --mmap')
    problems += check_stacks(mm['stacks'], MMAP_REGIONS, callers=MMAP_CALLERS, src='mmap_leaky.c',
                             sites=sites, module='mmap_leaky', what='mmap',
                             absent=list(MMAP_HEAP) + MMAP_NOCOUNT)
    # The dynamic loader maps a few anonymous pages of its own before main, so
    # the process totals may be a little higher, but never include the 1 MiB block.
    if not (MMAP_TOTAL_BYTES <= mm['outstanding_bytes'] < MMAP_TOTAL_BYTES + (1 << 20)):
        problems.append('mmap outstanding_bytes %d, expected %d (+ loader mappings, < 1 MiB)' % (
            mm['outstanding_bytes'], MMAP_TOTAL_BYTES))
    if mm['outstanding_regions'] < MMAP_TOTAL_REGIONS:
        problems.append('mmap outstanding_regions %d < %d' % (mm['outstanding_regions'], MMAP_TOTAL_REGIONS))
    for s in mm['stacks']:
        if s['bytes'] >= (1 << 20):
            problems.append('an mmap stack of %d bytes (the malloc counted twice?): %s' % (
                s['bytes'], stack_funcs(s)[:4]))
    if problems:
        raise Fail('; '.join(problems[:5]))


def t_forker(ctx):
    """-c forker: parent, forked child and exec'd child each with their own exact leaks."""
    d = ctx.tmpdir()
    pidfile = os.path.join(d, 'pids')
    p = run_to_end(ctx, ['-T', '0', '--format', 'json', '-c',
                         '%s %s %s' % (ctx.prog('forker'), ctx.prog('leaky'), pidfile)], timeout=150)
    expect(p.popen.returncode == 0, 'exit status %s%s' % (p.popen.returncode, tail(p)))
    try:
        with open(pidfile) as f:
            info = dict(kv.split('=') for kv in f.read().split())
        parent, child_a, child_b = int(info['parent']), int(info['childA']), int(info['childB'])
    except (OSError, ValueError, KeyError):
        raise Fail('forker did not write its pid file (did it run?)')
    expect(info['statusA'] == '0' and info['statusB'] == '0',
           'forker children failed: %s' % info)
    rep = final_report(p, strict=True)
    sites = source_sites('forker.c')
    problems = []
    pp = find_proc(rep, pid=parent)
    problems += check_stacks(pp['stacks'], FORKER_PARENT, callers=FORKER_CALLERS, src='forker.c',
                             sites=sites, module='forker', absent=list(FORKER_CHILD) + list(LEAKY_LEAKS))
    if (pp['outstanding_bytes'], pp['outstanding_allocs']) != (6600, 3):
        problems.append('parent outstanding %d/%d, expected 6600/3' % (pp['outstanding_bytes'], pp['outstanding_allocs']))
    pa = find_proc(rep, pid=child_a)
    problems += check_stacks(pa['stacks'], FORKER_CHILD, callers=FORKER_CALLERS, src='forker.c',
                             sites=sites, module='forker', absent=list(FORKER_PARENT) + list(LEAKY_LEAKS))
    if (pa['outstanding_bytes'], pa['outstanding_allocs']) != (9200, 4):
        problems.append('child A outstanding %d/%d, expected 9200/4' % (pa['outstanding_bytes'], pa['outstanding_allocs']))
    for e, who in ((pp, 'parent'), (pa, 'child A')):
        if not e['exited']:
            problems.append('%s not exited' % who)
    problems = ['parent/child A: ' + x for x in problems]
    pb = find_proc(rep, pid=child_b)
    if pb['comm'] != 'leaky':
        problems.append("exec'd child comm is %r, expected leaky" % pb['comm'])
    try:
        check_leaky(pb, exited=True, absent=list(FORKER_CHILD) + list(FORKER_PARENT))
    except Fail as e:
        problems.append("exec'd child: %s" % e)
    if problems:
        raise Fail('; '.join(problems[:5]))


def t_size_filter_window(ctx):
    """-z 1350 -Z 1750: only the 1400..1700-byte leaks; realloc moves out of range release the old block."""
    keep = {fn: v for fn, v in LEAKY_LEAKS.items() if 1350 <= v[1] <= 1750}
    expect(sorted(keep) == sorted(['leak_via_reallocarray', 'leak_via_posix_memalign',
                                   'leak_via_aligned_alloc', 'leak_via_memalign']), 'bad test data')
    p = run_to_end(ctx, ['-z', '1350', '-Z', '1750', '-T', '0', '--format', 'json', '-c', leaky_cmd(ctx, 20000)])
    expect(p.popen.returncode == 0, 'exit status %s%s' % (p.popen.returncode, tail(p)))
    rep = final_report(p)
    check_leaky(find_proc(rep, comm='leaky'), expected=keep, totals=False, exited=True,
                absent=[fn for fn in LEAKY_LEAKS if fn not in keep])


def t_size_filter_max(ctx):
    """-Z 1150: only malloc(1000) and calloc 1100 leaks; the 40 -> 300 -> 1300 realloc chain leaves nothing."""
    keep = {fn: v for fn, v in LEAKY_LEAKS.items() if v[1] <= 1150}
    expect(sorted(keep) == ['leak_via_calloc', 'leak_via_malloc'], 'bad test data')
    p = run_to_end(ctx, ['-Z', '1150', '-T', '0', '--format', 'json', '-c', leaky_cmd(ctx, 20000)])
    expect(p.popen.returncode == 0, 'exit status %s%s' % (p.popen.returncode, tail(p)))
    rep = final_report(p)
    check_leaky(find_proc(rep, comm='leaky'), expected=keep, totals=False, exited=True,
                absent=[fn for fn in LEAKY_LEAKS if fn not in keep])


def _by(key):
    return sorted(LEAKY_LEAKS, key=lambda fn: -(LEAKY_LEAKS[fn][0] * LEAKY_LEAKS[fn][1] if key == 'bytes'
                                                 else LEAKY_LEAKS[fn][0]))


def t_top1_bytes(ctx):
    """-T 1: one stack per process, the largest by bytes (leak_via_pvalloc); totals still count everything."""
    p = run_to_end(ctx, ['-T', '1', '--format', 'json', '-c', leaky_cmd(ctx, 2000)])
    expect(p.popen.returncode == 0, 'exit status %s%s' % (p.popen.returncode, tail(p)))
    rep = final_report(p)
    for pr in rep['processes']:
        expect(len(pr['stacks']) <= 1, 'pid %d has %d stacks with -T 1' % (pr['pid'], len(pr['stacks'])))
    proc = find_proc(rep, comm='leaky')
    top = _by('bytes')[0]
    expect(len(proc['stacks']) == 1, 'leaky has %d stacks' % len(proc['stacks']))
    check_leaky(proc, expected={top: LEAKY_LEAKS[top]}, totals=True, exited=True)


def t_top1_sort_count(ctx):
    """-T 1 --sort count: the stack with most allocations (leak_via_malloc, 11)."""
    p = run_to_end(ctx, ['-T', '1', '--sort', 'count', '--format', 'json', '-c', leaky_cmd(ctx, 2000)])
    expect(p.popen.returncode == 0, 'exit status %s%s' % (p.popen.returncode, tail(p)))
    rep = final_report(p)
    for pr in rep['processes']:
        expect(len(pr['stacks']) <= 1, 'pid %d has %d stacks with -T 1' % (pr['pid'], len(pr['stacks'])))
    proc = find_proc(rep, comm='leaky')
    top = _by('count')[0]
    expect(top != _by('bytes')[0], 'bad test data')
    expect(len(proc['stacks']) == 1, 'leaky has %d stacks' % len(proc['stacks']))
    check_leaky(proc, expected={top: LEAKY_LEAKS[top]}, totals=True, exited=True)


def t_default_top_and_order(ctx):
    """defaults: top 10 stacks by bytes (leak_via_failed_realloc, the smallest, left out), in order."""
    p = run_to_end(ctx, ['--format', 'json', '-c', leaky_cmd(ctx, 2000)])
    expect(p.popen.returncode == 0, 'exit status %s%s' % (p.popen.returncode, tail(p)))
    rep = final_report(p)
    proc = find_proc(rep, comm='leaky')
    order = _by('bytes')
    expect(len(proc['stacks']) == DEFAULT_TOP, '%d stacks, expected %d' % (len(proc['stacks']), DEFAULT_TOP))
    got = [s['frames'][0].get('func') if s['frames'] else None for s in proc['stacks']]
    expect(got == order[:DEFAULT_TOP], 'stack order %s, expected %s' % (got, order[:DEFAULT_TOP]))
    check_leaky(proc, expected={fn: LEAKY_LEAKS[fn] for fn in order[:DEFAULT_TOP]},
                absent=order[DEFAULT_TOP:], totals=True, exited=True)


def t_sort_count_all(ctx):
    """-T 0 --sort count: all 11 leak stacks, ordered by allocation count."""
    p = run_to_end(ctx, ['-T', '0', '--sort', 'count', '--format', 'json', '-c', leaky_cmd(ctx, 2000)])
    expect(p.popen.returncode == 0, 'exit status %s%s' % (p.popen.returncode, tail(p)))
    rep = final_report(p)
    proc = find_proc(rep, comm='leaky')
    got = [s['frames'][0].get('func') if s['frames'] else None for s in proc['stacks']]
    expect(got == _by('count'), 'stack order %s, expected %s' % (got, _by('count')))
    check_leaky(proc, totals=True, exited=True)


def t_age_filter_usr1_sigterm(ctx):
    """-p -o 3000: a SIGUSR1 report 1 s after the leaks shows none of them; the SIGTERM
    final report after 3.5 s shows all of them."""
    t = start_waiting_leaky(ctx, churn=20000)
    p = ctx.lt(['-o', '3000', '-T', '0', '--format', 'json', '-p', str(t.pid)])
    wait_probes(p.pid, min_wait=0.5, max_wait=8)
    expect(p.poll() is None, 'leaktrace exited early with status %s%s' % (p.poll(), tail(p)))
    leaked_at = trigger(t)
    time.sleep(1.0)
    n_before = len(parse_reports(p))
    p.signal(signal.SIGUSR1)
    deadline = time.monotonic() + 10
    while len(parse_reports(p)) <= n_before and time.monotonic() < deadline and p.poll() is None:
        time.sleep(0.1)
    reps = parse_reports(p)
    expect(len(reps) > n_before, 'no report within 10 s of SIGUSR1' + tail(p))
    extra = reps[n_before]
    expect(extra['final'] is False, 'the SIGUSR1 report has final:true')
    expect(time.monotonic() - leaked_at < 3.0, 'the SIGUSR1 report came too late to test the age filter')
    for pr in extra['processes']:
        if pr['pid'] == t.pid:
            young = [fn for fn in LEAKY_LEAKS if any(fn in stack_funcs(s) for s in pr['stacks'])]
            expect(not young, 'allocations younger than -o 3000 reported: %s' % young)
    time.sleep(max(0.0, leaked_at + 3.6 - time.monotonic()))
    rc = interrupt(p, signal.SIGTERM)
    expect(rc == 0, 'exit status %s after SIGTERM%s' % (rc, tail(p)))
    rep = final_report(p)
    check_leaky(find_proc(rep, pid=t.pid), exited=False, min_age=3.0)


def t_duration(ctx):
    """-d 6 -p PID: leaktrace ends by itself after about 6 s with a final report."""
    t = start_waiting_leaky(ctx, churn=0)
    t0 = time.monotonic()
    p = ctx.lt(['-d', '6', '-T', '0', '--format', 'json', '-p', str(t.pid)])
    wait_probes(p.pid, min_wait=0.5, max_wait=3)
    expect(p.poll() is None, 'leaktrace exited early with status %s%s' % (p.poll(), tail(p)))
    trigger(t)
    rc = p.wait(30)
    took = time.monotonic() - t0
    expect(rc is not None, 'leaktrace -d 6 still running after %.0f s' % took)
    expect(rc == 0, 'exit status %s%s' % (rc, tail(p)))
    expect(5.0 <= took <= 20.0, 'leaktrace -d 6 ran for %.1f s' % took)
    rep = final_report(p)
    expect(4.5 <= rep['elapsed_s'] <= 20.0, 'elapsed_s %.2f with -d 6' % rep['elapsed_s'])
    check_leaky(find_proc(rep, pid=t.pid), exited=False)


def t_interval_count(ctx):
    """INTERVAL COUNT = 1 3: periodic reports, then leaktrace exits by itself."""
    t = start_waiting_leaky(ctx, churn=0)
    p = ctx.lt(['--format', 'json', '-p', str(t.pid), '1', '3'])
    rc = p.wait(30)
    expect(rc is not None, 'leaktrace "1 3" still running after 30 s')
    expect(rc == 0, 'exit status %s%s' % (rc, tail(p)))
    reps = parse_reports(p)
    expect(len(reps) in (3, 4), '%d reports for COUNT=3' % len(reps))
    expect(all(not r['final'] for r in reps[:-1]), 'final:true before the last report')
    el = [r['elapsed_s'] for r in reps]
    expect(el == sorted(el), 'elapsed_s not increasing: %s' % el)


GROWER_FUNCS = ('grow_leak', 'cache_refill', 'fixed_state')
GROWER_LEAK_RATE = 40960  # tests/progs/grower.c: 4 KiB every 100 ms


def trend_reports(ctx, t):
    """Attach to target t (waiting on "go"), start it, and return its JSON
    reports: 12 at 0.5 s intervals after "going" (~6 s), counted, not timed,
    so a slow machine still gives verdicts their window."""
    p = attach_pid(ctx, ['-T', '0', '--format', 'json', '-o', '0', '-p', str(t.pid), '0.5'])
    expect(t.send('go\n'), 'cannot write to %s' % t.name)
    expect(t.expect_line('going', 15), '%s did not start%s' % (t.name, tail(t)))
    before = len(p.out_lines)
    deadline = time.monotonic() + 40
    while len(p.out_lines) - before < 12 and time.monotonic() < deadline and p.poll() is None:
        time.sleep(0.1)
    rc = interrupt(p, signal.SIGINT)
    expect(rc == 0, 'exit status %s after SIGINT%s' % (rc, tail(p)))
    reps = parse_reports(p)
    expect(len(reps) >= 12, 'only %d reports at 0.5 s intervals' % len(reps))
    return reps


def t_leak_verdicts(ctx):
    """Leak verdicts: a steady leak is "growing" at its rate; a cache that fills
    and empties (sawtooth) and fixed state are "stable"."""
    t = ctx.target([ctx.prog('grower')], 'grower')
    if not t.expect_line('ready', 15):
        raise Fail('grower did not print "ready" (rc=%s)%s' % (t.poll(), tail(t)))
    proc = find_proc(trend_reports(ctx, t)[-1], pid=t.pid)
    stacks = {}
    for st in proc['stacks']:
        for fr in st['frames']:
            if fr.get('func') in GROWER_FUNCS:
                stacks.setdefault(fr['func'], st)
                break
    for fn in GROWER_FUNCS:
        expect(fn in stacks, '%s not reported (stacks: %s)' % (
            fn, [(st['bytes'], [fr.get('func') for fr in st['frames'][:4]]) for st in proc['stacks']]))
    summary = {fn: (st['bytes'], st.get('verdict'), st.get('growth_bytes_per_s')) for fn, st in stacks.items()}
    log('verdicts: %s' % summary)
    grow = stacks['grow_leak']
    expect(grow.get('verdict') == 'growing', 'grow_leak: verdict %r, want growing (%s)' % (grow.get('verdict'), summary))
    rate = grow.get('growth_bytes_per_s') or 0
    expect(abs(rate - GROWER_LEAK_RATE) <= 0.3 * GROWER_LEAK_RATE,
           'grow_leak: %.0f B/s, want %d within 30 %%' % (rate, GROWER_LEAK_RATE))
    for fn in ('cache_refill', 'fixed_state'):
        expect(stacks[fn].get('verdict') == 'stable', '%s: verdict %r, want stable (%s)' % (
            fn, stacks[fn].get('verdict'), summary))


def t_write_file(ctx):
    """-w FILE: reports written to FILE."""
    d = ctx.tmpdir()
    out = os.path.join(d, 'report.ndjson')
    p = run_to_end(ctx, ['-w', out, '-T', '0', '--format', 'json', '-c', leaky_cmd(ctx, 2000)])
    expect(p.popen.returncode == 0, 'exit status %s%s' % (p.popen.returncode, tail(p)))
    expect(os.path.exists(out), '%s not created' % out)
    with open(out) as f:
        lines = [line for line in f.read().splitlines() if line.strip()]
    try:
        reps = [json.loads(line) for line in lines]
    except ValueError:
        raise Fail('%s is not NDJSON' % out)
    for r in reps:
        errs = validate_report(r)
        expect(not errs, 'schema: %s' % '; '.join(errs[:3]))
    rep = final_report(p, reports=reps)
    check_leaky(find_proc(rep, comm='leaky'), exited=True)


def t_folded_format(ctx):
    """--format folded: one "comm (pid);root;...;leaf BYTES" line per stack, exact bytes."""
    p = run_to_end(ctx, ['-T', '0', '--format', 'folded', '-c', leaky_cmd(ctx, 2000)])
    expect(p.popen.returncode == 0, 'exit status %s%s' % (p.popen.returncode, tail(p)))
    lines = [line for line in p.out_lines if line.strip()]
    expect(lines, 'no folded output')
    stacks = {}
    for line in lines:
        m = re.match(r'^(.+) (\d+)$', line)
        expect(m, 'not a folded line: %r' % line)
        frames = m.group(1).split(';')
        expect(re.match(r'^leaky \(\d+\)$', frames[0]), 'root frame is %r, not "leaky (PID)"' % frames[0])
        stacks.setdefault(frames[-1], []).append((frames, int(m.group(2))))
    for fn, (count, size) in LEAKY_LEAKS.items():
        expect(fn in stacks, 'no line ends in %s: %s' % (fn, lines[:3]))
        expect(len(stacks[fn]) == 1, '%d lines end in %s' % (len(stacks[fn]), fn))
        frames, nbytes = stacks[fn][0]
        expect(nbytes == count * size, '%s: %d bytes, want %d' % (fn, nbytes, count * size))
        # Root first: main, then each caller, the leaking function last.
        want = ['main'] + list(reversed(LEAKY_CALLERS[:-1])) + [fn]
        expect(frames[-len(want):] == want, '%s: frames end %s, want %s' % (fn, frames[-len(want):], want))
    expect(sum(n for v in stacks.values() for _, n in v) == LEAKY_TOTAL_BYTES,
           'lines sum to %d bytes, want %d' % (sum(n for v in stacks.values() for _, n in v), LEAKY_TOTAL_BYTES))


def t_pprof_format(ctx):
    """--format pprof -w FILE: go tool pprof reads it; leaking functions with exact bytes."""
    rc = subprocess.run([ctx.args.leaktrace, '--format', 'pprof', '-c', '/bin/true'],
                        capture_output=True, text=True, timeout=30)
    expect(rc.returncode == 2, '--format pprof without -w: exit status %d' % rc.returncode)
    expect(len(rc.stderr.strip().splitlines()) == 1 and '-w' in rc.stderr,
           '--format pprof without -w: stderr %r' % rc.stderr)
    go = shutil.which('go')
    if not go:
        raise Skip('go is not installed (Debian package golang-go)')
    d = ctx.tmpdir()
    out = os.path.join(d, 'out.pb.gz')
    p = run_to_end(ctx, ['-w', out, '-T', '0', '--format', 'pprof', '-c', leaky_cmd(ctx, 2000)])
    expect(p.popen.returncode == 0, 'exit status %s%s' % (p.popen.returncode, tail(p)))
    with open(out, 'rb') as f:
        expect(f.read(2) == b'\x1f\x8b', '%s is not gzip' % out)
    env = dict(os.environ, HOME=d, GOCACHE=os.path.join(d, 'gocache'), PPROF_TMPDIR=d)

    def pprof(*args):
        r = subprocess.run([go, 'tool', 'pprof', '-symbolize=none'] + list(args) + [out],
                           capture_output=True, text=True, timeout=120, env=env, cwd=d)
        expect(r.returncode == 0, 'go tool pprof %s: status %d: %s' % (' '.join(args), r.returncode,
                                                                     r.stderr.strip()[-300:]))
        return r.stdout
    top = pprof('-top', '-unit=B', '-sample_index=inuse_space')
    flat = {}
    for line in top.splitlines():
        # A zero is printed without its unit.
        m = re.match(r'^\s*(\d+)B?\s+\S+%\s+\S+%\s+(\d+)B?\s+\S+%\s+(\S+)\s*$', line)
        if m:
            flat[m.group(3)] = (int(m.group(1)), int(m.group(2)))
    for fn, (count, size) in LEAKY_LEAKS.items():
        expect(fn in flat, '%s not in pprof -top: %s' % (fn, top[-400:]))
        expect(flat[fn][0] == count * size, '%s: %dB flat, want %d' % (fn, flat[fn][0], count * size))
    for fn in LEAKY_CALLERS:
        expect(fn in flat and flat[fn][1] == LEAKY_TOTAL_BYTES,
               '%s: cum %s, want %dB' % (fn, flat.get(fn), LEAKY_TOTAL_BYTES))
    objs = pprof('-top', '-sample_index=inuse_objects')
    m = re.search(r'^\s*(\d+)\s+\S+%\s+\S+%\s+\d+\s+\S+%\s+leak_via_malloc\s*$', objs, re.M)
    expect(m and int(m.group(1)) == LEAKY_LEAKS['leak_via_malloc'][0],
           'inuse_objects of leak_via_malloc: %s' % (m.group(1) if m else objs[-300:]))
    traces = pprof('-traces')
    expect(re.search(r'comm:\s+leaky', traces) and re.search(r'pid:\s+\d+', traces),
           'pid/comm labels not in pprof -traces')


def t_c_failing_command(ctx):
    """-c /bin/false: the command's status does not matter; final report, exit 0."""
    p = run_to_end(ctx, ['--format', 'json', '-c', '/bin/false'], timeout=30)
    expect(p.popen.returncode == 0, 'exit status %s%s' % (p.popen.returncode, tail(p)))
    final_report(p)


def t_static_other_binary(ctx):
    """-O on a statically linked leaky: the malloc family inside the binary is traced."""
    src = os.path.join(SRC_PROGS, 'leaky.c')
    gcc = shutil.which('gcc')
    if not gcc or not os.path.exists(src):
        raise Skip('no gcc or no %s' % src)
    d = ctx.tmpdir()
    os.chmod(d, 0o755)
    exe = os.path.join(d, 'leaky_static')
    r = subprocess.run([gcc, '-static', '-O0', '-g', '-fno-omit-frame-pointer', '-o', exe, src],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    if r.returncode != 0:
        raise Skip('cannot build a static leaky: %s' % r.stderr.decode(errors='replace').strip()[:120])
    p = run_to_end(ctx, ['-O', exe, '-T', '0', '--format', 'json', '-c', exe + ' run 20000'])
    expect(p.popen.returncode == 0, 'exit status %s%s' % (p.popen.returncode, tail(p)))
    rep = final_report(p)
    proc = find_proc(rep, comm='leaky_static')
    # glibc's static start-up code may allocate on its own: check per function only.
    check_leaky(proc, exited=True, module='leaky_static', totals=False)


# --- errors ----------------------------------------------------------------

def t_cxx_demangled(ctx):
    """-c on a C++ program: the leaking member function is named, demangled, with its line."""
    p = run_to_end(ctx, ['-T', '0', '--format', 'json', '-c', ctx.prog('cxx_leaky')])
    expect(p.popen.returncode == 0, 'exit status %s%s' % (p.popen.returncode, tail(p)))
    proc = find_proc(final_report(p), comm='cxx_leaky')
    want = 'shop::Cart<double>::add_items(int)'
    hits = [s for s in proc['stacks'] if s['frames'] and s['frames'][0]['func'] == want]
    expect(len(hits) == 1, 'no single stack with %s at frames[0]: %s' % (want, describe(proc['stacks'])))
    s = hits[0]
    expect((s['bytes'], s['allocs']) == (400, 5), 'add_items: %d bytes in %d, want 400 in 5' % (s['bytes'], s['allocs']))
    expect(s['frames'][0]['line'] == 13, 'add_items line %r, want 13' % s['frames'][0]['line'])
    expect(any(fr['func'] == 'main' for fr in s['frames']), 'main missing from %s' % describe([s]))


def t_suppressions(ctx):
    """--suppressions hides one of leaky's leaks: its stack is gone, the others
    exact, stats.suppressed_* its bytes and count; process totals unchanged."""
    hidden = 'leak_via_memalign'
    path = os.path.join(ctx.tmpdir(), 'leaky.supp')
    with open(path, 'w') as f:
        f.write('# leaky: a leak we know of\n\nleak:^%s$\n' % hidden)
    p = run_to_end(ctx, ['-T', '0', '--format', 'json', '--suppressions', path,
                         '-c', leaky_cmd(ctx)], timeout=150)
    expect(p.popen.returncode == 0, 'exit status %s%s' % (p.popen.returncode, tail(p)))
    rep = final_report(p, strict=True)
    proc = find_proc(rep, comm='leaky')
    check_leaky(proc, expected={fn: v for fn, v in LEAKY_LEAKS.items() if fn != hidden},
                absent=[hidden], exited=True)
    count, size = LEAKY_LEAKS[hidden]
    got = (rep['stats'].get('suppressed_bytes'), rep['stats'].get('suppressed_allocs'))
    expect(got == (count * size, count), 'stats.suppressed_* = %r, want (%d, %d)' % (got, count * size, count))
    summary = [s for s in rep.get('summary', {}).get('stacks', []) if hidden in stack_funcs(s)]
    expect(not summary, 'summary still has %s: %s' % (hidden, describe(summary)))


def t_err_bad_suppressions(ctx):
    """A malformed suppressions file: one line naming FILE:LINE, exit 1 or 2."""
    path = os.path.join(ctx.tmpdir(), 'bad.supp')
    with open(path, 'w') as f:
        f.write('# fine\nleak:ok\nrace:not_a_leak_type\n')
    p = error_run(ctx, ['--suppressions', path, '-c', '/bin/true'])
    expect(p.popen.returncode in (1, 2), 'exit status %s' % p.popen.returncode)
    line = list(p.err_lines)[0]
    expect('%s:3:' % path in line, 'stderr %r does not name %s:3' % (line, path))


def t_sampling_estimates(ctx):
    """--sample-bytes: per-stack estimates of bytes and counts within 4 sigma of the truth."""
    import math
    mean = 65536
    leaks = {'leak_small': (20000, 1000), 'leak_big': (50, 200000)}
    churn = 100000
    cmd = '%s %d %d %d %d %d' % (ctx.prog('sample_leaky'), leaks['leak_small'][0], leaks['leak_small'][1],
                                 leaks['leak_big'][0], leaks['leak_big'][1], churn)
    p = run_to_end(ctx, ['-T', '0', '--format', 'json', '--sample-bytes', str(mean), '-c', cmd], timeout=120)
    expect(p.popen.returncode == 0, 'exit status %s%s' % (p.popen.returncode, tail(p)))
    rep = final_report(p)
    expect(rep.get('sampling', {}).get('mean_bytes') == mean, 'no sampling block in the report: %r' % rep.get('sampling'))
    expect(rep['stats']['lost_events'] == 0, 'lost events: %r' % rep['stats'])
    # Unsampled blocks send nothing, their frees included.
    expect(rep['stats']['free_events'] < churn // 100, 'too many free records for sampling: %d' % rep['stats']['free_events'])
    proc = find_proc(rep, comm='sample_leaky')
    for fn, (count, size) in leaks.items():
        hits = [s for s in proc['stacks'] if s['frames'] and s['frames'][0]['func'] == fn]
        expect(len(hits) == 1, 'no single stack for %s: %s' % (fn, describe(proc['stacks'])))
        s = hits[0]
        prob = -math.expm1(-size / mean)
        sd_bytes = math.sqrt(count * size * size * (1 - prob) / prob)
        sd_count = math.sqrt(count * (1 - prob) / prob)
        expect(abs(s['bytes'] - count * size) <= 4 * sd_bytes + 1,
               '%s: estimated %d bytes, truth %d, sd %.0f' % (fn, s['bytes'], count * size, sd_bytes))
        expect(abs(s['allocs'] - count) <= 4 * sd_count + 1,
               '%s: estimated %d blocks, truth %d, sd %.1f' % (fn, s['allocs'], count, sd_count))
        expect(s['sampled_allocs'] <= count, '%s: %d sampled of %d' % (fn, s['sampled_allocs'], count))
    small = [s for s in proc['stacks'] if s['frames'] and s['frames'][0]['func'] == 'leak_small'][0]
    expect(small['sampled_allocs'] < leaks['leak_small'][0] // 10,
           'leak_small: %d of %d blocks recorded: not sampling' % (small['sampled_allocs'], leaks['leak_small'][0]))
    expect(not any(s['frames'] and s['frames'][0]['func'] == 'churn' for s in proc['stacks']),
           'churn blocks (all freed) reported: %s' % describe(proc['stacks']))


def t_deep_stack_truncated(ctx):
    """a stack deeper than 127 frames is kept (cut at 127) and counted in stats.stacks_truncated."""
    p = run_to_end(ctx, ['-T', '0', '--format', 'json', '-c', '%s 200' % ctx.prog('deep_leaky')])
    expect(p.popen.returncode == 0, 'exit status %s%s' % (p.popen.returncode, tail(p)))
    rep = final_report(p)
    proc = find_proc(rep, comm='deep_leaky')
    hits = [s for s in proc['stacks'] if s['bytes'] == 4242]
    expect(len(hits) == 1, 'no single 4242-byte stack: %s' % describe(proc['stacks']))
    frames = hits[0]['frames']
    expect(len(frames) == 127, '%d frames, want 127' % len(frames))
    expect(all(f['func'] == 'descend' for f in frames), 'not all frames are descend')
    expect(rep['stats']['stacks_truncated'] >= 1, 'stacks_truncated %r' % rep['stats'].get('stacks_truncated'))
    expect(rep['stats']['lost_events'] == 0, 'a truncated stack is not a lost event: %r' % rep['stats'])


def stripped_copy(ctx, name):
    """A copy of leaky without symbols or DWARF, and its debug file (returned)."""
    d = ctx.tmpdir()
    exe, debug = os.path.join(d, name), os.path.join(d, name + '.debug')
    shutil.copy(ctx.prog('leaky'), exe)
    for argv in (['objcopy', '--only-keep-debug', exe, debug],
                 ['strip', '--strip-debug', '--strip-unneeded', exe]):
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode:
            raise Skip('%s failed: %s' % (argv[0], r.stdout.decode(errors='replace')))
    return d, exe, debug


def t_debuglink(ctx):
    """a stripped binary is symbolized (names, lines) from its .gnu_debuglink file; a stale one is refused."""
    d, exe, debug = stripped_copy(ctx, 'leaky_dbglink')
    r = subprocess.run(['objcopy', '--add-gnu-debuglink=' + debug, exe])
    expect(r.returncode == 0, 'objcopy --add-gnu-debuglink failed')
    p = run_to_end(ctx, ['-T', '0', '--format', 'json', '-c', '%s run 1000' % exe])
    expect(p.popen.returncode == 0, 'exit status %s%s' % (p.popen.returncode, tail(p)))
    check_leaky(find_proc(final_report(p), comm='leaky_dbglink'), module='leaky_dbglink', exited=True)
    # The same name with other contents (CRC mismatch) must not be used.
    with open(debug, 'ab') as f:
        f.write(b'stale')
    p = run_to_end(ctx, ['-T', '0', '--format', 'json', '-c', '%s run 1000' % exe])
    proc = find_proc(final_report(p), comm='leaky_dbglink')
    named = [fr['func'] for s in proc['stacks'] for fr in s['frames'] if fr['func'] and fr['func'].startswith('leak_via')]
    expect(not named, 'a debug file with the wrong CRC was used: %r' % named[:3])


def t_build_id_debug_in_target_root(ctx):
    """a stripped binary is symbolized from /usr/lib/debug/.build-id as its own mount namespace sees it."""
    d, exe, debug = stripped_copy(ctx, 'leaky_buildid')
    bid = None
    r = subprocess.run(['readelf', '-n', debug], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    for line in r.stdout.decode(errors='replace').splitlines():
        if 'Build ID:' in line:
            bid = line.split('Build ID:')[1].strip()
    if not bid:
        raise Skip('no build-id in the test binary')
    dbgroot = os.path.join(d, 'debugroot')
    os.makedirs(os.path.join(dbgroot, '.build-id', bid[:2]))
    shutil.move(debug, os.path.join(dbgroot, '.build-id', bid[:2], bid[2:] + '.debug'))
    os.makedirs('/usr/lib/debug', exist_ok=True)
    # Only the target's mount namespace has this /usr/lib/debug.
    t = ctx.target(['unshare', '--mount', '--propagation', 'private', 'sh', '-c',
                    'mount --bind "$0" /usr/lib/debug && exec "$1" wait', dbgroot, exe], 'leaky_buildid')
    if not t.expect_line('ready', 15):
        raise Skip('cannot run a target in its own mount namespace%s' % tail(t))
    expect(not os.path.exists(os.path.join('/usr/lib/debug/.build-id', bid[:2], bid[2:] + '.debug')),
           'the debug file is visible on the host: the test would not prove a per-root lookup')
    p = ctx.lt(['-T', '0', '--format', 'json', '-p', str(t.pid)])
    wait_probes(p.pid, min_wait=0.5, max_wait=8)
    leak_interrupt_check(p, t, module='leaky_buildid')


# tests/progs/nofp: built with Debian's default flags, no frame pointers.
# Each leak: (count, size, [(func, module, source file, site or None), ...]
# from frames[0] outwards); every stack must then reach _start.
NOFP_SRC = 'nofp/nofp_leaky.c'
NOFP_LIB_SRC = 'nofp/nofp_lib.cc'


def nofp_leaks(exe_module='nofp_leaky'):
    c, lib = source_sites(NOFP_SRC), source_sites(NOFP_LIB_SRC)
    main = [('run_leaks', exe_module, 'nofp_leaky.c', None), ('main', exe_module, 'nofp_leaky.c', c['main'])]
    return {
        'direct': (7, 48, [('leak_direct', exe_module, 'nofp_leaky.c', c['leak_direct']),
                           ('via_direct', exe_module, 'nofp_leaky.c', c['via_direct']),
                           ('run_leaks', exe_module, 'nofp_leaky.c', c['run_leaks_direct']), main[1]]),
        'strdup': (5, 24, [(None, 'libc.so.6', None, None),
                           ('leak_strdup', exe_module, 'nofp_leaky.c', c['leak_strdup']),
                           ('via_strdup', exe_module, 'nofp_leaky.c', c['via_strdup']),
                           ('run_leaks', exe_module, 'nofp_leaky.c', c['run_leaks_strdup']), main[1]]),
        'cxx': (3, 40, [('operator new(unsigned long)', 'libstdc++.so.6', None, None),
                        ('nofp::Registry::add(int)', 'libnofp.so', 'nofp_lib.cc', lib['registry_add']),
                        ('nofp_lib_make_record', 'libnofp.so', 'nofp_lib.cc', lib['nofp_lib_make_record']),
                        ('via_cxx', exe_module, 'nofp_leaky.c', c['via_cxx']),
                        ('run_leaks', exe_module, 'nofp_leaky.c', c['run_leaks_cxx']), main[1]]),
    }


def module_is(fr, want):
    m = os.path.basename(fr.get('module') or '')
    return m == want or m.startswith(want + '.')


def check_nofp(proc, exe_module='nofp_leaky'):
    """Every nofp leak in one stack: exact bytes and count, each expected
    frame in order from frames[0] with its module, file and line, and the
    stack complete down to _start."""
    problems = []
    for what, (count, size, want) in nofp_leaks(exe_module).items():
        anchor = want[1][0]  # the program's own function next to the allocator call
        hits = [s for s in proc['stacks'] if anchor in stack_funcs(s)]
        if len(hits) != 1:
            problems.append('%s: %d stacks with %s (stacks: %s)' % (what, len(hits), anchor, describe(proc['stacks'], 8)))
            continue
        s = hits[0]
        if (s['bytes'], s['allocs']) != (count * size, count):
            problems.append('%s: %d bytes in %d allocs, expected %d in %d' % (
                what, s['bytes'], s['allocs'], count * size, count))
        fr = s['frames']
        names = [frame_name(f) for f in fr]
        for i, (func, module, src, line) in enumerate(want):
            if i >= len(fr):
                problems.append('%s: stack ends after %d frames: %s' % (what, len(fr), names))
                break
            f = fr[i]
            if func is not None and f.get('func') != func:
                problems.append('%s: frames[%d] is %r, expected %r (frames: %s)' % (what, i, f.get('func'), func, names[:8]))
                break
            if not module_is(f, module):
                problems.append('%s: frames[%d] module %r, expected %s' % (what, i, f.get('module'), module))
            if src is not None and os.path.basename(f.get('file') or '') != src:
                problems.append('%s: frames[%d] file %r, expected %s' % (what, i, f.get('file'), src))
            if line is not None and f.get('line') != line:
                problems.append('%s: frames[%d] (%s) line %r, expected %d' % (what, i, func, f.get('line'), line))
        if not fr or fr[-1].get('func') != '_start' or not module_is(fr[-1], exe_module):
            problems.append('%s: the stack does not end at %s\'s _start: %s' % (what, exe_module, names))
    if problems:
        raise Fail('pid %d: %s%s' % (proc['pid'], '; '.join(problems[:4]),
                                     ' (+%d more)' % (len(problems) - 4) if len(problems) > 4 else ''))


def start_waiting_nofp(ctx, exe=None, argv_prefix=(), name='nofp_leaky'):
    t = ctx.target(list(argv_prefix) + [exe or ctx.prog('nofp_leaky'), 'wait'], name)
    if not t.expect_line('ready', 15):
        raise Fail('%s did not print "ready" (rc=%s)%s' % (name, t.poll(), tail(t)))
    return t


def nofp_attach_and_check(ctx, t, exe_module='nofp_leaky'):
    p = attach_pid(ctx, ['-T', '0', '--format', 'json', '-p', str(t.pid)])
    trigger(t)
    time.sleep(0.7)
    rc = interrupt(p, signal.SIGINT)
    expect(rc == 0, 'exit status %s after SIGINT%s' % (rc, tail(p)))
    check_nofp(find_proc(final_report(p), pid=t.pid), exe_module)


def t_nofp_c_run(ctx):
    """no frame pointers (Debian flags): malloc, strdup and C++ new in a library, each stack exact to main and _start."""
    p = run_to_end(ctx, ['-T', '0', '--format', 'json', '-c', ctx.prog('nofp_leaky') + ' run'])
    expect(p.popen.returncode == 0, 'exit status %s%s' % (p.popen.returncode, tail(p)))
    check_nofp(find_proc(final_report(p, strict=True), comm='nofp_leaky'))


def t_nofp_unwind_fp_cannot(ctx):
    """--unwind fp on the no-frame-pointer program loses the callers: the check above would fail without .eh_frame unwinding."""
    p = run_to_end(ctx, ['-T', '0', '--format', 'json', '--unwind', 'fp', '-c', ctx.prog('nofp_leaky') + ' run'])
    expect(p.popen.returncode == 0, 'exit status %s%s' % (p.popen.returncode, tail(p)))
    proc = find_proc(final_report(p), comm='nofp_leaky')
    try:
        check_nofp(proc)
    except Fail:
        pass
    else:
        raise Fail('frame pointers alone produced complete stacks: this binary does not test unwinding')
    reached = [s for s in proc['stacks'] if 'main' in stack_funcs(s)]
    expect(not reached, '--unwind fp reached main through frames without frame pointers: %s' % describe(reached))


def t_nofp_p_attach(ctx):
    """-p on a running no-frame-pointer program: tables built at attach, stacks exact to _start."""
    nofp_attach_and_check(ctx, start_waiting_nofp(ctx))


def t_nofp_stripped_debuglink(ctx):
    """the no-frame-pointer program stripped, its debug info in a .gnu_debuglink file: unwound and named exactly."""
    d = ctx.tmpdir()
    exe, debug = os.path.join(d, 'nofp_leaky'), os.path.join(d, 'nofp_leaky.debug')
    shutil.copy(ctx.prog('nofp_leaky'), exe)
    shutil.copy(ctx.prog('libnofp.so'), d)
    for argv in (['objcopy', '--only-keep-debug', exe, debug],
                 ['strip', '--strip-debug', '--strip-unneeded', exe],
                 ['objcopy', '--add-gnu-debuglink=' + debug, exe]):
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode:
            raise Skip('%s failed: %s' % (argv[0], r.stdout.decode(errors='replace')))
    r = subprocess.run(['nm', exe], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    expect(b'leak_direct' not in r.stdout, 'strip left the symbols in place')
    p = run_to_end(ctx, ['-T', '0', '--format', 'json', '-c', exe + ' run'])
    expect(p.popen.returncode == 0, 'exit status %s%s' % (p.popen.returncode, tail(p)))
    check_nofp(find_proc(final_report(p), comm='nofp_leaky'))


def t_nofp_own_root(ctx):
    """a program in its own mount namespace, whose path shows another binary on the host, is unwound and named from its own file."""
    d = ctx.tmpdir()
    app = os.path.join(d, 'app')
    shutil.copy(ctx.prog('leaky'), app)       # what the host sees at that path
    shutil.copy(ctx.prog('libnofp.so'), d)
    inner = os.path.join(d, 'inner')
    os.makedirs(inner)
    shutil.copy(ctx.prog('nofp_leaky'), os.path.join(inner, 'app'))
    t = start_waiting_nofp(ctx, exe=app, name='app', argv_prefix=[
        'unshare', '--mount', '--propagation', 'private', 'sh', '-c',
        'mount --bind "$0" "$1" && exec "$@"', os.path.join(inner, 'app')])
    nofp_attach_and_check(ctx, t, exe_module='app')


def t_short_lived_children(ctx):
    """children of a shell living a few ms: every frame named (code mappings sent by the kernel at exit); stacks whole once the files' unwind tables are in."""
    prog = ctx.prog('nofp_leaky')
    p = run_to_end(ctx, ['-T', '0', '--format', 'json', '-c', "sh -c '%s run; sleep 0.3; %s run; %s run'" % (prog, prog, prog)])
    expect(p.popen.returncode == 0, 'exit status %s%s' % (p.popen.returncode, tail(p)))
    procs = sorted((q for q in final_report(p)['processes'] if q['comm'] == 'nofp_leaky'),
                   key=lambda q: q['pid'])
    expect(len(procs) == 3, '%d nofp_leaky processes in the report, expected 3' % len(procs))
    for q in procs:
        # The innermost frames are named in every one, even the first, which
        # can run before its files' unwind tables are loaded.
        for what, (count, size, want) in nofp_leaks().items():
            hits = [s for s in q['stacks'] if s['frames'] and module_is(s['frames'][0], want[0][1])
                    and (s['bytes'], s['allocs']) == (count * size, count)]
            expect(hits, 'pid %d: no %s stack of %d x %d bytes at %s (stacks: %s)' % (
                q['pid'], what, count, size, want[0][1], describe(q['stacks'], 8)))
            unnamed = [fr for s in hits for fr in s['frames'][:1] if not fr.get('func')]
            expect(not unnamed, 'pid %d: %s frame 0 unnamed: %r' % (q['pid'], what, unnamed[:1]))
    for q in procs[1:]:
        check_nofp(q)


def t_exited_before_read(ctx):
    """processes gone before leaktrace reads anything (it is stopped meanwhile) are still named: the kernel sends their code mappings at exit."""
    prog = ctx.prog('nofp_leaky')
    p = ctx.lt(['-T', '0', '--format', 'json', '-c', "sh -c 'sleep 1; %s run; %s run'" % (prog, prog)])
    expect(p.expect_err_line('leaktrace: tracing', 30), 'leaktrace did not start tracing' + tail(p))
    p.signal(signal.SIGSTOP)
    try:
        time.sleep(2.5)  # sleep 1, then both runs start and exit while we are stopped
    finally:
        p.signal(signal.SIGCONT)
    rc = p.wait(60)
    expect(rc == 0, 'exit status %s%s' % (rc, tail(p)))
    procs = [q for q in final_report(p)['processes'] if q['comm'] == 'nofp_leaky']
    expect(len(procs) == 2, '%d nofp_leaky processes in the report, expected 2' % len(procs))
    for q in procs:
        for what, (count, size, want) in nofp_leaks().items():
            func, module = want[0][0], want[0][1]
            hits = [s for s in q['stacks'] if s['frames'] and module_is(s['frames'][0], module)
                    and (s['bytes'], s['allocs']) == (count * size, count)]
            expect(hits, 'pid %d: no %s stack of %d x %d bytes at %s (stacks: %s)' % (
                q['pid'], what, count, size, module, describe(q['stacks'], 8)))
            f0 = hits[0]['frames'][0]
            expect(f0.get('func') and (func is None or f0['func'] == func),
                   'pid %d: %s frame 0 is %r, expected %r' % (q['pid'], what, f0.get('func'), func))


# ---------------------------------------------------------------------------
# Python (tests/progs/py_leaky.py prints the true numbers on a PYLEAKY line)
# ---------------------------------------------------------------------------

PY_LEAKY = os.path.join(SRC_PROGS, 'py_leaky.py')


# Debian unstable's 3.14 and 3.15 with their own glibc (make sid-pythons),
# each run through a wrapper that execs its ld.so: set in main().
SID_RUN = None


def pythons_found():
    """(name, path) of every CPython 3.8-3.15 on the machine."""
    found = []
    if os.access('/usr/bin/python3.11', os.X_OK):
        found.append(('debian-3.11', '/usr/bin/python3.11'))
    for d in sorted(glob.glob('/root/.pyenv/versions/3.*')):
        ver = os.path.basename(d)
        minor = ver.split('.')[1] if ver.count('.') >= 1 else ''
        exe = os.path.join(d, 'bin', 'python3.' + minor)
        if minor.isdigit() and 8 <= int(minor) <= 13 and os.access(exe, os.X_OK):
            found.append(('pyenv-' + ver, exe))
    # The static python3.X, then a program linking the shared libpython.
    for minor in (14, 15):
        for kind in ('', '-shared'):
            exe = os.path.join(SID_RUN or '', 'python3.%d%s' % (minor, kind))
            if SID_RUN and os.access(exe, os.X_OK):
                found.append(('sid-3.%d%s' % (minor, kind), exe))
    return found


def pyleaky_truth(lines):
    for line in lines:
        if line.startswith('PYLEAKY '):
            return json.loads(line[len('PYLEAKY '):])
    raise Fail('py_leaky printed no PYLEAKY line')


def py_type(proc, name):
    for t in proc.get('types', []):
        if t['type'] == name:
            return t
    return None


def check_python_proc(proc, truth, *, within=0.02, key='objects'):
    """Leaking types counted within 2 % (key 'delta_objects': their growth
    since the previous report), the churn type not growing, each leak's
    traceback exact (function and line of every frame)."""
    expect('python' in proc and 'types' in proc, 'no Python section for pid %d' % proc['pid'])
    want = {'LeakyItem': truth['items'], 'dict': truth['dicts']}
    for name, n in want.items():
        t = py_type(proc, name)
        expect(t is not None, 'type %s missing (types: %s)' % (
            name, [(x['type'], x['objects']) for x in proc['types'][:8]]))
        expect(abs(t[key] - n) <= within * n,
               '%s: %s %d, the program made %d' % (name, key, t[key], n))
    churn = py_type(proc, 'ChurnItem')
    expect(churn is None or (churn['objects'] == 0 and churn['delta_objects'] == 0),
           'ChurnItem shows %r, expected no live objects and no growth' % churn)
    stacks = proc['python']['stacks']
    for site, frames in truth['stacks'].items():
        want_frames = [(f, l) for f, l in reversed(frames)]  # innermost first
        hits = [s for s in stacks if [(fr['func'], fr['line']) for fr in s['frames']][:len(want_frames)] == want_frames]
        expect(hits, '%s: no traceback %s (tracebacks: %s)' % (site, want_frames, [
            [(fr['func'], fr['line']) for fr in s['frames']][:5] for s in stacks[:4]]))
        files = {os.path.basename(fr['file']) for s in hits for fr in s['frames'][:len(want_frames)]}
        expect(files == {'py_leaky.py'}, '%s: frames in files %s' % (site, files))
        expect(all(fr.get('lang') == 'python' for s in hits for fr in s['frames']),
               '%s: frames not marked "lang":"python"' % site)
    churn_line = truth['churn_sites']['churn_item']
    for s in stacks:
        expect(not any(fr['line'] == churn_line and os.path.basename(fr['file']) == 'py_leaky.py'
                       for fr in s['frames'][:1]), 'the churn line holds objects: %s' % s['frames'][:2])


def t_python_p_attach(ctx):
    """Python 3.8-3.15 (every interpreter found): -p on a running script; leaking types within 2 %, churn zero, exact tracebacks; objgraph agrees (Debian 3.11)."""
    found = pythons_found()
    expect(found, 'no CPython 3.8-3.15 found')
    # Always shown: which interpreters this run covered.
    print('  Pythons found: %s' % ', '.join(n for n, _ in found), flush=True)
    for name, exe in found:
        # Scaled up: CPython parks up to 80 freed dicts in a free list, never
        # released, so they still look alive; against 6000 that is within 2 %.
        t = ctx.target([exe, PY_LEAKY, 'wait', '3'], name)
        if not t.expect_line('ready', 30):
            raise Fail('%s: py_leaky did not print "ready"%s' % (name, tail(t)))
        p = attach_pid(ctx, ['-T', '0', '-o', '0', '--format', 'json', '-p', str(t.pid)])
        trigger(t)
        truth = pyleaky_truth(t.out_lines)
        rc = interrupt(p, signal.SIGINT)
        expect(rc == 0, '%s: exit status %s%s' % (name, rc, tail(p)))
        proc = find_proc(final_report(p), pid=t.pid)
        try:
            check_python_proc(proc, truth)
        except Fail as e:
            raise Fail('%s: %s' % (name, e))
        og = truth.get('objgraph')
        if og:
            for tname in ('LeakyItem', 'ChurnItem'):
                got = py_type(proc, tname)
                got_delta = got['delta_objects'] if got else 0
                expect(got_delta == og.get(tname, 0),
                       '%s: %s grew by %d for leaktrace, by %s for objgraph' % (name, tname, got_delta, og.get(tname)))
            log('%s: objgraph growth %s matches' % (name, og))
        t.send('exit\n')
        t.wait(10)


def t_python_system_wide(ctx):
    """no target: a Python started after leaktrace is found and its objects traced (pyenv 3.12, shared libpython; Debian's 3.15 with its own libc)."""
    found = pythons_found()
    runs = [(n, exe) for n, exe in found if n.startswith('pyenv-3.12') or n == 'sid-3.15'] or found[:1]
    expect(runs, 'no CPython found')
    print('  Pythons: %s' % ', '.join(n for n, _ in runs), flush=True)
    for name, exe in runs:
        try:
            system_wide_run(ctx, exe)
        except Fail as e:
            raise Fail('%s: %s' % (name, e))


def system_wide_run(ctx, exe):
    p = ctx.lt(['-T', '0', '-o', '0', '--format', 'json'])
    wait_probes(p.pid, min_wait=2.0, max_wait=10)
    expect(p.poll() is None, 'leaktrace exited early with status %s%s' % (p.poll(), tail(p)))
    t = ctx.target([exe, PY_LEAKY, 'wait', '3'], 'py_leaky')
    if not t.expect_line('ready', 30):
        raise Fail('py_leaky did not print "ready"%s' % tail(t))
    time.sleep(1.0)  # its mappings are seen with its first allocations
    # Its start-up objects count too (it started after leaktrace): the
    # check is on the growth between a report taken now and the final one.
    p.signal(signal.SIGUSR1)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not any(l.startswith('{') for l in p.out_lines):
        time.sleep(0.1)
    expect(any(l.startswith('{') for l in p.out_lines), 'no report after SIGUSR1' + tail(p))
    trigger(t)
    truth = pyleaky_truth(t.out_lines)
    rc = interrupt(p, signal.SIGINT)
    expect(rc == 0, 'exit status %s%s' % (rc, tail(p)))
    check_python_proc(find_proc(final_report(p), pid=t.pid), truth, key='delta_objects')
    t.send('exit\n')
    t.wait(10)


def native_mixed_run(ctx, name, exe, ext_dir):
    script = os.path.join(SRC_PROGS, 'pyext', 'py_native.py')
    c_sites, py_sites = source_sites('pyext/leakyext.c'), source_sites('pyext/py_native.py')
    p = run_to_end(ctx, ['-T', '0', '--native', '--format', 'json', '-c', '%s %s %s' % (exe, script, ext_dir)])
    expect(p.popen.returncode == 0, 'exit status %s%s' % (p.popen.returncode, tail(p)))
    procs = [q for q in final_report(p)['processes'] if 'python' in q]
    expect(len(procs) == 1, '%d Python processes in the report' % len(procs))
    proc = procs[0]
    hits = [s for s in proc['stacks'] if s['frames'] and s['frames'][0]['func'] == 'leak_block']
    expect(len(hits) == 1, '%d stacks at leak_block (stacks: %s)' % (len(hits), describe(proc['stacks'])))
    s = hits[0]
    expect((s['bytes'], s['allocs']) == (9 * 777, 9), 'leak_block: %d bytes in %d, want %d in 9' % (
        s['bytes'], s['allocs'], 9 * 777))
    fr = s['frames']
    expect(fr[0]['line'] == c_sites['leak_block'], 'leak_block line %r, want %d' % (fr[0]['line'], c_sites['leak_block']))
    expect(fr[1]['func'] == 'leakyext_leak' and fr[1]['line'] == c_sites['leakyext_leak'],
           'frames[1] is %r line %r, want leakyext_leak:%d' % (fr[1]['func'], fr[1]['line'], c_sites['leakyext_leak']))
    py = [(f['func'], f['line']) for f in fr if f.get('lang') == 'python']
    want = [('call_ext', py_sites['call_ext']), ('main', py_sites['main']), ('<module>', py_sites['module'])]
    expect(py == want, 'Python frames %s, want %s' % (py, want))
    first_py = next(i for i, f in enumerate(fr) if f.get('lang') == 'python')
    expect(all(f.get('lang') != 'python' for f in fr[:first_py]) and first_py >= 2,
           'Python frames not spliced after the C frames: %s' % [frame_name(f) for f in fr[:first_py + 3]])
    expect(any(f['func'] == 'Py_RunMain' for f in fr[first_py:]) and fr[-1]['func'] == '_start',
           'the native stack does not go on to Py_RunMain and _start after the Python frames: %s' %
           [frame_name(f) for f in fr[first_py:]])


def t_python_native_mixed(ctx):
    """--native (Debian 3.11, and Debian's 3.14 and 3.15 static and shared): a leak in a C extension shows the C function (file:line) and, spliced in, the Python lines that called it."""
    runs = []
    for name, exe in pythons_found():
        ver = name.split('-')[1] if name.startswith('sid-') else None
        if name == 'debian-3.11':
            runs.append((name, exe, os.path.join(ctx.args.progs, 'pyext')))
        elif ver and os.path.exists(os.path.join(ctx.args.progs, 'pyext', ver, 'leakyext.so')):
            runs.append((name, exe, os.path.join(ctx.args.progs, 'pyext', ver)))
    if not runs:
        raise Skip('neither Debian python3.11 nor 3.14/3.15 with their test extension here')
    print('  Pythons: %s' % ', '.join(n for n, _, _ in runs), flush=True)
    for name, exe, ext_dir in runs:
        try:
            native_mixed_run(ctx, name, exe, ext_dir)
        except Fail as e:
            raise Fail('%s: %s' % (name, e))


PY_GROWTH = os.path.join(SRC_PROGS, 'py_growth.py')
PY_GROWTH_RATE = 200


def python_verdicts_run(ctx, name, exe):
    t = ctx.target([exe, PY_GROWTH, str(PY_GROWTH_RATE)], 'py_growth')
    if not t.expect_line('ready', 30):
        raise Fail('py_growth did not print "ready"%s' % tail(t))
    proc = find_proc(trend_reports(ctx, t)[-1], pid=t.pid)
    types = {ty['type']: ty for ty in proc.get('types', [])}
    summary = {n: (ty['objects'], ty.get('verdict'), ty.get('growth_objects_per_s'))
               for n, ty in types.items() if n in ('Leaked', 'Cached', 'Churned')}
    log('%s: verdicts %s' % (name, summary))
    leaked = types.get('Leaked', {})
    expect(leaked.get('verdict') == 'growing', 'Leaked: verdict %r, want growing (%s)' % (
        leaked.get('verdict'), summary))
    rate = leaked.get('growth_objects_per_s') or 0
    expect(abs(rate - PY_GROWTH_RATE) <= 0.3 * PY_GROWTH_RATE,
           'Leaked: %.0f objects/s, want %d within 30 %%' % (rate, PY_GROWTH_RATE))
    expect(types.get('Cached', {}).get('verdict') == 'stable' and types['Cached']['objects'] == 500,
           'Cached: %r, want 500 objects, stable' % (types.get('Cached'),))
    churned = types.get('Churned')
    expect(churned is None or churned.get('verdict') != 'growing', 'Churned: %r' % (churned,))
    t.send('exit\n')
    t.wait(10)


def t_python_verdicts(ctx):
    """Python 3.8-3.15 (every interpreter found), -p with 0.5 s interval reports: a type appended to a list at 200 objects/s is "growing" at that rate within 30 %; a filled cache is "stable"; a churned type never "growing"."""
    found = pythons_found()
    expect(found, 'no CPython 3.8-3.15 found')
    print('  Pythons: %s' % ', '.join(n for n, _ in found), flush=True)
    for name, exe in found:
        try:
            python_verdicts_run(ctx, name, exe)
        except Fail as e:
            raise Fail('%s: %s' % (name, e))


def t_python_c_run(ctx):
    """-c on a Python script run to its end (Debian 3.11, and Debian's 3.14 and 3.15 static and shared, each through its own ld.so): what it held when the interpreter began to shut down."""
    runs = [(n, exe) for n, exe in pythons_found() if n == 'debian-3.11' or n.startswith('sid-')]
    if not runs:
        found = pythons_found()
        expect(found, 'no CPython found')
        runs = found[:1]
    print('  Pythons: %s' % ', '.join(n for n, _ in runs), flush=True)
    for name, exe in runs:
        p = run_to_end(ctx, ['-T', '0', '--format', 'json', '-c', '%s %s run' % (exe, PY_LEAKY)], timeout=150)
        expect(p.popen.returncode == 0, '%s: exit status %s%s' % (name, p.popen.returncode, tail(p)))
        truth = pyleaky_truth(p.out_lines)
        rep = final_report(p)
        procs = [q for q in rep['processes'] if 'python' in q]
        expect(len(procs) == 1, '%s: %d Python processes in the report' % (name, len(procs)))
        expect(procs[0]['python']['at_shutdown'], '%s: the counts are not from the start of shutdown' % name)
        # Under -c every dict since start-up counts; the leaking class is exact.
        t = py_type(procs[0], 'LeakyItem')
        expect(t and t['objects'] == truth['items'], '%s: LeakyItem: %r, the program made %d' % (
            name, t, truth['items']))
        expect(py_type(procs[0], 'dict')['objects'] >= truth['dicts'], '%s: fewer dicts than the cache holds' % name)


def t_cli_any_order(ctx):
    """options after INTERVAL/COUNT and between operands, GNU style; "--" then a command run as with -c, its own options untouched."""
    leaky = ctx.prog('leaky')
    # INTERVAL first, options after it, the command (with an option of its
    # own that is also one of ours) after "--": one final JSON report.
    p = run_to_end(ctx, ['30', '--format', 'json', '-T', '0', '--', leaky, 'run', '1000'])
    expect(p.popen.returncode == 0, 'exit status %s%s' % (p.popen.returncode, tail(p)))
    proc = find_proc(final_report(p), comm='leaky')
    expect((proc['outstanding_bytes'], proc['outstanding_allocs']) == (LEAKY_TOTAL_BYTES, LEAKY_TOTAL_ALLOCS),
           '-- form: %d bytes in %d, want %d in %d' % (proc['outstanding_bytes'], proc['outstanding_allocs'],
                                                       LEAKY_TOTAL_BYTES, LEAKY_TOTAL_ALLOCS))
    # The issue's own example: -c, then INTERVAL, then options.
    p = run_to_end(ctx, ['-c', leaky_cmd(ctx, 1000), '30', '--format', 'json', '-T', '0'])
    expect(p.popen.returncode == 0, 'exit status %s%s' % (p.popen.returncode, tail(p)))
    proc = find_proc(final_report(p), comm='leaky')
    expect(proc['outstanding_allocs'] == LEAKY_TOTAL_ALLOCS, '-c form: %d allocations' % proc['outstanding_allocs'])


def t_demo(ctx):
    """make demo's script: the C service's two leaks exact, the Python service's Session type "growing" at 100/s (within 30 %) from open_session's line, the HTML page written; nothing left running."""
    repo = os.path.dirname(os.path.dirname(SRC_PROGS))
    service = os.path.join(os.path.dirname(os.path.dirname(ctx.args.progs)), 'demo', 'leaky_service')
    if not os.access('/usr/bin/python3', os.X_OK):
        raise Skip('no /usr/bin/python3')
    out = ctx.tmpdir()
    r = subprocess.run([os.path.join(repo, 'tools', 'demo', 'run_demo.sh'), ctx.args.leaktrace, service,
                        os.path.join(repo, 'tools', 'demo', 'leaky_service.py'), out],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    text = r.stdout.decode(errors='replace')
    expect(r.returncode == 0, 'demo exit status %d: %s' % (r.returncode, text[-800:]))
    expect('12960 bytes in 180 allocations' in text and '5120 bytes in 20 allocations' in text,
           'the C leaks are not as the demo says: %s' % text[:1500])
    rows = re.findall(r'^    Session +(\d+) +(\d+) +\+(\d+)  growing \+(\d+)/s$', text, re.M)
    expect(rows, 'no "Session ... growing" row: %s' % text[-3000:])
    rate = int(rows[-1][3])
    expect(70 <= rate <= 130, 'Session growing at %d/s, the service makes 100/s' % rate)
    expect(re.search(r'open_session \(.*leaky_service\.py:42\) \[python\]', text),
           'no open_session frame at the Session line')
    page = os.path.join(out, 'python.html')
    expect(os.path.getsize(page) > 10000 if os.path.exists(page) else False, 'no HTML page at %s' % page)
    expect(not any('leaky_service.py' in ' '.join(p) for p in map(proc_cmdline, os.listdir('/proc'))),
           'the demo left its Python service running')


def proc_cmdline(pid):
    try:
        with open('/proc/%s/cmdline' % pid, 'rb') as f:
            return f.read().decode(errors='replace').split('\0')
    except (OSError, ValueError):
        return []


def mini_debuginfo_copy(ctx, name, payload=None):
    """A fully stripped copy of leaky whose only symbols are MiniDebugInfo
    (an xz-compressed ELF with the function symbols, in .gnu_debugdata), made
    the way distributions make it; payload replaces the compressed bytes."""
    d = ctx.tmpdir()
    exe = os.path.join(d, name)
    shutil.copy(ctx.prog('leaky'), exe)

    def run(argv, **kw):
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)
        if r.returncode:
            raise Skip('%s failed: %s' % (argv[0], r.stdout.decode(errors='replace')[:200]))
        return r.stdout.decode(errors='replace')

    def defined(args):
        return {f.split()[0] for f in run(['nm'] + args + ['--format=posix', '--defined-only', exe]).splitlines()
                if len(f.split()) >= 2 and (args or f.split()[1] in ('T', 't'))}
    keep = os.path.join(d, 'keep')
    with open(keep, 'w') as f:
        f.write('\n'.join(sorted(defined([]) - defined(['-D']))) + '\n')
    full, mini = os.path.join(d, 'full.debug'), os.path.join(d, 'mini')
    run(['objcopy', '--only-keep-debug', exe, full])
    run(['objcopy', '-S', '--remove-section', '.gdb_index', '--remove-section', '.comment',
         '--keep-symbols=' + keep, full, mini])
    run(['xz', '-k', mini])
    if payload is not None:
        with open(mini + '.xz', 'wb') as f:
            f.write(payload)
    run(['strip', '--strip-all', exe])
    run(['objcopy', '--add-section', '.gnu_debugdata=' + mini + '.xz', exe])
    return exe


def t_mini_debuginfo(ctx):
    """a fully stripped binary is named from its .gnu_debugdata; a corrupt one is ignored safely."""
    exe = mini_debuginfo_copy(ctx, 'leaky_mini')
    p = run_to_end(ctx, ['-T', '0', '--format', 'json', '-c', '%s run 1000' % exe])
    expect(p.popen.returncode == 0, 'exit status %s%s' % (p.popen.returncode, tail(p)))
    proc = find_proc(final_report(p), comm='leaky_mini')
    for fn, (count, size) in LEAKY_LEAKS.items():
        hits = [s for s in proc['stacks'] if s['frames'] and s['frames'][0]['func'] == fn]
        expect(len(hits) == 1 and (hits[0]['bytes'], hits[0]['allocs']) == (count * size, count),
               '%s: not named or wrong numbers: %s' % (fn, describe(proc['stacks'], 14)))
        expect([f['func'] for f in hits[0]['frames'][1:4]] == LEAKY_CALLERS[:3],
               '%s callers %r' % (fn, [f['func'] for f in hits[0]['frames'][1:4]]))
    bad = mini_debuginfo_copy(ctx, 'leaky_badmini', payload=b'\xfd7zXZ\x00' + os.urandom(4000))
    p = run_to_end(ctx, ['-T', '0', '--format', 'json', '-c', '%s run 1000' % bad])
    expect(p.popen.returncode == 0, 'exit status %s with a corrupt .gnu_debugdata%s' % (p.popen.returncode, tail(p)))
    proc = find_proc(final_report(p), comm='leaky_badmini')
    expect((proc['outstanding_bytes'], proc['outstanding_allocs']) == (LEAKY_TOTAL_BYTES, LEAKY_TOTAL_ALLOCS),
           'numbers changed with a corrupt .gnu_debugdata')


def t_deleted_binary(ctx):
    """a running binary deleted (as by an upgrade) before attaching still gets names and lines."""
    d = ctx.tmpdir()
    exe = os.path.join(d, 'leaky_deleted')
    shutil.copy(ctx.prog('leaky'), exe)
    t = ctx.target([exe, 'wait'], 'leaky_deleted')
    if not t.expect_line('ready', 15):
        raise Fail('leaky_deleted did not start%s' % tail(t))
    os.unlink(exe)
    with open(exe, 'wb') as f:  # a different file under the old name
        f.write(b'\x7fELF not really')
    p = ctx.lt(['-T', '0', '--format', 'json', '-p', str(t.pid)])
    wait_probes(p.pid, min_wait=0.5, max_wait=8)
    leak_interrupt_check(p, t, module='leaky_deleted')


def t_summary_across_processes(ctx):
    """two processes of one binary: identical stacks are summed in the summary, with processes = 2."""
    a = start_waiting_leaky(ctx, churn=1000, name='leaky A')
    b = start_waiting_leaky(ctx, churn=1000, name='leaky B')
    p = ctx.lt(['-T', '0', '--format', 'json', '-p', str(a.pid), '-p', str(b.pid)])
    wait_probes(p.pid, min_wait=0.5, max_wait=8)
    trigger(a)
    trigger(b)
    time.sleep(1.5)
    rc = interrupt(p, signal.SIGINT)
    expect(rc == 0, 'exit status %s after SIGINT%s' % (rc, tail(p)))
    rep = final_report(p)
    summ = rep.get('summary')
    expect(summ is not None, 'no summary in the report')
    expect((summ['outstanding_bytes'], summ['outstanding_allocs']) == (2 * LEAKY_TOTAL_BYTES, 2 * LEAKY_TOTAL_ALLOCS),
           'summary totals %d/%d, want %d/%d' % (summ['outstanding_bytes'], summ['outstanding_allocs'],
                                                 2 * LEAKY_TOTAL_BYTES, 2 * LEAKY_TOTAL_ALLOCS))
    for fn, (count, size) in LEAKY_LEAKS.items():
        hits = [s for s in summ['stacks'] if s['frames'] and s['frames'][0]['func'] == fn]
        expect(len(hits) == 1, '%s: %d summary stacks (ASLR must not split them): %s' % (fn, len(hits), describe(summ['stacks'], 14)))
        s = hits[0]
        expect((s['bytes'], s['allocs'], s.get('processes')) == (2 * count * size, 2 * count, 2),
               '%s: %d bytes in %d in %r processes, want %d in %d in 2' % (fn, s['bytes'], s['allocs'], s.get('processes'), 2 * count * size, 2 * count))


CGROUP2_ROOT = '/sys/fs/cgroup/unified'


def remove_cgroup(dirs, timeout=5.0):
    """rmdir dirs (innermost first) once their processes are gone; the problem or None."""
    for d in dirs:
        deadline = time.monotonic() + timeout
        while os.path.isdir(d):
            try:
                os.rmdir(d)
            except OSError as e:
                if time.monotonic() >= deadline:
                    return 'cannot remove cgroup %s: %s' % (d, e)
                time.sleep(0.1)
    return None


def t_container_cgroup(ctx):
    """leaky in a docker-<id>.scope cgroup: its cgroup and container id in the report, containers[] sums it."""
    if not os.path.exists(os.path.join(CGROUP2_ROOT, 'cgroup.procs')):
        raise Skip('no cgroup v2 hierarchy at %s' % CGROUP2_ROOT)
    cid = os.urandom(32).hex()
    parent = os.path.join(CGROUP2_ROOT, 'leaktrace-e2e-%s' % os.urandom(4).hex())
    leaf = os.path.join(parent, 'docker-%s.scope' % cid)
    try:
        os.makedirs(leaf)
    except OSError as e:
        remove_cgroup([leaf, parent])
        raise Skip('cannot create cgroup %s: %s' % (leaf, e))
    t = None
    try:
        t = start_waiting_leaky(ctx)
        try:
            with open(os.path.join(leaf, 'cgroup.procs'), 'w') as f:
                f.write('%d\n' % t.pid)
        except OSError as e:
            raise Skip('cannot move pid %d into %s: %s' % (t.pid, leaf, e))
        with open('/proc/%d/cgroup' % t.pid) as f:
            seen = [line[3:].rstrip('\n') for line in f if line.startswith('0::')]
        want = '/' + os.path.relpath(leaf, CGROUP2_ROOT)
        expect(seen and seen[0].endswith(want), 'pid %d is in cgroup %r after the move, not %s' % (
            t.pid, seen, want))
        want = seen[0]  # as the kernel shows it from here (cgroup namespaces)
        p = ctx.lt(['-T', '0', '--format', 'json', '-p', str(t.pid)])
        expect(p.expect_err_line('leaktrace: tracing', 60), 'leaktrace did not start' + tail(p))
        wait_probes(p.pid, min_wait=0.2, max_wait=8)
        trigger(t)
        time.sleep(1.5)
        rc = interrupt(p, signal.SIGINT)
        expect(rc == 0, 'exit status %s after SIGINT%s' % (rc, tail(p)))
        rep = final_report(p)
        proc = find_proc(rep, pid=t.pid)
        expect(proc['cgroup'] == want, 'cgroup is %r, expected %r' % (proc['cgroup'], want))
        expect(proc['container'] == cid, 'container is %r, expected %s' % (proc['container'], cid))
        check_leaky(proc, exited=False, min_age=1.0)
        cs = rep['containers']
        expect(len(cs) == 1, '%d entries in containers[]: %s' % (len(cs), cs))
        got = (cs[0]['container'], cs[0]['cgroup'], cs[0]['processes'], cs[0]['outstanding_bytes'],
               cs[0]['outstanding_allocs'])
        expect(got == (cid, want, 1, LEAKY_TOTAL_BYTES, LEAKY_TOTAL_ALLOCS),
               'containers[0] is %s, expected %s' % (got, (cid, want, 1, LEAKY_TOTAL_BYTES, LEAKY_TOTAL_ALLOCS)))
    finally:
        if t is not None and t.poll() is None:
            t.close_stdin()  # leaky exits on EOF
            if t.wait(5) is None:
                t.stop(grace=3)
        problem = remove_cgroup([leaf, parent])
        if problem:
            ctx.notes.append(problem)
    if problem:
        raise Fail(problem)


def t_inlined_frames(ctx):
    """-O2 code: each inlined function is its own frame, marked inlined, with its own line."""
    p = run_to_end(ctx, ['-T', '0', '--format', 'json', '-c', ctx.prog('inline_leaky')])
    expect(p.popen.returncode == 0, 'exit status %s%s' % (p.popen.returncode, tail(p)))
    proc = find_proc(final_report(p), comm='inline_leaky')
    hits = [s for s in proc['stacks'] if (s['bytes'], s['allocs']) == (9 * 777, 9)]
    expect(len(hits) == 1, 'no single stack of 9 x 777 bytes: %s' % describe(proc['stacks']))
    got = [(f['func'], f['line'], f['inlined']) for f in hits[0]['frames'][:4]]
    want = [('make_buffer', 14, True), ('make_record', 19, True), ('store_records', 25, False), ('main', 30, False)]
    expect(got == want, 'frames %r, want %r' % (got, want))
    expect(all(f['file'].endswith('inline_leaky.c') for f in hits[0]['frames'][:4]), 'files: %r' %
           [f['file'] for f in hits[0]['frames'][:4]])


def t_self_test(ctx):
    """--self-test: free's probe moved to an emulated instruction; single-stepped ones counted."""
    p = run_to_end(ctx, ['--self-test'], timeout=30)
    expect(p.popen.returncode == 0, 'exit status %s%s' % (p.popen.returncode, tail(p)))
    rows = {}
    for line in p.out_lines:
        f = line.split()
        if len(f) >= 5 and f[0] in ('malloc', 'free', 'calloc', 'realloc', 'posix_memalign'):
            rows[f[0]] = f
    expect(set(rows) == {'malloc', 'free', 'calloc', 'realloc', 'posix_memalign'}, 'rows: %r' % sorted(rows))
    expect(rows['free'][2] != '-' and rows['free'][3] == 'emulated', 'free not moved to an emulated instruction: %r' % rows['free'])
    expect(rows['malloc'][2] == '-' and rows['malloc'][3] == 'emulated', 'malloc row: %r' % rows['malloc'])
    stepped = sum(1 for line in p.out_lines
                  if line.startswith('  ') and len(line.split()) >= 5 and line.split()[3] == 'single-stepped')
    summary = [line for line in p.out_lines if line.endswith('moves rsp)')]
    expect(summary and summary[-1].startswith('%d single-stepped' % stepped),
           'summary %r does not count %d single-stepped rows' % (summary, stepped))


def t_ringbuf_overflow(ctx):
    """a stalled consumer with a 1 MiB ring buffer: drops are counted, reported and warned about."""
    t = start_waiting_leaky(ctx, churn=40000)
    p = ctx.lt(['--ringbuf-mb', '1', '--format', 'json', '-p', str(t.pid)])
    wait_probes(p.pid, min_wait=0.5, max_wait=8)
    p.signal(signal.SIGSTOP)  # the kernel keeps producing; nobody consumes
    try:
        trigger(t)
    finally:
        p.signal(signal.SIGCONT)
    time.sleep(1.0)
    rc = interrupt(p, signal.SIGINT)
    expect(rc == 0, 'exit status %s after SIGINT%s' % (rc, tail(p)))
    st = final_report(p)['stats']
    d = st['dropped']
    expect(st['lost_events'] > 0, 'no lost events reported: %r' % st)
    expect(st['lost_events'] == d['ringbuf_alloc'] + d['ringbuf_free'] + d['ringbuf_task'] + d['inflight_full'],
           'lost_events %d is not the sum of its causes %r' % (st['lost_events'], d))
    expect(d['ringbuf_alloc'] > 0 and d['ringbuf_free'] > 0, 'both allocs and frees should be dropped: %r' % d)
    expect(any('lost' in line for line in p.err_lines), 'no warning about lost events on stderr')


def t_ringbuf_grows(ctx):
    """default ring buffer: 4 MiB while idle; leaky's churn (400,000 pairs) grows it, with no record lost or applied out of order across the swaps: leaks exact, no unmatched free."""
    t = start_waiting_leaky(ctx, churn=400000)
    p = attach_pid(ctx, ['-T', '0', '--format', 'json', '-p', str(t.pid), '0.5'])
    time.sleep(1.0)
    first = None
    for line in p.out_lines:
        if line.startswith('{'):
            first = json.loads(line)['stats']
            break
    expect(first is not None, 'no interval report before the churn' + tail(p))
    expect(first['ringbuf_bytes'] == 4 << 20 and first['ringbuf_resizes'] == 0,
           'idle ring not at its 4 MiB start: %r' % first)
    trigger(t)
    time.sleep(1.5)
    rc = interrupt(p, signal.SIGINT)
    expect(rc == 0, 'exit status %s after SIGINT%s' % (rc, tail(p)))
    rep = final_report(p)
    st = rep['stats']
    log('ring buffer %d MiB after %d resizes' % (st['ringbuf_bytes'] >> 20, st['ringbuf_resizes']))
    expect(st['ringbuf_resizes'] >= 1 and st['ringbuf_bytes'] > 4 << 20,
           'the ring did not grow under the churn: %d bytes, %d resizes' %
           (st['ringbuf_bytes'], st['ringbuf_resizes']))
    expect(st['ringbuf_bytes'] <= 64 << 20, 'past the 64 MiB ceiling: %d' % st['ringbuf_bytes'])
    expect(st['unmatched_frees'] == 0, 'frees applied before their allocs: %d' % st['unmatched_frees'])
    check_leaky(find_proc(rep, pid=t.pid), exited=False, min_age=1.0)
    check_stats(rep, min_allocs=400000 + LEAKY_TOTAL_ALLOCS, min_frees=400000)


def t_sigkill_detaches(ctx):
    """leaktrace killed with SIGKILL leaves no probe behind, and the target keeps running."""
    t = start_waiting_leaky(ctx, churn=1000)
    before = list_probe_links()
    if before is None:
        raise Skip('bpftool cannot list links')
    p = ctx.lt(['-p', str(t.pid)])
    wait_probes(p.pid, min_wait=0.5, max_wait=8)
    expect(p.poll() is None, 'leaktrace exited early with status %s%s' % (p.poll(), tail(p)))
    during = set(list_probe_links() or {}) - set(before)
    expect(during, 'no uprobe link seen while leaktrace ran: the check below would prove nothing')
    p.signal(signal.SIGKILL)
    expect(p.wait(30) is not None, 'leaktrace did not die within 30 s of SIGKILL')
    left = during & set(list_probe_links() or {})
    expect(not left, 'links of the killed leaktrace remain: %r' % sorted(left))
    trigger(t)  # the target still works, untraced
    expect(t.poll() is None, 'target died after the tracer was killed')


def error_run(ctx, opts, prefix=(), exe=None, timeout=20):
    """Run leaktrace expecting a usage/environment error: non-zero exit (not a
    signal), exactly one line on stderr."""
    argv = list(prefix) + [exe or ctx.args.leaktrace] + list(opts)
    p = Proc(argv, 'leaktrace')
    ctx.lt_procs.append(p)
    rc = p.wait(timeout)
    if rc is None:
        raise Fail('%s still running after %ds' % (' '.join(opts), timeout))
    expect(rc >= 0, 'killed by signal %s' % (signal.Signals(-rc).name if -rc in signal.valid_signals() else -rc))
    expect(rc != 0, 'exit status 0')
    err = list(p.err_lines)
    while err and not err[-1].strip():
        err.pop()
    expect(len(err) == 1 and err[0].strip(), 'stderr has %d lines, expected exactly 1: %r' % (len(err), err[:4]))
    return p


def t_err_nonexistent_pid(ctx):
    """-p 999999 (no such process): one line on stderr, non-zero exit."""
    pid = 999999
    while os.path.exists('/proc/%d' % pid):
        pid -= 1
    error_run(ctx, ['-p', str(pid)])


def t_err_command_not_found(ctx):
    """-c /nonexistent/cmd: one line on stderr, non-zero exit."""
    error_run(ctx, ['-c', '/nonexistent/cmd'])


def t_err_O_missing(ctx):
    """-O /nonexistent: one line on stderr, non-zero exit."""
    error_run(ctx, ['-O', '/nonexistent/libfoo.so', '-c', '/bin/true'])


def t_err_O_not_elf(ctx):
    """-O /etc/hostname (not an ELF file): one line on stderr, non-zero exit."""
    path = '/etc/hostname'
    if not os.path.exists(path):
        d = ctx.tmpdir()
        path = os.path.join(d, 'not-elf')
        with open(path, 'w') as f:
            f.write('not an ELF file\n')
    error_run(ctx, ['-O', path, '-c', '/bin/true'])


def defines_malloc(path):
    nm = shutil.which('nm')
    if not nm:
        return None
    found = False
    for extra in (['-D'], []):
        r = subprocess.run([nm, '--defined-only'] + extra + [path], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, timeout=20)
        for line in r.stdout.decode(errors='replace').splitlines():
            parts = line.split()
            if parts and re.match(r'^malloc(@.*)?$', parts[-1]):
                found = True
    return found


def t_err_O_no_malloc(ctx):
    """-O on an ELF library that defines no malloc: one line on stderr, non-zero exit."""
    d = ctx.tmpdir()
    lib = os.path.join(d, 'libnomalloc.so')
    src = os.path.join(d, 'nomalloc.c')
    with open(src, 'w') as f:
        f.write('int lt_e2e_no_malloc_here(int x) { return x + 1; }\n')
    gcc = shutil.which('gcc')
    ok = gcc and subprocess.run([gcc, '-shared', '-fPIC', '-nostdlib', '-o', lib, src],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
    if not ok:
        lib = '/bin/true'
    has = defines_malloc(lib)
    if has:
        raise Skip('%s defines malloc' % lib)
    error_run(ctx, ['-O', lib, '-c', '/bin/true'])


def t_err_not_root(ctx):
    """unprivileged (setpriv nobody): one line on stderr, non-zero exit."""
    setpriv = shutil.which('setpriv')
    if not setpriv:
        raise Skip('no setpriv')
    prefix = [setpriv, '--reuid=nobody', '--regid=nogroup', '--clear-groups']
    exe = ctx.args.leaktrace
    r = subprocess.run(prefix + ['test', '-x', exe], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if r.returncode != 0:
        d = ctx.tmpdir()
        os.chmod(d, 0o755)
        exe = os.path.join(d, 'leaktrace')
        shutil.copy(ctx.args.leaktrace, exe)
        os.chmod(exe, 0o755)
    error_run(ctx, ['-c', 'true'], prefix=prefix, exe=exe)


def diff_rows(text):
    """`leaktrace diff` output as [(bytes growth, new bytes, count growth, new count, frames)]."""
    rows = []
    for line in text.splitlines():
        m = re.match(r'^([+-]\d+) B \(new total (\d+) B\) ([+-]\d+) (?:allocations|objects) '
                     r'\(new total (\d+)\) in .*:$', line)
        if m:
            rows.append(tuple(int(x) for x in m.groups()) + ([],))
        elif line.startswith('        ') and rows:
            rows[-1][4].append(line.strip())
    return rows


def t_snapshot_diff(ctx):
    """--snapshot A and B of diff_leaky 10 and 30; `leaktrace diff A B` (by stack and
    by line): leak_scaled +2000 B +20 allocations first, leak_fixed +0; a corrupt file
    gives exit 1 and one line."""
    d = ctx.tmpdir()
    exe = os.path.abspath(ctx.prog('diff_leaky'))
    snaps = {}
    for name, n in (('A', 10), ('B', 30)):
        snaps[name] = os.path.join(d, name)
        p = run_to_end(ctx, ['-T', '0', '-o', '0', '--snapshot', snaps[name], '-c', '%s %d' % (exe, n)])
        expect(p.popen.returncode == 0, 'exit status %s%s' % (p.popen.returncode, tail(p)))
        expect(os.path.exists(snaps[name]) and not os.path.exists(snaps[name] + '.tmp'),
               'snapshot %s not written (or .tmp left)' % name)
        with open(snaps[name]) as f:
            expect(f.readline() == 'leaktrace-snapshot 1\n', '%s: bad first line' % name)
    sites = source_sites('diff_leaky.c')
    for by in ('stack', 'line'):
        r = subprocess.run([ctx.args.leaktrace, 'diff', snaps['A'], snaps['B'], '--by', by],
                           capture_output=True, text=True, timeout=30)
        expect(r.returncode == 0, 'diff --by %s: exit %d: %s' % (by, r.returncode, r.stderr.strip()))
        rows = diff_rows(r.stdout)
        expect(rows, 'diff --by %s: no rows: %r' % (by, r.stdout[:300]))
        first = rows[0]
        expect(first[4] and first[4][0].startswith('leak_scaled '),
               'diff --by %s: first row is %s, not leak_scaled' % (by, first[4][:2]))
        expect(first[:4] == (2000, 3000, 20, 30), 'diff --by %s: leak_scaled row %s, want '
               '+2000 B (3000) +20 allocations (30)' % (by, first[:4]))
        fixed = [x for x in rows if x[4] and x[4][0].startswith('leak_fixed ')]
        expect(len(fixed) == 1 and fixed[0][:4] == (0, 500, 0, 5),
               'diff --by %s: leak_fixed rows %s, want one +0 B (500) +0 (5)' % (by, [x[:4] for x in fixed]))
        if by == 'line':
            expect(len(first[4]) == 1, 'diff --by line: %d frames in a row' % len(first[4]))
            for fn in ('leak_scaled', 'leak_fixed'):
                row = first if fn == 'leak_scaled' else fixed[0]
                want = 'diff_leaky.c:%d)' % sites[fn]
                expect(want in row[4][0], 'diff --by line: %s shows %r, want %s' % (fn, row[4][0], want))
        else:
            expect(any(f.startswith('main ') for f in first[4]), 'diff: leak_scaled stack lacks main: %s'
                   % first[4])
    bad = os.path.join(d, 'corrupt')
    with open(bad, 'w') as f:
        f.write('leaktrace-snapshot 1\nreport\t1\t0\nprocess\tx\n')
    p = error_run(ctx, ['diff', snaps['A'], bad])
    expect(p.popen.returncode == 1, 'diff on a corrupt file: exit %d, want 1' % p.popen.returncode)
    expect(bad + ':3:' in p.err_lines[0], 'diff on a corrupt file: %r lacks %s:3:' % (p.err_lines[0], bad))


SCENARIOS = [
    ('c_run', t_c_run),
    ('text_format', t_text_format),
    ('p_attach_sigint', t_p_attach_sigint),
    ('p_attach_exit', t_p_attach_exit),
    ('system_wide', t_system_wide),
    ('system_wide_own_libc', t_system_wide_own_libc),
    ('c_own_libc_from_start', t_c_own_libc_from_start),
    ('stacks_threads_and_coroutine', t_stacks_threads_and_coroutine),
    ('mmap', t_mmap),
    ('forker', t_forker),
    ('size_filter_window', t_size_filter_window),
    ('size_filter_max', t_size_filter_max),
    ('top1_bytes', t_top1_bytes),
    ('top1_sort_count', t_top1_sort_count),
    ('default_top_and_order', t_default_top_and_order),
    ('sort_count_all', t_sort_count_all),
    ('age_filter_usr1_sigterm', t_age_filter_usr1_sigterm),
    ('duration', t_duration),
    ('interval_count', t_interval_count),
    ('leak_verdicts', t_leak_verdicts),
    ('python_verdicts', t_python_verdicts),
    ('write_file', t_write_file),
    ('folded_format', t_folded_format),
    ('pprof_format', t_pprof_format),
    ('c_failing_command', t_c_failing_command),
    ('static_other_binary', t_static_other_binary),
    ('cxx_demangled', t_cxx_demangled),
    ('suppressions', t_suppressions),
    ('sampling_estimates', t_sampling_estimates),
    ('self_test', t_self_test),
    ('deep_stack_truncated', t_deep_stack_truncated),
    ('debuglink', t_debuglink),
    ('inlined_frames', t_inlined_frames),
    ('mini_debuginfo', t_mini_debuginfo),
    ('cli_any_order', t_cli_any_order),
    ('demo', t_demo),
    ('deleted_binary', t_deleted_binary),
    ('summary_across_processes', t_summary_across_processes),
    ('container_cgroup', t_container_cgroup),
    ('build_id_debug_in_target_root', t_build_id_debug_in_target_root),
    ('nofp_c_run', t_nofp_c_run),
    ('nofp_unwind_fp_cannot', t_nofp_unwind_fp_cannot),
    ('nofp_p_attach', t_nofp_p_attach),
    ('nofp_stripped_debuglink', t_nofp_stripped_debuglink),
    ('nofp_own_root', t_nofp_own_root),
    ('short_lived_children', t_short_lived_children),
    ('exited_before_read', t_exited_before_read),
    ('python_p_attach', t_python_p_attach),
    ('python_c_run', t_python_c_run),
    ('python_system_wide', t_python_system_wide),
    ('python_native_mixed', t_python_native_mixed),
    ('ringbuf_overflow', t_ringbuf_overflow),
    ('ringbuf_grows', t_ringbuf_grows),
    ('sigkill_detaches', t_sigkill_detaches),
    ('err_nonexistent_pid', t_err_nonexistent_pid),
    ('err_command_not_found', t_err_command_not_found),
    ('err_O_missing', t_err_O_missing),
    ('err_O_not_elf', t_err_O_not_elf),
    ('err_O_no_malloc', t_err_O_no_malloc),
    ('err_not_root', t_err_not_root),
    ('snapshot_diff', t_snapshot_diff),
    ('err_bad_suppressions', t_err_bad_suppressions),
]


def load_scenario_modules():
    """Scenarios of one feature each live in tests/e2e/scenarios_*.py: a
    module that does `import __main__ as h` for these helpers and defines
    SCENARIOS like the list above. They run after the ones here."""
    sys.path.insert(0, HERE)
    for path in sorted(glob.glob(os.path.join(HERE, 'scenarios_*.py'))):
        mod = __import__(os.path.splitext(os.path.basename(path))[0])
        SCENARIOS.extend(mod.SCENARIOS)


# ---------------------------------------------------------------------------
# Post-scenario checks and the driver
# ---------------------------------------------------------------------------

def check_links(ctx, baseline_links):
    """Uprobe links created during the scenario and still there (list of problems)."""
    problems = []
    if baseline_links is None:
        return problems
    deadline = time.monotonic() + 3.0
    mine = set()
    for p in ctx.lt_procs + ctx.targets:
        mine.add(p.pid)
    while True:
        links = list_probe_links() or {}
        new = {i: t for i, t in links.items() if i not in baseline_links}
        if not new:
            return problems
        owners = link_owners(list(new))
        bad = []
        for i, typ in sorted(new.items()):
            live = [pid for pid in owners[i] if pid_alive(pid)]
            foreign = [pid for pid in live
                       if pid not in mine and (proc_stat(pid) or (0, 0, 0, 0))[3] not in mine]
            if live and foreign == live:
                continue  # held by a process this harness did not start
            bad.append('%s (type %s, holders %s)' % (i, typ, live or 'none'))
        if not bad:
            return problems
        if time.monotonic() >= deadline:
            return problems + ['uprobe link(s) left after leaktrace exited: %s' % ', '.join(bad)]
        time.sleep(0.2)


def other_tracers(exe, mine=()):
    """Pids of leaktrace processes this harness did not start."""
    out = []
    for pid in all_pids():
        if pid in mine or pid == os.getpid():
            continue
        try:
            target = os.readlink('/proc/%d/exe' % pid)
        except OSError:
            continue
        if target == exe or os.path.basename(target) == 'leaktrace':
            out.append(pid)
    return out


def main():
    ap = argparse.ArgumentParser(description='leaktrace end-to-end tests')
    ap.add_argument('--leaktrace', required=True, help='path of the leaktrace binary')
    ap.add_argument('--progs', required=True, help='directory of leaky, mmap_leaky, forker')
    ap.add_argument('-k', dest='filter', default=None, help='only scenarios whose name contains this')
    ap.add_argument('-v', '--verbose', action='store_true', help='print leaktrace stdout/stderr of failures')
    ap.add_argument('--list', action='store_true', help='list the scenarios and exit')
    args = ap.parse_args()
    global VERBOSE
    VERBOSE = args.verbose
    args.leaktrace = os.path.abspath(args.leaktrace)
    global SID_RUN
    SID_RUN = os.path.join(os.path.dirname(args.leaktrace), 'pythons', 'sid', 'run')
    if not os.access(os.path.join(SID_RUN, 'python3.14'), os.X_OK):
        print('WARNING: Debian unstable\'s python3.14 and 3.15 are not fetched (make sid-pythons): '
              'their Python scenarios run without them', flush=True)
    args.progs = os.path.abspath(args.progs)

    load_scenario_modules()
    scenarios = [(n, f) for n, f in SCENARIOS if not args.filter or args.filter in n]
    if args.list:
        for n, f in scenarios:
            print('%-26s %s' % (n, (f.__doc__ or '').strip().splitlines()[0]))
        return 0

    pre = []
    if os.geteuid() != 0:
        pre.append('the harness must run as root')
    if not os.access(args.leaktrace, os.X_OK):
        pre.append('%s is not an executable' % args.leaktrace)
    for prog in ('leaky', 'mmap_leaky', 'forker'):
        if not os.access(os.path.join(args.progs, prog), os.X_OK):
            pre.append('%s/%s is missing' % (args.progs, prog))

    others = other_tracers(os.path.realpath(args.leaktrace))
    if others and not pre:
        print('note: other leaktrace processes are running (pids %s); a system-wide leaktrace '
              'traces them too and can get much slower' % ', '.join(map(str, others)), flush=True)

    passed = failed = 0
    t_start = time.monotonic()
    for name, fn in scenarios:
        if pre:
            print('FAIL %s: %s' % (name, '; '.join(pre)), flush=True)
            failed += 1
            continue
        ctx = Ctx(args, name)
        baseline = list_probe_links()
        if baseline is None:
            ctx.notes.append('bpftool unavailable: BPF link check skipped')
        t0 = time.monotonic()
        status, reason = 'PASS', ''
        try:
            fn(ctx)
        except Fail as e:
            status, reason = 'FAIL', str(e)
        except Skip as e:
            status, reason = 'SKIP', str(e)
        except Exception as e:  # a harness bug or an unexpected report shape
            status, reason = 'FAIL', 'exception %s: %s' % (type(e).__name__, e)
            if args.verbose:
                traceback.print_exc()
        finally:
            leftovers = ctx.cleanup()
        leftovers += check_links(ctx, baseline)
        if leftovers and status != 'FAIL':
            status, reason = 'FAIL', '; '.join(leftovers)
        elif leftovers:
            reason += '; also: ' + '; '.join(leftovers)
        took = time.monotonic() - t0
        line = '%s %s (%.1fs)' % (status, name, took)
        if reason:
            line += ': ' + reason
        print(line, flush=True)
        for note in ctx.notes:
            print('  note: ' + note)
        if status == 'FAIL' and args.verbose:
            for p in ctx.lt_procs:
                print('  --- %s (pid %d, rc %s)' % (' '.join(p.argv), p.pid, p.popen.returncode))
                for line in p.err_lines[-20:]:
                    print('  stderr: ' + line)
                for line in p.out_lines[-5:]:
                    print('  stdout: ' + line[:300])
        if status == 'PASS':
            passed += 1
        elif status == 'FAIL':
            failed += 1
    if args.verbose:
        print('total time %.1fs' % (time.monotonic() - t_start))
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
