//! The RAM policy language: parse, validate, compile and evaluate.
//!
//! Owns: the typed form of permission, session and trust policies ([`Policy`]), their validation
//! (every problem listed with its JSON path), the built-in system policies, and the decision
//! procedure ([`evaluate`], [`evaluate_trust`]) that every access check in keyless goes through.
//! A decision always says which statements made it ([`Evaluation::matched`]) and why.
//!
//! Must not: do I/O, read the clock (callers put `acs:CurrentTime` into the [`Context`]), be
//! async, or panic on any input. A document that fails validation grants nothing because it never
//! becomes a [`Policy`].
//!
//! ```
//! use keyless_policy::{evaluate, Context, Decision, Policy, PolicyKind, Request};
//! let p = Policy::parse("read", r#"{"Version":"1","Statement":[{"Effect":"Allow",
//!     "Action":["oss:Get*","oss:List*"],"Resource":"*"}]}"#, PolicyKind::Custom).unwrap();
//! let ctx = Context::new();
//! let req = Request { principal: None, action: "oss:GetObject",
//!     resource: "acs:oss:*:1234567890123456:bucket/key", context: &ctx };
//! assert_eq!(evaluate([&p], None, &req).decision, Decision::Allow);
//! ```

mod condition;
mod document;
mod eval;
mod pattern;
mod system;

pub use condition::{parse_date, string_like, Operator};
pub use document::{Effect, InvalidPolicy, Policy, PolicyKind, Problem};
pub use eval::{
    evaluate, evaluate_trust, BadPrincipal, Context, Decision, Evaluation, Matched, Principal,
    Reason, Request,
};
pub use system::{
    system_policy, system_policy_document, PAI_EAS_SERVICE_ROLE_POLICY, SYSTEM_POLICIES,
};

/// Fuzz entry point: parse arbitrary bytes as every kind of policy and evaluate whatever parses
/// against a fixed set of requests. Must never panic.
#[doc(hidden)]
pub fn fuzz_parse_and_evaluate(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let ctx = Context::new()
        .with("acs:SourceIp", "10.1.2.3")
        .with("acs:CurrentTime", "2026-11-28T05:00:00Z")
        .with("acs:SecureTransport", "true")
        .with("sts:ExternalId", "abc");
    let principal = Principal::User {
        account_id: "1234567890123456".into(),
        name: "alice".into(),
    };
    for kind in [PolicyKind::Custom, PolicyKind::Session, PolicyKind::Trust] {
        if let Ok(p) = Policy::parse("fuzz", text, kind) {
            for (action, resource) in [
                ("oss:GetObject", "acs:oss:*:1234567890123456:bucket/a/b"),
                ("sts:AssumeRole", "acs:ram::1234567890123456:role/r"),
                ("ram:PassRole", text),
            ] {
                let req = Request {
                    principal: Some(&principal),
                    action,
                    resource,
                    context: &ctx,
                };
                let _ = evaluate([&p], Some(&p), &req);
                let _ = evaluate_trust([&p], &req);
            }
        }
    }
}
