/* sandbox.c - a plugin's lua_State: the allowlisted globals, the limits,
 * loading as text, calling hooks and reporting their errors (lplug.h).
 *
 * Limits: the allocator refuses past memory_bytes; a count hook every 1000
 * VM instructions adds to the call's count and checks the wall clock. Once
 * either budget is spent the hook is re-armed on every instruction and
 * raises each time, so pcall/xpcall handlers and coroutines (which inherit
 * the hook) cannot get past it: the first instruction after a caught error
 * raises again, up to the hook call's own pcall. Outside hook calls the
 * budget stays "spent" and the collector is stopped, so no finalizer
 * (__gc, __close) runs plugin code outside the limits, lua_close included.
 * Errors: the message handler only records where the error was raised;
 * the message is read from the error object without calling __tostring. */
#include "plugins/lua/lplug_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <lualib.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HOOK_EVERY	 1000
#define MAX_PLUGIN_BYTES (1u << 20)

static const lplug_limits defaults = {
    .memory_bytes = 32u << 20,
    .instructions = 10000000,
    .wall_ms = 100,
    .max_string_bytes = 1u << 20,
};

static void *sandbox_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	lplug_plugin *p = ud;
	size_t old = ptr ? osize : 0; /* with ptr NULL, osize is a type tag */
	if (nsize == 0) {
		free(ptr);
		p->mem -= old;
		return NULL;
	}
	if (nsize > old && (p->deny_alloc || p->mem - old + nsize > p->lim.memory_bytes))
		return NULL;
	void *n = realloc(ptr, nsize);
	if (!n)
		return NULL;
	p->mem = p->mem - old + nsize;
	return n;
}

/* Once the budget is spent, the hook stops the plugin with a memory error
 * (every allocation refused, then one forced): unlike an error raised
 * with lua_error, a memory error calls no message handler, so an xpcall
 * handler cannot run (and fail, and run again) past the budget. */
static void count_hook(lua_State *L, lua_Debug *ar)
{
	lplug_plugin *p = lplug__of(L);
	p->count += (uint64_t)lua_gethookcount(L);
	if (!p->spent) {
		if (p->count > p->lim.instructions)
			p->spent = "ran out of instructions";
		else if (sp_now_ms() > p->deadline_ms)
			p->spent = "ran out of time";
		if (p->spent && lua_getinfo(L, "Sl", ar) && ar->currentline > 0) {
			snprintf(p->spent_src, sizeof(p->spent_src), "%s", ar->short_src);
			p->spent_line = ar->currentline;
		}
	}
	if (p->spent) {
		lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
		p->deny_alloc = true;
		lua_newuserdatauv(L, 64, 0); /* raises LUA_ERRMEM */
		luaL_error(L, "%s", p->spent);
	}
}

static void arm(lplug_plugin *p)
{
	p->count = 0;
	p->spent = NULL;
	p->deny_alloc = false;
	p->spent_src[0] = 0;
	p->spent_line = 0;
	p->deadline_ms = sp_now_ms() + p->lim.wall_ms;
	p->refused = false;
	p->err_src[0] = 0;
	p->err_line = 0;
	lua_sethook(p->L, count_hook, LUA_MASKCOUNT, HOOK_EVERY);
	lua_gc(p->L, LUA_GCRESTART);
}

static void disarm(lplug_plugin *p)
{
	p->spent = "called outside a hook";
	p->deny_alloc = false;
	lua_sethook(p->L, count_hook, LUA_MASKCOUNT, 1);
	lua_gc(p->L, LUA_GCSTOP);
}

/* Records the innermost Lua position; returns the error object as it is. */
static int msgh(lua_State *L)
{
	lplug_plugin *p = lplug__of(L);
	lua_Debug ar;
	for (int level = 0; lua_getstack(L, level, &ar); level++) {
		if (!lua_getinfo(L, "Sl", &ar) || ar.currentline <= 0)
			continue;
		snprintf(p->err_src, sizeof(p->err_src), "%s", ar.short_src);
		p->err_line = ar.currentline;
		break;
	}
	return 1;
}

/* The error object at the top of the stack as text, without running any
 * plugin code (no __tostring, no __name lookups through __index). */
