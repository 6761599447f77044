//! Pacing against Resource Graph's per-user quota (for example 15 queries per 5-second window).
//!
//! Every response carries `x-ms-user-quota-remaining` (queries left in the window) and
//! `x-ms-user-quota-resets-after` (`hh:mm:ss`, time until the window resets). The client sends
//! while quota remains and, when it reaches 0, sleeps until the window resets instead of
//! provoking a 429. The header has whole-second resolution, so one reading can be up to a
//! second late; the reset instant is instead bounded by the tightest of all readings in the
//! window (`received + resets_after`, which under rounding up is never early), and a window
//! seen through a dozen sequential requests pins it to about one request latency. If a
//! request sent at an estimated reset is throttled anyway (the service rounds differently),
//! the client learns a slack of up to one second and adds it from then on.
//!
//! On a 429 the client waits the larger of `Retry-After` and the reset time, plus jitter.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Sent this long after the estimated reset, to absorb clock granularity.
const RESET_MARGIN: Duration = Duration::from_millis(30);
/// Slack learned per 429 received right after an estimated reset, up to [`MAX_SLACK`].
const SLACK_STEP: Duration = Duration::from_millis(250);
const MAX_SLACK: Duration = Duration::from_secs(1);

/// The quota headers of one response.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Quota {
    pub remaining: Option<u64>,
    pub resets_after: Option<Duration>,
}

impl Quota {
    pub fn from_headers(h: &reqwest::header::HeaderMap) -> Quota {
        let get = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
        Quota {
            remaining: get("x-ms-user-quota-remaining").and_then(|v| v.parse().ok()),
            resets_after: get("x-ms-user-quota-resets-after").and_then(parse_timespan),
        }
    }
}

