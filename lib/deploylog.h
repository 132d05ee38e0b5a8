/* SPDX-License-Identifier: ISC */
/*
 * deploylog.h: ROOT/logs/ID.log, the complete record of one deployment.
 * Each line is "TIME EVENT text" or "TIME EVENT [stdout] text": a
 * timestamp (RFC 3339 UTC, milliseconds), the lifecycle event, and either
 * what hookd did or one line of a script's output.  The journal gets the
 * summary; this file gets everything (STYLE.md B7).
 */
#ifndef HOOKD_DEPLOYLOG_H
#define HOOKD_DEPLOYLOG_H

#include <stddef.h>

#include "compat.h"

struct errbuf;

struct deploylog {
	int		 fd;		/* -1: closed (writes are dropped) */
	unsigned long long size;	/* bytes in the file */
	int		 capped;	/* script output is being dropped */
	unsigned long long max;		/* DEPLOYLOG_FILE_MAX unless changed */
	unsigned long long omitted;	/* bytes of output not written */
	char		*ring;		/* last DEPLOYLOG_TAIL_MAX B dropped */
	size_t		 rhead;		/* next write position in ring */
	size_t		 rlen;		/* bytes held in ring */
};

void	deploylog_init(struct deploylog *);

/*
 * Open (append, create 0640) the log at 'path'.  Returns 0, or -1 with eb
 * set (EK_IO).  Any earlier file is closed first.
 */
int	deploylog_open(struct deploylog *, const char *path, struct errbuf *);
void	deploylog_close(struct deploylog *);

/*
 * Append one line tagged with 'event' (NULL: "-").  A line is written
 * with a single write(2), cut at DEPLOYLOG_LINE_MAX bytes.  Write errors
 * are ignored: the log must never fail a deployment.
 */
void	deploylog_printf(struct deploylog *, const char *event,
	    const char *, ...) HOOKD_PRINTF(3, 4);
/*
 * One line of script output; 'stream' is "stdout" or "stderr".  Once the
 * file holds DEPLOYLOG_FILE_MAX bytes, script output is dropped (one line
 * says so); hookd's own lines still go in, up to DEPLOYLOG_RESERVE more,
 * so the outcome is always recorded.  The failure report keeps the last
 * HOOK_TAIL_MAX bytes of output either way.
 */
void	deploylog_output(struct deploylog *, const char *event,
	    const char *stream, const char *line, size_t len);

/*
 * Remove the logs of the given deployment ids from 'logdir' (ROOT/logs):
 * the engine calls it for the deployments that fell out of the kept
 * window, so logs never outgrow keep_releases deployments per group.
 * Ids that are not plain names are skipped; a missing file is fine.
 * Returns how many files were removed.
 */
size_t	deploylog_prune(const char *logdir, const char *const *ids,
	    size_t nids);

#endif /* HOOKD_DEPLOYLOG_H */
