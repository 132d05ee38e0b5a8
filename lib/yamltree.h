/* SPDX-License-Identifier: ISC */
/*
 * yamltree.h: YAML text -> a small bounded tree of our own (struct
 * ynode), and the helpers the schema walks of appspec.yml, hookd.yml and
 * deployer.yml share: null, lookup, messages of the form
 * "file:line:col: path: what", and the one "did you mean" of hookd.  No
 * libyaml type appears here; the parser is driven by one function in
 * yamltree.c.
 */
#ifndef HOOKD_YAMLTREE_H
#define HOOKD_YAMLTREE_H

#include <stdbool.h>
#include <stddef.h>

#include "compat.h"

#define YTREE_DEPTH_MAX		32	/* the most any caller may ask for */
#define YTREE_ANCHORS_MAX	256

enum ynode_type {
	YN_SCALAR = 0,
	YN_SEQ,
	YN_MAP,
};

struct ynode {
	enum ynode_type	 type;
	char		*value;		/* scalar text, NUL-terminated */
	size_t		 len;		/* scalar bytes (may hold a NUL) */
	bool		 plain;		/* plain (unquoted) scalar */
	bool		 tagged;	/* had an explicit tag */
	unsigned long	 line;		/* 1-based */
	unsigned long	 col;		/* 1-based */
	/* SEQ: items; MAP: key, value, key, value ... */
	struct ynode	**kids;
	size_t		 nkids;
	size_t		 weight;	/* subtree nodes, aliases expanded */
};

/* What one kind of file allows, and how its messages name it. */
struct ytree_opts {
	const char	*what;		/* "an appspec", "a config file" */
	const char	*second_doc;	/* the error for a second document */
	unsigned	 depth_max;	/* 1..YTREE_DEPTH_MAX */
	size_t		 nodes_max;	/* aliases expanded */
	size_t		 anchors_max;	/* 0..YTREE_ANCHORS_MAX */
	bool		 aliases;	/* false: an alias is an error */
	bool		 syntax_hints;	/* syntax errors say where the
					   construct started, and a tab
					   is named as the cause */
};

/* Called once for the error that stops a parse. */
typedef void	(*ytree_errfn)(void *arg, unsigned long line,
		    unsigned long col, const char *what);

struct ytree;

/*
 * Parse len bytes of YAML into a new tree.  Returns 0 with *ret set (its
 * root is NULL for an empty stream), or -1 after calling errfn once with
 * the position and the reason (a syntax error, a limit, an alias where
 * none is allowed, a second document); *ret is then NULL.  Does not
 * block.
 */
int	ytree_parse(struct ytree **ret, const char *data, size_t len,
	    const struct ytree_opts *, ytree_errfn errfn, void *arg);
/* The root node (borrowed), or NULL for an empty document. */
const struct ynode *ytree_root(const struct ytree *);
/* Free the tree and every node in it; NULL is fine. */
void	ytree_free(struct ytree *);

/* Whether a scalar is YAML null (~, null, empty plain); NULL is null. */
bool	ynode_is_null(const struct ynode *);
/* "a list", "a mapping", "empty" or "a string". */
const char *ynode_typename(const struct ynode *);
/* The value of the first key k of mapping n, or NULL. */
const struct ynode *ynode_get(const struct ynode *n, const char *k);

/* buf = "path.key" (or "key" at the top), truncated to bufsz. */
void	ypath_key(char *buf, size_t bufsz, const char *path, const char *key);
/* buf = "path[i]", truncated to bufsz. */
void	ypath_index(char *buf, size_t bufsz, const char *path, size_t i);

/*
 * A new message line "NAME:LINE:COL: PATH: what" (PATH left out when NULL
 * or empty), with any control byte shown as '?'.
 */
char	*ymsg(const char *name, unsigned long line, unsigned long col,
	    const char *path, const char *what);

/* Case-insensitive edit distance of two words of at most 64 bytes. */
size_t	ydistance(const char *, const char *);
/*
 * The closest of 'cands' (NULL-terminated) to 'word' when it is close
 * enough to be a typo of it (at most 3 edits, and fewer than half its
 * length), or NULL.
 */
const char *ysuggest(const char *word, const char *const *cands);

#endif /* HOOKD_YAMLTREE_H */
