//! Parsing and validation: policy JSON text → a compiled [`Policy`], or every problem found.

use crate::condition::{compile_values, Clause, Operator};
use crate::pattern::Pattern;
use serde_json::{Map, Value};
use std::fmt;

/// What kind of document is being parsed; decides size limits and where `Principal` belongs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyKind {
    /// A custom permission policy (≤ 6144 characters).
    Custom,
    /// A session policy passed to AssumeRole (≤ 2048 characters).
    Session,
    /// A role's trust policy (`AssumeRolePolicyDocument`): every statement names a `Principal`.
    Trust,
    /// A built-in system policy (no size limit).
    System,
}

impl PolicyKind {
    /// Maximum document length in characters, if any.
    ///
    /// The reference gives 6144 for custom and 2048 for session policies; it is silent on trust
    /// policies, for which keyless applies the custom-policy limit.
    pub fn max_chars(self) -> Option<usize> {
        match self {
            PolicyKind::Custom | PolicyKind::Trust => Some(6144),
            PolicyKind::Session => Some(2048),
            PolicyKind::System => None,
        }
    }
}

/// Allow or Deny.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Effect {
    Allow,
    Deny,
}

impl Effect {
    /// `"Allow"` or `"Deny"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        }
    }
}

/// One validation problem: where (a JSON path such as `Statement[1].Action[0]`) and which rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// JSON path of the offending element (`$` for the whole document).
    pub path: String,
    /// The rule broken, lower-case, user input in backticks.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// A document that failed validation: every problem found, in document order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidPolicy {
    pub problems: Vec<Problem>,
}

impl fmt::Display for InvalidPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for InvalidPolicy {}

/// The `Action` or `NotAction` element.
#[derive(Clone, Debug)]
pub(crate) enum ActionSet {
    Action(Vec<Pattern>),
    NotAction(Vec<Pattern>),
}

/// One entry of a `Principal` element, compiled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PrincipalEntry {
    /// `"RAM": "*"`.
    AnyRam,
    /// `acs:ram::<uid>:root` (or a bare account id).
    Account(Box<str>),
    /// `acs:ram::<uid>:user/<name>`.
    User { account: Box<str>, name: Box<str> },
    /// `acs:ram::<uid>:role/<name>`.
    Role { account: Box<str>, name: Box<str> },
    /// A cloud service, lower-cased (`eas.pai.aliyuncs.com`).
    Service(Box<str>),
    /// A SAML or OIDC provider ARN.
    Federated(Box<str>),
}

/// A compiled statement.
#[derive(Clone, Debug)]
pub(crate) struct Statement {
    pub(crate) effect: Effect,
    pub(crate) actions: ActionSet,
    /// `None` when the statement has no `Resource` (trust policies).
    pub(crate) resources: Option<Vec<Pattern>>,
    pub(crate) principals: Option<Vec<PrincipalEntry>>,
    pub(crate) conditions: Vec<Clause>,
}

/// A parsed, validated and compiled policy document. Cheap to evaluate, immutable, `Send + Sync`.
#[derive(Clone, Debug)]
pub struct Policy {
    pub(crate) name: String,
    pub(crate) kind: PolicyKind,
    pub(crate) statements: Vec<Statement>,
}

impl Policy {
    /// Parses `text` as a policy of `kind`, named `name` in decisions.
    pub fn parse(name: &str, text: &str, kind: PolicyKind) -> Result<Policy, InvalidPolicy> {
        let mut p = Problems::default();
        if let Some(max) = kind.max_chars() {
            let n = text.chars().count();
            if n > max {
                p.push(
                    "$",
                    format!("document is {n} characters, over the limit of {max}"),
                );
                return Err(InvalidPolicy { problems: p.0 });
            }
        }
        let value: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                p.push(
                    "$",
                    format!(
                        "not valid JSON: {} at line {} column {}",
                        category(&e),
                        e.line(),
                        e.column()
                    ),
                );
                return Err(InvalidPolicy { problems: p.0 });
            }
        };
        let statements = parse_document(&value, kind, &mut p);
        if p.0.is_empty() {
            Ok(Policy {
                name: name.to_owned(),
                kind,
                statements,
            })
        } else {
            Err(InvalidPolicy { problems: p.0 })
        }
    }

    /// The name decisions report.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The kind it was parsed as.
    pub fn kind(&self) -> PolicyKind {
        self.kind
    }

    /// Number of statements.
    pub fn statement_count(&self) -> usize {
        self.statements.len()
    }

    /// The effect of statement `i`.
    pub fn statement_effect(&self, i: usize) -> Option<Effect> {
        self.statements.get(i).map(|s| s.effect)
    }

    /// The same compiled policy under another name.
    pub fn renamed(mut self, name: &str) -> Policy {
        self.name = name.to_owned();
        self
    }
}

