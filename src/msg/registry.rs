//! Finds and caches message definitions, with their nested types.

use super::type_description::msg_text_from_type_description;
use super::{BaseType, MessageDef, TypeName, parse_message_definition};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

#[derive(Debug, thiserror::Error)]
pub enum TypeResolveError {
    #[error(
        "unknown ROS type `{name}`: {hint}no {file} under any prefix of AMENT_PREFIX_PATH ({prefixes}); \
         is the package installed and its setup file sourced?"
    )]
    NotFound {
        name: String,
        file: String,
        prefixes: String,
        /// `did you mean `pkg/msg/Other`? `, or empty.
        hint: String,
    },
    #[error("malformed definition of `{name}` in {source_desc}: {message}")]
    Malformed {
        name: String,
        source_desc: String,
        message: String,
    },
    #[error("cannot read {path}: {err}")]
    Io { path: PathBuf, err: std::io::Error },
    #[error("`{name}` (used by `{parent}`): {inner}")]
    Nested {
        name: String,
        parent: String,
        inner: Box<TypeResolveError>,
    },
    #[error("`{0}` contains itself")]
    Recursive(String),
}

/// All message definitions the bridge knows, looked up by name.
///
/// Definitions come from `.msg` files under the ROS prefixes, found on first
/// use, or are added from text (e.g. a bag's embedded schema). Thread-safe.
pub struct TypeRegistry {
    prefixes: Vec<PathBuf>,
    defs: RwLock<HashMap<TypeName, Arc<MessageDef>>>,
}

impl TypeRegistry {
    /// A registry reading the packages under `AMENT_PREFIX_PATH`.
    pub fn from_environment() -> Self {
        let prefixes = std::env::var_os("AMENT_PREFIX_PATH")
            .map(|v| std::env::split_paths(&v).collect())
            .unwrap_or_default();
        Self::with_prefixes(prefixes)
    }

    pub fn with_prefixes(prefixes: Vec<PathBuf>) -> Self {
        TypeRegistry {
            prefixes,
            defs: RwLock::new(HashMap::new()),
        }
    }

    pub fn prefixes(&self) -> &[PathBuf] {
        &self.prefixes
    }

    /// The definition of `name`, after making sure every type it nests is
    /// resolvable too.
    pub fn resolve(&self, name: &TypeName) -> Result<Arc<MessageDef>, TypeResolveError> {
        let def = self.load(name)?;
        self.check_nested(&def, &mut vec![name.clone()])?;
        Ok(def)
    }

    /// The definition of `name`; nested types must already be resolvable.
    /// Used by the codec, which only sees names that [`Self::resolve`] checked.
    pub fn get(&self, name: &TypeName) -> Result<Arc<MessageDef>, TypeResolveError> {
        self.load(name)
    }

    /// Adds definitions from text, such as the schema text rosbag2 stores in
    /// MCAP files: the root type's `.msg` text, then for each dependency a
    /// line of `=` signs, a `MSG: pkg/Type` line and its `.msg` text.
    /// Definitions given this way take precedence over installed ones.
    pub fn add_concatenated(&self, root: &TypeName, text: &str) -> Result<(), TypeResolveError> {
        let mut current = root.clone();
        let mut body = String::new();
        let mut parsed = Vec::new();
        for line in text.lines() {
            if line.len() >= 10 && line.chars().all(|c| c == '=') {
                parsed.push((current.clone(), std::mem::take(&mut body)));
                continue;
            }
            if let Some(name) = line.strip_prefix("MSG: ") {
                current = TypeName::parse(name.trim()).map_err(|message| {
                    TypeResolveError::Malformed {
                        name: root.to_string(),
                        source_desc: "embedded definition".into(),
                        message: message.to_string(),
                    }
                })?;
                continue;
            }
            body.push_str(line);
            body.push('\n');
        }
        parsed.push((current, body));
        let mut defs = self.defs.write().expect("registry lock poisoned");
        for (name, body) in parsed {
            let def = parse_message_definition(&name, &body).map_err(|message| {
                TypeResolveError::Malformed {
                    name: name.to_string(),
                    source_desc: "embedded definition".into(),
                    message,
                }
            })?;
            defs.insert(name, Arc::new(def));
        }
        Ok(())
    }

