/* SPDX-License-Identifier: ISC */
/*
 * message.c: parse, validate, sign and serialize deployment messages
 * (message.h has the format and the canonical form), and the name rules
 * shared with the store and the queue.  Everything here treats its input
 * as hostile: the size is capped before parsing, the nesting depth is
 * checked before jansson sees the bytes, every field has a type, a length
 * and a character set, and no rejection echoes more than a short, escaped
 * piece of what it was given.  It does not fetch anything or run anything.
 */
#include "compat.h"

#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "caps.h"
#include "digest.h"
#include "errbuf.h"
#include "message.h"
#include "names.h"
#include "quote.h"
#include "xalloc.h"

#include "banned.h"

#define QUOTE_MAX	64	/* bytes of a bad value shown in messages */
#define CANON_FLAGS	(JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII)

void
message_init(struct message *m)
{
	memset(m, 0, sizeof(*m));
	m->format = BUNDLE_TGZ;
}

void
message_release(struct message *m)
{
	free(m->deployment_id);
	free(m->application);
	free(m->group);
	free(m->location);
	free(m->ref);
	free(m->created_at);
	free(m->created_by);
	free(m->signature);
	free(m->canonical);
	message_init(m);
}

static const char *
q(const char *s, char *buf, size_t bufsz)
{
	return quote_str(s, buf, bufsz);
}

int
msg_check_hex(const char *what, const char *s, size_t len, struct errbuf *eb)
{
	char	 qb[QUOTE_MAX + 8];
	bool	 ok = strlen(s) == len;

	for (size_t i = 0; ok && i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			ok = false;
	if (!ok)
		return errbuf_set(eb, EK_DATA, "%s '%s': must be %zu "
		    "lower-case hex digits", what, q(s, qb, sizeof(qb)), len);
	return 0;
}

/* Printable ASCII, 1..max bytes (0..max with allow_empty). */
static int
check_text(const char *what, const char *s, size_t max, bool allow_empty,
    struct errbuf *eb)
{
	char	 qb[QUOTE_MAX + 8];
	size_t	 n = strlen(s);

	if (n == 0 && !allow_empty)
		return errbuf_set(eb, EK_DATA, "%s: must not be empty", what);
	if (n > max)
		return errbuf_set(eb, EK_DATA, "%s: longer than %zu bytes",
		    what, max);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			return errbuf_set(eb, EK_DATA, "%s '%s': only "
			    "printable ASCII is allowed", what,
			    q(s, qb, sizeof(qb)));
	return 0;
}

static int
two_digits(const char *p, int *ret)
{
	if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
		return -1;
	*ret = (p[0] - '0') * 10 + (p[1] - '0');
	return 0;
}

/*
 * RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM).
 * Returns 0 with the UTC time in *ret, or -1.
 */
static int
parse_rfc3339(const char *s, time_t *ret)
{
	struct tm	 tm = { 0 };
	int		 c, y, mo, d, h, mi, sec, oh, om, sign;
	const char	*p;
	time_t		 t;
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };

	if (strlen(s) < 20 || two_digits(s, &c) == -1 ||
	    two_digits(s + 2, &y) == -1 || s[4] != '-' ||
	    two_digits(s + 5, &mo) == -1 || s[7] != '-' ||
	    two_digits(s + 8, &d) == -1 ||
	    (s[10] != 'T' && s[10] != 't') ||
	    two_digits(s + 11, &h) == -1 || s[13] != ':' ||
	    two_digits(s + 14, &mi) == -1 || s[16] != ':' ||
	    two_digits(s + 17, &sec) == -1)
		return -1;
	y += c * 100;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 ||
	    mi > 59 || sec > 60)
		return -1;
	if (mo == 2 && d == 29 &&
	    !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return -1;
	p = s + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
		oh = om = 0;
		sign = 1;
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 &&
	    two_digits(p + 1, &oh) == 0 && p[3] == ':' &&
	    two_digits(p + 4, &om) == 0 && oh <= 23 && om <= 59) {
		sign = *p == '+' ? 1 : -1;
	} else
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec == 60 ? 59 : sec;
	t = timegm(&tm);
	*ret = t - sign * (oh * 3600 + om * 60);
	return 0;
}

/*
 * The deepest nesting of arrays and objects in a JSON text, counted
 * without parsing, so jansson never recurses deeper than we allow.
 */
