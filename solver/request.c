/* request.c - SPK package and var requests. */
#include "solver/solver.h"

#include <string.h>

bool solver_name_valid(const char *s, size_t n)
{
	if (n == 0 || n > 64)
		return false;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return false;
	}
	return true;
}

static bool comp_name_valid(const char *s, size_t n)
{
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}

static bool build_valid(const char *s, size_t n)
{
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')))
			return false;
	}
	return true;
}

#define SHOW(n, s) (int)((n) > 80 ? 80 : (n)), (s)

static int parse_components(solver_request *out, solver_arena *a, const char *s, size_t n,
			    const solver_limits *lim, sp_error *err)
{
	/* s is what follows ':' : either "name" or "{a,b}" */
	const char *p = s;
	size_t len = n;
	if (len && p[0] == '{') {
		if (len < 2 || p[len - 1] != '}')
			return sp_error_set(err, SP_EINVALID, "unclosed '{' in components");
		p++;
		len -= 2;
	}
	size_t count = 1;
	for (size_t i = 0; i < len; i++)
		if (p[i] == ',')
			count++;
	if (count > lim->max_components)
		return sp_error_set(err, SP_EINVALID, "more than %zu components",
				    lim->max_components);
	const char **comps = solver_arena_array(a, count, sizeof(*comps), err);
	if (!comps)
		return err->code;
	size_t nc = 0, i = 0;
	while (i <= len) {
		size_t st = i;
		while (i < len && p[i] != ',')
			i++;
		size_t b = st, e = i;
		while (b < e && p[b] == ' ')
			b++;
		while (e > b && p[e - 1] == ' ')
			e--;
		if (!comp_name_valid(p + b, e - b))
			return sp_error_set(err, SP_EINVALID, "invalid component name '%.*s'",
					    SHOW(e - b, p + b));
		const char *c = solver_arena_strndup(a, p + b, e - b, err);
		if (!c)
			return err->code;
		bool dup = false;
		for (size_t k = 0; k < nc; k++)
			dup = dup || !strcmp(comps[k], c);
		if (!dup)
			comps[nc++] = c;
		i++;
	}
	out->components = comps;
	out->ncomponents = nc;
	return 0;
}

int solver_request_parse(solver_request *out, solver_arena *a, const char *s, size_t n,
			 int compat_rule, const solver_limits *lim, sp_error *err)
{
	if (!lim)
		lim = &solver_limits_default;
	memset(out, 0, sizeof(*out));
	out->kind = SOLVER_REQ_PKG;
	out->compat_rule = compat_rule ? compat_rule : SOLVER_COMPAT_BINARY;
	if (n == 0)
		return sp_error_set(err, SP_EINVALID, "empty package request");
	if (n > lim->max_text)
		return sp_error_set(err, SP_EINVALID, "request longer than %zu bytes",
				    lim->max_text);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			return sp_error_set(err, SP_EINVALID,
					    "invalid request: unexpected byte 0x%02x at offset %zu",
					    (unsigned char)s[i], i);
	out->text = solver_arena_strndup(a, s, n, err);
	if (!out->text)
		return err->code;
	/* Split on '/' (the braces of a component list never contain '/'). */
	const char *seg[5];
	size_t segn[5], ns = 0, st = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '/') {
			if (ns == 5)
				return sp_error_set(err, SP_EINVALID,
						    "invalid request '%.*s': too many '/' parts",
						    SHOW(n, s));
			seg[ns] = s + st;
			segn[ns] = i - st;
			ns++;
			st = i + 1;
		}
	}
	size_t k = 0;
	/* repo/name/...: a second part that starts with a lowercase letter
	 * names the package (ranges never do). */
	if (ns >= 2 && segn[1] > 0 && seg[1][0] >= 'a' && seg[1][0] <= 'z' &&
	    !memchr(seg[0], ':', segn[0])) {
		if (!solver_name_valid(seg[0], segn[0]))
			return sp_error_set(err, SP_EINVALID,
					    "invalid request '%.*s': bad repository name '%.*s'",
					    SHOW(n, s), SHOW(segn[0], seg[0]));
		out->repo = solver_arena_strndup(a, seg[0], segn[0], err);
		if (!out->repo)
			return err->code;
		k = 1;
	}
	if (ns - k > 3)
		return sp_error_set(err, SP_EINVALID,
				    "invalid request '%.*s': expected name[/range[/build]]",
				    SHOW(n, s));
	const char *nm = seg[k];
	size_t nl = segn[k];
	const char *colon = memchr(nm, ':', nl);
	size_t name_len = colon ? (size_t)(colon - nm) : nl;
	if (!solver_name_valid(nm, name_len))
		return sp_error_set(err, SP_EINVALID,
				    "invalid request '%.*s': bad package name '%.*s' "
				    "(lowercase letters, digits and '-')",
				    SHOW(n, s), SHOW(name_len, nm));
	out->name = solver_arena_strndup(a, nm, name_len, err);
	if (!out->name)
		return err->code;
	if (colon) {
		int rc = parse_components(out, a, colon + 1, nl - name_len - 1, lim, err);
		if (rc)
			return sp_error_prefix(err, "invalid request '%.*s'", SHOW(n, s));
	}
	if (ns - k >= 2) {
		if (segn[k + 1] == 0)
			return sp_error_set(err, SP_EINVALID,
					    "invalid request '%.*s': empty version range",
					    SHOW(n, s));
		int rc = solver_range_parse(&out->range, a, seg[k + 1], segn[k + 1], lim, err);
		if (rc)
			return sp_error_prefix(err, "invalid request '%.*s'", SHOW(n, s));
	}
	if (ns - k == 3) {
		if (!build_valid(seg[k + 2], segn[k + 2]))
			return sp_error_set(err, SP_EINVALID,
					    "invalid request '%.*s': bad build '%.*s'", SHOW(n, s),
					    SHOW(segn[k + 2], seg[k + 2]));
		out->build = solver_arena_strndup(a, seg[k + 2], segn[k + 2], err);
		if (!out->build)
			return err->code;
	}
	return 0;
}

