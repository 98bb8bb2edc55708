/* catalog_internal.h - shared by the catalog module's files (not public). */
#ifndef SPAWN_CATALOG_INTERNAL_H
#define SPAWN_CATALOG_INTERNAL_H

#include "catalog/catalog.h"

#define CATALOG__MAX_NAME	 255 /* a context value, a level directory */
#define CATALOG__MAX_TARGET_NAME 128
#define CATALOG__MAX_LEVEL_NAME	 32
#define CATALOG__MAX_LIST	 10000 /* entries of one list in one file */

/* Blocks with the catalog's lifetime: freed together by catalog_free. */
typedef struct catalog__arena {
	void **blocks;
	size_t n, cap;
} catalog__arena;

/* calloc'd memory owned by the arena; NULL (and err set) when out of
 * memory or on overflow. */
void *catalog__alloc(catalog__arena *a, size_t count, size_t size, sp_error *err);
char *catalog__strdup(catalog__arena *a, const char *s, sp_error *err);
void catalog__arena_free(catalog__arena *a);

/* One spawn.yaml, parsed and checked for its own shape (not merged). The
 * strings point into `tree` or the arena. */
typedef struct catalog__target_decl {
	const char *name;
	catalog_origin at;
	/* each field: set when the file gives it */
	bool has_title, has_icon, has_category, has_command, has_requests, has_environment,
	    has_hidden, has_frozen;
	catalog_str title, icon, category;
	catalog_str *command;
	size_t ncommand;
	catalog_str *requests;
	size_t nrequests;
	catalog_env_op *environment;
	size_t nenvironment;
	bool hidden;
	catalog_origin hidden_at;
	catalog_str frozen_platform;
	catalog_env_op *frozen_environment;
	size_t nfrozen_environment;
} catalog__target_decl;

typedef struct catalog__level {
	const char *file; /* as shown in messages */
	sp_yaml_node *tree;
	const char **levels; /* facility only; NULL when not given */
	size_t nlevels;
	catalog_origin levels_at;
	catalog__target_decl *targets;
	size_t ntargets;
	catalog_str *pins;
	size_t npins;
	catalog_env_op *environment;
	size_t nenvironment;
	catalog_str *remove;
	size_t nremove;
	catalog_str *plugins; /* as written (relative to the file's directory) */
	size_t nplugins;
} catalog__level;

/* Parses text (of `file`, shown in messages) into *lv; the tree and every
 * allocation go to the arena (the tree is freed by catalog__level_free).
 * `facility`: the top file, the only one that may name `levels`. */
int catalog__level_parse(catalog__level *lv, catalog__arena *a, const char *text, size_t len,
			 const char *file, bool facility, sp_error *err);
void catalog__level_free(catalog__level *lv);

/* Levenshtein distance of a and b, stopping at cap + 1. */
size_t catalog__distance(const char *a, const char *b, size_t cap);

#endif