    /// The definition of `name` and every type it nests, in rosbag2's
    /// `ros2msg` form (what [`Self::add_concatenated`] reads back): the
    /// installed `.msg` text where there is one, else text rebuilt from the
    /// parsed definition.
    pub fn concatenated_definition(&self, root: &TypeName) -> Result<String, TypeResolveError> {
        let mut order: Vec<TypeName> = Vec::new();
        let mut pending = vec![root.clone()];
        while let Some(name) = pending.pop() {
            if order.contains(&name) {
                continue;
            }
            let def = self.resolve(&name)?;
            for field in def.fields.iter().rev() {
                if let BaseType::Message(child) = &field.ty.base {
                    pending.push(child.clone());
                }
            }
            order.push(name);
        }
        let separator = "=".repeat(80);
        let mut out = String::new();
        for (i, name) in order.iter().enumerate() {
            if i > 0 {
                out.push_str(&format!(
                    "{separator}\nMSG: {}/{}\n",
                    name.package, name.name
                ));
            }
            let text = match self.installed_text(name) {
                Ok((text, _)) => text,
                Err(_) => rebuild_text(&*self.get(name)?),
            };
            out.push_str(text.trim_end());
            out.push('\n');
        }
        Ok(out)
    }

    /// The installed definition text of `name` and the file it is in: a
    /// `.msg` file, or what a `.srv` or `.action` file implies (see
    /// [`Implied`]).
    fn installed_text(&self, name: &TypeName) -> Result<(String, PathBuf), TypeResolveError> {
        let implied = Implied::of(name);
        let file = match &implied {
            Some((base, _)) => format!("{base}.{}", name.kind),
            None => format!("{}.msg", name.name),
        };
        let relative = Path::new("share")
            .join(&name.package)
            .join(&name.kind)
            .join(file);
        let path = match self.find(&relative, name) {
            Ok(path) => path,
            Err(not_found) if implied.is_none() => {
                return self.described_text(name).unwrap_or(Err(not_found));
            }
            Err(not_found) => return Err(not_found),
        };
        match implied {
            Some((base, Implied::Generated(text))) => Ok((
                text.replace("{base}", &format!("{}/{}/{base}", name.package, name.kind)),
                path,
            )),
            Some((_, Implied::Section(section))) => {
                let text = std::fs::read_to_string(&path).map_err(|err| TypeResolveError::Io {
                    path: path.clone(),
                    err,
                })?;
                Ok((nth_section(&text, section).to_string(), path))
            }
            None => {
                let text = std::fs::read_to_string(&path).map_err(|err| TypeResolveError::Io {
                    path: path.clone(),
                    err,
                })?;
                Ok((text, path))
            }
        }
    }

