//! Arrow -> CDR. Accepts the input variants users naturally produce (see
//! docs/arrow-mapping.md) and rejects anything else with the field path,
//! the expected and the actual type.

use super::CodecError;
use super::cdr::CdrWriter;
use super::schema::{Element, FieldLayout, MessageLayout};
use crate::msg::{ArrayKind, Primitive};
use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, FixedSizeBinaryArray, GenericBinaryArray,
    GenericListArray, GenericStringArray, OffsetSizeTrait, StructArray,
};
use arrow::datatypes::{self as adt, DataType};

/// Encodes row `row` of a `StructArray` of messages into `buffer` (reused,
/// cleared first) as little-endian CDR.
pub fn encode_row(
    layout: &MessageLayout,
    messages: &StructArray,
    row: usize,
    buffer: Vec<u8>,
) -> Result<Vec<u8>, CodecError> {
    if messages.is_null(row) {
        return Err(CodecError::invalid(
            "",
            "the message row is null".to_string(),
        ));
    }
    let mut writer = CdrWriter::reuse(buffer);
    encode_struct(layout, messages, row, &mut writer)?;
    Ok(writer.into_bytes())
}

fn encode_struct(
    layout: &MessageLayout,
    array: &StructArray,
    row: usize,
    w: &mut CdrWriter,
) -> Result<(), CodecError> {
    let mut errors = Vec::new();
    for input in array.fields() {
        if !layout.fields.iter().any(|f| &f.name == input.name()) {
            errors.push(unknown_field(layout, input.name()));
        }
    }
    if layout.fields.is_empty() {
        w.write_bytes(&[0]);
    }
    // Every field is tried, so that one error names all that do not fit
    // (what is written after the first is thrown away with the row).
    for field in &layout.fields {
        let written = match array.column_by_name(&field.name) {
            None => super::defaults::write_default(field, w),
            Some(column) => encode_field(field, column, row, w),
        };
        if let Err(e) = written {
            errors.push(e.within(&field.name));
        }
    }
    CodecError::all(errors).map_or(Ok(()), Err)
}

fn unknown_field(layout: &MessageLayout, name: &str) -> CodecError {
    let known: Vec<&str> = layout.fields.iter().map(|f| f.name.as_str()).collect();
    let hint = crate::suggest::did_you_mean(name, known.iter().copied())
        .map(|s| format!("did you mean `{s}`? "))
        .unwrap_or_default();
    CodecError::invalid(
        name,
        format!(
            "`{}` has no field `{name}` ({hint}its fields: {})",
            layout.name,
            known.join(", ")
        ),
    )
}

/// The range of `values` that one list row covers, for any list encoding.
struct ListSlice<'a> {
    values: &'a ArrayRef,
    start: usize,
    len: usize,
}

fn list_slice<'a>(column: &'a dyn Array, row: usize) -> Option<ListSlice<'a>> {
    fn generic<O: OffsetSizeTrait>(l: &GenericListArray<O>, row: usize) -> ListSlice<'_> {
        let offsets = l.value_offsets();
        let start = offsets[row].as_usize();
        ListSlice {
            values: l.values(),
            start,
            len: offsets[row + 1].as_usize() - start,
        }
    }
    match column.data_type() {
        DataType::List(_) => Some(generic(column.as_list::<i32>(), row)),
        DataType::LargeList(_) => Some(generic(column.as_list::<i64>(), row)),
        DataType::FixedSizeList(_, n) => {
            let l = column.as_fixed_size_list();
            let n = *n as usize;
            Some(ListSlice {
                values: l.values(),
                start: row * n,
                len: n,
            })
        }
        _ => None,
    }
}

/// The bytes of one row of a binary-like column.
fn binary_row(column: &dyn Array, row: usize) -> Option<&[u8]> {
    fn generic<O: OffsetSizeTrait>(b: &GenericBinaryArray<O>, row: usize) -> &[u8] {
        b.value(row)
    }
    match column.data_type() {
        DataType::Binary => Some(generic(column.as_binary::<i32>(), row)),
        DataType::LargeBinary => Some(generic(column.as_binary::<i64>(), row)),
        DataType::FixedSizeBinary(_) => {
            let b: &FixedSizeBinaryArray = column.as_fixed_size_binary();
            Some(b.value(row))
        }
        DataType::BinaryView => Some(column.as_binary_view().value(row)),
        _ => None,
    }
}

