/* SPDX-License-Identifier: ISC */
/*
 * test_sqsjson: SQS over the AWS JSON 1.0 protocol.  The reply parsers
 * fed from ../shared/aws-wire-examples/sqs-json-* (used in place) and
 * inline documents; the error parser with and without SQS's
 * x-amzn-query-error header; the SQS calls end to end against a scripted
 * loopback HTTP server (127.0.0.1, forked by the test) checking what is
 * sent (target, content type, signed headers, members, path "/"), how
 * errors map (a missing queue is EK_NOINPUT, throttling is retried) and
 * that libxml2 is never loaded on that path; the sqs_protocol
 * configuration key and $HOOKD_SQS_PROTOCOL.
 */
#include "compat.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "aws/client.h"
#include "aws/creds.h"
#include "aws/json.h"
#include "aws/sqs.h"
#include "config.h"
#include "dl.h"
#include "errbuf.h"
#include "scripted_server.h"
#include "slurp.h"
#include "xalloc.h"

#define WIRE		SHARED_DIR "/aws-wire-examples/"
#define QURL		"http://queue.example/123456789012/hookd-web-i-1"

static json_t *
load(const char *path)
{
	struct errbuf	 eb = { 0 };
	json_t		*j;
	char		*data;
	size_t		 len;

	data = slurp(path, &len);
	j = awsjson_parse(data, len, &eb);
	free(data);
	if (j == NULL)
		fail_msg("%s: %s", path, eb.msg);
	return j;
}

/* An HTTP reply with a JSON body (taken) and extra header lines. */
static char *
reply(int status, const char *extra, char *body)
{
	char	*r;

	r = xasprintf("HTTP/1.1 %d %s\r\nContent-Type: "
	    "application/x-amz-json-1.0\r\nx-amzn-RequestId: rid-%d\r\n%s"
	    "Content-Length: %zu\r\n\r\n%s", status, status == 200 ? "OK" :
	    "Error", status, extra, strlen(body), body);
	free(body);
	return r;
}

static struct aws_client *
client_for(struct server *s, enum aws_sqs_protocol p)
{
	struct aws_client_config cfg = { 0 };

	cfg.sqs_protocol = p;
	return server_client(s, &cfg, NULL);
}

/* The JSON body of the nth (0-based) logged request. */
static json_t *
logged_body(const char *log, int nth)
{
	const char	*p = log, *b, *end;
	json_error_t	 je;
	json_t		*j;

	for (int i = 0; i < nth; i++) {
		assert_non_null(p = strstr(p, "\n=====\n"));
		p += 7;
	}
	assert_non_null(b = strstr(p, "\r\n\r\n"));
	b += 4;
	end = strstr(b, "\n=====\n");
	j = json_loadb(b, end != NULL ? (size_t)(end - b) : strlen(b), 0, &je);
	if (j == NULL)
		fail_msg("request body not JSON: %s", je.text);
	return j;
}

/*
 * First, while nothing has parsed XML yet: a receive, a send, a delete,
 * a visibility change and an error reply on the JSON protocol, and S3's
 * missing-key reply (a fresh group's target.json), leave libxml2
 * unloaded (the user-visible point of the protocol).
 */
