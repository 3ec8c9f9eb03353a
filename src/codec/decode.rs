//! CDR -> Arrow. Values are appended to column builders that mirror the
//! layout; primitive arrays are appended in bulk from the wire bytes.

use super::CodecError;
use super::cdr::CdrReader;
use super::schema::{Element, FieldLayout, MessageLayout};
use crate::msg::{ArrayKind, Primitive};
use arrow::array::{
    ArrayRef, BinaryArray, BooleanArray, FixedSizeListArray, ListArray, PrimitiveArray,
    StringArray, StructArray,
};
use arrow::buffer::{BooleanBuffer, Buffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{self as adt, DataType, FieldRef};
use std::sync::Arc;

/// Decodes one CDR-encoded message into a one-row `StructArray`.
pub fn decode_message(layout: &Arc<MessageLayout>, cdr: &[u8]) -> Result<StructArray, CodecError> {
    decode_from(layout, CdrReader::new(cdr)?)
}

/// Like [`decode_message`], but large byte arrays (`uint8[]` image and
/// point cloud data) become slices of `cdr` instead of copies: the result
/// keeps `cdr` alive.
pub fn decode_message_sharing(
    layout: &Arc<MessageLayout>,
    cdr: &Buffer,
) -> Result<StructArray, CodecError> {
    decode_from(layout, CdrReader::over_buffer(cdr)?)
}

fn decode_from(
    layout: &Arc<MessageLayout>,
    mut reader: CdrReader,
) -> Result<StructArray, CodecError> {
    let mut column = StructColumn::new(layout.clone());
    column.decode_one(&mut reader)?;
    column.finish()
}

/// Byte runs shorter than this are copied even when they could be shared:
/// a copy this small costs less than the allocation it would save.
const SHARE_MIN_BYTES: usize = 4096;

/// The values of a byte column (`uint8`, `byte`, `char`, or a `Binary`
/// column's data). While its only content is one large run of the source
/// CDR it holds that run as a shared slice; anything more is copied.
#[derive(Default)]
struct ByteValues {
    owned: Vec<u8>,
    shared: Option<Buffer>,
}

impl ByteValues {
    fn extend(&mut self, bytes: &[u8], reader: &CdrReader) {
        if self.owned.is_empty() && self.shared.is_none() && bytes.len() >= SHARE_MIN_BYTES {
            self.shared = reader.shared(bytes);
            if self.shared.is_some() {
                return;
            }
        }
        if let Some(shared) = self.shared.take() {
            self.owned.extend_from_slice(shared.as_slice());
        }
        self.owned.extend_from_slice(bytes);
    }

    fn len(&self) -> usize {
        self.shared.as_ref().map_or(self.owned.len(), Buffer::len)
    }

    fn into_buffer(self) -> Buffer {
        self.shared.unwrap_or_else(|| Buffer::from_vec(self.owned))
    }
}

enum Column {
    Bool(Vec<bool>),
    Int8(Vec<i8>),
    UInt8(ByteValues),
    Int16(Vec<i16>),
    UInt16(Vec<u16>),
    Int32(Vec<i32>),
    UInt32(Vec<u32>),
    Int64(Vec<i64>),
    UInt64(Vec<u64>),
    Float32(Vec<f32>),
    Float64(Vec<f64>),
    /// `string` as UTF-8 bytes; wide strings are transcoded on the way in.
    Utf8 {
        offsets: Vec<i32>,
        data: Vec<u8>,
    },
    Binary {
        offsets: Vec<i32>,
        data: ByteValues,
    },
    Struct(StructColumn),
    List {
        item: FieldRef,
        offsets: Vec<i32>,
        child: Box<Column>,
    },
    FixedList {
        item: FieldRef,
        size: i32,
        child: Box<Column>,
    },
}

struct StructColumn {
    layout: Arc<MessageLayout>,
    children: Vec<Column>,
    len: usize,
}

impl StructColumn {
    fn new(layout: Arc<MessageLayout>) -> Self {
        let children = layout.fields.iter().map(Column::for_field).collect();
        StructColumn {
            layout,
            children,
            len: 0,
        }
    }

    fn decode_one(&mut self, reader: &mut CdrReader) -> Result<(), CodecError> {
        if self.layout.fields.is_empty() {
            // rosidl gives empty messages one placeholder byte on the wire.
            reader.read_u8()?;
        }
        for (field, column) in self.layout.fields.iter().zip(self.children.iter_mut()) {
            decode_field(field, column, reader).map_err(|e| e.within(&field.name))?;
        }
        self.len += 1;
        Ok(())
    }

    fn finish(self) -> Result<StructArray, CodecError> {
        if self.layout.fields.is_empty() {
            return Ok(StructArray::new_empty_fields(self.len, None));
        }
        let mut arrays = Vec::with_capacity(self.children.len());
        for (field, column) in self.layout.fields.iter().zip(self.children) {
            arrays.push(column.finish().map_err(|e| e.within(&field.name))?);
        }
        StructArray::try_new(self.layout.arrow_fields.clone(), arrays, None)
            .map_err(|e| CodecError::malformed("", e.to_string()))
    }
}

impl Column {
    fn for_field(field: &FieldLayout) -> Column {
        let element = || Column::for_element(&field.element);
        match (field.array, field.arrow.data_type()) {
            (ArrayKind::Single, _) => element(),
            (ArrayKind::Fixed(n), DataType::FixedSizeList(item, _)) => Column::FixedList {
                item: item.clone(),
                size: n as i32,
                child: Box::new(element()),
            },
            (_, DataType::Binary) => Column::Binary {
                offsets: vec![0],
                data: ByteValues::default(),
            },
            (_, DataType::List(item)) => Column::List {
                item: item.clone(),
                offsets: vec![0],
                child: Box::new(element()),
            },
            (array, data_type) => unreachable!("layout built {data_type} for {array:?}"),
        }
    }

    fn for_element(element: &Element) -> Column {
        use Primitive::*;
        match element {
            Element::Primitive(p) => match p {
                Bool => Column::Bool(Vec::new()),
                Int8 => Column::Int8(Vec::new()),
                Byte | Char | UInt8 => Column::UInt8(ByteValues::default()),
                Int16 => Column::Int16(Vec::new()),
                UInt16 => Column::UInt16(Vec::new()),
                Int32 => Column::Int32(Vec::new()),
                UInt32 => Column::UInt32(Vec::new()),
                Int64 => Column::Int64(Vec::new()),
                UInt64 => Column::UInt64(Vec::new()),
                Float32 => Column::Float32(Vec::new()),
                Float64 => Column::Float64(Vec::new()),
            },
            Element::String { .. } | Element::WString { .. } => Column::Utf8 {
                offsets: vec![0],
                data: Vec::new(),
            },
            Element::Message(layout) => Column::Struct(StructColumn::new(layout.clone())),
        }
    }

    fn finish(self) -> Result<ArrayRef, CodecError> {
        fn prim<T: adt::ArrowPrimitiveType>(values: Vec<T::Native>) -> ArrayRef {
            Arc::new(PrimitiveArray::<T>::new(ScalarBuffer::from(values), None))
        }
        let bad = |e: arrow::error::ArrowError| CodecError::malformed("", e.to_string());
        Ok(match self {
            Column::Bool(v) => Arc::new(BooleanArray::new(BooleanBuffer::from(v), None)),
            Column::Int8(v) => prim::<adt::Int8Type>(v),
            Column::UInt8(v) => {
                let len = v.len();
                Arc::new(PrimitiveArray::<adt::UInt8Type>::new(
                    ScalarBuffer::new(v.into_buffer(), 0, len),
                    None,
                ))
            }
            Column::Int16(v) => prim::<adt::Int16Type>(v),
            Column::UInt16(v) => prim::<adt::UInt16Type>(v),
            Column::Int32(v) => prim::<adt::Int32Type>(v),
            Column::UInt32(v) => prim::<adt::UInt32Type>(v),
            Column::Int64(v) => prim::<adt::Int64Type>(v),
            Column::UInt64(v) => prim::<adt::UInt64Type>(v),
            Column::Float32(v) => prim::<adt::Float32Type>(v),
            Column::Float64(v) => prim::<adt::Float64Type>(v),
            Column::Utf8 { offsets, data } => Arc::new(
                StringArray::try_new(
                    OffsetBuffer::new(ScalarBuffer::from(offsets)),
                    Buffer::from_vec(data),
                    None,
                )
                .map_err(bad)?,
            ),
            Column::Binary { offsets, data } => Arc::new(
                BinaryArray::try_new(
                    OffsetBuffer::new(ScalarBuffer::from(offsets)),
                    data.into_buffer(),
                    None,
                )
                .map_err(bad)?,
            ),
            Column::Struct(s) => Arc::new(s.finish()?),
            Column::List {
                item,
                offsets,
                child,
            } => Arc::new(
                ListArray::try_new(
                    item,
                    OffsetBuffer::new(ScalarBuffer::from(offsets)),
                    child.finish()?,
                    None,
                )
                .map_err(bad)?,
            ),
            Column::FixedList { item, size, child } => Arc::new(
                FixedSizeListArray::try_new(item, size, child.finish()?, None).map_err(bad)?,
            ),
        })
    }
}

fn next_offset(offsets: &[i32], added: usize) -> Result<i32, CodecError> {
    let last = *offsets.last().expect("offsets start with 0") as usize;
    i32::try_from(last + added)
        .map_err(|_| CodecError::malformed("", "more than 2 GiB in one column".to_string()))
}

/// The fewest wire bytes one element can take, to bound forged lengths.
fn min_wire_size(element: &Element) -> usize {
    match element {
        Element::Primitive(p) => p.size(),
        Element::String { .. } | Element::WString { .. } => 4,
        Element::Message(_) => 1,
    }
}

fn decode_field(
    field: &FieldLayout,
    column: &mut Column,
    reader: &mut CdrReader,
) -> Result<(), CodecError> {
    match (field.array, column) {
        (ArrayKind::Single, column) => decode_elements(&field.element, column, 1, false, reader),
        (ArrayKind::Fixed(n), Column::FixedList { child, .. }) => {
            decode_elements(&field.element, child, n, true, reader)
        }
        (array, column) => {
            let len = reader.read_length(min_wire_size(&field.element))?;
            if let ArrayKind::Bounded(bound) = array
                && len > bound
            {
                return Err(CodecError::malformed(
                    "",
                    format!("sequence of {len} elements exceeds its bound of {bound}"),
                ));
            }
            match column {
                Column::Binary { offsets, data } => {
                    let next = next_offset(offsets, len)?;
                    let bytes = reader.take_aligned(len, 1)?;
                    data.extend(bytes, reader);
                    offsets.push(next);
                }
                Column::List { offsets, child, .. } => {
                    let next = next_offset(offsets, len)?;
                    decode_elements(&field.element, child, len, true, reader)?;
                    offsets.push(next);
                }
                _ => unreachable!("sequence field has a list column"),
            }
            Ok(())
        }
    }
}

macro_rules! bulk {
    ($values:expr, $reader:expr, $n:expr, $t:ty) => {{
        const SIZE: usize = std::mem::size_of::<$t>();
        let bytes = $reader.take_aligned($n * SIZE, SIZE)?;
        let chunks = bytes.chunks_exact(SIZE);
        if $reader.little_endian {
            $values.extend(chunks.map(|c| <$t>::from_le_bytes(c.try_into().expect("exact chunk"))));
        } else {
            $values.extend(chunks.map(|c| <$t>::from_be_bytes(c.try_into().expect("exact chunk"))));
        }
    }};
}

fn decode_elements(
    element: &Element,
    column: &mut Column,
    n: usize,
    indexed: bool,
    reader: &mut CdrReader,
) -> Result<(), CodecError> {
    if n.saturating_mul(min_wire_size(element)) > reader.remaining() {
        return Err(CodecError::malformed(
            "",
            format!(
                "{n} elements cannot fit in the {} bytes left",
                reader.remaining()
            ),
        ));
    }
    match (element, column) {
        (Element::Primitive(_), Column::UInt8(v)) => {
            let bytes = reader.take_aligned(n, 1)?;
            v.extend(bytes, reader)
        }
        (Element::Primitive(_), Column::Int8(v)) => {
            v.extend(reader.take_aligned(n, 1)?.iter().map(|&b| b as i8))
        }
        (Element::Primitive(_), Column::Bool(v)) => {
            v.extend(reader.take_aligned(n, 1)?.iter().map(|&b| b != 0))
        }
        (Element::Primitive(_), Column::Int16(v)) => bulk!(v, reader, n, i16),
        (Element::Primitive(_), Column::UInt16(v)) => bulk!(v, reader, n, u16),
        (Element::Primitive(_), Column::Int32(v)) => bulk!(v, reader, n, i32),
        (Element::Primitive(_), Column::UInt32(v)) => bulk!(v, reader, n, u32),
        (Element::Primitive(_), Column::Int64(v)) => bulk!(v, reader, n, i64),
        (Element::Primitive(_), Column::UInt64(v)) => bulk!(v, reader, n, u64),
        (Element::Primitive(_), Column::Float32(v)) => bulk!(v, reader, n, f32),
        (Element::Primitive(_), Column::Float64(v)) => bulk!(v, reader, n, f64),
        (Element::String { bound }, Column::Utf8 { offsets, data }) => {
            let strings = Strings { offsets, data };
            strings.decode(n, indexed, reader, |reader| decode_string(reader, *bound))?
        }
        (Element::WString { bound }, Column::Utf8 { offsets, data }) => {
            let strings = Strings { offsets, data };
            strings.decode(n, indexed, reader, |reader| {
                decode_wstring_text(reader, *bound)
            })?
        }
        (Element::Message(_), Column::Struct(s)) => {
            for i in 0..n {
                s.decode_one(reader).map_err(|e| e.at_index(i, indexed))?;
            }
        }
        _ => unreachable!("column built for this element"),
    }
    Ok(())
}

/// A string column being filled: offsets and UTF-8 bytes.
struct Strings<'a> {
    offsets: &'a mut Vec<i32>,
    data: &'a mut Vec<u8>,
}

