/* SPDX-License-Identifier: ISC */
/*
 * test_awsparse: the SQS, S3 and Auto Scaling reply parsers, fed from
 * files: ../shared/aws-wire-examples/ (used in place) and
 * tests/fixtures/aws/.  Also the checks made before sending (batch
 * limits) and the queue-URL routing rule.
 */
#include "compat.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libxml/parser.h>

#include "aws/asg.h"
#include "aws/client.h"
#include "aws/query.h"
#include "aws/s3.h"
#include "aws/sqs.h"
#include "aws/xml.h"
#include "errbuf.h"
#include "slurp.h"
#include "xml_fixture.h"
#include "xalloc.h"
#include "banned.h"

#define WIRE	SHARED_DIR "/aws-wire-examples/"
#define FIX	FIXTURES "/aws/"

/* The error document in path, parsed as aws_request() would. */
static void
load_error(const char *path, struct awsxml_error *e)
{
	struct errbuf	 eb = { 0 };
	char		*data;
	size_t		 len;

	data = slurp(path, &len);
	awsxml_error_init(e);
	assert_int_equal(awsxml_parse_error(data, len, e, &eb), 0);
	free(data);
}

static void
sqs_receive_parses_message_and_attributes(void **state)
{
	struct sqs_messages	 ms;
	struct errbuf		 eb = { 0 };
	xmlDoc			*doc;

	doc = xml_load(WIRE "sqs-query-ReceiveMessage.response.xml");
	assert_int_equal(sqs_parse_receive(doc, &ms, &eb), 0);
	assert_int_equal(ms.n, 1);
	assert_string_equal(ms.v[0].message_id,
	    "5fea7756-0ea4-451a-a703-a558b933e274");
	assert_string_equal(ms.v[0].body, "This is a test message");
	assert_true(strncmp(ms.v[0].receipt_handle, "MbZj6wDWli+", 11) == 0);
	assert_int_equal(ms.v[0].receive_count, 5);
	assert_string_equal(sqs_message_attr(&ms.v[0], "SentTimestamp"),
	    "1238099229000");
	assert_int_equal(ms.v[0].nmattrs, 1);
	assert_string_equal(ms.v[0].mattrs[0].name, "kind");
	assert_string_equal(ms.v[0].mattrs[0].value, "deploy");
	sqs_messages_release(&ms);
	awsxml_free(doc);
}

static void
sqs_receive_decodes_entities_and_utf8(void **state)
{
	struct sqs_messages	 ms;
	struct errbuf		 eb = { 0 };
	xmlDoc			*doc;

	doc = xml_load(FIX "sqs-ReceiveMessage-two.xml");
	assert_int_equal(sqs_parse_receive(doc, &ms, &eb), 0);
	assert_int_equal(ms.n, 2);
	assert_string_equal(ms.v[0].body,
	    "{\"schema\": \"hookd.deployment/1\", "
	    "\"note\": \"a < b & c > d\"}");
	assert_int_equal(ms.v[0].receive_count, 1);
	assert_string_equal(ms.v[1].body, "h\xc3\xa9llo");
	assert_int_equal(ms.v[1].receive_count, 3);
	sqs_messages_release(&ms);
	awsxml_free(doc);
}

static void
sqs_receive_empty_is_zero_messages(void **state)
{
	struct sqs_messages	 ms;
	struct errbuf		 eb = { 0 };
	xmlDoc			*doc;

	doc = xml_load(WIRE "sqs-query-ReceiveMessage-empty.response.xml");
	assert_int_equal(sqs_parse_receive(doc, &ms, &eb), 0);
	assert_int_equal(ms.n, 0);
	sqs_messages_release(&ms);
	awsxml_free(doc);
}

