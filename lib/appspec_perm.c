/* SPDX-License-Identifier: ISC */
/*
 * appspec_perm.c: the permissions: section of appspec.yml.  Checks each
 * entry as the reference agent does (object required; mode of one to four
 * octal digits; acls entries of two to four ':'-separated parts; SELinux
 * context with a type and an MLS range of sensitivities s0.. and
 * categories c0..c1023) and fills struct appspec_perm.  Applying the
 * permissions to the host is not done here.
 */
#include "compat.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appspec.h"
#include "appspec_int.h"
#include "caps.h"
#include "xalloc.h"

#include "banned.h"

#define SELINUX_CATEGORY_MAX	1023	/* c0..c1023 */
#define SELINUX_SENS_MAX	9999	/* s0..; the policy sets the top */
#define ACE_PARTS_MAX		4	/* [d:][u|g|m|o:]name:perms */

static const char *const perm_keys[] = {
	"object", "pattern", "except", "type", "owner", "group", "mode",
	"acls", "context", NULL
};
static const char *const context_keys[] = { "name", "type", "range", NULL };

static bool
ap_word(const char *s, size_t len, const char *short_name,
    const char *long_name)
{
	return (strlen(short_name) == len && memcmp(s, short_name, len) == 0) ||
	    (strlen(long_name) == len && memcmp(s, long_name, len) == 0);
}

/* The kind letter for u/user, g/group, m/mask, o/other, or 0. */
static char
ace_kind(const char *s, size_t len)
{
	if (ap_word(s, len, "u", "user"))
		return 'u';
	if (ap_word(s, len, "g", "group"))
		return 'g';
	if (ap_word(s, len, "m", "mask"))
		return 'm';
	if (ap_word(s, len, "o", "other"))
		return 'o';
	return 0;
}

/* Permissions: one octal digit, or r, w, x and - (in any order). */
static int
ace_perms(const char *s, unsigned *ret, char *why, size_t whysz)
{
	unsigned	 perms = 0;
	size_t		 len = strlen(s);

	if (len == 1 && s[0] >= '0' && s[0] <= '7') {
		*ret = (unsigned)(s[0] - '0');
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		switch (s[i]) {
		case 'r':
			perms |= 4;
			break;
		case 'w':
			perms |= 2;
			break;
		case 'x':
			perms |= 1;
			break;
		case '-':
			break;
		default:
			(void)snprintf(why, whysz, "invalid character '%c' in "
			    "permissions '%s' (use r, w, x, - or one octal "
			    "digit)", isprint((unsigned char)s[i]) ? s[i] : '?',
			    s);
			return -1;
		}
	}
	if (len > 3) {
		(void)snprintf(why, whysz, "permissions '%.20s' are longer "
		    "than rwx", s);
		return -1;
	}
	*ret = perms;
	return 0;
}

/*
 * Parse an acls: entry, "[d[efault]:][u[ser]|g[roup]|m[ask]|o[ther]:]
 * name:perms" read from the right as the reference agent does.  Returns
 * 0 with *ret filled (name new, NULL for the owner entry), or -1 with
 * the reason in why.
 */
