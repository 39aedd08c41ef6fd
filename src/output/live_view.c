// SPDX-License-Identifier: MIT
#include "output/live_view.h"

#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "output/live_model.h"

/* Header lines above the table, and the status line below it. */
#define HEADER_LINES 4
#define SPARK_WIDTH LT_LIVE_HISTORY

struct lt_live_view {
	struct lt_live_model model;
	SCREEN *screen;
	double interval_s;
	enum lt_live_kind kind;
	enum lt_live_sort sort;
	uint32_t pid;      /* picked process; 0: all */
	bool frozen;
	uint64_t reports;  /* reports made, shown or not */
	size_t scroll;     /* first row shown */
	bool utf8;
	bool take_failed;
	int saved_stderr;  /* the real stderr, while ours goes to err_fd */
	int err_fd;
	const struct lt_live_row **order; /* scratch for the sorted rows */
	size_t order_cap;
};

static const char *const kind_names[LT_LIVE_KINDS] = {
	[LT_LIVE_NATIVE] = "native stacks",
	[LT_LIVE_PY_TYPES] = "Python types",
	[LT_LIVE_PY_LINES] = "Python lines",
	[LT_LIVE_FDS] = "descriptors",
	[LT_LIVE_KERNEL] = "kernel stacks",
	[LT_LIVE_KCACHES] = "kernel caches",
};
static const char *const sort_names[LT_LIVE_SORTS] = {
	[LT_LIVE_BY_GROWTH] = "growth",
	[LT_LIVE_BY_BYTES] = "bytes",
	[LT_LIVE_BY_COUNT] = "count",
};
/* Column titles of the count and the growth, by kind. */
static const char *const count_titles[LT_LIVE_KINDS] = { "BLOCKS", "OBJECTS", "BLOCKS", "FDS",
							 "OBJECTS", "OBJECTS" };
static const char *const growth_titles[LT_LIVE_KINDS] = { "B/s", "objects/s", "B/s", "fds/s", "B/s",
							  "B/s" };

/* Lowest to highest; a report without the row is a blank. */
static const char *const spark_utf8[LT_LIVE_LEVELS] = { "\u2581", "\u2582", "\u2583", "\u2584",
							"\u2585", "\u2586", "\u2587", "\u2588" };
static const char spark_ascii[LT_LIVE_LEVELS + 1] = "_.-:=+*#";

/* The last line leaktrace wrote to stderr while the view is open. */
static void last_error_line(const struct lt_live_view *v, char *buf, size_t len)
{
	char tail[512];
	struct stat st;
	ssize_t n;
	off_t from;

	buf[0] = '\0';
	if (v->err_fd < 0 || fstat(v->err_fd, &st) || st.st_size == 0)
		return;
	from = st.st_size > (off_t)sizeof(tail) - 1 ? st.st_size - (off_t)sizeof(tail) + 1 : 0;
	n = pread(v->err_fd, tail, sizeof(tail) - 1, from);
	if (n <= 0)
		return;
	while (n > 0 && (tail[n - 1] == '\n' || tail[n - 1] == '\r'))
		n--;
	tail[n] = '\0';
	char *start = strrchr(tail, '\n');

	snprintf(buf, len, "%s", start ? start + 1 : tail);
}

static void format_growth(const struct lt_live_row *row, enum lt_live_kind kind, char *buf,
			  size_t len)
{
	bool known = row->verdict >= LT_VERDICT_STABLE;
	double g = known ? row->slope : row->rate;
	bool in_bytes = kind == LT_LIVE_NATIVE || kind == LT_LIVE_PY_LINES || kind == LT_LIVE_KERNEL ||
			kind == LT_LIVE_KCACHES;
	const char *fmt = in_bytes ?
				  (known ? "%+.0f" : "(%+.0f)") : (known ? "%+.1f" : "(%+.1f)");

	/* In parentheses: no verdict yet, the change since the previous report. */
	if (!known && isnan(g))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, fmt, g);
}

