-- Which canonical JSON each audit event's hash covers (server/src/audit/canonical.rs).
--
-- `jsonb` keeps numbers as exact decimals in plain notation, so an event whose JSON said
-- `1e16` reads back as `10000000000000000`, and a hash over the JSON as sent could not be
-- recomputed: verification reported an untouched event as changed, and every real change after
-- it went unnoticed. Events from now on (version 2) hash RFC 8785 canonical JSON, which writes
-- every number the same way whatever notation it came in. The events already stored keep
-- version 1 and verify exactly as before. Adding a column with a constant default rewrites no
-- row, so the tables' refusal of UPDATE is untouched.
alter table audit_events
    add column hash_version smallint not null default 1 check (hash_version in (1, 2));
alter table execution_audit_events
    add column hash_version smallint not null default 1 check (hash_version in (1, 2));