fn category(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Io => "i/o error",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "data error",
        serde_json::error::Category::Eof => "unexpected end of input",
    }
}

#[derive(Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        // Bounded: a hostile document cannot make the problem list unbounded.
        if self.0.len() < 100 {
            self.0.push(Problem {
                path: path.into(),
                message: message.into(),
            });
        }
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn parse_document(v: &Value, kind: PolicyKind, p: &mut Problems) -> Vec<Statement> {
    let Some(obj) = v.as_object() else {
        p.push(
            "$",
            format!("document must be a JSON object, found {}", type_name(v)),
        );
        return Vec::new();
    };
    // Problems are reported in document order.
    let mut out = Vec::new();
    for (k, v) in obj {
        match k.as_str() {
            "Version" => match v {
                Value::String(s) if s == "1" => {}
                Value::String(s) => {
                    p.push("$.Version", format!("`Version` must be \"1\", found `{s}`"))
                }
                other => p.push(
                    "$.Version",
                    format!(
                        "`Version` must be the string \"1\", found {}",
                        type_name(other)
                    ),
                ),
            },
            "Statement" => match v {
                Value::Array(a) => {
                    if a.is_empty() {
                        p.push("$.Statement", "`Statement` must not be empty");
                    }
                    for (i, s) in a.iter().enumerate() {
                        if let Some(st) = parse_statement(&format!("$.Statement[{i}]"), s, kind, p)
                        {
                            out.push(st);
                        }
                    }
                }
                o @ Value::Object(_) => {
                    if let Some(st) = parse_statement("$.Statement", o, kind, p) {
                        out.push(st);
                    }
                }
                other => p.push(
                    "$.Statement",
                    format!(
                        "`Statement` must be an array of objects, found {}",
                        type_name(other)
                    ),
                ),
            },
            _ => p.push(format!("$.{k}"), format!("unknown element `{k}`")),
        }
    }
    if !obj.contains_key("Version") {
        p.push("$.Version", "`Version` is required");
    }
    if !obj.contains_key("Statement") {
        p.push("$.Statement", "`Statement` is required");
    }
    out
}

const STATEMENT_KEYS: [&str; 7] = [
    "Sid",
    "Effect",
    "Action",
    "NotAction",
    "Resource",
    "Condition",
    "Principal",
];

