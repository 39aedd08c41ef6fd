# SPDX-License-Identifier: MIT
"""py_leaky: a Python target for the leaktrace end-to-end tests (CPython 3.8-3.13).

It leaks a known number of GC-allocated objects of known types from known
Python tracebacks, and churns (creates and drops) many more that must not be
reported. Standard library only; objgraph is used when importable.

Leaks (each allocation statement carries a marker comment: the word "site",
a colon, and the site's name; the harness reads this file for the lines):
  leaky_item  N_ITEMS instances of LeakyItem appended to LEAKED
              traceback: <module> -> main -> run -> leak_items -> make_item
  cache_dict  N_DICTS small dicts {"k": i} (a dict display) kept in CACHE
              traceback: <module> -> main -> run -> fill_cache -> cache_put
Churn (with a marker too, named churn_item, listed under "churn_sites"):
  churn_item  N_CHURN instances of ChurnItem, each dropped at once; half of
              them before the leaks, half after.

Usage:
  python3 py_leaky.py run [SCALE]   leak, print the PYLEAKY line, exit 0
  python3 py_leaky.py wait [SCALE]  print "ready", wait for a line on stdin,
                                    leak, print the PYLEAKY line and "leaked",
                                    then wait for a line "exit" (or EOF) and
                                    exit 0 with the leaks still live.
  SCALE (optional, > 0, may be fractional) multiplies the three counts.
  Exit status 1 when stdin reaches EOF before the trigger (nothing leaked),
  2 on a usage error.

The PYLEAKY line (one line of JSON after the word PYLEAKY and a space) gives
the true numbers:
  version       platform.python_version()
  items, dicts, churn   the counts actually used (after SCALE)
  sites         {"leaky_item": LINE, "cache_dict": LINE}: the leaking lines
  churn_sites   {"churn_item": LINE}
  stacks        per leaking site, the expected Python traceback, outermost
                frame first: [[function, line], ...] (line = the line
                executing in that frame: the call, or the site itself)
  types         per site, the type name of the leaked objects
  gc_tracked    per site, gc.is_tracked() of one leaked object. The cache
                dicts are NOT tracked: CPython leaves a dict untracked while
                all its keys and values are atomic (str, int), although it
                is allocated by the GC allocator (_PyObject_GC_New) like any
                tracked dict. A tracer hooking the GC allocation functions
                sees them; gc.get_objects() (and so objgraph) does not.
  objgraph      (only when objgraph is importable) the growth of the counts
                of LeakyItem, dict and ChurnItem between a snapshot just
                before the leaks and one just after, plus "module": the
                objgraph file. objgraph counts gc-tracked objects only, so
                expect LeakyItem +items, ChurnItem 0 and dict +1 (CACHE
                itself becoming tracked), not +dicts.

Determinism notes:
  - LeakyItem and ChurnItem set no instance attributes, so no instance
    __dict__ object is ever created (on 3.8-3.10 a per-instance dict would
    otherwise be allocated on first attribute store; 3.11+ keeps values
    inline). Each leaked LeakyItem is exactly one allocation through
    PyType_GenericAlloc (via object.__new__).
  - Dicts come from a per-interpreter (3.13: per-thread) free list of up to
    80 dicts before CPython calls _PyObject_GC_New. Just before fill_cache
    the free list is emptied (take_dict_freelist) and the dicts that emptied
    it are kept until the cache is full, so each of the N_DICTS cache dicts is
    a fresh _PyObject_GC_New allocation, seen by a tracer. A gc.collect()
    just before keeps an automatic collection during the fill from freeing
    garbage dicts back onto the free list (seen on 3.10 without it: 4 of
    2000 dicts came from the free list).
  - gc stays enabled (normal behaviour); gc.collect() runs before each
    objgraph snapshot.
"""

import gc
import json
import platform
import re
import sys

N_ITEMS = 3000
N_DICTS = 2000
N_CHURN = 50000

# The leaks.
LEAKED = []
CACHE = {}

# Spare dicts holding the emptied dict free list while the cache fills.
DICT_FREELIST_MAX = 80


class LeakyItem:
    """A plain class: instances have a __dict__ slot and are GC-tracked."""


class ChurnItem:
    """Created and dropped at once, never kept."""


def make_item():
    return LeakyItem()  # site: leaky_item


def leak_items(n):
    for _ in range(n):
        LEAKED.append(make_item())  # call: make_item


def cache_put(i):
    CACHE[i] = {"k": i}  # site: cache_dict


def fill_cache(n):
    for i in range(n):
        cache_put(i)  # call: cache_put


def churn_once():
    ChurnItem()  # site: churn_item


def churn(n):
    for _ in range(n):
        churn_once()


