/* yamltree.h - a bounded YAML node tree built from libyaml events
 * (pkg-internal). */
#ifndef SPAWN_PKG_YAMLTREE_H
#define SPAWN_PKG_YAMLTREE_H

#include "pkg/pkg.h"

enum { PKG__Y_SCALAR = 1, PKG__Y_SEQ = 2, PKG__Y_MAP = 3 };

typedef struct pkg__ynode {
	int type;
	const char *s; /* scalar text (NUL-terminated) */
	size_t len;
	bool plain;		   /* an unquoted scalar */
	struct pkg__ynode **items; /* SEQ: items; MAP: key, value, key, value... */
	size_t n;
	size_t line, col; /* 1-based */
} pkg__ynode;

/* Parses all documents of text into trees in arena a. */
int pkg__yaml_load(pkg__ynode ***docs, size_t *ndocs, solver_arena *a, const char *text, size_t len,
		   const char *file, const pkg_limits *lim, sp_error *err);

#endif
