//! The tenant page's Environments section: per environment, where Zeebe clients and workers
//! reach its engine (gateway address, token URL, audience) and its engine clients. Owners
//! create clients — the secret is shown once, with ready-made settings for pyzeebe, zeebe-node
//! and the Java client — and revoke them; every other role only reads, and does not see the
//! clients, which the server lists to owners only.

use leptos::prelude::*;

use crate::api::access::{
    CreateEngineClient, CreatedEngineClientView, ENGINE_PERMISSIONS, EngineClientView,
    EngineEnvironmentView, PlaneView, RevokeEngineClient, engine_access,
};
use crate::routes::access::{action_error, error_view};

/// What each permission lets a client's tokens do on the engine.
fn permission_hint(permission: &str) -> &'static str {
    match permission {
        "jobs" => "activate, complete and fail jobs",
        "instances" => "create, cancel and modify process instances",
        "messages" => "publish messages and broadcast signals",
        "deploy" => "deploy and delete resources",
        _ => "",
    }
}

#[component]
pub fn EnvironmentsSection(tenant: String) -> impl IntoView {
    let create = ServerAction::<CreateEngineClient>::new();
    let revoke = ServerAction::<RevokeEngineClient>::new();
    let for_access = tenant.clone();
    let access = Resource::new(
        move || {
            (
                for_access.clone(),
                create.version().get(),
                revoke.version().get(),
            )
        },
        |(tenant, ..)| engine_access(tenant),
    );
    // Where the last creation was asked for (its refusal is shown there), the creation whose
    // secret has been put away (by the action's version), and which client's revocation
    // awaits confirmation.
    let creating_in = RwSignal::new(None::<String>);
    let dismissed = RwSignal::new(None::<usize>);
    let confirming = RwSignal::new(None::<String>);
    let tenant = StoredValue::new(tenant);

    view! {
        <section class="card" data-testid="environments">
            <h2>"Environments"</h2>
            <p class="muted">
                "Zeebe clients and workers reach an environment's engine with an engine client: \
                 they exchange its id and secret at the token URL for access tokens, which are \
                 valid five minutes and only for that environment's engine."
            </p>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let access = match access.await {
                        Ok(access) => access,
                        Err(error) => return error_view(error),
                    };
                    let manage = access.can_manage;
                    access
                        .environments
                        .into_iter()
                        .map(|environment| {
                            view! {
                                <Environment
                                    environment
                                    tenant=tenant.get_value()
                                    manage
                                    create
                                    revoke
                                    creating_in
                                    dismissed
                                    confirming
                                />
                            }
                        })
                        .collect_view()
                        .into_any()
                })}
            </Transition>
            {action_error(revoke.value())}
        </section>
    }
}

