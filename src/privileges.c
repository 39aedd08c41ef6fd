// SPDX-License-Identifier: MIT
#include "privileges.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static bool has_cap(const struct __user_cap_data_struct *data, int cap)
{
	return data[cap / 32].effective & (1u << (cap % 32));
}

int lt_check_privileges(char *missing, size_t len)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	bool admin, bpf, perfmon, ptrace;

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data)) {
		snprintf(missing, len, "capabilities unreadable: %s", strerror(errno));
		return -EPERM;
	}
	admin = has_cap(data, CAP_SYS_ADMIN);
	bpf = admin || has_cap(data, CAP_BPF);
	perfmon = admin || has_cap(data, CAP_PERFMON);
	/* Reading other processes' maps and files. */
	ptrace = has_cap(data, CAP_SYS_PTRACE) || admin;
	if (bpf && perfmon && ptrace)
		return 0;
	snprintf(missing, len, "%s%s%s", bpf ? "" : " CAP_BPF", perfmon ? "" : " CAP_PERFMON",
		 ptrace ? "" : " CAP_SYS_PTRACE");
	return -EPERM;
}
