/* test_catalog.c - catalog.c: the files along a context, merged top-down
 * (add, override field by field, remove, accumulate pins, environment and
 * plugins), provenance of each value, contexts refused or not found with
 * close names, files that leave the catalog. */
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
#include <unistd.h>

#include "catalog/catalog.h"
#include "common/tmpdir.h"

/* Writes ROOT/rel (creating its directories). */
static void put(tmpdir *t, const char *rel, const char *text)
{
	sp_error err = {0};
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", rel);
	char *slash = strrchr(dir, '/');
	if (slash) {
		*slash = 0;
		assert_int_equal(sp_mkdir_p_at(t->fd, dir, 0755, &err), 0);
	}
	assert_int_equal(sp_atomic_write_at(t->fd, rel, text, strlen(text), 0644, &err), 0);
}

static const char *FACILITY = "api: spawn/v1\n"
			      "levels: [show, sequence, shot]\n"
			      "targets:\n"
			      "  maya:\n"
			      "    title: Maya 2024\n"
			      "    icon: icons/maya.png\n"
			      "    category: 3D\n"
			      "    command: [dcc, --batch]\n"
			      "    requests: [dcc/2024, dcc-plugins]\n"
			      "    environment:\n"
			      "      - set: MAYA_UI\n"
			      "        value: classic\n"
			      "  nuke:\n"
			      "    command: [nuke]\n"
			      "    requests: [nuke/15]\n"
			      "  old-tool:\n"
			      "    command: [old]\n"
			      "pins: [imaging/~2.1]\n"
			      "environment:\n"
			      "  - prepend: PATH\n"
			      "    value: /studio/bin\n"
			      "plugins: [plugins/site.lua]\n";

static const char *SHOW = "api: spawn/v1\n"
			  "pins: [python/3.9]\n"
			  "remove: [old-tool]\n"
			  "targets:\n"
			  "  maya:\n"
			  "    requests: [dcc/2024.2, dcc-plugins]\n"
			  "  houdini:\n"
			  "    title: Houdini\n"
			  "    command: [houdini]\n"
			  "    hidden: true\n"
			  "environment:\n"
			  "  - set: SHOW_ROOT\n"
			  "    value: /shows/abc\n";

static const char *SEQ = "api: spawn/v1\n"
			 "targets:\n"
			 "  maya:\n"
			 "    title: Maya (sq010 look)\n"
			 "    command: [dcc, --look]\n";

static void catalog_fixture(tmpdir *t)
{
	put(t, "spawn.yaml", FACILITY);
	put(t, "abc/spawn.yaml", SHOW);
	put(t, "abc/sq010/spawn.yaml", SEQ);
	sp_error err = {0};
	assert_int_equal(sp_mkdir_p_at(t->fd, "abc/sq010/sh0100", 0755, &err), 0);
	assert_int_equal(sp_mkdir_p_at(t->fd, "abc/sq020", 0755, &err), 0);
	assert_int_equal(sp_mkdir_p_at(t->fd, "xyz", 0755, &err), 0);
}

static catalog_t *open_ok(tmpdir *t, const char *context)
{
	catalog_t *c = NULL;
	sp_error err = {0};
	int rc = catalog_open(&c, t->path, context, NULL, &err);
	if (rc)
		fail_msg("catalog_open(%s): %s", context, err.msg);
	return c;
}

static void expect_origin(const catalog_origin *o, tmpdir *t, const char *rel, size_t line)
{
	char want[4200];
	snprintf(want, sizeof(want), "%s/%s", t->path, rel);
	assert_non_null(o->file);
	assert_string_equal(o->file, want);
	assert_int_equal(o->line, line);
}

