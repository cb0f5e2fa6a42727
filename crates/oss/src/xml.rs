//! The XML of OSS bodies: a writer for responses (no `xmlns`: oss2 and oss-v2 both read plain
//! element names) and a small, bounded reader for the request bodies the service accepts
//! (`Delete`, `CompleteMultipartUpload`, `CreateBucketConfiguration`). The reader knows elements,
//! attributes (skipped), text, the five named entities and numeric character references; it
//! refuses DOCTYPEs, CDATA and processing instructions other than the declaration, so no entity
//! can expand.

/// Appends `s` escaped for element text.
pub fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
}

/// A response document under construction.
pub struct XmlWriter {
    out: String,
    open: Vec<&'static str>,
}

impl XmlWriter {
    /// Starts a document with the declaration and opens `root`.
    pub fn new(root: &'static str) -> Self {
        let mut w = XmlWriter {
            out: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"),
            open: Vec::new(),
        };
        w.open(root);
        w
    }

    /// Opens `<tag>`.
    pub fn open(&mut self, tag: &'static str) -> &mut Self {
        self.out.push('<');
        self.out.push_str(tag);
        self.out.push('>');
        self.open.push(tag);
        self
    }

    /// Closes the innermost open element.
    pub fn close(&mut self) -> &mut Self {
        if let Some(tag) = self.open.pop() {
            self.out.push_str("</");
            self.out.push_str(tag);
            self.out.push('>');
        }
        self
    }

    /// `<tag>text</tag>`, text escaped.
    pub fn elem(&mut self, tag: &str, text: &str) -> &mut Self {
        self.out.push('<');
        self.out.push_str(tag);
        self.out.push('>');
        escape_into(&mut self.out, text);
        self.out.push_str("</");
        self.out.push_str(tag);
        self.out.push('>');
        self
    }

    /// Escaped text inside the innermost open element.
    pub fn text(&mut self, text: &str) -> &mut Self {
        escape_into(&mut self.out, text);
        self
    }

    /// Closes every open element and returns the document.
    pub fn finish(mut self) -> String {
        while !self.open.is_empty() {
            self.close();
        }
        self.out
    }
}

/// A parsed element: its local name (any `prefix:` dropped), text and child elements.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element {
    pub name: String,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child named `name`.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The text of the first child named `name`.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.as_str())
    }
}

/// Why a body is not XML this reader accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlError(pub &'static str);

/// Deepest nesting accepted.
const MAX_DEPTH: usize = 16;
/// Most elements accepted in one document.
const MAX_ELEMENTS: usize = 100_000;

struct Parser<'a> {
    s: &'a str,
    pos: usize,
    elements: usize,
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or("")
    }

    fn skip_ws(&mut self) {
        let r = self.rest();
        let trimmed = r.trim_start_matches([' ', '\t', '\r', '\n']);
        self.pos += r.len() - trimmed.len();
    }

    fn eat(&mut self, lit: &str) -> bool {
        if self.rest().starts_with(lit) {
            self.pos += lit.len();
            true
        } else {
            false
        }
    }

    fn skip_until(&mut self, end: &str) -> Result<(), XmlError> {
        match self.rest().find(end) {
            Some(i) => {
                self.pos += i + end.len();
                Ok(())
            }
            None => Err(XmlError("unterminated markup")),
        }
    }

    /// Skips the declaration, comments and whitespace before or after the root.
    fn skip_misc(&mut self) -> Result<(), XmlError> {
        loop {
            self.skip_ws();
            if self.rest().starts_with("<?xml") {
                self.skip_until("?>")?;
            } else if self.rest().starts_with("<!--") {
                self.skip_until("-->")?;
            } else if self.rest().starts_with("<!") || self.rest().starts_with("<?") {
                return Err(XmlError("unsupported markup"));
            } else {
                return Ok(());
            }
        }
    }

    fn name(&mut self) -> Result<&'a str, XmlError> {
        let r = self.rest();
        let end = r
            .find(|c: char| c.is_whitespace() || c == '>' || c == '/' || c == '=')
            .unwrap_or(r.len());
        let name = r.get(..end).unwrap_or("");
        if name.is_empty() || name.contains(['<', '&', '"', '\'']) {
            return Err(XmlError("invalid element name"));
        }
        self.pos += end;
        Ok(name)
    }

    /// Skips attributes; returns whether the tag closed itself (`/>`).
    fn attributes(&mut self) -> Result<bool, XmlError> {
        loop {
            self.skip_ws();
            if self.eat("/>") {
                return Ok(true);
            }
            if self.eat(">") {
                return Ok(false);
            }
            self.name()?;
            self.skip_ws();
            if !self.eat("=") {
                return Err(XmlError("attribute without value"));
            }
            self.skip_ws();
            let quote = if self.eat("\"") {
                "\""
            } else if self.eat("'") {
                "'"
            } else {
                return Err(XmlError("unquoted attribute"));
            };
            let r = self.rest();
            let end = r.find(quote).ok_or(XmlError("unterminated attribute"))?;
            if r.get(..end).is_some_and(|v| v.contains('<')) {
                return Err(XmlError("`<` in an attribute"));
            }
            self.pos += end + 1;
        }
    }

    fn element(&mut self, depth: usize) -> Result<Element, XmlError> {
        if depth > MAX_DEPTH {
            return Err(XmlError("nested too deeply"));
        }
        self.elements += 1;
        if self.elements > MAX_ELEMENTS {
            return Err(XmlError("too many elements"));
        }
        if !self.eat("<") {
            return Err(XmlError("expected an element"));
        }
        let qname = self.name()?;
        let local = qname.rsplit(':').next().unwrap_or(qname);
        let mut el = Element {
            name: local.to_owned(),
            ..Element::default()
        };
        if self.attributes()? {
            return Ok(el);
        }
        loop {
            let r = self.rest();
            if r.is_empty() {
                return Err(XmlError("unterminated element"));
            }
            if r.starts_with("</") {
                self.pos += 2;
                let end = self.name()?;
                self.skip_ws();
                if end != qname || !self.eat(">") {
                    return Err(XmlError("mismatched end tag"));
                }
                return Ok(el);
            }
            if r.starts_with("<!--") {
                self.skip_until("-->")?;
                continue;
            }
            if r.starts_with("<!") || r.starts_with("<?") {
                return Err(XmlError("unsupported markup"));
            }
            if r.starts_with('<') {
                let child = self.element(depth + 1)?;
                el.children.push(child);
                continue;
            }
            let end = r.find('<').unwrap_or(r.len());
            let raw = r.get(..end).unwrap_or("");
            unescape_into(&mut el.text, raw)?;
            self.pos += end;
        }
    }
}

