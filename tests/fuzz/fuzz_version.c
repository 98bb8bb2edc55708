/* fuzz_version.c - versions, compat strings and ranges (solver/). Every
 * input must give a clean result or a clean error; parsed versions must
 * format to text that parses back to an equal version. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "solver/solver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	solver_arena *a = NULL;
	sp_error e = {0};
	if (solver_arena_new(&a, &e))
		return 0;
	const char *s = (const char *)data;
	solver_version v;
	if (solver_version_parse(&v, a, s, size, NULL, &e) == 0) {
		sp_buf b = {0};
		if (solver_version_format(&v, &b, &e) == 0 && b.data) {
			solver_version w;
			if (solver_version_parse(&w, a, b.data, b.len, NULL, &e) != 0 ||
			    solver_version_cmp(&v, &w) != 0)
				abort();
		}
		sp_buf_free(&b);
	}
	solver_compat c;
	if (solver_compat_parse(&c, a, s, size, NULL, &e) == 0) {
		sp_buf b = {0};
		if (solver_compat_format(&c, &b, &e) != 0)
			abort();
		sp_buf_free(&b);
	}
	solver_range r;
	if (solver_range_parse(&r, a, s, size, NULL, &e) == 0) {
		solver_version probe;
		if (solver_version_parse(&probe, a, "1.2.3", 5, NULL, &e) == 0) {
			(void)solver_range_allows(&r, &probe, c.nparts ? &c : NULL,
						  SOLVER_COMPAT_API, NULL, 0);
			(void)solver_range_allows(&r, &probe, NULL, SOLVER_COMPAT_BINARY, NULL, 0);
		}
		sp_buf b = {0};
		if (solver_range_format(&r, &b, &e) == 0 && b.data) {
			solver_range r2;
			if (solver_range_parse(&r2, a, b.data, b.len, NULL, &e) != 0)
				abort();
		}
		sp_buf_free(&b);
	}
	solver_arena_free(a);
	return 0;
}
