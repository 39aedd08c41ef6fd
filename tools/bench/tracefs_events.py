# SPDX-License-Identifier: MIT
"""Uprobe events through tracefs, for measuring the trap floor: the same
probe sites as leaktrace's, with no BPF program behind them.

tracefs is mounted at TRACEFS when it is not there, and unmounted by
close() if this module mounted it and no uprobe event is left. tracing_on
and buffer_size_kb are saved the first time they are changed and put back
by close(). Every event defined is removed by remove() or close(), also
after an error.
"""

import os
import re
import subprocess

TRACEFS = "/sys/kernel/tracing"


class UprobeEvents:
    def __init__(self, group, log=None):
        self.group = group
        self.log = log or (lambda msg: None)
        self.names = []
        self.mounted = False
        self.saved = {}  # tracefs file -> its value before the first change

    def path(self, name):
        return os.path.join(TRACEFS, name)

    def write(self, name, text, append=False):
        # One write(2) per command, no seek: tracefs files refuse lseek.
        fd = os.open(self.path(name), os.O_WRONLY | (os.O_APPEND if append else os.O_TRUNC))
        try:
            os.write(fd, text.encode())
        finally:
            os.close(fd)

    def mount(self):
        if not os.path.exists(self.path("uprobe_events")):
            subprocess.run(["mount", "-t", "tracefs", "nodev", TRACEFS], check=True)
            self.mounted = True

    def set(self, name, value):
        """Writes a tracefs setting, keeping its first value for close()."""
        if name not in self.saved:
            with open(self.path(name)) as f:
                cur = f.read()
            # buffer_size_kb reads "7 (expanded: 1408)" before first use.
            m = re.search(r"expanded: (\d+)", cur)
            self.saved[name] = m.group(1) if m else cur.split()[0]
        self.write(name, value)

    def define(self, sites, record=False, buffer_kb=None):
        """sites: (name, path, offset, is_return). record: each hit writes
        its record to the trace buffer; otherwise tracing_on is 0, so the
        handler finds the buffer off and only the trap is left."""
        self.mount()
        self.remove()
        if buffer_kb is not None:
            self.set("buffer_size_kb", str(buffer_kb))
        self.set("tracing_on", "1" if record else "0")
        for name, path, off, ret in sites:
            self.write("uprobe_events", "%s:%s/%s %s:0x%x\n" % ("r" if ret else "p", self.group,
                                                               name, path, off), append=True)
            self.names.append(name)

    def enable(self, on):
        self.write("events/%s/enable" % self.group, "1" if on else "0")

    def hits(self):
        out = {}
        with open(self.path("uprobe_profile")) as f:
            for line in f:
                p = line.split()
                # "FILE EVENT HITS"; EVENT with or without its group
                if len(p) == 3 and p[1].split("/")[-1] in self.names:
                    out[p[1].split("/")[-1]] = int(p[2])
        return out

    def remove(self):
        if not self.names:
            return
        try:
            if os.path.exists(self.path("events/" + self.group)):
                self.enable(False)
        except OSError as e:
            self.log("could not disable %s events: %s" % (self.group, e))
        for name in self.names:
            try:
                self.write("uprobe_events", "-:%s/%s\n" % (self.group, name), append=True)
            except OSError as e:
                self.log("could not remove %s/%s: %s" % (self.group, name, e))
        self.names = []

    def close(self):
        """Returns (this group's events still defined, every uprobe event
        still defined): none and none, normally."""
        self.remove()
        for name, val in self.saved.items():
            try:
                self.write(name, val)
            except OSError as e:
                self.log("could not restore %s: %s" % (name, e))
        self.saved = {}
        left = []
        if os.path.exists(self.path("uprobe_events")):
            with open(self.path("uprobe_events")) as f:
                left = [ln for ln in f.read().splitlines() if ln.strip()]
        if self.mounted:
            if left:
                self.log("tracefs left mounted: uprobe_events not empty: %s" % left)
            else:
                subprocess.run(["umount", TRACEFS], check=False)
                self.mounted = False
        return [ln for ln in left if (":%s/" % self.group) in ln], left
