//! The local-filesystem backend.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

use crate::error::{clip, StoreError};
use crate::format::{read_trailer, write_trailer, BodySize};
use crate::keymap::{check_key, key_path};
use crate::walk;
use crate::{
    copy_into, hex_upper, Backend, BucketInfo, ByteRange, CompletedPart, GetResult, ListRequest,
    ListResult, ObjectAttrs, ObjectKind, ObjectMeta, ObjectWriter, PartInfo, PartWriter,
    UploadInfo, MAX_PART_NUMBER, MAX_USER_META_BYTES, MIN_PART_SIZE,
};

/// The time source, injected so tests control `LastModified`: the workspace's clock. A closure
/// returning Unix milliseconds is one too (`Arc::new(move || ms)`).
pub use keyless_time::Clock;

/// Settings of an [`FsBackend`].
#[derive(Clone)]
pub struct FsOptions {
    /// Where timestamps come from; the system clock by default.
    pub clock: Arc<dyn Clock>,
    /// The smallest part but the last that a completion accepts; [`MIN_PART_SIZE`] by default.
    pub min_part_size: u64,
}

impl Default for FsOptions {
    fn default() -> Self {
        Self {
            clock: Arc::new(keyless_time::SystemClock),
            min_part_size: MIN_PART_SIZE,
        }
    }
}

impl fmt::Debug for FsOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FsOptions")
            .field("min_part_size", &self.min_part_size)
            .finish_non_exhaustive()
    }
}

/// Object storage in a directory of the local file system.
///
/// ```text
/// <root>/buckets/<bucket>/bucket.json        owner, region, creation time
///                        /objects/<key path>  body + metadata trailer, one file per object
///                        /uploads/<id>/upload.json, part-00001, …
///                        /tmp/                 bodies being written (same file system)
/// <root>/tmp/                                  buckets being created or deleted
/// ```
///
/// ## Key paths
///
/// The key is split on `/` into segments; every segment but the last becomes a directory, the
/// last one the object's file. A segment is cut into chunks of 64 bytes while at least 64 bytes
/// remain; each full chunk becomes a *continuation* directory, the remainder
/// (0 to 63 bytes, possibly empty) the directory or file that ends the segment. Each chunk is
/// written as one path component: a kind letter then the chunk's bytes, with `a-z 0-9 - _ .`
/// kept and every other byte (upper case letters, `/`, `\`, `%`, NUL, non-ASCII, …) written
/// `%XX` (upper-case hex):
///
/// | kind | component            | key bytes it stands for                  |
/// | ---- | -------------------- | ---------------------------------------- |
/// | `d`  | `d` + enc(chunk)     | chunk, then `/`, then more               |
/// | `c`  | `c` + enc(64 bytes)  | chunk, then more (same segment)          |
/// | `o`  | `o` + enc(chunk)     | chunk, end of key                        |
///
/// `a/b/c` → `da/db/oc`; `a/b/` (a "directory" object) → `da/db/o`; `../x` → `d../ox`;
/// `/x` → `d/ox`; a 150-byte segment → `c…/c…/o…`.
///
/// ### Why a key cannot escape its bucket or share a path
///
/// - A component is never empty, `.` or `..` (it starts with `c`, `d` or `o`), never contains `/`
///   or NUL (escaped), and is at most `1 + 3 × 64 = 193` bytes (under every file system's 255).
///   So each key maps to a chain of normal components below the bucket's object directory and can
///   never leave it.
/// - Names contain no upper-case letters, so case-insensitive file systems cannot merge two names.
/// - The mapping is injective: it can be inverted (the kind letters say where `/`
///   goes), and decoding accepts only the canonical spelling, so one key has one path.
/// - A file and a directory never want the same name (`o…` versus `d…`/`c…`).
/// - Keys are at most 1023 bytes, so the deepest path is about 3.1 KB below the root: keep the
///   root under ~900 bytes where `PATH_MAX` is 4 KiB.
///
/// ### Why listing stays ordered
///
/// Every entry of a directory stands for a set of keys sharing a prefix: `o t` the single key
/// `P+t`; `d s` the keys starting `P+s+"/"`; `c x` those starting `P+x`, where `P` is the
/// directory's own prefix. Because a remainder is always shorter than a full chunk and a chunk
/// never contains `/`, none of these prefixes is a prefix of another in the same directory, so
/// their key sets are disjoint and ordered exactly as the prefixes compare byte-wise. Sorting a
/// directory's entries by that prefix and walking depth-first therefore yields keys in byte
/// order, and a listing can skip whole sub-trees that lie before the marker, outside the prefix,
/// or inside an already reported common prefix.
///
/// ## Writes
///
/// Writes go to a temporary file in the bucket's `tmp/`, are fsynced, then renamed into place and
/// the directory fsynced: readers see the old object or the new one, never a mix, and a crash
/// leaves at most a temporary file, which [`FsBackend::open`] deletes. One process should own a
/// root at a time (opening cleans temporary files another process may be writing).
///
/// A multipart completion first moves the upload's directory aside (so concurrent part uploads,
/// aborts and completions see no upload), checks the parts, copies them into one new object file
/// and publishes it like a PUT; on a validation error the upload is put back. A crash in the
/// middle loses the upload, never leaves a partial object. Metadata (`ObjectMeta`) is a JSON
/// trailer after the body in the same file, so one rename publishes both.
#[derive(Clone)]
pub struct FsBackend {
    inner: Arc<Inner>,
}

