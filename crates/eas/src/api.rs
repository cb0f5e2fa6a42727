//! The ROA routes of the EAS API (2021-07-01): authentication, `eas:<Action>` authorization on
//! `acs:eas:<region>:<uid>:service/<name>`, validation, and the vendor's response shapes.

use super::deploy;
use super::record::{self, RoleKind, Service};
use super::roles;
use super::spec::{self, ServiceSpec};
use super::Platform;
use keyless_auth::{authenticate, authorize, request_context, Caller, CallerKind};
use keyless_http::{Access, HttpReq};
use keyless_platform::error::ApiError;
use keyless_platform::ids;
use keyless_runner::InstanceState;
use keyless_store::AuditRecord;
use keyless_token::format_expiration as iso;
use serde_json::{json, Value};
use std::sync::Arc;

pub const VERSION: &str = "2021-07-01";
const DEFAULT_PAGE_SIZE: usize = 100;
const MAX_PAGE_SIZE: usize = 100;

/// One of the routes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    Create,
    List,
    Describe(String, String),
    Update(String, String),
    Delete(String, String),
    Start(String, String),
    Stop(String, String),
    Events(String, String),
    Instances(String, String),
}

impl Route {
    pub fn action(&self) -> &'static str {
        match self {
            Route::Create => "CreateService",
            Route::List => "ListServices",
            Route::Describe(..) => "DescribeService",
            Route::Update(..) => "UpdateService",
            Route::Delete(..) => "DeleteService",
            Route::Start(..) => "StartService",
            Route::Stop(..) => "StopService",
            Route::Events(..) => "DescribeServiceEvent",
            Route::Instances(..) => "ListServiceInstances",
        }
    }
}

fn not_found_api() -> ApiError {
    ApiError::new(
        404,
        "InvalidAction.NotFound",
        "Specified api is not found, please check your url and method.",
    )
}

/// Maps method and path to a route (path segments percent-decoded).
pub fn route(method: &str, path: &str) -> Result<Route, ApiError> {
    let rest = path
        .strip_prefix("/api/v2/services")
        .ok_or_else(not_found_api)?;
    let segs: Vec<String> = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| keyless_sign::percent_decode_path(s, "path"))
        .collect::<Result<_, _>>()
        .map_err(|_| ApiError::bad("InvalidParameter", "The request path is malformed."))?;
    let r = match (method, segs.as_slice()) {
        ("POST", []) => Route::Create,
        ("GET", []) => Route::List,
        ("GET", [c, n]) => Route::Describe(c.clone(), n.clone()),
        ("PUT", [c, n]) => Route::Update(c.clone(), n.clone()),
        ("DELETE", [c, n]) => Route::Delete(c.clone(), n.clone()),
        ("PUT", [c, n, op]) if op == "start" => Route::Start(c.clone(), n.clone()),
        ("PUT", [c, n, op]) if op == "stop" => Route::Stop(c.clone(), n.clone()),
        ("GET", [c, n, op]) if op == "events" => Route::Events(c.clone(), n.clone()),
        ("GET", [c, n, op]) if op == "instances" => Route::Instances(c.clone(), n.clone()),
        _ => return Err(not_found_api()),
    };
    Ok(r)
}

/// A request being served.
pub struct Call<'a> {
    pub p: &'a Arc<Platform>,
    pub http: &'a HttpReq,
    pub params: Vec<(String, String)>,
    pub caller: Caller,
    pub request_id: String,
}

