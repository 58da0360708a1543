//! Test tooling (placeholder).
