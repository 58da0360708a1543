//! The seam between the HTTP edge and each AWS API: an API receives an authenticated,
//! already framed call and returns JSON or an [`ApiFailure`]. The edge owns HTTP, SigV4,
//! request ids, size limits, logging and metrics; the API owns its operations, its wire shapes
//! and its one exhaustive error-to-code mapping.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use sealtrail_model::{AccountId, Arn, Region, UtcTime};
use sealtrail_policy::Policy;

/// What kind of IAM identity signed the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalKind {
    /// The account's root user.
    Root,
    /// An IAM user.
    User,
    /// A role session (`arn:aws:sts::A:assumed-role/R/S`).
    AssumedRole,
}

/// The authenticated caller: who signed the request, resolved from its access key.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The caller's account.
    pub account: AccountId,
    /// The caller's ARN (`arn:aws:iam::A:user/alice`, `arn:aws:iam::A:root`, ...).
    pub arn: Arn,
    /// What kind of identity.
    pub kind: PrincipalKind,
    /// `aws:username` (users only).
    pub user_name: Option<String>,
    /// `aws:userid` (the unique id, e.g. `AIDA...`).
    pub user_id: String,
    /// The access key that signed.
    pub access_key_id: String,
    /// `aws:PrincipalTag/*`.
    pub tags: BTreeMap<String, String>,
    /// The caller's identity policies, parsed once at configuration load.
    pub identity_policies: Arc<Vec<Policy>>,
}

/// Everything an operation may need to know about the request besides its body.
#[derive(Debug, Clone)]
pub struct CallContext<'a> {
    /// The `x-amzn-RequestId` of this request.
    pub request_id: &'a str,
    /// Who is calling.
    pub caller: &'a Caller,
    /// The region this server serves.
    pub region: &'a Region,
    /// `aws:SourceIp`.
    pub source_ip: IpAddr,
    /// `aws:SecureTransport`.
    pub secure_transport: bool,
    /// `aws:CurrentTime`, read once per request.
    pub now: UtcTime,
    /// The caller's `User-Agent`.
    pub user_agent: Option<&'a str>,
}

/// A failed call as the wire shows it: `{"__type": code, "message": message}` with `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFailure {
    /// The AWS error code, e.g. `NotFoundException`; must exist in the service's botocore
    /// model (or be one of its documented unmodelled codes).
    pub code: &'static str,
    /// The message shown to the client (never internal detail).
    pub message: String,
    /// HTTP status: 400 for client errors, 500 for faults.
    pub status: u16,
}

/// An AWS JSON 1.1 API served at `POST /` with `X-Amz-Target: <target_prefix>.<Operation>`.
pub trait JsonApi: Send + Sync + 'static {
    /// The `X-Amz-Target` prefix, e.g. `TrentService`.
    fn target_prefix(&self) -> &'static str;
    /// The SigV4 service name in the credential scope, e.g. `kms`.
    fn signing_name(&self) -> &'static str;
    /// Runs one operation on an authenticated request. May block briefly (storage).
    ///
    /// # Errors
    /// The failure to render.
    fn call(
        &self,
        ctx: &CallContext<'_>,
        operation: &str,
        body: &[u8],
    ) -> Result<Vec<u8>, ApiFailure>;
    /// Every error code this API can emit (tests check them against the botocore model).
    fn error_codes(&self) -> &'static [&'static str];
    /// The code the edge answers with, status 500, when it fails while serving a call for
    /// this API (the call panicked, ...): the service's internal fault, e.g.
    /// `KMSInternalException`. AWS's common `InternalFailure` by default.
    fn fault_code(&self) -> &'static str {
        "InternalFailure"
    }
    /// Whether `operation` may wait on I/O (a disk sync). Such calls run through tokio's
    /// `block_in_place`, so they delay only their own request; the others (in-memory work
    /// of microseconds, e.g. KMS Encrypt/Decrypt/GenerateDataKey) run directly on the async
    /// worker, which saves the thread hand-off (about 40 µs of CPU per call, measured on the
    /// KMS hot path over HTTP on 127.0.0.1). `true`, the safe answer, by default.
    fn may_block(&self, operation: &str) -> bool {
        let _ = operation;
        true
    }
}
