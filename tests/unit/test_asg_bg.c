/* SPDX-License-Identifier: ISC */
/*
 * test_asg_bg: the Auto Scaling group calls of a blue/green rollout
 * (lib/aws/asg_bg.c): the DescribeAutoScalingGroups parser on a fixture,
 * and every call against the scripted server (what is sent, what an
 * error becomes, what is refused before sending).
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
#include <libxml/parser.h>

#include "aws/asg.h"
#include "aws/asg_bg.h"
#include "aws/client.h"
#include "aws/xml.h"
#include "errbuf.h"
#include "scripted_server.h"
#include "slurp.h"
#include "xml_fixture.h"
#include "xalloc.h"
#include "banned.h"

#define FIX	FIXTURES "/aws/"
#define NS	"http://autoscaling.amazonaws.com/doc/2011-01-01/"

static xmlDoc *
load_str(const char *s)
{
	struct errbuf	 eb = { 0 };
	xmlDoc		*doc;

	if ((doc = awsxml_parse(s, strlen(s), &eb)) == NULL)
		fail_msg("%s", eb.msg);
	return doc;
}

/* An HTTP reply with an XML body. */
static char *
reply(int status, const char *body)
{
	return xasprintf("HTTP/1.1 %d %s\r\nContent-Type: text/xml\r\n"
	    "x-amzn-RequestId: rid-%d\r\nContent-Length: %zu\r\n\r\n%s",
	    status, status == 200 ? "OK" : "Error", status, strlen(body),
	    body);
}

/* A 200 reply of action with an empty result. */
static char *
ok(const char *action)
{
	char	*b, *r;

	b = xasprintf("<%sResponse xmlns=\"" NS "\"><ResponseMetadata>"
	    "<RequestId>r</RequestId></ResponseMetadata></%sResponse>",
	    action, action);
	r = reply(200, b);
	free(b);
	return r;
}

static char *
validation_error(const char *msg)
{
	char	*b, *r;

	b = xasprintf("<ErrorResponse xmlns=\"" NS "\"><Error><Type>Sender"
	    "</Type><Code>ValidationError</Code><Message>%s</Message>"
	    "</Error><RequestId>r</RequestId></ErrorResponse>", msg);
	r = reply(400, b);
	free(b);
	return r;
}

static struct aws_client *
client_for(struct server *s)
{
	struct aws_client_config cfg = { 0 };

	cfg.max_attempts = 1;
	return server_client(s, &cfg, NULL);
}

static void
free_script(char **script, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(script[i]);
}

static void
parses_every_field_of_a_group(void **state)
{
	struct asg_groups	 l = { 0 };
	struct asg_group	*g;
	struct errbuf		 eb = { 0 };
	xmlDoc			*doc;
	char			*next = NULL;

	(void)state;
	doc = xml_load(FIX "asg-DescribeAutoScalingGroups.xml");
	assert_int_equal(asg_parse_groups(doc, &l, &next, &eb), 0);
	awsxml_free(doc);
	assert_string_equal(next, "page-2");
	free(next);
	assert_int_equal(l.n, 2);
	g = &l.v[0];
	assert_string_equal(g->name, "web");
	assert_non_null(strstr(g->arn, "autoScalingGroupName/web"));
	assert_string_equal(g->lt_id, "lt-0a20c965061f64abc");
	assert_string_equal(g->lt_name, "web-lt");
	assert_string_equal(g->lt_version, "$Latest");
	assert_null(g->launch_configuration);
	assert_false(g->mixed_instances);
	assert_int_equal(g->min_size, 2);
	assert_int_equal(g->max_size, 6);
	assert_int_equal(g->desired, 3);
	assert_int_equal(g->default_cooldown, 300);
	assert_int_equal(g->health_check_grace, 120);
	assert_string_equal(g->health_check_type, "ELB");
	assert_string_equal(g->vpc_zone_identifier, "subnet-0a1b,subnet-0c2d");
	assert_int_equal(g->availability_zones.n, 2);
	assert_string_equal(g->availability_zones.v[1], "us-east-1b");
	assert_int_equal(g->target_groups.n, 1);
	assert_non_null(strstr(g->target_groups.v[0], "targetgroup/web/"));
	assert_int_equal(g->load_balancers.n, 1);
	assert_string_equal(g->load_balancers.v[0], "web-classic");
	assert_int_equal(g->termination_policies.n, 1);
	assert_int_equal(g->suspended.n, 1);
	assert_string_equal(g->suspended.v[0], "AZRebalance");
	assert_int_equal(g->ntags, 2);
	assert_string_equal(asg_group_tag(g, "hookd:group"),
	    "shop/production");
	assert_false(g->tags[0].propagate);
	assert_true(g->tags[1].propagate);
	assert_null(asg_group_tag(g, "Name"));
	assert_int_equal(g->ninstances, 3);
	assert_string_equal(g->instances[1].instance_id, "i-0bbb");
	assert_string_equal(g->instances[1].lifecycle_state, "Pending:Wait");
	assert_string_equal(g->instances[1].availability_zone, "us-east-1b");
	assert_int_equal(asg_group_count(g, "InService"), 2);
	assert_int_equal(asg_group_count(g, "Pending:Wait"), 1);
	assert_null(g->status);
	g = &l.v[1];
	assert_string_equal(g->launch_configuration, "web-lc");
	assert_null(g->lt_id);
	assert_null(g->vpc_zone_identifier);	/* empty is absent */
	assert_int_equal(g->ninstances, 0);
	assert_int_equal(g->health_check_grace, ASG_SIZE_UNSET);
	assert_string_equal(g->status, "Delete in progress");
	asg_groups_release(&l);
}

