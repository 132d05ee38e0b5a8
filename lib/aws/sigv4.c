/* SPDX-License-Identifier: ISC */
/*
 * sigv4.c: AWS Signature Version 4 (header and query signing).
 *
 * The canonical request is, per the AWS General Reference ("Create a
 * canonical request for Signature Version 4"):
 *
 *	METHOD \n CANONICAL-URI \n CANONICAL-QUERY \n CANONICAL-HEADERS \n
 *	SIGNED-HEADERS \n PAYLOAD-HASH
 *
 * and the string to sign is "AWS4-HMAC-SHA256\nDATE\nSCOPE\nHEX(SHA256(
 * canonical request))".  The quirks the test suites pin down are noted
 * where they are handled.  This file does no I/O and keeps no state; the
 * secret key only ever lives in a stack buffer that is wiped after use.
 */
#include "compat.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "aws/sigv4.h"
#include "buf.h"
#include "digest.h"
#include "errbuf.h"
#include "http.h"
#include "xalloc.h"

#include "banned.h"

#define SIGV4_ALGO	"AWS4-HMAC-SHA256"

/* One canonical header or query parameter. */
struct kv {
	char	*k;
	char	*v;
	size_t	 idx;	/* original position, for a stable sort */
};

struct kvlist {
	struct kv	*v;
	size_t		 n;
};

static void
kvlist_add(struct kvlist *l, char *k, char *v)
{
	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n].k = k;
	l->v[l->n].v = v;
	l->v[l->n].idx = l->n;
	l->n++;
}

