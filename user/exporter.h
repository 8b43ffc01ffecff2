/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --prometheus: the exporter. Its server (promhttp.c) is started before anything is loaded,
 * so a taken port stops the tool at once; its metrics (metrics.c) are kept from the sampler's
 * hooks; a scrape adds what only the session knows: the roots (COMMAND, -p), the tracer's own
 * health (events lost, BPF programs' run time, traced processes, build) and its process.
 */
#ifndef MT_EXPORTER_H
#define MT_EXPORTER_H

#include "session.h"

/* At most this many roots get series of their own (-p with more: the first ones). */
#define MT_EXPORTER_MAX_ROOTS 16

/* Listen (s->cfg.prometheus), set s->metrics. 0, or -1 said. */
int exporter_start(struct mt_session *s);
/* Tracing is on: the server's fd joins the loop's (MT_WAKE_HTTP). */
void exporter_watch(struct mt_session *s);
/* The loop woke (for it, or at a tick): answer what is ready. */
void exporter_serve(struct mt_session *s);
/* Close the server and free the metrics. Safe to call again. */
void exporter_stop(struct mt_session *s);

#endif
