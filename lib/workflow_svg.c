#include "workflow_svg.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

/* Geometry, in SVG user units (pixels at scale 1). */
#define BOX_W 184
#define BOX_H 56
#define COL_GAP 72
#define ROW_GAP 24
#define MARGIN 16
#define PORT_GAP 14 /* between the starts of a node's output ports */
#define PORTS_MAX 8 /* distinct ports spread out per node; more share */

/* Caps on text taken from the graph, in code points (an ellipsis ends a
 * shortened one).  With the item and edge limits they bound the output. */
#define ID_CHARS 22
#define KIND_CHARS 26
#define TIP_CHARS 64
#define PORT_CHARS 16
#define NAME_CHARS 120

typedef struct {
	int from, to;
	const char *port; /* fromPort; NULL when absent */
	size_t port_len;
	int slot;         /* the port's place among its source's ports */
} edge_t;

typedef struct {
	workflow_svg_item_t item[WORKFLOW_SVG_MAX_ITEMS];
	const json_t *obj[WORKFLOW_SVG_MAX_ITEMS];
	size_t n, cap;
	edge_t edge[WORKFLOW_SVG_MAX_EDGES];
	size_t nedges;
	int nlayers;
	int rows_max;
	int per_layer[WORKFLOW_SVG_MAX_ITEMS]; /* items in each column */
	int nports[WORKFLOW_SVG_MAX_ITEMS];    /* distinct output ports used */
} layout_t;

/* ------------------------------------------------------------ layout */

static int find(const layout_t *l, const char *id)
{
	for (size_t i = 0; id && i < l->n; i++)
		if (strcmp(l->item[i].id, id) == 0)
			return (int)i;
	return -1;
}

static int collect(layout_t *l, const json_t *list, bool trigger)
{
	if (!json_is_array(list))
		return ERR_INVALID;
	size_t i;
	const json_t *v;
	json_array_foreach(list, i, v) {
		const char *id = json_string_value(json_object_get(v, "id"));
		if (!json_is_object(v) || !id || !*id)
			return ERR_INVALID;
		if (l->n >= l->cap)
			return ERR_TOO_LARGE;
		if (find(l, id) >= 0)
			return ERR_INVALID;
		l->item[l->n] = (workflow_svg_item_t){
			.id = id, .trigger = trigger, .layer = trigger ? 0 : 1};
		l->obj[l->n++] = v;
	}
	return 0;
}

static bool same_port(const edge_t *a, const edge_t *b)
{
	const char *x = a->port ? a->port : "";
	const char *y = b->port ? b->port : "";
	size_t xn = a->port ? a->port_len : 0, yn = b->port ? b->port_len : 0;
	return xn == yn && memcmp(x, y, xn) == 0;
}

/* Numbers each source's distinct ports in the order edges first use
 * them (a port named by no edge takes no place). */
static void number_ports(layout_t *l)
{
	for (size_t e = 0; e < l->nedges; e++) {
		edge_t *me = &l->edge[e];
		size_t j = 0;
		while (j < e && !(l->edge[j].from == me->from &&
				  same_port(&l->edge[j], me)))
			j++;
		me->slot = j < e ? l->edge[j].slot : l->nports[me->from]++;
	}
}

static int read_edges(layout_t *l, const json_t *edges)
{
	if (!edges)
		return 0;
	if (!json_is_array(edges))
		return ERR_INVALID;
	if (json_array_size(edges) > WORKFLOW_SVG_MAX_EDGES)
		return ERR_TOO_LARGE;
	size_t i;
	const json_t *e;
	json_array_foreach(edges, i, e) {
		if (!json_is_object(e))
			return ERR_INVALID;
		int from = find(l, json_string_value(json_object_get(e, "fromNodeId")));
		int to = find(l, json_string_value(json_object_get(e, "toNodeId")));
		if (from < 0 || to < 0 || l->item[to].trigger)
			return ERR_INVALID;
		const json_t *port = json_object_get(e, "fromPort");
		l->edge[l->nedges++] = (edge_t){
			.from = from,
			.to = to,
			.port = json_string_value(port),
			.port_len = json_string_length(port),
		};
	}
	number_ports(l);
	return 0;
}