struct Inner {
    root: PathBuf,
    opts: FsOptions,
    /// Held shared while publishing into a bucket, exclusively while creating or deleting one,
    /// so that nothing lands in a bucket being deleted.
    namespace: RwLock<()>,
    /// Bucket information by name, for buckets seen since open (this process owns the root:
    /// every create and delete goes through it, so the cache cannot go stale).
    known: RwLock<std::collections::HashMap<String, BucketInfo>>,
}

impl fmt::Debug for FsBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FsBackend")
            .field("root", &self.inner.root)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
struct UploadMeta {
    key: String,
    upload_id: String,
    initiated_ms: i64,
    content_type: String,
    user_meta: BTreeMap<String, String>,
}

impl BodySize for ObjectMeta {
    fn body_size(&self) -> u64 {
        self.size
    }
}

impl BodySize for PartInfo {
    fn body_size(&self) -> u64 {
        self.size
    }
}

const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

/// `3–63` characters of `a-z 0-9 -`, not starting or ending with `-` (both SDKs check the same).
fn valid_bucket_name(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

fn valid_upload_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn random_hex(bytes: usize) -> Result<String, StoreError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| StoreError::Io {
        op: "drawing random bytes",
        source: io::Error::other(e.to_string()),
    })?;
    Ok(hex_upper(&buf).to_ascii_lowercase())
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|f| f.sync_all())
            .map_err(StoreError::io("syncing a directory"))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

fn is_not_found(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound
}

fn check_user_meta(meta: &BTreeMap<String, String>) -> Result<(), StoreError> {
    let total: usize = meta.iter().map(|(k, v)| k.len() + v.len()).sum();
    if total > MAX_USER_META_BYTES {
        return Err(StoreError::MetadataTooLarge(MAX_USER_META_BYTES));
    }
    Ok(())
}

/// The ETag's hex without quotes, upper-cased, for comparing what a client sends back.
fn normalise_etag(etag: &str) -> String {
    etag.trim().trim_matches('"').to_ascii_uppercase()
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if b.len() % 2 != 0 {
        return None;
    }
    b.chunks_exact(2)
        .map(|p| {
            let s = std::str::from_utf8(p).ok()?;
            u8::from_str_radix(s, 16).ok()
        })
        .collect()
}

/// Removes everything inside `dir` (not `dir` itself); a missing `dir` is fine.
fn clean_dir(dir: &Path) -> Result<(), StoreError> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if is_not_found(&e) => return Ok(()),
        Err(e) => return Err(StoreError::io("cleaning temporary files")(e)),
    };
    for entry in entries {
        let entry = entry.map_err(StoreError::io("cleaning temporary files"))?;
        let path = entry.path();
        let is_dir = entry
            .file_type()
            .map_err(StoreError::io("cleaning temporary files"))?
            .is_dir();
        let result = if is_dir {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        match result {
            Ok(()) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(StoreError::io("cleaning temporary files")(e)),
        }
    }
    Ok(())
}

