//! The wire-format toolkit every front-end shares, so each rule lives in one place.
//!
//! Owns: [`xml`] — a bounded XML reader over `quick-xml` (feature `xml`) for untrusted request
//! bodies, and the one XML escaping routine with a small document writer; [`clip`] — the one rule
//! for putting untrusted input into an error message; [`fs::write_atomic`] (feature `fs`) — the
//! one way to replace a file so no reader ever sees half of it.
//!
//! Must not: know any vendor's element names, error codes or HTTP; read the clock or a random
//! source; panic on anything an attacker sends. Only [`fs`] does I/O, and a crate that must stay
//! pure (such as `keyless-sign`) depends on this one with `default-features = false`, which leaves
//! only [`clip`].

mod clip;
#[cfg(feature = "fs")]
pub mod fs;
#[cfg(feature = "xml")]
pub mod xml;

pub use clip::{clip, CLIP_CHARS, CLIP_MARKER};

/// Fuzzing entry point: reads `data` with both reader presets, checks every bound on what comes
/// back and that rendering the tree and reading it again gives the same tree. Must never panic.
/// A cargo-fuzz target calls this; proptest runs it in the normal test suite.
#[cfg(feature = "xml")]
#[doc(hidden)]
pub fn fuzz_xml_read(data: &[u8]) {
    xml::fuzz_read(data);
}
