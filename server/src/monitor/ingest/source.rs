//! Where a batch of records comes from: an embedded engine's stream or an exporter.

use uuid::Uuid;

use crate::domain::TenantId;

/// Where a batch of records comes from.
#[derive(Debug, Clone)]
pub struct Source {
    /// The cursor's name.
    pub key: String,
    pub kind: SourceKind,
}

#[derive(Debug, Clone)]
pub enum SourceKind {
    /// An embedded engine: one per environment name, its records naming their tenant.
    Embedded { environment: String },
    /// An exporter posting one environment's records with its ingest token.
    Exporter {
        tenant: TenantId,
        environment_id: Uuid,
        environment: String,
    },
}

impl Source {
    pub fn embedded(environment: &str) -> Self {
        Self {
            key: format!("embedded:{environment}"),
            kind: SourceKind::Embedded {
                environment: environment.to_owned(),
            },
        }
    }

    pub fn exporter(tenant: TenantId, environment_id: Uuid, environment: &str) -> Self {
        Self {
            key: format!("environment:{environment_id}"),
            kind: SourceKind::Exporter {
                tenant,
                environment_id,
                environment: environment.to_owned(),
            },
        }
    }

    pub(super) fn tenant(&self) -> Option<&TenantId> {
        match &self.kind {
            SourceKind::Embedded { .. } => None,
            SourceKind::Exporter { tenant, .. } => Some(tenant),
        }
    }
}