/// Decodes entities and character references of element text.
fn unescape_into(out: &mut String, raw: &str) -> Result<(), XmlError> {
    let mut rest = raw;
    while let Some(i) = rest.find('&') {
        out.push_str(rest.get(..i).unwrap_or(""));
        let after = rest.get(i + 1..).unwrap_or("");
        let semi = after
            .find(';')
            .filter(|&n| n <= 10)
            .ok_or(XmlError("unterminated entity"))?;
        let ent = after.get(..semi).unwrap_or("");
        let c = match ent {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = if let Some(hex) = ent.strip_prefix("#x").or(ent.strip_prefix("#X")) {
                    u32::from_str_radix(hex, 16).ok()
                } else if let Some(dec) = ent.strip_prefix('#') {
                    dec.parse::<u32>().ok()
                } else {
                    None
                };
                code.filter(|&c| c != 0)
                    .and_then(char::from_u32)
                    .ok_or(XmlError("unknown entity"))?
            }
        };
        out.push(c);
        rest = after.get(semi + 1..).unwrap_or("");
    }
    out.push_str(rest);
    Ok(())
}

/// Parses a document into its root element.
pub fn parse(body: &[u8]) -> Result<Element, XmlError> {
    let s = std::str::from_utf8(body).map_err(|_| XmlError("not UTF-8"))?;
    let s = s.strip_prefix('\u{feff}').unwrap_or(s);
    let mut p = Parser {
        s,
        pos: 0,
        elements: 0,
    };
    p.skip_misc()?;
    let root = p.element(0)?;
    p.skip_misc()?;
    if !p.rest().is_empty() {
        return Err(XmlError("content after the root element"));
    }
    Ok(root)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn writes_escaped_elements() {
        let mut w = XmlWriter::new("R");
        w.elem("K", "a<b&\"c\"").open("C").elem("X", "1");
        assert_eq!(
            w.finish(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<R><K>a&lt;b&amp;&quot;c&quot;</K><C><X>1</X></C></R>"
        );
    }

    #[test]
    fn reads_client_bodies() {
        let doc = br#"<?xml version='1.0' encoding='utf-8'?>
<Delete xmlns="x"><Quiet>true</Quiet><Object><Key>a&amp;b&#10;&#x41;</Key></Object><Object><Key/></Object></Delete>"#;
        let root = parse(doc).unwrap();
        assert_eq!(root.name, "Delete");
        assert_eq!(root.child_text("Quiet"), Some("true"));
        let keys: Vec<_> = root
            .children_named("Object")
            .map(|o| o.child_text("Key").unwrap_or("?").to_owned())
            .collect();
        assert_eq!(keys, ["a&b\nA", ""]);
    }

    #[test]
    fn refuses_what_it_does_not_know() {
        for bad in [
            &b"<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>"[..],
            b"<a><b></a></b>",
            b"<a>",
            b"<a></a><b></b>",
            b"<a>&bogus;</a>",
            b"<a>&#0;</a>",
            b"<a><![CDATA[x]]></a>",
            b"",
            b"\xff",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        let deep = format!("{}{}", "<a>".repeat(40), "</a>".repeat(40));
        assert!(parse(deep.as_bytes()).is_err());
    }
}
