/* spk_repo.c - the spk commands over package repositories stored in SpFS:
 * publish, ls, info, deprecate, undeprecate, remove. Argument parsing and
 * output only; the work is in pkg/repo.c. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/help.h"
#include "common/common.h"
#include "pkg/pkg.h"
#include "solver/solver.h"
#include "spfs/spfs.h"

int spk_repo_command(int argc, char **argv);
int spk_exit_for(int code);

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* The command's usage from cli/spk_help.c. */
static void print_usage(FILE *f, const char *cmd)
{
	const cli_cmd *c = cli_help_find(&spk_help, cmd);
	if (c)
		cli_help_print(f, &spk_help, c);
}

typedef struct args {
	const char *cmd;
	const char *store;
	const char *to;
	bool json, force, allow_builds, make_missing, offline, no_host, here;
	char **pos;
	int npos;
	int variant;	  /* --variant N (build), -1 when not given */
	solver_opt *opts; /* owned; --opt NAME=VALUE (build), as many as given */
	size_t nopts;
	char **cmd_argv; /* after "--" (env) */
	int cmd_argc;
} args;

static int parse_args(args *a, int argc, char **argv, int *exit_code)
{
	static const struct option longopts[] = {
	    {"store", required_argument, NULL, 's'},  {"repo", required_argument, NULL, 's'},
	    {"to", required_argument, NULL, 't'},     {"json", no_argument, NULL, 'J'},
	    {"force", no_argument, NULL, 'f'},	      {"verbose", no_argument, NULL, 'v'},
	    {"quiet", no_argument, NULL, 'q'},	      {"help", no_argument, NULL, 'h'},
	    {"opt", required_argument, NULL, 'o'},    {"variant", required_argument, NULL, 'V'},
	    {"allow-builds", no_argument, NULL, 'B'}, {"make-missing", no_argument, NULL, 'M'},
	    {"offline", no_argument, NULL, 'O'},      {"no-host", no_argument, NULL, 'H'},
	    {"here", no_argument, NULL, 'E'},	      {NULL, 0, NULL, 0},
	};
	a->cmd = argv[0];
	a->variant = -1;
	if (!(a->opts = calloc((size_t)argc, sizeof(*a->opts)))) {
		sp_eprintf("spk %s: out of memory\n", a->cmd);
		*exit_code = EXIT_FAIL;
		return -1;
	}
	/* everything after "--" is the command (spk env) */
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--")) {
			a->cmd_argv = argv + i + 1;
			a->cmd_argc = argc - i - 1;
			argc = i;
			break;
		}
	int c, verbosity = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "s:r:t:o:fvqh", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
		case 'r': a->store = optarg; break;
		case 't': a->to = optarg; break;
		case 'J': a->json = true; break;
		case 'B': a->allow_builds = true; break;
		case 'M': a->make_missing = true; break;
		case 'O': a->offline = true; break;
		case 'H': a->no_host = true; break;
		case 'E': a->here = true; break;
		case 'f': a->force = true; break;
		case 'V': {
			char *end;
			errno = 0;
			long v = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || v < 0 || v > 10000) {
				sp_eprintf("spk %s: --variant expects a number, got '%s'\n", a->cmd,
					   optarg);
				*exit_code = EXIT_USAGE;
				return -1;
			}
			a->variant = (int)v;
			break;
		}
		case 'o': {
			char *eq = strchr(optarg, '=');
			if (!eq || eq == optarg) {
				sp_eprintf("spk %s: --opt expects NAME=VALUE, got '%s'\n", a->cmd,
					   optarg);
				*exit_code = EXIT_USAGE;
				return -1;
			}
			*eq = '\0';
			a->opts[a->nopts++] = (solver_opt){optarg, eq + 1};
			break;
		}
		case 'v': verbosity++; break;
		case 'q': verbosity--; break;
		case 'h':
			print_usage(stdout, a->cmd);
			*exit_code = EXIT_OK;
			return -1;
		default:
			print_usage(stderr, a->cmd);
			*exit_code = EXIT_USAGE;
			return -1;
		}
	}
	sp_error err = {0};
	if (sp_log_init(verbosity, &err) || sp_config_load(&err)) {
		sp_error_print(stderr, "spk", &err);
		*exit_code = err.code == SP_ENOMEM ? EXIT_FAIL : EXIT_USAGE;
		return -1;
	}
	a->pos = argv + optind;
	a->npos = argc - optind;
	bool json_ok = !strcmp(a->cmd, "ls") || !strcmp(a->cmd, "info");
	/* --opt: a recipe's option values, and the `opt` of spec templates */
	bool opt_ok = !strcmp(a->cmd, "build") || !strcmp(a->cmd, "env") ||
		      !strcmp(a->cmd, "lint") || !strcmp(a->cmd, "publish") ||
		      !strcmp(a->cmd, "make-source") || !strcmp(a->cmd, "explain");
	bool force_ok =
	    !strcmp(a->cmd, "publish") || !strcmp(a->cmd, "remove") || !strcmp(a->cmd, "build");
	const char *bad =
	    a->json && !json_ok							   ? "--json"
	    : a->force && !force_ok						   ? "--force"
	    : a->to && strcmp(a->cmd, "publish")				   ? "--to"
	    : a->nopts && !opt_ok && strcmp(a->cmd, "test")			   ? "--opt"
	    : a->variant >= 0 && strcmp(a->cmd, "build") && strcmp(a->cmd, "test") ? "--variant"
	    : a->here && strcmp(a->cmd, "test")					   ? "--here"
	    : a->make_missing && strcmp(a->cmd, "env") ? "--make-missing"
	    : a->offline && strcmp(a->cmd, "env") && strcmp(a->cmd, "build") &&
		    strcmp(a->cmd, "make-source")
		? "--offline"
	    : a->no_host && strcmp(a->cmd, "build") && strcmp(a->cmd, "test") ? "--no-host"
	    : a->allow_builds && strcmp(a->cmd, "env") && strcmp(a->cmd, "explain")
		? "--allow-builds"
	    : a->cmd_argv && strcmp(a->cmd, "env") ? "--"
						   : NULL;
	if (bad) {
		sp_eprintf("spk %s: %s is not an option of this command\n", a->cmd, bad);
		*exit_code = EXIT_USAGE;
		return -1;
	}
	if (a->offline)
		pkg_sources_set_offline(true);
	return 0;
}