static void
json_path_never_loads_libxml2(void **state)
{
	struct server		 s;
	struct aws_client	*c;
	struct sqs_messages	 ms;
	struct sqs_receive_opts	 o = { 1, 0, -1 };
	struct errbuf		 eb = { 0 };
	struct aws_request	 req = { 0 };
	struct aws_result	 res;
	char			*script[6], *log, *id = NULL;

	assert_false(dl_loaded[DL_XML]);
	script[0] = reply(200, "", slurp(WIRE
	    "sqs-json-ReceiveMessage-empty.response.json", NULL));
	script[1] = reply(200, "", xstrdup("{\"MD5OfMessageBody\":"
	    "\"fafb00f5732ab283681e124bf8747ed1\",\"MessageId\":\"m-1\"}"));
	script[2] = reply(200, "", xstrdup(""));
	script[3] = reply(200, "", xstrdup("{}"));
	script[4] = reply(400, "x-amzn-query-error: "
	    "AWS.SimpleQueueService.NonExistentQueue;Sender\r\n",
	    xstrdup("{\"__type\":\"com.amazonaws.sqs#QueueDoesNotExist\","
	    "\"message\":\"The specified queue does not exist.\"}"));
	script[5] = xstrdup("HTTP/1.1 404 Not Found\r\nContent-Type: "
	    "application/xml\r\nx-amz-request-id: R404\r\n"
	    "Content-Length: 116\r\n\r\n"
	    "<Error><Code>NoSuchKey</Code><Message>The specified key does "
	    "not exist.</Message><RequestId>R404</RequestId></Error>");
	server_start(&s, (const char *const *)script, nitems(script));
	c = client_for(&s, AWS_SQS_JSON);
	sqs_messages_init(&ms);
	assert_int_equal(sqs_receive(c, QURL, &o, &ms, &eb), 0);
	assert_int_equal(ms.n, 0);
	assert_int_equal(sqs_send(c, QURL, "This is a test message", 22, 0,
	    &id, &eb), 0);
	assert_string_equal(id, "m-1");
	assert_int_equal(sqs_delete_message(c, QURL, "rh", &eb), 0);
	assert_int_equal(sqs_change_visibility(c, QURL, "rh", 60, &eb), 0);
	assert_int_equal(sqs_delete_message(c, QURL, "rh", &eb), -1);
	assert_int_equal(eb.kind, EK_NOINPUT);
	req.svc = &aws_svc_s3;
	req.op = "GetObject";
	req.bucket = "bucket";
	req.key = "groups/web/prod/target.json";
	req.body_fd = req.out_fd = -1;
	aws_result_init(&res);
	assert_int_equal(aws_request(c, &req, &res, &eb), -1);
	assert_int_equal(eb.kind, EK_NOINPUT);
	assert_string_equal(eb.msg, "s3 GetObject: NoSuchKey: The specified "
	    "key does not exist. (request id R404)");
	aws_result_release(&res);
	log = server_stop(&s);
	assert_false(dl_loaded[DL_XML]);
	free(log);
	free(id);
	aws_client_free(c);
	for (size_t i = 0; i < nitems(script); i++)
		free(script[i]);
}

static void
parses_wire_receive_message(void **state)
{
	struct sqs_messages	 ms;
	struct sqs_message	*m;
	struct errbuf		 eb = { 0 };
	json_t			*j;

	j = load(WIRE "sqs-json-ReceiveMessage.response.json");
	assert_int_equal(sqs_json_parse_receive(j, &ms, &eb), 0);
	assert_int_equal(ms.n, 1);
	m = &ms.v[0];
	assert_string_equal(m->message_id,
	    "5fea7756-0ea4-451a-a703-a558b933e274");
	assert_string_equal(m->body, "This is a test message");
	assert_int_equal(m->body_len, 22);
	assert_non_null(strstr(m->receipt_handle, "MbZj6wDWli+Jvww"));
	assert_int_equal(m->receive_count, 5);
	assert_string_equal(sqs_message_attr(m, "SentTimestamp"),
	    "1238099229000");
	assert_int_equal(m->nmattrs, 1);
	assert_string_equal(m->mattrs[0].name, "kind");
	assert_string_equal(m->mattrs[0].value, "deploy");
	sqs_messages_release(&ms);
	json_decref(j);

	j = load(WIRE "sqs-json-ReceiveMessage-empty.response.json");
	assert_int_equal(sqs_json_parse_receive(j, &ms, &eb), 0);
	assert_int_equal(ms.n, 0);
	sqs_messages_release(&ms);
	json_decref(j);
}

