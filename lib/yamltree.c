/* SPDX-License-Identifier: ISC */
/*
 * yamltree.c: libyaml's event parser, driven by one function
 * (ytree_parse), turned into a small tree of our own (struct ynode) while
 * the nesting, node and anchor limits of the caller are enforced, so a
 * hostile file cannot make us recurse, loop or expand without bound.
 * Also the helpers every schema walk over such a tree shares, and the one
 * edit distance behind every "did you mean" of hookd.  This module never
 * logs and never exits.
 */
#include "compat.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "quote.h"
#include "xalloc.h"
#include "yamltree.h"

#include "banned.h"

#define SUGGEST_MAX	3	/* edits a typo may differ by */

/*
 * The events of one parse, turned into nodes.  'all' owns every node;
 * an alias is a second pointer to its anchor's node, never a copy.
 */
struct ytree {
	struct ynode	**all;
	size_t		 nall;
	size_t		 capall;
	struct ynode	*stack[YTREE_DEPTH_MAX];
	size_t		 depth;
	struct {
		char		*name;
		struct ynode	*node;
	}		 anchors[YTREE_ANCHORS_MAX];
	size_t		 nanchors;
	struct ynode	*root;
	size_t		 weight;	/* nodes so far, aliases expanded */
	int		 ndocs;
	const struct ytree_opts *o;
	ytree_errfn	 errfn;
	void		*arg;
};

static void HOOKD_PRINTF(4, 5)
yt_err(struct ytree *t, unsigned long line, unsigned long col,
    const char *fmt, ...)
{
	char	 what[512];
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	t->errfn(t->arg, line, col, what);
}

static struct ynode *
yt_new(struct ytree *t, enum ynode_type type, const yaml_mark_t *m)
{
	struct ynode	*n = xcalloc(1, sizeof(*n));

	n->type = type;
	n->line = m->line + 1;
	n->col = m->column + 1;
	if (t->nall == t->capall) {
		t->capall = t->capall == 0 ? 64 : t->capall * 2;
		t->all = xreallocarray(t->all, t->capall, sizeof(*t->all));
	}
	t->all[t->nall++] = n;
	t->weight++;
	return n;
}

/* Free the tree, its nodes and its anchors' names; NULL is fine. */
void
ytree_free(struct ytree *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nall; i++) {
		free(t->all[i]->value);
		free(t->all[i]->kids);
		free(t->all[i]);
	}
	free(t->all);
	for (size_t i = 0; i < t->nanchors; i++)
		free(t->anchors[i].name);
	free(t);
}

/* Returns the root node (borrowed), or NULL for an empty document. */
const struct ynode *
ytree_root(const struct ytree *t)
{
	return t->root;
}

static void
yt_attach(struct ytree *t, struct ynode *n)
{
	struct ynode	*top;

	if (t->depth == 0) {
		t->root = n;
		return;
	}
	top = t->stack[t->depth - 1];
	/* Room doubles whenever the count reaches a power of two. */
	if ((top->nkids & (top->nkids - 1)) == 0)
		top->kids = xreallocarray(top->kids, top->nkids == 0 ? 2 :
		    top->nkids * 2, sizeof(*top->kids));
	top->kids[top->nkids++] = n;
}

static int
yt_anchor(struct ytree *t, const unsigned char *anchor, struct ynode *n)
{
	if (anchor == NULL)
		return 0;
	if (t->nanchors == t->o->anchors_max) {
		yt_err(t, n->line, n->col, "more than %zu anchors",
		    t->o->anchors_max);
		return -1;
	}
	t->anchors[t->nanchors].name = xstrdup((const char *)anchor);
	t->anchors[t->nanchors++].node = n;
	return 0;
}

static int
yt_alias(struct ytree *t, const yaml_event_t *ev)
{
	const char	*name = (const char *)ev->data.alias.anchor;
	unsigned long	 line = ev->start_mark.line + 1;
	unsigned long	 col = ev->start_mark.column + 1;
	struct ynode	*n = NULL;

	if (!t->o->aliases) {
		yt_err(t, line, col, "YAML aliases are not allowed in %s",
		    t->o->what);
		return -1;
	}
	for (size_t i = t->nanchors; i > 0; i--) {
		if (strcmp(t->anchors[i - 1].name, name) == 0) {
			n = t->anchors[i - 1].node;
			break;
		}
	}
	if (n == NULL || n->weight == 0) {
		yt_err(t, line, col, n == NULL ?
		    "alias '*%.40s' names no anchor before it" :
		    "alias '*%.40s' refers to a node that contains it", name);
		return -1;
	}
	t->weight += n->weight;
	yt_attach(t, n);
	return 0;
}

