/* lplug_internal.h - shared by the files of plugins/lua (not public). */
#ifndef SPAWN_LPLUG_INTERNAL_H
#define SPAWN_LPLUG_INTERNAL_H

#include "plugins/lua/lplug.h"

#include <lauxlib.h>
#include <lua.h>

struct lplug_plugin {
	lua_State *L;
	lplug_host host;
	lplug_limits lim;
	char *shown; /* the plugin's name in messages */
	char *dir;   /* its directory (read_data paths are relative to it) */
	size_t mem;  /* bytes the state holds */
	/* the budget of the running call; `spent` outside calls too, so that
	 * a finalizer run by our own allocations stops at once */
	uint64_t count, deadline_ms;
	const char *spent; /* why the budget is gone, or NULL */
	bool deny_alloc;   /* the hook is stopping the plugin: refuse memory */
	char spent_src[200];
	int spent_line;
	/* where the last error was raised (set by the message handler) */
	char err_src[200];
	int err_line;
	bool refused;
	char refusal[512];
	sp_env *env; /* the environment hook's env, NULL outside it */
	const char *hook, *target;
};

/* The plugin a state (or any of its coroutines) belongs to. */
static inline lplug_plugin *lplug__of(lua_State *L)
{
	return *(lplug_plugin **)lua_getextraspace(L);
}

/* spawnlib.c: the `spawn` table and the bounded string functions. */
int lplug__open_spawn(lua_State *L);
int lplug__bound_strings(lua_State *L);

/* target.c: tables <-> C data, read raw. */
int lplug__push_ctx(lua_State *L, const lplug_ctx *ctx);
int lplug__push_target(lua_State *L, const lplug_target *t);
/* Reads the table at idx into *out (fresh; name is kept from `orig`).
 * Errors name the field; 0 or -1 with msg set. */
int lplug__read_target(lua_State *L, int idx, const lplug_target *orig, lplug_target *out,
		       char *msg, size_t nmsg);
int lplug__push_env(lua_State *L);

#endif
