/* solve.c - a complete, deterministic solver for SPK requests.
 *
 * Search: depth-first over package names (the undecided, needed name with
 * the fewest usable candidates first), candidates newest first. Every
 * rejection records the decision levels it depends on (a conflict set), so a
 * failure jumps straight back to the newest decision that contributed to it
 * (conflict-directed backjumping) and is remembered as a learned conflict
 * ("these decisions cannot go together") that later branches check before
 * trying a candidate. Adding a requirement checks at once that the required
 * package still has a usable candidate (forward checking).
 *
 * Completeness: a branch is only cut when its conflict set proves that no
 * change at the skipped levels can help; rules that could be relaxed by a
 * later request (deprecated builds and source packages named exactly) are
 * charged to every level. Determinism: names are visited in a fixed order,
 * candidates are sorted, nothing depends on addresses or time.
 *
 * Every rejection also builds a reason node; the failure of the root is a
 * tree of plain facts that explain.c turns into the explanation.
 */
#include "solver/solve_internal.h"
#include "solver/sat.h"

#include <stdlib.h>
#include <string.h>

#define GROW(arr, n, cap, err)                                                                     \
	(((n) < (cap)) ? 0 : grow_array((void **)&(arr), &(cap), sizeof(*(arr)), (err)))

static int grow_array(void **arr, size_t *cap, size_t size, sp_error *err)
{
	size_t nc = *cap ? *cap * 2 : 16;
	int rc = sp_realloc_array(arr, nc, size, err);
	if (rc)
		return rc;
	*cap = nc;
	return 0;
}

enum { T_ASSIGN = 1, T_COMPS = 2 };

typedef struct trail_ent {
	int kind;
	int name;
	uint64_t old;
} trail_ent;

typedef struct level_ent {
	int name, cand;
	size_t cons_mark, vcons_mark, trail_mark;
} level_ent;

typedef struct nogood {
	size_t off, n;
	solver__reason *why;
} nogood;

typedef struct state {
	solver_arena *a;
	const solver_options *o;
	sp_error *err;
	solver__name *names;
	size_t nnames, capnames;
	int *hash; /* open addressing: name id + 1 */
	size_t hashcap;
	solver__cons *cons;
	size_t ncons, capcons;
	solver__vcons *vcons;
	size_t nvcons, capvcons;
	trail_ent *trail;
	size_t ntrail, captrail;
	level_ent *levels;
	size_t nlevels, caplevels;
	int *ngdata;
	size_t nngdata, capngdata;
	nogood *ngs;
	size_t nngs, capngs;
	size_t nwords;
	uint64_t *pool;
	size_t pool_used, pool_cap;
	uint64_t steps, backtracks, max_steps;
	size_t nreasons;
	solver__reason limit_reason;
	bool limit_hit;
	int *pref;		  /* per name: the clause solver's candidate, tried first; -1 */
	struct pkgopt_memo *memo; /* pkg option checks, by (option, value) */
	size_t nmemo, capmemo;
	solver__envctx *env; /* the top-level solve's build environments */
} state;

/* One pkg-option check, remembered (parsing ranges allocates). */
typedef struct pkgopt_memo {
	const solver_option *opt;
	const char *value;
	int recipe; /* 0 a build, 1 a recipe's default build, 2 from source */
	bool ok;
	const char *why;
} pkgopt_memo;

#define MAX_REASONS	400000
#define MAX_NOGOODS	200000
#define MAX_NOGOOD_SIZE 24

/* ------------------------------------------------------------ helpers */

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

static int find_name(const state *s, const char *name)
{
	if (!s->hashcap)
		return -1;
	size_t m = s->hashcap - 1, i = hash_str(name) & m;
	while (s->hash[i]) {
		int id = s->hash[i] - 1;
		if (!strcmp(s->names[id].name, name))
			return id;
		i = (i + 1) & m;
	}
	return -1;
}

static int rehash(state *s, size_t cap)
{
	int *h = calloc(cap, sizeof(int));
	if (!h)
		return sp_error_set(s->err, SP_ENOMEM, "out of memory (name table)");
	for (size_t id = 0; id < s->nnames; id++) {
		size_t i = hash_str(s->names[id].name) & (cap - 1);
		while (h[i])
			i = (i + 1) & (cap - 1);
		h[i] = (int)id + 1;
	}
	free(s->hash);
	s->hash = h;
	s->hashcap = cap;
	return 0;
}

static int add_name(state *s, const char *name, int *out)
{
	int id = find_name(s, name);
	if (id >= 0) {
		*out = id;
		return 0;
	}
	int rc = GROW(s->names, s->nnames, s->capnames, s->err);
	if (rc)
		return rc;
	solver__name *n = &s->names[s->nnames];
	memset(n, 0, sizeof(*n));
	n->name = solver_arena_strdup(s->a, name, s->err);
	if (!n->name)
		return s->err->code;
	n->assigned = -1;
	n->level = -1;
	n->head = -1;
	n->via_name = n->via_cand = -1;
	n->dirty = true;
	n->seq = (int)s->nnames;
	s->nnames++;
	if ((s->nnames + 1) * 2 > s->hashcap) {
		rc = rehash(s, s->hashcap ? s->hashcap * 2 : 64);
		if (rc)
			return rc;
	} else {
		size_t i = hash_str(name) & (s->hashcap - 1);
		while (s->hash[i])
			i = (i + 1) & (s->hashcap - 1);
		s->hash[i] = (int)s->nnames;
	}
	*out = (int)s->nnames - 1;
	return 0;
}

static solver__reason *new_reason(state *s, int kind, int name, int cand)
{
	if (s->nreasons >= MAX_REASONS) {
		s->limit_hit = true;
		return &s->limit_reason;
	}
	sp_error e = {0};
	solver__reason *r = solver_arena_alloc(s->a, sizeof(*r), &e);
	if (!r) {
		s->limit_hit = true;
		return &s->limit_reason;
	}
	s->nreasons++;
	r->kind = kind;
	r->name = name;
	r->cand = cand;
	r->rsrc_name = r->rsrc_cand = -1;
	r->oname = r->ocand = -1;
	return r;
}

static void reason_add_kid(state *s, solver__reason *r, solver__reason *kid, size_t *cap)
{
	if (r == &s->limit_reason || !kid)
		return;
	if (r->nkids == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		sp_error e = {0};
		solver__reason **k = solver_arena_array(s->a, nc, sizeof(*k), &e);
		if (!k)
			return;
		if (r->nkids)
			memcpy(k, r->kids, r->nkids * sizeof(*k));
		r->kids = k;
		*cap = nc;
	}
	r->kids[r->nkids++] = kid;
}

static const char *rdetail(state *s, const char *text)
{
	sp_error e = {0};
	const char *d = solver_arena_strdup(s->a, text, &e);
	return d ? d : "";
}

/* ------------------------------------------------------------ bitsets */

static uint64_t *bs_new(state *s)
{
	if (s->pool_used + s->nwords > s->pool_cap)
		return NULL;
	uint64_t *b = s->pool + s->pool_used;
	s->pool_used += s->nwords;
	memset(b, 0, s->nwords * sizeof(uint64_t));
	return b;
}

static void bs_set(state *s, uint64_t *b, int lv)
{
	if (b && lv >= 0 && (size_t)lv < s->nwords * 64)
		b[lv / 64] |= (uint64_t)1 << (lv % 64);
}

static bool bs_get(const uint64_t *b, int lv)
{
	return lv >= 0 && (b[lv / 64] >> (lv % 64)) & 1;
}

static void bs_clear(uint64_t *b, int lv)
{
	if (lv >= 0)
		b[lv / 64] &= ~((uint64_t)1 << (lv % 64));
}

static void bs_or(state *s, uint64_t *d, const uint64_t *x)
{
	for (size_t i = 0; i < s->nwords; i++)
		d[i] |= x[i];
}

static void bs_add_src(state *s, uint64_t *b, const solver__src *src)
{
	if (!b)
		return;
	for (int i = 0; i < src->n; i++)
		bs_set(s, b, src->lv[i]);
	for (int l = 0; l <= src->upto; l++)
		bs_set(s, b, l);
}

static void bs_all(state *s, uint64_t *b)
{
	if (!b)
		return;
	for (size_t l = 0; l < s->nlevels; l++)
		bs_set(s, b, (int)l);
}

static solver__src src_one(int lv)
{
	solver__src r = {.n = lv >= 0 ? 1 : 0, .upto = -1};
	r.lv[0] = lv;
	return r;
}

static solver__src src_merge(solver__src a, int lv)
{
	if (lv < 0)
		return a;
	for (int i = 0; i < a.n; i++)
		if (a.lv[i] == lv)
			return a;
	if (a.n < 4) {
		a.lv[a.n++] = lv;
		return a;
	}
	int m = lv;
	for (int i = 0; i < a.n; i++)
		m = a.lv[i] > m ? a.lv[i] : m;
	a.upto = a.upto > m ? a.upto : m;
	return a;
}

static int src_max(const solver__src *a)
{
	int m = a->upto;
	for (int i = 0; i < a->n; i++)
		m = a->lv[i] > m ? a->lv[i] : m;
	return m;
}

/* ----------------------------------------------------- candidate checks */

static bool cand_has_comp(const solver__cand *c, const char *comp)
{
	if (!strcmp(comp, "all"))
		return true;
	if (c->kind == K_EMBED) {
		if (c->emb->ncomponents == 0)
			return !strcmp(comp, "run") || !strcmp(comp, "build");
		for (size_t i = 0; i < c->emb->ncomponents; i++)
			if (!strcmp(c->emb->components[i], comp))
				return true;
		return false;
	}
	for (size_t i = 0; i < c->b->ncomponents; i++)
		if (!strcmp(c->b->components[i].name, comp))
			return true;
	return false;
}

static const char *repo_name(const state *s, int repo)
{
	const char *n = s->o->repos[repo].name;
	return n ? n : "";
}

/* Does candidate c of X satisfy constraint k? */
/* why (may be NULL: the checks in the clause encoding only want the
 * answer, and formatting every refusal was a tenth of a solve) */
#define SAY(...)                                                                                   \
	do {                                                                                       \
		if (why)                                                                           \
			snprintf(why, whylen, __VA_ARGS__);                                        \
	} while (0)
static bool cons_allows(const state *s, int X, int c, const solver__cons *k, char *why,
			size_t whylen)
{
	const solver__cand *cd = &s->names[X].cands[c];
	if (k->exact_cand >= 0) {
		if (c == k->exact_cand)
			return true;
		SAY("it is not the build that embeds the chosen package");
		return false;
	}
	const solver_request *r = k->req;
	if (r->repo && strcmp(repo_name(s, cd->repo), r->repo)) {
		SAY("it comes from repository '%s'", repo_name(s, cd->repo));
		return false;
	}
	if (r->build) {
		bool ok = !strcmp(r->build, "src")
			      ? cd->is_source
			      : (cd->build_id && !strcmp(cd->build_id, r->build));
		if (!ok) {
			SAY("it is not build %s", r->build);
			return false;
		}
	}
	char tmp[240];
	if (!solver_range_allows(&r->range, cd->ver, cd->compat, r->compat_rule, why ? tmp : NULL,
				 why ? sizeof(tmp) : 0)) {
		SAY("version %s", tmp);
		return false;
	}
	if (cd->prerelease && r->prerelease == SOLVER_PRERELEASE_EXCLUDE &&
	    !solver_range_names_prerelease(&r->range)) {
		SAY("it is a pre-release and the request does not allow them");
		return false;
	}
	for (size_t i = 0; i < r->ncomponents; i++)
		if (!cand_has_comp(cd, r->components[i])) {
			SAY("it has no component '%s'", r->components[i]);
			return false;
		}
	return true;
}

#undef SAY

static const solver_option *find_opt(const solver_build *b, const char *var)
{
	for (size_t i = 0; i < b->noptions; i++)
		if (!strcmp(b->options[i].name, var))
			return &b->options[i];
	return NULL;
}

/* A var request on a pkg option (a build dependency): the value is a
 * version range. A build records the version it was built against: the
 * range must allow it; a recorded range (SPK writes some that way, and a
 * recipe's default build has its default range) must share a version with
 * the requested one, by SPK's bounds test. A build from source takes the
 * value as its dependency's range. An empty value matches anything. */
static bool pkg_opt_check(const state *s, const solver__cand *cd, const solver_option *opt,
			  const char *value, char *why, size_t whylen)
{
	if (!*value)
		return true;
	sp_error e = {0};
	solver_range want;
	if (solver_range_parse(&want, s->a, value, strlen(value), NULL, &e)) {
		snprintf(why, whylen, "option %s cannot be '%s': not a version range (%s)",
			 opt->name, value, e.msg);
		return false;
	}
	if (cd->kind == K_FROMSRC || !*opt->value)
		return true;
	solver_version v;
	if (!cd->b->is_recipe &&
	    !solver_version_parse(&v, s->a, opt->value, strlen(opt->value), NULL, &e)) {
		if (solver_range_allows(&want, &v, NULL, SOLVER_COMPAT_API, NULL, 0))
			return true;
		snprintf(why, whylen, "it was built against %s/%s, not %s/%s", opt->name,
			 opt->value, opt->name, value);
		return false;
	}
	solver_range have;
	if (solver_range_parse(&have, s->a, opt->value, strlen(opt->value), NULL, &e))
		return true; /* not a range: nothing to compare with */
	if (solver__ranges_meet(&have, &want, s->a, NULL, NULL))
		return true;
	snprintf(why, whylen, "its option %s is %s, which shares no version with %s", opt->name,
		 opt->value, value);
	return false;
}

static bool pkg_opt_allows(const state *cs, const solver__cand *cd, const solver_option *opt,
			   const char *value, char *why, size_t whylen)
{
	state *s = (state *)cs; /* the memo only */
	int recipe = cd->kind == K_FROMSRC ? 2 : cd->b->is_recipe;
	for (size_t i = 0; i < s->nmemo; i++) {
		const pkgopt_memo *m = &s->memo[i];
		if (m->opt == opt && m->value == value && m->recipe == recipe) {
			if (!m->ok && why)
				snprintf(why, whylen, "%s", m->why);
			return m->ok;
		}
	}
	char tmp[400];
	bool ok = pkg_opt_check(cs, cd, opt, value, tmp, sizeof(tmp));
	if (why && !ok)
		snprintf(why, whylen, "%s", tmp);
	sp_error e = {0};
	if (s->nmemo < 4096 && !GROW(s->memo, s->nmemo, s->capmemo, &e))
		s->memo[s->nmemo++] = (pkgopt_memo){opt, value, recipe, ok,
						    ok ? "" : solver_arena_strdup(s->a, tmp, &e)};
	if (s->nmemo && !s->memo[s->nmemo - 1].why)
		s->nmemo--; /* out of memory: not remembered */
	return ok;
}

/* Does candidate c of X agree with var constraint v? */
static bool var_allows(const state *s, int X, int c, const solver__vcons *v, char *why,
		       size_t whylen)
{
	const solver__cand *cd = &s->names[X].cands[c];
	if (cd->kind == K_EMBED)
		return true;
	if (v->pkg && strcmp(v->pkg, s->names[X].name))
		return true;
	const solver_option *opt = find_opt(cd->b, v->var);
	if (!opt)
		return true;
	if (opt->is_pkg)
		return pkg_opt_allows(s, cd, opt, v->value, why, whylen);
	if (cd->kind == K_FROMSRC) {
		if (opt->is_static && strcmp(opt->value, v->value)) {
			snprintf(why, whylen, "option %s is static (%s)", opt->name, opt->value);
			return false;
		}
		if (opt->nchoices) {
			for (size_t i = 0; i < opt->nchoices; i++)
				if (!strcmp(opt->choices[i], v->value))
					return true;
			snprintf(why, whylen, "option %s cannot be %s (not one of its choices)",
				 opt->name, v->value);
			return false;
		}
		return true;
	}
	if (strcmp(opt->value, v->value)) {
		snprintf(why, whylen, "its option %s is %s, not %s", opt->name, opt->value,
			 v->value);
		return false;
	}
	return true;
}

