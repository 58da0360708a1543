//! A SigV4 signer for AWS JSON 1.1 requests (`POST /`), as botocore signs them for KMS: the
//! signed headers are `content-type;host;x-amz-date;x-amz-target` and the payload hash is the
//! SHA-256 of the body (spec-formats.md §8). HMAC and SHA-256 come from aws-lc-rs; the
//! signing key is derived once per date.

use std::fmt::Write as _;

use aws_lc_rs::{digest, hmac};

/// The JSON 1.1 content type.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// Signs requests for one access key, region and service.
pub struct Signer {
    access_key: String,
    secret: String,
    region: String,
    service: String,
    cached: Option<(String, hmac::Key)>,
}

impl Signer {
    /// A signer for `access_key`/`secret` in `region` for `service` (`kms`).
    #[must_use]
    pub fn new(access_key: &str, secret: &str, region: &str, service: &str) -> Self {
        Self {
            access_key: access_key.to_owned(),
            secret: secret.to_owned(),
            region: region.to_owned(),
            service: service.to_owned(),
            cached: None,
        }
    }

    /// The `Authorization` header value for a `POST /` with these headers, signed at
    /// `amz_date` (`YYYYMMDDTHHMMSSZ`); `payload_hash` is the hex SHA-256 of the body.
    pub fn authorization(
        &mut self,
        host: &str,
        target: &str,
        amz_date: &str,
        payload_hash: &str,
    ) -> String {
        let day = amz_date.get(..8).unwrap_or(amz_date).to_owned();
        let mut canonical = String::with_capacity(256);
        let _ = write!(
            canonical,
            "POST\n/\n\ncontent-type:{CONTENT_TYPE}\nhost:{host}\nx-amz-date:{amz_date}\nx-amz-target:{target}\n\ncontent-type;host;x-amz-date;x-amz-target\n{payload_hash}"
        );
        let scope = format!("{day}/{}/{}/aws4_request", self.region, self.service);
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
            hex(digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref())
        );
        let key = self.signing_key(&day);
        let signature = hex(hmac::sign(key, to_sign.as_bytes()).as_ref());
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature={signature}",
            self.access_key
        )
    }

    fn signing_key(&mut self, day: &str) -> &hmac::Key {
        if !matches!(&self.cached, Some((d, _)) if d == day) {
            self.cached = None;
        }
        let (region, service, secret) = (&self.region, &self.service, &self.secret);
        let (_, key) = self.cached.get_or_insert_with(|| {
            let mut key = hmac::Key::new(hmac::HMAC_SHA256, format!("AWS4{secret}").as_bytes());
            for part in [day, region.as_str(), service.as_str(), "aws4_request"] {
                key = hmac::Key::new(
                    hmac::HMAC_SHA256,
                    hmac::sign(&key, part.as_bytes()).as_ref(),
                );
            }
            (day.to_owned(), key)
        });
        key
    }
}

/// Lower-case hex.
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The hex SHA-256 of `body`.
#[must_use]
pub fn payload_hash(body: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, body).as_ref())
}

/// `YYYYMMDDTHHMMSSZ` for seconds since the Unix epoch (UTC, proleptic Gregorian calendar).
#[must_use]
pub fn amz_date(epoch_seconds: u64) -> String {
    let days = i64::try_from(epoch_seconds / 86_400).unwrap_or(0);
    let secs = epoch_seconds % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// spec-formats.md §8.5, vector 1 (botocore's SigV4Auth): KMS GenerateDataKey.
    #[test]
    fn botocore_vector() {
        let mut s = Signer::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "us-east-1",
            "kms",
        );
        let body = br#"{"KeyId": "alias/ct", "KeySpec": "AES_256"}"#;
        let hash = payload_hash(body);
        assert_eq!(
            hash,
            "8deed7aaa0d8e9a3c1e720e68b81fbf13b715223447e835826a9ea8f40640c45"
        );
        let auth = s.authorization(
            "127.0.0.1:4566",
            "TrentService.GenerateDataKey",
            "20260110T120000Z",
            &hash,
        );
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260110/us-east-1/kms/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date;x-amz-target, \
             Signature=f7332c9a5850f93f9eec0f725775d69c5ab70a3d9b9cf45981705c7f7290ecef"
        );
        // The cached key gives the same signature.
        assert_eq!(
            s.authorization(
                "127.0.0.1:4566",
                "TrentService.GenerateDataKey",
                "20260110T120000Z",
                &hash
            ),
            auth
        );
    }

    #[test]
    fn dates() {
        assert_eq!(amz_date(0), "19700101T000000Z");
        assert_eq!(amz_date(1_768_046_400), "20260110T120000Z");
        assert_eq!(amz_date(951_782_400), "20000229T000000Z");
        assert_eq!(amz_date(4_102_444_799), "20991231T235959Z");
        assert_eq!(amz_date(4_107_542_399), "21000228T235959Z");
    }
}
