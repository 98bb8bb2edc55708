/* catalog.c - opening a catalog at a context: the files along the
 * context's path, read beneath the catalog's root, merged top-down
 * (catalog.h gives the rules; docs/catalog.md the examples).
 *
 * Order: check the context's text; open the root; read and parse the
 * facility file (it names the levels, so it bounds the context's depth);
 * for each level of the context, check its directory exists beneath the
 * root (else a "not found" naming the closest existing ones), then read its
 * spawn.yaml if there is one; merge each file as it comes; then check the
 * merged targets (each has a command) and sort them. Nothing is cached:
 * a context reads a handful of small files. */
#include "catalog/catalog_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define DEFAULT_MAX_FILE    (1u << 20)
#define DEFAULT_MAX_TARGETS 10000

typedef struct merged {
	catalog_target t;
	bool has_command;
} merged;

struct catalog_t {
	catalog__arena arena;
	char *root, *context;
	const char **level_names;
	size_t nlevels;
	const char *values[8];
	size_t depth;
	catalog__level files[9];
	size_t nfiles;
	merged *targets;
	size_t ntargets, cap;
	catalog_str *pins;
	size_t npins, cap_pins;
	catalog_env_op *env;
	size_t nenv, cap_env;
	catalog_str *plugins;
	size_t nplugins, cap_plugins;
	catalog_limits lim;
};

static const char *const default_levels[] = {"show", "sequence", "shot"};

/* ------------------------------------------------------------- arena */

void *catalog__alloc(catalog__arena *a, size_t count, size_t size, sp_error *err)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		void **v = realloc(a->blocks, cap * sizeof(*v));
		if (!v) {
			sp_error_set(err, SP_ENOMEM, "out of memory");
			return NULL;
		}
		a->blocks = v;
		a->cap = cap;
	}
	void *p = calloc(count, size); /* calloc checks count * size */
	if (!p) {
		sp_error_set(err, SP_ENOMEM, "out of memory");
		return NULL;
	}
	a->blocks[a->n++] = p;
	return p;
}

char *catalog__strdup(catalog__arena *a, const char *s, sp_error *err)
{
	size_t n = strlen(s) + 1;
	char *p = catalog__alloc(a, n, 1, err);
	if (p)
		memcpy(p, s, n);
	return p;
}

void catalog__arena_free(catalog__arena *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->blocks[i]);
	free(a->blocks);
	memset(a, 0, sizeof(*a));
}

/* Appends one element to a growable array owned by the catalog (not the
 * arena: it moves while it grows). */
static int push(void **v, size_t *n, size_t *cap, size_t size, const void *item, sp_error *err)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		int rc = sp_realloc_array(v, nc, size, err);
		if (rc)
			return rc;
		*cap = nc;
	}
	memcpy((char *)*v + *n * size, item, size);
	(*n)++;
	return 0;
}

/* ----------------------------------------------------------- context */

static bool context_char(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       ch == '.' || ch == '_' || ch == '-' || ch == '+';
}

int catalog_context_check(const char *context, sp_error *err)
{
	if (!context || !*context)
		return 0;
	size_t depth = 0;
	for (const char *p = context; *p;) {
		const char *e = strchr(p, '/');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (!l)
			return sp_error_set(
			    err, SP_EINVALID,
			    "context '%.300s': an empty level (a leading, trailing or "
			    "doubled '/')",
			    context);
		if (l > CATALOG__MAX_NAME)
			return sp_error_set(err, SP_EINVALID,
					    "context '%.300s': a level longer than %d bytes",
					    context, CATALOG__MAX_NAME);
		if (p[0] == '.')
			return sp_error_set(
			    err, SP_EINVALID,
			    "context '%.300s': a level may not start with '.' ('.', "
			    "'..' and hidden names are not contexts)",
			    context);
		for (size_t i = 0; i < l; i++)
			if (!context_char(p[i]))
				return sp_error_set(
				    err, SP_EINVALID,
				    "context '%.300s': level '%.*s' has a character other than "
				    "letters, digits, '.', '_', '-' and '+'",
				    context, (int)(l > 100 ? 100 : l), p);
		if (++depth > 8)
			return sp_error_set(err, SP_EINVALID,
					    "context '%.300s': more than 8 levels", context);
		p += l;
		if (*p == '/' && !p[1])
			return sp_error_set(
			    err, SP_EINVALID,
			    "context '%.300s': an empty level (a leading, trailing or "
			    "doubled '/')",
			    context);
		if (*p == '/')
			p++;
	}
	return 0;
}