int solver_request_parse_var(solver_request *out, solver_arena *a, const char *s, size_t n,
			     const solver_limits *lim, sp_error *err)
{
	if (!lim)
		lim = &solver_limits_default;
	memset(out, 0, sizeof(*out));
	out->kind = SOLVER_REQ_VAR;
	if (n == 0)
		return sp_error_set(err, SP_EINVALID, "empty var request");
	if (n > lim->max_text)
		return sp_error_set(err, SP_EINVALID, "var request longer than %zu bytes",
				    lim->max_text);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
			return sp_error_set(err, SP_EINVALID,
					    "invalid var request: control byte at offset %zu", i);
	size_t sep = 0;
	while (sep < n && s[sep] != '/' && s[sep] != '=')
		sep++;
	if (sep == n)
		return sp_error_set(err, SP_EINVALID,
				    "invalid var request '%.*s': expected name/value or name=value",
				    SHOW(n, s));
	out->text = solver_arena_strndup(a, s, n, err);
	if (!out->text)
		return err->code;
	const char *dot = memchr(s, '.', sep);
	const char *var = s;
	size_t vl = sep;
	if (dot) {
		size_t pl = (size_t)(dot - s);
		if (!solver_name_valid(s, pl))
			return sp_error_set(err, SP_EINVALID,
					    "invalid var request '%.*s': bad package name '%.*s'",
					    SHOW(n, s), SHOW(pl, s));
		out->var_pkg = solver_arena_strndup(a, s, pl, err);
		if (!out->var_pkg)
			return err->code;
		var = dot + 1;
		vl = sep - pl - 1;
	}
	if (!comp_name_valid(var, vl) && !(vl > 0 && vl <= 64))
		return sp_error_set(err, SP_EINVALID, "invalid var request '%.*s': bad name",
				    SHOW(n, s));
	for (size_t i = 0; i < vl; i++) {
		char c = var[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return sp_error_set(err, SP_EINVALID,
					    "invalid var request '%.*s': bad name '%.*s'",
					    SHOW(n, s), SHOW(vl, var));
	}
	if (vl == 0)
		return sp_error_set(err, SP_EINVALID, "invalid var request '%.*s': empty name",
				    SHOW(n, s));
	out->var = solver_arena_strndup(a, var, vl, err);
	out->value = solver_arena_strndup(a, s + sep + 1, n - sep - 1, err);
	if (!out->var || !out->value)
		return err->code;
	out->name = out->var_pkg ? out->var_pkg : out->var;
	return 0;
}

int solver_request_parse_cli(solver_request *out, solver_arena *a, const char *s,
			     const solver_limits *lim, sp_error *err)
{
	size_t n = strlen(s);
	size_t slash = 0;
	while (slash < n && s[slash] != '/')
		slash++;
	const char *eq = memchr(s, '=', slash);
	/* a name with '.' before the first '/' (not inside a range) */
	size_t name_end = 0;
	while (name_end < slash && s[name_end] != ':')
		name_end++;
	bool var = eq != NULL || memchr(s, '.', name_end) != NULL;
	if (var)
		return solver_request_parse_var(out, a, s, n, lim, err);
	int rc = solver_request_parse(out, a, s, n, SOLVER_COMPAT_API, lim, err);
	/* "debug/on" reads as a package request; say how to write a var one */
	if (rc && slash < n &&
	    ((s[slash + 1] >= 'a' && s[slash + 1] <= 'z') ||
	     (s[slash + 1] >= 'A' && s[slash + 1] <= 'Z')) &&
	    strncmp(s + slash + 1, "API:", 4) && strncmp(s + slash + 1, "Binary:", 7))
		sp_error_set(err, rc,
			     "invalid request '%.*s': '%.*s' is not a version range "
			     "(for a var request write %.*s=%s)",
			     SHOW(n, s), SHOW(n - slash - 1, s + slash + 1), (int)slash, s,
			     s + slash + 1);
	return rc;
}

int solver_request_format(const solver_request *r, sp_buf *b, sp_error *err)
{
	int rc;
	if (r->kind == SOLVER_REQ_VAR) {
		if (r->var_pkg)
			return sp_buf_printf(b, err, "%s.%s/%s", r->var_pkg, r->var, r->value);
		return sp_buf_printf(b, err, "%s/%s", r->var, r->value);
	}
	if (r->repo && (rc = sp_buf_printf(b, err, "%s/", r->repo)))
		return rc;
	if ((rc = sp_buf_printf(b, err, "%s", r->name)))
		return rc;
	if (r->ncomponents == 1)
		rc = sp_buf_printf(b, err, ":%s", r->components[0]);
	else if (r->ncomponents > 1) {
		rc = sp_buf_append(b, ":{", 2, err);
		for (size_t i = 0; !rc && i < r->ncomponents; i++)
			rc = sp_buf_printf(b, err, "%s%s", i ? "," : "", r->components[i]);
		if (!rc)
			rc = sp_buf_append(b, "}", 1, err);
	}
	if (rc)
		return rc;
	if (r->range.nrules || r->build) {
		if ((rc = sp_buf_append(b, "/", 1, err)))
			return rc;
		if ((rc = solver_range_format(&r->range, b, err)))
			return rc;
	}
	if (r->build && (rc = sp_buf_printf(b, err, "/%s", r->build)))
		return rc;
	return 0;
}
