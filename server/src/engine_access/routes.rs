//! The HTTP side of engine access: the engine clients' REST API under `/api/v1` (owners
//! only; documented in the OpenAPI document), and the OAuth endpoints the engines and their
//! clients use, outside `/api/v1`: `POST /oauth/token`, `GET /oauth/jwks.json` and the
//! authorisation server metadata (RFC 8414) at `GET /.well-known/oauth-authorization-server`.
//!
//! The OAuth endpoints need no session and answer in OAuth's own shapes (RFC 6749 §5), not in
//! the API's `{code, message}`: they are what Zeebe clients expect of any token endpoint.

use std::sync::Arc;

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{delete, get, post},
};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use engine::auth::Permission;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgPool;
use utoipa::ToSchema;

use super::{
    Authority, audience,
    service::{self, OAuthError, TokenRequest},
    store::ClientRow,
};
use crate::{
    auth::RequestMeta,
    context::Ctx,
    error::{ApiJson, ErrorBody, Result},
    extract::{EnvironmentPath, TenantPath},
    pipeline::Pipeline,
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/tenants/{tenant}/environments/{environment}/clients",
            get(list_clients).post(create_client),
        )
        .route(
            "/api/v1/tenants/{tenant}/environments/{environment}/clients/{client_id}",
            delete(revoke_client),
        )
        .route("/oauth/token", post(token))
        .route("/oauth/jwks.json", get(jwks))
        .route("/.well-known/oauth-authorization-server", get(metadata))
}

/// What an engine client may do with its tokens.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum EnginePermission {
    /// Activate, stream, complete and fail jobs, throw BPMN errors, change a job's retries or
    /// timeout.
    Jobs,
    /// Create, cancel and modify process instances, set variables, resolve incidents.
    Instances,
    /// Publish messages and broadcast signals.
    Messages,
    /// Deploy and delete resources.
    Deploy,
}

impl From<EnginePermission> for Permission {
    fn from(permission: EnginePermission) -> Self {
        match permission {
            EnginePermission::Jobs => Permission::Jobs,
            EnginePermission::Instances => Permission::Instances,
            EnginePermission::Messages => Permission::Messages,
            EnginePermission::Deploy => Permission::Deploy,
        }
    }
}

impl From<Permission> for EnginePermission {
    fn from(permission: Permission) -> Self {
        match permission {
            Permission::Jobs => EnginePermission::Jobs,
            Permission::Instances => EnginePermission::Instances,
            Permission::Messages => EnginePermission::Messages,
            Permission::Deploy => EnginePermission::Deploy,
        }
    }
}

fn permissions_of(names: &[String]) -> Vec<EnginePermission> {
    names
        .iter()
        .filter_map(|name| Permission::parse(name))
        .map(EnginePermission::from)
        .collect()
}

/// What `POST …/environments/{environment}/clients` accepts.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEngineClient {
    /// What the client is for, e.g. the worker that uses it.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\s\x00-\x1f\x7f]([^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f])?$"
    )]
    pub name: String,
    /// What its tokens allow on the engine: at least one, each at most once.
    #[schema(value_type = BTreeSet<EnginePermission>, min_items = 1, max_items = 4)]
    pub permissions: Vec<EnginePermission>,
}

/// A newly created engine client. `client_secret` is shown only now; the server keeps only
/// its hash.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreatedEngineClient {
    /// `astc_` and 32 hex digits.
    pub client_id: String,
    pub client_secret: String,
    pub name: String,
    pub permissions: Vec<EnginePermission>,
    pub environment: String,
    /// Where the client gets tokens (OAuth 2.0 client credentials, `client_secret_post` or
    /// `client_secret_basic`).
    pub token_url: String,
    /// The audience of the environment's engine, `astraflow-engine:<environment>`.
    pub audience: String,
    /// Where the client reaches the engine: the embedded engine's gateway (`host:port`, as
    /// long as the server runs; it changes when the server restarts), or an external engine's
    /// configured address.
    pub gateway_address: String,
}