/// One environment: its engine's connection details, its clients and the owners' controls.
#[component]
#[expect(
    clippy::too_many_arguments,
    reason = "a Leptos component's props are its arguments; these are the ones the page shares"
)]
fn Environment(
    environment: EngineEnvironmentView,
    tenant: String,
    manage: bool,
    create: ServerAction<CreateEngineClient>,
    revoke: ServerAction<RevokeEngineClient>,
    creating_in: RwSignal<Option<String>>,
    dismissed: RwSignal<Option<usize>>,
    confirming: RwSignal<Option<String>>,
) -> impl IntoView {
    let name = environment.name.clone();
    let gateway = match &environment.gateway_address {
        Some(address) => view! {
            <code data-testid="gateway-address">{address.clone()}</code>
            {environment.embedded.then_some(view! {
                <span class="muted">" (its port changes when the server restarts)"</span>
            })}
        }
        .into_any(),
        None => view! {
            <span class="muted" data-testid="gateway-address">
                "not running yet: it starts when a client is created or a version is deployed"
            </span>
        }
        .into_any(),
    };
    let clients = match environment.clients {
        Some(clients) => view! {
            <ClientTable
                clients
                tenant=tenant.clone()
                environment=name.clone()
                manage
                revoke
                confirming
            />
        }
        .into_any(),
        None => view! {
            <p class="muted" data-testid="clients-owners-only">
                "Only the tenant's owners see and manage its engine clients."
            </p>
        }
        .into_any(),
    };
    // The client just created here, until its secret has been put away.
    let here = name.clone();
    let just_created = move || {
        create.value().get().and_then(Result::ok).filter(|created| {
            created.environment == here && dismissed.get() != Some(create.version().get())
        })
    };
    let showing = just_created.clone();
    let created = move || {
        just_created().map(|created| {
            view! {
                <CreatedClient
                    created
                    on_done=move || dismissed.set(Some(create.version().get_untracked()))
                />
            }
        })
    };
    let here = name.clone();
    let refused = move || {
        (creating_in.get().as_deref() == Some(here.as_str())).then(|| action_error(create.value()))
    };
    // No new client while a secret is on show: it is put away first, and the form comes back
    // empty.
    let form = manage.then(|| {
        let (tenant, here) = (
            StoredValue::new(tenant.clone()),
            StoredValue::new(name.clone()),
        );
        view! {
            {move || showing().is_none().then(|| view! {
                // The submit event bubbles up here after the form has dispatched the action.
                <div on:submit=move |_| creating_in.set(Some(here.get_value()))>
                    <CreateClientForm
                        tenant=tenant.get_value()
                        environment=here.get_value()
                        create
                    />
                </div>
            })}
            {refused}
        }
    });
    view! {
        <div class="environment" data-testid=format!("environment-{name}")>
            <h3>{name.clone()}</h3>
            <dl class="facts">
                <dt>"Engine"</dt>
                <dd>{if environment.embedded { "embedded (this server's own)" } else { "external" }}</dd>
                <dt>"Gateway address"</dt>
                <dd>{gateway}</dd>
                <dt>"Token URL"</dt>
                <dd><code data-testid="token-url">{environment.token_url}</code></dd>
                <dt>"Audience"</dt>
                <dd><code data-testid="audience">{environment.audience}</code></dd>
            </dl>
            {clients}
            {form}
            {created}
            <PlaneTable planes=environment.planes />
        </div>
    }
}