impl Strings<'_> {
    /// `n` strings, each read by `one` (its UTF-8 bytes), errors naming
    /// the index of an array's element.
    fn decode<'r>(
        self,
        n: usize,
        indexed: bool,
        reader: &mut CdrReader<'r>,
        mut one: impl FnMut(&mut CdrReader<'r>) -> Result<std::borrow::Cow<'r, [u8]>, CodecError>,
    ) -> Result<(), CodecError> {
        for i in 0..n {
            let text = one(reader).map_err(|e| e.at_index(i, indexed))?;
            self.data.extend_from_slice(&text);
            let end = i32::try_from(self.data.len())
                .map_err(|_| CodecError::malformed("", "more than 2 GiB of strings".into()))?;
            self.offsets.push(end);
        }
        Ok(())
    }
}

/// A CDR string: its length counts the terminating NUL (0 is tolerated
/// as "").
fn decode_string<'r>(
    reader: &mut CdrReader<'r>,
    bound: Option<usize>,
) -> Result<std::borrow::Cow<'r, [u8]>, CodecError> {
    let len = reader.read_length(1)?;
    let bytes = reader.take_aligned(len, 1)?;
    let text = match bytes.split_last() {
        Some((0, text)) => text,
        Some(_) => {
            return Err(CodecError::malformed(
                "",
                "string is not NUL-terminated".to_string(),
            ));
        }
        None => &[],
    };
    check_string_bound(bound, text.len())?;
    Ok(std::borrow::Cow::Borrowed(text))
}