static int subsolve(state *s, solver__cand *cd);
static const char *ident(state *s, int X, int c, char *buf, size_t n);
static void trace(state *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *root_value(const state *s, const solver_build *b, const solver_option *o);

/* Why candidate cd cannot be used whatever else is chosen, or NULL: a
 * `required` var option without a value. */
static const char *cand_bad(state *s, solver__cand *cd)
{
	if (cd->kind == K_EMBED)
		return NULL;
	if (cd->bad_why)
		return *cd->bad_why ? cd->bad_why : NULL;
	cd->bad_why = "";
	const solver_build *b = cd->b;
	for (size_t i = 0; i < b->noptions; i++) {
		const solver_option *o = &b->options[i];
		if (o->is_pkg || !o->required)
			continue;
		const char *v = cd->kind == K_FROMSRC ? root_value(s, b, o) : o->value;
		if (v && *v)
			continue;
		char tmp[400];
		if (cd->kind == K_FROMSRC)
			snprintf(tmp, sizeof(tmp),
				 "its required option %s has no value (give one: --opt %s=VALUE, "
				 "or a var request %s.%s/VALUE)",
				 o->name, o->name, b->name, o->name);
		else if (b->is_recipe)
			snprintf(tmp, sizeof(tmp),
				 "its required option %s has no default value (give one with --opt "
				 "%s=VALUE and build it with --allow-builds)",
				 o->name, o->name);
		else
			snprintf(tmp, sizeof(tmp), "its required option %s has no value", o->name);
		cd->bad_why = rdetail(s, tmp);
		break;
	}
	return *cd->bad_why ? cd->bad_why : NULL;
}

/* Checks candidate c of X against everything but learned conflicts (and
 * those too when use_ng). With conf/why NULL it is a quick yes/no. */
static bool check_cand(state *s, int X, int c, uint64_t *conf, solver__reason **why, bool use_ng)
{
	solver__name *n = &s->names[X];
	solver__cand *cd = &n->cands[c];
	char tmp[320];
	if (cd->deprecated || cd->is_source) {
		bool named = false;
		for (int k = n->head; k >= 0; k = s->cons[k].next) {
			const solver_request *r = s->cons[k].req;
			if (s->cons[k].exact_cand < 0 && r->build &&
			    cons_allows(s, X, c, &s->cons[k], NULL, 0))
				named = true;
		}
		if (!named) {
			if (why) {
				*why = new_reason(
				    s, cd->deprecated && !cd->is_source ? R_DEPRECATED : R_SOURCE,
				    X, c);
			}
			if (cd->deprecated ? n->exact_named : n->src_named)
				bs_all(s, conf);
			return false;
		}
	}
	if (cand_bad(s, cd)) {
		if (why) {
			*why = new_reason(s, R_UNUSABLE, X, c);
			(*why)->detail = cd->bad_why;
		}
		return false;
	}
	if (cd->kind == K_FROMSRC) {
		if (cd->fs_state == 0 && subsolve(s, cd) < 0)
			cd->fs_state = -1;
		if (cd->fs_state < 0) {
			if (why) {
				*why = new_reason(s, R_FROMSRC, X, c);
				(*why)->detail = cd->fs_why;
			}
			return false;
		}
	}
	/* constraints: the oldest rejecting one gives the smallest conflict */
	const solver__cons *bad = NULL;
	for (int k = n->head; k >= 0; k = s->cons[k].next) {
		const solver__cons *kk = &s->cons[k];
		if (!cons_allows(s, X, c, kk, tmp, sizeof(tmp))) {
			if (!why && !conf)
				return false;
			if (!bad || src_max(&kk->src) <= src_max(&bad->src))
				bad = kk;
		}
	}
	if (bad) {
		bs_add_src(s, conf, &bad->src);
		if (why) {
			cons_allows(s, X, c, bad, tmp, sizeof(tmp));
			solver__reason *r = new_reason(s, R_CONS, X, c);
			r->req = bad->req;
			r->rsrc_name = bad->src_name;
			r->rsrc_cand = bad->src_cand;
			r->ocand = bad->exact_cand;
			r->detail = rdetail(s, tmp);
			*why = r;
		}
		return false;
	}
	for (size_t v = 0; v < s->nvcons; v++) {
		if (!var_allows(s, X, c, &s->vcons[v], tmp, sizeof(tmp))) {
			bs_add_src(s, conf, &s->vcons[v].src);
			if (why) {
				solver__reason *r = new_reason(s, R_VAR, X, c);
				r->req = s->vcons[v].req;
				r->rsrc_name = s->vcons[v].src_name;
				r->rsrc_cand = s->vcons[v].src_cand;
				r->detail = rdetail(s, tmp);
				*why = r;
			}
			return false;
		}
	}
	if (use_ng) {
		for (size_t i = 0; i < cd->nng; i++) {
			const nogood *g = &s->ngs[cd->ng[i]];
			bool all = true;
			for (size_t m = 0; m < g->n && all; m++) {
				int gn = s->ngdata[g->off + 2 * m],
				    gc = s->ngdata[g->off + 2 * m + 1];
				if (gn == X && gc == c)
					continue;
				all = s->names[gn].assigned == gc;
			}
			if (!all)
				continue;
			for (size_t m = 0; m < g->n; m++) {
				int gn = s->ngdata[g->off + 2 * m];
				if (gn != X)
					bs_set(s, conf, s->names[gn].level);
			}
			if (why) {
				solver__reason *r = new_reason(s, R_NOGOOD, X, c);
				r->child = g->why;
				*why = r;
			}
			return false;
		}
	}
	return true;
}

/* ------------------------------------------------------------ loading */

static int cand_cmp(const void *pa, const void *pb)
{
	const solver__cand *a = pa, *b = pb;
	int c = solver_version_cmp(b->ver, a->ver);
	if (c)
		return c;
	if (a->kind != b->kind)
		return a->kind - b->kind;
	if (a->is_source != b->is_source)
		return a->is_source - b->is_source;
	if (a->deprecated != b->deprecated)
		return a->deprecated - b->deprecated;
	c = strcmp(a->build_id ? a->build_id : "", b->build_id ? b->build_id : "");
	if (c)
		return c;
	if (a->kind == K_EMBED) {
		c = strcmp(a->b->name, b->b->name);
		if (c)
			return c;
		c = solver_version_cmp(b->b->version.parts ? &b->b->version : a->ver,
				       &a->b->version);
		if (c)
			return c;
		c = strcmp(a->b->build ? a->b->build : "", b->b->build ? b->b->build : "");
		if (c)
			return c;
		if (a->parent_kind != b->parent_kind)
			return a->parent_kind - b->parent_kind;
	}
	return a->repo - b->repo;
}

/* ---------------------------------------------- build order (SPK's key)
 *
 * Builds of one version are ordered by their option values, as SPK's
 * build key does: the options whose values differ between the builds (or
 * that some builds lack) are compared one by one, gcc and python first,
 * then the others by name. A value that reads as a version range compares
 * by its upper limit, then its lower one (the limits spelled out in parts,
 * tags after the numbers); such values come before text values, which come
 * before a missing value; higher first, text in reverse alphabetical order
 * ("on" before "off"). Equal keys keep the build id order. */

enum { KEY_NOTSET = 0, KEY_TEXT = 1, KEY_VERSION = 2 };

typedef struct keyent {
	int type;
	solver__bound max, min;
	const char *text;
} keyent;

typedef struct keyctx {
	const keyent *ents;
	size_t nnames;
	const solver__cand *v;
} keyctx;

static int tags_key_cmp(const solver_tag *a, size_t na, const solver_tag *b, size_t nb)
{
	if (!na || !nb)
		return (na > 0) - (nb > 0);
	for (size_t i = 0; i < na && i < nb; i++) {
		int c = strcmp(a[i].name, b[i].name);
		if (c)
			return c;
		if (a[i].num != b[i].num)
			return a[i].num < b[i].num ? -1 : 1;
	}
	return (na > nb) - (na < nb);
}

/* SPK's build-key order of a version: parts as a list (a shorter prefix
 * first), then post tags, then pre tags (none before some). */
static int key_version_cmp(const solver__bound *a, const solver__bound *b)
{
	const solver_version *x = &a->v, *y = &b->v;
	for (size_t i = 0; i < x->nparts && i < y->nparts; i++)
		if (x->parts[i] != y->parts[i])
			return x->parts[i] < y->parts[i] ? -1 : 1;
	if (x->nparts != y->nparts)
		return x->nparts < y->nparts ? -1 : 1;
	int c = tags_key_cmp(x->post, x->npost, y->post, y->npost);
	if (!c)
		c = tags_key_cmp(x->pre, x->npre, y->pre, y->npre);
	if (!c)
		c = (int)a->eps - (int)b->eps;
	return c;
}

static int keyent_cmp(const keyent *a, const keyent *b)
{
	if (a->type != b->type)
		return a->type - b->type;
	int c = 0;
	if (a->type == KEY_VERSION) {
		c = key_version_cmp(&a->max, &b->max);
		if (!c)
			c = key_version_cmp(&a->min, &b->min);
	}
	if (!c && a->type != KEY_NOTSET)
		c = strcmp(a->text, b->text);
	return c;
}

static int key_cmp(const void *pa, const void *pb, void *arg)
{
	const keyctx *k = arg;
	size_t ia = *(const size_t *)pa, ib = *(const size_t *)pb;
	for (size_t n = 0; n < k->nnames; n++) {
		int c = keyent_cmp(&k->ents[ib * k->nnames + n], &k->ents[ia * k->nnames + n]);
		if (c)
			return c; /* higher first */
	}
	return cand_cmp(&k->v[ia], &k->v[ib]);
}

static const uint32_t key_max_parts[3] = {UINT32_MAX, UINT32_MAX, UINT32_MAX};
static const uint32_t key_min_parts[3] = {0, 0, 0};

static int key_entry(state *s, keyent *e, const char *value)
{
	e->text = value;
	e->type = KEY_TEXT;
	solver_range r;
	sp_error ignore = {0};
	if (*value && solver_range_parse(&r, s->a, value, strlen(value), NULL, &ignore))
		return 0;
	if (!*value)
		r.nrules = 0;
	int rc = solver__range_bounds(&r, s->a, &e->min, &e->max, s->err);
	if (rc)
		return rc;
	if (!e->max.set)
		e->max = (solver__bound){{.parts = key_max_parts, .nparts = 3}, true, false};
	if (!e->min.set)
		e->min = (solver__bound){{.parts = key_min_parts, .nparts = 3}, true, false};
	e->type = KEY_VERSION;
	return 0;
}

static const char *opt_value(const solver_build *b, const char *name)
{
	for (size_t i = 0; i < b->noptions; i++)
		if (!strcmp(b->options[i].name, name))
			return b->options[i].value;
	return NULL;
}

static bool key_candidate(const solver__cand *c)
{
	return c->kind == K_BUILD && !c->is_source;
}

/* Reorders the published builds of each version of v[0..n) (sorted by
 * cand_cmp) by their build keys. */
static int order_builds(state *s, solver__cand *v, size_t n)
{
	int rc = 0;
	for (size_t i = 0; i < n && !rc;) {
		size_t j = i + 1;
		while (j < n && !solver_version_cmp(v[i].ver, v[j].ver))
			j++;
		size_t nb = 0;
		for (size_t k = i; k < j; k++)
			nb += key_candidate(&v[k]);
		if (nb >= 2) {
			/* the option names worth a place in the key */
			const char **names = NULL;
			size_t nn = 0, capn = 0;
			for (size_t k = i; k < j && !rc; k++) {
				if (!key_candidate(&v[k]))
					continue;
				for (size_t o = 0; o < v[k].b->noptions && !rc; o++) {
					const char *nm = v[k].b->options[o].name;
					bool seen = false;
					for (size_t q = 0; q < nn && !seen; q++)
						seen = !strcmp(names[q], nm);
					if (seen)
						continue;
					size_t count = 0;
					const char *first = NULL;
					bool differ = false;
					for (size_t m = i; m < j; m++) {
						const char *val;
						if (!key_candidate(&v[m]) ||
						    !(val = opt_value(v[m].b, nm)))
							continue;
						count++;
						if (!first)
							first = val;
						else if (strcmp(first, val))
							differ = true;
					}
					if (!differ && count == nb)
						continue;
					if (!(rc = GROW(names, nn, capn, s->err)))
						names[nn++] = nm;
				}
			}
			/* gcc, python, then by name */
			for (size_t a = 1; !rc && a < nn; a++)
				for (size_t z = a; z > 0; z--) {
					const char *p = names[z - 1], *q = names[z];
					int rp = !strcmp(p, "gcc")	? 0
						 : !strcmp(p, "python") ? 1
									: 2;
					int rq = !strcmp(q, "gcc")	? 0
						 : !strcmp(q, "python") ? 1
									: 2;
					if (rp < rq || (rp == rq && strcmp(p, q) <= 0))
						break;
					names[z - 1] = q;
					names[z] = p;
				}
			/* sort each run of published, non-source builds */
			for (size_t a = i; !rc && nn && a < j;) {
				size_t z = a + 1;
				if (key_candidate(&v[a]))
					while (z < j && key_candidate(&v[z]) &&
					       v[z].deprecated == v[a].deprecated)
						z++;
				size_t cnt = z - a;
				if (cnt >= 2) {
					keyent *ents = calloc(cnt * nn, sizeof(*ents));
					size_t *idx = calloc(cnt, sizeof(*idx));
					solver__cand *tmp = calloc(cnt, sizeof(*tmp));
					if (!ents || !idx || !tmp)
						rc = sp_error_set(s->err, SP_ENOMEM,
								  "out of memory");
					for (size_t m = 0; !rc && m < cnt; m++) {
						idx[m] = m;
						for (size_t q = 0; !rc && q < nn; q++) {
							const char *val =
							    opt_value(v[a + m].b, names[q]);
							if (val)
								rc = key_entry(s, &ents[m * nn + q],
									       val);
						}
					}
					if (!rc) {
						keyctx kc = {ents, nn, v + a};
						qsort_r(idx, cnt, sizeof(*idx), key_cmp, &kc);
						for (size_t m = 0; m < cnt; m++)
							tmp[m] = v[a + idx[m]];
						memcpy(v + a, tmp, cnt * sizeof(*tmp));
					}
					free(ents);
					free(idx);
					free(tmp);
				}
				a = z;
			}
			free(names);
		}
		i = j;
	}
	return rc;
}

typedef struct cand_list {
	solver__cand *v;
	size_t n, cap;
} cand_list;

static int push_cand(state *s, cand_list *l, const solver__cand *c)
{
	int rc = GROW(l->v, l->n, l->cap, s->err);
	if (rc)
		return rc;
	l->v[l->n++] = *c;
	return 0;
}

/* Loads the candidates of names[id]; queues the names they mention. */
static int load_name(state *s, int id)
{
	cand_list l = {0};
	int rc = 0;
	const char *name = s->names[id].name;
	for (size_t r = 0; r < s->o->nrepos && !rc; r++) {
		const solver_repo *repo = &s->o->repos[r];
		const solver_build *const *bs = NULL;
		size_t nb = 0;
		rc = repo->ops->builds(repo->self, name, &bs, &nb, s->err);
		if (rc) {
			sp_error_prefix(s->err, "reading package %s", name);
			break;
		}
		for (size_t i = 0; i < nb && !rc; i++) {
			const solver_build *b = bs[i];
			/* the first repository wins for an identical build */
			bool dup = false;
			for (size_t k = 0; k < l.n && !dup; k++)
				dup = l.v[k].kind == K_BUILD && l.v[k].repo != (int)r &&
				      !solver_version_cmp(l.v[k].ver, &b->version) &&
				      !strcmp(l.v[k].build_id, b->build);
			if (dup)
				continue;
			solver__cand c = {.b = b,
					  .repo = (int)r,
					  .kind = K_BUILD,
					  .ver = &b->version,
					  .compat = &b->compat,
					  .build_id = b->build,
					  .deprecated = b->deprecated,
					  .prerelease = b->version.npre > 0,
					  .is_source = b->is_source,
					  .parent_name = -1,
					  .parent_cand = -1};
			rc = push_cand(s, &l, &c);
			if (!rc && b->is_recipe && s->o->allow_builds) {
				c.kind = K_FROMSRC;
				c.build_id = "(from source)";
				c.deprecated = b->deprecated;
				rc = push_cand(s, &l, &c);
			}
		}
		if (rc)
			break;
		rc = repo->ops->embedders(repo->self, name, &bs, &nb, s->err);
		if (rc) {
			sp_error_prefix(s->err, "reading packages that embed %s", name);
			break;
		}
		for (size_t i = 0; i < nb && !rc; i++) {
			const solver_build *b = bs[i];
			for (int pass = 0; pass < 2 && !rc; pass++) {
				/* pass 0: install.embedded, pass 1: components */
				size_t ngroups = pass == 0 ? 1 : b->ncomponents;
				for (size_t g = 0; g < ngroups && !rc; g++) {
					const solver_embedded *es =
					    pass == 0 ? b->embedded : b->components[g].embedded;
					size_t ne =
					    pass == 0 ? b->nembedded : b->components[g].nembedded;
					for (size_t e = 0; e < ne && !rc; e++) {
						if (strcmp(es[e].name, name))
							continue;
						solver__cand c = {.b = b,
								  .repo = (int)r,
								  .kind = K_EMBED,
								  .emb = &es[e],
								  .ver = &es[e].version,
								  .compat = NULL,
								  .build_id = "embedded",
								  .deprecated = b->deprecated,
								  .prerelease =
								      es[e].version.npre > 0,
								  .parent_name = -1,
								  .parent_cand = -1,
								  .parent_kind = K_BUILD};
						rc = push_cand(s, &l, &c);
						if (!rc && b->is_recipe && s->o->allow_builds) {
							c.parent_kind = K_FROMSRC;
							rc = push_cand(s, &l, &c);
						}
					}
				}
			}
		}
	}
	if (rc) {
		free(l.v);
		return rc;
	}
	if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), cand_cmp);
	if (!rc && l.n > 1)
		rc = order_builds(s, l.v, l.n);
	if (rc) {
		free(l.v);
		return rc;
	}
	solver__cand *arr = solver_arena_array(s->a, l.n ? l.n : 1, sizeof(*arr), s->err);
	if (!arr) {
		free(l.v);
		return s->err->code;
	}
	if (l.n)
		memcpy(arr, l.v, l.n * sizeof(*arr));
	free(l.v);
	s->names[id].cands = arr;
	s->names[id].ncands = l.n;
	return 0;
}

