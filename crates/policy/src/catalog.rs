//! What the linter knows about AWS services: the actions of `kms`, `s3`, `cloudtrail`, `iam`
//! and `sts`, and which condition keys apply to which actions and how many values they have.
//!
//! The action lists are taken from the Service Authorization Reference; a new AWS action
//! missing here makes the linter report it as unknown, never changes a decision.

/// The known actions of a checked service.
pub(crate) fn actions(service: &str) -> Option<&'static [&'static str]> {
    Some(match service {
        "kms" => KMS,
        "s3" => S3,
        "cloudtrail" => CLOUDTRAIL,
        "iam" => IAM,
        "sts" => STS,
        _ => return None,
    })
}

#[rustfmt::skip]
const KMS: &[&str] = &[
    "CancelKeyDeletion", "ConnectCustomKeyStore", "CreateAlias", "CreateCustomKeyStore", "CreateGrant",
    "CreateKey", "Decrypt", "DeleteAlias", "DeleteCustomKeyStore", "DeleteImportedKeyMaterial",
    "DeriveSharedSecret", "DescribeCustomKeyStores", "DescribeKey", "DisableKey", "DisableKeyRotation",
    "DisconnectCustomKeyStore", "EnableKey", "EnableKeyRotation", "Encrypt", "GenerateDataKey",
    "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext", "GenerateDataKeyWithoutPlaintext",
    "GenerateMac", "GenerateRandom", "GetKeyPolicy", "GetKeyRotationStatus", "GetParametersForImport",
    "GetPublicKey", "ImportKeyMaterial", "ListAliases", "ListGrants", "ListKeyPolicies", "ListKeyRotations",
    "ListKeys", "ListResourceTags", "ListRetirableGrants", "PutKeyPolicy", "ReEncryptFrom", "ReEncryptTo",
    "ReplicateKey", "RetireGrant", "RevokeGrant", "RotateKeyOnDemand", "ScheduleKeyDeletion", "Sign",
    "SynchronizeMultiRegionKey", "TagResource", "UntagResource", "UpdateAlias", "UpdateCustomKeyStore",
    "UpdateKeyDescription", "UpdatePrimaryRegion", "Verify", "VerifyMac",
];

#[rustfmt::skip]
const CLOUDTRAIL: &[&str] = &[
    "AddTags", "CancelQuery", "CreateChannel", "CreateDashboard", "CreateEventDataStore",
    "CreateServiceLinkedChannel", "CreateTrail", "DeleteChannel", "DeleteDashboard", "DeleteEventDataStore",
    "DeleteResourcePolicy", "DeleteServiceLinkedChannel", "DeleteTrail", "DeregisterOrganizationDelegatedAdmin",
    "DescribeQuery", "DescribeTrails", "DisableFederation", "EnableFederation", "GenerateQuery",
    "GenerateQueryResultsSummary", "GetChannel", "GetDashboard", "GetEventConfiguration", "GetEventDataStore",
    "GetEventDataStoreData", "GetEventSelectors", "GetImport", "GetInsightSelectors", "GetQueryResults",
    "GetResourcePolicy", "GetServiceLinkedChannel", "GetTrail", "GetTrailStatus", "ListChannels",
    "ListDashboards", "ListEventDataStores", "ListImportFailures", "ListImports", "ListInsightsMetricData",
    "ListPublicKeys", "ListQueries", "ListServiceLinkedChannels", "ListTags", "ListTrails", "LookupEvents",
    "PutEventConfiguration", "PutEventSelectors", "PutInsightSelectors", "PutResourcePolicy",
    "RegisterOrganizationDelegatedAdmin", "RemoveTags", "RestoreEventDataStore", "SearchSampleQueries",
    "StartDashboardRefresh", "StartEventDataStoreIngestion", "StartImport", "StartLogging", "StartQuery",
    "StopEventDataStoreIngestion", "StopImport", "StopLogging", "UpdateChannel", "UpdateDashboard",
    "UpdateEventDataStore", "UpdateServiceLinkedChannel", "UpdateTrail",
];

