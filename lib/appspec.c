/* SPDX-License-Identifier: ISC */
/*
 * appspec.c: appspec.yml -> struct appspec.
 *
 * yamltree.c turns the text into a small tree of our own (struct ynode)
 * under the appspec's nesting, node and alias limits, so a hostile file
 * cannot make us recurse, loop or expand without bound.  The schema walk
 * here checks the tree against the EC2/on-premises AppSpec as the
 * reference agent reads it, fills the model, and records every error
 * it finds, each as one "file:line:col: path: what" line.  The
 * permissions: section lives in appspec_perm.c.  This module never
 * logs and never exits.
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
#include <unistd.h>

#include "appspec.h"
#include "appspec_int.h"
#include "bundle.h"
#include "caps.h"
#include "errbuf.h"
#include "quote.h"
#include "xalloc.h"
#include "yamltree.h"

#include "banned.h"

static const char *const lc_names[LC_NEVENTS] = {
	[LC_BEFORE_BLOCK_TRAFFIC] = "BeforeBlockTraffic",
	[LC_BLOCK_TRAFFIC] = "BlockTraffic",
	[LC_AFTER_BLOCK_TRAFFIC] = "AfterBlockTraffic",
	[LC_APPLICATION_STOP] = "ApplicationStop",
	[LC_DOWNLOAD_BUNDLE] = "DownloadBundle",
	[LC_BEFORE_INSTALL] = "BeforeInstall",
	[LC_INSTALL] = "Install",
	[LC_AFTER_INSTALL] = "AfterInstall",
	[LC_APPLICATION_START] = "ApplicationStart",
	[LC_VALIDATE_SERVICE] = "ValidateService",
	[LC_BEFORE_ALLOW_TRAFFIC] = "BeforeAllowTraffic",
	[LC_ALLOW_TRAFFIC] = "AllowTraffic",
	[LC_AFTER_ALLOW_TRAFFIC] = "AfterAllowTraffic",
};

/* Events an appspec may attach scripts to: the suggestions we offer. */
static const char *const lc_scriptable_names[] = {
	"BeforeBlockTraffic", "AfterBlockTraffic", "ApplicationStop",
	"BeforeInstall", "AfterInstall", "ApplicationStart",
	"ValidateService", "BeforeAllowTraffic", "AfterAllowTraffic", NULL
};

static const char *const feb_names[] = {
	[FEB_UNSET] = "DISALLOW",
	[FEB_DISALLOW] = "DISALLOW",
	[FEB_OVERWRITE] = "OVERWRITE",
	[FEB_RETAIN] = "RETAIN",
};

static const char *const top_keys[] = {
	"version", "os", "files", "file_exists_behavior", "permissions",
	"hooks", NULL
};
static const char *const file_keys[] = { "source", "destination", NULL };
static const char *const script_keys[] = {
	"location", "timeout", "runas", "sudo", NULL
};

/* Keys real files put in a files: entry, and why nothing comes of them. */
static const struct ap_hint file_hints[] = {
	{ "overwrite", "a files: entry has no overwrite; "
	    "'file_exists_behavior: OVERWRITE' at the top level replaces "
	    "existing files" },
	{ "owner", "files: sets no owner; a permissions: entry for the "
	    "destination does" },
	{ "group", "files: sets no group; a permissions: entry for the "
	    "destination does" },
	{ "mode", "files: sets no mode; a permissions: entry for the "
	    "destination does" },
	{ NULL, NULL }
};

/* The same for a script of a hook. */
static const struct ap_hint script_hints[] = {
	{ "commands", "a hook runs the script at location only, never "
	    "commands" },
	{ NULL, NULL }
};

/*
 * Returns the name of an event, or "?" for a value outside the enum.
 * Never NULL; the string is static.
 */
const char *
lc_event_name(enum lc_event ev)
{
	if ((unsigned)ev >= LC_NEVENTS)
		return "?";
	return lc_names[ev];
}

/* Returns the event for an exact name, or -1.  Never fails otherwise. */
int
lc_event_from_name(const char *name)
{
	for (int i = 0; i < LC_NEVENTS; i++)
		if (strcmp(lc_names[i], name) == 0)
			return i;
	return -1;
}

/* Returns whether scripts may be attached to the event. */
bool
lc_event_scriptable(enum lc_event ev)
{
	return (unsigned)ev < LC_NEVENTS && ev != LC_DOWNLOAD_BUNDLE &&
	    ev != LC_INSTALL && ev != LC_BLOCK_TRAFFIC &&
	    ev != LC_ALLOW_TRAFFIC;
}

/* Returns "DISALLOW", "OVERWRITE" or "RETAIN" (FEB_UNSET: DISALLOW). */
const char *
feb_name(enum file_exists_behavior feb)
{
	if ((unsigned)feb >= nitems(feb_names))
		return "?";
	return feb_names[feb];
}

/* Returns FEB_* for an exact upper-case name, or -1. */
int
feb_from_name(const char *name)
{
	for (size_t i = FEB_DISALLOW; i < nitems(feb_names); i++)
		if (strcmp(feb_names[i], name) == 0)
			return (int)i;
	return -1;
}

