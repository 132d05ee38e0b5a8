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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(progress_records_events_and_the_outcome),
		cmocka_unit_test(progress_caps_its_event_list),
		cmocka_unit_test(registry_entry_has_current_or_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
