#!/bin/sh
# make demo: trace the bundled leaky service from its first instruction and
# show what it still held when it exited.
set -eu
leaktrace=$1
service=$2

cat <<'TEXT'
leaktrace demo
--------------
leaky_service handles 200 fake requests. It has two leaks:
  * parse_request() forgets to free a 256-byte header buffer on every 10th
    request (its error path): 20 x 256 = 5120 bytes;
  * remember_session() puts a 72-byte session into a cache that is never
    evicted, for every successful request: 180 x 72 = 12960 bytes.
Everything else it allocates is freed, except the 4096-byte buffer stdio
keeps for stdout (its stack stops inside libc, which has no frame pointers).

Running: leaktrace -c "leaky_service 200"
TEXT
echo
"$leaktrace" -c "$service 200"
cat <<'TEXT'
Read it as: each block of lines is one call stack that still holds memory,
innermost frame first (the function that called malloc), with bytes, count
and the age of the oldest block. Try also:
  leaktrace -c "CMD" --format json     one JSON report per line
  leaktrace -p PID 5                   attach to a running process, report every 5 s
  leaktrace                            every process on the system
TEXT
