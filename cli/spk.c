/* spk.c - the spk command: argument parsing and output only. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/help.h"
#include "common/common.h"
#include "pkg/pkg.h"
#include "solver/solver.h"

enum { EXIT_OK = 0, EXIT_UNSAT = 1, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* docs/spk.md's exit status of an error (cli/spk_repo.c). */
int spk_exit_for(int code);

static int fail(const sp_error *err)
{
	sp_error_print(stderr, "spk solve", err);
	return spk_exit_for(err->code);
}

/* cli/spk_repo.c: publish, ls, info, deprecate, undeprecate, remove; -1 when
 * argv[0] is none of them. */
int spk_repo_command(int argc, char **argv);

static void usage(FILE *f)
{
	cli_help_print_prog(f, &spk_help);
}

static void solve_usage(FILE *f)
{
	cli_help_print(f, &spk_help, cli_help_find(&spk_help, "solve"));
}

static const char *base_name(const char *p)
{
	size_t n = strlen(p);
	while (n > 1 && p[n - 1] == '/')
		n--;
	const char *s = p + n;
	while (s > p && s[-1] != '/')
		s--;
	return s;
}

static void print_json(const solver_result *r, bool ok)
{
	sp_json j;
	sp_json_init(&j, stdout, true);
	sp_json_begin_object(&j);
	sp_json_key(&j, "ok");
	sp_json_bool(&j, ok);
	if (ok) {
		sp_json_key(&j, "packages");
		sp_json_begin_array(&j);
		for (size_t i = 0; i < solver_result_count(r); i++) {
			const solver_resolved *it = solver_result_get(r, i);
			char v[256];
			sp_json_begin_object(&j);
			sp_json_key(&j, "name");
			sp_json_string(&j, it->build->name);
			sp_json_key(&j, "version");
			sp_json_string(&j, solver_version_str(&it->build->version, v, sizeof(v)));
			sp_json_key(&j, "build");
			if (it->from_source)
				sp_json_null(&j); /* decided when it is built */
			else
				sp_json_string(&j, it->build->build);
			sp_json_key(&j, "components");
			sp_json_begin_array(&j);
			for (size_t c = 0; c < it->ncomponents; c++)
				sp_json_string(&j, it->components[c]);
			sp_json_end_array(&j);
			sp_json_key(&j, "from_source");
			sp_json_bool(&j, it->from_source);
			sp_json_key(&j, "embedded_in");
			if (it->embedded_in)
				sp_json_string(&j, it->embedded_in);
			else
				sp_json_null(&j);
			sp_json_key(&j, "options");
			sp_json_begin_object(&j);
			for (size_t o = 0; o < it->noptions; o++) {
				sp_json_key(&j, it->options[o].name);
				sp_json_string(&j, it->options[o].value);
			}
			sp_json_end_object(&j);
			sp_json_key(&j, "requested_by");
			sp_json_string(&j, it->requested_by ? it->requested_by : "");
			sp_json_key(&j, "origin");
			if (it->build->origin)
				sp_json_string(&j, it->build->origin);
			else
				sp_json_null(&j);
			sp_json_key(&j, "note");
			if (it->note)
				sp_json_string(&j, it->note);
			else
				sp_json_null(&j);
			sp_json_end_object(&j);
		}
		sp_json_end_array(&j);
	} else {
		sp_json_key(&j, "explanation");
		sp_json_string(&j, solver_result_explanation(r));
	}
	uint64_t steps, bt, learned;
	solver_result_stats(r, &steps, &bt, &learned);
	sp_json_key(&j, "stats");
	sp_json_begin_object(&j);
	sp_json_key(&j, "steps");
	sp_json_uint(&j, steps);
	sp_json_key(&j, "backtracks");
	sp_json_uint(&j, bt);
	sp_json_key(&j, "learned");
	sp_json_uint(&j, learned);
	sp_json_end_object(&j);
	sp_json_end_object(&j);
	sp_json_finish(&j);
}

static void print_text(const solver_result *r)
{
	for (size_t i = 0; i < solver_result_count(r); i++) {
		const solver_resolved *it = solver_result_get(r, i);
		char v[256];
		printf("%s/%s", it->build->name,
		       solver_version_str(&it->build->version, v, sizeof(v)));
		if (!it->from_source)
			printf("/%s", it->build->build);
		if (it->from_source) {
			printf(" [build from source");
			for (size_t o = 0; o < it->noptions; o++)
				printf("%s%s=%s", o ? "," : " with ", it->options[o].name,
				       it->options[o].value);
			printf("]");
		}
		if (it->embedded_in)
			printf(" [embedded in %s]", it->embedded_in);
		printf("  <- %s\n", it->requested_by ? it->requested_by : "");
	}
	/* what the solver could not do, on stderr (stdout stays the list) */
	for (size_t i = 0; i < solver_result_count(r); i++) {
		const solver_resolved *it = solver_result_get(r, i);
		char v[256];
		if (it->note)
			sp_eprintf("spk solve: note: %s/%s/%s: %s\n", it->build->name,
				   solver_version_str(&it->build->version, v, sizeof(v)),
				   it->build->build, it->note);
	}
}

