/* SPDX-License-Identifier: ISC */
/*
 * admission.h: the one way a deployment message (a queue message or a
 * group's target.json) becomes a run of the lifecycle engine, in order:
 * parse, location inside the store, signature (message_key_file),
 * target (application and group), the sequence verdict over state.json
 * (state_seq_verdict()), the bundle fetched into ROOT/cache, and the
 * deploy_spec.  'hookd run' and 'hookd bake' both go through it; each
 * step is a call, so a caller may run them in different processes (the
 * daemon checks signatures only in its deployment process) and wrap
 * the fetch in its own retries.  Never logs.
 */
#ifndef HOOKD_ADMISSION_H
#define HOOKD_ADMISSION_H

#include <stddef.h>

#include "compat.h"
#include "state.h"

struct config;
struct deploy_peer;
struct deploy_spec;
struct errbuf;
struct message;
struct store;

/* Whom messages are admitted for (borrowed). */
struct admission {
	const struct config *cfg;	/* application, store, message_key,
					   keep_releases, bundle limits */
	const char	*group;
	const char	*root;		/* NULL: cfg->root */
	const char	*application;	/* NULL: cfg->application */
	/*
	 * The other groups this host serves (hookd.yml groups:), whose
	 * files: destinations a deployment must not overlap; see
	 * deploy_spec's peers.
	 */
	const struct deploy_peer *peers;
	size_t		 npeers;
};

/*
 * Parse body into *m and map its revision location to a store key
 * (*ret_key, new string; caller frees).  Returns -1 with eb set (EK_DATA,
 * the reason) when the body is not a valid message or its location is
 * outside the store.
 */
int	admission_parse(const struct admission *, const char *body,
	    size_t len, struct message *m, char **ret_key,
	    struct errbuf *) HOOKD_WUR;

/*
 * The message's signature (when the config has a message_key) and its
 * application and group.  Returns -1 with eb set (the reason) when it
 * fails one of them.  Loads libcrypto when a key is configured.
 */
int	admission_check(const struct admission *, const struct message *,
	    struct errbuf *) HOOKD_WUR;

/* The sequence verdict of one message against the local state.json. */
struct admission_verdict {
	enum seq_verdict seq;
	bool		 live;		/* the message's deployment is live */
	char		 why[256];	/* when not SEQ_RUN: why not */
};

/*
 * Load ROOT/APP/GROUP/state.json and apply the sequence rule to m (see
 * state_seq_verdict()).  Returns -1 with eb set when state.json cannot
 * be read (*ret untouched).
 */
int	admission_sequence(const struct admission *, const struct message *,
	    struct admission_verdict *ret, struct errbuf *) HOOKD_WUR;

/*
 * Fetch m's bundle (store key 'key', checked against its sha256 and
 * max_bundle_bytes) into ROOT/cache/ID.EXT through a temporary file.
 * One attempt: on failure nothing is left and eb says why (the store's
 * kinds, so a caller can retry EK_TEMP/EK_UNAVAIL).  *ret_path is new;
 * the caller removes the file and frees it.
 */
int	admission_fetch(const struct admission *, struct store *,
	    const struct message *m, const char *key, char **ret_path,
	    struct errbuf *) HOOKD_WUR;

/*
 * Fill *sp (initialised first) for the group, and with m and 'bundle'
 * when m is not NULL (else for recovery: no deployment).  Borrows all.
 */
void	admission_spec(const struct admission *, const struct message *m,
	    const char *bundle, struct deploy_spec *sp);

#endif /* HOOKD_ADMISSION_H */
