//! A harness that drives the RAM and STS handlers in-process (no sockets) over a real SQLite
//! store in a temp dir, with a manual clock.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use bytes::Bytes;
use keyless_secret::SecretString;
use keyless_server::audit::Auditor;
use keyless_server::clock::ManualClock;
use keyless_server::http::{Handler, HttpReq};
use keyless_server::ram::Ram;
use keyless_server::rpc::RpcHandler;
use keyless_server::state::{Config, State};
use keyless_server::sts::Sts;
use keyless_sign::{acs3, rpc_v1};
use keyless_store::{AccessKey, KeyStatus, SqliteStore, Store};
use keyless_token::KeyRing;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

pub const T0: i64 = 1_795_840_000;
pub const ACCOUNT: &str = "1234567890123456";

pub struct Harness {
    pub dir: PathBuf,
    pub clock: Arc<ManualClock>,
    pub state: Arc<State>,
    pub ram: RpcHandler<Ram>,
    pub sts: RpcHandler<Sts>,
    pub root: Creds,
    nonce: AtomicU64,
}

#[derive(Clone, Debug)]
pub struct Creds {
    pub id: String,
    pub secret: SecretString,
    pub token: Option<String>,
}

pub struct Resp {
    pub status: u16,
    pub body: Value,
}

impl Resp {
    pub fn code(&self) -> &str {
        self.body["Code"].as_str().unwrap_or("")
    }
}

impl Harness {
    pub fn new(config: Config) -> Harness {
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "keyless-server-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir).unwrap());
        store.create_account(ACCOUNT, T0).unwrap();
        let root = Creds {
            id: "LTAIrootkey0000000000000".into(),
            secret: SecretString::from("rootsecret0000000000000000000a"),
            token: None,
        };
        store
            .create_access_key(&AccessKey {
                access_key_id: root.id.clone(),
                account_id: ACCOUNT.into(),
                user_name: None,
                secret: root.secret.clone(),
                status: KeyStatus::Active,
                created_at: T0,
            })
            .unwrap();
        let clock = Arc::new(ManualClock::new(T0));
        let audit = Auditor::start(store.clone());
        let state = Arc::new(State::new(
            store,
            clock.clone(),
            config,
            KeyRing::new([1u8; 32], T0),
            audit,
        ));
        Harness {
            dir,
            clock,
            ram: RpcHandler {
                state: state.clone(),
                product: Ram,
            },
            sts: RpcHandler {
                state: state.clone(),
                product: Sts,
            },
            state,
            root,
            nonce: AtomicU64::new(0),
        }
    }

    fn nonce(&self) -> String {
        format!("nonce-{}", self.nonce.fetch_add(1, Ordering::SeqCst))
    }

    /// A V1-signed request (as aliyun-python-sdk-core sends it), at `ts` (defaults to the clock).
    pub fn v1_request(
        &self,
        version: &str,
        action: &str,
        params: &[(&str, &str)],
        c: &Creds,
        ts: Option<i64>,
    ) -> HttpReq {
        let ts = keyless_sign::format_timestamp(ts.unwrap_or(self.clock.now_secs())).unwrap();
        let mut p: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        for (k, v) in [
            ("Format", "JSON".to_owned()),
            ("Version", version.to_owned()),
            ("Action", action.to_owned()),
            ("AccessKeyId", c.id.clone()),
            ("SignatureMethod", "HMAC-SHA1".to_owned()),
            ("SignatureVersion", "1.0".to_owned()),
            ("SignatureType", String::new()),
            ("SignatureNonce", self.nonce()),
            ("Timestamp", ts),
        ] {
            p.push((k.to_owned(), v));
        }
        if let Some(t) = &c.token {
            p.push(("SecurityToken".into(), t.clone()));
        }
        let sts = rpc_v1::string_to_sign("POST", &p);
        let sig = rpc_v1::sign(c.secret.expose_secret(), &sts);
        p.push(("Signature".into(), sig));
        HttpReq {
            method: "POST".into(),
            path: "/".into(),
            query: acs3::encode_query(&p),
            headers: vec![("host".into(), "127.0.0.1:1".into())],
            body: Bytes::new(),
            peer: "127.0.0.1".parse().unwrap(),
        }
    }

    pub fn send(&self, h: &dyn Handler, req: HttpReq) -> Resp {
        let r = h.handle(req);
        let body = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
        Resp {
            status: r.status,
            body,
        }
    }

    pub fn ram_call(&self, action: &str, params: &[(&str, &str)], c: &Creds) -> Resp {
        self.send(
            &self.ram,
            self.v1_request("2015-05-01", action, params, c, None),
        )
    }

    pub fn sts_call(&self, action: &str, params: &[(&str, &str)], c: &Creds) -> Resp {
        self.send(
            &self.sts,
            self.v1_request("2015-04-01", action, params, c, None),
        )
    }

    pub fn ok(&self, r: Resp) -> Value {
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    }

