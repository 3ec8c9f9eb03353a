//! How the bridge reacts to signals, dora's lifecycle events and the
//! liveness of watched ROS nodes.

use super::{Bridge, LATCHED_RESENDS, STOP_REQUEST_TIMEOUT, StopReason, Verdict};
use crate::config::{OnLost, OnSignal, OnWatchedNodesGone};
use crate::lifecycle::liveness::{LivenessReport, NodeState, Transition};
use crate::lifecycle::shutdown;
use arrow::array::{ArrayRef, Int64Array, StringArray, StructArray};
use arrow::datatypes::{DataType, Field};
use dora_node_api::dora_core::config::DataId;
use dora_node_api::{Event, MetadataParameters};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

impl Bridge {
    /// SIGINT/SIGTERM: leave now, or ask dora to stop and wait for it.
    pub(super) fn on_signal(&mut self, name: &'static str) -> Verdict {
        if self.parent.parent_gone() {
            return Some(Ok(StopReason::LauncherExited));
        }
        if self.stop_requested.is_some() {
            tracing::info!("{name} again: already stopping, waiting for dora's Stop");
            return None;
        }
        match self.config.shutdown.on_signal {
            OnSignal::Exit => Some(Ok(StopReason::Signal(name))),
            OnSignal::StopDataflow => {
                tracing::info!("{name}: stopping the dataflow (shutdown.on_signal: stop_dataflow)");
                self.request_stop()
                    .err()
                    .map(|e| Ok(StopReason::SignalStopFailed(name, format!("{e:#}"))))
            }
        }
    }

    pub(super) fn request_stop(&mut self) -> anyhow::Result<()> {
        shutdown::request_dataflow_stop(&self.launcher, &self.dataflow_id)?;
        self.stop_requested = Some(tokio::time::Instant::now() + STOP_REQUEST_TIMEOUT);
        Ok(())
    }

    pub(super) fn on_dora_event(&mut self, event: Event) -> Verdict {
        match event {
            Event::Stop(cause) => return Some(Ok(StopReason::DoraStopped(cause))),
            Event::Input { id, data, metadata } => {
                self.on_dora_input(id, &metadata.parameters, data.into())
            }
            Event::InputClosed { id } => self.on_input_closed(&id),
            Event::NodeFailed {
                source_node_id,
                affected_input_ids,
                error,
            } => {
                tracing::error!(
                    "dora node `{source_node_id}` failed (inputs {affected_input_ids:?}): {error}"
                );
                self.node_failed(source_node_id.as_ref(), &affected_input_ids, &error);
            }
            Event::InputRecovered { id } => {
                tracing::info!("input `{id}` recovered");
                self.to_ros.restore(&id);
                self.restore_service(&id);
                self.recovered_input(&id, "recovered");
            }
            Event::NodeRestarted { id } => self.on_node_restarted(id.as_ref()),
            Event::Error(e) => tracing::error!("dora error: {e}"),
            _ => {}
        }
        None
    }

    /// Closed by its `input_timeout`: the source stalled, and dora reopens
    /// it (InputRecovered) when data flows again.
    fn on_input_closed(&mut self, id: &DataId) {
        tracing::info!("input `{id}` closed");
        if self.closed_by_a_remote_node(id) {
            return;
        }
        let stalled = self
            .node
            .node_config()
            .inputs
            .get(id)
            .and_then(|input| Some((input_source(&input.mapping)?, input.input_timeout?)));
        let Some((source, timeout)) = stalled else {
            return;
        };
        let serves = self
            .services
            .as_ref()
            .is_some_and(|s| s.servers.reads(id) || s.action_servers.reads(id));
        let Some(what) = self
            .to_ros
            .get(id)
            .map(|route| format!("{}: publisher", route.publisher.topic))
            .or_else(|| serves.then(|| format!("the service answered on `{id}`")))
        else {
            return;
        };
        tracing::warn!(
            "input `{id}`: no data from dora node `{source}` for {timeout} s (input_timeout)"
        );
        if let Some(d) = self.diagnostics.as_mut() {
            d.node_stalled(&source, id.as_ref(), timeout);
            d.publish(&d.statuses("a dora node stalled", Vec::new()));
        }
        if serves {
            self.withdraw_services(&source, std::slice::from_ref(id));
        } else if self.withdraw_on_failure() && self.to_ros.withdraw(id) {
            tracing::warn!("{what} withdrawn until `{source}` sends again");
        }
    }

