//! MaxCompute (ODPS)-compatible metadata service, under the URL prefix `/api`, as pyodps 0.13.2
//! uses it: projects, tables (list with markers, get, exist) and SQL task instances that run
//! `CREATE TABLE` / `DROP TABLE` ([`sql`]) against table metadata kept in the store
//! ([`catalog`]). No data is stored: tables have schemas, not rows.
//!
//! Requests are signed `Authorization: ODPS <AK>:<sig>` (legacy) or
//! `ODPS <AK>/<day>/<region>/odps/aliyun_v4_request:<sig>` (V4) over the path after `/api`, with
//! an STS token in `authorization-sts-token`; `Date` must be within the configured skew.
//! Authorization runs `odps:<Action>` through the policy engine on
//! `acs:odps:*:<account>:projects/<p>[/tables/<t>|/instances/<id>]`:
//!
//! | request | action | resource |
//! | --- | --- | --- |
//! | `GET /projects/<p>` | `odps:GetProject` | `projects/<p>` |
//! | `GET /projects/<p>/tables` | `odps:ListTables` | `projects/<p>/tables/*` |
//! | `GET /projects/<p>/tables/<t>` | `odps:GetTableInfo` | `projects/<p>/tables/<t>` |
//! | `POST /projects/<p>/instances` | `odps:CreateInstance` | `projects/<p>` |
//! | … `CREATE TABLE` in the instance | `odps:CreateTable` | `projects/<p>/tables/<t>` |
//! | … `DROP TABLE` in the instance | `odps:DropTable` | `projects/<p>/tables/<t>` |
//! | `GET /projects/<p>/instances/<id>` | `odps:GetInstance` (unless the caller created it) | `projects/<p>/instances/<id>` |
//!
//! A project is reachable only by its owner account. Errors are the vendor's XML
//! (`<Error><Code/><Message/><RequestId/><HostId/></Error>`) with codes pyodps maps to its
//! exception classes. A statement runs while its instance is submitted, and the `201` carries the
//! task result, so pyodps treats the instance as synchronous (the status, `taskstatus` and
//! `result` documents are served too); a failed statement fails its instance with an
//! `ODPS-xxxxxxx` message that pyodps raises as `ParseError`, `NoSuchTable`, `NoPermission` or
//! `ODPSError`. Instances are kept in memory (bounded), not persisted.

pub mod catalog;
pub mod job;
pub mod sql;

use keyless_auth::Caller;
use keyless_http::{Access, Handler, HttpReq, HttpResp};
use keyless_platform::error::ApiError;
use keyless_platform::ids;
use keyless_platform::state::State;
use keyless_sign::{odps as sig, RequestParts, SignError};
use keyless_store::AuditRecord;
use keyless_wire::clip;
use keyless_wire::xml::{cdata, escape};
use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

/// The URL prefix of the service (`http://host:port/api`).
pub const PREFIX: &str = "/api";
/// Most instances kept in memory; the oldest are forgotten first.
pub const MAX_INSTANCES: usize = 10_000;
/// Largest page of `GET /projects/<p>/tables`.
pub const MAX_LIST_ITEMS: usize = 1000;
const MAX_PATH_SEGMENTS: usize = 8;

/// The MaxCompute front-end; its URL prefix is `/api`.
pub struct Odps {
    pub state: Arc<State>,
    instances: Instances,
}

/// The MaxCompute listener's handler.
pub fn handler(state: Arc<State>) -> Arc<dyn Handler> {
    Arc::new(Odps::new(state))
}

/// Creates project `project` owned by `account` unless it exists (a project of another account
/// by that name is an error).
pub fn ensure_project(state: &State, account: &str, project: &str) -> Result<(), ApiError> {
    match catalog::get_project(state, &project.to_ascii_lowercase())? {
        Some(p) if p.owner_account == account => Ok(()),
        Some(_) => Err(ApiError::new(
            409,
            "ProjectAlreadyExist",
            format!("The project `{project}` belongs to another account."),
        )),
        None => create_project(state, account, project),
    }
}

/// Creates project `name` owned by `account` (3 to 28 letters, digits and underscores, starting
/// with a letter; stored lower-case). Fails when the name is invalid or taken.
pub fn create_project(state: &State, account: &str, name: &str) -> Result<(), ApiError> {
    catalog::create_project(state, account, name).map(|_| ())
}

/// Feeds arbitrary bytes to the untrusted-input parsers of this service (the SQL subset and the
/// job document); must never panic. A cargo-fuzz target calls this.
#[doc(hidden)]
pub fn fuzz_sql(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(stmt) = sql::parse(&text) {
        // Canonical rendering parses back to the same statement.
        let again = sql::parse(&stmt.to_string());
        debug_assert_eq!(again.as_ref().ok(), Some(&stmt));
    }
    if let Ok(j) = job::parse(data) {
        for t in j.tasks {
            if let Some(q) = t.query {
                let _ = sql::parse(&q);
            }
        }
    }
}

