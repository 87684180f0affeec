/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "daemon.h"

/* placeholder: module not written yet */
int daemon_placeholder_unused;
int daemon_placeholder_unused;
