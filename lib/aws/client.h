/* SPDX-License-Identifier: ISC */
/*
 * client.h: one signed AWS request, with retries and error parsing.
 *
 * struct aws_client holds one HTTP handle (kept-alive connections), a
 * credentials provider, the region, a clock-skew offset and the retry
 * policy.  aws_request() builds the URL from the service endpoint (or a
 * given URL such as an SQS queue URL), the path and the query, signs it
 * with SigV4 (headers), sends it, and retries the way the AWS SDKs'
 * "standard" mode does: at most max_attempts tries (default 3), backoff
 * random(0, min(cap, base * 2^attempt)) ("full jitter", base 100 ms, cap
 * 20 s), on
 *   - HTTP 5xx and 429,
 *   - throttling error codes (Throttling, ThrottlingException,
 *     ThrottledException, RequestThrottledException,
 *     TooManyRequestsException, ProvisionedThroughputExceededException,
 *     TransactionInProgressException, RequestLimitExceeded,
 *     BandwidthLimitExceeded, LimitExceededException, RequestThrottled,
 *     SlowDown, PriorRequestNotComplete, EC2ThrottledException),
 *   - transient transport failures (connection refused or reset,
 *     timeouts, empty or partial replies).
 * Clock skew: on RequestTimeTooSkewed, RequestExpired, or
 * InvalidSignatureException / SignatureDoesNotMatch while the server's
 * Date differs from ours by more than 4 minutes, the offset is set from
 * the Date header and the request is retried once at once.  A 403 with
 * ExpiredToken / InvalidClientTokenId / ExpiredTokenException on
 * refreshable (instance-role) credentials refreshes them and retries once.
 *
 * Errors reach the caller as "SERVICE OPERATION: CODE: MESSAGE (request id
 * ID)", e.g. "sqs ReceiveMessage: AWS.SimpleQueueService.NonExistentQueue:
 * The specified queue does not exist (request id 7a1...)", and the parts
 * are also in struct aws_result.  Kinds:
 *   EK_PERM     AccessDenied, AccessDeniedException, InvalidClientTokenId,
 *               SignatureDoesNotMatch, UnrecognizedClientException,
 *               InvalidAccessKeyId, ExpiredToken*, any other 403
 *   EK_TEMP     throttling, 5xx, transient transport failures, after the
 *               last attempt
 *   EK_UNAVAIL  cannot resolve or connect to the endpoint (after retries)
 *   EK_NOINPUT  404 (NoSuchKey, NoSuchBucket, NotFound, ...)
 *   EK_PROTO    every other 4xx (the code is in the message and result),
 *               unparseable replies
 *   EK_CONFIG   no credentials / region / bad endpoint override
 *   EK_IO       out_fd / body_fd failures
 * Services map their own special cases from aws_result (code, status).
 *
 * No secret ever goes into an error message or a log line.  Debug logging
 * shows method, URL without query, status, attempt and the request id.
 */
#ifndef HOOKD_AWS_CLIENT_H
#define HOOKD_AWS_CLIENT_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "caps.h"
#include "http.h"

struct aws_credprov;
struct aws_creds;
struct aws_pool;
struct errbuf;
struct imds;

#define AWS_MAX_ATTEMPTS	3	/* standard mode: tries per request */
#define AWS_BACKOFF_BASE_MS	100	/* full-jitter base */
#define AWS_BACKOFF_CAP_MS	20000	/* full-jitter cap */
#define AWS_SKEW_MAX_SEC	240	/* Date difference counted as skew */

/* A service: how to find, sign for and name it.  Use the constants below. */
struct aws_service {
	const char	*name;		/* "sqs": signing name, error prefix */
	const char	*service_id;	/* "SQS": AWS_ENDPOINT_URL_<ID> */
	const char	*host_prefix;	/* "sqs" in the default host */
	bool		 s3;		/* S3 signing and addressing rules */
	const char	*signing_name;	/* SigV4 service when it differs
					   from name ("monitoring"); NULL:
					   name */
};

extern const struct aws_service aws_svc_sqs;		/* "sqs" */
extern const struct aws_service aws_svc_s3;		/* "s3" */
extern const struct aws_service aws_svc_autoscaling;	/* "autoscaling" */
extern const struct aws_service aws_svc_cloudwatch;	/* "cloudwatch" */
extern const struct aws_service aws_svc_sns;		/* "sns" */

/*
 * The wire protocol of SQS calls (sqs.h): AWS JSON 1.0 (JSON requests and
 * replies, parsed with jansson) or the Query protocol (form requests, XML
 * replies, parsed with libxml2, which is then loaded).  Servers that only
 * speak Query (older ElasticMQ, LocalStack) need AWS_SQS_QUERY.
 */
