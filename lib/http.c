/* SPDX-License-Identifier: ISC */
/*
 * http.c: the libcurl easy-handle wrapper (see http.h).  One CURL handle
 * per struct http, reset (not recreated) between requests so its
 * connection cache and DNS cache survive: curl_easy_reset() keeps live
 * connections.  After http_fresh_connections() (in a forked deployment
 * process) a handle made before it is abandoned at its next request for
 * a new one, so the parent's connections are never used or closed.
 * libcurl error codes are translated to errbuf kinds here
 * and nowhere else.  Debug logs carry the method, the URL without its
 * query (a presigned query holds a signature and maybe a token) and the
 * status; header values are never logged.
 *
 * The multi interface (http_multi_*) runs many transfers at once over
 * one connection cache: each transfer gets an easy handle from a free
 * list and gives it back when it ends; one transfer's setup and end are
 * the same code as http_perform()'s (xfer_setup, xfer_finish).
 */
#include "compat.h"

#include <sys/types.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "caps.h"
#include "errbuf.h"
#include "http.h"
#include "log.h"
#include "version.h"
#include "xalloc.h"
#include "dl_curl.h"

#include "banned.h"

struct http {
	CURL		*curl;
	CURLM		*multi;		/* with a wake fd: keeps connections */
	unsigned	 gen;		/* http_gen when curl was made */
	CURLcode	 last;
	bool		 transient;
	bool		 interrupted;	/* the abort flag stopped it */
	char		 cerr[CURL_ERROR_SIZE];
};

/* State shared with the libcurl callbacks during one transfer. */
struct xfer {
	CURL				*curl;
	const struct http_request	*req;
	struct http_response		*resp;
	struct curl_slist		*sl;		/* its headers */
	char				*cerr;		/* CURL_ERROR_SIZE */
	bool				 transient;	/* outcome ... */
	bool				 interrupted;	/* ... of the end */
	size_t				 sent;		/* body bytes read */
	bool				 toobig;	/* body over cap */
	bool				 out_toobig;	/* over out_max */
	bool				 io_err;	/* fd I/O failed */
	int				 io_errno;
	bool				 cb_abort;	/* on_chunk said stop */
	bool				 hdr_overflow;
};

void
http_headers_init(struct http_headers *hl)
{
	memset(hl, 0, sizeof(*hl));
}

static void
header_free(struct http_header *hd)
{
	free(hd->name);
	if (hd->value != NULL)
		freezero(hd->value, strlen(hd->value));
	hd->name = hd->value = NULL;
}

void
http_headers_release(struct http_headers *hl)
{
	for (size_t i = 0; i < hl->n; i++)
		header_free(&hl->v[i]);
	free(hl->v);
	memset(hl, 0, sizeof(*hl));
}

void
http_headers_add(struct http_headers *hl, const char *name, const char *value)
{
	if (hl->n == hl->cap) {
		hl->cap = hl->cap == 0 ? 8 : hl->cap * 2;
		hl->v = xreallocarray(hl->v, hl->cap, sizeof(*hl->v));
	}
	hl->v[hl->n].name = xstrdup(name);
	hl->v[hl->n].value = xstrdup(value);
	hl->n++;
}

void
http_headers_del(struct http_headers *hl, const char *name)
{
	size_t	o = 0;

	for (size_t i = 0; i < hl->n; i++) {
		if (strcasecmp(hl->v[i].name, name) == 0) {
			header_free(&hl->v[i]);
			continue;
		}
		hl->v[o++] = hl->v[i];
	}
	hl->n = o;
}