// -- instances --------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Instance {
    id: String,
    project: String,
    owner_arn: String,
    task_name: String,
    task_kind: String,
    start: i64,
    end: i64,
    success: bool,
    /// `OK`, or the `ODPS-…` failure message pyodps raises.
    result: String,
}

#[derive(Default)]
struct Instances {
    inner: Mutex<InstanceMap>,
}

/// Instances by `<project>/<id>`, and their keys oldest first.
#[derive(Default)]
struct InstanceMap {
    map: HashMap<String, Arc<Instance>>,
    order: VecDeque<String>,
}

impl Instances {
    fn key(project: &str, id: &str) -> String {
        format!("{project}/{id}")
    }

    fn insert(&self, i: Instance) {
        let key = Self::key(&i.project, &i.id);
        let mut g = match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let InstanceMap { map, order } = &mut *g;
        while map.len() >= MAX_INSTANCES {
            match order.pop_front() {
                Some(old) => {
                    map.remove(&old);
                }
                None => map.clear(),
            }
        }
        order.push_back(key.clone());
        map.insert(key, Arc::new(i));
    }

    fn get(&self, project: &str, id: &str) -> Option<Arc<Instance>> {
        let g = match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        g.map.get(&Self::key(project, id)).cloned()
    }
}

fn random_lower(n: usize) -> Result<String, ApiError> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(n);
    let mut buf = [0u8; 32];
    while out.len() < n {
        ids::random_bytes(&mut buf).map_err(|_| ApiError::internal())?;
        for b in buf {
            // 252 = 7 * 36: rejection sampling keeps it uniform.
            if b < 252 && out.len() < n {
                out.push(char::from(ALPHABET[usize::from(b) % ALPHABET.len()]));
            }
        }
    }
    Ok(out)
}

/// `yyyyMMddHHmmssSSS` + `g` + random, like the vendor's instance ids.
fn instance_id(now_millis: i64) -> Result<String, ApiError> {
    let stamp = keyless_sign::format_iso8601_basic(now_millis.div_euclid(1000))
        .unwrap_or_default()
        .replace(['T', 'Z'], "");
    Ok(format!(
        "{stamp}{:03}g{}",
        now_millis.rem_euclid(1000),
        random_lower(12)?
    ))
}

// -- errors and XML ---------------------------------------------------------------------------

fn http_date(t: i64) -> String {
    keyless_sign::format_http_date(t).unwrap_or_default()
}

fn xml_resp(status: u16, body: String) -> HttpResp {
    HttpResp::new(
        status,
        "application/xml",
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{body}"),
    )
}

fn odps_err(status: u16, code: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(status, code, message)
}

fn no_such_object(message: impl Into<String>) -> ApiError {
    odps_err(404, "NoSuchObject", message)
}

fn no_such_project(name: &str) -> ApiError {
    odps_err(
        404,
        "NoSuchProject",
        format!("ODPS-0420111:Project not found - '{}'.", clip(name)),
    )
}

fn invalid_argument(message: impl Into<String>) -> ApiError {
    odps_err(400, "InvalidArgument", message)
}

/// The `acs:odps:*:<account>:projects/<p>[<rest>]` resource.
fn arn(account: &str, project: &str, rest: &str) -> String {
    format!("acs:odps:*:{account}:projects/{project}{rest}")
}

/// An ODPS-style denial: the vendor's message, with why the policies did not allow it.
fn denied(e: ApiError, action: &str, resource: &str) -> ApiError {
    if e.code != "NoPermission" {
        return e;
    }
    let why = e
        .denied
        .as_ref()
        .map(|d| format!(" ({}: {})", d.no_permission_type, d.diagnostic))
        .unwrap_or_default();
    let mut out = odps_err(
        403,
        "NoPermission",
        format!(
            "ODPS-0420095: Access Denied - You have NO privilege '{action}' on {{{resource}}}.{why}"
        ),
    );
    out.denied = e.denied;
    out
}

fn signature_error(e: SignError) -> ApiError {
    match &e {
        SignError::SignatureMismatch { .. } => odps_err(
            401,
            "SignatureNotMatch",
            format!(
                "ODPS-0410042:Invalid signature value - the signature does not match; the server \
                 string to sign is: {}",
                e.server_string_to_sign().unwrap_or("")
            ),
        ),
        SignError::TooLarge { .. } | SignError::TooMany { .. } => invalid_argument(format!(
            "ODPS-0420061:Invalid parameter in HTTP request - {e}"
        )),
        SignError::InvalidParameter(_)
        | SignError::BadEscape { .. }
        | SignError::InvalidUtf8 { .. } => invalid_argument(format!(
            "ODPS-0420061:Invalid parameter in HTTP request - {e}"
        )),
        _ => odps_err(
            400,
            "AuthorizationRequired",
            format!("ODPS-0410011:Invalid authentication parameters - {e}"),
        ),
    }
}

