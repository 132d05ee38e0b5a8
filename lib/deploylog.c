/* SPDX-License-Identifier: ISC */
/*
 * deploylog.c: the per-deployment log file.  Unbuffered: every line is
 * one write(2) to an O_APPEND file, so a kill -9 loses nothing already
 * reported and concurrent writers (a recovery appending to an interrupted
 * deployment's log) never interleave within a line.  No fsync: the log is
 * a record, not state.
 */
#include "compat.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "caps.h"
#include "deploylog.h"
#include "errbuf.h"
#include "state.h"
#include "xalloc.h"

#include "banned.h"

void
deploylog_init(struct deploylog *dl)
{
	dl->fd = -1;
	dl->size = 0;
	dl->capped = 0;
	dl->max = DEPLOYLOG_FILE_MAX;
	dl->omitted = 0;
	dl->ring = NULL;
	dl->rhead = dl->rlen = 0;
}

int
deploylog_open(struct deploylog *dl, const char *path, struct errbuf *eb)
{
	int		 fd;

	deploylog_close(dl);
	struct stat	 st;

	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd == -1)
		return errbuf_errno(eb, EK_IO, "cannot open '%s'", path);
	if (fstat(fd, &st) == -1) {
		errbuf_errno(eb, EK_IO, "cannot stat '%s'", path);
		close(fd);
		return -1;
	}
	dl->fd = fd;
	dl->size = (unsigned long long)st.st_size;
	dl->capped = dl->size >= dl->max;
	return 0;
}

static void	deploylog_flush_tail(struct deploylog *);
static void	deploylog_keep(struct deploylog *, const char *, size_t);

void
deploylog_close(struct deploylog *dl)
{
	if (dl->fd != -1) {
		deploylog_flush_tail(dl);
		close(dl->fd);
	}
	dl->fd = -1;
	free(dl->ring);
	dl->ring = NULL;
	dl->rhead = dl->rlen = 0;
	dl->omitted = 0;
}

static void
deploylog_write(struct deploylog *dl, char *line, size_t len)
{
	ssize_t	 n;

	if (len >= DEPLOYLOG_LINE_MAX)
		len = DEPLOYLOG_LINE_MAX - 1;
	line[len++] = '\n';
	/* Past the reserve even hookd's lines stop: the disk comes first. */
	if (dl->size + len > dl->max + DEPLOYLOG_RESERVE)
		return;
	do {
		n = write(dl->fd, line, len);
	} while (n == -1 && errno == EINTR);
	if (n > 0)
		dl->size += (unsigned long long)n;
}

/* "TIME EVENT " into line; returns its length. */
static size_t
deploylog_head(char *line, const char *event)
{
	char	 ts[STATE_TIME_LEN];
	int	 n;

	state_timestamp(ts);
	n = snprintf(line, DEPLOYLOG_LINE_MAX, "%s %s ", ts,
	    event != NULL ? event : "-");
	if (n < 0)
		return 0;
	return (size_t)n >= DEPLOYLOG_LINE_MAX ? DEPLOYLOG_LINE_MAX - 1 :
	    (size_t)n;
}

void
deploylog_printf(struct deploylog *dl, const char *event, const char *fmt,
    ...)
{
	char	 line[DEPLOYLOG_LINE_MAX + 1];
	size_t	 len;
	va_list	 ap;
	int	 n;

	if (dl->fd == -1)
		return;
	deploylog_flush_tail(dl);
	len = deploylog_head(line, event);
	va_start(ap, fmt);
	n = vsnprintf(line + len, DEPLOYLOG_LINE_MAX - len, fmt, ap);
	va_end(ap);
	if (n > 0)
		len += (size_t)n;
	deploylog_write(dl, line, len);
}

