/* range.c - SPK version ranges: ^ ~ >= > <= < = == != !== API: Binary:,
 * wildcards, bare compat versions, comma-separated intersections. */
#include "solver/solve_internal.h"

#include <string.h>

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

static int bump(solver_version *out, solver_arena *a, const solver_version *v, size_t idx,
		sp_error *err)
{
	uint32_t *p = solver_arena_array(a, idx + 1, sizeof(*p), err);
	if (!p)
		return err->code;
	for (size_t i = 0; i <= idx; i++)
		p[i] = v->parts[i];
	if (p[idx] == UINT32_MAX)
		return sp_error_set(err, SP_EINVALID, "version part too large to bump");
	p[idx]++;
	memset(out, 0, sizeof(*out));
	out->parts = p;
	out->nparts = idx + 1;
	return 0;
}

static int parse_wild(solver_rule *r, solver_arena *a, const char *s, size_t n,
		      const solver_limits *lim, sp_error *err)
{
	uint32_t *w = solver_arena_array(a, lim->max_parts, sizeof(*w), err);
	if (!w)
		return err->code;
	size_t i = 0, np = 0, stars = 0;
	for (;;) {
		if (np >= lim->max_parts)
			return sp_error_set(err, SP_EINVALID, "wildcard has more than %zu parts",
					    lim->max_parts);
		if (i < n && s[i] == '*') {
			w[np++] = UINT32_MAX;
			stars++;
			i++;
		} else {
			uint64_t v = 0;
			size_t st = i;
			while (i < n && s[i] >= '0' && s[i] <= '9') {
				v = v * 10 + (uint64_t)(s[i] - '0');
				if (v >= UINT32_MAX)
					return sp_error_set(err, SP_EINVALID,
							    "wildcard number too large");
				i++;
			}
			if (i == st)
				goto bad;
			w[np++] = (uint32_t)v;
		}
		if (i < n && s[i] == '.') {
			i++;
			continue;
		}
		break;
	}
	if (i != n || stars != 1)
		goto bad;
	r->op = SOLVER_OP_WILDCARD;
	r->wild = w;
	r->nwild = np;
	return 0;
bad:
	return sp_error_set(err, SP_EINVALID,
			    "invalid wildcard '%.*s': expected numbers and exactly one '*' "
			    "separated by '.' (e.g. 1.*)",
			    (int)(n > 64 ? 64 : n), s);
}

static const struct {
	const char *prefix;
	solver_op op;
} prefixes[] = {
    {"!==", SOLVER_OP_NENE}, {"!=", SOLVER_OP_NE},    {"==", SOLVER_OP_EQEQ},
    {">=", SOLVER_OP_GE},    {"<=", SOLVER_OP_LE},    {">", SOLVER_OP_GT},
    {"<", SOLVER_OP_LT},     {"=", SOLVER_OP_EQ},     {"^", SOLVER_OP_CARET},
    {"~", SOLVER_OP_TILDE},  {"API:", SOLVER_OP_API}, {"Binary:", SOLVER_OP_BINARY},
};

static int parse_rule(solver_rule *r, solver_arena *a, const char *s, size_t n,
		      const solver_limits *lim, sp_error *err)
{
	memset(r, 0, sizeof(*r));
	solver_op op = SOLVER_OP_COMPAT;
	size_t skip = 0;
	for (size_t k = 0; k < sizeof(prefixes) / sizeof(prefixes[0]); k++) {
		size_t pl = strlen(prefixes[k].prefix);
		if (n >= pl && !memcmp(s, prefixes[k].prefix, pl)) {
			op = prefixes[k].op;
			skip = pl;
			break;
		}
	}
	s += skip;
	n -= skip;
	while (n && is_space(*s)) {
		s++;
		n--;
	}
	if (op == SOLVER_OP_COMPAT && memchr(s, '*', n))
		return parse_wild(r, a, s, n, lim, err);
	r->op = op;
	int rc = solver_version_parse(&r->v, a, s, n, lim, err);
	if (rc)
		return rc;
	if (op == SOLVER_OP_CARET) {
		size_t idx = r->v.nparts - 1;
		for (size_t i = 0; i < r->v.nparts; i++)
			if (r->v.parts[i] != 0) {
				idx = i;
				break;
			}
		return bump(&r->upper, a, &r->v, idx, err);
	}
	if (op == SOLVER_OP_TILDE) {
		if (r->v.nparts < 2)
			return sp_error_set(
			    err, SP_EINVALID,
			    "invalid range '~%.*s': ~ needs at least two version parts",
			    (int)(n > 64 ? 64 : n), s);
		return bump(&r->upper, a, &r->v, r->v.nparts - 2, err);
	}
	return 0;
}

