//! The issue-2 benchmark scenario: one realistic RAM role evaluated by keyless-policy and, on a
//! hand translation of the same policies, by the `cedar-policy` crate.
//!
//! The role has AliyunOSSReadOnlyAccess plus four custom policies (19 statements in all, with
//! action and resource wildcards, five Deny statements and two conditions: `IpAddress
//! acs:SourceIp` and `Bool acs:SecureTransport`). [`CASES`] is the request mix: allowed,
//! explicitly denied and implicitly denied requests over OSS, MaxCompute, RAM, STS, EAS and ECS.
//!
//! # How the RAM policies are translated to Cedar
//!
//! * **One statement = one Cedar policy.** `Allow` → `permit`, `Deny` → `forbid`. Cedar's rule
//!   (any applicable `forbid` wins, else any `permit` allows, else deny) is RAM's rule for identity
//!   policies without a session policy, so RAM `ExplicitDeny` and `ImplicitDeny` both map to Cedar
//!   `Deny`.
//! * **Actions.** RAM actions are open-ended strings matched with wildcards, case-insensitively;
//!   Cedar actions are fixed entities without attributes. So every request uses the one Cedar
//!   action `Action::"call"` and carries the RAM action name **ASCII-lower-cased** in
//!   `context.action`; each RAM action pattern becomes `context.action like "<pattern, lower-cased>"`
//!   (a pattern without `*` is then plain equality). Several patterns are OR-ed.
//! * **Resources.** Each request's resource is an entity `Resource::"<arn>"` with an `arn` string
//!   attribute; each RAM resource pattern becomes `resource.arn like "<pattern>"` (case-sensitive,
//!   like RAM resources). `"Resource": "*"` becomes no resource constraint. A literal `*` in an
//!   ARN (the OSS region field) is matched by the pattern's `*` in both engines. Cedar `like` has
//!   no `?`; none of these policies uses one.
//! * **Conditions.** `IpAddress {"acs:SourceIp": [..]}` → `context has source_ip &&
//!   (context.source_ip.isInRange(ip("..")) || ..)` with `source_ip` an `ipaddr` extension value;
//!   `Bool {"acs:SecureTransport": "false"}` → `context has secure_transport &&
//!   context.secure_transport == false` with a Cedar boolean. The `has` guards give RAM's rule that
//!   a positive operator is false when the request lacks the key (without them Cedar would skip
//!   the policy with an evaluation error, which [`compare`] treats as a translation bug).
//! * **Principal.** Identity policies are attached to the role, so no statement constrains the
//!   principal; requests use `Role::"ml-engineer"`.

use cedar_policy as cedar;
use keyless_policy as ram;
use std::collections::BTreeSet;
use std::str::FromStr;

/// The account every custom policy and request refers to.
pub const ACCOUNT: &str = "1234567890123456";

/// The system policy of the role.
pub const SYSTEM_POLICY: &str = "AliyunOSSReadOnlyAccess";

