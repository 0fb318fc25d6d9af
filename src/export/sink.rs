//! `FlowSink`: where `flows` writes its records, one implementation per
//! `--format`. The reading side knows nothing of formats; a sink knows nothing of
//! captures beyond the records it is given, in order.

use std::io::Write;

use crate::output::{flow_rows, flows_header};

use super::record::FlowRecord;

/// A writer of flow records in one format.
pub trait FlowSink {
    /// The records of capture `name` follow (called for every capture, in order).
    fn capture(&mut self, _name: &str) -> anyhow::Result<()> {
        Ok(())
    }
    fn record(&mut self, record: &FlowRecord) -> anyhow::Result<()>;
    /// Everything is written: footers, and the file closed.
    fn finish(self: Box<Self>) -> anyhow::Result<()>;
}

/// The table `flows` prints (one capture's looks as it always did).
pub struct TextSink<W: Write> {
    out: W,
    /// Several captures: each one's rows follow a `# capture` line.
    several: bool,
    header: bool,
}

impl<W: Write> TextSink<W> {
    pub fn new(out: W, several: bool) -> Self {
        TextSink {
            out,
            several,
            header: false,
        }
    }
}

impl<W: Write> FlowSink for TextSink<W> {
    fn capture(&mut self, name: &str) -> anyhow::Result<()> {
        // Written with the first capture read, so a file that cannot be opened
        // prints nothing on stdout, only its error.
        if !self.header {
            self.header = true;
            writeln!(self.out, "{}", flows_header())?;
        }
        if self.several {
            writeln!(self.out, "# {name}")?;
        }
        Ok(())
    }

    fn record(&mut self, r: &FlowRecord) -> anyhow::Result<()> {
        writeln!(self.out, "{}", flow_rows(&r.summary))?;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> anyhow::Result<()> {
        self.out.flush()?;
        Ok(())
    }
}

/// NDJSON, one object per flow (docs/json.md).
pub struct JsonSink<W: Write> {
    pub out: W,
}

impl<W: Write> FlowSink for JsonSink<W> {
    fn record(&mut self, r: &FlowRecord) -> anyhow::Result<()> {
        // As an io::Error, so a closed pipe (`| head`) reads as one and is no failure.
        serde_json::to_writer(&mut self.out, r).map_err(std::io::Error::from)?;
        self.out.write_all(b"\n")?;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> anyhow::Result<()> {
        self.out.flush()?;
        Ok(())
    }
}
