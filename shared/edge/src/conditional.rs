//! Conditional requests (RFC 9110 §13): entity tags, the `If-Match` and `If-None-Match` a
//! request sends, and whether they hold on a resource's current tag.

use std::fmt;

use credential_model::validation::{FieldErrors, Problem};
use lambda_http::Request;
use lambda_http::http::header::{ETAG, HeaderMap, HeaderName, IF_MATCH, IF_NONE_MATCH};
use lambda_http::http::{HeaderValue, Method};

use crate::Rejection;

/// What a malformed precondition header should have been.
const TAG_LIST: &str = "`*` or a comma-separated list of quoted entity tags (`\"3\"`, `W/\"3\"`)";

/// An entity tag (RFC 9110 §8.8.3): an opaque quoted string, weak when prefixed `W/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityTag {
    weak: bool,
    opaque: Vec<u8>,
}

impl EntityTag {
    /// The strong tag of a resource's version number: `"<version>"`.
    pub fn of_version(version: u64) -> Self {
        EntityTag {
            weak: false,
            opaque: version.to_string().into_bytes(),
        }
    }

    pub fn is_weak(&self) -> bool {
        self.weak
    }

    /// Strong comparison (§8.8.3.2): both strong, the same opaque tag. What `If-Match` uses.
    fn strong_match(&self, other: &EntityTag) -> bool {
        !self.weak && !other.weak && self.opaque == other.opaque
    }

    /// Weak comparison: the same opaque tag, weak or not. What `If-None-Match` uses.
    fn weak_match(&self, other: &EntityTag) -> bool {
        self.opaque == other.opaque
    }

    /// Sets this tag as the response's `ETag`.
    pub fn set_on(&self, headers: &mut HeaderMap) {
        // Every byte of a tag is visible ASCII or obs-text, which a header value allows.
        if let Ok(value) = HeaderValue::from_bytes(self.to_string().as_bytes()) {
            headers.insert(ETAG, value);
        }
    }
}

impl fmt::Display for EntityTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = if self.weak { "W/" } else { "" };
        write!(f, "{prefix}\"{}\"", String::from_utf8_lossy(&self.opaque))
    }
}

/// What an `If-Match` or `If-None-Match` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagCondition {
    /// `*`: any current representation.
    Any,
    Tags(Vec<EntityTag>),
}

impl TagCondition {
    /// Whether `current` is named, by `compare`.
    fn names(&self, current: &EntityTag, compare: fn(&EntityTag, &EntityTag) -> bool) -> bool {
        match self {
            TagCondition::Any => true,
            TagCondition::Tags(tags) => tags.iter().any(|tag| compare(tag, current)),
        }
    }
}

/// What to do with a request whose preconditions were evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// Go on with the request.
    Holds,
    /// A `GET` or `HEAD` whose `If-None-Match` names the current tag: answer `304`.
    NotModified,
    /// Answer `412`: the precondition of `header` (`If-Match` or `If-None-Match`) is false.
    Failed { header: &'static str },
}

/// The entity-tag preconditions of a request (dates are not used: a version says more).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preconditions {
    pub if_match: Option<TagCondition>,
    pub if_none_match: Option<TagCondition>,
}

impl Preconditions {
    /// The request's `If-Match` and `If-None-Match`; a malformed one is a `400` naming it.
    pub fn read(request: &Request) -> Result<Self, Rejection> {
        Ok(Preconditions {
            if_match: read_condition(request.headers(), IF_MATCH, "If-Match")?,
            if_none_match: read_condition(request.headers(), IF_NONE_MATCH, "If-None-Match")?,
        })
    }

    /// RFC 9110 §13.2.2 for a resource that exists with the tag `current`: `If-Match` first
    /// (strong comparison, so a weak tag never matches), then `If-None-Match` (weak
    /// comparison; `*` names any existing resource). A false condition is a `412`, except a
    /// false `If-None-Match` on `GET`/`HEAD`, which is [`Precondition::NotModified`].
    pub fn evaluate(&self, current: &EntityTag, method: &Method) -> Precondition {
        if let Some(condition) = &self.if_match
            && !condition.names(current, EntityTag::strong_match)
        {
            return Precondition::Failed { header: "If-Match" };
        }
        if let Some(condition) = &self.if_none_match
            && condition.names(current, EntityTag::weak_match)
        {
            return if method == Method::GET || method == Method::HEAD {
                Precondition::NotModified
            } else {
                Precondition::Failed {
                    header: "If-None-Match",
                }
            };
        }
        Precondition::Holds
    }
}

