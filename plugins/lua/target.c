/* target.c - what crosses between C and a plugin: ctx, target and env
 * tables pushed as plain data, and the target read back raw (lua_rawget,
 * lua_next: no __index, __len, __pairs or __tostring of the plugin's
 * runs) and copied, every value checked: strings, or integers where a
 * string is expected; lists are sequences 1..n without holes. */
#include "plugins/lua/lplug_internal.h"

#include <stdlib.h>
#include <string.h>

#define MAX_LIST 10000
#define MAX_STR	 (64u << 10)

/* ----------------------------------------------------------- C data */

void lplug_target_free(lplug_target *t)
{
	lplug_strs *lists[] = {&t->command, &t->args, &t->requests, &t->pins};
	for (size_t l = 0; l < 4; l++) {
		for (size_t i = 0; i < lists[l]->n; i++)
			free(lists[l]->v[i]);
		free(lists[l]->v);
	}
	for (size_t i = 0; i < t->nenvironment; i++) {
		free(t->environment[i].op);
		free(t->environment[i].var);
		free(t->environment[i].value);
		free(t->environment[i].separator);
	}
	free(t->environment);
	free(t->name);
	free(t->title);
	memset(t, 0, sizeof(*t));
}

int lplug_strs_push(lplug_strs *l, const char *s, sp_error *err)
{
	char *c = strdup(s);
	if (!c)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	int rc = sp_realloc_array((void **)&l->v, l->n + 1, sizeof(*l->v), err);
	if (rc) {
		free(c);
		return rc;
	}
	l->v[l->n++] = c;
	return 0;
}

static char *dup_or_null(const char *s, bool *oom)
{
	if (!s)
		return NULL;
	char *c = strdup(s);
	if (!c)
		*oom = true;
	return c;
}

int lplug_env_push(lplug_target *t, const char *op, const char *var, const char *value,
		   const char *separator, sp_error *err)
{
	int rc = sp_realloc_array((void **)&t->environment, t->nenvironment + 1,
				  sizeof(*t->environment), err);
	if (rc)
		return rc;
	bool oom = false;
	lplug_env_op o = {dup_or_null(op, &oom), dup_or_null(var, &oom), dup_or_null(value, &oom),
			  dup_or_null(separator, &oom)};
	t->environment[t->nenvironment++] = o;
	return oom ? sp_error_set(err, SP_ENOMEM, "out of memory") : 0;
}

int lplug_target_copy(lplug_target *dst, const lplug_target *src, sp_error *err)
{
	memset(dst, 0, sizeof(*dst));
	bool oom = false;
	dst->name = dup_or_null(src->name, &oom);
	dst->title = dup_or_null(src->title, &oom);
	const lplug_strs *from[] = {&src->command, &src->args, &src->requests, &src->pins};
	lplug_strs *to[] = {&dst->command, &dst->args, &dst->requests, &dst->pins};
	int rc = oom ? sp_error_set(err, SP_ENOMEM, "out of memory") : 0;
	for (size_t l = 0; !rc && l < 4; l++)
		for (size_t i = 0; !rc && i < from[l]->n; i++)
			rc = lplug_strs_push(to[l], from[l]->v[i], err);
	for (size_t i = 0; !rc && i < src->nenvironment; i++) {
		const lplug_env_op *o = &src->environment[i];
		rc = lplug_env_push(dst, o->op, o->var, o->value, o->separator, err);
	}
	if (rc)
		lplug_target_free(dst);
	return rc;
}

/* ------------------------------------------------------------ C -> Lua */

