//! Accounts.

use super::{collect, count, execute, first};
use crate::{Account, Entity, Result, StoreError};
use rusqlite::{params, Connection};

pub(super) fn create(c: &Connection, account_id: &str, now: i64) -> Result<Account> {
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
}

pub(super) fn get(c: &Connection, account_id: &str) -> Result<Account> {
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
}

pub(super) fn list(c: &Connection) -> Result<Vec<Account>> {
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
}
