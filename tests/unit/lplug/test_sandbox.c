/* test_sandbox.c - plugins/lua: each escape and resource class with a
 * hostile plugin and what the host sees (an error naming the plugin, the
 * hook and the target, never a hang or a crash), and the hook contract
 * (resolve changes the target, environment the env, visible hides). */
/* cmocka.h needs these first */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/tmpdir.h"
#include "plugins/lua/lplug.h"

static const char *levels[] = {"show", "sequence", "shot"};
static const char *values[] = {"abc", "sq010", NULL};
static const lplug_ctx CTX = {levels, values,  3,	 "abc/sq010", "maya", "launch", "artist",
			      "ws01", "linux", "x86_64", "nvidia",    8,      "london"};

static lplug_limits fast = {.memory_bytes = 8u << 20, .instructions = 2000000, .wall_ms = 2000};

static lplug_plugin *load_ok(const char *src)
{
	lplug_plugin *p = NULL;
	sp_error err = {0};
	if (lplug_load_text(&p, src, strlen(src), "plugins/test.lua", NULL, &fast, &err))
		fail_msg("load: %s", err.msg);
	return p;
}

static void target_init(lplug_target *t)
{
	sp_error err = {0};
	memset(t, 0, sizeof(*t));
	t->name = strdup("maya");
	assert_int_equal(lplug_strs_push(&t->command, "dcc", &err), 0);
	assert_int_equal(lplug_strs_push(&t->requests, "dcc/2024", &err), 0);
}

/* Runs resolve; returns its code and leaves the message in err. */
static int resolve(const char *src, lplug_target *t, sp_error *err)
{
	lplug_plugin *p = NULL;
	int rc = lplug_load_text(&p, src, strlen(src), "plugins/test.lua", NULL, &fast, err);
	if (rc)
		return rc;
	rc = lplug_resolve(p, &CTX, t, err);
	lplug_free(p);
	return rc;
}

static void expect_resolve(const char *src, int code, const char *want)
{
	lplug_target t;
	target_init(&t);
	sp_error err = {0};
	int rc = resolve(src, &t, &err);
	lplug_target_free(&t);
	if (rc != code || (want && !strstr(err.msg, want)))
		fail_msg("plugin:\n%s\ngot %d '%s', wanted %d with '%s'", src, rc, err.msg, code,
			 want ? want : "");
}

/* ------------------------------------------------------------ globals */

static void test_no_way_out(void **state)
{
	(void)state;
	lplug_target t;
	target_init(&t);
	sp_error err = {0};
	const char *src =
	    "function resolve(ctx, t)\n"
	    "  local names = {'io', 'package', 'require', 'debug', 'dofile', 'loadfile',\n"
	    "                 'print', 'module'}\n"
	    "  local out = {}\n"
	    "  for _, n in ipairs(names) do out[#out+1] = n .. '=' .. type(_G[n]) end\n"
	    "  out[#out+1] = 'os.execute=' .. type(os.execute)\n"
	    "  out[#out+1] = 'os.getenv=' .. type(os.getenv)\n"
	    "  out[#out+1] = 'os.remove=' .. type(os.remove)\n"
	    "  out[#out+1] = 'os.time=' .. type(os.time)\n"
	    "  out[#out+1] = 'string.dump=' .. type(string.dump)\n"
	    "  out[#out+1] = 'gc=' .. tostring(pcall(collectgarbage, 'collect'))\n"
	    "  out[#out+1] = 'count=' .. type(collectgarbage('count'))\n"
	    "  out[#out+1] = 'bin=' .. tostring(load('\\27Lua\\84\\0'))\n"
	    "  out[#out+1] = 'loaded=' .. type(package)\n"
	    "  t.title = table.concat(out, ' ')\n"
	    "end\n";
	assert_int_equal(resolve(src, &t, &err), 0);
	assert_string_equal(t.title, "io=nil package=nil require=nil debug=nil dofile=nil "
				     "loadfile=nil print=nil module=nil os.execute=nil "
				     "os.getenv=nil os.remove=nil os.time=function "
				     "string.dump=nil gc=false count=number bin=nil "
				     "loaded=nil");
	lplug_target_free(&t);
}

