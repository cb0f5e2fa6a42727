//! The reading half: a bounded tree reader over `quick-xml`'s pull parser.

use quick_xml::errors::{Error as QxError, IllFormedError};
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// What the reader accepts: every bound, and the two kinds of markup one dialect takes and the
/// other refuses. The presets are the bounds of the two readers this one replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest document, in bytes (the caller's body limit should be at most this).
    pub max_bytes: usize,
    /// Most levels of nesting, the root being level 1.
    pub max_depth: usize,
    /// Most elements in one document.
    pub max_elements: usize,
    /// Longest element name, in bytes, prefix included.
    pub max_name_bytes: usize,
    /// Whether `<![CDATA[…]]>` sections are taken as text (else refused).
    pub allow_cdata: bool,
    /// Whether processing instructions are skipped anywhere (else refused; the `<?xml …?>`
    /// declaration outside the root is always skipped).
    pub allow_processing_instructions: bool,
}

impl Limits {
    /// OSS request bodies (`Delete`, `CompleteMultipartUpload`, `CreateBucketConfiguration`):
    /// 4 MiB, 17 levels, 100 000 elements, no CDATA, no processing instructions.
    pub const OSS: Limits = Limits {
        max_bytes: 4 << 20,
        max_depth: 17,
        max_elements: 100_000,
        max_name_bytes: 128,
        allow_cdata: false,
        allow_processing_instructions: false,
    };

    /// MaxCompute job documents (pyodps sends the query as CDATA): 1 MiB, 16 levels, 4096
    /// elements, names of at most 128 bytes, CDATA and processing instructions accepted.
    pub const ODPS: Limits = Limits {
        max_bytes: 1 << 20,
        max_depth: 16,
        max_elements: 4096,
        max_name_bytes: 128,
        allow_cdata: true,
        allow_processing_instructions: true,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::OSS
    }
}

/// A parsed element: its local name (any `prefix:` dropped), its text (all of its direct text,
/// CDATA and references, in order, undecoded line ends kept) and its child elements.
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

/// Why a body is not XML this reader accepts. Messages are fixed strings: nothing from the
/// document is echoed back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum XmlError {
    #[error("the document is larger than the limit")]
    TooLarge,
    #[error("not UTF-8")]
    NotUtf8,
    #[error("expected an element")]
    NoRoot,
    #[error("content outside the root element")]
    OutsideRoot,
    #[error("document type declarations are not accepted")]
    DocType,
    #[error("CDATA sections are not accepted")]
    Cdata,
    #[error("processing instructions are not accepted")]
    ProcessingInstruction,
    #[error("invalid element name")]
    InvalidName,
    #[error("malformed attribute")]
    Attribute,
    #[error("nested too deeply")]
    TooDeep,
    #[error("too many elements")]
    TooManyElements,
    #[error("mismatched end tag")]
    MismatchedEndTag,
    #[error("unterminated element")]
    Unclosed,
    #[error("unknown entity")]
    UnknownEntity,
    #[error("malformed markup")]
    Syntax,
}

impl XmlError {
    /// The message, as a `'static` string (what `oss/xml.rs`'s `XmlError.0` was).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TooLarge => "the document is larger than the limit",
            Self::NotUtf8 => "not UTF-8",
            Self::NoRoot => "expected an element",
            Self::OutsideRoot => "content outside the root element",
            Self::DocType => "document type declarations are not accepted",
            Self::Cdata => "CDATA sections are not accepted",
            Self::ProcessingInstruction => "processing instructions are not accepted",
            Self::InvalidName => "invalid element name",
            Self::Attribute => "malformed attribute",
            Self::TooDeep => "nested too deeply",
            Self::TooManyElements => "too many elements",
            Self::MismatchedEndTag => "mismatched end tag",
            Self::Unclosed => "unterminated element",
            Self::UnknownEntity => "unknown entity",
            Self::Syntax => "malformed markup",
        }
    }
}

impl From<QxError> for XmlError {
    fn from(e: QxError) -> Self {
        match e {
            QxError::IllFormed(
                IllFormedError::MismatchedEndTag { .. } | IllFormedError::UnmatchedEndTag(_),
            ) => Self::MismatchedEndTag,
            QxError::IllFormed(IllFormedError::MissingEndTag(_)) => Self::Unclosed,
            QxError::IllFormed(IllFormedError::UnclosedReference) | QxError::Escape(_) => {
                Self::UnknownEntity
            }
            QxError::InvalidAttr(_) => Self::Attribute,
            _ => Self::Syntax,
        }
    }
}

