//! Algebraic facts about evaluation, checked on random policies and requests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use keyless_policy::{evaluate, Context, Decision, Policy, PolicyKind, Request};
use proptest::prelude::*;
use serde_json::{json, Value};

const ACTIONS: &[&str] = &[
    "*",
    "oss:*",
    "oss:GetObject",
    "oss:Get*",
    "oss:PutObject",
    "oss:?etObject",
    "*:List*",
    "OSS:listobjects",
    "ram:*",
    "ram:PassRole",
    "sts:AssumeRole",
];
const REQ_ACTIONS: &[&str] = &[
    "oss:GetObject",
    "oss:PutObject",
    "oss:ListObjects",
    "ram:PassRole",
    "sts:AssumeRole",
    "odps:ListTables",
];
const RESOURCES: &[&str] = &[
    "*",
    "acs:oss:*:*:b/*",
    "acs:oss:*:1234567890123456:b/a.txt",
    "acs:oss:*:*:c/*",
    "acs:ram::*:role/*",
    "acs:ram::1234567890123456:role/r?",
    "acs:*:*:*:*",
];
const REQ_RESOURCES: &[&str] = &[
    "acs:oss:*:1234567890123456:b/a.txt",
    "acs:oss:*:1234567890123456:c/d/e",
    "acs:ram::1234567890123456:role/r1",
    "acs:odps:*:1234567890123456:projects/p/tables/t",
];

fn condition() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!({"IpAddress": {"acs:SourceIp": "10.0.0.0/8"}})),
        Just(json!({"NotIpAddress": {"acs:SourceIp": ["192.168.0.0/16", "10.1.0.0/16"]}})),
        Just(json!({"Bool": {"acs:SecureTransport": "true"}})),
        Just(json!({"StringLike": {"oss:Prefix": ["a/*", "b?"]}})),
        Just(json!({"StringNotEquals": {"sts:ExternalId": "x"}})),
        Just(json!({"DateLessThan": {"acs:CurrentTime": "2027-01-01T00:00:00Z"}})),
        Just(json!({"NumericGreaterThan": {"oss:MaxKeys": 10}})),
    ]
}

fn statement(effect: &'static str) -> impl Strategy<Value = Value> {
    (
        proptest::sample::subsequence(ACTIONS, 1..3),
        any::<bool>(),
        proptest::sample::subsequence(RESOURCES, 1..3),
        proptest::option::of(condition()),
    )
        .prop_map(move |(actions, not, resources, cond)| {
            let mut s = json!({"Effect": effect, "Resource": resources});
            s[if not { "NotAction" } else { "Action" }] = json!(actions);
            if let Some(c) = cond {
                s["Condition"] = c;
            }
            s
        })
}

fn any_statement() -> impl Strategy<Value = Value> {
    prop_oneof![3 => statement("Allow"), 1 => statement("Deny")]
}

fn policy_doc() -> impl Strategy<Value = Vec<Value>> {
    proptest::collection::vec(any_statement(), 1..5)
}

fn compile(name: &str, stmts: &[Value]) -> Policy {
    let doc = json!({"Version": "1", "Statement": stmts}).to_string();
    Policy::parse(name, &doc, PolicyKind::Custom).unwrap()
}

fn context() -> impl Strategy<Value = Context> {
    (
        proptest::option::of(prop_oneof![
            Just("10.1.2.3"),
            Just("192.168.1.1"),
            Just("::1")
        ]),
        proptest::option::of(prop_oneof![Just("true"), Just("false")]),
        proptest::collection::vec(prop_oneof![Just("a/x"), Just("bb"), Just("c")], 0..3),
        proptest::option::of(prop_oneof![Just("x"), Just("y")]),
    )
        .prop_map(|(ip, tls, prefixes, ext)| {
            let mut c = Context::new().with("acs:CurrentTime", "2026-11-28T05:00:00Z");
            if let Some(ip) = ip {
                c.insert("acs:SourceIp", ip);
            }
            if let Some(t) = tls {
                c.insert("acs:SecureTransport", t);
            }
            for p in prefixes {
                c.insert("oss:Prefix", p);
            }
            if let Some(e) = ext {
                c.insert("sts:ExternalId", e);
            }
            c
        })
}

