//! A non-blocking writer that batches: log lines are appended to a shared buffer, and one
//! background thread writes the whole buffer every [`FLUSH_EVERY`] (10 ms: at 100 000 lines a
//! second that is ~1.5 MB a second, ~15 KB a batch, so the buffers stay small).
//!
//! Written here rather than taken from `tracing-appender`, whose worker is woken for every line:
//! on 2 cores that wake-up (a futex call and a context switch per request) cost 14–18 % of the
//! request rate of `bench/assume_role.sh`; appending under an uncontended mutex costs about as
//! much as formatting the line. Lines are whole (`tracing-subscriber` writes each event with one
//! `write_all`), so a batch never splits one.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// How often the background thread writes what was logged.
pub const FLUSH_EVERY: Duration = Duration::from_millis(10);
/// Bytes not yet written beyond which new lines are dropped (and counted).
pub const MAX_PENDING: usize = 4 << 20;

struct Shared {
    pending: Mutex<Vec<u8>>,
    dropped: AtomicU64,
    stop: AtomicBool,
}

/// The writer `tracing-subscriber` is given.
#[derive(Clone)]
pub struct BatchWriter(Arc<Shared>);

/// Flushes what is pending and stops the thread when dropped (keep it until exit).
pub struct Guard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// A batching writer to stderr, and the guard that flushes it at exit.
pub fn stderr() -> (BatchWriter, Guard) {
    batching(io::stderr())
}

/// A batching writer to `out`.
pub fn batching<W: Write + Send + 'static>(mut out: W) -> (BatchWriter, Guard) {
    let shared = Arc::new(Shared {
        pending: Mutex::new(Vec::with_capacity(64 * 1024)),
        dropped: AtomicU64::new(0),
        stop: AtomicBool::new(false),
    });
    let s = shared.clone();
    let thread = std::thread::Builder::new()
        .name("keyless-log".into())
        .spawn(move || {
            let mut spare = Vec::with_capacity(64 * 1024);
            loop {
                let stopping = s.stop.load(Ordering::Acquire);
                if !stopping {
                    std::thread::park_timeout(FLUSH_EVERY);
                }
                flush_once(&s, &mut spare, &mut out);
                if stopping {
                    break;
                }
            }
        })
        .ok();
    (BatchWriter(shared.clone()), Guard { shared, thread })
}

fn flush_once<W: Write>(s: &Shared, spare: &mut Vec<u8>, out: &mut W) {
    {
        let mut p = match s.pending.lock() {
            Ok(g) => g,
            Err(e) => e.into_inner(),
        };
        std::mem::swap(&mut *p, spare);
    }
    let dropped = s.dropped.swap(0, Ordering::AcqRel);
    if dropped > 0 {
        spare.extend_from_slice(
            format!("keyless: {dropped} log lines dropped (the log could not keep up)\n")
                .as_bytes(),
        );
    }
    if !spare.is_empty() {
        // Nothing useful can be done when stderr is gone.
        let _ = out.write_all(spare).and_then(|()| out.flush());
        spare.clear();
    }
    // A flood's buffer is not kept: an idle agent should stay small.
    if spare.capacity() > 256 * 1024 {
        spare.shrink_to(64 * 1024);
    }
}

impl Write for BatchWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut p = match self.0.pending.lock() {
            Ok(g) => g,
            Err(e) => e.into_inner(),
        };
        if p.len() + buf.len() > MAX_PENDING {
            self.0.dropped.fetch_add(1, Ordering::Relaxed);
        } else {
            p.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for BatchWriter {
    type Writer = BatchWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_is_written_by_the_time_the_guard_drops() {
        let sink = Sink::default();
        let (w, guard) = batching(sink.clone());
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let mut w = w.clone();
                std::thread::spawn(move || {
                    for i in 0..1000 {
                        w.write_all(format!("t{t} line {i}\n").as_bytes()).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        drop(guard);
        let out = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        assert_eq!(out.lines().count(), 4000);
        for t in 0..4 {
            for i in 0..1000 {
                assert!(out.contains(&format!("t{t} line {i}\n")));
            }
        }
    }

    #[test]
    fn a_flood_is_dropped_and_counted_not_buffered_without_bound() {
        // No writer thread: nothing drains the buffer while we flood it.
        let shared = Arc::new(Shared {
            pending: Mutex::new(Vec::new()),
            dropped: AtomicU64::new(0),
            stop: AtomicBool::new(false),
        });
        let mut w = BatchWriter(shared.clone());
        let line = vec![b'x'; 1 << 20];
        for _ in 0..6 {
            w.write_all(&line).unwrap(); // never blocks, never fails
        }
        assert_eq!(shared.pending.lock().unwrap().len(), MAX_PENDING);
        assert_eq!(shared.dropped.load(Ordering::Relaxed), 2);
        let mut out = Vec::new();
        flush_once(&shared, &mut Vec::new(), &mut out);
        assert_eq!(
            out.len() - MAX_PENDING,
            "keyless: 2 log lines dropped (the log could not keep up)\n".len()
        );
        assert!(shared.pending.lock().unwrap().is_empty());
    }
}
