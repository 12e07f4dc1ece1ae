//! Every sentence a user can read, in every language the pages speak, and the brand they are
//! shown in. Nothing else in the crate holds user-facing text: error codes map to a [`Msg`]
//! here (exhaustively, so a new code cannot ship without words), and each `Msg` has a title
//! and a sentence in each [`Lang`] (exhaustively too).
//!
//! `{app}` in a text is the brand's name (Vipps or MobilePay); "Vipps MobilePay", the company,
//! is written out. Danish and Finnish are offered only where MobilePay is the brand.

use super::lang::{negotiate, Lang};
use crate::error::Code;

/// Which app the user knows: Vipps (Norway, Sweden) or MobilePay (Denmark, Finland).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Brand {
    Vipps,
    MobilePay,
}

impl Brand {
    /// `VIPPS_MARKET`: `DK` and `FI` show MobilePay, anything else Vipps.
    pub fn from_market(market: Option<&str>) -> Brand {
        match market {
            Some("DK" | "FI") => Brand::MobilePay,
            _ => Brand::Vipps,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Brand::Vipps => "Vipps",
            Brand::MobilePay => "MobilePay",
        }
    }
    /// The button colour of the Vipps MobilePay button guidelines: white text on Vipps orange
    /// or MobilePay blue (both pass WCAG AA for large text, which the button's text is).
    pub fn color(self) -> &'static str {
        match self {
            Brand::Vipps => "#FF5B24",
            Brand::MobilePay => "#5A78FF",
        }
    }
    /// The languages pages are offered in under this brand, the default last.
    pub fn languages(self) -> &'static [Lang] {
        match self {
            Brand::Vipps => &[Lang::Nb, Lang::En],
            Brand::MobilePay => &[Lang::Da, Lang::Fi, Lang::Nb, Lang::En],
        }
    }
}

/// How a page looks to one user: their language and the market's brand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Look {
    lang: Lang,
    brand: Brand,
}

impl Look {
    /// `lang` if the brand offers it, else English.
    pub fn new(lang: Lang, brand: Brand) -> Look {
        let lang = if brand.languages().contains(&lang) { lang } else { Lang::En };
        Look { lang, brand }
    }
    /// The look for a request's `Accept-Language` (any value, hostile ones included).
    pub fn negotiate(accept_language: Option<&str>, brand: Brand) -> Look {
        Look::new(negotiate(accept_language, brand.languages(), Lang::En), brand)
    }
    pub fn english() -> Look {
        Look::new(Lang::En, Brand::Vipps)
    }
    pub fn lang(self) -> Lang {
        self.lang
    }
    pub fn brand(self) -> Brand {
        self.brand
    }
    /// A text with `{app}` filled in.
    fn fill(self, text: &str) -> String {
        text.replace("{app}", self.brand.name())
    }
}

/// What the user is told about an error: a title and one sentence. Never upstream text.
pub fn code_text(code: Code, look: Look) -> (String, String) {
    let (title, sentence) = Msg::for_code(code).text(look.lang);
    (look.fill(title), look.fill(sentence))
}

/// The approved button text of the guidelines ("Logg inn med Vipps", "Log ind med
/// MobilePay", "Kirjaudu MobilePaylla").
pub fn login_label(look: Look) -> String {
    match (look.lang, look.brand) {
        (Lang::Fi, Brand::MobilePay) => "Kirjaudu MobilePaylla".into(),
        (Lang::Fi, Brand::Vipps) => "Kirjaudu Vippsillä".into(),
        (lang, _) => look.fill(match lang {
            Lang::Nb => "Logg inn med {app}",
            Lang::En => "Log in with {app}",
            Lang::Da => "Log ind med {app}",
            Lang::Fi => "Kirjaudu {app}",
        }),
    }
}

/// The words around a page's message: labels, and the texts of the pages that are not errors.
#[derive(Debug)]
pub struct Chrome {
    pub try_again: &'static str,
    pub back: &'static str,
    pub code_label: &'static str,
    pub log_out: &'static str,
    pub cancel: &'static str,
    pub logout_title: &'static str,
    pub logout_message: &'static str,
    pub logged_out_title: &'static str,
    pub logged_out_message: &'static str,
    pub config_title: &'static str,
    pub config_message: &'static str,
}