static void test_bytecode_file_refused(void **state)
{
	(void)state;
	lplug_plugin *p = NULL;
	sp_error err = {0};
	const char bc[] = "\x1bLua\x54\x00\x19\x93\r\n";
	assert_int_equal(lplug_load_text(&p, bc, sizeof(bc) - 1, "plugins/x.lua", NULL, NULL, &err),
			 LPLUG_EPLUGIN);
	assert_non_null(strstr(err.msg, "bytecode"));
	assert_null(p);
}

/* ------------------------------------------------------------- limits */

static void test_instruction_budget(void **state)
{
	(void)state;
	expect_resolve("function resolve() while true do end end", LPLUG_ELIMIT,
		       "plugin plugins/test.lua ran out of instructions in resolve for target "
		       "'maya' (at plugins/test.lua:1)");
	/* pcall cannot swallow it */
	expect_resolve("function resolve()\n"
		       "  while true do pcall(function() while true do end end) end\n"
		       "end",
		       LPLUG_ELIMIT, "ran out of instructions");
	/* nor an xpcall handler that loops */
	expect_resolve("function resolve()\n"
		       "  xpcall(function() while true do end end,\n"
		       "         function() while true do end end)\n"
		       "  while true do end\n"
		       "end",
		       LPLUG_ELIMIT, "ran out of instructions");
	/* nor a coroutine */
	expect_resolve("function resolve()\n"
		       "  local co = coroutine.wrap(function() while true do end end)\n"
		       "  pcall(co)\n"
		       "  while true do pcall(co) end\n"
		       "end",
		       LPLUG_ELIMIT, "ran out of instructions");
	/* nor a loop in the main chunk */
	lplug_plugin *p = NULL;
	sp_error err = {0};
	const char *src = "local x = 0\nwhile true do x = x + 1 end\n";
	assert_int_equal(lplug_load_text(&p, src, strlen(src), "plugins/m.lua", NULL, &fast, &err),
			 LPLUG_ELIMIT);
	assert_non_null(strstr(err.msg, "plugins/m.lua ran out of instructions in its main chunk"));
}

static void test_memory_budget(void **state)
{
	(void)state;
	expect_resolve("function resolve()\n"
		       "  local t = {}\n"
		       "  while true do t[#t + 1] = ('x'):rep(100000) .. #t end\n"
		       "end",
		       LPLUG_ELIMIT, "ran out of memory");
	/* caught memory errors still end at the instruction budget */
	expect_resolve(
	    "function resolve()\n"
	    "  local t = {}\n"
	    "  while true do pcall(function() t[#t + 1] = ('x'):rep(100000) .. #t end) end\n"
	    "end",
	    LPLUG_ELIMIT, "ran out of");
}

static void test_time_budget(void **state)
{
	(void)state;
	lplug_limits slow = {.instructions = 1000000000, .wall_ms = 50};
	lplug_plugin *p = NULL;
	sp_error err = {0};
	const char *src = "function resolve()\n"
			  "  while true do local s = ('x'):rep(1000000); s = s:upper() end\n"
			  "end";
	assert_int_equal(lplug_load_text(&p, src, strlen(src), "plugins/t.lua", NULL, &slow, &err),
			 0);
	lplug_target t;
	target_init(&t);
	assert_int_equal(lplug_resolve(p, &CTX, &t, &err), LPLUG_ELIMIT);
	assert_non_null(strstr(err.msg, "ran out of time"));
	assert_non_null(strstr(err.msg, "(limit 50 ms)"));
	/* the next call gets a fresh budget */
	lplug_free(p);
	lplug_target_free(&t);
}

