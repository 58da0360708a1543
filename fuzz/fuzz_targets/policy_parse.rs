//! Fuzzes the policy parser: arbitrary text must either parse or give an error, never panic
//! or overflow the stack; whatever parses must print and parse back to an equal policy, lint,
//! and evaluate.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sealtrail_policy::{
    Caller, Context, LintOptions, ParseOptions, Policy, PolicySet, Request, ResourceKind, Value, authorize, lint,
};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for options in [ParseOptions::infer(), ParseOptions::identity(), ParseOptions::key_policy(), ParseOptions::bucket_policy()] {
        let Ok(policy) = Policy::parse(text, &options) else {
            continue;
        };
        let printed = policy.to_json();
        let again = Policy::parse(&printed, &options).expect("printed policy parses");
        assert_eq!(policy, again, "round trip changed the policy");
        let _ = lint(&policy, &LintOptions::default());
        let mut ctx = Context::new();
        ctx.insert("aws:SourceArn", Value::string("arn:aws:cloudtrail:us-east-2:111122223333:trail/t"));
        ctx.insert("aws:SourceIp", Value::string("10.0.0.1"));
        let caller = Caller::parse("arn:aws:iam::111122223333:user/Alice").expect("caller");
        let resource = sealtrail_model::Arn::parse("arn:aws:kms:us-east-2:111122223333:key/k").expect("arn");
        let request = Request::new(caller, "kms:Decrypt", resource, ctx).expect("request");
        let set = PolicySet { identity: vec![policy.clone()], resource: Some((policy, ResourceKind::KmsKey)) };
        let _ = authorize(&request, &set);
    }
});