    /// A type installed without a `.msg` file (only `.idl`, as Kilted's keyed
    /// types): its `.json` type description, as `.msg` text.
    fn described_text(
        &self,
        name: &TypeName,
    ) -> Option<Result<(String, PathBuf), TypeResolveError>> {
        let relative = Path::new("share")
            .join(&name.package)
            .join(&name.kind)
            .join(format!("{}.json", name.name));
        let path = self.find(&relative, name).ok()?;
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) => return Some(Err(TypeResolveError::Io { path, err })),
        };
        Some(
            msg_text_from_type_description(&text, &name.to_string())
                .map(|msg| (msg, path.clone()))
                .map_err(|message| TypeResolveError::Malformed {
                    name: name.to_string(),
                    source_desc: path.display().to_string(),
                    message,
                }),
        )
    }

    fn find(&self, relative: &Path, name: &TypeName) -> Result<PathBuf, TypeResolveError> {
        self.prefixes
            .iter()
            .map(|p| p.join(relative))
            .find(|p| p.is_file())
            .ok_or_else(|| TypeResolveError::NotFound {
                name: name.to_string(),
                hint: self
                    .closest_installed(name)
                    .map(|t| format!("did you mean `{t}`? "))
                    .unwrap_or_default(),
                file: relative.display().to_string(),
                prefixes: if self.prefixes.is_empty() {
                    "AMENT_PREFIX_PATH is empty".to_string()
                } else {
                    self.prefixes
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(":")
                },
            })
    }

    /// The installed type of the same kind whose name is closest to
    /// `name`'s, if one is close enough to be what was meant.
    fn closest_installed(&self, name: &TypeName) -> Option<String> {
        let mut installed = Vec::new();
        for share in self.prefixes.iter().map(|p| p.join("share")) {
            for package in std::fs::read_dir(share).into_iter().flatten().flatten() {
                let dir = package.path().join(&name.kind);
                for file in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                    let file = file.file_name().to_string_lossy().into_owned();
                    if let Some(type_name) = file.strip_suffix(&format!(".{}", name.kind)) {
                        installed.push(format!(
                            "{}/{}/{type_name}",
                            package.file_name().to_string_lossy(),
                            name.kind
                        ));
                    }
                }
            }
        }
        let wanted = name.to_string();
        crate::suggest::did_you_mean(&wanted, installed.iter().map(String::as_str))
            .map(str::to_string)
    }

    fn load(&self, name: &TypeName) -> Result<Arc<MessageDef>, TypeResolveError> {
        if let Some(def) = self.defs.read().expect("registry lock poisoned").get(name) {
            return Ok(def.clone());
        }
        let (text, path) = self.installed_text(name)?;
        let def = parse_message_definition(name, &text).map_err(|message| {
            TypeResolveError::Malformed {
                name: name.to_string(),
                source_desc: path.display().to_string(),
                message,
            }
        })?;
        let def = Arc::new(def);
        self.defs
            .write()
            .expect("registry lock poisoned")
            .insert(name.clone(), def.clone());
        Ok(def)
    }

    fn check_nested(
        &self,
        def: &MessageDef,
        stack: &mut Vec<TypeName>,
    ) -> Result<(), TypeResolveError> {
        for field in &def.fields {
            if let BaseType::Message(child) = &field.ty.base {
                if stack.contains(child) {
                    return Err(TypeResolveError::Recursive(child.to_string()));
                }
                let child_def = self.load(child).map_err(|inner| TypeResolveError::Nested {
                    name: child.to_string(),
                    parent: def.name.to_string(),
                    inner: Box::new(inner),
                })?;
                stack.push(child.clone());
                self.check_nested(&child_def, stack)?;
                stack.pop();
            }
        }
        Ok(())
    }
}

/// A type a `.srv` or `.action` file implies, rather than a `.msg` file.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Implied {
    /// Section N of the file, between `---` lines: a service's request (0)
    /// and response (1); an action's goal (0), result (1), feedback (2).
    Section(usize),
    /// A type rcl_action defines around an action's own ones; `{base}`
    /// stands for `pkg/action/<Action>`.
    Generated(&'static str),
}

/// The action types rcl_action builds from an action's goal, result and
/// feedback (what `ros2 interface show` lists under an action).
const ACTION_GENERATED: &[(&str, &str)] = &[
    (
        "_SendGoal_Request",
        "unique_identifier_msgs/UUID goal_id\n{base}_Goal goal\n",
    ),
    (
        "_SendGoal_Response",
        "bool accepted\nbuiltin_interfaces/Time stamp\n",
    ),
    (
        "_GetResult_Request",
        "unique_identifier_msgs/UUID goal_id\n",
    ),
    ("_GetResult_Response", "int8 status\n{base}_Result result\n"),
    (
        "_FeedbackMessage",
        "unique_identifier_msgs/UUID goal_id\n{base}_Feedback feedback\n",
    ),
];

/// The type a service's introspection publishes on `<service>/_service_event`
/// (`ros2 bag record --all-services` records it); `{base}` stands for
/// `pkg/srv/<Service>`.
const SERVICE_EVENT: &str = "service_msgs/ServiceEventInfo info\n{base}_Request[<=1] request\n{base}_Response[<=1] response\n";

