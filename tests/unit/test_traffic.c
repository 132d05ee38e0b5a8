/* SPDX-License-Identifier: ISC */
/*
 * test_traffic: BlockTraffic and AllowTraffic (lib/traffic.c) against a
 * scripted HAProxy runtime API peer (a child process on a unix socket):
 * what is sent, when a wait ends, what a failure says.  The ELB side is
 * driven end to end by tests/integration/test_traffic_elb.py.
 */
#include "compat.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "errbuf.h"
#include "traffic.h"

static char	 dir[] = "/tmp/test_traffic.XXXXXX";
static char	 sock[256];
static char	 backend[] = "web";
static char	 tgname[] = "web";

#define HDR	"# pxname,svname,qcur,qmax,scur,status,check_status," \
		"check_desc,\n"
#define ROW(scur, st, chk, desc) \
	HDR "web,i-1,0,0," #scur "," st "," chk "," desc ",\n\n"

/* One answer of the peer: to a command starting with 'cmd'. */
struct step {
	const char	*cmd;
	const char	*reply;
};

static int
setup(void **state)
{
	if (mkdtemp(dir) == NULL)
		return -1;
	(void)snprintf(sock, sizeof(sock), "%s/admin.sock", dir);
	return 0;
}

static int
teardown(void **state)
{
	(void)unlink(sock);
	return rmdir(dir);
}

/*
 * The peer answers steps in order, one connection each; the last step
 * answers every later connection.  A command that does not match exits
 * 12 (the test sees it in peer_done()).
 */
static pid_t
peer(const struct step *steps, size_t n)
{
	struct sockaddr_un	 sun;
	char			 line[512];
	size_t			 i = 0, len;
	ssize_t			 r;
	pid_t			 pid;
	int			 lfd, c;

	(void)unlink(sock);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_not_equal(lfd, -1);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	(void)strlcpy(sun.sun_path, sock, sizeof(sun.sun_path));
	assert_int_equal(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(lfd, 8), 0);
	pid = fork();
	assert_int_not_equal(pid, -1);
	if (pid != 0) {
		close(lfd);
		return pid;
	}
	for (;;) {
		if ((c = accept(lfd, NULL, NULL)) == -1)
			_exit(10);
		len = 0;
		while (len < sizeof(line) - 1 && (len == 0 ||
		    line[len - 1] != '\n')) {
			r = read(c, line + len, sizeof(line) - 1 - len);
			if (r <= 0)
				_exit(11);
			len += (size_t)r;
		}
		line[len] = '\0';
		if (strncmp(line, steps[i].cmd, strlen(steps[i].cmd)) != 0) {
			fprintf(stderr, "peer: step %zu: got '%s', expected "
			    "'%s'\n", i, line, steps[i].cmd);
			_exit(12);
		}
		if (write_full(c, steps[i].reply,
		    strlen(steps[i].reply)) == -1)
			_exit(14);
		close(c);
		if (i + 1 < n)
			i++;
	}
}

static void
peer_done(pid_t pid)
{
	int	 st;

	/* Still serving its last step: alive, then killed. */
	assert_int_equal(waitpid(pid, &st, WNOHANG), 0);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &st, 0), pid);
}

struct polls {
	char	 last[256];
	int	 n;
	int	 done;
};

static void
on_poll(void *arg, const struct traffic_poll *tp)
{
	struct polls	*p = arg;

	p->n++;
	p->done += tp->done;
	(void)snprintf(p->last, sizeof(p->last), "%s: %s: %s (%s)",
	    tp->step, tp->lb, tp->state, tp->reason);
}

static void
make(struct traffic *t, struct config_traffic *ct, struct polls *p)
{
	struct errbuf	 eb = { 0 };

	memset(ct, 0, sizeof(*ct));
	ct->enabled = true;
	ct->haproxy_socket = sock;
	ct->haproxy_backend = backend;
	traffic_init(t);
	assert_int_equal(traffic_setup(t, ct, NULL, "i-1", NULL, &eb), 0);
	t->on_poll = on_poll;
	t->arg = p;
}

