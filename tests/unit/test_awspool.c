/* SPDX-License-Identifier: ISC */
/*
 * test_awspool: the AWS request pool (lib/aws/pool.c) against the
 * concurrent scripted server (scripted_server.h, server_start_routes):
 * a throttled request is retried alone while the others succeed once;
 * a slow request does not hold up the fast ones; the pool never has more
 * than its limit in flight; a cancel, or the abort flag, ends every
 * request at once as interrupted; a request that keeps failing ends with
 * the client's error after its attempts; a feeder's requests (a batch's
 * sends) go on in places of their own while a reader's requests and a
 * single request (aws_pool_request) go beside them, not after them.
 */
#include "compat.h"

#include <sys/time.h>

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "aws/client.h"
#include "aws/pool.h"
#include "errbuf.h"
#include "http.h"
#include "scripted_server.h"
#include "xalloc.h"

#define OK_REPLY	"HTTP/1.1 200 OK\r\n" \
			"Content-Type: application/json\r\n" \
			"x-amzn-RequestId: ok\r\nContent-Length: 2\r\n\r\n{}"
#define THROTTLED	"HTTP/1.1 400 Bad Request\r\n" \
			"Content-Type: application/x-amz-json-1.0\r\n" \
			"x-amzn-RequestId: th\r\nContent-Length: 60\r\n\r\n" \
			"{\"__type\":\"ThrottlingException\"," \
			"\"message\":\"Rate exceeded\"}  "
#define UNAVAILABLE	"HTTP/1.1 503 Service Unavailable\r\n" \
			"x-amzn-RequestId: un\r\nContent-Length: 0\r\n\r\n"

#define NREQ	40

struct outcome {
	int		 rc;
	int		 ended;		/* times done was called */
	enum errkind	 kind;
	char		 msg[256];
	long		 status;
	unsigned int	 attempts;
	double		 at;		/* seconds after the start */
};

static double	 t0;
static struct aws_pool *cancel_pool;	/* done cancels it when set */

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
on_done(void *arg, int rc, const struct aws_result *res,
    const struct errbuf *eb)
{
	struct outcome	*o = arg;

	o->rc = rc;
	o->ended++;
	o->status = res->status;
	o->attempts = res->attempts;
	o->at = now() - t0;
	if (eb != NULL) {
		o->kind = eb->kind;
		strlcpy(o->msg, eb->msg, sizeof(o->msg));
	}
	if (cancel_pool != NULL && rc == 0)
		aws_pool_cancel(cancel_pool);
}

static struct aws_client *
client_for(struct server *s)
{
	struct aws_client_config cfg = { 0 };

	cfg.max_attempts = 3;
	cfg.sqs_protocol = AWS_SQS_JSON;
	return server_client(s, &cfg, NULL);
}

/* POST a JSON body to /PATH on the server, as SQS's JSON protocol does. */
static void
add(struct aws_pool *pl, const char *path, struct outcome *o)
{
	struct aws_request	 req = { 0 };
	struct http_headers	 h;
	struct errbuf		 eb = { 0 };
	char			 body[64];

	http_headers_init(&h);
	http_headers_add(&h, "Content-Type", "application/x-amz-json-1.0");
	http_headers_add(&h, "X-Amz-Target", "AmazonSQS.SendMessage");
	snprintf(body, sizeof(body), "{\"path\":\"%s\"}", path);
	req.svc = &aws_svc_sqs;
	req.op = "SendMessage";
	req.method = "POST";
	req.path = path;
	req.headers = &h;
	req.body = body;
	req.body_len = strlen(body);
	req.body_fd = req.out_fd = -1;
	if (aws_pool_add(pl, &req, on_done, o, &eb) == -1)
		fail_msg("aws_pool_add %s: %s", path, eb.msg);
	/* The pool keeps its own copy. */
	memset(body, 'x', sizeof(body));
	http_headers_release(&h);
}

