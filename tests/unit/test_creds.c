/* SPDX-License-Identifier: ISC */
/*
 * test_creds: the credential chain's environment and shared-file steps,
 * the shared config/credentials parser (fixtures under
 * tests/fixtures/aws/), region resolution, endpoint overrides, S3
 * addressing style, and the fast failure of IMDS and of a client whose
 * endpoint refuses connections (loopback port 1, nothing listens).
 */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "aws/client.h"
#include "aws/creds.h"
#include "aws/imds.h"
#include "errbuf.h"
#include "xalloc.h"

#define FIX	FIXTURES "/aws/"
#define CLOSED	"http://127.0.0.1:1"	/* nothing listens on port 1 */

static const char *const vars[] = {
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	"AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION",
	"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_S3",
	"AWS_ENDPOINT_URL_AUTO_SCALING", "AWS_S3_FORCE_PATH_STYLE",
	"HOOKD_S3_PATH_STYLE", "AWS_EC2_METADATA_SERVICE_ENDPOINT",
};

static int
setup(void **state)
{
	for (size_t i = 0; i < nitems(vars); i++)
		unsetenv(vars[i]);
	setenv("AWS_SHARED_CREDENTIALS_FILE", FIX "credentials", 1);
	setenv("AWS_CONFIG_FILE", FIX "config", 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	return 0;
}

static void
creds_env_wins_over_files(void **state)
{
	struct aws_credprov	*cp;
	const struct aws_creds	*c;
	struct errbuf		 eb = { 0 };

	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "secretenv", 1);
	setenv("AWS_SESSION_TOKEN", "tokenenv", 1);
	cp = aws_credprov_new(NULL, NULL);
	assert_int_equal(aws_credprov_get(cp, &c, &eb), 0);
	assert_string_equal(c->access_key, "AKIDENV");
	assert_string_equal(c->secret_key, "secretenv");
	assert_string_equal(c->session_token, "tokenenv");
	assert_int_equal(c->source, AWS_CREDS_ENV);
	/* Environment credentials are not refreshable. */
	assert_false(aws_credprov_invalidate(cp));
	aws_credprov_free(cp);
}

static void
creds_half_set_environment_is_a_config_error(void **state)
{
	struct aws_creds	 c;
	struct errbuf		 eb = { 0 };

	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	assert_int_equal(aws_creds_from_env(&c, &eb), -1);
	assert_int_equal(eb.kind, EK_CONFIG);
	assert_non_null(strstr(eb.msg, "AWS_SECRET_ACCESS_KEY"));
}

static void
creds_default_profile_from_file(void **state)
{
	struct aws_credprov	*cp;
	const struct aws_creds	*c;
	struct errbuf		 eb = { 0 };

	cp = aws_credprov_new(NULL, NULL);
	assert_int_equal(aws_credprov_get(cp, &c, &eb), 0);
	assert_string_equal(c->access_key, "AKIDDEFAULT");
	assert_string_equal(c->secret_key, "secretdefault");
	assert_null(c->session_token);
	assert_int_equal(c->source, AWS_CREDS_FILE);
	aws_credprov_free(cp);
}

static void
creds_aws_profile_selects_section(void **state)
{
	struct aws_creds	 c;
	struct errbuf		 eb = { 0 };

	setenv("AWS_PROFILE", "dev", 1);
	assert_int_equal(aws_creds_from_files(NULL, &c, &eb), 0);
	assert_string_equal(c.access_key, "AKIDDEV");
	assert_string_equal(c.secret_key, "secretdev");	/* trimmed */
	assert_string_equal(c.session_token, "tokendev");
	aws_creds_release(&c);
	/* An explicit profile beats AWS_PROFILE. */
	assert_int_equal(aws_creds_from_files("default", &c, &eb), 0);
	assert_string_equal(c.access_key, "AKIDDEFAULT");
	aws_creds_release(&c);
}

static void
creds_config_file_profile_section(void **state)
{
	struct aws_creds	 c;
	struct errbuf		 eb = { 0 };

	/* "[profile   cfgonly]" in config, nothing in credentials. */
	assert_int_equal(aws_creds_from_files("cfgonly", &c, &eb), 0);
	assert_string_equal(c.access_key, "AKIDCFG");
	assert_string_equal(c.secret_key, "secretcfg");
	aws_creds_release(&c);
	/* Unknown profile: nothing. */
	assert_int_equal(aws_creds_from_files("nosuch", &c, &eb), 1);
}

