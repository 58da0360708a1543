//! [`Policy`] back to JSON.
//!
//! The output is canonical: two-space indentation, elements in the order `Version`, `Id`,
//! `Statement` and `Sid`, `Effect`, `Principal`, `Action`, `Resource`, `Condition`. Values
//! keep the form they were written in (a single string or an array; a string, number or
//! boolean condition value), so printing and parsing again gives an equal policy.

use crate::ast::{
    ActionClause, ConditionBlock, OneOrMany, Policy, PrincipalClause, PrincipalSpec,
    ResourceClause, ScalarKind, Statement,
};
use crate::json::write_string;

impl Policy {
    /// The policy as pretty-printed JSON.
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        out.push_str("{\n");
        let mut first = true;
        let mut field = |out: &mut String, name: &str| {
            if !first {
                out.push_str(",\n");
            }
            first = false;
            out.push_str("  ");
            write_string(out, name);
            out.push_str(": ");
        };
        if let Some(v) = self.version {
            field(&mut out, "Version");
            write_string(&mut out, v.as_str());
        }
        if let Some(id) = &self.id {
            field(&mut out, "Id");
            write_string(&mut out, id);
        }
        field(&mut out, "Statement");
        if self.statement_array {
            out.push('[');
            for (i, st) in self.statements.iter().enumerate() {
                out.push_str(if i == 0 { "\n    " } else { ",\n    " });
                statement(&mut out, st, 4);
            }
            if !self.statements.is_empty() {
                out.push_str("\n  ");
            }
            out.push(']');
        } else if let Some(st) = self.statements.first() {
            statement(&mut out, st, 2);
        }
        out.push_str("\n}\n");
        out
    }
}

fn indent(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push(' ');
    }
}

fn statement(out: &mut String, st: &Statement, ind: usize) {
    out.push('{');
    let mut first = true;
    let mut field = |out: &mut String, name: &str| {
        out.push_str(if first { "\n" } else { ",\n" });
        first = false;
        indent(out, ind + 2);
        write_string(out, name);
        out.push_str(": ");
    };
    if let Some(sid) = &st.sid {
        field(out, "Sid");
        write_string(out, sid);
    }
    field(out, "Effect");
    write_string(out, st.effect.as_str());
    if let Some(p) = &st.principal {
        field(
            out,
            if p.negated {
                "NotPrincipal"
            } else {
                "Principal"
            },
        );
        principal(out, p, ind + 2);
    }
    if let Some(a) = &st.action {
        field(out, if a.negated { "NotAction" } else { "Action" });
        action(out, a);
    }
    if let Some(r) = &st.resource {
        field(out, if r.negated { "NotResource" } else { "Resource" });
        resource(out, r);
    }
    if let Some(c) = &st.condition {
        field(out, "Condition");
        condition(out, c, ind + 2);
    }
    out.push('\n');
    indent(out, ind);
    out.push('}');
}

fn list<T>(out: &mut String, v: &OneOrMany<T>, mut item: impl FnMut(&mut String, &T)) {
    if v.array {
        out.push('[');
        for (i, x) in v.items.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            item(out, x);
        }
        out.push(']');
    } else if let Some(x) = v.items.first() {
        item(out, x);
    }
}

fn principal(out: &mut String, p: &PrincipalClause, ind: usize) {
    match &p.spec {
        PrincipalSpec::Everyone => write_string(out, "*"),
        PrincipalSpec::Map(entries) => {
            out.push('{');
            for (i, e) in entries.iter().enumerate() {
                out.push_str(if i == 0 { "\n" } else { ",\n" });
                indent(out, ind + 2);
                write_string(out, e.kind.as_str());
                out.push_str(": ");
                list(out, &e.values, |out, id| write_string(out, &id.text));
            }
            out.push('\n');
            indent(out, ind);
            out.push('}');
        }
    }
}

fn action(out: &mut String, a: &ActionClause) {
    list(out, &a.values, |out, x| write_string(out, &x.text));
}

fn resource(out: &mut String, r: &ResourceClause) {
    list(out, &r.values, |out, x| write_string(out, &x.text));
}

fn condition(out: &mut String, c: &ConditionBlock, ind: usize) {
    out.push('{');
    for (i, op) in c.operators.iter().enumerate() {
        out.push_str(if i == 0 { "\n" } else { ",\n" });
        indent(out, ind + 2);
        write_string(out, &op.text);
        out.push_str(": {");
        for (j, k) in op.conditions.iter().enumerate() {
            out.push_str(if j == 0 { "\n" } else { ",\n" });
            indent(out, ind + 4);
            write_string(out, &k.key);
            out.push_str(": ");
            list(out, &k.values, |out, v| match v.json {
                ScalarKind::String => write_string(out, &v.text),
                ScalarKind::Number | ScalarKind::Bool => out.push_str(&v.text),
            });
        }
        out.push('\n');
        indent(out, ind + 2);
        out.push('}');
    }
    out.push('\n');
    indent(out, ind);
    out.push('}');
}