/// An engine client, without its secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EngineClient {
    pub client_id: String,
    pub name: String,
    pub permissions: Vec<EnginePermission>,
    /// The email of the member who created it (`null` once that account is gone).
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    /// When it last got a token (updated at most once a minute).
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<ClientRow> for EngineClient {
    fn from(row: ClientRow) -> Self {
        Self {
            permissions: permissions_of(&row.permissions),
            client_id: row.client_id,
            name: row.name,
            created_by: row.created_by,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
        }
    }
}

#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/environments/{environment}/clients", tag = "engine clients",
    params(
        ("tenant" = String, Path, description = "The tenant's id"),
        ("environment" = String, Path, description = "The environment's name"),
    ),
    request_body = NewEngineClient,
    responses(
        (status = 201, description = "Created; `client_secret` is shown only now", body = CreatedEngineClient),
        (status = 404, description = "No such tenant or environment", body = ErrorBody),
        (status = 409, description = "The tenant is suspended", body = ErrorBody),
        (status = 422, description = "A field is invalid", body = ErrorBody),
        (status = 503, description = "The environment's embedded engine cannot be started", body = ErrorBody),
    ))]
/// Creates a client of the environment's engine: Zeebe workers and clients exchange its id and
/// secret at `token_url` for access tokens to `gateway_address`.
pub(crate) async fn create_client(
    ctx: Ctx,
    State(pipeline): State<Arc<Pipeline>>,
    State(authority): State<Arc<Authority>>,
    TenantPath(tenant): TenantPath,
    EnvironmentPath(environment): EnvironmentPath,
    ApiJson(new): ApiJson<NewEngineClient>,
) -> Result<(StatusCode, Json<CreatedEngineClient>)> {
    let permissions: Vec<Permission> = new.permissions.iter().copied().map(Into::into).collect();
    let (created, gateway_address) = service::create(
        &ctx,
        pipeline.engines(),
        &tenant,
        &environment,
        &new.name,
        &permissions,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedEngineClient {
            audience: audience(&created.environment.name),
            client_id: created.client_id,
            client_secret: created.client_secret,
            name: created.name,
            permissions: created.permissions.into_iter().map(Into::into).collect(),
            environment: created.environment.name,
            token_url: authority.token_url(),
            gateway_address,
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/environments/{environment}/clients", tag = "engine clients",
    params(
        ("tenant" = String, Path, description = "The tenant's id"),
        ("environment" = String, Path, description = "The environment's name"),
    ),
    responses(
        (status = 200, description = "The environment's clients that are not revoked, oldest first; never their secrets", body = Vec<EngineClient>),
        (status = 404, description = "No such tenant or environment", body = ErrorBody),
    ))]
pub(crate) async fn list_clients(
    ctx: Ctx,
    TenantPath(tenant): TenantPath,
    EnvironmentPath(environment): EnvironmentPath,
) -> Result<Json<Vec<EngineClient>>> {
    let clients = service::list(&ctx, &tenant, &environment).await?;
    Ok(Json(clients.into_iter().map(EngineClient::from).collect()))
}

#[utoipa::path(delete, path = "/api/v1/tenants/{tenant}/environments/{environment}/clients/{client_id}", tag = "engine clients",
    params(
        ("tenant" = String, Path, description = "The tenant's id"),
        ("environment" = String, Path, description = "The environment's name"),
        ("client_id" = String, Path, description = "The client's id"),
    ),
    responses(
        (status = 204, description = "Revoked: the client gets no more tokens; tokens it already has work until they expire (at most five minutes)"),
        (status = 404, description = "No such tenant, environment or client (or it is revoked already)", body = ErrorBody),
    ))]
