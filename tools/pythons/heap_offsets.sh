#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Prints the struct lt_py_heap_layout row of every CPython whose headers are
# at hand (pyenv's 3.8-3.13, the Debian unstable 3.14 and 3.15 that make
# sid-pythons unpacks), to diff against src/python/python_heap_layout.c:
#
#   heap_offsets.sh BUILD_DIR
#
# The tool is built into BUILD_DIR/heap_offsets, one binary per version.
set -eu

[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 1; }
mkdir -p "$1/heap_offsets"
out=$(cd "$1/heap_offsets" && pwd)
src=$(cd "$(dirname "$0")" && pwd)/heap_offsets.c
cc=${CC:-cc}
sid=$(cd "$1" && pwd)/pythons/sid/usr/include
pyenv=${PYENV_ROOT:-/root/.pyenv}/versions

row() { # minor, then the include directories
	m=$1
	shift
	flags=""
	for d in "$@"; do
		flags="$flags -I$d"
	done
	# shellcheck disable=SC2086 # one word per directory
	$cc -std=c11 -DPy_BUILD_CORE -DNDEBUG $flags -o "$out/heap_offsets_$m" "$src"
	"$out/heap_offsets_$m"
}

for m in 8 9 10 11 12 13; do
	for inc in "$pyenv"/3."$m".*/include/python3."$m"; do
		[ -e "$inc/Python.h" ] || continue
		row "$m" "$inc" "$inc/internal"
		break
	done
done
# Debian splits pyconfig.h off into the multiarch directory it names.
for m in 14 15; do
	inc=$sid/python3.$m
	[ -e "$inc/Python.h" ] || continue
	row "$m" "$inc" "$inc/internal" "$sid"
done
