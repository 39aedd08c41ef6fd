# leaktrace build. `make demo` and `make test` work on a fresh Debian 12
# machine as root: missing Debian packages are installed first (see deps).

BUILD      := build
CLANG      ?= clang
BPFTOOL    ?= bpftool
CC         ?= gcc
PYTHON     ?= /usr/bin/python3
ARCH       := x86

# Debian packages the build, the tests and the demo need.
DEB_PACKAGES := make gcc g++ libc6-dev binutils clang libclang-rt-14-dev llvm bpftool libbpf-dev libelf-dev libdw-dev \
                zlib1g-dev liblzma-dev xz-utils libcapstone-dev libcmocka-dev pkg-config python3 util-linux \
                libjemalloc-dev python3-objgraph python3.11-dev golang-go \
                libmicrohttpd-dev libgnutls28-dev libyaml-dev libcrypt-dev openssl prometheus chromium python3-yaml \
                libncurses-dev tmux

CFLAGS_COMMON := -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -Iinclude -Isrc -I$(BUILD)
CFLAGS     ?= -O2
LDLIBS     := -lbpf -lelf -ldw -lz -llzma -lcapstone -lmicrohttpd -lgnutls -lyaml -lcrypt -lncursesw -lstdc++ -lpthread -lm
BPF_CFLAGS := -target bpf -g -O2 -Wall -Werror -D__TARGET_ARCH_$(ARCH) \
              -Iinclude -Ivmlinux/$(ARCH)

# src/ by stage of the data path (see README, Layout); main.c and options.c on top.
SRCS       := $(sort $(wildcard src/*.c src/*/*.c))
CORE_SRCS  := $(filter-out src/main.c,$(SRCS))
# (with the assets objects embed: the HTML page)
HDRS       := $(wildcard src/*.h src/*/*.h include/*.h src/*/*.html)
CORE_OBJS  := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(CORE_SRCS))
SAN_OBJS   := $(patsubst src/%.c,$(BUILD)/san/%.o,$(CORE_SRCS))
SKEL       := $(BUILD)/leaktrace.skel.h

