/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "upstream.h"

/* placeholder: module not written yet */
int upstream_placeholder_unused;
int upstream_placeholder_unused;
