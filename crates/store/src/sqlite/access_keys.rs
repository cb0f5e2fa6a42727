//! AccessKeys: the account's root keys (`user_id IS NULL`) and users' keys. Secrets are stored
//! only sealed (see `keyfile.rs`).

use super::keyfile::{Sealed, SecretSealer};
use super::users::user_id_of;
use super::{collect, count, execute, first, require_account, to_i64};
use crate::quota;
use crate::{AccessKey, Entity, KeyStatus, Limit, Result, StoreError};
use rusqlite::{params, Connection, Row};

const ACCESS_KEY_SELECT: &str = "SELECT k.access_key_id, k.account_id, u.user_name, k.user_id, k.status, \
     k.secret_nonce, k.secret_sealed, k.created_at FROM access_keys k LEFT JOIN users u ON u.user_id = k.user_id";

fn access_key_from_row(sealer: &SecretSealer, row: &Row<'_>) -> Result<AccessKey> {
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
    let secret = sealer.open(&access_key_id, &nonce, &sealed)?;
    Ok(AccessKey {
        account_id: row.get(1)?,
        user_name,
        status: parse_status(&row.get::<_, String>(4)?)?,
        secret,
        created_at: row.get(7)?,
        access_key_id,
    })
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

/// Inserts `key` with its secret already `sealed` (sealing happens before the transaction).
pub(super) fn create(c: &Connection, key: &AccessKey, sealed: &Sealed) -> Result<()> {
    require_account(c, &key.account_id)?;
    let user_id = key_owner(c, &key.account_id, key.user_name.as_deref())?;
    if count(
        c,
        "SELECT COUNT(*) FROM access_keys WHERE access_key_id = ?1",
        [&key.access_key_id],
    )? > 0
    {
        return Err(StoreError::AlreadyExists(
            Entity::AccessKey,
            key.access_key_id.clone(),
        ));
    }
    let held = keys_of(
        c,
        &key.account_id,
        user_id.as_deref(),
        "SELECT k.access_key_id FROM access_keys k",
        |_| Ok(()),
    )?;
    quota::ensure_room(Limit::AccessKeysPerUser, to_i64(held.len()))?;
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
}

pub(super) fn find(
    c: &Connection,
    sealer: &SecretSealer,
    access_key_id: &str,
) -> Result<Option<AccessKey>> {
    first(
        c,
        &format!("{ACCESS_KEY_SELECT} WHERE k.access_key_id = ?1"),
        [access_key_id],
        |r| access_key_from_row(sealer, r),
    )
}

pub(super) fn list(
    c: &Connection,
    sealer: &SecretSealer,
    account_id: &str,
    user_name: Option<&str>,
) -> Result<Vec<AccessKey>> {
    require_account(c, account_id)?;
    let user_id = key_owner(c, account_id, user_name)?;
    keys_of(c, account_id, user_id.as_deref(), ACCESS_KEY_SELECT, |r| {
        access_key_from_row(sealer, r)
    })
}

pub(super) fn update_status(
    c: &Connection,
    account_id: &str,
    user_name: Option<&str>,
    access_key_id: &str,
    status: KeyStatus,
) -> Result<()> {
    require_key_of(c, account_id, user_name, access_key_id)?;
    execute(
        c,
        "UPDATE access_keys SET status = ?2 WHERE access_key_id = ?1",
        params![access_key_id, status.as_str()],
    )?;
    Ok(())
}

pub(super) fn delete(
    c: &Connection,
    account_id: &str,
    user_name: Option<&str>,
    access_key_id: &str,
) -> Result<()> {
    require_key_of(c, account_id, user_name, access_key_id)?;
    execute(
        c,
        "DELETE FROM access_keys WHERE access_key_id = ?1",
        [access_key_id],
    )?;
    Ok(())
}
