//! MaxCompute front-end, in-process: every request pyodps 0.13.2 makes for `ODPS(...)`,
//! `list_tables`, `get_table`, `exist_table`, `create_table` and `delete_table`, with the bodies
//! and error codes it needs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use keyless_server::odps;
use keyless_server::state::Config;
use serde_json::Value;

const P: &str = "proj_main";

fn setup() -> (Harness, std::sync::Arc<dyn keyless_server::http::Handler>) {
    let h = Harness::new(Config::default());
    odps::ensure_project(&h.state, ACCOUNT, P).unwrap();
    let o = h.odps();
    (h, o)
}

fn assert_error_shape(r: &OdpsResp) {
    assert!(r.body.contains("<Error>"), "{}", r.body);
    for t in ["Code", "Message", "RequestId", "HostId"] {
        assert!(
            r.tag(t).is_some_and(|v| !v.is_empty()),
            "missing {t}: {}",
            r.body
        );
    }
    assert_eq!(r.header("content-type"), Some("application/xml"));
    assert!(r.header("x-odps-request-id").is_some());
}

fn schema(r: &OdpsResp) -> Value {
    serde_json::from_str(&r.tag("Schema").unwrap()).unwrap()
}

#[test]
fn odps_init_probes() {
    let (h, o) = setup();
    // `GET /api/logview/host`: a host string.
    let r = h.odps_call(
        &*o,
        "GET",
        &format!("/logview/host?curr_project={P}"),
        b"",
        &h.root,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.starts_with("http://"), "{}", r.body);
    // `GET /api/tenants`: a 404 with an empty body (pyodps then treats tenant parameters as unset).
    let r = h.odps_call(
        &*o,
        "GET",
        &format!("/tenants?curr_project={P}"),
        b"",
        &h.root,
    );
    assert_eq!((r.status, r.body.as_str()), (404, ""));
    // The project itself, with the headers `Project.reload` reads.
    let r = h.odps_call(
        &*o,
        "GET",
        &format!("/projects/{P}?curr_project={P}"),
        b"",
        &h.root,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.tag("Name").as_deref(), Some(P));
    for hd in ["x-odps-owner", "x-odps-creation-time", "last-modified"] {
        assert!(r.header(hd).is_some(), "{hd}");
    }
    // An unknown project.
    let r = h.odps_call(
        &*o,
        "GET",
        "/projects/nope_proj/tables?expectmarker=true",
        b"",
        &h.root,
    );
    assert_eq!((r.status, r.code().as_str()), (404, "NoSuchProject"));
    assert_error_shape(&r);
    // Outside `/api`.
    let r = h.odps_send(
        &*o,
        keyless_server::http::HttpReq {
            path: "/projects/x".into(),
            ..h.odps_request("GET", "/projects/x", b"", &h.root, &OdpsSign::default())
        },
    );
    assert_eq!((r.status, r.code().as_str()), (404, "NoSuchObject"));
}

