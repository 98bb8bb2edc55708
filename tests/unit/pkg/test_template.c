/* test_template.c - spec templates (pkg/template.c, template_filters.c):
 * each construct SPK documents, the filters, and bad input with its
 * position. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "pkg/template.h"

static const solver_opt opts[] = {
    {"version", "3.24.1"}, {"debug", "on"}, {"python.abi", "cp39"}, {"python.version", "3.9"}};
static const char *const env[] = {"HOME=/home/me", "SHOW=abc", NULL};

/* Renders t with the options above (nopts of them); NULL when it fails
 * (the message in *err). The result is malloc'd. */
static char *render_n(const char *t, size_t nopts, sp_error *err)
{
	pkg__tvars v = {.opts = opts, .nopts = nopts, .env = env};
	sp_buf b = {0};
	memset(err, 0, sizeof(*err));
	int rc = pkg__template_render(&b, t, strlen(t), "t.spk.yaml", &v, NULL, err);
	if (rc) {
		sp_buf_free(&b);
		return NULL;
	}
	char *s = strndup(b.data ? b.data : "", b.len);
	sp_buf_free(&b);
	return s;
}

static void expect(const char *t, const char *want)
{
	sp_error err;
	char *got = render_n(t, 4, &err);
	if (!got)
		fail_msg("render of <%s> failed: %s", t, err.msg);
	if (strcmp(got, want))
		fail_msg("render of <%s>: got <%s>, want <%s>", t, got, want);
	free(got);
}

static void expect_error(const char *t, const char *want)
{
	sp_error err;
	char *got = render_n(t, 4, &err);
	if (got)
		fail_msg("render of <%s> succeeded (<%s>); want an error with <%s>", t, got, want);
	if (!strstr(err.msg, want))
		fail_msg("render of <%s>: error <%s> lacks <%s>", t, err.msg, want);
}

static void test_detect(void **st)
{
	(void)st;
	assert_false(pkg__template_is("pkg: a/1\n", 9));
	assert_false(pkg__template_is("a: {b: 1}\n", 10));
	assert_true(pkg__template_is("pkg: a/{{ opt.version }}", 24));
	assert_true(pkg__template_is("# {% set x = 1 %}", 17));
	assert_true(pkg__template_is("{# c #}", 7));
	expect("plain: {text}\n", "plain: {text}\n");
}

static void test_expressions(void **st)
{
	(void)st;
	expect("pkg: cmake/{{ opt.version }}\n", "pkg: cmake/3.24.1\n");
	expect("{{ opt.python.abi }}/{{ opt['python'].version }}", "cp39/3.9");
	expect("{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 7 % 4 }} {{ -2 }}", "7 9 3 -2");
	expect("{{ 7 / 2 }} {{ 1.5 + 1 }} {{ 2.0 }}", "3.5 2.5 2.0");
	expect("{{ 'a' ~ 1 ~ \"b\" ~ `c` }}", "a1bc");
	expect("{{ true }} {{ not true }} {{ 1 == 1.0 }} {{ 'a' != 'b' }}", "true false true true");
	expect("{{ 2 < 3 and 'b' >= 'a' }} {{ false or 0 }}", "true false");
	expect("{{ 'ab' in 'xaby' }} {{ 3 in [1, 2] }} {{ 'debug' in opt }} {{ 4 not in [4] }}",
	       "true false true false");
	expect("{{ [1, 'a', [true]] }}", "[1, a, [true]]");
	expect("{{ env.SHOW }} {{ get_env(name='HOME') }} {{ get_env(name='NOPE', default='-') }}",
	       "abc /home/me -");
	expect("{{ spk.version is defined }}", "true");
	expect("{{ opt.nope is defined }} {{ opt.nope is not defined }} {{ nope is undefined }}",
	       "false true true");
	expect("{{ 'abc' is starting_with('ab') }} {{ 3 is odd }} {{ [1] is containing(1) }}",
	       "true true true");
	expect("{{ none }}|", "|");
}

