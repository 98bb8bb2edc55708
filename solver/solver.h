/*
 * solver.h - SPK versions, compat, ranges, requests and the solver
 * (prefix solver_).
 *
 * The solver knows nothing about files or YAML: packages reach it through a
 * small versioned table of functions (solver_repo_ops), implemented by pkg/
 * for spec directories.
 *
 * Memory: parsed values (versions, ranges, requests, package builds) live in
 * a solver_arena owned by whoever created it; they are freed all at once
 * with solver_arena_free(). Nothing returned here must be free()d, except a
 * solver_result, which the caller frees with solver_result_free().
 *
 * Errors: functions return 0 or a negative code (SP_E* from common.h, or the
 * SOLVER_E* codes below) and describe the failure in the caller's sp_error.
 */
#ifndef SPAWN_SOLVER_H
#define SPAWN_SOLVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/common.h"

/* Expected failures of this module. */
enum {
	SOLVER_EUNSAT = -400, /* no solution exists; the result explains why */
	SOLVER_ELIMIT = -401, /* the search passed its step limit */
};

/* ------------------------------------------------------------ arena */

/* Bump allocator for data with one lifetime. */
typedef struct solver_arena solver_arena;
int solver_arena_new(solver_arena **out, sp_error *err);
void solver_arena_free(solver_arena *a);
void solver_arena_freep(solver_arena **a);
/* Zeroed, 16-byte aligned memory; NULL and *err set when out of memory or
 * over the arena's cap (SOLVER_ARENA_MAX bytes). */
void *solver_arena_alloc(solver_arena *a, size_t n, sp_error *err);
void *solver_arena_array(solver_arena *a, size_t count, size_t size, sp_error *err);
char *solver_arena_strndup(solver_arena *a, const char *s, size_t n, sp_error *err);
char *solver_arena_strdup(solver_arena *a, const char *s, sp_error *err);
#define SOLVER_ARENA_MAX ((size_t)1 << 32)

/* ----------------------------------------------------------- limits */

/* Every parser here takes explicit limits. */
typedef struct solver_limits {
	size_t max_text;       /* bytes in one version, range or request string */
	size_t max_parts;      /* numeric parts in one version */
	size_t max_tags;       /* tags in one pre- or post-release set */
	size_t max_rules;      /* comma-separated rules in one range */
	size_t max_components; /* components named in one request */
} solver_limits;

/* 4096 bytes, 32 parts, 16 tags, 64 rules, 64 components. */
extern const solver_limits solver_limits_default;

/* ---------------------------------------------------------- versions */

typedef struct solver_tag {
	const char *name; /* [a-z][a-z0-9]* */
	uint32_t num;
} solver_tag;

/* A version: numeric parts as written (trailing zeros are kept for
 * printing and for ^/~, but never change comparisons), then optional
 * pre-release tags and post-release tags, each sorted by name. */
typedef struct solver_version {
	const uint32_t *parts;
	size_t nparts;
	const solver_tag *pre;
	size_t npre;
	const solver_tag *post;
	size_t npost;
} solver_version;

/* Parses s[0..n) ("1.2.3", "1.0-alpha.1,beta.2+r.1"). */
int solver_version_parse(solver_version *out, solver_arena *a, const char *s, size_t n,
			 const solver_limits *lim, sp_error *err);
/* <0, 0, >0. Trailing zeros are insignificant; a pre-release sorts before
 * the plain version, a post-release after it; tag sets compare tag by tag
 * (name, then number) in name order, a shorter set first. */
int solver_version_cmp(const solver_version *a, const solver_version *b);
/* Numeric parts equal (zero-padded). */
bool solver_version_parts_eq(const solver_version *a, const solver_version *b);
int solver_version_format(const solver_version *v, sp_buf *b, sp_error *err);
/* Formats into a caller buffer, truncating; returns buf. */
const char *solver_version_str(const solver_version *v, char *buf, size_t n);

/* ------------------------------------------------------------ compat */

enum {
	SOLVER_COMPAT_NONE = 1,	  /* x */
	SOLVER_COMPAT_API = 2,	  /* a */
	SOLVER_COMPAT_BINARY = 4, /* b */
};

