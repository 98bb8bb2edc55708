/* explain.c - turns the solver's reason tree into plain words and dot.
 *
 * Each reason node is one fact a person can check against a spec file or
 * the command line ("a/1.0.0/ABC requires b/>=2, and no candidate of b is
 * left"); children are the facts that justify it. Consecutive candidates
 * rejected for the same reason are grouped; a fact already printed is
 * referred to instead of repeated. */
#include "solver/solve_internal.h"

#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 14
#define MAX_LINES 400

int solver__ident(sp_buf *b, const solver__name *names, int name, int cand, sp_error *err)
{
	if (name < 0)
		return sp_buf_printf(b, err, "the command line");
	const solver__name *n = &names[name];
	if (cand < 0 || (size_t)cand >= n->ncands)
		return sp_buf_printf(b, err, "%s", n->name);
	const solver__cand *c = &n->cands[cand];
	char v[128];
	solver_version_str(c->ver, v, sizeof(v));
	if (c->kind == K_EMBED) {
		char pv[128];
		return sp_buf_printf(b, err, "%s/%s (embedded in %s/%s/%s)", n->name, v, c->b->name,
				     solver_version_str(&c->b->version, pv, sizeof(pv)),
				     c->b->build);
	}
	if (c->kind == K_FROMSRC)
		return sp_buf_printf(b, err, "%s/%s (built from source)", n->name, v);
	return sp_buf_printf(b, err, "%s/%s/%s", n->name, v, c->build_id);
}

int solver__where(sp_buf *b, const solver__name *names, int name, int cand,
		  const solver_request *req, sp_error *err)
{
	const solver_build *bd = names[name].cands[cand].b;
	bool line = req && req->line && bd->where.lines;
	long at = line ? (long)req->line + bd->where.shift : 0;
	if (bd->where.published) {
		int rc = solver__ident(b, names, name, cand, err);
		if (!rc && bd->where.file)
			rc = line && at > 0
				 ? sp_buf_printf(b, err, " (recipe %s:%ld)", bd->where.file, at)
				 : sp_buf_printf(b, err, " (recipe %s)", bd->where.file);
		return rc;
	}
	if (bd->where.file && line && at > 0)
		return sp_buf_printf(b, err, "%s:%ld", bd->where.file, at);
	if (bd->origin)
		return sp_buf_printf(b, err, "%s", bd->origin);
	return solver__ident(b, names, name, cand, err);
}

typedef struct ex {
	const solver__name *names;
	sp_buf out;
	sp_error *err;
	size_t lines;
	bool truncated;
	const solver__reason **seen;
	size_t nseen, capseen;
	const solver_request **roots;
	size_t nroots, caproots;
	char **origins; /* owned */
	size_t norigins, caporigins;
} ex;

static int ident(ex *x, sp_buf *b, int name, int cand)
{
	return solver__ident(b, x->names, name, cand, x->err);
}

static void note_root(ex *x, int src_name, const solver_request *r)
{
	if (src_name >= 0 || !r)
		return;
	for (size_t i = 0; i < x->nroots; i++)
		if (x->roots[i] == r || !strcmp(x->roots[i]->text, r->text))
			return;
	if (x->nroots == x->caproots) {
		size_t nc = x->caproots ? x->caproots * 2 : 8;
		if (sp_realloc_array((void **)&x->roots, nc, sizeof(*x->roots), x->err))
			return;
		x->caproots = nc;
	}
	x->roots[x->nroots++] = r;
}

/* Remembers where the requirement req of (name, cand) is edited, for the
 * closing "To find a solution" line. */
