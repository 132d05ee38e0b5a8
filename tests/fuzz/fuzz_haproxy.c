/* SPDX-License-Identifier: ISC */
/*
 * fuzz_haproxy.c: libFuzzer target for the parser of HAProxy's "show
 * stat" reply (haproxy_parse_stat(): the CSV header, quoted fields, the
 * server's row).  Any input must end in a clean accept (a status that
 * fits, numbers read) or a clean reject, EK_PROTO (not understood) or
 * EK_NOINPUT (no such server), with a bounded message: never a crash, a
 * leak, a hang or undefined behaviour.  Built by 'make fuzz'; seeds in
 * tests/fixtures/fuzz/haproxy.
 */
#include "compat.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "haproxy.h"
#include "xalloc.h"

#include "banned.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct haproxy_server	 hs;
	struct errbuf		 eb = { 0 };
	char			*s;

	s = xmalloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	if (haproxy_parse_stat(s, "web", "web1", &hs, &eb) == 0) {
		if (hs.status[0] == '\0' ||
		    strnlen(hs.status, sizeof(hs.status)) ==
		    sizeof(hs.status) ||
		    strnlen(hs.check, sizeof(hs.check)) == sizeof(hs.check))
			abort();
		(void)haproxy_server_up(&hs);
	} else if ((eb.kind != EK_PROTO && eb.kind != EK_NOINPUT) ||
	    strlen(eb.msg) > 600)
		abort();
	free(s);
	return 0;
}
