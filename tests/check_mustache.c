#include <dirent.h>
#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_util.h"
#include "mustache.h"
#include "mustache_json.h"

/* ---------------------------------------------------------------- helpers */

#define SPEC_TEMPLATE "(spec template)"

/* Renders name from set with the JSON text data; returns the rc and
 * leaves the output (heap) in *out. */
static int render_json(const mustache_set_t *set, const char *name,
		       const char *data, buf_t *out, size_t cap)
{
	json_error_t jerr;
	json_t *root = json_loads(data, JSON_DECODE_ANY, &jerr);
	ck_assert_msg(root != NULL, "bad test JSON: %s", jerr.text);
	buf_init(out, NULL, cap);
	int rc = mustache_json_render(set, name, root, out);
	json_decref(root);
	return rc;
}

/* Compiles src as "t" (plus optional partials "name", "src", ... NULL)
 * and returns the rendering, or "<rc N>" on error.  Heap string. */
static char *render_str(const char *src, const char *data, ...)
{
	mustache_set_t *set = mustache_set_new();
	mustache_error_t err;
	int rc = mustache_set_add(set, "t", src, strlen(src), &err);
	ck_assert_msg(rc == 0, "compile failed: %d:%d %s", err.line,
		      err.column, err.message);
	va_list ap;
	va_start(ap, data);
	const char *pn;
	while ((pn = va_arg(ap, const char *))) {
		const char *ps = va_arg(ap, const char *);
		rc = mustache_set_add(set, pn, ps, strlen(ps), &err);
		ck_assert_msg(rc == 0, "partial compile failed: %s",
			      err.message);
	}
	va_end(ap);
	buf_t out;
	rc = render_json(set, "t", data, &out, 1 << 20);
	char *s;
	if (rc) {
		s = malloc(32);
		snprintf(s, 32, "<rc %d>", rc);
		buf_free(&out);
	} else {
		s = buf_take(&out, NULL);
	}
	mustache_set_free(set);
	return s;
}

#define ck_render(expected, ...)                                         \
	do {                                                             \
		char *got_ = render_str(__VA_ARGS__, NULL);              \
		ck_assert_str_eq(got_, expected);                        \
		free(got_);                                              \
	} while (0)

/* ---------------------------------------------------------------- spec */

typedef struct {
	int passed, failed;
} tally_t;

/* The official spec as the project keeps it (../shared/spec/mustache)
 * when it is there; otherwise the copy in tests/spec/mustache, so a
 * checkout on its own tests the same. */
static const char *spec_dir(void)
{
	char probe[4096];
	snprintf(probe, sizeof probe, "%s/interpolation.json", SPEC_DIR);
	return access(probe, R_OK) == 0 ? SPEC_DIR : SPEC_DIR_COPY;
}

static void run_spec_file(const char *file, bool verbose, tally_t *tally)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s.json", spec_dir(), file);
	json_error_t jerr;
	json_t *doc = json_load_file(path, 0, &jerr);
	ck_assert_msg(doc != NULL, "cannot load %s: %s", path, jerr.text);
	json_t *tests = json_object_get(doc, "tests");
	ck_assert(json_is_array(tests) && json_array_size(tests) > 0);
	size_t i;
	json_t *tc;
	json_array_foreach(tests, i, tc)
	{
		const char *name = json_string_value(json_object_get(tc, "name"));
		const char *tpl =
			json_string_value(json_object_get(tc, "template"));
		const char *expected =
			json_string_value(json_object_get(tc, "expected"));
		json_t *partials = json_object_get(tc, "partials");
		mustache_set_t *set = mustache_set_new();
		mustache_error_t err = {0};
		int rc = mustache_set_add(set, SPEC_TEMPLATE, tpl, strlen(tpl),
					  &err);
		const char *pname;
		json_t *pv;
		json_object_foreach(partials, pname, pv)
		{
			if (!rc)
				rc = mustache_set_add(
					set, pname, json_string_value(pv),
					json_string_length(pv), &err);
		}
		buf_t out;
		buf_init(&out, NULL, 1 << 20);
		if (!rc)
			rc = mustache_json_render(set, SPEC_TEMPLATE,
						  json_object_get(tc, "data"),
						  &out);
		bool ok = rc == 0 && strcmp(buf_cstr(&out), expected) == 0;
		if (ok) {
			tally->passed++;
			if (verbose)
				printf("PASS %s: %s\n", file, name);
		} else {
			tally->failed++;
			if (verbose) {
				printf("FAIL %s: %s\n", file, name);
				printf("  template: %s\n", tpl);
				printf("  expected: [%s]\n", expected);
				if (rc)
					printf("  got: error %d (%s)\n", rc,
					       err.message);
				else
					printf("  got:      [%s]\n",
					       buf_cstr(&out));
			}
		}
		buf_free(&out);
		mustache_set_free(set);
	}
	json_decref(doc);
	fflush(stdout);
}

