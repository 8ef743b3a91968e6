-- Execution planes (astraflow-plane) report to the control plane: each heartbeat says which
-- plane it is (its engine client and worker name), what it runs (version, the job types of
-- its connectors, its capacity) and how busy it is. The tenant page lists them, live or not.
--
-- A plane authenticates with the access token of its engine client, so the row's tenant and
-- environment come from the token, never from what the plane says. One row per (client,
-- worker name): a restarted plane updates its row; its `started_at` says when.
create table planes (
    tenant_id         text not null references tenants (id),
    environment       text not null,
    client_id         text not null,
    name              text not null check (length(name) between 1 and 200),
    version           text not null check (length(version) between 1 and 64),
    job_types         text[] not null check (cardinality(job_types) <= 200),
    capacity          integer not null check (capacity >= 0),
    in_flight         integer not null check (in_flight >= 0),
    -- `running`, or `stopped` once the plane said goodbye at shutdown.
    state             text not null check (state in ('running', 'stopped')),
    started_at        timestamptz not null,
    last_heartbeat_at timestamptz not null default now(),
    primary key (tenant_id, client_id, name),
    foreign key (tenant_id, environment) references environments (tenant_id, name)
);

alter table planes enable row level security;
alter table planes force row level security;
create policy tenant_isolation on planes to astraflow_app
    using (tenant_id = app_tenant_id()) with check (tenant_id = app_tenant_id());

grant select, insert, update on planes to astraflow_app;
