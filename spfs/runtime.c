/* runtime.c - runtime records, the mount plan of a stack, and `spfs run`.
 *
 * Layout under STORE/runtimes/ (docs/runtime.md):
 *   <id>                  the record of one live (or crashed) runtime, see
 *                         spfs_runtime__write
 *   <id>.scratch/         mountpoint of its tmpfs (upper/, work/) inside its
 *                         namespace (editable runtimes); empty seen from the host
 *   plans/<16hex>         cached mount plans of stacks (runtime_run.c)
 *   durable/NAME/         a durable runtime: stack, lock, upper/, work/
 *   masks/xx/<62hex>      whiteouts of a manifest's mask entries, one
 *                         overlay lower (a stored render has no whiteouts)
 *   masks/xx/<62hex>.none the manifest has no masks
 *   flat/<key>            manifest digest of a flattened bottom group
 *   empty/                lower of an empty stack
 *
 * `spfs run`, in order:
 *   1. (shared store lock) resolve the refs into a stack of manifests;
 *      render each (spfs_render_stored, reused) and its masks; flatten the
 *      bottom of the stack into one cached render when the stack exceeds
 *      the overlay limit; build and check the whole mount plan;
 *   2. clone (CLONE_VM|CLONE_VFORK as root, fork otherwise). The child
 *      enters a new mount namespace, mounts, and execs the
 *      command (through a /bin/sh wrapper that sources the startup scripts,
 *      only when there are any). A CLOEXEC pipe tells the parent that the
 *      exec happened (EOF) or carries the error;
 *   3. the parent writes the record (pid, start time, mount namespace of
 *      the child) while the command already runs, drops the store lock
 *      (the record now protects the layers from clean) and supervises: it waits for the child,
 * forwards SIGINT/SIGTERM/SIGHUP/SIGQUIT/SIGUSR1/SIGUSR2 sent to it with kill(2)
 *      (terminal-generated ones already reach the child, which stays in the
 *      same, foreground, process group), then removes the record.
 */
#include "runtime_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RECORD_MAX    ((size_t)8 << 20)
#define RECORD_HEADER "spfs-runtime 1\n"

/* ------------------------------------------------------------ records */

void spfs_runtime_free(spfs_runtime *rt)
{
	if (!rt)
		return;
	free(rt->durable);
	free(rt->layers);
	free(rt->lowers);
	free(rt->upper);
	free(rt->work);
	free(rt->scratch);
	free(rt);
}

void spfs_runtime_freep(spfs_runtime **rt)
{
	spfs_runtime_free(*rt);
	*rt = NULL;
}

bool spfs_runtime__name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > SPFS_RUNTIME_NAME_MAX || name[0] == '.' || name[0] == '-')
		return false;
	return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
	       n;
}

static bool id_valid(const char *id)
{
	return strlen(id) == SPFS_RUNTIME_ID_LEN && sp_digest_is_hex(id, SPFS_RUNTIME_ID_LEN);
}

int spfs_runtime__dir(int *out, spfs_store *s, sp_error *err)
{
	int fd = openat(s->dirfd, "runtimes", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		*out = fd;
		return 0;
	}
	if (sp_sys_mkdirat(s->dirfd, "runtimes", 0755) < 0 && errno != EEXIST)
		return sp_error_errno(err, "cannot create %s/runtimes", s->path);
	return sp_open_dir_at(out, s->dirfd, "runtimes", err);
}

int spfs_runtime__lower_path(char **out, spfs_store *s, const spfs_runtime_lower *l, sp_error *err)
{
	char hex[SP_DIGEST_HEX_LEN + 1];
	sp_digest_to_hex(&l->manifest, hex);
	size_t n = strlen(s->path) + 100;
	char *p = malloc(n);
	if (!p)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	switch (l->kind) {
	case SPFS_LOWER_RENDER: snprintf(p, n, "%s/renders/%.2s/%s", s->path, hex, hex + 2); break;
	case SPFS_LOWER_MASKS:
		snprintf(p, n, "%s/runtimes/masks/%.2s/%s", s->path, hex, hex + 2);
		break;
	case SPFS_LOWER_EMPTY: snprintf(p, n, "%s/runtimes/empty", s->path); break;
	default: free(p); return sp_error_set(err, SP_EINVALID, "unknown lower kind");
	}
	*out = p;
	return 0;
}

