//! The SQLite implementation of [`Store`].
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

mod keyfile;
mod migrations;

use crate::{
    AccessKey, Account, AttachedDocument, Attachment, AuditRecord, Conflict, CustomPolicy, Entity,
    Event, KeyStatus, Limit, NewPolicy, Page, PageRequest, PolicyType, PolicyVersion, PrincipalRef,
    Result, Role, RoleUpdate, Store, StoreError, User, UserUpdate,
};
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

const MAX_USERS: i64 = 1000;
const MAX_ROLES: i64 = 1000;
const MAX_POLICIES: i64 = 1500;
const MAX_KEYS_PER_USER: i64 = 2;
const MAX_POLICY_VERSIONS: i64 = 5;
const MAX_CUSTOM_PER_PRINCIPAL: i64 = 5;
const MAX_SYSTEM_PER_PRINCIPAL: i64 = 20;
const MAX_PAGE_ITEMS: usize = 1000;

/// A [`Store`] in a SQLite database under a data dir. See the module docs for durability and
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

    fn access_key_from_row(&self, row: &Row<'_>) -> Result<AccessKey> {
        let access_key_id: String = row.get(0)?;
        let user_id: Option<String> = row.get(3)?;
        let user_name: Option<String> = row.get(2)?;
        if user_id.is_some() && user_name.is_none() {
            return Err(StoreError::Corrupt(format!(
                "access key `{access_key_id}` belongs to a missing user"
            )));
        }
        let nonce: Vec<u8> = row.get(5)?;
        let sealed: Vec<u8> = row.get(6)?;
        let secret = self.sealer.open(&access_key_id, &nonce, &sealed)?;
        Ok(AccessKey {
            account_id: row.get(1)?,
            user_name,
            status: parse_status(&row.get::<_, String>(4)?)?,
            secret,
            created_at: row.get(7)?,
            access_key_id,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// helpers

/// The case-insensitive key of a user, role or policy name.
fn name_key(name: &str) -> String {
    name.to_lowercase()
}

pub(crate) fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        }
    }
    let pairs = s.as_bytes().chunks_exact(2);
    if !pairs.remainder().is_empty() {
        return None;
    }
    pairs
        .map(|p| Some((nibble(p[0])? << 4) | nibble(p[1])?))
        .collect()
}

/// A page marker: the hex of the last name key returned.
fn encode_marker(key: &str) -> String {
    hex_encode(key.as_bytes())
}

fn decode_marker(marker: &str) -> Option<String> {
    String::from_utf8(hex_decode(marker)?).ok()
}

fn format_version(n: i64) -> String {
    format!("v{n}")
}

