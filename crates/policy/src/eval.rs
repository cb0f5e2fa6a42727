//! Evaluation: a request against compiled policies → a [`Decision`] and the statements behind it.

use crate::document::{ActionSet, Effect, Policy, PrincipalEntry, Statement};
use crate::pattern::Case;
use std::fmt;

/// Who is making the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// An account's root identity (`acs:ram::<uid>:root`).
    Account { account_id: String },
    /// A RAM user (`acs:ram::<uid>:user/<name>`).
    User { account_id: String, name: String },
    /// A role itself (`acs:ram::<uid>:role/<name>`), e.g. a role chaining into another.
    Role { account_id: String, name: String },
    /// A role session (`acs:ram::<uid>:assumed-role/<role>/<session>`).
    AssumedRole {
        account_id: String,
        role: String,
        session: String,
    },
    /// A cloud service (`eas.pai.aliyuncs.com`).
    Service { name: String },
    /// A federated identity provider ARN.
    Federated { arn: String },
}

/// A principal string that could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadPrincipal(pub String);

impl fmt::Display for BadPrincipal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not a principal: use `acs:ram::<uid>:user/<name>`, `acs:ram::<uid>:role/<name>`, \
             `acs:ram::<uid>:assumed-role/<role>/<session>`, `acs:ram::<uid>:root`, `service:<name>` \
             or `federated:<arn>`",
            self.0
        )
    }
}

impl std::error::Error for BadPrincipal {}

impl Principal {
    /// Parses the CLI form of a principal (see [`BadPrincipal`] for the accepted shapes).
    pub fn parse(s: &str) -> Result<Principal, BadPrincipal> {
        let bad = || BadPrincipal(s.to_owned());
        if let Some(name) = s.strip_prefix("service:") {
            if name.is_empty() {
                return Err(bad());
            }
            return Ok(Principal::Service {
                name: name.to_owned(),
            });
        }
        if let Some(arn) = s.strip_prefix("federated:") {
            if arn.is_empty() {
                return Err(bad());
            }
            return Ok(Principal::Federated {
                arn: arn.to_owned(),
            });
        }
        let rest = s.strip_prefix("acs:ram::").ok_or_else(bad)?;
        let (account, rel) = rest.split_once(':').ok_or_else(bad)?;
        if account.is_empty() || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let account_id = account.to_owned();
        if rel == "root" {
            return Ok(Principal::Account { account_id });
        }
        if let Some(name) = rel
            .strip_prefix("user/")
            .filter(|n| !n.is_empty() && !n.contains('/'))
        {
            return Ok(Principal::User {
                account_id,
                name: name.to_owned(),
            });
        }
        if let Some(name) = rel
            .strip_prefix("role/")
            .filter(|n| !n.is_empty() && !n.contains('/'))
        {
            return Ok(Principal::Role {
                account_id,
                name: name.to_owned(),
            });
        }
        if let Some(rs) = rel.strip_prefix("assumed-role/") {
            if let Some((role, session)) = rs.split_once('/') {
                if !role.is_empty() && !session.is_empty() && !session.contains('/') {
                    return Ok(Principal::AssumedRole {
                        account_id,
                        role: role.to_owned(),
                        session: session.to_owned(),
                    });
                }
            }
        }
        Err(bad())
    }

    /// The principal's ARN (`service:`/`federated:` forms for non-RAM principals).
    pub fn arn(&self) -> String {
        match self {
            Principal::Account { account_id } => format!("acs:ram::{account_id}:root"),
            Principal::User { account_id, name } => format!("acs:ram::{account_id}:user/{name}"),
            Principal::Role { account_id, name } => format!("acs:ram::{account_id}:role/{name}"),
            Principal::AssumedRole {
                account_id,
                role,
                session,
            } => {
                format!("acs:ram::{account_id}:assumed-role/{role}/{session}")
            }
            Principal::Service { name } => format!("service:{name}"),
            Principal::Federated { arn } => format!("federated:{arn}"),
        }
    }

    /// The account the principal belongs to, if it is a RAM principal.
    pub fn account_id(&self) -> Option<&str> {
        match self {
            Principal::Account { account_id }
            | Principal::User { account_id, .. }
            | Principal::Role { account_id, .. }
            | Principal::AssumedRole { account_id, .. } => Some(account_id),
            Principal::Service { .. } | Principal::Federated { .. } => None,
        }
    }

