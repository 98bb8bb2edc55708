/* template_filters.c - the filters, tests and functions of spec templates
 * (see template.c): SPK's own (default_opts, compare_version,
 * parse_version, replace_regex) and the Tera built-ins SPK's recipes and
 * docs use. Each checks its arguments and says what is wrong with the
 * tag's position. */
#include "pkg/template_int.h"

#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

/* -------------------------------------------------- SPK's filters */

static int parse_version_value(rnd *r, const expr *e, const tval *in, solver_version *v)
{
	if (in->k != V_STR)
		return pkg__tpl_fail(r, e->line, e->col, "%s: expected a version string, got %s",
				     e->name, pkg__tpl_kind(in->k));
	sp_error ve = {0};
	if (solver_version_parse(v, r->a, in->s, in->n, &solver_limits_default, &ve))
		return pkg__tpl_fail(r, e->line, e->col, "%s: %s", e->name, ve.msg);
	return 0;
}

static int f_compare_version(rnd *r, const expr *e, const tval *in, tval *out)
{
	static const char *const ok[] = {"op", "rhs", NULL};
	tval op, rhs;
	bool given;
	int rc = pkg__tpl_check_kwargs(r, e, ok);
	if (!rc)
		rc = pkg__tpl_str_kwarg(r, e, "op", true, &op);
	if (!rc)
		rc = pkg__tpl_kwarg(r, e, "rhs", &rhs, &given);
	if (rc)
		return rc;
	sp_buf b = {0};
	rc = sp_buf_append(&b, op.s, op.n, r->err);
	if (!rc && given) {
		if (rhs.k == V_ARR || rhs.k == V_MAP)
			rc = pkg__tpl_fail(r, e->line, e->col,
					   "compare_version: rhs must be a value");
		else
			rc = pkg__tpl_text(r, &rhs, &b);
	}
	solver_version v;
	solver_range range;
	sp_error ve = {0};
	if (!rc)
		rc = parse_version_value(r, e, in, &v);
	if (!rc && solver_range_parse(&range, r->a, b.data ? b.data : "", b.len,
				      &solver_limits_default, &ve))
		rc = pkg__tpl_fail(r, e->line, e->col, "compare_version: '%.*s': %s", (int)b.len,
				   b.data ? b.data : "", ve.msg);
	sp_buf_free(&b);
	if (rc)
		return rc;
	*out = (tval){.k = V_BOOL,
		      .b = solver_range_allows(&range, &v, NULL, SOLVER_COMPAT_API, NULL, 0)};
	return 0;
}

static int tags_map(rnd *r, const solver_tag *t, size_t n, tval *out)
{
	*out = (tval){.k = V_MAP, .n = n};
	out->items = pkg__tpl_array(r, n ? n : 1, sizeof(*out->items));
	out->keys = pkg__tpl_array(r, n ? n : 1, sizeof(*out->keys));
	if (!out->items || !out->keys)
		return r->err->code;
	for (size_t i = 0; i < n; i++) {
		out->keys[i] = t[i].name;
		out->items[i] = (tval){.k = V_INT, .i = t[i].num};
	}
	return 0;
}