UNIT_SRCS  := $(sort $(wildcard tests/unit/test_*.c tests/unit/*/test_*.c))
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRCS))
UNIT_SAN   := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit-san/%,$(UNIT_SRCS))
FIXTURES   := $(patsubst tests/unit/fixtures/%.c,$(BUILD)/tests/fixtures/%,$(wildcard tests/unit/fixtures/*.c))
PROGS_C    := $(patsubst tests/progs/%.c,$(BUILD)/tests/progs/%,$(wildcard tests/progs/*.c))
PROGS_CXX  := $(patsubst tests/progs/%.cc,$(BUILD)/tests/progs/%,$(wildcard tests/progs/*.cc))
DEMO       := $(BUILD)/demo/leaky_service

SAN_FLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

.PHONY: all deps demo test unit unit-san e2e progs clean

all: deps $(BUILD)/leaktrace

# Installs whatever is missing, once: apt-get update, then one install.
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "leaktrace: installing missing Debian packages:$$missing"; \
		[ "$$(id -u)" = 0 ] || { echo "leaktrace: run as root to install them (or install them yourself)"; exit 1; }; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi

# Debian unstable's python3.14 and python3.15 with their own glibc 2.43,
# unpacked privately into $(BUILD)/pythons/sid (nothing installed).
.PHONY: sid-pythons test-pythons
sid-pythons:
	@sh tools/pythons/fetch_sid.sh $(BUILD)
# For make test: an archive out of reach skips 3.14 and 3.15, loudly.
test-pythons:
	@sh tools/pythons/fetch_sid.sh $(BUILD) || { rc=$$?; [ $$rc = 2 ] || exit $$rc; \
		echo "leaktrace: WARNING: Debian unstable's python3.14 and 3.15 could not be fetched: their tests are SKIPPED"; }

$(BUILD)/leaktrace.bpf.o: bpf/leaktrace.bpf.c $(wildcard bpf/*.h) include/leaktrace_events.h vmlinux/$(ARCH)/vmlinux.h | deps
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(SKEL): $(BUILD)/leaktrace.bpf.o
	$(BPFTOOL) gen skeleton $< name leaktrace_bpf > $@

$(BUILD)/obj/%.o: src/%.c $(HDRS) $(SKEL)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) -c $< -o $@

$(BUILD)/san/%.o: src/%.c $(HDRS) $(SKEL)
	@mkdir -p $(@D)
	$(CLANG) $(CFLAGS_COMMON) -O1 $(SAN_FLAGS) -c $< -o $@

# leaktrace's own allocator is jemalloc, linked in: its malloc calls then
# never reach libc's, where its probes are (with -c and system-wide they are
# set for every process, leaktrace included, and each call would trap).
$(BUILD)/leaktrace: $(BUILD)/obj/main.o $(CORE_OBJS)
	$(CC) -o $@ $^ -Wl,-Bstatic -ljemalloc -Wl,-Bdynamic $(LDLIBS) -ldl

# Unit tests: every tests/unit/[STAGE/]test_*.c links against the core (all of
# src/ but main.c); their shared helpers sit in tests/unit.
UNIT_HDRS  := $(wildcard tests/unit/*.h)
$(BUILD)/tests/unit/%: tests/unit/%.c $(CORE_OBJS) $(UNIT_HDRS) $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_COMMON) -Itests/unit -O0 -o $@ $< $(CORE_OBJS) $(LDLIBS) -lcmocka

# Kept: otherwise make deletes them as intermediates and rebuilds them every run.
.SECONDARY: $(SAN_OBJS)

$(BUILD)/tests/unit-san/%: tests/unit/%.c $(SAN_OBJS) $(UNIT_HDRS) $(HDRS)
	@mkdir -p $(@D)
	$(CLANG) $(CFLAGS_COMMON) -Itests/unit -O1 $(SAN_FLAGS) -o $@ $< $(SAN_OBJS) $(LDLIBS) -lcmocka

$(BUILD)/tests/fixtures/%: tests/unit/fixtures/%.c | deps
	@mkdir -p $(@D)
	$(CC) -O0 -g -fno-omit-frame-pointer -o $@ $<

# Leaky targets keep frame pointers so their stacks reach main.
$(BUILD)/tests/progs/%: tests/progs/%.c tests/progs/prog_io.h | deps
	@mkdir -p $(@D)
	$(CC) -O0 -g -fno-omit-frame-pointer -Wall -Wextra -Werror -o $@ $< -lpthread

# Inlining needs optimization: this one is built -O2 (still with frame pointers).
$(BUILD)/tests/progs/inline_leaky: tests/progs/inline_leaky.c | deps
	@mkdir -p $(@D)
	$(CC) -O2 -g -fno-omit-frame-pointer -Wall -Wextra -Werror -o $@ $<

$(BUILD)/tests/progs/%: tests/progs/%.cc | deps
	@mkdir -p $(@D)
	g++ -O0 -g -fno-omit-frame-pointer -Wall -Wextra -Werror -o $@ $< -lpthread

$(DEMO): tools/demo/leaky_service.c | deps
	@mkdir -p $(@D)
	$(CC) -O0 -g -fno-omit-frame-pointer -Wall -Wextra -Werror -o $@ $<

# Built the way Debian builds packages (dpkg-buildflags): -O2 -g and no
# frame pointers, so only .eh_frame unwinding walks their stacks.
DEBIAN_CFLAGS := -g -O2 -fstack-protector-strong -Wformat -Werror=format-security \
	-fomit-frame-pointer -Wall -Wextra -Werror
NOFP_PROGS := $(BUILD)/tests/progs/libnofp.so $(BUILD)/tests/progs/nofp_leaky \
	$(BUILD)/tests/progs/thread_stacks

$(BUILD)/tests/progs/libnofp.so: tests/progs/nofp/nofp_lib.cc tests/progs/nofp/nofp_lib.h | deps
	@mkdir -p $(@D)
	g++ $(DEBIAN_CFLAGS) -fPIC -shared -o $@ $<

$(BUILD)/tests/progs/nofp_leaky: tests/progs/nofp/nofp_leaky.c tests/progs/nofp/nofp_lib.h \
		$(BUILD)/tests/progs/libnofp.so
	$(CC) $(DEBIAN_CFLAGS) -o $@ $< -L$(BUILD)/tests/progs -lnofp -Wl,-rpath,'$$ORIGIN'

$(BUILD)/tests/progs/thread_stacks: tests/progs/nofp/thread_stacks.c | deps
	@mkdir -p $(@D)
	$(CC) $(DEBIAN_CFLAGS) -o $@ $< -lpthread

# A CPython extension for Debian's python3.11 (--native test), Debian flags.
PYEXT := $(BUILD)/tests/progs/pyext/leakyext.so

$(PYEXT): tests/progs/pyext/leakyext.c | deps
	@mkdir -p $(@D)
	$(CC) $(DEBIAN_CFLAGS) -Wno-cast-function-type -fPIC -shared \
		-I/usr/include/python3.11 -o $@ $<

# The same extension for Debian unstable's 3.14 and 3.15, with the headers
# make sid-pythons brings; nothing to do when those were not fetched.
SID_ROOT := $(BUILD)/pythons/sid
.PHONY: sid-pyext
sid-pyext: | deps
	@for v in 3.14 3.15; do inc=$(SID_ROOT)/usr/include; out=$(BUILD)/tests/progs/pyext/$$v; \
		[ -e $$inc/python$$v/Python.h ] || continue; mkdir -p $$out; \
		[ $$out/leakyext.so -nt tests/progs/pyext/leakyext.c ] && continue; \
		echo "building the test extension for Python $$v"; \
		$(CC) $(DEBIAN_CFLAGS) -Wno-cast-function-type -fPIC -shared -I$$inc/python$$v \
			-I$$inc -o $$out/leakyext.so tests/progs/pyext/leakyext.c \
			|| exit 1; \
	done

progs: $(PROGS_C) $(PROGS_CXX) $(NOFP_PROGS) $(PYEXT) sid-pyext $(DEMO)

unit: deps $(UNIT_BINS) $(FIXTURES)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; LT_FIXTURE_DIR=$(BUILD)/tests/fixtures $$t; done

unit-san: deps $(UNIT_SAN) $(FIXTURES)
	@set -e; for t in $(UNIT_SAN); do echo "== $$t (ASan/UBSan)"; \
		ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		LT_FIXTURE_DIR=$(BUILD)/tests/fixtures $$t; done

e2e: deps $(BUILD)/leaktrace progs
	$(PYTHON) tests/e2e/run_e2e.py --leaktrace $(BUILD)/leaktrace --progs $(BUILD)/tests/progs

# The layout by stage holds (tests/check_layers.py).
.PHONY: check-layers
check-layers:
	@$(PYTHON) tests/check_layers.py src

test: deps $(BUILD)/leaktrace test-pythons check-layers unit unit-san fuzz e2e

demo: deps $(BUILD)/leaktrace $(DEMO)
	@tools/demo/run_demo.sh $(BUILD)/leaktrace $(DEMO) tools/demo/leaky_service.py $(BUILD)/demo

clean:
	rm -rf $(BUILD)

# make bench: ns per malloc/free pair untraced, at the raw uprobe trap floor,
# under leaktrace (full stacks, sampled) and under a bpftrace peer, side by
# side (tools/bench/); then Python objects, start-up, descriptors, cgroups,
# and leaktrace's own memory and consumer speed next to their goals.
# BENCH_SECONDS: wall time of each measurement.
BENCH_SECONDS ?= 2
.PHONY: bench
# Native churn (run_bench.py), then Python objects (run_py_bench.py); both
# always run, and the target fails if either could not measure.
# The memory rows' interpreter: pyenv's 3.12 where there is one, else Debian's.
BENCH_PYTHON ?= $(firstword $(wildcard /root/.pyenv/versions/3.12*/bin/python3) /usr/bin/python3.11)
bench: deps $(BUILD)/leaktrace $(BUILD)/bench/churn_bench $(BUILD)/bench/fd_churn \
		$(BUILD)/bench/replay_events progs test-pythons
	@status=0; \
	$(PYTHON) tools/bench/run_bench.py --leaktrace $(BUILD)/leaktrace \
		--churn $(BUILD)/bench/churn_bench --bpftrace-script tools/bench/memleak.bt \
		--private-libc $(SID_ROOT)/usr/lib/x86_64-linux-gnu \
		--private-libc-label "Debian unstable's glibc 2.43" \
		--seconds $(BENCH_SECONDS) || status=1; \
	$(PYTHON) tools/bench/run_py_bench.py --leaktrace $(BUILD)/leaktrace \
		--seconds $(BENCH_SECONDS) || status=1; \
	$(PYTHON) tools/bench/run_startup_bench.py --leaktrace $(BUILD)/leaktrace || status=1; \
	$(PYTHON) tools/bench/run_holders_bench.py --leaktrace $(BUILD)/leaktrace || status=1; \
	$(PYTHON) tools/bench/run_fd_bench.py --leaktrace $(BUILD)/leaktrace \
		--churn $(BUILD)/bench/fd_churn --seconds $(BENCH_SECONDS) || status=1; \
	$(PYTHON) tools/bench/run_cgroup_bench.py --leaktrace $(BUILD)/leaktrace \
		--churn $(BUILD)/bench/churn_bench --seconds $(BENCH_SECONDS) || status=1; \
	$(PYTHON) tools/bench/run_kernel_bench.py --leaktrace $(BUILD)/leaktrace \
		--churn $(BUILD)/bench/fd_churn --seconds $(BENCH_SECONDS) || status=1; \
	$(PYTHON) tools/bench/run_memory_bench.py --replay $(BUILD)/bench/replay_events \
		--python $(BENCH_PYTHON) || status=1; \
	exit $$status

