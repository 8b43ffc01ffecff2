/* SPDX-License-Identifier: GPL-2.0 */
/* -F jsonl: one JSON object a row, for tools that read JSON more readily than CSV. */
#ifndef MT_JSONL_H
#define MT_JSONL_H

#include "writer.h"

extern const struct mt_format_ops mt_jsonl_format;

#endif