static int f_parse_version(rnd *r, const expr *e, const tval *in, tval *out)
{
	static const char *const ok[] = {"field", NULL};
	tval field;
	solver_version v;
	int rc = pkg__tpl_check_kwargs(r, e, ok);
	if (!rc)
		rc = pkg__tpl_str_kwarg(r, e, "field", false, &field);
	if (!rc)
		rc = parse_version_value(r, e, in, &v);
	if (rc)
		return rc;
	static const char *const names[] = {"major", "minor",	"patch", "base",
					    "parts", "epsilon", "pre",	 "post"};
	tval m = {.k = V_MAP, .n = 8};
	m.items = pkg__tpl_array(r, 8, sizeof(*m.items));
	m.keys = pkg__tpl_array(r, 8, sizeof(*m.keys));
	if (!m.items || !m.keys)
		return r->err->code;
	sp_buf base = {0};
	for (size_t i = 0; i < 3; i++) {
		m.keys[i] = names[i];
		m.items[i] = (tval){.k = V_INT, .i = i < v.nparts ? v.parts[i] : 0};
	}
	/* base: the numeric parts, at least three */
	size_t nb = v.nparts < 3 ? 3 : v.nparts;
	for (size_t i = 0; !rc && i < nb; i++)
		rc = sp_buf_printf(&base, r->err, "%s%u", i ? "." : "",
				   i < v.nparts ? v.parts[i] : 0u);
	char *bs = rc ? NULL : pkg__tpl_strndup(r, base.data, base.len);
	size_t bl = base.len;
	sp_buf_free(&base);
	if (rc)
		return rc;
	if (!bs)
		return r->err->code;
	m.keys[3] = names[3];
	m.items[3] = vstr(bs, bl);
	tval parts = {.k = V_ARR, .n = v.nparts};
	parts.items = pkg__tpl_array(r, v.nparts ? v.nparts : 1, sizeof(*parts.items));
	if (!parts.items)
		return r->err->code;
	for (size_t i = 0; i < v.nparts; i++)
		parts.items[i] = (tval){.k = V_INT, .i = v.parts[i]};
	m.keys[4] = names[4];
	m.items[4] = parts;
	m.keys[5] = names[5];
	m.items[5] = (tval){.k = V_BOOL, .b = false};
	m.keys[6] = names[6];
	m.keys[7] = names[7];
	if ((rc = tags_map(r, v.pre, v.npre, &m.items[6])) ||
	    (rc = tags_map(r, v.post, v.npost, &m.items[7])))
		return rc;
	if (field.k == V_UNDEF) {
		*out = m;
		return 0;
	}
	const tval *f = pkg__tpl_map_get(&m, field.s);
	if (!f)
		return pkg__tpl_fail(
		    r, e->line, e->col,
		    "parse_version: no field '%s' (major, minor, patch, base, parts, "
		    "epsilon, pre, post)",
		    field.s);
	*out = *f;
	return 0;
}

static bool opt_name_ok(const char *s)
{
	if (!*s || strlen(s) > 64)
		return false;
	for (const char *p = s; *p; p++)
		if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_' ||
		      *p == '-' || *p == '.'))
			return false;
	return true;
}

static int f_default_opts(rnd *r, const expr *e, const tval *in, tval *out)
{
	if (in->k != V_MAP)
		return pkg__tpl_fail(r, e->line, e->col,
				     "default_opts: expected a map (opt), got %s",
				     pkg__tpl_kind(in->k));
	tval m = *in;
	for (size_t i = 0; i < e->nk; i++) {
		if (!opt_name_ok(e->knames[i]))
			return pkg__tpl_fail(r, e->line, e->col,
					     "default_opts: '%s' is not an option name",
					     e->knames[i]);
		tval v, s;
		int rc = pkg__tpl_eval(r, e->kvals[i], &v);
		if (!rc)
			rc = pkg__tpl_defined(r, e->kvals[i], &v);
		if (rc)
			return rc;
		if (v.k == V_ARR || v.k == V_MAP)
			return pkg__tpl_fail(r, e->line, e->col,
					     "default_opts: '%s' must be a single value, got %s",
					     e->knames[i], pkg__tpl_kind(v.k));
		if (pkg__tpl_map_get(&m, e->knames[i]))
			continue; /* given (--opt) wins */
		if ((rc = pkg__tpl_string(r, &v, &s)) ||
		    (rc = pkg__tpl_map_with(r, &m, e->knames[i], &s, &m)))
			return rc;
	}
	*out = m;
	return 0;
}

/* A Rust/Perl-style pattern as a POSIX extended one: \d \w \s and their
 * negations become bracket expressions; what POSIX cannot do is refused. */
