//! S3 and GCS (through its S3-compatible XML API, with an HMAC key) connection tests: a
//! ListBuckets request signed with the stored key (SigV4), which the store answers only when the
//! key exists, the signature matches its secret and the key may list buckets.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningParams,
    SigningSettings, UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use credential_model::ports::{FailureKind, Origin, TestFailure};
use http::header::HOST;
use http::{Request, StatusCode, Uri};
use http_body_util::Empty;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::failure::{failure, incomplete, server_said, within};
use crate::http::{Reply, Server, exchange};
use crate::tls::TlsConfigs;

/// Which store a key is for: the defaults differ, the request does not.
#[derive(Clone, Copy)]
pub(crate) enum Store {
    S3,
    /// Real GCS takes SigV4 with an HMAC key at `storage.googleapis.com`, region `auto`, and
    /// lists the buckets of the key's service-account project (which must hold
    /// `storage.buckets.list`); its errors use S3's codes. The tests run against moto with
    /// `endpoint` set, which checks the signature the same way but knows nothing of projects.
    Gcs,
}

impl Store {
    fn engine(self) -> &'static str {
        match self {
            Store::S3 => "S3",
            Store::Gcs => "GCS",
        }
    }

    fn default_region(self) -> &'static str {
        match self {
            Store::S3 => "us-east-1",
            Store::Gcs => "auto",
        }
    }

    fn default_endpoint(self, region: &str) -> String {
        match self {
            Store::S3 => format!("https://s3.{region}.amazonaws.com"),
            Store::Gcs => "https://storage.googleapis.com".to_owned(),
        }
    }
}

#[derive(Deserialize)]
struct AccessKey {
    access_key_id: String,
    secret_access_key: SecretString,
    session_token: Option<SecretString>,
    region: Option<String>,
    endpoint: Option<String>,
}

pub(crate) async fn test(
    store: Store,
    document: &SecretString,
    timeout: Duration,
    tls: &TlsConfigs,
) -> Result<(), TestFailure> {
    let engine = store.engine();
    let key: AccessKey =
        serde_json::from_str(document.expose_secret()).map_err(|_| incomplete(engine))?;
    let region = key.region.as_deref().unwrap_or(store.default_region());
    if region.is_empty()
        || !region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(invalid(format!("the {engine} region is not a region name")));
    }
    let endpoint = key
        .endpoint
        .clone()
        .unwrap_or_else(|| store.default_endpoint(region));
    let endpoint: Uri = endpoint
        .parse()
        .map_err(|_| invalid(format!("the {engine} endpoint is not a URL")))?;
    let secure = match endpoint.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => {
            return Err(invalid(format!(
                "the {engine} endpoint is not an http(s) URL"
            )));
        }
    };
    let Some(host) = endpoint.host() else {
        return Err(invalid(format!("the {engine} endpoint names no host")));
    };
    let server = Server {
        host,
        port: endpoint.port_u16().unwrap_or(if secure { 443 } else { 80 }),
        tls: secure.then_some(&tls.verify_full),
    };
    // ListBuckets is a GET of the service's root, under any path the endpoint has.
    let path = format!("{}/", endpoint.path().trim_end_matches('/'));
    let scheme = if secure { "https" } else { "http" };
    let authority = server.authority();
    let url = format!("{scheme}://{authority}{path}");
    let mut request = Request::get(path)
        .header(HOST, &authority)
        .body(Empty::new())
        .map_err(|_| invalid(format!("the {engine} endpoint is not a URL")))?;
    let credentials = Credentials::new(
        &key.access_key_id,
        key.secret_access_key.expose_secret(),
        key.session_token
            .as_ref()
            .map(|t| t.expose_secret().to_owned()),
        None,
        "strongroom-connection-test",
    );
    let identity = credentials.into();
    let mut settings = SigningSettings::default();
    // S3's variant of SigV4: a payload hash header, the path signed as sent.
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    let signing_failed = |_| {
        failure(
            FailureKind::InvalidSettings,
            Origin::Strongroom,
            format!("a request to {engine} could not be signed with the stored key"),
        )
    };
    let params: SigningParams<'_> = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("s3")
        .time(SystemTime::now())
        .settings(settings)
        .build()
        .map_err(|_| invalid(format!("the {engine} key is incomplete")))?
        .into();
    let signable = SignableRequest::new(
        "GET",
        url,
        std::iter::once(("host", authority.as_str())),
        SignableBody::Bytes(&[]),
    )
    .map_err(signing_failed)?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(signing_failed)?
        .into_parts();
    instructions.apply_to_request_http1x(&mut request);
    let target = server.target();
    let reply = within(timeout, &target, exchange(&server, request)).await?;
    judge(
        &reply,
        engine,
        &[Some(&key.secret_access_key), key.session_token.as_ref()],
    )
}

fn invalid(detail: String) -> TestFailure {
    failure(FailureKind::InvalidSettings, Origin::Strongroom, detail)
}

/// Passes on a ListBuckets result; an error says the store's code and message.
fn judge(
    reply: &Reply,
    engine: &str,
    secrets: &[Option<&SecretString>],
) -> Result<(), TestFailure> {
    if reply.status == StatusCode::OK && reply.body.contains("<ListAllMyBucketsResult") {
        return Ok(());
    }
    let code = element(&reply.body, "Code");
    let kind = match (code, reply.status) {
        (
            Some(
                "InvalidAccessKeyId"
                | "InvalidClientTokenId"
                | "SignatureDoesNotMatch"
                | "InvalidToken"
                | "ExpiredToken"
                | "TokenRefreshRequired",
            ),
            _,
        ) => FailureKind::Authentication,
        (Some("AccessDenied" | "AllAccessDisabled" | "AccountProblem"), _) => {
            FailureKind::PermissionDenied
        }
        (_, StatusCode::UNAUTHORIZED) => FailureKind::Authentication,
        (_, StatusCode::FORBIDDEN) => FailureKind::PermissionDenied,
        _ => FailureKind::Other,
    };
    let detail = match (code, element(&reply.body, "Message")) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        _ => format!("{engine} answered HTTP {} to ListBuckets", reply.status),
    };
    Err(failure(
        kind,
        Origin::Warehouse,
        server_said(&detail, secrets),
    ))
}

/// The text of the first `<name>…</name>` of an XML error.
fn element<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{name}>"))? + start;
    Some(xml[start..end].trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_read_from_the_xml_the_store_sends() {
        let xml = "<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code>\
                   <Message>The request signature we calculated does not match</Message>\
                   <StringToSign>AWS4-HMAC-SHA256…</StringToSign></Error>";
        assert_eq!(element(xml, "Code"), Some("SignatureDoesNotMatch"));
        assert_eq!(
            element(xml, "Message"),
            Some("The request signature we calculated does not match")
        );
        assert_eq!(element(xml, "Bucket"), None);
    }
}
