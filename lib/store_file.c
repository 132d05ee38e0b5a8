/* SPDX-License-Identifier: ISC */
/*
 * store_file.c: the file:// store backend, a directory tree whose paths
 * are the keys.  Writes go to a temporary file beside the target, are
 * fsync'ed and renamed into place (then the directory is fsync'ed), so a
 * reader sees the old or the new object, never a torn one; a volatile
 * put skips both fsyncs (store.h), a download (get_file) its one.  A write or
 * delete of a key holds an flock(2) on ".NAME.lock" in the key's
 * directory; that makes the conditional write (store_put_if) an atomic
 * compare-and-swap between processes on this host.  The ETag is the
 * SHA-256 of the content in hex.  Temporary and lock files start with '.',
 * which no key segment may, so they never show up as keys.
 *
 * Trust: the store directory itself is trusted (root-owned); keys are
 * checked by store.c, and the last path component is never followed if it
 * is a symlink.
 */
#include "compat.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "caps.h"
#include "digest.h"
#include "errbuf.h"
#include "fsutil.h"
#include "store.h"
#include "xalloc.h"

#include "banned.h"

#define SF_DIR_MODE	0750
#define SF_FILE_MODE	0640
#define SF_IOBUF	(64 * 1024)
#define SF_DEPTH_MAX	64	/* directory levels walked by list */

struct store_file {
	char	*root;		/* absolute, no trailing '/' */
	int	 rootfd;
};

static struct store_file *
sf(struct store *s)
{
	return s->priv;
}

/* Create the directories above 'key' (relative to rootfd). */
static int
mkparents(struct store_file *f, const char *key, struct errbuf *eb)
{
	char	 path[STORE_KEY_MAX + 1];

	(void)strlcpy(path, key, sizeof(path));
	for (char *p = strchr(path, '/'); p != NULL; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdirat(f->rootfd, path, SF_DIR_MODE) == -1 &&
		    errno != EEXIST)
			return errbuf_errno(eb, EK_IO, "cannot create '%s/%s'",
			    f->root, path);
		*p = '/';
	}
	return 0;
}

/* "dir/.base.SUFFIX" for key "dir/base" (or ".base.SUFFIX"). */
static char *
sidecar(const char *key, const char *suffix)
{
	const char	*slash = strrchr(key, '/');

	if (slash == NULL)
		return xasprintf(".%s.%s", key, suffix);
	return xasprintf("%.*s/.%s.%s", (int)(slash - key), key, slash + 1,
	    suffix);
}

/* Take the key's write lock; returns the lock fd or -1. */
static int
lock_key(struct store_file *f, const char *key, struct errbuf *eb)
{
	char	*lp = sidecar(key, "lock");
	int	 fd;

	fd = openat(f->rootfd, lp, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd == -1) {
		errbuf_errno(eb, EK_IO, "cannot open '%s/%s'", f->root, lp);
		free(lp);
		return -1;
	}
	while (flock(fd, LOCK_EX) == -1) {
		if (errno == EINTR)
			continue;
		errbuf_errno(eb, EK_IO, "cannot lock '%s/%s'", f->root, lp);
		close(fd);
		free(lp);
		return -1;
	}
	free(lp);
	return fd;
}

/*
 * Open an existing object for reading.  Returns the fd, or -1 with
 * EK_NOINPUT when it does not exist.
 */
static int
open_obj(struct store_file *f, const char *key, struct stat *ret_st,
    struct errbuf *eb)
{
	int	 fd;

