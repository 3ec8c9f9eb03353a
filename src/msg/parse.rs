//! Parser for the `.msg` interface definition language.

use super::{ArrayKind, BaseType, Constant, Field, FieldType, MessageDef, Primitive, TypeName};

/// Parses one `.msg` definition. `name` is the type being defined: relative
/// type references (`Point`) resolve to its package, `Header` to `std_msgs`.
/// Errors carry the 1-based line number.
pub fn parse_message_definition(name: &TypeName, text: &str) -> Result<MessageDef, String> {
    let mut def = MessageDef {
        name: name.clone(),
        fields: Vec::new(),
        constants: Vec::new(),
    };
    for (index, raw_line) in text.lines().enumerate() {
        let line = strip_comment(raw_line).trim();
        if line.is_empty() {
            continue;
        }
        parse_line(name, line, &mut def)
            .map_err(|e| format!("line {}: {e}: `{}`", index + 1, raw_line.trim()))?;
    }
    let mut seen = std::collections::HashSet::new();
    for field in &def.fields {
        if !seen.insert(field.name.as_str()) {
            return Err(format!("field `{}` is defined twice", field.name));
        }
    }
    Ok(def)
}

/// Drops a `#` comment, keeping `#` inside quoted string values.
fn strip_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match (quote, c) {
            (Some(_), '\\') => escaped = true,
            (Some(q), c) if c == q => quote = None,
            (None, '"' | '\'') => quote = Some(c),
            (None, '#') => return &line[..i],
            _ => {}
        }
    }
    line
}

fn parse_line(owner: &TypeName, line: &str, def: &mut MessageDef) -> Result<(), String> {
    let (type_text, rest) = line
        .split_once(char::is_whitespace)
        .ok_or_else(|| "expected `type name`".to_string())?;
    let ty = parse_field_type(owner, type_text)?;
    let rest = rest.trim();
    if let Some((name, value)) = rest.split_once('=') {
        let name = name.trim();
        check_identifier(name)?;
        if ty.array != ArrayKind::Single || matches!(ty.base, BaseType::Message(_)) {
            return Err("constants must be primitives or strings".into());
        }
        def.constants.push(Constant {
            name: name.to_string(),
            ty,
            value: unquote(value.trim()),
        });
        return Ok(());
    }
    let (name, default) = match rest.split_once(char::is_whitespace) {
        Some((name, default)) => (name, Some(default.trim().to_string())),
        None => (rest, None),
    };
    check_identifier(name)?;
    if default.is_some() && matches!(ty.base, BaseType::Message(_)) {
        return Err("nested message fields cannot have default values".into());
    }
    def.fields.push(Field {
        name: name.to_string(),
        ty,
        default,
    });
    Ok(())
}

fn check_identifier(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let ok = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!("`{name}` is not a valid field or constant name"))
    }
}

fn unquote(value: &str) -> String {
    let bytes = value.as_bytes();
    if bytes.len() >= 2
        && (bytes[0] == b'"' || bytes[0] == b'\'')
        && bytes[bytes.len() - 1] == bytes[0]
    {
        value[1..value.len() - 1].to_string()
    } else {
        value.to_string()
    }
}

fn parse_usize(text: &str, what: &str) -> Result<usize, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a valid {what}"))
}

pub(crate) fn parse_field_type(owner: &TypeName, text: &str) -> Result<FieldType, String> {
    let (base_text, array) = match text.find('[') {
        None => (text, ArrayKind::Single),
        Some(open) => {
            let inner = text[open + 1..]
                .strip_suffix(']')
                .ok_or_else(|| format!("unterminated array type `{text}`"))?;
            let array = if inner.is_empty() {
                ArrayKind::Unbounded
            } else if let Some(bound) = inner.strip_prefix("<=") {
                ArrayKind::Bounded(parse_usize(bound, "array bound")?)
            } else {
                ArrayKind::Fixed(parse_usize(inner, "array size")?)
            };
            (&text[..open], array)
        }
    };
    let base = if let Some(p) = Primitive::from_ros_name(base_text) {
        BaseType::Primitive(p)
    } else if base_text == "string" {
        BaseType::String { bound: None }
    } else if base_text == "wstring" {
        BaseType::WString { bound: None }
    } else if let Some(bound) = base_text.strip_prefix("string<=") {
        BaseType::String {
            bound: Some(parse_usize(bound, "string bound")?),
        }
    } else if let Some(bound) = base_text.strip_prefix("wstring<=") {
        BaseType::WString {
            bound: Some(parse_usize(bound, "string bound")?),
        }
    } else if base_text == "Header" {
        BaseType::Message(TypeName::msg("std_msgs", "Header"))
    } else if base_text.contains('/') {
        BaseType::Message(TypeName::parse(base_text).map_err(|e| e.to_string())?)
    } else if base_text
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_uppercase())
        && base_text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        BaseType::Message(TypeName::msg(&owner.package, base_text))
    } else {
        return Err(format!("unknown type `{base_text}`"));
    };
    Ok(FieldType { base, array })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> MessageDef {
        parse_message_definition(&TypeName::msg("pkg", "T"), text).unwrap()
    }

    #[test]
    fn fields_arrays_bounds_defaults_constants() {
        let def = parse(
            "# comment\n\
             Header header\n\
             uint8 RED=1 # a constant\n\
             string GREETING=\"hi # not a comment\"\n\
             float64[9] covariance\n\
             int32[] data [1, 2, 3]\n\
             string<=10[<=5] names\n\
             wstring w\n\
             geometry_msgs/Point p\n\
             Other o\n\
             bool flag true\n",
        );
        assert_eq!(def.constants.len(), 2);
        assert_eq!(def.constants[1].value, "hi # not a comment");
        let names: Vec<_> = def.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "header",
                "covariance",
                "data",
                "names",
                "w",
                "p",
                "o",
                "flag"
            ]
        );
        assert_eq!(
            def.fields[0].ty.base,
            BaseType::Message(TypeName::msg("std_msgs", "Header"))
        );
        assert_eq!(def.fields[1].ty.array, ArrayKind::Fixed(9));
        assert_eq!(def.fields[2].default.as_deref(), Some("[1, 2, 3]"));
        assert_eq!(
            def.fields[3].ty,
            FieldType {
                base: BaseType::String { bound: Some(10) },
                array: ArrayKind::Bounded(5)
            }
        );
        assert_eq!(
            def.fields[6].ty.base,
            BaseType::Message(TypeName::msg("pkg", "Other"))
        );
    }

    #[test]
    fn errors_name_the_line() {
        let err =
            parse_message_definition(&TypeName::msg("p", "T"), "int32 a\nfloat99 b\n").unwrap_err();
        assert!(err.starts_with("line 2:"), "{err}");
        let err =
            parse_message_definition(&TypeName::msg("p", "T"), "int32 a\nint32 a\n").unwrap_err();
        assert!(err.contains("defined twice"), "{err}");
    }
}
