/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Classic tracepoints' ids, which perf_event_open needs to attach a BPF program to one. The
 * kernel gives them only in tracefs; this finds them without changing what is mounted where.
 */
#ifndef MT_TRACEFS_H
#define MT_TRACEFS_H

#include <stddef.h>

/*
 * The id of tracepoint CATEGORY/NAME, or -errno (-ENOENT: no such tracepoint; -EPERM and kin:
 * tracefs is not mounted and could not be opened). *via says where it was read, for -v.
 */
int mt_tracepoint_id(const char *category, const char *name, const char **via);

/* The id in an events/CATEGORY/NAME/id file's text ("646\n"), or -EINVAL. */
int mt_tracepoint_id_parse(const char *text);

#endif
