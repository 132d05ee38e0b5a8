/* SPDX-License-Identifier: ISC */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "appspec.h"
#include "errbuf.h"
#include "lifecycle.h"
#include "progress.h"

static json_t *
parsed(struct progress *p)
{
	json_error_t	 je;
	json_t		*j;
	char		*text;
	size_t		 len;

	text = progress_dump(p, &len);
	assert_int_equal(strlen(text), len);
	j = json_loads(text, 0, &je);
	assert_non_null(j);
	free(text);
	return j;
}

static const char *
str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void
progress_records_events_and_the_outcome(void **state)
{
	struct progress		 p;
	struct deploy_event	 de;
	struct deploy_result	 r;
	json_t			*j, *evs;

	progress_init(&p, "web", "prod", "i-1", "d-AAAAAAAAA", 7, NULL,
	    "ab");
	j = parsed(&p);
	assert_string_equal(str(j, "schema"), PROGRESS_SCHEMA);
	assert_string_equal(str(j, "status"), "InProgress");
	assert_int_equal(json_integer_value(json_object_get(j, "sequence")),
	    7);
	assert_true(json_is_null(json_object_get(j, "commit")));
	json_decref(j);

	progress_event_start(&p, "BeforeInstall", false);
	memset(&de, 0, sizeof(de));
	de.event = LC_BEFORE_INSTALL;
	de.status = DEPLOY_EVENT_FAILED;
	de.duration = 1.5;
	de.script = "scripts/x.sh";
	de.outcome = "exited 3";
	progress_event_end(&p, &de);

	deploy_result_init(&r);
	r.status = DEPLOY_FAILED;
	r.failed_event = LC_BEFORE_INSTALL;
	r.outcome = strdup("exited 3");
	r.tail = strdup("boom\n");
	progress_finish(&p, &r);
	deploy_result_release(&r);
	assert_string_equal(progress_status(&p), "Failed");

	j = parsed(&p);
	assert_string_equal(str(j, "event"), "BeforeInstall");
	assert_string_equal(str(j, "message"), "exited 3");
	assert_string_equal(str(j, "tail"), "boom\n");
	assert_non_null(str(j, "finished_at"));
	evs = json_object_get(j, "events");
	assert_int_equal(json_array_size(evs), 1);
	assert_string_equal(str(json_array_get(evs, 0), "status"), "Failed");
	assert_string_equal(str(json_array_get(evs, 0), "script"),
	    "scripts/x.sh");
	json_decref(j);
	progress_release(&p);
	progress_release(&p);	/* twice is safe */
}

static void
progress_caps_its_event_list(void **state)
{
	struct progress	 p;
	json_t		*j;

	progress_init(&p, "web", "prod", "i-1", "d-AAAAAAAAA", 1, "c", "s");
	for (int i = 0; i < PROGRESS_EVENTS_MAX + 10; i++)
		progress_event_start(&p, "Install", false);
	j = parsed(&p);
	assert_int_equal(json_array_size(json_object_get(j, "events")),
	    PROGRESS_EVENTS_MAX);
	json_decref(j);
	progress_release(&p);
}

static void
registry_entry_has_current_or_null(void **state)
{
	struct registry_info	 ri;
	json_t			*j;
	char			*text;
	size_t			 len;

	memset(&ri, 0, sizeof(ri));
	ri.instance = "i-1";
	ri.application = "web";
	ri.group = "prod";
	ri.queue = "hookd-prod-i-1";
	ri.queue_backend = "sqs";
	text = registry_dump(&ri, &len);
	j = json_loads(text, 0, NULL);
	assert_non_null(j);
	assert_true(json_is_null(json_object_get(j, "current")));
	assert_true(json_is_null(json_object_get(j, "in_progress")));
	assert_string_equal(str(j, "schema"), REGISTRY_SCHEMA);
	json_decref(j);
	free(text);

	ri.current_id = "d-BBBBBBBBB";
	ri.current_sequence = 4;
	ri.in_progress_id = "d-CCCCCCCCC";
	text = registry_dump(&ri, &len);
	j = json_loads(text, 0, NULL);
	assert_string_equal(str(json_object_get(j, "current"),
	    "deployment_id"), "d-BBBBBBBBB");
	assert_string_equal(str(j, "in_progress"), "d-CCCCCCCCC");
	json_decref(j);
	free(text);
}


/* The reader takes back what the writers wrote. */
static void
progress_parse_reads_a_refusal(void **state)
{
	struct progress		 p = { 0 };
	struct progress_view	 v;
	struct errbuf		 eb = { 0 };
	char			*text;
	size_t			 len;

	(void)state;
	progress_init(&p, "web", "prod", "i-1", "d-AAAAAAAAA", 7, NULL,
	    NULL);
	progress_set(&p, PROGRESS_SKIPPED, "Skipped: sequence 7 is not "
	    "above the installed sequence 9");
	text = progress_dump(&p, &len);
	assert_int_equal(progress_parse(text, len, &v, &eb), 0);
	assert_string_equal(v.status, PROGRESS_SKIPPED);
	assert_string_equal(v.deployment_id, "d-AAAAAAAAA");
	assert_string_equal(v.instance, "i-1");
	assert_int_equal(v.sequence, 7);
	assert_non_null(strstr(v.message, "installed sequence 9"));
	assert_null(v.event);
	assert_non_null(v.finished_at);
	assert_true(progress_status_final(v.status));
	assert_true(progress_status_failed(v.status));
	progress_view_release(&v);
	progress_view_release(&v);	/* safe twice */
	free(text);
	progress_release(&p);
}

