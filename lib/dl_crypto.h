/* SPDX-License-Identifier: ISC */
/* dl_crypto.h: libcrypto (OpenSSL), loaded on first use (see dl.h). */
#ifndef HOOKD_DL_CRYPTO_H
#define HOOKD_DL_CRYPTO_H

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "dl.h"

#define DL_CRYPTO_SYMS(X)						\
	X(CRYPTO_memcmp)						\
	X(ERR_clear_error)						\
	X(ERR_error_string_n)						\
	X(ERR_get_error)						\
	X(EVP_Digest)							\
	X(EVP_DigestFinal_ex)						\
	X(EVP_DigestInit_ex)						\
	X(EVP_DigestUpdate)						\
	X(EVP_MD_CTX_free)						\
	X(EVP_MD_CTX_new)						\
	X(EVP_md5)							\
	X(EVP_sha256)							\
	X(HMAC)								\
	X(SHA256)

DL_CRYPTO_SYMS(DL_DECLARE)

#ifndef DL_NO_REDIRECT
#define DL_O(name)	DL_CALL(DL_CRYPTO, name)
#define CRYPTO_memcmp	DL_O(CRYPTO_memcmp)
#define ERR_clear_error	DL_O(ERR_clear_error)
#define ERR_error_string_n	DL_O(ERR_error_string_n)
#define ERR_get_error	DL_O(ERR_get_error)
#define EVP_Digest	DL_O(EVP_Digest)
#define EVP_DigestFinal_ex	DL_O(EVP_DigestFinal_ex)
#define EVP_DigestInit_ex	DL_O(EVP_DigestInit_ex)
#define EVP_DigestUpdate	DL_O(EVP_DigestUpdate)
#define EVP_MD_CTX_free	DL_O(EVP_MD_CTX_free)
#define EVP_MD_CTX_new	DL_O(EVP_MD_CTX_new)
#define EVP_md5	DL_O(EVP_md5)
#define EVP_sha256	DL_O(EVP_sha256)
#define HMAC	DL_O(HMAC)
#define SHA256	DL_O(SHA256)
#endif

#endif /* HOOKD_DL_CRYPTO_H */