static const char *verdict_text(enum lt_verdict v)
{
	return v == LT_VERDICT_NONE ? "-" : lt_verdict_name(v);
}

static const char *picked_comm(const struct lt_live_view *v)
{
	for (size_t i = 0; i < v->model.nprocs; i++)
		if (v->model.procs[i].pid == v->pid)
			return v->model.procs[i].comm;
	return NULL;
}

static void draw_header(struct lt_live_view *v, int cols)
{
	const struct lt_live_model *m = &v->model;
	char line[1024], proc[64], when[32] = "";
	size_t used;
	struct tm tm;

	if (v->pid) {
		const char *comm = picked_comm(v);

		snprintf(proc, sizeof(proc), "%u (%s)", v->pid, comm ? comm : "not in this report");
	} else {
		snprintf(proc, sizeof(proc), "all");
	}
	if (m->reports) {
		gmtime_r(&m->wall.tv_sec, &tm);
		strftime(when, sizeof(when), "%H:%M:%S UTC", &tm);
	}
	used = (size_t)snprintf(line, sizeof(line), "leaktrace --live: %s, sort by %s, process %s, every %.1f s",
				kind_names[v->kind], sort_names[v->sort], proc, v->interval_s);
	if (m->reports)
		used += (size_t)snprintf(line + used, sizeof(line) - used, "; report %" PRIu64 " at %s, %.1f s traced",
					 m->reports, when, m->elapsed_s);
	attron(A_BOLD);
	mvaddnstr(0, 0, line, cols);
	attroff(A_BOLD);
	if (v->frozen) {
		snprintf(line, sizeof(line), " FROZEN (%" PRIu64 " reports made since) ",
			 v->reports - m->reports);
		attron(A_REVERSE);
		mvaddnstr(0, cols - (int)strlen(line) > 0 ? cols - (int)strlen(line) : 0, line, cols);
		attroff(A_REVERSE);
	}
	used = (size_t)snprintf(line, sizeof(line), "events: %" PRIu64 " allocs, %" PRIu64 " frees, %" PRIu64
				" lost; processes:", m->stats.alloc_events, m->stats.free_events, m->lost_events);
	for (size_t i = 0; i < m->nprocs && used < sizeof(line); i++)
		used += (size_t)snprintf(line + used, sizeof(line) - used, " %u %s %" PRIu64 " B%s%s",
					 m->procs[i].pid, m->procs[i].comm, m->procs[i].bytes,
					 m->procs[i].exited ? " (exited)" : "", i + 1 < m->nprocs ? "," : "");
	mvaddnstr(1, 0, line, cols);
	mvaddnstr(2, 0, "keys: 1 native  2 Python types  3 Python lines  4 descriptors  5 kernel stacks  "
			"6 kernel caches  Tab next view  s sort  p process  f freeze  Up/Down scroll  q quit",
		  cols);
}

static void draw_sparkline(struct lt_live_view *v, const struct lt_live_row *row)
{
	int levels[SPARK_WIDTH];
	size_t n = lt_live_model_sparkline(&v->model, row, levels, SPARK_WIDTH);

	for (size_t i = 0; i < n; i++) {
		if (levels[i] == LT_LIVE_NO_POINT)
			addch(' ');
		else if (v->utf8)
			addstr(spark_utf8[levels[i]]);
		else
			addch((chtype)spark_ascii[levels[i]]);
	}
}

