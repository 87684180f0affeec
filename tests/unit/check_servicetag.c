/* SPDX-License-Identifier: MIT */
/*
 * check_servicetag: reading one tag's prefixes from the shipped sample of
 * Microsoft's Service Tags file (IPv4 and IPv6, members in any order, tag
 * names in any case), the facts reported about file and tag, and the
 * errors: unknown tag with the names like it, an empty tag, damaged JSON,
 * bad prefixes, and files that cannot be read.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>

#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "servicetag.h"

#define SAMPLE TEST_SRCDIR "/tests/data/ServiceTags_Public.json"

static bool
has(const struct cidr_list *l, const char *addr)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	else {
		ck_assert_int_eq(inet_pton(AF_INET6, addr, &sin6->sin6_addr), 1);
		sin6->sin6_family = AF_INET6;
	}
	return cidr_list_match(l, (struct sockaddr *)&ss);
}

START_TEST(sample_region_tag)
{
	struct cidr_list l = { NULL, 0 };
	struct servicetag_info info;
	char err[512];

	/* in the sample, this entry's "name" comes after its "properties" */
	ck_assert_msg(servicetag_load(SAMPLE, "PowerPlatformPlex.WestEurope", &l,
	    &info, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(l.count, 4);
	ck_assert_uint_eq(info.nv4, 3);
	ck_assert_uint_eq(info.nv6, 1);
	ck_assert(info.change_number == 312);
	ck_assert(info.tag_change_number == 9);
	ck_assert_uint_eq(info.ntags, 6);
	ck_assert_str_eq(info.cloud, "Public");
	ck_assert(info.mtime > 0);
	ck_assert(has(&l, "192.0.2.63"));
	ck_assert(!has(&l, "192.0.2.64"));
	ck_assert(has(&l, "198.51.100.200"));
	ck_assert(!has(&l, "198.51.100.1"));	/* NorthEurope's half */
	ck_assert(has(&l, "2001:db8:10:ffff::1"));
	ck_assert(!has(&l, "2001:db8:20::1"));
	ck_assert(has(&l, "::ffff:203.0.113.1"));	/* dual-stack socket */
	cidr_list_free(&l);
}
END_TEST

START_TEST(tags_add_up_any_case)
{
	struct cidr_list l = { NULL, 0 };
	char err[512];

	ck_assert_int_eq(cidr_list_parse(&l, "10.0.0.0/8", err), 0);
	ck_assert_msg(servicetag_load(SAMPLE, "tlsbrokertest.LOOPBACK", &l, NULL,
	    err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(servicetag_load(SAMPLE, "PowerPlatformPlex", &l, NULL, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(l.count, 1 + 2 + 5);
	ck_assert(has(&l, "10.1.2.3"));
	ck_assert(has(&l, "127.0.0.1"));
	ck_assert(has(&l, "::1"));
	ck_assert(has(&l, "2001:db8:20::1"));
	cidr_list_free(&l);
}
END_TEST

START_TEST(unknown_and_empty_tags)
{
	struct cidr_list l = { NULL, 0 };
	char err[512];

	ck_assert_int_eq(cidr_list_parse(&l, "10.0.0.0/8", err), 0);
	ck_assert_int_eq(servicetag_load(SAMPLE, "PowerPlatformPlex.WestEuropa",
	    &l, NULL, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, SAMPLE ": no tag PowerPlatformPlex.WestEuropa among "
	    "its 6 tags, changeNumber 312; tags like it: PowerPlatformPlex, "
	    "PowerPlatformPlex.NorthEurope, PowerPlatformPlex.WestEurope") != NULL,
	    "%s", err);
	ck_assert_int_eq(servicetag_load(SAMPLE, "Storage", &l, NULL, err,
	    sizeof(err)), -1);
	ck_assert_msg(strstr(err, "no tag Storage among its 6 tags") != NULL &&
	    strstr(err, "like PowerPlatformPlex.WestEurope") != NULL, "%s", err);
	/* a tag without prefixes must not become an empty list: that admits all */
	ck_assert_int_eq(servicetag_load(SAMPLE, "TlsbrokerTest.Empty", &l, NULL,
	    err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "has no address prefixes") != NULL, "%s", err);
	ck_assert_uint_eq(l.count, 1);	/* unchanged by every failure */
	cidr_list_free(&l);
}
END_TEST

static const struct {
	const char *text;
	const char *err;
} bad_files[] = {
	{ "", "it is not one JSON object" },
	{ "[]", "it is not one JSON object" },
	{ "{\"values\": [", "unexpected end" },
	{ "{\"values\": [{\"name\": \"T\", \"properties\": {\"addressPrefixes\": "
	    "[\"10.0.0.0/8\",]}}]}", "not the start of a JSON value at byte 74" },
	{ "{\"values\": [{\"name\": \"T\", \"properties\": {\"addressPrefixes\": "
	    "[\"10.1.0.0/8\"]}}]}", "tag T: '10.1.0.0/8' has host bits set" },
	{ "{\"values\": [{\"name\": \"T\", \"properties\": {\"addressPrefixes\": "
	    "[\"10.0.0.0/8 11.0.0.0/8\"]}}]}", "is not an address prefix" },
	{ "{\"values\": [{\"name\": \"T\", \"properties\": {\"addressPrefixes\": "
	    "[8]}}]}", "expected a string" },
	{ "{\"values\": [{\"name\": \"T\", \"properties\": {\"addressPrefixes\": "
	    "[\"example.com\"]}}]}", "is not an IPv4 or IPv6 address" },
	{ "{\"values\": [{\"name\": \"T\"}]} x", "text after the JSON value" },
	{ "{\"values\": [{\"name\": \"T\"}]}", "tag T has no address prefixes" },
	{ "{\"values\": 5}", "no tag T among its 0 tags" },
};

START_TEST(damaged_files)
{
	struct cidr_list l = { NULL, 0 };
	char err[512];

	ck_assert_int_eq(servicetag_parse(bad_files[_i].text,
	    strlen(bad_files[_i].text), "T", &l, NULL, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, bad_files[_i].err) != NULL, "case %d: %s", _i, err);
	ck_assert_uint_eq(l.count, 0);
}
END_TEST

START_TEST(unreadable_files)
{
	struct cidr_list l = { NULL, 0 };
	char err[512];

	ck_assert_int_eq(servicetag_load("/nonexistent/tags.json", "T", &l, NULL,
	    err, sizeof(err)), -1);
	ck_assert_str_eq(err, "/nonexistent/tags.json: cannot read: No such file or directory");
	ck_assert_int_eq(servicetag_load(TEST_SRCDIR "/tests/data", "T", &l, NULL,
	    err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "not a regular file") != NULL, "%s", err);
	ck_assert_int_eq(servicetag_load("/dev/zero", "T", &l, NULL, err,
	    sizeof(err)), -1);
	ck_assert_msg(strstr(err, "not a regular file") != NULL, "%s", err);
}
END_TEST

static Suite *
servicetag_suite(void)
{
	Suite *s = suite_create("servicetag");
	TCase *tc = tcase_create("sample");

	tcase_add_test(tc, sample_region_tag);
	tcase_add_test(tc, tags_add_up_any_case);
	tcase_add_test(tc, unknown_and_empty_tags);
	suite_add_tcase(s, tc);
	tc = tcase_create("errors");
	tcase_add_loop_test(tc, damaged_files, 0, sizeof(bad_files) / sizeof(bad_files[0]));
	tcase_add_test(tc, unreadable_files);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(servicetag_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
