/* SPDX-License-Identifier: ISC */
/*
 * store.h: the object store that holds bundles, targets, the instance
 * registry and deployment status (DESIGN.md "Store layout").  One
 * interface, several backends behind a table of operations:
 *
 *   file:///ABS   store_file.c, a directory tree (the embedded default)
 *   s3://B/P      store_s3.c, on lib/aws/s3.h (backends.h); many reads
 *                 at once through lib/aws/pool.h
 *
 * Keys are relative paths of segments [A-Za-z0-9._:@+=-], each not
 * starting with '.', joined by single '/'; store_key_check() is the rule
 * and every operation applies it.  ETags are opaque strings of at most
 * STORE_ETAG_MAX-1 bytes (file: the SHA-256 of the content in hex; S3:
 * the ETag header as sent, quotes included).
 *
 * Conditional writes (store_put_if) are the one coordination primitive:
 * they return STORE_CONFLICT when the precondition fails, so two
 * deployers racing on target.json cannot both win.
 */
#ifndef HOOKD_STORE_H
#define HOOKD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compat.h"

struct aws_client;
struct errbuf;
struct store;

#define STORE_ETAG_MAX		128	/* bytes, with the NUL */
#define STORE_KEY_MAX		1024	/* bytes of a key (S3's limit) */
#define STORE_CONFLICT		1	/* store_put_if: precondition failed */
#define STORE_IF_NONE_MATCH	"*"	/* store_put_if: only if absent */

struct store_stat {
	uint64_t	 size;		/* bytes */
	int64_t		 mtime;		/* seconds since the epoch, UTC */
	char		 etag[STORE_ETAG_MAX];	/* may be "" (file backend) */
};

/*
 * One object of a listing (store_list_entries).  tag changes whenever
 * the object is written: S3's ETag (quotes included); file: the inode,
 * the mtime in nanoseconds and the size (every write is a rename of a
 * new file), so a caller can tell what changed since its last listing
 * without reading anything.  Both strings are new.
 */
struct store_entry {
	char		*key;
	char		*tag;
	int64_t		 mtime;		/* seconds since the epoch, UTC */
	uint64_t	 size;		/* bytes */
};

struct store_listing {
	struct store_entry	*v;
	size_t			 n;
};

/*
 * One object of store_get_many(), object i of keys: its bytes (data,
 * NUL-terminated, len) and ETag (may be ""), borrowed for the call; or
 * data NULL and eb saying why (EK_NOINPUT: it does not exist).
 */
typedef void	store_got_fn(void *arg, size_t i, const char *data,
		    size_t len, const char *etag, const struct errbuf *eb);

/*
 * What a backend implements.  Every function returns 0 on success and -1
 * with eb set on failure unless said otherwise; keys have been checked
 * by store.c before a backend sees them.  A missing key is EK_NOINPUT;
 * an unreachable service EK_UNAVAIL or EK_TEMP; a refusal EK_PERM.
 */
