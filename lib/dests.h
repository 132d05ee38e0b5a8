/* SPDX-License-Identifier: ISC */
/*
 * dests.h: the host paths a deployment group's files: entries own, and
 * the refusal of a deployment whose destinations overlap those of
 * another group this host serves (hookd.yml groups:).  A group owns
 * what its live release linked (state.json's current) and what a
 * deployment in progress there links or will link.  Reads other groups'
 * state.json and appspec only; changes nothing.
 */
#ifndef HOOKD_DESTS_H
#define HOOKD_DESTS_H

#include <stddef.h>

#include "compat.h"

struct appspec;
struct errbuf;

/* Another (application, group) on this host (borrowed strings). */
struct deploy_peer {
	const char	*application;
	const char	*group;
};

/*
 * The paths 'as' links once release_dir is live (as release_link_files
 * makes them): DEST for a directory source or "/", DEST/BASENAME for a
 * file; trailing slashes dropped.  *ret is a new array of n new strings
 * (dests_free()).
 */
void	dests_of(const struct appspec *as, const char *release_dir,
	    char ***ret, size_t *ret_n);
void	dests_free(char **v, size_t n);

/* Whether path a is b, or one lies under the other. */
int	dests_overlap(const char *a, const char *b);

/*
 * Refuse a deployment of APP/GROUP under ROOT whose appspec 'as'
 * (extracted in release_dir) links a path that is, contains or lies
 * under a path one of 'peers' owns: the destinations of the peer's
 * live release, of its deployment in progress (its release, once
 * extracted, and the links state.json recorded).  Returns 0, or -1
 * with EK_DATA naming both groups, both paths and the appspec line.  A
 * peer whose state cannot be read is skipped (it owns nothing yet, or
 * its own deployment will say why).  The check holds the flock of
 * ROOT/.hookd-dests.lock, so two groups' checks never interleave.
 */
int	dests_check_peers(const char *root, const char *app,
	    const char *group, const struct appspec *as,
	    const char *release_dir, const struct deploy_peer *peers,
	    size_t npeers, struct errbuf *) HOOKD_WUR;

#endif /* HOOKD_DESTS_H */