/// Writes `value` as JSON to `path` via a temporary file in `tmp_dir` (swept at start-up):
/// `keyless_wire::fs::write_atomic_with` (create, write, fsync, rename, fsync the directory), with
/// the mode `File::create` would give.
fn write_json_atomic<T: Serialize>(
    tmp_dir: &Path,
    path: &Path,
    value: &T,
) -> Result<(), StoreError> {
    use keyless_wire::fs::{write_atomic_with, Step, WriteOptions};
    let json =
        serde_json::to_vec_pretty(value).map_err(|_| StoreError::Corrupt("not serialisable"))?;
    let options = WriteOptions {
        mode: 0o666,
        tmp_dir: Some(tmp_dir),
    };
    write_atomic_with(path, &json, &options).map_err(|e| StoreError::Io {
        op: match e.step {
            Step::Create => "creating a metadata file",
            Step::Write => "writing a metadata file",
            Step::Rename => "publishing a metadata file",
            Step::SyncDir => "syncing a directory",
        },
        source: e.source,
    })
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Option<T>, StoreError> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|_| StoreError::Corrupt("bad metadata file")),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(StoreError::io("reading a metadata file")(e)),
    }
}

impl FsBackend {
    /// Opens (creating if needed) a store rooted at `root`, with default options, and deletes the
    /// temporary files a crash may have left.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, StoreError> {
        Self::open_with(root, FsOptions::default())
    }

    /// As [`FsBackend::open`], with options.
    pub fn open_with(root: impl Into<PathBuf>, opts: FsOptions) -> Result<Self, StoreError> {
        let root = root.into();
        fs::create_dir_all(root.join("buckets")).map_err(StoreError::io("creating the root"))?;
        fs::create_dir_all(root.join("tmp")).map_err(StoreError::io("creating the root"))?;
        clean_dir(&root.join("tmp"))?;
        let buckets =
            fs::read_dir(root.join("buckets")).map_err(StoreError::io("opening the root"))?;
        for entry in buckets {
            let entry = entry.map_err(StoreError::io("opening the root"))?;
            clean_dir(&entry.path().join("tmp"))?;
        }
        Ok(Self {
            inner: Arc::new(Inner {
                root,
                opts,
                namespace: RwLock::new(()),
                known: RwLock::new(std::collections::HashMap::new()),
            }),
        })
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }
}

impl Inner {
    fn now(&self) -> i64 {
        self.opts.clock.now_millis()
    }

    fn shared(&self) -> RwLockReadGuard<'_, ()> {
        self.namespace.read().unwrap_or_else(|e| e.into_inner())
    }

    fn exclusive(&self) -> RwLockWriteGuard<'_, ()> {
        self.namespace.write().unwrap_or_else(|e| e.into_inner())
    }

    fn bucket_dir(&self, name: &str) -> PathBuf {
        self.root.join("buckets").join(name)
    }

    /// The bucket's directory, if the bucket exists.
    fn existing_bucket(&self, name: &str) -> Result<PathBuf, StoreError> {
        if !valid_bucket_name(name) {
            return Err(StoreError::NoSuchBucket(clip(name)));
        }
        let dir = self.bucket_dir(name);
        if self.known.read().is_ok_and(|k| k.contains_key(name)) {
            return Ok(dir);
        }
        match fs::metadata(dir.join("bucket.json")) {
            Ok(_) => Ok(dir),
            Err(e) if is_not_found(&e) => Err(StoreError::NoSuchBucket(clip(name))),
            Err(e) => Err(StoreError::io("opening a bucket")(e)),
        }
    }

    fn object_path(&self, bucket: &str, key: &str) -> Result<PathBuf, StoreError> {
        let dir = self.existing_bucket(bucket)?;
        Ok(dir.join("objects").join(key_path(key)?))
    }

    /// Moves a finished temporary file to `target` inside `bucket`, creating directories as
    /// needed, under the shared namespace lock.
    fn publish(&self, bucket: &str, tmp: &Path, target: &Path) -> Result<(), StoreError> {
        let _shared = self.shared();
        self.existing_bucket(bucket)?;
        let parent = target
            .parent()
            .ok_or(StoreError::Corrupt("object path without a parent"))?;
        let mut attempts = 0;
        loop {
            fs::create_dir_all(parent).map_err(StoreError::io("creating directories"))?;
            match fs::rename(tmp, target) {
                Ok(()) => break,
                // A concurrent delete pruned the (empty) parent in between: create it again.
                Err(e) if is_not_found(&e) && attempts < 8 && tmp.exists() => attempts += 1,
                Err(e) if is_not_found(&e) && !tmp.exists() => {
                    return Err(StoreError::NoSuchBucket(clip(bucket)))
                }
                Err(e) => return Err(StoreError::io("publishing an object")(e)),
            }
        }
        sync_dir(parent)
    }

    fn upload_dir(&self, bucket: &str, upload_id: &str) -> Result<PathBuf, StoreError> {
        let dir = self.existing_bucket(bucket)?;
        if !valid_upload_id(upload_id) {
            return Err(StoreError::NoSuchUpload(clip(upload_id)));
        }
        Ok(dir.join("uploads").join(upload_id))
    }

    fn load_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<(PathBuf, UploadMeta), StoreError> {
        let dir = self.upload_dir(bucket, upload_id)?;
        match read_json::<UploadMeta>(&dir.join("upload.json"))? {
            Some(meta) if meta.key == key && meta.upload_id == upload_id => Ok((dir, meta)),
            _ => Err(StoreError::NoSuchUpload(clip(upload_id))),
        }
    }
}

