/*
 * catalog.h - the catalog of launch targets (prefix catalog_).
 *
 * A catalog is a directory whose paths are the context:
 *   CATALOG/spawn.yaml                      facility (names the levels)
 *   CATALOG/abc/spawn.yaml                  show abc
 *   CATALOG/abc/sq010/spawn.yaml            sequence sq010 of abc
 *   CATALOG/abc/sq010/sh0100/spawn.yaml     shot sh0100
 * Opening the catalog at a context reads only the files along its path,
 * top-down, and merges them (docs/catalog.md):
 *   - a target defined lower adds a target; a field of an inherited target
 *     given lower replaces that field; `remove:` drops inherited targets;
 *   - `pins`, `environment` and `plugins` accumulate top-down.
 * Every merged value remembers the file, line and column it came from.
 * The module reads files and YAML only (common/); it knows nothing of
 * packages, solves or runtimes.
 *
 * Ownership: catalog_open hands the caller a catalog_t freed with
 * catalog_free; every pointer reached from it is borrowed from it.
 */
#ifndef SPAWN_CATALOG_H
#define SPAWN_CATALOG_H

#include <stdbool.h>
#include <stddef.h>

#include "common/common.h"

/* Where a value came from: a file under the catalog (its path as opened,
 * CATALOG/...), a 1-based line and column. file NULL: not set anywhere. */
typedef struct catalog_origin {
	const char *file;
	size_t line, column;
} catalog_origin;

/* An environment operation in SPK's install.environment syntax: op is
 * "set", "append", "prepend", "unset", "priority" or "comment"; var the
 * variable (or the priority / comment text); value and separator as
 * written, NULL when not given. */
typedef struct catalog_env_op {
	const char *op;
	const char *var;
	const char *value;
	const char *separator;
	catalog_origin at;
} catalog_env_op;

/* A string with its origin: a request, a pin, a command word, a path. */
typedef struct catalog_str {
	const char *text;
	catalog_origin at;
} catalog_str;

typedef struct catalog_target {
	const char *name;
	catalog_origin defined_at;  /* the `targets:` entry that first named it */
	catalog_str title;	    /* defaults to the name */
	catalog_str icon;	    /* absolute path (relative ones: to its file's
				     * directory); text NULL when none */
	catalog_str category;	    /* text NULL when none */
	const catalog_str *command; /* argv; at least one word */
	size_t ncommand;
	const catalog_str *requests; /* SPK requests, as written */
	size_t nrequests;
	const catalog_env_op *environment; /* the target's own operations */
	size_t nenvironment;
	bool hidden;
	catalog_origin hidden_at;
	/* frozen: a resolved platform that never re-solves (requests unused) */
	catalog_str frozen_platform; /* 64 hex characters; text NULL: not frozen */
	const catalog_env_op *frozen_environment;
	size_t nfrozen_environment;
} catalog_target;

typedef struct catalog_t catalog_t;

/* Limits on what a catalog may hold; zeroes take the defaults. */
typedef struct catalog_limits {
	size_t max_file_bytes; /* one spawn.yaml (default 1 MiB) */
	size_t max_targets;    /* merged targets (default 10000) */
	size_t max_levels;     /* levels named by the facility (default 8) */
} catalog_limits;

/* Opens the catalog rooted at `root` (a directory) at `context`: "" or
 * NULL for the facility level, else level values joined by '/'
 * ("abc/sq010/sh0100"). Each value is a plain name (letters, digits,
 * '.', '_', '-', '+'; not starting with '.'; at most 255 bytes) and the
 * context has at most as many values as the facility file names levels
 * (else SP_EINVALID, a usage error). A value whose directory does not
 * exist is SP_ENOTFOUND naming the level and the closest existing names.
 * Files are opened beneath root (no symbolic link or `..` leaves it);
 * malformed YAML, unknown keys, wrong types and merge mistakes (removing a
 * target nobody defined, a target without a command) are SP_EINVALID with
 * file:line:column. */
int catalog_open(catalog_t **out, const char *root, const char *context, const catalog_limits *lim,
		 sp_error *err);
void catalog_free(catalog_t *c);
void catalog_freep(catalog_t **c);

/* The catalog's root as given, the context as normalised ("" for the
 * facility). */
const char *catalog_root(const catalog_t *c);
const char *catalog_context(const catalog_t *c);

/* The levels the facility file names (e.g. show, sequence, shot), and the
 * context's value at each (NULL below the context's depth). */
size_t catalog_level_count(const catalog_t *c);
const char *catalog_level_name(const catalog_t *c, size_t i);
const char *catalog_level_value(const catalog_t *c, size_t i);

/* The files that were read, top-down (paths CATALOG/.../spawn.yaml). */
size_t catalog_file_count(const catalog_t *c);
const char *catalog_file(const catalog_t *c, size_t i);

/* The merged targets, sorted by name (hidden ones included). */
size_t catalog_target_count(const catalog_t *c);
const catalog_target *catalog_target_at(const catalog_t *c, size_t i);
/* The target called name, or NULL. */
const catalog_target *catalog_target_get(const catalog_t *c, const char *name);
/* Up to max names of targets close to `name` (edit distance at most 2, or
 * sharing a prefix of 3+), best first: for "did you mean". */
size_t catalog_target_suggest(const catalog_t *c, const char *name, const char **out, size_t max);

/* Accumulated top-down: pins (requests added to every target's solve),
 * environment operations (applied after the packages' own), plugin files
 * (absolute paths). */
size_t catalog_pin_count(const catalog_t *c);
const catalog_str *catalog_pin_at(const catalog_t *c, size_t i);
size_t catalog_env_count(const catalog_t *c);
const catalog_env_op *catalog_env_at(const catalog_t *c, size_t i);
size_t catalog_plugin_count(const catalog_t *c);
const catalog_str *catalog_plugin_at(const catalog_t *c, size_t i);

/* Checks a context string as catalog_open does, without a catalog: 0, or
 * SP_EINVALID with the reason. */
int catalog_context_check(const char *context, sp_error *err);

/* Fuzzing entry point: parses one file's text as a catalog level (the
 * facility's when facility is true) and discards the result. */
int catalog__fuzz_level(const char *text, size_t len, bool facility);

#endif /* SPAWN_CATALOG_H */