static void push_strs(lua_State *L, const lplug_strs *l)
{
	lua_createtable(L, (int)l->n, 0);
	for (size_t i = 0; i < l->n; i++) {
		lua_pushstring(L, l->v[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
}

static void set_str(lua_State *L, const char *key, const char *v)
{
	if (!v)
		return;
	lua_pushstring(L, v);
	lua_setfield(L, -2, key);
}

/* Runs under lua_pcall: a memory error is caught, not a panic. */
static int push_ctx_p(lua_State *L)
{
	const lplug_ctx *c = lua_touserdata(L, 1);
	lua_settop(L, 0);
	lua_createtable(L, 0, 16);
	lua_createtable(L, (int)c->nlevels, 0);
	for (size_t i = 0; i < c->nlevels; i++) {
		lua_pushstring(L, c->level_names[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	lua_setfield(L, -2, "levels");
	for (size_t i = 0; i < c->nlevels; i++)
		if (c->level_values && c->level_values[i])
			set_str(L, c->level_names[i], c->level_values[i]);
	set_str(L, "context", c->context ? c->context : "");
	set_str(L, "target", c->target);
	set_str(L, "mode", c->mode);
	set_str(L, "user", c->user);
	set_str(L, "site", c->site);
	lua_createtable(L, 0, 5);
	set_str(L, "name", c->host);
	set_str(L, "os", c->os);
	set_str(L, "arch", c->arch);
	set_str(L, "gpu_vendor", c->gpu_vendor);
	lua_pushinteger(L, c->cpus);
	lua_setfield(L, -2, "cpus");
	lua_setfield(L, -2, "host");
	return 1;
}

static int push_target_p(lua_State *L)
{
	const lplug_target *t = lua_touserdata(L, 1);
	lua_settop(L, 0);
	lua_createtable(L, 0, 8);
	set_str(L, "name", t->name);
	set_str(L, "title", t->title ? t->title : t->name);
	const lplug_strs *lists[] = {&t->command, &t->args, &t->requests, &t->pins};
	static const char *const names[] = {"command", "args", "requests", "pins"};
	for (size_t l = 0; l < 4; l++) {
		push_strs(L, lists[l]);
		lua_setfield(L, -2, names[l]);
	}
	lua_createtable(L, (int)t->nenvironment, 0);
	for (size_t i = 0; i < t->nenvironment; i++) {
		const lplug_env_op *o = &t->environment[i];
		lua_createtable(L, 0, 3);
		set_str(L, o->op, o->var);
		set_str(L, "value", o->value);
		set_str(L, "separator", o->separator);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	lua_setfield(L, -2, "environment");
	return 1;
}

static int push_protected(lua_State *L, lua_CFunction f, const void *data)
{
	lua_pushcfunction(L, f);
	lua_pushlightuserdata(L, (void *)data);
	return lua_pcall(L, 1, 1, 0) == LUA_OK ? 0 : (lua_pop(L, 1), -1);
}

int lplug__push_ctx(lua_State *L, const lplug_ctx *ctx)
{
	/* pushing allocates: outside the hook the budget reads "spent", but
	 * no Lua code runs here (the collector is stopped) */
	return push_protected(L, push_ctx_p, ctx);
}

int lplug__push_target(lua_State *L, const lplug_target *t)
{
	return push_protected(L, push_target_p, t);
}

/* ----------------------------------------------------------- Lua -> C */

/* The value at the top as a string: a string, or an integer written in
 * decimal. NULL when it is anything else. buf holds the integer form. */
static const char *plain_string(lua_State *L, char *buf, size_t nbuf, size_t *len)
{
	if (lua_type(L, -1) == LUA_TSTRING)
		return lua_tolstring(L, -1, len); /* a string: no conversion, no metamethod */
	if (lua_type(L, -1) == LUA_TNUMBER && lua_isinteger(L, -1)) {
		snprintf(buf, nbuf, "%lld", (long long)lua_tointeger(L, -1));
		*len = strlen(buf);
		return buf;
	}
	return NULL;
}

static int bad(char *msg, size_t n, const char *fmt, const char *field, const char *extra)
{
	snprintf(msg, n, fmt, field, extra);
	return -1;
}

/* t[key] of the table at idx, raw. Pushes it. */
static int rawfield(lua_State *L, int idx, const char *key)
{
	idx = lua_absindex(L, idx);
	lua_pushstring(L, key);
	return lua_rawget(L, idx);
}

/* The list at the top (a table) into *out. */
static int read_list(lua_State *L, const char *field, lplug_strs *out, char *msg, size_t n)
{
	if (lua_type(L, -1) == LUA_TNIL)
		return 0;
	if (lua_type(L, -1) != LUA_TTABLE)
		return bad(msg, n, "target.%s: expected a list of strings, got a %s", field,
			   luaL_typename(L, -1));
	size_t len = lua_rawlen(L, -1);
	if (len > MAX_LIST)
		return bad(msg, n, "target.%s: more than %s entries", field, "10000");
	/* every key must be 1..len: no holes, no other keys */
	size_t keys = 0;
	lua_pushnil(L);
	while (lua_next(L, -2)) {
		lua_pop(L, 1);
		keys++;
		if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 ||
		    (size_t)lua_tointeger(L, -1) > len) {
			lua_pop(L, 1);
			return bad(msg, n, "target.%s: %s", field,
				   "a list has keys 1..n only (no holes, no names)");
		}
		if (keys > MAX_LIST) {
			lua_pop(L, 1);
			return bad(msg, n, "target.%s: more than %s entries", field, "10000");
		}
	}
	if (keys != len)
		return bad(msg, n, "target.%s: %s", field, "a list has keys 1..n only (no holes)");
	sp_error err = {0};
	for (size_t i = 1; i <= len; i++) {
		lua_rawgeti(L, -1, (lua_Integer)i);
		char num[32];
		size_t sl;
		const char *s = plain_string(L, num, sizeof(num), &sl);
		if (!s) {
			const char *ty = luaL_typename(L, -1);
			lua_pop(L, 1);
			char what[80];
			snprintf(what, sizeof(what), "%s[%zu]", field, i);
			return bad(msg, n, "target.%s: expected a string, got a %s", what, ty);
		}
		if (sl > MAX_STR || strlen(s) != sl) {
			lua_pop(L, 1);
			return bad(msg, n, "target.%s: %s", field,
				   "an entry is over 64 KiB or holds a NUL byte");
		}
		int rc = lplug_strs_push(out, s, &err);
		lua_pop(L, 1);
		if (rc)
			return bad(msg, n, "target.%s: %s", field, "out of memory");
	}
	return 0;
}

static const char *const env_ops[] = {"set",	  "append",  "prepend", "unset",
				      "priority", "comment", NULL};

static int read_env(lua_State *L, lplug_target *out, char *msg, size_t n)
{
	if (lua_type(L, -1) == LUA_TNIL)
		return 0;
	if (lua_type(L, -1) != LUA_TTABLE)
		return bad(msg, n, "target.%s: expected a list of operations, got a %s",
			   "environment", luaL_typename(L, -1));
	size_t len = lua_rawlen(L, -1);
	if (len > MAX_LIST)
		return bad(msg, n, "target.%s: more than %s operations", "environment", "10000");
	sp_error err = {0};
	for (size_t i = 1; i <= len; i++) {
		lua_rawgeti(L, -1, (lua_Integer)i);
		char where[64];
		snprintf(where, sizeof(where), "environment[%zu]", i);
		if (lua_type(L, -1) != LUA_TTABLE) {
			lua_pop(L, 1);
			return bad(msg, n,
				   "target.%s: expected a table like {set = 'X', value = "
				   "'v'}%s",
				   where, "");
		}
		const char *op = NULL, *parts[3] = {NULL, NULL, NULL};
		char nums[3][32];
		int found = 0;
		for (size_t k = 0; env_ops[k]; k++) {
			rawfield(L, -1, env_ops[k]);
			size_t sl;
			const char *s = plain_string(L, nums[0], sizeof(nums[0]), &sl);
			if (lua_type(L, -1) != LUA_TNIL) {
				found++;
				op = env_ops[k];
				free((char *)parts[0]); /* a second op: reported below */
				parts[0] = s ? strdup(s) : NULL;
				if (!s) {
					lua_pop(L, 2);
					return bad(msg, n,
						   "target.%s: the variable of '%s' is not a "
						   "string",
						   where, env_ops[k]);
				}
			}
			lua_pop(L, 1);
		}
		if (found != 1) {
			free((char *)parts[0]);
			lua_pop(L, 1);
			return bad(msg, n, "target.%s: %s", where,
				   "exactly one of set, append, prepend, unset, priority, comment");
		}
		static const char *const extra[] = {"value", "separator"};
		for (size_t k = 0; k < 2; k++) {
			rawfield(L, -1, extra[k]);
			size_t sl;
			const char *s = plain_string(L, nums[k + 1], sizeof(nums[k + 1]), &sl);
			if (lua_type(L, -1) != LUA_TNIL && !s) {
				lua_pop(L, 2);
				free((char *)parts[0]);
				free((char *)parts[1]);
				return bad(msg, n, "target.%s: '%s' is not a string", where,
					   extra[k]);
			}
			parts[k + 1] = s ? strdup(s) : NULL;
			lua_pop(L, 1);
		}
		lua_pop(L, 1);
		bool needs = !strcmp(op, "set") || !strcmp(op, "append") || !strcmp(op, "prepend");
		int rc = needs && !parts[1] ? -2
			 : !parts[0]	    ? -3
				     : lplug_env_push(out, op, parts[0], parts[1], parts[2], &err);
		for (size_t k = 0; k < 3; k++)
			free((char *)parts[k]);
		if (rc == -2)
			return bad(msg, n, "target.%s: %s needs a value", where, op);
		if (rc)
			return bad(msg, n, "target.%s: %s", where, "out of memory");
	}
	return 0;
}

int lplug__read_target(lua_State *L, int idx, const lplug_target *orig, lplug_target *out,
		       char *msg, size_t nmsg)
{
	memset(out, 0, sizeof(*out));
	if (!lua_checkstack(L, 10))
		return bad(msg, nmsg, "%s%s", "out of stack", "");
	idx = lua_absindex(L, idx);
	out->name = strdup(orig->name);
	if (!out->name)
		return bad(msg, nmsg, "%s%s", "out of memory", "");
	/* the name is the catalog's: a plugin cannot rename a target */
	rawfield(L, idx, "name");
	if (lua_type(L, -1) != LUA_TNIL &&
	    (lua_type(L, -1) != LUA_TSTRING || strcmp(lua_tostring(L, -1), orig->name) != 0)) {
		lua_pop(L, 1);
		return bad(msg, nmsg, "target.%s: %s", "name",
			   "cannot be changed (the catalog names the target)");
	}
	lua_pop(L, 1);
	rawfield(L, idx, "title");
	char num[32];
	size_t sl;
	const char *title = plain_string(L, num, sizeof(num), &sl);
	if (lua_type(L, -1) != LUA_TNIL && (!title || sl > MAX_STR || strlen(title) != sl)) {
		lua_pop(L, 1);
		return bad(msg, nmsg, "target.%s: %s", "title", "expected a string");
	}
	out->title = title ? strdup(title) : NULL;
	lua_pop(L, 1);
	lplug_strs *lists[] = {&out->command, &out->args, &out->requests, &out->pins};
	static const char *const names[] = {"command", "args", "requests", "pins"};
	for (size_t l = 0; l < 4; l++) {
		rawfield(L, idx, names[l]);
		int rc = read_list(L, names[l], lists[l], msg, nmsg);
		lua_pop(L, 1);
		if (rc)
			return rc;
	}
	if (!out->command.n)
		return bad(msg, nmsg, "target.%s: %s", "command", "empty (at least the program)");
	rawfield(L, idx, "environment");
	int rc = read_env(L, out, msg, nmsg);
	lua_pop(L, 1);
	return rc;
}

/* ------------------------------------------------------ the env object */

static sp_env *env_of(lua_State *L)
{
	sp_env *e = lplug__of(L)->env;
	if (!e)
		luaL_error(L, "env is only usable during the environment hook");
	return e;
}

static const char *checkname(lua_State *L, int i)
{
	const char *s = luaL_checkstring(L, i);
	if (!sp_env_name_valid(s))
		luaL_error(L, "'%s' is not an environment variable name", s);
	return s;
}

static int env_get(lua_State *L)
{
	const char *v = sp_env_get(env_of(L), checkname(L, 2));
	if (v)
		lua_pushstring(L, v);
	else
		lua_pushnil(L);
	return 1;
}

static int env_change(lua_State *L, int which)
{
	sp_env *e = env_of(L);
	const char *name = checkname(L, 2);
	sp_error err = {0};
	int rc;
	if (which == 0) {
		rc = sp_env_unset(e, name, &err);
	} else {
		const char *value = luaL_checkstring(L, 3);
		const char *sep = luaL_optstring(L, 4, NULL);
		rc = which == 1	  ? sp_env_set(e, name, value, &err)
		     : which == 2 ? sp_env_prepend(e, name, value, sep, &err)
				  : sp_env_append(e, name, value, sep, &err);
	}
	if (rc)
		return luaL_error(L, "env: %s", err.msg);
	return 0;
}

static int env_unset(lua_State *L)
{
	return env_change(L, 0);
}
static int env_set(lua_State *L)
{
	return env_change(L, 1);
}
static int env_prepend(lua_State *L)
{
	return env_change(L, 2);
}
static int env_append(lua_State *L)
{
	return env_change(L, 3);
}

static int push_env_p(lua_State *L)
{
	static const luaL_Reg methods[] = {{"get", env_get},	   {"set", env_set},
					   {"unset", env_unset},   {"prepend", env_prepend},
					   {"append", env_append}, {NULL, NULL}};
	luaL_newlib(L, methods);
	return 1;
}

int lplug__push_env(lua_State *L)
{
	lua_pushcfunction(L, push_env_p);
	return lua_pcall(L, 0, 1, 0) == LUA_OK ? 0 : (lua_pop(L, 1), -1);
}
