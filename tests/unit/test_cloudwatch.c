/* SPDX-License-Identifier: ISC */
/*
 * test_cloudwatch: lib/aws/cloudwatch.c and lib/aws/sns.c, the two calls
 * of the deployer's rollout gates.  The reply parsers fed from
 * tests/fixtures/aws/ (metric and composite alarms, a NextToken page,
 * Publish); the calls end to end against the scripted loopback server
 * (what is sent: action, version, names, the signing scope "monitoring"
 * and "sns", the NextToken of the previous page; the checks made before
 * sending; the $AWS_ENDPOINT_URL_CLOUDWATCH / _SNS overrides).
 */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libxml/parser.h>

#include "aws/client.h"
#include "aws/cloudwatch.h"
#include "aws/sns.h"
#include "aws/xml.h"
#include "errbuf.h"
#include "scripted_server.h"
#include "slurp.h"
#include "xml_fixture.h"
#include "xalloc.h"

#define FIX	FIXTURES "/aws/"
#define HDR_OK	"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n" \
		"x-amzn-RequestId: ok-1\r\nContent-Length: %zu\r\n\r\n%s"

static xmlDoc *
parse(const char *text)
{
	struct errbuf	 eb = { 0 };
	xmlDoc		*doc;

	if ((doc = awsxml_parse(text, strlen(text), &eb)) == NULL)
		fail_msg("%s", eb.msg);
	return doc;
}

/* A 200 reply whose body is the fixture file name. */
static char *
fixture_reply(const char *name)
{
	char	*path, *body, *r;

	path = xasprintf("%s%s", FIX, name);
	body = slurp(path, NULL);
	r = xasprintf(HDR_OK, strlen(body), body);
	free(body);
	free(path);
	return r;
}

