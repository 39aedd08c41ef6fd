#!/usr/bin/python3
"""make bench, Python part: ns per Python object, side by side, on one workload.

For each interpreter (default: /usr/bin/python3.11, the newest pyenv 3.12
build and Debian unstable's python3.14 from make sid-pythons, when present)
tools/bench/py_churn.py runs
  (a) untraced;
  (b) under -X tracemalloc=25 (the in-process peer: CPython's own allocation
      tracer, 25 frames per traceback);
  (c) under leaktrace: the workload starts and waits; leaktrace -p PID
      --format json -w OUT attaches; once it prints "leaktrace: tracing" on
      stderr the workload gets SIGUSR1 and runs; then leaktrace gets SIGINT
      and writes its final report;
  (d) the same with --sample-bytes 524288 (which samples native blocks:
      Python objects are always counted exactly);
  (e) the same with --python-objects gc (GC-tracked objects only);
  (f) the trap floor: tracefs uprobe events at exactly the sites leaktrace
      probed in (c) (its -v lines), with no BPF program and tracing_on 0,
      so each hit costs the trap alone. Where leaktrace's probes sit on the
      no-ops its table writes route calls through (Debian's python3.11), no
      call reaches them without leaktrace, and this cell is n/a.
and the table gives ns per object, leaktrace/tracemalloc, floor/tracemalloc,
leaktrace/floor and leaktrace/untraced, and whether leaktrace <= tracemalloc
(the target).

With --runs N each cell is the median of N runs (the rows interleaved).
Exit status: 0 when everything was measured (target met or not), 1 when
something could not be measured (a failing leaktrace included: its reason is
printed and its cells read n/a), 130 on Ctrl-C. Every child is ended in a
finally block (SIGINT or SIGTERM, then SIGKILL).
"""

import argparse
import glob
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# No __pycache__ in the source tree from importing bench_child.
sys.dont_write_bytecode = True
sys.path.insert(0, HERE)
from bench_child import BenchError, Child, go_and_result, make_log  # noqa: E402
from tracefs_events import UprobeEvents  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
ATTACH_TIMEOUT = 60.0
EXIT_TIMEOUT = 60.0
READY_TIMEOUT = 30.0
MODES = ("untraced", "tracemalloc", "leaktrace", "floor", "sampled", "gc_only")
LT_MODES = ("leaktrace", "floor", "sampled", "gc_only")
SITE_RE = re.compile(r"attached (object malloc|object calloc|object realloc|object free|"
                     r"_Py_NewReference)( and its return)? at (/proc/\d+/map_files/"
                     r"[0-9a-f]+-[0-9a-f]+)\+0x([0-9a-f]+)")
SAMPLE_BYTES = 524288

log = make_log("py-bench: ")


class NotApplicable(Exception):
    """A cell that has no meaning for this interpreter (not a failure)."""


