//! ROS 2 services both ways through the real stacks: a dora node calls an
//! rclpy service server through a `service_clients` route (many calls in
//! flight, each answered exactly once, with its request_id; no server ->
//! an error in time; the server leaving -> the calls in flight fail at
//! once), and an rclpy client's burst of calls is answered by a dora node
//! through a `service_servers` route (answers for no call counted, the
//! service withdrawn when the handler fails).

mod common;
use common::*;
use serde_json::Value;
use std::collections::HashMap;
use std::time::{Duration, Instant};

const BASIC: &str = "test_msgs/srv/BasicTypes";

/// The caller's answers, by request_id; panics on a request_id answered twice.
fn answers(s: &Scenario) -> HashMap<String, Value> {
    let mut by_id = HashMap::new();
    for record in s.records("answers.jsonl") {
        let id = record["request_id"].as_str().unwrap_or("?").to_string();
        if let Some(first) = by_id.insert(id.clone(), record.clone()) {
            panic!("request_id {id} answered twice: {first} and {record}");
        }
    }
    by_id
}

fn wait_for_answers(s: &Scenario, count: usize, timeout: Duration) -> HashMap<String, Value> {
    let deadline = Instant::now() + timeout;
    loop {
        let got = answers(s);
        if got.len() >= count || Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(100)); // polling a file
    }
}

fn caller(s: &Scenario, outputs: &[&str], calls: usize) -> Node {
    let mut caller = Node::python("caller", "dora_caller.py")
        .env("CALL_OUTPUTS", outputs.join(","))
        .env("CALLS", calls.to_string())
        .env("RESULT_FILE", p(&s.path("answers.jsonl")))
        .input("tick", "dora/timer/millis/500")
        .outputs(outputs);
    for output in outputs {
        let answer = output.replace("call", "answer");
        caller = caller.lossless_input(&answer, &format!("bridge/{answer}"), 1000);
    }
    caller
}

#[test]
fn dora_calls_a_ros_service_with_many_calls_in_flight_and_each_is_answered_once() {
    let s = Scenario::new(121);
    s.write(
        "bridge.yaml",
        &format!(
            "service_clients:\n\
             \x20 - {{service: /echo, type: {BASIC}, request: call, response: answer, max_in_flight: 4}}\n\
             \x20 - {{service: /nobody_serves_this, type: {BASIC}, request: call_absent, response: answer_absent, timeout: 1s}}\n"
        ),
    );
    let server = s.python(
        "server",
        "ros_service_server.py",
        &["/echo", BASIC, "--delay", "0.02"],
    );
    assert!(
        server
            .wait_for_line(Duration::from_secs(30), |l| l == "ready")
            .is_some(),
        "{}",
        dump(&server)
    );
    let bridge = Node::bridge("--config bridge.yaml")
        .lossless_input("call", "caller/call", 1000)
        .lossless_input("call_absent", "caller/call_absent", 1000)
        .outputs(["answer", "answer_absent"]);
    let calls = 30;
    let flow = Dataflow::new()
        .node(bridge)
        .node(caller(&s, &["call", "call_absent"], calls));
    let mut dora = s.dora_run(&flow.yaml());
    let got = wait_for_answers(&s, 2 * calls, Duration::from_secs(60));
    let context = || format!("{got:?}\n{}\n{}", dump(&dora), s.node_logs());
    for i in 0..calls {
        let answer = got
            .get(&format!("call-{i}"))
            .unwrap_or_else(|| panic!("call-{i} not answered\n{}", context()));
        assert_eq!(answer["error"], Value::Null, "{answer}");
        assert_eq!(answer["int32_value"], i, "{answer}");
        let failed = got
            .get(&format!("call_absent-{i}"))
            .unwrap_or_else(|| panic!("call_absent-{i} not answered\n{}", context()));
        let error = failed["error"].as_str().unwrap_or_default();
        assert!(error.contains("no server"), "{failed}");
        assert_eq!(failed["len"], 0, "{failed}");
    }
    // Never more than max_in_flight at once: the server saw every call.
    let served = server
        .output()
        .iter()
        .filter(|l| l.contains("call"))
        .count();
    assert_eq!(served, calls, "{}", dump(&server));
    dora.stop();
}

