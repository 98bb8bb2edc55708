/* test_config.c - the configuration files (common/config.c): which files,
 * the documented and accepted spellings, unknown keys, malformed files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"

static char dir[64];

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* Runs sp_config_get on a fresh read with stderr captured into `warnings`. */
static int get(char **v, const char *path, sp_error *err, char *warnings, size_t n)
{
	sp_config_reset();
	char log[128];
	snprintf(log, sizeof(log), "%s/stderr", dir);
	fflush(stderr);
	int saved = dup(2);
	int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, 2);
	close(fd);
	int rc = sp_config_get(v, path, err);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	FILE *f = fopen(log, "r");
	size_t got = fread(warnings, 1, n - 1, f);
	warnings[got] = '\0';
	fclose(f);
	return rc;
}

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/spawn-config-XXXXXX");
	assert_non_null(mkdtemp(dir));
	sp_log_set_level(SP_LOG_WARN);
	unsetenv("SPAWN_CONFIG");
	return 0;
}

static int teardown(void **state)
{
	sp_error err = {0};
	sp_config_reset();
	unsetenv("SPAWN_CONFIG");
	unsetenv("XDG_CONFIG_HOME");
	sp_rm_rf_at(AT_FDCWD, dir, &err);
	return 0;
}

static void test_spellings_and_shapes(void **state)
{
	char file[128], w[4096];
	snprintf(file, sizeof(file), "%s/config.yaml", dir);
	setenv("SPAWN_CONFIG", file, 1);
	sp_error err = {0};
	char *v = NULL;
	/* the documented top-level form */
	write_file(file, "storage: ~/stores/top\nspfs:\n  runtime: {tmpfs_size: 1G}\n");
	assert_int_equal(get(&v, "storage", &err, w, sizeof(w)), 0);
	assert_string_equal(v, "~/stores/top");
	free(v);
	assert_string_equal(w, ""); /* every key known: no warning */
	assert_int_equal(get(&v, "spfs.runtime.tmpfs_size", &err, w, sizeof(w)), 0);
	assert_string_equal(v, "1G");
	free(v);
	/* the accepted `spfs: storage:` form */
	write_file(file, "spfs:\n  storage: /srv/spfs\n");
	assert_int_equal(get(&v, "storage", &err, w, sizeof(w)), 0);
	assert_string_equal(v, "/srv/spfs");
	free(v);
	/* both: the documented one wins */
	write_file(file, "spfs:\n  storage: /old\nstorage: /new\n");
	assert_int_equal(get(&v, "storage", &err, w, sizeof(w)), 0);
	assert_string_equal(v, "/new");
	free(v);
	/* unset is not an error */
	assert_int_equal(get(&v, "spfs.runtime.mode", &err, w, sizeof(w)), 0);
	assert_null(v);
	/* a mapping where a value belongs, a value where a mapping belongs */
	write_file(file, "storage:\n  - a\n");
	assert_int_equal(get(&v, "storage", &err, w, sizeof(w)), SP_ECONFIG);
	assert_non_null(strstr(err.msg, ":1:1: 'storage' must be a single value"));
	write_file(file, "spfs: 12\n");
	assert_int_equal(get(&v, "storage", &err, w, sizeof(w)), SP_ECONFIG);
	assert_non_null(strstr(err.msg, "'spfs' must be a mapping of settings"));
	write_file(file, "spfs:\n"); /* empty: fine */
	assert_int_equal(get(&v, "storage", &err, w, sizeof(w)), 0);
	assert_null(v);
	write_file(file, "- a list\n");
	assert_int_equal(get(&v, "storage", &err, w, sizeof(w)), SP_ECONFIG);
	assert_non_null(strstr(err.msg, "expected a mapping of settings"));
}

