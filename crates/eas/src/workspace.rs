//! Workspaces: each has a default OSS bucket and a MaxCompute project. `keyless up` creates a
//! default workspace on first start.

use keyless_platform::error::ApiError;
use keyless_platform::ids;
use keyless_platform::state::State;
use serde_json::json;

/// Record kind of workspaces in the store.
pub const KIND: &str = "workspace";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workspace {
    /// Numeric id as a string (the service JSON's `metadata.workspace_id`).
    pub id: String,
    pub account_id: String,
    pub name: String,
    /// The workspace's default OSS bucket.
    pub bucket: String,
    /// The workspace's MaxCompute project.
    pub project: String,
    pub created_at: i64,
}

impl Workspace {
    fn to_json(&self) -> String {
        json!({
            "Id": self.id, "AccountId": self.account_id, "Name": self.name,
            "Bucket": self.bucket, "Project": self.project, "CreatedAt": self.created_at,
        })
        .to_string()
    }

    fn from_json(s: &str) -> Option<Workspace> {
        let v: serde_json::Value = serde_json::from_str(s).ok()?;
        Some(Workspace {
            id: v["Id"].as_str()?.to_owned(),
            account_id: v["AccountId"].as_str()?.to_owned(),
            name: v["Name"].as_str()?.to_owned(),
            bucket: v["Bucket"].as_str()?.to_owned(),
            project: v["Project"].as_str()?.to_owned(),
            created_at: v["CreatedAt"].as_i64()?,
        })
    }
}

/// A workspace by id.
pub fn get(state: &State, id: &str) -> Result<Option<Workspace>, ApiError> {
    Ok(state
        .store()
        .get_record(KIND, id)?
        .as_deref()
        .and_then(Workspace::from_json))
}

/// Every workspace of `account`.
pub fn list(state: &State, account: &str) -> Result<Vec<Workspace>, ApiError> {
    Ok(state
        .store()
        .list_records(KIND, "")?
        .iter()
        .filter_map(|(_, v)| Workspace::from_json(v))
        .filter(|w| w.account_id == account)
        .collect())
}

/// Creates a workspace named `name` with its bucket and project names (the caller creates the
/// bucket and the project themselves).
pub fn create(state: &State, account: &str, name: &str) -> Result<Workspace, ApiError> {
    let id = ids::digits(6).map_err(|_| ApiError::internal())?;
    let w = Workspace {
        id: id.clone(),
        account_id: account.to_owned(),
        name: name.to_owned(),
        bucket: format!("ws-{id}-default"),
        project: format!("ws_{id}_default"),
        created_at: state.clock().now(),
    };
    state
        .store()
        .create_record(KIND, &id, &w.to_json(), w.created_at)?;
    Ok(w)
}

/// The account's default workspace, created on first use.
pub fn ensure_default(state: &State, account: &str) -> Result<Workspace, ApiError> {
    if let Some(w) = list(state, account)?
        .into_iter()
        .find(|w| w.name == "default")
    {
        return Ok(w);
    }
    create(state, account, "default")
}
