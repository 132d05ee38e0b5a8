/* SPDX-License-Identifier: ISC */
/*
 * registry.h: what a daemon reads and writes in the store about itself
 * besides its deployments' progress: another daemon writing its
 * registry entry (the same instance id twice), and the document that
 * says why a message was not run (progress.h, "Rejected" / "Skipped").
 * Both block on the store.
 */
#ifndef HOOKD_REGISTRY_H
#define HOOKD_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include "compat.h"
#include "progress.h"

struct errbuf;
struct message;
struct store;

#define REGISTRY_FRESH_SEC	900	/* an entry seen since then is live */

/* Another daemon found in our registry entry. */
struct registry_peer {
	char	 boot_id[REGISTRY_BOOT_ID_LEN + 1];	/* "" if none */
	char	 hostname[256];
	long	 pid;
	char	 last_seen[40];
};

/*
 * Read the registry entry at 'key' before this daemon rewrites it:
 * returns 1 with *ret filled when another daemon wrote it (another boot
 * id; at_start, only when that entry is live and its daemon is not a
 * dead process of this host: a restart is not a duplicate), 0 when not,
 * -1 with eb when the store cannot be read (absent is 0).  Fill ri's
 * dup_* members from *ret to say so in the entry.
 */
int	registry_peer_check(struct store *, const char *key, bool at_start,
	    struct registry_peer *ret, struct errbuf *);

/*
 * Mark the registry entry at 'key' (groups/APP/GROUP/instances/I.json)
 * as written by two daemons: groups/APP/GROUP/duplicates/I.json, a
 * hookd.duplicate/1 document with the other daemon's peer fields
 * ("boot_id", "hostname", "pid", "last_seen").  A daemon rewrites it
 * whenever it finds the other's writing in its entry, so a mark written
 * within REGISTRY_FRESH_SEC means two daemons still share the id; a
 * deployer lists that prefix (nearly always empty) for its duplicate
 * warning instead of reading every entry.  Never removed (an old mark
 * is ignored).  0, or -1 with eb.
 */
int	registry_mark_duplicate(struct store *, const char *key,
	    const struct registry_peer *, struct errbuf *);

/*
 * Say in the store that 'instance' did not run message m: its progress
 * document with status (PROGRESS_REJECTED or PROGRESS_SKIPPED) and the
 * reason, written only when the deployment has no document of this
 * instance yet (a finished deployment keeps its outcome).  Returns 0
 * written, 1 when a document was there, -1 with eb.
 */
int	progress_write_refusal(struct store *, const struct message *m,
	    const char *instance, const char *status, const char *reason,
	    struct errbuf *);

/*
 * The status the deployer recorded for deployment id
 * (deployments/APP/GROUP/ID/deployment.json, "InProgress", "Succeeded",
 * "Failed", "Stopped", "Superseded") into buf: 1, or 0 when there is no
 * record (a store written by an older deployer), -1 with eb.  For `hookd
 * bake`, which bakes only a deployment that succeeded.
 */
int	deployment_status_read(struct store *, const char *app,
	    const char *group, const char *id, char *buf, size_t bufsz,
	    struct errbuf *);

#endif /* HOOKD_REGISTRY_H */
