/* specdir.c - a directory of spec files as a solver repository.
 *
 * The tree is read once when opened: directories are walked below an fd
 * with O_NOFOLLOW (symlinks are skipped), entries in name order so the
 * result never depends on readdir order; every *.yaml / *.yml file is
 * parsed (a workspace file is not a spec and is skipped); specs are then
 * indexed by package name and by embedded name.
 *
 * With a workspace (workspace.spk.yaml at the root, or the workspace file
 * given as the path) only the files it lists are read, whatever their
 * names, and a template it gives versions for is rendered once per
 * version (opt.version), as SPK does. */
#include "pkg/template.h"
#include "pkg/workspace.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct pkg_specdir {
	solver_arena *a;
	solver_repo repo;
	pkg_spec **specs;
	size_t nspecs, capspecs;
	const solver_build **by_name; /* sorted by name */
	const solver_build **emb;     /* embedders, sorted by embedded name */
	const char **emb_names;	      /* parallel to emb */
	size_t nemb;
	size_t nfiles;
	pkg_specfile **files; /* owned: the specs point into their arenas */
	size_t capfiles;
	pkg_specfile_opts fo;
	const pkg_limits *lim;
	pkg__workspace *ws; /* NULL: every *.yaml / *.yml file */
	size_t rootlen;	    /* of the root's path, to make paths relative */
};

static int names_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool is_spec_name(const char *n)
{
	size_t l = strlen(n);
	return (l > 5 && !strcmp(n + l - 5, ".yaml")) || (l > 4 && !strcmp(n + l - 4, ".yml"));
}

static int add_file(pkg_specdir *d, int dirfd, const char *name, const char *path,
		    const pkg_specfile_opts *fo, sp_error *err)
{
	if (d->nfiles >= d->lim->max_files)
		return sp_error_set(err, SP_EINVALID, "more than %zu spec files",
				    d->lim->max_files);
	char *text = NULL;
	size_t len = 0;
	int rc = sp_read_file_at(&text, &len, dirfd, name, d->lim->max_file, err);
	if (rc)
		return sp_error_prefix(err, "%s", path);
	if (d->nfiles == d->capfiles) {
		size_t nc = d->capfiles ? d->capfiles * 2 : 64;
		if ((rc = sp_realloc_array((void **)&d->files, nc, sizeof(*d->files), err))) {
			free(text);
			return rc;
		}
		d->capfiles = nc;
	}
	pkg_specfile *f = NULL;
	rc = pkg_specfile_load(&f, text, len, path, fo ? fo : &d->fo, err);
	free(text);
	if (rc)
		return rc;
	d->files[d->nfiles++] = f;
	for (size_t i = 0; i < f->nspecs; i++) {
		if (d->nspecs == d->capspecs) {
			size_t nc = d->capspecs ? d->capspecs * 2 : 64;
			if ((rc = sp_realloc_array((void **)&d->specs, nc, sizeof(*d->specs), err)))
				return rc;
			d->capspecs = nc;
		}
		d->specs[d->nspecs++] = f->specs[i];
	}
	return 0;
}

/* A file met in the walk: read when it is a spec (of the workspace);
 * a template with workspace versions once per version. */
static int consider(pkg_specdir *d, int dirfd, const char *name, const char *path, sp_error *err)
{
	const char *rel = path + (strlen(path) > d->rootlen ? d->rootlen + 1 : strlen(path));
	if (!d->ws) {
		if (!is_spec_name(name))
			return 0;
		/* a workspace file found deeper down is not a spec */
		char head[4096];
		_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		ssize_t got = fd < 0 ? -1 : read(fd, head, sizeof(head));
		if (got > 0 && pkg__is_workspace(head, (size_t)got))
			return 0;
		return add_file(d, dirfd, name, path, NULL, err);
	}
	const char *const *versions;
	size_t nv;
	if (!strcmp(rel, PKG__WORKSPACE_FILE) || !pkg__workspace_wants(d->ws, rel, &versions, &nv))
		return 0;
	if (!nv)
		return add_file(d, dirfd, name, path, NULL, err);
	/* is it a template? (a plain recipe names its own version) */
	char *text = NULL;
	size_t len = 0;
	int rc = sp_read_file_at(&text, &len, dirfd, name, d->lim->max_file, err);
	if (rc)
		return sp_error_prefix(err, "%s", path);
	bool tmpl = pkg__template_is(text, len);
	free(text);
	if (!tmpl)
		return add_file(d, dirfd, name, path, NULL, err);
	solver_opt *o = calloc(d->fo.nopts + 1, sizeof(*o));
	if (!o)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	size_t no = 0;
	for (size_t i = 0; i < d->fo.nopts; i++)
		if (strcmp(d->fo.opts[i].name, "version"))
			o[no++] = d->fo.opts[i];
	pkg_specfile_opts fo = d->fo;
	fo.opts = o;
	fo.nopts = no + 1;
	for (size_t i = 0; i < nv && !rc; i++) {
		o[no] = (solver_opt){"version", versions[i]};
		rc = add_file(d, dirfd, name, path, &fo, err);
	}
	free(o);
	return rc;
}

