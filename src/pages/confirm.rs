//! The "Continue as <name>?" page of a login that came back without this browser's login
//! cookie (automatic return from the Vipps app, finished in another browser): the user
//! confirms that they started this login before a session is set (login CSRF, RFC 6749
//! §10.12). Built-in only, in the shared layout, every value HTML-escaped; its words live here,
//! in every language the pages speak.

use super::template::{Field, Template, Values};
use super::texts::Look;
use super::Lang;

struct Words {
    title_named: &'static str,
    title_anonymous: &'static str,
    message: &'static str,
    continue_label: &'static str,
    cancel: &'static str,
}

fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::En => &Words {
            title_named: "Continue as {name}?",
            title_anonymous: "Continue the login?",
            message: "You logged in with {app} for this site, and came back in another browser. Continue only if you started this login yourself, just now.",
            continue_label: "Continue",
            cancel: "Cancel",
        },
        Lang::Nb => &Words {
            title_named: "Fortsette som {name}?",
            title_anonymous: "Fortsette innloggingen?",
            message: "Du logget inn med {app} på dette nettstedet og kom tilbake i en annen nettleser. Fortsett bare hvis du selv startet denne innloggingen akkurat nå.",
            continue_label: "Fortsett",
            cancel: "Avbryt",
        },
        Lang::Da => &Words {
            title_named: "Fortsæt som {name}?",
            title_anonymous: "Fortsæt login?",
            message: "Du loggede ind med {app} på dette websted og kom tilbage i en anden browser. Fortsæt kun, hvis du selv startede dette login lige nu.",
            continue_label: "Fortsæt",
            cancel: "Annuller",
        },
        Lang::Fi => &Words {
            title_named: "Jatketaanko nimellä {name}?",
            title_anonymous: "Jatketaanko kirjautumista?",
            message: "Kirjauduit tälle sivustolle palvelulla {app} ja palasit toiseen selaimeen. Jatka vain, jos aloitit tämän kirjautumisen itse juuri nyt.",
            continue_label: "Jatka",
            cancel: "Peruuta",
        },
    }
}

const BODY: &str = r#"<h1>{{title}}</h1>
<p>{{message}}</p>
<form method="post" action="{{login_url}}">
<div class="actions">
<button type="submit" class="button login">{{login_label}}</button>
<a class="button secondary" href="{{back_url}}">{{cancel_label}}</a>
</div>
</form>"#;

/// The page: `name` is the user's name when the session keeps one; `action` the confirmation's
/// URL (it carries the one-time token).
pub fn render(look: Look, name: Option<&str>, action: &str) -> String {
    let w = words(look.lang());
    let title = match name {
        Some(n) => w.title_named.replace("{name}", n),
        None => w.title_anonymous.to_string(),
    };
    let mut values = Values::default();
    values
        .set(Field::Lang, look.lang().tag())
        .set(Field::Title, title)
        .set(Field::Message, w.message.replace("{app}", look.brand().name()))
        .set(Field::Brand, look.brand().name())
        .set(Field::BrandColor, look.brand().color())
        .set(Field::LoginUrl, action)
        .set(Field::LoginLabel, w.continue_label)
        .set(Field::BackUrl, "/")
        .set(Field::CancelLabel, w.cancel);
    let src = include_str!("builtin/layout.html").replacen("<!-- page -->", BODY, 1);
    match Template::parse(&src) {
        Ok(t) => t.render(&values),
        Err(_) => String::from("<!doctype html><title>Continue?</title>"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pages::Brand;

    #[test]
    fn names_the_user_escaped_in_their_language() {
        let html = render(Look::new(Lang::Nb, Brand::Vipps), Some("Kari <b>Nordmann</b>"), "/auth/login/confirm?k=abc&r=%2F");
        assert!(html.contains("Fortsette som Kari &lt;b&gt;Nordmann&lt;/b&gt;?"), "{html}");
        assert!(html.contains(r#"<form method="post" action="/auth/login/confirm?k=abc&amp;r=%2F">"#), "{html}");
        assert!(html.contains("lang=\"nb\"") && html.contains("Fortsett") && html.contains("Vipps"));
        for lang in Lang::ALL {
            let html = render(Look::new(lang, Brand::MobilePay), None, "/x");
            assert!(!html.contains("{{") && !html.contains("{name}") && !html.contains("{app}"), "{lang:?}");
        }
    }
}
