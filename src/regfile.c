/* SPDX-License-Identifier: MIT */
/*
 * regfile: see regfile.h.  The check runs twice on purpose: stat() keeps
 * us from opening a device at all, fstat() proves that what we opened is
 * what we checked.
 */
#include "config.h"

#include "regfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *
regfile_kind(mode_t st_mode)
{
	if (S_ISDIR(st_mode))
		return "a directory";
	if (S_ISFIFO(st_mode))
		return "a FIFO";
	if (S_ISCHR(st_mode))
		return "a character device";
	if (S_ISBLK(st_mode))
		return "a block device";
	if (S_ISSOCK(st_mode))
		return "a socket";
	if (S_ISREG(st_mode))
		return "a regular file";
	return "not a file";
}

/* -1 with err and errno = EINVAL when st is not a regular file. */
static int
regfile_refuse(const struct stat *st, char *err)
{
	if (S_ISREG(st->st_mode))
		return 0;
	snprintf(err, REGFILE_ERRLEN, "%s, not a regular file",
	    regfile_kind(st->st_mode));
	errno = EINVAL;
	return -1;
}

int
regfile_open(const char *path, int flags, mode_t mode, char *err)
{
	struct stat st;
	int fd, fl, saved;

	if (stat(path, &st) == 0) {
		if (regfile_refuse(&st, err) == -1)
			return -1;
	} else if (errno != ENOENT || !(flags & O_CREAT)) {
		snprintf(err, REGFILE_ERRLEN, "%s", strerror(errno));
		return -1;
	}
	do {
		fd = open(path, flags | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, mode);
	} while (fd == -1 && errno == EINTR);
	if (fd == -1) {
		/* ENXIO: a FIFO without a reader took the path's place */
		snprintf(err, REGFILE_ERRLEN, "%s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || (fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == -1) {
		snprintf(err, REGFILE_ERRLEN, "%s", strerror(errno));
		goto fail;
	}
	if (regfile_refuse(&st, err) == -1)
		goto fail;
	return fd;
fail:
	saved = errno;
	(void)close(fd);
	errno = saved;
	return -1;
}