    /// A RAM user with an AccessKey and the given system policies attached.
    pub fn user(&self, name: &str, policies: &[&str]) -> Creds {
        self.ok(self.ram_call("CreateUser", &[("UserName", name)], &self.root));
        for p in policies {
            self.ok(self.ram_call(
                "AttachPolicyToUser",
                &[
                    ("UserName", name),
                    ("PolicyType", "System"),
                    ("PolicyName", p),
                ],
                &self.root,
            ));
        }
        let k = self.ok(self.ram_call("CreateAccessKey", &[("UserName", name)], &self.root));
        Creds {
            id: k["AccessKey"]["AccessKeyId"].as_str().unwrap().into(),
            secret: SecretString::from(k["AccessKey"]["AccessKeySecret"].as_str().unwrap()),
            token: None,
        }
    }

    /// A role trusting this account's root, with the given system policies; returns its ARN.
    pub fn role(&self, name: &str, policies: &[&str]) -> String {
        let trust = format!(
            r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{{"RAM":["acs:ram::{ACCOUNT}:root"]}}}}]}}"#
        );
        let r = self.ok(self.ram_call(
            "CreateRole",
            &[("RoleName", name), ("AssumeRolePolicyDocument", &trust)],
            &self.root,
        ));
        for p in policies {
            self.ok(self.ram_call(
                "AttachPolicyToRole",
                &[
                    ("RoleName", name),
                    ("PolicyType", "System"),
                    ("PolicyName", p),
                ],
                &self.root,
            ));
        }
        r["Role"]["Arn"].as_str().unwrap().to_owned()
    }

    pub fn assume(&self, who: &Creds, role_arn: &str, extra: &[(&str, &str)]) -> Resp {
        let mut p = vec![("RoleArn", role_arn), ("RoleSessionName", "test-session")];
        p.extend_from_slice(extra);
        self.sts_call("AssumeRole", &p, who)
    }

    pub fn session(&self, r: Resp) -> Creds {
        let b = self.ok(r);
        let c = &b["Credentials"];
        Creds {
            id: c["AccessKeyId"].as_str().unwrap().into(),
            secret: SecretString::from(c["AccessKeySecret"].as_str().unwrap()),
            token: Some(c["SecurityToken"].as_str().unwrap().into()),
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.state.audit().shutdown();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub trait Secs {
    fn now_secs(&self) -> i64;
}

impl Secs for ManualClock {
    fn now_secs(&self) -> i64 {
        use keyless_server::clock::Clock;
        self.now()
    }
}

// -- MaxCompute (ODPS) ------------------------------------------------------------------------

/// How to sign an ODPS request (defaults: legacy signature, `Date` from the clock).
#[derive(Clone, Debug, Default)]
pub struct OdpsSign {
    /// V4 with this region (`None`: legacy).
    pub region: Option<String>,
    /// The `Date` header's time (default: the clock).
    pub date: Option<i64>,
}

/// A parsed ODPS response: status, headers and the body as text.
pub struct OdpsResp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl OdpsResp {
    /// The text of the first `<tag>…</tag>` (CDATA unwrapped), if any.
    pub fn tag(&self, tag: &str) -> Option<String> {
        xml_tag(&self.body, tag)
    }

    /// The error `Code`.
    pub fn code(&self) -> String {
        self.tag("Code").unwrap_or_default()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the test helpers read: any response document (CDATA and processing instructions taken).
pub const RESPONSE_XML: keyless_wire::xml::Limits = keyless_wire::xml::Limits {
    allow_cdata: true,
    allow_processing_instructions: true,
    ..keyless_wire::xml::Limits::OSS
};

/// Every element named `tag` in `xml` (read by `keyless_wire::xml`), in document order; nothing
/// if `xml` is not a document.
pub fn xml_elements(xml: &str, tag: &str) -> Vec<keyless_wire::xml::Element> {
    fn walk(e: &keyless_wire::xml::Element, tag: &str, out: &mut Vec<keyless_wire::xml::Element>) {
        if e.name == tag {
            out.push(e.clone());
        }
        for c in &e.children {
            walk(c, tag, out);
        }
    }
    let mut out = Vec::new();
    if let Ok(root) = keyless_wire::xml::parse_with(xml.as_bytes(), &RESPONSE_XML) {
        walk(&root, tag, &mut out);
    }
    out
}

/// The text of the first `<tag>…</tag>` in `xml` (CDATA unwrapped, entities decoded; only the
/// element's own text: use [`xml_elements`] for an element with children).
pub fn xml_tag(xml: &str, tag: &str) -> Option<String> {
    xml_elements(xml, tag).into_iter().next().map(|e| e.text)
}

/// The job document pyodps posts for `sql` (task `SQLCreateTableTask`).
pub fn odps_job(sql: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Instance>\n  <Job>\n    <Priority>9</Priority>\n    <Tasks>\n      <SQL>\n        <Name>SQLCreateTableTask</Name>\n        <Config>\n          <Property>\n            <Name>settings</Name>\n            <Value>{{\"odps.sql.submit.mode\": \"\"}}</Value>\n          </Property>\n        </Config>\n        <Query><![CDATA[{sql};]]></Query>\n      </SQL>\n    </Tasks>\n    <DAG>\n      <RunMode>Sequence</RunMode>\n    </DAG>\n  </Job>\n</Instance>\n"
    )
}

impl Harness {
    /// A MaxCompute handler over this harness's state (instances live in the handler: keep one).
    pub fn odps(&self) -> Arc<dyn Handler> {
        keyless_server::odps::handler(self.state.clone())
    }

    /// A request signed as pyodps signs it; `target` is the path after `/api` plus an optional
    /// `?query`, e.g. `/projects/p/tables?expectmarker=true&curr_project=p`.
    pub fn odps_request(
        &self,
        method: &str,
        target: &str,
        body: &[u8],
        c: &Creds,
        how: &OdpsSign,
    ) -> HttpReq {
        use keyless_server::clock::Clock;
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let date = keyless_sign::format_http_date(how.date.unwrap_or(self.clock.now())).unwrap();
        let ua = "pyodps/0.13.2 CPython/3.11.7 Linux/6.1";
        let mut headers: Vec<(String, String)> = vec![
            ("host".into(), "127.0.0.1:1".into()),
            ("user-agent".into(), ua.into()),
            ("x-odps-user-agent".into(), ua.into()),
            ("date".into(), date),
        ];
        if method == "POST" {
            headers.push(("content-type".into(), "application/xml".into()));
        }
        if let Some(t) = &c.token {
            headers.push(("authorization-sts-token".into(), t.clone()));
            headers.push((
                "x-pyodps-token-timestamp".into(),
                "1795840441.119325".into(),
            ));
        }
        let day = keyless_sign::format_iso8601_basic(how.date.unwrap_or(self.clock.now())).unwrap()
            [..8]
            .to_owned();
        let scope = how
            .region
            .as_deref()
            .map(|region| keyless_sign::odps::Scope { date: &day, region });
        let parts = keyless_sign::RequestParts {
            method,
            raw_path: path,
            raw_query: query,
            headers: &headers,
        };
        let auth = keyless_sign::odps::sign_request(&parts, &c.id, &c.secret, scope).unwrap();
        headers.push(("authorization".into(), auth));
        HttpReq {
            method: method.into(),
            path: format!("/api{path}"),
            query: query.into(),
            headers,
            body: Bytes::copy_from_slice(body),
            peer: "127.0.0.1".parse().unwrap(),
        }
    }

    pub fn odps_send(&self, h: &dyn Handler, req: HttpReq) -> OdpsResp {
        let r = h.handle(req);
        OdpsResp {
            status: r.status,
            headers: r.headers,
            body: String::from_utf8(r.body.to_vec()).unwrap(),
        }
    }

    /// A legacy-signed call with `c` at the clock's time.
    pub fn odps_call(
        &self,
        h: &dyn Handler,
        method: &str,
        target: &str,
        body: &[u8],
        c: &Creds,
    ) -> OdpsResp {
        self.odps_send(
            h,
            self.odps_request(method, target, body, c, &OdpsSign::default()),
        )
    }

    /// Submits `sql` as a SQL task in `project` and returns the instance id (asserting 201).
    pub fn odps_submit(&self, h: &dyn Handler, project: &str, sql: &str, c: &Creds) -> OdpsResp {
        self.odps_call(
            h,
            "POST",
            &format!("/projects/{project}/instances?curr_project={project}"),
            odps_job(sql).as_bytes(),
            c,
        )
    }

    /// Runs `sql` as pyodps does (submit, then task status and result) and returns the task's
    /// status (`Success`/`Failed`) and result text.
    pub fn odps_run(
        &self,
        h: &dyn Handler,
        project: &str,
        sql: &str,
        c: &Creds,
    ) -> (String, String) {
        let r = self.odps_submit(h, project, sql, c);
        assert_eq!(r.status, 201, "{}", r.body);
        let loc = r.header("location").unwrap().to_owned();
        let id = loc.rsplit('/').next().unwrap().to_owned();
        let base = format!("/projects/{project}/instances/{id}");
        let st = self.odps_call(
            h,
            "GET",
            &format!("{base}?instancestatus&curr_project={project}"),
            b"",
            c,
        );
        assert_eq!(st.status, 200, "{}", st.body);
        assert_eq!(st.tag("Status").as_deref(), Some("Terminated"));
        let ts = self.odps_call(
            h,
            "GET",
            &format!("{base}?taskstatus&curr_project={project}"),
            b"",
            c,
        );
        assert_eq!(ts.status, 200, "{}", ts.body);
        let task = xml_elements(&ts.body, "Task").into_iter().next().unwrap();
        let status = task.child_text("Status").unwrap().to_owned();
        let res = self.odps_call(
            h,
            "GET",
            &format!("{base}?result&curr_project={project}"),
            b"",
            c,
        );
        assert_eq!(res.status, 200, "{}", res.body);
        (status, res.tag("Result").unwrap_or_default())
    }
}
