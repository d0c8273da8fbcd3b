#include "mustache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "str.h"

/* Limits.  MAX_DEPTH bounds every recursion of the renderer (sections,
 * partials, parents, blocks), so the C stack stays small whatever the
 * templates and data; compile rejects deeper section nesting up front.
 * MAX_STEPS bounds the work of one render (nodes visited plus section
 * iterations), so mutually recursive partials or a list nested in itself
 * cannot spin for ever without producing output. */
enum {
	MAX_DEPTH = 64,
	MAX_DELIM = 16,
	MAX_FILE = 16 * 1024 * 1024,
	MAX_DIR_DEPTH = 32
};
#define MAX_STEPS ((unsigned long)1 << 24) /* default of max_steps */
#define NONE UINT32_MAX

/* ---------------------------------------------------------------- tokens */

typedef enum {
	T_TEXT,
	T_VAR,      /* {{x}} */
	T_RAW,      /* {{{x}}} {{&x}} */
	T_SECTION,  /* {{#x}} */
	T_INVERTED, /* {{^x}} */
	T_CLOSE,    /* {{/x}} */
	T_COMMENT,  /* {{!x}} */
	T_PARTIAL,  /* {{>x}} */
	T_PARENT,   /* {{<x}} */
	T_BLOCK,    /* {{$x}} */
	T_DELIM     /* {{=a b=}} */
} tok_type_t;

typedef struct {
	uint8_t type;
	bool dynamic;    /* name began with '*' */
	bool drop;       /* whitespace of a standalone line: not output */
	bool standalone; /* tag on a standalone line */
	bool first;      /* first tag of its line, only whitespace before */
	uint32_t line;   /* index into the line table */
	uint32_t match;  /* open tag: its close; close tag: its open */
	str_t s;         /* text, or the tag's trimmed name */
	str_t ind;       /* blocks: indentation decided by the dedent pass */
	size_t off;      /* offset of the tag in the source, for errors */
} tok_t;

typedef struct {
	uint32_t first, last; /* token range, inclusive */
	bool standalone;
} line_t;

/* ---------------------------------------------------------------- nodes */

typedef enum {
	N_TEXT,
	N_INDENT, /* a line start that no other node carries */
	N_VAR,
	N_RAW,
	N_SECTION,
	N_INVERTED,
	N_PARTIAL,
	N_PARENT,
	N_BLOCK
} node_type_t;

enum {
	NF_BOL = 1,        /* a template line starts here: indent first */
	NF_STANDALONE = 2, /* partial/parent/block alone on its line */
	NF_DYNAMIC = 4     /* partial/parent name is looked up in the data */
};

/* A compiled template is a flat array of nodes; a container (section,
 * inverted, parent, block) is followed by its children and records in
 * `end` the index one past its last child, so the tree needs no child
 * arrays and is walked without pointer chasing. */
typedef struct {
	uint8_t type;
	uint8_t flags;
	uint16_t nparts; /* dotted-name parts; 0 is the implicit iterator */
	uint32_t part;   /* first part in tmpl->parts */
	uint32_t end;
	uint32_t hash; /* static partial/parent name */
	str_t s;       /* text, static template name, or block name */
	str_t ind;     /* indentation of a standalone partial/parent/block */
} node_t;

typedef struct {
	char *name;
	size_t namelen;
	uint32_t hash;
	char *src; /* every str_t in nodes and parts points in here */
	node_t *nodes;
	uint32_t nnodes, cnodes;
	str_t *parts;
	uint32_t nparts, cparts;
} tmpl_t;

struct mustache_set {
	tmpl_t **slots; /* open addressing, power-of-two capacity */
	size_t cap;
	size_t count;
	unsigned long max_steps;
};

/* ---------------------------------------------------------------- helpers */

static uint32_t hash_bytes(const char *p, size_t n)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 16777619u;
	}
	return h;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static str_t trim(str_t s)
{
	while (s.len && is_space(s.p[0])) {
		s.p++;
		s.len--;
	}
	while (s.len && is_space(s.p[s.len - 1]))
		s.len--;
	return s;
}

/* Leading spaces and tabs of s. */
static size_t lead_blanks(str_t s)
{
	size_t i = 0;
	while (i < s.len && is_blank(s.p[i]))
		i++;
	return i;
}

/* Whether s is blanks, then optionally "\n" or "\r\n", and nothing else. */
static bool only_blanks_nl(str_t s)
{
	size_t i = lead_blanks(s);
	if (i == s.len)
		return true;
	if (s.p[i] == '\r')
		i++;
	return i + 1 == s.len && s.p[i] == '\n';
}

/* Copies s into dst[cap], cut short if need be (error names are for
 * people; a long path only loses its tail). */
