/* fuzz_layer.c - spfs_layer_decode on untrusted bytes; a decoded layer must
 * re-encode to exactly the input (canonical encoding) or we abort(). */
#include "spfs/spfs.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sp_error err = {0};
	spfs_layer *l = NULL;
	int rc = spfs_layer_decode(&l, data, size, &err);
	if (rc) {
		if (l != NULL || err.msg[0] == '\0' || rc != err.code)
			abort();
		return 0;
	}
	for (size_t i = 0; i < l->annotation_count; i++) {
		if (!l->annotations[i].key || !l->annotations[i].value || !l->annotations[i].key[0])
			abort();
		if (i > 0 && strcmp(l->annotations[i - 1].key, l->annotations[i].key) >= 0)
			abort();
	}
	sp_buf out = {0};
	if (spfs_layer_encode(l, &out, &err))
		abort();
	if (out.len != size || memcmp(out.data, data, size) != 0)
		abort();
	sp_buf_free(&out);
	spfs_layer_free(l);
	return 0;
}
