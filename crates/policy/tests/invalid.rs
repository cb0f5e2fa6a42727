//! Data-driven validation corpus: every `tests/invalid/*.json` file holds one document and the
//! exact JSON paths of the problems `Policy::parse` must report, in order. Format (see
//! `tests/corpus/README.md`):
//!
//! ```json
//! {"description": "...",                          // optional
//!  "kind": "custom" | "session" | "trust",
//!  "document": "<raw policy text>",               // always a string: key order and bytes matter
//!  "pad_to": 2049,                                 // optional: pad with trailing spaces to N chars
//!  "problems": ["$.Version", "$.Statement[0].Action"]}   // [] for a valid document
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use keyless_policy::{Policy, PolicyKind};
use serde_json::Value;
use std::path::Path;

fn kind_of(s: &str, file: &str) -> PolicyKind {
    match s {
        "custom" => PolicyKind::Custom,
        "session" => PolicyKind::Session,
        "trust" => PolicyKind::Trust,
        other => panic!("{file}: unknown kind `{other}`"),
    }
}

fn document_of(v: &Value, file: &str) -> String {
    let mut text = v["document"]
        .as_str()
        .unwrap_or_else(|| panic!("{file}: `document` must be a string"))
        .to_owned();
    if let Some(n) = v.get("pad_to") {
        let n = n
            .as_u64()
            .unwrap_or_else(|| panic!("{file}: `pad_to` must be a number"))
            as usize;
        let len = text.chars().count();
        assert!(
            len <= n,
            "{file}: document is {len} characters, more than pad_to {n}"
        );
        text.push_str(&" ".repeat(n - len));
        assert_eq!(text.chars().count(), n);
    }
    text
}

#[test]
fn invalid_documents() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/invalid");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut failures = Vec::new();
    let (mut invalid, mut valid) = (0, 0);
    for path in &files {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let kind = kind_of(
            v["kind"]
                .as_str()
                .unwrap_or_else(|| panic!("{file}: `kind` missing")),
            &file,
        );
        let text = document_of(&v, &file);
        let want: Vec<&str> = v["problems"]
            .as_array()
            .unwrap_or_else(|| panic!("{file}: `problems` must be an array"))
            .iter()
            .map(|p| {
                p.as_str()
                    .unwrap_or_else(|| panic!("{file}: problems are strings"))
            })
            .collect();
        if want.is_empty() {
            valid += 1;
        } else {
            invalid += 1;
        }
        match Policy::parse("t", &text, kind) {
            Ok(_) if want.is_empty() => {}
            Ok(_) => failures.push(format!("{file}: parsed, expected problems at {want:?}")),
            Err(e) => {
                let got: Vec<&str> = e.problems.iter().map(|p| p.path.as_str()).collect();
                if got != want {
                    failures.push(format!("{file}: expected {want:?}, got {got:?} ({e})"));
                }
                for p in &e.problems {
                    if p.message.is_empty() {
                        failures.push(format!("{file}: problem at {} has no message", p.path));
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} validation cases failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
    assert!(
        invalid >= 30,
        "the validation corpus must hold at least 30 invalid documents, found {invalid}"
    );
    assert!(
        valid >= 1,
        "the validation corpus must hold valid documents too"
    );
}
