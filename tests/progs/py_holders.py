# SPDX-License-Identifier: MIT
"""py_holders.py N GARBAGE: fills py_holders_billing's holders with N objects
each, leaves GARBAGE cycles in gc.garbage, disables the collector, then
waits in a function whose local list holds N FrameHeld objects, until
stdin ends. Prints `ready {json}` with what the test must find."""
import gc
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import py_holders_billing  # noqa: E402


class FrameHeld:
    pass


def exit_on_eof():
    sys.stdin.read()
    os._exit(0)


def serve(n):
    held = [FrameHeld() for _ in range(n)]
    print('ready ' + json.dumps({
        'pid': os.getpid(), 'n': n, 'garbage': len(gc.garbage),
        'file': os.path.abspath(__file__), 'minor': sys.version_info[1],
        'threshold': gc.get_threshold(), 'debug': gc.get_debug(),
        'enabled': gc.isenabled(), 'stats': gc.get_stats(),
    }), flush=True)
    threading.Thread(target=exit_on_eof, daemon=True).start()
    while held:
        time.sleep(1)


if __name__ == '__main__':
    n, garbage = int(sys.argv[1]), int(sys.argv[2])
    gc.set_threshold(700, 10, 10)
    py_holders_billing.fill(n, garbage)
    serve(n)
