//! The live view of a running bridge: rates and peers in the stats rows
//! and log, the admin endpoint read by `status`, scraped by a real
//! Prometheus server (Debian's), and `top` in a real terminal (tmux).

mod common;
use common::*;
use ros2_dora_bridge::admin::client;
use ros2_dora_bridge::config::AdminAddress;
use std::net::TcpListener;
use std::time::{Duration, Instant};

/// A rate read from the bridge is within 10 % of the publisher's.
const RATE: f64 = 20.0;

fn close_to_rate(value: f64) -> bool {
    (value - RATE).abs() <= RATE * 0.1
}

/// A loopback port free a moment ago (the kernel does not hand it out
/// again at once).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn chatter(s: &Scenario) -> Proc {
    s.python(
        "talker",
        "ros_pub.py",
        &[
            "/chatter",
            "std_msgs/msg/String",
            r#"{"data": "hello"}"#,
            &RATE.to_string(),
        ],
    )
}

/// The bridge with its admin endpoint on `listen`, feeding a recorder.
fn bridge_with_admin(s: &Scenario, listen: &str) -> Proc {
    s.write(
        "bridge.yaml",
        &format!(
            "from_ros:\n  - {{topic: /chatter, type: std_msgs/msg/String, output: chatter}}\n\
             to_ros:\n  - {{input: back, topic: /back, type: std_msgs/msg/String}}\n\
             stats: {{output: stats}}\n\
             admin: {{listen: \"{listen}\"}}\n"
        ),
    );
    s.bridge_to_recorder_with_inputs(
        "--config bridge.yaml",
        &["chatter", "stats"],
        &[("back", "dora/timer/secs/1")],
    )
}

fn wait_until<T>(timeout: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(found) = probe() {
            return Some(found);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(200)); // polling a server
    }
}

#[test]
fn rates_and_peers_are_live_and_a_publisher_that_leaves_is_said_within_5_s() {
    let s = Scenario::new(179);
    let mut talker = chatter(&s);
    let socket = s.path("admin.sock");
    let dora = bridge_with_admin(&s, &p(&socket));
    let context = |what: &str| format!("{what}\n{}\n{}", dump(&dora), s.node_logs());
    let row = wait_for_stats(&s, "from_ros[0]", Duration::from_secs(60), |r| {
        r["messages_per_s"].as_f64().is_some_and(close_to_rate)
    })
    .unwrap_or_else(|| panic!("{}", context("no stats row with the publisher's rate")));
    assert_eq!(row["peers"], 1, "{row}");
    assert!(row["bytes_per_s"].as_f64().unwrap() > 0.0, "{row}");

    // `status` reads the same through the admin endpoint.
    let address = AdminAddress::Unix(socket.clone());
    let view = client::view(&address).unwrap_or_else(|e| panic!("{}", context(&e.to_string())));
    let route = view
        .routes
        .iter()
        .find(|r| r.route.starts_with("from_ros[0] /chatter"))
        .unwrap_or_else(|| panic!("no from_ros route in {view:?}"));
    assert!(close_to_rate(route.messages_per_s), "{route:?}");
    assert_eq!(route.peers, Some(1), "{route:?}");
    let mut status = s.command(bridge_bin());
    status.args(["status", "--connect", &p(&socket)]);
    let status = status.output().expect("status runs");
    let table = String::from_utf8_lossy(&status.stdout);
    assert!(status.status.success(), "{table}");
    assert!(
        table.lines().any(|l| l.starts_with("from_ros[0] /chatter")),
        "{table}"
    );

    // The publisher leaves: said within 5 s, and the gauge shows it.
    talker.stop();
    let left = Instant::now();
    let said = dora.wait_for_line(Duration::from_secs(5), |l| {
        l.contains("from_ros[0] /chatter: no publisher any more (had 1)")
    });
    assert!(
        said.is_some(),
        "{}",
        context("the publisher's leaving was not said within 5 s")
    );
    assert!(left.elapsed() <= Duration::from_secs(5));
    let gone = wait_until(Duration::from_secs(5), || {
        client::view(&address)
            .ok()?
            .routes
            .into_iter()
            .find(|r| r.route.starts_with("from_ros[0]") && r.peers == Some(0))
    });
    assert!(gone.is_some(), "{}", context("peers never went to 0"));
}

