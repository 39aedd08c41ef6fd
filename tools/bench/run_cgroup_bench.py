#!/usr/bin/python3
"""make bench, --cgroup: what tracing a container costs its processes and the rest.

leaktrace --cgroup attaches its probes per process: each traced process gets
its own uprobe consumers on the same libc offsets, so only the cgroup's
processes trap, but every trap in one of them walks the consumers of all of
them (the kernel asks each one's filter). This measures ns per malloc/free
pair of tools/bench/churn_bench (1 thread) in a fresh cgroup:

  untraced; leaktrace -p on it alone; leaktrace --cgroup with it alone and
  with N more processes (sleep, which maps libc) in the cgroup; and a
  churn_bench outside the cgroup while leaktrace traces N processes in it;
  with the seconds leaktrace takes to attach, and to detach after SIGINT.

The cgroup, its processes and leaktrace are removed in a finally block;
nothing is left attached. Exit status: 0 when everything was measured.
"""

import argparse
import os
import signal
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_child import BenchError, Child, go_and_result, make_log  # noqa: E402

CGROUP_ROOT = "/sys/fs/cgroup/unified"
ATTACH_TIMEOUT = 300.0
EXIT_TIMEOUT = 600.0

log = make_log("bench-cgroup: ")


class CgroupBench:
    def __init__(self, args):
        self.args = args
        self.children = []
        self.sleepers = []
        self.tmp = tempfile.mkdtemp(prefix="ltbench-cgroup.")
        self.cgroup = os.path.join(CGROUP_ROOT, "leaktrace-bench-%d" % os.getpid())
        os.mkdir(self.cgroup)

    def spawn(self, argv, name, **kw):
        c = Child(argv, name, **kw)
        self.children.append(c)
        return c

    def move_in(self, pid):
        with open(os.path.join(self.cgroup, "cgroup.procs"), "w") as f:
            f.write("%d\n" % pid)

    def set_sleepers(self, n):
        while len(self.sleepers) > n:
            self.sleepers.pop().end(signal.SIGKILL)
        while len(self.sleepers) < n:
            c = self.spawn(["sleep", "3600"], "sleep")
            self.move_in(c.pid)
            self.sleepers.append(c)

    def start_churn(self, inside):
        c = self.spawn([self.args.churn, "-t", "1", "-s", str(self.args.seconds)],
                       "churn_bench", ready=r"^ready \d+", ready_stream="stdout")
        c.wait_ready(30)
        if inside:
            self.move_in(c.pid)
        return c

    def finish_churn(self, churn):
        kv = go_and_result(churn, self.args.seconds + EXIT_TIMEOUT)
        return float(kv["ns_per_pair"])

    def traced(self, churn, lt_args):
        """ns per pair of churn while leaktrace runs with lt_args, the
        seconds leaktrace took from its start to tracing, and from SIGINT
        to its exit (its probes closed)."""
        out = os.path.join(self.tmp, "report-%d.json" % len(self.children))
        lt = self.spawn([self.args.leaktrace, "--format", "json", "-w", out] + lt_args,
                        "leaktrace", ready=r"^leaktrace: tracing")
        try:
            lt.wait_ready(ATTACH_TIMEOUT)
            attach_s = time.monotonic() - lt.started
            ns = self.finish_churn(churn)
        finally:
            stop = time.monotonic()
            lt.interrupt(EXIT_TIMEOUT)
            if lt.status != 0:
                raise BenchError("leaktrace exited with %s: %s" % (lt.status, lt.tail()))
        return ns, attach_s, lt.ended - stop

    def cleanup(self):
        for c in self.children:
            c.end(signal.SIGKILL if c.name == "sleep" else signal.SIGINT)
        for _ in range(50):
            try:
                os.rmdir(self.cgroup)
                return True
            except FileNotFoundError:
                return True
            except OSError:
                time.sleep(0.1)
        log("could not remove %s" % self.cgroup)
        return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--leaktrace", required=True)
    ap.add_argument("--churn", required=True)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--others", default="10,50",
                    help="numbers of other processes in the cgroup")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("bench-cgroup: run as root (uprobes, BPF, cgroups)", file=sys.stderr)
        return 1
    if not os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.procs")):
        print("bench-cgroup: no cgroup2 at %s" % CGROUP_ROOT, file=sys.stderr)
        return 1
    args.leaktrace = os.path.abspath(args.leaktrace)
    args.churn = os.path.abspath(args.churn)
    others = [int(x) for x in args.others.split(",") if x]

    def on_term(sig, _frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)

    bench = CgroupBench(args)
    rows, failed = [], False
    cg = ["--cgroup", bench.cgroup]

    def measure(label, n, inside, lt_args):
        nonlocal failed
        log(label)
        try:
            bench.set_sleepers(n)
            churn = bench.start_churn(inside)
            if lt_args is None:
                rows.append((label, bench.finish_churn(churn), None, None))
            else:
                lt_args = [a if a != "PID" else str(churn.pid) for a in lt_args]
                rows.append((label,) + bench.traced(churn, lt_args))
        except (BenchError, OSError) as e:
            log("%s: could not measure: %s" % (label, e))
            rows.append((label, None, None, None))
            failed = True

    interrupted = False
    try:
        measure("untraced, in the cgroup", 0, True, None)
        measure("leaktrace -p, it alone", 0, True, ["-p", "PID"])
        measure("leaktrace --cgroup, it alone", 0, True, cg)
        for n in others:
            measure("leaktrace --cgroup, %d more processes" % n, n, True, cg)
        if others:
            measure("outside the cgroup, %d traced in it" % max(others), max(others),
                    False, cg)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        removed = bench.cleanup()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    if interrupted:
        return 130

    base = rows[0][1] if rows and rows[0][1] else None
    alone = rows[2][1] if len(rows) > 2 and rows[2][1] else None
    print()
    print("leaktrace --cgroup: churn_bench, 1 thread, %.0f s per row; ns per malloc/free pair"
          % args.seconds)
    print("%-40s %9s %9s %11s %11s" % ("", "ns/pair", "vs alone", "attach (s)",
                                        "detach (s)"))
    for label, ns, attach_s, detach_s in rows:
        print("%-40s %9s %9s %11s %11s" % (
            label, "%.0f" % ns if ns is not None else "failed",
            "%.2fx" % (ns / alone) if ns is not None and alone and "--cgroup," in label
            else "", "%.1f" % attach_s if attach_s is not None else "",
            "%.1f" % detach_s if detach_s is not None else ""))
    if base:
        print("untraced: %.0f ns per pair" % base)
    print("Raw outputs: %s; cgroup %s" % (bench.tmp, "removed" if removed else "LEFT"))
    return 1 if failed or not removed else 0


if __name__ == "__main__":
    sys.exit(main())
