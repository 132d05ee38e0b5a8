/* SPDX-License-Identifier: ISC */
/*
 * fuzz_awsxml.c: libFuzzer target for every AWS reply parser: the error
 * document parser (awsxml_parse_error) and the SQS, S3 and Auto Scaling
 * reply parsers of lib/aws, on top of awsxml_parse.  The first input byte
 * picks the parser (modulo their number); the rest is the reply body.
 * Any input must end in a clean accept or a clean reject with a short
 * message (EK_PROTO, or EK_TEMP for S3's 200-with-Error): never a crash,
 * a leak, a hang or undefined behaviour.  Built by 'make fuzz'; seeds in
 * tests/fixtures/fuzz/awsxml (the replies of tests/fixtures/aws, each
 * prefixed with the selector of the parser it belongs to).
 */
#include "compat.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/asg.h"
#include "aws/s3.h"
#include "aws/sqs.h"
#include "aws/xml.h"
#include "errbuf.h"
#include "fuzz_sqs.h"

#include "banned.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

enum which {
	W_ERROR = 0,		/* '0' */
	W_SQS_RECEIVE,		/* '1' */
	W_SQS_LIST,		/* '2' */
	W_SQS_URL,		/* '3' */
	W_SQS_BATCH,		/* '4' */
	W_S3_LIST,		/* '5' */
	W_S3_UPLOAD_ID,		/* '6' */
	W_S3_COMPLETE,		/* '7' */
	W_ASG_INSTANCES,	/* '8' */
	W_ASG_HOOKS,		/* '9' */
	W_COUNT
};

/* A reject must say something short; the kinds the parsers document. */
static void
check_reject(const struct errbuf *eb)
{
	if (eb->kind != EK_PROTO && eb->kind != EK_TEMP)
		abort();
	if (eb->msg[0] == '\0' || strlen(eb->msg) >= sizeof(eb->msg))
		abort();
}

static void
fuzz_error(const uint8_t *data, size_t size)
{
	struct awsxml_error	 e;
	struct errbuf		 eb = { 0 };

	awsxml_error_init(&e);
	if (awsxml_parse_error(data, size, &e, &eb) == -1)
		check_reject(&eb);
	else if (e.code == NULL)
		abort();
	awsxml_error_release(&e);
}

static void
fuzz_sqs(enum which w, xmlDoc *doc)
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
		rc = sqs_parse_receive(doc, &msgs, &eb);
		if (rc == 0)
			fuzz_check_received(&msgs);
		sqs_messages_release(&msgs);
		break;
	case W_SQS_LIST:
		if ((rc = sqs_parse_list_queues(doc, &urls, &s, &eb)) == 0)
			free(s);
		sqs_urls_release(&urls);
		break;
	case W_SQS_URL:
		if ((rc = sqs_parse_queue_url(doc, "CreateQueue", &s,
		    &eb)) == 0)
			free(s);
		break;
	case W_SQS_BATCH:
		fuzz_batch_prepare(ent);
		rc = sqs_parse_send_batch(doc, ent, nitems(ent), &failed,
		    &eb);
		fuzz_batch_finish(ent, rc, failed);
		break;
	default:
		abort();
	}
	if (rc == -1)
		check_reject(&eb);
}

static void
fuzz_s3_asg(enum which w, xmlDoc *doc)
{
	struct s3_list		 list = { 0 };
	struct asg_instances	 inst = { 0 };
	struct asg_hooks	 hooks = { 0 };
	struct errbuf		 eb = { 0 };
	char			*s = NULL;
	int			 rc = 0;

	switch (w) {
	case W_S3_LIST:
		if ((rc = s3_parse_list_page(doc, &list, &s, &eb)) == 0) {
			for (size_t i = 0; i < list.n; i++)
				if (list.v[i].key == NULL)
					abort();
			free(s);
		}
		s3_list_release(&list);
		break;
	case W_S3_UPLOAD_ID:
		if ((rc = s3_parse_upload_id(doc, &s, &eb)) == 0) {
			if (s == NULL)
				abort();
			free(s);
		}
		break;
	case W_S3_COMPLETE:
		rc = s3_check_complete(doc, &eb);
		break;
	case W_ASG_INSTANCES:
		if ((rc = asg_parse_instances(doc, &inst, &s, &eb)) == 0)
			free(s);
		asg_instances_release(&inst);
		break;
	case W_ASG_HOOKS:
		rc = asg_parse_hooks(doc, &hooks, &eb);
		asg_hooks_release(&hooks);
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
	xmlDoc		*doc;

	if (size == 0)
		return 0;
	w = (enum which)((uint8_t)(data[0] - '0') % W_COUNT);
	data++;
	size--;
	if (w == W_ERROR) {
		fuzz_error(data, size);
		return 0;
	}
	if ((doc = awsxml_parse(data, size, &eb)) == NULL) {
		check_reject(&eb);
		return 0;
	}
	if (w <= W_SQS_BATCH)
		fuzz_sqs(w, doc);
	else
		fuzz_s3_asg(w, doc);
	awsxml_free(doc);
	return 0;
}
