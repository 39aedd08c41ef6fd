# SPDX-License-Identifier: MIT
"""Uprobe events through tracefs, for measuring the trap floor: the same
probe sites as leaktrace's, with no BPF program behind them.

tracefs is mounted at TRACEFS when it is not there, and unmounted by
close() if this module mounted it. tracing_on is 0 while the events are
enabled, so each hit costs the trap and the event dispatch only. Every event
defined is removed by remove() or close(), also after an error.
"""

import os
import subprocess

TRACEFS = "/sys/kernel/tracing"


class UprobeEvents:
    def __init__(self, group):
        self.group = group
        self.names = []
        self.mounted = False
        self.saved_tracing_on = None

    def path(self, name):
        return os.path.join(TRACEFS, name)

    def write(self, name, text, append=False):
        # One write(2) per command, no seek: tracefs files refuse lseek.
        fd = os.open(self.path(name), os.O_WRONLY | (os.O_APPEND if append else os.O_TRUNC))
        try:
            os.write(fd, text.encode())
        finally:
            os.close(fd)

    def open(self):
        if not os.path.exists(self.path("uprobe_events")):
            subprocess.run(["mount", "-t", "tracefs", "nodev", TRACEFS], check=True)
            self.mounted = True
        with open(self.path("tracing_on")) as f:
            self.saved_tracing_on = f.read().strip()
        self.write("tracing_on", "0")

    def define(self, sites):
        """sites: (name, path, offset, is_return)."""
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
                if len(p) == 3 and p[1].split("/")[-1] in self.names:
                    out[p[1].split("/")[-1]] = int(p[2])
        return out

    def remove(self):
        if not self.names:
            return
        if os.path.exists(self.path("events/" + self.group)):
            self.enable(False)
        for name in self.names:
            self.write("uprobe_events", "-:%s/%s\n" % (self.group, name), append=True)
        self.names = []

    def close(self):
        """Returns the uprobe events still defined (none, normally)."""
        try:
            self.remove()
        finally:
            if self.saved_tracing_on is not None:
                self.write("tracing_on", self.saved_tracing_on)
        with open(self.path("uprobe_events")) as f:
            left = [ln for ln in f.read().splitlines() if ln.strip()]
        if self.mounted and not left:
            subprocess.run(["umount", TRACEFS], check=False)
        return left
