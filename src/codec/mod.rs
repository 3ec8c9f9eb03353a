//! The ROS message <-> Arrow codec: CDR bytes in, a one-row `StructArray`
//! out, and back. The layout is the public contract with dora nodes, written
//! down in docs/arrow-mapping.md.

pub mod action;
mod cdr;
mod decode;
mod defaults;
mod encode;
pub mod raw;
mod schema;
mod synth;
pub mod tf;
mod type_sheet;

pub use schema::{
    CodecOptions, Element, FieldLayout, META_CONSTANT_PREFIX, META_DEFAULT, META_ROS_TYPE,
    META_SEQUENCE_BOUND, META_STRING_BOUND, META_TYPE_NAME, META_WSTRING, MessageLayout,
};

pub use synth::{SequenceLength, synthesize_cdr};
pub use type_sheet::{default_message, type_sheet_ipc};

use crate::msg::{TypeName, TypeRegistry, TypeResolveError};
use arrow::array::{Array, AsArray, StructArray};
use arrow::buffer::Buffer;
use arrow::datatypes::{DataType, Schema};
use std::fmt;
use std::sync::Arc;

/// Why one message could not be decoded or encoded. `path` names the field,
/// e.g. `points[3].x`. An encoded row names every field that does not fit:
/// the first here, the others in `more`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodecError {
    pub kind: CodecErrorKind,
    pub path: String,
    pub message: String,
    pub more: Vec<CodecError>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodecErrorKind {
    /// The CDR bytes are not a valid message of the type.
    Malformed,
    /// The Arrow data does not fit the message type.
    InvalidInput,
}

impl CodecError {
    pub fn malformed(path: &str, message: String) -> Self {
        CodecError {
            kind: CodecErrorKind::Malformed,
            path: path.to_string(),
            message,
            more: Vec::new(),
        }
    }

    pub fn invalid(path: &str, message: String) -> Self {
        CodecError {
            kind: CodecErrorKind::InvalidInput,
            path: path.to_string(),
            message,
            more: Vec::new(),
        }
    }

    pub fn type_mismatch(path: &str, expected: &str, actual: &DataType) -> Self {
        Self::invalid(path, format!("expected {expected}, got {actual}"))
    }

    /// One error of several (in order); None for none.
    pub fn all(mut errors: Vec<CodecError>) -> Option<Self> {
        if errors.is_empty() {
            return None;
        }
        let mut first = errors.remove(0);
        for mut e in errors {
            first.more.push(e.clone_without_more());
            first.more.append(&mut e.more);
        }
        Some(first)
    }

    fn clone_without_more(&self) -> Self {
        CodecError {
            more: Vec::new(),
            ..self.clone()
        }
    }

    /// How many problems this error names.
    pub fn count(&self) -> usize {
        1 + self.more.len()
    }

    /// Prefixes the path with a field name.
    pub fn within(mut self, field: &str) -> Self {
        self.path = match self.path.chars().next() {
            None => field.to_string(),
            Some('[') => format!("{field}{}", self.path),
            Some(_) => format!("{field}.{}", self.path),
        };
        self.more = self.more.into_iter().map(|e| e.within(field)).collect();
        self
    }

    /// Prefixes the path with an element index when `indexed` (the value
    /// is an array element rather than a single field).
    pub fn at_index(mut self, index: usize, indexed: bool) -> Self {
        if indexed {
            self.path = match self.path.chars().next() {
                None | Some('[') => format!("[{index}]{}", self.path),
                Some(_) => format!("[{index}].{}", self.path),
            };
            self.more = self
                .more
                .into_iter()
                .map(|e| e.at_index(index, indexed))
                .collect();
        }
        self
    }

    fn describe_one(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "field `{}`: {}", self.path, self.message)
        }
    }
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.more.is_empty() {
            write!(f, "{} fields do not fit: ", self.count())?;
        }
        self.describe_one(f)?;
        for other in &self.more {
            write!(f, "; ")?;
            other.describe_one(f)?;
        }
        Ok(())
    }
}

impl std::error::Error for CodecError {}

/// Decoder and encoder for one message type, built once per route.
#[derive(Debug, Clone)]
pub struct MessageCodec {
    layout: Arc<MessageLayout>,
    /// `format: cdr`: the bytes as they are.
    raw_cdr: bool,
}

impl MessageCodec {
    pub fn new(
        registry: &TypeRegistry,
        name: &TypeName,
        options: CodecOptions,
    ) -> Result<Self, TypeResolveError> {
        Ok(MessageCodec {
            layout: MessageLayout::build(registry, name, options)?,
            raw_cdr: options.raw_cdr,
        })
    }

    pub fn type_name(&self) -> &TypeName {
        &self.layout.name
    }

    pub fn layout(&self) -> &Arc<MessageLayout> {
        &self.layout
    }