# make soak: a few minutes of multi-threaded churn plus a slow exact leak
# under leaktrace -p (tests/soak/run_soak.py): its heap must stay flat and
# every report must count the slow leak. Not part of make test.
SOAK_SECONDS ?= 180
.PHONY: soak
soak: deps $(BUILD)/leaktrace progs
	$(PYTHON) tests/soak/run_soak.py --leaktrace $(BUILD)/leaktrace \
		--target $(BUILD)/tests/progs/soak_target --seconds $(SOAK_SECONDS)

$(BUILD)/bench/fd_churn: tools/bench/fd_churn.c | deps
	@mkdir -p $(@D)
	$(CC) -O2 -g -Wall -Wextra -Werror -o $@ $<

# The consumer alone, fed a generated record stream (no BPF): events/s.
$(BUILD)/bench/replay_events: tools/bench/replay_events.c $(CORE_OBJS) $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_COMMON) -O2 -o $@ $< $(CORE_OBJS) $(LDLIBS)

$(BUILD)/bench/churn_bench: tools/bench/churn_bench.c | deps
	@mkdir -p $(@D)
	$(CC) -O2 -g -fno-omit-frame-pointer -pthread -Wall -Wextra -Werror -o $@ $<

# make fuzz: every parser of outside data (ELF, CFI, DT_NEEDED, /proc files,
# Python objects, snapshots, suppressions, the command line) under libFuzzer
# with ASan/UBSan, each for FUZZ_SECONDS from its corpus in tests/fuzz/corpus/;
# any crash, leak, hang or sanitizer report fails the target (inputs that
# did it land in build/fuzz/artifacts/). FUZZ_SEED=1 makes a run repeatable;
# 0 explores. See tests/fuzz/run_fuzzers.sh.
FUZZ_SECONDS ?= 15
FUZZ_JOBS    ?= 2
FUZZ_SEED    ?= 1
FUZZ_SRCS    := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS    := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/bin/%,$(FUZZ_SRCS))
FUZZ_OBJS    := $(patsubst src/%.c,$(BUILD)/fuzz/obj/%.o,$(CORE_SRCS))
FUZZ_FLAGS   := $(SAN_FLAGS)

