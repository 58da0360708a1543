//! Compiled text patterns: literals, `*` and `?` wildcards, and policy variables.
//!
//! A pattern is compiled once when the policy is parsed and matched many times without
//! allocating: variables are looked up in the request while matching, and the text they stand
//! for is always taken literally (a `*` in a user name is not a wildcard).

/// Looks up the value of a policy variable (`${aws:username}`) by lower-cased key name.
pub(crate) trait Vars {
    /// The single value of the context key named `key` (already lower case, with its
    /// [`key_hash`]), if present.
    fn var(&self, key: &str, hash: u64) -> Option<&str>;
}

/// No variables at all (used for lint-time and test-time matching).
pub(crate) struct NoVars;

impl Vars for NoVars {
    fn var(&self, _key: &str, _hash: u64) -> Option<&str> {
        None
    }
}

/// How letters compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Case {
    /// Exactly.
    Sensitive,
    /// ASCII letters fold (actions, service names).
    Ascii,
    /// Full Unicode lower-casing (`...IgnoreCase` operators).
    Unicode,
}

/// A `${...}` reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Var {
    /// The context key, lower case.
    pub(crate) key: Box<str>,
    /// [`key_hash`] of `key`.
    pub(crate) hash: u64,
    /// The text after `, '` ... `'`, if any.
    pub(crate) default: Option<Box<str>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    Lit(Box<str>),
    Star,
    One,
    Var(Var),
}

/// Fast paths decided at compile time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Exactly `*`.
    Any,
    /// One literal (or empty): plain comparison.
    Exact,
    /// A literal followed by `*`.
    Prefix,
    /// Anything else.
    General,
}

/// Why a pattern does not compile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PatternError {
    /// `${` without a closing `}`.
    Unterminated,
    /// `${}` or a malformed default.
    BadVariable(String),
}

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pattern {
    toks: Box<[Tok]>,
    shape: Shape,
}

impl Pattern {
    /// Compiles `text`. With `wildcards`, `*` and `?` are wildcards; with `variables`,
    /// `${...}` is a policy variable (policy version 2012-10-17).
    pub(crate) fn compile(
        text: &str,
        wildcards: bool,
        variables: bool,
    ) -> Result<Self, PatternError> {
        let mut toks: Vec<Tok> = Vec::new();
        let mut lit = String::new();
        let flush = |lit: &mut String, toks: &mut Vec<Tok>| {
            if !lit.is_empty() {
                toks.push(Tok::Lit(std::mem::take(lit).into_boxed_str()));
            }
        };
        let mut rest = text;
        while let Some(c) = rest.chars().next() {
            if variables && rest.starts_with("${") {
                let Some(end) = rest.find('}') else {
                    return Err(PatternError::Unterminated);
                };
                let body = rest.get(2..end).unwrap_or_default();
                rest = rest.get(end + 1..).unwrap_or_default();
                match body {
                    "*" => lit.push('*'),
                    "?" => lit.push('?'),
                    "$" => lit.push('$'),
                    _ => {
                        flush(&mut lit, &mut toks);
                        toks.push(Tok::Var(parse_var(body)?));
                    }
                }
                continue;
            }
            rest = rest.get(c.len_utf8()..).unwrap_or_default();
            match c {
                '*' if wildcards => {
                    flush(&mut lit, &mut toks);
                    // `**` is the same as `*`.
                    if toks.last() != Some(&Tok::Star) {
                        toks.push(Tok::Star);
                    }
                }
                '?' if wildcards => {
                    flush(&mut lit, &mut toks);
                    toks.push(Tok::One);
                }
                c => lit.push(c),
            }
        }
        flush(&mut lit, &mut toks);
        let shape = match toks.as_slice() {
            [Tok::Star] => Shape::Any,
            [] | [Tok::Lit(_)] => Shape::Exact,
            [Tok::Lit(_), Tok::Star] => Shape::Prefix,
            _ => Shape::General,
        };
        Ok(Self {
            toks: toks.into_boxed_slice(),
            shape,
        })
    }

    /// The variables in this pattern.
    #[cfg(test)]
    pub(crate) fn variables(&self) -> impl Iterator<Item = &Var> {
        self.toks.iter().filter_map(|t| match t {
            Tok::Var(v) => Some(v),
            _ => None,
        })
    }

