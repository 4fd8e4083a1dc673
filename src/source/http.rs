//! HTTP for the CRM APIs: a client-side rate limiter that adapts to the
//! vendor's rate-limit headers, and bounded retries with exponential backoff
//! and jitter on 429, 5xx, timeouts and dropped connections, honouring
//! `Retry-After`. What cannot be retried (a refused token, a daily quota, a
//! bad request) comes back at once for the source to explain.
//!
//! Credentials travel only in the `Authorization` header; nothing here puts
//! a header, a URL's query or a body into an error message.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::blocking::{Client, RequestBuilder};
use reqwest::header::HeaderMap;

use super::SourceError;

/// How many times a request is tried at most.
pub const ATTEMPTS: u32 = 6;

/// A response that came back: status, headers, body.
#[derive(Debug)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Vec<u8>,
}

/// Spaces requests so that no more than `max` go out per `interval`.
#[derive(Debug)]
pub struct Limiter {
    gap: Duration,
    /// The least gap, whatever the headers say (an endpoint's own limit).
    least: Duration,
    next: Instant,
}

impl Limiter {
    /// At most `max` requests per `interval`.
    pub fn new(max: u32, interval: Duration) -> Limiter {
        Limiter {
            gap: interval / max.max(1),
            least: Duration::ZERO,
            next: Instant::now(),
        }
    }

    /// Never closer than `least` apart (HubSpot's search: 5 a second, below
    /// the account's 10-second budget the headers describe).
    pub fn floor(mut self, least: Duration) -> Limiter {
        self.least = least;
        self.gap = self.gap.max(least);
        self
    }

    /// Waits for the next slot.
    pub fn wait(&mut self) {
        let now = Instant::now();
        if self.next > now {
            std::thread::sleep(self.next - now);
        }
        self.next = Instant::now().max(self.next) + self.gap;
    }

    /// Adapts to what the server says of its limit: `max` requests per
    /// `interval`, `remaining` of them left in this one.
    pub fn observe(
        &mut self,
        max: Option<u32>,
        interval: Option<Duration>,
        remaining: Option<u32>,
    ) {
        if let (Some(max), Some(interval)) = (max, interval)
            && max > 0
        {
            self.gap = (interval / max).max(self.least);
        }
        if remaining == Some(0)
            && let Some(interval) = interval
        {
            // The window is used up: the next request waits for the next one.
            self.next = self.next.max(Instant::now() + interval);
        }
    }

    /// Holds every request until `until`.
    pub fn pause_until(&mut self, until: Instant) {
        self.next = self.next.max(until);
    }
}

/// A client for one vendor.
pub struct Http {
    client: Client,
    /// The vendor, for messages (`HubSpot`).
    pub vendor: &'static str,
    /// The limiter.
    pub limiter: Limiter,
    /// The first backoff; doubled each retry, with jitter.
    pub backoff: Duration,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http")
            .field("vendor", &self.vendor)
            .finish_non_exhaustive()
    }
}

/// TLS as for the warehouse: rustls with ring, Mozilla's roots.
fn tls(vendor: &str) -> Result<rustls::ClientConfig, SourceError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| SourceError::new(format!("{vendor}: TLS: {e}"), "report this as a bug"))?
    .with_root_certificates(roots)
    .with_no_client_auth())
}

impl Http {
    /// A client whose requests time out after `timeout`.
    pub fn new(
        vendor: &'static str,
        timeout: Duration,
        limiter: Limiter,
    ) -> Result<Http, SourceError> {
        let client = Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("revalign/", env!("CARGO_PKG_VERSION")))
            .tls_backend_preconfigured(tls(vendor)?)
            .build()
            .map_err(|e| {
                SourceError::new(
                    format!("{vendor}: cannot set up HTTP: {e}"),
                    "report this as a bug",
                )
            })?;
        Ok(Http {
            client,
            vendor,
            limiter,
            backoff: Duration::from_millis(500),
        })
    }

    /// Sends a request, retrying what can be retried. `what` names it in
    /// errors (`the contacts search`). Statuses that are not retried come
    /// back as answers; `retry_429` decides whether a 429 is worth waiting
    /// for (a daily quota is not).
    pub fn send(
        &mut self,
        what: &str,
        build: impl Fn(&Client) -> RequestBuilder,
        retry_429: impl Fn(&Answer) -> bool,
    ) -> Result<Answer, SourceError> {
        let mut last = String::new();
        for attempt in 0..ATTEMPTS {
            self.limiter.wait();
            let wait = match build(&self.client).send() {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let headers = resp.headers().clone();
                    match resp.bytes() {
                        Ok(body) => {
                            let answer = Answer {
                                status,
                                headers,
                                body: body.to_vec(),
                            };
                            let retry = match status {
                                429 => retry_429(&answer),
                                500..=599 => true,
                                _ => false,
                            };
                            if !retry {
                                return Ok(answer);
                            }
                            last = format!("HTTP {status}");
                            retry_after(&answer.headers)
                        }
                        // Cut off mid-body: a truncated page is retried, never used.
                        Err(_) => {
                            last = "the answer was cut off".into();
                            None
                        }
                    }
                }
                Err(e) if e.is_timeout() => {
                    last = "no answer within the timeout".into();
                    None
                }
                Err(e) if e.is_connect() => {
                    last = "cannot connect".into();
                    None
                }
                Err(_) => {
                    last = "the connection dropped".into();
                    None
                }
            };
            if attempt + 1 == ATTEMPTS {
                break;
            }
            let backoff = self.backoff * 2u32.pow(attempt);
            let jitter = backoff.mul_f64(fastrand::f64() * 0.5);
            let delay = wait.unwrap_or(backoff + jitter);
            self.limiter.pause_until(Instant::now() + delay);
        }
        Err(SourceError::new(
            format!(
                "{}: {what} failed {ATTEMPTS} times (last: {last})",
                self.vendor
            ),
            format!(
                "{} may be down, slow or rate-limiting this account; run again later, or raise the source's `timeout` if answers are slow",
                self.vendor
            ),
        ))
    }
}

/// `Retry-After` in seconds (HTTP dates are not used by these APIs).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| Duration::from_secs_f64(s.min(300.0)))
}

/// A header as a number.
pub fn header_u32(headers: &HeaderMap, name: &str) -> Option<u32> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limiter_spaces_and_adapts() {
        let mut l = Limiter::new(5, Duration::from_secs(1));
        assert_eq!(l.gap, Duration::from_millis(200));
        l.observe(Some(100), Some(Duration::from_secs(10)), Some(40));
        assert_eq!(l.gap, Duration::from_millis(100));
        let before = Instant::now();
        l.observe(Some(100), Some(Duration::from_millis(50)), Some(0));
        assert!(l.next >= before + Duration::from_millis(50));
    }

    #[test]
    fn retry_after_in_seconds() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert("retry-after", "2".parse().expect("value"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert(
            "retry-after",
            "Wed, 21 Oct 2026 07:28:00 GMT".parse().expect("value"),
        );
        assert_eq!(retry_after(&h), None);
    }
}
