//! KMS conformance with the AWS SDK for Rust: the main round trips against an endpoint taken
//! from the environment, as an application would configure the SDK.
//!
//! ```sh
//! AWS_ENDPOINT_URL_KMS=http://127.0.0.1:4599 AWS_REGION=us-east-1 \
//! AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... \
//!   target/debug/sealtrail-conformance-sdk
//! ```
//!
//! Steps: CreateKey (description, tags), DescribeKey by ARN, Encrypt and Decrypt with an
//! encryption context, Decrypt with another context (`InvalidCiphertextException`),
//! GenerateDataKey and the Decrypt of its blob, ListKeys through the SDK's paginator, and,
//! when `SEALTRAIL_SDK_DENIED_ACCESS_KEY_ID`, `SEALTRAIL_SDK_DENIED_SECRET_ACCESS_KEY` and
//! `SEALTRAIL_SDK_DENIED_ARN` name a principal without `kms:Decrypt`, a Decrypt that must be
//! refused with AWS's `AccessDeniedException` text.
//!
//! Each step prints one JSON line on stdout: `{"step", "ok", "detail", "observation",
//! "names", "compare"}` (`conformance/kms/run.py` records them; `names` maps values such as
//! the key id to the tokens its normaliser uses). Exit status: 0 when every step is as AWS
//! documents, 1 when one is not, 2 when the SDK cannot be configured.

use std::collections::BTreeMap;
use std::process::ExitCode;

use aws_config::BehaviorVersion;
use aws_sdk_kms::Client;
use aws_sdk_kms::config::Credentials;
use aws_sdk_kms::error::ProvideErrorMetadata;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{DataKeySpec, KeyState, KeyUsageType, Tag};
use serde_json::{Value, json};

/// What the suite records of one step.
struct Step {
    name: &'static str,
    ok: bool,
    detail: String,
    observation: Value,
    compare: bool,
}

/// The steps run so far, printed as they finish.
#[derive(Default)]
struct Report {
    names: BTreeMap<String, String>,
    failed: usize,
}

impl Report {
    fn emit(&mut self, step: Step) {
        if !step.ok {
            self.failed += 1;
        }
        let line = json!({
            "step": step.name,
            "ok": step.ok,
            "detail": step.detail,
            "observation": step.observation,
            "names": self.names,
            "compare": step.compare,
        });
        println!("{line}");
    }

    fn check(&mut self, name: &'static str, result: Result<Value, String>) -> bool {
        let step = match result {
            Ok(observation) => Step {
                name,
                ok: true,
                detail: String::new(),
                observation,
                compare: true,
            },
            Err(detail) => Step {
                name,
                ok: false,
                observation: json!({ "failed": detail }),
                detail,
                compare: true,
            },
        };
        let ok = step.ok;
        self.emit(step);
        ok
    }
}

fn expect_eq<T: PartialEq + std::fmt::Debug>(what: &str, got: T, want: T) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: expected {want:?}, got {got:?}"))
    }
}

fn service_error<E: ProvideErrorMetadata>(e: &E) -> (String, String) {
    (
        e.code().unwrap_or("").to_owned(),
        e.message().unwrap_or("").to_owned(),
    )
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL_KMS") else {
        eprintln!(
            "sealtrail-conformance-sdk: set AWS_ENDPOINT_URL_KMS (and AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)"
        );
        return ExitCode::from(2);
    };
    let conf = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let Some(region) = conf.region().map(ToString::to_string) else {
        eprintln!("sealtrail-conformance-sdk: no region (set AWS_REGION)");
        return ExitCode::from(2);
    };
    eprintln!("sealtrail-conformance-sdk: endpoint {endpoint}, region {region}");
    let client = Client::new(&conf);
    let mut report = Report::default();
    run(&client, &conf, &mut report).await;
    if report.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

