/* SPDX-License-Identifier: ISC */
/*
 * queue_spool.c: the spool-directory queue backend, a maildir:
 *
 *   DIR/NAME/tmp/ID                       being written by send()
 *   DIR/NAME/new/ID,N                     waiting; N = deliveries so far
 *   DIR/NAME/cur/ID,N,CLAIMANT,DEADLINE   delivered, hidden until DEADLINE
 *   DIR/NAME/failed/ID,N (+ ID,N.reason)  rejected, with why
 *
 * send() writes tmp/ID, fsyncs it and renames it into new/ (a reader never
 * sees a partial message).  receive() claims the oldest message by
 * renaming new/ID,N to cur/ID,N+1,CLAIMANT,DEADLINE: rename(2) is atomic,
 * so of two receivers exactly one wins and the other gets ENOENT and
 * tries the next.  CLAIMANT is PID.STARTTIME.BOOTID of the receiving
 * process; DEADLINE is a Unix time.  Every receive() first moves back to
 * new/ each message in cur/ whose deadline has passed or whose claimant
 * is gone (another boot, or no process with that pid and start time), so
 * a killed daemon's message is delivered again, with N+1.  The receipt is
 * "ID,N": extend() renames the cur/ file to a later deadline, delete()
 * unlinks it, reject() moves it to failed/; each fails with EK_NOINPUT
 * when the message was meanwhile taken back (the receipt went stale).  A
 * message delivered more than QUEUE_MAX_RECEIVES times, larger than
 * QUEUE_BODY_MAX, or whose file name is not ours goes to failed/ instead
 * of being delivered.  Waiting uses inotify on new/ (IN_MOVED_TO and
 * IN_CLOSE_WRITE), and otherwise sleeps only until the earliest deadline
 * in cur/: no busy polling.
 *
 * Writers other than hookd must do what send() does: write into tmp/,
 * then rename into new/.
 */
#include "compat.h"

#include <sys/inotify.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "caps.h"
#include "clock.h"
#include "errbuf.h"
#include "fsutil.h"
#include "log.h"
#include "message.h"
#include "proc.h"
#include "queue.h"
#include "queue_int.h"
#include "quote.h"
#include "xalloc.h"

#include "banned.h"

#define SPOOL_MODE	0700
#define SPOOL_ID_MAX	128	/* bytes of a message id */
#define CLAIMANT_MAX	64
/* Longest failed/ name: "." NAME ".reason.XXXXXX" must fit in NAME_MAX. */
#define SPOOL_FAILED_NAME_MAX	(NAME_MAX - 16)

struct spool {
	struct queue	*q;		/* ours, for queue_note_aside() */
	char		*base;		/* DIR */
	char		*dir;		/* DIR/NAME */
	int		 dfd;		/* DIR/NAME, or -1 */
	int		 ifd;		/* inotify on new/, or -1 */
	char		 me[CLAIMANT_MAX];	/* our CLAIMANT */
	char		 boot[17];	/* 16 hex digits of the boot id */
	time_t		(*now)(void);
};

/* A parsed spool file name. */
struct sname {
	char		 id[SPOOL_ID_MAX + 1];
	unsigned	 n;
	char		 claimant[CLAIMANT_MAX];
	time_t		 deadline;
};

static const char *const subdirs[] = { "tmp", "new", "cur", "failed" };

static struct spool *
sp(struct queue *q)
{
	return q->priv;
}

static time_t
wall_now(void)
{
	return time(NULL);
}

static bool
id_ok(const char *s, size_t n)
{
	if (n == 0 || n > SPOOL_ID_MAX || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		    s[i] == '_' || s[i] == '-' || s[i] == ':'))
			return false;
	return true;
}

/*
 * Parse "ID", "ID,N" (new/) or "ID,N,CLAIMANT,DEADLINE" (cur/); 'fields'
 * is what the directory holds (2 or 4; a bare ID is accepted in new/).
 */
