//! Policy attachments to users and roles. System policies are not stored, only their names
//! (checked by the caller); custom ones refer to their policy by `custom_key`. `seq` keeps
//! attach order.

use super::policies::policy_state;
use super::roles::role_id_of;
use super::users::user_id_of;
use super::{collect, count, execute};
use crate::quota;
use crate::validate::{format_version, name_key};
use crate::{AttachedDocument, Attachment, Entity, PolicyType, PrincipalRef, Result, StoreError};
use rusqlite::{params, Connection};

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

fn parse_policy_type(s: &str) -> Result<PolicyType> {
    match s {
        "System" => Ok(PolicyType::System),
        "Custom" => Ok(PolicyType::Custom),
        other => Err(StoreError::Corrupt(format!(
            "unknown policy type `{other}`"
        ))),
    }
}

pub(super) fn attach(c: &Connection, attachment: &Attachment) -> Result<()> {
    let account_id = &attachment.account_id;
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
        &format!(
            "SELECT COUNT(*) FROM attachments WHERE {column} = ?1 AND policy_type = ?2 AND policy_key = ?3"
        ),
        params![principal, type_str, policy_key],
    )? > 0
    {
        return Err(StoreError::AlreadyExists(
            Entity::Attachment,
            attachment.policy_name.clone(),
        ));
    }
    quota::ensure_attach_room(
        attachment.policy_type,
        count(
            c,
            &format!("SELECT COUNT(*) FROM attachments WHERE {column} = ?1 AND policy_type = ?2"),
            params![principal, type_str],
        )?,
    )?;
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
}

pub(super) fn detach(
    c: &Connection,
    account_id: &str,
    principal: &PrincipalRef,
    policy_type: PolicyType,
    policy_name: &str,
) -> Result<()> {
    let (column, principal_id) = principal_id(c, account_id, principal)?;
    let policy_key = match policy_type {
        PolicyType::Custom => policy_state(c, account_id, policy_name)?.0,
        PolicyType::System => name_key(policy_name),
    };
    let deleted = execute(
        c,
        &format!(
            "DELETE FROM attachments WHERE {column} = ?1 AND policy_type = ?2 AND policy_key = ?3"
        ),
        params![principal_id, policy_type.as_str(), policy_key],
    )?;
    if deleted == 0 {
        return Err(StoreError::NotFound(
            Entity::Attachment,
            policy_name.to_owned(),
        ));
    }
    Ok(())
}

pub(super) fn list(
    c: &Connection,
    account_id: &str,
    principal: &PrincipalRef,
) -> Result<Vec<Attachment>> {
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
}

pub(super) fn documents(
    c: &Connection,
    account_id: &str,
    principal: &PrincipalRef,
) -> Result<Vec<AttachedDocument>> {
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
                PolicyType::System => Ok(AttachedDocument {
                    policy_type,
                    policy_name: attached_name,
                    document: String::new(),
                }),
                PolicyType::Custom => {
                    let name: Option<String> = r.get(2)?;
                    let document: Option<String> = r.get(3)?;
                    match (name, document) {
                        (Some(policy_name), Some(document)) => Ok(AttachedDocument {
                            policy_type,
                            policy_name,
                            document,
                        }),
                        _ => Err(StoreError::Corrupt(format!(
                            "attached policy `{attached_name}` or its default version is missing"
                        ))),
                    }
                }
            }
        },
    )
}