pub fn chrome(lang: Lang) -> &'static Chrome {
    match lang {
        Lang::En => &Chrome {
            try_again: "Try again",
            back: "Back to the site",
            code_label: "Error code",
            log_out: "Log out",
            cancel: "Cancel",
            logout_title: "Log out?",
            logout_message: "This ends your session on this site. Vipps MobilePay may still remember you in this browser.",
            logged_out_title: "You are logged out",
            logged_out_message: "Your session on this site has ended. Vipps MobilePay may still remember you in this browser; you can change that in the app.",
            config_title: "Login is not configured",
            config_message: "The site owner needs to fix these settings (wrangler vars and secrets):",
        },
        Lang::Nb => &Chrome {
            try_again: "Prøv igjen",
            back: "Tilbake til nettstedet",
            code_label: "Feilkode",
            log_out: "Logg ut",
            cancel: "Avbryt",
            logout_title: "Logge ut?",
            logout_message: "Dette avslutter økten din på dette nettstedet. Vipps MobilePay kan fortsatt huske deg i denne nettleseren.",
            logged_out_title: "Du er logget ut",
            logged_out_message: "Økten din på dette nettstedet er avsluttet. Vipps MobilePay kan fortsatt huske deg i denne nettleseren; det kan du endre i appen.",
            config_title: "Innlogging er ikke satt opp",
            config_message: "Eieren av nettstedet må rette disse innstillingene (wrangler vars og secrets):",
        },
        Lang::Da => &Chrome {
            try_again: "Prøv igen",
            back: "Tilbage til webstedet",
            code_label: "Fejlkode",
            log_out: "Log ud",
            cancel: "Annuller",
            logout_title: "Log ud?",
            logout_message: "Dette afslutter din session på dette websted. Vipps MobilePay kan stadig huske dig i denne browser.",
            logged_out_title: "Du er logget ud",
            logged_out_message: "Din session på dette websted er afsluttet. Vipps MobilePay kan stadig huske dig i denne browser; det kan du ændre i appen.",
            config_title: "Login er ikke sat op",
            config_message: "Webstedets ejer skal rette disse indstillinger (wrangler vars og secrets):",
        },
        Lang::Fi => &Chrome {
            try_again: "Yritä uudelleen",
            back: "Takaisin sivustolle",
            code_label: "Virhekoodi",
            log_out: "Kirjaudu ulos",
            cancel: "Peruuta",
            logout_title: "Kirjaudutaanko ulos?",
            logout_message: "Tämä päättää istuntosi tällä sivustolla. Vipps MobilePay voi silti muistaa sinut tässä selaimessa.",
            logged_out_title: "Olet kirjautunut ulos",
            logged_out_message: "Istuntosi tällä sivustolla on päättynyt. Vipps MobilePay voi silti muistaa sinut tässä selaimessa; voit muuttaa tämän sovelluksessa.",
            config_title: "Kirjautumista ei ole määritetty",
            config_message: "Sivuston ylläpitäjän on korjattava nämä asetukset (wrangler vars ja secrets):",
        },
    }
}

/// What an error tells the user. Several codes share one message: the code itself is on the
/// page for support.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Msg {
    Cancelled,
    Expired,
    NotStarted,
    AnswerUsed,
    Unreachable,
    BadAnswer,
    NotVerified,
    /// The path needs in-app confirmation and the login did not show it.
    NeedsAppConfirmation,
    /// The path needs a recent authentication and the login's was older.
    NeedsRecentLogin,
    NotConfigured,
    WebhookRefused,
    WebhookRetry,
    LoginRequired,
    /// Logged in, but the access rules do not let this user see the page: the forbidden page.
    Forbidden,
    LogoutRefused,
    /// "Log out everywhere" could not be recorded.
    LogoutIncomplete,
    /// A merchant system's request to the login-from-phone-number API was refused (the code
    /// says why).
    ApiRefused,
    /// The login-from-phone-number API asks the caller to wait.
    ApiWait,
    /// A login from phone number ended without a user.
    PhoneLoginEnded,
    /// The site's own backend (the login hook) refused this user.
    LoginRefused,
    /// A login from phone number finished in the phone's browser that this site did not start.
    PhoneLoginUnknown,
    NotFound,
    MethodNotAllowed,
    BadAddress,
    SiteDown,
    Internal,
    /// Too many logins at once here (a per-isolate bound): try again in a minute.
    Busy,
}

impl Msg {
    pub const ALL: [Msg; 27] = [
        Msg::Cancelled,
        Msg::Expired,
        Msg::NotStarted,
        Msg::AnswerUsed,
        Msg::Unreachable,
        Msg::BadAnswer,
        Msg::NotVerified,
        Msg::NeedsAppConfirmation,
        Msg::NeedsRecentLogin,
        Msg::NotConfigured,
        Msg::WebhookRefused,
        Msg::WebhookRetry,
        Msg::LoginRequired,
        Msg::Forbidden,
        Msg::LogoutRefused,
        Msg::LogoutIncomplete,
        Msg::ApiRefused,
        Msg::ApiWait,
        Msg::PhoneLoginEnded,
        Msg::LoginRefused,
        Msg::PhoneLoginUnknown,
        Msg::NotFound,
        Msg::MethodNotAllowed,
        Msg::BadAddress,
        Msg::SiteDown,
        Msg::Internal,
        Msg::Busy,
    ];

