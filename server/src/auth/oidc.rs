//! Single sign-on with OpenID Connect: the authorization code flow with PKCE, a CSRF `state`
//! and a `nonce`, against the issuer named in the configuration.
//!
//! `GET /auth/oidc/login` remembers the flow's secrets in the (not yet signed-in) session and
//! sends the browser to the provider; `GET /auth/oidc/callback` checks `state`, exchanges the
//! code with the PKCE verifier, verifies the ID token (signature, issuer, audience, expiry,
//! nonce) and signs the matching account in. An account is matched by the token's issuer and
//! subject; failing that, by its verified email, which links the identity to an account made
//! for SSO (an owner added the colleague by email, without a password, before their first SSO
//! sign-in) — never to one that has a password or is a platform administrator; failing both, a
//! new account without tenants is created. Errors end at the sign-in page with a message, never
//! with a half-made session.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    Router,
    extract::{FromRef, Query, State},
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use chrono::{DateTime, Utc};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
    core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata},
};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use sqlx::{PgPool, Row};
use tokio::sync::RwLock;
use tower_sessions::Session;
use uuid::Uuid;

use super::login;
use crate::{config::OidcConfig, db};

/// Where the provider sends the browser back.
pub const CALLBACK_PATH: &str = "/auth/oidc/callback";

/// Session key of a flow in progress.
const SESSION_FLOW: &str = "oidc_flow";
/// A flow not finished within this time is refused (the user can simply start again).
const FLOW_LIFETIME: chrono::Duration = chrono::Duration::minutes(10);
/// The provider's metadata and signing keys are fetched again after this long, so rotated keys
/// are picked up without a restart.
const METADATA_TTL: Duration = Duration::from_secs(15 * 60);
/// Calls to the provider must answer within this time.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// The configured provider, with its discovery document cached.
#[derive(Debug)]
pub struct Sso {
    config: OidcConfig,
    http: reqwest::Client,
    metadata: RwLock<Option<(Instant, CoreProviderMetadata)>>,
}

/// What went wrong, in words for the sign-in page. Details go to the log.
#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    #[error("single sign-on is not configured")]
    NotConfigured,
    #[error("the sign-in was not started here or has expired; please try again")]
    NoFlow,
    #[error("the identity provider refused the sign-in: {0}")]
    Provider(String),
    #[error("the identity provider cannot be reached or answered unexpectedly")]
    Unavailable(#[source] anyhow::Error),
    #[error("the identity provider's answer could not be verified")]
    Verification(#[source] anyhow::Error),
    #[error("the identity provider did not give an email address for this account")]
    NoEmail,
    #[error("this email belongs to an account linked to another single sign-on identity")]
    Conflict,
    #[error(
        "this email belongs to an account that signs in with a password; sign in with it, or \
         ask an administrator to link single sign-on"
    )]
    LinkRefused,
    #[error("the sign-in could not be completed")]
    Internal(#[source] anyhow::Error),
}

/// The secrets of one flow, kept in the session between the two requests.
#[derive(Debug, Serialize, Deserialize)]
struct Flow {
    state: String,
    nonce: String,
    pkce_verifier: String,
    /// Where to go after signing in (a path on this site).
    next: String,
    started_at: DateTime<Utc>,
}

/// The identity an ID token vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
}

impl Sso {
    pub fn new(config: OidcConfig) -> anyhow::Result<Self> {
        // Redirects are never followed: a token endpoint that redirects is misconfigured or
        // hostile, and following it could leak the code.
        let http = reqwest::ClientBuilder::new()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(HTTP_TIMEOUT)
            .build()?;
        IssuerUrl::new(config.issuer_url.clone())?;
        RedirectUrl::new(config.redirect_url.clone())?;
        Ok(Self {
            config,
            http,
            metadata: RwLock::new(None),
        })
    }

    /// The label of the sign-in button.
    pub fn label(&self) -> &str {
        &self.config.display_name
    }