fn decide(
    policies: &[Policy],
    session: Option<&Policy>,
    a: &str,
    r: &str,
    ctx: &Context,
) -> Decision {
    let req = Request {
        principal: None,
        action: a,
        resource: r,
        context: ctx,
    };
    evaluate(policies.iter(), session, &req).decision
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    /// A Deny statement that applies to the request decides it, whatever else is attached.
    #[test]
    fn explicit_deny_always_wins(
        policies in proptest::collection::vec(policy_doc(), 0..4),
        deny in statement("Deny"),
        a in proptest::sample::select(REQ_ACTIONS),
        r in proptest::sample::select(REQ_RESOURCES),
        ctx in context(),
    ) {
        let d = compile("deny", std::slice::from_ref(&deny));
        let applies = decide(std::slice::from_ref(&d), None, a, r, &ctx) == Decision::ExplicitDeny;
        let mut set: Vec<Policy> = policies.iter().enumerate().map(|(i, p)| compile(&format!("p{i}"), p)).collect();
        set.push(d);
        let got = decide(&set, None, a, r, &ctx);
        if applies {
            prop_assert_eq!(got, Decision::ExplicitDeny);
        }
    }

    /// Adding an Allow statement never turns Allow into a deny.
    #[test]
    fn adding_allow_keeps_allow(
        stmts in policy_doc(),
        extra in statement("Allow"),
        a in proptest::sample::select(REQ_ACTIONS),
        r in proptest::sample::select(REQ_RESOURCES),
        ctx in context(),
    ) {
        let before = decide(&[compile("p", &stmts)], None, a, r, &ctx);
        let mut more = stmts.clone();
        more.push(extra);
        let after = decide(&[compile("p", &more)], None, a, r, &ctx);
        if before == Decision::Allow {
            prop_assert_eq!(after, Decision::Allow);
        }
    }

    /// Adding a Deny statement never turns a deny into Allow.
    #[test]
    fn adding_deny_keeps_deny(
        stmts in policy_doc(),
        extra in statement("Deny"),
        a in proptest::sample::select(REQ_ACTIONS),
        r in proptest::sample::select(REQ_RESOURCES),
        ctx in context(),
    ) {
        let before = decide(&[compile("p", &stmts)], None, a, r, &ctx);
        let mut more = stmts.clone();
        more.push(extra);
        let after = decide(&[compile("p", &more)], None, a, r, &ctx);
        if before != Decision::Allow {
            prop_assert_ne!(after, Decision::Allow);
        }
    }

    /// A session policy only narrows: allowed with it implies allowed without it.
    #[test]
    fn session_policy_never_widens(
        stmts in policy_doc(),
        session in policy_doc(),
        a in proptest::sample::select(REQ_ACTIONS),
        r in proptest::sample::select(REQ_RESOURCES),
        ctx in context(),
    ) {
        let p = compile("p", &stmts);
        let s = compile("session", &session);
        let with = decide(std::slice::from_ref(&p), Some(&s), a, r, &ctx);
        if with == Decision::Allow {
            prop_assert_eq!(decide(std::slice::from_ref(&p), None, a, r, &ctx), Decision::Allow);
            prop_assert_eq!(decide(std::slice::from_ref(&s), None, a, r, &ctx), Decision::Allow);
        }
    }

    /// Policy order does not change the decision.
    #[test]
    fn order_does_not_matter(
        a_stmts in policy_doc(),
        b_stmts in policy_doc(),
        a in proptest::sample::select(REQ_ACTIONS),
        r in proptest::sample::select(REQ_RESOURCES),
        ctx in context(),
    ) {
        let pa = compile("a", &a_stmts);
        let pb = compile("b", &b_stmts);
        prop_assert_eq!(
            decide(&[pa.clone(), pb.clone()], None, a, r, &ctx),
            decide(&[pb, pa], None, a, r, &ctx)
        );
    }

    /// Arbitrary bytes never panic the parser or the evaluator.
    #[test]
    fn fuzz_entry_never_panics(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        keyless_policy::fuzz_parse_and_evaluate(&data);
    }

    /// Structured-but-wrong documents never panic either.
    #[test]
    fn mutated_documents_never_panic(stmts in policy_doc(), cut in 0usize..400, byte in any::<u8>()) {
        let mut doc = json!({"Version": "1", "Statement": stmts}).to_string().into_bytes();
        if !doc.is_empty() {
            let i = cut % doc.len();
            doc[i] = byte;
        }
        keyless_policy::fuzz_parse_and_evaluate(&doc);
    }
}
