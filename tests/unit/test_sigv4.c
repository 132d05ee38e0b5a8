/* SPDX-License-Identifier: ISC */
/*
 * test_sigv4: walks every case of the SigV4 test vectors under
 * $SIGV4_TESTSUITE (default SHARED_DIR/sigv4-testsuite) -- the classic
 * aws-sig-v4-test-suite (.req/.creq/.sts/.authz), the CRT suite
 * aws-c-auth-v4 (context.json, request.txt, header-* and query-*) and the
 * S3 documentation examples -- and compares canonical request, string to
 * sign and signature/authorization, in header mode and, where the case
 * has them, in query (presign) mode.  Every failing case is named; the
 * test fails if any case fails or if no case was found.
 */
#include "compat.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "aws/sigv4.h"
#include "errbuf.h"
#include "http.h"
#include "slurp.h"
#include "xalloc.h"

#define CLASSIC_AKID	"AKIDEXAMPLE"
#define CLASSIC_SECRET	"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define CLASSIC_TIME	1440938160	/* 2015-08-30T12:36:00Z */
#define VANILLA_TOKEN	\
	"6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"
#define FILE_MAX	(1024 * 1024)

struct totals {
	int	cases;
	int	failed;
};

static const char *
suite_dir(void)
{
	const char	*d = secure_getenv("SIGV4_TESTSUITE");

	return d != NULL && *d != '\0' ? d : SHARED_DIR "/sigv4-testsuite";
}

/* Expected-value file with trailing whitespace removed, or NULL. */
static char *
expected(const char *dir, const char *name)
{
	char	*p, *s;
	size_t	 len;

	p = xasprintf("%s/%s", dir, name);
	s = slurp_if_exists(p, &len);
	free(p);
	if (s == NULL)
		return NULL;
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r' ||
	    s[len - 1] == ' '))
		s[--len] = '\0';
	return s;
}

/* A parsed test request (request line, headers, body). */
struct treq {
	char			*method;
	char			*path;
	char			*query;
	struct http_headers	 headers;
	char			*body;
	size_t			 body_len;
};

