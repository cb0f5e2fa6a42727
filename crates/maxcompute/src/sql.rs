//! The SQL subset keyless runs in MaxCompute SQL task instances: `CREATE TABLE` and `DROP TABLE`.
//!
//! ```text
//! CREATE TABLE [IF NOT EXISTS] [project.]name (col type [NOT NULL] [COMMENT '…'], …)
//!     [COMMENT '…'] [PARTITIONED BY (col type [COMMENT '…'], …)] [LIFECYCLE n] [;]
//! DROP TABLE [IF EXISTS] [project.]name [;]
//! ```
//!
//! Names may be back-quoted (`` `t` ``, with ```` `` ```` for a back-quote); keywords are
//! case-insensitive; `--` and `/* */` comments are skipped. Names of tables, projects and columns
//! are lower-cased (MaxCompute's names are case-insensitive). Types are those of MaxCompute 2.0,
//! including `decimal(p,s)`, `varchar(n)`, `char(n)` and nested `array<…>`, `map<…,…>`,
//! `struct<name:type,…>`; they come back in canonical lower-case form (`map<string,bigint>`).
//!
//! The input is untrusted: everything is bounded (text length, tokens, columns, nesting), errors
//! carry the line and column, and nothing panics. Pure: no I/O.

use keyless_wire::clip;
use std::fmt;

/// Longest SQL text accepted, in bytes.
pub const MAX_SQL_BYTES: usize = 64 * 1024;
/// Most columns of a table (MaxCompute's limit).
pub const MAX_COLUMNS: usize = 1200;
/// Most partition keys of a table (MaxCompute's limit).
pub const MAX_PARTITION_KEYS: usize = 6;
/// Longest name of a table, project or column, in bytes.
pub const MAX_NAME_BYTES: usize = 128;
/// Longest comment, in bytes.
pub const MAX_COMMENT_BYTES: usize = 1024;
/// Deepest nesting of `array`, `map` and `struct` types.
pub const MAX_TYPE_DEPTH: usize = 16;
/// Largest `LIFECYCLE` in days (MaxCompute's limit).
pub const MAX_LIFECYCLE: u32 = 37231;
const MAX_TOKENS: usize = 32 * 1024;

/// One parsed statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Statement {
    CreateTable(CreateTable),
    DropTable(DropTable),
}

/// A table reference, `[project.]name`, lower-cased.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableName {
    pub project: Option<String>,
    pub name: String,
}

/// A column or partition key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// Lower-cased.
    pub name: String,
    /// Canonical lower-case type, e.g. `decimal(10,2)` or `map<string,bigint>`.
    pub data_type: String,
    pub comment: String,
    pub nullable: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateTable {
    pub if_not_exists: bool,
    pub table: TableName,
    pub columns: Vec<Column>,
    pub partitions: Vec<Column>,
    pub comment: String,
    /// Days; `None` means forever.
    pub lifecycle: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DropTable {
    pub if_exists: bool,
    pub table: TableName,
}

/// What went wrong, for the vendor's error class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Not SQL this grammar accepts (a typo, a missing parenthesis).
    Syntax,
    /// Well-formed but meaningless (an unknown type, a duplicate column).
    Semantic,
    /// Valid MaxCompute SQL that keyless does not run (`SELECT`, views, clauses like `STORED AS`).
    Unsupported,
}

/// A parse failure at a 1-based line and column.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("[{line},{col}] {message}")]
pub struct SqlError {
    pub kind: ErrorKind,
    pub line: u32,
    pub col: u32,
    pub message: String,
}

// -- lexer ------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    /// A bare word: keyword or identifier.
    Word(String),
    /// A back-quoted identifier, unescaped.
    Quoted(String),
    /// A string literal, unescaped.
    Str(String),
    /// Decimal digits.
    Num(String),
    /// Punctuation (`( ) , ; . < > :`), or any other character, which no rule accepts.
    Sym(char),
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    line: u32,
    col: u32,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Word(w) => format!("`{}`", clip(w)),
            Tok::Quoted(q) => format!("`{}`", clip(q)),
            Tok::Str(_) => "a string".to_owned(),
            Tok::Num(n) => format!("`{}`", clip(n)),
            Tok::Sym(c) => format!("`{}`", c.escape_debug()),
        }
    }
}

