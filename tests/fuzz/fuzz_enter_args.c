/* fuzz_enter_args.c - spfs_enter__parse (spfs/enter_args.c), the argument
 * parser of the setcap helper, on arbitrary argument vectors: the input is
 * split at NUL bytes into argv[1..]. Whatever it accepts must satisfy the
 * grammar of enter.h (exact-length lowercase hex digests and id, an
 * absolute store, 1..500 lowers, --empty alone, --edit xor --durable, a
 * non-empty command after "--", distinct status and environment fds in
 * 3..1023); whatever it refuses must say why and own
 * nothing. Any violation abort()s. */
#include "spfs/enter.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool lower_hex(const char *s, size_t n)
{
	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	char *buf = malloc(size + 1);
	char **argv = calloc(size + 3, sizeof(*argv));
	if (!buf || !argv)
		abort();
	memcpy(buf, data, size);
	buf[size] = '\0';
	int argc = 0;
	argv[argc++] = "spfs-enter";
	for (size_t i = 0; i <= size;) {
		argv[argc++] = buf + i;
		i += strlen(buf + i) + 1;
	}
	argv[argc] = NULL;
	spfs_enter_args a;
	sp_error err = {0};
	int rc = spfs_enter__parse(&a, argc, argv, &err);
	if (rc) {
		if (err.msg[0] == '\0' || err.code != rc || a.lowers != NULL || a.lower_count != 0)
			abort();
	} else {
		if (!a.store || a.store[0] != '/' || strchr(a.store, '\n') || !a.id ||
		    !lower_hex(a.id, 16))
			abort();
		if (a.lower_count == 0 || a.lower_count > SPFS_ENTER_MAX_LOWERS)
			abort();
		for (size_t i = 0; i < a.lower_count; i++) {
			const spfs_enter_lower *l = &a.lowers[i];
			if (l->kind == 'e'
				? a.lower_count != 1
				: (l->kind != 'r' && l->kind != 'w') || !lower_hex(l->hex, 64))
				abort();
		}
		if ((a.tmpfs_size && a.durable) ||
		    (a.tmpfs_size && !spfs_enter__size_ok(a.tmpfs_size)) ||
		    (a.durable && !spfs_enter__name_ok(a.durable)))
			abort();
		if (a.status_fd != -1 && (a.status_fd < 3 || a.status_fd > 1023))
			abort();
		if (a.env_fd != -1 && (a.env_fd < 3 || a.env_fd > 1023 || a.env_fd == a.status_fd))
			abort();
		if (!a.argv || a.argv <= argv || a.argv >= argv + argc || !a.argv[0] ||
		    !a.argv[0][0] || strcmp(a.argv[-1], "--") != 0)
			abort();
		spfs_enter__args_free(&a);
	}
	free(argv);
	free(buf);
	return 0;
}
