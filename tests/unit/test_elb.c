/* SPDX-License-Identifier: ISC */
/*
 * test_elb: lib/aws/elb.c and the traffic-source calls of lib/aws/asg.c.
 * The reply parsers read canned documents (tests/fixtures/aws/elb-*.xml,
 * asg-Describe*.xml, shaped like AWS's API reference examples); the calls
 * go to the scripted loopback server (scripted_server.h), which records
 * each request so the tests can check its form parameters, its signing
 * scope, the endpoint it went to, and what an error code turns into.
 */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <libxml/parser.h>

#include "aws/asg.h"
#include "aws/client.h"
#include "aws/elb.h"
#include "aws/xml.h"
#include "errbuf.h"
#include "scripted_server.h"
#include "slurp.h"
#include "xml_fixture.h"
#include "xalloc.h"
#include "banned.h"

#define FIX	FIXTURES "/aws/"
#define TG_ARN	"arn:aws:elasticloadbalancing:us-west-2:123456789012:" \
		"targetgroup/my-targets/73e2d6bc24d8a067"
#define TG_ARN_FORM \
		"TargetGroupArn=arn%3Aaws%3Aelasticloadbalancing%3Aus-west-2" \
		"%3A123456789012%3Atargetgroup%2Fmy-targets%2F73e2d6bc24d8a067"
#define SCOPE	"/us-east-1/elasticloadbalancing/aws4_request"

