/* repo_build.c - building recipes into SpFS layers, and the environment of
 * solved builds (see pkg.h, docs/packages.md).
 *
 * Order of a build: solve the build environment; stack its layers (or one
 * empty layer); run the script with /spfs writable, then `spfs commit layer
 * -t spk/build/...` inside the runtime; split that layer by the components'
 * file globs into one layer per component (new manifests over the same
 * payloads) and tag them; publish the build spec last, so a build is only
 * visible once every layer of it is; drop the temporary tag. */
#include "pkg/build_plan.h"
#include "pkg/pkg.h"
#include "pkg/platform.h"
#include "pkg/source.h"

#include <errno.h>
#include <fcntl.h>
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

/* The entries of m a component with `files` rules g keeps (files_match.c:
 * matched entries and what is below matched directories, less what `!`
 * rules exclude), and the parents of those. */
static int split_manifest(spfs_manifest *out, const spfs_manifest *m, const pkg__plan_component *pc,
			  bool *seen, sp_error *err)
{
	_cleanup_free_ bool *keep = calloc(m->count ? m->count : 1, sizeof(*keep));
	if (!keep)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	for (size_t i = 0; i < m->count; i++) {
		const spfs_entry *e = &m->entries[i];
		bool match = pc->nrules == 0 || pkg__files_match(pc->rules, pc->nrules, e->path,
								 e->kind == SPFS_ENTRY_DIR);
		/* SPK: a Remaining component takes only what no component
		 * before it matched */
		keep[i] = match && !(pc->remaining && seen[i]);
		seen[i] = seen[i] || match;
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
	sp_digest *v = NULL, *mv = NULL; /* layers, and their manifests */
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
				rc = sp_error_move(err, &why);
				break;
			}
			/* components with the same files (build and run without
			 * globs) are layers of one manifest: it is stacked once
			 * (one render cannot be two lower directories) */
			_cleanup_(spfs_layer_freep) spfs_layer *l = NULL;
			if ((rc = spfs_read_layer(&l, pkg_repo_store(r), &d, err)))
				break;
			bool dup = false;
			for (size_t j = 0; j < k && !dup; j++)
				dup = !sp_digest_cmp(&v[j], &d) ||
				      !sp_digest_cmp(&mv[j], &l->manifest);
			if (dup)
				continue;
			if (k == cap) {
				cap = cap ? cap * 2 : 16;
				if ((rc = sp_realloc_array((void **)&v, cap, sizeof(*v), err)) ||
				    (rc = sp_realloc_array((void **)&mv, cap, sizeof(*mv), err)))
					break;
			}
			mv[k] = l->manifest;
			v[k++] = d;
		}
	}
	free(mv);
	if (rc) {
		free(v);
		return rc;
	}
	*out = v;
	*n = k;
	return 0;
}

/* ------------------------------------------------------ environment */