/// Maps the shared key/token resolution errors to what pyodps understands.
fn resolve_error(e: ApiError) -> ApiError {
    match e.code.as_str() {
        "InvalidSecurityToken.Expired" => odps_err(
            400,
            "AuthenticationRequestExpired",
            format!(
                "ODPS-0410031:Authentication request expired - {}",
                e.message
            ),
        ),
        c if c.starts_with("InvalidAccessKeyId")
            || c.starts_with("InvalidSecurityToken")
            || c == "MissingSecurityToken" =>
        {
            odps_err(
                401,
                "Unauthorized",
                format!("ODPS-0410051:Invalid credentials - {}", e.message),
            )
        }
        _ => e,
    }
}

// -- requests ---------------------------------------------------------------------------------

struct Req<'a> {
    http: &'a HttpReq,
    params: Vec<(String, String)>,
    caller: Caller,
    request_id: &'a str,
}

impl Req<'_> {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn has(&self, name: &str) -> bool {
        self.param(name).is_some()
    }
}

/// The `Host` header if it looks like a host (for URLs we hand back), else `localhost`.
fn host_of(http: &HttpReq) -> String {
    http.header("host")
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
        })
        .unwrap_or("localhost")
        .to_owned()
}

impl Odps {
    fn new(state: Arc<State>) -> Self {
        Odps {
            state,
            instances: Instances::default(),
        }
    }

    fn error(&self, e: &ApiError, request_id: &str) -> HttpResp {
        let code = if e.code == "InternalError" {
            "InternalServerError"
        } else {
            e.code.as_str()
        };
        if e.status >= 500 {
            tracing::error!(
                service = "maxcompute",
                request_id,
                code = %e.code,
                message = %e.message,
                "internal error"
            );
        }
        xml_resp(
            e.status,
            format!(
                "<Error><Code>{}</Code><Message>{}</Message><RequestId>{}</RequestId><HostId>{}</HostId></Error>",
                escape(code),
                escape(&e.message),
                escape(request_id),
                escape(&self.state.config().host_id)
            ),
        )
    }

    /// Verifies the signature over the path after `/api`, the key or STS token, and the `Date`.
    fn authenticate(&self, http: &HttpReq, rel_path: &str) -> Result<Caller, ApiError> {
        let Some(header) = http.header("authorization") else {
            return Err(odps_err(
                401,
                "AuthorizationRequired",
                "ODPS-0410001:Missing authentication parameters - the request has no Authorization header.",
            ));
        };
        let auth = sig::parse_authorization(header).map_err(signature_error)?;
        let token = http
            .header("authorization-sts-token")
            .map(str::trim)
            .filter(|t| !t.is_empty());
        let pending = keyless_auth::resolve(&self.state, auth.access_key_id(), token)
            .map_err(resolve_error)?;
        let parts = RequestParts {
            method: &http.method,
            raw_path: rel_path,
            raw_query: &http.query,
            headers: &http.headers,
        };
        let v = sig::verify(&parts, &auth, pending.secret()).map_err(signature_error)?;
        if let Some(scope) = v.scope() {
            if scope.region != self.state.config().region {
                return Err(odps_err(
                    401,
                    "SignatureNotMatch",
                    format!(
                        "ODPS-0410042:Invalid signature value - the V4 credential scope names region `{}`, this service is in `{}`.",
                        clip(scope.region),
                        self.state.config().region
                    ),
                ));
            }
            let day = keyless_sign::parse_iso8601_basic(&format!("{}T000000Z", scope.date))
                .map_err(|_| {
                    odps_err(
                        400,
                        "AuthorizationRequired",
                        "ODPS-0410011:Invalid authentication parameters - the V4 credential scope date is malformed.",
                    )
                })?;
            if (day - v.date().div_euclid(86_400) * 86_400).abs() > 86_400 {
                return Err(odps_err(
                    401,
                    "SignatureNotMatch",
                    format!(
                        "ODPS-0410042:Invalid signature value - the V4 credential scope day `{}` is not the day of the Date header.",
                        clip(scope.date)
                    ),
                ));
            }
        }
        let now = self.state.clock().now();
        let skew = self.state.config().max_skew_secs;
        if (v.date() - now).abs() > skew {
            let iso = |t: i64| {
                keyless_time::format_iso8601_millis(t.saturating_mul(1000)).unwrap_or_default()
            };
            return Err(odps_err(
                403,
                "RequestTimeTooSkewed",
                format!(
                    "max_interval_date:{},expire_date:{},now_date:{}",
                    skew.saturating_mul(1000),
                    iso(v.date().saturating_add(skew)),
                    iso(now)
                ),
            ));
        }
        pending.verified(&v).map_err(resolve_error)
    }