/// `Retry-After` as seconds (Azure sends an integer; an HTTP date is not used by ARM).
pub fn retry_after(h: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = h.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    v.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

/// Parse a .NET `TimeSpan` as Azure prints it: `hh:mm:ss`, optionally `d.hh:mm:ss` and a
/// fraction (`00:00:03.4120000`).
pub fn parse_timespan(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (days, rest) = match s.split_once(':') {
        Some((head, _)) if head.contains('.') => {
            let (d, _) = head.split_once('.')?;
            (d.parse::<u64>().ok()?, &s[d.len() + 1..])
        }
        _ => (0, s),
    };
    let mut parts = rest.split(':');
    let h: u64 = parts.next()?.parse().ok()?;
    let m: u64 = parts.next()?.parse().ok()?;
    let sec: f64 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || m >= 60 || !(0.0..60.0).contains(&sec) {
        return None;
    }
    Some(Duration::from_secs(days * 86_400 + h * 3600 + m * 60) + Duration::from_secs_f64(sec))
}

#[derive(Debug, Default)]
struct State {
    remaining: Option<u64>,
    /// The earliest instant by which the current window is known to reset.
    reset_at: Option<Instant>,
    /// No request before this instant (after a 429).
    blocked_until: Option<Instant>,
    slack: Duration,
    /// The last delay handed out was a wait for an estimated reset.
    waited_for_reset: bool,
}

/// Shared by every request of a run (the quota is per user, not per query).
#[derive(Debug, Default)]
pub struct Throttle {
    state: Mutex<State>,
}

impl Throttle {
    pub fn new() -> Throttle {
        Throttle::default()
    }

    /// How long to wait before sending the next request.
    pub fn delay(&self, now: Instant) -> Duration {
        let mut s = self.state.lock().unwrap();
        if let Some(until) = s.blocked_until
            && until > now
        {
            return until - now;
        }
        if s.remaining == Some(0)
            && let Some(reset) = s.reset_at
        {
            let at = reset + s.slack + RESET_MARGIN;
            if at > now {
                s.waited_for_reset = true;
                return at - now;
            }
        }
        Duration::ZERO
    }

    /// Record the quota headers of a successful response to a request sent at `sent`.
    pub fn observe(&self, sent: Instant, received: Instant, q: &Quota) {
        let mut s = self.state.lock().unwrap();
        s.waited_for_reset = false;
        s.blocked_until = None;
        let Some(r) = q.remaining else { return };
        let candidate = q.resets_after.map(|d| received + d);
        let same_window = match (s.remaining, s.reset_at) {
            // The quota only goes down within a window, and a window cannot outlive its reset.
            (Some(prev), Some(reset)) => r < prev && sent < reset + s.slack,
            _ => false,
        };
        s.reset_at = match (same_window, s.reset_at, candidate) {
            (true, Some(old), Some(new)) => Some(old.min(new)),
            (true, old, None) => old,
            (false, _, new) => new,
            (true, None, new) => new,
        };
        s.remaining = Some(r);
    }

    /// Record a 429 and return how long to wait before retrying.
    pub fn throttled(
        &self,
        received: Instant,
        retry_after: Option<Duration>,
        q: &Quota,
    ) -> Duration {
        let mut s = self.state.lock().unwrap();
        if s.waited_for_reset {
            s.slack = (s.slack + SLACK_STEP).min(MAX_SLACK);
        }
        s.waited_for_reset = false;
        let base = match (retry_after, q.resets_after) {
            (Some(a), Some(b)) => a.max(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => Duration::from_secs(1),
        };
        // Jitter spreads clients that were throttled together; it never shortens the wait.
        let jitter_cap = (base / 10).clamp(Duration::from_millis(20), Duration::from_millis(500));
        let wait = base + jitter_cap.mul_f64(fastrand::f64());
        s.blocked_until = Some(received + wait);
        s.remaining = None;
        s.reset_at = None;
        wait
    }

    /// The slack learned so far.
    #[cfg(test)]
    fn slack(&self) -> Duration {
        self.state.lock().unwrap().slack
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespans_as_azure_prints_them() {
        assert_eq!(parse_timespan("00:00:03"), Some(Duration::from_secs(3)));
        assert_eq!(parse_timespan("00:01:05"), Some(Duration::from_secs(65)));
        assert_eq!(
            parse_timespan("00:00:03.4120000"),
            Some(Duration::from_millis(3412))
        );
        assert_eq!(
            parse_timespan("1.00:00:01"),
            Some(Duration::from_secs(86_401))
        );
        assert_eq!(parse_timespan("3"), None);
        assert_eq!(parse_timespan("00:61:00"), None);
    }

    #[test]
    fn waits_for_the_tightest_reset_only_when_quota_is_spent() {
        let t = Throttle::new();
        let t0 = Instant::now();
        let q = |r, s| Quota {
            remaining: Some(r),
            resets_after: Some(Duration::from_secs(s)),
        };
        t.observe(t0, t0 + Duration::from_millis(100), &q(2, 5));
        assert_eq!(t.delay(t0), Duration::ZERO);
        // A later reading with a smaller rounded value narrows the reset instant.
        t.observe(t0, t0 + Duration::from_millis(1100), &q(1, 4));
        t.observe(t0, t0 + Duration::from_millis(1200), &q(0, 4));
        let d = t.delay(t0 + Duration::from_millis(1200));
        assert!(
            d >= Duration::from_millis(3900) && d <= Duration::from_millis(3950),
            "{d:?}"
        );
        // A new window (quota back up) replaces the estimate.
        t.observe(
            t0 + Duration::from_millis(5200),
            t0 + Duration::from_millis(5300),
            &q(14, 5),
        );
        assert_eq!(t.delay(t0 + Duration::from_millis(5300)), Duration::ZERO);
    }

    #[test]
    fn a_429_waits_the_larger_hint_and_teaches_slack() {
        let t = Throttle::new();
        let now = Instant::now();
        t.observe(
            now,
            now,
            &Quota {
                remaining: Some(0),
                resets_after: Some(Duration::from_secs(1)),
            },
        );
        assert!(t.delay(now) > Duration::ZERO);
        let w = t.throttled(
            now,
            Some(Duration::from_secs(2)),
            &Quota {
                remaining: Some(0),
                resets_after: Some(Duration::from_secs(5)),
            },
        );
        assert!(
            w >= Duration::from_secs(5) && w <= Duration::from_millis(5500),
            "{w:?}"
        );
        assert_eq!(t.slack(), SLACK_STEP);
        assert!(t.delay(now) >= Duration::from_secs(5));
    }

    #[test]
    fn retry_after_header() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("retry-after", "2".parse().unwrap());
        h.insert("x-ms-user-quota-remaining", "0".parse().unwrap());
        h.insert("x-ms-user-quota-resets-after", "00:00:05".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        let q = Quota::from_headers(&h);
        assert_eq!(q.remaining, Some(0));
        assert_eq!(q.resets_after, Some(Duration::from_secs(5)));
    }
}
