/* SPDX-License-Identifier: ISC */
/*
 * imds.c: the EC2 instance metadata service, IMDSv2 only (see imds.h and
 * the EC2 user guide, "Use the Instance Metadata Service to access
 * instance metadata").  One HTTP handle, a cached session token (taken
 * again on 401 or shortly before its TTL ends), short timeouts, one
 * retry, and a short negative cache so that a host without IMDS pays the
 * connect timeout once per IMDS_NEGATIVE_SEC rather than on every call.
 */
#include "compat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "aws/creds.h"
#include "aws/imds.h"
#include "errbuf.h"
#include "http.h"
#include "log.h"
#include "xalloc.h"
#include "banned.h"

#define IMDS_NEGATIVE_SEC	60	/* remember "unreachable" this long */
#define IMDS_TOKEN_SLACK_SEC	60	/* renew the token this early */

struct imds {
	char		*endpoint;	/* no trailing slash */
	bool		 disabled;
	struct http	*http;
	char		*token;
	time_t		 token_exp;
	time_t		 down_until;	/* negative cache */
	char		 down_msg[ERRBUF_MSG_MAX];
};

struct imds *
imds_new(const char *endpoint)
{
	struct imds	*im;
	const char	*e, *dis;
	size_t		 len;

	im = xcalloc(1, sizeof(*im));
	e = endpoint;
	if (e == NULL || *e == '\0')
		e = secure_getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	if (e == NULL || *e == '\0')
		e = IMDS_ENDPOINT_DEFAULT;
	im->endpoint = xstrdup(e);
	len = strlen(im->endpoint);
	while (len > 0 && im->endpoint[len - 1] == '/')
		im->endpoint[--len] = '\0';
	dis = secure_getenv("AWS_EC2_METADATA_DISABLED");
	im->disabled = dis != NULL && strcasecmp(dis, "true") == 0;
	return im;
}

static void
drop_token(struct imds *im)
{
	if (im->token != NULL)
		freezero(im->token, strlen(im->token));
	im->token = NULL;
	im->token_exp = 0;
}

void
imds_free(struct imds *im)
{
	if (im == NULL)
		return;
	drop_token(im);
	http_free(im->http);
	free(im->endpoint);
	free(im);
}

bool
imds_enabled(const struct imds *im)
{
	return im != NULL && !im->disabled;
}

/*
 * One exchange with a retry on transport failures and 5xx.  Fills resp;
 * returns 0 when a reply arrived (any status), -1 with eb set.
 */
static int
imds_exchange(struct imds *im, const char *method, const char *path,
    const struct http_headers *hdrs, struct http_response *resp,
    struct errbuf *eb)
{
	struct http_request	 req;
	struct errbuf		 e2 = { 0 };
	char			*url;
	int			 ret = -1;

	if (im->disabled)
		return errbuf_set(eb, EK_UNAVAIL, "instance metadata service "
		    "disabled by AWS_EC2_METADATA_DISABLED");
	if (im->down_until != 0 && time(NULL) < im->down_until)
		return errbuf_set(eb, EK_UNAVAIL, "%s", im->down_msg);
	if (im->http == NULL && (im->http = http_new(eb)) == NULL)
		return -1;

	url = xasprintf("%s/latest/%s", im->endpoint, path);
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.url = url;
	req.headers = hdrs;
	req.body_fd = -1;
	req.out_fd = -1;
	req.timeout_ms = IMDS_TIMEOUT_MS;
	req.connect_timeout_ms = IMDS_CONNECT_TIMEOUT_MS;
	req.body_max = IMDS_VALUE_MAX;
	if (strcmp(method, "PUT") == 0) {
		req.body = "";
		req.body_len = 0;
	}
	for (int attempt = 1; attempt <= IMDS_ATTEMPTS; attempt++) {
		errbuf_clear(&e2);
		if (http_perform(im->http, &req, resp, &e2) == 0) {
			if (resp->status >= 500 && attempt < IMDS_ATTEMPTS)
				continue;
			ret = 0;
			goto out;
		}
		if (e2.kind != EK_UNAVAIL && e2.kind != EK_TEMP)
			break;
	}
	if (e2.kind == EK_UNAVAIL || e2.kind == EK_TEMP) {
		errbuf_set(eb, EK_UNAVAIL, "instance metadata service "
		    "unreachable at %s: %s", im->endpoint, e2.msg);
		strlcpy(im->down_msg, eb->msg, sizeof(im->down_msg));
		im->down_until = time(NULL) + IMDS_NEGATIVE_SEC;
	} else {
		eb->kind = e2.kind;
		strlcpy(eb->msg, e2.msg, sizeof(eb->msg));
	}
 out:
	free(url);
	return ret;
}