    fn allow(&self, r: &Req<'_>, action: &str, resource: &str) -> Result<(), ApiError> {
        let ctx = keyless_auth::request_context(&self.state, r.http.peer);
        keyless_auth::authorize(&self.state, &r.caller, action, resource, &ctx)
            .map_err(|e| denied(e, action, resource))
    }

    /// The project, if it exists and belongs to the caller's account.
    fn project(&self, r: &Req<'_>, name: &str) -> Result<catalog::Project, ApiError> {
        let name = name.to_ascii_lowercase();
        if !catalog::valid_project_name(&name) {
            return Err(no_such_project(&name));
        }
        let p = catalog::get_project(&self.state, &name)?.ok_or_else(|| no_such_project(&name))?;
        if p.owner_account != r.caller.account_id() {
            return Err(odps_err(
                403,
                "NoPermission",
                format!(
                    "ODPS-0420095: Access Denied - project '{name}' belongs to another account."
                ),
            ));
        }
        Ok(p)
    }

    /// Records the path template and, once authenticated, the caller in `access`.
    fn route(
        &self,
        http: &HttpReq,
        request_id: &str,
        access: &mut Access,
    ) -> Result<HttpResp, ApiError> {
        let Some(rel) = http
            .path
            .strip_prefix(PREFIX)
            .filter(|r| r.is_empty() || r.starts_with('/'))
        else {
            return Err(no_such_object(format!(
                "The resource does not exist: this service lives under `{PREFIX}`."
            )));
        };
        let mut segs: Vec<String> = Vec::new();
        for s in rel.split('/').skip(1) {
            if segs.len() >= MAX_PATH_SEGMENTS {
                return Err(no_such_object("The resource does not exist."));
            }
            segs.push(keyless_sign::percent_decode_path(s, "path").map_err(|e| {
                invalid_argument(format!(
                    "ODPS-0420061:Invalid parameter in HTTP request - {e}"
                ))
            })?);
        }
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        access.route = Some(path_template(&segs).into());
        // Answered without authentication: pyodps probes these and tolerates a bare 404.
        if matches!(
            segs.as_slice(),
            ["tenants"] | ["webconsole", "host"] | ["catalogapi"]
        ) {
            return Ok(HttpResp {
                status: 404,
                headers: vec![],
                body: Default::default(),
                access: Access::default(),
            });
        }
        let caller = self.authenticate(http, rel)?;
        access.caller = Some(caller.arn());
        let params = keyless_sign::form_decode(&http.query).map_err(|e| {
            invalid_argument(format!(
                "ODPS-0420061:Invalid parameter in HTTP request - {e}"
            ))
        })?;
        let r = Req {
            http,
            params,
            caller,
            request_id,
        };
        let m = http.method.as_str();
        match segs.as_slice() {
            ["logview", "host"] => match m {
                "GET" => Ok(HttpResp::new(
                    200,
                    "text/plain",
                    format!("http://{}", host_of(http)),
                )),
                _ => Err(method_not_allowed(m)),
            },
            ["projects", p] => match m {
                "GET" => self.get_project(&r, p),
                _ => Err(method_not_allowed(m)),
            },
            ["projects", p, "tables"] => match m {
                "GET" => self.list_tables(&r, p),
                _ => Err(method_not_allowed(m)),
            },
            ["projects", p, "tables", t] => match m {
                "GET" => self.get_table(&r, p, t),
                _ => Err(method_not_allowed(m)),
            },
            ["projects", p, "instances"] => match m {
                "POST" => self.create_instance(&r, p),
                _ => Err(method_not_allowed(m)),
            },
            ["projects", p, "instances", id] => match m {
                "GET" => self.get_instance(&r, p, id),
                _ => Err(method_not_allowed(m)),
            },
            ["projects", _, "schemas", ..] => Err(no_such_object(
                "ODPS-0110061:Schemas are not enabled - keyless projects have no schemas.",
            )),
            _ => Err(no_such_object(format!(
                "The resource `{}` does not exist.",
                clip(rel)
            ))),
        }
    }

