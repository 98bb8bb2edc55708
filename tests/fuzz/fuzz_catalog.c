/* fuzz_catalog.c - one catalog file (catalog/level.c): the first byte
 * chooses facility or lower level, the rest is the file's text. Every
 * failure must say what was wrong. */
#include "catalog/catalog.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	catalog__fuzz_level((const char *)data + 1, size - 1, data[0] & 1);
	return 0;
}
