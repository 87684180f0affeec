/* SPDX-License-Identifier: MIT */
/*
 * fuzz_servicetag: libFuzzer target for the Service Tags reader: the input
 * is the file's text, looked up for a regional and a global tag, then
 * walked whole by json.c's pull reader.  The file is downloaded by the
 * operator from elsewhere, so crashes, undefined behaviour, leaks and an
 * error without a message are what it looks for.  Seeds:
 * corpus/servicetag/.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "servicetag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const tags[] = { "PowerPlatformPlex.WestEurope", "T" };
	struct cidr_list list = { NULL, 0 };
	struct json_rd r;
	char err[512];
	size_t i;

	for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
		err[0] = '\0';
		if (servicetag_parse((const char *)data, size, tags[i], &list, NULL,
		    err, sizeof(err)) == -1 && err[0] == '\0')
			abort();
	}
	cidr_list_free(&list);
	json_rd_init(&r, (const char *)data, size);
	if (json_rd_skip(&r) == 0)
		(void)json_rd_finish(&r);
	if (r.err != NULL && r.err_off > size)
		abort();
	return 0;
}
