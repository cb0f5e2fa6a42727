//! The on-disk format of object and part files: the body, then a metadata trailer, so that one
//! rename publishes body and metadata together.
//!
//! ```text
//! body (size bytes) | metadata JSON | u32 LE length of the JSON | magic "KLOBJ\0v1"
//! ```
//!
//! A reader checks the magic, that the JSON parses, and that the file is exactly
//! `size + json + 12` bytes long, where `size` is the JSON's `size`.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::StoreError;

const MAGIC: &[u8; 8] = b"KLOBJ\0v1";
const FOOTER: u64 = 12;
/// The largest trailer accepted when reading (user metadata is at most 8 KiB).
const MAX_TRAILER: u32 = 64 * 1024;

/// Metadata that knows the size of the body it trails.
pub(crate) trait BodySize {
    fn body_size(&self) -> u64;
}

/// Appends the trailer for `meta` to `w`, positioned at the end of the body.
pub(crate) fn write_trailer<T: Serialize>(w: &mut impl Write, meta: &T) -> Result<(), StoreError> {
    let json =
        serde_json::to_vec(meta).map_err(|_| StoreError::Corrupt("metadata not serialisable"))?;
    let len = u32::try_from(json.len()).map_err(|_| StoreError::Corrupt("metadata too large"))?;
    w.write_all(&json)
        .map_err(StoreError::io("writing metadata"))?;
    w.write_all(&len.to_le_bytes())
        .map_err(StoreError::io("writing metadata"))?;
    w.write_all(MAGIC)
        .map_err(StoreError::io("writing metadata"))?;
    Ok(())
}

/// Reads the trailer of an open object or part file and leaves the cursor anywhere.
pub(crate) fn read_trailer<T: DeserializeOwned + BodySize>(
    file: &mut File,
) -> Result<T, StoreError> {
    let total = file
        .metadata()
        .map_err(StoreError::io("reading metadata"))?
        .len();
    if total < FOOTER {
        return Err(StoreError::Corrupt("file shorter than its trailer"));
    }
    file.seek(SeekFrom::Start(total - FOOTER))
        .map_err(StoreError::io("reading metadata"))?;
    let mut footer = [0u8; 12];
    file.read_exact(&mut footer)
        .map_err(StoreError::io("reading metadata"))?;
    let (len_bytes, magic) = footer.split_at(4);
    if magic != MAGIC {
        return Err(StoreError::Corrupt("bad trailer magic"));
    }
    let mut len4 = [0u8; 4];
    len4.copy_from_slice(len_bytes);
    let len = u32::from_le_bytes(len4);
    if len > MAX_TRAILER || u64::from(len) + FOOTER > total {
        return Err(StoreError::Corrupt("bad trailer length"));
    }
    let json_start = total - FOOTER - u64::from(len);
    file.seek(SeekFrom::Start(json_start))
        .map_err(StoreError::io("reading metadata"))?;
    let mut json = vec![0u8; len as usize];
    file.read_exact(&mut json)
        .map_err(StoreError::io("reading metadata"))?;
    let meta: T = serde_json::from_slice(&json).map_err(|_| StoreError::Corrupt("bad metadata"))?;
    if meta.body_size() != json_start {
        return Err(StoreError::Corrupt("body size does not match"));
    }
    Ok(meta)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct M {
        size: u64,
        note: String,
    }
    impl BodySize for M {
        fn body_size(&self) -> u64 {
            self.size
        }
    }

    #[test]
    fn trailer_round_trips_and_detects_damage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut f = File::create(&path).unwrap();
        f.write_all(b"hello").unwrap();
        let m = M {
            size: 5,
            note: "n".to_owned(),
        };
        write_trailer(&mut f, &m).unwrap();
        drop(f);
        let mut f = File::open(&path).unwrap();
        assert_eq!(read_trailer::<M>(&mut f).unwrap(), m);

        // Truncated, wrong size, garbage.
        let bytes = std::fs::read(&path).unwrap();
        for damaged in [
            bytes[..bytes.len() - 1].to_vec(),
            [b"x".as_slice(), &bytes].concat(),
            b"short".to_vec(),
            vec![0u8; 40],
        ] {
            std::fs::write(&path, &damaged).unwrap();
            let mut f = File::open(&path).unwrap();
            assert!(matches!(
                read_trailer::<M>(&mut f),
                Err(StoreError::Corrupt(_))
            ));
        }
    }
}