/// The role's custom policies, `(name, document)`. `acs:...:1234567890123456:...` is [`ACCOUNT`].
pub const CUSTOM_POLICIES: [(&str, &str); 4] = [
    (
        "ml-data-oss",
        r#"{"Version":"1","Statement":[
  {"Sid":"WriteDatasetsFromVpc","Effect":"Allow",
   "Action":["oss:PutObject","oss:*MultipartUpload","oss:UploadPart"],
   "Resource":["acs:oss:*:1234567890123456:ml-data/datasets/*","acs:oss:*:1234567890123456:ml-data/checkpoints/*"],
   "Condition":{"IpAddress":{"acs:SourceIp":["10.0.0.0/8","192.168.0.0/16"]}}},
  {"Sid":"CleanScratch","Effect":"Allow","Action":"oss:DeleteObject",
   "Resource":"acs:oss:*:1234567890123456:ml-data/tmp/*"},
  {"Sid":"KeepDatasets","Effect":"Deny","Action":"oss:Delete*",
   "Resource":"acs:oss:*:*:ml-data/datasets/*"},
  {"Sid":"NoBucketConfig","Effect":"Deny","Action":["oss:PutBucket*","oss:DeleteBucket*"],
   "Resource":"acs:oss:*:*:ml-data"},
  {"Sid":"TlsOnly","Effect":"Deny","Action":"oss:*","Resource":"*",
   "Condition":{"Bool":{"acs:SecureTransport":"false"}}}
]}"#,
    ),
    (
        "ml-maxcompute",
        r#"{"Version":"1","Statement":[
  {"Effect":"Allow","Action":["odps:List*","odps:Describe*"],
   "Resource":["acs:odps:*:1234567890123456:projects/ml_prod","acs:odps:*:1234567890123456:projects/ml_prod/*"]},
  {"Effect":"Allow","Action":["odps:Select","odps:Read"],
   "Resource":"acs:odps:*:1234567890123456:projects/ml_prod/tables/feature_*"},
  {"Effect":"Allow","Action":"odps:CreateInstance",
   "Resource":"acs:odps:*:1234567890123456:projects/ml_prod/instances/*"},
  {"Effect":"Deny","Action":"odps:*","Resource":"acs:odps:*:*:projects/*/tables/pii_*"},
  {"Effect":"Deny","Action":["odps:Drop*","odps:Alter*"],"Resource":"*"}
]}"#,
    ),
    (
        "ml-ram-sts",
        r#"{"Version":"1","Statement":[
  {"Effect":"Allow","Action":"sts:AssumeRole","Resource":"acs:ram::1234567890123456:role/ml-*"},
  {"Effect":"Allow","Action":"ram:PassRole","Resource":"acs:ram::1234567890123456:role/AliyunPAI*"},
  {"Effect":"Allow","Action":["ram:Get*","ram:List*"],"Resource":"acs:ram::1234567890123456:role/*"},
  {"Effect":"Deny","Action":["ram:Create*","ram:Delete*","ram:Attach*","ram:Update*"],"Resource":"*"},
  {"Effect":"Deny","Action":"sts:AssumeRole","Resource":"acs:ram::*:role/ml-admin*"}
]}"#,
    ),
    (
        "ml-eas",
        r#"{"Version":"1","Statement":[
  {"Effect":"Allow","Action":["eas:Describe*","eas:List*"],"Resource":"*"},
  {"Effect":"Allow","Action":"eas:*Service","Resource":"acs:eas:cn-hangzhou:1234567890123456:service/ml-*"},
  {"Effect":"Deny","Action":"eas:DeleteService","Resource":"acs:eas:*:*:service/ml-prod-*"}
]}"#,
    ),
];

/// The same 19 statements in Cedar, in the same order (see the crate docs for the rules).
pub const CEDAR_POLICIES: &str = r#"
// AliyunOSSReadOnlyAccess #0: Allow oss:Get*, oss:List* on *
@id("AliyunOSSReadOnlyAccess/0")
permit (principal, action == Action::"call", resource)
when { context.action like "oss:get*" || context.action like "oss:list*" };

// ml-data-oss #0: Allow oss:PutObject, oss:*MultipartUpload, oss:UploadPart on two prefixes,
// IpAddress acs:SourceIp [10.0.0.0/8, 192.168.0.0/16]
@id("ml-data-oss/0")
permit (principal, action == Action::"call", resource)
when {
  (context.action like "oss:putobject" ||
   context.action like "oss:*multipartupload" ||
   context.action like "oss:uploadpart") &&
  (resource.arn like "acs:oss:*:1234567890123456:ml-data/datasets/*" ||
   resource.arn like "acs:oss:*:1234567890123456:ml-data/checkpoints/*") &&
  context has source_ip &&
  (context.source_ip.isInRange(ip("10.0.0.0/8")) ||
   context.source_ip.isInRange(ip("192.168.0.0/16")))
};

// ml-data-oss #1: Allow oss:DeleteObject on ml-data/tmp/*
@id("ml-data-oss/1")
permit (principal, action == Action::"call", resource)
when {
  context.action like "oss:deleteobject" &&
  resource.arn like "acs:oss:*:1234567890123456:ml-data/tmp/*"
};

// ml-data-oss #2: Deny oss:Delete* on any account's ml-data/datasets/*
@id("ml-data-oss/2")
forbid (principal, action == Action::"call", resource)
when {
  context.action like "oss:delete*" &&
  resource.arn like "acs:oss:*:*:ml-data/datasets/*"
};

// ml-data-oss #3: Deny oss:PutBucket*, oss:DeleteBucket* on the bucket itself
@id("ml-data-oss/3")
forbid (principal, action == Action::"call", resource)
when {
  (context.action like "oss:putbucket*" || context.action like "oss:deletebucket*") &&
  resource.arn like "acs:oss:*:*:ml-data"
};