int solver_range_parse(solver_range *out, solver_arena *a, const char *s, size_t n,
		       const solver_limits *lim, sp_error *err)
{
	if (!lim)
		lim = &solver_limits_default;
	memset(out, 0, sizeof(*out));
	if (n > lim->max_text)
		return sp_error_set(err, SP_EINVALID, "range longer than %zu bytes", lim->max_text);
	size_t count = 1;
	for (size_t i = 0; i < n; i++)
		if (s[i] == ',')
			count++;
	if (count > lim->max_rules)
		return sp_error_set(err, SP_EINVALID, "range has more than %zu rules",
				    lim->max_rules);
	solver_rule *rules = solver_arena_array(a, count, sizeof(*rules), err);
	if (!rules)
		return err->code;
	size_t nr = 0, i = 0;
	/* A comma inside tags ("1.0-a.1,b.2") belongs to the version: a rule
	 * piece that does not start like a rule is glued to the previous one. */
	while (i <= n) {
		size_t st = i;
		size_t end = i;
		for (;;) {
			while (end < n && s[end] != ',')
				end++;
			if (end >= n)
				break;
			size_t nx = end + 1;
			while (nx < n && is_space(s[nx]))
				nx++;
			if (nx < n && s[nx] >= 'a' && s[nx] <= 'z') {
				end = nx; /* tag continuation */
				continue;
			}
			break;
		}
		size_t b = st, e = end;
		while (b < e && is_space(s[b]))
			b++;
		while (e > b && is_space(s[e - 1]))
			e--;
		if (b == e)
			return sp_error_set(err, SP_EINVALID, "empty rule in range '%.*s'",
					    (int)(n > 64 ? 64 : n), s);
		int rc = parse_rule(&rules[nr], a, s + b, e - b, lim, err);
		if (rc)
			return rc;
		nr++;
		i = end + 1;
		if (end >= n)
			break;
	}
	/* "*" alone allows everything. */
	if (nr == 1 && rules[0].op == SOLVER_OP_WILDCARD && rules[0].nwild == 1)
		nr = 0;
	out->rules = rules;
	out->nrules = nr;
	/* SPK merges the rules of one range: ">=1.0,>=1.2" is ">=1.2" */
	return solver__range_simplify(out, a, true, err);
}

static bool tags_equal(const solver_tag *a, size_t na, const solver_tag *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i].name, b[i].name) || a[i].num != b[i].num)
			return false;
	return true;
}

/* SPK's "each post-release tag written must be there with that number":
 * want's post tags are a subset of v's. */
static bool post_written_match(const solver_version *want, const solver_version *v)
{
	for (size_t i = 0; i < want->npost; i++) {
		bool hit = false;
		for (size_t k = 0; k < v->npost && !hit; k++)
			hit = !strcmp(want->post[i].name, v->post[k].name) &&
			      want->post[i].num == v->post[k].num;
		if (!hit)
			return false;
	}
	return true;
}

static bool eq_loose(const solver_version *want, const solver_version *v)
{
	if (!solver_version_parts_eq(want, v))
		return false;
	if (!tags_equal(want->pre, want->npre, v->pre, v->npre))
		return false;
	return post_written_match(want, v);
}

/* != and !== compare only the parts written (SPK's NotEqualsVersion):
 * !=1.0 is every 1.0.x; a part the version lacks counts as 0. Pre-release
 * tags are not compared; post-release tags make the versions differ when
 * != names some that v lacks, or !== names a different set. */
static bool same_written_prefix(const solver_rule *r, const solver_version *v)
{
	for (size_t i = 0; i < r->v.nparts; i++)
		if (r->v.parts[i] != (i < v->nparts ? v->parts[i] : 0))
			return false;
	if (r->op == SOLVER_OP_NE)
		return !r->v.npost || tags_equal(r->v.post, r->v.npost, v->post, v->npost);
	return tags_equal(r->v.post, r->v.npost, v->post, v->npost);
}

