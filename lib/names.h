/* SPDX-License-Identifier: ISC */
/*
 * names.h: the name and id rules, in one place for the daemon, the
 * engine, the store keys and the deployer.
 * - Application, group and instance names: [A-Za-z0-9._-]{1,NAME_LEN_MAX}
 *   starting with a letter or digit (so never ".", ".." or "-x"): safe as
 *   a directory name, a store key segment and an argument.
 * - Deployment ids: "d-" and 9 upper-case letters or digits; new ones take
 *   9 random base32 characters [A-Z2-7].
 */
#ifndef HOOKD_NAMES_H
#define HOOKD_NAMES_H

#include <stdbool.h>

#include "caps.h"
#include "compat.h"

struct errbuf;

#define DEPLOYMENT_ID_LEN	11	/* "d-" + 9 characters */

/*
 * Check a name; 'what' names the field in the message (e.g. "group").
 * Returns 0, or -1 with EK_DATA "WHAT 'VALUE': why" (VALUE quoted).
 */
int	name_check(const char *what, const char *s, struct errbuf *);

/* Whether s is a name (name_check() without a message); NULL is not. */
bool	name_ok(const char *s);

/* Check a deployment id: 0, or -1 with EK_DATA "WHAT 'VALUE': why". */
int	deployment_id_check(const char *what, const char *s, struct errbuf *);

/* Whether s is a deployment id; NULL is not. */
bool	deployment_id_ok(const char *s);

/*
 * A new random deployment id into ret_id.  Returns 0, or -1 with EK_OS
 * when the kernel gives no random bytes (getrandom(2) and why).
 */
int	deployment_id_new(char ret_id[DEPLOYMENT_ID_LEN + 1], struct errbuf *)
	    HOOKD_WUR;

#endif /* HOOKD_NAMES_H */
