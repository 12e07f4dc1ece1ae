//! The conformance table: each scenario a row (suite, scenario, expected, observed, result)
//! written to target/conformance/<suite>.tsv, which `make test` turns into CONFORMANCE.md.
//! A table fails its test on drop, listing every failed row, so one failure hides no other.

use std::io::Write;

/// Rows of one suite, written to target/conformance/<suite>.tsv on drop; a failed row fails
/// the test after the whole suite ran.
pub struct Table {
    pub suite: &'static str,
    pub rows: Vec<String>,
    pub failures: Vec<String>,
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