static void note_origin(ex *x, int name, int cand, const solver_request *req)
{
	if (name < 0 || cand < 0 || (size_t)cand >= x->names[name].ncands)
		return;
	sp_buf w = {0};
	if (solver__where(&w, x->names, name, cand, req, x->err) || !w.data) {
		sp_buf_free(&w);
		return;
	}
	for (size_t i = 0; i < x->norigins; i++)
		if (!strcmp(x->origins[i], w.data)) {
			sp_buf_free(&w);
			return;
		}
	if (x->norigins == x->caporigins) {
		size_t nc = x->caporigins ? x->caporigins * 2 : 8;
		if (sp_realloc_array((void **)&x->origins, nc, sizeof(*x->origins), x->err)) {
			sp_buf_free(&w);
			return;
		}
		x->caporigins = nc;
	}
	x->origins[x->norigins++] = w.data; /* owned: freed by free_ex */
}

static void free_ex(ex *x)
{
	free(x->seen);
	free(x->roots);
	for (size_t i = 0; i < x->norigins; i++)
		free(x->origins[i]);
	free(x->origins);
}

/* Candidates other than source packages (those are not listed in an
 * explanation when there are others, see emit_kids). */
static size_t binary_cands(const solver__name *n)
{
	size_t k = 0;
	for (size_t i = 0; i < n->ncands; i++)
		k += !n->cands[i].is_source;
	return k ? k : n->ncands;
}

/* An IfAlreadyPresent request whose range allows no version: a person
 * reads it as "X must not be present", so it is said that way. */
static bool forbids(const solver_request *r)
{
	return r && r->kind == SOLVER_REQ_PKG && r->include == SOLVER_INCLUDE_IF_PRESENT &&
	       solver__range_below_all(&r->range);
}

