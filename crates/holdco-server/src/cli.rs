//! The `holdco serve` and `holdco token` subcommands: their arguments and what they print
//! (the CLI binary only forwards to these, so it stays glue).

use crate::tokens::{Role, TokenStore};
use crate::Server;
use anyhow::anyhow;
use std::path::Path;
use std::process::ExitCode;

/// Arguments of `holdco token`.
#[derive(clap::Args, Debug)]
pub struct TokenArgs {
    #[command(subcommand)]
    command: TokenCommand,
}

#[derive(clap::Subcommand, Debug)]
enum TokenCommand {
    /// Create a token and print it (the only time it is shown; only its hash is stored).
    Create {
        /// A unique name (who or what holds it).
        #[arg(long)]
        name: String,
        /// viewer, analyst, approver or admin.
        #[arg(long, value_parser = ["viewer", "analyst", "approver", "admin"])]
        role: String,
        /// Limit the token to a unit's subtree (repeat for several); the whole group when
        /// omitted.
        #[arg(long = "scope", value_name = "UNIT")]
        scopes: Vec<String>,
    },
    /// List tokens (names, roles, scopes; never the tokens).
    List {
        /// Emit JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by name: refused by a running server from its next request.
    Revoke {
        /// The token's name.
        name: String,
    },
}

fn db_text(db: &Path) -> anyhow::Result<&str> {
    db.to_str()
        .ok_or_else(|| anyhow!("--db {}: not valid UTF-8", db.display()))
}

/// Arguments of `holdco serve`.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free one; the address is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// Seconds between two looks at the store's revision: a new import (by `holdco import`
    /// or another server) is loaded and swapped in. 0: never (serve the model as loaded).
    #[arg(long, default_value_t = 2.0, value_name = "SECONDS")]
    poll: f64,
}

/// `holdco serve`: loads the store's model and serves it until Ctrl-C or SIGTERM.
pub fn serve(db: &Path, args: &ServeArgs) -> anyhow::Result<ExitCode> {
    if !(args.poll.is_finite() && (0.0..=86_400.0).contains(&args.poll)) {
        return Err(anyhow!(
            "--poll {}: expected seconds from 0 (never) to 86400",
            args.poll
        ));
    }
    let poll = (args.poll > 0.0).then(|| std::time::Duration::from_secs_f64(args.poll));
    let listen = args.listen.as_str();
    let server = Server::open(db_text(db)?)?
        .poll_every(poll)
        .warm_dashboard();
    let active = TokenStore::open(db_text(db)?)?
        .list()?
        .iter()
        .filter(|token| token.revoked_at.is_none())
        .count();
    server.run(listen, |address| {
        // The address alone on the first line, for scripts that start on port 0.
        eprintln!("holdco serve: listening on http://{address}");
        if active == 0 {
            eprintln!("holdco serve: no active token yet; every /api request is refused until `holdco token create`");
        }
    })?;
    eprintln!("holdco serve: stopped");
    Ok(ExitCode::SUCCESS)
}

/// Refuses a scope that names no unit of the stored model (a typo would otherwise make a
/// token that sees nothing).
fn check_scopes(db: &str, scopes: &[String]) -> anyhow::Result<()> {
    if scopes.is_empty() {
        return Ok(());
    }
    let model = holdco_store::open_store(db)?
        .load_without_facts()?
        .ok_or_else(|| anyhow!("--scope: the store is empty; import the model first"))?;
    let engine = holdco_core::rollup::Engine::new(&model)?;
    for scope in scopes {
        let known = holdco_core::UnitId::parse(scope)
            .ok()
            .and_then(|id| engine.timeline().unit(&id))
            .is_some();
        if !known {
            return Err(anyhow!(
                "--scope {scope}: no such unit in the stored model (see `holdco structure`)"
            ));
        }
    }
    Ok(())
}

/// `holdco token ...`.
pub fn token(db: &Path, args: &TokenArgs) -> anyhow::Result<ExitCode> {
    let store = TokenStore::open(db_text(db)?)?;
    match &args.command {
        TokenCommand::Create { name, role, scopes } => {
            let role = Role::parse(role).map_err(|e| anyhow!("--role: {e}"))?;
            check_scopes(db_text(db)?, scopes)?;
            let token = store.create(name, role, scopes)?;
            // The token alone on stdout, so a script can capture it; the advice on stderr.
            println!("{token}");
            eprintln!(
                "token `{name}` ({}) created: store it now, it is not shown again",
                role.name()
            );
        }
        TokenCommand::List { json } => {
            let tokens = store.list()?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&tokens)?);
            } else {
                for token in &tokens {
                    let scopes = if token.scopes.is_empty() {
                        "whole group".to_string()
                    } else {
                        token.scopes.join(", ")
                    };
                    let state = if token.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    };
                    println!("{}\t{}\t{scopes}\t{state}", token.name, token.role.name());
                }
            }
        }
        TokenCommand::Revoke { name } => {
            store.revoke(name)?;
            eprintln!("token `{name}` revoked");
        }
    }
    Ok(ExitCode::SUCCESS)
}
