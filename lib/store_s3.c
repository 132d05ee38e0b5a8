/* SPDX-License-Identifier: ISC */
/*
 * store_s3.c: the Amazon S3 backend of struct store_ops (store.h), on
 * lib/aws/s3.h.  A store s3://BUCKET/PREFIX keeps key K at object
 * PREFIX/K.  ETags are S3's, quotes included; store_put_if maps to
 * If-None-Match: * and If-Match: ETAG (S3 conditional writes), and a 412
 * reply is STORE_CONFLICT.  Downloads go to a file with their SHA-256
 * checked on the way and the size cap by the reply's Content-Length
 * (s3_get_file: one request).
 * This file keeps no state but the client, bucket and prefix, and does
 * not log above debug.
 */
#include "compat.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aws/client.h"
#include "aws/pool.h"
#include "aws/s3.h"
#include "backends.h"
#include "buf.h"
#include "caps.h"
#include "errbuf.h"
#include "store.h"
#include "xalloc.h"

#include "banned.h"

struct s3_store {
	struct aws_client	*c;		/* borrowed */
	char			*bucket;
	char			*prefix;	/* "" or "P/" */
	struct aws_pool		*pool;		/* get_many's, made at need */
	unsigned int		 in_flight;	/* its limit; 0: default */
};

static struct s3_store *
ss(struct store *s)
{
	return s->priv;
}

static char *
full_key(struct store *s, const char *key)
{
	return xasprintf("%s%s", ss(s)->prefix, key);
}

/*
 * A call on s failed: a bucket that does not exist (a typo in the store
 * URL, or not created yet) is a configuration error naming the store,
 * not the missing key its 404 looks like.  Returns -1.
 */
static int
s3s_failed(struct store *s, struct errbuf *eb)
{
	if (eb->kind == EK_NOINPUT && strstr(eb->msg, ": NoSuchBucket") !=
	    NULL)
		errbuf_set(eb, EK_CONFIG, "store '%s': bucket '%s' does not "
		    "exist", s->url, ss(s)->bucket);
	return -1;
}

static void
copy_etag(char dst[STORE_ETAG_MAX], const char *etag)
{
	if (dst == NULL)
		return;
	(void)strlcpy(dst, etag != NULL ? etag : "", STORE_ETAG_MAX);
}

static int
s3s_get(struct store *s, const char *key, size_t max, char **ret_data,
    size_t *ret_len, char ret_etag[STORE_ETAG_MAX], struct errbuf *eb)
{
	struct buf	 b;
	char		*k = full_key(s, key), *etag = NULL;
	int		 ret = -1;

	buf_init(&b, max);
	if (s3_get_buf(ss(s)->c, ss(s)->bucket, k, max, &b, &etag, eb) ==
	    -1) {
		(void)s3s_failed(s, eb);
		goto out;
	}
	copy_etag(ret_etag, etag);
	*ret_len = b.len;
	if (b.data == NULL)
		*ret_data = xstrdup("");
	else
		*ret_data = buf_take(&b, NULL);
	ret = 0;
 out:
	buf_release(&b);
	free(etag);
	free(k);
	return ret;
}

static int
s3s_get_file(struct store *s, const char *key, const char *path,
    const char *sha256_hex, uint64_t max, uint64_t *ret_size,
    struct errbuf *eb)
{
	char		*k = full_key(s, key);
	uint64_t	 size = 0;
	int		 ret = -1;

	if (s3_get_file(ss(s)->c, ss(s)->bucket, k, path, sha256_hex, max,
	    &size, eb) == -1) {
		(void)s3s_failed(s, eb);
		goto out;
	}
	if (chmod(path, 0600) == -1) {
		errbuf_errno(eb, EK_IO, "cannot chmod '%s'", path);
		(void)unlink(path);
		goto out;
	}
	if (ret_size != NULL)
		*ret_size = size;
	ret = 0;
 out:
	free(k);
	return ret;
}

static int
s3s_put(struct store *s, const char *key, const void *data, size_t len,
    const char *if_match, char ret_etag[STORE_ETAG_MAX], struct errbuf *eb)
{
	struct s3_put_opts	 o;
	char			*k = full_key(s, key), *etag = NULL;
	int			 r, ret = -1;

	memset(&o, 0, sizeof(o));
	if (if_match == NULL)
		o.cond = S3_PUT_ALWAYS;
	else if (strcmp(if_match, STORE_IF_NONE_MATCH) == 0)
		o.cond = S3_PUT_IF_NONE_MATCH;
	else {
		o.cond = S3_PUT_IF_MATCH;
		o.etag = if_match;
	}
	if (len > 5 && strncmp(key + strlen(key) - 5, ".json", 5) == 0)
		o.content_type = "application/json";
	r = s3_put_buf(ss(s)->c, ss(s)->bucket, k, data, len, &o, &etag, eb);
	if (r == -1) {
		(void)s3s_failed(s, eb);
		goto out;
	}
	if (r == S3_PRECONDITION_FAILED) {
		ret = STORE_CONFLICT;
		goto out;
	}
	copy_etag(ret_etag, etag);
	ret = 0;
 out:
	free(etag);
	free(k);
	return ret;
}

