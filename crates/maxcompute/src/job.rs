//! The job document of `POST /projects/<p>/instances`, as pyodps sends it:
//!
//! ```xml
//! <Instance><Job><Priority>9</Priority><Tasks>
//!   <SQL><Name>SQLCreateTableTask</Name><Config>…</Config><Query><![CDATA[CREATE TABLE …]]></Query></SQL>
//! </Tasks><DAG><RunMode>Sequence</RunMode></DAG></Job></Instance>
//! ```
//!
//! A small, bounded XML reader (elements, attributes skipped, text, CDATA, comments, the five
//! predefined entities and character references; no DTDs) is enough for it. Untrusted input:
//! depth and element count are bounded and nothing panics. Pure: no I/O.

/// Deepest element nesting accepted.
pub const MAX_DEPTH: usize = 16;
/// Most elements in one document.
pub const MAX_ELEMENTS: usize = 4096;
/// Most tasks in one job.
pub const MAX_TASKS: usize = 16;
const MAX_NAME_BYTES: usize = 128;

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

#[derive(Debug, Default)]
struct Elem {
    name: String,
    children: Vec<Elem>,
    text: String,
}

impl Elem {
    fn child(&self, name: &str) -> Option<&Elem> {
        self.children.iter().find(|c| c.name == name)
    }
}

struct Reader<'a> {
    s: &'a str,
    i: usize,
    elements: usize,
}

impl<'a> Reader<'a> {
    fn rest(&self) -> &'a str {
        self.s.get(self.i..).unwrap_or("")
    }

    fn skip_ws(&mut self) {
        let rest = self.rest();
        let trimmed = rest.trim_start_matches([' ', '\t', '\r', '\n']);
        self.i += rest.len() - trimmed.len();
    }

    /// Skips past `end`, which must occur.
    fn skip_past(&mut self, end: &str, what: &str) -> Result<(), JobError> {
        match self.rest().find(end) {
            Some(p) => {
                self.i += p + end.len();
                Ok(())
            }
            None => fail(format!("unterminated {what}")),
        }
    }

    /// Skips comments and processing instructions; refuses DTDs.
    fn skip_misc(&mut self) -> Result<(), JobError> {
        loop {
            self.skip_ws();
            let rest = self.rest();
            if rest.starts_with("<?") {
                self.skip_past("?>", "processing instruction")?;
            } else if rest.starts_with("<!--") {
                self.skip_past("-->", "comment")?;
            } else if rest.starts_with("<!") {
                return fail("document type declarations are not accepted");
            } else {
                return Ok(());
            }
        }
    }

    fn name(&mut self) -> Result<String, JobError> {
        let rest = self.rest();
        let end = rest
            .find(|c: char| c.is_whitespace() || c == '/' || c == '>' || c == '=')
            .unwrap_or(rest.len());
        let name = rest.get(..end).unwrap_or("");
        if name.is_empty() || name.len() > MAX_NAME_BYTES || name.contains(['<', '&', '"', '\'']) {
            return fail("malformed element name");
        }
        self.i += end;
        Ok(name.to_owned())
    }

    fn element(&mut self, depth: usize) -> Result<Elem, JobError> {
        if depth >= MAX_DEPTH {
            return fail(format!("elements nest deeper than {MAX_DEPTH} levels"));
        }
        self.elements += 1;
        if self.elements > MAX_ELEMENTS {
            return fail(format!("more than {MAX_ELEMENTS} elements"));
        }
        if !self.rest().starts_with('<') {
            return fail("expected an element");
        }
        self.i += 1;
        let mut el = Elem {
            name: self.name()?,
            ..Elem::default()
        };
        // Attributes are skipped.
        loop {
            self.skip_ws();
            let rest = self.rest();
            if rest.starts_with("/>") {
                self.i += 2;
                return Ok(el);
            }
            if rest.starts_with('>') {
                self.i += 1;
                break;
            }
            self.name()?;
            self.skip_ws();
            if !self.rest().starts_with('=') {
                return fail("malformed attribute");
            }
            self.i += 1;
            self.skip_ws();
            let quote = match self.rest().chars().next() {
                Some(q @ ('"' | '\'')) => q,
                _ => return fail("unquoted attribute value"),
            };
            self.i += 1;
            match self.rest().find(quote) {
                Some(p) => self.i += p + 1,
                None => return fail("unterminated attribute value"),
            }
        }
        loop {
            let rest = self.rest();
            if rest.is_empty() {
                return fail(format!("element `{}` is not closed", el.name));
            }
            if rest.starts_with("</") {
                self.i += 2;
                let name = self.name()?;
                if name != el.name {
                    return fail(format!("`{}` is closed by `{name}`", el.name));
                }
                self.skip_ws();
                if !self.rest().starts_with('>') {
                    return fail("malformed closing tag");
                }
                self.i += 1;
                return Ok(el);
            }
            if let Some(r) = rest.strip_prefix("<![CDATA[") {
                let Some(end) = r.find("]]>") else {
                    return fail("unterminated CDATA section");
                };
                el.text.push_str(r.get(..end).unwrap_or(""));
                self.i += "<![CDATA[".len() + end + 3;
            } else if rest.starts_with("<!--") {
                self.skip_past("-->", "comment")?;
            } else if rest.starts_with("<?") {
                self.skip_past("?>", "processing instruction")?;
            } else if rest.starts_with("<!") {
                return fail("document type declarations are not accepted");
            } else if rest.starts_with('<') {
                let child = self.element(depth + 1)?;
                el.children.push(child);
            } else {
                let end = rest.find('<').unwrap_or(rest.len());
                decode_text(rest.get(..end).unwrap_or(""), &mut el.text)?;
                self.i += end;
            }
        }
    }
}

fn decode_text(raw: &str, out: &mut String) -> Result<(), JobError> {
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        out.push_str(rest.get(..amp).unwrap_or(""));
        let after = rest.get(amp + 1..).unwrap_or("");
        let Some(semi) = after.find(';').filter(|s| *s <= 12) else {
            return fail("malformed entity reference");
        };
        let ent = after.get(..semi).unwrap_or("");
        let c = match ent {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = if let Some(hex) = ent.strip_prefix("#x") {
                    u32::from_str_radix(hex, 16).ok()
                } else if let Some(dec) = ent.strip_prefix('#') {
                    dec.parse::<u32>().ok()
                } else {
                    None
                };
                match code.and_then(char::from_u32) {
                    Some(c) => c,
                    None => return fail("unknown entity reference"),
                }
            }
        };
        out.push(c);
        rest = after.get(semi + 1..).unwrap_or("");
    }
    out.push_str(rest);
    Ok(())
}

/// Parses a job document.
pub fn parse(body: &[u8]) -> Result<Job, JobError> {
    let Ok(text) = std::str::from_utf8(body) else {
        return fail("the body is not UTF-8");
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut r = Reader {
        s: text,
        i: 0,
        elements: 0,
    };
    r.skip_misc()?;
    let root = r.element(0)?;
    r.skip_misc()?;
    if !r.rest().is_empty() {
        return fail("content after the root element");
    }
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