enum aws_sqs_protocol {
	AWS_SQS_DEFAULT = 0,	/* $HOOKD_SQS_PROTOCOL, else JSON */
	AWS_SQS_JSON,
	AWS_SQS_QUERY,
};

#define AWS_SQS_PROTOCOL_ENV	"HOOKD_SQS_PROTOCOL"

/*
 * "json" -> AWS_SQS_JSON, "query" -> AWS_SQS_QUERY; -1 for anything else
 * (NULL included).
 */
int	 aws_sqs_protocol_from_name(const char *);
/* The name of p ("json", "query"), static. */
const char *aws_sqs_protocol_name(enum aws_sqs_protocol p);

/*
 * Client settings.  Zero-initialise and set what you need; every field
 * has a default.  Strings are copied; pointers to objects are borrowed
 * and must outlive the client.
 */
struct aws_client_config {
	const char		*profile;	/* NULL: $AWS_PROFILE */
	const char		*region;	/* NULL: env/file/IMDS */
	struct aws_credprov	*credprov;	/* NULL: own default chain */
	struct imds		*imds;		/* NULL: own IMDS client */
	const struct aws_creds	*creds;		/* non-NULL: use these */
	unsigned int		 max_attempts;	/* 0: AWS_MAX_ATTEMPTS */
	unsigned int		 backoff_base_ms; /* 0: AWS_BACKOFF_BASE_MS */
	unsigned int		 backoff_cap_ms;  /* 0: AWS_BACKOFF_CAP_MS */
	long			 timeout_ms;	/* per try; 0: default */
	bool			 s3_path_style;	/* force path-style S3 URLs */
	enum aws_sqs_protocol	 sqs_protocol;	/* 0: $HOOKD_SQS_PROTOCOL,
						   else AWS_SQS_JSON */
};

struct aws_client;

/*
 * Create a client.  Resolves the region now (may block on IMDS for a few
 * seconds if nothing else names one); credentials are resolved lazily on
 * the first request.  Returns a new client (aws_client_free()), or NULL
 * with eb set: EK_CONFIG (no region, a bad $HOOKD_SQS_PROTOCOL), EK_OS
 * (libcurl, libcrypto), or the IMDS error.  libxml2 is not loaded here:
 * only an XML reply (Query protocol, S3 listings, XML error documents)
 * loads it.
 */
struct aws_client *aws_client_new(const struct aws_client_config *,
	    struct errbuf *);
/* Free the client and what it owns; NULL-safe. */
void	 aws_client_free(struct aws_client *);

/* The region in use, borrowed ("us-east-1"). */
const char *aws_client_region(const struct aws_client *);
/*
 * A request pool made on this client (pool.h; borrowed, NULL: none) that
 * every aws_request() with a memory body and reply goes through from now
 * on (a program with many requests in flight: its single requests, a
 * listing page, a PUT, do not stall them); an s3:// store reads many
 * objects through it too.  Unset it before freeing the pool.
 */
void	 aws_client_set_pool(struct aws_client *, struct aws_pool *);
struct aws_pool *aws_client_pool(const struct aws_client *);
/* The client's IMDS handle (own or borrowed), borrowed; never NULL. */
struct imds *aws_client_imds(struct aws_client *);
/*
 * The endpoint URL for svc (override or default), borrowed, cached;
 * NULL with eb set (EK_CONFIG) when an override variable is malformed.
 */
const char *aws_client_endpoint(struct aws_client *,
	    const struct aws_service *, struct errbuf *);
/* The SQS protocol in use (never AWS_SQS_DEFAULT). */
enum aws_sqs_protocol aws_client_sqs_protocol(const struct aws_client *);
/* Current clock-skew correction, seconds (server time - our time). */
long	 aws_client_skew(const struct aws_client *);
/* Our idea of the current time: time(NULL) + skew. */
time_t	 aws_client_now(const struct aws_client *);

/* One query-string or form parameter.  value NULL: "name" with no '='. */
struct aws_param {
	const char	*name;
	const char	*value;
};

/* Called before a retry of a streamed download, to restart a digest. */
typedef void	aws_reset_fn(void *arg);