/* One line for reason r (without children). */
static int line(ex *x, sp_buf *b, const solver__reason *r)
{
	int rc = 0;
	const char *rt = r->req && r->req->text ? r->req->text : "?";
	switch (r->kind) {
	case R_NAMEFAIL:
		note_root(x, r->rsrc_name, r->req);
		note_origin(x, r->rsrc_name, r->rsrc_cand, r->req);
		if (r->req) {
			rc = sp_buf_printf(b, x->err, "%s is needed (", x->names[r->name].name);
			if (!rc)
				rc = ident(x, b, r->rsrc_name, r->rsrc_cand);
			size_t nc = binary_cands(&x->names[r->name]);
			if (!rc && nc == 1)
				rc = sp_buf_printf(
				    b, x->err,
				    " requires %s), but its only candidate cannot be used:", rt);
			else if (!rc)
				rc = sp_buf_printf(
				    b, x->err,
				    " requires %s), but none of its %zu candidates can be used:",
				    rt, nc);
		} else {
			rc = sp_buf_printf(
			    b, x->err, "no candidate of %s can be used:", x->names[r->name].name);
		}
		return rc;
	case R_NOPKG:
		note_root(x, r->rsrc_name, r->req);
		note_origin(x, r->rsrc_name, r->rsrc_cand, r->req);
		rc = sp_buf_printf(b, x->err, "no package named %s exists in the repositories",
				   x->names[r->name].name);
		if (!rc && r->req) {
			rc = sp_buf_printf(b, x->err, " (");
			if (!rc)
				rc = ident(x, b, r->rsrc_name, r->rsrc_cand);
			if (!rc)
				rc = sp_buf_printf(b, x->err, " requires %s)", rt);
		}
		return rc;
	case R_CONS:
		note_root(x, r->rsrc_name, r->req);
		note_origin(x, r->rsrc_name, r->rsrc_cand, r->req);
		if (!(rc = ident(x, b, r->name, r->cand))) {
			if (r->ocand >= 0)
				return sp_buf_printf(
				    b, x->err,
				    " is not the build that provides the chosen embedded package");
			if (forbids(r->req)) {
				rc = sp_buf_printf(b, x->err, " cannot be used: ");
				if (!rc)
					rc = ident(x, b, r->rsrc_name, r->rsrc_cand);
				return rc ? rc
					  : sp_buf_printf(b, x->err,
							  " requires that %s not be present (%s, "
							  "include: IfAlreadyPresent)",
							  x->names[r->name].name, rt);
			}
			rc = sp_buf_printf(b, x->err, " does not satisfy %s from ", rt);
		}
		if (!rc)
			rc = ident(x, b, r->rsrc_name, r->rsrc_cand);
		if (!rc)
			rc = sp_buf_printf(b, x->err, ": %s", r->detail ? r->detail : "");
		return rc;
	case R_DEPRECATED:
		if (!(rc = ident(x, b, r->name, r->cand)))
			rc = sp_buf_printf(
			    b, x->err,
			    " is deprecated (used only when its build is requested exactly)");
		return rc;
	case R_SOURCE:
		if (!(rc = ident(x, b, r->name, r->cand)))
			rc = sp_buf_printf(
			    b, x->err, " is a source package (used only when requested with /src)");
		return rc;
	case R_UNUSABLE:
		if (!(rc = ident(x, b, r->name, r->cand)))
			rc = sp_buf_printf(b, x->err, " cannot be used: %s",
					   r->detail ? r->detail : "");
		return rc;
	case R_FROMSRC:
		if (!(rc = ident(x, b, r->name, r->cand)))
			rc = sp_buf_printf(b, x->err, " cannot be built: %s",
					   r->detail ? r->detail : "");
		return rc;
	case R_VAR:
		note_root(x, r->rsrc_name, r->req);
		note_origin(x, r->rsrc_name, r->rsrc_cand, r->req);
		if (!(rc = ident(x, b, r->name, r->cand)))
			rc = sp_buf_printf(b, x->err, " cannot be used: %s, but ",
					   r->detail ? r->detail : "");
		if (!rc)
			rc = ident(x, b, r->rsrc_name, r->rsrc_cand);
		if (!rc)
			rc = sp_buf_printf(b, x->err, " requests %s", rt);
		return rc;
	case R_NOGOOD:
		if (!(rc = ident(x, b, r->name, r->cand)))
			rc = sp_buf_printf(b, x->err,
					   " cannot be used with the packages already chosen (a "
					   "conflict found earlier):");
		return rc;
	case R_DEP_DECIDED:
		note_origin(x, r->name, r->cand, r->req);
		note_root(x, r->name, r->req);
		if (!(rc = ident(x, b, r->name, r->cand)) && forbids(r->req)) {
			rc = sp_buf_printf(b, x->err,
					   " requires that %s not be present (%s, include: "
					   "IfAlreadyPresent), but ",
					   x->names[r->oname].name, rt);
			if (!rc)
				rc = ident(x, b, r->oname, r->ocand);
			return rc ? rc : sp_buf_printf(b, x->err, " is already chosen");
		}
		if (!rc)
			rc = sp_buf_printf(
			    b, x->err, " %s %s, but ",
			    r->req && r->req->kind == SOLVER_REQ_VAR ? "requests" : "requires", rt);
		if (!rc)
			rc = ident(x, b, r->oname, r->ocand);
		if (!rc && r->child && r->child->kind == R_CONS && r->child->detail)
			rc = sp_buf_printf(b, x->err, " is already chosen (%s)", r->child->detail);
		else if (!rc)
			rc = sp_buf_printf(b, x->err, " is already chosen:");
		return rc;
	case R_DEP_WIPEOUT:
		note_origin(x, r->name, r->cand, r->req);
		if (!(rc = ident(x, b, r->name, r->cand)))
			rc =
			    sp_buf_printf(b, x->err, " requires %s, and no candidate of %s is left",
					  rt, x->names[r->oname].name);
		if (!rc && r->detail)
			rc = sp_buf_printf(b, x->err, " (%s)", r->detail);
		return rc ? rc : sp_buf_printf(b, x->err, ":");
	case R_ROOT_WIPEOUT:
		note_root(x, -1, r->req);
		rc = sp_buf_printf(b, x->err,
				   "the command line requires %s, and no candidate of %s "
				   "satisfies all the requests",
				   rt, x->names[r->oname].name);
		if (!rc && r->detail)
			rc = sp_buf_printf(b, x->err, " (%s)", r->detail);
		return rc ? rc : sp_buf_printf(b, x->err, ":");
	case R_VAR_CLASH:
		note_root(x, r->name, r->req);
		if (!(rc = ident(x, b, r->name, r->cand)))
			rc = sp_buf_printf(b, x->err, " requests %s, but ", rt);
		if (!rc)
			rc = ident(x, b, r->oname, r->ocand);
		if (!rc)
			rc = sp_buf_printf(b, x->err, " requests %s", r->detail ? r->detail : "?");
		return rc;
	case R_EMBED_CLASH:
		note_origin(x, r->name, r->cand, NULL);
		if (!(rc = ident(x, b, r->name, r->cand)))
			rc = sp_buf_printf(b, x->err, " embeds %s, but ", x->names[r->oname].name);
		if (!rc && r->ocand >= 0) {
			rc = ident(x, b, r->oname, r->ocand);
			if (!rc)
				rc = sp_buf_printf(b, x->err, " is already chosen");
		} else if (!rc) {
			rc = sp_buf_printf(b, x->err, "the embedded version cannot be used:");
		}
		return rc;
	case R_SUBTREE:
		/* the requirements that matter are named by the facts under it */
		if (!(rc = ident(x, b, r->name, r->cand)))
			rc = sp_buf_printf(b, x->err, " was tried, and then:");
		return rc;
	case R_LIMIT:
	default:
		return sp_buf_printf(b, x->err,
				     "(further details were dropped to bound memory; use --trace)");
	}
}

