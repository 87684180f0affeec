/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "sdnotify.h"

/* placeholder: module not written yet */
int sdnotify_placeholder_unused;
int sdnotify_placeholder_unused;