static int
sname_parse(const char *name, int fields, struct sname *ret)
{
	const char	*c1, *c2, *c3;
	uint64_t	 v;
	char		 tmp[32];

	memset(ret, 0, sizeof(*ret));
	c1 = strchr(name, ',');
	if (c1 == NULL) {
		if (fields != 2 || !id_ok(name, strlen(name)))
			return -1;
		(void)strlcpy(ret->id, name, sizeof(ret->id));
		return 0;
	}
	if (!id_ok(name, (size_t)(c1 - name)))
		return -1;
	memcpy(ret->id, name, (size_t)(c1 - name));
	ret->id[c1 - name] = '\0';
	c2 = strchr(c1 + 1, ',');
	if (fields == 2) {
		if (c2 != NULL || parse_u64(c1 + 1, 0, 1000000, &v) == -1)
			return -1;
		ret->n = (unsigned)v;
		return 0;
	}
	if (c2 == NULL || (size_t)(c2 - c1 - 1) >= sizeof(tmp))
		return -1;
	memcpy(tmp, c1 + 1, (size_t)(c2 - c1 - 1));
	tmp[c2 - c1 - 1] = '\0';
	if (parse_u64(tmp, 0, 1000000, &v) == -1)
		return -1;
	ret->n = (unsigned)v;
	c3 = strchr(c2 + 1, ',');
	if (c3 == NULL || (size_t)(c3 - c2 - 1) >= sizeof(ret->claimant))
		return -1;
	memcpy(ret->claimant, c2 + 1, (size_t)(c3 - c2 - 1));
	ret->claimant[c3 - c2 - 1] = '\0';
	if (parse_u64(c3 + 1, 0, INT64_MAX, &v) == -1)
		return -1;
	ret->deadline = (time_t)v;
	return 0;
}

