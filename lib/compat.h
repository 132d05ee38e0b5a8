/* SPDX-License-Identifier: ISC */
/*
 * compat.h: the glibc gaps hookd needs filled, and the feature macro.
 * Include first in every .c file.  Nothing here is copied from another
 * project's header; the few helpers are our own.
 */
#ifndef HOOKD_COMPAT_H
#define HOOKD_COMPAT_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#ifndef __dead
#define __dead		__attribute__((__noreturn__))
#endif

#define HOOKD_PRINTF(f, a)	__attribute__((__format__(__printf__, f, a)))
#define HOOKD_WUR		__attribute__((__warn_unused_result__))

#ifndef TAILQ_FOREACH_SAFE
/* Iterate while allowing 'var' to be removed and freed inside the body. */
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

/*
 * STATIC is 'static' in the programs and nothing in unit-test builds, so
 * tests can reach internal functions declared in lib/<module>_int.h.
 */
#ifdef HOOKD_UNIT_TEST
#define STATIC
#else
#define STATIC static
#endif

size_t	strlcpy(char *, const char *, size_t);
size_t	strlcat(char *, const char *, size_t);

/*
 * Parse a decimal unsigned integer in [min, max].  Returns 0 and sets
 * *ret_val, or -1 with errno EINVAL (not a number, trailing junk) or
 * ERANGE (out of bounds).  A strtonum(3) for unsigned 64-bit values.
 */
int	parse_u64(const char *, uint64_t min, uint64_t max, uint64_t *ret_val);

/*
 * write(2) all of buf, retrying short writes and EINTR.  Returns 0, or -1
 * with errno set by the failing write.  May block like write(2).
 */
int	write_full(int fd, const void *buf, size_t len);

#endif /* HOOKD_COMPAT_H */