    /// The literal text when the pattern has no wildcard and no variable.
    pub(crate) fn literal(&self) -> Option<&str> {
        match &*self.toks {
            [] => Some(""),
            [Tok::Lit(s)] => Some(s),
            _ => None,
        }
    }

    /// Matches the whole of `input`.
    pub(crate) fn matches<V: Vars + ?Sized>(&self, input: &str, case: Case, vars: &V) -> bool {
        match (self.shape, &*self.toks) {
            (Shape::Any, _) => true,
            (Shape::Exact, []) => input.is_empty(),
            (Shape::Exact, [Tok::Lit(s)]) => match case {
                Case::Sensitive => input == &**s,
                Case::Ascii => input.eq_ignore_ascii_case(s),
                Case::Unicode => prefix(input, s, case) == Some(input.len()),
            },
            (Shape::Prefix, [Tok::Lit(s), Tok::Star]) => prefix(input, s, case).is_some(),
            _ => glob(&self.toks, input, case, vars),
        }
    }
}

fn parse_var(body: &str) -> Result<Var, PatternError> {
    let bad = || PatternError::BadVariable(body.to_owned());
    let (name, default) = match body.split_once(',') {
        None => (body.trim(), None),
        Some((name, d)) => {
            let d = d.trim();
            let d = d
                .strip_prefix('\'')
                .and_then(|d| d.strip_suffix('\''))
                .ok_or_else(bad)?;
            (name.trim(), Some(d.to_owned().into_boxed_str()))
        }
    };
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(bad());
    }
    let key = name.to_lowercase();
    Ok(Var {
        hash: key_hash(&key),
        key: key.into_boxed_str(),
        default,
    })
}

/// If `input` starts with `lit` (under `case`), the number of input bytes it covers.
fn prefix(input: &str, lit: &str, case: Case) -> Option<usize> {
    match case {
        Case::Sensitive => input.starts_with(lit).then_some(lit.len()),
        Case::Ascii => {
            let head = input.as_bytes().get(..lit.len())?;
            head.eq_ignore_ascii_case(lit.as_bytes())
                .then_some(lit.len())
        }
        Case::Unicode => {
            let mut used = 0;
            let mut inp = input.chars();
            for pc in lit.chars() {
                let ic = inp.next()?;
                if ic != pc && !ic.to_lowercase().eq(pc.to_lowercase()) {
                    return None;
                }
                used += ic.len_utf8();
            }
            Some(used)
        }
    }
}

fn resolve<'a, V: Vars + ?Sized>(v: &'a Var, vars: &'a V) -> Option<&'a str> {
    vars.var(&v.key, v.hash).or(v.default.as_deref())
}

fn char_len_at(input: &str, pos: usize) -> Option<usize> {
    input.get(pos..)?.chars().next().map(char::len_utf8)
}

/// Wildcard matching with one backtracking point (the last `*` seen), which is complete for
/// patterns whose only variable-length element is `*`.
fn glob<V: Vars + ?Sized>(toks: &[Tok], input: &str, case: Case, vars: &V) -> bool {
    let mut ti = 0;
    let mut pos = 0;
    // The token after the last `*` seen, and where that `*`'s match currently ends.
    let mut star: Option<(usize, usize)> = None;
    loop {
        let text = match toks.get(ti) {
            Some(Tok::Star) => {
                if ti + 1 == toks.len() {
                    // A trailing `*` matches whatever is left.
                    return true;
                }
                star = Some((ti + 1, pos));
                ti += 1;
                continue;
            }
            Some(Tok::One) => {
                if let Some(n) = char_len_at(input, pos) {
                    pos += n;
                    ti += 1;
                    continue;
                }
                None
            }
            Some(Tok::Lit(s)) => Some(&**s),
            Some(Tok::Var(v)) => match resolve(v, vars) {
                Some(t) => Some(t),
                None => return false,
            },
            None if pos == input.len() => return true,
            None => None,
        };
        if let Some(text) = text {
            let rest = input.get(pos..).unwrap_or_default();
            match star {
                // Right after a `*` and compared exactly: jump to the next occurrence (the
                // `*` swallows what lies before it) instead of trying every position.
                Some((t, _)) if t == ti && case == Case::Sensitive => match find(rest, text) {
                    Some(off) => {
                        star = Some((t, pos + off));
                        pos += off + text.len();
                        ti += 1;
                        continue;
                    }
                    None => return false,
                },
                _ => {
                    if let Some(n) = prefix(rest, text, case) {
                        pos += n;
                        ti += 1;
                        continue;
                    }
                }
            }
        }
        // Mismatch: let the last `*` swallow one more character.
        match star {
            Some((t, p)) => match char_len_at(input, p) {
                Some(n) => {
                    star = Some((t, p + n));
                    ti = t;
                    pos = p + n;
                }
                None => return false,
            },
            None => return false,
        }
    }
}

