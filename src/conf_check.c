/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "conf_check.h"

/* placeholder: module not written yet */
int conf_check_placeholder_unused;
int conf_check_placeholder_unused;