/* Longest path from the triggers by Kahn's algorithm, taking the first
 * ready item in document order each time (deterministic; n is small). */
static int assign_layers(layout_t *l)
{
	int indeg[WORKFLOW_SVG_MAX_ITEMS] = {0};
	bool done[WORKFLOW_SVG_MAX_ITEMS] = {false};
	for (size_t e = 0; e < l->nedges; e++)
		indeg[l->edge[e].to]++;
	size_t processed = 0;
	for (;;) {
		size_t i = 0;
		while (i < l->n && (done[i] || indeg[i] > 0))
			i++;
		if (i == l->n)
			break;
		done[i] = true;
		processed++;
		for (size_t e = 0; e < l->nedges; e++) {
			if (l->edge[e].from != (int)i)
				continue;
			workflow_svg_item_t *to = &l->item[l->edge[e].to];
			if (to->layer < l->item[i].layer + 1)
				to->layer = l->item[i].layer + 1;
			indeg[l->edge[e].to]--;
		}
	}
	return processed == l->n ? 0 : ERR_INVALID; /* the rest is a cycle */
}

typedef struct {
	int index;
	long long sum; /* of the predecessors' rows (times PORTS_MAX) */
	long long count;
} order_t;

/* a before b: items with predecessors first, by mean predecessor row
 * (compared as fractions, so no rounding decides), then document order. */
static bool before(const order_t *a, const order_t *b)
{
	if ((a->count > 0) != (b->count > 0))
		return a->count > 0;
	if (a->count > 0) {
		long long x = a->sum * b->count, y = b->sum * a->count;
		if (x != y)
			return x < y;
	}
	return a->index < b->index;
}

static void assign_rows(layout_t *l)
{
	int maxl = 0;
	for (size_t i = 0; i < l->n; i++)
		if (l->item[i].layer > maxl)
			maxl = l->item[i].layer;
	l->nlayers = l->n ? maxl + 1 : 0;
	l->rows_max = 0;
	order_t col[WORKFLOW_SVG_MAX_ITEMS];
	for (int layer = 0; layer <= maxl && l->n; layer++) {
		size_t k = 0;
		for (size_t i = 0; i < l->n; i++) {
			if (l->item[i].layer != layer)
				continue;
			order_t o = {.index = (int)i};
			/* Every predecessor is in an earlier column: its row is
			 * known. */
			/* A predecessor's port counts as a fraction of a row,
			 * so the branches of an "if" keep the order of its
			 * ports and do not cross. */
			for (size_t e = 0; e < l->nedges; e++)
				if (l->edge[e].to == (int)i) {
					const edge_t *ed = &l->edge[e];
					int slot = ed->slot < PORTS_MAX ? ed->slot
									: PORTS_MAX - 1;
					o.sum += (long long)l->item[ed->from].row *
							 PORTS_MAX +
						 slot;
					o.count++;
				}
			/* insertion sort: stable and plenty for <= 128 items */
			size_t j = k++;
			while (j > 0 && before(&o, &col[j - 1])) {
				col[j] = col[j - 1];
				j--;
			}
			col[j] = o;
		}
		for (size_t j = 0; j < k; j++)
			l->item[col[j].index].row = (int)j;
		l->per_layer[layer] = (int)k;
		if ((int)k > l->rows_max)
			l->rows_max = (int)k;
	}
}