async fn run(client: &Client, conf: &aws_config::SdkConfig, report: &mut Report) {
    // CreateKey.
    let tag = Tag::builder().tag_key("sdk").tag_value("rust").build();
    let created = match tag {
        Ok(tag) => client
            .create_key()
            .description("made by the AWS SDK for Rust")
            .tags(tag)
            .send()
            .await
            .map_err(|e| format!("{:?}", e.into_service_error())),
        Err(e) => Err(format!("building a tag: {e}")),
    };
    let meta = match created {
        Ok(out) => out.key_metadata().cloned(),
        Err(e) => {
            report.check("create-key", Err(e));
            return;
        }
    };
    let Some(meta) = meta else {
        report.check(
            "create-key",
            Err("CreateKey answered without KeyMetadata".to_owned()),
        );
        return;
    };
    let key_id = meta.key_id().to_owned();
    let key_arn = meta.arn().unwrap_or_default().to_owned();
    report.names.insert(key_id.clone(), "<K1>".to_owned());
    report.check(
        "create-key",
        (|| {
            expect_eq("KeyState", meta.key_state(), Some(&KeyState::Enabled))?;
            expect_eq(
                "KeyUsage",
                meta.key_usage(),
                Some(&KeyUsageType::EncryptDecrypt),
            )?;
            expect_eq(
                "Description",
                meta.description(),
                Some("made by the AWS SDK for Rust"),
            )?;
            if !key_arn.ends_with(&format!(":key/{key_id}")) || !key_arn.starts_with("arn:aws:kms:")
            {
                return Err(format!("Arn `{key_arn}` is not the key's ARN"));
            }
            Ok(json!({"KeyState": "Enabled", "KeyUsage": "ENCRYPT_DECRYPT", "Arn": key_arn}))
        })(),
    );

    // DescribeKey by ARN.
    let described = client.describe_key().key_id(&key_arn).send().await;
    report.check(
        "describe-key",
        match described {
            Ok(out) => match out.key_metadata() {
                Some(m) => expect_eq("KeyId", m.key_id(), key_id.as_str())
                    .map(|()| json!({"KeyId": m.key_id()})),
                None => Err("DescribeKey answered without KeyMetadata".to_owned()),
            },
            Err(e) => Err(format!("{:?}", e.into_service_error())),
        },
    );

    // Encrypt and Decrypt with an encryption context.
    let plaintext: Vec<u8> = (0u8..=255).cycle().take(1000).collect();
    let encrypted = client
        .encrypt()
        .key_id(&key_id)
        .plaintext(Blob::new(plaintext.clone()))
        .encryption_context("purpose", "conformance")
        .encryption_context("client", "aws-sdk-rust")
        .send()
        .await;
    let blob = match encrypted {
        Ok(out) => {
            let ok = report.check(
                "encrypt-context",
                expect_eq("KeyId", out.key_id(), Some(key_arn.as_str()))
                    .map(|()| json!({"KeyId": key_arn})),
            );
            out.ciphertext_blob().cloned().filter(|_| ok)
        }
        Err(e) => {
            report.check(
                "encrypt-context",
                Err(format!("{:?}", e.into_service_error())),
            );
            None
        }
    };
    if let Some(blob) = &blob {
        let decrypted = client
            .decrypt()
            .ciphertext_blob(blob.clone())
            .encryption_context("client", "aws-sdk-rust")
            .encryption_context("purpose", "conformance")
            .send()
            .await;
        report.check(
            "decrypt-context",
            match decrypted {
                Ok(out) => expect_eq("KeyId", out.key_id(), Some(key_arn.as_str()))
                    .and_then(|()| {
                        expect_eq(
                            "Plaintext",
                            out.plaintext().map(Blob::as_ref),
                            Some(plaintext.as_slice()),
                        )
                    })
                    .map(|()| json!({"Plaintext": "as encrypted"})),
                Err(e) => Err(format!("{:?}", e.into_service_error())),
            },
        );
        let wrong = client
            .decrypt()
            .ciphertext_blob(blob.clone())
            .encryption_context("purpose", "other")
            .send()
            .await;
        report.check(
            "decrypt-wrong-context",
            match wrong {
                Ok(_) => Err("Decrypt with another encryption context succeeded".to_owned()),
                Err(e) => {
                    let e = e.into_service_error();
                    let (code, message) = service_error(&e);
                    if e.is_invalid_ciphertext_exception() {
                        Ok(json!({"error": code, "message": message}))
                    } else {
                        Err(format!(
                            "expected InvalidCiphertextException, got {code}: {message}"
                        ))
                    }
                }
            },
        );
    }

    // GenerateDataKey, then Decrypt of its blob.
    let generated = client
        .generate_data_key()
        .key_id(&key_arn)
        .key_spec(DataKeySpec::Aes256)
        .encryption_context("bucket", "logs")
        .send()
        .await;
    match generated {
        Ok(out) => {
            let plain = out
                .plaintext()
                .map(|b| b.as_ref().to_vec())
                .unwrap_or_default();
            let ok = report.check(
                "generate-data-key",
                expect_eq("KeyId", out.key_id(), Some(key_arn.as_str()))
                    .and_then(|()| expect_eq("Plaintext length", plain.len(), 32))
                    .map(|()| json!({"Plaintext": "32 bytes"})),
            );
            if let (true, Some(blob)) = (ok, out.ciphertext_blob()) {
                let back = client
                    .decrypt()
                    .ciphertext_blob(blob.clone())
                    .encryption_context("bucket", "logs")
                    .send()
                    .await;
                report.check(
                    "decrypt-data-key",
                    match back {
                        Ok(d) => expect_eq(
                            "Plaintext",
                            d.plaintext().map(|b| b.as_ref().to_vec()),
                            Some(plain),
                        )
                        .map(|()| json!({"Plaintext": "the data key"})),
                        Err(e) => Err(format!("{:?}", e.into_service_error())),
                    },
                );
            }
        }
        Err(e) => {
            report.check(
                "generate-data-key",
                Err(format!("{:?}", e.into_service_error())),
            );
        }
    }

    // ListKeys through the SDK's paginator, two keys a page.
    let mut pages = client.list_keys().limit(2).into_paginator().send();
    let mut found = 0;
    let mut listed = 0;
    let mut failure = None;
    while let Some(page) = pages.next().await {
        match page {
            Ok(p) => {
                listed += p.keys().len();
                found += p
                    .keys()
                    .iter()
                    .filter(|k| {
                        k.key_id() == Some(key_id.as_str()) && k.key_arn() == Some(key_arn.as_str())
                    })
                    .count();
            }
            Err(e) => {
                failure = Some(format!("{:?}", e.into_service_error()));
                break;
            }
        }
    }
    report.check(
        "list-keys",
        match failure {
            Some(e) => Err(e),
            None if found == 1 => Ok(json!({"listed once": true})),
            None => Err(format!(
                "the new key was listed {found} times among {listed} keys"
            )),
        },
    );

    // A principal without kms:Decrypt.
    let denied = (
        std::env::var("SEALTRAIL_SDK_DENIED_ACCESS_KEY_ID"),
        std::env::var("SEALTRAIL_SDK_DENIED_SECRET_ACCESS_KEY"),
        std::env::var("SEALTRAIL_SDK_DENIED_ARN"),
    );
    if let (Ok(akid), Ok(secret), Ok(arn), Some(blob)) = (denied.0, denied.1, denied.2, &blob) {
        let config = aws_sdk_kms::config::Builder::from(conf)
            .credentials_provider(Credentials::new(akid, secret, None, None, "denied"))
            .build();
        let other = Client::from_conf(config);
        let refused = other
            .decrypt()
            .ciphertext_blob(blob.clone())
            .encryption_context("purpose", "conformance")
            .encryption_context("client", "aws-sdk-rust")
            .send()
            .await;
        let want = format!(
            "User: {arn} is not authorized to perform: kms:Decrypt on resource: {key_arn} because no identity-based policy allows the kms:Decrypt action"
        );
        let result = match refused {
            Ok(_) => Err("Decrypt by a principal without kms:Decrypt succeeded".to_owned()),
            Err(e) => {
                let (code, message) = service_error(&e.into_service_error());
                expect_eq("code", code.as_str(), "AccessDeniedException")
                    .and_then(|()| expect_eq("message", message.as_str(), want.as_str()))
                    .map(|()| json!({"error": code, "message": message}))
            }
        };
        let step = match result {
            Ok(observation) => Step {
                name: "access-denied",
                ok: true,
                detail: String::new(),
                observation,
                compare: false,
            },
            Err(detail) => Step {
                name: "access-denied",
                ok: false,
                detail,
                observation: Value::Null,
                compare: false,
            },
        };
        report.emit(step);
    }
}