struct store_ops {
	const char	*scheme;	/* "file", "s3" */
	/*
	 * Read a whole object of at most 'max' bytes (EK_DATA "larger
	 * than") into a new NUL-terminated buffer.  ret_etag may be NULL.
	 */
	int	(*get)(struct store *, const char *key, size_t max,
		    char **ret_data, size_t *ret_len,
		    char ret_etag[STORE_ETAG_MAX], struct errbuf *);
	/*
	 * Download an object of at most 'max' bytes into the file 'path'
	 * (created or truncated, mode 0600), computing its SHA-256: when
	 * sha256_hex is not NULL it must match (EK_DATA "SHA-256
	 * mismatch: expected X, got Y").  On any failure the file is
	 * removed.  *ret_size (may be NULL) gets the bytes written.  The
	 * file is not fsync'ed: it is a download the caller uses at once
	 * and fetches again after a crash (hookd's ROOT/cache).
	 */
	int	(*get_file)(struct store *, const char *key, const char *path,
		    const char *sha256_hex, uint64_t max, uint64_t *ret_size,
		    struct errbuf *);
	/*
	 * Write an object atomically (readers see the old or the new
	 * bytes).  if_match: NULL unconditional; "*" only if absent
	 * (If-None-Match: *); else only if its current ETag equals
	 * if_match.  Returns STORE_CONFLICT when the condition fails.
	 */
	int	(*put)(struct store *, const char *key, const void *data,
		    size_t len, const char *if_match,
		    char ret_etag[STORE_ETAG_MAX], struct errbuf *);
	/*
	 * Optional (NULL: put is used): an unconditional put that need
	 * not survive a crash of the host (file://: no fsync).  Readers
	 * still see the old or the new bytes while the host runs.
	 */
	int	(*put_volatile)(struct store *, const char *key,
		    const void *data, size_t len, struct errbuf *);
	/* Upload a local file (bundles); unconditional. */
	int	(*put_file)(struct store *, const char *key, const char *path,
		    struct errbuf *);
	/*
	 * Keys starting with 'prefix' (a plain string prefix, as S3's
	 * ListObjectsV2), sorted, at most STORE_LIST_MAX (EK_DATA past it).
	 * *ret_keys is a new array of new strings (store_keys_free).
	 */
	int	(*list)(struct store *, const char *prefix, char ***ret_keys,
		    size_t *ret_n, struct errbuf *);
	/*
	 * The objects under 'prefix' with their tags, sorted by key, at
	 * most STORE_LIST_MAX (EK_DATA past it); S3: 1,000 a page.
	 */
	int	(*list_entries)(struct store *, const char *prefix,
		    struct store_listing *ret, struct errbuf *);
	/*
	 * Optional (NULL: store.c reads them one by one): read the n
	 * objects keys[0..n-1] of at most max bytes each, many at once,
	 * reporting each to got() as it comes.  -1 only when the reads
	 * as a whole stopped (the abort flag): then the keys not reported
	 * were not read.
	 */
	int	(*get_many)(struct store *, const char *const *keys, size_t n,
		    size_t max, store_got_fn *got, void *arg,
		    struct errbuf *);
	/* Optional: the most get_many may have in flight (0: default). */
	void	(*set_concurrency)(struct store *, unsigned int);
	/* Remove an object; a missing one is not an error. */
	int	(*del)(struct store *, const char *key, struct errbuf *);
	/* 1 and *ret_st filled when it exists, 0 when not, -1 on error. */
	int	(*stat)(struct store *, const char *key,
		    struct store_stat *ret_st, struct errbuf *);
	/* Free the backend's state (not the struct store). */
	void	(*release)(struct store *);
};

struct store {
	const struct store_ops	*ops;
	char			*url;	/* as configured, for messages */
	void			*priv;	/* the backend's */
};

/*
 * Open the store named by 'url' (file:///ABS or s3://BUCKET[/PREFIX]).
 * For file://, 'create' makes the directory if it is missing.  'aws' is
 * the AWS client an s3:// store uses (borrowed; must outlive the store;
 * may be NULL for file://).  Returns a new store in *ret_store
 * (store_free), or -1: EK_CONFIG for a bad or unsupported URL,
 * EK_IO/EK_NOINPUT for the directory.  Does not touch the network.
 */
int	store_open(const char *url, bool create, struct aws_client *aws,
	    struct store **ret_store, struct errbuf *);
/* Release the backend and free the store; NULL-safe. */
void	store_free(struct store *);

/*
 * The operations, with the key checked first (EK_BUG for a bad key: the
 * caller built it).  See struct store_ops.  store_get reads at most
 * 'max' bytes; store_put is unconditional; store_put_volatile is
 * store_put for a document a later durable write replaces (a
 * deployment's intermediate progress, the registry entry): on a file://
 * store it is not fsync'ed, so after a power loss it may be missing or,
 * for a new file, empty -- readers take such a document as absent;
 * store_put_if returns 0,
 * STORE_CONFLICT or -1; store_exists returns 1, 0 or -1.  All may block
 * on the network (S3) or the disk.
 */
