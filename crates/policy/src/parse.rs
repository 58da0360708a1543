//! Policy JSON to [`Policy`]: checks the document shape, reports what is wrong and where,
//! and compiles every pattern and condition value so evaluation does no parsing.

use crate::ast::{
    ActionClause, ActionPattern, Condition, ConditionBlock, ConditionValue, Effect, OneOrMany,
    OperatorEntry, Policy, PolicyKind, PrincipalClause, PrincipalEntry, PrincipalId, PrincipalKind,
    PrincipalMatcher, PrincipalSpec, ResourceClause, ResourceKind, ResourceMatcher,
    ResourcePattern, ScalarKind, Span, Statement, Version,
};
use crate::condition::{self, Operator, OperatorError, SetOperator, ValueError};
use crate::error::{Location, ParseError, ParseErrorKind};
use crate::json::{self, Json, JsonKind, Member, SyntaxErrorKind};
use crate::pattern::{ArnPattern, Pattern, PatternError};

/// How a size limit is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SizeUnit {
    /// Bytes of the whole document (key and bucket policies).
    Bytes,
    /// Characters other than white space (IAM managed and inline policies).
    NonWhitespaceChars,
}

/// A document size limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SizeLimit {
    /// The largest accepted size.
    pub max: usize,
    /// How the size is counted.
    pub unit: SizeUnit,
}

/// What kind of policy to expect, and how large it may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ParseOptions {
    /// The kind, or `None` to infer it: a document whose statements name principals is a
    /// resource policy (of kind [`ResourceKind::Other`]), otherwise an identity policy.
    pub kind: Option<PolicyKind>,
    /// The size limit.
    pub limit: SizeLimit,
}

impl ParseOptions {
    /// A KMS key policy: at most 32,768 bytes (the limit in the KMS Developer Guide; the API
    /// model allows 131,072 characters, use [`ParseOptions::with_limit`] for that), only
    /// printable ASCII, Latin-1, tab, LF and CR; statements without `Action` or `Resource`
    /// are accepted and have no effect.
    #[must_use]
    pub fn key_policy() -> Self {
        Self {
            kind: Some(PolicyKind::Resource(ResourceKind::KmsKey)),
            limit: SizeLimit {
                max: 32_768,
                unit: SizeUnit::Bytes,
            },
        }
    }

    /// An S3 bucket policy: at most 20 KB (20,480 bytes).
    #[must_use]
    pub fn bucket_policy() -> Self {
        Self {
            kind: Some(PolicyKind::Resource(ResourceKind::S3Bucket)),
            limit: SizeLimit {
                max: 20_480,
                unit: SizeUnit::Bytes,
            },
        }
    }

    /// Another resource-based policy: at most 20,480 bytes.
    #[must_use]
    pub fn resource_policy() -> Self {
        Self {
            kind: Some(PolicyKind::Resource(ResourceKind::Other)),
            ..Self::bucket_policy()
        }
    }

    /// An IAM identity policy: at most 6,144 characters other than white space (the managed
    /// policy limit).
    #[must_use]
    pub fn identity() -> Self {
        Self {
            kind: Some(PolicyKind::Identity),
            limit: SizeLimit {
                max: 6_144,
                unit: SizeUnit::NonWhitespaceChars,
            },
        }
    }

    /// Infer the kind from the document; at most 131,072 bytes.
    #[must_use]
    pub fn infer() -> Self {
        Self {
            kind: None,
            limit: SizeLimit {
                max: 131_072,
                unit: SizeUnit::Bytes,
            },
        }
    }

    /// The options for a resource policy of `kind`.
    #[must_use]
    pub fn for_resource(kind: ResourceKind) -> Self {
        match kind {
            ResourceKind::KmsKey => Self::key_policy(),
            ResourceKind::S3Bucket => Self::bucket_policy(),
            ResourceKind::Other => Self::resource_policy(),
        }
    }

    /// The same options with another size limit.
    #[must_use]
    pub fn with_limit(mut self, limit: SizeLimit) -> Self {
        self.limit = limit;
        self
    }
}

