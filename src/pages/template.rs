//! Page templates: HTML with `{{name}}` placeholders, for the built-in pages and for the static
//! files operators replace them with (README, "Pages people see").
//!
//! Every substituted value is HTML-escaped, in text and in quoted attributes alike; there is no
//! raw form (`{{{x}}}` is an error). `{{#name}}...{{/name}}` shows its content when `name` is
//! not empty (for `problems`, once per problem, with `{{var}}` and `{{problem}}` inside);
//! `{{^name}}...{{/name}}` when it is empty. A template with an unknown name, an unclosed or
//! unbalanced tag, no placeholder at all, or more than [`MAX_TEMPLATE`] bytes is refused whole,
//! so a typo shows up as a log line and the built-in page, never as a half-rendered page.

use crate::util::html_escape;
use std::fmt;

/// Largest template accepted.
pub const MAX_TEMPLATE: usize = 64 * 1024;
/// Deepest nesting of sections.
const MAX_DEPTH: usize = 8;

/// The placeholders. Their names are documented in the README; the values are set per page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Lang,
    Title,
    Message,
    Code,
    CodeLabel,
    Status,
    Brand,
    BrandColor,
    RetryUrl,
    RetryLabel,
    RetryKind,
    LoginUrl,
    LoginLabel,
    BackUrl,
    BackLabel,
    LogoutUrl,
    LogoutLabel,
    CancelLabel,
    /// The configuration page's problems: a section, or as text `VAR: problem; ...`.
    Problems,
    /// Inside `{{#problems}}`: the variable's name.
    Var,
    /// Inside `{{#problems}}`: what is wrong with it.
    Problem,
}

impl Field {
    pub const ALL: [Field; 21] = [
        Field::Lang,
        Field::Title,
        Field::Message,
        Field::Code,
        Field::CodeLabel,
        Field::Status,
        Field::Brand,
        Field::BrandColor,
        Field::RetryUrl,
        Field::RetryLabel,
        Field::RetryKind,
        Field::LoginUrl,
        Field::LoginLabel,
        Field::BackUrl,
        Field::BackLabel,
        Field::LogoutUrl,
        Field::LogoutLabel,
        Field::CancelLabel,
        Field::Problems,
        Field::Var,
        Field::Problem,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Field::Lang => "lang",
            Field::Title => "title",
            Field::Message => "message",
            Field::Code => "code",
            Field::CodeLabel => "code_label",
            Field::Status => "status",
            Field::Brand => "brand",
            Field::BrandColor => "brand_color",
            Field::RetryUrl => "retry_url",
            Field::RetryLabel => "retry_label",
            Field::RetryKind => "retry_kind",
            Field::LoginUrl => "login_url",
            Field::LoginLabel => "login_label",
            Field::BackUrl => "back_url",
            Field::BackLabel => "back_label",
            Field::LogoutUrl => "logout_url",
            Field::LogoutLabel => "logout_label",
            Field::CancelLabel => "cancel_label",
            Field::Problems => "problems",
            Field::Var => "var",
            Field::Problem => "problem",
        }
    }

    fn from_name(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Only meaningful inside `{{#problems}}`.
    fn per_problem(self) -> bool {
        matches!(self, Field::Var | Field::Problem)
    }
}

/// Why a template was refused. Names what is wrong, shortened, never more of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateError {
    TooLarge(usize),
    NotUtf8,
    Unclosed,
    Unknown(String),
    /// `{{var}}` or `{{problem}}` outside `{{#problems}}`.
    Misplaced(&'static str),
    Unbalanced(String),
    TooDeep,
    NoPlaceholder,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TemplateError::TooLarge(n) => write!(f, "{n} bytes, more than {MAX_TEMPLATE}"),
            TemplateError::NotUtf8 => f.write_str("not UTF-8"),
            TemplateError::Unclosed => f.write_str("a '{{' without '}}'"),
            TemplateError::Unknown(name) => write!(f, "unknown placeholder {name:?}"),
            TemplateError::Misplaced(name) => write!(f, "{{{{{name}}}}} outside {{{{#problems}}}}"),
            TemplateError::Unbalanced(name) => write!(f, "section {name:?} not closed or closed out of order"),
            TemplateError::TooDeep => write!(f, "sections nested deeper than {MAX_DEPTH}"),
            TemplateError::NoPlaceholder => f.write_str("no placeholder at all (is it the right file?)"),
        }
    }
}

/// A name as it may appear in a log line: short, printable ASCII.
fn shown(name: &str) -> String {
    name.chars().take(40).map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '?' }).collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Text(String),
    Value(Field),
    /// Shown when the field is not empty (`#`), or when it is (`^`).
    Section { field: Field, inverted: bool, body: Vec<Node> },
}

/// A parsed template, ready to render any number of times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template(Vec<Node>);

impl Template {
    /// Parses a template from bytes (a file fetched from the assets).
    pub fn from_bytes(bytes: &[u8]) -> Result<Template, TemplateError> {
        if bytes.len() > MAX_TEMPLATE {
            return Err(TemplateError::TooLarge(bytes.len()));
        }
        Template::parse(std::str::from_utf8(bytes).map_err(|_| TemplateError::NotUtf8)?)
    }

