/* build_plan.h - what a build will do, computed as data before anything
 * runs (pkg-internal; build_plan.c). repo_build.c solves the build
 * environment between the two steps, runs the script and publishes.
 *
 *   pkg__plan_options   option values (defaults < host < variant < --opt),
 *                       the build environment's requests and solver options
 *   (solve)             repo_build.c
 *   pkg__plan_resolve   pkg option values from the solved environment,
 *                       inherited options, build id, the script's variables,
 *                       the environment's specs in order, component globs
 *
 * Both steps are pure: they read only their arguments (the host's values
 * come in as pkg__host, detected once by pkg__host_detect). Everything
 * they make lives in the arena given. */
#ifndef SPAWN_PKG_BUILD_PLAN_H
#define SPAWN_PKG_BUILD_PLAN_H

#include "pkg/yamltree.h"

/* SPK's host options (auto_host_vars): os and arch as Rust names them
 * (linux, x86_64, aarch64), distro the os-release ID, distro_version its
 * VERSION_ID (the value of the option named after the distro). NULL when
 * unknown. */
typedef struct pkg__host {
	const char *os;
	const char *arch;
	const char *distro;
	const char *distro_version;
} pkg__host;

/* Reads os-release text (KEY=value lines, values optionally quoted) into
 * h->distro and h->distro_version (arena a); other fields are left. */
int pkg__host_parse_os_release(pkg__host *h, solver_arena *a, const char *text, size_t len,
			       sp_error *err);
/* The host's values: uname for arch, /etc/os-release (else
 * /usr/lib/os-release) for the distro. */
int pkg__host_detect(pkg__host *h, solver_arena *a, sp_error *err);

/* auto_host_vars (SPK): which host options a recipe gains. */
typedef enum {
	PKG__HOST_DISTRO = 0, /* os, arch, distro and <distro> (the default) */
	PKG__HOST_ARCH = 1,   /* os, arch */
	PKG__HOST_OS = 2,     /* os */
	PKG__HOST_NONE = 3,
} pkg__host_vars;

typedef struct pkg__var {
	const char *name;
	const char *value;
} pkg__var;

/* A component's `files` rules (gitignore-like, see files_match.c); none:
 * every file. */
typedef struct pkg__plan_component {
	const char *name;
	const char *const *rules;
	size_t nrules;
	bool remaining; /* file_match_mode: Remaining (only files no earlier
			 * component claimed) */
} pkg__plan_component;

/* Does a component with `files` rules[0..n) hold path (relative to /spfs)?
 * gitignore rules, `!` excludes, the last matching rule wins, a path no
 * rule matches goes with its nearest matched parent (files_match.c). */
bool pkg__files_match(const char *const *rules, size_t n, const char *path, bool is_dir);

/* One package of the solved build environment. */
typedef struct pkg__build_dep {
	const solver_build *build;
	const pkg_spec *spec; /* for its environment operations; may be NULL */
} pkg__build_dep;

typedef struct pkg__build_plan {
	const pkg_spec *spec;
	const char *version; /* formatted */
	/* the recipe's options with their values, then the host options it
	 * gains (opts[nown..nopts)) */
	solver_option *opts;
	size_t nopts, nown;
	/* the build environment to solve */
	solver_request *reqs;
	size_t nreqs;
	solver_opt *solve_opts;
	size_t nsolve_opts;
	/* set by pkg__plan_resolve */
	solver_option *inherited; /* Strong options of the environment */
	size_t ninherited;
	char id[9];
	char ident[512]; /* NAME/VERSION/BUILD */
	pkg__var *vars;	 /* the script's variables, set after env ops */
	size_t nvars;
	const pkg_spec **env_specs; /* whose install.environment applies, solve order */
	size_t nenv_specs;
	pkg__plan_component *components; /* in the order they claim files */
	size_t ncomponents;
} pkg__build_plan;

/* Step 1. doc is the recipe's document (variants and component globs are
 * read from it); host may be NULL (no host options). */
