//! The Arrow layout of a ROS message type (see docs/arrow-mapping.md).
//!
//! A [`MessageLayout`] is the registry's definition with nested types
//! resolved and the Arrow field of every ROS field computed once, so the
//! decoder and encoder never look anything up per message.

use crate::msg::{ArrayKind, BaseType, Constant, FieldType, Primitive, TypeName, TypeRegistry};
use arrow::datatypes::{DataType, Field, FieldRef, Fields, Schema};
use std::collections::HashMap;
use std::sync::Arc;

/// Field metadata: the ROS type of the field as written in `.msg` syntax.
pub const META_ROS_TYPE: &str = "ros.type";
/// Field metadata: the bound of a `T[<=N]` sequence.
pub const META_SEQUENCE_BOUND: &str = "ros.sequence_bound";
/// Field metadata: the bound of a `string<=N` / `wstring<=N`.
pub const META_STRING_BOUND: &str = "ros.string_bound";
/// Field metadata: `true` when the strings are ROS `wstring` (UTF-16 on the wire).
pub const META_WSTRING: &str = "ros.wstring";
/// Field metadata: the default value literal from the `.msg` file.
pub const META_DEFAULT: &str = "ros.default";
/// Schema metadata: the message's full type name, `pkg/msg/Type`.
pub const META_TYPE_NAME: &str = "ros.type_name";
/// Schema metadata prefix: `ros.constant.NAME` = `<type> <value>`.
pub const META_CONSTANT_PREFIX: &str = "ros.constant.";

/// How byte sequences and other options map to Arrow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct CodecOptions {
    /// Emit `uint8[]`/`byte[]`/`char[]` sequences as `Binary` instead of `List<UInt8>`.
    pub bytes_as_binary: bool,
    /// `format: cdr`: rows carry the CDR bytes (one `Binary` column `cdr`),
    /// neither decoded nor encoded (see [`super::raw`]).
    pub raw_cdr: bool,
}

#[derive(Debug)]
pub struct MessageLayout {
    pub name: TypeName,
    pub fields: Vec<FieldLayout>,
    pub constants: Vec<Constant>,
    pub arrow_fields: Fields,
}

#[derive(Debug)]
pub struct FieldLayout {
    pub name: String,
    pub element: Element,
    pub array: ArrayKind,
    pub ros_type: FieldType,
    pub default: Option<String>,
    pub arrow: FieldRef,
}

#[derive(Debug)]
pub enum Element {
    Primitive(Primitive),
    String { bound: Option<usize> },
    WString { bound: Option<usize> },
    Message(Arc<MessageLayout>),
}

impl FieldLayout {
    /// A byte sequence that travels as one bulk copy.
    pub fn is_byte_sequence(&self) -> bool {
        matches!(self.element, Element::Primitive(p) if p.is_octet())
            && matches!(self.array, ArrayKind::Bounded(_) | ArrayKind::Unbounded)
    }
}

impl MessageLayout {
    /// Builds the layout of `name` and everything it nests.
    pub fn build(
        registry: &TypeRegistry,
        name: &TypeName,
        options: CodecOptions,
    ) -> Result<Arc<MessageLayout>, crate::msg::TypeResolveError> {
        registry.resolve(name)?;
        let mut cache = HashMap::new();
        Ok(Self::build_cached(registry, name, options, &mut cache))
    }