static void draw(struct lt_live_view *v)
{
	const struct lt_live_model *m = &v->model;
	int rows, cols, y = HEADER_LINES, room;
	size_t n, need = m->nrows[v->kind];
	char line[2048], status[512];

	getmaxyx(stdscr, rows, cols);
	erase();
	draw_header(v, cols);
	snprintf(line, sizeof(line), "%7s %-15s %12s %9s %12s %-9s %-*s %s", "PID",
		 v->kind == LT_LIVE_KERNEL ? "CACHE" : "COMM", "BYTES", count_titles[v->kind],
		 growth_titles[v->kind], "VERDICT", SPARK_WIDTH, "HISTORY",
		 v->kind == LT_LIVE_PY_TYPES ? "TYPE" : v->kind == LT_LIVE_KCACHES ? "CACHE" :
		 "WHERE (innermost first)");
	attron(A_REVERSE);
	mvaddnstr(y - 1, 0, line, cols);
	for (int x = (int)strlen(line); x < cols; x++)
		addch(' ');
	attroff(A_REVERSE);
	if (need > v->order_cap) {
		const struct lt_live_row **grown = realloc(v->order, need * sizeof(*grown));

		if (grown) {
			v->order = grown;
			v->order_cap = need;
		}
	}
	n = need <= v->order_cap ? lt_live_model_rows(m, v->kind, v->pid, v->sort, v->order) : 0;
	room = rows - HEADER_LINES - 1;
	if (room < 0)
		room = 0;
	if (v->scroll + (size_t)room > n)
		v->scroll = n > (size_t)room ? n - (size_t)room : 0;
	for (size_t i = v->scroll; i < n && y < HEADER_LINES + room; i++, y++) {
		const struct lt_live_row *row = v->order[i];
		char growth[32];
		int x;

		format_growth(row, v->kind, growth, sizeof(growth));
		snprintf(line, sizeof(line), "%7u %-15.15s %12" PRIu64 " %9" PRIu64 " %12s %-9s ", row->pid,
			 row->comm, row->bytes, row->count, growth, verdict_text(row->verdict));
		if (row->verdict == LT_VERDICT_GROWING)
			attron(A_BOLD);
		mvaddnstr(y, 0, line, cols);
		draw_sparkline(v, row);
		x = getcurx(stdscr);
		snprintf(line, sizeof(line), " %s%s%s", row->label, row->callers[0] ? " < " : "",
			 row->callers);
		if (x < cols)
			addnstr(line, cols - x);
		attroff(A_BOLD);
	}
	if (!m->reports)
		snprintf(status, sizeof(status), "waiting for the first report (every %.1f s)", v->interval_s);
	else if (v->take_failed)
		snprintf(status, sizeof(status), "out of memory: the last report is not shown");
	else
		last_error_line(v, status, sizeof(status));
	if (!status[0])
		snprintf(status, sizeof(status), "%zu row%s%s", n, n == 1 ? "" : "s",
			 n > (size_t)room ? " (Up/Down to scroll)" : "");
	mvaddnstr(rows - 1, 0, status, cols);
	refresh();
}

/* stderr into a memory file while the screen is ours: a warning written
 * over the table would be wiped by the next redraw anyway. */
static int capture_stderr(struct lt_live_view *v)
{
	fflush(stderr);
	v->err_fd = memfd_create("leaktrace-stderr", MFD_CLOEXEC);
	if (v->err_fd < 0)
		return -errno;
	v->saved_stderr = fcntl(2, F_DUPFD_CLOEXEC, 3);
	if (v->saved_stderr < 0 || dup2(v->err_fd, 2) < 0) {
		int err = -errno;

		if (v->saved_stderr >= 0)
			close(v->saved_stderr);
		v->saved_stderr = -1;
		close(v->err_fd);
		v->err_fd = -1;
		return err;
	}
	return 0;
}

static void release_stderr(struct lt_live_view *v)
{
	char buf[4096];
	off_t at = 0;
	ssize_t n;

	if (v->saved_stderr < 0)
		return;
	fflush(stderr);
	dup2(v->saved_stderr, 2);
	close(v->saved_stderr);
	v->saved_stderr = -1;
	while ((n = pread(v->err_fd, buf, sizeof(buf), at)) > 0) {
		fwrite(buf, 1, (size_t)n, stderr);
		at += n;
	}
	close(v->err_fd);
	v->err_fd = -1;
}