class Bench:
    def __init__(self, args):
        self.args = args
        self.children = []
        self.tmp = tempfile.mkdtemp(prefix="ltpybench.")
        self.sites = {}     # python -> [(event name, path, offset, is_return)]
        self.pointed = set()  # pythons whose tables leaktrace pointed at its probes
        self.events = None

    def spawn(self, argv, name, **kw):
        c = Child(argv, name, **kw)
        self.children.append(c)
        return c

    def start_workload(self, python, extra):
        c = self.spawn([python] + extra + [self.args.workload, "-s", str(self.args.seconds)],
                       "py_churn", ready=r"^ready \d+", ready_stream="stdout")
        c.wait_ready(READY_TIMEOUT)
        return c

    def finish_workload(self, w):
        """SIGUSR1 (go), then its result."""
        kv = go_and_result(w, self.args.seconds + EXIT_TIMEOUT)
        return {"ns": float(kv["ns_per_object"]), "objects": int(kv["objects"]),
                "cpu": w.rusage.ru_utime + w.rusage.ru_stime if w.rusage else None,
                "rss_kb": w.rusage.ru_maxrss if w.rusage else None}

    def run_untraced(self, python):
        return self.finish_workload(self.start_workload(python, []))

    def run_tracemalloc(self, python):
        return self.finish_workload(self.start_workload(python, ["-X", "tracemalloc=25"]))

    def run_sampled(self, python, n):
        return self.run_leaktrace(python, n, ["--sample-bytes", str(SAMPLE_BYTES)])

    def run_gc_only(self, python, n):
        return self.run_leaktrace(python, n, ["--python-objects", "gc"])

    def run_leaktrace(self, python, n, extra=()):
        w = self.start_workload(python, [])
        out = os.path.join(self.tmp, "leaktrace-%s-%d%s.json" %
                           (re.sub(r"[^\w.]+", "_", python.strip("/")), n,
                            "-" + "_".join(a.strip("-") for a in extra) if extra else ""))
        try:
            lt = self.spawn([self.args.leaktrace, "-v", "-p", str(w.pid), "--format", "json",
                             "-w", out] + list(extra), "leaktrace", ready=r"^leaktrace: tracing")
        except OSError as e:
            w.end()
            raise BenchError("cannot start %s: %s" % (self.args.leaktrace, e))
        try:
            lt.wait_ready(ATTACH_TIMEOUT)
            if not extra:
                self.note_sites(python, lt)
            res = self.finish_workload(w)
        finally:
            w.end()
            lt.interrupt(EXIT_TIMEOUT)
        if lt.status != 0:
            raise BenchError("leaktrace exited with %s: %s" % (lt.status, lt.tail()))
        final = None
        try:
            with open(out) as f:
                for line in f:
                    if line.strip():
                        final = json.loads(line)
        except (OSError, ValueError) as e:
            raise BenchError("cannot read leaktrace's report %s: %s" % (out, e))
        if final is None:
            raise BenchError("leaktrace wrote no report to %s" % out)
        stats = final.get("stats", {}) if isinstance(final, dict) else {}
        res.update(lost=stats.get("lost_events"), seen=stats.get("alloc_events"),
                   py_seen=stats.get("py_alloc_events"),
                   lt_cpu=lt.rusage.ru_utime + lt.rusage.ru_stime if lt.rusage else None,
                   lt_rss_kb=lt.rusage.ru_maxrss if lt.rusage else None,
                   life=lt.ended - lt.started)
        return res

    def note_sites(self, python, lt):
        """Where leaktrace's -v says it put the Python probes, with the
        mapped file named while the process lives."""
        sites = []
        for line in lt.lines["stderr"]:
            m = SITE_RE.search(line)
            if m:
                name = re.sub(r"\W+", "_", m.group(1))
                path = os.path.realpath(os.readlink(m.group(3)))
                off = int(m.group(4), 16)
                sites.append((name, path, off, False))
                if m.group(2):
                    sites.append((name + "_ret", path, off, True))
            if "is called through the no-ops before it" in line:
                self.pointed.add(python)
        self.sites[python] = sites

    def run_floor(self, python):
        if python in self.pointed:
            raise NotApplicable("its probes sit on the no-ops leaktrace routes the allocator's "
                             "calls through; without leaktrace no call reaches them")
        sites = self.sites.get(python)
        if not sites:
            raise BenchError("no probe sites (leaktrace -v named none)")
        w = self.start_workload(python, [])
        self.events = self.events or UprobeEvents("ltpybench", log)
        try:
            self.events.define(sites)
            before = self.events.hits()
            self.events.enable(True)
            res = self.finish_workload(w)
            after = self.events.hits()
        finally:
            w.end()
            self.events.remove()
        res["traps"] = sum(after.values()) - sum(before.values())
        return res

    def cleanup(self):
        left = []
        if self.events:
            stale, _ = self.events.close()
            if stale:
                left.append("uprobe events %s" % stale)
        for c in self.children:
            if c.poll() is None:
                c.end(signal.SIGINT if c.name == "leaktrace" else signal.SIGTERM)
            if c.poll() is None:
                left.append("%s %d" % (c.name, c.pid))
        return left


# -------------------------------------------------------------- report

def version_of(python):
    try:
        r = subprocess.run([python, "-c", "import platform; print(platform.python_version())"],
                           capture_output=True, text=True, timeout=30)
        return r.stdout.strip() or None
    except (OSError, subprocess.TimeoutExpired):
        return None


def default_pythons(leaktrace):
    found = []
    if os.access("/usr/bin/python3.11", os.X_OK):
        found.append("/usr/bin/python3.11")

    def key(path):
        v = path.split("/versions/")[1].split("/")[0]
        return [int(x) if x.isdigit() else 0 for x in re.split(r"[.]", v)]
    pyenv = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.12.*/bin/python3.12")),
                   key=key)
    if pyenv:
        found.append(pyenv[-1])
    # Debian unstable's, with its own glibc 2.43 (make sid-pythons).
    sid = os.path.join(os.path.dirname(leaktrace), "pythons", "sid", "run", "python3.14")
    if os.access(sid, os.X_OK):
        found.append(sid)
    return found


