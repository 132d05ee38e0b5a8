/* SPDX-License-Identifier: ISC */
/*
 * test_digest.c: lib/digest.c against published test vectors (FIPS 180
 * for SHA-256, RFC 4231 for HMAC-SHA256, RFC 1321 for MD5): one shot, in
 * pieces, restarted, and of a file.
 */
#include "compat.h"

#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "digest.h"
#include "errbuf.h"

#define SHA_ABC	"ba7816bf8f01cfea414140de5dae2223" \
		"b00361a396177a9cb410ff61f20015ad"
#define SHA_EMPTY "e3b0c44298fc1c149afbf4c8996fb924" \
		"27ae41e4649b934ca495991b7852b855"

static void
sha256_one_shot_and_in_pieces_agree(void **state)
{
	struct errbuf	 eb = { 0 };
	struct digest	 d;
	unsigned char	 md[DIGEST_SHA256_LEN];
	char		 hex[DIGEST_SHA256_HEX + 1];

	assert_int_equal(digest_sha256_hex("abc", 3, hex, &eb), 0);
	assert_string_equal(hex, SHA_ABC);
	assert_int_equal(digest_sha256_hex("", 0, hex, &eb), 0);
	assert_string_equal(hex, SHA_EMPTY);
	assert_int_equal(digest_sha256("abc", 3, md, &eb), 0);
	digest_hex(md, sizeof(md), hex);
	assert_string_equal(hex, SHA_ABC);

	digest_init(&d);
	assert_int_equal(digest_start(&d, &eb), 0);
	assert_int_equal(digest_update(&d, "a", 1, &eb), 0);
	assert_int_equal(digest_update(&d, "bc", 2, &eb), 0);
	assert_int_equal(digest_final_hex(&d, hex, &eb), 0);
	assert_string_equal(hex, SHA_ABC);
	/* Restarted (a retried download): only what follows counts. */
	assert_int_equal(digest_start(&d, &eb), 0);
	assert_int_equal(digest_update(&d, "junk", 4, &eb), 0);
	assert_int_equal(digest_start(&d, &eb), 0);
	assert_int_equal(digest_final(&d, md, &eb), 0);
	digest_hex(md, sizeof(md), hex);
	assert_string_equal(hex, SHA_EMPTY);
	digest_release(&d);
	digest_release(&d);	/* twice is fine */
}

/* Write len bytes of data to a new file at path. */
static void
spew(const char *path, const char *data, size_t len)
{
	int	 fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_int_not_equal(fd, -1);
	assert_int_equal(write_full(fd, data, len), 0);
	assert_int_equal(close(fd), 0);
}

static void
sha256_of_a_known_file(void **state)
{
	struct errbuf	 eb = { 0 };
	char		 dir[PATH_MAX], path[PATH_MAX + 16];
	char		 hex[DIGEST_SHA256_HEX + 1];

	(void)strlcpy(dir, "/tmp/test_digest.XXXXXX", sizeof(dir));
	assert_non_null(mkdtemp(dir));
	(void)snprintf(path, sizeof(path), "%s/bundle", dir);
	spew(path, "abc", 3);
	assert_int_equal(digest_sha256_file(path, hex, &eb), 0);
	assert_string_equal(hex, SHA_ABC);
	spew(path, "", 0);
	assert_int_equal(digest_sha256_file(path, hex, &eb), 0);
	assert_string_equal(hex, SHA_EMPTY);
	assert_int_equal(unlink(path), 0);

	/* Missing: EK_NOINPUT naming it, and hex untouched. */
	(void)strlcpy(hex, "untouched", sizeof(hex));
	assert_int_equal(digest_sha256_file(path, hex, &eb), -1);
	assert_int_equal(eb.kind, EK_NOINPUT);
	assert_non_null(strstr(eb.msg, "/bundle'"));
	assert_string_equal(hex, "untouched");

	/* A directory cannot be read: EK_IO naming it. */
	assert_int_equal(digest_sha256_file(dir, hex, &eb), -1);
	assert_int_equal(eb.kind, EK_IO);
	assert_non_null(strstr(eb.msg, dir));
	assert_int_equal(rmdir(dir), 0);
}

static void
hmac_sha256_matches_rfc4231(void **state)
{
	static const char want[] = "5bdcc146bf60754e6a042426089575c7"
	    "5a003f089d2739839dec58b964ec3843";
	struct errbuf	 eb = { 0 };
	unsigned char	 mac[DIGEST_SHA256_LEN], again[DIGEST_SHA256_LEN];
	char		 hex[DIGEST_SHA256_HEX + 1];

	/* RFC 4231, test case 2. */
	assert_int_equal(digest_hmac_sha256("Jefe", 4,
	    "what do ya want for nothing?", 28, mac, &eb), 0);
	digest_hex(mac, sizeof(mac), hex);
	assert_string_equal(hex, want);
	assert_int_equal(digest_hmac_sha256("Jefe", 4,
	    "what do ya want for nothing?", 28, again, &eb), 0);
	assert_true(digest_equal(mac, again, sizeof(mac)));
	again[31] ^= 1;
	assert_false(digest_equal(mac, again, sizeof(mac)));

	/* No key: refused, saying why. */
	assert_int_equal(digest_hmac_sha256("", 0, "x", 1, mac, &eb), -1);
	assert_int_equal(eb.kind, EK_BUG);
	assert_non_null(strstr(eb.msg, "HMAC-SHA256"));
	assert_non_null(strstr(eb.msg, "0 bytes"));
}

static void
md5_matches_rfc1321(void **state)
{
	struct errbuf	 eb = { 0 };
	char		 hex[DIGEST_MD5_HEX + 1];

	assert_int_equal(digest_md5_hex("abc", 3, hex, &eb), 0);
	assert_string_equal(hex, "900150983cd24fb0d6963f7d28e17f72");
	assert_int_equal(digest_md5_hex("", 0, hex, &eb), 0);
	assert_string_equal(hex, "d41d8cd98f00b204e9800998ecf8427e");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sha256_one_shot_and_in_pieces_agree),
		cmocka_unit_test(sha256_of_a_known_file),
		cmocka_unit_test(hmac_sha256_matches_rfc4231),
		cmocka_unit_test(md5_matches_rfc1321),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
