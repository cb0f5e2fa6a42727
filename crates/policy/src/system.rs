//! Built-in system policies, by name.
//!
//! Documents follow the reference ("System policies"). Those the reference marks "not verified"
//! use the widely quoted content; AliyunServiceRoleForPaiEas (the EAS service-linked role) grants
//! what the seed says the PAI default role can reach: OSS and MaxCompute, plus the platform's own
//! Log Service, ECS network-interface and VPC describe actions.

use crate::document::{Policy, PolicyKind};
use std::sync::OnceLock;

/// `(name, description, document)` for every system policy.
pub const SYSTEM_POLICIES: &[(&str, &str, &str)] = &[
    (
        "AdministratorAccess",
        "Provides full access to Alibaba Cloud services and resources.",
        r#"{"Version":"1","Statement":[{"Action":"*","Effect":"Allow","Resource":"*"}]}"#,
    ),
    (
        "AliyunOSSReadOnlyAccess",
        "Provides read-only access to Object Storage Service(OSS) via Management Console.",
        r#"{"Version":"1","Statement":[{"Action":["oss:Get*","oss:List*"],"Effect":"Allow","Resource":"*"}]}"#,
    ),
    (
        "AliyunOSSFullAccess",
        "Provides full access to Object Storage Service(OSS) via Management Console.",
        r#"{"Version":"1","Statement":[{"Action":"oss:*","Effect":"Allow","Resource":"*"}]}"#,
    ),
    (
        "AliyunMaxComputeReadOnlyAccess",
        "Provides read-only access to MaxCompute.",
        r#"{"Version":"1","Statement":[{"Action":["odps:Get*","odps:List*","odps:Query*","odps:Chat*"],"Effect":"Allow","Resource":"*"}]}"#,
    ),
    (
        "AliyunMaxComputeFullAccess",
        "Provides full access to MaxCompute.",
        r#"{"Version":"1","Statement":[{"Action":"odps:*","Effect":"Allow","Resource":"*"}]}"#,
    ),
    (
        "AliyunSTSAssumeRoleAccess",
        "Provides access to assume RAM roles through Security Token Service(STS).",
        r#"{"Version":"1","Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Resource":"*"}]}"#,
    ),
    (
        "AliyunRAMFullAccess",
        "Provides full access to Resource Access Management(RAM).",
        r#"{"Version":"1","Statement":[{"Action":"ram:*","Effect":"Allow","Resource":"*"}]}"#,
    ),
    (
        "AliyunRAMReadOnlyAccess",
        "Provides read-only access to Resource Access Management(RAM).",
        r#"{"Version":"1","Statement":[{"Action":["ram:Get*","ram:List*"],"Effect":"Allow","Resource":"*"}]}"#,
    ),
    (
        "AliyunPAIEASFullAccess",
        "Provides full access to PAI Elastic Algorithm Service(EAS).",
        r#"{"Version":"1","Statement":[{"Action":"eas:*","Effect":"Allow","Resource":"*"}]}"#,
    ),
    (
        "AliyunServiceRolePolicyForPaiEas",
        "The policy of the service-linked role AliyunServiceRoleForPaiEas.",
        r#"{"Version":"1","Statement":[{"Action":["oss:GetObject","oss:PutObject","oss:DeleteObject","oss:ListParts","oss:AbortMultipartUpload","oss:ListObjects","oss:ListBuckets","oss:GetBucketInfo","oss:PutBucketCors","oss:GetBucketCors","oss:DeleteBucketCors"],"Effect":"Allow","Resource":"*"},{"Action":["odps:List*","odps:Get*","odps:Describe*","odps:Select","odps:Read","odps:CreateInstance"],"Effect":"Allow","Resource":"*"},{"Action":["log:GetProject","log:GetLogStore","log:PostLogStoreLogs"],"Effect":"Allow","Resource":"*"},{"Action":["ecs:CreateNetworkInterface","ecs:DescribeNetworkInterfaces","ecs:AttachNetworkInterface","ecs:DetachNetworkInterface","ecs:DeleteNetworkInterface","ecs:DescribeSecurityGroups","vpc:DescribeVSwitches","vpc:DescribeVpcs"],"Effect":"Allow","Resource":"*"}]}"#,
    ),
];

/// The service-linked role's policy name, as listed by ListPoliciesForRole.
pub const PAI_EAS_SERVICE_ROLE_POLICY: &str = "AliyunServiceRolePolicyForPaiEas";

/// Aliases accepted by [`system_policy`] (the issue names the policy after its role).
const ALIASES: &[(&str, &str)] = &[("AliyunServiceRoleForPaiEas", PAI_EAS_SERVICE_ROLE_POLICY)];

fn compiled() -> &'static [Policy] {
    static CELL: OnceLock<Vec<Policy>> = OnceLock::new();
    CELL.get_or_init(|| {
        SYSTEM_POLICIES
            .iter()
            .filter_map(|(name, _, doc)| Policy::parse(name, doc, PolicyKind::System).ok())
            .collect()
    })
}

/// A system policy by its exact name (or the service-linked role's name), compiled once.
pub fn system_policy(name: &str) -> Option<&'static Policy> {
    let name = ALIASES
        .iter()
        .find(|(a, _)| *a == name)
        .map_or(name, |(_, n)| *n);
    compiled().iter().find(|p| p.name() == name)
}

/// The source document and description of a system policy.
pub fn system_policy_document(name: &str) -> Option<(&'static str, &'static str)> {
    let name = ALIASES
        .iter()
        .find(|(a, _)| *a == name)
        .map_or(name, |(_, n)| *n);
    SYSTEM_POLICIES
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, d, doc)| (*d, *doc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_system_policy_compiles() {
        assert_eq!(compiled().len(), SYSTEM_POLICIES.len());
        for (name, _, _) in SYSTEM_POLICIES {
            assert!(system_policy(name).is_some(), "{name}");
        }
        assert!(system_policy("AliyunServiceRoleForPaiEas").is_some());
        assert!(system_policy("NoSuchPolicy").is_none());
    }
}
