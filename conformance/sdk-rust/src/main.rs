//! KMS conformance with the AWS SDK for Rust (placeholder while the scenarios are written).

fn main() {}
