/* fuzz_validation.c - build.validation rules (pkg/validation.c): any YAML
 * document gives rules or a clean error, and judging an empty build with
 * the rules never crashes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pkg/build_plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	solver_arena *a = NULL;
	sp_error e = {0};
	if (solver_arena_new(&a, &e))
		return 0;
	pkg_limits lim = pkg_limits_default;
	lim.max_depth = 32;
	lim.max_nodes = 20000;
	pkg__ynode **docs = NULL;
	size_t n = 0;
	if (pkg__yaml_load(&docs, &n, a, (const char *)data, size, "fuzz.yaml", &lim, &e) == 0 &&
	    n > 0) {
		pkg__validation v;
		if (pkg__validation_parse(&v, a, docs[0], "fuzz.yaml", &e) == 0) {
			pkg__env_files f = {0};
			pkg__env_files_finish(&f);
			spfs_manifest *m = calloc(1, sizeof(*m));
			if (m) {
				(void)pkg__validate_build(&v, "fuzz", &f, m, false, &e);
				spfs_manifest_free(m);
			}
		}
	}
	solver_arena_free(a);
	return 0;
}
