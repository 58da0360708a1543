//! Request-member constraints (length, range, pattern, enum, required) checked as AWS's
//! front end checks them, with its `ValidationException` text:
//! `1 validation error detected: Value 'x' at 'aliasName' failed to satisfy constraint: Member
//! must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$`.
//!
//! Member paths are written as AWS writes them: lower camel case (`keyId`,
//! `numberOfBytes`), list members as `tags.1.member.tagKey`. Sensitive members (plaintext)
//! and blobs are reported without their value.

use std::fmt;

/// One broken constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    value: Shown,
    member: String,
    constraint: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Shown {
    Null,
    Hidden,
    Text(String),
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Shown::Null => write!(f, "Value null at '{}'", self.member)?,
            Shown::Hidden => write!(f, "Value at '{}'", self.member)?,
            Shown::Text(v) => write!(f, "Value '{v}' at '{}'", self.member)?,
        }
        write!(f, " failed to satisfy constraint: {}", self.constraint)
    }
}

/// Every broken constraint of one request, in member order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ValidationErrors(Vec<Violation>);

impl ValidationErrors {
    /// The violations.
    #[must_use]
    pub fn violations(&self) -> &[Violation] {
        &self.0
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(
            f,
            "{n} validation error{} detected: ",
            if n == 1 { "" } else { "s" }
        )?;
        for (i, v) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{v}")?;
        }
        Ok(())
    }
}

/// Collects violations while a request is checked; [`Checker::finish`] turns them into an
/// error.
#[derive(Debug, Default)]
pub struct Checker(Vec<Violation>);