int	store_get(struct store *, const char *key, size_t max,
	    char **ret_data, size_t *ret_len, char ret_etag[STORE_ETAG_MAX],
	    struct errbuf *);
int	store_get_file(struct store *, const char *key, const char *path,
	    const char *sha256_hex, uint64_t max, uint64_t *ret_size,
	    struct errbuf *);
int	store_put(struct store *, const char *key, const void *data,
	    size_t len, char ret_etag[STORE_ETAG_MAX], struct errbuf *);
int	store_put_volatile(struct store *, const char *key, const void *data,
	    size_t len, struct errbuf *);
int	store_put_if(struct store *, const char *key, const void *data,
	    size_t len, const char *if_match, char ret_etag[STORE_ETAG_MAX],
	    struct errbuf *);
int	store_put_file(struct store *, const char *key, const char *path,
	    struct errbuf *);
int	store_list(struct store *, const char *prefix, char ***ret_keys,
	    size_t *ret_n, struct errbuf *);
/*
 * store_list_entries: as store_list, with each object's tag, mtime and
 * size (one request per 1,000 keys on S3; a directory walk and a stat
 * per object on file://).  store_get_many: read many objects (S3: at
 * most store_set_concurrency()'s number in flight, default 64, each
 * retried alone), each reported to got() once, in any order; keys are
 * checked first (EK_BUG, nothing read).  Returns 0 once every key was
 * reported, whatever each outcome, or -1 (see struct store_ops).
 */
int	store_list_entries(struct store *, const char *prefix,
	    struct store_listing *ret, struct errbuf *);
void	store_listing_release(struct store_listing *);
int	store_get_many(struct store *, const char *const *keys, size_t n,
	    size_t max, store_got_fn *got, void *arg, struct errbuf *);
void	store_set_concurrency(struct store *, unsigned int max_in_flight);
int	store_delete(struct store *, const char *key, struct errbuf *);
int	store_exists(struct store *, const char *key, struct store_stat *ret_st,
	    struct errbuf *);
/* Free what store_list returned; NULL-safe. */
void	store_keys_free(char **, size_t);

/* 0 when 'key' is a valid key, else -1 with EK_DATA and the reason. */
int	store_key_check(const char *key, struct errbuf *);
/* 0 when 'prefix' is "" or a valid key prefix (may end in '/'). */
int	store_prefix_check(const char *prefix, struct errbuf *);

/*
 * Keys of DESIGN.md's layout.  Each checks its parts (names with
 * name_check, ids with deployment_id_check, sha256 as 64 hex) and
 * returns a new string, or NULL with EK_DATA.
 *   revisions/APP/SHA256.tar.gz
 *   groups/APP/GROUP/target.json
 *   groups/APP/GROUP/instances/INSTANCE.json
 *   deployments/APP/GROUP/ID/deployment.json
 *   deployments/APP/GROUP/ID/instances/INSTANCE.json
 */
char	*store_key_revision(const char *app, const char *sha256,
	    struct errbuf *);
char	*store_key_target(const char *app, const char *group, struct errbuf *);
char	*store_key_instance(const char *app, const char *group,
	    const char *instance, struct errbuf *);
char	*store_key_deployment(const char *app, const char *group,
	    const char *id, struct errbuf *);
char	*store_key_deployment_instance(const char *app, const char *group,
	    const char *id, const char *instance, struct errbuf *);

/*
 * The file backend (store_file.c): objects under the absolute directory
 * 'root'.  Returns a new store, or -1 (EK_NOINPUT when root is missing
 * and !create, EK_IO).
 */
int	store_file_new(const char *root, bool create, struct store **ret_store,
	    struct errbuf *);

#endif /* HOOKD_STORE_H */
