/* SPDX-License-Identifier: ISC */
/*
 * scripted_server.h: the scripted loopback HTTP server of the AWS client
 * unit tests (test_awsclient, test_sqsjson).  server_start() forks a
 * server on 127.0.0.1 at a kernel-chosen port that answers each request
 * with the next entry of script (CLOSE_CONN: drop the connection instead;
 * a reply saying "Connection: close" ends the connection after it) and
 * records every raw request; server_stop() ends it and returns what was
 * recorded.  Included after <cmocka.h> by one test file each: static
 * functions only.
 *
 * server_start_routes() forks the concurrent kind (test_awspool): it
 * serves many connections at once from one poll(2) loop, choosing each
 * reply by the first route whose 'match' is in the request line; the
 * k-th request of a route gets replies[k] (the last one once they run
 * out), after the route's delay, without holding up any other
 * connection.  Requests are recorded as above.
 */
#ifndef HOOKD_SCRIPTED_SERVER_H
#define HOOKD_SCRIPTED_SERVER_H

#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aws/client.h"
#include "aws/creds.h"
#include "loopback.h"
#include "slurp.h"
#include "xalloc.h"

#define CLOSE_CONN	"CLOSE"	/* script entry: drop the connection */
#define REQ_MAX		(256 * 1024)
#define SERVER_LIFE_SEC	60	/* the scripted server exits after this */

struct server {
	pid_t	 pid;
	int	 port;
	char	 log[64];
};

/* Read one request (headers + Content-Length body); 0 on EOF. */
static size_t __attribute__((__unused__))
read_request(int fd, char *buf, size_t max)
{
	size_t	 len = 0, need = 0;
	ssize_t	 n;
	char	*e;

	for (;;) {
		if (need == 0 && (e = memmem(buf, len, "\r\n\r\n", 4)) !=
		    NULL) {
			char	*cl;
			size_t	 hl = (size_t)(e - buf) + 4;

			buf[len] = '\0';
			cl = strcasestr(buf, "\r\nContent-Length:");
			need = hl + (cl != NULL && cl < e ?
			    strtoul(cl + 17, NULL, 10) : 0);
		}
		if (need != 0 && len >= need)
			return len;
		if (len >= max - 1)
			return len;
		n = read(fd, buf + len, max - 1 - len);
		if (n <= 0)
			return 0;
		len += (size_t)n;
	}
}

static void __attribute__((__unused__))
serve(int lfd, const char *const *script, size_t n, const char *logpath)
{
	char	*buf = xmalloc(REQ_MAX);
	size_t	 i = 0;
	int	 logfd;

	/* Never outlive a test that crashed before server_stop(). */
	alarm(SERVER_LIFE_SEC);
	logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	while (i < n) {
		int	cfd = accept(lfd, NULL, NULL);
		size_t	len;

		if (cfd == -1)
			_exit(1);
		while (i < n && (len = read_request(cfd, buf, REQ_MAX)) > 0) {
			const char	*r = script[i++];

			if (write(logfd, buf, len) == -1 ||
			    write(logfd, "\n=====\n", 7) == -1)
				_exit(1);
			if (strcmp(r, CLOSE_CONN) == 0)
				break;
			if (write(cfd, r, strlen(r)) == -1)
				break;
			if (strstr(r, "Connection: close") != NULL)
				break;
		}
		close(cfd);
	}
	_exit(0);
}

static void __attribute__((__unused__))
server_start(struct server *s, const char *const *script, size_t n)
{
	int	 lfd;

	lfd = loopback_listen(&s->port);
	strlcpy(s->log, "/tmp/hookd-unit-server.XXXXXX", sizeof(s->log));
	close(mkstemp(s->log));
	s->pid = fork();
	assert_int_not_equal(s->pid, -1);
	if (s->pid == 0)
		serve(lfd, script, n, s->log);
	close(lfd);
}

/* The recorded requests (new string); stops the server. */
static char *
server_stop(struct server *s)
{
	char	*d;

	kill(s->pid, SIGTERM);
	waitpid(s->pid, NULL, 0);
	d = slurp(s->log, NULL);
	unlink(s->log);
	return d;
}

struct route {
	const char		*match;		/* in the request line */
	int			 delay_ms;	/* before each reply */
	const char *const	*replies;
	size_t			 nreplies;
};

#define ROUTE_CONNS	256

struct route_conn {
	int		 fd;		/* -1: free */
	char		*buf;
	size_t		 len;
	const char	*reply;		/* due at due_ms */
	long long	 due_ms;
};

static long long __attribute__((__unused__))
route_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Length of a complete request in c->buf, or 0. */
static size_t __attribute__((__unused__))
route_complete(struct route_conn *c)
{
	char	*e, *cl;
	size_t	 hl;

	c->buf[c->len] = '\0';
	if ((e = memmem(c->buf, c->len, "\r\n\r\n", 4)) == NULL)
		return 0;
	hl = (size_t)(e - c->buf) + 4;
	cl = strcasestr(c->buf, "\r\nContent-Length:");
	if (cl != NULL && cl < e)
		hl += strtoul(cl + 17, NULL, 10);
	return c->len >= hl ? hl : 0;
}

