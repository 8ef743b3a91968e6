-- The live monitor: projections of the engines' record streams, the cursors that make ingest
-- resumable, the per-environment ingest tokens of exporters on real clusters, and the
-- execution audit trail.
--
-- Records reach the server from two places, through one ingest path: the embedded engines'
-- streams, read in-process, and `POST /api/v1/ingest/records` from an exporter on an external
-- cluster. Each batch is applied in one transaction together with the cursor of its source, so
-- a record is applied exactly once: a restart resumes after the stored position, and a
-- re-sent batch finds its positions already behind the cursor.
--
-- Every projection row is a tenant's and carries `(tenant_id, environment_id)`: engine keys are
-- unique within one engine only, and each environment has its own engine. Row-level security
-- follows 20261122000002_tenancy.sql.

-- Where each record source got to. `source` is `embedded:<environment name>` for an embedded
-- engine (whose stream carries every tenant's records, so the row has no tenant) or
-- `environment:<environment id>` for an exporter posting with that environment's token.
create table ingest_cursors (
    source       text not null check (length(source) between 1 and 200),
    partition_id integer not null check (partition_id >= 0),
    position     bigint not null check (position >= 0),
    tenant_id    text references tenants (id),
    updated_at   timestamptz not null default now(),
    primary key (source, partition_id)
);

-- An exporter on an external cluster authenticates with its environment's ingest token; only
-- the SHA-256 of the secret is stored, and the secret is shown once when it is made.
alter table environments
    add column ingest_token_hash bytea unique check (length(ingest_token_hash) = 32),
    add column ingest_token_created_at timestamptz;

-- Process definitions as the engine reported them (PROCESS records carry the BPMN XML), so an
-- instance's diagram can be drawn even when its process was deployed around the control plane,
-- e.g. by a Zeebe client straight to the engine.
create table process_definitions (
    tenant_id              text not null references tenants (id),
    environment_id         uuid not null,
    process_definition_key bigint not null,
    bpmn_process_id        text not null,
    version                integer not null,
    resource_name          text not null,
    bpmn_xml               text not null,
    deployed_at            timestamptz not null,
    primary key (tenant_id, environment_id, process_definition_key),
    foreign key (tenant_id, environment_id) references environments (tenant_id, id)
);

-- Who asked the engine for what: the control plane sends a fresh `operationReference` with
-- every command it gives on someone's behalf (starting, cancelling, retrying, setting
-- variables), and the engine stamps it on every record the command causes. Ingest looks the
-- reference up, so the execution audit trail says which person's action an event followed
-- from, even though the records arrive before the request that caused them has finished.
create table operation_references (
    tenant_id           text not null references tenants (id),
    operation_reference bigint not null check (operation_reference > 0),
    actor_id            uuid,
    actor               text not null,
    action              text not null,
    created_at          timestamptz not null default now(),
    primary key (tenant_id, operation_reference)
);

-- One row per process instance. `incidents` counts the open incidents, so "instances with
-- incidents" is an index scan rather than a join. `workflow_id` links the instance to the
-- control plane's workflow of the same process id, when there is one.
create table process_instances (
    tenant_id                   text not null references tenants (id),
    environment_id              uuid not null,
    process_instance_key        bigint not null,
    process_definition_key      bigint not null,
    bpmn_process_id             text not null,
    version                     integer not null,
    workflow_id                 uuid,
    state                       text not null
        check (state in ('active', 'completed', 'terminated')),
    incidents                   integer not null default 0 check (incidents >= 0),
    parent_process_instance_key bigint,
    parent_element_instance_key bigint,
    start_time                  timestamptz not null,
    end_time                    timestamptz,
    updated_at                  timestamptz not null default now(),
    primary key (tenant_id, environment_id, process_instance_key),
    foreign key (tenant_id, environment_id) references environments (tenant_id, id)
);
-- The monitor lists a tenant's instances newest first, optionally narrowed to a workflow, an
-- environment or a state, and pages by (start_time, key, environment): keys are unique per
-- engine only, so two environments' engines can hand out the same key at the same moment.
-- Each common filter gets an index that yields rows already in that order, so a page costs
-- its own size at any table size.
create index process_instances_recent_idx
    on process_instances (tenant_id, start_time desc, process_instance_key desc,
                          environment_id desc);
create index process_instances_workflow_idx
    on process_instances (tenant_id, bpmn_process_id, start_time desc, process_instance_key desc,
                          environment_id desc);
create index process_instances_environment_idx
    on process_instances (tenant_id, environment_id, start_time desc, process_instance_key desc);
create index process_instances_state_idx
    on process_instances (tenant_id, state, start_time desc, process_instance_key desc,
                          environment_id desc);
create index process_instances_incident_idx
    on process_instances (tenant_id, start_time desc, process_instance_key desc,
                          environment_id desc)
    where incidents > 0;

