-- Workflows and their immutable versions, each tenant's environments, deployments of versions
-- to environments with their approvals, the job types a tenant's workflows may use, and the
-- executions started through the control plane. Every table is tenant-scoped and follows the
-- isolation rules of 20261122000002_tenancy.sql: FORCE ROW LEVEL SECURITY, a tenant policy
-- for astraflow_app and an explicit one for astraflow_platform.

-- A workflow is one BPMN process, identified inside its tenant by its process id (`key`, the
-- `id` of the executable <process>, which is also Zeebe's bpmnProcessId). XML names
-- (NCName) start with a letter or underscore.
create table workflows (
    id          uuid primary key default gen_random_uuid(),
    tenant_id   text not null references tenants (id),
    key         text not null check (key ~ '^[A-Za-z_][A-Za-z0-9._-]{0,199}$'),
    name        text not null check (length(name) between 1 and 200),
    description text not null default '' check (length(description) <= 4000),
    -- The declared start variables (a JSON Schema subset, checked by the server), if any.
    variables_schema jsonb check (variables_schema is null or jsonb_typeof(variables_schema) = 'object'),
    created_by  uuid references users (id) on delete set null,
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now(),
    unique (tenant_id, key),
    -- Lets versions and deployments reference (tenant, workflow) so a row can never point at
    -- another tenant's workflow, whatever the code does.
    unique (tenant_id, id)
);

-- Versions are numbered from 1 per workflow and never change: what was reviewed, approved and
-- deployed stays exactly what it was.
create table workflow_versions (
    id           uuid primary key default gen_random_uuid(),
    tenant_id    text not null,
    workflow_id  uuid not null,
    version      integer not null check (version >= 1),
    bpmn_xml     text not null check (length(bpmn_xml) between 1 and 5242880),
    content_hash bytea not null check (length(content_hash) = 32),
    author_id    uuid references users (id) on delete set null,
    author       text not null,
    message      text not null default '' check (length(message) <= 2000),
    created_at   timestamptz not null default now(),
    unique (workflow_id, version),
    unique (tenant_id, id),
    foreign key (tenant_id, workflow_id) references workflows (tenant_id, id) on delete cascade
);

create function workflow_versions_refuse_update() returns trigger
    language plpgsql
    as $$
begin
    raise exception 'workflow versions are immutable: create a new version instead'
        using errcode = 'insufficient_privilege';
end
$$;
create trigger workflow_versions_immutable
    before update on workflow_versions
    for each row execute function workflow_versions_refuse_update();

-- Where a tenant's workflows run, in promotion order (`position`: dev 1, staging 2, prod 3).
-- The engine is the server's embedded engine for this environment's name, or an external
-- Zeebe gateway (a Camunda 8 cluster) reached with OAuth client credentials. The approval
-- policy says how many approvals a deployment needs, from which roles, whether one must come
-- from an owner; the requester never approves their own deployment.
create table environments (
    id                     uuid primary key default gen_random_uuid(),
    tenant_id              text not null references tenants (id),
    name                   text not null check (name ~ '^[a-z][a-z0-9-]{0,30}$'),
    position               integer not null check (position between 1 and 100),
    engine_kind            text not null default 'embedded'
        check (engine_kind in ('embedded', 'external')),
    engine_address         text check (length(engine_address) <= 500),
    oauth_token_url        text check (length(oauth_token_url) <= 500),
    oauth_client_id        text check (length(oauth_client_id) <= 500),
    oauth_client_secret    text check (length(oauth_client_secret) <= 2000),
    oauth_audience         text check (length(oauth_audience) <= 500),
    -- The tenant id sent to an external engine: `<default>` for a cluster without
    -- multi-tenancy (Camunda 8's default), or the tenant's id in a multi-tenant cluster.
    -- Embedded engines always get the tenant's own id.
    engine_tenant_id       text check (engine_tenant_id ~ '^(<default>|[A-Za-z0-9._-]{1,31})$'),
    approvals_required     integer not null default 0 check (approvals_required between 0 and 10),
    approver_roles         text[] not null default '{owner,editor}'
        check (approver_roles <@ array['owner', 'editor', 'viewer', 'auditor']),
    require_owner_approval boolean not null default false,
    created_at             timestamptz not null default now(),
    updated_at             timestamptz not null default now(),
    unique (tenant_id, name),
    unique (tenant_id, position),
    unique (tenant_id, id),
    check ((engine_kind = 'external') = (engine_address is not null))
);

-- A version's way to an environment: requested → validating → awaiting_approval → deploying →
-- deployed | failed; a deployed one becomes rolled_back when a rollback replaces it.
create table deployments (
    id                     uuid primary key default gen_random_uuid(),
    tenant_id              text not null,
    workflow_id            uuid not null,
    version_id             uuid not null,
    environment_id         uuid not null,
    state                  text not null default 'requested' check (state in (
        'requested', 'validating', 'awaiting_approval', 'deploying', 'deployed', 'failed',
        'rolled_back')),
    requested_by           uuid references users (id) on delete set null,
    requested_by_label     text not null,
    -- Set on a deployment made by rolling back: the deployment it replaced.
    rollback_of            uuid,
    diagnostics            jsonb not null default '[]',
    error                  text,
    process_definition_key bigint,
    process_version        integer,
    -- When it reached `deployed`: the newest deployed one of a workflow in an environment is
    -- what new instances start on, and a rollback returns to the one deployed before it.
    deployed_at            timestamptz,
    created_at             timestamptz not null default now(),
    updated_at             timestamptz not null default now(),
    unique (tenant_id, id),
    foreign key (tenant_id, rollback_of) references deployments (tenant_id, id),
    foreign key (tenant_id, workflow_id) references workflows (tenant_id, id),
    foreign key (tenant_id, version_id) references workflow_versions (tenant_id, id),
    foreign key (tenant_id, environment_id) references environments (tenant_id, id)
);
create index deployments_active_idx
    on deployments (tenant_id, environment_id, workflow_id, created_at desc);

create table approvals (
    id             uuid primary key default gen_random_uuid(),
    tenant_id      text not null,
    deployment_id  uuid not null,
    approver_id    uuid not null references users (id),
    approver_label text not null,
    role           text not null check (role in ('owner', 'editor', 'viewer', 'auditor')),
    comment        text not null default '' check (length(comment) <= 2000),
    created_at     timestamptz not null default now(),
    unique (deployment_id, approver_id),
    foreign key (tenant_id, deployment_id) references deployments (tenant_id, id)
);

-- Job types a tenant's service tasks may use besides the built-in connectors: its own
-- external workers. A deployment whose workflow names an unknown type is refused.
create table job_types (
    tenant_id   text not null references tenants (id),
    type        text not null check (length(type) between 1 and 200),
    description text not null default '' check (length(description) <= 2000),
    created_at  timestamptz not null default now(),
    primary key (tenant_id, type)
);

-- Process instances started through the control plane.
create table executions (
    id                     uuid primary key default gen_random_uuid(),
    tenant_id              text not null,
    workflow_id            uuid not null,
    deployment_id          uuid not null,
    environment_id         uuid not null,
    process_instance_key   bigint not null,
    process_definition_key bigint not null,
    started_by             uuid references users (id) on delete set null,
    started_by_label       text not null,
    variables              jsonb not null default '{}',
    created_at             timestamptz not null default now(),
    foreign key (tenant_id, workflow_id) references workflows (tenant_id, id),
    foreign key (tenant_id, deployment_id) references deployments (tenant_id, id),
    foreign key (tenant_id, environment_id) references environments (tenant_id, id)
);
create index executions_workflow_idx on executions (tenant_id, workflow_id, created_at desc);

-- Row-level security, as for every tenant table.
do $$
declare
    name text;
begin
    foreach name in array array['workflows', 'workflow_versions', 'environments', 'deployments',
                                'approvals', 'job_types', 'executions']
    loop
        execute format('alter table %I enable row level security', name);
        execute format('alter table %I force row level security', name);
        execute format('create policy tenant_isolation on %I to astraflow_app '
                       'using (tenant_id = app_tenant_id()) '
                       'with check (tenant_id = app_tenant_id())', name);
        execute format('create policy platform_all on %I to astraflow_platform '
                       'using (true) with check (true)', name);
    end loop;
end
$$;

grant select, insert, update, delete on workflows to astraflow_app, astraflow_platform;
grant select, insert, delete on workflow_versions to astraflow_app, astraflow_platform;
grant select, insert, update on environments to astraflow_app, astraflow_platform;
grant select, insert, update on deployments to astraflow_app, astraflow_platform;
grant select, insert on approvals to astraflow_app, astraflow_platform;
grant select, insert, delete on job_types to astraflow_app, astraflow_platform;
grant select, insert on executions to astraflow_app, astraflow_platform;

-- The default environments of every tenant that exists already (new tenants get theirs when
-- they are created): dev deploys at once, staging needs one approval, prod two including an
-- owner's. Done as the platform role: tenants forces row-level security on its owner too, so
-- a migrating role that is not a superuser would otherwise see no tenant at all.
set local role astraflow_platform;
insert into environments (tenant_id, name, position, approvals_required, require_owner_approval)
select t.id, e.name, e.position, e.approvals, e.owner
from tenants t
cross join (values ('dev', 1, 0, false), ('staging', 2, 1, false), ('prod', 3, 2, true))
    as e (name, position, approvals, owner);
reset role;
