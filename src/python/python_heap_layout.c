// SPDX-License-Identifier: MIT
#include "python/python_heap_layout.h"

#include <stddef.h>

/*
 * Rows as tools/pythons/heap_offsets.sh prints them from pyenv's 3.8.18,
 * 3.9.18, 3.10.13, 3.11.7, 3.12.1, 3.13.0 and Debian's 3.14.10 and 3.15.2
 * headers; the private structs (dict keys before 3.11, deque) are the tool's
 * copies of them. Each row was also read back from the running interpreter
 * of its version (thread ids, sys.modules, gc thresholds and stats, dicts,
 * deques, instance values) before it went in.
 */

/* Fields no version moved. */
#define ALL_VERSIONS                                                            \
	.dict_used = 16, .dict_keys = 32, .dict_values = 40,                        \
	.tp_base = 256, .tp_dict = 264, .tp_dictoffset = 288, .tp_members = 240,    \
	.tp_mro = 344, .set_mask = 32, .set_table = 40,                             \
	.deque_leftblock = 24, .deque_rightblock = 32, .deque_leftindex = 40,       \
	.deque_rightindex = 48, .block_data = 8, .block_rightlink = 520,           \
	.gc_gen_threshold = 16, .gc_gen_count = 20, .tstate_next = 8

/* Until 3.15 made them a pointer to rings, the stats were three of these. */
#define GC_STATS_38_TO_314                                                      \
	.gc_stats_bytes = 24, .gc_stat_collections = 0, .gc_stat_collected = 8,    \
	.gc_stat_uncollectable = 16, .gc_stats_ptr = -1,                           \
	.gc_ring = { -1, -1, -1 }, .gc_ring_len = { 0, 0, 0 },                     \
	.gc_ring_index = { -1, -1, -1 }

/* The collector's state kept its shape from 3.8 (in _PyRuntime) to 3.13. */
#define GC_38_TO_313                                                            \
	.gc_enabled = 12, .gc_debug = 16, .gc_garbage = 208, .gc_collecting = 200,  \
	.gc_lists = { 24, 48, 72, 104, -1 }, .gc_stats = 128, GC_STATS_38_TO_314

/* Objects/dict-common.h until 3.11 gave the keys a log2 size and a kind. */
#define KEYS_38_TO_310                                                          \
	.keys_size = 8, .keys_log2_size = -1, .keys_log2_index_bytes = -1,         \
	.keys_kind = -1, .keys_nentries = 32, .keys_indices = 40, .values_array = 0, \
	.managed_dict = 0, .managed_values = 0
#define KEYS_311_UP                                                             \
	.keys_size = -1, .keys_log2_size = 8, .keys_log2_index_bytes = 9,          \
	.keys_kind = 10, .keys_nentries = 24, .keys_indices = 32

/* 3.10 gathered what a frame is built from (globals, builtins, name,
 * qualname, code, defaults...) at the front of the function. */
#define FUNC_38_39                                                              \
	.func_code = 16, .func_globals = 24, .func_defaults = 32,                  \
	.func_kwdefaults = 40, .func_closure = 48, .func_dict = 72, .func_name = 64, \
	.func_qualname = 104, .func_module = 88
#define FUNC_310_UP                                                             \
	.func_code = 48, .func_globals = 16, .func_defaults = 56,                  \
	.func_kwdefaults = 64, .func_closure = 72, .func_dict = 88, .func_name = 32, \
	.func_qualname = 40, .func_module = 104

/* Until 3.11 the frame object held the locals and the code their names. */
#define FRAME_38_TO_310                                                         \
	.localsplus_tagged = 0, .co_nlocalsplus = -1, .co_localsplusnames = -1,    \
	.co_nlocals = 28, .co_varnames = 72, .co_cellvars = 88, .co_freevars = 80
#define CODE_311_UP                                                             \
	.co_localsplusnames = 96, .co_nlocals = -1, .co_varnames = -1,             \
	.co_cellvars = -1, .co_freevars = -1

