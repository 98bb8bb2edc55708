/* fuzz_spec.c - the spec loader (pkg/): YAML of any shape, bad UTF-8,
 * deep nesting and truncated documents must give a clean error. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pkg/pkg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	if (!quiet) {
		sp_log_set_level(SP_LOG_ERROR);
		quiet = 1;
	}
	solver_arena *a = NULL;
	sp_error e = {0};
	if (solver_arena_new(&a, &e))
		return 0;
	pkg_limits lim = pkg_limits_default;
	lim.max_depth = 32;
	lim.max_nodes = 20000;
	pkg_spec **specs = NULL;
	size_t n = 0;
	int rc = pkg_spec_parse(&specs, &n, a, (const char *)data, size, "fuzz.yaml", &lim, &e);
	if (rc == 0) {
		for (size_t i = 0; i < n; i++)
			if (!specs[i]->build.name || !specs[i]->build.build ||
			    specs[i]->build.ncomponents < 2)
				abort();
	} else if (e.msg[0] == '\0') {
		abort(); /* every failure says why */
	}
	solver_arena_free(a);
	return 0;
}
