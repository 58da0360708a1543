//! Who calls KMS ([`Caller`]) and the request facts that policies can test ([`Call`]).

use std::net::IpAddr;
use std::sync::Arc;

use sealtrail_model::{AccountId, UtcTime};
use sealtrail_policy::{AwsPrincipal, Policy};

/// The principal of a KMS request, with its identity policies.
#[derive(Debug, Clone)]
pub struct Caller {
    principal: sealtrail_policy::Caller,
    account: AccountId,
    user_id: Option<String>,
    identity_policies: Arc<Vec<Policy>>,
}

impl Caller {
    /// An IAM user, role session or account root, with the identity policies attached to it
    /// (none for the root, which is allowed by identity). `user_id` is `aws:userid`
    /// (`AIDA...`, or `AROA...:session`).
    #[must_use]
    pub fn aws(
        principal: AwsPrincipal,
        user_id: Option<String>,
        identity_policies: Arc<Vec<Policy>>,
    ) -> Self {
        Self {
            account: principal.account().clone(),
            principal: sealtrail_policy::Caller::Aws(principal),
            user_id,
            identity_policies,
        }
    }

    /// An AWS service principal such as `cloudtrail.amazonaws.com`, acting for `account`
    /// (the account whose key ids and alias names it uses; set `aws:SourceAccount` and
    /// `aws:SourceArn` on the [`Call`]). Only key policies can allow it.
    #[must_use]
    pub fn service(service: &str, account: AccountId) -> Self {
        Self {
            principal: sealtrail_policy::Caller::Service(service.to_owned()),
            account,
            user_id: None,
            identity_policies: Arc::new(Vec::new()),
        }
    }

    /// The principal as the policy engine sees it.
    #[must_use]
    pub fn principal(&self) -> &sealtrail_policy::Caller {
        &self.principal
    }

    /// The account of bare key ids and alias names.
    #[must_use]
    pub fn account(&self) -> &AccountId {
        &self.account
    }

    /// `aws:userid`.
    #[must_use]
    pub fn user_id(&self) -> Option<&str> {
        self.user_id.as_deref()
    }

    /// The identity policies.
    #[must_use]
    pub fn identity_policies(&self) -> &[Policy] {
        &self.identity_policies
    }
}

/// One request: the caller, the time, and the facts condition keys test.
///
/// For a direct call from a client, build it with [`Call::new`] and the transport facts. An
/// internal caller (the S3 or CloudTrail side of sealtrail) adds [`Call::via_service`]
/// (`kms:ViaService`, when it acts for a user) or uses [`Caller::service`] with
/// [`Call::source`] (`aws:SourceArn`, `aws:SourceAccount`, when it acts as the service).
#[derive(Debug, Clone)]
pub struct Call<'a> {
    /// Who.
    pub caller: &'a Caller,
    /// `aws:CurrentTime`, and the instant key states are judged at.
    pub now: UtcTime,
    /// `aws:SourceIp`.
    pub source_ip: Option<IpAddr>,
    /// `aws:SecureTransport`.
    pub secure_transport: Option<bool>,
    /// `kms:ViaService`, e.g. `s3.us-east-1.amazonaws.com`; absent for direct calls.
    pub via_service: Option<&'a str>,
    /// `aws:SourceArn`.
    pub source_arn: Option<&'a str>,
    /// `aws:SourceAccount`.
    pub source_account: Option<&'a str>,
}

impl<'a> Call<'a> {
    /// A call by `caller` at `now`, with no transport facts.
    #[must_use]
    pub fn new(caller: &'a Caller, now: UtcTime) -> Self {
        Self {
            caller,
            now,
            source_ip: None,
            secure_transport: None,
            via_service: None,
            source_arn: None,
            source_account: None,
        }
    }

    /// Sets `aws:SourceIp` and `aws:SecureTransport`.
    #[must_use]
    pub fn transport(mut self, source_ip: IpAddr, secure: bool) -> Self {
        self.source_ip = Some(source_ip);
        self.secure_transport = Some(secure);
        self
    }

    /// Sets `kms:ViaService` (an integrated service calling for the caller).
    #[must_use]
    pub fn via_service(mut self, service: &'a str) -> Self {
        self.via_service = Some(service);
        self
    }

    /// Sets `aws:SourceArn` and `aws:SourceAccount` (a service principal calling for a
    /// resource, e.g. a trail).
    #[must_use]
    pub fn source(mut self, arn: &'a str, account: &'a str) -> Self {
        self.source_arn = Some(arn);
        self.source_account = Some(account);
        self
    }
}
