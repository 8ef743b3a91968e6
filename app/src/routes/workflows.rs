//! Workflows and their deployments: a tenant's workflow list with BPMN import, and one
//! workflow's version history and deployment wizard (version → environment → validation →
//! approvals → live progress), with approvals and rollback. Controls follow what the server's
//! policy allows; the server checks again on every call.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::access::list_tenants;
use crate::api::workflows::{
    ApproveDeployment, DeployVersion, DeploymentRow, EnvironmentRow, RejectDeployment, RollBack,
    UpdateEnvironmentPolicy, WorkflowView, tenant_environments, tenant_workflows, workflow_detail,
};
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

/// The message a form upload came back with, if any.
fn query_error() -> impl Fn() -> Option<String> + Copy {
    let query = use_query_map();
    move || query.read().get("error")
}

/// The Deployments section: where each of the user's tenants keeps its workflows.
#[component]
pub fn DeploymentsPage() -> impl IntoView {
    let tenants = Resource::new(|| (), |_| list_tenants());
    view! {
        <Title text="Deployments" />
        <h1>"Deployments"</h1>
        <p class="lead">
            "Workflows move from dev through staging to prod; each environment runs its own engine and asks for the approvals its policy sets."
        </p>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match tenants.await {
                    Ok(list) if list.is_empty() => {
                        view! { <p class="muted">"You are not a member of any tenant yet."</p> }
                            .into_any()
                    }
                    Ok(list) => view! {
                        <ul class="links" data-testid="tenant-workflow-links">
                            {list
                                .into_iter()
                                .map(|t| {
                                    view! {
                                        <li>
                                            <a href=format!("/tenants/{}/workflows", t.id)>
                                                {format!("{} — workflows", t.name)}
                                            </a>
                                        </li>
                                    }
                                })
                                .collect_view()}
                        </ul>
                    }
                    .into_any(),
                    Err(error) => error_view(error),
                }
            })}
        </Transition>
    }
}

#[component]
pub fn TenantWorkflowsPage() -> impl IntoView {
    let params = use_params_map();
    let tenant = move || params.read().get("id").unwrap_or_default();
    let workflows = Resource::new(tenant, tenant_workflows);
    let policy = ServerAction::<UpdateEnvironmentPolicy>::new();
    let environments = Resource::new(
        move || (tenant(), policy.version().get()),
        |(tenant, _)| tenant_environments(tenant),
    );
    let upload_error = query_error();
    view! {
        <Title text="Workflows" />
        <h1>{move || format!("Workflows of {}", tenant())}</h1>
        <p>
            <a href=move || format!("/tenants/{}", tenant())>"Tenant"</a>
        </p>
        {move || upload_error().map(|message| view! {
            <p class="error" role="alert" data-testid="upload-error">{message}</p>
        })}
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let list = match workflows.await {
                    Ok(list) => list,
                    Err(error) => return error_view(error),
                };
                let import = list.can_edit.then(|| view! { <ImportForm tenant=tenant() /> });
                let table = if list.workflows.is_empty() {
                    view! { <p class="muted">"No workflows yet."</p> }.into_any()
                } else {
                    view! {
                        <table class="table" data-testid="workflows">
                            <thead>
                                <tr>
                                    <th>"Name"</th>
                                    <th>"Process id"</th>
                                    <th>"Latest version"</th>
                                    <th>"Changed"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {list
                                    .workflows
                                    .into_iter()
                                    .map(|w| {
                                        view! {
                                            <tr>
                                                <td>
                                                    <a href=format!("/workflows/{}", w.id)>{w.name}</a>
                                                </td>
                                                <td><code>{w.key}</code></td>
                                                <td>{w.latest_version}</td>
                                                <td>{w.updated_at}</td>
                                            </tr>
                                        }
                                    })
                                    .collect_view()}
                            </tbody>
                        </table>
                    }
                    .into_any()
                };
                view! { {table} {import} }.into_any()
            })}
        </Transition>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let manage = workflows
                    .await
                    .map(|list| list.can_manage_environments)
                    .unwrap_or(false);
                environments.await.ok().map(|list| view! {
                    <EnvironmentsTable environments=list tenant=tenant() manage policy />
                })
            })}
        </Transition>
        {move || policy.value().get().and_then(Result::err).map(|error| view! {
            <p class="error" role="alert" data-testid="policy-error">{error.to_string()}</p>
        })}
    }
}

