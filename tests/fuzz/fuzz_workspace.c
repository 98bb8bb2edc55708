/* fuzz_workspace.c - workspace files (pkg/workspace.c): any bytes parse or
 * fail with a message; brace expansion stays within its bound. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pkg/workspace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	if (!quiet) {
		sp_log_set_level(SP_LOG_ERROR);
		quiet = 1;
	}
	sp_error e = {0};
	pkg__workspace *w = NULL;
	int rc = pkg__workspace_read(&w, (const char *)data, size, "fuzz.yaml", &e);
	if (rc && e.msg[0] == '\0')
		abort(); /* every failure says why */
	if (!rc) {
		const char *const *v;
		size_t n;
		(void)pkg__workspace_wants(w, "packages/a/b.spk.yaml", &v, &n);
		if (n > 10000)
			abort();
	}
	pkg__workspace_free(w);
	/* the text as one brace pattern */
	if (size < 512) {
		char *s = strndup((const char *)data, size);
		solver_arena *a = NULL;
		if (s && !solver_arena_new(&a, &e)) {
			const char **v;
			size_t n = 0;
			if (!pkg__workspace_expand(&v, &n, a, s, &e) && n > 10000)
				abort();
		}
		solver_arena_free(a);
		free(s);
	}
	return 0;
}
