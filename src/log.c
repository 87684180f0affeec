/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "log.h"

/* placeholder: module not written yet */
int log_placeholder_unused;
int log_placeholder_unused;
