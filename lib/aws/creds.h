/* SPDX-License-Identifier: ISC */
/*
 * creds.h: where AWS credentials, the region and service endpoints come
 * from.
 *
 * Credentials follow the standard chain: the environment
 * (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), then the
 * shared files (AWS_SHARED_CREDENTIALS_FILE, default ~/.aws/credentials,
 * "[NAME]" sections; AWS_CONFIG_FILE, default ~/.aws/config, "[profile
 * NAME]" sections and "[default]"; profile AWS_PROFILE, default
 * "default"), then IMDSv2 instance-role credentials, cached until 5
 * minutes before their Expiration and refreshed on demand.
 *
 * Region: AWS_REGION, AWS_DEFAULT_REGION, the profile's "region", then
 * IMDS placement/region.  Endpoints: https://SERVICE.REGION.amazonaws.com
 * unless AWS_ENDPOINT_URL_<SERVICE_ID> or AWS_ENDPOINT_URL is set.
 *
 * Secrets (secret key, session token) never appear in error messages or
 * logs, and are wiped (explicit_bzero) when released.
 */
#ifndef HOOKD_AWS_CREDS_H
#define HOOKD_AWS_CREDS_H

#include <stdbool.h>
#include <time.h>

#include "caps.h"
#include "compat.h"

struct errbuf;
struct imds;

#define AWS_CREDS_REFRESH_SEC	300	/* refresh IMDS creds this early */

/* Where a set of credentials came from. */
enum aws_creds_source {
	AWS_CREDS_NONE = 0,
	AWS_CREDS_ENV,		/* AWS_ACCESS_KEY_ID ... */
	AWS_CREDS_FILE,		/* shared credentials/config file */
	AWS_CREDS_IMDS,		/* instance role */
	AWS_CREDS_STATIC,	/* given by the program (tests, config) */
};

/* One set of credentials.  All strings owned; wiped on release. */
struct aws_creds {
	char			*access_key;
	char			*secret_key;
	char			*session_token;	/* NULL when none */
	time_t			 expiration;	/* 0: does not expire */
	enum aws_creds_source	 source;
};

void	 aws_creds_init(struct aws_creds *);
/* explicit_bzero and free every string; safe on a zeroed struct. */
void	 aws_creds_release(struct aws_creds *);
/* Deep copy src into *ret (caller releases). */
void	 aws_creds_copy(const struct aws_creds *src, struct aws_creds *ret);
/* "environment", "shared file", "instance role", ... */
const char *aws_creds_source_name(enum aws_creds_source);

/*
 * The credentials provider: resolves the chain once, caches the result
 * and refreshes instance-role credentials before they expire.  Owned by
 * struct aws_client; may be shared if the caller keeps it alive.
 */
struct aws_credprov;

/*
 * Create a provider.  profile: NULL for $AWS_PROFILE or "default".
 * imds: borrowed IMDS client for the instance-role step (may be NULL:
 * no IMDS step); must outlive the provider.  Does no I/O.  Returns a new
 * provider (free with aws_credprov_free()).
 */
struct aws_credprov *aws_credprov_new(const char *profile, struct imds *imds);

/*
 * A provider that always returns a copy of creds (tests, explicit keys).
 * Copies creds.
 */
struct aws_credprov *aws_credprov_new_static(const struct aws_creds *creds);

/* Free the provider, wiping cached secrets; NULL-safe. */
void	 aws_credprov_free(struct aws_credprov *);

/*
 * Current credentials, borrowed (valid until the next call on the provider
 * or its free).  Resolves the chain on first use; afterwards returns the
 * cache unless it expires within AWS_CREDS_REFRESH_SEC.  May block on
 * IMDS (a few seconds at most).  Returns 0, or -1 with eb set:
 *   EK_CONFIG   no credentials anywhere ("no AWS credentials found: ...
 *               (tried environment, shared files 'PATH', instance
 *               metadata)"), or a half-set environment / profile
 *   EK_IO       a shared file exists but cannot be read
 *   EK_UNAVAIL/EK_TEMP/EK_PROTO/EK_PERM  from IMDS
 */
