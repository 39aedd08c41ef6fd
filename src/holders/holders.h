/* SPDX-License-Identifier: MIT */
/*
 * Who holds leaked Python objects: for samples of the objects of a type
 * (and of the traceback that made them), the shortest chain of holders up
 * to a root, as objgraph's find_backref_chain draws it, found from outside
 * by a walk of the process's heap. What a report carries.
 */
#ifndef LT_HOLDERS_H
#define LT_HOLDERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How a holder holds the next object of a chain. */
struct lt_holder_link {
	char *holder;   /* the holder's type name */
	const char *how; /* "index", "value", "key", "attr", "slot", "element", "cell",
			  * "closure", "globals", "defaults", "kwdefaults", "dict",
			  * "self", "func", "not decoded" */
	char *key;      /* the key's repr, the attribute's name, or NULL */
	int64_t index;  /* list, tuple or deque index, closure cell; -1 none */
	char *text;     /* e.g. "list[19999]", "dict['k']", "Owner.attr" */
	uint64_t addr;
	uint64_t at, base_at, base; /* where it was read (struct lt_py_ref), to check it */
};

enum lt_holder_root_kind {
	LT_HOLDER_ROOT_MODULE = 1, /* a module's global */
	LT_HOLDER_ROOT_CLASS,      /* a class attribute */
	LT_HOLDER_ROOT_FRAME,      /* a local of a running frame */
	LT_HOLDER_ROOT_UNFOLLOWED, /* references not found among the objects read:
				    * held from C, or by an object whose type is not decoded */
};

struct lt_holder_root {
	enum lt_holder_root_kind kind;
	char *module;   /* MODULE, CLASS: the module's name */
	char *cls;      /* CLASS: the class's name */
	char *func;     /* FRAME: the function's qualified name */
	char *file;     /* FRAME: its file */
	uint32_t tid;   /* FRAME: the thread's id, 0 unknown */
	char *name;     /* the global, attribute or local name */
	char *holder;   /* UNFOLLOWED: the type of the object last followed */
	uint64_t refcount, found; /* UNFOLLOWED: its reference count, references found */
	char *text;     /* e.g. "module billing: _AUDIT_TRAIL" */
	/* Where the root holds the chain's last object (as a link's), and
	 * (MODULE, CLASS) the owner's word that must still point to the dict. */
	uint64_t at, base_at, base, owner_at, owner_value;
	uint64_t tag_mask;  /* bits of the word at `at` that are tags (3.14+ frame locals) */
};

struct lt_holder_chain {
	char *type;           /* of the objects sampled */
	char *where;          /* where they were made (file:line), NULL unknown */
	uint32_t samples;     /* sampled objects held this way */
	uint32_t sampled;     /* objects sampled of this type and place */
	uint64_t object;      /* the one shown */
	struct lt_holder_link *links; /* its holder first, up to the root's */
	uint32_t nlinks;
	struct lt_holder_root root;
	bool conservative;    /* goes through an object whose type is not decoded */
	char *text;           /* "InvoiceRecord <- list[19999] <- module billing: _AUDIT_TRAIL" */
};

struct lt_holders {
	bool ok;
	char *error;          /* why there are no chains, when !ok */
	/* The pauses: the walk's (cut at the bound, the walk then going on
	 * with the process running) and the check of the chains found. */
	double pause_ms[2];
	uint32_t npauses;
	double pause_bound_ms;
	bool consistent;      /* the whole walk ran in the first pause */
	double walk_ms;
	uint64_t objects, references, gc_objects, frames;
	uint64_t bytes_copied;
	uint32_t sampled;     /* objects sampled in all */
	uint32_t unreached;   /* sampled objects no chain was found for */
	uint32_t changed;     /* chains dropped: a link was gone when checked */
	struct lt_holder_chain *chains;
	size_t nchains;
};

void lt_holders_free(struct lt_holders *h);

#endif