/* ------------------------------------------------------------- files */

static int open_beneath(int rootfd, const char *rel, int flags)
{
	struct open_how how = {
	    .flags = (uint64_t)(flags | O_CLOEXEC | O_NOCTTY),
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	return (int)syscall(SYS_openat2, rootfd, rel, &how, sizeof(how));
}

/* Reads ROOT/rel (rel names a spawn.yaml). SP_ENOTFOUND when absent. */
static int read_file(char **out, size_t *len, int rootfd, const char *rel, const char *shown,
		     size_t max, sp_error *err)
{
	_cleanup_close_ int fd = open_beneath(rootfd, rel, O_RDONLY);
	if (fd < 0) {
		if (errno == ENOENT)
			return SP_ENOTFOUND;
		if (errno == EXDEV || errno == ELOOP)
			return sp_error_set(err, SP_EINVALID,
					    "%s: leads out of the catalog (a symbolic link or '..' "
					    "that leaves its directory)",
					    shown);
		return sp_error_errno(err, "%s", shown);
	}
	struct stat st;
	if (fstat(fd, &st) < 0)
		return sp_error_errno(err, "%s", shown);
	if (!S_ISREG(st.st_mode))
		return sp_error_set(err, SP_EINVALID, "%s: not a regular file", shown);
	if ((uint64_t)st.st_size > max)
		return sp_error_set(err, SP_EINVALID, "%s: larger than %zu bytes", shown, max);
	char *buf = malloc(max + 1);
	if (!buf)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	size_t n = 0;
	for (;;) {
		ssize_t r = read(fd, buf + n, max + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			return sp_error_errno(err, "read %s", shown);
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) { /* grew since fstat */
			free(buf);
			return sp_error_set(err, SP_EINVALID, "%s: larger than %zu bytes", shown,
					    max);
		}
	}
	buf[n] = 0;
	*out = buf;
	*len = n;
	return 0;
}

/* The directories beside a missing level, closest names first. */
static void suggest_dirs(char *out, size_t nout, int rootfd, const char *parent, const char *name)
{
	out[0] = 0;
	_cleanup_close_ int fd =
	    open_beneath(rootfd, parent[0] ? parent : ".", O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return;
	DIR *d = fdopendir(fd);
	if (!d)
		return;
	fd = -1;
	struct dirent *de;
	size_t off = 0, found = 0;
	for (size_t dist = 0; dist <= 2; dist++) {
		rewinddir(d);
		while ((de = readdir(d)) && found < 5) {
			if (de->d_name[0] == '.' || de->d_type != DT_DIR)
				continue;
			if (catalog__distance(de->d_name, name, 2) != dist)
				continue;
			off += snprintf(out + off, nout > off ? nout - off : 0, "%s'%s'",
					found ? ", " : "", de->d_name);
			found++;
		}
	}
	closedir(d);
}

/* ------------------------------------------------------------- merge */

static merged *find(catalog_t *c, const char *name)
{
	for (size_t i = 0; i < c->ntargets; i++)
		if (!strcmp(c->targets[i].t.name, name))
			return &c->targets[i];
	return NULL;
}

/* A path written relative to `file`'s directory, made absolute. */
static int resolve_path(const char **out, catalog_t *c, const char *file, const char *path,
			sp_error *err)
{
	if (path[0] == '/') {
		*out = path;
		return 0;
	}
	const char *slash = strrchr(file, '/');
	size_t dl = slash ? (size_t)(slash - file) : 0;
	sp_buf b = {0};
	int rc = sp_buf_printf(&b, err, "%.*s%s%s", (int)dl, file, dl ? "/" : "", path);
	if (!rc) {
		char *p = catalog__strdup(&c->arena, b.data, err);
		rc = p ? 0 : err->code;
		*out = p;
	}
	sp_buf_free(&b);
	return rc;
}

static int merge_target(catalog_t *c, const catalog__level *lv, const catalog__target_decl *d,
			sp_error *err)
{
	merged *m = find(c, d->name);
	if (!m) {
		if (c->ntargets >= c->lim.max_targets)
			return sp_error_set(err, SP_EINVALID, "%s:%zu:%zu: more than %zu targets",
					    lv->file, d->at.line, d->at.column, c->lim.max_targets);
		merged fresh = {.t = {.name = d->name, .defined_at = d->at}};
		fresh.t.title = (catalog_str){d->name, d->at};
		int rc =
		    push((void **)&c->targets, &c->ntargets, &c->cap, sizeof(fresh), &fresh, err);
		if (rc)
			return rc;
		m = &c->targets[c->ntargets - 1];
	}
	catalog_target *t = &m->t;
	/* a field given here replaces the inherited one whole */
	if (d->has_title)
		t->title = d->title;
	if (d->has_icon) {
		t->icon = d->icon;
		int rc = resolve_path(&t->icon.text, c, lv->file, d->icon.text, err);
		if (rc)
			return rc;
	}
	if (d->has_category)
		t->category = d->category;
	if (d->has_command) {
		t->command = d->command;
		t->ncommand = d->ncommand;
		m->has_command = true;
	}
	if (d->has_requests) {
		t->requests = d->requests;
		t->nrequests = d->nrequests;
	}
	if (d->has_environment) {
		t->environment = d->environment;
		t->nenvironment = d->nenvironment;
	}
	if (d->has_hidden) {
		t->hidden = d->hidden;
		t->hidden_at = d->hidden_at;
	}
	if (d->has_frozen) {
		t->frozen_platform = d->frozen_platform;
		t->frozen_environment = d->frozen_environment;
		t->nfrozen_environment = d->nfrozen_environment;
	}
	return 0;
}

static int merge_level(catalog_t *c, const catalog__level *lv, sp_error *err)
{
	int rc = 0;
	/* remove first: a file that removes and defines a name starts it anew */
	for (size_t i = 0; i < lv->nremove; i++) {
		const catalog_str *r = &lv->remove[i];
		merged *m = find(c, r->text);
		if (!m) {
			const char *close[3];
			size_t nc = catalog_target_suggest(c, r->text, close, 3);
			return sp_error_set(
			    err, SP_EINVALID,
			    "%s:%zu:%zu: remove: no target '%.200s' is defined above "
			    "this level%s%s%s",
			    r->at.file, r->at.line, r->at.column, r->text,
			    nc ? " (did you mean '" : "", nc ? close[0] : "", nc ? "'?)" : "");
		}
		size_t at = (size_t)(m - c->targets);
		memmove(m, m + 1, (c->ntargets - at - 1) * sizeof(*m));
		c->ntargets--;
	}
	for (size_t i = 0; !rc && i < lv->ntargets; i++)
		rc = merge_target(c, lv, &lv->targets[i], err);
	for (size_t i = 0; !rc && i < lv->npins; i++)
		rc = push((void **)&c->pins, &c->npins, &c->cap_pins, sizeof(*c->pins),
			  &lv->pins[i], err);
	for (size_t i = 0; !rc && i < lv->nenvironment; i++)
		rc = push((void **)&c->env, &c->nenv, &c->cap_env, sizeof(*c->env),
			  &lv->environment[i], err);
	for (size_t i = 0; !rc && i < lv->nplugins; i++) {
		catalog_str p = lv->plugins[i];
		if (!(rc = resolve_path(&p.text, c, lv->file, lv->plugins[i].text, err)))
			rc = push((void **)&c->plugins, &c->nplugins, &c->cap_plugins,
				  sizeof(*c->plugins), &p, err);
	}
	return rc;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const merged *)a)->t.name, ((const merged *)b)->t.name);
}