/// The first byte offset of `needle` in `hay`. A plain scan: the texts are short, so this
/// beats `str::find`, whose set-up cost dominates here. A match always starts on a character
/// boundary because `needle` starts with a leading byte.
fn find(hay: &str, needle: &str) -> Option<usize> {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    let Some(&first) = n.first() else {
        return Some(0);
    };
    let last_start = h.len().checked_sub(n.len())?;
    let mut i = 0;
    while i <= last_start {
        match h.get(i..=last_start)?.iter().position(|&b| b == first) {
            None => return None,
            Some(off) => {
                let at = i + off;
                if h.get(at..at + n.len()) == Some(n) {
                    return Some(at);
                }
                i = at + 1;
            }
        }
    }
    None
}

/// FNV-1a of a (lower-case) key name: compared before the text when looking keys up.
pub(crate) fn key_hash(key: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Splits `s` at its first five `:` that are not inside `${...}`; `None` when there are
/// fewer than five.
pub(crate) fn split_arn(s: &str, variables: bool) -> Option<[&str; 6]> {
    let mut out = [""; 6];
    let mut start = 0;
    let mut field = 0;
    let mut in_var = false;
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && field < 5 {
        match b.get(i) {
            Some(b'$') if variables && b.get(i + 1) == Some(&b'{') => in_var = true,
            Some(b'}') if in_var => in_var = false,
            Some(b':') if !in_var => {
                *out.get_mut(field)? = s.get(start..i)?;
                field += 1;
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if field < 5 {
        return None;
    }
    *out.get_mut(5)? = s.get(start..)?;
    Some(out)
}

/// An ARN pattern matched segment by segment (`arn:partition:service:region:account:resource`),
/// each segment with `*` and `?`; a `*` never crosses a `:` between the first six fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ArnPattern {
    segs: Box<[Pattern; 6]>,
}

impl ArnPattern {
    /// Compiles an ARN pattern; `None` when `text` has fewer than six fields.
    pub(crate) fn compile(text: &str, variables: bool) -> Option<Result<Self, PatternError>> {
        Self::compile_with(text, variables, variables)
    }

    /// Compiles the ARN of a `Resource` element: policy variables are expanded only in the
    /// resource part, after the fifth colon; before it `${...}` is literal text.
    pub(crate) fn compile_resource(
        text: &str,
        variables: bool,
    ) -> Option<Result<Self, PatternError>> {
        Self::compile_with(text, false, variables)
    }

    fn compile_with(
        text: &str,
        head_vars: bool,
        tail_vars: bool,
    ) -> Option<Result<Self, PatternError>> {
        let fields = split_arn(text, head_vars || tail_vars)?;
        let mut segs: Vec<Pattern> = Vec::with_capacity(6);
        for (i, f) in fields.into_iter().enumerate() {
            let vars = if i == 5 { tail_vars } else { head_vars };
            match Pattern::compile(f, true, vars) {
                Ok(p) => segs.push(p),
                Err(e) => return Some(Err(e)),
            }
        }
        let segs: Box<[Pattern; 6]> = segs.into_boxed_slice().try_into().ok()?;
        Some(Ok(Self { segs }))
    }

    /// The six segment patterns.
    pub(crate) fn segments(&self) -> &[Pattern; 6] {
        &self.segs
    }

    /// Matches already-split fields.
    pub(crate) fn matches_fields<V: Vars + ?Sized>(&self, fields: [&str; 6], vars: &V) -> bool {
        self.segs
            .iter()
            .zip(fields)
            .all(|(p, f)| p.matches(f, Case::Sensitive, vars))
    }

    /// Matches an ARN given as text; text that is not an ARN never matches.
    pub(crate) fn matches<V: Vars + ?Sized>(&self, input: &str, vars: &V) -> bool {
        split_arn(input, false).is_some_and(|f| self.matches_fields(f, vars))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Map(Vec<(&'static str, &'static str)>);
    impl Vars for Map {
        fn var(&self, key: &str, _hash: u64) -> Option<&str> {
            self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
        }
    }

    fn m(p: &str, s: &str) -> bool {
        Pattern::compile(p, true, true).unwrap().matches(
            s,
            Case::Sensitive,
            &Map(vec![("aws:username", "bob")]),
        )
    }

    #[test]
    fn globs() {
        assert!(m("*", ""));
        assert!(m("a*", "abc"));
        assert!(!m("a*", "bac"));
        assert!(m("*c", "abc"));
        assert!(m("a*b*c", "aXbYbZc"));
        assert!(!m("a*b*c", "aXbYbZ"));
        assert!(m("a?c", "abc"));
        assert!(m("a?c", "aéc"));
        assert!(!m("a?c", "ac"));
        assert!(m("**a", "ba"));
        assert!(m("x${aws:username}*", "xbobby"));
        assert!(!m("x${aws:username}", "x${aws:username}"));
        assert!(m("${*}${?}${$}", "*?$"));
        assert!(!m("${*}", "x"));
        assert!(m("${aws:missing, 'd*'}", "d*"));
        assert!(!m("${aws:missing}", ""));
        assert!(m("home/${aws:username}/*", "home/bob/x/y"));
        assert!(!m("home/${aws:username}/*", "home/alice/x"));
    }

    /// Reference matcher: dynamic programming over characters.
    fn reference(p: &str, s: &str) -> bool {
        let p: Vec<char> = p.chars().collect();
        let s: Vec<char> = s.chars().collect();
        let mut dp = vec![vec![false; s.len() + 1]; p.len() + 1];
        dp[0][0] = true;
        for i in 1..=p.len() {
            dp[i][0] = dp[i - 1][0] && p[i - 1] == '*';
            for j in 1..=s.len() {
                dp[i][j] = match p[i - 1] {
                    '*' => dp[i - 1][j] || dp[i][j - 1],
                    '?' => dp[i - 1][j - 1],
                    c => dp[i - 1][j - 1] && c == s[j - 1],
                };
            }
        }
        dp[p.len()][s.len()]
    }

    proptest::proptest! {
        #[test]
        fn glob_agrees_with_reference(p in "[ab*?]{0,8}", s in "[abé]{0,10}") {
            let compiled = Pattern::compile(&p, true, false).unwrap();
            proptest::prop_assert_eq!(compiled.matches(&s, Case::Sensitive, &NoVars), reference(&p, &s), "{} {}", p, s);
        }
    }

    #[test]
    fn find_matches_str_find() {
        for (h, n) in [
            ("abcabc", "ca"),
            ("aaa", "aa"),
            ("", "a"),
            ("a", ""),
            ("éa", "a"),
            ("xyz", "xyzw"),
            ("abc", "c"),
        ] {
            assert_eq!(find(h, n), h.find(n), "{h} {n}");
        }
    }

    #[test]
    fn literal_mode_and_case() {
        let p = Pattern::compile("a*${x}", false, false).unwrap();
        assert!(p.matches("a*${x}", Case::Sensitive, &NoVars));
        assert!(!p.matches("abc", Case::Sensitive, &NoVars));
        let a = Pattern::compile("kms:generatedatakey*", true, false).unwrap();
        assert!(a.matches("KMS:GenerateDataKeyWithoutPlaintext", Case::Ascii, &NoVars));
        let u = Pattern::compile("ÉCOLE", false, false).unwrap();
        assert!(u.matches("école", Case::Unicode, &NoVars));
        assert!(!u.matches("école", Case::Sensitive, &NoVars));
        assert!(Pattern::compile("${aws:x", true, true).is_err());
        assert!(Pattern::compile("${}", true, true).is_err());
        assert!(Pattern::compile("${a, b}", true, true).is_err());
    }

    #[test]
    fn arns_match_per_segment() {
        let p = ArnPattern::compile("arn:aws:svc:*:111122223333:finance/*", true)
            .unwrap()
            .unwrap();
        assert!(p.matches("arn:aws:svc:us-east-2:111122223333:finance/x", &NoVars));
        assert!(!p.matches(
            "arn:aws:svc:us-east-2:999999999999:store/abc:111122223333:finance/x",
            &NoVars
        ));
        assert!(!p.matches("not-an-arn", &NoVars));
        let v = ArnPattern::compile("arn:aws:iam::${aws:username}:user/*", true)
            .unwrap()
            .unwrap();
        assert_eq!(v.segments()[4].variables().count(), 1);
        assert!(ArnPattern::compile("arn:aws:s3", true).is_none());
    }
}
