/* repo_build.c - building recipes into SpFS layers, and the environment of
 * solved builds (see pkg.h, docs/packages.md).
 *
 * Order of a build: solve the build environment; stack its layers (or one
 * empty layer); run the script with /spfs writable, then `spfs commit layer
 * -t spk/build/...` inside the runtime; split that layer by the components'
 * file globs into one layer per component (new manifests over the same
 * payloads) and tag them; publish the build spec last, so a build is only
 * visible once every layer of it is; drop the temporary tag. */
#include "pkg/pkg.h"
#include "pkg/platform.h"
#include "pkg/source.h"
#include "pkg/yamltree.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

/* repo.c, module-internal */
int pkg_repo__doc_text(sp_buf *out, const char *text, size_t len, const char *file, size_t doc,
		       sp_error *err);
int pkg_repo__put_spec(pkg_repo *r, const char *tag, const char *text, size_t len, sp_error *err);

/* ------------------------------------------------------ YAML helpers */

static int edit_cmp(const void *pa, const void *pb)
{
	const pkg__edit *a = pa, *b = pb;
	return a->start < b->start ? -1 : a->start > b->start;
}

/* Replaces the scalars at the edits' positions. */
int pkg__edit_scalars(sp_buf *out, const char *text, size_t len, pkg__edit *ed, size_t n,
		      const char *what, sp_error *err)
{
	yaml_parser_t p;
	if (!yaml_parser_initialize(&p))
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	int rc = 0;
	for (bool done = false; !done && !rc;) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&p, &ev)) {
			rc = sp_error_set(err, SP_EINVALID, "%s: YAML error", what);
			break;
		}
		if (ev.type == YAML_STREAM_END_EVENT)
			done = true;
		if (ev.type == YAML_SCALAR_EVENT)
			for (size_t i = 0; i < n; i++)
				if (!ed[i].found && ed[i].line == ev.start_mark.line + 1 &&
				    ed[i].col == ev.start_mark.column + 1) {
					ed[i].found = true;
					ed[i].start = ev.start_mark.index;
					ed[i].end = ev.end_mark.index;
				}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	for (size_t i = 0; !rc && i < n; i++)
		if (!ed[i].found)
			rc =
			    sp_error_set(err, SP_ERROR, "%s:%zu:%zu: cannot find the value to edit",
					 what, ed[i].line, ed[i].col);
	if (rc)
		return rc;
	qsort(ed, n, sizeof(*ed), edit_cmp);
	size_t at = 0;
	for (size_t i = 0; !rc && i < n; i++) {
		rc = sp_buf_append(out, text + at, ed[i].start - at, err);
		if (!rc)
			rc = sp_buf_append(out, "'", 1, err);
		for (const char *c = ed[i].text; !rc && *c; c++)
			rc = *c == '\'' ? sp_buf_append(out, "''", 2, err)
					: sp_buf_append(out, c, 1, err);
		if (!rc)
			rc = sp_buf_append(out, "'", 1, err);
		at = ed[i].end;
	}
	return rc ? rc : sp_buf_append(out, text + at, len - at, err);
}

/* ------------------------------------------------------------ globs */

/* gitignore-like: "dir/" matches a directory and everything below it; a
 * pattern with a '/' matches from the root; one without matches any path
 * component. */
static bool glob_match(const char *pat, const char *path, bool is_dir)
{
	while (*pat == '/')
		pat++;
	char p[SPFS_MAX_PATH + 1];
	snprintf(p, sizeof(p), "%s", pat);
	size_t pl = strlen(p);
	bool dir_only = pl && p[pl - 1] == '/';
	if (dir_only)
		p[--pl] = '\0';
	if (!pl)
		return false;
	bool anchored = strchr(p, '/') != NULL;
	char prefix[SPFS_MAX_PATH + 1];
	size_t n = strlen(path);
	for (size_t i = 0; i <= n; i++) {
		if (i < n && path[i] != '/')
			continue;
		/* path[0..i) is an ancestor (or the path itself when i == n) */
		bool whole = i == n;
		if (dir_only && whole && !is_dir)
			break;
		snprintf(prefix, sizeof(prefix), "%.*s", (int)i, path);
		const char *comp = strrchr(prefix, '/');
		comp = comp ? comp + 1 : prefix;
		if (anchored ? !fnmatch(p, prefix, FNM_PATHNAME) : !fnmatch(p, comp, 0))
			return true;
	}
	return false;
}

/* The entries of m a component with globs g keeps: matched entries, what
 * is below matched directories, and the parents of both. */
static int split_manifest(spfs_manifest *out, const spfs_manifest *m, const char *const *g,
			  size_t ng, sp_error *err)
{
	_cleanup_free_ bool *keep = calloc(m->count ? m->count : 1, sizeof(*keep));
	if (!keep)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	for (size_t i = 0; i < m->count; i++) {
		const spfs_entry *e = &m->entries[i];
		if (ng == 0) {
			keep[i] = true;
			continue;
		}
		for (size_t k = 0; k < ng && !keep[i]; k++)
			keep[i] = glob_match(g[k], e->path, e->kind == SPFS_ENTRY_DIR);
	}
	/* parents of kept entries */
	for (size_t i = 0; i < m->count; i++) {
		if (!keep[i])
			continue;
		char parent[SPFS_MAX_PATH + 1];
		snprintf(parent, sizeof(parent), "%s", m->entries[i].path);
		char *sl;
		while ((sl = strrchr(parent, '/'))) {
			*sl = '\0';
			const spfs_entry *pe = spfs_manifest_find(m, parent);
			if (pe)
				keep[pe - m->entries] = true;
		}
	}
	int rc = 0;
	for (size_t i = 0; !rc && i < m->count; i++)
		if (keep[i])
			rc = spfs_manifest_push(out, &m->entries[i], err);
	if (!rc)
		spfs_manifest_sort(out);
	return rc;
}