/// Longest reference name (`&…;`) looked at: `#x10FFFF` and `#1114111` fit.
const MAX_REF_BYTES: usize = 12;

/// Whitespace outside the root (XML's `S`).
const WS: [char; 4] = [' ', '\t', '\r', '\n'];

/// Parses a document into its root element with [`Limits::OSS`].
pub fn parse(body: &[u8]) -> Result<Element, XmlError> {
    parse_with(body, &Limits::OSS)
}

/// Parses a document into its root element within `limits`.
pub fn parse_with(body: &[u8], limits: &Limits) -> Result<Element, XmlError> {
    if body.len() > limits.max_bytes {
        return Err(XmlError::TooLarge);
    }
    let s = std::str::from_utf8(body).map_err(|_| XmlError::NotUtf8)?;
    let s = s.strip_prefix('\u{feff}').unwrap_or(s);
    let mut reader = Reader::from_str(s);
    {
        let config = reader.config_mut();
        config.check_end_names = true;
        config.allow_unmatched_ends = false;
        config.allow_dangling_amp = false;
        config.expand_empty_elements = false;
        config.trim_text(false);
    }
    let mut tree = Tree {
        limits,
        stack: Vec::new(),
        root: None,
        elements: 0,
    };
    loop {
        match reader.read_event()? {
            Event::Start(e) => {
                let el = tree.start(&e)?;
                tree.stack.push(el);
            }
            Event::Empty(e) => {
                let el = tree.start(&e)?;
                tree.attach(el);
            }
            Event::End(_) => {
                let el = tree.stack.pop().ok_or(XmlError::MismatchedEndTag)?;
                tree.attach(el);
            }
            Event::Text(t) => {
                let raw = t.into_inner();
                match tree.stack.last_mut() {
                    Some(top) => top.text.push_str(&raw),
                    None if raw.trim_matches(WS).is_empty() => {}
                    None => return Err(XmlError::OutsideRoot),
                }
            }
            Event::GeneralRef(r) => {
                let c = resolve_reference(&r)?;
                tree.stack
                    .last_mut()
                    .ok_or(XmlError::OutsideRoot)?
                    .text
                    .push(c);
            }
            Event::CData(c) => {
                if !limits.allow_cdata {
                    return Err(XmlError::Cdata);
                }
                let raw = c.into_inner();
                tree.stack
                    .last_mut()
                    .ok_or(XmlError::OutsideRoot)?
                    .text
                    .push_str(&raw);
            }
            Event::Comment(_) => {}
            Event::Decl(_) if tree.stack.is_empty() => {}
            Event::Decl(_) | Event::PI(_) => {
                if !limits.allow_processing_instructions {
                    return Err(XmlError::ProcessingInstruction);
                }
            }
            Event::DocType(_) => return Err(XmlError::DocType),
            Event::Eof => {
                if !tree.stack.is_empty() {
                    return Err(XmlError::Unclosed);
                }
                return tree.root.ok_or(XmlError::NoRoot);
            }
        }
    }
}

struct Tree<'l> {
    limits: &'l Limits,
    stack: Vec<Element>,
    root: Option<Element>,
    elements: usize,
}

impl Tree<'_> {
    /// Checks a start tag against the limits and makes its element.
    fn start(&mut self, e: &BytesStart<'_>) -> Result<Element, XmlError> {
        if self.root.is_some() {
            return Err(XmlError::OutsideRoot);
        }
        if self.stack.len() >= self.limits.max_depth {
            return Err(XmlError::TooDeep);
        }
        self.elements += 1;
        if self.elements > self.limits.max_elements {
            return Err(XmlError::TooManyElements);
        }
        let qname: &str = e.name().0;
        let local = qname.rsplit(':').next().unwrap_or(qname);
        if local.is_empty()
            || qname.len() > self.limits.max_name_bytes
            || qname.contains(['<', '>', '&', '"', '\'', '=', '/'])
        {
            return Err(XmlError::InvalidName);
        }
        for attr in e.attributes() {
            let attr = attr.map_err(|_| XmlError::Attribute)?;
            if attr.value.contains('<') {
                return Err(XmlError::Attribute);
            }
        }
        Ok(Element {
            name: local.to_owned(),
            ..Element::default()
        })
    }

    /// Adds a finished element to its parent, or makes it the root.
    fn attach(&mut self, el: Element) {
        match self.stack.last_mut() {
            Some(parent) => parent.children.push(el),
            None => self.root = Some(el),
        }
    }
}

