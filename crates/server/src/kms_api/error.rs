//! The one place where KMS failures become wire errors: an exhaustive match (no `_` arm)
//! from every [`KmsError`] and framing error to its AWS code and HTTP status.

use sealtrail_kms::KmsError;

use crate::api::ApiFailure;

/// A failed KMS call: the service's error, or a body the API could not read.
#[derive(Debug, thiserror::Error)]
pub enum KmsApiError {
    /// The service refused or failed.
    #[error(transparent)]
    Kms(#[from] KmsError),
    /// The body is not JSON, or a member has the wrong JSON type (or a blob is not base64).
    #[error("{0}")]
    Serialization(String),
    /// `X-Amz-Target` names no KMS operation that sealtrail serves.
    #[error("{0}")]
    UnknownOperation(String),
}

/// Every code [`KmsApiError::to_failure`] can produce.
pub const ERROR_CODES: &[&str] = &[
    "NotFoundException",
    "DisabledException",
    "KMSInvalidStateException",
    "InvalidCiphertextException",
    "IncorrectKeyException",
    "InvalidKeyUsageException",
    "AccessDeniedException",
    "AlreadyExistsException",
    "ValidationException",
    "LimitExceededException",
    "InvalidMarkerException",
    "InvalidAliasNameException",
    "InvalidArnException",
    "MalformedPolicyDocumentException",
    "UnsupportedOperationException",
    "TagException",
    "InvalidGrantTokenException",
    "DryRunOperationException",
    "KMSInternalException",
    "SerializationException",
    "UnknownOperationException",
];

const CLIENT: u16 = 400;
const FAULT: u16 = 500;

impl KmsApiError {
    /// The AWS code and HTTP status.
    #[must_use]
    pub fn code_and_status(&self) -> (&'static str, u16) {
        match self {
            Self::Kms(e) => match e {
                KmsError::KeyNotFound(_)
                | KmsError::AliasNotFound(_)
                | KmsError::InvalidKeyId(_) => ("NotFoundException", CLIENT),
                KmsError::Disabled(_) => ("DisabledException", CLIENT),
                KmsError::PendingDeletion(_) | KmsError::NotPendingDeletion(_) => {
                    ("KMSInvalidStateException", CLIENT)
                }
                KmsError::InvalidCiphertext => ("InvalidCiphertextException", CLIENT),
                KmsError::IncorrectKey => ("IncorrectKeyException", CLIENT),
                KmsError::InvalidKeyUsage(_) => ("InvalidKeyUsageException", CLIENT),
                KmsError::AccessDenied(_) => ("AccessDeniedException", CLIENT),
                KmsError::AliasExists(_) => ("AlreadyExistsException", CLIENT),
                KmsError::Validation(_) | KmsError::InvalidRequest(_) => {
                    ("ValidationException", CLIENT)
                }
                KmsError::LimitExceeded(_) => ("LimitExceededException", CLIENT),
                KmsError::InvalidMarker => ("InvalidMarkerException", CLIENT),
                KmsError::InvalidAliasName(_) => ("InvalidAliasNameException", CLIENT),
                KmsError::InvalidArn(_) => ("InvalidArnException", CLIENT),
                KmsError::MalformedPolicy(_) => ("MalformedPolicyDocumentException", CLIENT),
                KmsError::Unsupported(_) => ("UnsupportedOperationException", CLIENT),
                KmsError::Tag(_) => ("TagException", CLIENT),
                KmsError::InvalidGrantToken(_) => ("InvalidGrantTokenException", CLIENT),
                KmsError::DryRun => ("DryRunOperationException", CLIENT),
                KmsError::Internal(_) => ("KMSInternalException", FAULT),
            },
            Self::Serialization(_) => ("SerializationException", CLIENT),
            Self::UnknownOperation(_) => ("UnknownOperationException", CLIENT),
        }
    }

    /// The failure as the edge renders it. Internal detail never reaches the message.
    #[must_use]
    pub fn to_failure(&self) -> ApiFailure {
        let (code, status) = self.code_and_status();
        let message = match self {
            Self::Kms(e) => e.message().into_owned(),
            Self::Serialization(m) | Self::UnknownOperation(m) => m.clone(),
        };
        ApiFailure {
            code,
            message,
            status,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mapped_code_is_listed() {
        let samples = [
            KmsApiError::Kms(KmsError::KeyNotFound("k".into())),
            KmsApiError::Kms(KmsError::InvalidCiphertext),
            KmsApiError::Kms(KmsError::Internal("disk".into())),
            KmsApiError::Kms(KmsError::DryRun),
            KmsApiError::Serialization("x".into()),
            KmsApiError::UnknownOperation("x".into()),
        ];
        for s in samples {
            assert!(ERROR_CODES.contains(&s.code_and_status().0));
        }
        let internal = KmsApiError::Kms(KmsError::Internal("secret path".into())).to_failure();
        assert_eq!(internal.status, 500);
        assert!(!internal.message.contains("secret"));
        let ic = KmsApiError::Kms(KmsError::InvalidCiphertext).to_failure();
        assert_eq!(
            (ic.code, ic.message.as_str(), ic.status),
            ("InvalidCiphertextException", "", 400)
        );
    }
}
