-- Identity of this installation of the control plane.
--
-- One row, created with the schema, so support bundles, exported audit evidence and the status
-- page can name the installation they came from. The `singleton` check keeps it to one row even
-- if a later migration or an operator tries to insert another.
create table installation (
    singleton  boolean primary key default true check (singleton),
    id         uuid not null default gen_random_uuid(),
    created_at timestamptz not null default now()
);

insert into installation default values;
