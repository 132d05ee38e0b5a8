/* SPDX-License-Identifier: ISC */
/*
 * drive.c: exactly one process drives a deployment.
 *
 * The driver holds a lease, deployments/APP/GROUP/ID/lease.json
 * ({"holder", "host", "pid", "token", "expires_at"}), taken with a
 * conditional write (only if absent, or only if it still has the ETag
 * read: of two takers exactly one wins) and renewed every third of
 * DEPLOYER_LEASE_SEC while it drives.  A lease is taken over only when
 * it has expired, or when its holder is a process of this host that is
 * gone (kill -9, a crash: no need to wait for the expiry).  A driver
 * whose renewal finds another token stops driving at once.
 *
 * `deployer stop` writes deployments/.../ID/stop.json ({"by", "at",
 * "rollback"}); the driver reads it before each batch and while it
 * waits: no batch is sent after it, the instances of the batch already
 * sent finish (a host is never cut mid-deployment), and the deployment
 * ends Stopped (then rolled back when asked).
 *
 * SIGINT/SIGTERM: on a terminal, "stop the rollout? [y/N]"; y stops it
 * as `deployer stop` would; otherwise (or N) the driver releases its
 * lease, prints what it leaves (batches not sent, the resume and stop
 * commands) and the command exits DEPLOYER_EXIT_LEFT.
 *
 * --no-wait forks a detached driver (setsid, its output in
 * $XDG_CACHE_HOME/hookd/deployer/ID.log or ~/.cache/..., else TMPDIR)
 * and returns once it holds the lease.
 */
#include "compat.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "caps.h"
#include "config.h"
#include "deployer.h"
#include "errbuf.h"
#include "http.h"
#include "store.h"
#include "xalloc.h"

#include "banned.h"

static volatile sig_atomic_t	 got_int;
static bool			 asked;	/* drive_asked() */

static struct lease {
	struct dctx	*c;
	char		*key;
	char		 etag[STORE_ETAG_MAX];
	char		 token[DEPLOYMENT_ID_LEN + 1];
	time_t		 renewed;
	bool		 held;
	char		*stopkey;
	time_t		 stop_checked;
} L;

static void
on_int(int sig)
{
	(void)sig;
	got_int = 1;
}

/* deployments/APP/GROUP/ID/NAME: a new string. */
static char *
dep_key(const struct deployment *d, const char *name)
{
	return xasprintf("deployments/%s/%s/%s/%s", d->application, d->group,
	    d->id, name);
}

/* Whether pid is a live process of this host. */
static bool
pid_alive(long pid)
{
	return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

/*
 * Read a lease document: 1 (*ret new), 0 absent, -1 with eb.
 */
static int
lease_get(struct dctx *c, const char *key, json_t **ret,
    char etag[STORE_ETAG_MAX], struct errbuf *eb)
{
	char	*data = NULL;
	size_t	 len;

	if (store_get(c->store, key, STORE_OBJECT_MAX, &data, &len, etag,
	    eb) == -1)
		return eb->kind == EK_NOINPUT ? 0 : -1;
	*ret = json_loadb(data, len, 0, NULL);
	free(data);
	if (*ret != NULL && !json_is_object(*ret)) {
		json_decref(*ret);
		*ret = NULL;
	}
	if (*ret == NULL)
		*ret = json_object();	/* unreadable: an expired lease */
	return 1;
}

/* Whether a lease document still binds (not expired, holder alive). */
static bool
lease_live(json_t *o)
{
	char		 me[256];
	const char	*host;
	time_t		 exp;

	exp = ts_parse(json_string_value(json_object_get(o, "expires_at")));
	if (exp == 0 || time(NULL) >= exp)
		return false;
	deployer_host(me);
	host = json_string_value(json_object_get(o, "host"));
	if (host != NULL && strcmp(host, me) == 0 &&
	    !pid_alive((long)json_integer_value(json_object_get(o, "pid"))))
		return false;
	return true;
}

int
driver_describe(struct dctx *c, const struct deployment *d, char *buf,
    size_t bufsz)
{
	struct errbuf	 eb = { 0 };
	json_t		*o = NULL;
	char		*key;
	int		 r, live = 0;

	key = dep_key(d, "lease.json");
	r = lease_get(c, key, &o, NULL, &eb);
	free(key);
	if (r == 1 && lease_live(o)) {
		live = 1;
		(void)snprintf(buf, bufsz, "driven by %s (pid %lld on %s, "
		    "lease until %s)", json_string_value(json_object_get(o,
		    "holder")) != NULL ? json_string_value(json_object_get(o,
		    "holder")) : "?", (long long)json_integer_value(
		    json_object_get(o, "pid")), json_string_value(
		    json_object_get(o, "host")) != NULL ? json_string_value(
		    json_object_get(o, "host")) : "?", json_string_value(
		    json_object_get(o, "expires_at")) != NULL ?
		    json_string_value(json_object_get(o, "expires_at")) : "?");
	} else
		(void)snprintf(buf, bufsz, "%s", r == -1 ? eb.msg :
		    "no driver: the deployer that drove it stopped");
	if (o != NULL)
		json_decref(o);
	return r == -1 ? -1 : live;
}

static char *
lease_text(struct dctx *c)
{
	json_t	*o;
	char	 me[256], exp[32], *who, *text;

	deployer_host(me);
	who = who_am_i();
	ts_format(time(NULL) + DEPLOYER_LEASE_SEC, exp);
	o = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s}", "schema",
	    "hookd.lease/1", "holder", who, "host", me, "pid",
	    (json_int_t)getpid(), "token", L.token, "expires_at", exp);
	free(who);
	(void)c;
	if (o == NULL)
		abort();
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	if (text == NULL)
		abort();
	return text;
}

