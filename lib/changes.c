/* SPDX-License-Identifier: ISC */
/*
 * changes.c: what changed under a store prefix (see changes.h).  A round
 * walks the new listing and the old set side by side (both sorted by
 * key), collects the keys whose tag differs, reads them with
 * store_get_many(), and makes the listing the new set.
 */
#include "compat.h"

#include <stdlib.h>
#include <string.h>

#include "changes.h"
#include "errbuf.h"
#include "store.h"
#include "xalloc.h"

#include "banned.h"

void
changes_init(struct changes *ch, const char *prefix)
{
	memset(ch, 0, sizeof(*ch));
	ch->prefix = xstrdup(prefix);
}

static void
keys_free(struct change_key *v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++) {
		free(v[i].name);
		free(v[i].tag);
	}
	free(v);
}

void
changes_release(struct changes *ch)
{
	keys_free(ch->v, ch->n);
	free(ch->prefix);
	memset(ch, 0, sizeof(*ch));
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct change_key *)a)->name,
	    ((const struct change_key *)b)->name);
}

const char *
changes_tag(const struct changes *ch, const char *name)
{
	struct change_key	 k, *f;

	memset(&k, 0, sizeof(k));
	k.name = (char *)(uintptr_t)name;
	f = ch->n == 0 ? NULL : bsearch(&k, ch->v, ch->n, sizeof(*ch->v),
	    cmp_name);
	return f != NULL ? f->tag : NULL;
}

/* One round's reads: where each read key's entry is in the new set. */
struct round {
	struct changes		*ch;
	struct change_key	*next;		/* the new set */
	size_t			*idx;		/* read i -> next[idx[i]] */
	changes_got_fn		*got;
	void			*arg;
	struct changes_stats	*st;
};

static void
on_got(void *arg, size_t i, const char *data, size_t len, const char *etag,
    const struct errbuf *eb)
{
	struct round		*r = arg;
	struct change_key	*k = &r->next[r->idx[i]];

	if (data == NULL) {
		/* Read it again next round. */
		free(k->tag);
		k->tag = NULL;
		r->st->failed++;
	} else
		r->st->fetched++;
	r->got(r->arg, k->name, data, len, eb);
}

int
changes_poll(struct changes *ch, struct store *s, size_t max,
    changes_want_fn *want, changes_got_fn *got, void *arg,
    struct changes_stats *st, struct errbuf *eb)
{
	struct store_listing	 l = { NULL, 0 };
	struct changes_stats	 own = { 0 };
	struct change_key	*next = NULL;
	struct round		 r;
	const char		**keys = NULL;
	size_t			 pl = strlen(ch->prefix), o = 0, nread = 0;
	size_t			*idx = NULL;
	int			 ret = -1;

	if (st == NULL)
		st = &own;
	/* Only keys under the prefix, sorted by key, as the set is. */
	if (store_list_entries(s, ch->prefix, &l, eb) == -1)
		return -1;
	st->rounds++;
	st->listed += l.n;
	next = xcalloc(l.n + 1, sizeof(*next));
	keys = xcalloc(l.n + 1, sizeof(*keys));
	idx = xcalloc(l.n + 1, sizeof(*idx));
	for (size_t i = 0; i < l.n; i++) {
		struct store_entry	*e = &l.v[i];
		const char		*name = e->key + pl;
		const char		*old = NULL;
		int			 c = 1;

		/* Both sorted: move the old cursor up to name. */
		while (o < ch->n && (c = strcmp(ch->v[o].name, name)) < 0)
			o++;
		if (o < ch->n && c == 0)
			old = ch->v[o].tag;
		next[i].name = xstrdup(name);
		if (old != NULL && strcmp(old, e->tag) == 0) {
			next[i].tag = xstrdup(old);
			continue;
		}
		if (want != NULL && !want(arg, name)) {
			/* Not read: offered again while it changes. */
			next[i].tag = old != NULL ? xstrdup(old) : NULL;
			st->skipped++;
			continue;
		}
		next[i].tag = xstrdup(e->tag);
		keys[nread] = e->key;
		idx[nread++] = i;
	}
	r.ch = ch;
	r.next = next;
	r.idx = idx;
	r.got = got;
	r.arg = arg;
	r.st = st;
	if (nread > 0 && store_get_many(s, keys, nread, max, on_got, &r,
	    eb) == -1) {
		keys_free(next, l.n);
		goto out;
	}
	keys_free(ch->v, ch->n);
	ch->v = next;
	ch->n = l.n;
	ret = 0;
 out:
	free(idx);
	free(keys);
	store_listing_release(&l);
	return ret;
}
