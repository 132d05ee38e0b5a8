/* SPDX-License-Identifier: ISC */
/*
 * buf.h: a bounded, growable byte buffer (curl's dynbuf model).  The
 * contents are always NUL-terminated, so text can be used as a C string.
 * A buffer never grows past the maximum given to buf_init(); an append
 * that would releases the buffer and fails (the dynbuf rule), so a
 * caller cannot keep using a silently truncated result.
 */
#ifndef HOOKD_BUF_H
#define HOOKD_BUF_H

#include <stddef.h>

#include "compat.h"

struct buf {
	char	*data;		/* NULL until the first append */
	size_t	 len;		/* bytes used, excluding the NUL */
	size_t	 cap;		/* bytes allocated */
	size_t	 max;		/* most bytes it may hold (excluding the NUL) */
};

void	 buf_init(struct buf *, size_t max);
/* Free the contents; the buffer may be reused (keeps its max). */
void	 buf_release(struct buf *);
/* Forget the contents but keep the allocation. */
void	 buf_reset(struct buf *);
/* Append; 0 on success, -1 (buffer released, errno EFBIG) if over max. */
int	 buf_add(struct buf *, const void *, size_t) HOOKD_WUR;
int	 buf_addstr(struct buf *, const char *) HOOKD_WUR;
int	 buf_addch(struct buf *, char) HOOKD_WUR;
int	 buf_printf(struct buf *, const char *, ...)
	    HOOKD_PRINTF(2, 3) HOOKD_WUR;
/* The contents as a string ("" when empty); borrowed, valid until changed. */
const char *buf_str(const struct buf *);
/* Hand the contents to the caller (new string, never NULL) and reset. */
char	*buf_take(struct buf *, size_t *ret_len);

#endif /* HOOKD_BUF_H */
