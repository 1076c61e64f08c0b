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