static int translate_regex(rnd *r, const expr *e, const char *in, sp_buf *b)
{
	int rc = 0;
	/* glibc's regcomp copies a subexpression for each + and {m,n}: bound
	 * them so a pattern cannot make it allocate without end */
	if (strlen(in) > 256)
		return pkg__tpl_fail(r, e->line, e->col,
				     "replace_regex: pattern longer than 256 bytes");
	size_t heavy = 0;
	bool quant = false; /* the previous item was a quantifier */
	for (const char *p = in; *p && !rc; p++) {
		bool q = *p == '*' || *p == '+' || *p == '?' || *p == '{';
		if (q && quant)
			return pkg__tpl_fail(
			    r, e->line, e->col,
			    "replace_regex: a quantifier after a quantifier is not "
			    "supported");
		quant = q;
		if (*p == '+' || *p == '{') {
			if (++heavy > 16)
				return pkg__tpl_fail(
				    r, e->line, e->col,
				    "replace_regex: more than 16 '+' or '{}' repetitions");
			if (*p == '{') {
				char *end;
				for (const char *c = p + 1; *c && *c != '}'; c = end) {
					unsigned long v = strtoul(c, &end, 10);
					if (v > 100)
						return pkg__tpl_fail(
						    r, e->line, e->col,
						    "replace_regex: repetition counts "
						    "above 100 are not supported");
					if (end == c)
						end = (char *)c + 1;
				}
				const char *close = strchr(p, '}');
				if (close) {
					rc = sp_buf_append(b, p, (size_t)(close - p + 1), r->err);
					p = close;
					continue;
				}
			}
		}
		if (*p == '\\' && p[1]) {
			const char *rep = NULL;
			switch (p[1]) {
			case 'd': rep = "[0-9]"; break;
			case 'D': rep = "[^0-9]"; break;
			case 'w': rep = "[A-Za-z0-9_]"; break;
			case 'W': rep = "[^A-Za-z0-9_]"; break;
			case 's': rep = "[[:space:]]"; break;
			case 'S': rep = "[^[:space:]]"; break;
			default:
				if (isalnum((unsigned char)p[1]))
					return pkg__tpl_fail(
					    r, e->line, e->col,
					    "replace_regex: '\\%c' is not supported", p[1]);
			}
			rc = rep ? sp_buf_append(b, rep, strlen(rep), r->err)
				 : sp_buf_append(b, p, 2, r->err);
			p++;
			continue;
		}
		if (*p == '(' && p[1] == '?')
			return pkg__tpl_fail(r, e->line, e->col,
					     "replace_regex: '(?' groups are not supported");
		if ((*p == '*' || *p == '+' || *p == '?' || *p == '}') && p[1] == '?')
			return pkg__tpl_fail(r, e->line, e->col,
					     "replace_regex: lazy quantifiers are not supported");
		rc = sp_buf_append(b, p, 1, r->err);
	}
	return rc ? rc : sp_buf_append(b, "", 1, r->err);
}

/* Appends `to` with $N / ${N} replaced by the groups of one match. */
static int expand_groups(rnd *r, sp_buf *o, const char *to, const char *subj, const regmatch_t *m,
			 size_t ngroups)
{
	int rc = 0;
	for (const char *p = to; *p && !rc; p++) {
		if (*p == '$' && p[1] == '$') {
			rc = pkg__tpl_append(r, o, "$", 1);
			p++;
			continue;
		}
		const char *q = p + 1;
		bool brace = *q == '{';
		if (*p == '$' && (isdigit((unsigned char)q[brace]))) {
			q += brace;
			size_t g = 0;
			while (isdigit((unsigned char)*q) && g < 1000)
				g = g * 10 + (size_t)(*q++ - '0');
			if (brace && *q != '}') {
				rc = pkg__tpl_append(r, o, p, 1);
				continue;
			}
			if (g < ngroups && m[g].rm_so >= 0)
				rc = pkg__tpl_append(r, o, subj + m[g].rm_so,
						     (size_t)(m[g].rm_eo - m[g].rm_so));
			p = brace ? q : q - 1;
			continue;
		}
		rc = pkg__tpl_append(r, o, p, 1);
	}
	return rc;
}

