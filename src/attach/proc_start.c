// SPDX-License-Identifier: MIT
#include "attach/proc_start.h"

#include <stdio.h>
#include <string.h>

uint64_t lt_proc_start_ticks(pid_t pid)
{
	char path[64], buf[1024], *close;
	unsigned long long ticks = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The name may hold spaces and parentheses: fields start after the last ')'. */
	close = strrchr(buf, ')');
	if (!close || sscanf(close + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d"
			     " %*d %*d %*d %*d %llu", &ticks) != 1)
		return 0;
	return ticks;
}
