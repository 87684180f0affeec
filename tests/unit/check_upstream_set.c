/* SPDX-License-Identifier: MIT */
/*
 * check_upstream_set: the address list syntax and its errors, the weighted
 * pick (weights honoured exactly over a cycle, backups only while no
 * primary is usable, tried addresses skipped), passive health (max_fails
 * in a row, the cool-down, the trial after it, recovery), the circuit
 * (every address down, the wait until the next trial) and the health
 * shared by two generations of one route through the registry.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "parse.h"
#include "upstream_set.h"

static struct upstream_addr addrs[UPSET_MAX_ADDRS];
static char err[PARSE_ERRLEN];

/* A set for a route of its own (the registry is process-wide). */
static struct upstream_set *
set_of(const char *route, const char *list, unsigned max_fails,
    uint64_t fail_timeout_ms)
{
	struct upstream_set *set;
	int n = upstream_set_parse(list, addrs, UPSET_MAX_ADDRS, err);

	ck_assert_msg(n > 0, "%s: %s", list, err);
	set = upstream_set_new(route, addrs, (unsigned)n, max_fails,
	    fail_timeout_ms);
	ck_assert_ptr_nonnull(set);
	return set;
}

/* ---- parsing ------------------------------------------------------------- */

START_TEST(test_parse_one)
{
	ck_assert_int_eq(upstream_set_parse("erp.corp:443", addrs, 4, err), 1);
	ck_assert_str_eq(addrs[0].hp.host, "erp.corp");
	ck_assert_uint_eq(addrs[0].hp.port, 443);
	ck_assert_uint_eq(addrs[0].weight, 1);
	ck_assert(!addrs[0].backup);
}
END_TEST

START_TEST(test_parse_list)
{
	ck_assert_int_eq(upstream_set_parse(
	    "a:443 weight=2,  b:8443 ,[2001:db8::1]:443 backup weight=3", addrs,
	    4, err), 3);
	ck_assert_str_eq(addrs[0].hp.host, "a");
	ck_assert_uint_eq(addrs[0].weight, 2);
	ck_assert(!addrs[0].backup);
	ck_assert_str_eq(addrs[1].hp.host, "b");
	ck_assert_uint_eq(addrs[1].hp.port, 8443);
	ck_assert_uint_eq(addrs[1].weight, 1);
	ck_assert_str_eq(addrs[2].hp.host, "2001:db8::1");
	ck_assert(addrs[2].backup);
	ck_assert_uint_eq(addrs[2].weight, 3);
}
END_TEST

static const struct {
	const char *value;
	const char *msg;
} bad_lists[] = {
	{ "a:443 weight=0", "a: the weight must be a number from 1 to 100" },
	{ "a:443 weight=101", "a: the weight must be a number from 1 to 100" },
	{ "a:443 heavy", "'heavy' is not weight=N or backup (after a)" },
	{ "a:443 backup", "every address is a backup: at least one must be a primary" },
	{ "a:443, ,b:443", "an empty address in the list (write host:port, host:port)" },
	{ "a:443, a:443 backup", "a:443 is listed twice" },
	{ "a:443, b:x", "'b:x': port 'x' is not a number from 1 to 65535" },
	{ "a:1,b:1,c:1,d:1,e:1", "more than 4 addresses" },
	{ ",", "no address (write host:port)" },
};

START_TEST(test_parse_errors)
{
	ck_assert_int_eq(upstream_set_parse(bad_lists[_i].value, addrs, 4, err), -1);
	ck_assert_str_eq(err, bad_lists[_i].msg);
}
END_TEST

/* ---- the pick -------------------------------------------------------------- */

