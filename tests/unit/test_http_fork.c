/* SPDX-License-Identifier: ISC */
/*
 * test_http_fork.c: http_fresh_connections() (lib/http.c), as hookd's
 * deployment process uses it.  A loopback HTTP/1.1 server (a process of
 * its own) answers every request with the number of the connection it
 * came on.  The parent's handle makes connection 1; a forked child that
 * called http_fresh_connections() must get connection 2 with the same
 * struct http (and keep it alive for its own next request), and after
 * the child is gone the parent's next request must still travel on
 * connection 1: the child neither used nor closed it.
 */
#include "compat.h"

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <arpa/inet.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "errbuf.h"
#include "http.h"
#include "loopback.h"

#include "banned.h"

#define MAXCONN	8

/* The server: answer "conn=N" on connection N, keep-alive, forever. */
static __dead void
serve(int lfd)
{
	struct pollfd	 pfd[MAXCONN + 1];
	char		 req[MAXCONN][4096], resp[128], body[32];
	size_t		 have[MAXCONN];
	int		 num[MAXCONN], nconn = 0, n;
	ssize_t		 r;

	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);	/* never outlive the test */
	for (int i = 0; i < MAXCONN; i++)
		pfd[i + 1].fd = -1;
	pfd[0].fd = lfd;
	pfd[0].events = POLLIN;
	for (;;) {
		for (int i = 1; i <= MAXCONN; i++)
			pfd[i].events = POLLIN;
		if (poll(pfd, MAXCONN + 1, -1) == -1)
			_exit(2);
		if ((pfd[0].revents & POLLIN) && nconn < MAXCONN) {
			pfd[nconn + 1].fd = accept(lfd, NULL, NULL);
			num[nconn] = nconn + 1;
			have[nconn] = 0;
			nconn++;
		}
		for (int i = 0; i < nconn; i++) {
			if (pfd[i + 1].fd == -1 || pfd[i + 1].revents == 0)
				continue;
			r = read(pfd[i + 1].fd, req[i] + have[i],
			    sizeof(req[i]) - 1 - have[i]);
			if (r <= 0) {
				close(pfd[i + 1].fd);
				pfd[i + 1].fd = -1;
				continue;
			}
			have[i] += (size_t)r;
			req[i][have[i]] = '\0';
			if (strstr(req[i], "\r\n\r\n") == NULL)
				continue;
			have[i] = 0;
			n = snprintf(body, sizeof(body), "conn=%d", num[i]);
			n = snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\n"
			    "Content-Length: %d\r\n\r\n%s", n, body);
			if (write(pfd[i + 1].fd, resp, (size_t)n) != n)
				_exit(2);
		}
	}
}

static pid_t
server(char *url, size_t len)
{
	pid_t	 pid;
	int	 fd, port;

	fd = loopback_listen(&port);
	snprintf(url, len, "http://127.0.0.1:%d/x", port);
	assert_true((pid = fork()) != -1);
	if (pid == 0)
		serve(fd);
	close(fd);
	return pid;
}

/* The connection number in a "conn=N" reply, or -1. */
static int
conn_number(const struct http_response *resp)
{
	char	 text[32];
	int	 n;

	if (resp->status != 200 || resp->body.len >= sizeof(text))
		return -1;
	memcpy(text, resp->body.data, resp->body.len);
	text[resp->body.len] = '\0';
	return sscanf(text, "conn=%d", &n) == 1 ? n : -1;
}

/* GET url on h; returns the connection number the server saw, or -1. */
static int
conn_of(struct http *h, const char *url)
{
	struct http_request	 req = { .method = "GET", .url = url,
				    .body_fd = -1, .out_fd = -1,
				    .timeout_ms = 5000 };
	struct http_response	 resp;
	struct errbuf		 eb = { 0 };
	int			 n = -1;

	http_response_init(&resp);
	if (http_perform(h, &req, &resp, &eb) == 0)
		n = conn_number(&resp);
	http_response_release(&resp);
	return n;
}

static void
forked_child_never_touches_the_parents_connection(void **state)
{
	struct errbuf	 eb = { 0 };
	struct http	*h;
	char		 url[64];
	pid_t		 srv, kid;
	int		 st;

	srv = server(url, sizeof(url));
	assert_non_null(h = http_new(&eb));
	assert_int_equal(conn_of(h, url), 1);
	assert_int_equal(conn_of(h, url), 1);		/* kept alive */
	assert_true((kid = fork()) != -1);
	if (kid == 0) {
		http_fresh_connections();
		st = conn_of(h, url) == 2 && conn_of(h, url) == 2 ? 0 : 1;
		http_free(h);
		_exit(st);
	}
	assert_int_equal(waitpid(kid, &st, 0), kid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	/* The parent's connection is still open and still ours. */
	assert_int_equal(conn_of(h, url), 1);
	http_free(h);
	kill(srv, SIGKILL);
	waitpid(srv, &st, 0);
}

/* One GET through m; the connection number the server saw, or -1. */
static void
multi_done(void *cbarg, const struct http_done *d)
{
	*(int *)cbarg = d->rc == 0 ? 1 : -2;
}

static int
conn_of_multi(struct http_multi *m, const char *url)
{
	struct http_request	 req = { .method = "GET", .url = url,
				    .body_fd = -1, .out_fd = -1,
				    .timeout_ms = 5000 };
	struct http_response	 resp;
	struct errbuf		 eb = { 0 };
	int			 done = 0, n = -1;

	http_response_init(&resp);
	if (http_multi_add(m, &req, &resp, NULL, &eb) == 0) {
		while (done == 0 &&
		    http_multi_run(m, 100, multi_done, &done, &eb) == 0)
			;
		if (done == 1)
			n = conn_number(&resp);
	}
	http_response_release(&resp);
	return n;
}

/*
 * The same for a multi handle (a detached deployer driver forks with
 * its request pools made): the child gets a handle and connections of
 * its own, and the parent's connection survives it.
 */
static void
forked_child_renews_a_multi_handle(void **state)
{
	struct errbuf		 eb = { 0 };
	struct http_multi	*m;
	char			 url[64];
	pid_t			 srv, kid;
	int			 st;

	srv = server(url, sizeof(url));
	assert_non_null(m = http_multi_new(2, &eb));
	assert_int_equal(conn_of_multi(m, url), 1);
	assert_int_equal(conn_of_multi(m, url), 1);	/* kept alive */
	assert_true((kid = fork()) != -1);
	if (kid == 0) {
		http_fresh_connections();
		st = conn_of_multi(m, url) == 2 &&
		    conn_of_multi(m, url) == 2 ? 0 : 1;
		http_multi_free(m);
		_exit(st);
	}
	assert_int_equal(waitpid(kid, &st, 0), kid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(conn_of_multi(m, url), 1);
	http_multi_free(m);
	kill(srv, SIGKILL);
	waitpid(srv, &st, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    forked_child_never_touches_the_parents_connection),
		cmocka_unit_test(forked_child_renews_a_multi_handle),
	};
	int	 rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