static void
refuses_malformed_groups(void **state)
{
	static const char *const bad[] = {
		"<MinSize>two</MinSize>",
		"<MaxSize>-1</MaxSize>",
		"<Instances><member><LifecycleState>InService</LifecycleState>"
		"</member></Instances>",
		"<Tags><member><Value>x</Value></member></Tags>",
	};
	struct asg_groups	 l = { 0 };
	struct errbuf		 eb = { 0 };
	xmlDoc			*doc;
	char			*next, *s;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s = xasprintf("<DescribeAutoScalingGroupsResponse><Describe"
		    "AutoScalingGroupsResult><AutoScalingGroups><member>"
		    "<AutoScalingGroupName>g</AutoScalingGroupName>%s"
		    "</member></AutoScalingGroups></DescribeAutoScaling"
		    "GroupsResult></DescribeAutoScalingGroupsResponse>",
		    bad[i]);
		doc = load_str(s);
		free(s);
		errbuf_clear(&eb);
		assert_int_equal(asg_parse_groups(doc, &l, &next, &eb), -1);
		assert_int_equal(eb.kind, EK_PROTO);
		assert_non_null(strstr(eb.msg, "'g'"));
		awsxml_free(doc);
		asg_groups_release(&l);
	}
	doc = load_str("<DescribeAutoScalingGroupsResponse><DescribeAuto"
	    "ScalingGroupsResult><AutoScalingGroups><member><MinSize>1"
	    "</MinSize></member></AutoScalingGroups></DescribeAutoScaling"
	    "GroupsResult></DescribeAutoScalingGroupsResponse>");
	assert_int_equal(asg_parse_groups(doc, &l, &next, &eb), -1);
	assert_non_null(strstr(eb.msg, "a group has no name"));
	awsxml_free(doc);
	asg_groups_release(&l);
}

/* A green group as the rollout builds it from blue. */
static void
green_spec(struct asg_group *g)
{
	static char	*azs[] = { (char *)(uintptr_t)"us-east-1a" };
	static struct asg_tag tags[] = {
		{ (char *)(uintptr_t)"hookd:group",
		    (char *)(uintptr_t)"shop/production", 0 },
		{ (char *)(uintptr_t)"hookd:deployment",
		    (char *)(uintptr_t)"d-7QK2M4XZA", 1 },
	};

	asg_group_init(g);
	g->name = (char *)(uintptr_t)"web-d-7QK2M4XZA";
	g->lt_id = (char *)(uintptr_t)"lt-0a20c965061f64abc";
	g->lt_name = (char *)(uintptr_t)"web-lt";
	g->lt_version = (char *)(uintptr_t)"$Latest";
	g->min_size = 0;
	g->max_size = 6;
	g->desired = 0;
	g->vpc_zone_identifier = (char *)(uintptr_t)"subnet-0a1b,subnet-0c2d";
	g->availability_zones.v = azs;
	g->availability_zones.n = 1;
	g->health_check_type = (char *)(uintptr_t)"ELB";
	g->health_check_grace = 120;
	g->tags = tags;
	g->ntags = 2;
}