    /// An input whose source runs on another machine closed while the
    /// dataflow runs: that node ended, and dora does not forward its
    /// `NodeFailed` between machines, so the bridge reacts as to one (ERROR
    /// diagnostics, publisher or server withdrawn), saying what it knows.
    /// An input with an `input_timeout` is left to the stall handling: its
    /// closing may be that timeout (InputClosed does not say which).
    fn closed_by_a_remote_node(&mut self, id: &DataId) -> bool {
        let source = self
            .node
            .node_config()
            .inputs
            .get(id)
            .filter(|input| input.input_timeout.is_none())
            .and_then(|input| input_source(&input.mapping));
        let Some(source) = source else {
            return false;
        };
        let feeds_ros = self.to_ros.get(id).is_some()
            || self
                .services
                .as_ref()
                .is_some_and(|s| s.servers.reads(id) || s.action_servers.reads(id));
        if !feeds_ros || !crate::dora_side::on_another_machine(&self.node, &source) {
            return false;
        }
        let why = format!(
            "dora node `{source}` (on another machine) stopped sending: its output closed while \
             the dataflow runs. dora does not forward NodeFailed between machines, so its exit \
             status is not known here; see its own log"
        );
        tracing::error!("input `{id}`: {why}");
        self.node_failed(&source, std::slice::from_ref(id), &why);
        true
    }

    /// A latched resend is due: the next one, if any.
    pub(super) fn resend_latched(&mut self) {
        self.latched_resends.remove(0);
        let resent = self.from_ros.resend_latched(&mut self.node);
        tracing::info!("sent {resent} latched message(s) again (a dora node restarted)");
    }

    fn on_node_restarted(&mut self, node_id: &str) {
        tracing::info!("dora node `{node_id}` restarted");
        if self.from_ros.has_latched() {
            // dora drops what reaches a node before it is up again, and says
            // nothing when it is: send the latched messages a few times.
            let now = tokio::time::Instant::now();
            self.latched_resends = LATCHED_RESENDS.iter().map(|d| now + *d).collect();
        }
        let inputs: Vec<DataId> = self
            .node
            .node_config()
            .inputs
            .iter()
            .filter(|(_, input)| input_source(&input.mapping).as_deref() == Some(node_id))
            .map(|(input_id, _)| input_id.clone())
            .collect();
        for input in &inputs {
            self.to_ros.restore(input);
            if let Some(services) = &mut self.services {
                let why = format!("its dora handler `{node_id}` restarted without it");
                services
                    .action_servers
                    .abort_goals(&services.hub, input, &why);
            }
            self.restore_service(input);
        }
        if let Some(d) = self.diagnostics.as_mut() {
            d.node_restarted(node_id);
        }
    }

    fn node_failed(&mut self, source: &str, inputs: &[DataId], error: &str) {
        if let Some(d) = self.diagnostics.as_mut() {
            d.node_failed(
                source,
                inputs.iter().map(|i| i.to_string()).collect(),
                error,
            );
            d.publish(&d.statuses("a dora node failed", Vec::new()));
        }
        self.withdraw_services(source, inputs);
        if !self.withdraw_on_failure() {
            return;
        }
        for input in inputs {
            if self.to_ros.withdraw(input)
                && let Some(route) = self.to_ros.get(input)
            {
                tracing::warn!(
                    "{}: publisher withdrawn (its dora source `{source}` failed); \
                     it comes back when data flows again",
                    route.publisher.topic
                );
            }
        }
    }

    /// A failed handler's services leave the ROS graph: ROS clients see no
    /// server rather than calls that hang.
    fn withdraw_services(&mut self, source: &str, inputs: &[DataId]) {
        let Some(services) = self.services.as_mut() else {
            return;
        };
        for input in inputs {
            if let Some(label) = services.servers.withdraw(&services.hub, input) {
                tracing::warn!(
                    "{label}: service withdrawn (its handler `{source}` failed or stalled); \
                     offered again when the handler is back"
                );
            }
            let why = format!("its dora handler `{source}` failed or stalled");
            if let Some(label) = services.action_servers.withdraw(&services.hub, input, &why) {
                tracing::warn!(
                    "{label}: its goals aborted ({why}); the action server leaves the graph in 2 s \
                     and is offered again when the handler is back"
                );
            }
        }
    }