static size_t
json_depth(const char *buf, size_t len)
{
	size_t	 depth = 0, max = 0;
	bool	 instr = false, esc = false;

	for (size_t i = 0; i < len; i++) {
		char	 c = buf[i];

		if (instr) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				instr = false;
			continue;
		}
		if (c == '"')
			instr = true;
		else if (c == '[' || c == '{') {
			if (++depth > max)
				max = depth;
		} else if ((c == ']' || c == '}') && depth > 0)
			depth--;
	}
	return max;
}

static const char *
json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "unknown";
}

/*
 * The string member 'key' of obj, copied into *ret.  'name' is the
 * field's full name in messages.  Absent or null is an error unless
 * 'optional' (then *ret stays NULL).
 */
static int
get_string(json_t *obj, const char *key, const char *name, bool optional,
    char **ret, struct errbuf *eb)
{
	json_t		*v = json_object_get(obj, key);
	const char	*sv = NULL;

	if (v == NULL || json_is_null(v)) {
		if (optional)
			return 0;
		errbuf_set(eb, EK_DATA, "%s: missing", name);
		return -1;
	}
	if (!json_is_string(v) || (sv = json_string_value(v)) == NULL) {
		errbuf_set(eb, EK_DATA, "%s: must be a string, not %s", name,
		    json_type_name(v));
		return -1;
	}
	if (strlen(sv) != json_string_length(v)) {
		errbuf_set(eb, EK_DATA, "%s: contains a NUL", name);
		return -1;
	}
	*ret = xstrdup(sv);
	return 0;
}

static int
check_location_syntax(const char *loc, struct errbuf *eb)
{
	char	 qb[QUOTE_MAX + 8];

	if (check_text("revision.location", loc, MESSAGE_LOCATION_MAX, false,
	    eb) == -1)
		return -1;
	if (strncmp(loc, "s3://", 5) != 0 && strncmp(loc, "file:///", 8) != 0)
		return errbuf_set(eb, EK_DATA, "revision.location '%s': must "
		    "be an s3:// or file:/// URL", q(loc, qb, sizeof(qb)));
	return 0;
}

/* Validate every field of a filled-in message. */
static int
message_validate(const struct message *m, struct errbuf *eb)
{
	char	 qb[QUOTE_MAX + 8];

	if (m->deployment_id == NULL || m->application == NULL ||
	    m->group == NULL || m->location == NULL ||
	    m->created_at == NULL || m->created_by == NULL)
		return errbuf_set(eb, EK_DATA, "a required field is not set");
	if (deployment_id_check("deployment_id", m->deployment_id,
	    eb) == -1 ||
	    name_check("application", m->application, eb) == -1 ||
	    name_check("group", m->group, eb) == -1)
		return -1;
	if (m->sequence < 1 || m->sequence > MESSAGE_SEQUENCE_MAX)
		return errbuf_set(eb, EK_DATA, "sequence: %llu is not in "
		    "1..2^53", (unsigned long long)m->sequence);
	if (check_location_syntax(m->location, eb) == -1 ||
	    msg_check_hex("revision.sha256", m->sha256, 64, eb) == -1)
		return -1;
	if (m->commit[0] != '\0' &&
	    msg_check_hex("revision.commit", m->commit, 40, eb) == -1)
		return -1;
	if (m->ref != NULL && check_text("revision.ref", m->ref,
	    MESSAGE_TEXT_MAX, true, eb) == -1)
		return -1;
	if (message_format_name(m->format) == NULL)
		return errbuf_set(eb, EK_DATA, "revision.format: not one of "
		    "tgz, tar, zip");
	if (parse_rfc3339(m->created_at, &(time_t){ 0 }) == -1)
		return errbuf_set(eb, EK_DATA, "created_at '%s': not an RFC "
		    "3339 time", q(m->created_at, qb, sizeof(qb)));
	if (check_text("created_by", m->created_by, MESSAGE_TEXT_MAX, false,
	    eb) == -1)
		return -1;
	if (m->signature != NULL &&
	    msg_check_hex("signature", m->signature, 64, eb) == -1)
		return -1;
	return 0;
}

const char *
message_format_name(enum bundle_format f)
{
	switch (f) {
	case BUNDLE_TGZ:
		return "tgz";
	case BUNDLE_TAR:
		return "tar";
	case BUNDLE_ZIP:
		return "zip";
	case BUNDLE_DIR:
		break;
	}
	return NULL;
}