struct Lexer<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    line: u32,
    col: u32,
}

impl Lexer<'_> {
    fn bump(&mut self) -> Option<char> {
        let c = self.chars.next()?;
        if c == '\n' {
            self.line = self.line.saturating_add(1);
            self.col = 1;
        } else {
            self.col = self.col.saturating_add(1);
        }
        Some(c)
    }

    fn err(&self, line: u32, col: u32, message: String) -> SqlError {
        SqlError {
            kind: ErrorKind::Syntax,
            line,
            col,
            message,
        }
    }

    fn quoted(&mut self, quote: char, line: u32, col: u32) -> Result<String, SqlError> {
        let mut out = String::new();
        loop {
            match self.bump() {
                None => {
                    let what = if quote == '`' {
                        "back-quoted name"
                    } else {
                        "string"
                    };
                    return Err(self.err(line, col, format!("unterminated {what}")));
                }
                Some(c) if c == quote => {
                    // A doubled back-quote stands for one.
                    if quote == '`' && self.chars.peek() == Some(&'`') {
                        self.bump();
                        out.push('`');
                    } else {
                        return Ok(out);
                    }
                }
                Some('\\') if quote != '`' => match self.bump() {
                    None => return Err(self.err(line, col, "unterminated string".to_owned())),
                    Some(e) => match e {
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        'b' => out.push('\u{8}'),
                        '0' => out.push('\0'),
                        '\\' | '\'' | '"' => out.push(e),
                        other => {
                            out.push('\\');
                            out.push(other);
                        }
                    },
                },
                Some(c) => out.push(c),
            }
        }
    }

    fn tokens(mut self) -> Result<Vec<Token>, SqlError> {
        let mut out = Vec::new();
        while let Some(&c) = self.chars.peek() {
            let (line, col) = (self.line, self.col);
            if c.is_whitespace() {
                self.bump();
                continue;
            }
            if out.len() >= MAX_TOKENS {
                return Err(self.err(line, col, "the statement is too long".to_owned()));
            }
            let tok = match c {
                '-' => {
                    self.bump();
                    if self.chars.peek() != Some(&'-') {
                        out.push(Token {
                            tok: Tok::Sym('-'),
                            line,
                            col,
                        });
                        continue;
                    }
                    while let Some(c) = self.bump() {
                        if c == '\n' {
                            break;
                        }
                    }
                    continue;
                }
                '/' => {
                    self.bump();
                    if self.chars.peek() != Some(&'*') {
                        out.push(Token {
                            tok: Tok::Sym('/'),
                            line,
                            col,
                        });
                        continue;
                    }
                    self.bump();
                    let mut prev = ' ';
                    loop {
                        match self.bump() {
                            None => {
                                return Err(self.err(line, col, "unterminated comment".to_owned()))
                            }
                            Some('/') if prev == '*' => break,
                            Some(c) => prev = c,
                        }
                    }
                    continue;
                }
                '`' | '\'' | '"' => {
                    self.bump();
                    let s = self.quoted(c, line, col)?;
                    if c == '`' {
                        Tok::Quoted(s)
                    } else {
                        Tok::Str(s)
                    }
                }
                '(' | ')' | ',' | ';' | '.' | '<' | '>' | ':' => {
                    self.bump();
                    Tok::Sym(c)
                }
                c if c.is_ascii_digit() => {
                    let mut s = String::new();
                    while let Some(&d) = self.chars.peek() {
                        if !d.is_ascii_digit() {
                            break;
                        }
                        s.push(d);
                        self.bump();
                    }
                    Tok::Num(s)
                }
                c if c.is_ascii_alphabetic() || c == '_' => {
                    let mut s = String::new();
                    while let Some(&d) = self.chars.peek() {
                        if !(d.is_ascii_alphanumeric() || d == '_') {
                            break;
                        }
                        s.push(d);
                        self.bump();
                    }
                    Tok::Word(s)
                }
                // Anything else is a symbol no rule accepts: the parser reports where it stands.
                other => {
                    self.bump();
                    Tok::Sym(other)
                }
            };
            out.push(Token { tok, line, col });
        }
        Ok(out)
    }
}

// -- parser -----------------------------------------------------------------------------------

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    end: (u32, u32),
}