impl Checker {
    /// An empty checker.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn push(&mut self, value: Shown, member: &str, constraint: String) {
        self.0.push(Violation {
            value,
            member: member.to_owned(),
            constraint,
        });
    }

    /// A required member must be present.
    pub fn required<T>(&mut self, member: &str, v: Option<&T>) {
        if v.is_none() {
            self.push(Shown::Null, member, "Member must not be null".to_owned());
        }
    }

    /// A string's length (in characters) must be within `min..=max`.
    pub fn length(&mut self, member: &str, v: Option<&str>, min: usize, max: usize) {
        let Some(v) = v else { return };
        let n = v.chars().count();
        if n < min {
            self.push(
                Shown::Text(v.to_owned()),
                member,
                format!("Member must have length greater than or equal to {min}"),
            );
        } else if n > max {
            self.push(
                Shown::Text(v.to_owned()),
                member,
                format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    /// A blob's or a sensitive member's length (in bytes) must be within `min..=max`; the
    /// value is not shown.
    pub fn hidden_length(&mut self, member: &str, len: Option<usize>, min: usize, max: usize) {
        let Some(n) = len else { return };
        if n < min {
            self.push(
                Shown::Hidden,
                member,
                format!("Member must have length greater than or equal to {min}"),
            );
        } else if n > max {
            self.push(
                Shown::Hidden,
                member,
                format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    /// A list's length must be within `min..=max`.
    pub fn list_length(&mut self, member: &str, len: Option<usize>, min: usize, max: usize) {
        let Some(n) = len else { return };
        let shown = Shown::Text(format!("[{n} items]"));
        if n < min {
            self.push(
                shown,
                member,
                format!("Member must have length greater than or equal to {min}"),
            );
        } else if n > max {
            self.push(
                shown,
                member,
                format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    /// A number must be within `min..=max`.
    pub fn range(&mut self, member: &str, v: Option<i64>, min: i64, max: i64) {
        let Some(v) = v else { return };
        if v < min {
            self.push(
                Shown::Text(v.to_string()),
                member,
                format!("Member must have value greater than or equal to {min}"),
            );
        } else if v > max {
            self.push(
                Shown::Text(v.to_string()),
                member,
                format!("Member must have value less than or equal to {max}"),
            );
        }
    }

    /// A string must be one of `allowed`.
    pub fn one_of(&mut self, member: &str, v: Option<&str>, allowed: &[&str]) {
        let Some(v) = v else { return };
        if !allowed.contains(&v) {
            self.push(
                Shown::Text(v.to_owned()),
                member,
                format!(
                    "Member must satisfy enum value set: [{}]",
                    allowed.join(", ")
                ),
            );
        }
    }

    /// A string must match `pattern` (the model's regular expression, for the message), as
    /// decided by `ok`.
    pub fn pattern(
        &mut self,
        member: &str,
        v: Option<&str>,
        pattern: &str,
        ok: impl Fn(&str) -> bool,
    ) {
        let Some(v) = v else { return };
        if !ok(v) {
            self.push(
                Shown::Text(v.to_owned()),
                member,
                format!("Member must satisfy regular expression pattern: {pattern}"),
            );
        }
    }

    /// `Ok` when nothing was broken.
    ///
    /// # Errors
    /// [`ValidationErrors`] with every violation.
    pub fn finish(self) -> Result<(), ValidationErrors> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ValidationErrors(self.0))
        }
    }
}

/// `^[a-zA-Z0-9:/_-]+$` (alias names).
#[must_use]
pub fn is_alias_chars(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'/' | b'_' | b'-'))
}

/// `[\u0009\u000A\u000D\u0020-\u00FF]+` (policy documents).
#[must_use]
pub fn is_policy_chars(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| matches!(c, '\u{9}' | '\u{a}' | '\u{d}' | '\u{20}'..='\u{ff}'))
}

/// `[\u0020-\u00FF]*` (pagination markers).
#[must_use]
pub fn is_marker_chars(s: &str) -> bool {
    s.chars().all(|c| matches!(c, '\u{20}'..='\u{ff}'))
}

/// `[\w]+` (policy names).
#[must_use]
pub fn is_word_chars(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// `KeyIdType` (1 to 2048 characters), the most common check.
pub(crate) fn key_id(c: &mut Checker, member: &str, v: Option<&str>) {
    c.length(member, v, 1, 2048);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_error() {
        let mut c = Checker::new();
        c.pattern(
            "aliasName",
            Some("alias/b@d"),
            "^[a-zA-Z0-9:/_-]+$",
            is_alias_chars,
        );
        assert_eq!(
            c.finish().unwrap_err().to_string(),
            "1 validation error detected: Value 'alias/b@d' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$"
        );
    }

    #[test]
    fn several_errors_joined_by_semicolons() {
        let mut c = Checker::new();
        c.required::<String>("keyId", None);
        c.range("numberOfBytes", Some(0), 1, 1024);
        c.hidden_length("plaintext", Some(5000), 1, 4096);
        c.one_of("keySpec", Some("AES_512"), &["AES_256", "AES_128"]);
        assert_eq!(
            c.finish().unwrap_err().to_string(),
            "4 validation errors detected: \
             Value null at 'keyId' failed to satisfy constraint: Member must not be null; \
             Value '0' at 'numberOfBytes' failed to satisfy constraint: Member must have value greater than or equal to 1; \
             Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096; \
             Value 'AES_512' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]"
        );
    }

    #[test]
    fn lengths_count_characters() {
        let mut c = Checker::new();
        c.length("description", Some(&"é".repeat(8192)), 0, 8192);
        c.length("keyId", Some(""), 1, 2048);
        let e = c.finish().unwrap_err();
        assert_eq!(e.violations().len(), 1);
        assert!(e.to_string().contains("greater than or equal to 1"));
    }

    #[test]
    fn patterns() {
        assert!(is_alias_chars("alias/my-key_1:x"));
        assert!(!is_alias_chars("alias/my key"));
        assert!(is_policy_chars("{\"a\":\t\"é\"}\r\n"));
        assert!(!is_policy_chars("{\"a\": \"€\"}"));
        assert!(!is_policy_chars("a\u{1}"));
        assert!(is_marker_chars(""));
        assert!(is_word_chars("default"));
        assert!(!is_word_chars("de-fault"));
    }
}