static void copy_cut(char *dst, size_t cap, const char *s)
{
	size_t n = strlen(s);
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

static bool ends_nl(str_t s)
{
	return s.len && s.p[s.len - 1] == '\n';
}

/* ---------------------------------------------------------------- compiler */

typedef struct {
	const char *name;
	const char *src;
	size_t len;
	mustache_error_t *err;
	tok_t *toks;
	uint32_t ntoks, ctoks;
	line_t *lines;
	uint32_t nlines, clines;
	tmpl_t *t;
} compiler_t;

static int fail_at(compiler_t *c, size_t off, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void line_col(const compiler_t *c, size_t off, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && i < c->len; i++) {
		unsigned char ch = (unsigned char)c->src[i];
		if (ch == '\n') {
			++*line;
			*col = 1;
		} else if ((ch & 0xc0) != 0x80) {
			++*col; /* columns count UTF-8 characters, not bytes */
		}
	}
}

static int fail_at(compiler_t *c, size_t off, int code, const char *fmt, ...)
{
	mustache_error_t *e = c->err;
	if (!e)
		return code;
	copy_cut(e->name, sizeof e->name, c->name);
	line_col(c, off, &e->line, &e->column);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof e->message, fmt, ap);
	va_end(ap);
	return code;
}

static tok_t *push_tok(compiler_t *c, uint8_t type)
{
	if (c->ntoks == c->ctoks) {
		c->ctoks = c->ctoks ? c->ctoks * 2 : 64;
		c->toks = xrealloc(c->toks, c->ctoks * sizeof *c->toks);
	}
	tok_t *t = &c->toks[c->ntoks++];
	*t = (tok_t){.type = type, .match = NONE};
	return t;
}

/* Text is split after each newline so that every line starts a token. */
static void push_text(compiler_t *c, const char *p, size_t n)
{
	while (n) {
		const char *nl = memchr(p, '\n', n);
		size_t k = nl ? (size_t)(nl - p) + 1 : n;
		tok_t *t = push_tok(c, T_TEXT);
		t->s = (str_t){p, k};
		t->off = (size_t)(p - c->src);
		p += k;
		n -= k;
	}
}

static bool opens(uint8_t type)
{
	return type == T_SECTION || type == T_INVERTED || type == T_PARENT ||
	       type == T_BLOCK;
}

/* Parses "{{=<% %>=}}"'s inside into the two new delimiters. */
static bool parse_delims(str_t s, char *o, size_t *olen, char *cl, size_t *clen)
{
	s = trim(s);
	size_t i = 0;
	while (i < s.len && !is_space(s.p[i]))
		i++;
	str_t a = {s.p, i};
	str_t b = trim(str_sub(s, i, s.len));
	for (size_t j = 0; j < b.len; j++)
		if (is_space(b.p[j]))
			return false;
	if (!a.len || !b.len || a.len > MAX_DELIM || b.len > MAX_DELIM)
		return false;
	if (memchr(a.p, '=', a.len) || memchr(b.p, '=', b.len))
		return false;
	memcpy(o, a.p, a.len);
	*olen = a.len;
	memcpy(cl, b.p, b.len);
	*clen = b.len;
	return true;
}

static const char *tag_word(uint8_t type)
{
	switch (type) {
	case T_SECTION: return "section";
	case T_INVERTED: return "inverted section";
	case T_PARENT: return "parent";
	case T_BLOCK: return "block";
	default: return "tag";
	}
}

/* Whether close tag t ends open tag o.  A close's leading '*' was taken
 * as a dynamic-name marker; for a section literally named "*x" it is
 * part of the name. */
static bool closes(const tok_t *o, const tok_t *t)
{
	if (o->dynamic == t->dynamic)
		return str_eq(o->s, t->s);
	return !o->dynamic && o->s.len == t->s.len + 1 && o->s.p[0] == '*' &&
	       memcmp(o->s.p + 1, t->s.p, t->s.len) == 0;
}

/* Pass 1: split the source into text and tag tokens, following delimiter
 * changes, and pair every open tag with its close. */
