//! A small JSON reader that keeps the byte offset of every value and object key.
//!
//! `serde_json` accepts duplicate keys silently (the last one wins) and forgets where a value
//! was, so policy documents are read with this instead. It follows RFC 8259 strictly (no
//! comments, no trailing commas, no NaN) and limits nesting depth so that hostile input
//! cannot exhaust the stack.

use std::fmt::Write as _;

/// Deepest nesting accepted. A policy needs six levels; this leaves room for lint-only
/// oddities and still keeps recursion shallow.
const MAX_DEPTH: usize = 64;

/// A JSON value with the byte offset where it starts.
#[derive(Debug, Clone)]
pub(crate) struct Json {
    pub(crate) at: usize,
    pub(crate) kind: JsonKind,
}

/// An object member: the key, where the key starts, and the value.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub(crate) key: String,
    pub(crate) key_at: usize,
    pub(crate) value: Json,
}

#[derive(Debug, Clone)]
pub(crate) enum JsonKind {
    Null,
    Bool(bool),
    /// The number exactly as written (already checked against the JSON grammar).
    Number(String),
    String(String),
    Array(Vec<Json>),
    /// Members in document order. Duplicate keys are rejected while reading.
    Object(Vec<Member>),
}

impl JsonKind {
    /// `string`, `number`, ... for error messages.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Bool(_) => "boolean",
            Self::Number(_) => "number",
            Self::String(_) => "string",
            Self::Array(_) => "array",
            Self::Object(_) => "object",
        }
    }
}

/// Why the text is not JSON, and the byte offset where that was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub(crate) at: usize,
    pub(crate) what: SyntaxErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SyntaxErrorKind {
    /// Something else was expected (the text says what).
    Expected(&'static str),
    /// The same key twice in one object.
    DuplicateKey(String),
    /// Nesting deeper than [`MAX_DEPTH`].
    TooDeep,
    /// Text after the top-level value.
    TrailingText,
    /// A bad escape or control character in a string.
    BadString(&'static str),
}

/// Reads one JSON document.
pub(crate) fn read(text: &str) -> Result<Json, SyntaxError> {
    let mut r = Reader {
        s: text.as_bytes(),
        text,
        pos: 0,
    };
    r.skip_ws();
    let v = r.value(0)?;
    r.skip_ws();
    if r.pos < r.s.len() {
        return Err(r.err(SyntaxErrorKind::TrailingText));
    }
    Ok(v)
}

struct Reader<'a> {
    s: &'a [u8],
    text: &'a str,
    pos: usize,
}

impl Reader<'_> {
    fn err(&self, what: SyntaxErrorKind) -> SyntaxError {
        SyntaxError { at: self.pos, what }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(self.err(SyntaxErrorKind::TooDeep));
        }
        let at = self.pos;
        let kind = match self.peek() {
            Some(b'{') => self.object(depth)?,
            Some(b'[') => self.array(depth)?,
            Some(b'"') => JsonKind::String(self.string()?),
            Some(b't') => self.literal("true", JsonKind::Bool(true))?,
            Some(b'f') => self.literal("false", JsonKind::Bool(false))?,
            Some(b'n') => self.literal("null", JsonKind::Null)?,
            Some(b'-' | b'0'..=b'9') => self.number()?,
            _ => return Err(self.err(SyntaxErrorKind::Expected("a JSON value"))),
        };
        Ok(Json { at, kind })
    }

    fn literal(&mut self, word: &'static str, kind: JsonKind) -> Result<JsonKind, SyntaxError> {
        if self.s.get(self.pos..self.pos + word.len()) == Some(word.as_bytes()) {
            self.pos += word.len();
            Ok(kind)
        } else {
            Err(self.err(SyntaxErrorKind::Expected("a JSON value")))
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<JsonKind, SyntaxError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.err(SyntaxErrorKind::Expected("a digit"))),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.err(SyntaxErrorKind::Expected("a digit after `.`")));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.err(SyntaxErrorKind::Expected("a digit in the exponent")));
            }
        }
        let raw = self.text.get(start..self.pos).unwrap_or_default();
        Ok(JsonKind::Number(raw.to_owned()))
    }

    fn hex4(&mut self) -> Result<u32, SyntaxError> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = match self.peek() {
                Some(b @ b'0'..=b'9') => b - b'0',
                Some(b @ b'a'..=b'f') => b - b'a' + 10,
                Some(b @ b'A'..=b'F') => b - b'A' + 10,
                _ => return Err(self.err(SyntaxErrorKind::BadString("bad `\\u` escape"))),
            };
            v = v * 16 + u32::from(d);
            self.pos += 1;
        }
        Ok(v)
    }

    fn string(&mut self) -> Result<String, SyntaxError> {
        // Opening quote.
        self.pos += 1;
        let mut out = String::new();
        loop {
            // Copy the run of plain characters in one go.
            let run_start = self.pos;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            out.push_str(self.text.get(run_start..self.pos).unwrap_or_default());
            match self.peek() {
                None => return Err(self.err(SyntaxErrorKind::BadString("unterminated string"))),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let c = match self.peek() {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.pos += 1;
                            let c = self.unicode_escape()?;
                            out.push(c);
                            continue;
                        }
                        _ => return Err(self.err(SyntaxErrorKind::BadString("bad escape"))),
                    };
                    self.pos += 1;
                    out.push(c);
                }
                Some(_) => {
                    return Err(self.err(SyntaxErrorKind::BadString("control character in string")));
                }
            }
        }
    }

    /// After `\u`: one code unit, or a surrogate pair written as two escapes.
    fn unicode_escape(&mut self) -> Result<char, SyntaxError> {
        let hi = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&hi) {
            if self.s.get(self.pos..self.pos + 2) != Some(b"\\u") {
                return Err(self.err(SyntaxErrorKind::BadString("unpaired surrogate")));
            }
            self.pos += 2;
            let lo = self.hex4()?;
            if !(0xDC00..0xE000).contains(&lo) {
                return Err(self.err(SyntaxErrorKind::BadString("unpaired surrogate")));
            }
            0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
        } else {
            hi
        };
        char::from_u32(code)
            .ok_or_else(|| self.err(SyntaxErrorKind::BadString("unpaired surrogate")))
    }

    fn array(&mut self, depth: usize) -> Result<JsonKind, SyntaxError> {
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(JsonKind::Array(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(JsonKind::Array(items));
                }
                _ => return Err(self.err(SyntaxErrorKind::Expected("`,` or `]`"))),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<JsonKind, SyntaxError> {
        self.pos += 1;
        let mut members: Vec<Member> = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(JsonKind::Object(members));
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.err(SyntaxErrorKind::Expected("a string key")));
            }
            let key_at = self.pos;
            let key = self.string()?;
            if members.iter().any(|m| m.key == key) {
                return Err(SyntaxError {
                    at: key_at,
                    what: SyntaxErrorKind::DuplicateKey(key),
                });
            }
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.err(SyntaxErrorKind::Expected("`:`")));
            }
            self.pos += 1;
            self.skip_ws();
            let value = self.value(depth + 1)?;
            members.push(Member { key, key_at, value });
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(JsonKind::Object(members));
                }
                _ => return Err(self.err(SyntaxErrorKind::Expected("`,` or `}`"))),
            }
        }
    }
}

