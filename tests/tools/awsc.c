/* SPDX-License-Identifier: ISC */
/*
 * awsc: a tiny test-only command line over lib/aws, so the integration
 * tests can drive every SQS, S3, Auto Scaling, Elastic Load Balancing,
 * CloudWatch, SNS and IMDS call against the local peers.  Not installed.
 * Results go to stdout (one line per item, receive prints one JSON
 * object per message), errors to stderr as "awsc: MESSAGE", and the exit
 * status is errbuf_exitcode() -- except that the two "distinguishable
 * outcomes" exit 3: a conditional S3 write whose precondition failed,
 * and a lifecycle call with no active action.
 *
 * usage: awsc [-v] [--max-attempts N] [--repeat N] SERVICE COMMAND ARGS
 * A body or message argument written @FILE is read from FILE.
 */
#include "compat.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <libxml/parser.h>

#include "aws/asg.h"
#include "aws/asg_bg.h"
#include "aws/client.h"
#include "aws/cloudwatch.h"
#include "aws/creds.h"
#include "aws/elb.h"
#include "aws/imds.h"
#include "aws/pool.h"
#include "aws/s3.h"
#include "aws/sns.h"
#include "aws/sqs.h"
#include "backends.h"
#include "buf.h"
#include "errbuf.h"
#include "log.h"
#include "store.h"
#include "xalloc.h"
#include "banned.h"

#define AWSC_ARGS_MAX	64
#define AWSC_FILE_MAX	(4 * 1024 * 1024)
#define AWSC_OUTCOME	3	/* precondition failed, no active action */

static const char usage_text[] =
"usage: awsc [-v] [--max-attempts N] [--repeat N] SERVICE COMMAND ...\n"
"  sqs create-queue NAME [--attr K=V]...   sqs get-url NAME\n"
"  sqs list [--prefix P] [--page-size N]   sqs delete-queue URL\n"
"  sqs send URL BODY [--delay N]           sqs send-batch URL ID=BODY...\n"
"  sqs receive URL [--wait N] [--max N] [--visibility N]\n"
"  sqs delete URL RECEIPT                  sqs visibility URL RECEIPT SEC\n"
"  sqs send-many BODY URLFILE [--in-flight N]  (one queue URL a line)\n"
"  s3 put s3://B/K FILE [--multipart-threshold N] [--part-size N]\n"
"  s3 put-if s3://B/K FILE (--if-none-match | --if-match ETAG)\n"
"  s3 get s3://B/K FILE [--sha256 HEX] [--max BYTES]\n"
"  s3 head s3://B/K\n"
"  s3 ls s3://B/PREFIX [--page-size N]     s3 rm s3://B/K\n"
"  store ls STORE PREFIX   store get-many STORE [--in-flight N] KEY...\n"
"  queue send-many BACKEND BODY NAME...    (BACKEND: sqs or file://DIR)\n"
"  asg complete|heartbeat --group G --hook H (--instance I | --token T)\n"
"      [--result CONTINUE|ABANDON]\n"
"  asg describe-instances [ID...]          asg describe-hooks --group G\n"
"  asg put-hook --group G --hook H [--heartbeat-timeout N]\n"
"      [--default-result R] [--transition T] [--metadata M]\n"
"  asg describe-groups [NAME...] [--tag K=V]   (JSON)\n"
"  asg create-group --group G (--lt-id ID | --lt-name N | --lc NAME)\n"
"      [--lt-version V] --min N --max N --desired N [--subnets S]\n"
"      [--zone Z]... [--health-check-type T] [--grace N] [--tag K=V]...\n"
"      [--propagate-tag K=V]... [--target-group ARN]... [--lb NAME]...\n"
"  asg update-sizes --group G [--min N] [--max N] [--desired N]\n"
"  asg delete-group --group G\n"
"  asg suspend|resume --group G [PROCESS...]\n"
"  asg attach-tgs|detach-tgs|attach-lbs|detach-lbs --group G NAME...\n"
"  asg traffic-sources --group G\n"
"  elb register|deregister|health (--target-group ARN|NAME |\n"
"      --load-balancer NAME) --instance I  elb timing --target-group ARN\n"
"  cloudwatch describe-alarms NAME...     (NAME STATE REASON per line)\n"
"  sns publish TOPIC_ARN MESSAGE [--subject S]\n"
"  imds instance-id|region|document|creds  imds tag KEY   imds get PATH\n";

/* Parsed subcommand arguments: positionals and --name [value] options. */
struct args {
	const char	*pos[AWSC_ARGS_MAX];
	size_t		 npos;
	const char	*name[AWSC_ARGS_MAX];
	const char	*val[AWSC_ARGS_MAX];
	size_t		 nopt;
};

static const char *const flags[] = { "--if-none-match", NULL };

static __dead void
usage(const char *why)
{
	fprintf(stderr, "awsc: %s\n%s", why, usage_text);
	exit(64);
}

