//! Sign-in, the tenants list with its switcher, and one tenant's members, configuration,
//! environments ([`EnvironmentsSection`]) and audit trail. Every control is
//! shown according to what the server's policy allows the signed-in user; the server checks
//! again on every call.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

use crate::api::access::{
    AddMember, ChangePassword, ChangeRole, CreateTenant, MemberView, RemoveMember, SetPassword,
    SignIn, SignOut, TenantView, UpdateTenantConfig, VerifyAudit, current_user, list_members,
    list_tenants, recent_audit_events, sso_provider,
};
use crate::error::AppError;
use crate::routes::engine_access::EnvironmentsSection;

const ROLES: [&str; 4] = ["owner", "editor", "viewer", "auditor"];

pub(crate) fn error_view(error: AppError) -> AnyView {
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

pub(crate) fn action_error<T, S>(value: S) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
    S: Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
{
    move || {
        value
            .get()
            .and_then(Result::err)
            .map(|error| view! { <p class="error" role="alert">{error.to_string()}</p> })
    }
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let sign_in = ServerAction::<SignIn>::new();
    let sso = Resource::new(|| (), |_| sso_provider());
    // Set by the server when a single sign-on attempt ends back here.
    let query = use_query_map();
    let sso_error = move || query.read().get("sso_error");
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(me)) = sign_in.value().get() {
            let next = if me.must_change_password {
                "/account"
            } else {
                "/tenants"
            };
            navigate(next, Default::default());
        }
    });
    view! {
        <Title text="Sign in" />
        <h1>"Sign in"</h1>
        <section class="card narrow">
            <ActionForm action=sign_in attr:class="form" attr:data-testid="sign-in-form">
                <label>
                    "Email" <input type="email" name="email" autocomplete="username" required />
                </label>
                <label>
                    "Password"
                    <input type="password" name="password" autocomplete="current-password" required />
                </label>
                <button class="button primary" type="submit" disabled=sign_in.pending()>
                    "Sign in"
                </button>
            </ActionForm>
            {action_error(sign_in.value())}
            {move || sso_error().map(|message| view! {
                <p class="error" role="alert" data-testid="sso-error">{message}</p>
            })}
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    // A plain link, not a client-side route: the browser leaves for the
                    // identity provider and comes back to the server's callback.
                    sso.await.ok().flatten().map(|label| view! {
                        <p class="sso">
                            <a class="button" href="/auth/oidc/login" rel="external"
                                data-testid="sso-sign-in">{format!("Sign in with {label}")}</a>
                        </p>
                    })
                })}
            </Transition>
        </section>
    }
}

/// Where a one-time link lands (`/set-password?token=…`): the person chooses their password,
/// then signs in with it.
#[component]
pub fn SetPasswordPage() -> impl IntoView {
    let set = ServerAction::<SetPassword>::new();
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    view! {
        <Title text="Choose your password" />
        <h1>"Choose your password"</h1>
        <section class="card narrow">
            <ActionForm action=set attr:class="form" attr:data-testid="set-password">
                <input type="hidden" name="token" prop:value=token />
                <label>
                    "New password (at least 12 characters)"
                    <input type="password" name="new_password" autocomplete="new-password" required minlength="12" />
                </label>
                <button class="button primary" type="submit" disabled=set.pending()>
                    "Set password"
                </button>
            </ActionForm>
            {action_error(set.value())}
            {move || matches!(set.value().get(), Some(Ok(()))).then(|| view! {
                <p role="status" data-testid="password-set">
                    "Your password is set. " <a href="/login">"Sign in"</a>
                </p>
            })}
        </section>
    }
}

