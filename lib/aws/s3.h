/* SPDX-License-Identifier: ISC */
/*
 * s3.h: the Amazon S3 REST calls hookd's store needs: objects streamed
 * to and from files (SHA-256 checked on the way down; multipart upload
 * above a threshold on the way up), small objects in memory, listing with
 * ListObjectsV2 pagination, deletes, and conditional writes (If-None-Match
 * / If-Match) so concurrent writers of one key cannot lose an update.
 * Addressing (path-style for IP/localhost endpoints) is decided by
 * client.c / aws_s3_path_style().
 *
 * Kinds: a missing object or bucket is EK_NOINPUT; a digest mismatch is
 * EK_DATA; the rest are aws_request()'s.  A failed precondition is not an
 * error but its own result, S3_PRECONDITION_FAILED.
 */
#ifndef HOOKD_AWS_S3_H
#define HOOKD_AWS_S3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libxml/tree.h>

#include "compat.h"

struct aws_client;
struct aws_request;
struct buf;
struct errbuf;

#define S3_MULTIPART_THRESHOLD	(64ULL * 1024 * 1024)	/* bytes: default */
#define S3_PART_SIZE		(16ULL * 1024 * 1024)	/* bytes: default */
#define S3_PART_SIZE_MIN	(5ULL * 1024 * 1024)	/* bytes: S3's least */
#define S3_PARTS_MAX		10000			/* S3's maximum */
#define S3_LIST_PAGE_MAX	1000			/* keys per page */
#define S3_LIST_MAX		100000			/* keys gathered */
#define S3_PUT_TIMEOUT_MS	(15 * 60 * 1000)	/* one PUT or part */

/* Returned by the conditional writes when S3 answers 412. */
#define S3_PRECONDITION_FAILED	1

/* HeadObject / GetObject metadata; strings owned. */
struct s3_object_info {
	uint64_t	 size;
	char		*etag;		/* as sent, with its quotes */
	char		*last_modified;	/* HTTP date, or NULL */
};

void	 s3_object_info_release(struct s3_object_info *);

/* How to write an object. */
enum s3_put_cond {
	S3_PUT_ALWAYS = 0,
	S3_PUT_IF_NONE_MATCH,	/* If-None-Match: *  (create only) */
	S3_PUT_IF_MATCH,	/* If-Match: ETAG    (replace that version) */
};

struct s3_put_opts {
	enum s3_put_cond	 cond;
	const char		*etag;		/* for S3_PUT_IF_MATCH */
	const char		*content_type;	/* NULL: none sent */
	uint64_t		 multipart_threshold; /* bytes; 0: default */
	uint64_t		 part_size;	/* 0: S3_PART_SIZE; raised to
						   fit S3_PARTS_MAX */
};

/*
 * Split "s3://BUCKET/KEY" into new strings (key may be "" for
 * "s3://BUCKET" or "s3://BUCKET/").  Returns 0, or -1 with eb set
 * (EK_USAGE).
 */
int	 s3_parse_url(const char *url, char **ret_bucket, char **ret_key,
	    struct errbuf *) HOOKD_WUR;

/*
 * HeadObject.  Fills *ret (caller releases) on success; EK_NOINPUT when
 * the object does not exist.  Blocks for one request.
 */
int	 s3_head(struct aws_client *, const char *bucket, const char *key,
	    struct s3_object_info *ret, struct errbuf *) HOOKD_WUR;

/*
 * GetObject into the file path (created or truncated, mode 0644),
 * computing SHA-256 on the way.  When sha256_hex is not NULL it must
 * match: on a mismatch the file is removed and the result is EK_DATA
 * "s3://B/K: SHA-256 mismatch: expected X, got Y".  On any failure the
 * partial file is removed.  An object over 'max' bytes (0: no cap) is
 * refused with EK_DATA "s3://B/K: larger than MAX bytes", from its
 * Content-Length before any byte is written (no HEAD first).  *ret_size
 * (may be NULL) gets the bytes written.  The file is not fsync'ed.
 * Blocks for the transfer.
 */
