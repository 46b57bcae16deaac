//! The Mielto family: generic credentials (API keys, OAuth tokens, connection strings…),
//! faithful to Mielto's `/api/v1/credentials`, a FastAPI app: errors are `{"detail": …}` and
//! bad input is a `422` in pydantic's words.
//!
//! | route                                        | scope               | function binary            |
//! |----------------------------------------------|---------------------|----------------------------|
//! | `POST /api/v1/credentials`                   | `credentials:write` | `mielto-create-credential` |
//! | `GET /api/v1/credentials`                    | `credentials:read`  | `mielto-list-credentials`  |
//! | `GET /api/v1/credentials/{credential_id}`    | `credentials:read`  | `mielto-get-credential`    |
//! | `PUT /api/v1/credentials/{credential_id}`    | `credentials:write` | `mielto-update-credential` |
//! | `DELETE /api/v1/credentials/{credential_id}` | `credentials:write` | `mielto-delete-credential` |
//!
//! Every credential is a `generic-credential` record of its organization (Mielto's workspace).
//! The raw `credentials` object the client sent is the secret, kept whole in Secrets Manager;
//! every other field is a non-secret attribute of the record. A credential past its
//! `expires_at` reads as `expired`, computed when it is read.

pub mod create_credential;
pub mod delete_credential;
mod expiry;
pub mod get_credential;
pub mod list_credentials;
mod request;
mod shape;
pub mod update_credential;