STATIC int
ap_parse_ace(const char *s, struct appspec_acl *ret, char *why,
    size_t whysz)
{
	const char	*part[ACE_PARTS_MAX + 1];
	size_t		 plen[ACE_PARTS_MAX + 1], n = 0;
	const char	*p = s, *colon;
	struct appspec_acl acl = { 0 };

	/* Split into parts, last (the permissions) first. */
	for (;;) {
		colon = strchr(p, ':');
		if (n == ACE_PARTS_MAX + 1)
			break;
		part[n] = p;
		plen[n++] = colon != NULL ? (size_t)(colon - p) : strlen(p);
		if (colon == NULL)
			break;
		p = colon + 1;
	}
	if (n < 2 || n > ACE_PARTS_MAX || colon != NULL) {
		(void)snprintf(why, whysz, "an ACL entry has two to four "
		    "parts separated by ':' ([d:][u|g|m|o:]name:rwx)");
		return -1;
	}
	if (n == 4) {
		if (!ap_word(part[0], plen[0], "d", "default")) {
			(void)snprintf(why, whysz, "the first of four parts "
			    "must be d or default");
			return -1;
		}
		acl.is_default = true;
	}
	if (n >= 3) {
		const char	*q = part[n - 3];
		size_t		 ql = plen[n - 3];

		if (ap_word(q, ql, "d", "default") && acl.is_default) {
			(void)snprintf(why, whysz, "default is given twice");
			return -1;
		} else if (ap_word(q, ql, "d", "default"))
			acl.is_default = true;
		else if ((acl.kind = ace_kind(q, ql)) == 0) {
			(void)snprintf(why, whysz, "unknown entry type '%.*s' "
			    "(user, group, mask or other)", (int)(ql > 20 ? 20 :
			    ql), q);
			return -1;
		}
	}
	if (acl.kind == 0) {
		acl.kind = ace_kind(part[n - 2], plen[n - 2]);
		if (acl.kind != 'm' && acl.kind != 'o') {
			acl.kind = 'u';
			if (plen[n - 2] > 0)
				acl.name = xstrndup(part[n - 2], plen[n - 2]);
		}
	} else if (plen[n - 2] > 0) {
		if (acl.kind == 'm' || acl.kind == 'o') {
			(void)snprintf(why, whysz, "%s entry takes no name",
			    acl.kind == 'm' ? "a mask" : "an other");
			return -1;
		}
		acl.name = xstrndup(part[n - 2], plen[n - 2]);
	}
	if (ace_perms(part[n - 1], &acl.perms, why, whysz) == -1) {
		free(acl.name);
		return -1;
	}
	*ret = acl;
	return 0;
}

/* "c7" -> 7 when it is c0..c1023; else -1. */
static int
range_number(const char *s, size_t len, char letter, int max)
{
	int	 v = 0;

	if (len < 2 || len > 6 || s[0] != letter)
		return -1;
	for (size_t i = 1; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v <= max ? v : -1;
}

/* Categories "c0.c5,c9": ranges ascending, none given twice. */
static int
range_categories(const char *s, size_t len, char *why, size_t whysz)
{
	unsigned char	 seen[(SELINUX_CATEGORY_MAX + 8) / 8] = { 0 };
	const char	*p = s, *end = s + len;

	while (p <= end) {
		const char	*comma = memchr(p, ',', (size_t)(end - p));
		const char	*q = comma != NULL ? comma : end, *dot;
		int		 lo, hi;

		if (q == p) {
			(void)snprintf(why, whysz, "empty category in '%.*s'",
			    (int)len, s);
			return -1;
		}
		dot = memchr(p, '.', (size_t)(q - p));
		if (dot == p || dot == q - 1) {
			(void)snprintf(why, whysz, "invalid category range "
			    "'%.*s'", (int)(q - p), p);
			return -1;
		}
		lo = range_number(p, (size_t)((dot != NULL ? dot : q) - p),
		    'c', SELINUX_CATEGORY_MAX);
		hi = dot == NULL ? lo : range_number(dot + 1,
		    (size_t)(q - dot - 1), 'c', SELINUX_CATEGORY_MAX);
		if (lo == -1 || hi == -1) {
			(void)snprintf(why, whysz, "invalid category '%.*s' "
			    "(c0 to c%d)", (int)(q - p), p,
			    SELINUX_CATEGORY_MAX);
			return -1;
		}
		if (dot != NULL && lo >= hi) {
			(void)snprintf(why, whysz, "category range '%.*s' "
			    "does not ascend", (int)(q - p), p);
			return -1;
		}
		for (int c = lo; c <= hi; c++) {
			if (seen[c / 8] & (1 << (c % 8))) {
				(void)snprintf(why, whysz, "category c%d is "
				    "given twice", c);
				return -1;
			}
			seen[c / 8] |= 1 << (c % 8);
		}
		p = q + 1;
	}
	return 0;
}

/*
 * Check an SELinux MLS range "s0[-s3][:c0.c5,c9]".  Returns 0, or -1
 * with the reason in why.
 */
STATIC int
ap_check_range(const char *s, char *why, size_t whysz)
{
	const char	*colon = strchr(s, ':'), *dash;
	size_t		 slen = colon != NULL ? (size_t)(colon - s) : strlen(s);
	int		 lo, hi;

	if (slen == 0 || (colon != NULL && colon[1] == '\0') ||
	    (colon != NULL && strchr(colon + 1, ':') != NULL)) {
		(void)snprintf(why, whysz, "a range is s<low>[-s<high>]"
		    "[:<categories>]");
		return -1;
	}
	dash = memchr(s, '-', slen);
	if (dash == s || dash == s + slen - 1) {
		(void)snprintf(why, whysz, "invalid sensitivity range "
		    "'%.*s'", (int)slen, s);
		return -1;
	}
	lo = range_number(s, (size_t)((dash != NULL ? dash : s + slen) - s),
	    's', SELINUX_SENS_MAX);
	hi = dash == NULL ? lo : range_number(dash + 1,
	    (size_t)(s + slen - dash - 1), 's', SELINUX_SENS_MAX);
	if (lo == -1 || hi == -1) {
		(void)snprintf(why, whysz, "invalid sensitivity in '%.*s' "
		    "(s0, s1, ...)", (int)slen, s);
		return -1;
	}
	if (hi < lo) {
		(void)snprintf(why, whysz, "high sensitivity s%d is below "
		    "low s%d", hi, lo);
		return -1;
	}
	if (colon == NULL)
		return 0;
	return range_categories(colon + 1, strlen(colon + 1), why, whysz);
}

/*
 * A mode of one to four octal digits, read as written (so 0644 and 644
 * are both rw-r--r--).  Returns 0 with *ret_mode, or -1 with the reason.
 */
STATIC int
ap_parse_mode(const char *s, int *ret_mode, char *why, size_t whysz)
{
	size_t	 len = strlen(s);
	int	 mode = 0;

	if (len < 1 || len > 4) {
		(void)snprintf(why, whysz, "must be one to four octal "
		    "digits");
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '7') {
			(void)snprintf(why, whysz, "invalid character '%c' "
			    "(octal digits 0-7 only)",
			    isprint((unsigned char)s[i]) ? s[i] : '?');
			return -1;
		}
		mode = mode * 8 + (s[i] - '0');
	}
	*ret_mode = mode;
	return 0;
}

