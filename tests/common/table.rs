//! Conformance rows shared by the workerd suites that write them (tests/gate.rs,
//! tests/rules.rs): a [`Table`] of scenarios per suite written to target/conformance/, [`parts`]
//! that each run to their end, and helpers to talk to a Worker byte-exact.

use super::origin::{raw_request, RawResp};
use super::Worker;
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};

// ---- rows -------------------------------------------------------------------------------------

/// Rows of one suite, written to target/conformance/<suite>.tsv on drop (as in
/// tests/conformance.rs); a failed row fails the test after the whole suite ran.
pub struct Table {
    suite: &'static str,
    rows: Vec<String>,
    failures: Vec<String>,
}

impl Table {
    pub fn new(suite: &'static str) -> Table {
        Table { suite, rows: Vec::new(), failures: Vec::new() }
    }

    pub fn row(&mut self, scenario: &str, expected: &str, observed: &str, ok: bool) {
        let clean = |s: &str| s.replace(['\t', '\r', '\n'], " ").replace('|', "\\|");
        let (scenario, expected, observed) = (clean(scenario), clean(expected), clean(observed));
        self.rows.push(format!("{}\t{scenario}\t{expected}\t{observed}\t{}", self.suite, if ok { "pass" } else { "FAIL" }));
        if !ok {
            self.failures.push(format!("{scenario}: expected {expected}, observed {observed}"));
        }
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/conformance");
        std::fs::create_dir_all(&dir).unwrap();
        let mut f = std::fs::File::create(dir.join(format!("{}.tsv", self.suite))).unwrap();
        for r in &self.rows {
            writeln!(f, "{r}").unwrap();
        }
        if !std::thread::panicking() {
            let (n, total) = (self.failures.len(), self.rows.len());
            assert!(self.failures.is_empty(), "{}: {n} of {total} rows failed:\n{}", self.suite, self.failures.join("\n"));
        }
    }
}

/// Runs independent parts of one test in turn, each to its end even when an earlier one failed
/// (each part writes its own rows); fails afterwards naming the parts that failed.
pub type Part<'a> = (&'a str, Box<dyn FnOnce() + 'a>);

pub fn parts(list: Vec<Part<'_>>) {
    let mut failed = Vec::new();
    for (name, part) in list {
        if let Err(e) = catch_unwind(AssertUnwindSafe(part)) {
            let why = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            let first = why.lines().next().unwrap_or("").to_string();
            failed.push(format!("{name}: {first}"));
        }
    }
    assert!(failed.is_empty(), "failed parts (details above):\n{}", failed.join("\n"));
}

// ---- talking to a Worker -----------------------------------------------------------------

/// The vectors of tests/data/path-attacks.txt, exactly as written.
pub fn vectors() -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/path-attacks.txt");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect()
}

pub fn port_of(w: &Worker) -> u16 {
    w.base.rsplit(':').next().unwrap().parse().unwrap()
}

/// The stable code on an error page or in an error JSON body.
pub fn worker_code(body: &str) -> Option<String> {
    let re = regex_lite::Regex::new(r#"(?:Error code: |"error":")([a-z_]+\.[a-z_]+|internal)"#).unwrap();
    re.captures(body).map(|c| c[1].to_string())
}

/// A request written as given: `Host`, the fields, `Content-Length` when there is a body,
/// `Connection: close`, then the body.
pub fn raw(port: u16, method: &str, target: &str, fields: &[(String, String)], body: &[u8]) -> std::io::Result<RawResp> {
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n");
    for (k, v) in fields {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() {
        head.push_str(&format!("Content-Type: application/octet-stream\r\nContent-Length: {}\r\n", body.len()));
    }
    head.push_str("Connection: close\r\n\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    raw_request(port, &bytes, method == "HEAD")
}
