/* range.c - SPK version ranges: ^ ~ >= > <= < = == != !== API: Binary:,
 * wildcards, bare compat versions, comma-separated intersections. */
#include "solver/solver.h"

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
	return 0;
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

static bool eq_loose(const solver_version *want, const solver_version *v)
{
	if (!solver_version_parts_eq(want, v))
		return false;
	if (!tags_equal(want->pre, want->npre, v->pre, v->npre))
		return false;
	if (want->npost && !tags_equal(want->post, want->npost, v->post, v->npost))
		return false;
	return true;
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
		if (!solver_compat_check(c, &r->v, v, rule, tmp, sizeof(tmp))) {
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
		if (!eq_loose(&r->v, v))
			return true;
		if (why)
			snprintf(why, whylen, "excluded");
		return false;
	case SOLVER_OP_NENE:
		if (!(solver_version_cmp(&r->v, v) == 0 &&
		      tags_equal(r->v.post, r->v.npost, v->post, v->npost)))
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