static void
receive_rejects_bad_md5_and_shapes(void **state)
{
	static const char *const bad[] = {
		/* MD5 of another body */
		"{\"Messages\":[{\"MessageId\":\"a\",\"ReceiptHandle\":\"r\","
		"\"MD5OfBody\":\"fafb00f5732ab283681e124bf8747ed1\","
		"\"Body\":\"tampered\"}]}",
		"{\"Messages\":[{\"ReceiptHandle\":\"r\","
		"\"MD5OfBody\":\"x\"}]}",
		"{\"Messages\":[{\"MessageId\":\"a\","
		"\"MD5OfBody\":\"x\"}]}",
		"{\"Messages\":[{\"MessageId\":\"a\","
		"\"ReceiptHandle\":\"r\"}]}",
		"{\"Messages\":{}}",
		"{\"Messages\":[7]}",
		"{\"Messages\":[{\"MessageId\":1,\"ReceiptHandle\":\"r\","
		"\"MD5OfBody\":\"x\"}]}",
	};
	struct sqs_messages	 ms;
	struct errbuf		 eb = { 0 };
	json_t			*j;

	for (size_t i = 0; i < nitems(bad); i++) {
		memset(&eb, 0, sizeof(eb));
		assert_non_null(j = awsjson_parse(bad[i], strlen(bad[i]),
		    &eb));
		assert_int_equal(sqs_json_parse_receive(j, &ms, &eb), -1);
		assert_int_equal(eb.kind, EK_PROTO);
		json_decref(j);
	}
	assert_non_null(j = awsjson_parse(bad[0], strlen(bad[0]), &eb));
	assert_int_equal(sqs_json_parse_receive(j, &ms, &eb), -1);
	assert_non_null(strstr(eb.msg, "MD5 mismatch"));
	json_decref(j);
}

static void
parses_json_documents_strictly(void **state)
{
	static const char *const bad[] = {
		"[]", "\"x\"", "{", "{\"a\":1,\"a\":2}", "{\"a\":\"\\u0000\"}",
		"<xml/>",
	};
	struct errbuf	 eb = { 0 };
	json_t		*j;

	for (size_t i = 0; i < nitems(bad); i++) {
		memset(&eb, 0, sizeof(eb));
		assert_null(awsjson_parse(bad[i], strlen(bad[i]), &eb));
		assert_int_equal(eb.kind, EK_PROTO);
	}
	/* An empty body (DeleteMessage) is an empty object. */
	assert_non_null(j = awsjson_parse(" \r\n", 3, &eb));
	assert_true(json_is_object(j) && json_object_size(j) == 0);
	json_decref(j);
}

static void
error_code_prefers_the_query_code(void **state)
{
	struct awsjson_error	 e = { 0 };
	struct errbuf		 eb = { 0 };
	char			*data, *body;

	data = slurp(WIRE "sqs-json-error-QueueDoesNotExist.response.txt",
	    NULL);
	assert_non_null(body = strstr(data, "\n\n"));
	body += 2;
	assert_int_equal(awsjson_parse_error(body, strlen(body),
	    "AWS.SimpleQueueService.NonExistentQueue;Sender", &e, &eb), 0);
	assert_string_equal(e.code, "AWS.SimpleQueueService.NonExistentQueue");
	assert_string_equal(e.message, "The specified queue does not exist.");
	awsjson_error_release(&e);
	/* Without the header: the shape name of __type. */
	assert_int_equal(awsjson_parse_error(body, strlen(body), NULL, &e,
	    &eb), 0);
	assert_string_equal(e.code, "QueueDoesNotExist");
	awsjson_error_release(&e);
	free(data);

	body = xstrdup("{\"__type\":\"ThrottlingException:http://internal."
	    "amazon.com/coral/\",\"Message\":\"Rate exceeded\"}");
	assert_int_equal(awsjson_parse_error(body, strlen(body), NULL, &e,
	    &eb), 0);
	assert_string_equal(e.code, "ThrottlingException");
	assert_string_equal(e.message, "Rate exceeded");
	awsjson_error_release(&e);
	free(body);

	/* The header alone (empty body); neither: no code. */
	assert_int_equal(awsjson_parse_error("", 0, "RequestThrottled;Sender",
	    &e, &eb), 0);
	assert_string_equal(e.code, "RequestThrottled");
	assert_null(e.message);
	awsjson_error_release(&e);
	assert_int_equal(awsjson_parse_error("{\"message\":\"x\"}", 15, NULL,
	    &e, &eb), -1);
	assert_int_equal(eb.kind, EK_PROTO);
}

