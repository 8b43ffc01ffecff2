/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A listening address as a person writes it: ":9464" (every address), "127.0.0.1:9464",
 * "[::1]:9464", "localhost:9464". Numeric only, so a typo is a usage error and not a DNS
 * lookup. Pure.
 */
#ifndef MT_NETADDR_H
#define MT_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct mt_netaddr {
	struct sockaddr_storage ss;
	socklen_t len;
	bool any; /* ":PORT": every address, IPv6 and IPv4 (ss holds the IPv6 wildcard) */
};

/* 0, or -1 with a reason for the user in err. */
int netaddr_parse(const char *text, struct mt_netaddr *out, char *err, size_t errlen);
/* Back into text, with the port the socket has (the one asked, or the kernel's for 0). */
void netaddr_format(const struct mt_netaddr *a, unsigned port, char *buf, size_t len);

#endif