static void
treq_release(struct treq *r)
{
	free(r->method);
	free(r->path);
	free(r->query);
	http_headers_release(&r->headers);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/*
 * Parse "METHOD PATH HTTP/1.1\nName:value\n continuation\n\nbody".  The
 * path may contain spaces (get-space), so the protocol is what follows the
 * last space.  Continuation lines (leading whitespace) are appended to the
 * previous value with a newline; the signer folds it to one space.
 */
static int
treq_parse(const char *text, size_t len, struct treq *r)
{
	const char	*p = text, *end = text + len, *eol, *sp1, *sp2;
	char		*line, *target, *q;
	struct buf	 val;

	memset(r, 0, sizeof(*r));
	http_headers_init(&r->headers);
	eol = memchr(p, '\n', (size_t)(end - p));
	if (eol == NULL)
		eol = end;
	line = xstrndup(p, (size_t)(eol - p));
	if ((sp1 = strchr(line, ' ')) == NULL ||
	    (sp2 = strrchr(line, ' ')) == sp1) {
		free(line);
		return -1;
	}
	r->method = xstrndup(line, (size_t)(sp1 - line));
	target = xstrndup(sp1 + 1, (size_t)(sp2 - sp1 - 1));
	free(line);
	if ((q = strchr(target, '?')) != NULL) {
		*q = '\0';
		r->query = xstrdup(q + 1);
	}
	r->path = target;
	p = eol < end ? eol + 1 : end;

	buf_init(&val, FILE_MAX);
	while (p < end) {
		char	*name = NULL, *colon;

		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			eol = end;
		if (eol == p || (eol == p + 1 && *p == '\r')) {
			p = eol < end ? eol + 1 : end;
			break;
		}
		line = xstrndup(p, (size_t)(eol - p));
		p = eol < end ? eol + 1 : end;
		if ((colon = strchr(line, ':')) == NULL) {
			free(line);
			continue;
		}
		*colon = '\0';
		name = line;
		buf_reset(&val);
		if (buf_addstr(&val, colon + 1) == -1)
			abort();
		/* Continuation lines. */
		while (p < end && (*p == ' ' || *p == '\t')) {
			eol = memchr(p, '\n', (size_t)(end - p));
			if (eol == NULL)
				eol = end;
			if (buf_addch(&val, '\n') == -1 ||
			    buf_add(&val, p, (size_t)(eol - p)) == -1)
				abort();
			p = eol < end ? eol + 1 : end;
		}
		http_headers_add(&r->headers, name, buf_str(&val));
		free(line);
	}
	buf_release(&val);
	r->body_len = (size_t)(end - p);
	r->body = xstrndup(p, r->body_len);
	return 0;
}

static int
check(const char *cas, const char *what, const char *want, const char *got)
{
	if (want == NULL)
		return 0;
	if (got != NULL && strcmp(want, got) == 0)
		return 0;
	fprintf(stderr, "FAIL %s: %s differs\n--- expected\n%s\n--- got\n%s\n",
	    cas, what, want, got == NULL ? "(null)" : got);
	return 1;
}

/* Compare Authorization values, ignoring the spaces after commas. */
static char *
squeeze(const char *s)
{
	char	*o = xstrdup(s), *w = o;

	for (const char *r = s; *r != '\0'; r++) {
		if (*r == ' ' && r > s && r[-1] == ',')
			continue;
		*w++ = *r;
	}
	*w = '\0';
	return o;
}

/*
 * Run one case in one mode.  The expected strings may be NULL (not
 * provided).  Returns the number of mismatches (0 = pass).
 */
static int
run_case(const char *name, const char *reqpath, struct sigv4_params *p,
    bool query_mode, const char *want_creq, const char *want_sts,
    const char *want_sig, const char *want_authz)
{
	struct treq		 r;
	struct sigv4_request	 sr;
	struct sigv4_result	 res;
	struct errbuf		 eb = { 0 };
	char			*text;
	size_t			 len;
	int			 bad = 0, rc;

	if ((text = slurp_if_exists(reqpath, &len)) == NULL) {
		fprintf(stderr, "FAIL %s: cannot read '%s'\n", name, reqpath);
		return 1;
	}
	if (treq_parse(text, len, &r) == -1) {
		fprintf(stderr, "FAIL %s: cannot parse '%s'\n", name, reqpath);
		free(text);
		return 1;
	}
	free(text);
	memset(&sr, 0, sizeof(sr));
	sr.method = r.method;
	sr.path = r.path;
	sr.query = r.query;
	sr.headers = &r.headers;
	sr.body = r.body;
	sr.body_len = r.body_len;
	sigv4_result_init(&res);
	if (query_mode)
		rc = sigv4_presign(p, &sr, &res, &eb);
	else
		rc = sigv4_sign_headers(p, &sr, &res, &eb);
	if (rc == -1) {
		fprintf(stderr, "FAIL %s: %s signing failed: %s\n", name,
		    query_mode ? "query" : "header", eb.msg);
		treq_release(&r);
		return 1;
	}
	bad += check(name, query_mode ? "query canonical request" :
	    "canonical request", want_creq, res.canonical_request);
	bad += check(name, query_mode ? "query string to sign" :
	    "string to sign", want_sts, res.string_to_sign);
	bad += check(name, query_mode ? "query signature" : "signature",
	    want_sig, res.signature);
	if (want_authz != NULL) {
		char	*a = squeeze(want_authz);
		char	*b = squeeze(res.authorization == NULL ? "" :
			    res.authorization);

		bad += check(name, "authorization", a, b);
		free(a);
		free(b);
	}
	if (query_mode && (res.query == NULL ||
	    strstr(res.query, res.signature) == NULL)) {
		fprintf(stderr, "FAIL %s: presigned query lacks signature\n",
		    name);
		bad++;
	}
	sigv4_result_release(&res);
	treq_release(&r);
	return bad;
}

static time_t
parse_ts(const char *s)
{
	struct tm	tm;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) == NULL)
		return (time_t)-1;
	return timegm(&tm);
}

