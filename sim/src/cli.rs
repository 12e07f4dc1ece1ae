//! Command-line flags, read with `lexopt`.

use std::path::PathBuf;

use lexopt::Arg;

use crate::config::{AuthMethod, Client, ConfigFile, Secret, SimConfig};
use crate::webhook::WebhookUrl;

pub const HELP: &str = "\
vipps-sim: a local Vipps MobilePay Login (OpenID Connect) simulator

USAGE: vipps-sim [FLAGS]

  --listen ADDR                 address to listen on [default: 127.0.0.1:7070]; port 0 picks a free port
  --config FILE                 JSON with optional `clients` and `users` arrays replacing the defaults
  --client-id ID                define a client from flags (replaces the default client, or overrides
                                the config file's client with that id)
  --client-secret SECRET        its secret (required with --client-id)
  --redirect-uri URI            a registered redirect URI (repeatable; at least one with --client-id)
  --token-auth-method METHOD    client_secret_basic (default) or client_secret_post
  --discovery-max-age SECS      Cache-Control max-age on discovery [default: 3600]
  --jwks-max-age SECS           Cache-Control max-age on the JWKS [default: no Cache-Control header]
  --key-file PATH               PKCS#8 PEM RSA private key; generated and written there if missing
                                [default: a fresh key in memory]
  --code-ttl SECS               authorization code lifetime [default: 120]
  --access-token-ttl SECS       access token lifetime and `expires_in` [default: 600]
  --id-token-ttl SECS           ID token lifetime [default: 3600]
  --consent-webhook-url URL     where POST /_sim/revoke-consent delivers the CONSENT_REVOKED webhook
                                (http:// only; https is refused) [default: none]
  --help                        print this help

On start, prints one line to stdout: `vipps-sim listening on http://127.0.0.1:PORT`.
";

#[derive(Debug)]
pub enum Command {
    Help,
    Run(Box<Options>),
}

#[derive(Debug)]
pub struct Options {
    pub listen: String,
    pub key_file: Option<PathBuf>,
    pub config: SimConfig,
}

#[derive(Default)]
struct ClientFlags {
    id: Option<String>,
    secret: Option<String>,
    redirect_uris: Vec<String>,
    method: Option<AuthMethod>,
}

/// Every flag that takes a value, without its leading `--`. `--help` (or `-h`) is the only other
/// flag.
const VALUE_FLAGS: [&str; 13] = [
    "listen",
    "config",
    "client-id",
    "client-secret",
    "redirect-uri",
    "token-auth-method",
    "discovery-max-age",
    "jwks-max-age",
    "key-file",
    "code-ttl",
    "access-token-ttl",
    "id-token-ttl",
    "consent-webhook-url",
];

/// One argument, as far as the parser sees it.
enum Flag {
    Help,
    /// A known flag and its value (`--flag value` or `--flag=value`).
    Value(&'static str, String),
    /// An argument that is not a flag, written as it was given.
    Unknown(String),
    /// A known flag at the end, without its value.
    MissingValue(&'static str),
    /// What lexopt objected to.
    Error(String),
}

/// The next argument, or `None` at the end. Arguments are matched whole, like `--listen` or
/// `-h`: `-abc` is one unknown argument, not three short flags, and `--` is unknown too (nothing
/// is positional).
fn next_flag(parser: &mut lexopt::Parser) -> Option<Flag> {
    if let Some(mut raw) = parser.try_raw_args() {
        // lexopt reads `--` as the end of the flags; here it is just an argument.
        if raw.next_if(|arg| arg == "--").is_some() {
            return Some(Flag::Unknown("--".into()));
        }
    }
    let lossy = |s: std::ffi::OsString| s.to_string_lossy().into_owned();
    let arg = match parser.next() {
        Ok(None) => return None,
        Ok(Some(arg)) => arg,
        // Every value is taken below, so none is ever left over for lexopt to object to.
        Err(e) => return Some(Flag::Error(e.to_string())),
    };
    Some(match arg {
        Arg::Long("help") => Flag::Help,
        Arg::Long(name) => match VALUE_FLAGS.iter().find(|f| **f == name) {
            Some(flag) => match parser.value() {
                Ok(value) => Flag::Value(flag, lossy(value)),
                Err(_) => Flag::MissingValue(flag),
            },
            None => {
                let name = format!("--{name}");
                match parser.optional_value() {
                    Some(value) => Flag::Unknown(format!("{name}={}", lossy(value))),
                    None => Flag::Unknown(name),
                }
            }
        },
        Arg::Short(c) => match parser.optional_value() {
            None if c == 'h' => Flag::Help,
            None => Flag::Unknown(format!("-{c}")),
            Some(rest) => Flag::Unknown(format!("-{c}{}", lossy(rest))),
        },
        Arg::Value(value) => Flag::Unknown(lossy(value)),
    })
}

/// Parses the arguments (without the program name). All problems are reported at once.
pub fn parse(args: &[String]) -> Result<Command, Vec<String>> {
    let mut problems = Vec::new();
    let mut listen = "127.0.0.1:7070".to_string();
    let mut key_file = None;
    let mut config_file = None;
    let mut client = ClientFlags::default();
    let mut config = SimConfig::default();

    let mut parser = lexopt::Parser::from_args(args);
    // `-x=y` stays one argument, as written.
    parser.set_short_equals(false);
    while let Some(flag) = next_flag(&mut parser) {
        let (name, value) = match flag {
            Flag::Help => return Ok(Command::Help),
            Flag::Value(name, value) => (name, value),
            Flag::Unknown(arg) => {
                problems.push(format!("unknown argument `{arg}` (see --help)"));
                continue;
            }
            Flag::MissingValue(name) => {
                problems.push(format!("--{name} needs a value"));
                continue;
            }
            Flag::Error(e) => {
                problems.push(e);
                continue;
            }
        };
        let mut secs = |target: &mut u64| match value.parse::<u64>() {
            Ok(v) => *target = v,
            Err(_) => problems.push(format!("--{name}: `{value}` is not a number of seconds")),
        };
        match name {
            "listen" => listen = value,
            "config" => config_file = Some(PathBuf::from(value)),
            "key-file" => key_file = Some(PathBuf::from(value)),
            "client-id" => client.id = Some(value),
            "client-secret" => client.secret = Some(value),
            "redirect-uri" => client.redirect_uris.push(value),
            "token-auth-method" => match AuthMethod::parse(&value) {
                Some(m) => client.method = Some(m),
                None => problems.push(format!(
                    "--token-auth-method: `{value}` is not client_secret_basic or client_secret_post"
                )),
            },
            "discovery-max-age" => secs(&mut config.settings.discovery_max_age),
            "jwks-max-age" => {
                let mut v = 0;
                secs(&mut v);
                config.settings.jwks_max_age = Some(v);
            }
            "code-ttl" => secs(&mut config.settings.code_ttl),
            "access-token-ttl" => secs(&mut config.settings.access_token_ttl),
            "id-token-ttl" => secs(&mut config.settings.id_token_ttl),
            "consent-webhook-url" => match WebhookUrl::parse(&value) {
                Ok(_) => config.settings.consent_webhook_url = Some(value),
                Err(e) => problems.push(format!("--consent-webhook-url: {e}")),
            },
            _ => unreachable!("every flag in VALUE_FLAGS is matched"),
        }
    }

    let mut clients_from_file = false;
    if let Some(path) = &config_file {
        match ConfigFile::load(path) {
            Ok(file) => {
                if let Some(clients) = file.clients {
                    config.clients = clients;
                    clients_from_file = true;
                }
                if let Some(users) = file.users {
                    config.users = users;
                }
            }
            Err(e) => problems.push(e),
        }
    }

    match client.id {
        Some(id) => {
            if client.secret.is_none() {
                problems.push("--client-id needs --client-secret".into());
            }
            if client.redirect_uris.is_empty() {
                problems.push("--client-id needs at least one --redirect-uri".into());
            }
            let flag_client = Client {
                client_id: id,
                client_secret: Secret::new(client.secret.unwrap_or_default()),
                redirect_uris: client.redirect_uris,
                token_endpoint_auth_method: client.method.unwrap_or(AuthMethod::ClientSecretBasic),
            };
            if flag_client.client_secret.is_empty() || flag_client.redirect_uris.is_empty() {
                // Already reported above; do not report it again as a config problem.
            } else if clients_from_file {
                config
                    .clients
                    .retain(|c| c.client_id != flag_client.client_id);
                config.clients.push(flag_client);
            } else {
                config.clients = vec![flag_client];
            }
        }
        None => {
            if client.secret.is_some()
                || !client.redirect_uris.is_empty()
                || client.method.is_some()
            {
                problems.push(
                    "--client-secret, --redirect-uri and --token-auth-method need --client-id"
                        .into(),
                );
            }
        }
    }

    problems.extend(config.problems());
    if problems.is_empty() {
        Ok(Command::Run(Box::new(Options {
            listen,
            key_file,
            config,
        })))
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    fn run(s: &str) -> Options {
        match parse(&args(s)) {
            Ok(Command::Run(o)) => *o,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let o = run("");
        assert_eq!(o.listen, "127.0.0.1:7070");
        assert_eq!(o.config.clients[0].client_id, "demo-client");
        assert_eq!(o.config.settings.jwks_max_age, None);
        assert_eq!(o.config.users.len(), 4);
    }

    #[test]
    fn client_from_flags_replaces_default() {
        let o = run("--listen 127.0.0.1:0 --client-id c1 --client-secret=s:1 --redirect-uri https://a/cb \
                     --redirect-uri https://b/cb --token-auth-method client_secret_post --jwks-max-age 60 \
                     --code-ttl 5");
        assert_eq!(o.config.clients.len(), 1);
        let c = &o.config.clients[0];
        assert_eq!(c.client_id, "c1");
        assert!(c.client_secret.matches("s:1"));
        assert_eq!(c.redirect_uris, ["https://a/cb", "https://b/cb"]);
        assert_eq!(c.token_endpoint_auth_method, AuthMethod::ClientSecretPost);
        assert_eq!(o.config.settings.jwks_max_age, Some(60));
        assert_eq!(o.config.settings.code_ttl, 5);
        assert_eq!(o.config.settings.consent_webhook_url, None);
    }

    #[test]
    fn consent_webhook_url_flag() {
        let o = run("--consent-webhook-url http://127.0.0.1:8787/vipps/consent-revoked");
        assert_eq!(
            o.config.settings.consent_webhook_url.as_deref(),
            Some("http://127.0.0.1:8787/vipps/consent-revoked")
        );
        let err = parse(&args("--consent-webhook-url=https://example.com/hook")).unwrap_err();
        assert_eq!(err.len(), 1);
        assert!(err[0].contains("https is not supported"), "{err:?}");
        assert!(parse(&args("--consent-webhook-url nope")).is_err());
    }

    #[test]
    fn all_problems_at_once() {
        let err = parse(&args(
            "--bogus --code-ttl x --client-secret s --token-auth-method none",
        ))
        .unwrap_err();
        assert_eq!(err.len(), 4, "{err:?}");
        assert!(matches!(
            parse(&args("--listen x --help")),
            Ok(Command::Help)
        ));
        assert!(parse(&args("--client-id c")).unwrap_err().len() == 2);
    }

    #[test]
    fn arguments_are_named_as_given() {
        let problems = |s: &[&str]| {
            let args: Vec<String> = s.iter().map(|a| a.to_string()).collect();
            parse(&args).unwrap_err()
        };
        let unknown = |a: &str| format!("unknown argument `{a}` (see --help)");
        for arg in [
            "--bogus=1",
            "--bogus",
            "-x",
            "-xh",
            "-hx",
            "-a=b",
            "--",
            "x",
            "-",
            "",
            "--=v",
        ] {
            assert_eq!(problems(&[arg]), [unknown(arg)], "{arg:?}");
        }
        assert_eq!(problems(&["--listen"]), ["--listen needs a value"]);
        assert_eq!(
            problems(&["--code-ttl=", "--bogus", "--id-token-ttl"]),
            [
                "--code-ttl: `` is not a number of seconds".to_string(),
                unknown("--bogus"),
                "--id-token-ttl needs a value".into(),
            ]
        );
        // `--` ends nothing: the flags after it still count.
        assert_eq!(problems(&["--", "--code-ttl", "x"]).len(), 2);
        // A value is taken as it is, even when it looks like a flag.
        for (args, listen) in [
            (&["--listen", "--client-id"][..], "--client-id"),
            (&["--listen", "--"], "--"),
            (&["--listen=a=b"], "a=b"),
            (&["--listen", "-h"], "-h"),
        ] {
            let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            match parse(&args) {
                Ok(Command::Run(o)) => assert_eq!(o.listen, listen),
                other => panic!("{args:?}: {other:?}"),
            }
        }
        for help in [
            &["-h"][..],
            &["--help=x"],
            &["--bogus", "--help", "--listen"],
        ] {
            let args: Vec<String> = help.iter().map(|a| a.to_string()).collect();
            assert!(matches!(parse(&args), Ok(Command::Help)), "{help:?}");
        }
    }

    #[test]
    fn help_lists_every_flag() {
        for flag in [
            "--listen ",
            "--config ",
            "--client-id ",
            "--client-secret ",
            "--redirect-uri ",
            "--token-auth-method ",
            "--discovery-max-age ",
            "--jwks-max-age ",
            "--key-file ",
            "--code-ttl ",
            "--access-token-ttl ",
            "--id-token-ttl ",
            "--consent-webhook-url ",
            "--help ",
        ] {
            assert!(HELP.contains(&format!("\n  {flag}")), "{flag}");
            if flag != "--help " {
                // Known, and takes a value.
                let args = vec![flag.trim().to_string()];
                assert_eq!(
                    parse(&args).unwrap_err()[0],
                    format!("{}needs a value", flag)
                );
            }
        }
    }
}
