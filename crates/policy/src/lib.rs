//! The IAM policy language for sealtrail: parse, lint, evaluate and explain KMS key
//! policies, S3 bucket policies and IAM identity policies.
//!
//! It is built like a small compiler:
//! - [`Policy::parse`] reads policy JSON (with its own reader, so duplicate keys are caught and
//!   every error says what and where, by line, column and JSON pointer) into a typed tree
//!   whose patterns and condition values are compiled once;
//! - [`lint`] finds what a careful reviewer would flag (unknown actions, `NotPrincipal` with
//!   `Allow`, public key policies, invalid ARNs, condition keys that do not apply, statements
//!   that never match, key policies that lock out their account);
//! - [`authorize`] decides a [`Request`] against a [`PolicySet`] following the IAM evaluation
//!   logic (explicit deny wins, same-account and cross-account rules, the KMS key policy as
//!   root of trust) and explains which statements decided and why every other statement did
//!   not apply; [`decide`] gives the bare decision without allocating;
//! - [`Policy::to_json`] prints a policy back, so parse → print → parse round-trips.
//!
//! For a service front end (KMS, S3) the intended use is: parse a key or bucket policy once,
//! when it is stored (`PutKeyPolicy`, `CreateKey`, `PutBucketPolicy`), and keep the parsed
//! [`Policy`] beside the text (`GetKeyPolicy` returns the text as stored); per request, build
//! a [`Request`] and a [`PolicySet`] holding `Arc<Policy>` or `&Policy` (no policy is copied),
//! then call [`decide`] when only the answer matters or [`authorize`] to also get
//! [`Explained::access_denied_message`]. `PutKeyPolicy`'s lockout safety check is a
//! [`decide`] of `kms:PutKeyPolicy` by the calling principal against the new policy.
//! `bench/policy` measures about 2–4 million evaluations per second of the CloudTrail key
//! policy on one core.
//!
//! The crate is pure: no I/O, no clock (the current time is a context key the caller sets,
//! `aws:CurrentTime`), no randomness. It does not know where policies are stored, does not
//! resolve group membership or which policies are attached to whom, and does not evaluate
//! SCPs, permission boundaries, session policies, grants or ACLs.
//!
//! ```
//! use sealtrail_model::Arn;
//! use sealtrail_policy::{authorize, Caller, Context, Decision, ParseOptions, Policy, PolicySet,
//!     Request, ResourceKind, Value};
//!
//! let key_policy = Policy::parse(r#"{"Version": "2012-10-17", "Statement": [{
//!     "Sid": "Allow CloudTrail to describe key", "Effect": "Allow",
//!     "Principal": {"Service": "cloudtrail.amazonaws.com"},
//!     "Action": "kms:DescribeKey", "Resource": "*",
//!     "Condition": {"StringEquals": {"aws:SourceArn": "arn:aws:cloudtrail:us-east-1:111122223333:trail/t"}}}]}"#,
//!     &ParseOptions::key_policy())?;
//! let set = PolicySet { identity: vec![], resource: Some((key_policy, ResourceKind::KmsKey)) };
//! let mut context = Context::new();
//! context.insert("aws:SourceArn", Value::string("arn:aws:cloudtrail:us-east-1:111122223333:trail/t"));
//! let request = Request::new(
//!     Caller::parse("service:cloudtrail.amazonaws.com")?,
//!     "kms:DescribeKey",
//!     Arn::parse("arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab")?,
//!     context,
//! )?;
//! let answer = authorize(&request, &set);
//! assert_eq!(answer.value(), Decision::Allow);
//! assert_eq!(set.label(answer.deciding()[0]), "resource:Allow CloudTrail to describe key");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod ast;
mod catalog;
mod condition;
mod error;
mod eval;
mod json;
mod lint;
mod parse;
mod pattern;
mod print;
mod request;
mod scalar;

pub use ast::{
    ActionClause, ActionPattern, Condition, ConditionBlock, ConditionValue, Effect, OneOrMany,
    OperatorEntry, Policy, PolicyKind, PrincipalClause, PrincipalEntry, PrincipalId, PrincipalKind,
    PrincipalSpec, ResourceClause, ResourceKind, ResourcePattern, ScalarKind, Span, Statement,
    Version,
};
pub use condition::{BaseOperator, ConditionFailure, Operator, SetOperator};
pub use error::{Location, ParseError, ParseErrorKind, RequestError};
pub use eval::{
    Basis, Decision, Explained, Mismatch, Outcome, PolicyRef, PolicySet, StatementRef,
    StatementTrace, authorize, decide,
};
pub use lint::{Finding, LintCode, LintOptions, lint};
pub use parse::{ParseOptions, SizeLimit, SizeUnit};
pub use request::{
    AwsPrincipal, Caller, Context, ContextValue, PrincipalType, Request, Value, ValueType,
};