    pub fn data_type(&self) -> DataType {
        match self.raw_cdr {
            true => DataType::Struct(raw::fields()),
            false => self.layout.data_type(),
        }
    }

    pub fn schema(&self) -> Schema {
        match self.raw_cdr {
            true => Schema::new(raw::fields()),
            false => self.layout.schema(),
        }
    }

    /// CDR (with its 4-byte encapsulation header) -> one-row `StructArray`.
    pub fn decode(&self, cdr: &[u8]) -> Result<StructArray, CodecError> {
        match self.raw_cdr {
            true => Ok(raw::row(cdr)),
            false => decode::decode_message(&self.layout, cdr),
        }
    }

    /// Like [`decode`](Self::decode) for CDR the caller hands over: large
    /// byte arrays share `cdr`'s memory instead of being copied.
    pub fn decode_sharing(&self, cdr: &Buffer) -> Result<StructArray, CodecError> {
        match self.raw_cdr {
            true => Ok(raw::row_sharing(cdr)),
            false => decode::decode_message_sharing(&self.layout, cdr),
        }
    }

    /// Encodes every row of `messages` (a `StructArray`, one message per
    /// row) into little-endian CDR, one buffer per row.
    pub fn encode_all(&self, messages: &dyn Array) -> Result<Vec<Vec<u8>>, CodecError> {
        let DataType::Struct(_) = messages.data_type() else {
            return Err(CodecError::type_mismatch(
                "",
                &format!("a StructArray of {} messages", self.layout.name),
                messages.data_type(),
            ));
        };
        let structs = messages.as_struct();
        (0..structs.len())
            .map(|row| {
                self.encode_row(structs, row, Vec::new())
                    .map_err(|e| e.at_index(row, structs.len() > 1))
            })
            .collect()
    }

    /// One message given as JSON (fields by name, as the schema has
    /// them), encoded as CDR: arrow's JSON reader does the typing.
    pub fn encode_json(&self, message: &serde_json::Value) -> anyhow::Result<Vec<u8>> {
        use anyhow::Context;
        let schema = Arc::new(self.schema());
        let mut decoder = arrow::json::ReaderBuilder::new(schema).build_decoder()?;
        decoder.serialize(std::slice::from_ref(message))?;
        let batch = decoder.flush()?.context("no row decoded from JSON")?;
        let row = StructArray::from(batch);
        Ok(self.encode_row(&row, 0, Vec::new())?)
    }

    /// Encodes one row into `buffer`, reusing its allocation.
    pub fn encode_row(
        &self,
        messages: &StructArray,
        row: usize,
        buffer: Vec<u8>,
    ) -> Result<Vec<u8>, CodecError> {
        match self.raw_cdr {
            true => raw::bytes_of(messages, row, buffer),
            false => encode::encode_row(&self.layout, messages, row, buffer),
        }
    }
}

/// A readable, indented rendering of a message schema with its metadata,
/// for `ros2-dora-bridge schema`.
pub fn describe_schema(schema: &Schema) -> String {
    use std::fmt::Write;
    fn field_line(out: &mut String, field: &arrow::datatypes::Field, depth: usize) {
        let indent = "  ".repeat(depth);
        let ros = field
            .metadata()
            .iter()
            .filter(|(k, _)| k.as_str() != META_ROS_TYPE)
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>();
        let ros_type = field
            .metadata()
            .get(META_ROS_TYPE)
            .map(String::as_str)
            .unwrap_or("");
        let _ = write!(
            out,
            "{indent}{}: {}",
            field.name(),
            short_type(field.data_type())
        );
        let _ = write!(out, "  # {ros_type}");
        if !ros.is_empty() {
            let mut ros = ros;
            ros.sort();
            let _ = write!(out, " [{}]", ros.join(", "));
        }
        out.push('\n');
        let mut inner = field.data_type();
        while let DataType::List(item)
        | DataType::LargeList(item)
        | DataType::FixedSizeList(item, _) = inner
        {
            inner = item.data_type();
        }
        if let DataType::Struct(children) = inner {
            for child in children {
                field_line(out, child, depth + 1);
            }
        }
    }
    fn short_type(dt: &DataType) -> String {
        match dt {
            DataType::Struct(_) => "Struct".to_string(),
            DataType::List(item) => format!("List<{}>", short_type(item.data_type())),
            DataType::FixedSizeList(item, n) => {
                format!("FixedSizeList<{}, {n}>", short_type(item.data_type()))
            }
            other => other.to_string(),
        }
    }
    let mut out = String::new();
    let mut metadata: Vec<_> = schema.metadata().iter().collect();
    metadata.sort();
    for (k, v) in metadata {
        let _ = writeln!(out, "# {k}: {v}");
    }
    let _ = writeln!(out, "Struct");
    for field in schema.fields() {
        field_line(&mut out, field, 1);
    }
    out
}