/* "x.a.b", "x.ab", "x.a.b-x+x": one rule set per version part, optional
 * pre (-) and post (+) rule sets. nparts == 0 means the default x.a.b. */
typedef struct solver_compat {
	const uint8_t *parts;
	size_t nparts;
	uint8_t pre;  /* 0 when not given */
	uint8_t post; /* 0 when not given */
} solver_compat;

int solver_compat_parse(solver_compat *out, solver_arena *a, const char *s, size_t n,
			const solver_limits *lim, sp_error *err);
/* Is `other` compatible with `base` for `required` (SOLVER_COMPAT_API or
 * SOLVER_COMPAT_BINARY) under compat c (NULL = default)? When not, a reason
 * is written to why (may be NULL). */
bool solver_compat_check(const solver_compat *c, const solver_version *base,
			 const solver_version *other, int required, char *why, size_t whylen);
int solver_compat_format(const solver_compat *c, sp_buf *b, sp_error *err);

/* ------------------------------------------------------------ ranges */

typedef enum {
	SOLVER_OP_COMPAT,   /* 1.2 : the package's compat, the request's default */
	SOLVER_OP_API,	    /* API:1.2 */
	SOLVER_OP_BINARY,   /* Binary:1.2 */
	SOLVER_OP_CARET,    /* ^1.2 */
	SOLVER_OP_TILDE,    /* ~1.2 */
	SOLVER_OP_GE,	    /* >=1.2 */
	SOLVER_OP_GT,	    /* >1.2 */
	SOLVER_OP_LE,	    /* <=1.2 */
	SOLVER_OP_LT,	    /* <1.2 */
	SOLVER_OP_EQ,	    /* =1.2 : post tags only compared when written */
	SOLVER_OP_EQEQ,	    /* ==1.2 : exact */
	SOLVER_OP_NE,	    /* !=1.2 : not =1.2 */
	SOLVER_OP_NENE,	    /* !==1.2 : not ==1.2 */
	SOLVER_OP_WILDCARD, /* 1.*, 1.*.3, * */
} solver_op;

typedef struct solver_rule {
	solver_op op;
	solver_version v;     /* the written version (not for WILDCARD) */
	solver_version upper; /* exclusive bound for CARET and TILDE */
	/* WILDCARD: parts with the starred position set to UINT32_MAX. */
	const uint32_t *wild;
	size_t nwild;
} solver_rule;

/* Intersection of rules; nrules == 0 allows every version. */
typedef struct solver_range {
	const solver_rule *rules;
	size_t nrules;
} solver_range;

int solver_range_parse(solver_range *out, solver_arena *a, const char *s, size_t n,
		       const solver_limits *lim, sp_error *err);
/* Does version v of a package with compat c (NULL = default) satisfy r?
 * default_rule (SOLVER_COMPAT_API or _BINARY) applies to bare versions. */
bool solver_range_allows(const solver_range *r, const solver_version *v, const solver_compat *c,
			 int default_rule, char *why, size_t whylen);
/* True when a rule names a pre-release version (then pre-releases of it
 * are allowed even without prereleasePolicy: IncludeAll). */
bool solver_range_names_prerelease(const solver_range *r);
int solver_range_format(const solver_range *r, sp_buf *b, sp_error *err);

/* ---------------------------------------------------------- requests */

typedef enum {
	SOLVER_REQ_PKG = 0,
	SOLVER_REQ_VAR = 1,
} solver_req_kind;

typedef enum {
	SOLVER_INCLUDE_ALWAYS = 0,
	SOLVER_INCLUDE_IF_PRESENT = 1, /* include: IfAlreadyPresent */
} solver_include;

typedef enum {
	SOLVER_PRERELEASE_EXCLUDE = 0, /* ExcludeAll (default) */
	SOLVER_PRERELEASE_INCLUDE = 1, /* IncludeAll */
} solver_prerelease;

