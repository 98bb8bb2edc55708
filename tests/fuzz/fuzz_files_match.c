/* fuzz_files_match.c - component `files` rules (pkg/files_match.c): any
 * rules against any path must answer without crashing or running away.
 * Input: rules one per line, the last line is the path; an odd first
 * byte makes it a directory. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pkg/build_plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	char *text = malloc(size + 1);
	const char **rules = calloc(size + 1, sizeof(*rules));
	if (!text || !rules) {
		free(text);
		free(rules);
		return 0;
	}
	memcpy(text, data, size);
	text[size] = '\0';
	size_t n = 0;
	char *line = text;
	for (char *nl; (nl = strchr(line, '\n')); line = nl + 1) {
		*nl = '\0';
		rules[n++] = line;
	}
	bool is_dir = size && (data[0] & 1);
	bool a = pkg__files_match(rules, n, line, is_dir);
	bool b = pkg__files_match(rules, n, line, is_dir);
	if (a != b)
		abort(); /* the answer depends on nothing else */
	free(rules);
	free(text);
	return 0;
}
