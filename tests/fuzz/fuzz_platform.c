/* fuzz_platform.c - spfs_platform_decode on untrusted bytes; a decoded
 * platform must re-encode to exactly the input or we abort(). */
#include "spfs/spfs.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sp_error err = {0};
	spfs_platform *p = NULL;
	int rc = spfs_platform_decode(&p, data, size, &err);
	if (rc) {
		if (p != NULL || err.msg[0] == '\0' || rc != err.code)
			abort();
		return 0;
	}
	if (p->count && !p->layers)
		abort();
	sp_buf out = {0};
	if (spfs_platform_encode(p, &out, &err))
		abort();
	if (out.len != size || memcmp(out.data, data, size) != 0)
		abort();
	sp_buf_free(&out);
	spfs_platform_free(p);
	return 0;
}
