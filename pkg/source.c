/* source.c - source packages: a recipe's `sources` collected into one
 * layer, published as NAME/VERSION/src (see pkg.h, docs/packages.md).
 *
 * Order of make-source: collect every source into a private staging
 * directory (STAGE/root/spk/pkg/NAME/VERSION/src, as SPK lays source
 * packages out under /spfs), checking each one as it lands (paths stay
 * beneath the spec's directory, tar members are checked before anything is
 * extracted, no symbolic link may point outside the sources); commit the
 * staging root as a layer (objects only, no tag); then, when asked to
 * publish: the layer tag spk/pkg/NAME/VERSION/src/src, the spec tag
 * spk/spec/NAME/VERSION/src, the recipe when missing, the index. Any error
 * before the first tag publishes nothing; the staging directory is always
 * removed. */
#include "pkg/pkg.h"
#include "pkg/source.h"
#include "pkg/yamltree.h"
#include "pkg/archive_dl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* repo.c and repo_build.c, module-internal */
int pkg_repo__doc_text(sp_buf *out, const char *text, size_t len, const char *file, size_t doc,
		       sp_error *err);
int pkg_repo__put_spec(pkg_repo *r, const char *tag, const char *text, size_t len, sp_error *err);

enum {
	MAX_DEPTH = 256,	   /* directory nesting in the sources */
	MAX_FILES = 1000000,	   /* entries collected */
	MAX_IGNORE = 1 << 20,	   /* bytes of one ignore file */
	MAX_TAR_MEMBERS = 1000000, /* members of one tar file */
};
#define MAX_TAR_BYTES ((int64_t)64 << 30)

/* ------------------------------------------------------- path checks */

int pkg__source_check_path(const char *path, char *why, size_t nwhy)
{
	size_t n = strlen(path);
	if (n == 0) {
		snprintf(why, nwhy, "empty path");
		return -1;
	}
	if (n > PKG__SRC_MAX_PATH) {
		snprintf(why, nwhy, "longer than %d bytes", PKG__SRC_MAX_PATH);
		return -1;
	}
	if (path[0] == '/') {
		snprintf(why, nwhy, "absolute path");
		return -1;
	}
	for (const char *p = path; *p;) {
		const char *e = strchr(p, '/');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == 2 && p[0] == '.' && p[1] == '.') {
			snprintf(why, nwhy, "'..' leaves the source directory");
			return -1;
		}
		p += l;
		while (*p == '/')
			p++;
	}
	return 0;
}

int pkg__source_check_symlink(const char *path, const char *target, char *why, size_t nwhy)
{
	if (!target[0]) {
		snprintf(why, nwhy, "empty link target");
		return -1;
	}
	if (target[0] == '/') {
		snprintf(why, nwhy, "points outside the sources (absolute target '%.200s')",
			 target);
		return -1;
	}
	if (strlen(path) > PKG__SRC_MAX_PATH || strlen(target) > PKG__SRC_MAX_PATH) {
		snprintf(why, nwhy, "longer than %d bytes", PKG__SRC_MAX_PATH);
		return -1;
	}
	/* depth of the link's directory below the root */
	long depth = 0;
	for (const char *p = path; *p;) {
		const char *e = strchr(p, '/');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		bool last = !e || !e[strspn(e, "/")];
		if (!last && l && !(l == 1 && p[0] == '.'))
			depth += l == 2 && p[0] == '.' && p[1] == '.' ? -1 : 1;
		if (depth < 0) {
			snprintf(why, nwhy, "'..' leaves the source directory");
			return -1;
		}
		p += l;
		while (*p == '/')
			p++;
	}
	for (const char *p = target; *p;) {
		const char *e = strchr(p, '/');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == 2 && p[0] == '.' && p[1] == '.')
			depth--;
		else if (l && !(l == 1 && p[0] == '.'))
			depth++;
		if (depth < 0) {
			snprintf(why, nwhy, "points outside the sources (target '%.200s')", target);
			return -1;
		}
		p += l;
		while (*p == '/')
			p++;
	}
	return 0;
}

/* --------------------------------------------------------- matching */

/* p is at '['; the end of the bracket expression (after its ']') before
 * pe, or NULL when it has none (then '[' is a literal). */
static const char *class_end(const char *p, const char *pe)
{
	const char *q = p + 1;
	if (q < pe && (*q == '!' || *q == '^'))
		q++;
	if (q < pe && *q == ']')
		q++; /* a leading ']' is a member */
	while (q < pe && *q != ']') {
		if (*q == '\\' && q + 1 < pe)
			q++;
		q++;
	}
	return q < pe ? q + 1 : NULL;
}

static bool class_has(const char *p, const char *end, unsigned char c)
{
	const char *q = p + 1, *last = end - 1;
	bool neg = *q == '!' || *q == '^';
	if (neg)
		q++;
	bool hit = false;
	while (q < last) {
		unsigned char lo = (unsigned char)*q, hi;
		if (lo == '\\' && q + 1 < last)
			lo = (unsigned char)*++q;
		q++;
		hi = lo;
		if (q + 1 < last && *q == '-') {
			q++;
			hi = (unsigned char)*q;
			if (hi == '\\' && q + 1 < last)
				hi = (unsigned char)*++q;
			q++;
		}
		if (c >= lo && c <= hi)
			hit = true;
	}
	return hit != neg;
}

/* One path component [s, se) against one pattern component [p, pe):
 * '*', '?', '[...]', '\' escapes. Greedy with one backtrack point, so
 * O(len(p) * len(s)) whatever the pattern. */
static bool seg_match(const char *p, const char *pe, const char *s, const char *se)
{
	const char *star_p = NULL, *star_s = NULL;
	while (s < se) {
		if (p < pe && *p == '*') {
			while (p < pe && *p == '*')
				p++;
			star_p = p;
			star_s = s;
			continue;
		}
		const char *np = NULL;
		bool ok = false;
		if (p < pe) {
			if (*p == '?') {
				ok = true;
				np = p + 1;
			} else if (*p == '[' && (np = class_end(p, pe))) {
				ok = class_has(p, np, (unsigned char)*s);
			} else {
				const char *q = p;
				if (*q == '\\' && q + 1 < pe)
					q++;
				ok = *q == *s;
				np = q + 1;
			}
		}
		if (ok) {
			p = np;
			s++;
			continue;
		}
		if (!star_p)
			return false;
		p = star_p;
		s = ++star_s;
	}
	while (p < pe && *p == '*')
		p++;
	return p == pe;
}

typedef struct seg {
	const char *s, *e;
} seg;