	fd = openat(f->rootfd, key, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK);
	if (fd == -1) {
		if (errno == ENOENT || errno == ENOTDIR)
			errbuf_set(eb, EK_NOINPUT, "'%s/%s': no such object",
			    f->root, key);
		else
			errbuf_errno(eb, errno == EACCES ? EK_PERM : EK_IO,
			    "cannot open '%s/%s'", f->root, key);
		return -1;
	}
	if (fstat(fd, ret_st) == -1) {
		errbuf_errno(eb, EK_IO, "cannot stat '%s/%s'", f->root, key);
		close(fd);
		return -1;
	}
	if (!S_ISREG(ret_st->st_mode)) {
		errbuf_set(eb, EK_DATA, "'%s/%s': not a regular file", f->root,
		    key);
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Copy fd 'in' (at most 'max' bytes) to 'out' (fd) and/or 'mem' (a
 * buffer of at least max bytes); the SHA-256 goes to ret_etag when not
 * NULL.  Returns the byte count in *ret_len.
 */
static int
copy_stream(int in, int out, char *mem, uint64_t max, size_t *ret_len,
    char *ret_etag, const char *what, struct errbuf *eb)
{
	struct digest	 d;
	char		*iob = NULL;
	uint64_t	 total = 0;
	ssize_t		 n;
	int		 ret = -1;

	digest_init(&d);
	/* No hash unless asked: reading loads no libcrypto. */
	if (ret_etag != NULL && digest_start(&d, eb) == -1) {
		errbuf_prefix(eb, "cannot hash '%s': ", what);
		goto out;
	}
	iob = xmalloc(SF_IOBUF);
	for (;;) {
		n = read(in, iob, SF_IOBUF);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			errbuf_errno(eb, EK_IO, "cannot read '%s'", what);
			goto out;
		}
		if (n == 0)
			break;
		if ((uint64_t)n > max - total) {
			errbuf_set(eb, EK_DATA, "'%s': larger than %llu bytes",
			    what, (unsigned long long)max);
			goto out;
		}
		if (mem != NULL)
			memcpy(mem + total, iob, (size_t)n);
		if (out != -1 && write_full(out, iob, (size_t)n) == -1) {
			errbuf_errno(eb, EK_IO, "cannot write '%s'", what);
			goto out;
		}
		if (ret_etag != NULL &&
		    digest_update(&d, iob, (size_t)n, eb) == -1) {
			errbuf_prefix(eb, "cannot hash '%s': ", what);
			goto out;
		}
		total += (uint64_t)n;
	}
	if (ret_etag != NULL && digest_final_hex(&d, ret_etag, eb) == -1) {
		errbuf_prefix(eb, "cannot hash '%s': ", what);
		goto out;
	}
	if (ret_len != NULL)
		*ret_len = (size_t)total;
	ret = 0;
 out:
	free(iob);
	digest_release(&d);
	return ret;
}

static int
sf_get(struct store *s, const char *key, size_t max, char **ret_data,
    size_t *ret_len, char ret_etag[STORE_ETAG_MAX], struct errbuf *eb)
{
	struct store_file	*f = sf(s);
	struct stat		 st;
	char			*data = NULL, etag[STORE_ETAG_MAX] = "";
	size_t			 len;
	int			 fd, ret = -1;

	if ((fd = open_obj(f, key, &st, eb)) == -1)
		return -1;
	if ((uint64_t)st.st_size > max) {
		errbuf_set(eb, EK_DATA, "'%s/%s': %lld bytes, larger than %zu",
		    f->root, key, (long long)st.st_size, max);
		goto out;
	}
	data = xmalloc(max + 1);
	if (copy_stream(fd, -1, data, max, &len, ret_etag != NULL ? etag :
	    NULL, key, eb) == -1)
		goto out;
	data[len] = '\0';
	*ret_data = data;
	data = NULL;
	if (ret_len != NULL)
		*ret_len = len;
	if (ret_etag != NULL)
		(void)strlcpy(ret_etag, etag, STORE_ETAG_MAX);
	ret = 0;
 out:
	free(data);
	close(fd);
	return ret;
}

static int
sf_get_file(struct store *s, const char *key, const char *path,
    const char *sha256_hex, uint64_t max, uint64_t *ret_size,
    struct errbuf *eb)
{
	struct store_file	*f = sf(s);
	struct stat		 st;
	char			 got[STORE_ETAG_MAX];
	size_t			 len = 0;
	int			 in, out = -1, ret = -1;

	if ((in = open_obj(f, key, &st, eb)) == -1)
		return -1;
	out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (out == -1) {
		errbuf_errno(eb, EK_IO, "cannot create '%s'", path);
		goto out;
	}
	if (copy_stream(in, out, NULL, max, &len, got, key, eb) == -1)
		goto out;
	if (sha256_hex != NULL && strcmp(got, sha256_hex) != 0) {
		errbuf_set(eb, EK_DATA, "%s/%s: SHA-256 mismatch: expected %s, "
		    "got %s", s->url, key, sha256_hex, got);
		goto out;
	}
	if (ret_size != NULL)
		*ret_size = len;
	ret = 0;
 out:
	if (out != -1 && close(out) == -1 && ret == 0)
		ret = errbuf_errno(eb, EK_IO, "cannot write '%s'", path);
	if (ret == -1 && out != -1)
		(void)unlink(path);
	close(in);
	return ret;
}

/* SHA-256 of the current object into etag; 0, or 1 when it is absent. */
static int
current_etag(struct store_file *f, const char *key, char etag[STORE_ETAG_MAX],
    struct errbuf *eb)
{
	struct stat	 st;
	int		 fd, ret;