int	 aws_credprov_get(struct aws_credprov *, const struct aws_creds **ret,
	    struct errbuf *) HOOKD_WUR;

/*
 * Forget cached credentials so the next aws_credprov_get() resolves again
 * (after a 403 ExpiredToken / InvalidClientTokenId from a service).  Only
 * refreshable sources (IMDS) are dropped; returns true if something was
 * dropped, i.e. a retry could help.
 */
bool	 aws_credprov_invalidate(struct aws_credprov *);

/*
 * Read one value from the shared files for profile (NULL: $AWS_PROFILE
 * or "default"): the credentials file first for aws_access_key_id,
 * aws_secret_access_key and aws_session_token, the config file first for
 * everything else ("region", ...).  Returns 0 and a new string in *ret
 * (caller frees), 1 when the key or file is absent (*ret untouched), or
 * -1 with eb set (EK_IO unreadable, EK_CONFIG too large / malformed).
 */
int	 aws_profile_get(const char *profile, const char *key, char **ret,
	    struct errbuf *) HOOKD_WUR;

/*
 * Shared credentials from the files only (no environment, no IMDS), for
 * tests and 'validate'.  Returns 0 and fills *ret, 1 if the profile has no
 * keys, -1 with eb set (EK_IO, EK_CONFIG: key id without secret).
 */
int	 aws_creds_from_files(const char *profile, struct aws_creds *ret,
	    struct errbuf *) HOOKD_WUR;

/*
 * Credentials from the environment only.  Returns 0 and fills *ret, 1 when
 * AWS_ACCESS_KEY_ID is unset, -1 with eb set (EK_CONFIG: only one of the
 * two variables set).
 */
int	 aws_creds_from_env(struct aws_creds *ret, struct errbuf *) HOOKD_WUR;

/*
 * Resolve the region: AWS_REGION, AWS_DEFAULT_REGION, the profile's
 * region, then IMDS placement/region (when imds != NULL).  Returns 0 and
 * a new string in *ret (caller frees), or -1 with eb set (EK_CONFIG "no
 * AWS region: set AWS_REGION or region in the config", or the IMDS/file
 * error).  May block on IMDS.
 */
int	 aws_region_resolve(const char *profile, struct imds *imds,
	    char **ret, struct errbuf *) HOOKD_WUR;

/*
 * The endpoint for a service, as a URL without trailing slash.
 * service_id is the AWS service id used for the override variable: "SQS",
 * "S3", "Auto Scaling" (-> AWS_ENDPOINT_URL_SQS, _S3, _AUTO_SCALING);
 * prefix is the host prefix: "sqs", "s3", "autoscaling".
 * AWS_ENDPOINT_URL_<ID> wins, then AWS_ENDPOINT_URL, then
 * https://PREFIX.REGION.amazonaws.com (".amazonaws.com.cn" for cn-*).
 * *ret_custom (may be NULL) says whether an override was used.
 * Returns 0 and a new string, or -1 with eb set (EK_CONFIG: the override
 * is not an http(s) URL, or region is missing/invalid).
 */
int	 aws_endpoint(const char *service_id, const char *prefix,
	    const char *region, char **ret, bool *ret_custom,
	    struct errbuf *) HOOKD_WUR;

/*
 * Whether S3 requests to endpoint should be path-style
 * (ENDPOINT/BUCKET/KEY) rather than virtual-hosted
 * (BUCKET.ENDPOINT-HOST/KEY): true when the host is an IP address or
 * "localhost", when AWS_S3_FORCE_PATH_STYLE / HOOKD_S3_PATH_STYLE is
 * "true"/"1", or when the bucket name contains a '.' or is not a valid
 * DNS label (virtual hosting would break TLS).  bucket may be NULL.
 */
bool	 aws_s3_path_style(const char *endpoint, const char *bucket);

#endif /* HOOKD_AWS_CREDS_H */