    pub fn parse(src: &str) -> Result<Template, TemplateError> {
        if src.len() > MAX_TEMPLATE {
            return Err(TemplateError::TooLarge(src.len()));
        }
        // Open sections, innermost last, each with the nodes collected so far.
        let mut open: Vec<(Field, bool, Vec<Node>)> = Vec::new();
        let mut nodes: Vec<Node> = Vec::new();
        let mut placeholders = 0usize;
        let mut rest = src;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                current_of(&mut open, &mut nodes).push(Node::Text(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let end = after.find("}}").ok_or(TemplateError::Unclosed)?;
            let tag = after[..end].trim();
            rest = &after[end + 2..];
            placeholders += 1;
            let (sigil, name) = match tag.chars().next() {
                Some(c @ ('#' | '^' | '/')) => (Some(c), tag[1..].trim()),
                _ => (None, tag),
            };
            let field = Field::from_name(name).ok_or_else(|| TemplateError::Unknown(shown(name)))?;
            let in_problems = open.iter().any(|(f, inverted, _)| *f == Field::Problems && !inverted);
            if field.per_problem() && !in_problems {
                return Err(TemplateError::Misplaced(field.name()));
            }
            match sigil {
                Some(c @ ('#' | '^')) => {
                    if open.len() >= MAX_DEPTH {
                        return Err(TemplateError::TooDeep);
                    }
                    open.push((field, c == '^', Vec::new()));
                }
                Some(_) => match open.pop() {
                    Some((f, inverted, body)) if f == field => {
                        current_of(&mut open, &mut nodes).push(Node::Section { field, inverted, body });
                    }
                    _ => return Err(TemplateError::Unbalanced(name.to_string())),
                },
                None => current_of(&mut open, &mut nodes).push(Node::Value(field)),
            }
        }
        if let Some((f, _, _)) = open.last() {
            return Err(TemplateError::Unbalanced(f.name().to_string()));
        }
        if !rest.is_empty() {
            nodes.push(Node::Text(rest.to_string()));
        }
        if placeholders == 0 {
            return Err(TemplateError::NoPlaceholder);
        }
        Ok(Template(nodes))
    }

    /// The page, every value HTML-escaped.
    pub fn render(&self, values: &Values) -> String {
        let mut out = String::with_capacity(4096);
        render(&self.0, values, None, &mut out);
        out
    }
}

fn current_of<'a>(open: &'a mut [(Field, bool, Vec<Node>)], nodes: &'a mut Vec<Node>) -> &'a mut Vec<Node> {
    match open.last_mut() {
        Some((_, _, body)) => body,
        None => nodes,
    }
}

fn render(nodes: &[Node], values: &Values, problem: Option<&(String, String)>, out: &mut String) {
    for node in nodes {
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Value(Field::Var) => out.push_str(&html_escape(problem.map_or("", |p| p.0.as_str()))),
            Node::Value(Field::Problem) => out.push_str(&html_escape(problem.map_or("", |p| p.1.as_str()))),
            Node::Value(field) => out.push_str(&html_escape(&values.text(*field))),
            Node::Section { field: Field::Problems, inverted: false, body } => {
                for p in &values.problems {
                    render(body, values, Some(p), out);
                }
            }
            Node::Section { field, inverted, body } => {
                let shown = match field {
                    Field::Var => problem.is_some_and(|p| !p.0.is_empty()),
                    Field::Problem => problem.is_some_and(|p| !p.1.is_empty()),
                    f => !values.text(*f).is_empty(),
                };
                if shown != *inverted {
                    render(body, values, problem, out);
                }
            }
        }
    }
}

/// The values of one page. Unset fields are empty.
#[derive(Debug, Clone, Default)]
pub struct Values {
    fields: Vec<(Field, String)>,
    /// `(variable, problem)` pairs of the configuration page.
    pub problems: Vec<(String, String)>,
}

impl Values {
    pub fn set(&mut self, field: Field, value: impl Into<String>) -> &mut Self {
        let value = value.into();
        match self.fields.iter_mut().find(|(f, _)| *f == field) {
            Some(slot) => slot.1 = value,
            None => self.fields.push((field, value)),
        }
        self
    }

