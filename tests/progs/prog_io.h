/* SPDX-License-Identifier: MIT */
/*
 * Line I/O for the test programs that talk to an e2e scenario over pipes.
 * Raw read/write, no stdio: nothing but the programs' own blocks is ever
 * allocated, so the scenarios can count them exactly.
 */
#ifndef LT_PROG_IO_H
#define LT_PROG_IO_H

#include <string.h>
#include <unistd.h>

static inline void say(const char *s)
{
	ssize_t r = write(1, s, strlen(s));

	(void)r;
}

/* One line of stdin, byte by byte: whatever follows stays unread (for a
 * program exec'd next, say). 0, or -1 on EOF or error before the newline. */
static inline int read_line(void)
{
	char c;
	ssize_t r;

	while ((r = read(0, &c, 1)) == 1 && c != '\n')
		;
	return r == 1 ? 0 : -1;
}

#endif