#[rustfmt::skip]
const STS: &[&str] = &[
    "AssumeRole", "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity", "AssumeRoot", "DecodeAuthorizationMessage",
    "GetAccessKeyInfo", "GetCallerIdentity", "GetFederationToken", "GetServiceBearerToken", "GetSessionToken",
    "SetContext", "SetSourceIdentity", "TagSession",
];

#[rustfmt::skip]
const S3: &[&str] = &[
    "AbortMultipartUpload", "AssociateAccessGrantsIdentityCenter", "BypassGovernanceRetention",
    "CreateAccessGrant", "CreateAccessGrantsInstance", "CreateAccessGrantsLocation", "CreateAccessPoint",
    "CreateAccessPointForObjectLambda", "CreateBucket", "CreateJob", "CreateMultiRegionAccessPoint",
    "CreateSession", "CreateStorageLensGroup", "DeleteAccessGrant", "DeleteAccessGrantsInstance",
    "DeleteAccessGrantsInstanceResourcePolicy", "DeleteAccessGrantsLocation", "DeleteAccessPoint",
    "DeleteAccessPointForObjectLambda", "DeleteAccessPointPolicy", "DeleteAccessPointPolicyForObjectLambda",
    "DeleteBucket", "DeleteBucketMetadataTableConfiguration", "DeleteBucketOwnershipControls",
    "DeleteBucketPolicy", "DeleteBucketWebsite", "DeleteJobTagging", "DeleteMultiRegionAccessPoint",
    "DeleteObject", "DeleteObjectTagging", "DeleteObjectVersion", "DeleteObjectVersionTagging",
    "DeleteStorageLensConfiguration", "DeleteStorageLensConfigurationTagging", "DeleteStorageLensGroup",
    "DescribeJob", "DescribeMultiRegionAccessPointOperation", "DissociateAccessGrantsIdentityCenter",
    "GetAccelerateConfiguration", "GetAccessGrant", "GetAccessGrantsInstance",
    "GetAccessGrantsInstanceForPrefix", "GetAccessGrantsInstanceResourcePolicy", "GetAccessGrantsLocation",
    "GetAccessPoint", "GetAccessPointConfigurationForObjectLambda", "GetAccessPointForObjectLambda",
    "GetAccessPointPolicy", "GetAccessPointPolicyForObjectLambda", "GetAccessPointPolicyStatus",
    "GetAccessPointPolicyStatusForObjectLambda", "GetAccountPublicAccessBlock", "GetAnalyticsConfiguration",
    "GetBucketAbac", "GetBucketAcl", "GetBucketCORS", "GetBucketLocation", "GetBucketLogging",
    "GetBucketMetadataTableConfiguration", "GetBucketNotification", "GetBucketObjectLockConfiguration",
    "GetBucketOwnershipControls", "GetBucketPolicy", "GetBucketPolicyStatus", "GetBucketPublicAccessBlock",
    "GetBucketRequestPayment", "GetBucketTagging", "GetBucketVersioning", "GetBucketWebsite",
    "GetDataAccess", "GetEncryptionConfiguration", "GetIntelligentTieringConfiguration",
    "GetInventoryConfiguration", "GetJobTagging", "GetLifecycleConfiguration", "GetMetricsConfiguration",
    "GetMultiRegionAccessPoint", "GetMultiRegionAccessPointPolicy", "GetMultiRegionAccessPointPolicyStatus",
    "GetMultiRegionAccessPointRoutes", "GetObject", "GetObjectAcl", "GetObjectAttributes",
    "GetObjectLegalHold", "GetObjectRetention", "GetObjectTagging", "GetObjectTorrent", "GetObjectVersion",
    "GetObjectVersionAcl", "GetObjectVersionAttributes", "GetObjectVersionForReplication",
    "GetObjectVersionTagging", "GetObjectVersionTorrent", "GetReplicationConfiguration",
    "GetStorageLensConfiguration", "GetStorageLensConfigurationTagging", "GetStorageLensDashboard",
    "GetStorageLensGroup", "InitiateReplication", "ListAccessGrants", "ListAccessGrantsInstances",
    "ListAccessGrantsLocations", "ListAccessPoints", "ListAccessPointsForObjectLambda", "ListAllMyBuckets",
    "ListBucket", "ListBucketMultipartUploads", "ListBucketVersions", "ListCallerAccessGrants", "ListJobs",
    "ListMultiRegionAccessPoints", "ListMultipartUploadParts", "ListStorageLensConfigurations",
    "ListStorageLensGroups", "ListTagsForResource", "ObjectOwnerOverrideToBucketOwner",
    "PauseReplication", "PutAccelerateConfiguration", "PutAccessGrantsInstanceResourcePolicy",
    "PutAccessPointConfigurationForObjectLambda", "PutAccessPointPolicy", "PutAccessPointPolicyForObjectLambda",
    "PutAccessPointPublicAccessBlock", "PutAccountPublicAccessBlock", "PutAnalyticsConfiguration",
    "PutBucketAbac", "PutBucketAcl", "PutBucketCORS", "PutBucketLogging", "PutBucketNotification",
    "PutBucketObjectLockConfiguration", "PutBucketOwnershipControls", "PutBucketPolicy",
    "PutBucketPublicAccessBlock", "PutBucketRequestPayment", "PutBucketTagging", "PutBucketVersioning",
    "PutBucketWebsite", "PutEncryptionConfiguration", "PutIntelligentTieringConfiguration",
    "PutInventoryConfiguration", "PutJobTagging", "PutLifecycleConfiguration", "PutMetricsConfiguration",
    "PutMultiRegionAccessPointPolicy", "PutObject", "PutObjectAcl", "PutObjectLegalHold",
    "PutObjectRetention", "PutObjectTagging", "PutObjectVersionAcl", "PutObjectVersionTagging",
    "PutReplicationConfiguration", "PutStorageLensConfiguration", "PutStorageLensConfigurationTagging",
    "ReplicateDelete", "ReplicateObject", "ReplicateTags", "RestoreObject",
    "SubmitMultiRegionAccessPointRoutes", "TagResource", "UntagResource", "UpdateAccessGrantsLocation",
    "UpdateJobPriority", "UpdateJobStatus", "UpdateStorageLensGroup",
];