static void test_set_if_for(void **st)
{
	(void)st;
	expect("{% set x = 'v' ~ opt.version %}{{ x }}", "v3.24.1");
	expect("{% set opt.extra = 'e' %}{{ opt.extra }}/{{ opt.version }}", "e/3.24.1");
	expect(
	    "{% if opt.debug == 'on' %}dbg{% elif opt.debug == 'off' %}rel{% else %}?{% endif %}",
	    "dbg");
	expect("{% if false %}a{% elif 0 %}b{% else %}c{% endif %}", "c");
	expect("{% if opt.nope %}a{% else %}undefined is false{% endif %}", "undefined is false");
	expect("{% for v in ['3.7', '3.9'] %}- {{ v }}{{ loop.index }}\n{% endfor %}",
	       "- 3.71\n- 3.92\n");
	expect("{% for k, v in opt.python %}{{ k }}={{ v }};{% endfor %}", "abi=cp39;version=3.9;");
	expect(
	    "{% for i in range(end=10) %}{% if i == 3 %}{% break %}{% endif %}{{ i }}{% endfor %}",
	    "012");
	expect("{% for i in range(start=1, end=6, step_by=2) %}{% if i == 3 %}{% continue %}"
	       "{% endif %}{{ i }}{% if not loop.last %},{% endif %}{% endfor %}",
	       "1,5");
	/* set inside a loop stays there; set_global does not */
	expect("{% set x = 1 %}{% for i in [1] %}{% set x = 2 %}{% endfor %}{{ x }}", "1");
	expect("{% set x = 1 %}{% for i in [1] %}{% set_global x = 2 %}{% endfor %}{{ x }}", "2");
	expect("a{# a comment {{ not rendered }} #}b", "ab");
	expect("{% raw %}{{ kept }}{% endraw %}", "{{ kept }}");
	expect("a  {%- if true -%}  b  {%- endif %} c\n  {{- 'd' -}}  \n e", "ab cde");
}

static void test_spk_filters(void **st)
{
	(void)st;
	/* default_opts: --opt wins over the default */
	expect("{% set opt = opt | default_opts(version='1.0', other=2) %}{{ opt.version }} "
	       "{{ opt.other }}",
	       "3.24.1 2");
	sp_error err;
	char *s = render_n("{% set opt = opt | default_opts(version=\"3.18.2\") %}"
			   "pkg: cmake/{{ opt.version }}",
			   0, &err);
	assert_non_null(s);
	assert_string_equal(s, "pkg: cmake/3.18.2");
	free(s);
	expect("{{ opt.version | default(value='x') }} {{ opt.nope | default(value='x') }}",
	       "3.24.1 x");
	expect("{{ '3.10' | compare_version(op='>=3') }} {{ '3.10' | compare_version(op='>=', "
	       "rhs=3.11) }} {{ '3.10' | compare_version(op='<', rhs=4) }}",
	       "true false true");
	expect("{% set v = '1.2.3.4-alpha.0+r.4' | parse_version %}{{ v.base }} {{ v.major }} "
	       "{{ v.minor }} {{ v.patch }} {{ v.parts[3] }} {{ v.post.r }} {{ v.pre.alpha }}",
	       "1.2.3.4 1 2 3 4 4 0");
	expect("{{ '1.2' | parse_version(field='base') }} {{ '7' | parse_version(field='minor') }}",
	       "1.2.0 0");
	expect("{{ opt.version | replace_regex(from=\"(\\d+)\\.(\\d+).*\", to=\"cp$1$2\") }}",
	       "cp324");
	expect("{{ 'a-b-c' | replace_regex(from='-', to='${0}${0}') }}", "a--b--c");
	expect("{{ 'aXbX' | replace(from='X', to='y') | upper }} {{ 'AbC' | lower }} "
	       "{{ ' t ' | trim }}|{{ 'a,b' | split(pat=',') | join(sep='+') }} "
	       "{{ [3, 4] | length }} {{ [3, 4] | first }} {{ [3, 4] | last }} "
	       "{{ '12' | int + 1 }} {{ 'hello world' | title }} {{ 5 | as_str ~ '!' }}",
	       "AYBY abc t|a+b 2 3 4 13 Hello World 5!");
}