static void note_request(state *s, const solver_request *r)
{
	if (r->kind != SOLVER_REQ_PKG || !r->build)
		return;
	int id = find_name(s, r->name);
	if (id < 0)
		return;
	if (!strcmp(r->build, "src"))
		s->names[id].src_named = true;
	else
		s->names[id].exact_named = true;
}

/* add_name, remembering how a new name came in. */
static int add_name_via(state *s, const char *name, int via_name, int via_cand,
			const solver_request *via_req)
{
	size_t before = s->nnames;
	int id, rc = add_name(s, name, &id);
	if (!rc && s->nnames > before) {
		s->names[id].via_name = via_name;
		s->names[id].via_cand = via_cand;
		s->names[id].via_req = via_req;
	}
	return rc;
}

/* Loads every name reachable from the requests, then links embedded
 * candidates to their parents. */
static int load_closure(state *s)
{
	int rc;
	for (size_t i = 0; i < s->o->nrequests; i++) {
		const solver_request *r = &s->o->requests[i];
		if (r->kind == SOLVER_REQ_PKG && (rc = add_name_via(s, r->name, -1, -1, r)))
			return rc;
	}
	for (size_t done = 0; done < s->nnames; done++) {
		if ((rc = load_name(s, (int)done)))
			return rc;
		solver__name *n = &s->names[done];
		for (size_t c = 0; c < n->ncands; c++) {
			const solver__cand *cd = &s->names[done].cands[c];
			const solver_build *b = cd->b;
			if (cd->kind == K_EMBED) {
				if ((rc = add_name_via(s, b->name, (int)done, (int)c, NULL)))
					return rc;
				continue;
			}
			for (size_t k = 0; k < b->nreqs; k++)
				if (b->reqs[k].kind == SOLVER_REQ_PKG &&
				    (rc = add_name_via(s, b->reqs[k].name, (int)done, (int)c,
						       &b->reqs[k])))
					return rc;
			for (size_t m = 0; m < b->ncomponents; m++) {
				const solver_component *cp = &b->components[m];
				for (size_t k = 0; k < cp->nreqs; k++)
					if (cp->reqs[k].kind == SOLVER_REQ_PKG &&
					    (rc = add_name_via(s, cp->reqs[k].name, (int)done,
							       (int)c, &cp->reqs[k])))
						return rc;
				for (size_t k = 0; k < cp->nembedded; k++)
					if ((rc = add_name_via(s, cp->embedded[k].name, (int)done,
							       (int)c, NULL)))
						return rc;
			}
			for (size_t k = 0; k < b->nembedded; k++)
				if ((rc = add_name_via(s, b->embedded[k].name, (int)done, (int)c,
						       NULL)))
					return rc;
		}
	}
	/* link embedded stubs to their parent candidates */
	for (size_t i = 0; i < s->nnames; i++) {
		solver__name *n = &s->names[i];
		for (size_t c = 0; c < n->ncands; c++) {
			solver__cand *cd = &n->cands[c];
			if (cd->kind != K_EMBED)
				continue;
			int p = find_name(s, cd->b->name);
			cd->parent_name = p;
			for (size_t k = 0; p >= 0 && k < s->names[p].ncands; k++) {
				const solver__cand *pc = &s->names[p].cands[k];
				if (pc->kind == cd->parent_kind && pc->b == cd->b) {
					cd->parent_cand = (int)k;
					break;
				}
			}
		}
	}
	/* which names are ever requested by exact build */
	for (size_t i = 0; i < s->o->nrequests; i++)
		note_request(s, &s->o->requests[i]);
	for (size_t i = 0; i < s->nnames; i++) {
		solver__name *n = &s->names[i];
		for (size_t c = 0; c < n->ncands; c++) {
			const solver_build *b = n->cands[c].b;
			if (n->cands[c].kind == K_EMBED)
				continue;
			for (size_t k = 0; k < b->nreqs; k++)
				note_request(s, &b->reqs[k]);
			for (size_t m = 0; m < b->ncomponents; m++)
				for (size_t k = 0; k < b->components[m].nreqs; k++)
					note_request(s, &b->components[m].reqs[k]);
		}
	}
	return 0;
}

/* ----------------------------------------------------------- sub-solve */

/* The value a build from source (or a recipe's default build) takes for
 * option o: its default, or what a command-line var request (or --opt)
 * asks for. Var requests that later choices add are not seen here: the
 * build environment is solved once per candidate. */
static const char *root_value(const state *s, const solver_build *b, const solver_option *o)
{
	const char *v = o->value;
	if (o->is_static)
		return v;
	for (size_t i = 0; i < s->nvcons; i++) {
		const solver__vcons *vc = &s->vcons[i];
		if (vc->src_name < 0 && !strcmp(vc->var, o->name) &&
		    (!vc->pkg || !strcmp(vc->pkg, b->name)))
			v = vc->value;
	}
	return v;
}

/* Build environments are traced on the top-level solve's trace (a nested
 * solve's own decisions are not). */
static void env_trace(state *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void env_trace(state *s, const char *fmt, ...)
{
	FILE *f = solver__env_trace(s->env);
	if (!f)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(f, "%*s", (int)solver__env_depth(s->env) * 2, "");
	vfprintf(f, fmt, ap);
	fputc('\n', f);
	va_end(ap);
}

/* How name X came into this solve, from a command-line request: "needs
 * e/~2.4.0, whose candidate e/3.1.1/ABC requires i". */
static int via_text(state *s, int X, sp_buf *out, sp_error *err)
{
	int path[64], n = 0;
	for (int Y = X; Y >= 0 && n < 64; Y = s->names[Y].via_name)
		path[n++] = Y;
	char id[256];
	const solver__name *root = &s->names[path[n - 1]];
	int rc =
	    sp_buf_printf(out, err, "needs %s", root->via_req ? root->via_req->text : root->name);
	for (int i = n - 2; i >= 0 && !rc; i--) {
		const solver__name *y = &s->names[path[i]];
		ident(s, y->via_name, y->via_cand, id, sizeof(id));
		if (y->via_req)
			rc = sp_buf_printf(out, err, ", whose candidate %s requires %s", id,
					   y->via_req->text);
		else
			rc = sp_buf_printf(out, err, ", whose candidate %s embeds %s", id, y->name);
	}
	return rc;
}

/* Takes a build environment's verdict for cd, copied into this solve. */
static int env_take(state *s, solver__cand *cd, bool ok, const solver_build *const *env,
		    size_t nenv, const char *why)
{
	cd->fs_state = ok ? 1 : -1;
	if (!ok) {
		cd->fs_why = rdetail(s, why);
		return 0;
	}
	const solver_build **v = solver_arena_array(s->a, nenv ? nenv : 1, sizeof(*v), s->err);
	if (!v)
		return s->err->code;
	if (nenv)
		memcpy(v, env, nenv * sizeof(*v));
	cd->env = v;
	cd->nenv = nenv;
	return 0;
}

/* Why a build environment cannot be resolved, on one line: its requests
 * and the nested solve's one-line reason (its whole explanation nested in
 * another would bury the outer one). */
static int env_why(sp_buf *t, const solver_result *r, int rc, const sp_error *e,
		   const solver_request *reqs, size_t nreqs, sp_error *err)
{
	int k = sp_buf_printf(t, err, "its build environment (");
	for (size_t i = 0; i < nreqs && !k; i++)
		k = sp_buf_printf(t, err, "%s%s", i ? ", " : "", reqs[i].text);
	if (!k)
		k = sp_buf_printf(t, err, ") cannot be resolved: ");
	if (k)
		return k;
	if (rc != SOLVER_EUNSAT)
		return sp_buf_printf(t, err, "%s", e->msg);
	sp_buf w = {0};
	if (r->why) {
		k = solver__explain_reason(&w, r->names, r->why, err);
	} else {
		/* the clause solver's facts: the first one */
		const char *x = strstr(solver_result_explanation(r), "\n- ");
		const char *end = x ? strchr(x + 3, '\n') : NULL;
		k = x ? sp_buf_printf(&w, err, "%.*s",
				      (int)(end ? end - x - 3 : (ptrdiff_t)strlen(x + 3)), x + 3)
		      : sp_buf_printf(&w, err, "its requirements cannot all hold at once");
	}
	/* the nested solve's "command line" is the build's options */
	static const char *const from[] = {"the command line requires", "the command line"};
	static const char *const to[] = {"its build options require", "its build options"};
	const char *p = w.data ? w.data : "";
	while (!k) {
		const char *q = strstr(p, from[1]);
		if (!q)
			break;
		int f = !strncmp(q, from[0], strlen(from[0])) ? 0 : 1;
		k = sp_buf_printf(t, err, "%.*s%s", (int)(q - p), p, to[f]);
		p = q + strlen(from[f]);
	}
	if (!k)
		k = sp_buf_printf(t, err, "%s", p);
	sp_buf_free(&w);
	return k;
}

/* The inputs of cd's build environment solve, as `spk build` does: its
 * var options are the solve's options, its pkg options (with the values
 * asked for) its requests. A recipe's default build takes its defaults, a
 * build from source what the command line asks for. *bad (room for n)
 * says why a value is not a range; <0 only when out of memory. */
static int env_inputs(state *s, const solver__cand *cd, solver_opt **opts_out, size_t *nopts_out,
		      solver_request **reqs_out, char *bad, size_t n)
{
	const solver_build *b = cd->b;
	bool given = cd->kind == K_FROMSRC;
	sp_error e = {0};
	solver_opt *opts = solver_arena_array(s->a, b->noptions + s->nvcons + 1, sizeof(*opts), &e);
	solver_request *reqs = solver_arena_array(s->a, b->nbuild_reqs + 1, sizeof(*reqs), &e);
	if (!opts || !reqs)
		return sp_error_set(s->err, SP_ENOMEM, "out of memory (build environment)");
	size_t nopts = 0;
	for (size_t i = 0; i < b->noptions; i++)
		if (!b->options[i].is_pkg)
			opts[nopts++] = (solver_opt){b->options[i].name,
						     given ? root_value(s, b, &b->options[i])
							   : b->options[i].value};
	/* the other command-line options go to the build environment too, as
	 * SPK passes the whole option map to it */
	for (size_t i = 0; given && i < s->nvcons; i++) {
		const solver__vcons *vc = &s->vcons[i];
		if (vc->src_name >= 0 || (vc->pkg && !strcmp(vc->pkg, b->name)))
			continue;
		if (!vc->pkg && find_opt(b, vc->var))
			continue;
		const char *nm = vc->var;
		if (vc->pkg) {
			char t[300];
			snprintf(t, sizeof(t), "%s.%s", vc->pkg, vc->var);
			if (!(nm = solver_arena_strdup(s->a, t, &e)))
				return sp_error_set(s->err, SP_ENOMEM, "out of memory");
		}
		opts[nopts++] = (solver_opt){nm, vc->value};
	}
	bad[0] = '\0';
	for (size_t i = 0; i < b->nbuild_reqs; i++) {
		reqs[i] = b->build_reqs[i];
		for (size_t k = 0; k < b->noptions; k++) {
			const solver_option *o = &b->options[k];
			const char *v = given ? root_value(s, b, o) : o->value;
			if (!o->is_pkg || strcmp(o->name, reqs[i].name) || v == o->value)
				continue;
			char t[600];
			snprintf(t, sizeof(t), "%s/%s", o->name, v);
			if (solver_request_parse(&reqs[i], s->a, t, strlen(t), SOLVER_COMPAT_API,
						 NULL, &e))
				snprintf(bad, n, "%s", e.msg);
		}
	}
	*opts_out = opts;
	*nopts_out = nopts;
	*reqs_out = reqs;
	return 0;
}

/* cd's build environment is not solved here: it is open already (at >= 0,
 * a cycle), the nesting is too deep, or too many were solved. Not
 * remembered: the verdict depends on the open environments. */
static int env_refuse(state *s, solver__cand *cd, int at, bool deep, const char *vtext,
		      const char *vident)
{
	sp_buf t = {0};
	sp_error e = {0};
	int rc = 0;
	if (at >= 0) {
		rc = solver__env_chain(&t, s->env, (size_t)at, vtext, vident, true, &e);
	} else if (deep) {
		rc = sp_buf_printf(&t, &e, "build environments nest more than %d deep here (",
				   SOLVER__ENV_MAX_DEPTH);
		if (!rc)
			rc = solver__env_chain(&t, s->env, 0, vtext, vident, false, &e);
		if (!rc)
			rc = sp_buf_printf(&t, &e, ")");
	} else {
		rc = sp_buf_printf(&t, &e,
				   "more than %d build environments would have to be solved for "
				   "this request",
				   SOLVER__ENV_MAX_SOLVES);
	}
	if (rc) {
		sp_buf_free(&t);
		return sp_error_set(s->err, rc, "%s", e.msg);
	}
	char vs[128];
	env_trace(s, "cannot solve the build environment of %s/%s: %s", cd->b->name,
		  solver_version_str(&cd->b->version, vs, sizeof(vs)), t.data);
	rc = env_take(s, cd, false, NULL, 0, t.data);
	sp_buf_free(&t);
	return rc;
}

/* Solves the build environment of cd's recipe (see env_inputs) and keeps
 * the builds it chose in cd->env. Each environment is solved once per
 * top-level solve; one that needs itself, or nests too deep, cannot be
 * resolved (see buildenv.c). */
static int subsolve(state *s, solver__cand *cd)
{
	const solver_build *b = cd->b;
	solver_opt *opts = NULL;
	solver_request *reqs = NULL;
	size_t nopts = 0;
	char bad[600];
	int rc = env_inputs(s, cd, &opts, &nopts, &reqs, bad, sizeof(bad));
	if (rc)
		return rc;
	if (bad[0]) {
		char t[700];
		snprintf(t, sizeof(t), "its build environment cannot be resolved: %s", bad);
		return env_take(s, cd, false, NULL, 0, t);
	}
	sp_error e = {0};
	char *key = NULL;
	if (solver__env_key(&key, b, opts, nopts, reqs, b->nbuild_reqs, s->a, &e))
		return sp_error_set(s->err, e.code, "%s", e.msg);
	const solver__envmemo *m = solver__env_lookup(s->env, key);
	if (m)
		return env_take(s, cd, m->ok, m->env, m->nenv, m->why);
	/* how cd came into this solve, for the words of a cycle */
	int X = find_name(s, b->name);
	int c = X >= 0 ? (int)(cd - s->names[X].cands) : -1;
	sp_buf via = {0};
	if (X >= 0 && via_text(s, X, &via, &e)) {
		sp_buf_free(&via);
		return sp_error_set(s->err, e.code, "%s", e.msg);
	}
	char idb[256] = "";
	if (X >= 0 && c >= 0 && (size_t)c < s->names[X].ncands)
		ident(s, X, c, idb, sizeof(idb));
	const char *vtext = rdetail(s, via.data ? via.data : "");
	const char *vident = rdetail(s, idb);
	sp_buf_free(&via);
	int at = solver__env_active(s->env, key);
	bool deep = solver__env_depth(s->env) >= SOLVER__ENV_MAX_DEPTH;
	if (at >= 0 || deep || solver__env_count(s->env) >= SOLVER__ENV_MAX_SOLVES)
		return env_refuse(s, cd, at, deep, vtext, vident);
	solver_options o = {
	    .repos = s->o->repos,
	    .nrepos = s->o->nrepos,
	    .requests = reqs,
	    .nrequests = b->nbuild_reqs,
	    .opts = opts,
	    .nopts = nopts,
	    .allow_builds = false,
	    .max_steps = s->o->max_steps,
	};
	solver_result *r = NULL;
	char vs[128];
	env_trace(s, "solve the build environment of %s/%s (depth %zu)", b->name,
		  solver_version_str(&b->version, vs, sizeof(vs)), solver__env_depth(s->env) + 1);
	solver__env_push(s->env, key, b, vtext, vident);
	rc = solver__solve_in(&r, &o, s->env, &e);
	solver__env_pop(s->env);
	const solver_build **env = NULL;
	size_t k = 0;
	sp_buf t = {0};
	sp_error e2 = {0};
	if (rc == 0) {
		size_t n = solver_result_count(r);
		env = solver_arena_array(s->a, n ? n : 1, sizeof(*env), &e2);
		for (size_t i = 0; env && i < n; i++) {
			const solver_resolved *it = solver_result_get(r, i);
			if (!it->embedded_in) /* stand-ins live in r's arena */
				env[k++] = it->build;
		}
		if (!env)
			rc = e2.code;
	} else if (env_why(&t, r, rc, &e, reqs, b->nbuild_reqs, &e2)) {
		rc = e2.code == SP_ENOMEM ? SP_ENOMEM : rc;
	}
	solver_result_free(r);
	if (rc == SP_ENOMEM) {
		sp_buf_free(&t);
		return sp_error_set(s->err, SP_ENOMEM, "out of memory (build environment)");
	}
	bool ok = rc == 0;
	env_trace(s, "build environment of %s/%s: %s", b->name, vs, ok ? "solved" : "unresolvable");
	rc = solver__env_remember(s->env, key, ok, env, k, t.data, s->err);
	if (!rc)
		rc = env_take(s, cd, ok, env, k, t.data ? t.data : "");
	sp_buf_free(&t);
	return rc;
}

/* ----------------------------------------------- requirements as they apply */

/* Renders a fromBuildEnv pin against version v (SPK: "x.x" takes that many
 * parts, "~x.x" keeps the ~, "Binary" and true give Binary:v, "API" API:v). */
static int render_pin(sp_buf *out, const char *pin, const solver_version *v, sp_error *err)
{
	char ver[256];
	solver_version_str(v, ver, sizeof(ver));
	if (!pin || !strcmp(pin, "true") || !strcmp(pin, "Binary"))
		return sp_buf_printf(out, err, "Binary:%s", ver);
	if (!strcmp(pin, "API"))
		return sp_buf_printf(out, err, "API:%s", ver);
	size_t part = 0;
	int rc = 0;
	for (const char *p = pin; *p && !rc; p++) {
		if (*p == 'x') {
			rc = sp_buf_printf(out, err, "%u", part < v->nparts ? v->parts[part] : 0);
			part++;
		} else {
			rc = sp_buf_append(out, p, 1, err);
		}
	}
	return rc;
}

static const solver_build *env_find(const solver__cand *cd, const char *name)
{
	for (size_t i = 0; i < cd->nenv; i++)
		if (!strcmp(cd->env[i]->name, name))
			return cd->env[i];
	return NULL;
}

/* Does some build of a name among b's build requirements pass an option on
 * (Strong)? Only then is a recipe's default build worth a sub-solve. */
static bool env_may_inherit(state *s, const solver_build *b)
{
	for (size_t i = 0; i < b->nbuild_reqs; i++)
		for (size_t r = 0; r < s->o->nrepos; r++) {
			const solver_build *const *bs = NULL;
			size_t nb = 0;
			sp_error e = {0};
			const solver_repo *repo = &s->o->repos[r];
			if (repo->ops->builds(repo->self, b->build_reqs[i].name, &bs, &nb, &e))
				continue;
			for (size_t k = 0; k < nb; k++)
				for (size_t o = 0; o < bs[k]->noptions; o++)
					if (!bs[k]->options[o].is_pkg &&
					    bs[k]->options[o].inheritance == SOLVER_INHERIT_STRONG)
						return true;
		}
	return false;
}

/* The install requirements of candidate cd as they apply:
 * - fromBuildEnv: pinned to the version in its build environment (the
 *   sub-solve of a build from source or of a recipe's default build), or,
 *   for a published build, to the version its pkg option records; left as
 *   written when neither knows the package;
 * - var requests with fromBuildEnv take the build's own option value;
 * - a Strong var option of a package in its build environment adds
 *   "pkg.var/value" (SPK writes these into a build's spec when it builds
 *   it; published specs carry them already). */
/* Pins the fromBuildEnv requests of reqs[0..n) for cd into v (room for
 * n); *nv is how many there are (an unpinnable var request is dropped). */
static int pin_list(state *s, const solver__cand *cd, const solver_request *reqs, size_t n,
		    solver_request *v, size_t *nv)
{
	const solver_build *b = cd->b;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const solver_request *r = &reqs[i];
		v[k] = *r;
		if (!r->from_build_env) {
			k++;
			continue;
		}
		if (r->kind == SOLVER_REQ_VAR) {
			/* the value this build used: its own option of that name */
			const char *full = r->var_pkg ? NULL : r->var;
			const solver_option *opt = full ? find_opt(b, full) : NULL;
			if (!opt && r->var_pkg) {
				const solver_build *dep = env_find(cd, r->var_pkg);
				char nm[300];
				snprintf(nm, sizeof(nm), "%s.%s", r->var_pkg, r->var);
				opt = find_opt(b, nm);
				if (!opt && dep)
					opt = find_opt(dep, r->var);
				if (!opt && !strcmp(r->var_pkg, b->name))
					opt = find_opt(b, r->var);
			}
			const char *val =
			    opt ? (cd->kind == K_FROMSRC ? root_value(s, b, opt) : opt->value)
				: NULL;
			if (!val || !*val)
				continue; /* nothing to pin it to: dropped */
			v[k].value = val;
			char t[600];
			snprintf(t, sizeof(t), "%s%s%s/%s", r->var_pkg ? r->var_pkg : "",
				 r->var_pkg ? "." : "", r->var, val);
			if (!(v[k].text = solver_arena_strdup(s->a, t, s->err)))
				return s->err->code;
			k++;
			continue;
		}
		solver_version pv;
		const solver_version *ver = NULL;
		const solver_build *dep = env_find(cd, r->name);
		if (dep) {
			ver = &dep->version;
		} else if (cd->kind == K_BUILD && !b->is_recipe) {
			const solver_option *opt = find_opt(b, r->name);
			sp_error e = {0};
			if (opt && opt->is_pkg &&
			    !solver_version_parse(&pv, s->a, opt->value, strlen(opt->value), NULL,
						  &e))
				ver = &pv;
		}
		if (!ver) {
			/* not in the build environment: as written, or dropped
			 * (ifPresentInBuildEnv) */
			k += !r->if_present;
			continue;
		}
		sp_buf t = {0};
		sp_error e = {0};
		solver_range pr;
		if (render_pin(&t, r->pin, ver, &e) == 0 &&
		    solver_range_parse(&pr, s->a, t.data, t.len, NULL, &e) == 0) {
			v[k].range = pr;
			sp_buf tx = {0};
			if (sp_buf_printf(&tx, &e, "%s/%s", r->name, t.data) == 0)
				v[k].text = solver_arena_strdup(s->a, tx.data, &e);
			sp_buf_free(&tx);
			if (!v[k].text)
				v[k].text = r->text;
		}
		/* a pin that does not render to a range stays as written */
		sp_buf_free(&t);
		k++;
	}
	*nv = k;
	return 0;
}