static int f_replace_regex(rnd *r, const expr *e, const tval *in, tval *out)
{
	static const char *const ok[] = {"from", "to", NULL};
	tval from, to;
	int rc = pkg__tpl_check_kwargs(r, e, ok);
	if (!rc)
		rc = pkg__tpl_str_kwarg(r, e, "from", true, &from);
	if (!rc)
		rc = pkg__tpl_str_kwarg(r, e, "to", false, &to);
	if (rc)
		return rc;
	if (to.k == V_UNDEF)
		to = vstr("", 0);
	if (in->k != V_STR)
		return pkg__tpl_fail(r, e->line, e->col, "replace_regex: expected a string, got %s",
				     pkg__tpl_kind(in->k));
	sp_buf pat = {0}, o = {0};
	if ((rc = translate_regex(r, e, from.s, &pat))) {
		sp_buf_free(&pat);
		return rc;
	}
	regex_t re;
	int cr = regcomp(&re, pat.data, REG_EXTENDED);
	sp_buf_free(&pat);
	if (cr) {
		char why[200];
		regerror(cr, &re, why, sizeof(why));
		return pkg__tpl_fail(r, e->line, e->col, "replace_regex: '%s': %s", from.s, why);
	}
	regmatch_t m[10];
	size_t at = 0;
	int flags = 0;
	while (!rc && at <= in->n) {
		if (regexec(&re, in->s + at, 10, m, flags))
			break;
		rc = pkg__tpl_append(r, &o, in->s + at, (size_t)m[0].rm_so);
		if (!rc)
			rc = expand_groups(r, &o, to.s, in->s + at, m, 10);
		size_t adv = (size_t)m[0].rm_eo;
		if (m[0].rm_eo == m[0].rm_so) {
			/* an empty match: keep one character and move on */
			if (!rc && at + adv < in->n)
				rc = pkg__tpl_append(r, &o, in->s + at + adv, 1);
			adv++;
		}
		at += adv;
		flags = REG_NOTBOL;
	}
	regfree(&re);
	if (!rc && at < in->n)
		rc = pkg__tpl_append(r, &o, in->s + at, in->n - at);
	char *s = rc ? NULL : pkg__tpl_strndup(r, o.data ? o.data : "", o.len);
	size_t n = o.len;
	sp_buf_free(&o);
	if (rc)
		return rc;
	if (!s)
		return r->err->code;
	*out = vstr(s, n);
	return 0;
}

/* ------------------------------------------------- Tera's built-ins */

static int f_replace(rnd *r, const expr *e, const tval *in, tval *out)
{
	static const char *const ok[] = {"from", "to", NULL};
	tval from, to;
	int rc = pkg__tpl_check_kwargs(r, e, ok);
	if (!rc)
		rc = pkg__tpl_str_kwarg(r, e, "from", true, &from);
	if (!rc)
		rc = pkg__tpl_str_kwarg(r, e, "to", true, &to);
	if (rc)
		return rc;
	if (in->k != V_STR)
		return pkg__tpl_fail(r, e->line, e->col, "replace: expected a string, got %s",
				     pkg__tpl_kind(in->k));
	if (from.n == 0)
		return pkg__tpl_fail(r, e->line, e->col, "replace: 'from' is empty");
	sp_buf o = {0};
	size_t i = 0;
	while (!rc && i < in->n) {
		if (in->n - i >= from.n && !memcmp(in->s + i, from.s, from.n)) {
			rc = pkg__tpl_append(r, &o, to.s, to.n);
			i += from.n;
		} else {
			rc = pkg__tpl_append(r, &o, in->s + i, 1);
			i++;
		}
	}
	char *s = rc ? NULL : pkg__tpl_strndup(r, o.data ? o.data : "", o.len);
	size_t n = o.len;
	sp_buf_free(&o);
	if (rc)
		return rc;
	if (!s)
		return r->err->code;
	*out = vstr(s, n);
	return 0;
}

