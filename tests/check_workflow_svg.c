/* lib/workflow_svg: the layered layout (chains, forks, joins, the
 * barycenter order), escaping of hostile labels, refusal of cycles and
 * malformed graphs, and the size bounds. */
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "check_util.h"
#include "err.h"
#include "workflow_svg.h"

#define VALID_DIR TOP_SRCDIR "/tests/workflows/valid"

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, JSON_ALLOW_NUL, &e);
	ck_assert_msg(j != NULL, "bad test JSON: %s", e.text);
	return j;
}

/* The next sep-separated token of *s (NULL at the end; empty tokens
 * skipped), cutting it out in place. */
static char *next_tok(char **s, char sep)
{
	while (*s && **s == sep)
		(*s)++;
	if (!*s || !**s)
		return NULL;
	char *tok = *s, *end = strchr(tok, sep);
	if (end) {
		*end = '\0';
		*s = end + 1;
	} else {
		*s = NULL;
	}
	return tok;
}

/* A graph of triggers and nodes (ids, comma-separated) and edges
 * "from>to[:port]" (space-separated). */
static json_t *graph(const char *triggers, const char *nodes,
		     const char *edges)
{
	json_t *g = json_pack("{s:s, s:s, s:[], s:[], s:[], s:[]}", "name",
			      "Test", "description", "", "env", "triggers",
			      "nodes", "edges");
	char tmp[512];
	const char *lists[2] = {triggers, nodes};
	for (int k = 0; k < 2; k++) {
		snprintf(tmp, sizeof tmp, "%s", lists[k]);
		char *rest = tmp;
		for (char *id; (id = next_tok(&rest, ',')) != NULL;)
			json_array_append_new(
				json_object_get(g, k ? "nodes" : "triggers"),
				k ? json_pack("{s:s, s:s, s:s}", "id", id, "type",
					      "set", "action", "set")
				  : json_pack("{s:s, s:s}", "id", id, "type",
					      "webhook"));
	}
	snprintf(tmp, sizeof tmp, "%s", edges);
	char *rest = tmp;
	for (char *e; (e = next_tok(&rest, ' ')) != NULL;) {
		char *to = strchr(e, '>');
		ck_assert_ptr_nonnull(to);
		*to++ = '\0';
		char *port = strchr(to, ':');
		if (port)
			*port++ = '\0';
		json_array_append_new(
			json_object_get(g, "edges"),
			json_pack("{s:s, s:s, s:s, s:s}", "fromNodeId", e,
				  "fromPort", port ? port : "main", "toNodeId",
				  to, "toPort", "main"));
	}
	return g;
}

static const workflow_svg_item_t *item(const workflow_svg_item_t *items,
				       size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(items[i].id, id) == 0)
			return &items[i];
	ck_abort_msg("no item %s", id);
	return NULL;
}

#define AT(id, l, r)                                                         \
	do {                                                                 \
		const workflow_svg_item_t *it_ = item(items, n, id);         \
		ck_assert_msg(it_->layer == (l) && it_->row == (r),          \
			      "%s at %d/%d, want %d/%d", id, it_->layer,     \
			      it_->row, (l), (r));                           \
	} while (0)

static size_t count(const char *hay, const char *needle)
{
	size_t c = 0;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		c++;
	return c;
}

static char *render(const json_t *g, int want_rc)
{
	buf_t b;
	buf_init(&b, NULL, 4u << 20);
	int rc = workflow_svg_render(g, &b);
	ck_assert_int_eq(rc, want_rc);
	if (rc) {
		ck_assert_uint_eq(b.len, 0);
		buf_free(&b);
		return NULL;
	}
	return buf_take(&b, NULL);
}

