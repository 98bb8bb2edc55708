/* enter_args.c - the argument parser of spfs-enter (grammar in enter.h),
 * and the small checks it shares with spfs_mount (sizes, fsopen logs).
 *
 * The helper runs with capabilities, so this is strict: every option at
 * most once (lowers excepted), every value checked in full, no abbreviation,
 * no environment (no getopt, which reads POSIXLY_CORRECT), nothing after an
 * error. Digests and ids are lowercase hex of exact length, so no value can
 * name a path component other than the one the helper builds. */
#include "enter.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool hex_ok(const char *s, size_t len)
{
	if (strlen(s) != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

bool spfs_enter__size_ok(const char *s)
{
	size_t n = strlen(s), digits = strspn(s, "0123456789");
	if (digits == 0 || digits > 12)
		return false;
	if (n == digits)
		return true;
	return n == digits + 1 && strchr("kKmMgG%", s[digits]);
}

bool spfs_enter__name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 64 || name[0] == '.' || name[0] == '-')
		return false;
	return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
	       n;
}

void spfs_enter__args_free(spfs_enter_args *a)
{
	free(a->lowers);
	a->lowers = NULL;
	a->lower_count = 0;
}

/* A descriptor number 3..1023 in decimal, or -1. */
static int fd_number(const char *v)
{
	char *end = NULL;
	long n = strtol(v, &end, 10);
	if (v[0] < '0' || v[0] > '9' || *end || n < 3 || n > 1023)
		return -1;
	return (int)n;
}

/* A value for option argv[i]; NULL when there is none. */
static const char *value(int argc, char **argv, int i)
{
	return i + 1 < argc && argv[i + 1] ? argv[i + 1] : NULL;
}

int spfs_enter__parse(spfs_enter_args *out, int argc, char **argv, sp_error *err)
{
	memset(out, 0, sizeof(*out));
	out->status_fd = -1;
	out->env_fd = -1;
	if (argc < 1 || argc > SPFS_ENTER_MAX_ARGS)
		return sp_error_set(err, SP_EINVALID, "%d arguments", argc);
	out->lowers = calloc(SPFS_ENTER_MAX_LOWERS, sizeof(*out->lowers));
	if (!out->lowers)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	bool have_status = false, empty = false;
	int i = 1;
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (!a)
			break;
		if (strcmp(a, "--") == 0)
			break;
		if (strncmp(a, "--", 2) != 0) {
			sp_error_set(err, SP_EINVALID, "the command must follow '--' (got '%.40s')",
				     a);
			goto fail;
		}
		const char *v = value(argc, argv, i);
		if (strcmp(a, "--empty") == 0) {
			if (out->lower_count == SPFS_ENTER_MAX_LOWERS)
				goto too_many;
			out->lowers[out->lower_count++].kind = 'e';
			empty = true;
			continue;
		}
		if (!v) {
			sp_error_set(err, SP_EINVALID, "'%.40s' needs a value", a);
			goto fail;
		}
		i++;
		if (strcmp(a, "--render") == 0 || strcmp(a, "--masks") == 0) {
			if (!hex_ok(v, 64)) {
				sp_error_set(
				    err, SP_EINVALID,
				    "%s '%.80s' is not a digest (64 lowercase hex characters)", a,
				    v);
				goto fail;
			}
			if (out->lower_count == SPFS_ENTER_MAX_LOWERS)
				goto too_many;
			spfs_enter_lower *l = &out->lowers[out->lower_count++];
			l->kind = a[2] == 'r' ? 'r' : 'w';
			memcpy(l->hex, v, 65);
		} else if (strcmp(a, "--status-fd") == 0 || strcmp(a, "--env-fd") == 0) {
			bool status = a[2] == 's';
			int n = fd_number(v);
			if ((status ? have_status : out->env_fd >= 0) || n < 0 ||
			    n == (status ? out->env_fd : out->status_fd)) {
				sp_error_set(err, SP_EINVALID,
					     "%s '%.20s' is not 3..1023 (once, and not the other "
					     "descriptor)",
					     a, v);
				goto fail;
			}
			*(status ? &out->status_fd : &out->env_fd) = n;
			have_status = have_status || status;
		} else if (strcmp(a, "--store") == 0) {
			if (out->store || v[0] != '/' || strlen(v) >= PATH_MAX || strchr(v, '\n')) {
				sp_error_set(err, SP_EINVALID,
					     "--store '%.80s' is not an absolute path (once)", v);
				goto fail;
			}
			out->store = v;
		} else if (strcmp(a, "--id") == 0) {
			if (out->id || !hex_ok(v, 16)) {
				sp_error_set(
				    err, SP_EINVALID,
				    "--id '%.40s' is not a runtime id (16 lowercase hex, once)", v);
				goto fail;
			}
			out->id = v;
		} else if (strcmp(a, "--edit") == 0) {
			if (out->tmpfs_size || out->durable || !spfs_enter__size_ok(v)) {
				sp_error_set(
				    err, SP_EINVALID,
				    "--edit '%.40s' is not a size (N, N[kmg], N%%; once, not "
				    "with --durable)",
				    v);
				goto fail;
			}
			out->tmpfs_size = v;
		} else if (strcmp(a, "--durable") == 0) {
			if (out->tmpfs_size || out->durable || !spfs_enter__name_ok(v)) {
				sp_error_set(
				    err, SP_EINVALID,
				    "--durable '%.80s' is not a durable runtime name (once, not "
				    "with --edit)",
				    v);
				goto fail;
			}
			out->durable = v;
		} else {
			sp_error_set(err, SP_EINVALID, "unknown argument '%.40s'", a);
			goto fail;
		}
	}
	if (i >= argc || !argv[i] || strcmp(argv[i], "--") != 0) {
		sp_error_set(err, SP_EINVALID, "the command must follow '--'");
		goto fail;
	}
	if (i + 1 >= argc || !argv[i + 1] || !argv[i + 1][0]) {
		sp_error_set(err, SP_EINVALID, "no command after '--'");
		goto fail;
	}
	if (!out->store || !out->id) {
		sp_error_set(err, SP_EINVALID, "--store and --id are required");
		goto fail;
	}
	if (out->lower_count == 0 || (empty && out->lower_count != 1)) {
		sp_error_set(err, SP_EINVALID, "no lower layer (or --empty with others)");
		goto fail;
	}
	out->argv = argv + i + 1;
	return 0;
too_many:
	sp_error_set(err, SP_EINVALID, "more than %u lower layers", SPFS_ENTER_MAX_LOWERS);
fail:
	spfs_enter__args_free(out);
	return err->code ? err->code : SP_EINVALID;
}

void spfs_enter__fs_log(int fsfd, char *buf, size_t n)
{
	buf[0] = '\0';
	size_t used = 0;
	for (;;) {
		char line[512];
		ssize_t r = read(fsfd, line, sizeof(line) - 1);
		if (r <= 0)
			break;
		line[r] = '\0';
		if (line[r - 1] == '\n')
			line[r - 1] = '\0';
		/* "e overlay: ..." -> "overlay: ..." */
		const char *msg = (r > 2 && line[1] == ' ') ? line + 2 : line;
		int w = snprintf(buf + used, n - used, "%s%s", used ? "; " : "", msg);
		if (w < 0 || (size_t)w >= n - used)
			break;
		used += (size_t)w;
	}
}