static bool rule_allows(const solver_rule *r, const solver_version *v, const solver_compat *c,
			int default_rule, char *why, size_t whylen)
{
	int cmp;
	switch (r->op) {
	case SOLVER_OP_COMPAT:
	case SOLVER_OP_API:
	case SOLVER_OP_BINARY: {
		int rule = r->op == SOLVER_OP_API      ? SOLVER_COMPAT_API
			   : r->op == SOLVER_OP_BINARY ? SOLVER_COMPAT_BINARY
						       : default_rule;
		if (solver_version_cmp(v, &r->v) < 0) {
			if (why)
				snprintf(why, whylen, "lower than the minimum");
			return false;
		}
		char tmp[200];
		if (!solver_compat_check(c, &r->v, v, rule, why ? tmp : NULL,
					 why ? sizeof(tmp) : 0)) {
			if (why)
				snprintf(why, whylen, "not %s-compatible: %s",
					 rule == SOLVER_COMPAT_API ? "API" : "binary", tmp);
			return false;
		}
		return true;
	}
	case SOLVER_OP_CARET:
	case SOLVER_OP_TILDE:
		if (solver_version_cmp(v, &r->v) < 0) {
			if (why)
				snprintf(why, whylen, "lower than the minimum");
			return false;
		}
		if (solver_version_cmp(v, &r->upper) >= 0) {
			if (why)
				snprintf(why, whylen, "too high");
			return false;
		}
		return true;
	case SOLVER_OP_GE:
	case SOLVER_OP_GT:
	case SOLVER_OP_LE:
	case SOLVER_OP_LT:
		cmp = solver_version_cmp(v, &r->v);
		if ((r->op == SOLVER_OP_GE && cmp >= 0) || (r->op == SOLVER_OP_GT && cmp > 0) ||
		    (r->op == SOLVER_OP_LE && cmp <= 0) || (r->op == SOLVER_OP_LT && cmp < 0))
			return true;
		if (why)
			snprintf(why, whylen, "%s",
				 cmp < 0 || (cmp == 0 && r->op == SOLVER_OP_GT) ? "too low"
										: "too high");
		return false;
	case SOLVER_OP_EQ:
		if (eq_loose(&r->v, v))
			return true;
		if (why)
			snprintf(why, whylen, "not equal");
		return false;
	case SOLVER_OP_EQEQ:
		if (solver_version_cmp(&r->v, v) == 0 &&
		    tags_equal(r->v.post, r->v.npost, v->post, v->npost))
			return true;
		if (why)
			snprintf(why, whylen, "not exactly equal");
		return false;
	case SOLVER_OP_NE:
	case SOLVER_OP_NENE:
		if (!same_written_prefix(r, v))
			return true;
		if (why)
			snprintf(why, whylen, "excluded");
		return false;
	case SOLVER_OP_WILDCARD:
		for (size_t i = 0; i < r->nwild; i++) {
			if (r->wild[i] == UINT32_MAX)
				continue;
			uint32_t p = i < v->nparts ? v->parts[i] : 0;
			if (p != r->wild[i]) {
				if (why)
					snprintf(why, whylen, "part %zu is not %u", i + 1,
						 r->wild[i]);
				return false;
			}
		}
		return true;
	}
	return false;
}

bool solver_range_allows(const solver_range *r, const solver_version *v, const solver_compat *c,
			 int default_rule, char *why, size_t whylen)
{
	for (size_t i = 0; i < r->nrules; i++)
		if (!rule_allows(&r->rules[i], v, c, default_rule, why, whylen))
			return false;
	return true;
}

bool solver_range_names_prerelease(const solver_range *r)
{
	for (size_t i = 0; i < r->nrules; i++)
		if (r->rules[i].op != SOLVER_OP_WILDCARD && r->rules[i].v.npre)
			return true;
	return false;
}

static const char *op_prefix(solver_op op)
{
	for (size_t k = 0; k < sizeof(prefixes) / sizeof(prefixes[0]); k++)
		if (prefixes[k].op == op)
			return prefixes[k].prefix;
	return "";
}

int solver_range_format(const solver_range *r, sp_buf *b, sp_error *err)
{
	if (r->nrules == 0)
		return sp_buf_append(b, "*", 1, err);
	for (size_t i = 0; i < r->nrules; i++) {
		const solver_rule *ru = &r->rules[i];
		int rc = i ? sp_buf_append(b, ",", 1, err) : 0;
		if (rc)
			return rc;
		if (ru->op == SOLVER_OP_WILDCARD) {
			for (size_t k = 0; k < ru->nwild; k++) {
				if (ru->wild[k] == UINT32_MAX)
					rc = sp_buf_printf(b, err, "%s*", k ? "." : "");
				else
					rc = sp_buf_printf(b, err, "%s%u", k ? "." : "",
							   ru->wild[k]);
				if (rc)
					return rc;
			}
			continue;
		}
		rc = sp_buf_printf(b, err, "%s", op_prefix(ru->op));
		if (!rc)
			rc = solver_version_format(&ru->v, b, err);
		if (rc)
			return rc;
	}
	return 0;
}

