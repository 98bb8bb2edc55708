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
 * pkg_spec_parse, or by the pkg_specfile they were read from (freed with
 * pkg_specfile_free), or by the pkg_specdir (pkg_specdir_free), which owns
 * its files. pkg depends on solver (for the build model) and on
 * spfs (package repositories stored in SpFS, below).
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
	PKG_BUILD = 1,	/* name/version/BUILD */
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

/* One entry of `sources` (see docs/spec.md, pkg/source.c). */
typedef enum {
	PKG_SRC_PATH = 1,   /* a local directory or file: absolute, or relative to the
			     * spec's directory */
	PKG_SRC_GIT = 2,    /* a git repository (URL or local path), cloned */
	PKG_SRC_TAR = 3,    /* a tar file (any compression libarchive reads): a
			     * path, or an http(s) URL fetched into the source
			     * cache (pkg_sources_set_offline) */
	PKG_SRC_SCRIPT = 4, /* a shell script run in the source directory */
} pkg_source_kind;

typedef struct pkg_source_decl {
	pkg_source_kind kind;
	const char *value;  /* the path, URL or script text */
	const char *subdir; /* where in the source package; NULL: its root */
	const char *ref;    /* git: branch or tag; NULL: the default branch */
	unsigned depth;	    /* git: clone depth (default 1) */
	const char *sha256; /* tar: the file's pinned SHA-256 (64 hex), or NULL */
	/* path: exclude patterns and filter rules; (size_t)-1 when not given
	 * (defaults: exclude .git/ and .svn/; filter ":- .gitignore") */
	const char *const *exclude;
	size_t nexclude;
	const char *const *filter;
	size_t nfilter;
	size_t line, col; /* of the entry */
} pkg_source_decl;

/* One entry of `tests` (SPK's TestSpec, docs/spec.md). */
typedef enum {
	PKG_TEST_SOURCES = 1, /* in the source package */
	PKG_TEST_BUILD = 2,   /* in the build environment, over the sources */
	PKG_TEST_INSTALL = 4, /* in an environment of the built package */
} pkg_test_stage;

/* A selector: option values a variant must all have. */
typedef struct pkg_test_selector {
	const char *const *names;
	const char *const *values;
	size_t n;
} pkg_test_selector;

typedef struct pkg_test_decl {
	pkg_test_stage stage;
	const char *script;		    /* joined with newlines */
	const pkg_test_selector *selectors; /* none: every variant */
	size_t nselectors;
	const solver_request *reqs; /* requirements added to the test's environment */
	size_t nreqs;
	size_t line, col;
} pkg_test_decl;

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
	const pkg_test_decl *tests;
	size_t ntests;
	const pkg_source_decl *sources;
	size_t nsources;
	bool has_sources; /* `sources` is given (else: the spec's directory) */
	bool platform;	  /* an `api: v0/platform` or `v1/platform` document, read
			   * as the v0/package recipe SPK makes of it
			   * (pkg/platform.c) */
} pkg_spec;

/* Parses every document of one YAML text (text[0..len), named `file` in
 * messages; already rendered: a stored spec, or pkg_specfile's text).
 * *out is an array of *n pointers, all in arena a. */
int pkg_spec_parse(pkg_spec ***out, size_t *n, solver_arena *a, const char *text, size_t len,
		   const char *file, const pkg_limits *lim, sp_error *err);

/* ------------------------------------------------------------ spec files
 *
 * One spec file as spk reads it: its path, its bytes as written, the option
 * values its template was rendered with, the rendered text (what is parsed,
 * published and built: a file is rendered as a template before YAML, as SPK
 * does, see pkg/template.c) and its documents' specs. Everything it holds
 * lives in its own arena and is freed with pkg_specfile_free. */

typedef struct pkg_specfile_opts {
	const solver_opt *opts; /* the template's `opt` (spk -o NAME=VALUE) */
	size_t nopts;
	const char *const *env; /* the template's `env` ("NAME=VALUE", NULL-ended);
				 * NULL: empty */
	const pkg_limits *lim;	/* NULL: pkg_limits_default */
	bool rendered;		/* the text is a stored spec, rendered when it was
				 * published: not a template any more */
} pkg_specfile_opts;

typedef struct pkg_specfile {
	const char *path;   /* as given: messages; sources and scripts are
			     * relative to its directory */
	const char *source; /* the bytes as written (NUL-terminated) */
	size_t source_len;
	bool is_template;	/* it holds template tags and was rendered */
	const solver_opt *opts; /* the template inputs it was rendered with */
	size_t nopts;
	const char *text; /* the rendered text (== source when not a template) */
	size_t len;
	pkg_spec **specs; /* its documents, in order */
	size_t nspecs;
	solver_arena *arena; /* owns all of the above */
} pkg_specfile;

