/* SPDX-License-Identifier: ISC */
/*
 * s3.c: S3 object calls over aws_request() (see s3.h).  Downloads are
 * streamed to a file with an incremental SHA-256 (digest.h) that is
 * restarted when the client retries; uploads hash the payload first so
 * every request is signed with its real x-amz-content-sha256, and large
 * files go up in parts read straight from the file with pread.
 * Not here: addressing style, signing, retries (client.c), and what the
 * keys mean (store.c).
 */
#include "compat.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libxml/tree.h>

#include "aws/client.h"
#include "aws/s3.h"
#include "aws/sigv4.h"
#include "aws/xml.h"
#include "buf.h"
#include "digest.h"
#include "errbuf.h"
#include "http.h"
#include "log.h"
#include "xalloc.h"

#include "banned.h"

#define S3_HASH_CHUNK	(256 * 1024)	/* bytes hashed per read */
#define S3_COMPLETE_MAX	(S3_PARTS_MAX * 128 + 256) /* complete request */

void
s3_object_info_release(struct s3_object_info *i)
{
	free(i->etag);
	free(i->last_modified);
	memset(i, 0, sizeof(*i));
}

void
s3_list_release(struct s3_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].etag);
		free(l->v[i].last_modified);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

int
s3_parse_url(const char *url, char **ret_bucket, char **ret_key,
    struct errbuf *eb)
{
	const char	*b, *slash;

	if (strncmp(url, "s3://", 5) != 0)
		return errbuf_set(eb, EK_USAGE, "'%s' is not an s3:// URL",
		    url);
	b = url + 5;
	slash = strchr(b, '/');
	if (slash == b || *b == '\0')
		return errbuf_set(eb, EK_USAGE, "'%s' names no bucket", url);
	if (slash == NULL) {
		*ret_bucket = xstrdup(b);
		*ret_key = xstrdup("");
	} else {
		*ret_bucket = xstrndup(b, (size_t)(slash - b));
		*ret_key = xstrdup(slash + 1);
	}
	return 0;
}

static void
s3_req_init(struct aws_request *r, const char *op, const char *method,
    const char *bucket, const char *key)
{
	memset(r, 0, sizeof(*r));
	r->svc = &aws_svc_s3;
	r->op = op;
	r->method = method;
	r->bucket = bucket;
	r->key = key;
	r->body_fd = -1;
	r->out_fd = -1;
}

/*
 * SHA-256 of len bytes of fd from off, as hex.  0, or -1 with eb set
 * (EK_IO: read failed or the file shrank).
 */
static int
s3_hash_range(int fd, off_t off, uint64_t len, const char *path,
    char out[SIGV4_HEX_LEN + 1], struct errbuf *eb)
{
	struct digest	 d;
	char		*chunk;
	ssize_t		 r;
	size_t		 want;
	int		 ret = -1;

	chunk = xmalloc(S3_HASH_CHUNK);
	digest_init(&d);
	if (digest_start(&d, eb) == -1) {
		errbuf_prefix(eb, "cannot hash '%s': ", path);
		goto out;
	}
	while (len > 0) {
		want = len < S3_HASH_CHUNK ? (size_t)len : S3_HASH_CHUNK;
		r = pread(fd, chunk, want, off);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			errbuf_errno(eb, EK_IO, "cannot read '%s'", path);
			goto out;
		}
		if (r == 0) {
			errbuf_set(eb, EK_IO, "cannot read '%s': file shrank "
			    "while uploading", path);
			goto out;
		}
		if (digest_update(&d, chunk, (size_t)r, eb) == -1) {
			errbuf_prefix(eb, "cannot hash '%s': ", path);
			goto out;
		}
		off += r;
		len -= (uint64_t)r;
	}
	if (digest_final_hex(&d, out, eb) == -1) {
		errbuf_prefix(eb, "cannot hash '%s': ", path);
		goto out;
	}
	ret = 0;
 out:
	digest_release(&d);
	free(chunk);
	return ret;
}

