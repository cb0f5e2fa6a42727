//! The service JSON, parsed into a [`ServiceSpec`] (parse, don't validate): every problem is a
//! 400 `InvalidParameter` naming the field. Unknown fields are kept in the stored config and
//! ignored here. Pure: no I/O.

use keyless_platform::error::ApiError;
use serde_json::{Map, Value};

/// Most instances one service may ask for.
pub const MAX_INSTANCES: i64 = 10;
/// Most `pythonRequirements` entries.
pub const MAX_REQUIREMENTS: usize = 100;

/// Which RAM role the service is associated with (the seed: at most one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoleChoice {
    /// No role: instances get no credentials.
    None,
    /// `options.enable_ram_role` alone: the PAI default role (`AliyunServiceRoleForPaiEas`).
    Default,
    /// `role_arn`: a custom role, by ARN as given.
    Custom(String),
}

/// An OSS mount (`storage[i].oss`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OssMount {
    /// Index in `storage[]` (names the field in messages and the host directory).
    pub index: usize,
    /// `oss://bucket/prefix/` as given.
    pub uri: String,
    pub bucket: String,
    /// Empty (the whole bucket) or ending in `/`.
    pub prefix: String,
    /// Absolute path inside the instance.
    pub mount_path: String,
    pub read_only: bool,
}

/// What the platform needs from a service JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceSpec {
    pub name: String,
    pub instances: u32,
    pub workspace_id: Option<String>,
    /// `containers[0].command` (or `script`), run through `/bin/sh -c`.
    pub command: String,
    pub port: Option<u16>,
    pub env: Vec<(String, String)>,
    pub image: Option<String>,
    pub cpu: Option<i64>,
    pub memory: Option<i64>,
    pub gpu: Option<i64>,
    pub mounts: Vec<OssMount>,
    pub role: RoleChoice,
    /// `containers[0].prepare.pythonRequirements`.
    pub requirements: Vec<String>,
    /// `containers[0].prepare.pythonRequirementsPath` (a path inside the instance, under a mount).
    pub requirements_path: Option<String>,
}

fn invalid(field: &str, why: &str) -> ApiError {
    ApiError::invalid(field, why)
}

/// Environment variables the platform sets (or must keep out) itself.
const RESERVED_ENV: &[&str] = &[
    "ALIBABA_CLOUD_CREDENTIALS_URI",
    "ALIBABA_CLOUD_ECS_METADATA_DISABLED",
    "NO_PROXY",
    "no_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// Long-term secrets never belong in a service's environment: the role's credentials replace them.
const SECRET_ENV: &[&str] = &[
    "ALIBABA_CLOUD_ACCESS_KEY_ID",
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
    "ALIBABA_CLOUD_SECURITY_TOKEN",
];

/// A service name: 3 to 63 characters of lowercase letters, digits and `_`, starting with a
/// lowercase letter.
pub fn valid_name(n: &str) -> bool {
    (3..=63).contains(&n.len())
        && n.as_bytes().first().is_some_and(u8::is_ascii_lowercase)
        && n.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

const NAME_RULE: &str = "it must be 3 to 63 characters of lowercase letters, digits and underscores (_), starting with a lowercase letter";

/// The service name of a config (`name`, or its alias `metadata.name`).
pub fn name_of(config: &Value) -> Result<String, ApiError> {
    let top = config.get("name");
    let meta = config.get("metadata").and_then(|m| m.get("name"));
    let pick = |field: &str, v: &Value| -> Result<String, ApiError> {
        let s = v
            .as_str()
            .ok_or_else(|| invalid(field, "it must be a string"))?;
        if !valid_name(s) {
            return Err(invalid(field, NAME_RULE));
        }
        Ok(s.to_owned())
    };
    match (top, meta) {
        (Some(t), Some(m)) => {
            let a = pick("name", t)?;
            let b = pick("metadata.name", m)?;
            if a != b {
                return Err(invalid(
                    "metadata.name",
                    "it differs from `name`; give one name",
                ));
            }
            Ok(a)
        }
        (Some(t), None) => pick("name", t),
        (None, Some(m)) => pick("metadata.name", m),
        (None, None) => Err(invalid("name", "the service JSON must name the service")),
    }
}

fn object<'a>(v: &'a Value, field: &str) -> Result<&'a Map<String, Value>, ApiError> {
    v.as_object()
        .ok_or_else(|| invalid(field, "it must be a JSON object"))
}