impl Policy {
    /// Parses and compiles a policy document.
    ///
    /// # Errors
    /// [`ParseError`] says what is wrong and where: a document over the size limit, text that
    /// is not JSON, a duplicate or unknown element, a missing or conflicting element, a value
    /// of the wrong type, an invalid version, effect, principal, action, resource, condition
    /// operator, condition key, condition value or policy variable.
    pub fn parse(text: &str, options: &ParseOptions) -> std::result::Result<Self, ParseError> {
        let lines = LineIndex::new(text);
        let at = |offset: usize, pointer: &str| {
            let (line, column) = lines.line_col(text, offset);
            Location::new(line, column, pointer.to_owned())
        };
        let size = match options.limit.unit {
            SizeUnit::Bytes => text.len(),
            SizeUnit::NonWhitespaceChars => text.chars().filter(|c| !c.is_whitespace()).count(),
        };
        if size > options.limit.max {
            return Err(ParseError::new(
                ParseErrorKind::TooLarge {
                    size,
                    limit: options.limit.max,
                    unit: match options.limit.unit {
                        SizeUnit::Bytes => "bytes",
                        SizeUnit::NonWhitespaceChars => "non-whitespace characters",
                    },
                },
                at(0, ""),
            ));
        }
        if options.kind == Some(PolicyKind::Resource(ResourceKind::KmsKey))
            && let Some((i, c)) = text.char_indices().find(|&(_, c)| {
                !(matches!(c, '\t' | '\n' | '\r') || ('\u{20}'..='\u{ff}').contains(&c))
            })
        {
            return Err(ParseError::new(ParseErrorKind::BadCharacter(c), at(i, "")));
        }
        let doc = json::read(text).map_err(|e| {
            let kind = match e.what {
                SyntaxErrorKind::DuplicateKey(k) => ParseErrorKind::DuplicateKey(k),
                SyntaxErrorKind::Expected(what) => {
                    ParseErrorKind::Syntax(format!("expected {what}"))
                }
                SyntaxErrorKind::TooDeep => ParseErrorKind::Syntax("nested too deeply".to_owned()),
                SyntaxErrorKind::TrailingText => {
                    ParseErrorKind::Syntax("text after the end of the document".to_owned())
                }
                SyntaxErrorKind::BadString(why) => ParseErrorKind::Syntax(why.to_owned()),
            };
            ParseError::new(kind, at(e.at, ""))
        })?;
        let mut p = Parser {
            text,
            lines: &lines,
            kind: options.kind,
            variables: false,
        };
        p.policy(&doc)
    }
}

/// Start offsets of lines, for offset → line/column.
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub(crate) fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Self { starts }
    }

    pub(crate) fn line_col(&self, text: &str, offset: usize) -> (usize, usize) {
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts.get(line - 1).copied().unwrap_or(0);
        let column = text
            .get(start..offset.min(text.len()))
            .map_or(0, |s| s.chars().count())
            + 1;
        (line, column)
    }
}

/// Appends a JSON pointer segment, escaping `~` and `/`.
fn push_ptr(base: &str, seg: &str) -> String {
    let mut s = String::with_capacity(base.len() + seg.len() + 1);
    s.push_str(base);
    s.push('/');
    for c in seg.chars() {
        match c {
            '~' => s.push_str("~0"),
            '/' => s.push_str("~1"),
            c => s.push(c),
        }
    }
    s
}

struct Parser<'a> {
    text: &'a str,
    lines: &'a LineIndex,
    kind: Option<PolicyKind>,
    variables: bool,
}

type Result<T> = std::result::Result<T, ParseError>;

/// A string value, its offset and its JSON pointer.
type Located<'j> = (&'j str, usize, String);