static void test_facility_level(void **state)
{
	tmpdir *t = *state;
	catalog_fixture(t);
	_cleanup_(catalog_freep) catalog_t *c = open_ok(t, NULL);
	assert_string_equal(catalog_context(c), "");
	assert_int_equal(catalog_level_count(c), 3);
	assert_string_equal(catalog_level_name(c, 1), "sequence");
	assert_null(catalog_level_value(c, 0));
	assert_int_equal(catalog_file_count(c), 1);
	assert_int_equal(catalog_target_count(c), 3);
	/* sorted by name */
	assert_string_equal(catalog_target_at(c, 0)->name, "maya");
	assert_string_equal(catalog_target_at(c, 1)->name, "nuke");
	assert_string_equal(catalog_target_at(c, 2)->name, "old-tool");
	const catalog_target *m = catalog_target_get(c, "maya");
	assert_non_null(m);
	assert_string_equal(m->title.text, "Maya 2024");
	char icon[4200];
	snprintf(icon, sizeof(icon), "%s/icons/maya.png", t->path);
	assert_string_equal(m->icon.text, icon);
	assert_int_equal(m->ncommand, 2);
	assert_string_equal(m->command[1].text, "--batch");
	assert_int_equal(m->nrequests, 2);
	assert_int_equal(m->nenvironment, 1);
	assert_string_equal(m->environment[0].op, "set");
	assert_string_equal(m->environment[0].var, "MAYA_UI");
	assert_string_equal(m->environment[0].value, "classic");
	/* a target without a title is shown by its name */
	assert_string_equal(catalog_target_get(c, "nuke")->title.text, "nuke");
	assert_null(catalog_target_get(c, "nuke")->icon.text);
	assert_int_equal(catalog_pin_count(c), 1);
	assert_int_equal(catalog_env_count(c), 1);
	assert_int_equal(catalog_plugin_count(c), 1);
	char plug[4200];
	snprintf(plug, sizeof(plug), "%s/plugins/site.lua", t->path);
	assert_string_equal(catalog_plugin_at(c, 0)->text, plug);
}

/* show: adds, removes, overrides one field (requests) and keeps the rest;
 * sequence: overrides title and command; pins and environment accumulate */
static void test_merge_down_the_context(void **state)
{
	tmpdir *t = *state;
	catalog_fixture(t);
	_cleanup_(catalog_freep) catalog_t *c = open_ok(t, "abc/sq010/sh0100");
	assert_string_equal(catalog_context(c), "abc/sq010/sh0100");
	assert_string_equal(catalog_level_value(c, 0), "abc");
	assert_string_equal(catalog_level_value(c, 2), "sh0100");
	assert_int_equal(catalog_file_count(c), 3); /* the shot has no file */
	assert_int_equal(catalog_target_count(c), 3);
	assert_null(catalog_target_get(c, "old-tool"));
	const catalog_target *h = catalog_target_get(c, "houdini");
	assert_non_null(h);
	assert_true(h->hidden);
	const catalog_target *m = catalog_target_get(c, "maya");
	assert_string_equal(m->title.text, "Maya (sq010 look)");
	expect_origin(&m->title.at, t, "abc/sq010/spawn.yaml", 4);
	assert_string_equal(m->command[1].text, "--look");
	assert_int_equal(m->ncommand, 2);
	assert_string_equal(m->requests[0].text, "dcc/2024.2");
	expect_origin(&m->requests[0].at, t, "abc/spawn.yaml", 6);
	/* untouched fields stay the facility's */
	assert_string_equal(m->category.text, "3D");
	expect_origin(&m->category.at, t, "spawn.yaml", 7);
	assert_int_equal(m->nenvironment, 1);
	expect_origin(&m->defined_at, t, "spawn.yaml", 5);
	assert_int_equal(catalog_pin_count(c), 2);
	assert_string_equal(catalog_pin_at(c, 0)->text, "imaging/~2.1");
	assert_string_equal(catalog_pin_at(c, 1)->text, "python/3.9");
	expect_origin(&catalog_pin_at(c, 1)->at, t, "abc/spawn.yaml", 2);
	assert_int_equal(catalog_env_count(c), 2);
	assert_string_equal(catalog_env_at(c, 0)->op, "prepend");
	assert_string_equal(catalog_env_at(c, 1)->var, "SHOW_ROOT");
}