int lt_live_view_open(struct lt_live_view **out, double interval_s, char *err, size_t len)
{
	struct lt_live_view *v = calloc(1, sizeof(*v));
	const char *codeset;
	int ret;

	*out = NULL;
	if (!v) {
		snprintf(err, len, "out of memory");
		return -ENOMEM;
	}
	v->saved_stderr = v->err_fd = -1;
	v->interval_s = interval_s;
	lt_live_model_init(&v->model, LT_LIVE_MAX_SERIES);
	/* LC_CTYPE only: numbers in reports keep their C format. */
	setlocale(LC_CTYPE, "");
	codeset = nl_langinfo(CODESET);
	v->utf8 = codeset && !strcmp(codeset, "UTF-8");
	/* newterm, not initscr: initscr exits the program when it fails. */
	v->screen = newterm(NULL, stdout, stdin);
	if (!v->screen) {
		snprintf(err, len, "--live: cannot use the terminal (TERM=%s)",
			 getenv("TERM") ? getenv("TERM") : "");
		ret = -ENOTTY;
		goto fail;
	}
	ret = capture_stderr(v);
	if (ret) {
		endwin();
		snprintf(err, len, "--live: cannot hold stderr: %s", strerror(-ret));
		goto fail;
	}
	cbreak(); /* keys one at a time; Ctrl-C still a SIGINT: the final report */
	noecho();
	nodelay(stdscr, TRUE);
	keypad(stdscr, TRUE);
	curs_set(0);
	draw(v);
	*out = v;
	return 0;
fail:
	if (v->screen)
		delscreen(v->screen);
	lt_live_model_free(&v->model);
	free(v);
	return ret;
}

void lt_live_view_report(struct lt_live_view *v, const struct lt_report *r)
{
	v->reports++;
	/* Frozen: nothing taken in, so the numbers stay as they were. */
	if (!v->frozen)
		v->take_failed = lt_live_model_take(&v->model, r) != 0;
	draw(v);
}

/* The process after the picked one in the last report; then all again. */
static void next_process(struct lt_live_view *v)
{
	const struct lt_live_model *m = &v->model;
	size_t i = 0;

	if (v->pid) {
		while (i < m->nprocs && m->procs[i].pid != v->pid)
			i++;
		i++;
	}
	v->pid = i < m->nprocs ? m->procs[i].pid : 0;
}

bool lt_live_view_keys(struct lt_live_view *v)
{
	bool changed = false;
	int c;

	while ((c = getch()) != ERR) {
		changed = true;
		switch (c) {
		case 'q':
		case 'Q':
			return true;
		case '1':
		case '2':
		case '3':
		case '4':
		case '5':
		case '6':
			v->kind = (enum lt_live_kind)(c - '1');
			v->scroll = 0;
			break;
		case '\t':
			v->kind = (enum lt_live_kind)((v->kind + 1) % LT_LIVE_KINDS);
			v->scroll = 0;
			break;
		case 's':
			v->sort = (enum lt_live_sort)((v->sort + 1) % LT_LIVE_SORTS);
			break;
		case 'p':
			next_process(v);
			v->scroll = 0;
			break;
		case 'f':
		case ' ':
			v->frozen = !v->frozen;
			break;
		case KEY_DOWN:
		case 'j':
			v->scroll++;
			break;
		case KEY_UP:
		case 'k':
			v->scroll = v->scroll ? v->scroll - 1 : 0;
			break;
		case KEY_NPAGE:
			v->scroll += 10;
			break;
		case KEY_PPAGE:
			v->scroll = v->scroll > 10 ? v->scroll - 10 : 0;
			break;
		default:
			break; /* KEY_RESIZE among them: the redraw below fits the new size */
		}
	}
	if (changed)
		draw(v);
	return false;
}

void lt_live_view_close(struct lt_live_view *v)
{
	if (!v)
		return;
	endwin();
	delscreen(v->screen);
	release_stderr(v);
	lt_live_model_free(&v->model);
	free(v->order);
	free(v);
}
