/* SPDX-License-Identifier: ISC */
/*
 * bluegreen.h: what bluegreen.c (the blue/green rollout, the group's
 * pointer) and standby.c (the standby group's retirement) share; private
 * to them.
 */
#ifndef HOOKD_DEPLOYER_BLUEGREEN_H
#define HOOKD_DEPLOYER_BLUEGREEN_H

#include "compat.h"

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "store.h"

struct dctx;
struct deployer_group;
struct errbuf;

/*
 * The group's pointer (groups/APP/GROUP/blue_green.json), written only
 * if it still has the ETag read (two deployers, a retirer).
 */
struct bgp {
	char		*serving;
	char		*serving_deployment;
	char		*standby;
	char		*standby_deployment;	/* NULL: not known */
	bool		 standby_rolled_back;	/* never swapped back to */
	time_t		 standby_until;
	char		*scheduled_action;	/* on standby: empties it */
	long		 retirer_pid;		/* the retirer of standby */
	char		*retirer_host;
	char		*retirer_log;
	char		*retiring;	/* a group being retired now */
	long		 retiring_pid;	/* its retirer: pid, host, start */
	char		*retiring_host;
	unsigned long long retiring_start;	/* /proc start time, 0: ? */
	time_t		 retiring_at;	/* claimed or refreshed then */
	char		*swapping;	/* the rollback swapping back now */
	uint64_t	 sequence;	/* the last one a deployment took */
	bool		 exists;
	char		 etag[STORE_ETAG_MAX];
};

/* bluegreen.c */
unsigned	 poll_ms(void);
void		 nap(void);
void		 bg_untrack(void);
void		 setstr(char **, const char *);
void		 bgp_release(struct bgp *);
void		 bgp_clear_standby(struct bgp *);
int		 pointer_read(struct dctx *, const char *group, struct bgp *,
		    struct errbuf *);
int		 pointer_update(struct dctx *, const char *group,
		    int (*edit)(struct bgp *, void *), void *, struct bgp *ret,
		    struct errbuf *);

/* standby.c */
int		 retire(struct dctx *, const char *name, const char *why,
		    const struct deployer_group *claimed, struct errbuf *);
bool		 swap_live(struct dctx *, const struct deployer_group *,
		    const char *id);
int		 standby_retire(struct dctx *, const struct deployer_group *,
		    const char *name, bool force, struct errbuf *);
char		*action_name(const char *name);
void		 standby_plan(struct dctx *, const struct deployer_group *,
		    const char *name, time_t until);
void		 status_plan(struct dctx *, const struct deployer_group *,
		    const struct bgp *);

#endif /* HOOKD_DEPLOYER_BLUEGREEN_H */
