//! A dora node in Rust that counts the messages on its inputs and writes
//! `{"received": N}` to the file named by RESULT_FILE when it stops: the
//! consumer of bench/throughput.py.

use dora_node_api::{DoraNode, Event};

fn main() -> anyhow::Result<()> {
    let (_node, mut events) = DoraNode::init_from_env().map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut received = 0u64;
    while let Some(event) = events.recv() {
        match event {
            Event::Input { .. } => received += 1,
            Event::Stop(_) => break,
            _ => {}
        }
    }
    if let Ok(path) = std::env::var("RESULT_FILE") {
        std::fs::write(path, format!("{{\"received\": {received}}}"))?;
    }
    Ok(())
}