fn int(v: &Value, field: &str) -> Result<i64, ApiError> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        .ok_or_else(|| invalid(field, "it must be an integer"))
}

fn opt_nonneg(meta: Option<&Map<String, Value>>, key: &str) -> Result<Option<i64>, ApiError> {
    match meta.and_then(|m| m.get(key)) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => {
            let field = format!("metadata.{key}");
            let n = int(v, &field)?;
            if n < 0 {
                return Err(invalid(&field, "it must not be negative"));
            }
            Ok(Some(n))
        }
    }
}

fn env_name_ok(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 256
        && !n.as_bytes()[0].is_ascii_digit()
        && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn parse_env(v: &Value) -> Result<Vec<(String, String)>, ApiError> {
    let items = v.as_array().ok_or_else(|| {
        invalid(
            "containers[0].env",
            "it must be a list of {\"name\": …, \"value\": …} objects",
        )
    })?;
    let mut out: Vec<(String, String)> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let field = format!("containers[0].env[{i}]");
        let o = object(item, &field)?;
        let name = o
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(&format!("{field}.name"), "it must be a string"))?;
        if !env_name_ok(name) {
            return Err(invalid(
                &format!("{field}.name"),
                "it must be letters, digits and underscores, not starting with a digit",
            ));
        }
        if RESERVED_ENV.contains(&name) {
            return Err(invalid(
                &format!("{field}.name"),
                &format!("`{name}` is set by the platform"),
            ));
        }
        if SECRET_ENV.contains(&name) {
            return Err(invalid(
                &format!("{field}.name"),
                &format!("`{name}` would put a long-term secret in the instance: associate a RAM role (options.enable_ram_role, role_arn) instead"),
            ));
        }
        let value = match o.get("value") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::Bool(b)) => b.to_string(),
            None => String::new(),
            Some(_) => {
                return Err(invalid(&format!("{field}.value"), "it must be a string"));
            }
        };
        if value.contains('\0') || name.len() + value.len() > 32 * 1024 {
            return Err(invalid(
                &format!("{field}.value"),
                "it is too long or holds NUL",
            ));
        }
        if out.iter().any(|(n, _)| n == name) {
            return Err(invalid(
                &format!("{field}.name"),
                "it is given more than once",
            ));
        }
        out.push((name.to_owned(), value));
    }
    Ok(out)
}

fn valid_bucket(b: &str) -> bool {
    (3..=63).contains(&b.len())
        && b.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        && !b.starts_with('-')
        && !b.ends_with('-')
}

/// `oss://bucket/prefix/` → (bucket, prefix ending in `/` or empty).
pub fn parse_oss_uri(uri: &str) -> Option<(String, String)> {
    let rest = uri.strip_prefix("oss://")?;
    let (bucket, prefix) = match rest.split_once('/') {
        Some((b, p)) => (b, p),
        None => (rest, ""),
    };
    if !valid_bucket(bucket) || prefix.starts_with('/') || prefix.contains("//") {
        return None;
    }
    let mut prefix = prefix.to_owned();
    if !prefix.is_empty() && !prefix.ends_with('/') {
        prefix.push('/');
    }
    Some((bucket.to_owned(), prefix))
}

/// An absolute, normalised path that is not `/` nor a system location.
pub fn valid_mount_path(p: &str) -> bool {
    if !p.starts_with('/') || p.len() > 1024 || p.contains('\0') {
        return false;
    }
    let parts: Vec<&str> = p.split('/').filter(|s| !s.is_empty()).collect();
    if parts.is_empty() || parts.iter().any(|s| *s == "." || *s == "..") {
        return false;
    }
    !matches!(
        parts.first().copied(),
        Some("proc" | "sys" | "dev" | "bin" | "sbin" | "lib" | "lib64" | "usr" | "etc")
    )
}

