/* SPDX-License-Identifier: ISC */
/*
 * sigv4.h: AWS Signature Version 4, header signing and query (presigned
 * URL) signing, with the canonicalisation rules of the AWS test suites
 * (../shared/sigv4-testsuite): URI encoding, path normalisation (off for
 * S3), query ordering, header lowercasing/trimming/folding, session
 * tokens, x-amz-content-sha256.  Pure computation on strings: no I/O, no
 * clock (the caller passes the time), no logging.  HMAC and SHA-256 come
 * from OpenSSL libcrypto.
 *
 * The signer never signs hop-by-hop headers (Connection, Keep-Alive,
 * Proxy-*, TE, Trailer, Transfer-Encoding, Upgrade), Expect, User-Agent,
 * X-Amzn-Trace-Id, or Authorization.  Host is signed exactly as given (so
 * give it with its non-default port, as libcurl will send it).
 */
#ifndef HOOKD_AWS_SIGV4_H
#define HOOKD_AWS_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "caps.h"
#include "compat.h"

struct errbuf;
struct http_headers;

#define SIGV4_HEX_LEN		64	/* hex SHA-256 / signature, no NUL */
#define SIGV4_UNSIGNED_PAYLOAD	"UNSIGNED-PAYLOAD"
#define SIGV4_EMPTY_SHA256	\
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SIGV4_EXPIRES_MAX	604800	/* presigned URL lifetime, seconds */

/* What to sign with.  All strings borrowed. */
struct sigv4_params {
	const char	*access_key;	/* AKID */
	const char	*secret_key;	/* never copied into any output */
	const char	*session_token;	/* NULL or "" when none */
	const char	*region;	/* "us-east-1" */
	const char	*service;	/* "sqs", "s3", "autoscaling" */
	time_t		 now;		/* signing time (UTC seconds) */

	/*
	 * Path handling.  normalize_path: remove "." and ".." segments and
	 * collapse "//" (RFC 3986; every service but S3).  double_encode:
	 * URI-encode the path as given, '%' included, so an already
	 * encoded wire path is encoded again (every service but S3).  With
	 * double_encode off (S3), existing %XX escapes are kept and only
	 * characters outside the unreserved set and '/' are encoded.
	 */
	bool		 normalize_path;
	bool		 double_encode;

	/*
	 * Session token placement: false (default, what AWS services want)
	 * signs X-Amz-Security-Token with the request (header mode: a
	 * header; query mode: a query parameter).  true adds it after
	 * signing, unsigned (some services' presigned URLs; the CRT suite's
	 * omit_session_token).
	 */
	bool		 omit_session_token;

	/*
	 * Payload hash: NULL means "hash the body given in the request";
	 * otherwise a 64-char hex SHA-256 or SIGV4_UNSIGNED_PAYLOAD
	 * (precomputed for streamed uploads).
	 */
	const char	*payload_hash;
	/* Add and sign x-amz-content-sha256 (S3 wants it; header mode). */
	bool		 sign_body;

	unsigned int	 expires;	/* query mode: X-Amz-Expires seconds */
};

/* The request to sign. */
struct sigv4_request {
	const char	*method;	/* "GET" ... */
	/*
	 * The path as it will appear on the wire (before '?'), e.g.
	 * "/", "/bucket/my%20key".  Must start with '/'.
	 */
	const char	*path;
	/* The query string as on the wire, without '?'; NULL or "" if none. */
	const char	*query;
	/*
	 * Headers to send, including Host.  Header mode ADDS to this list:
	 * X-Amz-Date, X-Amz-Security-Token (when a token is given),
	 * x-amz-content-sha256 (when sign_body) and Authorization (existing
	 * ones with those names are replaced).  Query mode adds nothing.
	 */
	struct http_headers *headers;
	const void	*body;		/* for the payload hash; may be NULL */
	size_t		 body_len;
};

/*
 * The outcome.  canonical_request and string_to_sign are exposed for the
 * test suite and for debugging (neither contains the secret; both contain
 * the session token when it is signed, so do not log them).
 */
struct sigv4_result {
	char	*canonical_request;	/* new string */
	char	*string_to_sign;	/* new string */
	char	 signature[SIGV4_HEX_LEN + 1];
	char	*authorization;		/* header mode: Authorization value */
	/*
	 * Query mode: the complete query string to send, without '?' -- the
	 * request's own parameters followed by X-Amz-Algorithm,
	 * X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders,
	 * X-Amz-Security-Token (if any) and X-Amz-Signature.
	 */
	char	*query;
};

void	 sigv4_result_init(struct sigv4_result *);
/* Free every string; safe on a zeroed or initialised result. */
void	 sigv4_result_release(struct sigv4_result *);

/*
 * Sign req in header mode: computes the canonical request, string to sign
 * and signature, and adds X-Amz-Date, X-Amz-Security-Token,
 * x-amz-content-sha256 and Authorization to req->headers (see above).
 * Fills *ret (initialised by the caller) only on success; the strings in
 * it are new and freed by sigv4_result_release().
 * Returns 0, or -1 with eb set: EK_USAGE (missing Host header, path not
 * starting with '/', missing key/region/service, bad payload_hash),
 * EK_PROTO (canonical request over SIGV4_CANON_MAX), EK_BUG (libcrypto
 * failure).  Does not block.
 */
int	 sigv4_sign_headers(const struct sigv4_params *, struct sigv4_request *,
	    struct sigv4_result *ret, struct errbuf *) HOOKD_WUR;

/*
 * Sign req in query mode (presigned URL), valid for p->expires seconds
 * (1 .. SIGV4_EXPIRES_MAX).  Only Host and the other headers in
 * req->headers are signed; the payload hash is p->payload_hash or, when
 * NULL, SIGV4_UNSIGNED_PAYLOAD for S3 and the body hash otherwise.
 * ret->query is the query string to send.  Same returns as above.
 */
int	 sigv4_presign(const struct sigv4_params *, struct sigv4_request *,
	    struct sigv4_result *ret, struct errbuf *) HOOKD_WUR;

/*
 * URI-encode s per SigV4 (RFC 3986 unreserved A-Za-z0-9-._~ kept, every
 * other byte as %XX upper-case hex).  encode_slash false keeps '/' (object
 * keys in paths).  Returns a new string; caller frees.  Use it for query
 * parameter names and values and for S3 keys.
 */
char	*sigv4_uri_encode(const char *s, bool encode_slash);

/* Lower-case hex SHA-256 of data into out (SIGV4_HEX_LEN + 1 bytes). */
void	 sigv4_sha256_hex(const void *data, size_t len,
	    char out[SIGV4_HEX_LEN + 1]);

/* Format t as the X-Amz-Date "YYYYMMDDTHHMMSSZ" into out (17 bytes). */
void	 sigv4_amz_date(time_t t, char out[17]);

#endif /* HOOKD_AWS_SIGV4_H */
