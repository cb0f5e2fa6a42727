//! The SQLite implementation of [`Store`](crate::Store).
//!
//! This file holds the connections, the transaction helpers and the shared SQL helpers; each
//! entity's SQL is in its own module (`accounts`, `users`, `access_keys`, `roles`, `policies`,
//! `attachments`, `audit`, `records`), as functions over one open transaction, and `impls` maps
//! every trait method onto one read or write transaction over them. Quotas and name rules come
//! from the backend-neutral [`crate::quota`] and [`crate::validate`].
//!
//! Layout of a data dir: `keyless.db` (plus its `-wal`/`-shm` while open) and `master.key`.
//!
//! Durability: the database runs in WAL mode with `synchronous=FULL`, so every method that
//! returns `Ok` has had its transaction fsync'd to the write-ahead log; a committed change
//! survives a process crash or power loss. A method that returns `Err` changed nothing.
//!
//! Concurrency: one writer connection behind a mutex (every write is one `BEGIN IMMEDIATE`
//! transaction in which all existence, uniqueness and limit checks are made, so checks and write
//! are atomic even against another process using the same file) and a small pool of read-only
//! connections, each read being one snapshot transaction. WAL lets reads proceed during a write.
//!
//! Secrets: AccessKeySecrets are stored only sealed with the master key (see
//! `keyfile.rs`); they are never part of an error message.

mod access_keys;
mod accounts;
mod attachments;
mod audit;
mod impls;
mod keyfile;
mod migrations;
mod policies;
mod records;
mod roles;
mod users;

use crate::validate::{decode_marker, encode_marker, page_size};
use crate::{Entity, Page, PageRequest, Result, StoreError};
use keyfile::SecretSealer;
use rusqlite::{
    params, Connection, OpenFlags, OptionalExtension, Params, Row, TransactionBehavior,
};
use std::fmt;
use std::fs::DirBuilder;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::Duration;

/// The database file's name inside the data dir.
const DB_FILE: &str = "keyless.db";
/// Number of read-only connections.
const READERS: usize = 3;
/// How long a connection waits for another process's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// A [`Store`](crate::Store) in a SQLite database under a data dir. See the module docs for durability and
/// concurrency.
pub struct SqliteStore {
    // Field order matters: readers close before the writer, so the writer (the last connection)
    // checkpoints the WAL into the database file on drop.
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    writer: Mutex<Connection>,
    sealer: SecretSealer,
    path: PathBuf,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::Error as E;
        // rusqlite's messages name columns and types, never bound values, so they carry no
        // secret; values that do not fit the schema are corruption, everything else the backend.
        match e {
            E::FromSqlConversionFailure(..)
            | E::IntegralValueOutOfRange(..)
            | E::InvalidColumnType(..) => StoreError::Corrupt(e.to_string()),
            other => StoreError::Backend(other.to_string()),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic inside a transaction drops the `Transaction`, which rolls back: the connection
    // behind a poisoned mutex is still consistent.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl SqliteStore {
    /// Opens (creating if needed) the store in `data_dir`: the directory (mode 0700 when
    /// created here), `master.key` (32 random bytes, mode 0600, created on first open and
    /// refused if it has the wrong length) and `keyless.db`, migrated to the newest schema.
    pub fn open(data_dir: &Path) -> Result<SqliteStore> {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(data_dir)
            .map_err(|e| {
                StoreError::Backend(format!(
                    "cannot create the data dir `{}`: {e}",
                    data_dir.display()
                ))
            })?;
        let sealer = SecretSealer::load_or_create(data_dir)?;
        let path = data_dir.join(DB_FILE);

        let mut writer = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        writer.busy_timeout(BUSY_TIMEOUT)?;
        let mode: String =
            writer.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Backend(format!(
                "cannot switch the database to WAL mode (got `{mode}`)"
            )));
        }
        writer.pragma_update(None, "synchronous", "FULL")?;
        writer.pragma_update(None, "foreign_keys", "ON")?;
        let fk: i64 = writer.pragma_query_value(None, "foreign_keys", |r| r.get(0))?;
        if fk != 1 {
            return Err(StoreError::Backend(
                "this SQLite build cannot enforce foreign keys".into(),
            ));
        }
        migrations::migrate(&mut writer)?;
        // SQLite syncs the directory for its journals; make the database file's own directory
        // entry durable too (it may have just been created).
        keyfile::sync_dir(data_dir)?;

        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let reader = Connection::open_with_flags(
                &path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            reader.busy_timeout(BUSY_TIMEOUT)?;
            readers.push(Mutex::new(reader));
        }
        Ok(SqliteStore {
            readers,
            next_reader: AtomicUsize::new(0),
            writer: Mutex::new(writer),
            sealer,
            path,
        })
    }

    /// The database file.
    pub fn db_path(&self) -> &Path {
        &self.path
    }

    /// Runs SQLite's `integrity_check` and `foreign_key_check`; `Corrupt` with the first
    /// problems found.
    pub fn integrity_check(&self) -> Result<()> {
        let conn = lock(&self.writer);
        let mut problems: Vec<String> = Vec::new();
        {
            let mut stmt = conn.prepare("PRAGMA integrity_check")?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let line: String = row.get(0)?;
                if line != "ok" {
                    problems.push(line);
                }
            }
        }
        {
            let mut stmt = conn.prepare("PRAGMA foreign_key_check")?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let table: String = row.get(0)?;
                let parent: String = row.get(2)?;
                problems.push(format!(
                    "a row of `{table}` refers to a missing row of `{parent}`"
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            problems.truncate(10);
            Err(StoreError::Corrupt(problems.join("; ")))
        }
    }

    /// Runs `f` in one read snapshot on a pooled read-only connection.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let mut conn = self.reader();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction on the writer; commits on `Ok`, rolls back
    /// on `Err`.
    fn write<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    fn reader(&self) -> MutexGuard<'_, Connection> {
        let n = self.readers.len();
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        for k in 0..n {
            match self.readers[(start + k) % n].try_lock() {
                Ok(guard) => return guard,
                Err(TryLockError::Poisoned(p)) => return p.into_inner(),
                Err(TryLockError::WouldBlock) => {}
            }
        }
        lock(&self.readers[start % n])
    }
}

