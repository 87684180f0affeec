/* SPDX-License-Identifier: MIT */
/*
 * jsonv: a strict JSON validator (the RFC 8259 grammar) for the unit
 * tests, apart from the writer it checks so that a bug in json.c cannot
 * hide in a shared assumption.  Test code only, not in the library.
 */
#ifndef TLSBROKER_TESTS_JSONV_H
#define TLSBROKER_TESTS_JSONV_H

#include <stdbool.h>

/* True if s is exactly one JSON object and a newline. */
bool json_valid(const char *s);

#endif