/* Prepare an empty model; appspec_release() may follow at any time. */
void
appspec_init(struct appspec *as)
{
	memset(as, 0, sizeof(*as));
}

static void
perm_release(struct appspec_perm *p)
{
	free(p->object);
	free(p->pattern);
	for (size_t i = 0; i < p->nexcept; i++)
		free(p->except[i]);
	free(p->except);
	free(p->owner);
	free(p->group);
	for (size_t i = 0; i < p->nacls; i++)
		free(p->acls[i].name);
	free(p->acls);
	if (p->context != NULL) {
		free(p->context->user);
		free(p->context->type);
		free(p->context->range);
		free(p->context);
	}
}

/*
 * Free everything the model holds and leave it empty.  Safe on a zeroed
 * model and on one whose load failed halfway.
 */
void
appspec_release(struct appspec *as)
{
	free(as->path);
	free(as->version);
	free(as->os);
	for (size_t i = 0; i < as->nfiles; i++) {
		free(as->files[i].source);
		free(as->files[i].destination);
	}
	free(as->files);
	for (size_t i = 0; i < as->nperms; i++)
		perm_release(&as->perms[i]);
	free(as->perms);
	for (int e = 0; e < LC_NEVENTS; e++) {
		for (size_t i = 0; i < as->nhooks[e]; i++) {
			free(as->hooks[e][i].location);
			free(as->hooks[e][i].runas);
		}
		free(as->hooks[e]);
	}
	for (size_t i = 0; i < as->nerrors; i++)
		free(as->errors[i]);
	free(as->errors);
	for (size_t i = 0; i < as->nwarnings; i++)
		free(as->warnings[i]);
	free(as->warnings);
	memset(as, 0, sizeof(*as));
}

/* Add one formatted error or warning line to the model (bounded). */
static void
ap_vrecord(struct apctx *c, bool warn, unsigned long line, unsigned long col,
    const char *path, const char *fmt, va_list ap)
{
	struct appspec	*as = c->as;
	char		***lines = warn ? &as->warnings : &as->errors;
	size_t		*n = warn ? &as->nwarnings : &as->nerrors;
	unsigned long	(*pos)[2] = warn ? c->wpos : c->pos;
	char		 what[512];

	if (*n >= APPSPEC_ERRORS_MAX)
		return;
	(void)vsnprintf(what, sizeof(what), fmt, ap);
	*lines = xreallocarray(*lines, *n + 1, sizeof(**lines));
	pos[*n][0] = line;
	pos[*n][1] = col;
	(*lines)[(*n)++] = ymsg(c->name, line, col, path, what);
}

/* Put lines in file order (a stable insertion sort; n <= 100). */
static void
ap_sort(char **lines, unsigned long (*pos)[2], size_t n)
{
	for (size_t i = 1; i < n; i++) {
		unsigned long	 l = pos[i][0], k = pos[i][1];
		char		*e = lines[i];
		size_t		 j = i;

		while (j > 0 && (pos[j - 1][0] > l ||
		    (pos[j - 1][0] == l && pos[j - 1][1] > k))) {
			pos[j][0] = pos[j - 1][0];
			pos[j][1] = pos[j - 1][1];
			lines[j] = lines[j - 1];
			j--;
		}
		pos[j][0] = l;
		pos[j][1] = k;
		lines[j] = e;
	}
}

static void HOOKD_PRINTF(5, 6)
ap_err_at(struct apctx *c, unsigned long line, unsigned long col,
    const char *path, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	ap_vrecord(c, false, line, col, path, fmt, ap);
	va_end(ap);
}

/* Record an error at node n (1:1 when NULL); see appspec_int.h. */
void
ap_err(struct apctx *c, const struct ynode *n, const char *path,
    const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	ap_vrecord(c, false, n != NULL ? n->line : 1, n != NULL ? n->col : 1,
	    path, fmt, ap);
	va_end(ap);
}

/* Record a warning at node n (1:1 when NULL); see appspec_int.h. */
void
ap_warn(struct apctx *c, const struct ynode *n, const char *path,
    const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	ap_vrecord(c, true, n != NULL ? n->line : 1, n != NULL ? n->col : 1,
	    path, fmt, ap);
	va_end(ap);
}

/* Returns the value of the last key k of mapping n, or NULL. */
const struct ynode *
ap_get(const struct ynode *n, const char *k)
{
	const struct ynode	*v = NULL;

	if (n == NULL || n->type != YN_MAP)
		return NULL;
	for (size_t i = 0; i + 1 < n->nkids; i += 2) {
		const struct ynode	*key = n->kids[i];

		if (key->type == YN_SCALAR && strcmp(key->value, k) == 0)
			v = n->kids[i + 1];
	}
	return v;
}

/*
 * Returns buf holding the scalar in double quotes, quoted by quote_text()
 * (the one dialect for untrusted text) and shortened to about 40 bytes;
 * a list or mapping is named.  bufsz is at least 8.
 */
#define AP_QUOTE_MAX	48

