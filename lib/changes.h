/* SPDX-License-Identifier: ISC */
/*
 * changes.h: what changed under a store prefix since the last look.
 *
 * A reader that follows many small documents under one prefix (the
 * deployer, a deployment's instances/ progress documents) lists the
 * prefix (S3: one ListObjectsV2 per 1,000 keys) and reads only the
 * documents whose tag (S3's ETag; file://, see store.h) differs from the
 * one it saw last, many at once (store_get_many).  A round costs about
 * N/1000 + the changed documents requests, not N.
 *
 * The set keeps, per key, the part after the prefix and its last tag:
 * about a hundred bytes a key.  A key whose read failed keeps no tag,
 * so the next round reads it again; a key gone from the listing is
 * forgotten.
 */
#ifndef HOOKD_CHANGES_H
#define HOOKD_CHANGES_H

#include <stdbool.h>
#include <stddef.h>

#include "compat.h"

struct errbuf;
struct store;

struct change_key {
	char	*name;		/* the key after the prefix */
	char	*tag;		/* last seen, or NULL: read it next time */
};

struct changes {
	char			*prefix;
	struct change_key	*v;	/* sorted by name */
	size_t			 n;
};

/* What one round cost and found (added to by changes_poll). */
struct changes_stats {
	unsigned long	 rounds;
	unsigned long	 listed;	/* keys listed */
	unsigned long	 fetched;	/* documents read */
	unsigned long	 failed;	/* reads that failed */
	unsigned long	 skipped;	/* changed, but not wanted */
};

/*
 * Whether the caller still wants key 'name' (the part after the prefix)
 * read when it changed; NULL: always.  A key not wanted keeps its old
 * tag, so it is offered again while it changes.
 */
typedef bool	changes_want_fn(void *arg, const char *name);
/*
 * A changed document: data (NUL-terminated, len bytes) and its name
 * (the part after the prefix), borrowed; or data NULL and eb saying why
 * it could not be read (it is read again next round).
 */
typedef void	changes_got_fn(void *arg, const char *name, const char *data,
		    size_t len, const struct errbuf *eb);

/* Start an empty set for prefix (copied, a store_prefix_check prefix). */
void	 changes_init(struct changes *, const char *prefix);
/* Free the set; safe on a zeroed one. */
void	 changes_release(struct changes *);

/*
 * One round: list the prefix, read every document (of at most max
 * bytes) that is new or whose tag changed and that want() wants,
 * reporting each to got(), then remember the listing.  Returns 0, or
 * -1 with eb set when the listing failed (the set is left as it was) or
 * the reads were interrupted (store_get_many).  st (may be NULL) is
 * added to.
 */
int	 changes_poll(struct changes *, struct store *, size_t max,
	    changes_want_fn *want, changes_got_fn *got, void *arg,
	    struct changes_stats *st, struct errbuf *) HOOKD_WUR;

/* The tag last seen for name, borrowed, or NULL. */
const char *changes_tag(const struct changes *, const char *name);

#endif /* HOOKD_CHANGES_H */