static void
sqs_receive_rejects_md5_mismatch(void **state)
{
	struct sqs_messages	 ms = { 0 };
	struct errbuf		 eb = { 0 };
	xmlDoc			*doc;

	doc = xml_load(FIX "sqs-ReceiveMessage-badmd5.xml");
	assert_int_equal(sqs_parse_receive(doc, &ms, &eb), -1);
	assert_int_equal(eb.kind, EK_PROTO);
	assert_non_null(strstr(eb.msg, "MD5 mismatch"));
	assert_non_null(strstr(eb.msg, "fafb00f5732ab283681e124bf8747ed1"));
	assert_int_equal(ms.n, 0);	/* untouched on failure */
	awsxml_free(doc);
}

static void
sqs_receive_rejects_wrong_root(void **state)
{
	struct sqs_messages	 ms = { 0 };
	struct errbuf		 eb = { 0 };
	xmlDoc			*doc;

	doc = xml_load(WIRE "sqs-query-ListQueues.response.xml");
	assert_int_equal(sqs_parse_receive(doc, &ms, &eb), -1);
	assert_int_equal(eb.kind, EK_PROTO);
	assert_non_null(strstr(eb.msg, "ListQueuesResponse"));
	awsxml_free(doc);
}

static void
sqs_list_queues_pages(void **state)
{
	struct sqs_urls	 u = { 0 };
	struct errbuf	 eb = { 0 };
	char		*next = NULL;
	xmlDoc		*doc;

	doc = xml_load(WIRE "sqs-query-ListQueues.response.xml");
	assert_int_equal(sqs_parse_list_queues(doc, &u, &next, &eb), 0);
	assert_int_equal(u.n, 2);
	assert_string_equal(u.v[1],
	    "https://sqs.us-east-1.amazonaws.com/123456789012/deploy-dlq");
	assert_null(next);
	awsxml_free(doc);

	doc = xml_load(FIX "sqs-ListQueues-page1.xml");
	assert_int_equal(sqs_parse_list_queues(doc, &u, &next, &eb), 0);
	assert_int_equal(u.n, 4);	/* appended */
	assert_string_equal(next, "eyJ0b2tlbiI6ICJob29rZC1iIn0=");
	free(next);
	sqs_urls_release(&u);
	awsxml_free(doc);
}

static void
sqs_queue_url_from_create_and_get(void **state)
{
	struct errbuf	 eb = { 0 };
	char		*url;
	xmlDoc		*doc;

	doc = xml_load(FIX "sqs-CreateQueue.xml");
	assert_int_equal(sqs_parse_queue_url(doc, "CreateQueue", &url, &eb),
	    0);
	assert_string_equal(url, "https://sqs.us-east-1.amazonaws.com/"
	    "123456789012/hookd-production-i-1");
	free(url);
	/* The same document is not a GetQueueUrl reply. */
	assert_int_equal(sqs_parse_queue_url(doc, "GetQueueUrl", &url, &eb),
	    -1);
	assert_int_equal(eb.kind, EK_PROTO);
	awsxml_free(doc);

	doc = xml_load(FIX "sqs-GetQueueUrl.xml");
	assert_int_equal(sqs_parse_queue_url(doc, "GetQueueUrl", &url, &eb),
	    0);
	assert_string_equal(url, "http://127.0.0.1:5000/123456789012/q&1");
	free(url);
	awsxml_free(doc);
}

static void
sqs_send_batch_reports_each_entry(void **state)
{
	struct sqs_batch_entry	 es[2] = {
		{ .id = "a", .body = "x", .body_len = 1 },
		{ .id = "b", .body = "y", .body_len = 1 },
	};
	struct errbuf		 eb = { 0 };
	size_t			 failed = 99;
	xmlDoc			*doc;

	doc = xml_load(WIRE "sqs-query-SendMessageBatch.response.xml");
	assert_int_equal(sqs_parse_send_batch(doc, es, 2, &failed, &eb), 0);
	assert_int_equal(failed, 1);
	assert_true(es[0].ok);
	assert_string_equal(es[0].message_id,
	    "0a5231c7-8bff-4955-be2e-8dc7c50a25fa");
	assert_false(es[1].ok);
	assert_string_equal(es[1].error_code, "InvalidParameterValue");
	assert_true(es[1].sender_fault);
	assert_non_null(strstr(es[1].error_message, "DelaySeconds"));
	sqs_batch_entry_release(&es[0]);
	sqs_batch_entry_release(&es[1]);
	awsxml_free(doc);
}

