//! The audit writer. Mutating RAM calls are audited synchronously (their record commits before the
//! response). Issued credentials are audited through a group-commit queue: a background thread
//! writes whatever has queued, in one transaction, at least every `FLUSH_MS`. A crash can lose
//! the records of credentials issued in the last flush interval (at most `QUEUE_CAP` records);
//! a clean shutdown loses none.

use keyless_store::{AuditRecord, Store};
use std::sync::mpsc::{sync_channel, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

pub const FLUSH_MS: u64 = 20;
pub const QUEUE_CAP: usize = 65_536;
const MAX_BATCH: usize = 4096;

pub struct Auditor {
    store: Arc<dyn Store>,
    tx: Mutex<Option<SyncSender<AuditRecord>>>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl Auditor {
    pub fn start(store: Arc<dyn Store>) -> Self {
        let (tx, rx) = sync_channel::<AuditRecord>(QUEUE_CAP);
        let s = store.clone();
        let worker = std::thread::Builder::new()
            .name("keyless-audit".into())
            .spawn(move || {
                let mut batch = Vec::with_capacity(MAX_BATCH);
                loop {
                    match rx.recv_timeout(Duration::from_millis(FLUSH_MS)) {
                        Ok(r) => {
                            batch.push(r);
                            while batch.len() < MAX_BATCH {
                                match rx.try_recv() {
                                    Ok(r) => batch.push(r),
                                    Err(_) => break,
                                }
                            }
                        }
                        Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => {
                            flush(&*s, &mut batch);
                            return;
                        }
                    }
                    flush(&*s, &mut batch);
                }
            })
            .ok();
        Auditor {
            store,
            tx: Mutex::new(Some(tx)),
            worker: Mutex::new(worker),
        }
    }

    /// Writes one record now (mutating calls).
    pub fn record_sync(&self, r: AuditRecord) {
        if let Err(e) = self.store.append_audit(std::slice::from_ref(&r)) {
            tracing::error!(error = %e, "audit write failed");
        }
    }

    /// Queues one record for group commit (credential issuance). Blocks if the queue is full
    /// (back-pressure rather than loss).
    pub fn record(&self, r: AuditRecord) {
        let tx = self.tx.lock().ok().and_then(|g| g.clone());
        match tx {
            Some(tx) => {
                if let Err(e) = tx.send(r) {
                    self.record_sync(e.0);
                }
            }
            None => self.record_sync(r),
        }
    }

    /// Flushes everything queued and stops the writer.
    pub fn shutdown(&self) {
        if let Ok(mut g) = self.tx.lock() {
            g.take();
        }
        let worker = self.worker.lock().ok().and_then(|mut w| w.take());
        if let Some(w) = worker {
            let _ = w.join();
        }
    }
}

fn flush(store: &dyn Store, batch: &mut Vec<AuditRecord>) {
    if batch.is_empty() {
        return;
    }
    if let Err(e) = store.append_audit(batch) {
        tracing::error!(records = batch.len(), error = %e, "audit batch write failed");
    }
    batch.clear();
}
