//! The one error type of the model layer.

/// Why a string is not a valid identifier, ARN or timestamp.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// Not a 12-digit AWS account id.
    #[error("`{0}` is not a 12-digit account id")]
    AccountId(String),
    /// Not an AWS region name such as `us-east-1`.
    #[error("`{0}` is not a region name")]
    Region(String),
    /// Violates the CloudTrail trail name rules.
    #[error("`{0}` is not a valid trail name: {1}")]
    TrailName(String, &'static str),
    /// Not an organization id such as `o-a1b2c3d4e5`.
    #[error("`{0}` is not an organization id")]
    OrganizationId(String),
    /// Not an ARN of the expected shape.
    #[error("`{0}` is not a valid ARN: {1}")]
    Arn(String, &'static str),
    /// Not a timestamp in an accepted form.
    #[error("unable to parse date value: `{0}`")]
    Time(String),
}