/* Found by fuzz_awsxml: a second answer for one entry leaked the first. */
static void
sqs_batch_refuses_entry_answered_twice(void **state)
{
	static const char	 reply[] =
	    "<SendMessageBatchResponse><SendMessageBatchResult>"
	    "<SendMessageBatchResultEntry><Id>a</Id><MessageId>m-1"
	    "</MessageId></SendMessageBatchResultEntry>"
	    "<SendMessageBatchResultEntry><Id>a</Id><MessageId>m-2"
	    "</MessageId></SendMessageBatchResultEntry>"
	    "</SendMessageBatchResult></SendMessageBatchResponse>";
	struct sqs_batch_entry	 es[1] = {
		{ .id = "a", .body = "x", .body_len = 1 },
	};
	struct errbuf		 eb = { 0 };
	xmlDoc			*doc;

	doc = awsxml_parse(reply, sizeof(reply) - 1, &eb);
	assert_non_null(doc);
	assert_int_equal(sqs_parse_send_batch(doc, es, 1, NULL, &eb), -1);
	assert_int_equal(eb.kind, EK_PROTO);
	assert_non_null(strstr(eb.msg, "answers entry 'a' twice"));
	sqs_batch_entry_release(&es[0]);
	awsxml_free(doc);
}

static void
sqs_batch_checked_before_sending(void **state)
{
	struct sqs_batch_entry	 es[11] = { 0 };
	struct errbuf		 eb = { 0 };
	char			*big;
	char			 ids[11][4];

	for (size_t i = 0; i < 11; i++) {
		snprintf(ids[i], sizeof(ids[i]), "e%zu", i);
		es[i].id = ids[i];
		es[i].body = "m";
		es[i].body_len = 1;
	}
	assert_int_equal(sqs_check_batch(es, 10, &eb), 0);
	assert_int_equal(sqs_check_batch(es, 11, &eb), -1);
	assert_int_equal(eb.kind, EK_DATA);
	assert_non_null(strstr(eb.msg, "11 entries"));
	assert_int_equal(sqs_check_batch(es, 0, &eb), -1);

	es[3].id = "e1";	/* duplicate */
	assert_int_equal(sqs_check_batch(es, 4, &eb), -1);
	assert_non_null(strstr(eb.msg, "'e1' is used by entries 2 and 4"));
	es[3].id = "bad id!";
	assert_int_equal(sqs_check_batch(es, 4, &eb), -1);
	assert_non_null(strstr(eb.msg, "'bad id!'"));
	es[3].id = ids[3];

	/* One body over the limit, then a total over the limit. */
	big = xmalloc(SQS_MESSAGE_MAX + 1);
	memset(big, 'x', SQS_MESSAGE_MAX + 1);
	es[0].body = big;
	es[0].body_len = SQS_MESSAGE_MAX + 1;
	assert_int_equal(sqs_check_batch(es, 2, &eb), -1);
	assert_non_null(strstr(eb.msg, "entry 'e0': message body is 262145"));
	es[0].body_len = SQS_MESSAGE_MAX;
	es[1].body = big;
	es[1].body_len = 10;
	assert_int_equal(sqs_check_batch(es, 2, &eb), -1);
	assert_int_equal(eb.kind, EK_DATA);
	assert_non_null(strstr(eb.msg, "total 262154 bytes"));
	es[0].body_len = 0;
	assert_int_equal(sqs_check_batch(es, 1, &eb), -1);
	free(big);
}