static int
count(const char *hay, const char *needle)
{
	int	n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

static void
pool_retries_only_the_throttled_request(void **state)
{
	static const char *const ok[] = { OK_REPLY };
	static const char *const thr[] = { THROTTLED, UNAVAILABLE, OK_REPLY };
	const struct route	 rt[] = {
		{ "/q-7 ", 0, thr, nitems(thr) },
		{ "/q-", 0, ok, nitems(ok) },
	};
	struct outcome		 o[NREQ];
	struct server		 s;
	struct aws_client	*c;
	struct aws_pool		*pl;
	struct aws_pool_stats	 st;
	struct errbuf		 eb = { 0 };
	char			 path[32], *log;

	memset(o, 0, sizeof(o));
	server_start_routes(&s, rt, nitems(rt));
	c = client_for(&s);
	assert_non_null(pl = aws_pool_new(c, 8, &eb));
	t0 = now();
	for (int i = 0; i < NREQ; i++) {
		snprintf(path, sizeof(path), "/q-%d", i);
		add(pl, path, &o[i]);
		/* Never more than the limit at once. */
		assert_true(aws_pool_pending(pl) <= 8);
	}
	assert_int_equal(aws_pool_wait(pl, &eb), 0);
	for (int i = 0; i < NREQ; i++) {
		assert_int_equal(o[i].ended, 1);
		assert_int_equal(o[i].rc, 0);
		assert_int_equal(o[i].status, 200);
		assert_int_equal(o[i].attempts, i == 7 ? 3 : 1);
	}
	aws_pool_stats(pl, &st);
	assert_int_equal(st.requests, NREQ);
	assert_int_equal(st.attempts, NREQ + 2);
	assert_int_equal(st.retries, 2);
	assert_int_equal(st.failed, 0);
	assert_true(st.peak <= 8);
	assert_true(st.peak >= 2);
	aws_pool_free(pl);
	aws_client_free(c);
	log = server_stop(&s);
	assert_int_equal(count(log, "POST /q-7 "), 3);
	assert_int_equal(count(log, "POST /q-8 "), 1);
	/* Each attempt signed again (a fresh signature per request). */
	assert_int_equal(count(log, "Authorization: AWS4-HMAC-SHA256"),
	    NREQ + 2);
	free(log);
}

static void
pool_fails_a_request_after_its_attempts(void **state)
{
	static const char *const ok[] = { OK_REPLY };
	static const char *const un[] = { UNAVAILABLE };
	const struct route	 rt[] = {
		{ "/bad ", 0, un, nitems(un) },
		{ "/", 0, ok, nitems(ok) },
	};
	struct outcome		 o[3];
	struct server		 s;
	struct aws_client	*c;
	struct aws_pool		*pl;
	struct errbuf		 eb = { 0 };

	memset(o, 0, sizeof(o));
	server_start_routes(&s, rt, nitems(rt));
	c = client_for(&s);
	assert_non_null(pl = aws_pool_new(c, 0, &eb));
	add(pl, "/a", &o[0]);
	add(pl, "/bad", &o[1]);
	add(pl, "/b", &o[2]);
	assert_int_equal(aws_pool_wait(pl, &eb), 0);
	assert_int_equal(o[0].rc, 0);
	assert_int_equal(o[2].rc, 0);
	assert_int_equal(o[1].rc, -1);
	assert_int_equal(o[1].ended, 1);
	assert_int_equal(o[1].attempts, 3);
	assert_int_equal(o[1].kind, EK_TEMP);
	assert_non_null(strstr(o[1].msg, "sqs SendMessage: "));
	assert_non_null(strstr(o[1].msg, "503"));
	aws_pool_free(pl);
	aws_client_free(c);
	free(server_stop(&s));
}

static void
pool_slow_request_does_not_block_others(void **state)
{
	static const char *const ok[] = { OK_REPLY };
	const struct route	 rt[] = {
		{ "/slow ", 1500, ok, nitems(ok) },
		{ "/fast-", 20, ok, nitems(ok) },
	};
	struct outcome		 slow, fast[NREQ];
	struct server		 s;
	struct aws_client	*c;
	struct aws_pool		*pl;
	struct errbuf		 eb = { 0 };
	char			 path[32];
	double			 last = 0;

	memset(&slow, 0, sizeof(slow));
	memset(fast, 0, sizeof(fast));
	server_start_routes(&s, rt, nitems(rt));
	c = client_for(&s);
	assert_non_null(pl = aws_pool_new(c, 4, &eb));
	t0 = now();
	add(pl, "/slow", &slow);
	for (int i = 0; i < NREQ; i++) {
		snprintf(path, sizeof(path), "/fast-%d", i);
		add(pl, path, &fast[i]);
	}
	assert_int_equal(aws_pool_wait(pl, &eb), 0);
	for (int i = 0; i < NREQ; i++) {
		assert_int_equal(fast[i].rc, 0);
		if (fast[i].at > last)
			last = fast[i].at;
	}
	assert_int_equal(slow.rc, 0);
	/*
	 * 40 requests of 20 ms on the 3 other slots take about 0.3 s: all
	 * ended well before the slow one, which took its 1.5 s.
	 */
	assert_true(last < 1.2);
	assert_true(slow.at >= 1.5);
	assert_true(last < slow.at);
	aws_pool_free(pl);
	aws_client_free(c);
	free(server_stop(&s));
}


/* A feeder of NSEND sends to /send-N. */
#define NSEND	40

struct feeder {
	int		 next;
	struct outcome	 o[NSEND];
};

static int
feed_one(void *arg, struct aws_pool *pl)
{
	struct feeder	*f = arg;
	char		 path[32];

	if (f->next >= NSEND)
		return 0;
	snprintf(path, sizeof(path), "/send-%d", f->next);
	add(pl, path, &f->o[f->next]);
	f->next++;
	return 1;
}

static size_t	 reads_left;

static void
on_read(void *arg, int rc, const struct aws_result *res,
    const struct errbuf *eb)
{
	on_done(arg, rc, res, eb);
	reads_left--;
}

static void
pool_reads_go_beside_a_feeder(void **state)
{
	static const char *const ok[] = { OK_REPLY };
	const struct route	 rt[] = {
		{ "/send-", 40, ok, nitems(ok) },
		{ "/read-", 40, ok, nitems(ok) },
		{ "/one ", 40, ok, nitems(ok) },
	};
	static struct feeder	 f;
	struct outcome		 rd[4];
	struct server		 s;
	struct aws_client	*c;
	struct aws_pool		*pl;
	struct aws_pool_stats	 st;
	struct aws_request	 req = { 0 };
	struct aws_result	 res;
	struct errbuf		 eb = { 0 };
	char			 path[32];
	double			 last_send = 0, last_read = 0, one;

	memset(&f, 0, sizeof(f));
	memset(rd, 0, sizeof(rd));
	server_start_routes(&s, rt, nitems(rt));
	c = client_for(&s);
	assert_non_null(pl = aws_pool_new(c, 4, &eb));
	t0 = now();
	aws_pool_feed(pl, feed_one, &f);
	/* The sends start when the pool runs: 40 of 40 ms, 4 at a time. */
	assert_int_equal(aws_pool_run(pl, NULL, 50, &eb), 0);
	assert_true(f.next > 0 && f.next < NSEND);
	/* Four reads, added at once: places of their own. */
	reads_left = 4;
	for (int i = 0; i < 4; i++) {
		struct http_headers	h;

		http_headers_init(&h);
		snprintf(path, sizeof(path), "/read-%d", i);
		memset(&req, 0, sizeof(req));
		req.svc = &aws_svc_sqs;
		req.op = "SendMessage";
		req.method = "POST";
		req.path = path;
		req.headers = &h;
		req.body = "{}";
		req.body_len = 2;
		req.body_fd = req.out_fd = -1;
		if (aws_pool_add(pl, &req, on_read, &rd[i], &eb) == -1)
			fail_msg("aws_pool_add %s: %s", path, eb.msg);
		http_headers_release(&h);
	}
	assert_int_equal(aws_pool_run(pl, &reads_left, -1, &eb), 0);
	assert_int_equal(reads_left, 0);
	/* The feeder is not done: the reads did not wait for the sends. */
	assert_true(f.next < NSEND);
	/* One request through the pool, as aws_request sends it. */
	memset(&req, 0, sizeof(req));
	req.svc = &aws_svc_sqs;
	req.op = "SendMessage";
	req.method = "POST";
	req.path = "/one";
	req.body = "{}";
	req.body_len = 2;
	req.body_fd = req.out_fd = -1;
	aws_result_init(&res);
	assert_int_equal(aws_pool_request(pl, &req, &res, &eb), 0);
	one = now() - t0;
	assert_int_equal(res.status, 200);
	assert_int_equal(res.body.len, 2);
	assert_string_equal(aws_result_header(&res, "x-amzn-RequestId"), "ok");
	aws_result_release(&res);
	assert_int_equal(aws_pool_wait(pl, &eb), 0);
	for (int i = 0; i < NSEND; i++) {
		assert_int_equal(f.o[i].ended, 1);
		assert_int_equal(f.o[i].rc, 0);
		if (f.o[i].at > last_send)
			last_send = f.o[i].at;
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(rd[i].ended, 1);
		assert_int_equal(rd[i].rc, 0);
		if (rd[i].at > last_read)
			last_read = rd[i].at;
	}
	/* 10 rounds of 40 ms of sends: the reads and the one went first. */
	assert_true(last_send >= 0.35);
	assert_true(last_read < last_send);
	assert_true(one < last_send);
	aws_pool_stats(pl, &st);
	assert_int_equal(st.requests, NSEND + 5);
	/* Never more than the feeder's 4 and the others' 4 at once. */
	assert_true(st.peak <= 8);
	assert_true(st.peak > 4);
	aws_pool_free(pl);
	aws_client_free(c);
	free(server_stop(&s));
}

static void
pool_run_with_nothing_to_do_sleeps(void **state)
{
	static const char *const ok[] = { OK_REPLY };
	const struct route	 rt[] = { { "/", 0, ok, nitems(ok) } };
	struct server		 s;
	struct aws_client	*c;
	struct aws_pool		*pl;
	struct errbuf		 eb = { 0 };
	double			 t;

	server_start_routes(&s, rt, nitems(rt));
	c = client_for(&s);
	assert_non_null(pl = aws_pool_new(c, 0, &eb));
	t = now();
	assert_int_equal(aws_pool_run(pl, NULL, 100, &eb), 0);
	t = now() - t;
	assert_true(t >= 0.09 && t < 2.0);
	aws_pool_free(pl);
	aws_client_free(c);
	free(server_stop(&s));
}

static void
pool_cancel_ends_every_request(void **state)
{
	static const char *const ok[] = { OK_REPLY };
	const struct route	 rt[] = {
		{ "/hang", 20000, ok, nitems(ok) },
		{ "/fast ", 100, ok, nitems(ok) },
	};
	struct outcome		 hang[6], fast;
	struct server		 s;
	struct aws_client	*c;
	struct aws_pool		*pl;
	struct errbuf		 eb = { 0 };
	char			 path[32];
	double			 took;

	memset(hang, 0, sizeof(hang));
	memset(&fast, 0, sizeof(fast));
	server_start_routes(&s, rt, nitems(rt));
	c = client_for(&s);
	assert_non_null(pl = aws_pool_new(c, 4, &eb));
	t0 = now();
	/* 3 in flight, 3 queued behind them; fast's end cancels the pool. */
	add(pl, "/fast", &fast);
	cancel_pool = pl;
	for (int i = 0; i < 6; i++) {
		struct aws_request	 req = { 0 };

		snprintf(path, sizeof(path), "/hang-%d", i);
		req.svc = &aws_svc_sqs;
		req.op = "SendMessage";
		req.method = "POST";
		req.path = path;
		req.body = "{}";
		req.body_len = 2;
		req.body_fd = req.out_fd = -1;
		if (aws_pool_add(pl, &req, on_done, &hang[i], &eb) == -1) {
			/* Added after the cancel: refused, never reported. */
			assert_int_equal(eb.kind, EK_TEMP);
			assert_non_null(strstr(eb.msg, "interrupted"));
			hang[i].rc = -2;
		}
	}
	assert_int_equal(aws_pool_wait(pl, &eb), -1);
	assert_int_equal(eb.kind, EK_TEMP);
	took = now() - t0;
	cancel_pool = NULL;
	assert_true(took < 2.0);
	assert_int_equal(fast.rc, 0);
	for (int i = 0; i < 6; i++) {
		if (hang[i].rc == -2)
			continue;
		assert_int_equal(hang[i].ended, 1);
		assert_int_equal(hang[i].rc, -1);
		assert_int_equal(hang[i].kind, EK_TEMP);
		assert_non_null(strstr(hang[i].msg, "interrupted"));
		/* Not retried: one attempt each. */
		assert_true(hang[i].attempts <= 1);
	}
	/* The pool is usable again after the wait. */
	add(pl, "/fast", &fast);
	assert_int_equal(aws_pool_wait(pl, &eb), 0);
	aws_pool_free(pl);
	aws_client_free(c);
	free(server_stop(&s));
}

static volatile sig_atomic_t	 flag;

static void
on_alarm(int sig)
{
	flag = 1;
}

static void
pool_abort_flag_stops_it(void **state)
{
	static const char *const ok[] = { OK_REPLY };
	const struct route	 rt[] = {
		{ "/hang", 20000, ok, nitems(ok) },
	};
	struct outcome		 hang[3];
	struct itimerval	 it = { { 0, 0 }, { 0, 300000 } };
	struct server		 s;
	struct aws_client	*c;
	struct aws_pool		*pl;
	struct errbuf		 eb = { 0 };
	double			 took;

	memset(hang, 0, sizeof(hang));
	server_start_routes(&s, rt, nitems(rt));
	c = client_for(&s);
	assert_non_null(pl = aws_pool_new(c, 4, &eb));
	flag = 0;
	http_set_abort_flag(&flag);
	signal(SIGALRM, on_alarm);
	t0 = now();
	add(pl, "/hang-0", &hang[0]);
	add(pl, "/hang-1", &hang[1]);
	add(pl, "/hang-2", &hang[2]);
	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
	assert_int_equal(aws_pool_wait(pl, &eb), -1);
	took = now() - t0;
	http_set_abort_flag(NULL);
	/* The flag is looked at every second at most. */
	assert_true(took < 2.0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(hang[i].ended, 1);
		assert_int_equal(hang[i].kind, EK_TEMP);
		assert_non_null(strstr(hang[i].msg, "interrupted"));
	}
	aws_pool_free(pl);
	aws_client_free(c);
	free(server_stop(&s));
}

static void
pool_free_drops_what_is_in_flight(void **state)
{
	static const char *const ok[] = { OK_REPLY };
	const struct route	 rt[] = {
		{ "/hang", 20000, ok, nitems(ok) },
	};
	struct outcome		 hang[2];
	struct server		 s;
	struct aws_client	*c;
	struct aws_pool		*pl;
	struct errbuf		 eb = { 0 };

	memset(hang, 0, sizeof(hang));
	server_start_routes(&s, rt, nitems(rt));
	c = client_for(&s);
	assert_non_null(pl = aws_pool_new(c, 4, &eb));
	add(pl, "/hang-0", &hang[0]);
	add(pl, "/hang-1", &hang[1]);
	aws_pool_free(pl);	/* ASan: nothing leaks */
	assert_int_equal(hang[0].ended, 0);
	aws_client_free(c);
	free(server_stop(&s));
	assert_null(aws_pool_new(NULL, AWS_POOL_MAX + 1, &eb));
	assert_int_equal(eb.kind, EK_USAGE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pool_retries_only_the_throttled_request),
		cmocka_unit_test(pool_fails_a_request_after_its_attempts),
		cmocka_unit_test(pool_slow_request_does_not_block_others),
		cmocka_unit_test(pool_reads_go_beside_a_feeder),
		cmocka_unit_test(pool_run_with_nothing_to_do_sleeps),
		cmocka_unit_test(pool_cancel_ends_every_request),
		cmocka_unit_test(pool_abort_flag_stops_it),
		cmocka_unit_test(pool_free_drops_what_is_in_flight),
	};

	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