static void describe(lua_State *L, char *out, size_t n)
{
	switch (lua_type(L, -1)) {
	case LUA_TSTRING: {
		size_t len;
		const char *s = lua_tolstring(L, -1, &len);
		snprintf(out, n, "%.*s", (int)(len > 400 ? 400 : len), s);
		if (len > 400)
			snprintf(out + strlen(out), n - strlen(out), "... (%zu bytes)", len);
		break;
	}
	case LUA_TNUMBER:
		if (lua_isinteger(L, -1))
			snprintf(out, n, "%lld", (long long)lua_tointeger(L, -1));
		else
			snprintf(out, n, "%g", (double)lua_tonumber(L, -1));
		break;
	default: snprintf(out, n, "(an error object of type %s)", luaL_typename(L, -1));
	}
	/* control characters from the plugin are not echoed raw */
	for (char *c = out; *c; c++)
		if ((unsigned char)*c < 0x20 && *c != '\t')
			*c = '?';
}

/* Calls the function at -nargs-1 with nargs arguments and nres results
 * under the limits; on error fills err naming the plugin, hook, target. */
static int call(lplug_plugin *p, int nargs, int nres, sp_error *err)
{
	lua_State *L = p->L;
	int base = lua_gettop(L) - nargs;
	lua_pushcfunction(L, msgh);
	lua_insert(L, base);
	arm(p);
	int st = lua_pcall(L, nargs, nres, base);
	lua_remove(L, base);
	const char *spent = p->spent;
	p->deny_alloc = false;
	if (spent && p->spent_line > 0) { /* where the budget ran out */
		snprintf(p->err_src, sizeof(p->err_src), "%s", p->spent_src);
		p->err_line = p->spent_line;
	}
	disarm(p);
	const char *where = p->target ? p->target : "";
	if (p->refused) {
		if (st != LUA_OK)
			lua_pop(L, 1);
		else
			lua_pop(L, nres);
		return sp_error_set(err, LPLUG_EREFUSED, "%s refused target '%s' in %s: %s",
				    p->shown, where, p->hook, p->refusal);
	}
	if (st == LUA_OK)
		return 0;
	char msg[600];
	describe(L, msg, sizeof(msg));
	lua_pop(L, 1);
	char pos[260] = "";
	if (p->err_line > 0)
		snprintf(pos, sizeof(pos), " (at %s:%d)", p->err_src, p->err_line);
	if (spent || st == LUA_ERRMEM) {
		const char *what = spent ? spent : "ran out of memory";
		char budget[100];
		if (!spent)
			snprintf(budget, sizeof(budget), "%zu bytes", p->lim.memory_bytes);
		else if (!strcmp(spent, "ran out of time"))
			snprintf(budget, sizeof(budget), "%u ms", p->lim.wall_ms);
		else
			snprintf(budget, sizeof(budget), "%llu instructions",
				 (unsigned long long)p->lim.instructions);
		return sp_error_set(err, LPLUG_ELIMIT,
				    "plugin %s %s in %s for target '%s'%s (limit %s)", p->shown,
				    what, p->hook, where, pos, budget);
	}
	return sp_error_set(err, LPLUG_EPLUGIN, "plugin %s failed in %s for target '%s': %s%s",
			    p->shown, p->hook, where, msg, pos);
}

/* ------------------------------------------------------------- globals */

/* collectgarbage("count") only. */
static int sb_collectgarbage(lua_State *L)
{
	const char *opt = luaL_optstring(L, 1, "collect");
	if (strcmp(opt, "count") != 0)
		return luaL_error(L, "collectgarbage: only \"count\" is available to plugins");
	lua_pushnumber(L, (lua_Number)lplug__of(L)->mem / 1024.0);
	return 1;
}

/* setmetatable without __gc: Lua runs finalizers with hooks off (so no
 * budget could stop one), and an object is only marked for finalization
 * when its metatable has __gc at setmetatable time: refusing it there
 * means no plugin object ever has a finalizer. Upvalue 1: the original. */
static int sb_setmetatable(lua_State *L)
{
	if (lua_type(L, 2) == LUA_TTABLE) {
		lua_pushliteral(L, "__gc");
		int t = lua_rawget(L, 2);
		lua_pop(L, 1);
		if (t != LUA_TNIL)
			return luaL_error(L, "setmetatable: plugins may not set __gc finalizers");
	}
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, 1);
	return 1;
}