/// Line and column (both 1-based, column counted in characters) of a byte offset.
#[cfg(test)]
pub(crate) fn line_col(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let before = text.get(..at).unwrap_or(text);
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

/// Writes `s` as a JSON string literal (with quotes) to `out`.
pub(crate) fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_values_with_offsets() {
        let v = read(r#" {"a": [1, -2.5e3, "x\u00e9\ud83d\ude00"], "b": {"c": null, "d": true}} "#)
            .unwrap();
        let JsonKind::Object(m) = v.kind else {
            panic!()
        };
        assert_eq!(m[0].key, "a");
        assert_eq!(m[0].key_at, 2);
        let JsonKind::Array(items) = &m[0].value.kind else {
            panic!()
        };
        assert!(matches!(&items[1].kind, JsonKind::Number(n) if n == "-2.5e3"));
        assert!(matches!(&items[2].kind, JsonKind::String(s) if s == "xé😀"));
    }

    #[test]
    fn rejects_duplicates_and_junk() {
        let e = read(
            r#"{"a":1,
 "a":2}"#,
        )
        .unwrap_err();
        assert_eq!(e.what, SyntaxErrorKind::DuplicateKey("a".into()));
        assert_eq!(
            line_col(
                r#"{"a":1,
 "a":2}"#,
                e.at
            ),
            (2, 2)
        );
        for bad in [
            "",
            "{",
            "[1,]",
            "{\"a\" 1}",
            "01",
            "1.",
            "\"\\x\"",
            "\"\u{1}\"",
            "[] x",
            "nul",
            "\"\\ud800\"",
        ] {
            assert!(read(bad).is_err(), "{bad:?}");
        }
        let deep = "[".repeat(100) + &"]".repeat(100);
        assert_eq!(read(&deep).unwrap_err().what, SyntaxErrorKind::TooDeep);
    }

    #[test]
    fn writes_escaped_strings() {
        let mut s = String::new();
        write_string(&mut s, "a\"b\\c\n\u{1}é");
        assert_eq!(s, r#""a\"b\\c\n\u0001é""#);
        let back = read(&s).unwrap();
        assert!(matches!(back.kind, JsonKind::String(t) if t == "a\"b\\c\n\u{1}é"));
    }
}