static int
count(const char *hay, const char *needle)
{
	int	n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

static void
cw_parse_reads_metric_and_composite_alarms(void **state)
{
	struct cw_alarms	 l = { 0 };
	const struct cw_alarm	*a;
	struct errbuf		 eb = { 0 };
	xmlDoc			*doc;
	char			*next = NULL;

	doc = xml_load(FIX "cw-DescribeAlarms-page1.xml");
	assert_int_equal(cw_parse_alarms(doc, &l, &next, &eb), 0);
	awsxml_free(doc);
	assert_string_equal(next, "cGFnZTI=");
	free(next);
	doc = xml_load(FIX "cw-DescribeAlarms-page2.xml");
	assert_int_equal(cw_parse_alarms(doc, &l, &next, &eb), 0);
	awsxml_free(doc);
	assert_null(next);
	assert_int_equal(l.n, 3);
	assert_non_null(a = cw_alarms_find(&l, "web-5xx"));
	assert_string_equal(a->state, "ALARM");
	assert_true(strncmp(a->reason, "Threshold Crossed: 1 out of", 27) ==
	    0);
	assert_string_equal(a->updated, "2026-12-07T11:41:02.123Z");
	assert_false(a->composite);
	assert_non_null(a = cw_alarms_find(&l, "web-p99"));
	assert_string_equal(a->state, "INSUFFICIENT_DATA");
	assert_null(a->reason);
	assert_non_null(a = cw_alarms_find(&l, "web-health"));
	assert_true(a->composite);
	assert_string_equal(a->state, "OK");
	assert_null(cw_alarms_find(&l, "web"));
	cw_alarms_release(&l);
	cw_alarms_release(&l);	/* safe twice */
}

static void
cw_parse_refuses_broken_replies(void **state)
{
	struct cw_alarms	 l = { 0 };
	struct errbuf		 eb = { 0 };
	xmlDoc			*doc;
	char			*next = NULL;

	doc = parse("<DescribeAlarmsResponse><DescribeAlarmsResult>"
	    "<MetricAlarms><member><AlarmName>a</AlarmName></member>"
	    "</MetricAlarms></DescribeAlarmsResult></DescribeAlarmsResponse>");
	assert_int_equal(cw_parse_alarms(doc, &l, &next, &eb), -1);
	assert_int_equal(eb.kind, EK_PROTO);
	assert_string_equal(eb.msg, "cloudwatch DescribeAlarms: an alarm has "
	    "no StateValue");
	awsxml_free(doc);
	cw_alarms_release(&l);
	doc = parse("<PublishResponse/>");
	assert_int_equal(cw_parse_alarms(doc, &l, &next, &eb), -1);
	assert_non_null(strstr(eb.msg, "root element is 'PublishResponse'"));
	awsxml_free(doc);
	doc = parse("<DescribeAlarmsResponse/>");
	assert_int_equal(cw_parse_alarms(doc, &l, &next, &eb), -1);
	awsxml_free(doc);
	/* No alarm at all is an answer: none of the names exists. */
	doc = parse("<DescribeAlarmsResponse><DescribeAlarmsResult>"
	    "<MetricAlarms/><NextToken></NextToken></DescribeAlarmsResult>"
	    "</DescribeAlarmsResponse>");
	assert_int_equal(cw_parse_alarms(doc, &l, &next, &eb), 0);
	assert_int_equal(l.n, 0);
	assert_null(next);
	awsxml_free(doc);
}

static void
cw_describe_sends_names_and_follows_next_token(void **state)
{
	struct aws_client_config cfg = { 0 };
	const char		*names[] = { "web-5xx", "web p99&x",
				    "web-health" };
	struct cw_alarms	 l;
	struct server		 s;
	struct aws_client	*c;
	struct errbuf		 eb = { 0 };
	char			*script[2], *log;

	script[0] = fixture_reply("cw-DescribeAlarms-page1.xml");
	script[1] = fixture_reply("cw-DescribeAlarms-page2.xml");
	server_start(&s, (const char *const *)script, 2);
	c = server_client(&s, &cfg, NULL);
	assert_int_equal(cw_describe_alarms(c, names, 3, &l, &eb), 0);
	assert_int_equal(l.n, 3);
	cw_alarms_release(&l);
	aws_client_free(c);
	log = server_stop(&s);
	assert_int_equal(count(log, "POST / HTTP/1.1\r\n"), 2);
	assert_int_equal(count(log, "Action=DescribeAlarms&Version=2010-08-01"
	    "&AlarmNames.member.1=web-5xx&AlarmNames.member.2=web+p99%26x"
	    "&AlarmNames.member.3=web-health&AlarmTypes.member.1=MetricAlarm"
	    "&AlarmTypes.member.2=CompositeAlarm"), 2);
	assert_int_equal(count(log, "/us-east-1/monitoring/aws4_request"), 2);
	assert_int_equal(count(log, "&NextToken=cGFnZTI%3D"), 1);
	free(log);
	free(script[0]);
	free(script[1]);
}

static void
cw_describe_checks_names_before_sending(void **state)
{
	struct aws_client_config cfg = { 0 };
	const char		*names[CW_NAMES_MAX + 1];
	char			 longname[CW_NAME_MAX + 2];
	struct cw_alarms	 l;
	struct server		 s;
	struct aws_client	*c;
	struct errbuf		 eb = { 0 };
	char			*log;

	server_start(&s, NULL, 0);
	c = server_client(&s, &cfg, NULL);
	for (size_t i = 0; i < nitems(names); i++)
		names[i] = "a";
	assert_int_equal(cw_describe_alarms(c, names, 0, &l, &eb), -1);
	assert_int_equal(eb.kind, EK_USAGE);
	assert_int_equal(cw_describe_alarms(c, names, nitems(names), &l,
	    &eb), -1);
	assert_string_equal(eb.msg, "cloudwatch DescribeAlarms: give 1 to 100 "
	    "alarm names, not 101");
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	names[1] = longname;
	assert_int_equal(cw_describe_alarms(c, names, 2, &l, &eb), -1);
	assert_string_equal(eb.msg, "cloudwatch DescribeAlarms: alarm name 2 "
	    "is empty or longer than 255 bytes");
	names[1] = "";
	assert_int_equal(cw_describe_alarms(c, names, 2, &l, &eb), -1);
	aws_client_free(c);
	log = server_stop(&s);
	assert_string_equal(log, "");
	free(log);
}

static void
overrides_pick_each_service(void **state)
{
	struct aws_client_config cfg = { 0 };
	struct server		 s;
	struct aws_client	*c;
	struct errbuf		 eb = { 0 };

	server_start(&s, NULL, 0);
	c = server_client(&s, &cfg, NULL);
	setenv("AWS_ENDPOINT_URL_CLOUDWATCH", "http://cw.example:1/", 1);
	setenv("AWS_ENDPOINT_URL_SNS", "http://sns.example:2", 1);
	assert_string_equal(aws_client_endpoint(c, &aws_svc_cloudwatch, &eb),
	    "http://cw.example:1");
	assert_string_equal(aws_client_endpoint(c, &aws_svc_sns, &eb),
	    "http://sns.example:2");
	aws_client_free(c);
	/* Endpoints are resolved on first use: after these are gone. */
	c = server_client(&s, &cfg, NULL);
	unsetenv("AWS_ENDPOINT_URL");
	unsetenv("AWS_ENDPOINT_URL_CLOUDWATCH");
	unsetenv("AWS_ENDPOINT_URL_SNS");
	assert_string_equal(aws_client_endpoint(c, &aws_svc_cloudwatch, &eb),
	    "https://monitoring.us-east-1.amazonaws.com");
	assert_string_equal(aws_client_endpoint(c, &aws_svc_sns, &eb),
	    "https://sns.us-east-1.amazonaws.com");
	aws_client_free(c);
	free(server_stop(&s));
}

static void
sns_parse_reads_message_id(void **state)
{
	struct errbuf	 eb = { 0 };
	xmlDoc		*doc;
	char		*id = NULL;

	doc = xml_load(FIX "sns-Publish.xml");
	assert_int_equal(sns_parse_publish(doc, &id, &eb), 0);
	assert_string_equal(id, "567910cd-659e-55d4-8ccb-5aaf14679dc0");
	free(id);
	awsxml_free(doc);
	doc = parse("<PublishResponse><PublishResult/></PublishResponse>");
	assert_int_equal(sns_parse_publish(doc, &id, &eb), -1);
	assert_string_equal(eb.msg, "sns Publish: unexpected reply: no "
	    "MessageId");
	awsxml_free(doc);
}

static void
sns_publish_sends_topic_subject_message(void **state)
{
	struct aws_client_config cfg = { 0 };
	struct server		 s;
	struct aws_client	*c;
	struct errbuf		 eb = { 0 };
	char			*script[1], *log, *id = NULL;

	script[0] = fixture_reply("sns-Publish.xml");
	server_start(&s, (const char *const *)script, 1);
	c = server_client(&s, &cfg, NULL);
	assert_int_equal(sns_publish(c, "arn:aws:sns:us-east-1:123456789012:"
	    "deploys", "hookd web/production", "{\"outcome\": \"Stopped\"}",
	    &id, &eb), 0);
	assert_string_equal(id, "567910cd-659e-55d4-8ccb-5aaf14679dc0");
	free(id);
	aws_client_free(c);
	log = server_stop(&s);
	assert_non_null(strstr(log, "Action=Publish&Version=2010-03-31&"
	    "TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A123456789012%3Adeploys&"
	    "Message=%7B%22outcome%22%3A+%22Stopped%22%7D&"
	    "Subject=hookd+web%2Fproduction"));
	assert_non_null(strstr(log, "/us-east-1/sns/aws4_request"));
	free(log);
	free(script[0]);
}

static void
sns_publish_checks_before_sending(void **state)
{
	struct aws_client_config cfg = { 0 };
	struct server		 s;
	struct aws_client	*c;
	struct errbuf		 eb = { 0 };
	const char		*arn = "arn:aws:sns:us-east-1:1:t";
	char			*big, *log;

	server_start(&s, NULL, 0);
	c = server_client(&s, &cfg, NULL);
	assert_int_equal(sns_publish(c, "deploys", NULL, "m", NULL, &eb), -1);
	assert_string_equal(eb.msg, "sns Publish: 'deploys' is not a topic "
	    "ARN");
	assert_int_equal(sns_publish(c, arn, NULL, "", NULL, &eb), -1);
	assert_int_equal(eb.kind, EK_USAGE);
	big = xmalloc(SNS_MESSAGE_MAX + 2);
	memset(big, 'm', SNS_MESSAGE_MAX + 1);
	big[SNS_MESSAGE_MAX + 1] = '\0';
	assert_int_equal(sns_publish(c, arn, NULL, big, NULL, &eb), -1);
	assert_non_null(strstr(eb.msg, "must be 1 to 262144 bytes"));
	free(big);
	assert_int_equal(sns_publish(c, arn, "a\nb", "m", NULL, &eb), -1);
	assert_non_null(strstr(eb.msg, "subject"));
	assert_int_equal(sns_publish(c, arn, "caf\xc3\xa9", "m", NULL, &eb),
	    -1);
	assert_false(sns_subject_ok(""));
	assert_true(sns_subject_ok("hookd web/production: Stopped"));
	aws_client_free(c);
	log = server_stop(&s);
	assert_string_equal(log, "");
	free(log);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cw_parse_reads_metric_and_composite_alarms),
		cmocka_unit_test(cw_parse_refuses_broken_replies),
		cmocka_unit_test(
		    cw_describe_sends_names_and_follows_next_token),
		cmocka_unit_test(cw_describe_checks_names_before_sending),
		cmocka_unit_test(overrides_pick_each_service),
		cmocka_unit_test(sns_parse_reads_message_id),
		cmocka_unit_test(sns_publish_sends_topic_subject_message),
		cmocka_unit_test(sns_publish_checks_before_sending),
	};
	int	rv;

	rv = cmocka_run_group_tests(tests, NULL, NULL);
	xmlCleanupParser();
	return rv;
}
