/* SPDX-License-Identifier: ISC */
/*
 * fuzz_creds.c: libFuzzer target for the AWS shared credentials and
 * config file parser (lib/aws/creds.c).  The input is split at its first
 * NUL: the part before is the credentials file, the part after the config
 * file (either may be empty).  Both are served from memfds through
 * AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE, and then looked up the
 * way hookd does: the key pair of profiles "default" and "prod", and the
 * region.  Any input must end in a value, "absent" or a clean EK_CONFIG
 * reject that names a line number and never quotes the file (a line may
 * hold a secret): never a crash, a leak, a hang or undefined behaviour.
 * Built by 'make fuzz'; seeds in tests/fixtures/fuzz/creds.
 */
#include "compat.h"

#include <sys/mman.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aws/creds.h"
#include "errbuf.h"

#include "banned.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int	credfd = -1, conffd = -1;

static int
memfd_path(const char *name, const char *var)
{
	char	 path[64];
	int	 fd;

	if ((fd = memfd_create(name, MFD_CLOEXEC)) == -1)
		abort();
	(void)snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (setenv(var, path, 1) == -1)
		abort();
	return fd;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	credfd = memfd_path("credentials", "AWS_SHARED_CREDENTIALS_FILE");
	conffd = memfd_path("config", "AWS_CONFIG_FILE");
	(void)unsetenv("AWS_PROFILE");
	return 0;
}

static void
put(int fd, const uint8_t *data, size_t size)
{
	if (ftruncate(fd, 0) == -1 ||
	    pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
}

/*
 * A reject is EK_CONFIG: a malformed line, cited by the file's path and
 * its line number, or a profile with half a key pair, cited by the
 * profile's name.  It never holds a byte of the file's values.
 */
static void
check_reject(const struct errbuf *eb)
{
	if (eb->kind != EK_CONFIG ||
	    (strncmp(eb->msg, "/proc/self/fd/", 14) != 0 &&
	    strncmp(eb->msg, "profile '", 9) != 0))
		abort();
	for (const char *p = eb->msg; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const profiles[] = { "default", "prod" };
	struct aws_creds	 c;
	struct errbuf		 eb = { 0 };
	const uint8_t		*nul;
	char			*v;
	int			 rc;

	if ((nul = memchr(data, '\0', size)) == NULL) {
		put(credfd, data, size);
		put(conffd, data, 0);
	} else {
		put(credfd, data, (size_t)(nul - data));
		put(conffd, nul + 1, size - (size_t)(nul - data) - 1);
	}
	for (size_t i = 0; i < nitems(profiles); i++) {
		aws_creds_init(&c);
		rc = aws_creds_from_files(profiles[i], &c, &eb);
		if (rc == 0 && (c.access_key == NULL || c.secret_key == NULL ||
		    c.source != AWS_CREDS_FILE))
			abort();
		if (rc == -1)
			check_reject(&eb);
		aws_creds_release(&c);
		v = NULL;
		rc = aws_profile_get(profiles[i], "region", &v, &eb);
		if (rc == 0 && v == NULL)
			abort();
		if (rc != 0 && v != NULL)
			abort();
		if (rc == -1)
			check_reject(&eb);
		free(v);
	}
	return 0;
}
