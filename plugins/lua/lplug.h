/*
 * lplug.h - Lua resolution plugins in a sandbox (prefix lplug_).
 *
 * A plugin is a Lua 5.4 file named by a catalog level's `plugins:`. It may
 * define three functions, each optional:
 *   resolve(ctx, target)    change target.requests, .pins, .command, .args,
 *                           .environment, .title, or spawn.refuse("why")
 *   environment(ctx, env)   env:set/unset/prepend/append/get on the final
 *                           environment
 *   visible(ctx, target)    return false to hide the target at this context
 * See docs/plugins.md for the contract.
 *
 * The sandbox: one lua_State per loaded plugin, nothing shared; globals
 * from an allowlist (no io, os beyond time/clock/date, package, require,
 * debug, dofile, loadfile, string.dump; load takes text only; collectgarbage
 * answers "count" only); the plugin file is loaded as text (bytecode is
 * refused); memory, instructions and wall-clock time per hook call are
 * bounded, and the budget, once spent, cannot be caught by pcall, xpcall or
 * a coroutine; the string functions whose time the instruction count does
 * not see (pattern matching, rep) are bounded by size; values coming back
 * are read raw (no metamethod runs) and copied as plain data; errors are
 * formatted without running plugin code.
 *
 * Depends on common/ only. Ownership: lplug_load hands the caller an
 * lplug_plugin freed with lplug_free; an lplug_target is the caller's,
 * filled by lplug_target_* and freed with lplug_target_free.
 */
#ifndef SPAWN_LPLUG_H
#define SPAWN_LPLUG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

/* Expected failures (module 5: -500...). */
enum {
	LPLUG_EREFUSED = -501, /* the plugin called spawn.refuse(msg) */
	LPLUG_ELIMIT = -502,   /* memory, instructions or time ran out */
	LPLUG_EPLUGIN = -503,  /* the plugin raised an error or returned bad data */
};

typedef struct lplug_limits {
	size_t memory_bytes;	 /* per plugin state; default 32 MiB */
	uint64_t instructions;	 /* per hook call; default 10 million */
	uint32_t wall_ms;	 /* per hook call; default 100 */
	size_t max_string_bytes; /* subject of a pattern, result of rep; default 1 MiB */
} lplug_limits;

/* An environment operation as SPK writes it (op: set, append, prepend,
 * unset, priority, comment). */
typedef struct lplug_env_op {
	char *op, *var, *value, *separator; /* owned; value/separator may be NULL */
} lplug_env_op;

/* A list of owned strings. */
typedef struct lplug_strs {
	char **v;
	size_t n;
} lplug_strs;

/* What a plugin sees of a target and may change. Every string is owned by
 * the target (lplug_target_free). */
typedef struct lplug_target {
	char *name; /* read-only for plugins */
	char *title;
	lplug_strs command, args, requests, pins;
	lplug_env_op *environment;
	size_t nenvironment;
} lplug_target;

void lplug_target_free(lplug_target *t);
/* Copies src into *dst (dst is overwritten, not freed first). */
int lplug_target_copy(lplug_target *dst, const lplug_target *src, sp_error *err);
int lplug_strs_push(lplug_strs *l, const char *s, sp_error *err);
int lplug_env_push(lplug_target *t, const char *op, const char *var, const char *value,
		   const char *separator, sp_error *err);

/* The context a hook sees (ctx): all borrowed, NULL when unknown. */
typedef struct lplug_ctx {
	const char *const *level_names;	 /* e.g. show, sequence, shot */
	const char *const *level_values; /* the context's value per level, or NULL */
	size_t nlevels;
	const char *context; /* "abc/sq010" */
	const char *target;  /* the target's name */
	const char *mode;    /* "launch", "resolve", "check" or "bake" */
	const char *user;
	const char *host, *os, *arch, *gpu_vendor;
	int cpus;
	const char *site;
} lplug_ctx;

/* What the host gives the `spawn` library. */
typedef struct lplug_host {
	/* spawn.read_data(path): a YAML or JSON file beneath data_root (the
	 * catalog's root), path relative to the plugin's directory */
	const char *data_root;
	/* spawn.getenv(name): only these names (NULL-terminated); others give nil */
	const char *const *getenv_allowed;
	/* spawn.version_compare(a, b) with SPK's rules: *out <0, 0, >0; a
	 * non-zero return is "not a version". NULL: the function errors. */
	int (*version_compare)(const char *a, const char *b, int *out);
	/* spawn.log(level, msg): to the host's log (NULL: sp_log) */
	void (*log)(void *ud, const char *plugin, const char *level, const char *msg);
	void *log_ud;
} lplug_host;

typedef struct lplug_plugin lplug_plugin;

/* Loads the plugin file at `path` (shown in messages as `shown`, e.g. the
 * catalog-relative path) into a fresh sandbox and runs its main chunk
 * under the limits. host and lim are copied (lim NULL: defaults); the
 * strings they point to must outlive the plugin. */
int lplug_load(lplug_plugin **out, const char *path, const char *shown, const lplug_host *host,
	       const lplug_limits *lim, sp_error *err);
/* Loads from text instead of a file (tests, fuzzing). */
int lplug_load_text(lplug_plugin **out, const char *text, size_t len, const char *shown,
		    const lplug_host *host, const lplug_limits *lim, sp_error *err);
void lplug_free(lplug_plugin *p);
void lplug_freep(lplug_plugin **p);

/* Which hooks the plugin defines. */
bool lplug_has_hook(const lplug_plugin *p, const char *hook);

/* resolve(ctx, target): *t is updated in place. LPLUG_EREFUSED carries
 * the plugin's reason; every error names the plugin file:line, the hook
 * and the target. Without a resolve function: 0, nothing changed. */
int lplug_resolve(lplug_plugin *p, const lplug_ctx *ctx, lplug_target *t, sp_error *err);
/* environment(ctx, env): changes env. */
int lplug_environment(lplug_plugin *p, const lplug_ctx *ctx, sp_env *env, sp_error *err);
/* visible(ctx, target): *visible is false only when it returns false. */
int lplug_visible(lplug_plugin *p, const lplug_ctx *ctx, const lplug_target *t, bool *visible,
		  sp_error *err);

/* Memory the plugin's state holds now (bytes). */
size_t lplug_memory(const lplug_plugin *p);

/* Fuzzing entry point: loads text as a plugin and calls each hook with a
 * fixed target. */
int lplug__fuzz(const char *text, size_t len);

#endif /* SPAWN_LPLUG_H */