#[test]
fn a_real_prometheus_scrapes_the_bridges_metrics() {
    let s = Scenario::new(180);
    let _talker = chatter(&s);
    let bridge_port = free_port();
    let dora = bridge_with_admin(&s, &format!("127.0.0.1:{bridge_port}"));
    let prometheus_port = free_port();
    let config = s.write(
        "prometheus.yml",
        &format!(
            "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\n\
             scrape_configs:\n  - job_name: bridge\n    static_configs:\n      \
             - targets: ['127.0.0.1:{bridge_port}']\n"
        ),
    );
    let mut cmd = s.command("prometheus");
    cmd.arg(format!("--config.file={}", p(&config)))
        .arg(format!("--storage.tsdb.path={}", p(&s.path("tsdb"))))
        .arg(format!("--web.listen-address=127.0.0.1:{prometheus_port}"));
    let prometheus = s.spawn("prometheus", cmd);
    let api = AdminAddress::Tcp(format!("127.0.0.1:{prometheus_port}").parse().unwrap());
    let query = |q: &str| -> Option<serde_json::Value> {
        let body = client::get(&api, &format!("/api/v1/query?query={q}")).ok()?;
        serde_json::from_str(&body).ok()
    };
    // Prometheus's own query API: the bridge's series with its labels,
    // and a rate it took from them.
    let series = wait_until(Duration::from_secs(60), || {
        let answer = query("ros2_dora_bridge_received_total")?;
        answer["data"]["result"]
            .as_array()?
            .iter()
            .find(|r| {
                r["metric"]["route"] == "from_ros[0] /chatter"
                    && r["metric"]["direction"] == "from_ros"
                    && r["metric"]["job"] == "bridge"
            })
            .cloned()
    })
    .unwrap_or_else(|| {
        panic!(
            "Prometheus shows no bridge series\n{}\n{}\n{}",
            dump(&prometheus),
            dump(&dora),
            s.node_logs()
        )
    });
    let received: f64 = series["value"][1].as_str().unwrap().parse().unwrap();
    assert!(received > 0.0, "{series}");
    let rate = wait_until(Duration::from_secs(30), || {
        let answer = query("ros2_dora_bridge_messages_per_second")?;
        let value = answer["data"]["result"].as_array()?.iter().find_map(|r| {
            (r["metric"]["route"] == "from_ros[0] /chatter")
                .then(|| r["value"][1].as_str()?.parse().ok())
        })??;
        close_to_rate(value).then_some(value)
    });
    assert!(
        rate.is_some(),
        "no rate near {RATE} in Prometheus\n{}",
        dump(&prometheus)
    );
    let up = query("up").unwrap_or_default();
    assert!(up.to_string().contains("\"bridge\""), "{up}");
}

#[test]
fn top_in_a_terminal_shows_a_routes_rate_and_quits_on_q() {
    let s = Scenario::new(181);
    let _talker = chatter(&s);
    let socket = s.path("admin.sock");
    let dora = bridge_with_admin(&s, &p(&socket));
    // A tmux server of this test's own, a terminal of known size.
    let tmux = |args: &[&str]| {
        let mut cmd = s.command("tmux");
        cmd.args(["-L", &format!("bridge-top-{}", s.domain)])
            .args(args);
        cmd.output().expect("tmux runs")
    };
    let top = format!("{} top --connect {}", bridge_bin(), p(&socket));
    let started = tmux(&[
        "new-session",
        "-d",
        "-s",
        "top",
        "-x",
        "180",
        "-y",
        "20",
        &top,
    ]);
    assert!(started.status.success(), "{started:?}");
    let screen =
        || String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", "top"]).stdout).into_owned();
    let shown = wait_until(Duration::from_secs(60), || {
        let text = screen();
        let line = text
            .lines()
            .find(|l| l.contains("from_ros[0] /chatter"))?
            .to_string();
        // ROUTE (two words), DIR, PEERS, MSG/S ...
        let rate: f64 = line
            .trim_matches(|c: char| !c.is_alphanumeric() && c != '[' && c != '/')
            .split_whitespace()
            .nth(4)?
            .parse()
            .ok()?;
        close_to_rate(rate).then_some(text)
    });
    let last = screen();
    let _ = tmux(&["send-keys", "-t", "top", "q"]);
    assert!(
        shown.is_some(),
        "top never showed the route's rate:\n{last}\n{}",
        dump(&dora)
    );
    assert!(shown.unwrap().contains("MSG/S"));
    let quit = wait_until(Duration::from_secs(10), || {
        (!tmux(&["has-session", "-t", "top"]).status.success()).then_some(())
    });
    if quit.is_none() {
        let _ = tmux(&["kill-server"]);
        panic!("top did not quit on q:\n{}", screen());
    }
}

#[test]
fn the_lossless_advice_is_sized_by_the_messages_seen() {
    let s = Scenario::new(184);
    // 240x160 rgb8: 115 kB a message; the suggested queue must hold no
    // more than about 100 MB in dora.
    let (width, height) = (240, 160);
    let image = serde_json::json!({
        "width": width, "height": height, "encoding": "rgb8", "step": width * 3,
        "data": vec![0u8; width * height * 3],
    });
    let file = s.write("image.json", &image.to_string());
    let _camera = s.python(
        "camera",
        "ros_pub.py",
        &[
            "/camera",
            "sensor_msgs/msg/Image",
            &format!("@{}", p(&file)),
            "5",
        ],
    );
    s.write(
        "bridge.yaml",
        "from_ros:\n  - {topic: /camera, type: sensor_msgs/msg/Image, output: image, qos: default}\n",
    );
    let bridge = Node::bridge("--config bridge.yaml").output("image");
    // dora's default delivery: the advice's subject.
    let viewer = s.recorder().input("image", "bridge/image");
    let dora = s.dora_run(&Dataflow::new().node(bridge).node(viewer).yaml());
    dora.wait_for_line(Duration::from_secs(60), |l| l.contains("per message seen"))
        .unwrap_or_else(|| panic!("no sized advice\n{}", dump(&dora)));
    let advice = dora.output().join("\n");
    let size: usize = advice
        .split("queue_size: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no queue size in {advice}"));
    // 100 MB / (10 x 115.2 kB) = 86.
    assert_eq!(size, 86, "{advice}");
    assert!(
        advice.contains("at the 115.2 kB per message seen"),
        "{advice}"
    );
    assert!(advice.contains("`qos: sensor_data`"), "{advice}");
}
