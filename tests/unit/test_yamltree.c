/* SPDX-License-Identifier: ISC */
/*
 * test_yamltree.c: the bounded YAML tree shared by the appspec and
 * config parsers: positions, scalars' style, aliases (expanded, refused,
 * or a cycle), each limit with the position of the node over it, a
 * second document, syntax errors, and the one "did you mean" both
 * parsers use.
 */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "xalloc.h"
#include "yamltree.h"

#include "banned.h"

static const struct ytree_opts open_opts = {
	.what = "a test file",
	.second_doc = "two documents",
	.depth_max = 4,
	.nodes_max = 20,
	.anchors_max = 2,
	.aliases = true,
	.syntax_hints = true,
};

static const struct ytree_opts closed_opts = {
	.what = "a closed file",
	.second_doc = "two documents",
	.depth_max = 4,
	.nodes_max = 20,
	.anchors_max = 2,
	.aliases = false,
	.syntax_hints = false,
};

/* The one error of a failed parse, as "LINE:COL: what". */
struct seen {
	char	 msg[600];
	int	 calls;
};

static void
record(void *arg, unsigned long line, unsigned long col, const char *what)
{
	struct seen	*s = arg;

	(void)snprintf(s->msg, sizeof(s->msg), "%lu:%lu: %s", line, col,
	    what);
	s->calls++;
}

/* Parse text; returns the tree, or NULL with s->msg set. */
static struct ytree *
parse(const char *text, const struct ytree_opts *o, struct seen *s)
{
	struct ytree	*t;

	memset(s, 0, sizeof(*s));
	if (ytree_parse(&t, text, strlen(text), o, record, s) == -1) {
		assert_int_equal(s->calls, 1);
		assert_null(t);
		return NULL;
	}
	assert_int_equal(s->calls, 0);
	return t;
}

static void
ytree_builds_nodes_with_positions(void **state)
{
	struct seen		 s;
	struct ytree		*t;
	const struct ynode	*root, *v;

	t = parse("a: 1\nb:\n  - \"x\"\n  - ~\nc: {d: e}\n", &open_opts, &s);
	assert_non_null(t);
	root = ytree_root(t);
	assert_int_equal(root->type, YN_MAP);
	assert_int_equal(root->nkids, 6);
	v = ynode_get(root, "b");
	assert_non_null(v);
	assert_int_equal(v->type, YN_SEQ);
	assert_int_equal(v->nkids, 2);
	assert_string_equal(v->kids[0]->value, "x");
	assert_false(v->kids[0]->plain);
	assert_int_equal(v->kids[0]->line, 3);
	assert_int_equal(v->kids[0]->col, 5);
	assert_true(ynode_is_null(v->kids[1]));
	assert_false(ynode_is_null(v->kids[0]));
	assert_string_equal(ynode_typename(v), "a list");
	assert_string_equal(ynode_typename(v->kids[1]), "empty");
	assert_string_equal(ynode_typename(ynode_get(root, "c")), "a mapping");
	assert_string_equal(ynode_get(ynode_get(root, "c"), "d")->value, "e");
	assert_null(ynode_get(root, "z"));
	assert_null(ynode_get(v, "x"));
	ytree_free(t);

	/* An empty stream is a tree without a root. */
	t = parse("# nothing\n", &open_opts, &s);
	assert_non_null(t);
	assert_null(ytree_root(t));
	ytree_free(t);
	ytree_free(NULL);
}

static void
ytree_expands_or_refuses_aliases(void **state)
{
	struct seen		 s;
	struct ytree		*t;
	const struct ynode	*root;

	t = parse("a: &x [1, 2]\nb: *x\n", &open_opts, &s);
	assert_non_null(t);
	root = ytree_root(t);
	assert_ptr_equal(ynode_get(root, "a"), ynode_get(root, "b"));
	ytree_free(t);

	assert_null(parse("a: &x 1\nb: *x\n", &closed_opts, &s));
	assert_string_equal(s.msg,
	    "2:4: YAML aliases are not allowed in a closed file");
	assert_null(parse("a: *nope\n", &open_opts, &s));
	assert_string_equal(s.msg,
	    "1:4: alias '*nope' names no anchor before it");
	assert_null(parse("a: &x [*x]\n", &open_opts, &s));
	assert_string_equal(s.msg,
	    "1:8: alias '*x' refers to a node that contains it");
	assert_null(parse("- &a 1\n- &b 2\n- &c 3\n", &open_opts, &s));
	assert_string_equal(s.msg, "3:3: more than 2 anchors");
}

