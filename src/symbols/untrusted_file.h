/* SPDX-License-Identifier: MIT */
/*
 * Opening files a traced process controls: paths under /proc/PID/root or
 * /proc/PID/map_files, library and debug-file names from its ELF files, the
 * program it exec'd. Any of them may be a FIFO (open and read would wait for
 * a writer forever), a device (endless data, side effects on open) or a
 * symlink loop, and may be swapped for another between two looks: only a
 * regular file is opened, and it is checked again once open.
 */
#ifndef LT_UNTRUSTED_FILE_H
#define LT_UNTRUSTED_FILE_H

/* A read-only, close-on-exec descriptor of the regular file at path, or
 * -errno: -EINVAL when it is something else (FIFO, device, directory...),
 * -ELOOP for a symlink loop. Never blocks. */
int lt_open_untrusted(const char *path);

#endif
