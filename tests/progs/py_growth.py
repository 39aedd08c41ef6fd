# SPDX-License-Identifier: MIT
"""py_growth: a Python leak that grows at a known rate, beside state that
does not.

Usage:
  python3 py_growth.py RATE   print "ready", wait for a line on stdin, fill
                              a cache of 500 Cached objects, print "going",
                              then append RATE Leaked objects per second
                              (paced by the clock, so the rate holds on
                              average whatever each append costs) to a
                              global list, and make and drop Churned objects,
                              until stdin gives "exit" or EOF; exit 0.

leaktrace's interval reports must call type Leaked "growing" at RATE
objects per second, and Cached "stable".
"""
import select
import sys
import time

LEAKED, CACHE = [], {}


class Leaked:
    pass


class Cached:
    pass


class Churned:
    pass


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    rate = int(argv[1])
    print('ready', flush=True)
    if not sys.stdin.readline():
        return 1
    for i in range(500):
        CACHE[i] = Cached()
    print('going', flush=True)
    start = time.monotonic()
    while True:
        due = int((time.monotonic() - start) * rate)
        while len(LEAKED) < due:
            LEAKED.append(Leaked())
        churned = [Churned() for _ in range(10)]
        del churned
        ready, _, _ = select.select([sys.stdin], [], [], 0.01)
        if ready:
            line = sys.stdin.readline()
            if not line or line.strip() == 'exit':
                return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