#[test]
fn calls_in_flight_fail_at_once_when_the_server_leaves() {
    let s = Scenario::new(122);
    s.write(
        "bridge.yaml",
        &format!(
            "service_clients:\n\
             \x20 - {{service: /slow, type: {BASIC}, request: call, response: answer, timeout: 30s}}\n"
        ),
    );
    // Answers one call, then leaves during the second (2 s per call).
    let mut server = s.python(
        "server",
        "ros_service_server.py",
        &["/slow", BASIC, "--delay", "2", "--exit-after", "1"],
    );
    assert!(
        server
            .wait_for_line(Duration::from_secs(30), |l| l == "ready")
            .is_some(),
        "{}",
        dump(&server)
    );
    let bridge = Node::bridge("--config bridge.yaml")
        .lossless_input("call", "caller/call", 1000)
        .output("answer");
    let mut dora = s.dora_run(
        &Dataflow::new()
            .node(bridge)
            .node(caller(&s, &["call"], 3))
            .yaml(),
    );
    let left = server.wait_exit(Duration::from_secs(60));
    assert!(left.is_some(), "{}", dump(&server));
    let left_at = Instant::now();
    let got = wait_for_answers(&s, 3, Duration::from_secs(20));
    let failed_by = left_at.elapsed();
    let context = format!("{got:?}\n{}\n{}", dump(&dora), s.node_logs());
    assert_eq!(got.len(), 3, "{context}");
    assert_eq!(got["call-0"]["error"], Value::Null, "{context}");
    for id in ["call-1", "call-2"] {
        let error = got[id]["error"].as_str().unwrap_or_default();
        assert!(error.contains("left the ROS graph"), "{id}: {context}");
    }
    // Long before the 30 s timeout.
    assert!(
        failed_by < Duration::from_secs(10),
        "{failed_by:?}\n{context}"
    );
    dora.stop();
}

#[test]
fn a_burst_of_50_ros_calls_is_answered_by_a_dora_node() {
    let s = Scenario::new(123);
    s.write(
        "bridge.yaml",
        &format!(
            "service_servers:\n\
             \x20 - {{service: /served_by_dora, type: {BASIC}, request: request, response: response}}\n\
             stats: {{output: stats, interval: 200ms}}\n"
        ),
    );
    let bridge = Node::bridge("--config bridge.yaml")
        .lossless_input("response", "handler/response", 1000)
        .outputs(["request", "stats"]);
    let handler = Node::python("handler", "dora_service_handler.py")
        .lossless_input("request", "bridge/request", 1000)
        .output("response");
    let recorder = s.recorder().input("stats", "bridge/stats");
    let mut dora = s.dora_run(
        &Dataflow::new()
            .node(bridge)
            .node(handler)
            .node(recorder)
            .yaml(),
    );
    let client = s.python(
        "client",
        "ros_service_client.py",
        &["/served_by_dora", BASIC, "50"],
    );
    let line = client.wait_for_line(Duration::from_secs(90), |l| l.starts_with('{'));
    let summary: Value = line
        .and_then(|l| serde_json::from_str(&l).ok())
        .unwrap_or_else(|| panic!("{}\n{}\n{}", dump(&client), dump(&dora), s.node_logs()));
    assert_eq!(summary["answered"], 50, "{summary}\n{}", s.node_logs());
    assert_eq!(summary["correct"], 50, "{summary}");
    // The handler's answer for a call that does not exist: counted, dropped.
    let row = wait_for_stats(&s, "service_servers[0]", Duration::from_secs(20), |r| {
        r["unmatched"].as_u64() >= Some(1) && r["received"].as_u64() >= Some(51)
    });
    let row = row.unwrap_or_else(|| panic!("no unmatched answer counted\n{}", s.node_logs()));
    assert_eq!(row["direction"], "service_server", "{row}");
    assert_eq!(row["unmatched"], 1, "{row}");
    assert_eq!(row["failed"], 0, "{row}");
    dora.stop();
}
