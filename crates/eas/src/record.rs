//! What the control plane persists: services (`eas.service`, key `<account>/<name>`), the
//! service-id index (`eas.sid`), instances (`eas.instance`, key `<account>/<name>/<i>`) and agent
//! tokens by their SHA-256 (`eas.token`), plus each service's event stream `eas/<ServiceId>`.

use keyless_platform::error::ApiError;
use keyless_platform::state::State;
use keyless_store::Event;
use serde_json::{json, Value};
use std::sync::Mutex;

pub const SERVICE_KIND: &str = "eas.service";
pub const SID_KIND: &str = "eas.sid";
pub const INSTANCE_KIND: &str = "eas.instance";
pub const TOKEN_KIND: &str = "eas.token";

/// Read-modify-write of service records is serialised through this (short sections only).
static RMW: Mutex<()> = Mutex::new(());

/// Which kind of role a service runs with, once resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoleKind {
    None,
    /// The PAI default role (the service-linked role), narrowed by a session policy.
    Default,
    Custom,
}

impl RoleKind {
    fn as_str(&self) -> &'static str {
        match self {
            RoleKind::None => "",
            RoleKind::Default => "default",
            RoleKind::Custom => "custom",
        }
    }
    fn parse(s: &str) -> RoleKind {
        match s {
            "default" => RoleKind::Default,
            "custom" => RoleKind::Custom,
            _ => RoleKind::None,
        }
    }
}

/// A service as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    pub account: String,
    pub name: String,
    pub id: String,
    pub region: String,
    /// The service JSON as submitted (or as merged by UpdateService).
    pub config: String,
    pub status: String,
    pub reason: String,
    pub message: String,
    /// Whether the user wants it running (Create/Start/Update vs Stop); `resume` redeploys these.
    pub desired_running: bool,
    /// Bumped by every deployment request; a deployment that sees another number stops.
    pub generation: u64,
    pub version: u64,
    pub labels: Vec<(String, String)>,
    pub workspace_id: String,
    pub caller_uid: String,
    /// The role instances get credentials for (`role_kind` None: empty).
    pub role_arn: String,
    pub role_kind: RoleKind,
    pub session_policy: Option<String>,
    pub total_instances: u32,
    /// Instances handed to the runner by the current deployment.
    pub started_instances: u32,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Service {
    pub fn key(&self) -> String {
        key(&self.account, &self.name)
    }

    /// The event stream (the runner's events land there too).
    pub fn stream(&self) -> String {
        stream(&self.id)
    }

    pub fn to_json(&self) -> String {
        json!({
            "Account": self.account, "Name": self.name, "Id": self.id, "Region": self.region,
            "Config": self.config, "Status": self.status, "Reason": self.reason,
            "Message": self.message, "DesiredRunning": self.desired_running,
            "Generation": self.generation, "Version": self.version,
            "Labels": self.labels.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
            "WorkspaceId": self.workspace_id, "CallerUid": self.caller_uid,
            "RoleArn": self.role_arn, "RoleKind": self.role_kind.as_str(),
            "SessionPolicy": self.session_policy,
            "TotalInstances": self.total_instances, "StartedInstances": self.started_instances,
            "CreatedAt": self.created_at, "UpdatedAt": self.updated_at,
        })
        .to_string()
    }

    pub fn from_json(s: &str) -> Option<Service> {
        let v: Value = serde_json::from_str(s).ok()?;
        let st = |k: &str| v[k].as_str().map(str::to_owned);
        Some(Service {
            account: st("Account")?,
            name: st("Name")?,
            id: st("Id")?,
            region: st("Region")?,
            config: st("Config")?,
            status: st("Status")?,
            reason: st("Reason").unwrap_or_default(),
            message: st("Message").unwrap_or_default(),
            desired_running: v["DesiredRunning"].as_bool()?,
            generation: v["Generation"].as_u64()?,
            version: v["Version"].as_u64()?,
            labels: v["Labels"]
                .as_array()?
                .iter()
                .filter_map(|p| Some((p[0].as_str()?.to_owned(), p[1].as_str()?.to_owned())))
                .collect(),
            workspace_id: st("WorkspaceId").unwrap_or_default(),
            caller_uid: st("CallerUid").unwrap_or_default(),
            role_arn: st("RoleArn").unwrap_or_default(),
            role_kind: RoleKind::parse(v["RoleKind"].as_str().unwrap_or("")),
            session_policy: st("SessionPolicy"),
            total_instances: v["TotalInstances"].as_u64().unwrap_or(0) as u32,
            started_instances: v["StartedInstances"].as_u64().unwrap_or(0) as u32,
            created_at: v["CreatedAt"].as_i64()?,
            updated_at: v["UpdatedAt"].as_i64()?,
        })
    }
}