START_TEST(test_pick_weights)
{
	struct upstream_set *set = set_of("w", "a:1 weight=3, b:1, c:1 weight=2", 1, 1000);
	unsigned count[3] = { 0, 0, 0 }, i;
	int a;

	for (i = 0; i < 600; i++) {
		a = upstream_set_pick(set, 0, 0);
		ck_assert_int_ge(a, 0);
		count[a]++;
	}
	ck_assert_uint_eq(count[0], 300);
	ck_assert_uint_eq(count[1], 100);
	ck_assert_uint_eq(count[2], 200);
	upstream_set_free(set);
}
END_TEST

START_TEST(test_pick_backup_only_when_primaries_down)
{
	struct upstream_set *set = set_of("b", "a:1, b:1, c:1 backup", 1, 1000);
	unsigned i;

	for (i = 0; i < 10; i++)
		ck_assert_int_ne(upstream_set_pick(set, 0, 0), 2);
	upstream_set_failed(set, 0, 0, "test");
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(upstream_set_pick(set, 0, 0), 1);
	upstream_set_failed(set, 1, 0, "test");
	ck_assert_int_eq(upstream_set_pick(set, 0, 0), 2);
	ck_assert(!upstream_set_all_down(set, 0));
	/* a primary back: the backup is left again */
	upstream_set_ok(set, 0);
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(upstream_set_pick(set, 0, 0), 0);
	upstream_set_free(set);
}
END_TEST

START_TEST(test_pick_skips_tried)
{
	struct upstream_set *set = set_of("t", "a:1, b:1, c:1 backup", 1, 1000);

	ck_assert_int_eq(upstream_set_pick(set, 0, 1u << 0), 1);
	ck_assert_int_eq(upstream_set_pick(set, 0, 1u << 1), 0);
	/* both primaries tried: the backup, then nothing */
	ck_assert_int_eq(upstream_set_pick(set, 0, 3u), 2);
	ck_assert_int_eq(upstream_set_pick(set, 0, 7u), -1);
	upstream_set_free(set);
}
END_TEST

/* ---- passive health and the circuit -------------------------------------- */

START_TEST(test_max_fails)
{
	struct upstream_set *set = set_of("m", "a:1, b:1", 3, 10000);

	upstream_set_failed(set, 0, 100, "test");
	upstream_set_failed(set, 0, 100, "test");
	ck_assert(upstream_set_usable(set, 0, 100));
	/* a success in between starts the count again */
	upstream_set_ok(set, 0);
	upstream_set_failed(set, 0, 100, "test");
	upstream_set_failed(set, 0, 100, "test");
	ck_assert(upstream_set_usable(set, 0, 100));
	upstream_set_failed(set, 0, 100, "test");
	ck_assert(!upstream_set_usable(set, 0, 100));
	ck_assert(upstream_set_is_down(set, 0));
	ck_assert_uint_eq(atomic_load(&set->health[0]->failures), 5);
	upstream_set_free(set);
}
END_TEST

START_TEST(test_cool_down_and_trial)
{
	struct upstream_set *set = set_of("c", "a:1, b:1", 2, 10000);

	upstream_set_failed(set, 0, 1000, "test");
	upstream_set_failed(set, 0, 1000, "test");
	ck_assert(!upstream_set_usable(set, 0, 1000));
	ck_assert(!upstream_set_usable(set, 0, 10999));
	/* cool-down over: tried again, still marked down until it works */
	ck_assert(upstream_set_usable(set, 0, 11000));
	ck_assert(upstream_set_is_down(set, 0));
	/* the trial fails: down again at once, not after max_fails more */
	upstream_set_failed(set, 0, 11000, "test");
	ck_assert(!upstream_set_usable(set, 0, 11000));
	ck_assert(upstream_set_usable(set, 0, 21000));
	upstream_set_ok(set, 0);
	ck_assert(!upstream_set_is_down(set, 0));
	ck_assert(upstream_set_usable(set, 0, 21000));
	upstream_set_free(set);
}
END_TEST

