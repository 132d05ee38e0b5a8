/* SPDX-License-Identifier: ISC */
/*
 * test_names.c: lib/names.c, the one rule for application, group and
 * instance names and for deployment ids, and the id generator.
 */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "errbuf.h"
#include "names.h"

static void
name_rules(void **state)
{
	struct errbuf	 eb = { 0 };
	char		 name[NAME_LEN_MAX + 2];

	assert_int_equal(name_check("group", "prod-1.eu_west", &eb), 0);
	assert_int_equal(name_check("group", "", &eb), -1);
	assert_string_equal(eb.msg, "group: must not be empty");
	assert_int_equal(name_check("group", "-rf", &eb), -1);
	assert_int_equal(eb.kind, EK_DATA);
	assert_string_equal(eb.msg, "group '-rf': must start with a letter or "
	    "digit");
	assert_int_equal(name_check("group", ".", &eb), -1);
	assert_int_equal(name_check("group", "a b", &eb), -1);
	assert_string_equal(eb.msg, "group 'a b': only letters, digits, '.', "
	    "'_' and '-' are allowed");
	assert_int_equal(name_check("group", "a/b", &eb), -1);
	assert_int_equal(name_check("group", "a\nb", &eb), -1);
	assert_non_null(strstr(eb.msg, "'a\\x0ab'"));
	memset(name, 'x', sizeof(name) - 2);
	name[NAME_LEN_MAX] = '\0';
	assert_int_equal(name_check("group", name, &eb), 0);
	name[NAME_LEN_MAX] = 'x';
	name[NAME_LEN_MAX + 1] = '\0';
	assert_int_equal(name_check("group", name, &eb), -1);
	assert_non_null(strstr(eb.msg, "longer than 100 characters"));

	/* name_ok is the same rule (what the engine and deploy-local use). */
	assert_true(name_ok("web-1.prod_x"));
	assert_false(name_ok(".hidden"));
	assert_false(name_ok("a/b"));
	assert_false(name_ok(""));
	assert_false(name_ok("-x"));
	assert_false(name_ok("_x"));
	assert_false(name_ok(NULL));
	assert_false(name_ok(name));
}

static void
deployment_id_rules_and_generator(void **state)
{
	struct errbuf	 eb = { 0 };
	char		 id[DEPLOYMENT_ID_LEN + 1];
	char		 other[DEPLOYMENT_ID_LEN + 1];

	assert_int_equal(deployment_id_check("id", "d-ABC234XYZ", &eb), 0);
	assert_int_equal(deployment_id_check("id", "d-ABC234XY", &eb), -1);
	assert_string_equal(eb.msg, "id 'd-ABC234XY': must be 'd-' and 9 "
	    "upper-case letters or digits");
	assert_int_equal(deployment_id_check("id", "x-ABC234XYZ", &eb), -1);
	assert_int_equal(deployment_id_check("id", "d-abc234xyz", &eb), -1);
	assert_false(deployment_id_ok(NULL));
	assert_false(deployment_id_ok("d-0123456789"));
	for (int i = 0; i < 20; i++) {
		assert_int_equal(deployment_id_new(id, &eb), 0);
		assert_int_equal(deployment_id_check("id", id, &eb), 0);
		assert_int_equal(strncmp(id, "d-", 2), 0);
		assert_int_equal(strspn(id + 2,
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), 9);
	}
	assert_int_equal(deployment_id_new(other, &eb), 0);
	assert_string_not_equal(id, other);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(name_rules),
		cmocka_unit_test(deployment_id_rules_and_generator),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
