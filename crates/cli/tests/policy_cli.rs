//! `keyless policy validate|eval`: the exact interface other tools depend on.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;

fn keyless(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_keyless"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("keyless-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p: PathBuf = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

const OSS_IP: &str = r#"{"Version":"1","Statement":[
 {"Effect":"Allow","Action":["oss:Get*","oss:List*"],"Resource":"acs:oss:*:*:bkt/*",
  "Condition":{"IpAddress":{"acs:SourceIp":["10.0.0.0/8","2001:db8::/32"]}}},
 {"Effect":"Deny","Action":"oss:GetObject","Resource":"acs:oss:*:*:bkt/secret/*"}]}"#;

#[test]
fn validate_exit_codes_and_problems() {
    let good = write("good.json", OSS_IP);
    let bad = write(
        "bad.json",
        r#"{"Version":"2","Statement":[{"Effect":"Permit","Action":[],"Resource":"*"}]}"#,
    );
    let (code, out, _) = keyless(&["policy", "validate", &good]);
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = keyless(&["policy", "validate", &good, &bad]);
    assert_eq!(code, 2);
    assert!(out.contains("$.Version:"), "{out}");
    assert!(
        out.contains("$.Statement[0].Effect: unknown `Effect` `Permit`"),
        "{out}"
    );
    assert!(
        out.contains("$.Statement[0].Action: `Action` must not be empty"),
        "{out}"
    );
    let (code, _, _) = keyless(&["policy", "validate", "/nonexistent/x.json"]);
    assert_eq!(code, 2);
}

#[test]
fn eval_json_output_and_exit_codes() {
    let p = write("oss-ip.json", OSS_IP);
    let (code, out, _) = keyless(&[
        "policy",
        "eval",
        "--policy",
        &p,
        "--action",
        "oss:GetObject",
        "--resource",
        "acs:oss:*:1234567890123456:bkt/a.txt",
        "--context",
        "acs:SourceIp=10.2.3.4",
        "--json",
    ]);
    assert_eq!(code, 0);
    assert_eq!(
        out.trim(),
        format!(
            r#"{{"decision":"Allow","matched":[{{"policy":"{p}","statement":0,"effect":"Allow"}}]}}"#
        )
    );
    let (code, out, _) = keyless(&[
        "policy",
        "eval",
        "--policy",
        &p,
        "--action",
        "OSS:GETOBJECT",
        "--resource",
        "acs:oss:*:1234567890123456:bkt/secret/k",
        "--context",
        "acs:SourceIp=10.2.3.4",
        "--json",
    ]);
    assert_eq!(code, 1);
    assert!(
        out.contains(r#""decision":"ExplicitDeny""#)
            && out.contains(r#""statement":1,"effect":"Deny""#),
        "{out}"
    );
    // Source IP outside every range, and a missing key: implicit deny.
    for ctx in [&["--context", "acs:SourceIp=192.168.1.1"][..], &[][..]] {
        let mut args = vec![
            "policy",
            "eval",
            "--policy",
            &p,
            "--action",
            "oss:ListObjects",
            "--resource",
            "acs:oss:*:1:bkt/x",
            "--json",
        ];
        args.extend_from_slice(ctx);
        let (code, out, _) = keyless(&args);
        assert_eq!(code, 1);
        assert_eq!(out.trim(), r#"{"decision":"ImplicitDeny","matched":[]}"#);
    }
    // A repeated key is multi-valued (OR): one value in range suffices.
    let (code, _, _) = keyless(&[
        "policy",
        "eval",
        "--policy",
        &p,
        "--action",
        "oss:ListObjects",
        "--resource",
        "acs:oss:*:1:bkt/x",
        "--context",
        "acs:SourceIp=192.168.1.1",
        "--context",
        "acs:SourceIp=2001:db8::7",
    ]);
    assert_eq!(code, 0);
}

#[test]
fn eval_system_and_session_policies() {
    let session = write(
        "session.json",
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:*","Resource":"acs:oss:*:*:bkt/public/*"}]}"#,
    );
    let run = |res: &str, action: &str| {
        keyless(&[
            "policy",
            "eval",
            "--policy",
            "system:AliyunOSSReadOnlyAccess",
            "--session-policy",
            &session,
            "--action",
            action,
            "--resource",
            res,
            "--json",
        ])
    };
    let (code, out, _) = run("acs:oss:*:1:bkt/public/a", "oss:GetObject");
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(r#"{"policy":"AliyunOSSReadOnlyAccess","statement":0,"effect":"Allow"}"#),
        "{out}"
    );
    assert_eq!(run("acs:oss:*:1:bkt/private/a", "oss:GetObject").0, 1);
    assert_eq!(run("acs:oss:*:1:bkt/public/a", "oss:PutObject").0, 1);
    let (code, _, err) = keyless(&[
        "policy",
        "eval",
        "--policy",
        "system:NoSuch",
        "--action",
        "a:b",
        "--resource",
        "*",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("NoSuch"));
}

#[test]
fn eval_trust_policies() {
    let t = write(
        "trust.json",
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole",
      "Principal":{"RAM":["acs:ram::1234567890123456:root"],"Service":["eas.pai.aliyuncs.com"]},
      "Condition":{"StringEquals":{"sts:ExternalId":"abc"}}}]}"#,
    );
    let run = |principal: &str, ext: Option<&str>| {
        let mut args = vec![
            "policy",
            "eval",
            "--trust",
            "--policy",
            &t,
            "--principal",
            principal,
            "--action",
            "sts:AssumeRole",
            "--resource",
            "acs:ram::1234567890123456:role/r",
        ];
        let kv;
        if let Some(e) = ext {
            kv = format!("sts:ExternalId={e}");
            args.push("--context");
            args.push(&kv);
        }
        keyless(&args).0
    };
    assert_eq!(run("acs:ram::1234567890123456:user/alice", Some("abc")), 0);
    assert_eq!(
        run("acs:ram::1234567890123456:assumed-role/r2/s", Some("abc")),
        0
    );
    assert_eq!(run("service:eas.pai.aliyuncs.com", Some("abc")), 0);
    assert_eq!(run("acs:ram::1234567890123456:user/alice", Some("nope")), 1);
    assert_eq!(run("acs:ram::1234567890123456:user/alice", None), 1);
    assert_eq!(run("acs:ram::6543210987654321:user/alice", Some("abc")), 1);
    assert_eq!(run("service:ecs.aliyuncs.com", Some("abc")), 1);
    assert_eq!(run("not-a-principal", Some("abc")), 2);
    // --trust without a principal is a usage error.
    assert_eq!(
        keyless(&[
            "policy",
            "eval",
            "--trust",
            "--policy",
            &t,
            "--action",
            "sts:AssumeRole",
            "--resource",
            "x"
        ])
        .0,
        2
    );
}

#[test]
fn invalid_policy_in_eval_is_exit_2_with_problems_on_stderr() {
    let bad = write(
        "bad-eval.json",
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:GetObject","Resource":"*","Condition":{"StringEqualz":{"a":"b"}}}]}"#,
    );
    let (code, out, err) = keyless(&[
        "policy",
        "eval",
        "--policy",
        &bad,
        "--action",
        "oss:GetObject",
        "--resource",
        "x",
    ]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(
        err.contains(
            "$.Statement[0].Condition.StringEqualz: unknown condition operator `StringEqualz`"
        ),
        "{err}"
    );
}