/// A body streaming into a temporary file, with its MD5 and size; the file is removed on drop
/// unless published.
struct TempBody {
    path: PathBuf,
    file: Option<BufWriter<File>>,
    md5: Md5,
    size: u64,
    published: bool,
}

impl TempBody {
    fn create(tmp_dir: &Path) -> Result<Self, StoreError> {
        let path = tmp_dir.join(random_hex(16)?);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(StoreError::io("creating a temporary file"))?;
        Ok(Self {
            path,
            file: Some(BufWriter::with_capacity(256 * 1024, file)),
            md5: Md5::new(),
            size: 0,
            published: false,
        })
    }

    fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError> {
        let file = self
            .file
            .as_mut()
            .ok_or(StoreError::InvalidArgument("the writer is finished"))?;
        file.write_all(chunk)
            .map_err(StoreError::io("writing a body"))?;
        self.md5.update(chunk);
        self.size += chunk.len() as u64;
        Ok(())
    }

    /// Flushes and hands back the file (positioned at the end) and the body's MD5.
    fn finish(&mut self) -> Result<(File, [u8; 16]), StoreError> {
        let writer = self
            .file
            .take()
            .ok_or(StoreError::InvalidArgument("the writer is finished"))?;
        let file = writer
            .into_inner()
            .map_err(|e| StoreError::io("writing a body")(e.into_error()))?;
        let digest: [u8; 16] = self.md5.clone().finalize().into();
        Ok((file, digest))
    }
}

impl Drop for TempBody {
    fn drop(&mut self) {
        if !self.published {
            self.file = None;
            let _ = fs::remove_file(&self.path);
        }
    }
}

struct FsObjectWriter {
    inner: Arc<Inner>,
    bucket: String,
    key: String,
    target: PathBuf,
    body: TempBody,
}

impl ObjectWriter for FsObjectWriter {
    fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError> {
        self.body.write(chunk)
    }

    fn written(&self) -> u64 {
        self.body.size
    }

    fn commit(mut self: Box<Self>, attrs: ObjectAttrs) -> Result<ObjectMeta, StoreError> {
        check_user_meta(&attrs.user_meta)?;
        let (mut file, digest) = self.body.finish()?;
        if attrs.expected_md5.is_some_and(|m| m != digest) {
            return Err(StoreError::BadDigest);
        }
        let meta = ObjectMeta {
            key: self.key.clone(),
            size: self.body.size,
            etag: format!("\"{}\"", hex_upper(&digest)),
            content_type: attrs
                .content_type
                .unwrap_or_else(|| DEFAULT_CONTENT_TYPE.to_owned()),
            last_modified_ms: self.inner.now(),
            user_meta: attrs.user_meta,
            kind: ObjectKind::Normal,
        };
        write_trailer(&mut file, &meta)?;
        file.sync_all().map_err(StoreError::io("writing a body"))?;
        drop(file);
        self.inner
            .publish(&self.bucket, &self.body.path, &self.target)?;
        self.body.published = true;
        Ok(meta)
    }
}

struct FsPartWriter {
    inner: Arc<Inner>,
    upload_dir: PathBuf,
    upload_id: String,
    part_number: u32,
    body: TempBody,
}

fn part_file_name(part_number: u32) -> String {
    format!("part-{part_number:05}")
}

