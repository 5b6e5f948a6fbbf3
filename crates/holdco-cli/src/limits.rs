//! Limits on what a command line can ask for, checked before any work starts (see "Limits"
//! in docs/format.md).

use anyhow::{bail, Result};

/// Most worker threads per core: more only adds switching and memory, never speed.
pub const THREADS_PER_CORE: usize = 4;

/// The cores available to this process (1 when unknown).
fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// `--threads N`: at least 1, and at most [`THREADS_PER_CORE`] × the cores, with a note on
/// standard error when capped (results do not depend on the number of threads).
pub fn capped_threads(asked: usize) -> Result<usize> {
    let most = THREADS_PER_CORE * cores();
    capped_threads_for(asked, most).inspect(|&threads| {
        if threads < asked {
            eprintln!("note: --threads {asked} capped at {threads} ({THREADS_PER_CORE} per core on {} cores)", cores());
        }
    })
}

fn capped_threads_for(asked: usize, most: usize) -> Result<usize> {
    if asked == 0 {
        bail!("--threads must be at least 1");
    }
    Ok(asked.min(most.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_are_capped_at_a_multiple_of_the_cores() {
        assert_eq!(capped_threads_for(10_000, 8).unwrap(), 8);
        assert_eq!(capped_threads_for(3, 8).unwrap(), 3);
        assert!(capped_threads_for(0, 8).is_err());
        assert!(capped_threads(10_000).unwrap() <= THREADS_PER_CORE * cores());
    }
}