/* Drops the source directory `rel` (and whatever is below it) from m, and
 * those of its parent directories that are left with nothing below them:
 * a build writing into its sources (an in-source build) does not ship
 * them, as SPK purges them. */
static bool in_or_above(const char *q, const char *rel, size_t rl)
{
	size_t ql = strlen(q);
	if (!strncmp(q, rel, rl) && (q[rl] == '\0' || q[rl] == '/'))
		return true;					  /* the sources or below */
	return ql < rl && !strncmp(rel, q, ql) && rel[ql] == '/'; /* a parent */
}

static int drop_sources(spfs_manifest *m, const char *rel, sp_error *err)
{
	size_t rl = strlen(rel);
	spfs_manifest *kept = calloc(1, sizeof(*kept));
	if (!kept)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	int rc = 0;
	for (size_t i = 0; !rc && i < m->count; i++) {
		const char *p = m->entries[i].path;
		size_t pl = strlen(p);
		if (in_or_above(p, rel, rl)) {
			if (pl >= rl)
				continue; /* the sources */
			/* a parent: kept when something else is below it */
			bool other = false;
			for (size_t k = 0; k < m->count && !other; k++) {
				const char *q = m->entries[k].path;
				other =
				    !strncmp(q, p, pl) && q[pl] == '/' && !in_or_above(q, rel, rl);
			}
			if (!other)
				continue;
		}
		rc = spfs_manifest_push(kept, &m->entries[i], err);
	}
	if (!rc) {
		spfs_manifest_sort(kept);
		spfs_manifest t = *m;
		*m = *kept;
		*kept = t;
	}
	spfs_manifest_free(kept);
	return rc;
}

/* ---------------------------------------------------------- layers */

int pkg_repo_layers(sp_digest **out, size_t *n, pkg_repo *r, const solver_result *res,
		    sp_error *err)
{
	*out = NULL;
	*n = 0;
	sp_digest *v = NULL;
	size_t k = 0, cap = 0;
	int rc = 0;
	/* solve order, as SPK stacks them: what was asked for at the bottom,
	 * what it brought in above */
	for (size_t i = 0; !rc && i < solver_result_count(res); i++) {
		const solver_resolved *it = solver_result_get_ordered(res, i);
		if (it->from_source || it->embedded_in)
			continue;
		const solver_build *b = it->build;
		char ver[256];
		solver_version_str(&b->version, ver, sizeof(ver));
		/* a source package has one layer, its `src` component, whatever
		 * components were asked for */
		size_t ncomp = b->is_source ? 1 : it->ncomponents;
		for (size_t c = 0; !rc && c < ncomp; c++) {
			char tag[SPFS_MAX_TAG_NAME + 1];
			snprintf(tag, sizeof(tag), "spk/pkg/%s/%s/%s/%s", b->name, ver, b->build,
				 b->is_source ? "src" : it->components[c]);
			sp_digest d;
			sp_error why = {0};
			int trc = spfs_resolve(&d, NULL, pkg_repo_store(r), tag, &why);
			if (trc == SP_ENOTFOUND)
				continue; /* a spec-only build, or a component with no layer */
			if (trc) {
				rc = sp_error_set(err, trc, "%s", why.msg);
				break;
			}
			bool dup = false;
			for (size_t j = 0; j < k && !dup; j++)
				dup = !sp_digest_cmp(&v[j], &d);
			if (dup)
				continue;
			if (k == cap) {
				cap = cap ? cap * 2 : 16;
				if ((rc = sp_realloc_array((void **)&v, cap, sizeof(*v), err)))
					break;
			}
			v[k++] = d;
		}
	}
	if (rc) {
		free(v);
		return rc;
	}
	*out = v;
	*n = k;
	return 0;
}

/* ------------------------------------------------------ environment */

