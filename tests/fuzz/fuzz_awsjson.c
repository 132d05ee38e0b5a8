/* SPDX-License-Identifier: ISC */
/*
 * fuzz_awsjson.c: libFuzzer target for the AWS JSON 1.0 reply parsers:
 * the error parser (awsjson_parse_error, without and with an
 * x-amzn-query-error header value) and the SQS JSON reply parsers of
 * lib/aws/sqs.c, on top of awsjson_parse.  The first input byte picks
 * the parser (modulo their number); the rest is the reply body (for
 * '5', its first line is the header value and the rest the body).  Any
 * input must end in a clean accept or a clean EK_PROTO reject with a
 * short message: never a crash, a leak, a hang or undefined behaviour.
 * Built by 'make fuzz'; seeds in tests/fixtures/fuzz/awsjson (the
 * ../shared/aws-wire-examples/sqs-json-* replies and a few of ours, each
 * prefixed with the selector of the parser it belongs to).
 */
#include "compat.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "aws/json.h"
#include "aws/sqs.h"
#include "errbuf.h"
#include "fuzz_sqs.h"
#include "xalloc.h"

#include "banned.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

enum which {
	W_ERROR = 0,		/* '0' */
	W_SQS_RECEIVE,		/* '1' */
	W_SQS_LIST,		/* '2' */
	W_SQS_URL,		/* '3' */
	W_SQS_BATCH,		/* '4' */
	W_ERROR_HEADER,		/* '5' */
	W_COUNT
};

static void
check_reject(const struct errbuf *eb)
{
	if (eb->kind != EK_PROTO)
		abort();
	if (eb->msg[0] == '\0' || strlen(eb->msg) >= sizeof(eb->msg))
		abort();
}

static void
fuzz_error(const uint8_t *data, size_t size, bool header)
{
	struct awsjson_error	 e = { 0 };
	struct errbuf		 eb = { 0 };
	const uint8_t		*nl;
	char			*hv = NULL;

	if (header && (nl = memchr(data, '\n', size)) != NULL) {
		hv = xstrndup((const char *)data, (size_t)(nl - data));
		size -= (size_t)(nl - data) + 1;
		data = nl + 1;
	}
	if (awsjson_parse_error(data, size, hv, &e, &eb) == -1)
		check_reject(&eb);
	else if (e.code == NULL || e.code[0] == '\0' ||
	    strlen(e.code) > AWSJSON_CODE_MAX || (e.message != NULL &&
	    strlen(e.message) > AWSJSON_MESSAGE_MAX))
		abort();
	awsjson_error_release(&e);
	free(hv);
}

static void
fuzz_sqs(enum which w, const json_t *j)
{
	struct sqs_messages	 msgs;
	struct sqs_urls		 urls = { 0 };
	struct sqs_batch_entry	 ent[FUZZ_BATCH_N];
	struct errbuf		 eb = { 0 };
	char			*s = NULL;
	size_t			 failed = 0;
	int			 rc = 0;

	switch (w) {
	case W_SQS_RECEIVE:
		sqs_messages_init(&msgs);
		rc = sqs_json_parse_receive(j, &msgs, &eb);
		if (rc == 0)
			fuzz_check_received(&msgs);
		sqs_messages_release(&msgs);
		break;
	case W_SQS_LIST:
		if ((rc = sqs_json_parse_list_queues(j, &urls, &s, &eb)) == 0)
			free(s);
		sqs_urls_release(&urls);
		break;
	case W_SQS_URL:
		if ((rc = sqs_json_parse_queue_url(j, "GetQueueUrl", &s,
		    &eb)) == 0)
			free(s);
		break;
	case W_SQS_BATCH:
		fuzz_batch_prepare(ent);
		rc = sqs_json_parse_send_batch(j, ent, nitems(ent), &failed,
		    &eb);
		fuzz_batch_finish(ent, rc, failed);
		break;
	default:
		abort();
	}
	if (rc == -1)
		check_reject(&eb);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct errbuf	 eb = { 0 };
	enum which	 w;
	json_t		*j;

	if (size == 0)
		return 0;
	w = (enum which)((uint8_t)(data[0] - '0') % W_COUNT);
	data++;
	size--;
	if (w == W_ERROR || w == W_ERROR_HEADER) {
		fuzz_error(data, size, w == W_ERROR_HEADER);
		return 0;
	}
	if ((j = awsjson_parse(data, size, &eb)) == NULL) {
		check_reject(&eb);
		return 0;
	}
	if (!json_is_object(j))
		abort();
	fuzz_sqs(w, j);
	json_decref(j);
	return 0;
}
