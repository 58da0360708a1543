//! `sealtrail serve` (being built): the HTTP edge of sealtrail.

pub mod api;
pub mod kms_api;
