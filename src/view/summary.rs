//! The headline figures of a run: one [`Summary`], computed once from `&Model`, that the
//! report (`sigil-top.report/1` and its text and Markdown forms), the report's gates, the
//! screen's header, `watch --metrics` and the snapshot's `summary.md` all read, so no two
//! of them can count a figure differently.
//!
//! Owns what each headline figure is made of: which requests count as answered or
//! served, how a 502 is split by its likely cause ([`BAD_GATEWAY_CAUSES`], always all
//! six), how a request without a status is keyed ([`StatusKey::Unknown`]), which
//! percentiles a latency has and when it has none ([`LatencyFigures`]: nothing measured
//! is unknown, never 0), and what one host's own figures are ([`HostFigures`]). The
//! screen's rolling windows reuse [`Traffic`] for the figures a window has.
//!
//! Does not own how any output lays the figures out, rounds them or makes log text safe
//! (host names here are as the journal gave them): each view does that.
//!
//! Owned values, no borrow of the model: the screen keeps its [`Summary`] between ticks.

use std::fmt;

use crate::model::detect::HostCounts;
use crate::model::stats::{Bucket, KeyStats, Latency, Stats};
use crate::model::{HostTraffic, Model};
use crate::parse::OriginErrorCause;
use crate::source::Timestamp;

/// A 502's likely causes, in the order every output lists them.
pub(crate) const BAD_GATEWAY_CAUSES: [OriginErrorCause; 6] = [
    OriginErrorCause::Refused,
    OriginErrorCause::Timeout,
    OriginErrorCause::Dns,
    OriginErrorCause::Tls,
    OriginErrorCause::Reset,
    OriginErrorCause::Other,
];

/// The figures of a whole run (or of a window's model, for a snapshot).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Summary {
    /// The first and the newest entry's time; `None` before any entry.
    pub(crate) window: Option<(Timestamp, Timestamp)>,
    /// Answered requests, their failures and the origin's latency, over the whole run.
    pub(crate) traffic: Traffic,
    pub(crate) requests: Requests,
    pub(crate) tunnel: Tunnel,
    pub(crate) origin: Origin,
    /// Each host's own figures, by host name (`None`: entries without `_HOSTNAME`, or
    /// the detector's state before the first line named a host).
    pub(crate) hosts: Vec<HostFigures>,
}

/// Requests answered over a span and what went wrong with them: the figures the
/// screen's rolling windows have as well as the whole run.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Traffic {
    /// Requests answered with a status: by the origin, or as cloudflared relayed it when
    /// only cloudflared logged the request (streams included; the tunnel's own 502s and
    /// 524s are not answers and are counted apart).
    pub(crate) requests: u64,
    /// The origin's own 5xx answers.
    pub(crate) errors_5xx: u64,
    /// 502 Bad Gateway from the tunnel: the origin could not be reached.
    pub(crate) bad_gateway: u64,
    /// 524 from the edge: the origin took too long.
    pub(crate) edge_timeout: u64,
    /// Origin response times of answered, non-stream requests.
    pub(crate) latency: LatencyFigures,
}

/// A latency histogram's headline figures.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct LatencyFigures {
    /// Latencies recorded.
    pub(crate) count: u64,
    /// `None` when nothing was recorded: unknown, not 0.
    pub(crate) known: Option<Percentiles>,
}

/// Percentiles, maximum and mean of a histogram with at least one value, in µs as the
/// histogram holds them (see [`ms`]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[allow(
    clippy::struct_field_names,
    reason = "each name carries its unit (STYLE.md §2.6): these are µs, printed as ms"
)]
pub(crate) struct Percentiles {
    pub(crate) p50_us: u64,
    pub(crate) p90_us: u64,
    pub(crate) p99_us: u64,
    pub(crate) p999_us: u64,
    pub(crate) max_us: u64,
    pub(crate) mean_us: f64,
}

/// A number of µs in ms, as every output prints them.
pub(crate) fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// An HTTP status as the outputs key it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum StatusKey {
    /// No line gave the request's status (the model counts it under 0).
    Unknown,
    Code(u16),
}

/// Requests beyond [`Traffic`]'s counts.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Requests {
    /// Answered requests that someone received (answered minus abandoned).
    pub(crate) served: u64,
    /// Answered, but nobody received the answer (no access line while access logging
    /// is on).
    pub(crate) abandoned: u64,
    /// Requests that never got an answer.
    pub(crate) unanswered: u64,
    /// Answered requests only cloudflared logged.
    pub(crate) tunnel_view_only: u64,
    /// Answered requests by status, unknown first, then by code.
    pub(crate) by_status: Vec<(StatusKey, u64)>,
}

