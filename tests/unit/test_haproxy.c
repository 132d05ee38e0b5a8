/* SPDX-License-Identifier: ISC */
/*
 * test_haproxy: the runtime API client against a scripted peer (a child
 * process on a unix socket or loopback TCP that expects each command
 * and answers what HAProxy 2.6 answers), and the "show stat" parser on
 * a reply recorded from haproxy 2.6.
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "errbuf.h"
#include "haproxy.h"
#include "loopback.h"
#include "slurp.h"

static char	 dir[] = "/tmp/test_haproxy.XXXXXX";
static char	 sock[256];

/* One exchange of the scripted peer. */
struct step {
	const char	*expect;	/* the command line, with its '\n' */
	const char	*reply;		/* NULL: never answer (hang) */
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

static int
unix_listen(void)
{
	struct sockaddr_un	 sun;
	int			 fd;

	(void)unlink(sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_not_equal(fd, -1);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	(void)strlcpy(sun.sun_path, sock, sizeof(sun.sun_path));
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(fd, 8), 0);
	return fd;
}

/*
 * The peer: one connection per step, like HAProxy without "prompt".
 * Exits 0 when every command was the expected one.
 */
static pid_t
peer(int lfd, const struct step *steps, size_t n)
{
	char	 line[512];
	size_t	 len;
	ssize_t	 r;
	pid_t	 pid;
	int	 c;

	pid = fork();
	assert_int_not_equal(pid, -1);
	if (pid != 0) {
		close(lfd);
		return pid;
	}
	for (size_t i = 0; i < n; i++) {
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
		if (strcmp(line, steps[i].expect) != 0) {
			fprintf(stderr, "peer: got '%s', expected '%s'\n",
			    line, steps[i].expect);
			_exit(12);
		}
		if (steps[i].reply == NULL) {
			pause();
			_exit(13);
		}
		if (write_full(c, steps[i].reply,
		    strlen(steps[i].reply)) == -1)
			_exit(14);
		close(c);
	}
	_exit(0);
}

static void
peer_done(pid_t pid)
{
	int	 st;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void
set_state_sends_one_command_and_takes_the_empty_line(void **state)
{
	static const struct step steps[] = {
		{ "set server web/web1 state drain\n", "\n" },
		{ "set server web/web1 state ready\n", "\n" },
	};
	struct errbuf	 eb = { 0 };
	pid_t		 pid;

	pid = peer(unix_listen(), steps, nitems(steps));
	assert_int_equal(haproxy_set_state(sock, "web", "web1", "drain", 0,
	    &eb), 0);
	assert_int_equal(haproxy_set_state(sock, "web", "web1", "ready", 0,
	    &eb), 0);
	peer_done(pid);
}

static void
set_state_names_haproxy_refusals(void **state)
{
	static const struct step steps[] = {
		{ "set server web/nope state drain\n",
		    "No such server.\n\n" },
		{ "set server web/web1 state drain\n",
		    "Permission denied\n\n" },
		{ "set server web/web1 state drain\n", "OK, done\n" },
		{ "set server web/web1 state drain\n", "" },
	};
	struct errbuf	 eb = { 0 };
	pid_t		 pid;

	pid = peer(unix_listen(), steps, nitems(steps));
	assert_int_equal(haproxy_set_state(sock, "web", "nope", "drain", 0,
	    &eb), -1);
	assert_int_equal(eb.kind, EK_NOINPUT);
	assert_non_null(strstr(eb.msg, "'web/nope'"));
	assert_non_null(strstr(eb.msg, "No such server."));
	assert_int_equal(haproxy_set_state(sock, "web", "web1", "drain", 0,
	    &eb), -1);
	assert_int_equal(eb.kind, EK_PERM);
	assert_non_null(strstr(eb.msg, "level admin"));
	/* A reply it does not understand is refused, and quoted. */
	assert_int_equal(haproxy_set_state(sock, "web", "web1", "drain", 0,
	    &eb), -1);
	assert_int_equal(eb.kind, EK_PROTO);
	assert_non_null(strstr(eb.msg, "unexpected reply 'OK, done'"));
	/* So is no reply at all. */
	assert_int_equal(haproxy_set_state(sock, "web", "web1", "drain", 0,
	    &eb), -1);
	assert_int_equal(eb.kind, EK_PROTO);
	peer_done(pid);
}

static void
names_that_would_be_two_commands_are_never_sent(void **state)
{
	struct errbuf	 eb = { 0 };

	/* No peer listens: the name is refused before any connection. */
	assert_int_equal(haproxy_set_state(sock, "web", "web1;shutdown "
	    "sessions", "drain", 0, &eb), -1);
	assert_int_equal(eb.kind, EK_USAGE);
	assert_int_equal(haproxy_set_state(sock, "web/x", "web1", "drain",
	    0, &eb), -1);
	assert_int_equal(haproxy_server_stat(sock, "", "web1", 0, NULL,
	    &eb), -1);
	assert_int_equal(eb.kind, EK_USAGE);
	assert_false(haproxy_name_ok("a b"));
	assert_false(haproxy_name_ok("a\nb"));
	assert_true(haproxy_name_ok("i-0abc123.web_1"));
	assert_int_equal(haproxy_command(sock, "show info\nshutdown", 0,
	    &(char *){ NULL }, &eb), -1);
	assert_int_equal(eb.kind, EK_USAGE);
}

static void
a_missing_socket_is_unavailable_and_named(void **state)
{
	struct errbuf	 eb = { 0 };
	char		*reply = NULL;

	(void)unlink(sock);
	assert_int_equal(haproxy_command(sock, "show info", 0, &reply, &eb),
	    -1);
	assert_int_equal(eb.kind, EK_UNAVAIL);
	assert_non_null(strstr(eb.msg, sock));
	assert_int_equal(haproxy_command("tcp:127.0.0.1", "show info", 0,
	    &reply, &eb), -1);
	assert_int_equal(eb.kind, EK_USAGE);
	assert_null(reply);
}

static void
a_peer_that_never_answers_times_out(void **state)
{
	static const struct step steps[] = {
		{ "show stat web 4 -1\n", NULL },
	};
	struct haproxy_server	 hs;
	struct errbuf		 eb = { 0 };
	struct timespec		 t0;
	double			 secs;
	pid_t			 pid;

	pid = peer(unix_listen(), steps, nitems(steps));
	mono_now(&t0);
	assert_int_equal(haproxy_server_stat(sock, "web", "web1", 300, &hs,
	    &eb), -1);
	secs = (double)mono_ms_since(&t0) / 1e3;
	assert_int_equal(eb.kind, EK_TEMP);
	assert_non_null(strstr(eb.msg, "timed out"));
	assert_true(secs >= 0.29 && secs < 2.0);
	kill(pid, SIGKILL);
	(void)waitpid(pid, NULL, 0);
}

static void
server_stat_reads_the_row_over_tcp(void **state)
{
	struct step		 steps[2];
	struct haproxy_server	 hs;
	struct errbuf		 eb = { 0 };
	char			*csv, addr[64];
	pid_t			 pid;
	int			 port, lfd;

	csv = slurp(FIXTURES "/haproxy/show-stat-2.6.csv", NULL);
	assert_non_null(csv);
	steps[0].expect = "show stat web 4 -1\n";
	steps[0].reply = csv;
	steps[1].expect = "show stat web 4 -1\n";
	steps[1].reply = "No such proxy.\n\n";
	lfd = loopback_listen(&port);
	(void)snprintf(addr, sizeof(addr), "tcp:127.0.0.1:%d", port);
	pid = peer(lfd, steps, nitems(steps));
	assert_int_equal(haproxy_server_stat(addr, "web", "web1", 0, &hs,
	    &eb), 0);
	assert_string_equal(hs.status, "DOWN");
	assert_string_equal(hs.check, "L4CON");
	assert_string_equal(hs.check_desc, "Layer4 connection problem");
	assert_int_equal(hs.scur, 0);
	assert_false(haproxy_server_up(&hs));
	assert_int_equal(haproxy_server_stat(addr, "web", "web1", 0, &hs,
	    &eb), -1);
	assert_int_equal(eb.kind, EK_NOINPUT);
	assert_non_null(strstr(eb.msg, "No such proxy."));
	peer_done(pid);
	free(csv);
}

static void
parse_stat_finds_the_server_or_says_it_is_not_there(void **state)
{
	struct haproxy_server	 hs;
	struct errbuf		 eb = { 0 };
	char			*csv;

	csv = slurp(FIXTURES "/haproxy/show-stat-2.6.csv", NULL);
	assert_non_null(csv);
	assert_int_equal(haproxy_parse_stat(csv, "web", "web2", &hs, &eb), 0);
	assert_string_equal(hs.status, "no check");
	assert_true(haproxy_server_up(&hs));
	assert_int_equal(haproxy_parse_stat(csv, "web", "web3", &hs, &eb),
	    -1);
	assert_int_equal(eb.kind, EK_NOINPUT);
	assert_non_null(strstr(eb.msg, "no server 'web3' in backend 'web'"));
	free(csv);
}

static void
parse_stat_reads_sessions_and_refuses_the_unknown(void **state)
{
	static const char hdr[] = "# pxname,svname,qcur,qmax,scur,status,"
	    "check_status,check_desc,\n";
	struct haproxy_server	 hs;
	struct errbuf		 eb = { 0 };
	char			 csv[512];

	(void)snprintf(csv, sizeof(csv), "%sweb,web1,2,0,17,DRAIN,L7OK,"
	    "\"Layer7 check passed, \"\"200\"\"\",\n\n", hdr);
	assert_int_equal(haproxy_parse_stat(csv, "web", "web1", &hs, &eb), 0);
	assert_int_equal(hs.scur, 17);
	assert_int_equal(hs.qcur, 2);
	assert_string_equal(hs.status, "DRAIN");
	assert_string_equal(hs.check_desc, "Layer7 check passed, \"200\"");
	assert_false(haproxy_server_up(&hs));
	(void)snprintf(csv, sizeof(csv), "%sweb,web1,0,0,0,UP 1/3,L7STS,x,\n",
	    hdr);
	assert_int_equal(haproxy_parse_stat(csv, "web", "web1", &hs, &eb), 0);
	assert_false(haproxy_server_up(&hs));	/* going down */
	(void)snprintf(csv, sizeof(csv), "%sweb,web1,0,0,many,UP,L7OK,x,\n",
	    hdr);
	assert_int_equal(haproxy_parse_stat(csv, "web", "web1", &hs, &eb),
	    -1);
	assert_int_equal(eb.kind, EK_PROTO);
	assert_non_null(strstr(eb.msg, "scur 'many'"));
	(void)snprintf(csv, sizeof(csv), "%sweb,web1,0,0,0,,L7OK,x,\n", hdr);
	assert_int_equal(haproxy_parse_stat(csv, "web", "web1", &hs, &eb),
	    -1);
	assert_int_equal(eb.kind, EK_PROTO);
	assert_int_equal(haproxy_parse_stat("# pxname,svname,foo\nweb,web1,"
	    "1\n", "web", "web1", &hs, &eb), -1);
	assert_int_equal(eb.kind, EK_PROTO);
	assert_int_equal(haproxy_parse_stat("Unknown command\n", "web",
	    "web1", &hs, &eb), -1);
	assert_int_equal(eb.kind, EK_PROTO);
	assert_non_null(strstr(eb.msg, "'Unknown command'"));
	/* A reply's control bytes are quoted, never copied. */
	assert_int_equal(haproxy_parse_stat("Unk\x1b[2Jnown\n", "web",
	    "web1", &hs, &eb), -1);
	assert_non_null(strstr(eb.msg, "'Unk\\x1b[2Jnown'"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    set_state_sends_one_command_and_takes_the_empty_line),
		cmocka_unit_test(set_state_names_haproxy_refusals),
		cmocka_unit_test(
		    names_that_would_be_two_commands_are_never_sent),
		cmocka_unit_test(a_missing_socket_is_unavailable_and_named),
		cmocka_unit_test(a_peer_that_never_answers_times_out),
		cmocka_unit_test(server_stat_reads_the_row_over_tcp),
		cmocka_unit_test(
		    parse_stat_finds_the_server_or_says_it_is_not_there),
		cmocka_unit_test(
		    parse_stat_reads_sessions_and_refuses_the_unknown),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