static void
args_parse(int argc, char **argv, struct args *a)
{
	bool	 flag;

	memset(a, 0, sizeof(*a));
	for (int i = 0; i < argc; i++) {
		if (strncmp(argv[i], "--", 2) != 0 || argv[i][2] == '\0') {
			if (a->npos == AWSC_ARGS_MAX)
				usage("too many arguments");
			a->pos[a->npos++] = argv[i];
			continue;
		}
		if (a->nopt == AWSC_ARGS_MAX)
			usage("too many options");
		flag = false;
		for (size_t f = 0; flags[f] != NULL; f++)
			if (strcmp(argv[i], flags[f]) == 0)
				flag = true;
		a->name[a->nopt] = argv[i];
		if (!flag) {
			if (i + 1 == argc)
				usage("option needs a value");
			a->val[a->nopt] = argv[++i];
		} else
			a->val[a->nopt] = "";
		a->nopt++;
	}
}

static const char *
opt(const struct args *a, const char *name)
{
	for (size_t i = 0; i < a->nopt; i++)
		if (strcmp(a->name[i], name) == 0)
			return a->val[i];
	return NULL;
}

static unsigned long long
opt_num(const struct args *a, const char *name, unsigned long long def)
{
	const char	*s;
	uint64_t	 v;

	if ((s = opt(a, name)) == NULL)
		return def;
	if (parse_u64(s, 0, UINT64_MAX, &v) == -1)
		usage("bad number");
	return v;
}

static void
need(const struct args *a, size_t n)
{
	if (a->npos < n)
		usage("missing argument");
}

/* The text of arg, or of FILE for "@FILE"; new string. */
static char *
body_arg(const char *arg, size_t *ret_len, struct errbuf *eb)
{
	struct buf	 b;
	char		 chunk[8192];
	ssize_t		 r;
	int		 fd;

	if (arg[0] != '@') {
		*ret_len = strlen(arg);
		return xstrdup(arg);
	}
	if ((fd = open(arg + 1, O_RDONLY | O_CLOEXEC)) == -1) {
		errbuf_errno(eb, EK_NOINPUT, "cannot open '%s'", arg + 1);
		return NULL;
	}
	buf_init(&b, AWSC_FILE_MAX);
	while ((r = read(fd, chunk, sizeof(chunk))) > 0)
		if (buf_add(&b, chunk, (size_t)r) == -1) {
			r = -1;
			break;
		}
	close(fd);
	if (r == -1) {
		buf_release(&b);
		errbuf_set(eb, EK_IO, "cannot read '%s'", arg + 1);
		return NULL;
	}
	return buf_take(&b, ret_len);
}

static int
cmd_sqs_receive(struct aws_client *c, const struct args *a,
    struct errbuf *eb)
{
	struct sqs_receive_opts	 o = { 0 };
	struct sqs_messages	 ms;
	json_t			*j, *attrs, *mattrs;
	char			*s;

	need(a, 2);
	o.max_messages = (unsigned)opt_num(a, "--max", 1);
	o.wait_sec = opt(a, "--wait") ? (int)opt_num(a, "--wait", 0) : -1;
	o.visibility = opt(a, "--visibility") ?
	    (int)opt_num(a, "--visibility", 0) : -1;
	if (sqs_receive(c, a->pos[1], &o, &ms, eb) == -1)
		return -1;
	for (size_t i = 0; i < ms.n; i++) {
		attrs = json_object();
		mattrs = json_object();
		for (size_t k = 0; k < ms.v[i].nattrs; k++)
			json_object_set_new(attrs, ms.v[i].attrs[k].name,
			    json_string(ms.v[i].attrs[k].value));
		for (size_t k = 0; k < ms.v[i].nmattrs; k++)
			json_object_set_new(mattrs, ms.v[i].mattrs[k].name,
			    json_string(ms.v[i].mattrs[k].value));
		j = json_pack("{s:s, s:s, s:s, s:s, s:I, s:o, s:o}",
		    "id", ms.v[i].message_id,
		    "receipt", ms.v[i].receipt_handle,
		    "body", ms.v[i].body, "md5", ms.v[i].md5_of_body,
		    "receive_count", (json_int_t)ms.v[i].receive_count,
		    "attributes", attrs, "message_attributes", mattrs);
		if (j == NULL || (s = json_dumps(j, JSON_COMPACT)) == NULL)
			abort();
		printf("%s\n", s);
		free(s);
		json_decref(j);
	}
	sqs_messages_release(&ms);
	return 0;
}