int solver__reason_line(sp_buf *b, const solver__name *names, const solver__reason *r,
			sp_error *err)
{
	ex x = {.names = names, .err = err};
	int rc = line(&x, b, r);
	free_ex(&x);
	return rc;
}

static bool seen(ex *x, const solver__reason *r)
{
	for (size_t i = 0; i < x->nseen; i++)
		if (x->seen[i] == r)
			return true;
	if (x->nseen == x->capseen) {
		size_t nc = x->capseen ? x->capseen * 2 : 64;
		if (sp_realloc_array((void **)&x->seen, nc, sizeof(*x->seen), x->err))
			return false;
		x->capseen = nc;
	}
	x->seen[x->nseen++] = r;
	return false;
}

static bool groupable(const solver__reason *a, const solver__reason *b)
{
	if (a->kind != b->kind || a->name != b->name)
		return false;
	if (a->kind == R_DEPRECATED || a->kind == R_SOURCE)
		return true;
	if (a->kind == R_DEP_DECIDED)
		return a->oname == b->oname && a->ocand == b->ocand && a->req && b->req &&
		       a->req->kind == SOLVER_REQ_PKG && b->req->kind == SOLVER_REQ_PKG;
	if (a->kind != R_CONS && a->kind != R_VAR)
		return false;
	return a->req == b->req && a->rsrc_name == b->rsrc_name && a->rsrc_cand == b->rsrc_cand &&
	       a->ocand == b->ocand &&
	       !strcmp(a->detail ? a->detail : "", b->detail ? b->detail : "");
}

static int emit(ex *x, const solver__reason *r, int depth);

static int emit_line(ex *x, int depth, const char *text)
{
	if (x->lines >= MAX_LINES) {
		x->truncated = true;
		return 0;
	}
	x->lines++;
	return sp_buf_printf(&x->out, x->err, "%*s- %s\n", depth * 2, "", text);
}