/* Signature from "...Signature=HEX" in an Authorization value. */
static char *
sig_of(const char *authz)
{
	const char	*s;

	if (authz == NULL || (s = strstr(authz, "Signature=")) == NULL)
		return NULL;
	return xstrdup(s + 10);
}

/* Classic suite: directories holding NAME/NAME.req, searched recursively. */
static void
walk_classic(const char *dir, struct totals *t)
{
	DIR		*d;
	struct dirent	*de;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char		*sub, *req, *creq, *sts, *authz, *sig;
		struct stat	 st;
		struct sigv4_params p;

		if (de->d_name[0] == '.')
			continue;
		sub = xasprintf("%s/%s", dir, de->d_name);
		if (stat(sub, &st) == -1 || !S_ISDIR(st.st_mode)) {
			free(sub);
			continue;
		}
		req = xasprintf("%s/%s.req", sub, de->d_name);
		if (access(req, R_OK) == 0) {
			char	*n;

			n = xasprintf("%s.creq", de->d_name);
			creq = expected(sub, n);
			free(n);
			n = xasprintf("%s.sts", de->d_name);
			sts = expected(sub, n);
			free(n);
			n = xasprintf("%s.authz", de->d_name);
			authz = expected(sub, n);
			free(n);
			sig = sig_of(authz);

			memset(&p, 0, sizeof(p));
			p.access_key = CLASSIC_AKID;
			p.secret_key = CLASSIC_SECRET;
			p.region = "us-east-1";
			p.service = "service";
			p.now = CLASSIC_TIME;
			p.normalize_path = true;
			p.double_encode = true;
			/* The suite's README: the signer adds this token. */
			if (strcmp(de->d_name,
			    "get-vanilla-with-session-token") == 0)
				p.session_token = VANILLA_TOKEN;
			t->cases++;
			if (run_case(sub, req, &p, false, creq, sts, sig,
			    authz) != 0)
				t->failed++;
			free(creq);
			free(sts);
			free(authz);
			free(sig);
		}
		free(req);
		walk_classic(sub, t);
		free(sub);
	}
	closedir(d);
}

static const char *
jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static bool
jbool(json_t *o, const char *k, bool dflt)
{
	json_t	*v = json_object_get(o, k);

	return v == NULL ? dflt : json_is_true(v);
}

/*
 * aws-c-auth-v4 and s3-doc-examples: one directory per case with a
 * context.json; the layout is told apart per case by its files.
 */
