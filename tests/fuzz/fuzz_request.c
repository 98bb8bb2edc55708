/* fuzz_request.c - package, var and command-line requests (solver/). */
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
	solver_request r;
	if (solver_request_parse(&r, a, s, size, SOLVER_COMPAT_BINARY, NULL, &e) == 0) {
		sp_buf b = {0};
		if (solver_request_format(&r, &b, &e) == 0 && b.data) {
			solver_request r2;
			if (solver_request_parse(&r2, a, b.data, b.len, SOLVER_COMPAT_BINARY, NULL,
						 &e) != 0 ||
			    strcmp(r2.name, r.name))
				abort();
		}
		sp_buf_free(&b);
	}
	(void)solver_request_parse_var(&r, a, s, size, NULL, &e);
	char *z = malloc(size + 1);
	if (z) {
		memcpy(z, data, size);
		z[size] = '\0';
		(void)solver_request_parse_cli(&r, a, z, NULL, &e);
		free(z);
	}
	solver_arena_free(a);
	return 0;
}
