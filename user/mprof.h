/* SPDX-License-Identifier: GPL-2.0 */
/* -F mprof: memory_profiler's .dat, so that its `mprof plot` and `mprof peak` read a trace. */
#ifndef MT_MPROF_H
#define MT_MPROF_H

#include "writer.h"

extern const struct mt_format_ops mt_mprof_format;

#endif
