/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The exporter's HTTP server: GET /metrics answered with what a render callback writes, from
 * libmicrohttpd run inside the tracer's own event loop (its epoll fd is one more fd the loop
 * waits on). No thread: a scrape reads the same state the loop writes, between two scans.
 * Slow and idle clients cannot hold the loop: sockets are non-blocking, a connection idle
 * for MT_HTTP_TIMEOUT_S is closed, at most MT_HTTP_MAX_CONNECTIONS are open at once, and
 * each has a fixed memory pool.
 */
#ifndef MT_PROMHTTP_H
#define MT_PROMHTTP_H

#include <stdint.h>
#include "netaddr.h"
#include "strbuf.h"

#define MT_HTTP_MAX_CONNECTIONS 512
#define MT_HTTP_TIMEOUT_S 10
#define MT_HTTP_CONNECTION_MEMORY (32 * 1024)

typedef void (*mt_render_fn)(void *ctx, struct strbuf *sb);

struct mt_promhttp;

/*
 * Listen on addr (":PORT": IPv6 and IPv4, or IPv4 alone where IPv6 is off). Returns the
 * server, or NULL with the reason in err (the port taken, no such address here).
 */
struct mt_promhttp *promhttp_start(const struct mt_netaddr *addr, mt_render_fn render, void *ctx,
				   char *err, size_t errlen);
/* The fd to wait on for readiness (epoll, level-triggered). */
int promhttp_fd(const struct mt_promhttp *h);
/* Serve whatever is ready, close what timed out; never blocks. */
void promhttp_run(struct mt_promhttp *h);
/* Where it listens, with the port it got ("127.0.0.1:9464"). */
const char *promhttp_address(const struct mt_promhttp *h);
/* Close every connection and the listening socket. NULL is fine. */
void promhttp_stop(struct mt_promhttp *h);

#endif