/* A string, or a list of strings, into a new array. */
static int
ap_strings(struct apctx *c, const struct ynode *n, const char *path,
    char ***ret, size_t *ret_n)
{
	char	 ip[300], *s;
	int	 bad = 0;

	if (n->type == YN_MAP) {
		ap_err(c, n, path, "must be a list of strings, not a "
		    "mapping");
		return -1;
	}
	if (n->type == YN_SCALAR) {
		if ((s = ap_string(c, n, path, false)) == NULL)
			return -1;
		*ret = xcalloc(1, sizeof(**ret));
		(*ret)[0] = s;
		*ret_n = 1;
		return 0;
	}
	*ret = xcalloc(n->nkids + 1, sizeof(**ret));
	*ret_n = 0;
	for (size_t i = 0; i < n->nkids; i++) {
		ypath_index(ip, sizeof(ip), path, i);
		if ((s = ap_string(c, n->kids[i], ip, false)) == NULL)
			bad = 1;
		else
			(*ret)[(*ret_n)++] = s;
	}
	return bad ? -1 : 0;
}

static void
perm_types(struct apctx *c, const struct ynode *n, const char *path,
    struct appspec_perm *p)
{
	char	**t = NULL;
	size_t	 nt = 0;

	if (ap_strings(c, n, path, &t, &nt) == 0) {
		for (size_t i = 0; i < nt; i++) {
			if (strcmp(t[i], "file") == 0)
				p->types |= PERM_TYPE_FILE;
			else if (strcmp(t[i], "directory") == 0)
				p->types |= PERM_TYPE_DIRECTORY;
			else
				ap_err(c, n->type == YN_SEQ ? n->kids[i] : n,
				    path, "must be file or directory, not "
				    "'%.40s'", t[i]);
		}
	}
	for (size_t i = 0; i < nt; i++)
		free(t[i]);
	free(t);
}

/*
 * Whether an entry is one of the base entries mode sets (owning user or
 * group, other), which the reference agent refuses in acls:.  Frees the
 * entry's name when it is.
 */