void
http_headers_set(struct http_headers *hl, const char *name, const char *value)
{
	char	*nv;

	for (size_t i = 0; i < hl->n; i++) {
		if (strcasecmp(hl->v[i].name, name) != 0)
			continue;
		/* Replace in place, then drop any later duplicates. */
		nv = xstrdup(value);
		freezero(hl->v[i].value, strlen(hl->v[i].value));
		hl->v[i].value = nv;
		for (size_t j = i + 1; j < hl->n; ) {
			if (strcasecmp(hl->v[j].name, name) == 0) {
				header_free(&hl->v[j]);
				memmove(&hl->v[j], &hl->v[j + 1],
				    (hl->n - j - 1) * sizeof(*hl->v));
				hl->n--;
			} else
				j++;
		}
		return;
	}
	http_headers_add(hl, name, value);
}

const char *
http_headers_get(const struct http_headers *hl, const char *name)
{
	if (hl == NULL)
		return NULL;
	for (size_t i = 0; i < hl->n; i++)
		if (strcasecmp(hl->v[i].name, name) == 0)
			return hl->v[i].value;
	return NULL;
}

void
http_response_init(struct http_response *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->body, HTTP_BODY_MAX);
	http_headers_init(&r->headers);
}

void
http_response_release(struct http_response *r)
{
	buf_release(&r->body);
	http_headers_release(&r->headers);
	r->status = 0;
	r->out_bytes = 0;
}

const char *
http_response_header(const struct http_response *r, const char *name)
{
	return http_headers_get(&r->headers, name);
}

/*
 * Bumped by http_fresh_connections(): a handle made under an older
 * generation belongs to the parent process and is never touched again.
 */
static unsigned	 http_gen;

void
http_fresh_connections(void)
{
	http_gen++;
}

struct http *
http_new(struct errbuf *eb)
{
	struct http	*h;

	if (dl_load(DL_CURL, eb) == -1)
		return NULL;
	h = xcalloc(1, sizeof(*h));
	if ((h->curl = curl_easy_init()) == NULL) {
		free(h);
		errbuf_set(eb, EK_OS, "cannot create a libcurl handle");
		return NULL;
	}
	h->gen = http_gen;
	return h;
}

void
http_free(struct http *h)
{
	if (h == NULL)
		return;
	/* An inherited handle is abandoned, never cleaned up (see .h). */
	if (h->gen == http_gen) {
		if (h->multi != NULL)
			(void)curl_multi_cleanup(h->multi);
		if (h->curl != NULL)
			curl_easy_cleanup(h->curl);
	}
	free(h);
}

/* The caller's abort flag (http_set_abort_flag); NULL: none. */
static volatile sig_atomic_t	*abort_flag;

void
http_set_abort_flag(volatile sig_atomic_t *flag)
{
	abort_flag = flag;
}

static bool
aborting(void)
{
	return abort_flag != NULL && *abort_flag != 0;
}

bool
http_abort_requested(void)
{
	return aborting();
}

/* The caller's wake-up fd (http_set_wake_fd); -1: none. */
static int	 wake_fd = -1;

void
http_set_wake_fd(int fd)
{
	wake_fd = fd;
}

/*
 * libcurl's progress function: called at least about once a second
 * while a transfer waits (a long poll), so a non-zero return stops the
 * transfer with CURLE_ABORTED_BY_CALLBACK within about a second of the
 * flag being set.
 */
static int
xferinfo_cb(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	return aborting() ? 1 : 0;
}

bool
http_last_interrupted(const struct http *h)
{
	return h->interrupted;
}

bool
http_last_transient(const struct http *h)
{
	return h->transient;
}

int
http_last_curlcode(const struct http *h)
{
	return (int)h->last;
}

static bool
status_2xx(struct xfer *x)
{
	long	code = 0;

	curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &code);
	return code >= 200 && code < 300;
}

