//! timm's model names — `architecture.tag`, or a bare architecture for timm's default tag — as
//! hub ids, like `timm.create_model(name, pretrained=True)` resolves them. The table
//! ([`crate::pretrained_tags`]) is generated from timm's registry by
//! `scripts/make_catalogue.py`.

use vit_core::error::{Result, VitError};

use crate::pretrained_tags::PRETRAINED_TAGS;

/// One set of pretrained weights timm publishes for a zoo architecture.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PretrainedTag {
    /// timm's architecture (a zoo preset), e.g. `vit_small_patch16_224`.
    pub architecture: &'static str,
    /// The weights' tag, e.g. `augreg_in21k_ft_in1k`.
    pub tag: &'static str,
    /// The Hugging Face hub repository, e.g. `timm/vit_small_patch16_224.augreg_in21k_ft_in1k`;
    /// `None` for weights timm downloads from elsewhere ([`Self::url`]).
    pub hub_id: Option<&'static str>,
    /// Where timm downloads weights that are not on the hub (I-JEPA's `.pth.tar` files).
    pub url: Option<&'static str>,
    /// Whether timm loads this tag for the bare architecture name.
    pub default: bool,
    /// Classes of the head (0: a feature extractor).
    pub num_classes: usize,
    /// `[channels, height, width]` the weights were trained at.
    pub input_size: [usize; 3],
    /// The weights' license.
    pub license: &'static str,
    /// ImageNet-1k top-1 accuracy (%) from timm's benchmark table, where it records one.
    pub top1: Option<f64>,
}

impl PretrainedTag {
    /// `architecture.tag`, timm's full name.
    pub fn name(&self) -> String {
        format!("{}.{}", self.architecture, self.tag)
    }
}

/// Every pretrained tag of every zoo architecture.
pub fn pretrained_tags() -> &'static [PretrainedTag] {
    PRETRAINED_TAGS
}

/// The tags of `architecture`.
pub fn tags_of(architecture: &str) -> impl Iterator<Item = &'static PretrainedTag> + '_ {
    PRETRAINED_TAGS
        .iter()
        .filter(move |t| t.architecture == architecture)
}

/// Whether `text` has the shape of a timm model name (`name` or `name.tag`: lower-case letters,
/// digits, `_`, `.`, `-`), not of a path or a hub id.
pub fn looks_like_timm_name(text: &str) -> bool {
    !text.is_empty()
        && !text.starts_with('.')
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '-'))
}

/// The weights a timm name means: `architecture.tag` exactly; a bare architecture means
/// timm's default tag when `default_tag` is set (`--pretrained`). `Ok(None)` when `text` is not
/// shaped like a timm name or names no zoo architecture; errors name what was asked, with the
/// closest names.
pub fn resolve_timm_name(text: &str, default_tag: bool) -> Result<Option<&'static PretrainedTag>> {
    if !looks_like_timm_name(text) {
        return Ok(None);
    }
    let err = |reason: String| VitError::UnknownPretrained {
        name: text.to_string(),
        reason,
    };
    let (architecture, tag) = match text.split_once('.') {
        Some((a, t)) => (a, Some(t)),
        None => (text, None),
    };
    let known: Vec<&PretrainedTag> = tags_of(architecture).collect();
    if known.is_empty() {
        let architectures: Vec<&str> = dedup(PRETRAINED_TAGS.iter().map(|t| t.architecture));
        // Only a near miss of a zoo architecture is taken for a mistyped timm name; anything
        // else (`model.safetensors`) is left to the caller's "no such file".
        let near = architectures
            .iter()
            .any(|a| vit_core::names::edit_distance(architecture, a) <= 3);
        if !near {
            return Ok(None);
        }
        return Err(err(format!(
            "no zoo architecture of that name has pretrained weights; closest: {}",
            closest(architecture, &architectures, 3).join(", ")
        )));
    }
    match tag {
        Some(tag) => known
            .iter()
            .find(|t| t.tag == tag)
            .copied()
            .map(Some)
            .ok_or_else(|| {
                let tags: Vec<&str> = known.iter().map(|t| t.tag).collect();
                err(format!(
                    "`{architecture}` has no tag `{tag}`; its tags: {}",
                    tags.join(", ")
                ))
            }),
        None if default_tag => Ok(known.iter().find(|t| t.default).copied()),
        None => {
            let default = known.iter().find(|t| t.default).map_or(known[0], |t| t);
            Err(err(format!(
                "an architecture, not weights: ask for timm's default with --pretrained \
                 (`{}`), or name a tag: {}",
                default.name(),
                known
                    .iter()
                    .map(|t| t.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
    }
}

fn dedup<'a>(names: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for n in names {
        if !out.contains(&n) {
            out.push(n);
        }
    }
    out
}

/// The `n` candidates closest to `name` by edit distance (ties in table order).
pub fn closest<'a>(name: &str, candidates: &[&'a str], n: usize) -> Vec<&'a str> {
    let names = vit_core::names::closest(name, candidates, n);
    names
        .iter()
        .filter_map(|c| candidates.iter().find(|k| **k == c.as_str()).copied())
        .collect()
}
