# SPDX-License-Identifier: MIT
"""--live: the terminal view, driven in tmux with send-keys and read with
capture-pane.

Each scenario runs leaktrace --live inside its own tmux server (a private
socket, `tmux -L`, so no other tmux is touched), 160x48, in a shell that
afterwards prints leaktrace's exit status and the terminal's icanon/echo
modes, then sleeps so the pane stays readable. The server is always killed
at the end, and the leaktrace in it stopped first (SIGINT, then SIGKILL) if
the test left it running.

live_leaky_keys_quit: leaky's exact leaks on screen (every leak_via_*
function's bytes and blocks, the process total), the sort keys (bytes,
count: rows in that order), the view keys (descriptors, Python types and
lines, Tab), picking the process, and q: exit status 0, the screen given
back (the live header gone, the final text report printed, icanon and echo
on again).

live_freeze_grower: grower leaks 4 KiB every 100 ms: its row comes first by
growth, "growing" at 40960 B/s within 30 %, a rising sparkline; f freezes
the numbers (two captures 3 reports apart are the same, the header counts
the reports made meanwhile) while grower goes on leaking, and f again shows
the larger numbers.

live_ascii: LANG=C: grower's sparkline in ASCII levels, rising to '#'.

live_descriptors: fd_leaky's descriptors view: each leaking function's
exact count of open descriptors; none of them in the native view.

live_stderr_held: a warning while the view is up (events lost, leaktrace
stopped while leaky churns with a 1 MiB ring) is shown on the bottom line,
not over the table, and written to the terminal after q.

live_python_types: a Python 3.11 loop keeping objects of its own class:
the Python types view shows the class with a count that grows from one
capture to the next, and the Python lines view the line that makes them.

live_refused: --live without a terminal (exit 1, one line) and with
--format json or -w (usage errors, exit 2).
"""

import os
import re
import signal
import subprocess
import time

import __main__ as h

COLS, ROWS = 160, 48
# Fixed columns of a row (live_view.c): PID COMM BYTES COUNT GROWTH VERDICT.
FIELDS_END = 7 + 1 + 15 + 1 + 12 + 1 + 9 + 1 + 12 + 1 + 9 + 1
SPARK_WIDTH = 20
BLOCKS = '\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588'
ASCII_LEVELS = '_.-:=+*#'  # without UTF-8
PY311 = '/usr/bin/python3.11'