static size_t
write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct xfer	*x = arg;
	size_t		 len = size * nmemb, off = 0;

	if (x->req->out_fd != -1 && status_2xx(x)) {
		if (x->req->out_max > 0 &&
		    len > x->req->out_max - x->resp->out_bytes) {
			x->out_toobig = true;
			return 0;
		}
		while (off < len) {
			ssize_t	n = write(x->req->out_fd, ptr + off,
			    len - off);

			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1) {
				x->io_err = true;
				x->io_errno = errno;
				return 0;
			}
			off += (size_t)n;
		}
		x->resp->out_bytes += len;
		if (x->req->on_chunk != NULL &&
		    x->req->on_chunk(x->req->chunk_arg, ptr, len) == -1) {
			x->cb_abort = true;
			return 0;
		}
		return len;
	}
	if (buf_add(&x->resp->body, ptr, len) == -1) {
		x->toobig = true;
		return 0;
	}
	return len;
}

static size_t
header_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct xfer	*x = arg;
	size_t		 len = size * nmemb, nlen;
	char		*line, *colon, *v, *e;

	/* A new status line (100 Continue, then the real one): start over. */
	if (len >= 5 && strncasecmp(ptr, "HTTP/", 5) == 0) {
		http_headers_release(&x->resp->headers);
		return len;
	}
	if (len > HTTP_HEADER_MAX || x->resp->headers.n >= HTTP_HEADERS_MAX) {
		x->hdr_overflow = true;
		return len;	/* ignore, but keep going */
	}
	line = xstrndup(ptr, len);
	if ((colon = strchr(line, ':')) != NULL) {
		*colon = '\0';
		nlen = strlen(line);
		while (nlen > 0 && (line[nlen - 1] == ' ' ||
		    line[nlen - 1] == '\t'))
			line[--nlen] = '\0';
		v = colon + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		e = v + strlen(v);
		while (e > v && (e[-1] == '\r' || e[-1] == '\n' ||
		    e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		if (nlen > 0)
			http_headers_add(&x->resp->headers, line, v);
	}
	free(line);
	return len;
}

static size_t
read_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct xfer			*x = arg;
	const struct http_request	*r = x->req;
	size_t				 want = size * nmemb, left;
	ssize_t				 n;

	left = r->body_len - x->sent;
	if (want > left)
		want = left;
	if (want == 0)
		return 0;
	if (r->body != NULL) {
		memcpy(ptr, (const char *)r->body + x->sent, want);
		x->sent += want;
		return want;
	}
	do {
		n = pread(r->body_fd, ptr, want,
		    r->body_off + (off_t)x->sent);
	} while (n == -1 && errno == EINTR);
	if (n <= 0) {
		x->io_err = true;
		x->io_errno = n == 0 ? EIO : errno;	/* file shrank */
		return CURL_READFUNC_ABORT;
	}
	x->sent += (size_t)n;
	return (size_t)n;
}

static int
seek_cb(void *arg, curl_off_t offset, int origin)
{
	struct xfer	*x = arg;

	if (origin != SEEK_SET || offset < 0 ||
	    (uint64_t)offset > x->req->body_len)
		return CURL_SEEKFUNC_CANTSEEK;
	x->sent = (size_t)offset;
	return CURL_SEEKFUNC_OK;
}


/*
 * Run the transfer on c through h's multi handle (which keeps the
 * connections from one transfer to the next), sleeping in
 * curl_multi_poll() until libcurl has work (its own timers: the request
 * timeout, the low-speed check) or wake_fd is readable.
 * curl_easy_perform() wakes every second instead, to call the progress
 * function: all an idle long poll would do.  wake_fd is never read:
 * once it has woken us, the rest of the transfer polls for at most
 * HTTP_WOKEN_POLL_MS at a time without it (each curl_multi_perform()
 * calls the progress function, which sees the abort flag), so a byte
 * left there for its owner cannot make us spin.
 */
