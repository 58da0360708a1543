//! The encryption context (spec §4.6): a string map bound to a ciphertext as additional
//! authenticated data, in a canonical form so that only the order of pairs may differ.

use std::collections::BTreeMap;

use sealtrail_policy::{Context, ContextValue, Value};

/// An encryption context. Keys are unique and kept sorted (by their UTF-8 bytes), so two
/// contexts with the same pairs in any order are equal and have the same [`Self::aad`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EncryptionContext(BTreeMap<String, String>);

impl EncryptionContext {
    /// An empty context.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a pair (a later value for the same key replaces an earlier one).
    #[must_use]
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.0.insert(key.into(), value.into());
        self
    }

    /// The pairs, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// True when there are no pairs.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The canonical byte form bound as AAD:
    ///
    /// ```text
    /// u32 BE  number of pairs
    /// then, for each pair in ascending byte order of the key:
    ///   u32 BE  key length in bytes,   key (UTF-8)
    ///   u32 BE  value length in bytes, value (UTF-8)
    /// ```
    ///
    /// Lengths make the encoding unambiguous (`{"ab":"c"}` and `{"a":"bc"}` differ), and the
    /// sort makes it independent of the order the client sent.
    #[must_use]
    pub fn aad(&self) -> Vec<u8> {
        let size = 4 + self
            .0
            .iter()
            .map(|(k, v)| 8 + k.len() + v.len())
            .sum::<usize>();
        let mut out = Vec::with_capacity(size);
        push_len(&mut out, self.0.len());
        for (k, v) in &self.0 {
            push_len(&mut out, k.len());
            out.extend_from_slice(k.as_bytes());
            push_len(&mut out, v.len());
            out.extend_from_slice(v.as_bytes());
        }
        out
    }

    /// Sets the condition keys the context gives a request: `kms:EncryptionContext:<key>`
    /// for each pair, and `kms:EncryptionContextKeys` (all keys) when there is any pair.
    pub fn add_condition_keys(&self, ctx: &mut Context) {
        if self.0.is_empty() {
            return;
        }
        for (k, v) in &self.0 {
            ctx.insert(
                &format!("kms:EncryptionContext:{k}"),
                Value::string(v.as_str()),
            );
        }
        ctx.insert(
            "kms:EncryptionContextKeys",
            ContextValue::Multi(self.0.keys().map(|k| Value::string(k.as_str())).collect()),
        );
    }
}

impl FromIterator<(String, String)> for EncryptionContext {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

fn push_len(out: &mut Vec<u8>, n: usize) {
    let n = u32::try_from(n).unwrap_or(u32::MAX);
    out.extend_from_slice(&n.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aad_is_order_independent_and_unambiguous() {
        let a = EncryptionContext::new().with("b", "2").with("a", "1");
        let b: EncryptionContext = [("a".to_owned(), "1".to_owned()), ("b".into(), "2".into())]
            .into_iter()
            .collect();
        assert_eq!(a, b);
        assert_eq!(a.aad(), b.aad());
        assert_eq!(
            a.aad(),
            [
                &[0, 0, 0, 2][..],
                &[0, 0, 0, 1],
                b"a",
                &[0, 0, 0, 1],
                b"1",
                &[0, 0, 0, 1],
                b"b",
                &[0, 0, 0, 1],
                b"2"
            ]
            .concat()
        );
        let x = EncryptionContext::new().with("ab", "c");
        let y = EncryptionContext::new().with("a", "bc");
        assert_ne!(x.aad(), y.aad());
        assert_eq!(EncryptionContext::new().aad(), vec![0, 0, 0, 0]);
        // Case matters.
        assert_ne!(
            EncryptionContext::new().with("A", "1").aad(),
            EncryptionContext::new().with("a", "1").aad()
        );
    }

    #[test]
    fn condition_keys() {
        let mut ctx = Context::new();
        EncryptionContext::new()
            .with("aws:cloudtrail:arn", "arn:t")
            .with("Dept", "x")
            .add_condition_keys(&mut ctx);
        assert_eq!(
            ctx.get("kms:encryptioncontext:aws:cloudtrail:arn")
                .unwrap()
                .values()[0]
                .as_str(),
            "arn:t"
        );
        assert_eq!(
            ctx.get("kms:encryptioncontextkeys").unwrap().values().len(),
            2
        );
        let mut empty = Context::new();
        EncryptionContext::new().add_condition_keys(&mut empty);
        assert!(empty.get("kms:encryptioncontextkeys").is_none());
    }
}
