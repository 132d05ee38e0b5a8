/* SPDX-License-Identifier: ISC */
/*
 * bundle_int.h: what bundle.c, bundle_zip.c and bundle_listing.c share.
 * Not part of the bundle API: only those files and the unit test
 * include it.
 */
#ifndef HOOKD_BUNDLE_INT_H
#define HOOKD_BUNDLE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "compat.h"

struct bundle_listing;
struct errbuf;

/* Set eb to EK_DATA "entry 'NAME': WHY" with NAME quoted; returns -1. */
int	bundle_reject(struct errbuf *, const char *name, const char *, ...)
	    HOOKD_PRINTF(3, 4);

/*
 * Check a zip's layout before libarchive reads it: a valid central
 * directory, at most max_entries records, each pointing at a local header,
 * and no two entries' data overlapping (the overlapping-files zip bomb).
 * Returns 0, or -1 with eb: EK_DATA for a bad zip (naming the entry),
 * EK_IO when the file cannot be read.  Reads at most BUNDLE_ZIP_CD_MAX
 * bytes of central directory into memory; blocks on file I/O only.
 */
int	bundle_zip_check(const char *path, uint64_t max_entries,
	    struct errbuf *);

/*
 * The names an appspec may have, in the order bundle_find_appspec() and
 * bundle_listing_appspec() look for them (bundle_listing.c); a scan keeps
 * the data of the files so named at the top and one level down.
 */
extern const char *const bundle_appspec_names[2];

/*
 * (Re)build ls->byname from ls->tree (bundle_listing.c), so that
 * bundle_listing_find() works.  Cannot fail.
 */
void	bundle_listing_index(struct bundle_listing *);

#endif /* HOOKD_BUNDLE_INT_H */
