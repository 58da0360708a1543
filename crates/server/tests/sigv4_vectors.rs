//! SigV4 verification against published and generated vectors
//! (`testdata/vectors/sigv4/`, rebuilt by its `regenerate.sh`):
//! - AWS's SigV4 test suite (header-signed cases): the canonical request, the string to
//!   sign and the signature must be AWS's, and the verifier must accept the signed request;
//! - requests signed by botocore's `SigV4Auth`: the same, plus the verifier's answers when
//!   the request is tampered with.

use std::path::{Path, PathBuf};

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use sealtrail_model::UtcTime;
use sealtrail_server::sigv4::{
    self, AuthError, CredentialSource, Expectation, RequestParts, UriEncoding, Verifier,
};

const AKID: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

struct Example;
impl CredentialSource for Example {
    type Entry = ();
    fn lookup(&self, access_key_id: &str) -> Option<(&str, &())> {
        (access_key_id == AKID).then_some((SECRET, &()))
    }
}

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/vectors/sigv4")
}

/// A request parsed from the suite's `header-signed-request.txt`.
struct Parsed {
    method: String,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    body: Vec<u8>,
}

fn parse_request(text: &str) -> Parsed {
    let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut lines = head.lines();
    let request_line = lines.next().unwrap();
    let (method, rest) = request_line.split_once(' ').unwrap();
    let target = rest.strip_suffix(" HTTP/1.1").unwrap_or(rest);
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
        None => (target.to_owned(), None),
    };
    // Header lines; a line starting with white space continues the previous value
    // (obs-fold), which HTTP/1.1 parsers unfold to a space.
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            fields
                .last_mut()
                .unwrap()
                .1
                .push_str(&format!(" {}", line.trim()));
        } else {
            let (name, value) = line.split_once(':').unwrap();
            fields.push((name.to_owned(), value.to_owned()));
        }
    }
    let mut headers = HeaderMap::new();
    for (name, value) in fields {
        headers.append(
            HeaderName::from_bytes(name.trim().as_bytes()).unwrap(),
            HeaderValue::from_str(&value).unwrap(),
        );
    }
    Parsed {
        method: method.to_owned(),
        path,
        query,
        headers,
        body: body.trim_end_matches('\n').as_bytes().to_vec(),
    }
}

/// Percent-encodes a path once as a client sends it (unreserved characters and `/` kept).
fn encode_path_once(path: &str) -> String {
    let mut out = String::new();
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[test]
fn aws_sigv4_test_suite() {
    let dir = vectors().join("aws");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 38,
        "found {} cases in {}",
        cases.len(),
        dir.display()
    );
    let mut verified = 0;
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let read = |f: &str| std::fs::read_to_string(case.join(f)).unwrap();
        let context: serde_json::Value = serde_json::from_str(&read("context.json")).unwrap();
        let request = parse_request(&read("header-signed-request.txt"));
        let normalize = context["normalize"].as_bool().unwrap();
        // "normalize: false" is S3's rule: the path as sent, which a client sends encoded once.
        let (path, uri) = if normalize {
            (request.path.clone(), UriEncoding::Normalized)
        } else {
            (encode_path_once(&request.path), UriEncoding::Raw)
        };
        let auth = request.headers["authorization"]
            .to_str()
            .unwrap()
            .to_owned();
        let parsed = sigv4::parse_authorization(&auth, true).unwrap();
        let sign_body = context["sign_body"].as_bool().unwrap();
        let payload_hash = if sign_body || request.headers.contains_key("x-amz-content-sha256") {
            sigv4::sha256_hex(&request.body)
        } else {
            sigv4::EMPTY_SHA256.to_owned()
        };
        let parts = RequestParts {
            method: &request.method,
            path: &path,
            query: request.query.as_deref(),
            headers: &request.headers,
            body: &request.body,
        };
        let canonical = sigv4::canonical_request(&parts, parsed.signed_headers, &payload_hash, uri);
        assert_eq!(
            canonical,
            read("header-canonical-request.txt"),
            "{name}: canonical request"
        );
        let timestamp = request.headers["x-amz-date"].to_str().unwrap();
        let to_sign = sigv4::string_to_sign(timestamp, parsed.credential, &canonical);
        assert_eq!(
            to_sign,
            read("header-string-to-sign.txt"),
            "{name}: string to sign"
        );
        let key = sigv4::signing_key(SECRET, parsed.date, parsed.region, parsed.service);
        let tag = aws_lc_rs::hmac::sign(
            &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key.as_ref()),
            to_sign.as_bytes(),
        );
        assert_eq!(
            hex::encode(tag.as_ref()),
            read("header-signature.txt").trim(),
            "{name}: signature"
        );

        // The whole verifier, at the suite's time. The suite signs GET bodies as empty even
        // when a body is present only for the x-www-form-urlencoded cases, which send the
        // body's hash in x-amz-content-sha256, so the verifier's own payload rule agrees.
        let now = UtcTime::parse_compact(timestamp).unwrap();
        let expect = Expectation {
            region: "us-east-1",
            service: Some("service"),
            now,
            uri,
        };
        let result = Verifier::new().verify(&parts, &expect, &Example);
        if request.headers.contains_key("x-amz-security-token") {
            assert_eq!(result.unwrap_err(), AuthError::SessionToken, "{name}");
        } else {
            result.unwrap_or_else(|e| panic!("{name}: {e}"));
            verified += 1;
        }
    }
    assert!(verified >= 35, "{verified}");
}