/* ------------------------------------------------------------- bounds
 *
 * SPK gives every rule a lower (inclusive) and an upper (exclusive) bound;
 * "v plus epsilon" is the smallest version above v. Simplification and the
 * intersection test below work on those bounds only, as SPK's do. */

static int wild_bounds(const solver_rule *r, solver_arena *a, solver__bound *lo, solver__bound *hi,
		       sp_error *err)
{
	uint32_t *lp = solver_arena_array(a, r->nwild + 1, sizeof(*lp), err);
	uint32_t *hp = solver_arena_array(a, r->nwild + 1, sizeof(*hp), err);
	if (!lp || !hp)
		return err->code;
	for (size_t i = 0; i < r->nwild; i++)
		lp[i] = r->wild[i] == UINT32_MAX ? 0 : r->wild[i];
	lo->set = true;
	lo->v.parts = lp;
	lo->v.nparts = r->nwild;
	/* 1.2.* is below 1.3, 1.*.3 below 2.0; a leading * has no limit */
	size_t n = 0;
	for (size_t i = 0; i < r->nwild; i++) {
		bool star = r->wild[i] == UINT32_MAX;
		bool last = i + 1 == r->nwild;
		if (star) {
			if (!last && i > 0)
				hp[n++] = 0;
			break;
		}
		if (!last && r->wild[i + 1] == UINT32_MAX) {
			if (r->wild[i] == UINT32_MAX - 1)
				return 0; /* no representable limit */
			hp[n++] = r->wild[i] + 1;
		} else {
			hp[n++] = r->wild[i];
		}
	}
	if (n && r->wild[0] != UINT32_MAX) {
		hi->set = true;
		hi->v.parts = hp;
		hi->v.nparts = n;
	}
	return 0;
}

int solver__rule_bounds(const solver_rule *r, solver_arena *a, solver__bound *lo, solver__bound *hi,
			sp_error *err)
{
	memset(lo, 0, sizeof(*lo));
	memset(hi, 0, sizeof(*hi));
	switch (r->op) {
	case SOLVER_OP_COMPAT:
	case SOLVER_OP_API:
	case SOLVER_OP_BINARY:
	case SOLVER_OP_GE: *lo = (solver__bound){r->v, true, false}; break;
	case SOLVER_OP_CARET:
	case SOLVER_OP_TILDE:
		*lo = (solver__bound){r->v, true, false};
		*hi = (solver__bound){r->upper, true, false};
		break;
	case SOLVER_OP_GT: *lo = (solver__bound){r->v, true, true}; break;
	case SOLVER_OP_LE: *hi = (solver__bound){r->v, true, true}; break;
	case SOLVER_OP_LT: *hi = (solver__bound){r->v, true, false}; break;
	case SOLVER_OP_EQ:
	case SOLVER_OP_EQEQ:
		*lo = (solver__bound){r->v, true, false};
		*hi = (solver__bound){r->v, true, true};
		break;
	case SOLVER_OP_NE:
	case SOLVER_OP_NENE: {
		/* everything but the written prefix, [1.0, 1.1) for !=1.0: the
		 * bounds are crossed on purpose */
		*lo = (solver__bound){r->v, true, true};
		*hi = (solver__bound){r->v, true, false};
		size_t n = r->v.nparts;
		if (n && r->v.parts[n - 1] != UINT32_MAX) {
			uint32_t *up = solver_arena_array(a, n, sizeof(*up), err);
			if (!up)
				return err->code;
			memcpy(up, r->v.parts, n * sizeof(*up));
			up[n - 1]++;
			*lo = (solver__bound){{.parts = up, .nparts = n}, true, false};
		}
		break;
	}
	case SOLVER_OP_WILDCARD: return wild_bounds(r, a, lo, hi, err);
	}
	return 0;
}

int solver__bound_cmp(const solver__bound *x, const solver__bound *y)
{
	int c = solver_version_cmp(&x->v, &y->v);
	if (c)
		return c;
	return (int)x->eps - (int)y->eps;
}

