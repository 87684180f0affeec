/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "listener.h"

/* placeholder: module not written yet */
int listener_placeholder_unused;
int listener_placeholder_unused;