static int tokenize(compiler_t *c)
{
	char otag[MAX_DELIM] = "{{", ctag[MAX_DELIM] = "}}";
	size_t olen = 2, clen = 2;
	uint32_t stack[MAX_DEPTH];
	int depth = 0;
	size_t pos = 0;
	const char *src = c->src;
	size_t n = c->len;

	while (pos < n) {
		const char *q = memmem(src + pos, n - pos, otag, olen);
		size_t tstart = q ? (size_t)(q - src) : n;
		push_text(c, src + pos, tstart - pos);
		if (!q)
			break;
		size_t p = tstart + olen;
		char close[MAX_DELIM + 1];
		size_t closelen = clen;
		memcpy(close, ctag, clen);
		uint8_t type = T_VAR;
		if (p < n && src[p] == '{') {
			/* triple mustache: {{{x}}} closes with "}" + ctag */
			type = T_RAW;
			p++;
			close[0] = '}';
			memcpy(close + 1, ctag, clen);
			closelen = clen + 1;
		} else {
			while (p < n && is_space(src[p]))
				p++;
			char sig = p < n ? src[p] : '\0';
			switch (sig) {
			case '&': type = T_RAW; break;
			case '#': type = T_SECTION; break;
			case '^': type = T_INVERTED; break;
			case '/': type = T_CLOSE; break;
			case '!': type = T_COMMENT; break;
			case '>': type = T_PARTIAL; break;
			case '<': type = T_PARENT; break;
			case '$': type = T_BLOCK; break;
			case '=': type = T_DELIM; break;
			default: break;
			}
			if (type != T_VAR)
				p++;
			if (type == T_DELIM) {
				close[0] = '=';
				memcpy(close + 1, ctag, clen);
				closelen = clen + 1;
			}
		}
		const char *e = p <= n ? memmem(src + p, n - p, close, closelen)
				       : NULL;
		if (!e)
			return fail_at(c, tstart, ERR_INVALID,
				       "unclosed tag: expected '%.*s'",
				       (int)closelen, close);
		str_t body = {src + p, (size_t)(e - (src + p))};
		pos = (size_t)(e - src) + closelen;

		if (type == T_DELIM) {
			if (!parse_delims(body, otag, &olen, ctag, &clen))
				return fail_at(c, tstart, ERR_INVALID,
					       "invalid delimiter change: "
					       "expected two delimiters "
					       "without '=' or spaces");
		}
		tok_t *t = push_tok(c, type);
		t->off = tstart;
		if (type == T_COMMENT || type == T_DELIM)
			continue;

		str_t name = trim(body);
		if ((type == T_PARTIAL || type == T_PARENT || type == T_CLOSE) &&
		    name.len && name.p[0] == '*') {
			t->dynamic = true;
			name = trim(str_sub(name, 1, name.len));
		}
		if (!name.len)
			return fail_at(c, tstart, ERR_INVALID, "empty tag name");
		for (size_t i = 0; i < name.len; i++)
			if (is_space(name.p[i]))
				return fail_at(c, tstart, ERR_INVALID,
					       "tag name '%.*s' contains "
					       "white space",
					       (int)(name.len > 40 ? 40 : name.len),
					       name.p);
		t->s = name;

		uint32_t idx = c->ntoks - 1;
		if (opens(type)) {
			if (depth == MAX_DEPTH)
				return fail_at(c, tstart, ERR_INVALID,
					       "sections nested deeper than %d",
					       MAX_DEPTH);
			stack[depth++] = idx;
		} else if (type == T_CLOSE) {
			if (!depth)
				return fail_at(c, tstart, ERR_INVALID,
					       "closing tag '%.*s' without an "
					       "open section",
					       (int)(name.len > 40 ? 40 : name.len),
					       name.p);
			tok_t *o = &c->toks[stack[depth - 1]];
			if (!closes(o, t)) {
				char what[64];
				snprintf(what, sizeof what, "%.*s",
					 (int)(o->s.len > 40 ? 40 : o->s.len),
					 o->s.p);
				int oline, ocol;
				line_col(c, o->off, &oline, &ocol);
				return fail_at(c, tstart, ERR_INVALID,
					       "closing tag '%.*s' does not "
					       "match %s '%s' opened on line "
					       "%d",
					       (int)(name.len > 40 ? 40 : name.len),
					       name.p, tag_word(o->type), what,
					       oline);
			}
			o->match = idx;
			t->match = stack[--depth];
		}
	}
	if (depth) {
		tok_t *o = &c->toks[stack[depth - 1]];
		return fail_at(c, o->off, ERR_INVALID, "unclosed %s '%.*s'",
			       tag_word(o->type),
			       (int)(o->s.len > 40 ? 40 : o->s.len), o->s.p);
	}
	return 0;
}

static bool standalone_able(uint8_t type)
{
	return type != T_TEXT && type != T_VAR && type != T_RAW;
}

/* A tag that may share a standalone line with others of its kind:
 * "{{<parent}}{{$block}}" and "{{/block}}{{/parent}}" (inheritance
 * spec, "need not be on separate lines in order to be standalone"). */
static bool inherit_tag(const compiler_t *c, const tok_t *t)
{
	if (t->type == T_PARENT || t->type == T_BLOCK)
		return true;
	if (t->type == T_CLOSE && t->match != NONE) {
		uint8_t o = c->toks[t->match].type;
		return o == T_PARENT || o == T_BLOCK;
	}
	return false;
}

/* Pass 2: find the lines and decide which are standalone. */
static void mark_lines(compiler_t *c)
{
	uint32_t i = 0;
	while (i < c->ntoks) {
		uint32_t b = i;
		while (b + 1 < c->ntoks &&
		       !(c->toks[b].type == T_TEXT && ends_nl(c->toks[b].s)))
			b++;
		if (c->nlines == c->clines) {
			c->clines = c->clines ? c->clines * 2 : 32;
			c->lines = xrealloc(c->lines,
					    c->clines * sizeof *c->lines);
		}
		uint32_t li = c->nlines++;
		line_t *ln = &c->lines[li];
		*ln = (line_t){.first = i, .last = b};

		unsigned ntags = 0, ninherit = 0;
		bool ok = true;
		uint32_t first_tag = NONE;
		for (uint32_t k = i; k <= b; k++) {
			tok_t *t = &c->toks[k];
			t->line = li;
			if (t->type == T_TEXT) {
				if (!only_blanks_nl(t->s) ||
				    (k != b && ends_nl(t->s)))
					ok = false;
				continue;
			}
			if (first_tag == NONE)
				first_tag = k;
			ntags++;
			if (!standalone_able(t->type))
				ok = false;
			if (inherit_tag(c, t))
				ninherit++;
		}
		if (ok && ntags && (ntags == 1 || ninherit == ntags)) {
			ln->standalone = true;
			for (uint32_t k = i; k <= b; k++) {
				tok_t *t = &c->toks[k];
				if (t->type == T_TEXT) {
					t->drop = true;
				} else {
					t->standalone = true;
					t->first = k == first_tag;
				}
			}
			/* "  {{$b}}{{/b}}\n": the block stands alone and takes
			 * the indentation, but the newline stays, as the
			 * spec's "Standalone block" case expects: the content
			 * put in its place need not end with a newline. */
			tok_t *last = &c->toks[b];
			if (ntags == 2 && c->toks[first_tag].type == T_BLOCK &&
			    c->toks[first_tag].match != NONE &&
			    c->toks[first_tag].match <= b &&
			    last->type == T_TEXT && ends_nl(last->s)) {
				size_t k = last->s.len - 1;
				if (k && last->s.p[k - 1] == '\r')
					k--;
				last->s = str_sub(last->s, k, last->s.len);
				last->drop = false;
			}
		}
		i = b + 1;
	}
}

