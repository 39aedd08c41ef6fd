#!/usr/bin/python3
"""make bench: what --kernel costs a process that makes and frees kernel objects.

Workload (tools/bench/fd_churn: open("/dev/null") + close, one thread): each
pair makes and frees slab objects (a file, its LSM blob, the path name
buffer), the kind of churn a busy host does all the time. Rows: untraced;
leaktrace --kernel recording every object (its stack, a record in, a
record out); with --sample-bytes 65536; with --cgroup naming an empty
cgroup (every object refused in BPF by the cgroup test: what --kernel
costs the processes it is told to ignore); with --kernel-cache dentry (no
object of this workload wanted: refused by the cache test). The rows take
turns, ROUNDS times, each prints its median, plus the tracer's CPU time
per second of workload and the kernel records it took in. Exit status 0
when it measured, 1 when it could not.
"""

import argparse
import os
import signal
import statistics
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_child import BenchError, Child, go_and_result, make_log  # noqa: E402

TIMEOUT = 60.0
ROUNDS = 3
CGROUP2_ROOT = "/sys/fs/cgroup/unified"
log = make_log("kernel bench: ")


def cpu_s(pid):
    """User + system CPU seconds of pid so far."""
    with open("/proc/%d/stat" % pid) as f:
        w = f.read().rsplit(")", 1)[1].split()
    return (int(w[11]) + int(w[12])) / os.sysconf("SC_CLK_TCK")


def run(args, tracer_opts):
    """(ns per pair, tracer CPU s per s) of one fd_churn run; tracer_opts None: no tracer."""
    churn = Child([args.churn, "-s", str(args.seconds)], "fd_churn", ready=r"^ready ",
                  ready_stream="stdout")
    lt = None
    try:
        churn.wait_ready(TIMEOUT)
        if tracer_opts is not None:
            lt = Child([args.leaktrace, "--kernel", "--format", "json", "-w", os.devnull, "-T", "3"] +
                       tracer_opts, "leaktrace", ready=r"^leaktrace: tracing")
            lt.wait_ready(TIMEOUT)
            cpu0 = cpu_s(lt.pid)
        result = go_and_result(churn, TIMEOUT + args.seconds)
        cpu = 0.0
        if lt:
            cpu = (cpu_s(lt.pid) - cpu0) / float(result["seconds"])
            lt.interrupt(TIMEOUT)
        return float(result["ns_per_pair"]), cpu
    finally:
        churn.end(signal.SIGKILL)
        if lt:
            lt.end(signal.SIGINT)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--leaktrace", required=True)
    ap.add_argument("--churn", required=True)
    ap.add_argument("--seconds", type=float, default=2.0)
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("kernel bench: run as root", file=sys.stderr)
        return 1
    empty = os.path.join(CGROUP2_ROOT, "leaktrace-kernel-bench-%d" % os.getpid())
    try:
        os.mkdir(empty)
    except OSError as e:
        log("cannot make an empty cgroup: %s" % e)
        return 1
    rows = [("untraced", None),
            ("--kernel", []),
            ("--kernel --sample-bytes 65536", ["--sample-bytes", "65536"]),
            ("--kernel --cgroup (another)", ["--cgroup", empty]),
            ("--kernel --kernel-cache dentry", ["--kernel-cache", "dentry"])]
    got = {name: [] for name, _ in rows}
    cpu = {name: [] for name, _ in rows}
    try:
        for r in range(ROUNDS):
            for name, opts in rows:
                log("%s, round %d" % (name, r + 1))
                ns, c = run(args, opts)
                got[name].append(ns)
                cpu[name].append(c)
    except (BenchError, OSError, KeyError, ValueError) as e:
        log("could not measure: %s" % e)
        return 1
    finally:
        os.rmdir(empty)
    med = {name: statistics.median(v) for name, v in got.items()}
    base = med[rows[0][0]]
    print()
    print("Kernel memory: ns per open(\"/dev/null\")+close pair (3 slab objects made and freed), "
          "one thread, median of %d runs of %.0f s (min-max), and leaktrace's CPU:" %
          (ROUNDS, args.seconds))
    for name, _ in rows:
        print("  %-32s %7.0f  (%.0f-%.0f)  %5.2fx  +%4.0f ns  tracer %3.0f%% CPU" % (
            name, med[name], min(got[name]), max(got[name]), med[name] / base,
            med[name] - base, 100 * statistics.median(cpu[name])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
