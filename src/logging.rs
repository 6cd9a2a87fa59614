//! Log output: env_logger's human-readable lines, or, for log pipelines, one JSON object per
//! line with the timestamp, level, target, message, and the request id, trace id and span id of
//! the request being served. The filter is `RUST_LOG` (default `info`) either way.

use std::io::Write;

use serde::Deserialize;
use serde_json::json;

/// How log lines are written. Defaults to `text`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Installs the process-wide logger.
pub fn init(format: LogFormat) {
    let mut builder =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"));
    if format == LogFormat::Json {
        builder.format(|out, record| {
            let line = json_line(
                &out.timestamp_millis().to_string(),
                record.level().as_str(),
                record.target(),
                &record.args().to_string(),
                crate::request_id::current().as_deref(),
                issuer_trust::trace::current_ids(),
            );
            writeln!(out, "{line}")
        });
    }
    builder.init();
}

fn json_line(
    timestamp: &str,
    level: &str,
    target: &str,
    message: &str,
    request_id: Option<&str>,
    trace: Option<(String, String)>,
) -> String {
    let mut line = json!({
        "timestamp": timestamp,
        "level": level,
        "target": target,
        "message": message,
    });
    if let Some(id) = request_id {
        line["request_id"] = json!(id);
    }
    if let Some((trace_id, span_id)) = trace {
        line["trace_id"] = json!(trace_id);
        line["span_id"] = json!(span_id);
    }
    line.to_string()
}

#[cfg(test)]
mod tests {
    use super::json_line;

    #[test]
    fn a_json_line_is_one_object_with_the_request_and_trace_ids() {
        let line = json_line(
            "2026-11-28T12:00:00.000Z",
            "INFO",
            "app",
            "said \"hi\"\nthen left",
            Some("id-1"),
            Some((
                "4bf92f3577b34da6a3ce929d0e0e4736".into(),
                "00f067aa0ba902b7".into(),
            )),
        );
        assert!(!line.contains('\n'));
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["message"], "said \"hi\"\nthen left");
        assert_eq!(value["request_id"], "id-1");
        assert_eq!(value["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(value["span_id"], "00f067aa0ba902b7");
        assert_eq!(value["level"], "INFO");
    }
}
