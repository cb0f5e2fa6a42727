//! Custom policies and their versions. A policy row keeps `default_version` and `last_version`
//! (the highest version number ever created, so numbers are never reused).

use super::{collect, count, execute, first, list_page, require_account};
use crate::quota;
use crate::validate::{format_version, name_key, parse_version};
use crate::{
    Conflict, CustomPolicy, Entity, Limit, NewPolicy, Page, PageRequest, PolicyVersion, Result,
    StoreError,
};
use rusqlite::{params, Connection, Row};

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

pub(super) fn get(conn: &Connection, account_id: &str, policy_name: &str) -> Result<CustomPolicy> {
    first(
        conn,
        &format!("{POLICY_SELECT} WHERE p.account_id = ?1 AND p.name_key = ?2"),
        params![account_id, name_key(policy_name)],
        policy_from_row,
    )?
    .ok_or_else(|| StoreError::NotFound(Entity::Policy, policy_name.to_owned()))
}

/// `(name_key, default_version, last_version)` of a policy; `NotFound` if missing.
pub(super) fn policy_state(
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

pub(super) fn create(c: &Connection, policy: &NewPolicy) -> Result<CustomPolicy> {
    require_account(c, &policy.account_id)?;
    let key = name_key(&policy.policy_name);
    if count(
        c,
        "SELECT COUNT(*) FROM policies WHERE account_id = ?1 AND name_key = ?2",
        params![policy.account_id, key],
    )? > 0
    {
        return Err(StoreError::AlreadyExists(
            Entity::Policy,
            policy.policy_name.clone(),
        ));
    }
    quota::ensure_room(
        Limit::Policies,
        count(
            c,
            "SELECT COUNT(*) FROM policies WHERE account_id = ?1",
            [&policy.account_id],
        )?,
    )?;
    execute(
        c,
        "INSERT INTO policies (account_id, name_key, policy_name, description, default_version, last_version, \
         created_at, updated_at) VALUES (?1, ?2, ?3, ?4, 1, 1, ?5, ?5)",
        params![
            policy.account_id,
            key,
            policy.policy_name,
            policy.description,
            policy.now
        ],
    )?;
    execute(
        c,
        "INSERT INTO policy_versions (account_id, policy_key, version, document, created_at) \
         VALUES (?1, ?2, 1, ?3, ?4)",
        params![policy.account_id, key, policy.document, policy.now],
    )?;
    get(c, &policy.account_id, &policy.policy_name)
}

pub(super) fn list(
    c: &Connection,
    account_id: &str,
    page: &PageRequest,
) -> Result<Page<CustomPolicy>> {
    require_account(c, account_id)?;
    list_page(c, POLICY_SELECT, "p", account_id, page, policy_from_row)
}

pub(super) fn delete(c: &Connection, account_id: &str, policy_name: &str) -> Result<()> {
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
}

pub(super) fn create_version(
    c: &Connection,
    account_id: &str,
    policy_name: &str,
    document: &str,
    set_as_default: bool,
    rotate: bool,
    now: i64,
) -> Result<PolicyVersion> {
    let (key, default_version, last_version) = policy_state(c, account_id, policy_name)?;
    let held = count(
        c,
        "SELECT COUNT(*) FROM policy_versions WHERE account_id = ?1 AND policy_key = ?2",
        params![account_id, key],
    )?;
    if !quota::has_room(Limit::PolicyVersions, held) {
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
    let version = last_version.checked_add(1).ok_or_else(|| {
        StoreError::Corrupt(format!("policy `{policy_name}` has too many versions"))
    })?;
    execute(
        c,
        "INSERT INTO policy_versions (account_id, policy_key, version, document, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![account_id, key, version, document, now],
    )?;
    let new_default = if set_as_default {
        version
    } else {
        default_version
    };
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
}

pub(super) fn get_version(
    c: &Connection,
    account_id: &str,
    policy_name: &str,
    version_id: &str,
) -> Result<PolicyVersion> {
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
}

pub(super) fn list_versions(
    c: &Connection,
    account_id: &str,
    policy_name: &str,
) -> Result<Vec<PolicyVersion>> {
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
}

pub(super) fn delete_version(
    c: &Connection,
    account_id: &str,
    policy_name: &str,
    version_id: &str,
) -> Result<()> {
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
}

pub(super) fn set_default_version(
    c: &Connection,
    account_id: &str,
    policy_name: &str,
    version_id: &str,
    now: i64,
) -> Result<()> {
    let (key, _, _) = policy_state(c, account_id, policy_name)?;
    let n = existing_version(c, account_id, &key, version_id)?;
    execute(
        c,
        "UPDATE policies SET default_version = ?3, updated_at = ?4 WHERE account_id = ?1 AND name_key = ?2",
        params![account_id, key, n, now],
    )?;
    Ok(())
}
