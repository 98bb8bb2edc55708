/* test_level.c - level.c: one spawn.yaml checked on its own. Each bad
 * input gives SP_EINVALID with file:line:column and what was expected;
 * hostile input (deep nesting, aliases, bad UTF-8, huge lists) is refused
 * without a crash. */
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

#include "catalog/catalog_internal.h"

static int parse(const char *text, bool facility, catalog__level *lv, catalog__arena *a,
		 sp_error *err)
{
	return catalog__level_parse(lv, a, text, strlen(text), "cat/spawn.yaml", facility, err);
}

static void expect_bad(const char *text, bool facility, const char *want)
{
	catalog__arena a = {0};
	catalog__level lv;
	sp_error err = {0};
	int rc = parse(text, facility, &lv, &a, &err);
	catalog__level_free(&lv);
	catalog__arena_free(&a);
	if (rc != SP_EINVALID || !strstr(err.msg, want))
		fail_msg("input:\n%s\ngot %d '%s', wanted '%s'", text, rc, err.msg, want);
}

static void test_good_file(void **state)
{
	(void)state;
	catalog__arena a = {0};
	catalog__level lv;
	sp_error err = {0};
	const char *text = "api: spawn/v1\n"
			   "levels: [show, episode, shot]\n"
			   "targets:\n"
			   "  nuke:\n"
			   "    command: [nuke, -x]\n"
			   "    frozen:\n"
			   "      platform: "
			   "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
			   "      environment:\n"
			   "        - append: NUKE_PATH\n"
			   "          value: /x\n"
			   "          separator: ';'\n"
			   "environment:\n"
			   "  - unset: OLD\n"
			   "  - priority: 10\n"
			   "  - comment: why\n"
			   "  - set: EMPTY\n"
			   "    value: ''\n";
	assert_int_equal(parse(text, true, &lv, &a, &err), 0);
	assert_int_equal(lv.nlevels, 3);
	assert_string_equal(lv.levels[1], "episode");
	assert_int_equal(lv.ntargets, 1);
	assert_true(lv.targets[0].has_frozen);
	assert_int_equal(lv.targets[0].nfrozen_environment, 1);
	assert_string_equal(lv.targets[0].frozen_environment[0].separator, ";");
	assert_int_equal(lv.nenvironment, 4);
	assert_string_equal(lv.environment[0].op, "unset");
	assert_null(lv.environment[0].value);
	assert_string_equal(lv.environment[3].value, "");
	assert_int_equal(lv.environment[3].at.line, 16);
	catalog__level_free(&lv);
	catalog__arena_free(&a);
}