    fn get_project(&self, r: &Req<'_>, name: &str) -> Result<HttpResp, ApiError> {
        let p = self.project(r, name)?;
        self.allow(r, "odps:GetProject", &arn(&p.owner_account, &p.name, ""))?;
        let owner = format!("acs:ram::{}:root", p.owner_account);
        let created = http_date(p.created_at);
        let mut resp = xml_resp(
            200,
            format!(
                "<Project><Name>{}</Name><Type>managed</Type><Comment></Comment><Owner>{}</Owner><State>AVAILABLE</State><CreationTime>{created}</CreationTime><LastModifiedTime>{created}</LastModifiedTime><ProjectGroupName></ProjectGroupName><Properties></Properties><Region>{}</Region></Project>",
                escape(&p.name),
                escape(&owner),
                escape(&self.state.config().region)
            ),
        );
        resp.headers.push(("x-odps-owner".into(), owner));
        resp.headers
            .push(("x-odps-creation-time".into(), created.clone()));
        resp.headers.push(("last-modified".into(), created));
        Ok(resp)
    }

    fn list_tables(&self, r: &Req<'_>, project: &str) -> Result<HttpResp, ApiError> {
        let p = self.project(r, project)?;
        self.allow(
            r,
            "odps:ListTables",
            &arn(&p.owner_account, &p.name, "/tables/*"),
        )?;
        let max_items = match r.param("maxitems") {
            None | Some("") => MAX_LIST_ITEMS,
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    invalid_argument(
                        "ODPS-0420061:Invalid parameter in HTTP request - maxitems must be a positive number.",
                    )
                })?
                .min(MAX_LIST_ITEMS),
        };
        let prefix = r.param("name").unwrap_or("").to_ascii_lowercase();
        let marker = r.param("marker").unwrap_or("").to_ascii_lowercase();
        let owner = r.param("owner").filter(|o| !o.is_empty());
        let managed_only = match r.param("type") {
            None | Some("") => true,
            Some(t) => t.eq_ignore_ascii_case("MANAGED_TABLE"),
        };
        let mut tables: Vec<catalog::Table> = if managed_only {
            catalog::list_tables(&self.state, &p.name, &prefix)?
        } else {
            Vec::new()
        };
        tables.retain(|t| t.name.as_str() > marker.as_str() && owner.is_none_or(|o| t.owner == o));
        let more = tables.len() > max_items;
        tables.truncate(max_items);
        let next = if more {
            tables.last().map(|t| t.name.clone()).unwrap_or_default()
        } else {
            String::new()
        };
        let mut body = String::from("<Tables>");
        for t in &tables {
            let _ = write!(
                body,
                "<Table><Name>{}</Name><TableId>{}</TableId><Owner>{}</Owner><Type>MANAGED_TABLE</Type><CreationTime>{}</CreationTime><LastModifiedTime>{}</LastModifiedTime></Table>",
                escape(&t.name),
                escape(&t.table_id),
                escape(&t.owner),
                http_date(t.created_at),
                http_date(t.last_modified)
            );
        }
        let _ = write!(
            body,
            "<Marker>{}</Marker><MaxItems>{max_items}</MaxItems></Tables>",
            escape(&next)
        );
        Ok(xml_resp(200, body))
    }

    fn get_table(&self, r: &Req<'_>, project: &str, name: &str) -> Result<HttpResp, ApiError> {
        let p = self.project(r, project)?;
        let name = name.to_ascii_lowercase();
        let not_found = || {
            no_such_object(format!(
                "ODPS-0130131:Table not found - table '{}.{}' does not exist.",
                p.name,
                clip(&name)
            ))
        };
        if !catalog::valid_table_name(&name) {
            return Err(not_found());
        }
        self.allow(
            r,
            "odps:GetTableInfo",
            &arn(&p.owner_account, &p.name, &format!("/tables/{name}")),
        )?;
        let t = catalog::get_table(&self.state, &p.name, &name)?.ok_or_else(not_found)?;
        let mut resp = xml_resp(
            200,
            format!(
                "<Table><Name>{}</Name><TableId>{}</TableId><Owner>{}</Owner><Type>MANAGED_TABLE</Type><Comment>{}</Comment><CreationTime>{}</CreationTime><LastModifiedTime>{}</LastModifiedTime><Schema>{}</Schema></Table>",
                escape(&t.name),
                escape(&t.table_id),
                escape(&t.owner),
                escape(&t.comment),
                http_date(t.created_at),
                http_date(t.last_modified),
                cdata(&t.schema_json())
            ),
        );
        resp.headers.push(("x-odps-owner".into(), t.owner.clone()));
        resp.headers
            .push(("x-odps-creation-time".into(), http_date(t.created_at)));
        resp.headers
            .push(("last-modified".into(), http_date(t.last_modified)));
        Ok(resp)
    }

    fn create_instance(&self, r: &Req<'_>, project: &str) -> Result<HttpResp, ApiError> {
        let p = self.project(r, project)?;
        self.allow(
            r,
            "odps:CreateInstance",
            &arn(&p.owner_account, &p.name, ""),
        )?;
        let job = job::parse(&r.http.body).map_err(|e| {
            invalid_argument(format!(
                "ODPS-0420031:Invalid XML in HTTP request body - {e}"
            ))
        })?;
        let [task] = job.tasks.as_slice() else {
            return Err(invalid_argument(format!(
                "ODPS-0420061:Invalid parameter in HTTP request - keyless runs jobs of exactly one task, this one has {}.",
                job.tasks.len()
            )));
        };
        let start = self.state.clock().now();
        let outcome = self.run_task(r, &p, task)?;
        let id = instance_id(self.state.clock().now_millis())?;
        let inst = Instance {
            id: id.clone(),
            project: p.name.clone(),
            owner_arn: r.caller.arn(),
            task_name: task.name.clone(),
            task_kind: task.kind.clone(),
            start,
            end: self.state.clock().now(),
            success: outcome.is_ok(),
            result: match outcome {
                Ok(s) | Err(s) => s,
            },
        };
        // The task has already run: answering its result makes this a synchronous instance to
        // pyodps (no status polling); the instance stays readable for clients that poll anyway.
        let mut resp = xml_resp(201, result_doc(&inst));
        self.instances.insert(inst);
        resp.headers.push((
            "location".into(),
            format!(
                "http://{}{PREFIX}/projects/{}/instances/{id}",
                host_of(r.http),
                p.name
            ),
        ));
        Ok(resp)
    }

    /// Runs one task; `Ok(Err(message))` is a failed instance, `Err` a failed request.
    fn run_task(
        &self,
        r: &Req<'_>,
        p: &catalog::Project,
        task: &job::Task,
    ) -> Result<Result<String, String>, ApiError> {
        if task.kind != "SQL" {
            return Ok(Err(format!(
                "ODPS-0130071:[0,0] Semantic analysis exception - keyless runs SQL tasks only, not `{}` tasks",
                clip(&task.kind)
            )));
        }
        let Some(query) = &task.query else {
            return Ok(Err(
                "ODPS-0130161:[0,0] Parse exception - the SQL task has no query".to_owned(),
            ));
        };
        let stmt = match sql::parse(query) {
            Ok(s) => s,
            Err(e) => {
                let (code, what) = match e.kind {
                    sql::ErrorKind::Syntax => ("ODPS-0130161", "Parse exception"),
                    sql::ErrorKind::Semantic | sql::ErrorKind::Unsupported => {
                        ("ODPS-0130071", "Semantic analysis exception")
                    }
                };
                return Ok(Err(format!(
                    "{code}:[{},{}] {what} - {}",
                    e.line, e.col, e.message
                )));
            }
        };
        match stmt {
            sql::Statement::CreateTable(c) => self.create_table(r, p, c),
            sql::Statement::DropTable(d) => self.drop_table(r, p, d),
        }
    }

    /// The project a statement names (or the instance's), checked like the instance's.
    fn statement_project(
        &self,
        r: &Req<'_>,
        p: &catalog::Project,
        named: Option<&str>,
    ) -> Result<Result<catalog::Project, String>, ApiError> {
        match named {
            None => Ok(Ok(p.clone())),
            Some(n) if n == p.name => Ok(Ok(p.clone())),
            Some(n) => match self.project(r, n) {
                Ok(other) => Ok(Ok(other)),
                Err(e) if e.status == 404 => Ok(Err(format!(
                    "ODPS-0130131:[0,0] Table not found - project '{n}' does not exist"
                ))),
                Err(e) if e.status == 403 => Ok(Err(format!(
                    "ODPS-0130013:Authorization exception - project '{n}' belongs to another account"
                ))),
                Err(e) => Err(e),
            },
        }
    }

    /// Table-level authorization inside an instance: a denial fails the instance.
    fn allow_in_task(
        &self,
        r: &Req<'_>,
        action: &str,
        resource: &str,
    ) -> Result<Result<(), String>, ApiError> {
        match self.allow(r, action, resource) {
            Ok(()) => Ok(Ok(())),
            Err(e) if e.code == "NoPermission" => Ok(Err(format!(
                "ODPS-0130013:Authorization exception - {}",
                e.message
                    .strip_prefix("ODPS-0420095: Access Denied - ")
                    .unwrap_or(&e.message)
            ))),
            Err(e) => Err(e),
        }
    }

    fn audit(&self, r: &Req<'_>, action: &str, target: &str, result: &str) {
        self.state.audit().record_sync(AuditRecord {
            time: self.state.clock().now(),
            request_id: r.request_id.to_owned(),
            account_id: r.caller.account_id().to_owned(),
            actor: r.caller.arn(),
            action: action.to_owned(),
            target: target.to_owned(),
            result: result.to_owned(),
            detail: String::new(),
        });
    }

    fn create_table(
        &self,
        r: &Req<'_>,
        p: &catalog::Project,
        c: sql::CreateTable,
    ) -> Result<Result<String, String>, ApiError> {
        let tp = match self.statement_project(r, p, c.table.project.as_deref())? {
            Ok(tp) => tp,
            Err(msg) => return Ok(Err(msg)),
        };
        let name = c.table.name.clone();
        let resource = arn(&tp.owner_account, &tp.name, &format!("/tables/{name}"));
        if let Err(msg) = self.allow_in_task(r, "odps:CreateTable", &resource)? {
            self.audit(r, "odps:CreateTable", &resource, "NoPermission");
            return Ok(Err(msg));
        }
        let exists = || {
            if c.if_not_exists {
                Ok("OK".to_owned())
            } else {
                Err(format!(
                    "ODPS-0130071:[1,1] Semantic analysis exception - Table or view already exists - '{}.{name}'",
                    tp.name
                ))
            }
        };
        if catalog::get_table(&self.state, &tp.name, &name)?.is_some() {
            return Ok(exists());
        }
        if catalog::count_tables(&self.state, &tp.name)? >= catalog::MAX_TABLES_PER_PROJECT {
            return Ok(Err(format!(
                "ODPS-0130071:[1,1] Semantic analysis exception - project '{}' already has the maximum of {} tables",
                tp.name,
                catalog::MAX_TABLES_PER_PROJECT
            )));
        }
        let now = self.state.clock().now();
        let mut id = [0u8; 16];
        ids::random_bytes(&mut id).map_err(|_| ApiError::internal())?;
        let t = catalog::Table {
            project: tp.name.clone(),
            name: name.clone(),
            table_id: id.iter().map(|b| format!("{b:02x}")).collect(),
            owner: r.caller.arn(),
            comment: c.comment,
            created_at: now,
            last_modified: now,
            last_ddl: now,
            lifecycle: c.lifecycle.map_or(-1, i64::from),
            columns: c.columns,
            partitions: c.partitions,
        };
        if !catalog::insert_table(&self.state, &t)? {
            return Ok(exists());
        }
        self.audit(r, "odps:CreateTable", &resource, "Success");
        Ok(Ok("OK".to_owned()))
    }

    fn drop_table(
        &self,
        r: &Req<'_>,
        p: &catalog::Project,
        d: sql::DropTable,
    ) -> Result<Result<String, String>, ApiError> {
        let tp = match self.statement_project(r, p, d.table.project.as_deref())? {
            Ok(tp) => tp,
            Err(msg) => return Ok(Err(msg)),
        };
        let name = d.table.name;
        let resource = arn(&tp.owner_account, &tp.name, &format!("/tables/{name}"));
        if let Err(msg) = self.allow_in_task(r, "odps:DropTable", &resource)? {
            self.audit(r, "odps:DropTable", &resource, "NoPermission");
            return Ok(Err(msg));
        }
        if catalog::delete_table(&self.state, &tp.name, &name)? {
            self.audit(r, "odps:DropTable", &resource, "Success");
            Ok(Ok("OK".to_owned()))
        } else if d.if_exists {
            Ok(Ok("OK".to_owned()))
        } else {
            Ok(Err(format!(
                "ODPS-0130131:[1,1] Table not found - table '{}.{name}' cannot be resolved",
                tp.name
            )))
        }
    }

    fn get_instance(&self, r: &Req<'_>, project: &str, id: &str) -> Result<HttpResp, ApiError> {
        let p = self.project(r, project)?;
        let valid_id =
            !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric());
        let found = if valid_id {
            self.instances.get(&p.name, id)
        } else {
            None
        };
        let own = found
            .as_ref()
            .is_some_and(|i| i.owner_arn == r.caller.arn());
        if !own {
            self.allow(
                r,
                "odps:GetInstance",
                &arn(
                    &p.owner_account,
                    &p.name,
                    &format!("/instances/{}", clip(id)),
                ),
            )?;
        }
        let Some(i) = found else {
            return Err(no_such_object(format!(
                "ODPS-0420111:Instance not found - '{}'.",
                clip(id)
            )));
        };
        for unsupported in [
            "detail",
            "info",
            "instancesummary",
            "instancequota",
            "source",
        ] {
            if r.has(unsupported) {
                return Err(invalid_argument(format!(
                    "ODPS-0420061:Invalid parameter in HTTP request - `{unsupported}` is not supported by keyless."
                )));
            }
        }
        let status = task_status(&i);
        let task_open = task_open(&i);
        let body = if r.has("result") {
            result_doc(&i)
        } else if r.has("taskstatus") {
            format!(
                "<Instance><Status>Terminated</Status><Tasks>{task_open}<StartTime>{}</StartTime><EndTime>{}</EndTime><Status>{status}</Status><Histories></Histories></Task></Tasks></Instance>",
                http_date(i.start),
                http_date(i.end)
            )
        } else if r.has("instanceprogress") {
            "<Progress></Progress>".to_owned()
        } else {
            format!(
                "<Instance><Name>{}</Name><Owner>{}</Owner><StartTime>{}</StartTime><EndTime>{}</EndTime><Status>Terminated</Status></Instance>",
                escape(&i.id),
                escape(&i.owner_arn),
                http_date(i.start),
                http_date(i.end)
            )
        };
        let mut resp = xml_resp(200, body);
        resp.headers
            .push(("x-odps-owner".into(), i.owner_arn.clone()));
        resp.headers
            .push(("x-odps-start-time".into(), http_date(i.start)));
        resp.headers
            .push(("x-odps-end-time".into(), http_date(i.end)));
        Ok(resp)
    }
}