/* only the files on the context's path are read: another show's broken
 * file does not matter */
static void test_only_the_path_is_read(void **state)
{
	tmpdir *t = *state;
	catalog_fixture(t);
	put(t, "xyz/spawn.yaml", "api: spawn/v1\ntargets: [this is broken\n");
	put(t, "abc/sq020/spawn.yaml", "not: valid: yaml: here\n");
	_cleanup_(catalog_freep) catalog_t *c = open_ok(t, "abc/sq010");
	assert_int_equal(catalog_file_count(c), 3);
	catalog_t *bad = NULL;
	sp_error err = {0};
	assert_int_equal(catalog_open(&bad, t->path, "xyz", NULL, &err), SP_EINVALID);
	assert_null(bad);
	assert_non_null(strstr(err.msg, "xyz/spawn.yaml:"));
}

static void expect_open_error(tmpdir *t, const char *context, int code, const char *want)
{
	catalog_t *c = NULL;
	sp_error err = {0};
	int rc = catalog_open(&c, t->path, context, NULL, &err);
	if (rc != code || !strstr(err.msg, want))
		fail_msg("context '%s': got %d '%s', wanted %d with '%s'", context, rc, err.msg,
			 code, want);
	assert_null(c);
}

static void test_bad_contexts(void **state)
{
	tmpdir *t = *state;
	catalog_fixture(t);
	expect_open_error(t, "../etc", SP_EINVALID, "may not start with '.'");
	expect_open_error(t, "abc/../..", SP_EINVALID, "may not start with '.'");
	expect_open_error(t, "/abc", SP_EINVALID, "an empty level");
	expect_open_error(t, "abc//sq010", SP_EINVALID, "an empty level");
	expect_open_error(t, "abc/", SP_EINVALID, "an empty level");
	expect_open_error(t, "abc/sq 010", SP_EINVALID, "a character other than");
	expect_open_error(t, "abc/sq\n010", SP_EINVALID, "a character other than");
	expect_open_error(t, "abc/sq010/sh0100/extra", SP_EINVALID,
			  "deeper than the catalog's levels (3: show, sequence, shot)");
	expect_open_error(t, "abx", SP_ENOTFOUND, "no show 'abx' in the catalog");
	expect_open_error(t, "abx", SP_ENOTFOUND, "did you mean 'abc'?");
	expect_open_error(t, "abc/sq011", SP_ENOTFOUND, "no sequence 'sq011'");
	expect_open_error(t, "abc/sq011", SP_ENOTFOUND, "'sq010'");
	char longname[300];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	expect_open_error(t, longname, SP_EINVALID, "longer than 255 bytes");
}

static void test_symlinks_out_of_the_catalog(void **state)
{
	tmpdir *t = *state;
	catalog_fixture(t);
	/* a show directory that is a link out of the tree */
	char outside[4200];
	snprintf(outside, sizeof(outside), "%s.outside", t->path);
	assert_int_equal(mkdir(outside, 0755), 0);
	assert_int_equal(symlinkat(outside, t->fd, "evil"), 0);
	expect_open_error(t, "evil", SP_EINVALID, "leads out of the catalog");
	/* a spawn.yaml that is a link out of the tree */
	char f[4300];
	snprintf(f, sizeof(f), "%s/spawn.yaml", outside);
	FILE *fp = fopen(f, "w");
	assert_non_null(fp);
	fputs("api: spawn/v1\n", fp);
	fclose(fp);
	sp_error err = {0};
	assert_int_equal(sp_mkdir_p_at(t->fd, "lnk", 0755, &err), 0);
	assert_int_equal(symlinkat(f, t->fd, "lnk/spawn.yaml"), 0);
	expect_open_error(t, "lnk", SP_EINVALID, "leads out of the catalog");
	/* a link that stays inside is fine */
	assert_int_equal(symlinkat("abc", t->fd, "abc-alias"), 0);
	_cleanup_(catalog_freep) catalog_t *c = open_ok(t, "abc-alias");
	assert_int_equal(catalog_file_count(c), 2);
	unlink(f);
	rmdir(outside);
}