/// Primitive types without parameters.
const SIMPLE_TYPES: &[&str] = &[
    "tinyint",
    "smallint",
    "int",
    "bigint",
    "float",
    "double",
    "string",
    "binary",
    "boolean",
    "datetime",
    "date",
    "timestamp",
    "timestamp_ntz",
    "interval_day_time",
    "interval_year_month",
    "json",
];

/// Types a partition key may have.
const PARTITION_TYPES: &[&str] = &["string", "tinyint", "smallint", "int", "bigint"];

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.pos)
    }

    fn here(&self) -> (u32, u32) {
        self.peek().map(|t| (t.line, t.col)).unwrap_or(self.end)
    }

    fn err_at(&self, at: (u32, u32), kind: ErrorKind, message: String) -> SqlError {
        SqlError {
            kind,
            line: at.0,
            col: at.1,
            message,
        }
    }

    fn err(&self, kind: ErrorKind, message: String) -> SqlError {
        self.err_at(self.here(), kind, message)
    }

    fn found(&self) -> String {
        match self.peek() {
            Some(t) => t.tok.describe(),
            None => "the end of the statement".to_owned(),
        }
    }

    fn expected(&self, what: &str) -> SqlError {
        self.err(
            ErrorKind::Syntax,
            format!("expected {what}, found {}", self.found()),
        )
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Token { tok: Tok::Word(w), .. }) if w.eq_ignore_ascii_case(kw))
    }

    fn accept_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_kw(&mut self, kw: &str) -> Result<(), SqlError> {
        if self.accept_kw(kw) {
            Ok(())
        } else {
            Err(self.expected(&format!("`{kw}`")))
        }
    }

    fn is_sym(&self, c: char) -> bool {
        matches!(self.peek(), Some(Token { tok: Tok::Sym(s), .. }) if *s == c)
    }

    fn accept_sym(&mut self, c: char) -> bool {
        if self.is_sym(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_sym(&mut self, c: char) -> Result<(), SqlError> {
        if self.accept_sym(c) {
            Ok(())
        } else {
            Err(self.expected(&format!("`{c}`")))
        }
    }

    /// The current word, lower-cased, if the current token is a bare word.
    fn word(&self) -> Option<String> {
        match self.peek() {
            Some(Token {
                tok: Tok::Word(w), ..
            }) => Some(w.to_ascii_lowercase()),
            _ => None,
        }
    }

    /// A name (bare or back-quoted), validated and lower-cased.
    fn name(&mut self, what: &str) -> Result<String, SqlError> {
        let at = self.here();
        let raw = match self.peek() {
            Some(Token {
                tok: Tok::Word(w) | Tok::Quoted(w),
                ..
            }) => w.clone(),
            _ => return Err(self.expected(&format!("a {what} name"))),
        };
        self.pos += 1;
        let valid = !raw.is_empty()
            && raw.len() <= MAX_NAME_BYTES
            && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !raw.as_bytes().first().is_some_and(u8::is_ascii_digit);
        if !valid {
            return Err(self.err_at(
                at,
                ErrorKind::Semantic,
                format!(
                    "invalid {what} name `{}`: use up to {MAX_NAME_BYTES} letters, digits and \
                     underscores, not starting with a digit",
                    clip(&raw)
                ),
            ));
        }
        Ok(raw.to_ascii_lowercase())
    }

    fn string(&mut self, what: &str) -> Result<String, SqlError> {
        let at = self.here();
        match self.peek() {
            Some(Token {
                tok: Tok::Str(s), ..
            }) => {
                let s = s.clone();
                self.pos += 1;
                if s.len() > MAX_COMMENT_BYTES {
                    return Err(self.err_at(
                        at,
                        ErrorKind::Semantic,
                        format!("the {what} is longer than {MAX_COMMENT_BYTES} bytes"),
                    ));
                }
                Ok(s)
            }
            _ => Err(self.expected(&format!("a quoted {what}"))),
        }
    }

    fn number(&mut self, what: &str, min: u32, max: u32) -> Result<u32, SqlError> {
        let at = self.here();
        match self.peek() {
            Some(Token {
                tok: Tok::Num(n), ..
            }) => {
                let parsed = n.parse::<u32>().ok().filter(|v| (min..=max).contains(v));
                let n = n.clone();
                self.pos += 1;
                parsed.ok_or_else(|| {
                    self.err_at(
                        at,
                        ErrorKind::Semantic,
                        format!("{what} `{}` is out of range {min}..={max}", clip(&n)),
                    )
                })
            }
            _ => Err(self.expected(&format!("a number ({what})"))),
        }
    }

    fn table_name(&mut self) -> Result<TableName, SqlError> {
        let first = self.name("table")?;
        if !self.accept_sym('.') {
            return Ok(TableName {
                project: None,
                name: first,
            });
        }
        let second = self.name("table")?;
        if self.is_sym('.') {
            return Err(self.err(
                ErrorKind::Unsupported,
                "three-part names (project.schema.table) are not supported: keyless projects \
                 have no schemas"
                    .to_owned(),
            ));
        }
        Ok(TableName {
            project: Some(first),
            name: second,
        })
    }

    fn data_type(&mut self, depth: usize) -> Result<String, SqlError> {
        let at = self.here();
        if depth > MAX_TYPE_DEPTH {
            return Err(self.err(
                ErrorKind::Semantic,
                format!("types nest deeper than {MAX_TYPE_DEPTH} levels"),
            ));
        }
        let Some(w) = self.word() else {
            return Err(self.expected("a type"));
        };
        self.pos += 1;
        match w.as_str() {
            "array" => {
                self.expect_sym('<')?;
                let t = self.data_type(depth + 1)?;
                self.expect_sym('>')?;
                Ok(format!("array<{t}>"))
            }
            "map" => {
                self.expect_sym('<')?;
                let k = self.data_type(depth + 1)?;
                self.expect_sym(',')?;
                let v = self.data_type(depth + 1)?;
                self.expect_sym('>')?;
                Ok(format!("map<{k},{v}>"))
            }
            "struct" => {
                self.expect_sym('<')?;
                let mut fields: Vec<String> = Vec::new();
                let mut names: Vec<String> = Vec::new();
                loop {
                    let at = self.here();
                    let name = self.name("field")?;
                    if names.contains(&name) {
                        return Err(self.err_at(
                            at,
                            ErrorKind::Semantic,
                            format!("struct field `{name}` is defined more than once"),
                        ));
                    }
                    if fields.len() >= MAX_COLUMNS {
                        return Err(self.err_at(
                            at,
                            ErrorKind::Semantic,
                            format!("a struct has at most {MAX_COLUMNS} fields"),
                        ));
                    }
                    self.expect_sym(':')?;
                    let t = self.data_type(depth + 1)?;
                    if self.accept_kw("comment") {
                        self.string("comment")?;
                    }
                    fields.push(format!("{name}:{t}"));
                    names.push(name);
                    if !self.accept_sym(',') {
                        break;
                    }
                }
                self.expect_sym('>')?;
                Ok(format!("struct<{}>", fields.join(",")))
            }
            "decimal" => {
                if !self.accept_sym('(') {
                    return Ok(w);
                }
                let p = self.number("decimal precision", 1, 38)?;
                let s = if self.accept_sym(',') {
                    let s = self.number("decimal scale", 0, 18)?;
                    if s > p {
                        return Err(self.err_at(
                            at,
                            ErrorKind::Semantic,
                            format!("decimal scale {s} is larger than its precision {p}"),
                        ));
                    }
                    Some(s)
                } else {
                    None
                };
                self.expect_sym(')')?;
                Ok(match s {
                    Some(s) => format!("decimal({p},{s})"),
                    None => format!("decimal({p})"),
                })
            }
            "varchar" | "char" => {
                let max = if w == "char" { 255 } else { 65535 };
                self.expect_sym('(')?;
                let n = self.number(&format!("{w} length"), 1, max)?;
                self.expect_sym(')')?;
                Ok(format!("{w}({n})"))
            }
            "integer" => Ok("int".to_owned()),
            s if SIMPLE_TYPES.contains(&s) => Ok(w),
            _ => Err(self.err_at(
                at,
                ErrorKind::Semantic,
                format!("unknown data type `{}`", clip(&w)),
            )),
        }
    }

    fn column(&mut self) -> Result<Column, SqlError> {
        if self.is_kw("primary") || self.is_kw("constraint") {
            return Err(self.err(
                ErrorKind::Unsupported,
                "PRIMARY KEY and constraints are not supported".to_owned(),
            ));
        }
        let name = self.name("column")?;
        let data_type = self.data_type(0)?;
        let mut col = Column {
            name,
            data_type,
            comment: String::new(),
            nullable: true,
        };
        loop {
            if self.accept_kw("not") {
                self.expect_kw("null")?;
                col.nullable = false;
            } else if self.accept_kw("null") {
                col.nullable = true;
            } else if self.accept_kw("comment") {
                col.comment = self.string("comment")?;
            } else if let Some(w) = self.word() {
                if matches!(w.as_str(), "default" | "primary" | "auto_increment" | "as") {
                    return Err(self.err(
                        ErrorKind::Unsupported,
                        format!(
                            "column option `{}` is not supported",
                            w.to_ascii_uppercase()
                        ),
                    ));
                }
                return Err(self.expected("`,`, `)`, `NOT NULL` or `COMMENT`"));
            } else {
                return Ok(col);
            }
        }
    }

    fn columns(&mut self, what: &str, limit: usize) -> Result<Vec<Column>, SqlError> {
        self.expect_sym('(')?;
        let mut cols: Vec<Column> = Vec::new();
        loop {
            if cols.len() >= limit {
                return Err(self.err(
                    ErrorKind::Semantic,
                    format!("a table has at most {limit} {what}"),
                ));
            }
            cols.push(self.column()?);
            if !self.accept_sym(',') {
                break;
            }
        }
        self.expect_sym(')')?;
        Ok(cols)
    }

    fn create_table(&mut self) -> Result<CreateTable, SqlError> {
        let if_not_exists = if self.accept_kw("if") {
            self.expect_kw("not")?;
            self.expect_kw("exists")?;
            true
        } else {
            false
        };
        let table = self.table_name()?;
        if self.is_kw("like") || self.is_kw("as") {
            return Err(self.err(
                ErrorKind::Unsupported,
                "CREATE TABLE … LIKE and CREATE TABLE … AS are not supported".to_owned(),
            ));
        }
        if self.is_kw("lifecycle") {
            return Err(self.err(
                ErrorKind::Unsupported,
                "a table needs a column list".to_owned(),
            ));
        }
        let cols_at = self.here();
        let columns = self.columns("columns", MAX_COLUMNS)?;
        let mut comment = String::new();
        if self.accept_kw("comment") {
            comment = self.string("comment")?;
        }
        let mut partitions = Vec::new();
        let parts_at = self.here();
        if self.is_kw("auto") {
            return Err(self.err(
                ErrorKind::Unsupported,
                "AUTO PARTITIONED BY is not supported".to_owned(),
            ));
        }
        if self.accept_kw("partitioned") {
            self.expect_kw("by")?;
            partitions = self.columns("partition keys", MAX_PARTITION_KEYS)?;
        }
        let mut lifecycle = None;
        if self.accept_kw("lifecycle") {
            lifecycle = Some(self.number("lifecycle", 1, MAX_LIFECYCLE)?);
        }
        if let Some(w) = self.word() {
            let known = [
                "clustered",
                "range",
                "stored",
                "tblproperties",
                "location",
                "row",
                "with",
                "into",
                "using",
                "hublifecycle",
                "disable",
            ];
            if known.contains(&w.as_str()) {
                return Err(self.err(
                    ErrorKind::Unsupported,
                    format!(
                        "the `{}` clause is not supported (keyless keeps table metadata only)",
                        w.to_ascii_uppercase()
                    ),
                ));
            }
        }
        // Column names are unique across columns and partition keys.
        let mut seen: Vec<&str> = Vec::with_capacity(columns.len() + partitions.len());
        for (i, c) in columns.iter().chain(partitions.iter()).enumerate() {
            if seen.contains(&c.name.as_str()) {
                let at = if i < columns.len() { cols_at } else { parts_at };
                return Err(self.err_at(
                    at,
                    ErrorKind::Semantic,
                    format!("column `{}` is defined more than once", c.name),
                ));
            }
            seen.push(&c.name);
        }
        for p in &partitions {
            let ok = PARTITION_TYPES.contains(&p.data_type.as_str())
                || p.data_type.starts_with("varchar(")
                || p.data_type.starts_with("char(");
            if !ok {
                return Err(self.err_at(
                    parts_at,
                    ErrorKind::Semantic,
                    format!(
                        "partition key `{}` cannot have type `{}`: use string, varchar, char, \
                         tinyint, smallint, int or bigint",
                        p.name, p.data_type
                    ),
                ));
            }
        }
        Ok(CreateTable {
            if_not_exists,
            table,
            columns,
            partitions,
            comment,
            lifecycle,
        })
    }

    fn drop_table(&mut self) -> Result<DropTable, SqlError> {
        let if_exists = if self.accept_kw("if") {
            self.expect_kw("exists")?;
            true
        } else {
            false
        };
        let table = self.table_name()?;
        if self.is_kw("purge") {
            self.pos += 1;
        }
        Ok(DropTable { if_exists, table })
    }

    fn statement(&mut self) -> Result<Statement, SqlError> {
        let Some(first) = self.word() else {
            if self.peek().is_none() {
                return Err(self.err(ErrorKind::Syntax, "the statement is empty".to_owned()));
            }
            return Err(self.expected("`CREATE TABLE` or `DROP TABLE`"));
        };
        let stmt = match first.as_str() {
            "create" => {
                self.pos += 1;
                if self.accept_kw("table") {
                    Statement::CreateTable(self.create_table()?)
                } else {
                    let what = self.word().unwrap_or_default().to_ascii_uppercase();
                    return Err(self.err(
                        ErrorKind::Unsupported,
                        format!(
                            "CREATE {} is not supported: keyless runs CREATE TABLE and DROP TABLE",
                            clip(&what)
                        ),
                    ));
                }
            }
            "drop" => {
                self.pos += 1;
                if self.accept_kw("table") {
                    Statement::DropTable(self.drop_table()?)
                } else {
                    let what = self.word().unwrap_or_default().to_ascii_uppercase();
                    return Err(self.err(
                        ErrorKind::Unsupported,
                        format!(
                            "DROP {} is not supported: keyless runs CREATE TABLE and DROP TABLE",
                            clip(&what)
                        ),
                    ));
                }
            }
            other => {
                return Err(self.err(
                    ErrorKind::Unsupported,
                    format!(
                        "`{}` statements are not supported: keyless runs CREATE TABLE and DROP \
                         TABLE only",
                        clip(&other.to_ascii_uppercase())
                    ),
                ))
            }
        };
        let mut terminated = false;
        while self.accept_sym(';') {
            terminated = true;
        }
        if self.peek().is_some() {
            if terminated && self.word().is_some() {
                return Err(self.err(
                    ErrorKind::Unsupported,
                    "only one statement per SQL task is supported".to_owned(),
                ));
            }
            return Err(self.err(ErrorKind::Syntax, format!("unexpected {}", self.found())));
        }
        Ok(stmt)
    }
}

/// Parses one statement (a trailing `;` is allowed).
pub fn parse(sql: &str) -> Result<Statement, SqlError> {
    if sql.len() > MAX_SQL_BYTES {
        return Err(SqlError {
            kind: ErrorKind::Syntax,
            line: 1,
            col: 1,
            message: format!("the statement is longer than {MAX_SQL_BYTES} bytes"),
        });
    }
    let lexer = Lexer {
        chars: sql.chars().peekable(),
        line: 1,
        col: 1,
    };
    let end = lexer_end(sql);
    let toks = lexer.tokens()?;
    let mut p = Parser { toks, pos: 0, end };
    p.statement()
}

/// Line and column just past the end of `sql`.
fn lexer_end(sql: &str) -> (u32, u32) {
    let mut line = 1u32;
    let mut col = 1u32;
    for c in sql.chars() {
        if c == '\n' {
            line = line.saturating_add(1);
            col = 1;
        } else {
            col = col.saturating_add(1);
        }
    }
    (line, col)
}

// -- rendering (canonical SQL; `parse(render(s)) == s`) -----------------------------------------

fn quote_name(f: &mut fmt::Formatter<'_>, name: &str) -> fmt::Result {
    write!(f, "`{}`", name.replace('`', "``"))
}

fn quote_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("'")?;
    for c in s.chars() {
        match c {
            '\\' => f.write_str("\\\\")?,
            '\'' => f.write_str("\\'")?,
            '"' => f.write_str("\\\"")?,
            '\n' => f.write_str("\\n")?,
            '\t' => f.write_str("\\t")?,
            '\r' => f.write_str("\\r")?,
            '\u{8}' => f.write_str("\\b")?,
            '\0' => f.write_str("\\0")?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("'")
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.project {
            quote_name(f, p)?;
            f.write_str(".")?;
        }
        quote_name(f, &self.name)
    }
}

fn write_columns(f: &mut fmt::Formatter<'_>, cols: &[Column]) -> fmt::Result {
    f.write_str("(")?;
    for (i, c) in cols.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        quote_name(f, &c.name)?;
        write!(f, " {}", c.data_type)?;
        if !c.nullable {
            f.write_str(" NOT NULL")?;
        }
        if !c.comment.is_empty() {
            f.write_str(" COMMENT ")?;
            quote_string(f, &c.comment)?;
        }
    }
    f.write_str(")")
}