/// The tunnel's failures and connection figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Tunnel {
    /// 502s by likely cause: all of [`BAD_GATEWAY_CAUSES`], in that order, 0 included.
    pub(crate) bad_gateway_by_cause: Vec<(OriginErrorCause, u64)>,
    /// Requests the client cancelled before an answer.
    pub(crate) client_abort: u64,
    pub(crate) disconnects: u64,
    /// Time with no tunnel connection up, µs.
    pub(crate) down_us: u64,
    pub(crate) restarts: u64,
}

/// The origin service's restarts and crashes.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Origin {
    pub(crate) restarts: u64,
    pub(crate) crashes: u64,
    pub(crate) auto_restarts: u64,
}

/// One host's own figures: what that host's journal alone would give.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct HostFigures {
    /// As the journal gave it (`_HOSTNAME` is log text: outputs make it safe).
    pub(crate) host: Option<String>,
    pub(crate) requests: u64,
    pub(crate) bad_gateway: u64,
    pub(crate) edge_timeout: u64,
    pub(crate) client_abort: u64,
    pub(crate) origin_5xx: u64,
    pub(crate) origin_restarts: u64,
    pub(crate) origin_crashes: u64,
    pub(crate) disconnects: u64,
    pub(crate) down_us: u64,
    /// Tunnel connections registered now; `None` while the host's cloudflared has not
    /// said.
    pub(crate) tunnel_connections: Option<u64>,
}

impl Summary {
    /// The figures of `model` (after `Model::finish` for a history run).
    pub(crate) fn of(model: &Model) -> Summary {
        let s = &model.stats;
        let d = &model.detector;
        Summary {
            window: model.window,
            traffic: Traffic::of_run(s),
            requests: Requests {
                served: s.requests.saturating_sub(s.abandoned),
                abandoned: s.abandoned,
                unanswered: s.unanswered,
                tunnel_view_only: s.tunnel_view_only,
                by_status: s
                    .by_status
                    .iter()
                    .map(|(&code, &n)| (StatusKey::of(code), n))
                    .collect(),
            },
            tunnel: Tunnel {
                bad_gateway_by_cause: BAD_GATEWAY_CAUSES
                    .iter()
                    .map(|c| (*c, s.bad_gateway_by_cause.get(c).copied().unwrap_or(0)))
                    .collect(),
                client_abort: s.client_abort,
                disconnects: d.disconnects,
                down_us: d.down_us,
                restarts: d.tunnel_restarts,
            },
            origin: Origin {
                restarts: d.restarts,
                crashes: d.crashes,
                auto_restarts: d.auto_restarts,
            },
            hosts: HostFigures::all(model),
        }
    }

    /// The figures of `host` (by name), if it has any.
    pub(crate) fn host(&self, host: &str) -> Option<&HostFigures> {
        self.hosts.iter().find(|h| h.host.as_deref() == Some(host))
    }
}

impl Traffic {
    /// The whole run's figures.
    pub(crate) fn of_run(s: &Stats) -> Traffic {
        Traffic {
            requests: s.requests,
            errors_5xx: s.errors_5xx,
            bad_gateway: s.bad_gateway,
            edge_timeout: s.edge_timeout,
            latency: LatencyFigures::of(&s.latency),
        }
    }

    /// The figures of the timeline's slices merged into `b`.
    pub(crate) fn of_slices(b: &Bucket) -> Traffic {
        Traffic {
            requests: b.requests,
            errors_5xx: b.errors_5xx,
            bad_gateway: b.bad_gateway,
            edge_timeout: b.timeouts,
            latency: LatencyFigures::of(&b.latency),
        }
    }
}

impl LatencyFigures {
    pub(crate) fn of(l: &Latency) -> LatencyFigures {
        let h = &l.hist;
        LatencyFigures {
            count: l.count(),
            known: (!h.is_empty()).then(|| Percentiles {
                p50_us: h.value_at_percentile(50.0),
                p90_us: h.value_at_percentile(90.0),
                p99_us: h.value_at_percentile(99.0),
                p999_us: h.value_at_percentile(99.9),
                max_us: h.max(),
                mean_us: h.mean(),
            }),
        }
    }
}

impl StatusKey {
    fn of(code: u16) -> StatusKey {
        if code == 0 {
            StatusKey::Unknown
        } else {
            StatusKey::Code(code)
        }
    }
}

impl fmt::Display for StatusKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatusKey::Unknown => f.write_str("unknown"),
            StatusKey::Code(code) => write!(f, "{code}"),
        }
    }
}