static int build(const json_t *graph, layout_t *l, size_t cap)
{
	if (!json_is_object(graph))
		return ERR_INVALID;
	l->cap = cap < WORKFLOW_SVG_MAX_ITEMS ? cap : WORKFLOW_SVG_MAX_ITEMS;
	int rc;
	if ((rc = collect(l, json_object_get(graph, "triggers"), true)) ||
	    (rc = collect(l, json_object_get(graph, "nodes"), false)) ||
	    (rc = read_edges(l, json_object_get(graph, "edges"))) ||
	    (rc = assign_layers(l)))
		return rc;
	assign_rows(l);
	return 0;
}

int workflow_svg_layout(const json_t *graph, workflow_svg_item_t *items,
			size_t max, size_t *n)
{
	*n = 0;
	layout_t *l = xcalloc(1, sizeof *l);
	int rc = build(graph, l, max);
	if (rc == 0) {
		memcpy(items, l->item, l->n * sizeof *items);
		*n = l->n;
	}
	free(l);
	return rc;
}

/* ------------------------------------------------------------ text */

/* Decodes one code point of s (n > 0 bytes); a malformed sequence is
 * U+FFFD.  Returns the bytes used. */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned c = s[0];
	size_t len;
	uint32_t v, min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if ((c & 0xe0) == 0xc0) {
		len = 2, v = c & 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3, v = c & 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		len = 4, v = c & 0x07, min = 0x10000;
	} else {
		*cp = 0xfffd;
		return 1;
	}
	if (len > n) {
		*cp = 0xfffd;
		return 1;
	}
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			*cp = 0xfffd;
			return 1;
		}
		v = (v << 6) | (s[i] & 0x3f);
	}
	*cp = v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff) ? 0xfffd
									: v;
	return len;
}

static void put_cp(buf_t *b, uint32_t cp)
{
	char u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (char)cp, n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	(void)!buf_append(b, u, n);
}

/* Appends s (n bytes) as XML text, fit for element content and quoted
 * attributes: markup characters as entities; control characters (which
 * XML 1.0 forbids or a label cannot show) as spaces; bidirectional
 * overrides and non-characters as U+FFFD, so a label cannot reorder the
 * text around it; at most max code points, the last one an ellipsis when
 * s is longer.  Errors are left in b->err. */