static const char *spec_files[] = {
	"comments", "delimiters", "interpolation", "inverted",
	"partials", "sections",	  "~inheritance",  "~dynamic-names",
};
#define NSPEC (int)(sizeof spec_files / sizeof spec_files[0])

/* One Check test per spec file (a loop test over spec_files). */
START_TEST(spec_file)
{
	tally_t t = {0, 0};
	run_spec_file(spec_files[_i], true, &t);
	ck_assert_msg(t.failed == 0, "%s: %d of %d spec tests failed",
		      spec_files[_i], t.failed, t.passed + t.failed);
}
END_TEST

/* Check forks per test, so the totals are gathered again here. */
START_TEST(spec_summary)
{
	tally_t t = {0, 0};
	for (int i = 0; i < NSPEC; i++)
		run_spec_file(spec_files[i], false, &t);
	printf("mustache spec: %d passed, %d failed\n", t.passed, t.failed);
	fflush(stdout);
	ck_assert_int_gt(t.passed, 150);
	ck_assert_int_eq(t.failed, 0);
}
END_TEST

/* ---------------------------------------------------------------- golden */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	buf_t b;
	buf_init(&b, NULL, 1 << 24);
	char tmp[4096];
	size_t n;
	while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
		ck_assert_int_eq(buf_append(&b, tmp, n), 0);
	fclose(f);
	return buf_take(&b, NULL);
}

/* tests/mustache/<case>/: every *.mustache in the folder is loaded with
 * mustache_set_load_dir, "template" is rendered with data.json and must
 * equal expected.html byte for byte. */
START_TEST(golden_cases)
{
	char root[4096];
	snprintf(root, sizeof root, "%s/tests/mustache", TOP_SRCDIR);
	DIR *d = opendir(root);
	ck_assert_msg(d != NULL, "no %s", root);
	struct dirent *e;
	int cases = 0, failed = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char dir[4600], path[5000];
		snprintf(dir, sizeof dir, "%s/%s", root, e->d_name);
		mustache_set_t *set = mustache_set_new();
		mustache_error_t err = {0};
		int rc = mustache_set_load_dir(set, dir, &err);
		ck_assert_msg(rc == 0, "%s: %s:%d:%d %s", e->d_name, err.name,
			      err.line, err.column, err.message);
		snprintf(path, sizeof path, "%s/data.json", dir);
		char *data = slurp(path);
		snprintf(path, sizeof path, "%s/expected.html", dir);
		char *expected = slurp(path);
		ck_assert_msg(data && expected, "%s: missing data.json or "
			      "expected.html", e->d_name);
		buf_t out;
		rc = render_json(set, "template", data, &out, 1 << 20);
		cases++;
		if (rc == 0 && strcmp(buf_cstr(&out), expected) == 0) {
			printf("PASS golden: %s\n", e->d_name);
		} else {
			failed++;
			printf("FAIL golden: %s (rc %d)\n--- expected\n%s--- "
			       "got\n%s---\n",
			       e->d_name, rc, expected, buf_cstr(&out));
		}
		buf_free(&out);
		free(data);
		free(expected);
		mustache_set_free(set);
	}
	closedir(d);
	fflush(stdout);
	ck_assert_int_ge(cases, 3);
	ck_assert_int_eq(failed, 0);
}
END_TEST

/* ---------------------------------------------------------------- errors */

