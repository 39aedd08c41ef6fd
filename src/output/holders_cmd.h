/* SPDX-License-Identifier: MIT */
/*
 * `leaktrace holders`: who holds objects of a running Python process, named
 * by type (-p PID --type NAME), or the leaked objects a snapshot sampled
 * (leaktrace holders SNAPSHOT, written by leaktrace --holders --snapshot).
 */
#ifndef LT_HOLDERS_CMD_H
#define LT_HOLDERS_CMD_H

int lt_holders_main(int argc, char **argv);

#endif
