/* SPDX-License-Identifier: ISC */
/*
 * compat.c: strlcpy/strlcat (glibc 2.36 has neither) and parse_u64.
 */
#include "compat.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "banned.h"

/* Copy at most size-1 bytes, always NUL-terminate; returns strlen(src). */
size_t
strlcpy(char *dst, const char *src, size_t size)
{
	size_t	 n = strlen(src);

	if (size != 0) {
		size_t	 c = n >= size ? size - 1 : n;

		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

/* Append src to dst of total size; returns the length it tried to make. */
size_t
strlcat(char *dst, const char *src, size_t size)
{
	size_t	 dl = strnlen(dst, size);

	if (dl == size)
		return size + strlen(src);
	return dl + strlcpy(dst + dl, src, size - dl);
}

int
parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret_val)
{
	unsigned long long	 v;
	char			*end;

	if (s == NULL || *s == '\0' || !isdigit((unsigned char)*s)) {
		errno = EINVAL;
		return -1;
	}
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end != '\0') {
		errno = EINVAL;
		return -1;
	}
	if (errno == ERANGE || v < min || v > max) {
		errno = ERANGE;
		return -1;
	}
	*ret_val = v;
	return 0;
}

int
write_full(int fd, const void *buf, size_t len)
{
	const char	*c = buf;
	ssize_t		 n;

	while (len > 0) {
		n = write(fd, c, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		c += n;
		len -= (size_t)n;
	}
	return 0;
}
