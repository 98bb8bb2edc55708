/* fuzz_template.c - spec templates (pkg/template.c): any bytes render or
 * fail with a message, within the limits (depth, iterations, output). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pkg/template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const solver_opt opts[] = {{"version", "1.2.3"}, {"python.abi", "cp39"}};
	static const char *const env[] = {"HOME=/h", NULL};
	pkg__template_limits lim = pkg__template_limits_default;
	lim.max_output = 1 << 16;
	lim.max_iters = 5000;
	lim.max_memory = 4 << 20;
	lim.max_depth = 32;
	pkg__tvars v = {.opts = opts, .nopts = 2, .env = env};
	sp_buf b = {0};
	sp_error e = {0};
	int rc = pkg__template_render(&b, (const char *)data, size, "fuzz.spk.yaml", &v, &lim, &e);
	if (rc && e.msg[0] == '\0')
		abort(); /* every failure says why */
	if (!rc && b.len > lim.max_output)
		abort();
	if (!rc && !pkg__template_is((const char *)data, size) &&
	    (b.len != size || (size && memcmp(b.data, data, size))))
		abort(); /* text without a tag renders to itself */
	sp_buf_free(&b);
	return 0;
}
