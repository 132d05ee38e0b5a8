/* SPDX-License-Identifier: ISC */
/*
 * creds.c: the AWS credential chain, the shared config/credentials file
 * parser, region resolution and service endpoints (see creds.h).
 *
 * The shared files are the INI dialect the AWS CLI documents ("Configuration
 * and credential file settings"): "[name]" sections in the credentials
 * file, "[profile name]" (and "[default]") in the config file, "key =
 * value" lines, whole-line comments starting with '#' or ';', and
 * indented sub-section lines (e.g. under "s3 =") which we skip.  Values are
 * never put in error messages, since they may be secrets.
 */
#include "compat.h"

#include <sys/stat.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "aws/creds.h"
#include "aws/imds.h"
#include "errbuf.h"
#include "log.h"
#include "xalloc.h"
#include "banned.h"

struct aws_credprov {
	char			*profile;	/* NULL: env/default */
	struct imds		*imds;		/* borrowed */
	bool			 is_static;
	bool			 have;
	struct aws_creds	 cur;
};

void
aws_creds_init(struct aws_creds *c)
{
	memset(c, 0, sizeof(*c));
}

static void
wipe_free(char *s)
{
	if (s != NULL)
		freezero(s, strlen(s));
}

void
aws_creds_release(struct aws_creds *c)
{
	wipe_free(c->access_key);
	wipe_free(c->secret_key);
	wipe_free(c->session_token);
	explicit_bzero(c, sizeof(*c));
}

void
aws_creds_copy(const struct aws_creds *src, struct aws_creds *ret)
{
	struct aws_creds	c;

	aws_creds_init(&c);
	c.access_key = src->access_key == NULL ? NULL :
	    xstrdup(src->access_key);
	c.secret_key = src->secret_key == NULL ? NULL :
	    xstrdup(src->secret_key);
	c.session_token = src->session_token == NULL ? NULL :
	    xstrdup(src->session_token);
	c.expiration = src->expiration;
	c.source = src->source;
	*ret = c;
}

const char *
aws_creds_source_name(enum aws_creds_source s)
{
	switch (s) {
	case AWS_CREDS_ENV:
		return "environment";
	case AWS_CREDS_FILE:
		return "shared file";
	case AWS_CREDS_IMDS:
		return "instance role";
	case AWS_CREDS_STATIC:
		return "static";
	case AWS_CREDS_NONE:
		break;
	}
	return "none";
}

static const char *
env(const char *name)
{
	const char	*v = secure_getenv(name);

	return v != NULL && *v != '\0' ? v : NULL;
}

static const char *
profile_name(const char *profile)
{
	const char	*p;

	if (profile != NULL && *profile != '\0')
		return profile;
	if ((p = env("AWS_PROFILE")) != NULL)
		return p;
	return "default";
}

/* $HOME, or the passwd entry's directory. */
static char *
home_dir(void)
{
	struct passwd	 pw, *res = NULL;
	char		 pbuf[4096];
	const char	*h;

	if ((h = env("HOME")) != NULL)
		return xstrdup(h);
	if (getpwuid_r(getuid(), &pw, pbuf, sizeof(pbuf), &res) == 0 &&
	    res != NULL && pw.pw_dir != NULL)
		return xstrdup(pw.pw_dir);
	return NULL;
}

/*
 * Path of a shared file: $VAR (a leading "~/" expanded) or
 * ~/.aws/DEFLT.  New string, or NULL when there is no home directory.
 */
static char *
shared_path(const char *var, const char *deflt)
{
	const char	*v = env(var);
	char		*home, *p;

	if (v != NULL && strncmp(v, "~/", 2) != 0)
		return xstrdup(v);
	if ((home = home_dir()) == NULL)
		return NULL;
	if (v != NULL)
		p = xasprintf("%s/%s", home, v + 2);
	else
		p = xasprintf("%s/.aws/%s", home, deflt);
	free(home);
	return p;
}