    /// The unescaped value of a field (`problems` as `VAR: problem; ...`).
    pub fn text(&self, field: Field) -> std::borrow::Cow<'_, str> {
        if field == Field::Problems {
            let joined: Vec<String> = self.problems.iter().map(|(v, p)| format!("{v}: {p}")).collect();
            return joined.join("; ").into();
        }
        self.fields.iter().find(|(f, _)| *f == field).map_or("".into(), |(_, v)| v.as_str().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> Values {
        let mut v = Values::default();
        v.set(Field::Title, "Tittel").set(Field::Message, "Melding").set(Field::Lang, "nb");
        v
    }

    #[test]
    fn substitutes_and_escapes_every_value() {
        let t = Template::parse(r#"<html lang="{{lang}}"><h1>{{ title }}</h1><a href="{{retry_url}}" title='{{message}}'>x</a>"#).unwrap();
        let mut v = values();
        v.set(Field::RetryUrl, "/auth/login?return_to=%2F\"><script>alert(1)</script>");
        v.set(Field::Message, "it's <b>&</b>");
        let out = t.render(&v);
        assert_eq!(
            out,
            r#"<html lang="nb"><h1>Tittel</h1><a href="/auth/login?return_to=%2F&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" title='it&#39;s &lt;b&gt;&amp;&lt;/b&gt;'>x</a>"#
        );
    }

    #[test]
    fn every_field_is_escaped() {
        let src: String = Field::ALL
            .iter()
            .filter(|f| !f.per_problem())
            .map(|f| format!("[{{{{{}}}}}]", f.name()))
            .chain(std::iter::once("{{#problems}}({{var}}|{{problem}}){{/problems}}".to_string()))
            .collect();
        let t = Template::parse(&src).unwrap();
        let hostile = "<script>\"'&</script>";
        let mut v = Values::default();
        for f in Field::ALL {
            v.set(f, hostile);
        }
        v.problems = vec![(hostile.into(), hostile.into())];
        let out = t.render(&v);
        assert!(!out.contains('<') && !out.contains('"') && !out.contains('\''), "{out}");
        assert!(out.contains("&lt;script&gt;&quot;&#39;&amp;&lt;/script&gt;"));
    }

    #[test]
    fn sections_show_what_is_set() {
        let t = Template::parse("{{#retry_url}}<a href=\"{{retry_url}}\">{{retry_label}}</a>{{/retry_url}}{{^retry_url}}none{{/retry_url}}").unwrap();
        assert_eq!(t.render(&values()), "none");
        let mut v = values();
        v.set(Field::RetryUrl, "/auth/login").set(Field::RetryLabel, "Logg inn med Vipps");
        assert_eq!(t.render(&v), r#"<a href="/auth/login">Logg inn med Vipps</a>"#);
    }

    #[test]
    fn problems_repeat_and_read_as_text() {
        let t = Template::parse("<ul>{{#problems}}<li>{{var}}: {{problem}}</li>{{/problems}}</ul><p>{{problems}}</p>").unwrap();
        let mut v = values();
        v.problems = vec![("SESSION_SECRET".into(), "is required".into()), ("VIPPS_MARKET".into(), "must be <NO>".into())];
        assert_eq!(
            t.render(&v),
            "<ul><li>SESSION_SECRET: is required</li><li>VIPPS_MARKET: must be &lt;NO&gt;</li></ul><p>SESSION_SECRET: is required; VIPPS_MARKET: must be &lt;NO&gt;</p>"
        );
    }

    #[test]
    fn broken_templates_are_refused_whole() {
        let cases: &[(&str, TemplateError)] = &[
            ("<h1>{{title}</h1>", TemplateError::Unclosed),
            ("{{titel}}", TemplateError::Unknown("titel".into())),
            ("{{{title}}}", TemplateError::Unknown("{title".into())),
            ("{{#title}}x", TemplateError::Unbalanced("title".into())),
            ("{{#title}}{{#code}}{{/title}}{{/code}}", TemplateError::Unbalanced("title".into())),
            ("{{/title}}", TemplateError::Unbalanced("title".into())),
            ("{{var}}", TemplateError::Misplaced("var")),
            ("{{^problems}}{{problem}}{{/problems}}", TemplateError::Misplaced("problem")),
            ("<h1>static</h1>", TemplateError::NoPlaceholder),
            ("{{#a}}", TemplateError::Unknown("a".into())),
            ("{{}}", TemplateError::Unknown("".into())),
        ];
        for (src, want) in cases {
            assert_eq!(Template::parse(src).as_ref().err(), Some(want), "{src}");
        }
        let deep = "{{#title}}".repeat(MAX_DEPTH + 1);
        assert_eq!(Template::parse(&deep).err(), Some(TemplateError::TooDeep));
        let big = format!("{{{{title}}}}{}", " ".repeat(MAX_TEMPLATE));
        assert!(matches!(Template::parse(&big), Err(TemplateError::TooLarge(_))));
        assert_eq!(Template::from_bytes(b"{{title}}\xff").err(), Some(TemplateError::NotUtf8));
        // What a log line shows of an unknown name is short and printable.
        let long = format!("{{{{{}\u{0}}}}}", "x".repeat(500));
        match Template::parse(&long) {
            Err(TemplateError::Unknown(name)) => assert!(name.len() <= 40 && name.chars().all(|c| c.is_ascii_graphic())),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn braces_that_are_not_placeholders_pass() {
        let t = Template::parse("<style>@media(min-width:30rem){main{padding:2rem}}</style>{{title}} } { }}").unwrap();
        assert_eq!(t.render(&values()), "<style>@media(min-width:30rem){main{padding:2rem}}</style>Tittel } { }}");
    }
}