def ratio(a, b):
    if a is None or b is None or b <= 0:
        return None
    return a / b


def fmt_ratio(x):
    return "n/a" if x is None else "%.2fx" % x


def median_of(runs):
    if not runs:
        return None
    res = dict(runs[len(runs) // 2])
    res["ns"] = statistics.median(r["ns"] for r in runs)
    res["spread"] = (min(r["ns"] for r in runs), max(r["ns"] for r in runs))
    return res


def print_table(pythons, versions, cells, errors, args):
    hdr = ["python", "untraced", "tracemalloc=25", "leaktrace", "trap floor", "sample-bytes",
           "objects gc", "tm/untraced", "lt/tm", "floor/tm", "lt/floor", "sampled/tm", "gc/tm",
           "lt/untraced", "lt <= tm"]
    rows = []
    notes = []
    for py in pythons:
        c = {m: cells.get((py, m)) for m in MODES}
        vals = []
        for m in MODES:
            r = c[m]
            if r is None:
                vals.append("n/a")
                notes.append("%s %s: %s" % (py, m, errors.get((py, m), "not measured")))
            elif args.runs > 1:
                vals.append("%.1f [%.1f-%.1f]" % (r["ns"], r["spread"][0], r["spread"][1]))
            else:
                vals.append("%.1f" % r["ns"])
        ns = {m: c[m]["ns"] if c[m] else None for m in MODES}
        lt_tm = ratio(ns["leaktrace"], ns["tracemalloc"])
        target = "n/a" if lt_tm is None else ("met" if lt_tm <= 1.0 else "NOT met")
        rows.append(["%s (%s)" % (py, versions.get(py) or "?")] + vals +
                    [fmt_ratio(ratio(ns["tracemalloc"], ns["untraced"])),
                     fmt_ratio(lt_tm), fmt_ratio(ratio(ns["floor"], ns["tracemalloc"])),
                     fmt_ratio(ratio(ns["leaktrace"], ns["floor"])),
                     fmt_ratio(ratio(ns["sampled"], ns["tracemalloc"])),
                     fmt_ratio(ratio(ns["gc_only"], ns["tracemalloc"])),
                     fmt_ratio(ratio(ns["leaktrace"], ns["untraced"])), target])
    w = [max(len(hdr[i]), max(len(r[i]) for r in rows)) for i in range(len(hdr))]
    print()
    print("py_churn: create and drop an instance, a dict, a list and a tuple per "
          "iteration, %.1f s per measurement; ns per object (lower is better)%s" %
          (args.seconds, ", median [min-max] of %d runs" % args.runs if args.runs > 1 else ""))
    print("  ".join("%-*s" % (w[0], hdr[0]) if i == 0 else "%*s" % (w[i], h)
                    for i, h in enumerate(hdr)))
    for r in rows:
        print("  ".join("%-*s" % (w[0], v) if i == 0 else "%*s" % (w[i], v)
                        for i, v in enumerate(r)))
    lt_rows = [(py, cells[(py, "leaktrace")]) for py in pythons if cells.get((py, "leaktrace"))]
    if lt_rows:
        print()
        for py, r in lt_rows:
            print("leaktrace on %s: Python objects seen created %s, native allocations %s, "
                  "lost events %s, CPU %s s of %.1f s alive, peak RSS %s MiB" % (
                      py, r.get("py_seen", "?"), r.get("seen", "?"), r.get("lost", "?"),
                      "%.2f" % r["lt_cpu"] if r.get("lt_cpu") is not None else "?",
                      r.get("life") or 0,
                      "%.1f" % (r["lt_rss_kb"] / 1024.0) if r.get("lt_rss_kb") else "?"))
    floor_rows = [(py, cells[(py, "floor")]) for py in pythons if cells.get((py, "floor"))]
    for py, r in floor_rows:
        print("trap floor on %s: %s probe hits for %d objects (%.2f per object), no BPF" % (
            py, r.get("traps", "?"), r["objects"], r.get("traps", 0) / max(r["objects"], 1)))
    if notes:
        print()
        for n in notes:
            print("n/a: " + n)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--leaktrace", default=os.path.join(REPO, "build", "leaktrace"),
                    help="leaktrace binary (default: build/leaktrace)")
    ap.add_argument("--no-leaktrace", action="store_true",
                    help="measure (a) and (b) only; exit 0 without (c)")
    ap.add_argument("--pythons", default=None,
                    help="comma-separated interpreters (default: /usr/bin/python3.11, "
                         "the pyenv 3.12 build and Debian unstable's 3.14 when fetched)")
    ap.add_argument("--workload", default=os.path.join(HERE, "py_churn.py"))
    ap.add_argument("-s", "--seconds", type=float, default=3.0)
    ap.add_argument("--runs", type=int, default=1, help="runs per cell (median)")
    args = ap.parse_args()
    if args.seconds <= 0 or args.runs < 1:
        ap.error("--seconds must be > 0 and --runs >= 1")
    args.workload = os.path.abspath(args.workload)
    args.leaktrace = os.path.abspath(args.leaktrace)
    pythons = args.pythons.split(",") if args.pythons else default_pythons(args.leaktrace)
    if not pythons:
        log("no interpreter found")
        return 1

    def on_term(sig, _frame):
        raise KeyboardInterrupt
    # Also when started with SIGINT ignored (a background job of a shell):
    # Ctrl-C still cleans up, and the children do not inherit SIG_IGN (an
    # ignored SIGINT would survive their exec and keep leaktrace running).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)

    modes = list(MODES)
    errors = {}
    lt_skip = None
    if args.no_leaktrace:
        for m in LT_MODES:
            modes.remove(m)
        lt_skip = "skipped (--no-leaktrace)"
    elif not os.access(args.leaktrace, os.X_OK):
        lt_skip = "no executable %s" % args.leaktrace
    elif os.geteuid() != 0:
        lt_skip = "leaktrace needs root (uprobes, BPF)"
    if lt_skip and "leaktrace" in modes:
        for m in LT_MODES:
            modes.remove(m)
        log("leaktrace: n/a: " + lt_skip)
    for py in pythons:
        if lt_skip:
            for m in LT_MODES:
                errors[(py, m)] = lt_skip

    bench = Bench(args)
    versions = {}
    runs = {}
    failed = bool(lt_skip) and not args.no_leaktrace
    interrupted = False
    t0 = time.monotonic()
    try:
        with open("/proc/loadavg") as f:
            load0 = f.read().split()[0]
        live = []
        for py in pythons:
            versions[py] = version_of(py)
            if versions[py] is None:
                log("%s: not runnable" % py)
                for m in MODES:
                    errors.setdefault((py, m), "interpreter not runnable")
                failed = True
            else:
                live.append(py)
        for n in range(args.runs):
            for py in live:
                for m in modes:
                    if (py, m) in errors:
                        continue  # failed before: do not repeat
                    log("%s %s%s" % (py, m, "" if args.runs == 1 else
                                     " (run %d of %d)" % (n + 1, args.runs)))
                    try:
                        if m == "untraced":
                            r = bench.run_untraced(py)
                        elif m == "tracemalloc":
                            r = bench.run_tracemalloc(py)
                        elif m == "sampled":
                            r = bench.run_sampled(py, n)
                        elif m == "gc_only":
                            r = bench.run_gc_only(py, n)
                        elif m == "floor":
                            r = bench.run_floor(py)
                        else:
                            r = bench.run_leaktrace(py, n)
                    except NotApplicable as e:
                        errors[(py, m)] = str(e)
                        continue
                    except (BenchError, OSError) as e:
                        log("%s %s: could not measure: %s" % (py, m, e))
                        errors[(py, m)] = str(e)
                        runs.pop((py, m), None)
                        failed = True
                        continue
                    runs.setdefault((py, m), []).append(r)
    except KeyboardInterrupt:
        interrupted = True
        log("interrupted; cleaning up")
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        left = bench.cleanup()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    if left:
        log("could not end: %s" % ", ".join(left))
    if interrupted:
        return 130

    cells = {k: median_of(sorted(v, key=lambda r: r["ns"])) for k, v in runs.items()}
    print_table(pythons, versions, cells, errors, args)
    with open("/proc/loadavg") as f:
        load1 = f.read().split()[0]
    print()
    print("Run took %.0f s; load average %s at start, %s at end (other work on the "
          "machine inflates the numbers)." % (time.monotonic() - t0, load0, load1))
    print("Raw outputs: %s" % bench.tmp)
    return 1 if failed or left else 0


if __name__ == "__main__":
    sys.exit(main())
