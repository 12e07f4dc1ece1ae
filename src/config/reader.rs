//! Reading vars and secrets: every problem collected, never a value in a message.

use std::fmt;

/// One problem with one variable. Names the variable, never its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub var: &'static str,
    pub message: String,
}

/// Every problem of a configuration, reported at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<Problem>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|p| format!("{}: {}", p.var, p.message)).collect();
        f.write_str(&parts.join("; "))
    }
}

/// A lookup of vars and secrets, and the problems found so far.
pub struct Reader<'a> {
    get: &'a dyn Fn(&str) -> Option<String>,
    pub(super) problems: Vec<Problem>,
}

impl<'a> Reader<'a> {
    pub fn new(get: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Reader { get, problems: Vec::new() }
    }
    /// The trimmed value, `None` when unset or blank.
    pub fn opt(&self, var: &'static str) -> Option<String> {
        (self.get)(var).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
    }
    pub fn required(&mut self, var: &'static str) -> Option<String> {
        let v = self.opt(var);
        if v.is_none() {
            self.problem(var, "is required but not set");
        }
        v
    }
    pub fn problem(&mut self, var: &'static str, message: impl Into<String>) {
        self.problems.push(Problem { var, message: message.into() });
    }
    /// A whole number in `min..=max`, or `default` when unset.
    pub fn number(&mut self, var: &'static str, default: u64, min: u64, max: u64) -> u64 {
        match self.opt(var) {
            None => default,
            Some(v) => match v.parse::<u64>() {
                Ok(n) if (min..=max).contains(&n) => n,
                _ => {
                    self.problem(var, format!("must be a whole number from {min} to {max}"));
                    default
                }
            },
        }
    }
    /// `true` or `false`, or `default` when unset.
    pub fn flag(&mut self, var: &'static str, default: bool) -> bool {
        match self.opt(var).as_deref() {
            None => default,
            Some("true") => true,
            Some("false") => false,
            Some(_) => {
                self.problem(var, "must be 'true' or 'false'");
                default
            }
        }
    }
    /// A comma- or space-separated list, blanks dropped.
    pub fn list(&self, var: &'static str) -> Vec<String> {
        self.opt(var)
            .unwrap_or_default()
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }
}