static void
sqs_target_url_respects_override(void **state)
{
	struct errbuf	 eb = { 0 };
	char		*u;

	/* No override: the queue URL itself. */
	u = sqs_target_url("https://sqs.us-east-1.amazonaws.com/1/q",
	    "https://sqs.us-east-1.amazonaws.com", false, &eb);
	assert_string_equal(u, "https://sqs.us-east-1.amazonaws.com/1/q");
	free(u);
	/* Override with another host: the override's origin, same path. */
	u = sqs_target_url("http://localhost:5000/123456789012/q",
	    "http://127.0.0.1:4566/", true, &eb);
	assert_string_equal(u, "http://127.0.0.1:4566/123456789012/q");
	free(u);
	/* Override naming the same origin: unchanged. */
	u = sqs_target_url("http://127.0.0.1:4566/1/q",
	    "http://127.0.0.1:4566", true, &eb);
	assert_string_equal(u, "http://127.0.0.1:4566/1/q");
	free(u);
	assert_null(sqs_target_url("q", "http://x", true, &eb));
	assert_int_equal(eb.kind, EK_USAGE);
}

static void
sqs_error_document_nonexistent_queue(void **state)
{
	struct awsxml_error	 e;

	load_error(WIRE "sqs-query-error-NonExistentQueue.response.xml", &e);
	assert_string_equal(e.code, "AWS.SimpleQueueService.NonExistentQueue");
	assert_string_equal(e.type, "Sender");
	assert_string_equal(e.request_id,
	    "42d59b56-7407-4c4a-be0f-4c88daeea257");
	awsxml_error_release(&e);
}

static void
s3_list_pages_follow_token(void **state)
{
	struct s3_list	 l = { 0 };
	struct errbuf	 eb = { 0 };
	char		*next;
	xmlDoc		*doc;

	doc = xml_load(FIX "s3-ListObjectsV2-page1.xml");
	assert_int_equal(s3_parse_list_page(doc, &l, &next, &eb), 0);
	assert_string_equal(next,
	    "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
	free(next);
	awsxml_free(doc);
	doc = xml_load(FIX "s3-ListObjectsV2-page2.xml");
	assert_int_equal(s3_parse_list_page(doc, &l, &next, &eb), 0);
	assert_null(next);
	awsxml_free(doc);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0].key, "revisions/web/0a.tar.gz");
	assert_int_equal(l.v[0].size, 1048576);
	assert_string_equal(l.v[0].etag,
	    "\"9b2cf535f27731c974343645a3985328\"");
	assert_string_equal(l.v[1].key, "revisions/web/a & b.tar.gz");
	assert_int_equal(l.v[1].size, 0);
	assert_int_equal(l.v[2].size, 73400320);
	s3_list_release(&l);
}

static void
s3_list_truncated_without_token_is_an_error(void **state)
{
	struct s3_list	 l = { 0 };
	struct errbuf	 eb = { 0 };
	char		*next = NULL;
	xmlDoc		*doc;

	doc = xml_load(FIX "s3-ListObjectsV2-truncated-notoken.xml");
	assert_int_equal(s3_parse_list_page(doc, &l, &next, &eb), -1);
	assert_int_equal(eb.kind, EK_PROTO);
	assert_non_null(strstr(eb.msg, "NextContinuationToken"));
	s3_list_release(&l);
	awsxml_free(doc);
	/* An error document is not a listing. */
	doc = xml_load(FIX "s3-error-NoSuchKey.xml");
	assert_int_equal(s3_parse_list_page(doc, &l, &next, &eb), -1);
	assert_non_null(strstr(eb.msg, "'Error'"));
	s3_list_release(&l);
	awsxml_free(doc);
}

static void
s3_error_documents(void **state)
{
	struct awsxml_error	 e;

	load_error(FIX "s3-error-NoSuchKey.xml", &e);
	assert_string_equal(e.code, "NoSuchKey");
	assert_string_equal(e.request_id, "4442587FB7D0A2F9");
	awsxml_error_release(&e);
	load_error(FIX "s3-error-PreconditionFailed.xml", &e);
	assert_string_equal(e.code, "PreconditionFailed");
	awsxml_error_release(&e);
}

