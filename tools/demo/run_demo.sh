#!/bin/sh
# make demo: trace the bundled C service from its first instruction and show
# what it still held when it exited; then attach to the bundled Python
# service while it runs, watch its types grow over a few reports, and write
# the HTML page.
#   run_demo.sh LEAKTRACE C_SERVICE PY_SERVICE OUT_DIR
set -eu
leaktrace=$1
service=$2
py_service=$3
out=$4
python=/usr/bin/python3

cat <<'TEXT'
leaktrace demo, part 1: a C program
-----------------------------------
leaky_service handles 200 fake requests. It has two leaks:
  * parse_request() forgets to free a 256-byte header buffer on every 10th
    request (its error path): 20 x 256 = 5120 bytes;
  * remember_session() puts a 72-byte session into a cache that is never
    evicted, for every successful request: 180 x 72 = 12960 bytes.
Everything else it allocates is freed, except the 4096-byte buffer stdio
allocates for stdout inside its first printf and keeps by design: the
default suppressions leave that one out ("hidden by suppressions").

Running: leaktrace -c "leaky_service 200"
TEXT
echo
"$leaktrace" -c "$service 200"
cat <<'TEXT'
Each block of lines is one call stack that still holds memory, innermost
frame first (the function that called malloc), with bytes, count and the
age of the oldest block.

leaktrace demo, part 2: a running Python service
------------------------------------------------
leaky_service.py handles 100 fake requests a second. Each request opens a
Session kept in a cache nothing evicts (with its dict and token str), and
every 10th registers a listener it never removes; its last 100 responses
sit in a bounded cache, which is no leak.

Running: leaktrace -p PID -T 4 2 4   (attach, a report every 2 s, 4 reports)
TEXT
echo
mkdir -p "$out"
fifo=$out/py_service.stdin
rm -f "$fifo"
mkfifo "$fifo"
# Held open so the service runs until we close it.
exec 3<>"$fifo"
"$python" "$py_service" 40 <"$fifo" >"$out/py_service.out" 2>&1 &
py_pid=$!
cleanup() {
	exec 3>&- 2>/dev/null || true
	kill "$py_pid" 2>/dev/null || true
	wait "$py_pid" 2>/dev/null || true
	rm -f "$fifo"
}
trap cleanup EXIT INT TERM
for _ in $(seq 50); do
	grep -q ready "$out/py_service.out" 2>/dev/null && break
	sleep 0.1
done
"$leaktrace" -p "$py_pid" -T 4 2 4
cat <<TEXT
Read the Python part as: the types table counts objects made since tracing
began and still alive, and their trend over the reports ("growing" at so
many objects a second, or "stable"); the stacks under it are the Python
lines that made them (open_session, line by line, up to handle()).

Running: leaktrace -p $py_pid 2 3 --format html -w $out/python.html
TEXT
"$leaktrace" -p "$py_pid" 2 3 --format html -w "$out/python.html"
cat <<TEXT
Wrote $out/python.html: one self-contained page (flame graph, types,
verdicts); open it in any browser.

Try also:
  leaktrace -c "CMD" --format json     one JSON report per line
  leaktrace -p PID 5                   attach to a running process, report every 5 s
  leaktrace                            every process on the system
TEXT