static void
parses_list_queues_and_batches(void **state)
{
	static const char list[] = "{\"QueueUrls\":[\"http://h/1/a\","
	    "\"http://h/1/b\"],\"NextToken\":\"tok\"}";
	static const char batch[] = "{\"Successful\":[{\"Id\":\"e1\","
	    "\"MessageId\":\"m1\",\"MD5OfMessageBody\":\"x\"}],\"Failed\":"
	    "[{\"Id\":\"e2\",\"SenderFault\":true,\"Code\":"
	    "\"InvalidParameterValue\",\"Message\":\"bad\"}]}";
	static const char twice[] = "{\"Successful\":[{\"Id\":\"e1\","
	    "\"MessageId\":\"m1\"}],\"Failed\":[{\"Id\":\"e1\","
	    "\"Code\":\"X\"}]}";
	struct sqs_batch_entry	 es[3] = {
		{ .id = "e1", .body = "a", .body_len = 1 },
		{ .id = "e2", .body = "b", .body_len = 1 },
		{ .id = "e3", .body = "c", .body_len = 1 },
	};
	struct sqs_urls		 urls = { 0 };
	struct errbuf		 eb = { 0 };
	size_t			 failed = 0;
	char			*next = NULL;
	json_t			*j;

	assert_non_null(j = awsjson_parse(list, strlen(list), &eb));
	assert_int_equal(sqs_json_parse_list_queues(j, &urls, &next, &eb), 0);
	assert_int_equal(urls.n, 2);
	assert_string_equal(urls.v[1], "http://h/1/b");
	assert_string_equal(next, "tok");
	free(next);
	sqs_urls_release(&urls);
	json_decref(j);

	assert_non_null(j = awsjson_parse(batch, strlen(batch), &eb));
	assert_int_equal(sqs_json_parse_send_batch(j, es, 3, &failed, &eb),
	    0);
	assert_int_equal(failed, 2);
	assert_true(es[0].ok);
	assert_string_equal(es[0].message_id, "m1");
	assert_false(es[1].ok);
	assert_true(es[1].sender_fault);
	assert_string_equal(es[1].error_code, "InvalidParameterValue");
	assert_string_equal(es[2].error_code, "MissingResult");
	json_decref(j);

	assert_non_null(j = awsjson_parse(twice, strlen(twice), &eb));
	assert_int_equal(sqs_json_parse_send_batch(j, es, 3, &failed, &eb),
	    -1);
	assert_non_null(strstr(eb.msg, "twice"));
	json_decref(j);
	for (size_t i = 0; i < nitems(es); i++)
		sqs_batch_entry_release(&es[i]);
}

/*
 * What goes on the wire: POST / on the queue's endpoint, the JSON
 * content type and X-Amz-Target, both signed, the API's member names;
 * the wire example parsed; a throttled call retried.
 */
static void
receive_sends_aws_json(void **state)
{
	struct server		 s;
	struct aws_client	*c;
	struct sqs_messages	 ms;
	struct sqs_receive_opts	 o = { 10, 20, 600 };
	struct errbuf		 eb = { 0 };
	char			*script[2], *log, *qurl, *auth;
	json_t			*b;

	script[0] = reply(400, "", xstrdup("{\"__type\":\"com.amazonaws.sqs#"
	    "ThrottlingException\",\"message\":\"Rate exceeded\"}"));
	script[1] = reply(200, "", slurp(WIRE
	    "sqs-json-ReceiveMessage.response.json", NULL));
	server_start(&s, (const char *const *)script, nitems(script));
	c = client_for(&s, AWS_SQS_JSON);
	qurl = xasprintf("http://127.0.0.1:%d/123456789012/q", s.port);
	assert_int_equal(sqs_receive(c, qurl, &o, &ms, &eb), 0);
	assert_int_equal(ms.n, 1);
	assert_string_equal(ms.v[0].body, "This is a test message");
	sqs_messages_release(&ms);
	log = server_stop(&s);
	assert_int_equal(strncmp(log, "POST / HTTP/1.1\r\n", 17), 0);
	assert_non_null(strcasestr(log, "\r\nContent-Type: "
	    "application/x-amz-json-1.0\r\n"));
	assert_non_null(strcasestr(log, "\r\nX-Amz-Target: "
	    "AmazonSQS.ReceiveMessage\r\n"));
	assert_non_null(auth = strcasestr(log, "\r\nAuthorization: "));
	assert_non_null(strstr(auth, "/sqs/aws4_request"));
	assert_non_null(strstr(auth, "content-type;host;x-amz-date;"
	    "x-amz-target,"));
	b = logged_body(log, 1);
	assert_string_equal(awsjson_str(b, "QueueUrl"), qurl);
	assert_int_equal(json_integer_value(json_object_get(b,
	    "MaxNumberOfMessages")), 10);
	assert_int_equal(json_integer_value(json_object_get(b,
	    "WaitTimeSeconds")), 20);
	assert_int_equal(json_integer_value(json_object_get(b,
	    "VisibilityTimeout")), 600);
	assert_string_equal(json_string_value(json_array_get(json_object_get(
	    b, "MessageSystemAttributeNames"), 0)), "All");
	assert_string_equal(json_string_value(json_array_get(json_object_get(
	    b, "MessageAttributeNames"), 0)), "All");
	json_decref(b);
	free(log);
	free(qurl);
	aws_client_free(c);
	for (size_t i = 0; i < nitems(script); i++)
		free(script[i]);
}

