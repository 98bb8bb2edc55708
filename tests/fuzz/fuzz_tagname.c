/* fuzz_tagname.c - spfs_tag_name_check on arbitrary names: it agrees with
 * spfs_tag_name_valid, refusals say why, and every accepted name keeps the
 * one limit the walks of tags/ rely on (parts, part length, total length,
 * characters). Any violation abort()s. */
#include "spfs/spfs.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("._-+,=@", c) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *name = malloc(size + 1);
	if (!name)
		return 0;
	memcpy(name, data, size);
	name[size] = '\0';
	sp_error err = {0};
	int rc = spfs_tag_name_check(name, &err);
	bool valid = spfs_tag_name_valid(name);
	if ((rc == 0) != valid || (rc && (rc != SP_EINVALID || err.msg[0] == '\0')))
		abort();
	if (valid) {
		size_t len = strlen(name), parts = 0, start = 0;
		if (len == 0 || len > SPFS_MAX_TAG_NAME)
			abort();
		for (size_t i = 0; i <= len; i++) {
			if (i < len && name[i] != '/') {
				if (!name_char(name[i]))
					abort();
				continue;
			}
			size_t n = i - start;
			if (n == 0 || n > SPFS_MAX_TAG_PART || name[start] == '.' ||
			    (n >= 4 && !memcmp(name + i - 4, ".tag", 4)))
				abort();
			parts++;
			start = i + 1;
		}
		if (parts > SPFS_MAX_TAG_DEPTH)
			abort();
	}
	free(name);
	return 0;
}
