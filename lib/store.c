/* SPDX-License-Identifier: ISC */
/*
 * store.c: the backend-independent half of the store: URL dispatch, the
 * key rule every operation enforces before a backend sees a key, and the
 * key builders for DESIGN.md's layout.  The backends (store_file.c, later
 * store_s3.c) only move bytes.
 */
#include "compat.h"

#include <stdlib.h>
#include <string.h>

#include "backends.h"
#include "caps.h"
#include "errbuf.h"
#include "message.h"
#include "names.h"
#include "quote.h"
#include "store.h"
#include "xalloc.h"

#include "banned.h"

static bool
key_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
	    c == ':' || c == '@' || c == '+' || c == '=';
}

/* Check a key; a trailing '/' is allowed when 'prefix'. */
static int
key_check(const char *key, bool prefix, struct errbuf *eb)
{
	char		 qb[256], cb[8];
	const char	*seg = key, *why = NULL;
	size_t		 n = strlen(key);

	if (n == 0)
		return prefix ? 0 : errbuf_set(eb, EK_DATA, "empty store key");
	if (n > STORE_KEY_MAX)
		return errbuf_set(eb, EK_DATA, "store key '%s': longer than %d "
		    "bytes", quote_text(key, n, qb, sizeof(qb)), STORE_KEY_MAX);
	for (const char *p = key; why == NULL; p++) {
		if (*p != '/' && *p != '\0') {
			if (!key_char_ok(*p))
				why = quote_text(p, 1, cb, sizeof(cb));
			continue;
		}
		if (p == seg && !(prefix && *p == '\0'))
			why = "empty path segment";
		else if (p > seg && *seg == '.')
			why = "a segment starts with '.'";
		else if (*p == '\0')
			break;
		seg = p + 1;
	}
	if (why == NULL)
		return 0;
	if (why == cb)
		return errbuf_set(eb, EK_DATA, "store key '%s': character '%s' "
		    "is not allowed", quote_text(key, n, qb, sizeof(qb)), cb);
	return errbuf_set(eb, EK_DATA, "store key '%s': %s",
	    quote_text(key, n, qb, sizeof(qb)), why);
}

int
store_key_check(const char *key, struct errbuf *eb)
{
	return key_check(key, false, eb);
}

int
store_prefix_check(const char *prefix, struct errbuf *eb)
{
	return key_check(prefix, true, eb);
}

int
store_open(const char *url, bool create, struct aws_client *aws,
    struct store **ret_store, struct errbuf *eb)
{
	char	 qb[256];

	if (strncmp(url, "file://", 7) == 0) {
		if (url[7] != '/')
			return errbuf_set(eb, EK_CONFIG, "store '%s': a file "
			    "store must be file:///ABSOLUTE/PATH",
			    quote_str(url, qb, sizeof(qb)));
		return store_file_new(url + 7, create, ret_store, eb);
	}
	if (strncmp(url, "s3://", 5) == 0)
		return store_s3_new(url, aws, ret_store, eb);
	return errbuf_set(eb, EK_CONFIG, "store '%s': must be file:///PATH "
	    "or s3://BUCKET/PREFIX", quote_str(url, qb,
	    sizeof(qb)));
}

void
store_free(struct store *s)
{
	if (s == NULL)
		return;
	if (s->ops != NULL && s->ops->release != NULL)
		s->ops->release(s);
	free(s->url);
	free(s);
}

static int
bad_key(const char *key, struct errbuf *eb)
{
	if (store_key_check(key, eb) == -1) {
		eb->kind = EK_BUG;
		return -1;
	}
	return 0;
}

int
store_get(struct store *s, const char *key, size_t max, char **ret_data,
    size_t *ret_len, char ret_etag[STORE_ETAG_MAX], struct errbuf *eb)
{
	if (bad_key(key, eb) == -1)
		return -1;
	return s->ops->get(s, key, max, ret_data, ret_len, ret_etag, eb);
}

int
store_get_file(struct store *s, const char *key, const char *path,
    const char *sha256_hex, uint64_t max, uint64_t *ret_size,
    struct errbuf *eb)
{
	if (bad_key(key, eb) == -1)
		return -1;
	return s->ops->get_file(s, key, path, sha256_hex, max, ret_size, eb);
}

int
store_put(struct store *s, const char *key, const void *data, size_t len,
    char ret_etag[STORE_ETAG_MAX], struct errbuf *eb)
{
	if (bad_key(key, eb) == -1)
		return -1;
	return s->ops->put(s, key, data, len, NULL, ret_etag, eb);
}

int
store_put_volatile(struct store *s, const char *key, const void *data,
    size_t len, struct errbuf *eb)
{
	if (bad_key(key, eb) == -1)
		return -1;
	if (s->ops->put_volatile == NULL)
		return s->ops->put(s, key, data, len, NULL, NULL, eb);
	return s->ops->put_volatile(s, key, data, len, eb);
}