static int f_case(rnd *r, const expr *e, const tval *in, tval *out, int mode)
{
	if (in->k != V_STR)
		return pkg__tpl_fail(r, e->line, e->col, "%s: expected a string, got %s", e->name,
				     pkg__tpl_kind(in->k));
	char *s = pkg__tpl_strndup(r, in->s, in->n);
	if (!s)
		return r->err->code;
	for (size_t i = 0; i < in->n; i++) {
		unsigned char c = (unsigned char)s[i];
		bool first = i == 0 || (mode == 3 && isspace((unsigned char)s[i - 1]));
		if (mode == 0)
			s[i] = (char)tolower(c);
		else if (mode == 1)
			s[i] = (char)toupper(c);
		else
			s[i] = (char)(first ? toupper(c) : mode == 2 ? tolower(c) : c);
	}
	*out = vstr(s, in->n);
	return 0;
}

static int f_trim(rnd *r, const expr *e, const tval *in, tval *out)
{
	if (in->k != V_STR)
		return pkg__tpl_fail(r, e->line, e->col, "%s: expected a string, got %s", e->name,
				     pkg__tpl_kind(in->k));
	size_t a = 0, b = in->n;
	bool start = strcmp(e->name, "trim_end"), end = strcmp(e->name, "trim_start");
	while (start && a < b && isspace((unsigned char)in->s[a]))
		a++;
	while (end && b > a && isspace((unsigned char)in->s[b - 1]))
		b--;
	char *s = pkg__tpl_strndup(r, in->s + a, b - a);
	if (!s)
		return r->err->code;
	*out = vstr(s, b - a);
	return 0;
}

static int f_split(rnd *r, const expr *e, const tval *in, tval *out)
{
	static const char *const ok[] = {"pat", NULL};
	tval pat;
	int rc = pkg__tpl_check_kwargs(r, e, ok);
	if (!rc)
		rc = pkg__tpl_str_kwarg(r, e, "pat", true, &pat);
	if (rc)
		return rc;
	if (in->k != V_STR)
		return pkg__tpl_fail(r, e->line, e->col, "split: expected a string, got %s",
				     pkg__tpl_kind(in->k));
	if (pat.n == 0)
		return pkg__tpl_fail(r, e->line, e->col, "split: 'pat' is empty");
	size_t cnt = 1;
	for (size_t i = 0; i + pat.n <= in->n;)
		if (!memcmp(in->s + i, pat.s, pat.n)) {
			cnt++;
			i += pat.n;
		} else {
			i++;
		}
	tval a = {.k = V_ARR, .n = 0};
	if (!(a.items = pkg__tpl_array(r, cnt, sizeof(*a.items))))
		return r->err->code;
	size_t st = 0;
	for (size_t i = 0; i <= in->n;) {
		if (i == in->n || (i + pat.n <= in->n && !memcmp(in->s + i, pat.s, pat.n))) {
			char *s = pkg__tpl_strndup(r, in->s + st, i - st);
			if (!s)
				return r->err->code;
			a.items[a.n++] = vstr(s, i - st);
			if (i == in->n)
				break;
			i += pat.n;
			st = i;
		} else {
			i++;
		}
	}
	*out = a;
	return 0;
}

