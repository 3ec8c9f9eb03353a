use anyhow::Context;
use clap::{Parser, Subcommand};
use ros2_dora_bridge::admin;
use ros2_dora_bridge::bridge::{self, RunOptions};
use ros2_dora_bridge::codec::{CodecOptions, MessageCodec};
use ros2_dora_bridge::config::admin::DEFAULT_ADMIN_ADDRESS;
use ros2_dora_bridge::config::{AdminAddress, Config};
use ros2_dora_bridge::logging::{self, LogFormat};
use ros2_dora_bridge::msg::{TypeName, TypeRegistry};
use std::path::PathBuf;
use std::process::ExitCode;

/// See Cargo.toml: glibc's malloc was a third of the bridge's CPU under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CONFIG_ENV: &str = "ROS2_DORA_BRIDGE_CONFIG";

/// Bridge ROS 2 topics and dora-rs dataflows, both ways, as typed Apache Arrow.
///
/// Without a subcommand, runs as a dora node: declare it in a dataflow YAML
/// (`path: ros2-dora-bridge`, `args: --config bridge.yaml`) or start it as a
/// dynamic node with `--dynamic ID`. Arguments after `--ros-args` go to rcl
/// (remapping, `-r __node:=name`, `-r __ns:=/ns`).
#[derive(Parser, Debug)]
#[command(
    name = "ros2-dora-bridge",
    version,
    after_help = "Docs: docs/configuration.md, docs/arrow-mapping.md"
)]
struct Cli {
    /// Bridge config file (YAML). Default: the file named by $ROS2_DORA_BRIDGE_CONFIG.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Connect as dora dynamic node ID (YAML `path: dynamic`), e.g. when started from a ROS launch file.
    #[arg(long, value_name = "ID")]
    dynamic: Option<String>,
    /// Keep Fast DDS's default 512 KB shared-memory segment. Without this, and
    /// with no Fast DDS profile set, the bridge (and `bag play`) gives itself a
    /// 32 MB segment so that large messages it publishes are not held up.
    #[arg(long)]
    fastdds_defaults: bool,
    /// `text` for people; `json`: one JSON object per line (timestamp,
    /// level, fields), for log collectors.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print the Arrow schema of a ROS message type (e.g. sensor_msgs/msg/Image),
    /// of a service's request and response, or of an action's goal, feedback and result.
    Schema {
        /// `pkg/msg/Type`, `pkg/srv/Type` or `pkg/action/Type`
        #[arg(value_name = "TYPE")]
        msg_type: String,
        /// Show `uint8[]` fields as Binary instead of List<UInt8>.
        #[arg(long)]
        bytes_as_binary: bool,
        /// `text` for people; `arrow-ipc` writes an Arrow IPC stream (for
        /// pyarrow's `ipc.open_stream`) of one row: a column per part
        /// (`message`, `request`/`response`, `goal`/`feedback`/`result`)
        /// holding its default message, in the exact types the bridge uses.
        #[arg(long, value_enum, default_value_t = SchemaFormat::Text)]
        format: SchemaFormat,
    },
    /// Validate a config file against the installed ROS types; exit 0 if valid, 1 if not.
    ///
    /// With --dataflow, also check it against the dataflow YAML: every route's
    /// output and input declared on the bridge's node, and every dora input
    /// on a reliable route's path set up to lose nothing (warnings, with the
    /// YAML to set).
    Check {
        /// The config file to check. Default: the file named by $ROS2_DORA_BRIDGE_CONFIG.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// The dora dataflow YAML the bridge runs in.
        #[arg(long, value_name = "FILE")]
        dataflow: Option<PathBuf>,
        /// The bridge's node id in the dataflow (default: the node whose
        /// `path` runs ros2-dora-bridge).
        #[arg(long, value_name = "ID", requires = "dataflow")]
        node: Option<String>,
    },
    /// List ROS topics, types and publishers (with QoS), services and actions, and print a
    /// starter config.
    Discover {
        /// The longest to wait for the graph to settle (it returns once the
        /// nodes, topics and services have not changed for 3.5 s, one DDS
        /// announcement period; an empty graph waits it out).
        #[arg(long, default_value = "8s", value_parser = parse_wait)]
        wait: std::time::Duration,
        /// Also write the starter into DIR as bridge.yaml, dataflow.yml and
        /// your_node.py, which `dora run dataflow.yml` starts as they are.
        #[arg(long, value_name = "DIR")]
        starter: Option<PathBuf>,
        /// Show which topics a `match:` route of this regex would take, and
        /// which it leaves out (system topics, --exclude) and why.
        #[arg(long = "match", value_name = "REGEX")]
        pattern: Option<String>,
        /// With --match: the route's `exclude` patterns (repeatable).
        #[arg(long, value_name = "REGEX", requires = "pattern")]
        exclude: Vec<String>,
        /// With --match: the route's `system_topics: true`.
        #[arg(long, requires = "pattern")]
        system_topics: bool,
    },
    /// Print a running bridge's routes once: peers, rates, counters (from
    /// its admin endpoint, `admin:` in its config).
    Status {
        /// The bridge's admin address: host:port or a Unix socket path.
        #[arg(long, value_name = "ADDRESS", default_value = DEFAULT_ADMIN_ADDRESS, value_parser = parse_admin)]
        connect: AdminAddress,
        /// Print the endpoint's JSON (`/status`) instead of a table.
        #[arg(long, conflicts_with = "metrics")]
        json: bool,
        /// Print the endpoint's Prometheus metrics (`/metrics`).
        #[arg(long)]
        metrics: bool,
    },
    /// Show a running bridge's routes live in the terminal (q quits).
    Top {
        /// The bridge's admin address: host:port or a Unix socket path.
        #[arg(long, value_name = "ADDRESS", default_value = DEFAULT_ADMIN_ADDRESS, value_parser = parse_admin)]
        connect: AdminAddress,
        /// How often to refresh.
        #[arg(long, default_value = "1s", value_parser = parse_wait)]
        interval: std::time::Duration,
    },
    /// Print the bridge's Fast DDS profile for large messages (a 32 MB
    /// shared-memory segment), for the ROS nodes that publish or take them:
    /// `ros2-dora-bridge fastdds-profile > large.xml`, then
    /// FASTRTPS_DEFAULT_PROFILES_FILE=$PWD/large.xml in their environment
    /// (FASTDDS_DEFAULT_PROFILES_FILE on Kilted and later).
    FastddsProfile,
    /// rosbag2 bags (MCAP, sqlite3): play onto ROS, inspect.
    /// To replay a bag into a dora dataflow, use `replay:` in the config.
    #[command(subcommand)]
    Bag(BagCommand),
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum SchemaFormat {
    Text,
    ArrowIpc,
}

#[derive(Subcommand, Debug)]
enum BagCommand {
    /// Publish a bag's messages onto ROS topics with the recorded timing and QoS.
    Play {
        /// Bag directory (with metadata.yaml), .mcap or .db3 file.
        bag: PathBuf,
        /// Playback speed factor (2 = twice as fast).
        #[arg(long, default_value_t = 1.0)]
        rate: f64,
        /// Start over at the end, until interrupted.
        #[arg(long = "loop")]
        loop_forever: bool,
        /// Skip this much of the recording's start, e.g. `12.5s`.
        #[arg(long, default_value = "0s", value_parser = parse_wait)]
        start_offset: std::time::Duration,
        /// Only these topics (repeatable); default: all.
        #[arg(long = "topic", value_name = "TOPIC")]
        topics: Vec<String>,
        /// Publish topic FROM as TO (repeatable): `--remap /camera:=/replayed/camera`.
        #[arg(long, value_name = "FROM:=TO", value_parser = ros2_dora_bridge::bag::play::parse_remap)]
        remap: Vec<(String, String)>,
        /// Wait after advertising, before the first message (lets subscribers match).
        #[arg(long, default_value = "1s", value_parser = parse_wait)]
        delay: std::time::Duration,
        /// First wait (up to 30 s) until every played topic has a subscriber.
        #[arg(long)]
        wait_for_subscribers: bool,
        /// Publish /clock from the bag's time (scaled by --rate), HZ times a
        /// second (default 40), for nodes with use_sim_time.
        #[arg(long, value_name = "HZ", num_args = 0..=1, default_missing_value = "40")]
        clock: Option<f64>,
        /// Keep Fast DDS's default 512 KB shared-memory segment (see the
        /// bridge's own --fastdds-defaults).
        #[arg(long)]
        fastdds_defaults: bool,
    },
    /// Print a bag's storage, duration, topics with types, counts and QoS.
    Info { bag: PathBuf },
    /// Record ROS topics into a new rosbag2 bag (MCAP), until Ctrl-C or --duration.
    Record {
        /// Topics to record (besides --regex and --all).
        topics: Vec<String>,
        /// Bag directory to create.
        #[arg(long, short)]
        output: PathBuf,
        /// Also record every topic whose name matches this regex.
        #[arg(long, short = 'e')]
        regex: Option<String>,
        /// Record every topic (except /rosout and /parameter_events).
        #[arg(long, short)]
        all: bool,
        /// Leave out every topic this regex matches, unless named
        /// (repeatable), e.g. `-x '^/camera/.*/compressed'`.
        #[arg(long = "exclude-regex", short = 'x', value_name = "REGEX")]
        exclude: Vec<String>,
        /// Stop after this long, e.g. `30s`.
        #[arg(long, value_parser = parse_wait)]
        duration: Option<std::time::Duration>,
        /// Start a new file (<bag>_1.mcap, ...) after this many message bytes,
        /// e.g. `512MB`, `1GB` (powers of 1024) or plain bytes.
        #[arg(long, short = 'b', value_parser = ros2_dora_bridge::config::parse_size)]
        max_bag_size: Option<u64>,
        /// Start a new file after this long, e.g. `60s` or `5m`.
        #[arg(long, short = 'd', value_parser = parse_wait)]
        max_bag_duration: Option<std::time::Duration>,
        /// MCAP chunk compression: none, zstd or lz4 (costs CPU while recording).
        #[arg(long, default_value = "none")]
        compression: ros2_dora_bridge::config::BagCompression,
        /// Stamp messages with ROS time from /clock (like `--ros-args -p
        /// use_sim_time:=true`), as when recording a simulation or a bag played with --clock.
        #[arg(long)]
        use_sim_time: bool,
    },
}

/// `bag record`'s topic arguments as one matcher. The recorder's node
/// lives in `/`, so a relative name is resolved there.
fn record_topics(
    names: Vec<String>,
    regex: Option<String>,
    all: bool,
    exclude: &[String],
) -> anyhow::Result<ros2_dora_bridge::topics::TopicMatcher> {
    use ros2_dora_bridge::topics::{TopicMatcher, TopicSelector};
    let mut selectors: Vec<TopicSelector> = names
        .into_iter()
        .map(|t| match t.starts_with('/') {
            true => TopicSelector::Topic(t),
            false => TopicSelector::Topic(format!("/{t}")),
        })
        .collect();
    if let Some(r) = regex {
        let re = regex::Regex::new(&r).with_context(|| format!("--regex `{r}`"))?;
        selectors.push(TopicSelector::Pattern(re));
    }
    let excluded = exclude
        .iter()
        .map(|x| regex::Regex::new(x).with_context(|| format!("--exclude-regex `{x}`")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let topics = TopicMatcher::new(selectors);
    let topics = match all {
        true => ros2_dora_bridge::bag::record::record_all(topics),
        false => topics,
    };
    Ok(topics.excluding_patterns(excluded))
}

/// The `from_ros` route `discover --match` previews, read as the config
/// would read it.
fn preview_route(
    pattern: &str,
    exclude: &[String],
    system_topics: bool,
) -> anyhow::Result<ros2_dora_bridge::config::FromRos> {
    let yaml = serde_json::json!({"from_ros": [{
        "match": pattern, "output": "preview", "exclude": exclude, "system_topics": system_topics,
    }]});
    let mut config = Config::from_yaml(&yaml.to_string()).context("--match")?;
    Ok(config.from_ros.remove(0))
}

fn parse_admin(text: &str) -> Result<AdminAddress, String> {
    AdminAddress::parse(text).map_err(|e| e.to_string())
}

fn parse_wait(text: &str) -> Result<std::time::Duration, String> {
    ros2_dora_bridge::config::parse_duration(text)
}

fn main() -> ExitCode {
    // rcl gets everything from `--ros-args` on; clap gets the rest.
    let argv: Vec<String> = std::env::args().collect();
    let split = argv
        .iter()
        .position(|a| a == "--ros-args")
        .unwrap_or(argv.len());
    let mut rcl_args = vec![argv[0].clone()];
    rcl_args.extend_from_slice(&argv[split..]);
    let cli = Cli::parse_from(&argv[..split]);

    logging::init(cli.log_format);
    let log_format = cli.log_format;
    // The bridge's config is read and its types resolved before anything
    // else is logged: a fatal config error is then its only line.
    let bridge_config = match cli.command {
        None => match load_config(cli.config.clone()).and_then(|config| {
            ros2_dora_bridge::check::preflight(&config, &TypeRegistry::from_environment())
                .map(|()| config)
        }) {
            Ok(config) => Some(config),
            Err(e) => return fail(&e, log_format),
        },
        Some(_) => None,
    };

    // Before any thread: this sets the environment Fast DDS reads.
    let own_profile = match &cli.command {
        None => !cli.fastdds_defaults,
        Some(Command::Bag(BagCommand::Play {
            fastdds_defaults, ..
        })) => !fastdds_defaults,
        Some(_) => false,
    };
    let _fastdds_profile = own_profile
        .then(ros2_dora_bridge::ros::fastdds::use_large_messages_profile_by_default)
        .flatten();

    match dispatch(cli, rcl_args, bridge_config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e, log_format),
    }
}

fn fail(e: &anyhow::Error, format: LogFormat) -> ExitCode {
    match format {
        LogFormat::Json => tracing::error!("{e:#}"),
        LogFormat::Text => eprintln!("ros2-dora-bridge: error: {e:#}"),
    }
    ExitCode::FAILURE
}

/// Runs the command; `bridge_config` is the bridge's config, read when
/// there is no command.
fn dispatch(cli: Cli, rcl_args: Vec<String>, bridge_config: Option<Config>) -> anyhow::Result<()> {
    match cli.command {
        Some(Command::Schema {
            msg_type,
            bytes_as_binary,
            format,
        }) => print_schema(&msg_type, bytes_as_binary, format),
        Some(Command::Check {
            config,
            dataflow,
            node,
        }) => check(
            &load_config(config.or(cli.config))?,
            dataflow.as_deref(),
            node.as_deref(),
        ),
        Some(Command::Bag(command)) => bag_command(command, rcl_args),
        Some(Command::Status {
            connect,
            json,
            metrics,
        }) => {
            let text = match (json, metrics) {
                (true, _) => admin::client::get(&connect, "/status")? + "\n",
                (_, true) => admin::client::get(&connect, "/metrics")?,
                _ => admin::display::text(&admin::client::view(&connect)?),
            };
            emit(&text)
        }
        Some(Command::Top { connect, interval }) => admin::top::run(&connect, interval),
        Some(Command::FastddsProfile) => {
            emit(ros2_dora_bridge::ros::fastdds::large_messages_profile())
        }
        Some(Command::Discover {
            wait,
            starter,
            pattern,
            exclude,
            system_topics,
        }) => {
            let preview = pattern
                .map(|p| preview_route(&p, &exclude, system_topics))
                .transpose()?;
            let found = ros2_dora_bridge::discover::discover(
                &rcl_args,
                wait,
                starter.as_deref(),
                preview.as_ref(),
            )?;
            emit(&found)?;
            Ok(())
        }
        None => {
            let config = bridge_config.context("the bridge's config was not read")?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .context("cannot start the async runtime")?;
            runtime.block_on(bridge::run(RunOptions {
                config,
                dynamic_id: cli.dynamic,
                rcl_args,
            }))
        }
    }
}

fn load_config(path: Option<PathBuf>) -> anyhow::Result<Config> {
    let path = match path.or_else(|| std::env::var_os(CONFIG_ENV).map(PathBuf::from)) {
        Some(p) => p,
        None => anyhow::bail!(
            "no config given: pass `--config FILE` or set {CONFIG_ENV}=FILE \
             (see config/example.yaml for the format)"
        ),
    };
    Config::from_file(&path)
}

/// A message type's Arrow layout; for a service type (`pkg/srv/Type`),
/// the layouts of its request and its response; for an action type
/// (`pkg/action/Type`), those of its goal, feedback and result (the rows
/// dora nodes see).
fn print_schema(
    type_text: &str,
    bytes_as_binary: bool,
    format: SchemaFormat,
) -> anyhow::Result<()> {
    let name = TypeName::parse(type_text)?;
    let registry = TypeRegistry::from_environment();
    let options = CodecOptions {
        bytes_as_binary,
        ..CodecOptions::default()
    };
    let parts = name
        .parts()
        .into_iter()
        .map(|(part, type_name)| Ok((part, MessageCodec::new(&registry, &type_name, options)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if format == SchemaFormat::ArrowIpc {
        return emit_bytes(&ros2_dora_bridge::codec::type_sheet_ipc(&parts)?);
    }
    let describe = |codec: &MessageCodec| ros2_dora_bridge::codec::describe_schema(&codec.schema());
    if let [("message", codec)] = parts.as_slice() {
        return emit(&describe(codec));
    }
    let text: String = parts
        .iter()
        .map(|(part, codec)| format!("# {part} ({}):\n{}", codec.type_name(), describe(codec)))
        .collect();
    emit(&text)
}

/// Writes command output to stdout; a reader that went away (`| head`)
/// ends the output quietly instead of a panic.
fn emit(text: &str) -> anyhow::Result<()> {
    emit_bytes(text.as_bytes())
}

fn emit_bytes(bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

fn check(
    config: &Config,
    dataflow: Option<&std::path::Path>,
    node: Option<&str>,
) -> anyhow::Result<()> {
    let registry = TypeRegistry::from_environment();
    let report = ros2_dora_bridge::check::check(config, &registry, dataflow, node)?;
    for warning in &report.warnings {
        eprintln!("warning: {warning}\n");
    }
    if !report.problems.is_empty() {
        anyhow::bail!("{}", report.problems.join("\n"));
    }
    println!("config OK: {}", report.summary);
    Ok(())
}

/// `bag play`, `bag record`, `bag info`.
fn bag_command(command: BagCommand, rcl_args: Vec<String>) -> anyhow::Result<()> {
    match command {
        BagCommand::Play {
            bag,
            rate,
            loop_forever,
            start_offset,
            topics,
            remap,
            delay,
            wait_for_subscribers,
            clock,
            fastdds_defaults: _,
        } => ros2_dora_bridge::bag::play::play(ros2_dora_bridge::bag::play::PlayOptions {
            bag,
            rate,
            loop_forever,
            start_offset,
            topics,
            remap,
            delay,
            wait_for_subscribers,
            clock_hz: clock,
            rcl_args,
        }),
        BagCommand::Record {
            topics,
            output,
            regex,
            all,
            exclude,
            duration,
            max_bag_size,
            max_bag_duration,
            compression,
            use_sim_time,
        } => {
            let topics = record_topics(topics, regex, all, &exclude)?;
            let stop = ros2_dora_bridge::bag::play::stop_on_signals()?;
            ros2_dora_bridge::bag::record::record(
                ros2_dora_bridge::bag::record::RecordOptions {
                    output,
                    topics,
                    duration,
                    split: ros2_dora_bridge::bag::writer::SplitLimits {
                        max_bytes: max_bag_size,
                        max_duration: max_bag_duration,
                    },
                    compression,
                    use_sim_time,
                    rcl_args,
                },
                stop,
            )
        }
        BagCommand::Info { bag } => emit(&ros2_dora_bridge::bag::describe(
            &ros2_dora_bridge::bag::Bag::open(&bag)?,
        )),
    }
}
