//! BPMN file uploads from the pages: plain HTML multipart forms, so importing works before the
//! page has hydrated and needs no script to read the file. Each handler hands the document to
//! the same service the REST API uses and answers with a redirect: to the workflow on success,
//! back to the form's page with the reason otherwise.

use axum::{
    Router,
    extract::{DefaultBodyLimit, Multipart, Path, State},
    response::{IntoResponse, Redirect, Response},
    routing::post,
};
use sqlx::PgPool;

use super::{MAX_BPMN_BYTES, NewVersion, NewWorkflow, service};
use crate::{
    auth::{Principal, RequestMeta},
    context::Ctx,
    error::ApiError,
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tenants/{tenant}/workflows/import", post(import_workflow))
        .route(
            "/workflows/{workflow}/versions/import",
            post(import_version),
        )
        // Room for the largest document we store plus the form's other fields.
        .layer(DefaultBodyLimit::max(MAX_BPMN_BYTES + 64 * 1024))
}

/// The form's file (as text) and message.
struct Upload {
    xml: String,
    message: Option<String>,
}

async fn read_upload(mut form: Multipart) -> Result<Upload, String> {
    let mut xml = None;
    let mut message = None;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|error| format!("the upload was cut off or malformed: {error}"))?
    {
        match field.name() {
            Some("file") => {
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|error| format!("the file could not be read: {error}"))?;
                let text = String::from_utf8(bytes.to_vec())
                    .map_err(|_| "the file is not UTF-8 text (a BPMN file is XML)".to_owned())?;
                xml = Some(text);
            }
            Some("message") => {
                let text = field.text().await.map_err(|error| error.to_string())?;
                message = Some(text).filter(|text| !text.trim().is_empty());
            }
            _ => {}
        }
    }
    let xml = xml
        .filter(|xml| !xml.trim().is_empty())
        .ok_or_else(|| "choose a BPMN file to import".to_owned())?;
    Ok(Upload { xml, message })
}

fn back_with_error(page: &str, message: &str) -> Response {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("error", message)
        .finish();
    Redirect::to(&format!("{page}?{query}")).into_response()
}

fn refused(page: &str, error: &ApiError) -> Response {
    match error {
        ApiError::Unauthenticated => Redirect::to("/login").into_response(),
        other => back_with_error(page, &other.to_string()),
    }
}

/// The caller and their file, or the redirect that says why not.
async fn accept(
    principal: Result<Principal, ApiError>,
    form: Multipart,
    page: &str,
) -> Result<(Principal, Upload), Response> {
    let principal = principal.map_err(|error| refused(page, &error))?;
    let upload = read_upload(form)
        .await
        .map_err(|message| back_with_error(page, &message))?;
    Ok((principal, upload))
}

async fn import_workflow(
    State(pool): State<PgPool>,
    principal: Result<Principal, ApiError>,
    meta: RequestMeta,
    Path(tenant): Path<String>,
    form: Multipart,
) -> Response {
    let page = format!("/tenants/{tenant}/workflows");
    let (principal, upload) = match accept(principal, form, &page).await {
        Ok(accepted) => accepted,
        Err(response) => return response,
    };
    let ctx = Ctx::new(pool, principal, meta);
    let new = NewWorkflow {
        tenant_id: Some(tenant),
        name: None,
        description: None,
        variables_schema: None,
        bpmn_xml: upload.xml,
        message: upload.message,
    };
    match service::create(&ctx, new).await {
        Ok((workflow, _)) => Redirect::to(&format!("/workflows/{}", workflow.id)).into_response(),
        Err(error) => refused(&page, &error),
    }
}

async fn import_version(
    State(pool): State<PgPool>,
    principal: Result<Principal, ApiError>,
    meta: RequestMeta,
    Path(workflow): Path<String>,
    form: Multipart,
) -> Response {
    let page = format!("/workflows/{workflow}");
    let (principal, upload) = match accept(principal, form, &page).await {
        Ok(accepted) => accepted,
        Err(response) => return response,
    };
    let Ok(id) = workflow.parse() else {
        return refused(&page, &ApiError::NotFound("workflow"));
    };
    let ctx = Ctx::new(pool, principal, meta);
    let new = NewVersion {
        bpmn_xml: upload.xml,
        message: upload.message,
    };
    match service::add_version(&ctx, id, new).await {
        Ok((version, _)) => {
            Redirect::to(&format!("{page}?imported={}", version.version)).into_response()
        }
        Err(error) => refused(&page, &error),
    }
}
