/* SPDX-License-Identifier: ISC */
/*
 * log.c: the stderr and journal backends.  Every function preserves
 * errno.  fatal/fatalx exit with EX_SOFTWARE (70).
 */
#include "compat.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <syslog.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "log.h"
#include "xalloc.h"

#include "banned.h"

int log_verbose_;

static const char	*log_procname = "hookd";
static int		 log_dest = LOG_TO_STDERR;

static struct {
	char	*deployment_id;
	char	*application;
	char	*group;
	char	*event;
	char	*script;
} ctx;

/*
 * systemd sets JOURNAL_STREAM=DEV:INODE when stderr is a journal stream
 * (systemd.exec(5)); compare it with our stderr to decide.
 */
static int
log_stderr_is_journal(void)
{
	const char	*js;
	struct stat	 st;
	unsigned long	 dev, ino;

	if ((js = secure_getenv("JOURNAL_STREAM")) == NULL)
		return 0;
	if (sscanf(js, "%lu:%lu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) == -1)
		return 0;
	return st.st_dev == dev && st.st_ino == ino;
}

void
log_init(const char *procname, int dest, int verbose)
{
	log_procname = procname;
	log_verbose_ = verbose;
	if (dest & LOG_TO_AUTO)
		dest = log_stderr_is_journal() ? LOG_TO_JOURNAL :
		    LOG_TO_STDERR;
	log_dest = dest;
}

int
log_getverbose(void)
{
	return log_verbose_;
}

void
log_setverbose(int v)
{
	log_verbose_ = v;
}

static void
ctx_set(char **field, const char *value)
{
	free(*field);
	*field = value != NULL ? xstrdup(value) : NULL;
}

void
log_setctx(const char *deployment_id, const char *application,
    const char *group)
{
	ctx_set(&ctx.deployment_id, deployment_id);
	ctx_set(&ctx.application, application);
	ctx_set(&ctx.group, group);
	ctx_set(&ctx.event, NULL);
	ctx_set(&ctx.script, NULL);
}

void
log_setevent(const char *event, const char *script)
{
	ctx_set(&ctx.event, event);
	ctx_set(&ctx.script, script);
}

static void
log_vlog(int pri, const char *fmt, va_list ap, int with_errno, int saved)
{
	char	 msg[2048];
	size_t	 len;

	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	if (with_errno) {
		len = strlen(msg);
		(void)snprintf(msg + len, sizeof(msg) - len, ": %s",
		    strerror(saved));
	}

	if (log_dest & LOG_TO_JOURNAL) {
		/* Empty values are allowed by the journal; keep one call. */
		(void)sd_journal_send("MESSAGE=%s", msg,
		    "PRIORITY=%d", pri,
		    "SYSLOG_IDENTIFIER=%s", log_procname,
		    "HOOKD_DEPLOYMENT_ID=%s",
		    ctx.deployment_id ? ctx.deployment_id : "",
		    "HOOKD_APPLICATION=%s",
		    ctx.application ? ctx.application : "",
		    "HOOKD_GROUP=%s", ctx.group ? ctx.group : "",
		    "HOOKD_LIFECYCLE_EVENT=%s", ctx.event ? ctx.event : "",
		    "HOOKD_SCRIPT=%s", ctx.script ? ctx.script : "",
		    NULL);
	}
	if (log_dest & LOG_TO_STDERR)
		(void)fprintf(stderr, "%s[%ld]: %s\n", log_procname,
		    (long)getpid(), msg);
}

#define LOG_BODY(pri, with_errno)					\
	do {								\
		va_list	 ap;						\
		int	 saved = errno;					\
									\
		va_start(ap, fmt);					\
		log_vlog(pri, fmt, ap, with_errno, saved);		\
		va_end(ap);						\
		errno = saved;						\
	} while (0)

void
log_warn(const char *fmt, ...)
{
	LOG_BODY(LOG_ERR, 1);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_ERR, 0);
}

void
log_notice(const char *fmt, ...)
{
	LOG_BODY(LOG_NOTICE, 0);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_INFO, 0);
}

void
log_debug_(const char *fmt, ...)
{
	LOG_BODY(LOG_DEBUG, 0);
}

void
fatal(const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT, 1);
	exit(EX_SOFTWARE);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT, 0);
	exit(EX_SOFTWARE);
}