/*
 * One request.  Zero-initialise, then set svc, op and what you need;
 * NOTE body_fd and out_fd must be -1 when unused.  Pointers borrowed.
 *
 * URL: url if set (e.g. an SQS QueueUrl: requests go to that URL),
 * otherwise the service endpoint.  Then the path: for S3 with bucket set,
 * "/KEY" on the virtual host BUCKET.HOST, or "/BUCKET/KEY" path-style
 * (aws_s3_path_style() or config), the key URI-encoded by the client
 * (slashes kept); otherwise path as given (already URI-encoded; default
 * "/" or the url's own path).  Then query params, URI-encoded by the
 * client, in the given order.
 *
 * Body, one of:
 *   form/nform   Query protocol: aws_form_encode()d as the body, sent as
 *                POST with Content-Type application/x-www-form-urlencoded;
 *                charset=utf-8 (put Action and Version in it; over
 *                HTTP_BODY_MAX: EK_DATA);
 *   body/body_len  memory body (the JSON protocols': put Content-Type
 *                and X-Amz-Target in headers; they are signed);
 *   body_fd/body_len/body_off  streamed from a file (pread; safe to
 *                retry); payload_hash: hex SHA-256 of those bytes, or NULL
 *                to send UNSIGNED-PAYLOAD (S3 only).
 * S3 requests always carry x-amz-content-sha256.
 *
 * Response: memory (result->body) unless out_fd != -1, in which case a
 * 2xx body is written to out_fd from its offset at the call and on_chunk
 * sees every piece; before a retry the client truncates out_fd back to
 * that offset and calls on_reset (restart your digest there).
 */
struct aws_request {
	const struct aws_service *svc;
	const char		*op;		/* "ReceiveMessage" */
	const char		*method;	/* NULL: POST/GET */
	const char		*url;		/* absolute base URL or NULL */
	const char		*bucket;	/* S3 bucket or NULL */
	const char		*key;		/* S3 key, not encoded */
	const char		*path;		/* encoded path */
	const struct aws_param	*query;
	size_t			 nquery;
	const struct aws_param	*form;
	size_t			 nform;
	const struct http_headers *headers;	/* extra headers or NULL */

	const void		*body;
	size_t			 body_len;
	int			 body_fd;
	off_t			 body_off;
	const char		*payload_hash;

	int			 out_fd;
	uint64_t		 out_max;	/* see http_request */
	http_chunk_fn		*on_chunk;
	void			*chunk_arg;
	aws_reset_fn		*on_reset;

	long			 timeout_ms;	/* per attempt; 0: client's */
	bool			 long_poll;	/* the server holds the reply:
						   no low-speed abort */
	size_t			 body_max;	/* 0: HTTP_BODY_MAX */
	unsigned int		 max_attempts;	/* 0: client's; 1: no retry */
};

/*
 * What happened.  Initialise with aws_result_init(); aws_request() resets
 * and fills it on success AND on failure (so callers can look at status
 * and code after -1).
 */
struct aws_result {
	long			 status;	/* last HTTP status, 0: none */
	char			*code;		/* AWS error code or NULL */
	char			*message;	/* AWS error message or NULL */
	char			*request_id;	/* x-amz(n)-request-id or doc */
	struct buf		 body;		/* memory reply body */
	struct http_headers	 headers;	/* last reply's headers */
	uint64_t		 out_bytes;	/* bytes written to out_fd */
	unsigned int		 attempts;	/* tries made */
};

void	 aws_result_init(struct aws_result *);
void	 aws_result_release(struct aws_result *);
/* A response header of the last reply (case-insensitive), or NULL. */
const char *aws_result_header(const struct aws_result *, const char *name);

/*
 * Send req, retrying as described above.  Blocks for up to about
 * max_attempts * timeout + backoff.  Returns 0 on a 2xx reply, or -1 with
 * eb set (kinds above) and *res describing the last attempt.
 */
int	 aws_request(struct aws_client *, const struct aws_request *req,
	    struct aws_result *res, struct errbuf *) HOOKD_WUR;

/*
 * A presigned URL for req (S3 GET/PUT), valid for expires seconds
 * (1 .. 604800).  Body fields are ignored.  Returns 0 and a new string in
 * *ret (caller frees; it contains a signature, and the session token if
 * any: do not log it), or -1 with eb set (EK_CONFIG/EK_USAGE).
 */
int	 aws_presign(struct aws_client *, const struct aws_request *req,
	    unsigned int expires, char **ret, struct errbuf *) HOOKD_WUR;

/*
 * Encode params as an application/x-www-form-urlencoded body (the Query
 * protocol's): name=value pairs joined by '&', a space as '+', every
 * other byte outside RFC 3986's unreserved set (A-Za-z0-9-._~) as %XX
 * (UTF-8 bytes one by one); value NULL gives "name" alone.  aws_request()
 * uses it for req->form; the URL query keeps %20 for a space.  Returns a
 * new string (caller frees), or NULL when it would pass HTTP_BODY_MAX.
 */
char	*aws_form_encode(const struct aws_param *, size_t n);

/* Whether code is one of the throttling error codes listed above. */
bool	 aws_is_throttle_code(const char *code);

#endif /* HOOKD_AWS_CLIENT_H */