int spfs_runtime__write(spfs_store *s, const spfs_runtime *rt, sp_error *err)
{
	sp_buf b = {.max = RECORD_MAX};
	int rc = sp_buf_printf(
	    &b, err,
	    RECORD_HEADER "id %s\npid %d\nstart %llu\nmntns %llu\nstarted %lld\neditable %d\n",
	    rt->id, rt->pid, (unsigned long long)rt->start_ticks, (unsigned long long)rt->mntns,
	    (long long)rt->started, rt->editable ? 1 : 0);
	if (!rc && rt->durable)
		rc = sp_buf_printf(&b, err, "durable %s\n", rt->durable);
	if (!rc && rt->upper)
		rc = sp_buf_printf(&b, err, "upper %s\nwork %s\n", rt->upper, rt->work);
	if (!rc && rt->scratch)
		rc = sp_buf_printf(&b, err, "scratch %s\n", rt->scratch);
	char hex[SP_DIGEST_HEX_LEN + 1];
	for (size_t i = 0; !rc && i < rt->layer_count; i++) {
		sp_digest_to_hex(&rt->layers[i], hex);
		rc = sp_buf_printf(&b, err, "layer %s\n", hex);
	}
	for (size_t i = 0; !rc && i < rt->lower_count; i++) {
		sp_digest_to_hex(&rt->lowers[i].manifest, hex);
		rc = sp_buf_printf(&b, err, "lower %c %s\n", (char)rt->lowers[i].kind, hex);
	}
	_cleanup_close_ int rdir = -1;
	if (!rc)
		rc = spfs_runtime__dir(&rdir, s, err);
	if (rc) {
		sp_buf_free(&b);
		return sp_error_prefix(err, "cannot write runtime record %s", rt->id);
	}
	/* Atomic replace: a temporary file renamed over the record. Not
	 * fsynced: a record means something only while its processes live. */
	char tmp[40];
	char rnd[17];
	sp_random_name(rnd, 16);
	snprintf(tmp, sizeof(tmp), ".tmp-%s", rnd);
	_cleanup_close_ int fd =
	    openat(rdir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		rc = sp_error_errno(err, "create %s", tmp);
	if (!rc)
		rc = sp_write_all(fd, b.data, b.len, err);
	if (!rc && renameat(rdir, tmp, rdir, rt->id) < 0)
		rc = sp_error_errno(err, "rename record into place");
	if (rc && fd >= 0)
		unlinkat(rdir, tmp, 0);
	sp_buf_free(&b);
	return rc ? sp_error_prefix(err, "cannot write runtime record %s", rt->id) : 0;
}

static int parse_u64(uint64_t *out, const char *v, const char *key, sp_error *err)
{
	if (!*v || strspn(v, "0123456789") != strlen(v) || strlen(v) > 19)
		return sp_error_set(err, SP_EINVALID, "bad %s value '%.40s'", key, v);
	*out = strtoull(v, NULL, 10);
	return 0;
}

static int push_digest(sp_digest **arr, size_t *count, const char *hex, sp_error *err)
{
	if (*count >= SPFS_MAX_LAYERS)
		return sp_error_set(err, SP_EINVALID, "more than %u layers", SPFS_MAX_LAYERS);
	if ((*count & (*count - 1)) == 0) {
		int rc =
		    sp_realloc_array((void **)arr, *count ? *count * 2 : 8, sizeof(**arr), err);
		if (rc)
			return rc;
	}
	return sp_digest_from_hex(&(*arr)[(*count)++], hex, err);
}

int spfs_runtime__parse(spfs_runtime **out, const char *data, size_t n, sp_error *err)
{
	if (n > RECORD_MAX || n < strlen(RECORD_HEADER) ||
	    memcmp(data, RECORD_HEADER, strlen(RECORD_HEADER)) != 0)
		return sp_error_set(err, SP_EINVALID, "not a runtime record");
	if (memchr(data, '\0', n))
		return sp_error_set(err, SP_EINVALID, "runtime record contains NUL");
	_cleanup_(spfs_runtime_freep) spfs_runtime *rt = calloc(1, sizeof(*rt));
	if (!rt)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	const char *p = data + strlen(RECORD_HEADER), *end = data + n;
	size_t lineno = 1;
	int rc = 0;
	while (p < end && !rc) {
		lineno++;
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			return sp_error_set(err, SP_EINVALID,
					    "runtime record line %zu is not terminated", lineno);
		size_t len = (size_t)(nl - p);
		if (len > PATH_MAX + 16)
			return sp_error_set(err, SP_EINVALID, "runtime record line %zu too long",
					    lineno);
		char line[PATH_MAX + 20];
		memcpy(line, p, len);
		line[len] = '\0';
		p = nl + 1;
		char *v = strchr(line, ' ');
		if (!v)
			return sp_error_set(err, SP_EINVALID,
					    "runtime record line %zu has no value", lineno);
		*v++ = '\0';
		uint64_t u = 0;
		if (strcmp(line, "id") == 0) {
			if (!id_valid(v))
				return sp_error_set(err, SP_EINVALID, "bad runtime id");
			memcpy(rt->id, v, SPFS_RUNTIME_ID_LEN + 1);
		} else if (strcmp(line, "pid") == 0) {
			if (!(rc = parse_u64(&u, v, line, err)) && (u == 0 || u > INT32_MAX))
				rc = sp_error_set(err, SP_EINVALID, "bad pid");
			rt->pid = (int)u;
		} else if (strcmp(line, "start") == 0) {
			rc = parse_u64(&rt->start_ticks, v, line, err);
		} else if (strcmp(line, "mntns") == 0) {
			rc = parse_u64(&rt->mntns, v, line, err);
		} else if (strcmp(line, "started") == 0) {
			if (!(rc = parse_u64(&u, v, line, err)))
				rt->started = (int64_t)u;
		} else if (strcmp(line, "editable") == 0) {
			if (strcmp(v, "0") && strcmp(v, "1"))
				rc = sp_error_set(err, SP_EINVALID, "bad editable value");
			rt->editable = v[0] == '1';
		} else if (strcmp(line, "durable") == 0) {
			if (!spfs_runtime__name_valid(v) || rt->durable)
				return sp_error_set(err, SP_EINVALID, "bad durable name");
			if (!(rt->durable = strdup(v)))
				return sp_error_set(err, SP_ENOMEM, "out of memory");
		} else if (strcmp(line, "upper") == 0 || strcmp(line, "work") == 0 ||
			   strcmp(line, "scratch") == 0) {
			char **slot = line[0] == 'u'   ? &rt->upper
				      : line[0] == 'w' ? &rt->work
						       : &rt->scratch;
			if (v[0] != '/' || *slot)
				return sp_error_set(err, SP_EINVALID, "bad %s path", line);
			if (!(*slot = strdup(v)))
				return sp_error_set(err, SP_ENOMEM, "out of memory");
		} else if (strcmp(line, "layer") == 0) {
			rc = push_digest(&rt->layers, &rt->layer_count, v, err);
		} else if (strcmp(line, "lower") == 0) {
			if (strlen(v) != 2 + SP_DIGEST_HEX_LEN || v[1] != ' ' ||
			    !strchr("rwe", v[0]))
				return sp_error_set(err, SP_EINVALID, "bad lower line");
			if (rt->lower_count >= SPFS_RUNTIME_MAX_LOWERS)
				return sp_error_set(err, SP_EINVALID, "too many lowers");
			if ((rt->lower_count & (rt->lower_count - 1)) == 0 &&
			    (rc = sp_realloc_array((void **)&rt->lowers,
						   rt->lower_count ? rt->lower_count * 2 : 8,
						   sizeof(*rt->lowers), err)))
				return rc;
			spfs_runtime_lower *l = &rt->lowers[rt->lower_count];
			l->kind = (spfs_lower_kind)v[0];
			if (!(rc = sp_digest_from_hex(&l->manifest, v + 2, err)))
				rt->lower_count++;
		}
		/* unknown keys: a newer writer; ignored */
	}
	if (rc)
		return sp_error_prefix(err, "runtime record line %zu", lineno);
	if (!rt->id[0] || !rt->pid)
		return sp_error_set(err, SP_EINVALID, "runtime record lacks id or pid");
	if (!rt->upper != !rt->work)
		return sp_error_set(err, SP_EINVALID, "runtime record has upper without work");
	*out = steal_pointer(&rt);
	return 0;
}

bool spfs_runtime__proc_start(int pid, uint64_t *ticks)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	_cleanup_close_ int fd =
	    openat(AT_FDCWD, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC); /* outside the store */
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	if (!p)
		return false;
	/* fields after the command name start at 3 (state); starttime is 22 */
	p++;
	for (int field = 3; field <= 22; field++) {
		while (*p == ' ')
			p++;
		if (!*p)
			return false;
		if (field == 22) {
			*ticks = strtoull(p, NULL, 10);
			return true;
		}
		if (field == 3 && (*p == 'Z' || *p == 'X'))
			return false; /* a zombie runs nothing */
		while (*p && *p != ' ')
			p++;
	}
	return false;
}