    fn build_cached(
        registry: &TypeRegistry,
        name: &TypeName,
        options: CodecOptions,
        cache: &mut HashMap<TypeName, Arc<MessageLayout>>,
    ) -> Arc<MessageLayout> {
        if let Some(layout) = cache.get(name) {
            return layout.clone();
        }
        let def = registry
            .get(name)
            .expect("resolve() checked every nested type");
        let fields: Vec<FieldLayout> = def
            .fields
            .iter()
            .map(|f| {
                let element = match &f.ty.base {
                    BaseType::Primitive(p) => Element::Primitive(*p),
                    BaseType::String { bound } => Element::String { bound: *bound },
                    BaseType::WString { bound } => Element::WString { bound: *bound },
                    BaseType::Message(child) => {
                        Element::Message(Self::build_cached(registry, child, options, cache))
                    }
                };
                let arrow = Arc::new(arrow_field(
                    &f.name,
                    &element,
                    &f.ty,
                    f.default.as_deref(),
                    options,
                ));
                FieldLayout {
                    name: f.name.clone(),
                    element,
                    array: f.ty.array,
                    ros_type: f.ty.clone(),
                    default: f.default.clone(),
                    arrow,
                }
            })
            .collect();
        let arrow_fields: Fields = fields.iter().map(|f| f.arrow.clone()).collect();
        let layout = Arc::new(MessageLayout {
            name: name.clone(),
            fields,
            constants: def.constants.clone(),
            arrow_fields,
        });
        cache.insert(name.clone(), layout.clone());
        layout
    }

    /// The Arrow type of one message: a `Struct` of its fields.
    pub fn data_type(&self) -> DataType {
        DataType::Struct(self.arrow_fields.clone())
    }

    /// The Arrow schema of the message, with its type name and constants as
    /// schema metadata.
    pub fn schema(&self) -> Schema {
        let mut metadata = HashMap::new();
        metadata.insert(META_TYPE_NAME.to_string(), self.name.to_string());
        for c in &self.constants {
            metadata.insert(
                format!("{META_CONSTANT_PREFIX}{}", c.name),
                format!("{} {}", c.ty, c.value),
            );
        }
        Schema::new_with_metadata(self.arrow_fields.clone(), metadata)
    }
}

fn element_data_type(element: &Element) -> DataType {
    match element {
        Element::Primitive(p) => primitive_data_type(*p),
        Element::String { .. } | Element::WString { .. } => DataType::Utf8,
        Element::Message(m) => m.data_type(),
    }
}

pub fn primitive_data_type(p: Primitive) -> DataType {
    use Primitive::*;
    match p {
        Bool => DataType::Boolean,
        Byte | Char | UInt8 => DataType::UInt8,
        Int8 => DataType::Int8,
        Int16 => DataType::Int16,
        UInt16 => DataType::UInt16,
        Int32 => DataType::Int32,
        UInt32 => DataType::UInt32,
        Int64 => DataType::Int64,
        UInt64 => DataType::UInt64,
        Float32 => DataType::Float32,
        Float64 => DataType::Float64,
    }
}

/// The item field of list types. Named `item` like pyarrow's, so arrays
/// built in Python compare equal.
pub fn list_item(data_type: DataType) -> FieldRef {
    Arc::new(Field::new("item", data_type, true))
}

fn arrow_field(
    name: &str,
    element: &Element,
    ty: &FieldType,
    default: Option<&str>,
    options: CodecOptions,
) -> Field {
    let mut metadata = HashMap::new();
    metadata.insert(META_ROS_TYPE.to_string(), ty.to_string());
    match element {
        Element::String { bound: Some(n) } => {
            metadata.insert(META_STRING_BOUND.to_string(), n.to_string());
        }
        Element::WString { bound } => {
            metadata.insert(META_WSTRING.to_string(), "true".to_string());
            if let Some(n) = bound {
                metadata.insert(META_STRING_BOUND.to_string(), n.to_string());
            }
        }
        _ => {}
    }
    if let ArrayKind::Bounded(n) = ty.array {
        metadata.insert(META_SEQUENCE_BOUND.to_string(), n.to_string());
    }
    if let Some(d) = default {
        metadata.insert(META_DEFAULT.to_string(), d.to_string());
    }
    let item = element_data_type(element);
    let is_octet = matches!(element, Element::Primitive(p) if p.is_octet());
    let data_type = match ty.array {
        ArrayKind::Single => item,
        ArrayKind::Fixed(n) => DataType::FixedSizeList(list_item(item), n as i32),
        ArrayKind::Bounded(_) | ArrayKind::Unbounded if is_octet && options.bytes_as_binary => {
            DataType::Binary
        }
        ArrayKind::Bounded(_) | ArrayKind::Unbounded => DataType::List(list_item(item)),
    };
    Field::new(name, data_type, false).with_metadata(metadata)
}