    fn matched_by(&self, e: &PrincipalEntry) -> bool {
        match (e, self) {
            (PrincipalEntry::AnyRam, p) => p.account_id().is_some(),
            (PrincipalEntry::Account(a), p) => p.account_id() == Some(a.as_ref()),
            (
                PrincipalEntry::User { account, name },
                Principal::User {
                    account_id,
                    name: n,
                },
            ) => account.as_ref() == account_id && name.as_ref() == n,
            (
                PrincipalEntry::Role { account, name },
                Principal::Role {
                    account_id,
                    name: n,
                }
                | Principal::AssumedRole {
                    account_id,
                    role: n,
                    ..
                },
            ) => account.as_ref() == account_id && name.as_ref() == n,
            (PrincipalEntry::Service(s), Principal::Service { name }) => {
                s.as_ref().eq_ignore_ascii_case(name)
            }
            (PrincipalEntry::Federated(a), Principal::Federated { arn }) => a.as_ref() == arn,
            _ => false,
        }
    }
}

/// Request context: condition keys (case-insensitive names) with one or more values each.
#[derive(Clone, Debug, Default)]
pub struct Context {
    entries: Vec<(String, Vec<String>)>,
}

impl Context {
    /// An empty context.
    pub fn new() -> Context {
        Context::default()
    }

    /// Adds a value to `key` (a repeated key becomes multi-valued).
    pub fn insert(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        let k = key.to_ascii_lowercase();
        match self.entries.iter_mut().find(|(ek, _)| *ek == k) {
            Some((_, vals)) => vals.push(value.into()),
            None => self.entries.push((k, vec![value.into()])),
        }
        self
    }

    /// Builder form of [`Context::insert`].
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.insert(key, value);
        self
    }

    /// Whether `key` is present.
    pub fn contains(&self, key: &str) -> bool {
        self.get_lower(&key.to_ascii_lowercase()).is_some()
    }

    fn get_lower(&self, lower: &str) -> Option<&[String]> {
        self.entries
            .iter()
            .find(|(k, _)| k == lower)
            .map(|(_, v)| v.as_slice())
    }
}

/// One access request.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// Who asks (required for trust evaluation; permission policies ignore it).
    pub principal: Option<&'a Principal>,
    /// `<service>:<Action>`.
    pub action: &'a str,
    /// The target resource ARN.
    pub resource: &'a str,
    /// Condition keys.
    pub context: &'a Context,
}

/// The outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Decision {
    Allow,
    ExplicitDeny,
    ImplicitDeny,
}

impl Decision {
    /// `"Allow"`, `"ExplicitDeny"` or `"ImplicitDeny"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "Allow",
            Decision::ExplicitDeny => "ExplicitDeny",
            Decision::ImplicitDeny => "ImplicitDeny",
        }
    }
}

/// A statement that took part in the decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matched {
    /// The policy's name (as given at parse time).
    pub policy: String,
    /// 0-based index into the policy's `Statement` array.
    pub statement: usize,
    pub effect: Effect,
}

/// Why the decision came out as it did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// At least one statement allows and none denies (and the session policy, if any, allows).
    Allowed,
    /// A Deny statement matched (the matched list names every one).
    DeniedByStatement,
    /// No statement of the identity (or trust) policies allows the request.
    NoAllowingStatement,
    /// The identity policies allow it, but the session policy does not.
    SessionPolicyDoesNotAllow,
}

impl Reason {
    /// A short human explanation.
    pub fn describe(self) -> &'static str {
        match self {
            Reason::Allowed => "allowed by the matched statements",
            Reason::DeniedByStatement => "explicitly denied by the matched statements",
            Reason::NoAllowingStatement => "no statement allows the request",
            Reason::SessionPolicyDoesNotAllow => {
                "the identity policies allow the request but the session policy does not"
            }
        }
    }
}

/// The decision and the statements behind it: for `Allow`, every allowing statement (identity
/// and session); for `ExplicitDeny`, every matching Deny; for `ImplicitDeny`, none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evaluation {
    pub decision: Decision,
    pub reason: Reason,
    pub matched: Vec<Matched>,
}

