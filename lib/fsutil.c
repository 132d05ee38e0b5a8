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
#include <fcntl.h>
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
 * Atomic replacement
 */

int
fs_atomic_begin(struct fs_atomic *a, const char *path, const char *tmpl,
    mode_t mode, struct errbuf *eb)
{
	a->path = xstrdup(path);
	a->tmp = tmpl == NULL ? xasprintf("%s.tmp-XXXXXX", path) :
	    xstrdup(tmpl);
	if ((a->fd = mkostemp(a->tmp, O_CLOEXEC)) == -1) {
		errbuf_errno(eb, EK_IO, "cannot create '%s'", a->tmp);
		free(a->tmp);
		a->tmp = NULL;
		return -1;
	}
	if (fchmod(a->fd, mode) == -1)
		return errbuf_errno(eb, EK_IO, "cannot set the mode of '%s'",
		    a->tmp);
	return 0;
}

int
fs_atomic_commit(struct fs_atomic *a, bool durable, struct errbuf *eb)
{
	int	 fd = a->fd;

	if (fd != -1) {
		if (durable && fsync(fd) == -1)
			return errbuf_errno(eb, EK_IO, "cannot fsync '%s'",
			    a->tmp);
		a->fd = -1;
		if (close(fd) == -1)
			return errbuf_errno(eb, EK_IO, "cannot write '%s'",
			    a->tmp);
	}
	if (rename(a->tmp, a->path) == -1)
		return errbuf_errno(eb, EK_IO, "cannot rename '%s' to '%s'",
		    a->tmp, a->path);
	free(a->tmp);
	a->tmp = NULL;
	if (durable && fs_sync_parent(a->path, eb) == -1)
		return -1;
	return 0;
}

void
fs_atomic_abort(struct fs_atomic *a)
{
	if (a->fd != -1)
		(void)close(a->fd);
	if (a->tmp != NULL)
		(void)unlink(a->tmp);
	free(a->tmp);
	free(a->path);
	memset(a, 0, sizeof(*a));
	a->fd = -1;
}

int
fs_replace(const char *path, const void *data, size_t len, mode_t mode,
    bool durable, struct errbuf *eb)
{
	struct fs_atomic	 a;
	int			 ret = -1;

	if (fs_atomic_begin(&a, path, NULL, mode, eb) == -1)
		goto out;
	if (write_full(a.fd, data, len) == -1) {
		errbuf_errno(eb, EK_IO, "cannot write '%s'", a.tmp);
		goto out;
	}
	if (fs_atomic_commit(&a, durable, eb) == -1)
		goto out;
	ret = 0;
 out:
	fs_atomic_abort(&a);
	return ret;
}

int
fs_sync_parent(const char *path, struct errbuf *eb)
{
	char	*dir, *slash;
	int	 fd, ret = -1;

	dir = xstrdup(path);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		(void)strlcpy(dir, ".", strlen(dir) + 1);
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		errbuf_errno(eb, EK_IO, "cannot open '%s'", dir);
		goto out;
	}
	if (fsync(fd) == -1 && errno != EINVAL) {
		errbuf_errno(eb, EK_IO, "cannot fsync '%s'", dir);
		close(fd);
		goto out;
	}
	close(fd);
	ret = 0;
 out:
	free(dir);
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
