/* test_validation.c - pkg/validation.c: build.validation rules parsed and
 * expanded as SPK does, the deciding rule (most specific, then last), the
 * environment's files (top layer wins, masks remove), and a build's
 * manifest judged against them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "pkg/build_plan.h"

static solver_arena *A;

static int setup(void **st)
{
	(void)st;
	sp_error e = {0};
	return solver_arena_new(&A, &e);
}

static int teardown(void **st)
{
	(void)st;
	solver_arena_free(A);
	return 0;
}

static const pkg__ynode *doc_of(const char *text)
{
	pkg__ynode **docs;
	size_t n;
	sp_error e = {0};
	if (pkg__yaml_load(&docs, &n, A, text, strlen(text), "t.yaml", &pkg_limits_default, &e))
		fail_msg("%s", e.msg);
	return docs[0];
}

static int parse(pkg__validation *v, const char *rules, sp_error *e)
{
	char text[2048];
	snprintf(text, sizeof(text), "pkg: me/1.0.0\nbuild:\n  script: [true]\n%s", rules);
	return pkg__validation_parse(v, A, doc_of(text), "t.yaml", e);
}

static void entry(spfs_manifest *m, const char *path, spfs_entry_kind kind, uint8_t content)
{
	spfs_entry e = {.path = (char *)path, .kind = kind, .mode = 0644};
	e.digest.bytes[0] = content;
	sp_error err = {0};
	assert_int_equal(spfs_manifest_push(m, &e, &err), 0);
}

/* The environment: lib's include/lib.h (content 1), me's older share/me
 * (content 2), and tool's bin/tool removed by an upper layer. */
static void env(pkg__env_files *f)
{
	sp_error e = {0};
	memset(f, 0, sizeof(*f));
	spfs_manifest lib = {0}, me = {0}, tool = {0}, upper = {0};
	entry(&lib, "include", SPFS_ENTRY_DIR, 0);
	entry(&lib, "include/lib.h", SPFS_ENTRY_FILE, 1);
	entry(&me, "share/me", SPFS_ENTRY_FILE, 2);
	entry(&tool, "bin/tool", SPFS_ENTRY_FILE, 3);
	entry(&upper, "bin/tool", SPFS_ENTRY_MASK, 0);
	assert_int_equal(pkg__env_files_add(f, A, &tool, "tool", &e), 0);
	assert_int_equal(pkg__env_files_add(f, A, &lib, "lib", &e), 0);
	assert_int_equal(pkg__env_files_add(f, A, &me, "me", &e), 0);
	assert_int_equal(pkg__env_files_add(f, A, &upper, "masker", &e), 0);
	pkg__env_files_finish(f);
	spfs_manifest *ms[] = {&lib, &me, &tool, &upper};
	for (size_t i = 0; i < 4; i++) {
		for (size_t k = 0; k < ms[i]->count; k++) {
			free(ms[i]->entries[k].path);
			free(ms[i]->entries[k].target);
		}
		free(ms[i]->entries);
	}
}

static void test_env_files(void **st)
{
	(void)st;
	pkg__env_files f;
	env(&f);
	assert_non_null(pkg__env_files_find(&f, "include/lib.h"));
	assert_string_equal(pkg__env_files_find(&f, "include/lib.h")->owner, "lib");
	assert_null(pkg__env_files_find(&f, "bin/tool")); /* masked above */
	assert_null(pkg__env_files_find(&f, "nothing"));
}

/* The build's manifest: judged; returns the code, *left the entries kept. */
static int judge(const char *rules, void (*fill)(spfs_manifest *), size_t *left, sp_error *e)
{
	pkg__validation v;
	assert_int_equal(parse(&v, rules, e), 0);
	pkg__env_files f;
	env(&f);
	spfs_manifest *m = calloc(1, sizeof(*m));
	assert_non_null(m);
	fill(m);
	int rc = pkg__validate_build(&v, "me", &f, m, false, e);
	*left = m->count;
	spfs_manifest_free(m);
	return rc;
}

static void changed(spfs_manifest *m)
{
	entry(m, "include/lib.h", SPFS_ENTRY_FILE, 9);
}
static void touched(spfs_manifest *m)
{
	entry(m, "include/lib.h", SPFS_ENTRY_FILE, 1);
	entry(m, "share/new", SPFS_ENTRY_FILE, 5);
}
static void own_touched(spfs_manifest *m)
{
	entry(m, "share/me", SPFS_ENTRY_FILE, 2);
}
static void removed(spfs_manifest *m)
{
	entry(m, "include/lib.h", SPFS_ENTRY_MASK, 0);
}
static void added(spfs_manifest *m)
{
	entry(m, "share/new", SPFS_ENTRY_FILE, 5);
}
static void nothing(spfs_manifest *m)
{
	(void)m;
}
static void only_touched(spfs_manifest *m)
{
	entry(m, "include/lib.h", SPFS_ENTRY_FILE, 1);
}

