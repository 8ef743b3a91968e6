-- The server as the OAuth 2.0 authorisation server of its embedded engines.
--
-- A tenant's owner creates engine clients per environment: Zeebe workers and clients that
-- fetch an access token from `POST /oauth/token` (client credentials) and call that
-- environment's engine with it. The token grants exactly the client's tenant and permissions
-- for exactly one engine (its audience, `astraflow-engine:<environment>`).
--
-- Only the SHA-256 of a client secret is stored, as for API tokens: the secret is 256 random
-- bits shown once, so a fast hash is enough and a database leak yields no usable secret.
-- The row refers to its environment by (tenant, name), which the environments table keeps
-- unique, so a client can never point at another tenant's environment whatever the code does.
-- Revoking marks the row (`revoked_at`) instead of deleting it, so the audit trail's
-- `client_id` keeps meaning something; tokens issued before stay valid until they expire
-- (five minutes), since the engines verify them without asking the server.
create table engine_clients (
    id           uuid primary key default gen_random_uuid(),
    tenant_id    text not null references tenants (id),
    environment  text not null,
    client_id    text not null unique check (client_id ~ '^astc_[0-9a-f]{32}$'),
    secret_hash  bytea not null check (length(secret_hash) = 32),
    name         text not null check (length(name) between 1 and 200),
    -- What tokens of this client may do on the engine; the server checks the same in Rust.
    permissions  text[] not null
        check (cardinality(permissions) between 1 and 4
               and permissions <@ array['jobs', 'instances', 'messages', 'deploy']),
    created_by   uuid references users (id) on delete set null,
    created_at   timestamptz not null default now(),
    -- Updated at most once a minute by the token endpoint, so busy workers cost no write per
    -- token.
    last_used_at timestamptz,
    revoked_at   timestamptz,
    foreign key (tenant_id, environment) references environments (tenant_id, name)
);
create index engine_clients_environment_idx on engine_clients (tenant_id, environment);

alter table engine_clients enable row level security;
alter table engine_clients force row level security;
create policy tenant_isolation on engine_clients to astraflow_app
    using (tenant_id = app_tenant_id()) with check (tenant_id = app_tenant_id());
-- The token endpoint finds a client by its id before it knows the tenant.
create policy platform_all on engine_clients to astraflow_platform using (true) with check (true);

grant select, insert, update on engine_clients to astraflow_app, astraflow_platform;

-- The keys the server signs access tokens with (Ed25519; the 32-byte seed is the private
-- key). The current key has no `retired_at`; a rotated-out key stays published in the JWKS
-- for ten minutes after it retired, so tokens signed just before the rotation still verify
-- until they expire. The first start generates the first key.
--
-- Not a tenant table: no tenant role may ever read a private key, so there is no grant to
-- astraflow_app at all, and the platform role reaches it through its own policy.
create table oauth_signing_keys (
    kid        text primary key check (kid ~ '^[A-Za-z0-9_-]{1,64}$'),
    seed       bytea not null check (length(seed) = 32),
    created_at timestamptz not null default now(),
    retired_at timestamptz
);
-- At most one current key.
create unique index oauth_signing_keys_current_key on oauth_signing_keys ((true))
    where retired_at is null;

alter table oauth_signing_keys enable row level security;
alter table oauth_signing_keys force row level security;
create policy platform_all on oauth_signing_keys to astraflow_platform
    using (true) with check (true);

grant select, insert, update on oauth_signing_keys to astraflow_platform;