int pkg__plan_options(pkg__build_plan *p, solver_arena *a, const pkg_spec *spec,
		      const pkg__ynode *doc, const pkg_build_opts *o, const pkg__host *host,
		      sp_error *err);
/* Step 2, with the solved environment env[0..n) in solve order. */
int pkg__plan_resolve(pkg__build_plan *p, solver_arena *a, const pkg__ynode *doc,
		      const pkg__build_dep *env, size_t n, sp_error *err);

/* The variables SPK sets for package b: SPK_PKG_<name>[...] when `prefix`
 * is true (for the packages of an environment), else SPK_PKG[...] (the
 * package being built): the ident, _VERSION, _BUILD, _VERSION_MAJOR,
 * _MINOR, _PATCH and _BASE. Appends to *v (arena). */
int pkg__pkg_vars(pkg__var **v, size_t *n, size_t *cap, solver_arena *a, const solver_build *b,
		  bool prefix, sp_error *err);

/* build.validation (validation.c): SPK's default rules then the
 * recipe's, expanded as SPK expands them. */
enum { PKG__V_CHANGE = 1, PKG__V_REMOVE = 2, PKG__V_TOUCH = 3 };
typedef struct pkg__vrule {
	int kind;		     /* allow, deny, require */
	int cond;		     /* EmptyPackage, AlterExistingFiles... */
	int action;		     /* AlterExistingFiles: PKG__V_* */
	const char *const *packages; /* "Self" is the package built */
	size_t npackages;
} pkg__vrule;
typedef struct pkg__validation {
	pkg__vrule *rules;
	size_t n;
} pkg__validation;
int pkg__validation_parse(pkg__validation *v, solver_arena *a, const pkg__ynode *doc,
			  const char *file, sp_error *err);
/* Checks a build.validation node alone (the spec loader). */
int pkg__validation_check(const pkg__ynode *val, const char *file, sp_error *err);

/* The files of a build environment, each with the package it comes from:
 * add each layer's manifest bottom first, then finish (the top-most entry
 * of a path wins; masked paths go). */
typedef struct pkg__env_file {
	const char *path;
	const char *owner;
	spfs_entry_kind kind;
	sp_digest digest;
	uint32_t mode;
	size_t order;
} pkg__env_file;
typedef struct pkg__env_files {
	pkg__env_file *v;
	size_t n;
	size_t layers;
} pkg__env_files;
int pkg__env_files_add(pkg__env_files *f, solver_arena *a, const spfs_manifest *m,
		       const char *owner, sp_error *err);
void pkg__env_files_finish(pkg__env_files *f);
const pkg__env_file *pkg__env_files_find(const pkg__env_files *f, const char *path);

/* RecursiveBuild, before the script runs (env: the solved environment). */
int pkg__validate_setup(const pkg__validation *v, const char *self, const pkg__build_dep *env,
			size_t n, sp_error *err);
/* After it: AlterExistingFiles, CollectExistingFiles, EmptyPackage,
 * SpdxLicense (present or not; identifiers are not checked). Drops from m
 * the files the build touched without changing that another package owns
 * (SPK does not collect them). */
int pkg__validate_build(const pkg__validation *v, const char *self, const pkg__env_files *f,
			spfs_manifest *m, bool has_license, sp_error *err);

/* The document of recipe `spec` in the spec file text[0..len): its text
 * (*dtext, *dlen) and tree, in arena a (repo_build.c). */
int pkg__recipe_doc(const pkg__ynode **doc, const char **dtext, size_t *dlen, solver_arena *a,
		    const char *text, size_t len, const char *file, const pkg_spec *spec,
		    sp_error *err);

/* Does a variant (its planned option values) pass a test's selectors? No
 * selectors: yes; else when one selector's values all equal the variant's
 * (repo_test.c). */
bool pkg__test_selected(const pkg_test_decl *t, const pkg__build_plan *p);

/* This process's environment, copied (*out: NULL-terminated "NAME=value"
 * strings), and put back exactly (frees it) (repo_build.c). */
int pkg__env_save(char ***out, sp_error *err);
void pkg__env_restore(char **saved);

#endif
