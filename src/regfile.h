/* SPDX-License-Identifier: MIT */
/*
 * regfile: opening a path the configuration names as a file (the config
 * itself, certificates, the audit log) so that it can never block or spin
 * the caller: only a regular file is opened.  A FIFO, a device, a socket
 * or a directory is refused with a phrase that names what it is, before
 * it is opened (opening a device can have effects of its own) and again on
 * the descriptor (the path may have changed in between), and the open uses
 * O_NONBLOCK so that a FIFO swapped in at that moment cannot hang it.  It
 * does not read or write the file.
 */
#ifndef TLSBROKER_REGFILE_H
#define TLSBROKER_REGFILE_H

#include <stddef.h>
#include <sys/types.h>

#define REGFILE_ERRLEN 200

/*
 * Opens path with flags (O_RDONLY, or O_WRONLY / O_RDWR with O_APPEND and
 * O_CREAT as wanted; O_CLOEXEC and O_NOCTTY are added) and mode for
 * O_CREAT.  Returns a blocking descriptor on a regular file, or -1 with
 * errno set (EINVAL for "not a regular file") and a phrase in err
 * (REGFILE_ERRLEN bytes) such as "a FIFO, not a regular file" or
 * "No such file or directory".
 */
int regfile_open(const char *path, int flags, mode_t mode, char *err);

/* What st_mode is, as a phrase: "a FIFO", "a directory", ... */
const char *regfile_kind(mode_t st_mode);

#endif
