/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The formats of the time series by name (-F): the one place that knows which formats there
 * are and what each is called, so that the option, its error message and the writer cannot
 * disagree. What a format is (its ops, its properties) is the format's own business.
 */
#ifndef MT_FORMATS_H
#define MT_FORMATS_H

struct mt_format_ops;

/* The format of that name, or NULL. */
const struct mt_format_ops *mt_format_by_name(const char *name);
/* The format when -F is not given. */
const struct mt_format_ops *mt_format_default(void);
/* Whether its rows can say which run they belong to (--repeat), and its name. */
bool mt_format_holds_runs(const struct mt_format_ops *ops);
const char *mt_format_name(const struct mt_format_ops *ops);
/* Every name, for a message: "csv, jsonl or mprof". */
const char *mt_format_names(void);

#endif
