//! What OpenTelemetry's standard variables ask of the export, read and checked before anything
//! starts: whether to export at all, and nothing this service cannot honour (another protocol,
//! compression, an unknown sampler), which stops startup naming the variable rather than being
//! ignored.

use reqwest::Url;

/// Why export could not start: a variable set to something this service cannot honour, or an
/// exporter that could not be built.
#[derive(Debug)]
pub struct ExportError(String);

impl ExportError {
    pub(super) fn new(message: String) -> Self {
        Self(message)
    }
}

impl std::fmt::Display for ExportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ExportError {}

/// The queue's size unless `OTEL_BSP_MAX_QUEUE_SIZE` says otherwise: the specification's.
const DEFAULT_QUEUE_SIZE: usize = 2048;

/// Whether and where spans go.
pub(super) enum Plan {
    /// Nothing exported, and why.
    Off(&'static str),
    Export {
        /// Where batches are posted, without credentials, for the doctor.
        endpoint: String,
        queue_size: usize,
    },
}

/// A variable's value, when set and not empty.
pub(super) fn variable(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

impl Plan {
    /// The plan the variables make.
    pub(super) fn from_env() -> Result<Self, ExportError> {
        if variable("OTEL_SDK_DISABLED").is_some_and(|value| value.eq_ignore_ascii_case("true")) {
            return Ok(Self::Off("OTEL_SDK_DISABLED=true"));
        }
        match variable("OTEL_TRACES_EXPORTER").as_deref() {
            None | Some("otlp") => {}
            Some("none") => return Ok(Self::Off("OTEL_TRACES_EXPORTER=none")),
            Some(other) => {
                return Err(ExportError::new(format!(
                    "OTEL_TRACES_EXPORTER={other} is not supported: use otlp, or none"
                )));
            }
        }
        let endpoint = match (
            variable("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
            variable("OTEL_EXPORTER_OTLP_ENDPOINT"),
        ) {
            (Some(traces), _) => shown("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &traces)?,
            (None, Some(base)) => {
                let base = shown("OTEL_EXPORTER_OTLP_ENDPOINT", &base)?;
                format!("{}/v1/traces", base.trim_end_matches('/'))
            }
            (None, None) => return Ok(Self::Off("no OTEL_EXPORTER_OTLP_ENDPOINT")),
        };
        for (name, allowed) in [
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "none"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "none"),
        ] {
            if let Some(value) = variable(name).filter(|value| value != allowed) {
                return Err(ExportError::new(format!(
                    "{name}={value} is not supported: this service exports {allowed}"
                )));
            }
        }
        check_sampler()?;
        let queue_size = match variable("OTEL_BSP_MAX_QUEUE_SIZE") {
            None => DEFAULT_QUEUE_SIZE,
            Some(size) => size.parse().ok().filter(|&size| size > 0).ok_or_else(|| {
                ExportError::new(format!(
                    "OTEL_BSP_MAX_QUEUE_SIZE={size} is not a number of spans"
                ))
            })?,
        };
        Ok(Self::Export {
            endpoint,
            queue_size,
        })
    }
}

/// The endpoint as the doctor shows it: a URL, without user information or query.
fn shown(name: &str, value: &str) -> Result<String, ExportError> {
    let mut url = Url::parse(value)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https"))
        .ok_or_else(|| ExportError::new(format!("{name} is not an http(s) URL")))?;
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_query(None);
    Ok(url.to_string())
}

/// The samplers the SDK knows, and a ratio from 0 to 1 for those that take one: anything else
/// the SDK would replace by sampling every trace, with a warning no one reads.
fn check_sampler() -> Result<(), ExportError> {
    match variable("OTEL_TRACES_SAMPLER").as_deref() {
        None
        | Some("always_on" | "always_off" | "parentbased_always_on" | "parentbased_always_off") => {
            Ok(())
        }
        Some("traceidratio" | "parentbased_traceidratio") => {
            match variable("OTEL_TRACES_SAMPLER_ARG") {
                Some(ratio)
                    if !ratio
                        .parse::<f64>()
                        .is_ok_and(|ratio| (0.0..=1.0).contains(&ratio)) =>
                {
                    Err(ExportError::new(format!(
                        "OTEL_TRACES_SAMPLER_ARG={ratio} is not a ratio from 0 to 1"
                    )))
                }
                _ => Ok(()),
            }
        }
        Some(other) => Err(ExportError::new(format!(
            "OTEL_TRACES_SAMPLER={other} is not supported: use always_on, always_off, \
             traceidratio, or their parentbased_ forms"
        ))),
    }
}

/// One line on the export, for diagnostics: where spans go, as which service, which are kept,
/// and the names (never the values) of the headers sent; or why nothing is exported.
pub fn describe_export(default_service_name: &str) -> Result<String, ExportError> {
    let (endpoint, queue_size) = match Plan::from_env()? {
        Plan::Off(why) => {
            return Ok(format!(
                "traces: not exported ({why}); a gateway's traceparent still reaches the logs \
                 and the issuer"
            ));
        }
        Plan::Export {
            endpoint,
            queue_size,
        } => (endpoint, queue_size),
    };
    let service = variable("OTEL_SERVICE_NAME").unwrap_or_else(|| default_service_name.to_owned());
    let sampler = match (
        variable("OTEL_TRACES_SAMPLER"),
        variable("OTEL_TRACES_SAMPLER_ARG"),
    ) {
        (None, _) => "parentbased_always_on".to_owned(),
        (Some(sampler), Some(ratio)) if sampler.ends_with("traceidratio") => {
            format!("{sampler} {ratio}")
        }
        (Some(sampler), _) => sampler,
    };
    let headers = variable("OTEL_EXPORTER_OTLP_TRACES_HEADERS")
        .or_else(|| variable("OTEL_EXPORTER_OTLP_HEADERS"))
        .map(|list| {
            let names: Vec<&str> = list
                .split(',')
                .filter_map(|pair| pair.split_once('=').map(|(name, _)| name.trim()))
                .collect();
            format!(", headers {} (values hidden)", names.join(", "))
        })
        .unwrap_or_default();
    Ok(format!(
        "traces: exported over OTLP/HTTP to {endpoint} as service {service}, sampler {sampler}, \
         a queue of {queue_size} spans{headers}"
    ))
}
