/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "conf.h"

/* placeholder: module not written yet */
int conf_placeholder_unused;
int conf_placeholder_unused;
