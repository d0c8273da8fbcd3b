-- Tenants, their themes and their landing pages.
-- Every table holding tenant data carries tenant_id and an index on it.

CREATE TABLE themes (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    json        jsonb NOT NULL CHECK (jsonb_typeof(json) = 'object'),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tenants (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug        text NOT NULL UNIQUE
                CHECK (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    logo_url    text,
    theme_id    bigint REFERENCES themes(id),
    status      text NOT NULL DEFAULT 'active'
                CHECK (status IN ('active', 'suspended')),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE pages (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id     bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    json          jsonb NOT NULL CHECK (jsonb_typeof(json) = 'object'),
    is_published  boolean NOT NULL DEFAULT false,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id)
);

CREATE TABLE page_versions (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    page_id     bigint NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    json        jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX page_versions_tenant_id ON page_versions (tenant_id, page_id, id);

-- Responders cache rendered pages per process.  Any change to what a page
-- shows notifies 'site_changed' with the tenant id ('*' when a theme shared
-- by many tenants changes) in the same transaction, so caches drop the
-- entry before the next request can see the committed row.
CREATE FUNCTION notify_site_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'tenants' THEN
        PERFORM pg_notify('site_changed', COALESCE(NEW.id, OLD.id)::text);
    ELSIF TG_TABLE_NAME = 'pages' THEN
        PERFORM pg_notify('site_changed', COALESCE(NEW.tenant_id, OLD.tenant_id)::text);
    ELSE
        PERFORM pg_notify('site_changed', '*');
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER tenants_changed AFTER INSERT OR UPDATE OR DELETE ON tenants
    FOR EACH ROW EXECUTE FUNCTION notify_site_changed();
CREATE TRIGGER pages_changed AFTER INSERT OR UPDATE OR DELETE ON pages
    FOR EACH ROW EXECUTE FUNCTION notify_site_changed();
CREATE TRIGGER themes_changed AFTER UPDATE OR DELETE ON themes
    FOR EACH ROW EXECUTE FUNCTION notify_site_changed();