    async fn metadata(&self, refresh: bool) -> Result<CoreProviderMetadata, SsoError> {
        if !refresh
            && let Some((fetched, metadata)) = self.metadata.read().await.as_ref()
            && fetched.elapsed() < METADATA_TTL
        {
            return Ok(metadata.clone());
        }
        let issuer = IssuerUrl::new(self.config.issuer_url.clone())
            .map_err(|error| SsoError::Internal(error.into()))?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|error| SsoError::Unavailable(anyhow::anyhow!("discovery: {error}")))?;
        *self.metadata.write().await = Some((Instant::now(), metadata.clone()));
        Ok(metadata)
    }

    fn client(
        &self,
        metadata: CoreProviderMetadata,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        SsoError,
    > {
        let redirect = RedirectUrl::new(self.config.redirect_url.clone())
            .map_err(|error| SsoError::Internal(error.into()))?;
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.config.client_id.clone()),
            Some(ClientSecret::new(
                self.config.client_secret.expose_secret().to_owned(),
            )),
        )
        .set_redirect_uri(redirect))
    }

    /// Starts a flow: remembers its secrets in the session and returns the provider's URL.
    async fn begin(&self, session: &Session, next: String) -> Result<String, SsoError> {
        let client = self.client(self.metadata(false).await?)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in &self.config.scopes {
            if scope != "openid" {
                request = request.add_scope(Scope::new(scope.clone()));
            }
        }
        let (url, state, nonce) = request.url();
        let flow = Flow {
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            next,
            started_at: Utc::now(),
        };
        session
            .insert(SESSION_FLOW, flow)
            .await
            .map_err(|error| SsoError::Internal(error.into()))?;
        Ok(url.to_string())
    }

    /// Finishes a flow: checks `state`, redeems the code and verifies the ID token.
    async fn finish(
        &self,
        session: &Session,
        callback: Callback,
    ) -> Result<(Identity, String), SsoError> {
        // Taken out at once, so a code can be redeemed through this session only once.
        let flow: Flow = session
            .remove(SESSION_FLOW)
            .await
            .map_err(|error| SsoError::Internal(error.into()))?
            .ok_or(SsoError::NoFlow)?;
        if Utc::now() - flow.started_at > FLOW_LIFETIME {
            return Err(SsoError::NoFlow);
        }
        let Some(state) = callback.state.as_deref() else {
            return Err(SsoError::NoFlow);
        };
        if !constant_time_eq(state.as_bytes(), flow.state.as_bytes()) {
            return Err(SsoError::NoFlow);
        }
        if let Some(error) = callback.error {
            let description = callback.error_description.unwrap_or_default();
            return Err(SsoError::Provider(
                format!("{error} {description}").trim().to_owned(),
            ));
        }
        let code = callback
            .code
            .ok_or_else(|| SsoError::Provider("no authorization code".to_owned()))?;

        Ok((self.redeem(&flow, &code).await?, flow.next))
    }

    /// Exchanges the code (once: a code is single-use) and verifies the ID token, against
    /// freshly fetched keys if the cached ones do not verify it (the provider may have rotated
    /// them).
    async fn redeem(&self, flow: &Flow, code: &str) -> Result<Identity, SsoError> {
        let client = self.client(self.metadata(false).await?)?;
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|error| SsoError::Internal(error.into()))?
            .set_pkce_verifier(PkceCodeVerifier::new(flow.pkce_verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|error| match error {
                openidconnect::RequestTokenError::ServerResponse(response) => {
                    SsoError::Provider(response.error().to_string())
                }
                other => SsoError::Unavailable(anyhow::anyhow!("token request: {other}")),
            })?;
        let id_token = response.id_token().ok_or_else(|| {
            SsoError::Verification(anyhow::anyhow!("the token response has no ID token"))
        })?;
        let nonce = Nonce::new(flow.nonce.clone());
        let refreshed;
        let claims = match id_token.claims(&client.id_token_verifier(), &nonce) {
            Ok(claims) => claims,
            Err(_) => {
                refreshed = self.client(self.metadata(true).await?)?;
                id_token
                    .claims(&refreshed.id_token_verifier(), &nonce)
                    .map_err(|error| SsoError::Verification(error.into()))?
            }
        };
        Ok(Identity {
            issuer: claims.issuer().as_str().to_owned(),
            subject: claims.subject().as_str().to_owned(),
            email: claims.email().map(|email| email.as_str().to_owned()),
            email_verified: claims.email_verified().unwrap_or(false),
            name: claims
                .name()
                .and_then(|name| name.get(None))
                .map(|name| name.as_str().to_owned()),
        })
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Finds or creates the account for `identity` and returns its id.
pub async fn account_for(pool: &PgPool, identity: &Identity) -> Result<Uuid, SsoError> {
    let internal = |error: sqlx::Error| SsoError::Internal(error.into());
    let mut tx = db::begin_platform(pool)
        .await
        .map_err(|error| SsoError::Internal(error.into()))?;
    let linked: Option<Uuid> =
        sqlx::query_scalar("select id from users where oidc_issuer = $1 and oidc_subject = $2")
            .bind(&identity.issuer)
            .bind(&identity.subject)
            .fetch_optional(&mut *tx)
            .await
            .map_err(internal)?;
    if let Some(id) = linked {
        tx.commit().await.map_err(internal)?;
        return Ok(id);
    }
    // An unverified email proves nothing about who owns it, so it never links an account.
    let email = identity
        .email
        .as_deref()
        .filter(|_| identity.email_verified)
        .ok_or(SsoError::NoEmail)?;
    let by_email = sqlx::query(
        "select u.id, u.oidc_subject, u.password_hash is not null as has_password, \
         exists (select 1 from platform_admins a where a.user_id = u.id) as platform_admin \
         from users u where lower(u.email) = lower($1) for no key update",
    )
    .bind(email)
    .fetch_optional(&mut *tx)
    .await
    .map_err(internal)?;
    let id = match by_email {
        Some(row) => {
            let id: Uuid = row.try_get("id").map_err(internal)?;
            let subject: Option<String> = row.try_get("oidc_subject").map_err(internal)?;
            if subject.is_some() {
                return Err(SsoError::Conflict);
            }
            // An identity provider's word that it verified an email is not enough to take
            // over an account that signs in with a password, or a platform administrator's.
            let has_password: bool = row.try_get("has_password").map_err(internal)?;
            let platform_admin: bool = row.try_get("platform_admin").map_err(internal)?;
            if has_password || platform_admin {
                return Err(SsoError::LinkRefused);
            }
            sqlx::query("update users set oidc_issuer = $2, oidc_subject = $3 where id = $1")
                .bind(id)
                .bind(&identity.issuer)
                .bind(&identity.subject)
                .execute(&mut *tx)
                .await
                .map_err(internal)?;
            tracing::info!(user.id = %id, "linked a single sign-on identity to an account");
            id
        }
        None => {
            let name = identity
                .name
                .as_deref()
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .unwrap_or(email)
                .chars()
                .take(200)
                .collect::<String>();
            let id: Uuid = sqlx::query_scalar(
                "insert into users (email, name, oidc_issuer, oidc_subject) \
                 values ($1, $2, $3, $4) returning id",
            )
            .bind(email)
            .bind(name)
            .bind(&identity.issuer)
            .bind(&identity.subject)
            .fetch_one(&mut *tx)
            .await
            .map_err(internal)?;
            tracing::info!(user.id = %id, "created an account at its first single sign-on");
            id
        }
    };
    tx.commit().await.map_err(internal)?;
    Ok(id)
}

/// The sign-in and callback routes, for any application state that holds the single sign-on
/// configuration (if any) and the pool.
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Option<Arc<Sso>>: FromRef<S>,
    PgPool: FromRef<S>,
{
    Router::new()
        .route("/auth/oidc/login", get(start))
        .route(CALLBACK_PATH, get(callback))
}

#[derive(Debug, Deserialize)]
struct Start {
    next: Option<String>,
}

/// A path on this site to go to after signing in; anything else (another origin, a
/// protocol-relative `//host`) becomes the tenants page.
/// Browsers drop tabs and newlines while parsing a URL, so `/\t/evil.example` would become
/// `//evil.example`: only printable ASCII is followed.
fn safe_next(next: Option<String>) -> String {
    next.filter(|next| {
        next.starts_with('/')
            && !next.starts_with("//")
            && !next.contains('\\')
            && next.len() < 512
            && next.bytes().all(|b| b.is_ascii_graphic())
    })
    .unwrap_or_else(|| "/tenants".to_owned())
}

/// Back to the sign-in page, saying what went wrong.
fn to_sign_in_page(error: &SsoError) -> Response {
    match error {
        SsoError::Unavailable(source)
        | SsoError::Verification(source)
        | SsoError::Internal(source) => {
            tracing::warn!(
                error = format!("{source:#}"),
                "single sign-on failed: {error}"
            );
        }
        other => tracing::info!("single sign-on refused: {other}"),
    }
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("sso_error", &error.to_string())
        .finish();
    Redirect::to(&format!("/login?{query}")).into_response()
}

async fn start(
    State(sso): State<Option<Arc<Sso>>>,
    session: Session,
    Query(start): Query<Start>,
) -> Response {
    let Some(sso) = sso.as_deref() else {
        return to_sign_in_page(&SsoError::NotConfigured);
    };
    match sso.begin(&session, safe_next(start.next)).await {
        Ok(url) => Redirect::to(&url).into_response(),
        Err(error) => to_sign_in_page(&error),
    }
}

#[derive(Debug, Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

async fn callback(
    State(sso): State<Option<Arc<Sso>>>,
    State(pool): State<PgPool>,
    session: Session,
    Query(callback): Query<Callback>,
) -> Response {
    let Some(sso) = sso.as_deref() else {
        return to_sign_in_page(&SsoError::NotConfigured);
    };
    let signed_in = async {
        let (identity, next) = sso.finish(&session, callback).await?;
        let user_id = account_for(&pool, &identity).await?;
        login::start_session(&session, user_id)
            .await
            .map_err(|error| SsoError::Internal(anyhow::anyhow!("{error}")))?;
        tracing::info!(user.id = %user_id, "signed in with single sign-on");
        Ok::<_, SsoError>(next)
    };
    match signed_in.await {
        Ok(next) => Redirect::to(&next).into_response(),
        Err(error) => to_sign_in_page(&error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next(Some("/tenants/demo".into())), "/tenants/demo");
        for hostile in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/ /evil.example",
            "",
        ] {
            assert_eq!(safe_next(Some(hostile.into())), "/tenants", "{hostile}");
        }
        assert_eq!(safe_next(None), "/tenants");
    }

    #[test]
    fn state_comparison_needs_equal_bytes() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
