# SPDX-License-Identifier: MIT
"""A module whose globals hold objects the way leaks are held: a module
list, a dict cache keyed by strings, a class-level registry, listeners
kept as bound methods, a closure's cell, a deque of recent items, a set,
an instance's __slots__, and cycles the collector saves in gc.garbage
(DEBUG_SAVEALL). tests/e2e/scenarios_holders.py asks leaktrace who holds
each kind."""
import collections
import gc


class InvoiceRecord:
    def __init__(self, n):
        self.n = n


class CacheEntry:
    pass


class Registered:
    pass


class Listener:
    def on_event(self, event):
        pass


class Captured:
    pass


class Queued:
    pass


class Seen:
    pass


class Member:
    pass


class Pool:
    __slots__ = ('name', 'members')

    def __init__(self):
        self.name = 'pool'
        self.members = []


class Garbage:
    def __init__(self):
        self.me = self


_AUDIT_TRAIL = []
_CACHE = {}


class Registry:
    items = []


class Bus:
    def __init__(self):
        self.listeners = []

    def subscribe(self, fn):
        self.listeners.append(fn)


BUS = Bus()
_RECENT = collections.deque()
_SEEN = set()
POOL = Pool()


def make_collector():
    kept = []

    def collect(x):
        kept.append(x)
    return collect


collect = make_collector()


def fill(n, garbage):
    for i in range(n):
        _AUDIT_TRAIL.append(InvoiceRecord(i))
        _CACHE['key-%d' % i] = CacheEntry()
        Registry.items.append(Registered())
        BUS.subscribe(Listener().on_event)
        collect(Captured())
        _RECENT.append(Queued())
        _SEEN.add(Seen())
        POOL.members.append(Member())
    gc.set_debug(gc.DEBUG_SAVEALL)
    for _ in range(garbage):
        Garbage()
    gc.collect()
    gc.disable()
