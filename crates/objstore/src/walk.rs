//! Ordered, pruning depth-first walk over a bucket's object tree, and the listing built on it.
//!
//! Each directory's entries are read, decoded ([`crate::keymap::parse_component`]) and sorted
//! by the key prefix they stand for; see [`crate::FsBackend`] for why that order is the keys'
//! byte order.
//! Only one directory per level is held in memory.

use std::ffi::OsString;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use crate::error::StoreError;
use crate::format::read_trailer;
use crate::keymap::{parse_component, Kind};
use crate::{ListRequest, ListResult, ObjectMeta};

/// What to do with an entry, given the key prefix it stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Visit it: yield the object, or descend into the directory.
    Enter,
    /// Leave it (and everything below it) out.
    Skip,
    /// Nothing from here on can match: end the walk.
    Stop,
}

struct Child {
    /// The object's key, or the prefix every key below the directory starts with.
    range: Vec<u8>,
    kind: Kind,
    name: OsString,
}

struct Frame {
    dir: PathBuf,
    children: Vec<Child>,
    next: usize,
}

/// A depth-first walk over one bucket's object directory.
pub(crate) struct Walker {
    stack: Vec<Frame>,
}

fn read_frame(dir: PathBuf, prefix: &[u8]) -> Result<Frame, StoreError> {
    let mut children = Vec::new();
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        // Pruned by a concurrent delete: nothing below it.
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Ok(Frame {
                dir,
                children,
                next: 0,
            })
        }
        Err(e) => return Err(StoreError::io("listing objects")(e)),
    };
    for entry in entries {
        let entry = entry.map_err(StoreError::io("listing objects"))?;
        let name = entry.file_name();
        let Some((kind, bytes)) = name.to_str().and_then(parse_component) else {
            continue;
        };
        let mut range = Vec::with_capacity(prefix.len() + bytes.len() + 1);
        range.extend_from_slice(prefix);
        range.extend_from_slice(&bytes);
        if kind == Kind::Dir {
            range.push(b'/');
        }
        children.push(Child { range, kind, name });
    }
    children.sort_unstable_by(|a, b| a.range.cmp(&b.range));
    Ok(Frame {
        dir,
        children,
        next: 0,
    })
}

impl Walker {
    /// Starts at a bucket's object directory.
    pub(crate) fn new(objects_dir: &Path) -> Result<Self, StoreError> {
        Ok(Self {
            stack: vec![read_frame(objects_dir.to_path_buf(), b"")?],
        })
    }

    /// The next object (key bytes and file path) that `judge` lets through, in key order.
    /// `judge(prefix, is_object)` sees each entry's key (objects) or key prefix (directories).
    pub(crate) fn next(
        &mut self,
        judge: impl Fn(&[u8], bool) -> Verdict,
    ) -> Result<Option<(Vec<u8>, PathBuf)>, StoreError> {
        loop {
            let Some(frame) = self.stack.last_mut() else {
                return Ok(None);
            };
            let Some(child) = frame.children.get(frame.next) else {
                self.stack.pop();
                continue;
            };
            frame.next += 1;
            match judge(&child.range, child.kind == Kind::Obj) {
                Verdict::Stop => {
                    self.stack.clear();
                    return Ok(None);
                }
                Verdict::Skip => {}
                Verdict::Enter => {
                    let path = frame.dir.join(&child.name);
                    if child.kind == Kind::Obj {
                        return Ok(Some((child.range.clone(), path)));
                    }
                    let range = child.range.clone();
                    let next = read_frame(path, &range)?;
                    self.stack.push(next);
                }
            }
        }
    }
}

/// Whether any object exists below `objects_dir`.
pub(crate) fn any_object(objects_dir: &Path) -> Result<bool, StoreError> {
    Ok(Walker::new(objects_dir)?
        .next(|_, _| Verdict::Enter)?
        .is_some())
}