static void
block_drains_then_waits_until_no_session_is_left(void **state)
{
	static const struct step steps[] = {
		{ "set server web/i-1 state drain\n", "\n" },
		{ "show stat web 4 -1\n", ROW(3, "DRAIN", "L7OK", "ok") },
		{ "show stat web 4 -1\n", ROW(1, "DRAIN", "L7OK", "ok") },
		{ "show stat web 4 -1\n", ROW(0, "DRAIN", "L7OK", "ok") },
	};
	struct config_traffic	 ct;
	struct traffic		 t;
	struct polls		 p = { 0 };
	struct errbuf		 eb = { 0 };
	pid_t			 pid;

	pid = peer(steps, nitems(steps));
	make(&t, &ct, &p);
	assert_int_equal(traffic_block(&t, &eb), 0);
	/* Ended at the first poll that found no session, not later. */
	assert_int_equal(p.n, 3);
	assert_int_equal(p.done, 1);
	assert_string_equal(p.last, "draining: HAProxy web/i-1: DRAIN, 0 "
	    "sessions (check L7OK: ok)");
	peer_done(pid);
	traffic_release(&t);
}

static void
allow_readies_only_once_the_check_passes(void **state)
{
	static const struct step steps[] = {
		{ "show stat web 4 -1\n", ROW(0, "DOWN", "L4CON",
		    "Layer4 connection problem") },
		{ "show stat web 4 -1\n", ROW(0, "DRAIN", "L7OK", "ok") },
		{ "set server web/i-1 state ready\n", "\n" },
		{ "show stat web 4 -1\n", ROW(0, "UP", "L7OK", "ok") },
	};
	struct config_traffic	 ct;
	struct traffic		 t;
	struct polls		 p = { 0 };
	struct errbuf		 eb = { 0 };
	pid_t			 pid;

	pid = peer(steps, nitems(steps));
	make(&t, &ct, &p);
	assert_int_equal(traffic_allow(&t, &eb), 0);
	assert_int_equal(p.n, 2);
	assert_string_equal(p.last, "waiting for healthy: HAProxy web/i-1: "
	    "UP (check L7OK: ok)");
	peer_done(pid);
	traffic_release(&t);
}

static void
allow_past_the_deadline_names_the_state_and_reason(void **state)
{
	static const struct step steps[] = {
		{ "show stat web 4 -1\n", ROW(0, "DOWN", "L7STS",
		    "HTTP status check returned code <500>") },
	};
	struct config_traffic	 ct;
	struct traffic		 t;
	struct polls		 p = { 0 };
	struct errbuf		 eb = { 0 };
	pid_t			 pid;

	pid = peer(steps, nitems(steps));
	make(&t, &ct, &p);
	t.healthy_timeout = 1;
	assert_int_equal(traffic_allow(&t, &eb), -1);
	assert_int_equal(eb.kind, EK_TEMP);
	assert_string_equal(eb.msg, "AllowTraffic: HAProxy web/i-1: still "
	    "DOWN after 1 s (check L7STS: HTTP status check returned code "
	    "<500>)");
	/* Polled with backoff (to every 100 ms): not hundreds of times. */
	assert_true(p.n >= 3 && p.n <= 20);
	/* Never readied (the peer would have exited 12 on "set server"). */
	peer_done(pid);
	traffic_release(&t);
}

static void
a_refusal_fails_at_once_naming_the_server(void **state)
{
	static const struct step steps[] = {
		{ "set server web/i-1 state drain\n", "No such server.\n\n" },
	};
	struct config_traffic	 ct;
	struct traffic		 t;
	struct polls		 p = { 0 };
	struct errbuf		 eb = { 0 };
	pid_t			 pid;

	pid = peer(steps, nitems(steps));
	make(&t, &ct, &p);
	assert_int_equal(traffic_block(&t, &eb), -1);
	assert_int_equal(eb.kind, EK_NOINPUT);
	assert_non_null(strstr(eb.msg, "HAProxy web/i-1: deregistering i-1: "
	    "HAProxy server 'web/i-1': No such server."));
	assert_int_equal(p.n, 0);
	peer_done(pid);
	traffic_release(&t);
}

static void
setup_refuses_an_elb_without_aws(void **state)
{
	struct config_traffic	 ct;
	struct traffic		 t;
	struct errbuf		 eb = { 0 };
	char			*tg[] = { tgname };

	memset(&ct, 0, sizeof(ct));
	ct.enabled = true;
	ct.target_groups = tg;
	ct.ntarget_groups = 1;
	traffic_init(&t);
	assert_int_equal(traffic_setup(&t, &ct, NULL, "i-1", NULL, &eb), -1);
	assert_int_equal(eb.kind, EK_CONFIG);
	traffic_release(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    block_drains_then_waits_until_no_session_is_left),
		cmocka_unit_test(allow_readies_only_once_the_check_passes),
		cmocka_unit_test(
		    allow_past_the_deadline_names_the_state_and_reason),
		cmocka_unit_test(a_refusal_fails_at_once_naming_the_server),
		cmocka_unit_test(setup_refuses_an_elb_without_aws),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
