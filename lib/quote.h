/* SPDX-License-Identifier: ISC */
/*
 * quote.h: untrusted text (names from archives, values from messages and
 * replies, URLs, keys) made safe to put in an error or a log line, in one
 * dialect: printable ASCII as is, '\' and '"' after a backslash, any
 * other byte as \xNN, and "..." where it was cut short.
 */
#ifndef HOOKD_QUOTE_H
#define HOOKD_QUOTE_H

#include <stddef.h>

/*
 * The 'len' bytes at s quoted into buf (bufsz bytes, at least 8 for any
 * text to show), cut with "..." where it does not fit.  Returns buf.
 */
const char	*quote_text(const char *s, size_t len, char *buf,
		    size_t bufsz);

/* quote_text() of the NUL-terminated s. */
const char	*quote_str(const char *s, char *buf, size_t bufsz);

/* quote_text() into a new string of at most bufsz bytes with its NUL. */
char		*quote_dup(const char *s, size_t len, size_t bufsz);

/*
 * A message already composed of quoted parts and untrusted pieces (a
 * YAML key path): each control byte in s becomes '?', in place, so no
 * terminal escape reaches a log or a tty.  Returns s.
 */
char		*quote_scrub(char *s);

#endif /* HOOKD_QUOTE_H */