// ml-data-oss #4: Deny oss:* on *, Bool acs:SecureTransport false
@id("ml-data-oss/4")
forbid (principal, action == Action::"call", resource)
when {
  context.action like "oss:*" &&
  context has secure_transport && context.secure_transport == false
};

// ml-maxcompute #0: Allow odps:List*, odps:Describe* on the project and everything in it
@id("ml-maxcompute/0")
permit (principal, action == Action::"call", resource)
when {
  (context.action like "odps:list*" || context.action like "odps:describe*") &&
  (resource.arn like "acs:odps:*:1234567890123456:projects/ml_prod" ||
   resource.arn like "acs:odps:*:1234567890123456:projects/ml_prod/*")
};

// ml-maxcompute #1: Allow odps:Select, odps:Read on feature_* tables
@id("ml-maxcompute/1")
permit (principal, action == Action::"call", resource)
when {
  (context.action like "odps:select" || context.action like "odps:read") &&
  resource.arn like "acs:odps:*:1234567890123456:projects/ml_prod/tables/feature_*"
};

// ml-maxcompute #2: Allow odps:CreateInstance on the project's instances
@id("ml-maxcompute/2")
permit (principal, action == Action::"call", resource)
when {
  context.action like "odps:createinstance" &&
  resource.arn like "acs:odps:*:1234567890123456:projects/ml_prod/instances/*"
};

// ml-maxcompute #3: Deny odps:* on pii_* tables of any project
@id("ml-maxcompute/3")
forbid (principal, action == Action::"call", resource)
when {
  context.action like "odps:*" &&
  resource.arn like "acs:odps:*:*:projects/*/tables/pii_*"
};

// ml-maxcompute #4: Deny odps:Drop*, odps:Alter* on *
@id("ml-maxcompute/4")
forbid (principal, action == Action::"call", resource)
when { context.action like "odps:drop*" || context.action like "odps:alter*" };

// ml-ram-sts #0: Allow sts:AssumeRole on role/ml-*
@id("ml-ram-sts/0")
permit (principal, action == Action::"call", resource)
when {
  context.action like "sts:assumerole" &&
  resource.arn like "acs:ram::1234567890123456:role/ml-*"
};

// ml-ram-sts #1: Allow ram:PassRole on role/AliyunPAI*
@id("ml-ram-sts/1")
permit (principal, action == Action::"call", resource)
when {
  context.action like "ram:passrole" &&
  resource.arn like "acs:ram::1234567890123456:role/AliyunPAI*"
};

// ml-ram-sts #2: Allow ram:Get*, ram:List* on role/*
@id("ml-ram-sts/2")
permit (principal, action == Action::"call", resource)
when {
  (context.action like "ram:get*" || context.action like "ram:list*") &&
  resource.arn like "acs:ram::1234567890123456:role/*"
};

// ml-ram-sts #3: Deny ram:Create*, ram:Delete*, ram:Attach*, ram:Update* on *
@id("ml-ram-sts/3")
forbid (principal, action == Action::"call", resource)
when {
  context.action like "ram:create*" || context.action like "ram:delete*" ||
  context.action like "ram:attach*" || context.action like "ram:update*"
};

// ml-ram-sts #4: Deny sts:AssumeRole on role/ml-admin* of any account
@id("ml-ram-sts/4")
forbid (principal, action == Action::"call", resource)
when {
  context.action like "sts:assumerole" &&
  resource.arn like "acs:ram::*:role/ml-admin*"
};

// ml-eas #0: Allow eas:Describe*, eas:List* on *
@id("ml-eas/0")
permit (principal, action == Action::"call", resource)
when { context.action like "eas:describe*" || context.action like "eas:list*" };

// ml-eas #1: Allow eas:*Service on cn-hangzhou services ml-*
@id("ml-eas/1")
permit (principal, action == Action::"call", resource)
when {
  context.action like "eas:*service" &&
  resource.arn like "acs:eas:cn-hangzhou:1234567890123456:service/ml-*"
};

// ml-eas #2: Deny eas:DeleteService on services ml-prod-* anywhere
@id("ml-eas/2")
forbid (principal, action == Action::"call", resource)
when {
  context.action like "eas:deleteservice" &&
  resource.arn like "acs:eas:*:*:service/ml-prod-*"
};
"#;