static int
cmpname(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * rename(2) that never replaces an existing file, so two spool files with
 * the same id (only a foreign writer can make them) cannot swallow each
 * other.  Falls back to a plain rename where the file system lacks
 * RENAME_NOREPLACE.
 */
static int
rename_noreplace(int dfd, const char *from, const char *to)
{
	if (renameat2(dfd, from, dfd, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	return renameat(dfd, from, dfd, to);
}

/* Read a small text file into buf; 0 or -1. */
static int
read_small(const char *path, char *buf, size_t bufsz)
{
	ssize_t	 n;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, bufsz - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* The start time of process pid (clock ticks after boot), or 0. */
static unsigned long long
proc_start(pid_t pid)
{
	unsigned long long	 start;

	return proc_stat(pid, NULL, NULL, &start) == 0 ? start : 0;
}

static void
read_boot_id(char ret[17])
{
	char	 buf[64];
	size_t	 o = 0;

	(void)strlcpy(ret, "0", 17);
	if (read_small("/proc/sys/kernel/random/boot_id", buf,
	    sizeof(buf)) == -1)
		return;
	for (char *p = buf; *p != '\0' && o < 16; p++)
		if ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))
			ret[o++] = *p;
	ret[o] = '\0';
}

/* Whether the claimant named in a cur/ file name still runs. */
static bool
claimant_alive(struct spool *s, const char *claimant)
{
	char			 boot[17];
	unsigned long long	 start;
	int			 pid;

	if (strcmp(claimant, s->me) == 0)
		return true;
	if (sscanf(claimant, "%d.%llu.%16s", &pid, &start, boot) != 3 ||
	    pid <= 0)
		return false;
	if (strcmp(boot, s->boot) != 0)
		return false;
	return proc_start(pid) == start;
}

/*
 * Whether DIR/NAME is still the directory s->dfd holds.  When it was
 * deleted or replaced meanwhile (rm -r, a new one made), the held
 * descriptors are closed: every *at() call on them would act on the old
 * one (mkdirat fails on a deleted directory, or creates in a moved one).
 */
static bool
dir_current(struct spool *s)
{
	struct stat	 now, held;

	if (s->dfd == -1)
		return true;
	if (stat(s->dir, &now) == 0 && fstat(s->dfd, &held) == 0 &&
	    now.st_dev == held.st_dev && now.st_ino == held.st_ino)
		return true;
	close(s->dfd);
	s->dfd = -1;
	if (s->ifd != -1) {
		close(s->ifd);
		s->ifd = -1;
	}
	return false;
}

static int
open_dir(struct queue *q, struct errbuf *eb)
{
	struct spool	*s = sp(q);

	if (!dir_current(s))
		return errbuf_set(eb, EK_NOINPUT, "directory '%s' was "
		    "removed", s->dir);
	if (s->dfd != -1)
		return 0;
	s->dfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dfd == -1)
		return errbuf_errno(eb, errno == ENOENT ? EK_NOINPUT : EK_IO,
		    "queue '%s'", s->dir);
	return 0;
}

static int
open_inotify(struct queue *q, struct errbuf *eb)
{
	struct spool	*s = sp(q);
	char		*path;
	int		 fd;

	if (s->ifd != -1)
		return 0;
	if ((fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1)
		return errbuf_errno(eb, EK_OS, "cannot watch spool '%s' "
		    "(inotify_init1)", s->dir);
	path = xasprintf("%s/new", s->dir);
	if (inotify_add_watch(fd, path, IN_MOVED_TO | IN_CLOSE_WRITE |
	    IN_ONLYDIR) == -1) {
		errbuf_errno(eb, errno == ENOENT ? EK_NOINPUT : EK_OS,
		    "cannot watch '%s'", path);
		free(path);
		close(fd);
		return -1;
	}
	free(path);
	s->ifd = fd;
	return 0;
}

static void
drain_inotify(struct spool *s)
{
	char	 buf[4096] __attribute__((aligned(8)));

	if (s->ifd == -1)
		return;
	while (read(s->ifd, buf, sizeof(buf)) > 0)
		;
}

/* fsync a subdirectory of the queue; errors are reported. */
static int
sync_sub(struct spool *s, const char *sub, struct errbuf *eb)
{
	int	 fd, ret = 0;

	fd = openat(s->dfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1 || fsync(fd) == -1)
		ret = errbuf_errno(eb, EK_IO, "cannot sync '%s/%s'", s->dir,
		    sub);
	if (fd != -1)
		close(fd);
	return ret;
}

/*
 * The names in subdirectory 'sub' (dot files skipped), sorted, at most
 * QUEUE_SCAN_MAX.  A new array of new strings.
 */
static int
scan(struct spool *s, const char *sub, char ***ret_names, size_t *ret_n,
    struct errbuf *eb)
{
	struct dirent	*de;
	DIR		*d;
	char		**names = NULL;
	size_t		 n = 0, cap = 0;
	int		 fd;

	fd = openat(s->dfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return errbuf_errno(eb, errno == ENOENT ? EK_NOINPUT : EK_IO,
		    "cannot open '%s/%s'", s->dir, sub);
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return errbuf_errno(eb, EK_IO, "cannot read '%s/%s'", s->dir,
		    sub);
	}
	while (n < QUEUE_SCAN_MAX && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			names = xreallocarray(names, cap, sizeof(*names));
		}
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), cmpname);
	*ret_names = names;
	*ret_n = n;
	return 0;
}

static void
names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/*
 * Move 'sub'/'name' to failed/'dest' and write failed/'dest'.reason.
 * 'shown' is how the message was first found ("new/ID,0") when the spool
 * sets it aside by itself: the daemon is told through queue_note_aside();
 * NULL for a reject() the daemon asked for.
 * A 'dest' too long to take the ".reason.XXXXXX" suffix within NAME_MAX (a
 * stray file's name, not one of ours) is replaced by "long-name.RANDOM",
 * or the file could never be moved and would block the queue for good
 * (found by tests/fuzz/fuzz_spool.c).  Returns 0, or -1 (EK_NOINPUT when
 * the file is gone).
 */
static int
move_failed(struct spool *s, const char *sub, const char *name,
    const char *dest, const char *reason, const char *shown,
    struct errbuf *eb)
{
	struct fs_atomic a = { .fd = -1 };
	char		 rq[QUEUE_REASON_MAX], nq[128], dq[128], alt[32];
	char		*rname = NULL, *tmp = NULL;
	uint64_t	 r;
	int		 ret = -1;

