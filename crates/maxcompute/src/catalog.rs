//! MaxCompute metadata in the store's generic records: projects (kind `odps.project`, key
//! `<project>`) and tables (kind `odps.table`, key `<project>/<table>`). Names are lower-case.

use super::sql::Column;
use keyless_platform::error::ApiError;
use keyless_platform::state::State;
use keyless_store::StoreError;
use serde_json::{json, Value};

pub const PROJECT_KIND: &str = "odps.project";
pub const TABLE_KIND: &str = "odps.table";
/// Most tables in one project.
pub const MAX_TABLES_PER_PROJECT: usize = 10_000;

/// A project and the account that owns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Project {
    pub name: String,
    pub owner_account: String,
    pub created_at: i64,
}

/// A table's metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    pub project: String,
    pub name: String,
    pub table_id: String,
    /// The creator's ARN.
    pub owner: String,
    pub comment: String,
    pub created_at: i64,
    pub last_modified: i64,
    pub last_ddl: i64,
    /// Days, -1 for forever.
    pub lifecycle: i64,
    pub columns: Vec<Column>,
    pub partitions: Vec<Column>,
}

/// MaxCompute's project-name rule: 3 to 28 letters, digits and underscores, starting with a
/// letter.
pub fn valid_project_name(name: &str) -> bool {
    (3..=28).contains(&name.len())
        && name.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A table name as the SQL parser accepts it.
pub fn valid_table_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= super::sql::MAX_NAME_BYTES
        && !name.as_bytes().first().is_some_and(u8::is_ascii_digit)
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

impl Project {
    fn to_json(&self) -> String {
        json!({"Name": self.name, "Owner": self.owner_account, "CreatedAt": self.created_at})
            .to_string()
    }

    fn from_json(s: &str) -> Option<Project> {
        let v: Value = serde_json::from_str(s).ok()?;
        Some(Project {
            name: v["Name"].as_str()?.to_owned(),
            owner_account: v["Owner"].as_str()?.to_owned(),
            created_at: v["CreatedAt"].as_i64()?,
        })
    }
}

fn columns_json(cols: &[Column]) -> Value {
    Value::Array(
        cols.iter()
            .map(|c| {
                json!({"name": c.name, "type": c.data_type, "comment": c.comment, "isNullable": c.nullable})
            })
            .collect(),
    )
}

fn columns_from(v: &Value) -> Option<Vec<Column>> {
    v.as_array()?
        .iter()
        .map(|c| {
            Some(Column {
                name: c["name"].as_str()?.to_owned(),
                data_type: c["type"].as_str()?.to_owned(),
                comment: c["comment"].as_str().unwrap_or("").to_owned(),
                nullable: c["isNullable"].as_bool().unwrap_or(true),
            })
        })
        .collect()
}

impl Table {
    pub fn key(&self) -> String {
        table_key(&self.project, &self.name)
    }

    fn to_json(&self) -> String {
        json!({
            "Project": self.project, "Name": self.name, "TableId": self.table_id,
            "Owner": self.owner, "Comment": self.comment, "CreatedAt": self.created_at,
            "LastModified": self.last_modified, "LastDDL": self.last_ddl,
            "Lifecycle": self.lifecycle, "Columns": columns_json(&self.columns),
            "PartitionKeys": columns_json(&self.partitions),
        })
        .to_string()
    }

    fn from_json(s: &str) -> Option<Table> {
        let v: Value = serde_json::from_str(s).ok()?;
        Some(Table {
            project: v["Project"].as_str()?.to_owned(),
            name: v["Name"].as_str()?.to_owned(),
            table_id: v["TableId"].as_str()?.to_owned(),
            owner: v["Owner"].as_str()?.to_owned(),
            comment: v["Comment"].as_str().unwrap_or("").to_owned(),
            created_at: v["CreatedAt"].as_i64()?,
            last_modified: v["LastModified"].as_i64()?,
            last_ddl: v["LastDDL"].as_i64()?,
            lifecycle: v["Lifecycle"].as_i64().unwrap_or(-1),
            columns: columns_from(&v["Columns"])?,
            partitions: columns_from(&v["PartitionKeys"])?,
        })
    }

    /// The `Schema` JSON of the table document (what pyodps parses into a `TableSchema`).
    pub fn schema_json(&self) -> String {
        json!({
            "tableName": self.name,
            "comment": self.comment,
            "owner": self.owner,
            "createTime": self.created_at,
            "lastModifiedTime": self.last_modified,
            "lastDDLTime": self.last_ddl,
            "lifecycle": self.lifecycle,
            "size": 0,
            "isVirtualView": false,
            "isExternal": false,
            "tableLabel": "",
            "columns": columns_json(&self.columns),
            "partitionKeys": columns_json(&self.partitions),
        })
        .to_string()
    }
}

pub fn table_key(project: &str, table: &str) -> String {
    format!("{project}/{table}")
}

/// A project by (lower-case) name.
pub fn get_project(state: &State, name: &str) -> Result<Option<Project>, ApiError> {
    Ok(state
        .store()
        .get_record(PROJECT_KIND, name)?
        .as_deref()
        .and_then(Project::from_json))
}

/// Creates project `name` owned by `account`; refuses an invalid or taken name.
pub fn create_project(state: &State, account: &str, name: &str) -> Result<Project, ApiError> {
    let name = name.to_ascii_lowercase();
    if !valid_project_name(&name) {
        return Err(ApiError::bad(
            "InvalidProjectName",
            format!(
                "The project name `{name}` is invalid: use 3 to 28 letters, digits and \
                 underscores, starting with a letter."
            ),
        ));
    }
    let p = Project {
        name: name.clone(),
        owner_account: account.to_owned(),
        created_at: state.clock().now(),
    };
    match state
        .store()
        .create_record(PROJECT_KIND, &name, &p.to_json(), p.created_at)
    {
        Ok(()) => Ok(p),
        Err(StoreError::AlreadyExists(..)) => Err(ApiError::new(
            409,
            "ProjectAlreadyExist",
            format!("The project `{name}` already exists."),
        )),
        Err(e) => Err(e.into()),
    }
}

/// A table by (lower-case) project and name.
pub fn get_table(state: &State, project: &str, name: &str) -> Result<Option<Table>, ApiError> {
    Ok(state
        .store()
        .get_record(TABLE_KIND, &table_key(project, name))?
        .as_deref()
        .and_then(Table::from_json))
}

/// The project's tables whose name starts with `prefix`, ordered by name.
pub fn list_tables(state: &State, project: &str, prefix: &str) -> Result<Vec<Table>, ApiError> {
    Ok(state
        .store()
        .list_records(TABLE_KIND, &table_key(project, prefix))?
        .iter()
        .filter_map(|(_, v)| Table::from_json(v))
        .collect())
}

/// How many tables the project has.
pub fn count_tables(state: &State, project: &str) -> Result<usize, ApiError> {
    Ok(state
        .store()
        .list_records(TABLE_KIND, &table_key(project, ""))?
        .len())
}

/// Creates a table record; `Ok(false)` when the name is taken.
pub fn insert_table(state: &State, t: &Table) -> Result<bool, ApiError> {
    match state
        .store()
        .create_record(TABLE_KIND, &t.key(), &t.to_json(), t.created_at)
    {
        Ok(()) => Ok(true),
        Err(StoreError::AlreadyExists(..)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Deletes a table record; `Ok(false)` when there was none.
pub fn delete_table(state: &State, project: &str, name: &str) -> Result<bool, ApiError> {
    Ok(state
        .store()
        .delete_record(TABLE_KIND, &table_key(project, name))?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(valid_project_name("ws_123456_default"));
        assert!(!valid_project_name("ab"));
        assert!(!valid_project_name("1abc"));
        assert!(!valid_project_name("a-bc"));
        assert!(!valid_project_name(&"a".repeat(29)));
        assert!(valid_table_name("_t1"));
        assert!(!valid_table_name("1t"));
        assert!(!valid_table_name("a/b"));
    }

    #[test]
    fn table_json_round_trips() {
        let t = Table {
            project: "p".into(),
            name: "t".into(),
            table_id: "id".into(),
            owner: "acs:ram::1:root".into(),
            comment: "c]]>".into(),
            created_at: 1,
            last_modified: 2,
            last_ddl: 3,
            lifecycle: -1,
            columns: vec![Column {
                name: "a".into(),
                data_type: "bigint".into(),
                comment: String::new(),
                nullable: false,
            }],
            partitions: vec![],
        };
        assert_eq!(Table::from_json(&t.to_json()).unwrap(), t);
        let s: Value = serde_json::from_str(&t.schema_json()).unwrap();
        assert_eq!(s["columns"][0]["isNullable"], false);
        assert_eq!(s["partitionKeys"], json!([]));
    }
}