int
lease_take(struct dctx *c, const struct deployment *d, struct errbuf *eb)
{
	json_t	*o = NULL;
	char	 etag[STORE_ETAG_MAX] = "", what[512], *text, *key;
	int	 r;

	key = dep_key(d, "lease.json");
	r = L.held && strcmp(L.key, key) == 0;
	free(key);
	if (r)
		return 0;	/* ours already (deployment_create took it) */
	lease_drop();		/* the deployment this one rolls back */
	free(L.key);
	free(L.stopkey);
	memset(&L, 0, sizeof(L));
	L.c = c;
	L.key = dep_key(d, "lease.json");
	L.stopkey = dep_key(d, "stop.json");
	if (deployment_id_new(L.token, eb) == -1)
		return -1;
	if ((r = lease_get(c, L.key, &o, etag, eb)) == -1)
		return -1;
	if (r == 1 && lease_live(o)) {
		json_decref(o);
		(void)driver_describe(c, d, what, sizeof(what));
		return errbuf_set(eb, EK_TEMP, "deployment %s is %s; watch it "
		    "with 'deployer status %s --watch' or stop it with "
		    "'deployer stop %s'", d->id, what, d->id, d->id);
	}
	if (o != NULL)
		json_decref(o);
	text = lease_text(c);
	r = store_put_if(c->store, L.key, text, strlen(text), r == 1 ?
	    etag : STORE_IF_NONE_MATCH, L.etag, eb);
	free(text);
	if (r == -1)
		return -1;
	if (r == STORE_CONFLICT)
		return errbuf_set(eb, EK_TEMP, "deployment %s: another "
		    "deployer took its lease just now; watch it with "
		    "'deployer status %s --watch'", d->id, d->id);
	L.held = true;
	L.renewed = time(NULL);
	return 0;
}

/* Renew when a third of the lease has passed; -1: lost (eb says). */
static int
lease_renew(const struct deployment *d, struct errbuf *eb)
{
	char	*text;
	int	 r;

	if (!L.held || time(NULL) - L.renewed < DEPLOYER_LEASE_SEC / 3)
		return 0;
	text = lease_text(L.c);
	r = store_put_if(L.c->store, L.key, text, strlen(text), L.etag,
	    L.etag, eb);
	free(text);
	if (r == STORE_CONFLICT) {
		L.held = false;
		return errbuf_set(eb, EK_TEMP, "deployment %s: another "
		    "deployer took over its lease; this one stops driving it",
		    d->id);
	}
	if (r == 0)
		L.renewed = time(NULL);
	/* A store error: try again at the next poll; the lease lasts. */
	return 0;
}

void
lease_drop(void)
{
	struct errbuf	 eb = { 0 };

	if (L.held && L.c != NULL)
		(void)store_delete(L.c->store, L.key, &eb);
	L.held = false;
}