/* Error kinds as under Query: missing queue, 5xx, 403, other 4xx. */
static void
errors_map_as_on_query(void **state)
{
	struct server		 s;
	struct aws_client	*c;
	struct errbuf		 eb = { 0 };
	struct sqs_urls		 urls = { 0 };
	char			*script[6], *log, *url = NULL;
	json_t			*b;

	script[0] = reply(400, "x-amzn-query-error: "
	    "AWS.SimpleQueueService.NonExistentQueue;Sender\r\n",
	    xstrdup("{\"__type\":\"com.amazonaws.sqs#QueueDoesNotExist\","
	    "\"message\":\"The specified queue does not exist.\"}"));
	script[1] = reply(500, "", xstrdup("{\"__type\":\"InternalError\"}"));
	script[2] = reply(500, "", xstrdup("{\"__type\":\"InternalError\"}"));
	script[3] = reply(403, "", xstrdup("{\"__type\":\"com.amazonaws.sqs#"
	    "InvalidSignatureException\",\"message\":\"no\"}"));
	script[4] = reply(400, "x-amzn-query-error: "
	    "QueueAlreadyExists;Sender\r\n", xstrdup("{\"__type\":"
	    "\"com.amazonaws.sqs#QueueNameExists\",\"message\":\"A queue "
	    "already exists with the same name\"}"));
	script[5] = reply(200, "", xstrdup("{\"QueueUrls\":[\"u1\"]}"));
	server_start(&s, (const char *const *)script, nitems(script));
	c = client_for(&s, AWS_SQS_JSON);
	assert_int_equal(sqs_get_queue_url(c, "nope", &url, &eb), -1);
	assert_int_equal(eb.kind, EK_NOINPUT);
	assert_string_equal(eb.msg, "sqs GetQueueUrl: "
	    "AWS.SimpleQueueService.NonExistentQueue: The specified queue "
	    "does not exist. (request id rid-400)");
	/* 500 twice, then 403 (max 3 attempts): EK_PERM at the third. */
	assert_int_equal(sqs_get_queue_url(c, "q", &url, &eb), -1);
	assert_int_equal(eb.kind, EK_PERM);
	assert_int_equal(sqs_create_queue(c, "q", NULL, 0, &url, &eb), -1);
	assert_int_equal(eb.kind, EK_PROTO);
	assert_non_null(strstr(eb.msg, "QueueAlreadyExists"));
	assert_int_equal(sqs_list_queues(c, "hookd-", 5, &urls, &eb), 0);
	assert_int_equal(urls.n, 1);
	sqs_urls_release(&urls);
	log = server_stop(&s);
	b = logged_body(log, 5);
	assert_string_equal(awsjson_str(b, "QueueNamePrefix"), "hookd-");
	assert_int_equal(json_integer_value(json_object_get(b, "MaxResults")),
	    5);
	json_decref(b);
	free(log);
	aws_client_free(c);
	for (size_t i = 0; i < nitems(script); i++)
		free(script[i]);
}