/* The text token that holds the leading whitespace of t's line, if t is
 * the first tag on it. */
static str_t lead_ws(const compiler_t *c, const tok_t *t)
{
	if (!t->first)
		return STR_NULL;
	const tok_t *f = &c->toks[c->lines[t->line].first];
	if (f == t || f->type != T_TEXT)
		return STR_NULL;
	return str_sub(f->s, 0, lead_blanks(f->s));
}

/* Pass 3: a standalone block's content is dedented by its common leading
 * whitespace, which becomes the block's indentation (re-applied where the
 * block, or an override of it, is rendered).  Outer blocks are handled
 * before inner ones, so an inner block measures its lines after the
 * outer dedent, as textual dedenting would. */
static void dedent_blocks(compiler_t *c)
{
	for (uint32_t i = 0; i < c->ntoks; i++) {
		tok_t *b = &c->toks[i];
		if (b->type != T_BLOCK || !b->standalone || b->match == NONE)
			continue;
		tok_t *cl = &c->toks[b->match];
		str_t d = STR_NULL;
		bool have = false;
		if (cl->line != b->line) {
			uint32_t l0 = b->line + 1;
			uint32_t l1 = cl->standalone ? cl->line : cl->line + 1;
			for (uint32_t l = l0; l < l1; l++) {
				uint32_t f = c->lines[l].first;
				uint32_t last = c->lines[l].last;
				if (last >= b->match)
					last = b->match - 1;
				if (f > last)
					continue;
				bool blank = true;
				for (uint32_t k = f; k <= last; k++)
					if (c->toks[k].type != T_TEXT ||
					    !only_blanks_nl(c->toks[k].s))
						blank = false;
				if (blank)
					continue;
				str_t ws = STR_NULL;
				if (c->toks[f].type == T_TEXT)
					ws = str_sub(c->toks[f].s, 0,
						     lead_blanks(c->toks[f].s));
				if (!have) {
					d = ws;
					have = true;
				} else {
					size_t k = 0;
					while (k < d.len && k < ws.len &&
					       d.p[k] == ws.p[k])
						k++;
					d.len = k;
				}
			}
			for (uint32_t l = l0; d.len && l < l1; l++) {
				tok_t *f = &c->toks[c->lines[l].first];
				if (f->type != T_TEXT || f == cl)
					continue;
				size_t k = lead_blanks(f->s);
				if (k > d.len)
					k = d.len;
				f->s = str_sub(f->s, k, f->s.len);
			}
		}
		b->ind = d.len ? d : lead_ws(c, b);
	}
}

static node_t *push_node(compiler_t *c, uint8_t type)
{
	tmpl_t *t = c->t;
	if (t->nnodes == t->cnodes) {
		t->cnodes = t->cnodes ? t->cnodes * 2 : 32;
		t->nodes = xrealloc(t->nodes, t->cnodes * sizeof *t->nodes);
	}
	node_t *n = &t->nodes[t->nnodes++];
	*n = (node_t){.type = type, .end = t->nnodes};
	return n;
}

/* Splits a dotted name into parts ("." alone is the implicit iterator). */
static int add_name(compiler_t *c, node_t *n, const tok_t *tok)
{
	tmpl_t *t = c->t;
	str_t s = tok->s;
	n->part = t->nparts;
	n->nparts = 0;
	if (s.len == 1 && s.p[0] == '.')
		return 0;
	for (;;) {
		str_t head;
		str_t rest = str_cut(s, '.', &head);
		if (!head.len)
			return fail_at(c, tok->off, ERR_INVALID,
				       "bad dotted name '%.*s'",
				       (int)(tok->s.len > 40 ? 40 : tok->s.len),
				       tok->s.p);
		if (n->nparts == UINT16_MAX)
			return fail_at(c, tok->off, ERR_INVALID,
				       "dotted name too long");
		if (t->nparts == t->cparts) {
			t->cparts = t->cparts ? t->cparts * 2 : 16;
			t->parts = xrealloc(t->parts,
					    t->cparts * sizeof *t->parts);
		}
		t->parts[t->nparts++] = head;
		n->nparts++;
		if (!rest.p)
			return 0;
		s = rest;
		if (!s.len)
			return fail_at(c, tok->off, ERR_INVALID,
				       "bad dotted name '%.*s'",
				       (int)(tok->s.len > 40 ? 40 : tok->s.len),
				       tok->s.p);
	}
}

enum { MODE_ALL, MODE_BLOCKS, MODE_NONE };