int	 s3_get_file(struct aws_client *, const char *bucket, const char *key,
	    const char *path, const char *sha256_hex, uint64_t max,
	    uint64_t *ret_size, struct errbuf *) HOOKD_WUR;

/*
 * GetObject into memory, at most max bytes (EK_PROTO beyond).  On
 * success *ret (initialised by the caller) holds the body and *ret_etag
 * (may be NULL) a new string with the ETag.
 */
int	 s3_get_buf(struct aws_client *, const char *bucket, const char *key,
	    size_t max, struct buf *ret, char **ret_etag, struct errbuf *)
	    HOOKD_WUR;

/*
 * Fill *req (zeroed first) with the GetObject of s3_get_buf(): a reply
 * of at most max bytes in memory.  bucket and key are borrowed.  For a
 * request pool (pool.h), whose caller maps a 404 to EK_NOINPUT and
 * takes the ETag from the reply's header.
 */
void	 s3_get_request(struct aws_request *req, const char *bucket,
	    const char *key, size_t max);

/*
 * PutObject from the file path, signed with the payload's SHA-256.  Files
 * above opts->multipart_threshold go up with CreateMultipartUpload,
 * UploadPart and CompleteMultipartUpload, and the upload is aborted on
 * any failure.  opts may be NULL.  Returns 0 (and a new ETag string in
 * *ret_etag, which may be NULL), S3_PRECONDITION_FAILED when opts->cond
 * did not hold (eb says so, kind EK_TEMP), or -1 with eb set.
 */
int	 s3_put_file(struct aws_client *, const char *bucket, const char *key,
	    const char *path, const struct s3_put_opts *, char **ret_etag,
	    struct errbuf *) HOOKD_WUR;

/* PutObject from memory; returns like s3_put_file() (no multipart). */
int	 s3_put_buf(struct aws_client *, const char *bucket, const char *key,
	    const void *data, size_t len, const struct s3_put_opts *,
	    char **ret_etag, struct errbuf *) HOOKD_WUR;

/* DeleteObject (deleting a missing key succeeds, as in S3). */
int	 s3_delete(struct aws_client *, const char *bucket, const char *key,
	    struct errbuf *) HOOKD_WUR;

/* One listed object; strings owned. */
struct s3_list_entry {
	char		*key;
	uint64_t	 size;
	char		*etag;
	char		*last_modified;	/* ISO 8601 */
};

struct s3_list {
	struct s3_list_entry	*v;
	size_t			 n;
};

void	 s3_list_release(struct s3_list *);

/*
 * ListObjectsV2 under prefix (NULL: all), page_size keys per page (0:
 * S3_LIST_PAGE_MAX), following NextContinuationToken to the end, at most
 * S3_LIST_MAX keys (EK_PROTO beyond).  Fills *ret (caller releases) on
 * success, keys in S3's (lexicographic) order.
 */
int	 s3_list_objects(struct aws_client *, const char *bucket,
	    const char *prefix, unsigned int page_size, struct s3_list *ret,
	    struct errbuf *) HOOKD_WUR;

/*
 * Parse one ListObjectsV2 page (exposed for tests): appends to *list,
 * *ret_next gets the continuation token (new string) when the page is
 * truncated, else NULL.  Returns 0, or -1 with eb set (EK_PROTO).
 */
int	 s3_parse_list_page(xmlDoc *, struct s3_list *list, char **ret_next,
	    struct errbuf *) HOOKD_WUR;

/*
 * Parse an InitiateMultipartUploadResult (exposed for tests): the
 * UploadId as a new string.  A CompleteMultipartUpload reply can be an
 * <Error> document with status 200; s3_check_complete() returns -1 with
 * eb set (EK_TEMP for InternalError/SlowDown, else EK_PROTO) for that.
 */
int	 s3_parse_upload_id(xmlDoc *, char **ret_id, struct errbuf *)
	    HOOKD_WUR;
int	 s3_check_complete(xmlDoc *, struct errbuf *) HOOKD_WUR;

#endif /* HOOKD_AWS_S3_H */
