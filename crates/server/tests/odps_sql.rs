//! Properties of the MaxCompute SQL subset parser (untrusted input): it never panics, canonical
//! rendering parses back to the same statement, and any edit of a valid statement is still
//! handled without a panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use keyless_server::odps::sql::{self, Column, CreateTable, DropTable, Statement, TableName};
use keyless_server::odps::{fuzz_sql, job};
use proptest::prelude::*;

fn name() -> impl Strategy<Value = String> {
    "[a-z_][a-z0-9_]{0,12}"
}

fn data_type() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("bigint".to_owned()),
        Just("string".to_owned()),
        Just("double".to_owned()),
        Just("boolean".to_owned()),
        Just("datetime".to_owned()),
        Just("timestamp".to_owned()),
        (1u32..=38)
            .prop_flat_map(|p| (Just(p), 0..=p.min(18)))
            .prop_map(|(p, s)| format!("decimal({p},{s})")),
        (1u32..=65535).prop_map(|n| format!("varchar({n})")),
        (1u32..=255).prop_map(|n| format!("char({n})")),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|t| format!("array<{t}>")),
            (inner.clone(), inner.clone()).prop_map(|(k, v)| format!("map<{k},{v}>")),
            prop::collection::vec(inner, 1..4).prop_map(|ts| {
                let fields: Vec<String> = ts
                    .iter()
                    .enumerate()
                    .map(|(i, t)| format!("f{i}:{t}"))
                    .collect();
                format!("struct<{}>", fields.join(","))
            }),
        ]
    })
}

fn comment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "\\PC{0,20}",
        any::<String>().prop_map(|s| s.chars().take(30).collect())
    ]
}

fn columns(
    prefix: &'static str,
    max: usize,
    partition: bool,
) -> impl Strategy<Value = Vec<Column>> {
    let ty: BoxedStrategy<String> = if partition {
        prop_oneof![
            Just("string".to_owned()),
            Just("bigint".to_owned()),
            Just("int".to_owned())
        ]
        .boxed()
    } else {
        data_type().boxed()
    };
    prop::collection::vec(
        (name(), ty, comment(), any::<bool>()),
        if partition { 0..max } else { 1..max },
    )
    .prop_map(move |cols| {
        cols.into_iter()
            .enumerate()
            .map(|(i, (n, t, c, nullable))| Column {
                // Unique across columns and partition keys.
                name: format!("{prefix}{i}_{n}"),
                data_type: t,
                comment: c,
                nullable: nullable || partition,
            })
            .collect()
    })
}

fn table_name() -> impl Strategy<Value = TableName> {
    (proptest::option::of("[a-z][a-z0-9_]{2,10}"), name())
        .prop_map(|(project, name)| TableName { project, name })
}

fn statement() -> impl Strategy<Value = Statement> {
    prop_oneof![
        (
            any::<bool>(),
            table_name(),
            columns("c", 6, false),
            columns("p", 3, true),
            comment(),
            proptest::option::of(1u32..=sql::MAX_LIFECYCLE),
        )
            .prop_map(
                |(if_not_exists, table, columns, partitions, comment, lifecycle)| {
                    Statement::CreateTable(CreateTable {
                        if_not_exists,
                        table,
                        columns,
                        partitions,
                        comment,
                        lifecycle,
                    })
                }
            ),
        (any::<bool>(), table_name())
            .prop_map(|(if_exists, table)| Statement::DropTable(DropTable { if_exists, table })),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,200}") {
        if let Ok(stmt) = sql::parse(&s) {
            prop_assert_eq!(sql::parse(&stmt.to_string()).unwrap(), stmt);
        }
    }

    #[test]
    fn sql_shaped_text_never_panics(
        parts in prop::collection::vec(
            prop_oneof![
                Just("CREATE".to_owned()), Just("TABLE".to_owned()), Just("DROP".to_owned()),
                Just("IF".to_owned()), Just("NOT".to_owned()), Just("EXISTS".to_owned()),
                Just("(".to_owned()), Just(")".to_owned()), Just(",".to_owned()), Just("<".to_owned()),
                Just(">".to_owned()), Just(":".to_owned()), Just(".".to_owned()), Just(";".to_owned()),
                Just("'x".to_owned()), Just("`".to_owned()), Just("--".to_owned()), Just("/*".to_owned()),
                Just("COMMENT".to_owned()), Just("PARTITIONED BY".to_owned()), Just("LIFECYCLE".to_owned()),
                Just("array".to_owned()), Just("map".to_owned()), Just("struct".to_owned()),
                Just("decimal".to_owned()), "[0-9]{1,12}", name(),
            ],
            0..40,
        )
    ) {
        let s = parts.join(" ");
        if let Ok(stmt) = sql::parse(&s) {
            prop_assert_eq!(sql::parse(&stmt.to_string()).unwrap(), stmt);
        }
    }

    #[test]
    fn rendering_round_trips(stmt in statement()) {
        let text = stmt.to_string();
        prop_assert_eq!(sql::parse(&text).map_err(|e| e.to_string()), Ok(stmt.clone()), "{}", text);
        // With a trailing semicolon and the keywords in lower case, as pyodps sometimes sends.
        let lower = format!("{};", text.replacen("CREATE TABLE", "create table", 1));
        prop_assert_eq!(sql::parse(&lower).unwrap(), stmt);
    }

    #[test]
    fn edits_of_valid_statements_never_panic(
        stmt in statement(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..4),
    ) {
        let mut bytes = stmt.to_string().into_bytes();
        for (at, b, op) in edits {
            if bytes.is_empty() {
                bytes.push(b);
                continue;
            }
            let i = at.index(bytes.len());
            match op {
                0 => bytes[i] = b,
                1 => bytes.insert(i, b),
                _ => { bytes.remove(i); }
            }
        }
        fuzz_sql(&bytes);
        let _ = sql::parse(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..512)) {
        fuzz_sql(&data);
        let _ = job::parse(&data);
    }

    #[test]
    fn job_documents_carry_any_statement(stmt in statement()) {
        let body = format!(
            "<Instance><Job><Tasks><SQL><Name>t</Name><Query><![CDATA[{}]]></Query></SQL></Tasks></Job></Instance>",
            stmt.to_string().replace("]]>", "]]]]><![CDATA[>")
        );
        let j = job::parse(body.as_bytes()).unwrap();
        prop_assert_eq!(sql::parse(j.tasks[0].query.as_deref().unwrap()).unwrap(), stmt);
    }
}

#[test]
fn deeply_nested_and_huge_inputs_are_refused_quickly() {
    let deep = format!(
        "CREATE TABLE t (a {}bigint{})",
        "array<".repeat(10_000),
        ">".repeat(10_000)
    );
    assert!(sql::parse(&deep).is_err());
    let parens = "(".repeat(sql::MAX_SQL_BYTES);
    assert!(sql::parse(&parens).is_err());
    let xml = format!("{}{}", "<a>".repeat(100_000), "</a>".repeat(100_000));
    assert!(job::parse(xml.as_bytes()).is_err());
    let elems = format!("<Instance>{}</Instance>", "<x/>".repeat(100_000));
    assert!(job::parse(elems.as_bytes()).is_err());
}
