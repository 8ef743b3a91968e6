-- Tenants, users, memberships, platform admins, API tokens and the control-plane audit trail,
-- with row-level security on every tenant-scoped table.
--
-- How isolation works
-- -------------------
-- The server's pool logs in as whatever role DATABASE_URL names (it owns the schema and runs
-- migrations). Request transactions never use that role for data: they begin with
-- `set local role astraflow_app` and `set_config('app.tenant_id', <tenant>, true)`, both scoped
-- to the transaction. `astraflow_app` is NOLOGIN, has no BYPASSRLS, owns nothing, and every
-- tenant-scoped table has FORCE ROW LEVEL SECURITY with a policy comparing `tenant_id` to the
-- transaction's setting, so a query that forgets its WHERE clause still sees one tenant only.
--
-- A second role, `astraflow_platform`, is used for the few operations that are not about one
-- tenant (creating a tenant, a platform admin's tenant list, finding the account behind a login
-- or a token). It has no BYPASSRLS either: its reach comes from explicit policies below, so
-- it is visible in one place what it can do.
--
-- Roles are cluster-wide while migrations run per database, and tests migrate many databases
-- at once: a concurrent CREATE ROLE can fail with duplicate_object or unique_violation, and
-- either means the role now exists.

do $$
begin
    create role astraflow_app nologin nobypassrls;
exception when duplicate_object or unique_violation then null;
end
$$;

do $$
begin
    create role astraflow_platform nologin nobypassrls;
exception when duplicate_object or unique_violation then null;
end
$$;

-- The login role must be able to switch to both (a superuser can anyway; a plain owner role
-- needs the membership). Granting twice is harmless.
do $$
begin
    execute format('grant astraflow_app, astraflow_platform to %I', current_user);
exception when others then
    -- Granting to a superuser is a no-op that still succeeds; anything else is reported.
    raise notice 'could not grant the application roles to %: %', current_user, sqlerrm;
end
$$;

-- The transaction's tenant, or null when none was set.
create function app_tenant_id() returns text
    language sql stable
    as $$ select nullif(current_setting('app.tenant_id', true), '') $$;

-- The transaction's signed-in user, or null.
create function app_user_id() returns uuid
    language sql stable
    as $$ select nullif(current_setting('app.user_id', true), '')::uuid $$;

-- Tenants. The id follows Zeebe's rule (1–31 of [A-Za-z0-9._-]) so it can be passed to the
-- engine unchanged; the Rust newtype checks it first and this check is the backstop. Cloud
-- configuration is validated in Rust with precise messages; the checks here only refuse what
-- can never be right.
create table tenants (
    id             text primary key check (id ~ '^[A-Za-z0-9._-]{1,31}$'),
    name           text not null check (length(name) between 1 and 200),
    status         text not null default 'active' check (status in ('active', 'suspended')),
    plan           text not null default 'standard'
                   check (plan in ('free', 'standard', 'enterprise')),
    max_users      integer not null default 50 check (max_users between 1 and 100000),
    max_workflows  integer not null default 100 check (max_workflows between 1 and 100000),
    aws_account_id text check (aws_account_id ~ '^[0-9]{12}$'),
    aws_region     text,
    vpc_ids        text[] not null default '{}',
    iam_role_arns  text[] not null default '{}',
    created_at     timestamptz not null default now(),
    updated_at     timestamptz not null default now()
);

-- Accounts. A user is global (one email, many tenants). Either a local argon2id hash or an
-- external OIDC identity (issuer + subject), or both.
create table users (
    id                   uuid primary key default gen_random_uuid(),
    email                text not null check (email ~ '^[^@\s]+@[^@\s]+$'),
    name                 text not null check (length(name) between 1 and 200),
    password_hash        text,
    oidc_issuer          text,
    oidc_subject         text,
    -- The generated first-start password must be replaced before anything else is allowed.
    must_change_password boolean not null default false,
    -- Consecutive failed local logins and the lockout they caused.
    failed_logins        integer not null default 0,
    locked_until         timestamptz,
    created_at           timestamptz not null default now(),
    check ((oidc_issuer is null) = (oidc_subject is null))
);
create unique index users_email_key on users (lower(email));
create unique index users_oidc_identity_key on users (oidc_issuer, oidc_subject)
    where oidc_subject is not null;

create table platform_admins (
    user_id    uuid primary key references users (id) on delete cascade,
    granted_at timestamptz not null default now()
);

create table memberships (
    tenant_id  text not null references tenants (id),
    user_id    uuid not null references users (id) on delete cascade,
    role       text not null check (role in ('owner', 'editor', 'viewer', 'auditor')),
    created_at timestamptz not null default now(),
    primary key (tenant_id, user_id)
);
create index memberships_user_idx on memberships (user_id);