def take_dict_freelist():
    """Returns more dicts than the dict free list can hold; while they are
    alive the free list is empty. {} does not track the dict either."""
    return [{} for _ in range(2 * DICT_FREELIST_MAX)]


def run(n_items, n_dicts, n_churn):
    churn(n_churn // 2)
    leak_items(n_items)  # call: leak_items
    # Collect first: garbage cycles freed by an automatic collection while
    # the cache fills would put dicts back on the free list.
    gc.collect()
    spare = take_dict_freelist()
    fill_cache(n_dicts)  # call: fill_cache
    del spare
    churn(n_churn - n_churn // 2)


# ------------------------------------------------------------------ report

def read_markers():
    """{kind: {name: line}} for the "site:" and "call:" marker comments."""
    found = {"site": {}, "call": {}}
    pat = re.compile(r"#\s*(site|call):\s*(\w+)\s*$")
    with open(__file__, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            code = line.split("#", 1)[0].strip()
            m = pat.search(line)
            if m and code:  # a marker after code, never in prose
                found[m.group(1)][m.group(2)] = lineno
    return found


def objgraph_counts(objgraph):
    # objgraph.count(name) walks gc.get_objects(): it counts only objects the
    # cyclic GC tracks (instances of classes, lists, tracked dicts, ...), by
    # type __name__. Untracked objects -- here the {"k": i} cache dicts, whose
    # keys and values are all atomic -- are invisible to it, even though they
    # were allocated by the GC allocator and are live. Collect first so
    # garbage waiting for the collector is not counted. Expected growth:
    # LeakyItem +N_ITEMS, ChurnItem 0, dict +1 -- not +N_DICTS: the +1 is
    # CACHE itself, untracked while empty and tracked once it holds a dict.
    gc.collect()
    return {name: objgraph.count(name) for name in ("LeakyItem", "dict", "ChurnItem")}


def summary(n_items, n_dicts, n_churn, markers, og_before, og_after, og_module):
    site, call = markers["site"], markers["call"]
    out = {
        "version": platform.python_version(),
        "items": n_items,
        "dicts": n_dicts,
        "churn": n_churn,
        "sites": {"leaky_item": site["leaky_item"], "cache_dict": site["cache_dict"]},
        "churn_sites": {"churn_item": site["churn_item"]},
        "stacks": {
            "leaky_item": [["<module>", call["main"]], ["main", call["run"]],
                           ["run", call["leak_items"]],
                           ["leak_items", call["make_item"]],
                           ["make_item", site["leaky_item"]]],
            "cache_dict": [["<module>", call["main"]], ["main", call["run"]],
                           ["run", call["fill_cache"]],
                           ["fill_cache", call["cache_put"]],
                           ["cache_put", site["cache_dict"]]],
        },
        "types": {"leaky_item": "LeakyItem", "cache_dict": "dict"},
        "gc_tracked": {
            "leaky_item": bool(LEAKED) and gc.is_tracked(LEAKED[0]),
            "cache_dict": bool(CACHE) and gc.is_tracked(next(iter(CACHE.values()))),
        },
    }
    if og_before is not None:
        growth = {k: og_after[k] - og_before[k] for k in og_before}
        growth["module"] = og_module
        out["objgraph"] = growth
    return "PYLEAKY " + json.dumps(out, sort_keys=True)


def usage():
    sys.stderr.write("usage: py_leaky.py run|wait [SCALE]\n")
    return 2


def main(argv):
    if len(argv) not in (2, 3) or argv[1] not in ("run", "wait"):
        return usage()
    scale = 1.0
    if len(argv) == 3:
        try:
            scale = float(argv[2])
        except ValueError:
            return usage()
        if not scale > 0:
            return usage()
    n_items = max(1, int(round(N_ITEMS * scale)))
    n_dicts = max(1, int(round(N_DICTS * scale)))
    n_churn = max(0, int(round(N_CHURN * scale)))
    waiting = argv[1] == "wait"

    markers = read_markers()
    try:
        import objgraph
    except ImportError:
        objgraph = None
    if waiting:
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        if not sys.stdin.readline():
            return 1  # EOF before the trigger: nothing leaked

    og_before = og_after = og_module = None
    if objgraph is not None:
        og_module = getattr(objgraph, "__file__", "?")
        og_before = objgraph_counts(objgraph)
    run(n_items, n_dicts, n_churn)  # call: run
    if objgraph is not None:
        og_after = objgraph_counts(objgraph)
    sys.stdout.write(summary(n_items, n_dicts, n_churn, markers,
                             og_before, og_after, og_module) + "\n")
    sys.stdout.flush()
    if not waiting:
        return 0

    sys.stdout.write("leaked\n")
    sys.stdout.flush()
    while True:
        line = sys.stdin.readline()
        if not line or line.strip() == "exit":
            return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))  # call: main
