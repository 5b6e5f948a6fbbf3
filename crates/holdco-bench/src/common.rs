//! What every benchmark binary needs: the machine's load average to print beside each
//! figure, and the release `holdco` built beside the benchmark.
// Each binary includes this file and uses what it needs.
#![allow(dead_code)]

use std::path::PathBuf;

/// The load averages over 1, 5 and 15 minutes ("?" where /proc/loadavg is not there).
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "?".to_string())
}

/// The `holdco` binary beside this one (the same profile), or an error saying how to build it.
pub fn holdco() -> anyhow::Result<PathBuf> {
    let path = std::env::current_exe()?.with_file_name("holdco");
    if !path.exists() {
        anyhow::bail!(
            "{} is missing: cargo build --release -p holdco-cli",
            path.display()
        );
    }
    Ok(path)
}
