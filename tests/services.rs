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

/// `dora_caller.py` sending `calls` calls on each of `outputs` (named
/// `..call..`); it reads the answers on the matching `..answer..` inputs.
fn caller(s: &Scenario, outputs: &[&str], calls: usize) -> Node {
    let caller = Node::python("caller", "dora_caller.py")
        .env("CALL_OUTPUTS", outputs.join(","))
        .env("CALLS", calls.to_string());
    with_answers(s, caller, outputs)
}

/// `dora_caller.py` sending the calls of `spec` (see the script).
fn caller_with_spec(s: &Scenario, outputs: &[&str], spec: Value) -> Node {
    let caller = Node::python("caller", "dora_caller.py").env("CALL_SPEC", spec.to_string());
    with_answers(s, caller, outputs)
}

fn with_answers(s: &Scenario, caller: Node, outputs: &[&str]) -> Node {
    let mut caller = caller
        .env("RESULT_FILE", p(&s.path("answers.jsonl")))
        .input("tick", "dora/timer/millis/500")
        .outputs(outputs);
    for output in outputs {
        let answer = output.replace("call", "answer");
        caller = caller.lossless_input(&answer, &format!("bridge/{answer}"), 1000);
    }
    caller
}

/// The bridge node of a test: `config` in bridge.yaml, `calls` read
/// losslessly from the caller, answers out on the matching `..answer..`.
fn bridge_for_calls(calls: &[&str]) -> Node {
    calls
        .iter()
        .fold(Node::bridge("--config bridge.yaml"), |node, call| {
            node.lossless_input(call, &format!("caller/{call}"), 1000)
                .output(&call.replace("call", "answer"))
        })
}