int
stop_request(struct dctx *c, const struct deployment *d, bool rollback,
    struct errbuf *eb)
{
	json_t	*o;
	char	 now[32], *who, *key, *text;
	int	 r;

	ts_now(now);
	who = who_am_i();
	o = json_pack("{s:s, s:s, s:b}", "by", who, "at", now, "rollback",
	    rollback);
	free(who);
	if (o == NULL)
		abort();
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	key = dep_key(d, "stop.json");
	r = store_put(c->store, key, text, strlen(text), NULL, eb);
	free(key);
	free(text);
	return r;
}

/*
 * Whether a stop was asked for d: 1 with d->stopped_by set (and
 * *ret_rollback), 0, -1 on a store error.
 */
static int
stop_read(struct dctx *c, struct deployment *d, bool *ret_rollback,
    struct errbuf *eb)
{
	json_t		*o = NULL;
	const char	*by;
	char		*key;
	int		 r;

	key = dep_key(d, "stop.json");
	r = lease_get(c, key, &o, NULL, eb);
	free(key);
	if (r != 1)
		return r;
	by = json_string_value(json_object_get(o, "by"));
	free(d->stopped_by);
	d->stopped_by = xasprintf("%s at %s", by != NULL ? by : "?",
	    json_string_value(json_object_get(o, "at")) != NULL ?
	    json_string_value(json_object_get(o, "at")) : "?");
	*ret_rollback = json_is_true(json_object_get(o, "rollback"));
	json_decref(o);
	return 1;
}

/* Ask on the terminal; true: stop the rollout. */
static bool
ask_stop(void)
{
	char	 line[32];

	if (isatty(STDIN_FILENO) != 1 || isatty(STDOUT_FILENO) != 1)
		return false;
	got_int = 0;
	asked = true;
	printf("\nstop the rollout? (instances deploying now finish) [y/N] ");
	fflush(stdout);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return false;
	return line[0] == 'y' || line[0] == 'Y';
}

bool
drive_asked(void)
{
	bool	 r = asked;

	asked = false;
	return r;
}

int
drive_tick(struct dctx *c, struct deployment *d, struct errbuf *eb)
{
	bool	 rb = false;
	int	 r;

	if (got_int) {
		got_int = 0;
		if (!ask_stop())
			return DRIVE_LEAVE;
		if (stop_request(c, d, false, eb) == -1)
			return -1;
	}
	if (lease_renew(d, eb) == -1)
		return DRIVE_LOST;
	if (d->stopped_by != NULL)
		return DRIVE_STOP;
	if (time(NULL) - L.stop_checked < 1)
		return 0;
	L.stop_checked = time(NULL);
	/* A store that fails now is asked again at the next poll. */
	if ((r = stop_read(c, d, &rb, eb)) == -1)
		return 0;
	if (r == 1)
		return rb ? DRIVE_STOP_ROLLBACK : DRIVE_STOP;
	return 0;
}

/* What a driver that leaves prints. */
static void
print_left(const struct deployment *d)
{
	size_t	 left = 0;

	for (size_t b = 0; b < d->nbatches; b++)
		if (d->batch_sent[b] == 0)
			left++;
	printf("interrupted: deployment %s stays in progress with no driver; "
	    "%zu of %zu batch%s not sent; continue it with 'deployer resume "
	    "%s' or stop it with 'deployer stop %s [--rollback]'\n", d->id,
	    left, d->nbatches, d->nbatches == 1 ? "" : "es", d->id, d->id);
	fflush(stdout);
}

/* Where a detached driver writes; a new string. */
static char *
driver_log(const struct deployment *d)
{
	return detached_log(d->id);
}