/// One request of the mix and the decision keyless is expected to reach.
#[derive(Clone, Copy, Debug)]
pub struct Case {
    pub action: &'static str,
    pub resource: &'static str,
    /// `acs:SourceIp` (absent when `None`).
    pub source_ip: Option<&'static str>,
    /// `acs:SecureTransport` (absent when `None`).
    pub secure_transport: Option<bool>,
    pub expected: ram::Decision,
}

const VPC_IP: &str = "10.20.30.40";

const fn case(action: &'static str, resource: &'static str, expected: ram::Decision) -> Case {
    Case {
        action,
        resource,
        source_ip: Some(VPC_IP),
        secure_transport: Some(true),
        expected,
    }
}

const fn with_ip(c: Case, ip: Option<&'static str>) -> Case {
    Case { source_ip: ip, ..c }
}

const fn insecure(c: Case) -> Case {
    Case {
        secure_transport: Some(false),
        ..c
    }
}

use ram::Decision::{Allow, ExplicitDeny, ImplicitDeny};

/// The request mix: 22 requests, 10 allowed, 8 explicitly and 4 implicitly denied.
pub const CASES: [Case; 22] = [
    // AliyunOSSReadOnlyAccess
    case(
        "oss:GetObject",
        "acs:oss:*:1234567890123456:ml-data/datasets/train.csv",
        Allow,
    ),
    // IpAddress condition: both ranges, the multipart glob, outside the ranges, key missing
    case(
        "oss:PutObject",
        "acs:oss:*:1234567890123456:ml-data/datasets/part-00001.parquet",
        Allow,
    ),
    with_ip(
        case(
            "oss:CompleteMultipartUpload",
            "acs:oss:*:1234567890123456:ml-data/checkpoints/epoch-12.pt",
            Allow,
        ),
        Some("192.168.1.5"),
    ),
    with_ip(
        case(
            "oss:PutObject",
            "acs:oss:*:1234567890123456:ml-data/datasets/part-00002.parquet",
            ImplicitDeny,
        ),
        Some("203.0.113.7"),
    ),
    with_ip(
        case(
            "oss:UploadPart",
            "acs:oss:*:1234567890123456:ml-data/checkpoints/epoch-13.pt",
            ImplicitDeny,
        ),
        None,
    ),
    case(
        "oss:DeleteObject",
        "acs:oss:*:1234567890123456:ml-data/tmp/scratch.bin",
        Allow,
    ),
    case(
        "oss:DeleteObject",
        "acs:oss:*:1234567890123456:ml-data/datasets/train.csv",
        ExplicitDeny,
    ),
    // Bool condition: a read that OSSReadOnly allows, denied over plain HTTP
    insecure(case(
        "oss:GetObject",
        "acs:oss:*:1234567890123456:ml-data/datasets/train.csv",
        ExplicitDeny,
    )),
    case(
        "oss:PutBucketLifecycle",
        "acs:oss:*:1234567890123456:ml-data",
        ExplicitDeny,
    ),
    // MaxCompute
    case(
        "odps:Select",
        "acs:odps:*:1234567890123456:projects/ml_prod/tables/feature_user_daily",
        Allow,
    ),
    case(
        "odps:Select",
        "acs:odps:*:1234567890123456:projects/ml_prod/tables/pii_users",
        ExplicitDeny,
    ),
    case(
        "odps:CreateInstance",
        "acs:odps:*:1234567890123456:projects/ml_prod/instances/20261128a",
        Allow,
    ),
    case(
        "odps:Drop",
        "acs:odps:*:1234567890123456:projects/ml_prod/tables/feature_user_daily",
        ExplicitDeny,
    ),
    case(
        "odps:Select",
        "acs:odps:*:1234567890123456:projects/finance/tables/ledger",
        ImplicitDeny,
    ),
    // STS and RAM (one action in odd case: RAM actions are case-insensitive)
    case(
        "sts:AssumeRole",
        "acs:ram::1234567890123456:role/ml-training",
        Allow,
    ),
    case(
        "sts:AssumeRole",
        "acs:ram::1234567890123456:role/ml-admin",
        ExplicitDeny,
    ),
    case(
        "ram:PassRole",
        "acs:ram::1234567890123456:role/AliyunPAIDefaultRole",
        Allow,
    ),
    case(
        "RAM:getrole",
        "acs:ram::1234567890123456:role/ml-training",
        Allow,
    ),
    case(
        "ram:CreateUser",
        "acs:ram::1234567890123456:user/bob",
        ExplicitDeny,
    ),
    // EAS and a service the role has nothing for
    case(
        "eas:UpdateService",
        "acs:eas:cn-hangzhou:1234567890123456:service/ml-ranker",
        Allow,
    ),
    case(
        "eas:DeleteService",
        "acs:eas:cn-hangzhou:1234567890123456:service/ml-prod-ranker",
        ExplicitDeny,
    ),
    case(
        "ecs:DescribeInstances",
        "acs:ecs:cn-hangzhou:1234567890123456:instance/i-bp1abc",
        ImplicitDeny,
    ),
];