/* load(text [, name]): text only, into the plugin's globals. */
static int sb_load(lua_State *L)
{
	size_t len;
	if (lua_type(L, 1) != LUA_TSTRING)
		return luaL_error(L, "load: plugins may load text only");
	const char *s = lua_tolstring(L, 1, &len);
	const char *name = luaL_optstring(L, 2, "=(load)");
	int st = luaL_loadbufferx(L, s, len, name, "t");
	if (st != LUA_OK) {
		luaL_pushfail(L);
		lua_insert(L, -2);
		return 2;
	}
	return 1;
}

static int open_sandbox(lua_State *L)
{
	/* base functions, then drop what reaches outside */
	luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
	static const char *const drop[] = {"dofile",  "loadfile", "print",
					   "require", "module",	  NULL};
	for (size_t i = 0; drop[i]; i++) {
		lua_pushnil(L);
		lua_setfield(L, -2, drop[i]);
	}
	lua_pushcfunction(L, sb_load);
	lua_setfield(L, -2, "load");
	lua_pushcfunction(L, sb_collectgarbage);
	lua_setfield(L, -2, "collectgarbage");
	lua_getfield(L, -1, "setmetatable");
	lua_pushcclosure(L, sb_setmetatable, 1);
	lua_setfield(L, -2, "setmetatable");
	lua_pop(L, 1);
	luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
	lua_pushnil(L);
	lua_setfield(L, -2, "dump");
	lua_pop(L, 1);
	luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
	lua_pop(L, 1);
	luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
	lua_pop(L, 1);
	luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 1);
	lua_pop(L, 1);
	luaL_requiref(L, LUA_COLIBNAME, luaopen_coroutine, 1);
	lua_pop(L, 1);
	/* os: time, clock and date only (opened unnamed, copied) */
	luaL_requiref(L, "spawn.os", luaopen_os, 0);
	lua_createtable(L, 0, 3);
	static const char *const keep[] = {"time", "clock", "date", NULL};
	for (size_t i = 0; keep[i]; i++) {
		lua_getfield(L, -2, keep[i]);
		lua_setfield(L, -2, keep[i]);
	}
	lua_setglobal(L, "os");
	lua_pop(L, 1);
	/* luaL_requiref left the full os library in package.loaded-less
	 * registry._LOADED: remove it so nothing can reach it */
	lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
	lua_pushnil(L);
	lua_setfield(L, -2, "spawn.os");
	lua_pop(L, 1);
	lplug__bound_strings(L);
	lplug__open_spawn(L);
	return 0;
}

static void warn_drop(void *ud, const char *msg, int tocont)
{
	(void)ud, (void)msg, (void)tocont; /* Lua warnings (errors in __gc) are not shown */
}

/* --------------------------------------------------------------- load */

static lplug_plugin *plugin_new(const char *shown, const lplug_host *host, const lplug_limits *lim,
				sp_error *err)
{
	lplug_plugin *p = calloc(1, sizeof(*p));
	if (!p) {
		sp_error_set(err, SP_ENOMEM, "out of memory");
		return NULL;
	}
	p->lim = defaults;
	if (lim) {
		if (lim->memory_bytes)
			p->lim.memory_bytes = lim->memory_bytes;
		if (lim->instructions)
			p->lim.instructions = lim->instructions;
		if (lim->wall_ms)
			p->lim.wall_ms = lim->wall_ms;
		if (lim->max_string_bytes)
			p->lim.max_string_bytes = lim->max_string_bytes;
	}
	if (host)
		p->host = *host;
	p->shown = strdup(shown);
	const char *slash = strrchr(shown, '/');
	p->dir = slash ? strndup(shown, (size_t)(slash - shown)) : strdup(".");
	p->L = lua_newstate(sandbox_alloc, p);
	if (!p->shown || !p->dir || !p->L) {
		sp_error_set(err, SP_ENOMEM, "plugin %s: out of memory", shown);
		lplug_free(p);
		return NULL;
	}
	*(lplug_plugin **)lua_getextraspace(p->L) = p;
	lua_setwarnf(p->L, warn_drop, NULL);
	p->hook = "loading";
	lua_pushcfunction(p->L, open_sandbox);
	if (call(p, 0, 0, err)) {
		lplug_free(p);
		return NULL;
	}
	return p;
}

