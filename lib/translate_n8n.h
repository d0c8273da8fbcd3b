/* translate_n8n: a Canopy workflow graph as an n8n workflow.
 *
 * The result is the body n8n 2.x's public REST API takes on
 * POST /api/v1/workflows (and PUT /api/v1/workflows/{id}): exactly
 * {name, nodes, connections, settings}, nothing read-only or unknown.
 *
 *   translate_n8n_opts_t o = {.credential = lookup, .ctx = &creds,
 *                             .webhook_path_prefix = "t42/"};
 *   json_t *wf;
 *   char err[256];
 *   if (translate_n8n(graph, &o, &wf, err, sizeof err) < 0) -> err says why
 *   builder_n8n_deploy(a, &conn, wf, translate_n8n_webhook_path(wf), ...);
 *   json_decref(wf);
 *
 * Every trigger and node becomes one n8n node (schema/VOCABULARY.md lists
 * which); each node's name is derived from its id ("send-mail" -> "Send
 * mail"), unique, and the nodes are laid out left to right by their depth
 * in the graph.  Edges become n8n connections keyed by node name, a port
 * becoming the output index of its place in the vocabulary (if: true 0,
 * false 1).  Strings holding {{ expressions }} get n8n's leading "=".
 * The output depends only on the graph and the options (no clock, no
 * randomness): node ids and webhook ids are name-based UUIDs, so the same
 * graph always gives byte-identical JSON and an update keeps n8n's ids.
 *
 * The graph must have passed workflow_validate(); a graph that did not is
 * refused with ERR_INVALID where the translation cannot go on, never
 * crashes.  Not translated: the graph's description and env (n8n's
 * public API has no place for them). */
#ifndef CANOPY_TRANSLATE_N8N_H
#define CANOPY_TRANSLATE_N8N_H

#include <stddef.h>

#include <jansson.h>

#include "err.h"

/* An n8n credential reference for an authRef, supplied by the caller
 * (the deploy job creates the credentials through n8n's API first). */
typedef struct {
	const char *id;
	const char *name;
} translate_n8n_cred_t;

typedef struct {
	/* Called for every node/trigger with an authRef; returns 0 and fills
	 * *out (strings borrowed until translate_n8n returns), or
	 * ERR_NOT_FOUND when the credential is missing.  Any other negative
	 * value is passed on as translate_n8n's result.  NULL: every
	 * authRef is missing. */
	int (*credential)(void *ctx, const char *auth_ref,
			  const char *n8n_cred_type, translate_n8n_cred_t *out);
	void *ctx;
	/* Put before every webhook path, e.g. "t42/", so tenants' webhook
	 * paths never collide; may be NULL.  Leading slashes of the result
	 * are dropped. */
	const char *webhook_path_prefix;
} translate_n8n_opts_t;

/* Builds the n8n workflow body for graph (borrowed) into *out (new
 * reference, caller decrefs).  opts may be NULL (no credentials, no
 * prefix).  Errors, with a human message in err (first one wins):
 * ERR_NOT_FOUND for an authRef the callback does not know; ERR_INVALID
 * for a graph that is malformed (not validated), uses a type without an
 * n8n translation, or has schedule triggers in different time zones (n8n
 * runs a workflow in one); ERR_TOO_LARGE when a value is too big to
 * translate; any other error the callback returns.  *out is NULL on
 * error. */
int translate_n8n(const json_t *graph, const translate_n8n_opts_t *opts,
		  json_t **out, char *err, size_t errlen) WARN_UNUSED;

/* The n8n credential type a Canopy node type needs (e.g. "slackApi",
 * "gmailOAuth2", "smtp", "httpHeaderAuth"), or NULL when it needs none.
 * node_inputs is the node's "inputs" (the entries array of the graph, or
 * an ordinary object); only "http" looks at it (its "authentication").
 * The string is static. */
const char *translate_n8n_credential_type(const char *canopy_type,
					  const json_t *node_inputs);

/* For a translated workflow (borrowed): the production webhook path n8n
 * will serve ("<prefix><path>", what follows <n8n>/webhook/) of its first
 * webhook node, which is the first trigger that is a webhook or a Canopy
 * event; NULL when there is none.  The string belongs to n8n_workflow. */
const char *translate_n8n_webhook_path(const json_t *n8n_workflow);

#endif