static int
cmd_sqs_batch(struct aws_client *c, const struct args *a, struct errbuf *eb)
{
	struct sqs_batch_entry	 es[AWSC_ARGS_MAX] = { 0 };
	char			*ids[AWSC_ARGS_MAX] = { 0 };
	char			*bodies[AWSC_ARGS_MAX] = { 0 };
	const char		*eq;
	size_t			 n = 0, failed = 0;
	int			 rv = -1;

	need(a, 3);
	for (size_t i = 2; i < a->npos; i++, n++) {
		if ((eq = strchr(a->pos[i], '=')) == NULL)
			usage("batch entries are ID=BODY");
		ids[n] = xstrndup(a->pos[i], (size_t)(eq - a->pos[i]));
		if ((bodies[n] = body_arg(eq + 1, &es[n].body_len,
		    eb)) == NULL)
			goto out;
		es[n].id = ids[n];
		es[n].body = bodies[n];
	}
	if (sqs_send_batch(c, a->pos[1], es, n, &failed, eb) == -1)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (es[i].ok)
			printf("%s ok %s\n", es[i].id, es[i].message_id);
		else
			printf("%s failed %s %s\n", es[i].id,
			    es[i].error_code, es[i].error_message != NULL ?
			    es[i].error_message : "");
	}
	rv = 0;
 out:
	for (size_t i = 0; i < nitems(es); i++) {
		sqs_batch_entry_release(&es[i]);
		free(ids[i]);
		free(bodies[i]);
	}
	return rv;
}

static void
on_sent(void *arg, size_t i, const char *id, const struct errbuf *eb)
{
	if (id != NULL)
		printf("%zu %s\n", i, id);
	else
		printf("%zu error %s: %s\n", i, errkind_name(eb->kind),
		    eb->msg);
}

/* sqs send-many BODY URLFILE: one line per queue, then the pool's figures. */
static int
cmd_sqs_send_many(struct aws_client *c, const struct args *a,
    struct errbuf *eb)
{
	struct aws_pool		*pool;
	struct aws_pool_stats	 st;
	char			*body, *list, **urls = NULL, *line, *save, *at;
	size_t			 len, llen, n = 0;
	int			 rv = -1;