bool spfs_runtime__alive(const spfs_runtime *rt)
{
	uint64_t t;
	return spfs_runtime__proc_start(rt->pid, &t) && t == rt->start_ticks;
}

static int read_durable_stack(spfs_runtime **out, spfs_store *s, const char *name, sp_error *err);

static int read_once(spfs_runtime **out, spfs_store *s, const char *id, sp_error *err);

int spfs_runtime_read(spfs_runtime **out, spfs_store *s, const char *id, sp_error *err)
{
	int rc = read_once(out, s, id, err);
	/* Asked from inside that very runtime right after it started: `spfs
	 * run` writes the record while the command starts, so wait for it
	 * (up to a second) rather than say it does not exist. */
	const char *self = getenv("SPFS_RUNTIME");
	for (int tries = 0; rc == SPFS_ENOTFOUND && self && strcmp(self, id) == 0 && tries < 500;
	     tries++) {
		struct timespec ts = {0, 2000000};
		nanosleep(&ts, NULL);
		sp_error_clear(err);
		rc = read_once(out, s, id, err);
	}
	return rc;
}

static int read_once(spfs_runtime **out, spfs_store *s, const char *id, sp_error *err)
{
	if (!id_valid(id) && spfs_runtime__name_valid(id))
		return read_durable_stack(out, s, id, err);
	if (!id_valid(id))
		return sp_error_set(err, SP_EINVALID,
				    "'%.80s' is not a runtime id (%u hex characters)", id,
				    SPFS_RUNTIME_ID_LEN);
	_cleanup_close_ int rdir = -1;
	int rc = spfs_runtime__dir(&rdir, s, err);
	if (rc)
		return rc;
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	if ((rc = sp_read_file_at(&data, &len, rdir, id, RECORD_MAX, err))) {
		if (rc == SP_ENOTFOUND)
			return sp_error_set(err, SPFS_ENOTFOUND, "no runtime %s", id);
		return sp_error_prefix(err, "runtime %s", id);
	}
	spfs_runtime *rt = NULL;
	if ((rc = spfs_runtime__parse(&rt, data, len, err)))
		return sp_error_prefix(err, "runtime %s", id);
	if (strcmp(rt->id, id) != 0) {
		spfs_runtime_free(rt);
		return sp_error_set(err, SP_EINVALID, "runtime %s: record names %s", id, rt->id);
	}
	rt->live = spfs_runtime__alive(rt);
	*out = rt;
	return 0;
}