typedef struct solver_request {
	solver_req_kind kind;
	const char *text; /* as written, for messages */
	/* SOLVER_REQ_PKG */
	const char *repo; /* NULL = any repository */
	const char *name;
	const char *const *components; /* empty = the default component (run) */
	size_t ncomponents;
	solver_range range;
	const char *build; /* NULL, "src", or a build id */
	solver_include include;
	solver_prerelease prerelease;
	int compat_rule;     /* default rule for bare versions: API or BINARY */
	bool from_build_env; /* fromBuildEnv was given (see docs/spec.md) */
	const char *pin;     /* its value as written ("x.x", "~x.x", "Binary",
			      * "API", "true"), or NULL */
	bool if_present;     /* ifPresentInBuildEnv: dropped when the package
			      * (or var) is not in the build environment */
	/* SOLVER_REQ_VAR: "var/value", "var=value" or "pkg.var/value" */
	const char *var_pkg; /* NULL for a global var */
	const char *var;
	const char *value;
	size_t line; /* 1-based line in the spec text it was read from; 0: not from one */
} solver_request;

/* Package request "[repo/]name[:comp|:{a,b}][/range[/build]]". */
int solver_request_parse(solver_request *out, solver_arena *a, const char *s, size_t n,
			 int compat_rule, const solver_limits *lim, sp_error *err);
/* Var request "name/value", "name=value", "pkg.name/value". */
int solver_request_parse_var(solver_request *out, solver_arena *a, const char *s, size_t n,
			     const solver_limits *lim, sp_error *err);
/* Command-line form: a var request when the text has "=" before any "/",
 * or a "." in its name; else a package request with API compat. */
int solver_request_parse_cli(solver_request *out, solver_arena *a, const char *s,
			     const solver_limits *lim, sp_error *err);
int solver_request_format(const solver_request *r, sp_buf *b, sp_error *err);
/* Package names: [a-z0-9-], 1..64 bytes, starting with a letter or digit. */
bool solver_name_valid(const char *s, size_t n);

/* ------------------------------------------------------ package builds */

/* How a var option passes to packages built against this one. */
typedef enum {
	SOLVER_INHERIT_WEAK = 0,	 /* not at all (the default) */
	SOLVER_INHERIT_STRONG_BUILD = 1, /* StrongForBuildOnly: their build options */
	SOLVER_INHERIT_STRONG = 2,	 /* Strong: build options and install requirements */
} solver_inheritance;

/* One build option value of a build (build.options). */
typedef struct solver_option {
	const char *name;
	const char *value;
	bool is_pkg;		    /* a pkg option (a build dependency) */
	bool is_static;		    /* static: value cannot be changed */
	const char *const *choices; /* allowed values, when given */
	size_t nchoices;
	solver_inheritance inheritance; /* var options */
	bool required;			/* required: the value must not be empty */
} solver_option;

/* A package provided by another (install.embedded). */
typedef struct solver_embedded {
	const char *name;
	solver_version version;
	const char *const *components; /* empty = build and run */
	size_t ncomponents;
} solver_embedded;

typedef struct solver_component {
	const char *name;
	const char *const *uses;
	size_t nuses;
	const solver_request *reqs;
	size_t nreqs;
	const solver_embedded *embedded;
	size_t nembedded;
} solver_component;

/* What the solver needs to know about one package build. All pointers are
 * borrowed from the repository and live as long as it. */
typedef struct solver_build {
	const char *name;
	solver_version version;
	solver_compat compat;
	const char *build; /* build id, or "src" for a source package */
	bool deprecated;
	bool is_source; /* name/version/src */
	bool is_recipe; /* the default-options build of a recipe: with
			 * allow_builds the solver may also build it from
			 * source with other option values */
	const solver_option *options;
	size_t noptions;
	const solver_request *reqs; /* install.requirements */
	size_t nreqs;
	const solver_component *components; /* always has build and run */
	size_t ncomponents;
	const solver_embedded *embedded; /* install.embedded */
	size_t nembedded;
	const solver_request *build_reqs; /* pkg build options, for builds */
	size_t nbuild_reqs;
	const char *origin; /* "file:line" of the spec, for explanations */
	/* Where a person edits this build's requirements, named by explanations:
	 * a requirement on line L of the spec text is on line L + shift of
	 * file (when lines). A published build (from a repository) is named
	 * by name/version/build, with the recipe it was built from when the
	 * repository recorded it. All zero: origin is named. */
	struct {
		const char *file;
		long shift;
		bool lines;
		bool published;
	} where;
	/* var names ("pkg.var") a `suppress` install requirement keeps from
	 * being inherited (Strong) into the install requirements */
	const char *const *suppressed;
	size_t nsuppressed;
} solver_build;

