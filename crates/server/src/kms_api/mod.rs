//! The KMS JSON 1.1 API (`X-Amz-Target: TrentService.<Operation>`), placeholder until the
//! KMS lands.