impl Call<'_> {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    fn page(&self, name: &str, default: usize, max: usize) -> Result<usize, ApiError> {
        match self.param(name) {
            None => Ok(default),
            Some(v) => match v.trim().parse::<usize>() {
                Ok(n) if (1..=max).contains(&n) => Ok(n),
                _ => Err(ApiError::invalid(
                    name,
                    &format!("it must be an integer from 1 to {max}"),
                )),
            },
        }
    }

    fn account(&self) -> &str {
        self.caller.account_id()
    }

    fn region(&self) -> &str {
        &self.p.state.config().region
    }

    fn arn(&self, name: &str) -> String {
        format!(
            "acs:eas:{}:{}:service/{}",
            self.region(),
            self.account(),
            name
        )
    }

    fn authorize(&self, action: &str, name: &str) -> Result<(), ApiError> {
        let ctx = request_context(&self.p.state, self.http.peer);
        authorize(
            &self.p.state,
            &self.caller,
            &format!("eas:{action}"),
            &self.arn(name),
            &ctx,
        )
    }

    fn audit(&self, action: &str, name: &str, result: &str, detail: String) {
        self.p.state.audit().record(AuditRecord {
            time: self.p.state.clock().now(),
            request_id: self.request_id.clone(),
            account_id: self.account().to_owned(),
            actor: self.caller.arn(),
            action: format!("eas:{action}"),
            target: self.arn(name),
            result: result.to_owned(),
            detail,
        });
    }

    fn caller_uid(&self) -> String {
        match self.caller.kind() {
            CallerKind::Root => self.caller.account_id().to_owned(),
            CallerKind::User(user) => user.user_id.clone(),
            CallerKind::Session(claims) => claims.role_id.clone(),
        }
    }

    fn body_json(&self) -> Result<Value, ApiError> {
        let text = std::str::from_utf8(&self.http.body)
            .map_err(|_| ApiError::invalid("body", "it is not UTF-8 text"))?;
        if text.trim().is_empty() {
            return Err(ApiError::invalid("body", "the service JSON is missing"));
        }
        let v: Value = serde_json::from_str(text)
            .map_err(|e| ApiError::invalid("body", &format!("it is not valid JSON ({e})")))?;
        if !v.is_object() {
            return Err(ApiError::invalid("body", "it must be a JSON object"));
        }
        Ok(v)
    }

    /// The service `name` in region `cluster`, after authorizing `action` on it.
    fn load(&self, action: &str, cluster: &str, name: &str) -> Result<Service, ApiError> {
        self.authorize(action, name)?;
        let missing = || {
            ApiError::new(
                404,
                "ServiceNotFound",
                format!("Service {name} not found in region {cluster}."),
            )
        };
        if cluster != self.region() {
            return Err(missing());
        }
        record::get(&self.p.state, self.account(), name)?.ok_or_else(missing)
    }
}

fn labels_from(v: &Value, field: &str) -> Result<Vec<(String, String)>, ApiError> {
    let o = v
        .as_object()
        .ok_or_else(|| ApiError::invalid(field, "it must be a JSON object of strings"))?;
    let mut out = Vec::with_capacity(o.len());
    for (k, v) in o {
        let v = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => return Err(ApiError::invalid(field, "label values must be strings")),
        };
        if k.is_empty() || k.len() > 128 || v.len() > 256 {
            return Err(ApiError::invalid(field, "a label is empty or too long"));
        }
        out.push((k.clone(), v));
    }
    Ok(out)
}

/// Checks what a deployment needs beyond the JSON's shape: the workspace, the role rules.
fn check_spec(
    c: &Call<'_>,
    spec: &ServiceSpec,
    query_workspace: Option<&str>,
) -> Result<(roles::Resolved, String), ApiError> {
    let state = &c.p.state;
    let account = c.account();
    if let Some(w) = &spec.workspace_id {
        roles::workspace_of(state, account, w, "metadata.workspace_id")?;
    }
    if let Some(q) = query_workspace {
        roles::workspace_of(state, account, q, "WorkspaceId")?;
        if spec.workspace_id.as_deref().is_some_and(|w| w != q) {
            return Err(ApiError::invalid(
                "WorkspaceId",
                "it differs from metadata.workspace_id",
            ));
        }
    }
    if let (Some(m), spec::RoleChoice::None) = (spec.mounts.first(), &spec.role) {
        return Err(ApiError::invalid(
            &format!("storage[{}]", m.index),
            "OSS mounts are read with the service's RAM role: set options.enable_ram_role (with metadata.workspace_id, for the workspace's default bucket) or role_arn",
        ));
    }
    let ctx = request_context(state, c.http.peer);
    let resolved = roles::resolve(state, account, spec, Some((&c.caller, &ctx)))?;
    let workspace = spec
        .workspace_id
        .clone()
        .or_else(|| query_workspace.map(str::to_owned))
        .unwrap_or_default();
    Ok((resolved, workspace))
}