static const struct {
	const char *src;
	int line, column;
	const char *msg; /* a substring of the message */
} bad[] = {
	{"Hello {{name", 1, 7, "unclosed tag"},
	{"a\nb {{{x}}\n", 2, 3, "unclosed tag"},
	{"{{#items}}\n  <li>{{.}}</li>\n", 1, 1, "unclosed section 'items'"},
	{"x\n{{#a}}\n{{#b}}\n{{/a}}\n{{/b}}", 4, 1, "does not match"},
	{"ok\n  {{/nothing}}", 2, 3, "without an open section"},
	{"{{=<% %>=}}\n<%#a%>\n<%/b%>", 3, 1, "does not match"},
	{"line\n\t{{= | =}}", 2, 2, "invalid delimiter"},
	{"{{=<% %> x=}}", 1, 1, "invalid delimiter"},
	{"{{=a=b c=}}", 1, 1, "invalid delimiter"},
	{"{{=<% %>=}}\n\n<% x", 3, 1, "unclosed tag: expected '%>'"},
	{"\n\n   {{ }}", 3, 4, "empty tag name"},
	{"{{#}}{{/}}", 1, 1, "empty tag name"},
	{"{{>  }}", 1, 1, "empty tag name"},
	{"{{first name}}", 1, 1, "white space"},
	{"{{a..b}}", 1, 1, "bad dotted name"},
	{"{{<parent}}{{$a}}x{{/parent}}", 1, 19, "does not match block 'a'"},
	{"{{$a}}", 1, 1, "unclosed block"},
	{"{{<*dyn}}{{/dyn}}", 1, 10, "does not match"},
	{"caf\xc3\xa9 {{x", 1, 6, "unclosed tag"},
};

START_TEST(malformed_templates)
{
	mustache_set_t *set = mustache_set_new();
	mustache_error_t err;
	memset(&err, 0, sizeof err);
	int rc = mustache_set_add(set, "site/bad", bad[_i].src,
				  strlen(bad[_i].src), &err);
	ck_assert_int_eq(rc, ERR_INVALID);
	ck_assert_str_eq(err.name, "site/bad");
	ck_assert_msg(err.line == bad[_i].line && err.column == bad[_i].column,
		      "case %d: got %d:%d want %d:%d (%s)", _i, err.line,
		      err.column, bad[_i].line, bad[_i].column, err.message);
	ck_assert_msg(strstr(err.message, bad[_i].msg) != NULL,
		      "case %d: message '%s' lacks '%s'", _i, err.message,
		      bad[_i].msg);
	ck_assert(!mustache_set_has(set, "site/bad"));
	mustache_set_free(set);
}
END_TEST

START_TEST(deep_nesting_is_rejected_at_compile)
{
	buf_t src;
	buf_init(&src, NULL, 1 << 20);
	for (int i = 0; i < 70; i++)
		ck_assert_int_eq(buf_puts(&src, "{{#a}}"), 0);
	for (int i = 0; i < 70; i++)
		ck_assert_int_eq(buf_puts(&src, "{{/a}}"), 0);
	mustache_set_t *set = mustache_set_new();
	mustache_error_t err;
	ck_assert_int_eq(mustache_set_add(set, "deep", src.data, src.len, &err),
			 ERR_INVALID);
	ck_assert_int_eq(err.line, 1);
	ck_assert_int_eq(err.column, 1 + 64 * 6);
	ck_assert_ptr_nonnull(strstr(err.message, "nested deeper"));
	mustache_set_free(set);
	buf_free(&src);
}
END_TEST

/* ---------------------------------------------------------------- behaviour */