int solver__range_bounds(const solver_range *r, solver_arena *a, solver__bound *lo,
			 solver__bound *hi, sp_error *err)
{
	memset(lo, 0, sizeof(*lo));
	memset(hi, 0, sizeof(*hi));
	for (size_t i = 0; i < r->nrules; i++) {
		solver__bound l, h;
		int rc = solver__rule_bounds(&r->rules[i], a, &l, &h, err);
		if (rc)
			return rc;
		if (l.set && (!lo->set || solver__bound_cmp(&l, lo) > 0))
			*lo = l;
		if (h.set && (!hi->set || solver__bound_cmp(&h, hi) < 0))
			*hi = h;
	}
	return 0;
}

/* The versions one rule's bounds leave: one or two pieces. */
typedef struct piece {
	const solver__bound *from, *to; /* NULL = unbounded */
} piece;

static size_t pieces(const solver__bound *lo, const solver__bound *hi, piece p[2])
{
	const solver__bound *l = lo->set ? lo : NULL, *h = hi->set ? hi : NULL;
	if (l && h && solver__bound_cmp(l, h) >= 0) {
		/* crossed (!=): below h, or from l on */
		p[0] = (piece){NULL, h};
		p[1] = (piece){l, NULL};
		return 2;
	}
	p[0] = (piece){l, h};
	return 1;
}

static bool piece_meets(const piece *x, const piece *y)
{
	/* [a1, a2) and [b1, b2) meet when a1 < b2 and b1 < a2 */
	if (x->from && y->to && solver__bound_cmp(x->from, y->to) >= 0)
		return false;
	if (y->from && x->to && solver__bound_cmp(y->from, x->to) >= 0)
		return false;
	return true;
}

bool solver__bounds_meet(const solver__bound *lo1, const solver__bound *hi1,
			 const solver__bound *lo2, const solver__bound *hi2)
{
	piece a[2], b[2];
	size_t na = pieces(lo1, hi1, a), nb = pieces(lo2, hi2, b);
	for (size_t i = 0; i < na; i++)
		for (size_t j = 0; j < nb; j++)
			if (piece_meets(&a[i], &b[j]))
				return true;
	return false;
}

static int compat_level(const solver_rule *r)
{
	return r->op == SOLVER_OP_API ? 1 : r->op == SOLVER_OP_BINARY ? 2 : 0;
}

/* Does rule x allow every version rule y allows (by SPK's bounds test)? */
static bool rule_contains(const solver_rule *x, const solver__bound *xl, const solver__bound *xh,
			  const solver_rule *y, const solver__bound *yl, const solver__bound *yh)
{
	int cx = compat_level(x), cy = compat_level(y);
	if (cx && !cy) {
		/* Binary:1.2.3 contains =1.2.3 and ==1.2.3 only */
		if (!((y->op == SOLVER_OP_EQ || y->op == SOLVER_OP_EQEQ) &&
		      solver_version_cmp(&x->v, &y->v) == 0))
			return false;
	} else if (cx && cy && cx > cy) {
		return false;
	}
	/* SPK's bound table, once for the lower bounds (x's against y's, y's
	 * upper opposite) and once for the upper ones (y's against x's) */
	const solver__bound *t[2][3] = {{xl, yl, yh}, {yh, xh, xl}};
	for (int k = 0; k < 2; k++) {
		const solver__bound *l = t[k][0]->set ? t[k][0] : NULL;
		const solver__bound *r = t[k][1]->set ? t[k][1] : NULL;
		const solver__bound *o = t[k][2]->set ? t[k][2] : NULL;
		if (!l && !r)
			continue;
		if (!l) {
			if (!o || solver__bound_cmp(o, r) < 0)
				return false;
		} else if (!r) {
			if (!o || solver__bound_cmp(o, l) > 0)
				return false;
		} else if (solver__bound_cmp(l, r) > 0) {
			return false;
		}
	}
	return solver__bounds_meet(xl, xh, yl, yh);
}

static bool rule_same(const solver_rule *x, const solver_rule *y)
{
	if (x->op != y->op)
		return false;
	if (x->op == SOLVER_OP_WILDCARD) {
		if (x->nwild != y->nwild)
			return false;
		for (size_t i = 0; i < x->nwild; i++)
			if (x->wild[i] != y->wild[i])
				return false;
		return true;
	}
	return solver_version_cmp(&x->v, &y->v) == 0 && solver_version_parts_eq(&x->v, &y->v) &&
	       x->v.nparts == y->v.nparts;
}

