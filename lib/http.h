/* SPDX-License-Identifier: ISC */
/*
 * http.h: the one libcurl wrapper.  A struct http owns one CURL easy
 * handle that is reused for every request (keep-alive, DNS cache), with
 * connect/total/low-speed timeouts, a cap on bodies kept in memory, TLS
 * verification always on, libcurl's own proxy variables (HTTPS_PROXY,
 * NO_PROXY ...), "User-Agent: hookd/VERSION", and only http/https.
 *
 * Request bodies come from memory or from a file descriptor (read with
 * pread(2) from a fixed offset, so the same request can be sent again).
 * Response bodies go to memory (capped), or, for a 2xx reply, to a file
 * descriptor with a per-chunk callback (a non-2xx reply always goes to
 * memory, so an error document can be parsed).
 *
 * This layer knows nothing about AWS: an HTTP status of 4xx/5xx is a
 * successful exchange here; only transport failures are errors.  It does
 * not retry; lib/aws/client.c does.  It never logs above log_debug, and it
 * never logs header values (they may carry credentials).
 */
#ifndef HOOKD_HTTP_H
#define HOOKD_HTTP_H

#include <sys/types.h>

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "caps.h"
#include "errbuf.h"

struct errbuf;
struct http;

#define HTTP_CONNECT_TIMEOUT_MS	5000	/* default connect timeout */
#define HTTP_TIMEOUT_MS		60000	/* default total time per request */
#define HTTP_LOW_SPEED_BYTES	1	/* abort below this many bytes/s ... */
#define HTTP_LOW_SPEED_SEC	30	/* ... for this many seconds */
#define HTTP_IDLE_POLL_MS	60000	/* longest sleep with a wake fd */
#define HTTP_WOKEN_POLL_MS	1000	/* ... once it has woken us */

/*
 * An ordered list of header name/value pairs.  Names keep the case they
 * were added with; lookups are case-insensitive.  Both strings are owned
 * by the list (copied on add).
 */
struct http_header {
	char	*name;
	char	*value;
};

struct http_headers {
	struct http_header	*v;
	size_t			 n;
	size_t			 cap;
};

/* Zero the list (no allocation). */
void	 http_headers_init(struct http_headers *);
/* Free every name and value; safe on a zeroed list.  Values are wiped. */
void	 http_headers_release(struct http_headers *);
/* Append a copy of name/value (duplicates allowed). */
void	 http_headers_add(struct http_headers *, const char *name,
	    const char *value);
/* Replace every header called name (any case) by one name/value. */
void	 http_headers_set(struct http_headers *, const char *name,
	    const char *value);
/* Remove every header called name (any case). */
void	 http_headers_del(struct http_headers *, const char *name);
/* Value of the first header called name (any case), borrowed, or NULL. */
const char *http_headers_get(const struct http_headers *, const char *name);

/*
 * Per-chunk callback for streamed downloads: called with each piece of a
 * 2xx body after it was written to out_fd.  Return 0 to continue, -1 to
 * abort the transfer (http_perform then fails with EK_IO "aborted by
 * callback" unless the callback filled cb_eb, see below).
 */
typedef int	http_chunk_fn(void *arg, const void *data, size_t len);

/*
 * One request.  All pointers are borrowed for the duration of the call.
 * Zero-initialise, then set what you need: { .method = "GET", .url = u,
 * .body_fd = -1, .out_fd = -1 }.  NOTE: body_fd and out_fd must be set to
 * -1 explicitly when unused (0 is a valid descriptor).
 */
struct http_request {
	const char		*method;	/* "GET", "PUT", ... */
	const char		*url;		/* absolute http(s) URL */
	const struct http_headers *headers;	/* sent as given; may be NULL */

	/* Request body: memory (body != NULL), fd (body_fd != -1), or none. */
	const void		*body;
	size_t			 body_len;	/* bytes to send */
	int			 body_fd;	/* -1, or pread from ... */
	off_t			 body_off;	/* ... this offset on */

