//! Small helpers the tests share: a registry source's TOML, and GETting JSON.

use serde_json::Value;

/// A `[[sources]]` entry named `r` for `repositories` of the registry at `url`, with
/// `extra` TOML lines appended (e.g. `interval = "1s"\n`).
pub fn registry_source(url: &str, repositories: &[&str], extra: &str) -> String {
    let repositories: Vec<String> = repositories.iter().map(|r| format!("{r:?}")).collect();
    format!(
        "[[sources]]\nname = \"r\"\nregistry = \"{url}\"\nrepositories = [{}]\n{extra}",
        repositories.join(", ")
    )
}

/// The JSON body of a GET (panics on transport or JSON errors: tests only).
pub async fn get_json(url: &str) -> Value {
    reqwest::get(url)
        .await
        .expect("GET")
        .json()
        .await
        .expect("a JSON body")
}

/// The Python with the test clients (pystac-client, the validators): the one
/// `./scripts/test` exports, else the venv it builds.
pub fn python() -> String {
    std::env::var("STAC_OCI_TEST_PYTHON").unwrap_or_else(|_| {
        let venv = concat!(env!("CARGO_MANIFEST_DIR"), "/target/venv/bin/python");
        assert!(
            std::path::Path::new(venv).exists(),
            "the Python test clients are missing: run ./scripts/test once to install them"
        );
        venv.to_owned()
    })
}

/// The path of a script in `tests/clients/`.
pub fn client_script(name: &str) -> String {
    format!("{}/tests/clients/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Runs a GDAL command-line tool and returns its standard output; panics with its
/// output when it fails.
pub fn gdal_tool(tool: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(tool)
        .args(args)
        .env("GDAL_DISABLE_READDIR_ON_OPEN", "EMPTY_DIR")
        .output()
        .unwrap_or_else(|e| panic!("{tool} (Debian gdal-bin) must be installed: {e}"));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{tool} failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}
