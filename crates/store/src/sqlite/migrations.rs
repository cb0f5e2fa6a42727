//! Embedded, numbered schema migrations, applied at open inside one `BEGIN IMMEDIATE`
//! transaction and recorded in `schema_version`. Applying them again is a no-op.
//!
//! The SQL is kept portable (TEXT/INTEGER/BLOB, composite keys, no `AUTOINCREMENT`, no
//! `ON CONFLICT`, no `WITHOUT ROWID`) so the same statements can seed a PostgreSQL backend.
//! Ids that need an order (`attachments.seq`, `audit_log.seq`) are assigned by the store as
//! `max + 1` inside the write transaction.

use crate::{Result, StoreError};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

/// `(version, SQL)`, ascending. Never edit a released entry; append a new one.
pub(crate) const MIGRATIONS: &[(i64, &str)] = &[(1, V1), (2, V2)];

/// Platform records (EAS services, workspaces, MaxCompute metadata) and event streams.
const V2: &str = "
CREATE TABLE records (
    kind TEXT NOT NULL,
    record_key TEXT NOT NULL,
    record_value TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (kind, record_key)
);

CREATE TABLE events (
    stream TEXT NOT NULL,
    seq INTEGER NOT NULL,
    event_time INTEGER NOT NULL,
    event_kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    message TEXT NOT NULL,
    PRIMARY KEY (stream, seq)
);
";

const V1: &str = "
CREATE TABLE accounts (
    account_id TEXT NOT NULL PRIMARY KEY,
    created_at INTEGER NOT NULL
);

CREATE TABLE users (
    user_id TEXT NOT NULL PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (account_id),
    user_name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    display_name TEXT NOT NULL,
    comments TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (account_id, name_key)
);

CREATE TABLE access_keys (
    access_key_id TEXT NOT NULL PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (account_id),
    user_id TEXT REFERENCES users (user_id),
    status TEXT NOT NULL CHECK (status IN ('Active', 'Inactive')),
    secret_nonce BLOB NOT NULL,
    secret_sealed BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX access_keys_by_owner ON access_keys (account_id, user_id);

CREATE TABLE roles (
    role_id TEXT NOT NULL PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (account_id),
    role_name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    arn TEXT NOT NULL,
    description TEXT NOT NULL,
    trust_policy TEXT NOT NULL,
    max_session_duration INTEGER NOT NULL,
    service_linked INTEGER NOT NULL CHECK (service_linked IN (0, 1)),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (account_id, name_key)
);

CREATE TABLE policies (
    account_id TEXT NOT NULL REFERENCES accounts (account_id),
    name_key TEXT NOT NULL,
    policy_name TEXT NOT NULL,
    description TEXT NOT NULL,
    default_version INTEGER NOT NULL,
    last_version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, name_key)
);

CREATE TABLE policy_versions (
    account_id TEXT NOT NULL,
    policy_key TEXT NOT NULL,
    version INTEGER NOT NULL,
    document TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, policy_key, version),
    FOREIGN KEY (account_id, policy_key) REFERENCES policies (account_id, name_key)
);

CREATE TABLE attachments (
    seq INTEGER NOT NULL PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (account_id),
    user_id TEXT REFERENCES users (user_id),
    role_id TEXT REFERENCES roles (role_id),
    policy_type TEXT NOT NULL,
    policy_key TEXT NOT NULL,
    policy_name TEXT NOT NULL,
    custom_key TEXT,
    attached_at INTEGER NOT NULL,
    CHECK ((user_id IS NULL AND role_id IS NOT NULL) OR (user_id IS NOT NULL AND role_id IS NULL)),
    CHECK ((policy_type = 'Custom' AND custom_key = policy_key)
        OR (policy_type = 'System' AND custom_key IS NULL)),
    UNIQUE (user_id, policy_type, policy_key),
    UNIQUE (role_id, policy_type, policy_key),
    FOREIGN KEY (account_id, custom_key) REFERENCES policies (account_id, name_key)
);
CREATE INDEX attachments_by_policy ON attachments (account_id, custom_key);

CREATE TABLE audit_log (
    seq INTEGER NOT NULL PRIMARY KEY,
    recorded_at INTEGER NOT NULL,
    request_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    result TEXT NOT NULL,
    detail TEXT NOT NULL
);

CREATE TABLE meta (
    meta_key TEXT NOT NULL PRIMARY KEY,
    meta_value BLOB NOT NULL
);
";

/// Brings the schema up to the newest version. Refuses a database written by a newer build.
pub(crate) fn migrate(conn: &mut Connection) -> Result<i64> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL PRIMARY KEY)",
    )?;
    let current: i64 = tx
        .query_row("SELECT MAX(version) FROM schema_version", [], |r| {
            r.get::<_, Option<i64>>(0)
        })
        .optional()?
        .flatten()
        .unwrap_or(0);
    let newest = MIGRATIONS.last().map_or(0, |(v, _)| *v);
    if current > newest {
        return Err(StoreError::Backend(format!(
            "the database schema is version {current}, newer than this build knows ({newest}); refusing to open"
        )));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES (?1)",
            [version],
        )?;
    }
    tx.commit()?;
    Ok(newest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_ascending_and_migrate_is_idempotent() {
        assert!(MIGRATIONS.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(MIGRATIONS[0].0, 1);
        let mut conn = Connection::open_in_memory().unwrap();
        let v = migrate(&mut conn).unwrap();
        assert_eq!(migrate(&mut conn).unwrap(), v);
        let rows: i64 = conn
            .query_row("SELECT COUNT(*) FROM schema_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, MIGRATIONS.len() as i64);
    }

    #[test]
    fn refuses_a_newer_schema() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        conn.execute("INSERT INTO schema_version (version) VALUES (9999)", [])
            .unwrap();
        assert!(matches!(migrate(&mut conn), Err(StoreError::Backend(m)) if m.contains("9999")));
    }
}
