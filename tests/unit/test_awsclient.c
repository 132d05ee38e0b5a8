/* SPDX-License-Identifier: ISC */
/*
 * test_awsclient: aws_request() against a scripted loopback HTTP server
 * forked by the test (127.0.0.1, a kernel-chosen port).  The server
 * answers each request with the next canned reply and records every raw
 * request to a file; the tests then check retries, error messages and
 * kinds, clock-skew correction, streamed downloads with a retry, and --
 * by re-signing the recorded request -- that what libcurl sent is exactly
 * what was signed.
 */
#include "compat.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "aws/client.h"
#include "aws/creds.h"
#include "aws/sigv4.h"
#include "errbuf.h"
#include "http.h"
#include "scripted_server.h"
#include "xalloc.h"

/* A literal, so the format is checked at every -O. */
#define HDR_OK	"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n" \
		"x-amzn-RequestId: ok-1\r\nContent-Length: %zu\r\n\r\n%s"

static int
count(const char *hay, const char *needle)
{
	int	n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

static struct aws_client *
client_for(struct server *s, unsigned int attempts)
{
	struct aws_client_config cfg = { 0 };

	cfg.max_attempts = attempts;
	return server_client(s, &cfg, "TOKENTEST");
}

static const struct aws_param send_form[] = {
	{ "Action", "SendMessage" }, { "Version", "2012-11-05" },
	{ "QueueUrl", "http://127.0.0.1/123456789012/q" },
	{ "MessageBody", "{\"a\": \"b c\"}" },
};

static void
sqs_req(struct aws_request *r)
{
	memset(r, 0, sizeof(*r));
	r->svc = &aws_svc_sqs;
	r->op = "SendMessage";
	r->form = send_form;
	r->nform = nitems(send_form);
	r->body_fd = -1;
	r->out_fd = -1;
}

static char *
ok_reply(const char *body)
{
	return xasprintf(HDR_OK, strlen(body), body);
}

static char *
err_reply(int status, const char *code, const char *msg, const char *extra)
{
	char	*body, *r;

	body = xasprintf("<ErrorResponse><Error><Type>Sender</Type><Code>%s"
	    "</Code><Message>%s</Message></Error><RequestId>rid-%d"
	    "</RequestId></ErrorResponse>", code, msg, status);
	r = xasprintf("HTTP/1.1 %d X\r\nContent-Type: text/xml\r\n%s"
	    "Content-Length: %zu\r\n\r\n%s", status, extra, strlen(body),
	    body);
	free(body);
	return r;
}

static void
client_retries_5xx_then_succeeds(void **state)
{
	struct server		 s;
	struct aws_client	*c;
	struct aws_request	 req;
	struct aws_result	 res;
	struct errbuf		 eb = { 0 };
	char			*script[2], *log;

	script[0] = err_reply(500, "InternalError", "try again", "");
	script[1] = ok_reply("<SendMessageResponse/>");
	server_start(&s, (const char *const *)script, 2);
	c = client_for(&s, 3);
	sqs_req(&req);
	aws_result_init(&res);
	assert_int_equal(aws_request(c, &req, &res, &eb), 0);
	assert_int_equal(res.status, 200);
	assert_int_equal(res.attempts, 2);
	assert_string_equal(res.request_id, "ok-1");
	assert_non_null(strstr(buf_str(&res.body), "SendMessageResponse"));
	log = server_stop(&s);
	assert_int_equal(count(log, "POST / HTTP/1.1\r\n"), 2);
	assert_int_equal(count(log, "Authorization: AWS4-HMAC-SHA256 "
	    "Credential=AKIDTEST/"), 2);
	assert_non_null(strstr(log, "Content-Type: application/"
	    "x-www-form-urlencoded; charset=utf-8\r\n"));
	assert_non_null(strstr(log, "User-Agent: hookd/"));
	assert_non_null(strstr(log, "X-Amz-Security-Token: TOKENTEST\r\n"));
	assert_non_null(strstr(log, "MessageBody=%7B%22a%22%3A+%22b+c"
	    "%22%7D"));
	assert_null(strstr(log, "SECRETTEST"));
	assert_null(strstr(log, "Expect:"));
	free(log);
	aws_result_release(&res);
	aws_client_free(c);
	free(script[0]);
	free(script[1]);
}

static void
client_gives_up_on_throttling_with_temp(void **state)
{
	struct server		 s;
	struct aws_client	*c;
	struct aws_request	 req;
	struct aws_result	 res;
	struct errbuf		 eb = { 0 };
	char			*script[3], *log;

	for (size_t i = 0; i < 3; i++)
		script[i] = err_reply(400, "Throttling", "Rate exceeded", "");
	server_start(&s, (const char *const *)script, 3);
	c = client_for(&s, 3);
	sqs_req(&req);
	aws_result_init(&res);
	assert_int_equal(aws_request(c, &req, &res, &eb), -1);
	assert_int_equal(eb.kind, EK_TEMP);
	assert_string_equal(eb.msg, "sqs SendMessage: Throttling: Rate "
	    "exceeded (request id rid-400)");
	assert_int_equal(res.attempts, 3);
	assert_int_equal(res.status, 400);
	assert_string_equal(res.code, "Throttling");
	log = server_stop(&s);
	assert_int_equal(count(log, "POST / HTTP/1.1\r\n"), 3);
	free(log);
	aws_result_release(&res);
	aws_client_free(c);
	for (size_t i = 0; i < 3; i++)
		free(script[i]);
}

static void
client_reports_4xx_once_with_code(void **state)
{
	struct server		 s;
	struct aws_client	*c;
	struct aws_request	 req;
	struct aws_result	 res;
	struct errbuf		 eb = { 0 };
	char			*script[2], *log;

	script[0] = err_reply(400, "AWS.SimpleQueueService.NonExistentQueue",
	    "The specified queue does not exist", "");
	script[1] = err_reply(403, "InvalidClientTokenId", "The security "
	    "token included in the request is invalid.", "");
	server_start(&s, (const char *const *)script, 2);
	c = client_for(&s, 3);
	sqs_req(&req);
	req.op = "ReceiveMessage";
	aws_result_init(&res);
	assert_int_equal(aws_request(c, &req, &res, &eb), -1);
	assert_int_equal(eb.kind, EK_PROTO);
	assert_string_equal(eb.msg, "sqs ReceiveMessage: "
	    "AWS.SimpleQueueService.NonExistentQueue: The specified queue "
	    "does not exist (request id rid-400)");
	assert_int_equal(res.attempts, 1);
	/* A bad key: permission, not retried (static creds). */
	assert_int_equal(aws_request(c, &req, &res, &eb), -1);
	assert_int_equal(eb.kind, EK_PERM);
	assert_int_equal(res.status, 403);
	assert_int_equal(res.attempts, 1);
	log = server_stop(&s);
	free(log);
	aws_result_release(&res);
	aws_client_free(c);
	free(script[0]);
	free(script[1]);
}

static void
client_corrects_clock_skew_from_date(void **state)
{
	struct server		 s;
	struct aws_client	*c;
	struct aws_request	 req;
	struct aws_result	 res;
	struct errbuf		 eb = { 0 };
	char			*script[2], *log, *extra, date[64];
	time_t			 ahead = time(NULL) + 3600;
	struct tm		 tm;

	gmtime_r(&ahead, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	extra = xasprintf("Date: %s\r\n", date);
	script[0] = err_reply(403, "SignatureDoesNotMatch", "Signature "
	    "expired: is now earlier than ...", extra);
	script[1] = ok_reply("<SendMessageResponse/>");
	server_start(&s, (const char *const *)script, 2);
	c = client_for(&s, 1);		/* the skew retry is extra */
	sqs_req(&req);
	aws_result_init(&res);
	assert_int_equal(aws_request(c, &req, &res, &eb), 0);
	assert_int_equal(res.attempts, 2);
	assert_true(aws_client_skew(c) > 3590 && aws_client_skew(c) < 3610);
	log = server_stop(&s);
	{
		char	want[17];

		/* The second request carries the server's idea of now. */
		sigv4_amz_date(ahead, want);
		want[11] = '\0';	/* YYYYMMDDTHH: minute may tick */
		assert_non_null(strstr(strstr(log, "=====") , want));
	}
	free(log);
	free(extra);
	aws_result_release(&res);
	aws_client_free(c);
	free(script[0]);
	free(script[1]);
}

struct digest {
	size_t	bytes;
	int	resets;
};

static int
on_chunk(void *arg, const void *data, size_t len)
{
	struct digest	*d = arg;

	d->bytes += len;
	return 0;
}

static void
on_reset(void *arg)
{
	struct digest	*d = arg;

	d->bytes = 0;
	d->resets++;
}

static void
client_streams_download_and_restarts_after_partial(void **state)
{
	struct server		 s;
	struct aws_client	*c;
	struct aws_request	 req = { 0 };
	struct aws_result	 res;
	struct errbuf		 eb = { 0 };
	struct digest		 d = { 0 };
	const char		*script[3];
	char			 path[] = "/tmp/test_awsclient.out.XXXXXX";
	char			 got[64], *log;
	int			 fd;
	ssize_t			 n;

	/* Truncated reply (transient), then the whole object, then 404. */
	script[0] = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n"
	    "Connection: close\r\n\r\nhello";
	script[1] = "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n"
	    "x-amz-request-id: s3rid\r\nETag: \"abc\"\r\n\r\nhello world";
	script[2] = "HTTP/1.1 404 Not Found\r\n"
	    "Content-Type: application/xml\r\nContent-Length: 116\r\n\r\n"
	    "<Error><Code>NoSuchKey</Code>"
	    "<Message>The specified key does not exist.</Message>"
	    "<RequestId>R404</RequestId></Error>";
	server_start(&s, script, 3);
	c = client_for(&s, 3);
	fd = mkstemp(path);
	assert_int_not_equal(fd, -1);
	req.svc = &aws_svc_s3;
	req.op = "GetObject";
	req.bucket = "bucket";
	req.key = "revisions/web/x.tar.gz";
	req.body_fd = -1;
	req.out_fd = fd;
	req.on_chunk = on_chunk;
	req.on_reset = on_reset;
	req.chunk_arg = &d;
	aws_result_init(&res);
	assert_int_equal(aws_request(c, &req, &res, &eb), 0);
	assert_int_equal(res.attempts, 2);
	assert_int_equal(d.resets, 1);
	assert_int_equal(d.bytes, 11);
	assert_int_equal(res.out_bytes, 11);
	assert_string_equal(aws_result_header(&res, "etag"), "\"abc\"");
	assert_int_equal(pread(fd, got, sizeof(got), 0), 11);
	n = lseek(fd, 0, SEEK_END);
	assert_int_equal(n, 11);

	/* A 404 error document goes to memory, not to the file. */
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(aws_request(c, &req, &res, &eb), -1);
	assert_int_equal(eb.kind, EK_NOINPUT);
	assert_string_equal(res.code, "NoSuchKey");
	assert_string_equal(eb.msg, "s3 GetObject: NoSuchKey: The specified "
	    "key does not exist. (request id R404)");
	assert_int_equal(lseek(fd, 0, SEEK_END), 0);
	close(fd);
	unlink(path);
	log = server_stop(&s);
	/* 127.0.0.1 endpoint: path-style; S3 signs the payload hash. */
	assert_int_equal(count(log, "GET /bucket/revisions/web/x.tar.gz "
	    "HTTP/1.1\r\n"), 3);
	assert_non_null(strstr(log, "x-amz-content-sha256: "
	    SIGV4_EMPTY_SHA256 "\r\n"));
	free(log);
	aws_result_release(&res);
	aws_client_free(c);
}

static void
client_streams_upload_from_fd_with_condition(void **state)
{
	struct server		 s;
	struct aws_client	*c;
	struct aws_request	 req = { 0 };
	struct aws_result	 res;
	struct http_headers	 h;
	struct errbuf		 eb = { 0 };
	const char		*script[2];
	char			 path[] = "/tmp/test_awsclient.in.XXXXXX";
	char			 hash[SIGV4_HEX_LEN + 1], *log, *want;
	int			 fd;

	script[0] = "HTTP/1.1 412 Precondition Failed\r\n"
	    "Content-Length: 108\r\n\r\n"
	    "<Error><Code>PreconditionFailed</Code><Message>At least one "
	    "failed</Message><RequestId>P</RequestId></Error>";
	script[1] = "HTTP/1.1 200 OK\r\nETag: \"e1\"\r\n"
	    "Content-Length: 0\r\n\r\n";
	server_start(&s, script, 2);
	c = client_for(&s, 3);
	fd = mkstemp(path);
	assert_int_not_equal(fd, -1);
	assert_int_equal(write(fd, "XXXXupload-body-data", 20), 20);
	sigv4_sha256_hex("upload-body-data", 16, hash);
	http_headers_init(&h);
	http_headers_add(&h, "If-None-Match", "*");
	req.svc = &aws_svc_s3;
	req.op = "PutObject";
	req.method = "PUT";
	req.bucket = "bucket";
	req.key = "k";
	req.headers = &h;
	req.body_fd = fd;
	req.body_off = 4;
	req.body_len = 16;
	req.payload_hash = hash;
	req.out_fd = -1;
	aws_result_init(&res);
	assert_int_equal(aws_request(c, &req, &res, &eb), -1);
	assert_int_equal(eb.kind, EK_PROTO);
	assert_int_equal(res.status, 412);
	assert_string_equal(res.code, "PreconditionFailed");
	assert_int_equal(res.attempts, 1);
	assert_int_equal(aws_request(c, &req, &res, &eb), 0);
	assert_string_equal(aws_result_header(&res, "ETag"), "\"e1\"");
	close(fd);
	unlink(path);
	log = server_stop(&s);
	assert_int_equal(count(log, "PUT /bucket/k HTTP/1.1\r\n"), 2);
	assert_int_equal(count(log, "\r\n\r\nupload-body-data\n====="), 2);
	assert_int_equal(count(log, "If-None-Match: *\r\n"), 2);
	assert_int_equal(count(log, "Content-Length: 16\r\n"), 2);
	want = xasprintf("x-amz-content-sha256: %s\r\n", hash);
	assert_int_equal(count(log, want), 2);
	free(want);
	free(log);
	http_headers_release(&h);
	aws_result_release(&res);
	aws_client_free(c);
}

/* Parse "Name: value" lines of a recorded request into hl. */
static void
parse_recorded(const char *req, char **ret_path, char **ret_body,
    struct http_headers *hl)
{
	const char	*p, *e, *sp;

	e = strstr(req, "\r\n");
	sp = strchr(req, ' ');
	*ret_path = xstrndup(sp + 1, (size_t)(strchr(sp + 1, ' ') - sp - 1));
	for (p = e + 2; strncmp(p, "\r\n", 2) != 0; p = e + 2) {
		const char	*colon;
		char		*name, *val;

		e = strstr(p, "\r\n");
		colon = strchr(p, ':');
		name = xstrndup(p, (size_t)(colon - p));
		val = xstrndup(colon + 2, (size_t)(e - colon - 2));
		http_headers_add(hl, name, val);
		free(name);
		free(val);
	}
	*ret_body = xstrndup(p + 2, strcspn(p + 2, "\n") - 0);
	(*ret_body)[strcspn(*ret_body, "\n")] = '\0';
}

static void
client_signs_exactly_what_libcurl_sends(void **state)
{
	struct server		 s;
	struct aws_client	*c;
	struct aws_request	 req;
	struct aws_result	 res;
	struct errbuf		 eb = { 0 };
	struct http_headers	 sent, resign;
	struct sigv4_params	 p = { 0 };
	struct sigv4_request	 sr = { 0 };
	struct sigv4_result	 sres;
	struct tm		 tm;
	char			*script[1], *log, *path, *body, *sh, *e;
	const char		*authz;

	script[0] = ok_reply("<SendMessageResponse/>");
	server_start(&s, (const char *const *)script, 1);
	c = client_for(&s, 1);
	sqs_req(&req);
	aws_result_init(&res);
	assert_int_equal(aws_request(c, &req, &res, &eb), 0);
	log = server_stop(&s);

	http_headers_init(&sent);
	http_headers_init(&resign);
	parse_recorded(log, &path, &body, &sent);
	authz = http_headers_get(&sent, "Authorization");
	assert_non_null(authz);
	/* Re-sign only the headers the client said it signed. */
	sh = xstrdup(strstr(authz, "SignedHeaders=") + 14);
	sh[strcspn(sh, ",")] = '\0';
	for (char *h = sh, *next; h != NULL; h = next) {
		if ((next = strchr(h, ';')) != NULL)
			*next++ = '\0';
		assert_non_null(http_headers_get(&sent, h));
		http_headers_add(&resign, h, http_headers_get(&sent, h));
	}
	memset(&tm, 0, sizeof(tm));
	e = strptime(http_headers_get(&sent, "X-Amz-Date"), "%Y%m%dT%H%M%SZ",
	    &tm);
	assert_non_null(e);
	p.access_key = "AKIDTEST";
	p.secret_key = "SECRETTEST";
	p.session_token = "TOKENTEST";
	p.region = "us-east-1";
	p.service = "sqs";
	p.now = timegm(&tm);
	p.normalize_path = true;
	p.double_encode = true;
	sr.method = "POST";
	sr.path = path;
	sr.headers = &resign;
	sr.body = body;
	sr.body_len = strlen(body);
	sigv4_result_init(&sres);
	assert_int_equal(sigv4_sign_headers(&p, &sr, &sres, &eb), 0);
	assert_string_equal(sres.authorization, authz);
	{
		char	*host = xasprintf("127.0.0.1:%d", s.port);

		assert_string_equal(http_headers_get(&sent, "Host"), host);
		free(host);
	}
	sigv4_result_release(&sres);
	http_headers_release(&sent);
	http_headers_release(&resign);
	free(sh);
	free(path);
	free(body);
	free(log);
	aws_result_release(&res);
	aws_client_free(c);
	free(script[0]);
}

static void
client_form_encodes_urlencoded(void **state)
{
	static const struct aws_param	 p[] = {
		{ "MessageBody", "a b&c=d/\xc3\xa9~+%20" },
		{ "Flag", NULL },
		{ "Attribute.1.Name", "x y" },
	};
	char				*s;

	s = aws_form_encode(p, nitems(p));
	assert_string_equal(s, "MessageBody=a+b%26c%3Dd%2F%C3%A9~%2B%2520&"
	    "Flag&Attribute.1.Name=x+y");
	free(s);
	s = aws_form_encode(p, 0);
	assert_string_equal(s, "");
	free(s);
}

/*
 * Send req (NULL: sqs_req()) once to a server answering 'reply' (taken);
 * returns aws_request()'s result, with the server's log in *ret_log.
 */
static int
exchange_once(char *reply, const struct aws_request *req,
    struct aws_result *res, struct errbuf *eb, char **ret_log)
{
	struct server		 s;
	struct aws_client	*c;
	struct aws_request	 dflt;
	int			 rc;

	server_start(&s, (const char *const *)&reply, 1);
	c = client_for(&s, 3);
	if (req == NULL) {
		sqs_req(&dflt);
		req = &dflt;
	}
	aws_result_init(res);
	rc = aws_request(c, req, res, eb);
	*ret_log = server_stop(&s);
	aws_client_free(c);
	free(reply);
	return rc;
}

static void
client_form_uses_plus_and_query_keeps_pct20(void **state)
{
	static const struct aws_param	 q[] = { { "prefix", "a b" } };
	struct aws_request		 req;
	struct aws_result		 res;
	struct errbuf			 eb = { 0 };
	char				*log;

	sqs_req(&req);
	req.query = q;
	req.nquery = nitems(q);
	assert_int_equal(exchange_once(ok_reply("<SendMessageResponse/>"),
	    &req, &res, &eb, &log), 0);
	/* The URL query: SigV4 canonical form, a space is %20 ... */
	assert_non_null(strstr(log, "POST /?prefix=a%20b HTTP/1.1\r\n"));
	/* ... the form body: a space is '+'. */
	assert_non_null(strstr(log, "\r\n\r\nAction=SendMessage&"
	    "Version=2012-11-05&QueueUrl=http%3A%2F%2F127.0.0.1%2F"
	    "123456789012%2Fq&MessageBody=%7B%22a%22%3A+%22b+c%22%7D"));
	free(log);
	aws_result_release(&res);
}

static void
client_reads_moto_style_error_document(void **state)
{
	struct aws_result	 res;
	struct errbuf		 eb = { 0 };
	char			*reply, *log, *body;

	/* moto's shape: ErrorResponse/Errors/Error, no RequestId. */
	body = xstrdup("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	    "<ErrorResponse><Errors><Error><Code>SignatureDoesNotMatch"
	    "</Code><Message>The request signature we calculated does not "
	    "match</Message><Type>Sender</Type></Error></Errors>"
	    "</ErrorResponse>");
	reply = xasprintf("HTTP/1.1 403 Forbidden\r\nContent-Type: "
	    "text/xml\r\nContent-Length: %zu\r\n\r\n%s", strlen(body), body);
	assert_int_equal(exchange_once(reply, NULL, &res, &eb, &log), -1);
	assert_int_equal(eb.kind, EK_PERM);
	assert_string_equal(res.code, "SignatureDoesNotMatch");
	assert_string_equal(eb.msg, "sqs SendMessage: SignatureDoesNotMatch: "
	    "The request signature we calculated does not match");
	assert_int_equal(res.attempts, 1);
	free(log);
	free(body);
	aws_result_release(&res);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(client_retries_5xx_then_succeeds),
		cmocka_unit_test(client_gives_up_on_throttling_with_temp),
		cmocka_unit_test(client_reports_4xx_once_with_code),
		cmocka_unit_test(client_corrects_clock_skew_from_date),
		cmocka_unit_test(
		    client_streams_download_and_restarts_after_partial),
		cmocka_unit_test(
		    client_streams_upload_from_fd_with_condition),
		cmocka_unit_test(client_signs_exactly_what_libcurl_sends),
		cmocka_unit_test(client_form_encodes_urlencoded),
		cmocka_unit_test(client_form_uses_plus_and_query_keeps_pct20),
		cmocka_unit_test(client_reads_moto_style_error_document),
	};
	int	rc;

	unsetenv("AWS_PROFILE");
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
