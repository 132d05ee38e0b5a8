/* SPDX-License-Identifier: ISC */
/*
 * fsutil.c: file-system helpers (see fsutil.h).
 */
#include "compat.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>

#include "errbuf.h"
#include "fsutil.h"
#include "xalloc.h"

#include "banned.h"

int
fs_mkdirs(const char *path, mode_t mode, struct errbuf *eb)
{
	char	*p, *s, c;
	int	 ret = -1;

	p = xstrdup(path);
	for (s = p + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		/* Skip the empty component of "a//b" and a trailing '/'. */
		if (s[-1] != '/') {
			c = *s;
			*s = '\0';
			if (mkdir(p, mode) == -1 && errno != EEXIST) {
				errbuf_errno(eb, EK_IO,
				    "cannot create directory '%s'", p);
				goto out;
			}
			*s = c;
		}
		if (*s == '\0')
			break;
	}
	ret = 0;
 out:
	free(p);
	return ret;
}