static size_t split(seg *out, size_t max, const char *s)
{
	size_t n = 0;
	while (*s) {
		const char *e = s + strcspn(s, "/");
		if (e > s) {
			if (n == max)
				return max + 1;
			out[n++] = (seg){s, e};
		}
		s = *e ? e + 1 : e;
	}
	return n;
}

static bool is_stars(const seg *g)
{
	return g->e - g->s == 2 && g->s[0] == '*' && g->s[1] == '*';
}

/* The components of a pattern against those of a path; a "**" component
 * matches any number of path components. The same greedy scheme as
 * seg_match, one level up. */
static bool path_match(const char *pattern, const char *path)
{
	seg ps[512], ss[2048];
	size_t np = split(ps, 512, pattern), ns = split(ss, 2048, path);
	if (np > 512 || ns > 2048)
		return false;
	size_t pi = 0, si = 0, star = (size_t)-1, mark = 0;
	while (si < ns) {
		if (pi < np && is_stars(&ps[pi])) {
			star = ++pi;
			mark = si;
			continue;
		}
		if (pi < np && seg_match(ps[pi].s, ps[pi].e, ss[si].s, ss[si].e)) {
			pi++;
			si++;
			continue;
		}
		if (star == (size_t)-1)
			return false;
		pi = star;
		si = ++mark;
	}
	while (pi < np && is_stars(&ps[pi]))
		pi++;
	return pi == np;
}

bool pkg__source_match(const char *pattern, const char *path, bool is_dir)
{
	char p[1024];
	size_t n = strlen(pattern);
	if (n == 0 || n >= sizeof(p) || strlen(path) > PKG__SRC_MAX_PATH)
		return false;
	memcpy(p, pattern, n + 1);
	bool dir_only = false;
	while (n && p[n - 1] == '/') {
		p[--n] = '\0';
		dir_only = true;
	}
	if (!n || (dir_only && !is_dir))
		return false;
	const char *pat = p;
	bool anchored = strchr(p, '/') != NULL;
	while (*pat == '/')
		pat++;
	if (!*pat)
		return false;
	if (anchored)
		return path_match(pat, path);
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	return seg_match(pat, pat + strlen(pat), base, base + strlen(base));
}

/* ---------------------------------------------------- path sources */

/* The ignore files (filter rule ":- NAME") of the directories from the
 * path source's root down to the one being copied. */
typedef struct ignore_file {
	char *dir; /* relative to the path source's root, "" for the root */
	const char *name;
	char *text; /* patterns, NUL-separated lines */
	size_t len;
} ignore_file;

typedef struct copy_ctx {
	const pkg_source_decl *sd;
	const char *base;    /* the target's path below the source root ("" or subdir) */
	struct stat skip[2]; /* never copied: the SpFS store, the staging directory */
	ignore_file stack[MAX_DEPTH * 2];
	size_t nstack;
	size_t files;
} copy_ctx;

static const char *const default_exclude[] = {".git/", ".svn/"};
static const char *const default_filter[] = {":- .gitignore"};

static size_t n_exclude(const copy_ctx *c)
{
	return c->sd->nexclude == (size_t)-1 ? 2 : c->sd->nexclude;
}
static const char *exclude_at(const copy_ctx *c, size_t i)
{
	return c->sd->nexclude == (size_t)-1 ? default_exclude[i] : c->sd->exclude[i];
}
static size_t n_filter(const copy_ctx *c)
{
	return c->sd->nfilter == (size_t)-1 ? 1 : c->sd->nfilter;
}
static const char *filter_at(const copy_ctx *c, size_t i)
{
	return c->sd->nfilter == (size_t)-1 ? default_filter[i] : c->sd->filter[i];
}

/* Whether rel (relative to the path source's root) is left out: the filter
 * rules in order (first decision wins; an ignore file decides as git does,
 * the last matching line of the deepest file that matches), then the
 * exclude patterns. */
static bool excluded(const copy_ctx *c, const char *rel, bool is_dir)
{
	for (size_t f = 0; f < n_filter(c); f++) {
		const char *rule = filter_at(c, f);
		if (rule[0] == '+' || rule[0] == '-') {
			if (pkg__source_match(rule + 2, rel, is_dir))
				return rule[0] == '-';
			continue;
		}
		int verdict = 0; /* 0 none, 1 excluded, -1 included again */
		for (size_t k = 0; k < c->nstack; k++) {
			const ignore_file *ig = &c->stack[k];
			if (strcmp(ig->name, rule + 3))
				continue;
			size_t dl = strlen(ig->dir);
			const char *sub = dl ? rel + dl + 1 : rel;
			for (const char *line = ig->text; line < ig->text + ig->len;
			     line += strlen(line) + 1) {
				const char *pat = line;
				bool neg = *pat == '!';
				if (neg)
					pat++;
				if (!*pat || *line == '#')
					continue;
				if (pkg__source_match(pat, sub, is_dir))
					verdict = neg ? -1 : 1;
			}
		}
		if (verdict)
			return verdict > 0;
	}
	for (size_t i = 0; i < n_exclude(c); i++)
		if (pkg__source_match(exclude_at(c, i), rel, is_dir))
			return true;
	return false;
}

/* Loads the ignore files named by the filter rules from directory fd. */
static int push_ignores(copy_ctx *c, int fd, const char *rel, size_t *pushed, sp_error *err)
{
	*pushed = 0;
	for (size_t f = 0; f < n_filter(c); f++) {
		const char *rule = filter_at(c, f);
		if (rule[0] != ':')
			continue;
		char *text = NULL;
		size_t len = 0;
		int rc = sp_read_file_at(&text, &len, fd, rule + 3, MAX_IGNORE, err);
		if (rc == SP_ENOTFOUND) {
			sp_error_clear(err);
			continue;
		}
		if (rc)
			return sp_error_prefix(err, "%s%s%s", rel, *rel ? "/" : "", rule + 3);
		if (c->nstack == sizeof(c->stack) / sizeof(c->stack[0])) {
			free(text);
			return sp_error_set(err, SP_EINVALID, "%s: too many ignore files", rel);
		}
		/* one pattern per line, trailing spaces and CR dropped */
		for (size_t i = 0; i < len; i++)
			if (text[i] == '\n' || text[i] == '\0')
				text[i] = '\0';
		for (size_t i = len; i-- > 0;)
			if ((text[i] == ' ' || text[i] == '\r') && (i + 1 == len || !text[i + 1]))
				text[i] = '\0';
		char *dir = strdup(rel);
		if (!dir) {
			free(text);
			return sp_error_set(err, SP_ENOMEM, "out of memory");
		}
		c->stack[c->nstack++] = (ignore_file){dir, rule + 3, text, len};
		(*pushed)++;
	}
	return 0;
}