pub fn key(account: &str, name: &str) -> String {
    format!("{account}/{name}")
}

pub fn stream(service_id: &str) -> String {
    format!("eas/{service_id}")
}

pub fn get(state: &State, account: &str, name: &str) -> Result<Option<Service>, ApiError> {
    Ok(state
        .store()
        .get_record(SERVICE_KIND, &key(account, name))?
        .as_deref()
        .and_then(Service::from_json))
}

/// Every service of `account`.
pub fn list(state: &State, account: &str) -> Result<Vec<Service>, ApiError> {
    Ok(state
        .store()
        .list_records(SERVICE_KIND, &format!("{account}/"))?
        .iter()
        .filter_map(|(_, v)| Service::from_json(v))
        .collect())
}

/// Every service of every account (for `resume`).
pub fn list_all(state: &State) -> Result<Vec<Service>, ApiError> {
    Ok(state
        .store()
        .list_records(SERVICE_KIND, "")?
        .iter()
        .filter_map(|(_, v)| Service::from_json(v))
        .collect())
}

/// Creates the record (and its id index); `false` when the name is taken.
pub fn create(state: &State, s: &Service) -> Result<bool, ApiError> {
    match state
        .store()
        .create_record(SERVICE_KIND, &s.key(), &s.to_json(), s.created_at)
    {
        Ok(()) => {}
        Err(keyless_store::StoreError::AlreadyExists(..)) => return Ok(false),
        Err(e) => return Err(e.into()),
    }
    state
        .store()
        .put_record(SID_KIND, &s.id, &s.key(), s.created_at)?;
    Ok(true)
}

/// Applies `f` to the stored service under the read-modify-write lock; `None` when it is gone.
pub fn update<R>(
    state: &State,
    account: &str,
    name: &str,
    f: impl FnOnce(&mut Service) -> R,
) -> Result<Option<(Service, R)>, ApiError> {
    let _g = RMW.lock().unwrap_or_else(|p| p.into_inner());
    let Some(mut s) = get(state, account, name)? else {
        return Ok(None);
    };
    let r = f(&mut s);
    s.updated_at = state.clock().now();
    state
        .store()
        .put_record(SERVICE_KIND, &s.key(), &s.to_json(), s.updated_at)?;
    Ok(Some((s, r)))
}

/// Updates the service only while `generation` is still current; `false` otherwise.
pub fn update_if_current(
    state: &State,
    account: &str,
    name: &str,
    generation: u64,
    f: impl FnOnce(&mut Service),
) -> bool {
    let _g = RMW.lock().unwrap_or_else(|p| p.into_inner());
    let Ok(Some(mut s)) = get(state, account, name) else {
        return false;
    };
    if s.generation != generation {
        return false;
    }
    f(&mut s);
    s.updated_at = state.clock().now();
    state
        .store()
        .put_record(SERVICE_KIND, &s.key(), &s.to_json(), s.updated_at)
        .is_ok()
}

/// Removes the service, its id index, instances, tokens and events.
pub fn delete(state: &State, s: &Service) -> Result<(), ApiError> {
    {
        let _g = RMW.lock().unwrap_or_else(|p| p.into_inner());
        state.store().delete_record(SERVICE_KIND, &s.key())?;
    }
    revoke_instances(state, &s.account, &s.name)?;
    state.store().delete_record(SID_KIND, &s.id)?;
    state.store().delete_events(&s.stream())?;
    Ok(())
}

/// Whether a service id is live (the runner's late events for deleted services are dropped).
pub fn service_id_exists(state: &State, id: &str) -> bool {
    matches!(state.store().get_record(SID_KIND, id), Ok(Some(_)))
}