const POLICY_ELEMENTS: [&str; 3] = ["Version", "Id", "Statement"];
const STATEMENT_ELEMENTS: [&str; 9] = [
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

impl Parser<'_> {
    fn span(&self, offset: usize, pointer: &str) -> Span {
        let (line, column) = self.lines.line_col(self.text, offset);
        Span {
            offset,
            line,
            column,
            pointer: pointer.into(),
        }
    }

    fn err(&self, kind: ParseErrorKind, offset: usize, pointer: &str) -> ParseError {
        let (line, column) = self.lines.line_col(self.text, offset);
        ParseError::new(kind, Location::new(line, column, pointer.to_owned()))
    }

    fn wrong_type(
        &self,
        v: &Json,
        element: &str,
        expected: &'static str,
        pointer: &str,
    ) -> ParseError {
        self.err(
            ParseErrorKind::WrongType {
                element: element.to_owned(),
                expected,
                found: v.kind.type_name(),
            },
            v.at,
            pointer,
        )
    }

    fn unknown(
        &self,
        m: &Member,
        context: &'static str,
        known: &[&str],
        pointer: &str,
    ) -> ParseError {
        let hint = known
            .iter()
            .find(|k| {
                k.eq_ignore_ascii_case(&m.key)
                    || k.eq_ignore_ascii_case(m.key.trim_end_matches('s'))
            })
            .map(|k| format!(", did you mean `{k}`?"))
            .unwrap_or_default();
        self.err(
            ParseErrorKind::UnknownElement {
                element: m.key.clone(),
                context,
                hint,
            },
            m.key_at,
            &push_ptr(pointer, &m.key),
        )
    }

    fn string<'j>(&self, v: &'j Json, element: &str, pointer: &str) -> Result<&'j str> {
        match &v.kind {
            JsonKind::String(s) => Ok(s),
            _ => Err(self.wrong_type(v, element, "a string", pointer)),
        }
    }

    /// A string or a non-empty array of strings.
    fn strings<'j>(
        &self,
        v: &'j Json,
        element: &str,
        pointer: &str,
    ) -> Result<(Vec<Located<'j>>, bool)> {
        match &v.kind {
            JsonKind::String(s) => Ok((vec![(s.as_str(), v.at, pointer.to_owned())], false)),
            JsonKind::Array(items) => {
                if items.is_empty() {
                    return Err(self.err(ParseErrorKind::Empty(element.to_owned()), v.at, pointer));
                }
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let ptr = push_ptr(pointer, &i.to_string());
                    out.push((self.string(item, element, &ptr)?, item.at, ptr));
                }
                Ok((out, true))
            }
            _ => Err(self.wrong_type(v, element, "a string or an array of strings", pointer)),
        }
    }

    fn policy(&mut self, doc: &Json) -> Result<Policy> {
        let JsonKind::Object(members) = &doc.kind else {
            return Err(self.wrong_type(doc, "policy", "a JSON object", ""));
        };
        let mut version = None;
        let mut id = None;
        let mut statement = None;
        for m in members {
            let ptr = push_ptr("", &m.key);
            match m.key.as_str() {
                "Version" => {
                    let v = self.string(&m.value, "Version", &ptr)?;
                    version = Some(match v {
                        "2012-10-17" => Version::V2012_10_17,
                        "2008-10-17" => Version::V2008_10_17,
                        other => {
                            return Err(self.err(
                                ParseErrorKind::Version(other.to_owned()),
                                m.value.at,
                                &ptr,
                            ));
                        }
                    });
                }
                "Id" => id = Some(self.string(&m.value, "Id", &ptr)?.to_owned()),
                "Statement" => statement = Some(&m.value),
                _ => return Err(self.unknown(m, "policy", &POLICY_ELEMENTS, "")),
            }
        }
        self.variables = version == Some(Version::V2012_10_17);
        let Some(statement) = statement else {
            return Err(self.err(
                ParseErrorKind::Missing {
                    element: "Statement",
                    context: "policy",
                },
                doc.at,
                "",
            ));
        };
        let (raw, statement_array): (Vec<(&Json, String)>, bool) = match &statement.kind {
            JsonKind::Object(_) => (vec![(statement, "/Statement".to_owned())], false),
            JsonKind::Array(items) => (
                items
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (s, format!("/Statement/{i}")))
                    .collect(),
                true,
            ),
            _ => {
                return Err(self.wrong_type(
                    statement,
                    "Statement",
                    "an object or an array of objects",
                    "/Statement",
                ));
            }
        };
        // The kind: as given, or inferred from the presence of principals.
        if self.kind.is_none() {
            let has_principal = |s: &Json| match &s.kind {
                JsonKind::Object(ms) => ms
                    .iter()
                    .any(|m| m.key == "Principal" || m.key == "NotPrincipal"),
                _ => false,
            };
            self.kind = Some(if raw.iter().any(|(s, _)| has_principal(s)) {
                PolicyKind::Resource(ResourceKind::Other)
            } else {
                PolicyKind::Identity
            });
        }
        let mut statements: Vec<Statement> = Vec::with_capacity(raw.len());
        for (index, (s, ptr)) in raw.iter().enumerate() {
            let st = self.statement(s, index, ptr)?;
            if let Some(sid) = &st.sid
                && statements.iter().any(|o| o.sid.as_ref() == Some(sid))
            {
                return Err(self.err(ParseErrorKind::DuplicateSid(sid.clone()), s.at, ptr));
            }
            statements.push(st);
        }
        Ok(Policy {
            version,
            id,
            statements,
            statement_array,
            kind: self.kind.unwrap_or(PolicyKind::Identity),
            name: None,
        })
    }

    fn statement(&self, s: &Json, index: usize, ptr: &str) -> Result<Statement> {
        let JsonKind::Object(members) = &s.kind else {
            return Err(self.wrong_type(s, "Statement", "an object", ptr));
        };
        let kind = self.kind.unwrap_or(PolicyKind::Identity);
        let key_policy = kind == PolicyKind::Resource(ResourceKind::KmsKey);
        let get = |name: &str| members.iter().find(|m| m.key == name);
        for m in members {
            if !STATEMENT_ELEMENTS.contains(&m.key.as_str()) {
                return Err(self.unknown(m, "statement", &STATEMENT_ELEMENTS, ptr));
            }
        }
        for (a, b) in [
            ("Principal", "NotPrincipal"),
            ("Action", "NotAction"),
            ("Resource", "NotResource"),
        ] {
            if let (Some(_), Some(mb)) = (get(a), get(b)) {
                return Err(self.err(ParseErrorKind::Conflict(a, b), mb.key_at, &push_ptr(ptr, b)));
            }
        }
        let sid = match get("Sid") {
            None => None,
            Some(m) => {
                let p = push_ptr(ptr, "Sid");
                let sid = self.string(&m.value, "Sid", &p)?;
                if kind == PolicyKind::Identity && !sid.chars().all(|c| c.is_ascii_alphanumeric()) {
                    return Err(self.err(ParseErrorKind::Sid(sid.to_owned()), m.value.at, &p));
                }
                Some(sid.to_owned())
            }
        };
        let effect = match get("Effect") {
            None => {
                return Err(self.err(
                    ParseErrorKind::Missing {
                        element: "Effect",
                        context: "statement",
                    },
                    s.at,
                    ptr,
                ));
            }
            Some(m) => {
                let p = push_ptr(ptr, "Effect");
                match self.string(&m.value, "Effect", &p)? {
                    "Allow" => Effect::Allow,
                    "Deny" => Effect::Deny,
                    other => {
                        return Err(self.err(
                            ParseErrorKind::Effect(other.to_owned()),
                            m.value.at,
                            &p,
                        ));
                    }
                }
            }
        };
        let principal_member = get("Principal")
            .map(|m| (m, false))
            .or_else(|| get("NotPrincipal").map(|m| (m, true)));
        let principal = match (kind, principal_member) {
            (PolicyKind::Identity, Some((m, _))) => {
                return Err(self.err(
                    ParseErrorKind::UnexpectedPrincipal,
                    m.key_at,
                    &push_ptr(ptr, &m.key),
                ));
            }
            (PolicyKind::Identity, None) => None,
            (PolicyKind::Resource(_), None) => {
                return Err(self.err(
                    ParseErrorKind::Missing {
                        element: "Principal",
                        context: "statement of a resource-based policy",
                    },
                    s.at,
                    ptr,
                ));
            }
            (PolicyKind::Resource(_), Some((m, negated))) => Some(self.principal(m, negated, ptr)?),
        };
        let action_member = get("Action")
            .map(|m| (m, false))
            .or_else(|| get("NotAction").map(|m| (m, true)));
        let action = match action_member {
            Some((m, negated)) => Some(self.actions(m, negated, ptr)?),
            None if key_policy => None,
            None => {
                return Err(self.err(
                    ParseErrorKind::Missing {
                        element: "Action",
                        context: "statement",
                    },
                    s.at,
                    ptr,
                ));
            }
        };
        let resource_member = get("Resource")
            .map(|m| (m, false))
            .or_else(|| get("NotResource").map(|m| (m, true)));
        let resource = match resource_member {
            Some((m, negated)) => Some(self.resources(m, negated, ptr)?),
            None if key_policy => None,
            None => {
                return Err(self.err(
                    ParseErrorKind::Missing {
                        element: "Resource",
                        context: "statement",
                    },
                    s.at,
                    ptr,
                ));
            }
        };
        let condition = match get("Condition") {
            Some(m) => Some(self.condition(&m.value, &push_ptr(ptr, "Condition"), key_policy)?),
            None => None,
        };
        Ok(Statement {
            index,
            sid,
            effect,
            principal,
            action,
            resource,
            condition,
            span: self.span(s.at, ptr),
        })
    }

    fn principal(&self, m: &Member, negated: bool, sptr: &str) -> Result<PrincipalClause> {
        let ptr = push_ptr(sptr, &m.key);
        let spec = match &m.value.kind {
            JsonKind::String(s) if s == "*" => PrincipalSpec::Everyone,
            JsonKind::String(s) => {
                return Err(self.err(
                    ParseErrorKind::Principal {
                        kind: m.key.clone(),
                        value: s.clone(),
                        why: "a principal is `\"*\"` or an object such as `{\"AWS\": \"...\"}`",
                    },
                    m.value.at,
                    &ptr,
                ));
            }
            JsonKind::Object(entries) => {
                if entries.is_empty() {
                    return Err(self.err(ParseErrorKind::Empty(m.key.clone()), m.value.at, &ptr));
                }
                let mut out = Vec::with_capacity(entries.len());
                for e in entries {
                    let kind = match e.key.as_str() {
                        "AWS" => PrincipalKind::Aws,
                        "Service" => PrincipalKind::Service,
                        "Federated" => PrincipalKind::Federated,
                        "CanonicalUser" => PrincipalKind::CanonicalUser,
                        _ => {
                            return Err(self.unknown(
                                e,
                                "principal",
                                &["AWS", "Service", "Federated", "CanonicalUser"],
                                &ptr,
                            ));
                        }
                    };
                    let eptr = push_ptr(&ptr, &e.key);
                    let (vals, array) = self.strings(&e.value, &e.key, &eptr)?;
                    let mut items = Vec::with_capacity(vals.len());
                    for (text, at, vptr) in vals {
                        let matcher = principal_matcher(kind, text).map_err(|why| {
                            self.err(
                                ParseErrorKind::Principal {
                                    kind: e.key.clone(),
                                    value: text.to_owned(),
                                    why,
                                },
                                at,
                                &vptr,
                            )
                        })?;
                        items.push(PrincipalId {
                            text: text.to_owned(),
                            matcher,
                            span: self.span(at, &vptr),
                        });
                    }
                    out.push(PrincipalEntry {
                        kind,
                        values: OneOrMany { items, array },
                    });
                }
                PrincipalSpec::Map(out)
            }
            _ => return Err(self.wrong_type(&m.value, &m.key, "`\"*\"` or an object", &ptr)),
        };
        Ok(PrincipalClause {
            negated,
            spec,
            span: self.span(m.value.at, &ptr),
        })
    }

    fn actions(&self, m: &Member, negated: bool, sptr: &str) -> Result<ActionClause> {
        let ptr = push_ptr(sptr, &m.key);
        let (vals, array) = self.strings(&m.value, &m.key, &ptr)?;
        let mut items = Vec::with_capacity(vals.len());
        for (text, at, vptr) in vals {
            if !valid_action(text) {
                return Err(self.err(ParseErrorKind::Action(text.to_owned()), at, &vptr));
            }
            let pattern = Pattern::compile(&text.to_ascii_lowercase(), true, false)
                .map_err(|_| self.err(ParseErrorKind::Action(text.to_owned()), at, &vptr))?;
            items.push(ActionPattern {
                text: text.to_owned(),
                pattern,
                span: self.span(at, &vptr),
            });
        }
        Ok(ActionClause {
            negated,
            values: OneOrMany { items, array },
            span: self.span(m.value.at, &ptr),
        })
    }

    fn resources(&self, m: &Member, negated: bool, sptr: &str) -> Result<ResourceClause> {
        let ptr = push_ptr(sptr, &m.key);
        let (vals, array) = self.strings(&m.value, &m.key, &ptr)?;
        let mut items = Vec::with_capacity(vals.len());
        for (text, at, vptr) in vals {
            let matcher = if text == "*" {
                ResourceMatcher::Any
            } else {
                if !text.starts_with("arn:") {
                    return Err(self.err(ParseErrorKind::Resource(text.to_owned()), at, &vptr));
                }
                match ArnPattern::compile_resource(text, self.variables) {
                    Some(Ok(p)) => ResourceMatcher::Arn(p),
                    Some(Err(e)) => return Err(self.err(variable_error(text, &e), at, &vptr)),
                    None => {
                        return Err(self.err(ParseErrorKind::Resource(text.to_owned()), at, &vptr));
                    }
                }
            };
            items.push(ResourcePattern {
                text: text.to_owned(),
                matcher,
                span: self.span(at, &vptr),
            });
        }
        Ok(ResourceClause {
            negated,
            values: OneOrMany { items, array },
            span: self.span(m.value.at, &ptr),
        })
    }

    fn condition(&self, v: &Json, ptr: &str, key_policy: bool) -> Result<ConditionBlock> {
        let JsonKind::Object(ops) = &v.kind else {
            return Err(self.wrong_type(v, "Condition", "an object", ptr));
        };
        let mut operators = Vec::with_capacity(ops.len());
        for o in ops {
            let optr = push_ptr(ptr, &o.key);
            let operator = Operator::parse(&o.key).map_err(|e| match e {
                OperatorError::Unknown(hint) => self.err(
                    ParseErrorKind::Operator(o.key.clone(), hint),
                    o.key_at,
                    &optr,
                ),
                OperatorError::Form(why) => self.err(
                    ParseErrorKind::OperatorForm(o.key.clone(), why),
                    o.key_at,
                    &optr,
                ),
            })?;
            let JsonKind::Object(keys) = &o.value.kind else {
                return Err(self.wrong_type(
                    &o.value,
                    &o.key,
                    "an object of condition keys",
                    &optr,
                ));
            };
            if keys.is_empty() {
                return Err(self.err(ParseErrorKind::Empty(o.key.clone()), o.value.at, &optr));
            }
            let mut conditions = Vec::with_capacity(keys.len());
            for k in keys {
                let kptr = push_ptr(&optr, &k.key);
                if !valid_condition_key(&k.key) {
                    return Err(self.err(
                        ParseErrorKind::ConditionKey(k.key.clone()),
                        k.key_at,
                        &kptr,
                    ));
                }
                let key_lower = k.key.to_lowercase();
                if key_policy
                    && operator.set == Some(SetOperator::ForAllValues)
                    && key_lower.starts_with("kms:encryptioncontext:")
                {
                    return Err(self.err(
                        ParseErrorKind::OverlyPermissiveCondition(k.key.clone()),
                        k.key_at,
                        &kptr,
                    ));
                }
                let (values, array) = self.scalars(&k.value, &k.key, &kptr)?;
                let texts: Vec<&str> = values.iter().map(|(v, _)| v.text.as_str()).collect();
                let compiled =
                    condition::compile(operator, &texts, self.variables).map_err(|(i, e)| {
                        let (value, at) = values
                            .get(i)
                            .map_or((String::new(), k.value.at), |(v, at)| (v.text.clone(), *at));
                        let vptr = if array {
                            push_ptr(&kptr, &i.to_string())
                        } else {
                            kptr.clone()
                        };
                        match e {
                            ValueError::Expected(expected) => self.err(
                                ParseErrorKind::ConditionValue {
                                    operator: o.key.clone(),
                                    value,
                                    expected,
                                },
                                at,
                                &vptr,
                            ),
                            ValueError::Variable(why) => {
                                self.err(ParseErrorKind::Variable(value, why), at, &vptr)
                            }
                        }
                    })?;
                conditions.push(Condition {
                    key_hash: crate::pattern::key_hash(&key_lower),
                    key: k.key.clone(),
                    key_lower: key_lower.into_boxed_str(),
                    values: OneOrMany {
                        items: values.into_iter().map(|(v, _)| v).collect(),
                        array,
                    },
                    compiled,
                    span: self.span(k.key_at, &kptr),
                });
            }
            operators.push(OperatorEntry {
                operator,
                text: o.key.clone(),
                conditions,
                span: self.span(o.key_at, &optr),
            });
        }
        Ok(ConditionBlock {
            operators,
            span: self.span(v.at, ptr),
        })
    }

    /// A condition value: a string, number or boolean, or a non-empty array of them.
    fn scalars(
        &self,
        v: &Json,
        key: &str,
        ptr: &str,
    ) -> Result<(Vec<(ConditionValue, usize)>, bool)> {
        let one = |v: &Json, ptr: &str| -> Result<(ConditionValue, usize)> {
            let (text, json) = match &v.kind {
                JsonKind::String(s) => (s.clone(), ScalarKind::String),
                JsonKind::Number(n) => (n.clone(), ScalarKind::Number),
                JsonKind::Bool(b) => (b.to_string(), ScalarKind::Bool),
                _ => {
                    return Err(self.wrong_type(
                        v,
                        key,
                        "a string, number or boolean, or an array of them",
                        ptr,
                    ));
                }
            };
            Ok((ConditionValue { text, json }, v.at))
        };
        match &v.kind {
            JsonKind::Array(items) => {
                if items.is_empty() {
                    return Err(self.err(ParseErrorKind::Empty(key.to_owned()), v.at, ptr));
                }
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    out.push(one(item, &push_ptr(ptr, &i.to_string()))?);
                }
                Ok((out, true))
            }
            _ => Ok((vec![one(v, ptr)?], false)),
        }
    }
}