/* docs/spk.md's exit status of an error (spk solve uses it too): 2 for bad
 * usage or bad input (a malformed spec, request or configuration, a source
 * that cannot be fetched: SP_ERROR is what a source or tool the user named
 * reports), else 1 (not found, refused, no solution, I/O, out of memory). */
int spk_exit_for(int code)
{
	switch (code) {
	case SP_EINVALID:
	case SP_ECONFIG:
	case SP_EAMBIGUOUS:
	case SP_ERROR: return EXIT_USAGE;
	default: return EXIT_FAIL;
	}
}

/* Prints the error whole (chain and detail) and returns its exit status. */
static int fail(const args *a, const sp_error *err)
{
	char who[64];
	snprintf(who, sizeof(who), "spk %s", a->cmd);
	sp_error_print(stderr, who, err);
	return spk_exit_for(err->code);
}

static int open_store(spfs_store **out, const char *path, bool create, sp_error *err)
{
	_cleanup_free_ char *p = NULL;
	if (path) {
		if (!strncmp(path, "file://", 7))
			path += 7;
		p = strdup(path);
		if (!p)
			return sp_error_set(err, SP_ENOMEM, "out of memory");
	} else {
		int rc = spfs_default_storage(&p, err);
		if (rc)
			return rc;
	}
	/* spfs_store_open says "no store at P (create one with 'spfs init P')"
	 * as every spfs command does */
	return spfs_store_open(out, p, create, err);
}

static int open_repo(spfs_store **s, pkg_repo **r, const args *a, bool create, sp_error *err)
{
	int rc = open_store(s, a->store, create, err);
	return rc ? rc : pkg_repo_open(r, *s, NULL, NULL, err);
}

/* Reads, renders (with --opt) and parses one spec file named on the
 * command line. */
static int read_spec_file(pkg_specfile **f, const args *a, const char *path)
{
	sp_error err = {0};
	extern char **environ;
	pkg_specfile_opts fo = {
	    .opts = a->opts, .nopts = a->nopts, .env = (const char *const *)environ};
	if (pkg_specfile_read(f, path, &fo, &err)) {
		fail(a, &err);
		return err.code == SP_ENOMEM ? EXIT_FAIL : EXIT_USAGE; /* a file named: input */
	}
	return EXIT_OK;
}

/* ------------------------------------------------------------ publish */

static void on_publish(const char *tag, const sp_digest *d, bool changed, void *ud)
{
	(void)d;
	(void)ud;
	printf("%s %s\n", changed ? "published " : "up to date", tag);
}

static void on_tag(const char *tag, void *ud)
{
	printf("%s %s\n", (const char *)ud, tag);
}

static int cmd_publish(const args *a)
{
	if (a->npos == 0) {
		sp_eprintf("spk publish: nothing to publish\n");
		print_usage(stderr, "publish");
		return EXIT_USAGE;
	}
	sp_error err = {0};
	_cleanup_(spfs_store_freep) spfs_store *s = NULL;
	_cleanup_(pkg_repo_freep) pkg_repo *r = NULL;
	if (a->to) {
		_cleanup_(spfs_store_freep) spfs_store *dst = NULL;
		if (open_repo(&s, &r, a, false, &err) || open_store(&dst, a->to, true, &err))
			return fail(a, &err);
		if (!strcmp(spfs_store_path(s), spfs_store_path(dst))) {
			sp_eprintf("spk publish: --to names the source store itself\n");
			return EXIT_USAGE;
		}
		for (int i = 0; i < a->npos; i++)
			if (pkg_repo_copy(r, dst, a->pos[i], on_tag, "copied", &err))
				return fail(a, &err);
		return EXIT_OK;
	}
	/* every file must parse before anything is published */
	pkg_specfile **files = calloc((size_t)a->npos, sizeof(*files));
	int ret = EXIT_OK;
	if (!files) {
		sp_eprintf("spk publish: out of memory\n");
		return EXIT_FAIL;
	}
	for (int i = 0; i < a->npos && ret == EXIT_OK; i++)
		ret = read_spec_file(&files[i], a, a->pos[i]);
	if (ret != EXIT_OK)
		goto out;
	if (open_repo(&s, &r, a, false, &err)) { /* only 'spfs init' makes a store */
		ret = fail(a, &err);
		goto out;
	}
	/* the index is written once, after the last file (also after an error:
	 * it must list what was published) */
	pkg_publish_opts po = {.force = a->force, .defer_index = true, .cb = on_publish};
	for (int i = 0; i < a->npos && ret == EXIT_OK; i++)
		if (pkg_repo_publish(r, files[i], &po, &err))
			ret = fail(a, &err);
	if (pkg_repo_write_index(r, &err) && ret == EXIT_OK)
		ret = fail(a, &err);
out:
	for (int i = 0; i < a->npos; i++)
		pkg_specfile_free(files[i]);
	free(files);
	return ret;
}

/* ----------------------------------------------------------------- ls */

typedef struct ver_item {
	const pkg_repo_entry *e;
	solver_version v;
} ver_item;

static int ver_item_cmp(const void *pa, const void *pb)
{
	const ver_item *a = pa, *b = pb;
	int c = solver_version_cmp(&b->v, &a->v);
	if (c)
		return c;
	c = strcmp(a->e->version, b->e->version);
	if (c)
		return c;
	if (!a->e->build || !b->e->build)
		return !a->e->build ? -1 : !b->e->build ? 1 : 0;
	return strcmp(a->e->build, b->e->build);
}

