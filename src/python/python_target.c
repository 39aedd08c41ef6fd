// SPDX-License-Identifier: MIT
#include "python/python_target.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "symbols/elf_file.h"
#include "symbols/module_cache.h"
#include "python/python_allocator.h"
#include "python/python_debug_offsets.h"
#include "python/python_gilstate.h"
#include "python/python_reftracer.h"
#include "python/python_layout.h"

const char *const lt_py_probe_names[LT_PY_PROBE_COUNT] = {
	[LT_PY_PROBE_GENERIC_ALLOC] = "PyType_GenericAlloc",
	[LT_PY_PROBE_GC_NEW] = "_PyObject_GC_New",
	[LT_PY_PROBE_GC_NEWVAR] = "_PyObject_GC_NewVar",
	[LT_PY_PROBE_GC_DEL] = "PyObject_GC_Del",
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* "libpython3.11.so.1.0", "libpython3.11d.so", "python3.11" -> 11. */
static uint32_t minor_from_name(const char *base)
{
	unsigned long minor;
	char *end;

	if (!strncmp(base, "lib", 3))
		base += 3;
	if (strncmp(base, "python3.", 8))
		return 0;
	base += 8;
	if (*base < '0' || *base > '9')
		return 0;
	minor = strtoul(base, &end, 10);
	if (end - base > 3 || (*end && *end != '.' && *end != 'd' && *end != 'm'))
		return 0;
	return (uint32_t)minor;
}

static int read_exact(const struct lt_elf_file *ef, uint64_t vaddr, void *buf, size_t len)
{
	size_t got;
	int err = lt_elf_read_code(ef, vaddr, buf, len, &got);

	if (err)
		return err;
	return got == len ? 0 : -ENOENT;
}

static int read_u64(const struct lt_elf_file *ef, uint64_t vaddr, uint64_t *v)
{
	return read_exact(ef, vaddr, v, sizeof(*v));
}

/* Py_Version (3.11+) says it exactly; older versions only by name or size. */
static int detect_version(const struct lt_elf_file *ef, const char *base,
			  const struct lt_elf_symbol *runtime, struct lt_py_interp *out, char *err,
			  size_t errlen)
{
	struct lt_elf_symbol sym;
	uint64_t hex;

	if (!lt_elf_find_symbol(ef, "Py_Version", &sym) && !read_u64(ef, sym.vaddr, &hex)) {
		if ((hex >> 24) != 3) {
			set_err(err, errlen, "%s: Py_Version 0x%" PRIx64 " is not Python 3", base,
				hex);
			return -ENOTSUP;
		}
		out->minor = (uint32_t)(hex >> 16) & 0xff;
		out->micro = (uint32_t)(hex >> 8) & 0xff;
		return 0;
	}
	out->micro = 0;
	out->minor = minor_from_name(base);
	if (!out->minor)
		out->minor = lt_py_minor_from_runtime_size(runtime->size);
	if (!out->minor) {
		set_err(err, errlen, "%s: cannot tell its Python version (no Py_Version, "
			"_PyRuntime of %" PRIu64 " bytes)", base, runtime->size);
		return -ENOTSUP;
	}
	return 0;
}

/* tp_basicsize and tp_itemsize of a static type object, from the file. */
static int type_sizes(const struct lt_elf_file *ef, const char *type, int64_t *basic,
		      int64_t *item)
{
	struct lt_elf_symbol sym;
	int err;

	err = lt_elf_find_symbol(ef, type, &sym);
	if (!err)
		err = read_exact(ef, sym.vaddr + LT_PY_TP_BASICSIZE, basic, sizeof(*basic));
	if (!err)
		err = read_exact(ef, sym.vaddr + LT_PY_TP_ITEMSIZE, item, sizeof(*item));
	return err;
}

/*
 * 3.13+: the file's own _Py_DebugOffsets, statically initialised in it,
 * gives the frame, code-object and string offsets; from 3.14 on, where the
 * thread state is comes from the code that fetches it.
 */
static int read_debug_offsets(const struct lt_elf_file *ef, const char *base,
			      const struct lt_elf_symbol *runtime, struct lt_py_interp *out,
			      char *err, size_t errlen)
{
	size_t len = lt_py_debug_offsets_size(out->minor);
	struct lt_py_gilstate gil;
	uint8_t dbg[1024];
	char why[200];

	if (!len || len > sizeof(dbg) || runtime->size < len ||
	    read_exact(ef, runtime->vaddr, dbg, len)) {
		set_err(err, errlen, "%s: cannot read _Py_DebugOffsets", base);
		return -ENOTSUP;
	}
	if (lt_py_apply_debug_offsets(dbg, len, out->minor, runtime->size, &out->info,
				      &out->layout, why, sizeof(why))) {
		set_err(err, errlen, "%s: %s", base, why);
		return -ENOTSUP;
	}
	if (out->minor < 14)
		return 0;
	if (lt_py_find_gilstate(ef, runtime->vaddr, runtime->size, &gil)) {
		set_err(err, errlen, "%s: cannot tell where Python 3.%u keeps a thread's state "
			"(PyGILState_GetThisThreadState unlike any known build)", base, out->minor);
		return -ENOTSUP;
	}
	out->layout.tss_key = gil.tss_key;
	out->layout.tstate_tls = gil.tstate_tls;
	out->layout.tls_modid_slot = gil.tls_slot;
	out->layout.tls_block_off = gil.tls_block_off;
	return 0;
}

/* The table is right for this file only if its types have the sizes we expect. */
static int validate(const struct lt_elf_file *ef, const char *base,
		    const struct lt_py_version_info *info, char *err, size_t errlen)
{
	int64_t basic, item;

	if (type_sizes(ef, "PyCode_Type", &basic, &item)) {
		set_err(err, errlen, "%s: cannot read PyCode_Type", base);
		return -ENOTSUP;
	}
	if (basic != info->code_tp_basicsize || item != info->code_tp_itemsize) {
		set_err(err, errlen, "%s: PyCode_Type sizes %" PRId64 "/%" PRId64
			", expected %u/%u for Python 3.%u (debug or unusual build?)", base, basic,
			item, info->code_tp_basicsize, info->code_tp_itemsize, info->minor);
		return -ENOTSUP;
	}
	if (type_sizes(ef, "PyUnicode_Type", &basic, &item)) {
		set_err(err, errlen, "%s: cannot read PyUnicode_Type", base);
		return -ENOTSUP;
	}
	if (basic != info->unicode_tp_basicsize) {
		set_err(err, errlen, "%s: PyUnicode_Type size %" PRId64 ", expected %u for Python 3.%u",
			base, basic, info->unicode_tp_basicsize, info->minor);
		return -ENOTSUP;
	}
	return 0;
}

static int probe_offsets(const struct lt_elf_file *ef, struct lt_py_interp *out)
{
	struct lt_elf_symbol sym;
	uint64_t off;
	int i;

	for (i = 0; i < LT_PY_PROBE_COUNT; i++) {
		out->offsets[i] = 0;
		if (lt_elf_find_function(ef, lt_py_probe_names[i], &sym) ||
		    lt_elf_vaddr_to_offset(ef, sym.vaddr, &off))
			continue;
		out->offsets[i] = off;
	}
	return out->offsets[LT_PY_PROBE_GENERIC_ALLOC] ? 0 : -ENOENT;
}

/* Every object where the build calls its allocator functions, or can be
 * made to (python_redirect.h); GC-tracked objects only otherwise. */
static void choose_objects(const struct lt_elf_file *ef, const struct lt_elf_symbol *runtime_sym,
			   struct lt_py_interp *out)
{
	uint64_t runtime = runtime_sym->vaddr;
	struct lt_py_reftracer rt;
	struct lt_py_allocator a;
	uint64_t off[LT_PY_ALLOC_COUNT];

	out->objects = LT_PY_OBJECTS_GC;
	out->allocator_inlined = true;
	if (lt_py_find_allocator(ef, runtime, &a))
		return;
	for (int i = 0; i < LT_PY_ALLOC_COUNT; i++)
		if ((a.inlined && !a.alias[i]) ||
		    lt_elf_vaddr_to_offset(ef, a.inlined ? a.alias[i] : a.fn[i], &off[i]))
			return;
	if (a.inlined) {
		out->redirect = true;
		out->redirect_plan.tables[0] = a.table;
		out->redirect_plan.tables[1] = a.mem_table;
		memcpy(out->redirect_plan.fn, a.fn, sizeof(a.fn));
		memcpy(out->redirect_plan.alias, a.alias, sizeof(a.alias));
		/* A build that inlines this much inlines _Py_NewReference too. */
		if (out->minor >= 13 &&
		    !lt_py_find_reftracer(ef, runtime, runtime_sym->size, &rt)) {
			out->redirect_plan.tracer_slot = rt.slot;
			out->redirect_plan.tracer_noop = rt.noop_alias;
		}
	}
	out->allocator_inlined = false;
	memcpy(out->allocator_offsets, off, sizeof(off));
	out->objects = LT_PY_OBJECTS_ALL;
}

/*
 * Everything the file alone tells: version, layout (runtime and code_type
 * as ELF vaddrs) and probe offsets. -ENOENT when the file is no interpreter.
 */
static int inspect(const struct lt_elf_file *ef, const char *base, struct lt_py_interp *out,
		   char *err, size_t errlen)
{
	const struct lt_py_version_info *info;
	struct lt_elf_symbol runtime, sym;
	int ret;

	if (lt_elf_find_function(ef, "PyType_GenericAlloc", &sym))
		return -ENOENT;
	if (lt_elf_find_symbol(ef, "_PyRuntime", &runtime)) {
		set_err(err, errlen, "%s: Python without _PyRuntime (older than 3.7) is not supported",
			base);
		return -ENOTSUP;
	}
	ret = detect_version(ef, base, &runtime, out, err, errlen);
	if (ret)
		return ret;
	info = lt_py_version_info(out->minor);
	if (!info || lt_py_layout_for(out->minor, &out->layout)) {
		set_err(err, errlen, "%s: Python 3.%u is not supported (3.%d to 3.%d are)", base,
			out->minor, LT_PY_MINOR_MIN, LT_PY_MINOR_MAX);
		return -ENOTSUP;
	}
	out->info = *info;
	if (info->debug_offsets) {
		ret = read_debug_offsets(ef, base, &runtime, out, err, errlen);
		if (ret)
			return ret;
	}
	ret = validate(ef, base, &out->info, err, errlen);
	if (ret)
		return ret;
	out->layout.runtime = runtime.vaddr;
	out->code_type = lt_elf_find_symbol(ef, "PyCode_Type", &sym) ? 0 : sym.vaddr;
	out->type_type = lt_elf_find_symbol(ef, "PyType_Type", &sym) ? 0 : sym.vaddr;
	out->str_type = lt_elf_find_symbol(ef, "PyUnicode_Type", &sym) ? 0 : sym.vaddr;
	choose_objects(ef, &runtime, out);
	if (probe_offsets(ef, out)) {
		set_err(err, errlen, "%s: PyType_GenericAlloc is outside the file's segments", base);
		return -ENOTSUP;
	}
	return 0;
}

int lt_py_find_interp_file(const char *path, struct lt_py_interp *out, char *err, size_t errlen)
{
	struct lt_elf_file *ef;
	int ret;

	memset(out, 0, sizeof(*out));
	if (strlen(path) >= sizeof(out->path))
		return -ENAMETOOLONG;
	ret = lt_elf_open_path(path, &ef);
	if (ret)
		return ret == -ENOEXEC ? -ENOENT : ret;
	ret = inspect(ef, base_name(path), out, err, errlen);
	lt_elf_close(ef);
	if (!ret)
		snprintf(out->path, sizeof(out->path), "%s", path);
	return ret;
}

/* ELF vaddr -> address in pid: from the file's mapping of its lowest
 * offset (the first PT_LOAD, normally offset 0), then checked on the probe
 * target so a mapping we misread is refused rather than traced wrongly. */
static int load_bias(const struct lt_elf_file *ef, const struct lt_maps *maps,
		     const struct lt_mapping *file, const struct lt_py_interp *interp,
		     uint64_t *bias)
{
	const struct lt_mapping *first = NULL, *m;
	uint64_t vaddr, addr, off = interp->offsets[LT_PY_PROBE_GENERIC_ALLOC];
	size_t i;

	*bias = 0;
	if (lt_elf_is_dyn(ef)) {
		for (i = 0; i < maps->n; i++)
			if (maps->v[i].path && lt_mapping_same_file(&maps->v[i], file) &&
			    (!first || maps->v[i].file_offset < first->file_offset))
				first = &maps->v[i];
		if (!first || lt_elf_offset_to_vaddr(ef, first->file_offset, &vaddr))
			return -ENOENT;
		*bias = first->start - vaddr;
	}
	if (lt_elf_offset_to_vaddr(ef, off, &vaddr))
		return -ENOENT;
	addr = vaddr + *bias;
	m = lt_maps_find(maps, addr);
	if (!m || !m->path || !lt_mapping_same_file(m, file) || m->file_offset + (addr - m->start) != off)
		return -ENOENT;
	return 0;
}

static void openable_path(pid_t pid, const struct lt_mapping *m, char *path, size_t len)
{
	/* map_files names the mapped file itself, whatever its mount namespace
	 * and even when it was deleted or replaced on disk. */
	snprintf(path, len, "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)pid, m->start, m->end);
	if (faccessat(AT_FDCWD, path, R_OK, AT_EACCESS) != 0) /* as open will check */
		snprintf(path, len, "/proc/%d/root%s", (int)pid, m->path);
}

static int try_mapping(pid_t pid, const struct lt_maps *maps, const struct lt_mapping *m,
		       struct lt_py_interp *out, char *err, size_t errlen)
{
	const char *base = base_name(m->path);
	struct lt_elf_file *ef;
	uint64_t bias;
	int fd, ret;

	fd = lt_open_mapped_file(pid, m);
	if (fd < 0)
		return -ENOENT;
	if (lt_elf_open_fd(fd, &ef))
		return -ENOENT;
	memset(out, 0, sizeof(*out));
	ret = inspect(ef, base, out, err, errlen);
	if (ret)
		goto out;
	if (load_bias(ef, maps, m, out, &bias)) {
		set_err(err, errlen, "%s: cannot place its symbols in process %d", base, (int)pid);
		ret = -ENOTSUP;
		goto out;
	}
	out->load_bias = bias;
	out->layout.runtime += bias;
	if (out->layout.tls_modid_slot)
		out->layout.tls_modid_slot += bias;
	if (out->code_type)
		out->code_type += bias;
	if (out->type_type)
		out->type_type += bias;
	if (out->str_type)
		out->str_type += bias;
	if (out->redirect_plan.tracer_slot) {
		out->redirect_plan.tracer_slot += bias;
		out->redirect_plan.tracer_noop += bias;
	}
	for (int i = 0; out->redirect && i < LT_PY_ALLOC_COUNT; i++) {
		out->redirect_plan.fn[i] += bias;
		out->redirect_plan.alias[i] += bias;
		if (i < 2 && out->redirect_plan.tables[i])
			out->redirect_plan.tables[i] += bias;
	}
	openable_path(pid, m, out->path, sizeof(out->path));
out:
	lt_elf_close(ef);
	return ret;
}

static bool seen_before(const struct lt_maps *maps, size_t i)
{
	size_t j;

	for (j = 0; j < i; j++)
		if (maps->v[j].path && lt_mapping_same_file(&maps->v[j], &maps->v[i]))
			return true;
	return false;
}

static bool file_executable(const struct lt_maps *maps, const struct lt_mapping *m)
{
	size_t i;

	for (i = 0; i < maps->n; i++)
		if (maps->v[i].path && maps->v[i].executable && lt_mapping_same_file(&maps->v[i], m))
			return true;
	return false;
}

static bool pythonish(const struct lt_mapping *m)
{
	return strstr(base_name(m->path), "python") != NULL;
}

int lt_py_find_interp(pid_t pid, const struct lt_maps *maps, struct lt_py_interp *out,
		      char *err, size_t errlen)
{
	int pass, ret, result = -ENOENT;
	const struct lt_mapping *m;
	size_t i;

	memset(out, 0, sizeof(*out));
	set_err(err, errlen, "no Python interpreter mapped");
	/* Files named like Python first: other files are only opened (every
	 * symbol parsed) for executables that embed Python under another name. */
	for (pass = 0; pass < 2 && result == -ENOENT; pass++) {
		for (i = 0; i < maps->n; i++) {
			m = &maps->v[i];
			if (!m->path || m->path[0] != '/' || pythonish(m) != (pass == 0))
				continue;
			if (seen_before(maps, i) || (pass == 1 && !file_executable(maps, m)))
				continue;
			ret = try_mapping(pid, maps, m, out, err, errlen);
			if (!ret)
				return 0;
			/* Keep looking after a refusal: another file may do. */
			if (ret != -ENOENT)
				result = ret;
		}
	}
	if (result)
		memset(out, 0, sizeof(*out));
	return result;
}
