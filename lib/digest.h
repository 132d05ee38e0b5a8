/* SPDX-License-Identifier: ISC */
/*
 * digest.h: SHA-256, HMAC-SHA256 and MD5 through libcrypto (loaded on
 * first use, dl_crypto.h), in lowercase hex or raw, and a constant-time
 * comparison of MACs.  The one place that calls OpenSSL's digests: a
 * failure is EK_BUG with OpenSSL's reason.
 */
#ifndef HOOKD_DIGEST_H
#define HOOKD_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#include "compat.h"

struct errbuf;
struct evp_md_ctx_st;

#define DIGEST_SHA256_LEN	32	/* bytes of a SHA-256 */
#define DIGEST_SHA256_HEX	64	/* its hex digits (a NUL follows) */
#define DIGEST_MD5_LEN		16
#define DIGEST_MD5_HEX		32

/*
 * A SHA-256 fed in pieces.  digest_init() makes it ready for
 * digest_release() (safe on a zeroed struct too); digest_start() (re)starts
 * the hash, and loads libcrypto.
 */
struct digest {
	struct evp_md_ctx_st	*ctx;
};

void	digest_init(struct digest *);
void	digest_release(struct digest *);
int	digest_start(struct digest *, struct errbuf *) HOOKD_WUR;
int	digest_update(struct digest *, const void *data, size_t len,
	    struct errbuf *) HOOKD_WUR;
int	digest_final(struct digest *, unsigned char md[DIGEST_SHA256_LEN],
	    struct errbuf *) HOOKD_WUR;
int	digest_final_hex(struct digest *, char hex[DIGEST_SHA256_HEX + 1],
	    struct errbuf *) HOOKD_WUR;

/* SHA-256 of len bytes at data, raw or in hex. */
int	digest_sha256(const void *data, size_t len,
	    unsigned char md[DIGEST_SHA256_LEN], struct errbuf *) HOOKD_WUR;
int	digest_sha256_hex(const void *data, size_t len,
	    char hex[DIGEST_SHA256_HEX + 1], struct errbuf *) HOOKD_WUR;

/*
 * SHA-256 of the file at path, in hex (written only on success).  Streams
 * the file; blocks for as long as reading it takes.  EK_NOINPUT when it
 * does not exist, EK_IO naming it when it cannot be read.
 */
int	digest_sha256_file(const char *path, char hex[DIGEST_SHA256_HEX + 1],
	    struct errbuf *) HOOKD_WUR;

/* HMAC-SHA256 of data under key (klen > 0). */
int	digest_hmac_sha256(const void *key, size_t klen, const void *data,
	    size_t len, unsigned char mac[DIGEST_SHA256_LEN], struct errbuf *)
	    HOOKD_WUR;

/* MD5 of data in hex (SQS's MD5OfBody; not for security). */
int	digest_md5_hex(const void *data, size_t len,
	    char hex[DIGEST_MD5_HEX + 1], struct errbuf *) HOOKD_WUR;

/* Whether the len bytes at a and b are equal, in constant time. */
bool	digest_equal(const void *a, const void *b, size_t len);

/* The len bytes at md as 2 * len lowercase hex digits and a NUL. */
void	digest_hex(const unsigned char *md, size_t len, char *out);

#endif /* HOOKD_DIGEST_H */