/// The character a reference (`&name;`, without `&` and `;`) stands for: one of the five
/// predefined entities or a character reference (`#` decimal, `#x`/`#X` hex; not 0, no sign).
fn resolve_reference(name: &str) -> Result<char, XmlError> {
    if name.len() > MAX_REF_BYTES {
        return Err(XmlError::UnknownEntity);
    }
    let c = match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "quot" => '"',
        "apos" => '\'',
        _ => {
            let code = if let Some(hex) = name.strip_prefix("#x").or(name.strip_prefix("#X")) {
                digits(hex, 16)
            } else if let Some(dec) = name.strip_prefix('#') {
                digits(dec, 10)
            } else {
                None
            };
            code.filter(|&c| c != 0)
                .and_then(char::from_u32)
                .ok_or(XmlError::UnknownEntity)?
        }
    };
    Ok(c)
}

/// `s` as a number in `radix`, digits only (no sign, not empty).
fn digits(s: &str, radix: u32) -> Option<u32> {
    if s.is_empty() || !s.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u32::from_str_radix(s, radix).ok()
}

/// See [`crate::fuzz_xml_read`].
pub(crate) fn fuzz_read(data: &[u8]) {
    for limits in [Limits::OSS, Limits::ODPS] {
        let Ok(root) = parse_with(data, &limits) else {
            continue;
        };
        let mut elements = 0;
        let depth = check_tree(&root, &limits, &mut elements);
        debug_assert!(depth <= limits.max_depth, "depth {depth}");
        debug_assert!(elements <= limits.max_elements, "{elements} elements");
        if !tree_has_control(&root) {
            let again = parse_with(
                render(&root).as_bytes(),
                &Limits {
                    max_bytes: usize::MAX,
                    ..limits
                },
            );
            debug_assert_eq!(again.as_ref(), Ok(&root));
        }
    }
}

/// Checks names; returns the depth and counts the elements.
fn check_tree(el: &Element, limits: &Limits, elements: &mut usize) -> usize {
    *elements += 1;
    debug_assert!(!el.name.is_empty() && el.name.len() <= limits.max_name_bytes);
    1 + el
        .children
        .iter()
        .map(|c| check_tree(c, limits, elements))
        .max()
        .unwrap_or(0)
}

fn tree_has_control(el: &Element) -> bool {
    el.text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        || el.children.iter().any(tree_has_control)
}