fn service_id() -> Result<String, ApiError> {
    let mut b = [0u8; 8];
    ids::random_bytes(&mut b).map_err(|_| ApiError::internal())?;
    Ok(format!(
        "eas-m-{}",
        b.iter().map(|x| format!("{x:02x}")).collect::<String>()
    ))
}

fn endpoint(spec_port: Option<u16>) -> String {
    spec_port
        .map(|p| format!("http://127.0.0.1:{p}"))
        .unwrap_or_default()
}

pub fn create(c: &Call<'_>) -> Result<Value, ApiError> {
    let config = c.body_json()?;
    let name = spec::name_of(&config)?;
    c.authorize("CreateService", &name)?;
    let result = create_inner(c, config, &name);
    match &result {
        Ok(v) => c.audit(
            "CreateService",
            &name,
            "Success",
            format!("ServiceId={}", v["ServiceId"].as_str().unwrap_or("")),
        ),
        Err(e) => c.audit("CreateService", &name, &e.code, e.message.clone()),
    }
    result
}

fn create_inner(c: &Call<'_>, config: Value, name: &str) -> Result<Value, ApiError> {
    let state = &c.p.state;
    let spec = spec::parse(&config)?;
    let (resolved, workspace) = check_spec(c, &spec, c.param("WorkspaceId"))?;
    let mut labels = match c.param("Labels") {
        Some(l) => {
            let v: Value = serde_json::from_str(l)
                .map_err(|_| ApiError::invalid("Labels", "it must be a JSON object of strings"))?;
            labels_from(&v, "Labels")?
        }
        None => Vec::new(),
    };
    if let Some(l) = config.get("labels").filter(|l| !l.is_null()) {
        for (k, v) in labels_from(l, "labels")? {
            if !labels.iter().any(|(k2, _)| *k2 == k) {
                labels.push((k, v));
            }
        }
    }
    let now = state.clock().now();
    let text = std::str::from_utf8(&c.http.body)
        .unwrap_or("")
        .trim()
        .to_owned();
    let svc = Service {
        account: c.account().to_owned(),
        name: name.to_owned(),
        id: service_id()?,
        region: c.region().to_owned(),
        config: text,
        status: "Creating".into(),
        reason: String::new(),
        message: "Service is being created".into(),
        desired_running: true,
        generation: 1,
        version: 1,
        labels,
        workspace_id: workspace,
        caller_uid: c.caller_uid(),
        role_arn: resolved.arn.clone(),
        role_kind: resolved.kind.clone(),
        session_policy: resolved.session_policy.clone(),
        total_instances: spec.instances,
        started_instances: 0,
        created_at: now,
        updated_at: now,
    };
    if !record::create(state, &svc)? {
        return Err(ApiError::new(
            409,
            "ServiceAlreadyExists",
            format!("Service {name} already exists in region {}.", c.region()),
        ));
    }
    record::event(
        state,
        &svc.id,
        false,
        "Creating",
        &format!("service {name} is being created by {}", c.caller.arn()),
    );
    deploy::spawn(c.p, &svc.account, name, svc.generation);
    Ok(json!({
        "ServiceId": svc.id,
        "ServiceName": name,
        "Status": "Creating",
        "Region": svc.region,
        "InternetEndpoint": "",
        "IntranetEndpoint": endpoint(spec.port),
    }))
}

