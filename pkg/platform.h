/* platform.h - `api: v0/platform` and `v1/platform` documents as the
 * v0/package recipes SPK makes of them (pkg-internal; see pkg/platform.c). */
#ifndef SPAWN_PKG_PLATFORM_H
#define SPAWN_PKG_PLATFORM_H

#include "pkg/yamltree.h"

/* True when api (a document's `api:` value) names a platform. */
bool pkg__is_platform_api(const char *api);

/* Writes the v0/package recipe (one YAML document) that platform document
 * doc (api: v0/platform or v1/platform; named file in messages) stands for.
 * With env and r (a build: the solved build environment and the repository
 * it came from), the requirements of its `base` packages found there are
 * inherited, as SPK does when it builds a platform; without, none are. */
int pkg__platform_lower(sp_buf *out, const pkg__ynode *doc, const char *file,
			const solver_result *env, pkg_repo *r, sp_error *err);

/* For a build (repo_build.c): the recipe of platform document
 * ptext[0..plen) (with env: inheriting from its bases there) as *text,
 * *len and its YAML tree *docs (one document), all in arena a. */
int pkg__platform_doc(const char **text, size_t *len, pkg__ynode ***docs, size_t *ndocs,
		      const char *ptext, size_t plen, const char *file, const solver_result *env,
		      pkg_repo *r, solver_arena *a, sp_error *err);

#endif
