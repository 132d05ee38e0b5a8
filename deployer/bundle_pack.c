/* SPDX-License-Identifier: ISC */
/*
 * bundle_pack.c: `deployer --bundle FILE|DIR`, an artifact a build
 * produced, made into the .tar.gz the store keeps (revisions/APP/
 * SHA256.tar.gz).  A .tar.gz is taken as it is (its SHA-256 is the
 * artifact's); a .tar or .zip is copied entry by entry into a new
 * .tar.gz; a directory is archived in name order with owners and times
 * zeroed, so the same tree gives the same entries.  Regular files,
 * directories and symbolic links only: anything else is refused with
 * its name.  The result is then checked like a git bundle (cmd_deploy.c).
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

#include "bundle.h"
#include "deployer.h"
#include "dl_archive.h"
#include "errbuf.h"
#include "xalloc.h"

#include "banned.h"

#define PACK_IOBUF	(64 * 1024)

static int
aerr(struct archive *a, struct errbuf *eb, const char *what,
    const char *name)
{
	const char	*s;

	s = archive_error_string(a);
	return errbuf_set(eb, EK_IO, "%s '%s': %s", what, name,
	    s != NULL ? s : "libarchive error");
}

static struct archive *
writer_open(const char *out, struct errbuf *eb)
{
	struct archive	*w;

	if ((w = archive_write_new()) == NULL) {
		errbuf_set(eb, EK_OS, "cannot start an archive");
		return NULL;
	}
	/* No time in the gzip header: the same tree, the same bytes. */
	if (archive_write_add_filter_gzip(w) != ARCHIVE_OK ||
	    archive_write_set_filter_option(w, "gzip", "timestamp", NULL) <
	    ARCHIVE_WARN ||
	    archive_write_set_format_pax_restricted(w) != ARCHIVE_OK ||
	    archive_write_open_filename(w, out) != ARCHIVE_OK) {
		aerr(w, eb, "cannot write", out);
		archive_write_free(w);
		return NULL;
	}
	return w;
}

/* Add dir/rel (and below) to w. */
static int
add_tree(struct archive *w, const char *dir, const char *rel,
    struct errbuf *eb)
{
	struct archive_entry	*e = NULL;
	struct dirent		**names = NULL;
	struct stat		 sb;
	char			*path, *buf = NULL, link[PATH_MAX];
	ssize_t			 n;
	int			 fd = -1, nn = 0, ret = -1;

	path = *rel != '\0' ? xasprintf("%s/%s", dir, rel) : xstrdup(dir);
	if (lstat(path, &sb) == -1) {
		errbuf_errno(eb, EK_IO, "cannot stat '%s'", path);
		goto out;
	}
	if (*rel != '\0') {
		if (!S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode) &&
		    !S_ISLNK(sb.st_mode)) {
			errbuf_set(eb, EK_DATA, "'%s': not a file, directory "
			    "or symbolic link", path);
			goto out;
		}
		e = archive_entry_new();
		sb.st_uid = 0;
		sb.st_gid = 0;
		memset(&sb.st_atim, 0, sizeof(sb.st_atim));
		memset(&sb.st_mtim, 0, sizeof(sb.st_mtim));
		memset(&sb.st_ctim, 0, sizeof(sb.st_ctim));
		sb.st_nlink = 1;
		if (!S_ISREG(sb.st_mode))
			sb.st_size = 0;
		archive_entry_copy_stat(e, &sb);
		archive_entry_copy_pathname(e, rel);
		if (S_ISLNK(sb.st_mode)) {
			if ((n = readlink(path, link, sizeof(link) - 1)) ==
			    -1) {
				errbuf_errno(eb, EK_IO, "cannot read link '%s'",
				    path);
				goto out;
			}
			link[n] = '\0';
			archive_entry_copy_symlink(e, link);
		}
		if (archive_write_header(w, e) < ARCHIVE_WARN) {
			aerr(w, eb, "cannot archive", path);
			goto out;
		}
		if (S_ISREG(sb.st_mode)) {
			if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
				errbuf_errno(eb, EK_IO, "cannot open '%s'",
				    path);
				goto out;
			}
			buf = xmalloc(PACK_IOBUF);
			while ((n = read(fd, buf, PACK_IOBUF)) != 0) {
				if (n == -1 && errno == EINTR)
					continue;
				if (n == -1) {
					errbuf_errno(eb, EK_IO, "cannot read "
					    "'%s'", path);
					goto out;
				}
				if (archive_write_data(w, buf, (size_t)n) !=
				    n) {
					aerr(w, eb, "cannot archive", path);
					goto out;
				}
			}
		}
	}
	if (S_ISDIR(sb.st_mode)) {
		if ((nn = scandir(path, &names, NULL, alphasort)) == -1) {
			nn = 0;
			errbuf_errno(eb, EK_IO, "cannot list '%s'", path);
			goto out;
		}
		for (int i = 0; i < nn; i++) {
			char	*sub;
			int	 r;

			if (strcmp(names[i]->d_name, ".") == 0 ||
			    strcmp(names[i]->d_name, "..") == 0)
				continue;
			sub = *rel != '\0' ? xasprintf("%s/%s", rel,
			    names[i]->d_name) : xstrdup(names[i]->d_name);
			r = add_tree(w, dir, sub, eb);
			free(sub);
			if (r == -1)
				goto out;
		}
	}
	ret = 0;
 out:
	for (int i = 0; i < nn; i++)
		free(names[i]);
	free(names);
	if (e != NULL)
		archive_entry_free(e);
	if (fd != -1)
		(void)close(fd);
	free(buf);
	free(path);
	return ret;
}