class Tmux:
    """leaktrace --live ARGS in a pane of a private tmux server."""

    def __init__(self, ctx, args, lang='C.UTF-8'):
        self.sock = 'lt-e2e-%s-%d' % (ctx.name, os.getpid())
        self.lt_pid = None
        cmd = ('LC_ALL= LANG=%s %s --live %s; echo "EXIT=$?"; '
               'echo "TTY: $(stty -a | tr " ;" "\\n\\n" | grep -x -E -- "-?(icanon|echo)" | tr "\\n" " ")"; '
               'sleep 600' % (lang, ctx.args.leaktrace, ' '.join(args)))
        self.tmux('-u', '-f', '/dev/null', 'new-session', '-d', '-s', 'live', '-x', str(COLS),
                  '-y', str(ROWS), cmd)
        pane = int(self.tmux('list-panes', '-t', 'live', '-F', '#{pane_pid}').strip())
        deadline = time.monotonic() + 10
        while self.lt_pid is None and time.monotonic() < deadline:
            try:
                with open('/proc/%d/task/%d/children' % (pane, pane)) as f:
                    kids = [int(x) for x in f.read().split()]
            except OSError:
                kids = []
            for k in kids:
                try:
                    if os.path.basename(os.readlink('/proc/%d/exe' % k)) == 'leaktrace':
                        self.lt_pid = k
                except OSError:
                    pass
            time.sleep(0.05)
        h.expect(self.lt_pid, 'no leaktrace started in the tmux pane:\n' + self.screen())
        h.log('leaktrace --live pid %d in tmux %s' % (self.lt_pid, self.sock))

    def tmux(self, *args):
        r = subprocess.run(['tmux', '-L', self.sock] + list(args), capture_output=True,
                           text=True, timeout=20)
        if r.returncode:
            raise h.Fail('tmux %s: %s' % (' '.join(args[:2]), r.stderr.strip()))
        return r.stdout

    def screen(self):
        try:
            return self.tmux('capture-pane', '-p', '-t', 'live')
        except (h.Fail, subprocess.SubprocessError) as e:
            return '(no screen: %s)' % e

    def history(self):
        """The normal screen and what scrolled off it (not the live view's
        alternate screen)."""
        return self.tmux('capture-pane', '-p', '-J', '-S', '-2000', '-t', 'live')

    def keys(self, *keys):
        self.tmux('send-keys', '-t', 'live', *keys)

    def wait(self, what, pred, timeout=30):
        """The first screen for which pred(screen) is true."""
        deadline = time.monotonic() + timeout
        while True:
            s = self.screen()
            if pred(s):
                return s
            if time.monotonic() >= deadline:
                raise h.Fail('%s: not on screen within %ds; screen:\n%s' % (what, timeout, s))
            time.sleep(0.2)

    def close(self):
        """leaktrace stopped if still running, then the whole server."""
        if self.lt_pid and h.pid_alive(self.lt_pid):
            try:
                os.kill(self.lt_pid, signal.SIGINT)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + 20
            while h.pid_alive(self.lt_pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if h.pid_alive(self.lt_pid):
                os.kill(self.lt_pid, signal.SIGKILL)
        path = subprocess.run(['tmux', '-L', self.sock, 'display-message', '-p', '#{socket_path}'],
                              capture_output=True, text=True, timeout=20).stdout.strip()
        subprocess.run(['tmux', '-L', self.sock, 'kill-server'], capture_output=True, timeout=20)
        # The server leaves its socket file behind.
        if path.endswith('/' + self.sock):
            try:
                os.unlink(path)
            except OSError:
                pass


def rows(screen):
    """{function or label: row} of the table on a screen."""
    out = []
    for line in screen.splitlines()[4:]:
        f = line[:FIELDS_END].split()
        if len(f) != 6 or not f[0].isdigit():
            continue
        where = line[FIELDS_END + SPARK_WIDTH + 1:]
        label = where.split(' < ')[0]
        out.append({'pid': int(f[0]), 'comm': f[1], 'bytes': int(f[2]), 'count': int(f[3]),
                    'growth': f[4], 'verdict': f[5], 'spark': line[FIELDS_END:FIELDS_END + SPARK_WIDTH],
                    'label': label, 'func': label.split(' (')[0], 'where': where, 'line': line})
    return out


def by_func(screen):
    return {r['func']: r for r in rows(screen)}


def header(screen):
    return screen.splitlines()[0] if screen else ''


def leaky_rows_exact(screen):
    got = by_func(screen)
    return all(fn in got and (got[fn]['bytes'], got[fn]['count']) == (c * s, c)
               for fn, (c, s) in h.LEAKY_LEAKS.items())


def quit_and_check(tm, final_text=None):
    """q: exit 0, the live screen gone, a final report, the tty modes back."""
    tm.keys('q')
    tm.wait('EXIT= after q', lambda s: 'EXIT=' in s and 'TTY:' in s, timeout=45)
    s = tm.history()
    h.expect('EXIT=0' in s, 'exit status after q: %s' % re.findall(r'EXIT=\d+', s))
    h.expect('leaktrace --live:' not in s, 'the live screen is still there after q:\n' + s)
    h.expect('=== leaktrace final report' in s or final_text is None,
             'no final report after q:\n' + s)
    if final_text:
        h.expect(final_text in s, '%r not in the final report:\n%s' % (final_text, s))
    tty = re.search(r'TTY: (.*)', s).group(1).split()
    h.expect('icanon' in tty and 'echo' in tty, 'terminal not restored: %s' % tty)
    h.expect(not h.pid_alive(tm.lt_pid), 'leaktrace still running after q')


def t_live_leaky_keys_quit(ctx):
    """--live on leaky: exact leaks on screen, sort/view/process keys, q exits 0 and gives the terminal back."""
    t = h.start_waiting_leaky(ctx)
    tm = Tmux(ctx, ['-p', str(t.pid), '1'])
    try:
        s = tm.wait('the live header', lambda s: header(s).startswith('leaktrace --live: native stacks'))
        h.expect('sort by growth' in header(s) and 'process all' in header(s), 'header: ' + header(s))
        h.wait_probes(tm.lt_pid, min_wait=0.2, max_wait=10)
        h.trigger(t)
        s = tm.wait('every leak_via_* row with its exact bytes and blocks', leaky_rows_exact)
        got = by_func(s)
        for fn, (c, size) in h.LEAKY_LEAKS.items():
            r = got[fn]
            h.expect(r['pid'] == t.pid and r['comm'] == 'leaky', '%s: row %r' % (fn, r['line']))
            h.expect(r['where'].startswith('%s (leaky.c:' % fn) and
                     ' < run_leaks < do_everything' in r['where'], '%s: where %r' % (fn, r['where']))
            h.expect(r['verdict'] in h.VERDICTS + ('-',), '%s: verdict %r' % (fn, r['verdict']))
        h.expect('%d leaky %d B' % (t.pid, h.LEAKY_TOTAL_BYTES) in s.splitlines()[1],
                 'process total: ' + s.splitlines()[1])
        # A few reports on: the flat leaks draw flat sparklines.
        s = tm.wait('sparklines of 3 reports', lambda s: all(
            sum(ch in BLOCKS for ch in r['spark']) >= 3 for r in rows(s) if r['func'] in h.LEAKY_LEAKS))
        for r in rows(s):
            if r['func'] in h.LEAKY_LEAKS:
                drawn = r['spark'].strip()
                h.expect(set(drawn) == {BLOCKS[0]}, '%s: sparkline %r, want flat' % (r['func'], drawn))

        tm.keys('s')
        s = tm.wait('sort by bytes', lambda s: 'sort by bytes' in header(s))
        b = [r['bytes'] for r in rows(s)]
        h.expect(b == sorted(b, reverse=True) and rows(s)[0]['func'] == 'leak_via_pvalloc',
                 'by bytes: %s' % [(r['func'], r['bytes']) for r in rows(s)])
        tm.keys('s')
        s = tm.wait('sort by count', lambda s: 'sort by count' in header(s))
        c = [r['count'] for r in rows(s)]
        h.expect(c == sorted(c, reverse=True) and rows(s)[0]['func'] == 'leak_via_malloc',
                 'by count: %s' % [(r['func'], r['count']) for r in rows(s)])
        tm.keys('s')
        tm.wait('sort by growth again', lambda s: 'sort by growth' in header(s))

        tm.keys('4')
        s = tm.wait('the descriptors view', lambda s: header(s).startswith('leaktrace --live: descriptors'))
        h.expect(' FDS ' in s.splitlines()[3] and 'fds/s' in s.splitlines()[3], 'columns: ' + s.splitlines()[3])
        h.expect(not any(r['func'] in h.LEAKY_LEAKS for r in rows(s)), 'heap rows in the descriptors view')
        tm.keys('2')
        s = tm.wait('the Python types view', lambda s: header(s).startswith('leaktrace --live: Python types'))
        h.expect(not rows(s) and s.rstrip().splitlines()[-1].startswith('0 rows'),
                 'rows in the Python types view of a C program:\n' + s)
        tm.keys('Tab')
        tm.wait('Tab: the Python lines view', lambda s: header(s).startswith('leaktrace --live: Python lines'))
        tm.keys('1')
        tm.wait('the native view again', lambda s: header(s).startswith('leaktrace --live: native stacks')
                and leaky_rows_exact(s))

        tm.keys('p')
        s = tm.wait('process picked', lambda s: 'process %d (leaky)' % t.pid in header(s))
        h.expect(leaky_rows_exact(s), 'rows of the picked process:\n' + s)
        tm.keys('p')
        tm.wait('all processes again', lambda s: 'process all' in header(s))

        # A smaller terminal: redrawn to fit, the status line at its bottom.
        tm.tmux('resize-window', '-t', 'live', '-x', '100', '-y', '20')
        # The WHERE column is cut at 100 columns: the numbers are still all
        # there. Waited for whole: a capture can fall inside a redraw.
        want = sorted((c * size, c) for c, size in h.LEAKY_LEAKS.values())
        tm.wait('redrawn at 100x20 with every row', lambda s: len(s.splitlines()) == 20 and
                s.splitlines()[-1].startswith('%d rows' % len(h.LEAKY_LEAKS)) and
                all(len(line) <= 100 for line in s.splitlines()) and
                sorted((r['bytes'], r['count']) for r in rows(s)) == want)
        tm.tmux('resize-window', '-t', 'live', '-x', str(COLS), '-y', str(ROWS))

        quit_and_check(tm, final_text='pid %d (leaky)' % t.pid)
        s = tm.history()
        h.expect('%d bytes outstanding in %d allocations' % (h.LEAKY_TOTAL_BYTES, h.LEAKY_TOTAL_ALLOCS) in s,
                 'final report:\n' + s)
    finally:
        tm.close()


def growth_value(r):
    return float(r['growth'].strip('()'))


def t_live_freeze_grower(ctx):
    """--live on grower: its leak first by growth, growing at 40960 B/s, a rising sparkline; f freezes the numbers while it leaks on."""
    t = ctx.target([ctx.prog('grower')], 'grower')
    h.expect(t.expect_line('ready', 15), 'grower did not print "ready"' + h.tail(t))
    tm = Tmux(ctx, ['-o', '0', '-p', str(t.pid), '0.5'])
    try:
        tm.wait('the live header', lambda s: header(s).startswith('leaktrace --live:'))
        h.wait_probes(tm.lt_pid, min_wait=0.2, max_wait=10)
        h.expect(t.send('go\n'), 'cannot write to grower')
        h.expect(t.expect_line('going', 15), 'grower did not start' + h.tail(t))
        s = tm.wait('grow_leak growing', lambda s: rows(s) and rows(s)[0]['func'] == 'grow_leak'
                    and rows(s)[0]['verdict'] == 'growing', timeout=40)
        r = rows(s)[0]
        rate = growth_value(r)
        h.expect(abs(rate - h.GROWER_LEAK_RATE) <= 0.3 * h.GROWER_LEAK_RATE,
                 'grow_leak: %s B/s, want %d within 30 %%' % (r['growth'], h.GROWER_LEAK_RATE))
        drawn = [BLOCKS.index(ch) for ch in r['spark'] if ch in BLOCKS]
        h.expect(len(drawn) >= 4 and drawn == sorted(drawn) and drawn[-1] == len(BLOCKS) - 1
                 and drawn[0] < drawn[-1], 'grow_leak sparkline %r does not rise' % r['spark'])
        others = by_func(s)
        for fn in ('cache_refill', 'fixed_state'):
            h.expect(fn in others, '%s not on screen:\n%s' % (fn, s))

        tm.keys('f')
        s1 = tm.wait('FROZEN', lambda s: 'FROZEN' in header(s))
        time.sleep(3.2)  # 6 reports at 0.5 s
        s2 = tm.wait('reports made while frozen', lambda s: re.search(r'FROZEN \(([0-9]+) reports', header(s))
                     and int(re.search(r'FROZEN \(([0-9]+) reports', header(s)).group(1)) >= 4)
        h.expect(s1.splitlines()[1:] == s2.splitlines()[1:] or
                 [x['line'] for x in rows(s1)] == [x['line'] for x in rows(s2)],
                 'numbers changed while frozen:\n%s\n---\n%s' % (s1, s2))
        frozen = by_func(s2)['grow_leak']['bytes']
        h.expect(t.poll() is None, 'grower exited')
        tm.keys('f')
        s3 = tm.wait('unfrozen, grow_leak larger', lambda s: 'FROZEN' not in header(s) and
                     'grow_leak' in by_func(s) and by_func(s)['grow_leak']['bytes'] > frozen + 4 * 4096)
        h.log('grow_leak frozen at %d, then %d' % (frozen, by_func(s3)['grow_leak']['bytes']))
        quit_and_check(tm)
    finally:
        tm.close()


def t_live_ascii(ctx):
    """--live without UTF-8 (LANG=C): grower's sparkline in ASCII levels, rising to '#'."""
    t = ctx.target([ctx.prog('grower')], 'grower')
    h.expect(t.expect_line('ready', 15), 'grower did not print "ready"' + h.tail(t))
    tm = Tmux(ctx, ['-o', '0', '-p', str(t.pid), '0.5'], lang='C')
    try:
        tm.wait('the live header', lambda s: header(s).startswith('leaktrace --live:'))
        h.wait_probes(tm.lt_pid, min_wait=0.2, max_wait=10)
        h.expect(t.send('go\n'), 'cannot write to grower')
        h.expect(t.expect_line('going', 15), 'grower did not start' + h.tail(t))
        s = tm.wait('grow_leak with 6 points', lambda s: 'grow_leak' in by_func(s) and
                    len(by_func(s)['grow_leak']['spark'].strip()) >= 6, timeout=40)
        spark = by_func(s)['grow_leak']['spark'].strip()
        levels = [ASCII_LEVELS.index(ch) for ch in spark if ch in ASCII_LEVELS]
        h.expect(len(levels) == len(spark) and levels == sorted(levels) and levels[-1] == 7 and levels[0] < 7,
                 'grow_leak ASCII sparkline %r does not rise to #' % spark)
        h.expect(not any(ch in BLOCKS for ch in s), 'block glyphs without UTF-8:\n' + s)
        quit_and_check(tm)
    finally:
        tm.close()


# tests/progs/fd_leaky.c: descriptors left open by the function that made them.
FD_LEAKS = {'leak_files': 5, 'leak_same': 4, 'leak_listener': 1, 'leak_clients': 3,
            'leak_accepted': 3}


def fd_rows(screen):
    """{leak function: row} of the descriptors view: the function among the row's frames."""
    out = {}
    for r in rows(screen):
        names = [w.split(' (')[0] for w in r['where'].split(' < ')]
        for fn in FD_LEAKS:
            if fn in names:
                out[fn] = r
    return out


def t_live_descriptors(ctx):
    """--live on fd_leaky: the descriptors view shows each leaking function's exact count of open descriptors."""
    d = ctx.tmpdir()
    t = ctx.target([ctx.prog('fd_leaky'), 'wait', d], 'fd_leaky')
    h.expect(t.expect_line('ready', 15), 'fd_leaky did not print "ready"' + h.tail(t))
    tm = Tmux(ctx, ['-p', str(t.pid), '1'])
    try:
        tm.wait('the live header', lambda s: header(s).startswith('leaktrace --live:'))
        h.wait_probes(tm.lt_pid, min_wait=0.2, max_wait=10)
        h.trigger(t)
        tm.keys('4')
        s = tm.wait('every fd_leaky leak with its count', lambda s: header(s).startswith(
            'leaktrace --live: descriptors') and all(
                fn in fd_rows(s) and fd_rows(s)[fn]['count'] == n for fn, n in FD_LEAKS.items()))
        h.log('descriptors view:\n' + s.rstrip())
        for fn, r in fd_rows(s).items():
            h.expect(r['pid'] == t.pid and r['bytes'] == r['count'], '%s: row %r' % (fn, r['line']))
        # The heap view of the same process has none of them.
        tm.keys('1')
        s = tm.wait('the native view', lambda s: header(s).startswith('leaktrace --live: native'))
        h.expect(not fd_rows(s), 'descriptor stacks in the native view:\n' + s)
        quit_and_check(tm)
    finally:
        tm.close()


def t_live_stderr_held(ctx):
    """--live: a warning while the view is up (events lost) shows on its bottom line, and reaches the terminal after q."""
    t = h.start_waiting_leaky(ctx, churn=40000)
    tm = Tmux(ctx, ['--ringbuf-mb', '1', '-p', str(t.pid), '1'])
    try:
        tm.wait('the live header', lambda s: header(s).startswith('leaktrace --live:'))
        h.wait_probes(tm.lt_pid, min_wait=0.5, max_wait=8)
        # As ringbuf_overflow does: nobody consumes while leaky churns.
        os.kill(tm.lt_pid, signal.SIGSTOP)
        try:
            h.trigger(t)
        finally:
            os.kill(tm.lt_pid, signal.SIGCONT)
        s = tm.wait('the lost-events warning on the bottom line', lambda s: s.rstrip().splitlines()[-1]
                    .startswith('leaktrace: warning: ') and 'events lost' in s.rstrip().splitlines()[-1])
        lost = re.search(r'(\d+) lost;', s.splitlines()[1])
        h.expect(lost and int(lost.group(1)) > 0, 'no lost events in the header: ' + s.splitlines()[1])
        h.expect(not any('leaktrace: warning' in line for line in s.splitlines()[:-1]),
                 'the warning was written over the table:\n' + s)
        quit_and_check(tm)
        after = tm.history()
        h.expect(re.search(r'^leaktrace: warning: \d+ events lost so far', after, re.M),
                 'the held warning was not replayed after q:\n' + after)
    finally:
        tm.close()


PY_KEEPER = r'''
import sys, time
class LiveKept:
    pass
kept = []
print("ready", flush=True)
sys.stdin.readline()
print("going", flush=True)
while True:
    kept.append(LiveKept())  # site: keep
    time.sleep(0.02)
'''


def t_live_python_types(ctx):
    """--live on a Python 3.11 loop: its class in the Python types view with a count that grows, the line in the Python lines view."""
    if not os.access(PY311, os.X_OK):
        raise h.Skip('no %s' % PY311)
    d = ctx.tmpdir()
    script = os.path.join(d, 'keeper.py')
    with open(script, 'w') as f:
        f.write(PY_KEEPER)
    t = ctx.target([PY311, script], 'keeper')
    h.expect(t.expect_line('ready', 30), 'keeper did not print "ready"' + h.tail(t))
    tm = Tmux(ctx, ['-o', '0', '-p', str(t.pid), '1'])
    try:
        tm.wait('the live header', lambda s: header(s).startswith('leaktrace --live:'))
        h.wait_probes(tm.lt_pid, min_wait=0.2, max_wait=10)
        t.send('go\n')
        h.expect(t.expect_line('going', 15), 'keeper did not start' + h.tail(t))
        tm.keys('2')
        s1 = tm.wait('LiveKept in the Python types view', lambda s: header(s).startswith(
            'leaktrace --live: Python types') and by_func(s).get('LiveKept', {}).get('count', 0) > 20)
        n1 = by_func(s1)['LiveKept']['count']
        h.expect(' OBJECTS ' in s1.splitlines()[3], 'columns: ' + s1.splitlines()[3])
        s2 = tm.wait('LiveKept growing', lambda s: by_func(s).get('LiveKept', {}).get('count', 0) > n1 + 40)
        h.log('LiveKept: %d, then %d objects' % (n1, by_func(s2)['LiveKept']['count']))
        tm.keys('3')
        s = tm.wait('the keeping line in the Python lines view', lambda s: header(s).startswith(
            'leaktrace --live: Python lines') and any(r['label'].startswith('<module> (keeper.py:10)')
                                                      for r in rows(s)))
        quit_and_check(tm)
    finally:
        tm.close()


def t_live_refused(ctx):
    """--live refused: without a terminal (exit 1), with --format json or -w (exit 2); one line each."""
    t = h.start_waiting_leaky(ctx)
    for opts, rc_want, text in (
            (['--live', '-p', str(t.pid)], 1, 'leaktrace: --live needs a terminal on stdin and stdout'),
            (['--live', '--format', 'json', '-p', str(t.pid)], 2, '--format cannot be combined'),
            (['--live', '-w', '/dev/null', '-p', str(t.pid)], 2, '-w cannot be combined')):
        p = h.run_to_end(ctx, opts, timeout=20)
        err = [line for line in p.err_lines if line.strip()]
        h.expect(p.popen.returncode == rc_want, '%s: exit %s, want %d' % (opts, p.popen.returncode, rc_want))
        h.expect(len(err) == 1 and text in err[0], '%s: stderr %r' % (opts, err))
        h.expect(not p.out_lines, '%s: stdout %r' % (opts, p.out_lines))


SCENARIOS = [
    ('live_leaky_keys_quit', t_live_leaky_keys_quit),
    ('live_freeze_grower', t_live_freeze_grower),
    ('live_ascii', t_live_ascii),
    ('live_descriptors', t_live_descriptors),
    ('live_stderr_held', t_live_stderr_held),
    ('live_python_types', t_live_python_types),
    ('live_refused', t_live_refused),
]
