/* manifest.c - manifest building, canonical order, lookup, overlay and diff. */
#include "spfs.h"

#include <stdlib.h>
#include <string.h>

const char *spfs_kind_name(spfs_kind kind)
{
	switch (kind) {
	case SPFS_KIND_BLOB: return "blob";
	case SPFS_KIND_MANIFEST: return "manifest";
	case SPFS_KIND_LAYER: return "layer";
	case SPFS_KIND_PLATFORM: return "platform";
	}
	return "unknown";
}

const char *spfs_entry_kind_name(spfs_entry_kind kind)
{
	switch (kind) {
	case SPFS_ENTRY_DIR: return "dir";
	case SPFS_ENTRY_FILE: return "file";
	case SPFS_ENTRY_SYMLINK: return "symlink";
	case SPFS_ENTRY_MASK: return "mask";
	}
	return "unknown";
}

static void entry_clear(spfs_entry *e)
{
	free(e->path);
	free(e->target);
	e->path = e->target = NULL;
}

void spfs_manifest_free(spfs_manifest *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->count; i++)
		entry_clear(&m->entries[i]);
	free(m->entries);
	free(m);
}

void spfs_manifest_freep(spfs_manifest **m)
{
	spfs_manifest_free(*m);
}

int spfs_manifest_push(spfs_manifest *m, const spfs_entry *e, sp_error *err)
{
	if (m->count == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		int rc = sp_realloc_array((void **)&m->entries, cap, sizeof(*m->entries), err);
		if (rc)
			return rc;
		m->cap = cap;
	}
	spfs_entry *n = &m->entries[m->count];
	*n = *e;
	n->path = strdup(e->path);
	n->target = e->target ? strdup(e->target) : NULL;
	if (!n->path || (e->target && !n->target)) {
		entry_clear(n);
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	}
	m->count++;
	return 0;
}

/* '/' sorts before every other byte, so a directory's subtree comes right
 * after it and before any sibling whose name extends the directory name. */
int spfs_path_cmp(const char *a, const char *b)
{
	const unsigned char *p = (const unsigned char *)a, *q = (const unsigned char *)b;
	while (*p && *p == *q) {
		p++;
		q++;
	}
	unsigned int x = *p == '/' ? 1 : (*p ? *p + 1u : 0);
	unsigned int y = *q == '/' ? 1 : (*q ? *q + 1u : 0);
	return (x > y) - (x < y);
}

static int entry_cmp(const void *a, const void *b)
{
	return spfs_path_cmp(((const spfs_entry *)a)->path, ((const spfs_entry *)b)->path);
}

void spfs_manifest_sort(spfs_manifest *m)
{
	if (m->count > 1)
		qsort(m->entries, m->count, sizeof(*m->entries), entry_cmp);
}

const spfs_entry *spfs_manifest_find(const spfs_manifest *m, const char *path)
{
	size_t lo = 0, hi = m->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = spfs_path_cmp(m->entries[mid].path, path);
		if (c == 0)
			return &m->entries[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

bool spfs_name_valid(const char *name, size_t len)
{
	if (len == 0 || len > SPFS_MAX_NAME)
		return false;
	if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return false;
	return memchr(name, '/', len) == NULL && memchr(name, '\0', len) == NULL;
}

/* True when `path` is `dir` or inside it. */
static bool path_within(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* Overlay merge: walk both sorted lists. An upper entry replaces the lower
 * entry of the same path; an upper non-directory (or mask) also hides the
 * lower subtree below that path. Lower entries below an upper *directory*
 * stay (merged directories). */
int spfs_manifest_overlay(spfs_manifest *lower, const spfs_manifest *upper, bool keep_masks,
			  sp_error *err)
{
	spfs_manifest out = {0};
	size_t i = 0, j = 0;
	const char *hide = NULL; /* path whose lower subtree is hidden */
	int rc = 0;
	while (i < lower->count || j < upper->count) {
		int c;
		if (i >= lower->count)
			c = 1;
		else if (j >= upper->count)
			c = -1;
		else
			c = spfs_path_cmp(lower->entries[i].path, upper->entries[j].path);
		if (c < 0) {
			spfs_entry *e = &lower->entries[i++];
			if (hide && path_within(e->path, hide))
				continue;
			if ((rc = spfs_manifest_push(&out, e, err)))
				goto done;
		} else {
			const spfs_entry *u = &upper->entries[j++];
			if (c == 0)
				i++;
			if (u->kind != SPFS_ENTRY_DIR)
				hide = u->path;
			else if (hide && !path_within(u->path, hide))
				hide = NULL;
			if (u->kind == SPFS_ENTRY_MASK && !keep_masks)
				continue;
			if ((rc = spfs_manifest_push(&out, u, err)))
				goto done;
		}
	}
done:
	if (rc) {
		for (size_t k = 0; k < out.count; k++)
			entry_clear(&out.entries[k]);
		free(out.entries);
		return rc;
	}
	for (size_t k = 0; k < lower->count; k++)
		entry_clear(&lower->entries[k]);
	free(lower->entries);
	*lower = out;
	return 0;
}

static bool entry_same(const spfs_entry *a, const spfs_entry *b)
{
	return a->kind == b->kind && a->mode == b->mode && a->size == b->size &&
	       sp_digest_cmp(&a->digest, &b->digest) == 0;
}

void spfs_manifest_diff(const spfs_manifest *a, const spfs_manifest *b, spfs_diff_cb cb, void *ud)
{
	size_t i = 0, j = 0;
	while (i < a->count || j < b->count) {
		int c;
		if (i >= a->count)
			c = 1;
		else if (j >= b->count)
			c = -1;
		else
			c = spfs_path_cmp(a->entries[i].path, b->entries[j].path);
		if (c < 0) {
			cb(SPFS_DIFF_REMOVED, &a->entries[i++], NULL, ud);
		} else if (c > 0) {
			cb(SPFS_DIFF_ADDED, NULL, &b->entries[j++], ud);
		} else {
			if (!entry_same(&a->entries[i], &b->entries[j]))
				cb(SPFS_DIFF_CHANGED, &a->entries[i], &b->entries[j], ud);
			i++;
			j++;
		}
	}
}