static void
create_sends_the_copy(void **state)
{
	char			*script[2];
	struct server		 s;
	struct aws_client	*c;
	struct asg_group	 g;
	struct errbuf		 eb = { 0 };
	char			*log;

	(void)state;
	script[0] = ok("CreateAutoScalingGroup");
	script[1] = validation_error("AutoScalingGroup by this name already "
	    "exists - A group with the name web-d-7QK2M4XZA already exists");
	server_start(&s, (const char *const *)script, 2);
	c = client_for(&s);
	green_spec(&g);
	assert_int_equal(asg_create_group(c, &g, &eb), 0);
	assert_int_equal(asg_create_group(c, &g, &eb), -1);
	assert_int_equal(eb.kind, EK_PROTO);
	assert_non_null(strstr(eb.msg, "creating group 'web-d-7QK2M4XZA'"));
	assert_non_null(strstr(eb.msg, "already exists"));
	aws_client_free(c);
	log = server_stop(&s);
	assert_non_null(strstr(log, "Action=CreateAutoScalingGroup"));
	assert_non_null(strstr(log, "AutoScalingGroupName=web-d-7QK2M4XZA"));
	/* The id wins over the name; the version is kept. */
	assert_non_null(strstr(log,
	    "LaunchTemplate.LaunchTemplateId=lt-0a20c965061f64abc"));
	assert_null(strstr(log, "LaunchTemplateName"));
	assert_non_null(strstr(log, "LaunchTemplate.Version=%24Latest"));
	assert_non_null(strstr(log, "MinSize=0&MaxSize=6&DesiredCapacity=0"));
	/* Subnets win over zones (AWS refuses zones that disagree). */
	assert_non_null(strstr(log,
	    "VPCZoneIdentifier=subnet-0a1b%2Csubnet-0c2d"));
	assert_null(strstr(log, "AvailabilityZones"));
	assert_non_null(strstr(log, "HealthCheckType=ELB"));
	assert_non_null(strstr(log, "HealthCheckGracePeriod=120"));
	assert_null(strstr(log, "DefaultCooldown"));
	assert_null(strstr(log, "TargetGroupARNs"));
	assert_non_null(strstr(log, "Tags.member.1.Key=hookd%3Agroup"));
	assert_non_null(strstr(log,
	    "Tags.member.1.Value=shop%2Fproduction"));
	assert_non_null(strstr(log, "Tags.member.1.PropagateAtLaunch=false"));
	assert_non_null(strstr(log,
	    "Tags.member.2.ResourceId=web-d-7QK2M4XZA"));
	assert_non_null(strstr(log, "Tags.member.2.PropagateAtLaunch=true"));
	free(log);
	free_script(script, 2);
}

static void
create_refuses_what_cannot_be_copied(void **state)
{
	struct asg_group	 g;
	struct errbuf		 eb = { 0 };

	(void)state;
	/* Nothing is sent: no server, and a client that cannot connect. */
	green_spec(&g);
	g.mixed_instances = 1;
	assert_int_equal(asg_create_group(NULL, &g, &eb), -1);
	assert_int_equal(eb.kind, EK_USAGE);
	assert_non_null(strstr(eb.msg, "MixedInstancesPolicy"));
	green_spec(&g);
	g.launch_configuration = (char *)(uintptr_t)"web-lc";
	assert_int_equal(asg_create_group(NULL, &g, &eb), -1);
	assert_non_null(strstr(eb.msg, "exactly one of a launch template"));
	green_spec(&g);
	g.lt_id = g.lt_name = NULL;
	assert_int_equal(asg_create_group(NULL, &g, &eb), -1);
	assert_non_null(strstr(eb.msg, "exactly one of a launch template"));
	green_spec(&g);
	g.desired = 7;
	assert_int_equal(asg_create_group(NULL, &g, &eb), -1);
	assert_non_null(strstr(eb.msg, "min 0 <= desired 7 <= max 6"));
	green_spec(&g);
	g.max_size = ASG_SIZE_UNSET;
	assert_int_equal(asg_create_group(NULL, &g, &eb), -1);
	green_spec(&g);
	g.ntags = ASG_TAGS_MAX + 1;
	assert_int_equal(asg_create_group(NULL, &g, &eb), -1);
	assert_non_null(strstr(eb.msg, "more than 50 tags"));
}

