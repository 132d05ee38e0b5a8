/* SPDX-License-Identifier: ISC */
/*
 * ctx.c: what every deployer subcommand starts from: deployer.yml
 * (found by walking up from the current directory), the AWS client when
 * the store or the queue is on AWS, and the store.  Also the RFC 3339
 * time helpers the records use.
 */
#include "compat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/client.h"
#include "aws/pool.h"
#include "backends.h"
#include "caps.h"
#include "config.h"
#include "deployer.h"
#include "errbuf.h"
#include "queue.h"
#include "state.h"
#include "store.h"
#include "xalloc.h"
#include "yamltree.h"

#include "banned.h"

/*
 * Load deployer.yml and make the AWS client it needs.  0, or -1 with eb
 * set (EK_NOINPUT: no deployer.yml, EK_CONFIG: a bad one).  c must be
 * released either way.  The store is opened by dctx_open_store.
 */
int
dctx_open(struct dctx *c, struct errbuf *eb)
{
	struct aws_client_config	 ac = { 0 };
	char				*slash;

	memset(c, 0, sizeof(*c));
	deployer_config_init(&c->cfg);
	if (config_find_deployer_yml(NULL, &c->cfgpath, eb) == -1)
		return -1;
	c->dir = xstrdup(c->cfgpath);
	if ((slash = strrchr(c->dir, '/')) != NULL)
		*(slash == c->dir ? slash + 1 : slash) = '\0';
	if (deployer_config_load(&c->cfg, c->cfgpath, NULL, eb) == -1) {
		/* Every error at once, like hookd.yml's. */
		if (eb->kind == EK_CONFIG && c->cfg.nerrors > 1) {
			for (size_t i = 0; i < c->cfg.nerrors; i++)
				fprintf(stderr, "deployer: %s\n",
				    c->cfg.errors[i]);
			errbuf_set(eb, EK_CONFIG, "'%s' is not valid (%s%zu "
			    "errors)", c->cfgpath, c->cfg.nerrors >=
			    CONFIG_ERRORS_MAX ? "at least " : "",
			    c->cfg.nerrors);
		}
		return -1;
	}
	if (strncmp(c->cfg.store, "s3://", 5) == 0 ||
	    strcmp(c->cfg.queue, "sqs") == 0) {
		ac.region = c->cfg.region;
		ac.sqs_protocol = c->cfg.sqs_protocol;
		if ((c->aws = aws_client_new(&ac, eb)) == NULL)
			return -1;
	}
	return 0;
}

/*
 * Open the store of deployer.yml ('create': make a file:// store's
 * directory).  0, or -1 with eb set (EK_NOINPUT, EK_CONFIG, EK_IO).
 */
int
dctx_open_store(struct dctx *c, bool create, struct errbuf *eb)
{
	if (store_open(c->cfg.store, create, c->aws, &c->store, eb) == -1)
		return -1;
	store_set_concurrency(c->store, c->cfg.max_requests_in_flight);
	return 0;
}

/*
 * The request pool of the AWS client (max_requests_in_flight), made at
 * the first call; borrowed.  From then on every request of the client
 * goes through it (aws_client_set_pool), so that a batch's sends, the
 * progress reads and the records move on together.  NULL with eb set
 * when there is no client (file:// and the spool) or it cannot be made.
 */
struct aws_pool *
dctx_pool(struct dctx *c, struct errbuf *eb)
{
	if (c->pool == NULL && c->aws != NULL) {
		c->pool = aws_pool_new(c->aws, c->cfg.max_requests_in_flight,
		    eb);
		if (c->pool != NULL)
			aws_client_set_pool(c->aws, c->pool);
	}
	return c->pool;
}

/* Open instance queue 'name' of the configured backend (queue_open). */
int
dctx_queue_open(struct dctx *c, const char *name, struct queue **ret,
    struct errbuf *eb)
{
	return queue_open(c->cfg.queue, name, 0, c->aws, ret, eb);
}

/* The queues named prefix* of the configured backend (queue_list). */
int
dctx_queue_list(struct dctx *c, const char *prefix, char ***ret_names,
    size_t *ret_n, struct errbuf *eb)
{
	if (strcmp(c->cfg.queue, "sqs") == 0)
		return queue_sqs_list(c->aws, prefix, ret_names, ret_n, eb);
	return queue_list(c->cfg.queue, c->aws, prefix, ret_names, ret_n,
	    eb);
}

/* Free everything dctx_open made; safe on a half-opened context. */
void
dctx_release(struct dctx *c)
{
	store_free(c->store);
	regcache_free(c->regcache);
	if (c->aws != NULL)
		aws_client_set_pool(c->aws, NULL);
	aws_pool_free(c->pool);
	aws_client_free(c->aws);
	deployer_config_release(&c->cfg);
	free(c->cfgpath);
	free(c->dir);
	memset(c, 0, sizeof(*c));
}

