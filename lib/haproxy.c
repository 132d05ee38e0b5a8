/* SPDX-License-Identifier: ISC */
/*
 * haproxy.c: the HAProxy runtime API client (see haproxy.h).  There is
 * no library for this line protocol; it is small enough to speak here.
 * The reference is HAProxy's management guide, section 9.3 ("Unix
 * Socket commands"): without "prompt", HAProxy runs the one command it
 * reads, writes the reply and closes the connection.
 *
 * Not here: what the states mean for a deployment (traffic.c).
 */
#include "compat.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "errbuf.h"
#include "haproxy.h"
#include "log.h"
#include "quote.h"
#include "xalloc.h"

#include "banned.h"

#define STAT_FIELDS_MAX		128	/* columns of "show stat" read */
#define REPLY_SHOW_MAX		120	/* bytes of a reply quoted in errors */

bool
haproxy_name_ok(const char *s)
{
	size_t	 n;

	if (s == NULL || s[0] == '\0')
		return false;
	for (n = 0; s[n] != '\0'; n++)
		if ((unsigned char)s[n] <= ' ' || s[n] == 0x7f ||
		    s[n] == ';' || s[n] == '/' || s[n] == '\\')
			return false;
	return n <= HAPROXY_NAME_MAX;
}

/* Wait until fd is ready for 'events' or the deadline passes. */
static int
wait_fd(int fd, short events, long deadline, const char *addr,
    const char *what, struct errbuf *eb)
{
	struct pollfd	 pfd;
	long		 left;
	int		 n;

	for (;;) {
		left = deadline - mono_ms();
		if (left <= 0)
			return errbuf_set(eb, EK_TEMP, "HAProxy runtime API "
			    "'%s': timed out %s", addr, what);
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, (int)left);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return errbuf_errno(eb, EK_OS, "HAProxy runtime API "
			    "'%s': poll", addr);
		if (n > 0)
			return 0;
	}
}

/* A non-blocking socket connected to addr, or -1 with eb set. */
static int
dial(const char *addr, long deadline, struct errbuf *eb)
{
	struct sockaddr_un	 sun;
	struct addrinfo		 hints, *ai = NULL;
	char			 host[256], *colon;
	const char		*port;
	socklen_t		 sl;
	int			 fd = -1, err, r;

	if (strncmp(addr, "tcp:", 4) == 0) {
		if (strlcpy(host, addr + 4, sizeof(host)) >= sizeof(host) ||
		    (colon = strrchr(host, ':')) == NULL || colon == host ||
		    colon[1] == '\0') {
			errbuf_set(eb, EK_USAGE, "HAProxy runtime API '%s': "
			    "expected tcp:HOST:PORT", addr);
			return -1;
		}
		*colon = '\0';
		port = colon + 1;
		if (host[0] == '[' && colon[-1] == ']') {
			memmove(host, host + 1, strlen(host));
			host[strlen(host) - 1] = '\0';
		}
		memset(&hints, 0, sizeof(hints));
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_NUMERICSERV;
		if ((r = getaddrinfo(host, port, &hints, &ai)) != 0) {
			errbuf_set(eb, EK_UNAVAIL, "HAProxy runtime API '%s': "
			    "%s", addr, gai_strerror(r));
			return -1;
		}
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, 0);
		if (fd == -1) {
			errbuf_errno(eb, EK_OS, "HAProxy runtime API '%s': "
			    "socket", addr);
			goto fail;
		}
		r = connect(fd, ai->ai_addr, ai->ai_addrlen);
	} else {
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (addr[0] == '\0' || strlcpy(sun.sun_path, addr,
		    sizeof(sun.sun_path)) >= sizeof(sun.sun_path)) {
			errbuf_set(eb, EK_USAGE, "HAProxy runtime API '%s': "
			    "not a usable socket path", addr);
			return -1;
		}
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, 0);
		if (fd == -1) {
			errbuf_errno(eb, EK_OS, "HAProxy runtime API '%s': "
			    "socket", addr);
			goto fail;
		}
		r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	}
	if (r == -1 && errno != EINPROGRESS) {
		errbuf_errno(eb, errno == EACCES ? EK_PERM : errno == EAGAIN ?
		    EK_TEMP : EK_UNAVAIL, "HAProxy runtime API '%s': cannot "
		    "connect", addr);
		goto fail;
	}
	if (r == -1) {
		if (wait_fd(fd, POLLOUT, deadline, addr, "connecting",
		    eb) == -1)
			goto fail;
		sl = sizeof(err);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) == -1)
			err = errno;
		if (err != 0) {
			errbuf_errnum(eb, EK_UNAVAIL, err, "HAProxy runtime "
			    "API '%s': cannot connect", addr);
			goto fail;
		}
	}
	if (ai != NULL)
		freeaddrinfo(ai);
	return fd;
 fail:
	if (fd != -1)
		close(fd);
	if (ai != NULL)
		freeaddrinfo(ai);
	return -1;
}

