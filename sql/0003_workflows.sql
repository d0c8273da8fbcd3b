-- Workflows: graphs a tenant's team describes, their versions, their
-- deployments to a builder, the credentials their nodes use by authRef,
-- and the API keys that drive them.

CREATE TABLE workflows (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id      bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name           text NOT NULL DEFAULT 'Untitled automation'
                   CHECK (length(name) BETWEEN 1 AND 200),
    -- the request that started it, kept for regeneration and support
    prompt         text CHECK (length(prompt) <= 4000),
    -- the current graph; NULL until the first generation succeeds
    json           jsonb CHECK (json IS NULL OR jsonb_typeof(json) = 'object'),
    -- sha256 hex of the canonical graph (sorted keys, compact)
    graph_hash     text CHECK (graph_hash ~ '^[0-9a-f]{64}$'),
    version        integer NOT NULL DEFAULT 0 CHECK (version >= 0),
    status         text NOT NULL DEFAULT 'idle'
                   CHECK (status IN ('idle', 'generating', 'deploying',
                                     'live', 'error')),
    status_reason  text CHECK (length(status_reason) <= 2000),
    -- what the builder knows it by, once deployed
    builder_kind   text CHECK (builder_kind IN ('n8n', 'builder')),
    external_id    text CHECK (length(external_id) <= 200),
    editor_url     text CHECK (length(editor_url) <= 2000),
    last_run_url   text CHECK (length(last_run_url) <= 2000),
    deployed_hash  text CHECK (deployed_hash ~ '^[0-9a-f]{64}$'),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX workflows_tenant_id ON workflows (tenant_id, id);

-- Every graph a workflow has had, numbered from 1 per workflow.
CREATE TABLE workflow_versions (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id    bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    workflow_id  bigint NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
    version      integer NOT NULL CHECK (version >= 1),
    json         jsonb NOT NULL CHECK (jsonb_typeof(json) = 'object'),
    graph_hash   text NOT NULL CHECK (graph_hash ~ '^[0-9a-f]{64}$'),
    -- where it came from: the model, the API, the admin forms, a restore
    source       text NOT NULL CHECK (source IN ('generate', 'api', 'admin',
                                                 'restore')),
    request_id   text CHECK (length(request_id) <= 200),
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workflow_id, version)
);
CREATE INDEX workflow_versions_tenant_id ON workflow_versions (tenant_id, workflow_id);

-- One row per attempt to ship a graph to a builder.
CREATE TABLE deployments (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id    bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    workflow_id  bigint NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
    job_id       bigint,  -- the workflow.deploy job (jobs are pruned)
    attempt      integer NOT NULL CHECK (attempt >= 1),
    driver       text NOT NULL CHECK (driver IN ('n8n', 'builder')),
    graph_hash   text NOT NULL CHECK (graph_hash ~ '^[0-9a-f]{64}$'),
    status       text NOT NULL DEFAULT 'running'
                 CHECK (status IN ('running', 'succeeded', 'failed')),
    external_id  text CHECK (length(external_id) <= 200),
    url          text CHECK (length(url) <= 2000),
    error        text CHECK (length(error) <= 2000),
    http_status  integer,
    request_id   text CHECK (length(request_id) <= 200),
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz
);
CREATE INDEX deployments_tenant_id ON deployments (tenant_id, workflow_id, id);

-- Secrets nodes reach by authRef.  The value is sealed with
-- CANOPY_SECRET_KEY (lib/crypto: libsodium secretbox) and never leaves
-- the server in clear except towards the builder that needs it.
CREATE TABLE credentials (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id    bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (name ~ '^[A-Za-z][A-Za-z0-9_.-]{0,63}$'),
    -- the builder's credential type, e.g. slackApi, smtp, httpHeaderAuth
    kind         text NOT NULL CHECK (kind ~ '^[A-Za-z][A-Za-z0-9]{0,63}$'),
    sealed       text NOT NULL CHECK (length(sealed) <= 20000),
    -- ids the builders gave it: {"n8n": "<credential id>"}
    external_ids jsonb NOT NULL DEFAULT '{}'
                 CHECK (jsonb_typeof(external_ids) = 'object'),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, name)
);

-- API keys: shown once, stored as a hash.  The prefix (not secret) lets a
-- person tell keys apart and lets the server find the row in one lookup.
CREATE TABLE api_keys (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id    bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    prefix       text NOT NULL UNIQUE CHECK (prefix ~ '^[A-Za-z0-9_-]{8,32}$'),
    key_hash     text NOT NULL CHECK (key_hash ~ '^[0-9a-f]{64}$'),
    scopes       text[] NOT NULL DEFAULT '{workflows}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_keys_tenant_id ON api_keys (tenant_id, id);

-- The tenant page lists the workflows with their status: what it shows
-- changes with them.  Every table but tenants and themes names its tenant
-- in tenant_id.
CREATE OR REPLACE FUNCTION notify_site_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'tenants' THEN
        PERFORM pg_notify('site_changed', COALESCE(NEW.id, OLD.id)::text);
    ELSIF TG_TABLE_NAME = 'themes' THEN
        PERFORM pg_notify('site_changed', '*');
    ELSE
        PERFORM pg_notify('site_changed', COALESCE(NEW.tenant_id, OLD.tenant_id)::text);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER workflows_changed
    AFTER INSERT OR DELETE OR UPDATE OF name, status, status_reason, last_run_url
    ON workflows
    FOR EACH ROW EXECUTE FUNCTION notify_site_changed();