#[test]
fn create_get_list_drop_like_pyodps() {
    let (h, o) = setup();
    let list = |q: &str| {
        h.odps_call(
            &*o,
            "GET",
            &format!("/projects/{P}/tables?expectmarker=true&curr_project={P}{q}"),
            b"",
            &h.root,
        )
    };

    let r = list("");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!r.body.contains("<Table>"));
    assert_eq!(r.tag("Marker").as_deref(), Some(""));

    // `o.create_table('t', 'id bigint, name string', if_not_exists=True)`.
    let (st, res) = h.odps_run(
        &*o,
        P,
        &format!("CREATE TABLE IF NOT EXISTS {P}.`t` (\nid bigint, name string\n)"),
        &h.root,
    );
    assert_eq!((st.as_str(), res.as_str()), ("Success", "OK"));
    // Again: IF NOT EXISTS makes it a no-op.
    let (st, _) = h.odps_run(
        &*o,
        P,
        &format!("CREATE TABLE IF NOT EXISTS {P}.`t` (id bigint)"),
        &h.root,
    );
    assert_eq!(st, "Success");
    // Without it, the instance fails with what pyodps raises as ODPSError.
    let (st, res) = h.odps_run(&*o, P, "CREATE TABLE t (id bigint)", &h.root);
    assert_eq!(st, "Failed");
    assert!(res.starts_with("ODPS-0130071:"), "{res}");
    assert!(res.contains("already exists"), "{res}");

    // `get_table('t')`: the schema travels as JSON in CDATA.
    let r = h.odps_call(
        &*o,
        "GET",
        &format!("/projects/{P}/tables/t?curr_project={P}"),
        b"",
        &h.root,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.tag("Name").as_deref(), Some("t"));
    assert_eq!(r.tag("Type").as_deref(), Some("MANAGED_TABLE"));
    let s = schema(&r);
    assert_eq!(s["columns"][0]["name"], "id");
    assert_eq!(s["columns"][0]["type"], "bigint");
    assert_eq!(s["columns"][0]["isNullable"], true);
    assert_eq!(s["columns"][1]["type"], "string");
    assert_eq!(s["partitionKeys"], serde_json::json!([]));
    assert_eq!(s["lifecycle"], -1);
    assert_eq!(s["owner"], format!("acs:ram::{ACCOUNT}:root"));
    // `extended` answers the same document.
    let r = h.odps_call(
        &*o,
        "GET",
        &format!("/projects/{P}/tables/t?extended&curr_project={P}"),
        b"",
        &h.root,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // Names are case-insensitive.
    let r = h.odps_call(
        &*o,
        "GET",
        &format!("/projects/{P}/tables/T?curr_project={P}"),
        b"",
        &h.root,
    );
    assert_eq!(r.status, 200, "{}", r.body);

    // A partitioned table with comments, typed as pyodps's TableSchema writes it.
    let (st, res) = h.odps_run(
        &*o,
        P,
        &format!(
            "CREATE TABLE {P}.`t2` (\n  `a` BIGINT NOT NULL COMMENT 'it\\'s',\n  `b` DECIMAL(10,2)\n)\nCOMMENT 'tbl <&> x'\nPARTITIONED BY (\n  `ds` STRING COMMENT 'day'\n)\nLIFECYCLE 7"
        ),
        &h.root,
    );
    assert_eq!((st.as_str(), res.as_str()), ("Success", "OK"));
    let r = h.odps_call(
        &*o,
        "GET",
        &format!("/projects/{P}/tables/t2?curr_project={P}"),
        b"",
        &h.root,
    );
    let s = schema(&r);
    assert_eq!(s["columns"][0]["comment"], "it's");
    assert_eq!(s["columns"][0]["isNullable"], false);
    assert_eq!(s["columns"][1]["type"], "decimal(10,2)");
    assert_eq!(s["partitionKeys"][0]["name"], "ds");
    assert_eq!(s["comment"], "tbl <&> x");
    assert_eq!(s["lifecycle"], 7);

    // `exist_table('nope')`: 404 NoSuchObject, which pyodps turns into False.
    let r = h.odps_call(
        &*o,
        "GET",
        &format!("/projects/{P}/tables/nope?curr_project={P}"),
        b"",
        &h.root,
    );
    assert_eq!((r.status, r.code().as_str()), (404, "NoSuchObject"));
    assert_error_shape(&r);

    // Listing: entries carry Type; paging with markers and a name prefix.
    for n in ["a1", "a2", "a3", "b1"] {
        let (st, _) = h.odps_run(&*o, P, &format!("CREATE TABLE {n} (x string)"), &h.root);
        assert_eq!(st, "Success");
    }
    let r = list("");
    let names: Vec<String> = xml_elements(&r.body, "Table")
        .iter()
        .map(|t| t.child_text("Name").unwrap().to_owned())
        .collect();
    assert_eq!(names, ["a1", "a2", "a3", "b1", "t", "t2"]);
    assert!(r.body.contains("<Type>MANAGED_TABLE</Type>"));
    let mut marker = String::new();
    let mut paged = Vec::new();
    for _ in 0..10 {
        let r = list(&format!("&maxitems=2&name=a&marker={marker}"));
        assert_eq!(r.status, 200, "{}", r.body);
        paged.extend(
            xml_elements(&r.body, "Table")
                .iter()
                .map(|t| t.child_text("Name").unwrap().to_owned()),
        );
        marker = r.tag("Marker").unwrap();
        if marker.is_empty() {
            break;
        }
    }
    assert_eq!(paged, ["a1", "a2", "a3"]);

    // `delete_table('t', if_exists=True)`.
    let (st, _) = h.odps_run(&*o, P, &format!("DROP TABLE IF EXISTS {P}.`t`"), &h.root);
    assert_eq!(st, "Success");
    let (st, _) = h.odps_run(&*o, P, &format!("DROP TABLE IF EXISTS {P}.`t`"), &h.root);
    assert_eq!(st, "Success");
    let (st, res) = h.odps_run(&*o, P, &format!("DROP TABLE {P}.`t`"), &h.root);
    assert_eq!(st, "Failed");
    assert!(res.starts_with("ODPS-0130131:"), "{res}");
    let r = h.odps_call(
        &*o,
        "GET",
        &format!("/projects/{P}/tables/t?curr_project={P}"),
        b"",
        &h.root,
    );
    assert_eq!(r.status, 404);
}