static int self_mntns(uint64_t *out, sp_error *err)
{
	struct stat st;
	if (stat("/proc/self/ns/mnt", &st) < 0)
		return sp_error_errno(err, "stat /proc/self/ns/mnt");
	*out = (uint64_t)st.st_ino;
	return 0;
}

int spfs_runtime_current(spfs_runtime **out, spfs_store *s, sp_error *err)
{
	const char *id = getenv("SPFS_RUNTIME");
	if (!id || !*id)
		return sp_error_set(
		    err, SPFS_ENOTFOUND,
		    "not inside a runtime ($SPFS_RUNTIME is not set; use 'spfs run')");
	_cleanup_(spfs_runtime_freep) spfs_runtime *rt = NULL;
	/* `spfs run` writes the record while the command starts: wait a bit */
	int rc = 0;
	for (int tries = 0; tries < 500; tries++) {
		sp_error_clear(err);
		if ((rc = spfs_runtime_read(&rt, s, id, err)) != SPFS_ENOTFOUND)
			break;
		struct timespec ts = {0, 2000000};
		nanosleep(&ts, NULL);
	}
	if (rc)
		return rc;
	uint64_t ns = 0;
	if ((rc = self_mntns(&ns, err)))
		return rc;
	if (ns != rt->mntns)
		return sp_error_set(
		    err, SPFS_ENOTFOUND,
		    "this process is not inside runtime %s (another mount namespace)", id);
	*out = steal_pointer(&rt);
	return 0;
}

