# SPDX-License-Identifier: MIT
"""py_churn: an object-heavy CPython workload for make bench (Python 3.8+).

Each iteration creates a class instance (with two attributes), a dict, a list
and a tuple that refer to one another without a cycle, and drops them all:
reference counting frees them at once. One iteration in BATCH (1000) keeps its
objects in a module-level list (a small steady leak, so a leak tracer has
something to report).

It starts, prints "ready PID" on stdout and waits for SIGUSR1 (so a tracer
can attach with -p PID first), then runs for a fixed wall time and exits.

  python3 py_churn.py [-s SECONDS] [-n] [--wait-timeout SECONDS]
    -s   measured wall time in seconds (default 3)
    -n   do not wait for SIGUSR1, run at once
    --wait-timeout  give up (exit 3) when no SIGUSR1 comes within this time
                    (default 300), so a lost runner leaves nothing behind

Output (stdout, one line each):
  ready PID
  result objects N seconds S ns_per_object X leaked_objects L
N counts the Python objects created (4 per iteration); ns_per_object is the
measured wall time divided by N.

What a tracer of CPython's GC allocation functions sees: the instance is
allocated by PyType_GenericAlloc and freed by PyObject_GC_Del every time;
dicts, lists and small tuples mostly come from (and go back to) CPython's
free lists, so they seldom reach the allocator. On 3.8-3.10 the instance's
__dict__ is a separate dict object (from the dict free list as well); on
3.11+ its attribute values live inline (3.11/3.12: a separate PyMem block).
"""

import os
import signal
import sys
import time

OBJECTS_PER_ITERATION = 4
BATCH = 1000  # iterations between two looks at the clock; one of them leaks

LEAK = []


class Node:
    def __init__(self, i, tag):
        self.i = i
        self.tag = tag


def work(seconds):
    """Returns (iterations, elapsed seconds)."""
    keep = LEAK.append
    perf = time.perf_counter
    iterations = 0
    t0 = perf()
    deadline = t0 + seconds
    while True:
        for i in range(BATCH):
            node = Node(i, "n")
            d = {"i": i, "node": node}
            lst = [node, d]
            t = (i, lst)
            if i == 0:  # the steady leak: one iteration per batch
                keep(t)
        iterations += BATCH
        now = perf()
        if now >= deadline:
            return iterations, now - t0


def parse(argv):
    seconds, wait, wait_timeout = 3.0, True, 300.0
    i = 0
    try:
        while i < len(argv):
            a = argv[i]
            if a == "-s":
                seconds = float(argv[i + 1])
                i += 1
            elif a == "-n":
                wait = False
            elif a == "--wait-timeout":
                wait_timeout = float(argv[i + 1])
                i += 1
            else:
                raise ValueError(a)
            i += 1
    except (IndexError, ValueError):
        return None
    if not seconds > 0 or not wait_timeout > 0:
        return None
    return seconds, wait, wait_timeout


def main(argv):
    opts = parse(argv[1:])
    if opts is None:
        sys.stderr.write("usage: py_churn.py [-s SECONDS] [-n] [--wait-timeout SECONDS]\n")
        return 2
    seconds, wait, wait_timeout = opts

    # Warm up: the class's attribute caches, the free lists, the allocator.
    work(0.05)
    del LEAK[:]

    if wait:
        # Blocked before "ready", so a SIGUSR1 sent right after it is not lost.
        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
    sys.stdout.write("ready %d\n" % os.getpid())
    sys.stdout.flush()
    if wait:
        if signal.sigtimedwait([signal.SIGUSR1], wait_timeout) is None:
            sys.stderr.write("py_churn: no SIGUSR1 within %g s\n" % wait_timeout)
            return 3

    iterations, elapsed = work(seconds)
    objects = iterations * OBJECTS_PER_ITERATION
    leaked = len(LEAK) * OBJECTS_PER_ITERATION
    sys.stdout.write("result objects %d seconds %.3f ns_per_object %.2f leaked_objects %d\n"
                     % (objects, elapsed, elapsed * 1e9 / objects, leaked))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