-- Element instances (and taken sequence flows, `state = 'taken'`), for an instance's diagram,
-- token counts and timeline.
create table element_instances (
    tenant_id            text not null references tenants (id),
    environment_id       uuid not null,
    element_instance_key bigint not null,
    process_instance_key bigint not null,
    flow_scope_key       bigint not null,
    element_id           text not null,
    element_type         text not null,
    event_type           text not null default '',
    state                text not null check (state in (
        'activating', 'activated', 'completing', 'completed', 'terminating', 'terminated',
        'taken')),
    start_time           timestamptz not null,
    end_time             timestamptz,
    primary key (tenant_id, environment_id, element_instance_key),
    foreign key (tenant_id, environment_id) references environments (tenant_id, id)
);
create index element_instances_instance_idx
    on element_instances (tenant_id, environment_id, process_instance_key, start_time);

create table incidents (
    tenant_id            text not null references tenants (id),
    environment_id       uuid not null,
    incident_key         bigint not null,
    process_instance_key bigint not null,
    element_instance_key bigint not null,
    element_id           text not null,
    error_type           text not null,
    error_message        text not null,
    job_key              bigint,
    state                text not null check (state in ('active', 'resolved')),
    created_at           timestamptz not null,
    resolved_at          timestamptz,
    primary key (tenant_id, environment_id, incident_key),
    foreign key (tenant_id, environment_id) references environments (tenant_id, id)
);
create index incidents_open_idx on incidents (tenant_id, created_at desc) where state = 'active';
create index incidents_instance_idx
    on incidents (tenant_id, environment_id, process_instance_key, created_at);

-- The current value of each variable in each scope. `value` is the JSON text exactly as the
-- engine reported it (Zeebe sends variable values as JSON documents).
create table instance_variables (
    tenant_id            text not null references tenants (id),
    environment_id       uuid not null,
    scope_key            bigint not null,
    name                 text not null,
    process_instance_key bigint not null,
    value                text not null,
    updated_at           timestamptz not null,
    primary key (tenant_id, environment_id, scope_key, name),
    foreign key (tenant_id, environment_id) references environments (tenant_id, id)
);
create index instance_variables_instance_idx
    on instance_variables (tenant_id, environment_id, process_instance_key);

create table jobs (
    tenant_id            text not null references tenants (id),
    environment_id       uuid not null,
    job_key              bigint not null,
    process_instance_key bigint not null,
    element_instance_key bigint not null,
    element_id           text not null,
    job_type             text not null,
    worker               text not null default '',
    retries              integer not null,
    state                text not null check (state in (
        'created', 'activated', 'completed', 'failed', 'error_thrown', 'canceled', 'timed_out')),
    error_message        text not null default '',
    deadline             timestamptz,
    updated_at           timestamptz not null,
    primary key (tenant_id, environment_id, job_key),
    foreign key (tenant_id, environment_id) references environments (tenant_id, id)
);
create index jobs_instance_idx on jobs (tenant_id, environment_id, process_instance_key);

-- The execution audit trail: what happened in the engines, one hash chain per tenant beside
-- the control-plane chain of `audit_events`. A parallel chain because executions produce
-- events orders of magnitude faster than people change configuration: ingest appends a whole
-- batch under one lock, and verifying the control-plane chain stays cheap. The hashing rule is
-- the same (SHA-256 over the previous hash and the event's canonical JSON; 32 zero bytes
-- before the first event). The columns are seed 000's table 1; `environment`, `partition_id`
-- and `position` say which record an event came from.
create table execution_audit_events (
    id                bigint generated always as identity primary key,
    tenant_id         text not null references tenants (id),
    seq               bigint not null check (seq >= 1),
    occurred_at       timestamptz not null,
    execution_id      text not null,
    workflow_id       text not null,
    environment       text not null,
    event_type        text not null,
    task_id           text,
    task_name         text,
    execution_context jsonb not null,
    variables         jsonb,
    partition_id      integer not null,
    position          bigint not null,
    prev_hash         bytea not null check (length(prev_hash) = 32),
    audit_hash        bytea not null check (length(audit_hash) = 32),
    unique (tenant_id, seq)
);
create index execution_audit_events_execution_idx
    on execution_audit_events (tenant_id, execution_id, seq);
create index execution_audit_events_time_idx
    on execution_audit_events (tenant_id, occurred_at);

create trigger execution_audit_events_no_update_delete
    before update or delete on execution_audit_events
    for each row execute function audit_events_refuse_change();
create trigger execution_audit_events_no_truncate
    before truncate on execution_audit_events
    for each statement execute function audit_events_refuse_change();

-- Row-level security. The cursor of an embedded engine has no tenant and is the platform
-- role's alone; an exporter's cursor belongs to its environment's tenant.
do $$
declare
    name text;
begin
    foreach name in array array['ingest_cursors', 'operation_references', 'process_definitions',
                                'process_instances',
                                'element_instances', 'incidents', 'instance_variables', 'jobs',
                                'execution_audit_events']
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

grant select, insert, update on ingest_cursors to astraflow_app, astraflow_platform;
grant select, insert on operation_references to astraflow_app, astraflow_platform;
grant select, insert, update on process_definitions, process_instances, element_instances,
    incidents, instance_variables, jobs to astraflow_app, astraflow_platform;
grant select, insert on execution_audit_events to astraflow_app, astraflow_platform;
