/* test_yaml.c - tests common/yaml.c: the bounded YAML tree and config lookup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"

static sp_yaml_node *parse_ok(const char *text)
{
	sp_error err = {0};
	sp_yaml_node *doc = NULL;
	int rc = sp_yaml_parse(&doc, text, strlen(text), "t.yaml", &err);
	if (rc)
		fail_msg("unexpected error: %s", err.msg);
	return doc;
}

static void expect_error(const char *text, size_t n, const char *needle)
{
	sp_error err = {0};
	sp_yaml_node *doc = NULL;
	assert_int_equal(sp_yaml_parse(&doc, text, n, "t.yaml", &err), SP_EINVALID);
	assert_null(doc);
	if (!strstr(err.msg, needle))
		fail_msg("'%s' does not contain '%s'", err.msg, needle);
	assert_true(strncmp(err.msg, "t.yaml", 6) == 0);
}

static void test_lookup(void **state)
{
	(void)state;
	sp_yaml_node *doc = parse_ok(
	    "spfs:\n  storage: /data/spfs\n  runtime:\n    tmpfs_size: 2G\nlist: [a, b]\n");
	const sp_yaml_node *n = sp_yaml_lookup(doc, "spfs.storage");
	assert_non_null(n);
	assert_int_equal(n->kind, SP_YAML_SCALAR);
	assert_string_equal(n->value, "/data/spfs");
	assert_int_equal(n->line, 2);
	assert_int_equal(n->column, 12);
	assert_string_equal(sp_yaml_lookup(doc, "spfs.runtime.tmpfs_size")->value, "2G");
	assert_null(sp_yaml_lookup(doc, "spfs.nothing"));
	assert_null(sp_yaml_lookup(doc, "list.a")); /* not through sequences */
	const sp_yaml_node *l = sp_yaml_lookup(doc, "list");
	assert_int_equal(l->kind, SP_YAML_SEQ);
	assert_int_equal(l->count, 2);
	assert_string_equal(l->children[1].value, "b");
	sp_yaml_free(doc);
}

static void test_empty_is_empty_map(void **state)
{
	(void)state;
	sp_yaml_node *doc = parse_ok("");
	assert_int_equal(doc->kind, SP_YAML_MAP);
	assert_int_equal(doc->count, 0);
	sp_yaml_free(doc);
}

static void test_bad_inputs(void **state)
{
	(void)state;
	expect_error("a: &x [1]\nb: *x\n", 16, "aliases");
	expect_error("a: 1\na: 2\n", 10, "t.yaml:2:1: key 'a' appears twice (lines 1 and 2)");
	/* the earliest repeat is named, with the line of each key (not of
	 * its value) */
	const char *dup = "b:\n  x: 1\na: 1\nc: 2\nb:\n  y: 1\na: 2\n";
	expect_error(dup, strlen(dup), "t.yaml:5:1: key 'b' appears twice (lines 1 and 5)");
	const char *inner = "top:\n  k: 1\n  j: 2\n  k: 3\n";
	expect_error(inner, strlen(inner), "t.yaml:4:3: key 'k' appears twice (lines 2 and 4)");
	expect_error("a: [1, 2\n", 9, "t.yaml:");
	expect_error("a: \"\xff\"\n", 7, "t.yaml:");
	expect_error("? [x]\n: y\n", 10,
		     "t.yaml:1:3: a mapping key must be a plain value, not a list");
	expect_error("? {x: 1}\n: y\n", 13, "not a mapping");
	/* issue 9: a collection key cut short by a comment (`#k]`) leaked the
	 * part built so far; it is refused before anything is built */
	const char *cut = "? [complez,#key]\n: va\n";
	assert_int_equal(strlen(cut), 22);
	expect_error(cut, 22, "t.yaml:1:3: a mapping key must be a plain value, not a list");
	char deep[600];
	size_t n = 0;
	n += (size_t)snprintf(deep, sizeof(deep), "a: ");
	for (int i = 0; i < 100; i++)
		deep[n++] = '[';
	for (int i = 0; i < 100; i++)
		deep[n++] = ']';
	deep[n] = '\0';
	expect_error(deep, n, "nested deeper");
	/* Truncation at every offset of a valid document never crashes and
	 * either parses or names the file. */
	const char *doc = "spfs:\n  storage: \"/x y\"\n  list: [1, {a: b}]\n";
	for (size_t i = 0; i <= strlen(doc); i++) {
		sp_error err = {0};
		sp_yaml_node *d = NULL;
		if (sp_yaml_parse(&d, doc, i, "t.yaml", &err) == 0)
			sp_yaml_free(d);
		else
			assert_true(strncmp(err.msg, "t.yaml:", 7) == 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lookup),
	    cmocka_unit_test(test_empty_is_empty_map),
	    cmocka_unit_test(test_bad_inputs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