const char *
ap_quote(const struct ynode *n, char *buf, size_t bufsz)
{
	char	 inner[AP_QUOTE_MAX];

	if (n->type != YN_SCALAR) {
		(void)snprintf(buf, bufsz, "%s", ynode_typename(n));
		return buf;
	}
	(void)quote_text(n->value, n->len, inner,
	    bufsz - 2 < sizeof(inner) ? bufsz - 2 : sizeof(inner));
	(void)snprintf(buf, bufsz, "\"%s\"", inner);
	return buf;
}

/*
 * Returns a new copy of a string scalar (null reads as ""), or NULL
 * after recording why it is not one.
 */
char *
ap_string(struct apctx *c, const struct ynode *n, const char *path,
    bool allow_empty)
{
	if (n->type != YN_SCALAR) {
		ap_err(c, n, path, "must be a string, not %s",
		    ynode_typename(n));
		return NULL;
	}
	if (ynode_is_null(n) || n->len == 0) {
		if (!allow_empty) {
			ap_err(c, n, path, "must not be empty");
			return NULL;
		}
		return xstrdup("");
	}
	if (strlen(n->value) != n->len) {
		ap_err(c, n, path, "must not contain a NUL character");
		return NULL;
	}
	return xstrdup(n->value);
}

/*
 * The event a top-level key names or nearly names (an event pushed out
 * of hooks: by its indentation or a stray character before it), or
 * NULL.  Whatever surrounds the letters is left out.
 */
static const char *
ap_event_like(const char *key)
{
	char		 word[65];
	size_t		 n;
	int		 ev;

	while (*key != '\0' && !isalpha((unsigned char)*key))
		key++;
	for (n = strlen(key); n > 0 &&
	    !isalnum((unsigned char)key[n - 1]); n--)
		;
	if (n == 0 || n >= sizeof(word))
		return NULL;
	memcpy(word, key, n);
	word[n] = '\0';
	if ((ev = lc_event_from_name(word)) != -1)
		return lc_event_name(ev);
	return ysuggest(word, lc_scriptable_names);
}

/*
 * Check keys: strings (an error), duplicates and (with 'known') unknowns
 * (warnings).  Returns -1 when the mapping has too many keys to look at.
 */
int
ap_check_keys(struct apctx *c, const struct ynode *map, const char *path,
    const char *const *known, const struct ap_hint *hints)
{
	char	 kp[256], q[64];

	if (map->nkids / 2 > APPSPEC_MAP_KEYS_MAX) {
		ap_err(c, map, path, "more than %d keys",
		    APPSPEC_MAP_KEYS_MAX);
		return -1;
	}
	for (size_t i = 0; i + 1 < map->nkids; i += 2) {
		const struct ynode	*k = map->kids[i];
		const char		*hint;
		size_t			 j;

		if (k->type != YN_SCALAR || ynode_is_null(k) ||
		    strlen(k->value) != k->len) {
			ap_err(c, k, path, "keys must be plain strings, "
			    "not %s", ap_quote(k, q, sizeof(q)));
			continue;
		}
		ypath_key(kp, sizeof(kp), path, k->value);
		for (j = i + 2; j + 1 < map->nkids; j += 2)
			if (map->kids[j]->type == YN_SCALAR &&
			    strcmp(map->kids[j]->value, k->value) == 0)
				break;
		if (j + 1 < map->nkids) {
			ap_warn(c, k, kp, "duplicate key, ignored: the one "
			    "at line %lu counts (CodeDeploy, too, keeps the "
			    "last)", map->kids[j]->line);
			continue;
		}
		if (known == NULL)
			continue;
		for (j = 0; known[j] != NULL; j++)
			if (strcmp(known[j], k->value) == 0)
				break;
		if (known[j] != NULL)
			continue;
		for (j = 0; hints != NULL && hints[j].key != NULL; j++)
			if (strcmp(hints[j].key, k->value) == 0)
				break;
		if (hints != NULL && hints[j].key != NULL)
			ap_warn(c, k, kp, "ignored, as by CodeDeploy: %s",
			    hints[j].why);
		else if ((hint = ysuggest(k->value, known)) != NULL)
			ap_warn(c, k, kp, "unknown key, ignored as by "
			    "CodeDeploy (did you mean '%s'?)", hint);
		else if (known == top_keys && (hint = ap_event_like(
		    k->value)) != NULL)
			ap_warn(c, k, kp, "a lifecycle event (%s) outside "
			    "hooks:, ignored as by CodeDeploy: its scripts "
			    "never run; indent it under hooks:", hint);
		else
			ap_warn(c, k, kp, "unknown key, ignored as by "
			    "CodeDeploy");
	}
	return 0;
}

/* The schema walk. */

/* Whether a relative path has a ".." component (it would leave the bundle). */
static bool
ap_has_dotdot(const char *s)
{
	const char	*p = s;

	while (*p != '\0') {
		size_t	 n = strcspn(p, "/");

		if (n == 2 && p[0] == '.' && p[1] == '.')
			return true;
		p += n;
		p += strspn(p, "/");
	}
	return false;
}

/*
 * Whether a plain scalar is a YAML 1.1 number equal to zero as
 * CodeDeploy's reader sees one: an integer 0, 00, +0, or a float such as
 * 0.0, 0.00, .0 or 0.
 */