static int
yt_scalar(struct ytree *t, const yaml_event_t *ev)
{
	struct ynode	*n = yt_new(t, YN_SCALAR, &ev->start_mark);

	n->len = ev->data.scalar.length;
	n->value = xmalloc(n->len + 1);
	memcpy(n->value, ev->data.scalar.value, n->len);
	n->value[n->len] = '\0';
	n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	n->tagged = ev->data.scalar.tag != NULL;
	n->weight = 1;
	yt_attach(t, n);
	return yt_anchor(t, ev->data.scalar.anchor, n);
}

static int
yt_open(struct ytree *t, const yaml_event_t *ev)
{
	bool		 seq = ev->type == YAML_SEQUENCE_START_EVENT;
	struct ynode	*n;

	if (t->depth == t->o->depth_max) {
		yt_err(t, ev->start_mark.line + 1, ev->start_mark.column + 1,
		    "nested deeper than %u levels", t->o->depth_max);
		return -1;
	}
	n = yt_new(t, seq ? YN_SEQ : YN_MAP, &ev->start_mark);
	n->tagged = (seq ? ev->data.sequence_start.tag :
	    ev->data.mapping_start.tag) != NULL;
	yt_attach(t, n);
	t->stack[t->depth++] = n;
	return yt_anchor(t, seq ? ev->data.sequence_start.anchor :
	    ev->data.mapping_start.anchor, n);
}

static void
yt_close(struct ytree *t)
{
	struct ynode	*n = t->stack[--t->depth];

	n->weight = 1;
	for (size_t i = 0; i < n->nkids; i++)
		n->weight += n->kids[i]->weight;
}

static int
yt_event(struct ytree *t, const yaml_event_t *ev)
{
	int	 r = 0;

	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++t->ndocs > 1) {
			yt_err(t, ev->start_mark.line + 1,
			    ev->start_mark.column + 1, "%s",
			    t->o->second_doc);
			return -1;
		}
		break;
	case YAML_ALIAS_EVENT:
		r = yt_alias(t, ev);
		break;
	case YAML_SCALAR_EVENT:
		r = yt_scalar(t, ev);
		break;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		r = yt_open(t, ev);
		break;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		yt_close(t);
		break;
	default:
		break;
	}
	if (r == 0 && t->weight > t->o->nodes_max) {
		yt_err(t, ev->start_mark.line + 1, ev->start_mark.column + 1,
		    "more than %zu YAML nodes%s", t->o->nodes_max,
		    t->o->aliases ? " (an alias counts every node it "
		    "repeats)" : "");
		r = -1;
	}
	return r;
}

/* Report libyaml's syntax error in our "line:col: what" form. */
static void
yt_syntax_error(struct ytree *t, const yaml_parser_t *p, const char *data,
    size_t len)
{
	unsigned long	 line = p->problem_mark.line + 1;
	unsigned long	 col = p->problem_mark.column + 1;
	size_t		 at = p->problem_mark.index;

	if (p->error == YAML_READER_ERROR) {
		/* Reader errors carry an offset, not a mark. */
		line = 1;
		col = 1;
		for (at = 0; at < p->problem_offset && at < len; at++) {
			if (data[at] == '\n') {
				line++;
				col = 1;
			} else
				col++;
		}
	}
	if (t->o->syntax_hints && at < len && data[at] == '\t') {
		yt_err(t, line, col, "a tab character; YAML is indented with "
		    "spaces only");
	} else if (p->error == YAML_MEMORY_ERROR || p->problem == NULL) {
		yt_err(t, line, col, "cannot parse YAML");
	} else if (p->error == YAML_READER_ERROR) {
		yt_err(t, line, col, "%s (%s is UTF-8 text)", p->problem,
		    t->o->what);
	} else if (p->context != NULL && t->o->syntax_hints) {
		yt_err(t, line, col, "%s %s (started at line %lu)",
		    p->problem, p->context,
		    (unsigned long)p->context_mark.line + 1);
	} else if (p->context != NULL) {
		yt_err(t, line, col, "%s %s", p->problem, p->context);
	} else
		yt_err(t, line, col, "%s", p->problem);
}

/*
 * Parse the text into a new tree; see yamltree.h.  The parser is created
 * and deleted here (STYLE.md B6.9).
 */