/* Rules whose versions are exactly their bounds (or, for compat rules,
 * that SPK lets merge by their bounds). */
static bool bounds_exact(const solver_rule *r)
{
	switch (r->op) {
	case SOLVER_OP_GE:
	case SOLVER_OP_GT:
	case SOLVER_OP_LE:
	case SOLVER_OP_LT:
	case SOLVER_OP_CARET:
	case SOLVER_OP_TILDE:
	case SOLVER_OP_COMPAT:
	case SOLVER_OP_API:
	case SOLVER_OP_BINARY: return true;
	default: return false;
	}
}

int solver__range_simplify(solver_range *r, solver_arena *a, bool merge_compat, sp_error *err)
{
	if (r->nrules <= 1)
		return 0;
	solver_rule *rules = (solver_rule *)r->rules;
	size_t n = r->nrules;
	solver__bound lo_s[8], hi_s[8]; /* most ranges have one or two rules */
	solver__bound *lo = n <= 8 ? lo_s : solver_arena_array(a, n, sizeof(*lo), err);
	solver__bound *hi = n <= 8 ? hi_s : solver_arena_array(a, n, sizeof(*hi), err);
	if (!lo || !hi)
		return err->code;
	for (size_t i = 0; i < n; i++) {
		int rc = solver__rule_bounds(&rules[i], a, &lo[i], &hi[i], err);
		if (rc)
			return rc;
	}
	/* drop a rule written twice, then any rule that allows everything
	 * another one allows (keep the stricter), until none is left */
	bool changed = true;
	while (changed && n > 1) {
		changed = false;
		for (size_t i = 0; i < n && !changed; i++)
			for (size_t j = 0; j < n && !changed; j++) {
				if (i == j)
					continue;
				const solver_rule *x = &rules[i], *y = &rules[j];
				bool cx = x->op == SOLVER_OP_COMPAT || compat_level(x);
				bool cy = y->op == SOLVER_OP_COMPAT || compat_level(y);
				if (rule_same(x, y)) {
					if (i < j)
						continue; /* remove the later copy */
				} else if (!bounds_exact(x) || y->op == SOLVER_OP_NE ||
					   y->op == SOLVER_OP_NENE) {
					/* bounds would not tell the whole story:
					 * dropping x could let more versions in */
					continue;
				} else if (!merge_compat && (cx || cy)) {
					bool eq =
					    (y->op == SOLVER_OP_EQ || y->op == SOLVER_OP_EQEQ) &&
					    cx && solver_version_cmp(&x->v, &y->v) == 0;
					if (!eq)
						continue;
				}
				if (!rule_same(x, y) &&
				    !rule_contains(x, &lo[i], &hi[i], y, &lo[j], &hi[j]))
					continue;
				memmove(&rules[i], &rules[i + 1], (n - i - 1) * sizeof(*rules));
				memmove(&lo[i], &lo[i + 1], (n - i - 1) * sizeof(*lo));
				memmove(&hi[i], &hi[i + 1], (n - i - 1) * sizeof(*hi));
				n--;
				changed = true;
			}
	}
	r->nrules = n;
	return 0;
}

bool solver__ranges_meet(const solver_range *x, const solver_range *y, solver_arena *a,
			 const solver_rule **rx, const solver_rule **ry)
{
	sp_error e = {0};
	for (size_t i = 0; i < x->nrules; i++) {
		solver__bound l1, h1;
		if (solver__rule_bounds(&x->rules[i], a, &l1, &h1, &e))
			return true;
		for (size_t j = 0; j < y->nrules; j++) {
			solver__bound l2, h2;
			if (solver__rule_bounds(&y->rules[j], a, &l2, &h2, &e))
				return true;
			if (!solver__bounds_meet(&l1, &h1, &l2, &h2)) {
				if (rx)
					*rx = &x->rules[i];
				if (ry)
					*ry = &y->rules[j];
				return false;
			}
		}
	}
	return true;
}

bool solver__range_below_all(const solver_range *r)
{
	for (size_t i = 0; i < r->nrules; i++) {
		const solver_rule *ru = &r->rules[i];
		if (ru->op != SOLVER_OP_LT || ru->v.npre)
			continue;
		bool zero = true;
		for (size_t k = 0; k < ru->v.nparts && zero; k++)
			zero = ru->v.parts[k] == 0;
		if (zero)
			return true;
	}
	return false;
}
