/* specfile.c - one spec file: read, rendered as a template, parsed.
 *
 * The object keeps the file's bytes as written beside the rendered text so
 * that error positions, publishing (the rendered text) and a build (its
 * directory) all come from one place. */
#include "pkg/template.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

void pkg_specfile_free(pkg_specfile *f)
{
	if (!f)
		return;
	solver_arena_free(f->arena);
	free(f);
}

void pkg_specfile_freep(pkg_specfile **f)
{
	pkg_specfile_free(*f);
}

/* A copy of the option values in the arena (the caller's may go away). */
static int copy_opts(pkg_specfile *f, const pkg_specfile_opts *o, sp_error *err)
{
	if (!o || !o->nopts)
		return 0;
	solver_opt *v = solver_arena_array(f->arena, o->nopts, sizeof(*v), err);
	if (!v)
		return err->code;
	for (size_t i = 0; i < o->nopts; i++) {
		v[i].name = solver_arena_strdup(f->arena, o->opts[i].name, err);
		v[i].value = solver_arena_strdup(f->arena, o->opts[i].value, err);
		if (!v[i].name || !v[i].value)
			return err->code;
	}
	f->opts = v;
	f->nopts = o->nopts;
	return 0;
}

int pkg_specfile_load(pkg_specfile **out, const char *text, size_t len, const char *path,
		      const pkg_specfile_opts *o, sp_error *err)
{
	*out = NULL;
	const pkg_limits *lim = o && o->lim ? o->lim : &pkg_limits_default;
	if (len > lim->max_file)
		return sp_error_set(err, SP_EINVALID, "%s: larger than %zu bytes", path,
				    lim->max_file);
	_cleanup_(pkg_specfile_freep) pkg_specfile *f = calloc(1, sizeof(*f));
	if (!f)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	int rc = solver_arena_new(&f->arena, err);
	if (rc)
		return rc;
	char *src = solver_arena_alloc(f->arena, len + 1, err);
	f->path = solver_arena_strdup(f->arena, path, err);
	if (!src || !f->path)
		return err->code;
	memcpy(src, text, len);
	src[len] = '\0';
	f->source = src;
	f->source_len = len;
	if ((rc = copy_opts(f, o, err)))
		return rc;
	f->text = f->source;
	f->len = f->source_len;
	f->is_template = !(o && o->rendered) && pkg__template_is(f->source, f->source_len);
	if (f->is_template) {
		sp_buf b = {0};
		pkg__tvars vars = {.opts = f->opts, .nopts = f->nopts, .env = o ? o->env : NULL};
		rc = pkg__template_render(&b, f->source, f->source_len, f->path, &vars,
					  &pkg__template_limits_default, err);
		size_t tl = b.len;
		char *t = rc ? NULL : solver_arena_alloc(f->arena, tl + 1, err);
		if (t) {
			memcpy(t, b.data ? b.data : "", tl);
			t[tl] = '\0';
		}
		sp_buf_free(&b);
		if (rc)
			return rc;
		if (!t)
			return err->code;
		f->text = t;
		f->len = tl;
	}
	if ((rc = pkg_spec_parse(&f->specs, &f->nspecs, f->arena, f->text, f->len, f->path, lim,
				 err)))
		return rc;
	*out = steal_pointer(&f);
	return 0;
}

int pkg_specfile_read(pkg_specfile **out, const char *path, const pkg_specfile_opts *o,
		      sp_error *err)
{
	*out = NULL;
	const pkg_limits *lim = o && o->lim ? o->lim : &pkg_limits_default;
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int rc = sp_read_file_at(&text, &len, AT_FDCWD, path, lim->max_file, err);
	if (rc)
		return sp_error_prefix(err, "%s", path);
	return pkg_specfile_load(out, text, len, path, o, err);
}