static void
s3_multipart_replies(void **state)
{
	struct errbuf	 eb = { 0 };
	char		*id;
	xmlDoc		*doc;

	doc = xml_load(FIX "s3-InitiateMultipartUpload.xml");
	assert_int_equal(s3_parse_upload_id(doc, &id, &eb), 0);
	assert_string_equal(id, "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5t"
	    "MnRzIHVwbG9hZA");
	free(id);
	assert_int_equal(s3_check_complete(doc, &eb), -1);
	awsxml_free(doc);
	doc = xml_load(FIX "s3-CompleteMultipartUpload.xml");
	assert_int_equal(s3_check_complete(doc, &eb), 0);
	awsxml_free(doc);
	/* 200 OK with an <Error> body: a failure, worth retrying. */
	doc = xml_load(FIX "s3-CompleteMultipartUpload-error200.xml");
	assert_int_equal(s3_check_complete(doc, &eb), -1);
	assert_int_equal(eb.kind, EK_TEMP);
	assert_non_null(strstr(eb.msg, "InternalError"));
	awsxml_free(doc);
}

static void
s3_url_split(void **state)
{
	struct errbuf	 eb = { 0 };
	char		*b, *k;

	assert_int_equal(s3_parse_url("s3://bkt/a/b c", &b, &k, &eb), 0);
	assert_string_equal(b, "bkt");
	assert_string_equal(k, "a/b c");
	free(b);
	free(k);
	assert_int_equal(s3_parse_url("s3://bkt", &b, &k, &eb), 0);
	assert_string_equal(k, "");
	free(b);
	free(k);
	assert_int_equal(s3_parse_url("s3:///k", &b, &k, &eb), -1);
	assert_int_equal(eb.kind, EK_USAGE);
	assert_int_equal(s3_parse_url("http://x/y", &b, &k, &eb), -1);
}

static void
asg_describe_instances_parses_states(void **state)
{
	struct asg_instances	 l = { 0 };
	struct errbuf		 eb = { 0 };
	char			*next;
	xmlDoc			*doc;

	doc = xml_load(WIRE "autoscaling-query-DescribeAutoScalingInstances"
	    ".response.xml");
	assert_int_equal(asg_parse_instances(doc, &l, &next, &eb), 0);
	assert_null(next);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].instance_id, "i-1234567890abcdef0");
	assert_string_equal(l.v[0].group, "my-asg");
	assert_string_equal(l.v[0].lifecycle_state, "Pending:Wait");
	assert_string_equal(l.v[0].health_status, "HEALTHY");
	awsxml_free(doc);
	doc = xml_load(FIX "asg-DescribeAutoScalingInstances-page.xml");
	assert_int_equal(asg_parse_instances(doc, &l, &next, &eb), 0);
	assert_string_equal(next, "next-page-please");
	free(next);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[1].lifecycle_state, "InService");
	assert_string_equal(l.v[2].availability_zone, "us-east-1c");
	asg_instances_release(&l);
	awsxml_free(doc);
}

static void
asg_describe_hooks_parses_fields(void **state)
{
	struct asg_hooks	 l;
	struct errbuf		 eb = { 0 };
	xmlDoc			*doc;

	doc = xml_load(WIRE "autoscaling-query-DescribeLifecycleHooks"
	    ".response.xml");
	assert_int_equal(asg_parse_hooks(doc, &l, &eb), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].name, "deploy-hook");
	assert_string_equal(l.v[0].transition,
	    "autoscaling:EC2_INSTANCE_LAUNCHING");
	assert_string_equal(l.v[0].metadata, "{\"app\":\"web\"}");
	assert_int_equal(l.v[0].heartbeat_timeout, 3600);
	assert_int_equal(l.v[0].global_timeout, 172800);
	assert_string_equal(l.v[0].default_result, "ABANDON");
	asg_hooks_release(&l);
	awsxml_free(doc);
}

