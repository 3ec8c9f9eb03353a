//! Routing controls with real rclpy nodes and dora dataflows: rate limits
//! both ways (the rest counted as throttled, not lost).

mod common;
use common::*;
use serde_json::Value;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

/// Messages per second over the `seconds` after the first `skip`
/// seconds of `times` (wall-clock arrival times).
fn rate_after(times: &[f64], skip: f64, seconds: f64) -> f64 {
    let Some(first) = times.first() else {
        return 0.0;
    };
    let (from, to) = (first + skip, first + skip + seconds);
    times.iter().filter(|&&t| t >= from && t < to).count() as f64 / seconds
}

#[test]
fn a_100_hz_topic_at_max_rate_10_arrives_at_10_hz_the_rest_throttled() {
    let s = Scenario::new(186);
    let _fast = s.python(
        "fast",
        "ros_pub.py",
        &["/fast", "std_msgs/msg/String", r#"{"data": "x"}"#, "100"],
    );
    s.write(
        "bridge.yaml",
        "from_ros:\n  - {topic: /fast, type: std_msgs/msg/String, output: fast, max_rate: 10}\n\
         stats: {output: stats}\n",
    );
    let dora = s.bridge_to_recorder("--config bridge.yaml", &["fast", "stats"]);
    let context = |what: &str| format!("{what}\n{}\n{}", dump(&dora), s.node_logs());
    let times = || -> Vec<f64> {
        s.records("received.jsonl")
            .iter()
            .filter(|r| r["id"] == "fast")
            .filter_map(|r| r["t"].as_f64())
            .collect()
    };
    // 2 s to settle, then 6 s measured.
    let arrived = s.wait_for_record("received.jsonl", WAIT, |_| {
        times()
            .last()
            .zip(times().first())
            .is_some_and(|(l, f)| l - f >= 8.5)
    });
    assert!(arrived.is_some(), "{}", context("the route never ran 8 s"));
    let rate = rate_after(&times(), 2.0, 6.0);
    assert!(
        (9.0..=11.0).contains(&rate),
        "{}",
        context(&format!("{rate} Hz"))
    );
    let row = wait_for_stats(&s, "from_ros[0]", WAIT, |r| {
        r["throttled"].as_u64() > Some(100)
    })
    .unwrap_or_else(|| panic!("{}", context("nothing throttled")));
    let count = |name: &str| row[name].as_u64().unwrap();
    assert_eq!(
        count("dropped_queue_full") + count("dropped_by_middleware"),
        0,
        "{row}"
    );
    // Taken = sent + skipped, give or take the one held and those in flight.
    let (received, accounted) = (count("received"), count("forwarded") + count("throttled"));
    assert!(received >= accounted && received - accounted <= 3, "{row}");
}

#[test]
fn a_50_hz_dora_output_at_max_rate_5_reaches_ros_at_5_hz() {
    let s = Scenario::new(187);
    s.write(
        "bridge.yaml",
        "to_ros:\n  - {input: cmd, topic: /slow_cmd, type: std_msgs/msg/String, max_rate: 5}\n\
         stats: {log_interval: 1s}\n",
    );
    let subscriber = s.python(
        "subscriber",
        "ros_sub.py",
        &["/slow_cmd", "std_msgs/msg/String"],
    );
    assert!(
        subscriber.wait_for_line(WAIT, |l| l == "ready").is_some(),
        "{}",
        dump(&subscriber)
    );
    let sender = Node::python("sender", "dora_send.py")
        .env("SEND_OUTPUT", "cmd")
        .env("SEND_JSON", r#"[{"data": "go"}]"#)
        .input("tick", "dora/timer/millis/20")
        .output("cmd");
    let bridge = Node::bridge("--config bridge.yaml")
        .lossless_input("cmd", "sender/cmd", 100)
        .input("keepalive", "dora/timer/secs/1");
    let dora = s.dora_run(&Dataflow::new().node(sender).node(bridge).yaml());
    let times = || -> Vec<f64> {
        subscriber
            .output()
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|v| v["t"].as_f64())
            .collect()
    };
    let ran = subscriber.wait_for_line(WAIT, |_| {
        times()
            .last()
            .zip(times().first())
            .is_some_and(|(l, f)| l - f >= 8.5)
    });
    assert!(ran.is_some(), "{}\n{}", dump(&subscriber), dump(&dora));
    let rate = rate_after(&times(), 2.0, 6.0);
    assert!((4.5..=5.5).contains(&rate), "{rate} Hz\n{}", dump(&dora));
    let throttled = dora.wait_for_line(WAIT, |l| {
        l.contains("stats to_ros[0] /slow_cmd")
            && l.split_whitespace().any(|c| {
                c.strip_prefix("throttled=")
                    .and_then(|n| n.parse::<u64>().ok())
                    > Some(100)
            })
    });
    assert!(throttled.is_some(), "{}", dump(&dora));
}

#[test]
fn an_everything_route_leaves_out_system_and_excluded_topics_and_discover_says_so() {
    let s = Scenario::new(188);
    let topics = [
        ("/a/x", "std_msgs/msg/String", r#"{"data": "a"}"#),
        ("/b/y", "std_msgs/msg/String", r#"{"data": "b"}"#),
        ("/secret/z", "std_msgs/msg/String", r#"{"data": "no"}"#),
        ("/clock", "rosgraph_msgs/msg/Clock", "{}"),
    ];
    let _publishers: Vec<Proc> = topics
        .iter()
        .enumerate()
        .map(|(i, (topic, type_name, json))| {
            let node = format!("pub_{i}");
            s.python(
                &node,
                "ros_pub.py",
                &[topic, type_name, json, "10", "--node", &node],
            )
        })
        .collect();
    // What the route would take, before running it.
    let out = s
        .command(bridge_bin())
        .args([
            "discover",
            "--wait",
            "10s",
            "--match",
            ".*",
            "--exclude",
            "^/secret/",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let takes = text
        .lines()
        .find(|l| l.starts_with("# match `.*` would take"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(takes.ends_with("2 topic(s): /a/x, /b/y"), "{text}");
    let leaves = text
        .lines()
        .find(|l| l.contains("and leave out:"))
        .unwrap_or("");
    for left in [
        "/clock (system topic)",
        "/rosout (system topic)",
        "/secret/z (exclude)",
    ] {
        assert!(leaves.contains(left), "{left}: {text}");
    }
    s.write(
        "bridge.yaml",
        "from_ros:\n  - {match: '.*', output: everything, exclude: ['^/secret/']}\n",
    );
    let dora = s.bridge_to_recorder("--config bridge.yaml", &["everything"]);
    let arrived = || -> Vec<String> {
        s.records("received.jsonl")
            .iter()
            .filter_map(|r| r["metadata"]["ros_topic"].as_str().map(str::to_string))
            .collect()
    };
    // 30 messages of each wanted topic: 3 s in which the others, at the
    // same rate, would have arrived too.
    let enough = s.wait_for_record("received.jsonl", WAIT, |_| {
        let all = arrived();
        ["/a/x", "/b/y"]
            .iter()
            .all(|t| all.iter().filter(|a| a == t).count() >= 30)
    });
    let seen: std::collections::BTreeSet<String> = arrived().into_iter().collect();
    assert!(
        enough.is_some(),
        "{seen:?}\n{}\n{}",
        dump(&dora),
        s.node_logs()
    );
    assert_eq!(
        seen.iter().map(String::as_str).collect::<Vec<_>>(),
        ["/a/x", "/b/y"],
        "{}",
        s.node_logs()
    );
    // `bag record --all -x`: the same exclusion when recording.
    let record = s
        .command(bridge_bin())
        .args([
            "bag",
            "record",
            "-o",
            "bag",
            "--all",
            "-x",
            "^/secret/",
            "-x",
            "^/clock$",
        ])
        .args(["--duration", "4s"])
        .output()
        .unwrap();
    assert!(
        record.status.success(),
        "{}",
        String::from_utf8_lossy(&record.stderr)
    );
    let info = s
        .command(bridge_bin())
        .args(["bag", "info", "bag"])
        .output()
        .unwrap();
    let info = String::from_utf8_lossy(&info.stdout).into_owned();
    for (topic, recorded) in [
        ("/a/x", true),
        ("/b/y", true),
        ("/secret/z", false),
        ("/clock", false),
    ] {
        assert_eq!(info.contains(topic), recorded, "{topic}: {info}");
    }
}

/// Two robots with the same topic names (one under /robot1, one under
/// /robot2, whose odometry is called `odometry`), two bridges in one
/// dataflow with the same routes: each robot's data stays its own, and
/// each robot's commands reach only it.
#[test]
fn two_robots_with_the_same_topic_names_are_kept_apart() {
    let s = Scenario::new(189);
    let robot_topic = |robot: usize| match robot {
        1 => "/robot1/odom",
        _ => "/robot2/odometry",
    };
    let mut robots = Vec::new();
    for robot in [1, 2] {
        let data = format!(r#"{{"data": "from robot{robot}"}}"#);
        let node = format!("odometry{robot}");
        robots.push(s.python(
            &node,
            "ros_pub.py",
            &[
                robot_topic(robot),
                "std_msgs/msg/String",
                &data,
                "10",
                "--node",
                &node,
            ],
        ));
        let driver = s.python(
            &format!("driver{robot}"),
            "ros_sub.py",
            &[&format!("/robot{robot}/cmd_vel"), "std_msgs/msg/String"],
        );
        assert!(
            driver.wait_for_line(WAIT, |l| l == "ready").is_some(),
            "{}",
            dump(&driver)
        );
        robots.push(driver);
    }
    // The same routes for both, with relative names; robot2's bridge
    // remaps `odom` to what that robot calls it.
    let routes = "from_ros:\n  - {topic: odom, type: std_msgs/msg/String, output: odom}\n\
                  to_ros:\n  - {input: cmd, topic: cmd_vel, type: std_msgs/msg/String}\n";
    s.write(
        "robot1.yaml",
        &format!("ros: {{namespace: /robot1}}\n{routes}"),
    );
    s.write(
        "robot2.yaml",
        &format!("ros: {{namespace: /robot2, remap: {{odom: odometry}}}}\n{routes}"),
    );
    let mut dataflow = Dataflow::new();
    let mut recorder = s.recorder();
    for robot in [1, 2] {
        let bridge = format!("bridge{robot}");
        let sender = format!("commander{robot}");
        dataflow = dataflow
            .node(
                Node::new(&bridge, bridge_bin())
                    .args(&format!("--config robot{robot}.yaml"))
                    .lossless_input("cmd", &format!("{sender}/cmd"), 100)
                    .input("keepalive", "dora/timer/secs/1")
                    .output("odom"),
            )
            .node(
                Node::python(&sender, "dora_send.py")
                    .env("SEND_OUTPUT", "cmd")
                    .env("SEND_JSON", format!(r#"[{{"data": "to robot{robot}"}}]"#))
                    .input("tick", "dora/timer/millis/100")
                    .output("cmd"),
            );
        recorder = recorder.lossless_input(&format!("odom{robot}"), &format!("{bridge}/odom"), 100);
    }
    let dora = s.dora_run(&dataflow.node(recorder).yaml());
    let context = |what: &str| format!("{what}\n{}\n{}", dump(&dora), s.node_logs());
    let enough = s.wait_for_record("received.jsonl", WAIT, |_| {
        let records = s.records("received.jsonl");
        ["odom1", "odom2"]
            .iter()
            .all(|id| records.iter().filter(|r| r["id"] == *id).count() >= 10)
    });
    assert!(
        enough.is_some(),
        "{}",
        context("both robots' odometry never arrived")
    );
    for record in s
        .records("received.jsonl")
        .iter()
        .filter(|r| r["event"] == "INPUT")
    {
        let robot = if record["id"] == "odom1" { 1 } else { 2 };
        assert_eq!(
            record["value"][0]["data"],
            format!("from robot{robot}"),
            "{record}"
        );
        assert_eq!(
            record["metadata"]["ros_topic"],
            robot_topic(robot),
            "{record}"
        );
    }
    for robot in [1, 2] {
        let driver = &robots[2 * robot - 1];
        let mine = format!("to robot{robot}");
        // Ten of its own: a second in which the other's would have come too.
        let own = || driver.output().iter().filter(|l| l.contains(&mine)).count();
        assert!(
            driver.wait_for_line(WAIT, |_| own() >= 10).is_some(),
            "{}",
            context(&dump(driver))
        );
        let other = format!("to robot{}", 3 - robot);
        assert!(
            !driver.output().iter().any(|l| l.contains(&other)),
            "{}",
            dump(driver)
        );
    }
}

#[test]
fn a_dora_node_reads_and_sets_an_rclpy_nodes_parameters_and_sees_the_event() {
    let s = Scenario::new(191);
    let controller = s.python("controller", "ros_param_node.py", &["controller"]);
    controller
        .wait_for_line(WAIT, |l| l == "ready")
        .expect("the rclpy node never came up");
    s.write(
        "bridge.yaml",
        "from_ros:\n  - {topic: /parameter_events, type: rcl_interfaces/msg/ParameterEvent, output: param_events}\n\
         parameter_clients:\n  - {node: /controller, request: params, response: params_answer}\n  \
         - {node: nobody, request: nobody, response: nobody_answer, timeout: 1s}\n",
    );
    let bridge = Node::bridge("--config bridge.yaml")
        .lossless_input("params", "caller/params", 100)
        .lossless_input("nobody", "caller/nobody", 100)
        .input("keepalive", "dora/timer/secs/1")
        .outputs(["params_answer", "nobody_answer", "param_events"]);
    let mut caller = Node::python("caller", "dora_param_client.py")
        .env("RESULT_FILE", p(&s.path("results.jsonl")))
        .input("tick", "dora/timer/millis/500")
        .outputs(["params", "nobody"]);
    for input in ["params_answer", "nobody_answer", "param_events"] {
        caller = caller.lossless_input(input, &format!("bridge/{input}"), 100);
    }
    let mut dora = s.dora_run(&Dataflow::new().node(bridge).node(caller).yaml());
    let context = || {
        format!(
            "{:?}\n{}\n{}",
            s.records("results.jsonl"),
            dump(&dora),
            s.node_logs()
        )
    };
    let answer = |id: &str| -> Value {
        s.wait_for_record("results.jsonl", WAIT, |r| r["id"] == id)
            .unwrap_or_else(|| panic!("no answer {id}\n{}", context()))
    };
    let listed = answer("list");
    let names = &listed["row"]["names"];
    for name in ["gain", "mode", "limits", "robot_id"] {
        assert!(
            names.as_array().is_some_and(|n| n.contains(&name.into())),
            "{listed}"
        );
    }
    let gain = answer("get-gain");
    assert_eq!(gain["error"], Value::Null, "{gain}");
    assert_eq!(gain["row"]["type"], "double", "{gain}");
    assert_eq!(gain["row"]["value"], 1.5, "{gain}");
    assert_eq!(gain["row"]["node"], "/controller", "{gain}");
    let limits = answer("get-limits");
    assert_eq!(limits["row"]["type"], "double_array", "{limits}");
    assert_eq!(
        limits["row"]["value"],
        serde_json::json!([0.5, 2.0]),
        "{limits}"
    );
    let described = answer("describe-robot_id");
    assert_eq!(described["row"]["type"], "integer", "{described}");
    assert_eq!(described["row"]["read_only"], true, "{described}");
    let mismatch = answer("set-gain-string");
    assert_eq!(mismatch["error_code"], "type_mismatch", "{mismatch}");
    assert_eq!(mismatch["row"]["name"], "gain", "{mismatch}");
    let read_only = answer("set-robot_id");
    assert_eq!(read_only["error_code"], "read_only", "{read_only}");
    assert!(
        read_only["error"]
            .as_str()
            .is_some_and(|e| e.contains("read-only")),
        "{read_only}"
    );
    let missing = answer("get-missing");
    assert_eq!(missing["error_code"], "no_parameter", "{missing}");
    let nobody = answer("nobody-get");
    assert_eq!(nobody["error_code"], "node_missing", "{nobody}");
    assert!(
        nobody["error"]
            .as_str()
            .is_some_and(|e| e.contains("no node /nobody")),
        "{nobody}"
    );
    let set = answer("set-gain");
    assert_eq!(set["error"], Value::Null, "{set}");
    assert_eq!(set["row"]["value"], 2.5, "{set}");
    let after = answer("get-gain-after");
    assert_eq!(after["row"]["value"], 2.5, "{after}");
    let event = s.wait_for_record("results.jsonl", WAIT, |r| {
        r["event"] == "/controller" && r["changed"]["gain"] == 2.5
    });
    assert!(event.is_some(), "no parameter event\n{}", context());
    dora.stop();
}