/* The group 'name' of deployer.yml (borrowed), or NULL with EK_USAGE. */
const struct deployer_group *
dctx_group(struct dctx *c, const char *name, struct errbuf *eb)
{
	const struct deployer_group	*g;
	const char			**names, *sug;

	if ((g = deployer_config_group(&c->cfg, name)) != NULL)
		return g;
	/* The nearest group name (the config files' suggestion rule). */
	names = xcalloc(c->cfg.ngroups + 1, sizeof(*names));
	for (size_t i = 0; i < c->cfg.ngroups; i++)
		names[i] = c->cfg.groups[i].name;
	sug = ysuggest(name, names);
	errbuf_set(eb, EK_USAGE, "group '%s' is not in '%s'%s%s%s", name,
	    c->cfgpath, sug != NULL ? " (did you mean '" : "",
	    sug != NULL ? sug : "", sug != NULL ? "'?)" : "");
	free(names);
	return NULL;
}

/*
 * The group 'what' names, or NULL with EK_USAGE; a 'd-...' that is not
 * a valid id says it is neither (deployer status, stop).
 */
const struct deployer_group *
dctx_group_or_id(struct dctx *c, const char *what, struct errbuf *eb)
{
	const struct deployer_group	*g;

	if ((g = dctx_group(c, what, eb)) == NULL &&
	    strncmp(what, "d-", 2) == 0)
		errbuf_set(eb, EK_USAGE, "'%s' is neither a group of '%s' nor "
		    "a deployment id ('d-' and 9 of A-Z and 2-7)", what,
		    c->cfgpath);
	return g;
}

/* The only group of deployer.yml (borrowed), or NULL when several. */
const char *
dctx_default_group(const struct dctx *c)
{
	return c->cfg.ngroups == 1 ? c->cfg.groups[0].name : NULL;
}

/*
 * The start of every command whose one operand is an optional GROUP
 * (argc/argv are what follows the options): open deployer.yml, take the
 * group named, else its only group, check it is there, and open the store
 * read-only.  A stray operand, an ambiguous or unknown group is a usage
 * error (exits 64 with 'usage').  Returns the group (borrowed from argv
 * or the config), or NULL with eb set (deployer.yml or the store).
 */
const char *
dctx_open_for_group(struct dctx *c, int argc, char **argv,
    const char *usage, struct errbuf *eb)
{
	const char	*group;

	if (argc > 1)
		usage_error(usage, "unexpected argument '%s'", argv[1]);
	if (dctx_open(c, eb) == -1)
		return NULL;
	if ((group = argc == 1 ? argv[0] : dctx_default_group(c)) == NULL) {
		dctx_release(c);
		usage_error(usage, "deployer.yml has several groups: name one");
	}
	if (dctx_group(c, group, eb) == NULL) {
		dctx_release(c);
		usage_error(usage, "%s", eb->msg);
	}
	if (dctx_open_store(c, false, eb) == -1)
		return NULL;
	return group;
}

/* Where a bundle lives, as a message names it: STORE/revisions/... */
char *
dctx_revision_location(const struct dctx *c, const char *sha256)
{
	size_t	 n;

	n = strlen(c->cfg.store);
	while (n > 0 && c->cfg.store[n - 1] == '/')
		n--;
	return xasprintf("%.*s/revisions/%s/%s.tar.gz", (int)n,
	    c->cfg.store, c->cfg.application, sha256);
}

/* How often to poll the store for statuses, in milliseconds. */
unsigned
dctx_poll_ms(const struct dctx *c)
{
	return strncmp(c->cfg.store, "file:", 5) == 0 ?
	    DEPLOYER_POLL_FILE_MS : DEPLOYER_POLL_S3_MS;
}

/* The first, shortest poll interval of a wait (see deployer.h). */
unsigned
dctx_poll_first_ms(const struct dctx *c)
{
	return strncmp(c->cfg.store, "file:", 5) == 0 ?
	    DEPLOYER_POLL_FILE_FIRST_MS : DEPLOYER_POLL_S3_FIRST_MS;
}

/* Now as RFC 3339 UTC with milliseconds (the daemon's format). */
void
ts_now(char buf[32])
{
	state_timestamp(buf);
}

/* A time as RFC 3339 UTC, seconds. */
void
ts_format(time_t t, char buf[32])
{
	struct tm	 tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		(void)strlcpy(buf, "1970-01-01T00:00:00Z", 32);
}

/*
 * Parse "YYYY-MM-DDTHH:MM:SS[.fff](Z|+HH:MM)" into seconds since the
 * epoch; 0 when it is not that.
 */
time_t
ts_parse(const char *s)
{
	struct tm	 tm = { 0 };
	const char	*p;
	time_t		 t;
	int		 sign, hh, mm;

	if (s == NULL || (p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return 0;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	t = timegm(&tm);
	if (*p == 'Z' || *p == 'z')
		return t;
	if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d", &hh, &mm) ==
	    2) {
		sign = *p == '+' ? 1 : -1;
		return t - sign * (hh * 3600 + mm * 60);
	}
	return 0;
}
