-- API key scopes get real names (lib/apikey.h): "workflows:read" (list
-- workflows, read one, its versions and status) and "workflows:write"
-- (generate, replace, delete, deploy).  Every /api/v1 route requires one.
--
-- Keys made before held the single scope "workflows", which allowed all
-- of that: they get both names, so they keep working exactly as before.
-- Only known names may be stored from now on; a new scope is a migration
-- that widens the check.
UPDATE api_keys
   SET scopes = ARRAY['workflows:read', 'workflows:write']
 WHERE 'workflows' = ANY (scopes);

-- Nothing else was ever written by Canopy; anything else allowed nothing
-- and still does.
UPDATE api_keys
   SET scopes = ARRAY(SELECT s FROM unnest(scopes) AS s
                       WHERE s IN ('workflows:read', 'workflows:write'))
 WHERE NOT scopes <@ ARRAY['workflows:read', 'workflows:write'];

ALTER TABLE api_keys
    ALTER COLUMN scopes SET DEFAULT '{workflows:read,workflows:write}',
    ADD CONSTRAINT api_keys_scopes_known
        CHECK (scopes <@ ARRAY['workflows:read', 'workflows:write']::text[]);