#[rustfmt::skip]
const IAM: &[&str] = &[
    "AddClientIDToOpenIDConnectProvider", "AddRoleToInstanceProfile", "AddUserToGroup", "AttachGroupPolicy",
    "AttachRolePolicy", "AttachUserPolicy", "ChangePassword", "CreateAccessKey", "CreateAccountAlias",
    "CreateGroup", "CreateInstanceProfile", "CreateLoginProfile", "CreateOpenIDConnectProvider",
    "CreatePolicy", "CreatePolicyVersion", "CreateRole", "CreateSAMLProvider", "CreateServiceLinkedRole",
    "CreateServiceSpecificCredential", "CreateUser", "CreateVirtualMFADevice", "DeactivateMFADevice",
    "DeleteAccessKey", "DeleteAccountAlias", "DeleteAccountPasswordPolicy", "DeleteCloudFrontPublicKey",
    "DeleteGroup", "DeleteGroupPolicy", "DeleteInstanceProfile", "DeleteLoginProfile",
    "DeleteOpenIDConnectProvider", "DeletePolicy", "DeletePolicyVersion", "DeleteRole",
    "DeleteRolePermissionsBoundary", "DeleteRolePolicy", "DeleteSAMLProvider", "DeleteSSHPublicKey",
    "DeleteServerCertificate", "DeleteServiceLinkedRole", "DeleteServiceSpecificCredential",
    "DeleteSigningCertificate", "DeleteUser", "DeleteUserPermissionsBoundary", "DeleteUserPolicy",
    "DeleteVirtualMFADevice", "DetachGroupPolicy", "DetachRolePolicy", "DetachUserPolicy",
    "DisableOrganizationsRootCredentialsManagement", "DisableOrganizationsRootSessions", "EnableMFADevice",
    "EnableOrganizationsRootCredentialsManagement", "EnableOrganizationsRootSessions",
    "GenerateCredentialReport", "GenerateOrganizationsAccessReport", "GenerateServiceLastAccessedDetails",
    "GetAccessKeyLastUsed", "GetAccountAuthorizationDetails", "GetAccountEmailAddress", "GetAccountName",
    "GetAccountPasswordPolicy", "GetAccountSummary", "GetCloudFrontPublicKey", "GetContextKeysForCustomPolicy",
    "GetContextKeysForPrincipalPolicy", "GetCredentialReport", "GetGroup", "GetGroupPolicy",
    "GetInstanceProfile", "GetLoginProfile", "GetMFADevice", "GetOpenIDConnectProvider",
    "GetOrganizationsAccessReport", "GetPolicy", "GetPolicyVersion", "GetRole", "GetRolePolicy",
    "GetSAMLProvider", "GetSSHPublicKey", "GetServerCertificate", "GetServiceLastAccessedDetails",
    "GetServiceLastAccessedDetailsWithEntities", "GetServiceLinkedRoleDeletionStatus", "GetUser",
    "GetUserPolicy", "ListAccessKeys", "ListAccountAliases", "ListAttachedGroupPolicies",
    "ListAttachedRolePolicies", "ListAttachedUserPolicies", "ListCloudFrontPublicKeys", "ListEntitiesForPolicy",
    "ListGroupPolicies", "ListGroups", "ListGroupsForUser", "ListInstanceProfileTags", "ListInstanceProfiles",
    "ListInstanceProfilesForRole", "ListMFADeviceTags", "ListMFADevices", "ListOpenIDConnectProviderTags",
    "ListOpenIDConnectProviders", "ListOrganizationsFeatures", "ListPolicies", "ListPoliciesGrantingServiceAccess",
    "ListPolicyTags", "ListPolicyVersions", "ListRolePolicies", "ListRoleTags", "ListRoles",
    "ListSAMLProviderTags", "ListSAMLProviders", "ListSSHPublicKeys", "ListSTSRegionalEndpointsStatus",
    "ListServerCertificateTags", "ListServerCertificates", "ListServiceSpecificCredentials",
    "ListSigningCertificates", "ListUserPolicies", "ListUserTags", "ListUsers", "ListVirtualMFADevices",
    "PassRole", "PutGroupPolicy", "PutRolePermissionsBoundary", "PutRolePolicy", "PutUserPermissionsBoundary",
    "PutUserPolicy", "RemoveClientIDFromOpenIDConnectProvider", "RemoveRoleFromInstanceProfile",
    "RemoveUserFromGroup", "ResetServiceSpecificCredential", "ResyncMFADevice", "SetDefaultPolicyVersion",
    "SetSecurityTokenServicePreferences", "SimulateCustomPolicy", "SimulatePrincipalPolicy",
    "TagInstanceProfile", "TagMFADevice", "TagOpenIDConnectProvider", "TagPolicy", "TagRole",
    "TagSAMLProvider", "TagServerCertificate", "TagUser", "UntagInstanceProfile", "UntagMFADevice",
    "UntagOpenIDConnectProvider", "UntagPolicy", "UntagRole", "UntagSAMLProvider", "UntagServerCertificate",
    "UntagUser", "UpdateAccessKey", "UpdateAccountEmailAddress", "UpdateAccountName",
    "UpdateAccountPasswordPolicy", "UpdateAssumeRolePolicy", "UpdateCloudFrontPublicKey", "UpdateGroup",
    "UpdateLoginProfile", "UpdateOpenIDConnectProviderThumbprint", "UpdateRole", "UpdateRoleDescription",
    "UpdateSAMLProvider", "UpdateSSHPublicKey", "UpdateServerCertificate", "UpdateServiceSpecificCredential",
    "UpdateSigningCertificate", "UpdateUser", "UploadCloudFrontPublicKey", "UploadSSHPublicKey",
    "UploadServerCertificate", "UploadSigningCertificate",
];

