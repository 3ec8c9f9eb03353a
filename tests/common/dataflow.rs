//! dora dataflow descriptors built from data and written out by
//! serde_yaml, so that paths, JSON in environment variables and input
//! options need no escaping by hand.

use serde_yaml::{Mapping, Value};
use std::path::Path;

#[derive(Default)]
pub struct Dataflow {
    nodes: Vec<Node>,
    health_check_interval: Option<f64>,
}

impl Dataflow {
    pub fn new() -> Self {
        Dataflow::default()
    }

    pub fn node(mut self, node: Node) -> Self {
        self.nodes.push(node);
        self
    }

    /// How often the daemon checks its deadlines, `input_timeout` included
    /// (dora's default is 5 s: a stall shorter than that may go unseen).
    pub fn health_check_interval(mut self, seconds: f64) -> Self {
        self.health_check_interval = Some(seconds);
        self
    }

    pub fn yaml(&self) -> String {
        let nodes: Vec<Value> = self.nodes.iter().map(Node::to_value).collect();
        let mut root = Mapping::new();
        if let Some(seconds) = self.health_check_interval {
            root.insert("health_check_interval".into(), seconds.into());
        }
        root.insert("nodes".into(), Value::Sequence(nodes));
        serde_yaml::to_string(&root).expect("a dataflow serialises")
    }
}

pub struct Node {
    id: String,
    path: String,
    args: Option<String>,
    env: Mapping,
    inputs: Mapping,
    outputs: Vec<String>,
    /// Other keys (`shared_memory_pool_size`, ...).
    extra: Mapping,
}

impl Node {
    pub fn new(id: &str, path: impl AsRef<Path>) -> Self {
        Node {
            id: id.to_string(),
            path: path.as_ref().to_string_lossy().into_owned(),
            args: None,
            env: Mapping::new(),
            inputs: Mapping::new(),
            outputs: Vec::new(),
            extra: Mapping::new(),
        }
    }

    /// The bridge binary under test, with these arguments.
    pub fn bridge(args: &str) -> Self {
        Node::new("bridge", super::bridge_bin()).args(args)
    }

    /// A helper dora node from `tests/python`.
    pub fn python(id: &str, script: &str) -> Self {
        Node::new(id, super::python_script(script))
    }

    pub fn args(mut self, args: &str) -> Self {
        self.args = Some(args.to_string());
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<str>) -> Self {
        self.env.insert(key.into(), value.as_ref().into());
        self
    }

    /// An input with dora's default delivery.
    pub fn input(mut self, id: &str, source: &str) -> Self {
        self.inputs.insert(id.into(), source.into());
        self
    }

    /// An input with its own queue size (dora drops the oldest beyond it).
    pub fn queued_input(self, id: &str, source: &str, queue_size: usize) -> Self {
        self.input_with(id, source, &[("queue_size", (queue_size as u64).into())])
    }

    /// An input that holds its sender back instead of dropping (dora's
    /// `queue_policy: backpressure`).
    pub fn lossless_input(self, id: &str, source: &str, queue_size: usize) -> Self {
        self.input_with(
            id,
            source,
            &[
                ("queue_size", (queue_size as u64).into()),
                ("queue_policy", "backpressure".into()),
            ],
        )
    }

    /// An input with options (`queue_size`, `input_timeout`, ...).
    pub fn input_with(mut self, id: &str, source: &str, options: &[(&str, Value)]) -> Self {
        let mut input = Mapping::new();
        input.insert("source".into(), source.into());
        for (key, value) in options {
            input.insert((*key).into(), value.clone());
        }
        self.inputs.insert(id.into(), Value::Mapping(input));
        self
    }

    pub fn output(mut self, id: &str) -> Self {
        self.outputs.push(id.to_string());
        self
    }

    pub fn outputs<S: AsRef<str>>(mut self, ids: impl IntoIterator<Item = S>) -> Self {
        self.outputs
            .extend(ids.into_iter().map(|s| s.as_ref().to_string()));
        self
    }

    /// Any other key of the node.
    pub fn set(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(key.into(), value.into());
        self
    }

    fn to_value(&self) -> Value {
        let mut node = Mapping::new();
        node.insert("id".into(), self.id.as_str().into());
        node.insert("path".into(), self.path.as_str().into());
        if let Some(args) = &self.args {
            node.insert("args".into(), args.as_str().into());
        }
        if !self.env.is_empty() {
            node.insert("env".into(), Value::Mapping(self.env.clone()));
        }
        if !self.inputs.is_empty() {
            node.insert("inputs".into(), Value::Mapping(self.inputs.clone()));
        }
        if !self.outputs.is_empty() {
            let outputs = self.outputs.iter().map(|o| o.as_str().into()).collect();
            node.insert("outputs".into(), Value::Sequence(outputs));
        }
        for (key, value) in &self.extra {
            node.insert(key.clone(), value.clone());
        }
        Value::Mapping(node)
    }
}
