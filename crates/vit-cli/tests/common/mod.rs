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

/// The default training run (`vit train --print-config`) shrunk to seconds: 8×8 input, one
/// block of width 16 with 2 heads, no warm-up, `epochs` epochs; the tests adjust the rest.
pub fn tiny_train_config(epochs: usize) -> serde_json::Value {
    let (ok, stdout, _) = vit(&["train", "--print-config"]);
    assert!(ok);
    let mut config: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let model = &mut config["model"]["config"];
    model["img_size"] = serde_json::json!([8, 8]);
    model["embed_dim"] = 16.into();
    model["depth"] = 1.into();
    model["num_heads"] = 2.into();
    config["epochs"] = epochs.into();
    config["warmup_epochs"] = 0.into();
    config
}
