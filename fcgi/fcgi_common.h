/* fcgi_common: what canopy-responder and canopy-deployer share on their
 * FastCGI side: writing a response to a libfcgi stream, and the signal
 * set-up that lets a thread blocked in FCGX_Accept_r be stopped. */
#ifndef CANOPY_FCGI_COMMON_H
#define CANOPY_FCGI_COMMON_H

#include <signal.h>
#include <stddef.h>

#include "http.h"

/* An http_write_fn writing to an FCGX_Stream (ctx). */
long fcgi_common_write(void *ctx, const char *data, size_t n);

/* Sets a header we made ourselves: names and values are constants or
 * values the program built, so a refusal is a bug worth a log line, not a
 * failed response. */
void fcgi_common_set_header(http_response_t *resp, const char *name,
			    const char *value);

/* libfcgi turns SIGTERM into a flag that a thread blocked in accept never
 * sees.  So: SIGTERM and SIGINT are blocked in every thread (call this
 * before starting any) and taken by sigwait(stop_signals) in main; SIGUSR1
 * gets a handler without SA_RESTART, so sending it to a thread makes its
 * blocking accept or read return EINTR; SIGPIPE is ignored.  Call before
 * FCGX_Init, which keeps handlers already installed. */
void fcgi_common_setup_signals(sigset_t *stop_signals);

#endif
