# SPDX-License-Identifier: MIT
"""Files a traced process controls: what sits at its debug-file names, and
libraries it maps and then truncates. leaktrace must finish with a correct
report, never hang or crash (src/symbols/untrusted_file.c, src/unwind/unwind_table.c)."""

import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import __main__ as h

# nofp_leaky's own leaks (tests/progs/nofp/nofp_leaky.c): function, count, size.
NOFP_OWN_LEAKS = [('leak_direct', 7, 48), ('leak_strdup', 5, 24)]


def stripped_with_debuglink(ctx):
    """nofp_leaky without DWARF (symbols kept), its .gnu_debuglink naming
    nofp_leaky.debug beside it, which the caller replaces."""
    d = ctx.tmpdir()
    exe, debug = os.path.join(d, 'nofp_leaky'), os.path.join(d, 'nofp_leaky.debug')
    shutil.copy(ctx.prog('nofp_leaky'), exe)
    shutil.copy(ctx.prog('libnofp.so'), d)
    for argv in (['objcopy', '--only-keep-debug', exe, debug],
                 ['strip', '--strip-debug', exe],
                 ['objcopy', '--add-gnu-debuglink=' + debug, exe]):
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode:
            raise h.Skip('%s failed: %s' % (argv[0], r.stdout.decode(errors='replace')))
    os.unlink(debug)
    return exe, debug


def t_debug_file_not_regular(ctx):
    """the debug file a program's .gnu_debuglink names is a FIFO (an open would wait for a
    writer), a symlink to /dev/zero (a checksum would never end), a symlink loop: each is
    skipped, and the leaks are reported exactly, named from .symtab, without lines."""
    for kind in ('fifo', 'dev_zero', 'loop'):
        exe, debug = stripped_with_debuglink(ctx)
        if kind == 'fifo':
            os.mkfifo(debug)
        elif kind == 'dev_zero':
            os.symlink('/dev/zero', debug)
        else:
            os.symlink(debug, debug)
        p = h.run_to_end(ctx, ['-T', '0', '--format', 'json', '-c', exe + ' run'], timeout=60)
        h.expect(p.popen.returncode == 0, '%s: exit status %s%s' % (kind, p.popen.returncode, h.tail(p)))
        proc = h.find_proc(h.final_report(p), comm='nofp_leaky')
        for func, count, size in NOFP_OWN_LEAKS:
            hits = [s for s in proc['stacks'] if func in h.stack_funcs(s)]
            h.expect(len(hits) == 1, '%s: %d stacks with %s: %s' % (kind, len(hits), func, h.describe(proc['stacks'])))
            s = hits[0]
            h.expect((s['bytes'], s['allocs']) == (count * size, count),
                     '%s: %s: %d bytes in %d allocs, expected %d in %d' % (
                         kind, func, s['bytes'], s['allocs'], count * size, count))
            fr = [f for f in s['frames'] if f.get('func') == func][0]
            h.expect(not fr.get('line'), '%s: %s has line %r without any DWARF' % (kind, func, fr.get('line')))


# Maps copies of a library, says "ready"; on a line keeps some memory and
# says "done"; exits at the next line or EOF, without running the copies'
# destructors (a cut file lost their relocated pages).
MAPPER = '''
import ctypes, os, sys
libs = [ctypes.CDLL(p) for p in sys.argv[1:]]
print("ready", flush=True)
sys.stdin.readline()
kept = [bytearray(1000) for _ in range(100)]
print("done", flush=True)
sys.stdin.readline()
os._exit(0)
'''
NCOPIES = 16
# A C library with a big .eh_frame (its table takes ~20 ms to build), no
# global state a second copy could clash with, and installed (libcapstone-dev).
BIG_LIB = '/usr/lib/x86_64-linux-gnu/libcapstone.so.4'


class Truncator(threading.Thread):
    """Cuts each file to one page and writes it whole again, over and over:
    a reader that mapped one faults (SIGBUS) touching it past the cut, for
    as long as the writing takes."""

    def __init__(self, paths, content):
        super().__init__(daemon=True)
        self.paths = paths
        self.content = content
        self.stop = threading.Event()
        self.rounds = 0

    def run(self):
        while not self.stop.is_set():
            for path in self.paths:
                with open(path, 'r+b') as f:
                    f.truncate(4096)
                    f.write(self.content)
            self.rounds += 1


def t_libraries_truncated_while_read(ctx):
    """a Python process maps 16 copies of libcapstone and their files keep being cut short
    and written again while leaktrace -p attaches and builds their unwind tables:
    leaktrace keeps running and reports the process at SIGINT (a mapped read of a cut
    file is SIGBUS)."""
    if not os.path.exists(BIG_LIB):
        raise h.Skip('%s is not installed' % BIG_LIB)
    d = ctx.tmpdir()
    with open(BIG_LIB, 'rb') as f:
        original = f.read()
    libs = []
    for i in range(NCOPIES):
        libs.append(os.path.join(d, 'libcopy%d.so' % i))
        with open(libs[-1], 'wb') as f:
            f.write(original)
    t = ctx.target([sys.executable, '-c', MAPPER] + libs, 'mapper')
    h.expect(t.expect_line('ready', 30), 'the mapper did not start%s' % h.tail(t))
    cutter = Truncator(libs, original)
    cutter.start()
    try:
        p = h.attach_pid(ctx, ['-T', '0', '--format', 'json', '-p', str(t.pid)])
        time.sleep(1.0)
    finally:
        cutter.stop.set()
        cutter.join()  # each file whole again at the end of a round
    h.log('files cut short and written again %d times' % cutter.rounds)
    h.expect(cutter.rounds > 3, 'the files were cut only %d times' % cutter.rounds)
    h.expect(t.send('\n') and t.expect_line('done', 30), 'the mapper did not allocate%s' % h.tail(t))
    time.sleep(0.7)  # older than -o's default 500 ms
    rc = h.interrupt(p, signal.SIGINT)
    h.expect(rc == 0, 'exit status %s after SIGINT%s' % (rc, h.tail(p)))
    h.find_proc(h.final_report(p), pid=t.pid)


SCENARIOS = [
    ('untrusted_debug_file_not_regular', t_debug_file_not_regular),
    ('untrusted_libraries_truncated_while_read', t_libraries_truncated_while_read),
]