fn wait_ready(proc: &Proc) {
    assert!(
        proc.wait_for_line(Duration::from_secs(30), |l| l == "ready")
            .is_some(),
        "{}",
        dump(proc)
    );
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
    wait_ready(&server);
    let bridge = bridge_for_calls(&["call", "call_absent"]);
    let calls = 50;
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
        .filter(|l| l.starts_with("{\"call\""))
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
    wait_ready(&server);
    let flow = Dataflow::new()
        .node(bridge_for_calls(&["call"]))
        .node(caller(&s, &["call"], 3));
    let mut dora = s.dora_run(&flow.yaml());
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

#[test]
fn std_srvs_test_msgs_arrays_a_large_request_and_a_mistyped_row_through_service_clients() {
    let s = Scenario::new(124);
    s.write(
        "bridge.yaml",
        &format!(
            "service_clients:\n\
             \x20 - {{service: /set_mode, type: std_srvs/srv/SetBool, request: set_mode_call, response: set_mode_answer}}\n\
             \x20 - {{service: /trigger, type: std_srvs/srv/Trigger, request: trigger_call, response: trigger_answer}}\n\
             \x20 - {{service: /empty, type: std_srvs/srv/Empty, request: empty_call, response: empty_answer}}\n\
             \x20 - {{service: /echo, type: {BASIC}, request: big_call, response: big_answer, timeout: 20s}}\n\
             \x20 - {{service: /arrays, type: test_msgs/srv/Arrays, request: arrays_call, response: arrays_answer}}\n"
        ),
    );
    let server = s.python(
        "server",
        "ros_service_server.py",
        &[
            "/set_mode",
            "std_srvs/srv/SetBool",
            "/trigger",
            "std_srvs/srv/Trigger",
            "/empty",
            "std_srvs/srv/Empty",
            "/echo",
            BASIC,
            "/arrays",
            "test_msgs/srv/Arrays",
        ],
    );
    wait_ready(&server);
    let megabyte = 1 << 20;
    let spec = serde_json::json!([
        {"output": "set_mode_call", "request_id": "on", "row": {"data": true}, "types": {"data": "bool_"}},
        {"output": "set_mode_call", "request_id": "mistyped", "row": {"data": "yes"}, "types": {"data": "string"}},
        {"output": "trigger_call", "request_id": "trigger", "row": {}},
        {"output": "empty_call", "request_id": "empty", "row": {}},
        {"output": "big_call", "request_id": "big", "row": {"string_value": {"repeat": "x", "times": megabyte}}},
        {"output": "arrays_call", "request_id": "arrays", "row": {}},
    ]);
    let calls = [
        "set_mode_call",
        "trigger_call",
        "empty_call",
        "big_call",
        "arrays_call",
    ];
    let flow = Dataflow::new()
        .node(bridge_for_calls(&calls))
        .node(caller_with_spec(&s, &calls, spec));
    let mut dora = s.dora_run(&flow.yaml());
    let got = wait_for_answers(&s, 6, Duration::from_secs(60));
    let context = format!("{}\n{}\n{}", dump(&dora), dump(&server), s.node_logs());
    let answer = |id: &str| {
        got.get(id)
            .unwrap_or_else(|| panic!("{id} not answered: {:?}\n{context}", got.keys()))
    };
    assert_eq!(answer("on")["error"], Value::Null, "{}", answer("on"));
    assert_eq!(answer("on")["row"]["success"], true, "{}", answer("on"));
    assert_eq!(answer("on")["row"]["message"], "/set_mode done");
    let mistyped = answer("mistyped");
    let error = mistyped["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("`data`"),
        "the error names the field: {mistyped}"
    );
    assert_eq!(mistyped["len"], 0, "{mistyped}");
    assert_eq!(
        answer("trigger")["row"]["success"],
        true,
        "{}",
        answer("trigger")
    );
    assert_eq!(answer("empty")["error"], Value::Null, "{}", answer("empty"));
    assert_eq!(answer("empty")["len"], 1, "{}", answer("empty"));
    let big = answer("big");
    assert_eq!(big["error"], Value::Null);
    let echoed = big["row"]["string_value"].as_str().unwrap_or_default();
    assert_eq!(echoed.len(), megabyte);
    // Fixed arrays, nested messages and .srv defaults, there and back: the
    // request row was empty, so the server echoed the defaults the bridge filled in.
    let arrays = &answer("arrays")["row"];
    assert_eq!(
        arrays["int32_values_default"],
        serde_json::json!([0, 2147483647, -2147483648]),
        "{arrays}"
    );
    assert_eq!(
        arrays["string_values_default"],
        serde_json::json!(["", "max value", "min value"]),
        "{arrays}"
    );
    assert_eq!(
        arrays["basic_types_values"].as_array().map(Vec::len),
        Some(3)
    );
    // The bridge took the mistyped row in its stride: the calls after it came through.
    dora.stop();
}

#[test]
fn a_server_killed_mid_call_fails_its_calls_long_before_the_timeout() {
    let s = Scenario::new(125);
    s.write(
        "bridge.yaml",
        &format!(
            "service_clients:\n\
             \x20 - {{service: /doomed, type: {BASIC}, request: call, response: answer, timeout: 60s}}\n"
        ),
    );
    // The server announces a 2 s lease (the shipped profile), so its
    // death shows in the graph within seconds, as for a watched node.
    let mut cmd = s.command("python");
    cmd.arg(python_script("ros_service_server.py"))
        .args(["/doomed", BASIC, "--delay", "30"]);
    with_fastdds_profile(
        &mut cmd,
        repo_root().join("config/fastdds_fast_liveness.xml"),
    );
    let server = s.spawn("server", cmd);
    wait_ready(&server);
    let flow = Dataflow::new()
        .node(bridge_for_calls(&["call"]))
        .node(caller(&s, &["call"], 2));
    let mut dora = s.dora_run(&flow.yaml());
    let handling = server.wait_for_line(Duration::from_secs(60), |l| l.contains("handling"));
    assert!(handling.is_some(), "{}\n{}", dump(&server), s.node_logs());
    server.signal("KILL");
    let killed_at = Instant::now();
    let got = wait_for_answers(&s, 2, Duration::from_secs(30));
    let took = killed_at.elapsed();
    let context = format!("{got:?}\n{}\n{}", dump(&dora), s.node_logs());
    assert_eq!(got.len(), 2, "{context}");
    for answer in got.values() {
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(error.contains("left the ROS graph"), "{context}");
    }
    assert!(took < Duration::from_secs(15), "{took:?}: {context}");
    dora.stop();
}

/// A `service_servers` dataflow for /fragile whose handler gets `handler_env`
/// and whose answers reach the bridge through `response` (with `options`).
fn fragile_service(
    s: &Scenario,
    handler_env: (&str, &str),
    options: &[(&str, serde_yaml::Value)],
) -> Proc {
    s.write(
        "bridge.yaml",
        &format!(
            "service_servers:\n\
             \x20 - {{service: /fragile, type: {BASIC}, request: request, response: response}}\n"
        ),
    );
    // The bridge keeps a timer input, so dora tells it when the handler fails.
    let bridge = Node::bridge("--config bridge.yaml")
        .input_with("response", "handler/response", options)
        .input("keepalive", "dora/timer/secs/1")
        .output("request");
    let handler = Node::python("handler", "dora_service_handler.py")
        .env(handler_env.0, handler_env.1)
        .lossless_input("request", "bridge/request", 1000)
        .output("response");
    // dora checks `input_timeout` on its health-check tick (5 s by default).
    let dataflow = Dataflow::new().health_check_interval(0.25);
    s.dora_run(&dataflow.node(bridge).node(handler).yaml())
}

#[test]
fn a_failed_handler_withdraws_the_service_and_reports_error_diagnostics() {
    let s = Scenario::new(126);
    let diagnostics = s.python(
        "diagnostics",
        "ros_sub.py",
        &["/diagnostics", "diagnostic_msgs/msg/DiagnosticArray"],
    );
    let watch = s.python("watch", "ros_service_watch.py", &["/fragile", BASIC]);
    let mut dora = fragile_service(&s, ("HANDLER_EXIT_AFTER", "3"), &[]);
    let context = |what: &str| {
        format!(
            "{what}\n{}\n{}\n{}",
            dump(&watch),
            dump(&dora),
            s.node_logs()
        )
    };
    let first = wait_json(&watch, Duration::from_secs(60), |v| v["answered"] == 1)
        .unwrap_or_else(|| panic!("{}", context("never answered")));
    wait_json(&watch, Duration::from_secs(60), |v| {
        v["ready"] == false && v["t"].as_f64() > first["t"].as_f64()
    })
    .unwrap_or_else(|| panic!("{}", context("not withdrawn")));
    let error = wait_json(&diagnostics, Duration::from_secs(30), |v| {
        statuses(v)
            .iter()
            .any(|(level, _, message)| *level == 2 && message.contains("handler exits on purpose"))
    });
    assert!(error.is_some(), "{}", context(&dump(&diagnostics)));
    dora.stop();
}

#[test]
fn a_stalled_handler_withdraws_the_service_until_it_answers_again() {
    let s = Scenario::new(127);
    let watch = s.python("watch", "ros_service_watch.py", &["/fragile", BASIC]);
    let options = [("input_timeout", 1.0.into())];
    let mut dora = fragile_service(&s, ("HANDLER_PAUSE", "3:4"), &options);
    let context = |what: &str| {
        format!(
            "{what}\n{}\n{}\n{}",
            dump(&watch),
            dump(&dora),
            s.node_logs()
        )
    };
    let first = wait_json(&watch, Duration::from_secs(60), |v| v["answered"] == 1)
        .unwrap_or_else(|| panic!("{}", context("never answered")));
    let gone = wait_json(&watch, Duration::from_secs(60), |v| {
        v["ready"] == false && v["t"].as_f64() > first["t"].as_f64()
    })
    .unwrap_or_else(|| panic!("{}", context("not withdrawn")));
    let back = wait_json(&watch, Duration::from_secs(60), |v| {
        v["ready"] == true && v["t"].as_f64() > gone["t"].as_f64()
    })
    .unwrap_or_else(|| panic!("{}", context("not offered again")));
    wait_json(&watch, Duration::from_secs(30), |v| {
        v["answered"].is_number() && v["t"].as_f64() > back["t"].as_f64()
    })
    .unwrap_or_else(|| panic!("{}", context("not answered once back")));
    dora.stop();
}

#[test]
fn the_bridge_answers_the_parameter_services_of_its_node_read_only_but_use_sim_time() {
    let s = Scenario::new(128);
    s.write(
        "bridge.yaml",
        "from_ros:\n  - {topic: /heard, type: std_msgs/msg/String, output: heard}\n",
    );
    let bridge = Node::bridge("--config bridge.yaml")
        .input("keepalive", "dora/timer/secs/1")
        .output("heard");
    let mut dora = s.dora_run(&Dataflow::new().node(bridge).yaml());
    let client = s.python("params", "ros_param_client.py", &["/bridge"]);
    let line = client.wait_for_line(Duration::from_secs(90), |l| l.starts_with('{'));
    let got: Value = line
        .and_then(|l| serde_json::from_str(&l).ok())
        .unwrap_or_else(|| panic!("{}\n{}\n{}", dump(&client), dump(&dora), s.node_logs()));
    let names: Vec<&str> = got["names"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for name in ["use_sim_time", "dora_node_id", "from_ros"] {
        assert!(names.contains(&name), "{name} not listed: {got}");
    }
    assert_eq!(got["values"]["use_sim_time"], false, "{got}");
    assert_eq!(got["values"]["dora_node_id"], "bridge", "{got}");
    assert_eq!(got["values"]["from_ros"][0], "/heard -> heard", "{got}");
    assert_eq!(got["read_only"]["use_sim_time"], false, "{got}");
    assert_eq!(got["read_only"]["dora_node_id"], true, "{got}");
    assert_eq!(got["set_sim_time_successful"], true, "{got}");
    assert_eq!(got["use_sim_time_after"], true, "{got}");
    assert_eq!(got["set_successful"], false, "{got}");
    assert!(
        got["set_reason"]
            .as_str()
            .unwrap_or_default()
            .contains("read-only"),
        "{got}"
    );
    dora.stop();
}

#[test]
fn a_handler_restarted_by_dora_answers_again() {
    let s = Scenario::new(129);
    let watch = s.python("watch", "ros_service_watch.py", &["/fragile", BASIC]);
    s.write(
        "bridge.yaml",
        &format!(
            "service_servers:\n\
             \x20 - {{service: /fragile, type: {BASIC}, request: request, response: response}}\n"
        ),
    );
    let bridge = Node::bridge("--config bridge.yaml")
        .lossless_input("response", "handler/response", 1000)
        .input("keepalive", "dora/timer/secs/1")
        .output("request");
    // Fails after 3 answers the first time; dora restarts it (and, with a
    // restart left, tells downstream nodes only NodeRestarted).
    let handler = Node::python("handler", "dora_service_handler.py")
        .env("HANDLER_EXIT_AFTER", "3")
        .lossless_input("request", "bridge/request", 1000)
        .output("response")
        .set("restart_policy", "on-failure")
        .set("max_restarts", 2);
    let mut dora = s.dora_run(&Dataflow::new().node(bridge).node(handler).yaml());
    let context = |what: &str| {
        format!(
            "{what}\n{}\n{}\n{}",
            dump(&watch),
            dump(&dora),
            s.node_logs()
        )
    };
    wait_json(&watch, Duration::from_secs(60), |v| v["answered"] == 3)
        .unwrap_or_else(|| panic!("{}", context("not answered 3 times")));
    let restarted = wait_for_log(&s, "dora node `handler` restarted", Duration::from_secs(30));
    assert!(restarted, "{}", context("no restart seen by the bridge"));
    wait_json(&watch, Duration::from_secs(60), |v| {
        v["answered"].as_u64().is_some_and(|n| n >= 5)
    })
    .unwrap_or_else(|| panic!("{}", context("not answered after the restart")));
    dora.stop();
}

/// Waits until the dataflow's node logs contain `text`.
fn wait_for_log(s: &Scenario, text: &str, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if s.node_logs().contains(text) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200)); // polling log files
    }
    false
}