/* -------------------------------------------------------------- open */

static int read_level(catalog_t *c, int rootfd, const char *dir, bool facility, sp_error *err)
{
	sp_buf rel = {0}, shown = {0};
	int rc = sp_buf_printf(&rel, err, "%s%sspawn.yaml", dir, dir[0] ? "/" : "");
	if (!rc)
		rc = sp_buf_printf(&shown, err, "%s/%s", c->root, rel.data);
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	if (!rc)
		rc = read_file(&text, &len, rootfd, rel.data, shown.data, c->lim.max_file_bytes,
			       err);
	if (rc == SP_ENOTFOUND && facility) {
		rc = sp_error_set(err, SP_ENOTFOUND,
				  "%s is not a catalog: %s is missing (the facility file; see "
				  "docs/catalog.md)",
				  c->root, shown.data);
		goto out;
	}
	if (rc == SP_ENOTFOUND) { /* a level without a file of its own */
		rc = 0;
		goto out;
	}
	if (rc)
		goto out;
	const char *file = catalog__strdup(&c->arena, shown.data, err);
	if (!file) {
		rc = err->code;
		goto out;
	}
	catalog__level *lv = &c->files[c->nfiles];
	rc = catalog__level_parse(lv, &c->arena, text, len, file, facility, err);
	c->nfiles++; /* counted even on failure: catalog_free frees its tree */
	if (!rc)
		rc = merge_level(c, lv, err);
out:
	sp_buf_free(&rel);
	sp_buf_free(&shown);
	return rc;
}

