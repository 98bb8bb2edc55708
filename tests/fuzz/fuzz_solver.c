/* fuzz_solver.c - the solver (solver/solve.c, sat.c, buildenv.c,
 * explain.c) on small repositories generated from the input.
 *
 * Each input byte picks from small tables, so every input is a valid
 * repository: up to 6 names and 14 builds, recipes whose build options name
 * each other (build environments that need each other), fromBuildEnv pins,
 * IfAlreadyPresent requirements, var options and requests, embedded
 * packages, deprecated builds; then up to 3 requests, --allow-builds and
 * an --opt. The solve must return 0 or SOLVER_EUNSAT (or give up at its
 * step limit), never crash, explain every failure, and give the same
 * answer twice. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "solver/solver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXB 14

typedef struct rd {
	const uint8_t *p;
	size_t n, i;
} rd;

static unsigned next(rd *r, unsigned mod)
{
	unsigned v = r->i < r->n ? r->p[r->i] : 0;
	r->i++;
	return mod ? v % mod : v;
}

static const char *const names[] = {"a", "b", "c", "d", "e", "f"};
static const char *const ranges[] = {"",      "1",     "~1.2",	   ">=2",     "<1",
				     "!=1.0", "1.*",   "=2.1",	   "==1.0.0", "^1",
				     "<0",    ">1,<3", "Binary:1", "API:2.0", "1.0.0-a.1"};
static const char *const pins[] = {"x.x", "Binary", "~x.x", "x", "API", "true"};
static const char *const vars[] = {"debug", "abi"};
static const char *const values[] = {"on", "off"};

typedef struct genrepo {
	solver_arena *a;
	solver_build *b[MAXB];
	size_t n;
} genrepo;

static int repo_builds(void *self, const char *name, const solver_build *const **out, size_t *n,
		       sp_error *err)
{
	genrepo *r = self;
	const solver_build **v = solver_arena_array(r->a, r->n + 1, sizeof(*v), err);
	if (!v)
		return err->code;
	size_t k = 0;
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->b[i]->name, name))
			v[k++] = r->b[i];
	*out = v;
	*n = k;
	return 0;
}

static int repo_embedders(void *self, const char *name, const solver_build *const **out, size_t *n,
			  sp_error *err)
{
	genrepo *r = self;
	const solver_build **v = solver_arena_array(r->a, r->n + 1, sizeof(*v), err);
	if (!v)
		return err->code;
	size_t k = 0;
	for (size_t i = 0; i < r->n; i++)
		for (size_t e = 0; e < r->b[i]->nembedded; e++)
			if (!strcmp(r->b[i]->embedded[e].name, name)) {
				v[k++] = r->b[i];
				break;
			}
	*out = v;
	*n = k;
	return 0;
}

static const solver_repo_ops ops = {SOLVER_REPO_OPS_VERSION, repo_builds, repo_embedders};

/* "name/range", or "name" for the empty range. */
static int pkg_req(solver_request *out, solver_arena *a, const char *name, const char *range,
		   int rule)
{
	char t[64];
	snprintf(t, sizeof(t), "%s%s%s", name, *range ? "/" : "", range);
	sp_error e = {0};
	return solver_request_parse(out, a, t, strlen(t), rule, NULL, &e);
}

static solver_build *gen_build(rd *r, solver_arena *a, size_t idx)
{
	sp_error e = {0};
	solver_build *b = solver_arena_alloc(a, sizeof(*b), &e);
	if (!b)
		return NULL;
	b->name = names[next(r, 6)];
	char v[32], id[16];
	unsigned major = next(r, 4), minor = next(r, 4), patch = next(r, 3);
	snprintf(v, sizeof(v), "%u.%u.%u", major, minor, patch);
	if (solver_version_parse(&b->version, a, v, strlen(v), NULL, &e))
		return NULL;
	unsigned flags = next(r, 0);
	snprintf(id, sizeof(id), "B%zu", idx);
	b->build = solver_arena_strdup(a, id, &e);
	b->is_recipe = flags & 1;
	b->deprecated = (flags & 0x30) == 0x30;
	b->origin = b->build;
	solver_component *comps = solver_arena_array(a, 2, sizeof(*comps), &e);
	if (!b->build || !comps)
		return NULL;
	comps[0].name = "build";
	comps[1].name = "run";
	b->components = comps;
	b->ncomponents = 2;
	/* options: pkg options (build dependencies) and var options */
	size_t nopt = next(r, 4);
	solver_option *o = solver_arena_array(a, nopt + 1, sizeof(*o), &e);
	solver_request *br = solver_arena_array(a, nopt + 1, sizeof(*br), &e);
	if (!o || !br)
		return NULL;
	for (size_t i = 0; i < nopt; i++) {
		unsigned k = next(r, 0);
		if (k & 1) {
			o[i].name = names[next(r, 6)];
			o[i].value = b->is_recipe ? ranges[next(r, 11)] : "1.2.0";
			o[i].is_pkg = true;
			if (b->is_recipe && !pkg_req(&br[b->nbuild_reqs], a, o[i].name, o[i].value,
						     SOLVER_COMPAT_API))
				b->nbuild_reqs++;
		} else {
			o[i].name = vars[(k >> 1) & 1];
			o[i].value = (k & 4) ? "" : values[(k >> 3) & 1];
			o[i].inheritance = (solver_inheritance)((k >> 4) % 3);
			o[i].required = (k >> 6) & 1;
		}
	}
	b->options = o;
	b->noptions = nopt;
	b->build_reqs = br;
	/* install requirements */
	size_t nreq = next(r, 4);
	solver_request *rq = solver_arena_array(a, nreq + 1, sizeof(*rq), &e);
	if (!rq)
		return NULL;
	for (size_t i = 0; i < nreq; i++) {
		unsigned k = next(r, 0);
		if ((k & 7) == 7) {
			char t[32];
			const char *pkg = names[next(r, 6)];
			snprintf(t, sizeof(t), "%s.%s/%s", pkg, vars[k >> 7], values[(k >> 6) & 1]);
			if (!solver_request_parse_var(&rq[b->nreqs], a, t, strlen(t), NULL, &e))
				b->nreqs++;
			continue;
		}
		const char *nm = names[next(r, 6)];
		bool pin = k & 8;
		if (pkg_req(&rq[b->nreqs], a, nm, pin ? "" : ranges[next(r, 15)],
			    SOLVER_COMPAT_BINARY))
			continue;
		if (k & 16)
			rq[b->nreqs].include = SOLVER_INCLUDE_IF_PRESENT;
		if (pin) {
			rq[b->nreqs].from_build_env = true;
			rq[b->nreqs].pin = pins[(k >> 5) % 6];
		}
		b->nreqs++;
	}
	b->reqs = rq;
	/* sometimes an embedded package */
	if ((flags & 0xc0) == 0xc0) {
		solver_embedded *em = solver_arena_alloc(a, sizeof(*em), &e);
		if (!em)
			return NULL;
		em->name = names[next(r, 6)];
		snprintf(v, sizeof(v), "%u.0", next(r, 3));
		if (strcmp(em->name, b->name) &&
		    !solver_version_parse(&em->version, a, v, strlen(v), NULL, &e)) {
			b->embedded = em;
			b->nembedded = 1;
		}
	}
	return b;
}

