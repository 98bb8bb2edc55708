/* files_match.c - a component's `files` rules, as SPK reads them: gitignore
 * lines rooted at /spfs. A rule matches a path (relative to /spfs) when
 * its glob does: `*` and `?` stop at '/', `**` crosses directories, `[..]`
 * is a class; a rule with a '/' (other than a trailing one) is anchored at
 * the root, one without matches the last name at any depth; a trailing '/'
 * matches directories only; a leading '!' turns a match into an exclusion.
 * Among the rules matching a path the last wins; a path that no rule
 * matches takes the verdict of its nearest parent directory that one does
 * (gitignore's matched_path_or_any_parents, SPK's FileMatcher). */
#include "pkg/build_plan.h"

#include <fnmatch.h>
#include <string.h>

/* One character against a [class] at p (p[0] == '['); *end gets past it.
 * An unterminated class is a literal '['. */
static bool class_match(const char *p, char c, const char **end)
{
	const char *q = p + 1;
	if (*q == '!' || *q == '^')
		q++;
	if (*q == ']')
		q++;
	while (*q && *q != ']')
		q++;
	if (!*q) {
		*end = p + 1;
		return c == '[';
	}
	*end = q + 1;
	char cls[256], s[2] = {c, '\0'};
	size_t n = (size_t)(q - p) + 1;
	if (n >= sizeof(cls))
		return false;
	memcpy(cls, p, n);
	cls[n] = '\0';
	if (cls[1] == '^')
		cls[1] = '!';
	return c != '/' && fnmatch(cls, s, 0) == 0;
}

/* One pattern character (or class) at p against *s; *next gets past it. */
static bool one(const char *p, char c, const char **next)
{
	if (*p == '[')
		return class_match(p, c, next);
	*next = p + 1;
	if (*p == '?')
		return c != '/';
	if (*p == '\\' && p[1]) {
		*next = p + 2;
		return p[1] == c;
	}
	return *p == c;
}

/* Glob p against s. A single `*` never crosses '/', so within one name the
 * usual greedy match with one backtracking point is exact (an earlier star
 * could only help by crossing a '/'); a whole-name `**` tries each
 * directory depth. *budget bounds the work on hostile patterns. */
static bool glob(const char *p, const char *s, bool at_name, long *budget)
{
	const char *star_p = NULL, *star_s = NULL;
	for (;;) {
		if (--*budget < 0)
			return false;
		if (at_name && p[0] == '*' && p[1] == '*' && (p[2] == '/' || !p[2])) {
			if (!p[2])
				return true; /* everything below */
			/* "**" + "/" + "**" + "/" is one; p[2] is checked first:
			 * after a final "**" the string ends there */
			while (p[2] == '/' && p[3] == '*' && p[4] == '*' && (p[5] == '/' || !p[5]))
				p += 3;
			if (!p[2])
				return true; /* it ended in "**": everything below */
			if (glob(p + 3, s, true, budget))
				return true;
			for (const char *c = s; *c; c++)
				if (*c == '/' && glob(p + 3, c + 1, true, budget))
					return true;
			return false;
		}
		if (*p == '*') {
			while (*p == '*')
				p++;
			star_p = p;
			star_s = s;
			at_name = false;
			continue;
		}
		const char *np;
		if (*p && *s && one(p, *s, &np)) {
			at_name = *p == '/';
			p = np;
			s++;
			continue;
		}
		if (!*p && !*s)
			return true;
		/* let the last star take one more character, not a '/' */
		if (star_p && *star_s && *star_s != '/') {
			s = ++star_s;
			p = star_p;
			at_name = false;
			continue;
		}
		return false;
	}
}

/* 1: the rule includes the path, -1: it excludes it, 0: no match. */
static int rule_match(const char *rule, const char *path, bool is_dir)
{
	bool neg = rule[0] == '!';
	if (neg)
		rule++;
	else if (rule[0] == '\\' && (rule[1] == '!' || rule[1] == '#'))
		rule++;
	if (!rule[0] || rule[0] == '#')
		return 0;
	char p[4096];
	size_t n = strlen(rule);
	if (n >= sizeof(p))
		return 0;
	memcpy(p, rule, n + 1);
	bool dir_only = p[n - 1] == '/';
	if (dir_only)
		p[--n] = '\0';
	if (dir_only && !is_dir)
		return 0;
	const char *pat = p;
	bool anchored = strchr(pat, '/') != NULL;
	while (*pat == '/')
		pat++;
	if (!*pat)
		return 0;
	const char *subject = path;
	if (!anchored) {
		const char *sl = strrchr(path, '/');
		subject = sl ? sl + 1 : path;
	}
	long budget = 1 << 20;
	return glob(pat, subject, true, &budget) ? (neg ? -1 : 1) : 0;
}

static int verdict(const char *const *rules, size_t n, const char *path, bool is_dir)
{
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		int m = rule_match(rules[i], path, is_dir);
		if (m)
			v = m;
	}
	return v;
}

bool pkg__files_match(const char *const *rules, size_t n, const char *path, bool is_dir)
{
	while (*path == '/')
		path++;
	char p[4096];
	size_t l = strlen(path);
	if (l >= sizeof(p))
		return false;
	memcpy(p, path, l + 1);
	while (l && p[l - 1] == '/')
		p[--l] = '\0';
	for (bool dir = is_dir;; dir = true) {
		int v = verdict(rules, n, p, dir);
		if (v)
			return v > 0;
		char *sl = strrchr(p, '/');
		if (!sl)
			return false;
		*sl = '\0';
	}
}
