# SPDX-License-Identifier: MIT
"""py_allocator_table: what the interpreter's allocator tables hold.

Usage: py_allocator_table.py [tracemalloc]

Prints "ready", then for each line read on stdin makes 1,000 str objects
kept in a list and prints one line:
  TABLES {"obj": [malloc, calloc, realloc, free], "mem": [...],
          "tracer": address or null, "kept": n}
the function addresses in the object and memory domains' tables, as
PyMem_GetAllocator returns them, and the reference tracer function (3.13+,
PyRefTracer_GetTracer; tracemalloc's when started with "tracemalloc"). It
exits 0 at "exit" or EOF.

leaktrace points those tables of a build that inlines its allocator
(Debian's python3.11, 3.14 and 3.15) at the no-op padding just before each
function while it traces, and the tracer at code that calls no one or at
the tracer installed; it must put them back when it ends, and the process
must run on unharmed either way.
"""
import ctypes
import json
import sys
import tracemalloc

PYMEM_DOMAIN_MEM, PYMEM_DOMAIN_OBJ = 1, 2


class Allocator(ctypes.Structure):
    _fields_ = [('ctx', ctypes.c_void_p), ('malloc', ctypes.c_void_p), ('calloc', ctypes.c_void_p),
                ('realloc', ctypes.c_void_p), ('free', ctypes.c_void_p)]


def table(domain):
    a = Allocator()
    ctypes.pythonapi.PyMem_GetAllocator(ctypes.c_int(domain), ctypes.byref(a))
    return [a.malloc, a.calloc, a.realloc, a.free]


def tracer():
    get = getattr(ctypes.pythonapi, 'PyRefTracer_GetTracer', None)
    if get is None:
        return None
    get.restype = ctypes.c_void_p
    data = ctypes.c_void_p()
    return get(ctypes.byref(data))


def main():
    kept = []
    if sys.argv[1:] == ['tracemalloc']:
        tracemalloc.start()
    print('ready', flush=True)
    for line in sys.stdin:
        if line.strip() == 'exit':
            break
        kept.extend('kept-%d-%d' % (len(kept), i) for i in range(1000))
        print('TABLES ' + json.dumps({'obj': table(PYMEM_DOMAIN_OBJ), 'mem': table(PYMEM_DOMAIN_MEM),
                                      'tracer': tracer(), 'kept': len(kept)}), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