static bool any_pin(const solver_request *reqs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (reqs[i].from_build_env)
			return true;
	return false;
}

static bool cand_has_pins(const solver_build *b)
{
	bool pins = any_pin(b->reqs, b->nreqs);
	for (size_t m = 0; m < b->ncomponents && !pins; m++)
		pins = any_pin(b->components[m].reqs, b->components[m].nreqs);
	return pins;
}

static int cand_reqs(state *s, solver__cand *cd)
{
	if (cd->reqs_state)
		return 0;
	cd->reqs_state = 1;
	const solver_build *b = cd->b;
	cd->reqs = b->reqs;
	cd->nreqs = b->nreqs;
	if (cd->kind == K_EMBED)
		return 0;
	cd->comps = b->components;
	bool pins = any_pin(b->reqs, b->nreqs), comp_pins = false;
	for (size_t m = 0; m < b->ncomponents; m++)
		comp_pins = comp_pins || any_pin(b->components[m].reqs, b->components[m].nreqs);
	bool recipe_env = cd->kind == K_BUILD && b->is_recipe && b->nbuild_reqs &&
			  (pins || comp_pins || env_may_inherit(s, b));
	if (recipe_env && cd->fs_state == 0) {
		int rc = subsolve(s, cd);
		if (rc)
			return rc;
	}
	int rc = 0;
	if (comp_pins) {
		solver_component *cv =
		    solver_arena_array(s->a, b->ncomponents, sizeof(*cv), s->err);
		if (!cv)
			return s->err->code;
		for (size_t m = 0; m < b->ncomponents && !rc; m++) {
			cv[m] = b->components[m];
			if (!any_pin(cv[m].reqs, cv[m].nreqs))
				continue;
			solver_request *v =
			    solver_arena_array(s->a, cv[m].nreqs, sizeof(*v), s->err);
			if (!v)
				return s->err->code;
			rc = pin_list(s, cd, b->components[m].reqs, b->components[m].nreqs, v,
				      &cv[m].nreqs);
			cv[m].reqs = v;
		}
		if (rc)
			return rc;
		cd->comps = cv;
	}
	size_t nstrong = 0;
	for (size_t i = 0; i < cd->nenv; i++)
		for (size_t o = 0; o < cd->env[i]->noptions; o++)
			nstrong += !cd->env[i]->options[o].is_pkg &&
				   cd->env[i]->options[o].inheritance == SOLVER_INHERIT_STRONG;
	if (!pins && !nstrong)
		return 0;
	solver_request *v = solver_arena_array(s->a, b->nreqs + nstrong + 1, sizeof(*v), s->err);
	if (!v)
		return s->err->code;
	size_t n = 0;
	if ((rc = pin_list(s, cd, b->reqs, b->nreqs, v, &n)))
		return rc;
	/* strong options of the build environment */
	for (size_t i = 0; i < cd->nenv; i++) {
		const solver_build *dep = cd->env[i];
		for (size_t o = 0; o < dep->noptions; o++) {
			const solver_option *opt = &dep->options[o];
			if (opt->is_pkg || opt->inheritance != SOLVER_INHERIT_STRONG ||
			    !*opt->value)
				continue;
			char t[600];
			snprintf(t, sizeof(t), "%s.%s", dep->name, opt->name);
			bool suppressed = false;
			for (size_t k = 0; k < b->nsuppressed && !suppressed; k++)
				suppressed = !strcmp(b->suppressed[k], t);
			if (suppressed)
				continue; /* `suppress`: not inherited */
			snprintf(t, sizeof(t), "%s.%s/%s", dep->name, opt->name, opt->value);
			if ((rc =
				 solver_request_parse_var(&v[n], s->a, t, strlen(t), NULL, s->err)))
				return sp_error_prefix(s->err, "inherited option of %s", dep->name);
			n++;
		}
	}
	cd->reqs = v;
	cd->nreqs = n;
	return 0;
}

/* -------------------------------------------------- trail and levels */

static int push_trail(state *s, int kind, int name, uint64_t old)
{
	int rc = GROW(s->trail, s->ntrail, s->captrail, s->err);
	if (rc)
		return rc;
	s->trail[s->ntrail++] = (trail_ent){kind, name, old};
	return 0;
}

static void mark_all_dirty(state *s)
{
	for (size_t i = 0; i < s->nnames; i++)
		s->names[i].dirty = true;
}

static void undo_to(state *s, size_t cons_mark, size_t vcons_mark, size_t trail_mark)
{
	while (s->ncons > cons_mark) {
		solver__cons *k = &s->cons[--s->ncons];
		solver__name *n = &s->names[k->name];
		n->head = k->next;
		if (k->exact_cand >= 0 || k->req->include == SOLVER_INCLUDE_ALWAYS)
			n->nalways--;
		n->dirty = true;
	}
	if (s->nvcons > vcons_mark) {
		s->nvcons = vcons_mark;
		mark_all_dirty(s);
	}
	while (s->ntrail > trail_mark) {
		trail_ent *t = &s->trail[--s->ntrail];
		if (t->kind == T_ASSIGN) {
			s->names[t->name].assigned = -1;
			s->names[t->name].level = -1;
		} else {
			s->names[t->name].comps = t->old;
		}
	}
}

/* ------------------------------------------------------- components */

static int comp_index(const solver_build *b, const char *name)
{
	for (size_t i = 0; i < b->ncomponents && i < 64; i++)
		if (!strcmp(b->components[i].name, name))
			return (int)i;
	return -1;
}

static uint64_t comp_closure(const solver_build *b, uint64_t m)
{
	bool changed = true;
	while (changed) {
		changed = false;
		for (size_t i = 0; i < b->ncomponents && i < 64; i++) {
			if (!(m >> i & 1))
				continue;
			for (size_t u = 0; u < b->components[i].nuses; u++) {
				int j = comp_index(b, b->components[i].uses[u]);
				if (j >= 0 && !(m >> j & 1)) {
					m |= (uint64_t)1 << j;
					changed = true;
				}
			}
		}
	}
	return m;
}

static uint64_t comps_of_request(const solver_build *b, const solver_request *r)
{
	uint64_t m = 0;
	if (r->ncomponents == 0) {
		int j = comp_index(b, "run");
		if (j >= 0)
			m |= (uint64_t)1 << j;
	}
	for (size_t i = 0; i < r->ncomponents; i++) {
		if (!strcmp(r->components[i], "all"))
			return comp_closure(b, b->ncomponents >= 64
						   ? ~(uint64_t)0
						   : (((uint64_t)1 << b->ncomponents) - 1));
		int j = comp_index(b, r->components[i]);
		if (j >= 0)
			m |= (uint64_t)1 << j;
	}
	return comp_closure(b, m);
}

static uint64_t comps_wanted(const state *s, int X, int c)
{
	const solver__cand *cd = &s->names[X].cands[c];
	if (cd->kind == K_EMBED)
		return 0;
	uint64_t m = 0;
	for (int k = s->names[X].head; k >= 0; k = s->cons[k].next)
		if (s->cons[k].exact_cand < 0)
			m |= comps_of_request(cd->b, s->cons[k].req);
	return m;
}

/* ------------------------------------------------------- propagation */

static int add_req(state *s, const solver_request *req, int src_name, int src_cand, solver__src src,
		   int exact_cand, int target, uint64_t *conf, solver__reason **why);
static const char *ident(state *s, int X, int c, char *buf, size_t n);
static int stub_of(state *s, int E, int X, int c, const solver_embedded *em);
static int add_comp_embedded(state *s, int Y, int y, uint64_t add, solver__src src, uint64_t *conf,
			     solver__reason **why);

static int add_reqs_of(state *s, int X, int c, const solver_request *reqs, size_t n,
		       solver__src src, uint64_t *conf, solver__reason **why)
{
	for (size_t i = 0; i < n; i++) {
		int rc = add_req(s, &reqs[i], X, c, src, -1, -1, conf, why);
		if (rc)
			return rc;
	}
	return 0;
}

/* Adds the requirements of the components in `add` of X's candidate c. */
static int add_comp_reqs(state *s, int X, int c, uint64_t add, solver__src src, uint64_t *conf,
			 solver__reason **why)
{
	solver__cand *cd = &s->names[X].cands[c];
	const solver_build *b = cd->b;
	int rc = cand_reqs(s, cd);
	if (rc)
		return rc;
	const solver_component *comps = cd->comps ? cd->comps : b->components;
	for (size_t i = 0; i < b->ncomponents && i < 64; i++) {
		if (!(add >> i & 1))
			continue;
		rc = add_reqs_of(s, X, c, comps[i].reqs, comps[i].nreqs, src, conf, why);
		if (rc)
			return rc;
	}
	return 0;
}

static int add_vreq(state *s, const solver_request *req, const char *pkg, const char *var,
		    const char *value, int src_name, int src_cand, solver__src src, uint64_t *conf,
		    solver__reason **why)
{
	int rc = GROW(s->vcons, s->nvcons, s->capvcons, s->err);
	if (rc)
		return rc;
	s->vcons[s->nvcons++] = (solver__vcons){req, pkg, var, value, src_name, src_cand, src};
	mark_all_dirty(s);
	for (size_t i = 0; i + 1 < s->nvcons; i++) {
		const solver__vcons *o = &s->vcons[i];
		bool same_pkg = (!o->pkg && !pkg) || (o->pkg && pkg && !strcmp(o->pkg, pkg));
		if (same_pkg && !strcmp(o->var, var) && strcmp(o->value, value)) {
			bs_add_src(s, conf, &o->src);
			bs_add_src(s, conf, &src);
			if (why) {
				solver__reason *r = new_reason(s, R_VAR_CLASH, src_name, src_cand);
				r->req = req;
				r->oname = o->src_name;
				r->ocand = o->src_cand;
				char tmp[300];
				snprintf(tmp, sizeof(tmp), "%s%s%s/%s", o->pkg ? o->pkg : "",
					 o->pkg ? "." : "", o->var, o->value);
				r->detail = rdetail(s, tmp);
				*why = r;
			}
			return 1;
		}
	}
	const solver__vcons *v = &s->vcons[s->nvcons - 1];
	for (size_t i = 0; i < s->nnames; i++) {
		solver__name *n = &s->names[i];
		if (n->assigned < 0)
			continue;
		char tmp[300];
		if (!var_allows(s, (int)i, n->assigned, v, tmp, sizeof(tmp))) {
			bs_set(s, conf, n->level);
			bs_add_src(s, conf, &src);
			if (why) {
				solver__reason *r =
				    new_reason(s, R_DEP_DECIDED, src_name, src_cand);
				r->req = req;
				r->oname = (int)i;
				r->ocand = n->assigned;
				solver__reason *c = new_reason(s, R_VAR, (int)i, n->assigned);
				c->req = req;
				c->rsrc_name = src_name;
				c->rsrc_cand = src_cand;
				c->detail = rdetail(s, tmp);
				r->child = c;
				*why = r;
			}
			return 1;
		}
	}
	return 0;
}

/* The embedded packages of components in `add` of Y's candidate y, selected
 * after Y was chosen: each becomes a constraint that its name be exactly
 * the stand-in Y provides (from the levels of Y and of the request that
 * selected the component, so backjumping and learned conflicts stay
 * exact). */
