/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for upstream_proxy's answer reader and credentials
 * rule.  The answer must be classified the same whether it arrives whole
 * or in two pieces split at a position taken from the input (what the
 * peek-then-consume loop sees); a head length is never beyond the bytes
 * given nor past UPSTREAM_PROXY_HEAD_MAX, a refusal always has a proxy_*
 * reason, and "need more" never comes with eof.  The same bytes as a
 * credentials file must give a NUL-ended base64 value or a refusal.
 *
 * Input: 2 control bytes (split position, big-endian, modulo length + 1),
 * then the proxy's answer.
 */
#include "config.h"

#include "upstream_proxy.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int
feed(const char *p, size_t len, bool eof, struct tb_err *err)
{
	return upstream_proxy_answer(p, len, eof, "127.0.0.1:3128",
	    "legacy.example:443", err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[UPSTREAM_PROXY_BASIC_MAX];
	struct tb_err e1, e2;
	const char *why, *p;
	size_t len, split;
	int whole, first, r;

	if (size < 2)
		return 0;
	split = ((size_t)data[0] << 8 | data[1]);
	p = (const char *)data + 2;
	len = size - 2;
	if (len > UPSTREAM_PROXY_HEAD_MAX)
		len = UPSTREAM_PROXY_HEAD_MAX;
	split %= len + 1;

	whole = feed(p, len, false, &e1);
	if (whole > 0 && (size_t)whole > len)
		abort();
	if (whole == -1 && (e1.code < CR_PROXY_REFUSED ||
	    e1.code > CR_PROXY_BAD_ANSWER))
		abort();
	/* a prefix that already decided must decide the same way */
	first = feed(p, split, false, &e2);
	if (first > 0 && first != whole)
		abort();
	if (first == -1 && (whole != -1 || e1.code != e2.code))
		abort();
	/* at the end of the stream there is no "need more" */
	if ((r = feed(p, len, true, &e2)) == 0)
		abort();
	if (whole != 0 && r != whole)
		abort();

	if (upstream_proxy_basic(p, len, out, sizeof(out), &why) == 0 &&
	    memchr(out, '\0', sizeof(out)) == NULL)
		abort();
	return 0;
}
