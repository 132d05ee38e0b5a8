/* SPDX-License-Identifier: ISC */
/*
 * haproxy.h: a client of HAProxy's runtime API (the "stats socket" of
 * haproxy.cfg, at "level admin" for set server).  One command per
 * connection, in HAProxy's non-interactive mode: connect, write the
 * command and a newline, read the reply until HAProxy closes.  Every
 * step has one deadline.  A reply the client does not understand is an
 * error (EK_PROTO), never guessed at.
 *
 * The address is a unix socket path, or "tcp:HOST:PORT".
 */
#ifndef HOOKD_HAPROXY_H
#define HOOKD_HAPROXY_H

#include <stdbool.h>

#include "compat.h"

struct errbuf;

#define HAPROXY_REPLY_MAX	(4 * 1024 * 1024)	/* bytes of a reply */
#define HAPROXY_TIMEOUT_MS	5000			/* one command */
#define HAPROXY_NAME_MAX	127			/* backend, server */

/* One server as "show stat" reports it. */
struct haproxy_server {
	char		 status[32];	/* "UP", "DOWN", "DRAIN", "MAINT",
					   "UP 1/3", "no check", ... */
	char		 check[32];	/* check_status: "L7OK", "L4CON" */
	char		 check_desc[128]; /* HAProxy's words on the check */
	unsigned long	 scur;		/* current sessions */
	unsigned long	 qcur;		/* queued requests */
};

/*
 * Whether a backend or server name can be sent: 1 to HAPROXY_NAME_MAX
 * bytes, none of them space, control, ';' or '/' (the runtime API
 * splits commands at ';' and a name at '/').
 */
bool	haproxy_name_ok(const char *);

/*
 * Send one command (no newline in it) to the runtime API at 'addr' and
 * read the whole reply into *ret_reply (new string).  Blocks up to
 * timeout_ms (0: HAPROXY_TIMEOUT_MS) in all.  Returns 0, or -1 with eb
 * set: EK_UNAVAIL (cannot connect), EK_TEMP (timed out), EK_PROTO (reply
 * over HAPROXY_REPLY_MAX), EK_USAGE (bad address or command), EK_OS.
 */
int	haproxy_command(const char *addr, const char *cmd, unsigned timeout_ms,
	    char **ret_reply, struct errbuf *);

/*
 * "set server BACKEND/SERVER state STATE" with STATE "ready", "drain" or
 * "maint".  HAProxy answers an empty line on success; any other reply
 * is the error it gives ("No such server.", "Permission denied": the
 * socket needs "level admin").  Returns 0 or -1 with eb set (EK_PERM,
 * EK_NOINPUT for an unknown backend or server, EK_PROTO, and those of
 * haproxy_command()).
 */
int	haproxy_set_state(const char *addr, const char *backend,
	    const char *server, const char *state, unsigned timeout_ms,
	    struct errbuf *);

/*
 * The server's row of "show stat": status, check, current sessions and
 * queue.  Returns 0 with *ret filled, or -1 with eb set (EK_NOINPUT: no
 * such server in that backend; EK_PROTO: not a stat CSV; and those of
 * haproxy_command()).
 */
int	haproxy_server_stat(const char *addr, const char *backend,
	    const char *server, unsigned timeout_ms,
	    struct haproxy_server *ret, struct errbuf *);

/*
 * The parser under haproxy_server_stat(), on a "show stat" reply
 * (borrowed).  Same returns, without the I/O.
 */
int	haproxy_parse_stat(const char *csv, const char *backend,
	    const char *server, struct haproxy_server *ret, struct errbuf *);

/*
 * Whether the server takes traffic and its check passes: status "UP"
 * (not "UP 1/3", which is going down) or "no check".
 */
bool	haproxy_server_up(const struct haproxy_server *);

#endif /* HOOKD_HAPROXY_H */