START_TEST(escaping_and_raw)
{
	ck_render("&lt;b&gt; &amp; &quot;q&quot; &#39;s&#39; a&#61;b &#96;",
		  "{{x}}", "{\"x\":\"<b> & \\\"q\\\" 's' a=b `\"}");
	ck_render("<b> & <i>", "{{{x}}} {{&y}}",
		  "{\"x\":\"<b> &\",\"y\":\"<i>\"}");
	/* escaping in place must survive the buffer growing */
	char big[3000];
	memset(big, '<', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	char data[3100];
	snprintf(data, sizeof data, "{\"x\":\"%s\"}", big);
	char *got = render_str("[{{x}}]", data, NULL);
	ck_assert_uint_eq(strlen(got), 2 + 4 * (sizeof big - 1));
	ck_assert(strncmp(got, "[&lt;&lt;", 9) == 0);
	ck_assert(strcmp(got + strlen(got) - 5, "&lt;]") == 0);
	free(got);
}
END_TEST

START_TEST(numbers_format_like_the_spec)
{
	ck_render("85 1.21 -0.5 0.1 3 1e+100 true false ",
		  "{{a}} {{b}} {{c}} {{d}} {{e}} {{f}} {{g}} {{h}} {{i}}",
		  "{\"a\":85,\"b\":1.21,\"c\":-0.5,\"d\":0.1,\"e\":3.0,"
		  "\"f\":1e100,\"g\":true,\"h\":false,\"i\":null}");
	ck_render("9007199254740993", "{{n}}", "{\"n\":9007199254740993}");
	/* zero, empty string and empty list are falsey; {} is truthy */
	ck_render("ABCD", "{{^z}}A{{/z}}{{^s}}B{{/s}}{{^l}}C{{/l}}{{#m}}D{{/m}}",
		  "{\"z\":0,\"s\":\"\",\"l\":[],\"m\":{}}");
}
END_TEST

START_TEST(sections_lists_and_lookups)
{
	ck_render("<li>a</li><li>b &amp; c</li>",
		  "{{#items}}<li>{{name}}</li>{{/items}}",
		  "{\"items\":[{\"name\":\"a\"},{\"name\":\"b & c\"}]}");
	ck_render("x-y-", "{{#l}}{{.}}-{{/l}}", "{\"l\":[\"x\",\"y\"]}");
	ck_render("deep", "{{a.b.c}}", "{\"a\":{\"b\":{\"c\":\"deep\"}}}");
	ck_render("outer", "{{#a}}{{v}}{{/a}}", "{\"a\":{},\"v\":\"outer\"}");
	ck_render("", "{{#a}}{{b.c}}{{/a}}",
		  "{\"a\":{\"b\":{}},\"b\":{\"c\":\"no\"}}");
	ck_render("[]", "[{{missing}}{{#missing}}x{{/missing}}]", "{}");
	/* '*' is only special in partial and parent names */
	ck_render("s", "{{#*x}}s{{/*x}}{{#*y}}t{{/* y}}", "{\"*x\":true}");
	/* a null root still renders text */
	ck_render("plain", "plain", "null");
}
END_TEST

START_TEST(inheritance_layout)
{
	const char *base = "<html>\n"
			   "<title>{{$title}}Default{{/title}}</title>\n"
			   "<body>\n"
			   "  {{$body}}\n"
			   "  <p>default body</p>\n"
			   "  {{/body}}\n"
			   "</body>\n";
	ck_render("<html>\n<title>Hi &amp; bye</title>\n<body>\n"
		  "  <h1>x</h1>\n  <p>y</p>\n</body>\n",
		  "{{<base}}\n{{$title}}{{t}}{{/title}}\n{{$body}}\n"
		  "<h1>x</h1>\n<p>y</p>\n{{/body}}\n{{/base}}\n",
		  "{\"t\":\"Hi & bye\"}", "base", base);
	ck_render("<html>\n<title>Default</title>\n<body>\n"
		  "  <p>default body</p>\n</body>\n",
		  "{{<base}}{{/base}}", "{}", "base", base);
	/* dynamic parent */
	ck_render("[B]", "{{<*which}}{{$x}}B{{/x}}{{/*which}}",
		  "{\"which\":\"p\"}", "p", "[{{$x}}A{{/x}}]");
	/* a block that overrides itself does not loop */
	ck_render("[xy]", "{{<p}}{{$a}}x{{$a}}y{{/a}}{{/a}}{{/p}}", "{}", "p",
		  "[{{$a}}d{{/a}}]");
}
END_TEST

START_TEST(partials_indent_and_recursion)
{
	ck_render("<ul>\n  <li>a</li>\n  <li>b</li>\n</ul>\n",
		  "<ul>\n  {{>item}}\n</ul>\n", "{\"l\":[\"a\",\"b\"]}", "item",
		  "{{#l}}\n<li>{{.}}</li>\n{{/l}}\n");
	/* nested standalone partials add up their indentation */
	ck_render("a\n    b\n    c\n", "a\n  {{>p}}\n", "{}", "p", "  {{>q}}\n",
		  "q", "b\nc\n");
	ck_render("(1(2(3)))", "{{>n}}",
		  "{\"v\":1,\"k\":{\"v\":2,\"k\":{\"v\":3,\"k\":false}}}",
		  "n",
		  "({{v}}{{#k}}{{>n}}{{/k}})");
}
END_TEST

START_TEST(recursion_depth_is_bounded)
{
	mustache_set_t *set = mustache_set_new();
	mustache_error_t err;
	ck_assert_int_eq(mustache_set_add(set, "a", "x{{>a}}", 7, &err), 0);
	buf_t out;
	buf_init(&out, NULL, 1 << 20);
	ck_assert_int_eq(buf_puts(&out, "keep"), 0);
	json_t *root = json_object();
	ck_assert_int_eq(mustache_json_render(set, "a", root, &out),
			 ERR_TOO_LARGE);
	/* a failed render leaves what was there before */
	ck_assert_str_eq(buf_cstr(&out), "keep");
	/* 3^30 iterations without output are cut by the step budget */
	buf_t src;
	buf_init(&src, NULL, 4096);
	for (int i = 0; i < 30; i++)
		ck_assert_int_eq(buf_puts(&src, "{{#l}}"), 0);
	for (int i = 0; i < 30; i++)
		ck_assert_int_eq(buf_puts(&src, "{{/l}}"), 0);
	ck_assert_int_eq(mustache_set_add(set, "b", src.data, src.len, &err),
			 0);
	json_t *l = json_pack("{s:[i,i,i]}", "l", 1, 2, 3);
	ck_assert_int_eq(mustache_json_render(set, "b", l, &out),
			 ERR_TOO_LARGE);
	mustache_set_max_steps(set, 100);
	ck_assert_int_eq(mustache_json_render(set, "c", l, &out),
			 ERR_NOT_FOUND);
	ck_assert_int_eq(mustache_set_add(set, "d", "{{#l}}{{.}}{{/l}}", 17,
					  &err),
			 0);
	ck_assert_int_eq(mustache_json_render(set, "d", l, &out), 0);
	ck_assert_str_eq(buf_cstr(&out), "keep123");
	mustache_set_max_steps(set, 5);
	ck_assert_int_eq(mustache_json_render(set, "d", l, &out),
			 ERR_TOO_LARGE);
	ck_assert_str_eq(buf_cstr(&out), "keep123");
	mustache_set_max_steps(set, 0);
	json_decref(l);
	buf_clear(&src);
	/* 64 levels are allowed */
	for (int i = 0; i < 64; i++)
		ck_assert_int_eq(buf_puts(&src, "{{#t}}"), 0);
	ck_assert_int_eq(buf_puts(&src, "ok"), 0);
	for (int i = 0; i < 64; i++)
		ck_assert_int_eq(buf_puts(&src, "{{/t}}"), 0);
	ck_assert_int_eq(mustache_set_add(set, "c", src.data, src.len, &err),
			 0);
	json_object_set_new(root, "t", json_true());
	buf_clear(&out);
	ck_assert_int_eq(mustache_json_render(set, "c", root, &out), 0);
	ck_assert_str_eq(buf_cstr(&out), "ok");
	json_decref(root);
	buf_free(&src);
	buf_free(&out);
	mustache_set_free(set);
}
END_TEST

START_TEST(output_cap_is_enforced)
{
	mustache_set_t *set = mustache_set_new();
	mustache_error_t err;
	const char *src = "{{#l}}{{.}}{{/l}}";
	ck_assert_int_eq(mustache_set_add(set, "t", src, strlen(src), &err), 0);
	buf_t out;
	ck_assert_int_eq(render_json(set, "t", "{\"l\":[\"abcd\",\"efgh\"]}",
				     &out, 6),
			 ERR_TOO_LARGE);
	ck_assert_uint_eq(out.len, 0);
	buf_free(&out);
	ck_assert_int_eq(render_json(set, "t", "{\"l\":[\"abc\",\"def\"]}",
				     &out, 6),
			 0);
	ck_assert_str_eq(buf_cstr(&out), "abcdef");
	buf_free(&out);
	ck_assert_int_eq(render_json(set, "nope", "{}", &out, 6),
			 ERR_NOT_FOUND);
	buf_free(&out);
	mustache_set_free(set);
}
END_TEST

START_TEST(add_replaces_and_set_grows)
{
	mustache_set_t *set = mustache_set_new();
	mustache_error_t err;
	char name[32], src[64];
	for (int i = 0; i < 200; i++) {
		snprintf(name, sizeof name, "t%d", i);
		snprintf(src, sizeof src, "<%d>{{#n}}{{>t%d}}{{/n}}", i, i + 1);
		ck_assert_int_eq(
			mustache_set_add(set, name, src, strlen(src), &err), 0);
	}
	ck_assert(mustache_set_has(set, "t0"));
	ck_assert(mustache_set_has(set, "t199"));
	ck_assert(!mustache_set_has(set, "t200"));
	ck_assert_int_eq(mustache_set_add(set, "t0", "new", 3, &err), 0);
	buf_t out;
	ck_assert_int_eq(render_json(set, "t0", "{}", &out, 100), 0);
	ck_assert_str_eq(buf_cstr(&out), "new");
	buf_free(&out);
	/* a failed compile keeps the previous template */
	ck_assert_int_eq(mustache_set_add(set, "t1", "{{", 2, &err),
			 ERR_INVALID);
	ck_assert_int_eq(render_json(set, "t1", "{}", &out, 100), 0);
	ck_assert_str_eq(buf_cstr(&out), "<1>");
	buf_free(&out);
	mustache_set_free(set);
}
END_TEST

/* ---------------------------------------------------------------- load_dir */

static void write_file(const char *dir, const char *rel, const char *text)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, rel);
	FILE *f = fopen(path, "wb");
	ck_assert_msg(f != NULL, "cannot write %s", path);
	fputs(text, f);
	fclose(f);
}