impl Evaluation {
    /// Whether the request is allowed.
    pub fn is_allowed(&self) -> bool {
        self.decision == Decision::Allow
    }
}

struct Tally {
    allows: Vec<Matched>,
    denies: Vec<Matched>,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            allows: Vec::new(),
            denies: Vec::new(),
        }
    }

    fn scan(&mut self, policy: &Policy, req: &Request<'_>, trust: bool) {
        for (i, st) in policy.statements.iter().enumerate() {
            if statement_applies(st, req, trust) {
                let m = Matched {
                    policy: policy.name.clone(),
                    statement: i,
                    effect: st.effect,
                };
                match st.effect {
                    Effect::Allow => self.allows.push(m),
                    Effect::Deny => self.denies.push(m),
                }
            }
        }
    }
}

fn statement_applies(st: &Statement, req: &Request<'_>, trust: bool) -> bool {
    let action_ok = match &st.actions {
        ActionSet::Action(ps) => ps.iter().any(|p| p.matches(req.action, Case::Insensitive)),
        ActionSet::NotAction(ps) => !ps.iter().any(|p| p.matches(req.action, Case::Insensitive)),
    };
    if !action_ok {
        return false;
    }
    match &st.resources {
        Some(rs) => {
            if !rs.iter().any(|p| p.matches(req.resource, Case::Sensitive)) {
                return false;
            }
        }
        // A statement without `Resource` only exists in trust policies, where it covers the role.
        None if trust => {}
        None => return false,
    }
    if trust {
        let Some(principal) = req.principal else {
            return false;
        };
        match &st.principals {
            Some(entries) if entries.iter().any(|e| principal.matched_by(e)) => {}
            _ => return false,
        }
    }
    st.conditions
        .iter()
        .all(|c| c.holds(req.context.get_lower(&c.key)))
}

/// Evaluates a request against identity policies and an optional session policy.
///
/// Order (reference "Evaluation"): any matching Deny in any of them → `ExplicitDeny`; otherwise
/// the identity policies must allow, and so must the session policy when there is one.
pub fn evaluate<'p, I>(identity: I, session: Option<&Policy>, req: &Request<'_>) -> Evaluation
where
    I: IntoIterator<Item = &'p Policy>,
{
    let mut t = Tally::new();
    for p in identity {
        t.scan(p, req, false);
    }
    let mut s = Tally::new();
    if let Some(sp) = session {
        s.scan(sp, req, false);
    }
    decide(t, Some(s).filter(|_| session.is_some()))
}

/// Evaluates a request as a trust-policy check: `req.principal` must be named by a statement's
/// `Principal` (an account's `root` admits its users and roles), the action (normally
/// `sts:AssumeRole`) must match, and the conditions (e.g. `sts:ExternalId`) must hold.
pub fn evaluate_trust<'p, I>(trust: I, req: &Request<'_>) -> Evaluation
where
    I: IntoIterator<Item = &'p Policy>,
{
    let mut t = Tally::new();
    for p in trust {
        t.scan(p, req, true);
    }
    decide(t, None)
}