/* Reads the file at path (relative to the working directory), renders it
 * and parses every document. Errors name path:line:column (of the template
 * for template errors). */
int pkg_specfile_read(pkg_specfile **out, const char *path, const pkg_specfile_opts *o,
		      sp_error *err);
/* The same from bytes already read (text[0..len), named path). */
int pkg_specfile_load(pkg_specfile **out, const char *text, size_t len, const char *path,
		      const pkg_specfile_opts *o, sp_error *err);
void pkg_specfile_free(pkg_specfile *f);
void pkg_specfile_freep(pkg_specfile **f);

/* Derives the build id of a recipe's default build from its option values
 * (8 characters of base32). id must hold 9 bytes. */
int pkg_build_id(char id[9], const solver_option *opts, size_t nopts, sp_error *err);

/* ----------------------------------------------------- spec directories */

typedef struct pkg_specdir pkg_specdir;

/* Reads every spec below path. `name` names the repository in requests
 * ("name/pkg/...") and messages; NULL uses the path. */
int pkg_specdir_open(pkg_specdir **out, const char *path, const char *name,
		     const pkg_specfile_opts *fo, sp_error *err);
void pkg_specdir_free(pkg_specdir *d);
void pkg_specdir_freep(pkg_specdir **d);
/* The repository interface for the solver; borrowed from d. */
const solver_repo *pkg_specdir_repo(const pkg_specdir *d);
/* All specs, sorted by name, version (newest first), build. */
size_t pkg_specdir_count(const pkg_specdir *d);
const pkg_spec *pkg_specdir_get(const pkg_specdir *d, size_t i);

/* =============================================== SpFS package repositories
 * (pkg/repo*.c; see docs/packages.md)
 *
 * Packages live in an SpFS store under tags, in SPK's arrangement:
 *   spk/spec/NAME/VERSION                 the recipe (a spec blob)
 *   spk/spec/NAME/VERSION/BUILD           one build's spec (a spec blob)
 *   spk/pkg/NAME/VERSION/BUILD/COMPONENT  one layer per component
 *   spk/index                             a blob listing every spec tag
 * VERSION is the version as the spec writes it, normalised by the solver's
 * formatter. Spec blobs hold exactly one YAML document. A recipe published
 * without a build (`spk publish` of `pkg: name/version`) also gets its
 * default build's spec tag, pointing at the same blob, as a spec
 * directory shows it (a spec-only build: no layers yet).
 *
 * The index lets a solve read only the specs of the packages it touches:
 * "<spec digest> <flags> <tag> <embedded names|->" per spec tag, sorted by
 * tag. It is checked against the tag names when opened and against each
 * package's tag targets when that package is read; when stale or missing it
 * is rebuilt from the tags (logged at debug level) and written back when the
 * store is writable. Publish, deprecate and remove rewrite it.
 *
 * Memory: a pkg_repo owns everything it returns (an arena freed by
 * pkg_repo_free); the store is borrowed and must outlive it. */

#include "spfs/spfs.h"

enum {
	PKG_EINUSE = -300,	/* remove refused: a platform or runtime uses a layer */
	PKG_EVALIDATION = -301, /* a build broke a build.validation rule */
};

#define PKG_REPO_INDEX_TAG "spk/index"
#define PKG_REPO_MAX_INDEX ((size_t)256 << 20)

typedef struct pkg_repo pkg_repo;

/* One spec tag as the index lists it. */
typedef struct pkg_repo_entry {
	const char *tag; /* spk/spec/NAME/VERSION[/BUILD] */
	const char *name;
	const char *version; /* as in the tag */
	const char *build;   /* NULL for the recipe */
	sp_digest spec;	     /* the spec blob the tag points at */
	bool deprecated;
	bool invalid;		   /* the tag does not hold a readable spec of that id */
	const char *const *embeds; /* names this build embeds */
	size_t nembeds;
} pkg_repo_entry;

/* Opens the package repository in store s (borrowed). `name` names the
 * repository in requests and messages (NULL: "local"). Never fails because
 * of a stale or missing index (it is rebuilt). */
int pkg_repo_open(pkg_repo **out, spfs_store *s, const char *name, const pkg_limits *lim,
		  sp_error *err);