static void
creds_key_without_secret_is_reported_without_values(void **state)
{
	struct aws_creds	 c;
	struct errbuf		 eb = { 0 };

	assert_int_equal(aws_creds_from_files("half", &c, &eb), -1);
	assert_int_equal(eb.kind, EK_CONFIG);
	assert_non_null(strstr(eb.msg, "profile 'half'"));
	assert_null(strstr(eb.msg, "AKIDHALF"));
}

static void
creds_none_found_names_what_was_tried(void **state)
{
	struct aws_credprov	*cp;
	const struct aws_creds	*c;
	struct errbuf		 eb = { 0 };

	setenv("AWS_SHARED_CREDENTIALS_FILE", FIX "does-not-exist", 1);
	setenv("AWS_CONFIG_FILE", FIX "does-not-exist-either", 1);
	cp = aws_credprov_new(NULL, NULL);
	assert_int_equal(aws_credprov_get(cp, &c, &eb), -1);
	assert_int_equal(eb.kind, EK_CONFIG);
	assert_non_null(strstr(eb.msg, "no AWS credentials found"));
	assert_non_null(strstr(eb.msg, "does-not-exist"));
	aws_credprov_free(cp);
}

static void
creds_malformed_config_names_the_line(void **state)
{
	struct errbuf	 eb = { 0 };
	char		*v = NULL;

	setenv("AWS_CONFIG_FILE", FIX "config-bad", 1);
	assert_int_equal(aws_profile_get("x", "region", &v, &eb), -1);
	assert_int_equal(eb.kind, EK_CONFIG);
	assert_non_null(strstr(eb.msg, "config-bad:1: "));
}

static void
creds_static_provider_copies(void **state)
{
	struct aws_creds	 in = { 0 };
	struct aws_credprov	*cp;
	const struct aws_creds	*c;
	struct errbuf		 eb = { 0 };

	in.access_key = xstrdup("AK");
	in.secret_key = xstrdup("SK");
	cp = aws_credprov_new_static(&in);
	aws_creds_release(&in);
	assert_int_equal(aws_credprov_get(cp, &c, &eb), 0);
	assert_string_equal(c->access_key, "AK");
	assert_int_equal(c->source, AWS_CREDS_STATIC);
	aws_credprov_free(cp);
}

static void
region_precedence(void **state)
{
	struct errbuf	 eb = { 0 };
	char		*r;

	assert_int_equal(aws_region_resolve(NULL, NULL, &r, &eb), 0);
	assert_string_equal(r, "us-west-2");		/* [default] */
	free(r);
	assert_int_equal(aws_region_resolve("dev", NULL, &r, &eb), 0);
	assert_string_equal(r, "eu-central-1");	/* not the nested one */
	free(r);
	setenv("AWS_DEFAULT_REGION", "ca-central-1", 1);
	assert_int_equal(aws_region_resolve("dev", NULL, &r, &eb), 0);
	assert_string_equal(r, "ca-central-1");
	free(r);
	setenv("AWS_REGION", "sa-east-1", 1);
	assert_int_equal(aws_region_resolve("dev", NULL, &r, &eb), 0);
	assert_string_equal(r, "sa-east-1");
	free(r);
	unsetenv("AWS_REGION");
	unsetenv("AWS_DEFAULT_REGION");
	assert_int_equal(aws_region_resolve("nosuch", NULL, &r, &eb), -1);
	assert_int_equal(eb.kind, EK_CONFIG);
	assert_non_null(strstr(eb.msg, "no AWS region"));
	setenv("AWS_REGION", "Bad Region", 1);
	assert_int_equal(aws_region_resolve(NULL, NULL, &r, &eb), -1);
	assert_int_equal(eb.kind, EK_CONFIG);
}

