/* fuzz_lplug.c - random text as a Lua plugin (plugins/lua): loaded in the
 * sandbox and each hook called with a fixed target; whatever the text
 * does, the sandbox returns (limits small so each input stays quick). */
#include "plugins/lua/lplug.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (lplug__fuzz((const char *)data, size) < 0)
		abort(); /* a failure without a message */
	return 0;
}