#[test]
fn a_timeouts_rule_gives_the_routes_it_matches_their_timeout() {
    let s = Scenario::new(193);
    s.write(
        "bridge.yaml",
        &format!(
            "timeouts:\n  - {{match: '^/slow/', timeout: 1s}}\n  - {{match: '.*', timeout: 3s}}\n\
             service_clients:\n\
             \x20 - {{service: /slow/absent, type: {BASIC}, request: call_slow, response: answer_slow}}\n\
             \x20 - {{service: /other_absent, type: {BASIC}, request: call_other, response: answer_other}}\n\
             \x20 - {{service: /slow/own, type: {BASIC}, request: call_own, response: answer_own, timeout: 2s}}\n"
        ),
    );
    let calls = ["call_slow", "call_other", "call_own"];
    let flow = Dataflow::new()
        .node(bridge_for_calls(&calls))
        .node(caller(&s, &calls, 1));
    let mut dora = s.dora_run(&flow.yaml());
    let got = wait_for_answers(&s, 3, Duration::from_secs(60));
    let context = format!("{got:?}\n{}\n{}", dump(&dora), s.node_logs());
    for (call, within) in [
        ("call_slow", "1s"),
        ("call_other", "3s"),
        ("call_own", "2s"),
    ] {
        let answer = got
            .get(&format!("{call}-0"))
            .unwrap_or_else(|| panic!("{call} not answered\n{context}"));
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(
            error.contains(&format!("no server for the service within {within}")),
            "{call}: {answer}\n{context}"
        );
    }
    dora.stop();
}