static bool
ap_is_zero_number(const struct ynode *v)
{
	const char	*p = v->value;
	size_t		 digits = 0;

	if (v->type != YN_SCALAR || !v->plain || v->tagged)
		return false;
	if (*p == '-' || *p == '+')
		p++;
	for (; *p == '0'; p++)
		digits++;
	if (*p == '.')
		for (p++; *p == '0'; p++)
			digits++;
	return *p == '\0' && digits > 0 && (size_t)(p - v->value) == v->len;
}

static void
ap_version(struct apctx *c, const struct ynode *root)
{
	const struct ynode	*v = ap_get(root, "version");
	char			 q[64];

	if (v == NULL) {
		ap_err(c, root, "version", "missing; hookd reads appspec "
		    "version 0.0 (write 'version: 0.0')");
		return;
	}
	if (v->type == YN_SCALAR && !v->plain &&
	    strcmp(v->value, "0.0") == 0) {
		ap_err(c, v, "version", "must be the number 0.0, not the "
		    "string %s (CodeDeploy refuses a quoted version)",
		    ap_quote(v, q, sizeof(q)));
		return;
	}
	if (!ap_is_zero_number(v)) {
		ap_err(c, v, "version", "must be 0.0, not %s",
		    ap_quote(v, q, sizeof(q)));
		return;
	}
	if (strcmp(v->value, "0.0") != 0)
		ap_warn(c, v, "version", "%s is read as 0.0, as CodeDeploy "
		    "compares the number; write 'version: 0.0'",
		    ap_quote(v, q, sizeof(q)));
	c->as->version = xstrdup("0.0");
}

static void
ap_os(struct apctx *c, const struct ynode *root)
{
	const struct ynode	*v = ap_get(root, "os");
	char			 q[64];

	if (v == NULL) {
		ap_err(c, root, "os", "missing; hookd serves linux "
		    "(write 'os: linux')");
		return;
	}
	if (v->type == YN_SCALAR && strcmp(v->value, "linux") == 0) {
		c->as->os = xstrdup("linux");
		return;
	}
	if (v->type == YN_SCALAR && strcmp(v->value, "windows") == 0)
		ap_err(c, v, "os", "hookd serves linux hosts only; a "
		    "windows appspec needs the CodeDeploy Windows agent");
	else
		ap_err(c, v, "os", "must be linux, not %s",
		    ap_quote(v, q, sizeof(q)));
}

static void
ap_feb(struct apctx *c, const struct ynode *root)
{
	const struct ynode	*v = ap_get(root, "file_exists_behavior");
	char			 q[64];
	int			 feb;

	if (v == NULL || ynode_is_null(v))
		return;
	if (v->type != YN_SCALAR ||
	    (feb = feb_from_name(v->value)) == -1) {
		ap_err(c, v, "file_exists_behavior", "must be DISALLOW, "
		    "OVERWRITE or RETAIN, not %s", ap_quote(v, q, sizeof(q)));
		return;
	}
	c->as->file_exists_behavior = feb;
}

/* A bundle-relative path: not empty, no NUL, no "..". */
static char *
ap_relpath(struct apctx *c, const struct ynode *n, const char *path)
{
	char	*s;

	if ((s = ap_string(c, n, path, false)) == NULL)
		return NULL;
	if (ap_has_dotdot(s)) {
		ap_err(c, n, path, "must stay inside the bundle (no '..')");
		free(s);
		return NULL;
	}
	return s;
}

static void
ap_file(struct apctx *c, const struct ynode *n, const char *path)
{
	const struct ynode	*src, *dst;
	struct appspec_file	 f = { 0 };
	struct appspec		*as = c->as;
	char			 kp[256];

	if (n->type != YN_MAP) {
		ap_err(c, n, path, "must be a mapping with source and "
		    "destination, not %s", ynode_typename(n));
		return;
	}
	if (ap_check_keys(c, n, path, file_keys, file_hints) == -1)
		return;
	if ((src = ap_get(n, "source")) == NULL)
		ap_err(c, n, path, "missing source (the bundle path to "
		    "install; '/' for all of it)");
	if ((dst = ap_get(n, "destination")) == NULL)
		ap_err(c, n, path, "missing destination (where on the host "
		    "it goes)");
	if (src == NULL || dst == NULL)
		return;
	ypath_key(kp, sizeof(kp), path, "source");
	f.source = ap_relpath(c, src, kp);
	ypath_key(kp, sizeof(kp), path, "destination");
	f.destination = ap_string(c, dst, kp, false);
	if (f.source == NULL || f.destination == NULL) {
		free(f.source);
		free(f.destination);
		return;
	}
	f.line = src->line;
	f.col = src->col;
	as->files = xreallocarray(as->files, as->nfiles + 1,
	    sizeof(*as->files));
	as->files[as->nfiles++] = f;
}

