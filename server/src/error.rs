//! The REST API's one error type and its JSON shape, `{code, message, correlation_id}`.
//!
//! Handlers return [`ApiError`]; its response carries the code and message in an extension and
//! [`attach_correlation_id`] writes the body, adding the request id that the request-id layer
//! gave the request (the same id is in the `x-request-id` response header and in the logs).
//! Database and unexpected errors are logged once, here, and answered opaquely.

use axum::{
    Json,
    extract::{
        Request,
        rejection::{JsonRejection, QueryRejection},
    },
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde::Serialize;

use crate::domain::{DomainError, FieldError};

pub type Result<T, E = ApiError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the body is not the JSON the endpoint expects.
    #[error("{0}")]
    BadRequest(String),
    /// 422: a field has a value that can never be accepted.
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// 401: no valid session or token.
    #[error("sign in or send a valid API token")]
    Unauthenticated,
    /// 401: wrong email or password (deliberately not saying which).
    #[error("wrong email or password")]
    BadCredentials,
    /// 423: too many failed logins; try again later.
    #[error("too many failed sign-in attempts; try again in {retry_after_secs} seconds")]
    Locked { retry_after_secs: u64 },
    /// 403: signed in, but the role does not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// 403: a state-changing browser request that did not come from our own pages.
    #[error("cross-site request refused")]
    CrossSite,
    /// 429: the caller's request allowance is used up.
    #[error("too many requests; retry in {retry_after_secs} seconds")]
    RateLimited { retry_after_secs: u64 },
    /// 429 with code `too_many_connections`: the caller, or the server, has as many monitor
    /// connections open as it may.
    #[error("{0}")]
    TooManyConnections(String),
    /// 408: the request's answer was not ready in time (e.g. its body came in too slowly).
    #[error("the request took longer than {0} seconds")]
    RequestTimeout(u64),
    /// 404 with code `invalid_link`: a one-time link that never existed, was used, expired or
    /// was replaced (one answer for all, so a guess learns nothing).
    #[error(
        "this link is not valid: it was used already, has expired or was replaced by a newer \
         one; ask for a new link"
    )]
    InvalidLink,
    /// 404
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 409
    #[error("{0}")]
    Conflict(String),
    /// 409 with code `quota_exceeded`: the request is valid, but the tenant's current state
    /// (how much it already holds) does not allow it.
    #[error("{0}")]
    QuotaExceeded(String),
    /// 422: a BPMN document that cannot be stored, with the element to blame if any.
    #[error("{}", .0.message)]
    InvalidBpmn(crate::workflows::BpmnProblem),
    /// 503: the workflow engine could not be reached (after retries).
    #[error("{0}")]
    EngineUnavailable(String),
    /// 422: the workflow engine refused the request and said why.
    #[error("{0}")]
    EngineRefused(String),
    /// 500, logged, opaque to the client.
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// 500, logged, opaque to the client.
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Invalid(_) | ApiError::InvalidBpmn(_) | ApiError::EngineRefused(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::EngineUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Unauthenticated | ApiError::BadCredentials => StatusCode::UNAUTHORIZED,
            ApiError::Locked { .. } => StatusCode::LOCKED,
            ApiError::RateLimited { .. } | ApiError::TooManyConnections(_) => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::Forbidden(_) | ApiError::CrossSite => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) | ApiError::InvalidLink => StatusCode::NOT_FOUND,
            ApiError::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::Conflict(_) | ApiError::QuotaExceeded(_) => StatusCode::CONFLICT,
            ApiError::Database(_) | ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Invalid(_) => "invalid",
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::BadCredentials => "bad_credentials",
            ApiError::Locked { .. } => "locked",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::TooManyConnections(_) => "too_many_connections",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::CrossSite => "cross_site_request",
            ApiError::NotFound(_) => "not_found",
            ApiError::InvalidLink => "invalid_link",
            ApiError::RequestTimeout(_) => "request_timeout",
            ApiError::Conflict(_) => "conflict",
            ApiError::QuotaExceeded(_) => "quota_exceeded",
            ApiError::InvalidBpmn(problem) => problem.code,
            ApiError::EngineUnavailable(_) => "engine_unavailable",
            ApiError::EngineRefused(_) => "engine_refused",
            ApiError::Database(_) | ApiError::Internal(_) => "internal",
        }
    }
}

impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> Self {
        match error {
            DomainError::Invalid(field) => ApiError::Invalid(field),
            DomainError::NotFound(what) => ApiError::NotFound(what),
            DomainError::Conflict(message) => ApiError::Conflict(message),
            DomainError::QuotaExceeded(message) => ApiError::QuotaExceeded(message),
            DomainError::Forbidden(message) => ApiError::Forbidden(message),
            DomainError::Database(error) => ApiError::Database(error),
        }
    }
}

impl From<crate::workflows::WorkflowError> for ApiError {
    fn from(error: crate::workflows::WorkflowError) -> Self {
        match error {
            crate::workflows::WorkflowError::Bpmn(problem) => ApiError::InvalidBpmn(problem),
            crate::workflows::WorkflowError::Domain(error) => error.into(),
        }
    }
}

impl From<crate::engines::EngineError> for ApiError {
    fn from(error: crate::engines::EngineError) -> Self {
        match error {
            crate::engines::EngineError::Refused { .. } => {
                ApiError::EngineRefused(error.to_string())
            }
            other => ApiError::EngineUnavailable(other.to_string()),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        ApiError::BadRequest(rejection.body_text())
    }
}

impl From<tower_sessions::session::Error> for ApiError {
    fn from(error: tower_sessions::session::Error) -> Self {
        ApiError::Internal(anyhow::Error::new(error).context("session store"))
    }
}

/// The code and message of an error response, waiting for its correlation id.
#[derive(Debug, Clone)]
struct PendingError {
    code: &'static str,
    message: String,
    element_id: Option<String>,
}

/// Every error response's body.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody<'a> {
    /// A stable, machine-readable code such as `not_found`, `invalid` or `rate_limited`.
    code: &'a str,
    /// What went wrong, for a person.
    message: &'a str,
    /// The request's id, also in the `x-request-id` response header and in the server logs.
    correlation_id: &'a str,
    /// The BPMN element at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    element_id: Option<&'a str>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::Database(error) => tracing::error!(%error, "database error"),
            ApiError::Internal(error) => {
                tracing::error!(error = format!("{error:#}"), "internal error")
            }
            _ => {}
        }
        let mut response = self.status().into_response();
        if let ApiError::Locked { retry_after_secs } | ApiError::RateLimited { retry_after_secs } =
            &self
            && let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        let element_id = match &self {
            ApiError::InvalidBpmn(problem) => problem.element_id.clone(),
            _ => None,
        };
        response.extensions_mut().insert(PendingError {
            code: self.code(),
            message: self.to_string(),
            element_id,
        });
        response
    }
}

/// Middleware: a request whose answer is not ready within `limit` (a body trickling in, a
/// handler stuck on something) is answered 408 and its work dropped, so it holds no
/// connection or task for longer.
pub async fn time_limit(limit: std::time::Duration, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::RequestTimeout(limit.as_secs()).into_response(),
    }
}

/// Middleware: writes the JSON body of error responses with the request's id.
pub async fn attach_correlation_id(request: Request, next: Next) -> Response {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mut response = next.run(request).await;
    let Some(pending) = response.extensions_mut().remove::<PendingError>() else {
        return response;
    };
    let (mut parts, _) = response.into_parts();
    let body = Json(ErrorBody {
        code: pending.code,
        message: &pending.message,
        correlation_id: &request_id,
        element_id: pending.element_id.as_deref(),
    })
    .into_response();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, body.into_body())
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::BadRequest(rejection.body_text())
    }
}

/// `Query<T>` whose rejections are [`ApiError`]s, like [`ApiJson`].
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// A JSON object body as `T`, with [`ApiError`] rejections so malformed bodies get the JSON
/// error shape.
///
/// The body must be an object: serde's derived impls would also take a struct written as an
/// array of its field values, which no client means and our published schema does not allow.
/// (Nested structs are guarded by [`crate::domain::object`].)
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> axum::extract::FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Json(object) =
            Json::<serde_json::Map<String, serde_json::Value>>::from_request(request, state)
                .await?;
        serde_json::from_value(serde_json::Value::Object(object))
            .map(ApiJson)
            .map_err(|error| {
                ApiError::BadRequest(format!(
                    "Failed to deserialize the JSON body into the target type: {error}"
                ))
            })
    }
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        Json(self.0).into_response()
    }
}
