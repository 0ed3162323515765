//! The catalogue: the one place where model names are resolved. An architecture name means a
//! config (from the generated tables: [`vit_core::vit::VIT_ARCHITECTURES`] and Swin's presets),
//! `architecture.tag` (or a bare architecture with timm's default tag) means a hub id; the result
//! is a path or hub id handed to vit-core's loader, so names flow one way — down.

use std::path::{Path, PathBuf};

use vit_core::VitBackend;
use vit_core::error::{Result, VitError};
use vit_core::vit::VIT_ARCHITECTURES;

use crate::beit::{BEIT_ARCHITECTURES, BEIT_FAMILY};
use crate::cait::{CAIT_ARCHITECTURES, CAIT_FAMILY};
use crate::eva::EVA_ARCHITECTURES;
use crate::hub_names::{PretrainedTag, pretrained_tags, resolve_timm_name};
use crate::naflex::NAFLEX_ARCHITECTURES;
use crate::relpos::{RELPOS_ARCHITECTURES, RELPOS_FAMILY};
use crate::swin::catalogue::version_of;
use crate::swin::{SwinVersion, swin_architectures};
use crate::xcit::{XCIT_ARCHITECTURES, XCIT_FAMILY};
use crate::zoo::{PretrainedModel, ZooConfig};

/// One architecture of the catalogue, whether vit-core can build it yet or not.
#[derive(Debug)]
pub struct CatalogueEntry {
    /// timm's architecture name.
    pub name: &'static str,
    /// The zoo family: `vit`, `deit`, `hybrid`, `swin`, `swinv2`, `eva`, `naflexvit`, `beit`,
    /// `vit_relpos`, `cait` or `xcit`.
    pub family: &'static str,
    /// timm's parameter count (default head), where the catalogue records it.
    pub timm_params: Option<u64>,
    /// The config, or why it cannot be built yet (the timm argument that is missing).
    pub config: Result<ZooConfig>,
}

impl CatalogueEntry {
    /// The pretrained tags timm publishes for this architecture.
    pub fn tags(&self) -> impl Iterator<Item = &'static PretrainedTag> + '_ {
        pretrained_tags()
            .iter()
            .filter(move |t| t.architecture == self.name)
    }
}

/// Every architecture of the catalogue — timm's ViT family from the generated table, then
/// Swin, then timm's `eva.py`, `naflexvit.py`, `beit.py`, `vision_transformer_relpos.py`, `cait.py` and `xcit.py` —
/// buildable or not.
pub fn catalogue() -> impl Iterator<Item = CatalogueEntry> {
    let vits = VIT_ARCHITECTURES.iter().map(|a| CatalogueEntry {
        name: a.name,
        family: a.family(),
        timm_params: Some(a.params),
        config: a.config().map(ZooConfig::Vit),
    });
    let swins = swin_architectures().map(|a| CatalogueEntry {
        name: a.name,
        family: match version_of(a.name) {
            SwinVersion::V1 => "swin",
            SwinVersion::V2 => "swinv2",
        },
        timm_params: Some(a.params),
        config: a.config().map(ZooConfig::Swin),
    });
    let evas = EVA_ARCHITECTURES.iter().map(|a| CatalogueEntry {
        name: a.name,
        family: "eva",
        timm_params: Some(a.params),
        config: a.config().map(ZooConfig::Eva),
    });
    let naflexes = NAFLEX_ARCHITECTURES.iter().map(|a| CatalogueEntry {
        name: a.name,
        family: "naflexvit",
        timm_params: Some(a.params),
        config: a.config().map(ZooConfig::Naflex),
    });
    let beits = BEIT_ARCHITECTURES.iter().map(|a| CatalogueEntry {
        name: a.name,
        family: BEIT_FAMILY,
        timm_params: Some(a.params),
        config: a.config().map(ZooConfig::Beit),
    });
    let relpos = RELPOS_ARCHITECTURES.iter().map(|a| CatalogueEntry {
        name: a.name,
        family: RELPOS_FAMILY,
        timm_params: Some(a.params),
        config: a.config().map(ZooConfig::RelPos),
    });
    let caits = CAIT_ARCHITECTURES.iter().map(|a| CatalogueEntry {
        name: a.name,
        family: CAIT_FAMILY,
        timm_params: Some(a.params),
        config: a.config().map(ZooConfig::Cait),
    });
    let xcits = XCIT_ARCHITECTURES.iter().map(|a| CatalogueEntry {
        name: a.name,
        family: XCIT_FAMILY,
        timm_params: Some(a.params),
        config: a.config().map(ZooConfig::Xcit),
    });
    vits.chain(swins)
        .chain(evas)
        .chain(naflexes)
        .chain(beits)
        .chain(relpos)
        .chain(caits)
        .chain(xcits)
}

/// What `name` points at, for vit-core's loader: a local file or folder as it is; a timm name
/// (`architecture.tag`, or with `default_tag` a bare architecture: timm's `pretrained=True`) as
/// its hub id (`hf-hub:timm/…`); anything else unchanged (a hub id, or a path that does not
/// exist, which the loader reports). Weights timm downloads from outside the hub are an error
/// naming their URL.
pub fn model_location(name: &Path, default_tag: bool) -> Result<PathBuf> {
    if name.exists() {
        return Ok(name.to_path_buf());
    }
    let Some(text) = name.to_str() else {
        return Ok(name.to_path_buf());
    };
    match resolve_timm_name(text, default_tag)? {
        Some(PretrainedTag {
            hub_id: Some(id), ..
        }) => Ok(PathBuf::from(format!("hf-hub:{id}"))),
        Some(tag @ PretrainedTag { url: Some(url), .. }) => Err(VitError::UnknownPretrained {
            name: tag.name(),
            reason: format!(
                "timm downloads these weights from {url}, not from the Hugging Face hub: \
                 download the file and pass it with `--preset {}`",
                tag.architecture
            ),
        }),
        _ => Ok(name.to_path_buf()),
    }
}

/// Loads a model by any name timm takes — a path, a hub id, `architecture.tag`, or (with
/// `default_tag`) a bare architecture for its default weights — resolved by
/// [`model_location`], then loaded by vit-core's [`PretrainedModel::load`].
pub fn load_named<B: VitBackend>(
    name: &Path,
    default_tag: bool,
    num_classes: Option<usize>,
    device: &B::Device,
) -> Result<PretrainedModel<B>> {
    let location = model_location(name, default_tag)?;
    PretrainedModel::<B>::load(&location, None, num_classes, device)
}

/// Counts of the catalogue for one line of text: architectures (buildable / all), pretrained
/// tags of the buildable ones / all, families.
pub fn catalogue_summary() -> String {
    let entries: Vec<CatalogueEntry> = catalogue().collect();
    let buildable: Vec<&CatalogueEntry> = entries.iter().filter(|e| e.config.is_ok()).collect();
    let tags = |list: &[&CatalogueEntry]| list.iter().map(|e| e.tags().count()).sum::<usize>();
    let all: Vec<&CatalogueEntry> = entries.iter().collect();
    let mut families: Vec<&str> = buildable.iter().map(|e| e.family).collect();
    families.sort_unstable();
    families.dedup();
    format!(
        "{} of {} architectures build ({} of {} pretrained tags); families: {}",
        buildable.len(),
        all.len(),
        tags(&buildable),
        tags(&all),
        families.join(", ")
    )
}