fn parse_part_file_name(name: &str) -> Option<u32> {
    let digits = name.strip_prefix("part-")?;
    if digits.len() != 5 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits
        .parse()
        .ok()
        .filter(|n| (1..=MAX_PART_NUMBER).contains(n))
}

impl PartWriter for FsPartWriter {
    fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError> {
        self.body.write(chunk)
    }

    fn written(&self) -> u64 {
        self.body.size
    }

    fn commit(mut self: Box<Self>, expected_md5: Option<[u8; 16]>) -> Result<PartInfo, StoreError> {
        let (mut file, digest) = self.body.finish()?;
        if expected_md5.is_some_and(|m| m != digest) {
            return Err(StoreError::BadDigest);
        }
        let info = PartInfo {
            part_number: self.part_number,
            etag: format!("\"{}\"", hex_upper(&digest)),
            size: self.body.size,
            last_modified_ms: self.inner.now(),
        };
        write_trailer(&mut file, &info)?;
        file.sync_all().map_err(StoreError::io("writing a part"))?;
        drop(file);
        let no_upload = || StoreError::NoSuchUpload(clip(&self.upload_id));
        if !self.upload_dir.join("upload.json").exists() {
            return Err(no_upload());
        }
        let target = self.upload_dir.join(part_file_name(self.part_number));
        match fs::rename(&self.body.path, &target) {
            Ok(()) => {}
            Err(e) if is_not_found(&e) => return Err(no_upload()),
            Err(e) => return Err(StoreError::io("publishing a part")(e)),
        }
        self.body.published = true;
        sync_dir(&self.upload_dir)?;
        Ok(info)
    }
}

fn open_object(path: &Path, key: &str) -> Result<(File, ObjectMeta), StoreError> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if is_not_found(&e) || e.kind() == io::ErrorKind::NotADirectory => {
            return Err(StoreError::NoSuchKey(clip(key)))
        }
        Err(e) => return Err(StoreError::io("opening an object")(e)),
    };
    let meta: ObjectMeta = read_trailer(&mut file)?;
    if meta.key != key {
        return Err(StoreError::Corrupt("object stored under another key"));
    }
    Ok((file, meta))
}

impl Backend for FsBackend {
    fn create_bucket(
        &self,
        name: &str,
        owner: &str,
        region: &str,
    ) -> Result<BucketInfo, StoreError> {
        if !valid_bucket_name(name) {
            return Err(StoreError::InvalidBucketName(clip(name)));
        }
        let inner = &self.inner;
        let _exclusive = inner.exclusive();
        let target = inner.bucket_dir(name);
        if target.exists() {
            return Err(StoreError::BucketAlreadyExists(clip(name)));
        }
        let info = BucketInfo {
            name: name.to_owned(),
            owner: owner.to_owned(),
            region: region.to_owned(),
            created_ms: inner.now(),
        };
        let stage = inner.root.join("tmp").join(random_hex(16)?);
        let result = (|| {
            for sub in ["objects", "uploads", "tmp"] {
                fs::create_dir_all(stage.join(sub)).map_err(StoreError::io("creating a bucket"))?;
            }
            write_json_atomic(&stage.join("tmp"), &stage.join("bucket.json"), &info)?;
            fs::rename(&stage, &target).map_err(StoreError::io("creating a bucket"))?;
            sync_dir(&inner.root.join("buckets"))
        })();
        if result.is_err() {
            let _ = fs::remove_dir_all(&stage);
        }
        result.map(|()| info)
    }

    fn delete_bucket(&self, name: &str) -> Result<(), StoreError> {
        let inner = &self.inner;
        let staged = {
            let _exclusive = inner.exclusive();
            let dir = inner.existing_bucket(name)?;
            let has_uploads = match fs::read_dir(dir.join("uploads")) {
                Ok(mut entries) => entries.next().is_some(),
                Err(e) if is_not_found(&e) => false,
                Err(e) => return Err(StoreError::io("reading uploads")(e)),
            };
            if has_uploads || walk::any_object(&dir.join("objects"))? {
                return Err(StoreError::BucketNotEmpty(clip(name)));
            }
            let staged = inner.root.join("tmp").join(random_hex(16)?);
            if let Ok(mut k) = inner.known.write() {
                k.remove(name);
            }
            fs::rename(&dir, &staged).map_err(StoreError::io("deleting a bucket"))?;
            sync_dir(&inner.root.join("buckets"))?;
            staged
        };
        // Gone already; leftovers are cleaned at the next open if this fails.
        let _ = fs::remove_dir_all(staged);
        Ok(())
    }