	need(a, 3);
	if ((body = body_arg(a->pos[1], &len, eb)) == NULL)
		return -1;
	at = xasprintf("@%s", a->pos[2]);
	list = body_arg(at, &llen, eb);
	free(at);
	if (list == NULL) {
		free(body);
		return -1;
	}
	for (line = strtok_r(list, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		urls = xreallocarray(urls, n + 1, sizeof(*urls));
		urls[n++] = line;
	}
	if ((pool = aws_pool_new(c, (unsigned)opt_num(a, "--in-flight", 0),
	    eb)) == NULL)
		goto out;
	rv = sqs_send_many(c, pool, (const char *const *)urls, n, body, len,
	    on_sent, NULL, eb);
	aws_pool_stats(pool, &st);
	fprintf(stderr, "awsc: requests %llu attempts %llu retries %llu "
	    "failed %llu peak %u\n", (unsigned long long)st.requests,
	    (unsigned long long)st.attempts, (unsigned long long)st.retries,
	    (unsigned long long)st.failed, st.peak);
	aws_pool_free(pool);
 out:
	free(urls);
	free(list);
	free(body);
	return rv;
}

static int
cmd_sqs(struct aws_client *c, const struct args *a, struct errbuf *eb)
{
	struct sqs_kv	 kv[AWSC_ARGS_MAX];
	struct sqs_urls	 urls;
	const char	*cmd = a->pos[0], *eq;
	char		*s = NULL, *body;
	size_t		 n = 0, len;
	uint64_t	 secs;
	int		 rv;

	if (strcmp(cmd, "create-queue") == 0) {
		need(a, 2);
		for (size_t i = 0; i < a->nopt; i++) {
			if (strcmp(a->name[i], "--attr") != 0)
				continue;
			if ((eq = strchr(a->val[i], '=')) == NULL)
				usage("--attr takes NAME=VALUE");
			kv[n].name = xstrndup(a->val[i],
			    (size_t)(eq - a->val[i]));
			kv[n++].value = xstrdup(eq + 1);
		}
		rv = sqs_create_queue(c, a->pos[1], kv, n, &s, eb);
		for (size_t i = 0; i < n; i++) {
			free(kv[i].name);
			free(kv[i].value);
		}
	} else if (strcmp(cmd, "get-url") == 0) {
		need(a, 2);
		rv = sqs_get_queue_url(c, a->pos[1], &s, eb);
	} else if (strcmp(cmd, "list") == 0) {
		rv = sqs_list_queues(c, opt(a, "--prefix"),
		    (unsigned)opt_num(a, "--page-size", 0), &urls, eb);
		if (rv == 0) {
			for (size_t i = 0; i < urls.n; i++)
				printf("%s\n", urls.v[i]);
			sqs_urls_release(&urls);
		}
	} else if (strcmp(cmd, "delete-queue") == 0) {
		need(a, 2);
		rv = sqs_delete_queue(c, a->pos[1], eb);
	} else if (strcmp(cmd, "send") == 0) {
		need(a, 3);
		if ((body = body_arg(a->pos[2], &len, eb)) == NULL)
			return -1;
		rv = sqs_send(c, a->pos[1], body, len,
		    (unsigned)opt_num(a, "--delay", 0), &s, eb);
		free(body);
	} else if (strcmp(cmd, "send-batch") == 0)
		rv = cmd_sqs_batch(c, a, eb);
	else if (strcmp(cmd, "send-many") == 0)
		rv = cmd_sqs_send_many(c, a, eb);
	else if (strcmp(cmd, "receive") == 0)
		rv = cmd_sqs_receive(c, a, eb);
	else if (strcmp(cmd, "delete") == 0) {
		need(a, 3);
		rv = sqs_delete_message(c, a->pos[1], a->pos[2], eb);
	} else if (strcmp(cmd, "visibility") == 0) {
		need(a, 4);
		if (parse_u64(a->pos[3], 0, UINT32_MAX, &secs) == -1)
			usage("bad number of seconds");
		rv = sqs_change_visibility(c, a->pos[1], a->pos[2],
		    (unsigned)secs, eb);
	} else
		usage("unknown sqs command");
	if (rv == 0 && s != NULL)
		printf("%s\n", s);
	free(s);
	return rv;
}

static int
cmd_s3(struct aws_client *c, const struct args *a, struct errbuf *eb)
{
	struct s3_put_opts	 po = { 0 };
	struct s3_object_info	 info;
	struct s3_list		 l;
	const char		*cmd = a->pos[0];
	char			*bucket = NULL, *key = NULL, *etag = NULL;
	uint64_t		 size;
	int			 rv = -1;

	need(a, 2);
	if (s3_parse_url(a->pos[1], &bucket, &key, eb) == -1)
		return -1;
	if (strcmp(cmd, "put") == 0 || strcmp(cmd, "put-if") == 0) {
		need(a, 3);
		po.multipart_threshold = opt_num(a, "--multipart-threshold",
		    0);
		po.part_size = opt_num(a, "--part-size", 0);
		if (opt(a, "--if-none-match") != NULL)
			po.cond = S3_PUT_IF_NONE_MATCH;
		else if ((po.etag = opt(a, "--if-match")) != NULL)
			po.cond = S3_PUT_IF_MATCH;
		else if (strcmp(cmd, "put-if") == 0)
			usage("put-if needs --if-none-match or --if-match");
		rv = s3_put_file(c, bucket, key, a->pos[2], &po, &etag, eb);
		if (rv == 0)
			printf("%s\n", etag != NULL ? etag : "");
	} else if (strcmp(cmd, "get") == 0) {
		need(a, 3);
		rv = s3_get_file(c, bucket, key, a->pos[2],
		    opt(a, "--sha256"), opt_num(a, "--max", 0), &size, eb);
		if (rv == 0)
			printf("%llu\n", (unsigned long long)size);
	} else if (strcmp(cmd, "head") == 0) {
		rv = s3_head(c, bucket, key, &info, eb);
		if (rv == 0) {
			printf("%llu %s\n", (unsigned long long)info.size,
			    info.etag != NULL ? info.etag : "-");
			s3_object_info_release(&info);
		}
	} else if (strcmp(cmd, "ls") == 0) {
		rv = s3_list_objects(c, bucket, key,
		    (unsigned)opt_num(a, "--page-size", 0), &l, eb);
		if (rv == 0) {
			for (size_t i = 0; i < l.n; i++)
				printf("%s %llu\n", l.v[i].key,
				    (unsigned long long)l.v[i].size);
			s3_list_release(&l);
		}
	} else if (strcmp(cmd, "rm") == 0)
		rv = s3_delete(c, bucket, key, eb);
	else
		usage("unknown s3 command");
	free(etag);
	free(bucket);
	free(key);
	return rv;
}

/* Every value of a repeated option, in order (borrowed, at most max). */
static size_t
opt_all(const struct args *a, const char *name, const char **v, size_t max)
{
	size_t	 n = 0;

	for (size_t i = 0; i < a->nopt && n < max; i++)
		if (strcmp(a->name[i], name) == 0)
			v[n++] = a->val[i];
	return n;
}

static long
opt_size(const struct args *a, const char *name)
{
	return opt(a, name) == NULL ? ASG_SIZE_UNSET :
	    (long)opt_num(a, name, 0);
}

static json_t *
strs_json(const struct asg_strs *s)
{
	json_t	*j = json_array();

	for (size_t i = 0; i < s->n; i++)
		json_array_append_new(j, json_string(s->v[i]));
	return j;
}

static json_t *
group_json(const struct asg_group *g)
{
	json_t	*j, *tags, *insts;

	tags = json_object();
	for (size_t i = 0; i < g->ntags; i++)
		json_object_set_new(tags, g->tags[i].key,
		    json_string(g->tags[i].value));
	insts = json_array();
	for (size_t i = 0; i < g->ninstances; i++)
		json_array_append_new(insts, json_pack("{s:s, s:s?, s:s?}",
		    "id", g->instances[i].instance_id,
		    "state", g->instances[i].lifecycle_state,
		    "health", g->instances[i].health_status));
	j = json_pack("{s:s, s:s?, s:s?, s:s?, s:s?, s:I, s:I, s:I, s:s?, "
	    "s:s?, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:s?}",
	    "name", g->name, "launch_configuration", g->launch_configuration,
	    "lt_id", g->lt_id, "lt_name", g->lt_name,
	    "lt_version", g->lt_version, "min", (json_int_t)g->min_size,
	    "max", (json_int_t)g->max_size, "desired", (json_int_t)g->desired,
	    "subnets", g->vpc_zone_identifier,
	    "health_check_type", g->health_check_type,
	    "grace", (json_int_t)g->health_check_grace,
	    "zones", strs_json(&g->availability_zones),
	    "target_groups", strs_json(&g->target_groups),
	    "load_balancers", strs_json(&g->load_balancers),
	    "suspended", strs_json(&g->suspended), "tags", tags,
	    "instances", insts, "status", g->status);
	return j;
}

/* "K=V" into a tag (borrowing a copy kept in *keep). */
static void
tag_of(const char *kv, int propagate, struct asg_tag *t, char **keep)
{
	char	*eq;

	*keep = xstrdup(kv);
	if ((eq = strchr(*keep, '=')) == NULL)
		usage("a tag is KEY=VALUE");
	*eq = '\0';
	t->key = *keep;
	t->value = eq + 1;
	t->propagate = propagate;
}

static int
cmd_asg_create(struct aws_client *c, const struct args *a,
    struct errbuf *eb)
{
	const char		*v[AWSC_ARGS_MAX], *zones[AWSC_ARGS_MAX];
	const char		*tgs[AWSC_ARGS_MAX], *lbs[AWSC_ARGS_MAX];
	struct asg_tag		 tags[AWSC_ARGS_MAX];
	char			*keep[AWSC_ARGS_MAX];
	struct asg_group	 g;
	size_t			 n, nt = 0;
	int			 rv;