static int
parse_revision(struct message *m, json_t *rev, struct errbuf *eb)
{
	char	 qb[QUOTE_MAX + 8];
	char	*s = NULL;
	int	 ret = -1;

	if (rev == NULL)
		return errbuf_set(eb, EK_DATA, "revision: missing");
	if (!json_is_object(rev))
		return errbuf_set(eb, EK_DATA, "revision: must be an object, "
		    "not %s", json_type_name(rev));
	if (get_string(rev, "location", "revision.location", false,
	    &m->location, eb) == -1 ||
	    check_location_syntax(m->location, eb) == -1)
		goto out;
	if (get_string(rev, "sha256", "revision.sha256", false, &s, eb) == -1 ||
	    msg_check_hex("revision.sha256", s, 64, eb) == -1)
		goto out;
	(void)strlcpy(m->sha256, s, sizeof(m->sha256));
	free(s);
	s = NULL;
	if (get_string(rev, "commit", "revision.commit", true, &s, eb) == -1)
		goto out;
	if (s != NULL && *s != '\0') {
		if (msg_check_hex("revision.commit", s, 40, eb) == -1)
			goto out;
		(void)strlcpy(m->commit, s, sizeof(m->commit));
	}
	free(s);
	s = NULL;
	if (get_string(rev, "ref", "revision.ref", true, &m->ref, eb) == -1 ||
	    (m->ref != NULL && check_text("revision.ref", m->ref,
	    MESSAGE_TEXT_MAX, true, eb) == -1))
		goto out;
	if (get_string(rev, "format", "revision.format", false, &s, eb) == -1)
		goto out;
	if (strcmp(s, "tgz") == 0)
		m->format = BUNDLE_TGZ;
	else if (strcmp(s, "tar") == 0)
		m->format = BUNDLE_TAR;
	else if (strcmp(s, "zip") == 0)
		m->format = BUNDLE_ZIP;
	else {
		errbuf_set(eb, EK_DATA, "revision.format '%s': must be tgz, "
		    "tar or zip", q(s, qb, sizeof(qb)));
		goto out;
	}
	ret = 0;
 out:
	free(s);
	return ret;
}

static int
parse_fields(struct message *m, json_t *root, struct errbuf *eb)
{
	char	 qb[QUOTE_MAX + 8];
	char	*schema = NULL;
	json_t	*v;
	int	 ret = -1;

	if (get_string(root, "schema", "schema", false, &schema, eb) == -1)
		goto out;
	if (strcmp(schema, MESSAGE_SCHEMA) != 0) {
		errbuf_set(eb, EK_DATA, "unknown schema '%s'",
		    q(schema, qb, sizeof(qb)));
		goto out;
	}
	if (get_string(root, "deployment_id", "deployment_id", false,
	    &m->deployment_id, eb) == -1 ||
	    deployment_id_check("deployment_id", m->deployment_id,
	    eb) == -1)
		goto out;
	if (get_string(root, "application", "application", false,
	    &m->application, eb) == -1 ||
	    name_check("application", m->application, eb) == -1)
		goto out;
	if (get_string(root, "group", "group", false, &m->group, eb) == -1 ||
	    name_check("group", m->group, eb) == -1)
		goto out;
	if ((v = json_object_get(root, "sequence")) == NULL) {
		errbuf_set(eb, EK_DATA, "sequence: missing");
		goto out;
	}
	if (!json_is_integer(v)) {
		errbuf_set(eb, EK_DATA, "sequence: must be an integer, not %s",
		    json_type_name(v));
		goto out;
	}
	if (json_integer_value(v) < 1 ||
	    (uint64_t)json_integer_value(v) > MESSAGE_SEQUENCE_MAX) {
		errbuf_set(eb, EK_DATA, "sequence: %lld is not in 1..2^53",
		    (long long)json_integer_value(v));
		goto out;
	}
	m->sequence = (uint64_t)json_integer_value(v);
	if (parse_revision(m, json_object_get(root, "revision"), eb) == -1)
		goto out;
	if (get_string(root, "created_at", "created_at", false,
	    &m->created_at, eb) == -1)
		goto out;
	if (parse_rfc3339(m->created_at, &m->created) == -1) {
		errbuf_set(eb, EK_DATA, "created_at '%s': not an RFC 3339 "
		    "time", q(m->created_at, qb, sizeof(qb)));
		goto out;
	}
	if (get_string(root, "created_by", "created_by", false,
	    &m->created_by, eb) == -1 ||
	    check_text("created_by", m->created_by, MESSAGE_TEXT_MAX, false,
	    eb) == -1)
		goto out;
	if ((v = json_object_get(root, "ignore_application_stop_failures")) !=
	    NULL) {
		if (!json_is_boolean(v)) {
			errbuf_set(eb, EK_DATA, "ignore_application_stop_"
			    "failures: must be true or false, not %s",
			    json_type_name(v));
			goto out;
		}
		m->ignore_stop_failures = json_is_true(v);
	}
	if (get_string(root, "signature", "signature", true, &m->signature,
	    eb) == -1 || (m->signature != NULL &&
	    msg_check_hex("signature", m->signature, 64, eb) == -1))
		goto out;
	/* Optional, default true: BlockTraffic/AllowTraffic (issue 16). */
	if ((v = json_object_get(root, "traffic_control")) != NULL) {
		if (!json_is_boolean(v)) {
			errbuf_set(eb, EK_DATA, "traffic_control: must be true "
			    "or false, not %s", json_type_name(v));
			goto out;
		}
		m->no_traffic_control = json_is_false(v);
	}
	ret = 0;
 out:
	free(schema);
	return ret;
}

