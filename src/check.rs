//! `ros2-dora-bridge check`: a config against the installed types and,
//! optionally, a dataflow YAML, without starting anything. Returns what it
//! found; the command line prints it.

use crate::config::Config;
use crate::dora_side::{self, delivery};
use crate::msg::{TypeName, TypeRegistry};
use std::path::Path;

/// What `check` found.
#[derive(Debug, Default)]
pub struct Report {
    /// Each makes the config unusable as it is.
    pub problems: Vec<String>,
    /// Each may lose messages or notice failures late.
    pub warnings: Vec<String>,
    /// `1 from_ros, ... route(s), all types resolved`: for a clean report.
    pub summary: String,
}

/// Every configured interface type resolved against `registry`, and with
/// `dataflow`, the bridge node `node` (or the one found) checked in it.
pub fn check(
    config: &Config,
    registry: &TypeRegistry,
    dataflow: Option<&Path>,
    node: Option<&str>,
) -> anyhow::Result<Report> {
    let mut report = Report::default();
    if let Some(path) = dataflow {
        check_dataflow(config, path, node, &mut report)?;
    }
    for route in config.route_table() {
        let Some(name) = route.interface else {
            continue; // learned from the graph
        };
        if let Err(e) = resolve_all(registry, name) {
            report.problems.push(format!("{}.type: {e:#}", route.id));
        }
    }
    let against = dataflow.map_or(String::new(), |p| format!(", matches {}", p.display()));
    let routes = config.route_summary().replacen("bridging ", "", 1);
    report.summary = format!("{routes}, all types resolved{against}");
    Ok(report)
}

/// What the bridge checks before it says anything else: every configured
/// type resolves (a replay's types come from its bag, so not then). The
/// first problem is the error.
pub fn preflight(config: &Config, registry: &TypeRegistry) -> anyhow::Result<()> {
    if config.replay.is_some() {
        return Ok(());
    }
    for route in config.route_table() {
        if let Some(name) = route.interface {
            resolve_all(registry, name).map_err(|e| anyhow::anyhow!("{}.type: {e:#}", route.id))?;
        }
    }
    Ok(())
}

/// A message type, both halves of a service type, or every message an
/// action's protocol carries.
pub fn resolve_all(registry: &TypeRegistry, name: &TypeName) -> anyhow::Result<()> {
    match name.kind.as_str() {
        "srv" => {
            registry.resolve(&name.request())?;
            registry.resolve(&name.response())?;
        }
        "action" => {
            for suffix in [
                "_Goal",
                "_Feedback",
                "_Result",
                "_SendGoal_Request",
                "_SendGoal_Response",
                "_GetResult_Request",
                "_GetResult_Response",
                "_FeedbackMessage",
            ] {
                registry.resolve(&name.suffixed(suffix))?;
            }
        }
        _ => {
            registry.resolve(name)?;
        }
    }
    Ok(())
}

/// The bridge node's undeclared ids (problems); the inputs through which
/// a reliable route can lose messages and the input deadlines dora checks
/// late (warnings).
fn check_dataflow(
    config: &Config,
    path: &Path,
    node: Option<&str>,
    report: &mut Report,
) -> anyhow::Result<()> {
    let dataflow = delivery::read_dataflow(path)?;
    let bridge = delivery::bridge_node(&dataflow, node)?;
    let outputs: Vec<String> = bridge.outputs.iter().map(|o| o.to_string()).collect();
    let inputs: Vec<String> = bridge.inputs.keys().map(|i| i.to_string()).collect();
    let undeclared = dora_side::undeclared(config, bridge.id.as_ref(), &outputs, &inputs);
    report.problems.extend(undeclared);
    let replay = config.replay.is_some();
    let lossy = delivery::lossy_inputs(&dataflow, bridge.id.as_ref(), config, replay);
    report.warnings.extend(lossy.iter().map(|l| l.advice(None)));
    report
        .warnings
        .extend(delivery::coarse_input_deadlines(&dataflow, bridge));
    Ok(())
}