/// A CDR wstring (UTF-16 code units), as UTF-8.
fn decode_wstring_text<'r>(
    reader: &mut CdrReader<'r>,
    bound: Option<usize>,
) -> Result<std::borrow::Cow<'r, [u8]>, CodecError> {
    let units = decode_wstring(reader)?;
    check_string_bound(bound, units.len())?;
    let text = String::from_utf16(&units)
        .map_err(|_| CodecError::malformed("", "wstring is not valid UTF-16".to_string()))?;
    Ok(std::borrow::Cow::Owned(text.into_bytes()))
}

fn check_string_bound(bound: Option<usize>, len: usize) -> Result<(), CodecError> {
    match bound {
        Some(b) if len > b => Err(CodecError::malformed(
            "",
            format!("string of {len} characters exceeds its bound of {b}"),
        )),
        _ => Ok(()),
    }
}

/// ROS `wstring` on the wire (Fast CDR's `std::wstring`): a u32 count of
/// UTF-16 code units, then each unit widened to a u32, no terminator.
fn decode_wstring(reader: &mut CdrReader) -> Result<Vec<u16>, CodecError> {
    let len = reader.read_length(4)?;
    let mut units = Vec::with_capacity(len);
    for _ in 0..len {
        let unit = reader.read_u32()?;
        units.push(u16::try_from(unit).map_err(|_| {
            CodecError::malformed("", format!("wstring unit {unit:#x} is not UTF-16"))
        })?);
    }
    Ok(units)
}
