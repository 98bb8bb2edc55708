/* spawnlib.c - the `spawn` library a plugin sees, and the string functions
 * bounded by size (the count hook does not see time spent inside one C
 * function: string.rep's result and the subjects and patterns of find,
 * match, gmatch and gsub are bounded so that one call stays small).
 * Patterns with repetition items are also bounded by the matcher's worst
 * case for the subject's size (pattern_bounded). */
#include "plugins/lua/lplug_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_PATTERN    1024
#define MAX_DATA_BYTES (1u << 20)

/* ------------------------------------------------------ bounded strings */

static int rep_bounded(lua_State *L)
{
	lplug_plugin *p = lplug__of(L);
	size_t l, ls = 0;
	luaL_checklstring(L, 1, &l);
	lua_Integer n = luaL_checkinteger(L, 2);
	luaL_optlstring(L, 3, "", &ls);
	if (n > 0) {
		size_t total;
		if (__builtin_mul_overflow(l + ls, (size_t)n, &total) ||
		    total > p->lim.max_string_bytes)
			return luaL_error(L, "string.rep: the result would be over %d bytes",
					  (int)p->lim.max_string_bytes);
	}
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return lua_gettop(L);
}

/* The repetition items (*, +, -) of a Lua pattern: each can make the
 * matcher try every length of its run again, so a pattern with q of them
 * may take about n^(q+1) / (q+1)! steps over n bytes (all start positions
 * for find, gmatch and gsub). */
static int repetitions(const char *pat, size_t n)
{
	int q = 0;
	for (size_t i = 0; i < n; i++) {
		if (pat[i] == '%') {
			i++; /* an escaped character or a class */
		} else if (pat[i] == '[') {
			i++; /* a set: up to its closing ']' ('%]' stays inside) */
			if (i < n && pat[i] == '^')
				i++;
			if (i < n && pat[i] == ']')
				i++;
			for (; i < n && pat[i] != ']'; i++)
				if (pat[i] == '%')
					i++;
		} else if (pat[i] == '*' || pat[i] == '+' || pat[i] == '-') {
			q++;
		}
	}
	return q;
}

/* find, match, gmatch, gsub: subject and pattern sizes checked, and the
 * matcher's worst case (it runs in one C call, where the instruction
 * count does not see it) kept under about 10^7 steps; then the original
 * function (upvalue 1) does the work. */
static int pattern_bounded(lua_State *L)
{
	lplug_plugin *p = lplug__of(L);
	size_t ls, lp;
	luaL_checklstring(L, 1, &ls);
	const char *pat = luaL_checklstring(L, 2, &lp);
	if (ls > p->lim.max_string_bytes)
		return luaL_error(L, "pattern functions take subjects of at most %d bytes",
				  (int)p->lim.max_string_bytes);
	if (lp > MAX_PATTERN)
		return luaL_error(L, "patterns are at most %d bytes", MAX_PATTERN);
	int q = repetitions(pat, lp);
	double steps = 1, n = (double)ls + 1;
	for (int k = 1; k <= q + 1 && steps <= 1e7; k++)
		steps = steps * n / k;
	if (q && steps > 1e7)
		return luaL_error(
		    L,
		    "a pattern with %d repetition items (*, +, -) over %d bytes could "
		    "take too long: use fewer, or a shorter subject",
		    q, (int)ls);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return lua_gettop(L);
}

int lplug__bound_strings(lua_State *L)
{
	lua_getglobal(L, "string");
	static const char *const pat[] = {"find", "match", "gmatch", "gsub", NULL};
	for (size_t i = 0; pat[i]; i++) {
		lua_getfield(L, -1, pat[i]);
		lua_pushcclosure(L, pattern_bounded, 1);
		lua_setfield(L, -2, pat[i]);
	}
	lua_getfield(L, -1, "rep");
	lua_pushcclosure(L, rep_bounded, 1);
	lua_setfield(L, -2, "rep");
	lua_pop(L, 1);
	return 0;
}

/* ------------------------------------------------------------- spawn.* */

static int s_log(lua_State *L)
{
	lplug_plugin *p = lplug__of(L);
	const char *level = luaL_checkstring(L, 1);
	const char *msg = luaL_checkstring(L, 2);
	static const char *const levels[] = {"error", "warn", "info", "debug", NULL};
	int li = -1;
	for (int i = 0; levels[i]; i++)
		if (!strcmp(level, levels[i]))
			li = i;
	if (li < 0)
		return luaL_error(L, "spawn.log: level is one of error, warn, info, debug");
	if (p->host.log)
		p->host.log(p->host.log_ud, p->shown, level, msg);
	else
		sp_log((sp_log_level)li, "plugin %s: %.500s", p->shown, msg);
	return 0;
}

