/* SPDX-License-Identifier: ISC */
/*
 * progress.h: the two JSON documents a daemon writes to the store
 * (DESIGN.md "Store layout"), built in memory with jansson:
 *
 *   deployments/APP/GROUP/ID/instances/INSTANCE.json  (hookd.progress/1)
 *     {"schema", "deployment_id", "application", "group", "instance",
 *      "sequence", "commit", "sha256",
 *      "status": "InProgress" | "Succeeded" | "Failed" | "Interrupted",
 *      "event": the event running (InProgress) or failed, or null,
 *      "message": outcome text or null, "script", "tail",
 *      "rolled_back_to", "started_at", "updated_at", "finished_at",
 *      "traffic": {"step", "detail"} only while Block/AllowTraffic waits,
 *      "events": [{"event", "status": "Running" | "Succeeded" | "Failed" |
 *                  "Skipped", "rollback", "started_at", "finished_at",
 *                  "duration", "script", "outcome"}],
 *      "warnings": ["FILE:LINE:COL: path: what", ...] (optional: the
 *                  appspec's warnings, set when DownloadBundle ends)}
 *   groups/APP/GROUP/instances/INSTANCE.json  (hookd.instance/1)
 *     {"schema", "instance", "application", "group", "queue",
 *      "queue_backend", "started_at", "last_seen", "pid", "version",
 *      "current": {"deployment_id", "sequence"} or null,
 *      "in_progress": deployment id or null,
 *      "catching_up": {"since", "lifecycle_hook", "auto_scaling_group",
 *                      "heartbeat_timeout"} or null,
 *      "boot_id": random per daemon start, "hostname",
 *      "last_sequence": the highest sequence this host ran or refused,
 *      "duplicate": {"boot_id", "hostname", "pid", "last_seen"} of
 *                   another daemon writing this same entry, or null}
 *
 * "catching_up" is set while an Auto Scaling launch lifecycle hook holds
 * the instance and the daemon catches up to target.json (boot steps 4
 * and 5), until the action is completed (or found gone, or hookd
 * stops).  While it is set the daemon rewrites the entry with every
 * lifecycle heartbeat (a third of heartbeat_timeout, and at least every
 * 300 s).  A daemon that dies meanwhile leaves it set: readers trust it
 * only while last_seen is within heartbeat_timeout (by then Auto Scaling
 * has applied the hook's default result), and the next start writes the
 * entry without it.
 *
 * A host that will not run a message says so at once: status
 * "Rejected" (the message fails a check: signature, application or
 * group) or "Skipped" (the sequence rule), with the reason in
 * "message", written only when the deployment has no document yet
 * (registry.h).  Readers take unknown members as absent, so a newer
 * daemon may add some (a "traffic" step, say).
 *
 * A status other than InProgress is final for that attempt.  An
 * Interrupted deployment whose message is still queued runs again and
 * its final status replaces the Interrupted one (the key is the same).
 * No I/O here: the daemon stores what progress_dump() returns.
 */
#ifndef HOOKD_PROGRESS_H
#define HOOKD_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compat.h"

struct deploy_event;
struct deploy_result;
struct errbuf;
struct json_t;

#define PROGRESS_SCHEMA		"hookd.progress/1"
#define REGISTRY_SCHEMA		"hookd.instance/1"
#define PROGRESS_EVENTS_MAX	64	/* events kept in one document */

/* The "status" of a progress document. */
#define PROGRESS_INPROGRESS	"InProgress"
#define PROGRESS_SUCCEEDED	"Succeeded"
#define PROGRESS_FAILED		"Failed"
#define PROGRESS_INTERRUPTED	"Interrupted"
#define PROGRESS_REJECTED	"Rejected"
#define PROGRESS_SKIPPED	"Skipped"
#define REGISTRY_BOOT_ID_LEN	16	/* hex digits of boot_id */

struct progress {
	struct json_t	*doc;		/* owned */
};

/*
 * Start a document for deployment 'id' on 'instance' with status
 * InProgress.  Strings are copied; commit and sha256 may be NULL.
 */
void	progress_init(struct progress *, const char *application,
	    const char *group, const char *instance, const char *id,
	    uint64_t sequence, const char *commit, const char *sha256);
/* Free the document; safe on a zeroed struct. */
void	progress_release(struct progress *);