    /// Every code says something: no wildcard, so a new code needs a decision here.
    pub fn for_code(code: Code) -> Msg {
        use Code::*;
        match code {
            AccessDenied => Msg::Cancelled,
            StateExpired => Msg::Expired,
            TransactionMissing | StateMismatch | StateMissing => Msg::NotStarted,
            TokenInvalidGrant => Msg::AnswerUsed,
            DiscoveryUnavailable | JwksUnavailable | VippsUnavailable => Msg::Unreachable,
            TokenRejected | TokenBadResponse | UserinfoFailed | DiscoveryInvalid | JwksInvalid => Msg::BadAnswer,
            CallbackDuplicateParam | CallbackMissingCode | CallbackIssMismatch | ProviderError | IdTokenMalformed
            | IdTokenAlgorithm | IdTokenUnknownKey | IdTokenSignature | IdTokenIssuer | IdTokenAudience | IdTokenAzp
            | IdTokenExpired | IdTokenIssuedAt | IdTokenNotYetValid | IdTokenNonce | IdTokenSubject | IdTokenAtHash
            | UserinfoSubMismatch => Msg::NotVerified,
            IdTokenAcrMissing | IdTokenAcrMismatch => Msg::NeedsAppConfirmation,
            IdTokenAuthTooOld => Msg::NeedsRecentLogin,
            ConfigInvalid => Msg::NotConfigured,
            WebhookMalformed | WebhookAlgorithm | WebhookSignature | WebhookExpired | WebhookNotYetValid
            | WebhookTooLarge | WebhookMediaType => Msg::WebhookRefused,
            WebhookStoreFailed | WebhookForwardFailed => Msg::WebhookRetry,
            SessionRequired | StepUpRequired => Msg::LoginRequired,
            Forbidden => Msg::Forbidden,
            LogoutBadOrigin => Msg::LogoutRefused,
            LogoutStoreFailed => Msg::LogoutIncomplete,
            CibaUnauthorized | CibaBadRequest | CibaBadPhone | CibaBadBindingMessage | CibaBadExpiry | CibaBadScope
            | CibaBadHandle | CibaForeignHandle => Msg::ApiRefused,
            CibaTooEarly | CibaRateLimited => Msg::ApiWait,
            CibaExpired | CibaDenied | CibaOldApp | CibaInvalidUser => Msg::PhoneLoginEnded,
            CibaUnsupported | CibaRejected => Msg::BadAnswer,
            HookDenied => Msg::LoginRefused,
            CibaUnknownLogin => Msg::PhoneLoginUnknown,
            // The code was not spent: the same link works again in a minute.
            CibaCallbackThrottled => Msg::Busy,
            CibaStoreFailed => Msg::Internal,
            HookUnavailable | HookBadResponse => Msg::SiteDown,
            NotFound => Msg::NotFound,
            MethodNotAllowed => Msg::MethodNotAllowed,
            PathRefused | RequestInvalid => Msg::BadAddress,
            BackendUnavailable => Msg::SiteDown,
            Internal | LoginStoreFailed => Msg::Internal,
            // "Try again in a moment", with the login button.
            LoginBusy => Msg::Busy,
            FlowNotAllowed => Msg::BadAddress,
            StoredStateUnknown | AppHandoffUnknown => Msg::AnswerUsed,
            AppHandoffExpired => Msg::Expired,
            ConfirmInvalid => Msg::NotStarted,
            AppBadRequest | AppUriRefused | AppVerifierMismatch => Msg::ApiRefused,
            BearerInvalid => Msg::LoginRequired,
        }
    }