/* As nginx with one server: traffic never marks a lone address down. */
START_TEST(test_lone_address)
{
	struct upstream_set *set = set_of("lone", "a:1", 1, 10000);
	unsigned i;

	for (i = 0; i < 10; i++)
		upstream_set_failed(set, 0, 0, "test");
	ck_assert(upstream_set_usable(set, 0, 0));
	ck_assert_int_eq(upstream_set_pick(set, 0, 0), 0);
	ck_assert_uint_eq(atomic_load(&set->health[0]->failures), 10);
	/* its health check can: the operator asked for it */
	upstream_set_check_failed(set, 0, 0, "test");
	ck_assert(!upstream_set_usable(set, 0, 0));
	ck_assert_int_eq(upstream_set_pick(set, 0, 0), -1);
	upstream_set_free(set);
}
END_TEST

START_TEST(test_never_down_with_max_fails_0)
{
	struct upstream_set *set = set_of("z", "a:1, b:1", 0, 10000);
	unsigned i;

	for (i = 0; i < 100; i++)
		upstream_set_failed(set, 0, 0, "test");
	ck_assert(upstream_set_usable(set, 0, 0));
	ck_assert_int_eq(upstream_set_pick(set, 0, 0), 0);
	upstream_set_free(set);
}
END_TEST

START_TEST(test_circuit)
{
	struct upstream_set *set = set_of("all", "a:1, b:1 backup", 1, 5000);

	ck_assert_uint_eq(upstream_set_retry_in(set, 0), 0);
	upstream_set_failed(set, 0, 1000, "test");
	upstream_set_failed(set, 1, 3000, "test");
	ck_assert(upstream_set_all_down(set, 3000));
	ck_assert(atomic_load(&set->route_health->down));
	ck_assert_int_eq(upstream_set_pick(set, 3000, 0), -1);
	/* a's cool-down ends first, at 6000 */
	ck_assert_uint_eq(upstream_set_retry_in(set, 3000), 3000);
	ck_assert_int_eq(upstream_set_pick(set, 6000, 0), 0);
	ck_assert(!upstream_set_all_down(set, 6000));
	upstream_set_ok(set, 0);
	ck_assert(!atomic_load(&set->route_health->down));
	upstream_set_free(set);
}
END_TEST

START_TEST(test_health_shared_over_generations)
{
	struct upstream_set *old = set_of("gen", "a:1, b:1", 1, 10000);
	struct upstream_set *new = set_of("gen", "b:1, c:1", 1, 10000);
	struct upstream_set *other = set_of("other", "b:1", 1, 10000);

	upstream_set_failed(old, 1, 0, "test");
	/* b is the same address of the same route in both generations */
	ck_assert_ptr_eq(old->health[1], new->health[0]);
	ck_assert(!upstream_set_usable(new, 0, 0));
	ck_assert(upstream_set_usable(new, 1, 0));
	/* another route's b is its own */
	ck_assert(upstream_set_usable(other, 0, 0));
	upstream_set_free(old);
	upstream_set_free(new);
	upstream_set_free(other);
}
END_TEST

static Suite *
upstream_set_suite(void)
{
	Suite *s = suite_create("upstream_set");
	TCase *tc;

	tc = tcase_create("parse");
	tcase_add_test(tc, test_parse_one);
	tcase_add_test(tc, test_parse_list);
	tcase_add_loop_test(tc, test_parse_errors, 0,
	    (int)(sizeof(bad_lists) / sizeof(bad_lists[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("pick");
	tcase_add_test(tc, test_pick_weights);
	tcase_add_test(tc, test_pick_backup_only_when_primaries_down);
	tcase_add_test(tc, test_pick_skips_tried);
	suite_add_tcase(s, tc);

	tc = tcase_create("health");
	tcase_add_test(tc, test_max_fails);
	tcase_add_test(tc, test_cool_down_and_trial);
	tcase_add_test(tc, test_lone_address);
	tcase_add_test(tc, test_never_down_with_max_fails_0);
	tcase_add_test(tc, test_circuit);
	tcase_add_test(tc, test_health_shared_over_generations);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(upstream_set_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