static int emit_kids(ex *x, const solver__reason *const *kids, size_t n, int depth)
{
	int rc = 0;
	/* Every build publishes its source package: a line for each would
	 * bury the facts, so they are named only when nothing else is left. */
	bool only_sources = true;
	for (size_t i = 0; i < n && only_sources; i++)
		only_sources = kids[i]->kind == R_SOURCE;
	for (size_t i = 0; i < n && !rc;) {
		if (!only_sources && kids[i]->kind == R_SOURCE) {
			i++;
			continue;
		}
		size_t j = i + 1;
		while (j < n && groupable(kids[i], kids[j]))
			j++;
		if (j - i == 1) {
			rc = emit(x, kids[i], depth);
			i = j;
			continue;
		}
		if (kids[i]->kind == R_DEP_DECIDED) {
			/* "a/2/X (b/>=2), a/1/Y (b/>=1.5) each require a b other
			 * than b/1.0/Z, which is already chosen" */
			sp_buf g = {0};
			for (size_t k = i; k < j && k < i + 4 && !rc; k++) {
				if (k > i)
					rc = sp_buf_printf(&g, x->err, ", ");
				if (!rc)
					rc = ident(x, &g, kids[k]->name, kids[k]->cand);
				if (!rc)
					rc = sp_buf_printf(&g, x->err, " (%s)", kids[k]->req->text);
				note_origin(x, kids[k]->name, kids[k]->cand, kids[k]->req);
			}
			if (!rc && j - i > 4)
				rc = sp_buf_printf(&g, x->err, " and %zu more", j - i - 4);
			if (!rc)
				rc = sp_buf_printf(&g, x->err, " each require a %s other than ",
						   x->names[kids[i]->oname].name);
			if (!rc)
				rc = ident(x, &g, kids[i]->oname, kids[i]->ocand);
			if (!rc)
				rc = sp_buf_printf(&g, x->err, ", which is already chosen");
			if (!rc)
				rc = emit_line(x, depth, g.data);
			sp_buf_free(&g);
			i = j;
			continue;
		}
		/* "a/1/X, a/2/Y and 3 more do not satisfy ..." */
		sp_buf who = {0}, one = {0};
		for (size_t k = i; k < j && k < i + 3 && !rc; k++) {
			if (k > i)
				rc = sp_buf_printf(&who, x->err, ", ");
			if (!rc)
				rc = ident(x, &who, kids[k]->name, kids[k]->cand);
		}
		if (!rc && j - i > 3)
			rc = sp_buf_printf(&who, x->err, " and %zu more", j - i - 3);
		if (!rc)
			rc = line(x, &one, kids[i]);
		if (!rc) {
			/* replace the first candidate's name in the line by the group */
			sp_buf first = {0};
			rc = ident(x, &first, kids[i]->name, kids[i]->cand);
			const char *rest = one.data + (first.data ? first.len : 0);
			const char *verb = rest;
			sp_buf full = {0};
			if (!rc) {
				/* singular verbs become plural for a group */
				if (!strncmp(verb, " does not", 9))
					rc = sp_buf_printf(&full, x->err, "%s do not%s", who.data,
							   verb + 9);
				else if (!strncmp(verb, " is ", 4))
					rc = sp_buf_printf(&full, x->err, "%s are %s", who.data,
							   verb + 4);
				else
					rc = sp_buf_printf(&full, x->err, "%s%s", who.data, verb);
			}
			if (!rc)
				rc = emit_line(x, depth, full.data);
			sp_buf_free(&full);
			sp_buf_free(&first);
		}
		sp_buf_free(&who);
		sp_buf_free(&one);
		i = j;
	}
	return rc;
}

static int emit(ex *x, const solver__reason *r, int depth)
{
	if (!r)
		return 0;
	if (depth > MAX_DEPTH) {
		x->truncated = true;
		return 0;
	}
	sp_buf b = {0};
	int rc = line(x, &b, r);
	if (rc) {
		sp_buf_free(&b);
		return rc;
	}
	bool has_more = r->child || r->nkids;
	if (has_more && seen(x, r)) {
		rc = sp_buf_printf(&b, x->err, " (as explained above)");
		if (!rc)
			rc = emit_line(x, depth, b.data);
		sp_buf_free(&b);
		return rc;
	}
	rc = emit_line(x, depth, b.data);
	sp_buf_free(&b);
	if (rc)
		return rc;
	bool child_said =
	    r->kind == R_DEP_DECIDED && r->child && r->child->kind == R_CONS && r->child->detail;
	if (r->child && !child_said)
		rc = emit(x, r->child, depth + 1);
	if (!rc && r->nkids)
		rc = emit_kids(x, (const solver__reason *const *)r->kids, r->nkids, depth + 1);
	return rc;
}

