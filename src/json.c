/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "json.h"

/* placeholder: module not written yet */
int json_placeholder_unused;
int json_placeholder_unused;