/* Pass 4: emit the node array.  Inside a parent tag only block tags
 * matter (other text and tags there are ignored, per the spec). */
static int build(compiler_t *c)
{
	struct {
		uint32_t node;
		uint8_t mode;
	} stack[MAX_DEPTH + 1];
	int sp = 0;
	stack[0].mode = MODE_ALL;
	stack[0].node = NONE;
	bool bol = false; /* a line start not yet given to a node */

	for (uint32_t i = 0; i < c->ntoks; i++) {
		tok_t *tk = &c->toks[i];
		uint8_t mode = stack[sp].mode;
		line_t *ln = &c->lines[tk->line];
		if (i == ln->first) {
			bool blank = true;
			for (uint32_t k = ln->first; k <= ln->last; k++)
				if (c->toks[k].type != T_TEXT ||
				    !only_blanks_nl(c->toks[k].s))
					blank = false;
			bol = mode == MODE_ALL && !ln->standalone && !blank;
		}
		if (mode != MODE_ALL) {
			if (opens(tk->type)) {
				uint8_t m = MODE_NONE;
				uint32_t node = NONE;
				if (mode == MODE_BLOCKS && tk->type == T_BLOCK) {
					node_t *n = push_node(c, N_BLOCK);
					n->s = tk->s;
					if (tk->standalone)
						n->flags |= NF_STANDALONE;
					n->ind = tk->ind;
					node = c->t->nnodes - 1;
					m = MODE_ALL;
				}
				stack[++sp].mode = m;
				stack[sp].node = node;
			} else if (tk->type == T_CLOSE) {
				if (stack[sp].node != NONE)
					c->t->nodes[stack[sp].node].end =
						c->t->nnodes;
				sp--;
			}
			continue;
		}
		if (tk->type == T_CLOSE) {
			if (bol) {
				push_node(c, N_INDENT);
				bol = false;
			}
			c->t->nodes[stack[sp].node].end = c->t->nnodes;
			sp--;
			continue;
		}
		if (tk->type == T_COMMENT || tk->type == T_DELIM)
			continue;
		if (tk->type == T_TEXT && (tk->drop || !tk->s.len))
			continue;

		static const uint8_t ntype[] = {
			[T_TEXT] = N_TEXT,	   [T_VAR] = N_VAR,
			[T_RAW] = N_RAW,	   [T_SECTION] = N_SECTION,
			[T_INVERTED] = N_INVERTED, [T_PARTIAL] = N_PARTIAL,
			[T_PARENT] = N_PARENT,	   [T_BLOCK] = N_BLOCK,
		};
		node_t *n = push_node(c, ntype[tk->type]);
		uint32_t idx = c->t->nnodes - 1;
		if (bol) {
			n->flags |= NF_BOL;
			bol = false;
		}
		if (tk->standalone)
			n->flags |= NF_STANDALONE;
		switch (tk->type) {
		case T_TEXT:
			n->s = tk->s;
			break;
		case T_VAR:
		case T_RAW:
		case T_SECTION:
		case T_INVERTED: {
			int rc = add_name(c, n, tk);
			if (rc)
				return rc;
			break;
		}
		case T_PARTIAL:
		case T_PARENT:
			if (tk->dynamic) {
				n->flags |= NF_DYNAMIC;
				int rc = add_name(c, n, tk);
				if (rc)
					return rc;
			} else {
				n->s = tk->s;
				n->hash = hash_bytes(tk->s.p, tk->s.len);
			}
			if (tk->standalone)
				n->ind = lead_ws(c, tk);
			break;
		case T_BLOCK:
			n->s = tk->s;
			n->ind = tk->ind;
			break;
		default:
			break;
		}
		if (opens(tk->type)) {
			stack[++sp].node = idx;
			stack[sp].mode = tk->type == T_PARENT ? MODE_BLOCKS
							      : MODE_ALL;
		}
	}
	return 0;
}

static void tmpl_free(tmpl_t *t)
{
	if (!t)
		return;
	free(t->name);
	free(t->src);
	free(t->nodes);
	free(t->parts);
	free(t);
}

static int compile(const char *name, const char *src, size_t len,
		   mustache_error_t *err, tmpl_t **out)
{
	tmpl_t *t = xcalloc(1, sizeof *t);
	t->name = xstrdup(name);
	t->namelen = strlen(name);
	t->hash = hash_bytes(name, t->namelen);
	t->src = xmalloc(len + 1);
	if (len)
		memcpy(t->src, src, len);
	t->src[len] = '\0';
	compiler_t c = {.name = name, .src = t->src, .len = len, .err = err,
			.t = t};
	int rc = 0;
	if (len >= UINT32_MAX / 4)
		rc = fail_at(&c, 0, ERR_TOO_LARGE, "template too large");
	if (!rc)
		rc = tokenize(&c);
	if (!rc) {
		mark_lines(&c);
		dedent_blocks(&c);
		rc = build(&c);
	}
	free(c.toks);
	free(c.lines);
	if (rc) {
		tmpl_free(t);
		return rc;
	}
	*out = t;
	return 0;
}

/* ---------------------------------------------------------------- set */

mustache_set_t *mustache_set_new(void)
{
	mustache_set_t *s = xcalloc(1, sizeof *s);
	s->cap = 16;
	s->slots = xcalloc(s->cap, sizeof *s->slots);
	s->max_steps = MAX_STEPS;
	return s;
}

