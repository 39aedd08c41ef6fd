#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Writes the seed inputs of tests/fuzz/corpus/<target>/seed-*.

Run from the repository root once `make progs` has built the test programs
(needs gcc, objcopy, strip and xz). The committed corpora are its output,
merged with what the fuzzers found since (run_fuzzers.sh --merge); it is
only needed again to change the seeds.
"""
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")
PROGS = os.path.join(ROOT, "build", "tests", "progs")
FIXTURES = os.path.join(ROOT, "build", "tests", "fixtures")

# Tiny files keep the ELF fuzzers fast: no libc, but symbols, inlining,
# DWARF, .eh_frame_hdr and a build-id, like any program.
TINY_C = r"""
static inline __attribute__((always_inline)) int inner(int x) { return x * 3 + 1; }
static inline __attribute__((always_inline)) int outer(int x) { return inner(x) ^ 5; }
__attribute__((noinline)) int leak_via_malloc(int x) { return outer(x) + 7; }
__attribute__((noinline)) int helper(int x) { return leak_via_malloc(x) * 2; }
int main(void) { return helper(3); }
void _start(void) { main(); for (;;) ; }
"""

# A libpython look-alike: the symbols python_target.c checks, 3.MINOR sizes.
PY_C = r"""
#include <stdint.h>
void *PyType_GenericAlloc(void *t, long n) { return (char *)t + n; }
void *_PyObject_GC_New(void *t) { return t; }
void *_PyObject_GC_NewVar(void *t, long n) { return (char *)t + n; }
void PyObject_GC_Del(void *o) { (void)o; }
struct type { char head[32]; int64_t basicsize, itemsize; char rest[360]; };
struct type PyCode_Type = { .basicsize = CODE_BASIC, .itemsize = CODE_ITEM };
struct type PyUnicode_Type = { .basicsize = UNICODE_BASIC };
#ifdef PY_VERSION_HEX
const unsigned long Py_Version = PY_VERSION_HEX;
#endif
#ifdef DEBUG_OFFSETS
unsigned char _PyRuntime[RUNTIME_SIZE] = { DEBUG_OFFSETS };
#else
unsigned char _PyRuntime[RUNTIME_SIZE];
#endif
"""

# Prints the facts the look-alikes and code-object images need, from the
# project's own table (python_layout.c), one line per minor version.
PY_FACTS_C = r"""
#include <stdio.h>
#include "python_layout.h"
int main(void)
{
	for (unsigned m = LT_PY_MINOR_MIN; m <= LT_PY_MINOR_MAX; m++) {
		const struct lt_py_version_info *i = lt_py_version_info(m);
		struct lt_py_layout l;

		lt_py_layout_for(m, &l);
		printf("%u %u %u %u %d %d %d %d %d %d %u %u %u %u %u %u %u %u %u %d\n", m,
		       i->runtime_size, i->lines, i->pos, i->co_firstlineno, i->co_filename,
		       i->co_name, i->co_qualname, i->co_linetable, i->co_code_adaptive,
		       i->str_ascii_data, i->str_compact_data, i->code_tp_basicsize,
		       i->code_tp_itemsize, i->unicode_tp_basicsize, l.tstate_frame,
		       l.frame_back, l.frame_code, l.frame_pos, l.frame_owner);
	}
	return 0;
}
"""
FACT_NAMES = ("minor runtime_size lines pos co_firstlineno co_filename co_name co_qualname "
              "co_linetable co_code_adaptive str_ascii_data str_compact_data code_basic "
              "code_item unicode_basic tstate_frame frame_back frame_code frame_pos "
              "frame_owner").split()


def run(*argv, **kw):
    subprocess.run(argv, check=True, **kw)


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def slurp(path):
    with open(path, "rb") as f:
        return f.read()


def strip_section_headers(elf):
    """What sstrip leaves: segments only, no section header table."""
    e_phoff, = struct.unpack_from("<Q", elf, 32)
    e_phentsize, e_phnum = struct.unpack_from("<HH", elf, 54)
    end = e_phoff + e_phentsize * e_phnum
    for i in range(e_phnum):
        _, _, off, _, _, filesz, _, _ = struct.unpack_from("<IIQQQQQQ", elf,
                                                           e_phoff + i * e_phentsize)
        end = max(end, off + filesz)
    out = bytearray(elf[:end])
    struct.pack_into("<Q", out, 40, 0)  # e_shoff
    struct.pack_into("<HHH", out, 58, 0, 0, 0)  # e_shentsize, e_shnum, e_shstrndx
    return bytes(out)


def py_facts(tmp):
    exe = os.path.join(tmp, "py_facts")
    src = os.path.join(tmp, "py_facts.c")
    with open(src, "w") as f:
        f.write(PY_FACTS_C)
    run("gcc", "-std=gnu11", "-I" + os.path.join(ROOT, "src"), "-I" + os.path.join(ROOT, "include"),
        "-o", exe, src, os.path.join(ROOT, "src", "python_layout.c"))
    facts = {}
    for line in subprocess.run([exe], check=True, capture_output=True, text=True).stdout.split("\n"):
        if line:
            v = dict(zip(FACT_NAMES, map(int, line.split())))
            facts[v["minor"]] = v
    return facts


def debug_offsets(f, minor):
    """_Py_DebugOffsets as 3.13 initialises it: cookie, version, the fields checked."""
    blob = bytearray(584)
    blob[0:8] = b"xdebugpy"
    struct.pack_into("<Q", blob, 8, (0x0300 | minor) << 16 | 0xf0)
    fields = {152 + 4 * 8: f["tstate_frame"], 224 + 8: f["frame_back"],
              224 + 16: f["frame_code"], 224 + 24: f["frame_pos"], 224 + 40: f["frame_owner"],
              272 + 8: f["co_filename"], 272 + 16: f["co_name"], 272 + 24: f["co_qualname"],
              272 + 32: f["co_linetable"], 272 + 40: f["co_firstlineno"],
              272 + 72: f["co_code_adaptive"], 352 + 8: 8, 368 + 8: 24, 368 + 24: 168,
              512 + 8: 16, 512 + 16: 32, 536 + 8: 32, 536 + 16: 16, 536 + 24: f["str_ascii_data"]}
    for at, v in fields.items():
        struct.pack_into("<q", blob, at, v)
    return ",".join(str(b) for b in blob)


def elf_seeds(tmp, facts):
    src = os.path.join(tmp, "tiny.c")
    with open(src, "w") as f:
        f.write(TINY_C)
    common = ["gcc", "-nostdlib", "-fno-stack-protector", "-Wl,--build-id", "-Wl,--eh-frame-hdr",
              "-Wl,-z,noseparate-code", "-Wl,-z,norelro", "-fdebug-prefix-map=%s=/src" % tmp]
    tiny = {}
    for name, flags in (("tiny-O2-dwarf5", ["-O2", "-g"]),
                        ("tiny-O0-dwarf4", ["-O0", "-g", "-gdwarf-4", "-fno-omit-frame-pointer"]),
                        ("tiny-pie-gz", ["-O2", "-g", "-gz=zlib", "-fPIE", "-pie"]),
                        ("tiny-static", ["-O1", "-static"])):
        out = os.path.join(tmp, name)
        run(*common, *flags, "-o", out, src)
        tiny[name] = out
        put("elf", name, slurp(out))

    base = tiny["tiny-O2-dwarf5"]
    stripped = os.path.join(tmp, "stripped")
    run("strip", "-o", stripped, base)
    put("elf", "tiny-stripped", slurp(stripped))
    put("elf", "tiny-no-section-headers", strip_section_headers(slurp(stripped)))
    # .gnu_debuglink to a file that is not there, and MiniDebugInfo.
    linked = os.path.join(tmp, "linked")
    debug = os.path.join(tmp, "tiny.debug")
    run("objcopy", "--only-keep-debug", base, debug)
    run("objcopy", "--add-gnu-debuglink=" + debug, stripped, linked)
    put("elf", "tiny-debuglink", slurp(linked))
    put("elf", "tiny.debug", slurp(debug))
    mini = os.path.join(tmp, "mini")
    run("objcopy", "--strip-debug", "--remove-section", ".comment", base, mini)
    run("xz", "-f", "--keep", mini)
    minidebug = os.path.join(tmp, "minidebug")
    run("objcopy", "--add-section", ".gnu_debugdata=" + mini + ".xz", stripped, minidebug)
    put("elf", "tiny-minidebuginfo", slurp(minidebug))

    # Real test programs and fixtures, built by the Makefile.
    for path, name in ((os.path.join(PROGS, "inline_leaky"), "inline_leaky"),
                       (os.path.join(PROGS, "libnofp.so"), "libnofp.so"),
                       (os.path.join(FIXTURES, "symbols_fixture"), "symbols_fixture"),
                       (os.path.join(FIXTURES, "cfi_fixture"), "cfi_fixture")):
        if os.path.exists(path):
            put("elf", name, slurp(path))

    # libpython look-alikes: Py_Version (3.11), by _PyRuntime's size (3.10),
    # _Py_DebugOffsets (3.13).
    py_src = os.path.join(tmp, "py.c")
    with open(py_src, "w") as f:
        f.write(PY_C)
    for minor in (10, 11, 13):
        fa = facts[minor]
        defs = ["-DCODE_BASIC=%d" % fa["code_basic"], "-DCODE_ITEM=%d" % fa["code_item"],
                "-DUNICODE_BASIC=%d" % fa["unicode_basic"],
                "-DRUNTIME_SIZE=%d" % max(fa["runtime_size"] if minor == 10 else 1024, 584)]
        if minor >= 11:
            defs.append("-DPY_VERSION_HEX=0x03%02x02f0" % minor)
        if minor == 13:
            defs.append("-DDEBUG_OFFSETS=" + debug_offsets(fa, minor))
        out = os.path.join(tmp, "libpython3.%d-alike.so" % minor)
        run(*common, "-O1", "-shared", "-fPIC", *defs, "-o", out, py_src)
        run("strip", "--strip-debug", out)
        put("elf", "libpython3.%d-alike.so" % minor, slurp(out))
    return tiny, stripped


def unwind_seeds(tmp, tiny, stripped):
    put("unwind", "tiny-stripped", slurp(stripped))
    put("unwind", "tiny-no-section-headers", strip_section_headers(slurp(stripped)))
    put("unwind", "tiny-O0-fp", slurp(tiny["tiny-O0-dwarf4"]))
    for path, name in ((os.path.join(PROGS, "libnofp.so"), "libnofp.so"),
                       (os.path.join(FIXTURES, "cfi_fixture"), "cfi_fixture")):
        if os.path.exists(path):
            out = os.path.join(tmp, name + ".nodebug")
            run("strip", "--strip-debug", "-o", out, path)
            put("unwind", name, slurp(out))


def needed_seeds(tmp):
    src = os.path.join(tmp, "prog.c")
    with open(src, "w") as f:
        f.write("int main(void) { return 0; }\n")
    for name, flags in (("plain", []),
                        ("runpath-origin", ["-Wl,-rpath,$ORIGIN/../lib:$ORIGIN", "-Wl,--enable-new-dtags"]),
                        ("rpath-braces", ["-Wl,-rpath,${ORIGIN}/lib:/opt/nowhere", "-Wl,--disable-new-dtags"]),
                        ("needs-m-pthread", ["-lm", "-Wl,--no-as-needed", "-lpthread"])):
        out = os.path.join(tmp, "needed-" + name)
        run("gcc", "-Os", "-s", "-Wl,-z,noseparate-code", *flags, "-o", out, src)
        put("needed_libs", name, slurp(out))


def maps_seeds():
    put("proc_maps", "cat", subprocess.run(["cat", "/proc/self/maps"], check=True,
                                           capture_output=True).stdout)
    put("proc_maps", "odd", "".join((
        "00400000-00452000 r-xp 00000000 08:02 173521      /usr/bin/dbus-daemon\n",
        "7f2c0000-7f2c1000 rw-s 00001000 fd:01 99  /tmp/with space (deleted)\n",
        "7f2c1000-7f2c2000 ---p 00000000 00:00 0 \n",
        "7ffc1000-7ffc2000 rw-p 00000000 00:00 0                          [stack]\n",
        "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0  [vsyscall]\n",
        "00001000-00000fff r-xp 0 0:0 1 /bad/range\n",
        "7f000000-7f001000 r-xp 00000000 103:05 1234567 /lib/x86_64-linux-gnu/libc.so.6",
    )))


def cgroup_seeds():
    put("cgroup", "self", slurp("/proc/self/cgroup"))
    put("cgroup", "mountinfo-self", slurp("/proc/self/mountinfo"))
    cid = "0123456789abcdef" * 4
    for name, text in (
        ("docker-systemd", "0::/system.slice/docker-%s.scope\n" % cid),
        ("kubepods", "12:memory:/kubepods/pod1\n0::/kubepods.slice/kubepods-besteffort.slice/"
                     "kubepods-besteffort-pod1.slice/cri-containerd-%s.scope/init\n" % cid),
        ("crio-conmon", "0::/machine.slice/crio-conmon-%s.scope\n" % cid),
        ("libpod-deleted", "0::/user.slice/libpod-%s.scope/container (deleted)\n" % cid),
        ("plain-id", "0::/docker/%s\n" % cid),
        ("v1-only", "4:pids:/user.slice\n1:name=systemd:/init.scope\n"),
        ("mountinfo-escaped",
         "22 1 0:21 / /sys/fs/cgroup\\040unified rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
         "23 22 0:22 / /proc rw - proc proc rw\n"),
    ):
        put("cgroup", name, text)


def line_tables():
    """(version, first, table bytes) of every table in python_line_tables.h."""
    text = slurp(os.path.join(ROOT, "tests", "unit", "python_line_tables.h")).decode()
    firsts = dict(re.findall(r"#define (PY\d+_\w+)_FIRST (-?\d+)", text))
    for m in re.finditer(r"static const uint8_t (py(\d+)_(\w+))_table\[\] = \{([^}]*)\}", text):
        name, ver, what, body = m.groups()
        data = bytes(int(b, 16) for b in re.findall(r"0x([0-9a-f]{2})", body))
        first = int(firsts.get("PY%s_%s" % (ver, what.upper()), "1"))
        yield int(ver[1:]), name, first, data


def python_lines_seeds():
    for minor, name, first, table in line_tables():
        kind = 0 if minor <= 9 else 1 if minor == 10 else 2
        put("python_lines", name, struct.pack("<Biq", kind, first, 2 * (len(table) // 3)) + table)


def ascii_str(f, text):
    body = bytearray(f["str_ascii_data"])
    struct.pack_into("<qq", body, 0, 1, 0)
    struct.pack_into("<q", body, 16, len(text))
    struct.pack_into("<I", body, 32, (1 << 2) | (1 << 5) | (1 << 6))
    return bytes(body) + text.encode() + b"\0"


def ucs2_str(f, text):
    body = bytearray(f["str_compact_data"])
    struct.pack_into("<q", body, 16, len(text))
    struct.pack_into("<I", body, 32, (2 << 2) | (1 << 5))
    return bytes(body) + text.encode("utf-16-le") + b"\0\0"


def python_code_seeds(facts):
    base = 0x10000000
    tables = {}
    for minor, name, first, table in line_tables():
        tables.setdefault(minor, (name, first, table))
    for minor, f in sorted(facts.items()):
        name, first, table = tables[minor]
        img = bytearray(0x600)
        at = {"type": 0x200, "tp_name": 0x280, "file": 0x300, "name": 0x380,
              "qualname": 0x400, "table": 0x480}
        struct.pack_into("<qQ", img, 0, 1, base + at["type"])
        struct.pack_into("<i", img, f["co_firstlineno"], first)
        struct.pack_into("<Q", img, f["co_filename"], base + at["file"])
        struct.pack_into("<Q", img, f["co_name"], base + at["name"])
        if f["co_qualname"] >= 0:
            struct.pack_into("<Q", img, f["co_qualname"], base + at["qualname"])
        struct.pack_into("<Q", img, f["co_linetable"], base + at["table"])
        struct.pack_into("<Q", img, at["type"] + 24, base + at["tp_name"])
        img[at["tp_name"]:at["tp_name"] + 5] = b"code\0"
        for what, s in (("file", ascii_str(f, "/srv/app/handlers.py")),
                        ("name", ascii_str(f, "handle")),
                        ("qualname", ucs2_str(f, "Handler.h\u00e9ndle"))):
            img[at[what]:at[what] + len(s)] = s
        struct.pack_into("<qQq", img, at["table"], 1, 0, len(table))
        img = img[:at["table"] + 32] + table
        if f["pos"] == 3:   # pointer into the bytecode: relative to the image
            flags, pos = 3, f["co_code_adaptive"] + 6
        else:
            flags, pos = 1, 3
        put("python_code", "3.%d-%s" % (minor, name), struct.pack("<BBQ", minor - 8, flags, pos) + img)


SNAPSHOT = (
    "leaktrace-snapshot 1\n"
    "report\t1700000000\t0\n"
    "process\t4242\tleaky\t/usr/bin/leaky\t0\n"
    "stack\theap\t97800\t66\t3\n"
    "frame\tn\tleak_via_malloc\t/src/leaky.c\t42\t/usr/bin/leaky\t0x1189\n"
    "frame\ti\tinlined_helper\t/src/leaky.c\t30\t/usr/bin/leaky\t0x11a0\n"
    "frame\tn\tmain\t/src/leaky.c\t90\t/usr/bin/leaky\t0x1200\n"
    "stack\theap\t10\t1\t1\n"
    "frame\tn\t\t\t0\t/lib/x86_64-linux-gnu/libc.so.6\t0x2a1ca\n"
    "process\t7\tpy\\tthon\t/usr/bin/python3.11\t1\n"
    "stack\tpython\t4096\t2\t2\n"
    "frame\tp\tHandler.handle\t/srv/app/a\\\\b.py\t12\t\t0x0\n"
    "frame\tp\t<module>\t/srv/app/main.py\t3\t\t0x0\n"
    "type\tdict\t10\t2400\n"
    "type\tlist\\nx\t1\t56\n"
    "end\t2\n"
)


def snapshot_seeds():
    put("snapshot", "two-procs", SNAPSHOT)
    put("snapshot", "sampled-empty", "leaktrace-snapshot 1\nreport\t5\t4096\nend\t0\n")
    put("snapshot", "truncated", SNAPSHOT[:200])


def suppressions_seeds():
    put("suppressions", "all-kinds",
        "# comment\n\nleak:leak_via_*\nfunc:^main$\nmodule:libfoo.so\n  file: /src/*.c$  \n"
        "leak:^_IO_*alloc*$\n\0"
        "leak_via_malloc\t/usr/bin/leaky\t/src/leaky.c\n"
        "+_IO_file_doallocate\t/lib/x86_64-linux-gnu/libc.so.6\t\n"
        "_dl_init\t/lib64/ld-linux-x86-64.so.2\t\n")
    put("suppressions", "bad-line", "leak:x\nbogus\n\0main\n")
    put("suppressions", "empty-pattern", "func:^$\n")


OPTIONS = (
    ["-p", "1234", "-p", "99", "10", "3"],
    ["-c", "./server --port 8080", "-d", "60", "--format", "json", "-w", "/nonexistent/out"],
    ["--format", "pprof", "-w", "x.pb.gz", "--sort", "count", "-T", "0", "-o", "0"],
    ["-z", "16", "-Z", "4096", "--mmap", "--native", "--group", "lineno", "--unwind", "fp"],
    ["--sample-bytes", "524288", "--ringbuf-mb", "8", "--unwind-rows", "4096",
     "--symbol-cache-mb", "64", "--trend-window", "8", "-vv"],
    ["--serve", "[::1]:9100", "--cgroup", "system.slice/x.service"],
    ["--serve", "0.0.0.0:80", "--suppressions", "/dev/null", "--no-default-suppressions"],
    ["--suppressions", "/nonexistent/supp", "--self-test", "--version"],
    ["-p1", "-Tx"],
    ["diff", "--by", "line", "-T", "5", "/nonexistent/old", "/nonexistent/new"],
    ["diff", "/dev/null", "/dev/null"],
    ["--help"],
)


def options_seeds():
    for i, argv in enumerate(OPTIONS):
        put("options", "argv%02d" % i, "".join(a + "\0" for a in argv))


def demangle_seeds():
    names = ["_ZN3foo3barEv", "_ZNSt6vectorIiSaIiEE9push_backERKi", "_Z1fIiEvT_",
             "_ZNKSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEE4sizeEv",
             "_ZZ4mainENKUlvE_clEv", "_ZN9__gnu_cxx13new_allocatorIcE8allocateEmPKv",
             "_GLOBAL__sub_I_main", "main", "_Z", "_ZSt4cout"]
    cxx = os.path.join(PROGS, "cxx_leaky")
    if os.path.exists(cxx):
        out = subprocess.run(["nm", "--defined-only", cxx], capture_output=True, text=True).stdout
        names += sorted({l.split()[-1] for l in out.splitlines() if " _Z" in l})[:20]
    for i, n in enumerate(names):
        put("demangle", "%02d" % i, n)


def main():
    if len(sys.argv) > 1:
        sys.exit(__doc__)
    with tempfile.TemporaryDirectory() as tmp:
        facts = py_facts(tmp)
        tiny, stripped = elf_seeds(tmp, facts)
        unwind_seeds(tmp, tiny, stripped)
        needed_seeds(tmp)
        python_code_seeds(facts)
    maps_seeds()
    cgroup_seeds()
    python_lines_seeds()
    snapshot_seeds()
    suppressions_seeds()
    options_seeds()
    demangle_seeds()


if __name__ == "__main__":
    main()
