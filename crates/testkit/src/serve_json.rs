//! The JSON 1.1 side of [`crate::serve`]: CloudTrail `ListPublicKeys` and `DescribeTrails`,
//! Organizations `DescribeOrganization`. The files behind them are read on every request.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use axum::body::Body;
use axum::extract::Request;
use axum::http::{Response, StatusCode};
use serde_json::{Value, json};

use crate::serve::{AppState, response};

/// botocore's `X-Amz-Target` prefix (`targetPrefix` in its model).
const CLOUDTRAIL: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.";
/// The AWS SDK for Rust's (the Smithy service shape name); AWS accepts both.
const CLOUDTRAIL_SHORT: &str = "CloudTrail_20131101.";
const ORGANIZATIONS: &str = "AWSOrganizationsV20161128.";
const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

struct JsonError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl JsonError {
    fn client(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code,
            message: message.into(),
        }
    }

    fn internal(e: &anyhow::Error) -> Self {
        eprintln!("sealtrail-testkit serve: internal error: {e:#}");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "InternalFailure",
            message: format!("{e:#}"),
        }
    }
}

pub(crate) async fn handle(state: &Arc<AppState>, req: Request) -> Response<Body> {
    let target = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let rid = state.request_id();
    let result = match axum::body::to_bytes(req.into_body(), 1 << 20).await {
        Err(e) => Err(JsonError::client("SerializationException", e.to_string())),
        Ok(bytes) => dispatch(state, &target, &bytes),
    };
    let headers = [
        ("content-type", CONTENT_TYPE),
        ("x-amzn-requestid", rid.as_str()),
    ];
    match result {
        Ok(v) => response(StatusCode::OK, &headers, v.to_string().into_bytes()),
        Err(e) => response(
            e.status,
            &headers,
            json!({"__type": e.code, "message": e.message})
                .to_string()
                .into_bytes(),
        ),
    }
}

fn dispatch(state: &AppState, target: &str, body: &[u8]) -> Result<Value, JsonError> {
    let input: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(body)
            .map_err(|e| JsonError::client("SerializationException", e.to_string()))?
    };
    if let Some(op) = target
        .strip_prefix(CLOUDTRAIL)
        .or_else(|| target.strip_prefix(CLOUDTRAIL_SHORT))
    {
        return match op {
            "ListPublicKeys" => list_public_keys(state, &input),
            "DescribeTrails" => describe_trails(state, &input),
            _ => Err(unknown(target)),
        };
    }
    if let Some(op) = target.strip_prefix(ORGANIZATIONS) {
        return match (op, &state.organization_id) {
            ("DescribeOrganization", Some(id)) => Ok(json!({"Organization": {
                "Id": id,
                "Arn": format!("arn:aws:organizations::000000000000:organization/{id}"),
                "FeatureSet": "ALL",
                "MasterAccountId": "000000000000",
                "AvailablePolicyTypes": [],
            }})),
            ("DescribeOrganization", None) => Err(JsonError::client(
                "AWSOrganizationsNotInUseException",
                "Your account is not a member of an organization.",
            )),
            _ => Err(unknown(target)),
        };
    }
    Err(unknown(target))
}

fn unknown(target: &str) -> JsonError {
    JsonError::client(
        "UnknownOperationException",
        format!("sealtrail-testkit serve does not implement {target}"),
    )
}

/// A JSON timestamp as epoch seconds: a number, or a string (ISO 8601 or a number).
fn epoch(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse::<f64>().ok().or_else(|| {
            let ts: jiff::Timestamp = s.parse().ok()?;
            Some(ts.as_second() as f64 + f64::from(ts.subsec_nanosecond()) / 1e9)
        }),
        _ => None,
    }
}