/// The header `name` (spelled `spelled` in a problem naming it), its field lines combined as
/// one list (RFC 9110 §5.3); `None` when the request does not send it.
fn read_condition(
    headers: &HeaderMap,
    name: HeaderName,
    spelled: &str,
) -> Result<Option<TagCondition>, Rejection> {
    let mut lines = headers.get_all(&name).iter().peekable();
    if lines.peek().is_none() {
        return Ok(None);
    }
    let combined = lines
        .map(HeaderValue::as_bytes)
        .collect::<Vec<_>>()
        .join(&b","[..]);
    let Some(condition) = parse_condition(&combined) else {
        let mut errors = FieldErrors::new();
        errors.push(spelled, Problem::Malformed { expected: TAG_LIST });
        return Err(Rejection::from(errors));
    };
    Ok(Some(condition))
}

/// `"*" / 1#entity-tag`: empty list elements are skipped (§5.6.1); a list with no tag at all
/// is refused as malformed rather than read as naming nothing.
fn parse_condition(value: &[u8]) -> Option<TagCondition> {
    if value.trim_ascii() == b"*" {
        return Some(TagCondition::Any);
    }
    let mut tags = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_ascii_start();
        if let Some(after_comma) = rest.strip_prefix(b",") {
            rest = after_comma;
            continue;
        }
        if rest.is_empty() {
            break;
        }
        let (tag, after) = parse_tag(rest)?;
        tags.push(tag);
        rest = after.trim_ascii_start();
        if !rest.is_empty() && !rest.starts_with(b",") {
            return None;
        }
    }
    (!tags.is_empty()).then_some(TagCondition::Tags(tags))
}