	asg_group_init(&g);
	g.name = (char *)(uintptr_t)opt(a, "--group");
	g.lt_id = (char *)(uintptr_t)opt(a, "--lt-id");
	g.lt_name = (char *)(uintptr_t)opt(a, "--lt-name");
	g.lt_version = (char *)(uintptr_t)opt(a, "--lt-version");
	g.launch_configuration = (char *)(uintptr_t)opt(a, "--lc");
	g.min_size = opt_size(a, "--min");
	g.max_size = opt_size(a, "--max");
	g.desired = opt_size(a, "--desired");
	g.vpc_zone_identifier = (char *)(uintptr_t)opt(a, "--subnets");
	g.health_check_type = (char *)(uintptr_t)opt(a,
	    "--health-check-type");
	g.health_check_grace = opt_size(a, "--grace");
	g.availability_zones.n = opt_all(a, "--zone", zones, AWSC_ARGS_MAX);
	g.availability_zones.v = (char **)(uintptr_t)zones;
	g.target_groups.n = opt_all(a, "--target-group", tgs, AWSC_ARGS_MAX);
	g.target_groups.v = (char **)(uintptr_t)tgs;
	g.load_balancers.n = opt_all(a, "--lb", lbs, AWSC_ARGS_MAX);
	g.load_balancers.v = (char **)(uintptr_t)lbs;
	n = opt_all(a, "--tag", v, AWSC_ARGS_MAX);
	for (size_t i = 0; i < n; i++, nt++)
		tag_of(v[i], 0, &tags[nt], &keep[nt]);
	n = opt_all(a, "--propagate-tag", v, AWSC_ARGS_MAX - nt);
	for (size_t i = 0; i < n; i++, nt++)
		tag_of(v[i], 1, &tags[nt], &keep[nt]);
	g.tags = tags;
	g.ntags = nt;
	rv = asg_create_group(c, &g, eb);
	for (size_t i = 0; i < nt; i++)
		free(keep[i]);
	if (rv == 0)
		printf("ok\n");
	return rv;
}

/* The group-level calls of a blue/green rollout (asg_bg.h). */
static int
cmd_asg_group(struct aws_client *c, const struct args *a,
    struct errbuf *eb)
{
	const char		*cmd = a->pos[0], *group = opt(a, "--group");
	const char *const	*rest = a->pos + 1;
	struct asg_groups	 gl;
	size_t			 nrest = a->npos - 1;
	json_t			*j;
	char			*tk, *eq;
	int			 rv = -1;