static void test_c_functions_bounded(void **state)
{
	(void)state;
	expect_resolve("function resolve() local s = ('x'):rep(1 << 40) end", LPLUG_EPLUGIN,
		       "string.rep: the result would be over");
	expect_resolve("function resolve() local s = ('x'):rep(2000000) end", LPLUG_EPLUGIN,
		       "string.rep");
	expect_resolve("function resolve() local p = ('a'):rep(2000); string.find('a', p) end",
		       LPLUG_EPLUGIN, "patterns are at most 1024 bytes");
	/* backtracking inside one C call: refused before it starts */
	expect_resolve("function resolve() local s = ('a'):rep(5000); s:find('.-.-b') end",
		       LPLUG_EPLUGIN,
		       "a pattern with 2 repetition items (*, +, -) over 5000 bytes");
	expect_resolve("function resolve() for l in ('x'):rep(20000):gmatch('.-y') do end end",
		       LPLUG_EPLUGIN, "could take too long");
	/* ordinary patterns on ordinary strings are fine */
	lplug_target t;
	target_init(&t);
	sp_error err = {0};
	assert_int_equal(resolve("function resolve(c, t)\n"
				 "  local k, v = ('key = some value'):match('^(%w+)%s*=%s*(.-)$')\n"
				 "  t.title = k .. '|' .. v .. '|' .. ('a,b,c'):gsub(',', ';')\n"
				 "end",
				 &t, &err),
			 0);
	assert_string_equal(t.title, "key|some value|a;b;c");
	lplug_target_free(&t);
}

/* ------------------------------------------------ finalizers and errors */

static void test_finalizers_do_not_escape(void **state)
{
	(void)state;
	/* finalizers run with hooks off in Lua: plugins cannot set one */
	expect_resolve("function resolve()\n"
		       "  x = setmetatable({}, {__gc = function() while true do end end})\n"
		       "end",
		       LPLUG_EPLUGIN, "setmetatable: plugins may not set __gc finalizers");
	/* adding __gc to a metatable afterwards marks nothing: freeing returns */
	lplug_plugin *p = load_ok("local mt = {}\n"
				  "x = setmetatable({}, mt)\n"
				  "mt.__gc = function() while true do end end\n"
				  "function resolve() end\n");
	lplug_free(p);
	/* a to-be-closed variable that loops runs inside the budget */
	expect_resolve("function resolve()\n"
		       "  local c <close> = setmetatable({}, {__close = function() while true "
		       "do end end})\n"
		       "end",
		       LPLUG_ELIMIT, "ran out of instructions");
}

static void test_error_objects_not_run(void **state)
{
	(void)state;
	expect_resolve(
	    "function resolve()\n"
	    "  error(setmetatable({}, {__tostring = function() while true do end end}))\n"
	    "end",
	    LPLUG_EPLUGIN, "(an error object of type table) (at plugins/test.lua:2)");
	expect_resolve("function resolve() error('bad \\27[31mthing') end", LPLUG_EPLUGIN,
		       "plugins/test.lua:1: bad ?[31mthing");
	expect_resolve("function resolve() error(42) end", LPLUG_EPLUGIN, ": 42");
	expect_resolve("syntax error here", LPLUG_EPLUGIN, "plugins/test.lua:1:");
}

static void test_refuse_cannot_be_caught(void **state)
{
	(void)state;
	expect_resolve("function resolve(ctx, t)\n"
		       "  pcall(spawn.refuse, 'needs a GPU host')\n"
		       "end",
		       LPLUG_EREFUSED,
		       "plugins/test.lua refused target 'maya' in resolve: needs a GPU host");
}

/* -------------------------------------------------------- the contract */