/// The signed-in user's own settings: the password.
#[component]
pub fn AccountPage() -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    let me = Resource::new(|| (), |_| current_user());
    view! {
        <Title text="Account" />
        <h1>"Account"</h1>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(me)) => view! {
                        <p>"Signed in as " <strong>{me.label}</strong></p>
                        {me.must_change_password.then(|| view! {
                            <p class="notice" data-testid="must-change-password">
                                "You signed in with a one-time password. Choose your own to continue."
                            </p>
                        })}
                    }
                    .into_any(),
                    Ok(None) => error_view(AppError::Unauthenticated),
                    Err(error) => error_view(error),
                }
            })}
        </Transition>
        <section class="card narrow">
            <h2>"Change password"</h2>
            <ActionForm action=change attr:class="form" attr:data-testid="change-password">
                <label>
                    "Current password"
                    <input type="password" name="current_password" autocomplete="current-password" required />
                </label>
                <label>
                    "New password (at least 12 characters)"
                    <input type="password" name="new_password" autocomplete="new-password" required minlength="12" />
                </label>
                <button class="button primary" type="submit">"Change password"</button>
            </ActionForm>
            {action_error(change.value())}
            {move || matches!(change.value().get(), Some(Ok(()))).then(|| view! {
                <p role="status" data-testid="password-changed">
                    "Password changed. " <a href="/tenants">"Continue to your tenants"</a>
                </p>
            })}
        </section>
    }
}

#[component]
fn SignOutButton() -> impl IntoView {
    let sign_out = ServerAction::<SignOut>::new();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(())) = sign_out.value().get() {
            navigate("/login", Default::default());
        }
    });
    view! {
        <ActionForm action=sign_out attr:class="inline">
            <button class="button" type="submit" data-testid="sign-out">"Sign out"</button>
        </ActionForm>
    }
}

#[component]
pub fn TenantsPage() -> impl IntoView {
    let create = ServerAction::<CreateTenant>::new();
    let me = Resource::new(|| (), |_| current_user());
    let tenants = Resource::new(move || create.version().get(), |_| list_tenants());

    view! {
        <Title text="Tenants" />
        <h1>"Tenants"</h1>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let me = match me.await {
                    Ok(Some(me)) => me,
                    Ok(None) => return error_view(AppError::Unauthenticated),
                    Err(error) => return error_view(error),
                };
                if me.must_change_password {
                    return view! {
                        <p class="notice" data-testid="must-change-password">
                            "Choose your own password first: " <a href="/account">"Account"</a>
                        </p>
                    }
                    .into_any();
                }
                let list = match tenants.await {
                    Ok(list) => list,
                    Err(error) => return error_view(error),
                };
                view! {
                    <div class="who" data-testid="who">
                        "Signed in as " <strong>{me.label.clone()}</strong>
                        {me.platform_admin.then_some(" (platform administrator)")}
                        <a href="/account">"Account"</a>
                        <SignOutButton />
                    </div>
                    <TenantSwitcher tenants=list.clone() />
                    <TenantTable tenants=list />
                    {me.platform_admin.then(|| view! { <CreateTenantForm create /> })}
                }
                    .into_any()
            })}
        </Transition>
    }
}

/// Jumps to a tenant the user can see.
#[component]
fn TenantSwitcher(tenants: Vec<TenantView>) -> impl IntoView {
    let navigate = use_navigate();
    view! {
        <label class="switcher">
            "Switch to tenant "
            <select
                data-testid="tenant-switcher"
                on:change=move |event| {
                    let id = event_target_value(&event);
                    if !id.is_empty() {
                        navigate(&format!("/tenants/{id}"), Default::default());
                    }
                }
            >
                <option value="">"—"</option>
                {tenants
                    .into_iter()
                    .map(|t| {
                        let label = format!("{} ({})", t.name, t.id);
                        view! { <option value=t.id>{label}</option> }
                    })
                    .collect_view()}
            </select>
        </label>
    }
}