fn labels_json(l: &[(String, String)]) -> Value {
    Value::Array(
        l.iter()
            .map(|(k, v)| json!({"LabelKey": k, "LabelValue": v}))
            .collect(),
    )
}

/// The vendor's `Service` object.
pub fn service_view(p: &Platform, s: &Service) -> Value {
    let spec = serde_json::from_str::<Value>(&s.config)
        .ok()
        .and_then(|v| spec::parse(&v).ok());
    let running = p
        .runner
        .status(&s.id)
        .iter()
        .filter(|st| st.state == InstanceState::Running)
        .count() as u32;
    let running = if s.desired_running { running } else { 0 };
    let total = s.total_instances;
    let pending = if s.desired_running && s.status != "Failed" {
        total.saturating_sub(running)
    } else {
        0
    };
    let get = |f: fn(&ServiceSpec) -> Option<i64>| spec.as_ref().and_then(f).unwrap_or(0);
    json!({
        "ServiceName": s.name,
        "ServiceId": s.id,
        "ServiceUid": s.id,
        "Status": s.status,
        "Reason": s.reason,
        "Message": s.message,
        "Region": s.region,
        "RunningInstance": running,
        "PendingInstance": pending,
        "TotalInstance": total,
        "Image": spec.as_ref().and_then(|x| x.image.clone()).unwrap_or_default(),
        "Cpu": get(|x| x.cpu),
        "Memory": get(|x| x.memory),
        "Gpu": get(|x| x.gpu),
        "ServiceConfig": s.config,
        "WorkspaceId": s.workspace_id,
        "CreateTime": iso(s.created_at),
        "UpdateTime": iso(s.updated_at),
        "Labels": labels_json(&s.labels),
        "CallerUid": s.caller_uid,
        "ParentUid": s.account,
        "CurrentVersion": s.version,
        "LatestVersion": s.version,
        "InternetEndpoint": "",
        "IntranetEndpoint": endpoint(spec.as_ref().and_then(|x| x.port)),
        "AccessToken": "",
        "Source": "keyless",
    })
}

pub fn describe(c: &Call<'_>, cluster: &str, name: &str) -> Result<Value, ApiError> {
    let s = c.load("DescribeService", cluster, name)?;
    Ok(service_view(c.p, &s))
}

pub fn list(c: &Call<'_>) -> Result<Value, ApiError> {
    c.authorize("ListServices", "*")?;
    let number = c.page("PageNumber", 1, usize::MAX)?;
    let size = c.page("PageSize", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)?;
    let label_filter = match c.param("Label") {
        Some(l) => {
            let v: Value = serde_json::from_str(l)
                .map_err(|_| ApiError::invalid("Label", "it must be a JSON object of strings"))?;
            labels_from(&v, "Label")?
        }
        None => Vec::new(),
    };
    let mut all = record::list(&c.p.state, c.account())?;
    all.retain(|s| {
        c.param("ServiceName").is_none_or(|n| s.name.contains(n))
            && c.param("Filter").is_none_or(|n| s.name.contains(n))
            && c.param("ServiceStatus").is_none_or(|st| s.status == st)
            && c.param("WorkspaceId").is_none_or(|w| s.workspace_id == w)
            && label_filter.iter().all(|l| s.labels.contains(l))
    });
    match c.param("Sort") {
        None | Some("CreateTime") => {
            all.sort_by(|a, b| (a.created_at, &a.name).cmp(&(b.created_at, &b.name)))
        }
        Some("ServiceName") => all.sort_by(|a, b| a.name.cmp(&b.name)),
        Some("UpdateTime") => all.sort_by_key(|s| s.updated_at),
        Some(_) => {
            return Err(ApiError::invalid(
                "Sort",
                "it must be CreateTime, UpdateTime or ServiceName",
            ))
        }
    }
    match c.param("Order") {
        None | Some("desc") => all.reverse(),
        Some("asc") => {}
        Some(_) => return Err(ApiError::invalid("Order", "it must be asc or desc")),
    }
    let total = all.len();
    let page: Vec<Value> = all
        .iter()
        .skip(number.saturating_sub(1).saturating_mul(size))
        .take(size)
        .map(|s| service_view(c.p, s))
        .collect();
    Ok(json!({
        "PageNumber": number,
        "PageSize": size,
        "TotalCount": total,
        "Services": page,
    }))
}

