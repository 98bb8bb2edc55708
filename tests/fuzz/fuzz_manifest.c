/* fuzz_manifest.c - spfs_manifest_decode on untrusted bytes.
 *
 * A manifest that decodes must re-encode to exactly the input bytes (the
 * encoding is canonical), and every decoded entry must satisfy the
 * invariants the rest of spfs relies on; overlaying it onto a small tree
 * must give a valid tree. Violations abort() so libFuzzer and the
 * standalone driver both report them. */
#include "spfs/spfs.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void count_diff(spfs_diff_op op, const spfs_entry *a, const spfs_entry *b, void *ud)
{
	(void)op;
	(void)a;
	(void)b;
	++*(size_t *)ud;
}

static void push(spfs_manifest *m, spfs_entry_kind kind, const char *path, uint32_t mode)
{
	sp_error err = {0};
	spfs_entry e = {.kind = kind, .path = (char *)path, .mode = mode};
	if (spfs_manifest_push(m, &e, &err))
		abort();
}

/* Overlaying a valid manifest onto a valid lower tree gives a valid tree:
 * it encodes and decodes again, and every upper entry is in it. */
static void check_overlay(const spfs_manifest *upper, bool keep_masks)
{
	spfs_manifest *lower = calloc(1, sizeof(*lower));
	if (!lower)
		abort();
	push(lower, SPFS_ENTRY_DIR, "a", 0755);
	push(lower, SPFS_ENTRY_FILE, "a/a", 0644);
	push(lower, SPFS_ENTRY_DIR, "a/b", 0755);
	push(lower, SPFS_ENTRY_FILE, "a/b/c", 0755);
	push(lower, SPFS_ENTRY_FILE, "b", 0644);
	push(lower, SPFS_ENTRY_DIR, "d", 0755);
	push(lower, SPFS_ENTRY_FILE, "d/x", 0644);
	sp_error err = {0};
	if (spfs_manifest_overlay(lower, upper, keep_masks, &err))
		abort();
	sp_buf b = {0};
	spfs_manifest *again = NULL;
	if (spfs_manifest_encode(lower, &b, &err) ||
	    spfs_manifest_decode(&again, b.data, b.len, &err))
		abort();
	for (size_t i = 0; i < upper->count; i++) {
		const spfs_entry *u = &upper->entries[i];
		const spfs_entry *r = spfs_manifest_find(again, u->path);
		if (u->kind == SPFS_ENTRY_MASK && !keep_masks) {
			if (r)
				abort();
		} else if (!r || r->kind != u->kind) {
			abort();
		}
	}
	sp_buf_free(&b);
	spfs_manifest_free(again);
	spfs_manifest_free(lower);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sp_error err = {0};
	spfs_manifest *m = NULL;
	int rc = spfs_manifest_decode(&m, data, size, &err);
	if (rc) {
		/* Failures are reported, never silent, and never leak. */
		if (m != NULL || err.msg[0] == '\0' || rc != err.code)
			abort();
		return 0;
	}
	for (size_t i = 0; i < m->count; i++) {
		const spfs_entry *e = &m->entries[i];
		if (!e->path || !e->path[0] || e->path[0] == '/')
			abort();
		if (i > 0 && spfs_path_cmp(m->entries[i - 1].path, e->path) >= 0)
			abort();
		if (spfs_manifest_find(m, e->path) != e)
			abort();
		if ((e->kind == SPFS_ENTRY_SYMLINK) != (e->target != NULL))
			abort();
		if (e->target && strlen(e->target) != e->size)
			abort();
	}
	sp_buf out = {0};
	if (spfs_manifest_encode(m, &out, &err))
		abort();
	if (out.len != size || (size && memcmp(out.data, data, size) != 0))
		abort();
	sp_buf_free(&out);
	check_overlay(m, true);
	check_overlay(m, false);
	size_t changes = 0;
	spfs_manifest_diff(m, m, count_diff, &changes);
	if (changes)
		abort();
	spfs_manifest_free(m);
	return 0;
}