char *
detached_log(const char *name)
{
	const char	*base, *home, *tmp;
	char		*dir, *p;

	base = secure_getenv("XDG_CACHE_HOME");
	home = secure_getenv("HOME");
	if (base != NULL && *base == '/')
		dir = xasprintf("%s/hookd", base);
	else if (home != NULL && *home == '/') {
		/* A new account has no ~/.cache yet: make it, as XDG says. */
		p = xasprintf("%s/.cache", home);
		(void)mkdir(p, 0700);
		free(p);
		dir = xasprintf("%s/.cache/hookd", home);
	} else
		dir = NULL;
	if (dir != NULL) {
		p = xasprintf("%s/deployer", dir);
		(void)mkdir(dir, 0700);
		(void)mkdir(p, 0700);
		free(dir);
		dir = p;
		if (access(dir, W_OK) == 0) {
			p = xasprintf("%s/%s.log", dir, name);
			free(dir);
			return p;
		}
		free(dir);
	}
	tmp = secure_getenv("TMPDIR");
	return xasprintf("%s/deployer-%s.log", tmp != NULL && *tmp == '/' ?
	    tmp : "/tmp", name);
}

int
detach(const char *log, int *ret_fd, struct errbuf *eb)
{
	pid_t	pid;
	int	p[2], fd, st;

	if (pipe(p) == -1)
		return errbuf_errno(eb, EK_OS, "pipe");
	fflush(NULL);
	if ((pid = fork()) == -1) {
		(void)close(p[0]);
		(void)close(p[1]);
		return errbuf_errno(eb, EK_OS, "fork");
	}
	if (pid != 0) {
		(void)close(p[1]);
		(void)waitpid(pid, &st, 0);
		*ret_fd = p[0];
		return 1;
	}
	(void)close(p[0]);
	(void)setsid();
	if ((pid = fork()) != 0)
		_exit(pid == -1 ? 71 : 0);
	/* The parent's connections are its own (TLS state). */
	http_fresh_connections();
	if ((fd = open("/dev/null", O_RDONLY)) != -1) {
		(void)dup2(fd, STDIN_FILENO);
		(void)close(fd);
	}
	if ((fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600)) == -1) {
		(void)write_full(p[1], "cannot open the log", 19);
		_exit(74);
	}
	(void)dup2(fd, STDOUT_FILENO);
	(void)dup2(fd, STDERR_FILENO);
	(void)close(fd);
	*ret_fd = p[1];
	return 0;
}

void
detach_ok(int fd)
{
	char	buf[32];

	(void)snprintf(buf, sizeof(buf), "OK %ld", (long)getpid());
	(void)write_full(fd, buf, strlen(buf));
	(void)close(fd);
}

long
detach_started(int fd, char *buf, size_t bufsz)
{
	ssize_t	n;

	n = read(fd, buf, bufsz - 1);
	(void)close(fd);
	buf[n > 0 ? n : 0] = '\0';
	if (strncmp(buf, "OK ", 3) != 0)
		return 0;
	return strtol(buf + 3, NULL, 10);
}

/* Drive in this process: rollout, rollback.  0, 1, -1, DRIVE_LEAVE. */
static int
drive_here(struct dctx *c, const struct deployer_group *g,
    struct deployment *d, struct errbuf *eb)
{
	struct sigaction	 sa, oint, oterm;
	bool			 stopped;
	int			 r;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_int;
	(void)sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGINT, &sa, &oint);
	(void)sigaction(SIGTERM, &sa, &oterm);
	if (g->strategy == STRATEGY_BLUE_GREEN)
		r = bluegreen_run(c, g, d, eb);
	else
		r = rollout_run(c, g, d, eb);
	if (r == DRIVE_LOST) {
		/* eb: another deployer took over; it drives on. */
		r = -1;
		goto out;
	}
	stopped = d->status != NULL && strcmp(d->status, "Stopped") == 0;
	if (r == DRIVE_LEAVE) {
		lease_drop();
		print_left(d);
		errbuf_set(eb, EK_TEMP, "deployment %s left without a driver",
		    d->id);
		goto out;
	}
	if (r == 1 && g->strategy == STRATEGY_BLUE_GREEN) {
		/* Blue still serves its revision: new instances get it. */
		struct errbuf	 e2 = { 0 };

		if (target_restore_good(c, g, d, &e2) == -1)
			printf("target.json not restored: %s\n", e2.msg);
	} else if (r == 1 && d->config_name != NULL &&
	    strstr(d->config_name, "(rollback)") != NULL)
		/* An automatic rollback is never rolled back. */
		errbuf_set(eb, EK_FAILED, "rollback %s %s", d->id, stopped ?
		    "was stopped" : "failed");
	else if (r == 1 && stopped && d->reason != NULL &&
	    (d->nbatches == 0 || d->batch_sent[0] == 0)) {
		/* A gate stopped it before anything was sent. */
		if (target_restore_good(c, g, d, eb) == -1)
			printf("target.json not restored: %s\n", eb->msg);
		errbuf_set(eb, EK_FAILED, "deployment %s was stopped by %s: "
		    "%.*s; nothing was sent", d->id, d->stopped_by,
		    dgates_reason_len(d->reason), d->reason);
	} else if (r == 1 && stopped && d->reason != NULL &&
	    (g->auto_rollback & AUTO_ROLLBACK_ALARM) == 0) {
		if (target_restore_good(c, g, d, eb) == -1)
			printf("target.json not restored: %s\n", eb->msg);
		errbuf_set(eb, EK_FAILED, "deployment %s was stopped by %s: "
		    "%.*s; not rolled back (alarm is not in auto_rollback)",
		    d->id, d->stopped_by, dgates_reason_len(d->reason),
		    d->reason);
	} else if (r == 1 && stopped && d->reason == NULL &&
	    !d->stop_rollback && (g->auto_rollback & AUTO_ROLLBACK_STOP) ==
	    0) {
		if (target_restore_good(c, g, d, eb) == -1)
			printf("target.json not restored: %s\n", eb->msg);
		errbuf_set(eb, EK_FAILED, "deployment %s was stopped by %s; "
		    "not rolled back", d->id, d->stopped_by != NULL ?
		    d->stopped_by : "?");
	} else if (r == 1)
		r = rollback_after(c, g, d, stopped, eb);
	lease_drop();
 out:
	(void)sigaction(SIGINT, &oint, NULL);
	(void)sigaction(SIGTERM, &oterm, NULL);
	return r;
}

