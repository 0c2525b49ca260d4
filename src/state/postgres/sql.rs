//! The tables of the `PostgreSQL` backend and every statement ict sends, in one place.
//!
//! One row of `ict_state` per project and environment holds the snapshot (the same JSON as
//! `state.json`) and a `version` bumped by every commit; `ict_state_log` holds the commits made
//! since the snapshot, keyed by the version they produced (what `state.log` holds locally);
//! `ict_lock` holds the lock's holder and the lease its holder renews.
//!
//! Every write by a lock holder is one statement that first renews the caller's lease *by its
//! token* and then bumps the version only if it is the one the caller expects
//! (compare-and-swap): a holder whose lock was taken over, or that raced with a writer it did
//! not know about, changes nothing.

/// Whether the tables exist (so that a role without `CREATE` can use them).
pub(super) const SCHEMA_READY: &str = "
SELECT to_regclass('ict_state') IS NOT NULL AND to_regclass('ict_state_log') IS NOT NULL
   AND to_regclass('ict_lock') IS NOT NULL";

/// Creates the tables on first use; an advisory lock keeps two first users from racing.
pub(super) const SCHEMA: &str = "
BEGIN;
SELECT pg_advisory_xact_lock(7426001190);
CREATE TABLE IF NOT EXISTS ict_state (
    project text NOT NULL,
    env text NOT NULL,
    version bigint NOT NULL DEFAULT 0,
    snapshot_version bigint NOT NULL DEFAULT 0,
    document text,
    migrated_at timestamptz,
    PRIMARY KEY (project, env)
);
CREATE TABLE IF NOT EXISTS ict_state_log (
    project text NOT NULL,
    env text NOT NULL,
    version bigint NOT NULL,
    changes text NOT NULL,
    PRIMARY KEY (project, env, version)
);
CREATE TABLE IF NOT EXISTS ict_lock (
    project text NOT NULL,
    env text NOT NULL,
    holder text NOT NULL,
    token text NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (project, env)
);
COMMIT;
";

/// The snapshot, whether it was migrated away, the commits after it in order, and the
/// version: one statement, so one consistent view without a lock. ($1 project, $2 env)
pub(super) const LOAD: &str = "
SELECT s.document, s.migrated_at IS NOT NULL,
       ARRAY(SELECT l.changes FROM ict_state_log l
             WHERE l.project = s.project AND l.env = s.env AND l.version > s.snapshot_version
             ORDER BY l.version),
       s.version
FROM ict_state s WHERE s.project = $1 AND s.env = $2";

/// The state's version, even when it was migrated away (the row exists once locked).
pub(super) const VERSION: &str = "SELECT version FROM ict_state WHERE project = $1 AND env = $2";

/// Takes the lock for holder $3 with token $4 and lease $5 (seconds) if it is free or its
/// lease ran out, making sure the state row exists. Returns whether it was taken, and the
/// holder before and whether that one's lease had run out.
pub(super) const LOCK: &str = "
WITH ensured AS (
    INSERT INTO ict_state (project, env) VALUES ($1, $2) ON CONFLICT DO NOTHING
), previous AS (
    SELECT holder, expires_at < now() AS expired FROM ict_lock
    WHERE project = $1 AND env = $2
), taken AS (
    INSERT INTO ict_lock (project, env, holder, token, expires_at)
    VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))
    ON CONFLICT (project, env) DO UPDATE
    SET holder = EXCLUDED.holder, token = EXCLUDED.token, expires_at = EXCLUDED.expires_at
    WHERE ict_lock.expires_at < now()
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM taken), (SELECT holder FROM previous),
       coalesce((SELECT expired FROM previous), false)";

/// Renews the lease of the holder with token $3 (none updated: the lock is not ours any more).
pub(super) const RENEW: &str = "
UPDATE ict_lock SET expires_at = now() + make_interval(secs => $4)
WHERE project = $1 AND env = $2 AND token = $3";

/// The lock as `ict lock status` shows it.
pub(super) const STATUS: &str =
    "SELECT holder, token, expires_at < now() FROM ict_lock WHERE project = $1 AND env = $2";

/// Removes the lock with token $3.
pub(super) const UNLOCK: &str =
    "DELETE FROM ict_lock WHERE project = $1 AND env = $2 AND token = $3";

/// One commit: renews the lease of token $3 (lease $4), moves the version from $5 to $5 + 1
/// and stores the commit's changes $6. Returns a row only if all of it happened.
pub(super) const COMMIT: &str = "
WITH held AS (
    UPDATE ict_lock SET expires_at = now() + make_interval(secs => $4)
    WHERE project = $1 AND env = $2 AND token = $3 RETURNING 1
), bumped AS (
    UPDATE ict_state SET version = version + 1
    WHERE project = $1 AND env = $2 AND version = $5 AND EXISTS (SELECT 1 FROM held)
    RETURNING version
)
INSERT INTO ict_state_log (project, env, version, changes)
SELECT $1, $2, version, $6 FROM bumped RETURNING version";

/// A full snapshot $6 at version $5 (or a retired copy when $7), dropping the commits it
/// includes. Returns a row only if the lock was still token $3's and the version $5.
pub(super) const SAVE: &str = "
WITH held AS (
    UPDATE ict_lock SET expires_at = now() + make_interval(secs => $4)
    WHERE project = $1 AND env = $2 AND token = $3 RETURNING 1
), saved AS (
    UPDATE ict_state
    SET document = $6, snapshot_version = version,
        migrated_at = CASE WHEN $7 THEN now() END
    WHERE project = $1 AND env = $2 AND version = $5 AND EXISTS (SELECT 1 FROM held)
    RETURNING version
), dropped AS (
    DELETE FROM ict_state_log
    WHERE project = $1 AND env = $2 AND version <= (SELECT version FROM saved)
)
SELECT version FROM saved";