/* Statuses: which are final, which failed. */
static void
progress_status_classes(void **state)
{
	(void)state;
	assert_true(progress_status_final(PROGRESS_SUCCEEDED));
	assert_false(progress_status_failed(PROGRESS_SUCCEEDED));
	assert_true(progress_status_failed(PROGRESS_FAILED));
	assert_true(progress_status_failed(PROGRESS_REJECTED));
	assert_false(progress_status_final(PROGRESS_INPROGRESS));
	assert_false(progress_status_final(PROGRESS_INTERRUPTED));
	assert_false(progress_status_final("Traffic"));
	assert_false(progress_status_final(NULL));
}

/* Tolerant of members of other types and of new members. */
static void
progress_parse_is_tolerant(void **state)
{
	static const char	 doc[] = "{\"status\": \"InProgress\", "
	    "\"event\": 42, \"sequence\": -3, \"traffic\": {\"step\": "
	    "\"drain\"}, \"message\": null}";
	struct progress_view	 v;
	struct errbuf		 eb = { 0 };

	(void)state;
	assert_int_equal(progress_parse(doc, sizeof(doc) - 1, &v, &eb), 0);
	assert_string_equal(v.status, "InProgress");
	assert_null(v.event);
	assert_null(v.message);
	assert_int_equal(v.sequence, 0);
	progress_view_release(&v);
}

/* Not an object, or no status: EK_DATA with the reason. */
static void
progress_parse_refuses_what_is_not_one(void **state)
{
	static const char *const bad[] = { "", "[]", "{\"status\": 1}",
	    "{\"status\": \"a\", \"status\": \"b\"}", "\"x\"",
	    "{\"status\": \"Succeeded\"" };
	struct progress_view	 v;
	struct registry_view	 r;
	struct errbuf		 eb;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&eb, 0, sizeof(eb));
		assert_int_equal(progress_parse(bad[i], strlen(bad[i]), &v,
		    &eb), -1);
		assert_int_equal(eb.kind, EK_DATA);
		assert_non_null(strstr(eb.msg, "progress document"));
		assert_null(v.doc);
		memset(&eb, 0, sizeof(eb));
		assert_int_equal(registry_parse(bad[i], strlen(bad[i]), &r,
		    &eb), -1);
		assert_int_equal(eb.kind, EK_DATA);
	}
}

/* registry_dump then registry_parse: boot id, duplicate, sequences. */
static void
registry_round_trip(void **state)
{
	struct registry_info	 ri;
	struct registry_view	 v;
	struct errbuf		 eb = { 0 };
	char			*text;
	size_t			 len;

	(void)state;
	memset(&ri, 0, sizeof(ri));
	ri.instance = "i-1";
	ri.application = "web";
	ri.group = "prod";
	ri.queue = "hookd-prod-i-1";
	ri.current_id = "d-BBBBBBBBB";
	ri.current_sequence = 4;
	ri.last_sequence = 6;
	text = registry_dump(&ri, &len);
	assert_int_equal(registry_parse(text, len, &v, &eb), 0);
	assert_string_equal(v.instance, "i-1");
	assert_string_equal(v.queue, "hookd-prod-i-1");
	assert_string_equal(v.current_id, "d-BBBBBBBBB");
	assert_int_equal(v.current_sequence, 4);
	assert_int_equal(v.last_sequence, 6);
	assert_string_equal(v.boot_id, registry_boot_id());
	assert_int_equal(strlen(v.boot_id), REGISTRY_BOOT_ID_LEN);
	assert_null(v.dup_boot_id);
	assert_null(v.catching_up);
	assert_non_null(v.last_seen);
	registry_view_release(&v);
	free(text);

	ri.dup_boot_id = "0123456789abcdef";
	ri.dup_hostname = "other";
	ri.dup_pid = 42;
	ri.dup_last_seen = "2026-12-07T10:00:00.000Z";
	text = registry_dump(&ri, &len);
	assert_int_equal(registry_parse(text, len, &v, &eb), 0);
	assert_string_equal(v.dup_boot_id, "0123456789abcdef");
	assert_string_equal(v.dup_hostname, "other");
	assert_string_equal(v.dup_last_seen, "2026-12-07T10:00:00.000Z");
	registry_view_release(&v);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(progress_records_events_and_the_outcome),
		cmocka_unit_test(progress_caps_its_event_list),
		cmocka_unit_test(registry_entry_has_current_or_null),
		cmocka_unit_test(progress_parse_reads_a_refusal),
		cmocka_unit_test(progress_status_classes),
		cmocka_unit_test(progress_parse_is_tolerant),
		cmocka_unit_test(progress_parse_refuses_what_is_not_one),
		cmocka_unit_test(registry_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
