# SPDX-License-Identifier: MIT
"""py_cache_leak: caches of objects the garbage collector does not track.

The most common Python leak is a cache of computed values. This program
fills one cache per kind (str, bytes, int, float, bytearray), each from its
own line, keeps a list of closures and one of bound methods (listeners
never removed), and churns the same kinds on other lines, dropping them at
once. tracemalloc runs in-process and is the truth: it reports, per line,
the number of memory blocks and their bytes still allocated after the
caches are full, and leaktrace, tracing from outside, must report the same.

Usage:
  python3 py_cache_leak.py N   print "ready", wait for a line on stdin,
                               fill the caches with N entries each, print
                               the CACHELEAK line and "leaked", then wait
                               for a line "exit" (or EOF) and exit 0.

The CACHELEAK line (JSON after the word and a space):
  version   platform.python_version()
  n         entries per cache
  file      this file's path, as code objects name it
  sites     {name: line} of every marked line (the word "site", a colon,
            and its name, in a comment), churn lines included
  leaking   the names of the sites that leak (the others churn)
  traced    {name: [blocks, bytes]}: tracemalloc's count for each marked
            line, from a snapshot taken after the caches are full
  small_int_max  the largest int the interpreter keeps one shared object
            for (256; 1024 from 3.15): loop indices above it are objects
"""
import json
import platform
import sys
import tracemalloc

from py_sites import sites

STRS, BYTES, INTS, FLOATS, ARRAYS, CALLBACKS, METHODS = [], [], [], [], [], [], []


class Listener:
    def on_event(self, value):
        return value


def make_callback(i):
    def callback():  # site: closure
        return i
    return callback


def fill(n):
    # Sized up front: growing a list would charge its item array to the line.
    for store in (STRS, BYTES, INTS, FLOATS, ARRAYS, CALLBACKS, METHODS):
        store.extend([None] * n)
    listener = Listener()
    for i in range(n):
        STRS[i] = 'key-%06d' % i  # site: str
        BYTES[i] = b'payload-%06d' % i  # site: bytes
        INTS[i] = i * 1000003 + 10 ** 12  # site: int
        FLOATS[i] = i * 0.5 + 0.25  # site: float
        ARRAYS[i] = bytearray(48)  # site: bytearray
        CALLBACKS[i] = make_callback(i)
        METHODS[i] = listener.on_event  # site: method


def churn(n):
    for i in range(n):
        s = 'churn-%06d' % i  # site: churn_str
        b = bytearray(64)  # site: churn_bytearray
        f = i * 0.25 + 1.5  # site: churn_float
        del s, b, f


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    n = int(argv[1])
    marks = sites(__file__)
    tracemalloc.start(1)
    print('ready', flush=True)
    if not sys.stdin.readline():
        return 1
    churn(n)
    fill(n)
    churn(n)
    snap = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(True, __file__)])
    by_line = {s.traceback[0].lineno: (s.count, s.size) for s in snap.statistics('lineno')}
    leaking = ['str', 'bytes', 'int', 'float', 'bytearray', 'closure', 'method']
    traced = {name: by_line.get(line, (0, 0)) for name, line in marks.items()}
    small = 0
    while int(str(small + 1)) is small + 1:
        small += 1
    print('CACHELEAK ' + json.dumps({'small_int_max': small, 
        'version': platform.python_version(), 'n': n, 'file': __file__, 'sites': marks,
        'leaking': leaking, 'traced': traced}), flush=True)
    print('leaked', flush=True)
    for line in sys.stdin:
        if line.strip() == 'exit':
            break
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
