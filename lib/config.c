/* SPDX-License-Identifier: ISC */
/*
 * config.c: read hookd.yml and deployer.yml.  yamltree.c builds a small
 * tree of our own (struct ynode), refusing aliases, more than one
 * document, deep nesting and too many nodes; then a table of
 * keys per file says each value's type and range, and one function per
 * type checks it.  Every problem is recorded as "FILE:LINE:COL: key:
 * what" and the load goes on, so an operator sees all of them at once;
 * eb gets the first.  Nothing here logs, touches the network or keeps
 * libyaml state past the function that parsed.
 */
#include "compat.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include "aws/client.h"
#include "caps.h"
#include "config.h"
#include "errbuf.h"
#include "message.h"
#include "names.h"
#include "queue.h"
#include "quote.h"
#include "store.h"
#include "xalloc.h"
#include "yamltree.h"

#include "banned.h"

#define QMAX		64	/* bytes of a bad value shown */

/* One load: where errors go and how paths resolve. */
struct cctx {
	const char	*name;
	char		*basedir;	/* for relative key files, or NULL */
	char		***errors;
	size_t		*nerrors;
	unsigned long	 pos[CONFIG_ERRORS_MAX][2];	/* line, col */
	struct errbuf	*eb;
	const struct ynode *keynode;	/* message_key_file's value */
};

enum ftype {
	F_NAME,		/* application/group/instance name */
	F_STORE,	/* file:///abs or s3://bucket[/prefix] */
	F_QUEUE,	/* sqs or file:///abs */
	F_PREFIX,	/* queue_prefix */
	F_REGION,
	F_ABSPATH,
	F_HOOKNAME,	/* Auto Scaling lifecycle hook name */
	F_KEYFILE,
	F_UINT,		/* unsigned, min..max */
	F_SIZE,		/* uint64_t, with an optional K/M/G/T suffix */
	F_U64,
	F_BOOL,
	F_STRATEGY,	/* in_place | blue_green */
	F_BLUEGREEN,	/* blue_green:, wait_before_cutover (by hand) */
	F_LOGLEVEL,
	F_SQSPROTO,	/* json | query (enum aws_sqs_protocol) */
	F_GROUPS,	/* deployer.yml groups: */
	F_TRAFFIC,	/* hookd.yml traffic: (config_parse_traffic) */
	/* Rollout gates, checked by check_gate_field(): */
	F_ALARMS,	/* a list of CloudWatch alarm names */
	F_ARGV,		/* a non-empty list of strings */
	F_ROLLBACK,	/* a list of failure | alarm | stop */
	F_TOPIC,	/* an SNS topic ARN */
};

struct field {
	const char	*key;
	enum ftype	 type;
	size_t		 off;	/* in the config struct */
	uint64_t	 min, max;
	bool		 required;
};

static void	check_gate_field(struct cctx *, const struct field *,
		    const struct ynode *, void *);

static void
cerr(struct cctx *c, const struct ynode *n, const char *key,
    const char *fmt, ...) HOOKD_PRINTF(4, 5);

/* Record "NAME:LINE:COL: KEY: what" (KEY left out when NULL). */
static void
cerr(struct cctx *c, const struct ynode *n, const char *key,
    const char *fmt, ...)
{
	char	 what[ERRBUF_MSG_MAX];
	char	*line;
	va_list	 ap;

	if (*c->nerrors >= CONFIG_ERRORS_MAX)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	line = ymsg(c->name, n == NULL ? 1UL : n->line,
	    n == NULL ? 1UL : n->col, key, what);
	if (*c->nerrors == 0)
		errbuf_set(c->eb, EK_CONFIG, "%s", line);
	*c->errors = xreallocarray(*c->errors, *c->nerrors + 1,
	    sizeof(**c->errors));
	c->pos[*c->nerrors][0] = n == NULL ? 1UL : n->line;
	c->pos[*c->nerrors][1] = n == NULL ? 1UL : n->col;
	(*c->errors)[(*c->nerrors)++] = line;
}

/*
 * Put the errors in file order (line, then column; a stable insertion
 * sort, n <= CONFIG_ERRORS_MAX), the checks having found them by kind,
 * and make eb the first of them.
 */
static void
cerr_sort(struct cctx *c)
{
	char	**lines = *c->errors;
	size_t	  n = *c->nerrors;

	for (size_t i = 1; i < n; i++) {
		unsigned long	 l = c->pos[i][0], k = c->pos[i][1];
		char		*e = lines[i];
		size_t		 j = i;

		while (j > 0 && (c->pos[j - 1][0] > l ||
		    (c->pos[j - 1][0] == l && c->pos[j - 1][1] > k))) {
			c->pos[j][0] = c->pos[j - 1][0];
			c->pos[j][1] = c->pos[j - 1][1];
			lines[j] = lines[j - 1];
			j--;
		}
		c->pos[j][0] = l;
		c->pos[j][1] = k;
		lines[j] = e;
	}
	if (n > 0)
		errbuf_set(c->eb, EK_CONFIG, "%s", lines[0]);
}

static const char *
quote(const struct ynode *n, char *buf, size_t bufsz)
{
	return quote_text(n->value, n->len, buf, bufsz);
}

static void
errors_free(char **errors, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(errors[i]);
	free(errors);
}

/* The YAML rules of a config file: no aliases, shallow, small. */
static const struct ytree_opts config_yopts = {
	.what = "a config file",
	.second_doc = "only one YAML document is allowed",
	.depth_max = CONFIG_DEPTH_MAX,
	.nodes_max = CONFIG_NODES_MAX,
	.anchors_max = YTREE_ANCHORS_MAX,
	.aliases = false,
	.syntax_hints = false,
};

/* ytree_parse()'s error: recorded like any other. */
static void
config_yerr(void *arg, unsigned long line, unsigned long col,
    const char *what)
{
	struct ynode	 at = { .line = line, .col = col };

	cerr(arg, &at, NULL, "%s", what);
}

static const char *
node_kind(const struct ynode *n)
{
	if (n->type == YN_MAP)
		return "a mapping";
	if (n->type == YN_SEQ)
		return "a list";
	return "a scalar";
}

/* The closest key of 'fields' to 'word' (ysuggest()), or NULL. */
static const char *
suggest(const char *word, const struct field *fields, size_t nfields)
{
	const char	*keys[33];
	size_t		 n = 0;

	for (size_t i = 0; i < nfields && n + 1 < nitems(keys); i++)
		keys[n++] = fields[i].key;
	keys[n] = NULL;
	return ysuggest(word, keys);
}

/* The string value of a scalar, or NULL with an error recorded. */
static const char *
scalar(struct cctx *c, const struct ynode *v, const char *key)
{
	if (v->type != YN_SCALAR) {
		cerr(c, v, key, "must be a string, not %s", node_kind(v));
		return NULL;
	}
	if (ynode_is_null(v)) {
		cerr(c, v, key, "must not be empty");
		return NULL;
	}
	if (strlen(v->value) != v->len) {
		cerr(c, v, key, "contains a NUL byte");
		return NULL;
	}
	for (size_t i = 0; i < v->len; i++)
		if ((unsigned char)v->value[i] < 0x20 ||
		    (unsigned char)v->value[i] == 0x7f) {
			char	 qb[QMAX * 4];

			cerr(c, v, key, "'%s': contains a control character",
			    quote(v, qb, sizeof(qb)));
			return NULL;
		}
	return v->value;
}

/* Whether 'path' is absolute with no empty, '.' or '..' segment. */
static bool
abspath_ok(const char *path)
{
	const char	*seg;

	if (path[0] != '/' || strlen(path) >= PATH_MAX)
		return false;
	if (path[1] == '\0')
		return true;
	for (seg = path + 1;; ) {
		const char	*end = strchr(seg, '/');
		size_t		 n = end == NULL ? strlen(seg) :
			    (size_t)(end - seg);

		if ((n == 0 && end != NULL) || (n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return false;
		if (end == NULL)
			break;
		seg = end + 1;
	}
	return true;
}

static bool
chars_ok(const char *s, const char *extra)
{
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr(extra, *s) != NULL))
			return false;
	return true;
}

/* s3://BUCKET[/PREFIX]: a DNS-style bucket name and a key prefix. */
static int
check_s3(const char *url, char *why, size_t whysz)
{
	const char	*b = url + 5, *slash = strchr(b, '/');
	size_t		 bl = slash == NULL ? strlen(b) : (size_t)(slash - b);
	struct errbuf	 e;

	if (bl < 3 || bl > 63) {
		(void)snprintf(why, whysz, "the bucket name must be 3..63 "
		    "characters");
		return -1;
	}
	for (size_t i = 0; i < bl; i++)
		if (!((b[i] >= 'a' && b[i] <= 'z') ||
		    (b[i] >= '0' && b[i] <= '9') || b[i] == '.' ||
		    b[i] == '-')) {
			(void)snprintf(why, whysz, "the bucket name may hold "
			    "only a-z, 0-9, '.' and '-'");
			return -1;
		}
	if (slash != NULL && slash[1] != '\0') {
		char	*pfx = xstrdup(slash + 1);
		size_t	 pl = strlen(pfx);
		int	 r;

		while (pl > 0 && pfx[pl - 1] == '/')
			pfx[--pl] = '\0';
		r = store_prefix_check(pfx, &e);
		free(pfx);
		if (r == -1) {
			(void)snprintf(why, whysz, "the key prefix may hold "
			    "only segments of letters, digits and ._:@+=- "
			    "joined by single '/', none starting with '.'");
			return -1;
		}
	}
	return 0;
}

