//! The text of `GET /metrics`: Prometheus exposition of what the gateway does to registries
//! and what it serves — registry requests by kind and status, crawl durations and
//! errors, artifacts per source, Items per collection. The figures already live in the
//! sources' request counters, the status board and the snapshot; this module only
//! writes them out (the text format is a few lines, no registry of metrics needed).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Arc;

use crate::crawl::status::StatusBoard;
use crate::index::Snapshot;
use crate::source::Source;

/// The exposition text for the sources, their crawl outcomes and the served snapshot.
pub fn render(
    snapshot: &Snapshot,
    sources: &BTreeMap<String, Arc<Source>>,
    status: &StatusBoard,
) -> String {
    let mut out = String::new();
    family(
        &mut out,
        "stac_oci_registry_requests_total",
        "counter",
        "Requests made to registries, by source, kind and HTTP status (0: no response).",
    );
    for (name, source) in sources.iter() {
        for (kind, status, count) in source.metrics().map(|m| m.snapshot()).unwrap_or_default() {
            let labels = format!(
                "source=\"{}\",kind=\"{}\",status=\"{status}\"",
                escape(name),
                kind.label()
            );
            sample(
                &mut out,
                "stac_oci_registry_requests_total",
                &labels,
                count as f64,
            );
        }
    }
    family(
        &mut out,
        "stac_oci_registry_blob_bytes_total",
        "counter",
        "Blob bytes received from registries (configs, tar headers, assets).",
    );
    for (name, source) in sources.iter() {
        if let Some(metrics) = source.metrics() {
            let bytes = metrics.blob_bytes() as f64;
            sample(
                &mut out,
                "stac_oci_registry_blob_bytes_total",
                &source_label(name),
                bytes,
            );
        }
    }
    let statuses = status.sources();
    family(
        &mut out,
        "stac_oci_crawl_duration_seconds",
        "gauge",
        "Duration of the last crawl pass of each source.",
    );
    for s in &statuses {
        if let Some(seconds) = s.duration_seconds {
            sample(
                &mut out,
                "stac_oci_crawl_duration_seconds",
                &source_label(&s.name),
                seconds,
            );
        }
    }
    family(
        &mut out,
        "stac_oci_crawl_errors",
        "gauge",
        "Named errors of the last crawl pass of each source.",
    );
    for s in &statuses {
        sample(
            &mut out,
            "stac_oci_crawl_errors",
            &source_label(&s.name),
            s.errors.len() as f64,
        );
    }
    family(
        &mut out,
        "stac_oci_source_up",
        "gauge",
        "1 when the last crawl of a source read it at all (ok or partial).",
    );
    for s in &statuses {
        let up = matches!(s.state.as_str(), "ok" | "partial");
        sample(
            &mut out,
            "stac_oci_source_up",
            &source_label(&s.name),
            f64::from(u8::from(up)),
        );
    }
    family(
        &mut out,
        "stac_oci_artifacts",
        "gauge",
        "Artifacts found by the last crawl of each source.",
    );
    for s in &statuses {
        sample(
            &mut out,
            "stac_oci_artifacts",
            &source_label(&s.name),
            s.artifacts as f64,
        );
    }
    family(
        &mut out,
        "stac_oci_items",
        "gauge",
        "Items served, by collection.",
    );
    for collection in snapshot.collections() {
        let count = snapshot.collection_item_count(&collection.id);
        let labels = format!("collection=\"{}\"", escape(&collection.id));
        sample(&mut out, "stac_oci_items", &labels, count as f64);
    }
    out
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &str, value: f64) {
    let _ = writeln!(out, "{name}{{{labels}}} {value}");
}

fn source_label(name: &str) -> String {
    format!("source=\"{}\"", escape(name))
}

/// A label value with `\`, `"` and newlines escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_lines() {
        let mut out = String::new();
        family(&mut out, "x_total", "counter", "Things.");
        sample(&mut out, "x_total", "a=\"b\"", 3.0);
        assert_eq!(
            out,
            "# HELP x_total Things.\n# TYPE x_total counter\nx_total{a=\"b\"} 3\n"
        );
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
