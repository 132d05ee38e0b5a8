/* SPDX-License-Identifier: ISC */
/*
 * xalloc.h: allocation that aborts on out-of-memory (STYLE.md: OOM is
 * fatal in hookd, deployer and lib alike).  Every result is new; the
 * caller frees it with free(3).
 */
#ifndef HOOKD_XALLOC_H
#define HOOKD_XALLOC_H

#include <stddef.h>

#include "compat.h"

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
char	*xasprintf(const char *, ...) HOOKD_PRINTF(1, 2);
/* free(3) after overwriting n bytes with zeros (secrets); NULL-safe. */
void	 freezero(void *, size_t);

#endif /* HOOKD_XALLOC_H */