int catalog_open(catalog_t **out, const char *root, const char *context, const catalog_limits *lim,
		 sp_error *err)
{
	*out = NULL;
	if (!context)
		context = "";
	int rc = catalog_context_check(context, err);
	if (rc)
		return rc;
	_cleanup_(catalog_freep) catalog_t *c = calloc(1, sizeof(*c));
	if (!c)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	if (lim)
		c->lim = *lim;
	if (!c->lim.max_file_bytes)
		c->lim.max_file_bytes = DEFAULT_MAX_FILE;
	if (!c->lim.max_targets)
		c->lim.max_targets = DEFAULT_MAX_TARGETS;
	if (!c->lim.max_levels || c->lim.max_levels > 8)
		c->lim.max_levels = 8;
	/* the root as given, without trailing slashes, for messages */
	size_t rl = strlen(root);
	while (rl > 1 && root[rl - 1] == '/')
		rl--;
	c->root = strndup(root, rl);
	c->context = strdup(context);
	if (!c->root || !c->context)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	_cleanup_close_ int rootfd = open(c->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return sp_error_errno(err, "catalog %s", c->root);
	if ((rc = read_level(c, rootfd, "", true, err)))
		return rc;
	const catalog__level *fac = &c->files[0];
	if (fac->levels) {
		if (fac->nlevels > c->lim.max_levels)
			return sp_error_set(err, SP_EINVALID, "%s: more than %zu levels", fac->file,
					    c->lim.max_levels);
		c->level_names = fac->levels;
		c->nlevels = fac->nlevels;
	} else {
		c->level_names = (const char **)default_levels;
		c->nlevels = 3;
	}
	/* the context's values, level by level */
	char *copy = catalog__strdup(&c->arena, context, err);
	if (!copy)
		return err->code;
	for (char *p = copy; *p && !rc;) {
		char *e = strchr(p, '/');
		if (e)
			*e = 0;
		if (c->depth == c->nlevels)
			return sp_error_set(
			    err, SP_EINVALID,
			    "context '%s' is deeper than the catalog's levels (%zu: "
			    "%s%s%s%s%s)",
			    context, c->nlevels, c->level_names[0], c->nlevels > 1 ? ", " : "",
			    c->nlevels > 1 ? c->level_names[1] : "", c->nlevels > 2 ? ", " : "",
			    c->nlevels > 2 ? c->level_names[2] : "");
		c->values[c->depth++] = p;
		p = e ? e + 1 : p + strlen(p);
	}
	sp_buf dir = {0};
	for (size_t i = 0; !rc && i < c->depth; i++) {
		size_t parent_len = dir.len;
		rc = sp_buf_printf(&dir, err, "%s%s", i ? "/" : "", c->values[i]);
		if (rc)
			break;
		_cleanup_close_ int dfd = open_beneath(rootfd, dir.data, O_RDONLY | O_DIRECTORY);
		if (dfd < 0) {
			int e = errno;
			if (e == ENOENT || e == ENOTDIR) {
				char close[600], parent[4096];
				snprintf(parent, sizeof(parent), "%.*s", (int)parent_len, dir.data);
				suggest_dirs(close, sizeof(close), rootfd, parent, c->values[i]);
				rc = sp_error_set(err, SP_ENOTFOUND,
						  "no %s '%s' in the catalog (%s/%s does not "
						  "exist)%s%s%s",
						  c->level_names[i], c->values[i], c->root,
						  dir.data, close[0] ? "; did you mean " : "",
						  close, close[0] ? "?" : "");
			} else if (e == EXDEV || e == ELOOP) {
				rc = sp_error_set(err, SP_EINVALID,
						  "%s/%s leads out of the catalog (a symbolic link "
						  "that leaves its directory)",
						  c->root, dir.data);
			} else {
				errno = e;
				rc = sp_error_errno(err, "%s/%s", c->root, dir.data);
			}
			break;
		}
		rc = read_level(c, rootfd, dir.data, false, err);
	}
	sp_buf_free(&dir);
	if (rc)
		return rc;
	for (size_t i = 0; i < c->ntargets; i++) {
		const catalog_target *t = &c->targets[i].t;
		if (!c->targets[i].has_command)
			return sp_error_set(
			    err, SP_EINVALID,
			    "%s:%zu:%zu: target '%s' has no command (a list of words, "
			    "given here or at a level above)",
			    t->defined_at.file, t->defined_at.line, t->defined_at.column, t->name);
	}
	if (c->ntargets)
		qsort(c->targets, c->ntargets, sizeof(*c->targets), by_name);
	*out = steal_pointer(&c);
	return 0;
}

void catalog_free(catalog_t *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nfiles; i++)
		catalog__level_free(&c->files[i]);
	catalog__arena_free(&c->arena);
	free(c->targets);
	free(c->pins);
	free(c->env);
	free(c->plugins);
	free(c->root);
	free(c->context);
	free(c);
}