static int cmd_ls(const args *a)
{
	if (a->npos > 1) {
		print_usage(stderr, "ls");
		return EXIT_USAGE;
	}
	sp_error err = {0};
	_cleanup_(spfs_store_freep) spfs_store *s = NULL;
	_cleanup_(pkg_repo_freep) pkg_repo *r = NULL;
	if (open_repo(&s, &r, a, false, &err))
		return fail(a, &err);
	sp_json j;
	if (a->json)
		sp_json_init(&j, stdout, true);
	if (a->npos == 0) {
		if (a->json) {
			sp_json_begin_object(&j);
			sp_json_key(&j, "packages");
			sp_json_begin_array(&j);
		}
		const char *last = NULL;
		for (size_t i = 0; i < pkg_repo_count(r); i++) {
			const pkg_repo_entry *e = pkg_repo_get(r, i);
			if (!e->name || (last && !strcmp(last, e->name)))
				continue;
			last = e->name;
			if (a->json)
				sp_json_string(&j, e->name);
			else
				printf("%s\n", e->name);
		}
		if (a->json) {
			sp_json_end_array(&j);
			sp_json_end_object(&j);
			sp_json_finish(&j);
		}
		return EXIT_OK;
	}
	_cleanup_free_ const pkg_repo_entry **v = NULL;
	size_t n = 0;
	if (pkg_repo_find(&v, &n, r, a->pos[0], &err))
		return fail(a, &err);
	_cleanup_(solver_arena_freep) solver_arena *ar = NULL;
	_cleanup_free_ ver_item *items = calloc(n, sizeof(*items));
	if (!items || solver_arena_new(&ar, &err)) {
		sp_eprintf("spk ls: out of memory\n");
		return EXIT_FAIL;
	}
	for (size_t i = 0; i < n; i++) {
		items[i].e = v[i];
		if (solver_version_parse(&items[i].v, ar, v[i]->version, strlen(v[i]->version),
					 &solver_limits_default, &err))
			return fail(a, &err);
	}
	qsort(items, n, sizeof(*items), ver_item_cmp);
	bool versions = !strchr(a->pos[0], '/');
	if (a->json) {
		sp_json_begin_object(&j);
		sp_json_key(&j, "name");
		sp_json_string(&j, items[0].e->name);
		if (!versions) {
			sp_json_key(&j, "version");
			sp_json_string(&j, items[0].e->version);
		}
		sp_json_key(&j, versions ? "versions" : "specs");
		sp_json_begin_array(&j);
	}
	for (size_t i = 0; i < n; i++) {
		const pkg_repo_entry *e = items[i].e;
		if (versions) {
			if (i && !strcmp(items[i - 1].e->version, e->version))
				continue;
			/* a version is deprecated when its recipe is, or every build */
			bool dep = true, any = false;
			for (size_t k = i; k < n && !strcmp(items[k].e->version, e->version); k++) {
				if (!items[k].e->build) {
					dep = items[k].e->deprecated;
					any = true;
					break;
				}
				dep = dep && items[k].e->deprecated;
				any = true;
			}
			dep = dep && any;
			if (a->json) {
				sp_json_begin_object(&j);
				sp_json_key(&j, "version");
				sp_json_string(&j, e->version);
				sp_json_key(&j, "deprecated");
				sp_json_bool(&j, dep);
				sp_json_end_object(&j);
			} else {
				printf("%s%s\n", e->version, dep ? "  [deprecated]" : "");
			}
			continue;
		}
		if (a->json) {
			sp_json_begin_object(&j);
			sp_json_key(&j, "build");
			if (e->build)
				sp_json_string(&j, e->build);
			else
				sp_json_null(&j);
			sp_json_key(&j, "tag");
			sp_json_string(&j, e->tag);
			sp_json_key(&j, "deprecated");
			sp_json_bool(&j, e->deprecated);
			sp_json_key(&j, "invalid");
			sp_json_bool(&j, e->invalid);
			sp_json_end_object(&j);
		} else {
			printf("%s/%s%s%s%s%s%s\n", e->name, e->version, e->build ? "/" : "",
			       e->build ? e->build : "", e->build ? "" : "  [recipe]",
			       e->deprecated ? "  [deprecated]" : "",
			       e->invalid ? "  [invalid]" : "");
		}
	}
	if (a->json) {
		sp_json_end_array(&j);
		sp_json_end_object(&j);
		sp_json_finish(&j);
	}
	return EXIT_OK;
}

/* --------------------------------------------------------------- info */

typedef struct comp_list {
	spfs_store *s;
	sp_json *j;
	size_t prefix_len;
	size_t n;
} comp_list;

static int on_component(const char *tag, void *ud)
{
	comp_list *c = ud;
	sp_digest d;
	sp_error err = {0};
	char hex[SP_DIGEST_HEX_LEN + 1] = "?";
	if (!spfs_resolve(&d, NULL, c->s, tag, &err))
		sp_digest_to_hex(&d, hex);
	if (c->j) {
		sp_json_key(c->j, tag + c->prefix_len);
		sp_json_string(c->j, hex);
	} else {
		printf("%s%s %s\n", c->n ? "            " : "", tag + c->prefix_len, hex);
	}
	c->n++;
	return 0;
}