/// Uploads a BPMN file as a new workflow (a plain form: the server redirects to the workflow).
#[component]
fn ImportForm(tenant: String) -> impl IntoView {
    view! {
        <section class="card">
            <h2>"Import a BPMN file"</h2>
            <form
                class="form"
                method="post"
                enctype="multipart/form-data"
                action=format!("/tenants/{tenant}/workflows/import")
                data-testid="import-workflow"
            >
                <label>
                    "BPMN file" <input type="file" name="file" accept=".bpmn,.xml" required />
                </label>
                <label>"Message" <input name="message" maxlength="2000" placeholder="What this version is" /></label>
                <button class="button primary" type="submit">"Import"</button>
            </form>
        </section>
    }
}

#[component]
fn EnvironmentsTable(
    environments: Vec<EnvironmentRow>,
    tenant: String,
    manage: bool,
    policy: ServerAction<UpdateEnvironmentPolicy>,
) -> impl IntoView {
    view! {
        <section class="card">
            <h2>"Environments"</h2>
            <table class="table" data-testid="environments">
                <thead>
                    <tr>
                        <th>"Environment"</th>
                        <th>"Engine"</th>
                        <th>"Approvals"</th>
                        <th>"Approvers"</th>
                        {manage.then(|| view! { <th>"Change the policy"</th> })}
                    </tr>
                </thead>
                <tbody>
                    {environments
                        .into_iter()
                        .map(|e| {
                            let approvals = match (e.approvals_required, e.require_owner_approval) {
                                (0, _) => "none".to_owned(),
                                (n, true) => format!("{n}, one from an owner"),
                                (n, false) => n.to_string(),
                            };
                            let form = manage.then(|| {
                                view! {
                                    <td>
                                        <PolicyForm environment=e.clone() tenant=tenant.clone() policy />
                                    </td>
                                }
                            });
                            let label = e.name.clone();
                            view! {
                                <tr aria-label=label>
                                    <td>{e.name}</td>
                                    <td>{e.engine}</td>
                                    <td data-testid="approvals">{approvals}</td>
                                    <td>{e.approver_roles.join(", ")}</td>
                                    {form}
                                </tr>
                            }
                            .into_any()
                        })
                        .collect_view()}
                </tbody>
            </table>
            <p class="muted">"Nobody approves a deployment they requested."</p>
        </section>
    }
}

/// An owner's form for one environment's approval policy.
#[component]
fn PolicyForm(
    environment: EnvironmentRow,
    tenant: String,
    policy: ServerAction<UpdateEnvironmentPolicy>,
) -> impl IntoView {
    const ROLES: [&str; 4] = ["owner", "editor", "viewer", "auditor"];
    view! {
        <ActionForm action=policy attr:class="form inline" attr:data-testid="policy-form">
            <input type="hidden" name="tenant" value=tenant />
            <input type="hidden" name="environment" value=environment.name.clone() />
            <label>
                "Approvals"
                <input
                    type="number"
                    name="approvals_required"
                    min="0"
                    max="10"
                    value=environment.approvals_required.to_string()
                />
            </label>
            {ROLES
                .iter()
                .enumerate()
                .map(|(index, role)| {
                    let checked = environment.approver_roles.iter().any(|r| r == role);
                    view! {
                        <label>
                            <input
                                type="checkbox"
                                name=format!("approver_roles[{index}]")
                                value=*role
                                checked=checked
                            />
                            {*role}
                        </label>
                    }
                })
                .collect_view()}
            <label>
                <input
                    type="checkbox"
                    name="require_owner_approval"
                    checked=environment.require_owner_approval
                />
                "one from an owner"
            </label>
            <button class="button" type="submit">"Save"</button>
        </ActionForm>
    }
}

/// Whether anything on the page is still on its way (the page then refreshes itself).
fn in_progress(view: &WorkflowView) -> bool {
    view.deployments
        .iter()
        .any(|d| matches!(d.state.as_str(), "requested" | "validating" | "deploying"))
}