static int
check_url(const char *v, bool queue, char *why, size_t whysz)
{
	if (queue && strcmp(v, "sqs") == 0)
		return 0;
	if (strncmp(v, "file://", 7) == 0) {
		if (!abspath_ok(v + 7) || strcmp(v + 7, "/") == 0) {
			(void)snprintf(why, whysz, "a file:// URL needs an "
			    "absolute path without '.', '..' or empty parts "
			    "(file:///var/lib/hookd/%s)",
			    queue ? "queue" : "store");
			return -1;
		}
		return 0;
	}
	if (!queue && strncmp(v, "s3://", 5) == 0)
		return check_s3(v, why, whysz);
	(void)snprintf(why, whysz, "must be %s",
	    queue ? "'sqs' or file:///PATH" : "file:///PATH or "
	    "s3://BUCKET/PREFIX");
	return -1;
}

/* An unsigned integer with an optional K/M/G/T (1024-based) suffix. */
static int
parse_size(const char *s, bool suffix, uint64_t *ret)
{
	char		 num[32];
	size_t		 n = strlen(s);
	uint64_t	 v, mul = 1;

	if (n == 0 || n >= sizeof(num))
		return -1;
	(void)strlcpy(num, s, sizeof(num));
	if (suffix) {
		switch (num[n - 1]) {
		case 'k': case 'K':
			mul = UINT64_C(1) << 10;
			break;
		case 'm': case 'M':
			mul = UINT64_C(1) << 20;
			break;
		case 'g': case 'G':
			mul = UINT64_C(1) << 30;
			break;
		case 't': case 'T':
			mul = UINT64_C(1) << 40;
			break;
		}
		if (mul != 1)
			num[n - 1] = '\0';
	}
	if (parse_u64(num, 0, UINT64_MAX / mul, &v) == -1)
		return -1;
	*ret = v * mul;
	return 0;
}