impl HostFigures {
    /// Every host with something to say, by name (`None` first): the model's traffic per
    /// host and the detector's per-host state, joined by name. The detector's state
    /// before the first line has no host: it is listed only when it holds something.
    fn all(model: &Model) -> Vec<HostFigures> {
        let detector = model.detector.hosts();
        let mut names: Vec<Option<&str>> = model
            .per_host
            .iter()
            .map(|h| h.host.as_deref())
            .chain(detector.iter().map(|(h, _, _)| *h))
            .collect();
        names.sort_unstable();
        names.dedup();
        names
            .into_iter()
            .filter(|name| {
                name.is_some()
                    || model.per_host.iter().any(|h| h.host.is_none())
                    || detector.iter().any(|(h, c, r)| {
                        h.is_none() && (**c != HostCounts::default() || r.is_some())
                    })
            })
            .map(|name| {
                let traffic = model.per_host.iter().find(|h| h.host.as_deref() == name);
                let state = detector.iter().find(|(h, _, _)| *h == name);
                let n = |f: fn(&HostTraffic) -> u64| traffic.map_or(0, f);
                let counts = |f: fn(&HostCounts) -> u64| state.map_or(0, |(_, c, _)| f(c));
                HostFigures {
                    host: name.map(str::to_owned),
                    requests: n(|h| h.requests),
                    bad_gateway: n(|h| h.bad_gateway),
                    edge_timeout: n(|h| h.edge_timeout),
                    client_abort: n(|h| h.client_abort),
                    origin_5xx: n(|h| h.origin_5xx),
                    origin_restarts: counts(|c| c.restarts),
                    origin_crashes: counts(|c| c.crashes),
                    disconnects: counts(|c| c.disconnects),
                    down_us: counts(|c| c.down_us),
                    tunnel_connections: state.and_then(|(_, _, r)| *r).map(|n| n as u64),
                }
            })
            .collect()
    }
}

/// Routes with at least one request, busiest first (then by method and path): the order
/// the report and the metrics list them in.
pub(crate) fn routes_busiest_first(s: &Stats) -> Vec<(&(String, String), &KeyStats)> {
    let mut routes: Vec<_> = s.by_route.iter().filter(|(_, r)| r.count > 0).collect();
    routes.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
    routes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tests_support::{scenario, SCENARIOS};

    /// The summary says what the model counted, whatever the scenario: totals add up
    /// per host and per cause, and a latency is unknown exactly when nothing was
    /// measured.
    #[test]
    fn the_summary_adds_up_to_the_models_counts_in_every_scenario() {
        for &name in SCENARIOS {
            let (model, _) = scenario(name);
            let s = Summary::of(&model);
            assert_eq!(s.traffic.requests, model.stats.requests, "{name}");
            assert_eq!(
                s.requests.by_status.iter().map(|(_, n)| n).sum::<u64>(),
                model.stats.by_status.values().sum::<u64>(),
                "{name}"
            );
            assert_eq!(
                s.tunnel
                    .bad_gateway_by_cause
                    .iter()
                    .map(|(c, _)| *c)
                    .collect::<Vec<_>>(),
                BAD_GATEWAY_CAUSES,
                "{name}: every cause, in order"
            );
            assert_eq!(
                s.tunnel
                    .bad_gateway_by_cause
                    .iter()
                    .map(|(_, n)| n)
                    .sum::<u64>(),
                model.stats.bad_gateway_by_cause.values().sum::<u64>(),
                "{name}"
            );
            assert_eq!(
                s.hosts.iter().map(|h| h.bad_gateway).sum::<u64>(),
                model.per_host.iter().map(|h| h.bad_gateway).sum::<u64>(),
                "{name}: no host's 502s lost or counted twice"
            );
            assert_eq!(
                s.traffic.latency.known.is_none(),
                model.stats.latency.count() == 0,
                "{name}"
            );
            if let Some(p) = s.traffic.latency.known {
                assert!(
                    p.p50_us <= p.p90_us
                        && p.p90_us <= p.p99_us
                        && p.p99_us <= p.p999_us
                        && p.p999_us <= p.max_us,
                    "{name}: {p:?}"
                );
            }
        }
    }

    #[test]
    fn a_request_without_a_status_is_keyed_unknown_and_listed_first() {
        let mut model = Model::new(crate::model::Settings::default());
        model.stats.by_status.insert(502, 2);
        model.stats.by_status.insert(0, 3);
        model.stats.by_status.insert(200, 5);
        let s = Summary::of(&model);
        let keys: Vec<String> = s
            .requests
            .by_status
            .iter()
            .map(|(k, n)| format!("{k}:{n}"))
            .collect();
        assert_eq!(keys, ["unknown:3", "200:5", "502:2"]);
        assert_eq!(s.traffic.latency, LatencyFigures::default());
    }
}
