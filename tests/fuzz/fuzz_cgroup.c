// SPDX-License-Identifier: MIT
/*
 * cgroup files (cgroup_info.h, cgroup_target.h): the input is read both as
 * a /proc/PID/cgroup text, whose v2 path is then searched for a container
 * id, and as a /proc/self/mountinfo text, for the cgroup2 mount point. A
 * container chooses its cgroup names, so the path is searched raw too.
 */
#include <stdint.h>

#include "fuzz_common.h"

#include "attach/cgroup_info.h"
#include "attach/cgroup_target.h"

static void container_id(const char *path)
{
	char id[LT_CONTAINER_ID_LEN + 1];
	size_t scope_len;

	if (!lt_cgroup_container_id(path, id, &scope_len))
		return;
	if (strlen(id) != LT_CONTAINER_ID_LEN || scope_len > strlen(path))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *path, *mount, *text;

	if (!lt_cgroup_parse((const char *)data, size, &path)) {
		container_id(path);
		free(path);
	}
	if (!lt_cgroup2_mount_point((const char *)data, size, &mount)) {
		fuzz_touch(mount);
		free(mount);
	}
	text = fuzz_cstr(data, size);
	if (text) {
		container_id(text);
		free(text);
	}
	return 0;
}
