//! Running the `vit` binary as a user does.

use std::process::Command;

/// Runs `vit ARGS…`: (success, stdout, stderr). The binary is the one cargo built beside this
/// test, or the one `VIT_BIN` names (a test executable run away from its target folder).
pub fn vit(args: &[&str]) -> (bool, String, String) {
    let bin = std::env::var_os("VIT_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_vit").into());
    let out = Command::new(bin)
        .args(args)
        .output()
        .expect("the vit binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
