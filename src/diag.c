/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "diag.h"

/* placeholder: module not written yet */
int diag_placeholder_unused;
int diag_placeholder_unused;
