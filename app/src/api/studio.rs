//! The Studio's documents on the server: open a workflow version, save the editor's document as
//! a new workflow or as its next version.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// A workflow version opened in the Studio.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StudioDocument {
    pub workflow_id: String,
    pub tenant_id: String,
    pub name: String,
    pub version: i32,
    pub latest_version: i32,
    pub bpmn_xml: String,
    /// Whether the caller may save new versions.
    pub can_edit: bool,
}

/// What a save produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedVersion {
    pub workflow_id: String,
    pub version: i32,
    /// False when the document equals the latest version, which then stays the latest.
    pub created: bool,
}

#[cfg(feature = "ssr")]
use super::access::{backend, with_status};

/// A workflow's version (its latest when `version` is absent).
#[server(prefix = "/api/fn", endpoint = "studio_open")]
pub async fn open_in_studio(
    workflow: String,
    version: Option<i32>,
) -> Result<StudioDocument, AppError> {
    let (control, parts, response) = backend()?;
    with_status(
        response,
        control.studio_document(parts, workflow, version).await,
    )
}

/// Saves `bpmn_xml`: as the next version of `workflow`, or, without one, as a new workflow of
/// `tenant` (its process id becomes the workflow's key).
#[server(prefix = "/api/fn", endpoint = "studio_save")]
pub async fn save_from_studio(
    tenant: String,
    workflow: Option<String>,
    bpmn_xml: String,
    message: String,
) -> Result<SavedVersion, AppError> {
    let (control, parts, response) = backend()?;
    with_status(
        response,
        control
            .studio_save(parts, tenant, workflow, bpmn_xml, message)
            .await,
    )
}
