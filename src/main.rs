//! The `stac-oci` command: parses flags, starts tracing, calls the library.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use stac_oci::config::{self, CommandLine, Settings};

/// A STAC API gateway over OCI registries.
#[derive(Parser)]
#[command(name = "stac-oci", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the STAC API (with no options: the bundled demo on 127.0.0.1:8080).
    Serve(SourceArgs),
    /// Crawl once, print the catalog as NDJSON (Collections, then Items) and exit.
    Crawl(SourceArgs),
    /// Validate the configuration and exit.
    CheckConfig(SourceArgs),
    /// Read an API key from standard input and print the `sha256` to configure for it.
    HashKey,
    /// Write the bundled demo OCI image layout into a directory.
    Demo {
        /// Output directory (created; existing files are overwritten).
        #[arg(long, default_value = "examples/demo")]
        out: PathBuf,
    },
}

#[derive(Args, Clone)]
struct SourceArgs {
    /// TOML configuration file.
    #[arg(long, env = "STAC_OCI_CONFIG")]
    config: Option<PathBuf>,
    /// Registry base URL (quick form), e.g. http://127.0.0.1:5000.
    #[arg(long)]
    registry: Option<String>,
    /// Repository name or glob in the quick form (repeatable).
    #[arg(long = "repository")]
    repositories: Vec<String>,
    /// CRS of footprints that do not name one, in the quick form (e.g. EPSG:2154).
    #[arg(long)]
    crs: Option<String>,
    /// Allow http:// to a registry that is not on loopback, in the quick form.
    #[arg(long)]
    insecure: bool,
    /// Address to bind, overriding the config.
    #[arg(long)]
    listen: Option<String>,
    /// Base URL for hrefs and links, overriding the config.
    #[arg(long)]
    public_url: Option<String>,
}

/// mimalloc rather than glibc's allocator: a crawl maps every Item through large
/// short-lived JSON trees, and glibc keeps the pages they leave behind resident (at
/// 10,000 Items: 132 MiB resident against 77 MiB with mimalloc, BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` of mimalloc v3's `mimalloc.h`, which `libmimalloc-sys` does
/// not name: how many milliseconds freed memory stays resident before it is given back.
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
/// mimalloc's default purge delay.
const DEFAULT_PURGE_DELAY_MS: std::ffi::c_long = 1000;
/// The purge delay the gateway runs with. A crawl frees the artifacts it has mapped
/// while it allocates their Items, and what one thread or size class frees is not always
/// what the next allocations reuse: kept resident for a second, it made the peak of
/// starting on 1,000,000 Items 2,044–2,093 MiB, against 1,931–1,959 MiB with 100 ms,
/// for 5–10 % more CPU and searches as fast (BENCHMARKS.md, fifteenth pass).
const PURGE_DELAY_MS: std::ffi::c_long = 100;

/// Shortens mimalloc's purge delay, unless `MIMALLOC_PURGE_DELAY` set it or the option
/// does not read as the default (a mimalloc whose options are numbered otherwise).
fn give_freed_memory_back_sooner() {
    // SAFETY: called first in `main`, before any other thread runs to race the plain
    // store; mimalloc takes any value, and ignores an option number out of its range.
    unsafe {
        if libmimalloc_sys::mi_option_get(PURGE_DELAY) == DEFAULT_PURGE_DELAY_MS {
            libmimalloc_sys::mi_option_set(PURGE_DELAY, PURGE_DELAY_MS);
        }
    }
}