static CURLcode
perform_waking(struct http *h, CURL *c)
{
	struct curl_waitfd	 wfd;
	CURLMsg			*msg;
	CURLcode		 rc = CURLE_OK;
	CURLMcode		 mc;
	bool			 woken = false;
	int			 running = 1, left;

	if (h->multi == NULL && (h->multi = curl_multi_init()) == NULL)
		return CURLE_OUT_OF_MEMORY;
	if (curl_multi_add_handle(h->multi, c) != CURLM_OK)
		return CURLE_FAILED_INIT;
	for (;;) {
		if ((mc = curl_multi_perform(h->multi, &running)) !=
		    CURLM_OK) {
			rc = mc == CURLM_OUT_OF_MEMORY ? CURLE_OUT_OF_MEMORY :
			    CURLE_FAILED_INIT;
			break;
		}
		if (running == 0)
			break;
		memset(&wfd, 0, sizeof(wfd));
		wfd.fd = wake_fd;
		wfd.events = CURL_WAIT_POLLIN;
		if (woken)
			mc = curl_multi_poll(h->multi, NULL, 0,
			    HTTP_WOKEN_POLL_MS, NULL);
		else
			mc = curl_multi_poll(h->multi, &wfd, 1,
			    HTTP_IDLE_POLL_MS, NULL);
		if (mc != CURLM_OK) {
			rc = CURLE_FAILED_INIT;
			break;
		}
		if (wfd.revents != 0)
			woken = true;
	}
	while ((msg = curl_multi_info_read(h->multi, &left)) != NULL)
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == c)
			rc = msg->data.result;
	(void)curl_multi_remove_handle(h->multi, c);
	return rc;
}
/* The URL up to '?', for messages (a query may hold a signature). */
static char *
url_noquery(const char *url)
{
	return xstrndup(url, strcspn(url, "?"));
}

static int
curl_fail(struct xfer *x, CURLcode rc, const char *url, struct errbuf *eb)
{
	const char	*why = x->cerr[0] != '\0' ? x->cerr :
			    curl_easy_strerror(rc);
	char		*u = url_noquery(url);
	int		 r;

	x->transient = false;
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		x->transient = true;
		/* FALLTHROUGH */
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		r = errbuf_set(eb, EK_UNAVAIL, "cannot connect to '%s': %s",
		    u, why);
		break;
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
		x->transient = true;
		r = errbuf_set(eb, EK_TEMP, "request to '%s' failed: %s",
		    u, why);
		break;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		r = errbuf_set(eb, EK_USAGE, "bad URL '%s': %s", u, why);
		break;
	case CURLE_ABORTED_BY_CALLBACK:
		if (x->interrupted) {
			r = errbuf_set(eb, EK_TEMP, "request to '%s' "
			    "interrupted", u);
			break;
		}
		/* FALLTHROUGH */
	default:
		if (x->toobig)
			r = errbuf_set(eb, EK_PROTO, "reply from '%s' larger "
			    "than %zu bytes", u, x->resp->body.max);
		else if (x->out_toobig || rc == CURLE_FILESIZE_EXCEEDED)
			r = errbuf_set(eb, EK_DATA, "'%s': larger than %llu "
			    "bytes", u, (unsigned long long)x->req->out_max);
		else if (x->cb_abort)
			r = errbuf_set(eb, EK_IO, "download from '%s' aborted "
			    "by its consumer", u);
		else if (x->io_err)
			r = errbuf_errnum(eb, EK_IO, x->io_errno,
			    "transfer of '%s' failed: %s", u,
			    rc == CURLE_WRITE_ERROR ? "cannot write body" :
			    "cannot read body");
		else
			r = errbuf_set(eb, EK_PROTO, "request to '%s' failed: "
			    "%s", u, why);
		break;
	}
	free(u);
	return r;
}