static void test_merge_mistakes(void **state)
{
	tmpdir *t = *state;
	catalog_fixture(t);
	put(t, "abc/spawn.yaml", "api: spawn/v1\nremove: [mayaa]\n");
	expect_open_error(t, "abc", SP_EINVALID,
			  "abc/spawn.yaml:2:10: remove: no target 'mayaa' is defined above this "
			  "level (did you mean 'maya'?)");
	put(t, "abc/spawn.yaml", "api: spawn/v1\ntargets:\n  blender:\n    title: B\n");
	expect_open_error(t, "abc", SP_EINVALID, "target 'blender' has no command");
	put(t, "abc/spawn.yaml", "api: spawn/v1\nlevels: [a]\n");
	expect_open_error(t, "abc", SP_EINVALID, "levels: only the facility file");
	/* remove then define anew: the inherited fields are gone */
	put(t, "abc/spawn.yaml",
	    "api: spawn/v1\nremove: [maya]\ntargets:\n  maya:\n    command: [other]\n");
	_cleanup_(catalog_freep) catalog_t *c = open_ok(t, "abc");
	const catalog_target *m = catalog_target_get(c, "maya");
	assert_null(m->category.text);
	assert_int_equal(m->nrequests, 0);
	assert_string_equal(m->title.text, "maya");
}

static void test_missing_facility_and_limits(void **state)
{
	tmpdir *t = *state;
	expect_open_error(t, NULL, SP_ENOTFOUND, "is not a catalog");
	put(t, "spawn.yaml", "api: spawn/v1\n");
	/* default levels when the facility names none */
	_cleanup_(catalog_freep) catalog_t *c = open_ok(t, "");
	assert_int_equal(catalog_level_count(c), 3);
	assert_string_equal(catalog_level_name(c, 2), "shot");
	/* a file over the size limit */
	char *big = malloc(2 << 20);
	assert_non_null(big);
	memset(big, '#', (2 << 20) - 1);
	big[(2 << 20) - 1] = 0;
	memcpy(big, "api: spawn/v1\n", 14);
	put(t, "spawn.yaml", big);
	free(big);
	expect_open_error(t, NULL, SP_EINVALID, "larger than 1048576 bytes");
	catalog_limits lim = {.max_targets = 2};
	put(t, "spawn.yaml", FACILITY);
	catalog_t *x = NULL;
	sp_error err = {0};
	assert_int_equal(catalog_open(&x, t->path, NULL, &lim, &err), SP_EINVALID);
	assert_non_null(strstr(err.msg, "more than 2 targets"));
	/* a spawn.yaml that is a directory */
	sp_error e2 = {0};
	assert_int_equal(sp_mkdir_p_at(t->fd, "d/spawn.yaml", 0755, &e2), 0);
	expect_open_error(t, "d", SP_EINVALID, "not a regular file");
}

static void test_suggest(void **state)
{
	tmpdir *t = *state;
	catalog_fixture(t);
	_cleanup_(catalog_freep) catalog_t *c = open_ok(t, NULL);
	const char *out[3];
	assert_int_equal(catalog_target_suggest(c, "mya", out, 3), 1);
	assert_string_equal(out[0], "maya");
	assert_int_equal(catalog_target_suggest(c, "old", out, 3), 1);
	assert_string_equal(out[0], "old-tool");
	assert_int_equal(catalog_target_suggest(c, "zzzzzz", out, 3), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, tmpdir_setup, tmpdir_teardown)
	    T(test_facility_level),
	    T(test_merge_down_the_context),
	    T(test_only_the_path_is_read),
	    T(test_bad_contexts),
	    T(test_symlinks_out_of_the_catalog),
	    T(test_merge_mistakes),
	    T(test_missing_facility_and_limits),
	    T(test_suggest),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
