/* SPDX-License-Identifier: ISC */
/*
 * admission.c: a deployment message's way to the lifecycle engine
 * (admission.h): parse, location, signature, target, the sequence
 * verdict, fetch, deploy_spec.
 */
#include "compat.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admission.h"
#include "config.h"
#include "errbuf.h"
#include "lifecycle.h"
#include "message.h"
#include "state.h"
#include "store.h"
#include "xalloc.h"

#include "banned.h"

static const char *
root_of(const struct admission *a)
{
	return a->root != NULL ? a->root : a->cfg->root;
}

static const char *
app_of(const struct admission *a)
{
	return a->application != NULL ? a->application :
	    a->cfg->application;
}

int
admission_parse(const struct admission *a, const char *body, size_t len,
    struct message *m, char **ret_key, struct errbuf *eb)
{
	*ret_key = NULL;
	if (message_parse(body, len, m, eb) == -1)
		return -1;
	return message_check_location(m, a->cfg->store, ret_key, eb);
}

int
admission_check(const struct admission *a, const struct message *m,
    struct errbuf *eb)
{
	const struct config	*cfg = a->cfg;

	if (cfg->message_key != NULL && message_verify(m, cfg->message_key,
	    cfg->message_key_len, eb) == -1)
		return -1;
	return message_check_target(m, app_of(a), a->group, eb);
}

int
admission_sequence(const struct admission *a, const struct message *m,
    struct admission_verdict *ret, struct errbuf *eb)
{
	const struct state_hist	*h;
	struct state		 st;
	char			*path;
	int			 rc;

	path = xasprintf("%s/%s/%s/state.json", root_of(a), app_of(a),
	    a->group);
	state_init(&st);
	rc = state_load(path, &st, eb);
	free(path);
	if (rc == -1)
		return -1;
	memset(ret, 0, sizeof(*ret));
	ret->seq = state_seq_verdict(&st, m->deployment_id, m->sequence, &h);
	ret->live = st.current.deployment_id != NULL &&
	    strcmp(st.current.deployment_id, m->deployment_id) == 0;
	if (ret->seq == SEQ_ALREADY && h != NULL)
		(void)snprintf(ret->why, sizeof(ret->why), "deployment %s "
		    "already finished here (%s)", m->deployment_id,
		    h->status != NULL ? h->status : "?");
	else if (ret->seq == SEQ_ALREADY && ret->live)
		(void)snprintf(ret->why, sizeof(ret->why), "deployment %s is "
		    "the live one", m->deployment_id);
	else if (ret->seq == SEQ_ALREADY)
		(void)snprintf(ret->why, sizeof(ret->why), "deployment %s is "
		    "in progress here at sequence %llu", m->deployment_id,
		    (unsigned long long)st.in_progress.rev.sequence);
	else if (ret->seq == SEQ_STALE)
		(void)snprintf(ret->why, sizeof(ret->why), "sequence %llu is "
		    "not above the installed sequence %llu",
		    (unsigned long long)m->sequence,
		    (unsigned long long)st.last_sequence);
	state_release(&st);
	return 0;
}

int
admission_fetch(const struct admission *a, struct store *st,
    const struct message *m, const char *key, char **ret_path,
    struct errbuf *eb)
{
	const char	*ext;
	char		*dir, *path, *tmp;
	int		 rc;

	*ret_path = NULL;
	switch (m->format) {
	case BUNDLE_TAR:
		ext = ".tar";
		break;
	case BUNDLE_ZIP:
		ext = ".zip";
		break;
	default:
		ext = ".tar.gz";
		break;
	}
	dir = xasprintf("%s/cache", root_of(a));
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		errbuf_errno(eb, EK_IO, "cannot create '%s'", dir);
		free(dir);
		return -1;
	}
	path = xasprintf("%s/%s%s", dir, m->deployment_id, ext);
	tmp = xasprintf("%s/.%s%s.tmp", dir, m->deployment_id, ext);
	free(dir);
	rc = store_get_file(st, key, tmp, m->sha256,
	    a->cfg->max_bundle_bytes, NULL, eb);
	if (rc == 0 && rename(tmp, path) == -1)
		rc = errbuf_errno(eb, EK_IO, "cannot rename '%s' to '%s'",
		    tmp, path);
	if (rc == -1) {
		(void)unlink(tmp);
		free(path);
	} else
		*ret_path = path;
	free(tmp);
	return rc;
}

void
admission_spec(const struct admission *a, const struct message *m,
    const char *bundle, struct deploy_spec *sp)
{
	deploy_spec_init(sp);
	sp->root = root_of(a);
	sp->application = app_of(a);
	sp->group = a->group;
	sp->peers = a->peers;
	sp->npeers = a->npeers;
	sp->keep_releases = a->cfg->keep_releases;
	sp->strict = a->cfg->strict;
	sp->limits.max_bytes = a->cfg->max_bundle_bytes;
	sp->limits.max_entries = a->cfg->max_bundle_entries;
	if (m == NULL)
		return;
	sp->deployment_id = m->deployment_id;
	sp->sequence = m->sequence;
	sp->bundle = bundle;
	sp->sha256 = m->sha256;
	sp->commit = m->commit[0] != '\0' ? m->commit : NULL;
	sp->ignore_stop_failures = m->ignore_stop_failures;
}
