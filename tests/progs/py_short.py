# SPDX-License-Identifier: MIT
"""py_short: a short-lived Python program that leaks and exits at once.

Run to its end under leaktrace -c (or started while a system-wide or -p
tracer runs), it keeps N instances of Short, N strings and N native blocks
(ctypes malloc, made with the GIL released, BLOCK bytes each), and
registers an exit handler that frees the native blocks during interpreter
shutdown: what the program held when its shutdown began still includes
them. It prints the SHORT line (JSON) with the sites and counts, then
returns: the whole run takes a fraction of a second.

Usage: python3 py_short.py N
"""
import ctypes
import ctypes.util
import json
import platform
import sys

from py_sites import sites

BLOCK = 1500
LIBC = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6')
LIBC.malloc.restype = ctypes.c_void_p
LIBC.malloc.argtypes = [ctypes.c_size_t]
LIBC.free.argtypes = [ctypes.c_void_p]


class Short:
    pass


def main(argv):
    n = int(argv[1])
    objects = [None] * n
    strings = [None] * n
    blocks = [0] * n
    for i in range(n):
        objects[i] = Short()  # site: instance
        strings[i] = 'short-lived-%06d' % i  # site: str
        blocks[i] = LIBC.malloc(BLOCK)  # site: native

    def release():
        for b in blocks:
            LIBC.free(b)
    import atexit
    atexit.register(release)
    print('SHORT ' + json.dumps({'version': platform.python_version(), 'n': n, 'block': BLOCK,
                                 'file': __file__, 'sites': sites(__file__)}), flush=True)
    sys.modules[__name__].KEEP = (objects, strings, blocks)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