fn parse_storage(v: &Value) -> Result<Vec<OssMount>, ApiError> {
    let items = v
        .as_array()
        .ok_or_else(|| invalid("storage", "it must be a list"))?;
    let mut out: Vec<OssMount> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let field = format!("storage[{i}]");
        let o = object(item, &field)?;
        let Some(oss) = o.get("oss") else {
            let kind = ["nfs", "git", "dataset", "empty_dir", "shared_memory"]
                .into_iter()
                .find(|k| o.contains_key(*k))
                .unwrap_or("this");
            return Err(invalid(
                &field,
                &format!("`{kind}` storage is not supported here: only OSS mounts (`oss`) are"),
            ));
        };
        let oss = object(oss, &format!("{field}.oss"))?;
        let uri = oss
            .get("path")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(&format!("{field}.oss.path"), "it must be a string"))?;
        let (bucket, prefix) = parse_oss_uri(uri).ok_or_else(|| {
            invalid(
                &format!("{field}.oss.path"),
                "it must look like `oss://<bucket>/<prefix>/`",
            )
        })?;
        let read_only = match oss.get("readOnly").or_else(|| oss.get("read_only")) {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(invalid(
                    &format!("{field}.oss.readOnly"),
                    "it must be a boolean",
                ))
            }
        };
        let mount_path = o
            .get("mount_path")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(&format!("{field}.mount_path"), "it must be a string"))?;
        if !valid_mount_path(mount_path) {
            return Err(invalid(
                &format!("{field}.mount_path"),
                "it must be an absolute path such as `/mnt/data/`, without `.` or `..`, and not a system directory",
            ));
        }
        let norm = mount_path.trim_end_matches('/');
        if out
            .iter()
            .any(|m| m.mount_path.trim_end_matches('/') == norm)
        {
            return Err(invalid(
                &format!("{field}.mount_path"),
                "another storage item is mounted there",
            ));
        }
        out.push(OssMount {
            index: i,
            uri: uri.to_owned(),
            bucket,
            prefix,
            mount_path: mount_path.to_owned(),
            read_only,
        });
    }
    Ok(out)
}

fn parse_requirements(v: &Value) -> Result<Vec<String>, ApiError> {
    let field = "containers[0].prepare.pythonRequirements";
    let items = v.as_array().ok_or_else(|| {
        invalid(
            field,
            "it must be a list of strings, e.g. [\"oss2\", \"pyodps\"]",
        )
    })?;
    if items.len() > MAX_REQUIREMENTS {
        return Err(invalid(
            field,
            &format!("at most {MAX_REQUIREMENTS} requirements are accepted"),
        ));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let f = format!("{field}[{i}]");
        let s = item
            .as_str()
            .ok_or_else(|| invalid(&f, "it must be a string"))?
            .trim();
        if s.is_empty() || s.len() > 256 {
            return Err(invalid(&f, "it must be 1 to 256 characters"));
        }
        if s.starts_with('-') {
            return Err(invalid(
                &f,
                "it must be a requirement such as `oss2==2.19.1`, not a pip option",
            ));
        }
        if s.chars().any(char::is_control) {
            return Err(invalid(&f, "it must not hold control characters"));
        }
        out.push(s.to_owned());
    }
    Ok(out)
}

fn parse_role(config: &Value) -> Result<RoleChoice, ApiError> {
    let enable = match config.get("options").and_then(|o| o.get("enable_ram_role")) {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            return Err(invalid(
                "options.enable_ram_role",
                "it must be a boolean (true or false)",
            ))
        }
    };
    let arn = match config.get("role_arn") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => {
            let s = s.trim();
            if s.contains(',') || s.split_whitespace().count() > 1 {
                return Err(invalid(
                    "role_arn",
                    "an EAS service can be associated with one RAM role only: give a single role ARN",
                ));
            }
            if keyless_auth::session::parse_role_arn(s).is_none() {
                return Err(invalid(
                    "role_arn",
                    "it must look like `acs:ram::<uid>:role/<RoleName>`",
                ));
            }
            Some(s.to_owned())
        }
        Some(Value::Array(_)) => {
            return Err(invalid(
                "role_arn",
                "an EAS service can be associated with one RAM role only: give a single role ARN string, not a list",
            ))
        }
        Some(_) => {
            return Err(invalid(
                "role_arn",
                "it must be a string: `acs:ram::<uid>:role/<RoleName>`",
            ))
        }
    };
    Ok(match (enable, arn) {
        (Some(false), Some(_)) => {
            return Err(invalid(
                "options.enable_ram_role",
                "it is false but role_arn is set: set it to true to associate the role",
            ))
        }
        (_, Some(a)) => RoleChoice::Custom(a),
        (Some(true), None) => RoleChoice::Default,
        _ => RoleChoice::None,
    })
}