fn decide(mut identity: Tally, session: Option<Tally>) -> Evaluation {
    let mut denies = std::mem::take(&mut identity.denies);
    if let Some(s) = &session {
        denies.extend(s.denies.iter().cloned());
    }
    if !denies.is_empty() {
        return Evaluation {
            decision: Decision::ExplicitDeny,
            reason: Reason::DeniedByStatement,
            matched: denies,
        };
    }
    if identity.allows.is_empty() {
        return Evaluation {
            decision: Decision::ImplicitDeny,
            reason: Reason::NoAllowingStatement,
            matched: Vec::new(),
        };
    }
    let mut allows = identity.allows;
    if let Some(s) = session {
        if s.allows.is_empty() {
            return Evaluation {
                decision: Decision::ImplicitDeny,
                reason: Reason::SessionPolicyDoesNotAllow,
                matched: Vec::new(),
            };
        }
        allows.extend(s.allows);
    }
    Evaluation {
        decision: Decision::Allow,
        reason: Reason::Allowed,
        matched: allows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::PolicyKind;

    fn pol(name: &str, text: &str) -> Policy {
        Policy::parse(name, text, PolicyKind::Custom).unwrap()
    }

    fn trust(text: &str) -> Policy {
        Policy::parse("trust", text, PolicyKind::Trust).unwrap()
    }

    fn req<'a>(action: &'a str, resource: &'a str, ctx: &'a Context) -> Request<'a> {
        Request {
            principal: None,
            action,
            resource,
            context: ctx,
        }
    }

    #[test]
    fn deny_wins_and_reports_statements() {
        let a = pol(
            "a",
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:*","Resource":"*"}]}"#,
        );
        let d = pol(
            "d",
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"ecs:*","Resource":"*"},{"Effect":"Deny","Action":"oss:PutObject","Resource":"acs:oss:*:*:b/*"}]}"#,
        );
        let ctx = Context::new();
        let e = evaluate(
            [&a, &d],
            None,
            &req("oss:PutObject", "acs:oss:*:1:b/k", &ctx),
        );
        assert_eq!(e.decision, Decision::ExplicitDeny);
        assert_eq!(
            e.matched,
            vec![Matched {
                policy: "d".into(),
                statement: 1,
                effect: Effect::Deny
            }]
        );
        let e = evaluate(
            [&a, &d],
            None,
            &req("OSS:getobject", "acs:oss:*:1:b/k", &ctx),
        );
        assert_eq!(e.decision, Decision::Allow);
        let e = evaluate(
            [&a, &d],
            None,
            &req("ram:GetRole", "acs:ram::1:role/r", &ctx),
        );
        assert_eq!(e.decision, Decision::ImplicitDeny);
    }

    #[test]
    fn session_policy_is_a_gate() {
        let a = pol(
            "a",
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:*","Resource":"*"}]}"#,
        );
        let s = Policy::parse("session", r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:Get*","Resource":"acs:oss:*:*:b/*"}]}"#, PolicyKind::Session).unwrap();
        let ctx = Context::new();
        assert!(evaluate(
            [&a],
            Some(&s),
            &req("oss:GetObject", "acs:oss:*:1:b/x", &ctx)
        )
        .is_allowed());
        let e = evaluate(
            [&a],
            Some(&s),
            &req("oss:PutObject", "acs:oss:*:1:b/x", &ctx),
        );
        assert_eq!(e.reason, Reason::SessionPolicyDoesNotAllow);
        let e = evaluate(
            std::iter::empty(),
            Some(&s),
            &req("oss:GetObject", "acs:oss:*:1:b/x", &ctx),
        );
        assert_eq!(e.reason, Reason::NoAllowingStatement);
    }

    #[test]
    fn trust_principals() {
        let t = trust(
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":["acs:ram::123:root"],"Service":["eas.pai.aliyuncs.com"]}}]}"#,
        );
        let ctx = Context::new();
        let check = |p: &str| {
            let pr = Principal::parse(p).unwrap();
            let r = Request {
                principal: Some(&pr),
                action: "sts:AssumeRole",
                resource: "acs:ram::123:role/r",
                context: &ctx,
            };
            evaluate_trust([&t], &r).decision
        };
        assert_eq!(check("acs:ram::123:user/alice"), Decision::Allow);
        assert_eq!(check("acs:ram::123:assumed-role/r2/s"), Decision::Allow);
        assert_eq!(check("acs:ram::999:user/alice"), Decision::ImplicitDeny);
        assert_eq!(check("service:eas.pai.aliyuncs.com"), Decision::Allow);
        assert_eq!(check("service:ecs.aliyuncs.com"), Decision::ImplicitDeny);
    }

    #[test]
    fn principal_cli_forms() {
        for s in [
            "acs:ram::1:root",
            "acs:ram::1:user/a",
            "acs:ram::1:role/r",
            "acs:ram::1:assumed-role/r/s",
            "service:eas.pai.aliyuncs.com",
            "federated:acs:ram::1:oidc-provider/x",
        ] {
            assert_eq!(Principal::parse(s).unwrap().arn(), s);
        }
        for s in [
            "",
            "acs:ram::x:root",
            "acs:ram::1:group/g",
            "acs:ram::1:assumed-role/r",
            "service:",
            "arn:aws:iam::1:root",
        ] {
            assert!(Principal::parse(s).is_err(), "{s}");
        }
    }
}