static void
ytree_enforces_depth_and_node_limits(void **state)
{
	struct seen	 s;
	struct ytree	*t;

	t = parse("[[[[1]]]]\n", &open_opts, &s);
	assert_non_null(t);
	ytree_free(t);
	assert_null(parse("[[[[[1]]]]]\n", &open_opts, &s));
	assert_string_equal(s.msg, "1:5: nested deeper than 4 levels");

	/* Aliases count every node they repeat. */
	assert_null(parse("a: &x [1, 2, 3, 4, 5, 6, 7, 8]\nb: *x\nc: *x\n",
	    &open_opts, &s));
	assert_string_equal(s.msg, "2:4: more than 20 YAML nodes (an alias "
	    "counts every node it repeats)");
	assert_null(parse("[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, "
	    "15, 16, 17, 18, 19, 20]\n", &closed_opts, &s));
	assert_string_equal(s.msg, "1:69: more than 20 YAML nodes");
}

static void
ytree_reports_documents_and_syntax(void **state)
{
	struct seen	 s;

	assert_null(parse("a: 1\n---\nb: 2\n", &open_opts, &s));
	assert_string_equal(s.msg, "2:1: two documents");
	assert_null(parse("a:\n\t- 1\n", &open_opts, &s));
	assert_string_equal(s.msg,
	    "2:1: a tab character; YAML is indented with spaces only");
	assert_null(parse("a: 1\n\tb: 2\n", &closed_opts, &s));
	assert_non_null(strstr(s.msg, "found a tab character"));
	assert_null(parse("a: [1, 2\n", &open_opts, &s));
	assert_string_equal(s.msg, "2:1: did not find expected ',' or ']' "
	    "while parsing a flow sequence (started at line 1)");
	assert_null(parse("a: [1, 2\n", &closed_opts, &s));
	assert_string_equal(s.msg, "2:1: did not find expected ',' or ']' "
	    "while parsing a flow sequence");
	assert_null(parse("a: \xff\n", &closed_opts, &s));
	assert_non_null(strstr(s.msg, "(a closed file is UTF-8 text)"));
}

static void
ymsg_formats_and_cleans_lines(void **state)
{
	char	 buf[32];
	char	*m;

	m = ymsg("f.yml", 3, 7, "hooks.AfterInstall", "bad\tvalue");
	assert_string_equal(m, "f.yml:3:7: hooks.AfterInstall: bad?value");
	free(m);
	m = ymsg("f.yml", 1, 1, NULL, "empty");
	assert_string_equal(m, "f.yml:1:1: empty");
	free(m);
	m = ymsg("f.yml", 1, 1, "", "empty");
	assert_string_equal(m, "f.yml:1:1: empty");
	free(m);
	ypath_key(buf, sizeof(buf), "", "hooks");
	assert_string_equal(buf, "hooks");
	ypath_key(buf, sizeof(buf), "hooks", "AfterInstall");
	assert_string_equal(buf, "hooks.AfterInstall");
	ypath_index(buf, sizeof(buf), "files", 12);
	assert_string_equal(buf, "files[12]");
}

/* Moved from test_appspec.c with ysuggest() (it was ap_suggest()). */
static void
appspec_suggests_close_names_only(void **state)
{
	static const char *const c[] = { "AfterInstall", "BeforeInstall",
	    "ApplicationStart", NULL };

	assert_string_equal(ysuggest("AfterInstal", c), "AfterInstall");
	assert_string_equal(ysuggest("beforeinstall", c), "BeforeInstall");
	assert_string_equal(ysuggest("ApplicationStrat", c),
	    "ApplicationStart");
	assert_null(ysuggest("Deploy", c));
	assert_null(ysuggest("", c));
}

static void
ysuggest_is_one_rule_for_every_file(void **state)
{
	static const char *const keys[] = { "application", "timeout",
	    "file_exists_behavior", "permissions", "region", NULL };

	assert_int_equal(ydistance("Timeout", "timeout"), 0);
	assert_int_equal(ydistance("timout", "timeout"), 1);
	assert_int_equal(ydistance("abc", ""), 3);
	assert_int_equal(ydistance("", ""), 0);
	assert_int_equal(ydistance("a", "b"), 1);
	/* Config keys and appspec keys get the same answers. */
	assert_string_equal(ysuggest("aplication", keys), "application");
	assert_string_equal(ysuggest("timout", keys), "timeout");
	assert_string_equal(ysuggest("file_exist_behavior", keys),
	    "file_exists_behavior");
	assert_string_equal(ysuggest("permission", keys), "permissions");
	assert_string_equal(ysuggest("regoin", keys), "region");
	/* Three edits are a typo only in a word long enough for it. */
	assert_null(ysuggest("xyz", keys));
	assert_null(ysuggest("owner", keys));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ytree_builds_nodes_with_positions),
		cmocka_unit_test(ytree_expands_or_refuses_aliases),
		cmocka_unit_test(ytree_enforces_depth_and_node_limits),
		cmocka_unit_test(ytree_reports_documents_and_syntax),
		cmocka_unit_test(ymsg_formats_and_cleans_lines),
		cmocka_unit_test(appspec_suggests_close_names_only),
		cmocka_unit_test(ysuggest_is_one_rule_for_every_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
