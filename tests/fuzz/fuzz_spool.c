/* SPDX-License-Identifier: ISC */
/*
 * fuzz_spool.c: libFuzzer target for the spool-queue reader
 * (lib/queue_spool.c): message file names and contents as another local
 * writer could leave them.  Input: one flag byte, a file name up to the
 * first NUL, then the file's contents.  Flag bit 0 puts the file in cur/
 * (a claimed message) instead of new/; bit 1 makes it a symlink to the
 * contents instead of a file; bit 2 makes it a directory.  The queue is
 * then drained with receive(wait 0), each message deleted or rejected,
 * and the fuzzed name is tried as a receipt for delete/extend/reject.
 * Invariants: no crash, leak or hang; a delivered body is the bytes
 * written (never a symlink's target); afterwards nothing is left in new/
 * (each entry was delivered or moved to failed/).  Built by 'make fuzz';
 * seeds in tests/fixtures/fuzz/spool.
 */
#include "compat.h"

#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errbuf.h"
#include "queue.h"

#include "banned.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char		 base[64];
static char		 qdir[128];
static struct queue	*q;

static size_t	empty_sub(const char *);

/* Remove the spool and its base directory when libFuzzer exits. */
static void
cleanup(void)
{
	char	 path[256];

	if (q == NULL)
		return;
	for (size_t i = 0; i < 4; i++) {
		static const char *const subs[] = { "tmp", "new", "cur",
		    "failed" };

		(void)empty_sub(subs[i]);
		(void)snprintf(path, sizeof(path), "%s/%s", qdir, subs[i]);
		(void)rmdir(path);
	}
	queue_free(q);
	q = NULL;
	(void)rmdir(qdir);
	(void)snprintf(path, sizeof(path), "%s/outside", base);
	(void)unlink(path);
	(void)rmdir(base);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct errbuf	 eb = { 0 };
	char		 path[256];
	int		 fd;

	(void)strlcpy(base, "/tmp/fuzz_spool.XXXXXX", sizeof(base));
	if (mkdtemp(base) == NULL)
		abort();
	(void)snprintf(qdir, sizeof(qdir), "%s/q", base);
	/* The target of the symlinks: it must never be read as a body. */
	(void)snprintf(path, sizeof(path), "%s/outside", base);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) == -1)
		abort();
	if (write(fd, "OUTSIDE", 7) != 7)
		abort();
	close(fd);
	if (queue_spool_new(base, "q", 30, &q, &eb) == -1 ||
	    queue_ensure(q, &eb) == -1)
		abort();
	(void)atexit(cleanup);
	return 0;
}

/*
 * Remove everything under qdir/sub (files, links, empty directories);
 * returns how many entries the reader should have seen (dot files are
 * not messages: writers keep them, like maildir, and readers skip them).
 */
static size_t
empty_sub(const char *sub)
{
	struct dirent	*de;
	DIR		*d;
	char		 path[512];
	size_t		 n = 0;

	(void)snprintf(path, sizeof(path), "%s/%s", qdir, sub);
	if ((d = opendir(path)) == NULL)
		abort();
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (de->d_name[0] != '.')
			n++;
		if (unlinkat(dirfd(d), de->d_name, 0) == -1)
			(void)unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
	}
	closedir(d);
	return n;
}

static void
plant(uint8_t flags, const char *name, const uint8_t *body, size_t len)
{
	char	 path[512], target[128];
	int	 fd;

	(void)snprintf(path, sizeof(path), "%s/%s/%s", qdir,
	    (flags & 1) != 0 ? "cur" : "new", name);
	if ((flags & 4) != 0) {
		(void)mkdir(path, 0700);
		return;
	}
	if ((flags & 2) != 0) {
		(void)snprintf(target, sizeof(target), "%s/outside", base);
		(void)symlink(target, path);
		return;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1)
		return;
	if (len > 0 && write(fd, body, len) != (ssize_t)len)
		abort();
	close(fd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct queue_msg	 m;
	struct errbuf		 eb = { 0 };
	const uint8_t		*nul, *body;
	char			 name[256];
	size_t			 nlen, blen;
	uint8_t			 flags;
	int			 rc, rounds = 0;

	if (size < 2)
		return 0;
	flags = data[0];
	data++;
	size--;
	if ((nul = memchr(data, '\0', size)) == NULL)
		return 0;
	nlen = (size_t)(nul - data);
	if (nlen == 0 || nlen >= sizeof(name) || memchr(data, '/', nlen) !=
	    NULL)
		return 0;
	memcpy(name, data, nlen);
	name[nlen] = '\0';
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return 0;
	body = nul + 1;
	blen = size - nlen - 1;
	plant(flags, name, body, blen);

	for (;;) {
		queue_msg_init(&m);
		rc = queue_receive(q, 0, &m, &eb);
		if (rc == -1)
			abort();
		if (rc == 0)
			break;
		if (m.body == NULL || m.receipt == NULL || m.id == NULL ||
		    m.receive_count == 0)
			abort();
		if ((flags & 2) == 0 && (m.len != blen ||
		    memcmp(m.body, body, blen) != 0))
			abort();
		if ((flags & 2) != 0 && memmem(m.body, m.len, "OUTSIDE",
		    7) != NULL)
			abort();
		if ((flags & 8) != 0)
			rc = queue_reject(q, &m, "fuzz", &eb);
		else
			rc = queue_delete(q, m.receipt, &eb);
		if (rc == -1)
			abort();
		queue_msg_release(&m);
		if (++rounds > 4)
			abort();
	}
	/* A fuzzed receipt: refused or EK_NOINPUT, never a crash. */
	(void)queue_extend(q, name, 10, &eb);
	(void)queue_delete(q, name, &eb);
	if (empty_sub("new") != 0)
		abort();
	(void)empty_sub("cur");
	(void)empty_sub("failed");
	(void)empty_sub("tmp");
	return 0;
}
