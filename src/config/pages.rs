//! The pages users see: the brand (from `VIPPS_MARKET`) and where operators' page templates
//! live (`PAGE_TEMPLATES`, a folder in the static assets). Read even when the rest of the
//! configuration is broken, so the configuration page itself is branded and replaceable.

use super::reader::Reader;
use crate::pages::Brand;
use crate::policy::path::CanonicalPath;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PagesConfig {
    pub brand: Brand,
    /// The template folder in the assets (`/_pages`), canonical, no trailing `/`; `None`: the
    /// built-in pages.
    pub templates: Option<String>,
}

impl Default for PagesConfig {
    fn default() -> Self {
        PagesConfig { brand: Brand::Vipps, templates: None }
    }
}

impl PagesConfig {
    pub fn templates(&self) -> Option<&str> {
        self.templates.as_deref()
    }
}

pub fn parse(r: &mut Reader) -> PagesConfig {
    // VIPPS_MARKET's problems are reported by the vipps section; here only the brand matters.
    let brand = Brand::from_market(r.opt("VIPPS_MARKET").as_deref());
    let templates = match r.opt("PAGE_TEMPLATES") {
        None => None,
        Some(raw) => {
            let dir = raw.trim_end_matches('/');
            let plain = dir.is_empty() || (dir.starts_with('/') && CanonicalPath::parse(dir).ok().is_some_and(|c| c.as_str() == dir));
            if plain && !dir.contains(['?', '#', '*']) {
                Some(dir.to_string())
            } else {
                r.problem("PAGE_TEMPLATES", "must be a folder of the static assets, a plain path like /_pages");
                None
            }
        }
    };
    PagesConfig { brand, templates }
}

#[cfg(test)]
mod tests {
    use crate::config::tests::parse;
    use crate::pages::Brand;

    #[test]
    fn brand_and_template_folder() {
        let c = parse(&[]).unwrap();
        assert_eq!((c.pages.brand, c.pages.templates()), (Brand::Vipps, None));
        let c = parse(&[("VIPPS_MARKET", "DK"), ("PAGE_TEMPLATES", "/_pages/")]).unwrap();
        assert_eq!((c.pages.brand, c.pages.templates()), (Brand::MobilePay, Some("/_pages")));
        assert_eq!(parse(&[("PAGE_TEMPLATES", "/")]).unwrap().pages.templates(), Some(""));
        for bad in ["_pages", "/a/../b", "/a%2Fb", "https://cdn.example/pages", "/a?x", "/a//b"] {
            let e = parse(&[("PAGE_TEMPLATES", bad)]).unwrap_err();
            assert!(e.0.iter().any(|p| p.var == "PAGE_TEMPLATES"), "{bad}");
        }
    }
}
