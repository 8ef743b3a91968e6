//! Server functions, grouped by concern. Each is a thin adapter: it reads the server context,
//! calls plain Rust code and maps failures to [`crate::error::AppError`].

pub mod access;
pub mod monitor;
pub mod monitor_protocol;
pub mod status;
pub mod studio;
pub mod workflows;

#[cfg(feature = "ssr")]
pub mod ssr {
    //! What the server provides to server functions through Leptos context.

    use std::{future::Future, pin::Pin, sync::Arc};

    use http::request::Parts;
    use sqlx::PgPool;

    use super::access::{
        AuditCheck, AuditRow, ConfigForm, CreatedEngineClientView, EngineAccessView, MeView,
        MemberView, TenantView,
    };
    use super::studio::{SavedVersion, StudioDocument};
    use super::workflows::{EnvironmentRow, WorkflowList, WorkflowView};
    use crate::error::AppResult;

    pub type BoxFuture<T> = Pin<Box<dyn Future<Output = AppResult<T>> + Send>>;

    /// The server's account and tenant services, as the pages need them. The server implements
    /// this over the same domain services and the same authorisation policy as its REST API;
    /// each call authenticates the request whose parts it is given.
    pub trait ControlPlane: Send + Sync {
        fn me(&self, request: Parts) -> BoxFuture<Option<MeView>>;
        fn sign_in(&self, request: Parts, email: String, password: String) -> BoxFuture<MeView>;
        fn sign_out(&self, request: Parts) -> BoxFuture<()>;
        fn change_password(
            &self,
            request: Parts,
            current_password: String,
            new_password: String,
        ) -> BoxFuture<()>;
        /// Sets an account's password with the secret of a one-time link.
        fn set_password(&self, token: String, new_password: String) -> BoxFuture<()>;
        fn tenants(&self, request: Parts) -> BoxFuture<Vec<TenantView>>;
        fn create_tenant(&self, request: Parts, id: String, name: String) -> BoxFuture<()>;
        fn update_config(
            &self,
            request: Parts,
            tenant: String,
            config: ConfigForm,
        ) -> BoxFuture<()>;
        fn verify_audit(&self, request: Parts, tenant: String) -> BoxFuture<AuditCheck>;
        /// The most recent events, newest first.
        fn audit_events(&self, request: Parts, tenant: String) -> BoxFuture<Vec<AuditRow>>;
        fn members(&self, request: Parts, tenant: String) -> BoxFuture<Vec<MemberView>>;
        fn add_member(
            &self,
            request: Parts,
            tenant: String,
            email: String,
            role: String,
        ) -> BoxFuture<()>;
        fn change_role(
            &self,
            request: Parts,
            tenant: String,
            user_id: String,
            role: String,
        ) -> BoxFuture<()>;
        fn remove_member(&self, request: Parts, tenant: String, user_id: String) -> BoxFuture<()>;
        /// The tenant's environments, their engines' connection details and (for those who
        /// may manage them) their engine clients.
        fn engine_access(&self, request: Parts, tenant: String) -> BoxFuture<EngineAccessView>;
        fn create_engine_client(
            &self,
            request: Parts,
            tenant: String,
            environment: String,
            name: String,
            permissions: Vec<String>,
        ) -> BoxFuture<CreatedEngineClientView>;
        fn revoke_engine_client(
            &self,
            request: Parts,
            tenant: String,
            environment: String,
            client_id: String,
        ) -> BoxFuture<()>;
        fn tenant_workflows(&self, request: Parts, tenant: String) -> BoxFuture<WorkflowList>;
        fn environments(&self, request: Parts, tenant: String) -> BoxFuture<Vec<EnvironmentRow>>;
        fn update_environment_policy(
            &self,
            request: Parts,
            tenant: String,
            environment: String,
            approvals_required: i32,
            approver_roles: Vec<String>,
            require_owner_approval: bool,
        ) -> BoxFuture<()>;
        fn workflow(&self, request: Parts, id: String) -> BoxFuture<WorkflowView>;
        /// Requests a deployment; returns its id.
        fn deploy(
            &self,
            request: Parts,
            workflow: String,
            version: i32,
            environment: String,
        ) -> BoxFuture<String>;
        fn approve(&self, request: Parts, deployment: String, comment: String) -> BoxFuture<()>;
        fn reject(&self, request: Parts, deployment: String, comment: String) -> BoxFuture<()>;
        /// Rolls the deployment back; returns the new deployment's id.
        fn roll_back(&self, request: Parts, deployment: String) -> BoxFuture<String>;
        fn studio_document(
            &self,
            request: Parts,
            workflow: String,
            version: Option<i32>,
        ) -> BoxFuture<StudioDocument>;
        fn studio_save(
            &self,
            request: Parts,
            tenant: String,
            workflow: Option<String>,
            bpmn_xml: String,
            message: String,
        ) -> BoxFuture<SavedVersion>;
    }

    /// The live monitor and the audit trails, as the pages need them; implemented by the server
    /// over its REST handlers, like [`ControlPlane`].
    pub trait MonitorPlane: Send + Sync {
        fn instances(
            &self,
            request: Parts,
            tenant: String,
            filter: super::monitor::InstanceFilter,
        ) -> BoxFuture<super::monitor::InstanceList>;
        fn incidents(
            &self,
            request: Parts,
            tenant: String,
        ) -> BoxFuture<super::monitor::IncidentList>;
        fn instance(
            &self,
            request: Parts,
            tenant: String,
            environment: String,
            key: i64,
        ) -> BoxFuture<super::monitor::InstanceView>;
        fn retry(
            &self,
            request: Parts,
            tenant: String,
            environment: String,
            incident: i64,
        ) -> BoxFuture<super::monitor::RetryView>;
        fn cancel(
            &self,
            request: Parts,
            tenant: String,
            environment: String,
            key: i64,
        ) -> BoxFuture<()>;
        fn set_variable(
            &self,
            request: Parts,
            tenant: String,
            environment: String,
            key: i64,
            name: String,
            value: String,
        ) -> BoxFuture<()>;
        fn trail(
            &self,
            request: Parts,
            tenant: String,
            filter: super::monitor::TrailFilter,
        ) -> BoxFuture<super::monitor::TrailView>;
    }

    impl std::fmt::Debug for dyn MonitorPlane {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("MonitorPlane")
        }
    }

    /// Where the control plane's database lives; shown to operators on the status card.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum DatabaseMode {
        /// A private PostgreSQL instance the server started itself.
        Embedded,
        /// A database given by `DATABASE_URL`.
        External,
    }

    /// Shared server state that server functions may use.
    #[derive(Debug, Clone)]
    pub struct ServerContext {
        pub pool: PgPool,
        pub database_mode: DatabaseMode,
        pub control: Arc<dyn ControlPlane>,
        pub monitor: Arc<dyn MonitorPlane>,
        /// The single sign-on provider's name, when one is configured.
        pub sso_label: Option<String>,
    }

    impl std::fmt::Debug for dyn ControlPlane {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("ControlPlane")
        }
    }
}
