//! KMS load generator (placeholder while it is written).

fn main() {}