static void
walk_context(const char *dir, struct totals *t)
{
	DIR		*d;
	struct dirent	*de;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		struct sigv4_params	 p;
		json_error_t		 jerr;
		json_t			*ctx, *cred;
		char			*sub, *cpath, *req;
		char			*creq, *sts, *sig, *authz;
		bool			 s3doc;

		if (de->d_name[0] == '.')
			continue;
		sub = xasprintf("%s/%s", dir, de->d_name);
		cpath = xasprintf("%s/context.json", sub);
		if (access(cpath, R_OK) != 0) {
			free(sub);
			free(cpath);
			continue;
		}
		t->cases++;
		if ((ctx = json_load_file(cpath, 0, &jerr)) == NULL) {
			fprintf(stderr, "FAIL %s: context.json: %s\n", sub,
			    jerr.text);
			t->failed++;
			free(sub);
			free(cpath);
			continue;
		}
		req = xasprintf("%s/request.txt", sub);
		/* S3-docs layout: canonical-request.txt, flat credentials. */
		{
			char	*probe = xasprintf("%s/canonical-request.txt",
				    sub);

			s3doc = access(probe, R_OK) == 0;
			free(probe);
		}
		memset(&p, 0, sizeof(p));
		cred = json_object_get(ctx, "credentials");
		if (cred == NULL)
			cred = ctx;
		p.access_key = jstr(cred, "access_key_id");
		p.secret_key = jstr(cred, "secret_access_key");
		p.session_token = jstr(cred, "token");
		p.region = jstr(ctx, "region");
		p.service = jstr(ctx, "service");
		p.now = parse_ts(jstr(ctx, "timestamp"));
		p.omit_session_token = jbool(ctx, "omit_session_token", false);
		if (s3doc) {
			p.normalize_path = jbool(ctx, "normalize_path", false);
			p.double_encode = jbool(ctx, "double_uri_encode",
			    false);
			p.payload_hash = jstr(ctx, "payload_hash");
		} else {
			/* "normalize": false models S3 (no double encoding). */
			p.normalize_path = jbool(ctx, "normalize", true);
			p.double_encode = p.normalize_path;
			p.sign_body = jbool(ctx, "sign_body", false);
		}

		if (s3doc) {
			json_t	*ex = json_object_get(ctx, "expires");
			bool	 qm = ex != NULL;
			int	 bad;

			creq = expected(sub, "canonical-request.txt");
			sts = expected(sub, "string-to-sign.txt");
			authz = qm ? NULL : expected(sub, "authorization.txt");
			if (qm)
				p.expires =
				    (unsigned int)json_integer_value(ex);
			bad = run_case(sub, req, &p, qm, creq, sts,
			    jstr(ctx, "expected_signature"), authz);
			if (bad != 0)
				t->failed++;
			free(creq);
			free(sts);
			free(authz);
		} else {
			int	bad;

			creq = expected(sub, "header-canonical-request.txt");
			sts = expected(sub, "header-string-to-sign.txt");
			sig = expected(sub, "header-signature.txt");
			bad = run_case(sub, req, &p, false, creq, sts, sig,
			    NULL);
			free(creq);
			free(sts);
			free(sig);
			creq = expected(sub, "query-canonical-request.txt");
			if (creq != NULL) {
				json_t	*ex;

				ex = json_object_get(ctx,
				    "expiration_in_seconds");
				p.expires = ex != NULL ?
				    (unsigned int)json_integer_value(ex) : 3600;
				p.sign_body = false;
				sts = expected(sub, "query-string-to-sign.txt");
				sig = expected(sub, "query-signature.txt");
				bad += run_case(sub, req, &p, true, creq, sts,
				    sig, NULL);
				free(sts);
				free(sig);
				free(creq);
			}
			if (bad != 0)
				t->failed++;
		}
		json_decref(ctx);
		free(req);
		free(cpath);
		free(sub);
	}
	closedir(d);
}

static void
sigv4_passes_every_suite_case(void **state)
{
	struct totals	 all = { 0 }, t;
	char		*dir;

	dir = xasprintf("%s/aws-sig-v4-test-suite", suite_dir());
	memset(&t, 0, sizeof(t));
	walk_classic(dir, &t);
	fprintf(stderr, "aws-sig-v4-test-suite: %d cases, %d failed\n",
	    t.cases, t.failed);
	all.cases += t.cases;
	all.failed += t.failed;
	free(dir);

	dir = xasprintf("%s/aws-c-auth-v4", suite_dir());
	memset(&t, 0, sizeof(t));
	walk_context(dir, &t);
	fprintf(stderr, "aws-c-auth-v4: %d cases, %d failed\n", t.cases,
	    t.failed);
	all.cases += t.cases;
	all.failed += t.failed;
	free(dir);

	dir = xasprintf("%s/s3-doc-examples", suite_dir());
	memset(&t, 0, sizeof(t));
	walk_context(dir, &t);
	fprintf(stderr, "s3-doc-examples: %d cases, %d failed\n", t.cases,
	    t.failed);
	all.cases += t.cases;
	all.failed += t.failed;
	free(dir);

	/* Any other layout: a flat directory of classic or context cases. */
	if (all.cases == 0) {
		walk_classic(suite_dir(), &all);
		walk_context(suite_dir(), &all);
	}
	fprintf(stderr, "sigv4 total: %d cases, %d failed\n", all.cases,
	    all.failed);
	assert_int_not_equal(all.cases, 0);
	assert_int_equal(all.failed, 0);
}

