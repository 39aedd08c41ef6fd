# SPDX-License-Identifier: MIT
"""py_allocator_table: what the interpreter's allocator tables hold.

Prints "ready", then for each line read on stdin makes 1,000 str objects
kept in a list and prints one line:
  TABLES {"obj": [malloc, calloc, realloc, free], "mem": [...], "kept": n}
the function addresses in the object and memory domains' tables, as
PyMem_GetAllocator returns them. It exits 0 at "exit" or EOF.

leaktrace points those tables of a build that inlines its allocator
(Debian's python3.11) at the no-op padding just before each function while
it traces, and must put them back when it ends; the process must run on
unharmed either way.
"""
import ctypes
import json
import sys

PYMEM_DOMAIN_MEM, PYMEM_DOMAIN_OBJ = 1, 2


class Allocator(ctypes.Structure):
    _fields_ = [('ctx', ctypes.c_void_p), ('malloc', ctypes.c_void_p), ('calloc', ctypes.c_void_p),
                ('realloc', ctypes.c_void_p), ('free', ctypes.c_void_p)]


def table(domain):
    a = Allocator()
    ctypes.pythonapi.PyMem_GetAllocator(ctypes.c_int(domain), ctypes.byref(a))
    return [a.malloc, a.calloc, a.realloc, a.free]


def main():
    kept = []
    print('ready', flush=True)
    for line in sys.stdin:
        if line.strip() == 'exit':
            break
        kept.extend('kept-%d-%d' % (len(kept), i) for i in range(1000))
        print('TABLES ' + json.dumps({'obj': table(PYMEM_DOMAIN_OBJ), 'mem': table(PYMEM_DOMAIN_MEM),
                                      'kept': len(kept)}), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