int solver__explain(char **out, const solver__name *names, size_t nnames, const solver__reason *why,
		    sp_error *err)
{
	(void)nnames;
	ex x = {.names = names, .err = err};
	*out = NULL;
	int rc = sp_buf_printf(&x.out, err, "The request cannot be satisfied:\n");
	if (!rc)
		rc = emit(&x, why, 0);
	if (!rc && x.truncated)
		rc = sp_buf_printf(&x.out, err,
				   "  (the explanation was shortened; --trace shows every step)\n");
	if (!rc && (x.nroots || x.norigins)) {
		rc = sp_buf_printf(&x.out, err, "To find a solution, change ");
		if (!rc && x.nroots) {
			rc = sp_buf_printf(&x.out, err, "one of the command-line requests (");
			for (size_t i = 0; i < x.nroots && !rc; i++)
				rc = sp_buf_printf(&x.out, err, "%s%s", i ? ", " : "",
						   x.roots[i]->text);
			if (!rc)
				rc = sp_buf_printf(&x.out, err, ")%s", x.norigins ? ", or " : "");
		}
		if (!rc && x.norigins) {
			rc = sp_buf_printf(&x.out, err, "the requirements in ");
			for (size_t i = 0; i < x.norigins && i < 6 && !rc; i++)
				rc =
				    sp_buf_printf(&x.out, err, "%s%s", i ? ", " : "", x.origins[i]);
			if (!rc && x.norigins > 6)
				rc = sp_buf_printf(&x.out, err, " and %zu more", x.norigins - 6);
		}
		if (!rc)
			rc = sp_buf_printf(&x.out, err,
					   ", or publish a build that satisfies them.\n");
	}
	free_ex(&x);
	if (rc) {
		sp_buf_free(&x.out);
		return rc;
	}
	*out = x.out.data ? x.out.data : strdup("");
	if (!*out)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	return 0;
}

/* The fact at the end of the first chain: from each fact, its child or
 * its first kid that is not a source package (the newest candidate's
 * failure, as the chain lists it first). */
