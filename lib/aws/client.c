/* SPDX-License-Identifier: ISC */
/*
 * client.c: the generic signed AWS request (see client.h): URL building
 * (endpoints, S3 virtual-hosted or path-style addressing), SigV4 signing
 * per attempt, the standard-mode retry loop with full-jitter backoff
 * (AWS SDKs and Tools reference guide, "Retry behavior"), clock-skew
 * correction from the Date header, one credential refresh on an expired
 * token, and AWS error documents turned into errbuf messages and kinds.
 *
 * Error replies come as JSON (AWS JSON protocols: "__type", and SQS's
 * legacy code in x-amzn-query-error, json.c) or XML (Query, S3: xml.c,
 * which loads libxml2 on its first use; a 2xx reply is never parsed
 * here, so a client that only sees JSON and bodies never loads it).
 *
 * State machine of one aws_request():
 *   SIGN -> SEND -> 2xx: done
 *                -> transport failure: transient and attempts left ->
 *                   BACKOFF -> SIGN; else fail
 *                -> error reply: skew code and Date off by > 4 min and
 *                   not yet corrected -> set skew -> SIGN (no backoff);
 *                   expired-token code and refreshable creds and not yet
 *                   refreshed -> invalidate -> SIGN;
 *                   5xx/429/throttling and attempts left -> BACKOFF ->
 *                   SIGN; else fail with the mapped kind.
 */
#include "compat.h"

#include <sys/types.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "aws/client.h"
#include "aws/client_int.h"
#include "aws/creds.h"
#include "aws/imds.h"
#include "aws/json.h"
#include "aws/pool.h"
#include "aws/sigv4.h"
#include "aws/xml.h"
#include "caps.h"
#include "dl.h"
#include "errbuf.h"
#include "http.h"
#include "log.h"
#include "xalloc.h"
#include "banned.h"

#define FORM_CONTENT_TYPE \
	"application/x-www-form-urlencoded; charset=utf-8"
#define ENDPOINT_CACHE	8

const struct aws_service aws_svc_sqs = {
	"sqs", "SQS", "sqs", false, NULL
};
const struct aws_service aws_svc_s3 = {
	"s3", "S3", "s3", true, NULL
};
const struct aws_service aws_svc_autoscaling = {
	"autoscaling", "Auto Scaling", "autoscaling", false, NULL
};
const struct aws_service aws_svc_cloudwatch = {
	"cloudwatch", "CloudWatch", "monitoring", false, "monitoring"
};
const struct aws_service aws_svc_sns = {
	"sns", "SNS", "sns", false, NULL
};

struct aws_client {
	struct http		*http;
	struct aws_credprov	*credprov;
	bool			 own_credprov;
	struct imds		*imds;
	bool			 own_imds;
	char			*profile;
	char			*region;
	long			 skew;
	unsigned int		 max_attempts;
	unsigned int		 base_ms;
	unsigned int		 cap_ms;
	long			 timeout_ms;
	bool			 s3_path_style;
	enum aws_sqs_protocol	 sqs_protocol;
	struct {
		const struct aws_service *svc;
		char			 *url;
	}			 ep[ENDPOINT_CACHE];
	struct aws_pool		*pool;		/* aws_client_set_pool's */
};

static const char *const throttle_codes[] = {
	"Throttling", "ThrottlingException", "ThrottledException",
	"RequestThrottledException", "TooManyRequestsException",
	"ProvisionedThroughputExceededException",
	"TransactionInProgressException", "RequestLimitExceeded",
	"BandwidthLimitExceeded", "LimitExceededException",
	"RequestThrottled", "SlowDown", "PriorRequestNotComplete",
	"EC2ThrottledException",
};

static const char *const perm_codes[] = {
	"AccessDenied", "AccessDeniedException", "InvalidClientTokenId",
	"SignatureDoesNotMatch", "UnrecognizedClientException",
	"InvalidAccessKeyId", "ExpiredToken", "ExpiredTokenException",
	"InvalidSignatureException", "MissingAuthenticationToken",
	"AuthFailure", "InvalidToken", "TokenRefreshRequired",
};

static const char *const skew_codes[] = {
	"RequestTimeTooSkewed", "RequestExpired", "InvalidSignatureException",
	"SignatureDoesNotMatch", "RequestInTheFuture",
};

