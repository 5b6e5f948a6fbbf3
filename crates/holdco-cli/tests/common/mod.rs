//! Helpers shared by the CLI test binaries: the bundled example and the `holdco` command.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

/// The bundled Alibaba example folder.
pub fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/alibaba")
}

/// `holdco --db DB`, isolated from a `HOLDCO_DB` in the environment.
pub fn holdco(db: &Path) -> Command {
    let mut command = Command::cargo_bin("holdco").unwrap();
    command.arg("--db").arg(db).env_remove("HOLDCO_DB");
    command
}

/// Copies the example's model files (scenarios included; not its tools, docs or charts) into
/// `dir/model`, to change them in a test.
#[allow(dead_code)] // not every test binary changes the example
pub fn example_copy(dir: &Path) -> PathBuf {
    // The binary knows the governance domain's files (people.csv, governance.toml); so
    // must the copy.
    holdco_governance::register();
    let target = dir.join("model");
    holdco_folder::write(&target, &holdco_folder::read(&example()).unwrap()).unwrap();
    target
}