/// Parses and checks a complete service JSON.
pub fn parse(config: &Value) -> Result<ServiceSpec, ApiError> {
    let root = config.as_object().ok_or_else(|| {
        ApiError::bad(
            "InvalidParameter",
            "The request body must be the service JSON object.",
        )
    })?;
    let name = name_of(config)?;
    let meta = match root.get("metadata") {
        None | Some(Value::Null) => None,
        Some(m) => Some(object(m, "metadata")?),
    };
    let instances = match meta.and_then(|m| m.get("instance")) {
        None | Some(Value::Null) => 1,
        Some(v) => {
            let n = int(v, "metadata.instance")?;
            if !(1..=MAX_INSTANCES).contains(&n) {
                return Err(invalid(
                    "metadata.instance",
                    &format!("it must be 1 to {MAX_INSTANCES}"),
                ));
            }
            n as u32
        }
    };
    let workspace_id = match meta.and_then(|m| m.get("workspace_id")) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) if n.is_u64() => Some(n.to_string()),
        Some(_) => {
            return Err(invalid(
                "metadata.workspace_id",
                "it must be a workspace id string",
            ))
        }
    };
    if let Some(w) = &workspace_id {
        if w.len() > 64 || !w.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(invalid("metadata.workspace_id", "it is not a workspace id"));
        }
    }
    let cpu = opt_nonneg(meta, "cpu")?;
    let memory = opt_nonneg(meta, "memory")?;
    let gpu = opt_nonneg(meta, "gpu")?;

    if root.contains_key("processor") && !root.contains_key("containers") {
        return Err(invalid(
            "processor",
            "built-in processors are not supported here: give containers[0].command",
        ));
    }
    let containers = match root.get("containers") {
        None | Some(Value::Null) => {
            return Err(invalid(
                "containers",
                "the service needs containers[0].command (or script)",
            ))
        }
        Some(v) => v
            .as_array()
            .ok_or_else(|| invalid("containers", "it must be a list"))?,
    };
    let c0 = match containers.as_slice() {
        [] => {
            return Err(invalid(
                "containers",
                "the service needs containers[0].command (or script)",
            ))
        }
        [c] => object(c, "containers[0]")?,
        _ => {
            return Err(invalid(
                "containers",
                "only one container per instance is supported",
            ))
        }
    };
    let command = match (c0.get("command"), c0.get("script")) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "containers[0].script",
                "give either command or script, not both",
            ))
        }
        (Some(v), None) => (v, "containers[0].command"),
        (None, Some(v)) => (v, "containers[0].script"),
        (None, None) => {
            return Err(invalid(
                "containers[0].command",
                "the container needs a command (or script) to run",
            ))
        }
    };
    let command = match command.0 {
        Value::String(s) if !s.trim().is_empty() && !s.contains('\0') => s.clone(),
        _ => return Err(invalid(command.1, "it must be a non-empty string")),
    };
    let port = match c0.get("port") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let p = int(v, "containers[0].port")?;
            if !(1..=65535).contains(&p) {
                return Err(invalid("containers[0].port", "it must be 1 to 65535"));
            }
            Some(p as u16)
        }
    };
    let env = match c0.get("env") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => parse_env(v)?,
    };
    let image = match c0.get("image") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(invalid("containers[0].image", "it must be a string")),
    };
    let (requirements, requirements_path) = match c0.get("prepare") {
        None | Some(Value::Null) => (Vec::new(), None),
        Some(p) => {
            let p = object(p, "containers[0].prepare")?;
            let reqs = match p.get("pythonRequirements") {
                None | Some(Value::Null) => Vec::new(),
                Some(v) => parse_requirements(v)?,
            };
            let path =
                match p.get("pythonRequirementsPath") {
                    None | Some(Value::Null) => None,
                    Some(Value::String(s)) if valid_mount_path(s) => Some(s.clone()),
                    Some(_) => return Err(invalid(
                        "containers[0].prepare.pythonRequirementsPath",
                        "it must be the absolute path of a requirements file inside the instance",
                    )),
                };
            (reqs, path)
        }
    };
    let mounts = match root.get("storage") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => parse_storage(v)?,
    };
    if let Some(p) = &requirements_path {
        if !mounts
            .iter()
            .any(|m| under_mount(p, &m.mount_path).is_some())
        {
            return Err(invalid(
                "containers[0].prepare.pythonRequirementsPath",
                "it must lie under a storage mount_path",
            ));
        }
    }
    let role = parse_role(config)?;
    if let Some(opts) = root.get("options") {
        object(opts, "options")?;
    }
    Ok(ServiceSpec {
        name,
        instances,
        workspace_id,
        command,
        port,
        env,
        image,
        cpu,
        memory,
        gpu,
        mounts,
        role,
        requirements,
        requirements_path,
    })
}