static int
parse_bool(const struct ynode *v, bool *ret)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };

	if (v->type != YN_SCALAR || !v->plain)
		return -1;
	for (size_t i = 0; i < nitems(yes); i++) {
		if (strcasecmp(v->value, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
		if (strcasecmp(v->value, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	}
	return -1;
}

static void
set_string(void *obj, size_t off, const char *v)
{
	char	**p = (char **)((char *)obj + off);

	free(*p);
	*p = xstrdup(v);
}

/* Load the key named by message_key_file; errors at its value. */
static void
load_key(struct cctx *c, const char *path, unsigned char **ret_key,
    size_t *ret_len)
{
	struct errbuf	 e;

	if (path == NULL)
		return;
	if (message_load_key(path, ret_key, ret_len, &e) == -1)
		cerr(c, c->keynode, NULL, "%s", e.msg);
}

static void
check_field(struct cctx *c, const struct field *f, const struct ynode *v,
    void *obj)
{
	char		 qb[QMAX * 4], why[256];
	const char	*s;
	struct errbuf	 e;
	uint64_t	 u;
	bool		 b;
	int		 lvl;

	switch (f->type) {
	case F_BOOL:
		if (parse_bool(v, &b) == -1) {
			if (v->type != YN_SCALAR)
				cerr(c, v, f->key, "must be true or false, not "
				    "%s", node_kind(v));
			else
				cerr(c, v, f->key, "must be true or false%s "
				    "(got '%s')", v->plain ? "" :
				    ", without quotes",
				    quote(v, qb, sizeof(qb)));
			return;
		}
		*(bool *)((char *)obj + f->off) = b;
		return;
	case F_STRATEGY:
		if (v->type == YN_SCALAR && strcmp(v->value, "in_place") == 0)
			*(int *)((char *)obj + f->off) = STRATEGY_IN_PLACE;
		else if (v->type == YN_SCALAR &&
		    strcmp(v->value, "blue_green") == 0)
			*(int *)((char *)obj + f->off) = STRATEGY_BLUE_GREEN;
		else
			cerr(c, v, f->key, "'%s': must be in_place or "
			    "blue_green", quote(v, qb, sizeof(qb)));
		return;
	case F_BLUEGREEN:
		return;		/* check_blue_green() */
	case F_UINT:
	case F_U64:
	case F_SIZE:
		if (v->type != YN_SCALAR) {
			cerr(c, v, f->key, "must be a number, not %s",
			    node_kind(v));
			return;
		}
		if (!v->plain || parse_size(v->value, f->type == F_SIZE,
		    &u) == -1) {
			cerr(c, v, f->key, "must be a %s%s (got '%s')",
			    f->type == F_SIZE ? "number of bytes, with an "
			    "optional K, M, G or T" : "whole number",
			    v->plain ? "" : ", without quotes",
			    quote(v, qb, sizeof(qb)));
			return;
		}
		if (u < f->min || u > f->max) {
			cerr(c, v, f->key, "%llu is not in %llu..%llu",
			    (unsigned long long)u,
			    (unsigned long long)f->min,
			    (unsigned long long)f->max);
			return;
		}
		if (f->type == F_UINT)
			*(unsigned *)((char *)obj + f->off) = (unsigned)u;
		else
			*(uint64_t *)((char *)obj + f->off) = u;
		return;
	case F_GROUPS:
	case F_TRAFFIC:
		return;		/* deployer.yml, config_parse_traffic() */
	case F_ALARMS:
	case F_ARGV:
	case F_ROLLBACK:
	case F_TOPIC:
		check_gate_field(c, f, v, obj);
		return;
	default:
		break;
	}
	if ((s = scalar(c, v, f->key)) == NULL)
		return;
	switch (f->type) {
	case F_NAME:
		if (name_check("", s, &e) == -1) {
			cerr(c, v, f->key, "%s", e.msg + 1);
			return;
		}
		break;
	case F_STORE:
	case F_QUEUE:
		if (check_url(s, f->type == F_QUEUE, why, sizeof(why)) == -1) {
			cerr(c, v, f->key, "'%s': %s", quote(v, qb, sizeof(qb)),
			    why);
			return;
		}
		break;
	case F_PREFIX:
		if (strlen(s) > CONFIG_PREFIX_MAX || !chars_ok(s, "_-")) {
			cerr(c, v, f->key, "'%s': 1..%d letters, digits, '_' "
			    "or '-'", quote(v, qb, sizeof(qb)),
			    CONFIG_PREFIX_MAX);
			return;
		}
		break;
	case F_REGION:
		if (strlen(s) > 32 || !chars_ok(s, "-")) {
			cerr(c, v, f->key, "'%s': not an AWS region name",
			    quote(v, qb, sizeof(qb)));
			return;
		}
		break;
	case F_ABSPATH:
		if (!abspath_ok(s) || strcmp(s, "/") == 0) {
			cerr(c, v, f->key, "'%s': must be an absolute path "
			    "without '.', '..' or empty parts (not /)",
			    quote(v, qb, sizeof(qb)));
			return;
		}
		break;
	case F_HOOKNAME:
		if (strlen(s) > 255 || !chars_ok(s, "._/-")) {
			cerr(c, v, f->key, "'%s': 1..255 letters, digits, '.', "
			    "'_', '/' or '-'", quote(v, qb, sizeof(qb)));
			return;
		}
		break;
	case F_SQSPROTO:
		if ((lvl = aws_sqs_protocol_from_name(s)) == -1) {
			cerr(c, v, f->key, "'%s': must be json or query",
			    quote(v, qb, sizeof(qb)));
			return;
		}
		*(int *)((char *)obj + f->off) = lvl;
		return;
	case F_LOGLEVEL:
		if ((lvl = config_log_level_from_name(s)) == -1) {
			cerr(c, v, f->key, "'%s': must be error, warning, "
			    "notice, info or debug", quote(v, qb, sizeof(qb)));
			return;
		}
		*(int *)((char *)obj + f->off) = lvl;
		return;
	case F_KEYFILE: {
		char	*path;

		/* Loaded by the caller once the whole file is checked. */
		path = s[0] == '/' || c->basedir == NULL ? xstrdup(s) :
		    xasprintf("%s/%s", c->basedir, s);
		set_string(obj, f->off, path);
		free(path);
		c->keynode = v;
		return;
	}
	default:
		break;
	}
	set_string(obj, f->off, s);
}

/*
 * Check mapping 'map' against 'fields': unknown and duplicate keys,
 * missing required keys, each value.  'group' (may be NULL) receives the
 * value node of an F_GROUPS field.  'where' prefixes key names ("groups.
 * production.").
 */
static void
check_map(struct cctx *c, const struct ynode *map, const struct field *fields,
    size_t nfields, void *obj, const char *where,
    const struct ynode **ret_groups)
{
	bool		 seen[32] = { false };
	char		 qb[QMAX * 4], full[256];
	const struct ynode *k, *v;
	const char	*sug;
	size_t		 i, j;

	for (i = 0; i + 1 < map->nkids; i += 2) {
		k = map->kids[i];
		v = map->kids[i + 1];
		if (k->type != YN_SCALAR || strlen(k->value) != k->len) {
			cerr(c, k, NULL, "%skeys must be plain strings", where);
			continue;
		}
		for (j = 0; j < nfields; j++)
			if (strcmp(k->value, fields[j].key) == 0)
				break;
		(void)snprintf(full, sizeof(full), "%s%s", where,
		    quote(k, qb, sizeof(qb)));
		if (j == nfields) {
			sug = suggest(k->value, fields, nfields);
			cerr(c, k, full, "unknown key%s%s%s",
			    sug == NULL ? "" : " (did you mean '",
			    sug == NULL ? "" : sug, sug == NULL ? "" : "'?)");
			continue;
		}
		if (seen[j]) {
			cerr(c, k, full, "duplicate key");
			continue;
		}
		seen[j] = true;
		if (fields[j].type == F_GROUPS) {
			if (ret_groups != NULL)
				*ret_groups = v;
			continue;
		}
		/* An explicit null means "the default". */
		if (ynode_is_null(v) && !fields[j].required)
			continue;
		(void)snprintf(full, sizeof(full), "%s%s", where,
		    fields[j].key);
		{
			struct field	 f = fields[j];

			f.key = full;
			check_field(c, &f, v, obj);
		}
	}
	for (j = 0; j < nfields; j++)
		if (fields[j].required && !seen[j]) {
			(void)snprintf(full, sizeof(full), "%s%s", where,
			    fields[j].key);
			cerr(c, map, full, "missing (required)");
		}
}

/* Read a whole file of at most CONFIG_MAX bytes. */
static int
read_file(const char *path, char **ret_data, size_t *ret_len,
    struct errbuf *eb)
{
	struct stat	 st;
	char		*data = NULL;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd, ret = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1)
		return errbuf_errno(eb, errno == ENOENT ? EK_NOINPUT :
		    errno == EACCES ? EK_PERM : EK_IO, "cannot open '%s'",
		    path);
	if (fstat(fd, &st) == -1) {
		errbuf_errno(eb, EK_IO, "cannot stat '%s'", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		errbuf_set(eb, EK_CONFIG, "'%s': not a regular file", path);
		goto out;
	}
	data = xmalloc(CONFIG_MAX + 1);
	for (;;) {
		n = read(fd, data + len, CONFIG_MAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			errbuf_errno(eb, EK_IO, "cannot read '%s'", path);
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > CONFIG_MAX) {
			errbuf_set(eb, EK_CONFIG, "'%s': larger than %d bytes",
			    path, CONFIG_MAX);
			goto out;
		}
	}
	data[len] = '\0';
	*ret_data = data;
	*ret_len = len;
	data = NULL;
	ret = 0;
 out:
	free(data);
	close(fd);
	return ret;
}

static char *
dir_of(const char *path)
{
	const char	*slash = strrchr(path, '/');

	if (slash == NULL)
		return NULL;
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

/*
 * Parse 'data' into its tree and check that the root is a mapping.
 * Returns the tree with *ret_root its root, or NULL (errors recorded).
 */
static struct ytree *
load_root(struct cctx *c, const char *data, size_t len,
    const struct ynode **ret_root)
{
	struct ytree		*t;
	const struct ynode	*root;

	if (len > CONFIG_MAX) {
		cerr(c, NULL, NULL, "larger than %d bytes", CONFIG_MAX);
		return NULL;
	}
	if (ytree_parse(&t, data, len, &config_yopts, config_yerr, c) == -1)
		return NULL;
	root = ytree_root(t);
	if (root == NULL || ynode_is_null(root)) {
		cerr(c, root, NULL, "empty file; expected a mapping of "
		    "settings");
		ytree_free(t);
		return NULL;
	}
	if (root->type != YN_MAP) {
		cerr(c, root, NULL, "expected a mapping of settings, not %s",
		    node_kind(root));
		ytree_free(t);
		return NULL;
	}
	*ret_root = root;
	return t;
}

/* hookd.yml */

#define CF(k, t, m, lo, hi, req) \
	{ k, t, offsetof(struct config, m), lo, hi, req }

static const struct field hookd_fields[] = {
	CF("application", F_NAME, application, 0, 0, false),
	CF("deployment_group", F_NAME, deployment_group, 0, 0, false),
	/* groups: is check_host_groups()'s. */
	CF("groups", F_GROUPS, groups, 0, 0, false),
	CF("parallel_groups", F_BOOL, parallel_groups, 0, 0, false),
	CF("store", F_STORE, store, 0, 0, false),
	CF("queue", F_QUEUE, queue, 0, 0, false),
	CF("queue_prefix", F_PREFIX, queue_prefix, 0, 0, false),
	CF("region", F_REGION, region, 0, 0, false),
	CF("root", F_ABSPATH, root, 0, 0, false),
	CF("keep_releases", F_UINT, keep_releases, 1, KEEP_RELEASES_MAX,
	    false),
	CF("instance_id", F_NAME, instance_id, 0, 0, false),
	CF("lifecycle_hook", F_HOOKNAME, lifecycle_hook, 0, 0, false),
	CF("message_key_file", F_KEYFILE, message_key_file, 0, 0, false),
	CF("log_level", F_LOGLEVEL, log_level, 0, 0, false),
	CF("delete_queue_on_shutdown", F_BOOL, delete_queue_on_shutdown, 0, 0,
	    false),
	CF("max_bundle_bytes", F_SIZE, max_bundle_bytes, 1, UINT64_C(1) << 40,
	    false),
	CF("max_bundle_entries", F_U64, max_bundle_entries, 1, 10000000,
	    false),
	CF("visibility_timeout", F_UINT, visibility_timeout, 30,
	    QUEUE_VISIBILITY_MAX, false),
	CF("poll_wait", F_UINT, poll_wait, 1, QUEUE_WAIT_MAX, false),
	CF("shutdown_grace", F_UINT, shutdown_grace, 0, CONFIG_GRACE_MAX,
	    false),
	CF("start_timeout", F_UINT, start_timeout, 1, CONFIG_START_MAX,
	    false),
	CF("hook_max_procs", F_UINT, hook_max_procs, 0, HOOK_PROCS_LIMIT,
	    false),
	CF("hook_cgroup", F_ABSPATH, hook_cgroup, 0, 0, false),
	CF("sqs_protocol", F_SQSPROTO, sqs_protocol, 0, 0, false),
	CF("strict", F_BOOL, strict, 0, 0, false),
	CF("traffic", F_TRAFFIC, traffic, 0, 0, false),
};

/*
 * hookd.yml's groups: (several applications or groups on one host), kept
 * apart from the table above: a list of {application, deployment_group},
 * each pair once, in place of the top-level application and
 * deployment_group; without it, application is required.
 */

#define HG(k, m) \
	{ k, F_NAME, offsetof(struct config_group, m), 0, 0, true }

static const struct field host_group_fields[] = {
	HG("application", application),
	HG("deployment_group", deployment_group),
};

static void
host_groups_free(struct config *cfg)
{
	for (size_t i = 0; i < cfg->ngroups; i++) {
		free(cfg->groups[i].application);
		free(cfg->groups[i].deployment_group);
	}
	free(cfg->groups);
	cfg->groups = NULL;
	cfg->ngroups = 0;
}

/* The key node of top-level key 'key', or NULL. */
static const struct ynode *
map_key(const struct ynode *map, const char *key)
{
	for (size_t i = 0; i + 1 < map->nkids; i += 2)
		if (map->kids[i]->type == YN_SCALAR &&
		    strcmp(map->kids[i]->value, key) == 0)
			return map->kids[i];
	return NULL;
}

static void
check_host_groups(struct cctx *c, struct config *cfg,
    const struct ynode *root, const struct ynode *gn)
{
	static const char *const single[] = { "application",
	    "deployment_group" };
	struct config_group	 g, *o;
	const struct ynode	*v, *k;
	char			 where[64], *qn;
	struct errbuf		 e;

	/*
	 * One group's AllowTraffic would put the host back in its load
	 * balancers while another group still deploys.
	 */
	if (cfg->parallel_groups && (v = ynode_get(root, "traffic")) != NULL &&
	    !ynode_is_null(v))
		cerr(c, map_key(root, "parallel_groups"), "parallel_groups",
		    "not with traffic: (one group's AllowTraffic would put the "
		    "host back in service while another group deploys)");
	if (gn != NULL && ynode_is_null(gn))
		gn = NULL;	/* an explicit null: the single form */
	if (gn == NULL) {
		v = ynode_get(root, "application");
		if (v == NULL)
			cerr(c, root, "application", "missing (required)");
		else if (ynode_is_null(v))
			(void)scalar(c, v, "application");
		return;
	}
	for (size_t i = 0; i < nitems(single); i++)
		if ((k = map_key(root, single[i])) != NULL)
			cerr(c, k, single[i], "not with groups: (each entry "
			    "of groups: names its application and "
			    "deployment_group)");
	if (gn->type != YN_SEQ || gn->nkids == 0) {
		cerr(c, gn, "groups", "must be a list of {application, "
		    "deployment_group}, with at least one entry");
		return;
	}
	if (gn->nkids > CONFIG_HOST_GROUPS_MAX) {
		cerr(c, gn, "groups", "more than %d groups",
		    CONFIG_HOST_GROUPS_MAX);
		return;
	}
	cfg->groups = xcalloc(gn->nkids, sizeof(*cfg->groups));
	for (size_t i = 0; i < gn->nkids; i++) {
		v = gn->kids[i];
		(void)snprintf(where, sizeof(where), "groups[%zu]", i);
		if (v->type != YN_MAP) {
			cerr(c, v, where, "must be a mapping with application "
			    "and deployment_group, not %s", node_kind(v));
			continue;
		}
		(void)snprintf(where, sizeof(where), "groups[%zu].", i);
		memset(&g, 0, sizeof(g));
		check_map(c, v, host_group_fields, nitems(host_group_fields),
		    &g, where, NULL);
		if (g.application == NULL || g.deployment_group == NULL)
			goto drop;
		for (size_t j = 0; j < cfg->ngroups; j++) {
			o = &cfg->groups[j];
			if (strcmp(o->application, g.application) != 0 ||
			    strcmp(o->deployment_group, g.deployment_group) !=
			    0)
				continue;
			(void)snprintf(where, sizeof(where), "groups[%zu]", i);
			cerr(c, v, where, "%s/%s is listed twice (line %lu)",
			    g.application, g.deployment_group, o->line);
			goto drop;
		}
		/* The queue name must fit SQS's limit when we know it. */
		if (cfg->instance_id != NULL) {
			qn = queue_name_app(cfg->queue_prefix != NULL ?
			    cfg->queue_prefix : CONFIG_DEFAULT_PREFIX,
			    g.application,
			    g.deployment_group, cfg->instance_id, &e);
			if (qn == NULL) {
				(void)snprintf(where, sizeof(where),
				    "groups[%zu]", i);
				cerr(c, v, where, "%s", e.msg);
				goto drop;
			}
			free(qn);
		}
		g.line = v->line;
		cfg->groups[cfg->ngroups++] = g;
		continue;
 drop:
		free(g.application);
		free(g.deployment_group);
	}
}

/* --- hookd.yml traffic: (the load balancers of traffic.h) --- */

#define TRAFFIC_CFG_LB_MAX	10	/* per list, as CodeDeploy */
#define TRAFFIC_CFG_TIMEOUT_MAX	3600	/* s */
#define TRAFFIC_CFG_NAME_MAX	32	/* ELB names */
#define TRAFFIC_CFG_ARN_MAX	256

#define TF(k, t, m, lo, hi, req) \
	{ k, t, offsetof(struct config_traffic, m), lo, hi, req }

static const struct field traffic_fields[] = {
	TF("target_groups", F_TRAFFIC, target_groups, 0, 0, false),
	TF("load_balancers", F_TRAFFIC, load_balancers, 0, 0, false),
	TF("from_auto_scaling_group", F_BOOL, from_auto_scaling_group, 0, 0,
	    false),
	TF("haproxy", F_TRAFFIC, haproxy_socket, 0, 0, false),
	TF("drain_timeout", F_UINT, drain_timeout, 1,
	    TRAFFIC_CFG_TIMEOUT_MAX, false),
	TF("healthy_timeout", F_UINT, healthy_timeout, 1,
	    TRAFFIC_CFG_TIMEOUT_MAX, false),
};

static const struct field haproxy_fields[] = {
	TF("socket", F_TRAFFIC, haproxy_socket, 0, 0, true),
	TF("backend", F_TRAFFIC, haproxy_backend, 0, 0, true),
	TF("server", F_TRAFFIC, haproxy_server, 0, 0, false),
};

static void
config_traffic_release(struct config_traffic *t)
{
	for (size_t i = 0; i < t->ntarget_groups; i++)
		free(t->target_groups[i]);
	free(t->target_groups);
	for (size_t i = 0; i < t->nload_balancers; i++)
		free(t->load_balancers[i]);
	free(t->load_balancers);
	free(t->haproxy_socket);
	free(t->haproxy_backend);
	free(t->haproxy_server);
	memset(t, 0, sizeof(*t));
}

/*
 * An ELB name (1..32 letters, digits, '-') or, for a target group,
 * its ARN (arn:PARTITION:elasticloadbalancing:...:targetgroup/...).
 */
static bool
elb_name_ok(const char *s, bool tg)
{
	if (tg && strncmp(s, "arn:", 4) == 0)
		return strlen(s) <= TRAFFIC_CFG_ARN_MAX &&
		    strstr(s, ":elasticloadbalancing:") != NULL &&
		    strstr(s, ":targetgroup/") != NULL &&
		    strpbrk(s, " \t") == NULL;
	return strlen(s) <= TRAFFIC_CFG_NAME_MAX && chars_ok(s, "-");
}

static void
traffic_list(struct cctx *c, const struct ynode *v, const char *key,
    bool tg, char ***ret_v, size_t *ret_n)
{
	char		 qb[QMAX * 4];
	const char	*s;

	if (ynode_is_null(v))
		return;
	if (v->type != YN_SEQ) {
		cerr(c, v, key, "must be a list, not %s", node_kind(v));
		return;
	}
	if (v->nkids > TRAFFIC_CFG_LB_MAX) {
		cerr(c, v, key, "%zu entries; at most %d", v->nkids,
		    TRAFFIC_CFG_LB_MAX);
		return;
	}
	for (size_t i = 0; i < v->nkids; i++) {
		if ((s = scalar(c, v->kids[i], key)) == NULL)
			continue;
		if (!elb_name_ok(s, tg)) {
			cerr(c, v->kids[i], key, "'%s': not a %s", quote(
			    v->kids[i], qb, sizeof(qb)), tg ? "target group "
			    "ARN or name" : "load balancer name (1..32 "
			    "letters, digits or '-')");
			continue;
		}
		*ret_v = xreallocarray(*ret_v, *ret_n + 1, sizeof(**ret_v));
		(*ret_v)[(*ret_n)++] = xstrdup(s);
	}
}

static void
traffic_haproxy(struct cctx *c, const struct ynode *v,
    struct config_traffic *t)
{
	static const char *const keys[] = { "socket", "backend", "server" };
	char		**dst[] = { &t->haproxy_socket,
			    &t->haproxy_backend, &t->haproxy_server };
	char		 qb[QMAX * 4], full[64];
	const struct ynode *n;
	const char	*s;

	if (v->type != YN_MAP) {
		cerr(c, v, "traffic.haproxy", "must be a mapping (socket, "
		    "backend, server), not %s", node_kind(v));
		return;
	}
	check_map(c, v, haproxy_fields, nitems(haproxy_fields), t,
	    "traffic.haproxy.", NULL);
	for (size_t i = 0; i < nitems(keys); i++) {
		(void)snprintf(full, sizeof(full), "traffic.haproxy.%s",
		    keys[i]);
		if ((n = ynode_get(v, keys[i])) == NULL || ynode_is_null(n) ||
		    (s = scalar(c, n, full)) == NULL)
			continue;
		if (i == 0 && !abspath_ok(s) && (strncmp(s, "tcp:", 4) != 0 ||
		    strrchr(s + 4, ':') == NULL)) {
			cerr(c, n, full, "'%s': an absolute unix socket path "
			    "or tcp:HOST:PORT", quote(n, qb, sizeof(qb)));
			continue;
		}
		if (i > 0 && (strlen(s) > 127 || strpbrk(s, " ;/\\") !=
		    NULL)) {
			cerr(c, n, full, "'%s': 1..127 characters, no space, "
			    "';', '/' or '\\'", quote(n, qb, sizeof(qb)));
			continue;
		}
		free(*dst[i]);
		*dst[i] = xstrdup(s);
	}
}

/*
 * traffic: of hookd.yml, into cfg->traffic.  Errors are recorded in c
 * like every other key's.
 */
static void
config_parse_traffic(struct cctx *c, const struct ynode *v,
    struct config_traffic *t)
{
	const struct ynode *n;
	size_t		 before;

	if (ynode_is_null(v))
		return;
	if (v->type != YN_MAP) {
		cerr(c, v, "traffic", "must be a mapping, not %s",
		    node_kind(v));
		return;
	}
	t->enabled = true;
	check_map(c, v, traffic_fields, nitems(traffic_fields), t,
	    "traffic.", NULL);
	before = *c->nerrors;
	if ((n = ynode_get(v, "target_groups")) != NULL)
		traffic_list(c, n, "traffic.target_groups", true,
		    &t->target_groups, &t->ntarget_groups);
	if ((n = ynode_get(v, "load_balancers")) != NULL)
		traffic_list(c, n, "traffic.load_balancers", false,
		    &t->load_balancers, &t->nload_balancers);
	if ((n = ynode_get(v, "haproxy")) != NULL && !ynode_is_null(n))
		traffic_haproxy(c, n, t);
	/* Not when it names only bad ones: their errors say so. */
	if (t->ntarget_groups == 0 && t->nload_balancers == 0 &&
	    !t->from_auto_scaling_group && ynode_get(v, "haproxy") == NULL &&
	    *c->nerrors == before)
		cerr(c, v, "traffic", "names no load balancer (target_groups, "
		    "load_balancers, from_auto_scaling_group or haproxy)");
}

void
config_init(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->keep_releases = KEEP_RELEASES_DEFAULT;
	cfg->log_level = LOG_INFO;
	cfg->max_bundle_bytes = BUNDLE_BYTES_MAX;
	cfg->max_bundle_entries = BUNDLE_ENTRIES_MAX;
	cfg->visibility_timeout = QUEUE_VISIBILITY_DEFAULT;
	cfg->poll_wait = CONFIG_POLL_WAIT_DEFAULT;
	cfg->shutdown_grace = CONFIG_GRACE_DEFAULT;
	cfg->start_timeout = CONFIG_START_DEFAULT;
	cfg->hook_max_procs = HOOK_PROCS_MAX;
}

void
config_release(struct config *cfg)
{
	free(cfg->path);
	free(cfg->application);
	free(cfg->deployment_group);
	free(cfg->store);
	free(cfg->queue);
	free(cfg->queue_prefix);
	free(cfg->region);
	free(cfg->root);
	free(cfg->instance_id);
	free(cfg->lifecycle_hook);
	free(cfg->message_key_file);
	free(cfg->hook_cgroup);
	host_groups_free(cfg);
	config_traffic_release(&cfg->traffic);
	if (cfg->message_key != NULL)
		freezero(cfg->message_key, cfg->message_key_len);
	errors_free(cfg->errors, cfg->nerrors);
	config_init(cfg);
}

static int
config_parse_in(struct config *cfg, const char *data, size_t len,
    const char *name, const char *basedir, struct errbuf *eb)
{
	struct cctx	 c = { 0 };
	struct ytree	*t;
	const struct ynode *root = NULL, *pn, *gn = NULL;
	struct errbuf	 e;
	char		*qn;

	free(cfg->path);
	cfg->path = xstrdup(name);
	c.name = cfg->path;
	c.basedir = basedir == NULL ? NULL : xstrdup(basedir);
	c.errors = &cfg->errors;
	c.nerrors = &cfg->nerrors;
	c.eb = eb;
	if ((t = load_root(&c, data, len, &root)) != NULL) {
		check_map(&c, root, hookd_fields, nitems(hookd_fields), cfg,
		    "", &gn);
		check_host_groups(&c, cfg, root, gn);
		if ((pn = ynode_get(root, "traffic")) != NULL)
			config_parse_traffic(&c, pn, &cfg->traffic);
		load_key(&c, cfg->message_key_file, &cfg->message_key,
		    &cfg->message_key_len);
		if (cfg->root == NULL)
			cfg->root = xstrdup(CONFIG_DEFAULT_ROOT);
		if (cfg->queue_prefix == NULL)
			cfg->queue_prefix = xstrdup(CONFIG_DEFAULT_PREFIX);
		if (cfg->store == NULL)
			cfg->store = xasprintf("file://%s/store", cfg->root);
		if (cfg->queue == NULL)
			cfg->queue = xasprintf("file://%s/queue", cfg->root);
		/* The queue name must fit SQS's limit when we know it. */
		if (cfg->nerrors == 0 && cfg->deployment_group != NULL &&
		    cfg->instance_id != NULL) {
			qn = queue_name(cfg->queue_prefix,
			    cfg->deployment_group, cfg->instance_id, &e);
			pn = NULL;
			for (size_t i = 0; i + 1 < root->nkids; i += 2)
				if (strcmp(root->kids[i]->value,
				    "queue_prefix") == 0)
					pn = root->kids[i + 1];
			if (qn == NULL)
				cerr(&c, pn, "queue_prefix", "%s", e.msg);
			free(qn);
		}
		ytree_free(t);
	}
	cerr_sort(&c);
	free(c.basedir);
	return cfg->nerrors == 0 ? 0 : -1;
}

int
config_parse(struct config *cfg, const char *data, size_t len,
    const char *name, struct errbuf *eb)
{
	return config_parse_in(cfg, data, len, name == NULL ? "hookd.yml" :
	    name, NULL, eb);
}

int
config_load(struct config *cfg, const char *path, const char *name,
    struct errbuf *eb)
{
	char	*data = NULL, *dir;
	size_t	 len = 0;
	int	 ret;

	if (read_file(path, &data, &len, eb) == -1)
		return -1;
	dir = dir_of(path);
	ret = config_parse_in(cfg, data, len, name == NULL ? path : name, dir,
	    eb);
	free(dir);
	free(data);
	return ret;
}

static const struct {
	const char	*name;
	int		 level;
} log_levels[] = {
	{ "error", LOG_ERR },
	{ "warning", LOG_WARNING },
	{ "notice", LOG_NOTICE },
	{ "info", LOG_INFO },
	{ "debug", LOG_DEBUG },
};

const char *
config_log_level_name(int level)
{
	for (size_t i = 0; i < nitems(log_levels); i++)
		if (log_levels[i].level == level)
			return log_levels[i].name;
	return "unknown";
}

int
config_log_level_from_name(const char *name)
{
	for (size_t i = 0; i < nitems(log_levels); i++)
		if (strcmp(log_levels[i].name, name) == 0)
			return log_levels[i].level;
	return -1;
}

int
config_resolve_group(const struct config *cfg, const char *arg_group,
    int (*tag_fn)(void *, const char *, char **, struct errbuf *),
    void *tag_arg, char **ret_group, const char **ret_source,
    struct errbuf *eb)
{
	const char	*src = NULL, *v = NULL;
	char		*tagv = NULL;
	struct errbuf	 e;
	int		 ret = -1;

	if (arg_group != NULL && *arg_group != '\0') {
		v = arg_group;
		src = "--group";
	} else if (cfg->deployment_group != NULL) {
		v = cfg->deployment_group;
		src = "hookd.yml deployment_group";
	} else if ((v = secure_getenv("DEPLOYMENT_GROUP_NAME")) != NULL &&
	    *v != '\0') {
		src = "$DEPLOYMENT_GROUP_NAME";
	} else if (tag_fn != NULL) {
		if (tag_fn(tag_arg, "hookd:deployment-group", &tagv, eb) == -1)
			return -1;
		v = tagv;
		src = "EC2 tag hookd:deployment-group";
	}
	if (v == NULL || *v == '\0') {
		errbuf_set(eb, EK_CONFIG, "no deployment group: use --group, "
		    "deployment_group in hookd.yml, $DEPLOYMENT_GROUP_NAME or "
		    "the EC2 tag hookd:deployment-group");
		goto out;
	}
	if (name_check("deployment group", v, &e) == -1) {
		errbuf_set(eb, EK_CONFIG, "%s (from %s)", e.msg, src);
		goto out;
	}
	*ret_group = xstrdup(v);
	*ret_source = src;
	ret = 0;
 out:
	free(tagv);
	return ret;
}

/* deployer.yml */

#define DF(k, t, m, lo, hi, req) \
	{ k, t, offsetof(struct deployer_config, m), lo, hi, req }

static const struct field deployer_fields[] = {
	DF("application", F_NAME, application, 0, 0, true),
	DF("store", F_STORE, store, 0, 0, true),
	DF("queue", F_QUEUE, queue, 0, 0, true),
	DF("queue_prefix", F_PREFIX, queue_prefix, 0, 0, false),
	DF("region", F_REGION, region, 0, 0, false),
	DF("message_key_file", F_KEYFILE, message_key_file, 0, 0, false),
	DF("sqs_protocol", F_SQSPROTO, sqs_protocol, 0, 0, false),
	DF("strict", F_BOOL, strict, 0, 0, false),
	DF("max_requests_in_flight", F_UINT, max_requests_in_flight, 1, 1024,
	    false),
	{ "groups", F_GROUPS, 0, 0, 0, true },
};

#define GF(k, t, m, lo, hi) \
	{ k, t, offsetof(struct deployer_group, m), lo, hi, false }

/* deployment_config is F_GROUPS only so check_map hands its node back. */
static const struct field group_fields[] = {
	GF("deployment_config", F_GROUPS, dc, 0, 0),
	GF("rollback_on_failure", F_BOOL, rollback_on_failure, 0, 0),
	GF("timeout", F_UINT, timeout, 1, 86400),
	GF("strategy", F_STRATEGY, strategy, 0, 0),
	GF("blue_green", F_BLUEGREEN, bg, 0, 0),
	/* Rollout gates */
	GF("alarms", F_ALARMS, alarms, 0, DEPLOYER_ALARMS_MAX),
	GF("ignore_alarm_poll_failure", F_BOOL, ignore_alarm_poll_failure,
	    0, 0),
	GF("health_check", F_ARGV, health_check, 1, DEPLOYER_ARGV_MAX),
	GF("auto_rollback", F_ROLLBACK, auto_rollback, 0, 0),
	GF("notify", F_TOPIC, notify, 0, 0),
	GF("gate_interval", F_UINT, gate_interval, 1, GATE_INTERVAL_MAX),
};

#define BF(k, t, m, lo, hi) \
	{ k, t, offsetof(struct blue_green_config, m), lo, hi, false }

static const struct field bg_fields[] = {
	BF("auto_scaling_group", F_HOOKNAME, auto_scaling_group, 0, 0),
	BF("ready_timeout", F_UINT, ready_timeout, 1, BG_TIMEOUT_MAX),
	BF("wait_before_cutover", F_BLUEGREEN, wait_before_cutover, 0, 0),
	BF("keep_blue", F_UINT, keep_blue, 0, BG_TIMEOUT_MAX),
};

/* groups.NAME.blue_green, and strategy blue_green's requirements. */
static void
check_blue_green(struct cctx *c, const struct ynode *group,
    struct deployer_group *g, const char *where)
{
	struct blue_green_config *bg = &g->bg;
	const struct ynode	*v, *w;
	char			 key[300], qb[QMAX * 4];
	uint64_t		 u;

	bg->ready_timeout = BG_READY_TIMEOUT_DEFAULT;
	bg->keep_blue = BG_KEEP_BLUE_DEFAULT;
	v = group != NULL ? ynode_get(group, "blue_green") : NULL;
	(void)snprintf(key, sizeof(key), "%sblue_green", where);
	if (v != NULL && !ynode_is_null(v)) {
		if (v->type != YN_MAP) {
			cerr(c, v, key, "must be a mapping of settings, not "
			    "%s", node_kind(v));
			return;
		}
		(void)snprintf(key, sizeof(key), "%sblue_green.", where);
		check_map(c, v, bg_fields, nitems(bg_fields), bg, key, NULL);
		(void)snprintf(key, sizeof(key),
		    "%sblue_green.wait_before_cutover", where);
		if ((w = ynode_get(v, "wait_before_cutover")) != NULL &&
		    !ynode_is_null(w)) {
			if (w->type == YN_SCALAR &&
			    strcmp(w->value, "manual") == 0)
				bg->manual_cutover = true;
			else if (w->type != YN_SCALAR || !w->plain ||
			    parse_u64(w->value, 0, BG_TIMEOUT_MAX, &u) == -1)
				cerr(c, w, key, "'%s': must be seconds "
				    "0..%d or \"manual\"", quote(w, qb,
				    sizeof(qb)), BG_TIMEOUT_MAX);
			else
				bg->wait_before_cutover = (unsigned)u;
		}
	} else if (v != NULL || g->strategy != STRATEGY_BLUE_GREEN)
		return;
	if (v != NULL && g->strategy != STRATEGY_BLUE_GREEN) {
		(void)snprintf(key, sizeof(key), "%sblue_green", where);
		cerr(c, v, key, "is only read with strategy: blue_green");
	}
}

static void	check_dc_gates(struct cctx *, const struct ynode *,
		    const char *, struct deploy_config *);
static const struct ynode *map_get(const struct ynode *, const char *);
static void	group_gates_defaults(struct deployer_group *);
static void	group_gates_finish(struct cctx *, const struct ynode *,
		    const char *, struct deployer_group *);
static void	group_gates_release(struct deployer_group *);

static void
check_deploy_config(struct cctx *c, const struct ynode *v, const char *key,
    struct deploy_config *dc)
{
	static const char *const kinds[] = { "AllAtOnce", "HalfAtATime",
	    "OneAtATime" };
	char		 qb[QMAX * 4], mkey[300];
	const struct ynode *mv;
	uint64_t	 u;
	size_t		 n;

	if (v->type == YN_SCALAR) {
		for (size_t i = 0; i < nitems(kinds); i++)
			if (strcmp(v->value, kinds[i]) == 0) {
				dc->kind = (enum deploy_config_kind)i;
				return;
			}
		cerr(c, v, key, "'%s': must be AllAtOnce, HalfAtATime, "
		    "OneAtATime, {minimum_healthy: N or \"N%%\"} or a mapping "
		    "of canary, bake and then", quote(v, qb, sizeof(qb)));
		return;
	}
	if (map_get(v, "canary") != NULL || map_get(v, "bake") != NULL ||
	    map_get(v, "then") != NULL) {
		check_dc_gates(c, v, key, dc);
		return;
	}
	if (v->type != YN_MAP || v->nkids != 2 ||
	    v->kids[0]->type != YN_SCALAR ||
	    strcmp(v->kids[0]->value, "minimum_healthy") != 0) {
		cerr(c, v, key, "must be AllAtOnce, HalfAtATime, OneAtATime, "
		    "{minimum_healthy: N or \"N%%\"} or a mapping of canary, "
		    "bake and then");
		return;
	}
	if ((mv = v->kids[1]) == NULL)	/* a tree never has one */
		return;
	(void)snprintf(mkey, sizeof(mkey), "%s.minimum_healthy", key);
	if (mv->type != YN_SCALAR || ynode_is_null(mv)) {
		cerr(c, mv, mkey, "must be a count or a percentage (\"75%%\")");
		return;
	}
	n = mv->len;
	dc->kind = DC_MIN_HEALTHY;
	dc->percent = n > 0 && mv->value[n - 1] == '%';
	{
		char	 num[32];

		if (n == 0 || n >= sizeof(num) || (!dc->percent && !mv->plain))
			goto bad;
		(void)strlcpy(num, mv->value, sizeof(num));
		if (dc->percent)
			num[n - 1] = '\0';
		if (parse_u64(num, 0, dc->percent ? 99 : 100000, &u) == -1)
			goto bad;
	}
	dc->min_healthy = (unsigned)u;
	return;
 bad:
	cerr(c, mv, mkey, "'%s': must be a count 0..100000 or a percentage "
	    "0%%..99%%", quote(mv, qb, sizeof(qb)));
}

static void
check_groups(struct cctx *c, struct deployer_config *dcfg,
    const struct ynode *groups)
{
	char		 qb[QMAX * 4], where[256];
	struct errbuf	 e;

	if (groups->type != YN_MAP || groups->nkids == 0) {
		cerr(c, groups, "groups", "must be a mapping of group names to "
		    "settings, with at least one group");
		return;
	}
	if (groups->nkids / 2 > CONFIG_GROUPS_MAX) {
		cerr(c, groups, "groups", "more than %d groups",
		    CONFIG_GROUPS_MAX);
		return;
	}
	dcfg->groups = xcalloc(groups->nkids / 2, sizeof(*dcfg->groups));
	for (size_t i = 0; i + 1 < groups->nkids; i += 2) {
		const struct ynode	*k = groups->kids[i];
		const struct ynode	*v = groups->kids[i + 1];
		struct deployer_group	*g;
		const struct ynode	*dcn = NULL;

		if (k->type != YN_SCALAR ||
		    name_check("", k->value, &e) == -1) {
			cerr(c, k, "groups", "%s", k->type != YN_SCALAR ?
			    "group names must be strings" : e.msg + 1);
			continue;
		}
		for (size_t j = 0; j < dcfg->ngroups; j++)
			if (strcmp(dcfg->groups[j].name, k->value) == 0) {
				cerr(c, k, "groups", "'%s': duplicate group",
				    quote(k, qb, sizeof(qb)));
				goto next;
			}
		g = &dcfg->groups[dcfg->ngroups++];
		g->name = xstrdup(k->value);
		g->line = k->line;
		g->dc.kind = DC_ONE_AT_A_TIME;	/* CodeDeploy's default */
		g->rollback_on_failure = true;
		g->timeout = DEPLOYER_TIMEOUT_DEFAULT;
		g->bg.ready_timeout = BG_READY_TIMEOUT_DEFAULT;
		g->bg.keep_blue = BG_KEEP_BLUE_DEFAULT;
		group_gates_defaults(g);
		if (ynode_is_null(v)) {
			group_gates_finish(c, NULL, NULL, g);
			continue;
		}
		if (v->type != YN_MAP) {
			(void)snprintf(where, sizeof(where), "groups.%s",
			    g->name);
			cerr(c, v, where, "must be a mapping of settings, "
			    "not %s", node_kind(v));
			continue;
		}
		(void)snprintf(where, sizeof(where), "groups.%s.", g->name);
		check_map(c, v, group_fields, nitems(group_fields), g, where,
		    &dcn);
		check_blue_green(c, v, g, where);
		if (dcn != NULL) {
			(void)snprintf(where, sizeof(where),
			    "groups.%s.deployment_config", g->name);
			check_deploy_config(c, dcn, where, &g->dc);
		}
		(void)snprintf(where, sizeof(where), "groups.%s.", g->name);
		group_gates_finish(c, v, where, g);
 next:
		;
	}
}

void
deployer_config_init(struct deployer_config *dcfg)
{
	memset(dcfg, 0, sizeof(*dcfg));
}

void
deployer_config_release(struct deployer_config *dcfg)
{
	free(dcfg->path);
	free(dcfg->application);
	free(dcfg->store);
	free(dcfg->queue);
	free(dcfg->queue_prefix);
	free(dcfg->region);
	free(dcfg->message_key_file);
	if (dcfg->message_key != NULL)
		freezero(dcfg->message_key, dcfg->message_key_len);
	for (size_t i = 0; i < dcfg->ngroups; i++) {
		free(dcfg->groups[i].name);
		free(dcfg->groups[i].bg.auto_scaling_group);
		group_gates_release(&dcfg->groups[i]);
	}
	free(dcfg->groups);
	errors_free(dcfg->errors, dcfg->nerrors);
	deployer_config_init(dcfg);
}

static int
deployer_parse_in(struct deployer_config *dcfg, const char *data, size_t len,
    const char *name, const char *basedir, struct errbuf *eb)
{
	struct cctx		 c = { 0 };
	struct ytree		*t;
	const struct ynode	*root = NULL, *groups = NULL;

	free(dcfg->path);
	dcfg->path = xstrdup(name);
	c.name = dcfg->path;
	c.basedir = basedir == NULL ? NULL : xstrdup(basedir);
	c.errors = &dcfg->errors;
	c.nerrors = &dcfg->nerrors;
	c.eb = eb;
	if ((t = load_root(&c, data, len, &root)) != NULL) {
		check_map(&c, root, deployer_fields, nitems(deployer_fields),
		    dcfg, "", &groups);
		if (groups != NULL)
			check_groups(&c, dcfg, groups);
		load_key(&c, dcfg->message_key_file, &dcfg->message_key,
		    &dcfg->message_key_len);
		if (dcfg->queue_prefix == NULL)
			dcfg->queue_prefix = xstrdup(CONFIG_DEFAULT_PREFIX);
		ytree_free(t);
	}
	cerr_sort(&c);
	free(c.basedir);
	return dcfg->nerrors == 0 ? 0 : -1;
}

int
deployer_config_parse(struct deployer_config *dcfg, const char *data,
    size_t len, const char *name, struct errbuf *eb)
{
	return deployer_parse_in(dcfg, data, len, name == NULL ?
	    DEPLOYER_YML : name, NULL, eb);
}

int
deployer_config_load(struct deployer_config *dcfg, const char *path,
    const char *name, struct errbuf *eb)
{
	char	*data = NULL, *dir;
	size_t	 len = 0;
	int	 ret;

	if (read_file(path, &data, &len, eb) == -1)
		return -1;
	dir = dir_of(path);
	ret = deployer_parse_in(dcfg, data, len, name == NULL ? path : name,
	    dir, eb);
	free(dir);
	free(data);
	return ret;
}

const struct deployer_group *
deployer_config_group(const struct deployer_config *dcfg, const char *name)
{
	for (size_t i = 0; i < dcfg->ngroups; i++)
		if (strcmp(dcfg->groups[i].name, name) == 0)
			return &dcfg->groups[i];
	return NULL;
}

int
config_find_deployer_yml(const char *start, char **ret_path,
    struct errbuf *eb)
{
	struct stat	 st;
	char		*dir, *cand, *slash;

	if (start != NULL)
		dir = xstrdup(start);
	else if ((dir = getcwd(NULL, 0)) == NULL)
		return errbuf_errno(eb, EK_IO, "cannot get the current "
		    "directory");
	for (;;) {
		cand = xasprintf("%s%s%s", dir,
		    dir[strlen(dir) - 1] == '/' ? "" : "/", DEPLOYER_YML);
		if (stat(cand, &st) == 0 && S_ISREG(st.st_mode)) {
			*ret_path = cand;
			free(dir);
			return 0;
		}
		free(cand);
		slash = strrchr(dir, '/');
		if (slash == NULL || (slash == dir && dir[1] == '\0'))
			break;
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	errbuf_set(eb, EK_NOINPUT, "no %s in '%s' or any parent directory",
	    DEPLOYER_YML, start != NULL ? start : ".");
	free(dir);
	return -1;
}

size_t
deploy_config_batch_size(const struct deploy_config *dc, size_t n)
{
	size_t	 healthy;

	if (n == 0)
		return 0;
	switch (dc->kind) {
	case DC_ALL_AT_ONCE:
		return n;
	case DC_HALF_AT_A_TIME:
		return n / 2 > 0 ? n / 2 : 1;
	case DC_ONE_AT_A_TIME:
		return 1;
	case DC_MIN_HEALTHY:
		healthy = dc->percent ?
		    (n * dc->min_healthy + 99) / 100 : dc->min_healthy;
		return healthy >= n ? 0 : n - healthy;
	}
	return 0;
}

const char *
deploy_config_name(const struct deploy_config *dc)
{
	switch (dc->kind) {
	case DC_ALL_AT_ONCE:
		return "AllAtOnce";
	case DC_HALF_AT_A_TIME:
		return "HalfAtATime";
	case DC_ONE_AT_A_TIME:
		return "OneAtATime";
	case DC_MIN_HEALTHY:
		return "minimum_healthy";
	}
	return "unknown";
}

/*
 * Rollout gates: deployment_config's canary/bake/then mapping and
 * the group keys alarms, ignore_alarm_poll_failure, health_check,
 * auto_rollback, notify and gate_interval.  Kept together here so the
 * generic YAML machinery above only dispatches to them.
 */

static const char *const rollback_names[] = { "failure", "alarm", "stop" };

const char *
auto_rollback_name(unsigned bit)
{
	for (size_t i = 0; i < nitems(rollback_names); i++)
		if (bit == 1U << i)
			return rollback_names[i];
	return NULL;
}

/* The value node of key in mapping map, or NULL (also for a null). */
static const struct ynode *
map_get(const struct ynode *map, const char *key)
{
	if (map == NULL || map->type != YN_MAP)
		return NULL;
	for (size_t i = 0; i + 1 < map->nkids; i += 2)
		if (map->kids[i]->type == YN_SCALAR &&
		    strcmp(map->kids[i]->value, key) == 0)
			return ynode_is_null(map->kids[i + 1]) ? NULL :
			    map->kids[i + 1];
	return NULL;
}

/* A count lo..hi, or with pct_ok a percentage 1%..99%. */
static int
parse_count_or_percent(const struct ynode *v, uint64_t lo, uint64_t hi,
    bool pct_ok, unsigned *ret, bool *ret_pct)
{
	char		 num[32];
	size_t		 n;
	uint64_t	 u;
	bool		 pct;

	if (v->type != YN_SCALAR || ynode_is_null(v))
		return -1;
	n = v->len;
	pct = pct_ok && n > 0 && v->value[n - 1] == '%';
	if (n == 0 || n >= sizeof(num) || (!pct && !v->plain))
		return -1;
	(void)strlcpy(num, v->value, sizeof(num));
	if (pct)
		num[n - 1] = '\0';
	if (parse_u64(num, pct ? 1 : lo, pct ? 99 : hi, &u) == -1)
		return -1;
	*ret = (unsigned)u;
	*ret_pct = pct;
	return 0;
}

static void
check_dc_gates(struct cctx *c, const struct ynode *v, const char *key,
    struct deploy_config *dc)
{
	static const char *const keys[] = { "canary", "bake", "then" };
	char		 qb[QMAX * 4], sub[300];
	const struct ynode *k, *x;
	bool		 seen[nitems(keys)] = { false }, pct;
	unsigned	 u;
	size_t		 j;

	for (size_t i = 0; i + 1 < v->nkids; i += 2) {
		k = v->kids[i];
		x = v->kids[i + 1];
		if (k == NULL || x == NULL)	/* a tree never has one */
			continue;
		for (j = 0; j < nitems(keys); j++)
			if (k->type == YN_SCALAR &&
			    strcmp(k->value, keys[j]) == 0)
				break;
		(void)snprintf(sub, sizeof(sub), "%s.%s", key,
		    k->type == YN_SCALAR ? quote(k, qb, sizeof(qb)) : "?");
		if (j == nitems(keys)) {
			if (k->type == YN_SCALAR &&
			    strcmp(k->value, "minimum_healthy") == 0)
				cerr(c, k, sub, "goes alone or under then "
				    "(then: {minimum_healthy: N})");
			else
				cerr(c, k, sub, "unknown key "
				    "(deployment_config takes canary, bake "
				    "and then, or minimum_healthy alone)");
			continue;
		}
		if (seen[j]) {
			cerr(c, k, sub, "duplicate key");
			continue;
		}
		seen[j] = true;
		switch (j) {
		case 0:
			if (parse_count_or_percent(x, 1, 100000, true, &u,
			    &pct) == -1) {
				cerr(c, x, sub, "'%s': must be a count "
				    "1..100000 or a percentage 1%%..99%% "
				    "(\"10%%\")", x->type == YN_SCALAR ?
				    quote(x, qb, sizeof(qb)) : node_kind(x));
				break;
			}
			dc->canary = u;
			dc->canary_percent = pct;
			break;
		case 1:
			if (parse_count_or_percent(x, 0, DEPLOYER_BAKE_MAX,
			    false, &u, &pct) == -1) {
				cerr(c, x, sub, "'%s': must be a number of "
				    "seconds 0..%d", x->type == YN_SCALAR ?
				    quote(x, qb, sizeof(qb)) : node_kind(x),
				    DEPLOYER_BAKE_MAX);
				break;
			}
			dc->bake = u;
			break;
		default:
			if (x->type == YN_MAP && (x->nkids != 2 ||
			    map_get(x, "minimum_healthy") == NULL)) {
				cerr(c, x, sub, "must be AllAtOnce, "
				    "HalfAtATime, OneAtATime or "
				    "{minimum_healthy: N or \"N%%\"}");
				break;
			}
			check_deploy_config(c, x, sub, dc);
			break;
		}
	}
}

/* Whether s is arn:PARTITION:sns:REGION:ACCOUNT:TOPIC. */
static bool
topic_arn_ok(const char *s)
{
	const char	*p = s, *part[6];
	size_t		 n = 0, tl;

	for (;;) {
		if (n == nitems(part))
			return false;
		part[n++] = p;
		if ((p = strchr(p, ':')) == NULL)
			break;
		p++;
	}
	if (n != 6 || strncmp(part[0], "arn:", 4) != 0 ||
	    strncmp(part[2], "sns:", 4) != 0 || part[3][0] == ':' ||
	    part[4] - part[3] > 33 || part[5] - part[4] != 13)
		return false;
	for (const char *a = part[4]; a < part[5] - 1; a++)
		if (*a < '0' || *a > '9')
			return false;
	tl = strlen(part[5]);
	if (tl > 5 && strcmp(part[5] + tl - 5, ".fifo") == 0)
		tl -= 5;
	if (tl == 0 || tl > 256)
		return false;
	for (size_t i = 0; i < tl; i++)
		if (!isalnum((unsigned char)part[5][i]) && part[5][i] != '-' &&
		    part[5][i] != '_')
			return false;
	return true;
}

/* A list of scalars into a new NULL-ended array; NULL on an error. */
static char **
string_list(struct cctx *c, const struct field *f, const struct ynode *v,
    size_t *ret_n)
{
	char		**l;
	const char	*s;
	size_t		 n = 0;

	if (v->type != YN_SEQ) {
		cerr(c, v, f->key, "must be a list%s, not %s",
		    f->type == F_ARGV ? " (an argv, run without a shell: "
		    "[scripts/smoke.sh, --fast])" : "", node_kind(v));
		return NULL;
	}
	if (v->nkids < f->min || v->nkids > f->max) {
		cerr(c, v, f->key, "must have %llu to %llu items, not %zu",
		    (unsigned long long)f->min, (unsigned long long)f->max,
		    v->nkids);
		return NULL;
	}
	l = xcalloc(v->nkids + 1, sizeof(*l));
	for (size_t i = 0; i < v->nkids; i++) {
		if ((s = scalar(c, v->kids[i], f->key)) == NULL)
			goto bad;
		l[n++] = xstrdup(s);
	}
	*ret_n = n;
	return l;
 bad:
	for (size_t i = 0; i < n; i++)
		free(l[i]);
	free(l);
	return NULL;
}

static void
strv_free(char **l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; l[i] != NULL; i++)
		free(l[i]);
	free(l);
}

static void
check_gate_field(struct cctx *c, const struct field *f,
    const struct ynode *v, void *obj)
{
	struct deployer_group	*g = obj;
	char			 qb[QMAX * 4];
	const char		*s;
	char			**l;
	unsigned		 bits = 0, bit;
	size_t			 n = 0, j;

	switch (f->type) {
	case F_ALARMS:
		if ((l = string_list(c, f, v, &n)) == NULL)
			return;
		for (size_t i = 0; i < n; i++) {
			if (strlen(l[i]) > 255) {
				cerr(c, v->kids[i], f->key, "'%s': an alarm "
				    "name is at most 255 bytes",
				    quote(v->kids[i], qb, sizeof(qb)));
				strv_free(l);
				return;
			}
			for (j = 0; j < i; j++)
				if (strcmp(l[i], l[j]) == 0) {
					cerr(c, v->kids[i], f->key, "'%s': "
					    "listed twice", l[i]);
					strv_free(l);
					return;
				}
		}
		strv_free(g->alarms);
		g->alarms = l;
		g->nalarms = n;
		return;
	case F_ARGV:
		if ((l = string_list(c, f, v, &n)) == NULL)
			return;
		strv_free(g->health_check);
		g->health_check = l;
		g->nhealth_check = n;
		return;
	case F_ROLLBACK:
		if (v->type != YN_SEQ) {
			cerr(c, v, f->key, "must be a list of failure, alarm "
			    "and stop ([] for none), not %s", node_kind(v));
			return;
		}
		for (size_t i = 0; i < v->nkids; i++) {
			if ((s = scalar(c, v->kids[i], f->key)) == NULL)
				return;
			for (j = 0, bit = 0; j < nitems(rollback_names); j++)
				if (strcmp(s, rollback_names[j]) == 0)
					bit = 1U << j;
			if (bit == 0 || (bits & bit) != 0) {
				cerr(c, v->kids[i], f->key, "'%s': %s",
				    quote(v->kids[i], qb, sizeof(qb)),
				    bit == 0 ? "must be failure, alarm or "
				    "stop" : "listed twice");
				return;
			}
			bits |= bit;
		}
		g->auto_rollback = bits;
		return;
	case F_TOPIC:
		if ((s = scalar(c, v, f->key)) == NULL)
			return;
		if (!topic_arn_ok(s)) {
			cerr(c, v, f->key, "'%s': not an SNS topic ARN "
			    "(arn:aws:sns:REGION:ACCOUNT:TOPIC)",
			    quote(v, qb, sizeof(qb)));
			return;
		}
		set_string(obj, f->off, s);
		return;
	default:
		return;
	}
}

static void
group_gates_defaults(struct deployer_group *g)
{
	g->auto_rollback = AUTO_ROLLBACK_FAILURE;
	g->gate_interval = GATE_INTERVAL_DEFAULT;
}

/*
 * After a group's keys: rollback_on_failure and auto_rollback say the
 * same thing about failures (the older key keeps working); both given
 * must agree.
 */
static void
group_gates_finish(struct cctx *c, const struct ynode *map,
    const char *where, struct deployer_group *g)
{
	const struct ynode	*ar, *rof;
	char			 full[300];
	bool			 ar_fail;

	ar = map_get(map, "auto_rollback");
	rof = map_get(map, "rollback_on_failure");
	ar_fail = (g->auto_rollback & AUTO_ROLLBACK_FAILURE) != 0;
	if (ar != NULL && rof != NULL && ar_fail != g->rollback_on_failure) {
		(void)snprintf(full, sizeof(full), "%srollback_on_failure",
		    where);
		cerr(c, rof, full, "%s contradicts auto_rollback, which %s "
		    "failure (keep one of the two)", g->rollback_on_failure ?
		    "true" : "false", ar_fail ? "lists" : "does not list");
		return;
	}
	if (ar != NULL)
		g->rollback_on_failure = ar_fail;
	else if (!g->rollback_on_failure)
		g->auto_rollback &= ~AUTO_ROLLBACK_FAILURE;
}

static void
group_gates_release(struct deployer_group *g)
{
	strv_free(g->alarms);
	strv_free(g->health_check);
	free(g->notify);
}

size_t
deploy_config_canary_size(const struct deploy_config *dc, size_t n)
{
	size_t	 k;

	if (dc->canary == 0 || n == 0)
		return 0;
	k = dc->canary_percent ? (n * dc->canary + 99) / 100 : dc->canary;
	if (k == 0)
		k = 1;
	return k > n ? n : k;
}

const char *
deploy_config_describe(const struct deploy_config *dc, char *buf,
    size_t len)
{
	char	 then[64];

	if (dc->kind == DC_MIN_HEALTHY)
		(void)snprintf(then, sizeof(then), "minimum_healthy %u%s",
		    dc->min_healthy, dc->percent ? "%" : "");
	else
		(void)strlcpy(then, deploy_config_name(dc), sizeof(then));
	if (dc->canary == 0 && dc->bake == 0)
		(void)strlcpy(buf, then, len);
	else if (dc->canary == 0)
		(void)snprintf(buf, len, "%s, bake %u s", then, dc->bake);
	else if (dc->bake == 0)
		(void)snprintf(buf, len, "canary %u%s, then %s", dc->canary,
		    dc->canary_percent ? "%" : "", then);
	else
		(void)snprintf(buf, len, "canary %u%s, bake %u s, then %s",
		    dc->canary, dc->canary_percent ? "%" : "", dc->bake, then);
	return buf;
}