static const struct lt_py_heap_layout layouts[] = {
	{ .minor = 8, .tuple_items = 24, ALL_VERSIONS,
	  .rt_interp_head = 32, .interp_next = 0, .interp_threads = 8,
	  .interp_modules = 56, .interp_sysdict = 72,
	  .tstate_thread_id = 176, .tstate_native_id = -1,
	  .gc_state = 344, .gc_in_runtime = 1, GC_38_TO_313,
	  KEYS_38_TO_310, .ht_cached_keys = 872, FUNC_38_39,
	  .frame_localsplus = 360, FRAME_38_TO_310 },
	{ .minor = 9, .tuple_items = 24, ALL_VERSIONS,
	  .rt_interp_head = 32, .interp_next = 0, .interp_threads = 8,
	  .interp_modules = 856, .interp_sysdict = 872,
	  .tstate_thread_id = 176, .tstate_native_id = -1,
	  .gc_state = 616, .gc_in_runtime = 0, GC_38_TO_313,
	  KEYS_38_TO_310, .ht_cached_keys = 864, FUNC_38_39,
	  .frame_localsplus = 360, FRAME_38_TO_310 },
	{ .minor = 10, .tuple_items = 24, ALL_VERSIONS,
	  .rt_interp_head = 32, .interp_next = 0, .interp_threads = 8,
	  .interp_modules = 856, .interp_sysdict = 872,
	  .tstate_thread_id = 176, .tstate_native_id = -1,
	  .gc_state = 616, .gc_in_runtime = 0, GC_38_TO_313,
	  KEYS_38_TO_310, .ht_cached_keys = 872, FUNC_310_UP,
	  .frame_localsplus = 352, FRAME_38_TO_310 },
	/* The only version with the values pointer in the pre-header. */
	{ .minor = 11, .tuple_items = 24, ALL_VERSIONS,
	  .rt_interp_head = 40, .interp_next = 0, .interp_threads = 16,
	  .interp_modules = 888, .interp_sysdict = 904,
	  .tstate_thread_id = 152, .tstate_native_id = 160,
	  .gc_state = 648, .gc_in_runtime = 0, GC_38_TO_313,
	  KEYS_311_UP, .values_array = 0, .managed_dict = -24, .managed_values = -32,
	  .ht_cached_keys = 872, FUNC_310_UP,
	  .frame_localsplus = 72, .localsplus_tagged = 0, .co_nlocalsplus = 76, CODE_311_UP },
	/*
	 * The word at -24 is the dict, or with bit 0 set the values pointer
	 * minus one (_PyDictOrValues_GetValues adds the one back).
	 */
	{ .minor = 12, .tuple_items = 24, ALL_VERSIONS,
	  .rt_interp_head = 40, .interp_next = 0, .interp_threads = 72,
	  .interp_modules = 944, .interp_sysdict = 352,
	  .tstate_thread_id = 136, .tstate_native_id = 144,
	  .gc_state = 112, .gc_in_runtime = 0, GC_38_TO_313,
	  KEYS_311_UP, .values_array = 0, .managed_dict = -24, .managed_values = 0,
	  .ht_cached_keys = 880, FUNC_310_UP,
	  .frame_localsplus = 72, .localsplus_tagged = 0, .co_nlocalsplus = 72, CODE_311_UP },
	/* _Py_DebugOffsets now leads _PyRuntime and the ceval state the
	 * interpreter, hence the large offsets. */
	{ .minor = 13, .tuple_items = 24, ALL_VERSIONS,
	  .rt_interp_head = 632, .interp_next = 7264, .interp_threads = 7344,
	  .interp_modules = 7656, .interp_sysdict = 7640,
	  .tstate_thread_id = 152, .tstate_native_id = 160,
	  .gc_state = 7400, .gc_in_runtime = 0, GC_38_TO_313,
	  KEYS_311_UP, .values_array = 8, .managed_dict = -24, .managed_values = 0,
	  .ht_cached_keys = 880, FUNC_310_UP,
	  .frame_localsplus = 72, .localsplus_tagged = 0, .co_nlocalsplus = 72, CODE_311_UP },
	/*
	 * 3.14.10's default build has generations[3] where the incremental
	 * collector had young and old[2]: the same bytes, its other members
	 * left as padding so that nothing moved. The trashcan's list and
	 * depth now lead the state.
	 */
	{ .minor = 14, .tuple_items = 32, ALL_VERSIONS,
	  .rt_interp_head = 808, .interp_next = 7272, .interp_threads = 7344,
	  .interp_modules = 7688, .interp_sysdict = 7672,
	  .tstate_thread_id = 152, .tstate_native_id = 160,
	  .gc_state = 7408, .gc_in_runtime = 0,
	  .gc_enabled = 12, .gc_debug = 16, .gc_garbage = 200, .gc_collecting = 192,
	  .gc_lists = { 24, 48, 72, 96, -1 }, .gc_stats = 120, GC_STATS_38_TO_314,
	  KEYS_311_UP, .values_array = 8, .managed_dict = -24, .managed_values = 0,
	  .ht_cached_keys = 880, FUNC_310_UP,
	  .frame_localsplus = 80, .localsplus_tagged = 1, .co_nlocalsplus = 72, CODE_311_UP },
	/*
	 * The state holds a struct gc_stats * (at 104): a ring of eleven
	 * records for generation 0 and one of three for each of 1 and 2, each
	 * ring's int8_t index naming the record that holds the running totals
	 * (young at 0, index at 704; old[0] at 712, old[1] at 912, index 192
	 * into each). No array in the state, so no gc_stats offset; the record
	 * layout below is that of one ring entry. Read back against
	 * gc.get_stats() of a running 3.15.2.
	 */
	{ .minor = 15, .tuple_items = 32, ALL_VERSIONS,
	  .rt_interp_head = 936, .interp_next = 7264, .interp_threads = 7336,
	  .interp_modules = 7592, .interp_sysdict = 7576,
	  .tstate_thread_id = 176, .tstate_native_id = 184,
	  .gc_state = 7400, .gc_in_runtime = 0,
	  .gc_enabled = 0, .gc_debug = 4, .gc_garbage = 128, .gc_collecting = 112,
	  .gc_lists = { 8, 32, 56, 80, -1 }, .gc_stats = -1, .gc_stats_bytes = 64,
	  .gc_stat_collections = 16, .gc_stat_collected = 24, .gc_stat_uncollectable = 32,
	  .gc_stats_ptr = 104, .gc_ring = { 0, 712, 912 }, .gc_ring_len = { 11, 3, 3 },
	  .gc_ring_index = { 704, 904, 1104 },
	  KEYS_311_UP, .values_array = 8, .managed_dict = -24, .managed_values = 0,
	  .ht_cached_keys = 888, FUNC_310_UP,
	  .frame_localsplus = 80, .localsplus_tagged = 1, .co_nlocalsplus = 72, CODE_311_UP },
};

#define NLAYOUTS (sizeof(layouts) / sizeof(layouts[0]))

const struct lt_py_heap_layout *lt_py_heap_layout(uint32_t minor)
{
	size_t i;

	for (i = 0; i < NLAYOUTS; i++)
		if (layouts[i].minor == minor)
			return &layouts[i];
	return NULL;
}