pub fn update(c: &Call<'_>, cluster: &str, name: &str) -> Result<Value, ApiError> {
    let result = update_inner(c, cluster, name);
    match &result {
        Ok(_) => c.audit("UpdateService", name, "Success", String::new()),
        Err(e) => c.audit("UpdateService", name, &e.code, e.message.clone()),
    }
    result
}

fn update_inner(c: &Call<'_>, cluster: &str, name: &str) -> Result<Value, ApiError> {
    let state = &c.p.state;
    let svc = c.load("UpdateService", cluster, name)?;
    let patch = c.body_json()?;
    let replace = match c.param("UpdateType") {
        None | Some("merge") => false,
        Some("replace") => true,
        Some(_) => {
            return Err(ApiError::invalid(
                "UpdateType",
                "it must be merge or replace",
            ))
        }
    };
    let mut config = if replace {
        patch.clone()
    } else {
        let mut base: Value = serde_json::from_str(&svc.config).unwrap_or_else(|_| json!({}));
        spec::merge(&mut base, &patch);
        base
    };
    let has_name = config.get("name").is_some()
        || config.get("metadata").and_then(|m| m.get("name")).is_some();
    if has_name {
        let given = spec::name_of(&config)?;
        if given != name {
            return Err(ApiError::invalid("name", "a service cannot be renamed"));
        }
    } else if let Some(o) = config.as_object_mut() {
        o.insert("name".into(), Value::String(name.to_owned()));
    }
    let spec = spec::parse(&config)?;
    let (resolved, workspace) = check_spec(c, &spec, None)?;
    let labels = match config.get("labels").filter(|l| !l.is_null()) {
        Some(l) => Some(labels_from(l, "labels")?),
        None => None,
    };
    let text = if replace && has_name {
        std::str::from_utf8(&c.http.body)
            .unwrap_or("")
            .trim()
            .to_owned()
    } else {
        config.to_string()
    };
    let by = c.caller.arn();
    let updated = record::update(state, c.account(), name, |s| {
        s.config = text;
        s.version += 1;
        s.generation += 1;
        s.total_instances = spec.instances;
        s.workspace_id = workspace;
        s.role_arn = resolved.arn.clone();
        s.role_kind = resolved.kind.clone();
        s.session_policy = resolved.session_policy.clone();
        if let Some(l) = labels {
            for (k, v) in l {
                match s.labels.iter_mut().find(|(k2, _)| *k2 == k) {
                    Some(e) => e.1 = v,
                    None => s.labels.push((k, v)),
                }
            }
        }
        s.reason = String::new();
        if s.desired_running {
            s.status = "Updating".into();
            s.message = "Service is being updated".into();
        }
    })?;
    let Some((s, ())) = updated else {
        return Err(ApiError::new(
            404,
            "ServiceNotFound",
            format!("Service {name} not found in region {cluster}."),
        ));
    };
    record::event(
        state,
        &s.id,
        false,
        "Updating",
        &format!("version {} submitted by {by}", s.version),
    );
    if s.desired_running {
        deploy::spawn(c.p, &s.account, name, s.generation);
    }
    Ok(json!({"Message": format!("Service [{name}] is updating")}))
}