	if (strlen(dest) > SPOOL_FAILED_NAME_MAX) {
		if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
			r = (uint64_t)s->now() ^ (uint64_t)getpid();
		(void)snprintf(alt, sizeof(alt), "long-name.%016llx",
		    (unsigned long long)r);
		dest = alt;
	}
	(void)quote_str(reason, rq, sizeof(rq));
	rname = xasprintf("%s/failed/%s.reason", s->dir, dest);
	tmp = xasprintf("%s/failed/.%s.reason.XXXXXX", s->dir, dest);
	if (fs_atomic_begin(&a, rname, tmp, 0600, eb) == -1)
		goto out;
	if (write_full(a.fd, rq, strlen(rq)) == -1 ||
	    write_full(a.fd, "\n", 1) == -1) {
		errbuf_errno(eb, EK_IO, "cannot write '%s'", a.tmp);
		goto out;
	}
	if (fs_atomic_commit(&a, true, eb) == -1)
		goto out;
	free(tmp);
	tmp = xasprintf("%s/%s", sub, name);
	free(rname);
	rname = xasprintf("failed/%s", dest);
	if (renameat(s->dfd, tmp, s->dfd, rname) == -1) {
		errbuf_errno(eb, errno == ENOENT ? EK_NOINPUT : EK_IO,
		    "cannot move '%s/%s' to failed/", s->dir, tmp);
		goto out;
	}
	log_debug("spool %s: message '%s' moved to failed/%s: %s", s->dir,
	    quote_str(name, nq, sizeof(nq)), dest, rq);
	ret = sync_sub(s, "failed", eb);
	/* The daemon never received it: tell it (lib/ logs at debug only). */
	if (shown != NULL)
		queue_note_aside(s->q, quote_str(shown, nq,
		    sizeof(nq)), quote_str(dest, dq, sizeof(dq)),
		    rq);
 out:
	fs_atomic_abort(&a);
	free(rname);
	free(tmp);
	return ret;
}

/*
 * Move messages in cur/ back to new/ when their deadline passed or their
 * claimant is gone.  *ret_next is the earliest deadline still pending
 * (0 when none).
 */
static int
reclaim(struct spool *s, time_t *ret_next, struct errbuf *eb)
{
	struct sname	 sn;
	char		**names = NULL, *from = NULL, *to = NULL;
	size_t		 n = 0;
	time_t		 now = s->now(), next = 0;
	int		 ret = -1;

	if (scan(s, "cur", &names, &n, eb) == -1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (sname_parse(names[i], 4, &sn) == -1) {
			free(from);
			from = xasprintf("cur/%s", names[i]);
			if (move_failed(s, "cur", names[i], names[i],
			    "not a spool file name", from, eb) == -1 &&
			    eb->kind != EK_NOINPUT)
				goto out;
			continue;
		}
		if (sn.deadline > now && claimant_alive(s, sn.claimant)) {
			if (next == 0 || sn.deadline < next)
				next = sn.deadline;
			continue;
		}
		free(from);
		free(to);
		from = xasprintf("cur/%s", names[i]);
		to = xasprintf("new/%s,%u", sn.id, sn.n);
		if (rename_noreplace(s->dfd, from, to) == 0 || errno == ENOENT)
			continue;
		if (errno != EEXIST) {
			errbuf_errno(eb, EK_IO, "cannot move '%s/%s' back",
			    s->dir, from);
			goto out;
		}
		if (move_failed(s, "cur", names[i], names[i],
		    "duplicate message id", from, eb) == -1 &&
		    eb->kind != EK_NOINPUT)
			goto out;
	}
	*ret_next = next;
	ret = 0;
 out:
	free(from);
	free(to);
	names_free(names, n);
	return ret;
}

/* Read cur/'name' into m->body; -1 with EK_DATA when it is too big. */
static int
read_body(struct spool *s, const char *name, struct queue_msg *m,
    struct errbuf *eb)
{
	struct stat	 st;
	char		*path = xasprintf("cur/%s", name);
	ssize_t		 r;
	size_t		 len = 0;
	int		 fd, ret = -1;