static int solve_once(const solver_options *o, char **text)
{
	solver_result *res = NULL;
	sp_error e = {0};
	int rc = solver_solve(&res, o, &e);
	if (rc != 0 && rc != SOLVER_EUNSAT && rc != SOLVER_ELIMIT) {
		fprintf(stderr, "solve error %d: %s\n", rc, e.msg);
		abort(); /* a generated repository is valid input */
	}
	sp_buf b = {0};
	if (rc == 0) {
		for (size_t i = 0; i < solver_result_count(res); i++) {
			const solver_resolved *it = solver_result_get(res, i);
			char v[64];
			if (!it || !solver_result_get_ordered(res, i))
				abort();
			sp_buf_printf(&b, &e, "%s/%s/%s%s ", it->build->name,
				      solver_version_str(&it->build->version, v, sizeof(v)),
				      it->build->build, it->from_source ? "*" : "");
		}
	} else if (rc == SOLVER_EUNSAT) {
		const char *x = solver_result_explanation(res);
		if (!*x)
			abort(); /* every failure is explained */
		sp_buf_printf(&b, &e, "%s", x);
	}
	if (res) {
		FILE *f = fopen("/dev/null", "w");
		if (f) {
			(void)solver_result_write_dot(res, f, &e);
			fclose(f);
		}
	}
	solver_result_free(res);
	*text = b.data;
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 512)
		return 0;
	rd r = {data, size, 0};
	genrepo rp = {0};
	sp_error e = {0};
	if (solver_arena_new(&rp.a, &e))
		return 0;
	size_t nb = 1 + next(&r, MAXB);
	for (size_t i = 0; i < nb; i++) {
		solver_build *b = gen_build(&r, rp.a, i);
		if (b)
			rp.b[rp.n++] = b;
	}
	solver_request rq[3];
	size_t nrq = 1 + next(&r, 3), k = 0;
	for (size_t i = 0; i < nrq; i++) {
		unsigned x = next(&r, 0);
		if ((x & 7) == 7) {
			char t[32];
			snprintf(t, sizeof(t), "%s/%s", vars[(x >> 3) & 1], values[(x >> 4) & 1]);
			if (!solver_request_parse_var(&rq[k], rp.a, t, strlen(t), NULL, &e))
				k++;
			continue;
		}
		const char *nm = names[next(&r, 6)];
		if (!pkg_req(&rq[k], rp.a, nm, ranges[next(&r, 15)], SOLVER_COMPAT_API)) {
			if (x & 8)
				rq[k].include = SOLVER_INCLUDE_IF_PRESENT;
			k++;
		}
	}
	unsigned f = next(&r, 0);
	solver_opt opt = {vars[f & 1], values[(f >> 1) & 1]};
	solver_repo repo = {&ops, &rp, "fuzz"};
	solver_options o = {.repos = &repo,
			    .nrepos = 1,
			    .requests = rq,
			    .nrequests = k,
			    .opts = &opt,
			    .nopts = (f >> 2) & 1,
			    .allow_builds = (f >> 3) & 1,
			    .max_steps = 20000};
	char *t1 = NULL, *t2 = NULL;
	int rc1 = solve_once(&o, &t1);
	int rc2 = solve_once(&o, &t2);
	if (getenv("FUZZ_SOLVER_DEBUG")) /* to read what an input makes */
		fprintf(stderr, "%zu builds, %zu requests: rc %d\n%s\n", rp.n, k, rc1,
			t1 ? t1 : "");
	/* deterministic: the same repository and request, the same answer */
	if (rc1 != rc2 || strcmp(t1 ? t1 : "", t2 ? t2 : ""))
		abort();
	free(t1);
	free(t2);
	solver_arena_free(rp.a);
	return 0;
}
