/* build_spec.c - what `spk build` adds to the spec it publishes for a
 * build: the options inherited from its build environment.
 *
 * A var option declared `inheritance: Strong` (or StrongForBuildOnly) by a
 * package of the build environment passes to the build as SPK does: the
 * build's options gain `var: PKG.VAR/VALUE`, and for Strong its install
 * requirements gain `var: PKG.VAR/VALUE`, so it is only used with a PKG
 * of the same value (docs/spec.md). The recipe's text is kept as written
 * and the new entries are inserted as lines: before the first item of an
 * existing block sequence, at its indentation, or as new keys. */
#include "pkg/build_plan.h"

#include <string.h>

/* Byte offset of the start of 1-based line `line` (len when past the end). */
static size_t line_start(const char *text, size_t len, size_t line)
{
	size_t off = 0;
	for (size_t l = 1; l < line && off < len; off++)
		if (text[off] == '\n')
			l++;
	return off;
}

/* Appends `- var: 'NAME/VALUE'` lines (single-quoted, '' inside) with
 * `indent` spaces before the dash. */
static int var_lines(sp_buf *b, const solver_option *v, size_t n, bool only_strong, size_t indent,
		     sp_error *err)
{
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		if (only_strong && v[i].inheritance != SOLVER_INHERIT_STRONG)
			continue;
		rc = sp_buf_printf(b, err, "%*s- var: '", (int)indent, "");
		for (const char *p = v[i].name; *p && !rc; p++)
			rc = sp_buf_append(b, p, 1, err);
		if (!rc)
			rc = sp_buf_append(b, "/", 1, err);
		for (const char *p = v[i].value; *p && !rc; p++)
			rc = *p == '\'' ? sp_buf_append(b, "''", 2, err)
					: sp_buf_append(b, p, 1, err);
		if (!rc)
			rc = sp_buf_append(b, "'\n", 2, err);
	}
	return rc;
}

/* Where lines go before a block sequence's first item: *at gets the byte
 * offset of its line, *indent the dash's column. False for a flow
 * sequence or an item that does not start its line. */
static bool seq_slot(size_t *at, size_t *indent, const char *text, size_t len,
		     const pkg__ynode *seq)
{
	if (!seq || seq->type != PKG__Y_SEQ || seq->n == 0)
		return false;
	const pkg__ynode *first = seq->items[0];
	size_t ls = line_start(text, len, first->line);
	size_t pos = ls + (first->col ? first->col - 1 : 0);
	if (pos > len)
		return false;
	size_t i = ls;
	while (i < pos && text[i] == ' ')
		i++;
	if (i >= pos || text[i] != '-')
		return false;
	*at = ls;
	*indent = i - ls;
	return true;
}

typedef struct insertion {
	size_t at;
	sp_buf lines;
} insertion;

static int apply(sp_buf *out, const char *text, size_t len, insertion *ins, size_t n, sp_error *err)
{
	if (n == 2 && ins[1].at < ins[0].at) {
		insertion t = ins[0];
		ins[0] = ins[1];
		ins[1] = t;
	}
	size_t from = 0;
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		rc = sp_buf_append(out, text + from, ins[i].at - from, err);
		if (!rc && ins[i].at == len && len && text[len - 1] != '\n')
			rc = sp_buf_append(out, "\n", 1, err);
		if (!rc)
			rc = sp_buf_append(out, ins[i].lines.data, ins[i].lines.len, err);
		from = ins[i].at;
	}
	return rc ? rc : sp_buf_append(out, text + from, len - from, err);
}

int pkg__inherited(solver_option **out, size_t *nout, const solver_build *b,
		   const pkg__build_dep *env, size_t nenv, solver_arena *a, sp_error *err)
{
	*out = NULL;
	*nout = 0;
	size_t cap = 0, n = 0;
	for (size_t i = 0; i < nenv; i++) {
		const solver_build *dep = env[i].build;
		for (size_t k = 0; k < dep->noptions; k++)
			cap += !dep->options[k].is_pkg &&
			       dep->options[k].inheritance != SOLVER_INHERIT_WEAK;
	}
	if (!cap)
		return 0;
	solver_option *v = solver_arena_array(a, cap, sizeof(*v), err);
	if (!v)
		return err->code;
	/* in solve order */
	for (size_t i = 0; i < nenv; i++) {
		const solver_build *dep = env[i].build;
		for (size_t k = 0; k < dep->noptions; k++) {
			const solver_option *o = &dep->options[k];
			if (o->is_pkg || o->inheritance == SOLVER_INHERIT_WEAK || !o->value[0])
				continue;
			size_t nl = strlen(dep->name) + strlen(o->name) + 2;
			char *name = solver_arena_alloc(a, nl, err);
			if (!name)
				return err->code;
			snprintf(name, nl, "%s.%s", dep->name, o->name);
			/* the recipe's own declaration wins */
			bool declared = false;
			for (size_t j = 0; j < b->noptions && !declared; j++)
				declared = !strcmp(b->options[j].name, name);
			for (size_t j = 0; j < n && !declared; j++)
				declared = !strcmp(v[j].name, name);
			if (!declared)
				v[n++] = (solver_option){
				    .name = name, .value = o->value, .inheritance = o->inheritance};
		}
	}
	*out = v;
	*nout = n;
	return 0;
}