static void
describe_follows_pages_and_reports_missing(void **state)
{
	char			*script[3], *page1, *page2;
	struct server		 s;
	struct aws_client	*c;
	struct asg_groups	 l;
	struct asg_group	 g;
	struct errbuf		 eb = { 0 };
	char			*log;
	size_t			 len;

	(void)state;
	page1 = slurp(FIX "asg-DescribeAutoScalingGroups.xml", &len);
	page2 = xstrdup("<DescribeAutoScalingGroupsResponse xmlns=\"" NS "\">"
	    "<DescribeAutoScalingGroupsResult><AutoScalingGroups><member>"
	    "<AutoScalingGroupName>web-d-2</AutoScalingGroupName>"
	    "<LaunchConfigurationName>lc</LaunchConfigurationName>"
	    "<MinSize>1</MinSize><MaxSize>1</MaxSize><DesiredCapacity>1"
	    "</DesiredCapacity></member></AutoScalingGroups>"
	    "</DescribeAutoScalingGroupsResult>"
	    "</DescribeAutoScalingGroupsResponse>");
	script[0] = reply(200, page1);
	script[1] = reply(200, page2);
	script[2] = reply(200, "<DescribeAutoScalingGroupsResponse><Describe"
	    "AutoScalingGroupsResult><AutoScalingGroups/></DescribeAuto"
	    "ScalingGroupsResult></DescribeAutoScalingGroupsResponse>");
	server_start(&s, (const char *const *)script, 3);
	c = client_for(&s);
	assert_int_equal(asg_find_groups_by_tag(c, "hookd:group",
	    "shop/production", &l, &eb), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[2].name, "web-d-2");
	asg_groups_release(&l);
	assert_int_equal(asg_describe_group(c, "gone", &g, &eb),
	    ASG_NOT_FOUND);
	assert_int_equal(eb.kind, EK_NOINPUT);
	assert_string_equal(eb.msg, "autoscaling group 'gone': not found");
	aws_client_free(c);
	log = server_stop(&s);
	assert_non_null(strstr(log,
	    "Filters.member.1.Name=tag%3Ahookd%3Agroup"));
	assert_non_null(strstr(log,
	    "Filters.member.1.Values.member.1=shop%2Fproduction"));
	assert_non_null(strstr(log, "NextToken=page-2"));
	assert_non_null(strstr(log, "AutoScalingGroupNames.member.1=gone"));
	free(log);
	free(page1);
	free(page2);
	free_script(script, 3);
}

