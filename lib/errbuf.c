/* SPDX-License-Identifier: ISC */
/*
 * errbuf.c: fill, extend and classify error records.  This file is the
 * only place that maps error kinds to exit codes (STYLE.md B10).
 */
#define HOOKD_ERRBUF_C	/* see the end of errbuf.h */
#include "compat.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "errbuf.h"

#include "banned.h"

void
errbuf_clear(struct errbuf *eb)
{
	eb->kind = EK_NONE;
	eb->msg[0] = '\0';
}

static void
errbuf_vset(struct errbuf *eb, enum errkind kind, const char *fmt,
    va_list ap)
{
	eb->kind = kind;
	(void)vsnprintf(eb->msg, sizeof(eb->msg), fmt, ap);
}

int
errbuf_set(struct errbuf *eb, enum errkind kind, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	errbuf_vset(eb, kind, fmt, ap);
	va_end(ap);
	return -1;
}

static void
errbuf_append_errnum(struct errbuf *eb, int errnum)
{
	size_t	 len = strlen(eb->msg);

	(void)snprintf(eb->msg + len, sizeof(eb->msg) - len, ": %s",
	    strerror(errnum));
}

int
errbuf_errno(struct errbuf *eb, enum errkind kind, const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	errbuf_vset(eb, kind, fmt, ap);
	va_end(ap);
	errbuf_append_errnum(eb, saved);
	errno = saved;
	return -1;
}

int
errbuf_errnum(struct errbuf *eb, enum errkind kind, int errnum,
    const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	errbuf_vset(eb, kind, fmt, ap);
	va_end(ap);
	errbuf_append_errnum(eb, errnum);
	return -1;
}

int
errbuf_prefix(struct errbuf *eb, const char *fmt, ...)
{
	char	 old[ERRBUF_MSG_MAX];
	size_t	 len;
	va_list	 ap;

	(void)strlcpy(old, eb->msg, sizeof(old));
	va_start(ap, fmt);
	(void)vsnprintf(eb->msg, sizeof(eb->msg), fmt, ap);
	va_end(ap);
	len = strlen(eb->msg);
	(void)strlcpy(eb->msg + len, old, sizeof(eb->msg) - len);
	return -1;
}

int
errkind_exitcode(enum errkind kind)
{
	switch (kind) {
	case EK_NONE:
		return 0;
	case EK_FAILED:
		return 1;
	case EK_USAGE:
		return EX_USAGE;
	case EK_DATA:
		return EX_DATAERR;
	case EK_NOINPUT:
		return EX_NOINPUT;
	case EK_UNAVAIL:
		return EX_UNAVAILABLE;
	case EK_BUG:
		return EX_SOFTWARE;
	case EK_OS:
		return EX_OSERR;
	case EK_IO:
		return EX_IOERR;
	case EK_TEMP:
		return EX_TEMPFAIL;
	case EK_PROTO:
		return EX_PROTOCOL;
	case EK_PERM:
		return EX_NOPERM;
	case EK_CONFIG:
		return EX_CONFIG;
	}
	return EX_SOFTWARE;
}

int
errbuf_exitcode(const struct errbuf *eb)
{
	return errkind_exitcode(eb->kind);
}

const char *
errkind_name(enum errkind kind)
{
	static const char *const names[] = {
		[EK_NONE] = "none",	[EK_USAGE] = "usage",
		[EK_DATA] = "data",	[EK_NOINPUT] = "noinput",
		[EK_UNAVAIL] = "unavailable", [EK_BUG] = "software",
		[EK_OS] = "os",		[EK_IO] = "io",
		[EK_TEMP] = "tempfail",	[EK_PROTO] = "protocol",
		[EK_PERM] = "noperm",	[EK_CONFIG] = "config",
		[EK_FAILED] = "failed",
	};

	if ((size_t)kind >= nitems(names) || names[kind] == NULL)
		return "unknown";
	return names[kind];
}