void pkg_repo_free(pkg_repo *r);
void pkg_repo_freep(pkg_repo **r);
spfs_store *pkg_repo_store(const pkg_repo *r); /* borrowed */
/* The repository interface for the solver; borrowed from r. */
const solver_repo *pkg_repo_solver(pkg_repo *r);
/* Every spec tag, sorted by tag name. Entries are borrowed and valid until
 * the next call that changes the repository. */
size_t pkg_repo_count(const pkg_repo *r);
const pkg_repo_entry *pkg_repo_get(const pkg_repo *r, size_t i);
/* Verifies every tag target against the index (reads every tag file) and
 * rebuilds the index when it is stale. */
int pkg_repo_verify(pkg_repo *r, sp_error *err);
/* Rebuilds the index from the tags and writes it. */
int pkg_repo_reindex(pkg_repo *r, sp_error *err);
/* Writes the index as r holds it (after deferred publishes). */
int pkg_repo_write_index(pkg_repo *r, sp_error *err);

/* The parsed spec of an entry (borrowed from r); an invalid entry gives its
 * reason as an error naming the tag. */
int pkg_repo_spec(const pkg_spec **out, pkg_repo *r, const pkg_repo_entry *e, sp_error *err);
/* The spec a solver_build handed out by this repository comes from
 * (borrowed), or NULL (an embedded package the solver made up). */
const pkg_spec *pkg_repo_spec_of(pkg_repo *r, const solver_build *b);
/* The spec blob's bytes (caller frees; NUL-terminated). */
int pkg_repo_spec_text(char **out, size_t *len, pkg_repo *r, const pkg_repo_entry *e,
		       sp_error *err);

/* Entries matching "NAME", "NAME/VERSION" or "NAME/VERSION/BUILD"
 * (versions compare as versions: 1.0 matches 1.0.0). *out is a malloc'd
 * array of borrowed entries (caller frees the array). Zero matches is
 * SP_ENOTFOUND naming what was asked. */
int pkg_repo_find(const pkg_repo_entry ***out, size_t *n, pkg_repo *r, const char *ident,
		  sp_error *err);

typedef struct pkg_publish_opts {
	bool force;	  /* replace a spec tag that points at other content */
	bool defer_index; /* leave spk/index to a later pkg_repo_write_index
			   * (publishing many files) */
	/* called for each tag written or already up to date */
	void (*cb)(const char *tag, const sp_digest *spec, bool changed, void *ud);
	void *ud;
} pkg_publish_opts;

/* Publishes every document of spec file f (its rendered text) as
 * spec-only recipes/builds. Everything is checked first: on any error
 * nothing is published. */
int pkg_repo_publish(pkg_repo *r, const pkg_specfile *f, const pkg_publish_opts *opts,
		     sp_error *err);

/* Marks (or unmarks) deprecated: "NAME/VERSION" is the recipe and every
 * build of it, "NAME/VERSION/BUILD" one build. Each spec is rewritten with
 * `deprecated: true|false` and its tag moved (the old spec stays in the
 * tag's history). *changed counts the specs rewritten. */
int pkg_repo_deprecate(pkg_repo *r, const char *ident, bool deprecated, size_t *changed,
		       sp_error *err);

typedef void (*pkg_repo_tag_cb)(const char *tag, void *ud);

/* Removes "NAME/VERSION" (recipe, builds and their layers' tags) or
 * "NAME/VERSION/BUILD". Refuses with PKG_EINUSE, naming the user, while a
 * tagged platform or a live runtime contains one of the layers, unless
 * force. cb names each tag removed. */
int pkg_repo_remove(pkg_repo *r, const char *ident, bool force, pkg_repo_tag_cb cb, void *ud,
		    sp_error *err);

/* Copies "NAME[/VERSION[/BUILD]]" (its spec tags, its layer tags, and the
 * objects and payloads they reach) into the store dst, then moves dst's
 * tags and rewrites its index. Payloads and objects are written before any
 * tag. cb names each tag copied. */
int pkg_repo_copy(pkg_repo *r, spfs_store *dst, const char *ident, pkg_repo_tag_cb cb, void *ud,
		  sp_error *err);

/* ------------------------------------------- a repository given by path */

/* True when path is an SpFS store (holds the spfs-store marker file). */
bool pkg_path_is_store(const char *path);

/* A spec directory or an SpFS store's package repository, chosen by
 * pkg_path_is_store; for the solver. */
typedef struct pkg_source pkg_source;
int pkg_source_open(pkg_source **out, const char *path, const char *name,
		    const pkg_specfile_opts *fo, sp_error *err);
