//! Data-driven decision corpus: every `tests/corpus/*.json` file holds policies and the cases that
//! run against them. Format (see `tests/corpus/README.md`):
//!
//! ```json
//! {"description": "...",
//!  "policies": [{"name": "p", "document": {..} | "raw text"} | "system:AliyunOSSReadOnlyAccess"],
//!  "session_policy": {..} | "raw text",            // optional
//!  "trust": false,                                 // optional: evaluate as trust policies
//!  "cases": [{"name": "...",
//!             "request": {"principal": "acs:ram::1:user/a", "action": "oss:GetObject",
//!                         "resource": "acs:oss:*:1:b/k", "context": {"acs:SourceIp": "1.2.3.4" | ["a","b"]}},
//!             "decision": "Allow" | "ExplicitDeny" | "ImplicitDeny",
//!             "matched": [{"policy": "p", "statement": 0, "effect": "Allow"}]}]}
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use keyless_policy::{
    evaluate, evaluate_trust, system_policy, Context, Policy, PolicyKind, Principal, Request,
};
use serde_json::Value;
use std::path::Path;

fn doc_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn load_policy(v: &Value, kind: PolicyKind, file: &str) -> Policy {
    match v {
        Value::String(s) if s.starts_with("system:") => system_policy(&s["system:".len()..])
            .unwrap_or_else(|| panic!("{file}: unknown system policy {s}"))
            .clone(),
        Value::Object(o) if o.contains_key("document") => {
            let name = o.get("name").and_then(Value::as_str).unwrap_or("policy");
            Policy::parse(name, &doc_text(&o["document"]), kind)
                .unwrap_or_else(|e| panic!("{file}: policy {name} invalid: {e}"))
        }
        other => panic!("{file}: bad policy entry {other}"),
    }
}

#[test]
fn corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut total = 0;
    let mut failures = Vec::new();
    for path in &files {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let trust = v.get("trust").and_then(Value::as_bool).unwrap_or(false);
        let kind = if trust {
            PolicyKind::Trust
        } else {
            PolicyKind::Custom
        };
        let policies: Vec<Policy> = v["policies"]
            .as_array()
            .unwrap_or_else(|| panic!("{file}: `policies` must be an array"))
            .iter()
            .map(|p| load_policy(p, kind, &file))
            .collect();
        let session = v.get("session_policy").map(|s| match s {
            Value::Object(o) if o.contains_key("document") => {
                load_policy(s, PolicyKind::Session, &file)
            }
            other => Policy::parse("session", &doc_text(other), PolicyKind::Session)
                .unwrap_or_else(|e| panic!("{file}: session policy invalid: {e}")),
        });
        let cases = v["cases"]
            .as_array()
            .unwrap_or_else(|| panic!("{file}: `cases` missing"));
        assert!(!cases.is_empty(), "{file}: no cases");
        for (i, c) in cases.iter().enumerate() {
            total += 1;
            let label = format!(
                "{file} case {i} ({})",
                c.get("name").and_then(Value::as_str).unwrap_or("")
            );
            let r = &c["request"];
            let principal = r
                .get("principal")
                .and_then(Value::as_str)
                .map(|p| Principal::parse(p).unwrap_or_else(|e| panic!("{label}: {e}")));
            let mut ctx = Context::new();
            if let Some(Value::Object(m)) = r.get("context") {
                for (k, val) in m {
                    match val {
                        Value::Array(a) => {
                            for x in a {
                                ctx.insert(
                                    k,
                                    x.as_str().unwrap_or_else(|| {
                                        panic!("{label}: context values are strings")
                                    }),
                                );
                            }
                        }
                        Value::String(s) => {
                            ctx.insert(k, s.as_str());
                        }
                        other => panic!("{label}: bad context value {other}"),
                    }
                }
            }
            let req = Request {
                principal: principal.as_ref(),
                action: r["action"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{label}: action")),
                resource: r.get("resource").and_then(Value::as_str).unwrap_or("*"),
                context: &ctx,
            };
            let got = if trust {
                evaluate_trust(policies.iter(), &req)
            } else {
                evaluate(policies.iter(), session.as_ref(), &req)
            };
            let want = c["decision"]
                .as_str()
                .unwrap_or_else(|| panic!("{label}: decision"));
            if got.decision.as_str() != want {
                failures.push(format!(
                    "{label}: expected {want}, got {} ({:?})",
                    got.decision.as_str(),
                    got.reason
                ));
                continue;
            }
            if let Some(m) = c.get("matched") {
                let got_m: Vec<Value> = got
                    .matched
                    .iter()
                    .map(|m| serde_json::json!({"policy": m.policy, "statement": m.statement, "effect": m.effect.as_str()}))
                    .collect();
                if &Value::Array(got_m.clone()) != m {
                    failures.push(format!(
                        "{label}: matched {m} expected, got {}",
                        Value::Array(got_m)
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} corpus cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        total >= 150,
        "the corpus must hold at least 150 cases, found {total}"
    );
}
