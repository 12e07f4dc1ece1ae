//! Which language a page speaks: `Accept-Language` (RFC 9110 §12.5.4) matched against the
//! languages we have, by the "lookup" scheme of RFC 4647 §3.4 reduced to primary subtags.
//!
//! The header is untrusted input: it is read item by item with bounds on the number of items
//! and the length of each tag, never allocates in proportion to its length, and a malformed
//! item is skipped, never fatal.

/// A language the pages speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// Norwegian bokmål (also what `no` and `nn` get).
    Nb,
    /// English: the default.
    En,
    /// Danish (offered where MobilePay is the brand).
    Da,
    /// Finnish (offered where MobilePay is the brand).
    Fi,
}

impl Lang {
    pub const ALL: [Lang; 4] = [Lang::Nb, Lang::En, Lang::Da, Lang::Fi];

    /// The BCP 47 tag for `lang` and `Content-Language`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Nb => "nb",
            Lang::En => "en",
            Lang::Da => "da",
            Lang::Fi => "fi",
        }
    }

    /// The language a primary subtag (lower case) asks for, if we speak it. Norwegian in any
    /// written form (`no`, `nn`, and the ISO 639-2 codes) gets bokmål.
    fn from_primary(primary: &str) -> Option<Lang> {
        match primary {
            "nb" | "no" | "nn" | "nob" | "nno" | "nor" => Some(Lang::Nb),
            "en" | "eng" => Some(Lang::En),
            "da" | "dan" => Some(Lang::Da),
            "fi" | "fin" => Some(Lang::Fi),
            _ => None,
        }
    }
}

/// Items of the header looked at; the rest is ignored (real browsers send fewer than ten).
const MAX_ITEMS: usize = 32;
/// Longest language tag considered (RFC 5646 tags in practice stay far below this).
const MAX_TAG: usize = 35;

/// The best language of `offered` for this `Accept-Language`, or `default` (which should be
/// among `offered`) when none matches. Highest `q` wins; equal `q` goes to the earlier item.
/// `q=0` means "not this one", also for a later `*`.
pub fn negotiate(header: Option<&str>, offered: &[Lang], default: Lang) -> Lang {
    let Some(header) = header else { return default };
    // Per language: the weight it was given first and where, and whether it was refused.
    let mut asked: [Option<(u16, usize)>; Lang::ALL.len()] = [None; Lang::ALL.len()];
    let mut refused = [false; Lang::ALL.len()];
    let mut wildcard: Option<(u16, usize)> = None;
    for (pos, item) in header.split(',').take(MAX_ITEMS).enumerate() {
        let Some((tag, q)) = parse_item(item) else { continue };
        if tag == "*" {
            if q > 0 && wildcard.is_none() {
                wildcard = Some((q, pos));
            }
            continue;
        }
        let primary = tag.split('-').next().unwrap_or_default().to_ascii_lowercase();
        let Some(lang) = Lang::from_primary(&primary).filter(|l| offered.contains(l)) else { continue };
        if q == 0 {
            refused[index(lang)] = true;
        } else if asked[index(lang)].is_none_or(|(bq, _)| q > bq) {
            asked[index(lang)] = Some((q, asked[index(lang)].map_or(pos, |(_, p)| p)));
        }
    }
    // Highest weight first, then the earlier item; a refusal wins over any acceptance.
    let rank = |(q, pos): (u16, usize)| (q, std::cmp::Reverse(pos));
    let best = Lang::ALL
        .iter()
        .filter(|l| !refused[index(**l)])
        .filter_map(|l| asked[index(*l)].map(|w| (w, *l)))
        .max_by_key(|(w, _)| rank(*w));
    match (best, wildcard) {
        (Some((w, lang)), Some(wild)) if rank(w) >= rank(wild) => lang,
        (Some((_, lang)), None) => lang,
        // `*` ranks higher: any language we have that was not refused, the default first.
        (_, Some(_)) => std::iter::once(default)
            .chain(offered.iter().copied())
            .find(|l| !refused[index(*l)])
            .unwrap_or(default),
        (None, None) => default,
    }
}

fn index(lang: Lang) -> usize {
    Lang::ALL.iter().position(|l| *l == lang).unwrap_or(0)
}

