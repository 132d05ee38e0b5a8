/* SPDX-License-Identifier: ISC */
/*
 * digest.c: SHA-256, HMAC-SHA256 and MD5 (see digest.h).  Every failure
 * drains OpenSSL's error queue into the message, so it says why.
 */
#include "compat.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "caps.h"
#include "digest.h"
#include "errbuf.h"
#include "xalloc.h"
#include "dl_crypto.h"

#include "banned.h"

/* Set eb to "what: OpenSSL's reason" and empty OpenSSL's error queue. */
static int
crypto_error(struct errbuf *eb, const char *what)
{
	char		 why[256];
	unsigned long	 e;

	e = ERR_get_error();
	if (e != 0)
		ERR_error_string_n(e, why, sizeof(why));
	else
		strlcpy(why, "no reason given by OpenSSL", sizeof(why));
	ERR_clear_error();
	return errbuf_set(eb, EK_BUG, "%s: %s", what, why);
}

void
digest_hex(const unsigned char *md, size_t len, char *out)
{
	static const char	 hexd[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hexd[md[i] >> 4];
		out[2 * i + 1] = hexd[md[i] & 0xf];
	}
	out[2 * len] = '\0';
}

bool
digest_equal(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

void
digest_init(struct digest *d)
{
	d->ctx = NULL;
}

void
digest_release(struct digest *d)
{
	if (d->ctx != NULL)
		EVP_MD_CTX_free(d->ctx);
	d->ctx = NULL;
}

int
digest_start(struct digest *d, struct errbuf *eb)
{
	if (d->ctx == NULL && (d->ctx = EVP_MD_CTX_new()) == NULL)
		return crypto_error(eb, "cannot start SHA-256");
	if (EVP_DigestInit_ex(d->ctx, EVP_sha256(), NULL) != 1)
		return crypto_error(eb, "cannot start SHA-256");
	return 0;
}

int
digest_update(struct digest *d, const void *data, size_t len,
    struct errbuf *eb)
{
	if (EVP_DigestUpdate(d->ctx, data, len) != 1)
		return crypto_error(eb, "cannot add to a SHA-256");
	return 0;
}

int
digest_final(struct digest *d, unsigned char md[DIGEST_SHA256_LEN],
    struct errbuf *eb)
{
	unsigned char	 buf[EVP_MAX_MD_SIZE];
	unsigned int	 len = 0;

	if (EVP_DigestFinal_ex(d->ctx, buf, &len) != 1)
		return crypto_error(eb, "cannot finish a SHA-256");
	if (len != DIGEST_SHA256_LEN)
		return errbuf_set(eb, EK_BUG, "cannot finish a SHA-256: "
		    "%u bytes, not %d", len, DIGEST_SHA256_LEN);
	memcpy(md, buf, DIGEST_SHA256_LEN);
	return 0;
}

int
digest_final_hex(struct digest *d, char hex[DIGEST_SHA256_HEX + 1],
    struct errbuf *eb)
{
	unsigned char	 md[DIGEST_SHA256_LEN];

	if (digest_final(d, md, eb) == -1)
		return -1;
	digest_hex(md, sizeof(md), hex);
	return 0;
}

/*
 * The digest by md of data in out, which takes want bytes; what names it
 * in errors ("a SHA-256").
 */
static int
digest_once(const EVP_MD *md, const char *what, const void *data,
    size_t len, unsigned char *out, unsigned int want, struct errbuf *eb)
{
	unsigned char	 buf[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0;
	char		 msg[64];

	(void)snprintf(msg, sizeof(msg), "cannot compute %s", what);
	if (EVP_Digest(data, len, buf, &mdlen, md, NULL) != 1)
		return crypto_error(eb, msg);
	if (mdlen != want)
		return errbuf_set(eb, EK_BUG, "%s: %u bytes, not %u", msg,
		    mdlen, want);
	memcpy(out, buf, want);
	return 0;
}

int
digest_sha256(const void *data, size_t len,
    unsigned char md[DIGEST_SHA256_LEN], struct errbuf *eb)
{
	return digest_once(EVP_sha256(), "a SHA-256", data, len, md,
	    DIGEST_SHA256_LEN, eb);
}

int
digest_sha256_hex(const void *data, size_t len,
    char hex[DIGEST_SHA256_HEX + 1], struct errbuf *eb)
{
	unsigned char	 md[DIGEST_SHA256_LEN];

	if (digest_sha256(data, len, md, eb) == -1)
		return -1;
	digest_hex(md, sizeof(md), hex);
	return 0;
}

int
digest_sha256_file(const char *path, char hex[DIGEST_SHA256_HEX + 1],
    struct errbuf *eb)
{
	struct digest	 d;
	char		*buf = NULL;
	ssize_t		 r;
	int		 fd, ret = -1;

	digest_init(&d);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		errbuf_errno(eb, errno == ENOENT ? EK_NOINPUT : EK_IO,
		    "cannot open '%s'", path);
		goto out;
	}
	if (digest_start(&d, eb) == -1) {
		errbuf_prefix(eb, "'%s': ", path);
		goto out;
	}
	buf = xmalloc(BUNDLE_READ_BLOCK);
	for (;;) {
		r = read(fd, buf, BUNDLE_READ_BLOCK);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			errbuf_errno(eb, EK_IO, "cannot read '%s'", path);
			goto out;
		}
		if (r == 0)
			break;
		if (digest_update(&d, buf, (size_t)r, eb) == -1) {
			errbuf_prefix(eb, "'%s': ", path);
			goto out;
		}
	}
	if (digest_final_hex(&d, hex, eb) == -1) {
		errbuf_prefix(eb, "'%s': ", path);
		goto out;
	}
	ret = 0;
 out:
	free(buf);
	digest_release(&d);
	if (fd != -1)
		close(fd);
	return ret;
}

int
digest_hmac_sha256(const void *key, size_t klen, const void *data,
    size_t len, unsigned char mac[DIGEST_SHA256_LEN], struct errbuf *eb)
{
	unsigned char	 buf[EVP_MAX_MD_SIZE];
	unsigned int	 maclen = 0;

	if (key == NULL || klen == 0 || klen > INT_MAX)
		return errbuf_set(eb, EK_BUG, "cannot compute an HMAC-SHA256: "
		    "a key of %zu bytes", klen);
	if (HMAC(EVP_sha256(), key, (int)klen, data, len, buf, &maclen) ==
	    NULL)
		return crypto_error(eb, "cannot compute an HMAC-SHA256");
	if (maclen != DIGEST_SHA256_LEN)
		return errbuf_set(eb, EK_BUG, "cannot compute an HMAC-SHA256: "
		    "%u bytes, not %d", maclen, DIGEST_SHA256_LEN);
	memcpy(mac, buf, DIGEST_SHA256_LEN);
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

int
digest_md5_hex(const void *data, size_t len, char hex[DIGEST_MD5_HEX + 1],
    struct errbuf *eb)
{
	unsigned char	 md[DIGEST_MD5_LEN];

	if (digest_once(EVP_md5(), "an MD5", data, len, md, DIGEST_MD5_LEN,
	    eb) == -1)
		return -1;
	digest_hex(md, DIGEST_MD5_LEN, hex);
	return 0;
}
