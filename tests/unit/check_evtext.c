/* SPDX-License-Identifier: MIT */
/*
 * check_evtext: the sticky-error writer appends formatted text and bytes
 * to its evbuffer, and once an append failed (a frozen buffer here) it
 * appends nothing more, even when the buffer would take it again.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "evtext.h"

/* The buffer's contents as a string (caller frees). */
static char *
text_of(struct evbuffer *b)
{
	size_t n = evbuffer_get_length(b);
	char *s = malloc(n + 1);

	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(evbuffer_copyout(b, s, n), (ev_ssize_t)n);
	s[n] = '\0';
	return s;
}

START_TEST(test_appends)
{
	struct evbuffer *b = evbuffer_new();
	struct evtext t = { b, 0 };
	char *s;

	ck_assert_ptr_nonnull(b);
	evtext_printf(&t, "%s=%d;", "a", 42);
	evtext_add(&t, "xyz", 2);
	evtext_add(&t, "ignored", 0);
	evtext_printf(&t, "%s", "");
	evtext_add(&t, "a\0b", 3);
	ck_assert_int_eq(t.err, 0);
	ck_assert_uint_eq(evbuffer_get_length(b), 10);
	s = text_of(b);
	ck_assert_int_eq(memcmp(s, "a=42;xya\0b", 10), 0);
	free(s);
	evbuffer_free(b);
}
END_TEST

/* A failed printf sticks: later appends do nothing though the buffer thaws. */
START_TEST(test_printf_error_sticks)
{
	struct evbuffer *b = evbuffer_new();
	struct evtext t = { b, 0 };
	char *s;

	ck_assert_ptr_nonnull(b);
	evtext_printf(&t, "head;");
	ck_assert_int_eq(evbuffer_freeze(b, 0), 0);
	evtext_printf(&t, "lost %d;", 1);
	ck_assert_int_eq(t.err, 1);
	ck_assert_int_eq(evbuffer_unfreeze(b, 0), 0);
	evtext_printf(&t, "after;");
	evtext_add(&t, "after", 5);
	ck_assert_int_eq(t.err, 1);
	s = text_of(b);
	ck_assert_str_eq(s, "head;");
	free(s);
	evbuffer_free(b);
}
END_TEST

START_TEST(test_add_error_sticks)
{
	struct evbuffer *b = evbuffer_new();
	struct evtext t = { b, 0 };
	char *s;

	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(evbuffer_freeze(b, 0), 0);
	evtext_add(&t, "lost", 4);
	ck_assert_int_eq(t.err, 1);
	ck_assert_int_eq(evbuffer_unfreeze(b, 0), 0);
	evtext_add(&t, "after", 5);
	evtext_printf(&t, "after");
	s = text_of(b);
	ck_assert_str_eq(s, "");
	free(s);
	evbuffer_free(b);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("evtext");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_appends);
	tcase_add_test(tc, test_printf_error_sticks);
	tcase_add_test(tc, test_add_error_sticks);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
