/*
 * pkg.h - SPK package spec files and spec-directory repositories
 * (prefix pkg_).
 *
 * A spec file is SPK's `api: v0/package` YAML, read with libyaml; a file may
 * hold several documents. Each document becomes a pkg_spec, whose `build`
 * member is what the solver sees (solver_build). Errors name the file, line
 * and column; unknown fields are reported as warnings through sp_log.
 *
 * A spec directory is a tree searched recursively for *.yaml and *.yml:
 *   pkg: name/version        a recipe, and one binary build with its default
 *                            option values (build id derived from them)
 *   pkg: name/version/BUILD  a published build; build.options carry its values
 *   pkg: name/version/src    a source package
 * It implements solver_repo_ops.
 *
 * Memory: specs live in a solver_arena owned by the caller of
 * pkg_spec_parse, or by the pkg_specdir, which is freed with
 * pkg_specdir_free(). pkg depends on solver (for the build model), never on
 * spfs.
 */
#ifndef SPAWN_PKG_H
#define SPAWN_PKG_H

#include <stdbool.h>
#include <stddef.h>

#include "common/common.h"
#include "solver/solver.h"

/* Limits for reading specs. */
typedef struct pkg_limits {
	size_t max_file;      /* bytes in one spec file */
	size_t max_depth;     /* YAML nesting depth */
	size_t max_nodes;     /* YAML nodes in one file */
	size_t max_scalar;    /* bytes in one YAML scalar */
	size_t max_docs;      /* documents in one file */
	size_t max_files;     /* spec files in one directory tree */
	size_t max_dir_depth; /* directory nesting of a spec directory */
} pkg_limits;

/* 4 MiB, depth 64, 200000 nodes, 1 MiB scalars, 10000 documents,
 * 200000 files, directory depth 32. */
extern const pkg_limits pkg_limits_default;

typedef enum {
	PKG_RECIPE = 0, /* name/version */
	PKG_BUILD = 1,  /* name/version/BUILD */
	PKG_SOURCE = 2, /* name/version/src */
} pkg_kind;

/* An install.environment operation. */
typedef struct pkg_env_op {
	const char *op; /* set, append, prepend, comment, priority */
	const char *var;
	const char *value;
	const char *separator;
} pkg_env_op;

/* One option as declared in build.options (of a recipe). */
typedef struct pkg_option_decl {
	const char *name;
	const char *default_value; /* "" when none */
	bool is_pkg;
	const char *inheritance; /* Weak (default), Strong, StrongForBuildOnly */
	bool required;
	const char *static_value; /* NULL when not static */
	const char *const *choices;
	size_t nchoices;
} pkg_option_decl;

typedef struct pkg_spec {
	solver_build build; /* the solver's view; origin is "file:line" */
	pkg_kind kind;
	const char *file;
	size_t line, column; /* of the document */
	const char *description;
	const char *script; /* build.script joined with newlines, or NULL */
	const pkg_option_decl *decls;
	size_t ndecls;
	size_t nvariants;
	const pkg_env_op *env;
	size_t nenv;
	size_t ntests;
	size_t nsources;
} pkg_spec;

/* Parses every document of one spec file (text[0..len), named `file` in
 * messages). *out is an array of *n pointers, all in arena a. */
int pkg_spec_parse(pkg_spec ***out, size_t *n, solver_arena *a, const char *text,
		   size_t len, const char *file, const pkg_limits *lim, sp_error *err);

/* Derives the build id of a recipe's default build from its option values
 * (8 characters of base32). id must hold 9 bytes. */
int pkg_build_id(char id[9], const solver_option *opts, size_t nopts, sp_error *err);

/* ----------------------------------------------------- spec directories */

typedef struct pkg_specdir pkg_specdir;

/* Reads every spec below path. `name` names the repository in requests
 * ("name/pkg/...") and messages; NULL uses the path. */
int pkg_specdir_open(pkg_specdir **out, const char *path, const char *name,
		     const pkg_limits *lim, sp_error *err);
void pkg_specdir_free(pkg_specdir *d);
void pkg_specdir_freep(pkg_specdir **d);
/* The repository interface for the solver; borrowed from d. */
const solver_repo *pkg_specdir_repo(const pkg_specdir *d);
/* All specs, sorted by name, version (newest first), build. */
size_t pkg_specdir_count(const pkg_specdir *d);
const pkg_spec *pkg_specdir_get(const pkg_specdir *d, size_t i);

#endif /* SPAWN_PKG_H */