static int
s3s_put_file(struct store *s, const char *key, const char *path,
    struct errbuf *eb)
{
	char	*k = full_key(s, key);
	int	 r;

	r = s3_put_file(ss(s)->c, ss(s)->bucket, k, path, NULL, NULL, eb);
	free(k);
	return r == 0 ? 0 : s3s_failed(s, eb);
}

/* The objects under prefix, at most STORE_LIST_MAX. */
static int
s3s_list_objects(struct store *s, const char *prefix, struct s3_list *l,
    struct errbuf *eb)
{
	char	*k = full_key(s, prefix);
	int	 r;

	r = s3_list_objects(ss(s)->c, ss(s)->bucket, k, 0, l, eb);
	free(k);
	if (r == -1)
		return s3s_failed(s, eb);
	if (l->n > STORE_LIST_MAX) {
		s3_list_release(l);
		return errbuf_set(eb, EK_DATA, "s3://%s/%s%s: more than %d "
		    "keys", ss(s)->bucket, ss(s)->prefix, prefix,
		    STORE_LIST_MAX);
	}
	return 0;
}

static int
s3s_list(struct store *s, const char *prefix, char ***ret_keys,
    size_t *ret_n, struct errbuf *eb)
{
	struct s3_list	 l = { NULL, 0 };
	char		**keys;
	size_t		 pl = strlen(ss(s)->prefix), n = 0;

	if (s3s_list_objects(s, prefix, &l, eb) == -1)
		return -1;
	keys = xcalloc(l.n + 1, sizeof(*keys));
	for (size_t i = 0; i < l.n; i++) {
		if (strncmp(l.v[i].key, ss(s)->prefix, pl) != 0 ||
		    store_key_check(l.v[i].key + pl, eb) == -1)
			continue;	/* not one of ours */
		keys[n++] = xstrdup(l.v[i].key + pl);
	}
	s3_list_release(&l);
	errbuf_clear(eb);
	*ret_keys = keys;
	*ret_n = n;
	return 0;
}

/* ListObjectsV2's LastModified ("2026-12-07T11:52:03.000Z"), or 0. */
static int64_t
iso8601_time(const char *s)
{
	struct tm	tm;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
		return 0;
	return (int64_t)timegm(&tm);
}

static int
s3s_list_entries(struct store *s, const char *prefix,
    struct store_listing *ret, struct errbuf *eb)
{
	struct s3_list		 l = { NULL, 0 };
	struct store_listing	 out = { NULL, 0 };
	struct errbuf		 ign = { 0 };
	size_t			 pl = strlen(ss(s)->prefix);

	if (s3s_list_objects(s, prefix, &l, eb) == -1)
		return -1;
	out.v = xcalloc(l.n + 1, sizeof(*out.v));
	for (size_t i = 0; i < l.n; i++) {
		struct store_entry	*e = &out.v[out.n];

		if (strncmp(l.v[i].key, ss(s)->prefix, pl) != 0 ||
		    store_key_check(l.v[i].key + pl, &ign) == -1)
			continue;	/* not one of ours */
		e->key = xstrdup(l.v[i].key + pl);
		e->tag = xstrdup(l.v[i].etag != NULL ? l.v[i].etag : "");
		e->mtime = iso8601_time(l.v[i].last_modified);
		e->size = l.v[i].size;
		out.n++;
	}
	s3_list_release(&l);
	*ret = out;
	return 0;
}

/* One GetObject of s3s_get_many. */
struct s3_got {
	struct store	*s;
	char		*key;		/* full, for messages */
	size_t		 i;
	store_got_fn	*got;
	void		*arg;
};

static void
s3s_got_one(void *arg, int rc, const struct aws_result *res,
    const struct errbuf *peb)
{
	struct s3_got	*g = arg;
	struct errbuf	 eb = { 0 };
	const char	*etag;

	if (rc == -1) {
		eb = *peb;
		if (res->status == 404 && res->code != NULL &&
		    strcmp(res->code, "NoSuchBucket") == 0)
			errbuf_set(&eb, EK_CONFIG, "store '%s': bucket '%s' "
			    "does not exist", g->s->url, ss(g->s)->bucket);
		else if (res->status == 404)
			errbuf_set(&eb, EK_NOINPUT, "s3 GetObject: "
			    "'s3://%s/%s' does not exist", ss(g->s)->bucket,
			    g->key);
		g->got(g->arg, g->i, NULL, 0, NULL, &eb);
	} else {
		etag = aws_result_header(res, "ETag");
		g->got(g->arg, g->i, res->body.data != NULL ?
		    res->body.data : "", res->body.len,
		    etag != NULL ? etag : "", NULL);
	}
	free(g->key);
	free(g);
}