impl Implied {
    /// `AddTwoInts_Request` (srv) -> (`AddTwoInts`, section 1), and the
    /// like; None for a plain message type.
    fn of(name: &TypeName) -> Option<(String, Implied)> {
        let suffixes: &[(&str, Implied)] = match name.kind.as_str() {
            "srv" => &[
                ("_Request", Implied::Section(0)),
                ("_Response", Implied::Section(1)),
            ],
            "action" => &[
                ("_Goal", Implied::Section(0)),
                ("_Result", Implied::Section(1)),
                ("_Feedback", Implied::Section(2)),
            ],
            _ => return None,
        };
        if name.kind == "srv"
            && let Some(base) = name.name.strip_suffix("_Event")
        {
            return Some((base.to_string(), Implied::Generated(SERVICE_EVENT)));
        }
        // The generated names end in the section names too (`_SendGoal_Request`):
        // try them first.
        if name.kind == "action" {
            for (suffix, text) in ACTION_GENERATED {
                if let Some(base) = name.name.strip_suffix(suffix) {
                    return Some((base.to_string(), Implied::Generated(text)));
                }
            }
        }
        suffixes.iter().find_map(|(suffix, implied)| {
            let base = name.name.strip_suffix(suffix)?;
            Some((base.to_string(), implied.clone()))
        })
    }
}

/// Section `n` of a `.srv` or `.action` file: the text between the
/// `---` lines (empty past the last one).
fn nth_section(text: &str, n: usize) -> &str {
    let mut sections = Vec::new();
    let mut start = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.trim() == "---" {
            sections.push(&text[start..offset]);
            start = offset + line.len();
        }
        offset += line.len();
    }
    sections.push(&text[start..]);
    sections.get(n).copied().unwrap_or("")
}