/* The conditional-write headers of o into h. */
static void
s3_cond_headers(const struct s3_put_opts *o, struct http_headers *h)
{
	char	*quoted;

	if (o == NULL)
		return;
	if (o->content_type != NULL)
		http_headers_set(h, "Content-Type", o->content_type);
	if (o->cond == S3_PUT_IF_NONE_MATCH)
		http_headers_set(h, "If-None-Match", "*");
	else if (o->cond == S3_PUT_IF_MATCH && o->etag != NULL) {
		if (o->etag[0] == '"')
			quoted = xstrdup(o->etag);
		else
			quoted = xasprintf("\"%s\"", o->etag);
		http_headers_set(h, "If-Match", quoted);
		free(quoted);
	}
}

/*
 * After a failed write: 412 PreconditionFailed (and 409
 * ConditionalRequestConflict, a concurrent conditional write) become
 * S3_PRECONDITION_FAILED; anything else stays -1.
 */
static int
s3_write_failed(const struct aws_result *res, const struct s3_put_opts *o,
    const char *bucket, const char *key, struct errbuf *eb)
{
	if (o == NULL || o->cond == S3_PUT_ALWAYS)
		return -1;
	if (res->status == 412 || (res->status == 409 && res->code != NULL &&
	    strcmp(res->code, "ConditionalRequestConflict") == 0)) {
		errbuf_set(eb, EK_TEMP, "s3://%s/%s: precondition failed "
		    "(%s): the object %s", bucket, key,
		    o->cond == S3_PUT_IF_NONE_MATCH ? "If-None-Match: *" :
		    "If-Match", o->cond == S3_PUT_IF_NONE_MATCH ?
		    "already exists" : "was changed by another writer");
		return S3_PRECONDITION_FAILED;
	}
	return -1;
}

static char *
s3_etag_of(const struct aws_result *res)
{
	const char	*e;

	e = aws_result_header(res, "ETag");
	return e == NULL ? NULL : xstrdup(e);
}

int
s3_head(struct aws_client *c, const char *bucket, const char *key,
    struct s3_object_info *ret, struct errbuf *eb)
{
	struct aws_request	 req;
	struct aws_result	 res;
	struct s3_object_info	 info = { 0 };
	const char		*cl, *lm;
	int			 rv = -1;

	aws_result_init(&res);
	s3_req_init(&req, "HeadObject", "HEAD", bucket, key);
	if (aws_request(c, &req, &res, eb) == -1) {
		if (res.status == 404)
			errbuf_set(eb, EK_NOINPUT, "s3 HeadObject: "
			    "'s3://%s/%s' does not exist", bucket, key);
		goto out;
	}
	cl = aws_result_header(&res, "Content-Length");
	if (cl == NULL || parse_u64(cl, 0, UINT64_MAX, &info.size) == -1) {
		errbuf_set(eb, EK_PROTO, "s3 HeadObject: 's3://%s/%s': reply "
		    "has no valid Content-Length", bucket, key);
		goto out;
	}
	info.etag = s3_etag_of(&res);
	if ((lm = aws_result_header(&res, "Last-Modified")) != NULL)
		info.last_modified = xstrdup(lm);
	*ret = info;
	rv = 0;
 out:
	aws_result_release(&res);
	return rv;
}

struct s3_sink {
	struct digest	 d;
	bool		 failed;
	struct errbuf	 eb;		/* why, when failed */
};

static int
s3_sink_chunk(void *arg, const void *data, size_t len)
{
	struct s3_sink	*s = arg;

	if (!s->failed && digest_update(&s->d, data, len, &s->eb) == -1)
		s->failed = true;
	return 0;
}

/* The client truncated the file for a retry: start the digest again. */
static void
s3_sink_reset(void *arg)
{
	struct s3_sink	*s = arg;

	if (digest_start(&s->d, &s->eb) == -1)
		s->failed = true;
}