int solver__explain_reason(sp_buf *b, const solver__name *names, const solver__reason *why,
			   sp_error *err)
{
	ex x = {.names = names, .err = err};
	const solver__reason *r = why, *parent = NULL;
	for (int depth = 0; r && depth < 64; depth++) {
		const solver__reason *next = NULL;
		bool child_said = r->kind == R_DEP_DECIDED && r->child &&
				  r->child->kind == R_CONS && r->child->detail;
		if (r->child && !child_said)
			next = r->child;
		for (size_t i = 0; !next && i < r->nkids; i++)
			if (r->kids[i]->kind != R_SOURCE)
				next = r->kids[i];
		if (!next && r->nkids)
			next = r->kids[0];
		if (!next || next->kind == R_LIMIT)
			break;
		parent = r;
		r = next;
	}
	/* a wipeout that names its clash says it best */
	bool wipeout = parent && (parent->kind == R_DEP_WIPEOUT || parent->kind == R_ROOT_WIPEOUT);
	if (wipeout && parent->detail) {
		int rc = line(&x, b, parent);
		if (!rc && b->len && b->data[b->len - 1] == ':')
			b->data[--b->len] = '\0';
		free_ex(&x);
		return rc;
	}
	/* every candidate of a name refused by two or more requests: name the
	 * requests ("no version of maya satisfies both maya/2023 from a and
	 * maya/2024 from b") rather than one refusal */
	const solver__reason *reqs[3];
	size_t nreq = 0;
	bool all_cons = parent && r && r->kind == R_CONS && parent->nkids > 1;
	for (size_t i = 0; all_cons && i < parent->nkids; i++) {
		const solver__reason *k = parent->kids[i];
		if (k->kind == R_SOURCE || k->kind == R_DEPRECATED || k->kind == R_UNUSABLE)
			continue;
		all_cons = k->kind == R_CONS && k->req && k->ocand < 0;
		bool dup = false;
		for (size_t j = 0; all_cons && j < nreq && !dup; j++)
			dup = reqs[j]->req == k->req && reqs[j]->rsrc_name == k->rsrc_name &&
			      reqs[j]->rsrc_cand == k->rsrc_cand;
		if (all_cons && !dup && nreq < 3)
			reqs[nreq++] = k;
	}
	int rc = 0;
	if (all_cons && nreq > 1) {
		rc = sp_buf_printf(b, err, "no version of %s satisfies %s", names[r->name].name,
				   nreq == 2 ? "both" : "all of");
		for (size_t i = 0; i < nreq && !rc; i++) {
			rc = sp_buf_printf(b, err, "%s%s from ",
					   i == 0	   ? " "
					   : i + 1 == nreq ? " and "
							   : ", ",
					   reqs[i]->req->text);
			if (!rc)
				rc = ident(&x, b, reqs[i]->rsrc_name, reqs[i]->rsrc_cand);
		}
	} else if (all_cons && nreq == 1 && wipeout) {
		/* one request refused every candidate: that request is the reason */
		rc = line(&x, b, parent);
		if (!rc && b->len && b->data[b->len - 1] == ':')
			b->data[--b->len] = '\0';
	} else if (r) {
		rc = line(&x, b, r);
	}
	/* "no package named x exists" needs who asked for it */
	if (!rc && r && !(all_cons && nreq > 1) && r->kind == R_NOPKG && !r->req && parent) {
		sp_buf p = {0};
		rc = line(&x, &p, parent);
		if (!rc && p.len && p.data[p.len - 1] == ':')
			p.data[--p.len] = '\0';
		if (!rc)
			rc = sp_buf_printf(b, err, " (%s)", p.data ? p.data : "");
		sp_buf_free(&p);
	}
	free_ex(&x); /* the origins' strings too (they leaked) */
	return rc;
}

static void dot_label(FILE *f, const char *s)
{
	fputc('"', f);
	size_t col = 0;
	for (; s && *s; s++, col++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		if (*s == ' ' && col > 50) {
			fputs("\\n", f);
			col = 0;
			continue;
		}
		fputc(*s, f);
	}
	fputc('"', f);
}

static int dot_node(ex *x, FILE *f, const solver__reason *r, int depth, int *counter)
{
	int me = (*counter)++;
	sp_buf b = {0};
	int rc = line(x, &b, r);
	if (rc)
		return rc;
	fprintf(f, "  r%d [label=", me);
	dot_label(f, b.data ? b.data : "");
	fprintf(f, "%s];\n", depth == 0 ? ", style=bold" : "");
	sp_buf_free(&b);
	if (depth >= 6 || *counter > 300)
		return 0;
	const solver__reason *kids[1] = {r->child};
	for (size_t i = 0; i < (r->child ? 1 : 0) + r->nkids && !rc; i++) {
		const solver__reason *k =
		    i == 0 && r->child ? kids[0] : r->kids[i - (r->child ? 1 : 0)];
		int kid_id = *counter;
		fprintf(f, "  r%d -> r%d;\n", me, kid_id);
		rc = dot_node(x, f, k, depth + 1, counter);
	}
	return rc;
}

int solver__dot_conflict(FILE *f, const solver__name *names, size_t nnames,
			 const solver__reason *why, sp_error *err)
{
	(void)nnames;
	ex x = {.names = names, .err = err};
	int counter = 0;
	fprintf(f, "digraph conflict {\n  node [shape=box];\n");
	int rc = why ? dot_node(&x, f, why, 0, &counter) : 0;
	fprintf(f, "}\n");
	free_ex(&x);
	if (!rc && ferror(f))
		rc = sp_error_set(err, SP_EIO, "cannot write the graph");
	return rc;
}