/// `.msg` text for a definition that has no file (embedded in a bag).
fn rebuild_text(def: &MessageDef) -> String {
    let mut text = String::new();
    for c in &def.constants {
        text.push_str(&format!("{} {}={}\n", c.ty, c.name, c.value));
    }
    for f in &def.fields {
        match &f.default {
            Some(d) => text.push_str(&format!("{} {} {}\n", f.ty, f.name, d)),
            None => text.push_str(&format!("{} {}\n", f.ty, f.name)),
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_definitions_resolve_without_installation() {
        let registry = TypeRegistry::with_prefixes(vec![]);
        let root = TypeName::msg("geometry_msgs", "PointStamped");
        let text = "std_msgs/Header header\nPoint point\n\
                    ================================================================================\n\
                    MSG: std_msgs/Header\nbuiltin_interfaces/Time stamp\nstring frame_id\n\
                    ================================================================================\n\
                    MSG: builtin_interfaces/Time\nint32 sec\nuint32 nanosec\n\
                    ================================================================================\n\
                    MSG: geometry_msgs/Point\nfloat64 x\nfloat64 y\nfloat64 z\n";
        registry.add_concatenated(&root, text).unwrap();
        let def = registry.resolve(&root).unwrap();
        assert_eq!(def.fields.len(), 2);
        let missing = registry
            .resolve(&TypeName::msg("nope_msgs", "Nope"))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("nope_msgs/msg/Nope"), "{missing}");
        // Written back out, it reads in again to the same definitions.
        let text = registry.concatenated_definition(&root).unwrap();
        let again = TypeRegistry::with_prefixes(vec![]);
        again.add_concatenated(&root, &text).unwrap();
        assert_eq!(*again.resolve(&root).unwrap(), *def);
        assert!(text.contains("MSG: builtin_interfaces/Time"), "{text}");
    }

    #[test]
    fn action_types_come_from_the_action_file_and_rcl_actions_wrappers() {
        let dir = tempfile::tempdir().unwrap();
        let share = dir.path().join("share");
        let action = share.join("demo_actions/action");
        std::fs::create_dir_all(&action).unwrap();
        std::fs::write(
            action.join("Count.action"),
            "int32 to\n---\nint32 reached\n---\nint32 now\nstring note\n",
        )
        .unwrap();
        let uuid = share.join("unique_identifier_msgs/msg");
        std::fs::create_dir_all(&uuid).unwrap();
        std::fs::write(uuid.join("UUID.msg"), "uint8[16] uuid\n").unwrap();
        let time = share.join("builtin_interfaces/msg");
        std::fs::create_dir_all(&time).unwrap();
        std::fs::write(time.join("Time.msg"), "int32 sec\nuint32 nanosec\n").unwrap();
        let registry = TypeRegistry::with_prefixes(vec![dir.path().to_path_buf()]);
        let fields = |name: &str| -> Vec<String> {
            let def = registry.resolve(&TypeName::parse(name).unwrap()).unwrap();
            def.fields.iter().map(|f| f.name.clone()).collect()
        };
        assert_eq!(fields("demo_actions/action/Count_Goal"), ["to"]);
        assert_eq!(fields("demo_actions/action/Count_Result"), ["reached"]);
        assert_eq!(
            fields("demo_actions/action/Count_Feedback"),
            ["now", "note"]
        );
        assert_eq!(
            fields("demo_actions/action/Count_SendGoal_Request"),
            ["goal_id", "goal"]
        );
        assert_eq!(
            fields("demo_actions/action/Count_SendGoal_Response"),
            ["accepted", "stamp"]
        );
        assert_eq!(
            fields("demo_actions/action/Count_GetResult_Request"),
            ["goal_id"]
        );
        assert_eq!(
            fields("demo_actions/action/Count_GetResult_Response"),
            ["status", "result"]
        );
        assert_eq!(
            fields("demo_actions/action/Count_FeedbackMessage"),
            ["goal_id", "feedback"]
        );
    }

    #[test]
    fn service_halves_come_from_the_srv_file() {
        let dir = tempfile::tempdir().unwrap();
        let srv = dir.path().join("share/demo_srvs/srv");
        std::fs::create_dir_all(&srv).unwrap();
        std::fs::write(
            srv.join("AddTwo.srv"),
            "# adds\nint64 a\nint64 b\n---\nint64 sum\n",
        )
        .unwrap();
        std::fs::write(srv.join("Ping.srv"), "---\n").unwrap();
        let registry = TypeRegistry::with_prefixes(vec![dir.path().to_path_buf()]);
        let service = TypeName::parse("demo_srvs/srv/AddTwo").unwrap();
        let request = registry.resolve(&service.request()).unwrap();
        let names: Vec<&str> = request.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        let response = registry.resolve(&service.response()).unwrap();
        assert_eq!(response.fields.len(), 1);
        assert_eq!(response.fields[0].name, "sum");
        let ping = TypeName::parse("demo_srvs/srv/Ping").unwrap();
        assert!(registry.resolve(&ping.request()).unwrap().fields.is_empty());
        let missing = registry.resolve(&TypeName::parse("demo_srvs/srv/Nope").unwrap().request());
        assert!(missing.unwrap_err().to_string().contains("Nope.srv"));
    }

    #[test]
    fn a_service_event_wraps_the_request_and_response_as_introspection_does() {
        let dir = tempfile::tempdir().unwrap();
        let write = |relative: &str, text: &str| {
            let path = dir.path().join("share").join(relative);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write(
            "demo_srvs/srv/AddTwo.srv",
            "int64 a\nint64 b\n---\nint64 sum\n",
        );
        write(
            "service_msgs/msg/ServiceEventInfo.msg",
            "uint8 event_type\nbuiltin_interfaces/Time stamp\nchar[16] client_gid\nint64 sequence_number\n",
        );
        write(
            "builtin_interfaces/msg/Time.msg",
            "int32 sec\nuint32 nanosec\n",
        );
        let registry = TypeRegistry::with_prefixes(vec![dir.path().to_path_buf()]);
        let event = registry
            .resolve(&TypeName::parse("demo_srvs/srv/AddTwo_Event").unwrap())
            .unwrap();
        let fields: Vec<String> = event
            .fields
            .iter()
            .map(|f| format!("{} {:?}", f.name, f.ty.base))
            .collect();
        assert_eq!(fields.len(), 3, "{fields:?}");
        assert!(fields[0].starts_with("info") && fields[0].contains("ServiceEventInfo"));
        assert!(fields[1].starts_with("request") && fields[1].contains("AddTwo_Request"));
        assert!(fields[2].starts_with("response") && fields[2].contains("AddTwo_Response"));
    }
}
