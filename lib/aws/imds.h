/* SPDX-License-Identifier: ISC */
/*
 * imds.h: the EC2 instance metadata service, version 2 (session tokens).
 * PUT /latest/api/token with X-aws-ec2-metadata-token-ttl-seconds, then
 * GETs carrying X-aws-ec2-metadata-token.  The token is cached and taken
 * again on a 401.  Endpoint: AWS_EC2_METADATA_SERVICE_ENDPOINT (default
 * http://169.254.169.254); AWS_EC2_METADATA_DISABLED=true turns it off.
 *
 * Timeouts are short (1 s connect, 2 s total, one retry) so that a host
 * that is not on EC2 fails fast with "instance metadata service
 * unreachable at URL: ...".  An unreachable service is remembered for
 * 60 s, so the next calls fail at once instead of waiting again.
 */
#ifndef HOOKD_AWS_IMDS_H
#define HOOKD_AWS_IMDS_H

#include <stdbool.h>

#include "caps.h"
#include "compat.h"

struct aws_creds;
struct errbuf;

#define IMDS_ENDPOINT_DEFAULT	"http://169.254.169.254"
#define IMDS_TOKEN_TTL_SEC	21600
#define IMDS_CONNECT_TIMEOUT_MS	1000
#define IMDS_TIMEOUT_MS		2000
#define IMDS_ATTEMPTS		2	/* first try + one retry */

struct imds;

/*
 * Create an IMDS client.  endpoint: NULL for the environment / default.
 * Does no I/O.  Returns a new client (free with imds_free()).
 */
struct imds *imds_new(const char *endpoint);
/* Free the client (its HTTP handle and the wiped token); NULL-safe. */
void	 imds_free(struct imds *);

/* False when AWS_EC2_METADATA_DISABLED is "true" (any case). */
bool	 imds_enabled(const struct imds *);

/*
 * GET /latest/PATH (path relative to /latest/, e.g.
 * "meta-data/instance-id"), returning the body as a new NUL-terminated
 * string in *ret (caller frees), trailing newline kept as sent.
 * Blocks for at most ~IMDS_ATTEMPTS * IMDS_TIMEOUT_MS.
 * Returns 0, or -1 with eb set:
 *   EK_UNAVAIL  disabled, or unreachable ("instance metadata service
 *               unreachable at URL: ...")
 *   EK_NOINPUT  404 (no such item)
 *   EK_PERM     403 (IMDS disabled for the instance / hop limit)
 *   EK_TEMP     other 5xx / 429 after the retry
 *   EK_PROTO    other replies, oversize body
 */
int	 imds_get(struct imds *, const char *path, char **ret,
	    struct errbuf *) HOOKD_WUR;

/* The instance id ("i-..."), new string.  Errors as imds_get(). */
int	 imds_instance_id(struct imds *, char **ret, struct errbuf *) HOOKD_WUR;

/* The region (placement/region), new string.  Errors as imds_get(). */
int	 imds_region(struct imds *, char **ret, struct errbuf *) HOOKD_WUR;

/*
 * The value of instance tag key (tags/instance/KEY; needs instance
 * metadata tags enabled), new string without trailing newline.
 * EK_NOINPUT when the tag (or tag access) is absent.
 */
int	 imds_tag(struct imds *, const char *key, char **ret,
	    struct errbuf *) HOOKD_WUR;

/*
 * The instance identity document (dynamic/instance-identity/document),
 * raw JSON text, new string.
 */
int	 imds_identity_document(struct imds *, char **ret,
	    struct errbuf *) HOOKD_WUR;

/*
 * The instance role's credentials: iam/security-credentials/ gives the
 * role name, iam/security-credentials/ROLE the JSON with AccessKeyId,
 * SecretAccessKey, Token and Expiration (RFC 3339).  Fills *ret
 * (caller releases with aws_creds_release()), source AWS_CREDS_IMDS.
 * EK_NOINPUT when the instance has no role; EK_PROTO for a reply without
 * the fields or with Code other than "Success".
 */
int	 imds_role_creds(struct imds *, struct aws_creds *ret,
	    struct errbuf *) HOOKD_WUR;

#endif /* HOOKD_AWS_IMDS_H */
