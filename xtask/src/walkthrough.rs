//! `cargo xtask walkthrough`: runs the README's walk-through blocks as a newcomer would, in the
//! order written — every ```sh block preceded by a `<!-- walkthrough … -->` line. The blocks
//! run in one shell (`bash -e`), in a fresh folder that sees the repository's `examples/` (so
//! nothing of a previous run is in the way), with `vit` on the PATH as the README sets it up:
//! `cargo run -p vit-cli --` lines are the same binary and run as `vit`, and the `cargo test`
//! line is left to CI's test step.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::workspace_root;

/// The marker line before a block that must run as written.
const MARKER: &str = "<!-- walkthrough";

/// The README's walk-through blocks, in order, as shell lines.
pub fn blocks(readme: &str) -> Vec<Vec<String>> {
    let mut blocks = Vec::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        if !line.trim_start().starts_with(MARKER) {
            continue;
        }
        if lines.next().map(str::trim) != Some("```sh") {
            continue;
        }
        let block: Vec<String> = lines
            .by_ref()
            .take_while(|l| l.trim() != "```")
            .map(str::to_string)
            .collect();
        blocks.push(block);
    }
    blocks
}

/// One README line as the walk-through runs it (`None`: left out, with the reason).
fn as_run(line: &str) -> Result<String, &'static str> {
    let trimmed = line.trim();
    if trimmed.starts_with("cargo test") {
        return Err("the test suite: CI's own step");
    }
    Ok(trimmed.replace("cargo run -p vit-cli --", "vit"))
}

pub fn walkthrough() -> Result<(), String> {
    let root = workspace_root();
    let readme =
        std::fs::read_to_string(root.join("README.md")).map_err(|e| format!("README.md: {e}"))?;
    let blocks = blocks(&readme);
    if blocks.is_empty() {
        return Err("README.md has no walk-through block".into());
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let built = Command::new(&cargo)
        .current_dir(&root)
        .args(["build", "-p", "vit-cli"])
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !built.success() {
        return Err("building vit-cli failed".into());
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let binary = target.join("debug").join("vit");
    let work = std::env::temp_dir().join(format!("vit-walkthrough-{}", std::process::id()));
    let bin = work.join("bin");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&bin).map_err(|e| format!("{}: {e}", bin.display()))?;
    link(&binary, &bin.join("vit"))?;
    link(&root.join("examples"), &work.join("examples"))?;
    let mut script = String::from("set -euo pipefail\n");
    for (b, block) in blocks.iter().enumerate() {
        for line in block {
            match as_run(line) {
                Ok(command) if !command.is_empty() => {
                    script += &format!("echo '$ {}' >&2\n{command}\n", command.replace('\'', ""));
                }
                Ok(_) => {}
                Err(why) => eprintln!(
                    "walkthrough block {}: skipped `{}` ({why})",
                    b + 1,
                    line.trim()
                ),
            }
        }
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![bin.clone()];
    paths.extend(std::env::split_paths(&path));
    let status = Command::new("bash")
        .current_dir(&work)
        .env(
            "PATH",
            std::env::join_paths(paths).map_err(|e| e.to_string())?,
        )
        .args(["-c", &script])
        .status()
        .map_err(|e| format!("cannot run bash: {e}"))?;
    if !status.success() {
        return Err(format!(
            "a README walk-through command failed (its output is above; folder {})",
            work.display()
        ));
    }
    let _ = std::fs::remove_dir_all(&work);
    println!("walkthrough: {} README blocks ran as written", blocks.len());
    Ok(())
}

fn link(from: &Path, to: &Path) -> Result<(), String> {
    std::os::unix::fs::symlink(from, to).map_err(|e| format!("{}: {e}", to.display()))
}
