//! `vipps-sim`: a local simulator of Vipps MobilePay Login (OpenID Connect) that follows Vipps'
//! documented behaviour. It is the test double for the integration tests and the zero-credential
//! default for local development. See README.md.

mod cli;
mod config;
mod ec_key;
mod endpoints;
mod faults;
mod html;
mod http;
mod id_token;
mod keys;
mod modes;
mod pkce;
mod random;
mod server;
mod sockets;
mod state;
mod stats;
mod users;
mod webhook;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_ciba;
#[cfg(test)]
mod tests_consent;
#[cfg(test)]
mod tests_flows;
#[cfg(test)]
mod tests_hostile;
#[cfg(test)]
mod tests_apps;

use std::io::Write;
use std::process::ExitCode;

use cli::Command;
use keys::SigningKey;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let options = match cli::parse(&args) {
        Ok(Command::Help) => {
            print!("{}", cli::HELP);
            return ExitCode::SUCCESS;
        }
        Ok(Command::Run(options)) => *options,
        Err(problems) => {
            for p in problems {
                eprintln!("vipps-sim: {p}");
            }
            return ExitCode::from(2);
        }
    };
    let key = match &options.key_file {
        Some(path) => SigningKey::load_or_create(path),
        None => SigningKey::generate(),
    };
    let key = match key {
        Ok(k) => k,
        Err(e) => {
            eprintln!("vipps-sim: {e}");
            return ExitCode::FAILURE;
        }
    };
    let clients: Vec<String> = options
        .config
        .clients
        .iter()
        .map(|c| c.client_id.clone())
        .collect();
    let running = match server::start(&options.listen, options.config, key) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("vipps-sim: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!(
        "vipps-sim: issuer {} kid {} clients {}",
        running.sim.issuer,
        running.sim.key.kid(),
        clients.join(",")
    );
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "vipps-sim listening on {}", running.base());
    let _ = stdout.flush();
    running.join();
    ExitCode::SUCCESS
}