static void
ap_files(struct apctx *c, const struct ynode *root)
{
	const struct ynode	*v = ap_get(root, "files");
	char			 path[64];

	if (v == NULL || ynode_is_null(v))
		return;
	if (v->type != YN_SEQ) {
		ap_err(c, v, "files", "must be a list of source and "
		    "destination pairs, not %s", ynode_typename(v));
		return;
	}
	if (v->nkids > APPSPEC_FILES_MAX) {
		ap_err(c, v, "files", "more than %d entries",
		    APPSPEC_FILES_MAX);
		return;
	}
	for (size_t i = 0; i < v->nkids; i++) {
		(void)snprintf(path, sizeof(path), "files[%zu]", i);
		ap_file(c, v->kids[i], path);
	}
}

static int
ap_timeout(struct apctx *c, const struct ynode *n, const char *path,
    unsigned *ret)
{
	uint64_t	 v;
	char		 q[64];
	size_t		 i;

	for (i = 0; n->type == YN_SCALAR && i < n->len; i++)
		if (!isdigit((unsigned char)n->value[i]))
			break;
	if (n->type != YN_SCALAR || n->len == 0 || i != n->len ||
	    parse_u64(n->value, 1, HOOK_TIMEOUT_LIMIT, &v) == -1) {
		ap_err(c, n, path, "must be a whole number of seconds from 1 "
		    "to %d, not %s", HOOK_TIMEOUT_LIMIT,
		    ap_quote(n, q, sizeof(q)));
		return -1;
	}
	if (v > HOOK_TIMEOUT_MAX)
		ap_warn(c, n, path, "%llu s is over the %d s the AppSpec "
		    "documents for one event; hookd, like the CodeDeploy "
		    "agent, waits the whole %llu s", (unsigned long long)v,
		    HOOK_TIMEOUT_MAX, (unsigned long long)v);
	*ret = (unsigned)v;
	return 0;
}

