//! Metadata blobs (`meta`), JSON records by `(kind, key)` (`records`) and event streams
//! (`events`, numbered per stream by `seq`).

use super::{collect, count, execute, first};
use crate::{Entity, Event, Result, StoreError};
use rusqlite::{params, Connection};

pub(super) fn get_meta(c: &Connection, key: &str) -> Result<Option<Vec<u8>>> {
    first(
        c,
        "SELECT meta_value FROM meta WHERE meta_key = ?1",
        [key],
        |r| Ok(r.get(0)?),
    )
}

pub(super) fn put_meta(c: &Connection, key: &str, value: &[u8]) -> Result<()> {
    if execute(
        c,
        "UPDATE meta SET meta_value = ?2 WHERE meta_key = ?1",
        params![key, value],
    )? == 0
    {
        execute(
            c,
            "INSERT INTO meta (meta_key, meta_value) VALUES (?1, ?2)",
            params![key, value],
        )?;
    }
    Ok(())
}

pub(super) fn create(c: &Connection, kind: &str, key: &str, value: &str, now: i64) -> Result<()> {
    if count(
        c,
        "SELECT COUNT(*) FROM records WHERE kind = ?1 AND record_key = ?2",
        params![kind, key],
    )? > 0
    {
        return Err(StoreError::AlreadyExists(Entity::Record, key.to_owned()));
    }
    execute(
        c,
        "INSERT INTO records (kind, record_key, record_value, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)",
        params![kind, key, value, now],
    )?;
    Ok(())
}

pub(super) fn put(c: &Connection, kind: &str, key: &str, value: &str, now: i64) -> Result<()> {
    if execute(
        c,
        "UPDATE records SET record_value = ?3, updated_at = ?4 WHERE kind = ?1 AND record_key = ?2",
        params![kind, key, value, now],
    )? == 0
    {
        execute(
            c,
            "INSERT INTO records (kind, record_key, record_value, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)",
            params![kind, key, value, now],
        )?;
    }
    Ok(())
}

pub(super) fn get(c: &Connection, kind: &str, key: &str) -> Result<Option<String>> {
    first(
        c,
        "SELECT record_value FROM records WHERE kind = ?1 AND record_key = ?2",
        params![kind, key],
        |r| Ok(r.get(0)?),
    )
}

/// Every record of `kind`, ordered by key; the caller filters by prefix (keys are compared
/// exactly, so no `LIKE` pattern can misread them).
pub(super) fn list(c: &Connection, kind: &str) -> Result<Vec<(String, String)>> {
    collect(
        c,
        "SELECT record_key, record_value FROM records WHERE kind = ?1 ORDER BY record_key",
        params![kind],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

pub(super) fn delete(c: &Connection, kind: &str, key: &str) -> Result<bool> {
    Ok(execute(
        c,
        "DELETE FROM records WHERE kind = ?1 AND record_key = ?2",
        params![kind, key],
    )? > 0)
}

pub(super) fn append_event(c: &Connection, stream: &str, event: &Event) -> Result<()> {
    let next = count(
        c,
        "SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE stream = ?1",
        params![stream],
    )?;
    execute(
        c,
        "INSERT INTO events (stream, seq, event_time, event_kind, reason, message) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            stream,
            next,
            event.time,
            event.kind,
            event.reason,
            event.message
        ],
    )?;
    Ok(())
}

pub(super) fn list_events(c: &Connection, stream: &str) -> Result<Vec<Event>> {
    collect(
        c,
        "SELECT event_time, event_kind, reason, message FROM events WHERE stream = ?1 ORDER BY seq",
        params![stream],
        |r| {
            Ok(Event {
                time: r.get(0)?,
                kind: r.get(1)?,
                reason: r.get(2)?,
                message: r.get(3)?,
            })
        },
    )
}

pub(super) fn delete_events(c: &Connection, stream: &str) -> Result<()> {
    execute(c, "DELETE FROM events WHERE stream = ?1", params![stream])?;
    Ok(())
}
