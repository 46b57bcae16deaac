//! `/strongroom/v1/tokens`: Strongroom API tokens for machines. `POST` issues one (the token is
//! in that response only), `GET` lists the caller's (never a token), `DELETE …/{id}` revokes
//! one at once. A token's scopes are among its issuer's; an admin sees and revokes every token
//! of the organization. Issuing and revoking are audited.

use credential_model::api_tokens::{ApiToken, ApiTokenId};
use credential_model::audit::AuditAction;
use credential_model::credential::{now, rfc3339};
use credential_model::{Error, Scope};
use lambda_http::RequestExt;
use lambda_http::http::{HeaderValue, StatusCode, header};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use strongroom_edge::{Call, Handled, empty_response, json_response};

use crate::governance::{Deps, record};

/// A token as the API shows it: never the token, never its digest.
fn shown(token: &ApiToken) -> Value {
    json!({
        "id": token.id.to_string(),
        "name": token.name,
        "scopes": token.scopes.iter().map(Scope::as_str).collect::<Vec<_>>(),
        "createdBy": token.user.as_str(),
        "createdAt": rfc3339(token.created_at),
        "expiresAt": token.expires_at.map(rfc3339),
        "lastUsedAt": token.last_used_at.map(rfc3339),
    })
}

pub(crate) async fn create(deps: &Deps, call: Call) -> Handled {
    let request = crate::request::token_request(&call)?;
    let issued = deps.tokens.issue(&call.caller, request, now()).await?;
    let id = issued.record.id.to_string();
    record(deps, &call, AuditAction::ApiTokenIssued, None, Some(id)).await?;
    let mut body = shown(&issued.record);
    body["token"] = issued.token.expose_secret().into();
    let mut response = json_response(StatusCode::CREATED, &body);
    // The token is in this response only: no cache may keep it.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

pub(crate) async fn list(deps: &Deps, call: Call) -> Handled {
    let tokens = deps.tokens.list(&call.caller).await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({"tokens": tokens.iter().map(shown).collect::<Vec<_>>()}),
    ))
}

pub(crate) async fn revoke(deps: &Deps, call: Call) -> Handled {
    let id = call
        .request
        .path_parameters_ref()
        .and_then(|params| params.first("id"))
        .and_then(ApiTokenId::parse)
        .ok_or(Error::NotFound)?;
    let revoked = deps.tokens.revoke(&call.caller, id).await?;
    let subject = Some(revoked.id.to_string());
    record(deps, &call, AuditAction::ApiTokenRevoked, None, subject).await?;
    Ok(empty_response(StatusCode::NO_CONTENT))
}
