/* SPDX-License-Identifier: MIT */
/*
 * jsonv: a strict recursive-descent JSON validator for the unit tests.
 * See jsonv.h.
 */
#include "config.h"

#include "jsonv.h"

#include <string.h>

static const char *jv_value(const char *p, int depth);

static const char *
jv_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

static const char *
jv_string(const char *p)
{
	int i;

	if (*p++ != '"')
		return NULL;
	for (;;) {
		unsigned char c = (unsigned char)*p++;

		if (c == '"')
			return p;
		if (c < 0x20)
			return NULL;
		if (c != '\\')
			continue;
		c = (unsigned char)*p++;
		if (c == 'u') {
			for (i = 0; i < 4; i++, p++)
				if (strchr("0123456789abcdefABCDEF", *p) == NULL ||
				    *p == '\0')
					return NULL;
		} else if (strchr("\"\\/bfnrt", c) == NULL || c == '\0')
			return NULL;
	}
}

static const char *
jv_value(const char *p, int depth)
{
	p = jv_ws(p);
	if (depth > 32)
		return NULL;
	switch (*p) {
	case '{':
		p = jv_ws(p + 1);
		if (*p == '}')
			return p + 1;
		for (;;) {
			if ((p = jv_string(jv_ws(p))) == NULL)
				return NULL;
			p = jv_ws(p);
			if (*p++ != ':')
				return NULL;
			if ((p = jv_value(p, depth + 1)) == NULL)
				return NULL;
			p = jv_ws(p);
			if (*p == '}')
				return p + 1;
			if (*p++ != ',')
				return NULL;
		}
	case '[':
		p = jv_ws(p + 1);
		if (*p == ']')
			return p + 1;
		for (;;) {
			if ((p = jv_value(p, depth + 1)) == NULL)
				return NULL;
			p = jv_ws(p);
			if (*p == ']')
				return p + 1;
			if (*p++ != ',')
				return NULL;
		}
	case '"':
		return jv_string(p);
	case 't':
		return strncmp(p, "true", 4) == 0 ? p + 4 : NULL;
	case 'f':
		return strncmp(p, "false", 5) == 0 ? p + 5 : NULL;
	case 'n':
		return strncmp(p, "null", 4) == 0 ? p + 4 : NULL;
	default:
		if (*p == '-')
			p++;
		if (*p < '0' || *p > '9')
			return NULL;
		while (*p >= '0' && *p <= '9')
			p++;
		return p;
	}
}

bool
json_valid(const char *s)
{
	const char *p = jv_ws(s);

	if (*p != '{' || (p = jv_value(p, 0)) == NULL)
		return false;
	return strcmp(p, "\n") == 0;
}
