//! Values for fields a dora node leaves out: the `.msg` default, else zero.

use super::CodecError;
use super::cdr::CdrWriter;
use super::schema::{Element, FieldLayout, MessageLayout};
use crate::msg::{ArrayKind, Primitive};

pub fn write_string(text: &str, w: &mut CdrWriter) -> Result<(), CodecError> {
    if text.as_bytes().contains(&0) {
        return Err(CodecError::invalid(
            "",
            "string contains a NUL byte".to_string(),
        ));
    }
    let len = u32::try_from(text.len() + 1)
        .map_err(|_| CodecError::invalid("", "string longer than 4 GiB".to_string()))?;
    w.write_u32(len);
    w.write_bytes(text.as_bytes());
    w.write_bytes(&[0]);
    Ok(())
}

/// See `decode_wstring` for the wire form.
pub fn write_wstring_units(units: &[u16], w: &mut CdrWriter) -> Result<(), CodecError> {
    let len = u32::try_from(units.len())
        .map_err(|_| CodecError::invalid("", "wstring longer than 4 G units".to_string()))?;
    w.write_u32(len);
    for &u in units {
        w.write_u32(u32::from(u));
    }
    Ok(())
}

pub fn write_default(field: &FieldLayout, w: &mut CdrWriter) -> Result<(), CodecError> {
    let literal_error = |message: String| {
        CodecError::invalid(
            "",
            format!(
                "cannot use the .msg default `{}`: {message}",
                field.default.as_deref().unwrap_or("")
            ),
        )
    };
    let items: Option<Vec<String>> = match (&field.default, field.array) {
        (None, _) => None,
        (Some(text), ArrayKind::Single) => Some(vec![text.clone()]),
        (Some(text), _) => Some(split_list_literal(text).map_err(literal_error)?),
    };
    let count = match (field.array, &items) {
        (ArrayKind::Single, _) => 1,
        (ArrayKind::Fixed(n), _) => n,
        (_, Some(items)) => items.len(),
        (_, None) => 0,
    };
    if matches!(field.array, ArrayKind::Bounded(_) | ArrayKind::Unbounded) {
        w.write_u32(count as u32);
    }
    for i in 0..count {
        let literal = items
            .as_ref()
            .and_then(|items| items.get(i))
            .map(String::as_str);
        write_default_element(&field.element, literal, w).map_err(literal_error)?;
    }
    Ok(())
}

fn write_default_element(
    element: &Element,
    literal: Option<&str>,
    w: &mut CdrWriter,
) -> Result<(), String> {
    match element {
        Element::Primitive(p) => write_primitive_literal(*p, literal.unwrap_or("0"), w),
        Element::String { .. } => {
            write_string(&unquote(literal.unwrap_or("")), w).map_err(|e| e.to_string())
        }
        Element::WString { .. } => {
            let units: Vec<u16> = unquote(literal.unwrap_or("")).encode_utf16().collect();
            write_wstring_units(&units, w).map_err(|e| e.to_string())
        }
        Element::Message(layout) => write_default_message(layout, w).map_err(|e| e.to_string()),
    }
}

fn write_default_message(layout: &MessageLayout, w: &mut CdrWriter) -> Result<(), CodecError> {
    if layout.fields.is_empty() {
        w.write_bytes(&[0]);
    }
    for field in &layout.fields {
        write_default(field, w).map_err(|e| e.within(&field.name))?;
    }
    Ok(())
}

fn write_primitive_literal(p: Primitive, text: &str, w: &mut CdrWriter) -> Result<(), String> {
    let text = text.trim();
    let int = || -> Result<i128, String> {
        let (digits, radix) = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
            Some(hex) => (hex, 16),
            None => (text, 10),
        };
        i128::from_str_radix(digits, radix).map_err(|_| format!("`{text}` is not an integer"))
    };
    macro_rules! put_int {
        ($t:ty) => {{
            let v = <$t>::try_from(int()?).map_err(|_| format!("`{text}` is out of range"))?;
            w.write_scalar(&v.to_le_bytes());
        }};
    }
    match p {
        Primitive::Bool => {
            let v = match text.to_ascii_lowercase().as_str() {
                "true" | "1" => 1u8,
                "false" | "0" => 0u8,
                _ => return Err(format!("`{text}` is not a bool")),
            };
            w.write_bytes(&[v]);
        }
        Primitive::Byte | Primitive::Char | Primitive::UInt8 => put_int!(u8),
        Primitive::Int8 => put_int!(i8),
        Primitive::Int16 => put_int!(i16),
        Primitive::UInt16 => put_int!(u16),
        Primitive::Int32 => put_int!(i32),
        Primitive::UInt32 => put_int!(u32),
        Primitive::Int64 => put_int!(i64),
        Primitive::UInt64 => put_int!(u64),
        Primitive::Float32 => {
            let v: f32 = text
                .parse()
                .map_err(|_| format!("`{text}` is not a number"))?;
            w.write_scalar(&v.to_le_bytes());
        }
        Primitive::Float64 => {
            let v: f64 = text
                .parse()
                .map_err(|_| format!("`{text}` is not a number"))?;
            w.write_scalar(&v.to_le_bytes());
        }
    }
    Ok(())
}

fn unquote(text: &str) -> String {
    let t = text.trim();
    let b = t.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        let inner = &t[1..t.len() - 1];
        let mut out = String::with_capacity(inner.len());
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            } else {
                out.push(c);
            }
        }
        out
    } else {
        t.to_string()
    }
}

/// Splits `[a, "b,c", 'd']` into its items, keeping quotes for `unquote`.
pub fn split_list_literal(text: &str) -> Result<Vec<String>, String> {
    let inner = text
        .trim()
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .ok_or_else(|| "array defaults are written `[a, b, c]`".to_string())?;
    let mut items = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in inner.chars() {
        if escaped {
            current.push(c);
            escaped = false;
            continue;
        }
        match (quote, c) {
            (Some(_), '\\') => {
                current.push(c);
                escaped = true;
            }
            (Some(q), c) if c == q => {
                current.push(c);
                quote = None;
            }
            (None, '"' | '\'') => {
                current.push(c);
                quote = Some(c);
            }
            (None, ',') => items.push(std::mem::take(&mut current).trim().to_string()),
            _ => current.push(c),
        }
    }
    if !current.trim().is_empty() || !items.is_empty() {
        items.push(current.trim().to_string());
    }
    Ok(items)
}
