// SPDX-License-Identifier: MIT
/*
 * The ring sizer against the kernel's own maps: records come from two
 * tiny BPF programs run with BPF_PROG_TEST_RUN, one that finds its ring
 * in the slot (as leaktrace's do) and one bound to a given ring (a writer
 * that looked the old ring up just before a swap). Skipped without the
 * privileges to load BPF.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "attach/ring_sizer.h"
#include "base/clock.h"

#define SEC_NS 1000000000ULL
#define MAX_SEEN 4096

/* The instructions the two programs need (the kernel's own macros are not
 * part of its UAPI). */
#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), \
						 .off = (o), .imm = (i) })
#define MOV_REG(d, s) INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define MOV_IMM(d, i) INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define ADD_IMM(d, i) INSN(BPF_ALU64 | BPF_ADD | BPF_K, d, 0, 0, i)
#define ST_W(d, o, i) INSN(BPF_ST | BPF_MEM | BPF_W, d, 0, o, i)
#define STX_DW(d, s, o) INSN(BPF_STX | BPF_MEM | BPF_DW, d, s, o, 0)
#define LDX_DW(d, s, o) INSN(BPF_LDX | BPF_MEM | BPF_DW, d, s, o, 0)
#define MAP_FD(d, fd) \
	INSN(BPF_LD | BPF_DW | BPF_IMM, d, BPF_PSEUDO_MAP_FD, 0, fd), INSN(0, 0, 0, 0, 0)
#define IF_ZERO(d, o) INSN(BPF_JMP | BPF_JEQ | BPF_K, d, 0, o, 0)
#define CALL(f) INSN(BPF_JMP | BPF_CALL, 0, 0, 0, f)
#define EXIT() INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

struct fixture {
	int template_fd, rings_fd, seq_fd;
	int slot_prog;  /* writes to the ring in slot 0 */
	struct lt_ring_sizer *rs;
	struct lt_ring_policy policy;
	uint64_t seen[MAX_SEEN];
	size_t nseen;
	uint64_t next_seq;
};

static int on_record(void *ctx, void *data, size_t size)
{
	struct fixture *f = ctx;

	assert_int_equal(size, sizeof(uint64_t));
	assert_true(f->nseen < MAX_SEEN);
	memcpy(&f->seen[f->nseen++], data, sizeof(uint64_t));
	return 0;
}

/* Sends the u64 in seq_fd[0] into a ring: the one in rings_fd's slot 0, or
 * ring_fd itself when rings_fd is -1. */
static int load_writer(int seq_fd, int rings_fd, int ring_fd)
{
	struct bpf_insn head[] = {
		ST_W(BPF_REG_10, -4, 0),
		MOV_REG(BPF_REG_2, BPF_REG_10),
		ADD_IMM(BPF_REG_2, -4),
		MAP_FD(BPF_REG_1, seq_fd),
		CALL(BPF_FUNC_map_lookup_elem),
		IF_ZERO(BPF_REG_0, 0), /* to the end: patched below */
		LDX_DW(BPF_REG_1, BPF_REG_0, 0),
		STX_DW(BPF_REG_10, BPF_REG_1, -16),
	};
	struct bpf_insn from_slot[] = {
		MOV_REG(BPF_REG_2, BPF_REG_10),
		ADD_IMM(BPF_REG_2, -4),
		MAP_FD(BPF_REG_1, rings_fd),
		CALL(BPF_FUNC_map_lookup_elem),
		IF_ZERO(BPF_REG_0, 6),
		MOV_REG(BPF_REG_1, BPF_REG_0),
	};
	struct bpf_insn given[] = { MAP_FD(BPF_REG_1, ring_fd) };
	struct bpf_insn tail[] = {
		MOV_REG(BPF_REG_2, BPF_REG_10),
		ADD_IMM(BPF_REG_2, -16),
		MOV_IMM(BPF_REG_3, 8),
		MOV_IMM(BPF_REG_4, 0),
		CALL(BPF_FUNC_ringbuf_output),
		MOV_IMM(BPF_REG_0, 0),
		EXIT(),
	};
	struct bpf_insn prog[32];
	size_t n = 0, nhead = sizeof(head) / sizeof(head[0]);

	memcpy(prog, head, sizeof(head));
	n = nhead;
	if (rings_fd >= 0) {
		memcpy(prog + n, from_slot, sizeof(from_slot));
		n += sizeof(from_slot) / sizeof(from_slot[0]);
	} else {
		memcpy(prog + n, given, sizeof(given));
		n += sizeof(given) / sizeof(given[0]);
	}
	memcpy(prog + n, tail, sizeof(tail));
	n += sizeof(tail) / sizeof(tail[0]);
	/* The seq lookup's miss jumps to "r0 = 0; exit". */
	prog[nhead - 3].off = (int16_t)(n - 2 - (nhead - 2));
	return bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "lt_ring_test", "GPL", prog, n, NULL);
}

/* One record, of the next sequence number, by prog. */
static void emit(struct fixture *f, int prog)
{
	char packet[64] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = packet, .data_size_in = sizeof(packet),
		    .repeat = 1);
	uint32_t key = 0;

	assert_int_equal(bpf_map_update_elem(f->seq_fd, &key, &f->next_seq, BPF_ANY), 0);
	assert_int_equal(bpf_prog_test_run_opts(prog, &run), 0);
	f->next_seq++;
}

