-- Accounts are global (one email, many tenants), but a tenant must not be able to list the
-- accounts of other tenants. Row-level security on `users` limits the tenant role to the
-- signed-in user and the members of the transaction's tenant; the membership sub-query is
-- itself filtered by the memberships policies, so it only ever sees this tenant's rows (and the
-- user's own).
--
-- Adding a member by email must still find an existing account that belongs to other tenants
-- only. `user_id_by_email` answers exactly that — an id for an email, nothing else — with its
-- owner's rights (SECURITY DEFINER, fixed search_path), so the tenant role never gains a way
-- to enumerate accounts.

alter table users enable row level security;
alter table users force row level security;

create policy members_of_tenant on users for select to astraflow_app
    using (
        id = app_user_id()
        or exists (select 1 from memberships m where m.user_id = users.id)
    );
-- New accounts are created by adding a member; the id is chosen by the server, so the insert
-- needs no RETURNING (which would have to pass the select policy before the membership exists).
create policy create_accounts on users for insert to astraflow_app with check (true);
create policy platform_all on users to astraflow_platform using (true) with check (true);

grant insert (id) on users to astraflow_app;

create function user_id_by_email(address text) returns uuid
    language sql stable security definer
    set search_path = pg_catalog, public
    as $$ select id from public.users where lower(email) = lower(address) $$;
revoke all on function user_id_by_email(text) from public;
grant execute on function user_id_by_email(text) to astraflow_app, astraflow_platform;
