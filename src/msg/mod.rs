//! ROS 2 interface definitions, resolved at run time.
//!
//! `.msg` text is parsed into [`MessageDef`]s and kept in a [`TypeRegistry`],
//! which finds definitions in the installed ROS packages (`AMENT_PREFIX_PATH`)
//! or accepts them from elsewhere (a bag's embedded schema text). Nothing about
//! message types is compiled into the bridge.

mod parse;
mod registry;
mod type_description;

pub use parse::parse_message_definition;
pub use registry::{TypeRegistry, TypeResolveError};

use std::fmt;

/// A fully qualified interface name such as `sensor_msgs/msg/Image`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TypeName {
    pub package: String,
    /// `msg` for messages; kept so `.srv`/`.action` parts can be named later.
    pub kind: String,
    pub name: String,
}

impl TypeName {
    pub fn msg(package: &str, name: &str) -> Self {
        TypeName {
            package: package.to_string(),
            kind: "msg".to_string(),
            name: name.to_string(),
        }
    }

    /// For a service type `pkg/srv/Name`: its implied request message type,
    /// `pkg/srv/Name_Request` (defined by the first half of the `.srv` file).
    pub fn request(&self) -> TypeName {
        self.suffixed("_Request")
    }

    /// For a service type: `pkg/srv/Name_Response`.
    pub fn response(&self) -> TypeName {
        self.suffixed("_Response")
    }

    /// `pkg/kind/Name<suffix>`, e.g. an action's `_Goal` or `_SendGoal`.
    pub fn suffixed(&self, suffix: &str) -> TypeName {
        TypeName {
            package: self.package.clone(),
            kind: self.kind.clone(),
            name: format!("{}{suffix}", self.name),
        }
    }

    /// The message types a name stands for, each with the part it is:
    /// `[("message", self)]` for a message or a named half/part
    /// (`pkg/srv/X_Request`, `pkg/action/X_Goal`), `request`/`response` for
    /// a service, `goal`/`feedback`/`result` for an action.
    pub fn parts(&self) -> Vec<(&'static str, TypeName)> {
        const SERVICE: [(&str, &str); 2] = [("request", "_Request"), ("response", "_Response")];
        const ACTION: [(&str, &str); 3] = [
            ("goal", "_Goal"),
            ("feedback", "_Feedback"),
            ("result", "_Result"),
        ];
        let halves: &[(&str, &str)] = match self.kind.as_str() {
            "srv" => &SERVICE,
            "action" => &ACTION,
            _ => &[],
        };
        if halves.is_empty() || halves.iter().any(|(_, s)| self.name.ends_with(s)) {
            return vec![("message", self.clone())];
        }
        halves
            .iter()
            .map(|(part, suffix)| (*part, self.suffixed(suffix)))
            .collect()
    }

    /// Accepts `pkg/msg/Type` and the short `pkg/Type`.
    pub fn parse(text: &str) -> Result<Self, TypeNameError> {
        let parts: Vec<&str> = text.split('/').collect();
        let valid =
            |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        match parts.as_slice() {
            [pkg, kind, name] if valid(pkg) && valid(kind) && valid(name) => Ok(TypeName {
                package: pkg.to_string(),
                kind: kind.to_string(),
                name: name.to_string(),
            }),
            [pkg, name] if valid(pkg) && valid(name) => Ok(TypeName::msg(pkg, name)),
            _ => Err(TypeNameError::Malformed {
                text: text.to_string(),
            }),
        }
    }

    /// A name of a service (`pkg/srv/Type`) or an action
    /// (`pkg/action/Type`), as `kind` says.
    pub fn parse_interface(text: &str, kind: InterfaceKind) -> Result<Self, TypeNameError> {
        let name = TypeName::parse(text)?;
        if name.kind != kind.directory() {
            return Err(TypeNameError::WrongKind {
                text: text.to_string(),
                kind,
            });
        }
        Ok(name)
    }
}

/// The interface kinds a route names by type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InterfaceKind {
    Service,
    Action,
}