/* ------------------------------------------------------- repositories */

#define SOLVER_REPO_OPS_VERSION 1

/* A repository backend. Returned arrays are borrowed from the backend and
 * stay valid until the backend is freed. A package that does not exist
 * gives *n = 0 and returns 0. */
typedef struct solver_repo_ops {
	int version; /* SOLVER_REPO_OPS_VERSION */
	/* Every build of package `name` (any order). */
	int (*builds)(void *self, const char *name, const solver_build *const **out, size_t *n,
		      sp_error *err);
	/* Every build whose install.embedded (or a component's) names `name`. */
	int (*embedders)(void *self, const char *name, const solver_build *const **out, size_t *n,
			 sp_error *err);
} solver_repo_ops;

typedef struct solver_repo {
	const solver_repo_ops *ops;
	void *self;
	const char *name; /* for "repo/name" requests and messages */
} solver_repo;

/* ------------------------------------------------------------- solve */

typedef struct solver_opt {
	const char *name; /* "var" or "pkg.var" */
	const char *value;
} solver_opt;

typedef struct solver_options {
	const solver_repo *repos;
	size_t nrepos;
	const solver_request *requests; /* package and var requests */
	size_t nrequests;
	const solver_opt *opts; /* --opt NAME=VALUE */
	size_t nopts;
	bool allow_builds;  /* consider building recipes from source */
	FILE *trace;	    /* each decision, conflict and backtrack; or NULL */
	uint64_t max_steps; /* 0 = 5,000,000 candidate tries */
} solver_options;

typedef struct solver_resolved {
	const solver_build *build;
	const char *const *components; /* selected components, sorted */
	size_t ncomponents;
	bool from_source;	   /* to be built from its recipe */
	const char *embedded_in;   /* "name/version/build" of the parent, or NULL */
	const char *requested_by;  /* "command line: x/1; y/2/ABC: x/>=1" */
	const solver_opt *options; /* option values (for from_source builds:
				    * the values it would be built with) */
	size_t noptions;
	/* a recipe's default build whose build environment could not be
	 * resolved (so its fromBuildEnv requirements are used as written):
	 * why, in one line; else NULL */
	const char *note;
} solver_resolved;

typedef struct solver_result solver_result;

/* Solves. Returns 0 with *out holding the solution; SOLVER_EUNSAT with *out
 * holding the explanation (solver_result_explanation); another negative
 * code on bad input or out of memory (*out is NULL, err says why).
 * The result borrows the repositories' builds: free it before them. */
int solver_solve(solver_result **out, const solver_options *o, sp_error *err);
void solver_result_free(solver_result *r);
void solver_result_freep(solver_result **r);
bool solver_result_ok(const solver_result *r);
/* Resolved packages, sorted by name. */
size_t solver_result_count(const solver_result *r);
const solver_resolved *solver_result_get(const solver_result *r, size_t i);
/* Resolved packages in solve order (SPK's solution order, the order in
 * which install.environment operations apply): the command-line requests
 * in the order given, then what they brought in, breadth first (each
 * package's requirements in the order its spec lists them); a package's
 * embedded packages follow it directly. NULL past the end. */
const solver_resolved *solver_result_get_ordered(const solver_result *r, size_t i);
/* The plain-words explanation of a failure ("" on success). */
const char *solver_result_explanation(const solver_result *r);
/* Graphviz dot of the solution or of the conflict. */
int solver_result_write_dot(const solver_result *r, FILE *f, sp_error *err);
/* Statistics: candidate tries, backtracks, learned conflicts. */
void solver_result_stats(const solver_result *r, uint64_t *steps, uint64_t *backtracks,
			 uint64_t *learned);

#endif /* SPAWN_SOLVER_H */