    fn list_buckets(&self) -> Result<Vec<BucketInfo>, StoreError> {
        let entries = fs::read_dir(self.inner.root.join("buckets"))
            .map_err(StoreError::io("listing buckets"))?;
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(StoreError::io("listing buckets"))?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            if !valid_bucket_name(&name) {
                continue;
            }
            if let Some(info) = read_json::<BucketInfo>(&entry.path().join("bucket.json"))? {
                out.push(info);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn head_bucket(&self, name: &str) -> Result<BucketInfo, StoreError> {
        if let Some(info) = self
            .inner
            .known
            .read()
            .ok()
            .and_then(|k| k.get(name).cloned())
        {
            return Ok(info);
        }
        let dir = self.inner.existing_bucket(name)?;
        let info = read_json::<BucketInfo>(&dir.join("bucket.json"))?
            .ok_or_else(|| StoreError::NoSuchBucket(clip(name)))?;
        let _shared = self.inner.shared();
        // Still there under the namespace lock (a delete holds it exclusively): remember it.
        if dir.join("bucket.json").exists() {
            if let Ok(mut k) = self.inner.known.write() {
                k.insert(name.to_owned(), info.clone());
            }
        }
        Ok(info)
    }

    fn put_object(&self, bucket: &str, key: &str) -> Result<Box<dyn ObjectWriter>, StoreError> {
        let target = self.inner.object_path(bucket, key)?;
        let body =
            TempBody::create(&self.inner.bucket_dir(bucket).join("tmp")).map_err(|e| match e {
                StoreError::Io { source, .. } if is_not_found(&source) => {
                    StoreError::NoSuchBucket(clip(bucket))
                }
                other => other,
            })?;
        Ok(Box::new(FsObjectWriter {
            inner: Arc::clone(&self.inner),
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            target,
            body,
        }))
    }

    fn get_object(
        &self,
        bucket: &str,
        key: &str,
        range: Option<ByteRange>,
    ) -> Result<GetResult, StoreError> {
        let path = self.inner.object_path(bucket, key)?;
        let (mut file, meta) = open_object(&path, key)?;
        let (start, len, range) = match range {
            None => (0, meta.size, None),
            Some(r) => {
                let (first, last) = r.resolve(meta.size)?;
                (first, last - first + 1, Some((first, last)))
            }
        };
        file.seek(SeekFrom::Start(start))
            .map_err(StoreError::io("reading an object"))?;
        Ok(GetResult {
            meta,
            range,
            body: Box::new(file.take(len)),
        })
    }

    fn head_object(&self, bucket: &str, key: &str) -> Result<ObjectMeta, StoreError> {
        let path = self.inner.object_path(bucket, key)?;
        open_object(&path, key).map(|(_, meta)| meta)
    }

    fn delete_object(&self, bucket: &str, key: &str) -> Result<bool, StoreError> {
        let path = self.inner.object_path(bucket, key)?;
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if is_not_found(&e) || e.kind() == io::ErrorKind::NotADirectory => {
                return Ok(false)
            }
            Err(e) => return Err(StoreError::io("deleting an object")(e)),
        }
        // Prune directories left empty, up to (not including) `objects/`.
        let objects = self.inner.bucket_dir(bucket).join("objects");
        let mut dir = path.parent();
        while let Some(d) = dir {
            if d == objects || !d.starts_with(&objects) || fs::remove_dir(d).is_err() {
                break;
            }
            dir = d.parent();
        }
        Ok(true)
    }

    fn list_objects(&self, bucket: &str, request: &ListRequest) -> Result<ListResult, StoreError> {
        let dir = self.inner.existing_bucket(bucket)?;
        walk::list(&dir.join("objects"), request)
    }

    fn create_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        attrs: ObjectAttrs,
    ) -> Result<String, StoreError> {
        check_key(key)?;
        check_user_meta(&attrs.user_meta)?;
        let inner = &self.inner;
        let dir = inner.existing_bucket(bucket)?;
        let upload_id = random_hex(16)?;
        let meta = UploadMeta {
            key: key.to_owned(),
            upload_id: upload_id.clone(),
            initiated_ms: inner.now(),
            content_type: attrs
                .content_type
                .unwrap_or_else(|| DEFAULT_CONTENT_TYPE.to_owned()),
            user_meta: attrs.user_meta,
        };
        let stage = dir.join("tmp").join(random_hex(16)?);
        let result = (|| {
            fs::create_dir(&stage).map_err(StoreError::io("creating an upload"))?;
            write_json_atomic(&dir.join("tmp"), &stage.join("upload.json"), &meta)?;
            let _shared = inner.shared();
            inner.existing_bucket(bucket)?;
            fs::rename(&stage, dir.join("uploads").join(&upload_id))
                .map_err(StoreError::io("creating an upload"))?;
            sync_dir(&dir.join("uploads"))
        })();
        if result.is_err() {
            let _ = fs::remove_dir_all(&stage);
        }
        result.map(|()| upload_id)
    }

