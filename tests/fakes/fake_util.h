/* Helpers for Check tests that talk to the fakes in tests/fakes/.
 *
 *   static fake_t oai;
 *   fake_start(&oai, "openai_fake.py", NULL)  -- in an unchecked fixture
 *   fake_reset(&oai); fake_mode(&oai, "{\"mode\":\"429\"}");
 *   json_t *reqs = fake_requests(&oai);       -- what the fake received
 *   fake_stop(&oai);
 *
 * A fake is started as `python3 TOP_SRCDIR/tests/fakes/<script> --port 0`
 * and reports the port it bound in its "ready <port>" line, so no port is
 * guessed and none is raced for.  It is sent SIGTERM at stop and also if
 * the test process dies (PR_SET_PDEATHSIG).  Control calls use libcurl
 * directly so they do not depend on the module under test.  A test
 * program whose fakes cannot run (no python3) exits 77: skipped. */
#ifndef CANOPY_FAKE_UTIL_H
#define CANOPY_FAKE_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#define FAKE_START_TIMEOUT_MS 10000

typedef struct {
	pid_t pid;
	int out_fd;
	int port;
	char base[64]; /* http://127.0.0.1:<port> */
} fake_t;

/* Whether `python3` can be run (the fakes need nothing else). */
static inline int fake_python_available(void)
{
	pid_t pid = fork();
	if (pid < 0)
		return 0;
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		if (devnull >= 0) {
			dup2(devnull, 1);
			dup2(devnull, 2);
		}
		execlp("python3", "python3", "-c", "import http.server", NULL);
		_exit(127);
	}
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* Starts tests/fakes/<script> with extra arguments (NULL-terminated, may
 * be NULL) and waits for its ready line.  Returns 0 or -1. */
static inline int fake_start(fake_t *f, const char *script,
			     const char *const *extra)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/tests/fakes/%s", TOP_SRCDIR, script);
	const char *argv[32] = {"python3", path, "--port", "0"};
	int argc = 4;
	for (int i = 0; extra && extra[i] && argc < 31; i++)
		argv[argc++] = extra[i];
	argv[argc] = NULL;

	int pfd[2];
	if (pipe(pfd) < 0)
		return -1;
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(1);
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		execvp("python3", (char *const *)argv);
		_exit(127);
	}
	close(pfd[1]);
	memset(f, 0, sizeof *f);
	f->pid = pid;
	f->out_fd = pfd[0];

	char line[128];
	size_t n = 0;
	struct pollfd p = {.fd = f->out_fd, .events = POLLIN};
	while (n < sizeof line - 1) {
		if (poll(&p, 1, FAKE_START_TIMEOUT_MS) <= 0)
			break;
		ssize_t r = read(f->out_fd, line + n, 1);
		if (r <= 0)
			break;
		if (line[n] == '\n')
			break;
		n++;
	}
	line[n] = '\0';
	if (strncmp(line, "ready ", 6) != 0) {
		fprintf(stderr, "fake %s did not start (got '%s')\n", script,
			line);
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
		close(f->out_fd);
		f->pid = 0;
		return -1;
	}
	f->port = (int)strtol(line + 6, NULL, 10);
	snprintf(f->base, sizeof f->base, "http://127.0.0.1:%d", f->port);
	return 0;
}

static inline void fake_stop(fake_t *f)
{
	if (f->pid <= 0)
		return;
	kill(f->pid, SIGTERM);
	int st;
	while (waitpid(f->pid, &st, 0) < 0 && errno == EINTR)
		;
	close(f->out_fd);
	f->pid = 0;
}

static size_t fake_collect(char *d, size_t s, size_t n, void *u)
{
	FILE *out = u;
	return fwrite(d, s, n, out);
}

/* method path [body] against the fake; returns the HTTP status (or -1)
 * and, when out is not NULL, the body (free() it). */
static inline long fake_call(const fake_t *f, const char *method,
			     const char *path, const char *body, char **out)
{
	char url[512];
	snprintf(url, sizeof url, "%s%s", f->base, path);
	char *data = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&data, &len);
	CURL *h = curl_easy_init();
	long status = -1;
	if (!h || !mem)
		goto done;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, fake_collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, mem);
	if (body)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
done:
	if (h)
		curl_easy_cleanup(h);
	if (mem)
		fclose(mem);
	if (out)
		*out = data;
	else
		free(data);
	return status;
}

/* Forgets requests, failure modes and stored state. */
static inline void fake_reset(const fake_t *f)
{
	fake_call(f, "POST", "/_fake/reset", "{}", NULL);
}

/* Queues a failure: spec is the JSON for POST /_fake/mode. */
static inline long fake_mode(const fake_t *f, const char *spec)
{
	return fake_call(f, "POST", "/_fake/mode", spec, NULL);
}

/* The "requests" array the fake recorded (new reference), or NULL. */
static inline json_t *fake_requests(const fake_t *f)
{
	char *body = NULL;
	if (fake_call(f, "GET", "/_fake/requests", NULL, &body) != 200) {
		free(body);
		return NULL;
	}
	json_t *all = json_loads(body, 0, NULL);
	free(body);
	json_t *reqs = json_incref(json_object_get(all, "requests"));
	json_decref(all);
	return reqs;
}

/* The value of header name in a recorded request (case-insensitive). */
static inline const char *fake_req_header(json_t *req, const char *name)
{
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(req, "headers"), k, v)
	{
		if (strcasecmp(k, name) == 0)
			return json_string_value(v);
	}
	return NULL;
}

/* Milliseconds on a monotonic clock, for timing assertions. */
static inline double fake_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* Everything in file fd (rewound first) as a NUL-terminated string. */
static inline char *fake_slurp_fd(int fd)
{
	lseek(fd, 0, SEEK_SET);
	size_t cap = 4096, len = 0;
	char *s = malloc(cap);
	ssize_t r;
	while (s && (r = read(fd, s + len, cap - len - 1)) > 0) {
		len += (size_t)r;
		if (cap - len < 2) {
			cap *= 2;
			s = realloc(s, cap);
		}
	}
	if (s)
		s[len] = '\0';
	return s;
}

#endif
