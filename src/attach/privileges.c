// SPDX-License-Identifier: MIT
#include "attach/privileges.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif
#ifndef CAP_CHECKPOINT_RESTORE
#define CAP_CHECKPOINT_RESTORE 40
#endif

#define CAP_BIT(cap) (1ULL << (cap))

#define UPROBE_PMU_TYPE "/sys/bus/event_source/devices/uprobe/type"

/* Appends to msg at *used, keeping it terminated when it is too short. */
static void append(char *msg, size_t len, size_t *used, const char *text)
{
	int n;

	if (*used >= len)
		return;
	n = snprintf(msg + *used, len - *used, "%s", text);
	if (n > 0)
		*used += (size_t)n;
}

int lt_privileges_explain(uint64_t effective, bool uprobes_need_admin, char *msg, size_t len)
{
	bool admin = effective & CAP_BIT(CAP_SYS_ADMIN);
	const char *missing[5];
	size_t n = 0, used = 0;

	/* CAP_SYS_ADMIN stands in for CAP_BPF, CAP_PERFMON and
	 * CAP_CHECKPOINT_RESTORE in the kernel's checks, not for the others. */
	if (!admin && uprobes_need_admin) {
		missing[n++] = "CAP_SYS_ADMIN";
	} else if (!admin) {
		if (!(effective & CAP_BIT(CAP_BPF)))
			missing[n++] = "CAP_BPF";
		if (!(effective & CAP_BIT(CAP_PERFMON)))
			missing[n++] = "CAP_PERFMON";
		if (!(effective & CAP_BIT(CAP_CHECKPOINT_RESTORE)))
			missing[n++] = "CAP_CHECKPOINT_RESTORE";
	}
	if (!(effective & CAP_BIT(CAP_SYS_PTRACE)))
		missing[n++] = "CAP_SYS_PTRACE";
	if (!(effective & CAP_BIT(CAP_DAC_READ_SEARCH)))
		missing[n++] = "CAP_DAC_READ_SEARCH";
	if (!n)
		return 0;
	if (len)
		msg[0] = '\0';
	append(msg, len, &used, "needs root, or CAP_SYS_ADMIN");
	if (!admin && !uprobes_need_admin)
		append(msg, len, &used, " (or CAP_BPF, CAP_PERFMON and CAP_CHECKPOINT_RESTORE)");
	append(msg, len, &used, ", CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH (missing: ");
	for (size_t i = 0; i < n; i++) {
		append(msg, len, &used, i ? ", " : "");
		append(msg, len, &used, missing[i]);
	}
	append(msg, len, &used, ")");
	return -EPERM;
}

/*
 * Since the fix for CVE-2025-38466 (Linux 6.16, and stable kernels from
 * 5.10.240, 5.15.189, 6.1.146, 6.6.99, 6.12.39) the kernel opens uprobe perf
 * events only for CAP_SYS_ADMIN; before, CAP_PERFMON was enough. Ask this
 * kernel rather than guess from its version: with an empty path the call
 * always fails and never makes a probe, with EACCES only when the
 * capability is refused. Without CAP_PERFMON the answer would be EACCES
 * either way, so only call this with it.
 */
static bool kernel_uprobes_need_admin(void)
{
	struct perf_event_attr attr;
	char buf[32];
	ssize_t got;
	int fd;

	fd = open(UPROBE_PMU_TYPE, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true; /* no uprobe PMU: libbpf's tracefs fallback wants root */
	got = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (got <= 0)
		return true;
	buf[got] = '\0';
	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = (uint32_t)strtoul(buf, NULL, 10);
	attr.config1 = (uint64_t)(uintptr_t)""; /* uprobe_path */
	fd = (int)syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		return false;
	}
	return errno == EACCES || errno == EPERM;
}

int lt_check_privileges(char *msg, size_t len)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	uint64_t effective;
	bool need_admin = true;

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data)) {
		snprintf(msg, len, "cannot read its capabilities: %s", strerror(errno));
		return -EPERM;
	}
	effective = data[0].effective | (uint64_t)data[1].effective << 32;
	if (!(effective & CAP_BIT(CAP_SYS_ADMIN)) && (effective & CAP_BIT(CAP_PERFMON)))
		need_admin = kernel_uprobes_need_admin();
	return lt_privileges_explain(effective, need_admin, msg, len);
}
