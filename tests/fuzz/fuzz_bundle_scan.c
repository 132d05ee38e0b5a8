/* SPDX-License-Identifier: ISC */
/*
 * fuzz_bundle_scan.c: differential libFuzzer target for bundle_scan().
 * Each input, written to a file, is scanned and extracted: both must
 * accept it or both refuse it with the same error kind and message; when
 * accepted, the scan must list exactly the paths the extraction made
 * (type and symlink target), and every appspec candidate it kept must
 * hold the bytes the extraction wrote.  Small limits keep each run
 * short.  Files go under $TMPDIR (or /tmp) and are removed at exit.
 * Built by 'make fuzz'; seeds in tests/fixtures/fuzz/bundle_scan.
 */
#include "compat.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle.h"
#include "errbuf.h"
#include "fsutil.h"
#include "xalloc.h"

#include "banned.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char	*top, *file, *dest;

/* At exit: remove the directory (a crash leaves it, with the input). */
static void
fuzz_cleanup(void)
{
	struct errbuf	 eb = { 0 };

	(void)fs_rmtree(top, &eb);
}

static void
fuzz_setup(void)
{
	const char	*tmp = secure_getenv("TMPDIR");

	top = xasprintf("%s/fuzz-bundle-scan.XXXXXX", tmp != NULL &&
	    *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(top) == NULL)
		abort();
	file = xasprintf("%s/bundle", top);
	dest = xasprintf("%s/dest", top);
	atexit(fuzz_cleanup);
}

/* Whether the extracted file at path holds exactly data[0..len). */
static bool
same_bytes(const char *path, const char *data, size_t len)
{
	char		 buf[4096];
	size_t		 off = 0;
	ssize_t		 n;
	int		 fd;
	bool		 ok = true;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return false;
	while (ok && (n = read(fd, buf, sizeof(buf))) > 0) {
		if (off + (size_t)n > len ||
		    memcmp(buf, data + off, (size_t)n) != 0)
			ok = false;
		off += (size_t)n;
	}
	close(fd);
	return ok && off == len;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bundle_limits lim = { 1 << 20, 64 };
	struct bundle_opts o = { 0 };
	struct bundle_listing ls;
	struct bundle_tree t;
	struct errbuf	 ebs = { 0 }, ebx = { 0 }, eb = { 0 };
	char		*p;
	int		 fd, rs, rx;

	if (top == NULL)
		fuzz_setup();
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1 || write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	if (mkdir(dest, 0700) == -1)
		abort();
	o.limits = &lim;
	bundle_listing_init(&ls);
	bundle_tree_init(&t);
	rs = bundle_scan(file, &lim, &ls, &ebs);
	rx = bundle_extract_ex(file, dest, &o, NULL, &t, &ebx);
	if (rs != rx) {
		fprintf(stderr, "scan %d \"%s\", extract %d \"%s\"\n", rs,
		    ebs.msg, rx, ebx.msg);
		abort();
	}
	if (rx == -1 && (ebs.kind != ebx.kind ||
	    strcmp(ebs.msg, ebx.msg) != 0)) {
		fprintf(stderr, "scan %d \"%s\", extract %d \"%s\"\n",
		    ebs.kind, ebs.msg, ebx.kind, ebx.msg);
		abort();
	}
	if (rx == 0 && t.n != ls.tree.n)
		abort();
	for (size_t i = 0; rx == 0 && i < t.n; i++) {
		const struct bundle_entry *s = &ls.tree.v[i], *x = &t.v[i];

		if (strcmp(s->path, x->path) != 0 || s->type != x->type ||
		    (s->target == NULL) != (x->target == NULL) ||
		    (s->target != NULL && strcmp(s->target, x->target) != 0))
			abort();
	}
	for (size_t i = 0; rx == 0 && i < ls.nblobs; i++) {
		p = xasprintf("%s/%s", dest, ls.blobs[i].path);
		if (!same_bytes(p, ls.blobs[i].data, ls.blobs[i].len)) {
			fprintf(stderr, "'%s' differs\n", ls.blobs[i].path);
			abort();
		}
		free(p);
	}
	bundle_listing_release(&ls);
	bundle_tree_release(&t);
	if (fs_rmtree(dest, &eb) == -1)
		abort();
	return 0;
}