/* Send and batch: members, MD5 check of the reply, UTF-8 checked. */
static void
send_checks_md5_and_builds_entries(void **state)
{
	struct server		 s;
	struct aws_client	*c;
	struct errbuf		 eb = { 0 };
	struct sqs_batch_entry	 es[2] = {
		{ .id = "a", .body = "x", .body_len = 1, .delay = 5 },
		{ .id = "b", .body = "y", .body_len = 1 },
	};
	struct sqs_kv		 attrs[1] = { { (char *)(uintptr_t)
				    "VisibilityTimeout", (char *)(uintptr_t)
				    "300" } };
	size_t			 failed = 9;
	char			*script[4], *log, *url = NULL;
	json_t			*b, *e;

	script[0] = reply(200, "", xstrdup("{\"MD5OfMessageBody\":"
	    "\"00000000000000000000000000000000\",\"MessageId\":\"m\"}"));
	script[1] = reply(200, "", xstrdup("{\"Successful\":[{\"Id\":\"a\","
	    "\"MessageId\":\"m1\"},{\"Id\":\"b\",\"MessageId\":\"m2\"}]}"));
	script[2] = reply(200, "", xstrdup("{\"QueueUrl\":\"http://h/1/q\"}"));
	script[3] = reply(200, "", xstrdup("{}"));
	server_start(&s, (const char *const *)script, nitems(script));
	c = client_for(&s, AWS_SQS_JSON);
	assert_int_equal(sqs_send(c, QURL, "body", 4, 3, NULL, &eb), -1);
	assert_int_equal(eb.kind, EK_PROTO);
	assert_non_null(strstr(eb.msg, "MD5 mismatch"));
	assert_int_equal(sqs_send(c, QURL, "\xff\xfe", 2, 0, NULL, &eb), -1);
	assert_int_equal(eb.kind, EK_DATA);
	assert_int_equal(sqs_send_batch(c, QURL, es, 2, &failed, &eb), 0);
	assert_int_equal(failed, 0);
	assert_string_equal(es[1].message_id, "m2");
	assert_int_equal(sqs_create_queue(c, "q", attrs, 1, &url, &eb), 0);
	assert_string_equal(url, "http://h/1/q");
	assert_int_equal(sqs_delete_queue(c, QURL, &eb), 0);
	log = server_stop(&s);
	b = logged_body(log, 0);
	assert_string_equal(awsjson_str(b, "MessageBody"), "body");
	assert_int_equal(json_integer_value(json_object_get(b,
	    "DelaySeconds")), 3);
	json_decref(b);
	b = logged_body(log, 1);
	e = json_array_get(json_object_get(b, "Entries"), 0);
	assert_string_equal(awsjson_str(e, "Id"), "a");
	assert_string_equal(awsjson_str(e, "MessageBody"), "x");
	assert_int_equal(json_integer_value(json_object_get(e,
	    "DelaySeconds")), 5);
	json_decref(b);
	b = logged_body(log, 2);
	assert_string_equal(awsjson_str(b, "QueueName"), "q");
	assert_string_equal(awsjson_str(json_object_get(b, "Attributes"),
	    "VisibilityTimeout"), "300");
	json_decref(b);
	assert_non_null(strcasestr(log, "X-Amz-Target: AmazonSQS.DeleteQueue"));
	free(log);
	free(url);
	for (size_t i = 0; i < nitems(es); i++)
		sqs_batch_entry_release(&es[i]);
	aws_client_free(c);
	for (size_t i = 0; i < nitems(script); i++)
		free(script[i]);
}