static int
count(const char *hay, const char *needle)
{
	int	n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

static char *
ok_reply(const char *body)
{
	return xasprintf("HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n"
	    "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
}

static char *
ok_file(const char *path)
{
	char	*body, *r;

	body = slurp(path, NULL);
	r = ok_reply(body);
	free(body);
	return r;
}

static char *
empty_ok(const char *action, const char *version)
{
	char	*body, *r;

	body = xasprintf("<%sResponse xmlns=\"http://elasticloadbalancing."
	    "amazonaws.com/doc/%s/\"><%sResult/><ResponseMetadata><RequestId>"
	    "r-1</RequestId></ResponseMetadata></%sResponse>", action,
	    version, action, action);
	r = ok_reply(body);
	free(body);
	return r;
}

static char *
err_reply(int status, const char *code, const char *msg)
{
	char	*body, *r;

	body = xasprintf("<ErrorResponse><Error><Type>Sender</Type><Code>%s"
	    "</Code><Message>%s</Message></Error><RequestId>rid-%d"
	    "</RequestId></ErrorResponse>", code, msg, status);
	r = xasprintf("HTTP/1.1 %d X\r\nContent-Type: text/xml\r\n"
	    "Content-Length: %zu\r\n\r\n%s", status, strlen(body), body);
	free(body);
	return r;
}

static struct aws_client *
client_for(struct server *s)
{
	struct aws_client_config cfg = { 0 };

	unsetenv("AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2");
	unsetenv("AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING");
	cfg.max_attempts = 3;
	return server_client(s, &cfg, NULL);
}

static void
free_script(char **script, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(script[i]);
}

static void
v2_health_reports_the_least_settled_port(void **state)
{
	struct elb_health	 h;
	struct errbuf		 eb = { 0 };
	xmlDoc			*doc;

	doc = xml_load(FIX "elb-DescribeTargetHealth.xml");
	assert_int_equal(elb_parse_target_health(doc, "i-0f76fade", &h, &eb),
	    0);
	assert_string_equal(h.state, "unhealthy");
	assert_string_equal(h.reason, "Target.ResponseCodeMismatch: Health "
	    "checks failed with these codes: [502]");
	assert_int_equal(elb_parse_target_health(doc, "i-0a1b2c3d", &h, &eb),
	    0);
	assert_string_equal(h.state, "draining");
	assert_string_equal(h.reason, "Target.DeregistrationInProgress: "
	    "Target deregistration is in progress");
	assert_int_equal(elb_parse_target_health(doc, "i-other", &h, &eb), 0);
	assert_string_equal(h.state, "unused");
	assert_string_equal(h.reason, "Target.NotRegistered: Target is not "
	    "registered to the target group");
	awsxml_free(doc);
	doc = xml_load(FIX "elb-DescribeTargetHealth-empty.xml");
	assert_int_equal(elb_parse_target_health(doc, "i-0f76fade", &h, &eb),
	    0);
	assert_string_equal(h.state, "unused");
	/* A reply of another operation is refused. */
	assert_int_equal(elb_parse_instance_health(doc, "i-0f76fade", &h,
	    &eb), -1);
	assert_int_equal(eb.kind, EK_PROTO);
	assert_non_null(strstr(eb.msg, "DescribeInstanceHealthResponse"));
	awsxml_free(doc);
}

static void
classic_health_states_and_reasons(void **state)
{
	struct elb_health	 h;
	struct errbuf		 eb = { 0 };
	xmlDoc			*doc;

	doc = xml_load(FIX "elb-DescribeInstanceHealth.xml");
	assert_int_equal(elb_parse_instance_health(doc, "i-90d8c2a5", &h,
	    &eb), 0);
	assert_string_equal(h.state, "InService");
	assert_string_equal(h.reason, "");	/* N/A: N/A */
	assert_int_equal(elb_parse_instance_health(doc, "i-06ea3e60", &h,
	    &eb), 0);
	assert_string_equal(h.state, "OutOfService");
	assert_string_equal(h.reason, "Instance: Instance has failed at "
	    "least the UnhealthyThreshold number of health checks "
	    "consecutively.");
	assert_int_equal(elb_parse_instance_health(doc, "i-gone", &h, &eb),
	    0);
	assert_string_equal(h.state, "OutOfService");
	assert_string_equal(h.reason, "Instance is not registered with the "
	    "load balancer");
	awsxml_free(doc);
}

static void
target_group_timing_parsed(void **state)
{
	struct errbuf	 eb = { 0 };
	xmlDoc		*doc;
	unsigned	 hc = 0, delay = 0;
	char		*arn = NULL;
	static const char no_attrs[] = "<DescribeTargetGroupAttributesResponse>"
	    "<DescribeTargetGroupAttributesResult><Attributes/>"
	    "</DescribeTargetGroupAttributesResult>"
	    "</DescribeTargetGroupAttributesResponse>";

	doc = xml_load(FIX "elb-DescribeTargetGroups.xml");
	assert_int_equal(elb_parse_target_groups(doc, &arn, &hc, &eb), 0);
	assert_string_equal(arn, TG_ARN);
	assert_int_equal(hc, 10);
	free(arn);
	awsxml_free(doc);
	doc = xml_load(FIX "elb-DescribeTargetGroupAttributes.xml");
	assert_int_equal(elb_parse_tg_attributes(doc, &delay, &eb), 0);
	assert_int_equal(delay, 45);
	awsxml_free(doc);
	/* No such attribute: AWS's default, 300 s. */
	doc = awsxml_parse(no_attrs, strlen(no_attrs), &eb);
	assert_non_null(doc);
	assert_int_equal(elb_parse_tg_attributes(doc, &delay, &eb), 0);
	assert_int_equal(delay, 300);
	awsxml_free(doc);
	/* Another operation's reply is refused. */
	doc = xml_load(FIX "elb-DescribeTargetHealth-empty.xml");
	assert_int_equal(elb_parse_tg_attributes(doc, &delay, &eb), -1);
	assert_int_equal(eb.kind, EK_PROTO);
	awsxml_free(doc);
}

static void
asg_traffic_sources_parsed_and_merged(void **state)
{
	struct asg_names	 tg = { 0 }, cl = { 0 };
	struct errbuf		 eb = { 0 };
	xmlDoc			*doc;
	char			*next = NULL;

	doc = xml_load(FIX "asg-DescribeTrafficSources.xml");
	assert_int_equal(asg_parse_traffic_sources(doc,
	    "DescribeTrafficSources", &tg, &cl, &next, &eb), 0);
	assert_string_equal(next, "page-2");
	free(next);
	/* VPC Lattice and a target group being removed are left out. */
	assert_int_equal(tg.n, 1);
	assert_string_equal(tg.v[0], TG_ARN);
	assert_int_equal(cl.n, 1);
	assert_string_equal(cl.v[0], "my-classic");
	awsxml_free(doc);
	doc = xml_load(FIX "asg-DescribeLoadBalancerTargetGroups.xml");
	assert_int_equal(asg_parse_traffic_sources(doc,
	    "DescribeLoadBalancerTargetGroups", &tg, &cl, &next, &eb), 0);
	assert_null(next);
	assert_int_equal(tg.n, 2);	/* my-targets counted once */
	assert_non_null(strstr(tg.v[1], "targetgroup/second/"));
	assert_int_equal(asg_parse_traffic_sources(doc,
	    "DescribeLoadBalancers", &tg, &cl, &next, &eb), -1);
	assert_int_equal(eb.kind, EK_PROTO);
	awsxml_free(doc);
	asg_names_release(&tg);
	asg_names_release(&cl);
}

static void
deregister_invalid_target_is_already_out(void **state)
{
	struct server		 s;
	struct aws_client	*c;
	struct errbuf		 eb = { 0 };
	char			*script[2], *log;

	script[0] = err_reply(400, "InvalidTarget", "The specified target "
	    "does not exist, is not in the same VPC as the target group, or "
	    "has an unsupported instance type.");
	script[1] = err_reply(400, "InvalidTarget", "The following targets "
	    "are not in a running state and cannot be registered: 'i-1'");
	server_start(&s, (const char *const *)script, 2);
	c = client_for(&s);
	assert_int_equal(elb_deregister(c, ELB_V2_TARGET_GROUP, TG_ARN,
	    "i-1", &eb), 0);
	/* Registering is another matter: the error names the group. */
	assert_int_equal(elb_register(c, ELB_V2_TARGET_GROUP, TG_ARN, "i-1",
	    &eb), -1);
	assert_int_equal(eb.kind, EK_PROTO);
	assert_non_null(strstr(eb.msg, "target group " TG_ARN ": "
	    "elasticloadbalancing RegisterTargets: InvalidTarget: The "
	    "following targets are not in a running state"));
	log = server_stop(&s);
	aws_client_free(c);
	assert_non_null(strstr(log, "Action=DeregisterTargets&Version="
	    "2015-12-01&" TG_ARN_FORM "&Targets.member.1.Id=i-1"));
	assert_non_null(strstr(log, "Action=RegisterTargets&Version="
	    "2015-12-01&" TG_ARN_FORM "&Targets.member.1.Id=i-1"));
	assert_int_equal(count(log, SCOPE), 2);
	free(log);
	free_script(script, 2);
}

static void
classic_register_deregister_shapes(void **state)
{
	struct server		 s;
	struct aws_client	*c;
	struct errbuf		 eb = { 0 };
	char			*script[3], *log;

	script[0] = empty_ok("RegisterInstancesWithLoadBalancer",
	    "2012-06-01");
	script[1] = err_reply(400, "InvalidInstance", "Could not find EC2 "
	    "instance i-1.");
	script[2] = err_reply(400, "LoadBalancerNotFound", "There is no ACTIVE "
	    "Load Balancer named 'nope'");
	server_start(&s, (const char *const *)script, 3);
	c = client_for(&s);
	assert_int_equal(elb_register(c, ELB_CLASSIC, "web", "i-1", &eb), 0);
	assert_int_equal(elb_deregister(c, ELB_CLASSIC, "web", "i-1", &eb),
	    0);
	assert_int_equal(elb_deregister(c, ELB_CLASSIC, "nope", "i-1", &eb),
	    -1);
	assert_string_equal(eb.msg, "load balancer nope: elasticloadbalancing "
	    "DeregisterInstancesFromLoadBalancer: LoadBalancerNotFound: There "
	    "is no ACTIVE Load Balancer named 'nope' (request id rid-400)");
	/* Missing arguments never reach the wire. */
	assert_int_equal(elb_register(c, ELB_CLASSIC, "", "i-1", &eb), -1);
	assert_int_equal(eb.kind, EK_USAGE);
	log = server_stop(&s);
	aws_client_free(c);
	assert_non_null(strstr(log, "Action=RegisterInstancesWithLoadBalancer"
	    "&Version=2012-06-01&LoadBalancerName=web&"
	    "Instances.member.1.InstanceId=i-1"));
	assert_non_null(strstr(log, "Action="
	    "DeregisterInstancesFromLoadBalancer&Version=2012-06-01&"
	    "LoadBalancerName=web&Instances.member.1.InstanceId=i-1"));
	assert_int_equal(count(log, SCOPE), 3);
	free(log);
	free_script(script, 3);
}

static void
health_by_name_retries_throttling(void **state)
{
	struct server		 s;
	struct aws_client	*c;
	struct elb_health	 h;
	struct errbuf		 eb = { 0 };
	char			*script[4], *log;

	script[0] = ok_file(FIX "elb-DescribeTargetGroups.xml");
	script[1] = err_reply(400, "Throttling", "Rate exceeded");
	script[2] = err_reply(503, "ServiceUnavailable", "busy");
	script[3] = ok_file(FIX "elb-DescribeTargetHealth.xml");
	server_start(&s, (const char *const *)script, 4);
	c = client_for(&s);
	assert_int_equal(elb_health(c, ELB_V2_TARGET_GROUP, "my-targets",
	    "i-0a1b2c3d", &h, &eb), 0);
	assert_string_equal(h.state, "draining");
	log = server_stop(&s);
	aws_client_free(c);
	assert_non_null(strstr(log, "Action=DescribeTargetGroups&Version="
	    "2015-12-01&Names.member.1=my-targets"));
	assert_int_equal(count(log, "Action=DescribeTargetHealth&Version="
	    "2015-12-01&" TG_ARN_FORM "&Targets.member.1.Id=i-0a1b2c3d"), 3);
	free(log);
	free_script(script, 4);
}

static void
classic_unknown_checks_membership(void **state)
{
	struct server		 s;
	struct aws_client	*c;
	struct elb_health	 h;
	struct errbuf		 eb = { 0 };
	char			*script[5], *log;
	static const char	 unknown[] = "<DescribeInstanceHealthResponse>"
	    "<DescribeInstanceHealthResult><InstanceStates><member>"
	    "<InstanceId>i-1</InstanceId><State>Unknown</State><ReasonCode>"
	    "ELB</ReasonCode><Description>Instance registration is still in "
	    "progress.</Description></member></InstanceStates>"
	    "</DescribeInstanceHealthResult></DescribeInstanceHealthResponse>";
	static const char	 lbs[] = "<DescribeLoadBalancersResponse>"
	    "<DescribeLoadBalancersResult><LoadBalancerDescriptions><member>"
	    "<LoadBalancerName>web</LoadBalancerName><Instances><member>"
	    "<InstanceId>i-2</InstanceId></member></Instances></member>"
	    "</LoadBalancerDescriptions></DescribeLoadBalancersResult>"
	    "</DescribeLoadBalancersResponse>";
	static const char	 lbs_member[] =
	    "<DescribeLoadBalancersResponse><DescribeLoadBalancersResult>"
	    "<LoadBalancerDescriptions><member>"
	    "<LoadBalancerName>web</LoadBalancerName><Instances><member>"
	    "<InstanceId>i-1</InstanceId></member></Instances></member>"
	    "</LoadBalancerDescriptions></DescribeLoadBalancersResult>"
	    "</DescribeLoadBalancersResponse>";

	script[0] = ok_reply(unknown);
	script[1] = ok_reply(lbs);
	script[2] = ok_reply(unknown);
	script[3] = ok_reply(lbs_member);
	script[4] = err_reply(400, "InvalidInstance", "Could not find EC2 "
	    "instance i-1.");
	server_start(&s, (const char *const *)script, 5);
	c = client_for(&s);
	/* Not a member: out, whatever "Unknown" meant. */
	assert_int_equal(elb_health(c, ELB_CLASSIC, "web", "i-1", &h, &eb),
	    0);
	assert_string_equal(h.state, "OutOfService");
	assert_string_equal(h.reason, "Instance is not registered with the "
	    "load balancer");
	/* A member: still registering, Unknown with AWS's reason. */
	assert_int_equal(elb_health(c, ELB_CLASSIC, "web", "i-1", &h, &eb),
	    0);
	assert_string_equal(h.state, "Unknown");
	assert_string_equal(h.reason, "ELB: Instance registration is still "
	    "in progress.");
	/* InvalidInstance: out. */
	assert_int_equal(elb_health(c, ELB_CLASSIC, "web", "i-1", &h, &eb),
	    0);
	assert_string_equal(h.state, "OutOfService");
	log = server_stop(&s);
	aws_client_free(c);
	assert_int_equal(count(log, "Action=DescribeInstanceHealth&Version="
	    "2012-06-01&LoadBalancerName=web&Instances.member.1.InstanceId="
	    "i-1"), 3);
	assert_int_equal(count(log, "Action=DescribeLoadBalancers&Version="
	    "2012-06-01&LoadBalancerNames.member.1=web"), 2);
	free(log);
	free_script(script, 5);
}

static void
endpoint_overrides_per_api(void **state)
{
	struct server		 s;
	struct aws_client	*c;
	struct errbuf		 eb = { 0 };
	char			*script[2], *log, *u;
	unsigned		 delay = 0, hc = 0;

	script[0] = ok_file(FIX "elb-DescribeTargetGroups.xml");
	script[1] = ok_file(FIX "elb-DescribeTargetGroupAttributes.xml");
	server_start(&s, (const char *const *)script, 2);
	c = client_for(&s);
	/* The generic override points nowhere: the v2 one must win. */
	u = xasprintf("http://127.0.0.1:%d", s.port);
	setenv("AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2", u, 1);
	setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1", 1);
	assert_int_equal(elb_target_group_timing(c, TG_ARN, &delay, &hc, &eb),
	    0);
	assert_int_equal(delay, 45);
	assert_int_equal(hc, 10);
	/* Classic has its own variable, unset here: the dead port. */
	assert_int_equal(elb_deregister(c, ELB_CLASSIC, "web", "i-1", &eb),
	    -1);
	assert_int_equal(eb.kind, EK_UNAVAIL);
	unsetenv("AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2");
	free(u);
	log = server_stop(&s);
	aws_client_free(c);
	assert_non_null(strstr(log, "Action=DescribeTargetGroups&Version="
	    "2015-12-01&TargetGroupArns.member.1=arn%3Aaws"));
	assert_non_null(strstr(log, "Action=DescribeTargetGroupAttributes&"
	    "Version=2015-12-01&" TG_ARN_FORM));
	free(log);
	free_script(script, 2);
}

static void
asg_traffic_sources_falls_back_to_older_calls(void **state)
{
	struct server		 s;
	struct aws_client	*c;
	struct errbuf		 eb = { 0 };
	char			*script[4], *log, **tg, **cl;
	size_t			 ntg, ncl;
	static const char	 lbs[] = "<DescribeLoadBalancersResponse "
	    "xmlns=\"http://autoscaling.amazonaws.com/doc/2011-01-01/\">"
	    "<DescribeLoadBalancersResult><LoadBalancers><member>"
	    "<LoadBalancerName>web-classic</LoadBalancerName><State>Added"
	    "</State></member></LoadBalancers></DescribeLoadBalancersResult>"
	    "</DescribeLoadBalancersResponse>";

	script[0] = err_reply(400, "InvalidAction", "The action "
	    "DescribeTrafficSources is not valid for this web service.");
	script[1] = ok_file(FIX "asg-DescribeLoadBalancerTargetGroups.xml");
	script[2] = ok_reply(lbs);
	script[3] = err_reply(400, "ValidationError", "Group not found");
	server_start(&s, (const char *const *)script, 4);
	c = client_for(&s);
	assert_int_equal(asg_traffic_sources(c, "web-asg", &tg, &ntg, &cl,
	    &ncl, &eb), 0);
	assert_int_equal(ntg, 2);
	assert_string_equal(tg[0], TG_ARN);
	assert_int_equal(ncl, 1);
	assert_string_equal(cl[0], "web-classic");
	for (size_t i = 0; i < ntg; i++)
		free(tg[i]);
	free(tg);
	for (size_t i = 0; i < ncl; i++)
		free(cl[i]);
	free(cl);
	/* Any other failure is an error that names the group. */
	assert_int_equal(asg_traffic_sources(c, "nope", &tg, &ntg, &cl, &ncl,
	    &eb), -1);
	assert_non_null(strstr(eb.msg, "auto scaling group nope: autoscaling "
	    "DescribeTrafficSources: ValidationError: Group not found"));
	log = server_stop(&s);
	aws_client_free(c);
	assert_int_equal(count(log, "Action=DescribeTrafficSources&Version="
	    "2011-01-01&AutoScalingGroupName=web-asg\n"), 1);
	assert_non_null(strstr(log, "Action=DescribeLoadBalancerTargetGroups&"
	    "Version=2011-01-01&AutoScalingGroupName=web-asg"));
	assert_non_null(strstr(log, "Action=DescribeLoadBalancers&"
	    "Version=2011-01-01&AutoScalingGroupName=web-asg"));
	free(log);
	free_script(script, 4);
}

static char *
asg_empty(const char *action)
{
	char	*body, *r;

	body = xasprintf("<%sResponse xmlns=\"http://autoscaling.amazonaws.com/"
	    "doc/2011-01-01/\"><%sResult/></%sResponse>", action, action,
	    action);
	r = ok_reply(body);
	free(body);
	return r;
}

static void
asg_traffic_sources_pages(void **state)
{
	struct server		 s;
	struct aws_client	*c;
	struct errbuf		 eb = { 0 };
	char			*script[3], *log, **tg, **cl;
	size_t			 ntg, ncl;

	script[0] = ok_file(FIX "asg-DescribeTrafficSources.xml");
	script[1] = asg_empty("DescribeTrafficSources");
	/* Never asked: DescribeTrafficSources answered. */
	script[2] = ok_file(FIX "asg-DescribeLoadBalancerTargetGroups.xml");
	server_start(&s, (const char *const *)script, 3);
	c = client_for(&s);
	assert_int_equal(asg_traffic_sources(c, "web-asg", &tg, &ntg, &cl,
	    &ncl, &eb), 0);
	assert_int_equal(ntg, 1);
	assert_string_equal(tg[0], TG_ARN);
	assert_int_equal(ncl, 1);
	assert_string_equal(cl[0], "my-classic");
	for (size_t i = 0; i < ntg; i++)
		free(tg[i]);
	free(tg);
	for (size_t i = 0; i < ncl; i++)
		free(cl[i]);
	free(cl);
	log = server_stop(&s);
	aws_client_free(c);
	assert_non_null(strstr(log, "Action=DescribeTrafficSources&Version="
	    "2011-01-01&AutoScalingGroupName=web-asg&NextToken=page-2\n"));
	assert_int_equal(count(log, "Action=DescribeLoadBalancerTargetGroups"),
	    0);
	free(log);
	free_script(script, 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(v2_health_reports_the_least_settled_port),
		cmocka_unit_test(classic_health_states_and_reasons),
		cmocka_unit_test(target_group_timing_parsed),
		cmocka_unit_test(asg_traffic_sources_parsed_and_merged),
		cmocka_unit_test(deregister_invalid_target_is_already_out),
		cmocka_unit_test(classic_register_deregister_shapes),
		cmocka_unit_test(health_by_name_retries_throttling),
		cmocka_unit_test(classic_unknown_checks_membership),
		cmocka_unit_test(endpoint_overrides_per_api),
		cmocka_unit_test(asg_traffic_sources_falls_back_to_older_calls),
		cmocka_unit_test(asg_traffic_sources_pages),
	};
	int	 rc;

	unsetenv("AWS_PROFILE");
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	xmlCleanupParser();
	return rc;
}