/// Appends an event to the service's stream.
pub fn event(state: &State, service_id: &str, warning: bool, reason: &str, message: &str) {
    let ev = Event {
        time: state.clock().now(),
        kind: if warning { "Warning" } else { "Normal" }.into(),
        reason: reason.to_owned(),
        message: message.to_owned(),
    };
    if let Err(e) = state.store().append_event(&stream(service_id), &ev) {
        tracing::error!(service_id, error = %e, "eas: cannot record an event");
    }
}

/// An instance as stored: which token (by hash) it holds and which deployment made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instance {
    pub account: String,
    pub service: String,
    pub service_id: String,
    pub index: u32,
    pub name: String,
    pub generation: u64,
    /// Hex SHA-256 of the agent token.
    pub token_sha256: String,
    pub created_at: i64,
}

impl Instance {
    pub fn key(&self) -> String {
        format!("{}/{}/{}", self.account, self.service, self.index)
    }

    fn to_json(&self) -> String {
        json!({
            "Account": self.account, "Service": self.service, "ServiceId": self.service_id,
            "Index": self.index, "Name": self.name, "Generation": self.generation,
            "TokenSha256": self.token_sha256, "CreatedAt": self.created_at,
        })
        .to_string()
    }

    fn from_json(s: &str) -> Option<Instance> {
        let v: Value = serde_json::from_str(s).ok()?;
        let st = |k: &str| v[k].as_str().map(str::to_owned);
        Some(Instance {
            account: st("Account")?,
            service: st("Service")?,
            service_id: st("ServiceId")?,
            index: v["Index"].as_u64()? as u32,
            name: st("Name")?,
            generation: v["Generation"].as_u64()?,
            token_sha256: st("TokenSha256")?,
            created_at: v["CreatedAt"].as_i64()?,
        })
    }
}

/// Stores an instance and its token index.
pub fn put_instance(state: &State, i: &Instance) -> Result<(), ApiError> {
    state
        .store()
        .put_record(TOKEN_KIND, &i.token_sha256, &i.key(), i.created_at)?;
    state
        .store()
        .put_record(INSTANCE_KIND, &i.key(), &i.to_json(), i.created_at)?;
    Ok(())
}

pub fn instances(state: &State, account: &str, name: &str) -> Result<Vec<Instance>, ApiError> {
    let mut v: Vec<Instance> = state
        .store()
        .list_records(INSTANCE_KIND, &format!("{account}/{name}/"))?
        .iter()
        .filter_map(|(_, v)| Instance::from_json(v))
        .collect();
    v.sort_by_key(|i| i.index);
    Ok(v)
}

/// The instance holding the token whose hash is `token_sha256`.
pub fn instance_by_token(state: &State, token_sha256: &str) -> Result<Option<Instance>, ApiError> {
    let Some(ikey) = state.store().get_record(TOKEN_KIND, token_sha256)? else {
        return Ok(None);
    };
    Ok(state
        .store()
        .get_record(INSTANCE_KIND, &ikey)?
        .as_deref()
        .and_then(Instance::from_json))
}

/// Forgets every instance of the service and revokes their tokens.
pub fn revoke_instances(state: &State, account: &str, name: &str) -> Result<(), ApiError> {
    for i in instances(state, account, name)? {
        state.store().delete_record(TOKEN_KIND, &i.token_sha256)?;
        state.store().delete_record(INSTANCE_KIND, &i.key())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn service_round_trips() {
        let s = Service {
            account: "1".into(),
            name: "n".into(),
            id: "eas-m-x".into(),
            region: "cn-hangzhou".into(),
            config: "{\"name\":\"n\"}".into(),
            status: "Running".into(),
            reason: String::new(),
            message: String::new(),
            desired_running: true,
            generation: 3,
            version: 2,
            labels: vec![("team".into(), "a".into())],
            workspace_id: "12".into(),
            caller_uid: "1".into(),
            role_arn: "acs:ram::1:role/r".into(),
            role_kind: RoleKind::Custom,
            session_policy: Some("{}".into()),
            total_instances: 2,
            started_instances: 2,
            created_at: 5,
            updated_at: 6,
        };
        assert_eq!(Service::from_json(&s.to_json()), Some(s));
    }
}