int lplug_load_text(lplug_plugin **out, const char *text, size_t len, const char *shown,
		    const lplug_host *host, const lplug_limits *lim, sp_error *err)
{
	*out = NULL;
	if (len >= 4 && !memcmp(text, LUA_SIGNATURE, 4))
		return sp_error_set(err, LPLUG_EPLUGIN,
				    "plugin %s is Lua bytecode: plugins are loaded as text only",
				    shown);
	lplug_plugin *p = plugin_new(shown, host, lim, err);
	if (!p)
		return err->code;
	char chunk[300];
	snprintf(chunk, sizeof(chunk), "@%s", shown);
	int st = luaL_loadbufferx(p->L, text, len, chunk, "t");
	if (st != LUA_OK) {
		char msg[600];
		describe(p->L, msg, sizeof(msg));
		lplug_free(p);
		return sp_error_set(err, LPLUG_EPLUGIN, "plugin %s: %s", shown, msg);
	}
	p->hook = "its main chunk";
	int rc = call(p, 0, 0, err);
	if (rc) {
		lplug_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

int lplug_load(lplug_plugin **out, const char *path, const char *shown, const lplug_host *host,
	       const lplug_limits *lim, sp_error *err)
{
	*out = NULL;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return sp_error_errno(err, "plugin %s", shown);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return sp_error_errno(err, "plugin %s", shown);
	if (!S_ISREG(st.st_mode))
		return sp_error_set(err, LPLUG_EPLUGIN, "plugin %s is not a regular file", shown);
	if ((uint64_t)st.st_size > MAX_PLUGIN_BYTES)
		return sp_error_set(err, LPLUG_EPLUGIN, "plugin %s is larger than %u bytes", shown,
				    MAX_PLUGIN_BYTES);
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int rc = sp_read_file_at(&text, &len, AT_FDCWD, path, MAX_PLUGIN_BYTES, err);
	if (rc)
		return sp_error_prefix(err, "plugin %s", shown);
	return lplug_load_text(out, text, len, shown, host, lim, err);
}

void lplug_free(lplug_plugin *p)
{
	if (!p)
		return;
	if (p->L) {
		disarm(p); /* finalizers stop at their first instruction */
		lua_close(p->L);
	}
	free(p->shown);
	free(p->dir);
	free(p);
}

void lplug_freep(lplug_plugin **p)
{
	lplug_free(*p);
	*p = NULL;
}

size_t lplug_memory(const lplug_plugin *p)
{
	return p->mem;
}

/* Pushes global `hook` when it is a function (read raw from _G, so a
 * metatable the plugin set on _G runs nothing). */
static bool push_hook(lplug_plugin *p, const char *hook)
{
	lua_State *L = p->L;
	lua_pushglobaltable(L);
	lua_pushstring(L, hook);
	lua_rawget(L, -2);
	lua_remove(L, -2);
	if (lua_type(L, -1) == LUA_TFUNCTION)
		return true;
	lua_pop(L, 1);
	return false;
}

bool lplug_has_hook(const lplug_plugin *p, const char *hook)
{
	if (!push_hook((lplug_plugin *)p, hook))
		return false;
	lua_pop(p->L, 1);
	return true;
}

/* ------------------------------------------------------------- hooks */

int lplug_resolve(lplug_plugin *p, const lplug_ctx *ctx, lplug_target *t, sp_error *err)
{
	lua_State *L = p->L;
	if (!lua_checkstack(L, 8))
		return sp_error_set(err, SP_ENOMEM, "plugin %s: out of stack", p->shown);
	if (!push_hook(p, "resolve"))
		return 0;
	p->hook = "resolve";
	p->target = t->name;
	if (lplug__push_ctx(L, ctx) || lplug__push_target(L, t)) {
		lua_settop(L, 0);
		return sp_error_set(err, LPLUG_ELIMIT, "plugin %s: out of memory building ctx",
				    p->shown);
	}
	lua_pushvalue(L, -1); /* keep the target table: it is changed in place */
	lua_insert(L, -4);
	int rc = call(p, 2, 1, err);
	if (rc) {
		lua_settop(L, 0);
		return rc;
	}
	/* a returned table replaces the target; nil keeps the changed one */
	int idx = lua_type(L, -1) == LUA_TTABLE ? -1 : -2;
	if (lua_type(L, -1) != LUA_TTABLE && lua_type(L, -1) != LUA_TNIL) {
		const char *ty = luaL_typename(L, -1);
		lua_settop(L, 0);
		return sp_error_set(err, LPLUG_EPLUGIN,
				    "plugin %s: resolve for target '%s' returned a %s (a table or "
				    "nothing)",
				    p->shown, t->name, ty);
	}
	lplug_target out = {0};
	char msg[400];
	int r = lplug__read_target(L, idx, t, &out, msg, sizeof(msg));
	lua_settop(L, 0);
	if (r) {
		lplug_target_free(&out);
		return sp_error_set(err, LPLUG_EPLUGIN, "plugin %s: resolve for target '%s': %s",
				    p->shown, t->name, msg);
	}
	lplug_target_free(t);
	*t = out;
	return 0;
}

int lplug_visible(lplug_plugin *p, const lplug_ctx *ctx, const lplug_target *t, bool *visible,
		  sp_error *err)
{
	*visible = true;
	lua_State *L = p->L;
	if (!lua_checkstack(L, 8))
		return sp_error_set(err, SP_ENOMEM, "plugin %s: out of stack", p->shown);
	if (!push_hook(p, "visible"))
		return 0;
	p->hook = "visible";
	p->target = t->name;
	if (lplug__push_ctx(L, ctx) || lplug__push_target(L, t)) {
		lua_settop(L, 0);
		return sp_error_set(err, LPLUG_ELIMIT, "plugin %s: out of memory building ctx",
				    p->shown);
	}
	int rc = call(p, 2, 1, err);
	if (!rc)
		*visible = !(lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1));
	lua_settop(L, 0);
	return rc;
}

int lplug_environment(lplug_plugin *p, const lplug_ctx *ctx, sp_env *env, sp_error *err)
{
	lua_State *L = p->L;
	if (!lua_checkstack(L, 8))
		return sp_error_set(err, SP_ENOMEM, "plugin %s: out of stack", p->shown);
	if (!push_hook(p, "environment"))
		return 0;
	p->hook = "environment";
	p->target = ctx->target;
	if (lplug__push_ctx(L, ctx) || lplug__push_env(L)) {
		lua_settop(L, 0);
		return sp_error_set(err, LPLUG_ELIMIT, "plugin %s: out of memory building ctx",
				    p->shown);
	}
	p->env = env; /* the env methods work only while this call runs */
	int rc = call(p, 2, 0, err);
	p->env = NULL;
	lua_settop(L, 0);
	return rc;
}

int lplug__fuzz(const char *text, size_t len)
{
	lplug_limits lim = {.memory_bytes = 4u << 20, .instructions = 200000, .wall_ms = 50};
	lplug_plugin *p = NULL;
	sp_error err = {0};
	if (lplug_load_text(&p, text, len, "fuzz.lua", NULL, &lim, &err))
		return err.msg[0] ? 0 : -1;
	lplug_target t = {0};
	const char *levels[] = {"show"}, *values[] = {"abc"};
	lplug_ctx ctx = {levels, values,  1,	    "abc", "maya", "launch", "u",
			 "h",	 "linux", "x86_64", NULL,  2,	   NULL};
	int rc = 0;
	if (!(t.name = strdup("maya")) || lplug_strs_push(&t.command, "dcc", &err))
		rc = -1;
	bool vis;
	if (!rc) {
		lplug_resolve(p, &ctx, &t, &err);
		lplug_visible(p, &ctx, &t, &vis, &err);
		sp_env *e = NULL;
		if (!sp_env_new(&e, &err)) {
			lplug_environment(p, &ctx, e, &err);
			sp_env_free(e);
		}
	}
	lplug_target_free(&t);
	lplug_free(p);
	return rc;
}