fn expected_list(field: &FieldLayout) -> String {
    let octet = matches!(field.element, Element::Primitive(p) if p.is_octet());
    match (field.array, octet) {
        (ArrayKind::Fixed(n), _) => format!("FixedSizeList or List of {n} elements"),
        (_, true) => "List<UInt8>, LargeList<UInt8> or Binary".to_string(),
        _ => "List, LargeList or FixedSizeList".to_string(),
    }
}

fn encode_field(
    field: &FieldLayout,
    column: &ArrayRef,
    row: usize,
    w: &mut CdrWriter,
) -> Result<(), CodecError> {
    if column.is_null(row) {
        return Err(CodecError::invalid(
            "",
            format!(
                "null value for `{}` (ROS messages have no nulls)",
                field.ros_type
            ),
        ));
    }
    if field.array == ArrayKind::Single {
        return encode_values(&field.element, column, row, 1, false, w);
    }
    let bound_check = |len: usize| match field.array {
        ArrayKind::Fixed(n) if len != n => Err(CodecError::invalid(
            "",
            format!(
                "fixed array `{}` needs exactly {n} elements, got {len}",
                field.ros_type
            ),
        )),
        ArrayKind::Bounded(b) if len > b => Err(CodecError::invalid(
            "",
            format!(
                "sequence `{}` holds at most {b} elements, got {len}",
                field.ros_type
            ),
        )),
        _ => Ok(()),
    };
    let is_sequence = matches!(field.array, ArrayKind::Bounded(_) | ArrayKind::Unbounded);
    if let Some(bytes) = binary_row(column.as_ref(), row)
        && matches!(field.element, Element::Primitive(p) if p.is_octet())
    {
        bound_check(bytes.len())?;
        if is_sequence {
            w.write_u32(len_u32(bytes.len())?);
        }
        w.write_bulk(bytes);
        return Ok(());
    }
    let slice = list_slice(column.as_ref(), row)
        .ok_or_else(|| CodecError::type_mismatch("", &expected_list(field), column.data_type()))?;
    bound_check(slice.len)?;
    if is_sequence {
        w.write_u32(len_u32(slice.len)?);
    }
    encode_values(
        &field.element,
        slice.values,
        slice.start,
        slice.len,
        true,
        w,
    )
}

fn len_u32(len: usize) -> Result<u32, CodecError> {
    u32::try_from(len)
        .map_err(|_| CodecError::invalid("", format!("{len} elements exceed CDR's u32 length")))
}

fn check_no_nulls(
    values: &dyn Array,
    start: usize,
    len: usize,
    indexed: bool,
) -> Result<(), CodecError> {
    if let Some(nulls) = values.logical_nulls()
        && let Some(i) = (start..start + len).find(|&i| nulls.is_null(i))
    {
        return Err(
            CodecError::invalid("", "null value (ROS messages have no nulls)".to_string())
                .at_index(i - start, indexed),
        );
    }
    Ok(())
}

macro_rules! bulk_le {
    ($values:expr, $t:ty, $start:expr, $len:expr, $w:expr) => {{
        const SIZE: usize = std::mem::size_of::<<$t as adt::ArrowPrimitiveType>::Native>();
        let values = $values.as_primitive::<$t>().values();
        if $len > 0 {
            $w.align(SIZE);
        }
        if cfg!(target_endian = "little") {
            // Arrow buffers are host-endian: on little-endian hosts they
            // already are CDR's bytes, so the slice goes out in one copy.
            let bytes = values.inner().as_slice();
            $w.write_bulk(&bytes[$start * SIZE..($start + $len) * SIZE]);
        } else {
            for v in &values[$start..$start + $len] {
                $w.write_bytes(&v.to_le_bytes());
            }
        }
    }};
}

fn encode_values(
    element: &Element,
    values: &ArrayRef,
    start: usize,
    len: usize,
    indexed: bool,
    w: &mut CdrWriter,
) -> Result<(), CodecError> {
    match element {
        Element::Primitive(p) => encode_primitives(*p, values, start, len, indexed, w),
        Element::String { bound } => encode_strings(*bound, false, values, start, len, indexed, w),
        Element::WString { bound } => encode_strings(*bound, true, values, start, len, indexed, w),
        Element::Message(layout) => {
            let DataType::Struct(_) = values.data_type() else {
                return Err(CodecError::type_mismatch(
                    "",
                    &format!("Struct ({})", layout.name),
                    values.data_type(),
                ));
            };
            let structs = values.as_struct();
            check_no_nulls(values.as_ref(), start, len, indexed)?;
            for i in start..start + len {
                encode_struct(layout, structs, i, w).map_err(|e| e.at_index(i - start, indexed))?;
            }
            Ok(())
        }
    }
}

