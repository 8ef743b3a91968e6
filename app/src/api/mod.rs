//! Server functions, grouped by concern. Each is a thin adapter: it reads the server context,
//! calls plain Rust code and maps failures to [`crate::error::AppError`].

pub mod status;

#[cfg(feature = "ssr")]
pub mod ssr {
    //! What the server provides to server functions through Leptos context.

    use sqlx::PgPool;

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
    }
}