fn variable_error(text: &str, e: &PatternError) -> ParseErrorKind {
    match e {
        PatternError::Unterminated => ParseErrorKind::Variable(text.to_owned(), "`${` without `}`"),
        PatternError::BadVariable(_) => {
            ParseErrorKind::Variable(text.to_owned(), "expected `${key}` or `${key, 'default'}`")
        }
    }
}

/// `*`, or `service:name` where the service is letters, digits and `-` and the name is
/// letters, digits, `*` and `?`.
fn valid_action(text: &str) -> bool {
    if text == "*" {
        return true;
    }
    let Some((svc, name)) = text.split_once(':') else {
        return false;
    };
    !svc.is_empty()
        && svc.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'*' | b'?' | b'-' | b'_'))
}

/// `prefix:name`, with no white space.
fn valid_condition_key(key: &str) -> bool {
    match key.split_once(':') {
        Some((p, n)) => !p.is_empty() && !n.is_empty() && !key.contains(char::is_whitespace),
        None => false,
    }
}

/// Compiles one listed principal.
fn principal_matcher(
    kind: PrincipalKind,
    text: &str,
) -> std::result::Result<PrincipalMatcher, &'static str> {
    match kind {
        PrincipalKind::Aws => aws_principal(text),
        PrincipalKind::Service => {
            let ok = text.contains('.')
                && text
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'));
            if ok {
                Ok(PrincipalMatcher::Service(
                    text.to_ascii_lowercase().into_boxed_str(),
                ))
            } else {
                Err("a service principal is a name such as `cloudtrail.amazonaws.com`")
            }
        }
        PrincipalKind::Federated => {
            if text.is_empty() || text.contains(['*', '?']) || text.contains(char::is_whitespace) {
                Err("a federated principal is a provider name or ARN, without wildcards")
            } else {
                Ok(PrincipalMatcher::Federated(text.into()))
            }
        }
        PrincipalKind::CanonicalUser => {
            if !text.is_empty() && text.bytes().all(|b| b.is_ascii_alphanumeric()) {
                Ok(PrincipalMatcher::CanonicalUser(text.into()))
            } else {
                Err("a canonical user id is letters and digits")
            }
        }
    }
}

