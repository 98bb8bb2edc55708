/* spfs_runtime.c - the runtime subcommands of `spfs`: argument parsing and
 * output only (the work is in spfs/runtime*.c). Each takes the command's
 * argv (argv[0] is the subcommand) and the --store value (or NULL). */
#include "spfs/spfs.h"
#include "cli/spfs_cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int usage(const char *msg)
{
	sp_eprintf("spfs: %s\n", msg);
	spfs_cli_usage_hint();
	return 2;
}

/* --help of a command whose parser sees it (main answers most). */
static int help(void)
{
	if (spfs_cli_current)
		cli_help_print(stdout, &spfs_help, spfs_cli_current);
	return 0;
}

static int fail(const sp_error *err)
{
	sp_error_print(stderr, "spfs", err);
	return err->code == SP_ECONFIG ? 2 : 1;
}

static int open_store(spfs_store **out, const char *store, sp_error *err)
{
	_cleanup_free_ char *path = NULL;
	if (store) {
		path = strdup(store);
	} else {
		int rc = spfs_default_storage(&path, err);
		if (rc)
			return rc;
	}
	if (!path)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	return spfs_store_open(out, path, false, err);
}

static int do_run(int argc, char **argv, const char *store, bool shell)
{
	static const struct option longopts[] = {
	    {"edit", no_argument, 0, 'e'},	  {"durable", required_argument, 0, 'd'},
	    {"rerun", required_argument, 0, 'r'}, {"no-startup", no_argument, 0, 'n'},
	    {"help", no_argument, 0, 'h'},	  {0, 0, 0, 0},
	};
	spfs_run_opts o = {.shell = shell};
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "+eh", longopts, NULL)) != -1) {
		switch (c) {
		case 'e': o.editable = true; break;
		case 'd': o.durable = optarg; break;
		case 'r': o.durable = optarg, o.rerun = true; break;
		case 'n': o.no_startup = true; break;
		case 'h': return help();
		default: return usage("unknown option");
		}
	}
	_cleanup_free_ const char **refs = calloc((size_t)argc + 1, sizeof(*refs));
	size_t nrefs = 0;
	if (!refs)
		return fputs("spfs: out of memory\n", stderr), 1;
	int dd = -1; /* index of "--" */
	for (int k = optind; k < argc && dd < 0; k++)
		if (strcmp(argv[k], "--") == 0)
			dd = k;
	/* Without "--": `spfs run REF CMD...` (or `--rerun NAME CMD...`). */
	int end = dd >= 0   ? dd
		  : shell   ? argc
		  : o.rerun ? optind
			    : (optind < argc ? optind + 1 : argc);
	for (int k = optind; k < end; k++) {
		refs[nrefs++] = argv[k];
	}
	int i = dd >= 0 ? dd + 1 : end;
	if (o.rerun && nrefs)
		return usage("--rerun takes no REF: the durable runtime has its stack");
	if (!o.rerun && nrefs == 0)
		return usage("no REF given");
	if (shell && i < argc)
		return usage("spfs shell takes no command");
	if (!shell && i >= argc)
		return usage("no command given (after --)");
	sp_error err = {0};
	_cleanup_(spfs_store_freep) spfs_store *s = NULL;
	if (open_store(&s, store, &err))
		return err.code == SP_ECONFIG ? fail(&err) : (fail(&err), SPFS_RUN_ESETUP);
	int status = 0;
	/* docs/spfs.md: the command's status; 125 when the runtime cannot be set
	 * up, 126 when the command cannot be executed, 127 when it is not found */
	if (spfs_runtime_run(&status, s, refs, nrefs, shell ? NULL : argv + i, &o, &err)) {
		sp_error_print(stderr, "spfs", &err);
		return status >= SPFS_RUN_ESETUP && status <= SPFS_RUN_ENOENT ? status
									      : SPFS_RUN_ESETUP;
	}
	return status;
}

int spfs_cli_run(int argc, char **argv, const char *store)
{
	return do_run(argc, argv, store, false);
}

int spfs_cli_shell(int argc, char **argv, const char *store)
{
	return do_run(argc, argv, store, true);
}

int spfs_cli_edit(int argc, char **argv, const char *store)
{
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
		return help();
	if (argc > 1)
		return usage("spfs edit takes no arguments");
	sp_error err = {0};
	_cleanup_(spfs_store_freep) spfs_store *s = NULL;
	if (open_store(&s, store, &err) || spfs_runtime_edit(s, &err))
		return fail(&err);
	fprintf(stderr, "%s is now editable (cd %s again in shells that were inside it)\n",
		SPFS_RUNTIME_MOUNTPOINT, SPFS_RUNTIME_MOUNTPOINT);
	return 0;
}