	/*
	 * Response body of a 2xx reply: to memory (out_fd == -1) or
	 * written to out_fd from its current offset, with on_chunk called
	 * for every piece.  A non-2xx body always goes to memory.
	 */
	int			 out_fd;
	http_chunk_fn		*on_chunk;	/* may be NULL */
	void			*chunk_arg;
	/*
	 * out_fd only: refuse a body over out_max bytes (0: no cap), by
	 * its Content-Length before reading it, else once it grows past.
	 */
	uint64_t		 out_max;

	long			 timeout_ms;	/* total; 0: HTTP_TIMEOUT_MS */
	/* connect_timeout_ms 0: HTTP_CONNECT_TIMEOUT_MS */
	long			 connect_timeout_ms;
	size_t			 body_max;	/* 0: HTTP_BODY_MAX */
	bool			 no_low_speed;	/* no low-speed abort */
};

/* The result of one exchange.  Initialise with http_response_init(). */
struct http_response {
	long			 status;	/* HTTP status, e.g. 200 */
	struct buf		 body;		/* memory or non-2xx body */
	struct http_headers	 headers;	/* last reply's headers */
	uint64_t		 out_bytes;	/* bytes written to out_fd */
};

void	 http_response_init(struct http_response *);
/* Free body and headers; safe on a zeroed or initialised response. */
void	 http_response_release(struct http_response *);
/* Value of a response header (case-insensitive), borrowed, or NULL. */
const char *http_response_header(const struct http_response *,
	    const char *name);

/*
 * Create a handle (one CURL easy handle, kept for its lifetime).  Returns
 * a new handle the caller frees with http_free(), or NULL with eb set
 * (EK_OS: libcurl could not create a handle).  curl_global_init() must
 * have been called (main() does it; tests call it themselves).
 */
struct http *http_new(struct errbuf *);
/* Free the handle and close its connections; NULL-safe. */
void	 http_free(struct http *);

/*
 * Perform one request and fill *ret_resp (which the caller must have
 * initialised with http_response_init(); it is reset first, so one
 * response struct can be reused).  Blocks for up to timeout_ms.
 *
 * Returns 0 when an HTTP reply was received, whatever its status;
 * -1 on a transport failure with eb set:
 *   EK_UNAVAIL  cannot resolve or connect ("cannot connect to 'URL': ...")
 *   EK_TEMP     timeout, connection reset, empty or truncated reply;
 *               or "interrupted" by the abort flag (never transient)
 *   EK_PROTO    reply body larger than body_max, TLS/protocol failure
 *   EK_DATA     2xx body for out_fd larger than out_max ("larger than")
 *   EK_IO       cannot read body_fd / write out_fd, or on_chunk aborted
 *   EK_USAGE    bad URL or method
 * After a failure, http_last_transient() says whether the failure is one
 * the AWS retry policy retries (connect refused, timeouts, reset, recv or
 * send errors, empty reply, partial file).
 */
int	 http_perform(struct http *, const struct http_request *,
	    struct http_response *ret_resp, struct errbuf *) HOOKD_WUR;

/* Whether the last failed http_perform() on h was transient (see above). */
bool	 http_last_transient(const struct http *);

/*
 * Register a flag (normally set by a signal handler) that aborts every
 * transfer: once *flag is non-zero, a transfer in progress stops within
 * about a second (libcurl calls its progress function at least that often
 * while it waits, and a signal does not interrupt its wait), and
 * http_perform() started while it is set fails at once.  The failure is
 * EK_TEMP "request to 'URL' interrupted", not transient (see
 * http_last_interrupted), so the AWS client does not retry it.  NULL
 * removes the flag.  The flag is process-wide, read only, never cleared
 * here: the caller clears it.  Not thread-safe (hookd has one thread).
 */
void	 http_set_abort_flag(volatile sig_atomic_t *flag);
/* Whether the flag is registered and set. */
bool	 http_abort_requested(void);

/*
 * Register an fd that becomes readable when the abort flag may have
 * been set (normally the read end of the caller's signal self-pipe); -1
 * removes it.  With one, transfers sleep in curl_multi_poll() until
 * there is network work, a libcurl timer, or the fd (the flag then
 * stops them at once); without, libcurl's easy loop wakes every second.
 * The fd is polled, never read: its owner drains it.  Process-wide.
 */