	if (strcmp(cmd, "describe-groups") == 0) {
		if (opt(a, "--tag") != NULL) {
			tk = xstrdup(opt(a, "--tag"));
			if ((eq = strchr(tk, '=')) == NULL)
				usage("--tag is KEY=VALUE");
			*eq = '\0';
			rv = asg_find_groups_by_tag(c, tk, eq + 1, &gl, eb);
			free(tk);
		} else
			rv = asg_describe_groups(c, rest, nrest, &gl, eb);
		if (rv == 0) {
			j = json_array();
			for (size_t i = 0; i < gl.n; i++)
				json_array_append_new(j, group_json(&gl.v[i]));
			json_dumpf(j, stdout, JSON_INDENT(1));
			printf("\n");
			json_decref(j);
			asg_groups_release(&gl);
		}
		return rv;
	}
	if (strcmp(cmd, "create-group") == 0)
		return cmd_asg_create(c, a, eb);
	if (strcmp(cmd, "update-sizes") == 0)
		rv = asg_update_sizes(c, group, opt_size(a, "--min"),
		    opt_size(a, "--max"), opt_size(a, "--desired"), eb);
	else if (strcmp(cmd, "delete-group") == 0)
		rv = asg_delete_group(c, group, eb);
	else if (strcmp(cmd, "suspend") == 0)
		rv = asg_suspend_processes(c, group, rest, nrest, eb);
	else if (strcmp(cmd, "resume") == 0)
		rv = asg_resume_processes(c, group, rest, nrest, eb);
	else if (strcmp(cmd, "attach-tgs") == 0)
		rv = asg_attach_target_groups(c, group, rest, nrest, eb);
	else if (strcmp(cmd, "detach-tgs") == 0)
		rv = asg_detach_target_groups(c, group, rest, nrest, eb);
	else if (strcmp(cmd, "attach-lbs") == 0)
		rv = asg_attach_load_balancers(c, group, rest, nrest, eb);
	else if (strcmp(cmd, "detach-lbs") == 0)
		rv = asg_detach_load_balancers(c, group, rest, nrest, eb);
	else
		usage("unknown asg command");
	if (rv == 0)
		printf("ok\n");
	else if (rv == ASG_NOT_FOUND)
		printf("not-found\n");
	return rv;
}

static void
print_free_names(const char *kind, char **v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		printf("%s %s\n", kind, v[i]);
		free(v[i]);
	}
	free(v);
}

static int
cmd_asg_traffic(struct aws_client *c, const char *group, struct errbuf *eb)
{
	char	**tg, **cl;
	size_t	  ntg, ncl;

	if (asg_traffic_sources(c, group, &tg, &ntg, &cl, &ncl, eb) == -1)
		return -1;
	print_free_names("target-group", tg, ntg);
	print_free_names("load-balancer", cl, ncl);
	return 0;
}

static int
cmd_asg(struct aws_client *c, const struct args *a, struct errbuf *eb)
{
	struct asg_action	 act = { 0 };
	struct asg_hook		 h = { 0 };
	struct asg_instances	 il;
	struct asg_hooks	 hl;
	const char		*cmd = a->pos[0];
	int			 rv;

	act.group = opt(a, "--group");
	act.hook = opt(a, "--hook");
	act.instance_id = opt(a, "--instance");
	act.token = opt(a, "--token");
	if (strcmp(cmd, "complete") == 0 || strcmp(cmd, "heartbeat") == 0) {
		if (strcmp(cmd, "complete") == 0)
			rv = asg_complete_lifecycle_action(c, &act,
			    opt(a, "--result") ? opt(a, "--result") :
			    "CONTINUE", eb);
		else
			rv = asg_record_heartbeat(c, &act, eb);
		if (rv == 0)
			printf("ok\n");
		else if (rv == ASG_NO_ACTIVE_ACTION)
			printf("no-active-action\n");
		return rv;
	}
	if (strcmp(cmd, "describe-instances") == 0) {
		rv = asg_describe_instances(c, a->pos + 1, a->npos - 1, &il,
		    eb);
		if (rv == 0) {
			for (size_t i = 0; i < il.n; i++)
				printf("%s %s %s %s\n", il.v[i].instance_id,
				    il.v[i].group ? il.v[i].group : "-",
				    il.v[i].lifecycle_state ?
				    il.v[i].lifecycle_state : "-",
				    il.v[i].health_status ?
				    il.v[i].health_status : "-");
			asg_instances_release(&il);
		}
		return rv;
	}
	if (strcmp(cmd, "put-hook") == 0) {
		h.name = (char *)(uintptr_t)act.hook;
		h.group = (char *)(uintptr_t)act.group;
		h.transition = (char *)(uintptr_t)opt(a, "--transition");
		h.metadata = (char *)(uintptr_t)opt(a, "--metadata");
		h.default_result = (char *)(uintptr_t)opt(a,
		    "--default-result");
		h.heartbeat_timeout = (unsigned long)opt_num(a,
		    "--heartbeat-timeout", 0);
		return asg_put_lifecycle_hook(c, &h, eb);
	}
	if (strcmp(cmd, "describe-hooks") == 0) {
		rv = asg_describe_lifecycle_hooks(c, act.group, &hl, eb);
		if (rv == 0) {
			for (size_t i = 0; i < hl.n; i++)
				printf("%s %s %lu %s %s\n", hl.v[i].name,
				    hl.v[i].transition ? hl.v[i].transition :
				    "-", hl.v[i].heartbeat_timeout,
				    hl.v[i].default_result ?
				    hl.v[i].default_result : "-",
				    hl.v[i].metadata ? hl.v[i].metadata : "-");
			asg_hooks_release(&hl);
		}
		return rv;
	}
	if (strcmp(cmd, "traffic-sources") == 0)
		return cmd_asg_traffic(c, act.group, eb);
	return cmd_asg_group(c, a, eb);
}