static void
kvlist_release(struct kvlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].k);
		if (l->v[i].v != NULL) {
			explicit_bzero(l->v[i].v, strlen(l->v[i].v));
			free(l->v[i].v);
		}
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int
kv_cmp_key_idx(const void *a, const void *b)
{
	const struct kv	*x = a, *y = b;
	int		 c;

	if ((c = strcmp(x->k, y->k)) != 0)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int
kv_cmp_key_val(const void *a, const void *b)
{
	const struct kv	*x = a, *y = b;
	int		 c;

	if ((c = strcmp(x->k, y->k)) != 0)
		return c;
	return strcmp(x->v, y->v);
}

static int
is_unreserved(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/*
 * Append s[0..len) URI-encoded.  keep_pct leaves existing '%' as is (the
 * S3 rule: the wire path is already encoded and is not encoded again).
 */
static int
encode_into(struct buf *b, const char *s, size_t len, bool encode_slash,
    bool keep_pct)
{
	static const char	 hex[] = "0123456789ABCDEF";
	int			 bad = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char	c = (unsigned char)s[i];
		char		e[3];

		if (is_unreserved(c) || (c == '/' && !encode_slash) ||
		    (c == '%' && keep_pct)) {
			bad |= buf_addch(b, (char)c);
			continue;
		}
		e[0] = '%';
		e[1] = hex[c >> 4];
		e[2] = hex[c & 0xf];
		bad |= buf_add(b, e, 3);
	}
	return bad ? -1 : 0;
}

char *
sigv4_uri_encode(const char *s, bool encode_slash)
{
	static const char	 hex[] = "0123456789ABCDEF";
	size_t			 len = strlen(s), o = 0;
	char			*out;

	out = xmalloc(len * 3 + 1);
	for (size_t i = 0; i < len; i++) {
		unsigned char	c = (unsigned char)s[i];

		if (is_unreserved(c) || (c == '/' && !encode_slash)) {
			out[o++] = (char)c;
			continue;
		}
		out[o++] = '%';
		out[o++] = hex[c >> 4];
		out[o++] = hex[c & 0xf];
	}
	out[o] = '\0';
	return out;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode s[0..len) into a new string ('+' is kept as '+'). */
static char *
pct_decode(const char *s, size_t len)
{
	char	*out;
	size_t	 o = 0;

	out = xmalloc(len + 1);
	for (size_t i = 0; i < len; i++) {
		int	hi, lo;

		if (s[i] == '%' && i + 2 < len &&
		    (hi = hexval((unsigned char)s[i + 1])) != -1 &&
		    (lo = hexval((unsigned char)s[i + 2])) != -1) {
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
			continue;
		}
		out[o++] = s[i];
	}
	out[o] = '\0';
	return out;
}

/* Percent-decode then SigV4-encode (slashes encoded too). */
static char *
reencode(const char *s, size_t len)
{
	char	*d, *e;

	d = pct_decode(s, len);
	e = sigv4_uri_encode(d, true);
	free(d);
	return e;
}

void
sigv4_sha256_hex(const void *data, size_t len, char out[SIGV4_HEX_LEN + 1])
{
	struct errbuf	 eb = { 0 };

	if (digest_sha256_hex(data, len, out, &eb) == -1)
		abort();	/* SHA-256 is always available in libcrypto */
}

void
sigv4_amz_date(time_t t, char out[17])
{
	struct tm	tm;

	if (gmtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	if (strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
		strlcpy(out, "19700101T000000Z", 17);
}

/*
 * The canonical URI.  With normalize, "." and ".." segments are removed
 * and empty segments ("//") collapsed, keeping a trailing slash; S3 turns
 * this off (its keys may contain "//" and "..", see
 * normalize-path/normalize-path.txt in the suite).
 */
static int
canon_uri(const struct sigv4_params *p, const char *path, struct buf *b)
{
	const char	**seg = NULL;
	size_t		 *seglen = NULL, nseg = 0, plen;
	const char	 *s, *e;
	bool		  trailing;
	int		  ret = -1;

	if (path == NULL || *path == '\0')
		path = "/";
	if (!p->normalize_path)
		return encode_into(b, path, strlen(path), false,
		    !p->double_encode);

	plen = strlen(path);
	seg = xreallocarray(NULL, plen + 1, sizeof(*seg));
	seglen = xreallocarray(NULL, plen + 1, sizeof(*seglen));
	trailing = plen > 0 && path[plen - 1] == '/';
	for (s = path; *s != '\0'; s = e) {
		size_t	n;

		while (*s == '/')
			s++;
		if (*s == '\0')
			break;
		e = strchr(s, '/');
		if (e == NULL)
			e = s + strlen(s);
		n = (size_t)(e - s);
		if (n == 1 && s[0] == '.') {
			trailing = true;
			continue;
		}
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			if (nseg > 0)
				nseg--;
			trailing = true;
			continue;
		}
		seg[nseg] = s;
		seglen[nseg] = n;
		nseg++;
		trailing = (*e == '/');
	}
	if (buf_addch(b, '/') == -1)
		goto out;
	for (size_t i = 0; i < nseg; i++) {
		if (encode_into(b, seg[i], seglen[i], true,
		    !p->double_encode) == -1)
			goto out;
		if ((i + 1 < nseg || trailing) && buf_addch(b, '/') == -1)
			goto out;
	}
	ret = 0;
 out:
	free(seg);
	free(seglen);
	return ret;
}

/* Split a wire query string into decoded-then-encoded name/value pairs. */
static void
parse_query(const char *q, struct kvlist *l)
{
	const char	*s, *e, *eq;

	if (q == NULL)
		return;
	for (s = q; *s != '\0'; s = (*e == '&') ? e + 1 : e) {
		e = strchr(s, '&');
		if (e == NULL)
			e = s + strlen(s);
		if (e == s)
			continue;
		eq = memchr(s, '=', (size_t)(e - s));
		if (eq == NULL)
			kvlist_add(l, reencode(s, (size_t)(e - s)),
			    xstrdup(""));
		else
			kvlist_add(l, reencode(s, (size_t)(eq - s)),
			    reencode(eq + 1, (size_t)(e - eq - 1)));
	}
}

static int
canon_query(struct kvlist *l, struct buf *b)
{
	int	bad = 0;

	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), kv_cmp_key_val);
	for (size_t i = 0; i < l->n; i++) {
		if (i > 0)
			bad |= buf_addch(b, '&');
		bad |= buf_addstr(b, l->v[i].k);
		bad |= buf_addch(b, '=');
		bad |= buf_addstr(b, l->v[i].v);
	}
	return bad ? -1 : 0;
}

static bool
header_excluded(const char *lname)
{
	static const char *const ex[] = {
		"authorization", "connection", "expect", "keep-alive",
		"proxy-authenticate", "proxy-authorization",
		"proxy-connection", "te", "trailer", "transfer-encoding",
		"upgrade", "user-agent", "x-amzn-trace-id",
	};

	for (size_t i = 0; i < nitems(ex); i++)
		if (strcmp(lname, ex[i]) == 0)
			return true;
	return false;
}

/*
 * Trim a header value and fold every run of whitespace (including the
 * line breaks of a multi-line value) into one space.  The suite's
 * get-header-value-multiline expects continuation lines joined by a
 * single space.
 */
static char *
fold_value(const char *v)
{
	char	*out;
	size_t	 o = 0;
	bool	 sp = false;

	out = xmalloc(strlen(v) + 1);
	for (; *v != '\0'; v++) {
		if (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n') {
			sp = o > 0;
			continue;
		}
		if (sp) {
			out[o++] = ' ';
			sp = false;
		}
		out[o++] = *v;
	}
	out[o] = '\0';
	return out;
}

static char *
lowercase(const char *s)
{
	char	*l = xstrdup(s);

	for (char *c = l; *c != '\0'; c++)
		*c = (char)tolower((unsigned char)*c);
	return l;
}

/*
 * Canonical headers and the signed-header list from hl.  Duplicate names
 * are merged into one line with the values joined by ',' in the order
 * they appear (get-header-key-duplicate).
 */
static int
canon_headers(const struct http_headers *hl, struct buf *ch, struct buf *sh)
{
	struct kvlist	 l = { 0 };
	int		 bad = 0;
	bool		 have_host = false;

	for (size_t i = 0; i < hl->n; i++) {
		char	*ln = lowercase(hl->v[i].name);

		if (header_excluded(ln)) {
			free(ln);
			continue;
		}
		if (strcmp(ln, "host") == 0)
			have_host = true;
		kvlist_add(&l, ln, fold_value(hl->v[i].value));
	}
	if (l.n > 1)
		qsort(l.v, l.n, sizeof(*l.v), kv_cmp_key_idx);
	for (size_t i = 0; i < l.n; i++) {
		if (i > 0 && strcmp(l.v[i].k, l.v[i - 1].k) == 0) {
			bad |= buf_addch(ch, ',');
			bad |= buf_addstr(ch, l.v[i].v);
			continue;
		}
		if (i > 0) {
			bad |= buf_addch(ch, '\n');
			bad |= buf_addch(sh, ';');
		}
		bad |= buf_addstr(ch, l.v[i].k);
		bad |= buf_addch(ch, ':');
		bad |= buf_addstr(ch, l.v[i].v);
		bad |= buf_addstr(sh, l.v[i].k);
	}
	if (l.n > 0)
		bad |= buf_addch(ch, '\n');
	kvlist_release(&l);
	if (!have_host)
		return -2;
	return bad ? -1 : 0;
}

/* signature = HEX(HMAC(kSigning, sts)), kSigning derived from the secret. */
static int
compute_signature(const struct sigv4_params *p, const char *datestamp,
    const char *sts, char out[SIGV4_HEX_LEN + 1], struct errbuf *eb)
{
	unsigned char		 k1[32], k2[32], sig[32];
	char			*seed;
	size_t			 slen;
	int			 ret = -1;

	slen = strlen(p->secret_key) + 4;
	seed = xmalloc(slen + 1);
	/* The second copy takes the key's NUL too. */
	/* NOLINTBEGIN(bugprone-not-null-terminated-result) */
	memcpy(seed, "AWS4", 4);
	memcpy(seed + 4, p->secret_key, slen - 4 + 1);
	/* NOLINTEND(bugprone-not-null-terminated-result) */
	if (digest_hmac_sha256(seed, slen, datestamp, strlen(datestamp), k1,
	    eb) == -1 ||
	    digest_hmac_sha256(k1, 32, p->region, strlen(p->region), k2,
	    eb) == -1 ||
	    digest_hmac_sha256(k2, 32, p->service, strlen(p->service), k1,
	    eb) == -1 ||
	    digest_hmac_sha256(k1, 32, "aws4_request", 12, k2, eb) == -1 ||
	    digest_hmac_sha256(k2, 32, sts, strlen(sts), sig, eb) == -1)
		goto out;
	digest_hex(sig, sizeof(sig), out);
	ret = 0;
 out:
	freezero(seed, slen + 1);
	explicit_bzero(k1, sizeof(k1));
	explicit_bzero(k2, sizeof(k2));
	return ret;
}

void
sigv4_result_init(struct sigv4_result *r)
{
	memset(r, 0, sizeof(*r));
}

void
sigv4_result_release(struct sigv4_result *r)
{
	if (r->canonical_request != NULL)
		freezero(r->canonical_request, strlen(r->canonical_request));
	if (r->string_to_sign != NULL)
		free(r->string_to_sign);
	free(r->authorization);
	if (r->query != NULL)
		freezero(r->query, strlen(r->query));
	memset(r, 0, sizeof(*r));
}

static bool
valid_hash(const char *h)
{
	if (strcmp(h, SIGV4_UNSIGNED_PAYLOAD) == 0)
		return true;
	if (strlen(h) != SIGV4_HEX_LEN)
		return false;
	for (; *h != '\0'; h++)
		if (!isxdigit((unsigned char)*h))
			return false;
	return true;
}

static int
check_params(const struct sigv4_params *p, const struct sigv4_request *r,
    struct errbuf *eb)
{
	if (p->access_key == NULL || *p->access_key == '\0' ||
	    p->secret_key == NULL || *p->secret_key == '\0')
		return errbuf_set(eb, EK_USAGE, "sigv4: no access key");
	if (p->region == NULL || *p->region == '\0' ||
	    p->service == NULL || *p->service == '\0')
		return errbuf_set(eb, EK_USAGE,
		    "sigv4: region and service are required");
	if (r->method == NULL || *r->method == '\0')
		return errbuf_set(eb, EK_USAGE, "sigv4: no method");
	if (r->path != NULL && *r->path != '\0' && *r->path != '/')
		return errbuf_set(eb, EK_USAGE,
		    "sigv4: path '%s' does not start with '/'", r->path);
	if (r->headers == NULL)
		return errbuf_set(eb, EK_USAGE, "sigv4: no headers");
	if (p->payload_hash != NULL && !valid_hash(p->payload_hash))
		return errbuf_set(eb, EK_USAGE, "sigv4: bad payload hash");
	return 0;
}

/*
 * Build the canonical request, string to sign and signature into *r.
 * qextra (query mode) holds the X-Amz-* parameters to add to the query.
 */
static int
sign_common(const struct sigv4_params *p, const struct sigv4_request *req,
    struct kvlist *qextra, const char *payload_hash, const char *amzdate,
    struct sigv4_result *r, struct buf *signed_headers, struct errbuf *eb)
{
	struct kvlist	 ql = { 0 };
	struct buf	 cr, ch, sts;
	char		 crhash[SIGV4_HEX_LEN + 1], datestamp[9];
	const char	*q;
	int		 ret = -1, rc, bad = 0;

	buf_init(&cr, SIGV4_CANON_MAX);
	buf_init(&ch, SIGV4_CANON_MAX);
	buf_init(&sts, SIGV4_CANON_MAX);

	rc = canon_headers(req->headers, &ch, signed_headers);
	if (rc == -2) {
		errbuf_set(eb, EK_USAGE, "sigv4: no Host header");
		goto out;
	}
	if (rc == -1)
		goto toobig;

	bad |= buf_addstr(&cr, req->method);
	bad |= buf_addch(&cr, '\n');
	if (canon_uri(p, req->path, &cr) == -1)
		goto toobig;
	bad |= buf_addch(&cr, '\n');
	q = req->query;
	if (q != NULL && *q == '?')
		q++;
	parse_query(q, &ql);
	if (qextra != NULL) {
		for (size_t i = 0; i < qextra->n; i++)
			kvlist_add(&ql, xstrdup(qextra->v[i].k),
			    xstrdup(qextra->v[i].v));
	}
	if (canon_query(&ql, &cr) == -1)
		goto toobig;
	bad |= buf_addch(&cr, '\n');
	bad |= buf_add(&cr, ch.data == NULL ? "" : ch.data, ch.len);
	bad |= buf_addch(&cr, '\n');
	bad |= buf_addstr(&cr, buf_str(signed_headers));
	bad |= buf_addch(&cr, '\n');
	bad |= buf_addstr(&cr, payload_hash);
	if (bad)
		goto toobig;

	sigv4_sha256_hex(cr.data, cr.len, crhash);
	memcpy(datestamp, amzdate, 8);
	datestamp[8] = '\0';
	if (buf_printf(&sts, "%s\n%s\n%s/%s/%s/aws4_request\n%s", SIGV4_ALGO,
	    amzdate, datestamp, p->region, p->service, crhash) == -1)
		goto toobig;
	if (compute_signature(p, datestamp, buf_str(&sts), r->signature,
	    eb) == -1) {
		errbuf_prefix(eb, "sigv4: ");
		goto out;
	}
	r->canonical_request = buf_take(&cr, NULL);
	r->string_to_sign = buf_take(&sts, NULL);
	if (qextra != NULL) {
		struct buf	qb;

		/* The query to send: the canonical one, plus the signature. */
		buf_init(&qb, SIGV4_CANON_MAX);
		if (canon_query(&ql, &qb) == -1 ||
		    buf_printf(&qb, "%sX-Amz-Signature=%s",
		    ql.n > 0 ? "&" : "", r->signature) == -1)
			goto toobig;
		r->query = buf_take(&qb, NULL);
	}
	ret = 0;
	goto out;
 toobig:
	errbuf_set(eb, EK_PROTO, "sigv4: canonical request too large");
 out:
	kvlist_release(&ql);
	if (cr.data != NULL)
		explicit_bzero(cr.data, cr.len);
	buf_release(&cr);
	buf_release(&ch);
	buf_release(&sts);
	return ret;
}

static const char *
payload_hash_for(const struct sigv4_params *p, const struct sigv4_request *req,
    char buf[SIGV4_HEX_LEN + 1], bool query_mode)
{
	const char	*h;

	if (p->payload_hash != NULL)
		return p->payload_hash;
	/* A caller (or the S3 docs' put-object example) may set it itself. */
	h = http_headers_get(req->headers, "x-amz-content-sha256");
	if (h != NULL && valid_hash(h))
		return h;
	if (query_mode && strcmp(p->service, "s3") == 0)
		return SIGV4_UNSIGNED_PAYLOAD;
	sigv4_sha256_hex(req->body == NULL ? "" : req->body,
	    req->body == NULL ? 0 : req->body_len, buf);
	return buf;
}

int
sigv4_sign_headers(const struct sigv4_params *p, struct sigv4_request *req,
    struct sigv4_result *ret, struct errbuf *eb)
{
	struct sigv4_result	 r;
	struct buf		 sh;
	char			 amzdate[17], hbuf[SIGV4_HEX_LEN + 1];
	char			 datestamp[9];
	const char		*ph;
	bool			 token;
	int			 rv = -1;

	if (check_params(p, req, eb) == -1)
		return -1;
	sigv4_result_init(&r);
	buf_init(&sh, SIGV4_CANON_MAX);
	token = p->session_token != NULL && *p->session_token != '\0';

	sigv4_amz_date(p->now, amzdate);
	ph = payload_hash_for(p, req, hbuf, false);
	/* Copy: ph may point into the header we are about to replace. */
	if (ph != hbuf) {
		strlcpy(hbuf, ph, sizeof(hbuf));
		ph = hbuf;
	}

	http_headers_del(req->headers, "Authorization");
	http_headers_set(req->headers, "X-Amz-Date", amzdate);
	if (token && !p->omit_session_token)
		http_headers_set(req->headers, "X-Amz-Security-Token",
		    p->session_token);
	else if (token)
		http_headers_del(req->headers, "X-Amz-Security-Token");
	if (p->sign_body)
		http_headers_set(req->headers, "x-amz-content-sha256", ph);

	if (sign_common(p, req, NULL, ph, amzdate, &r, &sh, eb) == -1)
		goto out;

	memcpy(datestamp, amzdate, 8);
	datestamp[8] = '\0';
	r.authorization = xasprintf("%s Credential=%s/%s/%s/%s/aws4_request, "
	    "SignedHeaders=%s, Signature=%s", SIGV4_ALGO, p->access_key,
	    datestamp, p->region, p->service, buf_str(&sh), r.signature);
	http_headers_set(req->headers, "Authorization", r.authorization);
	if (token && p->omit_session_token)
		http_headers_set(req->headers, "X-Amz-Security-Token",
		    p->session_token);
	*ret = r;
	rv = 0;
 out:
	if (rv == -1)
		sigv4_result_release(&r);
	buf_release(&sh);
	return rv;
}

int
sigv4_presign(const struct sigv4_params *p, struct sigv4_request *req,
    struct sigv4_result *ret, struct errbuf *eb)
{
	struct sigv4_result	 r;
	struct kvlist		 extra = { 0 };
	struct buf		 sh;
	char			 amzdate[17], hbuf[SIGV4_HEX_LEN + 1];
	char			 datestamp[9];
	const char		*ph;
	bool			 token;
	int			 rv = -1;

	if (check_params(p, req, eb) == -1)
		return -1;
	if (p->expires < 1 || p->expires > SIGV4_EXPIRES_MAX)
		return errbuf_set(eb, EK_USAGE,
		    "sigv4: presigned URL lifetime %u s out of range 1..%d",
		    p->expires, SIGV4_EXPIRES_MAX);
	sigv4_result_init(&r);
	buf_init(&sh, SIGV4_CANON_MAX);
	token = p->session_token != NULL && *p->session_token != '\0';
	sigv4_amz_date(p->now, amzdate);
	memcpy(datestamp, amzdate, 8);
	datestamp[8] = '\0';
	ph = payload_hash_for(p, req, hbuf, true);

	/*
	 * The signed-header list is itself a signed query parameter, so
	 * compute it first with a throw-away canonicalisation.
	 */
	{
		struct buf	ch;
		int		rc;

		buf_init(&ch, SIGV4_CANON_MAX);
		rc = canon_headers(req->headers, &ch, &sh);
		buf_release(&ch);
		if (rc == -2) {
			errbuf_set(eb, EK_USAGE, "sigv4: no Host header");
			goto out;
		}
		if (rc == -1) {
			errbuf_set(eb, EK_PROTO,
			    "sigv4: canonical request too large");
			goto out;
		}
	}
	kvlist_add(&extra, xstrdup("X-Amz-Algorithm"), xstrdup(SIGV4_ALGO));
	kvlist_add(&extra, xstrdup("X-Amz-Credential"),
	    xasprintf("%s%%2F%s%%2F%s%%2F%s%%2Faws4_request",
	    p->access_key, datestamp, p->region, p->service));
	kvlist_add(&extra, xstrdup("X-Amz-Date"), xstrdup(amzdate));
	kvlist_add(&extra, xstrdup("X-Amz-Expires"),
	    xasprintf("%u", p->expires));
	kvlist_add(&extra, xstrdup("X-Amz-SignedHeaders"),
	    sigv4_uri_encode(buf_str(&sh), true));
	if (token && !p->omit_session_token)
		kvlist_add(&extra, xstrdup("X-Amz-Security-Token"),
		    sigv4_uri_encode(p->session_token, true));
	buf_reset(&sh);
	if (sign_common(p, req, &extra, ph, amzdate, &r, &sh, eb) == -1)
		goto out;
	if (token && p->omit_session_token) {
		char	*tok, *q;

		tok = sigv4_uri_encode(p->session_token, true);
		q = xasprintf("%s&X-Amz-Security-Token=%s", r.query, tok);
		freezero(tok, strlen(tok));
		freezero(r.query, strlen(r.query));
		r.query = q;
	}
	*ret = r;
	rv = 0;
 out:
	if (rv == -1)
		sigv4_result_release(&r);
	kvlist_release(&extra);
	buf_release(&sh);
	return rv;
}