/* spfs commit layer|platform [-t TAG] [--json] */
int spfs_cli_commit_runtime(int argc, char **argv, const char *store)
{
	static const struct option longopts[] = {
	    {"tag", required_argument, 0, 't'}, {"json", no_argument, 0, 'j'}, {0, 0, 0, 0}};
	const char *tag = NULL;
	bool json = false;
	const char *what = NULL;
	optind = 1;
	int c;
	/* operands and flags in any order */
	for (;;) {
		while ((c = getopt_long(argc, argv, "+t:", longopts, NULL)) != -1) {
			if (c == 't')
				tag = optarg;
			else if (c == 'j')
				json = true;
			else
				return usage("option not accepted here");
		}
		if (optind >= argc)
			break;
		if (what)
			return usage("commit takes layer or platform");
		what = argv[optind++];
	}
	if (!what || (strcmp(what, "layer") && strcmp(what, "platform")))
		return usage("commit takes layer or platform");
	sp_error err = {0};
	_cleanup_(spfs_store_freep) spfs_store *s = NULL;
	sp_digest d;
	if (open_store(&s, store, &err))
		return fail(&err);
	int rc = what[0] == 'l' ? spfs_runtime_commit_layer(&d, s, tag, &err)
				: spfs_runtime_commit_platform(&d, s, tag, &err);
	if (rc)
		return fail(&err);
	char hex[SP_DIGEST_HEX_LEN + 1];
	sp_digest_to_hex(&d, hex);
	if (json) {
		sp_json j;
		sp_json_init(&j, stdout, true);
		sp_json_begin_object(&j);
		sp_json_key(&j, what), sp_json_string(&j, hex);
		if (tag)
			sp_json_key(&j, "tag"), sp_json_string(&j, tag);
		sp_json_end_object(&j);
		sp_json_finish(&j);
	} else {
		printf("%s\n", hex);
	}
	return 0;
}

int spfs_cli_reset(int argc, char **argv, const char *store)
{
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
		return help();
	for (int i = 1; i < argc; i++)
		if (argv[i][0] == '-' && strcmp(argv[i], "--"))
			return usage("reset takes no option");
	int first = argc > 1 && strcmp(argv[1], "--") == 0 ? 2 : 1;
	sp_error err = {0};
	_cleanup_(spfs_store_freep) spfs_store *s = NULL;
	if (open_store(&s, store, &err) ||
	    spfs_runtime_reset(s, (const char *const *)argv + first, (size_t)(argc - first), &err))
		return fail(&err);
	return 0;
}

/* `spfs diff` without operands inside a runtime. */
int spfs_cli_diff_runtime(int argc, char **argv, const char *store)
{
	bool json = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else
			return usage("diff inside a runtime takes no operand");
	}
	sp_error err = {0};
	_cleanup_(spfs_store_freep) spfs_store *s = NULL;
	if (open_store(&s, store, &err))
		return fail(&err);
	sp_json j;
	spfs_cli_diff_out o = {0};
	if (json) {
		sp_json_init(&j, stdout, false);
		sp_json_begin_array(&j);
		o.j = &j;
	}
	if (spfs_runtime_diff(s, spfs_cli_print_diff, &o, &err))
		return fail(&err);
	if (json) {
		sp_json_end_array(&j);
		sp_json_finish(&j);
	}
	return 0;
}

/* ------------------------------------------------------ spfs runtime */

static void json_runtime(sp_json *j, const spfs_runtime *rt)
{
	char hex[SP_DIGEST_HEX_LEN + 1];
	sp_json_begin_object(j);
	sp_json_key(j, "id"), rt->id[0] ? sp_json_string(j, rt->id) : sp_json_null(j);
	sp_json_key(j, "state"), sp_json_string(j, rt->live    ? "live"
						   : rt->id[0] ? "dead"
							       : "stopped");
	sp_json_key(j, "pid"), sp_json_int(j, rt->pid);
	sp_json_key(j, "started"), sp_json_int(j, rt->started);
	sp_json_key(j, "editable"), sp_json_bool(j, rt->editable);
	sp_json_key(j, "durable"), rt->durable ? sp_json_string(j, rt->durable) : sp_json_null(j);
	sp_json_key(j, "upper"), rt->upper ? sp_json_string(j, rt->upper) : sp_json_null(j);
	sp_json_key(j, "layers");
	sp_json_begin_array(j);
	for (size_t i = 0; i < rt->layer_count; i++) {
		sp_digest_to_hex(&rt->layers[i], hex);
		sp_json_string(j, hex);
	}
	sp_json_end_array(j);
	sp_json_key(j, "lowers");
	sp_json_begin_array(j);
	for (size_t i = 0; i < rt->lower_count; i++) {
		sp_digest_to_hex(&rt->lowers[i].manifest, hex);
		char kind[2] = {(char)rt->lowers[i].kind, 0};
		sp_json_begin_object(j);
		sp_json_key(j, "kind"), sp_json_string(j, kind);
		sp_json_key(j, "manifest"), sp_json_string(j, hex);
		sp_json_end_object(j);
	}
	sp_json_end_array(j);
	sp_json_end_object(j);
}

typedef struct ls_ctx {
	sp_json *j;
	size_t count;
} ls_ctx;