int
message_parse(const char *buf, size_t len, struct message *ret_msg,
    struct errbuf *eb)
{
	struct message	 m;
	json_error_t	 jerr;
	json_t		*root = NULL;
	char		*canon = NULL;
	char		 qb[QUOTE_MAX + 8];
	int		 ret = -1;

	message_init(&m);
	if (len > DEPLOY_MSG_MAX) {
		errbuf_set(eb, EK_DATA, "message is %zu bytes; the limit is %d",
		    len, DEPLOY_MSG_MAX);
		goto out;
	}
	if (json_depth(buf, len) > MESSAGE_DEPTH_MAX) {
		errbuf_set(eb, EK_DATA, "message is nested deeper than %d "
		    "levels", MESSAGE_DEPTH_MAX);
		goto out;
	}
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		errbuf_set(eb, EK_DATA, "not valid JSON: %d:%d: %s",
		    jerr.line, jerr.column,
		    q(jerr.text, qb, sizeof(qb)));
		goto out;
	}
	if (!json_is_object(root)) {
		errbuf_set(eb, EK_DATA, "message must be a JSON object, not %s",
		    json_type_name(root));
		goto out;
	}
	if (parse_fields(&m, root, eb) == -1)
		goto out;
	/* The canonical form covers everything but the signature. */
	(void)json_object_del(root, "signature");
	if ((canon = json_dumps(root, CANON_FLAGS)) == NULL) {
		errbuf_set(eb, EK_BUG, "cannot serialize the message");
		goto out;
	}
	m.canonical = xstrdup(canon);
	m.canonical_len = strlen(canon);
	*ret_msg = m;
	ret = 0;
 out:
	free(canon);
	if (root != NULL)
		json_decref(root);
	if (ret == -1)
		message_release(&m);
	return ret;
}

static json_t *
build_json(const struct message *m, bool with_signature)
{
	json_t	*rev, *root;

	rev = json_pack("{s:s, s:s, s:s}", "location", m->location,
	    "sha256", m->sha256, "format", message_format_name(m->format));
	if (rev == NULL)
		return NULL;
	if (m->commit[0] != '\0')
		(void)json_object_set_new(rev, "commit",
		    json_string(m->commit));
	if (m->ref != NULL)
		(void)json_object_set_new(rev, "ref", json_string(m->ref));
	root = json_pack("{s:s, s:s, s:s, s:s, s:I, s:o, s:s, s:s}",
	    "schema", MESSAGE_SCHEMA, "deployment_id", m->deployment_id,
	    "application", m->application, "group", m->group,
	    "sequence", (json_int_t)m->sequence, "revision", rev,
	    "created_at", m->created_at, "created_by", m->created_by);
	if (root == NULL)
		return NULL;
	/* Only when set: older messages keep their canonical form. */
	if (m->ignore_stop_failures)
		(void)json_object_set_new(root,
		    "ignore_application_stop_failures", json_true());
	if (m->no_traffic_control)
		(void)json_object_set_new(root, "traffic_control",
		    json_false());
	if (with_signature && m->signature != NULL)
		(void)json_object_set_new(root, "signature",
		    json_string(m->signature));
	return root;
}

