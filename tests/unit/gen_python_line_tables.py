#!/usr/bin/env python3
"""Prints the line-table test vectors of tests/unit/python_line_tables.h.

Run by each interpreter in turn (see the header's comment): it compiles the
same small source, and for a few functions prints the raw table bytes
(co_lnotab for 3.8/3.9, co_linetable for 3.10+), co_firstlineno, the code
length and, for every even byte offset, the line CPython itself gives
(PyCode_Addr2Line through ctypes), which is what the decoders must return.
"""
import ctypes
import sys

SRC = '''
def simple(a):
    b = a + 1
    c = b * 2
    return c

def loop(n):
    total = 0
    for i in range(n):
        if i % 2:
            total += i
        else:
            total -= 1
    return total
''' + '''
def far(x):
    y = x''' + '\n' * 200 + '''
    z = y + 1''' + '\n' * 300 + '''
    return z

def multiline(a, b):
    return (a +
            b +
            len([a,
                 b]))

def tryexcept(x):
    try:
        return 1 / x
    except ZeroDivisionError:
        return None
    finally:
        x = 0
'''

addr2line = ctypes.pythonapi.PyCode_Addr2Line
addr2line.restype = ctypes.c_int
addr2line.argtypes = [ctypes.py_object, ctypes.c_int]

ns = {}
exec(compile(SRC, 'gen.py', 'exec'), ns)
minor = sys.version_info[1]
tag = 'py3%d' % minor
for name in ('simple', 'loop', 'far', 'multiline', 'tryexcept'):
    co = ns[name].__code__
    table = co.co_lnotab if minor < 10 else co.co_linetable
    n = len(co.co_code)
    lines = [addr2line(co, off) for off in range(0, n, 2)]
    print('static const uint8_t %s_%s_table[] = {%s};' %
          (tag, name, ', '.join('0x%02x' % b for b in table)))
    print('static const int %s_%s_lines[] = {%s};' %
          (tag, name, ', '.join(str(l) for l in lines)))
    print('#define %s_%s_FIRST %d' % (tag.upper(), name.upper(), co.co_firstlineno))