#[component]
pub fn WorkflowPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let deploy = ServerAction::<DeployVersion>::new();
    let approve = ServerAction::<ApproveDeployment>::new();
    let reject = ServerAction::<RejectDeployment>::new();
    let roll_back = ServerAction::<RollBack>::new();
    // Bumped every second while a deployment moves, so its progress shows live.
    let tick = RwSignal::new(0_u32);
    let detail = Resource::new(
        move || {
            (
                id(),
                deploy.version().get(),
                approve.version().get(),
                reject.version().get(),
                roll_back.version().get(),
                tick.get(),
            )
        },
        |(id, ..)| workflow_detail(id),
    );
    Effect::new(move |_| {
        let moving = detail
            .get()
            .and_then(Result::ok)
            .is_some_and(|view| in_progress(&view));
        if moving {
            set_timeout(
                move || tick.update(|t| *t += 1),
                std::time::Duration::from_secs(1),
            );
        }
    });
    let upload_error = query_error();
    let query = use_query_map();
    let imported = move || query.read().get("imported");

    view! {
        <Title text="Workflow" />
        {move || upload_error().map(|message| view! {
            <p class="error" role="alert" data-testid="upload-error">{message}</p>
        })}
        {move || imported().map(|version| view! {
            <p class="notice" data-testid="imported">{format!("Imported as version {version}.")}</p>
        })}
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let view = match detail.await {
                    Ok(view) => view,
                    Err(error) => return error_view(error),
                };
                let workflow = view.workflow.clone();
                view! {
                    <h1 data-testid="workflow-name">{workflow.name.clone()}</h1>
                    <p>
                        "Process id " <code>{workflow.key.clone()}</code> " · "
                        <a href=format!("/tenants/{}/workflows", workflow.tenant_id)>
                            "All workflows"
                        </a>
                    </p>
                    <DeployWizard view=view.clone() deploy />
                    <DeploymentsTable view=view.clone() approve reject roll_back />
                    <VersionHistory view=view />
                }
                .into_any()
            })}
        </Transition>
        {move || {
            [deploy.value().get().and_then(Result::err),
                approve.value().get().and_then(Result::err),
                reject.value().get().and_then(Result::err),
                roll_back.value().get().and_then(Result::err)]
                .into_iter()
                .flatten()
                .map(|error| view! {
                    <p class="error" role="alert" data-testid="action-error">{error.to_string()}</p>
                })
                .collect_view()
        }}
    }
}

/// Step one and two of a deployment: which version, to which environment. Validation,
/// approvals and progress follow in the deployments table.
#[component]
fn DeployWizard(view: WorkflowView, deploy: ServerAction<DeployVersion>) -> impl IntoView {
    if !view.can_edit || view.versions.is_empty() {
        return ().into_any();
    }
    let workflow = view.workflow.id.clone();
    view! {
        <section class="card">
            <h2>"Deploy"</h2>
            <ActionForm action=deploy attr:class="form inline" attr:data-testid="deploy-form">
                <input type="hidden" name="workflow" value=workflow />
                <label>
                    "Version"
                    <select name="version">
                        {view
                            .versions
                            .iter()
                            .map(|v| {
                                let label = format!("{} — {}", v.version, v.message);
                                view! { <option value=v.version.to_string()>{label}</option> }
                            })
                            .collect_view()}
                    </select>
                </label>
                <label>
                    "Environment"
                    <select name="environment">
                        {view
                            .environments
                            .iter()
                            .map(|e| {
                                let label = match e.approvals_required {
                                    0 => e.name.clone(),
                                    n => format!("{} ({n} approval{})", e.name, if n == 1 { "" } else { "s" }),
                                };
                                view! { <option value=e.name.clone()>{label}</option> }
                            })
                            .collect_view()}
                    </select>
                </label>
                <button class="button primary" type="submit" disabled=deploy.pending()>
                    "Deploy"
                </button>
            </ActionForm>
        </section>
    }
    .into_any()
}

#[component]
fn DeploymentsTable(
    view: WorkflowView,
    approve: ServerAction<ApproveDeployment>,
    reject: ServerAction<RejectDeployment>,
    roll_back: ServerAction<RollBack>,
) -> impl IntoView {
    if view.deployments.is_empty() {
        return view! { <p class="muted">"Not deployed anywhere yet."</p> }.into_any();
    }
    view! {
        <section class="card">
            <h2>"Deployments"</h2>
            <table class="table" data-testid="deployments">
                <thead>
                    <tr>
                        <th>"Environment"</th>
                        <th>"Version"</th>
                        <th>"State"</th>
                        <th>"Requested by"</th>
                        <th>"Approvals"</th>
                        <th></th>
                    </tr>
                </thead>
                <tbody>
                    {view
                        .deployments
                        .into_iter()
                        .map(|d| view! { <DeploymentLine deployment=d approve reject roll_back /> })
                        .collect_view()}
                </tbody>
            </table>
            <p class="muted">
                "Rolling back redeploys the version that was active before. Instances already running keep the version they started on."
            </p>
        </section>
    }
    .into_any()
}

