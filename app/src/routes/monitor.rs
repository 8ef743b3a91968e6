//! The live monitor and the audit trails: the instance table (filters, paging, live updates),
//! an instance's page (diagram coloured by element state, incidents with retry, variables,
//! jobs, timeline), and the audit page (filters, chain verification, JSON and CSV export).
//!
//! Filters are plain GET forms (they work before the page has hydrated); live updates come
//! from [`use_live`], which makes the page re-read through its server functions when the
//! server pushes a change.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::access::{TenantView, list_tenants};
use crate::api::monitor::{
    CancelInstance, IncidentRow, InstanceFilter, InstanceView, RetryIncident, SetVariable,
    TrailFilter, audit_trail, monitor_incidents, monitor_instance, monitor_instances,
};
use crate::api::monitor_protocol::Topic;
use crate::components::instance_diagram::{InstanceDiagram, element_states};
use crate::components::live::{Live, use_live};
use crate::error::AppError;

fn error_view(error: AppError) -> AnyView {
    match error {
        AppError::Unauthenticated => view! {
            <p class="notice" data-testid="signed-out">
                "You are not signed in. " <a href="/login">"Sign in"</a>
            </p>
        }
        .into_any(),
        other => view! { <p class="error" role="alert">{other.to_string()}</p> }.into_any(),
    }
}

/// A query parameter, or empty.
fn query_param(name: &'static str) -> impl Fn() -> String + Copy + Send + Sync {
    let query = use_query_map();
    move || query.read().get(name).unwrap_or_default()
}

#[component]
fn LiveStatus(live: Live) -> impl IntoView {
    view! {
        <span
            class=move || if live.connected.get() { "live on" } else { "live off" }
            data-testid="live-status"
            title="Updates arrive as they happen while this says live"
        >
            {move || if live.connected.get() { "live" } else { "connecting…" }}
        </span>
    }
}

/// The tenant the page is about: the `tenant` query parameter, else the first of the user's.
fn chosen_tenant(tenants: &[TenantView], wanted: &str) -> Option<TenantView> {
    tenants
        .iter()
        .find(|t| t.id == wanted)
        .or_else(|| tenants.first())
        .cloned()
}

#[component]
fn TenantPicker(tenants: Vec<TenantView>, current: String, path: &'static str) -> impl IntoView {
    (tenants.len() > 1).then(|| {
        view! {
            <nav class="tenant-picker" aria-label="Tenant">
                "Tenant: "
                {tenants
                    .into_iter()
                    .map(|t| {
                        let class = if t.id == current { "current" } else { "" };
                        view! { <a class=class href=format!("{path}?tenant={}", t.id)>{t.name}</a> " " }
                    })
                    .collect_view()}
            </nav>
        }
    })
}

