/* SPDX-License-Identifier: ISC */
/*
 * fuzz_sqs.h: what fuzz_awsxml.c and fuzz_awsjson.c check of the SQS
 * reply parsers' results, the same for both protocols since they fill
 * the same structs: a received message has a body, its length and a
 * receipt, and at most SQS_ATTRS_MAX attributes of each kind; a batch
 * reply for the three entries of fuzz_batch_prepare() fails at most
 * three.  Included by one fuzz target each: static functions only.
 */
#ifndef HOOKD_FUZZ_SQS_H
#define HOOKD_FUZZ_SQS_H

#include <stdlib.h>
#include <string.h>

#include "aws/sqs.h"

#define FUZZ_BATCH_N	3

static void
fuzz_check_received(const struct sqs_messages *ms)
{
	for (size_t i = 0; i < ms->n; i++) {
		if (ms->v[i].body == NULL || ms->v[i].receipt_handle == NULL ||
		    strlen(ms->v[i].body) != ms->v[i].body_len ||
		    ms->v[i].nattrs > SQS_ATTRS_MAX ||
		    ms->v[i].nmattrs > SQS_ATTRS_MAX)
			abort();
		(void)sqs_message_attr(&ms->v[i], "SentTimestamp");
	}
}

static void
fuzz_batch_prepare(struct sqs_batch_entry ent[FUZZ_BATCH_N])
{
	static const char *const ids[FUZZ_BATCH_N] = { "a", "b", "c" };

	memset(ent, 0, FUZZ_BATCH_N * sizeof(*ent));
	for (size_t i = 0; i < FUZZ_BATCH_N; i++) {
		ent[i].id = ids[i];
		ent[i].body = "x";
		ent[i].body_len = 1;
	}
}

static void
fuzz_batch_finish(struct sqs_batch_entry ent[FUZZ_BATCH_N], int rc,
    size_t failed)
{
	if (rc == 0 && failed > FUZZ_BATCH_N)
		abort();
	for (size_t i = 0; i < FUZZ_BATCH_N; i++)
		sqs_batch_entry_release(&ent[i]);
}

#endif /* HOOKD_FUZZ_SQS_H */
