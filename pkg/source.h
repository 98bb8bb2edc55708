/* source.h - checks on source package contents (pkg-internal; see
 * pkg/source.c). Pure functions over strings, fuzzed by
 * tests/fuzz/fuzz_sources.c. */
#ifndef SPAWN_PKG_SOURCE_H
#define SPAWN_PKG_SOURCE_H

#include <stdbool.h>
#include <stddef.h>

#include "pkg/pkg.h"

/* Longest path inside a source package. */
#define PKG__SRC_MAX_PATH 4095

/* Checks a relative path inside a source package (a `subdir`, a tar
 * member's name, a hard link's target): not empty, not absolute, no `..`
 * component, no NUL, at most PKG__SRC_MAX_PATH bytes. 0 when fine, else -1
 * with the reason in why. */
int pkg__source_check_path(const char *path, char *why, size_t nwhy);

/* Checks that a symbolic link at `path` (relative to the source root) with
 * target `target` stays inside the source root when followed: the target
 * is relative, and walking it from the link's directory never goes above
 * the root. 0 when fine, else -1 with the reason in why. */
int pkg__source_check_symlink(const char *path, const char *target, char *why, size_t nwhy);

/* gitignore-like matching of one pattern against a path relative to the
 * directory the pattern belongs to: a trailing '/' matches directories
 * only; a pattern with a '/' (other than a trailing one) is anchored there;
 * one without matches the last component at any depth; '*', '?', '[...]'
 * and '**' as git has them. */
bool pkg__source_match(const char *pattern, const char *path, bool is_dir);

/* The source cache (pkg/fetch.c; layout there). */
bool pkg__sources_offline(void);
/* Forgets pkg_sources_set_offline: SPK_OFFLINE decides again (tests). */
void pkg__sources_offline_unset(void);
int pkg__source_cache_dir(char *out, size_t n, sp_error *err);
/* key: sha256 of the URL's text, the name of its cache entries. */
void pkg__url_key(const char *url, char key[65]);
/* Opens a tar source given by an http(s) URL from the cache, downloading
 * it first when missing (and not offline); the file is verified against
 * sd->sha256 when given. *out is a readable, seekable fd at offset 0. */
int pkg__source_fetch_tar(int *out, const pkg_source_decl *sd, sp_error *err);
/* Checks that the rest of fd hashes to pin (64 hex), then rewinds it;
 * `what` names the file in the error. */
int pkg__source_verify_fd(int fd, const char *what, const char *pin, sp_error *err);

/* Fuzzing entry point: see pkg/source.c. */
int pkg__source_fuzz(const unsigned char *data, size_t size);

/* Publishes a source package collected by pkg_repo_make_source (without
 * publish): layer tag, spec, recipe when missing, index. */
int pkg_repo__publish_source(pkg_source_result *res, pkg_repo *r, const pkg_specfile *f,
			     const pkg_spec *spec, sp_error *err);

#endif