static void __attribute__((__unused__))
serve_routes(int lfd, const struct route *rt, size_t nrt, const char *logpath)
{
	struct route_conn	*cs = xcalloc(ROUTE_CONNS, sizeof(*cs));
	struct pollfd		 pfd[ROUTE_CONNS + 1];
	size_t			*hits = xcalloc(nrt, sizeof(*hits));
	int			 logfd;

	alarm(SERVER_LIFE_SEC);
	logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	for (int i = 0; i < ROUTE_CONNS; i++)
		cs[i].fd = -1;
	for (;;) {
		long long	now = route_now_ms(), wait = -1;
		int		n = 0;

		for (int i = 0; i < ROUTE_CONNS; i++) {
			struct route_conn	*c = &cs[i];

			if (c->fd == -1 || c->reply == NULL)
				continue;
			if (c->due_ms <= now) {
				if (strcmp(c->reply, CLOSE_CONN) == 0 ||
				    write(c->fd, c->reply, strlen(c->reply)) ==
				    -1 || strstr(c->reply, "Connection: close")
				    != NULL) {
					close(c->fd);
					c->fd = -1;
				}
				c->reply = NULL;
			} else if (wait == -1 || c->due_ms - now < wait)
				wait = c->due_ms - now;
		}
		pfd[n].fd = lfd;
		pfd[n++].events = POLLIN;
		for (int i = 0; i < ROUTE_CONNS; i++) {
			pfd[n].fd = cs[i].fd != -1 && cs[i].reply == NULL ?
			    cs[i].fd : -1;
			pfd[n++].events = POLLIN;
		}
		if (poll(pfd, (nfds_t)n, (int)wait) == -1)
			continue;
		if (pfd[0].revents & POLLIN) {
			int	fd = accept(lfd, NULL, NULL);

			for (int i = 0; fd != -1 && i < ROUTE_CONNS; i++)
				if (cs[i].fd == -1) {
					cs[i].fd = fd;
					cs[i].len = 0;
					if (cs[i].buf == NULL)
						cs[i].buf = xmalloc(REQ_MAX);
					fd = -1;
				}
			if (fd != -1)
				close(fd);
		}
		for (int i = 0; i < ROUTE_CONNS; i++) {
			struct route_conn	*c = &cs[i];
			size_t			 len, k;
			ssize_t			 r;

			if (pfd[i + 1].fd == -1 ||
			    (pfd[i + 1].revents & (POLLIN | POLLHUP)) == 0)
				continue;
			r = read(c->fd, c->buf + c->len, REQ_MAX - 1 - c->len);
			if (r <= 0) {
				close(c->fd);
				c->fd = -1;
				continue;
			}
			c->len += (size_t)r;
			if ((len = route_complete(c)) == 0)
				continue;
			if (write(logfd, c->buf, len) == -1 ||
			    write(logfd, "\n=====\n", 7) == -1)
				_exit(1);
			c->buf[strcspn(c->buf, "\r")] = '\0';
			for (k = 0; k < nrt; k++)
				if (strstr(c->buf, rt[k].match) != NULL)
					break;
			if (k == nrt) {
				close(c->fd);
				c->fd = -1;
				continue;
			}
			c->reply = rt[k].replies[hits[k] < rt[k].nreplies ?
			    hits[k] : rt[k].nreplies - 1];
			hits[k]++;
			c->due_ms = route_now_ms() + rt[k].delay_ms;
			memmove(c->buf, c->buf + len, c->len - len);
			c->len -= len;
		}
	}
}

static void __attribute__((__unused__))
server_start_routes(struct server *s, const struct route *rt, size_t n)
{
	int	 lfd;

	lfd = loopback_listen(&s->port);
	assert_int_equal(listen(lfd, 512), 0);
	strlcpy(s->log, "/tmp/hookd-unit-server.XXXXXX", sizeof(s->log));
	close(mkstemp(s->log));
	s->pid = fork();
	assert_int_not_equal(s->pid, -1);
	if (s->pid == 0)
		serve_routes(lfd, rt, n, s->log);
	close(lfd);
}

/*
 * An AWS client for s (through AWS_ENDPOINT_URL): test credentials, with
 * session token 'token' unless NULL, us-east-1, a 5 ms backoff base and
 * a 5 s timeout; what else cfg holds (attempts, protocol) is the
 * caller's.
 */
static struct aws_client *
server_client(struct server *s, struct aws_client_config *cfg,
    const char *token)
{
	struct aws_creds	 cr = { 0 };
	struct aws_client	*c;
	struct errbuf		 eb = { 0 };
	char			*u;

	u = xasprintf("http://127.0.0.1:%d", s->port);
	setenv("AWS_ENDPOINT_URL", u, 1);
	free(u);
	cr.access_key = (char *)(uintptr_t)"AKIDTEST";
	cr.secret_key = (char *)(uintptr_t)"SECRETTEST";
	cr.session_token = (char *)(uintptr_t)token;
	cfg->region = "us-east-1";
	cfg->creds = &cr;
	cfg->backoff_base_ms = 5;
	cfg->timeout_ms = 5000;
	c = aws_client_new(cfg, &eb);
	cfg->creds = NULL;
	if (c == NULL)
		fail_msg("aws_client_new: %s", eb.msg);
	return c;
}

#endif /* HOOKD_SCRIPTED_SERVER_H */