void pkg_source_free(pkg_source *s);
void pkg_source_freep(pkg_source **s);
const solver_repo *pkg_source_repo(pkg_source *s); /* borrowed */
/* ------------------------------------------------ builds (pkg/repo_build.c)
 *
 * A build is first planned as data (build_plan.h: option values with the
 * host's, the build environment's requests, variables, component rules),
 * then runs the recipe's build script (bash -ex) in an SpFS runtime whose
 * stack is the solved build environment (the build components of its pkg
 * options' packages), with /spfs writable; what the script adds under /spfs
 * is committed as a layer (`spfs commit layer` inside the runtime), judged
 * by the build.validation rules (validation.c), split into one layer per
 * component by the components' `files` rules (files_match.c; a component
 * without rules gets everything), tagged spk/pkg/NAME/VERSION/BUILD/COMPONENT,
 * and the build's spec (the recipe with its `pkg:` and option values
 * resolved, host and inherited options added) is published at
 * spk/spec/NAME/VERSION/BUILD last. A failing script or a broken rule
 * publishes nothing. Needs what `spfs run` needs (root or the spfs-enter
 * helper). */

/* ------------------------------------- source packages (pkg/source.c)
 *
 * A recipe's `sources` (without them: the spec's directory, as SPK does)
 * are collected into one layer holding spk/pkg/NAME/VERSION/src/ (at
 * /spfs/spk/pkg/NAME/VERSION/src in a runtime, SPK's layout), published as
 * the source package NAME/VERSION/src: layer tag
 * spk/pkg/NAME/VERSION/src/src, spec tag spk/spec/NAME/VERSION/src. Path,
 * tar and local git sources are named relative to the spec's directory; a
 * relative path source must stay beneath it (an absolute one is taken as
 * written, as SPK does); tar members must not leave the source
 * directory; no symbolic link in the sources may point outside them. */

typedef struct pkg_source_result {
	char ident[512]; /* NAME/VERSION/src */
	sp_digest layer; /* the src component's layer */
	bool changed;	 /* publishing moved (or created) the layer tag */
	size_t files;	 /* entries collected (files, directories, links) */
} pkg_source_result;

/* Collects the sources of recipe `spec` (a document of spec file f) and
 * commits them as a layer; with
 * `publish`, also tags it, publishes the source package's spec, the
 * recipe when missing and the index. Any error leaves no tag behind;
 * errors name file:line:column of the source entry and what is wrong. */
int pkg_repo_make_source(pkg_source_result *res, pkg_repo *r, const pkg_specfile *f,
			 const pkg_spec *spec, bool publish, sp_error *err);

/* Remote sources: a tar URL (http, https) is downloaded once into the
 * source cache and verified (against the recipe's `sha256:` when it pins
 * one; otherwise a warning gives the digest to pin); a git URL is kept
 * there as a mirror. Sources already in the cache never touch the
 * network. The cache is $SPK_SOURCE_CACHE, else $XDG_CACHE_HOME/spk/sources,
 * else ~/.cache/spk/sources. Offline (spk --offline, or SPK_OFFLINE=1), a
 * source missing from the cache is an error saying so. Process-wide; the
 * CLI sets it once before collecting sources. */
void pkg_sources_set_offline(bool offline);

typedef struct pkg_build_opts {
	const solver_opt *opts; /* --opt NAME=VALUE for the recipe's options */
	size_t nopts;
	const char *spfs_exe; /* the spfs command run inside the runtime */
	const char *spk_exe;  /* the spk command (its build-script runs the
			       * script confined) */
	bool force;	      /* rebuild an existing build */
	int variant;	      /* build.variants[variant] sets option values
			       * (before opts); -1 for none */
	bool no_host;	      /* no host options (SPK's --no-host) */
	bool make_source;     /* collect the sources from the spec's directory
			       * (spk build); else use the published source
			       * package, or, for a recipe without `sources`
			       * that has none, the spec file's directory */
} pkg_build_opts;

typedef struct pkg_build_result {
	char ident[512];      /* NAME/VERSION/BUILD */
	bool skipped;	      /* already built (and not forced) */
	int script_status;    /* the script's exit status (0 when it ran fine) */
	char log[4096];	      /* the script's full log, kept when it failed */
	char tail[2048];      /* its last lines, when it failed */
	size_t ncomponents;   /* layers published */
	char source[512];     /* the source package built from ("" when none) */
	char unconfined[512]; /* why the script ran unconfined ("" when it did not) */
	bool source_changed;  /* spk build published new sources for it */
} pkg_build_result;

