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

/* The value of `key` in mapping m (NULL when m is not a mapping or has
 * no such key), and the index of that key in m->items (-1 when none). */
const pkg__ynode *pkg__ymap_get(const pkg__ynode *m, const char *key);
long pkg__ymap_key(const pkg__ynode *m, const char *key);

/* Parses all documents of text into trees in arena a. */
int pkg__yaml_load(pkg__ynode ***docs, size_t *ndocs, solver_arena *a, const char *text, size_t len,
		   const char *file, const pkg_limits *lim, sp_error *err);

/* A scalar of a YAML text to replace: found by its 1-based position, written
 * back single-quoted. */
typedef struct pkg__edit {
	size_t line, col;  /* 1-based start of the scalar to replace */
	const char *text;  /* replacement, written single-quoted */
	size_t start, end; /* found byte range */
	bool found;
} pkg__edit;

/* A copy of text[0..len) with the scalars at the edits' positions
 * replaced (repo_build.c); `what` names the text in messages. */
int pkg__edit_scalars(sp_buf *out, const char *text, size_t len, pkg__edit *ed, size_t n,
		      const char *what, sp_error *err);

/* The options build b inherits from its build environment env[0..nenv)
 * (solve order): each var option with inheritance Strong or
 * StrongForBuildOnly of a package there, as "PKG.VAR" with its value and
 * inheritance, in solve order; one that b declares itself is left out.
 * *out is in arena a (build_spec.c). */
struct pkg__build_dep;
int pkg__inherited(solver_option **out, size_t *n, const solver_build *b,
		   const struct pkg__build_dep *env, size_t nenv, solver_arena *a, sp_error *err);
/* The build spec text (one document) with inherited options v added to
 * build.options and, the Strong ones, to install.requirements, each as
 * `var: PKG.VAR/VALUE` (the recipe's text is otherwise kept). */
int pkg__render_inherited(sp_buf *out, const char *text, size_t len, const solver_option *v,
			  size_t n, const char *file, sp_error *err);

/* Where a published spec's text came from, on its first line (spec.c):
 *     # spk-origin: FILE:LINE    LINE: the recipe's line of the text's 2nd line
 *     # spk-origin: FILE         lines were added (inherited build options)
 * so that a solve explanation names the recipe a person edits, not the
 * repository's tag. pkg__origin_comment writes it for spec (read from
 * file, the document cut from its line spec->line) into out; nothing when
 * the origin is not known. pkg__origin_read marks b as published and sets
 * b->where from text (strings in arena a). */
int pkg__origin_comment(sp_buf *out, const pkg_spec *spec, bool lines, sp_error *err);
/* out = that comment, then text[0..len): a spec text as it is published. */
int pkg__with_origin(sp_buf *out, const pkg_spec *spec, bool lines, const char *text, size_t len,
		     sp_error *err);
int pkg__origin_read(solver_build *b, solver_arena *a, const char *text, size_t len, sp_error *err);

#endif
