//! ROS 2 actions both ways through the real stacks: a dora node sends
//! test_msgs/action/Fibonacci goals to an rclpy ActionServer through an
//! `action_clients` route (feedback, status, results, two goals at once,
//! cancel, rejection, the server killed mid-goal), and rclpy ActionClients
//! drive goals a dora node carries out through an `action_servers` route
//! (two at once, cancel from ROS, an aborted goal, NestedMessage values both
//! ways, the handler failing or restarting, dora stop).

mod common;
use common::*;
use serde_json::Value;
use std::time::{Duration, Instant};

const FIBONACCI: &str = "test_msgs/action/Fibonacci";

/// The first `n + 1` Fibonacci numbers: a goal of order `n`'s result.
fn fibonacci(n: usize) -> Vec<i64> {
    let mut sequence = vec![0, 1];
    while sequence.len() < n + 1 {
        sequence.push(sequence[sequence.len() - 1] + sequence[sequence.len() - 2]);
    }
    sequence.truncate(n + 1);
    sequence
}

fn wait_ready(proc: &Proc) {
    assert!(
        proc.wait_for_line(Duration::from_secs(30), |l| l == "ready")
            .is_some(),
        "{}",
        dump(proc)
    );
}

// ---- action_clients: dora sends goals ------------------------------------

/// A dataflow of the bridge (action_clients route /fibonacci, config in
/// bridge.yaml) and `dora_action_client.py` with `env`.
fn goal_sender(s: &Scenario, cancel: bool, env: &[(&str, &str)]) -> Proc {
    let cancel_key = if cancel { ", cancel: fib_cancel" } else { "" };
    s.write(
        "bridge.yaml",
        &format!(
            "action_clients:\n\
             \x20 - {{action: /fibonacci, type: {FIBONACCI}, goal: fib_goal{cancel_key}, \
             feedback: fib_feedback, status: fib_status, result: fib_result, timeout: 20s}}\n"
        ),
    );
    let mut bridge = Node::bridge("--config bridge.yaml")
        .lossless_input("fib_goal", "client/goal", 100)
        .outputs(["fib_feedback", "fib_status", "fib_result"]);
    let mut client = Node::python("client", "dora_action_client.py")
        .lossless_input("feedback", "bridge/fib_feedback", 1000)
        .lossless_input("status", "bridge/fib_status", 1000)
        .lossless_input("result", "bridge/fib_result", 100)
        .output("goal");
    if cancel {
        bridge = bridge.lossless_input("fib_cancel", "client/cancel", 100);
        client = client.output("cancel");
    }
    for (key, value) in env {
        client = client.env(key, *value);
    }
    s.dora_run(&Dataflow::new().node(bridge).node(client).yaml())
}

/// What the dora client recorded, once it has `results` results.
fn client_events(s: &Scenario, results: usize, timeout: Duration) -> Vec<Value> {
    let deadline = Instant::now() + timeout;
    loop {
        let events = s.records("action_events.jsonl");
        let done = events.iter().filter(|e| e["input"] == "result").count() >= results;
        if done || Instant::now() > deadline {
            return events;
        }
        std::thread::sleep(Duration::from_millis(100)); // polling a file
    }
}

fn of_goal<'a>(events: &'a [Value], input: &str, goal_id: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["input"] == input && e["goal_id"] == goal_id)
        .collect()
}