static const char *const expired_codes[] = {
	"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId",
	"RequestExpired", "TokenRefreshRequired", "InvalidToken",
};

static bool
in_list(const char *code, const char *const *list, size_t n)
{
	if (code == NULL)
		return false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(code, list[i]) == 0)
			return true;
	return false;
}

bool
aws_is_throttle_code(const char *code)
{
	return in_list(code, throttle_codes, nitems(throttle_codes));
}

int
aws_sqs_protocol_from_name(const char *name)
{
	if (name == NULL)
		return -1;
	if (strcmp(name, "json") == 0)
		return AWS_SQS_JSON;
	if (strcmp(name, "query") == 0)
		return AWS_SQS_QUERY;
	return -1;
}

const char *
aws_sqs_protocol_name(enum aws_sqs_protocol p)
{
	switch (p) {
	case AWS_SQS_JSON:
		return "json";
	case AWS_SQS_QUERY:
		return "query";
	default:
		return "default";
	}
}

/* cfg's protocol, else $HOOKD_SQS_PROTOCOL's, else JSON; -1 on a bad one. */
static int
sqs_protocol_pick(const struct aws_client_config *cfg, struct errbuf *eb)
{
	const char	*env;
	int		 p;

	if (cfg->sqs_protocol == AWS_SQS_JSON ||
	    cfg->sqs_protocol == AWS_SQS_QUERY)
		return cfg->sqs_protocol;
	if (cfg->sqs_protocol != AWS_SQS_DEFAULT)
		return errbuf_set(eb, EK_USAGE, "aws: bad SQS protocol %d",
		    (int)cfg->sqs_protocol);
	if ((env = secure_getenv(AWS_SQS_PROTOCOL_ENV)) == NULL ||
	    *env == '\0')
		return AWS_SQS_JSON;
	if ((p = aws_sqs_protocol_from_name(env)) == -1)
		return errbuf_set(eb, EK_CONFIG, "%s is '%.40s': must be json "
		    "or query", AWS_SQS_PROTOCOL_ENV, env);
	return p;
}

struct aws_client *
aws_client_new(const struct aws_client_config *cfg, struct errbuf *eb)
{
	struct aws_client_config	 dflt = { 0 };
	struct aws_client		*c;
	int				 proto;

	if (cfg == NULL)
		cfg = &dflt;
	if ((proto = sqs_protocol_pick(cfg, eb)) == -1)
		return NULL;
	/*
	 * Every AWS call signs (libcrypto).  libxml2 is loaded by the first
	 * XML reply; a Query-protocol client loads it now, so that a
	 * missing library is an error here rather than an abort later.
	 */
	if (dl_load(DL_CRYPTO, eb) == -1 ||
	    (proto == AWS_SQS_QUERY && dl_load(DL_XML, eb) == -1))
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->sqs_protocol = (enum aws_sqs_protocol)proto;
	c->profile = cfg->profile != NULL ? xstrdup(cfg->profile) : NULL;
	c->max_attempts = cfg->max_attempts != 0 ? cfg->max_attempts :
	    AWS_MAX_ATTEMPTS;
	c->base_ms = cfg->backoff_base_ms != 0 ? cfg->backoff_base_ms :
	    AWS_BACKOFF_BASE_MS;
	c->cap_ms = cfg->backoff_cap_ms != 0 ? cfg->backoff_cap_ms :
	    AWS_BACKOFF_CAP_MS;
	c->timeout_ms = cfg->timeout_ms;
	c->s3_path_style = cfg->s3_path_style;
	if (cfg->imds != NULL)
		c->imds = cfg->imds;
	else {
		c->imds = imds_new(NULL);
		c->own_imds = true;
	}
	if (cfg->region != NULL && *cfg->region != '\0')
		c->region = xstrdup(cfg->region);
	else if (aws_region_resolve(c->profile, c->imds, &c->region,
	    eb) == -1)
		goto fail;
	if (cfg->creds != NULL) {
		c->credprov = aws_credprov_new_static(cfg->creds);
		c->own_credprov = true;
	} else if (cfg->credprov != NULL)
		c->credprov = cfg->credprov;
	else {
		c->credprov = aws_credprov_new(c->profile, c->imds);
		c->own_credprov = true;
	}
	if ((c->http = http_new(eb)) == NULL)
		goto fail;
	return c;
 fail:
	aws_client_free(c);
	return NULL;
}

