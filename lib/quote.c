/* SPDX-License-Identifier: ISC */
/*
 * quote.c: untrusted text for messages, in one dialect (see quote.h).
 */
#include "compat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quote.h"
#include "xalloc.h"

#include "banned.h"

const char *
quote_text(const char *s, size_t len, char *buf, size_t bufsz)
{
	size_t		 o = 0, i;
	unsigned char	 c;

	if (bufsz == 0)
		return buf;
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		/* Room for "\xNN", "..." and the NUL. */
		if (o + 4 + 3 + 1 > bufsz)
			break;
		if (c == '\\' || c == '"') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			(void)snprintf(buf + o, bufsz - o, "\\x%02x", c);
			o += 4;
		} else
			buf[o++] = (char)c;
	}
	if (i < len && o + 3 + 1 <= bufsz) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

const char *
quote_str(const char *s, char *buf, size_t bufsz)
{
	return quote_text(s, strlen(s), buf, bufsz);
}

char *
quote_dup(const char *s, size_t len, size_t bufsz)
{
	char	*buf;

	buf = xmalloc(bufsz > 0 ? bufsz : 1);
	buf[0] = '\0';
	(void)quote_text(s, len, buf, bufsz);
	return buf;
}

char *
quote_scrub(char *s)
{
	for (char *p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return s;
}