static void put_text(buf_t *b, const char *s, size_t n, size_t max)
{
	if (!s)
		return;
	const unsigned char *u = (const unsigned char *)s;
	size_t total = 0;
	uint32_t cp;
	for (size_t i = 0; i < n; i += utf8_next(u + i, n - i, &cp))
		total++;
	size_t limit = total > max ? max - 1 : total, done = 0;
	for (size_t i = 0; i < n && done < limit; done++) {
		i += utf8_next(u + i, n - i, &cp);
		switch (cp) {
		case '&': (void)!buf_puts(b, "&amp;"); continue;
		case '<': (void)!buf_puts(b, "&lt;"); continue;
		case '>': (void)!buf_puts(b, "&gt;"); continue;
		case '"': (void)!buf_puts(b, "&quot;"); continue;
		case '\'': (void)!buf_puts(b, "&#39;"); continue;
		default: break;
		}
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			cp = ' ';
		else if ((cp >= 0x202a && cp <= 0x202e) ||
			 (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e ||
			 cp == 0x200f || cp == 0x061c || cp == 0xfffe ||
			 cp == 0xffff)
			cp = 0xfffd;
		put_cp(b, cp);
	}
	if (total > max)
		(void)!buf_puts(b, "\xe2\x80\xa6"); /* … */
}

static void put_json_text(buf_t *b, const json_t *v, size_t max,
			  const char *fallback)
{
	if (json_is_string(v))
		put_text(b, json_string_value(v), json_string_length(v), max);
	else
		put_text(b, fallback, strlen(fallback), max);
}

/* ------------------------------------------------------------ drawing */

static int x_of(const workflow_svg_item_t *it)
{
	return MARGIN + it->layer * (BOX_W + COL_GAP);
}

static int y_of(const layout_t *l, const workflow_svg_item_t *it)
{
	int pitch = BOX_H + ROW_GAP;
	int offset = (l->rows_max - l->per_layer[it->layer]) * pitch / 2;
	return MARGIN + offset + it->row * pitch;
}

/* Where edge e leaves its source: the node's distinct output ports (in
 * the order edges first use them) are spread around its middle, so the
 * branches of an "if" start apart and their labels do not overlap. */
static int port_dy(const layout_t *l, size_t e)
{
	int n = l->nports[l->edge[e].from];
	if (n > PORTS_MAX)
		n = PORTS_MAX;
	int slot = l->edge[e].slot < n ? l->edge[e].slot : n - 1;
	if (n < 2)
		return 0;
	return (2 * slot - (n - 1)) * PORT_GAP / 2;
}

static bool is_main(const edge_t *e)
{
	return !e->port || (e->port_len == 4 && memcmp(e->port, "main", 4) == 0);
}

static void draw_edges(buf_t *b, const layout_t *l)
{
	buf_puts(b, "<g class=\"wf-edges\" fill=\"none\" stroke=\"#64748b\""
		    " stroke-width=\"1.5\">\n");
	for (size_t e = 0; e < l->nedges; e++) {
		const workflow_svg_item_t *f = &l->item[l->edge[e].from];
		const workflow_svg_item_t *t = &l->item[l->edge[e].to];
		int x1 = x_of(f) + BOX_W, y1 = y_of(l, f) + BOX_H / 2 + port_dy(l, e);
		int x2 = x_of(t), y2 = y_of(l, t) + BOX_H / 2;
		int dx = (x2 - x1) / 2;
		buf_printf(b,
			   "<path d=\"M%d %dC%d %d %d %d %d %d\""
			   " marker-end=\"url(#canopy-wf-arrow)\"/>\n",
			   x1, y1, x1 + dx, y1, x2 - dx, y2, x2 - 2, y2);
	}
	buf_puts(b, "</g>\n");
	/* Port labels after every edge, so no line crosses over one. */
	buf_puts(b, "<g class=\"wf-ports\" font-size=\"11\" fill=\"#475569\">\n");
	for (size_t e = 0; e < l->nedges; e++) {
		if (is_main(&l->edge[e]))
			continue;
		const workflow_svg_item_t *f = &l->item[l->edge[e].from];
		int x1 = x_of(f) + BOX_W, y1 = y_of(l, f) + BOX_H / 2 + port_dy(l, e);
		buf_printf(b, "<text x=\"%d\" y=\"%d\">", x1 + 6, y1 - 4);
		put_text(b, l->edge[e].port, l->edge[e].port_len, PORT_CHARS);
		buf_puts(b, "</text>\n");
	}
	buf_puts(b, "</g>\n");
}

static void draw_items(buf_t *b, const layout_t *l)
{
	buf_puts(b, "<g class=\"wf-items\">\n");
	for (size_t i = 0; i < l->n; i++) {
		const workflow_svg_item_t *it = &l->item[i];
		const json_t *o = l->obj[i];
		const json_t *type = json_object_get(o, "type");
		const json_t *action = json_object_get(o, "action");
		size_t idlen = strlen(it->id);
		buf_printf(b,
			   "<g class=\"wf-item wf-item--%s\""
			   " transform=\"translate(%d %d)\">\n<title>",
			   it->trigger ? "trigger" : "node", x_of(it),
			   y_of(l, it));
		put_text(b, it->id, idlen, TIP_CHARS);
		buf_puts(b, it->trigger ? ": trigger \xc2\xb7 " : ": ");
		put_json_text(b, type, TIP_CHARS, "?");
		if (!it->trigger) {
			buf_puts(b, " \xc2\xb7 ");
			put_json_text(b, action, TIP_CHARS, "?");
		}
		if (it->trigger)
			buf_printf(b,
				   "</title>\n<rect width=\"%d\" height=\"%d\""
				   " rx=\"%d\" fill=\"#ecfdf5\" stroke=\"#059669\""
				   " stroke-width=\"2\"/>\n",
				   BOX_W, BOX_H, BOX_H / 2);
		else
			buf_printf(b,
				   "</title>\n<rect width=\"%d\" height=\"%d\""
				   " rx=\"8\" fill=\"#ffffff\" stroke=\"#94a3b8\""
				   " stroke-width=\"1.5\"/>\n",
				   BOX_W, BOX_H);
		int pad = it->trigger ? 20 : 12;
		buf_printf(b,
			   "<text x=\"%d\" y=\"24\" font-weight=\"600\""
			   " fill=\"#0f172a\">",
			   pad);
		put_text(b, it->id, idlen, ID_CHARS);
		buf_printf(b,
			   "</text>\n<text x=\"%d\" y=\"43\" font-size=\"12\""
			   " fill=\"%s\">",
			   pad, it->trigger ? "#047857" : "#475569");
		if (it->trigger) {
			buf_puts(b, "trigger \xc2\xb7 ");
			put_json_text(b, type, KIND_CHARS - 10, "?");
		} else {
			put_json_text(b, type, KIND_CHARS / 2, "?");
			buf_puts(b, " \xc2\xb7 ");
			put_json_text(b, action, KIND_CHARS / 2, "?");
		}
		buf_puts(b, "</text>\n</g>\n");
	}
	buf_puts(b, "</g>\n");
}

static void draw(buf_t *b, const json_t *graph, const layout_t *l)
{
	int layers = l->nlayers ? l->nlayers : 1, rows = l->rows_max ? l->rows_max : 1;
	int w = 2 * MARGIN + layers * BOX_W + (layers - 1) * COL_GAP;
	int h = 2 * MARGIN + rows * BOX_H + (rows - 1) * ROW_GAP;
	size_t ntrig = 0;
	for (size_t i = 0; i < l->n; i++)
		ntrig += l->item[i].trigger;
	buf_printf(b,
		   "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"wf-diagram\""
		   " viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\""
		   " role=\"img\" font-family=\"system-ui, -apple-system,"
		   " &#39;Segoe UI&#39;, Roboto, sans-serif\" font-size=\"13\">\n"
		   "<title>Diagram of the workflow",
		   w, h, w, h);
	const json_t *name = json_object_get(graph, "name");
	if (json_is_string(name) && json_string_length(name)) {
		buf_puts(b, " \xe2\x80\x9c"); /* “ */
		put_json_text(b, name, NAME_CHARS, "");
		buf_puts(b, "\xe2\x80\x9d"); /* ” */
	}
	buf_printf(b,
		   ": %zu trigger%s, %zu node%s, %zu connection%s</title>\n"
		   "<defs><marker id=\"canopy-wf-arrow\" viewBox=\"0 0 10 10\""
		   " refX=\"8\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\""
		   " orient=\"auto\"><path d=\"M0 0L10 5L0 10z\""
		   " fill=\"#64748b\"/></marker></defs>\n",
		   ntrig, ntrig == 1 ? "" : "s", l->n - ntrig,
		   l->n - ntrig == 1 ? "" : "s", l->nedges,
		   l->nedges == 1 ? "" : "s");
	draw_edges(b, l);
	draw_items(b, l);
	buf_puts(b, "</svg>\n");
}

int workflow_svg_render(const json_t *graph, buf_t *out)
{
	layout_t *l = xcalloc(1, sizeof *l);
	int rc = build(graph, l, WORKFLOW_SVG_MAX_ITEMS);
	if (rc == 0) {
		buf_t b;
		buf_init(&b, NULL, WORKFLOW_SVG_MAX_BYTES);
		draw(&b, graph, l);
		rc = b.err ? b.err : buf_append(out, b.data ? b.data : "", b.len);
		buf_free(&b);
	}
	free(l);
	return rc;
}