#[component]
fn DeploymentLine(
    deployment: DeploymentRow,
    approve: ServerAction<ApproveDeployment>,
    reject: ServerAction<RejectDeployment>,
    roll_back: ServerAction<RollBack>,
) -> impl IntoView {
    let DeploymentRow {
        id,
        version,
        environment,
        state,
        approvals_missing,
        approvers,
        requested_by,
        error,
        diagnostics,
        rollback_of,
        active,
        can_approve,
        can_roll_back,
        ..
    } = deployment;
    let label = format!("{environment} v{version}");
    let state_text = match (state.as_str(), active) {
        ("deployed", true) => "deployed (active)".to_owned(),
        ("awaiting_approval", _) => format!("awaiting approval ({approvals_missing} more)"),
        (other, _) => other.replace('_', " "),
    };
    let awaiting = state == "awaiting_approval";
    let approve_id = id.clone();
    let reject_id = id.clone();
    view! {
        <tr data-testid="deployment" data-state=state aria-label=label>
            <td>{environment}</td>
            <td>
                {version}
                {rollback_of.map(|_| view! { <span class="muted">" (rollback)"</span> })}
            </td>
            <td data-testid="deployment-state">
                {state_text}
                {error.map(|error| view! { <div class="error">{error}</div> })}
                {(!diagnostics.is_empty()).then(|| view! {
                    <ul class="diagnostics" data-testid="diagnostics">
                        {diagnostics.into_iter().map(|line| view! { <li>{line}</li> }).collect_view()}
                    </ul>
                })}
            </td>
            <td>{requested_by}</td>
            <td>{approvers.join(", ")}</td>
            <td>
                {awaiting.then(|| view! {
                    <ActionForm action=approve attr:class="inline">
                        <input type="hidden" name="deployment" value=approve_id.clone() />
                        <input type="hidden" name="comment" value="" />
                        <button class="button" type="submit" title=if can_approve { "Your approval counts here" } else { "Your approval may not count here" }>
                            "Approve"
                        </button>
                    </ActionForm>
                })}
                {awaiting.then(|| view! {
                    <ActionForm action=reject attr:class="inline">
                        <input type="hidden" name="deployment" value=reject_id.clone() />
                        <input type="hidden" name="comment" value="" />
                        <button class="button" type="submit" title="Reject it, or withdraw your own request">
                            "Reject"
                        </button>
                    </ActionForm>
                })}
                {can_roll_back.then(|| view! {
                    <ActionForm action=roll_back attr:class="inline">
                        <input type="hidden" name="deployment" value=id.clone() />
                        <button class="button" type="submit">"Roll back"</button>
                    </ActionForm>
                })}
            </td>
        </tr>
    }
    // Erased: the row's concrete view type is deep enough to overflow the compiler's limits.
    .into_any()
}

#[component]
fn VersionHistory(view: WorkflowView) -> impl IntoView {
    let workflow = view.workflow.id.clone();
    view! {
        <section class="card">
            <h2>"Versions"</h2>
            <table class="table" data-testid="versions">
                <thead>
                    <tr>
                        <th>"Version"</th>
                        <th>"Author"</th>
                        <th>"Message"</th>
                        <th>"Time"</th>
                    </tr>
                </thead>
                <tbody>
                    {view
                        .versions
                        .into_iter()
                        .map(|v| {
                            view! {
                                <tr>
                                    <td>{v.version}</td>
                                    <td>{v.author}</td>
                                    <td>{v.message}</td>
                                    <td>{v.created_at}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
            {view.can_edit.then(|| view! {
                <form
                    class="form"
                    method="post"
                    enctype="multipart/form-data"
                    action=format!("/workflows/{workflow}/versions/import")
                    data-testid="import-version"
                >
                    <label>
                        "New version from a BPMN file"
                        <input type="file" name="file" accept=".bpmn,.xml" required />
                    </label>
                    <label>"Message" <input name="message" maxlength="2000" /></label>
                    <button class="button" type="submit">"Add version"</button>
                </form>
            })}
        </section>
    }
}
