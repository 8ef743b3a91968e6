-- Sessions of an account signed in before this moment are over: set when the password changes,
-- so a session someone else obtained ends with the old password (server/src/auth/mod.rs).
alter table users add column sessions_valid_after timestamptz;
