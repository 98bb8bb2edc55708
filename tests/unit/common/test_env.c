/* test_env.c - environments as values (common/env.c): order, set in place,
 * SPK's prepend/append with separators, expansion, envp, digest, many
 * variables. */
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

#include "common/common.h"

static void test_order_and_set_in_place(void **state)
{
	(void)state;
	sp_error err = {0};
	_cleanup_(sp_env_freep) sp_env *e = NULL;
	assert_int_equal(sp_env_new(&e, &err), 0);
	assert_int_equal(sp_env_set(e, "B", "1", &err), 0);
	assert_int_equal(sp_env_set(e, "A", "2", &err), 0);
	assert_int_equal(sp_env_set(e, "B", "3", &err), 0);
	assert_int_equal(sp_env_count(e), 2);
	assert_string_equal(sp_env_name_at(e, 0), "B");
	assert_string_equal(sp_env_value_at(e, 0), "3");
	assert_string_equal(sp_env_get(e, "A"), "2");
	assert_null(sp_env_get(e, "C"));
	assert_int_equal(sp_env_unset(e, "B", &err), 0);
	assert_int_equal(sp_env_unset(e, "nope", &err), 0);
	assert_int_equal(sp_env_count(e), 1);
	assert_null(sp_env_get(e, "B"));
	assert_string_equal(sp_env_get(e, "A"), "2");
	assert_int_equal(sp_env_set(e, "", "x", &err), SP_EINVALID);
	assert_int_equal(sp_env_set(e, "A=B", "x", &err), SP_EINVALID);
}

static void test_prepend_append(void **state)
{
	(void)state;
	sp_error err = {0};
	_cleanup_(sp_env_freep) sp_env *e = NULL;
	assert_int_equal(sp_env_new(&e, &err), 0);
	/* unset or empty: just the value, no stray separator */
	assert_int_equal(sp_env_prepend(e, "PATH", "/spfs/bin", NULL, &err), 0);
	assert_string_equal(sp_env_get(e, "PATH"), "/spfs/bin");
	assert_int_equal(sp_env_append(e, "PATH", "/usr/bin", NULL, &err), 0);
	assert_int_equal(sp_env_prepend(e, "PATH", "/first", ":", &err), 0);
	assert_string_equal(sp_env_get(e, "PATH"), "/first:/spfs/bin:/usr/bin");
	assert_int_equal(sp_env_set(e, "E", "", &err), 0);
	assert_int_equal(sp_env_append(e, "E", "v", ";", &err), 0);
	assert_string_equal(sp_env_get(e, "E"), "v");
	assert_int_equal(sp_env_append(e, "E", "w", ";", &err), 0);
	assert_string_equal(sp_env_get(e, "E"), "v;w");
}

static void test_expand(void **state)
{
	(void)state;
	sp_error err = {0};
	_cleanup_(sp_env_freep) sp_env *e = NULL;
	assert_int_equal(sp_env_new(&e, &err), 0);
	assert_int_equal(sp_env_set(e, "ROOT", "/spfs", &err), 0);
	struct {
		const char *in, *out;
	} cases[] = {
	    {"$ROOT/bin", "/spfs/bin"},
	    {"${ROOT}x", "/spfsx"},
	    {"$ROOTx", ""}, /* the name is ROOTx, unset */
	    {"a$", "a$"},
	    {"$$", "$$"},
	    {"${ROOT", "${ROOT"},
	    {"${}", "${}"},
	    {"$UNSET-x", "-x"},
	    {"plain", "plain"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		_cleanup_free_ char *out = NULL;
		assert_int_equal(sp_env_expand(&out, e, cases[i].in, &err), 0);
		assert_string_equal(out, cases[i].out);
	}
}

static void test_envp_round_trip(void **state)
{
	(void)state;
	sp_error err = {0};
	char *in[] = {"A=1", "B==2", "noequals", "=novalue", "C=", NULL};
	_cleanup_(sp_env_freep) sp_env *e = NULL;
	assert_int_equal(sp_env_from_envp(&e, in, &err), 0);
	assert_int_equal(sp_env_count(e), 3);
	assert_string_equal(sp_env_get(e, "B"), "=2");
	assert_string_equal(sp_env_get(e, "C"), "");
	_cleanup_free_ char **envp = NULL;
	assert_int_equal(sp_env_to_envp(&envp, e, &err), 0);
	assert_string_equal(envp[0], "A=1");
	assert_string_equal(envp[1], "B==2");
	assert_string_equal(envp[2], "C=");
	assert_null(envp[3]);
}

static void test_digest_ignores_order(void **state)
{
	(void)state;
	sp_error err = {0};
	_cleanup_(sp_env_freep) sp_env *a = NULL;
	_cleanup_(sp_env_freep) sp_env *b = NULL;
	assert_int_equal(sp_env_new(&a, &err), 0);
	assert_int_equal(sp_env_new(&b, &err), 0);
	sp_env_set(a, "X", "1", &err);
	sp_env_set(a, "Y", "2", &err);
	sp_env_set(b, "Y", "2", &err);
	sp_env_set(b, "X", "1", &err);
	sp_digest da, db;
	assert_int_equal(sp_env_digest(&da, a, &err), 0);
	assert_int_equal(sp_env_digest(&db, b, &err), 0);
	assert_int_equal(sp_digest_cmp(&da, &db), 0);
	/* "X=1","Y=2" differs from "X=1Y","=2"-like splits */
	sp_env_set(b, "X", "1Y", &err);
	sp_env_unset(b, "Y", &err);
	assert_int_equal(sp_env_digest(&db, b, &err), 0);
	assert_int_not_equal(sp_digest_cmp(&da, &db), 0);
}

static void test_many_variables(void **state)
{
	(void)state;
	sp_error err = {0};
	_cleanup_(sp_env_freep) sp_env *e = NULL;
	assert_int_equal(sp_env_new(&e, &err), 0);
	char name[32], value[32];
	for (int i = 0; i < 50000; i++) {
		snprintf(name, sizeof(name), "V%d", i);
		snprintf(value, sizeof(value), "%d", i * 7);
		assert_int_equal(sp_env_set(e, name, value, &err), 0);
	}
	for (int i = 0; i < 50000; i += 997) {
		snprintf(name, sizeof(name), "V%d", i);
		snprintf(value, sizeof(value), "%d", i * 7);
		assert_string_equal(sp_env_get(e, name), value);
	}
	assert_int_equal(sp_env_unset(e, "V0", &err), 0);
	assert_string_equal(sp_env_name_at(e, 0), "V1");
	assert_string_equal(sp_env_get(e, "V49999"), "349993");
	assert_int_equal(sp_env_count(e), 49999);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_order_and_set_in_place),
	    cmocka_unit_test(test_prepend_append),
	    cmocka_unit_test(test_expand),
	    cmocka_unit_test(test_envp_round_trip),
	    cmocka_unit_test(test_digest_ignores_order),
	    cmocka_unit_test(test_many_variables),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