/// `[ "W/" ] DQUOTE *etagc DQUOTE`, with `etagc = %x21 / %x23-7E / obs-text`: the tag and what
/// follows it.
fn parse_tag(text: &[u8]) -> Option<(EntityTag, &[u8])> {
    let (weak, quoted) = match text.strip_prefix(b"W/") {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let inner = quoted.strip_prefix(b"\"")?;
    let end = inner.iter().position(|&byte| byte == b'"')?;
    let opaque = &inner[..end];
    let etagc = |byte: &u8| matches!(byte, 0x21 | 0x23..=0x7E | 0x80..=0xFF);
    if !opaque.iter().all(etagc) {
        return None;
    }
    let tag = EntityTag {
        weak,
        opaque: opaque.to_vec(),
    };
    Some((tag, &inner[end + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::Body;
    use lambda_http::http;

    fn strong(opaque: &str) -> EntityTag {
        EntityTag {
            weak: false,
            opaque: opaque.as_bytes().to_vec(),
        }
    }

    fn weak(opaque: &str) -> EntityTag {
        EntityTag {
            weak: true,
            opaque: opaque.as_bytes().to_vec(),
        }
    }

    fn request(method: &str, headers: &[(&str, &str)]) -> Request {
        let mut builder = http::Request::builder().method(method).uri("/x");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(Body::Empty).expect("valid request")
    }

    fn evaluate(
        method: &str,
        headers: &[(&str, &str)],
        version: u64,
    ) -> Result<Precondition, Rejection> {
        let request = request(method, headers);
        let preconditions = Preconditions::read(&request)?;
        Ok(preconditions.evaluate(&EntityTag::of_version(version), request.method()))
    }

    /// What the evaluation says, in one word: `holds`, `not-modified`, or the header refused.
    fn outcome(method: &str, headers: &[(&str, &str)], version: u64) -> &'static str {
        match evaluate(method, headers, version) {
            Ok(Precondition::Holds) => "holds",
            Ok(Precondition::NotModified) => "not-modified",
            Ok(Precondition::Failed { header }) => header,
            Err(_) => "a rejection",
        }
    }

    #[test]
    fn a_version_is_a_strong_quoted_tag() {
        let tag = EntityTag::of_version(42);
        assert_eq!(tag.to_string(), "\"42\"");
        assert!(!tag.is_weak());
        let mut headers = HeaderMap::new();
        tag.set_on(&mut headers);
        assert_eq!(
            headers.get(ETAG).map(HeaderValue::as_bytes),
            Some(&b"\"42\""[..])
        );
    }

    #[test]
    fn lists_stars_and_weak_tags_parse() {
        assert_eq!(parse_condition(b" * "), Some(TagCondition::Any));
        assert_eq!(
            parse_condition(b"\"1\""),
            Some(TagCondition::Tags(vec![strong("1")]))
        );
        assert_eq!(
            parse_condition(b" , \"1\",W/\"2\" ,, \"\" ,"),
            Some(TagCondition::Tags(vec![strong("1"), weak("2"), strong("")]))
        );
    }

    #[test]
    fn anything_else_is_malformed() {
        for text in [
            "",
            " ",
            ",",
            "3",
            "'3'",
            "\"3",
            "\"3\" \"4\"",
            "\"3\"x",
            "w/\"3\"",
            "W/ \"3\"",
            "*, \"3\"",
            "\"3\", *",
            "\"a\"b\"",
            "**",
        ] {
            assert_eq!(parse_condition(text.as_bytes()), None, "{text:?}");
        }
    }

    #[test]
    fn a_malformed_header_is_a_400_naming_it() {
        for name in ["If-Match", "If-None-Match"] {
            let rejection =
                Preconditions::read(&request("PUT", &[(name, "3")])).expect_err("malformed");
            assert_eq!(rejection.status(), http::StatusCode::BAD_REQUEST);
            let errors = rejection.field_errors().expect("field errors");
            assert_eq!(
                errors.first().map(|e| e.path.to_string()),
                Some(name.to_owned())
            );
        }
    }

    #[test]
    fn repeated_field_lines_are_one_list() {
        let request = request("PUT", &[("if-match", "\"1\""), ("if-match", "\"2\"")]);
        let read = Preconditions::read(&request).expect("well formed");
        assert_eq!(
            read.if_match,
            Some(TagCondition::Tags(vec![strong("1"), strong("2")]))
        );
        assert_eq!(read.if_none_match, None);
    }

    #[test]
    fn if_match_compares_strongly() {
        for (method, if_match, expected) in [
            ("PUT", "\"3\"", "holds"),
            ("PUT", "\"2\", \"3\"", "holds"),
            ("PUT", "*", "holds"),
            ("PUT", "\"2\"", "If-Match"),
            ("PUT", "W/\"3\"", "If-Match"),
            ("GET", "\"2\"", "If-Match"),
        ] {
            assert_eq!(
                outcome(method, &[("if-match", if_match)], 3),
                expected,
                "{method} {if_match}"
            );
        }
        assert_eq!(outcome("PUT", &[], 3), "holds");
    }

    #[test]
    fn if_none_match_compares_weakly_and_is_304_only_on_reads() {
        for (method, if_none_match, expected) in [
            ("GET", "\"3\"", "not-modified"),
            ("GET", "W/\"3\"", "not-modified"),
            ("HEAD", "*", "not-modified"),
            ("GET", "\"2\"", "holds"),
            ("PUT", "\"2\"", "holds"),
            ("PUT", "*", "If-None-Match"),
            ("POST", "\"3\"", "If-None-Match"),
        ] {
            let headers = [("if-none-match", if_none_match)];
            assert_eq!(
                outcome(method, &headers, 3),
                expected,
                "{method} {if_none_match}"
            );
        }
    }

    #[test]
    fn if_match_is_evaluated_before_if_none_match() {
        let both = [("if-match", "\"2\""), ("if-none-match", "\"3\"")];
        assert_eq!(outcome("GET", &both, 3), "If-Match");
    }
}