static int add_comp_embedded(state *s, int Y, int y, uint64_t add, solver__src src, uint64_t *conf,
			     solver__reason **why)
{
	const solver_build *b = s->names[Y].cands[y].b;
	for (size_t m = 0; m < b->ncomponents && m < 64; m++) {
		if (!(add >> m & 1))
			continue;
		const solver_component *cp = &b->components[m];
		for (size_t i = 0; i < cp->nembedded; i++) {
			int E = find_name(s, cp->embedded[i].name);
			int st = E >= 0 ? stub_of(s, E, Y, y, &cp->embedded[i]) : -1;
			if (st < 0)
				return sp_error_set(s->err, SP_ERROR,
						    "internal: no embedded candidate for %s",
						    cp->embedded[i].name);
			solver_request *r = solver_arena_alloc(s->a, sizeof(*r), s->err);
			if (!r)
				return s->err->code;
			char v[128], tmp[400];
			snprintf(tmp, sizeof(tmp), "%s/%s (embedded in component %s)",
				 cp->embedded[i].name,
				 solver_version_str(&cp->embedded[i].version, v, sizeof(v)),
				 cp->name);
			r->kind = SOLVER_REQ_PKG;
			r->name = s->names[E].name;
			r->compat_rule = SOLVER_COMPAT_BINARY;
			r->prerelease = SOLVER_PRERELEASE_INCLUDE;
			if (!(r->text = solver_arena_strdup(s->a, tmp, s->err)))
				return s->err->code;
			int rc = add_req(s, r, Y, y, src, st, E, conf, why);
			if (rc)
				return rc;
		}
	}
	return 0;
}

/* Adds one request with its source; returns 1 on a conflict (conf gets
 * the levels involved, why the reason), 0 when fine, <0 on error. */
static int add_req(state *s, const solver_request *req, int src_name, int src_cand, solver__src src,
		   int exact_cand, int target, uint64_t *conf, solver__reason **why)
{
	int rc;
	if (req->kind == SOLVER_REQ_VAR)
		return add_vreq(s, req, req->var_pkg, req->var, req->value, src_name, src_cand, src,
				conf, why);
	int Y = target >= 0 ? target : find_name(s, req->name);
	if (Y < 0)
		return sp_error_set(s->err, SP_ERROR, "internal: package %s was not loaded",
				    req->name);
	if ((rc = GROW(s->cons, s->ncons, s->capcons, s->err)))
		return rc;
	solver__name *y = &s->names[Y];
	int kid = (int)s->ncons++;
	s->cons[kid] = (solver__cons){.req = req,
				      .name = Y,
				      .src_name = src_name,
				      .src_cand = src_cand,
				      .src = src,
				      .exact_cand = exact_cand,
				      .next = y->head};
	y->head = kid;
	bool always = exact_cand >= 0 || req->include == SOLVER_INCLUDE_ALWAYS;
	if (always)
		y->nalways++;
	y->dirty = true;
	if (y->assigned >= 0) {
		char tmp[320];
		if (!cons_allows(s, Y, y->assigned, &s->cons[kid], tmp, sizeof(tmp))) {
			bs_set(s, conf, y->level);
			bs_add_src(s, conf, &src);
			if (why) {
				solver__reason *r =
				    new_reason(s, R_DEP_DECIDED, src_name, src_cand);
				r->req = req;
				r->oname = Y;
				r->ocand = y->assigned;
				solver__reason *c = new_reason(s, R_CONS, Y, y->assigned);
				c->req = req;
				c->rsrc_name = src_name;
				c->rsrc_cand = src_cand;
				c->ocand = exact_cand;
				c->detail = rdetail(s, tmp);
				r->child = c;
				*why = r;
			}
			return 1;
		}
		const solver__cand *yc = &y->cands[y->assigned];
		if (yc->kind != K_EMBED && exact_cand < 0) {
			uint64_t m = comps_wanted(s, Y, y->assigned);
			uint64_t add = m & ~y->comps;
			if (add) {
				if ((rc = push_trail(s, T_COMPS, Y, y->comps)))
					return rc;
				y->comps = m;
				solver__src s2 = src_merge(src, y->level);
				if ((rc = add_comp_reqs(s, Y, y->assigned, add, s2, conf, why)))
					return rc;
				return add_comp_embedded(s, Y, y->assigned, add, s2, conf, why);
			}
		}
		return 0;
	}
	if (!always)
		return 0;
	/* forward check: some candidate of Y must remain */
	for (size_t c = 0; c < y->ncands; c++)
		if (check_cand(s, Y, (int)c, NULL, NULL, false))
			return 0;
	bs_add_src(s, conf, &src);
	solver__reason *r = NULL;
	size_t cap = 0;
	if (why) {
		r = new_reason(s, src_name < 0 ? R_ROOT_WIPEOUT : R_DEP_WIPEOUT, src_name,
			       src_cand);
		r->req = req;
		r->oname = Y;
		/* two ranges with no version in common (two rules of the request
		 * itself, or of it and an earlier one): say so, naming both */
		for (int k = kid; k >= 0 && r != &s->limit_reason; k = s->cons[k].next) {
			const solver_rule *ra = NULL, *rb = NULL;
			const solver__cons *kk = &s->cons[k];
			if (kk->exact_cand >= 0 ||
			    solver__ranges_meet(&kk->req->range, &req->range, s->a, &ra, &rb))
				continue;
			sp_buf t = {0}, u = {0};
			sp_error e2 = {0};
			solver_rule one_a = *ra, one_b = *rb;
			solver_range xa = {&one_a, 1}, xb = {&one_b, 1};
			char who[256];
			if (!solver_range_format(&xa, &t, &e2) &&
			    !solver_range_format(&xb, &u, &e2)) {
				char tmp[900];
				if (k == kid)
					snprintf(tmp, sizeof(tmp),
						 "%s allows no version: %s and %s do not intersect",
						 req->text, t.data, u.data);
				else
					snprintf(
					    tmp, sizeof(tmp),
					    "%s from %s and %s share no version: %s and %s do not "
					    "intersect",
					    kk->req->text,
					    kk->src_name < 0 ? "the command line"
							     : ident(s, kk->src_name, kk->src_cand,
								     who, sizeof(who)),
					    req->text, t.data, u.data);
				r->detail = rdetail(s, tmp);
			}
			sp_buf_free(&t);
			sp_buf_free(&u);
			break;
		}
		if (y->ncands == 0)
			r->child = new_reason(s, R_NOPKG, Y, -1);
	}
	for (size_t c = 0; c < y->ncands; c++) {
		solver__reason *kr = NULL;
		check_cand(s, Y, (int)c, conf, why ? &kr : NULL, false);
		if (r)
			reason_add_kid(s, r, kr, &cap);
	}
	if (why)
		*why = r;
	return 1;
}

/* Forces embedded package E to the stub of parent (X, c) at level L. */
static int force_embedded(state *s, int X, int c, const solver_embedded *e, int L, uint64_t *conf,
			  solver__reason **why)
{
	int E = find_name(s, e->name);
	if (E < 0)
		return sp_error_set(s->err, SP_ERROR, "internal: %s not loaded", e->name);
	solver__name *en = &s->names[E];
	int stub = -1;
	for (size_t k = 0; k < en->ncands; k++)
		if (en->cands[k].kind == K_EMBED && en->cands[k].emb == e &&
		    en->cands[k].parent_name == X && en->cands[k].parent_cand == c)
			stub = (int)k;
	if (stub < 0)
		return sp_error_set(s->err, SP_ERROR, "internal: no embedded candidate for %s",
				    e->name);
	if (en->assigned >= 0) {
		if (en->assigned == stub)
			return 0;
		bs_set(s, conf, en->level);
		if (why) {
			solver__reason *r = new_reason(s, R_EMBED_CLASH, X, c);
			r->oname = E;
			r->ocand = en->assigned;
			*why = r;
		}
		return 1;
	}
	solver__reason *kr = NULL;
	if (!check_cand(s, E, stub, conf, why ? &kr : NULL, false)) {
		if (why) {
			solver__reason *r = new_reason(s, R_EMBED_CLASH, X, c);
			r->oname = E;
			r->ocand = -1;
			r->child = kr;
			*why = r;
		}
		return 1;
	}
	int rc = push_trail(s, T_ASSIGN, E, 0);
	if (rc)
		return rc;
	en->assigned = stub;
	en->level = L;
	return 0;
}

static const solver_request *parent_request(state *s, int E, int stub)
{
	const solver__cand *cd = &s->names[E].cands[stub];
	sp_error e = {0};
	solver_request *r = solver_arena_alloc(s->a, sizeof(*r), &e);
	if (!r)
		return NULL;
	char v[128];
	char tmp[300];
	snprintf(tmp, sizeof(tmp), "%s/%s/%s", cd->b->name,
		 solver_version_str(&cd->b->version, v, sizeof(v)), cd->b->build);
	r->kind = SOLVER_REQ_PKG;
	r->name = cd->b->name;
	r->text = solver_arena_strdup(s->a, tmp, &e);
	if (!r->text)
		return NULL;
	r->compat_rule = SOLVER_COMPAT_BINARY;
	r->prerelease = SOLVER_PRERELEASE_INCLUDE;
	return r;
}

/* Assigns candidate c to X at level L and adds its consequences. */
static int assign(state *s, int X, int c, int L, uint64_t *conf, solver__reason **why)
{
	solver__name *n = &s->names[X];
	int rc = push_trail(s, T_ASSIGN, X, 0);
	if (!rc)
		rc = push_trail(s, T_COMPS, X, n->comps);
	if (rc)
		return rc;
	n->assigned = c;
	n->level = L;
	const solver__cand *cd = &n->cands[c];
	solver__src src = src_one(L);
	if (cd->kind == K_EMBED) {
		n->comps = 0;
		if (cd->parent_name < 0 || cd->parent_cand < 0)
			return sp_error_set(s->err, SP_ERROR, "internal: embedded %s has no parent",
					    n->name);
		const solver_request *pr = parent_request(s, X, c);
		if (!pr)
			return sp_error_set(s->err, SP_ENOMEM, "out of memory");
		return add_req(s, pr, X, c, src, cd->parent_cand, cd->parent_name, conf, why);
	}
	const solver_build *b = cd->b;
	n->comps = comps_wanted(s, X, c);
	for (size_t i = 0; i < b->nembedded; i++)
		if ((rc = force_embedded(s, X, c, &b->embedded[i], L, conf, why)))
			return rc;
	for (size_t m = 0; m < b->ncomponents && m < 64; m++)
		if (n->comps >> m & 1)
			for (size_t i = 0; i < b->components[m].nembedded; i++)
				if ((rc = force_embedded(s, X, c, &b->components[m].embedded[i], L,
							 conf, why)))
					return rc;
	solver__cand *cm = &n->cands[c];
	if ((rc = cand_reqs(s, cm)) ||
	    (rc = add_reqs_of(s, X, c, cm->reqs, cm->nreqs, src, conf, why)))
		return rc;
	return add_comp_reqs(s, X, c, n->comps, src, conf, why);
}

/* --------------------------------------------------------------- trace */

static void trace(state *s, const char *fmt, ...)
{
	if (!s->o->trace)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(s->o->trace, "%*s", (int)(s->nlevels > 40 ? 40 : s->nlevels) * 2, "");
	vfprintf(s->o->trace, fmt, ap);
	fputc('\n', s->o->trace);
	va_end(ap);
}

static const char *ident(state *s, int X, int c, char *buf, size_t n)
{
	sp_buf b = {0};
	sp_error e = {0};
	buf[0] = '\0';
	if (solver__ident(&b, s->names, X, c, &e) == 0 && b.data)
		snprintf(buf, n, "%s", b.data);
	sp_buf_free(&b);
	return buf;
}

static void trace_reason(state *s, const char *what, const solver__reason *r)
{
	if (!s->o->trace || !r)
		return;
	sp_buf b = {0};
	sp_error e = {0};
	if (solver__reason_line(&b, s->names, r, &e) == 0 && b.data)
		trace(s, "%s: %s", what, b.data);
	sp_buf_free(&b);
}

/* -------------------------------------------------------------- search */

static int pick_next(state *s)
{
	int best = -1, bestv = 0;
	for (size_t i = 0; i < s->nnames; i++) {
		solver__name *n = &s->names[i];
		if (n->assigned >= 0 || n->nalways == 0)
			continue;
		if (n->dirty) {
			int v = 0;
			for (size_t c = 0; c < n->ncands; c++)
				v += check_cand(s, (int)i, (int)c, NULL, NULL, false);
			n->viable = v;
			n->dirty = false;
		}
		if (best < 0 || n->viable < bestv) {
			best = (int)i;
			bestv = n->viable;
		}
	}
	return best;
}

static int learn(state *s, const uint64_t *conf, solver__reason *why)
{
	size_t cnt = 0;
	for (size_t l = 0; l < s->nlevels; l++)
		cnt += bs_get(conf, (int)l);
	if (cnt == 0 || cnt > MAX_NOGOOD_SIZE || s->nngs >= MAX_NOGOODS)
		return 0;
	int rc = GROW(s->ngs, s->nngs, s->capngs, s->err);
	if (rc)
		return rc;
	while (s->nngdata + 2 * cnt > s->capngdata)
		if ((rc = grow_array((void **)&s->ngdata, &s->capngdata, sizeof(int), s->err)))
			return rc;
	nogood *g = &s->ngs[s->nngs];
	g->off = s->nngdata;
	g->n = cnt;
	g->why = why;
	for (size_t l = 0; l < s->nlevels; l++) {
		if (!bs_get(conf, (int)l))
			continue;
		s->ngdata[s->nngdata++] = s->levels[l].name;
		s->ngdata[s->nngdata++] = s->levels[l].cand;
		solver__cand *cd = &s->names[s->levels[l].name].cands[s->levels[l].cand];
		if ((rc = GROW(cd->ng, cd->nng, cd->capng, s->err)))
			return rc;
		cd->ng[cd->nng++] = (int)s->nngs;
	}
	s->nngs++;
	return 0;
}

/* Returns 1 when solved, 0 on failure (conf_out, why_out say why), <0 on
 * error. */
static int search(state *s, uint64_t *conf_out, solver__reason **why_out)
{
	int X = pick_next(s);
	if (X < 0)
		return 1;
	solver__name *n = &s->names[X];
	int L = (int)s->nlevels;
	uint64_t *conf = bs_new(s), *cc = bs_new(s), *sub = bs_new(s);
	if (!conf || !cc || !sub)
		return sp_error_set(s->err, SP_ERROR, "internal: conflict pool exhausted");
	/* X is needed because of its oldest always-request */
	const solver__cons *need = NULL;
	for (int k = n->head; k >= 0; k = s->cons[k].next) {
		const solver__cons *kk = &s->cons[k];
		if (kk->exact_cand < 0 && kk->req->include != SOLVER_INCLUDE_ALWAYS)
			continue;
		if (!need || src_max(&kk->src) <= src_max(&need->src))
			need = kk;
	}
	if (need)
		bs_add_src(s, conf, &need->src);
	solver__reason *fail = new_reason(s, n->ncands ? R_NAMEFAIL : R_NOPKG, X, -1);
	size_t kcap = 0;
	if (need && fail != &s->limit_reason) {
		fail->req = need->req;
		fail->rsrc_name = need->src_name;
		fail->rsrc_cand = need->src_cand;
	}
	char id[256];
	int rc;
	int pref = s->pref ? s->pref[X] : -1;
	for (size_t ci = 0; ci < n->ncands; ci++) {
		/* the clause solver's choice first, then newest first */
		size_t c = pref < 0		? ci
			   : ci == 0		? (size_t)pref
			   : ci <= (size_t)pref ? ci - 1
						: ci;
		if (s->max_steps && ++s->steps > s->max_steps)
			return sp_error_set(s->err, SOLVER_ELIMIT,
					    "the search gave up after %llu candidate tries",
					    (unsigned long long)s->max_steps);
		memset(cc, 0, s->nwords * sizeof(uint64_t));
		solver__reason *r = NULL;
		if (!check_cand(s, X, (int)c, cc, &r, true)) {
			if (s->o->trace)
				trace_reason(s, "skip", r);
			bs_or(s, conf, cc);
			reason_add_kid(s, fail, r, &kcap);
			continue;
		}
		if ((rc = GROW(s->levels, s->nlevels, s->caplevels, s->err)))
			return rc;
		s->levels[s->nlevels++] = (level_ent){X, (int)c, s->ncons, s->nvcons, s->ntrail};
		trace(s, "try %s", ident(s, X, (int)c, id, sizeof(id)));
		rc = assign(s, X, (int)c, L, cc, &r);
		if (rc < 0)
			return rc;
		if (rc == 1) {
			if (s->o->trace)
				trace_reason(s, "conflict", r);
			level_ent *le = &s->levels[--s->nlevels];
			undo_to(s, le->cons_mark, le->vcons_mark, le->trail_mark);
			bs_clear(cc, L);
			bs_or(s, conf, cc);
			reason_add_kid(s, fail, r, &kcap);
			continue;
		}
		memset(sub, 0, s->nwords * sizeof(uint64_t));
		solver__reason *subwhy = NULL;
		rc = search(s, sub, &subwhy);
		if (rc != 0) {
			s->pool_used -= 3 * s->nwords;
			return rc; /* solved (1) or error (<0): keep the assignment */
		}
		level_ent *le = &s->levels[--s->nlevels];
		undo_to(s, le->cons_mark, le->vcons_mark, le->trail_mark);
		s->backtracks++;
		if (!bs_get(sub, L)) {
			trace(s, "backjump over %s: the conflict does not involve it",
			      ident(s, X, (int)c, id, sizeof(id)));
			memcpy(conf_out, sub, s->nwords * sizeof(uint64_t));
			*why_out = subwhy;
			s->pool_used -= 3 * s->nwords;
			return 0;
		}
		bs_clear(sub, L);
		bs_or(s, conf, sub);
		solver__reason *t = new_reason(s, R_SUBTREE, X, (int)c);
		t->child = subwhy;
		reason_add_kid(s, fail, t, &kcap);
	}
	trace(s, "no candidate of %s works; backtrack", n->name);
	if ((rc = learn(s, conf, fail)))
		return rc;
	memcpy(conf_out, conf, s->nwords * sizeof(uint64_t));
	*why_out = fail;
	s->pool_used -= 3 * s->nwords;
	return 0;
}

