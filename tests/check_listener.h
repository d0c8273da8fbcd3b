/* A tiny HTTP/1.1 listener on 127.0.0.1 for Check tests of modules that
 * POST somewhere (lib/publish): it records each request's method, path,
 * Content-Type and body, and answers with a chosen status (or not at
 * all, to test timeouts).  One thread, one connection at a time,
 * Connection: close.
 *
 *   static listener_t l;
 *   listener_start(&l, 201);   -- l.port is the bound port
 *   ... code under test POSTs to http://127.0.0.1:<port>/... ...
 *   listener_wait(&l, 1, 2000); l.req[0].path, l.req[0].body
 *   listener_stop(&l);
 */
#ifndef CANOPY_CHECK_LISTENER_H
#define CANOPY_CHECK_LISTENER_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LISTENER_MAX_REQ 16
#define LISTENER_BUF 65536

typedef struct {
	char method[16];
	char path[512];
	char content_type[128];
	char body[LISTENER_BUF];
} listener_req_t;

typedef struct {
	int fd;
	int port;
	int status; /* 0: read the request and never answer */
	atomic_bool stop;
	atomic_int count;
	pthread_t thread;
	listener_req_t req[LISTENER_MAX_REQ];
} listener_t;

/* Reads one request from c into r; 0 or -1. */
static int listener_read(int c, listener_req_t *r)
{
	static _Thread_local char buf[LISTENER_BUF * 2];
	size_t len = 0;
	char *end = NULL;
	while (!end && len < sizeof buf - 1) {
		ssize_t k = read(c, buf + len, sizeof buf - 1 - len);
		if (k <= 0)
			return -1;
		len += (size_t)k;
		buf[len] = '\0';
		end = strstr(buf, "\r\n\r\n");
	}
	if (!end)
		return -1;
	sscanf(buf, "%15s %511s", r->method, r->path);
	size_t clen = 0;
	for (char *line = strstr(buf, "\r\n"); line && line < end;
	     line = strstr(line + 2, "\r\n")) {
		if (strncasecmp(line + 2, "Content-Length:", 15) == 0)
			clen = strtoul(line + 17, NULL, 10);
		if (strncasecmp(line + 2, "Content-Type:", 13) == 0)
			sscanf(line + 15, " %127[^\r]", r->content_type);
	}
	size_t have = len - (size_t)(end + 4 - buf);
	if (clen >= sizeof r->body)
		return -1;
	memcpy(r->body, end + 4, have);
	while (have < clen) {
		ssize_t k = read(c, r->body + have, clen - have);
		if (k <= 0)
			return -1;
		have += (size_t)k;
	}
	r->body[clen] = '\0';
	return 0;
}

static void *listener_main(void *arg)
{
	listener_t *l = arg;
	while (!atomic_load(&l->stop)) {
		struct pollfd p = {.fd = l->fd, .events = POLLIN};
		if (poll(&p, 1, 50) <= 0)
			continue;
		int c = accept(l->fd, NULL, NULL);
		if (c < 0)
			continue;
		int i = atomic_load(&l->count);
		listener_req_t scratch;
		listener_req_t *r = i < LISTENER_MAX_REQ ? &l->req[i] : &scratch;
		memset(r, 0, sizeof *r);
		if (listener_read(c, r) == 0) {
			atomic_fetch_add(&l->count, 1);
			if (l->status) {
				char out[128];
				int n = snprintf(out, sizeof out,
						 "HTTP/1.1 %d X\r\nContent-Length: 0"
						 "\r\nConnection: close\r\n\r\n",
						 l->status);
				if (write(c, out, (size_t)n) < 0)
					perror("listener write");
			} else {
				/* hang until the client gives up */
				struct pollfd q = {.fd = c, .events = POLLIN};
				while (!atomic_load(&l->stop) && poll(&q, 1, 50) == 0)
					;
			}
		}
		close(c);
	}
	return NULL;
}

static int listener_start(listener_t *l, int status)
{
	memset(l, 0, sizeof *l);
	l->status = status;
	l->fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof sa;
	if (l->fd < 0 || bind(l->fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    listen(l->fd, 8) < 0 ||
	    getsockname(l->fd, (struct sockaddr *)&sa, &sl) < 0)
		return -1;
	l->port = ntohs(sa.sin_port);
	return pthread_create(&l->thread, NULL, listener_main, l) == 0 ? 0 : -1;
}

/* Waits until n requests were recorded or ms passed; the count. */
static int listener_wait(listener_t *l, int n, int ms)
{
	for (int waited = 0; atomic_load(&l->count) < n && waited < ms;
	     waited += 10)
		usleep(10000);
	return atomic_load(&l->count);
}

static void listener_stop(listener_t *l)
{
	atomic_store(&l->stop, true);
	pthread_join(l->thread, NULL);
	close(l->fd);
}

#endif