static void
endpoints_default_and_overrides(void **state)
{
	struct errbuf	 eb = { 0 };
	char		*u;
	bool		 custom;

	assert_int_equal(aws_endpoint("SQS", "sqs", "us-east-1", &u, &custom,
	    &eb), 0);
	assert_string_equal(u, "https://sqs.us-east-1.amazonaws.com");
	assert_false(custom);
	free(u);
	assert_int_equal(aws_endpoint("S3", "s3", "cn-north-1", &u, NULL,
	    &eb), 0);
	assert_string_equal(u, "https://s3.cn-north-1.amazonaws.com.cn");
	free(u);

	setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000/", 1);
	assert_int_equal(aws_endpoint("Auto Scaling", "autoscaling",
	    "us-east-1", &u, &custom, &eb), 0);
	assert_string_equal(u, "http://127.0.0.1:5000");
	assert_true(custom);
	free(u);
	setenv("AWS_ENDPOINT_URL_AUTO_SCALING", "http://127.0.0.1:6000", 1);
	assert_int_equal(aws_endpoint("Auto Scaling", "autoscaling",
	    "us-east-1", &u, NULL, &eb), 0);
	assert_string_equal(u, "http://127.0.0.1:6000");
	free(u);
	/* Only that service's variable is affected. */
	assert_int_equal(aws_endpoint("SQS", "sqs", "us-east-1", &u, NULL,
	    &eb), 0);
	assert_string_equal(u, "http://127.0.0.1:5000");
	free(u);
	setenv("AWS_ENDPOINT_URL_SQS", "ftp://x", 1);
	assert_int_equal(aws_endpoint("SQS", "sqs", "us-east-1", &u, NULL,
	    &eb), -1);
	assert_int_equal(eb.kind, EK_CONFIG);
	assert_non_null(strstr(eb.msg, "AWS_ENDPOINT_URL_SQS"));
}

static void
s3_addressing_style(void **state)
{
	assert_true(aws_s3_path_style("http://127.0.0.1:9000", "bucket"));
	assert_true(aws_s3_path_style("http://localhost:9000", "bucket"));
	assert_true(aws_s3_path_style("http://[::1]:9000", "bucket"));
	assert_false(aws_s3_path_style("https://s3.us-east-1.amazonaws.com",
	    "my-bucket"));
	assert_true(aws_s3_path_style("https://s3.us-east-1.amazonaws.com",
	    "my.bucket"));
	assert_true(aws_s3_path_style("https://s3.us-east-1.amazonaws.com",
	    "My_Bucket"));
	setenv("HOOKD_S3_PATH_STYLE", "true", 1);
	assert_true(aws_s3_path_style("https://s3.us-east-1.amazonaws.com",
	    "my-bucket"));
}

static void
imds_disabled_and_unreachable_fail_fast(void **state)
{
	struct imds	*im;
	struct errbuf	 eb = { 0 };
	char		*v = NULL;
	time_t		 t0;

	im = imds_new(CLOSED);
	assert_false(imds_enabled(im));		/* AWS_EC2_METADATA_DISABLED */
	assert_int_equal(imds_instance_id(im, &v, &eb), -1);
	assert_int_equal(eb.kind, EK_UNAVAIL);
	assert_non_null(strstr(eb.msg, "disabled"));
	imds_free(im);

	unsetenv("AWS_EC2_METADATA_DISABLED");
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", CLOSED "/", 1);
	im = imds_new(NULL);
	assert_true(imds_enabled(im));
	t0 = time(NULL);
	errbuf_clear(&eb);
	assert_int_equal(imds_region(im, &v, &eb), -1);
	assert_int_equal(eb.kind, EK_UNAVAIL);
	assert_non_null(strstr(eb.msg, "instance metadata service "
	    "unreachable at " CLOSED ":"));
	assert_true(time(NULL) - t0 <= 5);
	/* Remembered: the second call fails the same way at once. */
	errbuf_clear(&eb);
	assert_int_equal(imds_tag(im, "hookd:deployment-group", &v, &eb), -1);
	assert_int_equal(eb.kind, EK_UNAVAIL);
	imds_free(im);
}