static void remove_tree(const char *path)
{
	DIR *d = opendir(path);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			char sub[4096];
			snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
			remove_tree(sub);
		}
		closedir(d);
		rmdir(path);
	} else {
		unlink(path);
	}
}

START_TEST(load_dir_names_by_relative_path)
{
	const char *tmp = getenv("TMPDIR");
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/check_mustache.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char sub[4200];
	snprintf(sub, sizeof sub, "%s/partials", dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	snprintf(sub, sizeof sub, "%s/partials/deep", dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	write_file(dir, "page.mustache", "<{{>partials/head}}|{{>partials/deep/x}}>");
	write_file(dir, "partials/head.mustache", "H{{t}}");
	write_file(dir, "partials/deep/x.mustache", "X");
	write_file(dir, "notes.txt", "{{ not a template");
	write_file(dir, ".hidden.mustache", "{{");

	mustache_set_t *set = mustache_set_new();
	mustache_error_t err = {0};
	ck_assert_int_eq(mustache_set_load_dir(set, dir, &err), 0);
	ck_assert(mustache_set_has(set, "page"));
	ck_assert(mustache_set_has(set, "partials/head"));
	ck_assert(mustache_set_has(set, "partials/deep/x"));
	ck_assert(!mustache_set_has(set, "notes"));
	ck_assert(!mustache_set_has(set, ".hidden"));
	buf_t out;
	ck_assert_int_eq(render_json(set, "page", "{\"t\":\"!\"}", &out, 100), 0);
	ck_assert_str_eq(buf_cstr(&out), "<H!|X>");
	buf_free(&out);
	mustache_set_free(set);

	/* a broken template names itself, with line and column */
	write_file(dir, "partials/broken.mustache", "ok\n{{#x}}\n");
	set = mustache_set_new();
	ck_assert_int_eq(mustache_set_load_dir(set, dir, &err), ERR_INVALID);
	ck_assert_str_eq(err.name, "partials/broken");
	ck_assert_int_eq(err.line, 2);
	ck_assert_int_eq(err.column, 1);
	mustache_set_free(set);

	set = mustache_set_new();
	char missing[4200];
	snprintf(missing, sizeof missing, "%s/none", dir);
	ck_assert_int_eq(mustache_set_load_dir(set, missing, &err),
			 ERR_NOT_FOUND);
	mustache_set_free(set);
	remove_tree(dir);
}
END_TEST

/* ---------------------------------------------------------------- threads */

typedef struct {
	const mustache_set_t *set;
	const json_t *root;
	const char *expected;
	int bad;
} thread_arg_t;

static void *render_many(void *p)
{
	thread_arg_t *a = p;
	buf_t out;
	buf_init(&out, NULL, 1 << 16);
	for (int i = 0; i < 2000; i++) {
		buf_clear(&out);
		if (mustache_json_render(a->set, "page", a->root, &out) != 0 ||
		    strcmp(buf_cstr(&out), a->expected) != 0)
			a->bad++;
	}
	buf_free(&out);
	return NULL;
}

START_TEST(renders_from_many_threads)
{
	mustache_set_t *set = mustache_set_new();
	mustache_error_t err;
	const char *page = "{{<layout}}{{$main}}{{#items}}{{>item}}{{/items}}"
			   "{{/main}}{{/layout}}";
	const char *layout = "<main>\n  {{$main}}{{/main}}\n</main>\n";
	const char *item = "[{{>*kind}}]";
	ck_assert_int_eq(mustache_set_add(set, "page", page, strlen(page), &err),
			 0);
	ck_assert_int_eq(
		mustache_set_add(set, "layout", layout, strlen(layout), &err), 0);
	ck_assert_int_eq(mustache_set_add(set, "item", item, strlen(item), &err),
			 0);
	ck_assert_int_eq(mustache_set_add(set, "a", "A{{n}}", 6, &err), 0);
	ck_assert_int_eq(mustache_set_add(set, "b", "B{{n}}", 6, &err), 0);
	json_t *root = json_loads("{\"items\":[{\"kind\":\"a\",\"n\":1},"
				  "{\"kind\":\"b\",\"n\":2.5}]}",
				  0, NULL);
	thread_arg_t args[4];
	pthread_t th[4];
	for (int i = 0; i < 4; i++) {
		args[i] = (thread_arg_t){set, root,
					 "<main>\n  [A1][B2.5]\n</main>\n", 0};
		ck_assert_int_eq(pthread_create(&th[i], NULL, render_many,
						&args[i]),
				 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(args[i].bad, 0);
	}
	json_decref(root);
	mustache_set_free(set);
}
END_TEST

/* ---------------------------------------------------------------- fuzz */

static uint64_t rng_state;

static uint32_t rng(void)
{
	/* xorshift64*: a fixed seed keeps the run reproducible */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 2685821657736338717ULL) >> 32);
}

static const char *pieces[] = {
	"{{",	   "}}",      "{{{",	 "}}}",	   "#",	    "^",     "/",
	">",	   "<",	      "$",	 "&",	   "!",	    "=",     "*",
	".",	   "a",	      "b",	 "c",	   "d",	    " ",     "\n",
	"\r\n",	   "\t",      "x<&\"",	 "{{a}}",  "{{#a}}", "{{/a}}", "{{^b}}",
	"{{/b}}",  "{{>a}}",  "{{>b}}",	 "{{<a}}", "{{/a}}", "{{$c}}", "{{/c}}",
	"{{>*d}}", "{{<*d}}", "{{/*d}}", "{{=<% %>=}}", "<%",	"%>",  "<%a%>",
	"{{.}}",   "{{a.b}}", "{{!x}}",	 "{{&a}}", "  ",    "{{#c}}", "{{/c}}",
	"{{=| |=}}", "|",     "{{{a}}}", "{{=",	   "=}}",   "\x00", "\xff",
};
#define NPIECES (sizeof pieces / sizeof pieces[0])

static size_t gen(char *buf, size_t cap)
{
	size_t n = 0;
	int count = (int)(rng() % 40);
	for (int i = 0; i < count; i++) {
		const char *p = pieces[rng() % NPIECES];
		size_t len = p[0] ? strlen(p) : 1;
		if (n + len >= cap)
			break;
		memcpy(buf + n, p, len);
		n += len;
	}
	/* byte-level mutations on top */
	int muts = (int)(rng() % 4);
	for (int i = 0; i < muts && n; i++) {
		size_t at = rng() % n;
		switch (rng() % 3) {
		case 0: buf[at] = (char)rng(); break;
		case 1:
			memmove(buf + at, buf + at + 1, n - at - 1);
			n--;
			break;
		default:
			if (n + 1 < cap) {
				memmove(buf + at + 1, buf + at, n - at);
				buf[at] = "{}#/<>$!=*.\n "[rng() % 13];
				n++;
			}
		}
	}
	return n;
}

START_TEST(random_templates_do_not_crash)
{
	rng_state = 0x9e3779b97f4a7c15ULL;
	json_t *root = json_loads(
		"{\"a\":[{\"b\":1},{\"b\":\"x<\",\"a\":[]}],\"b\":true,"
		"\"c\":{\"a\":\"b\",\"d\":\"c\"},\"d\":\"a\",\"e\":null,"
		"\"f\":1.5,\"g\":[]}",
		0, NULL);
	ck_assert_ptr_nonnull(root);
	char src[512];
	int compiled = 0, rendered = 0;
	for (int i = 0; i < 20000; i++) {
		mustache_set_t *set = mustache_set_new();
		mustache_set_max_steps(set, 20000);
		static const char *names[] = {"t", "a", "b", "c"};
		for (int k = 0; k < 4; k++) {
			size_t n = gen(src, sizeof src);
			mustache_error_t err = {0};
			int rc = mustache_set_add(set, names[k], src, n, &err);
			if (rc == 0) {
				compiled++;
				continue;
			}
			ck_assert_int_eq(rc, ERR_INVALID);
			ck_assert_int_ge(err.line, 1);
			ck_assert_int_ge(err.column, 1);
			ck_assert(err.message[0] != '\0');
		}
		buf_t out;
		buf_init(&out, NULL, 4096);
		int rc = mustache_json_render(set, "t", root, &out);
		ck_assert(rc == 0 || rc == ERR_TOO_LARGE || rc == ERR_NOT_FOUND);
		if (rc == 0) {
			rendered++;
			ck_assert_uint_eq(strlen(buf_cstr(&out)) <= out.len, 1);
		}
		buf_free(&out);
		mustache_set_free(set);
	}
	json_decref(root);
	printf("fuzz: 20000 sets, %d templates compiled, %d renders ok\n",
	       compiled, rendered);
	fflush(stdout);
	ck_assert_int_gt(compiled, 1000);
	ck_assert_int_gt(rendered, 100);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("mustache");
	TCase *tc = tcase_create("spec");
	tcase_add_loop_test(tc, spec_file, 0, NSPEC);
	tcase_add_test(tc, spec_summary);
	suite_add_tcase(s, tc);

	tc = tcase_create("engine");
	tcase_add_test(tc, golden_cases);
	tcase_add_loop_test(tc, malformed_templates, 0,
			    (int)(sizeof bad / sizeof bad[0]));
	tcase_add_test(tc, deep_nesting_is_rejected_at_compile);
	tcase_add_test(tc, escaping_and_raw);
	tcase_add_test(tc, numbers_format_like_the_spec);
	tcase_add_test(tc, sections_lists_and_lookups);
	tcase_add_test(tc, inheritance_layout);
	tcase_add_test(tc, partials_indent_and_recursion);
	tcase_add_test(tc, recursion_depth_is_bounded);
	tcase_add_test(tc, output_cap_is_enforced);
	tcase_add_test(tc, add_replaces_and_set_grows);
	tcase_add_test(tc, load_dir_names_by_relative_path);
	suite_add_tcase(s, tc);

	tc = tcase_create("robustness");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, renders_from_many_threads);
	tcase_add_test(tc, random_templates_do_not_crash);
	suite_add_tcase(s, tc);
	return s;
}

CK_RUN_SUITE(make_suite)
