//! The writing half: one escaping routine for text, one for attribute values, CDATA sections, and
//! a document builder.
//!
//! Escaping (the same bytes the three escapers of before produced for every character they could
//! carry): `<` `>` `&` `"` `'` become `&lt;` `&gt;` `&amp;` `&quot;` `&apos;`; tab, line feed and
//! carriage return pass through in text; any other control character (`char::is_control`: C0,
//! DEL, C1), most of which XML 1.0 cannot carry even as a character reference, becomes the
//! visible text `\u{<hex>}` (the rule MaxCompute's escaper had; OSS's and RPC's passed them raw,
//! producing a document no client could parse). Everything else passes through. Attribute values
//! additionally turn tab, line feed and carriage return into `&#9;` `&#10;` `&#13;`, so a reader's
//! attribute-value normalisation cannot change them.

use std::borrow::Cow;
use std::fmt::Write as _;

use serde_json::Value;

/// The XML declaration every response starts with.
pub const DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";

fn escape_char(out: &mut String, c: char, attr: bool) {
    match c {
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '&' => out.push_str("&amp;"),
        '"' => out.push_str("&quot;"),
        '\'' => out.push_str("&apos;"),
        '\t' if attr => out.push_str("&#9;"),
        '\n' if attr => out.push_str("&#10;"),
        '\r' if attr => out.push_str("&#13;"),
        '\t' | '\n' | '\r' => out.push(c),
        c if c.is_control() => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
        c => out.push(c),
    }
}

fn needs_escape(c: char) -> bool {
    matches!(c, '<' | '>' | '&' | '"' | '\'')
        || (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

/// Appends `s` escaped for element text.
pub fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        escape_char(out, c, false);
    }
}

/// Appends `s` escaped for an attribute value (either quote).
pub fn escape_attr_into(out: &mut String, s: &str) {
    for c in s.chars() {
        escape_char(out, c, true);
    }
}

/// `s` escaped for element text; borrowed when nothing needed escaping. Usable in `format!`.
pub fn escape(s: &str) -> Cow<'_, str> {
    if s.chars().any(needs_escape) {
        let mut out = String::with_capacity(s.len() + 16);
        escape_into(&mut out, s);
        Cow::Owned(out)
    } else {
        Cow::Borrowed(s)
    }
}

/// Appends a CDATA section holding `s`; a `]]>` inside is split across two sections.
pub fn cdata_into(out: &mut String, s: &str) {
    out.push_str("<![CDATA[");
    let mut parts = s.split("]]>");
    if let Some(first) = parts.next() {
        out.push_str(first);
    }
    for part in parts {
        out.push_str("]]]]><![CDATA[>");
        out.push_str(part);
    }
    out.push_str("]]>");
}

/// A CDATA section holding `s` (see [`cdata_into`]).
pub fn cdata(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 12);
    cdata_into(&mut out, s);
    out
}

/// A document under construction. Tag and attribute names come from the program, never from a
/// request, and are written as given; all text and attribute values are escaped.
#[derive(Debug, Clone)]
pub struct XmlWriter {
    out: String,
    open: Vec<String>,
}

impl XmlWriter {
    /// Starts a document with [`DECLARATION`], a line feed, and `root` open (OSS's and
    /// MaxCompute's responses).
    pub fn new(root: &str) -> Self {
        let mut w = Self::with_prolog(DECLARATION);
        w.out.push('\n');
        w.open(root);
        w
    }

    /// Starts a document with `prolog` written verbatim and nothing open (RPC's responses use
    /// `with_prolog(DECLARATION)`: no line feed).
    pub fn with_prolog(prolog: &str) -> Self {
        XmlWriter {
            out: String::from(prolog),
            open: Vec::new(),
        }
    }

    /// Opens `<tag>`.
    pub fn open(&mut self, tag: &str) -> &mut Self {
        self.open_with(tag, &[])
    }

