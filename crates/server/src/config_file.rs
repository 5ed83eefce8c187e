//! `alcove serve --config alcove.toml`: every flag of `alcove serve` may be set in a TOML
//! file, under its long name (`data-dir` or `data_dir`).
//!
//! Precedence, highest first: command-line flags, `ALCOVE_*` environment variables, the file,
//! the built-in defaults. It is done with clap's own machinery, so every flag (those added
//! later included) takes part: the command line is parsed once, and every file key whose flag
//! was given neither on the command line nor in the environment is appended as that flag;
//! then the result is parsed again. A key the file has that is no flag is an error naming the
//! keys there are.
//!
//! `alcove serve --print-config` prints the configuration in effect, as a file of this format,
//! and exits. docs/configuration.md lists every key, its variable and default; a test keeps
//! that page equal to [`reference`] (`ALCOVE_BLESS=1` rewrites it).

use clap::parser::ValueSource;
use clap::{ArgMatches, Command, CommandFactory, FromArgMatches};
use std::ffi::OsString;
use std::path::Path;

/// Flags that make no sense in a file.
const NOT_IN_FILE: [&str; 3] = ["config", "print_config", "help"];

/// The `serve` subcommand's definition.
fn serve_command() -> Command {
    let mut cli = crate::cli::Cli::command();
    // Built: switches get their value count (0) and their `false` default.
    cli.build();
    cli.find_subcommand("serve")
        .cloned()
        // Invariant: `Command::Serve` is a variant of the derived `Cli`.
        .expect("alcove has a serve subcommand")
}

/// Parses the process's command line, applying the `--config` file of `alcove serve` with its
/// precedence. Exits with clap's message on a usage error, as `Cli::parse` does. With
/// `--print-config`, prints the settings in effect and returns `None` (nothing more to do); a
/// config file that cannot be used is an error naming it.
pub fn parse() -> anyhow::Result<Option<crate::cli::Cli>> {
    match try_parse_from(std::env::args_os().collect()) {
        Ok((cli, matches)) => {
            if let Some(("serve", serve)) = matches.subcommand() {
                if serve.get_flag("print_config") {
                    print!("{}", effective(serve));
                    return Ok(None);
                }
            }
            Ok(Some(cli))
        }
        Err(Failure::Clap(e)) => e.exit(),
        Err(Failure::File(msg)) => Err(anyhow::anyhow!(msg)),
    }
}

/// Why the command line and its file did not parse.
#[derive(Debug)]
pub enum Failure {
    /// A usage error (clap's message).
    Clap(clap::Error),
    /// The config file cannot be read, is not TOML, or has a key that is no flag.
    File(String),
}

/// Parses `args` (the program name first) with the config file: the command line and the
/// matches it came from.
pub fn try_parse_from(args: Vec<OsString>) -> Result<(crate::cli::Cli, ArgMatches), Failure> {
    let command = crate::cli::Cli::command();
    let matches = command
        .clone()
        .try_get_matches_from(args.clone())
        .map_err(Failure::Clap)?;
    let extra = match matches.subcommand() {
        Some(("serve", serve)) => match serve.get_one::<std::path::PathBuf>("config") {
            Some(path) => file_args(path, serve)?,
            None => Vec::new(),
        },
        _ => Vec::new(),
    };
    let matches = if extra.is_empty() {
        matches
    } else {
        let mut all = args;
        all.extend(extra);
        command.try_get_matches_from(all).map_err(Failure::Clap)?
    };
    let cli = crate::cli::Cli::from_arg_matches(&matches).map_err(Failure::Clap)?;
    Ok((cli, matches))
}

