/* solve_internal.h - shared between solve.c and explain.c (not public). */
#ifndef SPAWN_SOLVER_SOLVE_INTERNAL_H
#define SPAWN_SOLVER_SOLVE_INTERNAL_H

#include "solver/solver.h"

/* range.c: SPK's bounds of a rule or range. A lower bound is inclusive,
 * an upper one exclusive; eps means "just above v"; set false means none.
 * Wildcard bounds are allocated in the arena. */
typedef struct solver__bound {
	solver_version v;
	bool set;
	bool eps;
} solver__bound;
int solver__rule_bounds(const solver_rule *r, solver_arena *a, solver__bound *lo, solver__bound *hi,
			sp_error *err);
int solver__range_bounds(const solver_range *r, solver_arena *a, solver__bound *lo,
			 solver__bound *hi, sp_error *err);
int solver__bound_cmp(const solver__bound *x, const solver__bound *y);
/* Do the versions of two bound pairs overlap (crossed bounds, as != has,
 * stand for everything outside them)? */
bool solver__bounds_meet(const solver__bound *lo1, const solver__bound *hi1,
			 const solver__bound *lo2, const solver__bound *hi2);
/* Drops rules that another rule of the range makes redundant (SPK's
 * simplification; merge_compat lets bare/API/Binary rules merge too). */
int solver__range_simplify(solver_range *r, solver_arena *a, bool merge_compat, sp_error *err);
/* True when a rule of r is below every version (<0): an IfAlreadyPresent
 * request with such a range says "this package must not be present". */
bool solver__range_below_all(const solver_range *r);
/* False when some rule of x and some rule of y share no version by their
 * bounds; *rx and *ry (may be NULL) name them. */
bool solver__ranges_meet(const solver_range *x, const solver_range *y, solver_arena *a,
			 const solver_rule **rx, const solver_rule **ry);

/* buildenv.c: build environments solved within one top-level solve (the
 * context, its stack and memo; see the top of buildenv.c). */
#define SOLVER__ENV_MAX_DEPTH  16   /* nested build environments */
#define SOLVER__ENV_MAX_SOLVES 4096 /* build environments per solve */
typedef struct solver__envctx solver__envctx;
typedef struct solver__envmemo {
	const char *key;
	bool ok;
	const solver_build *const *env; /* the builds it chose (ok only) */
	size_t nenv;
	const char *why; /* why not (not ok) */
} solver__envmemo;
/* trace (may be NULL): the top-level solve's trace. */
int solver__envctx_new(solver__envctx **out, FILE *trace, sp_error *err);
FILE *solver__env_trace(const solver__envctx *c);
void solver__envctx_free(solver__envctx *c);
/* The key of one build environment solve: the build and every input. */
int solver__env_key(char **out, const solver_build *b, const solver_opt *opts, size_t nopts,
		    const solver_request *reqs, size_t nreqs, solver_arena *a, sp_error *err);
/* Borrowed from the context; NULL when not solved yet. */
const solver__envmemo *solver__env_lookup(const solver__envctx *c, const char *key);
/* The stack index of key when it is being solved, else -1. */
int solver__env_active(const solver__envctx *c, const char *key);
size_t solver__env_depth(const solver__envctx *c);
size_t solver__env_count(const solver__envctx *c);
/* key, via and ident must outlive the frame; depth < SOLVER__ENV_MAX_DEPTH.
 * via says how b came into the solve that opens the frame ("needs e/~2.4,
 * whose candidate e/3.1.1/X requires i"), ident names the candidate. */
void solver__env_push(solver__envctx *c, const char *key, const solver_build *b, const char *via,
		      const char *ident);
void solver__env_pop(solver__envctx *c);
/* Copies key, env and why into the context. */
int solver__env_remember(solver__envctx *c, const char *key, bool ok,
			 const solver_build *const *env, size_t nenv, const char *why,
			 sp_error *err);
/* The open frames from `from` to the top in words, then the candidate
 * (now_via, now_ident) being opened; when cycle, it is the build of frame
 * `from` again ("its build environment needs e/~2.4.0, whose candidate
 * e/3.1.1/X requires i, whose candidate i/2.4.0/Y is this build again
 * (a cycle)"). */
int solver__env_chain(sp_buf *out, const solver__envctx *c, size_t from, const char *now_via,
		      const char *now_ident, bool cycle, sp_error *err);
/* solver_solve inside a solve: env is the top-level solve's context. */
int solver__solve_in(solver_result **out, const solver_options *o, solver__envctx *env,
		     sp_error *err);

enum { K_BUILD = 0, K_EMBED = 1, K_FROMSRC = 2 };

/* Decision levels a constraint depends on: up to 4 explicit levels, or
 * conservatively every level 0..upto. -1 entries are the root. */
typedef struct solver__src {
	int n;
	int lv[4];
	int upto; /* -1 = unused */
} solver__src;

