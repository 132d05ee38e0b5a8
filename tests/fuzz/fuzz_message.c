/* SPDX-License-Identifier: ISC */
/*
 * fuzz_message.c: libFuzzer target for the deployment message parser.
 * Any input must end in a clean accept (then serialize, re-parse and
 * check the location without trouble) or a clean EK_DATA reject whose
 * reason is short and printable: never a crash, a leak, a hang or
 * undefined behaviour.  Built by 'make fuzz'; seeds in
 * tests/fixtures/fuzz/message (copies of tests/fixtures/messages).
 */
#include "compat.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "message.h"

#include "banned.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_reason(const struct errbuf *eb)
{
	if (eb->kind != EK_DATA || strlen(eb->msg) > 600)
		abort();
	for (const char *p = eb->msg; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			abort();
}

/*
 * A "." or ".." component (what would climb out of revisions/); dots
 * inside a name ("v1..2.tgz") are fine, as the fuzzer found.
 */
static int
has_dot_component(const char *key)
{
	const char	*p, *end;
	size_t		 n;

	for (p = key; *p != '\0'; p = *end == '\0' ? end : end + 1) {
		end = strchrnul(p, '/');
		n = (size_t)(end - p);
		if ((n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return 1;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct message	 m, back;
	struct errbuf	 eb = { 0 };
	char		*json = NULL, *key = NULL;
	size_t		 len;

	if (message_parse((const char *)data, size, &m, &eb) == -1) {
		check_reason(&eb);
		return 0;
	}
	if (m.canonical == NULL || message_serialize(&m, &json, &len,
	    &eb) == -1)
		abort();
	if (message_parse(json, len, &back, &eb) == -1)
		abort();
	if (strcmp(back.deployment_id, m.deployment_id) != 0 ||
	    back.sequence != m.sequence)
		abort();
	if (message_check_location(&m, "s3://bucket/prefix", &key,
	    &eb) == 0) {
		if (strncmp(key, "revisions/", 10) != 0 ||
		    has_dot_component(key))
			abort();
		free(key);
	} else
		check_reason(&eb);
	(void)message_verify(&m, (const unsigned char *)"k", 1, &eb);
	message_release(&back);
	message_release(&m);
	free(json);
	return 0;
}