static int cmd_solve(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"repo", required_argument, NULL, 'r'}, {"workspace", required_argument, NULL, 'W'},
	    {"opt", required_argument, NULL, 'o'},  {"allow-builds", no_argument, NULL, 'B'},
	    {"json", no_argument, NULL, 'J'},	    {"trace", no_argument, NULL, 'T'},
	    {"dot", required_argument, NULL, 'D'},  {"max-steps", required_argument, NULL, 'M'},
	    {"verbose", no_argument, NULL, 'v'},    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},	    {NULL, 0, NULL, 0},
	};
	/* declared before the first goto: cleanup runs at every exit */
	_cleanup_(solver_arena_freep) solver_arena *a = NULL;
	_cleanup_free_ char *local = NULL; /* the local store, when no --repo */
	const char **repos = calloc((size_t)argc + 1, sizeof(char *));
	solver_opt *opts = calloc((size_t)argc + 1, sizeof(*opts));
	if (!repos || !opts) {
		fprintf(stderr, "spk: out of memory\n");
		free(repos);
		free(opts);
		return EXIT_FAIL;
	}
	size_t nrepos = 0, nopts = 0;
	bool json = false, trace = false, allow = false;
	const char *dot = NULL;
	uint64_t max_steps = 0;
	int verbosity = 0, c, ret = EXIT_USAGE;
	optind = 1;
	while ((c = getopt_long(argc, argv, "r:o:vqh", longopts, NULL)) != -1) {
		switch (c) {
		case 'r': repos[nrepos++] = optarg; break;
		case 'W': {
			/* a workspace file, or a directory holding workspace.spk.yaml */
			struct stat st;
			char wf[4096];
			snprintf(wf, sizeof(wf), "%s/workspace.spk.yaml", optarg);
			if (stat(optarg, &st) || (S_ISDIR(st.st_mode) && access(wf, F_OK))) {
				sp_eprintf("spk solve: --workspace %s: no workspace file (%s)\n",
					   optarg, S_ISDIR(st.st_mode) ? wf : strerror(errno));
				goto out;
			}
			repos[nrepos++] = optarg;
			break;
		}
		case 'o': {
			char *eq = strchr(optarg, '=');
			if (!eq || eq == optarg) {
				sp_eprintf("spk solve: --opt expects NAME=VALUE, got '%s'\n",
					   optarg);
				goto out;
			}
			*eq = '\0';
			opts[nopts].name = optarg;
			opts[nopts].value = eq + 1;
			nopts++;
			break;
		}
		case 'B': allow = true; break;
		case 'J': json = true; break;
		case 'T': trace = true; break;
		case 'D': dot = optarg; break;
		case 'M': {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(optarg, &end, 10);
			if (errno || *end || end == optarg || optarg[0] == '-') {
				fprintf(stderr, "spk solve: --max-steps expects a number\n");
				goto out;
			}
			max_steps = v;
			break;
		}
		case 'v': verbosity++; break;
		case 'q': verbosity--; break;
		case 'h':
			solve_usage(stdout);
			ret = EXIT_OK;
			goto out;
		default: solve_usage(stderr); goto out;
		}
	}
	sp_error err = {0};
	if (sp_log_init(verbosity, &err) || sp_config_load(&err)) {
		ret = fail(&err);
		goto out;
	}
	if (optind >= argc) {
		fprintf(stderr, "spk solve: no requests given\n");
		solve_usage(stderr);
		goto out;
	}
	/* no --repo: the local SpFS store's package repository, when there is one */
	sp_error lerr = {0};
	if (nrepos == 0 && spfs_default_storage(&local, &lerr) == 0 && pkg_path_is_store(local))
		repos[nrepos++] = local;
	if (nrepos == 0) {
		fprintf(stderr,
			"spk solve: no repository given (use --repo DIR) and no local store\n");
		goto out;
	}
	if (solver_arena_new(&a, &err)) {
		ret = fail(&err);
		goto out;
	}
	size_t nreq = (size_t)(argc - optind);
	solver_request *reqs = solver_arena_array(a, nreq, sizeof(*reqs), &err);
	pkg_source **dirs = calloc(nrepos, sizeof(*dirs));
	solver_repo *rv = calloc(nrepos, sizeof(*rv));
	if (!reqs || !dirs || !rv) {
		fprintf(stderr, "spk solve: out of memory\n");
		free(dirs);
		free(rv);
		ret = EXIT_FAIL;
		goto out;
	}
	ret = EXIT_USAGE;
	for (size_t i = 0; i < nreq; i++)
		if (solver_request_parse_cli(&reqs[i], a, argv[optind + (int)i], NULL, &err)) {
			ret = fail(&err);
			goto out_repos;
		}
	/* spec templates in a spec directory render with --opt (and env) */
	extern char **environ;
	pkg_specfile_opts fo = {.opts = opts, .nopts = nopts, .env = (const char *const *)environ};
	for (size_t i = 0; i < nrepos; i++) {
		/* a workspace file's repository is named after its directory */
		char dirbuf[4096];
		struct stat rst;
		const char *rp = repos[i];
		if (rp != local && stat(rp, &rst) == 0 && S_ISREG(rst.st_mode)) {
			snprintf(dirbuf, sizeof(dirbuf), "%s", rp);
			char *sl = strrchr(dirbuf, '/');
			if (sl && sl != dirbuf)
				*sl = '\0';
			else
				snprintf(dirbuf, sizeof(dirbuf), ".");
			rp = dirbuf;
		}
		const char *rname = repos[i] == local ? "local" : base_name(rp);
		if (pkg_source_open(&dirs[i], repos[i], rname, &fo, &err)) {
			sp_error_print(stderr, "spk solve", &err);
			goto out_repos; /* a missing or bad --repo is bad input */
		}
		rv[i] = *pkg_source_repo(dirs[i]);
	}
	/* "name/pkg" must name a repository given with --repo */
	for (size_t i = 0; i < nreq; i++) {
		if (reqs[i].kind != SOLVER_REQ_PKG || !reqs[i].repo)
			continue;
		bool known = false;
		for (size_t k = 0; k < nrepos && !known; k++)
			known = !strcmp(rv[k].name, reqs[i].repo);
		if (!known) {
			sp_eprintf(
			    "spk solve: invalid request '%s': no repository named '%s' was given "
			    "with --repo (for a var request write %s=%s)\n",
			    reqs[i].text, reqs[i].repo, reqs[i].repo,
			    reqs[i].text + strlen(reqs[i].repo) + 1);
			goto out_repos;
		}
	}
	solver_options so = {
	    .repos = rv,
	    .nrepos = nrepos,
	    .requests = reqs,
	    .nrequests = nreq,
	    .opts = opts,
	    .nopts = nopts,
	    .allow_builds = allow,
	    .trace = trace ? stderr : NULL,
	    .max_steps = max_steps,
	};
	solver_result *res = NULL;
	int rc = solver_solve(&res, &so, &err);
	if (rc && rc != SOLVER_EUNSAT) {
		ret = fail(&err);
		goto out_repos;
	}
	if (json)
		print_json(res, rc == 0);
	else if (rc == 0)
		print_text(res);
	else
		sp_fputs_quoted(stderr, solver_result_explanation(res));
	if (dot) {
		FILE *f = fopen(dot, "w");
		if (!f || solver_result_write_dot(res, f, &err)) {
			sp_eprintf("spk solve: cannot write %s: %s\n", dot,
				   f ? err.msg : strerror(errno));
			if (f)
				fclose(f);
			solver_result_free(res);
			ret = EXIT_USAGE;
			goto out_repos;
		}
		if (fclose(f)) {
			sp_eprintf("spk solve: cannot write %s: %s\n", dot, strerror(errno));
			solver_result_free(res);
			ret = EXIT_USAGE;
			goto out_repos;
		}
	}
	ret = rc == 0 ? EXIT_OK : EXIT_UNSAT;
	solver_result_free(res);