static struct curl_slist *
build_headers(const struct http_request *req, struct errbuf *eb)
{
	struct curl_slist	*sl = NULL, *n;
	char			*line;

	/*
	 * Never send "Expect: 100-continue": it costs a round trip and is
	 * not signed.  An empty "Name:" tells libcurl to drop its own.
	 */
	if ((sl = curl_slist_append(sl, "Expect:")) == NULL)
		goto oom;
	for (size_t i = 0; req->headers != NULL && i < req->headers->n; i++) {
		const struct http_header *hd = &req->headers->v[i];

		/* "Name;" sends a header with an empty value. */
		if (*hd->value == '\0')
			line = xasprintf("%s;", hd->name);
		else
			line = xasprintf("%s: %s", hd->name, hd->value);
		n = curl_slist_append(sl, line);
		freezero(line, strlen(line));
		if (n == NULL)
			goto oom;
		sl = n;
	}
	return sl;
 oom:
	curl_slist_free_all(sl);
	errbuf_set(eb, EK_OS, "cannot build request headers");
	return NULL;
}

/*
 * Reset resp and set up x->curl for x->req: headers, options, callbacks.
 * Returns 0, or -1 with eb set (x->sl is then NULL).
 */
static int
xfer_setup(struct xfer *x, struct errbuf *eb)
{
	const struct http_request	*req = x->req;
	struct http_response		*resp = x->resp;
	CURL				*c = x->curl;
	bool				 upload;

	buf_release(&resp->body);
	buf_init(&resp->body, req->body_max != 0 ? req->body_max :
	    HTTP_BODY_MAX);
	http_headers_release(&resp->headers);
	resp->status = 0;
	resp->out_bytes = 0;
	if ((x->sl = build_headers(req, eb)) == NULL)
		return -1;

	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, req->url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->cerr);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "hookd/" HOOKD_VERSION);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	    req->connect_timeout_ms > 0 ? req->connect_timeout_ms :
	    (long)HTTP_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, req->timeout_ms > 0 ?
	    req->timeout_ms : (long)HTTP_TIMEOUT_MS);
	if (!req->no_low_speed) {
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT,
		    (long)HTTP_LOW_SPEED_BYTES);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME,
		    (long)HTTP_LOW_SPEED_SEC);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, x->sl);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	if (req->out_fd != -1 && req->out_max > 0)
		curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
		    (curl_off_t)req->out_max);
	if (abort_flag != NULL) {
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	}
	/* Accept-Encoding stays off: S3 digests are over the stored bytes. */

	upload = req->body != NULL || req->body_fd != -1 ||
	    strcmp(req->method, "PUT") == 0 || strcmp(req->method, "POST") == 0;
	if (strcmp(req->method, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (upload) {
		/*
		 * Every body goes through the read callback with a known
		 * size, so libcurl sends Content-Length and never chunks;
		 * CUSTOMREQUEST turns the implied PUT into the real verb.
		 */
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
		curl_easy_setopt(c, CURLOPT_READDATA, x);
		curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, seek_cb);
		curl_easy_setopt(c, CURLOPT_SEEKDATA, x);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
		    (curl_off_t)req->body_len);
		if (strcmp(req->method, "PUT") != 0)
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST,
			    req->method);
	} else if (strcmp(req->method, "GET") != 0) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
	}
	return 0;
}

/*
 * The end of x's transfer with libcurl's code rc: the status, the debug
 * line, the error.  Leaves no pointer into x in its handle.  Returns 0
 * when a reply was received, else -1 with eb set and x->transient,
 * x->interrupted saying why.
 */
static int
xfer_finish(struct xfer *x, CURLcode rc, struct errbuf *eb)
{
	const struct http_request	*req = x->req;
	CURL				*c = x->curl;
	int				 ret = -1;

	/* Aborted by the flag, not by a write or read callback. */
	if (rc == CURLE_ABORTED_BY_CALLBACK && aborting() && !x->cb_abort &&
	    !x->io_err && !x->toobig && !x->out_toobig)
		x->interrupted = true;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &x->resp->status);
	if (rc != CURLE_OK) {
		char	*u = url_noquery(req->url);

		log_debug("http %s %s: curl error %d", req->method, u,
		    (int)rc);
		free(u);
		curl_fail(x, rc, req->url, eb);
		goto out;
	}
	if (log_getverbose() > 0) {
		char	*u = url_noquery(req->url);

		log_debug("http %s %s -> %ld", req->method, u,
		    x->resp->status);
		free(u);
	}
	ret = 0;
 out:
	/* Do not leave pointers into x in the handle. */
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(c, CURLOPT_PRIVATE, NULL);
	curl_slist_free_all(x->sl);
	x->sl = NULL;
	return ret;
}

