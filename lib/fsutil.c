/* SPDX-License-Identifier: ISC */
/*
 * fsutil.c: file-system helpers (see fsutil.h).
 */
#include "compat.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errbuf.h"
#include "fsutil.h"
#include "xalloc.h"

#include "banned.h"

#define FS_RMTREE_DEPTH_MAX	1024	/* directory levels removed */

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
fs_symlink_replace(const char *path, const char *target, const char *tmp,
    struct errbuf *eb)
{
	(void)unlink(tmp);
	if (symlink(target, tmp) == -1)
		return errbuf_errno(eb, EK_IO, "cannot create symlink '%s'",
		    tmp);
	if (rename(tmp, path) == -1) {
		errbuf_errno(eb, EK_IO, "cannot rename '%s' to '%s'", tmp,
		    path);
		(void)unlink(tmp);
		return -1;
	}
	return 0;
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
 *
 * One walk for a whole tree (fs_rmtree) and for the contents of an open
 * directory (fs_empty_dirfd): by file descriptor, so a symlink is removed
 * and never followed, and a directory swapped for a symlink mid-walk is
 * not entered.  Each directory's names are read before any is removed,
 * and its descriptor is the only one held per level.
 */

struct rm_walk {
	char	 path[PATH_MAX];	/* the directory being emptied */
	dev_t	 dev;			/* its file system: not left */
	int	 err;			/* errno of the first failure, or 0 */
	char	 failed[PATH_MAX];	/* what failed */
};

static void
rm_fail(struct rm_walk *w, const char *name, int err)
{
	if (w->err != 0)
		return;
	w->err = err;
	if (name == NULL)
		(void)strlcpy(w->failed, w->path, sizeof(w->failed));
	else
		(void)snprintf(w->failed, sizeof(w->failed), "%s/%s",
		    w->path, name);
}

/* The names in directory fd (new, NULL-terminated), or NULL (errno). */
static char **
read_names(int fd)
{
	struct dirent	*de;
	DIR		*d;
	char		**v = NULL;
	size_t		 n = 0;
	int		 dfd;

	if ((dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) == -1)
		return NULL;
	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return NULL;
	}
	rewinddir(d);	/* the dup shares the caller's offset */
	v = xreallocarray(NULL, 1, sizeof(*v));
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		v = xreallocarray(v, n + 2, sizeof(*v));
		v[n++] = xstrdup(de->d_name);
	}
	v[n] = NULL;
	closedir(d);
	return v;
}

/* Remove what directory fd (w->path) holds; failures go to w. */
static void
empty_at(struct rm_walk *w, int fd, int depth)
{
	struct stat	 st;
	char		**names;
	size_t		 plen = strlen(w->path);
	int		 cfd;

	if ((names = read_names(fd)) == NULL) {
		rm_fail(w, NULL, errno);
		return;
	}
	for (char **np = names; *np != NULL; np++) {
		if (unlinkat(fd, *np, 0) == 0 || errno == ENOENT)
			continue;
		if (errno != EISDIR && errno != EPERM) {
			rm_fail(w, *np, errno);
			continue;
		}
		if (fstatat(fd, *np, &st, AT_SYMLINK_NOFOLLOW) == -1) {
			rm_fail(w, *np, errno);
			continue;
		}
		if (!S_ISDIR(st.st_mode) || st.st_dev != w->dev ||
		    depth >= FS_RMTREE_DEPTH_MAX) {
			rm_fail(w, *np, !S_ISDIR(st.st_mode) ? EPERM :
			    st.st_dev != w->dev ? EXDEV : ELOOP);
			continue;
		}
		/* An archive may hold a directory nobody may enter. */
		cfd = openat(fd, *np, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (cfd == -1 && errno == EACCES &&
		    fchmodat(fd, *np, 0700, 0) == 0)
			cfd = openat(fd, *np, O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);
		if (cfd == -1) {
			rm_fail(w, *np, errno);
			continue;
		}
		(void)snprintf(w->path + plen, sizeof(w->path) - plen, "/%s",
		    *np);
		empty_at(w, cfd, depth + 1);
		w->path[plen] = '\0';
		close(cfd);
		if (unlinkat(fd, *np, AT_REMOVEDIR) == -1 && errno != ENOENT)
			rm_fail(w, *np, errno);
	}
	for (char **np = names; *np != NULL; np++)
		free(*np);
	free(names);
}

int
fs_empty_dirfd(int fd, const char *path, struct errbuf *eb)
{
	struct rm_walk	*w;
	struct stat	 st;
	int		 ret = 0;

	if (fstat(fd, &st) == -1)
		return errbuf_errno(eb, EK_IO, "cannot stat '%s'", path);
	w = xcalloc(1, sizeof(*w));
	(void)strlcpy(w->path, path, sizeof(w->path));
	w->dev = st.st_dev;
	empty_at(w, fd, 0);
	if (w->err != 0)
		ret = errbuf_errnum(eb, EK_IO, w->err, "cannot remove '%s'",
		    w->failed);
	free(w);
	return ret;
}

int
fs_rmtree(const char *path, struct errbuf *eb)
{
	struct stat	 sb;
	int		 fd, ret;

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
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 && errno == EACCES && chmod(path, 0700) == 0)
		fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
	if (fd == -1)
		return errbuf_errno(eb, EK_IO, "cannot remove '%s'", path);
	ret = fs_empty_dirfd(fd, path, eb);
	close(fd);
	if (ret == 0 && rmdir(path) == -1 && errno != ENOENT)
		ret = errbuf_errno(eb, EK_IO, "cannot remove '%s'", path);
	return ret;
}