static int
cmd_cloudwatch(struct aws_client *c, const struct args *a,
    struct errbuf *eb)
{
	struct cw_alarms	 l;
	int			 rv;

	if (strcmp(a->pos[0], "describe-alarms") != 0)
		usage("unknown cloudwatch command");
	rv = cw_describe_alarms(c, a->pos + 1, a->npos - 1, &l, eb);
	if (rv == 0) {
		for (size_t i = 0; i < l.n; i++)
			printf("%s %s %s\n", l.v[i].name, l.v[i].state,
			    l.v[i].reason != NULL ? l.v[i].reason : "-");
		cw_alarms_release(&l);
	}
	return rv;
}

static int
cmd_sns(struct aws_client *c, const struct args *a, struct errbuf *eb)
{
	char	*msg, *id = NULL;
	size_t	 len;
	int	 rv;

	if (strcmp(a->pos[0], "publish") != 0)
		usage("unknown sns command");
	need(a, 3);
	if ((msg = body_arg(a->pos[2], &len, eb)) == NULL)
		return -1;
	rv = sns_publish(c, a->pos[1], opt(a, "--subject"), msg, &id, eb);
	if (rv == 0)
		printf("%s\n", id);
	free(id);
	free(msg);
	return rv;
}

static int
cmd_elb(struct aws_client *c, const struct args *a, struct errbuf *eb)
{
	struct elb_health	 h;
	enum elb_kind		 kind = ELB_V2_TARGET_GROUP;
	const char		*cmd = a->pos[0], *lb, *iid;
	unsigned		 delay, hc;
	int			 rv;

	if ((lb = opt(a, "--target-group")) == NULL) {
		lb = opt(a, "--load-balancer");
		kind = ELB_CLASSIC;
	}
	iid = opt(a, "--instance");
	if (strcmp(cmd, "register") == 0 || strcmp(cmd, "deregister") == 0) {
		if (strcmp(cmd, "register") == 0)
			rv = elb_register(c, kind, lb, iid, eb);
		else
			rv = elb_deregister(c, kind, lb, iid, eb);
		if (rv == 0)
			printf("ok\n");
		return rv;
	}
	if (strcmp(cmd, "health") == 0) {
		if ((rv = elb_health(c, kind, lb, iid, &h, eb)) == 0)
			printf("%s%s%s\n", h.state, *h.reason != '\0' ? " " :
			    "", h.reason);
		return rv;
	}
	if (strcmp(cmd, "timing") == 0) {
		if (kind != ELB_V2_TARGET_GROUP)
			usage("timing needs --target-group");
		if ((rv = elb_target_group_timing(c, lb, &delay, &hc, eb)) ==
		    0)
			printf("%u %u\n", delay, hc);
		return rv;
	}
	usage("unknown elb command");
}

static int
cmd_imds(struct aws_client *c, const struct args *a, struct errbuf *eb)
{
	struct aws_creds	 cr;
	struct imds		*im;
	const char		*cmd = a->pos[0];
	char			*s = NULL;
	int			 rv;

	im = aws_client_imds(c);
	if (strcmp(cmd, "instance-id") == 0)
		rv = imds_instance_id(im, &s, eb);
	else if (strcmp(cmd, "region") == 0)
		rv = imds_region(im, &s, eb);
	else if (strcmp(cmd, "document") == 0)
		rv = imds_identity_document(im, &s, eb);
	else if (strcmp(cmd, "tag") == 0) {
		need(a, 2);
		rv = imds_tag(im, a->pos[1], &s, eb);
	} else if (strcmp(cmd, "get") == 0) {
		need(a, 2);
		rv = imds_get(im, a->pos[1], &s, eb);
	} else if (strcmp(cmd, "creds") == 0) {
		aws_creds_init(&cr);
		rv = imds_role_creds(im, &cr, eb);
		if (rv == 0) {
			/* The access key id only: never print a secret. */
			printf("%s %lld\n", cr.access_key,
			    (long long)cr.expiration);
			aws_creds_release(&cr);
		}
	} else
		usage("unknown imds command");
	if (rv == 0 && s != NULL)
		printf("%s\n", s);
	free(s);
	return rv;
}

static void
on_got(void *arg, size_t i, const char *data, size_t len, const char *etag,
    const struct errbuf *eb)
{
	const char *const	*keys = arg;

	if (data != NULL)
		printf("%s %s %.*s\n", keys[i], *etag != '\0' ? etag : "-",
		    (int)len, data);
	else
		printf("%s error %s: %s\n", keys[i], errkind_name(eb->kind),
		    eb->msg);
}

