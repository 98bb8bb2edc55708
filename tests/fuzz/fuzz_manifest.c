/* fuzz_manifest.c - spfs_manifest_decode on untrusted bytes.
 *
 * A manifest that decodes must re-encode to exactly the input bytes (the
 * encoding is canonical), and every decoded entry must satisfy the
 * invariants the rest of spfs relies on. Violations abort() so libFuzzer
 * and the standalone driver both report them. */
#include "spfs/spfs.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
	spfs_manifest_free(m);
	return 0;
}
