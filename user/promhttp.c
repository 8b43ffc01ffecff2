// SPDX-License-Identifier: GPL-2.0
#include <dlfcn.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "promhttp.h"
#include "promtext.h"

/*
 * libmicrohttpd, opened at the first start: what the exporter calls of it. Its soname is the
 * ABI the header was written for.
 */
#define MHD_SONAME "libmicrohttpd.so.12"
static struct {
	bool loaded;
	__typeof__(&MHD_start_daemon) start_daemon;
	__typeof__(&MHD_stop_daemon) stop_daemon;
	__typeof__(&MHD_run) run;
	__typeof__(&MHD_get_daemon_info) get_daemon_info;
	__typeof__(&MHD_create_response_from_buffer) create_response_from_buffer;
	__typeof__(&MHD_add_response_header) add_response_header;
	__typeof__(&MHD_queue_response) queue_response;
	__typeof__(&MHD_destroy_response) destroy_response;
} mhd;

static int load_mhd(char *err, size_t errlen)
{
	void *lib;

	if (mhd.loaded)
		return 0;
	lib = dlopen(MHD_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		snprintf(err, errlen, "%s: %s (Debian's package libmicrohttpd12)", MHD_SONAME,
			 dlerror());
		return -1;
	}
#define SYM(field, name)                                                                  \
	do {                                                                              \
		*(void **)&mhd.field = dlsym(lib, name);                                  \
		if (!mhd.field) {                                                         \
			snprintf(err, errlen, "%s has no %s", MHD_SONAME, name);          \
			dlclose(lib);                                                     \
			return -1;                                                        \
		}                                                                         \
	} while (0)
	SYM(start_daemon, "MHD_start_daemon");
	SYM(stop_daemon, "MHD_stop_daemon");
	SYM(run, "MHD_run");
	SYM(get_daemon_info, "MHD_get_daemon_info");
	SYM(create_response_from_buffer, "MHD_create_response_from_buffer");
	SYM(add_response_header, "MHD_add_response_header");
	SYM(queue_response, "MHD_queue_response");
	SYM(destroy_response, "MHD_destroy_response");
#undef SYM
	/* kept open for the life of the process: nothing to gain from closing it */
	mhd.loaded = true;
	return 0;
}

struct mt_promhttp {
	struct MHD_Daemon *d;
	mt_render_fn render;
	void *ctx;
	struct strbuf body;
	char address[80];
	char last_error[256]; /* libmicrohttpd's own words, for the start-up error */
};

static const char landing[] =
	"<html><head><title>memtrace-bpf exporter</title></head><body>"
	"<h1>memtrace-bpf exporter</h1><p><a href=\"/metrics\">Metrics</a></p></body></html>\n";

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct mt_promhttp *h = cls;
	va_list copy;

	va_copy(copy, ap);
	vsnprintf(h->last_error, sizeof(h->last_error), fmt, copy);
	va_end(copy);
	h->last_error[strcspn(h->last_error, "\n")] = '\0';
	mt_debug("http: %s", h->last_error);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
			     const char *body, size_t len, const char *allow)
{
	struct MHD_Response *r =
		mhd.create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	mhd.add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (allow)
		mhd.add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	ret = mhd.queue_response(c, status, r);
	mhd.destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size, void **req)
{
	struct mt_promhttp *h = cls;
	static const char not_allowed[] = "only GET and HEAD\n", not_found[] = "not found: try "
									      "/metrics\n";

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)req;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", not_allowed,
			     sizeof(not_allowed) - 1, "GET, HEAD");
	if (!strcmp(url, "/metrics")) {
		sb_reset(&h->body);
		h->render(h->ctx, &h->body);
		return reply(c, MHD_HTTP_OK, MT_PROMTEXT_CONTENT_TYPE, h->body.data ? h->body.data : "",
			     h->body.len, NULL);
	}
	if (!strcmp(url, "/"))
		return reply(c, MHD_HTTP_OK, "text/html; charset=utf-8", landing,
			     sizeof(landing) - 1, NULL);
	return reply(c, MHD_HTTP_NOT_FOUND, "text/plain", not_found, sizeof(not_found) - 1, NULL);
}

static struct MHD_Daemon *start_on(struct mt_promhttp *h, const struct mt_netaddr *a,
				   const struct sockaddr *sa)
{
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	unsigned port = ntohs(sa->sa_family == AF_INET6 ? ((const struct sockaddr_in6 *)sa)->sin6_port
							: ((const struct sockaddr_in *)sa)->sin_port);

	if (sa->sa_family == AF_INET6)
		flags |= a->any ? MHD_USE_DUAL_STACK : MHD_USE_IPv6;
	return mhd.start_daemon(
		flags, (uint16_t)port, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR, sa,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)MT_HTTP_MAX_CONNECTIONS,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)MT_HTTP_TIMEOUT_S,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)MT_HTTP_CONNECTION_MEMORY,
		MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h, MHD_OPTION_END);
}

struct mt_promhttp *promhttp_start(const struct mt_netaddr *addr, mt_render_fn render, void *ctx,
				   char *err, size_t errlen)
{
	struct mt_promhttp *h;
	const union MHD_DaemonInfo *info;
	int saved;

	if (load_mhd(err, errlen))
		return NULL;
	h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->render = render;
	h->ctx = ctx;
	sb_init(&h->body);
	errno = 0;
	h->d = start_on(h, addr, (const struct sockaddr *)&addr->ss);
	if (!h->d && addr->any && (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL)) {
		/* IPv6 is off on this host: every IPv4 address then */
		struct sockaddr_in in4 = {
			.sin_family = AF_INET,
			.sin_port = ((const struct sockaddr_in6 *)&addr->ss)->sin6_port,
			.sin_addr.s_addr = htonl(INADDR_ANY),
		};
		struct mt_netaddr v4 = { .len = sizeof(in4), .any = true };

		memcpy(&v4.ss, &in4, sizeof(in4));
		errno = 0;
		h->d = start_on(h, &v4, (const struct sockaddr *)&in4);
	}
	if (!h->d) {
		saved = errno;
		snprintf(err, errlen, "%s", saved ? strerror(saved) : h->last_error[0] ? h->last_error
										     : "libmicrohttpd "
										       "refused");
		sb_free(&h->body);
		free(h);
		return NULL;
	}
	info = mhd.get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
	netaddr_format(addr, info ? info->port : 0, h->address, sizeof(h->address));
	return h;
}

int promhttp_fd(const struct mt_promhttp *h)
{
	const union MHD_DaemonInfo *info = mhd.get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD);

	return info ? info->epoll_fd : -1;
}

void promhttp_run(struct mt_promhttp *h)
{
	mhd.run(h->d);
}

const char *promhttp_address(const struct mt_promhttp *h)
{
	return h->address;
}

void promhttp_stop(struct mt_promhttp *h)
{
	if (!h)
		return;
	mhd.stop_daemon(h->d);
	sb_free(&h->body);
	free(h);
}
