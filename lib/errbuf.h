/* SPDX-License-Identifier: ISC */
/*
 * errbuf.h: the typed error record every fallible lib/ function fills in
 * (git's "err strbuf", with a kind that maps to a sysexits code).
 */
#ifndef HOOKD_ERRBUF_H
#define HOOKD_ERRBUF_H

#include "compat.h"

enum errkind {
	EK_NONE = 0,
	EK_USAGE,	/* bad invocation		-> EX_USAGE (64) */
	EK_DATA,	/* bad appspec/message/bundle	-> EX_DATAERR (65) */
	EK_NOINPUT,	/* named input missing		-> EX_NOINPUT (66) */
	EK_UNAVAIL,	/* service refused/unreachable	-> EX_UNAVAILABLE 69 */
	EK_BUG,		/* internal inconsistency	-> EX_SOFTWARE (70) */
	EK_OS,		/* fork, pipe, setuid ...	-> EX_OSERR (71) */
	EK_IO,		/* read/write/rename failed	-> EX_IOERR (74) */
	EK_TEMP,	/* worth retrying		-> EX_TEMPFAIL (75) */
	EK_PROTO,	/* unexpected remote reply	-> EX_PROTOCOL (76) */
	EK_PERM,	/* permission denied		-> EX_NOPERM (77) */
	EK_CONFIG,	/* bad hookd.yml / env		-> EX_CONFIG (78) */
	EK_FAILED,	/* deployment ran and failed	-> 1 */
};

#define ERRBUF_MSG_MAX	1024	/* longer messages are truncated */

struct errbuf {
	enum errkind	 kind;
	char		 msg[ERRBUF_MSG_MAX];
};

/* Reset to "no error". */
void	errbuf_clear(struct errbuf *);
/* Set kind and message; returns -1 so callers can 'return errbuf_set()'. */
int	errbuf_set(struct errbuf *, enum errkind, const char *, ...)
	    HOOKD_PRINTF(3, 4);
/* Like errbuf_set, appending ": strerror(errno)" (errno read on entry). */
int	errbuf_errno(struct errbuf *, enum errkind, const char *, ...)
	    HOOKD_PRINTF(3, 4);
/* Like errbuf_errno with an explicit error number. */
int	errbuf_errnum(struct errbuf *, enum errkind, int, const char *, ...)
	    HOOKD_PRINTF(4, 5);
/* Prefix context to the message, keeping the kind; returns -1. */
int	errbuf_prefix(struct errbuf *, const char *, ...) HOOKD_PRINTF(2, 3);
/* The process exit status for eb's kind: 0, 1, or 64-78 (sysexits). */
int	errbuf_exitcode(const struct errbuf *);
/* The sysexits code for a kind (EK_NONE -> 0, EK_FAILED -> 1). */
int	errkind_exitcode(enum errkind);
/* A short stable name for a kind ("data", "io", ...), for logs and JSON. */
const char *errkind_name(enum errkind);

/*
 * For the clang static analyzer (make lint) only: it cannot see across
 * files that these return -1, and then follows "return errbuf_set(...)"
 * as if it could be a success.  errbuf.c defines HOOKD_ERRBUF_C.
 */
#if defined(__clang_analyzer__) && !defined(HOOKD_ERRBUF_C)
#define errbuf_set(...)		((void)errbuf_set(__VA_ARGS__), -1)
#define errbuf_errno(...)	((void)errbuf_errno(__VA_ARGS__), -1)
#define errbuf_errnum(...)	((void)errbuf_errnum(__VA_ARGS__), -1)
#define errbuf_prefix(...)	((void)errbuf_prefix(__VA_ARGS__), -1)
#endif

#endif /* HOOKD_ERRBUF_H */
