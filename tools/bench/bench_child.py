"""Children of the bench scripts (run_bench.py, run_py_bench.py).

Stdlib only: the scripts import it from their own directory and are run by
whichever python3 make bench finds.
"""

import os
import re
import signal
import subprocess
import sys
import threading
import time


class BenchError(Exception):
    pass


def make_log(prefix):
    """A log function for one script; the prefix tells the two benches'
    lines apart when make bench runs them in a row."""
    def log(msg):
        print(prefix + msg, file=sys.stderr, flush=True)
    return log


class Child:
    """A child process whose output lines are collected by reader threads and
    whose rusage is taken with wait4 (CPU seconds, peak RSS).

    ready: a regex; wait_ready() returns once a line of ready_stream matches.
    stdout_path: stdout goes to that file instead of being collected.
    """

    def __init__(self, argv, name, ready=None, ready_stream="stderr",
                 stdout_path=None):
        self.name = name
        self.lines = {"stdout": [], "stderr": []}
        self.ready_re = re.compile(ready) if ready else None
        self.ready_stream = ready_stream
        self.ready_event = threading.Event()
        # Set once a stream is read to its end: a caller may still be short
        # of the last lines when the child has been reaped.
        self.eof = {"stdout": threading.Event(), "stderr": threading.Event()}
        self.rusage = None
        self.status = None
        self.started = time.monotonic()
        self.ended = None
        stdout = subprocess.PIPE
        self._stdout_file = None
        if stdout_path:
            self._stdout_file = open(stdout_path, "wb")
            stdout = self._stdout_file
            self.eof["stdout"].set()
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                         stdout=stdout, stderr=subprocess.PIPE)
        except BaseException:
            if self._stdout_file:
                self._stdout_file.close()
            raise
        self.pid = self.proc.pid
        self.threads = []
        for stream in ("stdout", "stderr"):
            f = getattr(self.proc, stream)
            if f is None:
                continue
            t = threading.Thread(target=self._read, args=(stream, f),
                                 daemon=True)
            t.start()
            self.threads.append(t)

    def _read(self, stream, f):
        for raw in iter(f.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.lines[stream].append(line)
            if (self.ready_re and stream == self.ready_stream
                    and self.ready_re.search(line)):
                self.ready_event.set()
        f.close()
        self.eof[stream].set()

    def wait_ready(self, timeout):
        """Waits for the ready line; BenchError when the child exits first
        or the time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ready_event.wait(0.05):
                return
            if self.poll() is not None:
                # A child that printed its ready line and exited at once is
                # not a failure to get ready; the readers may lag behind.
                for t in self.threads:
                    t.join(2)
                if self.ready_event.is_set():
                    return
                raise BenchError("%s exited with %s before it was ready: %s" % (
                    self.name, self.status, self.tail()))
        raise BenchError("%s not ready within %.0f s: %s" % (
            self.name, timeout, self.tail()))

    def tail(self, n=6):
        lines = self.lines["stderr"][-n:] or self.lines["stdout"][-n:]
        return " | ".join(lines) if lines else "(no output)"

    def poll(self):
        if self.status is not None:
            return self.status
        try:
            pid, status, ru = os.wait4(self.pid, os.WNOHANG)
        except ChildProcessError:
            # Reaped by someone else: its status
            # and rusage are gone; treat it as ended so callers stop waiting.
            pid, status, ru = self.pid, 0, None
        if pid == 0:
            return None
        self.rusage = ru
        self.status = os.waitstatus_to_exitcode(status)
        # wait4 reaped it, not Popen; without this Popen would try again.
        self.proc.returncode = self.status
        self.ended = time.monotonic()
        for t in self.threads:
            t.join(5)
        if self._stdout_file:
            self._stdout_file.close()
        return self.status

    def wait(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.poll() is not None:
                return self.status
            time.sleep(0.02)
        return None

    def send(self, sig):
        # Reaping first means a pid that is no longer ours is never signalled.
        if self.poll() is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def interrupt(self, timeout):
        """SIGINT (a tracer's clean stop: final report, probes closed), then
        waits; ends it for good and raises BenchError past timeout."""
        self.send(signal.SIGINT)
        if self.wait(timeout) is None:
            self.end(signal.SIGKILL)
            raise BenchError("%s did not exit within %.0f s of SIGINT" % (self.name, timeout))

    def end(self, first=signal.SIGTERM):
        """Ends it for good (first, then SIGKILL) and reaps it."""
        if self.poll() is not None:
            return
        self.send(first)
        if self.wait(15) is None:
            self.send(signal.SIGKILL)
            self.wait(15)


def go_and_result(child, timeout):
    """SIGUSR1 (go) to a workload waiting for it, then the key/value pairs
    of the "result ..." line it prints before it exits."""
    child.send(signal.SIGUSR1)
    st = child.wait(timeout)
    if st is None:
        child.end(signal.SIGKILL)
        raise BenchError("%s did not finish within %.0f s" % (child.name, timeout))
    child.eof["stdout"].wait(5)
    if st != 0:
        raise BenchError("%s exited with %s: %s" % (child.name, st, child.tail()))
    for line in child.lines["stdout"]:
        f = line.split()
        if f and f[0] == "result":
            return dict(zip(f[1::2], f[2::2]))
    raise BenchError("no result line from %s: %s" % (child.name, child.tail()))
