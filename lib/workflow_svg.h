/* workflow_svg: a workflow graph as a read-only SVG diagram.
 *
 * The diagram is computed on the server, so the admin shows it without
 * script and a page's Content-Security-Policy needs nothing new: no
 * script, no style element or attribute (presentation attributes only),
 * no reference outside the document (the one url() names the arrow
 * marker inside it).  Every piece of text taken from the graph is
 * XML-escaped, stripped of control and bidirectional-override
 * characters, and shortened, so a hostile name cannot break out of the
 * markup or make the output grow without bound.
 *
 * Layout (left to right, deterministic for a given graph):
 *   - columns ("layers"): triggers in column 0; a node sits one column
 *     right of its farthest predecessor (longest path from the triggers),
 *     and never left of column 1, so triggers have a column of their own;
 *   - rows: triggers in document order; the items of later columns by the
 *     mean row of their predecessors (a cheap barycenter pass that keeps
 *     a fork's branches next to each other), ties and items without
 *     predecessors in document order;
 *   - columns shorter than the tallest are centred vertically.
 * Triggers are drawn as green pills labelled "trigger · <type>", nodes as
 * boxes labelled "<type> · <action>"; edges are arrows from the right
 * side of their source to the left side of their target, labelled with
 * the source port unless it is "main". */
#ifndef CANOPY_WORKFLOW_SVG_H
#define CANOPY_WORKFLOW_SVG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"

/* Limits: more items (triggers plus nodes) or edges than these is
 * ERR_TOO_LARGE.  They are above what schema/workflow.schema.json allows
 * (10 triggers, 100 nodes, 500 edges), so any valid graph is drawn. */
#define WORKFLOW_SVG_MAX_ITEMS 128
#define WORKFLOW_SVG_MAX_EDGES 512
/* The most bytes a diagram takes; the limits above and the label caps
 * keep even a graph of hostile labels below it. */
#define WORKFLOW_SVG_MAX_BYTES (512u * 1024u)

/* Where the layout puts one trigger or node. */
typedef struct {
	const char *id; /* borrowed from the graph */
	bool trigger;
	int layer;      /* column, 0 for triggers */
	int row;        /* position in its column, from 0 at the top */
} workflow_svg_item_t;

/* Lays out graph: items[0..*n) get the triggers (in order) then the
 * nodes (in order) with their column and row.  max is the room in items
 * (at most WORKFLOW_SVG_MAX_ITEMS are ever written).  Errors:
 * ERR_INVALID for a graph that is not an object with "triggers" and
 * "nodes" arrays of objects with non-empty string ids, duplicate ids, an
 * "edges" value that is not an array (it may be absent), an edge that is
 * not an object naming existing ids in "fromNodeId"/"toNodeId", an edge
 * into a trigger, or a cycle; ERR_TOO_LARGE for more items than max or
 * WORKFLOW_SVG_MAX_ITEMS, or more than WORKFLOW_SVG_MAX_EDGES edges. */
int workflow_svg_layout(const json_t *graph, workflow_svg_item_t *items,
			size_t max, size_t *n) WARN_UNUSED;

/* Appends the diagram of graph to out: one standalone <svg> element
 * (with its xmlns, a viewBox and its pixel size, role="img" and a
 * <title> naming the workflow and counting its parts).  On error out is
 * left as it was.  Errors: workflow_svg_layout's, and ERR_TOO_LARGE
 * when out's cap is reached. */
int workflow_svg_render(const json_t *graph, buf_t *out) WARN_UNUSED;

#endif