static int id_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int spfs_runtime__list_names(char ***out, size_t *count, int dirfd, bool (*keep)(const char *),
			     sp_error *err)
{
	int dup = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	DIR *d = dup >= 0 ? fdopendir(dup) : NULL;
	if (!d) {
		if (dup >= 0)
			close(dup);
		return sp_error_errno(err, "cannot read directory");
	}
	char **names = NULL;
	size_t n = 0;
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!keep(de->d_name))
			continue;
		if ((n & (n - 1)) == 0 &&
		    (rc = sp_realloc_array((void **)&names, n ? n * 2 : 8, sizeof(*names), err)))
			break;
		if (!(names[n] = strdup(de->d_name))) {
			rc = sp_error_set(err, SP_ENOMEM, "out of memory");
			break;
		}
		n++;
	}
	closedir(d);
	if (rc) {
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		free(names);
		return rc;
	}
	if (n)
		qsort(names, n, sizeof(*names), id_cmp);
	*out = names;
	*count = n;
	return 0;
}

void spfs_runtime__free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static bool keep_id(const char *name)
{
	return id_valid(name);
}

static bool keep_durable(const char *name)
{
	return spfs_runtime__name_valid(name);
}

/* A durable runtime's stack file: "layer <hex>" lines. */
static int read_durable_stack(spfs_runtime **out, spfs_store *s, const char *name, sp_error *err)
{
	char rel[SPFS_RUNTIME_NAME_MAX + 40];
	snprintf(rel, sizeof(rel), "runtimes/durable/%s/stack", name);
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	int rc = sp_read_file_at(&data, &len, s->dirfd, rel, RECORD_MAX, err);
	if (rc) {
		if (rc == SP_ENOTFOUND)
			return sp_error_set(err, SPFS_ENOTFOUND, "no durable runtime named '%s'",
					    name);
		return rc;
	}
	_cleanup_(spfs_runtime_freep) spfs_runtime *rt = calloc(1, sizeof(*rt));
	if (!rt || !(rt->durable = strdup(name)))
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	rt->editable = true;
	char *p = data;
	while (*p) {
		char *nl = strchr(p, '\n');
		if (!nl || nl - p != 6 + SP_DIGEST_HEX_LEN || strncmp(p, "layer ", 6) != 0)
			return sp_error_set(err, SP_EINVALID, "%s: malformed", rel);
		*nl = '\0';
		if ((rc = push_digest(&rt->layers, &rt->layer_count, p + 6, err)))
			return sp_error_prefix(err, "%s", rel);
		p = nl + 1;
	}
	*out = steal_pointer(&rt);
	return 0;
}

/* True when a live record among ids uses durable runtime `name`. */
static bool durable_in_use(spfs_store *s, char **ids, size_t n, const char *name, char *who)
{
	bool used = false;
	for (size_t i = 0; i < n && !used; i++) {
		spfs_runtime *rt = NULL;
		sp_error e2 = {0};
		if (spfs_runtime_read(&rt, s, ids[i], &e2))
			continue;
		if (rt->live && rt->durable && strcmp(rt->durable, name) == 0) {
			used = true;
			if (who)
				memcpy(who, rt->id, SPFS_RUNTIME_ID_LEN + 1);
		}
		spfs_runtime_free(rt);
	}
	return used;
}