impl fmt::Display for Statement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Statement::CreateTable(c) => {
                f.write_str("CREATE TABLE ")?;
                if c.if_not_exists {
                    f.write_str("IF NOT EXISTS ")?;
                }
                write!(f, "{} ", c.table)?;
                write_columns(f, &c.columns)?;
                if !c.comment.is_empty() {
                    f.write_str(" COMMENT ")?;
                    quote_string(f, &c.comment)?;
                }
                if !c.partitions.is_empty() {
                    f.write_str(" PARTITIONED BY ")?;
                    write_columns(f, &c.partitions)?;
                }
                if let Some(l) = c.lifecycle {
                    write!(f, " LIFECYCLE {l}")?;
                }
                Ok(())
            }
            Statement::DropTable(d) => {
                f.write_str("DROP TABLE ")?;
                if d.if_exists {
                    f.write_str("IF EXISTS ")?;
                }
                write!(f, "{}", d.table)
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn create(sql: &str) -> CreateTable {
        match parse(sql).unwrap() {
            Statement::CreateTable(c) => c,
            other => panic!("{other:?}"),
        }
    }

    fn err(sql: &str) -> SqlError {
        parse(sql).unwrap_err()
    }

    #[test]
    fn pyodps_string_schema() {
        let c = create(
            "CREATE TABLE IF NOT EXISTS myproj.`t` (\nid bigint, name string\n)\nLIFECYCLE 3;",
        );
        assert!(c.if_not_exists);
        assert_eq!(
            c.table,
            TableName {
                project: Some("myproj".into()),
                name: "t".into()
            }
        );
        assert_eq!(c.columns.len(), 2);
        assert_eq!(c.columns[0].name, "id");
        assert_eq!(c.columns[0].data_type, "bigint");
        assert_eq!(c.columns[1].data_type, "string");
        assert_eq!(c.lifecycle, Some(3));
        assert!(c.partitions.is_empty());
    }

    #[test]
    fn pyodps_table_schema() {
        let c = create(
            "CREATE TABLE myproj.`T2` (\n  `a` BIGINT NOT NULL COMMENT 'it\\'s',\n  `b` DECIMAL(10,2)\n)\n\
             COMMENT 'tbl'\nPARTITIONED BY (\n  `ds` STRING COMMENT 'day'\n)",
        );
        assert_eq!(c.table.name, "t2");
        assert_eq!(c.columns[0].comment, "it's");
        assert!(!c.columns[0].nullable);
        assert_eq!(c.columns[1].data_type, "decimal(10,2)");
        assert_eq!(c.comment, "tbl");
        assert_eq!(c.partitions[0].name, "ds");
        assert_eq!(c.partitions[0].comment, "day");
    }

    #[test]
    fn nested_types() {
        let c = create(
            "create table t (a ARRAY<map<string, struct<x:bigint, `Y`:varchar(10) comment 'c'>>>, \
             b char(3), c decimal, d integer) -- trailing comment",
        );
        assert_eq!(
            c.columns[0].data_type,
            "array<map<string,struct<x:bigint,y:varchar(10)>>>"
        );
        assert_eq!(c.columns[1].data_type, "char(3)");
        assert_eq!(c.columns[2].data_type, "decimal");
        assert_eq!(c.columns[3].data_type, "int");
    }

    #[test]
    fn drop_forms() {
        assert_eq!(
            parse("DROP TABLE IF EXISTS myproj.`t`").unwrap(),
            Statement::DropTable(DropTable {
                if_exists: true,
                table: TableName {
                    project: Some("myproj".into()),
                    name: "t".into()
                }
            })
        );
        assert_eq!(
            parse("/* c */ drop table T;;").unwrap(),
            Statement::DropTable(DropTable {
                if_exists: false,
                table: TableName {
                    project: None,
                    name: "t".into()
                }
            })
        );
    }

    #[test]
    fn errors_have_kinds_and_positions() {
        let e = err("SELECT * FROM t");
        assert_eq!(e.kind, ErrorKind::Unsupported);
        assert_eq!((e.line, e.col), (1, 1));
        let e = err("CREATE TABLE t (a bigint");
        assert_eq!(e.kind, ErrorKind::Syntax);
        assert!(e.message.contains("end of the statement"), "{e}");
        let e = err("CREATE TABLE t (a bigint,\n  b foo)");
        assert_eq!(e.kind, ErrorKind::Semantic);
        assert_eq!((e.line, e.col), (2, 5));
        assert_eq!(
            err("CREATE TABLE t (a bigint, A string)").kind,
            ErrorKind::Semantic
        );
        assert_eq!(
            err("CREATE TABLE t (a bigint) PARTITIONED BY (a string)").kind,
            ErrorKind::Semantic
        );
        assert_eq!(
            err("CREATE TABLE t (a bigint) PARTITIONED BY (p double)").kind,
            ErrorKind::Semantic
        );
        assert_eq!(
            err("CREATE VIEW v AS SELECT 1").kind,
            ErrorKind::Unsupported
        );
        assert_eq!(
            err("CREATE TABLE t (a bigint) STORED AS ORC").kind,
            ErrorKind::Unsupported
        );
        assert_eq!(
            err("DROP TABLE t; DROP TABLE u").kind,
            ErrorKind::Unsupported
        );
        assert_eq!(
            err("CREATE TABLE a.b.c (x bigint)").kind,
            ErrorKind::Unsupported
        );
        assert_eq!(
            err("CREATE TABLE t (a bigint) LIFECYCLE 0").kind,
            ErrorKind::Semantic
        );
        assert_eq!(
            err("CREATE TABLE t (a bigint) LIFECYCLE 99999999999999999999").kind,
            ErrorKind::Semantic
        );
        assert_eq!(
            err("CREATE TABLE `a b` (x bigint)").kind,
            ErrorKind::Semantic
        );
        assert_eq!(
            err("CREATE TABLE t (x decimal(10,11))").kind,
            ErrorKind::Semantic
        );
        assert_eq!(err("CREATE TABLE t ('x' bigint)").kind, ErrorKind::Syntax);
        assert_eq!(err("").kind, ErrorKind::Syntax);
        assert_eq!(err("   -- only a comment").kind, ErrorKind::Syntax);
        assert_eq!(err("DROP TABLE 't").kind, ErrorKind::Syntax);
        assert_eq!(err("DROP TABLE t /* open").kind, ErrorKind::Syntax);
    }

    #[test]
    fn limits() {
        let deep = format!(
            "CREATE TABLE t (a {}bigint{})",
            "array<".repeat(40),
            ">".repeat(40)
        );
        assert_eq!(err(&deep).kind, ErrorKind::Semantic);
        let many: Vec<String> = (0..=MAX_COLUMNS).map(|i| format!("c{i} bigint")).collect();
        let sql = format!("CREATE TABLE t ({})", many.join(","));
        assert_eq!(err(&sql).kind, ErrorKind::Semantic);
        let long = format!("DROP TABLE {}", "a".repeat(MAX_SQL_BYTES));
        assert_eq!(err(&long).kind, ErrorKind::Syntax);
        let name = format!("DROP TABLE {}", "a".repeat(MAX_NAME_BYTES + 1));
        assert_eq!(err(&name).kind, ErrorKind::Semantic);
    }

    #[test]
    fn render_round_trips() {
        for sql in [
            "CREATE TABLE IF NOT EXISTS `p`.`t` (`a` bigint NOT NULL COMMENT 'x\\n\\'y\\\\', `b` map<string,array<int>>) COMMENT 'c' PARTITIONED BY (`ds` string) LIFECYCLE 7",
            "DROP TABLE IF EXISTS `t`",
        ] {
            let s = parse(sql).unwrap();
            assert_eq!(s.to_string(), sql);
            assert_eq!(parse(&s.to_string()).unwrap(), s);
        }
    }
}