/// A 12-digit account id as a number (0 for anything else, which no caller has).
pub(crate) fn account_number(s: &str) -> u64 {
    if s.len() == 12 {
        s.parse().unwrap_or(0)
    } else {
        0
    }
}

fn aws_principal(text: &str) -> std::result::Result<PrincipalMatcher, &'static str> {
    if text == "*" {
        return Ok(PrincipalMatcher::Any);
    }
    let is_account = |s: &str| s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit());
    if is_account(text) {
        return Ok(PrincipalMatcher::Account(account_number(text)));
    }
    if text.contains(['*', '?']) {
        return Err("wildcards are not allowed in principals except `*` alone");
    }
    let Some(f) = crate::pattern::split_arn(text, false) else {
        return Err("expected `*`, a 12-digit account id or an IAM or STS ARN");
    };
    let [arn, partition, service, region, account, resource] = f;
    if arn != "arn" || partition.is_empty() || !region.is_empty() || !is_account(account) {
        return Err("expected `*`, a 12-digit account id or an IAM or STS ARN");
    }
    let named = |prefix: &str| {
        resource
            .strip_prefix(prefix)
            .is_some_and(|r| !r.is_empty() && !r.ends_with('/') && !r.starts_with('/'))
    };
    match service {
        "iam" if resource == "root" => Ok(PrincipalMatcher::Account(account_number(account))),
        "iam" if named("role/") => {
            let name = resource.rsplit('/').next().unwrap_or_default();
            Ok(PrincipalMatcher::Role {
                account: account_number(account),
                name: name.into(),
            })
        }
        "iam" if named("user/") => Ok(PrincipalMatcher::Arn(text.into())),
        "sts" if named("assumed-role/") || named("federated-user/") => {
            Ok(PrincipalMatcher::Arn(text.into()))
        }
        "iam" | "sts" => Err(
            "expected `root`, `user/...`, `role/...`, `assumed-role/...` or `federated-user/...`",
        ),
        _ => Err("expected an `iam` or `sts` ARN"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str, opts: &ParseOptions) -> String {
        Policy::parse(text, opts).unwrap_err().to_string()
    }

    #[test]
    fn errors_say_what_and_where() {
        let o = ParseOptions::infer();
        assert_eq!(
            err(
                "{\"Statement\": [{\"Effect\": \"Allow\",\n \"Effect\": \"Deny\"}]}",
                &o
            ),
            "duplicate key `Effect` at line 2, column 2"
        );
        assert_eq!(
            err(
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Actions":"s3:*","Resource":"*"}}"#,
                &o
            ),
            "unknown element `Actions` in statement, did you mean `Action`? at line 1, column 55 (/Statement/Actions)"
        );
        assert_eq!(
            err(
                r#"{"Statement":[{"Effect":"allow","Action":"s3:*","Resource":"*"}]}"#,
                &o
            ),
            "invalid effect `allow`: use `Allow` or `Deny` at line 1, column 25 (/Statement/0/Effect)"
        );
        assert_eq!(
            err(
                r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEqual":{"a:b":"c"}}}]}"#,
                &o
            ),
            "unknown condition operator `StringEqual`, did you mean `StringEquals`? at line 1, column 77 (/Statement/0/Condition/StringEqual)"
        );
        assert_eq!(
            err(
                r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"NumericLessThan":{"s3:max-keys":["10","ten"]}}}]}"#,
                &o
            ),
            "invalid value `ten` for `NumericLessThan`: expected a decimal number at line 1, column 116 (/Statement/0/Condition/NumericLessThan/s3:max-keys/1)"
        );
        assert!(err(r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::*:root"},"Action":"s3:*","Resource":"*"}]}"#, &o)
            .starts_with("invalid principal `arn:aws:iam::*:root` in `AWS`: wildcards"));
        assert!(err(r#"{"Statement":[{"Effect":"Allow","Action":"s3:*"}]}"#, &ParseOptions::identity())
            .starts_with("missing required element `Resource` in statement at line 1, column 15 (/Statement/0)"));
        assert!(err(r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}"#, &ParseOptions::identity())
            .starts_with("policy document should not specify a principal"));
        let big = format!(r#"{{"Statement":[],"Id":"{}"}}"#, "x".repeat(40_000));
        assert!(
            err(&big, &ParseOptions::key_policy())
                .starts_with("policy is 40024 bytes, more than the limit of 32768")
        );
        assert!(err(r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*","Condition":{"ForAllValues:StringEquals":{"kms:EncryptionContext:dept":"x"}}}]}"#, &ParseOptions::key_policy())
            .starts_with("OverlyPermissiveCondition:EncryptionContext"));
        assert!(err(r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:*","Resource":"*","Sid":"a ☃"}]}"#, &ParseOptions::key_policy())
            .starts_with("policy contains the character '☃'"));
    }

    #[test]
    fn key_policy_statements_may_lack_action_and_resource() {
        let p = Policy::parse(
            r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"111122223333"}}}"#,
            &ParseOptions::key_policy(),
        )
        .unwrap();
        assert!(p.statements()[0].action().is_none());
        assert!(
            Policy::parse(
                r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"111122223333"}}}"#,
                &ParseOptions::bucket_policy()
            )
            .is_err()
        );
    }

    #[test]
    fn line_index() {
        let t = "ab\ncdé\nf";
        let li = LineIndex::new(t);
        assert_eq!(li.line_col(t, 0), (1, 1));
        assert_eq!(li.line_col(t, 3), (2, 1));
        assert_eq!(li.line_col(t, 7), (2, 4));
        assert_eq!(li.line_col(t, 8), (3, 1));
        assert_eq!(json::line_col(t, 8), (3, 1));
    }
}