static int f_join(rnd *r, const expr *e, const tval *in, tval *out)
{
	static const char *const ok[] = {"sep", NULL};
	tval sep;
	int rc = pkg__tpl_check_kwargs(r, e, ok);
	if (!rc)
		rc = pkg__tpl_str_kwarg(r, e, "sep", false, &sep);
	if (rc)
		return rc;
	if (in->k != V_ARR)
		return pkg__tpl_fail(r, e->line, e->col, "join: expected a list, got %s",
				     pkg__tpl_kind(in->k));
	sp_buf o = {0};
	for (size_t i = 0; !rc && i < in->n; i++) {
		if (i && sep.k == V_STR)
			rc = pkg__tpl_append(r, &o, sep.s, sep.n);
		if (!rc)
			rc = pkg__tpl_text(r, &in->items[i], &o);
	}
	char *s = rc ? NULL : pkg__tpl_strndup(r, o.data ? o.data : "", o.len);
	size_t n = o.len;
	sp_buf_free(&o);
	if (rc)
		return rc;
	if (!s)
		return r->err->code;
	*out = vstr(s, n);
	return 0;
}

static int f_number(rnd *r, const expr *e, const tval *in, tval *out, bool to_int)
{
	double f;
	if (in->k == V_INT)
		f = (double)in->i;
	else if (in->k == V_FLOAT)
		f = in->f;
	else if (in->k == V_BOOL)
		f = in->b;
	else if (in->k == V_STR) {
		char buf[64];
		size_t n = in->n < sizeof(buf) - 1 ? in->n : sizeof(buf) - 1;
		memcpy(buf, in->s, n);
		buf[n] = '\0';
		char *end;
		errno = 0;
		f = strtod(buf, &end);
		if (end == buf || *end || errno || in->n >= sizeof(buf))
			return pkg__tpl_fail(r, e->line, e->col, "%s: '%.*s' is not a number",
					     e->name, (int)n, buf);
	} else {
		return pkg__tpl_fail(r, e->line, e->col, "%s: expected a number, got %s", e->name,
				     pkg__tpl_kind(in->k));
	}
	if (to_int) {
		if (!(f > -9.2e18 && f < 9.2e18))
			return pkg__tpl_fail(r, e->line, e->col, "int: out of range");
		*out = (tval){.k = V_INT, .i = (int64_t)f};
	} else {
		*out = (tval){.k = V_FLOAT, .f = f};
	}
	return 0;
}

static int f_length(rnd *r, const expr *e, const tval *in, tval *out)
{
	if (in->k != V_STR && in->k != V_ARR && in->k != V_MAP)
		return pkg__tpl_fail(r, e->line, e->col,
				     "length: expected a string, list or map, got %s",
				     pkg__tpl_kind(in->k));
	*out = (tval){.k = V_INT, .i = (int64_t)in->n};
	return 0;
}

static int f_pick(rnd *r, const expr *e, const tval *in, tval *out)
{
	if (in->k != V_ARR)
		return pkg__tpl_fail(r, e->line, e->col, "%s: expected a list, got %s", e->name,
				     pkg__tpl_kind(in->k));
	if (!strcmp(e->name, "reverse")) {
		tval a = {.k = V_ARR, .n = in->n};
		if (!(a.items = pkg__tpl_array(r, in->n ? in->n : 1, sizeof(*a.items))))
			return r->err->code;
		for (size_t i = 0; i < in->n; i++)
			a.items[i] = in->items[in->n - 1 - i];
		*out = a;
		return 0;
	}
	*out = in->n == 0		   ? (tval){.k = V_NULL}
	       : !strcmp(e->name, "first") ? in->items[0]
					   : in->items[in->n - 1];
	return 0;
}

static const char *const filter_names =
    "default, default_opts, compare_version, parse_version, replace_regex, replace, lower, "
    "upper, capitalize, title, trim, trim_start, trim_end, split, join, length, first, last, "
    "reverse, int, float, as_str, safe";