/* Check a request before any transfer; 0 or -1 with eb set. */
static int
request_check(const struct http_request *req, struct errbuf *eb)
{
	if (req->method == NULL || req->url == NULL)
		return errbuf_set(eb, EK_USAGE, "http: no method or URL");
	if (req->body != NULL && req->body_fd != -1)
		return errbuf_set(eb, EK_USAGE, "http: two request bodies");
	return 0;
}

int
http_perform(struct http *h, const struct http_request *req,
    struct http_response *resp, struct errbuf *eb)
{
	struct xfer		 x;
	CURL			*c = h->curl;
	CURLcode		 rc;
	int			 ret;

	h->transient = false;
	h->interrupted = false;
	h->last = CURLE_OK;
	h->cerr[0] = '\0';
	if (request_check(req, eb) == -1)
		return -1;

	memset(&x, 0, sizeof(x));
	x.req = req;
	x.resp = resp;
	x.cerr = h->cerr;
	if (aborting()) {
		/* Do not start what the flag would stop. */
		h->last = CURLE_ABORTED_BY_CALLBACK;
		h->interrupted = x.interrupted = true;
		return curl_fail(&x, h->last, req->url, eb);
	}

	if (h->gen != http_gen) {
		/*
		 * Inherited across fork(): its connection cache holds the
		 * parent's sockets (TLS state included), and even a reset
		 * handle may prune and close them.  Leave it untouched and
		 * take a new one, whose connections are ours.
		 */
		if ((c = curl_easy_init()) == NULL)
			return errbuf_set(eb, EK_OS, "cannot create a libcurl "
			    "handle");
		h->curl = c;
		h->multi = NULL;	/* the parent's: left alone */
		h->gen = http_gen;
	}
	x.curl = c;
	if (xfer_setup(&x, eb) == -1)
		return -1;
	rc = wake_fd != -1 ? perform_waking(h, c) : curl_easy_perform(c);
	h->last = rc;
	ret = xfer_finish(&x, rc, eb);
	h->transient = x.transient;
	h->interrupted = x.interrupted;
	return ret;
}

/*
 * The multi interface.  Each transfer has its own easy handle (kept on
 * a free list after it ends, for the next transfer); the connections
 * live in the multi handle's cache, shared by all of them.
 */
struct http_xfer {
	struct xfer		 x;
	struct http_xfer	*next;		/* free list */
	void			*arg;
	bool			 busy;
	char			 cerr[CURL_ERROR_SIZE];
};

struct http_multi {
	CURLM			*multi;
	unsigned		 gen;
	struct http_xfer	*idle;		/* free list */
	struct http_xfer	**busy;		/* in flight, unordered */
	size_t			 nbusy;
	size_t			 cap;		/* most in flight */
	bool			 woken;		/* by the wake fd once */
};

/* One connection per transfer, kept alive for the next ones. */
static void
multi_limits(struct http_multi *m)
{
	curl_multi_setopt(m->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
	    (long)m->cap);
	curl_multi_setopt(m->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
	    (long)m->cap);
	curl_multi_setopt(m->multi, CURLMOPT_MAXCONNECTS, (long)m->cap);
}

struct http_multi *
http_multi_new(unsigned int max_in_flight, struct errbuf *eb)
{
	struct http_multi	*m;

	if (dl_load(DL_CURL, eb) == -1)
		return NULL;
	if (max_in_flight == 0)
		max_in_flight = HTTP_MULTI_DEFAULT;
	m = xcalloc(1, sizeof(*m));
	if ((m->multi = curl_multi_init()) == NULL) {
		free(m);
		errbuf_set(eb, EK_OS, "cannot create a libcurl multi handle");
		return NULL;
	}
	m->gen = http_gen;
	m->cap = max_in_flight;
	m->busy = xcalloc(m->cap, sizeof(*m->busy));
	multi_limits(m);
	return m;
}