/* The ring in slot 0 now, as a descriptor of our own. */
static int ring_in_slot(const struct fixture *f)
{
	uint32_t key = 0, id = 0;

	assert_int_equal(bpf_map_lookup_elem(f->rings_fd, &key, &id), 0);
	return bpf_map_get_fd_by_id(id);
}

static void assert_in_order(const struct fixture *f, size_t n)
{
	assert_int_equal(f->nseen, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(f->seen[i], i);
}

static int setup(void **state)
{
	static struct fixture f;
	LIBBPF_OPTS(bpf_map_create_opts, outer);
	struct lt_bpf_maps no_maps = { 0 };

	memset(&f, 0, sizeof(f));
	f.template_fd = f.rings_fd = f.seq_fd = f.slot_prog = -1;
	*state = &f;
	/* Small rings: 16-byte records fill half of 8 KiB at 257. */
	f.policy = (struct lt_ring_policy){ .min_bytes = 8192, .max_bytes = 65536,
					    .stall_ns = SEC_NS / 2, .quiet_ns = 30 * SEC_NS };
	f.template_fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "lt_tmpl", 0, 0, 4096, NULL);
	if (f.template_fd < 0)
		return 0; /* no BPF here: each test skips */
	outer.inner_map_fd = f.template_fd;
	f.rings_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "lt_rings", 4, 4, 1, &outer);
	f.seq_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "lt_seq", 4, 8, 1, NULL);
	assert_true(f.rings_fd >= 0 && f.seq_fd >= 0);
	assert_int_equal(lt_ring_sizer_new(f.rings_fd, 0, &f.policy, &no_maps, on_record, &f, &f.rs),
			 0);
	f.slot_prog = load_writer(f.seq_fd, f.rings_fd, -1);
	assert_true(f.slot_prog >= 0);
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	int fds[] = { f->slot_prog, f->seq_fd, f->rings_fd, f->template_fd };

	lt_ring_sizer_free(f->rs);
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return 0;
}

/* Fills the 8 KiB first ring over half and grows it; returns a writer
 * still bound to the replaced ring. */
static int grow_once(struct fixture *f)
{
	int old_ring = ring_in_slot(f), late;

	assert_true(old_ring >= 0);
	late = load_writer(f->seq_fd, -1, old_ring);
	close(old_ring);
	assert_true(late >= 0);
	for (int i = 0; i < 300; i++)
		emit(f, f->slot_prog);
	assert_int_equal(lt_ring_sizer_consume(f->rs), 300);
	assert_int_equal(lt_ring_sizer_adjust(f->rs, lt_now_ns()), 0);
	assert_int_equal(lt_ring_sizer_bytes(f->rs), 16384);
	assert_int_equal(lt_ring_sizer_resizes(f->rs), 1);
	return late;
}

static void test_starts_small(void **state)
{
	struct fixture *f = *state;

	if (!f->rs)
		skip();
	assert_int_equal(lt_ring_sizer_bytes(f->rs), 8192);
	assert_int_equal(lt_ring_sizer_resizes(f->rs), 0);
	emit(f, f->slot_prog);
	assert_int_equal(lt_ring_sizer_wait(f->rs, 1000), 0);
	assert_int_equal(lt_ring_sizer_consume(f->rs), 1);
	/* Under half full and within the first window: no resize. */
	assert_int_equal(lt_ring_sizer_adjust(f->rs, lt_now_ns()), 0);
	assert_int_equal(lt_ring_sizer_bytes(f->rs), 8192);
	assert_in_order(f, 1);
}

/* Records in the old ring after the swap (a writer that looked it up just
 * before) are handed over before any of the new ring's. */
static void test_old_ring_first(void **state)
{
	struct fixture *f = *state;
	int late;

	if (!f->rs)
		skip();
	late = grow_once(f);
	for (int i = 0; i < 10; i++)
		emit(f, late);
	for (int i = 0; i < 10; i++)
		emit(f, f->slot_prog);
	/* Within the grace: the old ring only, the new one waits. */
	assert_int_equal(lt_ring_sizer_consume(f->rs), 10);
	assert_int_equal(f->nseen, 310);
	assert_int_equal(lt_ring_sizer_drain(f->rs), 10);
	assert_in_order(f, 320);
	close(late);
}

/* A ring used well under 1/8 for the quiet period goes back to its start
 * size, and the records around the shrink all arrive, in order. */
static void test_shrinks_when_quiet(void **state)
{
	struct fixture *f = *state;
	uint64_t now;

	if (!f->rs)
		skip();
	close(grow_once(f));
	assert_int_equal(lt_ring_sizer_drain(f->rs), 0);
	emit(f, f->slot_prog);
	now = lt_now_ns();
	assert_int_equal(lt_ring_sizer_adjust(f->rs, now + 29 * SEC_NS), 0);
	assert_int_equal(lt_ring_sizer_bytes(f->rs), 16384);
	assert_int_equal(lt_ring_sizer_adjust(f->rs, now + 31 * SEC_NS), 0);
	assert_int_equal(lt_ring_sizer_bytes(f->rs), 8192);
	assert_int_equal(lt_ring_sizer_resizes(f->rs), 2);
	emit(f, f->slot_prog);
	assert_int_equal(lt_ring_sizer_drain(f->rs), 2);
	assert_in_order(f, 302);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_starts_small, setup, teardown),
		cmocka_unit_test_setup_teardown(test_old_ring_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shrinks_when_quiet, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