    /// Opens `<tag name="value"…>`, values escaped.
    pub fn open_with(&mut self, tag: &str, attributes: &[(&str, &str)]) -> &mut Self {
        self.out.push('<');
        self.out.push_str(tag);
        for (name, value) in attributes {
            self.out.push(' ');
            self.out.push_str(name);
            self.out.push_str("=\"");
            escape_attr_into(&mut self.out, value);
            self.out.push('"');
        }
        self.out.push('>');
        self.open.push(tag.to_owned());
        self
    }

    /// Closes the innermost open element (nothing if none is open).
    pub fn close(&mut self) -> &mut Self {
        if let Some(tag) = self.open.pop() {
            self.out.push_str("</");
            self.out.push_str(&tag);
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

    /// A CDATA section (see [`cdata_into`]) inside the innermost open element.
    pub fn cdata(&mut self, text: &str) -> &mut Self {
        cdata_into(&mut self.out, text);
        self
    }

    /// Closes every open element and returns the document.
    pub fn finish(mut self) -> String {
        while !self.open.is_empty() {
            self.close();
        }
        self.out
    }

    /// Writes `v` as the element `tag` by the RPC convention: an object's members become child
    /// elements in order, an array repeats `tag` once per item, `null` is empty, numbers and
    /// booleans are their JSON text.
    pub fn json(&mut self, tag: &str, v: &Value) -> &mut Self {
        match v {
            Value::Array(items) => {
                for item in items {
                    self.json(tag, item);
                }
            }
            Value::Object(members) => {
                self.open(tag);
                for (k, val) in members {
                    self.json(k, val);
                }
                self.close();
            }
            Value::String(s) => {
                self.elem(tag, s);
            }
            Value::Null => {
                self.elem(tag, "");
            }
            other => {
                self.elem(tag, &other.to_string());
            }
        }
        self
    }
}

/// A JSON response body as the vendor's XML (RPC `Format=XML`): [`DECLARATION`] (no line feed),
/// then `v` as the element `root` by [`XmlWriter::json`]'s convention.
pub fn json_to_xml(root: &str, v: &Value) -> String {
    let mut w = XmlWriter::with_prolog(DECLARATION);
    w.json(root, v);
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn writes_escaped_elements_like_oss() {
        let mut w = XmlWriter::new("R");
        w.elem("K", "a<b&\"c\"").open("C").elem("X", "1");
        assert_eq!(
            w.finish(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<R><K>a&lt;b&amp;&quot;c&quot;</K><C><X>1</X></C></R>"
        );
    }

    #[test]
    fn json_shapes_like_rpc() {
        let v = json!({"RequestId": "r", "Roles": {"Role": [{"RoleName": "a<b"}, {"RoleName": "c"}]}, "N": 3, "B": true, "Z": null});
        assert_eq!(
            json_to_xml("ListRolesResponse", &v),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListRolesResponse><RequestId>r</RequestId><Roles><Role><RoleName>a&lt;b</RoleName></Role><Role><RoleName>c</RoleName></Role></Roles><N>3</N><B>true</B><Z></Z></ListRolesResponse>"
        );
    }

    #[test]
    fn escaping_matches_every_old_escaper() {
        assert_eq!(escape("<>&\"'"), "&lt;&gt;&amp;&quot;&apos;");
        assert_eq!(escape("a\tb\nc\rd"), "a\tb\nc\rd");
        assert_eq!(
            escape("a\0b\u{1b}c\u{7f}\u{85}"),
            "a\\u{0}b\\u{1b}c\\u{7f}\\u{85}"
        );
        assert!(matches!(escape("plain ü"), Cow::Borrowed("plain ü")));
        let mut a = String::new();
        escape_attr_into(&mut a, "x\t\n\r\"'<");
        assert_eq!(a, "x&#9;&#10;&#13;&quot;&apos;&lt;");
    }

    #[test]
    fn cdata_splits_its_terminator() {
        assert_eq!(cdata("a]]>b"), "<![CDATA[a]]]]><![CDATA[>b]]>");
        assert_eq!(cdata(""), "<![CDATA[]]>");
        let mut w = XmlWriter::with_prolog("");
        w.open_with("T", &[("k", "v&")]).cdata("x").close();
        assert_eq!(w.finish(), "<T k=\"v&amp;\"><![CDATA[x]]></T>");
    }
}