int
s3_get_file(struct aws_client *c, const char *bucket, const char *key,
    const char *path, const char *sha256_hex, uint64_t max,
    uint64_t *ret_size, struct errbuf *eb)
{
	struct aws_request	 req;
	struct aws_result	 res;
	struct s3_sink		 sink = { 0 };
	char			 got[SIGV4_HEX_LEN + 1];
	int			 fd = -1, rv = -1;
	bool			 created = false;

	aws_result_init(&res);
	digest_init(&sink.d);
	if (digest_start(&sink.d, eb) == -1) {
		errbuf_prefix(eb, "cannot hash 's3://%s/%s': ", bucket, key);
		goto out;
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1) {
		errbuf_errno(eb, EK_IO, "cannot create '%s'", path);
		goto out;
	}
	created = true;
	s3_req_init(&req, "GetObject", "GET", bucket, key);
	req.out_fd = fd;
	req.out_max = max;
	req.on_chunk = s3_sink_chunk;
	req.chunk_arg = &sink;
	req.on_reset = s3_sink_reset;
	req.timeout_ms = S3_PUT_TIMEOUT_MS;
	if (aws_request(c, &req, &res, eb) == -1) {
		if (res.status == 404)
			errbuf_set(eb, EK_NOINPUT, "s3 GetObject: "
			    "'s3://%s/%s' does not exist%s%s", bucket, key,
			    res.code != NULL ? ": " : "",
			    res.code != NULL ? res.code : "");
		else if (eb->kind == EK_DATA && max > 0)
			errbuf_set(eb, EK_DATA, "s3://%s/%s: larger than %llu "
			    "bytes", bucket, key, (unsigned long long)max);
		goto out;
	}
	if (sink.failed)
		*eb = sink.eb;
	if (sink.failed || digest_final_hex(&sink.d, got, eb) == -1) {
		errbuf_prefix(eb, "cannot hash 's3://%s/%s': ", bucket, key);
		goto out;
	}
	if (sha256_hex != NULL && strcasecmp(sha256_hex, got) != 0) {
		errbuf_set(eb, EK_DATA, "s3://%s/%s: SHA-256 mismatch: "
		    "expected %s, got %s", bucket, key, sha256_hex, got);
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		errbuf_errno(eb, EK_IO, "cannot write '%s'", path);
		goto out;
	}
	fd = -1;
	if (ret_size != NULL)
		*ret_size = res.out_bytes;
	rv = 0;
 out:
	if (fd != -1)
		close(fd);
	if (rv == -1 && created)
		(void)unlink(path);
	digest_release(&sink.d);
	aws_result_release(&res);
	return rv;
}

void
s3_get_request(struct aws_request *req, const char *bucket, const char *key,
    size_t max)
{
	s3_req_init(req, "GetObject", "GET", bucket, key);
	req->body_max = max;
}

int
s3_get_buf(struct aws_client *c, const char *bucket, const char *key,
    size_t max, struct buf *ret, char **ret_etag, struct errbuf *eb)
{
	struct aws_request	 req;
	struct aws_result	 res;
	int			 rv = -1;

	aws_result_init(&res);
	s3_get_request(&req, bucket, key, max);
	if (aws_request(c, &req, &res, eb) == -1) {
		if (res.status == 404)
			errbuf_set(eb, EK_NOINPUT, "s3 GetObject: "
			    "'s3://%s/%s' does not exist%s%s", bucket, key,
			    res.code != NULL ? ": " : "",
			    res.code != NULL ? res.code : "");
		goto out;
	}
	if (buf_add(ret, res.body.data == NULL ? "" : res.body.data,
	    res.body.len) == -1) {
		errbuf_set(eb, EK_PROTO, "s3 GetObject: 's3://%s/%s' is "
		    "larger than %zu bytes", bucket, key, max);
		goto out;
	}
	if (ret_etag != NULL)
		*ret_etag = s3_etag_of(&res);
	rv = 0;
 out:
	aws_result_release(&res);
	return rv;
}