int pkg__tpl_filter(rnd *r, const expr *e, tval *v)
{
	const char *f = e->name;
	int rc;
	if (!strcmp(f, "default")) {
		static const char *const ok[] = {"value", "boolean", NULL};
		if ((rc = pkg__tpl_check_kwargs(r, e, ok)))
			return rc;
		if (v->k != V_UNDEF)
			return 0;
		bool given;
		tval d;
		if ((rc = pkg__tpl_kwarg(r, e, "value", &d, &given)))
			return rc;
		if (!given)
			return pkg__tpl_fail(r, e->line, e->col,
					     "default: missing argument 'value'");
		*v = d;
		return 0;
	}
	if (!strcmp(f, "safe"))
		return pkg__tpl_defined(r, e, v);
	if ((rc = pkg__tpl_defined(r, e, v)))
		return rc;
	tval out = {0};
	if (!strcmp(f, "default_opts"))
		rc = f_default_opts(r, e, v, &out);
	else if (!strcmp(f, "compare_version"))
		rc = f_compare_version(r, e, v, &out);
	else if (!strcmp(f, "parse_version"))
		rc = f_parse_version(r, e, v, &out);
	else if (!strcmp(f, "replace_regex"))
		rc = f_replace_regex(r, e, v, &out);
	else if (!strcmp(f, "replace"))
		rc = f_replace(r, e, v, &out);
	else if (!strcmp(f, "lower"))
		rc = f_case(r, e, v, &out, 0);
	else if (!strcmp(f, "upper"))
		rc = f_case(r, e, v, &out, 1);
	else if (!strcmp(f, "capitalize"))
		rc = f_case(r, e, v, &out, 2);
	else if (!strcmp(f, "title"))
		rc = f_case(r, e, v, &out, 3);
	else if (!strcmp(f, "trim") || !strcmp(f, "trim_start") || !strcmp(f, "trim_end"))
		rc = f_trim(r, e, v, &out);
	else if (!strcmp(f, "split"))
		rc = f_split(r, e, v, &out);
	else if (!strcmp(f, "join"))
		rc = f_join(r, e, v, &out);
	else if (!strcmp(f, "length"))
		rc = f_length(r, e, v, &out);
	else if (!strcmp(f, "first") || !strcmp(f, "last") || !strcmp(f, "reverse"))
		rc = f_pick(r, e, v, &out);
	else if (!strcmp(f, "int") || !strcmp(f, "float"))
		rc = f_number(r, e, v, &out, f[0] == 'i');
	else if (!strcmp(f, "as_str"))
		rc = pkg__tpl_string(r, v, &out);
	else
		return pkg__tpl_fail(r, e->line, e->col, "unknown filter '%s' (supported: %s)", f,
				     filter_names);
	if (!rc)
		*v = out;
	return rc;
}

int pkg__tpl_test(rnd *r, const expr *e, const tval *v, bool *res)
{
	const char *t = e->name;
	tval arg = {0};
	int rc = 0;
	if (e->nk && (rc = pkg__tpl_eval(r, e->kvals[0], &arg)))
		return rc;
	if (!strcmp(t, "defined"))
		*res = v->k != V_UNDEF;
	else if (!strcmp(t, "undefined"))
		*res = v->k == V_UNDEF;
	else if ((rc = pkg__tpl_defined(r, e, v)))
		return rc;
	else if (!strcmp(t, "string"))
		*res = v->k == V_STR;
	else if (!strcmp(t, "number"))
		*res = v->k == V_INT || v->k == V_FLOAT;
	else if (!strcmp(t, "iterable"))
		*res = v->k == V_ARR || v->k == V_MAP;
	else if (!strcmp(t, "object"))
		*res = v->k == V_MAP;
	else if (!strcmp(t, "odd") || !strcmp(t, "even")) {
		if (v->k != V_INT)
			return pkg__tpl_fail(r, e->line, e->col, "%s: expected an integer", t);
		*res = (v->i % 2 != 0) == (t[0] == 'o');
	} else if (!strcmp(t, "starting_with") || !strcmp(t, "ending_with") ||
		   !strcmp(t, "containing")) {
		if (!e->nk || (rc = pkg__tpl_defined(r, e, &arg)))
			return rc ? rc
				  : pkg__tpl_fail(r, e->line, e->col, "%s: needs an argument", t);
		if (t[0] == 'c' && v->k == V_ARR) {
			*res = false;
			for (size_t i = 0; i < v->n && !*res; i++)
				*res = pkg__tpl_equal(&v->items[i], &arg);
		} else if (t[0] == 'c' && v->k == V_MAP) {
			*res = arg.k == V_STR && pkg__tpl_map_get(v, arg.s);
		} else {
			if (v->k != V_STR || arg.k != V_STR)
				return pkg__tpl_fail(r, e->line, e->col, "%s: expected strings", t);
			if (t[0] == 's')
				*res = arg.n <= v->n && !memcmp(v->s, arg.s, arg.n);
			else if (t[0] == 'e')
				*res = arg.n <= v->n && !memcmp(v->s + v->n - arg.n, arg.s, arg.n);
			else
				*res = memmem(v->s, v->n, arg.s, arg.n) != NULL;
		}
	} else
		return pkg__tpl_fail(
		    r, e->line, e->col,
		    "unknown test '%s' (supported: defined, undefined, string, number, "
		    "iterable, object, odd, even, starting_with, ending_with, "
		    "containing)",
		    t);
	if (e->negate)
		*res = !*res;
	return 0;
}