fn encode_primitives(
    p: Primitive,
    values: &ArrayRef,
    start: usize,
    len: usize,
    indexed: bool,
    w: &mut CdrWriter,
) -> Result<(), CodecError> {
    let expected = super::schema::primitive_data_type(p);
    let widened;
    let (values, start) = match values.data_type() == &expected {
        true => (values, start),
        false => {
            widened = widen(values, start, len, &expected)?;
            (&widened, 0)
        }
    };
    check_no_nulls(values.as_ref(), start, len, indexed)?;
    match p {
        Primitive::Bool => {
            let b: &BooleanArray = values.as_boolean();
            let bytes: Vec<u8> = (start..start + len).map(|i| b.value(i) as u8).collect();
            w.write_bytes(&bytes);
        }
        Primitive::Byte | Primitive::Char | Primitive::UInt8 => {
            let v = values.as_primitive::<adt::UInt8Type>().values();
            w.write_bulk(&v[start..start + len]);
        }
        Primitive::Int8 => {
            let v = values.as_primitive::<adt::Int8Type>().values();
            let bytes: Vec<u8> = v[start..start + len].iter().map(|&x| x as u8).collect();
            w.write_bytes(&bytes);
        }
        Primitive::Int16 => bulk_le!(values, adt::Int16Type, start, len, w),
        Primitive::UInt16 => bulk_le!(values, adt::UInt16Type, start, len, w),
        Primitive::Int32 => bulk_le!(values, adt::Int32Type, start, len, w),
        Primitive::UInt32 => bulk_le!(values, adt::UInt32Type, start, len, w),
        Primitive::Int64 => bulk_le!(values, adt::Int64Type, start, len, w),
        Primitive::UInt64 => bulk_le!(values, adt::UInt64Type, start, len, w),
        Primitive::Float32 => bulk_le!(values, adt::Float32Type, start, len, w),
        Primitive::Float64 => bulk_le!(values, adt::Float64Type, start, len, w),
    }
    Ok(())
}

/// `values[start..start + len]` as `expected`, where no value changes its
/// meaning: integers to floats (a Python `int` for a float64 field) or to
/// integers that hold every value given, float32 to float64.
fn widen(
    values: &ArrayRef,
    start: usize,
    len: usize,
    expected: &DataType,
) -> Result<ArrayRef, CodecError> {
    let from = values.data_type();
    let widens = (from.is_integer() && (expected.is_floating() || expected.is_integer()))
        || (from == &DataType::Float32 && expected == &DataType::Float64);
    if !widens {
        return Err(CodecError::type_mismatch("", &expected.to_string(), from));
    }
    let exact = arrow::compute::CastOptions {
        safe: false,
        ..Default::default()
    };
    arrow::compute::cast_with_options(&values.slice(start, len), expected, &exact).map_err(|_| {
        CodecError::invalid(
            "",
            format!("expected {expected}, got {from} with a value that {expected} cannot hold"),
        )
    })
}

/// Strings (`wide`: wstrings, as UTF-16) from any Arrow string array.
fn encode_strings(
    bound: Option<usize>,
    wide: bool,
    values: &ArrayRef,
    start: usize,
    len: usize,
    indexed: bool,
    w: &mut CdrWriter,
) -> Result<(), CodecError> {
    check_no_nulls(values.as_ref(), start, len, indexed)?;
    let mut each = |i: usize, text: &str| -> Result<(), CodecError> {
        let at = |e: CodecError| e.at_index(i - start, indexed);
        if wide {
            let units: Vec<u16> = text.encode_utf16().collect();
            check_bound(bound, units.len()).map_err(at)?;
            super::defaults::write_wstring_units(&units, w).map_err(at)
        } else {
            check_bound(bound, text.len()).map_err(at)?;
            super::defaults::write_string(text, w).map_err(at)
        }
    };
    fn generic<O: OffsetSizeTrait>(a: &GenericStringArray<O>, i: usize) -> &str {
        a.value(i)
    }
    for i in start..start + len {
        let text = match values.data_type() {
            DataType::Utf8 => generic(values.as_string::<i32>(), i),
            DataType::LargeUtf8 => generic(values.as_string::<i64>(), i),
            DataType::Utf8View => values.as_string_view().value(i),
            other => return Err(CodecError::type_mismatch("", "Utf8 or LargeUtf8", other)),
        };
        each(i, text)?;
    }
    Ok(())
}

fn check_bound(bound: Option<usize>, len: usize) -> Result<(), CodecError> {
    match bound {
        Some(b) if len > b => Err(CodecError::invalid(
            "",
            format!("string of {len} characters exceeds its bound of {b}"),
        )),
        _ => Ok(()),
    }
}