static void test_rules(void **st)
{
	(void)st;
	sp_error e = {0};
	size_t left;
	/* defaults */
	assert_int_equal(judge("", added, &left, &e), 0);
	assert_int_equal(left, 1);
	assert_int_equal(judge("", changed, &left, &e), PKG_EVALIDATION);
	assert_non_null(strstr(e.msg, "me: the build changed /spfs/include/lib.h of lib "
				      "(AlterExistingFiles is denied"));
	assert_int_equal(judge("", removed, &left, &e), PKG_EVALIDATION);
	assert_non_null(strstr(e.msg, "removed /spfs/include/lib.h of lib"));
	/* nothing installed: not empty in SPK's sense (its metadata) */
	assert_int_equal(judge("", nothing, &left, &e), 0);
	/* a touched file of another package is not collected; alone, the
	 * package is empty */
	assert_int_equal(judge("", touched, &left, &e), 0);
	assert_int_equal(left, 1);
	assert_int_equal(judge("", only_touched, &left, &e), 0);
	assert_int_equal(left, 0);
	/* touching its own (older) file: denying RecursiveBuild (a default)
	 * denies altering its own files, Touch included (SPK's expansion) */
	assert_int_equal(judge("", own_touched, &left, &e), PKG_EVALIDATION);
	assert_non_null(strstr(e.msg, "touched /spfs/share/me of me (AlterExistingFiles"));
	/* allowing RecursiveBuild allows the package's own files */
	assert_int_equal(
	    judge("  validation:\n    rules: [{allow: RecursiveBuild}]\n", own_touched, &left, &e),
	    0);
	/* allow altering; collecting is its own rule */
	assert_int_equal(
	    judge("  validation:\n    rules: [{allow: AlterExistingFiles}]\n", changed, &left, &e),
	    PKG_EVALIDATION);
	assert_non_null(strstr(e.msg, "collected /spfs/include/lib.h of lib"));
	const char *both = "  validation:\n    rules:\n      - allow: AlterExistingFiles\n"
			   "      - allow: CollectExistingFiles\n";
	assert_int_equal(judge(both, changed, &left, &e), 0);
	assert_int_equal(judge(both, removed, &left, &e), 0);
	/* specific beats general whatever the order; among equals the last */
	assert_int_equal(judge("  validation:\n    rules:\n"
			       "      - allow: AlterExistingFiles\n        packages: [lib]\n"
			       "      - deny: AlterExistingFiles\n"
			       "      - allow: CollectExistingFiles\n",
			       changed, &left, &e),
			 0);
	assert_int_equal(judge("  validation:\n    rules:\n"
			       "      - allow: AlterExistingFiles\n        packages: [lib]\n"
			       "      - deny: AlterExistingFiles\n        packages: [lib]\n"
			       "      - allow: CollectExistingFiles\n",
			       changed, &left, &e),
			 PKG_EVALIDATION);
	/* an action narrows the rule: allowing Remove leaves Change denied */
	const char *rm = "  validation:\n    rules:\n"
			 "      - allow: AlterExistingFiles\n        action: Remove\n"
			 "      - allow: CollectExistingFiles\n";
	assert_int_equal(judge(rm, removed, &left, &e), 0);
	assert_int_equal(judge(rm, changed, &left, &e), PKG_EVALIDATION);
	/* require */
	assert_int_equal(
	    judge("  validation:\n    rules: [{require: EmptyPackage}]\n", added, &left, &e),
	    PKG_EVALIDATION);
	assert_int_equal(
	    judge("  validation:\n    rules: [{allow: EmptyPackage}]\n", nothing, &left, &e), 0);
	assert_int_equal(
	    judge("  validation:\n    rules: [{require: SpdxLicense}]\n", added, &left, &e),
	    PKG_EVALIDATION);
	assert_non_null(strstr(e.msg, "meta.license is required"));
	/* the deprecated names */
	assert_int_equal(
	    judge("  validation:\n    disabled: [MustInstallSomething]\n", nothing, &left, &e), 0);
}

static void test_recursive(void **st)
{
	(void)st;
	sp_error e = {0};
	pkg__validation v;
	solver_build me = {.name = "me"}, other = {.name = "other"};
	pkg__build_dep env[] = {{&other, NULL}, {&me, NULL}};
	assert_int_equal(parse(&v, "", &e), 0);
	assert_int_equal(pkg__validate_setup(&v, "me", env, 1, &e), 0);
	assert_int_equal(pkg__validate_setup(&v, "me", env, 2, &e), PKG_EVALIDATION);
	assert_non_null(strstr(e.msg, "holds another version of me (RecursiveBuild is denied"));
	assert_int_equal(parse(&v, "  validation:\n    rules: [{allow: RecursiveBuild}]\n", &e), 0);
	assert_int_equal(pkg__validate_setup(&v, "me", env, 2, &e), 0);
}

static void test_bad(void **st)
{
	(void)st;
	static const struct {
		const char *rules, *frag;
	} bad[] = {
	    {"  validation: [1]\n", "expected a mapping"},
	    {"  validation:\n    rules: [{allow: Nope}]\n", "unknown rule"},
	    {"  validation:\n    rules: [{allow: EmptyPackage, deny: EmptyPackage}]\n",
	     "one of allow, deny, require"},
	    {"  validation:\n    rules: [{packages: [a]}]\n", "needs allow, deny or require"},
	    {"  validation:\n    rules: [{allow: EmptyPackage, packages: [a]}]\n",
	     "packages: not a property of this rule"},
	    {"  validation:\n    rules: [{allow: AlterExistingFiles, action: Move}]\n",
	     "action: expected Change, Remove or Touch"},
	    {"  validation:\n    rules: [{allow: EmptyPackage, action: Touch}]\n",
	     "action: only AlterExistingFiles has it"},
	    {"  validation:\n    disabled: [Everything]\n", "disabled: expected"},
	    {"  validation:\n    rules: []\n    disabled: []\n", "cannot both be given"},
	    {"  validation:\n    rules: x\n", "rules: expected a list"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pkg__validation v;
		sp_error e = {0};
		assert_int_equal(parse(&v, bad[i].rules, &e), SP_EINVALID);
		if (!strstr(e.msg, bad[i].frag))
			fail_msg("%zu: '%s' lacks '%s'", i, e.msg, bad[i].frag);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_env_files, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rules, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_recursive, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