int
haproxy_command(const char *addr, const char *cmd, unsigned timeout_ms,
    char **ret_reply, struct errbuf *eb)
{
	struct buf	 reply;
	char		*line = NULL, chunk[16384];
	size_t		 off = 0, len;
	ssize_t		 n;
	long		 deadline;
	int		 fd = -1, ret = -1;

	buf_init(&reply, HAPROXY_REPLY_MAX);
	if (addr == NULL || cmd == NULL || cmd[0] == '\0' ||
	    strpbrk(cmd, "\r\n") != NULL)
		return errbuf_set(eb, EK_USAGE, "HAProxy runtime API: not a "
		    "single command");
	deadline = mono_ms() + (timeout_ms != 0 ? timeout_ms :
	    HAPROXY_TIMEOUT_MS);
	if ((fd = dial(addr, deadline, eb)) == -1)
		return -1;
	line = xasprintf("%s\n", cmd);
	len = strlen(line);
	while (off < len) {
		n = send(fd, line + off, len - off, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			if (wait_fd(fd, POLLOUT, deadline, addr, "sending",
			    eb) == -1)
				goto out;
			continue;
		}
		if (n == -1) {
			errbuf_errno(eb, EK_UNAVAIL, "HAProxy runtime API "
			    "'%s': cannot send '%s'", addr, cmd);
			goto out;
		}
		off += (size_t)n;
	}
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			if (wait_fd(fd, POLLIN, deadline, addr, "waiting for "
			    "the reply", eb) == -1)
				goto out;
			continue;
		}
		if (n == -1) {
			errbuf_errno(eb, EK_UNAVAIL, "HAProxy runtime API "
			    "'%s': reading the reply to '%s'", addr, cmd);
			goto out;
		}
		if (n == 0)
			break;
		if (buf_add(&reply, chunk, (size_t)n) == -1) {
			errbuf_set(eb, EK_PROTO, "HAProxy runtime API '%s': "
			    "reply to '%s' is over %d bytes", addr, cmd,
			    HAPROXY_REPLY_MAX);
			goto out;
		}
	}
	log_debug("haproxy %s: '%s': %zu bytes", addr, cmd, reply.len);
	*ret_reply = buf_take(&reply, NULL);
	ret = 0;
 out:
	buf_release(&reply);
	free(line);
	close(fd);
	return ret;
}

/* The first line of a reply, quoted and shortened, for an error. */
static void
first_line(const char *reply, char *out, size_t outlen)
{
	(void)quote_text(reply, strcspn(reply, "\n"), out, outlen);
}

static bool
blank(const char *s)
{
	return s[strspn(s, " \t\r\n")] == '\0';
}