/* Builds the recipe `spec` (a document of spec file f; the script runs in
 * the file's directory). A failing script returns SP_ERROR with res->tail
 * and res->log set. */
int pkg_repo_build(pkg_build_result *res, pkg_repo *r, const pkg_specfile *f, const pkg_spec *spec,
		   const pkg_build_opts *o, sp_error *err);

/* Inside a build's runtime (the hidden `spk build-script SCRIPT DIR`):
 * confines this process to a mount namespace of its own in which every
 * mount but /spfs, /proc, /sys and /dev is read-only and /tmp is a private
 * tmpfs (TMPDIR=/tmp), then runs `bash -ex SCRIPT` in DIR (as SPK does). Returns only on
 * failure: so what a script writes outside /spfs never reaches the host
 * (unless no namespace can be made at all: see PKG_BUILD_UNCONFINED). */
int pkg_build_run_script(const char *script, const char *dir, sp_error *err);
/* The first line of a build log whose script could not be confined (no
 * namespaces to be had) starts with this; the build then runs as root or the
 * user would without confinement and pkg_build_result.unconfined says why. */
#define PKG_BUILD_UNCONFINED "spk build: the script runs unconfined: "

/* ------------------------------------------- tests (pkg/repo_test.c)
 *
 * `spk test`: each `tests` entry of a recipe whose stage is asked for,
 * for each variant (every one of build.variants, or --variant N, or the
 * default options) its selectors match, runs with bash -ex in an SpFS
 * runtime (editable; what it writes is discarded):
 *   sources  over the published source package NAME/VERSION/src and the
 *            test's requirements, in the sources;
 *   build    over the build environment (the variant's pkg options and
 *            the test's requirements) and the source package, in the
 *            sources;
 *   install  over the variant's build (every component; it must be built
 *            already) and the test's requirements, in the current
 *            directory.
 * `here` runs in that directory instead (and then sources/build need no
 * source package). The first failing test stops the run. */

typedef struct pkg_test_opts {
	const solver_opt *opts; /* --opt NAME=VALUE */
	size_t nopts;
	bool no_host;	 /* no host options (as spk build --no-host) */
	int variant;	 /* -1: every variant */
	unsigned stages; /* PKG_TEST_* bits; 0: every stage */
	const char *here;
	/* called before each test runs (stage name, variant, index in tests) */
	void (*cb)(const char *stage, int variant, size_t index, const char *ident, void *ud);
	void *ud;
} pkg_test_opts;

typedef struct pkg_test_result {
	size_t run;	  /* tests run */
	int status;	  /* the failing test's exit status (0: none failed) */
	char failed[600]; /* which test failed: "NAME/VERSION@STAGE #INDEX" */
} pkg_test_result;

/* Runs the tests of recipe `spec` (a document of spec file f). A failing
 * test returns SP_ERROR with res->status set. */
int pkg_repo_test(pkg_test_result *res, pkg_repo *r, const pkg_specfile *f, const pkg_spec *spec,
		  const pkg_test_opts *o, sp_error *err);

/* The layers of a solution: for each resolved build (not embedded, not
 * from source), the layer tagged spk/pkg/NAME/VERSION/BUILD/COMPONENT of
 * each selected component that has one (for a source package, its `src`
 * layer), in solve order (solver_result_get_ordered: later layers stack
 * on top), without duplicates. *out is malloc'd (caller frees). */
int pkg_repo_layers(sp_digest **out, size_t *n, pkg_repo *r, const solver_result *res,
		    sp_error *err);

/* The environment of a solved set of builds, as `spk env` sets it: each
 * build's install.environment operations, builds in the given order (spk
 * env and builds give solve order, solver_result_get_ordered) except that
 * builds with a lower `priority` (default 50) go first (set, append,
 * prepend with their separators; default ':'; $VAR and ${VAR} in values
 * expanded), then SPK_PKG_<NAME>=name/version/build, SPK_PKG_<NAME>_VERSION,
 * _BUILD, _VERSION_MAJOR, _VERSION_MINOR, _VERSION_PATCH and _VERSION_BASE
 * for each (as SPK sets them). Applied to this process's environment
 * (setenv). Specs come from pkg_repo_spec_of. */
int pkg_env_apply(const pkg_spec *const *specs, size_t n, sp_error *err);
/* ========================================== end SpFS package repositories */

#endif /* SPAWN_PKG_H */