/* Copy every entry of the archive 'src' into w. */
static int
copy_archive(struct archive *w, const char *src, struct errbuf *eb)
{
	struct archive		*r;
	struct archive_entry	*e;
	const void		*buf;
	size_t			 len;
	la_int64_t		 off;
	int			 rc, ret = -1;

	if ((r = archive_read_new()) == NULL)
		return errbuf_set(eb, EK_OS, "cannot start an archive");
	(void)archive_read_support_filter_gzip(r);
	(void)archive_read_support_format_tar(r);
	(void)archive_read_support_format_zip_seekable(r);
	if (archive_read_open_filename(r, src, PACK_IOBUF) != ARCHIVE_OK) {
		aerr(r, eb, "cannot read", src);
		goto out;
	}
	while ((rc = archive_read_next_header(r, &e)) == ARCHIVE_OK) {
		if (archive_write_header(w, e) < ARCHIVE_WARN) {
			aerr(w, eb, "cannot archive an entry of", src);
			goto out;
		}
		while ((rc = archive_read_data_block(r, &buf, &len, &off)) ==
		    ARCHIVE_OK) {
			if (archive_write_data(w, buf, len) !=
			    (la_ssize_t)len) {
				aerr(w, eb, "cannot archive an entry of", src);
				goto out;
			}
		}
		if (rc != ARCHIVE_EOF) {
			aerr(r, eb, "cannot read", src);
			goto out;
		}
	}
	if (rc != ARCHIVE_EOF) {
		aerr(r, eb, "cannot read", src);
		goto out;
	}
	ret = 0;
 out:
	archive_read_free(r);
	return ret;
}

/*
 * The .tar.gz to upload for 'src' (a file or directory): *ret_tgz is src
 * itself for a .tar.gz, else 'out' once written.  -1 with eb: EK_NOINPUT
 * when src does not exist, EK_DATA when it is no bundle.
 */
int
bundle_pack(const char *src, const char *out, const char **ret_tgz,
    struct errbuf *eb)
{
	struct archive		*w;
	enum bundle_format	 fmt;
	int			 r;

	if (bundle_detect(src, &fmt, eb) == -1)
		return -1;
	if (fmt == BUNDLE_TGZ) {
		*ret_tgz = src;
		return 0;
	}
	if ((w = writer_open(out, eb)) == NULL)
		return -1;
	r = fmt == BUNDLE_DIR ? add_tree(w, src, "", eb) :
	    copy_archive(w, src, eb);
	if (r == 0 && archive_write_close(w) != ARCHIVE_OK)
		r = aerr(w, eb, "cannot write", out);
	archive_write_free(w);
	if (r == -1) {
		(void)unlink(out);
		return -1;
	}
	*ret_tgz = out;
	return 0;
}