/* Expands $VAR and ${VAR} from the current environment. */
static const char *process_env(void *ud, const char *name)
{
	(void)ud;
	return getenv(name);
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
	_cleanup_(solver_arena_freep) solver_arena *a = NULL; /* the SPK_PKG_* variables */
	for (size_t i = 0; !rc && i < n; i++) {
		const pkg_spec *sp = order[i];
		for (size_t k = 0; !rc && k < sp->nenv; k++) {
			const pkg_env_op *op = &sp->env[k];
			if (!op->value || !op->var)
				continue;
			_cleanup_free_ char *v = NULL;
			sp_buf nv = {0};
			if ((rc = sp_expand_vars(&v, op->value, process_env, NULL, err)))
				break;
			const char *old = getenv(op->var);
			const char *sep = op->separator ? op->separator : ":";
			if (!strcmp(op->op, "set") || !old || !*old)
				rc = sp_buf_printf(&nv, err, "%s", v);
			else if (!strcmp(op->op, "append"))
				rc = sp_buf_printf(&nv, err, "%s%s%s", old, sep, v);
			else
				rc = sp_buf_printf(&nv, err, "%s%s%s", v, sep, old);
			if (!rc && setenv(op->var, nv.data, 1) < 0)
				rc = sp_error_errno(err, "setenv %s", op->var);
			sp_buf_free(&nv);
		}
		/* SPK_PKG_<name>, _VERSION, _BUILD, _VERSION_MAJOR... as SPK
		 * sets them for a solution */
		pkg__var *v = NULL;
		size_t nv = 0, cap = 0;
		if (!rc && !a)
			rc = solver_arena_new(&a, err);
		if (!rc)
			rc = pkg__pkg_vars(&v, &nv, &cap, a, &sp->build, true, err);
		for (size_t k = 0; !rc && k < nv; k++)
			if (setenv(v[k].name, v[k].value, 1) < 0)
				rc = sp_error_errno(err, "setenv %s", v[k].name);
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
	/* as SPK runs it: bash from the environment's PATH, -e to stop at the
	 * first failure, -x to log each command */
	execlp("bash", "bash", "-ex", fdpath, (char *)NULL);
	return sp_error_errno(err, "exec bash");
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

/* What one build carries from step to step. */
typedef struct build_ctx {
	pkg_build_result *res;
	pkg_repo *r;
	spfs_store *s;
	const pkg_spec *spec;
	const pkg_specfile *f;	 /* the spec file */
	const char *text, *file; /* its (rendered) text and path */
	size_t len;
	const pkg_build_opts *o;
	solver_arena *a;
	const char *dtext; /* the recipe's own document (a platform's: the
			    * recipe SPK makes of it) */
	size_t dlen;
	const pkg__ynode *doc;
	const char *ptext; /* a platform's own document */
	size_t plen;
	pkg__build_plan plan;
	solver_result *env; /* the solved build environment (owned) */
	pkg__build_dep *deps;
	size_t ndeps;
	sp_digest *layers; /* the runtime's stack (malloc'd) */
	size_t nlayers;
	pkg_source_result src;
	bool have_src;
	char src_rel[SPFS_MAX_PATH + 1];
	char spec_tag[SPFS_MAX_TAG_NAME + 1], pkg_prefix[SPFS_MAX_TAG_NAME + 1],
	    tmp_tag[SPFS_MAX_TAG_NAME + 1];
	char dir[4096], script[4200], logp[4200];
	pkg__validation val;  /* build.validation */
	pkg__env_files files; /* the build environment's files */
} build_ctx;

int pkg__recipe_doc(const pkg__ynode **doc, const char **dtext, size_t *dlen, solver_arena *a,
		    const char *text, size_t len, const char *file, const pkg_spec *spec,
		    sp_error *err)
{
	sp_buf d = {0};
	int rc = pkg_repo__doc_text(&d, text, len, file, spec->line, err);
	*dlen = d.len;
	*dtext = rc ? NULL : solver_arena_strndup(a, d.data, d.len, err);
	sp_buf_free(&d);
	if (!rc && !*dtext)
		rc = err->code;
	pkg__ynode **docs = NULL;
	size_t ndocs = 0;
	if (!rc)
		rc =
		    pkg__yaml_load(&docs, &ndocs, a, *dtext, *dlen, file, &pkg_limits_default, err);
	if (!rc && ndocs != 1)
		rc = sp_error_set(err, SP_ERROR, "%s: cannot find the document of %s", file,
				  spec->build.name);
	if (!rc)
		*doc = docs[0];
	return rc;
}

/* The recipe's own document: its text and tree (variants, component globs,
 * the build spec's edits). */
static int load_doc(build_ctx *c, sp_error *err)
{
	int rc = pkg__recipe_doc(&c->doc, &c->dtext, &c->dlen, c->a, c->text, c->len, c->file,
				 c->spec, err);
	if (rc || !c->spec->platform)
		return rc;
	/* a platform builds the recipe SPK makes of it (pkg/platform.c) */
	c->ptext = c->dtext;
	c->plen = c->dlen;
	pkg__ynode **docs = NULL;
	size_t ndocs = 0;
	rc = pkg__platform_doc(&c->dtext, &c->dlen, &docs, &ndocs, c->ptext, c->plen, c->file, NULL,
			       c->r, c->a, err);
	if (!rc)
		c->doc = docs[0];
	return rc;
}

/* Solves the build environment and lists it in solve order, with the
 * layers it stacks. */
static int solve_env(build_ctx *c, sp_error *err)
{
	const pkg__build_plan *p = &c->plan;
	const solver_build *b = &c->spec->build;
	if (!p->nreqs)
		return 0;
	solver_options so = {
	    .repos = pkg_repo_solver(c->r),
	    .nrepos = 1,
	    .requests = p->reqs,
	    .nrequests = p->nreqs,
	    .opts = p->solve_opts,
	    .nopts = p->nsolve_opts,
	};
	int rc = solver_solve(&c->env, &so, err);
	if (rc == SOLVER_EUNSAT) { /* the explanation is long: the error's detail */
		sp_error_set(err, SOLVER_EUNSAT, "cannot solve the build environment of %s/%s",
			     b->name, p->version);
		return sp_error_set_detail(err, solver_result_explanation(c->env));
	}
	if (rc)
		return sp_error_prefix(err, "solving the build environment of %s/%s", b->name,
				       p->version);
	size_t ne = solver_result_count(c->env);
	c->deps = solver_arena_array(c->a, ne + 1, sizeof(*c->deps), err);
	if (!c->deps)
		return err->code;
	for (size_t i = 0; i < ne; i++) {
		const solver_resolved *it = solver_result_get_ordered(c->env, i);
		if (!it)
			continue;
		c->deps[c->ndeps++] = (pkg__build_dep){
		    .build = it->build,
		    .spec = it->from_source ? NULL : pkg_repo_spec_of(c->r, it->build)};
	}
	return pkg_repo_layers(&c->layers, &c->nlayers, c->r, c->env, err);
}

/* The files of the build environment and their packages, for the
 * validation rules: each resolved build's component layers, in stack
 * order. */
static int env_files(build_ctx *c, sp_error *err)
{
	int rc = 0;
	for (size_t i = 0; c->env && !rc && i < solver_result_count(c->env); i++) {
		const solver_resolved *it = solver_result_get_ordered(c->env, i);
		if (it->from_source || it->embedded_in || it->build->is_source)
			continue;
		const solver_build *b = it->build;
		char ver[256];
		solver_version_str(&b->version, ver, sizeof(ver));
		for (size_t k = 0; !rc && k < it->ncomponents; k++) {
			char tag[SPFS_MAX_TAG_NAME + 1];
			snprintf(tag, sizeof(tag), "spk/pkg/%s/%s/%s/%s", b->name, ver, b->build,
				 it->components[k]);
			sp_digest d;
			sp_error why = {0};
			if (spfs_resolve(&d, NULL, c->s, tag, &why))
				continue; /* a component without a layer */
			_cleanup_(spfs_layer_freep) spfs_layer *l = NULL;
			_cleanup_(spfs_manifest_freep) spfs_manifest *m = NULL;
			if ((rc = spfs_read_layer(&l, c->s, &d, err)) ||
			    (rc = spfs_read_manifest(&m, c->s, &l->manifest, err)))
				return sp_error_prefix(err, "reading %s", tag);
			rc = pkg__env_files_add(&c->files, c->a, m, b->name, err);
		}
	}
	pkg__env_files_finish(&c->files);
	return rc;
}

/* Already built? (a spec and at least one layer) */
static bool already_built(build_ctx *c)
{
	sp_digest d;
	sp_error ignore = {0};
	char comp[SPFS_MAX_TAG_NAME + 1];
	const solver_build *b = &c->spec->build;
	bool built = false;
	for (size_t i = 0; i < b->ncomponents && !built; i++) {
		snprintf(comp, sizeof(comp), "%s%s", c->pkg_prefix, b->components[i].name);
		built = !spfs_resolve(&d, NULL, c->s, comp, &ignore);
	}
	return built && !spfs_resolve(&d, NULL, c->s, c->spec_tag, &ignore);
}

/* The sources: collected now (spk build), else the published source
 * package; its layer goes on top of the build environment and the script
 * runs in it. */
static int prepare_sources(build_ctx *c, sp_error *err)
{
	const solver_build *b = &c->spec->build;
	const char *ver = c->plan.version;
	int rc = 0;
	snprintf(c->src_rel, sizeof(c->src_rel), "spk/pkg/%s/%s/src", b->name, ver);
	if (c->o->make_source && !c->spec->platform) { /* a platform has no sources */
		if ((rc = pkg_repo_make_source(&c->src, c->r, c->f, c->spec, false, err)))
			return rc;
		c->have_src = true;
	} else {
		char st[SPFS_MAX_TAG_NAME + 1];
		snprintf(st, sizeof(st), "%s/src", c->src_rel);
		sp_error why = {0};
		int src_rc = spfs_resolve(&c->src.layer, NULL, c->s, st, &why);
		if (src_rc && src_rc != SP_ENOTFOUND)
			return sp_error_move(err, &why);
		c->have_src = src_rc == 0;
		if (!c->have_src && c->spec->has_sources)
			return sp_error_set(err, SP_ENOTFOUND,
					    "%s/%s has sources but no source package %s/%s/src "
					    "(spk make-source SPEC.yaml makes it)",
					    b->name, ver, b->name, ver);
	}
	if (c->have_src) {
		snprintf(c->res->source, sizeof(c->res->source), "%s/%s/src", b->name, ver);
		if ((rc = sp_realloc_array((void **)&c->layers, c->nlayers + 1, sizeof(*c->layers),
					   err)))
			return rc;
		c->layers[c->nlayers++] = c->src.layer;
	}
	if (c->nlayers == 0) {
		/* spfs run needs a stack: one empty layer */
		spfs_manifest empty = {0};
		c->layers = calloc(1, sizeof(*c->layers));
		if (!c->layers)
			return sp_error_set(err, SP_ENOMEM, "out of memory");
		if ((rc = spfs_commit_manifest(&c->layers[0], c->s, &empty, NULL, 0, NULL, err)))
			return rc;
		c->nlayers = 1;
	}
	return 0;
}

/* The script (bash -ex, as SPK runs it), its log, its environment. */
static int write_script(build_ctx *c, sp_error *err)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(c->dir, sizeof(c->dir), "%s/spk-build-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(c->dir))
		return sp_error_errno(err, "mkdtemp %s", c->dir);
	snprintf(c->script, sizeof(c->script), "%s/script.sh", c->dir);
	snprintf(c->logp, sizeof(c->logp), "%s/build.log", c->dir);
	_cleanup_close_ int dfd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return sp_error_errno(err, "open %s", c->dir);
	const char *s = c->spec->script;
	return sp_atomic_write_at(dfd, "script.sh", s, strlen(s), 0644, err);
}

static int set_build_env(build_ctx *c, sp_error *err)
{
	const pkg__build_plan *p = &c->plan;
	char cwd[4096], abscwd[4096];
	const char *slash = strrchr(c->file, '/');
	if (slash)
		snprintf(cwd, sizeof(cwd), "%.*s", (int)(slash - c->file), c->file);
	else
		snprintf(cwd, sizeof(cwd), ".");
	if (slash == c->file)
		snprintf(cwd, sizeof(cwd), "/");
	if (c->have_src)
		snprintf(abscwd, sizeof(abscwd), "%s/%s", SPFS_RUNTIME_MOUNTPOINT, c->src_rel);
	else if (!realpath(cwd, abscwd))
		return sp_error_errno(err, "%s", cwd);
	int rc = pkg_env_apply(p->env_specs, p->nenv_specs, err);
	for (size_t i = 0; !rc && i < p->nvars; i++)
		rc = set_env(p->vars[i].name, p->vars[i].value, err);
	if (rc || (rc = set_env("SPK_BUILD_SCRIPT", c->script, err)) ||
	    (rc = set_env("SPK_BUILD_LOG", c->logp, err)) ||
	    (rc = set_env("SPK_BUILD_DIR", abscwd, err)) ||
	    (rc = set_env("SPK_BUILD_TAG", c->tmp_tag, err)) ||
	    (rc = set_env("SPK_BUILD_SPFS", c->o->spfs_exe ? c->o->spfs_exe : "spfs", err)) ||
	    (rc = set_env("SPK_BUILD_SPK", c->o->spk_exe ? c->o->spk_exe : "spk", err)) ||
	    (rc = set_env("SHELL", "bash", err)))
		return rc;
	return 0;
}

/* Runs the script, then `spfs commit layer` of what it wrote, in a runtime
 * over the stack. */
static int run_script(build_ctx *c, sp_error *err)
{
	pkg_build_result *res = c->res;
	_cleanup_free_ char **refs = calloc(c->nlayers, sizeof(*refs));
	_cleanup_free_ char(*hex)[SP_DIGEST_HEX_LEN + 1] = calloc(c->nlayers, sizeof(*hex));
	if (!refs || !hex)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	for (size_t i = 0; i < c->nlayers; i++) {
		sp_digest_to_hex(&c->layers[i], hex[i]);
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
	(void)spfs_tag_remove(c->s, c->tmp_tag, false, &(sp_error){0});
	int status = 0;
	int rc =
	    spfs_runtime_run(&status, c->s, (const char *const *)refs, c->nlayers, argv, &ro, err);
	if (rc)
		return sp_error_prefix(err, "cannot start the build of %s", res->ident);
	res->script_status = status;
	/* a script that could not be confined says so on the log's first line */
	char head[sizeof(res->unconfined)] = "";
	_cleanup_close_ int lfd = open(c->logp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t got = lfd < 0 ? -1 : pread(lfd, head, sizeof(head) - 1, 0);
	size_t pl = strlen(PKG_BUILD_UNCONFINED);
	if (got > (ssize_t)pl && !strncmp(head, PKG_BUILD_UNCONFINED, pl)) {
		head[got] = '\0';
		head[strcspn(head, "\n")] = '\0';
		snprintf(res->unconfined, sizeof(res->unconfined), "%s", head + pl);
	}
	if (status) {
		snprintf(res->log, sizeof(res->log), "%s", c->logp);
		log_tail(res->tail, sizeof(res->tail), c->logp);
		(void)spfs_tag_remove(c->s, c->tmp_tag, false, &(sp_error){0});
		return sp_error_set(err, SP_ERROR, "the build script of %s failed (exit status %d)",
				    res->ident, status);
	}
	return 0;
}

/* Splits what the script wrote into the components' layers and tags them. */
static int publish_components(build_ctx *c, sp_error *err)
{
	sp_digest whole;
	_cleanup_(spfs_manifest_freep) spfs_manifest *m = NULL;
	sp_error why = {0};
	int rc = 0;
	if (spfs_resolve(&whole, NULL, c->s, c->tmp_tag, &why) == 0) {
		_cleanup_(spfs_layer_freep) spfs_layer *l = NULL;
		if ((rc = spfs_read_layer(&l, c->s, &whole, err)) ||
		    (rc = spfs_read_manifest(&m, c->s, &l->manifest, err)))
			return sp_error_prefix(err, "reading the build's layer");
	} else {
		m = calloc(1, sizeof(*m)); /* the script wrote nothing */
		if (!m)
			return sp_error_set(err, SP_ENOMEM, "out of memory");
	}
	/* what the script changed in the sources is not part of the package */
	if (c->have_src && (rc = drop_sources(m, c->src_rel, err)))
		return rc;
	/* what it did to the environment's files, by build.validation */
	const pkg__ynode *lic = pkg__ymap_get(pkg__ymap_get(c->doc, "meta"), "license");
	if ((rc = pkg__validate_build(&c->val, c->spec->build.name, &c->files, m, lic != NULL,
				      err))) {
		(void)spfs_tag_remove(c->s, c->tmp_tag, false, &(sp_error){0});
		return rc;
	}
	_cleanup_free_ bool *seen = calloc(m->count + 1, sizeof(*seen));
	if (!seen)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	for (size_t i = 0; !rc && i < c->plan.ncomponents; i++) {
		const pkg__plan_component *pc = &c->plan.components[i];
		spfs_manifest *part = calloc(1, sizeof(*part));
		if (!part)
			return sp_error_set(err, SP_ENOMEM, "out of memory");
		char tag[SPFS_MAX_TAG_NAME + 1];
		snprintf(tag, sizeof(tag), "%s%s", c->pkg_prefix, pc->name);
		spfs_annotation ann[] = {{"spk.component", (char *)pc->name},
					 {"spk.package", c->res->ident}};
		sp_digest ld;
		rc = split_manifest(part, m, pc, seen, err);
		if (!rc)
			rc = spfs_commit_manifest(&ld, c->s, part, ann, 2, tag, err);
		spfs_manifest_free(part);
		if (rc)
			sp_error_prefix(err, "committing %s", tag);
		else
			c->res->ncomponents++;
	}
	return rc;
}

/* The build spec: the recipe with pkg: NAME/VERSION/BUILD, the option
 * values used, and what the build gained (host and inherited options). */
static int render_build_spec(build_ctx *c, sp_buf *bs, sp_error *err)
{
	const pkg__build_plan *p = &c->plan;
	const solver_build *b = &c->spec->build;
	const pkg__ynode *pk = pkg__ymap_get(c->doc, "pkg");
	const pkg__ynode *ol = pkg__ymap_get(pkg__ymap_get(c->doc, "build"), "options");
	pkg__edit ed[66];
	size_t ne = 0;
	int rc = 0;
	ed[ne++] = (pkg__edit){.line = pk->line, .col = pk->col, .text = c->res->ident};
	for (size_t i = 0; ol && ol->type == PKG__Y_SEQ && i < ol->n && i < p->nown; i++) {
		if (!strcmp(p->opts[i].value, b->options[i].value))
			continue;
		if (ne == sizeof(ed) / sizeof(ed[0]))
			return sp_error_set(err, SP_EINVALID, "%s: too many options changed",
					    c->file);
		/* "var: NAME/VALUE" (a default: key is then ignored); a pkg
		 * option keeps its ":components" */
		const pkg__ynode *w =
		    pkg__ymap_get(ol->items[i], p->opts[i].is_pkg ? "pkg" : "var");
		if (!w || w->type != PKG__Y_SCALAR)
			return sp_error_set(err, SP_ERROR, "%s: cannot find option %s", c->file,
					    p->opts[i].name);
		const char *sl = strchr(w->s, '/');
		int pl = sl ? (int)(sl - w->s) : (int)strlen(w->s);
		size_t tl = (size_t)pl + strlen(p->opts[i].value) + 2;
		char *t = solver_arena_alloc(c->a, tl, err);
		if (!t)
			return err->code;
		snprintf(t, tl, "%.*s/%s", pl, w->s, p->opts[i].value);
		ed[ne++] = (pkg__edit){.line = w->line, .col = w->col, .text = t};
	}
	sp_buf edited = {0};
	if ((rc = pkg__edit_scalars(&edited, c->dtext, c->dlen, ed, ne, c->file, err))) {
		sp_buf_free(&edited);
		return rc;
	}
	/* host options gained and what the build environment passes on
	 * (Strong options) */
	size_t nadd = p->nopts - p->nown + p->ninherited;
	if (!nadd) {
		*bs = edited;
		return 0;
	}
	solver_option *add = solver_arena_array(c->a, nadd, sizeof(*add), err);
	if (!add) {
		sp_buf_free(&edited);
		return err->code;
	}
	memcpy(add, p->opts + p->nown, (p->nopts - p->nown) * sizeof(*add));
	for (size_t i = 0; i < p->ninherited; i++) {
		solver_option *x = &add[p->nopts - p->nown + i];
		*x = p->inherited[i];
		/* a `suppress` request: an option of the build, not a
		 * requirement of its users */
		for (size_t k = 0; k < b->nsuppressed; k++)
			if (!strcmp(b->suppressed[k], x->name))
				x->inheritance = SOLVER_INHERIT_STRONG_BUILD;
	}
	rc = pkg__render_inherited(bs, edited.data, edited.len, add, nadd, c->file, err);
	sp_buf_free(&edited);
	return rc;
}

/* Publishes the sources (spk build), the build spec last, then the recipe
 * when it is not published yet, and the index. */
static int publish_spec(build_ctx *c, sp_error *err)
{
	sp_buf bs = {0};
	int rc = 0;
	/* a platform's recipe inherits from its bases in the environment */
	if (c->spec->platform && c->env) {
		pkg__ynode **docs = NULL;
		size_t ndocs = 0;
		rc = pkg__platform_doc(&c->dtext, &c->dlen, &docs, &ndocs, c->ptext, c->plen,
				       c->file, c->env, c->r, c->a, err);
		if (!rc)
			c->doc = docs[0];
	}
	if (!rc)
		rc = render_build_spec(c, &bs, err);
	if (!rc && c->have_src && c->o->make_source) {
		rc = pkg_repo__publish_source(&c->src, c->r, c->f, c->spec, err);
		c->res->source_changed = c->src.changed;
	}
	/* its first line names the recipe it was built from (spec.c); lines
	 * keep their numbers unless options were inserted */
	const pkg__build_plan *p = &c->plan;
	bool same_lines = p->nopts - p->nown + p->ninherited == 0;
	sp_buf pub = {0};
	if (!rc)
		rc = pkg__with_origin(&pub, c->spec, same_lines, bs.data, bs.len, err);
	if (!rc)
		rc = pkg_repo__put_spec(c->r, c->spec_tag, pub.data, pub.len, err);
	sp_buf_free(&pub);
	sp_buf_free(&bs);
	(void)spfs_tag_remove(c->s, c->tmp_tag, false, &(sp_error){0});
	if (rc)
		return rc;
	const solver_build *b = &c->spec->build;
	char recipe_tag[SPFS_MAX_TAG_NAME + 1];
	snprintf(recipe_tag, sizeof(recipe_tag), "spk/spec/%s/%s", b->name, c->plan.version);
	sp_digest d;
	sp_error why = {0};
	if (spfs_resolve(&d, NULL, c->s, recipe_tag, &why) == SP_ENOTFOUND) {
		sp_buf rt = {0};
		rc = pkg__origin_comment(&rt, c->spec, true, err);
		if (!rc)
			rc = pkg_repo__doc_text(&rt, c->text, c->len, c->file, c->spec->line, err);
		if (!rc)
			rc = pkg_repo__put_spec(c->r, recipe_tag, rt.data, rt.len, err);
		sp_buf_free(&rt);
	}
	return rc ? rc : pkg_repo_write_index(c->r, err);
}

static int build_one(build_ctx *c, sp_error *err)
{
	pkg_build_result *res = c->res;
	const pkg_spec *spec = c->spec;
	const solver_build *b = &spec->build;
	if (spec->kind != PKG_RECIPE)
		return sp_error_set(err, SP_EINVALID, "%s: %s is not a recipe (pkg: name/version)",
				    b->origin, b->name);
	if (!spec->script)
		return sp_error_set(err, SP_EINVALID, "%s: %s has no build.script", b->origin,
				    b->name);
	int rc = load_doc(c, err);
	if (!rc)
		rc = pkg__validation_parse(&c->val, c->a, c->doc, c->file, err);
	/* 1. the plan: options (with the host's), the environment's requests */
	pkg__host host = {0};
	if (!rc && !c->o->no_host)
		rc = pkg__host_detect(&host, c->a, err);
	if (!rc)
		rc = pkg__plan_options(&c->plan, c->a, spec, c->doc, c->o,
				       c->o->no_host ? NULL : &host, err);
	/* 2. the build environment, then the rest of the plan */
	if (!rc)
		rc = solve_env(c, err);
	if (!rc)
		rc = pkg__plan_resolve(&c->plan, c->a, c->doc, c->deps, c->ndeps, err);
	if (!rc)
		rc = pkg__validate_setup(&c->val, b->name, c->deps, c->ndeps, err);
	if (rc)
		return rc;
	snprintf(res->ident, sizeof(res->ident), "%s", c->plan.ident);
	snprintf(c->spec_tag, sizeof(c->spec_tag), "spk/spec/%s", res->ident);
	snprintf(c->pkg_prefix, sizeof(c->pkg_prefix), "spk/pkg/%s/", res->ident);
	snprintf(c->tmp_tag, sizeof(c->tmp_tag), "spk/build/%s", res->ident);
	/* 3. already built? */
	if (!c->o->force && already_built(c)) {
		res->skipped = true;
		return 0;
	}
	/* 4. sources, script, environment; 5. run */
	if ((rc = env_files(c, err)) || (rc = prepare_sources(c, err)) ||
	    (rc = write_script(c, err)) || (rc = set_build_env(c, err)) ||
	    (rc = run_script(c, err)))
		return rc;
	/* 6. components (after the validation rules), 7. the build spec */
	if (!(rc = publish_components(c, err)))
		rc = publish_spec(c, err);
	/* the log is only kept when the script failed (it said why) */
	unlink(c->script);
	unlink(c->logp);
	rmdir(c->dir);
	return rc;
}

/* A build (or a test) sets variables for its script in this process (the
 * runtime's child inherits them); they are put back afterwards, so that
 * building several recipes in one process does not leak one's environment
 * into the next. */
int pkg__env_save(char ***out, sp_error *err)
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
	*out = saved;
	return 0;
}

void pkg__env_restore(char **saved)
{
	clearenv();
	for (size_t i = 0; saved && saved[i]; i++) {
		char *eq = strchr(saved[i], '=');
		if (eq) {
			*eq = '\0';
			(void)setenv(saved[i], eq + 1, 1);
		}
		free(saved[i]);
	}
	free(saved);
}

int pkg_repo_build(pkg_build_result *res, pkg_repo *r, const pkg_specfile *f, const pkg_spec *spec,
		   const pkg_build_opts *o, sp_error *err)
{
	memset(res, 0, sizeof(*res));
	char **saved = NULL;
	int rc = pkg__env_save(&saved, err);
	if (rc)
		return rc;
	build_ctx c = {.res = res,
		       .r = r,
		       .s = pkg_repo_store(r),
		       .spec = spec,
		       .f = f,
		       .text = f->text,
		       .file = f->path,
		       .len = f->len,
		       .o = o};
	rc = solver_arena_new(&c.a, err);
	if (!rc)
		rc = build_one(&c, err);
	solver_result_free(c.env);
	free(c.layers);
	solver_arena_free(c.a);
	pkg__env_restore(saved);
	return rc;
}