static void test_errors(void **st)
{
	(void)st;
	/* positions are the tag's: file:line:column */
	expect_error("a\nb {{ opt.missing }}",
		     "t.spk.yaml:2:6: template: 'opt.missing' is not defined");
	expect_error("x {{ unterminated", "t.spk.yaml:1:3: template: unterminated {{ expression");
	expect_error("{% if true %}", "{% if %} is never closed");
	expect_error("{% for x in [1] %}", "{% for %} is never closed");
	expect_error("{% endif %}", "{% endif %} without a matching {% if %}");
	expect_error("{% if true %}{% endfor %}{% endif %}", "without a matching {% for %}");
	expect_error("{# open", "unterminated {# comment");
	expect_error("{% raw %}x", "unterminated {% raw %}");
	expect_error("{% macro m() %}{% endmacro %}", "'macro' is not a supported tag");
	expect_error("{% include 'x' %}", "'include' is not a supported tag");
	expect_error("{{ 1 | nope }}", "unknown filter 'nope'");
	expect_error("{{ nope() }}", "unknown function 'nope'");
	expect_error("{{ 1 is nope }}", "unknown test 'nope'");
	expect_error("{{ }}", "empty {{ }}");
	expect_error("{% %}", "empty {% %}");
	expect_error("{{ 1 + }}", "expected a value");
	expect_error("{{ 'a' + 'b' }}", "use '~'");
	expect_error("{{ 1 / 0 }}", "division by zero");
	expect_error("{{ 9223372036854775807 + 1 }}", "integer overflow");
	expect_error("{{ 'x' 'y' }}", "unexpected 'y'");
	expect_error("{{ \"open }}", "unterminated");
	expect_error("{{ a $ b }}", "unexpected character '$'");
	expect_error("{% break %}", "break outside a for loop");
	expect_error("{% set = 1 %}", "set: expected a variable name");
	expect_error("{% for x of y %}{% endfor %}", "for: expected 'in'");
	expect_error("{% for x in 3 %}{% endfor %}", "cannot loop over an integer");
	expect_error("{{ opt | default_opts(version=[1]) }}", "must be a single value");
	expect_error("{{ opt | default_opts(Bad=1) }}", "'Bad' is not an option name");
	expect_error("{{ 'x' | compare_version(op='>=') }}", "compare_version");
	expect_error("{{ '1' | compare_version(rhs=1) }}", "missing argument 'op'");
	expect_error("{{ '1.2' | parse_version(field='nope') }}", "no field 'nope'");
	expect_error("{{ 'a' | replace_regex(from='(?i)a') }}", "not supported");
	expect_error("{{ 'a' | replace_regex(from='a', bad=1) }}", "unknown argument 'bad'");
	expect_error("{{ [1][5] }}", "index 5 out of range");
	/* patterns that would make regcomp allocate without end */
	expect_error("{{ 'a' | replace_regex(from='a++') }}", "a quantifier after a quantifier");
	expect_error("{{ 'a' | replace_regex(from='a{1000}') }}", "above 100");
	expect_error(
	    "{{ 'a' | replace_regex(from='(((((((((((((((((a+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+') "
	    "}}",
	    "more than 16");
	expect_error("{{ opt }}x{{ opt.version.x }}", "'.x' of a string");
}

static void test_limits(void **st)
{
	(void)st;
	/* nesting */
	sp_buf b = {0};
	sp_error err = {0};
	for (int i = 0; i < 100; i++)
		sp_buf_printf(&b, &err, "{%% if true %%}");
	char *got = render_n(b.data, 4, &err);
	assert_null(got);
	assert_non_null(strstr(err.msg, "blocks nested deeper than 64"));
	sp_buf_free(&b);
	sp_buf_printf(&b, &err, "{{ ");
	for (int i = 0; i < 200; i++)
		sp_buf_printf(&b, &err, "(");
	sp_buf_printf(&b, &err, "1 }}");
	got = render_n(b.data, 4, &err);
	assert_null(got);
	if (!strstr(err.msg, "expression nested deeper than 64"))
		fail_msg("%s", err.msg);
	sp_buf_free(&b);
	/* huge loops */
	expect_error("{% for i in range(end=1000000000) %}{% endfor %}", "range: more than 100000");
	expect_error("{% for i in range(end=1000) %}{% for j in range(end=1000) %}{% endfor %}"
		     "{% endfor %}",
		     "more than 100000 loop iterations");
	/* output and memory */
	pkg__template_limits lim = pkg__template_limits_default;
	lim.max_output = 100;
	pkg__tvars v = {0};
	const char *t = "{% for i in range(end=1000) %}xxxxxxxxxx{% endfor %}";
	assert_int_not_equal(pkg__template_render(&b, t, strlen(t), "o", &v, &lim, &err), 0);
	assert_non_null(strstr(err.msg, "renders to more than 100 bytes"));
	sp_buf_free(&b);
	lim = pkg__template_limits_default;
	lim.max_memory = 1 << 20;
	t = "{% set s = 'xxxxxxxxxxxxxxxx' %}{% for i in range(end=20) %}{% set_global s = s ~ s "
	    "%}{% endfor %}";
	assert_int_not_equal(pkg__template_render(&b, t, strlen(t), "m", &v, &lim, &err), 0);
	assert_non_null(strstr(err.msg, "more than"));
	sp_buf_free(&b);
}