fn parse_statement(path: &str, v: &Value, kind: PolicyKind, p: &mut Problems) -> Option<Statement> {
    let Some(obj) = v.as_object() else {
        p.push(
            path,
            format!("a statement must be an object, found {}", type_name(v)),
        );
        return None;
    };
    let before = p.0.len();
    for k in obj.keys() {
        if !STATEMENT_KEYS.contains(&k.as_str()) {
            let hint = match k.as_str() {
                "NotResource" | "NotPrincipal" => " (not supported by RAM)",
                _ => "",
            };
            p.push(
                format!("{path}.{k}"),
                format!("unknown element `{k}`{hint}"),
            );
        }
    }
    if let Some(sid) = obj.get("Sid") {
        if !sid.is_string() {
            p.push(
                format!("{path}.Sid"),
                format!("`Sid` must be a string, found {}", type_name(sid)),
            );
        }
    }
    let effect = match obj.get("Effect") {
        None => {
            p.push(format!("{path}.Effect"), "`Effect` is required");
            None
        }
        Some(Value::String(s)) if s == "Allow" => Some(Effect::Allow),
        Some(Value::String(s)) if s == "Deny" => Some(Effect::Deny),
        Some(Value::String(s)) => {
            p.push(
                format!("{path}.Effect"),
                format!("unknown `Effect` `{s}`: use \"Allow\" or \"Deny\""),
            );
            None
        }
        Some(other) => {
            p.push(
                format!("{path}.Effect"),
                format!("`Effect` must be a string, found {}", type_name(other)),
            );
            None
        }
    };
    let actions = match (obj.get("Action"), obj.get("NotAction")) {
        (Some(_), Some(_)) => {
            p.push(
                path,
                "a statement has either `Action` or `NotAction`, not both",
            );
            None
        }
        (None, None) => {
            p.push(
                format!("{path}.Action"),
                "`Action` or `NotAction` is required",
            );
            None
        }
        (Some(a), None) => string_list(&format!("{path}.Action"), "Action", a, p, check_action)
            .map(ActionSet::Action),
        (None, Some(a)) => string_list(
            &format!("{path}.NotAction"),
            "NotAction",
            a,
            p,
            check_action,
        )
        .map(ActionSet::NotAction),
    };
    let resources = match obj.get("Resource") {
        None if kind == PolicyKind::Trust => None,
        None => {
            p.push(format!("{path}.Resource"), "`Resource` is required");
            None
        }
        Some(r) => string_list(
            &format!("{path}.Resource"),
            "Resource",
            r,
            p,
            check_resource,
        ),
    };
    let principals = match obj.get("Principal") {
        None if kind == PolicyKind::Trust => {
            p.push(
                format!("{path}.Principal"),
                "`Principal` is required in a trust policy",
            );
            None
        }
        None => None,
        Some(_) if kind != PolicyKind::Trust => {
            p.push(
                format!("{path}.Principal"),
                "`Principal` is only allowed in trust policies",
            );
            None
        }
        Some(pr) => parse_principal(&format!("{path}.Principal"), pr, p),
    };
    let conditions = match obj.get("Condition") {
        None => Vec::new(),
        Some(c) => parse_condition(&format!("{path}.Condition"), c, p),
    };
    if p.0.len() != before {
        return None;
    }
    Some(Statement {
        effect: effect?,
        actions: actions?,
        resources: if kind == PolicyKind::Trust && obj.get("Resource").is_none() {
            None
        } else {
            Some(resources?)
        },
        principals,
        conditions,
    })
}

fn check_action(s: &str) -> Option<String> {
    if s == "*" {
        return None;
    }
    match s.split_once(':') {
        Some((svc, act)) if !svc.is_empty() && !act.is_empty() && !act.contains(':') => {
            if svc
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'*' || b == b'?')
                && act
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"*?_-.".contains(&b))
            {
                None
            } else {
                Some(format!(
                    "action `{s}` has characters not allowed in an action"
                ))
            }
        }
        _ => Some(format!("action `{s}` must be `<service>:<action>` or `*`")),
    }
}

fn check_resource(s: &str) -> Option<String> {
    if s.chars().any(char::is_control) {
        Some("resource contains a control character".to_owned())
    } else {
        None
    }
}

/// A string or a non-empty list of non-empty strings, each checked by `check`.
fn string_list(
    path: &str,
    what: &str,
    v: &Value,
    p: &mut Problems,
    check: fn(&str) -> Option<String>,
) -> Option<Vec<Pattern>> {
    let items: Vec<(String, &Value)> = match v {
        Value::Array(a) => {
            if a.is_empty() {
                p.push(path, format!("`{what}` must not be empty"));
                return None;
            }
            a.iter()
                .enumerate()
                .map(|(i, x)| (format!("{path}[{i}]"), x))
                .collect()
        }
        other => vec![(path.to_owned(), other)],
    };
    let before = p.0.len();
    let mut out = Vec::with_capacity(items.len());
    for (ip, item) in items {
        match item {
            Value::String(s) if s.is_empty() => {
                p.push(ip, format!("an empty string is not a valid {what} value"))
            }
            Value::String(s) => match check(s) {
                Some(msg) => p.push(ip, msg),
                None => out.push(Pattern::compile(s)),
            },
            other => p.push(
                ip,
                format!(
                    "`{what}` values must be strings, found {}",
                    type_name(other)
                ),
            ),
        }
    }
    (p.0.len() == before).then_some(out)
}