void catalog_freep(catalog_t **c)
{
	catalog_free(*c);
	*c = NULL;
}

/* ---------------------------------------------------------- accessors */

const char *catalog_root(const catalog_t *c)
{
	return c->root;
}
const char *catalog_context(const catalog_t *c)
{
	return c->context;
}
size_t catalog_level_count(const catalog_t *c)
{
	return c->nlevels;
}
const char *catalog_level_name(const catalog_t *c, size_t i)
{
	return i < c->nlevels ? c->level_names[i] : NULL;
}
const char *catalog_level_value(const catalog_t *c, size_t i)
{
	return i < c->depth ? c->values[i] : NULL;
}
size_t catalog_file_count(const catalog_t *c)
{
	return c->nfiles;
}
const char *catalog_file(const catalog_t *c, size_t i)
{
	return i < c->nfiles ? c->files[i].file : NULL;
}
size_t catalog_target_count(const catalog_t *c)
{
	return c->ntargets;
}
const catalog_target *catalog_target_at(const catalog_t *c, size_t i)
{
	return i < c->ntargets ? &c->targets[i].t : NULL;
}
const catalog_target *catalog_target_get(const catalog_t *c, const char *name)
{
	size_t lo = 0, hi = c->ntargets;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int cmp = strcmp(c->targets[mid].t.name, name);
		if (!cmp)
			return &c->targets[mid].t;
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

size_t catalog_target_suggest(const catalog_t *c, const char *name, const char **out, size_t max)
{
	size_t n = 0;
	for (size_t dist = 0; dist <= 3 && n < max; dist++)
		for (size_t i = 0; i < c->ntargets && n < max; i++) {
			const char *t = c->targets[i].t.name;
			size_t d = catalog__distance(t, name, 2);
			/* a shared prefix of 3+ counts as distance 3; farther is no match */
			if (d > 2)
				d = strlen(name) >= 3 && !strncmp(t, name, 3) ? 3 : SIZE_MAX;
			if (d == dist)
				out[n++] = t;
		}
	return n;
}

size_t catalog_pin_count(const catalog_t *c)
{
	return c->npins;
}
const catalog_str *catalog_pin_at(const catalog_t *c, size_t i)
{
	return i < c->npins ? &c->pins[i] : NULL;
}
size_t catalog_env_count(const catalog_t *c)
{
	return c->nenv;
}
const catalog_env_op *catalog_env_at(const catalog_t *c, size_t i)
{
	return i < c->nenv ? &c->env[i] : NULL;
}
size_t catalog_plugin_count(const catalog_t *c)
{
	return c->nplugins;
}
const catalog_str *catalog_plugin_at(const catalog_t *c, size_t i)
{
	return i < c->nplugins ? &c->plugins[i] : NULL;
}

int catalog__fuzz_level(const char *text, size_t len, bool facility)
{
	catalog__arena a = {0};
	catalog__level lv;
	sp_error err = {0};
	int rc = catalog__level_parse(&lv, &a, text, len, "fuzz.yaml", facility, &err);
	catalog__level_free(&lv);
	catalog__arena_free(&a);
	return rc;
}