/*
 * Read a whole shared file.  Returns 0 and a new string, 1 when it does
 * not exist, -1 with eb set.
 */
static int
read_file(const char *path, char **ret, struct errbuf *eb)
{
	struct stat	 st;
	char		*data;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 1;
		return errbuf_errno(eb, EK_IO, "cannot open '%s'", path);
	}
	if (fstat(fd, &st) == -1) {
		errbuf_errno(eb, EK_IO, "cannot stat '%s'", path);
		close(fd);
		return -1;
	}
	if (st.st_size > AWS_CONFIG_FILE_MAX) {
		close(fd);
		return errbuf_set(eb, EK_CONFIG, "'%s' is larger than %d bytes",
		    path, AWS_CONFIG_FILE_MAX);
	}
	data = xmalloc(AWS_CONFIG_FILE_MAX + 1);
	while (len < AWS_CONFIG_FILE_MAX &&
	    (n = read(fd, data + len, AWS_CONFIG_FILE_MAX - len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			errbuf_errno(eb, EK_IO, "cannot read '%s'", path);
			close(fd);
			freezero(data, AWS_CONFIG_FILE_MAX + 1);
			return -1;
		}
		len += (size_t)n;
	}
	close(fd);
	data[len] = '\0';
	*ret = data;
	return 0;
}

static char *
trim(char *s)
{
	char	*e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/*
 * Whether section header text (between the brackets, trimmed) names
 * profile.  Config file: "profile NAME", or "default" for the default
 * profile; credentials file: "NAME".
 */
static bool
section_matches(const char *sec, bool config, const char *profile)
{
	if (!config)
		return strcmp(sec, profile) == 0;
	if (strncmp(sec, "profile", 7) == 0 && (sec[7] == ' ' ||
	    sec[7] == '\t')) {
		sec += 8;
		while (*sec == ' ' || *sec == '\t')
			sec++;
		return strcmp(sec, profile) == 0;
	}
	return strcmp(profile, "default") == 0 && strcmp(sec, "default") == 0;
}

/*
 * Look key up in profile's section of the file at path.  Returns 0 and a
 * new string in *ret, 1 when absent, -1 with eb set.  A malformed line is
 * reported with its line number (never its content: it may be a secret).
 */
static int
shared_lookup(const char *path, bool config, const char *profile,
    const char *key, char **ret, struct errbuf *eb)
{
	char		*data = NULL, *line, *next, *found = NULL;
	bool		 in = false;
	unsigned long	 lineno = 0;
	int		 rc;

	if ((rc = read_file(path, &data, eb)) != 0)
		return rc;
	for (line = data; line != NULL; line = next) {
		char	*s, *eq;

		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		/* Indented lines continue a nested sub-section; skip. */
		if (*line == ' ' || *line == '\t') {
			s = trim(line);
			if (*s == '\0' || *s == '#' || *s == ';' ||
			    strchr(s, '=') != NULL)
				continue;
		}
		s = trim(line);
		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char	*e = strchr(s, ']');

			if (e == NULL) {
				errbuf_set(eb, EK_CONFIG, "%s:%lu: section "
				    "header without ']'", path, lineno);
				goto fail;
			}
			*e = '\0';
			in = section_matches(trim(s + 1), config, profile);
			continue;
		}
		if (!in || line[0] == ' ' || line[0] == '\t')
			continue;
		if ((eq = strchr(s, '=')) == NULL) {
			errbuf_set(eb, EK_CONFIG, "%s:%lu: expected "
			    "'key = value'", path, lineno);
			goto fail;
		}
		*eq = '\0';
		if (strcasecmp(trim(s), key) == 0 && found == NULL)
			found = xstrdup(trim(eq + 1));
	}
	/* read_file() set data: the analyzer does not follow it there. */
	/* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker) */
	freezero(data, strlen(data) + 1);
	if (found == NULL)
		return 1;
	*ret = found;
	return 0;
 fail:
	freezero(data, strlen(data) + 1);
	if (found != NULL)
		wipe_free(found);
	return -1;
}

