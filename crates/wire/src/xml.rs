//! XML for every front-end: the one escaping routine and a small writer for responses
//! ([`XmlWriter`], [`json_to_xml`]), and a bounded reader over `quick-xml` for untrusted request
//! bodies ([`parse`], [`parse_with`]).
//!
//! The reader builds a small tree of [`Element`]s (local name, text, children); attributes are
//! checked for well-formedness and then dropped. It never expands anything: no DTD is accepted,
//! so the only references are the five predefined entities and numeric character references,
//! each resolving to one character. What else it accepts, and every bound, is in [`Limits`];
//! [`Limits::OSS`] and [`Limits::ODPS`] are the two dialects' bounds of before this crate existed.

mod read;
mod write;

pub use read::{parse, parse_with, Element, Limits, XmlError};
pub use write::{
    cdata, cdata_into, escape, escape_attr_into, escape_into, json_to_xml, XmlWriter, DECLARATION,
};

pub(crate) use read::fuzz_read;
