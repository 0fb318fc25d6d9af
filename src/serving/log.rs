//! A server's event log: one line per event (`connect 127.0.0.1:40123`, `close …`),
//! shared by its connection tasks, kept for the report and optionally handed to a
//! [`LogSink`] as each line happens.

use std::fmt;
use std::sync::{Arc, Mutex};

/// Most log lines a server keeps (a server that runs until shutdown would otherwise
/// grow its log without bound).
const LOG_LIMIT: usize = 10_000;

/// Where a server's log lines go as they happen, besides its report: nowhere by
/// default (`protolab run` prints the log at its end), stdout for `protolab serve`.
#[derive(Clone, Default)]
pub struct LogSink(Option<Arc<LineFn>>);

/// What a [`LogSink`] calls with each line.
type LineFn = dyn Fn(&str) + Send + Sync;

impl LogSink {
    /// Hands every line to `f`, in the order the log keeps them.
    pub fn new(f: impl Fn(&str) + Send + Sync + 'static) -> Self {
        LogSink(Some(Arc::new(f)))
    }
}

impl fmt::Debug for LogSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "LogSink(on)"
        } else {
            "LogSink(off)"
        })
    }
}

/// A server's event log, shared by its connection tasks.
#[derive(Clone, Debug, Default)]
pub(crate) struct Log {
    lines: Arc<Mutex<Vec<String>>>,
    sink: LogSink,
}

impl Log {
    pub(crate) fn new(sink: LogSink) -> Self {
        Log {
            lines: Arc::default(),
            sink,
        }
    }

    pub(crate) fn push(&self, line: impl Into<String>) {
        let line = line.into();
        tracing::info!("{line}");
        let mut lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        // Under the lock, so the sink sees the lines in the report's order even when
        // several connection tasks log at once.
        if let Some(sink) = &self.sink.0 {
            sink(&line);
        }
        if lines.len() < LOG_LIMIT {
            lines.push(line);
        } else if lines.len() == LOG_LIMIT {
            lines.push("… (later lines not kept)".into());
        }
    }

    pub(crate) fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.lines.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sink_sees_every_line_and_the_log_stops_growing() {
        let seen = Arc::new(Mutex::new(0usize));
        let counter = Arc::clone(&seen);
        let log = Log::new(LogSink::new(move |_| *counter.lock().unwrap() += 1));
        for i in 0..LOG_LIMIT + 5 {
            log.push(format!("line {i}"));
        }
        assert_eq!(*seen.lock().unwrap(), LOG_LIMIT + 5);
        let kept = log.take();
        assert_eq!(kept.len(), LOG_LIMIT + 1);
        assert_eq!(kept.last().unwrap(), "… (later lines not kept)");
        assert!(log.take().is_empty(), "take empties the log");
    }
}