/*
 * Fork the detached driver of d: it takes the lease, tells us through a
 * pipe, and drives with its output in a log file.  0 once it holds the
 * lease, -1 with eb.
 */
static int
drive_detached(struct dctx *c, const struct deployer_group *g,
    struct deployment *d, struct errbuf *eb)
{
	char	*log, buf[512];
	long	 dpid;
	int	 fd, r, st;

	log = driver_log(d);
	if ((r = detach(log, &fd, eb)) == -1) {
		free(log);
		return -1;
	}
	if (r == 0) {
		/* The lease the parent took becomes this process's. */
		L.renewed = 0;
		if (lease_take(c, d, eb) == -1 || lease_renew(d, eb) == -1 ||
		    L.renewed == 0) {
			if (L.renewed == 0 && eb->kind == EK_NONE)
				errbuf_set(eb, EK_UNAVAIL, "cannot renew the "
				    "lease of %s", d->id);
			(void)write_full(fd, eb->msg, strlen(eb->msg));
			_exit(75);
		}
		detach_ok(fd);
		printf("driver of deployment %s (pid %ld)\n", d->id,
		    (long)getpid());
		fflush(stdout);
		st = drive_here(c, g, d, eb);
		if (st == -1 || st == 1)
			printf("deployer: %s\n", eb->msg);
		printf("driver of deployment %s: done, status %s\n", d->id,
		    d->status != NULL ? d->status : "?");
		fflush(stdout);
		_exit(st == 0 ? 0 : st == 1 ? 1 : 75);
	}
	if ((dpid = detach_started(fd, buf, sizeof(buf))) <= 0) {
		errbuf_set(eb, EK_OS, "the detached driver of %s did not "
		    "start%s%s (log: '%s')", d->id, buf[0] != '\0' ? ": " : "",
		    buf, log);
		free(log);
		return -1;
	}
	printf("deployment %s is rolled out by a detached driver (pid %ld, "
	    "log '%s'); follow it with 'deployer status %s --watch', stop it "
	    "with 'deployer stop %s'\n", d->id, dpid, log, d->id, d->id);
	fflush(stdout);
	free(log);
	return 0;
}

int
drive(struct dctx *c, const struct deployer_group *g, struct deployment *d,
    const struct deploy_opts *o, struct errbuf *eb)
{
	int	 r;

	if (o != NULL && o->nowait && d->nbatches > 0)
		return drive_detached(c, g, d, eb);
	if (lease_take(c, d, eb) == -1)
		return -1;
	r = drive_here(c, g, d, eb);
	return r;
}