/* ------------------------------------------------------- SAT presolve
 *
 * The same rules as a clause set for the CDCL engine (sat.c): one variable
 * per candidate (and per component of candidates whose components carry
 * requirements), "c requires R" as (not c, or one of the candidates that
 * satisfy R), at most one candidate per name, and the static rules as unit
 * clauses. A model found there guides the search above (its candidate is
 * tried first for every name), which then confirms it under the full
 * rules; an unsatisfiable clause set yields the facts it rests on. */

enum {
	F_ROOT = 1,
	F_ROOT_IFP,
	F_REQ,
	F_IFP,
	F_COMPSEL,
	F_COMPSTRUCT,
	F_EMBED,
	F_AMO,
	F_DEPRECATED,
	F_SOURCE,
	F_FROMSRC,
	F_VAR,
	F_VARREQ,
	F_VARCLASH,
	F_UNUSABLE,
};

typedef struct fact {
	int kind;
	int name, cand; /* the candidate whose rule it is, or -1 */
	const solver_request *req;
	int comp; /* component index for component requirements, -1 */
	int oname, ocand;
	const char *text; /* var requests: text of the other side */
} fact;

typedef struct enc {
	state *s;
	solver__sat *sat;
	int *base;	/* per name: first candidate variable */
	int **compbase; /* per name, per candidate: first component var or 0 */
	fact *facts;
	size_t nfacts, capfacts;
	int *lits;
	size_t nlits, caplits;
} enc;

static int cvar(const enc *e, int name, int cand)
{
	return e->base[name] + cand + 1;
}

static int add_fact(enc *e, fact f, int *id)
{
	int rc = GROW(e->facts, e->nfacts, e->capfacts, e->s->err);
	if (rc)
		return rc;
	e->facts[e->nfacts] = f;
	*id = (int)e->nfacts++;
	return 0;
}

static int lit_push(enc *e, int l)
{
	int rc = GROW(e->lits, e->nlits, e->caplits, e->s->err);
	if (rc)
		return rc;
	e->lits[e->nlits++] = l;
	return 0;
}

static int clause(enc *e, fact f, bool requirement, int n, ...)
{
	int id, rc = add_fact(e, f, &id);
	if (rc)
		return rc;
	int l[4];
	va_list ap;
	va_start(ap, n);
	for (int i = 0; i < n; i++)
		l[i] = va_arg(ap, int);
	va_end(ap);
	return solver__sat_add(e->sat, l, (size_t)n, id, requirement);
}

static bool req_allows(state *s, int Y, int y, const solver_request *r)
{
	solver__cons k = {.req = r, .name = Y, .exact_cand = -1};
	return cons_allows(s, Y, y, &k, NULL, 0);
}

/* Clauses for request r guarded by literal `guard` (0 = the command line). */
static int enc_request(enc *e, int guard, const solver_request *r, int srcn, int srcc, int comp)
{
	state *s = e->s;
	if (r->kind == SOLVER_REQ_VAR)
		return 0; /* see enc_vars */
	int Y = find_name(s, r->name), rc;
	if (Y < 0)
		return sp_error_set(s->err, SP_ERROR, "internal: %s not loaded", r->name);
	solver__name *y = &s->names[Y];
	fact f = {.kind = guard ? F_REQ : F_ROOT,
		  .name = srcn,
		  .cand = srcc,
		  .req = r,
		  .comp = comp,
		  .oname = Y,
		  .ocand = -1};
	if (r->include == SOLVER_INCLUDE_IF_PRESENT) {
		f.kind = guard ? F_IFP : F_ROOT_IFP;
		for (size_t c = 0; c < y->ncands; c++)
			if (!req_allows(s, Y, (int)c, r)) {
				f.ocand = (int)c;
				rc = guard ? clause(e, f, false, 2, -guard, -cvar(e, Y, (int)c))
					   : clause(e, f, false, 1, -cvar(e, Y, (int)c));
				if (rc)
					return rc;
			}
		return 0;
	}
	e->nlits = 0;
	if (guard && (rc = lit_push(e, -guard)))
		return rc;
	for (size_t c = 0; c < y->ncands; c++)
		if (req_allows(s, Y, (int)c, r) && (rc = lit_push(e, cvar(e, Y, (int)c))))
			return rc;
	int id;
	if ((rc = add_fact(e, f, &id)) ||
	    (rc = solver__sat_add(e->sat, e->lits, e->nlits, id, true)))
		return rc;
	/* the components it asks for */
	for (size_t c = 0; c < y->ncands; c++) {
		int cb = e->compbase[Y][c];
		if (!cb || !req_allows(s, Y, (int)c, r))
			continue;
		uint64_t m = comps_of_request(y->cands[c].b, r);
		for (int k = 0; k < 64; k++) {
			if (!(m >> k & 1))
				continue;
			fact g = {.kind = F_COMPSEL,
				  .name = srcn,
				  .cand = srcc,
				  .req = r,
				  .comp = k,
				  .oname = Y,
				  .ocand = (int)c};
			rc = guard ? clause(e, g, false, 3, -guard, -cvar(e, Y, (int)c), cb + k)
				   : clause(e, g, false, 2, -cvar(e, Y, (int)c), cb + k);
			if (rc)
				return rc;
		}
	}
	return 0;
}

typedef struct vreq {
	int guard; /* 0 = command line */
	int name, cand;
	const char *pkg, *var, *value, *text;
} vreq;

static int enc_vars(enc *e, vreq *v, size_t nv)
{
	state *s = e->s;
	int rc;
	for (size_t i = 0; i < nv; i++) {
		solver__vcons vc = {.pkg = v[i].pkg, .var = v[i].var, .value = v[i].value};
		for (size_t Y = 0; Y < s->nnames; Y++) {
			if (vc.pkg && strcmp(vc.pkg, s->names[Y].name))
				continue;
			for (size_t c = 0; c < s->names[Y].ncands; c++) {
				char tmp[8];
				if (var_allows(s, (int)Y, (int)c, &vc, tmp, sizeof(tmp)))
					continue;
				fact f = {.kind = v[i].guard ? F_VARREQ : F_VAR,
					  .name = v[i].name,
					  .cand = v[i].cand,
					  .oname = (int)Y,
					  .ocand = (int)c,
					  .text = v[i].text,
					  .comp = -1};
				rc = v[i].guard ? clause(e, f, false, 2, -v[i].guard,
							 -cvar(e, (int)Y, (int)c))
						: clause(e, f, false, 1, -cvar(e, (int)Y, (int)c));
				if (rc)
					return rc;
			}
		}
		for (size_t j = 0; j < i; j++) {
			bool same_pkg = (!v[i].pkg && !v[j].pkg) ||
					(v[i].pkg && v[j].pkg && !strcmp(v[i].pkg, v[j].pkg));
			if (!same_pkg || strcmp(v[i].var, v[j].var) ||
			    !strcmp(v[i].value, v[j].value))
				continue;
			fact f = {.kind = F_VARCLASH,
				  .name = v[i].name,
				  .cand = v[i].cand,
				  .oname = v[j].name,
				  .ocand = v[j].cand,
				  .text = v[j].text,
				  .req = NULL,
				  .comp = -1};
			f.text = v[j].text;
			int l[2], n = 0;
			if (v[i].guard)
				l[n++] = -v[i].guard;
			if (v[j].guard && v[j].guard != v[i].guard)
				l[n++] = -v[j].guard;
			int id;
			if ((rc = add_fact(e, f, &id)))
				return rc;
			e->facts[id].req = (const solver_request *)(uintptr_t)0;
			e->facts[id].text = v[i].text;
			e->facts[id].comp = (int)j; /* index of the other var request */
			if ((rc = solver__sat_add(e->sat, l, (size_t)n, id, false)))
				return rc;
		}
	}
	return 0;
}

static bool has_comp_rules(const solver_build *b)
{
	for (size_t k = 0; k < b->ncomponents; k++)
		if (b->components[k].nreqs || b->components[k].nuses || b->components[k].nembedded)
			return true;
	return false;
}

static int stub_of(state *s, int E, int X, int c, const solver_embedded *em)
{
	for (size_t k = 0; k < s->names[E].ncands; k++) {
		const solver__cand *sc = &s->names[E].cands[k];
		if (sc->kind == K_EMBED && sc->emb == em && sc->parent_name == X &&
		    sc->parent_cand == c)
			return (int)k;
	}
	return -1;
}

static int encode(enc *e, vreq **vout, size_t *nvout)
{
	state *s = e->s;
	int rc;
	size_t nv = 0;
	for (size_t i = 0; i < s->nnames; i++) {
		e->base[i] = (int)nv;
		nv += s->names[i].ncands;
	}
	for (size_t i = 0; i < s->nnames; i++) {
		e->compbase[i] = calloc(s->names[i].ncands ? s->names[i].ncands : 1, sizeof(int));
		if (!e->compbase[i])
			return sp_error_set(s->err, SP_ENOMEM, "out of memory");
		for (size_t c = 0; c < s->names[i].ncands; c++) {
			const solver__cand *cd = &s->names[i].cands[c];
			if (cd->kind != K_EMBED && has_comp_rules(cd->b)) {
				e->compbase[i][c] = (int)nv + 1;
				nv += cd->b->ncomponents < 64 ? cd->b->ncomponents : 64;
			}
		}
	}
	size_t naux = 0;
	for (size_t i = 0; i < s->nnames; i++)
		if (s->names[i].ncands > 32)
			naux += s->names[i].ncands;
	if ((rc = solver__sat_new(&e->sat, nv + naux, s->err)))
		return rc;
	int aux = (int)nv;
	/* var requests: the command line's, then every candidate's */
	vreq *v = NULL;
	size_t nvr = 0, capv = 0;
	for (size_t i = 0; i < s->nvcons; i++) {
		if ((rc = GROW(v, nvr, capv, s->err)))
			return rc;
		v[nvr++] = (vreq){0,
				  -1,
				  -1,
				  s->vcons[i].pkg,
				  s->vcons[i].var,
				  s->vcons[i].value,
				  s->vcons[i].req ? s->vcons[i].req->text : ""};
	}
	*vout = v;
	/* the command line's package requests */
	for (size_t i = 0; i < s->o->nrequests; i++)
		if ((rc = enc_request(e, 0, &s->o->requests[i], -1, -1, -1)))
			return rc;
	for (size_t X = 0; X < s->nnames; X++) {
		solver__name *n = &s->names[X];
		for (size_t c = 0; c < n->ncands; c++) {
			solver__cand *cd = &n->cands[c];
			int g = cvar(e, (int)X, (int)c);
			fact base = {
			    .name = (int)X, .cand = (int)c, .comp = -1, .oname = -1, .ocand = -1};
			if (cd->kind == K_EMBED) {
				if (cd->parent_name >= 0 && cd->parent_cand >= 0) {
					base.kind = F_EMBED;
					base.oname = cd->parent_name;
					base.ocand = cd->parent_cand;
					if ((rc =
						 clause(e, base, false, 2, -g,
							cvar(e, cd->parent_name, cd->parent_cand))))
						return rc;
				} else if ((rc = clause(e, base, false, 1, -g))) {
					return rc;
				}
				continue;
			}
			if (cd->kind == K_FROMSRC) {
				if (cd->fs_state == 0 && subsolve(s, cd) < 0)
					cd->fs_state = -1;
				if (cd->fs_state < 0) {
					base.kind = F_FROMSRC;
					if ((rc = clause(e, base, false, 1, -g)))
						return rc;
					continue;
				}
			}
			if (cand_bad(s, cd)) {
				base.kind = F_UNUSABLE;
				if ((rc = clause(e, base, false, 1, -g)))
					return rc;
				continue;
			}
			const solver_build *b = cd->b;
			if ((rc = cand_reqs(s, cd)))
				return rc;
			for (size_t k = 0; k < cd->nreqs; k++) {
				const solver_request *r = &cd->reqs[k];
				if (r->kind == SOLVER_REQ_VAR) {
					if ((rc = GROW(v, nvr, capv, s->err)))
						return rc;
					v[nvr++] = (vreq){g,	  (int)X,   (int)c, r->var_pkg,
							  r->var, r->value, r->text};
					continue;
				}
				if ((rc = enc_request(e, g, r, (int)X, (int)c, -1)))
					return rc;
			}
			for (size_t k = 0; k < b->nembedded; k++) {
				int E = find_name(s, b->embedded[k].name);
				int st =
				    E >= 0 ? stub_of(s, E, (int)X, (int)c, &b->embedded[k]) : -1;
				if (st < 0)
					continue;
				base.kind = F_EMBED;
				base.oname = E;
				base.ocand = st;
				if ((rc = clause(e, base, false, 2, -g, cvar(e, E, st))))
					return rc;
			}
			int cb = e->compbase[X][c];
			for (size_t m = 0; cb && m < b->ncomponents && m < 64; m++) {
				const solver_component *cp =
				    cd->comps ? &cd->comps[m] : &b->components[m];
				int cv = cb + (int)m;
				base.kind = F_COMPSTRUCT;
				base.comp = (int)m;
				if ((rc = clause(e, base, false, 2, -cv, g)))
					return rc;
				for (size_t u = 0; u < cp->nuses; u++) {
					int j = comp_index(b, cp->uses[u]);
					if (j >= 0 && (rc = clause(e, base, false, 2, -cv, cb + j)))
						return rc;
				}
				for (size_t k = 0; k < cp->nreqs; k++) {
					const solver_request *r = &cp->reqs[k];
					if (r->kind == SOLVER_REQ_VAR) {
						if ((rc = GROW(v, nvr, capv, s->err)))
							return rc;
						v[nvr++] =
						    (vreq){cv,	   (int)X,   (int)c, r->var_pkg,
							   r->var, r->value, r->text};
						continue;
					}
					if ((rc = enc_request(e, cv, r, (int)X, (int)c, (int)m)))
						return rc;
				}
				for (size_t k = 0; k < cp->nembedded; k++) {
					int E = find_name(s, cp->embedded[k].name);
					int st =
					    E >= 0 ? stub_of(s, E, (int)X, (int)c, &cp->embedded[k])
						   : -1;
					if (st < 0)
						continue;
					fact f = {.kind = F_EMBED,
						  .name = (int)X,
						  .cand = (int)c,
						  .comp = (int)m,
						  .oname = E,
						  .ocand = st};
					if ((rc = clause(e, f, false, 2, -cv, cvar(e, E, st))))
						return rc;
				}
			}
			/* deprecated builds and source packages: only when named exactly */
			if (cd->deprecated || cd->is_source) {
				bool root = false;
				e->nlits = 0;
				if ((rc = lit_push(e, -g)))
					return rc;
				for (size_t i = 0; i < s->o->nrequests; i++) {
					const solver_request *r = &s->o->requests[i];
					if (r->kind == SOLVER_REQ_PKG && r->build &&
					    !strcmp(r->name, n->name) &&
					    req_allows(s, (int)X, (int)c, r))
						root = true;
				}
				for (size_t Z = 0;
				     !root && n->exact_named + n->src_named && Z < s->nnames; Z++)
					for (size_t zc = 0; zc < s->names[Z].ncands; zc++) {
						const solver__cand *zd = &s->names[Z].cands[zc];
						if (zd->kind == K_EMBED)
							continue;
						for (size_t k = 0; k < zd->b->nreqs; k++) {
							const solver_request *r = &zd->b->reqs[k];
							if (r->kind == SOLVER_REQ_PKG && r->build &&
							    !strcmp(r->name, n->name) &&
							    req_allows(s, (int)X, (int)c, r) &&
							    (rc = lit_push(
								 e, cvar(e, (int)Z, (int)zc))))
								return rc;
						}
						int zb = e->compbase[Z][zc];
						for (size_t m = 0;
						     zb && m < zd->b->ncomponents && m < 64; m++)
							for (size_t k = 0;
							     k < zd->b->components[m].nreqs; k++) {
								const solver_request *r =
								    &zd->b->components[m].reqs[k];
								if (r->kind == SOLVER_REQ_PKG &&
								    r->build &&
								    !strcmp(r->name, n->name) &&
								    req_allows(s, (int)X, (int)c,
									       r) &&
								    (rc = lit_push(e, zb + (int)m)))
									return rc;
							}
					}
				if (!root) {
					base.kind = cd->is_source ? F_SOURCE : F_DEPRECATED;
					base.comp = -1;
					int id;
					if ((rc = add_fact(e, base, &id)) ||
					    (rc = solver__sat_add(e->sat, e->lits, e->nlits, id,
								  false)))
						return rc;
				}
			}
		}
		/* at most one candidate per name */
		fact amo = {.kind = F_AMO,
			    .name = (int)X,
			    .cand = -1,
			    .comp = -1,
			    .oname = -1,
			    .ocand = -1};
		size_t nc = n->ncands;
		if (nc <= 32) {
			for (size_t a = 0; a < nc; a++)
				for (size_t b2 = a + 1; b2 < nc; b2++)
					if ((rc = clause(e, amo, false, 2, -cvar(e, (int)X, (int)a),
							 -cvar(e, (int)X, (int)b2))))
						return rc;
		} else {
			/* sequential counter: aux s_i = "one of the first i is chosen" */
			int sb = aux;
			aux += (int)nc;
			for (size_t a = 0; a < nc; a++) {
				int x = cvar(e, (int)X, (int)a), si = sb + (int)a + 1;
				if ((rc = clause(e, amo, false, 2, -x, si)))
					return rc;
				if (a > 0 && ((rc = clause(e, amo, false, 2, -(si - 1), si)) ||
					      (rc = clause(e, amo, false, 2, -x, -(si - 1)))))
					return rc;
			}
		}
	}
	*vout = v;
	*nvout = nvr;
	return enc_vars(e, v, nvr);
}

