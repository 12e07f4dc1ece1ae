//! Operator templates, read from the static assets (`PAGE_TEMPLATES`, through the `ASSETS`
//! binding) at first use and kept for the life of the isolate; a deploy starts new isolates,
//! so a changed file is seen after the next deploy. A missing or unusable file gives the
//! built-in page and one log line, and is looked for again after [`RETRY_UNUSABLE_SECS`]:
//! an error page never depends on a template being right, so it can never loop into a 500.

use super::template::Template;
use super::{Page, PageKind};
use crate::platform::{Level, Platform};
use std::cell::RefCell;
use std::rc::Rc;

/// How long a missing or unusable template is not asked for again.
pub const RETRY_UNUSABLE_SECS: u64 = 300;

#[derive(Clone)]
enum Entry {
    Ready(Rc<Template>),
    Unusable { until: u64 },
}

/// One per isolate. Only synchronous methods touch the cell, so no borrow is held across an
/// `.await`.
#[derive(Default)]
pub struct Templates {
    cache: RefCell<Vec<(PageKind, Entry)>>,
}

impl Templates {
    fn cached(&self, kind: PageKind) -> Option<Entry> {
        self.cache.borrow().iter().find(|(k, _)| *k == kind).map(|(_, e)| e.clone())
    }

    fn remember(&self, kind: PageKind, entry: Entry) {
        let mut cache = self.cache.borrow_mut();
        cache.retain(|(k, _)| *k != kind);
        cache.push((kind, entry));
    }

    /// The operator's template for `kind` from the folder `dir` (a path in the assets), or
    /// `None`: no folder configured, or the file is missing or unusable (logged).
    pub async fn get<P: Platform>(&self, p: &P, dir: Option<&str>, kind: PageKind) -> Option<Rc<Template>> {
        let dir = dir?;
        match self.cached(kind) {
            Some(Entry::Ready(t)) => return Some(t),
            Some(Entry::Unusable { until }) if p.now() < until => return None,
            _ => {}
        }
        let path = format!("{}/{}", dir.trim_end_matches('/'), kind.file_name());
        let loaded = match p.asset(&path).await {
            Ok(Some(bytes)) => Template::from_bytes(&bytes).map_err(|e| e.to_string()),
            Ok(None) => Err("not found".to_string()),
            Err(e) => Err(e),
        };
        match loaded {
            Ok(t) => {
                let t = Rc::new(t);
                self.remember(kind, Entry::Ready(t.clone()));
                Some(t)
            }
            Err(why) => {
                p.log(Level::Warn, "page.template_unusable", &format!("{path}: {why}; using the built-in page"));
                self.remember(kind, Entry::Unusable { until: p.now().saturating_add(RETRY_UNUSABLE_SECS) });
                None
            }
        }
    }

    /// The page as HTML: through the operator's template when there is a usable one.
    pub async fn render<P: Platform>(&self, p: &P, dir: Option<&str>, page: &Page) -> String {
        let operator = self.get(p, dir, page.kind).await;
        page.render(operator.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Code;
    use crate::pages::{error, Look};
    use crate::testkit::{block_on, FakePlatform};

    fn page() -> Page {
        error(Look::english(), Code::StateExpired, None, "/auth")
    }

    #[test]
    fn a_template_is_fetched_once_and_used() {
        let p = FakePlatform::default();
        p.assets.borrow_mut().insert("/_pages/error.html".into(), b"<p lang=\"{{lang}}\">{{title}} ({{code}})</p>".to_vec());
        let t = Templates::default();
        for _ in 0..3 {
            assert_eq!(block_on(t.render(&p, Some("/_pages"), &page())), "<p lang=\"en\">Login took too long (state.expired)</p>");
        }
        assert_eq!(p.asset_reads.get(), 1, "cached for the isolate");
        assert!(!p.logged("page.template_unusable"));
    }

    #[test]
    fn no_folder_means_built_in_pages_and_no_reads() {
        let p = FakePlatform::default();
        let html = block_on(Templates::default().render(&p, None, &page()));
        assert!(html.contains("Login took too long") && html.contains("<main>"));
        assert_eq!(p.asset_reads.get(), 0);
    }

    #[test]
    fn missing_or_broken_templates_fall_back_with_one_log_line() {
        let p = FakePlatform::default();
        p.assets.borrow_mut().insert("/t/unavailable.html".into(), b"{{titel}}".to_vec());
        p.assets.borrow_mut().insert("/t/forbidden.html".into(), vec![0xff, 0xfe]);
        let t = Templates::default();
        let cases = [
            (error(Look::english(), Code::StateExpired, None, "/auth"), "/t/error.html: not found"),
            (error(Look::english(), Code::VippsUnavailable, None, "/auth"), "/t/unavailable.html: unknown placeholder \"titel\""),
            (error(Look::english(), Code::Forbidden, None, "/auth"), "/t/forbidden.html: not UTF-8"),
        ];
        for (page, why) in &cases {
            for _ in 0..3 {
                let html = block_on(t.render(&p, Some("/t/"), page));
                assert!(html.contains("<main>"), "the built-in page");
            }
            let lines: Vec<String> = p.logs.borrow().iter().filter(|(_, c, _)| c == "page.template_unusable").map(|(_, _, d)| d.clone()).collect();
            assert!(lines.iter().any(|d| d.starts_with(why)), "{why}: {lines:?}");
        }
        assert_eq!(p.asset_reads.get(), 3, "an unusable template is not asked for on every error");
        assert_eq!(p.logs.borrow().len(), 3);
        // After a while it is looked for again (the operator may have fixed it).
        p.assets.borrow_mut().insert("/t/error.html".into(), b"fixed {{code}}".to_vec());
        p.advance(RETRY_UNUSABLE_SECS);
        assert_eq!(block_on(t.render(&p, Some("/t"), &cases[0].0)), "fixed state.expired");
    }

    #[test]
    fn a_failing_asset_fetch_is_the_built_in_page() {
        let p = FakePlatform::default();
        p.assets_broken.set(true);
        let html = block_on(Templates::default().render(&p, Some("/_pages"), &page()));
        assert!(html.contains("Login took too long"));
        assert!(p.logged("page.template_unusable"));
    }
}
