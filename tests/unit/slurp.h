/* SPDX-License-Identifier: ISC */
/*
 * slurp.h: read a whole file into a new NUL-terminated string, for the
 * unit tests that compare files (fixtures, expected output, what the code
 * under test wrote).  slurp() fails the test when the file cannot be
 * read; slurp_if_exists() returns NULL when it does not exist, for tests
 * where a missing file is an answer (optional expected values) or is
 * reported in the test's own words.  The length is the file's, so a file
 * holding NUL bytes (an archive) is read whole.  Included after
 * <cmocka.h>: static functions only.
 */
#ifndef HOOKD_SLURP_H
#define HOOKD_SLURP_H

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xalloc.h"

#define SLURP_MAX	(64 * 1024 * 1024)	/* largest file read, B */

/*
 * The file at path (new string, the caller frees) and its length in
 * *ret_len unless ret_len is NULL; NULL if the file does not exist and
 * missing_ok.  Any other failure fails the test.
 */
static char *
slurp_file(const char *path, size_t *ret_len, int missing_ok)
{
	struct stat	 st;
	char		*data;
	size_t		 len = 0, size;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (missing_ok && errno == ENOENT)
			return NULL;
		fail_msg("cannot open '%s': %s", path, strerror(errno));
	}
	if (fstat(fd, &st) == -1)
		fail_msg("cannot stat '%s': %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode) || st.st_size > SLURP_MAX)
		fail_msg("'%s': not a regular file of at most %d bytes", path,
		    SLURP_MAX);
	size = (size_t)st.st_size;
	data = xmalloc(size + 1);
	while (len < size) {
		if ((n = read(fd, data + len, size - len)) == -1) {
			if (errno == EINTR)
				continue;
			fail_msg("cannot read '%s': %s", path,
			    strerror(errno));
		}
		if (n == 0)
			fail_msg("'%s': shrank while read", path);
		len += (size_t)n;
	}
	close(fd);
	data[len] = '\0';
	if (ret_len != NULL)
		*ret_len = len;
	return data;
}

/*
 * The file at path (new string); its length in *ret_len unless NULL.
 * (Unused attribute: a test may need only one of the two.)
 */
__attribute__((__unused__)) static char *
slurp(const char *path, size_t *ret_len)
{
	return slurp_file(path, ret_len, 0);
}

/* As slurp(), but NULL if the file does not exist. */
__attribute__((__unused__)) static char *
slurp_if_exists(const char *path, size_t *ret_len)
{
	return slurp_file(path, ret_len, 1);
}

#endif /* HOOKD_SLURP_H */