/// Writes a tree back as XML (text first, then children), for round-trip checks.
pub(crate) fn render(root: &Element) -> String {
    fn walk(w: &mut super::XmlWriter, el: &Element) {
        w.open(&el.name).text(&el.text);
        for c in &el.children {
            walk(w, c);
        }
        w.close();
    }
    let mut w = super::XmlWriter::with_prolog("");
    walk(&mut w, root);
    w.finish()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::xml::{escape, XmlWriter};
    use proptest::prelude::*;

    // -- what `oss/xml.rs` accepted and refused ---------------------------------------------

    #[test]
    fn reads_oss_client_bodies() {
        let doc = br#"<?xml version='1.0' encoding='utf-8'?>
<Delete xmlns="x"><Quiet>true</Quiet><Object><Key>a&amp;b&#10;&#x41;&#X42;</Key></Object><Object><Key/></Object></Delete>"#;
        let root = parse(doc).unwrap();
        assert_eq!(root.name, "Delete");
        assert_eq!(root.child_text("Quiet"), Some("true"));
        let keys: Vec<_> = root
            .children_named("Object")
            .map(|o| o.child_text("Key").unwrap_or("?").to_owned())
            .collect();
        assert_eq!(keys, ["a&b\nAB", ""]);
    }

    #[test]
    fn oss_refuses_what_it_does_not_know() {
        for bad in [
            &b"<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>"[..],
            b"<a><b></a></b>",
            b"<a>",
            b"<a></a><b></b>",
            b"<a></a>x",
            b"x<a></a>",
            b"<a>&bogus;</a>",
            b"<a>&#0;</a>",
            b"<a>&#+65;</a>",
            b"<a>&#x;</a>",
            b"<a>& b</a>",
            b"<a><![CDATA[x]]></a>",
            b"<a><?pi x?></a>",
            b"<?pi x?><a/>",
            b"<a b=\"<\"/>",
            b"<a b/>",
            b"<a b=c/>",
            b"<a=b/>",
            b"<p:/>",
            b"</a>",
            b"",
            b"  ",
            b"\xff",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        let deep = format!("{}{}", "<a>".repeat(40), "</a>".repeat(40));
        assert_eq!(parse(deep.as_bytes()), Err(XmlError::TooDeep));
    }

    #[test]
    fn oss_depth_and_count_bounds_are_the_old_ones() {
        let at = |n: usize| format!("{}{}", "<a>".repeat(n), "</a>".repeat(n));
        assert!(parse(at(17).as_bytes()).is_ok());
        assert_eq!(parse(at(18).as_bytes()), Err(XmlError::TooDeep));
        let many = |n: usize| format!("<r>{}</r>", "<k/>".repeat(n - 1));
        assert!(parse(many(100_000).as_bytes()).is_ok());
        assert_eq!(
            parse(many(100_001).as_bytes()),
            Err(XmlError::TooManyElements)
        );
        let big = vec![b' '; Limits::OSS.max_bytes + 1];
        assert_eq!(parse(&big), Err(XmlError::TooLarge));
    }

    #[test]
    fn prefixes_bom_comments_and_declarations() {
        let root = parse(
            "\u{feff}<!-- c --><s:R xmlns:s=\"u\"><s:K>v<!-- k --></s:K></s:R><!-- t -->\n"
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(root.name, "R");
        assert_eq!(root.child_text("K"), Some("v"));
        assert_eq!(parse(b"<s:R></t:R>"), Err(XmlError::MismatchedEndTag));
    }

    // -- what `odps/job.rs` accepted and refused --------------------------------------------

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
    fn reads_a_pyodps_job() {
        let root = parse_with(PYODPS.as_bytes(), &Limits::ODPS).unwrap();
        assert_eq!(root.name, "Instance");
        let tasks = root.child("Job").unwrap().child("Tasks").unwrap();
        let sql = &tasks.children[0];
        assert_eq!(sql.name, "SQL");
        assert_eq!(
            sql.child_text("Name").map(str::trim),
            Some("SQLCreateTableTask")
        );
        assert_eq!(
            sql.child_text("Query"),
            Some("CREATE TABLE IF NOT EXISTS myproj.`t` (\nid bigint, name string\n);")
        );
        // OSS's limits refuse the CDATA.
        assert_eq!(parse(PYODPS.as_bytes()), Err(XmlError::Cdata));
    }

    #[test]
    fn odps_entities_attributes_comments_and_pis() {
        let root = parse_with(
            br#"<!-- c --><?pi x?><Instance a="1"><Job><Tasks><SQL x='y'><Name>n</Name><Query>DROP TABLE &lt;&#x41;&#66;&amp;&gt;<!-- k --><?p?><![CDATA[;]]></Query></SQL><Other/></Tasks></Job></Instance>"#,
            &Limits::ODPS,
        )
        .unwrap();
        let tasks = root.child("Job").unwrap().child("Tasks").unwrap();
        assert_eq!(
            tasks.children[0].child_text("Query"),
            Some("DROP TABLE <AB&>;")
        );
        assert_eq!(tasks.children[1].name, "Other");
    }

    #[test]
    fn odps_refuses_malformed() {
        for bad in [
            "",
            "<Instance>",
            "<Instance></Job>",
            "<Instance><Job><Tasks></Tasks></Job></Instance><x/>",
            "<!DOCTYPE x><Instance/>",
            "<Instance><Query>&bogus;</Query></Instance>",
            "<Instance><Query><![CDATA[x</Query></Instance>",
            "<Instance a=b/>",
        ] {
            assert!(parse_with(bad.as_bytes(), &Limits::ODPS).is_err(), "{bad}");
        }
        let at = |n: usize| format!("{}{}", "<a>".repeat(n), "</a>".repeat(n));
        assert!(parse_with(at(16).as_bytes(), &Limits::ODPS).is_ok());
        assert_eq!(
            parse_with(at(17).as_bytes(), &Limits::ODPS),
            Err(XmlError::TooDeep)
        );
        let long = format!("<{0}></{0}>", "n".repeat(129));
        assert_eq!(
            parse_with(long.as_bytes(), &Limits::ODPS),
            Err(XmlError::InvalidName)
        );
        let many = format!("<r>{}</r>", "<k/>".repeat(4096));
        assert_eq!(
            parse_with(many.as_bytes(), &Limits::ODPS),
            Err(XmlError::TooManyElements)
        );
        assert!(parse_with(&[0xff, 0xfe], &Limits::ODPS).is_err());
    }

    #[test]
    fn line_ends_and_markup_characters_in_text_are_kept_as_sent() {
        let root = parse(b"<a>x\r\ny\r]]>'\"</a>").unwrap();
        assert_eq!(root.text, "x\r\ny\r]]>'\"");
    }

    #[test]
    fn error_messages_are_the_display() {
        for e in [
            XmlError::TooDeep,
            XmlError::NotUtf8,
            XmlError::Syntax,
            XmlError::Cdata,
        ] {
            assert_eq!(e.to_string(), e.as_str());
        }
    }

    // -- properties ---------------------------------------------------------------------------

    /// Text the writer round-trips exactly: anything but the control characters it replaces.
    fn xml_text() -> impl Strategy<Value = String> {
        any::<String>().prop_map(|s| {
            s.chars()
                .filter(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'))
                .collect()
        })
    }

    fn tree() -> impl Strategy<Value = Element> {
        let name = "[A-Za-z_][A-Za-z0-9_.-]{0,10}";
        let leaf = (name, xml_text()).prop_map(|(name, text)| Element {
            name,
            text,
            children: Vec::new(),
        });
        leaf.prop_recursive(4, 32, 4, move |inner| {
            (name, xml_text(), proptest::collection::vec(inner, 0..4)).prop_map(
                |(name, text, children)| Element {
                    name,
                    text,
                    children,
                },
            )
        })
    }

    proptest! {
        #[test]
        fn escaped_text_reads_back(s in xml_text()) {
            let mut w = XmlWriter::new("R");
            w.elem("K", &s);
            let root = parse(w.finish().as_bytes()).unwrap();
            prop_assert_eq!(root.child_text("K"), Some(s.as_str()));
            let doc = format!("<a>{}</a>", escape(&s));
            prop_assert_eq!(parse_with(doc.as_bytes(), &Limits::ODPS).unwrap().text, s);
        }

        #[test]
        fn attribute_values_escape_to_well_formed_tags(s in any::<String>()) {
            let mut w = XmlWriter::with_prolog("");
            w.open_with("a", &[("v", &s)]);
            prop_assert!(parse(w.finish().as_bytes()).is_ok());
        }

        #[test]
        fn trees_round_trip(t in tree()) {
            let doc = render(&t);
            prop_assert_eq!(parse(doc.as_bytes()), Ok(t));
        }

        #[test]
        fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..512)) {
            crate::fuzz_xml_read(&b);
        }

        #[test]
        fn markup_soup_never_panics_and_respects_bounds(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just("<a>"), Just("</a>"), Just("<b/>"), Just("<c x='1'>"), Just("</c>"),
                    Just("&amp;"), Just("&#x41;"), Just("&#0;"), Just("&"), Just("<![CDATA[x]]>"),
                    Just("<!-- c -->"), Just("<?p?>"), Just("<!DOCTYPE a>"), Just("text"),
                    Just(" "), Just("<"), Just(">"), Just("\u{feff}"), Just("<?xml version='1.0'?>"),
                ],
                0..64,
            )
        ) {
            crate::fuzz_xml_read(parts.concat().as_bytes());
        }
    }

    #[test]
    fn deep_and_wide_documents_are_bounded() {
        let deep = "<a>".repeat(100_000);
        assert_eq!(parse(deep.as_bytes()), Err(XmlError::TooDeep));
        crate::fuzz_xml_read(deep.as_bytes());
    }
}
