//! KMS (placeholder until the KMS lands).
