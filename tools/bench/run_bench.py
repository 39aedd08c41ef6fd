#!/usr/bin/python3
"""make bench: ns per malloc/free pair, side by side, on one workload.

Rows, each for 1 and 2 threads of tools/bench/churn_bench:
  untraced; the raw trap floor (tracefs uprobe_events at exactly the offsets
  leaktrace chooses, no BPF, records written to a 1 KB trace buffer); the
  same with tracing_on=0 (trap only, for reference); leaktrace -p with full
  stacks (unwound by .eh_frame rules, the default); the same with
  --unwind fp, whose difference is the cost of unwinding by rules per
  allocation event; leaktrace -p
  --sample-bytes 524288 (when built); a bpftrace memleak-style peer
  (tools/bench/memleak.bt). With --private-libc DIR (make bench gives it
  Debian unstable's glibc 2.43, fetched with the test interpreters), the
  untraced, floor and full rows again with churn_bench run through that
  directory's ld.so and libc, as a container built on a newer distribution
  runs: its allocator entries differ, and so do the probe sites.

Every churn_bench starts, prints "ready PID" and waits for SIGUSR1, so the
tracer is attached before the measured run. Exit status: 0 when the
measurements ran (targets met or not), 1 when something could not be measured
at all, 130 on Ctrl-C. Nothing is left attached: tracefs events are removed
and every child is ended in a finally block.
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

# No __pycache__ in the source tree from importing bench_child.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tracefs_events import UprobeEvents  # noqa: E402
from bench_child import BenchError, Child, go_and_result, make_log  # noqa: E402

GROUP = "ltbench"
SAMPLE_BYTES = 524288
ATTACH_TIMEOUT = 60.0
EXIT_TIMEOUT = 60.0

log = make_log("bench: ")


class Bench:
    def __init__(self, args):
        self.args = args
        self.children = []
        self.tmp = tempfile.mkdtemp(prefix="ltbench.")
        self.events = UprobeEvents(GROUP, log)
        self.foreign = set()
        self.libc = None
        self.bpftrace = None
        self.quiet_budget = 60.0
        self.private = None  # the libc directory churn_bench runs on, when not the host's

    # ---------------------------------------------------------- children

    def spawn(self, argv, name, **kw):
        c = Child(argv, name, **kw)
        self.children.append(c)
        return c

    def start_churn(self, threads):
        prefix = []
        if self.private:
            prefix = [os.path.join(self.private, "ld-linux-x86-64.so.2"),
                      "--library-path", self.private]
        c = self.spawn(prefix + [self.args.churn, "-t", str(threads),
                                 "-s", str(self.args.seconds)],
                       "churn_bench", ready=r"^ready \d+", ready_stream="stdout")
        c.wait_ready(30)
        return c

    def finish_churn(self, churn):
        """SIGUSR1 (go), then its result. The result is marked disturbed
        when another process held uprobes before or after it."""
        disturbed = self.wait_quiet()
        kv = go_and_result(churn, self.args.seconds + EXIT_TIMEOUT)
        disturbed = self.note_foreign_uprobes() or disturbed
        return {"ns": float(kv["ns_per_pair"]), "disturbed": disturbed,
                "pairs": int(kv["pairs"]),
                "throughput_ns": float(kv["throughput_ns_per_pair"])}

    # ---------------------------------------------------------- rows

    def run_untraced(self, threads):
        return self.finish_churn(self.start_churn(threads))

    def churn_under(self, churn, tracer):
        """Run the churn once tracer has attached, then stop tracer with SIGINT."""
        try:
            tracer.wait_ready(ATTACH_TIMEOUT)
            return self.finish_churn(churn)
        finally:
            tracer.interrupt(EXIT_TIMEOUT)

    def run_leaktrace(self, threads, extra):
        churn = self.start_churn(threads)
        out = os.path.join(self.tmp, "leaktrace-%d-%d.json" % (threads, len(extra)))
        lt = self.spawn([self.args.leaktrace, "-p", str(churn.pid),
                         "--format", "json", "-w", out] + extra,
                        "leaktrace", ready=r"^leaktrace: tracing")
        res = self.churn_under(churn, lt)
        if lt.status != 0:
            raise BenchError("leaktrace exited with %s: %s" % (lt.status, lt.tail()))
        final = None
        with open(out) as f:
            for line in f:
                if line.strip():
                    final = json.loads(line)
        if final is None:
            raise BenchError("leaktrace wrote no report to %s" % out)
        stats = final.get("stats", {})
        res.update(lost=stats.get("lost_events"),
                   seen=stats.get("alloc_events"),
                   cpu=lt.rusage.ru_utime + lt.rusage.ru_stime,
                   rss_kb=lt.rusage.ru_maxrss,
                   life=lt.ended - lt.started)
        return res

    def run_bpftrace(self, threads):
        churn = self.start_churn(threads)
        out = os.path.join(self.tmp, "bpftrace-%d.out" % threads)
        bt = self.spawn([self.bpftrace, "-B", "line", "-p", str(churn.pid),
                         self.args.bpftrace_script, str(churn.pid)],
                        "bpftrace", ready=r"^memleak\.bt: tracing",
                        ready_stream="stdout")
        res = self.churn_under(churn, bt)
        bt.eof["stdout"].wait(5)
        with open(out, "w") as f:
            f.write("\n".join(bt.lines["stdout"] + ["--- stderr"] +
                              bt.lines["stderr"]) + "\n")
        if bt.status != 0:
            raise BenchError("bpftrace exited with %s: %s" % (bt.status, bt.tail()))
        seen = None
        for line in bt.lines["stdout"]:
            m = re.match(r"memleak\.bt: allocs @n_alloc: (\d+)", line)
            if m:
                seen = int(m.group(1))
        if seen is None:
            raise BenchError("bpftrace printed no counts (see %s)" % out)
        res.update(seen=seen, cpu=bt.rusage.ru_utime + bt.rusage.ru_stime,
                   rss_kb=bt.rusage.ru_maxrss, life=bt.ended - bt.started)
        return res

    # ---------------------------------------------------------- probe sites

    def discover_offsets(self):
        """Runs leaktrace -v -p on a waiting churn_bench and reads where it
        put the malloc and free probes (file offsets in libc)."""
        churn = self.start_churn(1)
        lt = self.spawn([self.args.leaktrace, "-v", "-p", str(churn.pid),
                         "--format", "json", "-w", os.devnull],
                        "leaktrace -v", ready=r"^leaktrace: tracing")
        try:
            lt.wait_ready(ATTACH_TIMEOUT)
            sites = {}
            for line in lt.lines["stderr"]:
                m = re.search(r"attached (malloc|free)\b.* at (/proc/\d+/map_files/"
                              r"[0-9a-f]+-[0-9a-f]+)\+0x([0-9a-f]+)", line)
                if m:
                    sites[m.group(1)] = (m.group(2), int(m.group(3), 16))
            if set(sites) != {"malloc", "free"}:
                raise BenchError("leaktrace -v did not name the malloc and free "
                                 "sites: %s" % lt.tail(20))
            # The mapping's file, named while the process is alive.
            path = os.path.realpath(os.readlink(sites["malloc"][0]))
            if not os.path.exists(path):
                path = os.path.realpath("/lib/x86_64-linux-gnu/libc.so.6")
        finally:
            lt.end(signal.SIGINT)
            churn.send(signal.SIGTERM)
            churn.wait(10)
            churn.end(signal.SIGINT)
        return path, sites["malloc"][1], sites["free"][1]

    # ---------------------------------------------------------- tracefs

    def run_floor(self, threads, libc, off_malloc, off_free, record=True):
        """The three probes as tracefs uprobe events, no BPF. record: each hit
        writes its record to a 1 KB trace buffer; otherwise tracing_on is 0
        for the run, so the handler finds the buffer off and only the trap
        (and the event dispatch) is left."""
        churn = self.start_churn(threads)
        self.events.define([("malloc", libc, off_malloc, False),
                            ("malloc_ret", libc, off_malloc, True),
                            ("free", libc, off_free, False)], record=record, buffer_kb=1)
        hits0 = self.events.hits()
        self.events.enable(True)
        try:
            res = self.finish_churn(churn)
        finally:
            self.events.enable(False)
            hits = self.events.hits()
            self.events.remove()
        res["seen"] = hits.get("malloc_ret", 0) - hits0.get("malloc_ret", 0)
        return res

    def bpftool_json(self, *what):
        try:
            r = subprocess.run(["bpftool", "-j"] + list(what), capture_output=True,
                               text=True, timeout=30)
            return json.loads(r.stdout or "[]")
        except (OSError, ValueError, subprocess.TimeoutExpired):
            return []

    def uprobe_holders(self):
        """pids holding uprobes/uretprobes (bpftool perf list) and uprobe
        links (bpftool link list)."""
        held = set()
        for e in self.bpftool_json("perf", "list"):
            if e.get("fd_type") in ("uprobe", "uretprobe"):
                held.add(e.get("pid"))
        for e in self.bpftool_json("link", "list"):
            if "uprobe" in str(e.get("type", "")):
                for p in e.get("pids", []) or [{"pid": None}]:
                    held.add(p.get("pid"))
        return held

    def wait_quiet(self):
        """Waits (within a budget for the whole run) until no other process
        holds uprobes: their probes on libc may trap in churn_bench too.
        Returns whether some still do."""
        deadline = time.monotonic() + min(20.0, self.quiet_budget)
        said = False
        while True:
            foreign = self.note_foreign_uprobes()
            if not foreign or time.monotonic() >= deadline:
                break
            if not said:
                log("waiting up to %.0f s for other uprobe users to finish: %s" %
                    (deadline - time.monotonic(), ", ".join(map(str, sorted(foreign)))))
                said = True
            time.sleep(0.5)
            self.quiet_budget -= 0.5
        return bool(foreign)

    def note_foreign_uprobes(self):
        """Notes the other processes that hold uprobes now; returns their pids."""
        mine = {c.pid for c in self.children if c.status is None}
        foreign = self.uprobe_holders() - mine
        for pid in foreign:
            try:
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            except (OSError, TypeError):
                cmd = "?"
            self.foreign.add("%s (%s)" % (pid, cmd.strip()[:80]))
        return foreign

    def cleanup(self):
        for c in self.children:
            c.end(signal.SIGINT)
        mine, left = self.events.close()
        held = self.uprobe_holders() & {c.pid for c in self.children}
        return mine, left, held

    # ---------------------------------------------------------- bpftrace

    def ensure_bpftrace(self):
        path = shutil.which("bpftrace")
        if path:
            return path
        log("installing the Debian package bpftrace (apt-get)")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-q"], env=env, check=False,
                       stdout=subprocess.DEVNULL)
        subprocess.run(["apt-get", "install", "-y", "-q", "bpftrace"], env=env,
                       check=False, stdout=subprocess.DEVNULL)
        return shutil.which("bpftrace")


# -------------------------------------------------------------- report

def fmt_ns(r, base):
    mark = "*" if r.get("disturbed") else ""
    if base is None:
        return "%.1f%s" % (r["ns"], mark)
    return "%.0f (+%.0f)%s" % (r["ns"], r["ns"] - base["ns"], mark)


def overhead(r, base):
    if r is None or base is None:
        return None
    return r["ns"] - base["ns"]


def ratio(a, b):
    if a is None or b is None or b <= 0:
        return None
    return a / b


def print_rows(rows, cols):
    """rows: [label, value per column]; aligned under the column heads."""
    w0 = max(len(r[0]) for r in rows)
    wc = [max(len(cols[i]), max(len(r[i + 1]) for r in rows)) for i in range(len(cols))]
    print("%-*s  %s" % (w0, "", "  ".join("%*s" % (wc[i], c) for i, c in enumerate(cols))))
    for r in rows:
        print("%-*s  %s" % (w0, r[0], "  ".join("%*s" % (wc[i], v)
                                                 for i, v in enumerate(r[1:]))))


def print_private(results, threads, errors, label):
    """The rows measured on the private libc, and its target."""
    def get(name, t):
        return results.get((name, t))

    rows = []
    for name, text in (("p_untraced", "untraced ns/pair"),
                       ("p_floor", "raw trap floor ns/pair (+overhead)"),
                       ("p_full", "leaktrace full stacks ns/pair")):
        vals = []
        for t in threads:
            r = get(name, t)
            if r is None:
                vals.append("n/a (%s)" % errors.get((name, t), "failed"))
            else:
                vals.append(fmt_ns(r, None if name == "p_untraced" else get("p_untraced", t)))
        rows.append([text] + vals)
    oh = {t: ratio(overhead(get("p_full", t), get("p_untraced", t)),
                   overhead(get("p_floor", t), get("p_untraced", t))) for t in threads}
    rows.append(["  full overhead / floor overhead"] + [fmt_ratio(oh[t]) for t in threads])
    rows.append(["leaktrace full lost events"] +
                [str(get("p_full", t)["lost"]) if get("p_full", t) else "n/a" for t in threads])
    cols = ["%d thread%s" % (t, "" if t == 1 else "s") for t in threads]
    print()
    print("The same churn_bench on %s (its own ld.so and libc):" % label)
    print_rows(rows, cols)
    for t, c in zip(threads, cols):
        print("  %-9s full-stack overhead <= 1.3x its raw floor's: %s" % (c + ":", verdict(oh[t], 1.3)))


def print_table(results, threads, seconds, sampled_state, errors):
    cols = ["%d thread%s" % (t, "" if t == 1 else "s") for t in threads]
    rows = []

    def row(label, vals):
        rows.append([label] + vals)

    def get(name, t):
        return results.get((name, t))

    unt = {t: get("untraced", t) for t in threads}
    for name, label in (("untraced", "untraced ns/pair"),
                        ("floor", "raw trap floor ns/pair (+overhead)"),
                        ("trap", "  trap only (tracing_on=0), for reference"),
                        ("full", "leaktrace full stacks ns/pair"),
                        ("fp", "leaktrace --unwind fp ns/pair"),
                        ("sampled", "leaktrace --sample-bytes %d" % SAMPLE_BYTES),
                        ("bpftrace", "bpftrace memleak.bt ns/pair")):
        vals = []
        for t in threads:
            r = get(name, t)
            if name == "sampled" and sampled_state:
                vals.append(sampled_state)
                continue
            if r is None:
                vals.append("n/a (%s)" % errors.get((name, t), "failed"))
                continue
            vals.append(fmt_ns(r, None if name == "untraced" else unt[t]))
        row(label, vals)

    floor_oh = {t: overhead(get("floor", t), unt[t]) for t in threads}
    trap_oh = {t: overhead(get("trap", t), unt[t]) for t in threads}
    bt_oh = {t: overhead(get("bpftrace", t), unt[t]) for t in threads}
    row("  unwinding by .eh_frame rules, ns/event (full - fp)",
        ["%.0f" % (get("full", t)["ns"] - get("fp", t)["ns"])
         if get("full", t) and get("fp", t) else "n/a" for t in threads])
    for name, label in (("full", "full"), ("sampled", "sampled")):
        if name == "sampled" and sampled_state:
            continue
        oh = {t: overhead(get(name, t), unt[t]) for t in threads}
        row("  %s overhead / floor overhead" % label,
            [fmt_ratio(ratio(oh[t], floor_oh[t])) for t in threads])
        row("  %s overhead / trap-only overhead" % label,
            [fmt_ratio(ratio(oh[t], trap_oh[t])) for t in threads])
        row("  %s overhead / bpftrace overhead" % label,
            [fmt_ratio(ratio(oh[t], bt_oh[t])) for t in threads])
    for name, label in (("full", "leaktrace full"), ("sampled", "leaktrace sampled"),
                        ("bpftrace", "bpftrace")):
        if name == "sampled" and sampled_state:
            continue
        if name != "bpftrace":
            row("%s lost events" % label,
                [str(get(name, t)["lost"]) if get(name, t) else "n/a" for t in threads])
        row("%s CPU s (user+sys)" % label,
            ["%.2f of %.1f s alive" % (get(name, t)["cpu"], get(name, t)["life"])
             if get(name, t) else "n/a" for t in threads])
        row("%s peak RSS MiB" % label,
            ["%.1f" % (get(name, t)["rss_kb"] / 1024.0) if get(name, t) else "n/a"
             for t in threads])

    print()
    print("churn_bench: free(malloc(64)) through 3 call frames, %.1f s per "
          "measurement; ns/pair = time a thread spends per pair" % seconds)
    print_rows(rows, cols)
    print()
    print("Targets (overhead = traced minus untraced ns per pair; the floor is "
          "the tracefs row with records written):")
    for t, c in zip(threads, cols):
        full_oh = overhead(get("full", t), unt[t])
        r1 = ratio(full_oh, floor_oh[t])
        r2 = ratio(full_oh, bt_oh[t])
        print("  %-9s full-stack overhead <= 1.3x raw floor's: %s;  <= 1/4 of "
              "bpftrace's: %s" % (c + ":", verdict(r1, 1.3), verdict(r2, 0.25)))


def fmt_ratio(x):
    return "n/a" if x is None else "%.2fx" % x


def verdict(x, limit):
    if x is None:
        return "not measured"
    return "%s (%.2fx)" % ("met" if x <= limit else "NOT met", x)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--leaktrace", required=True)
    ap.add_argument("--churn", required=True)
    ap.add_argument("--bpftrace-script", required=True)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--private-libc", help="a directory with ld-linux-x86-64.so.2 and "
                    "libc.so.6 to measure on too")
    ap.add_argument("--private-libc-label", default="a private libc")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("bench: run as root (uprobes, tracefs, BPF)", file=sys.stderr)
        return 1
    threads = [int(x) for x in args.threads.split(",")]
    args.leaktrace = os.path.abspath(args.leaktrace)
    args.churn = os.path.abspath(args.churn)
    args.bpftrace_script = os.path.abspath(args.bpftrace_script)

    # SIGTERM/SIGHUP end the run like Ctrl-C: through the finally below.
    def on_term(sig, _frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)

    bench = Bench(args)
    results, errors = {}, {}
    sampled_state = None
    failed = False
    interrupted = False
    t_start = time.monotonic()
    try:
        with open("/proc/loadavg") as f:
            load0 = f.read().split()[0]
        bench.note_foreign_uprobes()
        bench.bpftrace = bench.ensure_bpftrace()
        help_text = subprocess.run([args.leaktrace, "--help"], capture_output=True,
                                   text=True).stdout
        if "--sample-bytes" not in help_text:
            sampled_state = "n/a (not built yet)"
        bench.events.mount()
        log("finding leaktrace's probe sites (leaktrace -v -p)")
        libc, off_malloc, off_free = bench.discover_offsets()
        log("malloc at %s:0x%x (with its return), free at 0x%x" %
            (libc, off_malloc, off_free))

        plan = [("untraced", bench.run_untraced),
                ("floor", lambda t: bench.run_floor(t, libc, off_malloc, off_free)),
                ("trap", lambda t: bench.run_floor(t, libc, off_malloc, off_free,
                                                   record=False)),
                ("full", lambda t: bench.run_leaktrace(t, [])),
                ("fp", lambda t: bench.run_leaktrace(t, ["--unwind", "fp"]))]
        if not sampled_state:
            plan.append(("sampled", lambda t: bench.run_leaktrace(
                t, ["--sample-bytes", str(SAMPLE_BYTES)])))
        if bench.bpftrace:
            plan.append(("bpftrace", bench.run_bpftrace))
        else:
            errors.update({("bpftrace", t): "bpftrace not installed" for t in threads})
            failed = True
        private_plan = []
        if args.private_libc:
            bench.private = os.path.abspath(args.private_libc)
            log("finding leaktrace's probe sites on %s" % bench.private)
            p_libc, p_malloc, p_free = bench.discover_offsets()
            bench.private = None
            log("%s: malloc at 0x%x, free at 0x%x" % (p_libc, p_malloc, p_free))

            def on_private(fn):
                def run(t):
                    bench.private = os.path.abspath(args.private_libc)
                    try:
                        return fn(t)
                    finally:
                        bench.private = None
                return run
            private_plan = [
                ("p_untraced", on_private(bench.run_untraced)),
                ("p_floor", on_private(lambda t: bench.run_floor(t, p_libc, p_malloc, p_free))),
                ("p_full", on_private(lambda t: bench.run_leaktrace(t, [])))]
            bench.private = None
        for t in threads:
            for name, fn in plan + private_plan:
                log("%s, %d thread%s" % (name, t, "" if t == 1 else "s"))
                try:
                    results[(name, t)] = r = fn(t)
                except (BenchError, OSError, subprocess.CalledProcessError) as e:
                    log("%s, %d threads: could not measure: %s" % (name, t, e))
                    errors[(name, t)] = "failed"
                    failed = True
                    continue
                if name in ("full", "bpftrace", "floor", "trap", "p_full", "p_floor") and \
                        r.get("seen") is not None \
                        and r["seen"] < r["pairs"]:
                    log("warning: %s saw %d allocations of %d pairs" %
                        (name, r["seen"], r["pairs"]))
    except KeyboardInterrupt:
        interrupted = True
        log("interrupted; cleaning up")
    except (BenchError, OSError, subprocess.CalledProcessError) as e:
        log("could not run: %s" % e)
        failed = True
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        mine, left, held = bench.cleanup()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    if interrupted:
        return 130

    if results:
        print_table(results, threads, args.seconds, sampled_state, errors)
        if args.private_libc:
            print_private(results, threads, errors, args.private_libc_label)
    with open("/proc/loadavg") as f:
        load1 = f.read().split()[0]
    print()
    print("Run took %.0f s; load average %s at start, %s at end (2 vCPUs here: other "
          "work on the machine inflates the numbers)." %
          (time.monotonic() - t_start, load0, load1))
    if bench.foreign:
        print("* other processes held uprobes around this measurement (their "
              "probes on libc may trap in churn_bench too): %s" %
              "; ".join(sorted(bench.foreign)[:4]) +
              (" and %d more" % (len(bench.foreign) - 4) if len(bench.foreign) > 4 else ""))
    print("Left behind: %s ltbench tracefs events, %s uprobes held by bench "
          "processes%s." % (len(mine) or "no", len(held) or "no",
                            "; uprobe_events of others: %d lines" % len(left)
                            if left and not mine else ""))
    print("Raw outputs: %s" % bench.tmp)
    if mine or held:
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