/* PutObject of a file range or memory (data != NULL), one request. */
static int
s3_put_single(struct aws_client *c, const char *bucket, const char *key,
    int fd, uint64_t size, const void *data, const struct s3_put_opts *o,
    const char *path, char **ret_etag, struct errbuf *eb)
{
	struct aws_request	 req;
	struct aws_result	 res;
	struct http_headers	 h;
	char			 hash[SIGV4_HEX_LEN + 1];
	int			 rv = -1;

	aws_result_init(&res);
	http_headers_init(&h);
	s3_req_init(&req, "PutObject", "PUT", bucket, key);
	if (data != NULL) {
		sigv4_sha256_hex(data, (size_t)size, hash);
		req.body = size == 0 ? "" : data;
		req.body_len = (size_t)size;
	} else {
		if (s3_hash_range(fd, 0, size, path, hash, eb) == -1)
			goto out;
		req.body_fd = fd;
		req.body_len = (size_t)size;
		req.body_off = 0;
	}
	req.payload_hash = hash;
	s3_cond_headers(o, &h);
	req.headers = &h;
	req.timeout_ms = S3_PUT_TIMEOUT_MS;
	if (aws_request(c, &req, &res, eb) == -1) {
		rv = s3_write_failed(&res, o, bucket, key, eb);
		goto out;
	}
	if (ret_etag != NULL)
		*ret_etag = s3_etag_of(&res);
	rv = 0;
 out:
	http_headers_release(&h);
	aws_result_release(&res);
	return rv;
}

int
s3_parse_upload_id(xmlDoc *doc, char **ret_id, struct errbuf *eb)
{
	xmlNode	*root;
	char	*id;

	root = awsxml_root(doc);
	if (root == NULL || !awsxml_is(root, "InitiateMultipartUploadResult"))
		return errbuf_set(eb, EK_PROTO, "s3 CreateMultipartUpload: "
		    "unexpected reply");
	if ((id = awsxml_child_text(root, "UploadId")) == NULL ||
	    *id == '\0') {
		free(id);
		return errbuf_set(eb, EK_PROTO, "s3 CreateMultipartUpload: "
		    "reply has no UploadId");
	}
	*ret_id = id;
	return 0;
}

int
s3_check_complete(xmlDoc *doc, struct errbuf *eb)
{
	xmlNode	*root;
	char	*code, *msg;
	int	 temp;

	root = awsxml_root(doc);
	/* moto 5 names the root "...Response" instead of "...Result". */
	if (root != NULL && (awsxml_is(root, "CompleteMultipartUploadResult") ||
	    awsxml_is(root, "CompleteMultipartUploadResponse")))
		return 0;
	if (root == NULL || !awsxml_is(root, "Error"))
		return errbuf_set(eb, EK_PROTO, "s3 CompleteMultipartUpload: "
		    "unexpected reply");
	/*
	 * S3 may answer 200 and then report a failure in the body, after
	 * the connection was kept open while it assembled the parts.
	 */
	code = awsxml_child_text(root, "Code");
	msg = awsxml_child_text(root, "Message");
	temp = code != NULL && (strcmp(code, "InternalError") == 0 ||
	    strcmp(code, "SlowDown") == 0);
	errbuf_set(eb, temp ? EK_TEMP : EK_PROTO, "s3 "
	    "CompleteMultipartUpload: %s: %s", code != NULL ? code : "Error",
	    msg != NULL ? msg : "(no message)");
	free(code);
	free(msg);
	return -1;
}

static void
s3_abort_upload(struct aws_client *c, const char *bucket, const char *key,
    const char *upload_id)
{
	struct aws_request	 req;
	struct aws_result	 res;
	struct aws_param	 q[] = { { "uploadId", upload_id } };
	struct errbuf		 eb = { 0 };

	aws_result_init(&res);
	s3_req_init(&req, "AbortMultipartUpload", "DELETE", bucket, key);
	req.query = q;
	req.nquery = nitems(q);
	/* Best effort: the original failure is what the caller reports. */
	if (aws_request(c, &req, &res, &eb) == -1)
		log_debug("s3: cannot abort the upload of '%s': %s", key,
		    eb.msg);
	aws_result_release(&res);
}