/// The flags the file adds: for every key whose flag was neither given nor set from the
/// environment, `--flag value` (a `true` switch: `--flag`; an array: the flag per item).
fn file_args(path: &Path, given: &ArgMatches) -> Result<Vec<OsString>, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::File(format!("reading {}: {e}", path.display())))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e| Failure::File(format!("{}: {e}", path.display())))?;
    let serve = serve_command();
    let mut out = Vec::new();
    for (key, value) in &table {
        let long = key.replace('_', "-");
        let arg = settings(&serve)
            .find(|a| a.get_long() == Some(long.as_str()))
            .ok_or_else(|| {
                Failure::File(format!(
                    "{}: `{key}` is not a setting of `alcove serve`; the settings are: {}",
                    path.display(),
                    keys(&serve).join(", ")
                ))
            })?;
        let flag = format!("--{}", arg.get_long().unwrap_or_default());
        if let Some(ValueSource::CommandLine | ValueSource::EnvVariable) =
            given.value_source(arg.get_id().as_str())
        {
            continue;
        }
        let takes_value = arg.get_num_args().is_none_or(|n| n.takes_values());
        let scalar = |v: &toml::Value| -> Result<String, Failure> {
            match v {
                toml::Value::String(s) => Ok(s.clone()),
                toml::Value::Integer(i) => Ok(i.to_string()),
                toml::Value::Float(f) => Ok(f.to_string()),
                toml::Value::Boolean(b) => Ok(b.to_string()),
                _ => Err(Failure::File(format!(
                    "{}: `{key}` must be a string, number or boolean",
                    path.display()
                ))),
            }
        };
        match value {
            toml::Value::Boolean(b) if !takes_value => {
                if *b {
                    out.push(OsString::from(&flag));
                }
            }
            toml::Value::Array(items) => {
                for item in items {
                    out.push(OsString::from(&flag));
                    out.push(OsString::from(scalar(item)?));
                }
            }
            v => {
                out.push(OsString::from(&flag));
                out.push(OsString::from(scalar(v)?));
            }
        }
    }
    Ok(out)
}

/// The flags of `alcove serve` a file may set: those with a long name, but the REST helpers'
/// global ones and [`NOT_IN_FILE`], in the order `--help` shows them.
fn settings(serve: &Command) -> impl Iterator<Item = &clap::Arg> {
    serve.get_arguments().filter(|a| {
        a.get_long().is_some() && !a.is_global_set() && !NOT_IN_FILE.contains(&a.get_id().as_str())
    })
}

/// The file keys (long flag names) of `alcove serve`.
fn keys(serve: &Command) -> Vec<String> {
    settings(serve)
        .filter_map(|a| a.get_long().map(str::to_owned))
        .collect()
}

/// The settings in effect, as a config file (`alcove serve --print-config`): every key with
/// its value, each followed by where it came from.
pub fn effective(matches: &ArgMatches) -> String {
    let serve = serve_command();
    let mut out = String::from("# alcove serve: the settings in effect\n");
    for arg in settings(&serve) {
        let id = arg.get_id().as_str();
        let long = arg.get_long().unwrap_or_default();
        let values: Vec<String> = matches
            .get_raw(id)
            .map(|v| v.map(|s| s.to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        let from = match matches.value_source(id) {
            Some(ValueSource::CommandLine) => "command line or file",
            Some(ValueSource::EnvVariable) => "environment",
            Some(ValueSource::DefaultValue) => "default",
            _ => "unset",
        };
        let takes_value = arg.get_num_args().is_none_or(|n| n.takes_values());
        let line = if !takes_value {
            let on = values.first().is_some_and(|v| v == "true");
            format!("{long} = {on}")
        } else if matches!(arg.get_action(), clap::ArgAction::Append) {
            let items: Vec<String> = values.iter().map(|v| toml_string(v)).collect();
            format!("{long} = [{}]", items.join(", "))
        } else {
            match values.first() {
                Some(v) => format!("{long} = {}", toml_string(v)),
                None => format!("# {long} = (unset)"),
            }
        };
        out.push_str(&format!("{line:<50} # {from}\n"));
    }
    out
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// The reference of docs/configuration.md, "Every setting": one row per key.
pub fn reference() -> String {
    let serve = serve_command();
    let mut out = String::from(
        "| key (file) | flag | variable | default | meaning |\n|---|---|---|---|---|\n",
    );
    for arg in settings(&serve) {
        let long = arg.get_long().unwrap_or_default();
        let env = arg
            .get_env()
            .map(|e| format!("`{}`", e.to_string_lossy()))
            .unwrap_or_else(|| "—".into());
        let takes_value = arg.get_num_args().is_none_or(|n| n.takes_values());
        let default: Vec<String> = arg
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy().into_owned())
            .collect();
        let default = if !takes_value {
            "`false`".to_owned()
        } else if default.is_empty() {
            "—".to_owned()
        } else {
            format!("`{}`", default.join(","))
        };
        let help = arg
            .get_help()
            .map(|h| h.to_string().replace('\n', " ").replace('|', "\\|"))
            .unwrap_or_default();
        out.push_str(&format!(
            "| `{long}` | `--{long}` | {env} | {default} | {help} |\n"
        ));
    }
    out
}
