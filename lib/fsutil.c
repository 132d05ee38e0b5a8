/* SPDX-License-Identifier: ISC */
/*
 * fsutil.c: file-system helpers (see fsutil.h).
 *
 * nftw(3) walks trees; its callback has no argument, so fs_rmtree() keeps
 * its context in a file-static variable (hookd is single-threaded).
 */
#include "compat.h"

#include <sys/stat.h>

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errbuf.h"
#include "fsutil.h"
#include "xalloc.h"

#include "banned.h"

#define WALK_FDS	32	/* nftw open directory budget */

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

/*
 * Removal
 */

static struct {
	int		 err;
	char		 path[PATH_MAX];
} rm_ctx;

static int
rmtree_cb(const char *fpath, const struct stat *sb, int flag,
    struct FTW *ftw)
{
	if (remove(fpath) == -1 && errno != ENOENT && rm_ctx.err == 0) {
		rm_ctx.err = errno;
		(void)strlcpy(rm_ctx.path, fpath, sizeof(rm_ctx.path));
	}
	return 0;
}

int
fs_rmtree(const char *path, struct errbuf *eb)
{
	struct stat	 sb;

	if (lstat(path, &sb) == -1) {
		if (errno == ENOENT)
			return 0;
		return errbuf_errno(eb, EK_IO, "cannot stat '%s'", path);
	}
	if (!S_ISDIR(sb.st_mode)) {
		if (unlink(path) == -1 && errno != ENOENT)
			return errbuf_errno(eb, EK_IO, "cannot remove '%s'",
			    path);
		return 0;
	}
	rm_ctx.err = 0;
	rm_ctx.path[0] = '\0';
	if (nftw(path, rmtree_cb, WALK_FDS, FTW_DEPTH | FTW_PHYS |
	    FTW_MOUNT) == -1 && rm_ctx.err == 0) {
		rm_ctx.err = errno;
		(void)strlcpy(rm_ctx.path, path, sizeof(rm_ctx.path));
	}
	if (rm_ctx.err != 0)
		return errbuf_errnum(eb, EK_IO, rm_ctx.err,
		    "cannot remove '%s'", rm_ctx.path);
	return 0;
}