    fn upload_part(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number: u32,
    ) -> Result<Box<dyn PartWriter>, StoreError> {
        if !(1..=MAX_PART_NUMBER).contains(&part_number) {
            return Err(StoreError::InvalidArgument(
                "part number must be between 1 and 10000",
            ));
        }
        let (upload_dir, _) = self.inner.load_upload(bucket, key, upload_id)?;
        let body = TempBody::create(&self.inner.bucket_dir(bucket).join("tmp"))?;
        Ok(Box::new(FsPartWriter {
            inner: Arc::clone(&self.inner),
            upload_dir,
            upload_id: upload_id.to_owned(),
            part_number,
            body,
        }))
    }

    fn list_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<Vec<PartInfo>, StoreError> {
        let (dir, _) = self.inner.load_upload(bucket, key, upload_id)?;
        let entries = fs::read_dir(&dir).map_err(StoreError::io("listing parts"))?;
        let mut parts = Vec::new();
        for entry in entries {
            let entry = entry.map_err(StoreError::io("listing parts"))?;
            let Some(number) = entry.file_name().to_str().and_then(parse_part_file_name) else {
                continue;
            };
            let Ok(mut file) = File::open(entry.path()) else {
                continue;
            };
            let info: PartInfo = read_trailer(&mut file)?;
            if info.part_number == number {
                parts.push(info);
            }
        }
        parts.sort_by_key(|p| p.part_number);
        Ok(parts)
    }