/* An event started: append it as Running and make it "event". */
void	progress_event_start(struct progress *, const char *event,
	    bool rollback);
/* An event ended: fill the last Running entry of that event. */
void	progress_event_end(struct progress *, const struct deploy_event *);
/* The engine's final result (status, failed event, message, tail). */
void	progress_finish(struct progress *, const struct deploy_result *);
/* Set status and message directly ("Failed", "bundle: ..."). */
void	progress_set(struct progress *, const char *status,
	    const char *message);
/*
 * BlockTraffic / AllowTraffic is waiting: "traffic": {"step":
 * "draining" | "waiting for healthy", "detail": the last poll}, until
 * that event ends.
 */
void	progress_traffic(struct progress *, const char *step,
	    const char *detail);
/* The status now ("InProgress" ...), borrowed. */
const char *progress_status(const struct progress *);

/*
 * The document as JSON text, with updated_at set to now: a new
 * NUL-terminated string (caller frees) and its length.
 */
char	*progress_dump(struct progress *, size_t *ret_len);

/* What the registry entry holds; strings borrowed, NULL for none. */
struct registry_info {
	const char	*instance;
	const char	*application;
	const char	*group;
	const char	*queue;		/* queue name */
	const char	*queue_backend;	/* "spool", "sqs" */
	const char	*started_at;	/* RFC 3339 */
	const char	*current_id;
	uint64_t	 current_sequence;
	const char	*in_progress_id;
	/* Catching up under a launch hook; NULL since: not catching up. */
	const char	*catching_up_since;	/* RFC 3339 */
	const char	*lifecycle_hook;
	const char	*auto_scaling_group;
	unsigned long	 heartbeat_timeout;	/* s, 0: unknown */
	const char	*boot_id;	/* NULL: registry_boot_id() */
	uint64_t	 last_sequence;
	/* Another daemon with this instance id; NULL boot id: none. */
	const char	*dup_boot_id;
	const char	*dup_hostname;
	long		 dup_pid;
	const char	*dup_last_seen;
};

/*
 * This daemon's boot id: REGISTRY_BOOT_ID_LEN random hex digits, made
 * at the first call and the same for the life of the process (and of
 * its children).  Never fails (falls back to time and pid).
 */
const char *registry_boot_id(void);

/*
 * The registry entry as JSON text (last_seen = now): a new string
 * (caller frees) and its length.
 */
char	*registry_dump(const struct registry_info *, size_t *ret_len);

/*
 * Readers of both documents (the deployer's, and fuzz_progress): parse
 * text into a view whose strings are borrowed from its doc.  Tolerant:
 * a member that is missing or of another type is NULL (0), so a newer
 * daemon can add members.  Returns 0, or -1 with EK_DATA when the text
 * is not a JSON object (progress: or has no string "status"; registry:
 * no string "instance").  Release the view (safe on a zeroed one).
 * No I/O.
 */
struct progress_view {
	struct json_t	*doc;		/* owned */
	const char	*deployment_id;
	const char	*instance;
	uint64_t	 sequence;
	const char	*status;	/* PROGRESS_* */
	const char	*event;
	const char	*message;
	const char	*script;
	const char	*tail;
	const char	*started_at;
	const char	*finished_at;
};

struct registry_view {
	struct json_t	*doc;		/* owned */
	const char	*instance;
	const char	*queue;
	const char	*last_seen;
	const char	*current_id;
	uint64_t	 current_sequence;
	uint64_t	 last_sequence;	/* 0: an older daemon's entry */
	const char	*in_progress_id;
	const char	*boot_id;
	const char	*hostname;
	struct json_t	*catching_up;	/* borrowed object, or NULL */
	const char	*dup_boot_id;	/* NULL: no duplicate seen */
	const char	*dup_hostname;
	const char	*dup_last_seen;
};

int	progress_parse(const char *buf, size_t len, struct progress_view *,
	    struct errbuf *);
void	progress_view_release(struct progress_view *);
int	registry_parse(const char *buf, size_t len, struct registry_view *,
	    struct errbuf *);
void	registry_view_release(struct registry_view *);

/* A status no later write of that attempt replaces. */
bool	progress_status_final(const char *status);
/* Failed, Rejected or Skipped: the instance did not install it. */
bool	progress_status_failed(const char *status);

#endif /* HOOKD_PROGRESS_H */