fn list_public_keys(state: &AppState, input: &Value) -> Result<Value, JsonError> {
    let start = input
        .get("StartTime")
        .map(|v| {
            epoch(v).ok_or_else(|| {
                JsonError::client("SerializationException", "StartTime is not a timestamp")
            })
        })
        .transpose()?;
    let end = input
        .get("EndTime")
        .map(|v| {
            epoch(v).ok_or_else(|| {
                JsonError::client("SerializationException", "EndTime is not a timestamp")
            })
        })
        .transpose()?;
    if let (Some(s), Some(e)) = (start, end)
        && s > e
    {
        return Err(JsonError::client(
            "InvalidTimeRangeException",
            "Start time must be before end time.",
        ));
    }
    let keys = match &state.public_keys {
        Some(p) => read_public_keys(p).map_err(|e| JsonError::internal(&e))?,
        None => vec![],
    };
    Ok(json!({ "PublicKeyList": keys }))
}

fn describe_trails(state: &AppState, input: &Value) -> Result<Value, JsonError> {
    let trails = match &state.trails {
        Some(p) => read_trails(p).map_err(|e| JsonError::internal(&e))?,
        None => vec![],
    };
    let names: Vec<&str> = input
        .get("trailNameList")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let trails: Vec<Value> = trails
        .into_iter()
        .filter(|t| {
            names.is_empty()
                || names.iter().any(|n| {
                    t.get("Name").and_then(Value::as_str) == Some(n)
                        || t.get("TrailARN").and_then(Value::as_str) == Some(n)
                })
        })
        .collect();
    Ok(json!({ "trailList": trails }))
}

/// Reads a ListPublicKeys JSON file as `aws cloudtrail list-public-keys` prints it: v1 (epoch
/// numbers) or v2 (ISO strings); `{"PublicKeyList": [...]}` or a bare list. Returns the keys as
/// the wire carries them (epoch numbers).
///
/// # Errors
/// An unreadable file, or one that is not of that shape.
pub(crate) fn read_public_keys(path: &Path) -> anyhow::Result<Vec<Value>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let doc: Value =
        serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", path.display()))?;
    let list = match &doc {
        Value::Array(a) => a,
        Value::Object(o) => match o.get("PublicKeyList") {
            Some(Value::Array(a)) => a,
            _ => bail!("{}: no PublicKeyList array", path.display()),
        },
        _ => bail!("{}: not a ListPublicKeys document", path.display()),
    };
    let mut out = Vec::with_capacity(list.len());
    for (i, k) in list.iter().enumerate() {
        let mut entry = serde_json::Map::new();
        for field in ["Value", "Fingerprint"] {
            match k.get(field) {
                Some(Value::String(s)) => {
                    entry.insert(field.to_owned(), Value::String(s.clone()));
                }
                _ => bail!("{}: key {i} has no string {field}", path.display()),
            }
        }
        for field in ["ValidityStartTime", "ValidityEndTime"] {
            if let Some(v) = k.get(field) {
                let secs = epoch(v).with_context(|| {
                    format!("{}: key {i}: {field} is not a timestamp", path.display())
                })?;
                entry.insert(field.to_owned(), json!(secs));
            }
        }
        out.push(Value::Object(entry));
    }
    Ok(out)
}

/// Reads a DescribeTrails JSON file: `{"trailList": [...]}` or a bare list.
///
/// # Errors
/// An unreadable file, or one that is not of that shape.
pub(crate) fn read_trails(path: &Path) -> anyhow::Result<Vec<Value>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let doc: Value =
        serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", path.display()))?;
    match doc {
        Value::Array(a) => Ok(a),
        Value::Object(mut o) => match o.remove("trailList") {
            Some(Value::Array(a)) => Ok(a),
            _ => bail!("{}: no trailList array", path.display()),
        },
        _ => bail!("{}: not a DescribeTrails document", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs() {
        assert_eq!(epoch(&json!(1_767_917_100.0)), Some(1_767_917_100.0));
        assert_eq!(
            epoch(&json!("2026-01-09T00:05:00+00:00")),
            Some(1_767_917_100.0)
        );
        assert_eq!(epoch(&json!("2026-01-09T00:05:00Z")), Some(1_767_917_100.0));
        assert_eq!(epoch(&json!(null)), None);
    }
}