#[component]
fn TenantTable(tenants: Vec<TenantView>) -> impl IntoView {
    if tenants.is_empty() {
        return view! { <p class="muted">"You are not a member of any tenant yet."</p> }.into_any();
    }
    view! {
        <table class="table" data-testid="tenants">
            <thead>
                <tr>
                    <th>"Id"</th>
                    <th>"Name"</th>
                    <th>"Status"</th>
                    <th>"Plan"</th>
                    <th>"Your role"</th>
                </tr>
            </thead>
            <tbody>
                {tenants
                    .into_iter()
                    .map(|t| {
                        view! {
                            <tr>
                                <td>
                                    <a href=format!("/tenants/{}", t.id)>{t.id.clone()}</a>
                                </td>
                                <td>{t.name}</td>
                                <td>{t.status}</td>
                                <td>{t.plan}</td>
                                <td>{t.role.unwrap_or_else(|| "administrator".to_owned())}</td>
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
fn CreateTenantForm(create: ServerAction<CreateTenant>) -> impl IntoView {
    view! {
        <section class="card">
            <h2>"New tenant"</h2>
            <ActionForm action=create attr:class="form" attr:data-testid="create-tenant">
                <label>
                    "Id" <input name="id" required pattern="[A-Za-z0-9._\\-]{1,31}" maxlength="31" />
                </label>
                <label>"Name" <input name="name" required maxlength="200" /></label>
                <button class="button primary" type="submit">"Create tenant"</button>
            </ActionForm>
            {action_error(create.value())}
        </section>
    }
}

#[component]
pub fn TenantPage() -> impl IntoView {
    let params = use_params_map();
    let tenant = move || params.read().get("id").unwrap_or_default();
    let add = ServerAction::<AddMember>::new();
    let change = ServerAction::<ChangeRole>::new();
    let remove = ServerAction::<RemoveMember>::new();
    let update = ServerAction::<UpdateTenantConfig>::new();
    let tenants = Resource::new(move || update.version().get(), |_| list_tenants());
    let members = Resource::new(
        move || {
            (
                tenant(),
                add.version().get(),
                change.version().get(),
                remove.version().get(),
            )
        },
        |(tenant, ..)| list_members(tenant),
    );

    view! {
        <Title text="Tenant" />
        <h1>{move || format!("Tenant {}", tenant())}</h1>
        <p>
            <a href="/tenants">"All tenants"</a>
            " · "
            <a href=move || format!("/tenants/{}/workflows", tenant()) data-testid="workflows-link">
                "Workflows"
            </a>
        </p>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let id = tenant();
                let this = match tenants.await {
                    Ok(list) => list.into_iter().find(|t| t.id == id),
                    Err(error) => return error_view(error),
                };
                let Some(this) = this else {
                    return error_view(AppError::Refused {
                        status: 404,
                        message: "tenant not found".to_owned(),
                    });
                };
                let members = match members.await {
                    Ok(members) => members,
                    Err(error) => return error_view(error),
                };
                let manage = this.can_manage;
                view! {
                    <p data-testid="your-role">
                        {format!(
                            "{} · your role: {}",
                            this.name,
                            this.role.clone().unwrap_or_else(|| "administrator".to_owned()),
                        )}
                    </p>
                    {(!manage).then(|| view! {
                        <p class="notice" data-testid="read-only">
                            "Read-only: your role may view this tenant but not change it."
                        </p>
                    })}
                    <MemberTable members tenant=id.clone() manage change remove />
                    {manage.then(|| view! { <AddMemberForm tenant=id.clone() add /> })}
                    {action_error(change.value())}
                    {action_error(remove.value())}
                    <ConfigSection tenant=this.clone() update />
                    <EnvironmentsSection tenant=id.clone() />
                    {this.can_audit.then(|| view! { <AuditSection tenant=id.clone() /> })}
                }
                    .into_any()
            })}
        </Transition>
    }
}

#[component]
fn MemberTable(
    members: Vec<MemberView>,
    tenant: String,
    manage: bool,
    change: ServerAction<ChangeRole>,
    remove: ServerAction<RemoveMember>,
) -> impl IntoView {
    view! {
        <table class="table" data-testid="members">
            <thead>
                <tr>
                    <th>"Email"</th>
                    <th>"Role"</th>
                    {manage.then(|| view! { <th>"Actions"</th> })}
                </tr>
            </thead>
            <tbody>
                {members
                    .into_iter()
                    .map(|m| {
                        let (tenant_a, tenant_b) = (tenant.clone(), tenant.clone());
                        let (user_a, user_b) = (m.user_id.clone(), m.user_id.clone());
                        let label = format!("Role of {}", m.email);
                        let current = m.role.clone();
                        let controls = manage.then(move || {
                            view! {
                                <td class="actions">
                                    <ActionForm action=change attr:class="inline">
                                        <input type="hidden" name="tenant" value=tenant_a />
                                        <input type="hidden" name="user_id" value=user_a />
                                        <select name="role" aria-label=label>
                                            {ROLES
                                                .iter()
                                                .map(|r| view! { <option value=*r selected=*r == current>{*r}</option> })
                                                .collect_view()}
                                        </select>
                                        <button class="button" type="submit">"Change role"</button>
                                    </ActionForm>
                                    <ActionForm action=remove attr:class="inline">
                                        <input type="hidden" name="tenant" value=tenant_b />
                                        <input type="hidden" name="user_id" value=user_b />
                                        <button class="button" type="submit">"Remove"</button>
                                    </ActionForm>
                                </td>
                            }
                        });
                        view! {
                            <tr>
                                <td>{m.email.clone()}</td>
                                <td data-testid="member-role">{m.role}</td>
                                {controls}
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

/// The tenant's configuration: a form for those who may change it, facts for everyone else.
#[component]
fn ConfigSection(tenant: TenantView, update: ServerAction<UpdateTenantConfig>) -> impl IntoView {
    let account = tenant.aws_account_id.clone().unwrap_or_default();
    let region = tenant.aws_region.clone().unwrap_or_default();
    let vpcs = tenant.vpc_ids.join(", ");
    let roles = tenant.iam_role_arns.join(", ");
    if !tenant.can_manage {
        return view! {
            <section class="card">
                <h2>"Configuration"</h2>
                <dl class="facts" data-testid="config-facts">
                    <dt>"Status"</dt>
                    <dd>{tenant.status}</dd>
                    <dt>"Plan"</dt>
                    <dd>{tenant.plan}</dd>
                    <dt>"Quotas"</dt>
                    <dd>{format!("{} users, {} workflows", tenant.max_users, tenant.max_workflows)}</dd>
                    <dt>"AWS account"</dt>
                    <dd>{account}</dd>
                    <dt>"Region"</dt>
                    <dd>{region}</dd>
                </dl>
            </section>
        }
        .into_any();
    }
    view! {
        <section class="card">
            <h2>"Configuration"</h2>
            <ActionForm action=update attr:class="form" attr:data-testid="tenant-config">
                <input type="hidden" name="tenant" value=tenant.id.clone() />
                <label>"Name" <input name="config[name]" value=tenant.name.clone() required /></label>
                {platform_settings(&tenant)}
                <label>"AWS account id" <input name="config[aws_account_id]" value=account /></label>
                <label>"AWS region" <input name="config[aws_region]" value=region /></label>
                <label>"VPC ids" <input name="config[vpc_ids]" value=vpcs /></label>
                <label>"IAM role ARNs" <input name="config[iam_role_arns]" value=roles /></label>
                <button class="button primary" type="submit">"Save configuration"</button>
            </ActionForm>
            {action_error(update.value())}
            {move || matches!(update.value().get(), Some(Ok(()))).then(|| view! {
                <p role="status" data-testid="config-saved">"Configuration saved."</p>
            })}
        </section>
    }
    .into_any()
}

/// Status, plan and quotas: fields for platform administrators; for an owner, facts (sent back
/// unchanged with the form), since only the platform sets them.
fn platform_settings(tenant: &TenantView) -> impl IntoView + use<> {
    let option = |value: &'static str, current: &str| {
        view! { <option value=value selected=value == current>{value}</option> }
    };
    if !tenant.can_set_plan {
        return view! {
            <input type="hidden" name="config[status]" value=tenant.status.clone() />
            <input type="hidden" name="config[plan]" value=tenant.plan.clone() />
            <input type="hidden" name="config[max_users]" value=tenant.max_users.to_string() />
            <input type="hidden" name="config[max_workflows]" value=tenant.max_workflows.to_string() />
            <p class="hint" data-testid="platform-settings">
                {format!(
                    "Status {}, plan {}, at most {} users and {} workflows: set by the platform's administrators.",
                    tenant.status, tenant.plan, tenant.max_users, tenant.max_workflows,
                )}
            </p>
        }
        .into_any();
    }
    view! {
        <label>
            "Status"
            <select name="config[status]">
                {option("active", &tenant.status)}
                {option("suspended", &tenant.status)}
            </select>
        </label>
        <label>
            "Plan"
            <select name="config[plan]">
                {option("free", &tenant.plan)}
                {option("standard", &tenant.plan)}
                {option("enterprise", &tenant.plan)}
            </select>
        </label>
        <label>
            "Max users"
            <input type="number" name="config[max_users]" min="1" value=tenant.max_users.to_string() />
        </label>
        <label>
            "Max workflows"
            <input type="number" name="config[max_workflows]" min="1" value=tenant.max_workflows.to_string() />
        </label>
    }
    .into_any()
}

/// Verifies the tenant's audit hash chain on demand.
#[component]
fn AuditSection(tenant: String) -> impl IntoView {
    let verify = ServerAction::<VerifyAudit>::new();
    let for_events = tenant.clone();
    let events = Resource::new(move || for_events.clone(), recent_audit_events);
    view! {
        <section class="card">
            <h2>"Audit trail"</h2>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match events.await {
                        Ok(rows) => view! {
                            <table class="table" data-testid="audit-events">
                                <thead>
                                    <tr>
                                        <th>"#"</th>
                                        <th>"When (UTC)"</th>
                                        <th>"Who"</th>
                                        <th>"Action"</th>
                                        <th>"Target"</th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {rows
                                        .into_iter()
                                        .map(|row| view! {
                                            <tr>
                                                <td>{row.seq}</td>
                                                <td>{row.occurred_at}</td>
                                                <td>{row.actor}</td>
                                                <td>{row.action}</td>
                                                <td>{row.target}</td>
                                            </tr>
                                        })
                                        .collect_view()}
                                </tbody>
                            </table>
                        }
                        .into_any(),
                        Err(error) => error_view(error),
                    }
                })}
            </Transition>
            <button
                class="button"
                data-testid="verify-audit"
                on:click=move |_| {
                    verify.dispatch(VerifyAudit { tenant: tenant.clone() });
                }
            >
                "Verify audit trail"
            </button>
            <div data-testid="audit-result" aria-live="polite">
                {move || match verify.value().get() {
                    None => ().into_any(),
                    Some(Ok(check)) if check.ok => view! {
                        <p>{format!("Audit chain intact: {} events verified.", check.events_checked)}</p>
                    }
                    .into_any(),
                    Some(Ok(check)) => {
                        let (seq, reason) = check.first_broken.unwrap_or_default();
                        view! { <p class="error">{format!("Audit chain broken at event {seq}: {reason}.")}</p> }
                            .into_any()
                    }
                    Some(Err(error)) => view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any(),
                }}
            </div>
        </section>
    }
}

#[component]
fn AddMemberForm(tenant: String, add: ServerAction<AddMember>) -> impl IntoView {
    view! {
        <section class="card">
            <h2>"Add a member"</h2>
            <ActionForm action=add attr:class="form" attr:data-testid="add-member">
                <input type="hidden" name="tenant" value=tenant />
                <label>"Email" <input type="email" name="email" required /></label>
                <label>
                    "Role"
                    <select name="role">
                        {ROLES
                            .iter()
                            .map(|r| view! { <option value=*r selected=*r == "viewer">{*r}</option> })
                            .collect_view()}
                    </select>
                </label>
                <button class="button primary" type="submit">"Add member"</button>
            </ActionForm>
            <p class="muted">
                "Someone new to ASTRAflow gets an email with a link to choose their password; "
                "nobody else ever knows it."
            </p>
            {action_error(add.value())}
        </section>
    }
}