pub(crate) async fn revoke_client(
    ctx: Ctx,
    TenantPath(tenant): TenantPath,
    EnvironmentPath(environment): EnvironmentPath,
    Path((_, _, client_id)): Path<(String, String, String)>,
) -> Result<StatusCode> {
    service::revoke(&ctx, &tenant, &environment, &client_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// --- OAuth ----------------------------------------------------------------------------------

/// A JSON answer that no cache may keep (RFC 6749 §5.1).
fn no_store(status: StatusCode, body: serde_json::Value) -> Response {
    let mut response = (status, Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            OAuthError::InvalidRequest(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            OAuthError::InvalidClient { .. } => (StatusCode::UNAUTHORIZED, "invalid_client"),
            OAuthError::UnsupportedGrantType => (StatusCode::BAD_REQUEST, "unsupported_grant_type"),
            OAuthError::InvalidTarget(_) => (StatusCode::BAD_REQUEST, "invalid_target"),
            OAuthError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            OAuthError::Server(error) => {
                tracing::error!(%error, "token endpoint failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "server_error")
            }
        };
        let mut response = no_store(
            status,
            json!({ "error": code, "error_description": self.to_string() }),
        );
        match self {
            OAuthError::InvalidClient { basic: true } => {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(r#"Basic realm="astraflow", charset="UTF-8""#),
                );
            }
            OAuthError::RateLimited { retry_after } => {
                let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
                if let Ok(value) = HeaderValue::from_str(&secs.max(1).to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
            }
            _ => {}
        }
        response
    }
}

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a space), as the id and
/// secret of HTTP Basic client authentication are encoded (RFC 6749 §2.3.1).
fn form_decode(component: &str) -> Option<String> {
    let bytes = component.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = component.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// The client id and secret of an `Authorization: Basic` header.
fn basic_credentials(value: &HeaderValue) -> Result<(String, String), OAuthError> {
    let text = value.to_str().ok().map(str::trim);
    let encoded = text
        .and_then(|text| {
            text.split_once(' ')
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
                .map(|(_, rest)| rest.trim())
        })
        // Another scheme: this endpoint authenticates clients with Basic or the form only.
        .ok_or(OAuthError::InvalidClient { basic: true })?;
    let malformed = || {
        OAuthError::InvalidRequest(
            "the Basic credentials are not base64 of client_id:client_secret".to_owned(),
        )
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(malformed)?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    Ok((
        form_decode(id).ok_or_else(malformed)?,
        form_decode(secret).ok_or_else(malformed)?,
    ))
}

/// The token request in `headers` and the form `body`.
fn token_request(headers: &HeaderMap, body: &[u8]) -> Result<TokenRequest, OAuthError> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|value| {
            value
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form {
        return Err(OAuthError::InvalidRequest(
            "the request must be application/x-www-form-urlencoded".to_owned(),
        ));
    }
    let mut request = TokenRequest::default();
    let mut seen = std::collections::HashSet::new();
    for (name, value) in url::form_urlencoded::parse(body) {
        let slot = match name.as_ref() {
            "grant_type" => &mut request.grant_type,
            "client_id" => &mut request.client_id,
            "client_secret" => &mut request.client_secret,
            "audience" => &mut request.audience,
            // Unknown parameters, and `scope` (a token grants what its client may), are
            // ignored (RFC 6749 §3.1).
            _ => continue,
        };
        if !seen.insert(name.clone()) {
            return Err(OAuthError::InvalidRequest(format!(
                "{name} is given more than once"
            )));
        }
        // A parameter without a value is as if it were left out.
        if !value.is_empty() {
            *slot = Some(value.into_owned());
        }
    }
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let (id, secret) = basic_credentials(value)?;
        if request.client_secret.is_some() {
            return Err(OAuthError::InvalidRequest(
                "authenticate the client one way: HTTP Basic or client_secret in the form, \
                 not both"
                    .to_owned(),
            ));
        }
        if request
            .client_id
            .as_ref()
            .is_some_and(|form_id| *form_id != id)
        {
            return Err(OAuthError::InvalidRequest(
                "client_id differs from the Basic credentials".to_owned(),
            ));
        }
        request.client_id = Some(id).filter(|id| !id.is_empty());
        request.client_secret = Some(secret).filter(|secret| !secret.is_empty());
        request.basic = true;
    }
    Ok(request)
}

/// `POST /oauth/token`: the client credentials grant (RFC 6749 §4.4), the client
/// authenticated by `client_secret_post` or `client_secret_basic`; an optional `audience`
/// must be the client's engine. Answers `{access_token, token_type, expires_in}`.
async fn token(
    State(pool): State<PgPool>,
    State(authority): State<Arc<Authority>>,
    meta: RequestMeta,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let address = meta.ip.as_deref().and_then(|ip| ip.parse().ok());
    let issued = async {
        let request = token_request(&headers, &body)?;
        service::issue_token(&pool, &authority, request, address).await
    }
    .await;
    match issued {
        Ok(token) => no_store(
            StatusCode::OK,
            json!({
                "access_token": token.token,
                "token_type": "Bearer",
                "expires_in": token.expires_in,
            }),
        ),
        Err(error) => error.into_response(),
    }
}

/// `GET /oauth/jwks.json`: the public keys tokens are signed with.
async fn jwks(State(authority): State<Arc<Authority>>) -> Response {
    let mut response = Json(authority.jwks()).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    response
}

/// `GET /.well-known/oauth-authorization-server` (RFC 8414).
async fn metadata(State(authority): State<Arc<Authority>>) -> Json<serde_json::Value> {
    Json(json!({
        "issuer": authority.issuer(),
        "token_endpoint": authority.token_url(),
        "jwks_uri": authority.jwks_url(),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "response_types_supported": [],
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");

    #[test]
    fn form_and_basic_credentials_are_read() {
        let posted = token_request(
            &headers(&[FORM]),
            b"grant_type=client_credentials&client_id=astc_1&client_secret=s%2B1&scope=x&audience=",
        )
        .unwrap();
        assert_eq!(posted.grant_type.as_deref(), Some("client_credentials"));
        assert_eq!(posted.client_id.as_deref(), Some("astc_1"));
        assert_eq!(posted.client_secret.as_deref(), Some("s+1"));
        assert_eq!(posted.audience, None);
        assert!(!posted.basic);

        let basic = base64::engine::general_purpose::STANDARD.encode("astc_1:s%2B1+2");
        let basic = token_request(
            &headers(&[FORM, ("authorization", &format!("Basic {basic}"))]),
            b"grant_type=client_credentials&client_id=astc_1",
        )
        .unwrap();
        assert_eq!(basic.client_id.as_deref(), Some("astc_1"));
        assert_eq!(basic.client_secret.as_deref(), Some("s+1 2"));
        assert!(basic.basic);
    }

    #[test]
    fn malformed_requests_are_refused() {
        let invalid = |headers: HeaderMap, body: &[u8]| {
            matches!(
                token_request(&headers, body),
                Err(OAuthError::InvalidRequest(_))
            )
        };
        assert!(invalid(headers(&[]), b"grant_type=client_credentials"));
        assert!(invalid(
            headers(&[("content-type", "application/json")]),
            b"{}"
        ));
        assert!(invalid(
            headers(&[FORM]),
            b"grant_type=client_credentials&grant_type=password"
        ));
        let basic = base64::engine::general_purpose::STANDARD.encode("a:b");
        assert!(invalid(
            headers(&[FORM, ("authorization", &format!("Basic {basic}"))]),
            b"client_secret=b"
        ));
        assert!(invalid(
            headers(&[FORM, ("authorization", "Basic !!!")]),
            b""
        ));
        assert!(matches!(
            token_request(&headers(&[FORM, ("authorization", "Bearer x")]), b""),
            Err(OAuthError::InvalidClient { basic: true })
        ));
        assert_eq!(form_decode("a%2"), None);
        assert_eq!(form_decode("%41+b").as_deref(), Some("A b"));
    }
}