static void
client_connect_failure_is_unavail_after_retries(void **state)
{
	struct aws_client_config cfg = { 0 };
	struct aws_creds	 cr = { 0 };
	struct aws_client	*c;
	struct aws_request	 req = { 0 };
	struct aws_result	 res;
	struct aws_param	 form[] = {
		{ "Action", "GetQueueUrl" }, { "Version", "2012-11-05" },
		{ "QueueName", "q" },
	};
	struct errbuf		 eb = { 0 };

	setenv("AWS_ENDPOINT_URL", CLOSED, 1);
	cr.access_key = (char *)(uintptr_t)"AK";
	cr.secret_key = (char *)(uintptr_t)"SECRETVALUE";
	cfg.region = "us-east-1";
	cfg.creds = &cr;
	cfg.max_attempts = 2;
	cfg.backoff_base_ms = 1;
	c = aws_client_new(&cfg, &eb);
	assert_non_null(c);
	assert_string_equal(aws_client_region(c), "us-east-1");
	req.svc = &aws_svc_sqs;
	req.op = "GetQueueUrl";
	req.form = form;
	req.nform = nitems(form);
	req.body_fd = -1;
	req.out_fd = -1;
	aws_result_init(&res);
	assert_int_equal(aws_request(c, &req, &res, &eb), -1);
	assert_int_equal(eb.kind, EK_UNAVAIL);
	assert_non_null(strstr(eb.msg, "sqs GetQueueUrl: cannot connect to "
	    "'" CLOSED "/'"));
	assert_null(strstr(eb.msg, "SECRETVALUE"));
	assert_int_equal(res.attempts, 2);
	aws_result_release(&res);
	aws_client_free(c);
}

static void
client_presigns_path_style_s3_url(void **state)
{
	struct aws_client_config cfg = { 0 };
	struct aws_creds	 cr = { 0 };
	struct aws_client	*c;
	struct aws_request	 req = { 0 };
	struct errbuf		 eb = { 0 };
	char			*url;

	setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9000", 1);
	cr.access_key = (char *)(uintptr_t)"AK";
	cr.secret_key = (char *)(uintptr_t)"SK";
	cfg.region = "us-east-1";
	cfg.creds = &cr;
	c = aws_client_new(&cfg, &eb);
	assert_non_null(c);
	req.svc = &aws_svc_s3;
	req.op = "GetObject";
	req.bucket = "bucket";
	req.key = "revisions/web/a b.tar.gz";
	req.body_fd = -1;
	req.out_fd = -1;
	assert_int_equal(aws_presign(c, &req, 0, &url, &eb), -1);
	assert_int_equal(eb.kind, EK_USAGE);
	assert_int_equal(aws_presign(c, &req, 300, &url, &eb), 0);
	assert_non_null(strstr(url, "http://127.0.0.1:9000/bucket/revisions/"
	    "web/a%20b.tar.gz?X-Amz-Algorithm=AWS4-HMAC-SHA256&"));
	assert_non_null(strstr(url, "X-Amz-Expires=300"));
	assert_non_null(strstr(url, "&X-Amz-Signature="));
	free(url);
	aws_client_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(creds_env_wins_over_files, setup),
		cmocka_unit_test_setup(
		    creds_half_set_environment_is_a_config_error, setup),
		cmocka_unit_test_setup(creds_default_profile_from_file, setup),
		cmocka_unit_test_setup(creds_aws_profile_selects_section,
		    setup),
		cmocka_unit_test_setup(creds_config_file_profile_section,
		    setup),
		cmocka_unit_test_setup(
		    creds_key_without_secret_is_reported_without_values, setup),
		cmocka_unit_test_setup(creds_none_found_names_what_was_tried,
		    setup),
		cmocka_unit_test_setup(creds_malformed_config_names_the_line,
		    setup),
		cmocka_unit_test_setup(creds_static_provider_copies, setup),
		cmocka_unit_test_setup(region_precedence, setup),
		cmocka_unit_test_setup(endpoints_default_and_overrides, setup),
		cmocka_unit_test_setup(s3_addressing_style, setup),
		cmocka_unit_test_setup(imds_disabled_and_unreachable_fail_fast,
		    setup),
		cmocka_unit_test_setup(
		    client_connect_failure_is_unavail_after_retries, setup),
		cmocka_unit_test_setup(client_presigns_path_style_s3_url,
		    setup),
	};
	int	rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
