/* fuzz_config.c - the configuration files (common/config.c): the checks of
 * keys and shapes on top of the YAML tree, and the lookups. Each input is
 * written to a file named by $SPAWN_CONFIG and read as a command reads it. */
#include "common/common.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	if (!path[0]) {
		snprintf(path, sizeof(path), "/tmp/spawn-fuzz-config-%d.yaml", (int)getpid());
		setenv("SPAWN_CONFIG", path, 1);
		sp_log_set_level(SP_LOG_ERROR); /* unknown keys: no warning flood */
	}
	sp_error err = {0};
	FILE *f = fopen(path, "w");
	if (!f || fwrite(data, 1, size, f) != size || fclose(f))
		abort(); /* the harness itself failed */
	sp_config_reset();
	static const char *const keys[] = {"storage", "spfs.storage", "spfs.runtime.mode",
					   "spfs.runtime.tmpfs_size", "a.b"};
	int load = sp_config_load(&err);
	if (load && (err.msg[0] == '\0' || (load != SP_ECONFIG && load != SP_ENOMEM)))
		abort(); /* a bad file is SP_ECONFIG and says why */
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char *v = NULL;
		int rc = sp_config_get(&v, keys[i], &err);
		if (rc && err.msg[0] == '\0')
			abort();
		if (!rc && v && strlen(v) > size)
			abort(); /* a value comes from the file */
		free(v);
	}
	unlink(path);
	return 0;
}