	fd = openat(s->dfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK);
	if (fd == -1) {
		errbuf_errno(eb, errno == ELOOP ? EK_DATA : EK_IO,
		    "cannot open '%s/%s'", s->dir, path);
		free(path);
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		errbuf_errno(eb, EK_IO, "cannot stat '%s/%s'", s->dir, path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		errbuf_set(eb, EK_DATA, "not a regular file");
		goto out;
	}
	if (st.st_size > QUEUE_BODY_MAX) {
		errbuf_set(eb, EK_DATA, "message is %lld bytes; the limit is "
		    "%d", (long long)st.st_size, QUEUE_BODY_MAX);
		goto out;
	}
	m->body = xmalloc((size_t)st.st_size + 1);
	while (len < (size_t)st.st_size) {
		r = read(fd, m->body + len, (size_t)st.st_size - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			errbuf_errno(eb, EK_IO, "cannot read '%s/%s'", s->dir,
			    path);
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	m->body[len] = '\0';
	m->len = len;
	ret = 0;
 out:
	if (ret == -1) {
		free(m->body);
		m->body = NULL;
	}
	close(fd);
	free(path);
	return ret;
}

/* Claim the oldest message in new/: 1 and *m filled, 0 when none. */
static int
claim_one(struct queue *q, struct queue_msg *ret_msg, struct errbuf *eb)
{
	struct spool		*s = sp(q);
	struct sname		 sn;
	struct queue_msg	 m;
	struct errbuf		 e2;
	char			**names = NULL, *from = NULL, *to = NULL;
	char			*cname = NULL, *reason = NULL;
	size_t			 n = 0;
	int			 ret = -1;

	queue_msg_init(&m);
	if (scan(s, "new", &names, &n, eb) == -1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		free(from);
		free(to);
		free(cname);
		from = to = cname = NULL;
		if (sname_parse(names[i], 2, &sn) == -1) {
			from = xasprintf("new/%s", names[i]);
			if (move_failed(s, "new", names[i], names[i],
			    "not a spool file name", from, eb) == -1 &&
			    eb->kind != EK_NOINPUT)
				goto out;
			continue;
		}
		sn.n++;
		cname = xasprintf("%s,%u,%s,%lld", sn.id, sn.n, s->me,
		    (long long)(s->now() + (time_t)q->visibility));
		from = xasprintf("new/%s", names[i]);
		to = xasprintf("cur/%s", cname);
		if (rename_noreplace(s->dfd, from, to) == -1) {
			if (errno == ENOENT)
				continue;	/* another receiver won */
			if (errno == EEXIST) {
				if (move_failed(s, "new", names[i], names[i],
				    "duplicate message id", from, eb) == -1 &&
				    eb->kind != EK_NOINPUT)
					goto out;
				continue;
			}
			errbuf_errno(eb, EK_IO, "cannot claim '%s/%s'", s->dir,
			    from);
			goto out;
		}
		free(reason);
		reason = NULL;
		if (sn.n > QUEUE_MAX_RECEIVES)
			reason = xasprintf("delivered %u times without being "
			    "deleted", sn.n - 1);
		else if (read_body(s, cname, &m, &e2) == -1) {
			if (e2.kind != EK_DATA) {
				*eb = e2;
				goto out;
			}
			reason = xstrdup(e2.msg);
		}
		if (reason != NULL) {
			char	*dest = xasprintf("%s,%u", sn.id, sn.n);

			if (move_failed(s, "cur", cname, dest, reason,
			    from, eb) == -1 && eb->kind != EK_NOINPUT) {
				free(dest);
				goto out;
			}
			free(dest);
			continue;
		}
		m.id = xstrdup(sn.id);
		m.receipt = xasprintf("%s,%u", sn.id, sn.n);
		m.receive_count = sn.n;
		*ret_msg = m;
		queue_msg_init(&m);
		ret = 1;
		goto out;
	}
	ret = 0;
 out:
	queue_msg_release(&m);
	free(reason);
	free(from);
	free(to);
	free(cname);
	names_free(names, n);
	return ret;
}

static int
sp_receive(struct queue *q, unsigned wait_sec, struct queue_msg *ret_msg,
    struct errbuf *eb)
{
	struct spool	*s = sp(q);
	struct timespec	 t0;
	struct pollfd	 pfd;
	time_t		 next;
	long long	 left_ms, ms;
	int		 r;

	if (open_dir(q, eb) == -1)
		return -1;
	if (wait_sec > 0 && open_inotify(q, eb) == -1)
		return -1;
	mono_now(&t0);
	for (;;) {
		drain_inotify(s);
		if (reclaim(s, &next, eb) == -1)
			return -1;
		if ((r = claim_one(q, ret_msg, eb)) != 0)
			return r;
		left_ms = (long long)wait_sec * 1000 - mono_ms_since(&t0);
		if (left_ms <= 0)
			return 0;
		ms = left_ms;
		/* Wake when a claim in cur/ lapses, a second after it. */
		if (next != 0 && (next - s->now() + 1) * 1000LL < ms)
			ms = (next - s->now() + 1) * 1000LL;
		if (ms < 0)
			ms = 0;
		pfd.fd = s->ifd;
		pfd.events = POLLIN;
		r = poll(&pfd, 1, (int)ms);
		if (r == -1 && errno == EINTR)
			return 0;
		if (r == -1)
			return errbuf_errno(eb, EK_OS, "cannot wait on spool "
			    "'%s' (poll)", s->dir);
	}
}

/* The cur/ file name holding 'receipt' ("ID,N"), new; NULL if none. */
static char *
find_claim(struct spool *s, const char *receipt, struct errbuf *eb)
{
	char	**names = NULL, *found = NULL;
	size_t	  n = 0, rl = strlen(receipt);

	if (scan(s, "cur", &names, &n, eb) == -1)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(names[i], receipt, rl) == 0 &&
		    names[i][rl] == ',') {
			found = xstrdup(names[i]);
			break;
		}
	names_free(names, n);
	if (found == NULL)
		errbuf_set(eb, EK_NOINPUT, "queue '%s': message '%s' is no "
		    "longer held (deleted, or its visibility lapsed)", s->dir,
		    receipt);
	return found;
}

static int
check_receipt(const char *receipt, struct errbuf *eb)
{
	struct sname	 sn;
	char		 qb[256];

	if (sname_parse(receipt, 2, &sn) == -1 || strchr(receipt, ',') == NULL)
		return errbuf_set(eb, EK_BUG, "bad spool receipt '%s'",
		    quote_str(receipt, qb, sizeof(qb)));
	return 0;
}

static int
sp_del(struct queue *q, const char *receipt, struct errbuf *eb)
{
	struct spool	*s = sp(q);
	char		*name, *path;
	int		 ret = 0;

	if (check_receipt(receipt, eb) == -1 || open_dir(q, eb) == -1)
		return -1;
	if ((name = find_claim(s, receipt, eb)) == NULL)
		return -1;
	path = xasprintf("cur/%s", name);
	/*
	 * No fsync: a delete lost in a crash only redelivers the message,
	 * and the sequence rule makes that harmless.
	 */
	if (unlinkat(s->dfd, path, 0) == -1)
		ret = errbuf_errno(eb, errno == ENOENT ? EK_NOINPUT : EK_IO,
		    "cannot delete '%s/%s'", s->dir, path);
	free(path);
	free(name);
	return ret;
}

static int
sp_extend(struct queue *q, const char *receipt, unsigned seconds,
    struct errbuf *eb)
{
	struct spool	*s = sp(q);
	struct sname	 sn;
	char		*name, *from = NULL, *to = NULL;
	int		 ret = -1;

	if (check_receipt(receipt, eb) == -1 || open_dir(q, eb) == -1)
		return -1;
	if ((name = find_claim(s, receipt, eb)) == NULL)
		return -1;
	if (sname_parse(name, 4, &sn) == -1) {
		errbuf_set(eb, EK_BUG, "bad claim name '%s'", name);
		goto out;
	}
	from = xasprintf("cur/%s", name);
	to = xasprintf("cur/%s,%s,%lld", receipt, s->me,
	    (long long)(s->now() + (time_t)seconds));
	if (renameat(s->dfd, from, s->dfd, to) == -1) {
		errbuf_errno(eb, errno == ENOENT ? EK_NOINPUT : EK_IO,
		    "cannot extend '%s/%s'", s->dir, from);
		goto out;
	}
	ret = 0;
 out:
	free(from);
	free(to);
	free(name);
	return ret;
}

static int
sp_reject(struct queue *q, const struct queue_msg *m, const char *reason,
    struct errbuf *eb)
{
	struct spool	*s = sp(q);
	char		*name;
	int		 ret;

	if (check_receipt(m->receipt, eb) == -1 || open_dir(q, eb) == -1)
		return -1;
	if ((name = find_claim(s, m->receipt, eb)) == NULL)
		return -1;
	ret = move_failed(s, "cur", name, m->receipt, reason, NULL, eb);
	free(name);
	return ret;
}

static int
sp_send(struct queue *q, const char *body, size_t len, struct errbuf *eb)
{
	struct spool	*s = sp(q);
	struct timespec	 ts;
	uint32_t	 rnd = 0;
	char		*tmp = NULL, *dst = NULL;
	int		 fd = -1, ret = -1;

	if (open_dir(q, eb) == -1)
		return -1;
	(void)clock_gettime(CLOCK_REALTIME, &ts);
	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
		rnd = (uint32_t)ts.tv_nsec ^ (uint32_t)getpid();
	/* Zero-padded time first, so names sort in sending order. */
	tmp = xasprintf("tmp/%012lld.%09ld.%d.%08x", (long long)ts.tv_sec,
	    ts.tv_nsec, (int)getpid(), rnd);
	dst = xasprintf("new/%s,0", tmp + 4);
	fd = openat(s->dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	if (fd == -1) {
		errbuf_errno(eb, EK_IO, "cannot create '%s/%s'", s->dir, tmp);
		goto out;
	}
	if (write_full(fd, body, len) == -1 || fsync(fd) == -1) {
		errbuf_errno(eb, EK_IO, "cannot write '%s/%s'", s->dir, tmp);
		goto out;
	}
	close(fd);
	fd = -1;
	if (renameat(s->dfd, tmp, s->dfd, dst) == -1) {
		errbuf_errno(eb, EK_IO, "cannot rename '%s/%s'", s->dir, tmp);
		goto out;
	}
	free(tmp);
	tmp = NULL;
	ret = sync_sub(s, "new", eb);
 out:
	if (fd != -1)
		close(fd);
	if (tmp != NULL)
		(void)unlinkat(s->dfd, tmp, 0);
	free(tmp);
	free(dst);
	return ret;
}

static int
sp_ensure(struct queue *q, struct errbuf *eb)
{
	struct spool	*s = sp(q);
	char		*p;

	(void)dir_current(s);	/* made again: forget the old one */
	if (mkdir(s->base, SPOOL_MODE) == -1 && errno != EEXIST)
		return errbuf_errno(eb, errno == ENOENT ? EK_NOINPUT : EK_IO,
		    "cannot create queue directory '%s'", s->base);
	if (mkdir(s->dir, SPOOL_MODE) == -1 && errno != EEXIST)
		return errbuf_errno(eb, EK_IO, "cannot create queue '%s'",
		    s->dir);
	if (open_dir(q, eb) == -1)
		return -1;
	for (size_t i = 0; i < nitems(subdirs); i++)
		if (mkdirat(s->dfd, subdirs[i], SPOOL_MODE) == -1 &&
		    errno != EEXIST) {
			p = xasprintf("%s/%s", s->dir, subdirs[i]);
			errbuf_errno(eb, EK_IO, "cannot create '%s'", p);
			free(p);
			return -1;
		}
	return 0;
}

static int
sp_get_fd(struct queue *q)
{
	struct errbuf	 e;

	if (open_dir(q, &e) == -1 || open_inotify(q, &e) == -1)
		return -1;
	return sp(q)->ifd;
}

static int
sp_destroy(struct queue *q, struct errbuf *eb)
{
	struct spool	*s = sp(q);
	char		*p;
	int		 r;

	if (open_dir(q, eb) == -1)
		return eb->kind == EK_NOINPUT ? 0 : -1;
	/* Our subdirectories only: anything else keeps the spool. */
	for (size_t i = 0; i < nitems(subdirs); i++) {
		p = xasprintf("%s/%s", s->dir, subdirs[i]);
		r = fs_rmtree(p, eb);
		free(p);
		if (r == -1)
			return -1;
	}
	if (rmdir(s->dir) == -1)
		return errbuf_errno(eb, EK_IO, "cannot remove '%s'", s->dir);
	close(s->dfd);
	s->dfd = -1;
	if (s->ifd != -1) {
		close(s->ifd);
		s->ifd = -1;
	}
	return 0;
}

static void
sp_release(struct queue *q)
{
	struct spool	*s = sp(q);

	if (s == NULL)
		return;
	if (s->dfd != -1)
		close(s->dfd);
	if (s->ifd != -1)
		close(s->ifd);
	free(s->base);
	free(s->dir);
	free(s);
	q->priv = NULL;
}

static const struct queue_ops queue_spool_ops = {
	.scheme = "spool",
	.ensure = sp_ensure,
	.receive = sp_receive,
	.del = sp_del,
	.extend = sp_extend,
	.send = sp_send,
	.reject = sp_reject,
	.get_fd = sp_get_fd,
	.destroy = sp_destroy,
	.release = sp_release,
};

int
queue_spool_new(const char *dir, const char *name, unsigned visibility,
    struct queue **ret_queue, struct errbuf *eb)
{
	struct queue	*q;
	struct spool	*s;
	char		 qb[256];
	size_t		 n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (dir[0] != '/' || n >= PATH_MAX - 256)
		return errbuf_set(eb, EK_CONFIG, "queue directory '%s': must "
		    "be an absolute path", quote_str(dir, qb,
		    sizeof(qb)));
	if (!id_ok(name, strlen(name)) || strchr(name, ':') != NULL)
		return errbuf_set(eb, EK_CONFIG, "queue name '%s': not a "
		    "valid name", quote_str(name, qb,
		    sizeof(qb)));
	s = xcalloc(1, sizeof(*s));
	s->base = xstrndup(dir, n);
	s->dir = xasprintf("%s/%s", s->base, name);
	s->dfd = s->ifd = -1;
	s->now = wall_now;
	read_boot_id(s->boot);
	(void)snprintf(s->me, sizeof(s->me), "%d.%llu.%s", (int)getpid(),
	    proc_start(getpid()), s->boot);
	q = xcalloc(1, sizeof(*q));
	q->ops = &queue_spool_ops;
	s->q = q;
	q->name = xstrdup(name);
	q->visibility = visibility == 0 ? QUEUE_VISIBILITY_DEFAULT : visibility;
	q->priv = s;
	*ret_queue = q;
	return 0;
}

int
queue_spool_list(const char *dir, const char *prefix, char ***ret_names,
    size_t *ret_n, struct errbuf *eb)
{
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	char		**names = NULL;
	size_t		 n = 0, cap = 0, pl = strlen(prefix);
	int		 fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT) {
			*ret_names = NULL;
			*ret_n = 0;
			return 0;
		}
		return errbuf_errno(eb, EK_IO, "cannot open '%s'", dir);
	}
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return errbuf_errno(eb, EK_IO, "cannot read '%s'", dir);
	}
	while (n < QUEUE_SCAN_MAX && (de = readdir(d)) != NULL) {
		char	 sub[NAME_MAX + 8];

		if (de->d_name[0] == '.' ||
		    strncmp(de->d_name, prefix, pl) != 0)
			continue;
		(void)snprintf(sub, sizeof(sub), "%s/new", de->d_name);
		if (fstatat(fd, sub, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISDIR(st.st_mode))
			continue;
		if (n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			names = xreallocarray(names, cap, sizeof(*names));
		}
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), cmpname);
	*ret_names = names;
	*ret_n = n;
	return 0;
}

void
queue_spool_set_clock(struct queue *q, time_t (*now)(void))
{
	sp(q)->now = now == NULL ? wall_now : now;
}
