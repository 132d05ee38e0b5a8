/* SPDX-License-Identifier: ISC */
/*
 * appspec_int.h: what appspec.c and appspec_perm.c share, and what the
 * unit tests may reach.  The YAML text is first turned into a small tree
 * of our own (struct ynode, yamltree.h), so no libyaml type travels
 * further than the one function that drives the parser.
 */
#ifndef HOOKD_APPSPEC_INT_H
#define HOOKD_APPSPEC_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "caps.h"
#include "compat.h"
#include "yamltree.h"

struct appspec;

/* The state of one load: the model being filled and the errors found. */
struct apctx {
	struct appspec	*as;
	const char	*name;		/* the file as messages call it */
	size_t		 nhooks;	/* scripts over all events */
	/* line and column of each of as->errors, to sort them */
	unsigned long	 pos[APPSPEC_ERRORS_MAX][2];
	/* the same for as->warnings */
	unsigned long	 wpos[APPSPEC_ERRORS_MAX][2];
};

/* Why CodeDeploy ignores a key that some files carry: the warning. */
struct ap_hint {
	const char	*key;
	const char	*why;
};

/*
 * Record an error "NAME:LINE:COL: PATH: what" at node n (or 1:1 when n
 * is NULL); PATH is left out when empty.  At most APPSPEC_ERRORS_MAX.
 */
void	ap_err(struct apctx *, const struct ynode *, const char *path,
	    const char *fmt, ...) HOOKD_PRINTF(4, 5);
/*
 * Record a warning the same way: what CodeDeploy accepts but ignores or
 * reads differently.  At most APPSPEC_ERRORS_MAX.
 */
void	ap_warn(struct apctx *, const struct ynode *, const char *path,
	    const char *fmt, ...) HOOKD_PRINTF(4, 5);
/*
 * The value of key k of mapping n, or NULL.  When k is given twice the
 * last one counts, as in CodeDeploy's YAML reader.
 */
const struct ynode *ap_get(const struct ynode *n, const char *k);
/*
 * Check that n is a usable string scalar; records an error and returns
 * NULL when it is not.  Returns a new copy (caller frees).
 */
char	*ap_string(struct apctx *, const struct ynode *, const char *path,
	    bool allow_empty);
/* A printable, shortened, double-quoted copy of a scalar, for messages. */
const char *ap_quote(const struct ynode *, char *buf, size_t bufsz);
/*
 * Check a mapping's keys against 'known' (NULL-terminated; NULL: any):
 * a key that is not a string is an error; a duplicate (the last one
 * counts) and an unknown key (CodeDeploy ignores it) are warnings, the
 * latter with the reason from 'hints' (may be NULL) or a suggestion.
 * Returns -1 (recorded) when it has more than APPSPEC_MAP_KEYS_MAX.
 */
int	ap_check_keys(struct apctx *, const struct ynode *map,
	    const char *path, const char *const *known,
	    const struct ap_hint *hints);

/* appspec_perm.c: the permissions: section. */
void	ap_permissions(struct apctx *, const struct ynode *);

#ifdef HOOKD_UNIT_TEST
struct appspec_acl;
/* An acls: entry; 0, or -1 with the reason in why. */
int	ap_parse_ace(const char *, struct appspec_acl *, char *why,
	    size_t whysz);
/* An SELinux MLS range "s0-s3:c0.c5,c9"; 0, or -1 with the reason. */
int	ap_check_range(const char *, char *why, size_t whysz);
/* A mode of one to four octal digits as written; 0, or -1. */
int	ap_parse_mode(const char *, int *ret_mode, char *why, size_t whysz);
#endif

#endif /* HOOKD_APPSPEC_INT_H */
