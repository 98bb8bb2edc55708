/* version.c - SPK version numbers and compat specifications. */
#include "solver/solver.h"

#include <stdlib.h>
#include <string.h>

const solver_limits solver_limits_default = {
    .max_text = 4096,
    .max_parts = 32,
    .max_tags = 16,
    .max_rules = 64,
    .max_components = 64,
};

static void put_text(char *why, size_t whylen, const char *s)
{
	if (why && whylen)
		snprintf(why, whylen, "%s", s);
}

/* Parses a decimal uint32 from s[*i..n); no sign, at most 10 digits. */
static int parse_u32(uint32_t *out, const char *s, size_t n, size_t *i)
{
	size_t start = *i;
	uint64_t v = 0;
	while (*i < n && s[*i] >= '0' && s[*i] <= '9') {
		v = v * 10 + (uint64_t)(s[*i] - '0');
		if (v > UINT32_MAX)
			return -1;
		(*i)++;
	}
	if (*i == start)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int tag_cmp_name(const void *a, const void *b)
{
	return strcmp(((const solver_tag *)a)->name, ((const solver_tag *)b)->name);
}

/* Parses "name.N[,name.N]" up to the end or a stop char ('+'). */
static int parse_tags(const solver_tag **out, size_t *nout, solver_arena *a, const char *s,
		      size_t n, size_t *i, char stop, const solver_limits *lim, const char *what,
		      sp_error *err)
{
	size_t want = 1;
	for (size_t k = *i; k < n && s[k] != stop; k++)
		want += s[k] == ',';
	if (want > lim->max_tags)
		return sp_error_set(err, SP_EINVALID, "more than %zu %s tags", lim->max_tags, what);
	solver_tag *tags = solver_arena_array(a, want, sizeof(*tags), err);
	if (!tags)
		return err->code;
	size_t nt = 0;
	for (;;) {
		size_t st = *i;
		if (*i >= n || !(s[*i] >= 'a' && s[*i] <= 'z'))
			return sp_error_set(
			    err, SP_EINVALID,
			    "%s tag must start with a lowercase letter at offset %zu", what, *i);
		while (*i < n && ((s[*i] >= 'a' && s[*i] <= 'z') || (s[*i] >= '0' && s[*i] <= '9')))
			(*i)++;
		size_t nl = *i - st;
		if (*i >= n || s[*i] != '.')
			return sp_error_set(err, SP_EINVALID,
					    "%s tag '%.*s' needs a number (name.N)", what, (int)nl,
					    s + st);
		(*i)++;
		uint32_t num;
		if (parse_u32(&num, s, n, i))
			return sp_error_set(err, SP_EINVALID, "%s tag '%.*s' has a bad number",
					    what, (int)nl, s + st);
		if (nt >= want)
			return sp_error_set(err, SP_EINVALID, "more than %zu %s tags",
					    lim->max_tags, what);
		for (size_t k = 0; k < nt; k++)
			if (strlen(tags[k].name) == nl && !memcmp(tags[k].name, s + st, nl))
				return sp_error_set(err, SP_EINVALID, "%s tag '%.*s' given twice",
						    what, (int)nl, s + st);
		tags[nt].name = solver_arena_strndup(a, s + st, nl, err);
		if (!tags[nt].name)
			return err->code;
		tags[nt].num = num;
		nt++;
		if (*i < n && s[*i] == ',') {
			(*i)++;
			continue;
		}
		if (*i >= n || s[*i] == stop)
			break;
		return sp_error_set(err, SP_EINVALID, "unexpected '%c' in %s tags at offset %zu",
				    s[*i], what, *i);
	}
	qsort(tags, nt, sizeof(*tags), tag_cmp_name);
	*out = tags;
	*nout = nt;
	return 0;
}

int solver_version_parse(solver_version *out, solver_arena *a, const char *s, size_t n,
			 const solver_limits *lim, sp_error *err)
{
	if (!lim)
		lim = &solver_limits_default;
	memset(out, 0, sizeof(*out));
	if (n == 0)
		return sp_error_set(err, SP_EINVALID, "empty version");
	if (n > lim->max_text)
		return sp_error_set(err, SP_EINVALID, "version longer than %zu bytes",
				    lim->max_text);
	/* parts are counted first so the arena holds only what is used */
	size_t want = 1;
	for (size_t k = 0; k < n && s[k] != '-' && s[k] != '+'; k++)
		want += s[k] == '.';
	if (want > lim->max_parts)
		return sp_error_set(err, SP_EINVALID, "invalid version: more than %zu parts",
				    lim->max_parts);
	uint32_t *parts = solver_arena_array(a, want, sizeof(*parts), err);
	if (!parts)
		return err->code;
	size_t i = 0, np = 0;
	for (;;) {
		if (i >= n || s[i] < '0' || s[i] > '9')
			return sp_error_set(
			    err, SP_EINVALID,
			    "invalid version '%.*s': expected a number at offset %zu",
			    (int)(n > 64 ? 64 : n), s, i);
		if (np >= want)
			return sp_error_set(err, SP_EINVALID,
					    "invalid version '%.*s': unexpected '.'",
					    (int)(n > 64 ? 64 : n), s);
		if (parse_u32(&parts[np], s, n, &i))
			return sp_error_set(err, SP_EINVALID,
					    "invalid version '%.*s': number too large",
					    (int)(n > 64 ? 64 : n), s);
		np++;
		if (i < n && s[i] == '.') {
			i++;
			continue;
		}
		break;
	}
	out->parts = parts;
	out->nparts = np;
	if (i < n && s[i] == '-') {
		i++;
		int rc =
		    parse_tags(&out->pre, &out->npre, a, s, n, &i, '+', lim, "pre-release", err);
		if (rc)
			return sp_error_prefix(err, "invalid version '%.*s'",
					       (int)(n > 64 ? 64 : n), s);
	}
	if (i < n && s[i] == '+') {
		i++;
		int rc = parse_tags(&out->post, &out->npost, a, s, n, &i, '\0', lim, "post-release",
				    err);
		if (rc)
			return sp_error_prefix(err, "invalid version '%.*s'",
					       (int)(n > 64 ? 64 : n), s);
	}
	if (i != n)
		return sp_error_set(err, SP_EINVALID,
				    "invalid version '%.*s': unexpected character at offset %zu",
				    (int)(n > 64 ? 64 : n), s, i);
	return 0;
}

static int tags_cmp(const solver_tag *a, size_t na, const solver_tag *b, size_t nb)
{
	size_t m = na < nb ? na : nb;
	for (size_t i = 0; i < m; i++) {
		int c = strcmp(a[i].name, b[i].name);
		if (c)
			return c < 0 ? -1 : 1;
		if (a[i].num != b[i].num)
			return a[i].num < b[i].num ? -1 : 1;
	}
	return na == nb ? 0 : (na < nb ? -1 : 1);
}

static int parts_cmp(const solver_version *a, const solver_version *b)
{
	size_t m = a->nparts > b->nparts ? a->nparts : b->nparts;
	for (size_t i = 0; i < m; i++) {
		uint32_t x = i < a->nparts ? a->parts[i] : 0;
		uint32_t y = i < b->nparts ? b->parts[i] : 0;
		if (x != y)
			return x < y ? -1 : 1;
	}
	return 0;
}

bool solver_version_parts_eq(const solver_version *a, const solver_version *b)
{
	return parts_cmp(a, b) == 0;
}

int solver_version_cmp(const solver_version *a, const solver_version *b)
{
	int c = parts_cmp(a, b);
	if (c)
		return c;
	if (a->npre != 0 || b->npre != 0) {
		if (a->npre == 0)
			return 1;
		if (b->npre == 0)
			return -1;
		c = tags_cmp(a->pre, a->npre, b->pre, b->npre);
		if (c)
			return c;
	}
	if (a->npost == 0 && b->npost == 0)
		return 0;
	if (a->npost == 0)
		return -1;
	if (b->npost == 0)
		return 1;
	return tags_cmp(a->post, a->npost, b->post, b->npost);
}

int solver_version_format(const solver_version *v, sp_buf *b, sp_error *err)
{
	for (size_t i = 0; i < v->nparts; i++) {
		int rc = sp_buf_printf(b, err, "%s%u", i ? "." : "", v->parts[i]);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < v->npre; i++) {
		int rc =
		    sp_buf_printf(b, err, "%s%s.%u", i ? "," : "-", v->pre[i].name, v->pre[i].num);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < v->npost; i++) {
		int rc = sp_buf_printf(b, err, "%s%s.%u", i ? "," : "+", v->post[i].name,
				       v->post[i].num);
		if (rc)
			return rc;
	}
	return 0;
}

const char *solver_version_str(const solver_version *v, char *buf, size_t n)
{
	sp_buf b = {0};
	sp_error e = {0};
	if (n == 0)
		return buf;
	buf[0] = '\0';
	if (solver_version_format(v, &b, &e) == 0 && b.data)
		snprintf(buf, n, "%s", b.data);
	sp_buf_free(&b);
	return buf;
}

/* ------------------------------------------------------------ compat */

static int parse_ruleset(uint8_t *out, const char *s, size_t n, size_t *i)
{
	uint8_t r = 0;
	size_t st = *i;
	while (*i < n) {
		char c = s[*i];
		if (c == 'x')
			r |= SOLVER_COMPAT_NONE;
		else if (c == 'a')
			r |= SOLVER_COMPAT_API;
		else if (c == 'b')
			r |= SOLVER_COMPAT_BINARY;
		else
			break;
		(*i)++;
	}
	if (*i == st)
		return -1;
	*out = r;
	return 0;
}

int solver_compat_parse(solver_compat *out, solver_arena *a, const char *s, size_t n,
			const solver_limits *lim, sp_error *err)
{
	if (!lim)
		lim = &solver_limits_default;
	memset(out, 0, sizeof(*out));
	if (n == 0 || n > lim->max_text)
		return sp_error_set(err, SP_EINVALID, "invalid compat: %s",
				    n ? "too long" : "empty");
	uint8_t *parts = solver_arena_array(a, lim->max_parts, 1, err);
	if (!parts)
		return err->code;
	size_t i = 0, np = 0;
	for (;;) {
		if (np >= lim->max_parts)
			return sp_error_set(err, SP_EINVALID, "invalid compat: more than %zu parts",
					    lim->max_parts);
		if (parse_ruleset(&parts[np], s, n, &i))
			goto bad;
		np++;
		if (i < n && s[i] == '.') {
			i++;
			continue;
		}
		break;
	}
	while (i < n) {
		char c = s[i++];
		uint8_t *dst = c == '-' ? &out->pre : c == '+' ? &out->post : NULL;
		if (!dst || *dst || parse_ruleset(dst, s, n, &i))
			goto bad;
	}
	out->parts = parts;
	out->nparts = np;
	return 0;
bad:
	return sp_error_set(err, SP_EINVALID,
			    "invalid compat '%.*s': expected rule sets of x, a, b separated by '.' "
			    "with optional -RULES and +RULES (e.g. x.a.b)",
			    (int)(n > 64 ? 64 : n), s);
}

static const uint8_t default_parts[3] = {SOLVER_COMPAT_NONE, SOLVER_COMPAT_API,
					 SOLVER_COMPAT_BINARY};

static const char *rule_name(int r)
{
	return r == SOLVER_COMPAT_API ? "API" : "binary";
}

static bool tagset_eq(const solver_tag *a, size_t na, const solver_tag *b, size_t nb)
{
	return tags_cmp(a, na, b, nb) == 0;
}

bool solver_compat_check(const solver_compat *c, const solver_version *base,
			 const solver_version *other, int required, char *why, size_t whylen)
{
	const uint8_t *parts = c && c->nparts ? c->parts : default_parts;
	size_t np = c && c->nparts ? c->nparts : 3;
	char tmp[256];
	if (parts_cmp(base, other) == 0) {
		bool pre_eq = tagset_eq(base->pre, base->npre, other->pre, other->npre);
		bool post_eq = tagset_eq(base->post, base->npost, other->post, other->npost);
		uint8_t rules[2] = {c ? c->pre : 0, c ? c->post : 0};
		bool eq[2] = {pre_eq, post_eq};
		for (int k = 0; k < 2; k++) {
			if (eq[k] || !rules[k])
				continue;
			if ((rules[k] & SOLVER_COMPAT_NONE) || !(rules[k] & required)) {
				if (why)
					snprintf(tmp, sizeof(tmp),
						 "%s-release tags differ and the compat does not "
						 "allow it",
						 k ? "post" : "pre");
				put_text(why, whylen, tmp);
				return false;
			}
		}
		return true;
	}
	for (size_t i = 0; i < np; i++) {
		if (i >= base->nparts)
			return true;
		uint32_t a = base->parts[i];
		uint32_t b = i < other->nparts ? other->parts[i] : 0;
		if (parts[i] & SOLVER_COMPAT_NONE) {
			if (a != b) {
				if (why)
					snprintf(tmp, sizeof(tmp),
						 "part %zu differs (%u, needs %u) and the compat "
						 "marks it "
						 "incompatible",
						 i + 1, b, a);
				put_text(why, whylen, tmp);
				return false;
			}
			continue;
		}
		if (!(parts[i] & required)) {
			if (a == b)
				continue;
			if (why)
				snprintf(
				    tmp, sizeof(tmp),
				    "part %zu differs (%u, needs %u) and the compat gives no %s "
				    "compatibility there",
				    i + 1, b, a, rule_name(required));
			put_text(why, whylen, tmp);
			return false;
		}
		if (b < a) {
			if (why)
				snprintf(tmp, sizeof(tmp),
					 "part %zu is too low (%u, needs at least %u)", i + 1, b,
					 a);
			put_text(why, whylen, tmp);
			return false;
		}
		return true;
	}
	if (why)
		snprintf(tmp, sizeof(tmp), "the compat does not specify %s compatibility",
			 rule_name(required));
	put_text(why, whylen, tmp);
	return false;
}

static int ruleset_format(uint8_t r, sp_buf *b, sp_error *err)
{
	/* SPK prints rule sets in the order a, b, x. */
	int rc = 0;
	if (r & SOLVER_COMPAT_API)
		rc = sp_buf_append(b, "a", 1, err);
	if (!rc && (r & SOLVER_COMPAT_BINARY))
		rc = sp_buf_append(b, "b", 1, err);
	if (!rc && (r & SOLVER_COMPAT_NONE))
		rc = sp_buf_append(b, "x", 1, err);
	return rc;
}

int solver_compat_format(const solver_compat *c, sp_buf *b, sp_error *err)
{
	const uint8_t *parts = c && c->nparts ? c->parts : default_parts;
	size_t np = c && c->nparts ? c->nparts : 3;
	for (size_t i = 0; i < np; i++) {
		int rc = (i ? sp_buf_append(b, ".", 1, err) : 0);
		if (!rc)
			rc = ruleset_format(parts[i], b, err);
		if (rc)
			return rc;
	}
	if (c && c->pre) {
		int rc = sp_buf_append(b, "-", 1, err);
		if (!rc)
			rc = ruleset_format(c->pre, b, err);
		if (rc)
			return rc;
	}
	if (c && c->post) {
		int rc = sp_buf_append(b, "+", 1, err);
		if (!rc)
			rc = ruleset_format(c->post, b, err);
		if (rc)
			return rc;
	}
	return 0;
}