static void
xfer_free(struct http_multi *m, struct http_xfer *hx)
{
	if (m->gen == http_gen && hx->x.curl != NULL)
		curl_easy_cleanup(hx->x.curl);
	free(hx);
}

void
http_multi_free(struct http_multi *m)
{
	struct http_xfer	*hx;

	if (m == NULL)
		return;
	for (size_t i = 0; i < m->nbusy; i++) {
		hx = m->busy[i];
		if (m->gen == http_gen) {
			(void)curl_multi_remove_handle(m->multi, hx->x.curl);
			curl_slist_free_all(hx->x.sl);
		}
		xfer_free(m, hx);
	}
	while ((hx = m->idle) != NULL) {
		m->idle = hx->next;
		xfer_free(m, hx);
	}
	/* An inherited handle is abandoned, never cleaned up (see .h). */
	if (m->gen == http_gen)
		(void)curl_multi_cleanup(m->multi);
	free(m->busy);
	free(m);
}

size_t
http_multi_in_flight(const struct http_multi *m)
{
	return m->nbusy;
}

size_t
http_multi_capacity(const struct http_multi *m)
{
	return m->cap;
}

/*
 * Inherited across fork() (a detached deployer driver): the multi
 * handle's connection cache holds the parent's sockets, TLS state
 * included.  Abandon it and its transfers untouched, as http_request()
 * does with an easy handle, and start over with a handle of our own.
 */
static int
multi_renew(struct http_multi *m, struct errbuf *eb)
{
	struct http_xfer	*hx;
	CURLM			*multi;

	if ((multi = curl_multi_init()) == NULL)
		return errbuf_set(eb, EK_OS, "cannot create a libcurl multi "
		    "handle");
	for (size_t i = 0; i < m->nbusy; i++)
		free(m->busy[i]);
	m->nbusy = 0;
	while ((hx = m->idle) != NULL) {
		m->idle = hx->next;
		free(hx);
	}
	m->multi = multi;
	m->gen = http_gen;
	multi_limits(m);
	return 0;
}

int
http_multi_add(struct http_multi *m, const struct http_request *req,
    struct http_response *resp, void *arg, struct errbuf *eb)
{
	struct http_xfer	*hx;
	CURL			*c;

	if (request_check(req, eb) == -1)
		return -1;
	if (m->gen != http_gen && multi_renew(m, eb) == -1)
		return -1;
	if (m->nbusy == m->cap)
		return errbuf_set(eb, EK_BUG, "http: %zu transfers in flight "
		    "already", m->nbusy);
	if ((hx = m->idle) != NULL)
		m->idle = hx->next;
	else {
		hx = xcalloc(1, sizeof(*hx));
		if ((hx->x.curl = curl_easy_init()) == NULL) {
			free(hx);
			return errbuf_set(eb, EK_OS, "cannot create a libcurl "
			    "handle");
		}
	}
	c = hx->x.curl;
	memset(&hx->x, 0, sizeof(hx->x));
	hx->x.curl = c;
	hx->x.req = req;
	hx->x.resp = resp;
	hx->x.cerr = hx->cerr;
	hx->cerr[0] = '\0';
	hx->arg = arg;
	hx->next = NULL;
	if (xfer_setup(&hx->x, eb) == -1)
		goto fail;
	curl_easy_setopt(hx->x.curl, CURLOPT_PRIVATE, hx);
	if (curl_multi_add_handle(m->multi, hx->x.curl) != CURLM_OK) {
		curl_slist_free_all(hx->x.sl);
		hx->x.sl = NULL;
		errbuf_set(eb, EK_OS, "http: cannot start a transfer");
		goto fail;
	}
	m->busy[m->nbusy++] = hx;
	return 0;
 fail:
	hx->next = m->idle;
	m->idle = hx;
	return -1;
}