int
haproxy_set_state(const char *addr, const char *backend, const char *server,
    const char *state, unsigned timeout_ms, struct errbuf *eb)
{
	char	*cmd, *reply = NULL, shown[REPLY_SHOW_MAX];
	int	 ret = -1;

	if (!haproxy_name_ok(backend) || !haproxy_name_ok(server))
		return errbuf_set(eb, EK_USAGE, "HAProxy server '%s/%s': not "
		    "a usable name", backend != NULL ? backend : "",
		    server != NULL ? server : "");
	if (strcmp(state, "ready") != 0 && strcmp(state, "drain") != 0 &&
	    strcmp(state, "maint") != 0)
		return errbuf_set(eb, EK_BUG, "HAProxy server state '%s'",
		    state);
	cmd = xasprintf("set server %s/%s state %s", backend, server, state);
	if (haproxy_command(addr, cmd, timeout_ms, &reply, eb) == -1)
		goto out;
	/* Success is an empty line; nothing at all is not an answer. */
	if (reply[0] != '\0' && blank(reply)) {
		ret = 0;
		goto out;
	}
	first_line(reply, shown, sizeof(shown));
	if (strncmp(reply, "Permission denied", 17) == 0)
		errbuf_set(eb, EK_PERM, "HAProxy runtime API '%s': '%s': %s "
		    "(the stats socket needs 'level admin')", addr, cmd,
		    shown);
	else if (strncmp(reply, "No such", 7) == 0)
		errbuf_set(eb, EK_NOINPUT, "HAProxy server '%s/%s': %s",
		    backend, server, shown);
	else
		errbuf_set(eb, EK_PROTO, "HAProxy runtime API '%s': '%s': "
		    "unexpected reply '%s'", addr, cmd, shown);
 out:
	free(cmd);
	free(reply);
	return ret;
}

/*
 * Split one CSV line (NUL-terminated, modified in place) into at most
 * max fields.  HAProxy quotes a field with '"' when it holds a comma or
 * a quote, doubling quotes inside.  Returns the number of fields.
 */
static size_t
csv_split(char *s, char **f, size_t max)
{
	size_t	 n = 0;
	char	*w;

	for (;;) {
		if (n == max)
			return n;
		if (*s == '"') {
			f[n++] = w = ++s;
			while (*s != '\0') {
				if (s[0] == '"' && s[1] == '"') {
					*w++ = '"';
					s += 2;
				} else if (s[0] == '"') {
					s++;
					break;
				} else
					*w++ = *s++;
			}
			*w = '\0';
			s += strcspn(s, ",");
		} else {
			f[n++] = s;
			s += strcspn(s, ",");
		}
		if (*s == '\0')
			return n;
		*s++ = '\0';
	}
}

static int
col(char **hdr, size_t nhdr, const char *name)
{
	for (size_t i = 0; i < nhdr; i++)
		if (strcmp(hdr[i], name) == 0)
			return (int)i;
	return -1;
}

int
haproxy_parse_stat(const char *csv, const char *backend, const char *server,
    struct haproxy_server *ret, struct errbuf *eb)
{
	struct haproxy_server	 hs;
	char			*copy, *line, *next, *hdr[STAT_FIELDS_MAX];
	char			*f[STAT_FIELDS_MAX], shown[REPLY_SHOW_MAX];
	size_t			 nhdr, nf;
	int			 cpx, csv_, cscur, cqcur, cst, cchk, cdesc;
	int			 rv = -1;
	uint64_t		 v;

