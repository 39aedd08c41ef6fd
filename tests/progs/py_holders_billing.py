# SPDX-License-Identifier: MIT
"""A module whose globals hold objects the way leaks are held: a module
list, a dict cache keyed by strings, a class-level registry, listeners
kept as bound methods, a closure's cell, and cycles the collector saves in
gc.garbage (DEBUG_SAVEALL). tests/e2e/scenarios_holders.py asks leaktrace
who holds each kind."""
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
    gc.set_debug(gc.DEBUG_SAVEALL)
    for _ in range(garbage):
        Garbage()
    gc.collect()
    gc.disable()