    fn restore_service(&mut self, input: &DataId) {
        if let Some(services) = &mut self.services {
            services.servers.restore(&services.hub, input);
            services.action_servers.restore(&services.hub, input);
        }
    }

    pub(super) fn recovered_input(&mut self, input: &DataId, how: &str) {
        let Some(d) = self.diagnostics.as_mut() else {
            return;
        };
        // Which failed node fed this input: the diagnostics remember.
        for node in d.unhealthy_nodes_feeding(input.as_ref()) {
            d.node_recovered(&node, how);
        }
    }

    fn withdraw_on_failure(&self) -> bool {
        self.config
            .dora_failures
            .as_ref()
            .is_none_or(|d| d.withdraw_publishers)
    }

    /// Liveness transitions: report rows, then per `on_lost` and
    /// `on_watched_nodes_gone`.
    pub(super) fn on_liveness(&mut self, report: &LivenessReport) -> Verdict {
        if let Some(output) = self
            .config
            .liveness
            .as_ref()
            .and_then(|l| l.report_output.clone())
        {
            self.send_liveness_rows(&DataId::from(output), &report.transitions);
        }
        for t in &report.transitions {
            match t.state {
                NodeState::Lost => tracing::warn!("ROS node {} lost: {}", t.node, t.reason),
                _ => tracing::info!("ROS node {} {}: {}", t.node, t.state, t.reason),
            }
        }
        let on_gone = self.config.shutdown.on_watched_nodes_gone;
        if report.all_gone
            && on_gone == OnWatchedNodesGone::StopDataflow
            && self.stop_requested.is_none()
        {
            tracing::info!("every watched ROS node has left: stopping the dataflow");
            return self
                .request_stop()
                .err()
                .map(|e| Ok(StopReason::WatchedNodesGoneStopFailed(format!("{e:#}"))));
        }
        if self.on_lost() == OnLost::Fail && self.stop_requested.is_none() {
            let lost: Vec<String> = report
                .transitions
                .iter()
                .filter(|t| t.state == NodeState::Lost)
                .map(|t| format!("ROS node {} lost: {}", t.node, t.reason))
                .collect();
            if !lost.is_empty() {
                return Some(Err(anyhow::anyhow!("{}", lost.join("; "))));
            }
        }
        None
    }

    fn send_liveness_rows(&mut self, output: &DataId, transitions: &[Transition]) {
        let rows: ArrayRef = Arc::new(liveness_rows(transitions));
        if let Err(e) = self
            .node
            .send_output(output.clone(), MetadataParameters::default(), rows)
        {
            self.limiter
                .warn(|| format!("cannot send liveness rows on `{output}`: {e}"));
        }
    }
}

/// The node feeding a dora input: its mapping reads `node/output`
/// (timers read `dora/timer/...`).
fn input_source(mapping: &impl std::fmt::Display) -> Option<String> {
    let text = mapping.to_string();
    let (node, _) = text.split_once('/')?;
    (node != "dora").then(|| node.to_string())
}

/// Liveness status rows: `{node, state, reason, stamp_ns}`.
fn liveness_rows(transitions: &[Transition]) -> StructArray {
    let fields = vec![
        Field::new("node", DataType::Utf8, false),
        Field::new("state", DataType::Utf8, false),
        Field::new("reason", DataType::Utf8, false),
        Field::new("stamp_ns", DataType::Int64, false),
    ];
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            transitions.iter().map(|t| t.node.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            transitions.iter().map(|t| t.state.to_string()),
        )),
        Arc::new(StringArray::from_iter_values(
            transitions.iter().map(|t| t.reason.as_str()),
        )),
        Arc::new(Int64Array::from_iter_values(transitions.iter().map(|t| {
            t.stamp
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as i64)
        }))),
    ];
    StructArray::new(fields.into(), columns, None)
}