/// The keyless side: compiled policies and each case's condition-key context.
pub struct Keyless {
    pub policies: Vec<ram::Policy>,
    pub contexts: Vec<ram::Context>,
}

impl Keyless {
    /// Parses the policies and builds the contexts (setup, not measured).
    pub fn new() -> Result<Keyless, String> {
        let system = ram::system_policy(SYSTEM_POLICY)
            .ok_or_else(|| format!("no system policy {SYSTEM_POLICY}"))?;
        let mut policies = vec![system.clone()];
        for (name, doc) in CUSTOM_POLICIES {
            let p = ram::Policy::parse(name, doc, ram::PolicyKind::Custom)
                .map_err(|e| format!("{name}: {e}"))?;
            policies.push(p);
        }
        let contexts = CASES
            .iter()
            .map(|c| {
                let mut ctx = ram::Context::new();
                if let Some(ip) = c.source_ip {
                    ctx.insert("acs:SourceIp", ip);
                }
                if let Some(b) = c.secure_transport {
                    ctx.insert("acs:SecureTransport", b.to_string());
                }
                ctx
            })
            .collect();
        Ok(Keyless { policies, contexts })
    }

    /// Total number of statements across the role's policies.
    pub fn statement_count(&self) -> usize {
        self.policies.iter().map(|p| p.statement_count()).sum()
    }

    /// The decision for case `i` (the measured operation).
    pub fn decide(&self, i: usize) -> ram::Decision {
        let c = &CASES[i];
        let req = ram::Request {
            principal: None,
            action: c.action,
            resource: c.resource,
            context: &self.contexts[i],
        };
        ram::evaluate(&self.policies, None, &req).decision
    }
}

/// The Cedar side: the translated policy set, the entities and one prebuilt request per case.
pub struct Cedar {
    pub authorizer: cedar::Authorizer,
    pub policies: cedar::PolicySet,
    pub entities: cedar::Entities,
    pub requests: Vec<cedar::Request>,
}

const PRINCIPAL: &str = "ml-engineer";

impl Cedar {
    /// Parses the policy set and builds entities and requests (setup, not measured).
    pub fn new() -> Result<Cedar, String> {
        let policies = cedar::PolicySet::from_str(CEDAR_POLICIES).map_err(|e| e.to_string())?;
        let arns: BTreeSet<&str> = CASES.iter().map(|c| c.resource).collect();
        let mut entities = vec![serde_json::json!({
            "uid": {"type": "Role", "id": PRINCIPAL}, "attrs": {}, "parents": []
        })];
        entities.extend(arns.iter().map(|arn| {
            serde_json::json!({
                "uid": {"type": "Resource", "id": arn}, "attrs": {"arn": arn}, "parents": []
            })
        }));
        let entities = cedar::Entities::from_json_value(serde_json::Value::Array(entities), None)
            .map_err(|e| e.to_string())?;
        let principal = uid("Role", PRINCIPAL)?;
        let action = uid("Action", "call")?;
        let mut requests = Vec::with_capacity(CASES.len());
        for c in &CASES {
            let mut ctx = serde_json::Map::new();
            ctx.insert("action".into(), c.action.to_ascii_lowercase().into());
            if let Some(ip) = c.source_ip {
                ctx.insert(
                    "source_ip".into(),
                    serde_json::json!({"__extn": {"fn": "ip", "arg": ip}}),
                );
            }
            if let Some(b) = c.secure_transport {
                ctx.insert("secure_transport".into(), b.into());
            }
            let context = cedar::Context::from_json_value(serde_json::Value::Object(ctx), None)
                .map_err(|e| e.to_string())?;
            let req = cedar::Request::new(
                principal.clone(),
                action.clone(),
                uid("Resource", c.resource)?,
                context,
                None,
            )
            .map_err(|e| e.to_string())?;
            requests.push(req);
        }
        Ok(Cedar {
            authorizer: cedar::Authorizer::new(),
            policies,
            entities,
            requests,
        })
    }

