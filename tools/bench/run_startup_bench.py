#!/usr/bin/python3
"""make bench: how long leaktrace takes to start tracing, side by side.

For -p (a waiting process), -c (a command held until tracing starts),
--cgroup (a cgroup with one process) and system-wide: the time from
starting leaktrace to its "tracing" line, median of 5 runs each, and the
kernel's verification time of each BPF program (leaktrace -vv prints the
verifier's own statistics), medians over all runs. Stdlib only. Exit 0
when it measured, 1 when it could not.
"""

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_child import BenchError, Child, make_log  # noqa: E402

RUNS = 5
TIMEOUT = 60.0
CGROUP_ROOT = "/sys/fs/cgroup/unified"
VERIFIED = re.compile(r"^leaktrace: verified (\S+) in ([0-9.]+) ms")
GOAL_P_MS = 250

log = make_log("startup bench: ")


def time_to_tracing(argv):
    """Seconds from starting leaktrace to its "tracing" line, and the
    verification times it printed."""
    t0 = time.monotonic()
    lt = Child(argv, "leaktrace", ready=r"^leaktrace: tracing")
    try:
        lt.wait_ready(TIMEOUT)
        took = time.monotonic() - t0
        verified = {}
        for line in lt.lines["stderr"]:
            m = VERIFIED.match(line)
            if m:
                verified[m.group(1)] = float(m.group(2))
        return took, verified
    finally:
        lt.end(signal.SIGINT)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--leaktrace", required=True)
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("startup bench: run as root", file=sys.stderr)
        return 1
    lt = os.path.abspath(args.leaktrace)
    base = [lt, "-vv", "--format", "json", "-w", os.devnull]
    times = {}
    verified = {}
    cg = member = None
    sleeper = subprocess.Popen(["sleep", "600"])
    try:
        modes = [("-p PID", lambda: base + ["-p", str(sleeper.pid)]),
                 ("-c CMD", lambda: base + ["-c", "sleep 3"]),
                 ("system-wide", lambda: base)]
        if os.path.isdir(CGROUP_ROOT):
            cg = tempfile.mkdtemp(prefix="ltstart.", dir=CGROUP_ROOT)
            member = subprocess.Popen(["sleep", "600"])
            with open(os.path.join(cg, "cgroup.procs"), "w") as f:
                f.write(str(member.pid))
            modes.insert(2, ("--cgroup DIR", lambda: base + ["--cgroup", cg]))
        for name, argv in modes:
            for i in range(RUNS):
                log("%s, run %d" % (name, i + 1))
                took, v = time_to_tracing(argv())
                times.setdefault(name, []).append(took * 1000)
                for prog, ms in v.items():
                    verified.setdefault(prog, []).append(ms)
    except (BenchError, OSError) as e:
        log("could not measure: %s" % e)
        return 1
    finally:
        for p in (sleeper, member):
            if p:
                p.kill()
                p.wait()
        if cg:
            with open(os.path.join(cg, "cgroup.procs")) as f:
                for pid in f.read().split():
                    os.kill(int(pid), signal.SIGKILL)
            for _ in range(50):
                try:
                    os.rmdir(cg)
                    break
                except OSError:
                    time.sleep(0.1)
    print()
    print("Start-up: ms from starting leaktrace to \"tracing\", median of %d "
          "(min-max):" % RUNS)
    for name, ms in times.items():
        print("  %-13s %6.0f  (%.0f-%.0f)" % (name, statistics.median(ms), min(ms), max(ms)))
    print("BPF verification, ms per program (median over every run), slowest first:")
    rows = sorted(((statistics.median(v), p) for p, v in verified.items()), reverse=True)
    for ms, prog in rows[:8]:
        print("  %-20s %7.1f" % (prog, ms))
    print("  %-20s %7.1f" % ("all programs", sum(ms for ms, _ in rows)))
    p_ms = statistics.median(times["-p PID"])
    print("Target: -p tracing within %d ms: %s (%.0f ms)" % (
        GOAL_P_MS, "met" if p_ms <= GOAL_P_MS else "NOT met", p_ms))
    return 0


if __name__ == "__main__":
    sys.exit(main())
