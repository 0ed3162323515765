//! timm names → hub ids from the table generated off timm's registry.

use std::path::Path;
use vit_core::VitError;
use vit_variants::hub_names::{closest, pretrained_tags, resolve_timm_name, tags_of};
use vit_variants::{catalogue, model_location, zoo_presets};

#[test]
fn every_architecture_has_exactly_one_default_tag_and_every_tag_a_source() {
    let architectures: Vec<&str> = catalogue().map(|e| e.name).collect();
    for name in &architectures {
        let defaults = tags_of(name).filter(|t| t.default).count();
        assert_eq!(defaults, 1, "{name}: {defaults} default tags");
    }
    let presets: Vec<&str> = zoo_presets().map(|(name, _)| name).collect();
    let mut elsewhere = Vec::new();
    for tag in pretrained_tags() {
        assert!(architectures.contains(&tag.architecture), "{}", tag.name());
        // Weights on the hub under timm's naming, a third-party repository, or a URL.
        match (tag.hub_id, tag.url) {
            (Some(id), None) if id.starts_with("timm/") => {}
            (Some(id), None) => elsewhere.push(id.to_string()),
            (None, Some(url)) => elsewhere.push(url.to_string()),
            other => panic!("{}: {other:?}", tag.name()),
        }
    }
    // timm 1.0.31: Apple's two MobileCLIP repositories, I-JEPA's four .pth.tar files and
    // LingBot-Vision's four repositories.
    assert_eq!(elsewhere.len(), 10, "{elsewhere:?}");
    assert!(presets.len() >= 160, "{}", presets.len());
}

#[test]
fn weights_not_on_the_hub_are_an_error_naming_their_url() {
    let err = model_location(Path::new("vit_huge_patch14_gap_224.in1k_ijepa"), false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("https://dl.fbaipublicfiles.com/ijepa/") && err.contains("--preset"),
        "{err}"
    );
    let hub = model_location(Path::new("vit_small_patch14_reg4_dinov2"), true).unwrap();
    assert_eq!(
        hub,
        Path::new("hf-hub:timm/vit_small_patch14_reg4_dinov2.lvd142m")
    );
}

#[test]
fn names_resolve_as_timm_resolves_them() {
    let tag = resolve_timm_name("vit_small_patch16_224.augreg_in21k_ft_in1k", false)
        .unwrap()
        .unwrap();
    assert_eq!(
        tag.hub_id,
        Some("timm/vit_small_patch16_224.augreg_in21k_ft_in1k")
    );
    assert_eq!(tag.top1, Some(81.402));
    // A bare architecture: timm's default tag with `pretrained`, an error naming it without.
    let default = resolve_timm_name("swin_tiny_patch4_window7_224", true)
        .unwrap()
        .unwrap();
    assert_eq!(default.tag, "ms_in1k");
    let err = resolve_timm_name("swin_tiny_patch4_window7_224", false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("--pretrained") && err.contains("swin_tiny_patch4_window7_224.ms_in1k"),
        "{err}"
    );
    // Paths, hub ids and unrelated names are not timm names.
    for other in [
        "./model",
        "timm/vit_small_patch16_224",
        "model.safetensors",
        "Foo",
    ] {
        assert_eq!(resolve_timm_name(other, true).unwrap(), None, "{other}");
    }
}

#[test]
fn unknown_tags_and_architectures_are_errors_with_the_closest_names() {
    let unknown_tag = |name: &str| match resolve_timm_name(name, false) {
        Err(VitError::UnknownPretrained { reason, .. }) => reason,
        other => panic!("{name}: {other:?}"),
    };
    let reason = unknown_tag("vit_small_patch16_224.augreg_in99k");
    assert!(
        reason.contains("augreg_in21k_ft_in1k") && reason.contains("augreg_in1k"),
        "{reason}"
    );
    let reason = unknown_tag("vit_smal_patch16_224.augreg_in1k");
    assert!(reason.contains("vit_small_patch16_224"), "{reason}");
    assert_eq!(
        closest(
            "deit_smal_patch16_224",
            &["vit_base_patch16_224", "deit_small_patch16_224"],
            1
        ),
        ["deit_small_patch16_224"]
    );
}