static void
sigv4_uri_encode_keeps_unreserved(void **state)
{
	char	*s;

	s = sigv4_uri_encode("a b/c~d+e=ሴ", true);
	assert_string_equal(s, "a%20b%2Fc~d%2Be%3D%E1%88%B4");
	free(s);
	s = sigv4_uri_encode("dir/key name", false);
	assert_string_equal(s, "dir/key%20name");
	free(s);
}

static void
sigv4_rejects_missing_host(void **state)
{
	struct http_headers	 h;
	struct sigv4_params	 p = { 0 };
	struct sigv4_request	 r = { 0 };
	struct sigv4_result	 res;
	struct errbuf		 eb = { 0 };

	http_headers_init(&h);
	http_headers_add(&h, "Content-Type", "text/plain");
	p.access_key = "AK";
	p.secret_key = "SK";
	p.region = "us-east-1";
	p.service = "sqs";
	p.now = CLASSIC_TIME;
	r.method = "GET";
	r.path = "/";
	r.headers = &h;
	sigv4_result_init(&res);
	assert_int_equal(sigv4_sign_headers(&p, &r, &res, &eb), -1);
	assert_int_equal(eb.kind, EK_USAGE);
	assert_non_null(strstr(eb.msg, "Host"));
	assert_null(strstr(eb.msg, "SK"));
	sigv4_result_release(&res);
	http_headers_release(&h);
}

static void
sigv4_skips_unsignable_headers(void **state)
{
	struct http_headers	 h;
	struct sigv4_params	 p = { 0 };
	struct sigv4_request	 r = { 0 };
	struct sigv4_result	 res;
	struct errbuf		 eb = { 0 };

	http_headers_init(&h);
	http_headers_add(&h, "Host", "127.0.0.1:4566");
	http_headers_add(&h, "User-Agent", "hookd/1");
	http_headers_add(&h, "Expect", "100-continue");
	http_headers_add(&h, "Connection", "keep-alive");
	http_headers_add(&h, "X-Amzn-Trace-Id", "Root=1");
	p.access_key = "AK";
	p.secret_key = "SK";
	p.session_token = "TOKEN";
	p.region = "us-east-1";
	p.service = "s3";
	p.now = CLASSIC_TIME;
	p.sign_body = true;
	r.method = "PUT";
	r.path = "/b/k";
	r.headers = &h;
	r.body = "x";
	r.body_len = 1;
	sigv4_result_init(&res);
	assert_int_equal(sigv4_sign_headers(&p, &r, &res, &eb), 0);
	assert_non_null(strstr(res.authorization, "SignedHeaders=host;"
	    "x-amz-content-sha256;x-amz-date;x-amz-security-token,"));
	assert_non_null(strstr(res.canonical_request,
	    "host:127.0.0.1:4566\n"));
	assert_string_equal(http_headers_get(&h, "x-amz-security-token"),
	    "TOKEN");
	assert_non_null(http_headers_get(&h, "authorization"));
	assert_null(strstr(res.authorization, "SK"));
	sigv4_result_release(&res);
	http_headers_release(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sigv4_passes_every_suite_case),
		cmocka_unit_test(sigv4_uri_encode_keeps_unreserved),
		cmocka_unit_test(sigv4_rejects_missing_host),
		cmocka_unit_test(sigv4_skips_unsignable_headers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