fn task_status(i: &Instance) -> &'static str {
    if i.success {
        "Success"
    } else {
        "Failed"
    }
}

fn task_open(i: &Instance) -> String {
    format!(
        "<Task Type=\"{}\"><Name>{}</Name>",
        escape(&i.task_kind),
        escape(&i.task_name)
    )
}

/// The task results document (`?result`, and the body of a synchronous submission).
fn result_doc(i: &Instance) -> String {
    format!(
        "<Instance><Tasks>{}<Result Format=\"text\">{}</Result><Status>{}</Status></Task></Tasks></Instance>",
        task_open(i),
        cdata(&i.result),
        task_status(i)
    )
}

fn method_not_allowed(m: &str) -> ApiError {
    odps_err(
        405,
        "MethodNotAllowed",
        format!("The method `{}` is not allowed on this resource.", clip(m)),
    )
}

impl Handler for Odps {
    fn handle(&self, req: HttpReq) -> HttpResp {
        let request_id = ids::request_id();
        let mut access = Access::default();
        let result = self.route(&req, &request_id, &mut access);
        access.decide(
            result
                .as_ref()
                .is_err_and(|e| e.code == "NoPermission" && access.caller.is_some()),
        );
        let mut resp = match result {
            Ok(r) => r,
            Err(e) => self.error(&e, &request_id),
        };
        access.request_id = Some(request_id.clone());
        resp.access = access;
        resp.headers.push(("x-odps-request-id".into(), request_id));
        resp
    }

