//! A Parquet file being written from Arrow record batches: what the flows and
//! frames exports share (the writer settings, batching, closing).

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

/// Rows per record batch (and so per write): a few thousand keeps memory flat and
/// row groups large enough for readers to skip well.
pub const BATCH_ROWS: usize = 8192;

/// Timestamps: nanoseconds since the epoch, in UTC.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
}

/// A list of strings (what `ListBuilder<StringBuilder>` builds).
pub fn string_list_type() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
}

/// An open Parquet file with its schema.
pub struct ParquetFile {
    writer: ArrowWriter<File>,
    schema: SchemaRef,
}

impl ParquetFile {
    pub fn create(path: &Path, schema: Schema) -> anyhow::Result<Self> {
        let file = File::create(path)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?;
        let schema = Arc::new(schema);
        // Snappy: fast to write and read, and every Parquet reader has it.
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_created_by(format!("protolab {}", env!("CARGO_PKG_VERSION")))
            .build();
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(props))?;
        Ok(ParquetFile { writer, schema })
    }

    /// Writes one batch of columns, in the schema's order.
    pub fn write(&mut self, columns: Vec<ArrayRef>) -> anyhow::Result<()> {
        let batch = RecordBatch::try_new(self.schema.clone(), columns)?;
        if batch.num_rows() > 0 {
            self.writer.write(&batch)?;
        }
        Ok(())
    }

    /// Writes the footer; the file is only readable after this.
    pub fn close(self) -> anyhow::Result<()> {
        self.writer.close()?;
        Ok(())
    }
}