    fn complete_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: &[CompletedPart],
    ) -> Result<ObjectMeta, StoreError> {
        if parts.is_empty() {
            return Err(StoreError::InvalidArgument("a completion needs parts"));
        }
        if parts
            .windows(2)
            .any(|w| matches!(w, [a, b] if a.part_number >= b.part_number))
        {
            return Err(StoreError::InvalidPartOrder);
        }
        let inner = &self.inner;
        let target = inner.object_path(bucket, key)?;
        let (upload_dir, upload) = inner.load_upload(bucket, key, upload_id)?;
        let bucket_tmp = inner.bucket_dir(bucket).join("tmp");

        // Claim the upload: concurrent part uploads, aborts and completions now find nothing.
        let claimed = bucket_tmp.join(random_hex(16)?);
        match fs::rename(&upload_dir, &claimed) {
            Ok(()) => {}
            Err(e) if is_not_found(&e) => return Err(StoreError::NoSuchUpload(clip(upload_id))),
            Err(e) => return Err(StoreError::io("claiming an upload")(e)),
        }

        let result = (|| {
            // Check that every part exists with its ETag before copying any.
            let mut sources = Vec::with_capacity(parts.len());
            let mut md5s = Vec::with_capacity(parts.len() * 16);
            for part in parts {
                let invalid = || StoreError::InvalidPart {
                    part_number: part.part_number,
                };
                if !(1..=MAX_PART_NUMBER).contains(&part.part_number) {
                    return Err(invalid());
                }
                let mut file = File::open(claimed.join(part_file_name(part.part_number)))
                    .map_err(|_| invalid())?;
                let info: PartInfo = read_trailer(&mut file)?;
                if normalise_etag(&info.etag) != normalise_etag(&part.etag) {
                    return Err(invalid());
                }
                md5s.extend(hex_decode(&normalise_etag(&info.etag)).ok_or_else(invalid)?);
                sources.push((file, info.size));
            }
            // Then the sizes: every part but the last must reach the minimum.
            let last = sources.len().saturating_sub(1);
            for (i, (part, (_, size))) in parts.iter().zip(&sources).enumerate() {
                if i < last && *size < inner.opts.min_part_size {
                    return Err(StoreError::EntityTooSmall {
                        part_number: part.part_number,
                        size: *size,
                        min: inner.opts.min_part_size,
                    });
                }
            }

            let mut body = TempBody::create(&bucket_tmp)?;
            for (file, size) in &mut sources {
                file.seek(SeekFrom::Start(0))
                    .map_err(StoreError::io("reading a part"))?;
                copy_into(&mut file.take(*size), |chunk| body.write(chunk))?;
            }
            let (mut file, _) = body.finish()?;
            let meta = ObjectMeta {
                key: key.to_owned(),
                size: body.size,
                etag: format!("\"{}-{}\"", hex_upper(&Md5::digest(&md5s)), parts.len()),
                content_type: upload.content_type.clone(),
                last_modified_ms: inner.now(),
                user_meta: upload.user_meta.clone(),
                kind: ObjectKind::Multipart,
            };
            write_trailer(&mut file, &meta)?;
            file.sync_all()
                .map_err(StoreError::io("writing an object"))?;
            drop(file);
            inner.publish(bucket, &body.path, &target)?;
            body.published = true;
            Ok(meta)
        })();

        match &result {
            Ok(_) => {
                let _ = fs::remove_dir_all(&claimed);
            }
            // Give the upload back so that the client can fix its part list.
            Err(_) => {
                let _ = fs::rename(&claimed, &upload_dir);
            }
        }
        result
    }

    fn abort_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<(), StoreError> {
        let (dir, _) = self.inner.load_upload(bucket, key, upload_id)?;
        let staged = self
            .inner
            .bucket_dir(bucket)
            .join("tmp")
            .join(random_hex(16)?);
        match fs::rename(&dir, &staged) {
            Ok(()) => {}
            Err(e) if is_not_found(&e) => return Err(StoreError::NoSuchUpload(clip(upload_id))),
            Err(e) => return Err(StoreError::io("aborting an upload")(e)),
        }
        let _ = fs::remove_dir_all(&staged);
        Ok(())
    }

    fn list_multipart_uploads(&self, bucket: &str) -> Result<Vec<UploadInfo>, StoreError> {
        let dir = self.inner.existing_bucket(bucket)?;
        let entries = match fs::read_dir(dir.join("uploads")) {
            Ok(e) => e,
            Err(e) if is_not_found(&e) => return Ok(Vec::new()),
            Err(e) => return Err(StoreError::io("listing uploads")(e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(StoreError::io("listing uploads"))?;
            if let Some(meta) = read_json::<UploadMeta>(&entry.path().join("upload.json"))? {
                out.push(UploadInfo {
                    key: meta.key,
                    upload_id: meta.upload_id,
                    initiated_ms: meta.initiated_ms,
                });
            }
        }
        out.sort_by(|a, b| {
            (a.key.as_str(), a.initiated_ms, a.upload_id.as_str()).cmp(&(
                b.key.as_str(),
                b.initiated_ms,
                b.upload_id.as_str(),
            ))
        });
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ids() {
        for ok in ["abc", "a-b", "0bucket", &"a".repeat(63)] {
            assert!(valid_bucket_name(ok), "{ok}");
        }
        for bad in [
            "ab",
            "-ab",
            "ab-",
            "aBc",
            "a_b",
            "a.b",
            "../x",
            &"a".repeat(64),
        ] {
            assert!(!valid_bucket_name(bad), "{bad}");
        }
        assert!(valid_upload_id(&"0a".repeat(16)));
        assert!(!valid_upload_id(&"0A".repeat(16)));
        assert!(!valid_upload_id("../../x"));
        assert_eq!(parse_part_file_name("part-00001"), Some(1));
        assert_eq!(parse_part_file_name("part-10001"), None);
        assert_eq!(parse_part_file_name("part-00000"), None);
        assert_eq!(parse_part_file_name("part-1"), None);
        assert_eq!(normalise_etag(" \"ab\" "), "AB");
        assert_eq!(hex_decode("0aFF"), Some(vec![0x0a, 0xff]));
        assert_eq!(hex_decode("0"), None);
        assert_eq!(random_hex(16).map(|s| s.len()).ok(), Some(32));
    }
}