int pkg__tpl_call(rnd *r, const expr *e, tval *out)
{
	int rc;
	bool given;
	if (!strcmp(e->name, "range")) {
		static const char *const ok[] = {"start", "end", "step_by", NULL};
		tval v[3];
		int64_t n[3] = {0, 0, 1};
		if ((rc = pkg__tpl_check_kwargs(r, e, ok)))
			return rc;
		for (size_t k = 0; k < 3; k++) {
			if ((rc = pkg__tpl_kwarg(r, e, ok[k], &v[k], &given)))
				return rc;
			if (!given && k == 1)
				return pkg__tpl_fail(r, e->line, e->col,
						     "range: missing argument 'end'");
			if (given && v[k].k != V_INT)
				return pkg__tpl_fail(r, e->line, e->col,
						     "range: '%s' must be an integer", ok[k]);
			if (given)
				n[k] = v[k].i;
		}
		if (n[2] <= 0)
			return pkg__tpl_fail(r, e->line, e->col, "range: step_by must be positive");
		uint64_t cnt = n[1] > n[0]
				   ? ((uint64_t)(n[1] - n[0]) + (uint64_t)n[2] - 1) / (uint64_t)n[2]
				   : 0;
		if (cnt > r->lim->max_iters)
			return pkg__tpl_fail(r, e->line, e->col, "range: more than %zu items",
					     r->lim->max_iters);
		tval a = {.k = V_ARR, .n = (size_t)cnt};
		if (!(a.items = pkg__tpl_array(r, cnt ? cnt : 1, sizeof(*a.items))))
			return r->err->code;
		for (size_t i = 0; i < cnt; i++)
			a.items[i] = (tval){.k = V_INT, .i = n[0] + (int64_t)i * n[2]};
		*out = a;
		return 0;
	}
	if (!strcmp(e->name, "get_env")) {
		static const char *const ok[] = {"name", "default", NULL};
		tval name, dflt;
		if ((rc = pkg__tpl_check_kwargs(r, e, ok)) ||
		    (rc = pkg__tpl_str_kwarg(r, e, "name", true, &name)) ||
		    (rc = pkg__tpl_kwarg(r, e, "default", &dflt, &given)))
			return rc;
		tval env;
		pkg__tpl_lookup(r, "env", &env);
		const tval *v = pkg__tpl_map_get(&env, name.s);
		if (v)
			*out = *v;
		else if (given)
			*out = dflt;
		else
			return pkg__tpl_fail(r, e->line, e->col,
					     "get_env: environment variable '%s' is not set",
					     name.s);
		return 0;
	}
	return pkg__tpl_fail(r, e->line, e->col,
			     "unknown function '%s' (supported: range, get_env)", e->name);
}