static void
s3_xml_escape(struct buf *b, const char *s, int *err)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':
			*err |= buf_addstr(b, "&amp;");
			break;
		case '<':
			*err |= buf_addstr(b, "&lt;");
			break;
		case '>':
			*err |= buf_addstr(b, "&gt;");
			break;
		default:
			*err |= buf_addch(b, *s);
			break;
		}
	}
}

static int
s3_put_multipart(struct aws_client *c, const char *bucket, const char *key,
    int fd, uint64_t size, const struct s3_put_opts *o, const char *path,
    char **ret_etag, struct errbuf *eb)
{
	struct aws_request	 req;
	struct aws_result	 res;
	struct http_headers	 h;
	struct buf		 body;
	struct aws_param	 q[2];
	xmlDoc			*doc = NULL;
	char			*upload_id = NULL, **etags = NULL;
	char			 hash[SIGV4_HEX_LEN + 1], num[24];
	uint64_t		 part, nparts, off, len;
	int			 rv = -1, err = 0;

	aws_result_init(&res);
	http_headers_init(&h);
	buf_init(&body, S3_COMPLETE_MAX);
	part = o != NULL && o->part_size != 0 ? o->part_size : S3_PART_SIZE;
	if (part < S3_PART_SIZE_MIN)
		part = S3_PART_SIZE_MIN;
	while ((size + part - 1) / part > S3_PARTS_MAX)
		part *= 2;
	nparts = (size + part - 1) / part;

	s3_req_init(&req, "CreateMultipartUpload", "POST", bucket, key);
	q[0].name = "uploads";
	q[0].value = NULL;
	req.query = q;
	req.nquery = 1;
	if (o != NULL && o->content_type != NULL) {
		http_headers_set(&h, "Content-Type", o->content_type);
		req.headers = &h;
	}
	if (aws_request(c, &req, &res, eb) == -1)
		goto out;
	if ((doc = awsxml_parse(res.body.data, res.body.len, eb)) == NULL ||
	    s3_parse_upload_id(doc, &upload_id, eb) == -1)
		goto out;
	awsxml_free(doc);
	doc = NULL;

	etags = xcalloc(nparts, sizeof(*etags));
	for (uint64_t i = 0; i < nparts; i++) {
		off = i * part;
		len = size - off < part ? size - off : part;
		if (s3_hash_range(fd, (off_t)off, len, path, hash, eb) == -1)
			goto out;
		snprintf(num, sizeof(num), "%llu", (unsigned long long)i + 1);
		s3_req_init(&req, "UploadPart", "PUT", bucket, key);
		q[0].name = "partNumber";
		q[0].value = num;
		q[1].name = "uploadId";
		q[1].value = upload_id;
		req.query = q;
		req.nquery = 2;
		req.body_fd = fd;
		req.body_off = (off_t)off;
		req.body_len = (size_t)len;
		req.payload_hash = hash;
		req.timeout_ms = S3_PUT_TIMEOUT_MS;
		if (aws_request(c, &req, &res, eb) == -1)
			goto out;
		if ((etags[i] = s3_etag_of(&res)) == NULL) {
			errbuf_set(eb, EK_PROTO, "s3 UploadPart: part %s of "
			    "'s3://%s/%s': reply has no ETag", num, bucket,
			    key);
			goto out;
		}
	}

	err |= buf_addstr(&body, "<CompleteMultipartUpload xmlns=\""
	    "http://s3.amazonaws.com/doc/2006-03-01/\">");
	for (uint64_t i = 0; i < nparts; i++) {
		err |= buf_printf(&body, "<Part><PartNumber>%llu</PartNumber>"
		    "<ETag>", (unsigned long long)i + 1);
		s3_xml_escape(&body, etags[i], &err);
		err |= buf_addstr(&body, "</ETag></Part>");
	}
	err |= buf_addstr(&body, "</CompleteMultipartUpload>");
	if (err != 0) {
		errbuf_set(eb, EK_BUG, "s3 CompleteMultipartUpload: request "
		    "too large");
		goto out;
	}
	s3_req_init(&req, "CompleteMultipartUpload", "POST", bucket, key);
	q[0].name = "uploadId";
	q[0].value = upload_id;
	req.query = q;
	req.nquery = 1;
	req.body = body.data;
	req.body_len = body.len;
	sigv4_sha256_hex(body.data, body.len, hash);
	req.payload_hash = hash;
	http_headers_release(&h);
	http_headers_init(&h);
	http_headers_set(&h, "Content-Type", "application/xml");
	s3_cond_headers(o, &h);
	req.headers = &h;
	req.timeout_ms = S3_PUT_TIMEOUT_MS;
	if (aws_request(c, &req, &res, eb) == -1) {
		rv = s3_write_failed(&res, o, bucket, key, eb);
		goto out;
	}
	if ((doc = awsxml_parse(res.body.data, res.body.len, eb)) == NULL ||
	    s3_check_complete(doc, eb) == -1)
		goto out;
	if (ret_etag != NULL) {
		*ret_etag = awsxml_child_text(awsxml_root(doc), "ETag");
		if (*ret_etag == NULL)
			*ret_etag = s3_etag_of(&res);
	}
	rv = 0;
 out:
	if (rv != 0 && upload_id != NULL)
		s3_abort_upload(c, bucket, key, upload_id);
	if (etags != NULL)
		for (uint64_t i = 0; i < nparts; i++)
			free(etags[i]);
	free(etags);
	free(upload_id);
	awsxml_free(doc);
	buf_release(&body);
	http_headers_release(&h);
	aws_result_release(&res);
	return rv;
}