static void test_bad_files(void **state)
{
	(void)state;
	expect_bad("", false, "cat/spawn.yaml:1:1: missing 'api: spawn/v1'");
	expect_bad("- a\n- b\n", false, "expected a mapping");
	expect_bad("api: spawn/v2\n", false,
		   "cat/spawn.yaml:1:6: api: expected spawn/v1, got 'spawn/v2'");
	expect_bad("api: spawn/v1\ntargest: {}\n", false,
		   "unknown key 'targest' (expected one of: api, targets, pins, environment, "
		   "remove, plugins)");
	expect_bad("api: spawn/v1\nlevels: [show]\n", false, "only the facility file");
	expect_bad("api: spawn/v1\nlevels: []\n", true, "levels: expected 1 to 8 level names");
	expect_bad("api: spawn/v1\nlevels: [Show]\n", true, "'Show' is not a level name");
	expect_bad("api: spawn/v1\nlevels: [show, show]\n", true, "'show' is named twice");
	expect_bad("api: spawn/v1\ntargets: [maya]\n", false,
		   "targets: expected a mapping, got a list");
	expect_bad("api: spawn/v1\ntargets:\n  ../x:\n    command: [a]\n", false,
		   "target '../x': a target name is");
	expect_bad("api: spawn/v1\ntargets:\n  maya:\n    comand: [a]\n", false,
		   "cat/spawn.yaml:4:13: target 'maya': unknown key 'comand'");
	expect_bad("api: spawn/v1\ntargets:\n  maya:\n    command: dcc --batch\n", false,
		   "command: expected a list of words");
	expect_bad("api: spawn/v1\ntargets:\n  maya:\n    command: []\n", false, "command: empty");
	expect_bad("api: spawn/v1\ntargets:\n  maya:\n    command: [a, [b]]\n", false,
		   "command[1]: expected a string, got a list");
	expect_bad("api: spawn/v1\ntargets:\n  maya:\n    command: [a]\n    hidden: yes\n", false,
		   "hidden: expected true or false, got 'yes'");
	expect_bad("api: spawn/v1\ntargets:\n  m:\n    command: [a]\n    frozen: {platform: abc}\n",
		   false, "frozen: platform: expected a digest of 64 lowercase hex");
	expect_bad("api: spawn/v1\ntargets:\n  m:\n    command: [a]\n    frozen: {}\n", false,
		   "frozen: missing 'platform'");
	expect_bad("api: spawn/v1\nenvironment:\n  - set: A\n", false, "set A: missing 'value'");
	expect_bad("api: spawn/v1\nenvironment:\n  - set: A\n    append: B\n    value: x\n", false,
		   "both 'set' and 'append'");
	expect_bad("api: spawn/v1\nenvironment:\n  - value: x\n", false,
		   "expected one of set, append, prepend, unset, priority, comment");
	expect_bad("api: spawn/v1\nenvironment:\n  - set: 'A B'\n    value: x\n", false,
		   "'A B' is not a variable name");
	expect_bad("api: spawn/v1\nenvironment:\n  - unset: A\n    value: x\n", false,
		   "unset takes no 'value'");
	expect_bad("api: spawn/v1\nenvironment:\n  - set: A\n    value: x\n    separator: ':'\n",
		   false, "set takes no 'separator'");
	expect_bad("api: spawn/v1\nenvironment:\n  - priority: 100\n", false,
		   "priority: expected a number from 0 to 99");
	expect_bad("api: spawn/v1\nenvironment:\n  - set: A\n    valeu: x\n", false,
		   "unknown key 'valeu'");
	expect_bad("api: spawn/v1\nplugins: [../../etc/x.lua]\n", false,
		   "must be a path inside the catalog");
	expect_bad("api: spawn/v1\nplugins: [/etc/x.lua]\n", false,
		   "must be a path inside the catalog");
	expect_bad("api: spawn/v1\nplugins: [a/../../x.lua]\n", false,
		   "must be a path inside the catalog");
	expect_bad("api: spawn/v1\npins: [\"\"]\n", false, "pins[0]: empty");
	expect_bad("api: spawn/v1\nremove: old\n", false, "remove: expected a list");
}

static void test_hostile_files(void **state)
{
	(void)state;
	/* YAML errors keep their position */
	expect_bad("api: spawn/v1\ntargets: {maya: [\n", false, "cat/spawn.yaml:");
	/* aliases are refused (no expansion bombs) */
	expect_bad("api: spawn/v1\npins: &a [x]\nenvironment: *a\n", false, "cat/spawn.yaml:");
	/* bad UTF-8 */
	expect_bad("api: spawn/v1\npins: [\"\xff\xfe\"]\n", false, "cat/spawn.yaml:");
	/* deep nesting */
	sp_buf b = {0};
	sp_error err = {0};
	assert_int_equal(sp_buf_printf(&b, &err, "api: spawn/v1\ntargets: "), 0);
	for (int i = 0; i < 200; i++)
		assert_int_equal(sp_buf_append(&b, "[", 1, &err), 0);
	assert_int_equal(sp_buf_append(&b, "", 1, &err), 0);
	expect_bad(b.data, false, "cat/spawn.yaml:");
	sp_buf_free(&b);
	/* a list past the per-file bound */
	assert_int_equal(sp_buf_printf(&b, &err, "api: spawn/v1\npins: ["), 0);
	for (int i = 0; i < 10001; i++)
		assert_int_equal(sp_buf_printf(&b, &err, "%sp%d", i ? "," : "", i), 0);
	assert_int_equal(sp_buf_printf(&b, &err, "]\n"), 0);
	expect_bad(b.data, false, "pins: more than 10000 entries");
	sp_buf_free(&b);
}

static void test_distance(void **state)
{
	(void)state;
	assert_int_equal(catalog__distance("maya", "maya", 2), 0);
	assert_int_equal(catalog__distance("maya", "mya", 2), 1);
	assert_int_equal(catalog__distance("maya", "amya", 2), 2);
	assert_int_equal(catalog__distance("maya", "houdini", 2), 3);
	assert_int_equal(catalog__distance("", "ab", 2), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good_file),
	    cmocka_unit_test(test_bad_files),
	    cmocka_unit_test(test_hostile_files),
	    cmocka_unit_test(test_distance),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