-- API tokens: only the SHA-256 of the secret is stored; the secret is shown once at creation.
create table api_tokens (
    id           uuid primary key default gen_random_uuid(),
    tenant_id    text not null references tenants (id),
    created_by   uuid references users (id) on delete set null,
    name         text not null check (length(name) between 1 and 200),
    role         text not null check (role in ('owner', 'editor', 'viewer', 'auditor')),
    token_hash   bytea not null unique check (length(token_hash) = 32),
    expires_at   timestamptz not null,
    last_used_at timestamptz,
    revoked_at   timestamptz,
    created_at   timestamptz not null default now()
);
create index api_tokens_tenant_idx on api_tokens (tenant_id);

-- The control-plane audit trail: one hash chain per tenant.
--
-- `seq` numbers a tenant's events from 1 with no gaps; the unique key makes a fork impossible
-- even if two writers raced (the writer also serialises on a per-tenant advisory lock, so the
-- race never reaches the key). `audit_hash` = SHA-256(prev_hash ‖ canonical JSON of the
-- event), computed by the server (`server::domain::audit`); the first event's prev_hash is 32
-- zero bytes.
create table audit_events (
    id             bigint generated always as identity primary key,
    tenant_id      text not null references tenants (id),
    seq            bigint not null check (seq >= 1),
    occurred_at    timestamptz not null,
    actor_id       uuid,
    actor          text not null,
    action         text not null,
    target_type    text not null,
    target_id      text not null,
    before         jsonb,
    after          jsonb,
    ip             text,
    user_agent     text,
    correlation_id text,
    prev_hash      bytea not null check (length(prev_hash) = 32),
    audit_hash     bytea not null check (length(audit_hash) = 32),
    unique (tenant_id, seq)
);

-- Append-only, enforced by the database for every role (superusers included, unless they
-- disable triggers — which verification then detects through the hashes).
create function audit_events_refuse_change() returns trigger
    language plpgsql
    as $$
begin
    raise exception 'audit events are append-only: % refused', tg_op
        using errcode = 'insufficient_privilege';
end
$$;

create trigger audit_events_no_update_delete
    before update or delete on audit_events
    for each row execute function audit_events_refuse_change();
create trigger audit_events_no_truncate
    before truncate on audit_events
    for each statement execute function audit_events_refuse_change();

-- Row-level security.
alter table tenants enable row level security;
alter table tenants force row level security;
alter table memberships enable row level security;
alter table memberships force row level security;
alter table api_tokens enable row level security;
alter table api_tokens force row level security;
alter table audit_events enable row level security;
alter table audit_events force row level security;

-- Tenant role: its own tenant's rows only.
create policy tenant_isolation on tenants to astraflow_app
    using (id = app_tenant_id()) with check (id = app_tenant_id());
create policy tenant_isolation on memberships to astraflow_app
    using (tenant_id = app_tenant_id()) with check (tenant_id = app_tenant_id());
-- A signed-in user also sees their own memberships, to list the tenants they can switch to.
create policy own_memberships on memberships for select to astraflow_app
    using (user_id = app_user_id());
create policy tenant_isolation on api_tokens to astraflow_app
    using (tenant_id = app_tenant_id()) with check (tenant_id = app_tenant_id());
create policy tenant_isolation on audit_events to astraflow_app
    using (tenant_id = app_tenant_id()) with check (tenant_id = app_tenant_id());

-- Platform role: every tenant, explicitly.
create policy platform_all on tenants to astraflow_platform using (true) with check (true);
create policy platform_all on memberships to astraflow_platform using (true) with check (true);
create policy platform_all on api_tokens to astraflow_platform using (true) with check (true);
create policy platform_all on audit_events to astraflow_platform using (true) with check (true);

grant usage on schema public to astraflow_app, astraflow_platform;
grant execute on function app_tenant_id(), app_user_id() to astraflow_app, astraflow_platform;

grant select, update on tenants to astraflow_app;
grant select, insert, update on tenants to astraflow_platform;
-- The tenant role may read and create accounts but never read password hashes.
grant select (id, email, name, oidc_issuer, oidc_subject, must_change_password, created_at)
    on users to astraflow_app;
grant insert (email, name, password_hash) on users to astraflow_app;
grant select, insert, update on users to astraflow_platform;
grant select on platform_admins to astraflow_app;
grant select, insert, delete on platform_admins to astraflow_platform;
grant select, insert, update, delete on memberships to astraflow_app, astraflow_platform;
grant select, insert, update on api_tokens to astraflow_app, astraflow_platform;
grant select, insert on audit_events to astraflow_app, astraflow_platform;