void
aws_client_free(struct aws_client *c)
{
	if (c == NULL)
		return;
	http_free(c->http);
	if (c->own_credprov)
		aws_credprov_free(c->credprov);
	if (c->own_imds)
		imds_free(c->imds);
	for (size_t i = 0; i < ENDPOINT_CACHE; i++)
		free(c->ep[i].url);
	free(c->profile);
	free(c->region);
	free(c);
}

const char *
aws_client_region(const struct aws_client *c)
{
	return c->region;
}

enum aws_sqs_protocol
aws_client_sqs_protocol(const struct aws_client *c)
{
	return c->sqs_protocol;
}

struct imds *
aws_client_imds(struct aws_client *c)
{
	return c->imds;
}

long
aws_client_skew(const struct aws_client *c)
{
	return c->skew;
}

time_t
aws_client_now(const struct aws_client *c)
{
	return time(NULL) + c->skew;
}

const char *
aws_client_endpoint(struct aws_client *c, const struct aws_service *svc,
    struct errbuf *eb)
{
	size_t	 i;
	char	*u;

	for (i = 0; i < ENDPOINT_CACHE && c->ep[i].svc != NULL; i++)
		if (c->ep[i].svc == svc)
			return c->ep[i].url;
	if (aws_endpoint(svc->service_id, svc->host_prefix, c->region, &u,
	    NULL, eb) == -1)
		return NULL;
	if (i == ENDPOINT_CACHE) {
		/* More services than slots: recycle the last one. */
		i = ENDPOINT_CACHE - 1;
		free(c->ep[i].url);
	}
	c->ep[i].svc = svc;
	c->ep[i].url = u;
	return u;
}

void
aws_result_init(struct aws_result *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->body, HTTP_BODY_MAX);
	http_headers_init(&r->headers);
}

static void
result_reset(struct aws_result *r)
{
	free(r->code);
	free(r->message);
	free(r->request_id);
	r->code = r->message = r->request_id = NULL;
	buf_release(&r->body);
	http_headers_release(&r->headers);
	r->status = 0;
	r->out_bytes = 0;
}

void
aws_result_release(struct aws_result *r)
{
	result_reset(r);
	r->attempts = 0;
}

const char *
aws_result_header(const struct aws_result *r, const char *name)
{
	return http_headers_get(&r->headers, name);
}

/*
 * Append s URI-encoded (sigv4_uri_encode, slashes too); in a form, a
 * space becomes '+' (its encoding is the only "%20" in the output).
 */
static int
encode_one(struct buf *b, const char *s, bool form)
{
	char	*e, *p;
	int	 bad = 0;

	e = sigv4_uri_encode(s, true);
	for (p = e; *p != '\0' && bad == 0; p++) {
		if (form && strncmp(p, "%20", 3) == 0) {
			bad |= buf_addch(b, '+');
			p += 2;
		} else
			bad |= buf_addch(b, *p);
	}
	free(e);
	return bad;
}

/*
 * name=value pairs joined by '&', each side URI-encoded per RFC 3986
 * (unreserved A-Za-z0-9-._~ kept).  'form' writes a space as '+', as
 * application/x-www-form-urlencoded (WHATWG URL, "urlencoded
 * serializing") and every AWS SDK do; a URL query keeps "%20", because
 * SigV4 canonicalises a query by percent-decoding it and a '+' there is
 * a plus sign.  NULL when the result would pass HTTP_BODY_MAX.
 */