/* One line per fact of an unsatisfiable core. */
static int fact_line(state *s, enc *e, const fact *f, sp_buf *b)
{
	char id[256], id2[256];
	int rc = 0;
	switch (f->kind) {
	case F_ROOT:
	case F_REQ: {
		if (f->kind == F_ROOT)
			rc = sp_buf_printf(b, s->err, "the command line requires %s", f->req->text);
		else if (f->comp >= 0)
			rc = sp_buf_printf(
			    b, s->err, "%s (component %s) requires %s",
			    ident(s, f->name, f->cand, id, sizeof(id)),
			    s->names[f->name].cands[f->cand].b->components[f->comp].name,
			    f->req->text);
		else
			rc =
			    sp_buf_printf(b, s->err, "%s requires %s",
					  ident(s, f->name, f->cand, id, sizeof(id)), f->req->text);
		int Y = f->oname;
		size_t cnt = 0, total = 0;
		for (size_t c = 0; c < s->names[Y].ncands; c++)
			total += req_allows(s, Y, (int)c, f->req);
		for (size_t c = 0; c < s->names[Y].ncands; c++)
			if (req_allows(s, Y, (int)c, f->req)) {
				if (cnt < 3 && !rc)
					rc = sp_buf_printf(b, s->err, "%s%s",
							   cnt		? ", "
							   : total <= 2 ? ", which only "
									: ", which ",
							   ident(s, Y, (int)c, id, sizeof(id)));
				cnt++;
			}
		if (!rc && cnt > 3)
			rc = sp_buf_printf(b, s->err, " and %zu more", cnt - 3);
		if (!rc)
			rc =
			    sp_buf_printf(b, s->err, "%s",
					  cnt == 0 ? ", which nothing in the repositories satisfies"
					  : cnt == 1 ? " satisfies"
						     : " satisfy");
		return rc;
	}
	case F_ROOT_IFP:
	case F_IFP:
		if (solver__range_below_all(&f->req->range))
			return sp_buf_printf(
			    b, s->err,
			    "%s requires that %s not be present (%s, include: IfAlreadyPresent)",
			    f->kind == F_ROOT_IFP ? "the command line"
						  : ident(s, f->name, f->cand, id, sizeof(id)),
			    s->names[f->oname].name, f->req->text);
		return sp_buf_printf(b, s->err, "%s allows %s only as %s",
				     f->kind == F_ROOT_IFP
					 ? "the command line"
					 : ident(s, f->name, f->cand, id, sizeof(id)),
				     s->names[f->oname].name, f->req->text);
	case F_COMPSEL:
		return sp_buf_printf(b, s->err, "%s asks for component %s of %s",
				     f->name < 0 ? "the command line"
						 : ident(s, f->name, f->cand, id, sizeof(id)),
				     s->names[f->oname].cands[f->ocand].b->components[f->comp].name,
				     ident(s, f->oname, f->ocand, id2, sizeof(id2)));
	case F_COMPSTRUCT:
		return sp_buf_printf(b, s->err, "component %s of %s brings the components it uses",
				     s->names[f->name].cands[f->cand].b->components[f->comp].name,
				     ident(s, f->name, f->cand, id, sizeof(id)));
	case F_EMBED:
		if (s->names[f->name].cands[f->cand].kind == K_EMBED)
			return sp_buf_printf(b, s->err, "%s comes only with %s",
					     ident(s, f->name, f->cand, id, sizeof(id)),
					     ident(s, f->oname, f->ocand, id2, sizeof(id2)));
		return sp_buf_printf(b, s->err, "%s embeds %s",
				     ident(s, f->name, f->cand, id, sizeof(id)),
				     ident(s, f->oname, f->ocand, id2, sizeof(id2)));
	case F_AMO:
		return sp_buf_printf(b, s->err, "only one version of %s can be used",
				     s->names[f->name].name);
	case F_DEPRECATED:
		return sp_buf_printf(
		    b, s->err, "%s is deprecated (used only when its build is requested exactly)",
		    ident(s, f->name, f->cand, id, sizeof(id)));
	case F_SOURCE:
		return sp_buf_printf(b, s->err,
				     "%s is a source package (used only when requested with /src)",
				     ident(s, f->name, f->cand, id, sizeof(id)));
	case F_UNUSABLE:
		return sp_buf_printf(b, s->err, "%s cannot be used: %s",
				     ident(s, f->name, f->cand, id, sizeof(id)),
				     s->names[f->name].cands[f->cand].bad_why);
	case F_FROMSRC:
		return sp_buf_printf(b, s->err, "%s cannot be built: %s",
				     ident(s, f->name, f->cand, id, sizeof(id)),
				     s->names[f->name].cands[f->cand].fs_why
					 ? s->names[f->name].cands[f->cand].fs_why
					 : "");
	case F_VAR:
	case F_VARREQ:
		return sp_buf_printf(b, s->err, "%s requests %s, which %s does not match",
				     f->name < 0 ? "the command line"
						 : ident(s, f->name, f->cand, id, sizeof(id)),
				     f->text, ident(s, f->oname, f->ocand, id2, sizeof(id2)));
	case F_VARCLASH:
		return sp_buf_printf(
		    b, s->err, "%s requests %s, which contradicts another var request",
		    f->name < 0 ? "the command line" : ident(s, f->name, f->cand, id, sizeof(id)),
		    f->text);
	}
	return sp_buf_printf(b, s->err, "?");
}

static int fact_cmp(const void *pa, const void *pb, void *arg)
{
	const fact *fs = arg;
	const fact *a = &fs[*(const int *)pa], *b = &fs[*(const int *)pb];
	int ra = a->kind == F_ROOT || a->kind == F_VAR ? 0 : a->kind == F_AMO ? 2 : 1;
	int rb = b->kind == F_ROOT || b->kind == F_VAR ? 0 : b->kind == F_AMO ? 2 : 1;
	if (ra != rb)
		return ra - rb;
	if (a->name != b->name)
		return a->name - b->name;
	if (a->cand != b->cand)
		return a->cand - b->cand;
	return *(const int *)pa - *(const int *)pb;
}

static int core_explain(state *s, enc *e, char **out)
{
	int *ids = NULL;
	size_t n = 0;
	int rc = solver__sat_core(e->sat, &ids, &n);
	if (rc)
		return rc;
	qsort_r(ids, n, sizeof(int), fact_cmp, e->facts);
	sp_buf b = {0};
	rc = sp_buf_printf(
	    &b, s->err, "The request cannot be satisfied: these facts cannot all hold at once:\n");
	size_t shown = 0;
	sp_buf roots = {0}, origins = {0};
	size_t norig = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		const fact *f = &e->facts[ids[i]];
		bool dup = false;
		for (size_t j = 0; j < i && !dup; j++) {
			const fact *g = &e->facts[ids[j]];
			dup = g->kind == f->kind && g->name == f->name && g->cand == f->cand &&
			      g->req == f->req && (f->kind != F_VARREQ || g->oname == f->oname) &&
			      (f->kind == F_AMO || f->kind == F_REQ || f->kind == F_ROOT ||
			       f->kind == F_IFP || f->kind == F_ROOT_IFP || g->ocand == f->ocand);
		}
		if (dup || f->kind == F_COMPSTRUCT)
			continue;
		if (f->kind == F_ROOT)
			rc = sp_buf_printf(&roots, s->err, "%s%s", roots.len ? ", " : "",
					   f->req->text);
		if (!rc && f->kind == F_REQ && norig < 6) {
			sp_buf o = {0}; /* where the requirement is edited (explain.c) */
			rc = solver__where(&o, s->names, f->name, f->cand, f->req, s->err);
			if (!rc && o.data && (!origins.data || !strstr(origins.data, o.data))) {
				rc = sp_buf_printf(&origins, s->err, "%s%s",
						   origins.len ? ", " : "", o.data);
				norig++;
			}
			sp_buf_free(&o);
		}
		if (shown >= 80) {
			shown++;
			continue;
		}
		if (!rc)
			rc = sp_buf_printf(&b, s->err, "- ");
		if (!rc)
			rc = fact_line(s, e, f, &b);
		if (!rc)
			rc = sp_buf_append(&b, "\n", 1, s->err);
		shown++;
	}
	if (!rc && shown > 80)
		rc = sp_buf_printf(&b, s->err, "  (%zu more facts not shown)\n", shown - 80);
	if (!rc && (roots.len || origins.len)) {
		rc = sp_buf_printf(&b, s->err, "To find a solution, change ");
		if (!rc && roots.len)
			rc = sp_buf_printf(&b, s->err, "one of the command-line requests (%s)%s",
					   roots.data, origins.len ? ", or " : "");
		if (!rc && origins.len)
			rc = sp_buf_printf(&b, s->err, "the requirements in %s", origins.data);
		if (!rc)
			rc = sp_buf_printf(&b, s->err,
					   ", or publish a build that satisfies them.\n");
	}
	sp_buf_free(&roots);
	sp_buf_free(&origins);
	free(ids);
	if (rc) {
		sp_buf_free(&b);
		return rc;
	}
	*out = b.data;
	return 0;
}

/* Runs the clause solver. *verdict: 1 sat (s->pref filled), 0 unsat
 * (*core_text holds the explanation), -1 gave up. */
static int presolve(state *s, int *verdict, char **core_text)
{
	enc e = {.s = s};
	*verdict = -1;
	*core_text = NULL;
	e.base = calloc(s->nnames ? s->nnames : 1, sizeof(int));
	e.compbase = calloc(s->nnames ? s->nnames : 1, sizeof(int *));
	vreq *v = NULL;
	size_t nv = 0;
	int rc = (!e.base || !e.compbase) ? sp_error_set(s->err, SP_ENOMEM, "out of memory") : 0;
	if (!rc)
		rc = encode(&e, &v, &nv);
	if (!rc) {
		sp_error keep = *s->err;
		int r = solver__sat_solve(e.sat, 2000000);
		uint64_t confl, dec;
		solver__sat_stats(e.sat, &confl, &dec);
		if (s->o->trace)
			fprintf(s->o->trace,
				"clause solver: %zu facts, %llu decisions, %llu conflicts: %s\n",
				e.nfacts, (unsigned long long)dec, (unsigned long long)confl,
				r == 1	 ? "solvable"
				: r == 0 ? "unsolvable"
					 : "gave up");
		if (r == 1) {
			*verdict = 1;
			for (size_t i = 0; i < s->nnames; i++) {
				s->pref[i] = -1;
				for (size_t c = 0; c < s->names[i].ncands; c++)
					if (solver__sat_value(e.sat, cvar(&e, (int)i, (int)c)))
						s->pref[i] = (int)c;
			}
		} else if (r == 0) {
			*verdict = 0;
			rc = core_explain(s, &e, core_text);
		} else if (r == SOLVER_ELIMIT) {
			*s->err = keep; /* fall back to the search alone */
		} else {
			rc = r;
		}
	}
	if (e.compbase)
		for (size_t i = 0; i < s->nnames; i++)
			free(e.compbase[i]);
	free(e.compbase);
	free(e.base);
	free(e.facts);
	free(e.lits);
	free(v);
	solver__sat_free(e.sat);
	return rc;
}

/* ------------------------------------------------------------- results */

/* Solve order (see solver_result_get_ordered): a queue of names, seeded
 * with the command-line requests; placing a package appends its embedded
 * packages right after it and queues what its requirements name. */
typedef struct order_ctx {
	state *s;
	const int *pos;	  /* name -> item index */
	const int *first; /* per name: its requirements in cons[by[first..]] */
	const int *by;	  /* constraint ids grouped by source name */
	bool *placed;
	int *queue;
	size_t nq, qcap;
	int *out;
	size_t nout;
} order_ctx;

static void order_place(order_ctx *c, int X)
{
	state *s = c->s;
	solver__name *n = &s->names[X];
	if (c->placed[X] || n->assigned < 0)
		return;
	const solver__cand *cd = &n->cands[n->assigned];
	if (cd->kind == K_EMBED && cd->parent_name >= 0 && !c->placed[cd->parent_name]) {
		order_place(c, cd->parent_name);
		if (c->placed[X])
			return;
	}
	c->placed[X] = true;
	c->out[c->nout++] = c->pos[X];
	if (cd->kind != K_EMBED) {
		/* its embedded packages, in the order the spec lists them */
		const solver_build *b = cd->b;
		for (size_t m = 0; m <= b->ncomponents && m <= 64; m++) {
			const solver_embedded *em = b->embedded;
			size_t ne = b->nembedded;
			if (m > 0) {
				if (!(n->comps >> (m - 1) & 1))
					continue;
				em = b->components[m - 1].embedded;
				ne = b->components[m - 1].nembedded;
			}
			for (size_t i = 0; i < ne; i++) {
				int E = find_name(s, em[i].name);
				if (E < 0 || c->placed[E] || s->names[E].assigned < 0)
					continue;
				const solver__cand *ec = &s->names[E].cands[s->names[E].assigned];
				if (ec->kind == K_EMBED && ec->parent_name == X) {
					c->placed[E] = true;
					c->out[c->nout++] = c->pos[E];
				}
			}
		}
	}
	/* what its requirements bring, in the order they were added */
	for (int k = c->first[X]; k < c->first[X + 1]; k++) {
		const solver__cons *kc = &s->cons[c->by[k]];
		if (kc->exact_cand >= 0 || kc->req->include != SOLVER_INCLUDE_ALWAYS)
			continue;
		if (c->nq < c->qcap)
			c->queue[c->nq++] = kc->name;
	}
}

static int solve_order(state *s, solver_result *res, const int *pos)
{
	size_t nn = s->nnames ? s->nnames : 1;
	int *first = calloc(nn + 2, sizeof(int));
	int *by = calloc(s->ncons ? s->ncons : 1, sizeof(int));
	bool *placed = calloc(nn, sizeof(bool));
	size_t qcap = s->ncons + s->o->nrequests + 1;
	int *queue = calloc(qcap, sizeof(int));
	res->order = solver_arena_array(s->a, res->nitems ? res->nitems : 1, sizeof(int), s->err);
	if (!first || !by || !placed || !queue || !res->order) {
		free(first);
		free(by);
		free(placed);
		free(queue);
		return sp_error_set(s->err, SP_ENOMEM, "out of memory (solve order)");
	}
	/* counting sort of the constraints by source, keeping their order */
	for (size_t k = 0; k < s->ncons; k++)
		if (s->cons[k].src_name >= 0)
			first[s->cons[k].src_name + 1]++;
	for (size_t i = 0; i < s->nnames; i++)
		first[i + 1] += first[i];
	first[s->nnames + 1] = first[s->nnames];
	int *fill = calloc(nn, sizeof(int));
	if (!fill) {
		free(first);
		free(by);
		free(placed);
		free(queue);
		return sp_error_set(s->err, SP_ENOMEM, "out of memory (solve order)");
	}
	for (size_t k = 0; k < s->ncons; k++) {
		int src = s->cons[k].src_name;
		if (src >= 0)
			by[first[src] + fill[src]++] = (int)k;
	}
	free(fill);
	order_ctx c = {.s = s,
		       .pos = pos,
		       .first = first,
		       .by = by,
		       .placed = placed,
		       .queue = queue,
		       .qcap = qcap,
		       .out = res->order};
	for (size_t i = 0; i < s->o->nrequests; i++) {
		const solver_request *r = &s->o->requests[i];
		if (r->kind != SOLVER_REQ_PKG || r->include != SOLVER_INCLUDE_ALWAYS)
			continue;
		int Y = find_name(s, r->name);
		if (Y >= 0 && c.nq < qcap)
			queue[c.nq++] = Y;
	}
	for (size_t q = 0; q < c.nq; q++)
		order_place(&c, queue[q]);
	/* anything not reached (nothing should be) follows, by name */
	memset(placed, 0, nn * sizeof(bool));
	for (size_t j = 0; j < c.nout; j++)
		placed[res->order[j]] = true;
	for (size_t i = 0; i < res->nitems; i++)
		if (!placed[i])
			res->order[c.nout++] = (int)i;
	free(first);
	free(by);
	free(placed);
	free(queue);
	return 0;
}

