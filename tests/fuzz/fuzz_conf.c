/* SPDX-License-Identifier: MIT */
/*
 * fuzz_conf: libFuzzer target for the config loader and checker.  Feeds
 * the input (as a NUL-terminated string) to conf_load_string() and, when
 * it parses, to conf_check(), then frees everything: crashes, undefined
 * behaviour and leaks are what it looks for, and any line inih 55 reads
 * differently from conf.c's reader (the loader's "cannot parse this line"
 * safety net), which aborts.  Seeds: corpus/conf/.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "conf_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf_errors errs = { NULL, 0, 0 };
	struct conf *conf;
	const char *msg;
	unsigned i;
	char *text;

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	conf = conf_load_string("fuzz.ini", text, &errs);
	if (conf != NULL) {
		conf_check(conf, &errs);
		conf_free(conf);
	}
	/* exactly "fuzz.ini:N: cannot parse this line", not a quoted input */
	for (i = 0; i < errs.count; i++) {
		msg = errs.msgs[i];
		if (strncmp(msg, "fuzz.ini:", 9) != 0)
			continue;
		msg += 9 + strspn(msg + 9, "0123456789");
		if (strcmp(msg, ": cannot parse this line") == 0)
			abort();
	}
	conf_errors_free(&errs);
	free(text);
	return 0;
}