static char *
encode_params(const struct aws_param *p, size_t n, bool form)
{
	struct buf	 b;
	int		 bad = 0;

	buf_init(&b, HTTP_BODY_MAX);
	for (size_t i = 0; i < n && bad == 0; i++) {
		if (i > 0)
			bad |= buf_addch(&b, '&');
		bad |= encode_one(&b, p[i].name, form);
		if (p[i].value != NULL) {
			bad |= buf_addch(&b, '=');
			bad |= encode_one(&b, p[i].value, form);
		}
	}
	if (bad != 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_take(&b, NULL);
}

char *
aws_form_encode(const struct aws_param *p, size_t n)
{
	return encode_params(p, n, true);
}

static void
target_release(struct aws_target *t)
{
	free(t->scheme);
	free(t->authority);
	free(t->path);
	free(t->query);
	memset(t, 0, sizeof(*t));
}

static int
build_target(struct aws_client *c, const struct aws_request *req,
    struct aws_target *t, struct errbuf *eb)
{
	const char	*base, *a, *p;
	char		*basepath, *enc = NULL;
	size_t		 bl;

	memset(t, 0, sizeof(*t));
	if (req->url != NULL)
		base = req->url;
	else if ((base = aws_client_endpoint(c, req->svc, eb)) == NULL)
		return -1;
	if ((a = strstr(base, "://")) == NULL || a == base)
		return errbuf_set(eb, EK_CONFIG, "%s %s: bad URL '%s'",
		    req->svc->name, req->op, base);
	t->scheme = xstrndup(base, (size_t)(a - base));
	a += 3;
	p = a + strcspn(a, "/?");
	if (p == a)
		return errbuf_set(eb, EK_CONFIG, "%s %s: URL '%s' has no host",
		    req->svc->name, req->op, base);
	t->authority = xstrndup(a, (size_t)(p - a));
	basepath = xstrndup(p, strcspn(p, "?"));
	bl = strlen(basepath);
	while (bl > 0 && basepath[bl - 1] == '/')
		basepath[--bl] = '\0';

	if (req->bucket != NULL) {
		bool	ps = c->s3_path_style ||
			    aws_s3_path_style(base, req->bucket);

		if (req->key != NULL)
			enc = sigv4_uri_encode(req->key, false);
		if (ps)
			t->path = xasprintf("%s/%s%s%s", basepath, req->bucket,
			    enc != NULL ? "/" : "", enc != NULL ? enc : "");
		else {
			char	*h = xasprintf("%s.%s", req->bucket,
				    t->authority);

			free(t->authority);
			t->authority = h;
			t->path = xasprintf("%s/%s", basepath,
			    enc != NULL ? enc : "");
		}
		free(enc);
	} else if (req->path != NULL) {
		t->path = xasprintf("%s%s%s", basepath,
		    *req->path == '/' ? "" : "/", req->path);
	} else
		t->path = xasprintf("%s/", basepath);
	if (req->bucket == NULL && req->path == NULL && bl > 0) {
		/* A URL with its own path (an SQS QueueUrl): keep it. */
		free(t->path);
		t->path = xstrdup(basepath);
	}
	free(basepath);
	if (req->nquery > 0 &&
	    (t->query = encode_params(req->query, req->nquery, false)) == NULL)
		return errbuf_set(eb, EK_DATA, "%s %s: query larger than %d "
		    "bytes", req->svc->name, req->op, HTTP_BODY_MAX);
	return 0;
}

static char *
target_url(const struct aws_target *t, const char *query)
{
	return xasprintf("%s://%s%s%s%s", t->scheme, t->authority, t->path,
	    query != NULL && *query != '\0' ? "?" : "",
	    query != NULL ? query : "");
}

/* Date header -> time_t, or -1. */
static time_t
parse_http_date(const char *s)
{
	struct tm	tm;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || strptime(s, "%a, %d %b %Y %H:%M:%S", &tm) == NULL)
		return (time_t)-1;
	return timegm(&tm);
}

unsigned int
aws_backoff_ms(const struct aws_client *c, const struct aws_request *req,
    unsigned int attempt)
{
	uint64_t	 ceil_ms = c->base_ms;
	uint32_t	 ms;

	/* Full jitter: random(0, min(cap, base * 2^(attempt - 1))). */
	for (unsigned int i = 1; i < attempt && ceil_ms < c->cap_ms; i++)
		ceil_ms *= 2;
	if (ceil_ms > c->cap_ms)
		ceil_ms = c->cap_ms;
	ms = arc4random_uniform((uint32_t)ceil_ms + 1);
	log_debug("aws %s %s: retry %u in %u ms", req->svc->name, req->op,
	    attempt, ms);
	return ms;
}

