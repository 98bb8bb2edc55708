/* test_runtime.c - runtime records (spfs/runtime.c) and the mount plan
 * checks (spfs/runtime_mount.c). Mounting itself is tested end to end
 * (tests/e2e/test_spfs_run*.sh): real mounts, no mocks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spfs/runtime_internal.h"

static char *tmp_store(spfs_store **out)
{
	char tmpl[] = "/tmp/spawn-unit-rt.XXXXXX";
	char *dir = mkdtemp(tmpl);
	assert_non_null(dir);
	char *path = malloc(strlen(dir) + 8);
	snprintf(path, strlen(dir) + 8, "%s/store", dir);
	sp_error err = {0};
	assert_int_equal(spfs_store_open(out, path, true, &err), 0);
	return path;
}

static void rm_store(char *path)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%.*s'", (int)(strlen(path) - 6), path);
	assert_int_equal(system(cmd), 0);
	free(path);
}

static const char good[] =
    "spfs-runtime 1\n"
    "id 0123456789abcdef\n"
    "pid 42\n"
    "start 123\n"
    "mntns 4026531840\n"
    "started 1700000000\n"
    "editable 1\n"
    "durable dev-1\n"
    "upper /s/runtimes/durable/dev-1/upper\n"
    "work /s/runtimes/durable/dev-1/work\n"
    "layer 1111111111111111111111111111111111111111111111111111111111111111\n"
    "lower r 2222222222222222222222222222222222222222222222222222222222222222\n"
    "lower w 3333333333333333333333333333333333333333333333333333333333333333\n"
    "future-key is ignored\n";

static void test_parse_good(void **state)
{
	spfs_runtime *rt = NULL;
	sp_error err = {0};
	assert_int_equal(spfs_runtime__parse(&rt, good, strlen(good), &err), 0);
	assert_string_equal(rt->id, "0123456789abcdef");
	assert_int_equal(rt->pid, 42);
	assert_int_equal(rt->start_ticks, 123);
	assert_int_equal(rt->mntns, 4026531840u);
	assert_true(rt->editable);
	assert_string_equal(rt->durable, "dev-1");
	assert_string_equal(rt->work, "/s/runtimes/durable/dev-1/work");
	assert_int_equal(rt->layer_count, 1);
	assert_int_equal(rt->lower_count, 2);
	assert_int_equal(rt->lowers[0].kind, SPFS_LOWER_RENDER);
	assert_int_equal(rt->lowers[1].kind, SPFS_LOWER_MASKS);
	assert_int_equal(rt->lowers[1].manifest.bytes[0], 0x33);
	spfs_runtime_free(rt);
}

/* Every truncation and every single-byte corruption either parses or
 * fails cleanly (ASan/UBSan watch the rest). */
static void test_parse_hostile(void **state)
{
	size_t n = strlen(good);
	char *buf = malloc(n + 1);
	for (size_t cut = 0; cut < n; cut++) {
		spfs_runtime *rt = NULL;
		sp_error err = {0};
		memcpy(buf, good, cut);
		if (spfs_runtime__parse(&rt, buf, cut, &err) == 0)
			spfs_runtime_free(rt);
		else
			assert_true(err.msg[0] != '\0');
	}
	static const char bytes[] = {'\0', '\n', ' ', 'x', '/', '9', 'f', (char)0xff};
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < sizeof(bytes); k++) {
			memcpy(buf, good, n);
			buf[i] = bytes[k];
			spfs_runtime *rt = NULL;
			sp_error err = {0};
			if (spfs_runtime__parse(&rt, buf, n, &err) == 0)
				spfs_runtime_free(rt);
		}
	free(buf);
	static const char *const bad[] = {
	    "spfs-runtime 2\nid 0123456789abcdef\npid 1\n",
	    "spfs-runtime 1\nid 0123456789ABCDEF\npid 1\n",
	    "spfs-runtime 1\nid 0123456789abcdef\n",
	    "spfs-runtime 1\nid 0123456789abcdef\npid 0\n",
	    "spfs-runtime 1\nid 0123456789abcdef\npid 99999999999\n",
	    ("spfs-runtime 1\nid 0123456789abcdef\npid 1\nlower x "
	     "2222222222222222222222222222222222222222222222222222222222222222\n"),
	    "spfs-runtime 1\nid 0123456789abcdef\npid 1\nupper relative/path\nwork /w\n",
	    "spfs-runtime 1\nid 0123456789abcdef\npid 1\nupper /u\n",
	    "spfs-runtime 1\nid 0123456789abcdef\npid 1\ndurable ../../etc\n",
	    "spfs-runtime 1\nid 0123456789abcdef\npid 1\nlayer 12\n",
	    "spfs-runtime 1\nid 0123456789abcdef\npid 1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		spfs_runtime *rt = NULL;
		sp_error err = {0};
		assert_int_not_equal(spfs_runtime__parse(&rt, bad[i], strlen(bad[i]), &err), 0);
		assert_null(rt);
	}
}