pub fn delete(c: &Call<'_>, cluster: &str, name: &str) -> Result<Value, ApiError> {
    let svc = match c.load("DeleteService", cluster, name) {
        Ok(s) => s,
        Err(e) => {
            c.audit("DeleteService", name, &e.code, e.message.clone());
            return Err(e);
        }
    };
    record::delete(&c.p.state, &svc)?;
    c.p.runner.stop_service(&svc.id);
    deploy::spawn_cleanup(c.p, svc.clone(), true);
    c.audit(
        "DeleteService",
        name,
        "Success",
        format!("ServiceId={}", svc.id),
    );
    Ok(json!({"Message": format!("Service [{name}] is deleting")}))
}

pub fn start(c: &Call<'_>, cluster: &str, name: &str) -> Result<Value, ApiError> {
    let state = &c.p.state;
    let svc = c.load("StartService", cluster, name)?;
    if svc.desired_running
        && matches!(
            svc.status.as_str(),
            "Running" | "Creating" | "Starting" | "Updating"
        )
    {
        return Ok(
            json!({"Message": format!("Service [{name}] is already {}", svc.status.to_lowercase())}),
        );
    }
    let by = c.caller.arn();
    let Some((s, ())) = record::update(state, c.account(), name, |s| {
        s.desired_running = true;
        s.generation += 1;
        s.status = "Starting".into();
        s.reason = String::new();
        s.message = "Service is starting".into();
    })?
    else {
        return Err(ApiError::new(
            404,
            "ServiceNotFound",
            format!("Service {name} not found in region {cluster}."),
        ));
    };
    record::event(state, &s.id, false, "Starting", &format!("started by {by}"));
    deploy::spawn(c.p, &s.account, name, s.generation);
    c.audit("StartService", name, "Success", String::new());
    Ok(json!({"Message": format!("Service [{name}] is starting")}))
}

pub fn stop(c: &Call<'_>, cluster: &str, name: &str) -> Result<Value, ApiError> {
    let state = &c.p.state;
    let _ = c.load("StopService", cluster, name)?;
    let by = c.caller.arn();
    let Some((s, ())) = record::update(state, c.account(), name, |s| {
        s.desired_running = false;
        s.generation += 1;
        s.status = "Stopped".into();
        s.reason = String::new();
        s.message = "Service is stopped".into();
        s.started_instances = 0;
    })?
    else {
        return Err(ApiError::new(
            404,
            "ServiceNotFound",
            format!("Service {name} not found in region {cluster}."),
        ));
    };
    // Tokens stay known (their agents get 403 while the service is stopped); the next
    // deployment revokes them.
    c.p.runner.stop_service(&s.id);
    record::event(state, &s.id, false, "Stopped", &format!("stopped by {by}"));
    deploy::spawn_cleanup(c.p, s, false);
    c.audit("StopService", name, "Success", String::new());
    Ok(json!({"Message": format!("Service [{name}] is stopped")}))
}

/// `YYYY-MM-DDTHH:MM:SSZ` or `YYYY-MM-DD HH:MM:SS` (UTC) → unix seconds.
fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim().trim_end_matches('Z');
    let (d, t) = s.split_once(['T', ' '])?;
    let mut dp = d.split('-').map(|x| x.parse::<i64>().ok());
    let (y, mo, da) = (dp.next()??, dp.next()??, dp.next()??);
    let mut tp = t.split(':').map(|x| x.parse::<i64>().ok());
    let (h, mi, se) = (tp.next()??, tp.next()??, tp.next().unwrap_or(Some(0))?);
    let n = |x: i64| u32::try_from(x).ok();
    // A leap second (`:60`) is read as the next second, as before; an impossible date (Feb 31)
    // is refused rather than rolled over into the next month.
    let leap = i64::from(se == 60);
    let t = keyless_time::unix_from_civil(y, n(mo)?, n(da)?, n(h)?, n(mi)?, n(se - leap)?)?;
    Some(t + leap)
}