static void test_resolve_changes_target(void **state)
{
	(void)state;
	lplug_target t;
	target_init(&t);
	sp_error err = {0};
	const char *src =
	    "function resolve(ctx, t)\n"
	    "  if ctx.show == 'abc' and ctx.host.gpu_vendor == 'nvidia' then\n"
	    "    table.insert(t.requests, 'gpu-driver/nvidia')\n"
	    "  end\n"
	    "  t.pins[#t.pins + 1] = 'farm/' .. ctx.sequence\n"
	    "  t.args = {'-x', 5}\n"
	    "  t.environment[#t.environment + 1] = {prepend = 'PATH', value = '/opt'}\n"
	    "  t.title = t.title .. ' (' .. ctx.context .. ')'\n"
	    "end\n";
	assert_int_equal(resolve(src, &t, &err), 0);
	assert_int_equal(t.requests.n, 2);
	assert_string_equal(t.requests.v[1], "gpu-driver/nvidia");
	assert_string_equal(t.pins.v[0], "farm/sq010");
	assert_int_equal(t.args.n, 2);
	assert_string_equal(t.args.v[1], "5");
	assert_int_equal(t.nenvironment, 1);
	assert_string_equal(t.environment[0].op, "prepend");
	assert_string_equal(t.environment[0].value, "/opt");
	assert_string_equal(t.title, "maya (abc/sq010)");
	lplug_target_free(&t);
	/* a returned table replaces the target */
	target_init(&t);
	assert_int_equal(
	    resolve("function resolve(c, t) return {command = {'other'}} end", &t, &err), 0);
	assert_string_equal(t.command.v[0], "other");
	assert_int_equal(t.requests.n, 0);
	lplug_target_free(&t);
}

static void test_bad_data_back(void **state)
{
	(void)state;
	expect_resolve("function resolve(c, t) t.requests = 'dcc/2024' end", LPLUG_EPLUGIN,
		       "target.requests: expected a list of strings, got a string");
	expect_resolve("function resolve(c, t) t.requests = {function() end} end", LPLUG_EPLUGIN,
		       "target.requests[1]: expected a string, got a function");
	expect_resolve("function resolve(c, t) t.requests = {'a', nil, 'c'} end", LPLUG_EPLUGIN,
		       "no holes");
	expect_resolve("function resolve(c, t) t.requests = {x = 'a'} end", LPLUG_EPLUGIN,
		       "keys 1..n only");
	expect_resolve("function resolve(c, t) t.name = 'nuke' end", LPLUG_EPLUGIN,
		       "target.name: cannot be changed");
	expect_resolve("function resolve(c, t) t.command = {} end", LPLUG_EPLUGIN,
		       "target.command: empty");
	expect_resolve("function resolve(c, t) return 5 end", LPLUG_EPLUGIN, "returned a number");
	expect_resolve("function resolve(c, t) t.environment = {{set = 'A'}} end", LPLUG_EPLUGIN,
		       "set needs a value");
	expect_resolve("function resolve(c, t) t.environment = {{set = 'A', append = 'B', value "
		       "= 'x'}} end",
		       LPLUG_EPLUGIN, "exactly one of");
	/* metamethods on what comes back never run: __index would loop */
	lplug_target t;
	target_init(&t);
	sp_error err = {0};
	assert_int_equal(resolve("function resolve(c, t)\n"
				 "  return setmetatable({command = {'x'}},\n"
				 "    {__index = function() while true do end end,\n"
				 "     __len = function() while true do end end})\n"
				 "end",
				 &t, &err),
			 0);
	assert_string_equal(t.command.v[0], "x");
	assert_int_equal(t.requests.n, 0);
	lplug_target_free(&t);
}