static int
s3s_get_many(struct store *s, const char *const *keys, size_t n, size_t max,
    store_got_fn *got, void *arg, struct errbuf *eb)
{
	struct s3_store		*p = ss(s);
	struct aws_request	 req;
	struct s3_got		*g;

	if (p->pool == NULL &&
	    (p->pool = aws_pool_new(p->c, p->in_flight, eb)) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		g = xcalloc(1, sizeof(*g));
		g->s = s;
		g->key = full_key(s, keys[i]);
		g->i = i;
		g->got = got;
		g->arg = arg;
		/* The reply's body is NUL-terminated by struct buf. */
		s3_get_request(&req, p->bucket, g->key, max);
		if (aws_pool_add(p->pool, &req, s3s_got_one, g, eb) == -1) {
			free(g->key);
			free(g);
			goto fail;
		}
	}
	if (aws_pool_wait(p->pool, eb) == 0)
		return 0;
 fail:
	/* Whatever was added is reported before returning. */
	if (aws_pool_pending(p->pool) > 0) {
		struct errbuf	ign = { 0 };

		aws_pool_cancel(p->pool);
		if (aws_pool_wait(p->pool, &ign) == -1)
			errbuf_clear(&ign);
	}
	return -1;
}

static void
s3s_set_concurrency(struct store *s, unsigned int max_in_flight)
{
	struct s3_store	*p = ss(s);

	p->in_flight = max_in_flight;
	aws_pool_free(p->pool);
	p->pool = NULL;
}

static int
s3s_del(struct store *s, const char *key, struct errbuf *eb)
{
	char	*k = full_key(s, key);
	int	 r;

	r = s3_delete(ss(s)->c, ss(s)->bucket, k, eb);
	free(k);
	return r == 0 ? 0 : s3s_failed(s, eb);
}

static int
s3s_stat(struct store *s, const char *key, struct store_stat *ret_st,
    struct errbuf *eb)
{
	struct s3_object_info	 oi;
	struct tm		 tm;
	char			*k = full_key(s, key);
	int			 ret = -1;

	memset(&oi, 0, sizeof(oi));
	if (s3_head(ss(s)->c, ss(s)->bucket, k, &oi, eb) == -1) {
		if (eb->kind == EK_NOINPUT) {
			errbuf_clear(eb);
			ret = 0;
		}
		goto out;
	}
	if (ret_st != NULL) {
		memset(ret_st, 0, sizeof(*ret_st));
		ret_st->size = oi.size;
		copy_etag(ret_st->etag, oi.etag);
		memset(&tm, 0, sizeof(tm));
		/* RFC 9110 IMF-fixdate, which S3 sends. */
		if (oi.last_modified != NULL && strptime(oi.last_modified,
		    "%a, %d %b %Y %H:%M:%S GMT", &tm) != NULL)
			ret_st->mtime = (int64_t)timegm(&tm);
	}
	ret = 1;
 out:
	s3_object_info_release(&oi);
	free(k);
	return ret;
}

static void
s3s_release(struct store *s)
{
	struct s3_store	*p = ss(s);

	if (p == NULL)
		return;
	aws_pool_free(p->pool);
	free(p->bucket);
	free(p->prefix);
	free(p);
	s->priv = NULL;
}

static const struct store_ops s3_ops = {
	.scheme = "s3",
	.get = s3s_get,
	.get_file = s3s_get_file,
	.put = s3s_put,
	.put_file = s3s_put_file,
	.list = s3s_list,
	.list_entries = s3s_list_entries,
	.get_many = s3s_get_many,
	.set_concurrency = s3s_set_concurrency,
	.del = s3s_del,
	.stat = s3s_stat,
	.release = s3s_release,
};

int
store_s3_new(const char *url, struct aws_client *aws,
    struct store **ret_store, struct errbuf *eb)
{
	struct s3_store	*p;
	struct store	*s;
	char		*bucket = NULL, *key = NULL;
	size_t		 n;

	if (aws == NULL)
		return errbuf_set(eb, EK_CONFIG, "store '%s': no AWS client",
		    url);
	if (s3_parse_url(url, &bucket, &key, eb) == -1) {
		eb->kind = EK_CONFIG;
		return -1;
	}
	while ((n = strlen(key)) > 0 && key[n - 1] == '/')
		key[n - 1] = '\0';
	if (*bucket == '\0' || (*key != '\0' &&
	    store_prefix_check(key, eb) == -1)) {
		errbuf_set(eb, EK_CONFIG, "store '%s': not "
		    "s3://BUCKET[/PREFIX] with a valid prefix", url);
		free(bucket);
		free(key);
		return -1;
	}
	p = xcalloc(1, sizeof(*p));
	p->bucket = bucket;
	p->prefix = *key != '\0' ? xasprintf("%s/", key) : xstrdup("");
	free(key);
	p->c = aws;
	s = xcalloc(1, sizeof(*s));
	s->ops = &s3_ops;
	s->url = xstrdup(url);
	s->priv = p;
	*ret_store = s;
	return 0;
}