static int s_refuse(lua_State *L)
{
	lplug_plugin *p = lplug__of(L);
	size_t len;
	const char *msg = luaL_checklstring(L, 1, &len);
	snprintf(p->refusal, sizeof(p->refusal), "%.*s", (int)(len > 500 ? 500 : len), msg);
	for (char *c = p->refusal; *c; c++)
		if ((unsigned char)*c < 0x20)
			*c = '?';
	/* remembered: a pcall that catches this error does not undo it */
	p->refused = true;
	return luaL_error(L, "refused: %s", p->refusal);
}

static int s_getenv(lua_State *L)
{
	lplug_plugin *p = lplug__of(L);
	const char *name = luaL_checkstring(L, 1);
	for (size_t i = 0; p->host.getenv_allowed && p->host.getenv_allowed[i]; i++)
		if (!strcmp(p->host.getenv_allowed[i], name)) {
			const char *v = getenv(name);
			if (v)
				lua_pushstring(L, v);
			else
				lua_pushnil(L);
			return 1;
		}
	lua_pushnil(L);
	return 1;
}

static int s_version_compare(lua_State *L)
{
	lplug_plugin *p = lplug__of(L);
	const char *a = luaL_checkstring(L, 1), *b = luaL_checkstring(L, 2);
	if (!p->host.version_compare)
		return luaL_error(L, "spawn.version_compare is not available here");
	int out;
	if (p->host.version_compare(a, b, &out))
		return luaL_error(L, "spawn.version_compare: '%s' or '%s' is not a version", a, b);
	lua_pushinteger(L, out < 0 ? -1 : out > 0 ? 1 : 0);
	return 1;
}

/* A YAML tree as plain tables (scalars stay strings). */
static void push_yaml(lua_State *L, const sp_yaml_node *n, int depth)
{
	luaL_checkstack(L, 4, "data nested too deep");
	if (n->kind == SP_YAML_SCALAR) {
		lua_pushstring(L, n->value);
		return;
	}
	lua_createtable(L, n->kind == SP_YAML_SEQ ? (int)n->count : 0,
			n->kind == SP_YAML_MAP ? (int)n->count : 0);
	for (size_t i = 0; i < n->count; i++) {
		push_yaml(L, &n->children[i], depth + 1);
		if (n->kind == SP_YAML_SEQ)
			lua_rawseti(L, -2, (lua_Integer)i + 1);
		else
			lua_setfield(L, -2, n->children[i].key);
	}
}

static int s_read_data(lua_State *L)
{
	lplug_plugin *p = lplug__of(L);
	const char *rel = luaL_checkstring(L, 1);
	if (!p->host.data_root)
		return luaL_error(L, "spawn.read_data is not available here");
	if (rel[0] == '/')
		return luaL_error(L, "spawn.read_data: '%s': a path relative to the plugin", rel);
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", p->dir, rel);
	_cleanup_close_ int root = open(p->host.data_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return luaL_error(L, "spawn.read_data: the catalog is not readable");
	struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY,
			       .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
	_cleanup_close_ int fd = (int)syscall(SYS_openat2, root, path, &how, sizeof(how));
	if (fd < 0)
		return luaL_error(L, "spawn.read_data: '%s': %s", rel,
				  errno == EXDEV || errno == ELOOP ? "outside the catalog"
								   : strerror(errno));
	_cleanup_free_ char *text = NULL;
	size_t len;
	sp_error err = {0};
	if (sp_read_file_at(&text, &len, fd, "", MAX_DATA_BYTES, &err)) {
		struct stat st;
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > MAX_DATA_BYTES)
			return luaL_error(L, "spawn.read_data: '%s': not a file of at most 1 MiB",
					  rel);
		text = malloc((size_t)st.st_size + 1);
		if (!text)
			return luaL_error(L, "spawn.read_data: out of memory");
		ssize_t r = pread(fd, text, (size_t)st.st_size, 0);
		if (r < 0)
			return luaL_error(L, "spawn.read_data: '%s': %s", rel, strerror(errno));
		len = (size_t)r;
		text[len] = 0;
	}
	sp_yaml_node *doc = NULL;
	if (sp_yaml_parse(&doc, text, len, rel, &err))
		return luaL_error(L, "spawn.read_data: %s", err.msg);
	push_yaml(L, doc, 0);
	sp_yaml_free(doc);
	return 1;
}

int lplug__open_spawn(lua_State *L)
{
	static const luaL_Reg fns[] = {{"log", s_log},
				       {"refuse", s_refuse},
				       {"getenv", s_getenv},
				       {"version_compare", s_version_compare},
				       {"read_data", s_read_data},
				       {NULL, NULL}};
	luaL_newlib(L, fns);
	lua_pushstring(L, SPAWN_VERSION);
	lua_setfield(L, -2, "version");
	lua_setglobal(L, "spawn");
	return 0;
}