static void
backoff(struct aws_client *c, const struct aws_request *req,
    unsigned int attempt)
{
	unsigned int	 ms = aws_backoff_ms(c, req, attempt);
	struct timespec	 ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Whether the first non-blank byte of the body is '{' (a JSON error). */
static bool
body_is_json(const struct aws_result *res)
{
	const char	*p = res->body.data;
	size_t		 i;

	for (i = 0; i < res->body.len && (p[i] == ' ' || p[i] == '\t' ||
	    p[i] == '\r' || p[i] == '\n'); i++)
		;
	return i < res->body.len && p[i] == '{';
}

/*
 * Whether res is S3's missing-key reply (404 whose error document's Code
 * is NoSuchKey).  That is the answer to the daemon's boot-time read of a
 * group's target.json before its first deployment, so it is recognised
 * without loading libxml2 when the request id is in a header (S3 sends
 * x-amz-request-id, moto x-amzn-RequestId); any other error document,
 * NoSuchBucket included, is parsed.
 */
static bool
s3_no_such_key(const struct aws_request *req, const struct aws_result *res)
{
	static const char	 code[] = "<Code>NoSuchKey</Code>";

	return req->svc->s3 && req->key != NULL && res->status == 404 &&
	    (aws_result_header(res, "x-amz-request-id") != NULL ||
	    aws_result_header(res, "x-amzn-RequestId") != NULL) &&
	    res->body.len > 0 && memmem(res->body.data, res->body.len, code,
	    sizeof(code) - 1) != NULL;
}

/*
 * Fill code/message/request_id of res from the reply: a JSON error
 * (AWS JSON protocols; SQS's legacy Query code from x-amzn-query-error
 * wins, so errors map as on the Query protocol), else an XML error
 * document (loading libxml2 if it is not yet).
 */
static void
parse_error_reply(const struct aws_request *req, struct aws_result *res)
{
	struct awsxml_error	 xe;
	struct awsjson_error	 je;
	struct errbuf		 ign = { 0 };
	const char		*rid, *qe;

	awsxml_error_init(&xe);
	qe = aws_result_header(res, AWSJSON_QUERY_ERROR_HEADER);
	if (s3_no_such_key(req, res)) {
		res->code = xstrdup("NoSuchKey");
		res->message = xstrdup("The specified key does not exist.");
	} else if (qe != NULL || body_is_json(res)) {
		if (awsjson_parse_error(res->body.data, res->body.len, qe, &je,
		    &ign) == 0) {
			res->code = je.code;
			res->message = je.message;
		}
	} else if (res->body.len > 0 && dl_load(DL_XML, &ign) == 0 &&
	    awsxml_parse_error(res->body.data, res->body.len, &xe,
	    &ign) == 0) {
		res->code = xe.code;
		res->message = xe.message;
		res->request_id = xe.request_id;
		xe.code = xe.message = xe.request_id = NULL;
	}
	awsxml_error_release(&xe);
	if (res->request_id == NULL &&
	    ((rid = aws_result_header(res, "x-amzn-RequestId")) != NULL ||
	    (rid = aws_result_header(res, "x-amz-request-id")) != NULL))
		res->request_id = xstrdup(rid);
	if (res->code == NULL) {
		/* HEAD replies and bare errors carry no document. */
		switch (res->status) {
		case 304:
			res->code = xstrdup("NotModified");
			break;
		case 400:
			res->code = xstrdup("BadRequest");
			break;
		case 403:
			res->code = xstrdup("Forbidden");
			break;
		case 404:
			res->code = xstrdup(req->key != NULL ? "NoSuchKey" :
			    "NotFound");
			break;
		case 412:
			res->code = xstrdup("PreconditionFailed");
			break;
		default:
			break;
		}
	}
}

static enum errkind
error_kind(const struct aws_result *res)
{
	if (in_list(res->code, perm_codes, nitems(perm_codes)) ||
	    res->status == 403)
		return EK_PERM;
	if (aws_is_throttle_code(res->code) || res->status == 429 ||
	    res->status >= 500)
		return EK_TEMP;
	if (res->status == 404)
		return EK_NOINPUT;
	return EK_PROTO;
}

static int
set_error(const struct aws_request *req, const struct aws_result *res,
    struct errbuf *eb)
{
	char	 rid[160] = "";

	if (res->request_id != NULL)
		snprintf(rid, sizeof(rid), " (request id %s)",
		    res->request_id);
	if (res->code != NULL)
		return errbuf_set(eb, error_kind(res), "%s %s: %s: %s%s",
		    req->svc->name, req->op, res->code,
		    res->message != NULL ? res->message : "(no message)", rid);
	return errbuf_set(eb, error_kind(res), "%s %s: HTTP %ld%s",
	    req->svc->name, req->op, res->status, rid);
}

/*
 * Sign one attempt: fills hdrs (fresh) and returns the URL to use.
 */
static int
sign_attempt(struct aws_client *c, const struct aws_request *req,
    const struct aws_target *t, bool form, const char *body,
    size_t body_len, struct http_headers *hdrs, struct errbuf *eb)
{
	const struct aws_creds	*cr;
	struct sigv4_params	 p;
	struct sigv4_request	 sr;
	struct sigv4_result	 res;

	if (aws_credprov_get(c->credprov, &cr, eb) == -1)
		return errbuf_prefix(eb, "%s %s: ", req->svc->name, req->op);
	http_headers_release(hdrs);
	http_headers_init(hdrs);
	http_headers_add(hdrs, "Host", t->authority);
	if (req->headers != NULL)
		for (size_t i = 0; i < req->headers->n; i++)
			http_headers_add(hdrs, req->headers->v[i].name,
			    req->headers->v[i].value);
	if (form)
		http_headers_set(hdrs, "Content-Type", FORM_CONTENT_TYPE);

	memset(&p, 0, sizeof(p));
	p.access_key = cr->access_key;
	p.secret_key = cr->secret_key;
	p.session_token = cr->session_token;
	p.region = c->region;
	p.service = req->svc->signing_name != NULL ?
	    req->svc->signing_name : req->svc->name;
	p.now = aws_client_now(c);
	p.normalize_path = !req->svc->s3;
	p.double_encode = !req->svc->s3;
	p.sign_body = req->svc->s3;
	if (req->body_fd != -1)
		p.payload_hash = req->payload_hash != NULL ?
		    req->payload_hash : SIGV4_UNSIGNED_PAYLOAD;
	else
		p.payload_hash = req->payload_hash;

	memset(&sr, 0, sizeof(sr));
	sr.method = req->method != NULL ? req->method :
	    (form ? "POST" : "GET");
	sr.path = t->path;
	sr.query = t->query;
	sr.headers = hdrs;
	sr.body = body;
	sr.body_len = body_len;
	sigv4_result_init(&res);
	if (sigv4_sign_headers(&p, &sr, &res, eb) == -1)
		return errbuf_prefix(eb, "%s %s: ", req->svc->name, req->op);
	sigv4_result_release(&res);
	return 0;
}

int
aws_prep_init(struct aws_client *c, const struct aws_request *req,
    struct aws_prep *p, struct errbuf *eb)
{
	struct http_request	*hr = &p->hr;

	memset(p, 0, sizeof(*p));
	http_headers_init(&p->hdrs);
	p->out_start = -1;
	if (req->svc == NULL || req->op == NULL)
		return errbuf_set(eb, EK_USAGE, "aws_request: no service or "
		    "operation");
	if (req->body_fd != -1 && !req->svc->s3 && req->payload_hash == NULL)
		return errbuf_set(eb, EK_USAGE, "%s %s: a streamed body needs "
		    "its payload hash", req->svc->name, req->op);
	if (build_target(c, req, &p->t, eb) == -1)
		return -1;
	p->url = target_url(&p->t, p->t.query);
	memset(hr, 0, sizeof(*hr));
	if (req->nform > 0) {
		if ((p->form = aws_form_encode(req->form, req->nform)) ==
		    NULL)
			return errbuf_set(eb, EK_DATA, "%s %s: request larger "
			    "than %d bytes", req->svc->name, req->op,
			    HTTP_BODY_MAX);
		p->is_form = true;
		hr->body = p->form;
		hr->body_len = strlen(p->form);
	} else {
		hr->body = req->body;
		hr->body_len = req->body_len;
	}
	p->max = req->max_attempts != 0 ? req->max_attempts :
	    c->max_attempts;
	if (req->out_fd != -1)
		p->out_start = lseek(req->out_fd, 0, SEEK_CUR);

	hr->method = req->method != NULL ? req->method :
	    (p->is_form ? "POST" : "GET");
	hr->url = p->url;
	hr->headers = &p->hdrs;
	hr->body_fd = req->body_fd;
	hr->body_off = req->body_off;
	if (req->body_fd != -1) {
		hr->body = NULL;
		hr->body_len = req->body_len;
	}
	hr->out_fd = req->out_fd;
	hr->out_max = req->out_max;
	hr->on_chunk = req->on_chunk;
	hr->chunk_arg = req->chunk_arg;
	hr->timeout_ms = req->timeout_ms != 0 ? req->timeout_ms :
	    c->timeout_ms;
	hr->body_max = req->body_max;
	hr->no_low_speed = req->long_poll;
	return 0;
}

void
aws_prep_release(struct aws_prep *p)
{
	http_headers_release(&p->hdrs);
	target_release(&p->t);
	if (p->form != NULL)
		freezero(p->form, strlen(p->form));
	free(p->url);
	memset(p, 0, sizeof(*p));
	p->out_start = -1;
}

int
aws_prep_attempt(struct aws_client *c, const struct aws_request *req,
    struct aws_prep *p, struct aws_result *res, struct errbuf *eb)
{
	p->attempt++;
	if (sign_attempt(c, req, &p->t, p->is_form, p->hr.body,
	    p->hr.body_len, &p->hdrs, eb) == -1)
		return -1;
	if (p->attempt > 1 && req->out_fd != -1 && res->out_bytes > 0) {
		if (p->out_start == -1 ||
		    ftruncate(req->out_fd, p->out_start) == -1 ||
		    lseek(req->out_fd, p->out_start, SEEK_SET) == -1)
			return errbuf_errno(eb, EK_IO, "%s %s: cannot rewind "
			    "the output for a retry", req->svc->name,
			    req->op);
		if (req->on_reset != NULL)
			req->on_reset(req->chunk_arg);
	}
	result_reset(res);
	res->attempts = p->attempt;
	return 0;
}

enum aws_next
aws_prep_failed(const struct aws_request *req, struct aws_prep *p,
    const struct http_response *resp, const struct errbuf *he,
    bool transient, struct aws_result *res, struct errbuf *eb)
{
	res->out_bytes = resp->out_bytes;
	log_debug("aws %s %s: attempt %u: %s", req->svc->name, req->op,
	    p->attempt, he->msg);
	if (transient && p->attempt < p->max)
		return AWS_NEXT_BACKOFF;
	errbuf_set(eb, he->kind, "%s %s: %s", req->svc->name, req->op,
	    he->msg);
	return AWS_NEXT_FAIL;
}

enum aws_next
aws_prep_reply(struct aws_client *c, const struct aws_request *req,
    struct aws_prep *p, struct http_response *resp, struct aws_result *res,
    struct errbuf *eb)
{
	const char	*rid;

	/* Hand the reply to the result. */
	res->status = resp->status;
	res->out_bytes = resp->out_bytes;
	res->body = resp->body;
	res->headers = resp->headers;
	buf_init(&resp->body, HTTP_BODY_MAX);
	http_headers_init(&resp->headers);

	if (res->status >= 200 && res->status < 300) {
		if ((rid = aws_result_header(res, "x-amzn-RequestId")) !=
		    NULL || (rid = aws_result_header(res,
		    "x-amz-request-id")) != NULL)
			res->request_id = xstrdup(rid);
		log_debug("aws %s %s: HTTP %ld (attempt %u)", req->svc->name,
		    req->op, res->status, p->attempt);
		return AWS_NEXT_DONE;
	}
	parse_error_reply(req, res);
	log_debug("aws %s %s: attempt %u: HTTP %ld %s", req->svc->name,
	    req->op, p->attempt, res->status,
	    res->code != NULL ? res->code : "");

	if (!p->skew_fixed && in_list(res->code, skew_codes,
	    nitems(skew_codes))) {
		time_t	srv = parse_http_date(aws_result_header(res, "Date"));
		long	diff = srv == (time_t)-1 ? 0 :
			    (long)(srv - time(NULL));

		if (labs(diff - c->skew) > AWS_SKEW_MAX_SEC) {
			log_debug("aws: clock skew %ld s, correcting", diff);
			c->skew = diff;
			p->skew_fixed = true;
			return AWS_NEXT_RETRY;	/* at once, not counted */
		}
	}
	if (!p->creds_refreshed && in_list(res->code, expired_codes,
	    nitems(expired_codes)) && aws_credprov_invalidate(c->credprov)) {
		p->creds_refreshed = true;
		return AWS_NEXT_RETRY;
	}
	if ((res->status >= 500 || res->status == 429 ||
	    aws_is_throttle_code(res->code)) && p->attempt < p->max)
		return AWS_NEXT_BACKOFF;
	set_error(req, res, eb);
	return AWS_NEXT_FAIL;
}

void
aws_client_set_pool(struct aws_client *c, struct aws_pool *pool)
{
	c->pool = pool;
}

struct aws_pool *
aws_client_pool(const struct aws_client *c)
{
	return c->pool;
}

int
aws_request(struct aws_client *c, const struct aws_request *req,
    struct aws_result *res, struct errbuf *eb)
{
	struct aws_prep		 p;
	struct http_response	 resp;
	enum aws_next		 next;
	int			 ret = -1;

	result_reset(res);
	res->attempts = 0;
	/* Beside the pool's requests, which move on while it waits. */
	if (c->pool != NULL && req->body_fd == -1 && req->out_fd == -1 &&
	    !aws_pool_running(c->pool))
		return aws_pool_request(c->pool, req, res, eb);
	http_response_init(&resp);
	if (aws_prep_init(c, req, &p, eb) == -1)
		goto out;
	for (;;) {
		struct errbuf	he = { 0 };

		if (aws_prep_attempt(c, req, &p, res, eb) == -1)
			goto out;
		if (http_perform(c->http, &p.hr, &resp, &he) == -1)
			next = aws_prep_failed(req, &p, &resp, &he,
			    http_last_transient(c->http), res, eb);
		else
			next = aws_prep_reply(c, req, &p, &resp, res, eb);
		switch (next) {
		case AWS_NEXT_DONE:
			ret = 0;
			goto out;
		case AWS_NEXT_FAIL:
			goto out;
		case AWS_NEXT_BACKOFF:
			backoff(c, req, p.attempt);
			break;
		case AWS_NEXT_RETRY:
			break;
		}
	}
 out:
	http_response_release(&resp);
	aws_prep_release(&p);
	return ret;
}

int
aws_presign(struct aws_client *c, const struct aws_request *req,
    unsigned int expires, char **ret, struct errbuf *eb)
{
	const struct aws_creds	*cr;
	struct aws_target		 t;
	struct http_headers	 hdrs;
	struct sigv4_params	 p;
	struct sigv4_request	 sr;
	struct sigv4_result	 res;
	int			 rv = -1;

	http_headers_init(&hdrs);
	sigv4_result_init(&res);
	if (build_target(c, req, &t, eb) == -1)
		goto out;
	if (aws_credprov_get(c->credprov, &cr, eb) == -1) {
		errbuf_prefix(eb, "%s %s: ", req->svc->name, req->op);
		goto out;
	}
	http_headers_add(&hdrs, "Host", t.authority);
	memset(&p, 0, sizeof(p));
	p.access_key = cr->access_key;
	p.secret_key = cr->secret_key;
	p.session_token = cr->session_token;
	p.region = c->region;
	p.service = req->svc->signing_name != NULL ?
	    req->svc->signing_name : req->svc->name;
	p.now = aws_client_now(c);
	p.normalize_path = !req->svc->s3;
	p.double_encode = !req->svc->s3;
	p.expires = expires;
	p.payload_hash = SIGV4_UNSIGNED_PAYLOAD;
	memset(&sr, 0, sizeof(sr));
	sr.method = req->method != NULL ? req->method : "GET";
	sr.path = t.path;
	sr.query = t.query;
	sr.headers = &hdrs;
	if (sigv4_presign(&p, &sr, &res, eb) == -1) {
		errbuf_prefix(eb, "%s %s: ", req->svc->name, req->op);
		goto out;
	}
	*ret = target_url(&t, res.query);
	rv = 0;
 out:
	sigv4_result_release(&res);
	http_headers_release(&hdrs);
	target_release(&t);
	return rv;
}