static void
chomp(char *s)
{
	size_t	len = strlen(s);

	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r' ||
	    s[len - 1] == ' '))
		s[--len] = '\0';
}

static int
get_token(struct imds *im, struct errbuf *eb)
{
	struct http_headers	 h;
	struct http_response	 resp;
	char			 ttl[16];
	int			 ret = -1;

	if (im->token != NULL && time(NULL) < im->token_exp)
		return 0;
	drop_token(im);
	http_headers_init(&h);
	http_response_init(&resp);
	snprintf(ttl, sizeof(ttl), "%d", IMDS_TOKEN_TTL_SEC);
	http_headers_add(&h, "X-aws-ec2-metadata-token-ttl-seconds", ttl);
	if (imds_exchange(im, "PUT", "api/token", &h, &resp, eb) == -1)
		goto out;
	if (resp.status == 403) {
		errbuf_set(eb, EK_PERM, "instance metadata service at %s "
		    "refused a session token (HTTP 403)", im->endpoint);
		goto out;
	}
	if (resp.status != 200 || resp.body.len == 0) {
		errbuf_set(eb, EK_PROTO, "instance metadata service at %s: "
		    "token request answered HTTP %ld", im->endpoint,
		    resp.status);
		goto out;
	}
	im->token = buf_take(&resp.body, NULL);
	chomp(im->token);
	im->token_exp = time(NULL) + IMDS_TOKEN_TTL_SEC - IMDS_TOKEN_SLACK_SEC;
	ret = 0;
 out:
	http_response_release(&resp);
	http_headers_release(&h);
	return ret;
}

int
imds_get(struct imds *im, const char *path, char **ret, struct errbuf *eb)
{
	struct http_headers	 h;
	struct http_response	 resp;
	int			 rv = -1;

	http_headers_init(&h);
	http_response_init(&resp);
	for (int attempt = 0; attempt < 2; attempt++) {
		if (get_token(im, eb) == -1)
			goto out;
		http_headers_set(&h, "X-aws-ec2-metadata-token", im->token);
		if (imds_exchange(im, "GET", path, &h, &resp, eb) == -1)
			goto out;
		/* 401: the token expired or was revoked; take a new one. */
		if (resp.status != 401)
			break;
		drop_token(im);
	}
	switch (resp.status) {
	case 200:
		break;
	case 404:
		errbuf_set(eb, EK_NOINPUT, "instance metadata '%s' not found",
		    path);
		goto out;
	case 401:
	case 403:
		errbuf_set(eb, EK_PERM, "instance metadata '%s': access "
		    "denied (HTTP %ld)", path, resp.status);
		goto out;
	default:
		errbuf_set(eb, resp.status >= 500 || resp.status == 429 ?
		    EK_TEMP : EK_PROTO, "instance metadata '%s': HTTP %ld",
		    path, resp.status);
		goto out;
	}
	log_debug("imds: got '%s' (%zu bytes)", path, resp.body.len);
	*ret = buf_take(&resp.body, NULL);
	rv = 0;
 out:
	if (resp.body.data != NULL)
		explicit_bzero(resp.body.data, resp.body.len);
	http_response_release(&resp);
	http_headers_release(&h);
	return rv;
}

/* A one-line value: trailing newline removed; empty is an error. */
static int
imds_line(struct imds *im, const char *path, char **ret, struct errbuf *eb)
{
	char	*v;

	if (imds_get(im, path, &v, eb) == -1)
		return -1;
	chomp(v);
	if (*v == '\0') {
		free(v);
		return errbuf_set(eb, EK_PROTO, "instance metadata '%s' is "
		    "empty", path);
	}
	*ret = v;
	return 0;
}

int
imds_instance_id(struct imds *im, char **ret, struct errbuf *eb)
{
	return imds_line(im, "meta-data/instance-id", ret, eb);
}

int
imds_region(struct imds *im, char **ret, struct errbuf *eb)
{
	return imds_line(im, "meta-data/placement/region", ret, eb);
}