#[test]
fn failed_statements_fail_their_instance() {
    let (h, o) = setup();
    for (sql, prefix) in [
        ("SELECT * FROM t", "ODPS-0130071:[1,1]"),
        ("CREATE TABLE t (a bigint", "ODPS-0130161:"),
        ("CREATE TABLE t (a nosuchtype)", "ODPS-0130071:"),
        ("CREATE VIEW v AS SELECT 1", "ODPS-0130071:"),
        ("CREATE TABLE other_proj.t (a bigint)", "ODPS-0130131:"),
    ] {
        let (st, res) = h.odps_run(&*o, P, sql, &h.root);
        assert_eq!(st, "Failed", "{sql}");
        assert!(res.starts_with(prefix), "{sql}: {res}");
    }
    // A non-SQL task.
    let body = common::odps_job("DROP TABLE t")
        .replace("<SQL>", "<SQLCost>")
        .replace("</SQL>", "</SQLCost>");
    let r = h.odps_call(
        &*o,
        "POST",
        &format!("/projects/{P}/instances"),
        body.as_bytes(),
        &h.root,
    );
    assert_eq!(r.status, 201, "{}", r.body);
    // Malformed job documents are refused outright.
    for bad in [
        "",
        "<Instance>",
        "<Instance><Job><Tasks></Tasks></Job></Instance>",
        "<!DOCTYPE x []><Instance/>",
    ] {
        let r = h.odps_call(
            &*o,
            "POST",
            &format!("/projects/{P}/instances"),
            bad.as_bytes(),
            &h.root,
        );
        assert_eq!(
            (r.status, r.code().as_str()),
            (400, "InvalidArgument"),
            "{bad}: {}",
            r.body
        );
        assert_error_shape(&r);
    }
    // Unknown instances and routes.
    let r = h.odps_call(
        &*o,
        "GET",
        &format!("/projects/{P}/instances/20260101000000000gabc"),
        b"",
        &h.root,
    );
    assert_eq!((r.status, r.code().as_str()), (404, "NoSuchObject"));
    let r = h.odps_call(
        &*o,
        "DELETE",
        &format!("/projects/{P}/tables/t"),
        b"",
        &h.root,
    );
    assert_eq!((r.status, r.code().as_str()), (405, "MethodNotAllowed"));
    let r = h.odps_call(
        &*o,
        "GET",
        &format!("/projects/{P}/resources"),
        b"",
        &h.root,
    );
    assert_eq!((r.status, r.code().as_str()), (404, "NoSuchObject"));
}

#[test]
fn instance_documents() {
    let (h, o) = setup();
    let r = h.odps_submit(&*o, P, "CREATE TABLE t (a bigint)", &h.root);
    assert_eq!(r.status, 201);
    // The task ran during submission: its result rides along (a synchronous instance to pyodps).
    assert_eq!(r.tag("Result").as_deref(), Some("OK"));
    assert!(
        r.body
            .contains("<Task Type=\"SQL\"><Name>SQLCreateTableTask</Name>"),
        "{}",
        r.body
    );
    assert!(r.body.contains("<Status>Success</Status>"), "{}", r.body);
    let loc = r.header("location").unwrap();
    assert!(
        loc.starts_with(&format!("http://127.0.0.1:1/api/projects/{P}/instances/")),
        "{loc}"
    );
    let id = loc.rsplit('/').next().unwrap();
    let st = h.odps_call(
        &*o,
        "GET",
        &format!("/projects/{P}/instances/{id}"),
        b"",
        &h.root,
    );
    assert_eq!(st.status, 200);
    for hd in ["x-odps-owner", "x-odps-start-time", "x-odps-end-time"] {
        assert!(st.header(hd).is_some(), "{hd}");
    }
    let ts = h.odps_call(
        &*o,
        "GET",
        &format!("/projects/{P}/instances/{id}?taskstatus"),
        b"",
        &h.root,
    );
    assert!(
        ts.body
            .contains("<Task Type=\"SQL\"><Name>SQLCreateTableTask</Name>"),
        "{}",
        ts.body
    );
    let pr = h.odps_call(
        &*o,
        "GET",
        &format!("/projects/{P}/instances/{id}?instanceprogress=SQLCreateTableTask&taskname=SQLCreateTableTask"),
        b"",
        &h.root,
    );
    assert_eq!(pr.status, 200);
}

#[test]
fn projects_are_created_once_and_validated() {
    let (h, _o) = setup();
    odps::ensure_project(&h.state, ACCOUNT, P).unwrap();
    assert_eq!(
        odps::create_project(&h.state, ACCOUNT, P).unwrap_err().code,
        "ProjectAlreadyExist"
    );
    assert!(odps::ensure_project(&h.state, "9999999999999999", P).is_err());
    for bad in ["ab", "1abc", "a-b-c", "a/b", &"x".repeat(29)] {
        assert_eq!(
            odps::create_project(&h.state, ACCOUNT, bad)
                .unwrap_err()
                .code,
            "InvalidProjectName",
            "{bad}"
        );
    }
    odps::create_project(&h.state, ACCOUNT, "Second_Proj").unwrap();
    assert!(h
        .state
        .store()
        .get_record("odps.project", "second_proj")
        .unwrap()
        .is_some());
}