int
ytree_parse(struct ytree **ret, const char *data, size_t len,
    const struct ytree_opts *o, ytree_errfn errfn, void *arg)
{
	yaml_parser_t	 p;
	yaml_event_t	 ev;
	struct ytree	*t;
	int		 done = 0;

	*ret = NULL;
	t = xcalloc(1, sizeof(*t));
	t->o = o;
	t->errfn = errfn;
	t->arg = arg;
	if (!yaml_parser_initialize(&p)) {
		yt_err(t, 1, 1, "cannot set up the YAML parser");
		ytree_free(t);
		return -1;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
	while (!done) {
		if (!yaml_parser_parse(&p, &ev)) {
			yt_syntax_error(t, &p, data, len);
			goto fail;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		if (yt_event(t, &ev) == -1) {
			yaml_event_delete(&ev);
			goto fail;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	*ret = t;
	return 0;
 fail:
	yaml_parser_delete(&p);
	ytree_free(t);
	return -1;
}

/* Returns whether a node is YAML null: ~, null, or nothing at all. */
bool
ynode_is_null(const struct ynode *n)
{
	if (n == NULL)
		return true;
	if (n->type != YN_SCALAR || !n->plain || n->tagged)
		return false;
	return n->len == 0 || strcmp(n->value, "~") == 0 ||
	    strcmp(n->value, "null") == 0 || strcmp(n->value, "Null") == 0 ||
	    strcmp(n->value, "NULL") == 0;
}

/* Returns what a node is, for "must be X, not Y" messages. */
const char *
ynode_typename(const struct ynode *n)
{
	if (n->type == YN_SEQ)
		return "a list";
	if (n->type == YN_MAP)
		return "a mapping";
	return ynode_is_null(n) ? "empty" : "a string";
}

/* Returns the value of the first key k of mapping n, or NULL. */
const struct ynode *
ynode_get(const struct ynode *n, const char *k)
{
	if (n == NULL || n->type != YN_MAP)
		return NULL;
	for (size_t i = 0; i + 1 < n->nkids; i += 2) {
		const struct ynode	*key = n->kids[i];

		if (key->type == YN_SCALAR && strcmp(key->value, k) == 0)
			return n->kids[i + 1];
	}
	return NULL;
}

/* buf = "path.key" (or "key" at the top), truncated to bufsz. */
void
ypath_key(char *buf, size_t bufsz, const char *path, const char *key)
{
	(void)strlcpy(buf, path, bufsz);
	if (*path != '\0')
		(void)strlcat(buf, ".", bufsz);
	(void)strlcat(buf, key, bufsz);
}

/* buf = "path[i]", truncated to bufsz. */
void
ypath_index(char *buf, size_t bufsz, const char *path, size_t i)
{
	char	 num[32];

	(void)snprintf(num, sizeof(num), "[%zu]", i);
	(void)strlcpy(buf, path, bufsz);
	(void)strlcat(buf, num, bufsz);
}

/* Returns a new "NAME:LINE:COL: PATH: what" line, control bytes as '?'. */
char *
ymsg(const char *name, unsigned long line, unsigned long col,
    const char *path, const char *what)
{
	char	*msg;

	if (path == NULL)
		path = "";
	msg = xasprintf("%s:%lu:%lu: %s%s%s", name, line, col, path,
	    *path != '\0' ? ": " : "", what);
	/* Keys and values come from the file: no control bytes to a tty. */
	return quote_scrub(msg);
}

/* Returns the case-insensitive edit distance (SIZE_MAX: too long). */
size_t
ydistance(const char *a, const char *b)
{
	size_t	 la = strlen(a), lb = strlen(b), row[65], i, j;

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t	 diag = row[0];

		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t	 up = row[j], best;
			int	 same = tolower((unsigned char)a[i - 1]) ==
			    tolower((unsigned char)b[j - 1]);

			best = diag + (same ? 0 : 1);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

/* Returns the candidate closest to word, or NULL when none is close. */
const char *
ysuggest(const char *word, const char *const *cands)
{
	const char	*best = NULL;
	size_t		 bestd = SIZE_MAX;

	for (size_t i = 0; cands[i] != NULL; i++) {
		size_t	 d = ydistance(word, cands[i]);

		if (d < bestd) {
			bestd = d;
			best = cands[i];
		}
	}
	if (best == NULL || bestd > SUGGEST_MAX || bestd * 2 >= strlen(best))
		return NULL;
	return best;
}
