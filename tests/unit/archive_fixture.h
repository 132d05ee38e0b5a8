/* SPDX-License-Identifier: ISC */
/*
 * archive_fixture.h: bundle archives built inside the unit tests with
 * libarchive's writer, from a table of entries, so that no binary blob is
 * committed: make_archive() writes a tar (pax or V7), a .tar.gz or a zip
 * of a struct ent table, names in UTF-8 whatever the process's locale;
 * count_entries() counts what a directory holds, for tests that check
 * what was written (or that nothing was); spew() writes a file whole,
 * find_sig() finds a zip record's signature and zip_claim_size() makes a
 * zip's headers lie about an entry's size, for the hostile archives
 * patched byte-wise.  Any failure fails the test.  Included after
 * <cmocka.h>, <archive.h> and <archive_entry.h>: static functions only.
 */
#ifndef HOOKD_ARCHIVE_FIXTURE_H
#define HOOKD_ARCHIVE_FIXTURE_H

#include <sys/types.h>
#include <sys/sysmacros.h>

#include <dirent.h>
#include <fcntl.h>
#include <locale.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "slurp.h"

/* In this order: a test may loop from A_TAR to A_TGZ or A_ZIP. */
enum afmt { A_TAR, A_TGZ, A_ZIP, A_V7 };

#define HARDLINK	1	/* struct ent.type: a hard link to .data */

/*
 * One entry.  Positional tables list every field: { name, type, mode,
 * data, size, fill }.
 */
struct ent {
	const char	*name;
	int		 type;		/* AE_IF* or HARDLINK */
	int		 mode;		/* permission bits; 0: 0755 for a
					   directory, else 0644 */
	const char	*data;		/* contents, or link target */
	size_t		 size;		/* with fill: this many bytes; hard
					   links: the size the header states */
	char		 fill;		/* 0: the contents are data */
};

/* Write an archive of the n entries ents to path, in format fmt. */
__attribute__((__unused__)) static void
make_archive(const char *path, enum afmt fmt, const struct ent *ents,
    size_t n)
{
	struct archive	*a;
	struct archive_entry *e;
	locale_t	 utf8, saved;
	char		 chunk[4096];
	size_t		 left, k;

	/* Write names as UTF-8 whatever the process's locale is. */
	assert_true((utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8",
	    (locale_t)0)) != (locale_t)0);
	saved = uselocale(utf8);
	assert_non_null(a = archive_write_new());
	switch (fmt) {
	case A_TAR:
		archive_write_set_format_pax_restricted(a);
		break;
	case A_V7:
		archive_write_set_format_v7tar(a);
		break;
	case A_TGZ:
		archive_write_set_format_pax_restricted(a);
		archive_write_add_filter_gzip(a);
		break;
	case A_ZIP:
		archive_write_set_format_zip(a);
		archive_write_set_format_option(a, "zip", "hdrcharset",
		    "UTF-8");
		break;
	}
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		const struct ent *t = &ents[i];
		size_t		 size;
		int		 mode;

		size = t->fill != 0 ? t->size :
		    (t->data != NULL ? strlen(t->data) : 0);
		mode = t->mode != 0 ? t->mode :
		    (t->type == AE_IFDIR ? 0755 : 0644);
		e = archive_entry_new();
		archive_entry_set_pathname(e, t->name);
		archive_entry_set_mtime(e, 1700000000, 0);
		archive_entry_set_perm(e, (mode_t)mode);
		if (t->type == HARDLINK) {
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_hardlink(e, t->data);
			archive_entry_set_size(e, (la_int64_t)t->size);
		} else {
			archive_entry_set_filetype(e, (unsigned int)t->type);
			if (t->type == AE_IFLNK)
				archive_entry_set_symlink(e, t->data);
			if (t->type == AE_IFCHR)
				archive_entry_set_rdev(e, makedev(1, 3));
			archive_entry_set_size(e, t->type == AE_IFREG ?
			    (la_int64_t)size : 0);
		}
		assert_true(archive_write_header(a, e) >= ARCHIVE_WARN);
		if (t->type == AE_IFREG && t->fill != 0) {
			memset(chunk, t->fill, sizeof(chunk));
			for (left = size; left > 0; left -= k) {
				k = left < sizeof(chunk) ? left : sizeof(chunk);
				assert_int_equal(archive_write_data(a, chunk,
				    k), (la_ssize_t)k);
			}
		} else if (t->type == AE_IFREG && size > 0)
			assert_int_equal(archive_write_data(a, t->data, size),
			    (la_ssize_t)size);
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	uselocale(saved);
	freelocale(utf8);
}

/* The number of entries in dir, "." and ".." aside. */
__attribute__((__unused__)) static int
count_entries(const char *dir)
{
	struct dirent	*de;
	DIR		*d;
	int		 n = 0;

	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* Write len bytes of buf to path, replacing what it held. */
__attribute__((__unused__)) static void
spew(const char *path, const void *buf, size_t len)
{
	int		 fd;

	assert_int_not_equal(fd = open(path, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC, 0644), -1);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

/* Find the n-th occurrence of a 4-byte signature in buf. */
__attribute__((__unused__)) static unsigned char *
find_sig(unsigned char *buf, size_t len, const char *sig, int nth)
{
	for (size_t i = 0; i + 4 <= len; i++)
		if (memcmp(buf + i, sig, 4) == 0 && nth-- == 0)
			return buf + i;
	fail_msg("signature not found");
	return NULL;
}

/* Set the 32-bit little-endian field at p. */
__attribute__((__unused__)) static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = (v >> 24) & 0xff;
}

/*
 * Make the zip at path claim that its first entry is size bytes
 * uncompressed, in its local and its central header.
 */
__attribute__((__unused__)) static void
zip_claim_size(const char *path, uint32_t size)
{
	unsigned char	*z;
	size_t		 len;

	z = (unsigned char *)slurp(path, &len);
	put32(find_sig(z, len, "PK\003\004", 0) + 22, size);
	put32(find_sig(z, len, "PK\001\002", 0) + 24, size);
	spew(path, z, len);
	free(z);
}

#endif /* HOOKD_ARCHIVE_FIXTURE_H */