impl InterfaceKind {
    /// Its directory in a package: `srv`, `action`.
    pub fn directory(self) -> &'static str {
        match self {
            InterfaceKind::Service => "srv",
            InterfaceKind::Action => "action",
        }
    }

    fn article_and_noun(self) -> &'static str {
        match self {
            InterfaceKind::Service => "a service",
            InterfaceKind::Action => "an action",
        }
    }

    fn example(self) -> &'static str {
        match self {
            InterfaceKind::Service => "std_srvs/srv/SetBool",
            InterfaceKind::Action => "test_msgs/action/Fibonacci",
        }
    }
}

/// Why a text is not the type name wanted: the one error of type names,
/// wherever they are read (config, graph, bags, the command line).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TypeNameError {
    #[error(
        "`{text}` is not a ROS type name; expected `package/msg/Type`, e.g. `std_msgs/msg/String`"
    )]
    Malformed { text: String },
    #[error(
        "`{text}` is not {} type; expected `package/{}/Type`, e.g. `{}`",
        kind.article_and_noun(),
        kind.directory(),
        kind.example()
    )]
    WrongKind { text: String, kind: InterfaceKind },
}

impl fmt::Display for TypeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.package, self.kind, self.name)
    }
}

/// Fixed-size ROS primitive types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Primitive {
    Bool,
    Byte,
    Char,
    Int8,
    UInt8,
    Int16,
    UInt16,
    Int32,
    UInt32,
    Int64,
    UInt64,
    Float32,
    Float64,
}

impl Primitive {
    pub fn from_ros_name(name: &str) -> Option<Self> {
        use Primitive::*;
        Some(match name {
            "bool" => Bool,
            "byte" => Byte,
            "char" => Char,
            "int8" => Int8,
            "uint8" => UInt8,
            "int16" => Int16,
            "uint16" => UInt16,
            "int32" => Int32,
            "uint32" => UInt32,
            "int64" => Int64,
            "uint64" => UInt64,
            "float32" => Float32,
            "float64" => Float64,
            _ => return None,
        })
    }

    pub fn ros_name(self) -> &'static str {
        use Primitive::*;
        match self {
            Bool => "bool",
            Byte => "byte",
            Char => "char",
            Int8 => "int8",
            UInt8 => "uint8",
            Int16 => "int16",
            UInt16 => "uint16",
            Int32 => "int32",
            UInt32 => "uint32",
            Int64 => "int64",
            UInt64 => "uint64",
            Float32 => "float32",
            Float64 => "float64",
        }
    }

    /// Size in CDR, which is also its alignment.
    pub fn size(self) -> usize {
        use Primitive::*;
        match self {
            Bool | Byte | Char | Int8 | UInt8 => 1,
            Int16 | UInt16 => 2,
            Int32 | UInt32 | Float32 => 4,
            Int64 | UInt64 | Float64 => 8,
        }
    }

    /// `byte`, `char` and `uint8` share one representation.
    pub fn is_octet(self) -> bool {
        matches!(self, Primitive::Byte | Primitive::Char | Primitive::UInt8)
    }
}

/// The element type of a field, without its array-ness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BaseType {
    Primitive(Primitive),
    String { bound: Option<usize> },
    WString { bound: Option<usize> },
    Message(TypeName),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArrayKind {
    Single,
    Fixed(usize),
    Bounded(usize),
    Unbounded,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldType {
    pub base: BaseType,
    pub array: ArrayKind,
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.base {
            BaseType::Primitive(p) => write!(f, "{}", p.ros_name())?,
            BaseType::String { bound: None } => write!(f, "string")?,
            BaseType::String { bound: Some(n) } => write!(f, "string<={n}")?,
            BaseType::WString { bound: None } => write!(f, "wstring")?,
            BaseType::WString { bound: Some(n) } => write!(f, "wstring<={n}")?,
            BaseType::Message(t) => write!(f, "{}/{}", t.package, t.name)?,
        }
        match self.array {
            ArrayKind::Single => Ok(()),
            ArrayKind::Fixed(n) => write!(f, "[{n}]"),
            ArrayKind::Bounded(n) => write!(f, "[<={n}]"),
            ArrayKind::Unbounded => write!(f, "[]"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub ty: FieldType,
    /// Default value literal as written in the `.msg` file.
    pub default: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Constant {
    pub name: String,
    pub ty: FieldType,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MessageDef {
    pub name: TypeName,
    pub fields: Vec<Field>,
    pub constants: Vec<Constant>,
}