    fn service(&self) -> &'static str {
        "maxcompute"
    }

    fn reject(&self, status: u16, message: &str) -> HttpResp {
        let status = if (400..500).contains(&status) {
            status
        } else {
            400
        };
        let request_id = ids::request_id();
        let mut resp = self.error(
            &odps_err(
                status,
                "InvalidArgument",
                format!("ODPS-0420061:Invalid parameter in HTTP request - {message}"),
            ),
            &request_id,
        );
        resp.access.request_id = Some(request_id);
        resp
    }
}

/// The route of a request under `/api` as a template: names of projects, tables and instances
/// are left out of access lines.
fn path_template(segs: &[&str]) -> &'static str {
    match segs {
        ["tenants"] => "/tenants",
        ["webconsole", "host"] => "/webconsole/host",
        ["catalogapi"] => "/catalogapi",
        ["logview", "host"] => "/logview/host",
        ["projects", _] => "/projects/{project}",
        ["projects", _, "tables"] => "/projects/{project}/tables",
        ["projects", _, "tables", _] => "/projects/{project}/tables/{table}",
        ["projects", _, "instances"] => "/projects/{project}/instances",
        ["projects", _, "instances", _] => "/projects/{project}/instances/{instance}",
        ["projects", _, "schemas", ..] => "/projects/{project}/schemas/…",
        _ => "-",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn instance_ids_look_like_the_vendors() {
        let id = instance_id(1_795_840_441_119).unwrap();
        assert!(id.starts_with("20261128043401119g"), "{id}");
        assert_eq!(id.len(), 17 + 1 + 12);
    }

    #[test]
    fn fuzz_entry_survives_simple_inputs() {
        fuzz_sql(b"");
        fuzz_sql(b"CREATE TABLE t (a bigint)");
        fuzz_sql(b"<Instance><Job><Tasks><SQL><Query>DROP TABLE t</Query></SQL></Tasks></Job></Instance>");
        fuzz_sql(&[0xff, b'`', b'\'', b'"', b'/', b'*']);
    }
}
