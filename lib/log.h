/* SPDX-License-Identifier: ISC */
/*
 * log.h: logging for hookd and deployer (OpenBSD ntpd/httpd names).  Lines
 * go to stderr ("hookd[pid]: message") or, under systemd, to the journal
 * with structured HOOKD_* fields.  Other lib/ modules may call only
 * log_debug (STYLE.md B7).
 */
#ifndef HOOKD_LOG_H
#define HOOKD_LOG_H

#include "compat.h"

#define LOG_TO_STDERR	0x1
#define LOG_TO_JOURNAL	0x2
#define LOG_TO_AUTO	0x4	/* journal if $JOURNAL_STREAM names stderr */

/*
 * Start logging as 'procname'.  verbose: 0 = info and above, 1 = debug.
 * Safe to call again (the daemon does after reading its config).
 */
void	log_init(const char *procname, int dest, int verbose);
int	log_getverbose(void);
void	log_setverbose(int);

/*
 * Context attached to every following message as journal fields
 * (HOOKD_DEPLOYMENT_ID, HOOKD_APPLICATION, HOOKD_GROUP,
 * HOOKD_LIFECYCLE_EVENT, HOOKD_SCRIPT).  NULL clears a field.  The strings
 * are copied.
 */
void	log_setctx(const char *deployment_id, const char *application,
	    const char *group);
void	log_setevent(const char *event, const char *script);

void	log_warn(const char *, ...) HOOKD_PRINTF(1, 2);
void	log_warnx(const char *, ...) HOOKD_PRINTF(1, 2);
void	log_notice(const char *, ...) HOOKD_PRINTF(1, 2);
void	log_info(const char *, ...) HOOKD_PRINTF(1, 2);
void	log_debug_(const char *, ...) HOOKD_PRINTF(1, 2);
__dead void fatal(const char *, ...) HOOKD_PRINTF(1, 2);
__dead void fatalx(const char *, ...) HOOKD_PRINTF(1, 2);

extern int log_verbose_;

/* Arguments are not evaluated unless debug logging is on. */
#define log_debug(...)							\
	do {								\
		if (log_verbose_ > 0)					\
			log_debug_(__VA_ARGS__);			\
	} while (0)

#endif /* HOOKD_LOG_H */