out_repos:
	for (size_t i = 0; i < nrepos; i++)
		pkg_source_free(dirs[i]);
	free(dirs);
	free(rv);
out:
	free(repos);
	free(opts);
	return ret;
}

/* `spk help [COMMAND]` */
static int cmd_help(int argc, char **argv)
{
	if (argc < 2) {
		usage(stdout);
		return EXIT_OK;
	}
	int words;
	const cli_cmd *c = cli_help_lookup(&spk_help, argc - 1, argv + 1, &words);
	if (!c || words < argc - 1) {
		sp_eprintf("spk help: no command '%s'\n", argv[1]);
		cli_help_print_synopsis(stderr, &spk_help, cli_help_find(&spk_help, "help"));
		return EXIT_USAGE;
	}
	cli_help_print(stdout, &spk_help, c);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("spk %s\n", SPAWN_VERSION);
		return EXIT_OK;
	}
	/* Only commands with a usage in cli/spk_help.c exist (but for the
	 * internal build-script): --help, the man page and the completions
	 * know every one. */
	int words;
	const cli_cmd *c = cli_help_lookup(&spk_help, argc - 1, argv + 1, &words);
	if (c && cli_help_asked(c, argc - 1, argv + 1, words)) {
		cli_help_print(stdout, &spk_help, c);
		return EXIT_OK;
	}
	if (c && !strcmp(argv[1], "help"))
		return cmd_help(argc - 1, argv + 1);
	if (c && !strcmp(argv[1], "solve"))
		return cmd_solve(argc - 1, argv + 1);
	int repo_rc =
	    c || !strcmp(argv[1], "build-script") ? spk_repo_command(argc - 1, argv + 1) : -1;
	if (repo_rc >= 0)
		return repo_rc;
	sp_eprintf("spk: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