/// The part of `path` below `mount_path`, if `path` lies under it.
pub fn under_mount<'a>(path: &'a str, mount_path: &str) -> Option<&'a str> {
    let base = mount_path.trim_end_matches('/');
    let rest = path.strip_prefix(base)?;
    let rest = rest.strip_prefix('/')?;
    (!rest.is_empty()).then_some(rest)
}

/// RFC 7386 JSON merge patch: objects merge recursively, `null` removes a key, everything else
/// replaces.
pub fn merge(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            if let Value::Object(t) = target {
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(k);
                    } else {
                        merge(t.entry(k.clone()).or_insert(Value::Null), v);
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use serde_json::json;

    fn base() -> Value {
        json!({"name": "demo_svc", "containers": [{"command": "python3 -c 'print(1)'"}]})
    }

    fn err(v: Value) -> String {
        parse(&v).unwrap_err().message
    }

    #[test]
    fn minimal_spec() {
        let s = parse(&base()).unwrap();
        assert_eq!(s.name, "demo_svc");
        assert_eq!(s.instances, 1);
        assert_eq!(s.role, RoleChoice::None);
    }

    #[test]
    fn names() {
        for ok in ["abc", "ram_demo", "a1_b2"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["ab", "Abc", "1abc", "a-b", "_ab", &"a".repeat(64)] {
            assert!(!valid_name(bad), "{bad}");
        }
        let mut v = base();
        v["name"] = json!("Bad-Name");
        assert!(err(v).contains("\"name\""));
        let v = json!({"metadata": {"name": "via_meta"}, "containers": [{"script": "x"}]});
        assert_eq!(parse(&v).unwrap().name, "via_meta");
    }

    #[test]
    fn field_errors_name_the_field() {
        let cases = [
            (json!({"metadata": {"instance": 0}}), "metadata.instance"),
            (json!({"metadata": {"instance": "x"}}), "metadata.instance"),
            (json!({"metadata": {"instance": 11}}), "metadata.instance"),
            (
                json!({"containers": [{"command": ""}]}),
                "containers[0].command",
            ),
            (
                json!({"containers": [{"port": 70000, "command": "x"}]}),
                "containers[0].port",
            ),
            (
                json!({"containers": [{"command": "x", "env": {"A": "b"}}]}),
                "containers[0].env",
            ),
            (
                json!({"containers": [{"command": "x", "env": [{"name": "1A", "value": "b"}]}]}),
                "containers[0].env[0].name",
            ),
            (
                json!({"containers": [{"command": "x", "env": [{"name": "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "value": "b"}]}]}),
                "containers[0].env[0].name",
            ),
            (
                json!({"storage": [{"oss": {"path": "s3://x/y"}, "mount_path": "/mnt/a"}]}),
                "storage[0].oss.path",
            ),
            (
                json!({"storage": [{"oss": {"path": "oss://bucket/y/"}, "mount_path": "mnt/a"}]}),
                "storage[0].mount_path",
            ),
            (
                json!({"storage": [{"nfs": {"path": "/"}, "mount_path": "/mnt/a"}]}),
                "storage[0]",
            ),
            (
                json!({"options": {"enable_ram_role": "yes"}}),
                "options.enable_ram_role",
            ),
            (
                json!({"role_arn": ["acs:ram::1:role/a", "acs:ram::1:role/b"]}),
                "role_arn",
            ),
            (
                json!({"role_arn": "acs:ram::1:role/a,acs:ram::1:role/b"}),
                "role_arn",
            ),
            (json!({"role_arn": 5}), "role_arn"),
            (
                json!({"containers": [{"command": "x", "prepare": {"pythonRequirements": "oss2"}}]}),
                "containers[0].prepare.pythonRequirements",
            ),
            (
                json!({"containers": [{"command": "x", "prepare": {"pythonRequirements": ["--index-url=http://evil"]}}]}),
                "containers[0].prepare.pythonRequirements[0]",
            ),
        ];
        for (patch, field) in cases {
            let mut v = base();
            merge(&mut v, &patch);
            let m = err(v);
            assert!(m.contains(&format!("\"{field}\"")), "{field}: {m}");
        }
    }

    #[test]
    fn one_role_only() {
        let mut v = base();
        merge(&mut v, &json!({"role_arn": ["acs:ram::1:role/a"]}));
        assert!(err(v).contains("one RAM role only"));
    }

    #[test]
    fn roles() {
        let mut v = base();
        merge(&mut v, &json!({"options": {"enable_ram_role": true}}));
        assert_eq!(parse(&v).unwrap().role, RoleChoice::Default);
        merge(&mut v, &json!({"role_arn": "acs:ram::123:role/r1"}));
        assert_eq!(
            parse(&v).unwrap().role,
            RoleChoice::Custom("acs:ram::123:role/r1".into())
        );
        merge(&mut v, &json!({"options": {"enable_ram_role": false}}));
        assert!(err(v).contains("options.enable_ram_role"));
    }

    #[test]
    fn oss_uris() {
        assert_eq!(
            parse_oss_uri("oss://examplebucket/data/"),
            Some(("examplebucket".into(), "data/".into()))
        );
        assert_eq!(
            parse_oss_uri("oss://examplebucket/data"),
            Some(("examplebucket".into(), "data/".into()))
        );
        assert_eq!(
            parse_oss_uri("oss://examplebucket"),
            Some(("examplebucket".into(), String::new()))
        );
        for bad in [
            "oss://",
            "oss://B/x",
            "http://b/x",
            "oss://bb//x",
            "oss://bucket//",
        ] {
            assert_eq!(parse_oss_uri(bad), None, "{bad}");
        }
        assert!(valid_mount_path("/mnt/data/"));
        for bad in ["/", "/etc/ram", "/mnt/../etc", "rel", "/proc/x"] {
            assert!(!valid_mount_path(bad), "{bad}");
        }
    }

    #[test]
    fn merge_patch() {
        let mut t = json!({"a": {"b": 1, "c": 2}, "d": [1], "e": 1});
        merge(
            &mut t,
            &json!({"a": {"b": 5, "c": null}, "d": [2, 3], "f": true}),
        );
        assert_eq!(t, json!({"a": {"b": 5}, "d": [2, 3], "e": 1, "f": true}));
    }

    #[test]
    fn requirements() {
        let mut v = base();
        merge(
            &mut v,
            &json!({"containers": [{"command": "x", "prepare": {"pythonRequirements": ["oss2", "pyodps==0.13.2"]}}]}),
        );
        assert_eq!(
            parse(&v).unwrap().requirements,
            vec!["oss2", "pyodps==0.13.2"]
        );
    }
}