/// The verdict for an entry standing for `range` (a key if `point`, else a key prefix).
fn judge(range: &[u8], point: bool, prefix: &[u8], marker: &[u8], skip: Option<&[u8]>) -> Verdict {
    let related = range.starts_with(prefix) || (!point && prefix.starts_with(range));
    if !related {
        // Keys with `prefix` form one contiguous run; this entry lies wholly before or after it.
        return if range > prefix {
            Verdict::Stop
        } else {
            Verdict::Skip
        };
    }
    if !marker.is_empty() {
        let before = if point {
            range <= marker
        } else {
            range < marker && !marker.starts_with(range)
        };
        if before {
            return Verdict::Skip;
        }
    }
    if skip.is_some_and(|s| range.starts_with(s)) {
        return Verdict::Skip;
    }
    Verdict::Enter
}

fn read_object_meta(path: &Path, key: &str) -> Option<ObjectMeta> {
    let mut file = File::open(path).ok()?;
    let meta: ObjectMeta = read_trailer(&mut file).ok()?;
    (meta.key == key).then_some(meta)
}

/// One page of a listing of the objects below `objects_dir`. Objects that vanish or are corrupt
/// while listing are left out.
pub(crate) fn list(objects_dir: &Path, req: &ListRequest) -> Result<ListResult, StoreError> {
    let mut out = ListResult::default();
    if req.max_keys == 0 {
        return Ok(out);
    }
    let prefix = req.prefix.as_bytes();
    let marker = req.marker.as_bytes();
    let mut walker = Walker::new(objects_dir)?;
    let mut skip: Option<Vec<u8>> = None;
    let mut count = 0usize;
    let mut last: Option<String> = None;

    enum Item {
        Object(ObjectMeta),
        Prefix(String),
    }

    loop {
        let current_skip = skip.clone();
        let Some((key, path)) =
            walker.next(|r, point| judge(r, point, prefix, marker, current_skip.as_deref()))?
        else {
            break;
        };
        let Ok(key) = String::from_utf8(key) else {
            continue;
        };
        let rest = key.get(req.prefix.len()..).unwrap_or("");
        let rolled = (!req.delimiter.is_empty())
            .then(|| rest.find(&req.delimiter))
            .flatten()
            .and_then(|pos| key.get(..req.prefix.len() + pos + req.delimiter.len()));
        let item = match rolled {
            Some(common) => {
                skip = Some(common.as_bytes().to_vec());
                if common.as_bytes() <= marker {
                    continue;
                }
                Item::Prefix(common.to_owned())
            }
            None => match read_object_meta(&path, &key) {
                Some(meta) => Item::Object(meta),
                None => continue,
            },
        };
        if count == req.max_keys {
            out.is_truncated = true;
            out.next_marker = last;
            break;
        }
        count += 1;
        match item {
            Item::Object(meta) => {
                last = Some(meta.key.clone());
                out.objects.push(meta);
            }
            Item::Prefix(p) => {
                last = Some(p.clone());
                out.common_prefixes.push(p);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judge_prunes_by_prefix_marker_and_skip() {
        use Verdict::*;
        // Prefix `a/`.
        assert_eq!(judge(b"a/x", true, b"a/", b"", None), Enter);
        assert_eq!(judge(b"a", true, b"a/", b"", None), Skip);
        assert_eq!(judge(b"a/", false, b"a/", b"", None), Enter);
        assert_eq!(judge(b"", false, b"a/", b"", None), Enter);
        assert_eq!(judge(b"b/", false, b"a/", b"", None), Stop);
        assert_eq!(judge(b"a0", true, b"a/", b"", None), Stop);
        assert_eq!(judge(b"0/", false, b"a/", b"", None), Skip);
        // Marker `a/m`.
        assert_eq!(judge(b"a/m", true, b"", b"a/m", None), Skip);
        assert_eq!(judge(b"a/l/", false, b"", b"a/m", None), Skip);
        assert_eq!(judge(b"a/", false, b"", b"a/m", None), Enter);
        assert_eq!(judge(b"a/n", true, b"", b"a/m", None), Enter);
        // Skip `a/b/`.
        assert_eq!(judge(b"a/b/c/", false, b"", b"", Some(b"a/b/")), Skip);
        assert_eq!(judge(b"a/", false, b"", b"", Some(b"a/b/")), Enter);
    }
}
