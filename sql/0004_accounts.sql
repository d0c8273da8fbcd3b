-- People and what they may do: users, their memberships of tenants,
-- invitations, browser sessions, login throttling, the audit log and
-- first-party analytics.  lib/auth and lib/audit are the only writers of
-- users, sessions, login_throttle and audit_log.

-- A person who can sign in to the admin.  The e-mail address is stored
-- normalised (trimmed, ASCII lower case: lib/auth checks its shape) and is
-- unique regardless of case, so "Ann@X" and "ann@x" are one account.
CREATE TABLE users (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email                text NOT NULL
                         CHECK (length(email) BETWEEN 3 AND 254
                                AND email = lower(email)
                                AND email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    name                 text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- libsodium crypto_pwhash_str: "$argon2id$v=19$m=...,t=...,p=1$salt$hash"
    -- (parameters travel with the hash, so raising them later only needs a
    -- rehash at the next successful login)
    password_hash        text NOT NULL
                         CHECK (password_hash LIKE '$argon2id$%'
                                AND length(password_hash) < 128),
    -- platform operator: sees and may change every tenant
    is_admin             boolean NOT NULL DEFAULT false,
    password_changed_at  timestamptz NOT NULL DEFAULT now(),
    created_at           timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email ON users (lower(email));
-- Failed logins and lock-outs are not columns here: they live in
-- login_throttle, keyed by the hash of the e-mail address typed, so an
-- address with no account is throttled exactly like one with an account
-- and the throttle cannot be used to find out which addresses exist.

-- Who belongs to which tenant, and as what.  A person without a row for a
-- tenant (and without is_admin) sees nothing of it: lib/auth answers
-- "none" and the handler answers 404.
CREATE TABLE memberships (
    user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    tenant_id   bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    role        text NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, tenant_id)
);
CREATE INDEX memberships_tenant_id ON memberships (tenant_id);

-- An owner invites someone by address; the link holds a random token that
-- the owner copies (no mail server needed).  Only the token's SHA-256 is
-- kept, as for sessions and API keys: a leak of this table opens nothing.
CREATE TABLE invitations (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id    bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    email        text NOT NULL
                 CHECK (length(email) BETWEEN 3 AND 254 AND email = lower(email)),
    role         text NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
    token_hash   text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    -- kept when the inviter's account goes: the invitation stays valid
    invited_by   bigint REFERENCES users(id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    accepted_at  timestamptz,
    accepted_by  bigint REFERENCES users(id) ON DELETE SET NULL,
    revoked_at   timestamptz,
    CHECK (expires_at > created_at)
);
CREATE INDEX invitations_tenant_id ON invitations (tenant_id, id);

-- A signed-in browser.  The cookie holds 32 random bytes (base64url); the
-- row holds only their SHA-256, so neither a database dump nor a backup
-- lets anyone sign in.  A session ends at expires_at (absolute, set at
-- login), after an idle period (last_seen_at, enforced by lib/auth, which
-- moves it at most once a minute), or at revoked_at (logout, password
-- change, rotation at the next login).  The client's IP address is not
-- stored.
CREATE TABLE sessions (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id       bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash    text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    -- key of the session's CSRF tokens (HMAC-SHA256); never sent as is
    csrf_secret   text NOT NULL CHECK (length(csrf_secret) BETWEEN 32 AND 128),
    -- shown in "your sessions" so a person recognises a browser
    user_agent    text CHECK (length(user_agent) <= 300),
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    revoked_at    timestamptz,
    CHECK (expires_at > created_at)
);
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- Login throttling, one row per account key (SHA-256 of the normalised
-- address typed, whether or not it has an account) and per client key
-- (SHA-256 of what the responder names the client by, e.g. its address as
-- nginx saw it).  Every attempt is counted before the password is checked
-- and a success gives it back, so parallel guesses cannot overtake the
-- count.  Past the limit within the window the key is locked; each further
-- lock-out lasts twice as long as the one before (capped) until a day
-- passes quietly.  Rows are short-lived: auth_prune deletes them a day
-- after their last lock or window ends.
CREATE TABLE login_throttle (
    scope         text NOT NULL CHECK (scope IN ('account', 'client')),
    key_hash      text NOT NULL CHECK (key_hash ~ '^[0-9a-f]{64}$'),
    failures      integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
    window_start  timestamptz,
    locked_until  timestamptz,
    lockouts      integer NOT NULL DEFAULT 0 CHECK (lockouts >= 0),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key_hash)
);
CREATE INDEX login_throttle_updated_at ON login_throttle (updated_at);

-- Who changed what, when, and how: written by lib/audit in the same
-- transaction as the change itself, so a change without its entry (or an
-- entry for a change that was rolled back) cannot exist.  No foreign keys:
-- the trail outlives the users and tenants it mentions.  tenant_id is NULL
-- for platform actions (adding an operator; a tenant's creation is in its
-- own log, and so in the operators' view as well); user_id is
-- NULL when no person acted (the CLI, an API key, the deployer), and actor
-- then says who did ("cli", "apikey:<prefix>", "system").  diff maps a
-- JSON Pointer to {"old": ..., "new": ...} for every value that changed.
CREATE TABLE audit_log (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id    bigint,
    user_id      bigint,
    actor        text CHECK (length(actor) <= 200),
    action       text NOT NULL CHECK (action ~ '^[a-z][a-z0-9_.]{0,63}$'),
    object_type  text CHECK (object_type ~ '^[a-z][a-z0-9_]{0,63}$'),
    object_id    text CHECK (length(object_id) <= 200),
    request_id   text CHECK (length(request_id) <= 200),
    diff         jsonb CHECK (diff IS NULL OR jsonb_typeof(diff) = 'object'),
    created_at   timestamptz NOT NULL DEFAULT now()
);
-- per tenant, newest first (the tenant's log view pages by id)
CREATE INDEX audit_log_tenant_id ON audit_log (tenant_id, id);
-- across tenants by time (the operators' view, retention)
CREATE INDEX audit_log_created_at ON audit_log (created_at);

-- First-party analytics, counted per tenant, day and kind and nothing
-- else: no address, no cookie, no user agent, no path, so there is no
-- personal data to protect, export or delete.  A beacon adds one to its
-- row (INSERT ... ON CONFLICT DO UPDATE SET count = count + 1); the admin
-- dashboard reads the rows as they are.
CREATE TABLE events (
    tenant_id  bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    day        date NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('page_view', 'cta_click')),
    count      bigint NOT NULL DEFAULT 0 CHECK (count >= 0),
    PRIMARY KEY (tenant_id, day, kind)
);