	copy = xstrdup(csv);
	if (strncmp(copy, "# pxname,", 9) != 0) {
		first_line(copy, shown, sizeof(shown));
		if (strncmp(copy, "No such", 7) == 0)
			errbuf_set(eb, EK_NOINPUT, "HAProxy backend '%s': %s",
			    backend, shown);
		else
			errbuf_set(eb, EK_PROTO, "HAProxy 'show stat': "
			    "unexpected reply '%s'", shown);
		goto out;
	}
	next = copy + 2;
	line = next;
	next += strcspn(next, "\n");
	if (*next != '\0')
		*next++ = '\0';
	nhdr = csv_split(line, hdr, nitems(hdr));
	cpx = col(hdr, nhdr, "pxname");
	csv_ = col(hdr, nhdr, "svname");
	cscur = col(hdr, nhdr, "scur");
	cqcur = col(hdr, nhdr, "qcur");
	cst = col(hdr, nhdr, "status");
	cchk = col(hdr, nhdr, "check_status");
	cdesc = col(hdr, nhdr, "check_desc");
	if (cpx == -1 || csv_ == -1 || cscur == -1 || cqcur == -1 ||
	    cst == -1) {
		errbuf_set(eb, EK_PROTO, "HAProxy 'show stat': the header has "
		    "no pxname, svname, scur, qcur or status column");
		goto out;
	}
	while (*next != '\0') {
		line = next;
		next += strcspn(next, "\n");
		if (*next != '\0')
			*next++ = '\0';
		if (line[0] == '\0')
			continue;
		nf = csv_split(line, f, nitems(f));
		if ((size_t)cpx >= nf || (size_t)csv_ >= nf ||
		    strcmp(f[cpx], backend) != 0 ||
		    strcmp(f[csv_], server) != 0)
			continue;
		if (nf < nhdr - 1 || (size_t)cst >= nf ||
		    (size_t)cscur >= nf || (size_t)cqcur >= nf) {
			errbuf_set(eb, EK_PROTO, "HAProxy 'show stat': the row "
			    "of '%s/%s' has %zu fields, the header %zu",
			    backend, server, nf, nhdr);
			goto out;
		}
		memset(&hs, 0, sizeof(hs));
		if (f[cst][0] == '\0' || strlcpy(hs.status, f[cst],
		    sizeof(hs.status)) >= sizeof(hs.status)) {
			errbuf_set(eb, EK_PROTO, "HAProxy 'show stat': '%s/%s' "
			    "has no usable status", backend, server);
			goto out;
		}
		if (parse_u64(f[cscur], 0, ULONG_MAX, &v) == -1) {
			errbuf_set(eb, EK_PROTO, "HAProxy 'show stat': '%s/%s' "
			    "scur '%s' is not a number", backend, server,
			    quote_str(f[cscur], shown, sizeof(shown)));
			goto out;
		}
		hs.scur = (unsigned long)v;
		/* A backend without a queue leaves qcur empty. */
		if (f[cqcur][0] != '\0' && parse_u64(f[cqcur], 0, ULONG_MAX,
		    &v) == -1) {
			errbuf_set(eb, EK_PROTO, "HAProxy 'show stat': '%s/%s' "
			    "qcur '%s' is not a number", backend, server,
			    quote_str(f[cqcur], shown, sizeof(shown)));
			goto out;
		}
		hs.qcur = f[cqcur][0] != '\0' ? (unsigned long)v : 0;
		if (cchk != -1 && (size_t)cchk < nf)
			(void)strlcpy(hs.check, f[cchk], sizeof(hs.check));
		if (cdesc != -1 && (size_t)cdesc < nf)
			(void)strlcpy(hs.check_desc, f[cdesc],
			    sizeof(hs.check_desc));
		*ret = hs;
		rv = 0;
		goto out;
	}
	errbuf_set(eb, EK_NOINPUT, "HAProxy has no server '%s' in backend "
	    "'%s'", server, backend);
 out:
	free(copy);
	return rv;
}

int
haproxy_server_stat(const char *addr, const char *backend,
    const char *server, unsigned timeout_ms, struct haproxy_server *ret,
    struct errbuf *eb)
{
	char	*cmd, *reply = NULL;
	int	 rv;

	if (!haproxy_name_ok(backend) || !haproxy_name_ok(server))
		return errbuf_set(eb, EK_USAGE, "HAProxy server '%s/%s': not "
		    "a usable name", backend != NULL ? backend : "",
		    server != NULL ? server : "");
	/* Type 4: servers only; -1: all of them. */
	cmd = xasprintf("show stat %s 4 -1", backend);
	rv = haproxy_command(addr, cmd, timeout_ms, &reply, eb);
	if (rv == 0)
		rv = haproxy_parse_stat(reply, backend, server, ret, eb);
	if (rv == -1 && eb->kind == EK_PROTO)
		errbuf_prefix(eb, "'%s': ", addr);
	free(cmd);
	free(reply);
	return rv;
}

bool
haproxy_server_up(const struct haproxy_server *hs)
{
	return strcmp(hs->status, "UP") == 0 ||
	    strcmp(hs->status, "no check") == 0;
}