static bool
ap_base_ace(struct appspec_acl *a)
{
	if (a->is_default || a->kind == 'm' || a->name != NULL)
		return false;
	free(a->name);
	return true;
}

static void
perm_acls(struct apctx *c, const struct ynode *n, const char *path,
    struct appspec_perm *p)
{
	char	 ip[300], why[160], *s;

	if (ynode_is_null(n))
		return;
	if (n->type != YN_SEQ) {
		ap_err(c, n, path, "must be a list of ACL entries, not %s",
		    n->type == YN_MAP ? "a mapping" : "a string");
		return;
	}
	p->acls = xcalloc(n->nkids + 1, sizeof(*p->acls));
	for (size_t i = 0; i < n->nkids; i++) {
		ypath_index(ip, sizeof(ip), path, i);
		if ((s = ap_string(c, n->kids[i], ip, false)) == NULL)
			continue;
		if (ap_parse_ace(s, &p->acls[p->nacls], why,
		    sizeof(why)) == -1)
			ap_err(c, n->kids[i], ip, "'%.60s': %s", s, why);
		else if (ap_base_ace(&p->acls[p->nacls]))
			ap_err(c, n->kids[i], ip, "'%.60s': use mode to set "
			    "the base ACL entry (of the owner, the group or "
			    "others), as CodeDeploy requires", s);
		else
			p->nacls++;
		free(s);
	}
}

static void
perm_context(struct apctx *c, const struct ynode *n, const char *path,
    struct appspec_perm *p)
{
	const struct ynode	*v;
	struct appspec_context	*ctx;
	char			 kp[300], why[160];

	if (n->type != YN_MAP) {
		ap_err(c, n, path, "must be a mapping with type and "
		    "optionally name and range");
		return;
	}
	if (ap_check_keys(c, n, path, context_keys, NULL) == -1)
		return;
	ctx = p->context = xcalloc(1, sizeof(*p->context));
	ypath_key(kp, sizeof(kp), path, "name");
	if ((v = ap_get(n, "name")) != NULL && !ynode_is_null(v))
		ctx->user = ap_string(c, v, kp, false);
	ypath_key(kp, sizeof(kp), path, "type");
	if ((v = ap_get(n, "type")) == NULL || ynode_is_null(v))
		ap_err(c, v != NULL ? v : n, path, "missing type (the SELinux "
		    "type, such as httpd_sys_content_t)");
	else
		ctx->type = ap_string(c, v, kp, false);
	ypath_key(kp, sizeof(kp), path, "range");
	if ((v = ap_get(n, "range")) != NULL && !ynode_is_null(v) &&
	    (ctx->range = ap_string(c, v, kp, false)) != NULL &&
	    ap_check_range(ctx->range, why, sizeof(why)) == -1)
		ap_err(c, v, kp, "'%.60s': %s", ctx->range, why);
}

/*
 * A mode.  hookd reads the digits as written; CodeDeploy's YAML reader
 * takes an unquoted 0644 for the octal number 420 and applies "420", or
 * refuses a number whose decimal digits are no mode: say so.
 */
static void
perm_mode(struct apctx *c, const struct ynode *n, const char *path,
    struct appspec_perm *p)
{
	char		 why[160], q[64], dec[32];
	unsigned long	 v;
	const char	*digits;

	if (n->type != YN_SCALAR || strlen(n->value) != n->len ||
	    ap_parse_mode(n->value, &p->mode, why, sizeof(why)) == -1) {
		ap_err(c, n, path, "must be one to four octal digits such as "
		    "0644, not %s", ap_quote(n, q, sizeof(q)));
		return;
	}
	if (!n->plain || n->tagged || n->len < 2 || n->value[0] != '0')
		return;
	v = strtoul(n->value, NULL, 8);
	(void)snprintf(dec, sizeof(dec), "%lu", v);
	for (digits = n->value; digits[0] == '0' && digits[1] != '\0';
	    digits++)
		;
	if (strcmp(dec, digits) == 0)
		return;
	if (strlen(dec) > 4 || strpbrk(dec, "89") != NULL)
		ap_warn(c, n, path, "hookd applies %s as written; CodeDeploy "
		    "reads an unquoted %s as the YAML octal number %s and "
		    "refuses the file (no mode); quote it (\"%s\") to mean "
		    "the same to both", n->value, n->value, dec, n->value);
	else
		ap_warn(c, n, path, "hookd applies %s as written; CodeDeploy "
		    "reads an unquoted %s as the YAML octal number %s and "
		    "applies mode %04lo; quote it (\"%s\") to mean the same "
		    "to both", n->value, n->value, dec, strtoul(dec, NULL, 8),
		    n->value);
}

