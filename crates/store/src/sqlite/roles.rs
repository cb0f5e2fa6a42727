//! RAM roles.

use super::{count, execute, first, list_page, require_account};
use crate::quota;
use crate::validate::name_key;
use crate::{Conflict, Entity, Limit, Page, PageRequest, Result, Role, RoleUpdate, StoreError};
use rusqlite::{params, Connection, Row};

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

/// The id of role `role_name`; `NotFound(Role)` if missing.
pub(super) fn role_id_of(conn: &Connection, account_id: &str, role_name: &str) -> Result<String> {
    first(
        conn,
        "SELECT role_id FROM roles WHERE account_id = ?1 AND name_key = ?2",
        params![account_id, name_key(role_name)],
        |r| Ok(r.get(0)?),
    )?
    .ok_or_else(|| StoreError::NotFound(Entity::Role, role_name.to_owned()))
}

pub(super) fn create(c: &Connection, role: &Role) -> Result<()> {
    require_account(c, &role.account_id)?;
    let key = name_key(&role.role_name);
    if count(
        c,
        "SELECT COUNT(*) FROM roles WHERE account_id = ?1 AND name_key = ?2",
        params![role.account_id, key],
    )? > 0
    {
        return Err(StoreError::AlreadyExists(
            Entity::Role,
            role.role_name.clone(),
        ));
    }
    if count(
        c,
        "SELECT COUNT(*) FROM roles WHERE role_id = ?1",
        [&role.role_id],
    )? > 0
    {
        return Err(StoreError::AlreadyExists(
            Entity::Role,
            role.role_id.clone(),
        ));
    }
    quota::ensure_room(
        Limit::Roles,
        count(
            c,
            "SELECT COUNT(*) FROM roles WHERE account_id = ?1",
            [&role.account_id],
        )?,
    )?;
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
}

pub(super) fn get(conn: &Connection, account_id: &str, role_name: &str) -> Result<Role> {
    first(
        conn,
        &format!("{ROLE_SELECT} WHERE r.account_id = ?1 AND r.name_key = ?2"),
        params![account_id, name_key(role_name)],
        role_from_row,
    )?
    .ok_or_else(|| StoreError::NotFound(Entity::Role, role_name.to_owned()))
}

pub(super) fn list(c: &Connection, account_id: &str, page: &PageRequest) -> Result<Page<Role>> {
    require_account(c, account_id)?;
    list_page(c, ROLE_SELECT, "r", account_id, page, role_from_row)
}

pub(super) fn update(
    c: &Connection,
    account_id: &str,
    role_name: &str,
    update: &RoleUpdate,
    now: i64,
) -> Result<Role> {
    let mut role = get(c, account_id, role_name)?;
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
        params![
            role.role_id,
            role.trust_policy,
            role.description,
            role.max_session_duration,
            role.updated_at
        ],
    )?;
    Ok(role)
}

pub(super) fn delete(c: &Connection, account_id: &str, role_name: &str) -> Result<()> {
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
}
