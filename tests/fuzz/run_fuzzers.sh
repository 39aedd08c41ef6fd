#!/bin/bash
# SPDX-License-Identifier: MIT
#
# run_fuzzers.sh [--merge] OUT_DIR FUZZ_DIR HARNESS...
#
# Runs each libFuzzer harness (built as OUT_DIR/bin/fuzz_NAME) for
# FUZZ_SECONDS on its committed corpus FUZZ_DIR/corpus/NAME, FUZZ_JOBS at a
# time. The committed corpus is only read: what a run finds goes to
# OUT_DIR/corpus/NAME, and inputs that crash, leak or hang to
# OUT_DIR/artifacts/, never into the source tree. Exits non-zero, with the
# end of the fuzzer's log, when any harness failed.
#
# FUZZ_SEED (default 1) fixes libFuzzer's choices, so that a run on the
# same commit tries the same inputs in the same order: a CI failure can be
# replayed, and a run that passed here passes in CI. FUZZ_SEED=0 lets
# libFuzzer pick one, to explore (long runs, before fuzz-merge).
#
# --merge instead folds OUT_DIR/corpus/NAME into the committed corpus,
# keeping only inputs that add coverage (libFuzzer -merge=1): for
# developers, after a long run, before committing.
set -u

merge=0
if [ "${1:-}" = --merge ]; then
	merge=1
	shift
fi
if [ $# -lt 3 ]; then
	sed -n '3,17p' "$0" >&2
	exit 2
fi
out=$1 src=$2
shift 2
seconds=${FUZZ_SECONDS:-15}
seed=${FUZZ_SEED:-1}
jobs=${FUZZ_JOBS:-2}

# Longest input per harness: whole (small) ELF files, texts, arguments.
max_len() {
	case $1 in
	elf | unwind | needed_libs) echo 131072 ;;
	proc_maps | cgroup | snapshot | python_code | suppressions) echo 8192 ;;
	python_lines | demangle) echo 4096 ;;
	options) echo 1024 ;;
	*) echo 4096 ;;
	esac
}

mkdir -p "$out/artifacts" "$out/logs" || exit 1

# Bytes of found inputs each committed corpus keeps (the repository stays
# small): whole ELF files are kilobytes each, texts mostly bytes.
corpus_budget() {
	case $1 in
	elf) echo 400000 ;;
	unwind) echo 250000 ;;
	*) echo 80000 ;;
	esac
}

# The smallest set of inputs with the coverage of the committed corpus and
# of what runs found, smallest first within corpus_budget; seed-* and
# regress-* files are kept whatever they add.
merge_one() {
	local bin=$1 name=$2 merged=$out/merged/$2 f
	rm -rf "$merged" && mkdir -p "$merged" || return 1
	"$bin" -merge=1 -max_len="$(max_len "$name")" -timeout=10 -rss_limit_mb=2048 \
		-close_fd_mask=3 "$merged" "$src/corpus/$name" "$out/corpus/$name" || return 1
	find "$src/corpus/$name" -type f ! -name 'seed-*' ! -name 'regress-*' -delete
	for f in "$merged"/*; do
		[ -f "$f" ] || continue
		# Not again when it is a kept seed or regression input.
		sha1sum "$src/corpus/$name"/* 2>/dev/null |
			grep -q "^$(sha1sum <"$f" | cut -d' ' -f1) " && continue
		cp "$f" "$src/corpus/$name/"
	done
	find "$src/corpus/$name" -type f ! -name 'seed-*' ! -name 'regress-*' -printf '%s %p\n' |
		sort -n | awk -v budget="$(corpus_budget "$name")" '{ total += $1; if (total > budget) print $2 }' |
		xargs -r rm --
	echo "merged: $(ls "$src/corpus/$name" | wc -l) inputs, $(du -sb "$src/corpus/$name" | cut -f1) bytes"
}

# Extra flags per harness. The demangler (libstdc++) is not instrumented:
# no coverage guides its fuzzer, so every seed stays in play.
extra_flags() {
	case $1 in
	demangle) echo -keep_seed=1 ;;
	esac
}

# One harness; its log in $out/logs/NAME.log.
run_one() {
	local bin=$1 name flags=() log
	name=$(basename "$bin")
	name=${name#fuzz_}
	log=$out/logs/$name.log
	mkdir -p "$out/corpus/$name" "$src/corpus/$name"
	[ -f "$src/$name.dict" ] && flags=("-dict=$src/$name.dict")
	# shellcheck disable=SC2207
	flags+=($(extra_flags "$name"))
	if [ $merge = 1 ]; then
		merge_one "$bin" "$name" >"$log" 2>&1
	else
		# -close_fd_mask=3: parsers print their one-line errors, a lot
		# of them; libFuzzer and the sanitizers still report on a copy
		# of stderr.
		"$bin" -seed="$seed" -max_total_time="$seconds" -max_len="$(max_len "$name")" \
			-timeout=10 -rss_limit_mb=2048 -close_fd_mask=3 -print_final_stats=1 "${flags[@]}" \
			-artifact_prefix="$out/artifacts/$name-" \
			"$out/corpus/$name" "$src/corpus/$name" >"$log" 2>&1
	fi
	local status=$?
	if [ $status = 0 ] && [ $merge = 1 ]; then
		echo "fuzz $name: $(tail -n 1 "$log")"
	elif [ $status = 0 ]; then
		echo "fuzz $name: ok ($(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" |
			grep -o '[0-9]*$' || echo '?') runs)"
	else
		echo "fuzz $name: FAILED (exit $status); the end of $log:"
		tail -n 60 "$log"
	fi
	return $status
}

failed=0
running=0
for bin in "$@"; do
	if [ $running -ge "$jobs" ]; then
		wait -n || failed=1
		running=$((running - 1))
	fi
	run_one "$bin" &
	running=$((running + 1))
done
while [ $running -gt 0 ]; do
	wait -n || failed=1
	running=$((running - 1))
done
if [ $failed != 0 ]; then
	echo "fuzz: failed; reproduce with OUT_DIR/bin/fuzz_NAME ARTIFACT (inputs in $out/artifacts/)"
fi
exit $failed