/// The actions a service-specific condition key applies to, when the linter knows them
/// (lower-case key or key prefix → action names). Keys not listed apply to every action of
/// their service.
pub(crate) fn key_actions(key_lower: &str) -> Option<&'static [&'static str]> {
    const ENCRYPTION_CONTEXT: &[&str] = &[
        "Decrypt",
        "Encrypt",
        "GenerateDataKey",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
        "GenerateDataKeyWithoutPlaintext",
        "ReEncryptFrom",
        "ReEncryptTo",
        "CreateGrant",
        "RetireGrant",
    ];
    if key_lower.starts_with("kms:encryptioncontext:") || key_lower == "kms:encryptioncontextkeys" {
        return Some(ENCRYPTION_CONTEXT);
    }
    Some(match key_lower {
        "kms:grantconstrainttype"
        | "kms:grantisforawsresource"
        | "kms:grantoperations"
        | "kms:granteeprincipal"
        | "kms:retiringprincipal" => &["CreateGrant"],
        "kms:bypasspolicylockoutsafetycheck" => &["CreateKey", "PutKeyPolicy"],
        "kms:encryptionalgorithm" => &[
            "Decrypt",
            "Encrypt",
            "GenerateDataKey",
            "GenerateDataKeyPair",
            "GenerateDataKeyPairWithoutPlaintext",
            "GenerateDataKeyWithoutPlaintext",
            "ReEncryptFrom",
            "ReEncryptTo",
        ],
        "s3:x-amz-acl" => &[
            "PutObject",
            "PutObjectAcl",
            "PutObjectVersionAcl",
            "PutBucketAcl",
            "CreateBucket",
        ],
        "s3:prefix" | "s3:delimiter" | "s3:max-keys" => &["ListBucket", "ListBucketVersions"],
        "s3:x-amz-server-side-encryption" | "s3:x-amz-server-side-encryption-aws-kms-key-id" => {
            &["PutObject", "CreateMultipartUpload"]
        }
        _ => return None,
    })
}