// ---------------------------------------------------------------------------------------------
// helpers shared by the entity modules

fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// All rows of a query, each mapped by `f`.
fn collect<T, P: Params>(
    conn: &Connection,
    sql: &str,
    params: P,
    mut f: impl FnMut(&Row<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(f(row)?);
    }
    Ok(out)
}

/// The first row of a query, if any.
fn first<T, P: Params>(
    conn: &Connection,
    sql: &str,
    params: P,
    f: impl FnOnce(&Row<'_>) -> Result<T>,
) -> Result<Option<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    match rows.next()? {
        Some(row) => Ok(Some(f(row)?)),
        None => Ok(None),
    }
}

fn count<P: Params>(conn: &Connection, sql: &str, params: P) -> Result<i64> {
    let n: Option<i64> = conn
        .prepare_cached(sql)?
        .query_row(params, |r| r.get(0))
        .optional()?;
    Ok(n.unwrap_or(0))
}

fn execute<P: Params>(conn: &Connection, sql: &str, params: P) -> Result<usize> {
    Ok(conn.prepare_cached(sql)?.execute(params)?)
}

fn require_account(conn: &Connection, account_id: &str) -> Result<()> {
    if count(
        conn,
        "SELECT COUNT(*) FROM accounts WHERE account_id = ?1",
        [account_id],
    )? == 0
    {
        return Err(StoreError::NotFound(Entity::Account, account_id.to_owned()));
    }
    Ok(())
}