static int
ap_bool(struct apctx *c, const struct ynode *n, const char *path,
    bool *ret)
{
	static const char *const yes[] = { "true", "yes", "on", NULL };
	static const char *const no[] = { "false", "no", "off", NULL };
	char	 q[64];

	for (size_t i = 0; n->type == YN_SCALAR && yes[i] != NULL; i++) {
		if (strcasecmp(n->value, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
		if (strcasecmp(n->value, no[i]) == 0) {
			/* Ruby takes any string for true. */
			if (!n->plain)
				ap_warn(c, n, path, "hookd reads %s as false; "
				    "CodeDeploy takes any quoted string for "
				    "true and runs the script with sudo; write "
				    "it without quotes", ap_quote(n, q,
				    sizeof(q)));
			*ret = false;
			return 0;
		}
	}
	ap_err(c, n, path, "must be true or false, not %s",
	    ap_quote(n, q, sizeof(q)));
	return -1;
}

/* One script of an event; returns 0 with *h filled, or -1. */
static int
ap_script_fields(struct apctx *c, const struct ynode *n, const char *path,
    struct appspec_hook *h)
{
	const struct ynode	*v;
	char			 kp[256];
	int			 bad = 0;

	if ((v = ap_get(n, "location")) == NULL) {
		ap_err(c, n, path, "missing location (the script's path in "
		    "the bundle)");
		bad = 1;
	} else {
		ypath_key(kp, sizeof(kp), path, "location");
		if ((h->location = ap_relpath(c, v, kp)) == NULL)
			bad = 1;
		h->line = v->line;
		h->col = v->col;
	}
	ypath_key(kp, sizeof(kp), path, "timeout");
	if ((v = ap_get(n, "timeout")) != NULL && !ynode_is_null(v) &&
	    ap_timeout(c, v, kp, &h->timeout) == -1)
		bad = 1;
	ypath_key(kp, sizeof(kp), path, "runas");
	if ((v = ap_get(n, "runas")) != NULL && !ynode_is_null(v) &&
	    (h->runas = ap_string(c, v, kp, false)) == NULL)
		bad = 1;
	ypath_key(kp, sizeof(kp), path, "sudo");
	if ((v = ap_get(n, "sudo")) != NULL && !ynode_is_null(v) &&
	    ap_bool(c, v, kp, &h->sudo) == -1)
		bad = 1;
	return bad ? -1 : 0;
}

/*
 * One script of an event.  With ev -1 (an event CodeDeploy runs no
 * scripts for) it is checked as CodeDeploy checks it, then dropped.
 */
static void
ap_script(struct apctx *c, int ev, const struct ynode *n, const char *path)
{
	struct appspec		*as = c->as;
	struct appspec_hook	 h = { 0 };

	if (n->type != YN_MAP) {
		ap_err(c, n, path, "must be a mapping with a location, not "
		    "%s", ynode_typename(n));
		return;
	}
	if (ap_check_keys(c, n, path, script_keys, script_hints) == -1)
		return;
	h.timeout = HOOK_TIMEOUT_DEFAULT;
	if (ap_script_fields(c, n, path, &h) == -1 || ev == -1) {
		free(h.location);
		free(h.runas);
		return;
	}
	if (c->nhooks++ == APPSPEC_HOOKS_MAX)
		ap_err(c, n, path, "more than %d scripts in all",
		    APPSPEC_HOOKS_MAX);
	if (c->nhooks > APPSPEC_HOOKS_MAX) {
		free(h.location);
		free(h.runas);
		return;
	}
	as->hooks[ev] = xreallocarray(as->hooks[ev], as->nhooks[ev] + 1,
	    sizeof(*as->hooks[ev]));
	as->hooks[ev][as->nhooks[ev]++] = h;
}

/*
 * Returns the event for a hooks: key, or -1 when no script of it runs:
 * a step hookd runs itself, a reserved name or an unknown event, each a
 * warning when it has scripts ('empty': it has none), since CodeDeploy
 * accepts the file and never runs them.
 */
static int
ap_event(struct apctx *c, const struct ynode *k, const char *path,
    bool empty)
{
	const char	*hint;
	int		 ev;

	if ((ev = lc_event_from_name(k->value)) != -1) {
		if (!lc_event_scriptable(ev)) {
			if (!empty)
				ap_warn(c, k, path, "scripts ignored: %s is "
				    "the agent's own step (hookd's and "
				    "CodeDeploy's) and runs no scripts",
				    k->value);
			return -1;
		}
		return ev;
	}
	if ((hint = ysuggest(k->value, lc_scriptable_names)) != NULL)
		ap_warn(c, k, path, "unknown lifecycle event, ignored as by "
		    "CodeDeploy: its scripts never run (did you mean "
		    "'%s'?)", hint);
	else
		ap_warn(c, k, path, "unknown lifecycle event, ignored as by "
		    "CodeDeploy: its scripts never run; the events are "
		    "ApplicationStop, BeforeInstall, AfterInstall, "
		    "ApplicationStart, ValidateService and the traffic events");
	return -1;
}

static void
ap_hooks(struct apctx *c, const struct ynode *root)
{
	const struct ynode	*v = ap_get(root, "hooks");
	char			 path[256], ip[300];

	if (v == NULL || ynode_is_null(v))
		return;
	if (v->type != YN_MAP) {
		ap_err(c, v, "hooks", "must be a mapping of lifecycle events "
		    "to lists of scripts, not %s", ynode_typename(v));
		return;
	}
	if (ap_check_keys(c, v, "hooks", NULL, NULL) == -1)
		return;
	for (size_t i = 0; i + 1 < v->nkids; i += 2) {
		const struct ynode	*k = v->kids[i], *list = v->kids[i + 1];
		bool			 empty;
		int			 ev;

		if (k->type != YN_SCALAR || ynode_is_null(k) ||
		    ap_get(v, k->value) != list)
			continue;	/* reported by ap_check_keys */
		ypath_key(path, sizeof(path), "hooks", k->value);
		empty = ynode_is_null(list) ||
		    (list->type == YN_SEQ && list->nkids == 0);
		ev = ap_event(c, k, path, empty);
		if (empty)
			continue;
		/* CodeDeploy reads the scripts of every key: so do we. */
		if (list->type != YN_SEQ) {
			ap_err(c, list, path, "must be a list of scripts, "
			    "not %s", ynode_typename(list));
			continue;
		}
		for (size_t j = 0; j < list->nkids; j++) {
			ypath_index(ip, sizeof(ip), path, j);
			ap_script(c, ev, list->kids[j], ip);
		}
	}
}

static void
ap_root(struct apctx *c, const struct ynode *root)
{
	if (root == NULL || ynode_is_null(root)) {
		ap_err_at(c, 1, 1, "", "the file is empty; an appspec needs "
		    "at least 'version: 0.0' and 'os: linux'");
		return;
	}
	if (root->type != YN_MAP) {
		ap_err(c, root, "", "must be a mapping with version, os and "
		    "hooks, not %s", ynode_typename(root));
		return;
	}
	if (ap_check_keys(c, root, "", top_keys, NULL) == -1)
		return;
	ap_version(c, root);
	ap_os(c, root);
	ap_feb(c, root);
	ap_files(c, root);
	ap_permissions(c, ap_get(root, "permissions"));
	ap_hooks(c, root);
}

/* The YAML rules of an appspec (aliases allowed, but bounded). */
static const struct ytree_opts ap_yopts = {
	.what = "an appspec",
	.second_doc = "a second YAML document; an appspec is one document",
	.depth_max = APPSPEC_DEPTH_MAX,
	.nodes_max = APPSPEC_NODES_MAX,
	.anchors_max = APPSPEC_ANCHORS_MAX,
	.aliases = true,
	.syntax_hints = true,
};

/* ytree_parse()'s error: recorded like any other. */
static void
ap_yerr(void *arg, unsigned long line, unsigned long col, const char *what)
{
	ap_err_at(arg, line, col, "", "%s", what);
}

/*
 * Parse len bytes of appspec text.  Returns 0 with the model filled, or
 * -1 with eb holding the first error (EK_DATA) and as->errors all of
 * them; as must be released either way.  Does not block.
 */
int
appspec_parse(struct appspec *as, const char *data, size_t len,
    const char *name, struct errbuf *eb)
{
	struct apctx	 c = { 0 };
	struct ytree	*t;

	appspec_release(as);
	as->path = xstrdup(name != NULL ? name : "appspec.yml");
	c.as = as;
	c.name = as->path;
	if (len > APPSPEC_MAX) {
		ap_err_at(&c, 1, 1, "", "larger than %d bytes", APPSPEC_MAX);
	} else if (ytree_parse(&t, data, len, &ap_yopts, ap_yerr, &c) == 0) {
		ap_root(&c, ytree_root(t));
		ytree_free(t);
	}
	ap_sort(as->errors, c.pos, as->nerrors);
	ap_sort(as->warnings, c.wpos, as->nwarnings);
	if (as->nerrors > 0)
		return errbuf_set(eb, EK_DATA, "%s", as->errors[0]);
	return 0;
}

/*
 * --strict: every warning becomes an error too.  Returns 0 when there is
 * none, else -1 with eb (EK_DATA) naming the count and the first one.
 * Never fails otherwise.
 */
int
appspec_strict(struct appspec *as, struct errbuf *eb)
{
	if (as->nwarnings == 0)
		return 0;
	for (size_t i = 0; i < as->nwarnings &&
	    as->nerrors < APPSPEC_ERRORS_MAX; i++) {
		as->errors = xreallocarray(as->errors, as->nerrors + 1,
		    sizeof(*as->errors));
		as->errors[as->nerrors++] = xstrdup(as->warnings[i]);
	}
	return errbuf_set(eb, EK_DATA, "%zu appspec warning%s, refused in "
	    "strict mode; the first: %s", as->nwarnings,
	    as->nwarnings == 1 ? "" : "s", as->warnings[0]);
}

/* Read at most APPSPEC_MAX + 1 bytes of fd into a new buffer. */
static int
ap_read(int fd, const char *name, char **ret_data, size_t *ret_len,
    struct errbuf *eb)
{
	size_t	 cap = 4096, len = 0;
	char	*data = xmalloc(cap);
	ssize_t	 n;

	for (;;) {
		if (len == cap) {
			if (cap > APPSPEC_MAX)
				break;
			cap *= 2;
			data = xreallocarray(data, cap, 1);
		}
		n = read(fd, data + len, cap - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			errbuf_errno(eb, EK_IO, "cannot read '%s'", name);
			free(data);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*ret_data = data;
	*ret_len = len;
	return 0;
}

/*
 * Read and parse the appspec file at 'path', calling it 'name' (NULL:
 * path) in messages.  Returns 0, or -1 with eb set: EK_NOINPUT when it
 * does not exist, EK_IO when it cannot be read, EK_DATA when it is not a
 * valid appspec (as->errors then holds every error; an I/O failure is
 * recorded there too).  as must be released either way.  Blocks only on
 * the local read.
 */
int
appspec_load(struct appspec *as, const char *path, const char *name,
    struct errbuf *eb)
{
	struct stat	 st;
	char		*data = NULL;
	size_t		 len = 0;
	int		 fd = -1, ret = -1;

	if (name == NULL)
		name = path;
	/* O_NONBLOCK: a FIFO must not hang us; it is refused below. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) == -1) {
		errbuf_errno(eb, errno == ENOENT || errno == ENOTDIR ?
		    EK_NOINPUT : EK_IO, "cannot open '%s'", name);
		goto fail;
	}
	if (fstat(fd, &st) == -1) {
		errbuf_errno(eb, EK_IO, "cannot stat '%s'", name);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		errbuf_set(eb, EK_DATA, "'%s' is not a regular file", name);
		goto fail;
	}
	if (ap_read(fd, name, &data, &len, eb) == -1)
		goto fail;
	ret = appspec_parse(as, data, len, name, eb);
	goto out;
 fail:
	appspec_release(as);
	as->path = xstrdup(name);
	as->errors = xcalloc(1, sizeof(*as->errors));
	as->errors[as->nerrors++] = xstrdup(eb->msg);
 out:
	free(data);
	if (fd != -1)
		close(fd);
	return ret;
}

/*
 * Where a bundle path leads, as a resolver finds it: err 0 and the type
 * ('f', 'd', ...) of what it names; ENOENT or ENOTDIR when it does not
 * exist; EXDEV when it leads outside the bundle; another errno when it
 * cannot be resolved (stat_failed: it resolved, then could not be
 * stat()ed).
 */
struct ap_where {
	int		 err;
	bool		 stat_failed;
	char		 type;
};

/*
 * The resolvers: how appspec_check_bundle() and appspec_check_listing()
 * look a path up.  Each resolves 'rel' (no leading '/') from the
 * bundle's root, following symlinks while they stay inside; the type is
 * needed only with 'regular'.
 */

/* A bundle extracted in a directory: realpath(3) and stat(2). */
static void
ap_resolve_dir(const void *arg, const char *rel, bool regular,
    struct ap_where *w)
{
	const char	*rroot = arg;
	struct stat	 st;
	size_t		 rl = strlen(rroot);
	char		*full, *res = NULL;

	memset(w, 0, sizeof(*w));
	full = xasprintf("%s/%s", rroot, rel);
	if ((res = realpath(full, NULL)) == NULL)
		w->err = errno;
	else if (strncmp(res, rroot, rl) != 0 ||
	    (res[rl] != '/' && res[rl] != '\0' && strcmp(rroot, "/") != 0))
		w->err = EXDEV;
	else if (regular && stat(res, &st) == -1) {
		w->err = errno;
		w->stat_failed = true;
	} else if (regular)
		w->type = S_ISREG(st.st_mode) ? 'f' : S_ISDIR(st.st_mode) ?
		    'd' : '?';
	free(res);
	free(full);
}

/* A scanned bundle whose root is 'root' in the listing. */
struct ap_listing {
	const struct bundle_listing *ls;
	const char	*root;		/* "" or the top-level directory */
};

static void
ap_resolve_listing(const void *arg, const char *rel, bool regular,
    struct ap_where *w)
{
	const struct ap_listing *l = arg;
	char		 res[BUNDLE_PATH_MAX * 2 + 2], *full;
	size_t		 rl = strlen(l->root);

	memset(w, 0, sizeof(*w));
	full = xasprintf("%s/%s", l->root, rel);
	if (bundle_listing_resolve(l->ls, full, res, sizeof(res),
	    &w->type) == -1)
		w->err = errno;
	else if (rl > 0 && (strncmp(res, l->root, rl) != 0 ||
	    (res[rl] != '/' && res[rl] != '\0')))
		w->err = EXDEV;
	free(full);
}

/*
 * Check that 'rel' names something inside the bundle (following
 * symlinks only while they stay inside) and (with 'regular') that it is
 * a regular file.  Records an error at line:col under 'path'.
 */
static int
ap_check_in_bundle(struct apctx *c,
    void (*resolve)(const void *, const char *, bool, struct ap_where *),
    const void *arg, const char *rel, bool regular, unsigned long line,
    unsigned long col, const char *path)
{
	struct ap_where	 w;

	rel += strspn(rel, "/");
	resolve(arg, rel, regular, &w);
	if (w.err == ENOENT || w.err == ENOTDIR)
		ap_err_at(c, line, col, path, "'%s' does not exist in the "
		    "bundle", rel);
	else if (w.err == EXDEV)
		ap_err_at(c, line, col, path, "'%s' leads outside the bundle "
		    "(through a symlink)", rel);
	else if (w.err != 0 && w.stat_failed)
		ap_err_at(c, line, col, path, "cannot stat '%s': %s", rel,
		    strerror(w.err));
	else if (w.err != 0)
		ap_err_at(c, line, col, path, "cannot resolve '%s': %s", rel,
		    strerror(w.err));
	else if (regular && w.type != 'f')
		ap_err_at(c, line, col, path, "'%s' is not a regular file",
		    rel);
	else
		return 0;
	return -1;
}

/*
 * Check every hook location and files: source of a loaded appspec with
 * 'resolve'; see appspec_check_bundle().
 */
static int
ap_check_paths(struct appspec *as,
    void (*resolve)(const void *, const char *, bool, struct ap_where *),
    const void *arg, struct errbuf *eb)
{
	struct apctx	 c = { .as = as, .name = as->path != NULL ?
			    as->path : "appspec.yml" };
	size_t		 before = as->nerrors, bad = 0;
	char		 path[256];

	for (int e = 0; e < LC_NEVENTS; e++) {
		for (size_t i = 0; i < as->nhooks[e]; i++) {
			const struct appspec_hook *h = &as->hooks[e][i];

			(void)snprintf(path, sizeof(path),
			    "hooks.%s[%zu].location", lc_names[e], i);
			if (ap_check_in_bundle(&c, resolve, arg, h->location,
			    true, h->line, h->col, path) == -1)
				bad++;
		}
	}
	for (size_t i = 0; i < as->nfiles; i++) {
		(void)snprintf(path, sizeof(path), "files[%zu].source", i);
		if (ap_check_in_bundle(&c, resolve, arg, as->files[i].source,
		    false, as->files[i].line, as->files[i].col, path) == -1)
			bad++;
	}
	if (bad == 0)
		return 0;
	if (as->nerrors > before)
		return errbuf_set(eb, EK_DATA, "%s", as->errors[before]);
	return errbuf_set(eb, EK_DATA, "%s: %zu paths missing from the bundle",
	    c.name, bad);
}

/*
 * Check a loaded appspec against the bundle extracted at 'root': every
 * hook location is a regular file inside it, every files: source exists
 * inside it.  Returns 0, or -1 with eb set to the first problem
 * (EK_DATA; EK_IO when root itself cannot be resolved) and every problem
 * added to as->errors.  Blocks only on local file system calls.
 */
int
appspec_check_bundle(struct appspec *as, const char *root,
    struct errbuf *eb)
{
	char		*rroot;
	int		 ret;

	if ((rroot = realpath(root, NULL)) == NULL)
		return errbuf_errno(eb, EK_IO, "cannot resolve '%s'", root);
	ret = ap_check_paths(as, ap_resolve_dir, rroot, eb);
	free(rroot);
	return ret;
}

/*
 * appspec_check_bundle() against a scanned bundle whose root is 'root'
 * in the listing.  Returns 0, or -1 with eb (EK_DATA).  Does not block.
 */
int
appspec_check_listing(struct appspec *as, const struct bundle_listing *ls,
    const char *root, struct errbuf *eb)
{
	struct ap_listing l = { ls, root };

	return ap_check_paths(as, ap_resolve_listing, &l, eb);
}