int
store_put_if(struct store *s, const char *key, const void *data, size_t len,
    const char *if_match, char ret_etag[STORE_ETAG_MAX], struct errbuf *eb)
{
	if (bad_key(key, eb) == -1)
		return -1;
	if (if_match == NULL || *if_match == '\0' ||
	    strlen(if_match) >= STORE_ETAG_MAX)
		return errbuf_set(eb, EK_BUG, "store_put_if: bad etag");
	return s->ops->put(s, key, data, len, if_match, ret_etag, eb);
}

int
store_put_file(struct store *s, const char *key, const char *path,
    struct errbuf *eb)
{
	if (bad_key(key, eb) == -1)
		return -1;
	return s->ops->put_file(s, key, path, eb);
}

int
store_list(struct store *s, const char *prefix, char ***ret_keys,
    size_t *ret_n, struct errbuf *eb)
{
	if (store_prefix_check(prefix, eb) == -1) {
		eb->kind = EK_BUG;
		return -1;
	}
	return s->ops->list(s, prefix, ret_keys, ret_n, eb);
}

int
store_list_entries(struct store *s, const char *prefix,
    struct store_listing *ret, struct errbuf *eb)
{
	if (store_prefix_check(prefix, eb) == -1) {
		eb->kind = EK_BUG;
		return -1;
	}
	return s->ops->list_entries(s, prefix, ret, eb);
}

void
store_listing_release(struct store_listing *l)
{
	for (size_t i = 0; l->v != NULL && i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].tag);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

int
store_get_many(struct store *s, const char *const *keys, size_t n,
    size_t max, store_got_fn *got, void *arg, struct errbuf *eb)
{
	struct errbuf	 e;
	char		*data, etag[STORE_ETAG_MAX];
	size_t		 len;

	for (size_t i = 0; i < n; i++)
		if (bad_key(keys[i], eb) == -1)
			return -1;
	if (s->ops->get_many != NULL)
		return s->ops->get_many(s, keys, n, max, got, arg, eb);
	for (size_t i = 0; i < n; i++) {
		memset(&e, 0, sizeof(e));
		etag[0] = '\0';
		if (s->ops->get(s, keys[i], max, &data, &len, etag, &e) == -1) {
			got(arg, i, NULL, 0, NULL, &e);
			continue;
		}
		got(arg, i, data, len, etag, NULL);
		free(data);
	}
	return 0;
}

void
store_set_concurrency(struct store *s, unsigned int max_in_flight)
{
	if (s->ops->set_concurrency != NULL)
		s->ops->set_concurrency(s, max_in_flight);
}

int
store_delete(struct store *s, const char *key, struct errbuf *eb)
{
	if (bad_key(key, eb) == -1)
		return -1;
	return s->ops->del(s, key, eb);
}

int
store_exists(struct store *s, const char *key, struct store_stat *ret_st,
    struct errbuf *eb)
{
	struct store_stat	 st;
	int			 r;

	if (bad_key(key, eb) == -1)
		return -1;
	memset(&st, 0, sizeof(st));
	r = s->ops->stat(s, key, &st, eb);
	if (r == 1 && ret_st != NULL)
		*ret_st = st;
	return r;
}

void
store_keys_free(char **keys, size_t n)
{
	if (keys == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
}

char *
store_key_revision(const char *app, const char *sha256, struct errbuf *eb)
{
	if (name_check("application", app, eb) == -1 ||
	    msg_check_hex("sha256", sha256, 64, eb) == -1)
		return NULL;
	return xasprintf("revisions/%s/%s.tar.gz", app, sha256);
}

char *
store_key_target(const char *app, const char *group, struct errbuf *eb)
{
	if (name_check("application", app, eb) == -1 ||
	    name_check("group", group, eb) == -1)
		return NULL;
	return xasprintf("groups/%s/%s/target.json", app, group);
}

char *
store_key_instance(const char *app, const char *group, const char *instance,
    struct errbuf *eb)
{
	if (name_check("application", app, eb) == -1 ||
	    name_check("group", group, eb) == -1 ||
	    name_check("instance", instance, eb) == -1)
		return NULL;
	return xasprintf("groups/%s/%s/instances/%s.json", app, group,
	    instance);
}

char *
store_key_deployment(const char *app, const char *group, const char *id,
    struct errbuf *eb)
{
	if (name_check("application", app, eb) == -1 ||
	    name_check("group", group, eb) == -1 ||
	    deployment_id_check("deployment id", id, eb) == -1)
		return NULL;
	return xasprintf("deployments/%s/%s/%s/deployment.json", app, group,
	    id);
}

char *
store_key_deployment_instance(const char *app, const char *group,
    const char *id, const char *instance, struct errbuf *eb)
{
	if (name_check("application", app, eb) == -1 ||
	    name_check("group", group, eb) == -1 ||
	    deployment_id_check("deployment id", id, eb) == -1 ||
	    name_check("instance", instance, eb) == -1)
		return NULL;
	return xasprintf("deployments/%s/%s/%s/instances/%s.json", app, group,
	    id, instance);
}