static int build_result(state *s, solver_result *res)
{
	size_t count = 0;
	for (size_t i = 0; i < s->nnames; i++)
		count += s->names[i].assigned >= 0;
	res->items = solver_arena_array(s->a, count ? count : 1, sizeof(*res->items), s->err);
	int *order = calloc(s->nnames ? s->nnames : 1, sizeof(int));
	int *pos = calloc(s->nnames ? s->nnames : 1, sizeof(int));
	if (!res->items || !order || !pos) {
		free(order);
		free(pos);
		return sp_error_set(s->err, SP_ENOMEM, "out of memory (result)");
	}
	size_t k = 0;
	for (size_t i = 0; i < s->nnames; i++)
		if (s->names[i].assigned >= 0)
			order[k++] = (int)i;
	/* sort by name (insertion sort keeps it simple and stable) */
	for (size_t i = 1; i < k; i++) {
		int v = order[i];
		size_t j = i;
		while (j > 0 && strcmp(s->names[order[j - 1]].name, s->names[v].name) > 0) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = v;
	}
	for (size_t i = 0; i < k; i++)
		pos[order[i]] = (int)i;
	int rc = 0;
	size_t nedges = 0, capedges = 0;
	for (size_t i = 0; i < k && !rc; i++) {
		int X = order[i];
		solver__name *n = &s->names[X];
		const solver__cand *cd = &n->cands[n->assigned];
		solver_resolved *it = &res->items[i];
		sp_buf b = {0};
		char id[256];
		if (cd->kind == K_EMBED) {
			solver_build *eb = solver_arena_alloc(s->a, sizeof(*eb), s->err);
			if (!eb) {
				rc = s->err->code;
				break;
			}
			eb->name = n->name;
			eb->version = cd->emb->version;
			eb->build = "embedded";
			eb->origin = cd->b->origin;
			it->build = eb;
			it->embedded_in = solver_arena_strdup(
			    s->a, ident(s, cd->parent_name, cd->parent_cand, id, sizeof(id)),
			    s->err);
		} else {
			it->build = cd->b;
		}
		it->from_source = cd->kind == K_FROMSRC;
		if (cd->kind == K_BUILD && cd->b->is_recipe && cd->fs_state < 0 && cd->fs_why &&
		    cand_has_pins(cd->b)) {
			sp_buf nb = {0};
			if (!sp_buf_printf(&nb, s->err,
					   "%s; its fromBuildEnv requirements are used as written",
					   cd->fs_why))
				it->note = solver_arena_strdup(s->a, nb.data, s->err);
			sp_buf_free(&nb);
			if (!it->note) {
				rc = s->err->code;
				break;
			}
		}
		/* components */
		size_t nc = 0;
		const char **comps = NULL;
		if (cd->kind != K_EMBED) {
			comps = solver_arena_array(s->a, 64, sizeof(char *), s->err);
			for (size_t m = 0; comps && m < cd->b->ncomponents && m < 64; m++)
				if (n->comps >> m & 1)
					comps[nc++] = cd->b->components[m].name;
			for (size_t a = 1; comps && a < nc; a++)
				for (size_t z = a; z > 0 && strcmp(comps[z - 1], comps[z]) > 0;
				     z--) {
					const char *t = comps[z];
					comps[z] = comps[z - 1];
					comps[z - 1] = t;
				}
		}
		it->components = comps;
		it->ncomponents = nc;
		/* options: for a build from source, defaults overridden by vars */
		size_t ninh = 0; /* options a build from source inherits */
		for (size_t e = 0; cd->kind == K_FROMSRC && e < cd->nenv; e++)
			for (size_t o = 0; o < cd->env[e]->noptions; o++)
				ninh += !cd->env[e]->options[o].is_pkg &&
					cd->env[e]->options[o].inheritance != SOLVER_INHERIT_WEAK;
		if (cd->kind != K_EMBED && cd->b->noptions + ninh) {
			solver_opt *opts =
			    solver_arena_array(s->a, cd->b->noptions + ninh, sizeof(*opts), s->err);
			if (!opts) {
				rc = s->err->code;
				break;
			}
			for (size_t o = 0; o < cd->b->noptions; o++) {
				opts[o].name = cd->b->options[o].name;
				opts[o].value = cd->b->options[o].value;
				if (cd->kind == K_FROMSRC)
					for (size_t v = 0; v < s->nvcons; v++)
						if (!strcmp(s->vcons[v].var, opts[o].name) &&
						    (!s->vcons[v].pkg ||
						     !strcmp(s->vcons[v].pkg, n->name)))
							opts[o].value = s->vcons[v].value;
			}
			/* Strong and StrongForBuildOnly options of its build
			 * environment become its build options ("pkg.var") */
			size_t no = cd->b->noptions;
			for (size_t e = 0; ninh && e < cd->nenv; e++)
				for (size_t o = 0; o < cd->env[e]->noptions; o++) {
					const solver_option *eo = &cd->env[e]->options[o];
					if (eo->is_pkg || eo->inheritance == SOLVER_INHERIT_WEAK)
						continue;
					char t[300];
					snprintf(t, sizeof(t), "%s.%s", cd->env[e]->name, eo->name);
					opts[no].name = solver_arena_strdup(s->a, t, s->err);
					opts[no].value = eo->value;
					if (!opts[no++].name)
						rc = s->err->code;
				}
			it->options = opts;
			it->noptions = no;
		}
		/* requested by, newest constraint last */
		int ks[256];
		int nk = 0;
		for (int kk = n->head; kk >= 0 && nk < 256; kk = s->cons[kk].next)
			ks[nk++] = kk;
		for (int q = nk - 1; q >= 0 && !rc; q--) {
			const solver__cons *kc = &s->cons[ks[q]];
			if (kc->src_name < 0)
				rc = sp_buf_printf(&b, s->err, "%scommand line: %s",
						   b.len ? "; " : "", kc->req->text);
			else
				rc = sp_buf_printf(
				    &b, s->err, "%s%s: %s%s", b.len ? "; " : "",
				    ident(s, kc->src_name, kc->src_cand, id, sizeof(id)),
				    kc->exact_cand >= 0 ? "embeds it as " : "",
				    kc->exact_cand >= 0 ? n->name : kc->req->text);
			if (!rc && !GROW(res->edges, nedges, capedges, s->err)) {
				res->edges[nedges].from = kc->src_name < 0 ? -1 : pos[kc->src_name];
				res->edges[nedges].to = (int)i;
				res->edges[nedges].label = kc->req->text;
				nedges++;
			}
		}
		if (!rc && b.len == 0 && cd->kind == K_EMBED)
			rc = sp_buf_printf(&b, s->err, "%s: embeds it", it->embedded_in);
		if (!rc)
			it->requested_by = solver_arena_strdup(s->a, b.data ? b.data : "", s->err);
		sp_buf_free(&b);
	}
	res->nitems = k;
	res->nedges = nedges;
	if (!rc)
		rc = solve_order(s, res, pos);
	free(order);
	free(pos);
	return rc;
}

/* A long explanation starts with two lines: what was asked, and the
 * one-line reason (the end of the first chain of facts). */
#define SUMMARY_FROM_LINES 6
static int summarize(state *s, solver_result *res, const solver__reason *why)
{
	size_t lines = 0;
	for (const char *p = res->explanation; p && *p; p++)
		lines += *p == '\n';
	if (lines <= SUMMARY_FROM_LINES)
		return 0;
	sp_buf b = {0};
	int rc = sp_buf_printf(&b, s->err, "Cannot resolve:");
	for (size_t i = 0; i < s->o->nrequests && !rc; i++)
		rc = sp_buf_printf(&b, s->err, " %s", s->o->requests[i].text);
	for (size_t i = 0; i < s->o->nopts && !rc; i++)
		rc = sp_buf_printf(&b, s->err, " --opt %s=%s", s->o->opts[i].name,
				   s->o->opts[i].value);
	if (!rc)
		rc = sp_buf_printf(&b, s->err, "\nBecause: ");
	if (!rc && why)
		rc = solver__explain_reason(&b, s->names, why, s->err);
	else if (!rc)
		rc = sp_buf_printf(&b, s->err, "the facts below cannot all hold at once");
	if (!rc)
		rc = sp_buf_printf(&b, s->err, "\n%s", res->explanation);
	if (rc) {
		sp_buf_free(&b);
		return rc;
	}
	free(res->explanation);
	res->explanation = b.data;
	return 0;
}

int solver_solve(solver_result **out, const solver_options *o, sp_error *err)
{
	solver__envctx *env = NULL;
	int rc = solver__envctx_new(&env, o->trace, err);
	if (rc)
		return rc;
	rc = solver__solve_in(out, o, env, err);
	solver__envctx_free(env);
	return rc;
}

int solver__solve_in(solver_result **out, const solver_options *o, solver__envctx *env,
		     sp_error *err)
{
	*out = NULL;
	for (size_t r = 0; r < o->nrepos; r++)
		if (!o->repos[r].ops || o->repos[r].ops->version != SOLVER_REPO_OPS_VERSION)
			return sp_error_set(err, SP_EINVALID,
					    "repository %zu has an unsupported interface version",
					    r);
	solver_result *res = calloc(1, sizeof(*res));
	if (!res)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	int rc = solver_arena_new(&res->arena, err);
	if (rc) {
		free(res);
		return rc;
	}
	state st = {.a = res->arena,
		    .o = o,
		    .err = err,
		    .env = env,
		    .max_steps = o->max_steps ? o->max_steps : 5000000};
	st.limit_reason.kind = R_LIMIT;
	st.limit_reason.name = st.limit_reason.cand = -1;
	st.limit_reason.oname = st.limit_reason.ocand = -1;
	st.limit_reason.rsrc_name = st.limit_reason.rsrc_cand = -1;
	rc = load_closure(&st);
	if (rc)
		goto fail;
	st.nwords = (st.nnames + 2 + 63) / 64;
	st.pool_cap = (st.nnames + 4) * 3 * st.nwords + 4 * st.nwords;
	st.pool = calloc(st.pool_cap, sizeof(uint64_t));
	if (!st.pool) {
		rc = sp_error_set(err, SP_ENOMEM, "out of memory (conflict sets)");
		goto fail;
	}
	uint64_t *conf = bs_new(&st);
	solver__reason *why = NULL;
	/* --opt values, then the requests, all from the command line */
	for (size_t i = 0; i < o->nopts; i++) {
		const char *nm = o->opts[i].name;
		const char *dot = strchr(nm, '.');
		const char *pkg = NULL, *var = nm;
		if (dot) {
			pkg = solver_arena_strndup(st.a, nm, (size_t)(dot - nm), err);
			if (!pkg) {
				rc = err->code;
				goto fail;
			}
			var = dot + 1;
		}
		solver_request *vr = solver_arena_alloc(st.a, sizeof(*vr), err);
		char tmp[512];
		snprintf(tmp, sizeof(tmp), "--opt %s=%s", nm, o->opts[i].value);
		if (!vr || !(vr->text = solver_arena_strdup(st.a, tmp, err))) {
			rc = err->code;
			goto fail;
		}
		vr->kind = SOLVER_REQ_VAR;
		vr->var_pkg = pkg;
		vr->var = var;
		vr->value = o->opts[i].value;
		vr->name = pkg ? pkg : var;
		rc = add_vreq(&st, vr, pkg, var, o->opts[i].value, -1, -1, src_one(-1), conf, &why);
		if (rc)
			break;
	}
	/* var requests first: what a build from source is built with (and
	 * whether its required options have values) depends on all of them */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; !rc && i < o->nrequests; i++)
			if ((o->requests[i].kind == SOLVER_REQ_VAR) == (pass == 0))
				rc = add_req(&st, &o->requests[i], -1, -1, src_one(-1), -1, -1,
					     conf, &why);
	char *core = NULL;
	if (rc == 0) {
		int verdict = -1;
		st.pref = malloc((st.nnames ? st.nnames : 1) * sizeof(int));
		if (!st.pref) {
			rc = sp_error_set(err, SP_ENOMEM, "out of memory");
			goto fail;
		}
		for (size_t i = 0; i < st.nnames; i++)
			st.pref[i] = -1;
		rc = presolve(&st, &verdict, &core);
		if (rc)
			goto fail;
		/* Unsolvable per the clause solver: the search only has to
		 * explain it, within a budget; past it, the clause solver's
		 * facts are the explanation. */
		if (verdict == 0 && st.max_steps > 200000)
			st.max_steps = 200000;
		rc = search(&st, conf, &why);
		if (rc == SOLVER_ELIMIT && core) {
			sp_error_clear(err);
			rc = 2;
		}
		if (rc == 1)
			rc = 0;
		else if (rc == 0)
			rc = 1;
	}
	if (rc < 0)
		goto fail;
	res->steps = st.steps;
	res->backtracks = st.backtracks;
	res->learned = st.nngs;
	if (rc == 0) {
		res->ok = true;
		rc = build_result(&st, res);
		if (rc)
			goto fail;
		res->explanation = strdup("");
	} else {
		res->ok = false;
		if (rc == 2) {
			res->explanation = core;
			core = NULL;
		} else {
			res->why = why;
			rc = solver__explain(&res->explanation, st.names, st.nnames, why, err);
			if (rc)
				goto fail;
		}
		if ((rc = summarize(&st, res, rc == 2 ? NULL : why)))
			goto fail;
		rc = SOLVER_EUNSAT;
	}
	res->names = st.names;
	res->nnames = st.nnames;
	st.names = NULL;
	free(st.hash);
	free(st.cons);
	free(st.vcons);
	free(st.trail);
	free(st.levels);
	free(st.ngdata);
	free(st.ngs);
	free(st.pool);
	free(st.pref);
	free(st.memo);
	free(core);
	*out = res;
	return rc;
fail:
	free(st.pref);
	free(st.memo);
	for (size_t i = 0; i < st.nnames; i++)
		for (size_t c = 0; c < st.names[i].ncands; c++)
			free(st.names[i].cands[c].ng);
	free(st.names);
	free(st.hash);
	free(st.cons);
	free(st.vcons);
	free(st.trail);
	free(st.levels);
	free(st.ngdata);
	free(st.ngs);
	free(st.pool);
	solver_arena_free(res->arena);
	free(res->explanation);
	free(res);
	return rc;
}

void solver_result_free(solver_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nnames; i++)
		for (size_t c = 0; c < r->names[i].ncands; c++)
			free(r->names[i].cands[c].ng);
	free(r->names);
	free(r->explanation);
	free(r->edges);
	solver_arena_free(r->arena);
	free(r);
}

void solver_result_freep(solver_result **r)
{
	solver_result_free(*r);
}

bool solver_result_ok(const solver_result *r)
{
	return r && r->ok;
}

size_t solver_result_count(const solver_result *r)
{
	return r ? r->nitems : 0;
}

const solver_resolved *solver_result_get(const solver_result *r, size_t i)
{
	return r && i < r->nitems ? &r->items[i] : NULL;
}

const solver_resolved *solver_result_get_ordered(const solver_result *r, size_t i)
{
	return r && r->order && i < r->nitems ? &r->items[r->order[i]] : NULL;
}

const char *solver_result_explanation(const solver_result *r)
{
	return r && r->explanation ? r->explanation : "";
}

void solver_result_stats(const solver_result *r, uint64_t *steps, uint64_t *backtracks,
			 uint64_t *learned)
{
	*steps = r ? r->steps : 0;
	*backtracks = r ? r->backtracks : 0;
	*learned = r ? r->learned : 0;
}

static void dot_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		if (*s == '\n') {
			fputs("\\n", f);
			continue;
		}
		fputc(*s, f);
	}
	fputc('"', f);
}

int solver_result_write_dot(const solver_result *r, FILE *f, sp_error *err)
{
	if (!r->ok && !r->why) {
		/* the clause solver's facts: one node each, under the verdict */
		fprintf(f, "digraph conflict {\n  node [shape=box];\n");
		fprintf(f, "  r0 [label=\"the request cannot be satisfied\", style=bold];\n");
		const char *p = r->explanation ? strchr(r->explanation, '\n') : NULL;
		int k = 1;
		while (p && *p) {
			p++;
			const char *e = strchr(p, '\n');
			size_t n = e ? (size_t)(e - p) : strlen(p);
			if (n > 2 && p[0] == '-' && p[1] == ' ') {
				char *line = strndup(p + 2, n - 2);
				if (!line)
					return sp_error_set(err, SP_ENOMEM, "out of memory");
				fprintf(f, "  r%d [label=", k);
				dot_str(f, line);
				fprintf(f, "];\n  r0 -> r%d;\n", k);
				free(line);
				k++;
			}
			p = e;
		}
		fprintf(f, "}\n");
		return ferror(f) ? sp_error_set(err, SP_EIO, "cannot write the graph") : 0;
	}
	if (!r->ok)
		return solver__dot_conflict(f, r->names, r->nnames, r->why, err);
	fprintf(f, "digraph solution {\n  rankdir=LR;\n  node [shape=box];\n");
	fprintf(f, "  request [label=\"command line\", shape=ellipse];\n");
	for (size_t i = 0; i < r->nitems; i++) {
		const solver_resolved *it = &r->items[i];
		char v[128], lab[512];
		snprintf(lab, sizeof(lab), "%s/%s/%s%s", it->build->name,
			 solver_version_str(&it->build->version, v, sizeof(v)), it->build->build,
			 it->from_source ? " (build from source)" : "");
		fprintf(f, "  n%zu [label=", i);
		dot_str(f, lab);
		fprintf(f, "];\n");
	}
	for (size_t e = 0; e < r->nedges; e++) {
		if (r->edges[e].from < 0)
			fprintf(f, "  request -> n%d [label=", r->edges[e].to);
		else
			fprintf(f, "  n%d -> n%d [label=", r->edges[e].from, r->edges[e].to);
		dot_str(f, r->edges[e].label);
		fprintf(f, "];\n");
	}
	fprintf(f, "}\n");
	if (ferror(f))
		return sp_error_set(err, SP_EIO, "cannot write the graph");
	return 0;
}