/// The Monitor section: a tenant's instances, live.
#[component]
pub fn MonitorPage() -> impl IntoView {
    let tenants = Resource::new(|| (), |_| list_tenants());
    let wanted = query_param("tenant");
    view! {
        <Title text="Monitor" />
        <h1>"Monitor"</h1>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let list = match tenants.await {
                    Ok(list) => list,
                    Err(error) => return error_view(error),
                };
                match chosen_tenant(&list, &wanted()) {
                    None => view! { <p class="muted">"You are not a member of any tenant yet."</p> }
                        .into_any(),
                    Some(tenant) => view! {
                        <TenantPicker tenants=list current=tenant.id.clone() path="/monitor" />
                        <TenantMonitor tenant=tenant.id />
                    }
                    .into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn TenantMonitor(tenant: String) -> impl IntoView {
    let query = use_query_map();
    let filter = move || {
        let q = query.read();
        let get = |name: &str| q.get(name).unwrap_or_default();
        InstanceFilter {
            environment: get("environment"),
            process: get("process"),
            version: get("version"),
            state: get("state"),
            started_after: get("started_after"),
            started_before: get("started_before"),
            cursor: get("cursor"),
        }
    };
    let topic_tenant = tenant.clone();
    let live = use_live(move || {
        let f = filter();
        Some(Topic::Instances {
            tenant: topic_tenant.clone(),
            environment: (!f.environment.is_empty()).then_some(f.environment),
            bpmn_process_id: (!f.process.is_empty()).then_some(f.process),
        })
    });
    let incidents_tenant = tenant.clone();
    let incidents_live = use_live(move || {
        Some(Topic::Incidents {
            tenant: incidents_tenant.clone(),
            environment: None,
        })
    });
    let retry = ServerAction::<RetryIncident>::new();
    let list_tenant = tenant.clone();
    let instances = Resource::new(
        move || (list_tenant.clone(), filter(), live.changes.get()),
        |(tenant, filter, _)| monitor_instances(tenant, filter),
    );
    let incident_tenant = tenant.clone();
    let incidents = Resource::new(
        move || {
            (
                incident_tenant.clone(),
                incidents_live.changes.get(),
                retry.version().get(),
            )
        },
        |(tenant, ..)| monitor_incidents(tenant),
    );
    let form_tenant = tenant.clone();
    view! {
        <p class="lead">
            "Process instances of " <strong>{tenant.clone()}</strong> ", newest first. "
            <LiveStatus live />
        </p>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                let form_tenant = form_tenant.clone();
                Suspend::new(async move {
                    let list = match instances.await {
                        Ok(list) => list,
                        Err(error) => return error_view(error),
                    };
                    let f = filter();
                    let next = list.next_cursor.clone().map(|cursor| {
                        let mut params = vec![format!("tenant={form_tenant}")];
                        for (name, value) in [
                            ("environment", &f.environment),
                            ("process", &f.process),
                            ("version", &f.version),
                            ("state", &f.state),
                            ("started_after", &f.started_after),
                            ("started_before", &f.started_before),
                        ] {
                            if !value.is_empty() {
                                params.push(format!("{name}={value}"));
                            }
                        }
                        params.push(format!("cursor={cursor}"));
                        format!("/monitor?{}", params.join("&"))
                    });
                    let selected = |current: &str, value: &str| current == value;
                    view! {
                        <form method="get" action="/monitor" class="form inline filters" data-testid="instance-filters">
                            <input type="hidden" name="tenant" value=form_tenant.clone() />
                            <label>"Workflow "
                                <select name="process">
                                    <option value="">"any"</option>
                                    {list.workflows.iter().map(|(key, name)| view! {
                                        <option value=key.clone() selected=selected(&f.process, key)>{format!("{name} ({key})")}</option>
                                    }).collect_view()}
                                </select>
                            </label>
                            <label>"Version "
                                <input name="version" type="number" min="1" size="4" value=f.version.clone() />
                            </label>
                            <label>"Environment "
                                <select name="environment">
                                    <option value="">"any"</option>
                                    {list.environments.iter().map(|name| view! {
                                        <option value=name.clone() selected=selected(&f.environment, name)>{name.clone()}</option>
                                    }).collect_view()}
                                </select>
                            </label>
                            <label>"State "
                                <select name="state">
                                    {[("", "any"), ("active", "active"), ("incident", "with incidents"), ("completed", "completed"), ("terminated", "terminated")]
                                        .into_iter()
                                        .map(|(value, label)| view! {
                                            <option value=value selected=selected(&f.state, value)>{label}</option>
                                        })
                                        .collect_view()}
                                </select>
                            </label>
                            <label>"Started after "
                                <input name="started_after" type="datetime-local" value=f.started_after.clone() />
                            </label>
                            <label>"before "
                                <input name="started_before" type="datetime-local" value=f.started_before.clone() />
                            </label>
                            <button type="submit">"Apply"</button>
                            <a href=format!("/monitor?tenant={form_tenant}")>"Clear"</a>
                        </form>
                        {if list.rows.is_empty() {
                            view! { <p class="muted" data-testid="no-instances">"No instances match."</p> }.into_any()
                        } else {
                            view! {
                                <table class="table" data-testid="instances">
                                    <thead>
                                        <tr>
                                            <th>"Instance"</th>
                                            <th>"Workflow"</th>
                                            <th>"Version"</th>
                                            <th>"Environment"</th>
                                            <th>"State"</th>
                                            <th>"Started (UTC)"</th>
                                            <th>"Ended"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {list.rows.into_iter().map(|row| {
                                            let href = format!(
                                                "/monitor/{}/{}/{}",
                                                form_tenant, row.environment, row.process_instance_key
                                            );
                                            let state = if row.incidents > 0 {
                                                format!("{} · {} incident{}", row.state, row.incidents, if row.incidents == 1 { "" } else { "s" })
                                            } else {
                                                row.state.clone()
                                            };
                                            view! {
                                                <tr data-key=row.process_instance_key.to_string() data-state=row.state>
                                                    <td><a href=href><code>{row.process_instance_key}</code></a></td>
                                                    <td><code>{row.bpmn_process_id}</code></td>
                                                    <td>{row.version}</td>
                                                    <td>{row.environment}</td>
                                                    <td>
                                                        <span class=format!("badge state-{}", if row.incidents > 0 { "incident" } else { row.state.as_str() })>{state}</span>
                                                    </td>
                                                    <td>{row.start_time}</td>
                                                    <td>{row.end_time.unwrap_or_default()}</td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            }.into_any()
                        }}
                        {next.map(|href| view! { <p><a href=href data-testid="older">"Older instances →"</a></p> })}
                    }
                    .into_any()
                })
            }}
        </Transition>
        <h2>"Open incidents"</h2>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                let tenant = tenant.clone();
                Suspend::new(async move {
                    match incidents.await {
                        Ok(list) => view! {
                            <IncidentTable tenant rows=list.rows retry can_operate=list.can_operate />
                        }
                        .into_any(),
                        Err(error) => error_view(error),
                    }
                })
            }}
        </Transition>
        <RetryOutcome retry />
    }
}

/// Incidents, with retry buttons for those who may retry (the server checks again).
#[component]
fn IncidentTable(
    tenant: String,
    rows: Vec<IncidentRow>,
    retry: ServerAction<RetryIncident>,
    can_operate: bool,
) -> impl IntoView {
    if rows.is_empty() {
        return view! { <p class="muted" data-testid="no-incidents">"No open incidents."</p> }
            .into_any();
    }
    view! {
        <table class="table" data-testid="incidents">
            <thead>
                <tr>
                    <th>"Instance"</th>
                    <th>"Element"</th>
                    <th>"Type"</th>
                    <th>"Message"</th>
                    <th>"State"</th>
                    <th>"Since (UTC)"</th>
                    <th></th>
                </tr>
            </thead>
            <tbody>
                {rows
                    .into_iter()
                    .map(|incident| {
                        let href = format!(
                            "/monitor/{}/{}/{}",
                            tenant, incident.environment, incident.process_instance_key
                        );
                        let active = incident.state == "active";
                        let button = (active && can_operate).then(|| {
                            let (tenant, environment, key) =
                                (tenant.clone(), incident.environment.clone(), incident.incident_key);
                            view! {
                                <button
                                    type="button"
                                    data-testid="retry"
                                    disabled=move || retry.pending().get()
                                    on:click=move |_| {
                                        retry.dispatch(RetryIncident {
                                            tenant: tenant.clone(),
                                            environment: environment.clone(),
                                            incident: key,
                                        });
                                    }
                                >
                                    "Retry"
                                </button>
                            }
                        });
                        let state = incident.state.clone();
                        view! {
                            <tr data-incident=incident.incident_key.to_string() data-state=state>
                                <td><a href=href><code>{incident.process_instance_key}</code></a></td>
                                <td><code>{incident.element_id}</code></td>
                                <td>{incident.error_type}</td>
                                <td class="message">{incident.error_message}</td>
                                <td>{incident.state}</td>
                                <td>{incident.created_at}</td>
                                <td>{button}</td>
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
fn RetryOutcome(retry: ServerAction<RetryIncident>) -> impl IntoView {
    move || {
        retry.value().get().map(|result| match result {
            Ok(outcome) => view! {
                <p
                    class=if outcome.outcome == "resolved" { "notice ok" } else { "notice" }
                    role="status"
                    data-testid="retry-outcome"
                    data-outcome=outcome.outcome
                >
                    {outcome.message}
                </p>
            }
            .into_any(),
            Err(error) => view! {
                <p class="error" role="alert" data-testid="retry-outcome" data-outcome="error">
                    {error.to_string()}
                </p>
            }
            .into_any(),
        })
    }
}

/// One process instance: diagram, incidents, variables, jobs, timeline — live.
#[component]
pub fn InstancePage() -> impl IntoView {
    let params = use_params_map();
    let param = move |name: &'static str| move || params.read().get(name).unwrap_or_default();
    let (tenant, environment, key) = (param("tenant"), param("environment"), param("key"));
    let key_number = move || key().parse::<i64>().unwrap_or_default();
    let live = use_live(move || {
        Some(Topic::Instance {
            tenant: tenant(),
            environment: environment(),
            process_instance_key: key_number(),
        })
    });
    let retry = ServerAction::<RetryIncident>::new();
    let cancel = ServerAction::<CancelInstance>::new();
    let set_variable = ServerAction::<SetVariable>::new();
    let detail = Resource::new(
        move || {
            (
                tenant(),
                environment(),
                key_number(),
                live.changes.get(),
                retry.version().get(),
                cancel.version().get(),
                set_variable.version().get(),
            )
        },
        |(tenant, environment, key, ..)| monitor_instance(tenant, environment, key),
    );
    view! {
        <Title text="Instance" />
        <p>
            <a href=move || format!("/monitor?tenant={}", tenant())>"← Monitor"</a>
            " " <LiveStatus live />
        </p>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(view) => view! {
                        <InstanceDetail view tenant=tenant() environment=environment() retry cancel set_variable />
                    }
                    .into_any(),
                    Err(error) => error_view(error),
                }
            })}
        </Transition>
        <RetryOutcome retry />
        {move || {
            [cancel.value().get().and_then(Result::err), set_variable.value().get().and_then(Result::err)]
                .into_iter()
                .flatten()
                .map(|error| view! { <p class="error" role="alert" data-testid="action-error">{error.to_string()}</p> })
                .collect_view()
        }}
    }
}

#[component]
fn InstanceDetail(
    view: InstanceView,
    tenant: String,
    environment: String,
    retry: ServerAction<RetryIncident>,
    cancel: ServerAction<CancelInstance>,
    set_variable: ServerAction<SetVariable>,
) -> impl IntoView {
    let instance = view.instance.clone();
    let key = instance.process_instance_key;
    let active = instance.state == "active";
    let cancel_button = (active && view.can_operate).then(|| {
        let (tenant, environment) = (tenant.clone(), environment.clone());
        view! {
            <button
                type="button"
                class="danger"
                data-testid="cancel-instance"
                on:click=move |_| {
                    cancel.dispatch(CancelInstance {
                        tenant: tenant.clone(),
                        environment: environment.clone(),
                        key,
                    });
                }
            >
                "Cancel instance"
            </button>
        }
    });
    let variable_form = (active && view.can_operate).then(|| {
        let (tenant, environment) = (tenant.clone(), environment.clone());
        view! {
            <ActionForm action=set_variable attr:class="form inline" attr:data-testid="variable-form">
                <input type="hidden" name="tenant" value=tenant.clone() />
                <input type="hidden" name="environment" value=environment.clone() />
                <input type="hidden" name="key" value=key.to_string() />
                <label>"Name " <input name="name" required /></label>
                <label>"Value (JSON) " <input name="value" required placeholder="42, \"text\", {\"a\": 1}" /></label>
                <button type="submit">"Set variable"</button>
            </ActionForm>
        }
    });
    let state = if instance.incidents > 0 {
        format!(
            "{} with {} open incident(s)",
            instance.state, instance.incidents
        )
    } else {
        instance.state.clone()
    };
    view! {
        <h1>
            <code>{instance.bpmn_process_id.clone()}</code>
            " v" {instance.version} " · instance " <code>{key}</code>
        </h1>
        <p data-testid="instance-state" data-state=instance.state>
            <span class=format!("badge state-{}", if instance.incidents > 0 { "incident" } else { instance.state.as_str() })>{state}</span>
            " in " <strong>{instance.environment.clone()}</strong>
            " · started " {instance.start_time.clone()}
            {instance.end_time.clone().map(|end| format!(" · ended {end}"))}
            " " {cancel_button}
        </p>
        <InstanceDiagram bpmn_xml=view.bpmn_xml.clone() states=element_states(&view.elements, &view.incidents) />
        <h2>"Incidents"</h2>
        <IncidentTable tenant=tenant.clone() rows=view.incidents.clone() retry can_operate=view.can_operate />
        <h2>"Variables"</h2>
        {if view.variables.is_empty() {
            view! { <p class="muted">"No variables."</p> }.into_any()
        } else {
            view! {
                <table class="table" data-testid="variables">
                    <thead><tr><th>"Scope"</th><th>"Name"</th><th>"Value"</th></tr></thead>
                    <tbody>
                        {view.variables.iter().map(|v| view! {
                            <tr data-name=v.name.clone()>
                                <td><code>{if v.scope_key == key { "instance".to_owned() } else { v.scope_key.to_string() }}</code></td>
                                <td><code>{v.name.clone()}</code></td>
                                <td><code class="value">{v.value.clone()}</code></td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any()
        }}
        {variable_form}
        <h2>"Jobs"</h2>
        {if view.jobs.is_empty() {
            view! { <p class="muted">"No jobs."</p> }.into_any()
        } else {
            view! {
                <table class="table" data-testid="jobs">
                    <thead><tr><th>"Job"</th><th>"Element"</th><th>"Type"</th><th>"Worker"</th><th>"Retries"</th><th>"State"</th><th>"Error"</th></tr></thead>
                    <tbody>
                        {view.jobs.iter().map(|j| view! {
                            <tr>
                                <td><code>{j.job_key}</code></td>
                                <td><code>{j.element_id.clone()}</code></td>
                                <td>{j.job_type.clone()}</td>
                                <td>{j.worker.clone()}</td>
                                <td>{j.retries}</td>
                                <td>{j.state.clone()}</td>
                                <td class="message">{j.error_message.clone()}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any()
        }}
        <h2>"Timeline"</h2>
        <table class="table compact" data-testid="timeline">
            <thead><tr><th>"#"</th><th>"Time (UTC)"</th><th>"Event"</th><th>"Element"</th><th>"Details"</th></tr></thead>
            <tbody>
                {view.timeline.iter().map(|t| view! {
                    <tr data-event=t.event_type.clone()>
                        <td>{t.seq}</td>
                        <td>{t.timestamp.clone()}</td>
                        <td><code>{t.event_type.clone()}</code></td>
                        <td>{t.task.clone()}</td>
                        <td class="message">{t.detail.clone()}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// The Audit section: both trails, filtered, verified and exportable.
#[component]
pub fn AuditPage() -> impl IntoView {
    let tenants = Resource::new(|| (), |_| list_tenants());
    let wanted = query_param("tenant");
    view! {
        <Title text="Audit" />
        <h1>"Audit"</h1>
        <p class="lead">
            "Append-only trails, each event chained to the one before by SHA-256: what people and the control plane changed, and what happened in the engines."
        </p>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let list = match tenants.await {
                    Ok(list) => list,
                    Err(error) => return error_view(error),
                };
                let auditable: Vec<TenantView> = list.into_iter().filter(|t| t.can_audit).collect();
                match chosen_tenant(&auditable, &wanted()) {
                    None => view! {
                        <p class="muted" data-testid="no-audit">"None of your tenants lets you read its audit trail (owners and auditors may)."</p>
                    }
                    .into_any(),
                    Some(tenant) => view! {
                        <TenantPicker tenants=auditable current=tenant.id.clone() path="/audit" />
                        <TenantTrail tenant=tenant.id />
                    }
                    .into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn TenantTrail(tenant: String) -> impl IntoView {
    let query = use_query_map();
    let filter = move || {
        let q = query.read();
        let get = |name: &str| q.get(name).unwrap_or_default();
        TrailFilter {
            trail: if get("trail") == "execution" {
                "execution".into()
            } else {
                "control".into()
            },
            actor: get("actor"),
            action: get("action"),
            instance: get("instance"),
            from: get("from"),
            to: get("to"),
        }
    };
    let resource_tenant = tenant.clone();
    let trail = Resource::new(
        move || (resource_tenant.clone(), filter()),
        |(tenant, filter)| audit_trail(tenant, filter),
    );
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                let tenant = tenant.clone();
                Suspend::new(async move {
                    let f = filter();
                    let view = match trail.await {
                        Ok(view) => view,
                        Err(error) => return error_view(error),
                    };
                    let execution = f.trail == "execution";
                    let export = |format: &str| format!(
                        "/api/v1/tenants/{tenant}/audit/export?{}&format={format}",
                        view.export_query
                    );
                    let status = if view.verified {
                        format!("Chain verified: all {} events hold.", view.events_checked)
                    } else {
                        format!(
                            "Chain broken at {}.",
                            view.first_broken.clone().unwrap_or_default()
                        )
                    };
                    view! {
                        <form method="get" action="/audit" class="form inline filters" data-testid="audit-filters">
                            <input type="hidden" name="tenant" value=tenant.clone() />
                            <label>"Trail "
                                <select name="trail">
                                    <option value="control" selected=!execution>"Control plane (people and changes)"</option>
                                    <option value="execution" selected=execution>"Executions (engines)"</option>
                                </select>
                            </label>
                            <label>"Actor " <input name="actor" value=f.actor.clone() placeholder="email or token" /></label>
                            <label>"Action " <input name="action" value=f.action.clone() placeholder="deployment, TASK_COMPLETED…" /></label>
                            <label>"Instance " <input name="instance" value=f.instance.clone() placeholder="instance key or target id" /></label>
                            <label>"From " <input name="from" type="datetime-local" value=f.from.clone() /></label>
                            <label>"to " <input name="to" type="datetime-local" value=f.to.clone() /></label>
                            <button type="submit">"Apply"</button>
                        </form>
                        <p
                            class=if view.verified { "notice ok" } else { "error" }
                            role="status"
                            data-testid="chain-status"
                            data-verified=view.verified.to_string()
                        >
                            {status}
                        </p>
                        <p>
                            "Export what matches: "
                            <a href=export("json") download data-testid="export-json">"JSON"</a>
                            " · "
                            <a href=export("csv") download data-testid="export-csv">"CSV"</a>
                            <span class="muted">" (JSON carries every hash and the hashing rule, so it can be checked anywhere)"</span>
                        </p>
                        {if view.rows.is_empty() {
                            view! { <p class="muted">"No events match."</p> }.into_any()
                        } else {
                            view! {
                                <table class="table compact" data-testid="trail">
                                    <thead>
                                        <tr>
                                            <th>"#"</th>
                                            <th>"Time (UTC)"</th>
                                            <th>{if execution { "Instance" } else { "Actor" }}</th>
                                            <th>{if execution { "Event" } else { "Action" }}</th>
                                            <th>{if execution { "Element" } else { "Target" }}</th>
                                            <th>"Details"</th>
                                            <th>"Hash"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {view.rows.into_iter().map(|row| view! {
                                            <tr>
                                                <td>{row.seq}</td>
                                                <td>{row.timestamp}</td>
                                                <td>{row.subject}</td>
                                                <td><code>{row.action}</code></td>
                                                <td>{row.target}</td>
                                                <td class="message">{row.detail}</td>
                                                <td><code>{row.hash}</code></td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            }.into_any()
                        }}
                    }
                    .into_any()
                })
            }}
        </Transition>
    }
}