/// One page of a name-ordered listing. `select` must end with its FROM clause (`alias` names
/// the table holding `account_id` and `name_key`), and its last column must be `name_key`.
/// An undecodable marker yields an empty last page (markers are opaque; only ones this store
/// handed out are meaningful).
fn list_page<T>(
    conn: &Connection,
    select: &str,
    alias: &str,
    account_id: &str,
    page: &PageRequest,
    mut f: impl FnMut(&Row<'_>) -> Result<T>,
) -> Result<Page<T>> {
    let max = page_size(page.max_items);
    let after = match &page.marker {
        None => None,
        Some(m) => match decode_marker(m) {
            Some(key) => Some(key),
            None => {
                return Ok(Page {
                    items: Vec::new(),
                    next_marker: None,
                })
            }
        },
    };
    let limit = to_i64(max + 1);
    let mut map = |row: &Row<'_>| -> Result<(String, T)> {
        let key_col = row.as_ref().column_count().saturating_sub(1);
        Ok((row.get(key_col)?, f(row)?))
    };
    let mut rows = match &after {
        None => collect(
            conn,
            &format!("{select} WHERE {alias}.account_id = ?1 ORDER BY {alias}.name_key LIMIT ?2"),
            params![account_id, limit],
            &mut map,
        )?,
        Some(after) => collect(
            conn,
            &format!(
                "{select} WHERE {alias}.account_id = ?1 AND {alias}.name_key > ?2 ORDER BY {alias}.name_key LIMIT ?3"
            ),
            params![account_id, after, limit],
            &mut map,
        )?,
    };
    let next_marker = if rows.len() > max {
        rows.truncate(max);
        rows.last().map(|(key, _)| encode_marker(key))
    } else {
        None
    };
    Ok(Page {
        items: rows.into_iter().map(|(_, item)| item).collect(),
        next_marker,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;
    use crate::Limit;

    #[test]
    fn rusqlite_errors_map_without_values() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (a TEXT NOT NULL UNIQUE)")
            .unwrap();
        conn.execute("INSERT INTO t (a) VALUES (?1)", ["secret-value"])
            .unwrap();
        let err: StoreError = conn
            .execute("INSERT INTO t (a) VALUES (?1)", ["secret-value"])
            .unwrap_err()
            .into();
        assert!(matches!(&err, StoreError::Backend(_)));
        assert!(!err.to_string().contains("secret-value"));
        let err: StoreError = conn
            .query_row("SELECT a FROM t", [], |r| r.get::<_, i64>(0))
            .unwrap_err()
            .into();
        assert!(matches!(err, StoreError::Corrupt(_)));
    }

    #[test]
    fn open_sets_durable_pragmas_and_read_only_readers() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(s.db_path(), dir.path().join(DB_FILE));
        {
            let w = lock(&s.writer);
            let pragma = |name: &str| -> String {
                w.pragma_query_value(None, name, |r| r.get::<_, rusqlite::types::Value>(0))
                    .map(|v| match v {
                        rusqlite::types::Value::Integer(i) => i.to_string(),
                        rusqlite::types::Value::Text(t) => t,
                        other => format!("{other:?}"),
                    })
                    .unwrap()
            };
            assert_eq!(pragma("journal_mode"), "wal");
            assert_eq!(pragma("synchronous"), "2", "FULL");
            assert_eq!(pragma("foreign_keys"), "1");
            assert_eq!(pragma("busy_timeout"), BUSY_TIMEOUT.as_millis().to_string());
        }
        assert_eq!(s.readers.len(), READERS);
        let r = s.reader();
        assert!(r
            .execute(
                "INSERT INTO meta (meta_key, meta_value) VALUES ('k', x'00')",
                []
            )
            .is_err());
    }

    #[test]
    fn a_failed_write_rolls_back() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(dir.path()).unwrap();
        let err = s
            .write(|c| {
                execute(
                    c,
                    "INSERT INTO meta (meta_key, meta_value) VALUES ('k', x'01')",
                    [],
                )?;
                Err::<(), _>(StoreError::LimitExceeded(Limit::Roles))
            })
            .unwrap_err();
        assert!(matches!(err, StoreError::LimitExceeded(Limit::Roles)));
        assert_eq!(s.get_meta("k").unwrap(), None);
        // Foreign keys are enforced: a user of a missing account cannot be inserted.
        let fk = s.write(|c| {
            execute(
                c,
                "INSERT INTO users (user_id, account_id, user_name, name_key, display_name, comments, \
                 created_at, updated_at) VALUES ('u', 'missing', 'n', 'n', '', '', 0, 0)",
                [],
            )
        });
        assert!(matches!(fk, Err(StoreError::Backend(_))));
    }
}