int
s3_put_file(struct aws_client *c, const char *bucket, const char *key,
    const char *path, const struct s3_put_opts *o, char **ret_etag,
    struct errbuf *eb)
{
	struct stat	 st;
	uint64_t	 threshold;
	int		 fd, rv;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return errbuf_errno(eb, errno == ENOENT ? EK_NOINPUT : EK_IO,
		    "cannot open '%s'", path);
	if (fstat(fd, &st) == -1) {
		rv = errbuf_errno(eb, EK_IO, "cannot stat '%s'", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rv = errbuf_set(eb, EK_USAGE, "'%s' is not a regular file",
		    path);
		goto out;
	}
	threshold = o != NULL && o->multipart_threshold != 0 ?
	    o->multipart_threshold : S3_MULTIPART_THRESHOLD;
	if ((uint64_t)st.st_size > threshold)
		rv = s3_put_multipart(c, bucket, key, fd, (uint64_t)st.st_size,
		    o, path, ret_etag, eb);
	else
		rv = s3_put_single(c, bucket, key, fd, (uint64_t)st.st_size,
		    NULL, o, path, ret_etag, eb);
 out:
	close(fd);
	return rv;
}

int
s3_put_buf(struct aws_client *c, const char *bucket, const char *key,
    const void *data, size_t len, const struct s3_put_opts *o,
    char **ret_etag, struct errbuf *eb)
{
	return s3_put_single(c, bucket, key, -1, len, data, o, "(memory)",
	    ret_etag, eb);
}

int
s3_delete(struct aws_client *c, const char *bucket, const char *key,
    struct errbuf *eb)
{
	struct aws_request	 req;
	struct aws_result	 res;
	int			 rv;

	aws_result_init(&res);
	s3_req_init(&req, "DeleteObject", "DELETE", bucket, key);
	rv = aws_request(c, &req, &res, eb);
	aws_result_release(&res);
	return rv;
}

int
s3_parse_list_page(xmlDoc *doc, struct s3_list *list, char **ret_next,
    struct errbuf *eb)
{
	struct s3_list_entry	*e;
	xmlNode			*root, *x;
	char			*trunc, *size;
	bool			 truncated;

