//! The audit log: rows numbered by `seq`, appended in batches.

use super::{collect, count, to_i64};
use crate::{AuditRecord, Result};
use rusqlite::{params, Connection};

pub(super) fn append(c: &Connection, records: &[AuditRecord]) -> Result<()> {
    let mut seq = count(c, "SELECT COALESCE(MAX(seq), 0) FROM audit_log", [])?;
    let mut stmt = c.prepare_cached(
        "INSERT INTO audit_log (seq, recorded_at, request_id, account_id, actor, action, target, result, \
         detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for r in records {
        seq += 1;
        stmt.execute(params![
            seq,
            r.time,
            r.request_id,
            r.account_id,
            r.actor,
            r.action,
            r.target,
            r.result,
            r.detail
        ])?;
    }
    Ok(())
}

pub(super) fn recent(c: &Connection, limit: usize) -> Result<Vec<AuditRecord>> {
    collect(
        c,
        "SELECT recorded_at, request_id, account_id, actor, action, target, result, detail FROM audit_log \
         ORDER BY seq DESC LIMIT ?1",
        [to_i64(limit)],
        |r| {
            Ok(AuditRecord {
                time: r.get(0)?,
                request_id: r.get(1)?,
                account_id: r.get(2)?,
                actor: r.get(3)?,
                action: r.get(4)?,
                target: r.get(5)?,
                result: r.get(6)?,
                detail: r.get(7)?,
            })
        },
    )
}