void	 http_set_wake_fd(int fd);

/*
 * For a process made by fork(2) (hookd's deployment process): from now
 * on, never use or close a connection this process inherited.  Every
 * struct http that existed before the call leaves its libcurl handle
 * alone for good (not reused, not cleaned up: closing one would send a
 * TLS close_notify, or a FIN once the parent is gone, on a socket the
 * parent still uses) and makes a new handle at its next request, whose
 * connections are this process's own.  The old handles are abandoned;
 * the process is expected to end with _exit(2).  Process-wide, cheap,
 * idempotent; call it right after fork(), before any request.
 */
void	 http_fresh_connections(void);

/*
 * Many transfers at once (libcurl's multi interface): a struct
 * http_multi runs up to max_in_flight transfers over one cache of
 * kept-alive connections (at most max_in_flight of them), each with its
 * own easy handle, reused from one transfer to the next.  A slow
 * transfer never holds up another.  Like http_perform(), it does not
 * retry (lib/aws/pool.c does), and the abort flag and wake fd apply.
 *
 * http_multi_add() starts req (req, its headers and body, and resp are
 * borrowed until the transfer's end is reported; resp must have been
 * initialised); http_multi_run() moves every transfer along, reporting
 * each that ended to done(cbarg, d) -- a received reply has d->rc 0, a
 * transport failure -1 with d->eb as http_perform() would set it and
 * d->transient, d->interrupted -- then, when none ended and timeout_ms
 * is not 0, sleeps up to timeout_ms (-1: HTTP_IDLE_POLL_MS) for network
 * activity or the wake fd.  Once the abort flag is set, run cancels
 * every transfer (each reported as interrupted).  done may start new
 * transfers.
 */
#define HTTP_MULTI_DEFAULT	64	/* transfers in flight */

struct http_multi;

struct http_done {
	void		*arg;		/* as given to http_multi_add */
	int		 rc;		/* 0: a reply; -1: see eb */
	bool		 transient;	/* as http_last_transient() */
	bool		 interrupted;	/* the flag or a cancel stopped it */
	struct errbuf	 eb;
};

typedef void	http_done_fn(void *cbarg, const struct http_done *d);

/*
 * A new multi handle for at most max_in_flight transfers at once (0:
 * HTTP_MULTI_DEFAULT), or NULL with eb set (EK_OS, or the library's
 * load error).
 */
struct http_multi *http_multi_new(unsigned int max_in_flight,
	    struct errbuf *);
/* Stop every transfer (none reported), close the connections; NULL-safe. */
void	 http_multi_free(struct http_multi *);
/*
 * Start one transfer; 0, or -1 with eb set (EK_USAGE as http_perform;
 * EK_BUG when max_in_flight transfers are in flight already).
 */
int	 http_multi_add(struct http_multi *, const struct http_request *req,
	    struct http_response *resp, void *arg, struct errbuf *) HOOKD_WUR;
/*
 * Move transfers along (above).  Returns how many ended, or -1 with eb
 * set (EK_OS: libcurl's multi handle failed).
 */
int	 http_multi_run(struct http_multi *, long timeout_ms,
	    http_done_fn *done, void *cbarg, struct errbuf *) HOOKD_WUR;
/* End every transfer in flight, each reported as interrupted to done. */
void	 http_multi_cancel(struct http_multi *, http_done_fn *done,
	    void *cbarg);
/* Transfers in flight; the most there may be. */
size_t	 http_multi_in_flight(const struct http_multi *);
size_t	 http_multi_capacity(const struct http_multi *);

/* Whether the last failed http_perform() on h was stopped by the flag. */
bool	 http_last_interrupted(const struct http *);

/*
 * The libcurl error code of the last http_perform() on h (CURLE_OK after
 * a received reply).  For callers that need finer detail than the kind.
 */
int	 http_last_curlcode(const struct http *);

#endif /* HOOKD_HTTP_H */