static void test_names(void **state)
{
	assert_true(spfs_runtime__name_valid("dev"));
	assert_true(spfs_runtime__name_valid("show_abc-1.2"));
	assert_false(spfs_runtime__name_valid(""));
	assert_false(spfs_runtime__name_valid(".hidden"));
	assert_false(spfs_runtime__name_valid("-opt"));
	assert_false(spfs_runtime__name_valid("a/b"));
	assert_false(spfs_runtime__name_valid(".."));
	assert_false(spfs_runtime__name_valid("a b"));
	char longname[SPFS_RUNTIME_NAME_MAX + 2];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_false(spfs_runtime__name_valid(longname));
}

static void test_mount_check(void **state)
{
	const char *lowers[] = {"/s/renders/aa/bb", "/s/renders/cc/dd"};
	spfs_mount_plan p = {.lowers = lowers, .lower_count = 2, .target = "/spfs"};
	sp_error err = {0};
	assert_int_equal(spfs_mount__check(&p, &err), 0);
	p.upper = "/s/runtimes/x.scratch/upper";
	assert_int_not_equal(spfs_mount__check(&p, &err), 0); /* upper without work */
	p.work = "/s/runtimes/x.scratch/work";
	assert_int_equal(spfs_mount__check(&p, &err), 0);
	p.scratch = "/s/runtimes/x.scratch";
	static const char *const sizes_ok[] = {"10%", "1G", "512m", "1048576"};
	static const char *const sizes_bad[] = {"",	    "%",  "10%%",	  "1T",
						"1G,uid=0", "-1", "9999999999999"};
	for (size_t i = 0; i < 4; i++) {
		p.tmpfs_size = sizes_ok[i];
		assert_int_equal(spfs_mount__check(&p, &err), 0);
	}
	for (size_t i = 0; i < 7; i++) {
		p.tmpfs_size = sizes_bad[i];
		assert_int_not_equal(spfs_mount__check(&p, &err), 0);
	}
	p.tmpfs_size = "1G";
	static const char *const paths_bad[] = {"relative", "/",     "/a/../etc", "/a/./b",
						"/a//b",    "/a/b/", "/a\nb",	  ""};
	for (size_t i = 0; i < sizeof(paths_bad) / sizeof(paths_bad[0]); i++) {
		lowers[1] = paths_bad[i];
		assert_int_not_equal(spfs_mount__check(&p, &err), 0);
	}
	lowers[1] = "/s/renders/cc/dd";
	p.target = "/etc";
	assert_int_not_equal(spfs_mount__check(&p, &err), 0);
	p.target = "/spfs";
	p.lower_count = 0;
	assert_int_not_equal(spfs_mount__check(&p, &err), 0);
	p.lower_count = SPFS_RUNTIME_MAX_LOWERS + 1;
	assert_int_not_equal(spfs_mount__check(&p, &err), 0);
}

