//! IAM policy language (placeholder until the policy engine lands).