    /// Title and sentence, `{app}` not yet filled in.
    pub fn text(self, lang: Lang) -> (&'static str, &'static str) {
        use Lang::*;
        match (self, lang) {
            (Msg::Cancelled, En) => ("Login cancelled", "You cancelled the login in {app}. You can try again whenever you like."),
            (Msg::Cancelled, Nb) => ("Innloggingen ble avbrutt", "Du avbrøt innloggingen i {app}. Du kan prøve igjen når du vil."),
            (Msg::Cancelled, Da) => ("Login annulleret", "Du annullerede login i {app}. Du kan prøve igen, når du vil."),
            (Msg::Cancelled, Fi) => ("Kirjautuminen peruttiin", "Peruit kirjautumisen {app}-sovelluksessa. Voit yrittää uudelleen milloin tahansa."),

            (Msg::Expired, En) => ("Login took too long", "The login was not finished in time. Please start it again."),
            (Msg::Expired, Nb) => ("Innloggingen tok for lang tid", "Innloggingen ble ikke fullført i tide. Start den på nytt."),
            (Msg::Expired, Da) => ("Login tog for lang tid", "Login blev ikke gennemført i tide. Start det venligst igen."),
            (Msg::Expired, Fi) => ("Kirjautuminen kesti liian kauan", "Kirjautumista ei viety loppuun ajoissa. Aloita se uudelleen."),

            (Msg::NotStarted, En) => (
                "Login could not be completed",
                "This login was not started in this browser, was already used, or cookies are blocked. Please start the login again.",
            ),
            (Msg::NotStarted, Nb) => (
                "Innloggingen kunne ikke fullføres",
                "Denne innloggingen ble ikke startet i denne nettleseren, er allerede brukt, eller informasjonskapsler er blokkert. Start innloggingen på nytt.",
            ),
            (Msg::NotStarted, Da) => (
                "Login kunne ikke gennemføres",
                "Dette login blev ikke startet i denne browser, er allerede brugt, eller cookies er blokeret. Start venligst login igen.",
            ),
            (Msg::NotStarted, Fi) => (
                "Kirjautumista ei voitu viedä loppuun",
                "Tätä kirjautumista ei aloitettu tässä selaimessa, se on jo käytetty tai evästeet on estetty. Aloita kirjautuminen uudelleen.",
            ),

            (Msg::AnswerUsed, En) => (
                "Login could not be completed",
                "The login answer from {app} was already used or has expired. Please start the login again.",
            ),
            (Msg::AnswerUsed, Nb) => (
                "Innloggingen kunne ikke fullføres",
                "Svaret fra {app} er allerede brukt eller har utløpt. Start innloggingen på nytt.",
            ),
            (Msg::AnswerUsed, Da) => (
                "Login kunne ikke gennemføres",
                "Svaret fra {app} er allerede brugt eller udløbet. Start venligst login igen.",
            ),
            (Msg::AnswerUsed, Fi) => (
                "Kirjautumista ei voitu viedä loppuun",
                "Vastaus palvelusta {app} on jo käytetty tai vanhentunut. Aloita kirjautuminen uudelleen.",
            ),

            (Msg::Unreachable, En) => ("{app} is not reachable right now", "We could not reach Vipps MobilePay. Please try again in a moment."),
            (Msg::Unreachable, Nb) => ("{app} svarer ikke akkurat nå", "Vi fikk ikke kontakt med Vipps MobilePay. Prøv igjen om litt."),
            (Msg::Unreachable, Da) => ("{app} svarer ikke lige nu", "Vi kunne ikke få forbindelse til Vipps MobilePay. Prøv venligst igen om lidt."),
            (Msg::Unreachable, Fi) => ("{app} ei vastaa juuri nyt", "Emme saaneet yhteyttä palveluun Vipps MobilePay. Yritä hetken kuluttua uudelleen."),

            (Msg::BadAnswer, En) => ("Login failed", "Vipps MobilePay did not give a usable answer. Please try again in a moment."),
            (Msg::BadAnswer, Nb) => ("Innloggingen mislyktes", "Vipps MobilePay ga ikke et brukbart svar. Prøv igjen om litt."),
            (Msg::BadAnswer, Da) => ("Login mislykkedes", "Vipps MobilePay gav ikke et brugbart svar. Prøv venligst igen om lidt."),
            (Msg::BadAnswer, Fi) => ("Kirjautuminen epäonnistui", "Vipps MobilePay ei antanut käyttökelpoista vastausta. Yritä hetken kuluttua uudelleen."),

            (Msg::NotVerified, En) => (
                "Login could not be verified",
                "The answer from Vipps MobilePay did not pass our security checks. Please start the login again.",
            ),
            (Msg::NotVerified, Nb) => (
                "Innloggingen kunne ikke bekreftes",
                "Svaret fra Vipps MobilePay besto ikke sikkerhetskontrollene våre. Start innloggingen på nytt.",
            ),
            (Msg::NotVerified, Da) => (
                "Login kunne ikke bekræftes",
                "Svaret fra Vipps MobilePay bestod ikke vores sikkerhedstjek. Start venligst login igen.",
            ),
            (Msg::NotVerified, Fi) => (
                "Kirjautumista ei voitu vahvistaa",
                "Palvelun Vipps MobilePay vastaus ei läpäissyt tietoturvatarkistuksiamme. Aloita kirjautuminen uudelleen.",
            ),

            (Msg::NeedsAppConfirmation, En) => (
                "Confirmation in the app needed",
                "This page needs you to confirm the login in the {app} app, and the login did not show that. Please try again.",
            ),
            (Msg::NeedsAppConfirmation, Nb) => (
                "Bekreftelse i appen trengs",
                "Denne siden krever at du bekrefter innloggingen i {app}-appen, og innloggingen viste ikke det. Prøv igjen.",
            ),
            (Msg::NeedsAppConfirmation, Da) => (
                "Bekræftelse i appen kræves",
                "Denne side kræver, at du bekræfter login i {app}-appen, og login viste ikke det. Prøv venligst igen.",
            ),
            (Msg::NeedsAppConfirmation, Fi) => (
                "Vahvistus sovelluksessa tarvitaan",
                "Tämä sivu edellyttää, että vahvistat kirjautumisen {app}-sovelluksessa, eikä kirjautuminen osoittanut sitä. Yritä uudelleen.",
            ),

            (Msg::NeedsRecentLogin, En) => ("Recent login needed", "This page needs a login made just now. Please log in again."),
            (Msg::NeedsRecentLogin, Nb) => ("Ny innlogging trengs", "Denne siden krever at du nettopp har logget inn. Logg inn på nytt."),
            (Msg::NeedsRecentLogin, Da) => ("Nyt login kræves", "Denne side kræver, at du lige har logget ind. Log venligst ind igen."),
            (Msg::NeedsRecentLogin, Fi) => ("Uusi kirjautuminen tarvitaan", "Tämä sivu edellyttää juuri tehtyä kirjautumista. Kirjaudu uudelleen."),

            (Msg::NotConfigured, En) => ("This site is not configured correctly", "The login service is missing settings. The site owner has been told."),
            (Msg::NotConfigured, Nb) => ("Dette nettstedet er ikke riktig satt opp", "Innloggingstjenesten mangler innstillinger. Eieren av nettstedet har fått beskjed."),
            (Msg::NotConfigured, Da) => ("Dette websted er ikke sat korrekt op", "Login-tjenesten mangler indstillinger. Webstedets ejer har fået besked."),
            (Msg::NotConfigured, Fi) => ("Tätä sivustoa ei ole määritetty oikein", "Kirjautumispalvelusta puuttuu asetuksia. Sivuston ylläpitäjälle on ilmoitettu."),

            (Msg::WebhookRefused, En) => ("Webhook refused", "The body is not a valid, current consent event."),
            (Msg::WebhookRefused, Nb) => ("Webhook avvist", "Innholdet er ikke en gyldig, aktuell samtykkehendelse."),
            (Msg::WebhookRefused, Da) => ("Webhook afvist", "Indholdet er ikke en gyldig, aktuel samtykkehændelse."),
            (Msg::WebhookRefused, Fi) => ("Webhook hylättiin", "Sisältö ei ole kelvollinen, voimassa oleva suostumustapahtuma."),

            (Msg::ApiRefused, En) => ("Request refused", "The request was not accepted; the error code says why (see the README)."),
            (Msg::ApiRefused, Nb) => ("Forespørselen ble avvist", "Forespørselen ble ikke godtatt; feilkoden forteller hvorfor (se README)."),
            (Msg::ApiRefused, Da) => ("Forespørgslen blev afvist", "Forespørgslen blev ikke accepteret; fejlkoden fortæller hvorfor (se README)."),
            (Msg::ApiRefused, Fi) => ("Pyyntö hylättiin", "Pyyntöä ei hyväksytty; virhekoodi kertoo syyn (katso README)."),
            (Msg::ApiWait, En) => ("Too early", "Wait retry_after seconds before you ask again."),
            (Msg::ApiWait, Nb) => ("For tidlig", "Vent retry_after sekunder før du spør igjen."),
            (Msg::ApiWait, Da) => ("For tidligt", "Vent retry_after sekunder, før du spørger igen."),
            (Msg::ApiWait, Fi) => ("Liian aikaisin", "Odota retry_after sekuntia ennen kuin kysyt uudelleen."),
            (Msg::PhoneLoginEnded, En) => ("Login not completed", "The login ended without a user (expired, declined, an old app or an unknown number). Start a new one."),
            (Msg::PhoneLoginEnded, Nb) => ("Innloggingen ble ikke fullført", "Innloggingen endte uten en bruker (utløpt, avslått, en gammel app eller et ukjent nummer). Start en ny."),
            (Msg::PhoneLoginEnded, Da) => ("Login blev ikke gennemført", "Login sluttede uden en bruger (udløbet, afvist, en gammel app eller et ukendt nummer). Start et nyt."),
            (Msg::PhoneLoginEnded, Fi) => ("Kirjautuminen ei onnistunut", "Kirjautuminen päättyi ilman käyttäjää (vanhentui, hylättiin, vanha sovellus tai tuntematon numero). Aloita uusi."),
            (Msg::PhoneLoginUnknown, En) => (
                "Login could not be completed",
                "This login from your phone number is unknown here, has expired or was already used. Ask for a new login to be started.",
            ),
            (Msg::PhoneLoginUnknown, Nb) => (
                "Innloggingen kunne ikke fullføres",
                "Denne innloggingen med telefonnummeret ditt er ukjent her, har utløpt eller er allerede brukt. Be om at en ny innlogging startes.",
            ),
            (Msg::PhoneLoginUnknown, Da) => (
                "Login kunne ikke gennemføres",
                "Dette login med dit telefonnummer er ukendt her, er udløbet eller er allerede brugt. Bed om, at et nyt login startes.",
            ),
            (Msg::PhoneLoginUnknown, Fi) => (
                "Kirjautumista ei voitu viedä loppuun",
                "Tämä puhelinnumerolla aloitettu kirjautuminen on täällä tuntematon, vanhentunut tai jo käytetty. Pyydä aloittamaan uusi kirjautuminen.",
            ),
            (Msg::LoginRefused, En) => (
                "You cannot log in here",
                "You confirmed in {app}, but this site does not let this account log in. Contact the site owner if you think this is wrong.",
            ),
            (Msg::LoginRefused, Nb) => (
                "Du kan ikke logge inn her",
                "Du bekreftet i {app}, men dette nettstedet lar ikke denne kontoen logge inn. Kontakt eieren av nettstedet hvis du mener dette er feil.",
            ),
            (Msg::LoginRefused, Da) => (
                "Du kan ikke logge ind her",
                "Du bekræftede i {app}, men dette websted lader ikke denne konto logge ind. Kontakt webstedets ejer, hvis du mener, det er en fejl.",
            ),
            (Msg::LoginRefused, Fi) => (
                "Et voi kirjautua tänne",
                "Vahvistit {app}-sovelluksessa, mutta tämä sivusto ei salli tämän tilin kirjautua. Ota yhteyttä sivuston ylläpitäjään, jos tämä on mielestäsi virhe.",
            ),
            (Msg::LogoutIncomplete, En) => ("Could not log out everywhere", "You are logged out in this browser, but your other sessions could not be ended right now. Please try again in a moment."),
            (Msg::LogoutIncomplete, Nb) => ("Kunne ikke logge ut overalt", "Du er logget ut i denne nettleseren, men de andre øktene dine kunne ikke avsluttes akkurat nå. Prøv igjen om litt."),
            (Msg::LogoutIncomplete, Da) => ("Kunne ikke logge ud overalt", "Du er logget ud i denne browser, men dine andre sessioner kunne ikke afsluttes lige nu. Prøv igen om lidt."),
            (Msg::LogoutIncomplete, Fi) => ("Uloskirjautuminen kaikkialta epäonnistui", "Olet kirjautunut ulos tästä selaimesta, mutta muita istuntojasi ei voitu päättää juuri nyt. Yritä hetken kuluttua uudelleen."),
            (Msg::WebhookRetry, En) => ("Webhook not processed", "The event could not be recorded right now. Please deliver it again."),
            (Msg::WebhookRetry, Nb) => ("Webhooken ble ikke behandlet", "Hendelsen kunne ikke registreres akkurat nå. Lever den på nytt."),
            (Msg::WebhookRetry, Da) => ("Webhooken blev ikke behandlet", "Hændelsen kunne ikke registreres lige nu. Lever den venligst igen."),
            (Msg::WebhookRetry, Fi) => ("Webhookia ei käsitelty", "Tapahtumaa ei voitu tallentaa juuri nyt. Toimita se uudelleen."),

            (Msg::LoginRequired, En) => ("Login required", "Please log in to see this page."),
            (Msg::LoginRequired, Nb) => ("Innlogging kreves", "Logg inn for å se denne siden."),
            (Msg::LoginRequired, Da) => ("Login påkrævet", "Log venligst ind for at se denne side."),
            (Msg::LoginRequired, Fi) => ("Kirjautuminen vaaditaan", "Kirjaudu sisään nähdäksesi tämän sivun."),

            (Msg::Forbidden, En) => (
                "No access",
                "You are logged in, but this account does not have access to this page. Log out and log in with another account, or ask the site owner for access.",
            ),
            (Msg::Forbidden, Nb) => (
                "Ingen tilgang",
                "Du er logget inn, men denne kontoen har ikke tilgang til denne siden. Logg ut og logg inn med en annen konto, eller be eieren av nettstedet om tilgang.",
            ),
            (Msg::Forbidden, Da) => (
                "Ingen adgang",
                "Du er logget ind, men denne konto har ikke adgang til denne side. Log ud, og log ind med en anden konto, eller bed webstedets ejer om adgang.",
            ),
            (Msg::Forbidden, Fi) => (
                "Ei käyttöoikeutta",
                "Olet kirjautunut sisään, mutta tällä tilillä ei ole pääsyä tälle sivulle. Kirjaudu ulos ja kirjaudu toisella tilillä tai pyydä sivuston ylläpitäjältä käyttöoikeutta.",
            ),

            (Msg::LogoutRefused, En) => ("Logout refused", "The logout request did not come from this site."),
            (Msg::LogoutRefused, Nb) => ("Utlogging avvist", "Forespørselen om å logge ut kom ikke fra dette nettstedet."),
            (Msg::LogoutRefused, Da) => ("Log ud afvist", "Anmodningen om at logge ud kom ikke fra dette websted."),
            (Msg::LogoutRefused, Fi) => ("Uloskirjautuminen hylättiin", "Uloskirjautumispyyntö ei tullut tältä sivustolta."),

            (Msg::NotFound, En) => ("Not found", "There is nothing at this address."),
            (Msg::NotFound, Nb) => ("Ikke funnet", "Det finnes ingenting på denne adressen."),
            (Msg::NotFound, Da) => ("Ikke fundet", "Der er intet på denne adresse."),
            (Msg::NotFound, Fi) => ("Ei löytynyt", "Tässä osoitteessa ei ole mitään."),

            (Msg::MethodNotAllowed, En) => ("Not allowed", "This address does not accept that kind of request."),
            (Msg::MethodNotAllowed, Nb) => ("Ikke tillatt", "Denne adressen godtar ikke den typen forespørsel."),
            (Msg::MethodNotAllowed, Da) => ("Ikke tilladt", "Denne adresse accepterer ikke den type anmodning."),
            (Msg::MethodNotAllowed, Fi) => ("Ei sallittu", "Tämä osoite ei hyväksy tällaista pyyntöä."),

            (Msg::BadAddress, En) => (
                "This address is not valid",
                "The link you followed is malformed or could be read in more than one way. Go back to the site and follow its links.",
            ),
            (Msg::BadAddress, Nb) => (
                "Denne adressen er ikke gyldig",
                "Lenken du fulgte er feilformet eller kan leses på mer enn én måte. Gå tilbake til nettstedet og bruk lenkene der.",
            ),
            (Msg::BadAddress, Da) => (
                "Denne adresse er ikke gyldig",
                "Linket, du fulgte, er forkert udformet eller kan læses på mere end én måde. Gå tilbage til webstedet, og brug dets links.",
            ),
            (Msg::BadAddress, Fi) => (
                "Tämä osoite ei kelpaa",
                "Seuraamasi linkki on virheellinen tai sen voi tulkita useammalla kuin yhdellä tavalla. Palaa sivustolle ja käytä sen linkkejä.",
            ),

            (Msg::SiteDown, En) => ("The site is not reachable right now", "Please try again in a moment."),
            (Msg::SiteDown, Nb) => ("Nettstedet svarer ikke akkurat nå", "Prøv igjen om litt."),
            (Msg::SiteDown, Da) => ("Webstedet svarer ikke lige nu", "Prøv venligst igen om lidt."),
            (Msg::SiteDown, Fi) => ("Sivusto ei vastaa juuri nyt", "Yritä hetken kuluttua uudelleen."),

            (Msg::Internal, En) => ("Something went wrong", "Please try again in a moment."),
            (Msg::Internal, Nb) => ("Noe gikk galt", "Prøv igjen om litt."),
            (Msg::Internal, Da) => ("Noget gik galt", "Prøv venligst igen om lidt."),
            (Msg::Internal, Fi) => ("Jokin meni vikaan", "Yritä hetken kuluttua uudelleen."),

            (Msg::Busy, En) => ("Too many logins right now", "Too many logins were started here at once. Please try again in a minute."),
            (Msg::Busy, Nb) => ("For mange innlogginger akkurat nå", "Det ble startet for mange innlogginger her på en gang. Prøv igjen om et minutt."),
            (Msg::Busy, Da) => ("For mange login lige nu", "Der blev startet for mange login her på én gang. Prøv venligst igen om et minut."),
            (Msg::Busy, Fi) => ("Liian monta kirjautumista juuri nyt", "Täällä aloitettiin liian monta kirjautumista kerralla. Yritä uudelleen minuutin kuluttua."),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn looks() -> Vec<Look> {
        [Brand::Vipps, Brand::MobilePay]
            .iter()
            .flat_map(|b| b.languages().iter().map(|l| Look::new(*l, *b)))
            .collect()
    }

    #[test]
    fn every_code_has_text_in_every_language() {
        for code in Code::ALL {
            let english = code_text(code, Look::english());
            for look in looks() {
                let (title, sentence) = code_text(code, look);
                assert!(!title.trim().is_empty() && !sentence.trim().is_empty(), "{code} in {look:?}");
                assert!(!title.contains('{') && !sentence.contains('{'), "unfilled placeholder: {code} in {look:?}");
                assert!(sentence.ends_with('.'), "{code} in {look:?}: one whole sentence or more");
                if look.lang() != Lang::En {
                    assert_ne!(sentence, english.1, "{code} is not translated into {:?}", look.lang());
                }
            }
        }
    }

    #[test]
    fn every_message_is_used_and_translated_consistently() {
        for msg in Msg::ALL {
            assert!(Code::ALL.iter().any(|c| Msg::for_code(*c) == msg), "{msg:?} is never used");
            for lang in Lang::ALL.into_iter().filter(|l| *l != Lang::En) {
                assert_ne!(msg.text(lang).0, msg.text(Lang::En).0, "{msg:?}: title not translated into {lang:?}");
            }
            // The same placeholder in every language.
            let app: Vec<bool> = Lang::ALL.iter().map(|l| { let (t, s) = msg.text(*l); t.contains("{app}") || s.contains("{app}") }).collect();
            assert!(app.iter().all(|a| *a == app[0]), "{msg:?}: {{app}} in some languages only");
        }
        // Codes that share a message in English share it in every language.
        for a in Code::ALL {
            for b in Code::ALL {
                let same = |l| code_text(a, Look::new(l, Brand::MobilePay)) == code_text(b, Look::new(l, Brand::MobilePay));
                assert_eq!(same(Lang::En), same(Lang::Da), "{a} vs {b}");
                assert_eq!(same(Lang::En), same(Lang::Fi), "{a} vs {b}");
                assert_eq!(same(Lang::En), same(Lang::Nb), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn chrome_is_complete_in_every_language() {
        for lang in Lang::ALL {
            let c = chrome(lang);
            for t in [
                c.try_again, c.back, c.code_label, c.log_out, c.cancel, c.logout_title, c.logout_message,
                c.logged_out_title, c.logged_out_message, c.config_title, c.config_message,
            ] {
                assert!(!t.trim().is_empty(), "{lang:?}");
            }
            if lang != Lang::En {
                assert_ne!(c.logged_out_message, chrome(Lang::En).logged_out_message);
                assert_ne!(c.back, chrome(Lang::En).back);
            }
        }
    }

    #[test]
    fn button_texts_follow_the_guidelines() {
        assert_eq!(login_label(Look::new(Lang::Nb, Brand::Vipps)), "Logg inn med Vipps");
        assert_eq!(login_label(Look::new(Lang::En, Brand::Vipps)), "Log in with Vipps");
        assert_eq!(login_label(Look::new(Lang::Da, Brand::MobilePay)), "Log ind med MobilePay");
        assert_eq!(login_label(Look::new(Lang::Fi, Brand::MobilePay)), "Kirjaudu MobilePaylla");
        assert_eq!(login_label(Look::new(Lang::En, Brand::MobilePay)), "Log in with MobilePay");
        assert_eq!(login_label(Look::new(Lang::Nb, Brand::MobilePay)), "Logg inn med MobilePay");
    }

    #[test]
    fn brands_by_market() {
        assert_eq!(Brand::from_market(None), Brand::Vipps);
        assert_eq!(Brand::from_market(Some("NO")), Brand::Vipps);
        assert_eq!(Brand::from_market(Some("SE")), Brand::Vipps);
        assert_eq!(Brand::from_market(Some("DK")), Brand::MobilePay);
        assert_eq!(Brand::from_market(Some("FI")), Brand::MobilePay);
        // Danish and Finnish only where MobilePay is shown.
        assert_eq!(Look::new(Lang::Da, Brand::Vipps).lang(), Lang::En);
        assert_eq!(Look::negotiate(Some("fi"), Brand::Vipps).lang(), Lang::En);
        assert_eq!(Look::negotiate(Some("fi"), Brand::MobilePay).lang(), Lang::Fi);
        assert_eq!(Look::negotiate(Some("nn-NO"), Brand::MobilePay).lang(), Lang::Nb);
    }
}