static void test_unknown_keys_warned_with_position(void **state)
{
	char file[128], w[4096];
	snprintf(file, sizeof(file), "%s/config.yaml", dir);
	setenv("SPAWN_CONFIG", file, 1);
	sp_error err = {0};
	char *v = NULL;
	write_file(file, "storrage: /x\nspfs:\n  runtime:\n    mdoe: helper\n  colour: red\n");
	assert_int_equal(get(&v, "storage", &err, w, sizeof(w)), 0);
	assert_null(v); /* the typo is not taken for the setting */
	char want[512];
	snprintf(want, sizeof(want),
		 "warning: %s:1:1: unknown setting 'storrage' (did you mean 'storage'?)", file);
	assert_non_null(strstr(w, want));
	snprintf(want, sizeof(want),
		 "warning: %s:4:5: unknown setting 'spfs.runtime.mdoe' (did you mean "
		 "'spfs.runtime.mode'?)",
		 file);
	assert_non_null(strstr(w, want));
	snprintf(want, sizeof(want), "warning: %s:5:3: unknown setting 'spfs.colour' (ignored",
		 file);
	assert_non_null(strstr(w, want));
}

static void test_malformed_names_file_line(void **state)
{
	char file[128], w[4096];
	snprintf(file, sizeof(file), "%s/config.yaml", dir);
	setenv("SPAWN_CONFIG", file, 1);
	sp_error err = {0};
	char *v = NULL;
	write_file(file, "spfs: [\n");
	assert_int_equal(get(&v, "storage", &err, w, sizeof(w)), SP_ECONFIG);
	char want[160];
	snprintf(want, sizeof(want), "%s:2:1: ", file);
	assert_non_null(strstr(err.msg, want));
	/* the same error again without reading again */
	sp_error again = {0};
	assert_int_equal(sp_config_load(&again), SP_ECONFIG);
	assert_string_equal(again.msg, err.msg);
	write_file(file, "a: 1\na: 2\n");
	assert_int_equal(get(&v, "storage", &err, w, sizeof(w)), SP_ECONFIG);
	assert_non_null(strstr(err.msg, "appears twice"));
	unlink(file); /* a missing file is no file */
	assert_int_equal(get(&v, "storage", &err, w, sizeof(w)), 0);
	assert_null(v);
}

static void test_user_file_xdg_then_home(void **state)
{
	char home[128], xdg[128], p[256], w[4096];
	snprintf(home, sizeof(home), "%s/home", dir);
	snprintf(xdg, sizeof(xdg), "%s/xdg", dir);
	snprintf(p, sizeof(p), "%s/.config/spawn", home);
	sp_error err = {0};
	assert_int_equal(sp_mkdir_p_at(AT_FDCWD, p, 0755, &err), 0);
	snprintf(p, sizeof(p), "%s/spawn", xdg);
	assert_int_equal(sp_mkdir_p_at(AT_FDCWD, p, 0755, &err), 0);
	snprintf(p, sizeof(p), "%s/.config/spawn/config.yaml", home);
	write_file(p, "storage: /from-home\n");
	snprintf(p, sizeof(p), "%s/spawn/config.yaml", xdg);
	write_file(p, "storage: /from-xdg\n");
	char *old_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
	setenv("HOME", home, 1);
	char *v = NULL;
	setenv("XDG_CONFIG_HOME", xdg, 1);
	assert_int_equal(get(&v, "storage", &err, w, sizeof(w)), 0);
	assert_string_equal(v, "/from-xdg");
	free(v);
	/* a relative XDG_CONFIG_HOME is ignored (the XDG spec) */
	setenv("XDG_CONFIG_HOME", "relative/dir", 1);
	assert_int_equal(get(&v, "storage", &err, w, sizeof(w)), 0);
	assert_string_equal(v, "/from-home");
	free(v);
	unsetenv("XDG_CONFIG_HOME");
	assert_int_equal(get(&v, "storage", &err, w, sizeof(w)), 0);
	assert_string_equal(v, "/from-home");
	free(v);
	if (old_home)
		setenv("HOME", old_home, 1);
	free(old_home);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_spellings_and_shapes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_keys_warned_with_position, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_malformed_names_file_line, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_user_file_xdg_then_home, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
