//! The CloudTrail event record: one element of a log file's `Records` array.
//!
//! Fields whose shape depends on the service (`requestParameters`, `responseElements`,
//! `additionalEventData`, `serviceEventDetails`, ...) are kept as JSON values, and unknown
//! fields are kept too, so a record read and written again loses nothing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `userIdentity`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity {
    /// `Root`, `IAMUser`, `AssumedRole`, `AWSService`, ...
    #[serde(rename = "type")]
    pub identity_type: Option<String>,
    /// The principal's unique id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<String>,
    /// The principal's ARN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// The principal's account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// The access key used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// For IAM users.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// The service that called on the principal's behalf.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoked_by: Option<String>,
    /// Everything else (`sessionContext`, `webIdFederationData`, ...), as it was.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// One CloudTrail event.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventRecord {
    /// `"1.11"`, `"1.05"`, ...
    pub event_version: String,
    /// Who made the call.
    pub user_identity: UserIdentity,
    /// `YYYY-MM-DDTHH:MM:SSZ`.
    pub event_time: String,
    /// e.g. `kms.amazonaws.com`.
    pub event_source: String,
    /// The API action.
    pub event_name: String,
    /// The region.
    pub aws_region: String,
    /// IP address, service name, or `AWS Internal`.
    #[serde(rename = "sourceIPAddress")]
    pub source_ip_address: Option<String>,
    /// The caller's user agent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// Present on failures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// Present on failures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// Service-specific; may be null.
    #[serde(default)]
    pub request_parameters: Option<Value>,
    /// Service-specific; may be null.
    #[serde(default)]
    pub response_elements: Option<Value>,
    /// The request id.
    #[serde(rename = "requestID", skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The event's GUID.
    #[serde(rename = "eventID")]
    pub event_id: String,
    /// `AwsApiCall`, `AwsServiceEvent`, ...
    pub event_type: String,
    /// The account that received the event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipient_account_id: Option<String>,
    /// Read-only call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    /// Management event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub management_event: Option<bool>,
    /// `Management`, `Data`, `Insight`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_category: Option<String>,
    /// Everything else (`resources`, `tlsDetails`, `additionalEventData`, ...), as it was.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// A log file body, `{"Records":[...]}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogFileBody {
    /// The events.
    #[serde(rename = "Records")]
    pub records: Vec<EventRecord>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_kms_record_round_trips() {
        // spec §1.4: the record of a GenerateDataKey call S3 makes for CloudTrail.
        let text = r#"{"eventVersion":"1.11","userIdentity":{"type":"AWSService","invokedBy":"cloudtrail.amazonaws.com"},"eventTime":"2026-01-10T00:15:02Z","eventSource":"kms.amazonaws.com","eventName":"GenerateDataKey","awsRegion":"us-east-1","sourceIPAddress":"cloudtrail.amazonaws.com","userAgent":"cloudtrail.amazonaws.com","requestParameters":{"keyId":"arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab","keySpec":"AES_256"},"responseElements":null,"requestID":"e0eb83e3-63bc-11e4-bc2b-4198b6150d5c","eventID":"a9dea4f9-8395-46c0-942c-f509c02c2b71","readOnly":true,"resources":[{"ARN":"arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab","accountId":"123456789012","type":"AWS::KMS::Key"}],"eventType":"AwsServiceEvent","managementEvent":true,"recipientAccountId":"123456789012","eventCategory":"Management"}"#;
        let r: EventRecord = serde_json::from_str(text).unwrap();
        assert_eq!(r.event_name, "GenerateDataKey");
        assert_eq!(
            r.user_identity.invoked_by.as_deref(),
            Some("cloudtrail.amazonaws.com")
        );
        assert_eq!(r.read_only, Some(true));
        assert!(r.response_elements.is_none());
        assert!(r.other.contains_key("resources"));
        let again: EventRecord = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(again.event_id, r.event_id);
        assert_eq!(again.other["resources"], r.other["resources"]);
    }
}