/* Take hx off the busy list and back to the free list. */
static void
multi_retire(struct http_multi *m, struct http_xfer *hx)
{
	(void)curl_multi_remove_handle(m->multi, hx->x.curl);
	for (size_t i = 0; i < m->nbusy; i++)
		if (m->busy[i] == hx) {
			m->busy[i] = m->busy[--m->nbusy];
			break;
		}
	hx->next = m->idle;
	m->idle = hx;
}

/* Report the end of hx (libcurl code rc) to done, then retire it. */
static void
multi_done(struct http_multi *m, struct http_xfer *hx, CURLcode rc,
    http_done_fn *done, void *cbarg)
{
	struct http_done	 d;

	memset(&d, 0, sizeof(d));
	d.arg = hx->arg;
	d.rc = xfer_finish(&hx->x, rc, &d.eb);
	d.transient = hx->x.transient;
	d.interrupted = hx->x.interrupted;
	multi_retire(m, hx);
	done(cbarg, &d);
}

int
http_multi_run(struct http_multi *m, long timeout_ms, http_done_fn *done,
    void *cbarg, struct errbuf *eb)
{
	struct curl_waitfd	 wfd;
	CURLMsg			*msg;
	CURLMcode		 mc;
	int			 running, left, ndone = 0;

	if (aborting()) {
		http_multi_cancel(m, done, cbarg);
		return 0;
	}
	if ((mc = curl_multi_perform(m->multi, &running)) != CURLM_OK)
		return errbuf_set(eb, EK_OS, "http: %s",
		    curl_multi_strerror(mc));
	while ((msg = curl_multi_info_read(m->multi, &left)) != NULL) {
		struct http_xfer	*hx = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
		    (char **)&hx);
		if (hx == NULL)
			continue;
		multi_done(m, hx, msg->data.result, done, cbarg);
		ndone++;
	}
	if (ndone > 0 || timeout_ms == 0)
		return ndone;
	if (timeout_ms < 0 || timeout_ms > HTTP_IDLE_POLL_MS)
		timeout_ms = HTTP_IDLE_POLL_MS;
	/*
	 * A flag with no fd to wake us, or an fd that woke us once (its
	 * owner drains it, perhaps not before our next poll): look at the
	 * flag every second instead.
	 */
	if (abort_flag != NULL && (wake_fd == -1 || m->woken) &&
	    timeout_ms > HTTP_WOKEN_POLL_MS)
		timeout_ms = HTTP_WOKEN_POLL_MS;
	memset(&wfd, 0, sizeof(wfd));
	wfd.fd = wake_fd;
	wfd.events = CURL_WAIT_POLLIN;
	mc = curl_multi_poll(m->multi, &wfd,
	    wake_fd != -1 && !m->woken ? 1 : 0, (int)timeout_ms, NULL);
	if (mc != CURLM_OK)
		return errbuf_set(eb, EK_OS, "http: %s",
		    curl_multi_strerror(mc));
	if (wfd.revents != 0)
		m->woken = true;
	return 0;
}

void
http_multi_cancel(struct http_multi *m, http_done_fn *done, void *cbarg)
{
	while (m->nbusy > 0) {
		struct http_xfer	*hx = m->busy[m->nbusy - 1];
		struct http_done	 d;

		memset(&d, 0, sizeof(d));
		d.arg = hx->arg;
		d.interrupted = true;
		d.rc = -1;
		hx->x.interrupted = true;
		(void)xfer_finish(&hx->x, CURLE_ABORTED_BY_CALLBACK, &d.eb);
		multi_retire(m, hx);
		if (done != NULL)
			done(cbarg, &d);
	}
}
