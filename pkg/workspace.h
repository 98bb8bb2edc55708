/* workspace.h - workspace files (pkg-internal; see pkg/workspace.c). */
#ifndef SPAWN_PKG_WORKSPACE_H
#define SPAWN_PKG_WORKSPACE_H

#include "pkg/pkg.h"

#define PKG__WORKSPACE_FILE "workspace.spk.yaml"

typedef struct pkg__workspace pkg__workspace;

/* Parses a workspace file (text[0..len), named file in messages). */
int pkg__workspace_read(pkg__workspace **out, const char *text, size_t len, const char *file,
			sp_error *err);
void pkg__workspace_free(pkg__workspace *w);

/* Does the workspace hold the file at rel (relative to its root)? Its
 * versions (when an entry gives some) in *versions (borrowed from w). */
bool pkg__workspace_wants(const pkg__workspace *w, const char *rel, const char *const **versions,
			  size_t *nversions);

/* True when text is a workspace file (a top-level `api: v0/workspace`). */
bool pkg__is_workspace(const char *text, size_t len);

/* Bash-style brace expansion ("3.7.{0..2}" -> 3.7.0 3.7.1 3.7.2, "{a,b}c"
 * -> ac bc), at most 10000 results, into arena a. */
int pkg__workspace_expand(const char ***out, size_t *n, solver_arena *a, const char *s,
			  sp_error *err);

#endif