#[test]
fn botocore_signed_requests() {
    let text = std::fs::read_to_string(vectors().join("botocore.json")).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["access_key_id"], AKID);
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 7);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            "host",
            HeaderValue::from_str(case["host"].as_str().unwrap()).unwrap(),
        );
        for pair in case["headers"].as_array().unwrap() {
            let k = pair[0].as_str().unwrap();
            let v = pair[1].as_str().unwrap();
            headers.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        let body = case["body"].as_str().unwrap().as_bytes().to_vec();
        let parts = RequestParts {
            method: case["method"].as_str().unwrap(),
            path: case["path"].as_str().unwrap(),
            query: case["query"].as_str(),
            headers: &headers,
            body: &body,
        };
        let auth = headers["authorization"].to_str().unwrap().to_owned();
        let parsed = sigv4::parse_authorization(&auth, true).unwrap();
        let canonical = sigv4::canonical_request(
            &parts,
            parsed.signed_headers,
            &sigv4::sha256_hex(&body),
            UriEncoding::Normalized,
        );
        assert_eq!(
            canonical,
            case["canonical_request"].as_str().unwrap(),
            "{name}"
        );
        let now = UtcTime::parse_compact(case["timestamp"].as_str().unwrap()).unwrap();
        let service = case["service"].as_str().unwrap();
        let region = case["region"].as_str().unwrap();
        let verify = |parts: &RequestParts<'_>, region: &str, service: &str, now: UtcTime| {
            let expect = Expectation {
                region,
                service: Some(service),
                now,
                uri: UriEncoding::Normalized,
            };
            Verifier::new().verify(parts, &expect, &Example).map(|_| ())
        };
        verify(&parts, region, service, now).unwrap_or_else(|e| panic!("{name}: {e}"));

        // Negative cases on every vector.
        let mut tampered_body = body.clone();
        tampered_body.push(b' ');
        let p = RequestParts {
            body: &tampered_body,
            ..parts
        };
        let expected = if headers.contains_key("x-amz-content-sha256") {
            AuthError::PayloadHashMismatch
        } else {
            AuthError::SignatureMismatch
        };
        assert_eq!(
            verify(&p, region, service, now),
            Err(expected),
            "{name}: body"
        );
        let mut h = headers.clone();
        h.insert("x-amz-date", HeaderValue::from_static("20260110T120001Z"));
        assert_eq!(
            verify(
                &RequestParts {
                    headers: &h,
                    ..parts
                },
                region,
                service,
                now
            ),
            Err(AuthError::SignatureMismatch),
            "{name}: date"
        );
        let mut h = headers.clone();
        h.insert("accept-encoding", HeaderValue::from_static("identity"));
        h.insert("user-agent", HeaderValue::from_static("other"));
        verify(
            &RequestParts {
                headers: &h,
                ..parts
            },
            region,
            service,
            now,
        )
        .unwrap_or_else(|e| panic!("{name}: unsigned headers changed: {e}"));
        let mut h = headers.clone();
        h.insert("host", HeaderValue::from_static("127.0.0.1:4567"));
        assert_eq!(
            verify(
                &RequestParts {
                    headers: &h,
                    ..parts
                },
                region,
                service,
                now
            ),
            Err(AuthError::SignatureMismatch),
            "{name}: host"
        );
        assert!(matches!(
            verify(&parts, "us-west-2", service, now),
            Err(AuthError::WrongRegion(r)) if r == region
        ));
        assert!(matches!(
            verify(&parts, region, "sts", now),
            Err(AuthError::WrongService { .. })
        ));
        assert!(matches!(
            verify(&parts, region, service, now.plus_seconds(15 * 60 + 1)),
            Err(AuthError::Expired { .. })
        ));
        assert!(matches!(
            verify(&parts, region, service, now.plus_seconds(-15 * 60 - 1)),
            Err(AuthError::NotYetCurrent { .. })
        ));
        let wrong_secret = sigv4::signing_key("wrong", parsed.date, region, service);
        assert_ne!(
            *wrong_secret,
            *sigv4::signing_key(SECRET, parsed.date, region, service)
        );
        let mut h = headers.clone();
        let other_key = auth.replace(AKID, "AKIDOTHER");
        h.insert("authorization", HeaderValue::from_str(&other_key).unwrap());
        assert_eq!(
            verify(
                &RequestParts {
                    headers: &h,
                    ..parts
                },
                region,
                service,
                now
            ),
            Err(AuthError::UnknownAccessKey("AKIDOTHER".to_owned()))
        );
        let mut h = headers.clone();
        let bad_sig = format!("{}0", &auth[..auth.len() - 1]);
        let bad_sig = if bad_sig == auth {
            format!("{}1", &auth[..auth.len() - 1])
        } else {
            bad_sig
        };
        h.insert("authorization", HeaderValue::from_str(&bad_sig).unwrap());
        assert_eq!(
            verify(
                &RequestParts {
                    headers: &h,
                    ..parts
                },
                region,
                service,
                now
            ),
            Err(AuthError::SignatureMismatch),
            "{name}: signature"
        );
    }
}