static void env_name(char *out, size_t n, const char *prefix, const char *name, const char *suffix)
{
	snprintf(out, n, "%s%s%s", prefix, name, suffix);
	for (char *c = out + strlen(prefix); *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9')))
			*c = '_';
}

/* Expands $VAR and ${VAR} from the current environment. */
static int expand(sp_buf *out, const char *s, sp_error *err)
{
	int rc = 0;
	while (*s && !rc) {
		if (*s != '$') {
			rc = sp_buf_append(out, s++, 1, err);
			continue;
		}
		const char *p = s + 1;
		bool brace = *p == '{';
		if (brace)
			p++;
		size_t l = 0;
		while ((p[l] >= 'a' && p[l] <= 'z') || (p[l] >= 'A' && p[l] <= 'Z') ||
		       (p[l] >= '0' && p[l] <= '9') || p[l] == '_')
			l++;
		if (!l || (brace && p[l] != '}')) {
			rc = sp_buf_append(out, s++, 1, err);
			continue;
		}
		char name[256];
		snprintf(name, sizeof(name), "%.*s", (int)l, p);
		const char *v = getenv(name);
		if (v)
			rc = sp_buf_append(out, v, strlen(v), err);
		s = p + l + (brace ? 1 : 0);
	}
	return rc ? rc : sp_buf_append(out, "", 1, err);
}

/* A spec's environment priority: its last `priority: N`, else 50. */
static long env_priority(const pkg_spec *sp)
{
	long p = 50;
	for (size_t k = 0; k < sp->nenv; k++)
		if (!strcmp(sp->env[k].op, "priority") && sp->env[k].var)
			p = strtol(sp->env[k].var, NULL, 10);
	return p;
}

int pkg_env_apply(const pkg_spec *const *specs, size_t n, sp_error *err)
{
	/* lower priorities first, so higher ones are applied last (and win);
	 * equal ones keep the given order (insertion sort: stable, n small) */
	_cleanup_free_ const pkg_spec **order = calloc(n ? n : 1, sizeof(*order));
	if (!order)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		size_t j = i;
		while (j > 0 && env_priority(order[j - 1]) > env_priority(specs[i])) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = specs[i];
	}
	int rc = 0;
	for (size_t i = 0; !rc && i < n; i++) {
		const pkg_spec *sp = order[i];
		for (size_t k = 0; !rc && k < sp->nenv; k++) {
			const pkg_env_op *op = &sp->env[k];
			if (!op->value || !op->var)
				continue;
			sp_buf v = {0}, nv = {0};
			if ((rc = expand(&v, op->value, err)))
				break;
			const char *old = getenv(op->var);
			const char *sep = op->separator ? op->separator : ":";
			if (!strcmp(op->op, "set") || !old || !*old)
				rc = sp_buf_printf(&nv, err, "%s", v.data);
			else if (!strcmp(op->op, "append"))
				rc = sp_buf_printf(&nv, err, "%s%s%s", old, sep, v.data);
			else
				rc = sp_buf_printf(&nv, err, "%s%s%s", v.data, sep, old);
			if (!rc && setenv(op->var, nv.data, 1) < 0)
				rc = sp_error_errno(err, "setenv %s", op->var);
			sp_buf_free(&v);
			sp_buf_free(&nv);
		}
		const solver_build *b = &sp->build;
		char name[300], val[600], ver[256];
		solver_version_str(&b->version, ver, sizeof(ver));
		env_name(name, sizeof(name), "SPK_PKG_", b->name, "");
		snprintf(val, sizeof(val), "%s/%s/%s", b->name, ver, b->build);
		if (!rc && setenv(name, val, 1) < 0)
			rc = sp_error_errno(err, "setenv %s", name);
		env_name(name, sizeof(name), "SPK_PKG_", b->name, "_VERSION");
		if (!rc && setenv(name, ver, 1) < 0)
			rc = sp_error_errno(err, "setenv %s", name);
	}
	return rc;
}

/* ------------------------------------------------- the confined script */

int pkg_build_run_script(const char *script, const char *dir, sp_error *err)
{
	/* the script stays readable after /tmp is covered */
	int sfd = open(script, O_RDONLY | O_NOFOLLOW);
	if (sfd < 0)
		return sp_error_errno(err, "open %s", script);
	/* the script's directory may be below /tmp (a scratch directory):
	 * go there before /tmp is covered */
	if (chdir(dir) < 0)
		return sp_error_errno(err, "cd %s", dir);
	bool no_ns = false;
	spfs_confine_opts co = {.private_tmp = true}; /* spfs/confine.c */
	if (spfs_confine(&co, &no_ns, err)) {
		if (!no_ns)
			return sp_error_prefix(err, "cannot confine the build");
		/* no namespace to be had (user namespaces disabled, as under the
		 * setcap helper): run as before confinement existed, and say so
		 * first thing in the log (spk build repeats it) */
		fprintf(stderr, "%s%s: writes outside /spfs reach the host\n", PKG_BUILD_UNCONFINED,
			err->msg);
	} else if (setenv("TMPDIR", "/tmp", 1) < 0) {
		return sp_error_errno(err, "setenv TMPDIR");
	}
	char fdpath[64];
	snprintf(fdpath, sizeof(fdpath), "/dev/fd/%d", sfd);
	execl("/bin/sh", "sh", "-e", fdpath, (char *)NULL);
	return sp_error_errno(err, "exec /bin/sh");
}

/* ------------------------------------------------------------ build */

static int set_env(const char *name, const char *value, sp_error *err)
{
	return setenv(name, value, 1) < 0 ? sp_error_errno(err, "setenv %s", name) : 0;
}

/* The last lines of a log file, for the failure message. */
static void log_tail(char *out, size_t n, const char *path)
{
	out[0] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	off_t size = lseek(fd, 0, SEEK_END);
	off_t from = size > (off_t)n - 1 ? size - (off_t)n + 1 : 0;
	ssize_t got = pread(fd, out, n - 1, from);
	close(fd);
	if (got < 0)
		got = 0;
	out[got] = '\0';
	/* start at a line boundary */
	if (from > 0) {
		char *nl = strchr(out, '\n');
		if (nl)
			memmove(out, nl + 1, strlen(nl + 1) + 1);
	}
}

/* Sets option `name` ("opt" or "pkg.opt") of build b to value, checking
 * static values and choices. An unknown name is an error when `strict`. */