static void test_environment_and_visible(void **state)
{
	(void)state;
	lplug_plugin *p =
	    load_ok("saved = nil\n"
		    "function environment(ctx, env)\n"
		    "  env:set('LM_LICENSE_FILE', ctx.site == 'london' and '27000@lon' or 'x')\n"
		    "  env:prepend('PATH', '/studio/bin')\n"
		    "  env:unset('DROP_ME')\n"
		    "  saved = env\n"
		    "end\n"
		    "function visible(ctx, t) return ctx.host.os ~= 'linux' end\n"
		    "function resolve(ctx, t) saved:set('LATE', '1') end\n");
	assert_true(lplug_has_hook(p, "environment"));
	assert_false(lplug_has_hook(p, "nope"));
	sp_error err = {0};
	_cleanup_(sp_env_freep) sp_env *e = NULL;
	assert_int_equal(sp_env_new(&e, &err), 0);
	sp_env_set(e, "PATH", "/usr/bin", &err);
	sp_env_set(e, "DROP_ME", "1", &err);
	assert_int_equal(lplug_environment(p, &CTX, e, &err), 0);
	assert_string_equal(sp_env_get(e, "LM_LICENSE_FILE"), "27000@lon");
	assert_string_equal(sp_env_get(e, "PATH"), "/studio/bin:/usr/bin");
	assert_null(sp_env_get(e, "DROP_ME"));
	lplug_target t;
	target_init(&t);
	bool vis = true;
	assert_int_equal(lplug_visible(p, &CTX, &t, &vis, &err), 0);
	assert_false(vis);
	/* the env object is dead outside its hook */
	assert_int_equal(lplug_resolve(p, &CTX, &t, &err), LPLUG_EPLUGIN);
	assert_non_null(strstr(err.msg, "env is only usable during the environment hook"));
	lplug_target_free(&t);
	lplug_free(p);
}

static void test_read_data_and_getenv(void **state)
{
	tmpdir *td = *state;
	sp_error err = {0};
	assert_int_equal(sp_mkdir_p_at(td->fd, "plugins", 0755, &err), 0);
	const char *yaml = "sites:\n  london: {license: 27000@lon}\nlist: [a, b]\n";
	assert_int_equal(
	    sp_atomic_write_at(td->fd, "plugins/sites.yaml", yaml, strlen(yaml), 0644, &err), 0);
	setenv("SPAWN_TEST_ALLOWED", "yes", 1);
	setenv("SPAWN_TEST_SECRET", "no", 1);
	const char *allowed[] = {"SPAWN_TEST_ALLOWED", NULL};
	lplug_host host = {.data_root = td->path, .getenv_allowed = allowed};
	const char *src =
	    "function resolve(ctx, t)\n"
	    "  local d = spawn.read_data('sites.yaml')\n"
	    "  local ok, why = pcall(spawn.read_data, '../../etc/passwd')\n"
	    "  t.title = d.sites[ctx.site].license .. ' ' .. d.list[2] .. ' ' ..\n"
	    "    tostring(ok) .. ' ' .. tostring(spawn.getenv('SPAWN_TEST_ALLOWED')) ..\n"
	    "    ' ' .. tostring(spawn.getenv('SPAWN_TEST_SECRET')) .. ' ' ..\n"
	    "    tostring(why):match('outside the catalog')\n"
	    "end\n";
	lplug_plugin *p = NULL;
	assert_int_equal(
	    lplug_load_text(&p, src, strlen(src), "plugins/site.lua", &host, &fast, &err), 0);
	lplug_target t;
	target_init(&t);
	int rc = lplug_resolve(p, &CTX, &t, &err);
	if (rc)
		fail_msg("%s", err.msg);
	assert_string_equal(t.title, "27000@lon b false yes nil outside the catalog");
	lplug_target_free(&t);
	lplug_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_no_way_out),
	    cmocka_unit_test(test_bytecode_file_refused),
	    cmocka_unit_test(test_instruction_budget),
	    cmocka_unit_test(test_memory_budget),
	    cmocka_unit_test(test_time_budget),
	    cmocka_unit_test(test_c_functions_bounded),
	    cmocka_unit_test(test_finalizers_do_not_escape),
	    cmocka_unit_test(test_error_objects_not_run),
	    cmocka_unit_test(test_refuse_cannot_be_caught),
	    cmocka_unit_test(test_resolve_changes_target),
	    cmocka_unit_test(test_bad_data_back),
	    cmocka_unit_test(test_environment_and_visible),
	    cmocka_unit_test_setup_teardown(test_read_data_and_getenv, tmpdir_setup,
					    tmpdir_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
