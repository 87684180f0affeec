/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "http1.h"

/* placeholder: module not written yet */
int http1_placeholder_unused;
int http1_placeholder_unused;
