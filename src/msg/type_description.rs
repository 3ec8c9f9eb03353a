//! Message definitions from the `.json` type descriptions rosidl installs
//! beside each interface (REP 2011), for types that have no `.msg` file.
//!
//! Since Kilted some installed types exist only as `.idl` (test_msgs' keyed
//! types, `@key long key;`); their `.json` type description lists the same
//! fields, so it is turned into the `.msg` text the parser already reads.
//! A `@key` annotation does not change the CDR payload, only the DDS
//! instance, so the codec needs nothing more. Constants are not in a type
//! description and are left out.

use serde::Deserialize;

#[derive(Deserialize)]
struct File {
    type_description_msg: Envelope,
}

#[derive(Deserialize)]
struct Envelope {
    type_description: Description,
}

#[derive(Deserialize)]
struct Description {
    type_name: String,
    fields: Vec<Field>,
}

#[derive(Deserialize)]
struct Field {
    name: String,
    #[serde(rename = "type")]
    field_type: FieldType,
    #[serde(default)]
    default_value: String,
}

#[derive(Deserialize)]
struct FieldType {
    type_id: u8,
    capacity: u64,
    string_capacity: u64,
    nested_type_name: String,
}

/// `type_description_interfaces/msg/FieldType`: a base type id, plus 48 for
/// a fixed array, 96 for a bounded and 144 for an unbounded sequence.
const CONTAINER_STEP: u8 = 48;

/// The `.msg` text of the type described by `json` (the root type of a
/// `share/<pkg>/msg/<Type>.json` file), which must be `expected_name`.
pub fn msg_text_from_type_description(json: &str, expected_name: &str) -> Result<String, String> {
    let file: File =
        serde_json::from_str(json).map_err(|e| format!("not a type description: {e}"))?;
    let description = file.type_description_msg.type_description;
    if description.type_name != expected_name {
        return Err(format!(
            "describes {}, not {expected_name}",
            description.type_name
        ));
    }
    let mut text = String::new();
    for field in &description.fields {
        text.push_str(&field_line(field)?);
        text.push('\n');
    }
    Ok(text)
}

fn field_line(field: &Field) -> Result<String, String> {
    let FieldType {
        type_id,
        capacity,
        string_capacity,
        nested_type_name,
    } = &field.field_type;
    let base = base_type(type_id % CONTAINER_STEP, *string_capacity, nested_type_name).ok_or_else(
        || {
            format!(
                "field `{}`: type id {type_id} has no .msg equivalent",
                field.name
            )
        },
    )?;
    let container = match type_id / CONTAINER_STEP {
        0 => String::new(),
        1 => format!("[{capacity}]"),
        2 => format!("[<={capacity}]"),
        _ => "[]".to_string(),
    };
    let mut line = format!("{base}{container} {}", field.name);
    if !field.default_value.is_empty() {
        line.push(' ');
        line.push_str(&field.default_value);
    }
    Ok(line)
}

fn base_type(id: u8, string_capacity: u64, nested: &str) -> Option<String> {
    let name = match id {
        1 => nested,
        2 => "int8",
        3 => "uint8",
        4 => "int16",
        5 => "uint16",
        6 => "int32",
        7 => "uint32",
        8 => "int64",
        9 => "uint64",
        10 => "float32",
        11 => "float64",
        13 => "char",
        15 => "bool",
        16 => "byte",
        17 => "string",
        18 => "wstring",
        21 => return Some(format!("string<={string_capacity}")),
        22 => return Some(format!("wstring<={string_capacity}")),
        // long double, wchar and fixed-size strings cannot be said in .msg.
        _ => return None,
    };
    Some(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, type_id: u8, capacity: u64, string_capacity: u64, nested: &str) -> String {
        format!(
            r#"{{"name": "{name}", "type": {{"type_id": {type_id}, "capacity": {capacity},
                "string_capacity": {string_capacity}, "nested_type_name": "{nested}"}},
                "default_value": ""}}"#
        )
    }

    fn description(name: &str, fields: &[String]) -> String {
        format!(
            r#"{{"type_description_msg": {{"type_description": {{"type_name": "{name}",
                "fields": [{}]}}, "referenced_type_descriptions": []}}, "type_hashes": []}}"#,
            fields.join(",")
        )
    }

    #[test]
    fn scalars_arrays_sequences_strings_and_nested_types_become_msg_lines() {
        let json = description(
            "pkg/msg/Keyed",
            &[
                field("key", 6, 0, 0, ""),
                field("grid", 11 + 48, 9, 0, ""),
                field("samples", 3 + 96, 5, 0, ""),
                field("names", 21 + 144, 0, 10, ""),
                field("inner", 1, 0, 0, "pkg/msg/Inner"),
            ],
        );
        let text = msg_text_from_type_description(&json, "pkg/msg/Keyed").unwrap();
        assert_eq!(
            text,
            "int32 key\nfloat64[9] grid\nuint8[<=5] samples\nstring<=10[] names\npkg/msg/Inner inner\n"
        );
    }

    #[test]
    fn a_type_msg_cannot_say_or_another_types_file_is_an_error() {
        let json = description("pkg/msg/Wide", &[field("w", 14, 0, 0, "")]);
        assert!(
            msg_text_from_type_description(&json, "pkg/msg/Wide")
                .unwrap_err()
                .contains("field `w`")
        );
        assert!(msg_text_from_type_description(&json, "pkg/msg/Other").is_err());
        assert!(msg_text_from_type_description("{}", "pkg/msg/Wide").is_err());
    }
}