static void
changes_send_their_parameters(void **state)
{
	static const char *const procs[] = { "Launch", "Terminate",
		"ReplaceUnhealthy", "AZRebalance" };
	static const char *const tgs[] = { "arn:tg/a", "arn:tg/b" };
	static const char *const lbs[] = { "web-classic" };
	char			*script[8];
	struct server		 s;
	struct aws_client	*c;
	struct errbuf		 eb = { 0 };
	char			*log;

	(void)state;
	script[0] = ok("UpdateAutoScalingGroup");
	script[1] = ok("SuspendProcesses");
	script[2] = ok("ResumeProcesses");
	script[3] = ok("AttachLoadBalancerTargetGroups");
	script[4] = ok("DetachLoadBalancerTargetGroups");
	script[5] = ok("AttachLoadBalancers");
	script[6] = ok("DetachLoadBalancers");
	script[7] = ok("DeleteAutoScalingGroup");
	server_start(&s, (const char *const *)script, 8);
	c = client_for(&s);
	assert_int_equal(asg_update_sizes(c, "blue", 0, ASG_SIZE_UNSET, 0,
	    &eb), 0);
	assert_int_equal(asg_suspend_processes(c, "blue", procs, 4, &eb), 0);
	assert_int_equal(asg_resume_processes(c, "blue", procs, 4, &eb), 0);
	assert_int_equal(asg_attach_target_groups(c, "green", tgs, 2, &eb),
	    0);
	assert_int_equal(asg_detach_target_groups(c, "blue", tgs, 2, &eb),
	    0);
	/* Nothing to attach: nothing sent. */
	assert_int_equal(asg_attach_target_groups(c, "green", tgs, 0, &eb),
	    0);
	assert_int_equal(asg_attach_load_balancers(c, "green", lbs, 1, &eb),
	    0);
	assert_int_equal(asg_detach_load_balancers(c, "blue", lbs, 1, &eb),
	    0);
	assert_int_equal(asg_delete_group(c, "blue", &eb), 0);
	aws_client_free(c);
	log = server_stop(&s);
	assert_non_null(strstr(log, "Action=UpdateAutoScalingGroup&Version="
	    "2011-01-01&AutoScalingGroupName=blue&MinSize=0&DesiredCapacity=0"
	    "\n"));
	assert_non_null(strstr(log, "Action=SuspendProcesses&Version="
	    "2011-01-01&AutoScalingGroupName=blue&ScalingProcesses.member.1="
	    "Launch&ScalingProcesses.member.2=Terminate&ScalingProcesses."
	    "member.3=ReplaceUnhealthy&ScalingProcesses.member.4=AZRebalance"));
	assert_non_null(strstr(log, "Action=ResumeProcesses&"));
	assert_non_null(strstr(log, "Action=AttachLoadBalancerTargetGroups&"
	    "Version=2011-01-01&AutoScalingGroupName=green&TargetGroupARNs."
	    "member.1=arn%3Atg%2Fa&TargetGroupARNs.member.2=arn%3Atg%2Fb"));
	assert_non_null(strstr(log, "Action=DetachLoadBalancerTargetGroups&"));
	assert_non_null(strstr(log, "Action=AttachLoadBalancers&Version="
	    "2011-01-01&AutoScalingGroupName=green&LoadBalancerNames.member.1"
	    "=web-classic"));
	assert_non_null(strstr(log, "Action=DetachLoadBalancers&"));
	assert_non_null(strstr(log, "Action=DeleteAutoScalingGroup&Version="
	    "2011-01-01&AutoScalingGroupName=blue\n"));
	assert_null(strstr(log, "ForceDelete"));
	free(log);
	free_script(script, 8);
}

static void
errors_name_the_group(void **state)
{
	static const char *const many[ASG_ATTACH_MAX + 1] = { "a" };
	char			*script[2];
	struct server		 s;
	struct aws_client	*c;
	struct errbuf		 eb = { 0 };
	char			*log;

	(void)state;
	script[0] = validation_error("AutoScalingGroup name not found - "
	    "AutoScalingGroup 'gone' not found");
	script[1] = validation_error("You cannot delete an AutoScalingGroup "
	    "while there are instances or pending Spot instance request(s) "
	    "still in the group.");
	server_start(&s, (const char *const *)script, 2);
	c = client_for(&s);
	assert_int_equal(asg_delete_group(c, "gone", &eb), ASG_NOT_FOUND);
	assert_int_equal(eb.kind, EK_NOINPUT);
	assert_non_null(strstr(eb.msg, "DeleteAutoScalingGroup of group "
	    "'gone': not found"));
	assert_int_equal(asg_delete_group(c, "busy", &eb), -1);
	assert_int_equal(eb.kind, EK_PROTO);
	assert_non_null(strstr(eb.msg, "group 'busy': "));
	assert_non_null(strstr(eb.msg, "while there are instances"));
	errbuf_clear(&eb);
	assert_int_equal(asg_attach_target_groups(c, "g", many,
	    ASG_ATTACH_MAX + 1, &eb), -1);
	assert_int_equal(eb.kind, EK_USAGE);
	assert_non_null(strstr(eb.msg, "at most 10 at a time"));
	aws_client_free(c);
	log = server_stop(&s);
	assert_null(strstr(log, "AttachLoadBalancerTargetGroups"));
	free(log);
	free_script(script, 2);
}