static void pop_ignores(copy_ctx *c, size_t n)
{
	while (n-- > 0) {
		c->nstack--;
		free(c->stack[c->nstack].dir);
		free(c->stack[c->nstack].text);
	}
}

static int copy_file(int sfd, const char *name, int dfd, mode_t mode, sp_error *err)
{
	_cleanup_close_ int in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return sp_error_errno(err, "open %s", name);
	(void)unlinkat(dfd, name, 0); /* an earlier source's file of that name */
	_cleanup_close_ int out =
	    sp_sys_openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			  mode & 0111 ? 0755 : 0644);
	if (out < 0)
		return sp_error_errno(err, "create %s", name);
	char buf[65536];
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return sp_error_errno(err, "read %s", name);
		if (n == 0)
			return 0;
		int rc = sp_write_all(out, buf, (size_t)n, err);
		if (rc)
			return sp_error_prefix(err, "write %s", name);
	}
}

static int join(char *out, size_t n, const char *a, const char *b, sp_error *err)
{
	int l = snprintf(out, n, "%s%s%s", a, *a ? "/" : "", b);
	if (l < 0 || (size_t)l >= n)
		return sp_error_set(err, SP_EINVALID, "%s/%s: path too long", a, b);
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Copies directory sfd (at rel below the path source's root) into dfd. */
static int copy_tree(copy_ctx *c, int sfd, int dfd, const char *rel, int depth, sp_error *err)
{
	if (depth > MAX_DEPTH)
		return sp_error_set(err, SP_EINVALID, "%s: nested deeper than %d directories", rel,
				    MAX_DEPTH);
	size_t pushed = 0;
	int rc = push_ignores(c, sfd, rel, &pushed, err);
	if (rc) {
		pop_ignores(c, pushed);
		return rc;
	}
	int dupfd = fcntl(sfd, F_DUPFD_CLOEXEC, 0);
	DIR *d = dupfd < 0 ? NULL : fdopendir(dupfd);
	if (!d) {
		if (dupfd >= 0)
			close(dupfd);
		pop_ignores(c, pushed);
		return sp_error_errno(err, "opendir %s", *rel ? rel : ".");
	}
	/* names first, sorted: the copy does not depend on readdir order */
	char **names = NULL;
	size_t nn = 0, cap = 0;
	struct dirent *de;
	errno = 0;
	while (!rc && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (nn == cap) {
			cap = cap ? cap * 2 : 64;
			rc = sp_realloc_array((void **)&names, cap, sizeof(*names), err);
		}
		if (!rc && !(names[nn++] = strdup(de->d_name)))
			rc = sp_error_set(err, SP_ENOMEM, "out of memory");
	}
	closedir(d);
	if (!rc)
		qsort(names, nn, sizeof(*names), name_cmp);
	for (size_t i = 0; !rc && i < nn; i++) {
		const char *name = names[i];
		char sub[PKG__SRC_MAX_PATH + 1];
		if ((rc = join(sub, sizeof(sub), rel, name, err)))
			break;
		struct stat st;
		if (fstatat(sfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = sp_error_errno(err, "stat %s", sub);
			break;
		}
		if (excluded(c, sub, S_ISDIR(st.st_mode)))
			continue;
		bool skip = false;
		for (size_t k = 0; k < 2 && S_ISDIR(st.st_mode); k++)
			skip = skip ||
			       (st.st_dev == c->skip[k].st_dev && st.st_ino == c->skip[k].st_ino);
		if (skip) {
			sp_info("source %s: leaving out %s (the SpFS store or the staging "
				"directory)",
				c->sd->value, sub);
			continue;
		}
		if (++c->files > MAX_FILES) {
			rc = sp_error_set(err, SP_EINVALID, "more than %d entries", MAX_FILES);
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			if (sp_sys_mkdirat(dfd, name, 0755) < 0 && errno != EEXIST) {
				rc = sp_error_errno(err, "mkdir %s", sub);
				break;
			}
			_cleanup_close_ int s2 = -1, d2 = -1;
			if ((rc = sp_open_dir_at(&s2, sfd, name, err)) ||
			    (rc = sp_open_dir_at(&d2, dfd, name, err)))
				break;
			rc = copy_tree(c, s2, d2, sub, depth + 1, err);
		} else if (S_ISREG(st.st_mode)) {
			rc = copy_file(sfd, name, dfd, st.st_mode, err);
		} else if (S_ISLNK(st.st_mode)) {
			char target[PKG__SRC_MAX_PATH + 1], full[PKG__SRC_MAX_PATH + 1], why[300];
			ssize_t l = readlinkat(sfd, name, target, sizeof(target) - 1);
			if (l < 0) {
				rc = sp_error_errno(err, "readlink %s", sub);
				break;
			}
			target[l] = '\0';
			if ((rc = join(full, sizeof(full), c->base, sub, err)))
				break;
			if (pkg__source_check_symlink(full, target, why, sizeof(why))) {
				rc =
				    sp_error_set(err, SP_EINVALID, "symbolic link %s %s", sub, why);
				break;
			}
			(void)unlinkat(dfd, name, 0);
			if (symlinkat(target, dfd, name) < 0)
				rc = sp_error_errno(err, "symlink %s", sub);
		} else {
			sp_warn("source %s: skipping %s (not a file, directory or symbolic link)",
				c->sd->value, sub);
			c->files--;
		}
	}
	for (size_t i = 0; i < nn; i++)
		free(names[i]);
	free(names);
	pop_ignores(c, pushed);
	return rc;
}

/* Opens `path` beneath the spec's directory: `..` or a symbolic link that
 * leaves it is refused. */
static int open_beneath(int *out, int specfd, const char *specdir, const char *path, sp_error *err)
{
	if (path[0] == '/') {
		/* named by the recipe's author as SPK allows: taken as it is
		 * (links inside what it holds are still checked, check_tree) */
		int afd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (afd < 0)
			return sp_error_errno(err, "'%s'", path);
		*out = afd;
		return 0;
	}
	struct open_how how = {
	    .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, specfd, path, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS) {
		/* no openat2: resolve, then check the result is below */
		char full[8192], real[PATH_MAX];
		snprintf(full, sizeof(full), "%s/%s", specdir, path);
		if (!realpath(full, real))
			return sp_error_errno(err, "'%s'", path);
		size_t dl = strlen(specdir);
		if (strncmp(real, specdir, dl) || (real[dl] && real[dl] != '/'))
			errno = EXDEV;
		else
			fd = open(real, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	}
	if (fd < 0 && (errno == EXDEV || errno == ELOOP))
		return sp_error_set(err, SP_EINVALID,
				    "'%s' leaves the spec's directory %s (through '..' or a "
				    "symbolic link)",
				    path, specdir);
	if (fd < 0)
		return sp_error_errno(err, "'%s' (in %s)", path, specdir);
	*out = fd;
	return 0;
}

static int collect_path(const pkg_source_decl *sd, int specfd, const char *specdir, int dfd,
			const char *base, const struct stat skip[2], size_t *files, sp_error *err)
{
	_cleanup_close_ int fd = -1;
	int rc = open_beneath(&fd, specfd, specdir, sd->value, err);
	if (rc)
		return rc;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return sp_error_errno(err, "stat %s", sd->value);
	if (S_ISREG(st.st_mode)) {
		/* one file: into the target's root under its own name */
		const char *name = strrchr(sd->value, '/');
		name = name ? name + 1 : sd->value;
		(*files)++;
		(void)unlinkat(dfd, name, 0);
		_cleanup_close_ int out =
		    sp_sys_openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				  st.st_mode & 0111 ? 0755 : 0644);
		if (out < 0)
			return sp_error_errno(err, "create %s", name);
		char buf[65536];
		for (;;) {
			ssize_t n = read(fd, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return sp_error_errno(err, "read %s", sd->value);
			if (n == 0)
				return 0;
			if ((rc = sp_write_all(out, buf, (size_t)n, err)))
				return rc;
		}
	}
	if (!S_ISDIR(st.st_mode))
		return sp_error_set(err, SP_EINVALID, "'%s' is not a file or a directory",
				    sd->value);
	_cleanup_free_ copy_ctx *c = calloc(1, sizeof(*c));
	if (!c)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	c->sd = sd;
	c->base = base;
	c->skip[0] = skip[0];
	c->skip[1] = skip[1];
	rc = copy_tree(c, fd, dfd, "", 0, err);
	*files += c->files;
	return rc;
}

/* -------------------------------------------------------- tar sources */

static bool is_url(const char *s)
{
	const char *c = strstr(s, "://");
	if (!c || c == s)
		return false;
	for (const char *p = s; p < c; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '+'))
			return false;
	return true;
}

static void archive_freep(struct archive **a)
{
	if (*a)
		archive_read_free(*a);
}

static int tar_open(struct archive **out, int fd, const char *what, sp_error *err)
{
	if (lseek(fd, 0, SEEK_SET) < 0)
		return sp_error_errno(err, "%s", what);
	int lrc = pkg__archive_load(err);
	if (lrc)
		return lrc;
	struct archive *a = archive_read_new();
	if (!a)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	if (archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK) {
		int rc = sp_error_set(err, SP_EINVALID, "%s: %s", what, archive_error_string(a));
		archive_read_free(a);
		return rc;
	}
	*out = a;
	return 0;
}

/* Checks one member of a tar file: its name, its kind, its link target. */
static int tar_check_member(struct archive_entry *e, const char *base, sp_error *err)
{
	const char *name = archive_entry_pathname(e);
	char why[300], full[PKG__SRC_MAX_PATH + 2];
	if (!name)
		return sp_error_set(err, SP_EINVALID, "a member has no name");
	if (pkg__source_check_path(name, why, sizeof(why)))
		return sp_error_set(err, SP_EINVALID, "member '%.300s': %s", name, why);
	const char *hard = archive_entry_hardlink(e);
	if (hard && pkg__source_check_path(hard, why, sizeof(why)))
		return sp_error_set(err, SP_EINVALID,
				    "member '%.300s' is a hard link to '%.300s': %s", name, hard,
				    why);
	mode_t type = archive_entry_filetype(e);
	if (hard)
		return 0;
	if (type == AE_IFLNK) {
		const char *target = archive_entry_symlink(e);
		snprintf(full, sizeof(full), "%s%s%s", base, *base ? "/" : "", name);
		if (!target || pkg__source_check_symlink(full, target, why, sizeof(why)))
			return sp_error_set(err, SP_EINVALID,
					    "member '%.300s' is a symbolic link that %s", name,
					    target ? why : "has no target");
		return 0;
	}
	if (type != AE_IFREG && type != AE_IFDIR)
		return sp_error_set(err, SP_EINVALID,
				    "member '%.300s' is not a file, directory or link (a device, "
				    "fifo or socket)",
				    name);
	return 0;
}

static int collect_tar(const pkg_source_decl *sd, int specfd, const char *dest, const char *base,
		       size_t *files, sp_error *err)
{
	_cleanup_close_ int fd = -1;
	int rc;
	if (sp_http_is_url(sd->value)) {
		if ((rc = pkg__source_fetch_tar(&fd, sd, err)))
			return rc;
	} else if (is_url(sd->value)) {
		/* the caller prefixes "tar source 'URL'" */
		return sp_error_set(err, SP_EINVALID,
				    "only http:// and https:// URLs are downloaded; name a local "
				    "file by its path");
	} else {
		fd = openat(specfd, sd->value, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			return sp_error_errno(err, "'%s'", sd->value);
		if (sd->sha256 && (rc = pkg__source_verify_fd(fd, sd->value, sd->sha256, err)))
			return rc;
	}
	/* pass 1: every member checked before anything is written */
	__attribute__((cleanup(archive_freep))) struct archive *a = NULL;
	rc = tar_open(&a, fd, sd->value, err);
	if (rc)
		return rc;
	struct archive_entry *e;
	size_t members = 0;
	int64_t bytes = 0;
	int r;
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		if (++members > MAX_TAR_MEMBERS)
			return sp_error_set(err, SP_EINVALID, "more than %d members",
					    MAX_TAR_MEMBERS);
		if ((rc = tar_check_member(e, base, err)))
			return rc;
		if (archive_entry_size_is_set(e) &&
		    (bytes += archive_entry_size(e)) > MAX_TAR_BYTES)
			return sp_error_set(err, SP_EINVALID, "more than %lld bytes",
					    (long long)MAX_TAR_BYTES);
		if (archive_read_data_skip(a) != ARCHIVE_OK)
			return sp_error_set(err, SP_EINVALID, "%s", archive_error_string(a));
	}
	if (r != ARCHIVE_EOF)
		return sp_error_set(err, SP_EINVALID, "%s", archive_error_string(a));
	archive_read_free(a);
	a = NULL;
	/* pass 2: extract below dest, libarchive's own checks on top */
	if ((rc = tar_open(&a, fd, sd->value, err)))
		return rc;
	struct archive *w = archive_write_disk_new();
	if (!w)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	archive_write_disk_set_options(w, ARCHIVE_EXTRACT_SECURE_SYMLINKS |
					      ARCHIVE_EXTRACT_SECURE_NODOTDOT |
					      ARCHIVE_EXTRACT_UNLINK);
	char path[PKG__SRC_MAX_PATH * 2 + 2];
	while (!rc && ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN)) {
		/* the same checks again: the file may have changed since */
		if ((rc = tar_check_member(e, base, err)))
			break;
		snprintf(path, sizeof(path), "%s/%s", dest, archive_entry_pathname(e));
		archive_entry_set_pathname(e, path);
		const char *hard = archive_entry_hardlink(e);
		if (hard) {
			snprintf(path, sizeof(path), "%s/%s", dest, hard);
			archive_entry_set_hardlink(e, path);
		}
		archive_entry_set_perm(e, archive_entry_perm(e) & 0777);
		if (archive_write_header(w, e) != ARCHIVE_OK) {
			rc = sp_error_set(err, SP_EINVALID, "%s", archive_error_string(w));
			break;
		}
		(*files)++;
		const void *buf;
		size_t size;
		int64_t off;
		while ((r = archive_read_data_block(a, &buf, &size, &off)) == ARCHIVE_OK)
			if (archive_write_data_block(w, buf, size, off) != ARCHIVE_OK) {
				rc = sp_error_set(err, SP_EIO, "%s", archive_error_string(w));
				break;
			}
		if (!rc && r != ARCHIVE_EOF)
			rc = sp_error_set(err, SP_EINVALID, "%s", archive_error_string(a));
		if (!rc && archive_write_finish_entry(w) != ARCHIVE_OK)
			rc = sp_error_set(err, SP_EIO, "%s", archive_error_string(w));
	}
	if (!rc && r != ARCHIVE_EOF)
		rc = sp_error_set(err, SP_EINVALID, "%s", archive_error_string(a));
	if (archive_write_close(w) != ARCHIVE_OK && !rc)
		rc = sp_error_set(err, SP_EIO, "%s", archive_error_string(w));
	archive_write_free(w);
	return rc;
}

/* ------------------------------------------------ git and script sources */

/* Runs argv in cwd with extra environment variables (NAME=VALUE), its
 * output on our stderr; a non-zero exit is an error naming `what`. The
 * child is confined: nothing but the staging directory `stage` is
 * writable to it (its TMPDIR is STAGE/tmp). */
static int run(char *const *argv, const char *cwd, const char *stage, char *const *env,
	       const char *what, sp_error *err)
{
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s/tmp", stage);
	if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
		return sp_error_errno(err, "mkdir %s", tmp);
	pid_t pid = fork();
	if (pid < 0)
		return sp_error_errno(err, "fork");
	if (pid == 0) {
		sp_error cerr = {0};
		bool no_ns = false;
		spfs_confine_opts co = {.keep = stage};
		if (spfs_confine(&co, &no_ns, &cerr)) {
			if (!no_ns) {
				fprintf(stderr, "spk: cannot confine %s: %s\n", what, cerr.msg);
				_exit(126);
			}
			fprintf(stderr, "spk: warning: %s runs unconfined (%s)\n", what, cerr.msg);
		}
		if (chdir(cwd) < 0)
			_exit(126);
		for (size_t i = 0; env && env[i]; i++)
			putenv(env[i]);
		setenv("TMPDIR", tmp, 1);
		dup2(2, 1);
		execvp(argv[0], argv);
		_exit(errno == ENOENT ? 127 : 126);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return sp_error_errno(err, "waitpid");
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return sp_error_set(err, SP_ERROR, "%s: %s is not installed", what, argv[0]);
	if (WIFEXITED(status))
		return sp_error_set(err, SP_ERROR, "%s failed (exit status %d)", what,
				    WEXITSTATUS(status));
	return sp_error_set(err, SP_ERROR, "%s was killed by signal %d", what, WTERMSIG(status));
}

/* The mirror of a remote git URL in the source cache: made with `git clone
 * --mirror` when missing, fetched again only when `ref` is not in it yet;
 * `mirror` gets its path. Offline, a missing mirror or ref is an error. */
static int git_mirror(char *mirror, size_t n, const char *url, const char *ref, sp_error *err)
{
	char cache[4096], key[SP_DIGEST_HEX_LEN + 1];
	int rc = pkg__source_cache_dir(cache, sizeof(cache), err);
	if (rc)
		return rc;
	if (cache[0] != '/')
		return sp_error_set(err, SP_EINVALID,
				    "the source cache '%s' must be an absolute path", cache);
	char sub[4200];
	snprintf(sub, sizeof(sub), "%s/tmp", cache);
	if ((rc = sp_mkdir_p_at(AT_FDCWD, sub, 0755, err)))
		return sp_error_prefix(err, "source cache");
	snprintf(sub, sizeof(sub), "%s/git", cache);
	if ((rc = sp_mkdir_p_at(AT_FDCWD, sub, 0755, err)))
		return sp_error_prefix(err, "source cache");
	pkg__url_key(url, key);
	snprintf(mirror, n, "%s/git/%s", cache, key);
	char *env[] = {"GIT_TERMINAL_PROMPT=0", NULL};
	struct stat st;
	bool offline = pkg__sources_offline();
	if (lstat(mirror, &st) < 0) {
		if (errno != ENOENT)
			return sp_error_errno(err, "source cache %s", mirror);
		if (offline)
			return sp_error_set(
			    err, SP_ENOTFOUND,
			    "%s is not in the source cache (%s) and spk is offline: "
			    "run once without --offline to fetch it",
			    url, cache);
		char tmp[4300], name[25];
		sp_random_name(name, 24);
		snprintf(tmp, sizeof(tmp), "%s/tmp/git-%s", cache, name);
		char *argv[] = {"git", "clone",	    "--mirror", "--quiet",
				"--",  (char *)url, tmp,	NULL};
		sp_info("fetching %s", url);
		if ((rc = run(argv, cache, cache, env, "git clone --mirror", err))) {
			sp_rm_rf_at(AT_FDCWD, tmp, &(sp_error){0});
			return rc;
		}
		/* another spk may have mirrored the same URL meanwhile: keep theirs */
		if (rename(tmp, mirror) < 0) {
			int e = errno;
			sp_rm_rf_at(AT_FDCWD, tmp, &(sp_error){0});
			if (e != EEXIST && e != ENOTEMPTY) {
				errno = e;
				return sp_error_errno(err, "source cache: rename to %s", mirror);
			}
		}
	} else if (!S_ISDIR(st.st_mode)) {
		return sp_error_set(err, SP_EINVALID, "source cache %s is not a directory", mirror);
	}
	if (!ref)
		return 0;
	char want[600];
	snprintf(want, sizeof(want), "%s^{commit}", ref);
	char *check[] = {"git", "cat-file", "-e", want, NULL};
	sp_error ignored = {0};
	if (!run(check, mirror, cache, env, "git cat-file", &ignored))
		return 0;
	if (offline)
		return sp_error_set(err, SP_ENOTFOUND,
				    "%s: ref '%s' is not in the source cache's mirror and spk is "
				    "offline: run once without --offline to fetch it",
				    url, ref);
	char *fetch[] = {"git", "fetch", "--quiet", "--prune", "origin", NULL};
	return run(fetch, mirror, cache, env, "git fetch", err);
}

static int collect_git(const pkg_source_decl *sd, const char *specdir, const char *stage,
		       const char *dest, sp_error *err)
{
	/* a local repository is named relative to the spec, as a file:// URL
	 * (git ignores --depth for plain local paths); a remote one is cloned
	 * from its mirror in the source cache */
	char url[8192];
	bool remote = false;
	if (is_url(sd->value) && strncmp(sd->value, "file://", 7) != 0) {
		remote = true;
	} else if (is_url(sd->value)) {
		snprintf(url, sizeof(url), "%s", sd->value);
	} else if (strchr(sd->value, ':') && sd->value[0] != '/' && sd->value[0] != '.' &&
		   (!strchr(sd->value, '/') || strchr(sd->value, ':') < strchr(sd->value, '/'))) {
		remote = true; /* host:path, as ssh */
	} else {
		char full[8192], real[PATH_MAX];
		if (sd->value[0] == '/')
			snprintf(full, sizeof(full), "%s", sd->value);
		else
			snprintf(full, sizeof(full), "%s/%s", specdir, sd->value);
		if (!realpath(full, real))
			return sp_error_errno(err, "'%s'", sd->value);
		snprintf(url, sizeof(url), "file://%s", real);
	}
	int rc;
	if (remote) {
		char mirror[4400];
		if ((rc = git_mirror(mirror, sizeof(mirror), sd->value, sd->ref, err)))
			return rc;
		snprintf(url, sizeof(url), "file://%s", mirror);
	}
	char depth[32];
	snprintf(depth, sizeof(depth), "%u", sd->depth);
	char *argv[14];
	size_t n = 0;
	argv[n++] = "git";
	argv[n++] = "-c";
	argv[n++] = "advice.detachedHead=false";
	argv[n++] = "clone";
	argv[n++] = "--quiet";
	argv[n++] = "--depth";
	argv[n++] = depth;
	if (sd->ref) {
		argv[n++] = "--branch";
		argv[n++] = (char *)sd->ref;
	}
	argv[n++] = "--";
	argv[n++] = url;
	argv[n++] = ".";
	argv[n] = NULL;
	char *env[] = {"GIT_TERMINAL_PROMPT=0", NULL};
	rc = run(argv, dest, stage, env, "git clone", err);
	if (rc)
		return rc;
	if (remote) {
		/* relative submodule URLs resolve against the real remote */
		char *seturl[] = {"git", "remote", "set-url", "origin", (char *)sd->value, NULL};
		if ((rc = run(seturl, dest, stage, env, "git remote set-url", err)))
			return rc;
	}
	char *sub[] = {"git",	      "submodule", "--quiet", "update", "--init",
		       "--recursive", "--depth",   depth,     NULL};
	return run(sub, dest, stage, env, "git submodule update", err);
}

static int collect_script(const pkg_source_decl *sd, const char *stage, const char *dest,
			  const pkg_spec *spec, const char *version, size_t index, sp_error *err)
{
	char name[64], path[8192];
	snprintf(name, sizeof(name), "source-%zu.sh", index);
	snprintf(path, sizeof(path), "%s/%s", stage, name);
	_cleanup_close_ int sfd = open(stage, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0)
		return sp_error_errno(err, "open %s", stage);
	int rc = sp_atomic_write_at(sfd, name, sd->value, strlen(sd->value), 0644, err);
	if (rc)
		return rc;
	char e_name[300], e_ver[300], e_pkg[700];
	snprintf(e_name, sizeof(e_name), "SPK_PKG_NAME=%s", spec->build.name);
	snprintf(e_ver, sizeof(e_ver), "SPK_PKG_VERSION=%s", version);
	snprintf(e_pkg, sizeof(e_pkg), "SPK_PKG=%s/%s/src", spec->build.name, version);
	char *env[] = {e_name, e_ver, e_pkg, NULL};
	/* as SPK runs it: bash, -e to stop at the first failure, -x to log
	 * each command */
	char *argv[] = {"bash", "-ex", path, NULL};
	return run(argv, dest, stage, env, "the source script", err);
}

/* ------------------------------------------------------ checking a tree */

/* Every entry below fd (at rel below the source root): symbolic links stay
 * inside; nothing but files, directories and links. */
static int check_tree(int rootfd, int fd, const char *rel, int depth, size_t *count, sp_error *err)
{
	if (depth > MAX_DEPTH)
		return sp_error_set(err, SP_EINVALID, "%s: nested deeper than %d directories", rel,
				    MAX_DEPTH);
	int dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	DIR *d = dupfd < 0 ? NULL : fdopendir(dupfd);
	if (!d) {
		if (dupfd >= 0)
			close(dupfd);
		return sp_error_errno(err, "opendir %s", *rel ? rel : ".");
	}
	int rc = 0;
	struct dirent *de;
	while (!rc && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char sub[PKG__SRC_MAX_PATH + 1], why[300];
		if ((rc = join(sub, sizeof(sub), rel, de->d_name, err)))
			break;
		struct stat st;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = sp_error_errno(err, "stat %s", sub);
			break;
		}
		if (++*count > MAX_FILES) {
			rc = sp_error_set(err, SP_EINVALID, "more than %d entries", MAX_FILES);
			break;
		}
		if (S_ISLNK(st.st_mode)) {
			char target[PKG__SRC_MAX_PATH + 1];
			ssize_t l = readlinkat(fd, de->d_name, target, sizeof(target) - 1);
			if (l < 0) {
				rc = sp_error_errno(err, "readlink %s", sub);
				break;
			}
			target[l] = '\0';
			if (pkg__source_check_symlink(sub, target, why, sizeof(why))) {
				rc =
				    sp_error_set(err, SP_EINVALID, "symbolic link %s %s", sub, why);
				break;
			}
			/* each link stays inside on its own; followed through the
			 * others, too (a dangling one is fine) */
			struct open_how how = {
			    .flags = O_PATH | O_CLOEXEC,
			    .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
			};
			int lfd = (int)syscall(SYS_openat2, rootfd, sub, &how, sizeof(how));
			if (lfd >= 0)
				close(lfd);
			else if (errno == EXDEV || errno == ELOOP)
				rc =
				    sp_error_set(err, SP_EINVALID,
						 "symbolic link %s points outside the sources when "
						 "followed (target '%.200s', through other links)",
						 sub, target);
		} else if (S_ISDIR(st.st_mode)) {
			_cleanup_close_ int sfd = -1;
			if (!(rc = sp_open_dir_at(&sfd, fd, de->d_name, err)))
				rc = check_tree(rootfd, sfd, sub, depth + 1, count, err);
		} else if (!S_ISREG(st.st_mode)) {
			rc = sp_error_set(err, SP_EINVALID,
					  "%s is not a file, directory or symbolic link", sub);
		}
	}
	closedir(d);
	return rc;
}

/* ------------------------------------------------------- make-source */

static const char *const kind_names[] = {"?", "path", "git", "tar", "script"};

int pkg_repo_make_source(pkg_source_result *res, pkg_repo *r, const pkg_specfile *f,
			 const pkg_spec *spec, bool publish, sp_error *err)
{
	const char *file = f->path;
	memset(res, 0, sizeof(*res));
	const solver_build *b = &spec->build;
	if (spec->kind != PKG_RECIPE)
		return sp_error_set(err, SP_EINVALID, "%s: %s is not a recipe (pkg: name/version)",
				    b->origin, b->name);
	char ver[256];
	solver_version_str(&b->version, ver, sizeof(ver));
	snprintf(res->ident, sizeof(res->ident), "%s/%s/src", b->name, ver);
	/* the spec's directory: where path, tar and local git sources are */
	char dir[4096], specdir[PATH_MAX];
	const char *slash = strrchr(file, '/');
	if (slash == file)
		snprintf(dir, sizeof(dir), "/");
	else if (slash)
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - file), file);
	else
		snprintf(dir, sizeof(dir), ".");
	if (!realpath(dir, specdir))
		return sp_error_errno(err, "%s", dir);
	_cleanup_close_ int specfd = open(specdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (specfd < 0)
		return sp_error_errno(err, "open %s", specdir);
	/* the staging directory */
	char stage[4096], tmpl[4096];
	const char *tmp = getenv("TMPDIR");
	snprintf(tmpl, sizeof(tmpl), "%s/spk-source-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(tmpl))
		return sp_error_errno(err, "mkdtemp %s", tmpl);
	if (!realpath(tmpl, stage)) {
		int rc = sp_error_errno(err, "%s", tmpl);
		rmdir(tmpl);
		return rc;
	}
	char rel[SPFS_MAX_PATH + 1], root[8192];
	snprintf(rel, sizeof(rel), "root/spk/pkg/%s/%s/src", b->name, ver);
	snprintf(root, sizeof(root), "%s/root", stage);
	_cleanup_close_ int stagefd = open(stage, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int srcfd = -1;
	int rc = stagefd < 0 ? sp_error_errno(err, "open %s", stage) : 0;
	if (!rc)
		rc = sp_mkdir_p_at(stagefd, rel, 0755, err);
	if (!rc)
		rc = sp_open_dir_at(&srcfd, stagefd, rel, err);
	/* a spec next to the store (or a staging directory below the spec's
	 * directory) must not collect them */
	struct stat skip[2];
	memset(skip, 0, sizeof(skip));
	if (!rc && stat(spfs_store_path(pkg_repo_store(r)), &skip[0]) < 0)
		rc = sp_error_errno(err, "stat %s", spfs_store_path(pkg_repo_store(r)));
	if (!rc && fstat(stagefd, &skip[1]) < 0)
		rc = sp_error_errno(err, "stat %s", stage);
	/* each source, in order; without `sources`, the spec's directory */
	pkg_source_decl dflt = {.kind = PKG_SRC_PATH,
				.value = ".",
				.depth = 1,
				.nexclude = (size_t)-1,
				.nfilter = (size_t)-1,
				.line = spec->line,
				.col = spec->column};
	size_t nsrc = spec->has_sources ? spec->nsources : 1;
	for (size_t i = 0; !rc && i < nsrc; i++) {
		const pkg_source_decl *sd = spec->has_sources ? &spec->sources[i] : &dflt;
		const char *base = sd->subdir ? sd->subdir : "";
		char dest[8192], why[300];
		_cleanup_close_ int dfd = -1;
		size_t files = 0, count = 0;
		if (*base && pkg__source_check_path(base, why, sizeof(why)))
			rc = sp_error_set(err, SP_EINVALID, "subdir '%s': %s", base, why);
		if (!rc && *base)
			rc = sp_mkdir_p_at(srcfd, base, 0755, err);
		if (!rc)
			rc = sp_open_dir_at(&dfd, srcfd, *base ? base : ".", err);
		snprintf(dest, sizeof(dest), "%s/%s%s%s", stage, rel, *base ? "/" : "", base);
		if (!rc) {
			switch (sd->kind) {
			case PKG_SRC_PATH:
				rc =
				    collect_path(sd, specfd, specdir, dfd, base, skip, &files, err);
				break;
			case PKG_SRC_TAR:
				rc = collect_tar(sd, specfd, dest, base, &files, err);
				break;
			case PKG_SRC_GIT: rc = collect_git(sd, specdir, stage, dest, err); break;
			case PKG_SRC_SCRIPT:
				rc = collect_script(sd, stage, dest, spec, ver, i, err);
				break;
			default: rc = sp_error_set(err, SP_EINVALID, "unknown kind of source");
			}
		}
		/* whatever landed (a script or git too): links stay inside */
		if (!rc)
			rc = check_tree(srcfd, dfd, base, 0, &count, err);
		if (rc) {
			char what[200];
			if (sd->kind == PKG_SRC_SCRIPT)
				snprintf(what, sizeof(what), "script source");
			else
				snprintf(what, sizeof(what), "%s source '%.150s'",
					 kind_names[sd->kind], sd->value);
			sp_error_prefix(err, "%s:%zu:%zu: %s", file, sd->line, sd->col, what);
		}
	}
	/* nothing collected is a mistake, not an empty package */
	size_t total = 0;
	if (!rc && !(rc = check_tree(srcfd, srcfd, "", 0, &total, err)) && total == 0)
		rc = sp_error_set(err, SP_EINVALID,
				  "%s: no source files collected for %s (the source package would "
				  "be empty)",
				  file, res->ident);
	res->files = total;
	if (!rc) {
		spfs_annotation ann[] = {{"spk.component", "src"}, {"spk.package", res->ident}};
		spfs_commit_opts co = {.annotations = ann, .annotation_count = 2};
		rc = spfs_commit_dir(&res->layer, NULL, pkg_repo_store(r), root, &co, NULL, err);
		if (rc)
			sp_error_prefix(err, "committing the sources of %s", res->ident);
	}
	sp_error ignore = {0};
	(void)sp_rm_rf_at(AT_FDCWD, stage, &ignore);
	if (!rc && publish)
		rc = pkg_repo__publish_source(res, r, f, spec, err);
	return rc;
}

/* Publishes a collected source package: its layer tag, its spec (the
 * recipe with `pkg: NAME/VERSION/src`), the recipe when missing, the
 * index. res->changed tells whether the layer tag moved. */
int pkg_repo__publish_source(pkg_source_result *res, pkg_repo *r, const pkg_specfile *f,
			     const pkg_spec *spec, sp_error *err)
{
	const char *text = f->text, *file = f->path;
	size_t len = f->len;
	spfs_store *s = pkg_repo_store(r);
	const solver_build *b = &spec->build;
	char ver[256];
	solver_version_str(&b->version, ver, sizeof(ver));
	char ltag[SPFS_MAX_TAG_NAME + 1], stag[SPFS_MAX_TAG_NAME + 1], rtag[SPFS_MAX_TAG_NAME + 1];
	snprintf(ltag, sizeof(ltag), "spk/pkg/%s/%s/src/src", b->name, ver);
	snprintf(stag, sizeof(stag), "spk/spec/%s/%s/src", b->name, ver);
	snprintf(rtag, sizeof(rtag), "spk/spec/%s/%s", b->name, ver);
	sp_digest old;
	sp_error why = {0};
	res->changed =
	    spfs_resolve(&old, NULL, s, ltag, &why) != 0 || sp_digest_cmp(&old, &res->layer) != 0;
	/* the source package's spec: the recipe document, pkg: NAME/VERSION/src */
	_cleanup_(solver_arena_freep) solver_arena *a = NULL;
	sp_buf doc = {0}, spec_text = {0};
	pkg__ynode **docs = NULL;
	size_t ndocs = 0;
	int rc = solver_arena_new(&a, err);
	if (!rc)
		rc = pkg_repo__doc_text(&doc, text, len, file, spec->line, err);
	if (!rc)
		rc = pkg__yaml_load(&docs, &ndocs, a, doc.data, doc.len, file, &pkg_limits_default,
				    err);
	const pkg__ynode *pk = !rc && ndocs == 1 ? pkg__ymap_get(docs[0], "pkg") : NULL;
	if (!rc && !pk)
		rc = sp_error_set(err, SP_ERROR, "%s: cannot find the document of %s", file,
				  b->name);
	if (!rc) {
		pkg__edit ed = {.line = pk->line, .col = pk->col, .text = res->ident};
		rc = pkg__edit_scalars(&spec_text, doc.data, doc.len, &ed, 1, file, err);
	}
	if (!rc && (rc = spfs_tag_set(s, ltag, &res->layer, err)))
		sp_error_prefix(err, "cannot set %s", ltag);
	/* each names the recipe it came from on its first line (spec.c) */
	sp_buf pub = {0};
	if (!rc && !(rc = pkg__with_origin(&pub, spec, true, spec_text.data, spec_text.len, err)))
		rc = pkg_repo__put_spec(r, stag, pub.data, pub.len, err);
	sp_buf_free(&pub);
	if (!rc && spfs_resolve(&old, NULL, s, rtag, &why) == SP_ENOTFOUND &&
	    !(rc = pkg__with_origin(&pub, spec, true, doc.data, doc.len, err)))
		rc = pkg_repo__put_spec(r, rtag, pub.data, pub.len, err);
	sp_buf_free(&pub);
	if (!rc)
		rc = pkg_repo_write_index(r, err);
	sp_buf_free(&doc);
	sp_buf_free(&spec_text);
	return rc;
}

/* ------------------------------------------------------------ fuzzing */

/* The string checks and the tar member checks on arbitrary bytes
 * (tests/fuzz/fuzz_sources.c). The first byte picks: 0 a path, 1 a link
 * ("path\0target"), 2 a pattern match ("pattern\0path", the next byte's
 * low bit: a directory), 3 a tar stream whose members are checked as
 * make-source checks them (nothing is extracted). */
int pkg__source_fuzz(const unsigned char *data, size_t size)
{
	if (size < 1 || size > (1u << 20))
		return 0;
	int mode = data[0] & 3;
	data++;
	size--;
	char why[300];
	if (mode == 3) {
		sp_error lerr = {0};
		if (pkg__archive_load(&lerr))
			abort(); /* the fuzz target cannot run without it */
		struct archive *a = archive_read_new();
		if (!a)
			return 0;
		archive_read_support_filter_all(a);
		archive_read_support_format_tar(a);
		archive_read_support_format_gnutar(a);
		if (archive_read_open_memory(a, data, size) == ARCHIVE_OK) {
			struct archive_entry *e;
			sp_error err = {0};
			for (int i = 0; i < 1000 && archive_read_next_header(a, &e) == ARCHIVE_OK;
			     i++) {
				(void)tar_check_member(e, i & 1 ? "sub/dir" : "", &err);
				if (archive_read_data_skip(a) != ARCHIVE_OK)
					break;
			}
		}
		archive_read_free(a);
		return 0;
	}
	char *s = malloc(size + 2);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = s[size + 1] = '\0';
	const char *second = s + strlen(s) + 1;
	if (second > s + size)
		second = s + size;
	if (mode == 0)
		(void)pkg__source_check_path(s, why, sizeof(why));
	else if (mode == 1)
		(void)pkg__source_check_symlink(s, second, why, sizeof(why));
	else
		(void)pkg__source_match(s, second, size & 1);
	free(s);
	return 0;
}
