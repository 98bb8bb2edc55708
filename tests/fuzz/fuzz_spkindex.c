/* fuzz_spkindex.c - the SpFS package repository's index decoder, document
 * cutter and deprecation edit (pkg/repo.c) on arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pkg/pkg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int pkg_repo__fuzz(const char *text, size_t len); /* pkg/repo.c, internal */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	if (!quiet) {
		sp_log_set_level(SP_LOG_ERROR);
		quiet = 1;
	}
	(void)pkg_repo__fuzz((const char *)data, size);
	return 0;
}
