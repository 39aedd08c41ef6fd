#!/usr/bin/python3
"""make bench: ns per open/close pair, side by side, on one workload.

Rows (tools/bench/fd_churn: open("/dev/null") + close, one thread):
  untraced; traced by leaktrace -p (descriptors traced, the default: a
  record with its stack per open, one per close); the same with --no-fds
  (heap only); and a bystander, untraced while leaktrace -p traces another
  process: the syscall tracepoints descriptor tracing needs run for every
  process on the host, traced or not. The rows take turns, ROUNDS times,
  and each prints its median (this VM's timings drift by 20 % between
  runs). Exit status 0 when it measured, 1 when it could not.
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_child import BenchError, Child, go_and_result, make_log  # noqa: E402

TIMEOUT = 60.0
ROUNDS = 3
log = make_log("fd bench: ")


def run(args, tracer_opts, traced):
    """ns per pair of one fd_churn run; tracer_opts None: no tracer. traced:
    the tracer follows fd_churn itself, else a sleeping bystander."""
    churn = Child([args.churn, "-s", str(args.seconds)], "fd_churn", ready=r"^ready ",
                  ready_stream="stdout")
    sleeper = lt = None
    try:
        churn.wait_ready(TIMEOUT)
        if tracer_opts is not None:
            target = churn.pid
            if not traced:
                sleeper = subprocess.Popen(["sleep", "600"])
                target = sleeper.pid
            lt = Child([args.leaktrace, "--format", "json", "-w", os.devnull, "-T", "3"] +
                       tracer_opts + ["-p", str(target)], "leaktrace", ready=r"^leaktrace: tracing")
            lt.wait_ready(TIMEOUT)
        result = go_and_result(churn, TIMEOUT + args.seconds)
        if lt:
            lt.interrupt(TIMEOUT)
        return float(result["ns_per_pair"])
    finally:
        churn.end(signal.SIGKILL)
        if lt:
            lt.end(signal.SIGINT)
        if sleeper:
            sleeper.kill()
            sleeper.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--leaktrace", required=True)
    ap.add_argument("--churn", required=True)
    ap.add_argument("--seconds", type=float, default=2.0)
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("fd bench: run as root", file=sys.stderr)
        return 1
    rows = [("untraced", None, True),
            ("leaktrace -p (descriptors)", [], True),
            ("leaktrace -p --no-fds", ["--no-fds"], True),
            ("bystander of leaktrace -p", [], False)]
    got = {name: [] for name, _, _ in rows}
    try:
        for r in range(ROUNDS):
            for name, opts, traced in rows:
                log("%s, round %d" % (name, r + 1))
                got[name].append(run(args, opts, traced))
    except (BenchError, OSError, KeyError, ValueError) as e:
        log("could not measure: %s" % e)
        return 1
    med = {name: statistics.median(v) for name, v in got.items()}
    base = med[rows[0][0]]
    print()
    print("Descriptors: ns per open(\"/dev/null\")+close pair, one thread, median of %d "
          "runs of %.0f s (min-max):" % (ROUNDS, args.seconds))
    for name, _, _ in rows:
        print("  %-30s %7.0f  (%.0f-%.0f)  %5.2fx" % (name, med[name], min(got[name]),
                                                    max(got[name]), med[name] / base))
    return 0


if __name__ == "__main__":
    sys.exit(main())
