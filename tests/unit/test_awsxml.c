/* SPDX-License-Identifier: ISC */
/*
 * test_awsxml: AWS error documents (Query, EC2-style, S3) from the shared
 * wire examples and our fixtures, lookups by local name, and hostile XML
 * (entity expansion, external entities, deep nesting, oversize, not XML).
 */
#include "compat.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "aws/xml.h"
#include "errbuf.h"
#include "slurp.h"
#include "xalloc.h"

#define WIRE	SHARED_DIR "/aws-wire-examples/"
#define FIX	FIXTURES "/aws/"

static int
parse_error_file(const char *path, struct awsxml_error *e, struct errbuf *eb)
{
	char	*d;
	size_t	 len;
	int	 rc;

	d = slurp(path, &len);
	awsxml_error_init(e);
	rc = awsxml_parse_error(d, len, e, eb);
	free(d);
	return rc;
}

static void
awsxml_parses_sqs_query_error(void **state)
{
	struct awsxml_error	 e;
	struct errbuf		 eb = { 0 };

	assert_int_equal(parse_error_file(WIRE
	    "sqs-query-error-NonExistentQueue.response.xml", &e, &eb), 0);
	assert_string_equal(e.type, "Sender");
	assert_string_equal(e.code, "AWS.SimpleQueueService.NonExistentQueue");
	assert_string_equal(e.message,
	    "The specified queue does not exist for this wsdl version.");
	assert_string_equal(e.request_id,
	    "42d59b56-7407-4c4a-be0f-4c88daeea257");
	awsxml_error_release(&e);

	/* moto's shape: ErrorResponse/Errors/Error, no RequestId. */
	assert_int_equal(parse_error_file(FIX
	    "query-error-errors-wrapper.xml", &e, &eb), 0);
	assert_string_equal(e.type, "Sender");
	assert_string_equal(e.code, "AWS.SimpleQueueService.NonExistentQueue");
	assert_string_equal(e.message, "The specified queue does not exist.");
	assert_null(e.request_id);
	awsxml_error_release(&e);
}

static void
awsxml_parses_autoscaling_error(void **state)
{
	struct awsxml_error	 e;
	struct errbuf		 eb = { 0 };

	assert_int_equal(parse_error_file(WIRE
	    "autoscaling-query-error-ValidationError.response.xml", &e, &eb),
	    0);
	assert_string_equal(e.code, "ValidationError");
	assert_non_null(strstr(e.message, "No active Lifecycle Action found"));
	assert_string_equal(e.request_id,
	    "7c6e177f-f082-11e1-ac58-3714bEXAMPLE");
	awsxml_error_release(&e);
}

static void
awsxml_parses_s3_and_ec2_errors(void **state)
{
	struct awsxml_error	 e;
	struct errbuf		 eb = { 0 };

	assert_int_equal(parse_error_file(FIX "s3-error-NoSuchKey.xml", &e,
	    &eb), 0);
	assert_string_equal(e.code, "NoSuchKey");
	assert_string_equal(e.message, "The specified key does not exist.");
	assert_string_equal(e.request_id, "4442587FB7D0A2F9");
	assert_null(e.type);
	awsxml_error_release(&e);

	assert_int_equal(parse_error_file(FIX "ec2-error.xml", &e, &eb), 0);
	assert_string_equal(e.code, "RequestLimitExceeded");
	assert_string_equal(e.request_id, "ea966190-f9aa-478e-9ede-example");
	awsxml_error_release(&e);
}

static void
awsxml_reads_cdata_and_escapes(void **state)
{
	struct awsxml_error	 e;
	struct errbuf		 eb = { 0 };

	assert_int_equal(parse_error_file(FIX "cdata-message.xml", &e, &eb),
	    0);
	assert_string_equal(e.code, "InvalidParameterValue");
	assert_string_equal(e.message, "Value <x> & y is invalid");
	awsxml_error_release(&e);
}

static void
awsxml_quotes_the_servers_text(void **state)
{
	static const char doc[] = "<ErrorResponse><Error><Code>Bad&#9;Code"
	    "</Code><Message>line one&#10;line \"two\"</Message></Error>"
	    "<RequestId>r-1</RequestId></ErrorResponse>";
	struct awsxml_error	 e;
	struct errbuf		 eb = { 0 };

	assert_int_equal(awsxml_parse_error(doc, sizeof(doc) - 1, &e, &eb),
	    0);
	assert_string_equal(e.code, "Bad\\x09Code");
	assert_string_equal(e.message, "line one\\x0aline \\\"two\\\"");
	assert_string_equal(e.request_id, "r-1");
	awsxml_error_release(&e);
}

static void
awsxml_rejects_document_without_code(void **state)
{
	struct awsxml_error	 e;
	struct errbuf		 eb = { 0 };

	assert_int_equal(parse_error_file(FIX "error-no-code.xml", &e, &eb),
	    -1);
	assert_int_equal(eb.kind, EK_PROTO);
	assert_non_null(strstr(eb.msg, "not an AWS error document"));
}

