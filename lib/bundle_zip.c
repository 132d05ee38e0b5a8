/* SPDX-License-Identifier: ISC */
/*
 * bundle_zip.c: a structural check of zip bundles, run before libarchive
 * extracts them.  libarchive's seekable zip reader follows the central
 * directory, which may point several entries at the same bytes (the
 * "overlapping files" zip bomb, where a few kilobytes expand to gigabytes)
 * or at a local header of another entry.  This file only reads the central
 * directory and the fixed part of each local header, checks that every
 * entry's record is disjoint from the others and lies before the central
 * directory, and leaves all decoding to libarchive.
 */
#include "compat.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle_int.h"
#include "caps.h"
#include "errbuf.h"
#include "quote.h"
#include "xalloc.h"

#include "banned.h"

struct zip_rec {
	uint64_t	 off;		/* local header */
	uint64_t	 end;		/* past the compressed data */
	size_t		 name;		/* name offset in the central dir */
	size_t		 namelen;
};

static uint16_t
le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
le64(const unsigned char *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static int
zip_rec_cmp(const void *a, const void *b)
{
	const struct zip_rec *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

static int
preadn(int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t		 r;
	size_t		 n = 0;

	while (n < len) {
		r = pread(fd, (char *)buf + n, len - n, (off_t)(off + n));
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		n += (size_t)r;
	}
	return 0;
}

/* Find the end-of-central-directory record: cd offset, size, count. */
static int
zip_find_cd(int fd, uint64_t fsize, const char *path, uint64_t *ret_off,
    uint64_t *ret_size, uint64_t *ret_count, struct errbuf *eb)
{
	unsigned char	 tail[22 + 65535], z[56];
	uint64_t	 tlen, base, off, size, count, loc;
	size_t		 i;

	tlen = fsize < sizeof(tail) ? fsize : sizeof(tail);
	base = fsize - tlen;
	if (tlen < 22 || preadn(fd, tail, (size_t)tlen, base) == -1)
		goto trunc;
	for (i = (size_t)tlen - 22;; i--) {
		if (memcmp(tail + i, "PK\005\006", 4) == 0)
			break;
		if (i == 0)
			goto trunc;
	}
	count = le16(tail + i + 10);
	size = le32(tail + i + 12);
	off = le32(tail + i + 16);
	if ((count == 0xffff || size == 0xffffffff || off == 0xffffffff) &&
	    i >= 20 && memcmp(tail + i - 20, "PK\006\007", 4) == 0) {
		loc = le64(tail + i - 20 + 8);
		if (loc > fsize - sizeof(z) ||
		    preadn(fd, z, sizeof(z), loc) == -1 ||
		    memcmp(z, "PK\006\006", 4) != 0)
			goto trunc;
		count = le64(z + 32);
		size = le64(z + 40);
		off = le64(z + 48);
	}
	if (off > fsize || size > fsize - off)
		goto trunc;
	*ret_off = off;
	*ret_size = size;
	*ret_count = count;
	return 0;
 trunc:
	return errbuf_set(eb, EK_DATA, "corrupt zip '%s': no valid central "
	    "directory", path);
}

/* Parse one central directory record at cd[*pos] into rec. */
static int
zip_parse_rec(const unsigned char *cd, size_t cdlen, size_t *pos,
    struct zip_rec *rec)
{
	const unsigned char *p = cd + *pos, *x, *xend;
	uint64_t	 comp, usize, off;
	size_t		 n, m, k;

	if (cdlen - *pos < 46 || memcmp(p, "PK\001\002", 4) != 0)
		return -1;
	n = le16(p + 28);
	m = le16(p + 30);
	k = le16(p + 32);
	if (cdlen - *pos - 46 < n + m + k)
		return -1;
	comp = le32(p + 20);
	usize = le32(p + 24);
	off = le32(p + 42);
	/* Zip64 extra field: the 8-byte values present replace 0xffffffff. */
	for (x = p + 46 + n, xend = x + m; xend - x >= 4;
	    x += 4 + le16(x + 2)) {
		const unsigned char *v = x + 4, *vend = v + le16(x + 2);

		if (vend > xend)
			break;
		if (le16(x) != 0x0001)
			continue;
		if (usize == 0xffffffff && vend - v >= 8) {
			usize = le64(v);
			v += 8;
		}
		if (comp == 0xffffffff && vend - v >= 8) {
			comp = le64(v);
			v += 8;
		}
		if (off == 0xffffffff && vend - v >= 8)
			off = le64(v);
	}
	rec->off = off;
	rec->end = comp;	/* completed by the caller */
	rec->name = *pos + 46;
	rec->namelen = n;
	*pos += 46 + n + m + k;
	return 0;
}

/* See bundle_int.h. */
int
bundle_zip_check(const char *path, uint64_t max_entries, struct errbuf *eb)
{
	unsigned char	*cd = NULL, lh[30];
	struct zip_rec	*recs = NULL;
	struct stat	 st;
	uint64_t	 cdoff, cdsize, count, comp;
	size_t		 pos = 0, i;
	char		 a[BUNDLE_NAME_SHOW_MAX], b[BUNDLE_NAME_SHOW_MAX];
	char		*nm = NULL;
	int		 fd, ret = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1 ||
	    fstat(fd, &st) == -1) {
		errbuf_errno(eb, EK_IO, "cannot open bundle '%s'", path);
		goto out;
	}
	if (zip_find_cd(fd, (uint64_t)st.st_size, path, &cdoff, &cdsize,
	    &count, eb) == -1)
		goto out;
	if (count > max_entries) {
		errbuf_set(eb, EK_DATA, "bundle '%s' has more than %llu "
		    "entries", path, (unsigned long long)max_entries);
		goto out;
	}
	if (cdsize > BUNDLE_ZIP_CD_MAX) {
		errbuf_set(eb, EK_DATA, "bundle '%s': zip central directory "
		    "is larger than %llu bytes", path,
		    (unsigned long long)BUNDLE_ZIP_CD_MAX);
		goto out;
	}
	cd = xmalloc((size_t)cdsize + 1);
	recs = xcalloc((size_t)count + 1, sizeof(*recs));
	if (preadn(fd, cd, (size_t)cdsize, cdoff) == -1)
		goto corrupt;
	for (i = 0; i < count; i++) {
		if (zip_parse_rec(cd, (size_t)cdsize, &pos, &recs[i]) == -1)
			goto corrupt;
		comp = recs[i].end;
		nm = xstrndup((char *)cd + recs[i].name, recs[i].namelen);
		if (recs[i].off > cdoff || cdoff - recs[i].off < 30 ||
		    preadn(fd, lh, sizeof(lh), recs[i].off) == -1 ||
		    memcmp(lh, "PK\003\004", 4) != 0) {
			bundle_reject(eb, nm, "no local header where the zip "
			    "central directory says");
			goto out;
		}
		recs[i].end = recs[i].off + 30 + le16(lh + 26) + le16(lh + 28);
		if (comp > cdoff || recs[i].end > cdoff - comp) {
			bundle_reject(eb, nm, "zip data runs past the central "
			    "directory");
			goto out;
		}
		recs[i].end += comp;
		free(nm);
		nm = NULL;
	}
	qsort(recs, (size_t)count, sizeof(*recs), zip_rec_cmp);
	for (i = 1; i < count; i++) {
		if (recs[i].off >= recs[i - 1].end)
			continue;
		nm = xstrndup((char *)cd + recs[i].name, recs[i].namelen);
		quote_str(nm, a, sizeof(a));
		free(nm);
		nm = xstrndup((char *)cd + recs[i - 1].name,
		    recs[i - 1].namelen);
		quote_str(nm, b, sizeof(b));
		errbuf_set(eb, EK_DATA, "entry '%s': zip data overlaps "
		    "entry '%s'", a, b);
		goto out;
	}
	ret = 0;
	goto out;
 corrupt:
	errbuf_set(eb, EK_DATA, "corrupt zip '%s': bad central directory",
	    path);
 out:
	free(nm);
	free(recs);
	free(cd);
	if (fd != -1)
		close(fd);
	return ret;
}
