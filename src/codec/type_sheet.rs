//! The exact Arrow types and `.msg` defaults of message types as an Arrow
//! IPC stream (`ros2-dora-bridge schema TYPE --format arrow-ipc`): the
//! Python package (python/) reads its types and defaults from here, so the
//! layout has one source of truth, this codec.

use super::{CodecError, META_TYPE_NAME, MessageCodec};
use arrow::array::{Array, ArrayRef, RecordBatch, StructArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::error::ArrowError;
use std::sync::Arc;

/// One row holding the message with every field at its `.msg` default
/// (zero / empty where the definition gives none): what the encoder
/// writes for a row that leaves every field out.
pub fn default_message(codec: &MessageCodec) -> Result<StructArray, CodecError> {
    let no_fields = StructArray::new_empty_fields(1, None);
    let cdr = codec.encode_row(&no_fields, 0, Vec::new())?;
    codec.decode(&cdr)
}

/// An Arrow IPC stream of one record batch with one row: a column per
/// part (`message`, or `request`/`response`, or `goal`/`feedback`/`result`)
/// holding that part's default message, its field carrying the part's
/// schema metadata (`ros.type_name`, `ros.constant.*`).
pub fn type_sheet_ipc(parts: &[(&str, MessageCodec)]) -> Result<Vec<u8>, ArrowError> {
    let mut fields = Vec::with_capacity(parts.len());
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(parts.len());
    for (part, codec) in parts {
        let defaults =
            default_message(codec).map_err(|e| ArrowError::ExternalError(Box::new(e)))?;
        let DataType::Struct(message_fields) = codec.data_type() else {
            unreachable!("a message codec's type is a struct")
        };
        let column = if message_fields.is_empty() {
            StructArray::new_empty_fields(1, None)
        } else {
            StructArray::try_new(message_fields, defaults.columns().to_vec(), None)?
        };
        let mut metadata = codec.schema().metadata().clone();
        metadata
            .entry(META_TYPE_NAME.to_string())
            .or_insert_with(|| codec.type_name().to_string());
        fields.push(Field::new(*part, column.data_type().clone(), false).with_metadata(metadata));
        columns.push(Arc::new(column));
    }
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?;
    let mut out = Vec::new();
    let mut writer = arrow::ipc::writer::StreamWriter::try_new(&mut out, &batch.schema())?;
    writer.write(&batch)?;
    writer.finish()?;
    drop(writer);
    Ok(out)
}