static void
awsxml_rejects_not_xml(void **state)
{
	struct awsxml_error	 e;
	struct errbuf		 eb = { 0 };

	assert_int_equal(parse_error_file(FIX "not-xml.txt", &e, &eb), -1);
	assert_int_equal(eb.kind, EK_PROTO);
	assert_non_null(strstr(eb.msg, "not XML: 1:"));
	errbuf_clear(&eb);
	assert_null(awsxml_parse("", 0, &eb));
	assert_int_equal(eb.kind, EK_PROTO);
}

static void
awsxml_refuses_entity_expansion(void **state)
{
	struct awsxml_error	 e;
	struct errbuf		 eb = { 0 };

	assert_int_equal(parse_error_file(FIX "xml-billion-laughs.xml", &e,
	    &eb), -1);
	assert_int_equal(eb.kind, EK_PROTO);
	/* Refused (DOCTYPE) or rejected by libxml2's amplification guard. */
	assert_true(strstr(eb.msg, "DOCTYPE") != NULL ||
	    strstr(eb.msg, "not XML") != NULL);

	errbuf_clear(&eb);
	assert_int_equal(parse_error_file(FIX "xml-xxe.xml", &e, &eb), -1);
	assert_int_equal(eb.kind, EK_PROTO);
	assert_null(strstr(eb.msg, "root:"));	/* no /etc/passwd content */
}

static void
awsxml_refuses_deep_nesting(void **state)
{
	struct errbuf	 eb = { 0 };
	char		*doc, *p;
	int		 levels[] = { AWSXML_DEPTH_MAX + 1, 5000 };

	for (size_t k = 0; k < nitems(levels); k++) {
		int	n = levels[k];

		doc = xmalloc((size_t)n * 7 + 16);
		p = doc;
		for (int i = 0; i < n; i++) {
			memcpy(p, "<a>", 3);
			p += 3;
		}
		for (int i = 0; i < n; i++) {
			memcpy(p, "</a>", 4);
			p += 4;
		}
		errbuf_clear(&eb);
		assert_null(awsxml_parse(doc, (size_t)(p - doc), &eb));
		assert_int_equal(eb.kind, EK_PROTO);
		free(doc);
	}
	/* Exactly at the cap is fine. */
	doc = xmalloc((size_t)AWSXML_DEPTH_MAX * 7 + 16);
	p = doc;
	for (int i = 0; i < AWSXML_DEPTH_MAX; i++) {
		memcpy(p, "<a>", 3);
		p += 3;
	}
	for (int i = 0; i < AWSXML_DEPTH_MAX; i++) {
		memcpy(p, "</a>", 4);
		p += 4;
	}
	{
		xmlDoc	*d = awsxml_parse(doc, (size_t)(p - doc), &eb);

		assert_non_null(d);
		awsxml_free(d);
	}
	free(doc);
}

static void
awsxml_refuses_oversize(void **state)
{
	struct errbuf	 eb = { 0 };
	char		*big;

	big = xcalloc(1, (size_t)AWSXML_DOC_MAX + 2);
	memset(big, ' ', (size_t)AWSXML_DOC_MAX + 1);
	assert_null(awsxml_parse(big, (size_t)AWSXML_DOC_MAX + 1, &eb));
	assert_int_equal(eb.kind, EK_PROTO);
	assert_non_null(strstr(eb.msg, "too large"));
	free(big);
}

static void
awsxml_iterates_by_local_name(void **state)
{
	struct errbuf	 eb = { 0 };
	xmlDoc		*doc;
	xmlNode		*r, *n;
	char		*d, *t;
	size_t		 len;
	int		 count = 0;

	d = slurp(WIRE "sqs-query-ListQueues.response.xml", &len);
	doc = awsxml_parse(d, len, &eb);
	free(d);
	assert_non_null(doc);
	r = awsxml_root(doc);
	assert_true(awsxml_is(r, "ListQueuesResponse"));
	n = awsxml_path(r, "ListQueuesResult", NULL);
	assert_non_null(n);
	for (n = awsxml_first(n, "QueueUrl"); n != NULL;
	    n = awsxml_next(n, "QueueUrl")) {
		t = awsxml_text(n);
		assert_non_null(strstr(t, "://"));
		free(t);
		count++;
	}
	assert_true(count > 0);
	t = awsxml_child_text(awsxml_child(r, "ResponseMetadata"),
	    "RequestId");
	assert_non_null(t);
	free(t);
	assert_null(awsxml_path(r, "ListQueuesResult", "Nope", NULL));
	assert_null(awsxml_child_text(r, "Nope"));
	awsxml_free(doc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(awsxml_parses_sqs_query_error),
		cmocka_unit_test(awsxml_parses_autoscaling_error),
		cmocka_unit_test(awsxml_parses_s3_and_ec2_errors),
		cmocka_unit_test(awsxml_reads_cdata_and_escapes),
		cmocka_unit_test(awsxml_quotes_the_servers_text),
		cmocka_unit_test(awsxml_rejects_document_without_code),
		cmocka_unit_test(awsxml_rejects_not_xml),
		cmocka_unit_test(awsxml_refuses_entity_expansion),
		cmocka_unit_test(awsxml_refuses_deep_nesting),
		cmocka_unit_test(awsxml_refuses_oversize),
		cmocka_unit_test(awsxml_iterates_by_local_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
