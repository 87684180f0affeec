/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "session.h"

/* placeholder: module not written yet */
int session_placeholder_unused;
int session_placeholder_unused;
