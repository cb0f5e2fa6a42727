//! `keyless policy validate|eval`.

use crate::args::{EvalArgs, KindArg, PolicyCommand, ValidateArgs};
use anyhow::{bail, Context as _};
use keyless_policy::{
    evaluate, evaluate_trust, system_policy, Context, Decision, Policy, PolicyKind, Principal,
    Request,
};
use std::process::ExitCode;

pub fn run(cmd: PolicyCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        PolicyCommand::Validate(a) => validate(a),
        PolicyCommand::Eval(a) => eval(a),
    }
}

fn detect_kind(text: &str, kind: KindArg) -> PolicyKind {
    match kind {
        KindArg::Custom => PolicyKind::Custom,
        KindArg::Session => PolicyKind::Session,
        KindArg::Trust => PolicyKind::Trust,
        KindArg::Auto => {
            let has_principal = serde_json::from_str::<serde_json::Value>(text)
                .ok()
                .and_then(|v| v.get("Statement").cloned())
                .map(|s| match s {
                    serde_json::Value::Array(a) => a.iter().any(|st| st.get("Principal").is_some()),
                    st => st.get("Principal").is_some(),
                })
                .unwrap_or(false);
            if has_principal {
                PolicyKind::Trust
            } else {
                PolicyKind::Custom
            }
        }
    }
}

fn validate(a: ValidateArgs) -> anyhow::Result<ExitCode> {
    let mut bad = false;
    for f in &a.files {
        let shown = f.display();
        let text = match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) => {
                println!("{shown}: cannot read: {e}");
                bad = true;
                continue;
            }
        };
        let kind = detect_kind(&text, a.kind);
        match Policy::parse(&shown.to_string(), &text, kind) {
            Ok(p) => println!(
                "{shown}: valid {} policy, {} statement(s)",
                kind_name(kind),
                p.statement_count()
            ),
            Err(e) => {
                bad = true;
                for p in &e.problems {
                    println!("{shown}: {p}");
                }
            }
        }
    }
    Ok(ExitCode::from(if bad { 2 } else { 0 }))
}

fn kind_name(k: PolicyKind) -> &'static str {
    match k {
        PolicyKind::Custom => "custom",
        PolicyKind::Session => "session",
        PolicyKind::Trust => "trust",
        PolicyKind::System => "system",
    }
}

/// Loads `SRC` (a file or `system:<Name>`) as `kind`; validation problems go to stderr.
fn load(src: &str, kind: PolicyKind) -> anyhow::Result<Policy> {
    if let Some(name) = src.strip_prefix("system:") {
        return system_policy(name)
            .cloned()
            .with_context(|| format!("no system policy named `{name}`"));
    }
    let text = std::fs::read_to_string(src).with_context(|| format!("cannot read `{src}`"))?;
    match Policy::parse(src, &text, kind) {
        Ok(p) => Ok(p),
        Err(e) => {
            for p in &e.problems {
                eprintln!("{src}: {p}");
            }
            bail!(
                "`{src}` is not a valid policy ({} problem(s))",
                e.problems.len()
            )
        }
    }
}

fn eval(a: EvalArgs) -> anyhow::Result<ExitCode> {
    let kind = if a.trust {
        PolicyKind::Trust
    } else {
        PolicyKind::Custom
    };
    let policies = a
        .policies
        .iter()
        .map(|s| load(s, kind))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let session = a
        .session_policy
        .as_deref()
        .map(|s| load(s, PolicyKind::Session))
        .transpose()?;
    let principal = a.principal.as_deref().map(Principal::parse).transpose()?;
    if a.trust && principal.is_none() {
        bail!("`--trust` needs `--principal`");
    }
    if a.trust && session.is_some() {
        bail!("`--session-policy` does not apply to trust evaluation");
    }
    let mut ctx = Context::new();
    for kv in &a.context {
        let Some((k, v)) = kv.split_once('=') else {
            bail!("`--context {kv}` must be KEY=VALUE");
        };
        if k.is_empty() {
            bail!("`--context {kv}` has an empty key");
        }
        ctx.insert(k, v);
    }
    if !ctx.contains("acs:CurrentTime") {
        ctx.insert("acs:CurrentTime", now_iso8601());
    }
    let req = Request {
        principal: principal.as_ref(),
        action: &a.action,
        resource: &a.resource,
        context: &ctx,
    };
    let ev = if a.trust {
        evaluate_trust(policies.iter(), &req)
    } else {
        evaluate(policies.iter(), session.as_ref(), &req)
    };
    if a.json {
        let matched: Vec<_> = ev
            .matched
            .iter()
            .map(|m| serde_json::json!({"policy": m.policy, "statement": m.statement, "effect": m.effect.as_str()}))
            .collect();
        println!(
            "{}",
            serde_json::json!({"decision": ev.decision.as_str(), "matched": matched})
        );
    } else {
        println!("{}: {}", ev.decision.as_str(), ev.reason.describe());
        for m in &ev.matched {
            println!(
                "  {} statement {} ({})",
                m.policy,
                m.statement,
                m.effect.as_str()
            );
        }
    }
    Ok(ExitCode::from(if ev.decision == Decision::Allow {
        0
    } else {
        1
    }))
}

/// The wall clock as `YYYY-MM-DDTHH:MM:SSZ` (the shell supplies time; the engine never reads it).
fn now_iso8601() -> String {
    use keyless_time::Clock as _;
    keyless_token::format_expiration(keyless_time::SystemClock.now())
}
