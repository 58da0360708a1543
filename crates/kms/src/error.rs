//! [`KmsError`]: every way a KMS operation can fail, with the message AWS KMS gives.
//!
//! The messages are AWS's (they are what `aws kms ...` prints), so unlike the rest of
//! sealtrail they keep AWS's capitalisation and final periods. The wire code of each variant
//! is chosen in one place, the API crate's exhaustive mapping; [`KmsError::aws_code`] here is
//! the same table for callers inside the process (the trail service) and for tests.

use std::borrow::Cow;

use crate::validate::ValidationErrors;

/// A failed KMS operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KmsError {
    /// `NotFoundException`: a key id or ARN that names no key (`Key '<arn>' does not exist`).
    #[error("Key '{0}' does not exist")]
    KeyNotFound(String),
    /// `NotFoundException`: an alias name or ARN that names no alias.
    #[error("Alias {0} is not found.")]
    AliasNotFound(String),
    /// `NotFoundException`: a key identifier that is not a key id, key ARN, alias name or alias
    /// ARN, or a form the operation does not accept.
    #[error("Invalid keyId {0}")]
    InvalidKeyId(String),
    /// `DisabledException`: a cryptographic operation on a disabled key.
    #[error("{0} is disabled.")]
    Disabled(String),
    /// `KMSInvalidStateException`: the key is pending deletion.
    #[error("{0} is pending deletion.")]
    PendingDeletion(String),
    /// `KMSInvalidStateException`: `CancelKeyDeletion` on a key that is not pending deletion.
    #[error("{0} is not pending deletion.")]
    NotPendingDeletion(String),
    /// `InvalidCiphertextException`: a blob that is corrupt, not ours, names an unknown key
    /// or key material, or does not match the encryption context. AWS sends an empty message.
    #[error("")]
    InvalidCiphertext,
    /// `IncorrectKeyException`: `KeyId` (or `SourceKeyId`) is not the key that encrypted the
    /// ciphertext.
    #[error(
        "The key ID in the request does not identify a KMS key that can perform this operation."
    )]
    IncorrectKey,
    /// `InvalidKeyUsageException`: an encryption algorithm the key does not support.
    #[error("{0}")]
    InvalidKeyUsage(String),
    /// `AccessDeniedException` with AWS's `User: ... is not authorized to perform: ...` text.
    #[error("{0}")]
    AccessDenied(String),
    /// `AlreadyExistsException`: `CreateAlias` with a name already in use.
    #[error("An alias with the name {0} already exists")]
    AliasExists(String),
    /// `ValidationException`: request members that break the model's constraints.
    #[error("{0}")]
    Validation(ValidationErrors),
    /// `ValidationException` with a free-form message (a rule that is not a member
    /// constraint, such as "exactly one of `KeySpec` and `NumberOfBytes`").
    #[error("{0}")]
    InvalidRequest(String),
    /// `LimitExceededException`.
    #[error("{0}")]
    LimitExceeded(String),
    /// `InvalidMarkerException`: a pagination marker this server did not issue.
    #[error("Invalid marker")]
    InvalidMarker,
    /// `InvalidAliasNameException`.
    #[error("{0}")]
    InvalidAliasName(String),
    /// `InvalidArnException`.
    #[error("{0}")]
    InvalidArn(String),
    /// `MalformedPolicyDocumentException`: a policy that does not parse, or that fails the
    /// lockout safety check.
    #[error("{0}")]
    MalformedPolicy(String),
    /// `UnsupportedOperationException`: a feature sealtrail's KMS does not have (asymmetric,
    /// HMAC, imported, multi-Region or custom-key-store keys, Nitro recipients).
    #[error("{0}")]
    Unsupported(String),
    /// `TagException`: a tag key or value that is not allowed.
    #[error("{0}")]
    Tag(String),
    /// `InvalidGrantTokenException`: sealtrail has no grants, so every grant token is invalid.
    #[error("{0}")]
    InvalidGrantToken(String),
    /// `DryRunOperationException`: the request would have succeeded.
    #[error("The request would have succeeded, but the DryRun option is set.")]
    DryRun,
    /// `KMSInternalException`: a fault inside sealtrail (storage, unwrapping). The text is
    /// for the log only; clients see [`KmsError::message`], which is generic.
    #[error("internal error: {0}")]
    Internal(String),
}