/*
 * key from the two files, in the order the CLI uses: credentials file
 * first for the key-pair settings, config file first for the rest.
 */
int
aws_profile_get(const char *profile, const char *key, char **ret,
    struct errbuf *eb)
{
	char		*cpath, *fpath, *paths[2];
	bool		 isconf[2];
	const char	*prof = profile_name(profile);
	int		 rc = 1;

	cpath = shared_path("AWS_SHARED_CREDENTIALS_FILE", "credentials");
	fpath = shared_path("AWS_CONFIG_FILE", "config");
	if (strncmp(key, "aws_", 4) == 0) {
		paths[0] = cpath;
		isconf[0] = false;
		paths[1] = fpath;
		isconf[1] = true;
	} else {
		paths[0] = fpath;
		isconf[0] = true;
		paths[1] = cpath;
		isconf[1] = false;
	}
	for (int i = 0; i < 2 && rc == 1; i++) {
		if (paths[i] == NULL)
			continue;
		rc = shared_lookup(paths[i], isconf[i], prof, key, ret, eb);
	}
	free(cpath);
	free(fpath);
	return rc;
}

int
aws_creds_from_env(struct aws_creds *ret, struct errbuf *eb)
{
	struct aws_creds	 c;
	const char		*ak, *sk, *tok;

	ak = env("AWS_ACCESS_KEY_ID");
	sk = env("AWS_SECRET_ACCESS_KEY");
	tok = env("AWS_SESSION_TOKEN");
	if (ak == NULL && sk == NULL)
		return 1;
	if (ak == NULL || sk == NULL)
		return errbuf_set(eb, EK_CONFIG, "%s is set but %s is not",
		    ak != NULL ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
		    ak != NULL ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
	aws_creds_init(&c);
	c.access_key = xstrdup(ak);
	c.secret_key = xstrdup(sk);
	c.session_token = tok != NULL ? xstrdup(tok) : NULL;
	c.source = AWS_CREDS_ENV;
	*ret = c;
	return 0;
}

int
aws_creds_from_files(const char *profile, struct aws_creds *ret,
    struct errbuf *eb)
{
	struct aws_creds	 c;
	const char		*prof = profile_name(profile);
	int			 rc;

	aws_creds_init(&c);
	rc = aws_profile_get(prof, "aws_access_key_id", &c.access_key, eb);
	if (rc != 0)
		return rc;
	rc = aws_profile_get(prof, "aws_secret_access_key", &c.secret_key,
	    eb);
	if (rc == -1)
		goto fail;
	if (rc == 1 || *c.secret_key == '\0' || *c.access_key == '\0') {
		errbuf_set(eb, EK_CONFIG, "profile '%s' has "
		    "aws_access_key_id but no aws_secret_access_key", prof);
		goto fail;
	}
	rc = aws_profile_get(prof, "aws_session_token", &c.session_token, eb);
	if (rc == -1)
		goto fail;
	if (c.session_token != NULL && *c.session_token == '\0') {
		free(c.session_token);
		c.session_token = NULL;
	}
	c.source = AWS_CREDS_FILE;
	*ret = c;
	return 0;
 fail:
	aws_creds_release(&c);
	return -1;
}

struct aws_credprov *
aws_credprov_new(const char *profile, struct imds *imds)
{
	struct aws_credprov	*cp;

	cp = xcalloc(1, sizeof(*cp));
	cp->profile = profile != NULL ? xstrdup(profile) : NULL;
	cp->imds = imds;
	aws_creds_init(&cp->cur);
	return cp;
}

struct aws_credprov *
aws_credprov_new_static(const struct aws_creds *creds)
{
	struct aws_credprov	*cp;

	cp = xcalloc(1, sizeof(*cp));
	cp->is_static = true;
	cp->have = true;
	aws_creds_copy(creds, &cp->cur);
	if (cp->cur.source == AWS_CREDS_NONE)
		cp->cur.source = AWS_CREDS_STATIC;
	return cp;
}

void
aws_credprov_free(struct aws_credprov *cp)
{
	if (cp == NULL)
		return;
	aws_creds_release(&cp->cur);
	free(cp->profile);
	free(cp);
}

static bool
fresh(const struct aws_creds *c)
{
	return c->expiration == 0 ||
	    time(NULL) < c->expiration - AWS_CREDS_REFRESH_SEC;
}

int
aws_credprov_get(struct aws_credprov *cp, const struct aws_creds **ret,
    struct errbuf *eb)
{
	struct aws_creds	 c;
	struct errbuf		 ie = { 0 };
	char			*cpath, *fpath;
	int			 rc;

	if (cp->have && (cp->is_static || fresh(&cp->cur))) {
		*ret = &cp->cur;
		return 0;
	}
	aws_creds_init(&c);
	if ((rc = aws_creds_from_env(&c, eb)) == -1)
		return -1;
	if (rc == 1 && (rc = aws_creds_from_files(cp->profile, &c, eb)) == -1)
		return -1;
	if (rc == 1 && cp->imds != NULL && imds_enabled(cp->imds)) {
		if (imds_role_creds(cp->imds, &c, &ie) == 0)
			rc = 0;
		else if (cp->have && time(NULL) < cp->cur.expiration) {
			/*
			 * A refresh ahead of expiry failed; the cached
			 * credentials are still valid, so keep using them.
			 */
			log_debug("aws: credential refresh failed, using "
			    "cached: %s", ie.msg);
			*ret = &cp->cur;
			return 0;
		}
	}
	if (rc == 1) {
		cpath = shared_path("AWS_SHARED_CREDENTIALS_FILE",
		    "credentials");
		fpath = shared_path("AWS_CONFIG_FILE", "config");
		errbuf_set(eb, EK_CONFIG, "no AWS credentials found (tried "
		    "the environment, profile '%s' in '%s' and '%s', and "
		    "instance metadata%s%s)", profile_name(cp->profile),
		    cpath != NULL ? cpath : "~/.aws/credentials",
		    fpath != NULL ? fpath : "~/.aws/config",
		    ie.msg[0] != '\0' ? ": " : "",
		    ie.msg[0] != '\0' ? ie.msg :
		    (cp->imds != NULL && imds_enabled(cp->imds) ? "" :
		    " (disabled)"));
		free(cpath);
		free(fpath);
		return -1;
	}
	log_debug("aws: credentials from %s", aws_creds_source_name(c.source));
	aws_creds_release(&cp->cur);
	cp->cur = c;
	cp->have = true;
	*ret = &cp->cur;
	return 0;
}

bool
aws_credprov_invalidate(struct aws_credprov *cp)
{
	if (cp->is_static || !cp->have || cp->cur.source != AWS_CREDS_IMDS)
		return false;
	aws_creds_release(&cp->cur);
	cp->have = false;
	return true;
}

static bool
valid_region(const char *r)
{
	if (r == NULL || *r == '\0' || strlen(r) > 64)
		return false;
	for (; *r != '\0'; r++)
		if (!(islower((unsigned char)*r) ||
		    isdigit((unsigned char)*r) || *r == '-'))
			return false;
	return true;
}

int
aws_region_resolve(const char *profile, struct imds *imds, char **ret,
    struct errbuf *eb)
{
	const char	*r;
	char		*v = NULL;
	struct errbuf	 ie = { 0 };
	int		 rc;

	if ((r = env("AWS_REGION")) != NULL ||
	    (r = env("AWS_DEFAULT_REGION")) != NULL)
		v = xstrdup(r);
	else if ((rc = aws_profile_get(profile, "region", &v, eb)) == -1)
		return -1;
	else if (rc == 1 && imds != NULL && imds_enabled(imds)) {
		if (imds_region(imds, &v, &ie) == -1)
			v = NULL;
	}
	if (v == NULL)
		return errbuf_set(eb, EK_CONFIG, "no AWS region: set "
		    "AWS_REGION or 'region' in the config%s%s",
		    ie.msg[0] != '\0' ? " (" : "", ie.msg[0] != '\0' ?
		    ie.msg : "");
	if (!valid_region(v)) {
		errbuf_set(eb, EK_CONFIG, "invalid AWS region '%s'", v);
		free(v);
		return -1;
	}
	*ret = v;
	return 0;
}

static bool
is_http_url(const char *u)
{
	return (strncmp(u, "http://", 7) == 0 && u[7] != '\0') ||
	    (strncmp(u, "https://", 8) == 0 && u[8] != '\0');
}

int
aws_endpoint(const char *service_id, const char *prefix, const char *region,
    char **ret, bool *ret_custom, struct errbuf *eb)
{
	char		 var[96], *u;
	const char	*v, *which;
	size_t		 o, len;

	o = strlcpy(var, "AWS_ENDPOINT_URL_", sizeof(var));
	for (const char *s = service_id; *s != '\0' && o + 1 < sizeof(var);
	    s++)
		var[o++] = *s == ' ' || *s == '-' ? '_' :
		    (char)toupper((unsigned char)*s);
	var[o] = '\0';
	which = var;
	if ((v = env(var)) == NULL) {
		which = "AWS_ENDPOINT_URL";
		v = env(which);
	}
	if (v != NULL) {
		if (!is_http_url(v))
			return errbuf_set(eb, EK_CONFIG, "%s '%s' is not an "
			    "http:// or https:// URL", which, v);
		u = xstrdup(v);
		len = strlen(u);
		while (len > 8 && u[len - 1] == '/')
			u[--len] = '\0';
		if (ret_custom != NULL)
			*ret_custom = true;
		*ret = u;
		return 0;
	}
	if (!valid_region(region))
		return errbuf_set(eb, EK_CONFIG, "invalid AWS region '%s'",
		    region == NULL ? "" : region);
	*ret = xasprintf("https://%s.%s.amazonaws.com%s", prefix, region,
	    strncmp(region, "cn-", 3) == 0 ? ".cn" : "");
	if (ret_custom != NULL)
		*ret_custom = false;
	return 0;
}

static bool
env_true(const char *name)
{
	const char	*v = env(name);

	return v != NULL && (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

/* Whether bucket can be a DNS label of a virtual host (no dots). */
static bool
dns_bucket(const char *b)
{
	size_t	len = strlen(b);

	if (len < 3 || len > 63)
		return false;
	for (size_t i = 0; i < len; i++) {
		char	c = b[i];

		if (!(islower((unsigned char)c) || isdigit((unsigned char)c) ||
		    c == '-'))
			return false;
	}
	return b[0] != '-' && b[len - 1] != '-';
}

bool
aws_s3_path_style(const char *endpoint, const char *bucket)
{
	const char	*h, *e;
	char		 host[256], tmp[16];
	size_t		 len;

	if (env_true("AWS_S3_FORCE_PATH_STYLE") ||
	    env_true("HOOKD_S3_PATH_STYLE"))
		return true;
	if (bucket != NULL && !dns_bucket(bucket))
		return true;
	if (endpoint == NULL)
		return false;
	if ((h = strstr(endpoint, "://")) != NULL)
		h += 3;
	else
		h = endpoint;
	if (*h == '[')
		return true;	/* IPv6 literal */
	e = h + strcspn(h, ":/?");
	len = (size_t)(e - h);
	if (len == 0 || len >= sizeof(host))
		return true;
	memcpy(host, h, len);
	host[len] = '\0';
	if (strcasecmp(host, "localhost") == 0 ||
	    inet_pton(AF_INET, host, tmp) == 1)
		return true;
	return false;
}
