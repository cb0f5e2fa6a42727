//! RAM users.

use super::{count, execute, first, list_page, require_account};
use crate::quota;
use crate::validate::name_key;
use crate::{Conflict, Entity, Limit, Page, PageRequest, Result, StoreError, User, UserUpdate};
use rusqlite::{params, Connection, Row};

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

/// The id of user `user_name`; `NotFound(User)` if missing.
pub(super) fn user_id_of(conn: &Connection, account_id: &str, user_name: &str) -> Result<String> {
    first(
        conn,
        "SELECT user_id FROM users WHERE account_id = ?1 AND name_key = ?2",
        params![account_id, name_key(user_name)],
        |r| Ok(r.get(0)?),
    )?
    .ok_or_else(|| StoreError::NotFound(Entity::User, user_name.to_owned()))
}

pub(super) fn create(c: &Connection, user: &User) -> Result<()> {
    require_account(c, &user.account_id)?;
    let key = name_key(&user.user_name);
    if count(
        c,
        "SELECT COUNT(*) FROM users WHERE account_id = ?1 AND name_key = ?2",
        params![user.account_id, key],
    )? > 0
    {
        return Err(StoreError::AlreadyExists(
            Entity::User,
            user.user_name.clone(),
        ));
    }
    if count(
        c,
        "SELECT COUNT(*) FROM users WHERE user_id = ?1",
        [&user.user_id],
    )? > 0
    {
        return Err(StoreError::AlreadyExists(
            Entity::User,
            user.user_id.clone(),
        ));
    }
    quota::ensure_room(
        Limit::Users,
        count(
            c,
            "SELECT COUNT(*) FROM users WHERE account_id = ?1",
            [&user.account_id],
        )?,
    )?;
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
}

pub(super) fn get(conn: &Connection, account_id: &str, user_name: &str) -> Result<User> {
    first(
        conn,
        &format!("{USER_SELECT} WHERE u.account_id = ?1 AND u.name_key = ?2"),
        params![account_id, name_key(user_name)],
        user_from_row,
    )?
    .ok_or_else(|| StoreError::NotFound(Entity::User, user_name.to_owned()))
}

pub(super) fn list(c: &Connection, account_id: &str, page: &PageRequest) -> Result<Page<User>> {
    require_account(c, account_id)?;
    list_page(c, USER_SELECT, "u", account_id, page, user_from_row)
}

pub(super) fn update(
    c: &Connection,
    account_id: &str,
    user_name: &str,
    update: &UserUpdate,
    now: i64,
) -> Result<User> {
    let mut user = get(c, account_id, user_name)?;
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
}

pub(super) fn delete(c: &Connection, account_id: &str, user_name: &str) -> Result<()> {
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
}