pub fn events(c: &Call<'_>, cluster: &str, name: &str) -> Result<Value, ApiError> {
    let s = c.load("DescribeServiceEvent", cluster, name)?;
    let number = c.page("PageNum", 1, usize::MAX)?;
    let size = c.page("PageSize", DEFAULT_PAGE_SIZE, 1000)?;
    let kind = match c.param("EventType") {
        None => None,
        Some(k @ ("Normal" | "Warning")) => Some(k),
        Some(_) => {
            return Err(ApiError::invalid(
                "EventType",
                "it must be Normal or Warning",
            ))
        }
    };
    let time = |p: &str| -> Result<Option<i64>, ApiError> {
        c.param(p)
            .map(|v| {
                parse_time(v).ok_or_else(|| {
                    ApiError::invalid(p, "it must be a time such as 2024-05-21 10:39:29 (UTC)")
                })
            })
            .transpose()
    };
    let (from, to) = (time("StartTime")?, time("EndTime")?);
    let prefix = c.param("InstanceName").map(|i| format!("[{i}] "));
    let all: Vec<_> =
        c.p.state
            .store()
            .list_events(&s.stream())?
            .into_iter()
            .filter(|e| kind.is_none_or(|k| e.kind == k))
            .filter(|e| from.is_none_or(|f| e.time >= f) && to.is_none_or(|t| e.time <= t))
            .filter(|e| prefix.as_deref().is_none_or(|p| e.message.starts_with(p)))
            .collect();
    let total = all.len();
    let events: Vec<Value> = all
        .iter()
        .skip(number.saturating_sub(1).saturating_mul(size))
        .take(size)
        .map(|e| json!({"Type": e.kind, "Reason": e.reason, "Message": e.message, "Time": iso(e.time)}))
        .collect();
    Ok(json!({
        "PageNum": number,
        "TotalCount": total,
        "TotalPageNum": total.div_ceil(size),
        "Events": events,
    }))
}

pub fn instances(c: &Call<'_>, cluster: &str, name: &str) -> Result<Value, ApiError> {
    let s = c.load("ListServiceInstances", cluster, name)?;
    let number = c.page("PageNumber", 1, usize::MAX)?;
    let size = c.page("PageSize", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)?;
    let port = serde_json::from_str::<Value>(&s.config)
        .ok()
        .and_then(|v| spec::parse(&v).ok())
        .and_then(|x| x.port)
        .unwrap_or(0);
    let statuses = c.p.runner.status(&s.id);
    let mut out: Vec<Value> = Vec::new();
    for inst in record::instances(&c.p.state, &s.account, &s.name)? {
        let st = statuses.iter().find(|x| x.instance == inst.name);
        let status = match st {
            Some(x) => x.state.as_str().to_owned(),
            None if s.status == "Running" => "Pending".to_owned(),
            None => s.status.clone(),
        };
        let ready = st.is_some_and(|x| x.state == InstanceState::Running);
        let started = st.and_then(|x| x.started_at).unwrap_or(inst.created_at);
        out.push(json!({
            "InstanceName": inst.name,
            "Status": status,
            "ReadyProcesses": u32::from(ready),
            "TotalProcesses": 1,
            "RestartCount": st.map(|x| x.restart_count).unwrap_or(0),
            "StartAt": iso(started),
            "StartTime": iso(started),
            "HostIP": "127.0.0.1",
            "HostName": "localhost",
            "InstanceIP": "127.0.0.1",
            "InnerIP": "127.0.0.1",
            "InstancePort": port,
            "Reason": st.and_then(|x| x.last_exit.clone()).unwrap_or_default(),
            "LastState": [],
            "Role": if s.role_kind == RoleKind::None { "" } else { "RamRole" },
        }));
    }
    out.retain(|i| {
        c.param("InstanceName")
            .is_none_or(|n| i["InstanceName"] == n)
            && c.param("InstanceStatus").is_none_or(|st| i["Status"] == st)
    });
    let total = out.len();
    let page: Vec<Value> = out
        .into_iter()
        .skip(number.saturating_sub(1).saturating_mul(size))
        .take(size)
        .collect();
    Ok(json!({
        "PageNumber": number,
        "PageSize": size,
        "TotalCount": total,
        "Instances": page,
    }))
}

