/* fixtures.h - building manifests for the spfs unit tests. */
#ifndef SPAWN_TESTS_SPFS_FIXTURES_H
#define SPAWN_TESTS_SPFS_FIXTURES_H

#include <stdlib.h>
#include <string.h>

#include "spfs/spfs.h"

/* An entry with normalised fields; `path` is borrowed until pushed. */
static inline spfs_entry fx_entry(spfs_entry_kind kind, const char *path)
{
	spfs_entry e = {.kind = kind, .path = (char *)path};
	switch (kind) {
	case SPFS_ENTRY_DIR: e.mode = 0755; break;
	case SPFS_ENTRY_FILE:
		e.mode = 0644;
		e.size = strlen(path);
		memset(e.digest.bytes, (int)(strlen(path) * 13 + (unsigned char)path[0]),
		       SP_DIGEST_LEN);
		break;
	case SPFS_ENTRY_SYMLINK: e.mode = 0777; break;
	case SPFS_ENTRY_MASK: e.mode = 0; break;
	}
	return e;
}

static inline spfs_entry fx_symlink(const char *path, const char *target)
{
	spfs_entry e = fx_entry(SPFS_ENTRY_SYMLINK, path);
	e.target = (char *)target;
	e.size = strlen(target);
	sp_error err = {0};
	sp_digest_buf(&e.digest, target, e.size, &err);
	return e;
}

static inline void fx_push(spfs_manifest *m, spfs_entry e)
{
	sp_error err = {0};
	if (spfs_manifest_push(m, &e, &err))
		abort();
}

/* "d:a f:a/b s:a/c>target m:x" -> a manifest in the given order. */
static inline spfs_manifest *fx_manifest(const char *spec)
{
	spfs_manifest *m = calloc(1, sizeof(*m));
	char *copy = strdup(spec);
	if (!m || !copy)
		abort();
	char *save = NULL;
	for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		char k = tok[0];
		char *path = tok + 2;
		if (k == 's') {
			char *gt = strchr(path, '>');
			*gt = '\0';
			fx_push(m, fx_symlink(path, gt + 1));
		} else {
			spfs_entry_kind kind = k == 'd'	  ? SPFS_ENTRY_DIR
					       : k == 'f' ? SPFS_ENTRY_FILE
							  : SPFS_ENTRY_MASK;
			fx_push(m, fx_entry(kind, path));
		}
	}
	free(copy);
	return m;
}

/* "a b/ c" style listing: paths joined by ' ', dirs with '/', masks with '!'. */
static inline void fx_listing(const spfs_manifest *m, char *out, size_t n)
{
	size_t pos = 0;
	out[0] = '\0';
	for (size_t i = 0; i < m->count && pos < n; i++) {
		const spfs_entry *e = &m->entries[i];
		const char *suffix = e->kind == SPFS_ENTRY_DIR	     ? "/"
				     : e->kind == SPFS_ENTRY_MASK    ? "!"
				     : e->kind == SPFS_ENTRY_SYMLINK ? "@"
								     : "";
		pos +=
		    (size_t)snprintf(out + pos, n - pos, "%s%s%s", i ? " " : "", e->path, suffix);
	}
}

#endif