void mustache_set_free(mustache_set_t *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->cap; i++)
		tmpl_free(set->slots[i]);
	free(set->slots);
	free(set);
}

static tmpl_t *find(const mustache_set_t *set, const char *name, size_t len,
		    uint32_t h)
{
	size_t mask = set->cap - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		tmpl_t *t = set->slots[i];
		if (!t)
			return NULL;
		if (t->hash == h && t->namelen == len &&
		    memcmp(t->name, name, len) == 0)
			return t;
	}
}

static void insert(mustache_set_t *set, tmpl_t *t)
{
	size_t mask = set->cap - 1;
	for (size_t i = t->hash & mask;; i = (i + 1) & mask) {
		tmpl_t *o = set->slots[i];
		if (!o) {
			set->slots[i] = t;
			set->count++;
			return;
		}
		if (o->hash == t->hash && strcmp(o->name, t->name) == 0) {
			tmpl_free(o);
			set->slots[i] = t;
			return;
		}
	}
}

int mustache_set_add(mustache_set_t *set, const char *name, const char *src,
		     size_t len, mustache_error_t *err)
{
	tmpl_t *t;
	int rc = compile(name, src, len, err, &t);
	if (rc)
		return rc;
	if ((set->count + 1) * 2 > set->cap) {
		tmpl_t **old = set->slots;
		size_t ocap = set->cap;
		set->cap *= 2;
		set->slots = xcalloc(set->cap, sizeof *set->slots);
		set->count = 0;
		for (size_t i = 0; i < ocap; i++)
			if (old[i])
				insert(set, old[i]);
		free(old);
	}
	insert(set, t);
	return 0;
}

void mustache_set_max_steps(mustache_set_t *set, unsigned long steps)
{
	set->max_steps = steps ? steps : MAX_STEPS;
}

bool mustache_set_has(const mustache_set_t *set, const char *name)
{
	size_t len = strlen(name);
	return find(set, name, len, hash_bytes(name, len)) != NULL;
}

static int load_error(mustache_error_t *err, const char *path, int code,
		      const char *what)
{
	if (err) {
		copy_cut(err->name, sizeof err->name, path);
		err->line = 0;
		err->column = 0;
		snprintf(err->message, sizeof err->message, "%s: %s", what,
			 strerror(errno));
	}
	return code;
}

