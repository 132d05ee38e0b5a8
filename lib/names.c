/* SPDX-License-Identifier: ISC */
/*
 * names.c: the name and id rules (see names.h).
 */
#include "compat.h"

#include <sys/random.h>

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "errbuf.h"
#include "names.h"
#include "quote.h"

#include "banned.h"

#define NAME_SHOW_MAX	(64 + 8)	/* bytes of a bad value shown */

/* NULL, or why s is not a name. */
static const char *
name_problem(const char *s)
{
	size_t	 n = strlen(s);

	if (n == 0)
		return "must not be empty";
	if (n > NAME_LEN_MAX)
		return "longer than the limit of characters";
	for (size_t i = 0; i < n; i++) {
		unsigned char	c = (unsigned char)s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9'))
			continue;
		if (c == '.' || c == '_' || c == '-') {
			if (i > 0)
				continue;
			return "must start with a letter or digit";
		}
		return "only letters, digits, '.', '_' and '-' are allowed";
	}
	return NULL;
}

int
name_check(const char *what, const char *s, struct errbuf *eb)
{
	char		 qb[NAME_SHOW_MAX];
	const char	*why;

	if ((why = name_problem(s)) == NULL)
		return 0;
	if (s[0] == '\0')
		return errbuf_set(eb, EK_DATA, "%s: %s", what, why);
	if (strlen(s) > NAME_LEN_MAX)
		return errbuf_set(eb, EK_DATA, "%s '%s': longer than %d "
		    "characters", what, quote_str(s, qb, sizeof(qb)),
		    NAME_LEN_MAX);
	return errbuf_set(eb, EK_DATA, "%s '%s': %s", what,
	    quote_str(s, qb, sizeof(qb)), why);
}

bool
name_ok(const char *s)
{
	return s != NULL && name_problem(s) == NULL;
}

bool
deployment_id_ok(const char *s)
{
	if (s == NULL || strlen(s) != DEPLOYMENT_ID_LEN || s[0] != 'd' ||
	    s[1] != '-')
		return false;
	for (size_t i = 2; i < DEPLOYMENT_ID_LEN; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

int
deployment_id_check(const char *what, const char *s, struct errbuf *eb)
{
	char	 qb[NAME_SHOW_MAX];

	if (deployment_id_ok(s))
		return 0;
	return errbuf_set(eb, EK_DATA, "%s '%s': must be 'd-' and 9 "
	    "upper-case letters or digits", what, quote_str(s, qb,
	    sizeof(qb)));
}

int
deployment_id_new(char ret_id[DEPLOYMENT_ID_LEN + 1], struct errbuf *eb)
{
	static const char	 b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	unsigned char		 r[DEPLOYMENT_ID_LEN - 2];
	size_t			 got = 0;
	ssize_t			 n;

	while (got < sizeof(r)) {
		n = getrandom(r + got, sizeof(r) - got, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return errbuf_errno(eb, EK_OS, "cannot make a "
			    "deployment id: getrandom");
		got += (size_t)n;
	}
	ret_id[0] = 'd';
	ret_id[1] = '-';
	for (size_t i = 0; i < sizeof(r); i++)
		ret_id[2 + i] = b32[r[i] & 31];	/* 256 % 32 == 0: unbiased */
	ret_id[DEPLOYMENT_ID_LEN] = '\0';
	return 0;
}
