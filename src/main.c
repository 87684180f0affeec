/* SPDX-License-Identifier: MIT */
/*
 * main: the command line: run (the default), -t (check a config), probe
 * (probe.c), and the exit statuses: 0 success, 1 configuration or start-up
 * error, 2 usage.
 * Everything else lives in daemon.c and the modules it drives.
 */
#include "config.h"

#include <getopt.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blockcache.h"
#include "daemon.h"
#include "probe.h"

#define DEFAULT_CONF SYSCONFDIR "/tlsbroker/tlsbroker.ini"

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: tlsbroker [-t] [-c FILE]\n"
	    "       tlsbroker probe HOST:PORT [--sni NAME|off] [--ca FILE] [--timeout DUR]\n"
	    "                       [--name ROUTE] [--json]\n"
	    "       tlsbroker probe --route NAME [-c FILE]\n"
	    "       tlsbroker -V | -h\n"
	    "\n"
	    "  -c, --config FILE   configuration file (default %s)\n"
	    "  -t, --test          check the configuration, load every certificate\n"
	    "                      and build every TLS context, then exit\n"
	    "  -V, --version       print the version\n"
	    "  -h, --help          this help\n"
	    "\n"
	    "Runs in the foreground; signals: TERM/INT drain and stop, HUP reload,\n"
	    "USR1 reopen the audit log.  See tlsbroker(8) and tlsbroker.ini(5).\n",
	    DEFAULT_CONF);
}

/*
 * glibc gives a worker arena's free top back to the kernel (madvise)
 * once it passes 128 KiB, so an ERP exchange (a 64 KiB upload, a 200 KiB
 * answer) costs about one madvise and the page faults of touching the
 * pages again, per request.  Keeping up to 1 MiB free per arena ends
 * that; blocks of 256 KiB and more still come from mmap.
 */
static void
keep_freed_memory(void)
{
	(void)mallopt(M_TRIM_THRESHOLD, 1024 * 1024);
	(void)mallopt(M_MMAP_THRESHOLD, 256 * 1024);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "test", no_argument, NULL, 't' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *path = DEFAULT_CONF;
	bool test = false;
	int ch;

	/* before anything allocates through OpenSSL or libevent */
	(void)blockcache_install();
	if (argc > 1 && strcmp(argv[1], "probe") == 0)
		return probe_main(argc - 1, argv + 1);

	while ((ch = getopt_long(argc, argv, "c:tVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 't':
			test = true;
			break;
		case 'V':
			printf("tlsbroker %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "tlsbroker: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (test)
		return daemon_check(path);
	keep_freed_memory();
	return daemon_run(path);
}