struct json_t *
message_to_json(const struct message *m, struct errbuf *eb)
{
	json_t	*root;

	if (message_validate(m, eb) == -1)
		return NULL;
	if ((root = build_json(m, true)) == NULL)
		errbuf_set(eb, EK_BUG, "cannot build the message JSON");
	return root;
}

int
message_serialize(const struct message *m, char **ret_json, size_t *ret_len,
    struct errbuf *eb)
{
	json_t	*root;
	char	*s;

	if ((root = message_to_json(m, eb)) == NULL)
		return -1;
	s = json_dumps(root, CANON_FLAGS);
	json_decref(root);
	if (s == NULL)
		return errbuf_set(eb, EK_BUG, "cannot serialize the message");
	*ret_json = xstrdup(s);
	if (ret_len != NULL)
		*ret_len = strlen(s);
	free(s);
	return 0;
}

/* The HMAC-SHA256 of the message's canonical form under key. */
static int
message_mac(const struct message *m, const unsigned char *key, size_t keylen,
    unsigned char ret_mac[DIGEST_SHA256_LEN], struct errbuf *eb)
{
	if (key == NULL || keylen == 0 || keylen > MESSAGE_KEY_MAX)
		return errbuf_set(eb, EK_BUG, "cannot sign the message: a key "
		    "of %zu bytes (1 to %d)", keylen, MESSAGE_KEY_MAX);
	if (digest_hmac_sha256(key, keylen, m->canonical, m->canonical_len,
	    ret_mac, eb) == -1)
		return errbuf_prefix(eb, "cannot sign the message: ");
	return 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
message_sign(struct message *m, const unsigned char *key, size_t keylen,
    struct errbuf *eb)
{
	unsigned char	 mac[32];
	json_t		*root;
	char		*canon, *sig;

	free(m->signature);
	m->signature = NULL;
	if (message_validate(m, eb) == -1)
		return -1;
	if ((root = build_json(m, false)) == NULL)
		return errbuf_set(eb, EK_BUG, "cannot build the message JSON");
	canon = json_dumps(root, CANON_FLAGS);
	json_decref(root);
	if (canon == NULL)
		return errbuf_set(eb, EK_BUG, "cannot serialize the message");
	free(m->canonical);
	m->canonical = xstrdup(canon);
	m->canonical_len = strlen(canon);
	free(canon);
	if (key == NULL)
		return 0;
	if (message_mac(m, key, keylen, mac, eb) == -1)
		return -1;
	sig = xmalloc(DIGEST_SHA256_HEX + 1);
	digest_hex(mac, sizeof(mac), sig);
	m->signature = sig;
	return 0;
}

int
message_verify(const struct message *m, const unsigned char *key,
    size_t keylen, struct errbuf *eb)
{
	unsigned char	 mac[32], got[32];

	if (m->signature == NULL)
		return errbuf_set(eb, EK_DATA, "message is not signed, and a "
		    "message key is configured");
	if (m->canonical == NULL)
		return errbuf_set(eb, EK_BUG, "message has no canonical form");
	if (strlen(m->signature) != 64)
		return errbuf_set(eb, EK_DATA, "bad message signature");
	for (size_t i = 0; i < 32; i++) {
		int	 hi = hexval(m->signature[2 * i]);
		int	 lo = hexval(m->signature[2 * i + 1]);

		if (hi == -1 || lo == -1)
			return errbuf_set(eb, EK_DATA, "bad message signature");
		got[i] = (unsigned char)(hi << 4 | lo);
	}
	if (message_mac(m, key, keylen, mac, eb) == -1)
		return -1;
	if (!digest_equal(mac, got, sizeof(mac)))
		return errbuf_set(eb, EK_DATA, "bad message signature "
		    "(HMAC-SHA256 does not match)");
	return 0;
}

/*
 * A plain file name inside revisions/APP/: letters, digits, '.', '_',
 * '-', not starting with '.'.
 */
static bool
revision_name_ok(const char *s)
{
	if (*s == '\0' || *s == '.' || strlen(s) > 255)
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' ||
		    *s == '-'))
			return false;
	return true;
}