static int on_runtime(const spfs_runtime *rt, void *ud)
{
	ls_ctx *c = ud;
	c->count++;
	if (c->j) {
		json_runtime(c->j, rt);
		return 0;
	}
	char when[32] = "-";
	if (rt->started) {
		time_t t = (time_t)rt->started;
		struct tm tm;
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
	}
	printf("%-16s  %-7s  %7d  %-19s  %-4s  %4zu layers%s%s\n", rt->id[0] ? rt->id : "-",
	       rt->live	   ? "live"
	       : rt->id[0] ? "dead"
			   : "stopped",
	       rt->pid, when, rt->editable ? "edit" : "ro", rt->layer_count,
	       rt->durable ? "  durable " : "", rt->durable ? rt->durable : "");
	return 0;
}

static int on_pruned(const spfs_runtime *rt, void *ud)
{
	printf("removed %s\n", rt->id);
	return 0;
}

/* `spfs runtime __startup [--shell] -- CMD...`: the last stage of a
 * runtime started through spfs-enter, run by it inside the namespace. */
static int startup_stage(int argc, char **argv)
{
	int i = 2;
	bool shell = i < argc && strcmp(argv[i], "--shell") == 0;
	i += shell;
	if (i >= argc || strcmp(argv[i], "--") != 0 || (!shell && i + 1 >= argc))
		return fputs("usage: spfs runtime __startup [--shell] -- CMD [ARGS...]\n", stderr),
		       2;
	sp_error err = {0};
	spfs_runtime_startup_exec(argv + i + 1, shell, &err);
	sp_error_print(stderr, "spfs", &err);
	return err.sys_errno == ENOENT ? SPFS_RUN_ENOENT : SPFS_RUN_ENOEXEC;
}

int spfs_cli_runtime(int argc, char **argv, const char *store)
{
	if (argc >= 2 && strcmp(argv[1], "__startup") == 0)
		return startup_stage(argc, argv);
	if (argc < 2)
		return usage("runtime needs a subcommand: ls, info, rm or prune");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return help();
	const char *sub = argv[1];
	if (strcmp(sub, "ls") && strcmp(sub, "info") && strcmp(sub, "rm") && strcmp(sub, "prune"))
		return usage("runtime takes ls, info ID|NAME, rm ID|NAME... or prune");
	bool json = false;
	char **ops = argv + 2; /* the operands, moved down over the flags: all kept */
	int nops = 0;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (argv[i][0] == '-')
			return usage("option not accepted here");
		else
			ops[nops++] = argv[i];
	}
	sp_error err = {0};
	_cleanup_(spfs_store_freep) spfs_store *s = NULL;
	if (open_store(&s, store, &err))
		return fail(&err);
	if (strcmp(sub, "ls") == 0 && nops == 0) {
		sp_json j;
		ls_ctx c = {0};
		if (json) {
			sp_json_init(&j, stdout, true);
			sp_json_begin_array(&j);
			c.j = &j;
		}
		if (spfs_runtime_list(s, on_runtime, &c, &err))
			return fail(&err);
		if (json) {
			sp_json_end_array(&j);
			sp_json_finish(&j);
		}
		return 0;
	}
	if (strcmp(sub, "info") == 0 && nops == 1) {
		_cleanup_(spfs_runtime_freep) spfs_runtime *rt = NULL;
		if (spfs_runtime_read(&rt, s, ops[0], &err))
			return fail(&err);
		sp_json j;
		sp_json_init(&j, stdout, true);
		if (json) {
			json_runtime(&j, rt);
			sp_json_finish(&j);
			return 0;
		}
		char hex[SP_DIGEST_HEX_LEN + 1];
		printf("runtime %s\nstate: %s\npid: %d\neditable: %s\n", rt->id[0] ? rt->id : "-",
		       rt->live	   ? "live"
		       : rt->id[0] ? "dead"
				   : "stopped",
		       rt->pid, rt->editable ? "yes" : "no");
		if (rt->durable)
			printf("durable: %s\n", rt->durable);
		if (rt->upper)
			printf("upper: %s\n", rt->upper);
		for (size_t i = 0; i < rt->layer_count; i++) {
			sp_digest_to_hex(&rt->layers[i], hex);
			printf("layer: %s\n", hex);
		}
		for (size_t i = 0; i < rt->lower_count; i++) {
			sp_digest_to_hex(&rt->lowers[i].manifest, hex);
			printf("lower: %s %s\n",
			       rt->lowers[i].kind == SPFS_LOWER_RENDER	? "render"
			       : rt->lowers[i].kind == SPFS_LOWER_MASKS ? "masks "
									: "empty ",
			       hex);
		}
		return 0;
	}
	if (strcmp(sub, "rm") == 0 && nops >= 1) {
		int rc = 0;
		for (int i = 0; i < nops; i++) {
			sp_error e = {0};
			if (spfs_runtime_remove(s, ops[i], &e))
				rc = fail(&e);
		}
		return rc;
	}
	if (strcmp(sub, "prune") == 0 && nops == 0) {
		size_t removed = 0;
		if (spfs_runtime_prune(s, on_pruned, NULL, &removed, &err))
			return fail(&err);
		fprintf(stderr, "pruned %zu runtime%s\n", removed, removed == 1 ? "" : "s");
		return 0;
	}
	return usage("runtime takes ls, info ID|NAME, rm ID|NAME... or prune");
}