/// One `tag;q=0.8` item: the tag (letters, digits and `-`, or `*`) and its weight in
/// thousandths. `None` for anything malformed.
fn parse_item(item: &str) -> Option<(&str, u16)> {
    let mut parts = item.split(';');
    let tag = parts.next()?.trim();
    if tag.is_empty() || tag.len() > MAX_TAG {
        return None;
    }
    if tag != "*" && !tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return None;
    }
    let mut q = 1000;
    for param in parts {
        let (name, value) = param.split_once('=')?;
        if name.trim().eq_ignore_ascii_case("q") {
            q = parse_qvalue(value.trim())?;
        }
    }
    Some((tag, q))
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )` (RFC 9110 §12.4.2), in
/// thousandths.
fn parse_qvalue(v: &str) -> Option<u16> {
    let (int, frac) = match v.split_once('.') {
        Some((i, f)) => (i, f),
        None => (v, ""),
    };
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut thousandths: u16 = 0;
    for (i, b) in frac.bytes().enumerate() {
        thousandths += u16::from(b - b'0') * [100, 10, 1][i];
    }
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VIPPS: &[Lang] = &[Lang::Nb, Lang::En];
    const MOBILEPAY: &[Lang] = &[Lang::Da, Lang::Fi, Lang::Nb, Lang::En];

    fn vipps(h: &str) -> Lang {
        negotiate(Some(h), VIPPS, Lang::En)
    }

    #[test]
    fn norwegian_in_every_spelling_gets_bokmal() {
        for h in ["nb", "no", "nn", "nb-NO", "no-NO", "nn-NO", "NB-no", "nob", "nn;q=0.5", "de, nn;q=0.1"] {
            assert_eq!(vipps(h), Lang::Nb, "{h}");
        }
    }

    #[test]
    fn english_is_the_default() {
        assert_eq!(negotiate(None, VIPPS, Lang::En), Lang::En);
        for h in ["", "en", "en-US", "en-GB,en;q=0.9", "de", "sv-SE", "da", "fi", "*", "x", ";;;", ",,,,", "nb;q=0", "no;q=0, de"] {
            assert_eq!(vipps(h), Lang::En, "{h}");
        }
    }

    #[test]
    fn q_values_are_respected() {
        assert_eq!(vipps("en;q=0.5, nb;q=0.9"), Lang::Nb);
        assert_eq!(vipps("nb;q=0.5, en;q=0.9"), Lang::En);
        assert_eq!(vipps("nb;q=0.5, en;q=0.500"), Lang::Nb, "a tie goes to the earlier item");
        assert_eq!(vipps("en;q=1.0, nb;q=1"), Lang::En);
        assert_eq!(vipps("de, nb;q=0.001"), Lang::Nb);
        assert_eq!(vipps("en;q=0, nb;q=0.1"), Lang::Nb);
        assert_eq!(vipps("nb, nb;q=0, en;q=0.1"), Lang::En, "a refusal wins");
        assert_eq!(negotiate(Some("nb, nb;q=0, da;q=0.1"), MOBILEPAY, Lang::En), Lang::Da, "the next best after a refusal");
        assert_eq!(vipps("nb ; Q=0.7 , en ; q=0.6"), Lang::Nb, "spaces and case around parameters");
        assert_eq!(vipps("nb;level=1;q=0.9, en;q=0.8"), Lang::Nb, "other parameters are ignored");
    }

    #[test]
    fn wildcards() {
        assert_eq!(vipps("de, *;q=0.5"), Lang::En);
        assert_eq!(vipps("*;q=0.5, nb"), Lang::Nb);
        assert_eq!(vipps("en;q=0, *"), Lang::Nb, "any language but a refused one");
        assert_eq!(vipps("*, nb;q=0.5"), Lang::En, "the wildcard ranks higher and English is the default");
        assert_eq!(vipps("*;q=0"), Lang::En);
    }

    #[test]
    fn malformed_items_are_skipped_not_fatal() {
        for h in [
            "nb;q=2",          // q above 1
            "nb;q=1.5",
            "nb;q=0.1234",     // four decimals
            "nb;q=abc",
            "nb;q=",
            "nb;q",
            "nb;q=-1",
            "nb;q=0x1",
            "n b",
            "nb\u{0}",
            "nb<script>",
            "nb;q=0.5;q=é",
            "ñb",
        ] {
            assert_eq!(vipps(h), Lang::En, "{h:?}");
        }
        assert_eq!(vipps("nb;q=2, en;q=0.1, nb-NO;q=0.5"), Lang::Nb, "a bad item does not spoil the good ones");
    }

    #[test]
    fn hostile_headers_never_panic_and_stay_bounded() {
        let long_tag = format!("{}-NO", "n".repeat(10_000));
        assert_eq!(vipps(&long_tag), Lang::En);
        let many = "de;q=0.1,".repeat(100_000) + "nb";
        assert_eq!(vipps(&many), Lang::En, "items after the first 32 are not looked at");
        let multibyte = "ø".repeat(5000) + ";q=ø.ø, nb;q=0.ø";
        assert_eq!(vipps(&multibyte), Lang::En);
        let semicolons = ";".repeat(50_000);
        assert_eq!(vipps(&semicolons), Lang::En);
        for b in 0u8..=255 {
            let s = String::from_utf8_lossy(&[b, b';', b'q', b'=', b]).into_owned();
            let _ = vipps(&s);
        }
    }

    #[test]
    fn danish_and_finnish_only_where_offered() {
        assert_eq!(negotiate(Some("da-DK"), MOBILEPAY, Lang::En), Lang::Da);
        assert_eq!(negotiate(Some("fi-FI, en;q=0.5"), MOBILEPAY, Lang::En), Lang::Fi);
        assert_eq!(negotiate(Some("sv, nb;q=0.4, da;q=0.3"), MOBILEPAY, Lang::En), Lang::Nb);
        assert_eq!(negotiate(Some("da-DK"), VIPPS, Lang::En), Lang::En);
    }

    #[test]
    fn qvalues() {
        assert_eq!(parse_qvalue("1"), Some(1000));
        assert_eq!(parse_qvalue("1.000"), Some(1000));
        assert_eq!(parse_qvalue("0.5"), Some(500));
        assert_eq!(parse_qvalue("0.05"), Some(50));
        assert_eq!(parse_qvalue("0."), Some(0));
        assert_eq!(parse_qvalue("1.001"), None);
        assert_eq!(parse_qvalue("01"), None);
        assert_eq!(parse_qvalue(""), None);
    }
}