static int cmd_info(const args *a)
{
	if (a->npos != 1 || !strchr(a->pos[0], '/')) {
		sp_eprintf("spk info: expected one NAME/VERSION[/BUILD]\n");
		return EXIT_USAGE;
	}
	sp_error err = {0};
	_cleanup_(spfs_store_freep) spfs_store *s = NULL;
	_cleanup_(pkg_repo_freep) pkg_repo *r = NULL;
	if (open_repo(&s, &r, a, false, &err))
		return fail(a, &err);
	_cleanup_free_ const pkg_repo_entry **v = NULL;
	size_t n = 0;
	if (pkg_repo_find(&v, &n, r, a->pos[0], &err))
		return fail(a, &err);
	const pkg_repo_entry *e = NULL;
	bool want_build = strchr(strchr(a->pos[0], '/') + 1, '/') != NULL;
	for (size_t i = 0; i < n && !e; i++)
		if (want_build || !v[i]->build)
			e = v[i];
	if (!e && n == 1)
		e = v[0];
	if (!e) {
		sp_eprintf("spk info: %s has no recipe; name one of its builds:\n", a->pos[0]);
		for (size_t i = 0; i < n; i++)
			sp_eprintf("  %s/%s/%s\n", v[i]->name, v[i]->version, v[i]->build);
		return EXIT_FAIL;
	}
	const pkg_spec *sp = NULL;
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	if (pkg_repo_spec(&sp, r, e, &err) || pkg_repo_spec_text(&text, &len, r, e, &err))
		return fail(a, &err);
	const solver_build *b = &sp->build;
	char hex[SP_DIGEST_HEX_LEN + 1], prefix[SPFS_MAX_TAG_NAME + 1];
	sp_digest_to_hex(&e->spec, hex);
	snprintf(prefix, sizeof(prefix), "spk/pkg/%s/%s/%s/", e->name, e->version,
		 e->build ? e->build : b->build);
	sp_json j;
	comp_list cl = {.s = s, .prefix_len = strlen(prefix)};
	if (a->json) {
		sp_json_init(&j, stdout, true);
		sp_json_begin_object(&j);
		sp_json_key(&j, "name");
		sp_json_string(&j, e->name);
		sp_json_key(&j, "version");
		sp_json_string(&j, e->version);
		sp_json_key(&j, "build");
		if (e->build)
			sp_json_string(&j, e->build);
		else
			sp_json_null(&j);
		sp_json_key(&j, "kind");
		sp_json_string(&j, !e->build ? "recipe" : b->is_source ? "source" : "build");
		sp_json_key(&j, "tag");
		sp_json_string(&j, e->tag);
		sp_json_key(&j, "spec_digest");
		sp_json_string(&j, hex);
		sp_json_key(&j, "deprecated");
		sp_json_bool(&j, b->deprecated);
		sp_json_key(&j, "options");
		sp_json_begin_object(&j);
		for (size_t i = 0; i < b->noptions; i++) {
			sp_json_key(&j, b->options[i].name);
			sp_json_string(&j, b->options[i].value);
		}
		sp_json_end_object(&j);
		sp_json_key(&j, "requirements");
		sp_json_begin_array(&j);
		for (size_t i = 0; i < b->nreqs; i++)
			sp_json_string(&j, b->reqs[i].text);
		sp_json_end_array(&j);
		sp_json_key(&j, "components");
		sp_json_begin_object(&j);
		cl.j = &j;
		if (e->build && spfs_tag_list(s, prefix, on_component, &cl, &err))
			return fail(a, &err);
		sp_json_end_object(&j);
		sp_json_key(&j, "spec");
		sp_json_string_n(&j, text, len);
		sp_json_end_object(&j);
		sp_json_finish(&j);
		return EXIT_OK;
	}
	printf("tag:        %s\n", e->tag);
	printf("spec:       %s\n", hex);
	printf("kind:       %s\n", !e->build	  ? "recipe"
				   : b->is_source ? "source package"
						  : "build");
	printf("deprecated: %s\n", b->deprecated ? "yes" : "no");
	printf("options:    ");
	for (size_t i = 0; i < b->noptions; i++)
		printf("%s%s=%s", i ? ", " : "", b->options[i].name, b->options[i].value);
	printf("%s\n", b->noptions ? "" : "(none)");
	if (e->build) {
		printf("components: ");
		if (spfs_tag_list(s, prefix, on_component, &cl, &err))
			return fail(a, &err);
		if (!cl.n)
			printf("(no layers: a spec-only build)\n");
	}
	printf("---\n");
	fwrite(text, 1, len, stdout);
	return EXIT_OK;
}

/* ------------------------------------------------ deprecate / remove */

static int cmd_deprecate(const args *a, bool deprecated)
{
	if (a->npos == 0) {
		print_usage(stderr, a->cmd);
		return EXIT_USAGE;
	}
	sp_error err = {0};
	_cleanup_(spfs_store_freep) spfs_store *s = NULL;
	_cleanup_(pkg_repo_freep) pkg_repo *r = NULL;
	if (open_repo(&s, &r, a, false, &err))
		return fail(a, &err);
	for (int i = 0; i < a->npos; i++) {
		size_t changed = 0;
		if (pkg_repo_deprecate(r, a->pos[i], deprecated, &changed, &err))
			return fail(a, &err);
		if (changed)
			printf("%s %s (%zu spec%s)\n", deprecated ? "deprecated" : "undeprecated",
			       a->pos[i], changed, changed == 1 ? "" : "s");
		else
			printf("%s was already %s\n", a->pos[i],
			       deprecated ? "deprecated" : "not deprecated");
	}
	return EXIT_OK;
}

static int cmd_remove(const args *a)
{
	if (a->npos == 0) {
		print_usage(stderr, "remove");
		return EXIT_USAGE;
	}
	sp_error err = {0};
	_cleanup_(spfs_store_freep) spfs_store *s = NULL;
	_cleanup_(pkg_repo_freep) pkg_repo *r = NULL;
	if (open_repo(&s, &r, a, false, &err))
		return fail(a, &err);
	for (int i = 0; i < a->npos; i++)
		if (pkg_repo_remove(r, a->pos[i], a->force, on_tag, "removed", &err))
			return fail(a, &err);
	return EXIT_OK;
}

/* ------------------------------------------------------- build / env */

/* This spk's own path (for the build's runtime), else "spk" from PATH. */
static void spk_exe(char *out, size_t n)
{
	ssize_t l = readlink("/proc/self/exe", out, n - 1);
	if (l <= 0 || (size_t)l >= n - 1)
		snprintf(out, n, "spk");
	else
		out[l] = '\0';
}

/* The last lines of a failed build's log, and what a read-only error in
 * them means. */
