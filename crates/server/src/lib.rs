//! `sealtrail serve` (being built): the HTTP edge of sealtrail.

pub mod api;
