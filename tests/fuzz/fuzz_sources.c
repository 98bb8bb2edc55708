/* fuzz_sources.c - source package checks (pkg/source.c) on arbitrary
 * bytes: the path and link checkers, the gitignore-like matcher, and the
 * tar member checks over whatever libarchive reads from the input. */
#include <stdint.h>
#include <stdlib.h>

#include "pkg/pkg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int pkg__source_fuzz(const unsigned char *data, size_t size); /* pkg/source.c, internal */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	(void)pkg__source_fuzz(data, size);
	return 0;
}