static void print_failure(const char *what, const char *msg, const pkg_build_result *res)
{
	sp_eprintf("%s: %s\n--- last lines of the log ---\n%s", what, msg, res->tail);
	if (res->tail[0] && res->tail[strlen(res->tail) - 1] != '\n')
		fputc('\n', stderr);
	sp_eprintf("--- full log: %s\n", res->log);
	if (strstr(res->tail, "Read-only file system"))
		sp_eprintf(
		    "(a build script writes only below /spfs, which becomes the package, and "
		    "in its own /tmp, which is discarded; the rest of the host is read-only to "
		    "it)\n");
}

/* The spfs command next to this spk, else "spfs" from PATH. */
static void spfs_exe(char *out, size_t n)
{
	char self[4096];
	ssize_t l = readlink("/proc/self/exe", self, sizeof(self) - 1);
	snprintf(out, n, "spfs");
	if (l <= 0)
		return;
	self[l] = '\0';
	char *sl = strrchr(self, '/');
	if (!sl)
		return;
	*sl = '\0';
	char cand[4200];
	snprintf(cand, sizeof(cand), "%s/spfs", self);
	if (access(cand, X_OK) == 0)
		snprintf(out, n, "%s", cand);
}

static int cmd_make_source(const args *a)
{
	if (a->npos != 1) {
		sp_eprintf("spk make-source: expected one SPEC.yaml\n");
		print_usage(stderr, "make-source");
		return EXIT_USAGE;
	}
	_cleanup_(pkg_specfile_freep) pkg_specfile *f = NULL;
	int ret = read_spec_file(&f, a, a->pos[0]);
	if (ret != EXIT_OK)
		return ret;
	pkg_spec *const *specs = f->specs;
	size_t n = f->nspecs;
	sp_error err = {0};
	_cleanup_(spfs_store_freep) spfs_store *s = NULL;
	_cleanup_(pkg_repo_freep) pkg_repo *r = NULL;
	if (open_repo(&s, &r, a, false, &err))
		return fail(a, &err);
	size_t made = 0;
	for (size_t i = 0; i < n; i++) {
		if (specs[i]->kind != PKG_RECIPE)
			continue;
		pkg_source_result res;
		if (pkg_repo_make_source(&res, r, f, specs[i], true, &err))
			return fail(a, &err);
		char hex[SP_DIGEST_HEX_LEN + 1];
		sp_digest_to_hex(&res.layer, hex);
		printf("%s %s (%zu entr%s, layer %.12s)\n",
		       res.changed ? "published " : "up to date", res.ident, res.files,
		       res.files == 1 ? "y" : "ies", hex);
		made++;
	}
	if (!made) {
		sp_eprintf("spk make-source: %s holds no recipe (pkg: name/version)\n", a->pos[0]);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

static int cmd_build(const args *a)
{
	if (a->npos != 1) {
		sp_eprintf("spk build: expected one SPEC.yaml\n");
		print_usage(stderr, "build");
		return EXIT_USAGE;
	}
	_cleanup_(pkg_specfile_freep) pkg_specfile *f = NULL;
	int ret = read_spec_file(&f, a, a->pos[0]);
	if (ret != EXIT_OK)
		return ret;
	pkg_spec *const *specs = f->specs;
	size_t n = f->nspecs;
	_cleanup_error_ sp_error err = {0}; /* may carry a solve's explanation */
	_cleanup_(spfs_store_freep) spfs_store *s = NULL;
	_cleanup_(pkg_repo_freep) pkg_repo *r = NULL;
	if (open_repo(&s, &r, a, false, &err)) /* no store: an error, as in spfs */
		return fail(a, &err);
	char exe[4096], self[4096];
	spfs_exe(exe, sizeof(exe));
	spk_exe(self, sizeof(self));
	pkg_build_opts bo = {.opts = a->opts,
			     .nopts = a->nopts,
			     .spfs_exe = exe,
			     .spk_exe = self,
			     .force = a->force,
			     .no_host = a->no_host,
			     .make_source = true};
	size_t built = 0;
	for (size_t i = 0, var = 0; i < n; var = 0, i++) {
		if (specs[i]->kind != PKG_RECIPE)
			continue;
	next_variant:
		/* --variant N, else every variant of build.variants, else the defaults */
		bo.variant = a->variant >= 0 ? a->variant : specs[i]->nvariants ? (int)var : -1;
		pkg_build_result res;
		int rc = pkg_repo_build(&res, r, f, specs[i], &bo, &err);
		if (rc) {
			if (res.script_status) {
				print_failure("spk build", err.msg, &res);
				return EXIT_FAIL;
			}
			return fail(a, &err); /* an unsolvable build environment: 1 */
		}
		char vtxt[32] = "";
		if (bo.variant >= 0)
			snprintf(vtxt, sizeof(vtxt), " [variant %d]", bo.variant);
		if (res.skipped)
			printf("already built %s%s (--force rebuilds it)\n", res.ident, vtxt);
		else
			printf("built %s%s (%zu component%s) from %s\n", res.ident, vtxt,
			       res.ncomponents, res.ncomponents == 1 ? "" : "s",
			       res.source[0] ? res.source : "the spec's directory");
		if (res.source_changed)
			printf("published  %s (its sources)\n", res.source);
		if (res.unconfined[0])
			sp_eprintf("spk build: warning: the script of %s ran unconfined (%s)\n",
				   res.ident, res.unconfined);
		built++;
		if (a->variant < 0 && ++var < specs[i]->nvariants)
			goto next_variant;
	}
	if (!built) {
		sp_eprintf("spk build: %s holds no recipe (pkg: name/version)\n", a->pos[0]);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

static void test_started(const char *stage, int variant, size_t index, const char *ident, void *ud)
{
	(void)ud;
	char vtxt[32] = "";
	if (variant >= 0)
		snprintf(vtxt, sizeof(vtxt), " [variant %d]", variant);
	printf("testing %s@%s #%zu%s\n", ident, stage, index, vtxt);
	fflush(stdout);
}

static int cmd_test(const args *a)
{
	if (a->npos < 1) {
		sp_eprintf("spk test: expected SPEC.yaml[@STAGE]\n");
		print_usage(stderr, "test");
		return EXIT_USAGE;
	}
	_cleanup_error_ sp_error err = {0}; /* may carry a solve's explanation */
	_cleanup_(spfs_store_freep) spfs_store *s = NULL;
	_cleanup_(pkg_repo_freep) pkg_repo *r = NULL;
	if (open_repo(&s, &r, a, false, &err))
		return fail(a, &err);
	char here[4096] = "";
	if (a->here && !getcwd(here, sizeof(here))) {
		sp_eprintf("spk test: getcwd: %s\n", strerror(errno));
		return EXIT_FAIL;
	}
	size_t run = 0;
	for (int k = 0; k < a->npos; k++) {
		/* FILE@STAGE */
		char path[4096];
		snprintf(path, sizeof(path), "%s", a->pos[k]);
		unsigned stages = 0;
		char *at = strrchr(path, '@');
		if (at && !strchr(at, '/')) {
			*at++ = '\0';
			stages = !strcmp(at, "sources")	  ? PKG_TEST_SOURCES
				 : !strcmp(at, "build")	  ? PKG_TEST_BUILD
				 : !strcmp(at, "install") ? PKG_TEST_INSTALL
							  : 0;
			if (!stages) {
				fprintf(
				    stderr,
				    "spk test: unknown stage '%s' (sources, build or install)\n",
				    at);
				return EXIT_USAGE;
			}
		}
		_cleanup_(pkg_specfile_freep) pkg_specfile *sf = NULL;
		if (access(path, F_OK) < 0 && strchr(path, '/') && !strstr(path, ".y")) {
			/* NAME/VERSION: the recipe stored in the repository */
			_cleanup_free_ const pkg_repo_entry **ents = NULL;
			size_t ne = 0;
			const pkg_repo_entry *e = NULL;
			if (pkg_repo_find(&ents, &ne, r, path, &err))
				return fail(a, &err);
			for (size_t i = 0; i < ne && !e; i++)
				if (!ents[i]->build)
					e = ents[i];
			if (!e) {
				sp_eprintf("spk test: no recipe of %s in the store\n", path);
				return EXIT_FAIL;
			}
			_cleanup_free_ char *text = NULL;
			size_t len = 0;
			if (pkg_repo_spec_text(&text, &len, r, e, &err) ||
			    pkg_specfile_load(&sf, text, len, e->tag,
					      &(pkg_specfile_opts){.rendered = true}, &err))
				return fail(a, &err);
		} else {
			int ret = read_spec_file(&sf, a, path);
			if (ret != EXIT_OK)
				return ret;
		}
		pkg_test_opts to = {.opts = a->opts,
				    .nopts = a->nopts,
				    .no_host = a->no_host,
				    .variant = a->variant,
				    .stages = stages,
				    .here = a->here ? here : NULL,
				    .cb = test_started};
		for (size_t i = 0; i < sf->nspecs; i++) {
			if (sf->specs[i]->kind != PKG_RECIPE)
				continue;
			pkg_test_result res;
			int rc = pkg_repo_test(&res, r, sf, sf->specs[i], &to, &err);
			run += res.run;
			if (rc == SOLVER_EUNSAT) { /* the chain, then the explanation */
				sp_error_print(stderr, "spk test", &err);
				return EXIT_FAIL;
			}
			if (rc && res.status) {
				sp_eprintf("spk test: %s\n", err.msg);
				return EXIT_FAIL;
			}
			if (rc)
				return fail(a, &err);
		}
	}
	printf("%zu test%s passed\n", run, run == 1 ? "" : "s");
	return EXIT_OK;
}

/* Builds every from-source package of res from its stored recipe with the
 * option values the solve chose. Returns how many were built (0: none to
 * build), or a negative code (messages printed). */
/* The command line's positional requests, parsed into the arena. */
static int parse_requests(solver_request **out, solver_arena *ar, const args *a, sp_error *err)
{
	solver_request *reqs = solver_arena_array(ar, (size_t)a->npos, sizeof(*reqs), err);
	if (!reqs)
		return err->code ? err->code : SP_ENOMEM;
	for (int i = 0; i < a->npos; i++) {
		int rc = solver_request_parse_cli(&reqs[i], ar, a->pos[i], NULL, err);
		if (rc)
			return rc;
	}
	*out = reqs;
	return 0;
}

static int make_missing(pkg_repo *r, const solver_result *res, int round, sp_error *err)
{
	int made = 0, pending = 0;
	char exe[4096], self[4096];
	spfs_exe(exe, sizeof(exe));
	spk_exe(self, sizeof(self));
	for (size_t i = 0; i < solver_result_count(res); i++) {
		const solver_resolved *it = solver_result_get(res, i);
		if (!it->from_source)
			continue;
		pending++;
		const pkg_spec *recipe = pkg_repo_spec_of(r, it->build);
		char v[256], ident[600];
		solver_version_str(&it->build->version, v, sizeof(v));
		snprintf(ident, sizeof(ident), "%s/%s", it->build->name, v);
		_cleanup_free_ const pkg_repo_entry **ents = NULL;
		size_t n = 0;
		const pkg_repo_entry *e = NULL;
		if (recipe && pkg_repo_find(&ents, &n, r, ident, err) == 0)
			for (size_t k = 0; k < n && !e; k++)
				if (!ents[k]->build)
					e = ents[k];
		if (!e) {
			sp_eprintf("spk env: no stored recipe to build %s from\n", ident);
			return SP_ENOTFOUND;
		}
		/* the recipe's text in a scratch directory: the script runs there */
		_cleanup_free_ char *text = NULL;
		size_t len = 0;
		if (pkg_repo_spec_text(&text, &len, r, e, err))
			return err->code;
		char dir[] = "/tmp/spk-make-XXXXXX", file[64];
		if (!mkdtemp(dir))
			return sp_error_errno(err, "mkdtemp");
		snprintf(file, sizeof(file), "%s/spec.yaml", dir);
		FILE *f = fopen(file, "w");
		bool wrote = f && fwrite(text, 1, len, f) == len;
		if (f && fclose(f))
			wrote = false;
		_cleanup_(pkg_specfile_freep) pkg_specfile *sf = NULL;
		int rc = wrote ? 0 : sp_error_errno(err, "writing %s", file);
		if (!rc)
			rc = pkg_specfile_load(&sf, text, len, file,
					       &(pkg_specfile_opts){.rendered = true}, err);
		/* the recipe the stored one came from, for the build's spec */
		const pkg_spec *stored = NULL;
		if (!rc && sf->nspecs == 1 && !(rc = pkg_repo_spec(&stored, r, e, err)))
			sf->specs[0]->build.where = stored->build.where;
		pkg_build_opts bo = {.opts = it->options,
				     .nopts = it->noptions,
				     .spfs_exe = exe,
				     .spk_exe = self,
				     .variant = -1};
		pkg_build_result br = {0};
		if (!rc && sf->nspecs == 1)
			rc = pkg_repo_build(&br, r, sf, sf->specs[0], &bo, err);
		unlink(file);
		rmdir(dir);
		if (rc == SOLVER_EUNSAT && round < 8)
			continue; /* its build environment needs another build first */
		if (rc && br.script_status) {
			print_failure("spk env", err->msg, &br);
			return SP_ERROR;
		}
		if (rc)
			return sp_error_prefix(err, "building %s", ident); /* printed by cmd_env */
		sp_eprintf("spk env: built %s\n", br.ident);
		if (br.unconfined[0])
			sp_eprintf("spk env: warning: the script of %s ran unconfined (%s)\n",
				   br.ident, br.unconfined);
		made++;
	}
	if (pending && !made) {
		sp_eprintf("spk env: cannot build the missing packages (their build environments "
			   "cannot be solved)\n");
		if (err->code) /* the last one's explanation */
			sp_error_print(stderr, "spk env", err);
		return SOLVER_EUNSAT;
	}
	return made;
}

/* What spk env and spk explain start with: the store's repository and the
 * command line's requests, ready to solve. Owned by the struct. */
typedef struct solve_setup {
	spfs_store *s;
	pkg_repo *r;
	solver_arena *ar;
	solver_options so;
} solve_setup;

static void solve_setup_free(solve_setup *x)
{
	solver_arena_free(x->ar);
	pkg_repo_free(x->r);
	spfs_store_free(x->s);
}

/* -1 when x is ready; otherwise the exit status to return. */
static int solve_setup_open(solve_setup *x, const args *a, const char *cmd)
{
	if (a->npos == 0) {
		sp_eprintf("spk %s: no requests given\n", cmd);
		print_usage(stderr, cmd);
		return EXIT_USAGE;
	}
	sp_error err = {0};
	solver_request *reqs = NULL;
	if (open_repo(&x->s, &x->r, a, false, &err) || solver_arena_new(&x->ar, &err) ||
	    parse_requests(&reqs, x->ar, a, &err))
		return fail(a, &err);
	x->so = (solver_options){.repos = pkg_repo_solver(x->r),
				 .nrepos = 1,
				 .requests = reqs,
				 .nrequests = (size_t)a->npos,
				 .opts = a->opts,
				 .nopts = a->nopts,
				 .allow_builds = a->allow_builds};
	return -1;
}

static int cmd_env(const args *a)
{
	_cleanup_(solve_setup_free) solve_setup x = {0};
	int ready = solve_setup_open(&x, a, "env");
	if (ready >= 0)
		return ready;
	_cleanup_error_ sp_error err = {0}; /* may carry a solve's explanation */
	spfs_store *s = x.s;
	pkg_repo *r = x.r;
	solver_options so = x.so;
	_cleanup_(solver_result_freep) solver_result *res = NULL;
	int rc = 0;
	/* with --make-missing: build what the solve plans from source, solve
	 * again; each round must build something (a build's own environment
	 * may need another's build first) */
	for (int round = 0;; round++) {
		solver_result_free(res);
		res = NULL;
		rc = solver_solve(&res, &so, &err);
		if (rc == SOLVER_EUNSAT) {
			sp_fputs_quoted(stderr, solver_result_explanation(res));
			return EXIT_FAIL;
		}
		if (rc)
			return fail(a, &err);
		if (!a->make_missing)
			break;
		int made = make_missing(r, res, round, &err);
		if (made < 0)
			return made == SOLVER_EUNSAT || made == SP_ERROR ? EXIT_FAIL
									 : fail(a, &err);
		if (made == 0)
			break;
	}
	_cleanup_free_ sp_digest *layers = NULL;
	size_t nl = 0;
	if (pkg_repo_layers(&layers, &nl, r, res, &err))
		return fail(a, &err);
	size_t nres = solver_result_count(res);
	_cleanup_free_ const pkg_spec **specs = calloc(nres ? nres : 1, sizeof(*specs));
	if (!specs)
		return sp_eprintf("spk env: out of memory\n"), EXIT_FAIL;
	size_t ns = 0;
	/* environment operations apply in solve order (then by priority) */
	for (size_t i = 0; i < nres; i++) {
		const solver_resolved *it = solver_result_get_ordered(res, i);
		if (!it)
			break;
		if (it->from_source) {
			char v[256];
			sp_eprintf("spk env: %s/%s would have to be built from source first "
				   "(--make-missing "
				   "builds it)\n",
				   it->build->name,
				   solver_version_str(&it->build->version, v, sizeof(v)));
			return EXIT_FAIL;
		}
		const pkg_spec *sp = pkg_repo_spec_of(r, it->build);
		if (sp)
			specs[ns++] = sp;
	}
	if (pkg_env_apply(specs, ns, &err))
		return fail(a, &err);
	if (nl == 0) {
		spfs_manifest empty = {0};
		_cleanup_free_ sp_digest *one = calloc(1, sizeof(*one));
		if (!one)
			sp_error_set(&err, SP_ENOMEM, "out of memory");
		if (!one || spfs_commit_manifest(one, s, &empty, NULL, 0, NULL, &err))
			return fail(a, &err);
		layers = steal_pointer(&one);
		nl = 1;
	}
	_cleanup_free_ char **refs = calloc(nl, sizeof(*refs));
	_cleanup_free_ char *hex = calloc(nl, SP_DIGEST_HEX_LEN + 1);
	if (!refs || !hex)
		return sp_eprintf("spk env: out of memory\n"), EXIT_FAIL;
	for (size_t i = 0; i < nl; i++) {
		refs[i] = hex + i * (SP_DIGEST_HEX_LEN + 1);
		sp_digest_to_hex(&layers[i], refs[i]);
	}
	spfs_run_opts ro = {.shell = a->cmd_argc == 0};
	char *none[] = {NULL};
	int status = 0;
	/* as spfs run: the command's status; 125 when the runtime cannot be set
	 * up, 126 when the command cannot be executed, 127 when it is not found */
	if (spfs_runtime_run(&status, s, (const char *const *)refs, nl,
			     a->cmd_argc ? a->cmd_argv : none, &ro, &err)) {
		sp_error_print(stderr, "spk env", &err);
		return status >= SPFS_RUN_ESETUP && status <= SPFS_RUN_ENOENT ? status
									      : SPFS_RUN_ESETUP;
	}
	return status;
}

static int cmd_lint(const args *a)
{
	if (a->npos == 0) {
		print_usage(stderr, "lint");
		return EXIT_USAGE;
	}
	int ret = EXIT_OK;
	for (int f = 0; f < a->npos; f++) {
		_cleanup_(pkg_specfile_freep) pkg_specfile *sf = NULL;
		if (read_spec_file(&sf, a, a->pos[f]) != EXIT_OK) {
			ret = EXIT_USAGE;
			continue;
		}
		pkg_spec *const *specs = sf->specs;
		size_t n = sf->nspecs;
		for (size_t i = 0; i < n; i++) {
			const pkg_spec *sp = specs[i];
			const solver_build *b = &sp->build;
			char v[256];
			solver_version_str(&b->version, v, sizeof(v));
			const char *kind = sp->kind == PKG_RECIPE   ? "recipe"
					   : sp->kind == PKG_SOURCE ? "source package"
								    : "build";
			printf("%s:%zu: %s %s/%s", a->pos[f], sp->line, kind, b->name, v);
			if (sp->kind == PKG_RECIPE)
				printf(", spec-only build %s%s", b->build,
				       sp->script
					   ? ""
					   : ", no build.script (spk build cannot build it)");
			else
				printf("/%s", b->build);
			printf("%s\n", b->deprecated ? ", deprecated" : "");
		}
		if (n == 0) {
			sp_eprintf("spk lint: %s: no spec in the file\n", a->pos[f]);
			ret = EXIT_USAGE;
		}
	}
	return ret;
}

static int cmd_explain(const args *a)
{
	_cleanup_(solve_setup_free) solve_setup x = {0};
	int ready = solve_setup_open(&x, a, "explain");
	if (ready >= 0)
		return ready;
	sp_error err = {0};
	solver_options so = x.so;
	so.trace = stdout;
	_cleanup_(solver_result_freep) solver_result *res = NULL;
	int rc = solver_solve(&res, &so, &err);
	if (rc && rc != SOLVER_EUNSAT)
		return fail(a, &err);
	if (rc == SOLVER_EUNSAT) {
		printf("\n%s", solver_result_explanation(res));
		return EXIT_FAIL;
	}
	printf("\nSolution:\n");
	for (size_t i = 0; i < solver_result_count(res); i++) {
		const solver_resolved *it = solver_result_get(res, i);
		char v[256];
		printf("  %s/%s%s%s%s  <- %s\n", it->build->name,
		       solver_version_str(&it->build->version, v, sizeof(v)),
		       it->from_source ? " [build from source]" : "/",
		       it->from_source ? "" : it->build->build,
		       it->embedded_in ? " [embedded]" : "",
		       it->requested_by ? it->requested_by : "");
	}
	return EXIT_OK;
}

static int run_command(const args *a);

/* Runs a repository command; -1 when argv[0] is not one. */
int spk_repo_command(int argc, char **argv)
{
	/* internal: a build's runtime runs its script through this (not
	 * documented; see pkg_build_run_script) */
	if (argc == 3 && !strcmp(argv[0], "build-script")) {
		sp_error err = {0};
		pkg_build_run_script(argv[1], argv[2], &err);
		sp_eprintf("spk build: %s\n", err.msg);
		return 125;
	}
	static const char *const names[] = {"publish",	   "ls",      "info",	     "deprecate",
					    "undeprecate", "remove",  "build",	     "env",
					    "lint",	   "explain", "make-source", "test"};
	bool known = false;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && !known; i++)
		known = argc > 0 && !strcmp(argv[0], names[i]);
	if (!known)
		return -1;
	args a = {0};
	int code = EXIT_USAGE;
	if (parse_args(&a, argc, argv, &code) == 0)
		code = run_command(&a);
	free(a.opts);
	return code;
}

static int run_command(const args *a)
{
	if (!strcmp(a->cmd, "publish"))
		return cmd_publish(a);
	if (!strcmp(a->cmd, "ls"))
		return cmd_ls(a);
	if (!strcmp(a->cmd, "info"))
		return cmd_info(a);
	if (!strcmp(a->cmd, "deprecate"))
		return cmd_deprecate(a, true);
	if (!strcmp(a->cmd, "undeprecate"))
		return cmd_deprecate(a, false);
	if (!strcmp(a->cmd, "build"))
		return cmd_build(a);
	if (!strcmp(a->cmd, "env"))
		return cmd_env(a);
	if (!strcmp(a->cmd, "lint"))
		return cmd_lint(a);
	if (!strcmp(a->cmd, "explain"))
		return cmd_explain(a);
	if (!strcmp(a->cmd, "make-source"))
		return cmd_make_source(a);
	if (!strcmp(a->cmd, "test"))
		return cmd_test(a);
	return cmd_remove(a);
}
