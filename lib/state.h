/* SPDX-License-Identifier: ISC */
/*
 * state.h: ROOT/APP/GROUP/state.json, the record of what a deployment
 * group has on this host: the live revision, the one before it, the last
 * one whose ValidateService passed, the deployment in progress (with how
 * far it got, so a crash can be undone) and a short history.  Loading and
 * saving only; the lifecycle engine decides what the fields mean.
 */
#ifndef HOOKD_STATE_H
#define HOOKD_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compat.h"

struct errbuf;

#define STATE_SCHEMA		"hookd.state/1"
#define STATE_TIME_LEN		32	/* "2026-11-22T22:05:01.123Z" + NUL */

/* One installed revision; sequence 0 means "none" (JSON null). */
struct state_rev {
	uint64_t	 sequence;
	char		*deployment_id;
	char		*release;	/* "releases/SEQ-ID", relative */
	char		*sha256;	/* NULL: unknown (directory bundle) */
	char		*commit;	/* NULL: not given */
};

/* A files: destination link made by the deployment in progress. */
struct state_link {
	char		*path;
	char		*old_target;	/* our earlier link's target, or NULL */
	char		*backup;	/* where the original went, or NULL */
};

/* The deployment that is running, or was when hookd died. */
struct state_progress {
	struct state_rev rev;		/* rev.sequence 0: none */
	char		*phase;		/* the event about to run */
	bool		 stopped;	/* the live ApplicationStop started */
	bool		 switched;	/* 'current' may point at rev */
	char		*traffic;	/* NULL: untouched; "out": BlockTraffic
					   began (may be deregistered);
					   "in": AllowTraffic put it back */
	char		*started_at;
	struct state_link *links;	/* to undo on recovery */
	size_t		 nlinks;
};

/* One finished (or interrupted) deployment, newest first. */
struct state_hist {
	char		*deployment_id;
	uint64_t	 sequence;
	char		*status;	/* Succeeded, Failed, Interrupted */
	char		*event;		/* failed event or NULL */
	char		*script;
	char		*message;
	char		*started_at;
	char		*finished_at;
	char		*rolled_back_to;	/* deployment id or NULL */
};

struct state {
	char		*application;
	char		*group;
	uint64_t	 last_sequence;
	struct state_rev current;
	struct state_rev previous;
	struct state_rev last_good;
	struct state_progress in_progress;
	struct state_hist *history;	/* at most STATE_HISTORY_MAX */
	size_t		 nhistory;
};

void	state_init(struct state *);
void	state_release(struct state *);

void	state_rev_release(struct state_rev *);
/* Deep copy of src into *dst (released first). */
void	state_rev_copy(struct state_rev *dst, const struct state_rev *src);
/* Whether rev is set and names deployment 'id'. */
bool	state_rev_is(const struct state_rev *rev, const char *id);
void	state_hist_release(struct state_hist *);
/* Free in_progress's contents and zero it. */
void	state_progress_clear(struct state_progress *);

/*
 * Load 'path' into *ret_state.  A missing file is an empty state (0).
 * Returns -1 with eb set: EK_DATA "'path': line L:C: ..." when the file
 * is not valid JSON or not a hookd.state/1 document, EK_IO when it cannot
 * be read or is larger than STATE_MAX.  Blocks on one file read.
 */
int	state_load(const char *path, struct state *ret_state,
	    struct errbuf *) HOOKD_WUR;

/*
 * Write st to 'path' atomically: a temporary file in the same directory,
 * then (when 'durable') fsync, rename(2), and fsync of the directory.
 * Without 'durable' the rename still makes it atomic for readers and
 * survives a crash of hookd, but not of the machine.  On failure the old
 * file is untouched, the temporary is removed, and -1 is returned with
 * eb set (EK_IO).  Borrows st.
 */
int	state_save(const struct state *, const char *path, bool durable,
	    struct errbuf *) HOOKD_WUR;

/*
 * Push a history entry to the front, dropping the oldest beyond
 * STATE_HISTORY_MAX.  Steals the contents of *h (which is zeroed).
 */
void	state_push_history(struct state *, struct state_hist *h);

/*
 * The sequence rule (DESIGN.md), the one home of it: whether deployment
 * 'id' with sequence 'seq' runs on a host whose state is st.  SEQ_RUN
 * when seq is above last_sequence, or when it is the Interrupted
 * deployment at the head of the history (a deployment still in progress
 * counts as one: recovery makes it so) and seq is last_sequence.  With
 * an id, SEQ_ALREADY when that deployment finished here (*ret_hist is
 * its history entry, when not NULL), is in progress at another sequence,
 * or is the live one (*ret_hist NULL).  Else SEQ_STALE: seq is at or
 * below last_sequence.  With id NULL only the sequence counts (the
 * engine's check): a SEQ_RUN with an id is always SEQ_RUN without.
 */
enum seq_verdict {
	SEQ_RUN,
	SEQ_ALREADY,
	SEQ_STALE,
};

enum seq_verdict state_seq_verdict(const struct state *, const char *id,
	    uint64_t seq, const struct state_hist **ret_hist);

/* The time now as RFC 3339 UTC with milliseconds. */
void	state_timestamp(char buf[STATE_TIME_LEN]);

#endif /* HOOKD_STATE_H */
