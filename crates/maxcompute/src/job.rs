//! The job document of `POST /projects/<p>/instances`, as pyodps sends it:
//!
//! ```xml
//! <Instance><Job><Priority>9</Priority><Tasks>
//!   <SQL><Name>SQLCreateTableTask</Name><Config>…</Config><Query><![CDATA[CREATE TABLE …]]></Query></SQL>
//! </Tasks><DAG><RunMode>Sequence</RunMode></DAG></Job></Instance>
//! ```
//!
//! The document is read by `keyless_wire::xml` with [`Limits::ODPS`] (elements, attributes
//! skipped, text, CDATA, comments, processing instructions, the five predefined entities and
//! character references; no DTDs). Untrusted input: size, depth and element count are bounded and
//! nothing panics. Pure: no I/O.

use keyless_wire::xml::{parse_with, Limits};

/// Deepest element nesting accepted.
pub const MAX_DEPTH: usize = Limits::ODPS.max_depth;
/// Most elements in one document.
pub const MAX_ELEMENTS: usize = Limits::ODPS.max_elements;
/// Most tasks in one job.
pub const MAX_TASKS: usize = 16;

/// One task of a job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Task {
    /// The task's element name: `SQL`, `SQLCost`, `SQLRT`, …
    pub kind: String,
    pub name: String,
    /// The `Query` text, if the task has one.
    pub query: Option<String>,
}

/// A submitted job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    pub tasks: Vec<Task>,
}

/// Why a job document was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct JobError(pub String);

fn fail<T>(msg: impl Into<String>) -> Result<T, JobError> {
    Err(JobError(msg.into()))
}

/// Parses a job document.
pub fn parse(body: &[u8]) -> Result<Job, JobError> {
    let root = parse_with(body, &Limits::ODPS).map_err(|e| JobError(e.to_string()))?;
    if root.name != "Instance" {
        return fail(format!(
            "the root element is `{}`, not `Instance`",
            root.name
        ));
    }
    let Some(job) = root.child("Job") else {
        return fail("`Instance` has no `Job`");
    };
    let Some(tasks) = job.child("Tasks") else {
        return fail("`Job` has no `Tasks`");
    };
    if tasks.children.len() > MAX_TASKS {
        return fail(format!("a job has at most {MAX_TASKS} tasks"));
    }
    let tasks = tasks
        .children
        .iter()
        .map(|t| Task {
            kind: t.name.clone(),
            name: t
                .child("Name")
                .map(|n| n.text.trim().to_owned())
                .unwrap_or_default(),
            query: t.child("Query").map(|q| q.text.clone()),
        })
        .collect();
    Ok(Job { tasks })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const PYODPS: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<Instance>
  <Job>
    <Priority>9</Priority>
    <Tasks>
      <SQL>
        <Name>SQLCreateTableTask</Name>
        <Config>
          <Property>
            <Name>settings</Name>
            <Value>{"odps.sql.submit.mode": ""}</Value>
          </Property>
        </Config>
        <Query><![CDATA[CREATE TABLE IF NOT EXISTS myproj.`t` (
id bigint, name string
);]]></Query>
      </SQL>
    </Tasks>
    <DAG>
      <RunMode>Sequence</RunMode>
    </DAG>
  </Job>
</Instance>
"#;

    #[test]
    fn reads_pyodps_job() {
        let j = parse(PYODPS.as_bytes()).unwrap();
        assert_eq!(j.tasks.len(), 1);
        assert_eq!(j.tasks[0].kind, "SQL");
        assert_eq!(j.tasks[0].name, "SQLCreateTableTask");
        assert_eq!(
            j.tasks[0].query.as_deref(),
            Some("CREATE TABLE IF NOT EXISTS myproj.`t` (\nid bigint, name string\n);")
        );
    }

    #[test]
    fn entities_attributes_and_comments() {
        let j = parse(
            br#"<!-- c --><Instance a="1"><Job><Tasks><SQL x='y'><Name>n</Name><Query>DROP TABLE &lt;&#x41;&#66;&amp;&gt;<!-- k --><![CDATA[;]]></Query></SQL><Other/></Tasks></Job></Instance>"#,
        )
        .unwrap();
        assert_eq!(j.tasks[0].query.as_deref(), Some("DROP TABLE <AB&>;"));
        assert_eq!(j.tasks[1].kind, "Other");
        assert_eq!(j.tasks[1].query, None);
    }

    #[test]
    fn refuses_malformed() {
        for bad in [
            "",
            "<Instance>",
            "<Instance></Job>",
            "<Instance><Job><Tasks></Tasks></Job></Instance><x/>",
            "<!DOCTYPE x><Instance/>",
            "<Instance><Job><Tasks><SQL><Query>&bogus;</Query></SQL></Tasks></Job></Instance>",
            "<Instance><Job><Tasks><SQL><Query><![CDATA[x</Query></SQL></Tasks></Job></Instance>",
            "<Other/>",
            "<Instance/>",
            "<Instance a=b/>",
        ] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad}");
        }
        let deep = format!("{}{}", "<a>".repeat(100), "</a>".repeat(100));
        assert!(parse(deep.as_bytes()).is_err());
        assert!(parse(&[0xff, 0xfe]).is_err());
    }
}
