-- Accounts a tenant creates belong to the person whose email it is, not to the tenant.
--
-- Until now an owner adding a new email chose the account's password, so when another tenant
-- later added the same person, they landed in an account the first owner could sign in to.
-- Now a tenant creates an account without a password, and the person sets one through a
-- one-time link sent to that email (printed on the console where no mail server is
-- configured; server/src/auth/links.rs). The tenant role loses the right to write password
-- hashes at all.
revoke insert (password_hash) on users from astraflow_app;

-- One-time links that set an account's password. Only the SHA-256 of the secret in the link is
-- kept, so a copy of the database cannot be used to take an account over.
create table password_links (
    token_hash bytea primary key check (length(token_hash) = 32),
    user_id    uuid not null references users (id) on delete cascade,
    created_at timestamptz not null default now(),
    expires_at timestamptz not null,
    used_at    timestamptz,
    check (expires_at > created_at)
);
create index password_links_user_idx on password_links (user_id);

alter table password_links enable row level security;
alter table password_links force row level security;
create policy platform_all on password_links to astraflow_platform using (true) with check (true);
grant select, insert, update, delete on password_links to astraflow_platform;

-- The tenant role's only way to make a link: for an account created in this very transaction
-- (its `created_at` is the transaction's `now()`) that has no password, so a tenant can never
-- obtain a link to an account that already existed.
create function issue_first_password_link(account uuid, token bytea, expires timestamptz)
    returns boolean
    language sql volatile security definer
    set search_path = pg_catalog, public
    as $$
        with made as (
            insert into public.password_links (token_hash, user_id, expires_at)
            select token, u.id, expires
              from public.users u
             where u.id = account and u.password_hash is null and u.created_at = now()
            returning 1
        )
        select exists (select 1 from made)
    $$;
revoke all on function issue_first_password_link(uuid, bytea, timestamptz) from public;
grant execute on function issue_first_password_link(uuid, bytea, timestamptz) to astraflow_app;

-- The name a tenant knows a member by. An account that already existed keeps its own name
-- private: the tenant that adds it sees the name it gave, or the email's local part.
-- Null for accounts the tenant created itself, whose own name it chose.
alter table memberships add column display_name text
    check (display_name is null or length(display_name) between 1 and 200);