typedef struct solver__cand {
	const solver_build *b; /* for K_EMBED: the parent build */
	int repo;
	int kind;
	const solver_embedded *emb;
	int parent_name, parent_cand;
	int parent_kind; /* K_EMBED: K_BUILD, or K_FROMSRC for the stand-in
			  * a recipe built from source provides */
	const solver_version *ver;
	const solver_compat *compat;
	const char *build_id;
	bool deprecated, prerelease, is_source;
	int fs_state; /* K_FROMSRC sub-solve: 0 unknown, 1 ok, -1 fails */
	const char *fs_why;
	/* the build environment it is (or was taken to be) built in: from the
	 * sub-solve of a build from source or of a recipe's default build */
	const solver_build *const *env;
	size_t nenv;
	/* install.requirements as they apply: fromBuildEnv pinned, strong
	 * options of the build environment added (see cand_reqs) */
	const solver_request *reqs;
	size_t nreqs;
	const solver_component *comps; /* the components, with theirs pinned */
	int reqs_state;		       /* 0 not computed yet, 1 computed */
	const char *bad_why;	       /* unusable (a required option has no value) */
	int *ng; /* learned conflicts (nogood ids) this candidate is part of */
	size_t nng, capng;
} solver__cand;

typedef struct solver__name {
	const char *name;
	solver__cand *cands;
	size_t ncands;
	int assigned, level;
	int head; /* newest constraint, -1 */
	int nalways;
	uint64_t comps;	  /* components selected on the assigned candidate */
	bool exact_named; /* some request anywhere names a build of it */
	bool src_named;
	bool dirty;
	int viable;
	int seq;
	/* how the name came into the solve (its first mention): a command-line
	 * request (via_name -1), or a requirement or embedded package of
	 * candidate via_cand of via_name (via_req NULL for embedded) */
	int via_name, via_cand;
	const solver_request *via_req;
} solver__name;

typedef struct solver__cons {
	const solver_request *req;
	int name;
	int src_name, src_cand; /* -1 = the command line */
	solver__src src;
	int exact_cand; /* >= 0: must be exactly this candidate */
	int next;
} solver__cons;

typedef struct solver__vcons {
	const solver_request *req;
	const char *pkg, *var, *value;
	int src_name, src_cand;
	solver__src src;
} solver__vcons;

enum {
	R_NAMEFAIL = 1, /* name: every candidate failed (kids) */
	R_NOPKG,	/* name: no package of that name */
	R_CONS,		/* cand does not satisfy request req (from rsrc) */
	R_DEPRECATED,
	R_SOURCE,	/* a source package, not requested with /src */
	R_FROMSRC,	/* cannot be built: detail */
	R_VAR,		/* option differs from a var request */
	R_NOGOOD,	/* excluded by an earlier learned conflict (child) */
	R_DEP_DECIDED,	/* cand requires req, but oname is ocand (child) */
	R_DEP_WIPEOUT,	/* cand requires req, no oname candidate left (kids) */
	R_VAR_CLASH,	/* var request req clashes with another (detail) */
	R_EMBED_CLASH,	/* cand embeds oname, but oname is ocand */
	R_SUBTREE,	/* cand was tried, then child failed */
	R_LIMIT,	/* details dropped to bound memory */
	R_ROOT_WIPEOUT, /* a command-line request leaves nothing (kids) */
	R_UNUSABLE,	/* cand cannot be used at all: detail */
};

typedef struct solver__reason {
	int kind;
	int name, cand;
	const solver_request *req;
	int rsrc_name, rsrc_cand; /* source of req: -1 = command line */
	int oname, ocand;
	const char *detail;
	struct solver__reason *child;
	struct solver__reason **kids;
	size_t nkids;
} solver__reason;

struct solver_result {
	solver_arena *arena;
	bool ok;
	solver_resolved *items;
	size_t nitems;
	int *order; /* item indices in solve order */
	char *explanation;
	/* kept for dot output of a conflict */
	solver__name *names;
	size_t nnames;
	solver__reason *why;
	uint64_t steps, backtracks, learned;
	/* the solution graph: edges from requester to package */
	struct {
		int from; /* index in items, -1 = command line */
		int to;
		const char *label;
	} * edges;
	size_t nedges;
};

/* explain.c */
int solver__explain(char **out, const solver__name *names, size_t nnames, const solver__reason *why,
		    sp_error *err);
/* The one-line reason of a failure: the fact at the end of the first
 * chain (for the summary of a long explanation). */
int solver__explain_reason(sp_buf *b, const solver__name *names, const solver__reason *why,
			   sp_error *err);
/* One fact, without the facts under it. */
int solver__reason_line(sp_buf *b, const solver__name *names, const solver__reason *r,
			sp_error *err);
int solver__ident(sp_buf *b, const solver__name *names, int name, int cand, sp_error *err);
/* Where a person edits requirement req (may be NULL) of a candidate: the
 * spec file and the requirement's line, or a published build and the
 * recipe file and line it records (solver_build.where). */
int solver__where(sp_buf *b, const solver__name *names, int name, int cand,
		  const solver_request *req, sp_error *err);
int solver__dot_conflict(FILE *f, const solver__name *names, size_t nnames,
			 const solver__reason *why, sp_error *err);

#endif