int pkg__render_inherited(sp_buf *out, const char *text, size_t len, const solver_option *v,
			  size_t n, const char *file, sp_error *err)
{
	if (n == 0)
		return sp_buf_append(out, text, len, err);
	_cleanup_(solver_arena_freep) solver_arena *a = NULL;
	int rc = solver_arena_new(&a, err);
	if (rc)
		return rc;
	size_t nstrong = 0;
	for (size_t i = 0; i < n; i++)
		nstrong += v[i].inheritance == SOLVER_INHERIT_STRONG;
	pkg__ynode **docs = NULL;
	size_t ndocs = 0;
	if ((rc = pkg__yaml_load(&docs, &ndocs, a, text, len, file, &pkg_limits_default, err)))
		return rc;
	if (ndocs != 1 || docs[0]->type != PKG__Y_MAP)
		return sp_error_set(err, SP_EINVALID, "%s: expected one spec document", file);
	insertion ins[2] = {{0}};
	size_t nins = 0;
	size_t at, indent;
	/* 1. build.options (a recipe without them gains host options) */
	const pkg__ynode *build = pkg__ymap_get(docs[0], "build");
	const pkg__ynode *opts = pkg__ymap_get(build, "options");
	if (seq_slot(&at, &indent, text, len, opts)) {
		ins[nins].at = at;
		rc = var_lines(&ins[nins++].lines, v, n, false, indent, err);
	} else if (!opts && build && build->type == PKG__Y_MAP && build->n &&
		   build->items[0]->col > 1 &&
		   build->items[0]->line > docs[0]->items[pkg__ymap_key(docs[0], "build")]->line) {
		/* build: with other keys: options: goes first */
		size_t ind = build->items[0]->col - 1;
		ins[nins].at = line_start(text, len, build->items[0]->line);
		rc = sp_buf_printf(&ins[nins].lines, err, "%*soptions:\n", (int)ind, "");
		if (!rc)
			rc = var_lines(&ins[nins].lines, v, n, false, ind + 2, err);
		nins++;
	} else {
		rc = sp_error_set(err, SP_EINVALID,
				  "%s: cannot add the options %s... to build.options: "
				  "write it as a block sequence ('- ' items on lines of their own)",
				  file, v[0].name);
	}
	if (rc)
		goto out;
	/* 2. install.requirements, for Strong ones */
	if (nstrong) {
		const pkg__ynode *inst = pkg__ymap_get(docs[0], "install");
		const pkg__ynode *reqs = pkg__ymap_get(inst, "requirements");
		insertion *x = &ins[nins++];
		if (seq_slot(&at, &indent, text, len, reqs)) {
			x->at = at;
			rc = var_lines(&x->lines, v, n, true, indent, err);
		} else if (!reqs && inst && inst->type == PKG__Y_MAP && inst->n &&
			   inst->items[0]->col > 1 &&
			   inst->items[0]->line >
			       docs[0]->items[pkg__ymap_key(docs[0], "install")]->line) {
			/* install: with other keys: requirements: goes first */
			size_t ind = inst->items[0]->col - 1;
			x->at = line_start(text, len, inst->items[0]->line);
			rc = sp_buf_printf(&x->lines, err, "%*srequirements:\n", (int)ind, "");
			if (!rc)
				rc = var_lines(&x->lines, v, n, true, ind + 2, err);
		} else if (!inst) {
			x->at = len;
			rc = sp_buf_printf(&x->lines, err, "install:\n  requirements:\n");
			if (!rc)
				rc = var_lines(&x->lines, v, n, true, 4, err);
		} else {
			size_t k = 0;
			while (v[k].inheritance != SOLVER_INHERIT_STRONG)
				k++;
			rc =
			    sp_error_set(err, SP_EINVALID,
					 "%s: cannot add the inherited requirement var: %s/%s to "
					 "install: write it in block style (keys and '- ' items on "
					 "lines of their own)",
					 file, v[k].name, v[k].value);
		}
		if (rc)
			goto out;
	}
	rc = apply(out, text, len, ins, nins, err);
out:
	for (size_t i = 0; i < 2; i++)
		sp_buf_free(&ins[i].lines);
	return rc;
}
