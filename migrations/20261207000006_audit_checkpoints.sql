-- Signed checkpoints of the audit chains' heads (server/src/audit/checkpoint.rs).
--
-- A hash chain shows that an event was changed, but not that the newest events were deleted,
-- or the tail rewritten with fresh hashes, by someone who can write the table (its owner can
-- drop the triggers). Every few minutes the server signs each chain's head — tenant, trail,
-- sequence number, hash — with an Ed25519 key kept outside the database, publishes it here
-- (`GET …/audit/checkpoints`) and appends it to a file outside the database. Verification
-- compares the chain with the newest checkpoint it knows: a chain that ends before it, or holds
-- another hash at its sequence number, was cut or rewritten.
--
-- Rows here are a copy for readers; deleting them hides nothing from a server that kept its
-- file, or from anyone who fetched them before.
create table audit_checkpoints (
    tenant_id  text not null references tenants (id),
    -- `control` (audit_events) or `execution` (execution_audit_events).
    trail      text not null check (trail in ('control', 'execution')),
    seq        bigint not null check (seq >= 1),
    head_hash  bytea not null check (length(head_hash) = 32),
    signed_at  timestamptz not null,
    key_id     text not null check (length(key_id) between 1 and 100),
    signature  bytea not null check (length(signature) = 64),
    primary key (tenant_id, trail, seq)
);

alter table audit_checkpoints enable row level security;
alter table audit_checkpoints force row level security;
create policy tenant_isolation on audit_checkpoints for select to astraflow_app
    using (tenant_id = app_tenant_id());
create policy platform_all on audit_checkpoints to astraflow_platform
    using (true) with check (true);

grant select on audit_checkpoints to astraflow_app;
grant select, insert on audit_checkpoints to astraflow_platform;