static int walk(pkg_specdir *d, int dirfd, const char *path, size_t depth, sp_error *err)
{
	if (depth > d->lim->max_dir_depth)
		return sp_error_set(err, SP_EINVALID, "%s: directories nested deeper than %zu",
				    path, d->lim->max_dir_depth);
	int fd = dup(dirfd);
	if (fd < 0)
		return sp_error_errno(err, "%s: dup", path);
	DIR *dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return sp_error_errno(err, "%s: opendir", path);
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	struct dirent *e;
	errno = 0;
	while ((e = readdir(dir))) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 32;
			if ((rc = sp_realloc_array((void **)&names, nc, sizeof(*names), err)))
				break;
			cap = nc;
		}
		names[n] = strdup(e->d_name);
		if (!names[n]) {
			rc = sp_error_set(err, SP_ENOMEM, "out of memory");
			break;
		}
		n++;
	}
	closedir(dir);
	if (!rc)
		qsort(names, n, sizeof(*names), names_cmp);
	for (size_t i = 0; i < n && !rc; i++) {
		struct stat st;
		sp_buf p = {0};
		rc = sp_buf_printf(&p, err, "%s/%s", path, names[i]);
		if (rc)
			break;
		if (fstatat(dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = sp_error_errno(err, "%s: stat", p.data);
		} else if (S_ISDIR(st.st_mode)) {
			int sub = -1;
			rc = sp_open_dir_at(&sub, dirfd, names[i], err);
			if (!rc) {
				rc = walk(d, sub, p.data, depth + 1, err);
				close(sub);
			}
		} else if (S_ISREG(st.st_mode)) {
			rc = consider(d, dirfd, names[i], p.data, err);
		}
		sp_buf_free(&p);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

static int build_cmp(const void *pa, const void *pb)
{
	const solver_build *a = *(const solver_build *const *)pa;
	const solver_build *b = *(const solver_build *const *)pb;
	int c = strcmp(a->name, b->name);
	if (c)
		return c;
	c = solver_version_cmp(&b->version, &a->version);
	if (c)
		return c;
	return strcmp(a->build, b->build);
}

static int spec_cmp(const void *pa, const void *pb)
{
	const pkg_spec *a = *(const pkg_spec *const *)pa;
	const pkg_spec *b = *(const pkg_spec *const *)pb;
	const solver_build *x = &a->build, *y = &b->build;
	return build_cmp(&x, &y);
}

typedef struct emb_ent {
	const char *name;
	const solver_build *b;
} emb_ent;

static int emb_cmp(const void *pa, const void *pb)
{
	const emb_ent *a = pa, *b = pb;
	int c = strcmp(a->name, b->name);
	if (c)
		return c;
	return build_cmp(&a->b, &b->b);
}

static size_t lower_bound_name(const solver_build **v, size_t n, const char *name)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(v[mid]->name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int repo_builds(void *self, const char *name, const solver_build *const **out, size_t *n,
		       sp_error *err)
{
	(void)err;
	pkg_specdir *d = self;
	size_t lo = lower_bound_name(d->by_name, d->nspecs, name), hi = lo;
	while (hi < d->nspecs && !strcmp(d->by_name[hi]->name, name))
		hi++;
	*out = d->by_name + lo;
	*n = hi - lo;
	return 0;
}

static int repo_embedders(void *self, const char *name, const solver_build *const **out, size_t *n,
			  sp_error *err)
{
	(void)err;
	pkg_specdir *d = self;
	size_t lo = 0, hi = d->nemb;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(d->emb_names[mid], name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	hi = lo;
	while (hi < d->nemb && !strcmp(d->emb_names[hi], name))
		hi++;
	*out = d->emb + lo;
	*n = hi - lo;
	return 0;
}

static const solver_repo_ops specdir_ops = {
    .version = SOLVER_REPO_OPS_VERSION,
    .builds = repo_builds,
    .embedders = repo_embedders,
};

static int add_emb(emb_ent **v, size_t *n, size_t *cap, const char *name, const solver_build *b,
		   sp_error *err)
{
	for (size_t i = 0; i < *n; i++)
		if ((*v)[i].b == b && !strcmp((*v)[i].name, name))
			return 0;
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		int rc = sp_realloc_array((void **)v, nc, sizeof(**v), err);
		if (rc)
			return rc;
		*cap = nc;
	}
	(*v)[(*n)++] = (emb_ent){name, b};
	return 0;
}

static int index_specs(pkg_specdir *d, sp_error *err)
{
	if (d->nspecs)
		qsort(d->specs, d->nspecs, sizeof(*d->specs), spec_cmp);
	for (size_t i = 1; i < d->nspecs; i++) {
		const pkg_spec *a = d->specs[i - 1], *b = d->specs[i];
		if (!strcmp(a->build.name, b->build.name) &&
		    !solver_version_cmp(&a->build.version, &b->build.version) &&
		    !strcmp(a->build.build, b->build.build)) {
			char v[128];
			return sp_error_set(err, SP_EINVALID,
					    "%s/%s/%s is defined twice: %s and %s", a->build.name,
					    solver_version_str(&a->build.version, v, sizeof(v)),
					    a->build.build, a->build.origin, b->build.origin);
		}
	}
	d->by_name = solver_arena_array(d->a, d->nspecs ? d->nspecs : 1, sizeof(*d->by_name), err);
	if (!d->by_name)
		return err->code;
	emb_ent *ev = NULL;
	size_t ne = 0, cap = 0;
	int rc = 0;
	for (size_t i = 0; i < d->nspecs && !rc; i++) {
		const solver_build *b = &d->specs[i]->build;
		d->by_name[i] = b;
		for (size_t k = 0; k < b->nembedded && !rc; k++)
			rc = add_emb(&ev, &ne, &cap, b->embedded[k].name, b, err);
		for (size_t m = 0; m < b->ncomponents && !rc; m++)
			for (size_t k = 0; k < b->components[m].nembedded && !rc; k++)
				rc = add_emb(&ev, &ne, &cap, b->components[m].embedded[k].name, b,
					     err);
	}
	if (!rc && ne)
		qsort(ev, ne, sizeof(*ev), emb_cmp);
	if (!rc) {
		d->emb = solver_arena_array(d->a, ne ? ne : 1, sizeof(*d->emb), err);
		d->emb_names = solver_arena_array(d->a, ne ? ne : 1, sizeof(*d->emb_names), err);
		if (!d->emb || !d->emb_names)
			rc = err->code;
		for (size_t i = 0; !rc && i < ne; i++) {
			d->emb[i] = ev[i].b;
			d->emb_names[i] = ev[i].name;
		}
		d->nemb = ne;
	}
	free(ev);
	return rc;
}

int pkg_specdir_open(pkg_specdir **out, const char *path, const char *name,
		     const pkg_specfile_opts *fo, sp_error *err)
{
	*out = NULL;
	pkg_specdir *d = calloc(1, sizeof(*d));
	if (!d)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	if (fo)
		d->fo = *fo;
	d->lim = d->fo.lim ? d->fo.lim : &pkg_limits_default;
	d->fo.lim = d->lim;
	int rc = solver_arena_new(&d->a, err);
	if (rc) {
		free(d);
		return rc;
	}
	/* the root: a directory, or a workspace file's directory */
	char root[4096];
	snprintf(root, sizeof(root), "%s", path);
	struct stat st;
	bool ws_given = stat(path, &st) == 0 && S_ISREG(st.st_mode);
	if (ws_given) {
		char *sl = strrchr(root, '/');
		if (sl == root)
			root[1] = '\0';
		else if (sl)
			*sl = '\0';
		else
			snprintf(root, sizeof(root), ".");
	}
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		rc = sp_error_errno(err, "cannot open spec directory %s", root);
		pkg_specdir_free(d);
		return rc;
	}
	d->rootlen = strlen(root);
	{
		char *text = NULL;
		size_t len = 0;
		sp_error why = {0};
		const char *wsname = ws_given ? path + strlen(root) + (strcmp(root, ".") ? 1 : 0)
					      : PKG__WORKSPACE_FILE;
		if (ws_given && !strcmp(root, "."))
			wsname = path;
		int wrc = sp_read_file_at(&text, &len, fd, wsname, d->lim->max_file, &why);
		if (wrc == 0) {
			char wpath[8192];
			snprintf(wpath, sizeof(wpath), "%s/%s", root, wsname);
			rc = pkg__workspace_read(&d->ws, text, len, ws_given ? path : wpath, err);
			free(text);
		} else if (ws_given || why.sys_errno != ENOENT) {
			rc = sp_error_set(err, wrc, "%s", why.msg);
		}
	}
	if (!rc)
		rc = walk(d, fd, root, 0, err);
	close(fd);
	if (!rc)
		rc = index_specs(d, err);
	if (!rc) {
		d->repo.ops = &specdir_ops;
		d->repo.self = d;
		d->repo.name = solver_arena_strdup(d->a, name ? name : path, err);
		if (!d->repo.name)
			rc = err->code;
	}
	if (rc) {
		pkg_specdir_free(d);
		return rc;
	}
	*out = d;
	return 0;
}

void pkg_specdir_free(pkg_specdir *d)
{
	if (!d)
		return;
	free(d->specs);
	for (size_t i = 0; i < d->nfiles; i++)
		pkg_specfile_free(d->files[i]);
	free(d->files);
	pkg__workspace_free(d->ws);
	solver_arena_free(d->a);
	free(d);
}

void pkg_specdir_freep(pkg_specdir **d)
{
	pkg_specdir_free(*d);
}

const solver_repo *pkg_specdir_repo(const pkg_specdir *d)
{
	return &d->repo;
}

size_t pkg_specdir_count(const pkg_specdir *d)
{
	return d->nspecs;
}

const pkg_spec *pkg_specdir_get(const pkg_specdir *d, size_t i)
{
	return i < d->nspecs ? d->specs[i] : NULL;
}
