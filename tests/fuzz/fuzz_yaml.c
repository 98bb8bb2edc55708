/* fuzz_yaml.c - the bounded YAML tree used for configuration files. */
#include "common/common.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sp_error err = {0};
	sp_yaml_node *doc = NULL;
	if (sp_yaml_parse(&doc, (const char *)data, size, "fuzz.yaml", &err) == 0) {
		sp_yaml_lookup(doc, "spfs.storage");
		sp_yaml_lookup(doc, "a.b.c.d");
		sp_yaml_free(doc);
	} else if (err.msg[0] == '\0') {
		abort(); /* every failure must say what was wrong */
	}
	return 0;
}