    /// The full response for case `i` (the measured operation is `is_authorized`).
    pub fn response(&self, i: usize) -> cedar::Response {
        self.authorizer
            .is_authorized(&self.requests[i], &self.policies, &self.entities)
    }

    /// The decision for case `i`.
    pub fn decide(&self, i: usize) -> cedar::Decision {
        self.response(i).decision()
    }
}

fn uid(ty: &str, id: &str) -> Result<cedar::EntityUid, String> {
    let ty = cedar::EntityTypeName::from_str(ty).map_err(|e| e.to_string())?;
    Ok(cedar::EntityUid::from_type_name_and_id(
        ty,
        cedar::EntityId::new(id),
    ))
}

/// Both engines' decision on one case.
#[derive(Clone, Copy, Debug)]
pub struct Outcome {
    pub case: Case,
    pub keyless: ram::Decision,
    pub cedar: cedar::Decision,
}

impl Outcome {
    /// Allow vs Deny agree (RAM's explicit and implicit deny are both Cedar `Deny`).
    pub fn agree(&self) -> bool {
        (self.keyless == ram::Decision::Allow) == (self.cedar == cedar::Decision::Allow)
    }
}

/// Runs both engines over every case. Fails if Cedar reports an evaluation error (a sign of a
/// bad translation: Cedar skips an erroring policy, RAM has no such notion).
pub fn compare(k: &Keyless, c: &Cedar) -> Result<Vec<Outcome>, String> {
    let mut out = Vec::with_capacity(CASES.len());
    for (i, case) in CASES.iter().enumerate() {
        let resp = c.response(i);
        if let Some(err) = resp.diagnostics().errors().next() {
            return Err(format!(
                "cedar error on {} {}: {err}",
                case.action, case.resource
            ));
        }
        out.push(Outcome {
            case: *case,
            keyless: k.decide(i),
            cedar: resp.decision(),
        });
    }
    Ok(out)
}

/// Checks that the engines agree on every case and that keyless reaches each expected decision.
pub fn check_agreement(outcomes: &[Outcome]) -> Result<(), String> {
    let mut problems = Vec::new();
    for o in outcomes {
        if !o.agree() {
            problems.push(format!(
                "{} {}: keyless {:?}, cedar {:?}",
                o.case.action, o.case.resource, o.keyless, o.cedar
            ));
        }
        if o.keyless != o.case.expected {
            problems.push(format!(
                "{} {}: keyless {:?}, expected {:?}",
                o.case.action, o.case.resource, o.keyless, o.case.expected
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_agree_on_every_request() {
        let k = Keyless::new().unwrap();
        let c = Cedar::new().unwrap();
        let outcomes = compare(&k, &c).unwrap();
        check_agreement(&outcomes).unwrap();
        assert_eq!(outcomes.len(), CASES.len());
    }

    #[test]
    fn scenario_shape() {
        let k = Keyless::new().unwrap();
        assert_eq!(k.policies.len(), 5);
        assert_eq!(k.statement_count(), 19);
        let c = Cedar::new().unwrap();
        assert_eq!(c.policies.policies().count(), 19);
        for d in [Allow, ExplicitDeny, ImplicitDeny] {
            assert!(
                CASES.iter().filter(|c| c.expected == d).count() >= 3,
                "{d:?}"
            );
        }
    }

    /// The `forbid`s do real work: without them, the explicit denies that some statement also
    /// allows (plain-HTTP read, `ml-admin` assume, DeleteObject on datasets is not among them)
    /// turn into allows, while implicit denies stay denied.
    #[test]
    fn forbids_do_the_denying() {
        let c = Cedar::new().unwrap();
        let permits = cedar::PolicySet::from_policies(
            c.policies
                .policies()
                .filter(|p| p.effect() == cedar::Effect::Permit)
                .cloned(),
        )
        .unwrap();
        let a = cedar::Authorizer::new();
        let mut unblocked = 0;
        for (i, case) in CASES.iter().enumerate() {
            let d = a
                .is_authorized(&c.requests[i], &permits, &c.entities)
                .decision();
            if case.expected == ExplicitDeny && d == cedar::Decision::Allow {
                unblocked += 1;
            }
            if case.expected == ImplicitDeny {
                assert_eq!(d, cedar::Decision::Deny, "{case:?}");
            }
        }
        assert!(unblocked >= 2, "{unblocked}");
    }
}