/// Authenticates and runs one API request; the object returned becomes the body (with
/// `RequestId`).
/// Records the route and, once authenticated, the caller in `access`.
pub fn serve(
    p: &Arc<Platform>,
    http: &HttpReq,
    request_id: &str,
    access: &mut Access,
) -> Result<Value, ApiError> {
    let r = route(&http.method, &http.path)?;
    access.route = Some(r.action().into());
    if let Some(a) = http.header("x-acs-action") {
        if a != r.action() {
            return Err(ApiError::bad(
                "InvalidParameter",
                format!(
                    "The x-acs-action header ({a}) does not match the request path ({}).",
                    r.action()
                ),
            ));
        }
    }
    if let Some(v) = http.header("x-acs-version") {
        if v != VERSION {
            return Err(ApiError::bad(
                "InvalidVersion",
                "Specified parameter Version is not valid.",
            ));
        }
    }
    if http.header("authorization").is_none() {
        return Err(ApiError::bad(
            "MissingAuthorization",
            "The Authorization header is required: sign the request with ACS3-HMAC-SHA256 (V3) or ROA v2.",
        ));
    }
    let params = keyless_sign::form_decode(&http.query).map_err(|e| {
        ApiError::bad(
            "InvalidParameter",
            format!("The query string is malformed: {e}."),
        )
    })?;
    let caller = authenticate(&p.state, http, &params)?;
    access.caller = Some(caller.arn());
    let c = Call {
        p,
        http,
        params,
        caller,
        request_id: request_id.to_owned(),
    };
    match &r {
        Route::Create => create(&c),
        Route::List => list(&c),
        Route::Describe(cl, n) => describe(&c, cl, n),
        Route::Update(cl, n) => update(&c, cl, n),
        Route::Delete(cl, n) => delete(&c, cl, n),
        Route::Start(cl, n) => start(&c, cl, n),
        Route::Stop(cl, n) => stop(&c, cl, n),
        Route::Events(cl, n) => events(&c, cl, n),
        Route::Instances(cl, n) => instances(&c, cl, n),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(route("POST", "/api/v2/services").unwrap(), Route::Create);
        assert_eq!(route("GET", "/api/v2/services/").unwrap(), Route::List);
        assert_eq!(
            route("GET", "/api/v2/services/cn-hangzhou/a_b").unwrap(),
            Route::Describe("cn-hangzhou".into(), "a_b".into())
        );
        assert_eq!(
            route("PUT", "/api/v2/services/cn-hangzhou/x/stop").unwrap(),
            Route::Stop("cn-hangzhou".into(), "x".into())
        );
        assert_eq!(
            route("GET", "/api/v2/services/r/x/events")
                .unwrap()
                .action(),
            "DescribeServiceEvent"
        );
        for (m, p) in [
            ("DELETE", "/api/v2/services"),
            ("GET", "/api/v2/other"),
            ("PUT", "/api/v2/services/r/x/restart"),
            ("GET", "/api/v2/services/r/x/y/z"),
        ] {
            assert_eq!(route(m, p).unwrap_err().status, 404, "{m} {p}");
        }
    }

    #[test]
    fn times() {
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_time("2024-05-21 10:39:29"), Some(1_716_287_969));
        assert_eq!(
            parse_time("2024-05-21T10:39:29Z"),
            keyless_token::parse_expiration("2024-05-21T10:39:29Z").ok()
        );
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time("2024-02-31T00:00:00Z"), None);
        assert_eq!(parse_time("2024-02-29T00:00:00Z"), Some(1_709_164_800));
        assert_eq!(parse_time("1970-01-01T00:00:60Z"), Some(60));
    }
}
