//! `Limit` / `Marker` / `NextMarker` / `Truncated` pagination, as AWS KMS pages its lists.
//!
//! Lists are in a stable order (key ids, alias names, tag keys, material versions). A marker
//! is opaque to clients: standard base64 of `<list kind> LF <sort key of the last item
//! returned>`; the next page starts after that sort key, so items added or removed between
//! pages neither repeat nor shift the rest. A marker of another list, or one that does not
//! decode, is `InvalidMarkerException`.

use base64::Engine as _;

use crate::KmsError;
use crate::ops::{Page, PageRequest};
use crate::validate::{self, Checker};

/// Checks `Limit` (1 to 1000) and `Marker` (1 to 1024 characters of U+0020 to U+00FF).
pub(crate) fn check(c: &mut Checker, req: &PageRequest) {
    c.range("limit", req.limit, 1, 1000);
    c.length("marker", req.marker.as_deref(), 1, 1024);
    c.pattern(
        "marker",
        req.marker.as_deref(),
        "[\\u0020-\\u00FF]*",
        validate::is_marker_chars,
    );
}

fn encode(kind: &str, last: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{kind}\n{last}"))
}

fn decode(kind: &str, marker: &str) -> Result<String, KmsError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(marker)
        .map_err(|_| KmsError::InvalidMarker)?;
    let text = String::from_utf8(bytes).map_err(|_| KmsError::InvalidMarker)?;
    let (k, last) = text.split_once('\n').ok_or(KmsError::InvalidMarker)?;
    if k != kind {
        return Err(KmsError::InvalidMarker);
    }
    Ok(last.to_owned())
}

/// One page of `items` (sorted ascending by their sort key, which is unique).
///
/// # Errors
/// [`KmsError::InvalidMarker`] for a marker this list did not issue.
pub(crate) fn page<T>(
    kind: &str,
    items: impl IntoIterator<Item = (String, T)>,
    req: &PageRequest,
    default_limit: usize,
) -> Result<Page<T>, KmsError> {
    let after = req.marker.as_deref().map(|m| decode(kind, m)).transpose()?;
    let limit = req
        .limit
        .and_then(|l| usize::try_from(l).ok())
        .unwrap_or(default_limit)
        .max(1);
    let mut out = Vec::new();
    let mut last_key = None;
    let mut truncated = false;
    for (key, item) in items {
        if after.as_deref().is_some_and(|a| key.as_str() <= a) {
            continue;
        }
        if out.len() == limit {
            truncated = true;
            break;
        }
        out.push(item);
        last_key = Some(key);
    }
    let next_marker = match (truncated, last_key) {
        (true, Some(k)) => Some(encode(kind, &k)),
        _ => None,
    };
    Ok(Page {
        items: out,
        next_marker,
        truncated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(n: usize) -> Vec<(String, usize)> {
        (0..n).map(|i| (format!("k{i:03}"), i)).collect()
    }

    #[test]
    fn pages_cover_everything_once() {
        let mut seen = Vec::new();
        let mut req = PageRequest {
            limit: Some(3),
            marker: None,
        };
        loop {
            let p = page("keys", items(10), &req, 100).unwrap();
            seen.extend(p.items.iter().copied());
            if !p.truncated {
                assert!(p.next_marker.is_none());
                break;
            }
            req.marker = p.next_marker;
        }
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn exact_fit_is_not_truncated() {
        let p = page(
            "keys",
            items(3),
            &PageRequest {
                limit: Some(3),
                marker: None,
            },
            100,
        )
        .unwrap();
        assert_eq!(p.items.len(), 3);
        assert!(!p.truncated);
        let d = page("keys", items(150), &PageRequest::default(), 100).unwrap();
        assert_eq!(d.items.len(), 100);
        assert!(d.truncated);
    }

    #[test]
    fn foreign_or_broken_markers() {
        let p = page(
            "keys",
            items(5),
            &PageRequest {
                limit: Some(1),
                marker: None,
            },
            100,
        )
        .unwrap();
        let m = p.next_marker.unwrap();
        let other = PageRequest {
            limit: None,
            marker: Some(m),
        };
        assert_eq!(
            page("aliases", items(5), &other, 100).unwrap_err(),
            KmsError::InvalidMarker
        );
        for bad in ["!!!", "aGVsbG8="] {
            let r = PageRequest {
                limit: None,
                marker: Some(bad.into()),
            };
            assert_eq!(
                page("keys", items(5), &r, 100).unwrap_err(),
                KmsError::InvalidMarker
            );
        }
    }

    #[test]
    fn limit_checks() {
        let mut c = Checker::new();
        check(
            &mut c,
            &PageRequest {
                limit: Some(0),
                marker: Some(String::new()),
            },
        );
        assert_eq!(c.finish().unwrap_err().violations().len(), 2);
    }
}