void
deploylog_output(struct deploylog *dl, const char *event, const char *stream,
    const char *text, size_t tlen)
{
	char	 line[DEPLOYLOG_LINE_MAX + 1];
	size_t	 len;
	int	 n;

	if (dl->fd == -1)
		return;
	/* The kept tail counts against the cap too. */
	if (dl->size + tlen + DEPLOYLOG_TAIL_MAX + DEPLOYLOG_LINE_MAX >=
	    dl->max)
		dl->capped = 1;
	len = deploylog_head(line, event);
	n = snprintf(line + len, DEPLOYLOG_LINE_MAX - len, "[%s] ", stream);
	if (n > 0)
		len += (size_t)n;
	if (len > DEPLOYLOG_LINE_MAX)
		len = DEPLOYLOG_LINE_MAX;
	if (tlen > DEPLOYLOG_LINE_MAX - len)
		tlen = DEPLOYLOG_LINE_MAX - len;
	memcpy(line + len, text, tlen);
	len += tlen;
	if (dl->capped) {
		line[len++] = '\n';
		deploylog_keep(dl, line, len);
		return;
	}
	deploylog_write(dl, line, len);
}

/* Past the cap: remember the line in the tail ring, count it as left out. */
static void
deploylog_keep(struct deploylog *dl, const char *line, size_t len)
{
	size_t	 n;

	if (dl->ring == NULL)
		dl->ring = xmalloc(DEPLOYLOG_TAIL_MAX);
	dl->omitted += len;
	while (len > 0) {
		n = DEPLOYLOG_TAIL_MAX - dl->rhead;
		if (n > len)
			n = len;
		memcpy(dl->ring + dl->rhead, line, n);
		dl->rhead = (dl->rhead + n) % DEPLOYLOG_TAIL_MAX;
		dl->rlen = dl->rlen + n > DEPLOYLOG_TAIL_MAX ?
		    DEPLOYLOG_TAIL_MAX : dl->rlen + n;
		line += n;
		len -= n;
	}
}

/*
 * Write what the ring holds, after a line saying how much output was left
 * out.  The ring holds whole formatted lines; when it has wrapped, its
 * first line is partial and is dropped.
 */
static void
deploylog_flush_tail(struct deploylog *dl)
{
	char			 line[DEPLOYLOG_LINE_MAX + 1];
	unsigned long long	 left;
	size_t			 start, first, len, keep;
	char			*buf, *p, *nl;
	ssize_t			 n;

	if (dl->rlen == 0)
		return;
	buf = xmalloc(dl->rlen);
	start = (dl->rhead + DEPLOYLOG_TAIL_MAX - dl->rlen) %
	    DEPLOYLOG_TAIL_MAX;
	first = DEPLOYLOG_TAIL_MAX - start < dl->rlen ?
	    DEPLOYLOG_TAIL_MAX - start : dl->rlen;
	memcpy(buf, dl->ring + start, first);
	memcpy(buf + first, dl->ring, dl->rlen - first);
	p = buf;
	if (dl->omitted > dl->rlen &&
	    (nl = memchr(buf, '\n', dl->rlen)) != NULL)
		p = nl + 1;
	keep = (size_t)(buf + dl->rlen - p);
	left = dl->omitted - keep;
	dl->rlen = 0;
	dl->omitted = 0;

	len = deploylog_head(line, NULL);
	(void)snprintf(line + len, DEPLOYLOG_LINE_MAX - len, "log cap of %llu "
	    "bytes reached: %llu bytes of script output left out, the last "
	    "%zu follow", dl->max, left, keep);
	deploylog_write(dl, line, strlen(line));
	if (keep > 0 && dl->size + keep <= dl->max + DEPLOYLOG_RESERVE) {
		do {
			n = write(dl->fd, p, keep);
		} while (n == -1 && errno == EINTR);
		if (n > 0)
			dl->size += (unsigned long long)n;
	}
	free(buf);
}

size_t
deploylog_prune(const char *logdir, const char *const *ids, size_t nids)
{
	char	 path[PATH_MAX];
	size_t	 removed = 0;
	int	 n;

	for (size_t i = 0; i < nids; i++) {
		/* Ids come from state.json: never let one name a path. */
		if (ids[i] == NULL || ids[i][0] == '\0' || ids[i][0] == '.' ||
		    strchr(ids[i], '/') != NULL)
			continue;
		n = snprintf(path, sizeof(path), "%s/%s.log", logdir, ids[i]);
		if (n < 0 || (size_t)n >= sizeof(path))
			continue;
		if (unlink(path) == 0)
			removed++;
	}
	return removed;
}
