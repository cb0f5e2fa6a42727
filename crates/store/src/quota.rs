//! The vendor's count limits, backend-neutral. A backend counts what is held *inside the
//! transaction that adds one more* and asks [`ensure_room`] (or [`ensure_attach_room`]) before
//! inserting, so two concurrent writers cannot both pass the check.

use crate::{Limit, PolicyType, Result, StoreError};

/// Users per account.
pub const MAX_USERS: i64 = 1000;
/// Roles per account.
pub const MAX_ROLES: i64 = 1000;
/// Custom policies per account.
pub const MAX_POLICIES: i64 = 1500;
/// AccessKeys per user (and per account root).
pub const MAX_KEYS_PER_USER: i64 = 2;
/// Versions per custom policy.
pub const MAX_POLICY_VERSIONS: i64 = 5;
/// Custom policies attached to one user or role.
pub const MAX_CUSTOM_PER_PRINCIPAL: i64 = 5;
/// System policies attached to one user or role.
pub const MAX_SYSTEM_PER_PRINCIPAL: i64 = 20;

/// The most items `limit` allows. [`Limit::PoliciesPerPrincipal`] counts custom and system
/// policies separately; see [`max_attached`].
pub fn max(limit: Limit) -> i64 {
    match limit {
        Limit::Roles => MAX_ROLES,
        Limit::AccessKeysPerUser => MAX_KEYS_PER_USER,
        Limit::PolicyVersions => MAX_POLICY_VERSIONS,
        Limit::PoliciesPerPrincipal => MAX_CUSTOM_PER_PRINCIPAL,
        Limit::Policies => MAX_POLICIES,
        Limit::Users => MAX_USERS,
    }
}

/// The most policies of `policy_type` one principal may have attached.
pub fn max_attached(policy_type: PolicyType) -> i64 {
    match policy_type {
        PolicyType::Custom => MAX_CUSTOM_PER_PRINCIPAL,
        PolicyType::System => MAX_SYSTEM_PER_PRINCIPAL,
    }
}

/// Whether one more fits when `held` are held.
pub fn has_room(limit: Limit, held: i64) -> bool {
    held < max(limit)
}

/// `LimitExceeded(limit)` unless one more fits when `held` are held.
pub fn ensure_room(limit: Limit, held: i64) -> Result<()> {
    if has_room(limit, held) {
        Ok(())
    } else {
        Err(StoreError::LimitExceeded(limit))
    }
}

/// `LimitExceeded(PoliciesPerPrincipal)` unless a principal holding `held` attachments of
/// `policy_type` may have one more.
pub fn ensure_attach_room(policy_type: PolicyType, held: i64) -> Result<()> {
    if held < max_attached(policy_type) {
        Ok(())
    } else {
        Err(StoreError::LimitExceeded(Limit::PoliciesPerPrincipal))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_match_their_messages() {
        for limit in [
            Limit::Roles,
            Limit::AccessKeysPerUser,
            Limit::PolicyVersions,
            Limit::Policies,
            Limit::Users,
        ] {
            let n = max(limit).to_string();
            assert!(limit.to_string().contains(&n), "{limit:?}: {limit} vs {n}");
        }
        let msg = Limit::PoliciesPerPrincipal.to_string();
        assert!(msg.contains(&max_attached(PolicyType::Custom).to_string()));
        assert!(msg.contains(&max_attached(PolicyType::System).to_string()));
    }

    #[test]
    fn room_is_checked_at_the_limit() {
        assert!(ensure_room(Limit::AccessKeysPerUser, 1).is_ok());
        assert!(matches!(
            ensure_room(Limit::AccessKeysPerUser, 2),
            Err(StoreError::LimitExceeded(Limit::AccessKeysPerUser))
        ));
        assert!(ensure_attach_room(PolicyType::System, 19).is_ok());
        assert!(matches!(
            ensure_attach_room(PolicyType::System, 20),
            Err(StoreError::LimitExceeded(Limit::PoliciesPerPrincipal))
        ));
        assert!(matches!(
            ensure_attach_room(PolicyType::Custom, 5),
            Err(StoreError::LimitExceeded(Limit::PoliciesPerPrincipal))
        ));
    }
}
