//! The tenants' and members' SQL, each operation inside the caller's transaction and recorded
//! in the audit trail with the change.

use serde_json::json;
use sqlx::{PgConnection, Row, postgres::PgRow};
use uuid::Uuid;

use super::{
    Member, NewMember, NewTenant, Plan, PlatformSettings, Quotas, Tenant, TenantConfig,
    TenantStatus, validate_email, validate_name,
};
use crate::{
    audit::{self, Actor, AuditAction, Change},
    domain::{DomainError, Result, Role, TenantId},
    tenants::cloud::CloudConfig,
};

const TENANT_COLUMNS: &str = "id, name, status, plan, max_users, max_workflows, aws_account_id, \
    aws_region, vpc_ids, iam_role_arns, created_at, updated_at";

fn tenant_from_row(row: &PgRow) -> Result<Tenant> {
    let status = match row.try_get::<&str, _>("status")? {
        "suspended" => TenantStatus::Suspended,
        _ => TenantStatus::Active,
    };
    let plan = match row.try_get::<&str, _>("plan")? {
        "free" => Plan::Free,
        "enterprise" => Plan::Enterprise,
        _ => Plan::Standard,
    };
    Ok(Tenant {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        status,
        plan,
        quotas: Quotas {
            max_users: row.try_get("max_users")?,
            max_workflows: row.try_get("max_workflows")?,
        },
        cloud: CloudConfig {
            aws_account_id: row.try_get("aws_account_id")?,
            aws_region: row.try_get("aws_region")?,
            vpc_ids: row.try_get("vpc_ids")?,
            iam_role_arns: row.try_get("iam_role_arns")?,
        },
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn snapshot(tenant: &Tenant) -> serde_json::Value {
    json!({
        "name": tenant.name,
        "status": tenant.status,
        "plan": tenant.plan,
        "quotas": tenant.quotas,
        "cloud": tenant.cloud,
    })
}

/// Whether a database error is the violation of the named unique constraint.
pub(crate) fn is_unique_violation(error: &sqlx::Error, constraint: &str) -> bool {
    matches!(error, sqlx::Error::Database(db)
        if db.is_unique_violation() && db.constraint() == Some(constraint))
}

/// Creates a tenant, makes `owner` (when given) its owner, and records both. Needs the platform
/// role: the tenant does not exist yet, so no tenant transaction can see it. The tenant has
/// no environments yet: [`super::service::create_in`] adds the default ones.
pub async fn create(
    conn: &mut PgConnection,
    new: NewTenant,
    owner: Option<Uuid>,
    actor: &Actor,
) -> Result<Tenant> {
    let id = crate::domain::new_tenant_id(&new.id)?;
    validate_name("name", &new.name)?;
    new.quotas.validate()?;
    new.cloud.validate()?;
    let row = sqlx::query(&format!(
        "insert into tenants (id, name, plan, max_users, max_workflows, aws_account_id, \
         aws_region, vpc_ids, iam_role_arns) values ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         returning {TENANT_COLUMNS}"
    ))
    .bind(id.as_str())
    .bind(&new.name)
    .bind(new.plan.as_str())
    .bind(new.quotas.max_users)
    .bind(new.quotas.max_workflows)
    .bind(&new.cloud.aws_account_id)
    .bind(&new.cloud.aws_region)
    .bind(&new.cloud.vpc_ids)
    .bind(&new.cloud.iam_role_arns)
    .fetch_one(&mut *conn)
    .await
    .map_err(|error| {
        if is_unique_violation(&error, "tenants_pkey") {
            DomainError::Conflict(format!("a tenant with id {:?} already exists", id.as_str()))
        } else {
            error.into()
        }
    })?;
    let tenant = tenant_from_row(&row)?;
    audit::append(
        conn,
        &id,
        actor,
        Change {
            action: AuditAction::TenantCreate,
            target_id: id.as_str(),
            before: None,
            after: Some(snapshot(&tenant)),
        },
    )
    .await?;
    if let Some(user_id) = owner {
        sqlx::query("insert into memberships (tenant_id, user_id, role) values ($1, $2, 'owner')")
            .bind(id.as_str())
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
        audit::append(
            conn,
            &id,
            actor,
            Change {
                action: AuditAction::MemberAdd,
                target_id: &user_id.to_string(),
                before: None,
                after: Some(json!({ "role": Role::Owner })),
            },
        )
        .await?;
    }
    Ok(tenant)
}

/// The tenant, if this transaction can see it.
pub async fn get(conn: &mut PgConnection, tenant: &TenantId) -> Result<Tenant> {
    let row = sqlx::query(&format!(
        "select {TENANT_COLUMNS} from tenants where id = $1"
    ))
    .bind(tenant.as_str())
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(DomainError::NotFound("tenant"))?;
    tenant_from_row(&row)
}

/// Every tenant this transaction can see, by id (all of them for the platform role).
pub async fn list(conn: &mut PgConnection) -> Result<Vec<Tenant>> {
    let rows = sqlx::query(&format!("select {TENANT_COLUMNS} from tenants order by id"))
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(tenant_from_row).collect()
}

/// Replaces the tenant's configuration and records before and after. Changing the status, and
/// any change to a suspended tenant, needs [`PlatformSettings::Allowed`].
pub async fn update_config(
    conn: &mut PgConnection,
    tenant: &TenantId,
    config: TenantConfig,
    platform: PlatformSettings,
    actor: &Actor,
) -> Result<Tenant> {
    validate_name("name", &config.name)?;
    config.quotas.validate()?;
    config.cloud.validate()?;
    let before = lock(conn, tenant).await?;
    if before.status != config.status && !platform.allowed() {
        return Err(DomainError::Forbidden(
            "only platform administrators may suspend or reactivate a tenant".to_owned(),
        ));
    }
    if (before.plan != config.plan || before.quotas != config.quotas) && !platform.allowed() {
        return Err(DomainError::Forbidden(
            "only platform administrators may change a tenant's plan and quotas".to_owned(),
        ));
    }
    if before.status == TenantStatus::Suspended && !platform.allowed() {
        return Err(DomainError::Conflict(format!(
            "tenant {:?} is suspended; a platform administrator must reactivate it first",
            tenant.as_str()
        )));
    }
    let row = sqlx::query(&format!(
        "update tenants set name = $2, status = $3, plan = $4, max_users = $5, \
         max_workflows = $6, aws_account_id = $7, aws_region = $8, vpc_ids = $9, \
         iam_role_arns = $10, updated_at = now() where id = $1 returning {TENANT_COLUMNS}"
    ))
    .bind(tenant.as_str())
    .bind(&config.name)
    .bind(config.status.as_str())
    .bind(config.plan.as_str())
    .bind(config.quotas.max_users)
    .bind(config.quotas.max_workflows)
    .bind(&config.cloud.aws_account_id)
    .bind(&config.cloud.aws_region)
    .bind(&config.cloud.vpc_ids)
    .bind(&config.cloud.iam_role_arns)
    .fetch_one(&mut *conn)
    .await?;
    let after = tenant_from_row(&row)?;
    if snapshot(&before) != snapshot(&after) {
        audit::append(
            conn,
            tenant,
            actor,
            Change {
                action: AuditAction::TenantUpdateConfig,
                target_id: tenant.as_str(),
                before: Some(snapshot(&before)),
                after: Some(snapshot(&after)),
            },
        )
        .await?;
    }
    Ok(after)
}

/// Reads the tenant and locks its row until the transaction ends, so quota checks and
/// configuration changes of one tenant do not interleave.
async fn lock(conn: &mut PgConnection, tenant: &TenantId) -> Result<Tenant> {
    // `no key update`, not `update`: the tenant id is never changed, and a full row lock would
    // block the foreign-key checks of other transactions' inserts (an audit event of the
    // deployment pipeline, say) that already hold the tenant's audit lock — a deadlock.
    let row = sqlx::query(&format!(
        "select {TENANT_COLUMNS} from tenants where id = $1 for no key update"
    ))
    .bind(tenant.as_str())
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(DomainError::NotFound("tenant"))?;
    tenant_from_row(&row)
}

/// Like [`lock`], but refuses a suspended tenant: its members and tokens stay as they are
/// until a platform administrator reactivates it.
pub async fn lock_active(conn: &mut PgConnection, tenant: &TenantId) -> Result<Tenant> {
    let current = lock(conn, tenant).await?;
    if current.status == TenantStatus::Suspended {
        return Err(DomainError::Conflict(format!(
            "tenant {:?} is suspended; a platform administrator must reactivate it first",
            tenant.as_str()
        )));
    }
    Ok(current)
}

fn member_from_row(row: &PgRow) -> Result<Member> {
    let role: &str = row.try_get("role")?;
    Ok(Member {
        user_id: row.try_get("user_id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        role: role
            .parse()
            .map_err(|_| sqlx::Error::Decode(format!("unknown role {role:?}").into()))?,
        created_at: row.try_get("created_at")?,
    })
}

// A member's name is the one this tenant gave, if the account existed before it joined.
const MEMBER_SELECT: &str = "select m.user_id, u.email, coalesce(m.display_name, u.name) as name, m.role, m.created_at \
    from memberships m join users u on u.id = m.user_id";

pub async fn list_members(conn: &mut PgConnection, tenant: &TenantId) -> Result<Vec<Member>> {
    let rows = sqlx::query(&format!(
        "{MEMBER_SELECT} where m.tenant_id = $1 order by lower(u.email)"
    ))
    .bind(tenant.as_str())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(member_from_row).collect()
}

/// An account [`add_member`] created, which has no password yet.
pub struct NewAccount {
    pub user_id: Uuid,
    pub email: String,
}

/// Adds a user to the tenant (creating the account, without a password, when the email is
/// new), within the tenant's user quota. Returns the member, and the account if it is new.
pub async fn add_member(
    conn: &mut PgConnection,
    tenant: &TenantId,
    new: NewMember,
    actor: &Actor,
) -> Result<(Member, Option<NewAccount>)> {
    let email = new.email.clone();
    validate_email(&email)?;
    if let Some(name) = &new.name {
        validate_name("name", name)?;
    }
    let current = lock_active(conn, tenant).await?;
    let members: i64 = sqlx::query_scalar("select count(*) from memberships where tenant_id = $1")
        .bind(tenant.as_str())
        .fetch_one(&mut *conn)
        .await?;
    if members >= i64::from(current.quotas.max_users) {
        return Err(DomainError::QuotaExceeded(format!(
            "tenant {:?} already has {members} of its {} users; raise quotas.max_users or remove \
             a member first",
            tenant.as_str(),
            current.quotas.max_users
        )));
    }
    let name = new
        .name
        .clone()
        .unwrap_or_else(|| email.split('@').next().unwrap_or(&email).to_owned());
    // Accounts of other tenants are invisible here; this function finds one by email only.
    let existing: Option<Uuid> = sqlx::query_scalar("select user_id_by_email($1)")
        .bind(&email)
        .fetch_one(&mut *conn)
        .await?;
    let (user_id, created, display_name) = match existing {
        // The account's own name stays private to it: this tenant knows it by `name`.
        Some(id) => (id, None, Some(name)),
        None => {
            let id = Uuid::new_v4();
            sqlx::query("insert into users (id, email, name) values ($1, $2, $3)")
                .bind(id)
                .bind(&email)
                .bind(&name)
                .execute(&mut *conn)
                .await
                .map_err(|error| {
                    if is_unique_violation(&error, "users_email_key") {
                        DomainError::Conflict(format!(
                            "an account for {email:?} was created at the same time; try again"
                        ))
                    } else {
                        error.into()
                    }
                })?;
            let created = NewAccount {
                user_id: id,
                email: email.clone(),
            };
            (id, Some(created), None)
        }
    };
    sqlx::query(
        "insert into memberships (tenant_id, user_id, role, display_name) values ($1, $2, $3, $4)",
    )
    .bind(tenant.as_str())
    .bind(user_id)
    .bind(new.role.as_str())
    .bind(display_name)
    .execute(&mut *conn)
    .await
    .map_err(|error| {
        if is_unique_violation(&error, "memberships_pkey") {
            DomainError::Conflict(format!(
                "{email:?} is already a member of tenant {:?}",
                tenant.as_str()
            ))
        } else {
            error.into()
        }
    })?;
    audit::append(
        conn,
        tenant,
        actor,
        Change {
            action: AuditAction::MemberAdd,
            target_id: &user_id.to_string(),
            before: None,
            after: Some(json!({ "email": email, "role": new.role })),
        },
    )
    .await?;
    Ok((member(conn, tenant, user_id).await?, created))
}

async fn member(conn: &mut PgConnection, tenant: &TenantId, user_id: Uuid) -> Result<Member> {
    let row = sqlx::query(&format!(
        "{MEMBER_SELECT} where m.tenant_id = $1 and m.user_id = $2"
    ))
    .bind(tenant.as_str())
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(DomainError::NotFound("member"))?;
    member_from_row(&row)
}

/// Changes a member's role.
pub async fn change_role(
    conn: &mut PgConnection,
    tenant: &TenantId,
    user_id: Uuid,
    role: Role,
    actor: &Actor,
) -> Result<Member> {
    lock_active(conn, tenant).await?;
    let before = member(conn, tenant, user_id).await?;
    if before.role == role {
        return Ok(before);
    }
    ensure_an_owner_remains(conn, tenant, &before).await?;
    sqlx::query("update memberships set role = $3 where tenant_id = $1 and user_id = $2")
        .bind(tenant.as_str())
        .bind(user_id)
        .bind(role.as_str())
        .execute(&mut *conn)
        .await?;
    audit::append(
        conn,
        tenant,
        actor,
        Change {
            action: AuditAction::MemberChangeRole,
            target_id: &user_id.to_string(),
            before: Some(json!({ "role": before.role })),
            after: Some(json!({ "role": role })),
        },
    )
    .await?;
    member(conn, tenant, user_id).await
}

/// Removes a member from the tenant (the account itself stays).
pub async fn remove_member(
    conn: &mut PgConnection,
    tenant: &TenantId,
    user_id: Uuid,
    actor: &Actor,
) -> Result<()> {
    lock_active(conn, tenant).await?;
    let before = member(conn, tenant, user_id).await?;
    ensure_an_owner_remains(conn, tenant, &before).await?;
    sqlx::query("delete from memberships where tenant_id = $1 and user_id = $2")
        .bind(tenant.as_str())
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    audit::append(
        conn,
        tenant,
        actor,
        Change {
            action: AuditAction::MemberRemove,
            target_id: &user_id.to_string(),
            before: Some(json!({ "email": before.email, "role": before.role })),
            after: None,
        },
    )
    .await?;
    Ok(())
}

/// A tenant must keep at least one owner, or nobody could manage it any more.
async fn ensure_an_owner_remains(
    conn: &mut PgConnection,
    tenant: &TenantId,
    leaving: &Member,
) -> Result<()> {
    if leaving.role != Role::Owner {
        return Ok(());
    }
    let owners: i64 = sqlx::query_scalar(
        "select count(*) from memberships where tenant_id = $1 and role = 'owner'",
    )
    .bind(tenant.as_str())
    .fetch_one(&mut *conn)
    .await?;
    if owners <= 1 {
        return Err(DomainError::Conflict(
            "a tenant must keep at least one owner".to_owned(),
        ));
    }
    Ok(())
}