.PHONY: fuzz fuzz-build fuzz-merge
# Objects made by a pattern rule for a pattern rule are deleted otherwise.
.SECONDARY: $(FUZZ_OBJS)

$(BUILD)/fuzz/obj/%.o: src/%.c $(HDRS) $(SKEL)
	@mkdir -p $(@D)
	$(CLANG) $(CFLAGS_COMMON) -O1 $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(BUILD)/fuzz/bin/%: tests/fuzz/%.c tests/fuzz/fuzz_common.h $(FUZZ_OBJS)
	@mkdir -p $(@D)
	$(CLANG) $(CFLAGS_COMMON) -O1 $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJS) $(LDLIBS)

fuzz-build: deps $(FUZZ_BINS)

fuzz: fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(FUZZ_JOBS) FUZZ_SEED=$(FUZZ_SEED) \
		bash tests/fuzz/run_fuzzers.sh \
		$(BUILD)/fuzz tests/fuzz $(FUZZ_BINS)

# After a long run (make fuzz FUZZ_SECONDS=600): fold what it found into the
# committed corpus, keeping only inputs that add coverage.
fuzz-merge: fuzz-build
	@bash tests/fuzz/run_fuzzers.sh --merge $(BUILD)/fuzz tests/fuzz $(FUZZ_BINS)

# make install: the binary and the agent's systemd unit (tools/deploy), where
# the unit expects them; DESTDIR stages elsewhere. Then, as root:
# systemctl daemon-reload && systemctl enable --now leaktrace
.PHONY: install
install: $(BUILD)/leaktrace
	install -D -m 0755 $(BUILD)/leaktrace $(DESTDIR)/usr/local/bin/leaktrace
	install -D -m 0644 tools/deploy/leaktrace.service $(DESTDIR)/etc/systemd/system/leaktrace.service
	@# The unit's --web-config: an example, never over one already made.
	[ -e $(DESTDIR)/etc/leaktrace/web.yml ] || \
		install -D -m 0600 tools/deploy/web.yml $(DESTDIR)/etc/leaktrace/web.yml
