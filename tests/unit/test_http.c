/* SPDX-License-Identifier: ISC */
/*
 * test_http.c: the abort flag of lib/http.c (http_set_abort_flag).  A
 * loopback socket that listens but never answers stands in for an SQS
 * long poll; SIGALRM sets the flag the way hookd's SIGTERM handler does,
 * and the transfer must stop within about a second, as "interrupted",
 * not transient (so the AWS client does not retry it).  With a wake fd
 * (http_set_wake_fd, hookd's self-pipe), the same, through
 * curl_multi_poll(); the fd is left for its owner to read.
 */
#include "compat.h"

#include <sys/socket.h>

#include <netinet/in.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "errbuf.h"
#include "http.h"
#include "loopback.h"

#include "banned.h"

static volatile sig_atomic_t	 flag;
static int			 wake_w = -1;	/* on_alarm writes here */

static void
on_alarm(int sig)
{
	flag = 1;
	if (wake_w != -1 && write(wake_w, "x", 1) != 1)
		flag = 2;	/* the test sees it */
}

/* A listening socket nobody accepts from: connects, then silence. */
static int
silent_server(char *url, size_t len)
{
	int	 fd, port;

	fd = loopback_listen(&port);
	snprintf(url, len, "http://127.0.0.1:%d/queue", port);
	return fd;
}

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* SIGALRM sets the flag; SA_RESTART as hookd: the wait is restarted. */
static void
arm_flag(void)
{
	struct sigaction	 sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
	flag = 0;
	http_set_abort_flag(&flag);
}

static void
http_abort_flag_stops_a_waiting_transfer(void **state)
{
	struct http_request	 req = { .method = "GET", .body_fd = -1,
				    .out_fd = -1, .timeout_ms = 20000,
				    .no_low_speed = true };
	struct http_response	 resp;
	struct errbuf		 eb = { 0 };
	struct http		*h;
	char			 url[64];
	double			 t0;
	int			 fd;

	fd = silent_server(url, sizeof(url));
	req.url = url;
	arm_flag();
	assert_non_null(h = http_new(&eb));
	http_response_init(&resp);
	t0 = now();
	alarm(1);
	assert_int_equal(http_perform(h, &req, &resp, &eb), -1);
	print_message("aborted %.2f s after the start (flag set at 1 s)\n",
	    now() - t0);
	assert_true(now() - t0 < 4.0);
	assert_int_equal(flag, 1);
	assert_int_equal(eb.kind, EK_TEMP);
	assert_non_null(strstr(eb.msg, "interrupted"));
	assert_non_null(strstr(eb.msg, url));
	assert_true(http_last_interrupted(h));
	assert_false(http_last_transient(h));

	/* Still set: the next request does not even start. */
	t0 = now();
	assert_int_equal(http_perform(h, &req, &resp, &eb), -1);
	assert_true(now() - t0 < 0.5);
	assert_true(http_last_interrupted(h));
	assert_int_equal(http_last_curlcode(h), CURLE_ABORTED_BY_CALLBACK);

	http_set_abort_flag(NULL);
	http_response_release(&resp);
	http_free(h);
	close(fd);
}

static void
http_wake_fd_stops_a_waiting_transfer(void **state)
{
	struct http_request	 req = { .method = "GET", .body_fd = -1,
				    .out_fd = -1, .timeout_ms = 20000,
				    .no_low_speed = true };
	struct http_response	 resp;
	struct errbuf		 eb = { 0 };
	struct http		*h;
	char			 url[64], c;
	int			 fd, p[2];

	fd = silent_server(url, sizeof(url));
	req.url = url;
	assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	wake_w = p[1];
	arm_flag();
	http_set_wake_fd(p[0]);
	assert_non_null(h = http_new(&eb));
	http_response_init(&resp);
	alarm(1);
	assert_int_equal(http_perform(h, &req, &resp, &eb), -1);
	assert_int_equal(flag, 1);
	assert_int_equal(eb.kind, EK_TEMP);
	assert_non_null(strstr(eb.msg, "interrupted"));
	assert_true(http_last_interrupted(h));
	assert_false(http_last_transient(h));
	/* The wake-up is still there for the daemon to drain. */
	assert_int_equal(read(p[0], &c, 1), 1);

	http_set_wake_fd(-1);
	http_set_abort_flag(NULL);
	wake_w = -1;
	http_response_release(&resp);
	http_free(h);
	close(p[0]);
	close(p[1]);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(http_abort_flag_stops_a_waiting_transfer),
		cmocka_unit_test(http_wake_fd_stops_a_waiting_transfer),
	};
	int	 rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
