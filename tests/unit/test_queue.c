/* SPDX-License-Identifier: ISC */
/*
 * test_queue.c: the queue interface over the spool backend: naming,
 * send/receive/delete, exclusive claims between handles and processes,
 * redelivery after the visibility timeout or the claimant's death (time
 * is moved through the clock seam, never slept), inotify wake-ups within
 * a deadline, failed/ with reasons, and the caps.
 */
#include "compat.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "caps.h"
#include "errbuf.h"
#include "queue.h"
#include "queue_int.h"
#include "slurp.h"
#include "xalloc.h"

#define QNAME	"hookd-production-i-0abc"

struct fx {
	char		 dir[64];
	char		*url;
	char		*qdir;		/* dir/QNAME */
	struct queue	*q;
};

static time_t	 fake_now;

static time_t
fake_clock(void)
{
	return fake_now;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int
setup(void **state)
{
	struct fx	*fx = xcalloc(1, sizeof(*fx));
	struct errbuf	 eb = { 0 };

	(void)strlcpy(fx->dir, "/tmp/hookd-test-queue.XXXXXX",
	    sizeof(fx->dir));
	assert_non_null(mkdtemp(fx->dir));
	fx->url = xasprintf("file://%s", fx->dir);
	fx->qdir = xasprintf("%s/%s", fx->dir, QNAME);
	assert_int_equal(queue_open(fx->url, QNAME, 30, NULL, &fx->q, &eb), 0);
	assert_int_equal(queue_ensure(fx->q, &eb), 0);
	fake_now = 1700000000;
	queue_spool_set_clock(fx->q, fake_clock);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*fx = *state;

	queue_free(fx->q);
	(void)nftw(fx->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(fx->url);
	free(fx->qdir);
	free(fx);
	return 0;
}

/* Entries of qdir/sub (dot files skipped). */
static size_t
count(struct fx *fx, const char *sub)
{
	struct dirent	*de;
	DIR		*d;
	char		*path = xasprintf("%s/%s", fx->qdir, sub);
	size_t		 n = 0;

	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	free(path);
	return n;
}

/* Put a file into new/ under 'name' the maildir way. */
static void
drop(struct fx *fx, const char *name, const char *body, size_t len)
{
	char	*tmp = xasprintf("%s/tmp/%s", fx->qdir, "drop");
	char	*dst = xasprintf("%s/new/%s", fx->qdir, name);
	int	 fd;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd != -1);
	for (size_t o = 0; o < len; ) {
		ssize_t	 n = write(fd, body + o, len - o);

		assert_true(n > 0);
		o += (size_t)n;
	}
	close(fd);
	assert_int_equal(rename(tmp, dst), 0);
	free(tmp);
	free(dst);
}

static void
queue_name_fits_sqs_rules(void **state)
{
	struct errbuf	 eb = { 0 };
	char		*n, grp[64];

	n = queue_name("hookd", "production", "i-0abc123", &eb);
	assert_string_equal(n, "hookd-production-i-0abc123");
	free(n);
	n = queue_name("hookd", "prod.eu", "web1.example.com", &eb);
	assert_string_equal(n, "hookd-prod_eu-web1_example_com");
	free(n);
	memset(grp, 'g', 60);
	grp[60] = '\0';
	assert_null(queue_name("hookd", grp, "i-0123456789abcdef0", &eb));
	assert_int_equal(eb.kind, EK_CONFIG);
	assert_non_null(strstr(eb.msg, "is 86 characters; SQS allows 80"));
	assert_null(queue_name("hoo kd", "p", "i", &eb));
	assert_int_equal(eb.kind, EK_CONFIG);
	assert_null(queue_name("", "p", "i", &eb));
	assert_null(queue_name("hookd", "..", "i", &eb));
	assert_int_equal(eb.kind, EK_CONFIG);
	assert_null(queue_name("hookd", "p", "a/b", &eb));
}

static void
queue_open_checks_the_url(void **state)
{
	struct queue	*q = NULL;
	struct errbuf	 eb = { 0 };
	struct queue_msg m;

	/* "sqs" reaches the SQS backend, which needs a client. */
	assert_int_equal(queue_open("sqs", QNAME, 0, NULL, &q, &eb), -1);
	assert_int_equal(eb.kind, EK_CONFIG);
	assert_non_null(strstr(eb.msg, "no AWS client"));
	assert_int_equal(queue_open("file://rel", QNAME, 0, NULL, &q, &eb),
	    -1);
	assert_int_equal(queue_open("http://x", QNAME, 0, NULL, &q, &eb), -1);
	assert_int_equal(queue_open("file:///tmp", "../x", 0, NULL, &q, &eb),
	    -1);
	assert_int_equal(queue_open("file:///tmp", QNAME, 99999, NULL, &q,
	    &eb), -1);
	assert_null(q);
	/* Opening does not create; receiving from a missing queue fails. */
	assert_int_equal(queue_open("file:///nonexistent/hookd-q", QNAME, 0,
	    NULL, &q, &eb), 0);
	queue_msg_init(&m);
	assert_int_equal(queue_receive(q, 0, &m, &eb), -1);
	assert_int_equal(eb.kind, EK_NOINPUT);
	assert_int_equal(queue_send(q, "x", 1, &eb), -1);
	assert_int_equal(eb.kind, EK_NOINPUT);
	queue_free(q);
}

static void
queue_sends_receives_in_order_and_deletes(void **state)
{
	struct fx		*fx = *state;
	struct errbuf		 eb = { 0 };
	struct queue_msg	 m;
	char			 body[32];

	/* ensure is idempotent */
	assert_int_equal(queue_ensure(fx->q, &eb), 0);
	for (int i = 0; i < 3; i++) {
		(void)snprintf(body, sizeof(body), "{\"n\": %d}", i);
		assert_int_equal(queue_send(fx->q, body, strlen(body), &eb), 0);
	}
	assert_int_equal(count(fx, "new"), 3);
	assert_int_equal(count(fx, "tmp"), 0);
	for (int i = 0; i < 3; i++) {
		queue_msg_init(&m);
		assert_int_equal(queue_receive(fx->q, 0, &m, &eb), 1);
		(void)snprintf(body, sizeof(body), "{\"n\": %d}", i);
		assert_string_equal(m.body, body);
		assert_int_equal(m.len, strlen(body));
		assert_int_equal(m.receive_count, 1);
		assert_non_null(m.id);
		assert_non_null(strstr(m.receipt, m.id));
		assert_int_equal(queue_delete(fx->q, m.receipt, &eb), 0);
		/* A second delete finds nothing. */
		assert_int_equal(queue_delete(fx->q, m.receipt, &eb), -1);
		assert_int_equal(eb.kind, EK_NOINPUT);
		queue_msg_release(&m);
	}
	queue_msg_init(&m);
	assert_int_equal(queue_receive(fx->q, 0, &m, &eb), 0);
	assert_null(m.body);
	assert_int_equal(count(fx, "cur"), 0);
	assert_int_equal(queue_delete(fx->q, "garbage", &eb), -1);
	assert_int_equal(eb.kind, EK_BUG);
}

static void
queue_two_handles_never_get_the_same_message(void **state)
{
	struct fx		*fx = *state;
	struct errbuf		 eb = { 0 };
	struct queue		*q2;
	struct queue_msg	 m;
	char			*ids[20];
	size_t			 n = 0;

	assert_int_equal(queue_open(fx->url, QNAME, 30, NULL, &q2, &eb), 0);
	queue_spool_set_clock(q2, fake_clock);
	for (int i = 0; i < 20; i++)
		assert_int_equal(queue_send(fx->q, "m", 1, &eb), 0);
	for (int i = 0; n < 20 && i < 40; i++) {
		queue_msg_init(&m);
		if (queue_receive(i % 2 == 0 ? fx->q : q2, 0, &m, &eb) != 1)
			break;
		ids[n++] = xstrdup(m.id);
		queue_msg_release(&m);
	}
	assert_int_equal(n, 20);
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			assert_string_not_equal(ids[i], ids[j]);
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	queue_msg_init(&m);
	assert_int_equal(queue_receive(q2, 0, &m, &eb), 0);
	queue_free(q2);
}

#define RACE_MSGS	60
#define RACE_PROCS	3

static void
queue_racing_processes_claim_each_message_once(void **state)
{
	struct fx		*fx = *state;
	struct errbuf		 eb = { 0 };
	pid_t			 pids[RACE_PROCS];
	int			 p[2], st, seen[RACE_MSGS] = { 0 };
	char			 body[16];
	FILE			*in;
	int			 v, total = 0;

	for (int i = 0; i < RACE_MSGS; i++) {
		(void)snprintf(body, sizeof(body), "%d", i);
		assert_int_equal(queue_send(fx->q, body, strlen(body), &eb), 0);
	}
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	for (int i = 0; i < RACE_PROCS; i++) {
		pids[i] = fork();
		assert_true(pids[i] != -1);
		if (pids[i] == 0) {
			struct queue		*q;
			struct queue_msg	 m;
			char			 line[32];

			close(p[0]);
			if (queue_open(fx->url, QNAME, 30, NULL, &q, &eb) == -1)
				_exit(2);
			for (;;) {
				queue_msg_init(&m);
				v = queue_receive(q, 0, &m, &eb);
				if (v == -1)
					_exit(3);
				if (v == 0)
					break;
				(void)snprintf(line, sizeof(line), "%s\n",
				    m.body);
				if (write(p[1], line, strlen(line)) == -1 ||
				    queue_delete(q, m.receipt, &eb) == -1)
					_exit(4);
				queue_msg_release(&m);
			}
			queue_free(q);
			_exit(0);
		}
	}
	close(p[1]);
	in = fdopen(p[0], "r");
	assert_non_null(in);
	while (fscanf(in, "%d", &v) == 1) {
		assert_true(v >= 0 && v < RACE_MSGS);
		seen[v]++;
		total++;
	}
	fclose(in);
	for (int i = 0; i < RACE_PROCS; i++) {
		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	assert_int_equal(total, RACE_MSGS);
	for (int i = 0; i < RACE_MSGS; i++)
		assert_int_equal(seen[i], 1);
}

static void
queue_redelivers_after_the_visibility_timeout(void **state)
{
	struct fx		*fx = *state;
	struct errbuf		 eb = { 0 };
	struct queue_msg	 m, m2;

	assert_int_equal(queue_send(fx->q, "hello", 5, &eb), 0);
	queue_msg_init(&m);
	assert_int_equal(queue_receive(fx->q, 0, &m, &eb), 1);
	assert_int_equal(m.receive_count, 1);
	/* Hidden while the claim holds. */
	fake_now += 29;
	queue_msg_init(&m2);
	assert_int_equal(queue_receive(fx->q, 0, &m2, &eb), 0);
	/* Then delivered again, counted, with a new receipt. */
	fake_now += 2;
	assert_int_equal(queue_receive(fx->q, 0, &m2, &eb), 1);
	assert_string_equal(m2.id, m.id);
	assert_string_equal(m2.body, "hello");
	assert_int_equal(m2.receive_count, 2);
	assert_string_not_equal(m2.receipt, m.receipt);
	/* The stale receipt no longer works. */
	assert_int_equal(queue_delete(fx->q, m.receipt, &eb), -1);
	assert_int_equal(eb.kind, EK_NOINPUT);
	assert_int_equal(queue_extend(fx->q, m.receipt, 60, &eb), -1);
	assert_int_equal(eb.kind, EK_NOINPUT);
	assert_int_equal(queue_delete(fx->q, m2.receipt, &eb), 0);
	queue_msg_release(&m);
	queue_msg_release(&m2);
}

static void
queue_extend_keeps_a_message_hidden(void **state)
{
	struct fx		*fx = *state;
	struct errbuf		 eb = { 0 };
	struct queue_msg	 m, m2;

	assert_int_equal(queue_send(fx->q, "long", 4, &eb), 0);
	queue_msg_init(&m);
	assert_int_equal(queue_receive(fx->q, 0, &m, &eb), 1);
	fake_now += 20;
	assert_int_equal(queue_extend(fx->q, m.receipt, 100, &eb), 0);
	fake_now += 60;		/* past the first deadline */
	queue_msg_init(&m2);
	assert_int_equal(queue_receive(fx->q, 0, &m2, &eb), 0);
	assert_int_equal(queue_extend(fx->q, m.receipt, 100, &eb), 0);
	fake_now += 99;
	assert_int_equal(queue_receive(fx->q, 0, &m2, &eb), 0);
	/* The receipt survives extensions. */
	assert_int_equal(queue_delete(fx->q, m.receipt, &eb), 0);
	fake_now += 1000;
	assert_int_equal(queue_receive(fx->q, 0, &m2, &eb), 0);
	queue_msg_release(&m);
}

static void
queue_redelivers_a_dead_claimants_message_at_once(void **state)
{
	struct fx		*fx = *state;
	struct errbuf		 eb = { 0 };
	struct queue_msg	 m;
	pid_t			 pid;
	int			 st;

	assert_int_equal(queue_send(fx->q, "orphan", 6, &eb), 0);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		struct queue		*q;
		struct queue_msg	 cm;

		/* Claim it with the real clock, then die without deleting. */
		if (queue_open(fx->url, QNAME, 3600, NULL, &q, &eb) == -1)
			_exit(2);
		queue_msg_init(&cm);
		_exit(queue_receive(q, 0, &cm, &eb) == 1 ? 0 : 3);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(count(fx, "cur"), 1);
	/* Its deadline is an hour away, but its claimant is gone. */
	queue_spool_set_clock(fx->q, NULL);
	queue_msg_init(&m);
	assert_int_equal(queue_receive(fx->q, 0, &m, &eb), 1);
	assert_string_equal(m.body, "orphan");
	assert_int_equal(m.receive_count, 2);
	assert_int_equal(queue_delete(fx->q, m.receipt, &eb), 0);
	queue_msg_release(&m);
}

static long long
ms_since(const struct timespec *t0)
{
	struct timespec	 t1;

	(void)clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000LL +
	    (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

static void
queue_inotify_wakes_a_waiting_receiver(void **state)
{
	struct fx		*fx = *state;
	struct errbuf		 eb = { 0 };
	struct queue_msg	 m;
	struct pollfd		 pfd;
	struct timespec		 t0;
	pid_t			 pid;
	int			 fd, st;

	queue_spool_set_clock(fx->q, NULL);
	fd = queue_get_fd(fx->q);
	assert_true(fd >= 0);
	queue_msg_init(&m);
	assert_int_equal(queue_receive(fx->q, 0, &m, &eb), 0);
	/* Nothing pending: the fd is quiet. */
	pfd.fd = fd;
	pfd.events = POLLIN;
	assert_int_equal(poll(&pfd, 1, 0), 0);

	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		struct queue	*q;

		if (queue_open(fx->url, QNAME, 30, NULL, &q, &eb) == -1 ||
		    queue_send(q, "wake", 4, &eb) == -1)
			_exit(2);
		_exit(0);
	}
	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(poll(&pfd, 1, 5000), 1);
	assert_true(ms_since(&t0) < 5000);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(queue_receive(fx->q, 0, &m, &eb), 1);
	assert_string_equal(m.body, "wake");
	queue_msg_release(&m);
	/* receive drained the notification. */
	assert_int_equal(poll(&pfd, 1, 0), 0);

	/* A blocking receive returns as soon as a sender delivers. */
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		struct queue	*q;

		if (queue_open(fx->url, QNAME, 30, NULL, &q, &eb) == -1 ||
		    queue_send(q, "again", 5, &eb) == -1)
			_exit(2);
		_exit(0);
	}
	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	queue_msg_init(&m);
	assert_int_equal(queue_receive(fx->q, 15, &m, &eb), 1);
	assert_true(ms_since(&t0) < 5000);
	assert_string_equal(m.body, "again");
	queue_msg_release(&m);
	assert_int_equal(waitpid(pid, &st, 0), pid);
}

static void
queue_wait_times_out_without_a_message(void **state)
{
	struct fx		*fx = *state;
	struct errbuf		 eb = { 0 };
	struct queue_msg	 m;
	struct timespec		 t0;

	queue_spool_set_clock(fx->q, NULL);
	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	queue_msg_init(&m);
	assert_int_equal(queue_receive(fx->q, 1, &m, &eb), 0);
	assert_true(ms_since(&t0) >= 900);
	assert_true(ms_since(&t0) < 3000);
}

static void
queue_reject_moves_to_failed_with_a_reason(void **state)
{
	struct fx		*fx = *state;
	struct errbuf		 eb = { 0 };
	struct queue_msg	 m;
	char			*path, *reason;

	assert_int_equal(queue_send(fx->q, "not json", 8, &eb), 0);
	queue_msg_init(&m);
	assert_int_equal(queue_receive(fx->q, 0, &m, &eb), 1);
	assert_int_equal(queue_reject(fx->q, &m, "not valid JSON\n\x1b[31m",
	    &eb), 0);
	assert_int_equal(count(fx, "cur"), 0);
	assert_int_equal(count(fx, "failed"), 2);
	path = xasprintf("%s/failed/%s", fx->qdir, m.receipt);
	reason = slurp(path, NULL);
	assert_string_equal(reason, "not json");
	free(reason);
	free(path);
	path = xasprintf("%s/failed/%s.reason", fx->qdir, m.receipt);
	reason = slurp(path, NULL);
	assert_string_equal(reason, "not valid JSON\\x0a\\x1b[31m\n");
	free(reason);
	free(path);
	/* Rejected messages are not delivered again. */
	fake_now += 100000;
	assert_int_equal(queue_reject(fx->q, &m, "again", &eb), -1);
	assert_int_equal(eb.kind, EK_NOINPUT);
	queue_msg_release(&m);
	queue_msg_init(&m);
	assert_int_equal(queue_receive(fx->q, 0, &m, &eb), 0);
}

static void
queue_caps_send_failed_oversized_and_overdelivered(void **state)
{
	struct fx		*fx = *state;
	struct errbuf		 eb = { 0 };
	struct queue_msg	 m;
	char			*big, *path, *reason;

	big = xmalloc(QUEUE_BODY_MAX + 1);
	memset(big, 'x', QUEUE_BODY_MAX + 1);
	assert_int_equal(queue_send(fx->q, big, QUEUE_BODY_MAX + 1, &eb), -1);
	assert_int_equal(eb.kind, EK_DATA);
	assert_int_equal(queue_send(fx->q, big, QUEUE_BODY_MAX, &eb), 0);
	queue_msg_init(&m);
	assert_int_equal(queue_receive(fx->q, 0, &m, &eb), 1);
	assert_int_equal(m.len, QUEUE_BODY_MAX);
	assert_int_equal(queue_delete(fx->q, m.receipt, &eb), 0);
	queue_msg_release(&m);

	/* Written around send(): too big, moved to failed/. */
	drop(fx, "123.big", big, QUEUE_BODY_MAX + 1);
	free(big);
	/* Already delivered QUEUE_MAX_RECEIVES times. */
	path = xasprintf("123.tired,%d", QUEUE_MAX_RECEIVES);
	drop(fx, path, "x", 1);
	free(path);
	/* Not a name we make. */
	drop(fx, "bad name", "x", 1);
	/* A plain name from a foreign writer is fine. */
	drop(fx, "zzz-foreign", "ok", 2);
	queue_msg_init(&m);
	assert_int_equal(queue_receive(fx->q, 0, &m, &eb), 1);
	assert_string_equal(m.id, "zzz-foreign");
	assert_string_equal(m.body, "ok");
	assert_int_equal(m.receive_count, 1);
	queue_msg_release(&m);
	assert_int_equal(count(fx, "failed"), 6);
	path = xasprintf("%s/failed/123.big,1.reason", fx->qdir);
	reason = slurp(path, NULL);
	assert_non_null(reason);
	assert_string_equal(reason, "message is 262145 bytes; the limit is "
	    "262144\n");
	free(reason);
	free(path);
	path = xasprintf("%s/failed/123.tired,%d.reason", fx->qdir,
	    QUEUE_MAX_RECEIVES + 1);
	reason = slurp(path, NULL);
	assert_non_null(reason);
	assert_non_null(strstr(reason, "delivered 10 times without being "
	    "deleted"));
	free(reason);
	free(path);
	path = xasprintf("%s/failed/bad name.reason", fx->qdir);
	reason = slurp(path, NULL);
	assert_string_equal(reason, "not a spool file name\n");
	free(reason);
	free(path);
}

/* What queue_on_aside() heard: "file|moved_to|reason" lines. */
static char	 asides[1024];

static void
record_aside(void *arg, const char *file, const char *moved_to,
    const char *reason)
{
	char	 line[512];

	(*(int *)arg)++;
	(void)snprintf(line, sizeof(line), "%s|%s|%s\n", file, moved_to,
	    reason);
	(void)strlcat(asides, line, sizeof(asides));
}

static void
queue_reports_each_set_aside_but_not_a_reject(void **state)
{
	struct fx		*fx = *state;
	struct errbuf		 eb = { 0 };
	struct queue_msg	 m;
	char			*big, *path;
	int			 calls = 0;

	asides[0] = '\0';
	queue_on_aside(fx->q, record_aside, &calls);
	big = xmalloc(QUEUE_BODY_MAX + 1);
	memset(big, 'x', QUEUE_BODY_MAX + 1);
	drop(fx, "123.big", big, QUEUE_BODY_MAX + 1);
	free(big);
	path = xasprintf("123.tired,%d", QUEUE_MAX_RECEIVES);
	drop(fx, path, "x", 1);
	free(path);
	drop(fx, "bad\x1bname", "x", 1);
	drop(fx, "zzz-foreign", "ok", 2);
	queue_msg_init(&m);
	assert_int_equal(queue_receive(fx->q, 0, &m, &eb), 1);
	assert_string_equal(m.id, "zzz-foreign");
	/* A reject the caller asks for is not a set-aside. */
	assert_int_equal(queue_reject(fx->q, &m, "bad", &eb), 0);
	queue_msg_release(&m);
	assert_int_equal(calls, 3);
	assert_int_equal(queue_aside_count(fx->q), 3);
	/* In directory order; each quoted printable. */
	assert_non_null(strstr(asides, "new/123.big|123.big,1|message is "
	    "262145 bytes; the limit is 262144\n"));
	assert_non_null(strstr(asides, "new/123.tired,10|123.tired,11|"
	    "delivered 10 times without being deleted\n"));
	assert_non_null(strstr(asides, "new/bad\\x1bname|bad\\x1bname|"
	    "not a spool file name\n"));
	queue_on_aside(fx->q, NULL, NULL);
}

static void
queue_duplicate_ids_do_not_swallow_each_other(void **state)
{
	struct fx		*fx = *state;
	struct errbuf		 eb = { 0 };
	struct queue_msg	 m, m2;

	/* A foreign writer used one id twice ("x" means "x,0"). */
	drop(fx, "dup", "one", 3);
	drop(fx, "dup,0", "two", 3);
	queue_msg_init(&m);
	assert_int_equal(queue_receive(fx->q, 0, &m, &eb), 1);
	queue_msg_init(&m2);
	assert_int_equal(queue_receive(fx->q, 0, &m2, &eb), 0);
	/* One delivered, the other kept in failed/ with a reason. */
	assert_int_equal(count(fx, "cur"), 1);
	assert_int_equal(count(fx, "failed"), 2);
	assert_int_equal(queue_delete(fx->q, m.receipt, &eb), 0);
	queue_msg_release(&m);
}

static void
queue_refuses_a_symlink_in_the_spool(void **state)
{
	struct fx		*fx = *state;
	struct errbuf		 eb = { 0 };
	struct queue_msg	 m;
	char			*path;

	path = xasprintf("%s/new/777.link,0", fx->qdir);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	free(path);
	queue_msg_init(&m);
	assert_int_equal(queue_receive(fx->q, 0, &m, &eb), 0);
	assert_null(m.body);
	assert_int_equal(count(fx, "failed"), 2);
}

static void
queue_list_and_destroy(void **state)
{
	struct fx	*fx = *state;
	struct errbuf	 eb = { 0 };
	struct queue	*q2;
	char		**names, *url;
	size_t		 n;
	struct stat	 st;

	assert_int_equal(queue_open(fx->url, "hookd-production-i-0def", 0,
	    NULL, &q2, &eb), 0);
	assert_int_equal(queue_ensure(q2, &eb), 0);
	assert_int_equal(queue_list(fx->url, NULL, "hookd-production-", &names,
	    &n, &eb), 0);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], QNAME);
	assert_string_equal(names[1], "hookd-production-i-0def");
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	assert_int_equal(queue_send(q2, "x", 1, &eb), 0);
	assert_int_equal(queue_destroy(q2, &eb), 0);
	url = xasprintf("%s/hookd-production-i-0def", fx->dir);
	assert_int_equal(stat(url, &st), -1);
	free(url);
	queue_free(q2);
	assert_int_equal(queue_list(fx->url, NULL, "hookd-staging-", &names,
	    &n, &eb), 0);
	assert_int_equal(n, 0);
	free(names);
	assert_int_equal(queue_list("sqs", NULL, "x", &names, &n, &eb), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(queue_name_fits_sqs_rules),
		cmocka_unit_test(queue_open_checks_the_url),
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(queue_sends_receives_in_order_and_deletes),
		T(queue_two_handles_never_get_the_same_message),
		T(queue_racing_processes_claim_each_message_once),
		T(queue_redelivers_after_the_visibility_timeout),
		T(queue_extend_keeps_a_message_hidden),
		T(queue_redelivers_a_dead_claimants_message_at_once),
		T(queue_inotify_wakes_a_waiting_receiver),
		T(queue_wait_times_out_without_a_message),
		T(queue_reject_moves_to_failed_with_a_reason),
		T(queue_caps_send_failed_oversized_and_overdelivered),
		T(queue_reports_each_set_aside_but_not_a_reject),
		T(queue_duplicate_ids_do_not_swallow_each_other),
		T(queue_refuses_a_symlink_in_the_spool),
		T(queue_list_and_destroy),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
