// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "netaddr.h"

static int parse_port(const char *text, unsigned *port)
{
	char *end;
	unsigned long v;

	if (*text < '0' || *text > '9' || strlen(text) > 5)
		return -1;
	v = strtoul(text, &end, 10);
	if (*end || v > 65535)
		return -1;
	*port = (unsigned)v;
	return 0;
}

int netaddr_parse(const char *text, struct mt_netaddr *out, char *err, size_t errlen)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)&out->ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&out->ss;
	const char *colon = strrchr(text, ':');
	char host[64];
	size_t hlen;
	unsigned port;

	memset(out, 0, sizeof(*out));
	if (!colon || parse_port(colon + 1, &port)) {
		snprintf(err, errlen, "expected :PORT, IPV4:PORT or [IPV6]:PORT with a port from 0 "
				      "to 65535");
		return -1;
	}
	hlen = (size_t)(colon - text);
	if (hlen >= sizeof(host)) {
		snprintf(err, errlen, "the host part is too long for a numeric address");
		return -1;
	}
	memcpy(host, text, hlen);
	host[hlen] = '\0';
	if (!hlen) {
		out->any = true;
		in6->sin6_family = AF_INET6;
		in6->sin6_addr = in6addr_any;
		in6->sin6_port = htons(port);
		out->len = sizeof(*in6);
		return 0;
	}
	if (host[0] == '[') {
		if (hlen < 3 || host[hlen - 1] != ']') {
			snprintf(err, errlen, "an IPv6 address goes in brackets: [::1]:9464");
			return -1;
		}
		host[hlen - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &in6->sin6_addr) != 1) {
			snprintf(err, errlen, "'%s' is not an IPv6 address", host + 1);
			return -1;
		}
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		out->len = sizeof(*in6);
		return 0;
	}
	if (!strcmp(host, "localhost"))
		strcpy(host, "127.0.0.1");
	if (inet_pton(AF_INET, host, &in4->sin_addr) != 1) {
		snprintf(err, errlen, "'%s' is not a numeric IPv4 address (IPv6 goes in brackets; "
				      "host names are not looked up)",
			 host);
		return -1;
	}
	in4->sin_family = AF_INET;
	in4->sin_port = htons(port);
	out->len = sizeof(*in4);
	return 0;
}

void netaddr_format(const struct mt_netaddr *a, unsigned port, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "";

	if (a->any) {
		snprintf(buf, len, ":%u", port);
	} else if (a->ss.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&a->ss)->sin6_addr, host,
			  sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, port);
	} else {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)&a->ss)->sin_addr, host,
			  sizeof(host));
		snprintf(buf, len, "%s:%u", host, port);
	}
}
