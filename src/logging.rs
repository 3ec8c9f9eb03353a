//! The bridge's log: stderr, `RUST_LOG` filtering (info by default), text
//! for people or JSON for machines, one timestamp per line.

use std::io::Write;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// dora-node-api 1.1 traces its first large sends hop by hop as
/// warnings carrying this mark: not problems, and ten or more per run.
/// They are kept out unless `RUST_LOG` asks for the log in detail.
const DORA_SEND_TRACE: &[u8] = b"(dora-rs/dora#2742 diagnostic)";

/// Without `RUST_LOG`: the bridge's info, and only errors of the zenoh
/// session inside dora's node API (its ids, addresses and scouting notes
/// are dora's business, not the user's).
const DEFAULT_FILTER: &str = "info,zenoh=error";

/// Under dora, which stamps every line it collects, text lines carry no
/// time of their own.
pub fn init(format: LogFormat) {
    let chosen = std::env::var("RUST_LOG").ok();
    let keep_dora_traces = chosen
        .as_deref()
        .is_some_and(|f| f.contains("debug") || f.contains("trace"));
    let logger = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(chosen.as_deref().unwrap_or(DEFAULT_FILTER))
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_FILTER)),
        )
        .with_writer(move || Stderr { keep_dora_traces })
        .with_target(false);
    let under_dora = std::env::var_os("DORA_NODE_CONFIG").is_some();
    match format {
        LogFormat::Json => logger.json().with_ansi(false).init(),
        LogFormat::Text if under_dora => logger.without_time().with_ansi(false).init(),
        LogFormat::Text => logger
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
    }
}

/// stderr, without dora's send traces. The formatter writes each event
/// in one piece, so an event is recognised by one write.
struct Stderr {
    keep_dora_traces: bool,
}

impl Write for Stderr {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        if !self.keep_dora_traces
            && line
                .windows(DORA_SEND_TRACE.len())
                .any(|w| w == DORA_SEND_TRACE)
        {
            return Ok(line.len());
        }
        std::io::stderr().write(line)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}