/// Multi-valued condition keys (lower case).
pub(crate) fn is_multi_valued(key_lower: &str) -> bool {
    matches!(
        key_lower,
        "aws:tagkeys"
            | "aws:principalorgpaths"
            | "aws:calledvia"
            | "aws:principalservicenameslist"
            | "kms:encryptioncontextkeys"
            | "kms:grantoperations"
    )
}

/// Single-valued condition keys (lower case), or key prefixes ending in `:` or `/`.
pub(crate) fn is_single_valued(key_lower: &str) -> bool {
    const PREFIXES: [&str; 4] = [
        "kms:encryptioncontext:",
        "aws:principaltag/",
        "aws:requesttag/",
        "aws:resourcetag/",
    ];
    PREFIXES.iter().any(|p| key_lower.starts_with(p))
        || matches!(
            key_lower,
            "aws:sourcearn"
                | "aws:sourceaccount"
                | "aws:sourceip"
                | "aws:sourcevpc"
                | "aws:sourcevpce"
                | "aws:sourceorgid"
                | "aws:currenttime"
                | "aws:epochtime"
                | "aws:securetransport"
                | "aws:username"
                | "aws:userid"
                | "aws:principalarn"
                | "aws:principalaccount"
                | "aws:principaltype"
                | "aws:principalorgid"
                | "aws:principalisawsservice"
                | "aws:principalservicename"
                | "aws:multifactorauthpresent"
                | "aws:multifactorauthage"
                | "aws:requestedregion"
                | "aws:viaawsservice"
                | "aws:calledviafirst"
                | "aws:calledvialast"
                | "kms:calleraccount"
                | "kms:viaservice"
                | "s3:x-amz-acl"
                | "s3:prefix"
        )
}