static void
scheduled_actions_send_and_read(void **state)
{
	char			*script[5], *start, *b;
	struct server		 s;
	struct aws_client	*c;
	struct errbuf		 eb = { 0 };
	char			*log;

	(void)state;
	script[0] = ok("PutScheduledUpdateGroupAction");
	b = xasprintf("<DescribeScheduledActionsResponse xmlns=\"" NS "\">"
	    "<DescribeScheduledActionsResult><ScheduledUpdateGroupActions>"
	    "<member><ScheduledActionName>other</ScheduledActionName>"
	    "<StartTime>2030-01-01T00:00:00Z</StartTime></member><member>"
	    "<ScheduledActionName>hookd-retire-blue</ScheduledActionName>"
	    "<StartTime>2026-12-07T15:00:00Z</StartTime><MinSize>0</MinSize>"
	    "</member></ScheduledUpdateGroupActions>"
	    "</DescribeScheduledActionsResult>"
	    "</DescribeScheduledActionsResponse>");
	script[1] = reply(200, b);
	free(b);
	script[2] = ok("DeleteScheduledAction");
	script[3] = validation_error("Scheduled action name not found");
	b = xasprintf("<DescribeScheduledActionsResponse xmlns=\"" NS "\">"
	    "<DescribeScheduledActionsResult><ScheduledUpdateGroupActions/>"
	    "</DescribeScheduledActionsResult>"
	    "</DescribeScheduledActionsResponse>");
	script[4] = reply(200, b);
	free(b);
	server_start(&s, (const char *const *)script, 5);
	c = client_for(&s);
	assert_int_equal(asg_put_scheduled_zero(c, "blue", "hookd-retire-blue",
	    "2026-12-07T15:00:00Z", &eb), 0);
	assert_int_equal(asg_scheduled_start(c, "blue", "hookd-retire-blue",
	    &start, &eb), 0);
	assert_string_equal(start, "2026-12-07T15:00:00Z");
	free(start);
	assert_int_equal(asg_delete_scheduled_action(c, "blue",
	    "hookd-retire-blue", &eb), 0);
	assert_int_equal(asg_delete_scheduled_action(c, "blue",
	    "hookd-retire-blue", &eb), ASG_NOT_FOUND);
	assert_int_equal(eb.kind, EK_NOINPUT);
	assert_non_null(strstr(eb.msg, "no scheduled action "
	    "'hookd-retire-blue'"));
	assert_int_equal(asg_scheduled_start(c, "blue", "hookd-retire-blue",
	    &start, &eb), ASG_NOT_FOUND);
	assert_null(start);
	/* Refused before sending: no start time. */
	assert_int_equal(asg_put_scheduled_zero(c, "blue", "x", NULL, &eb),
	    -1);
	assert_int_equal(eb.kind, EK_USAGE);
	aws_client_free(c);
	log = server_stop(&s);
	assert_non_null(strstr(log, "Action=PutScheduledUpdateGroupAction&"
	    "Version=2011-01-01&AutoScalingGroupName=blue&ScheduledActionName="
	    "hookd-retire-blue&StartTime=2026-12-07T15%3A00%3A00Z&MinSize=0&"
	    "MaxSize=0&DesiredCapacity=0\n"));
	assert_non_null(strstr(log, "Action=DescribeScheduledActions&Version="
	    "2011-01-01&AutoScalingGroupName=blue&ScheduledActionNames."
	    "member.1=hookd-retire-blue\n"));
	assert_non_null(strstr(log, "Action=DeleteScheduledAction&Version="
	    "2011-01-01&AutoScalingGroupName=blue&ScheduledActionName="
	    "hookd-retire-blue\n"));
	free(log);
	free_script(script, 5);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_every_field_of_a_group),
		cmocka_unit_test(refuses_malformed_groups),
		cmocka_unit_test(create_sends_the_copy),
		cmocka_unit_test(create_refuses_what_cannot_be_copied),
		cmocka_unit_test(describe_follows_pages_and_reports_missing),
		cmocka_unit_test(changes_send_their_parameters),
		cmocka_unit_test(errors_name_the_group),
		cmocka_unit_test(scheduled_actions_send_and_read),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
