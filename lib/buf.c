/* SPDX-License-Identifier: ISC */
/*
 * buf.c: bounded dynamic buffer.  See buf.h for the contract.
 */
#include "compat.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "xalloc.h"

#include "banned.h"

#define BUF_MIN_ALLOC	64

void
buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = b->cap = 0;
	b->max = max;
}

void
buf_release(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

int
buf_add(struct buf *b, const void *p, size_t n)
{
	size_t	 need, ncap;

	if (n > b->max || b->len > b->max - n) {
		buf_release(b);
		errno = EFBIG;
		return -1;
	}
	need = b->len + n + 1;
	if (need > b->cap) {
		ncap = b->cap < BUF_MIN_ALLOC ? BUF_MIN_ALLOC : b->cap;
		while (ncap < need)
			ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
		if (ncap > b->max + 1)
			ncap = b->max + 1;
		b->data = xreallocarray(b->data, 1, ncap);
		b->cap = ncap;
	}
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
buf_addstr(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int
buf_addch(struct buf *b, char c)
{
	return buf_add(b, &c, 1);
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 n, r;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n == -1) {
		buf_release(b);
		return -1;
	}
	r = buf_add(b, s, (size_t)n);
	free(s);
	return r;
}

const char *
buf_str(const struct buf *b)
{
	return b->data != NULL ? b->data : "";
}

char *
buf_take(struct buf *b, size_t *ret_len)
{
	char	*p;

	p = b->data != NULL ? b->data : xstrdup("");
	if (ret_len != NULL)
		*ret_len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}