/* The value of optional key k of n, with kp set to its path; or NULL. */
static const struct ynode *
perm_field(const struct ynode *n, const char *path, const char *k, char *kp,
    size_t kpsz)
{
	const struct ynode	*v = ap_get(n, k);

	if (v == NULL || ynode_is_null(v))
		return NULL;
	ypath_key(kp, kpsz, path, k);
	return v;
}

/* Fields other than object, each optional. */
static void
perm_fields(struct apctx *c, const struct ynode *n, const char *path,
    struct appspec_perm *p)
{
	const struct ynode	*v;
	char			 kp[300];

	if ((v = perm_field(n, path, "pattern", kp, sizeof(kp))) != NULL)
		p->pattern = ap_string(c, v, kp, false);
	if ((v = perm_field(n, path, "except", kp, sizeof(kp))) != NULL)
		(void)ap_strings(c, v, kp, &p->except, &p->nexcept);
	if ((v = perm_field(n, path, "type", kp, sizeof(kp))) != NULL)
		perm_types(c, v, kp, p);
	if ((v = perm_field(n, path, "owner", kp, sizeof(kp))) != NULL)
		p->owner = ap_string(c, v, kp, false);
	if ((v = perm_field(n, path, "group", kp, sizeof(kp))) != NULL)
		p->group = ap_string(c, v, kp, false);
	if ((v = perm_field(n, path, "mode", kp, sizeof(kp))) != NULL)
		perm_mode(c, v, kp, p);
	if ((v = perm_field(n, path, "acls", kp, sizeof(kp))) != NULL)
		perm_acls(c, v, kp, p);
	if ((v = perm_field(n, path, "context", kp, sizeof(kp))) != NULL)
		perm_context(c, v, kp, p);
}

static void
ap_perm(struct apctx *c, const struct ynode *n, const char *path)
{
	struct appspec		*as = c->as;
	struct appspec_perm	*p;
	const struct ynode	*v;
	char			 kp[300];

	if (n->type != YN_MAP) {
		ap_err(c, n, path, "must be a mapping with an object, not %s",
		    n->type == YN_SEQ ? "a list" : "a string");
		return;
	}
	if (ap_check_keys(c, n, path, perm_keys, NULL) == -1)
		return;
	/* Filled in place: as->perms is released whatever happens. */
	as->perms = xreallocarray(as->perms, as->nperms + 1,
	    sizeof(*as->perms));
	p = &as->perms[as->nperms++];
	memset(p, 0, sizeof(*p));
	p->mode = -1;
	p->line = n->line;
	ypath_key(kp, sizeof(kp), path, "object");
	if ((v = ap_get(n, "object")) == NULL || ynode_is_null(v))
		ap_err(c, v != NULL ? v : n, path, "missing object (the path "
		    "on the host the permissions apply to)");
	else
		p->object = ap_string(c, v, kp, false);
	perm_fields(c, n, path, p);
	if (p->pattern == NULL)
		p->pattern = xstrdup("**");
}

/* The permissions: section (n may be NULL); see appspec_int.h. */
void
ap_permissions(struct apctx *c, const struct ynode *n)
{
	char	 path[64];

	if (ynode_is_null(n))
		return;
	if (n->type != YN_SEQ) {
		ap_err(c, n, "permissions", "must be a list, not %s",
		    n->type == YN_MAP ? "a mapping" : "a string");
		return;
	}
	if (n->nkids > APPSPEC_PERMS_MAX) {
		ap_err(c, n, "permissions", "more than %d entries",
		    APPSPEC_PERMS_MAX);
		return;
	}
	for (size_t i = 0; i < n->nkids; i++) {
		(void)snprintf(path, sizeof(path), "permissions[%zu]", i);
		ap_perm(c, n->kids[i], path);
	}
}
