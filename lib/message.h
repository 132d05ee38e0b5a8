/* SPDX-License-Identifier: ISC */
/*
 * message.h: the deployment message (DESIGN.md "Deployment message"), the
 * JSON body a queue carries from the deployer to a daemon.  Parsing is
 * strict about every field hookd uses and tolerant of top-level fields it
 * does not know (a newer deployer may add some; they are ignored but stay
 * covered by the signature).  Also the name rules shared by the store
 * keys, the queue names and the config files.
 *
 * Canonical form (what the HMAC covers): the received JSON object with its
 * "signature" member removed, dumped by jansson with JSON_COMPACT |
 * JSON_SORT_KEYS | JSON_ENSURE_ASCII: keys in byte order, no whitespace,
 * "," and ":" separators, "/" not escaped.  For messages whose strings are
 * printable ASCII (all fields hookd defines are) this is byte-for-byte
 * Python's json.dumps(m, sort_keys=True, separators=(",", ":")).
 * signature = lowercase hex HMAC-SHA256(key, canonical form).
 */
#ifndef HOOKD_MESSAGE_H
#define HOOKD_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "bundle.h"
#include "names.h"
#include "quote.h"
#include "compat.h"

struct errbuf;
struct json_t;

#define MESSAGE_SCHEMA		"hookd.deployment/1"
#define MESSAGE_DEPTH_MAX	8	/* JSON nesting levels */
#define MESSAGE_TEXT_MAX	256	/* ref, created_by */
#define MESSAGE_LOCATION_MAX	1024	/* revision.location */
#define MESSAGE_SEQUENCE_MAX	(UINT64_C(1) << 53)	/* exact in a double */
#define MESSAGE_KEY_MAX		4096	/* HMAC key bytes */

struct message {
	char		*deployment_id;	/* d-[A-Z0-9]{9} */
	char		*application;	/* see name_check() */
	char		*group;
	uint64_t	 sequence;	/* 1 .. 2^53 */
	char		*location;	/* s3://... or file:///... */
	char		 sha256[65];	/* 64 lowercase hex digits */
	char		 commit[41];	/* 40 lowercase hex digits, or "" */
	char		*ref;		/* NULL when absent */
	enum bundle_format format;	/* BUNDLE_TGZ, BUNDLE_TAR, BUNDLE_ZIP */
	char		*created_at;	/* RFC 3339 as written */
	time_t		 created;	/* created_at in seconds (UTC) */
	char		*created_by;	/* printable ASCII */
	char		*signature;	/* 64 lowercase hex digits, or NULL */
	/*
	 * "ignore_application_stop_failures": true (absent: false): go on
	 * past a failed ApplicationStop, BeforeBlockTraffic or
	 * AfterBlockTraffic of the live revision (CodeDeploy's flag).
	 */
	bool		 ignore_stop_failures;
	bool		 no_traffic_control;	/* "traffic_control": false
					   (deployer --no-traffic-control):
					   no Block/AllowTraffic */

	/* Filled by message_parse(): the canonical form (see above). */
	char		*canonical;
	size_t		 canonical_len;
};

void	message_init(struct message *);
/* Free the contents; safe on a zeroed or half-filled message. */
void	message_release(struct message *);

/*
 * Parse and validate a queue body of 'len' bytes (need not be
 * NUL-terminated; at most DEPLOY_MSG_MAX).  Returns 0 and fills *ret_msg
 * (caller releases), or -1 with EK_DATA and a one-line reason that is
 * safe to log (control characters escaped, values shortened).  Unknown
 * top-level members are ignored; unknown members of "revision" too.  Does
 * not check the signature (message_verify) or the location against the
 * store (message_check_location).  Does not block.
 */
int	message_parse(const char *buf, size_t len, struct message *ret_msg,
	    struct errbuf *);

/*
 * Check msg->signature against the HMAC-SHA256 of the canonical form
 * under 'key'.  Constant-time comparison.  Returns 0, or -1 with EK_DATA
 * ("message is not signed" / "bad message signature").  Needs a message
 * from message_parse() or one that message_sign() signed.
 */
int	message_verify(const struct message *, const unsigned char *key,
	    size_t keylen, struct errbuf *);

/*
 * For the deployer: validate the fields of a message built in memory
 * (the same rules as message_parse), set its canonical form and its
 * signature (key NULL: no signature).  Returns 0 or -1 (EK_DATA).
 */
int	message_sign(struct message *, const unsigned char *key, size_t keylen,
	    struct errbuf *);

/*
 * The message as JSON text (canonical form plus "signature" when set):
 * a new NUL-terminated string in *ret_json (caller frees).  Validates the
 * fields first.  Returns 0 or -1 (EK_DATA).
 */
int	message_serialize(const struct message *, char **ret_json,
	    size_t *ret_len, struct errbuf *);

/*
 * The message as a new jansson object (a new reference; the caller
 * json_decref()s it), for embedding in deployment.json.  NULL if a
 * field is missing (EK_DATA).
 */
struct json_t *message_to_json(const struct message *, struct errbuf *);

/*
 * Check that the revision location lies inside the store 'store_url'
 * (the config's "store", "s3://bucket/prefix" or "file:///abs"), under
 * revisions/APPLICATION/, as one plain file name.  Refuses '..', '%',
 * '\', '?', '#', "//", control characters.  On success *ret_key is the
 * store key ("revisions/APP/NAME", new string; caller frees), so a
 * daemon fetches through its store and never follows a URL.  EK_DATA.
 */
int	message_check_location(const struct message *, const char *store_url,
	    char **ret_key, struct errbuf *);

/*
 * Check that the message is for 'application' and 'group'.  Returns 0,
 * or -1 with EK_DATA naming both ("message is for 'web/staging'; this
 * host serves 'web/production'").
 */
int	message_check_target(const struct message *, const char *application,
	    const char *group, struct errbuf *);

/* "tgz", "tar", "zip" (NULL for BUNDLE_DIR). */
const char *message_format_name(enum bundle_format);

/*
 * Exactly 'len' lowercase hex digits: 0, or -1 with EK_DATA "WHAT
 * 'VALUE': why".  (Names and deployment ids: names.h.)
 */
int	msg_check_hex(const char *what, const char *, size_t len,
	    struct errbuf *);

/*
 * Load an HMAC key file: a regular file, owned by root or the effective
 * user, not accessible by group or others; its bytes minus trailing
 * newlines, 1..MESSAGE_KEY_MAX.  *ret_key is new (free with freezero).
 * EK_CONFIG for a bad file ("message_key_file '/x': readable by others
 * (mode 0644); chmod 600"), EK_NOINPUT when missing, EK_IO otherwise.
 */
int	message_load_key(const char *path, unsigned char **ret_key,
	    size_t *ret_len, struct errbuf *);

#endif /* HOOKD_MESSAGE_H */