/// The execution planes that reported for the environment.
#[component]
fn PlaneTable(planes: Vec<PlaneView>) -> impl IntoView {
    if planes.is_empty() {
        return view! {
            <p class="muted" data-testid="no-planes">
                "No execution plane has reported yet. An astraflow-plane with an engine client \
                 of this environment and control_plane.url set to this server appears here."
            </p>
        }
        .into_any();
    }
    view! {
        <h4>"Execution planes"</h4>
        <table class="table compact" data-testid="planes">
            <thead>
                <tr>
                    <th>"Name"</th>
                    <th>"Health"</th>
                    <th>"Connectors"</th>
                    <th>"Jobs in hand"</th>
                    <th>"Version"</th>
                    <th>"Engine client"</th>
                    <th>"Last heartbeat"</th>
                </tr>
            </thead>
            <tbody>
                {planes
                    .into_iter()
                    .map(|plane| {
                        let health = if plane.live {
                            "live"
                        } else if plane.state == "stopped" {
                            "stopped"
                        } else {
                            "silent"
                        };
                        let id = plane.name.clone();
                        view! {
                            <tr data-plane=id>
                                <td>{plane.name}</td>
                                <td data-testid="plane-health">
                                    <span class=format!("badge plane-{health}")>{health}</span>
                                </td>
                                <td data-testid="plane-connectors">{plane.job_types.join(", ")}</td>
                                <td>{format!("{} of {}", plane.in_flight, plane.capacity)}</td>
                                <td>{plane.version}</td>
                                <td><code>{plane.client_id}</code></td>
                                <td>{plane.last_heartbeat_at}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
fn ClientTable(
    clients: Vec<EngineClientView>,
    tenant: String,
    environment: String,
    manage: bool,
    revoke: ServerAction<RevokeEngineClient>,
    confirming: RwSignal<Option<String>>,
) -> impl IntoView {
    if clients.is_empty() {
        return view! { <p class="muted" data-testid="no-clients">"No engine clients yet."</p> }
            .into_any();
    }
    view! {
        <table class="table compact" data-testid="engine-clients">
            <thead>
                <tr>
                    <th>"Name"</th>
                    <th>"Client id"</th>
                    <th>"Permissions"</th>
                    <th>"Created by"</th>
                    <th>"Created"</th>
                    <th>"Last used"</th>
                    {manage.then(|| view! { <th>"Actions"</th> })}
                </tr>
            </thead>
            <tbody>
                {clients
                    .into_iter()
                    .map(|client| {
                        let controls = manage.then(|| {
                            view! {
                                <td class="actions">
                                    <RevokeControl
                                        client=client.clone()
                                        tenant=tenant.clone()
                                        environment=environment.clone()
                                        revoke
                                        confirming
                                    />
                                </td>
                            }
                        });
                        let id = client.client_id.clone();
                        view! {
                            <tr data-client-id=id>
                                <td data-testid="client-name">{client.name}</td>
                                <td><code>{client.client_id}</code></td>
                                <td data-testid="client-permissions">{client.permissions.join(", ")}</td>
                                <td>{client.created_by.unwrap_or_else(|| "(removed account)".to_owned())}</td>
                                <td>{client.created_at}</td>
                                <td>{client.last_used_at.unwrap_or_else(|| "never".to_owned())}</td>
                                {controls}
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// "Revoke", then a confirmation saying what revoking does.
#[component]
fn RevokeControl(
    client: EngineClientView,
    tenant: String,
    environment: String,
    revoke: ServerAction<RevokeEngineClient>,
    confirming: RwSignal<Option<String>>,
) -> impl IntoView {
    let id = StoredValue::new(client.client_id.clone());
    let asking = move || confirming.get().as_deref() == Some(id.get_value().as_str());
    let question = format!(
        "Revoke {}? It gets no new tokens; tokens it already has work for up to five minutes.",
        client.name
    );
    let (tenant, environment) = (StoredValue::new(tenant), StoredValue::new(environment));
    view! {
        <Show
            when=asking
            fallback=move || view! {
                <button class="button" type="button"
                    on:click=move |_| confirming.set(Some(id.get_value()))>
                    "Revoke"
                </button>
            }
        >
            <span class="confirm" role="group" aria-label="Confirm revocation">
                <span>{question.clone()}</span>
                <button class="button danger" type="button" disabled=revoke.pending()
                    on:click=move |_| {
                        confirming.set(None);
                        revoke.dispatch(RevokeEngineClient {
                            tenant: tenant.get_value(),
                            environment: environment.get_value(),
                            client_id: id.get_value(),
                        });
                    }>
                    "Yes, revoke"
                </button>
                <button class="button" type="button" on:click=move |_| confirming.set(None)>
                    "Cancel"
                </button>
            </span>
        </Show>
    }
}

#[component]
fn CreateClientForm(
    tenant: String,
    environment: String,
    create: ServerAction<CreateEngineClient>,
) -> impl IntoView {
    view! {
        <ActionForm action=create attr:class="form inline" attr:data-testid="create-client">
            <input type="hidden" name="tenant" value=tenant />
            <input type="hidden" name="environment" value=environment />
            <label>
                "Client name"
                <input name="name" required maxlength="200" placeholder="e.g. invoice worker" />
            </label>
            {ENGINE_PERMISSIONS
                .iter()
                .enumerate()
                .map(|(index, permission)| {
                    view! {
                        <label title=permission_hint(permission)>
                            <input
                                type="checkbox"
                                name=format!("permissions[{index}]")
                                value=*permission
                                checked=*permission == "jobs"
                            />
                            {*permission}
                        </label>
                    }
                })
                .collect_view()}
            <button class="button primary" type="submit" disabled=create.pending()>
                "Create client"
            </button>
        </ActionForm>
    }
}

/// The new client's secret, shown this once, and settings ready to paste.
#[component]
fn CreatedClient(
    created: CreatedEngineClientView,
    on_done: impl Fn() + Send + Sync + 'static,
) -> impl IntoView {
    let settings = ClientSettings::new(&created);
    view! {
        <div class="created-client" role="status" data-testid="created-client">
            <p>
                <strong>{format!("Client {} created.", created.name)}</strong>
                " Copy its secret now: it is shown only this once, and the server keeps only its hash."
            </p>
            <dl class="facts">
                <dt>"Client id"</dt>
                <dd><code data-testid="client-id">{created.client_id.clone()}</code></dd>
                <dt>"Client secret"</dt>
                <dd>
                    <code class="value" data-testid="client-secret">{created.client_secret.clone()}</code>
                    " "
                    <CopyButton text=created.client_secret.clone() label="Copy secret" testid="copy-secret" />
                </dd>
                <dt>"Permissions"</dt>
                <dd>{created.permissions.join(", ")}</dd>
            </dl>
            <h4>"Ready-made settings"</h4>
            <Snippet title="pyzeebe (Python)" text=settings.pyzeebe testid="settings-pyzeebe" />
            <Snippet
                title="zeebe-node (environment variables)"
                text=settings.zeebe_node
                testid="settings-zeebe-node"
            />
            <Snippet title="Java client" text=settings.java testid="settings-java" />
            <button class="button" type="button" data-testid="secret-stored"
                on:click=move |_| on_done()>
                "Done: I have stored the secret"
            </button>
        </div>
    }
}

#[component]
fn Snippet(title: &'static str, text: String, testid: &'static str) -> impl IntoView {
    view! {
        <div class="snippet">
            <p class="snippet-title">
                <strong>{title}</strong>
                " "
                <CopyButton text=text.clone() label="Copy" testid="copy-snippet" />
            </p>
            <pre data-testid=testid><code>{text}</code></pre>
        </div>
    }
}

/// A button copying `text` to the clipboard, saying whether that worked.
#[component]
fn CopyButton(text: String, label: &'static str, testid: &'static str) -> impl IntoView {
    let outcome = RwSignal::new(None::<bool>);
    let text = StoredValue::new(text);
    view! {
        <button class="button" type="button" data-testid=testid
            on:click=move |_| {
                text.with_value(|text| copy_to_clipboard(text, move |copied| outcome.set(Some(copied))));
            }>
            {label}
        </button>
        <span aria-live="polite" class="muted">
            {move || match outcome.get() {
                None => "",
                Some(true) => " Copied.",
                Some(false) => " The browser refused the clipboard (it needs HTTPS or localhost); select the text and copy it.",
            }}
        </span>
    }
}

/// Copies `text` with the asynchronous clipboard API; `done` learns whether it worked. The
/// API exists only in secure contexts, so it is looked up rather than assumed.
#[cfg(feature = "hydrate")]
fn copy_to_clipboard(text: &str, done: impl FnOnce(bool) + 'static) {
    use wasm_bindgen::{JsCast, JsValue};
    let promise = (|| {
        let window = web_sys::window()?;
        let get = |target: &JsValue, key: &str| {
            js_sys::Reflect::get(target, &JsValue::from_str(key))
                .ok()
                .filter(|value| !value.is_undefined() && !value.is_null())
        };
        let navigator = get(&window.into(), "navigator")?;
        let clipboard = get(&navigator, "clipboard")?;
        let write = get(&clipboard, "writeText")?
            .dyn_into::<js_sys::Function>()
            .ok()?;
        write
            .call1(&clipboard, &JsValue::from_str(text))
            .ok()?
            .dyn_into::<js_sys::Promise>()
            .ok()
    })();
    match promise {
        Some(promise) => wasm_bindgen_futures::spawn_local(async move {
            done(wasm_bindgen_futures::JsFuture::from(promise).await.is_ok());
        }),
        None => done(false),
    }
}

#[cfg(not(feature = "hydrate"))]
fn copy_to_clipboard(_text: &str, _done: impl FnOnce(bool) + 'static) {}

/// Settings for the usual Zeebe clients, filled in for one engine client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSettings {
    /// A Python snippet creating a pyzeebe worker.
    pub pyzeebe: String,
    /// Environment variables zeebe-node reads.
    pub zeebe_node: String,
    /// Spring Boot properties and the Java client's environment variables.
    pub java: String,
}

/// A Python string literal.
fn py(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

impl ClientSettings {
    pub fn new(client: &CreatedEngineClientView) -> Self {
        let CreatedEngineClientView {
            client_id: id,
            client_secret: secret,
            token_url,
            audience,
            ..
        } = client;
        // An embedded engine's gateway is `host:port` on the loopback interface, without TLS;
        // an external engine's is a URL saying whether it has TLS.
        let (plaintext, address) =
            if let Some(rest) = client.gateway_address.strip_prefix("https://") {
                (false, rest.trim_end_matches('/'))
            } else if let Some(rest) = client.gateway_address.strip_prefix("http://") {
                (true, rest.trim_end_matches('/'))
            } else {
                (client.embedded, client.gateway_address.as_str())
            };
        let scheme = if plaintext { "http" } else { "https" };
        let insecure_token_url = token_url.starts_with("http://");

        let mut pyzeebe = String::from("import asyncio\n");
        if insecure_token_url {
            pyzeebe.push_str("import os\n");
        }
        pyzeebe.push('\n');
        if plaintext {
            pyzeebe.push_str("import grpc\n");
        }
        pyzeebe.push_str(
            "from pyzeebe import ZeebeWorker, create_oauth2_client_credentials_channel\n",
        );
        if insecure_token_url {
            pyzeebe.push_str(
                "\n# The token URL is plain HTTP, which oauthlib refuses unless told otherwise.\n\
                 os.environ[\"OAUTHLIB_INSECURE_TRANSPORT\"] = \"1\"\n",
            );
        }
        pyzeebe.push_str(
            "\n\nasync def main():\n\
             \x20   # Inside the event loop: a grpc.aio channel belongs to the loop it is made in.\n\
             \x20   channel = create_oauth2_client_credentials_channel(\n",
        );
        for (key, value) in [
            ("grpc_address", address),
            ("client_id", id.as_str()),
            ("client_secret", secret.as_str()),
            ("authorization_server", token_url.as_str()),
            ("audience", audience.as_str()),
        ] {
            pyzeebe.push_str(&format!("        {key}={},\n", py(value)));
        }
        if plaintext {
            pyzeebe.push_str(
                "        # The gateway has no TLS; local credentials let gRPC send the access\n\
                 \x20       # token over a connection to this machine.\n\
                 \x20       channel_credentials=grpc.local_channel_credentials(),\n",
            );
        }
        pyzeebe.push_str(
            "    )\n\
             \x20   worker = ZeebeWorker(channel)\n\
             \n\
             \x20   @worker.task(task_type=\"your-job-type\")\n\
             \x20   async def handle() -> dict:\n\
             \x20       return {}\n\
             \n\
             \x20   await worker.work()\n\
             \n\
             \n\
             asyncio.run(main())\n",
        );

        let zeebe_node = format!(
            "# Read by new ZBClient() when it is given no options.\n\
             ZEEBE_ADDRESS={address}\n\
             ZEEBE_CLIENT_ID={id}\n\
             ZEEBE_CLIENT_SECRET={secret}\n\
             ZEEBE_AUTHORIZATION_SERVER_URL={token_url}\n\
             ZEEBE_TOKEN_AUDIENCE={audience}\n\
             ZEEBE_SECURE_CONNECTION={}\n",
            !plaintext
        );

        let java = format!(
            "# Spring Boot with the Camunda Spring Boot Starter 8.8+ (application.properties)\n\
             camunda.client.mode=self-managed\n\
             camunda.client.grpc-address={scheme}://{address}\n\
             camunda.client.prefer-rest-over-grpc=false\n\
             camunda.client.auth.method=oidc\n\
             camunda.client.auth.client-id={id}\n\
             camunda.client.auth.client-secret={secret}\n\
             camunda.client.auth.token-url={token_url}\n\
             camunda.client.auth.audience={audience}\n\
             \n\
             # Spring Boot with the Spring Zeebe SDK 8.6 or 8.7 (application.properties)\n\
             camunda.client.mode=self-managed\n\
             camunda.client.zeebe.grpc-address={scheme}://{address}\n\
             camunda.client.zeebe.prefer-rest-over-grpc=false\n\
             camunda.client.zeebe.audience={audience}\n\
             camunda.client.auth.client-id={id}\n\
             camunda.client.auth.client-secret={secret}\n\
             camunda.client.auth.issuer={token_url}\n\
             \n\
             # The Zeebe Java client (ZeebeClient), environment variables\n\
             ZEEBE_GRPC_ADDRESS={scheme}://{address}\n\
             ZEEBE_INSECURE_CONNECTION={plaintext}\n\
             ZEEBE_CLIENT_ID={id}\n\
             ZEEBE_CLIENT_SECRET={secret}\n\
             ZEEBE_AUTHORIZATION_SERVER_URL={token_url}\n\
             ZEEBE_TOKEN_AUDIENCE={audience}\n"
        );
        Self {
            pyzeebe,
            zeebe_node,
            java,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn created(embedded: bool, token_url: &str) -> CreatedEngineClientView {
        CreatedEngineClientView {
            client_id: "astc_0123".to_owned(),
            client_secret: "astcs_s3cret".to_owned(),
            name: "worker".to_owned(),
            permissions: vec!["jobs".to_owned()],
            environment: "dev".to_owned(),
            embedded,
            gateway_address: "127.0.0.1:41234".to_owned(),
            token_url: token_url.to_owned(),
            audience: "astraflow-engine:dev".to_owned(),
        }
    }

    #[test]
    fn embedded_engines_get_plaintext_settings() {
        let settings = ClientSettings::new(&created(true, "http://127.0.0.1:3000/oauth/token"));
        let py = &settings.pyzeebe;
        assert!(py.contains("os.environ[\"OAUTHLIB_INSECURE_TRANSPORT\"] = \"1\""));
        assert!(py.starts_with("import asyncio\nimport os\n\nimport grpc\nfrom pyzeebe import"));
        assert!(py.contains("        grpc_address=\"127.0.0.1:41234\",\n"));
        assert!(py.contains("        client_secret=\"astcs_s3cret\",\n"));
        assert!(
            py.contains("        authorization_server=\"http://127.0.0.1:3000/oauth/token\",\n")
        );
        assert!(py.contains("        audience=\"astraflow-engine:dev\",\n"));
        assert!(py.ends_with("    await worker.work()\n\n\nasyncio.run(main())\n"));
        assert!(py.contains("channel_credentials=grpc.local_channel_credentials()"));
        assert!(
            settings
                .zeebe_node
                .contains("ZEEBE_ADDRESS=127.0.0.1:41234\n")
        );
        assert!(
            settings
                .zeebe_node
                .contains("ZEEBE_SECURE_CONNECTION=false\n")
        );
        assert!(
            settings
                .zeebe_node
                .contains("ZEEBE_TOKEN_AUDIENCE=astraflow-engine:dev\n")
        );
        assert!(
            settings
                .java
                .contains("camunda.client.grpc-address=http://127.0.0.1:41234\n")
        );
        assert!(
            settings
                .java
                .contains("camunda.client.zeebe.grpc-address=http://127.0.0.1:41234\n")
        );
        assert!(settings.java.contains("ZEEBE_INSECURE_CONNECTION=true\n"));
        assert!(
            settings
                .java
                .contains("camunda.client.auth.client-id=astc_0123\n")
        );
    }

    #[test]
    fn external_engines_and_https_token_urls_get_tls_settings() {
        let mut client = created(false, "https://flow.example/oauth/token");
        client.gateway_address = "https://zeebe.example:443/".to_owned();
        let settings = ClientSettings::new(&client);
        assert!(
            settings
                .pyzeebe
                .contains("    grpc_address=\"zeebe.example:443\",\n")
        );
        assert!(
            settings
                .zeebe_node
                .contains("ZEEBE_ADDRESS=zeebe.example:443\n")
        );
        assert!(!settings.pyzeebe.contains("OAUTHLIB_INSECURE_TRANSPORT"));
        assert!(!settings.pyzeebe.contains("local_channel_credentials"));
        assert!(
            settings
                .zeebe_node
                .contains("ZEEBE_SECURE_CONNECTION=true\n")
        );
        assert!(
            settings
                .java
                .contains("camunda.client.grpc-address=https://zeebe.example:443\n")
        );
        assert!(settings.java.contains("ZEEBE_INSECURE_CONNECTION=false\n"));
    }

    #[test]
    fn python_strings_are_quoted() {
        assert_eq!(py(r#"a"b\c"#), r#""a\"b\\c""#);
    }
}