fn parse_principal(path: &str, v: &Value, p: &mut Problems) -> Option<Vec<PrincipalEntry>> {
    let Some(obj) = v.as_object() else {
        p.push(
            path,
            format!(
                "`Principal` must be an object with `RAM`, `Service` or `Federated`, found {}",
                type_name(v)
            ),
        );
        return None;
    };
    if obj.is_empty() {
        p.push(path, "`Principal` must not be empty");
        return None;
    }
    let before = p.0.len();
    let mut out = Vec::new();
    for (k, val) in obj {
        let kp = format!("{path}.{k}");
        let items: Vec<(String, &Value)> = match val {
            Value::Array(a) if a.is_empty() => {
                p.push(&kp, format!("`{k}` must not be empty"));
                continue;
            }
            Value::Array(a) => a
                .iter()
                .enumerate()
                .map(|(i, x)| (format!("{kp}[{i}]"), x))
                .collect(),
            other => vec![(kp.clone(), other)],
        };
        for (ip, item) in items {
            let Value::String(s) = item else {
                p.push(
                    ip,
                    format!(
                        "principal values must be strings, found {}",
                        type_name(item)
                    ),
                );
                continue;
            };
            let entry = match k.as_str() {
                "RAM" => parse_ram_principal(s),
                "Service" => {
                    if s.is_empty() || s.contains(char::is_whitespace) {
                        Err(format!("`{s}` is not a service name"))
                    } else {
                        Ok(PrincipalEntry::Service(s.to_ascii_lowercase().into()))
                    }
                }
                "Federated" => {
                    if s.starts_with("acs:ram::")
                        && (s.contains(":saml-provider/") || s.contains(":oidc-provider/"))
                    {
                        Ok(PrincipalEntry::Federated(s.as_str().into()))
                    } else {
                        Err(format!("`{s}` is not a SAML or OIDC provider ARN"))
                    }
                }
                _ => Err(format!(
                    "unknown principal type `{k}`: use `RAM`, `Service` or `Federated`"
                )),
            };
            match entry {
                Ok(e) => out.push(e),
                Err(m) => p.push(ip, m),
            }
        }
    }
    (p.0.len() == before).then_some(out)
}

fn is_account_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_digit())
}

fn parse_ram_principal(s: &str) -> Result<PrincipalEntry, String> {
    if s == "*" {
        return Ok(PrincipalEntry::AnyRam);
    }
    if is_account_id(s) {
        return Ok(PrincipalEntry::Account(s.into()));
    }
    let bad = || {
        format!("`{s}` is not a RAM principal (`acs:ram::<uid>:root`, `…:user/<name>`, `…:role/<name>`)")
    };
    let rest = s.strip_prefix("acs:ram::").ok_or_else(bad)?;
    let (account, rel) = rest.split_once(':').ok_or_else(bad)?;
    if !is_account_id(account) {
        return Err(bad());
    }
    if rel == "root" {
        return Ok(PrincipalEntry::Account(account.into()));
    }
    if let Some(name) = rel.strip_prefix("user/") {
        if !name.is_empty() {
            return Ok(PrincipalEntry::User {
                account: account.into(),
                name: name.into(),
            });
        }
    }
    if let Some(name) = rel.strip_prefix("role/") {
        if !name.is_empty() {
            return Ok(PrincipalEntry::Role {
                account: account.into(),
                name: name.into(),
            });
        }
    }
    Err(bad())
}

