//! The REST connector, job type `io.camunda:http-json:1`, with the input names of Camunda's
//! REST connector template: `method`, `url`, `headers`, `queryParameters`, `body`,
//! `authentication` (`type`: `noAuth`, `basic`, `bearer`, `apiKey`,
//! `oauth-client-credentials-flow`), `connectionTimeoutInSeconds`, `readTimeoutInSeconds`
//! (0 for none), `followRedirects` and `ignoreNullValues`.
//!
//! The result is Camunda's: `{status, headers, body}`, the body parsed as JSON when it is
//! JSON. A status of 400 or more is a failure whose `error.code` is the status. Every request
//! carries an `Idempotency-Key` derived from the job key (unless the model sets one), so a
//! job that runs again after a crash or a timeout is recognisable to a target that honours
//! the header.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde::Deserialize;
use serde_json::{Map, Value};
use tokio::sync::Semaphore;

use super::Failure;

/// The target of a call: `host:port`, for the per-host limits and breakers.
#[must_use]
pub fn target_of(inputs: &Value) -> Option<String> {
    let url = url::Url::parse(inputs.get("url")?.as_str()?).ok()?;
    Some(format!(
        "{}:{}",
        url.host_str()?,
        url.port_or_known_default()?
    ))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    #[serde(default)]
    method: Option<String>,
    url: String,
    #[serde(default)]
    headers: Option<Value>,
    #[serde(default)]
    query_parameters: Option<Value>,
    #[serde(default)]
    body: Option<Value>,
    #[serde(default)]
    authentication: Option<Authentication>,
    #[serde(default)]
    connection_timeout_in_seconds: Option<Value>,
    #[serde(default)]
    read_timeout_in_seconds: Option<Value>,
    #[serde(default)]
    follow_redirects: Option<Value>,
    #[serde(default)]
    ignore_null_values: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type")]
enum Authentication {
    #[serde(rename = "noAuth")]
    None,
    #[serde(rename = "basic")]
    Basic {
        username: String,
        #[serde(default)]
        password: Option<String>,
    },
    #[serde(rename = "bearer")]
    Bearer { token: String },
    #[serde(rename = "apiKey", rename_all = "camelCase")]
    ApiKey {
        #[serde(default)]
        api_key_location: Option<String>,
        name: String,
        value: String,
    },
    #[serde(rename = "oauth-client-credentials-flow", rename_all = "camelCase")]
    OAuth {
        oauth_token_endpoint: String,
        client_id: String,
        client_secret: String,
        #[serde(default)]
        audience: Option<String>,
        #[serde(default)]
        client_authentication: Option<String>,
        #[serde(default)]
        scopes: Option<String>,
    },
}

/// Seconds from a number or a numeric string: 20 when absent (Camunda's default), `None`
/// (no limit) for 0.
fn seconds(value: Option<&Value>, name: &str) -> Result<Option<Duration>, Failure> {
    let n = match value {
        None | Some(Value::Null) => return Ok(Some(Duration::from_secs(20))),
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        Some(_) => None,
    }
    .ok_or_else(|| Failure::input(format!("{name} must be a whole number of seconds")))?;
    Ok((n > 0).then(|| Duration::from_secs(n)))
}

fn flag(value: Option<&Value>, name: &str) -> Result<bool, Failure> {
    match value {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s == "true" || s == "false" => Ok(s == "true"),
        Some(_) => Err(Failure::input(format!("{name} must be true or false"))),
    }
}

/// A header or query value as text: strings as they are, anything else as JSON.
fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn pairs(value: Option<&Value>, name: &str) -> Result<Vec<(String, String)>, Failure> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(map)) => Ok(map.iter().map(|(k, v)| (k.clone(), text_of(v))).collect()),
        Some(_) => Err(Failure::input(format!(
            "{name} must be a context of names to values"
        ))),
    }
}

fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct ClientKey {
    connect: Option<Duration>,
    read: Option<Duration>,
    redirects: bool,
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct TokenKey {
    endpoint: String,
    client_id: String,
    audience: Option<String>,
    scopes: Option<String>,
}

/// The REST connector: HTTP clients by timeout settings, OAuth tokens by client, and the
/// per-host concurrency limits.
pub struct Rest {
    clients: Mutex<HashMap<ClientKey, reqwest::Client>>,
    tokens: Mutex<HashMap<TokenKey, (String, Instant)>>,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
    max_per_host: usize,
    max_response_bytes: usize,
}

impl Rest {
    #[must_use]
    pub fn new(max_per_host: usize, max_response_bytes: usize) -> Self {
        Self {
            clients: Mutex::default(),
            tokens: Mutex::default(),
            hosts: Mutex::default(),
            max_per_host: max_per_host.max(1),
            max_response_bytes,
        }
    }

    fn client(&self, key: &ClientKey) -> Result<reqwest::Client, Failure> {
        let mut clients = self.clients.lock().expect("client cache lock");
        if let Some(client) = clients.get(key) {
            return Ok(client.clone());
        }
        let mut builder = reqwest::Client::builder().redirect(if key.redirects {
            reqwest::redirect::Policy::limited(10)
        } else {
            reqwest::redirect::Policy::none()
        });
        if let Some(connect) = key.connect {
            builder = builder.connect_timeout(connect);
        }
        if let Some(read) = key.read {
            builder = builder.read_timeout(read);
        }
        let client = builder
            .build()
            .map_err(|e| Failure::input(format!("cannot build an HTTP client: {e}")))?;
        clients.insert(key.clone(), client.clone());
        Ok(client)
    }

    /// The concurrency limit of `host`.
    fn host_limit(&self, host: &str) -> Arc<Semaphore> {
        let mut hosts = self.hosts.lock().expect("host limits lock");
        hosts
            .entry(host.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(self.max_per_host)))
            .clone()
    }

    /// Calls the target the job's (secret-resolved) `inputs` describe.
    ///
    /// # Errors
    /// [`Failure`] for inputs that do not describe a request, a transport failure, or a
    /// status of 400 or more (with the response).
    pub async fn execute(&self, inputs: &Value, idempotency_key: &str) -> Result<Value, Failure> {
        let input: Input = serde_json::from_value(inputs.clone())
            .map_err(|e| Failure::input(format!("the REST connector's inputs: {e}")))?;
        let url = url::Url::parse(&input.url)
            .map_err(|e| Failure::input(format!("url {:?} is not a URL: {e}", input.url)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Failure::input("url must be http or https"));
        }
        let host = target_of(inputs).ok_or_else(|| Failure::input("url has no host"))?;
        let method = input
            .method
            .as_deref()
            .unwrap_or("GET")
            .to_ascii_uppercase();
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|_| Failure::input(format!("method {method:?} is not an HTTP method")))?;
        let key = ClientKey {
            connect: seconds(
                input.connection_timeout_in_seconds.as_ref(),
                "connectionTimeoutInSeconds",
            )?,
            read: seconds(
                input.read_timeout_in_seconds.as_ref(),
                "readTimeoutInSeconds",
            )?,
            redirects: flag(input.follow_redirects.as_ref(), "followRedirects")?,
        };
        let client = self.client(&key)?;
        let headers = pairs(input.headers.as_ref(), "headers")?;
        let query = pairs(input.query_parameters.as_ref(), "queryParameters")?;

        let mut request = client.request(method, url).query(&query);
        let mut has_idempotency_key = false;
        let mut has_content_type = false;
        for (name, value) in &headers {
            has_idempotency_key |= name.eq_ignore_ascii_case("idempotency-key");
            has_content_type |= name.eq_ignore_ascii_case("content-type");
            request = request.header(name.as_str(), value.as_str());
        }
        if !has_idempotency_key {
            request = request.header("Idempotency-Key", idempotency_key);
        }
        request = match input.authentication {
            None | Some(Authentication::None) => request,
            Some(Authentication::Basic { username, password }) => {
                request.basic_auth(username, password)
            }
            Some(Authentication::Bearer { token }) => request.bearer_auth(token),
            Some(Authentication::ApiKey {
                api_key_location,
                name,
                value,
            }) => match api_key_location.as_deref() {
                Some("query") => request.query(&[(name, value)]),
                _ => request.header(name, value),
            },
            Some(Authentication::OAuth {
                oauth_token_endpoint,
                client_id,
                client_secret,
                audience,
                client_authentication,
                scopes,
            }) => {
                let token_key = TokenKey {
                    endpoint: oauth_token_endpoint,
                    client_id,
                    audience,
                    scopes,
                };
                let token = self
                    .oauth_token(
                        &client,
                        &token_key,
                        &client_secret,
                        client_authentication.as_deref() == Some("basicAuthHeader"),
                    )
                    .await?;
                request.bearer_auth(token)
            }
        };
        if let Some(body) = input.body.filter(|b| !b.is_null()) {
            let body = if flag(input.ignore_null_values.as_ref(), "ignoreNullValues")? {
                without_nulls(body)
            } else {
                body
            };
            request = match body {
                Value::String(text) => {
                    if !has_content_type {
                        request = request.header("Content-Type", "text/plain; charset=utf-8");
                    }
                    request.body(text)
                }
                other => {
                    if !has_content_type {
                        request = request.header("Content-Type", "application/json");
                    }
                    request.body(other.to_string())
                }
            };
        }

        let limit = self.host_limit(&host);
        let _permit = limit.acquire().await.expect("host limits are never closed");
        let response = request.send().await.map_err(|e| transport(&e, &host))?;
        let status = response.status().as_u16();
        let mut response_headers = Map::new();
        for (name, value) in response.headers() {
            if let Ok(value) = value.to_str() {
                response_headers.insert(name.as_str().to_owned(), Value::String(value.to_owned()));
            }
        }
        let bytes = self.read_body(response, &host).await?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        let result =
            serde_json::json!({ "status": status, "headers": response_headers, "body": body });
        if status >= 400 {
            return Err(Failure {
                code: status.to_string(),
                message: format!("{host} answered HTTP {status}"),
                response: Some(result),
                retryable: true,
                host_failed: status >= 500 || status == 429,
            });
        }
        Ok(result)
    }

    async fn read_body(
        &self,
        mut response: reqwest::Response,
        host: &str,
    ) -> Result<Vec<u8>, Failure> {
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| transport(&e, host))? {
            if bytes.len() + chunk.len() > self.max_response_bytes {
                return Err(Failure {
                    code: "RESPONSE_TOO_LARGE".into(),
                    message: format!(
                        "{host} answered more than {} bytes, the plane's limit (connectors.rest.max_response_bytes)",
                        self.max_response_bytes
                    ),
                    response: None,
                    retryable: false,
                    host_failed: false,
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }

    async fn oauth_token(
        &self,
        client: &reqwest::Client,
        key: &TokenKey,
        secret: &str,
        basic_header: bool,
    ) -> Result<String, Failure> {
        if let Some((token, until)) = self.tokens.lock().expect("token cache lock").get(key)
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let mut form = vec![("grant_type", "client_credentials".to_owned())];
        if let Some(audience) = &key.audience {
            form.push(("audience", audience.clone()));
        }
        if let Some(scopes) = &key.scopes {
            form.push(("scope", scopes.clone()));
        }
        let mut request = client.post(&key.endpoint);
        if basic_header {
            request = request.basic_auth(&key.client_id, Some(secret));
        } else {
            form.push(("client_id", key.client_id.clone()));
            form.push(("client_secret", secret.to_owned()));
        }
        let host = url::Url::parse(&key.endpoint)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        let response = request
            .form(&form)
            .send()
            .await
            .map_err(|e| transport(&e, &host))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let token = body["access_token"]
            .as_str()
            .filter(|_| status.is_success());
        let Some(token) = token else {
            return Err(Failure {
                code: "OAUTH_TOKEN".into(),
                message: format!("the OAuth token endpoint answered HTTP {}", status.as_u16()),
                response: None,
                retryable: true,
                host_failed: status.is_server_error(),
            });
        };
        // Refreshed a little early, so a token never expires in flight.
        let lifetime = body["expires_in"].as_u64().unwrap_or(60).saturating_sub(10);
        self.tokens.lock().expect("token cache lock").insert(
            key.clone(),
            (
                token.to_owned(),
                Instant::now() + Duration::from_secs(lifetime),
            ),
        );
        Ok(token.to_owned())
    }
}

fn transport(error: &reqwest::Error, host: &str) -> Failure {
    let (code, what) = if error.is_timeout() {
        ("TIMEOUT", "did not answer in time")
    } else if error.is_connect() {
        ("CONNECTION_FAILED", "could not be connected to")
    } else {
        ("TRANSPORT", "failed mid-request")
    };
    // reqwest's message names the URL, which may hold a resolved secret; the caller scrubs.
    Failure {
        code: code.into(),
        message: format!("{host} {what}: {error}"),
        response: None,
        retryable: true,
        host_failed: true,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn targets_name_host_and_port() {
        assert_eq!(
            target_of(&json!({ "url": "https://api.example/x" })).as_deref(),
            Some("api.example:443")
        );
        assert_eq!(
            target_of(&json!({ "url": "http://10.0.0.1:8080" })).as_deref(),
            Some("10.0.0.1:8080")
        );
        assert_eq!(target_of(&json!({ "url": "nope" })), None);
    }

    #[tokio::test]
    async fn malformed_inputs_fail_without_retries() {
        let rest = Rest::new(1, 1024);
        for inputs in [
            json!({}),
            json!({ "url": "ftp://x/" }),
            json!({ "url": "http://x/", "method": "G ET" }),
            json!({ "url": "http://x/", "headers": "a" }),
            json!({ "url": "http://x/", "readTimeoutInSeconds": "soon" }),
            json!({ "url": "http://x/", "authentication": { "type": "kerberos" } }),
        ] {
            let failure = rest.execute(&inputs, "k").await.unwrap_err();
            assert_eq!(
                (failure.code.as_str(), failure.retryable),
                ("INVALID_INPUT", false),
                "{inputs}"
            );
        }
    }
}
