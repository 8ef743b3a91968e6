-- Records that could not be ingested. Ingest first makes every value storable (see
-- server/src/monitor/ingest/storable.rs); a record the database still refuses is kept here
-- with the reason, and its source's cursor moves past it, so one bad record never stops the
-- monitor, the feed and the execution trail of everyone else on that engine.
--
-- `tenant_id` is the tenant the record names, when it names one of ours; records of an
-- embedded engine's stream that name no tenant are the platform's alone. Platform
-- administrators read the table (`GET /api/v1/platform/ingest/dead-letters`); an exporter's
-- own tenant transaction may add rows of its tenant only.
create table ingest_dead_letters (
    id           bigint generated always as identity primary key,
    source       text not null check (length(source) between 1 and 200),
    partition_id integer not null,
    position     bigint not null,
    tenant_id    text references tenants (id),
    value_type   text not null,
    intent       text not null,
    -- The record as received, made storable (NUL escaped), so it can be replayed by hand.
    record       jsonb not null,
    -- What the database said, e.g. `22008: timestamp out of range`.
    reason       text not null,
    created_at   timestamptz not null default now(),
    unique (source, partition_id, position)
);

alter table ingest_dead_letters enable row level security;
alter table ingest_dead_letters force row level security;
create policy tenant_isolation on ingest_dead_letters to astraflow_app
    using (tenant_id = app_tenant_id()) with check (tenant_id = app_tenant_id());
create policy platform_all on ingest_dead_letters to astraflow_platform
    using (true) with check (true);

grant select, insert on ingest_dead_letters to astraflow_app, astraflow_platform;