static int load_file(mustache_set_t *set, const char *path, const char *name,
		     mustache_error_t *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return load_error(err, path, ERR_NOT_FOUND, "cannot open");
	struct stat st;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return load_error(err, path, ERR_INTERNAL, "cannot stat");
	}
	if (st.st_size > MAX_FILE) {
		close(fd);
		errno = EFBIG;
		return load_error(err, path, ERR_TOO_LARGE, "template file");
	}
	size_t size = (size_t)st.st_size, got = 0;
	char *buf = xmalloc(size + 1);
	while (got < size) {
		ssize_t r = read(fd, buf + got, size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (got != size) {
		free(buf);
		return load_error(err, path, ERR_INTERNAL, "cannot read");
	}
	int rc = mustache_set_add(set, name, buf, size, err);
	free(buf);
	return rc;
}

static int skip_dot(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* dir/rel is walked; rel is "" at the top. */
static int load_tree(mustache_set_t *set, const char *dir, const char *rel,
		     int depth, mustache_error_t *err)
{
	char path[PATH_MAX];
	int n = snprintf(path, sizeof path, "%s%s%s", dir, *rel ? "/" : "",
			 rel);
	if (n < 0 || (size_t)n >= sizeof path) {
		errno = ENAMETOOLONG;
		return load_error(err, rel, ERR_INVALID, "path");
	}
	struct dirent **ents;
	int count = scandir(path, &ents, skip_dot, alphasort);
	if (count < 0)
		return load_error(err, path, ERR_NOT_FOUND, "cannot read dir");
	int rc = 0;
	for (int i = 0; i < count && !rc; i++) {
		const char *base = ents[i]->d_name;
		char sub[PATH_MAX], full[PATH_MAX];
		int a = snprintf(sub, sizeof sub, "%s%s%s", rel,
				 *rel ? "/" : "", base);
		int b = snprintf(full, sizeof full, "%s/%s", path, base);
		if (a < 0 || b < 0 || (size_t)a >= sizeof sub ||
		    (size_t)b >= sizeof full) {
			errno = ENAMETOOLONG;
			rc = load_error(err, base, ERR_INVALID, "path");
			break;
		}
		struct stat st;
		if (stat(full, &st) < 0)
			continue; /* a dangling link is not a template */
		if (S_ISDIR(st.st_mode)) {
			if (depth >= MAX_DIR_DEPTH) {
				errno = ELOOP;
				rc = load_error(err, full, ERR_INVALID,
						"directories nested too deep");
			} else {
				rc = load_tree(set, dir, sub, depth + 1, err);
			}
			continue;
		}
		static const char ext[] = ".mustache";
		size_t len = strlen(sub), elen = sizeof ext - 1;
		if (!S_ISREG(st.st_mode) || len <= elen ||
		    strcmp(sub + len - elen, ext) != 0)
			continue;
		sub[len - elen] = '\0';
		rc = load_file(set, full, sub, err);
	}
	for (int i = 0; i < count; i++)
		free(ents[i]);
	free(ents);
	return rc;
}

int mustache_set_load_dir(mustache_set_t *set, const char *dir,
			  mustache_error_t *err)
{
	return load_tree(set, dir, "", 0, err);
}

/* ---------------------------------------------------------------- render */

/* The context stack, the indentation chain and the chain of parent tags
 * whose blocks override are all linked lists living in the renderer's C
 * stack frames: a render allocates nothing but output. */
typedef struct ctx {
	const void *v;
	const struct ctx *up;
} ctx_t;

typedef struct ind {
	str_t s;
	const struct ind *up;
} ind_t;

typedef struct ovr {
	const tmpl_t *t;
	const node_t *parent; /* its children are the overriding blocks */
	const struct ovr *up;
} ovr_t;

typedef struct {
	const mustache_set_t *set;
	const mustache_data_t *d;
	buf_t *out;
	int depth;
	unsigned long steps;
} rstate_t;

static const void *lookup(const rstate_t *r, const tmpl_t *t,
			  const node_t *n, const ctx_t *c)
{
	if (!n->nparts)
		return c ? c->v : NULL;
	const str_t *parts = &t->parts[n->part];
	const mustache_data_t *d = r->d;
	const void *v = NULL;
	for (; c && !v; c = c->up)
		if (c->v && d->kind(c->v) == MUSTACHE_MAP)
			v = d->get(c->v, parts[0].p, parts[0].len);
	for (unsigned i = 1; v && i < n->nparts; i++)
		v = d->kind(v) == MUSTACHE_MAP
			    ? d->get(v, parts[i].p, parts[i].len)
			    : NULL;
	return v;
}

static bool truthy(const mustache_data_t *d, const void *v)
{
	if (!v)
		return false;
	switch (d->kind(v)) {
	case MUSTACHE_NULL: return false;
	case MUSTACHE_LIST: return d->list_len(v) > 0;
	case MUSTACHE_MAP: return true;
	default: return d->truthy(v);
	}
}

static const char *html_entity(char ch)
{
	switch (ch) {
	case '&': return "&amp;";
	case '<': return "&lt;";
	case '>': return "&gt;";
	case '"': return "&quot;";
	case '\'': return "&#39;";
	case '`': return "&#96;";
	case '=': return "&#61;";
	default: return NULL;
	}
}

/* Escapes out[from..len) in place (the same set as buf_put_html): the
 * buffer is grown by the extra bytes, then the text is rewritten from
 * the end, so no scratch copy is needed. */
static int escape_tail(buf_t *out, size_t from)
{
	size_t extra = 0;
	for (size_t i = from; i < out->len; i++) {
		const char *e = html_entity(out->data[i]);
		if (e)
			extra += strlen(e) - 1;
	}
	if (!extra)
		return 0;
	static const char pad[64];
	size_t oldlen = out->len;
	for (size_t left = extra; left;) {
		size_t k = left < sizeof pad ? left : sizeof pad;
		int rc = buf_append(out, pad, k);
		if (rc)
			return rc;
		left -= k;
	}
	char *d = out->data;
	size_t w = out->len;
	for (size_t i = oldlen; i-- > from;) {
		const char *e = html_entity(d[i]);
		if (!e) {
			d[--w] = d[i];
			continue;
		}
		size_t el = strlen(e);
		w -= el;
		memcpy(d + w, e, el);
	}
	return 0;
}

static int put_indent(buf_t *out, const ind_t *ind)
{
	if (!ind)
		return 0;
	int rc = put_indent(out, ind->up);
	return rc ? rc : buf_append(out, ind->s.p, ind->s.len);
}

/* The template a partial or parent node names, or NULL. */
static const tmpl_t *target(const rstate_t *r, const tmpl_t *t,
			    const node_t *n, const ctx_t *c)
{
	if (!(n->flags & NF_DYNAMIC))
		return find(r->set, n->s.p, n->s.len, n->hash);
	const void *v = lookup(r, t, n, c);
	if (!v || r->d->kind(v) != MUSTACHE_STRING)
		return NULL;
	/* The name is formatted at the end of the output buffer and taken
	 * back off again: no scratch allocation per lookup. */
	buf_t *out = r->out;
	size_t mark = out->len;
	int err0 = out->err;
	const tmpl_t *found = NULL;
	if (r->d->append_text(v, out) == 0 && out->data)
		found = find(r->set, out->data + mark, out->len - mark,
			     hash_bytes(out->data + mark, out->len - mark));
	out->len = mark;
	out->err = err0;
	if (out->data)
		out->data[mark] = '\0';
	return found;
}

static int render(rstate_t *r, const tmpl_t *t, uint32_t i, uint32_t end,
		  const ctx_t *c, const ind_t *ind, const ovr_t *ov);

static int render_block(rstate_t *r, const tmpl_t *t, const node_t *n,
			const ctx_t *c, const ind_t *ind, const ovr_t *ov)
{
	/* The outermost override wins ("top-level substitutions take
	 * precedence"), so walk the whole chain and keep the last match. */
	const tmpl_t *bt = t;
	const node_t *bn = n;
	const ovr_t *bov = ov;
	bool over = false;
	for (const ovr_t *o = ov; o; o = o->up) {
		const node_t *nodes = o->t->nodes;
		uint32_t k = (uint32_t)(o->parent - nodes) + 1;
		while (k < o->parent->end) {
			const node_t *b = &nodes[k];
			if (b->type == N_BLOCK && str_eq(b->s, n->s)) {
				bt = o->t;
				bn = b;
				bov = o->up;
				over = true;
			}
			k = b->end > k ? b->end : k + 1;
		}
	}
	ind_t here;
	const ind_t *bind = over ? NULL : ind;
	if (n->flags & NF_STANDALONE) {
		here = (ind_t){n->ind, ind};
		bind = n->ind.len ? &here : ind;
	}
	uint32_t first = (uint32_t)(bn - bt->nodes) + 1;
	/* Content that starts right after an inline open tag has no line
	 * start of its own: where it lands on a standalone site, its first
	 * line is indented here. */
	const node_t *f = first < bn->end ? &bt->nodes[first] : NULL;
	if (bind && (n->flags & NF_STANDALONE) &&
	    !(bn->flags & NF_STANDALONE) && f &&
	    !(f->type == N_TEXT && only_blanks_nl(f->s))) {
		int rc = put_indent(r->out, bind);
		if (rc)
			return rc;
	}
	return render(r, bt, first, bn->end, c, bind, bov);
}

static int render(rstate_t *r, const tmpl_t *t, uint32_t i, uint32_t end,
		  const ctx_t *c, const ind_t *ind, const ovr_t *ov)
{
	if (++r->depth > MAX_DEPTH) {
		r->depth--;
		return ERR_TOO_LARGE;
	}
	const mustache_data_t *d = r->d;
	buf_t *out = r->out;
	int rc = 0;
	while (i < end && !rc) {
		const node_t *n = &t->nodes[i];
		if (++r->steps > r->set->max_steps) {
			rc = ERR_TOO_LARGE;
			break;
		}
		if ((n->flags & NF_BOL) && ind) {
			rc = put_indent(out, ind);
			if (rc)
				break;
		}
		switch (n->type) {
		case N_TEXT:
			rc = buf_append(out, n->s.p, n->s.len);
			i++;
			break;
		case N_INDENT:
			i++;
			break;
		case N_VAR:
		case N_RAW: {
			const void *v = lookup(r, t, n, c);
			i++;
			if (!v)
				break;
			mustache_kind_t k = d->kind(v);
			if (k == MUSTACHE_NULL || k == MUSTACHE_LIST ||
			    k == MUSTACHE_MAP)
				break;
			size_t mark = out->len;
			rc = d->append_text(v, out);
			if (!rc && n->type == N_VAR)
				rc = escape_tail(out, mark);
			break;
		}
		case N_SECTION: {
			const void *v = lookup(r, t, n, c);
			if (v && d->kind(v) == MUSTACHE_LIST) {
				size_t len = d->list_len(v);
				for (size_t k = 0; k < len && !rc; k++) {
					ctx_t top = {d->list_at(v, k), c};
					if (++r->steps > r->set->max_steps)
						rc = ERR_TOO_LARGE;
					else
						rc = render(r, t, i + 1, n->end,
							    &top, ind, ov);
				}
			} else if (truthy(d, v)) {
				ctx_t top = {v, c};
				rc = render(r, t, i + 1, n->end, &top, ind, ov);
			}
			i = n->end;
			break;
		}
		case N_INVERTED:
			if (!truthy(d, lookup(r, t, n, c)))
				rc = render(r, t, i + 1, n->end, c, ind, ov);
			i = n->end;
			break;
		case N_PARTIAL:
		case N_PARENT: {
			const tmpl_t *p = target(r, t, n, c);
			uint32_t next = n->type == N_PARENT ? n->end : i + 1;
			if (p) {
				/* Indentation carries into a standalone
				 * partial; elsewhere its lines start flush. */
				ind_t here = {n->ind, ind};
				const ind_t *pind = NULL;
				if (n->flags & NF_STANDALONE)
					pind = n->ind.len ? &here : ind;
				ovr_t frame = {t, n, ov};
				rc = render(r, p, 0, p->nnodes, c, pind,
					    n->type == N_PARENT ? &frame : ov);
			}
			i = next;
			break;
		}
		case N_BLOCK:
			rc = render_block(r, t, n, c, ind, ov);
			i = n->end;
			break;
		default:
			i++;
			break;
		}
	}
	r->depth--;
	return rc;
}

int mustache_render(const mustache_set_t *set, const char *name,
		    const mustache_data_t *data, const void *root, buf_t *out)
{
	size_t len = strlen(name);
	const tmpl_t *t = find(set, name, len, hash_bytes(name, len));
	if (!t)
		return ERR_NOT_FOUND;
	/* depth counts nesting below the template itself */
	rstate_t r = {.set = set, .d = data, .out = out, .depth = -1};
	ctx_t top = {root, NULL};
	size_t mark = out->len;
	int rc = render(&r, t, 0, t->nnodes, root ? &top : NULL, NULL, NULL);
	if (rc) {
		/* No half page: the output is put back as it was. */
		out->len = mark;
		if (out->data)
			out->data[mark] = '\0';
	}
	return rc;
}