	if ((fd = open_obj(f, key, &st, eb)) == -1)
		return eb->kind == EK_NOINPUT ? 1 : -1;
	ret = copy_stream(fd, -1, NULL, UINT64_MAX, NULL, etag, key, eb);
	close(fd);
	return ret;
}

/*
 * Replace key atomically (fs_atomic_*) from data, or from fd 'src' when
 * data is NULL, through a temporary sidecar beside it; no fsync unless
 * 'durable'.  The caller holds the key's lock.
 */
static int
replace(struct store_file *f, const char *key, const void *data, size_t len,
    int src, bool durable, char *ret_etag, struct errbuf *eb)
{
	struct fs_atomic	 a;
	char			*rel, *path, *tmpl;
	int			 ret = -1;

	rel = sidecar(key, "tmp.XXXXXX");
	tmpl = xasprintf("%s/%s", f->root, rel);
	path = xasprintf("%s/%s", f->root, key);
	if (fs_atomic_begin(&a, path, tmpl, SF_FILE_MODE, eb) == -1)
		goto out;
	if (data != NULL) {
		if (write_full(a.fd, data, len) == -1) {
			errbuf_errno(eb, EK_IO, "cannot write '%s'", a.tmp);
			goto out;
		}
		/* Only when asked: an idle daemon never loads libcrypto. */
		if (ret_etag != NULL &&
		    digest_sha256_hex(data, len, ret_etag, eb) == -1) {
			errbuf_prefix(eb, "cannot hash '%s/%s': ", f->root,
			    key);
			goto out;
		}
	} else if (copy_stream(src, a.fd, NULL, UINT64_MAX, NULL, ret_etag,
	    a.tmp, eb) == -1)
		goto out;
	if (fs_atomic_commit(&a, durable, eb) == -1)
		goto out;
	ret = 0;
 out:
	fs_atomic_abort(&a);
	free(path);
	free(tmpl);
	free(rel);
	return ret;
}

static int
sf_write(struct store *s, const char *key, const void *data, size_t len,
    const char *if_match, bool durable, char ret_etag[STORE_ETAG_MAX],
    struct errbuf *eb)
{
	struct store_file	*f = sf(s);
	char			 cur[STORE_ETAG_MAX], etag[STORE_ETAG_MAX] = "";
	int			 lfd = -1, ret = -1, r;

	if (mkparents(f, key, eb) == -1)
		return -1;
	if ((lfd = lock_key(f, key, eb)) == -1)
		return -1;
	if (if_match != NULL) {
		if ((r = current_etag(f, key, cur, eb)) == -1)
			goto out;
		if (strcmp(if_match, STORE_IF_NONE_MATCH) == 0 ? r == 0 :
		    (r == 1 || strcmp(cur, if_match) != 0)) {
			errbuf_set(eb, EK_TEMP, "'%s/%s': changed by another "
			    "writer", f->root, key);
			ret = STORE_CONFLICT;
			goto out;
		}
	}
	if (replace(f, key, data == NULL ? "" : data, len, -1, durable,
	    ret_etag != NULL ? etag : NULL, eb) == -1)
		goto out;
	if (ret_etag != NULL)
		(void)strlcpy(ret_etag, etag, STORE_ETAG_MAX);
	ret = 0;
 out:
	close(lfd);
	return ret;
}

static int
sf_put(struct store *s, const char *key, const void *data, size_t len,
    const char *if_match, char ret_etag[STORE_ETAG_MAX], struct errbuf *eb)
{
	return sf_write(s, key, data, len, if_match, true, ret_etag, eb);
}

static int
sf_put_volatile(struct store *s, const char *key, const void *data,
    size_t len, struct errbuf *eb)
{
	return sf_write(s, key, data, len, NULL, false, NULL, eb);
}

static int
sf_put_file(struct store *s, const char *key, const char *path,
    struct errbuf *eb)
{
	struct store_file	*f = sf(s);
	struct stat		 st;
	int			 src = -1, lfd = -1, ret = -1;