	root = awsxml_root(doc);
	if (root == NULL || !awsxml_is(root, "ListBucketResult"))
		return errbuf_set(eb, EK_PROTO, "s3 ListObjectsV2: unexpected "
		    "reply: root element is '%s'",
		    root == NULL ? "(none)" : (const char *)root->name);
	for (x = awsxml_first(root, "Contents"); x != NULL;
	    x = awsxml_next(x, "Contents")) {
		if (list->n >= S3_LIST_MAX)
			return errbuf_set(eb, EK_PROTO, "s3 ListObjectsV2: "
			    "more than %d keys", S3_LIST_MAX);
		list->v = xreallocarray(list->v, list->n + 1,
		    sizeof(*list->v));
		e = &list->v[list->n];
		memset(e, 0, sizeof(*e));
		if ((e->key = awsxml_child_text(x, "Key")) == NULL)
			return errbuf_set(eb, EK_PROTO, "s3 ListObjectsV2: "
			    "an entry has no Key");
		list->n++;
		e->etag = awsxml_child_text(x, "ETag");
		e->last_modified = awsxml_child_text(x, "LastModified");
		size = awsxml_child_text(x, "Size");
		if (size == NULL || parse_u64(size, 0, UINT64_MAX,
		    &e->size) == -1) {
			free(size);
			return errbuf_set(eb, EK_PROTO, "s3 ListObjectsV2: "
			    "'%s' has no valid Size", e->key);
		}
		free(size);
	}
	trunc = awsxml_child_text(root, "IsTruncated");
	truncated = trunc != NULL && strcmp(trunc, "true") == 0;
	free(trunc);
	*ret_next = NULL;
	if (truncated) {
		*ret_next = awsxml_child_text(root, "NextContinuationToken");
		if (*ret_next == NULL || **ret_next == '\0') {
			free(*ret_next);
			*ret_next = NULL;
			return errbuf_set(eb, EK_PROTO, "s3 ListObjectsV2: "
			    "truncated page without NextContinuationToken");
		}
	}
	return 0;
}

int
s3_list_objects(struct aws_client *c, const char *bucket,
    const char *prefix, unsigned int page_size, struct s3_list *ret,
    struct errbuf *eb)
{
	struct s3_list		 list = { 0 };
	struct aws_request	 req;
	struct aws_result	 res;
	struct aws_param	 q[4];
	xmlDoc			*doc;
	char			*next = NULL, *token, num[16];
	size_t			 nq;
	int			 rv;

	aws_result_init(&res);
	if (page_size == 0 || page_size > S3_LIST_PAGE_MAX)
		page_size = S3_LIST_PAGE_MAX;
	snprintf(num, sizeof(num), "%u", page_size);
	do {
		nq = 0;
		q[nq].name = "list-type";
		q[nq++].value = "2";
		q[nq].name = "max-keys";
		q[nq++].value = num;
		if (prefix != NULL && *prefix != '\0') {
			q[nq].name = "prefix";
			q[nq++].value = prefix;
		}
		if (next != NULL) {
			q[nq].name = "continuation-token";
			q[nq++].value = next;
		}
		s3_req_init(&req, "ListObjectsV2", "GET", bucket, NULL);
		req.query = q;
		req.nquery = nq;
		doc = NULL;
		rv = aws_request(c, &req, &res, eb);
		if (rv == 0 && (doc = awsxml_parse(res.body.data, res.body.len,
		    eb)) == NULL)
			rv = -1;
		if (rv == 0) {
			token = NULL;
			rv = s3_parse_list_page(doc, &list, &token, eb);
			free(next);
			next = token;
		}
		awsxml_free(doc);
	} while (rv == 0 && next != NULL);
	free(next);
	aws_result_release(&res);
	if (rv == -1) {
		s3_list_release(&list);
		return -1;
	}
	*ret = list;
	return 0;
}