fn main() -> ExitCode {
    give_freed_memory_back_sooner();
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("STAC_OCI_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("stac-oci: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Command::Serve(args) => settings(&args).and_then(|s| runtime.block_on(serve(s))),
        Command::Crawl(args) => settings(&args).and_then(|s| runtime.block_on(crawl(s))),
        Command::CheckConfig(args) => settings(&args).map(|s| {
            println!(
                "configuration ok: {} source(s), listening on {}",
                s.sources.len(),
                s.server.listen
            );
        }),
        Command::HashKey => hash_key(),
        Command::Demo { out } => stac_oci::demo::write_demo_layout(&out)
            .map(|()| println!("wrote {}", out.display()))
            .map_err(|e| anyhow::anyhow!("{}: {e}", out.display())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stac-oci: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Prints the SHA-256 of the first line of standard input.
fn hash_key() -> anyhow::Result<()> {
    let mut key = String::new();
    std::io::stdin().read_line(&mut key)?;
    let key = key.trim_end_matches(['\n', '\r']);
    anyhow::ensure!(!key.is_empty(), "no key on standard input");
    println!("{}", stac_oci::access::api_keys::hash(key));
    Ok(())
}

fn settings(args: &SourceArgs) -> anyhow::Result<Settings> {
    let default_layout = if args.config.is_none() && args.registry.is_none() {
        Some(demo_layout()?)
    } else {
        None
    };
    let command_line = CommandLine {
        config_file: args.config.clone(),
        registry: args.registry.clone(),
        repositories: args.repositories.clone(),
        crs: args.crs.clone(),
        insecure: args.insecure,
        listen: args.listen.clone(),
        public_url: args.public_url.clone(),
        default_layout,
    };
    let env: Vec<(String, String)> = std::env::vars().collect();
    Ok(config::load(&command_line, &env)?)
}

/// The bundled demo: `examples/demo` in the working directory or the source tree,
/// else generated (reproducibly, by the same code) into a temporary directory.
fn demo_layout() -> anyhow::Result<PathBuf> {
    let candidates = [
        PathBuf::from("examples/demo"),
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/demo"),
    ];
    if let Some(found) = candidates
        .into_iter()
        .find(|p| p.join("index.json").is_file())
    {
        return Ok(found);
    }
    let dir = std::env::temp_dir().join(format!("stac-oci-demo-{}", env!("CARGO_PKG_VERSION")));
    stac_oci::demo::write_demo_layout(&dir)
        .map_err(|e| anyhow::anyhow!("writing the demo layout to {}: {e}", dir.display()))?;
    Ok(dir)
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(settings.server.listen)
        .await
        .map_err(|e| anyhow::anyhow!("server.listen {}: {e}", settings.server.listen))?;
    stac_oci::serve::run(settings, listener, stac_oci::serve::shutdown_signal()).await
}

async fn crawl(settings: Settings) -> anyhow::Result<()> {
    let sources = stac_oci::serve::sources(&settings)?;
    let snapshot = Arc::new(arc_swap::ArcSwap::from_pointee(
        stac_oci::index::Snapshot::default(),
    ));
    let status =
        stac_oci::crawl::status::StatusBoard::new(settings.sources.iter().map(|s| s.name.clone()));
    let refresher = stac_oci::refresh::Refresher::new(sources, snapshot, status.clone());
    refresher.refresh_all().await;
    let (collections, items) = refresher.catalog();
    let base = settings
        .server
        .public_url
        .as_ref()
        .map(|u| u.as_str().trim_end_matches('/').to_owned());
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for collection in collections {
        writeln!(out, "{}", serde_json::Value::Object(collection.collection))?;
    }
    for item in items {
        let mut json = item.to_map();
        if let Some(base) = &base {
            absolutize_hrefs(&mut json, base);
        }
        writeln!(out, "{}", serde_json::Value::Object(json))?;
    }
    out.flush()?;
    let mut failed = false;
    for source in status.sources() {
        for issue in &source.errors {
            eprintln!(
                "stac-oci: {}: {}: {}",
                source.name, issue.repository, issue.error
            );
        }
        failed |= source.state == "failed";
    }
    if failed {
        anyhow::bail!("a source could not be crawled");
    }
    Ok(())
}

/// Prefixes the relative asset hrefs of a mapped Item with the public URL.
fn absolutize_hrefs(item: &mut serde_json::Map<String, serde_json::Value>, base: &str) {
    let Some(serde_json::Value::Object(assets)) = item.get_mut("assets") else {
        return;
    };
    for asset in assets.values_mut() {
        if let Some(serde_json::Value::String(href)) = asset.get_mut("href")
            && !href.contains("://")
        {
            *href = format!("{base}/{href}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fails when a newer mimalloc numbers its options otherwise, which would leave
    /// [`give_freed_memory_back_sooner`] doing nothing.
    #[test]
    fn the_purge_delay_option_is_where_main_looks_for_it() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        // SAFETY: reads an option; nothing in this test binary sets one.
        let delay = unsafe { libmimalloc_sys::mi_option_get(PURGE_DELAY) };
        assert_eq!(delay, DEFAULT_PURGE_DELAY_MS);
    }
}
