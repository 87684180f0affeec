/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "parse.h"

/* placeholder: module not written yet */
int parse_placeholder_unused;
int parse_placeholder_unused;