int
message_check_location(const struct message *m, const char *store_url,
    char **ret_key, struct errbuf *eb)
{
	char		 qb[QUOTE_MAX + 8];
	const char	*loc = m->location, *rest;
	size_t		 ulen;
	char		*prefix = NULL;
	int		 ret = -1;

	if (loc == NULL || m->application == NULL)
		return errbuf_set(eb, EK_BUG, "message has no location");
	ulen = strlen(store_url);
	while (ulen > 0 && store_url[ulen - 1] == '/')
		ulen--;
	for (const char *p = loc; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f ||
		    *p == '%' || *p == '\\' || *p == '?' || *p == '#') {
			errbuf_set(eb, EK_DATA, "revision.location '%s': "
			    "contains '%c' or a control character",
			    q(loc, qb, sizeof(qb)),
			    (unsigned char)*p < 0x20 ? '?' : *p);
			goto out;
		}
	}
	if (strstr(loc + (strncmp(loc, "file:///", 8) == 0 ? 8 : 5),
	    "//") != NULL || strstr(loc, "/./") != NULL ||
	    strstr(loc, "/../") != NULL) {
		errbuf_set(eb, EK_DATA, "revision.location '%s': contains an "
		    "empty, '.' or '..' path segment", q(loc, qb, sizeof(qb)));
		goto out;
	}
	prefix = xasprintf("%.*s/revisions/%s/", (int)ulen, store_url,
	    m->application);
	if (strncmp(loc, prefix, strlen(prefix)) != 0) {
		char	 qs[QUOTE_MAX + 8];

		errbuf_set(eb, EK_DATA, "revision.location '%s' is outside "
		    "the store's '%s'", q(loc, qb, sizeof(qb)),
		    quote_str(prefix, qs, sizeof(qs)));
		goto out;
	}
	rest = loc + strlen(prefix);
	if (!revision_name_ok(rest)) {
		errbuf_set(eb, EK_DATA, "revision.location '%s': the bundle "
		    "must be a plain file name directly under '%s'",
		    q(loc, qb, sizeof(qb)), prefix);
		goto out;
	}
	*ret_key = xasprintf("revisions/%s/%s", m->application, rest);
	ret = 0;
 out:
	free(prefix);
	return ret;
}

int
message_check_target(const struct message *m, const char *application,
    const char *group, struct errbuf *eb)
{
	if (strcmp(m->application, application) != 0 ||
	    strcmp(m->group, group) != 0)
		return errbuf_set(eb, EK_DATA, "message is for '%s/%s'; this "
		    "host serves '%s/%s'", m->application, m->group,
		    application, group);
	return 0;
}

int
message_load_key(const char *path, unsigned char **ret_key, size_t *ret_len,
    struct errbuf *eb)
{
	struct stat	 st;
	unsigned char	*key = NULL;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd, ret = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK)) == -1)
		return errbuf_errno(eb, errno == ENOENT ? EK_NOINPUT : EK_IO,
		    "message_key_file '%s'", path);
	if (fstat(fd, &st) == -1) {
		errbuf_errno(eb, EK_IO, "message_key_file '%s'", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		errbuf_set(eb, EK_CONFIG, "message_key_file '%s': not a "
		    "regular file", path);
		goto out;
	}
	if ((st.st_mode & 0077) != 0) {
		errbuf_set(eb, EK_CONFIG, "message_key_file '%s': readable by "
		    "others (mode %04o); chmod 600", path,
		    (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		errbuf_set(eb, EK_CONFIG, "message_key_file '%s': owned by "
		    "uid %u, not by root or this user", path,
		    (unsigned)st.st_uid);
		goto out;
	}
	key = xmalloc(MESSAGE_KEY_MAX + 1);
	while (len <= MESSAGE_KEY_MAX) {
		n = read(fd, key + len, MESSAGE_KEY_MAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			errbuf_errno(eb, EK_IO, "message_key_file '%s'", path);
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	while (len > 0 && (key[len - 1] == '\n' || key[len - 1] == '\r'))
		len--;
	if (len == 0 || len > MESSAGE_KEY_MAX) {
		errbuf_set(eb, EK_CONFIG, "message_key_file '%s': the key must "
		    "be 1..%d bytes", path, MESSAGE_KEY_MAX);
		goto out;
	}
	*ret_key = key;
	*ret_len = len;
	key = NULL;
	ret = 0;
 out:
	if (key != NULL)
		freezero(key, MESSAGE_KEY_MAX + 1);
	close(fd);
	return ret;
}