fn sequence_of(event: &Value) -> Vec<i64> {
    event["value"][0]["sequence"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default()
}

#[test]
fn dora_goals_reach_an_rclpy_action_server_two_at_once_with_feedback_status_and_results() {
    let s = Scenario::new(131);
    let server = s.python(
        "server",
        "ros_action_server.py",
        &["/fibonacci", "--period", "0.1"],
    );
    wait_ready(&server);
    let given = "0123456789abcdef0123456789abcdef";
    let mut dora = goal_sender(
        &s,
        false,
        &[("GOALS", "6,4"), ("GOAL_IDS", &format!("{given},"))],
    );
    let events = client_events(&s, 2, Duration::from_secs(60));
    let context = format!("{events:#?}\n{}\n{}", dump(&server), s.node_logs());
    let results: Vec<&Value> = events.iter().filter(|e| e["input"] == "result").collect();
    assert_eq!(results.len(), 2, "{context}");
    for result in &results {
        assert_eq!(result["status"], "succeeded", "{context}");
        assert_eq!(result["error"], Value::Null, "{context}");
    }
    // The given goal id is kept; the other one the bridge made.
    let first = results
        .iter()
        .find(|r| r["goal_id"] == given)
        .unwrap_or_else(|| panic!("no result for {given}\n{context}"));
    assert_eq!(sequence_of(first), fibonacci(6), "{context}");
    let other = results.iter().find(|r| r["goal_id"] != given).unwrap();
    let other_id = other["goal_id"].as_str().unwrap();
    assert_eq!(other_id.len(), 32, "{context}");
    assert_eq!(sequence_of(other), fibonacci(4), "{context}");
    // Every feedback, in order, with its goal's id.
    for (id, order) in [(given, 6), (other_id, 4)] {
        let feedback: Vec<Vec<i64>> = of_goal(&events, "feedback", id)
            .into_iter()
            .map(sequence_of)
            .collect();
        let expected: Vec<Vec<i64>> = (1..=order).map(fibonacci).collect();
        assert_eq!(feedback, expected, "{id}: {context}");
        let statuses: Vec<&Value> = of_goal(&events, "status", id)
            .into_iter()
            .map(|e| &e["status"])
            .collect();
        assert!(statuses.contains(&&Value::from("executing")), "{context}");
        assert_eq!(
            statuses.last(),
            Some(&&Value::from("succeeded")),
            "{context}"
        );
    }
    // Both goals were running on the server at the same time.
    let lines = server.output();
    let position = |line: &str| lines.iter().position(|l| l == line);
    assert!(
        position("goal 4") < position("succeeded 6")
            && position("goal 6") < position("succeeded 4"),
        "{context}"
    );
    dora.stop();
}

#[test]
fn a_goal_canceled_from_dora_ends_canceled_and_a_rejected_goal_ends_rejected() {
    let s = Scenario::new(132);
    let server = s.python(
        "server",
        "ros_action_server.py",
        &["/fibonacci", "--period", "0.2", "--reject-below", "2"],
    );
    wait_ready(&server);
    let mut dora = goal_sender(
        &s,
        true,
        &[("GOALS", "20,1"), ("CANCEL_AFTER_FEEDBACK", "2")],
    );
    let events = client_events(&s, 2, Duration::from_secs(60));
    let context = format!("{events:#?}\n{}\n{}", dump(&server), s.node_logs());
    let results: Vec<&Value> = events.iter().filter(|e| e["input"] == "result").collect();
    assert_eq!(results.len(), 2, "{context}");
    let canceled = results
        .iter()
        .find(|r| r["status"] == "canceled")
        .unwrap_or_else(|| panic!("no canceled goal\n{context}"));
    let partial = sequence_of(canceled);
    assert!(
        partial.len() >= 3 && partial.len() < 21 && partial == fibonacci(partial.len() - 1),
        "{context}"
    );
    let rejected = results
        .iter()
        .find(|r| r["status"] == "rejected")
        .unwrap_or_else(|| panic!("no rejected goal\n{context}"));
    assert_eq!(rejected["rows"], 0, "{context}");
    assert!(
        rejected["error"]
            .as_str()
            .unwrap_or("")
            .contains("rejected"),
        "{context}"
    );
    assert!(
        server.output().iter().any(|l| l == "canceled 20"),
        "{context}"
    );
    dora.stop();
}

#[test]
fn a_server_killed_mid_goal_ends_the_goal_with_error_long_before_any_timeout() {
    let s = Scenario::new(133);
    // The server announces a 2 s lease (the shipped profile), so its
    // death shows in the graph within seconds.
    let mut cmd = s.command("python");
    cmd.arg(python_script("ros_action_server.py")).args([
        "/fibonacci",
        "--period",
        "0.2",
        "--exit-mid-goal",
    ]);
    with_fastdds_profile(
        &mut cmd,
        repo_root().join("config/fastdds_fast_liveness.xml"),
    );
    let server = s.spawn("server", cmd);
    wait_ready(&server);
    let mut dora = goal_sender(&s, false, &[("GOALS", "30")]);
    let exited = server.wait_for_line(Duration::from_secs(60), |l| l == "exiting");
    assert!(exited.is_some(), "{}\n{}", dump(&server), s.node_logs());
    let killed_at = Instant::now();
    let events = client_events(&s, 1, Duration::from_secs(40));
    let took = killed_at.elapsed();
    let context = format!("{events:#?}\n{}", s.node_logs());
    let result = events
        .iter()
        .find(|e| e["input"] == "result")
        .unwrap_or_else(|| panic!("no result\n{context}"));
    assert_eq!(result["status"], "error", "{context}");
    assert!(
        result["error"]
            .as_str()
            .unwrap_or("")
            .contains("left the ROS graph"),
        "{context}"
    );
    assert!(took < Duration::from_secs(15), "{took:?}: {context}");
    dora.stop();
}

// ---- action_servers: ROS clients send goals ------------------------------

/// A dataflow of the bridge offering /count (action_servers, config in
/// bridge.yaml) and `dora_action_handler.py` with `env`; `handler_options`
/// are extra keys of the handler node (e.g. its restart policy).
fn served_action(
    s: &Scenario,
    action_type: &str,
    env: &[(&str, &str)],
    handler_options: &[(&str, serde_yaml::Value)],
) -> Proc {
    s.write(
        "bridge.yaml",
        &format!(
            "action_servers:\n\
             \x20 - {{action: /count, type: {action_type}, goal: count_goal, cancel: count_cancel, \
             feedback: count_feedback, result: count_result}}\n"
        ),
    );
    // The bridge keeps a timer input, so dora tells it when the handler fails.
    let bridge = Node::bridge("--config bridge.yaml")
        .lossless_input("count_feedback", "handler/feedback", 1000)
        .lossless_input("count_result", "handler/result", 100)
        .input("keepalive", "dora/timer/secs/1")
        .outputs(["count_goal", "count_cancel"]);
    let mut handler = Node::python("handler", "dora_action_handler.py")
        .lossless_input("goal", "bridge/count_goal", 100)
        .lossless_input("cancel", "bridge/count_cancel", 100)
        .outputs(["feedback", "result"]);
    for (key, value) in env {
        handler = handler.env(key, *value);
    }
    for (key, value) in handler_options {
        handler = handler.set(key, value.clone());
    }
    s.dora_run(&Dataflow::new().node(bridge).node(handler).yaml())
}

/// `ros_action_client.py /count` with `args`; its JSON lines once it is done.
fn ros_goals(s: &Scenario, name: &str, args: &[&str]) -> (Proc, Vec<Value>) {
    let mut all = vec!["/count"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--wait", "60"]);
    let mut client = s.python(name, "ros_action_client.py", &all);
    let exit = client.wait_exit(Duration::from_secs(90));
    let events = client
        .output()
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .collect();
    assert!(exit.is_some(), "{}\n{}", dump(&client), s.node_logs());
    (client, events)
}

fn result_of(events: &[Value], order: i64) -> Option<&Value> {
    events
        .iter()
        .find(|e| e["event"] == "result" && e["order"] == order)
}

fn ros_sequence(event: &Value) -> Vec<i64> {
    event["sequence"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default()
}

#[test]
fn rclpy_clients_drive_two_goals_at_once_carried_out_by_a_dora_node() {
    let s = Scenario::new(134);
    let mut dora = served_action(&s, FIBONACCI, &[], &[]);
    let (client, events) = ros_goals(&s, "client", &["7", "5"]);
    let context = format!("{events:#?}\n{}\n{}", dump(&client), s.node_logs());
    for order in [7, 5] {
        let result = result_of(&events, order).unwrap_or_else(|| panic!("{context}"));
        assert_eq!(result["status"], "succeeded", "{context}");
        assert_eq!(ros_sequence(result), fibonacci(order as usize), "{context}");
        let feedback: Vec<Vec<i64>> = events
            .iter()
            .filter(|e| e["event"] == "feedback" && e["order"] == order)
            .map(ros_sequence)
            .collect();
        let expected: Vec<Vec<i64>> = (1..=order as usize).map(fibonacci).collect();
        assert_eq!(feedback, expected, "{order}: {context}");
    }
    // The two ran interleaved: the shorter one's first feedback came before
    // the longer one's result.
    let index = |pred: &dyn Fn(&Value) -> bool| events.iter().position(pred);
    assert!(
        index(&|e| e["event"] == "feedback" && e["order"] == 5)
            < index(&|e| e["event"] == "result" && e["order"] == 7),
        "{context}"
    );
    // The handler's feedback for a goal nobody sent is dropped and said so.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !s.node_logs().contains("names no goal in flight") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200)); // polling log files
    }
    assert!(
        s.node_logs()
            .contains(&format!("\"{}\") names no goal in flight", "0".repeat(32))),
        "{context}"
    );
    dora.stop();
}

#[test]
fn a_goal_canceled_from_ros_reaches_the_dora_handler_and_an_aborted_goal_ends_aborted() {
    let s = Scenario::new(135);
    let env = [("HANDLER_PERIOD", "0.2"), ("HANDLER_ABORT_BELOW", "2")];
    let mut dora = served_action(&s, FIBONACCI, &env, &[]);
    let (client, events) = ros_goals(&s, "client", &["20", "1", "--cancel-after-feedback", "2"]);
    let context = format!("{events:#?}\n{}\n{}", dump(&client), s.node_logs());
    let canceled = result_of(&events, 20).unwrap_or_else(|| panic!("{context}"));
    assert_eq!(canceled["status"], "canceled", "{context}");
    let partial = ros_sequence(canceled);
    assert!(partial.len() >= 3 && partial.len() < 21, "{context}");
    let answer = events
        .iter()
        .find(|e| e["event"] == "cancel_response")
        .unwrap_or_else(|| panic!("{context}"));
    assert_eq!(answer["return_code"], 0, "{context}");
    assert_eq!(answer["goals_canceling"], 1, "{context}");
    let aborted = result_of(&events, 1).unwrap_or_else(|| panic!("{context}"));
    assert_eq!(aborted["status"], "aborted", "{context}");
    dora.stop();
}

#[test]
fn nested_message_values_go_through_an_action_both_ways_unchanged() {
    let s = Scenario::new(136);
    let mut dora = served_action(
        &s,
        "test_msgs/action/NestedMessage",
        &[("HANDLER_ECHO", "1")],
        &[],
    );
    let client = s.python("client", "ros_action_nested_client.py", &["/count"]);
    let got = wait_json(&client, Duration::from_secs(90), |v| {
        v["status"].is_string()
    })
    .unwrap_or_else(|| panic!("{}\n{}", dump(&client), s.node_logs()));
    let context = format!("{got:#}\n{}", s.node_logs());
    assert_eq!(got["status"], "succeeded", "{context}");
    assert_eq!(got["feedback_equal"], true, "{context}");
    assert_eq!(got["result_equal"], true, "{context}");
    dora.stop();
}

#[test]
fn a_failed_handler_aborts_its_goal_withdraws_the_action_server_and_reports_error() {
    let s = Scenario::new(137);
    let diagnostics = s.python(
        "diagnostics",
        "ros_sub.py",
        &["/diagnostics", "diagnostic_msgs/msg/DiagnosticArray"],
    );
    let watch = s.python("watch", "ros_action_client.py", &["/count", "--watch"]);
    let env = [("HANDLER_EXIT_AFTER_FEEDBACK", "2")];
    let mut dora = served_action(&s, FIBONACCI, &env, &[]);
    // The watcher must have seen the server before the goal brings it down.
    assert!(
        watch
            .wait_for_line(Duration::from_secs(30), |l| l == "server ready")
            .is_some(),
        "{}\n{}",
        dump(&watch),
        s.node_logs()
    );
    let (client, events) = ros_goals(&s, "client", &["10"]);
    let context = |what: &str| {
        format!(
            "{what}\n{events:#?}\n{}\n{}\n{}",
            dump(&client),
            dump(&watch),
            s.node_logs()
        )
    };
    let aborted = result_of(&events, 10).unwrap_or_else(|| panic!("{}", context("no result")));
    assert_eq!(aborted["status"], "aborted", "{}", context("not aborted"));
    assert!(
        watch
            .wait_for_line(Duration::from_secs(30), |l| l == "server gone")
            .is_some(),
        "{}",
        context("not withdrawn")
    );
    let error = wait_json(&diagnostics, Duration::from_secs(30), |v| {
        statuses(v)
            .iter()
            .any(|(level, _, message)| *level == 2 && message.contains("exits on purpose"))
    });
    assert!(error.is_some(), "{}", context(&dump(&diagnostics)));
    dora.stop();
}

#[test]
fn a_handler_restarted_by_dora_ends_the_goals_it_lost_aborted_and_serves_new_ones() {
    let s = Scenario::new(138);
    let env = [("HANDLER_EXIT_AFTER_FEEDBACK", "2")];
    let restart = [
        ("restart_policy", "on-failure".into()),
        ("max_restarts", 2.into()),
    ];
    let mut dora = served_action(&s, FIBONACCI, &env, &restart);
    let (client, events) = ros_goals(&s, "first", &["10"]);
    let context = |what: &str, events: &[Value]| {
        format!("{what}\n{events:#?}\n{}\n{}", dump(&client), s.node_logs())
    };
    let aborted = result_of(&events, 10).unwrap_or_else(|| panic!("{}", context("", &events)));
    assert_eq!(aborted["status"], "aborted", "{}", context("", &events));
    let (_, again) = ros_goals(&s, "second", &["4"]);
    let result = result_of(&again, 4).unwrap_or_else(|| panic!("{}", context("", &again)));
    assert_eq!(result["status"], "succeeded", "{}", context("", &again));
    assert_eq!(ros_sequence(result), fibonacci(4));
    dora.stop();
}

#[test]
fn dora_stop_aborts_the_goal_of_a_ros_client_before_the_bridge_leaves() {
    let s = Scenario::new(139);
    let mut dora = served_action(&s, FIBONACCI, &[("HANDLER_PERIOD", "0.5")], &[]);
    let mut client = s.python(
        "client",
        "ros_action_client.py",
        &["/count", "40", "--wait", "60", "--timeout", "60"],
    );
    let fed = wait_json(&client, Duration::from_secs(90), |v| {
        v["event"] == "feedback"
    });
    assert!(fed.is_some(), "{}\n{}", dump(&client), s.node_logs());
    dora.stop();
    let result = wait_json(&client, Duration::from_secs(20), |v| v["event"] == "result");
    let context = format!("{}\n{}", dump(&client), s.node_logs());
    let result = result.unwrap_or_else(|| panic!("no result\n{context}"));
    assert_eq!(result["status"], "aborted", "{context}");
    assert!(
        client.wait_exit(Duration::from_secs(10)).is_some(),
        "{context}"
    );
}

#[test]
fn a_dora_handler_accepts_and_rejects_goals_and_undecided_ones_are_rejected() {
    let s = Scenario::new(192);
    s.write(
        "bridge.yaml",
        &format!(
            "action_servers:\n\
             \x20 - {{action: /count, type: {FIBONACCI}, goal: count_goal, cancel: count_cancel, \
             feedback: count_feedback, result: count_result, accept: count_accept, accept_timeout: 2s}}\n"
        ),
    );
    let bridge = Node::bridge("--config bridge.yaml")
        .lossless_input("count_feedback", "handler/feedback", 1000)
        .lossless_input("count_result", "handler/result", 100)
        .lossless_input("count_accept", "handler/accept", 100)
        .input("keepalive", "dora/timer/secs/1")
        .outputs(["count_goal", "count_cancel"]);
    let handler = Node::python("handler", "dora_action_handler.py")
        .env("HANDLER_DECIDES", "3")
        .lossless_input("goal", "bridge/count_goal", 100)
        .lossless_input("cancel", "bridge/count_cancel", 100)
        .outputs(["feedback", "result", "accept"]);
    let mut dora = s.dora_run(&Dataflow::new().node(bridge).node(handler).yaml());
    let (client, events) = ros_goals(&s, "client", &["4", "1", "99"]);
    let context = format!("{events:#?}\n{}\n{}", dump(&client), s.node_logs());
    let decision = |order: i64| {
        events
            .iter()
            .find(|e| e["order"] == order && (e["event"] == "accepted" || e["event"] == "rejected"))
            .map(|e| e["event"].clone())
    };
    assert_eq!(decision(4), Some("accepted".into()), "{context}");
    assert_eq!(decision(1), Some("rejected".into()), "{context}");
    assert_eq!(decision(99), Some("rejected".into()), "{context}");
    let result = result_of(&events, 4).unwrap_or_else(|| panic!("{context}"));
    assert_eq!(result["status"], "succeeded", "{context}");
    assert_eq!(ros_sequence(result), fibonacci(4), "{context}");
    assert!(result_of(&events, 1).is_none(), "{context}");
    let bridge_log = s.node_logs();
    assert!(
        bridge_log.contains("the handler rejected goal")
            && bridge_log.contains("order 1 is too small"),
        "{context}"
    );
    assert!(
        bridge_log.contains("neither accepted nor rejected it within 2s"),
        "{context}"
    );
    dora.stop();
}