int spfs_runtime_list(spfs_store *s, spfs_runtime_cb cb, void *ud, sp_error *err)
{
	_cleanup_close_ int rdir = -1;
	int rc = spfs_runtime__dir(&rdir, s, err);
	if (rc)
		return rc;
	char **ids = NULL;
	size_t n = 0;
	if ((rc = spfs_runtime__list_names(&ids, &n, rdir, keep_id, err)))
		return sp_error_prefix(err, "cannot list runtimes");
	for (size_t i = 0; i < n && !rc; i++) {
		spfs_runtime *rt = NULL;
		sp_error e2 = {0};
		if (spfs_runtime_read(&rt, s, ids[i], &e2))
			continue; /* being created or removed */
		rc = cb(rt, ud);
		spfs_runtime_free(rt);
	}
	/* durable runtimes that no live record stands for */
	_cleanup_close_ int ddir = -1;
	char **names = NULL;
	size_t nd = 0;
	if (!rc) {
		ddir = openat(rdir, "durable", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (ddir >= 0)
			rc = spfs_runtime__list_names(&names, &nd, ddir, keep_durable, err);
	}
	for (size_t i = 0; i < nd && !rc; i++) {
		if (durable_in_use(s, ids, n, names[i], NULL))
			continue;
		spfs_runtime *rt = NULL;
		sp_error e2 = {0};
		if (read_durable_stack(&rt, s, names[i], &e2))
			continue;
		rc = cb(rt, ud);
		spfs_runtime_free(rt);
	}
	spfs_runtime__free_names(names, nd);
	spfs_runtime__free_names(ids, n);
	return rc;
}

int spfs_runtime_remove(spfs_store *s, const char *id, sp_error *err)
{
	_cleanup_close_ int rdir = -1;
	int rc = spfs_runtime__dir(&rdir, s, err);
	if (rc)
		return rc;
	if (id_valid(id)) {
		_cleanup_(spfs_runtime_freep) spfs_runtime *rt = NULL;
		if ((rc = spfs_runtime_read(&rt, s, id, err)) && rc != SP_EINVALID)
			return rc;
		if (rt && rt->live)
			return sp_error_set(err, SP_EINVALID,
					    "runtime %s is live (pid %d); stop its command first",
					    id, rt->pid);
		if ((rc = spfs_runtime__remove_files(rdir, id, err)))
			return sp_error_prefix(err, "cannot remove runtime %s", id);
		return 0;
	}
	if (!spfs_runtime__name_valid(id))
		return sp_error_set(err, SP_EINVALID,
				    "'%.80s' is neither a runtime id nor a durable name", id);
	/* A durable runtime: refuse while a live record uses it. */
	char **ids = NULL;
	size_t n = 0;
	if ((rc = spfs_runtime__list_names(&ids, &n, rdir, keep_id, err)))
		return rc;
	char who[SPFS_RUNTIME_ID_LEN + 1] = "";
	bool used = durable_in_use(s, ids, n, id, who);
	spfs_runtime__free_names(ids, n);
	if (used)
		return sp_error_set(err, SP_EINVALID,
				    "durable runtime '%s' is in use by runtime %s", id, who);
	_cleanup_close_ int ddir =
	    openat(rdir, "durable", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (ddir < 0 || fstatat(ddir, id, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return sp_error_set(err, SPFS_ENOTFOUND, "no runtime or durable runtime '%s'", id);
	if ((rc = sp_rm_rf_at(ddir, id, err)))
		return sp_error_prefix(err, "cannot remove durable runtime '%s'", id);
	return 0;
}

int spfs_runtime__remove_files(int rdir, const char *id, sp_error *err)
{
	char scratch[SPFS_RUNTIME_ID_LEN + 16];
	snprintf(scratch, sizeof(scratch), "%s.scratch", id);
	int rc = sp_rm_rf_at(rdir, scratch, err);
	if (!rc && unlinkat(rdir, id, 0) < 0 && errno != ENOENT)
		rc = sp_error_errno(err, "cannot remove runtimes/%s", id);
	return rc;
}

/* Leftovers of a setup that died: scratch dirs without a record, temps. */
static bool keep_leftover(const char *name)
{
	size_t n = strlen(name);
	return (n == SPFS_RUNTIME_ID_LEN + 8 &&
		strcmp(name + SPFS_RUNTIME_ID_LEN, ".scratch") == 0) ||
	       strncmp(name, ".tmp-", 5) == 0;
}

int spfs_runtime_prune(spfs_store *s, spfs_runtime_cb cb, void *ud, size_t *removed, sp_error *err)
{
	_cleanup_close_ int rdir = -1;
	int rc = spfs_runtime__dir(&rdir, s, err);
	if (rc)
		return rc;
	char **ids = NULL;
	size_t n = 0, count = 0;
	if ((rc = spfs_runtime__list_names(&ids, &n, rdir, keep_id, err)))
		return rc;
	for (size_t i = 0; i < n && !rc; i++) {
		spfs_runtime *rt = NULL;
		sp_error e2 = {0};
		int r = spfs_runtime_read(&rt, s, ids[i], &e2);
		if (r == SPFS_ENOTFOUND || (r == 0 && rt->live)) {
			spfs_runtime_free(rt);
			continue;
		}
		if (r == 0 && cb)
			cb(rt, ud);
		spfs_runtime_free(rt);
		if ((rc = spfs_runtime__remove_files(rdir, ids[i], err)))
			rc = sp_error_prefix(err, "cannot remove runtime %s", ids[i]);
		else
			count++;
	}
	spfs_runtime__free_names(ids, n);
	if (rc)
		return rc;
	char **left = NULL;
	size_t nl = 0;
	if ((rc = spfs_runtime__list_names(&left, &nl, rdir, keep_leftover, err)))
		return rc;
	for (size_t i = 0; i < nl && !rc; i++) {
		struct stat st;
		char id[SPFS_RUNTIME_ID_LEN + 1];
		snprintf(id, sizeof(id), "%s", left[i]);
		if (fstatat(rdir, left[i], &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    time(NULL) - st.st_mtime < 60)
			continue; /* being set up right now */
		if (left[i][0] != '.' && fstatat(rdir, id, &st, AT_SYMLINK_NOFOLLOW) == 0)
			continue; /* its record exists */
		rc = sp_rm_rf_at(rdir, left[i], err);
	}
	spfs_runtime__free_names(left, nl);
	if (removed)
		*removed = count;
	return rc;
}

static int mark_one(spfs_store *s, spfs_dset *set, const spfs_runtime *rt, sp_error *err)
{
	int rc = 0;
	for (size_t i = 0; i < rt->layer_count && !rc; i++)
		rc = spfs_store__mark(s, set, &rt->layers[i], NULL, NULL, NULL, err);
	for (size_t i = 0; i < rt->lower_count && !rc; i++)
		if (rt->lowers[i].kind == SPFS_LOWER_RENDER)
			rc = spfs_store__mark(s, set, &rt->lowers[i].manifest, NULL, NULL, NULL,
					      err);
	return rc;
}

typedef struct mark_ctx {
	spfs_store *s;
	spfs_dset *set;
	sp_error *err;
} mark_ctx;

static int mark_cb(const spfs_runtime *rt, void *ud)
{
	mark_ctx *m = ud;
	/* live runtimes, and durable ones whether running or not */
	if (!rt->live && !rt->durable)
		return 0;
	return mark_one(m->s, m->set, rt, m->err);
}

int spfs_runtime__mark_live(spfs_store *s, spfs_dset *set, sp_error *err)
{
	struct stat st;
	if (fstatat(s->dirfd, "runtimes", &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0; /* no runtime ever ran */
	mark_ctx m = {s, set, err};
	int rc = spfs_runtime_list(s, mark_cb, &m, err);
	return rc ? sp_error_prefix(err, "cannot mark the layers of live runtimes") : 0;
}

int spfs_runtime__tmpfs_size(char **out, sp_error *err)
{
	const char *env = getenv("SPFS_RUNTIME_TMPFS_SIZE");
	char *v = NULL;
	if (env && *env) {
		v = strdup(env);
	} else {
		int rc = sp_config_get(&v, "spfs.runtime.tmpfs_size", err);
		if (rc)
			return rc;
		if (!v)
			v = strdup(SPFS_RUNTIME_DEFAULT_TMPFS);
	}
	if (!v)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	*out = v;
	return 0;
}

void spfs_runtime__free_paths(char **paths, size_t n)
{
	if (!paths)
		return;
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}

int spfs_runtime__plan(spfs_mount_plan *p, char ***paths_out, spfs_store *s, const spfs_runtime *rt,
		       sp_error *err)
{
	memset(p, 0, sizeof(*p));
	char **paths = NULL;
	int rc =
	    sp_calloc((void **)&paths, rt->lower_count ? rt->lower_count : 1, sizeof(*paths), err);
	for (size_t i = 0; i < rt->lower_count && !rc; i++)
		rc = spfs_runtime__lower_path(&paths[i], s, &rt->lowers[i], err);
	if (rc) {
		spfs_runtime__free_paths(paths, rt->lower_count);
		return rc;
	}
	p->lowers = (const char **)paths;
	p->lower_count = rt->lower_count;
	p->upper = rt->upper;
	p->work = rt->work;
	p->scratch = rt->scratch;
	p->target = SPFS_RUNTIME_MOUNTPOINT;
	*paths_out = paths;
	return 0;
}