fn parse_condition(path: &str, v: &Value, p: &mut Problems) -> Vec<Clause> {
    let Some(obj) = v.as_object() else {
        p.push(
            path,
            format!("`Condition` must be an object, found {}", type_name(v)),
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for (op_name, block) in obj {
        let op_path = format!("{path}.{op_name}");
        let Some(op) = Operator::from_name(op_name) else {
            p.push(&op_path, format!("unknown condition operator `{op_name}`"));
            continue;
        };
        let Some(keys) = block.as_object() else {
            p.push(
                &op_path,
                format!(
                    "an operator's block must be an object of keys, found {}",
                    type_name(block)
                ),
            );
            continue;
        };
        if keys.is_empty() {
            p.push(&op_path, "an operator's block must name at least one key");
        }
        parse_keys(&op_path, op, keys, p, &mut out);
    }
    out
}

fn parse_keys(
    op_path: &str,
    op: Operator,
    keys: &Map<String, Value>,
    p: &mut Problems,
    out: &mut Vec<Clause>,
) {
    for (key, vals) in keys {
        let kp = format!("{op_path}.{key}");
        if key.is_empty() || key.len() > 256 {
            p.push(&kp, "a condition key must be 1 to 256 characters");
            continue;
        }
        let items: Vec<(String, &Value)> = match vals {
            Value::Array(a) if a.is_empty() => {
                p.push(&kp, "a condition key needs at least one value");
                continue;
            }
            Value::Array(a) => a
                .iter()
                .enumerate()
                .map(|(i, x)| (format!("{kp}[{i}]"), x))
                .collect(),
            other => vec![(kp.clone(), other)],
        };
        let mut raw = Vec::with_capacity(items.len());
        let mut ok = true;
        for (ip, item) in &items {
            match item {
                Value::String(s) => raw.push(s.clone()),
                Value::Number(n) => raw.push(n.to_string()),
                Value::Bool(b) => raw.push(b.to_string()),
                other => {
                    ok = false;
                    p.push(
                        ip,
                        format!(
                            "condition values must be strings, numbers or booleans, found {}",
                            type_name(other)
                        ),
                    );
                }
            }
        }
        if !ok {
            continue;
        }
        match compile_values(op, &raw) {
            Ok(values) => out.push(Clause {
                op,
                key: key.to_ascii_lowercase().into(),
                values,
            }),
            Err(bad) => {
                for (i, m) in bad {
                    let path = items.get(i).map_or(kp.as_str(), |(ip, _)| ip.as_str());
                    p.push(path, format!("{m} (operator `{}`)", op.name()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str, kind: PolicyKind) -> Vec<String> {
        match Policy::parse("t", text, kind) {
            Ok(_) => vec![],
            Err(e) => e.problems.iter().map(|p| p.to_string()).collect(),
        }
    }

    #[test]
    fn accepts_a_plain_policy() {
        let p = Policy::parse(
            "p",
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":["oss:Get*","oss:List*"],"Resource":"*"}]}"#,
            PolicyKind::Custom,
        )
        .unwrap();
        assert_eq!(p.statement_count(), 1);
    }

    #[test]
    fn lists_every_problem_with_its_path() {
        let got = problems(
            r#"{"Version":"2","Statement":[{"Effect":"Permit","Action":[],"Resource":[1],"Condition":{"StringEqualz":{"a":"b"}}}]}"#,
            PolicyKind::Custom,
        );
        assert_eq!(got.len(), 5, "{got:?}");
        assert!(got[0].starts_with("$.Version: "));
        assert!(got
            .iter()
            .any(|g| g.starts_with("$.Statement[0].Effect: unknown `Effect` `Permit`")));
        assert!(got
            .iter()
            .any(|g| g.starts_with("$.Statement[0].Action: `Action` must not be empty")));
        assert!(got.iter().any(
            |g| g.starts_with("$.Statement[0].Resource[0]: `Resource` values must be strings")
        ));
        assert!(got
            .iter()
            .any(|g| g.contains("unknown condition operator `StringEqualz`")));
    }

    #[test]
    fn size_limits() {
        let pad = " ".repeat(2100);
        let doc = format!(
            r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"*","Resource":"*"}}]}}{pad}"#
        );
        assert!(problems(&doc, PolicyKind::Custom).is_empty());
        let got = problems(&doc, PolicyKind::Session);
        assert!(got[0].contains("over the limit of 2048"), "{got:?}");
    }

    #[test]
    fn principal_rules() {
        let trust_no_principal =
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}"#;
        assert!(
            problems(trust_no_principal, PolicyKind::Trust)[0].contains("`Principal` is required")
        );
        let perm_with_principal = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*","Principal":{"RAM":"*"}}]}"#;
        assert!(
            problems(perm_with_principal, PolicyKind::Custom)[0].contains("only allowed in trust")
        );
        let bad = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":["acs:ram::x:root"],"Cloud":"a"}}]}"#;
        let got = problems(bad, PolicyKind::Trust);
        assert_eq!(got.len(), 2, "{got:?}");
    }

    #[test]
    fn bad_condition_values() {
        let doc = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"DateLessThan":{"acs:CurrentTime":"yesterday"},"IpAddress":{"acs:SourceIp":["10.0.0.0/8","300.1.1.1"]},"Bool":{"acs:SecureTransport":"yes"},"NumericEquals":{"k":{"x":1}}}}]}"#;
        let got = problems(doc, PolicyKind::Custom);
        assert_eq!(got.len(), 4, "{got:?}");
    }

    #[test]
    fn invalid_json_is_one_problem() {
        let got = problems("{\"Version\":", PolicyKind::Custom);
        assert_eq!(got.len(), 1);
        assert!(got[0].starts_with("$: not valid JSON"));
    }
}
