/* SPDX-License-Identifier: ISC */
/*
 * loopback.h: a listening TCP socket on 127.0.0.1 at a port the kernel
 * picks, for the unit tests that stand up a server of their own
 * (test_http, test_http_fork, scripted_server.h).  Included after
 * <cmocka.h>: static functions only.
 */
#ifndef HOOKD_LOOPBACK_H
#define HOOKD_LOOPBACK_H

#include <sys/socket.h>

#include <netinet/in.h>

#include <string.h>

/* The listening fd (backlog 8, CLOEXEC); its port in *ret_port. */
static int
loopback_listen(int *ret_port)
{
	struct sockaddr_in	 sin;
	socklen_t		 sl = sizeof(sin);
	int			 fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_not_equal(fd, -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	*ret_port = ntohs(sin.sin_port);
	return fd;
}

#endif /* HOOKD_LOOPBACK_H */