/* The SPI recipes' own idioms, through the spec-file object. */
static void test_specfile(void **st)
{
	(void)st;
	const char *t = "# {% set opt = opt | default_opts(version=\"3.7.3\") %}\n"
			"# {% set cpXX = opt.version | replace_regex(from=\"(\\d+)\\.(\\d+).*\", "
			"to=\"cp$1$2\") %}\n"
			"pkg: python/{{ opt.version }}\n"
			"build:\n"
			"  options:\n"
			"    - var: abi\n"
			"      default: \"{{cpXX}}m\"\n"
			"      choices: [\"{{cpXX}}m\", \"{{cpXX}}dm\"]\n";
	sp_error err = {0};
	pkg_specfile *f = NULL;
	assert_int_equal(pkg_specfile_load(&f, t, strlen(t), "python3.spk.yaml", NULL, &err), 0);
	assert_true(f->is_template);
	assert_string_equal(f->source, t);
	assert_int_equal(f->nspecs, 1);
	char v[64];
	assert_string_equal(solver_version_str(&f->specs[0]->build.version, v, sizeof(v)), "3.7.3");
	assert_string_equal(f->specs[0]->decls[0].default_value, "cp37m");
	pkg_specfile_free(f);
	solver_opt o = {"version", "3.11.4"};
	pkg_specfile_opts fo = {.opts = &o, .nopts = 1};
	assert_int_equal(pkg_specfile_load(&f, t, strlen(t), "python3.spk.yaml", &fo, &err), 0);
	assert_string_equal(solver_version_str(&f->specs[0]->build.version, v, sizeof(v)),
			    "3.11.4");
	assert_string_equal(f->specs[0]->decls[0].default_value, "cp311m");
	assert_int_equal(f->nopts, 1);
	assert_non_null(strstr(f->text, "choices: [\"cp311m\", \"cp311dm\"]"));
	pkg_specfile_free(f);
	/* a plain file is its own text */
	const char *plain = "pkg: a/1\n";
	assert_int_equal(pkg_specfile_load(&f, plain, strlen(plain), "a.yaml", NULL, &err), 0);
	assert_false(f->is_template);
	assert_ptr_equal(f->text, f->source);
	pkg_specfile_free(f);
	/* a stored spec was rendered when published: not rendered again */
	const char *stored = "pkg: a/1\nbuild:\n  script: [\"echo '{{ kept }}'\"]\n";
	pkg_specfile_opts ro = {.rendered = true};
	assert_int_equal(pkg_specfile_load(&f, stored, strlen(stored), "s.yaml", &ro, &err), 0);
	assert_false(f->is_template);
	assert_string_equal(f->specs[0]->script, "echo '{{ kept }}'\n");
	pkg_specfile_free(f);
	/* template errors name the file and the template's line */
	const char *bad = "pkg: a/1\nbuild:\n  script: {{ opt.version }}\n";
	assert_int_not_equal(pkg_specfile_load(&f, bad, strlen(bad), "b.yaml", NULL, &err), 0);
	assert_null(f);
	assert_non_null(strstr(err.msg, "b.yaml:3:14: template: 'opt.version' is not defined"));
}

int main(void)
{
	sp_log_set_level(SP_LOG_ERROR);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_detect),     cmocka_unit_test(test_expressions),
	    cmocka_unit_test(test_set_if_for), cmocka_unit_test(test_spk_filters),
	    cmocka_unit_test(test_errors),     cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_specfile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