impl KmsError {
    /// The AWS error code (`NotFoundException`, ...). The server's wire mapping is the
    /// authority; this is the same table, for in-process callers and tests.
    #[must_use]
    pub fn aws_code(&self) -> &'static str {
        match self {
            Self::KeyNotFound(_) | Self::AliasNotFound(_) | Self::InvalidKeyId(_) => {
                "NotFoundException"
            }
            Self::Disabled(_) => "DisabledException",
            Self::PendingDeletion(_) | Self::NotPendingDeletion(_) => "KMSInvalidStateException",
            Self::InvalidCiphertext => "InvalidCiphertextException",
            Self::IncorrectKey => "IncorrectKeyException",
            Self::InvalidKeyUsage(_) => "InvalidKeyUsageException",
            Self::AccessDenied(_) => "AccessDeniedException",
            Self::AliasExists(_) => "AlreadyExistsException",
            Self::Validation(_) | Self::InvalidRequest(_) => "ValidationException",
            Self::LimitExceeded(_) => "LimitExceededException",
            Self::InvalidMarker => "InvalidMarkerException",
            Self::InvalidAliasName(_) => "InvalidAliasNameException",
            Self::InvalidArn(_) => "InvalidArnException",
            Self::MalformedPolicy(_) => "MalformedPolicyDocumentException",
            Self::Unsupported(_) => "UnsupportedOperationException",
            Self::Tag(_) => "TagException",
            Self::InvalidGrantToken(_) => "InvalidGrantTokenException",
            Self::DryRun => "DryRunOperationException",
            Self::Internal(_) => "KMSInternalException",
        }
    }

    /// True for server faults (HTTP 500), false for client errors (HTTP 400).
    #[must_use]
    pub fn is_fault(&self) -> bool {
        matches!(self, Self::Internal(_))
    }

    /// The message shown to the client: AWS's text, and for internal faults a generic one
    /// (the detail stays in [`std::fmt::Display`], for the log).
    #[must_use]
    pub fn message(&self) -> Cow<'_, str> {
        match self {
            Self::Internal(_) => Cow::Borrowed(
                "The request was rejected because an internal exception occurred. The request can be retried.",
            ),
            other => Cow::Owned(other.to_string()),
        }
    }

    pub(crate) fn internal(what: impl std::fmt::Display) -> Self {
        Self::Internal(what.to_string())
    }
}

impl From<ValidationErrors> for KmsError {
    fn from(v: ValidationErrors) -> Self {
        Self::Validation(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_aws_text() {
        let arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        assert_eq!(
            KmsError::KeyNotFound(arn.into()).message(),
            format!("Key '{arn}' does not exist")
        );
        assert_eq!(
            KmsError::Disabled(arn.into()).message(),
            format!("{arn} is disabled.")
        );
        assert_eq!(
            KmsError::PendingDeletion(arn.into()).message(),
            format!("{arn} is pending deletion.")
        );
        assert_eq!(KmsError::InvalidCiphertext.message(), "");
        assert_eq!(
            KmsError::AliasNotFound("arn:aws:kms:us-east-1:111122223333:alias/x".into()).message(),
            "Alias arn:aws:kms:us-east-1:111122223333:alias/x is not found."
        );
        assert_eq!(
            KmsError::InvalidKeyId("nope".into()).message(),
            "Invalid keyId nope"
        );
        let internal = KmsError::internal("disk full at /x");
        assert!(!internal.message().contains("disk"));
        assert!(internal.to_string().contains("disk"));
        assert!(internal.is_fault());
    }
}