/* The Query protocol is still there, chosen per client. */
static void
query_protocol_still_sends_forms(void **state)
{
	struct server		 s;
	struct aws_client	*c;
	struct errbuf		 eb = { 0 };
	char			*script[1], *log, *body;

	body = xstrdup("<DeleteMessageResponse><ResponseMetadata><RequestId>"
	    "r</RequestId></ResponseMetadata></DeleteMessageResponse>");
	script[0] = xasprintf("HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n"
	    "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
	free(body);
	server_start(&s, (const char *const *)script, 1);
	c = client_for(&s, AWS_SQS_QUERY);
	assert_int_equal(aws_client_sqs_protocol(c), AWS_SQS_QUERY);
	assert_int_equal(sqs_delete_message(c, QURL, "rh", &eb), 0);
	log = server_stop(&s);
	assert_non_null(strstr(log, "Action=DeleteMessage&Version=2012-11-05"));
	assert_null(strcasestr(log, "X-Amz-Target"));
	free(log);
	aws_client_free(c);
	free(script[0]);
}

static void
protocol_from_config_and_environment(void **state)
{
	static const char hy[] = "application: web\nsqs_protocol: query\n";
	static const char hbad[] = "application: web\nsqs_protocol: xml\n";
	static const char dy[] = "application: web\nstore: s3://bucket/p\n"
	    "queue: sqs\nsqs_protocol: json\ngroups:\n  prod: {}\n";
	struct aws_client_config cc = { 0 };
	struct aws_creds	 cr = { 0 };
	struct aws_client	*c;
	struct config		 cfg;
	struct deployer_config	 dcfg;
	struct errbuf		 eb = { 0 };

	config_init(&cfg);
	assert_int_equal(config_parse(&cfg, hy, strlen(hy), "hookd.yml",
	    &eb), 0);
	assert_int_equal(cfg.sqs_protocol, AWS_SQS_QUERY);
	config_release(&cfg);
	config_init(&cfg);
	assert_int_equal(config_parse(&cfg, hy, 17, "hookd.yml", &eb), 0);
	assert_int_equal(cfg.sqs_protocol, AWS_SQS_DEFAULT);
	config_release(&cfg);
	config_init(&cfg);
	assert_int_equal(config_parse(&cfg, hbad, strlen(hbad), "hookd.yml",
	    &eb), -1);
	assert_int_equal(eb.kind, EK_CONFIG);
	assert_non_null(strstr(eb.msg, "sqs_protocol: 'xml': must be json or "
	    "query"));
	config_release(&cfg);
	deployer_config_init(&dcfg);
	if (deployer_config_parse(&dcfg, dy, strlen(dy), "deployer.yml",
	    &eb) == -1)
		fail_msg("%s", eb.msg);
	assert_int_equal(dcfg.sqs_protocol, AWS_SQS_JSON);
	deployer_config_release(&dcfg);

	cr.access_key = (char *)(uintptr_t)"AKIDTEST";
	cr.secret_key = (char *)(uintptr_t)"SECRETTEST";
	cc.region = "us-east-1";
	cc.creds = &cr;
	unsetenv(AWS_SQS_PROTOCOL_ENV);
	assert_non_null(c = aws_client_new(&cc, &eb));
	assert_int_equal(aws_client_sqs_protocol(c), AWS_SQS_JSON);
	aws_client_free(c);
	setenv(AWS_SQS_PROTOCOL_ENV, "query", 1);
	assert_non_null(c = aws_client_new(&cc, &eb));
	assert_int_equal(aws_client_sqs_protocol(c), AWS_SQS_QUERY);
	aws_client_free(c);
	/* The configuration's choice wins over the environment's. */
	cc.sqs_protocol = AWS_SQS_JSON;
	assert_non_null(c = aws_client_new(&cc, &eb));
	assert_int_equal(aws_client_sqs_protocol(c), AWS_SQS_JSON);
	aws_client_free(c);
	cc.sqs_protocol = AWS_SQS_DEFAULT;
	setenv(AWS_SQS_PROTOCOL_ENV, "Query", 1);
	assert_null(aws_client_new(&cc, &eb));
	assert_int_equal(eb.kind, EK_CONFIG);
	assert_string_equal(eb.msg, "HOOKD_SQS_PROTOCOL is 'Query': must be "
	    "json or query");
	unsetenv(AWS_SQS_PROTOCOL_ENV);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		/* First: nothing may have loaded libxml2 before it. */
		cmocka_unit_test(json_path_never_loads_libxml2),
		cmocka_unit_test(parses_wire_receive_message),
		cmocka_unit_test(receive_rejects_bad_md5_and_shapes),
		cmocka_unit_test(parses_json_documents_strictly),
		cmocka_unit_test(error_code_prefers_the_query_code),
		cmocka_unit_test(parses_list_queues_and_batches),
		cmocka_unit_test(receive_sends_aws_json),
		cmocka_unit_test(errors_map_as_on_query),
		cmocka_unit_test(send_checks_md5_and_builds_entries),
		cmocka_unit_test(query_protocol_still_sends_forms),
		cmocka_unit_test(protocol_from_config_and_environment),
	};

	unsetenv("AWS_PROFILE");
	unsetenv(AWS_SQS_PROTOCOL_ENV);
	unsetenv("AWS_ENDPOINT_URL_SQS");
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
