-- Each rosterd process keeps the set of existing SCIM token ids in memory
-- (store/postgres/tokenset.go), so that a made-up token is refused without a
-- database read. Migration 0010 notifies when a token is revoked, rewritten
-- or deleted; a new token must be announced too, or another process would
-- refuse it until its next full reload.
create trigger tokens_auth_insert after insert on tokens for each row
	execute function roster_auth_notify_owned();