/* The store interface over an s3:// or file:// URL. */
static int
cmd_store(struct aws_client *c, const struct args *a, struct errbuf *eb)
{
	struct store_listing	 l;
	struct store		*s = NULL;
	const char		*cmd = a->pos[0];
	int			 rv = -1;

	need(a, 3);
	if (store_open(a->pos[1], false, c, &s, eb) == -1)
		return -1;
	if (strcmp(cmd, "ls") == 0) {
		if ((rv = store_list_entries(s, a->pos[2], &l, eb)) == 0) {
			for (size_t i = 0; i < l.n; i++)
				printf("%s %s %llu %lld\n", l.v[i].key,
				    l.v[i].tag,
				    (unsigned long long)l.v[i].size,
				    (long long)l.v[i].mtime);
			store_listing_release(&l);
		}
	} else if (strcmp(cmd, "get-many") == 0) {
		store_set_concurrency(s, (unsigned)opt_num(a, "--in-flight",
		    0));
		rv = store_get_many(s, a->pos + 2, a->npos - 2, 65536, on_got,
		    (void *)(uintptr_t)(a->pos + 2), eb);
	} else
		usage("unknown store command");
	store_free(s);
	return rv;
}

static void
on_queue_sent(void *arg, size_t i, const struct errbuf *eb)
{
	const char *const	*names = arg;

	if (eb == NULL)
		printf("%s sent\n", names[i]);
	else
		printf("%s error %s: %s\n", names[i], errkind_name(eb->kind),
		    eb->msg);
}

/* queue send-many BACKEND BODY NAME...: backend_queue_send_many. */
static int
cmd_queue(struct aws_client *c, const struct args *a, struct errbuf *eb)
{
	struct aws_pool		*pool;
	struct aws_pool_stats	 st;
	int			 rv;

	if (strcmp(a->pos[0], "send-many") != 0)
		usage("unknown queue command");
	need(a, 4);
	if ((pool = aws_pool_new(c, (unsigned)opt_num(a, "--in-flight", 0),
	    eb)) == NULL)
		return -1;
	rv = backend_queue_send_many(a->pos[1], c, pool, a->pos + 3,
	    a->npos - 3, a->pos[2], strlen(a->pos[2]), on_queue_sent,
	    (void *)(uintptr_t)(a->pos + 3), eb);
	aws_pool_stats(pool, &st);
	fprintf(stderr, "awsc: requests %llu attempts %llu\n",
	    (unsigned long long)st.requests, (unsigned long long)st.attempts);
	aws_pool_free(pool);
	return rv;
}

int
main(int argc, char *argv[])
{
	struct aws_client_config cfg = { 0 };
	struct aws_client	*c = NULL;
	struct errbuf		 eb = { 0 };
	struct args		 a;
	unsigned long long	 repeat = 1;
	const char		*svc;
	int			 verbose = 0, i, rv = 0, status = 0;
	uint64_t		 v;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-v") == 0)
			verbose = 1;
		else if (strcmp(argv[i], "--max-attempts") == 0 &&
		    i + 1 < argc && parse_u64(argv[i + 1], 1, 20, &v) == 0) {
			cfg.max_attempts = (unsigned)v;
			i++;
		} else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc &&
		    parse_u64(argv[i + 1], 1, 100, &v) == 0) {
			repeat = v;
			i++;
		} else if (strcmp(argv[i], "-h") == 0) {
			fputs(usage_text, stdout);
			return 0;
		} else
			usage("unknown option");
	}
	if (argc - i < 2)
		usage("missing service or command");
	svc = argv[i];
	args_parse(argc - i - 1, argv + i + 1, &a);
	log_init("awsc", LOG_TO_STDERR, verbose);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "awsc: curl_global_init failed\n");
		return 71;
	}
	if ((c = aws_client_new(&cfg, &eb)) == NULL)
		goto out;
	for (unsigned long long r = 0; r < repeat && rv == 0; r++) {
		if (strcmp(svc, "sqs") == 0)
			rv = cmd_sqs(c, &a, &eb);
		else if (strcmp(svc, "s3") == 0)
			rv = cmd_s3(c, &a, &eb);
		else if (strcmp(svc, "asg") == 0)
			rv = cmd_asg(c, &a, &eb);
		else if (strcmp(svc, "elb") == 0)
			rv = cmd_elb(c, &a, &eb);
		else if (strcmp(svc, "cloudwatch") == 0)
			rv = cmd_cloudwatch(c, &a, &eb);
		else if (strcmp(svc, "sns") == 0)
			rv = cmd_sns(c, &a, &eb);
		else if (strcmp(svc, "imds") == 0)
			rv = cmd_imds(c, &a, &eb);
		else if (strcmp(svc, "store") == 0)
			rv = cmd_store(c, &a, &eb);
		else if (strcmp(svc, "queue") == 0)
			rv = cmd_queue(c, &a, &eb);
		else
			usage("unknown service");
		fflush(stdout);
	}
 out:
	if (c == NULL || rv == -1) {
		fprintf(stderr, "awsc: %s\n", eb.msg);
		status = errbuf_exitcode(&eb);
	} else if (rv != 0) {
		fprintf(stderr, "awsc: %s\n", eb.msg);
		status = AWSC_OUTCOME;
	}
	aws_client_free(c);
	curl_global_cleanup();
	xmlCleanupParser();
	return status;
}