static void test_legacy_len(void **state)
{
	const char *lowers[] = {"/a:b", "/c,d", "/e\\f"};
	spfs_mount_plan p = {.lowers = lowers, .lower_count = 3, .target = "/spfs"};
	/* each special character is escaped: one more byte each */
	size_t plain = strlen("redirect_dir=nofollow,metacopy=off,index=off,lowerdir=") + 3 * 5;
	assert_int_equal(spfs_mount__legacy_len(&p), plain + 3);
}

static void test_proc_start(void **state)
{
	uint64_t t = 0;
	assert_true(spfs_runtime__proc_start((int)getpid(), &t));
	assert_true(t > 0);
	pid_t child = fork();
	if (child == 0)
		_exit(0);
	int ws;
	assert_int_equal(waitpid(child, &ws, 0), child);
	assert_false(spfs_runtime__proc_start((int)child, &t));
}

static int count_cb(const spfs_runtime *rt, void *ud)
{
	(*(int *)ud)++;
	return 0;
}

/* Records written, read back, listed; a dead one is pruned, a live one
 * (this process) kept and not removable. */
static void test_records(void **state)
{
	spfs_store *s = NULL;
	char *path = tmp_store(&s);
	sp_error err = {0};
	spfs_runtime live = {
	    .id = "00000000000000aa", .pid = (int)getpid(), .started = 1, .editable = false};
	assert_true(spfs_runtime__proc_start(live.pid, &live.start_ticks));
	sp_digest layers[2];
	memset(layers, 0x5a, sizeof(layers));
	spfs_runtime_lower lowers[1] = {{SPFS_LOWER_RENDER, layers[0]}};
	live.layers = layers;
	live.layer_count = 2;
	live.lowers = lowers;
	live.lower_count = 1;
	assert_int_equal(spfs_runtime__write(s, &live, &err), 0);
	spfs_runtime dead = live;
	memcpy(dead.id, "00000000000000bb", SPFS_RUNTIME_ID_LEN + 1);
	dead.start_ticks = live.start_ticks + 1; /* same pid, another process: pid reuse */
	assert_int_equal(spfs_runtime__write(s, &dead, &err), 0);

	spfs_runtime *rt = NULL;
	assert_int_equal(spfs_runtime_read(&rt, s, "00000000000000aa", &err), 0);
	assert_true(rt->live);
	assert_int_equal(rt->layer_count, 2);
	assert_memory_equal(&rt->layers[1], &layers[1], sizeof(sp_digest));
	spfs_runtime_free(rt);
	rt = NULL;
	assert_int_equal(spfs_runtime_read(&rt, s, "00000000000000bb", &err), 0);
	assert_false(rt->live);
	spfs_runtime_free(rt);
	assert_int_equal(spfs_runtime_read(&rt, s, "00000000000000cc", &err), SPFS_ENOTFOUND);
	assert_int_equal(spfs_runtime_read(&rt, s, "../../etc/passwd", &err), SP_EINVALID);

	int n = 0;
	assert_int_equal(spfs_runtime_list(s, count_cb, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(spfs_runtime_remove(s, "00000000000000aa", &err), SP_EINVALID);
	size_t removed = 0;
	assert_int_equal(spfs_runtime_prune(s, NULL, NULL, &removed, &err), 0);
	assert_int_equal(removed, 1);
	n = 0;
	assert_int_equal(spfs_runtime_list(s, count_cb, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(spfs_runtime_remove(s, "nosuchname", &err), SPFS_ENOTFOUND);
	assert_int_equal(spfs_runtime_remove(s, "../x", &err), SP_EINVALID);
	spfs_store_free(s);
	rm_store(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_good), cmocka_unit_test(test_parse_hostile),
	    cmocka_unit_test(test_names),      cmocka_unit_test(test_mount_check),
	    cmocka_unit_test(test_legacy_len), cmocka_unit_test(test_proc_start),
	    cmocka_unit_test(test_records),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
