-- The server serves requests as a login role that owns nothing (server/src/db.rs,
-- `serving_login`), not as the owner of the tables that runs these migrations: a server whose
-- connection is taken over can then neither disable the audit trails' triggers nor alter,
-- drop or truncate a table. Each database gets its own role (roles are cluster-wide, and one
-- cluster may hold several installations); its password is kept here, readable by the owner
-- only, so every server process on the database logs in with the same one.
create table serving_login (
    role_name text primary key check (role_name ~ '^astraflow_srv_[0-9a-f]{16}$'),
    password  text not null check (length(password) >= 32)
);
revoke all on serving_login from public;