int
imds_tag(struct imds *im, const char *key, char **ret, struct errbuf *eb)
{
	char	*path, *v;
	int	 rc;

	if (key == NULL || *key == '\0' || strchr(key, '/') != NULL)
		return errbuf_set(eb, EK_USAGE, "bad instance tag key '%s'",
		    key == NULL ? "" : key);
	path = xasprintf("meta-data/tags/instance/%s", key);
	rc = imds_get(im, path, &v, eb);
	free(path);
	if (rc == -1) {
		if (eb->kind == EK_NOINPUT)
			errbuf_set(eb, EK_NOINPUT, "instance tag '%s' not "
			    "found (or instance metadata tags are off)", key);
		return -1;
	}
	chomp(v);
	*ret = v;
	return 0;
}

int
imds_identity_document(struct imds *im, char **ret, struct errbuf *eb)
{
	return imds_get(im, "dynamic/instance-identity/document", ret, eb);
}

static int
parse_rfc3339(const char *s, time_t *ret)
{
	struct tm	 tm;
	const char	*e;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || (e = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	/* Fractions of a second and "Z" / "+00:00" are accepted. */
	if (*e == '.')
		for (e++; *e >= '0' && *e <= '9'; e++)
			;
	if (*e != 'Z' && strcmp(e, "+00:00") != 0)
		return -1;
	*ret = timegm(&tm);
	return 0;
}

int
imds_role_creds(struct imds *im, struct aws_creds *ret, struct errbuf *eb)
{
	struct aws_creds	 c;
	json_error_t		 jerr;
	json_t			*j = NULL;
	char			*roles = NULL, *doc = NULL, *path = NULL;
	const char		*ak, *sk, *tok, *exp, *code;
	int			 rv = -1;

	aws_creds_init(&c);
	if (imds_get(im, "meta-data/iam/security-credentials/", &roles,
	    eb) == -1) {
		if (eb->kind == EK_NOINPUT)
			errbuf_set(eb, EK_NOINPUT, "the instance has no IAM "
			    "role (instance profile)");
		goto out;
	}
	roles[strcspn(roles, "\r\n")] = '\0';
	if (*roles == '\0' || strchr(roles, '/') != NULL) {
		errbuf_set(eb, EK_PROTO, "instance metadata: bad role name");
		goto out;
	}
	path = xasprintf("meta-data/iam/security-credentials/%s", roles);
	if (imds_get(im, path, &doc, eb) == -1)
		goto out;
	if ((j = json_loads(doc, 0, &jerr)) == NULL || !json_is_object(j)) {
		errbuf_set(eb, EK_PROTO, "instance metadata: role '%s' "
		    "credentials are not a JSON object", roles);
		goto out;
	}
	code = json_string_value(json_object_get(j, "Code"));
	if (code != NULL && strcmp(code, "Success") != 0) {
		errbuf_set(eb, EK_PROTO, "instance metadata: role '%s' "
		    "credentials: Code %s", roles, code);
		goto out;
	}
	ak = json_string_value(json_object_get(j, "AccessKeyId"));
	sk = json_string_value(json_object_get(j, "SecretAccessKey"));
	tok = json_string_value(json_object_get(j, "Token"));
	exp = json_string_value(json_object_get(j, "Expiration"));
	if (ak == NULL || sk == NULL || *ak == '\0' || *sk == '\0') {
		errbuf_set(eb, EK_PROTO, "instance metadata: role '%s' "
		    "credentials lack AccessKeyId/SecretAccessKey", roles);
		goto out;
	}
	if (exp != NULL && parse_rfc3339(exp, &c.expiration) == -1) {
		errbuf_set(eb, EK_PROTO, "instance metadata: role '%s' "
		    "credentials: bad Expiration '%s'", roles, exp);
		goto out;
	}
	c.access_key = xstrdup(ak);
	c.secret_key = xstrdup(sk);
	c.session_token = tok != NULL && *tok != '\0' ? xstrdup(tok) : NULL;
	c.source = AWS_CREDS_IMDS;
	*ret = c;
	aws_creds_init(&c);
	rv = 0;
 out:
	aws_creds_release(&c);
	if (j != NULL) {
		/* jansson keeps its own copies of the secrets; wipe them. */
		json_t	*v;

		if ((v = json_object_get(j, "SecretAccessKey")) != NULL &&
		    json_is_string(v))
			explicit_bzero((char *)(uintptr_t)json_string_value(v),
			    json_string_length(v));
		if ((v = json_object_get(j, "Token")) != NULL &&
		    json_is_string(v))
			explicit_bzero((char *)(uintptr_t)json_string_value(v),
			    json_string_length(v));
		json_decref(j);
	}
	if (doc != NULL)
		freezero(doc, strlen(doc));
	free(roles);
	free(path);
	return rv;
}
