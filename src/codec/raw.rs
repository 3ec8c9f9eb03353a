//! `format: cdr` routes: the message as its CDR bytes in one `Binary`
//! column, not decoded. For relays, recorders and forwarding between
//! hosts, at the cost of one copy (none for adopted take buffers).

use super::CodecError;
use arrow::array::{Array, ArrayRef, AsArray, BinaryArray, StructArray};
use arrow::buffer::{Buffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{DataType, Field, Fields};
use std::sync::Arc;

/// The one column of a raw row.
pub const CDR_COLUMN: &str = "cdr";

pub fn fields() -> Fields {
    Fields::from(vec![Field::new(CDR_COLUMN, DataType::Binary, false)])
}

/// One row holding `cdr`, copied.
pub fn row(cdr: &[u8]) -> StructArray {
    let column: ArrayRef = Arc::new(BinaryArray::from_vec(vec![cdr]));
    StructArray::new(fields(), vec![column], None)
}

/// One row holding `cdr` itself (the take buffer the row then owns).
pub fn row_sharing(cdr: &Buffer) -> StructArray {
    let offsets = OffsetBuffer::new(ScalarBuffer::from(vec![0i32, cdr.len() as i32]));
    let column: ArrayRef = Arc::new(BinaryArray::new(offsets, cdr.clone(), None));
    StructArray::new(fields(), vec![column], None)
}

/// Row `row`'s CDR, checked to start with a CDR encapsulation header (so
/// that what goes out on ROS is at least CDR), into `buffer`.
pub fn bytes_of(
    messages: &StructArray,
    row: usize,
    mut buffer: Vec<u8>,
) -> Result<Vec<u8>, CodecError> {
    let column = messages.column_by_name(CDR_COLUMN).ok_or_else(|| {
        CodecError::type_mismatch(
            CDR_COLUMN,
            "a Binary column `cdr` (format: cdr)",
            messages.data_type(),
        )
    })?;
    let bytes = match column.data_type() {
        DataType::Binary => column.as_binary::<i32>().value(row),
        DataType::LargeBinary => column.as_binary::<i64>().value(row),
        other => {
            return Err(CodecError::type_mismatch(
                CDR_COLUMN,
                "Binary (format: cdr)",
                other,
            ));
        }
    };
    if column.is_null(row) || !has_cdr_header(bytes) {
        return Err(CodecError::invalid(
            CDR_COLUMN,
            "not CDR: a serialized message starts with a 4-byte encapsulation header (00 01 00 00 for little-endian CDR)".into(),
        ));
    }
    buffer.clear();
    buffer.extend_from_slice(bytes);
    Ok(buffer)
}

/// An encapsulation header: representation id 0x0000-0x000b (CDR, PL_CDR,
/// XCDR2 in either byte order) and 2 option bytes.
fn has_cdr_header(bytes: &[u8]) -> bool {
    bytes.len() >= 4 && bytes[0] == 0 && bytes[1] <= 0x0b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_hold_the_bytes_and_give_them_back_checked() {
        let cdr = [0u8, 1, 0, 0, 5, 0, 0, 0];
        let copied = row(&cdr);
        assert_eq!(bytes_of(&copied, 0, Vec::new()).unwrap(), cdr);
        let shared = row_sharing(&Buffer::from(cdr.to_vec()));
        assert_eq!(bytes_of(&shared, 0, vec![9; 100]).unwrap(), cdr);
        for bad in [&[][..], &[1, 0, 0, 0], &[0, 1]] {
            let error = bytes_of(&row(bad), 0, Vec::new()).unwrap_err();
            assert!(error.to_string().contains("not CDR"), "{error}");
        }
    }
}
