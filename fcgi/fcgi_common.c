/* fcgi_common: see fcgi_common.h. */
#include <fcgiapp.h>
#include <pthread.h>

#include "fcgi_common.h"
#include "log.h"
#include "str.h"

long fcgi_common_write(void *ctx, const char *data, size_t n)
{
	return FCGX_PutStr(data, (int)n, ctx);
}

void fcgi_common_set_header(http_response_t *resp, const char *name,
			    const char *value)
{
	if (http_set_header(resp, str_c(name), str_c(value)) != 0)
		log_error("header %s refused", name);
}

static void on_wake(int sig)
{
	(void)sig; /* only interrupts a blocking accept or read */
}

void fcgi_common_setup_signals(sigset_t *stop_signals)
{
	struct sigaction sa = {.sa_handler = on_wake};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(stop_signals);
	sigaddset(stop_signals, SIGTERM);
	sigaddset(stop_signals, SIGINT);
	pthread_sigmask(SIG_BLOCK, stop_signals, NULL);
}