/// Parses `v<n>` strictly (no sign, no leading zeros).
fn parse_version(id: &str) -> Option<i64> {
    let digits = id.strip_prefix('v')?;
    if digits.is_empty() || digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn parse_status(s: &str) -> Result<KeyStatus> {
    match s {
        "Active" => Ok(KeyStatus::Active),
        "Inactive" => Ok(KeyStatus::Inactive),
        other => Err(StoreError::Corrupt(format!(
            "unknown access key status `{other}`"
        ))),
    }
}

fn parse_policy_type(s: &str) -> Result<PolicyType> {
    match s {
        "System" => Ok(PolicyType::System),
        "Custom" => Ok(PolicyType::Custom),
        other => Err(StoreError::Corrupt(format!(
            "unknown policy type `{other}`"
        ))),
    }
}

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

fn user_id_of(conn: &Connection, account_id: &str, user_name: &str) -> Result<String> {
    first(
        conn,
        "SELECT user_id FROM users WHERE account_id = ?1 AND name_key = ?2",
        params![account_id, name_key(user_name)],
        |r| Ok(r.get(0)?),
    )?
    .ok_or_else(|| StoreError::NotFound(Entity::User, user_name.to_owned()))
}

fn role_id_of(conn: &Connection, account_id: &str, role_name: &str) -> Result<String> {
    first(
        conn,
        "SELECT role_id FROM roles WHERE account_id = ?1 AND name_key = ?2",
        params![account_id, name_key(role_name)],
        |r| Ok(r.get(0)?),
    )?
    .ok_or_else(|| StoreError::NotFound(Entity::Role, role_name.to_owned()))
}

/// The attachments column naming a principal, and the principal's id; `NotFound` if missing.
fn principal_id(
    conn: &Connection,
    account_id: &str,
    principal: &PrincipalRef,
) -> Result<(&'static str, String)> {
    match principal {
        PrincipalRef::User(name) => Ok(("user_id", user_id_of(conn, account_id, name)?)),
        PrincipalRef::Role(name) => Ok(("role_id", role_id_of(conn, account_id, name)?)),
    }
}

/// The user id owning AccessKeys of `user_name` (`None` for the root key set).
fn key_owner(
    conn: &Connection,
    account_id: &str,
    user_name: Option<&str>,
) -> Result<Option<String>> {
    match user_name {
        Some(name) => Ok(Some(user_id_of(conn, account_id, name)?)),
        None => Ok(None),
    }
}

/// Rows of `select` (aliasing `access_keys` as `k`) for the AccessKeys of one owner (the root
/// key set when `user_id` is `None`), oldest first.
fn keys_of<T>(
    conn: &Connection,
    account_id: &str,
    user_id: Option<&str>,
    select: &str,
    f: impl FnMut(&Row<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    const ORDER: &str = "ORDER BY k.created_at, k.access_key_id";
    match user_id {
        Some(user_id) => collect(
            conn,
            &format!("{select} WHERE k.account_id = ?1 AND k.user_id = ?2 {ORDER}"),
            params![account_id, user_id],
            f,
        ),
        None => collect(
            conn,
            &format!("{select} WHERE k.account_id = ?1 AND k.user_id IS NULL {ORDER}"),
            [account_id],
            f,
        ),
    }
}

/// `NotFound(AccessKey)` unless `access_key_id` belongs to `account_id`/`user_name`.
fn require_key_of(
    conn: &Connection,
    account_id: &str,
    user_name: Option<&str>,
    access_key_id: &str,
) -> Result<()> {
    let user_id = key_owner(conn, account_id, user_name)?;
    let owner: Option<(String, Option<String>)> = first(
        conn,
        "SELECT account_id, user_id FROM access_keys WHERE access_key_id = ?1",
        [access_key_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    match owner {
        Some((account, user)) if account == account_id && user == user_id => Ok(()),
        _ => Err(StoreError::NotFound(
            Entity::AccessKey,
            access_key_id.to_owned(),
        )),
    }
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
    let max = page.max_items.clamp(1, MAX_PAGE_ITEMS);
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

// -- users

const USER_SELECT: &str =
    "SELECT u.account_id, u.user_id, u.user_name, u.display_name, u.comments, \
     u.created_at, u.updated_at, u.name_key FROM users u";

fn user_from_row(row: &Row<'_>) -> Result<User> {
    Ok(User {
        account_id: row.get(0)?,
        user_id: row.get(1)?,
        user_name: row.get(2)?,
        display_name: row.get(3)?,
        comments: row.get(4)?,
        created_at: row.get(5)?,
        updated_at: row.get(6)?,
    })
}

fn get_user_in(conn: &Connection, account_id: &str, user_name: &str) -> Result<User> {
    first(
        conn,
        &format!("{USER_SELECT} WHERE u.account_id = ?1 AND u.name_key = ?2"),
        params![account_id, name_key(user_name)],
        user_from_row,
    )?
    .ok_or_else(|| StoreError::NotFound(Entity::User, user_name.to_owned()))
}

// -- roles

const ROLE_SELECT: &str =
    "SELECT r.account_id, r.role_id, r.role_name, r.arn, r.description, r.trust_policy, \
     r.max_session_duration, r.service_linked, r.created_at, r.updated_at, r.name_key FROM roles r";

fn role_from_row(row: &Row<'_>) -> Result<Role> {
    let service_linked = match row.get::<_, i64>(7)? {
        0 => false,
        1 => true,
        other => {
            return Err(StoreError::Corrupt(format!(
                "invalid service_linked flag `{other}`"
            )))
        }
    };
    Ok(Role {
        account_id: row.get(0)?,
        role_id: row.get(1)?,
        role_name: row.get(2)?,
        arn: row.get(3)?,
        description: row.get(4)?,
        trust_policy: row.get(5)?,
        max_session_duration: row.get(6)?,
        service_linked,
        created_at: row.get(8)?,
        updated_at: row.get(9)?,
    })
}

fn get_role_in(conn: &Connection, account_id: &str, role_name: &str) -> Result<Role> {
    first(
        conn,
        &format!("{ROLE_SELECT} WHERE r.account_id = ?1 AND r.name_key = ?2"),
        params![account_id, name_key(role_name)],
        role_from_row,
    )?
    .ok_or_else(|| StoreError::NotFound(Entity::Role, role_name.to_owned()))
}

// -- policies

const POLICY_SELECT: &str = "SELECT p.account_id, p.policy_name, p.description, p.default_version, v.document, \
     (SELECT COUNT(*) FROM attachments a WHERE a.account_id = p.account_id AND a.custom_key = p.name_key), \
     p.created_at, p.updated_at, p.name_key \
     FROM policies p LEFT JOIN policy_versions v \
     ON v.account_id = p.account_id AND v.policy_key = p.name_key AND v.version = p.default_version";

fn policy_from_row(row: &Row<'_>) -> Result<CustomPolicy> {
    let policy_name: String = row.get(1)?;
    let default_version: i64 = row.get(3)?;
    let document: Option<String> = row.get(4)?;
    let document = document.ok_or_else(|| {
        StoreError::Corrupt(format!(
            "the default version of policy `{policy_name}` is missing"
        ))
    })?;
    Ok(CustomPolicy {
        account_id: row.get(0)?,
        description: row.get(2)?,
        default_version: format_version(default_version),
        document,
        attachment_count: row.get(5)?,
        created_at: row.get(6)?,
        updated_at: row.get(7)?,
        policy_name,
    })
}

fn get_policy_in(conn: &Connection, account_id: &str, policy_name: &str) -> Result<CustomPolicy> {
    first(
        conn,
        &format!("{POLICY_SELECT} WHERE p.account_id = ?1 AND p.name_key = ?2"),
        params![account_id, name_key(policy_name)],
        policy_from_row,
    )?
    .ok_or_else(|| StoreError::NotFound(Entity::Policy, policy_name.to_owned()))
}

/// `(name_key, default_version, last_version)` of a policy; `NotFound` if missing.
fn policy_state(
    conn: &Connection,
    account_id: &str,
    policy_name: &str,
) -> Result<(String, i64, i64)> {
    first(
        conn,
        "SELECT name_key, default_version, last_version FROM policies WHERE account_id = ?1 AND name_key = ?2",
        params![account_id, name_key(policy_name)],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?
    .ok_or_else(|| StoreError::NotFound(Entity::Policy, policy_name.to_owned()))
}

/// The number of an existing version of a policy; `NotFound(PolicyVersion)` otherwise.
fn existing_version(
    conn: &Connection,
    account_id: &str,
    policy_key: &str,
    version_id: &str,
) -> Result<i64> {
    let not_found = || StoreError::NotFound(Entity::PolicyVersion, version_id.to_owned());
    let n = parse_version(version_id).ok_or_else(not_found)?;
    let found = count(
        conn,
        "SELECT COUNT(*) FROM policy_versions WHERE account_id = ?1 AND policy_key = ?2 AND version = ?3",
        params![account_id, policy_key, n],
    )?;
    if found == 0 {
        return Err(not_found());
    }
    Ok(n)
}

// ---------------------------------------------------------------------------------------------
// the trait

impl Store for SqliteStore {
    // -- accounts

    fn create_account(&self, account_id: &str, now: i64) -> Result<Account> {
        self.write(|c| {
            if count(
                c,
                "SELECT COUNT(*) FROM accounts WHERE account_id = ?1",
                [account_id],
            )? > 0
            {
                return Err(StoreError::AlreadyExists(
                    Entity::Account,
                    account_id.to_owned(),
                ));
            }
            execute(
                c,
                "INSERT INTO accounts (account_id, created_at) VALUES (?1, ?2)",
                params![account_id, now],
            )?;
            Ok(Account {
                account_id: account_id.to_owned(),
                created_at: now,
            })
        })
    }

    fn get_account(&self, account_id: &str) -> Result<Account> {
        self.read(|c| {
            first(
                c,
                "SELECT account_id, created_at FROM accounts WHERE account_id = ?1",
                [account_id],
                |r| {
                    Ok(Account {
                        account_id: r.get(0)?,
                        created_at: r.get(1)?,
                    })
                },
            )?
            .ok_or_else(|| StoreError::NotFound(Entity::Account, account_id.to_owned()))
        })
    }

    fn list_accounts(&self) -> Result<Vec<Account>> {
        self.read(|c| {
            collect(
                c,
                "SELECT account_id, created_at FROM accounts ORDER BY account_id",
                [],
                |r| {
                    Ok(Account {
                        account_id: r.get(0)?,
                        created_at: r.get(1)?,
                    })
                },
            )
        })
    }

    // -- access keys

    fn create_access_key(&self, key: &AccessKey) -> Result<()> {
        // Seal outside the lock; the nonce is random, so this is independent of the row.
        let sealed = self.sealer.seal(&key.access_key_id, &key.secret)?;
        self.write(|c| {
            require_account(c, &key.account_id)?;
            let user_id = key_owner(c, &key.account_id, key.user_name.as_deref())?;
            if count(c, "SELECT COUNT(*) FROM access_keys WHERE access_key_id = ?1", [&key.access_key_id])? > 0 {
                return Err(StoreError::AlreadyExists(Entity::AccessKey, key.access_key_id.clone()));
            }
            let held = keys_of(c, &key.account_id, user_id.as_deref(), "SELECT k.access_key_id FROM access_keys k", |_| {
                Ok(())
            })?;
            if to_i64(held.len()) >= MAX_KEYS_PER_USER {
                return Err(StoreError::LimitExceeded(Limit::AccessKeysPerUser));
            }
            execute(
                c,
                "INSERT INTO access_keys (access_key_id, account_id, user_id, status, secret_nonce, secret_sealed, \
                 created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    key.access_key_id,
                    key.account_id,
                    user_id,
                    key.status.as_str(),
                    sealed.nonce,
                    sealed.ciphertext,
                    key.created_at
                ],
            )?;
            Ok(())
        })
    }

    fn find_access_key(&self, access_key_id: &str) -> Result<Option<AccessKey>> {
        self.read(|c| {
            first(
                c,
                &format!("{ACCESS_KEY_SELECT} WHERE k.access_key_id = ?1"),
                [access_key_id],
                |r| self.access_key_from_row(r),
            )
        })
    }

    fn list_access_keys(
        &self,
        account_id: &str,
        user_name: Option<&str>,
    ) -> Result<Vec<AccessKey>> {
        self.read(|c| {
            require_account(c, account_id)?;
            let user_id = key_owner(c, account_id, user_name)?;
            keys_of(c, account_id, user_id.as_deref(), ACCESS_KEY_SELECT, |r| {
                self.access_key_from_row(r)
            })
        })
    }

    fn update_access_key_status(
        &self,
        account_id: &str,
        user_name: Option<&str>,
        access_key_id: &str,
        status: KeyStatus,
    ) -> Result<()> {
        self.write(|c| {
            require_key_of(c, account_id, user_name, access_key_id)?;
            execute(
                c,
                "UPDATE access_keys SET status = ?2 WHERE access_key_id = ?1",
                params![access_key_id, status.as_str()],
            )?;
            Ok(())
        })
    }

    fn delete_access_key(
        &self,
        account_id: &str,
        user_name: Option<&str>,
        access_key_id: &str,
    ) -> Result<()> {
        self.write(|c| {
            require_key_of(c, account_id, user_name, access_key_id)?;
            execute(
                c,
                "DELETE FROM access_keys WHERE access_key_id = ?1",
                [access_key_id],
            )?;
            Ok(())
        })
    }

    // -- users

    fn create_user(&self, user: &User) -> Result<()> {
        self.write(|c| {
            require_account(c, &user.account_id)?;
            let key = name_key(&user.user_name);
            if count(
                c,
                "SELECT COUNT(*) FROM users WHERE account_id = ?1 AND name_key = ?2",
                params![user.account_id, key],
            )? > 0
            {
                return Err(StoreError::AlreadyExists(Entity::User, user.user_name.clone()));
            }
            if count(c, "SELECT COUNT(*) FROM users WHERE user_id = ?1", [&user.user_id])? > 0 {
                return Err(StoreError::AlreadyExists(Entity::User, user.user_id.clone()));
            }
            if count(c, "SELECT COUNT(*) FROM users WHERE account_id = ?1", [&user.account_id])? >= MAX_USERS {
                return Err(StoreError::LimitExceeded(Limit::Users));
            }
            execute(
                c,
                "INSERT INTO users (user_id, account_id, user_name, name_key, display_name, comments, created_at, \
                 updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    user.user_id,
                    user.account_id,
                    user.user_name,
                    key,
                    user.display_name,
                    user.comments,
                    user.created_at,
                    user.updated_at
                ],
            )?;
            Ok(())
        })
    }

    fn get_user(&self, account_id: &str, user_name: &str) -> Result<User> {
        self.read(|c| get_user_in(c, account_id, user_name))
    }

    fn list_users(&self, account_id: &str, page: &PageRequest) -> Result<Page<User>> {
        self.read(|c| {
            require_account(c, account_id)?;
            list_page(c, USER_SELECT, "u", account_id, page, user_from_row)
        })
    }

    fn update_user(
        &self,
        account_id: &str,
        user_name: &str,
        update: &UserUpdate,
        now: i64,
    ) -> Result<User> {
        self.write(|c| {
            let mut user = get_user_in(c, account_id, user_name)?;
            if let Some(new_name) = &update.new_user_name {
                let new_key = name_key(new_name);
                if new_key != name_key(&user.user_name)
                    && count(
                        c,
                        "SELECT COUNT(*) FROM users WHERE account_id = ?1 AND name_key = ?2",
                        params![account_id, new_key],
                    )? > 0
                {
                    return Err(StoreError::AlreadyExists(Entity::User, new_name.clone()));
                }
                user.user_name = new_name.clone();
            }
            if let Some(display_name) = &update.new_display_name {
                user.display_name = display_name.clone();
            }
            if let Some(comments) = &update.new_comments {
                user.comments = comments.clone();
            }
            user.updated_at = now;
            execute(
                c,
                "UPDATE users SET user_name = ?2, name_key = ?3, display_name = ?4, comments = ?5, updated_at = ?6 \
                 WHERE user_id = ?1",
                params![
                    user.user_id,
                    user.user_name,
                    name_key(&user.user_name),
                    user.display_name,
                    user.comments,
                    user.updated_at
                ],
            )?;
            Ok(user)
        })
    }

    fn delete_user(&self, account_id: &str, user_name: &str) -> Result<()> {
        self.write(|c| {
            let user_id = user_id_of(c, account_id, user_name)?;
            if count(
                c,
                "SELECT COUNT(*) FROM access_keys WHERE user_id = ?1",
                [&user_id],
            )? > 0
            {
                return Err(StoreError::DeleteConflict(Conflict::UserHasAccessKeys));
            }
            if count(
                c,
                "SELECT COUNT(*) FROM attachments WHERE user_id = ?1",
                [&user_id],
            )? > 0
            {
                return Err(StoreError::DeleteConflict(Conflict::UserHasPolicies));
            }
            execute(c, "DELETE FROM users WHERE user_id = ?1", [&user_id])?;
            Ok(())
        })
    }

    // -- roles

    fn create_role(&self, role: &Role) -> Result<()> {
        self.write(|c| {
            require_account(c, &role.account_id)?;
            let key = name_key(&role.role_name);
            if count(
                c,
                "SELECT COUNT(*) FROM roles WHERE account_id = ?1 AND name_key = ?2",
                params![role.account_id, key],
            )? > 0
            {
                return Err(StoreError::AlreadyExists(Entity::Role, role.role_name.clone()));
            }
            if count(c, "SELECT COUNT(*) FROM roles WHERE role_id = ?1", [&role.role_id])? > 0 {
                return Err(StoreError::AlreadyExists(Entity::Role, role.role_id.clone()));
            }
            if count(c, "SELECT COUNT(*) FROM roles WHERE account_id = ?1", [&role.account_id])? >= MAX_ROLES {
                return Err(StoreError::LimitExceeded(Limit::Roles));
            }
            execute(
                c,
                "INSERT INTO roles (role_id, account_id, role_name, name_key, arn, description, trust_policy, \
                 max_session_duration, service_linked, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    role.role_id,
                    role.account_id,
                    role.role_name,
                    key,
                    role.arn,
                    role.description,
                    role.trust_policy,
                    role.max_session_duration,
                    i64::from(role.service_linked),
                    role.created_at,
                    role.updated_at
                ],
            )?;
            Ok(())
        })
    }

    fn get_role(&self, account_id: &str, role_name: &str) -> Result<Role> {
        self.read(|c| get_role_in(c, account_id, role_name))
    }

    fn list_roles(&self, account_id: &str, page: &PageRequest) -> Result<Page<Role>> {
        self.read(|c| {
            require_account(c, account_id)?;
            list_page(c, ROLE_SELECT, "r", account_id, page, role_from_row)
        })
    }

    fn update_role(
        &self,
        account_id: &str,
        role_name: &str,
        update: &RoleUpdate,
        now: i64,
    ) -> Result<Role> {
        self.write(|c| {
            let mut role = get_role_in(c, account_id, role_name)?;
            if let Some(trust_policy) = &update.new_trust_policy {
                role.trust_policy = trust_policy.clone();
            }
            if let Some(description) = &update.new_description {
                role.description = description.clone();
            }
            if let Some(max) = update.new_max_session_duration {
                role.max_session_duration = max;
            }
            role.updated_at = now;
            execute(
                c,
                "UPDATE roles SET trust_policy = ?2, description = ?3, max_session_duration = ?4, updated_at = ?5 \
                 WHERE role_id = ?1",
                params![role.role_id, role.trust_policy, role.description, role.max_session_duration, role.updated_at],
            )?;
            Ok(role)
        })
    }

    fn delete_role(&self, account_id: &str, role_name: &str) -> Result<()> {
        self.write(|c| {
            let role_id = role_id_of(c, account_id, role_name)?;
            if count(
                c,
                "SELECT COUNT(*) FROM attachments WHERE role_id = ?1",
                [&role_id],
            )? > 0
            {
                return Err(StoreError::DeleteConflict(Conflict::RoleHasPolicies));
            }
            execute(c, "DELETE FROM roles WHERE role_id = ?1", [&role_id])?;
            Ok(())
        })
    }

    // -- custom policies and versions

    fn create_policy(&self, policy: &NewPolicy) -> Result<CustomPolicy> {
        self.write(|c| {
            require_account(c, &policy.account_id)?;
            let key = name_key(&policy.policy_name);
            if count(
                c,
                "SELECT COUNT(*) FROM policies WHERE account_id = ?1 AND name_key = ?2",
                params![policy.account_id, key],
            )? > 0
            {
                return Err(StoreError::AlreadyExists(Entity::Policy, policy.policy_name.clone()));
            }
            if count(c, "SELECT COUNT(*) FROM policies WHERE account_id = ?1", [&policy.account_id])? >= MAX_POLICIES
            {
                return Err(StoreError::LimitExceeded(Limit::Policies));
            }
            execute(
                c,
                "INSERT INTO policies (account_id, name_key, policy_name, description, default_version, last_version, \
                 created_at, updated_at) VALUES (?1, ?2, ?3, ?4, 1, 1, ?5, ?5)",
                params![policy.account_id, key, policy.policy_name, policy.description, policy.now],
            )?;
            execute(
                c,
                "INSERT INTO policy_versions (account_id, policy_key, version, document, created_at) \
                 VALUES (?1, ?2, 1, ?3, ?4)",
                params![policy.account_id, key, policy.document, policy.now],
            )?;
            get_policy_in(c, &policy.account_id, &policy.policy_name)
        })
    }

    fn get_policy(&self, account_id: &str, policy_name: &str) -> Result<CustomPolicy> {
        self.read(|c| get_policy_in(c, account_id, policy_name))
    }

    fn list_policies(&self, account_id: &str, page: &PageRequest) -> Result<Page<CustomPolicy>> {
        self.read(|c| {
            require_account(c, account_id)?;
            list_page(c, POLICY_SELECT, "p", account_id, page, policy_from_row)
        })
    }

    fn delete_policy(&self, account_id: &str, policy_name: &str) -> Result<()> {
        self.write(|c| {
            let (key, _, _) = policy_state(c, account_id, policy_name)?;
            if count(
                c,
                "SELECT COUNT(*) FROM attachments WHERE account_id = ?1 AND custom_key = ?2",
                params![account_id, key],
            )? > 0
            {
                return Err(StoreError::DeleteConflict(Conflict::PolicyAttached));
            }
            if count(
                c,
                "SELECT COUNT(*) FROM policy_versions WHERE account_id = ?1 AND policy_key = ?2",
                params![account_id, key],
            )? > 1
            {
                return Err(StoreError::DeleteConflict(Conflict::PolicyHasVersions));
            }
            execute(
                c,
                "DELETE FROM policy_versions WHERE account_id = ?1 AND policy_key = ?2",
                params![account_id, key],
            )?;
            execute(
                c,
                "DELETE FROM policies WHERE account_id = ?1 AND name_key = ?2",
                params![account_id, key],
            )?;
            Ok(())
        })
    }

    fn create_policy_version(
        &self,
        account_id: &str,
        policy_name: &str,
        document: &str,
        set_as_default: bool,
        rotate: bool,
        now: i64,
    ) -> Result<PolicyVersion> {
        self.write(|c| {
            let (key, default_version, last_version) = policy_state(c, account_id, policy_name)?;
            let held = count(
                c,
                "SELECT COUNT(*) FROM policy_versions WHERE account_id = ?1 AND policy_key = ?2",
                params![account_id, key],
            )?;
            if held >= MAX_POLICY_VERSIONS {
                if !rotate {
                    return Err(StoreError::LimitExceeded(Limit::PolicyVersions));
                }
                let oldest: Option<i64> = first(
                    c,
                    "SELECT MIN(version) FROM policy_versions WHERE account_id = ?1 AND policy_key = ?2 \
                     AND version <> ?3",
                    params![account_id, key, default_version],
                    |r| Ok(r.get(0)?),
                )?
                .flatten();
                let Some(oldest) = oldest else {
                    return Err(StoreError::LimitExceeded(Limit::PolicyVersions));
                };
                execute(
                    c,
                    "DELETE FROM policy_versions WHERE account_id = ?1 AND policy_key = ?2 AND version = ?3",
                    params![account_id, key, oldest],
                )?;
            }
            let version = last_version
                .checked_add(1)
                .ok_or_else(|| StoreError::Corrupt(format!("policy `{policy_name}` has too many versions")))?;
            execute(
                c,
                "INSERT INTO policy_versions (account_id, policy_key, version, document, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![account_id, key, version, document, now],
            )?;
            let new_default = if set_as_default { version } else { default_version };
            execute(
                c,
                "UPDATE policies SET last_version = ?3, default_version = ?4, updated_at = ?5 \
                 WHERE account_id = ?1 AND name_key = ?2",
                params![account_id, key, version, new_default, now],
            )?;
            Ok(PolicyVersion {
                version_id: format_version(version),
                document: document.to_owned(),
                is_default: set_as_default,
                created_at: now,
            })
        })
    }

    fn get_policy_version(
        &self,
        account_id: &str,
        policy_name: &str,
        version_id: &str,
    ) -> Result<PolicyVersion> {
        self.read(|c| {
            let (key, default_version, _) = policy_state(c, account_id, policy_name)?;
            let n = existing_version(c, account_id, &key, version_id)?;
            first(
                c,
                "SELECT document, created_at FROM policy_versions WHERE account_id = ?1 AND policy_key = ?2 \
                 AND version = ?3",
                params![account_id, key, n],
                |r| {
                    Ok(PolicyVersion {
                        version_id: format_version(n),
                        document: r.get(0)?,
                        is_default: n == default_version,
                        created_at: r.get(1)?,
                    })
                },
            )?
            .ok_or_else(|| StoreError::NotFound(Entity::PolicyVersion, version_id.to_owned()))
        })
    }

    fn list_policy_versions(
        &self,
        account_id: &str,
        policy_name: &str,
    ) -> Result<Vec<PolicyVersion>> {
        self.read(|c| {
            let (key, default_version, _) = policy_state(c, account_id, policy_name)?;
            collect(
                c,
                "SELECT version, document, created_at FROM policy_versions WHERE account_id = ?1 AND policy_key = ?2 \
                 ORDER BY version",
                params![account_id, key],
                |r| {
                    let n: i64 = r.get(0)?;
                    Ok(PolicyVersion {
                        version_id: format_version(n),
                        document: r.get(1)?,
                        is_default: n == default_version,
                        created_at: r.get(2)?,
                    })
                },
            )
        })
    }

    fn delete_policy_version(
        &self,
        account_id: &str,
        policy_name: &str,
        version_id: &str,
    ) -> Result<()> {
        self.write(|c| {
            let (key, default_version, _) = policy_state(c, account_id, policy_name)?;
            let n = existing_version(c, account_id, &key, version_id)?;
            if n == default_version {
                return Err(StoreError::DeleteConflict(Conflict::DefaultVersion));
            }
            execute(
                c,
                "DELETE FROM policy_versions WHERE account_id = ?1 AND policy_key = ?2 AND version = ?3",
                params![account_id, key, n],
            )?;
            Ok(())
        })
    }

    fn set_default_policy_version(
        &self,
        account_id: &str,
        policy_name: &str,
        version_id: &str,
        now: i64,
    ) -> Result<()> {
        self.write(|c| {
            let (key, _, _) = policy_state(c, account_id, policy_name)?;
            let n = existing_version(c, account_id, &key, version_id)?;
            execute(
                c,
                "UPDATE policies SET default_version = ?3, updated_at = ?4 WHERE account_id = ?1 AND name_key = ?2",
                params![account_id, key, n, now],
            )?;
            Ok(())
        })
    }

    // -- attachments

    fn attach_policy(&self, attachment: &Attachment) -> Result<()> {
        let account_id = &attachment.account_id;
        self.write(|c| {
            let (column, principal) = principal_id(c, account_id, &attachment.principal)?;
            let (policy_key, custom_key) = match attachment.policy_type {
                PolicyType::Custom => {
                    let (key, _, _) = policy_state(c, account_id, &attachment.policy_name)?;
                    (key.clone(), Some(key))
                }
                PolicyType::System => (name_key(&attachment.policy_name), None),
            };
            let type_str = attachment.policy_type.as_str();
            if count(
                c,
                &format!("SELECT COUNT(*) FROM attachments WHERE {column} = ?1 AND policy_type = ?2 AND policy_key = ?3"),
                params![principal, type_str, policy_key],
            )? > 0
            {
                return Err(StoreError::AlreadyExists(Entity::Attachment, attachment.policy_name.clone()));
            }
            let max = match attachment.policy_type {
                PolicyType::Custom => MAX_CUSTOM_PER_PRINCIPAL,
                PolicyType::System => MAX_SYSTEM_PER_PRINCIPAL,
            };
            if count(
                c,
                &format!("SELECT COUNT(*) FROM attachments WHERE {column} = ?1 AND policy_type = ?2"),
                params![principal, type_str],
            )? >= max
            {
                return Err(StoreError::LimitExceeded(Limit::PoliciesPerPrincipal));
            }
            let seq = count(c, "SELECT COALESCE(MAX(seq), 0) + 1 FROM attachments", [])?;
            execute(
                c,
                &format!(
                    "INSERT INTO attachments (seq, account_id, {column}, policy_type, policy_key, policy_name, \
                     custom_key, attached_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                ),
                params![
                    seq,
                    account_id,
                    principal,
                    type_str,
                    policy_key,
                    attachment.policy_name,
                    custom_key,
                    attachment.attached_at
                ],
            )?;
            Ok(())
        })
    }

    fn detach_policy(
        &self,
        account_id: &str,
        principal: &PrincipalRef,
        policy_type: PolicyType,
        policy_name: &str,
    ) -> Result<()> {
        self.write(|c| {
            let (column, principal_id) = principal_id(c, account_id, principal)?;
            let policy_key = match policy_type {
                PolicyType::Custom => policy_state(c, account_id, policy_name)?.0,
                PolicyType::System => name_key(policy_name),
            };
            let deleted = execute(
                c,
                &format!("DELETE FROM attachments WHERE {column} = ?1 AND policy_type = ?2 AND policy_key = ?3"),
                params![principal_id, policy_type.as_str(), policy_key],
            )?;
            if deleted == 0 {
                return Err(StoreError::NotFound(Entity::Attachment, policy_name.to_owned()));
            }
            Ok(())
        })
    }

    fn list_attachments(
        &self,
        account_id: &str,
        principal: &PrincipalRef,
    ) -> Result<Vec<Attachment>> {
        self.read(|c| {
            let (column, principal_id) = principal_id(c, account_id, principal)?;
            collect(
                c,
                &format!(
                    "SELECT a.policy_type, a.policy_name, p.policy_name, p.description, p.default_version, \
                     a.attached_at FROM attachments a LEFT JOIN policies p \
                     ON p.account_id = a.account_id AND p.name_key = a.custom_key \
                     WHERE a.{column} = ?1 ORDER BY a.seq"
                ),
                [&principal_id],
                |r| {
                    let policy_type = parse_policy_type(&r.get::<_, String>(0)?)?;
                    let attached_name: String = r.get(1)?;
                    let (policy_name, description, default_version) = match policy_type {
                        PolicyType::System => (attached_name, String::new(), String::new()),
                        PolicyType::Custom => {
                            let name: Option<String> = r.get(2)?;
                            let name = name.ok_or_else(|| {
                                StoreError::Corrupt(format!("attached policy `{attached_name}` is missing"))
                            })?;
                            (name, r.get(3)?, format_version(r.get(4)?))
                        }
                    };
                    Ok(Attachment {
                        account_id: account_id.to_owned(),
                        principal: principal.clone(),
                        policy_type,
                        policy_name,
                        description,
                        default_version,
                        attached_at: r.get(5)?,
                    })
                },
            )
        })
    }

    fn attached_documents(
        &self,
        account_id: &str,
        principal: &PrincipalRef,
    ) -> Result<Vec<AttachedDocument>> {
        self.read(|c| {
            let (column, principal_id) = principal_id(c, account_id, principal)?;
            collect(
                c,
                &format!(
                    "SELECT a.policy_type, a.policy_name, p.policy_name, v.document \
                     FROM attachments a LEFT JOIN policies p \
                     ON p.account_id = a.account_id AND p.name_key = a.custom_key \
                     LEFT JOIN policy_versions v \
                     ON v.account_id = p.account_id AND v.policy_key = p.name_key AND v.version = p.default_version \
                     WHERE a.{column} = ?1 ORDER BY a.seq"
                ),
                [&principal_id],
                |r| {
                    let policy_type = parse_policy_type(&r.get::<_, String>(0)?)?;
                    let attached_name: String = r.get(1)?;
                    match policy_type {
                        PolicyType::System => {
                            Ok(AttachedDocument { policy_type, policy_name: attached_name, document: String::new() })
                        }
                        PolicyType::Custom => {
                            let name: Option<String> = r.get(2)?;
                            let document: Option<String> = r.get(3)?;
                            match (name, document) {
                                (Some(policy_name), Some(document)) => {
                                    Ok(AttachedDocument { policy_type, policy_name, document })
                                }
                                _ => Err(StoreError::Corrupt(format!(
                                    "attached policy `{attached_name}` or its default version is missing"
                                ))),
                            }
                        }
                    }
                },
            )
        })
    }

    // -- audit and metadata

    fn append_audit(&self, records: &[AuditRecord]) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        self.write(|c| {
            let mut seq = count(c, "SELECT COALESCE(MAX(seq), 0) FROM audit_log", [])?;
            let mut stmt = c.prepare_cached(
                "INSERT INTO audit_log (seq, recorded_at, request_id, account_id, actor, action, target, result, \
                 detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            for r in records {
                seq += 1;
                stmt.execute(params![
                    seq,
                    r.time,
                    r.request_id,
                    r.account_id,
                    r.actor,
                    r.action,
                    r.target,
                    r.result,
                    r.detail
                ])?;
            }
            Ok(())
        })
    }

    fn recent_audit(&self, limit: usize) -> Result<Vec<AuditRecord>> {
        self.read(|c| {
            collect(
                c,
                "SELECT recorded_at, request_id, account_id, actor, action, target, result, detail FROM audit_log \
                 ORDER BY seq DESC LIMIT ?1",
                [to_i64(limit)],
                |r| {
                    Ok(AuditRecord {
                        time: r.get(0)?,
                        request_id: r.get(1)?,
                        account_id: r.get(2)?,
                        actor: r.get(3)?,
                        action: r.get(4)?,
                        target: r.get(5)?,
                        result: r.get(6)?,
                        detail: r.get(7)?,
                    })
                },
            )
        })
    }

    fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.read(|c| {
            first(
                c,
                "SELECT meta_value FROM meta WHERE meta_key = ?1",
                [key],
                |r| Ok(r.get(0)?),
            )
        })
    }

    fn put_meta(&self, key: &str, value: &[u8]) -> Result<()> {
        self.write(|c| {
            if execute(
                c,
                "UPDATE meta SET meta_value = ?2 WHERE meta_key = ?1",
                params![key, value],
            )? == 0
            {
                execute(
                    c,
                    "INSERT INTO meta (meta_key, meta_value) VALUES (?1, ?2)",
                    params![key, value],
                )?;
            }
            Ok(())
        })
    }
    fn create_record(&self, kind: &str, key: &str, value: &str, now: i64) -> Result<()> {
        self.write(|c| {
            if count(c, "SELECT COUNT(*) FROM records WHERE kind = ?1 AND record_key = ?2", params![kind, key])? > 0 {
                return Err(StoreError::AlreadyExists(Entity::Record, key.to_owned()));
            }
            execute(
                c,
                "INSERT INTO records (kind, record_key, record_value, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)",
                params![kind, key, value, now],
            )?;
            Ok(())
        })
    }

    fn put_record(&self, kind: &str, key: &str, value: &str, now: i64) -> Result<()> {
        self.write(|c| {
            if execute(
                c,
                "UPDATE records SET record_value = ?3, updated_at = ?4 WHERE kind = ?1 AND record_key = ?2",
                params![kind, key, value, now],
            )? == 0
            {
                execute(
                    c,
                    "INSERT INTO records (kind, record_key, record_value, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)",
                    params![kind, key, value, now],
                )?;
            }
            Ok(())
        })
    }

    fn get_record(&self, kind: &str, key: &str) -> Result<Option<String>> {
        self.read(|c| {
            first(
                c,
                "SELECT record_value FROM records WHERE kind = ?1 AND record_key = ?2",
                params![kind, key],
                |r| Ok(r.get(0)?),
            )
        })
    }

    fn list_records(&self, kind: &str, prefix: &str) -> Result<Vec<(String, String)>> {
        let rows: Vec<(String, String)> = self.read(|c| {
            collect(
                c,
                "SELECT record_key, record_value FROM records WHERE kind = ?1 ORDER BY record_key",
                params![kind],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        })?;
        Ok(rows
            .into_iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .collect())
    }

    fn delete_record(&self, kind: &str, key: &str) -> Result<bool> {
        self.write(|c| {
            Ok(execute(
                c,
                "DELETE FROM records WHERE kind = ?1 AND record_key = ?2",
                params![kind, key],
            )? > 0)
        })
    }

    fn append_event(&self, stream: &str, event: &Event) -> Result<()> {
        self.write(|c| {
            let next = count(c, "SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE stream = ?1", params![stream])?;
            execute(
                c,
                "INSERT INTO events (stream, seq, event_time, event_kind, reason, message) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![stream, next, event.time, event.kind, event.reason, event.message],
            )?;
            Ok(())
        })
    }

    fn list_events(&self, stream: &str) -> Result<Vec<Event>> {
        self.read(|c| {
            collect(
                c,
                "SELECT event_time, event_kind, reason, message FROM events WHERE stream = ?1 ORDER BY seq",
                params![stream],
                |r| Ok(Event { time: r.get(0)?, kind: r.get(1)?, reason: r.get(2)?, message: r.get(3)? }),
            )
        })
    }

    fn delete_events(&self, stream: &str) -> Result<()> {
        self.write(|c| {
            execute(c, "DELETE FROM events WHERE stream = ?1", params![stream])?;
            Ok(())
        })
    }
}

const ACCESS_KEY_SELECT: &str = "SELECT k.access_key_id, k.account_id, u.user_name, k.user_id, k.status, \
     k.secret_nonce, k.secret_sealed, k.created_at FROM access_keys k LEFT JOIN users u ON u.user_id = k.user_id";

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn versions_parse_strictly() {
        assert_eq!(parse_version("v1"), Some(1));
        assert_eq!(parse_version("v42"), Some(42));
        for bad in [
            "",
            "v",
            "1",
            "V1",
            "v01",
            "v-1",
            "v+1",
            "v1 ",
            "vx",
            "v99999999999999999999",
        ] {
            assert_eq!(parse_version(bad), None, "{bad:?}");
        }
        assert_eq!(format_version(7), "v7");
    }

    #[test]
    fn markers_round_trip_and_reject_garbage() {
        let m = encode_marker("my-role.1");
        assert!(m.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(decode_marker(&m).as_deref(), Some("my-role.1"));
        for bad in ["z", "abc", "AB", "ff"] {
            assert_eq!(decode_marker(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn names_are_keyed_case_insensitively() {
        assert_eq!(name_key("MyRole"), name_key("myrole"));
        assert_eq!(name_key("A-b.C"), "a-b.c");
    }

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

    proptest! {
        #[test]
        fn hex_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(hex_decode(&hex_encode(&bytes)), Some(bytes));
        }
    }
}
