/* SPDX-License-Identifier: MIT */
/*
 * evtext: a sticky-error writer over an evbuffer.  See evtext.h.
 */
#include "config.h"

#include "evtext.h"

#include <stdarg.h>

#include <event2/buffer.h>

void
evtext_printf(struct evtext *t, const char *fmt, ...)
{
	va_list ap;

	if (t->err)
		return;
	va_start(ap, fmt);
	if (evbuffer_add_vprintf(t->out, fmt, ap) < 0)
		t->err = 1;
	va_end(ap);
}

void
evtext_add(struct evtext *t, const char *s, size_t n)
{
	if (!t->err && n > 0 && evbuffer_add(t->out, s, n) == -1)
		t->err = 1;
}