START_TEST(chain)
{
	json_t *g = graph("t", "a,b,c", "t>a a>b b>c");
	workflow_svg_item_t items[WORKFLOW_SVG_MAX_ITEMS];
	size_t n;
	ck_assert_int_eq(workflow_svg_layout(g, items, WORKFLOW_SVG_MAX_ITEMS, &n), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert(items[0].trigger);
	ck_assert(!items[1].trigger);
	AT("t", 0, 0);
	AT("a", 1, 0);
	AT("b", 2, 0);
	AT("c", 3, 0);
	char *svg = render(g, 0);
	/* 4 columns of one row: 2*16 + 4*184 + 3*72 wide, 2*16 + 56 high */
	ck_assert_ptr_nonnull(strstr(svg, "viewBox=\"0 0 984 88\""));
	ck_assert_ptr_nonnull(strstr(svg, "translate(16 16)"));
	ck_assert_ptr_nonnull(strstr(svg, "translate(784 16)"));
	ck_assert_uint_eq(count(svg, "marker-end="), 3);
	ck_assert_uint_eq(count(svg, "wf-item--trigger"), 1);
	ck_assert_uint_eq(count(svg, "wf-item--node"), 3);
	ck_assert_ptr_nonnull(strstr(svg, ">trigger \xc2\xb7 webhook</text>"));
	ck_assert_ptr_nonnull(strstr(svg, ">set \xc2\xb7 set</text>"));
	ck_assert_ptr_nonnull(strstr(svg, "1 trigger, 3 nodes, 3 connections"));
	/* "main" ports are not labelled */
	ck_assert_ptr_null(strstr(svg, ">main<"));
	free(svg);
	json_decref(g);
}
END_TEST

START_TEST(fork_and_join)
{
	/* t -> a; a -true-> b, a -false-> c; b, c -> d; and t -> d directly:
	 * d sits after its farthest predecessor, not next to t. */
	json_t *g = graph("t", "a,b,c,d",
			  "t>a a>b:true a>c:false b>d c>d t>d");
	workflow_svg_item_t items[WORKFLOW_SVG_MAX_ITEMS];
	size_t n;
	ck_assert_int_eq(workflow_svg_layout(g, items, WORKFLOW_SVG_MAX_ITEMS, &n), 0);
	AT("t", 0, 0);
	AT("a", 1, 0);
	AT("b", 2, 0);
	AT("c", 2, 1);
	AT("d", 3, 0);
	char *svg = render(g, 0);
	/* two rows at most: 2*16 + 2*56 + 24 high; a column of one is
	 * centred: a at y = 16 + (80 / 2) */
	ck_assert_ptr_nonnull(strstr(svg, "viewBox=\"0 0 984 168\""));
	ck_assert_ptr_nonnull(strstr(svg, "translate(272 56)"));
	ck_assert_ptr_nonnull(strstr(svg, "translate(528 16)"));
	ck_assert_ptr_nonnull(strstr(svg, "translate(528 96)"));
	ck_assert_uint_eq(count(svg, "marker-end="), 6);
	ck_assert_ptr_nonnull(strstr(svg, ">true</text>"));
	ck_assert_ptr_nonnull(strstr(svg, ">false</text>"));
	/* the two ports of a start apart: 7 above and below its middle
	 * (a's middle is y 84; its right side x 456) */
	ck_assert_ptr_nonnull(strstr(svg, "M456 77C"));
	ck_assert_ptr_nonnull(strstr(svg, "M456 91C"));
	free(svg);
	json_decref(g);

	/* branches keep the order of their ports (as edges first use them),
	 * not of their nodes in the document, so they do not cross */
	g = graph("t", "a,no,yes", "t>a a>yes:true a>no:false");
	ck_assert_int_eq(workflow_svg_layout(g, items, WORKFLOW_SVG_MAX_ITEMS, &n), 0);
	AT("yes", 2, 0);
	AT("no", 2, 1);
	json_decref(g);
}
END_TEST

START_TEST(rows_follow_predecessors)
{
	/* x hangs off t2 and y off t1, but x comes first in the document:
	 * the barycenter puts y (under t1) above x. */
	json_t *g = graph("t1,t2", "x,y,z", "t2>x t1>y t1>z");
	workflow_svg_item_t items[WORKFLOW_SVG_MAX_ITEMS];
	size_t n;
	ck_assert_int_eq(workflow_svg_layout(g, items, WORKFLOW_SVG_MAX_ITEMS, &n), 0);
	AT("t1", 0, 0);
	AT("t2", 0, 1);
	AT("y", 1, 0);
	AT("z", 1, 1);
	AT("x", 1, 2);
	/* the same graph always gives the same bytes */
	char *a = render(g, 0), *b = render(g, 0);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	json_decref(g);

	/* a node nothing leads to still gets a place (column 1, last) */
	g = graph("t", "lonely,a", "t>a");
	ck_assert_int_eq(workflow_svg_layout(g, items, WORKFLOW_SVG_MAX_ITEMS, &n), 0);
	AT("a", 1, 0);
	AT("lonely", 1, 1);
	json_decref(g);
}
END_TEST

/* Every '&' in s starts one of the entities put_text writes. */
static void assert_entities_only(const char *s)
{
	static const char *const ok[] = {"&amp;", "&lt;", "&gt;", "&quot;",
					 "&#39;"};
	for (const char *p = strchr(s, '&'); p; p = strchr(p + 1, '&')) {
		bool found = false;
		for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
			found |= strncmp(p, ok[i], strlen(ok[i])) == 0;
		ck_assert_msg(found, "stray '&' at: %.20s", p);
	}
}

START_TEST(hostile_labels)
{
	json_t *g = parse(
		"{\"name\": \"</title><script>alert(1)</script>\","
		" \"triggers\": [{\"id\": \"\\\"><svg onload=alert(1)>\","
		"                 \"type\": \"<img src=x onerror=alert(2)>\"}],"
		" \"nodes\": [{\"id\": \"n&amp;\\u0001\\u202e\\u0000x\","
		"              \"type\": \"'\\\"\\u0000z\", \"action\": \"]]>\"}],"
		" \"edges\": [{\"fromNodeId\": \"\\\"><svg onload=alert(1)>\","
		"              \"fromPort\": \"<b>&\","
		"              \"toNodeId\": \"n&amp;\\u0001\\u202e\\u0000x\","
		"              \"toPort\": \"main\"}]}");
	char *svg = render(g, 0);
	ck_assert_uint_eq(count(svg, "<svg"), 1);
	ck_assert_ptr_null(strstr(svg, "<script"));
	ck_assert_ptr_null(strstr(svg, "<img"));
	ck_assert_ptr_null(strstr(svg, "<b>"));
	ck_assert_ptr_null(strstr(svg, "]]>"));
	ck_assert_uint_eq(count(svg, "</title>"), 3); /* svg + two items */
	ck_assert_ptr_nonnull(strstr(svg, "&lt;/title&gt;&lt;script&gt;alert(1)"));
	ck_assert_ptr_nonnull(strstr(svg, "&quot;&gt;&lt;svg onload=alert(1)&gt;"));
	ck_assert_ptr_nonnull(strstr(svg, ">&lt;b&gt;&amp;</text>"));
	ck_assert_ptr_nonnull(strstr(svg, "n&amp;amp;"));
	/* control characters are spaces, an override is U+FFFD; an id ends
	 * at a NUL (ids are compared as C strings), other text shows it as a
	 * space */
	ck_assert_ptr_nonnull(strstr(svg, ">n&amp;amp; \xef\xbf\xbd</text>"));
	ck_assert_ptr_nonnull(strstr(svg, ">&#39;&quot; z \xc2\xb7 ]]&gt;</text>"));
	ck_assert_ptr_null(strstr(svg, "\xe2\x80\xae"));
	ck_assert_ptr_null(strchr(svg, '\x01'));
	assert_entities_only(svg);
	/* nothing that fetches or runs: no links, no style, no handlers as
	 * attributes (only the arrow marker is referred to, inside) */
	ck_assert_ptr_null(strstr(svg, "href"));
	ck_assert_ptr_null(strstr(svg, "style"));
	ck_assert_ptr_null(strstr(svg, "<foreignObject"));
	ck_assert_uint_eq(count(svg, "url("), count(svg, "url(#canopy-wf-arrow)"));
	ck_assert_uint_eq(count(svg, "http"), 1); /* the xmlns */
	free(svg);
	json_decref(g);
}
END_TEST

START_TEST(long_labels_are_shortened)
{
	json_t *g = graph("t", "abcdefghijklmnopqrstuvwxyz0123456789", "t>abcdefghijklmnopqrstuvwxyz0123456789");
	char *svg = render(g, 0);
	/* the box shows 21 characters and an ellipsis; the tooltip all 36 */
	ck_assert_ptr_nonnull(strstr(svg, ">abcdefghijklmnopqrstu\xe2\x80\xa6</text>"));
	ck_assert_ptr_nonnull(strstr(svg, "<title>abcdefghijklmnopqrstuvwxyz0123456789: set"));
	free(svg);
	json_decref(g);
}
END_TEST

START_TEST(cycles_and_bad_input)
{
	const char *bad[] = {
		"[]",
		"{}",
		"{\"triggers\": [], \"nodes\": {}}",
		"{\"triggers\": [{\"id\": \"t\"}], \"nodes\": [{\"type\": \"set\"}]}",
		"{\"triggers\": [{\"id\": \"t\"}], \"nodes\": [{\"id\": \"\"}]}",
		"{\"triggers\": [{\"id\": \"t\"}], \"nodes\": [{\"id\": 5}]}",
		"{\"triggers\": [{\"id\": \"t\"}], \"nodes\": [\"a\"]}",
		"{\"triggers\": [{\"id\": \"t\"}], \"nodes\": [{\"id\": \"t\"}]}",
		"{\"triggers\": [{\"id\": \"t\"}], \"nodes\": [{\"id\": \"a\"}],"
		" \"edges\": {}}",
		"{\"triggers\": [{\"id\": \"t\"}], \"nodes\": [{\"id\": \"a\"}],"
		" \"edges\": [7]}",
		"{\"triggers\": [{\"id\": \"t\"}], \"nodes\": [{\"id\": \"a\"}],"
		" \"edges\": [{\"fromNodeId\": \"t\", \"toNodeId\": \"zz\"}]}",
		"{\"triggers\": [{\"id\": \"t\"}], \"nodes\": [{\"id\": \"a\"}],"
		" \"edges\": [{\"fromNodeId\": \"a\", \"toNodeId\": \"t\"}]}",
		"{\"triggers\": [{\"id\": \"t\"}], \"nodes\": [{\"id\": \"a\"}],"
		" \"edges\": [{\"fromNodeId\": \"t\"}]}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		json_t *g = parse(bad[i]);
		buf_t b;
		buf_init(&b, NULL, 1 << 20);
		ck_assert_int_eq(buf_puts(&b, "kept"), 0);
		ck_assert_msg(workflow_svg_render(g, &b) == ERR_INVALID,
			      "accepted: %s", bad[i]);
		ck_assert_str_eq(buf_cstr(&b), "kept");
		buf_free(&b);
		json_decref(g);
	}
	ck_assert_int_eq(workflow_svg_render(NULL, NULL), ERR_INVALID);

	json_t *g = graph("t", "a,b,c", "t>a a>b b>c c>a");
	render(g, ERR_INVALID);
	json_decref(g);
	g = graph("t", "a", "t>a a>a");
	render(g, ERR_INVALID);
	json_decref(g);
	/* a cycle that nothing reaches is still a cycle */
	g = graph("t", "a,b,c", "t>a b>c c>b");
	render(g, ERR_INVALID);
	json_decref(g);
	/* an empty graph draws an empty frame */
	g = graph("", "", "");
	char *svg = render(g, 0);
	ck_assert_ptr_nonnull(strstr(svg, "0 triggers, 0 nodes, 0 connections"));
	free(svg);
	json_decref(g);
}
END_TEST

START_TEST(size_bounds)
{
	/* the most items and edges, every label long and all escapes */
	json_t *g = json_pack("{s:s, s:[], s:[], s:[]}", "name", "", "triggers",
			      "nodes", "edges");
	char id[400];
	memset(id, '"', sizeof id);
	for (int i = 0; i < WORKFLOW_SVG_MAX_ITEMS; i++) {
		snprintf(id + 380, 20, "%d", i);
		json_array_append_new(
			json_object_get(g, i < 10 ? "triggers" : "nodes"),
			json_pack("{s:s, s:s, s:s}", "id", id, "type", id + 100,
				  "action", id + 200));
	}
	int edges = 0;
	for (int i = 0; i < WORKFLOW_SVG_MAX_ITEMS && edges < WORKFLOW_SVG_MAX_EDGES; i++)
		for (int j = i + 1 > 10 ? i + 1 : 10;
		     j < WORKFLOW_SVG_MAX_ITEMS && j < i + 6 &&
		     edges < WORKFLOW_SVG_MAX_EDGES;
		     j++, edges++) {
			json_t *from = json_array_get(json_object_get(g, i < 10 ? "triggers" : "nodes"),
						      (size_t)(i < 10 ? i : i - 10));
			json_t *to = json_array_get(json_object_get(g, "nodes"), (size_t)(j - 10));
			json_array_append_new(
				json_object_get(g, "edges"),
				json_pack("{s:O, s:s, s:O, s:s}", "fromNodeId",
					  json_object_get(from, "id"), "fromPort",
					  "&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&",
					  "toNodeId", json_object_get(to, "id"),
					  "toPort", "main"));
		}
	ck_assert_int_eq(edges, WORKFLOW_SVG_MAX_EDGES);
	char *svg = render(g, 0);
	ck_assert_uint_le(strlen(svg), WORKFLOW_SVG_MAX_BYTES);
	ck_assert_uint_eq(count(svg, "marker-end="), WORKFLOW_SVG_MAX_EDGES);

	/* a cap smaller than the diagram: refused, nothing appended */
	buf_t small;
	buf_init(&small, NULL, 4096);
	ck_assert_int_eq(workflow_svg_render(g, &small), ERR_TOO_LARGE);
	ck_assert_uint_eq(small.len, 0);
	buf_free(&small);

	/* one edge more, or one item more, is refused */
	json_array_append(json_object_get(g, "edges"),
			  json_array_get(json_object_get(g, "edges"), 0));
	render(g, ERR_TOO_LARGE);
	json_array_remove(json_object_get(g, "edges"),
			  json_array_size(json_object_get(g, "edges")) - 1);
	json_array_append_new(json_object_get(g, "nodes"),
			      json_pack("{s:s}", "id", "one-more"));
	render(g, ERR_TOO_LARGE);
	free(svg);

	/* the caller's room for the layout counts too */
	json_decref(g);
	g = graph("t", "a,b,c", "t>a");
	workflow_svg_item_t items[2];
	size_t n = 9;
	ck_assert_int_eq(workflow_svg_layout(g, items, 2, &n), ERR_TOO_LARGE);
	ck_assert_uint_eq(n, 0);
	json_decref(g);
}
END_TEST

START_TEST(golden_graphs_render)
{
	DIR *d = opendir(VALID_DIR);
	ck_assert_ptr_nonnull(d);
	int seen = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		if (len < 6 || strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		char path[512];
		snprintf(path, sizeof path, "%s/%s", VALID_DIR, de->d_name);
		json_error_t e;
		json_t *g = json_load_file(path, 0, &e);
		ck_assert_msg(g != NULL, "%s: %s", path, e.text);
		char *svg = render(g, 0);
		ck_assert_ptr_nonnull(strstr(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
		ck_assert_uint_eq(count(svg, "marker-end="),
				  json_array_size(json_object_get(g, "edges")));
		ck_assert_uint_eq(count(svg, "wf-item--trigger"),
				  json_array_size(json_object_get(g, "triggers")));
		assert_entities_only(svg);
		free(svg);
		json_decref(g);
		seen++;
	}
	closedir(d);
	ck_assert_int_gt(seen, 0);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("workflow_svg");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, chain);
	tcase_add_test(tc, fork_and_join);
	tcase_add_test(tc, rows_follow_predecessors);
	tcase_add_test(tc, hostile_labels);
	tcase_add_test(tc, long_labels_are_shortened);
	tcase_add_test(tc, cycles_and_bad_input);
	tcase_add_test(tc, size_bounds);
	tcase_add_test(tc, golden_graphs_render);
	suite_add_tcase(s, tc);
	return s;
}

CK_RUN_SUITE(make_suite)
