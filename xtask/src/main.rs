//! `cargo xtask <task>`: project chores that need more than one cargo command.

mod bench;
mod walkthrough;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  configs   regenerate configs/<preset>.json from the presets compiled into vit-core
  bench     throughput, latency and memory of the zoo on a backend, beside PyTorch (--help)
  walkthrough  run the README's walk-through blocks as written, in order (CI does)
  fuzz      a long mutation-fuzzing campaign of every untrusted-input reader
            (`cargo xtask fuzz [CASES]`, default 200000 per reader; CI runs a few thousand)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("configs") => configs(),
        Some("bench") => bench::bench(&args[1..]),
        Some("fuzz") => fuzz(args.get(1).map(String::as_str)),
        Some("walkthrough") => walkthrough::walkthrough(),
        Some("-h" | "--help") | None => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown task `{other}`\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace root")
        .to_path_buf()
}

/// Runs `vit <args>` through cargo and returns its standard output.
fn vit(args: &[&str]) -> Result<String, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(workspace_root())
        .args(["run", "--quiet", "-p", "vit-cli", "--"])
        .args(args)
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`vit {}` failed:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The fuzz test binaries of vit-core and vit-train with `VIT_FUZZ_CASES` raised (optimised:
/// the campaign is CPU-bound).
fn fuzz(cases: Option<&str>) -> Result<(), String> {
    let cases = cases.unwrap_or("200000");
    cases
        .parse::<u64>()
        .map_err(|_| format!("fuzz: CASES must be a number, got `{cases}`"))?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    for (package, features) in [("vit-core", "hub"), ("vit-train", "")] {
        let status = Command::new(&cargo)
            .current_dir(workspace_root())
            .env("VIT_FUZZ_CASES", cases)
            .args(["test", "--release", "-p", package, "--features", features])
            .args(["--test", "untrusted_inputs"])
            .status()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        if !status.success() {
            return Err(format!(
                "{package}: a fuzz property failed (the message names the case to replay)"
            ));
        }
    }
    println!("fuzz: {cases} cases per reader, every property held");
    Ok(())
}

fn configs() -> Result<(), String> {
    let table = vit(&["models"])?;
    // The buildable architectures: the table's rows up to the blank line before the ones that
    // do not build yet.
    let names: Vec<&str> = table
        .lines()
        .skip(1)
        .take_while(|line| !line.trim().is_empty())
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| name.contains('_'))
        .collect();
    let dir = workspace_root().join("configs");
    for name in names {
        let path = dir.join(format!("{name}.json"));
        vit(&[
            "config",
            name,
            "--output",
            path.to_str().ok_or("non-UTF-8 path")?,
        ])?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