static int set_opt(solver_option *vals, const solver_build *b, const char *name, const char *value,
		   bool strict, sp_error *err)
{
	size_t bl = strlen(b->name);
	if (!strncmp(name, b->name, bl) && name[bl] == '.')
		name += bl + 1;
	for (size_t i = 0; i < b->noptions; i++) {
		if (strcmp(name, vals[i].name))
			continue;
		if (vals[i].is_static && strcmp(vals[i].value, value))
			return sp_error_set(err, SP_EINVALID, "%s: option %s is static (%s)",
					    b->origin, vals[i].name, vals[i].value);
		bool ok = vals[i].nchoices == 0;
		for (size_t c = 0; c < vals[i].nchoices; c++)
			ok = ok || !strcmp(vals[i].choices[c], value);
		if (!ok)
			return sp_error_set(err, SP_EINVALID,
					    "%s: option %s: '%s' is not one of its choices",
					    b->origin, vals[i].name, value);
		vals[i].value = value;
		return 0;
	}
	return strict ? sp_error_set(err, SP_EINVALID, "%s: %s is not an option of %s", b->origin,
				     name, b->name)
		      : 0;
}

static int build_one(pkg_build_result *res, pkg_repo *r, const pkg_specfile *f,
		     const pkg_spec *spec, const pkg_build_opts *o, sp_error *err)
{
	const char *text = f->text, *file = f->path;
	size_t len = f->len;
	memset(res, 0, sizeof(*res));
	spfs_store *s = pkg_repo_store(r);
	const solver_build *b = &spec->build;
	if (spec->kind != PKG_RECIPE)
		return sp_error_set(err, SP_EINVALID, "%s: %s is not a recipe (pkg: name/version)",
				    b->origin, b->name);
	if (!spec->script)
		return sp_error_set(err, SP_EINVALID, "%s: %s has no build.script", b->origin,
				    b->name);
	char ver[256];
	solver_version_str(&b->version, ver, sizeof(ver));
	/* 1. option values: defaults, then the variant's, then --opt NAME=VALUE
	 * or PKG.NAME=VALUE */
	_cleanup_(solver_arena_freep) solver_arena *a = NULL;
	int rc = solver_arena_new(&a, err);
	if (rc)
		return rc;
	/* the document's own text and tree (component globs, variants, edits) */
	const char *dtext;
	size_t dlen;
	pkg__ynode **docs = NULL;
	size_t ndocs = 0;
	{
		sp_buf doc = {0};
		rc = pkg_repo__doc_text(&doc, text, len, file, spec->line, err);
		dlen = doc.len;
		dtext = rc ? NULL : solver_arena_strndup(a, doc.data, doc.len, err);
		sp_buf_free(&doc);
		if (!rc && !dtext)
			rc = err->code;
		if (!rc)
			rc = pkg__yaml_load(&docs, &ndocs, a, dtext, dlen, file,
					    &pkg_limits_default, err);
		if (!rc && ndocs != 1)
			rc = sp_error_set(err, SP_ERROR, "%s: cannot find the document of %s", file,
					  b->name);
		if (rc)
			return rc;
	}
	/* a platform builds the recipe SPK makes of it (pkg/platform.c) */
	const char *ptext = dtext;
	size_t plen = dlen;
	if (spec->platform && (rc = pkg__platform_doc(&dtext, &dlen, &docs, &ndocs, ptext, plen,
						      file, NULL, r, a, err)))
		return rc;
	solver_option *vals =
	    solver_arena_array(a, b->noptions ? b->noptions : 1, sizeof(*vals), err);
	if (!vals)
		return err->code;
	for (size_t i = 0; i < b->noptions; i++)
		vals[i] = b->options[i];
	if (o->variant >= 0) {
		const pkg__ynode *vs = pkg__ymap_get(pkg__ymap_get(docs[0], "build"), "variants");
		if (!vs || vs->type != PKG__Y_SEQ || (size_t)o->variant >= vs->n)
			return sp_error_set(
			    err, SP_EINVALID, "%s: %s has no variant %d (it has %zu)", b->origin,
			    b->name, o->variant, vs && vs->type == PKG__Y_SEQ ? vs->n : 0);
		const pkg__ynode *v = vs->items[o->variant];
		if (v->type != PKG__Y_MAP)
			return sp_error_set(err, SP_EINVALID,
					    "%s:%zu:%zu: a variant is a mapping of option values",
					    file, v->line, v->col);
		for (size_t k = 0; k + 1 < v->n; k += 2) {
			const pkg__ynode *key = v->items[k], *val = v->items[k + 1];
			if (key->type != PKG__Y_SCALAR || val->type != PKG__Y_SCALAR)
				return sp_error_set(err, SP_EINVALID,
						    "%s:%zu:%zu: a variant's values are scalars",
						    file, key->line, key->col);
			if ((rc = set_opt(vals, b, key->s, val->s, true, err)))
				return sp_error_prefix(err, "variant %d", o->variant);
		}
	}
	for (size_t k = 0; k < o->nopts; k++)
		if ((rc = set_opt(vals, b, o->opts[k].name, o->opts[k].value, false, err)))
			return rc;
	/* a required var option needs a value (docs/spec.md) */
	for (size_t i = 0; i < b->noptions; i++)
		if (vals[i].required && !vals[i].is_pkg && !*vals[i].value)
			return sp_error_set(err, SP_EINVALID,
					    "%s: %s: its required option %s has no value (give one "
					    "with --opt %s=VALUE or a variant)",
					    b->origin, b->name, vals[i].name, vals[i].name);
	/* 2. the build environment */
	solver_opt *sopts = solver_arena_array(a, b->noptions + o->nopts + 1, sizeof(*sopts), err);
	if (!sopts)
		return err->code;
	size_t nso = 0;
	for (size_t i = 0; i < b->noptions; i++)
		if (!vals[i].is_pkg)
			sopts[nso++] = (solver_opt){vals[i].name, vals[i].value};
	/* --opt values for other packages (`--opt python.abi=cp37m`) steer
	 * the build environment, as in SPK */
	for (size_t k = 0; k < o->nopts; k++) {
		bool own = false;
		size_t bl = strlen(b->name);
		const char *nm = o->opts[k].name;
		if (!strncmp(nm, b->name, bl) && nm[bl] == '.')
			nm += bl + 1;
		for (size_t i = 0; i < b->noptions && !own; i++)
			own = !strcmp(vals[i].name, nm);
		if (!own && strchr(nm, '.'))
			sopts[nso++] = o->opts[k];
	}
	solver_request *reqs = solver_arena_array(a, b->nbuild_reqs + 1, sizeof(*reqs), err);
	if (!reqs)
		return err->code;
	for (size_t i = 0; i < b->nbuild_reqs; i++) {
		reqs[i] = b->build_reqs[i];
		/* a pkg option's value overrides the recipe's request */
		for (size_t k = 0; k < b->noptions; k++)
			if (vals[k].is_pkg && !strcmp(vals[k].name, reqs[i].name) &&
			    strcmp(vals[k].value, b->options[k].value)) {
				char t[600];
				snprintf(t, sizeof(t), "%s/%s", vals[k].name, vals[k].value);
				if ((rc = solver_request_parse(&reqs[i], a, t, strlen(t),
							       SOLVER_COMPAT_API, NULL, err)))
					return sp_error_prefix(err, "option %s", vals[k].name);
			}
	}
	_cleanup_(solver_result_freep) solver_result *env = NULL;
	_cleanup_free_ sp_digest *layers = NULL;
	size_t nlayers = 0;
	solver_options so = {
	    .repos = pkg_repo_solver(r),
	    .nrepos = 1,
	    .requests = reqs,
	    .nrequests = b->nbuild_reqs,
	    .opts = sopts,
	    .nopts = nso,
	};
	if (b->nbuild_reqs) {
		rc = solver_solve(&env, &so, err);
		if (rc == SOLVER_EUNSAT)
			return sp_error_set(err, SOLVER_EUNSAT,
					    "cannot solve the build environment of %s/%s:\n%s",
					    b->name, ver, solver_result_explanation(env));
		if (rc)
			return sp_error_prefix(err, "solving the build environment of %s/%s",
					       b->name, ver);
		if ((rc = pkg_repo_layers(&layers, &nlayers, r, env, err)))
			return rc;
	}
	/* 3. a pkg option's value is the version it resolved to (as SPK
	 * records it), so building against another version is another build */
	for (size_t i = 0; env && i < b->noptions; i++) {
		if (!vals[i].is_pkg)
			continue;
		for (size_t k = 0; k < solver_result_count(env); k++) {
			const solver_build *dep = solver_result_get(env, k)->build;
			if (strcmp(dep->name, vals[i].name))
				continue;
			char dv[256];
			solver_version_str(&dep->version, dv, sizeof(dv));
			if (!(vals[i].value = solver_arena_strdup(a, dv, err)))
				return err->code;
		}
	}
	/* what the build environment passes on (Strong options) is part of
	 * the build's options, and so of its id, as in SPK */
	solver_option *inh = NULL;
	size_t ninh = 0;
	if ((rc = pkg__inherited(&inh, &ninh, b, env, a, err)))
		return rc;
	solver_option *all = solver_arena_array(a, b->noptions + ninh + 1, sizeof(*all), err);
	if (!all)
		return err->code;
	memcpy(all, vals, b->noptions * sizeof(*all));
	if (ninh)
		memcpy(all + b->noptions, inh, ninh * sizeof(*all));
	char id[9];
	if ((rc = pkg_build_id(id, all, b->noptions + ninh, err)))
		return rc;
	snprintf(res->ident, sizeof(res->ident), "%s/%s/%s", b->name, ver, id);
	char spec_tag[SPFS_MAX_TAG_NAME + 1], pkg_prefix[SPFS_MAX_TAG_NAME + 1],
	    tmp_tag[SPFS_MAX_TAG_NAME + 1];
	snprintf(spec_tag, sizeof(spec_tag), "spk/spec/%s", res->ident);
	snprintf(pkg_prefix, sizeof(pkg_prefix), "spk/pkg/%s/", res->ident);
	snprintf(tmp_tag, sizeof(tmp_tag), "spk/build/%s", res->ident);
	/* 4. already built? (a spec and at least one layer) */
	if (!o->force) {
		sp_digest d;
		sp_error ignore = {0};
		char comp[SPFS_MAX_TAG_NAME + 1];
		bool built = false;
		for (size_t c = 0; c < b->ncomponents && !built; c++) {
			snprintf(comp, sizeof(comp), "%s%s", pkg_prefix, b->components[c].name);
			built = !spfs_resolve(&d, NULL, s, comp, &ignore);
		}
		if (built && !spfs_resolve(&d, NULL, s, spec_tag, &ignore)) {
			res->skipped = true;
			return 0;
		}
	}
	/* the sources: collected now (spk build), else the published source
	 * package; its layer goes on top of the build environment and the
	 * script runs in it */
	pkg_source_result src = {0};
	bool have_src = false;
	char src_rel[SPFS_MAX_PATH + 1];
	snprintf(src_rel, sizeof(src_rel), "spk/pkg/%s/%s/src", b->name, ver);
	if (o->make_source && !spec->platform) { /* a platform has no sources */
		if ((rc = pkg_repo_make_source(&src, r, f, spec, false, err)))
			return rc;
		have_src = true;
	} else {
		char st[SPFS_MAX_TAG_NAME + 1];
		snprintf(st, sizeof(st), "%s/src", src_rel);
		sp_error why = {0};
		int src_rc = spfs_resolve(&src.layer, NULL, s, st, &why);
		if (src_rc && src_rc != SP_ENOTFOUND)
			return sp_error_set(err, src_rc, "%s", why.msg);
		have_src = src_rc == 0;
		if (!have_src && spec->has_sources)
			return sp_error_set(err, SP_ENOTFOUND,
					    "%s/%s has sources but no source package %s/%s/src "
					    "(spk make-source SPEC.yaml makes it)",
					    b->name, ver, b->name, ver);
	}
	if (have_src) {
		snprintf(res->source, sizeof(res->source), "%s/%s/src", b->name, ver);
		if ((rc = sp_realloc_array((void **)&layers, nlayers + 1, sizeof(*layers), err)))
			return rc;
		layers[nlayers++] = src.layer;
	}
	if (nlayers == 0) {
		/* spfs run needs a stack: one empty layer */
		spfs_manifest empty = {0};
		layers = calloc(1, sizeof(*layers));
		if (!layers)
			return sp_error_set(err, SP_ENOMEM, "out of memory");
		if ((rc = spfs_commit_manifest(&layers[0], s, &empty, NULL, 0, NULL, err)))
			return rc;
		nlayers = 1;
	}
	/* 4. the script, its log, its environment */
	char dir[4096];
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/spk-build-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		return sp_error_errno(err, "mkdtemp %s", dir);
	char script[4200], logp[4200], cwd[4096];
	snprintf(script, sizeof(script), "%s/script.sh", dir);
	snprintf(logp, sizeof(logp), "%s/build.log", dir);
	{
		sp_buf t = {0};
		rc = sp_buf_printf(&t, err, "set -e\n%s\n", spec->script);
		_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (!rc && dfd < 0)
			rc = sp_error_errno(err, "open %s", dir);
		if (!rc)
			rc = sp_atomic_write_at(dfd, "script.sh", t.data, t.len, 0644, err);
		sp_buf_free(&t);
		if (rc)
			return rc;
	}
	const char *slash = strrchr(file, '/');
	if (slash)
		snprintf(cwd, sizeof(cwd), "%.*s", (int)(slash - file), file);
	else
		snprintf(cwd, sizeof(cwd), ".");
	if (slash == file)
		snprintf(cwd, sizeof(cwd), "/");
	char abscwd[4096];
	if (have_src)
		snprintf(abscwd, sizeof(abscwd), "%s/%s", SPFS_RUNTIME_MOUNTPOINT, src_rel);
	else if (!realpath(cwd, abscwd))
		return sp_error_errno(err, "%s", cwd);
	if (env) {
		size_t ne = solver_result_count(env);
		const pkg_spec **specs = solver_arena_array(a, ne ? ne : 1, sizeof(*specs), err);
		if (!specs)
			return err->code;
		size_t k = 0;
		/* in solve order, as spk env applies them */
		for (size_t i = 0; i < ne; i++) {
			const solver_resolved *it = solver_result_get_ordered(env, i);
			const pkg_spec *sp =
			    !it || it->from_source ? NULL : pkg_repo_spec_of(r, it->build);
			if (sp)
				specs[k++] = sp;
		}
		if ((rc = pkg_env_apply(specs, k, err)))
			return rc;
	}
	if ((rc = set_env("PREFIX", SPFS_RUNTIME_MOUNTPOINT, err)) ||
	    (rc = set_env("SPK_PKG_NAME", b->name, err)) ||
	    (rc = set_env("SPK_PKG_VERSION", ver, err)) ||
	    (rc = set_env("SPK_PKG_BUILD", id, err)) ||
	    (rc = set_env("SPK_PKG", res->ident, err)) ||
	    (rc = set_env("SPK_BUILD_SCRIPT", script, err)) ||
	    (rc = set_env("SPK_BUILD_LOG", logp, err)) ||
	    (rc = set_env("SPK_BUILD_DIR", abscwd, err)) ||
	    (rc = set_env("SPK_BUILD_TAG", tmp_tag, err)) ||
	    (rc = set_env("SPK_BUILD_SPFS", o->spfs_exe ? o->spfs_exe : "spfs", err)) ||
	    (rc = set_env("SPK_BUILD_SPK", o->spk_exe ? o->spk_exe : "spk", err)))
		return rc;
	for (size_t i = 0; i < b->noptions; i++) {
		char nm[300];
		env_name(nm, sizeof(nm), "SPK_OPT_", vals[i].name, "");
		if ((rc = set_env(nm, vals[i].value, err)))
			return rc;
	}
	/* 5. run it: the script, then `spfs commit layer` of what it wrote */
	char **refs = calloc(nlayers, sizeof(*refs));
	char(*hex)[SP_DIGEST_HEX_LEN + 1] = calloc(nlayers, sizeof(*hex));
	if (!refs || !hex) {
		free(refs);
		free(hex);
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < nlayers; i++) {
		sp_digest_to_hex(&layers[i], hex[i]);
		refs[i] = hex[i];
	}
	static const char wrapper[] =
	    "cd \"$SPK_BUILD_DIR\" && \"$SPK_BUILD_SPK\" build-script \"$SPK_BUILD_SCRIPT\" "
	    "\"$SPK_BUILD_DIR\" >\"$SPK_BUILD_LOG\" 2>&1 || exit $?\n"
	    "out=$(\"$SPK_BUILD_SPFS\" commit layer -t \"$SPK_BUILD_TAG\" 2>&1) && exit 0\n"
	    "case $out in *'nothing to commit'*) exit 0;; esac\n"
	    "echo \"spk build: $out\" >>\"$SPK_BUILD_LOG\"; exit 120\n";
	char *argv[] = {"/bin/sh", "-c", (char *)wrapper, NULL};
	spfs_run_opts ro = {.editable = true, .no_startup = true};
	(void)spfs_tag_remove(s, tmp_tag, false, &(sp_error){0});
	int status = 0;
	rc = spfs_runtime_run(&status, s, (const char *const *)refs, nlayers, argv, &ro, err);
	free(refs);
	free(hex);
	if (rc)
		return sp_error_prefix(err, "cannot start the build of %s", res->ident);
	res->script_status = status;
	/* a script that could not be confined says so on the log's first line */
	{
		char head[sizeof(res->unconfined)] = "";
		_cleanup_close_ int lfd = open(logp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		ssize_t got = lfd < 0 ? -1 : pread(lfd, head, sizeof(head) - 1, 0);
		size_t pl = strlen(PKG_BUILD_UNCONFINED);
		if (got > (ssize_t)pl && !strncmp(head, PKG_BUILD_UNCONFINED, pl)) {
			head[got] = '\0';
			head[strcspn(head, "\n")] = '\0';
			snprintf(res->unconfined, sizeof(res->unconfined), "%s", head + pl);
		}
	}
	if (status) {
		snprintf(res->log, sizeof(res->log), "%s", logp);
		log_tail(res->tail, sizeof(res->tail), logp);
		(void)spfs_tag_remove(s, tmp_tag, false, &(sp_error){0});
		return sp_error_set(err, SP_ERROR, "the build script of %s failed (exit status %d)",
				    res->ident, status);
	}
	/* 6. split into components and tag them */
	sp_digest whole;
	_cleanup_(spfs_manifest_freep) spfs_manifest *m = NULL;
	sp_error why = {0};
	if (spfs_resolve(&whole, NULL, s, tmp_tag, &why) == 0) {
		_cleanup_(spfs_layer_freep) spfs_layer *l = NULL;
		if ((rc = spfs_read_layer(&l, s, &whole, err)) ||
		    (rc = spfs_read_manifest(&m, s, &l->manifest, err)))
			return sp_error_prefix(err, "reading the build's layer");
	} else {
		m = calloc(1, sizeof(*m)); /* the script wrote nothing */
		if (!m)
			return sp_error_set(err, SP_ENOMEM, "out of memory");
	}
	/* what the script changed in the sources is not part of the package */
	if (have_src && (rc = drop_sources(m, src_rel, err)))
		return rc;
	/* the component globs, from the document's YAML */
	const pkg__ynode *comps = pkg__ymap_get(pkg__ymap_get(docs[0], "install"), "components");
	for (size_t c = 0; !rc && c < b->ncomponents; c++) {
		const char *cn = b->components[c].name;
		const char **globs = NULL;
		size_t ng = 0;
		for (size_t i = 0; comps && comps->type == PKG__Y_SEQ && i < comps->n; i++) {
			const pkg__ynode *nm = pkg__ymap_get(comps->items[i], "name");
			const pkg__ynode *fl = pkg__ymap_get(comps->items[i], "files");
			if (!nm || nm->type != PKG__Y_SCALAR || strcmp(nm->s, cn) || !fl ||
			    fl->type != PKG__Y_SEQ)
				continue;
			globs = solver_arena_array(a, fl->n ? fl->n : 1, sizeof(*globs), err);
			if (!globs) {
				rc = err->code;
				break;
			}
			for (size_t k = 0; k < fl->n; k++)
				if (fl->items[k]->type == PKG__Y_SCALAR)
					globs[ng++] = fl->items[k]->s;
		}
		if (rc)
			break;
		spfs_manifest *part = calloc(1, sizeof(*part));
		if (!part) {
			rc = sp_error_set(err, SP_ENOMEM, "out of memory");
			break;
		}
		char tag[SPFS_MAX_TAG_NAME + 1];
		snprintf(tag, sizeof(tag), "%s%s", pkg_prefix, cn);
		spfs_annotation ann[] = {{"spk.component", (char *)cn},
					 {"spk.package", res->ident}};
		sp_digest ld;
		rc = split_manifest(part, m, globs, ng, err);
		if (!rc)
			rc = spfs_commit_manifest(&ld, s, part, ann, 2, tag, err);
		spfs_manifest_free(part);
		if (rc)
			sp_error_prefix(err, "committing %s", tag);
		else
			res->ncomponents++;
	}
	/* 7. the build spec: the recipe with pkg: NAME/VERSION/BUILD and the
	 * option values used (a platform's inherits from its bases) */
	if (!rc && spec->platform && env)
		rc = pkg__platform_doc(&dtext, &dlen, &docs, &ndocs, ptext, plen, file, env, r, a,
				       err);
	sp_buf bs = {0};
	if (!rc) {
		const pkg__ynode *pk = pkg__ymap_get(docs[0], "pkg");
		const pkg__ynode *ol = pkg__ymap_get(pkg__ymap_get(docs[0], "build"), "options");
		pkg__edit ed[66];
		size_t ne = 0;
		ed[ne++] = (pkg__edit){.line = pk->line, .col = pk->col, .text = res->ident};
		for (size_t i = 0;
		     ol && ol->type == PKG__Y_SEQ && i < ol->n && i < b->noptions && !rc; i++) {
			if (!strcmp(vals[i].value, b->options[i].value))
				continue;
			if (ne == sizeof(ed) / sizeof(ed[0])) {
				rc = sp_error_set(err, SP_EINVALID, "%s: too many options changed",
						  file);
				break;
			}
			/* "var: NAME/VALUE" (a default: key is then ignored); a pkg
			 * option keeps its ":components" */
			const pkg__ynode *w =
			    pkg__ymap_get(ol->items[i], vals[i].is_pkg ? "pkg" : "var");
			if (!w || w->type != PKG__Y_SCALAR) {
				rc = sp_error_set(err, SP_ERROR, "%s: cannot find option %s", file,
						  vals[i].name);
				break;
			}
			const char *sl = strchr(w->s, '/');
			int pl = sl ? (int)(sl - w->s) : (int)strlen(w->s);
			size_t tl = (size_t)pl + strlen(vals[i].value) + 2;
			char *t = solver_arena_alloc(a, tl, err);
			if (!t) {
				rc = err->code;
				break;
			}
			snprintf(t, tl, "%.*s/%s", pl, w->s, vals[i].value);
			ed[ne++] = (pkg__edit){.line = w->line, .col = w->col, .text = t};
		}
		if (!rc)
			rc = pkg__edit_scalars(&bs, dtext, dlen, ed, ne, file, err);
		/* and what its build environment passes on (Strong options) */
		sp_buf rendered = {0};
		if (!rc && ninh &&
		    !(rc = pkg__render_inherited(&rendered, bs.data, bs.len, inh, ninh, file,
						 err))) {
			sp_buf_free(&bs);
			bs = rendered;
		} else {
			sp_buf_free(&rendered);
		}
	}
	/* the sources collected for this build are published with it */
	if (!rc && have_src && o->make_source) {
		rc = pkg_repo__publish_source(&src, r, f, spec, err);
		res->source_changed = src.changed;
	}
	/* its first line names the recipe it was built from (spec.c) */
	sp_buf pub = {0};
	if (!rc)
		rc = pkg__with_origin(&pub, spec, ninh == 0, bs.data, bs.len, err);
	if (!rc)
		rc = pkg_repo__put_spec(r, spec_tag, pub.data, pub.len, err);
	sp_buf_free(&pub);
	sp_buf_free(&bs);
	(void)spfs_tag_remove(s, tmp_tag, false, &(sp_error){0});
	if (rc)
		return rc;
	/* the recipe too, when it is not published yet */
	char recipe_tag[SPFS_MAX_TAG_NAME + 1];
	snprintf(recipe_tag, sizeof(recipe_tag), "spk/spec/%s/%s", b->name, ver);
	sp_digest d;
	if (spfs_resolve(&d, NULL, s, recipe_tag, &why) == SP_ENOTFOUND) {
		sp_buf rt = {0};
		rc = pkg__origin_comment(&rt, spec, true, err);
		if (!rc)
			rc = pkg_repo__doc_text(&rt, text, len, file, spec->line, err);
		if (!rc)
			rc = pkg_repo__put_spec(r, recipe_tag, rt.data, rt.len, err);
		sp_buf_free(&rt);
	}
	if (!rc)
		rc = pkg_repo_write_index(r, err);
	if (!rc) {
		/* the log is only kept when the build failed */
		unlink(script);
		unlink(logp);
		rmdir(dir);
	}
	return rc;
}

/* A build sets variables for its script in this process (the runtime's
 * child inherits them); they are put back afterwards, so that building
 * several recipes in one process does not leak one's environment into the
 * next. */
int pkg_repo_build(pkg_build_result *res, pkg_repo *r, const pkg_specfile *f, const pkg_spec *spec,
		   const pkg_build_opts *o, sp_error *err)
{
	extern char **environ;
	size_t n = 0;
	while (environ && environ[n])
		n++;
	char **saved = calloc(n + 1, sizeof(*saved));
	if (!saved)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		if (!(saved[i] = strdup(environ[i]))) {
			for (size_t k = 0; k < i; k++)
				free(saved[k]);
			free(saved);
			return sp_error_set(err, SP_ENOMEM, "out of memory");
		}
	int rc = build_one(res, r, f, spec, o, err);
	clearenv();
	for (size_t i = 0; i < n; i++) {
		char *eq = strchr(saved[i], '=');
		if (eq) {
			*eq = '\0';
			(void)setenv(saved[i], eq + 1, 1);
		}
		free(saved[i]);
	}
	free(saved);
	return rc;
}
