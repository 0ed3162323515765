//! Running the `vit` binary as a user does.

use std::process::Command;

/// Runs `vit ARGS…`: (success, stdout, stderr).
pub fn vit(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vit"))
        .args(args)
        .output()
        .expect("the vit binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
