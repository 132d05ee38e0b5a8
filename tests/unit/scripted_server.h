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
 */
#ifndef HOOKD_SCRIPTED_SERVER_H
#define HOOKD_SCRIPTED_SERVER_H

#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
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
static size_t
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

static void
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

static void
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