	if ((src = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return errbuf_errno(eb, errno == ENOENT ? EK_NOINPUT : EK_IO,
		    "cannot open '%s'", path);
	if (fstat(src, &st) == -1 || !S_ISREG(st.st_mode)) {
		errbuf_set(eb, EK_DATA, "'%s': not a regular file", path);
		goto out;
	}
	if (mkparents(f, key, eb) == -1)
		goto out;
	if ((lfd = lock_key(f, key, eb)) == -1)
		goto out;
	ret = replace(f, key, NULL, 0, src, true, NULL, eb);
 out:
	if (lfd != -1)
		close(lfd);
	close(src);
	return ret;
}

static int
sf_del(struct store *s, const char *key, struct errbuf *eb)
{
	struct store_file	*f = sf(s);
	struct stat		 st;
	char			*path;
	int			 lfd, ret = 0;

	/* Nothing to lock (or delete) when the directory is absent. */
	if (fstatat(f->rootfd, key, &st, AT_SYMLINK_NOFOLLOW) == -1 &&
	    (errno == ENOENT || errno == ENOTDIR))
		return 0;
	if ((lfd = lock_key(f, key, eb)) == -1)
		return -1;
	if (unlinkat(f->rootfd, key, 0) == -1 && errno != ENOENT)
		ret = errbuf_errno(eb, EK_IO, "cannot remove '%s/%s'", f->root,
		    key);
	else {
		path = xasprintf("%s/%s", f->root, key);
		if (fs_sync_parent(path, eb) == -1)
			ret = -1;
		free(path);
	}
	close(lfd);
	return ret;
}

static int
sf_stat(struct store *s, const char *key, struct store_stat *ret_st,
    struct errbuf *eb)
{
	struct store_file	*f = sf(s);
	struct stat		 st;

	if (fstatat(f->rootfd, key, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return errbuf_errno(eb, EK_IO, "cannot stat '%s/%s'", f->root,
		    key);
	}
	if (!S_ISREG(st.st_mode))
		return 0;
	ret_st->size = (uint64_t)st.st_size;
	ret_st->mtime = (int64_t)st.st_mtim.tv_sec;
	ret_st->etag[0] = '\0';
	return 1;
}

struct keylist {
	char	**keys;
	size_t	  n;
	size_t	  cap;
};

/* Add the regular files under 'dir' (a key prefix or "") to kl. */
static int
walk(struct store_file *f, const char *dir, const char *prefix,
    struct keylist *kl, int depth, struct errbuf *eb)
{
	struct dirent	*de;
	DIR		*d = NULL;
	char		*path = NULL;
	int		 fd, ret = -1;

	if (depth > SF_DEPTH_MAX)
		return errbuf_set(eb, EK_DATA, "'%s/%s': nested too deeply",
		    f->root, dir);
	fd = openat(f->rootfd, *dir == '\0' ? "." : dir,
	    O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1) {
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
			return 0;
		return errbuf_errno(eb, EK_IO, "cannot open '%s/%s'", f->root,
		    dir);
	}
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return errbuf_errno(eb, EK_IO, "cannot read '%s/%s'", f->root,
		    dir);
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		free(path);
		path = *dir == '\0' ? xstrdup(de->d_name) :
		    xasprintf("%s/%s", dir, de->d_name);
		if (de->d_type == DT_DIR) {
			/* Descend only where the prefix can still match. */
			size_t	 pl = strlen(path);

			if (strncmp(path, prefix, pl < strlen(prefix) ?
			    pl : strlen(prefix)) != 0)
				continue;
			if (walk(f, path, prefix, kl, depth + 1, eb) == -1)
				goto out;
			continue;
		}
		if (de->d_type != DT_REG ||
		    strncmp(path, prefix, strlen(prefix)) != 0 ||
		    store_key_check(path, &(struct errbuf){ 0 }) == -1)
			continue;
		if (kl->n == STORE_LIST_MAX) {
			errbuf_set(eb, EK_DATA, "more than %d objects under "
			    "'%s'", STORE_LIST_MAX, prefix);
			goto out;
		}
		if (kl->n == kl->cap) {
			kl->cap = kl->cap == 0 ? 64 : kl->cap * 2;
			kl->keys = xreallocarray(kl->keys, kl->cap,
			    sizeof(*kl->keys));
		}
		kl->keys[kl->n++] = path;
		path = NULL;
	}
	ret = 0;
 out:
	free(path);
	closedir(d);
	return ret;
}

static int
cmpkey(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
sf_list(struct store *s, const char *prefix, char ***ret_keys,
    size_t *ret_n, struct errbuf *eb)
{
	struct store_file	*f = sf(s);
	struct keylist		 kl = { NULL, 0, 0 };
	const char		*slash = strrchr(prefix, '/');
	char			*dir;
	int			 r;

	dir = slash == NULL ? xstrdup("") :
	    xstrndup(prefix, (size_t)(slash - prefix));
	r = walk(f, dir, prefix, &kl, 0, eb);
	free(dir);
	if (r == -1) {
		store_keys_free(kl.keys, kl.n);
		return -1;
	}
	if (kl.n > 0)
		qsort(kl.keys, kl.n, sizeof(*kl.keys), cmpkey);
	*ret_keys = kl.keys;
	*ret_n = kl.n;
	return 0;
}

static int
sf_list_entries(struct store *s, const char *prefix,
    struct store_listing *ret, struct errbuf *eb)
{
	struct store_file	*f = sf(s);
	struct store_listing	 l = { NULL, 0 };
	struct stat		 st;
	char			**keys = NULL;
	size_t			 n = 0;

	if (sf_list(s, prefix, &keys, &n, eb) == -1)
		return -1;
	l.v = xcalloc(n + 1, sizeof(*l.v));
	for (size_t i = 0; i < n; i++) {
		/* Gone since the walk: not listed, as S3 would not. */
		if (fstatat(f->rootfd, keys[i], &st, AT_SYMLINK_NOFOLLOW) ==
		    -1 || !S_ISREG(st.st_mode))
			continue;
		l.v[l.n].key = keys[i];
		keys[i] = NULL;
		l.v[l.n].tag = xasprintf("%llx-%lld.%09ld-%llu",
		    (unsigned long long)st.st_ino, (long long)st.st_mtim.tv_sec,
		    st.st_mtim.tv_nsec, (unsigned long long)st.st_size);
		l.v[l.n].mtime = (int64_t)st.st_mtim.tv_sec;
		l.v[l.n].size = (uint64_t)st.st_size;
		l.n++;
	}
	store_keys_free(keys, n);
	*ret = l;
	return 0;
}

static void
sf_release(struct store *s)
{
	struct store_file	*f = sf(s);

	if (f == NULL)
		return;
	if (f->rootfd != -1)
		close(f->rootfd);
	free(f->root);
	free(f);
	s->priv = NULL;
}

static const struct store_ops store_file_ops = {
	.scheme = "file",
	.get = sf_get,
	.get_file = sf_get_file,
	.put = sf_put,
	.put_volatile = sf_put_volatile,
	.put_file = sf_put_file,
	.list = sf_list,
	.list_entries = sf_list_entries,
	.del = sf_del,
	.stat = sf_stat,
	.release = sf_release,
};

int
store_file_new(const char *root, bool create, struct store **ret_store,
    struct errbuf *eb)
{
	struct store_file	*f;
	struct store		*s;
	size_t			 n = strlen(root);
	int			 fd, ret = -1;

	while (n > 1 && root[n - 1] == '/')
		n--;
	if (root[0] != '/' || n >= PATH_MAX)
		return errbuf_set(eb, EK_CONFIG, "store directory '%s': must "
		    "be an absolute path", root);
	f = xcalloc(1, sizeof(*f));
	f->root = xstrndup(root, n);
	if (create && fs_mkdirs(f->root, SF_DIR_MODE, eb) == -1)
		goto out;
	fd = open(f->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1) {
		errbuf_errno(eb, errno == ENOENT ? EK_NOINPUT : EK_IO,
		    "cannot open store directory '%s'", f->root);
		goto out;
	}
	f->rootfd = fd;
	s = xcalloc(1, sizeof(*s));
	s->ops = &store_file_ops;
	s->url = xasprintf("file://%s", f->root);
	s->priv = f;
	*ret_store = s;
	f = NULL;
	ret = 0;
 out:
	if (f != NULL) {
		free(f->root);
		free(f);
	}
	return ret;
}
