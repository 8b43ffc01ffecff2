/* SPDX-License-Identifier: GPL-2.0 */
/* -F jsonl: the rows as JSON lines. */
#ifndef MT_JSONL_H
#define MT_JSONL_H

#include "writer.h"

extern const struct mt_format_ops mt_jsonl_format;

#endif
