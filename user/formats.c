// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <string.h>
#include "csv.h"
#include "formats.h"
#include "jsonl.h"
#include "mprof.h"
#include "writer.h"

/* the default first */
static const struct mt_format_ops *const formats[] = {
	&mt_csv_format,
	&mt_jsonl_format,
	&mt_mprof_format,
};

#define NR_FORMATS (sizeof(formats) / sizeof(formats[0]))

const struct mt_format_ops *mt_format_by_name(const char *name)
{
	for (size_t i = 0; i < NR_FORMATS; i++)
		if (!strcmp(formats[i]->name, name))
			return formats[i];
	return NULL;
}

const struct mt_format_ops *mt_format_default(void)
{
	return formats[0];
}

bool mt_format_holds_runs(const struct mt_format_ops *ops)
{
	return ops->holds_runs;
}

const char *mt_format_name(const struct mt_format_ops *ops)
{
	return ops->name;
}

const char *mt_format_names(void)
{
	static char names[128];
	size_t len = 0;

	names[0] = '\0';
	for (size_t i = 0; i < NR_FORMATS && len < sizeof(names); i++)
		len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s",
					!i ? "" : i + 1 < NR_FORMATS ? ", " : " or ",
					formats[i]->name);
	return names;
}