static void
asg_empty_results_are_valid(void **state)
{
	struct asg_instances	 l = { 0 };
	struct errbuf		 eb = { 0 };
	char			*next;
	xmlDoc			*doc;

	/* A CompleteLifecycleAction reply is not a describe reply. */
	doc = xml_load(WIRE "autoscaling-query-CompleteLifecycleAction"
	    ".response.xml");
	assert_int_equal(asg_parse_instances(doc, &l, &next, &eb), -1);
	assert_int_equal(eb.kind, EK_PROTO);
	awsxml_free(doc);
}

static void
asg_no_active_action_is_recognised(void **state)
{
	struct awsxml_error	 e;

	load_error(WIRE "autoscaling-query-error-ValidationError.response.xml",
	    &e);
	assert_string_equal(e.code, "ValidationError");
	assert_true(asg_is_no_active_action(e.code, e.message));
	awsxml_error_release(&e);
	load_error(FIX "asg-error-ValidationError-token.xml", &e);
	assert_true(asg_is_no_active_action(e.code, e.message));
	awsxml_error_release(&e);
	/* Another ValidationError is a real failure. */
	load_error(FIX "asg-error-ValidationError-other.xml", &e);
	assert_false(asg_is_no_active_action(e.code, e.message));
	awsxml_error_release(&e);
	assert_false(asg_is_no_active_action(NULL, NULL));
	assert_false(asg_is_no_active_action("Throttling",
	    "No active Lifecycle Action found"));
}

static void
query_form_encoding_uses_plus_for_space(void **state)
{
	struct aws_query	 q;
	char			*body;

	aws_query_init(&q, "SendMessage", "2012-11-05");
	aws_query_add(&q, "MessageBody", "a b&c=d/\xc3\xa9~+");
	aws_query_add(&q, "Skipped", NULL);
	aws_query_addf(&q, "v", "Attribute.%d.Name", 1);
	aws_query_addu(&q, "MaxResults", 1000);
	/* aws_query_call() sends exactly this body. */
	body = aws_form_encode(q.v, q.n);
	assert_string_equal(body, "Action=SendMessage&Version=2012-11-05&"
	    "MessageBody=a+b%26c%3Dd%2F%C3%A9~%2B&Attribute.1.Name=v&"
	    "MaxResults=1000");
	free(body);
	aws_query_release(&q);
	aws_query_release(&q);	/* safe twice */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sqs_receive_parses_message_and_attributes),
		cmocka_unit_test(sqs_receive_decodes_entities_and_utf8),
		cmocka_unit_test(sqs_receive_empty_is_zero_messages),
		cmocka_unit_test(sqs_receive_rejects_md5_mismatch),
		cmocka_unit_test(sqs_receive_rejects_wrong_root),
		cmocka_unit_test(sqs_list_queues_pages),
		cmocka_unit_test(sqs_queue_url_from_create_and_get),
		cmocka_unit_test(sqs_send_batch_reports_each_entry),
		cmocka_unit_test(sqs_batch_refuses_entry_answered_twice),
		cmocka_unit_test(sqs_batch_checked_before_sending),
		cmocka_unit_test(sqs_target_url_respects_override),
		cmocka_unit_test(sqs_error_document_nonexistent_queue),
		cmocka_unit_test(s3_list_pages_follow_token),
		cmocka_unit_test(s3_list_truncated_without_token_is_an_error),
		cmocka_unit_test(s3_error_documents),
		cmocka_unit_test(s3_multipart_replies),
		cmocka_unit_test(s3_url_split),
		cmocka_unit_test(asg_describe_instances_parses_states),
		cmocka_unit_test(asg_describe_hooks_parses_fields),
		cmocka_unit_test(asg_empty_results_are_valid),
		cmocka_unit_test(asg_no_active_action_is_recognised),
		cmocka_unit_test(query_form_encoding_uses_plus_for_space),
	};
	int	 rv;

	rv = cmocka_run_group_tests(tests, NULL, NULL);
	xmlCleanupParser();
	return rv;
}
