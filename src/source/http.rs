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

/// What a vendor's rate-limit headers say: `max` requests per `interval`,
/// `remaining` of them left in the current one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rate {
    /// Requests allowed per interval.
    pub max: Option<u32>,
    /// The interval.
    pub interval: Option<Duration>,
    /// Requests left in the current interval.
    pub remaining: Option<u32>,
}

/// Headroom under a limit: requests go out 3% slower than it allows, so the
/// server's window, measured at arrival, never sees one too many.
const MARGIN: f64 = 1.03;
/// The longest gap or pause a server's headers can impose (a header that
/// asks for more is taken as this).
const LONGEST: Duration = Duration::from_secs(60);
/// A missed slot is made up only under budgets this large: with the 3%
/// margin, the one extra request it allows in a window still fits.
const CATCH_UP_FROM: u32 = 67;

/// Spaces requests so that no more than `max` go out per `interval`.
#[derive(Debug)]
pub struct Limiter {
    /// The gap the account's budget allows (from the headers, once seen).
    budget: Duration,
    /// Requests the budget allows per interval.
    max: u32,
    /// The least gap, whatever the headers say (an endpoint's own limit).
    least: Duration,
    next: Instant,
}

impl Limiter {
    /// At most `max` requests per `interval`.
    pub fn new(max: u32, interval: Duration) -> Limiter {
        Limiter {
            budget: (interval / max.max(1)).min(LONGEST),
            max,
            least: Duration::ZERO,
            next: Instant::now(),
        }
    }

    /// From now on never closer than `least` apart (HubSpot's search: 5 a
    /// second, below the account's 10-second budget the headers describe);
    /// `Duration::ZERO` lifts it.
    pub fn set_floor(&mut self, least: Duration) {
        self.least = least;
    }

    /// The gap between two requests.
    pub fn gap(&self) -> Duration {
        self.budget.max(self.least).mul_f64(MARGIN)
    }

    /// Waits for the next slot. Under a large budget (at least
    /// [`CATCH_UP_FROM`] a window) and no floor, a slot missed by less than a
    /// gap (an answer slower than the gap) is made up by sending the next
    /// request at once: the pace keeps to the limit on average, and a window
    /// still sees at most its length over the gap plus two (99 where 100 are
    /// allowed). Under a floor (HubSpot's search, 5 a second) or a small
    /// budget, requests are never closer than the gap.
    pub fn wait(&mut self) {
        let now = Instant::now();
        if self.next > now {
            std::thread::sleep(self.next - now);
        }
        let gap = self.gap();
        let now = Instant::now();
        let from = if self.least.is_zero() && self.max >= CATCH_UP_FROM {
            now.checked_sub(gap).unwrap_or(now)
        } else {
            now
        };
        self.next = from.max(self.next) + gap;
    }

    /// Adapts to what the server says of its limit.
    pub fn observe(&mut self, rate: Rate) {
        let interval = rate.interval.map(|i| i.min(LONGEST));
        if let (Some(max), Some(interval)) = (rate.max, interval)
            && max > 0
        {
            self.budget = (interval / max).min(LONGEST);
            self.max = max;
        }
        if rate.remaining == Some(0)
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

/// The base URL of an API source: the vendor's, or the manifest's
/// `base_url`, which must be `https` unless it is this machine (a stand-in
/// or a local proxy): a token is never sent in clear over a network.
pub fn base_url(id: &str, given: Option<&str>, vendor_base: &str) -> Result<String, SourceError> {
    let Some(given) = given else {
        return Ok(vendor_base.to_string());
    };
    let url = reqwest::Url::parse(given).map_err(|e| {
        SourceError::new(
            format!("source `{id}`: base_url `{given}` is not a URL ({e})"),
            format!("write it as `{vendor_base}`"),
        )
    })?;
    let host = url.host_str().unwrap_or("");
    let loopback = host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|a| a.is_loopback());
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        s => {
            return Err(SourceError::new(
                format!(
                    "source `{id}`: base_url `{given}` is {s}, which would send the token unencrypted"
                ),
                "use an https URL (plain http is accepted only for this machine: localhost, 127.0.0.1, ::1)",
            ));
        }
    }
    Ok(given.trim_end_matches('/').to_string())
}

/// How requests are authorized.
#[derive(Clone)]
pub enum Auth {
    /// A token that does not expire here (a private app's, an API token):
    /// sent as it is.
    Token(String),
    /// OAuth 2: access tokens from a token endpoint, renewed before they
    /// expire and once after a 401.
    OAuth(Box<OAuth>),
}

impl std::fmt::Debug for Auth {
    // No secret: only which kind.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Token(_) => f.write_str("Auth::Token"),
            Auth::OAuth(o) => write!(f, "Auth::OAuth({})", o.url),
        }
    }
}

/// An OAuth 2 client of a token endpoint.
#[derive(Clone)]
pub struct OAuth {
    /// The token endpoint.
    pub url: String,
    /// The form sent: `grant_type`, and `client_id`, `client_secret`,
    /// `refresh_token` as the grant needs (the client's in a Basic header
    /// instead when `basic`).
    pub form: Vec<(&'static str, String)>,
    /// Client id and secret in a Basic `Authorization` header (Pipedrive).
    pub basic: Option<(String, String)>,
    /// The variables that hold the credentials, for messages.
    pub names: String,
    access: Option<String>,
    /// When the access token should be renewed.
    renew_at: Option<Instant>,
}

impl OAuth {
    /// A client of `url` sending `form`.
    pub fn new(
        url: String,
        form: Vec<(&'static str, String)>,
        basic: Option<(String, String)>,
        names: String,
    ) -> OAuth {
        OAuth {
            url,
            form,
            basic,
            names,
            access: None,
            renew_at: None,
        }
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
    /// Reads the vendor's rate-limit headers, on every answer (a 429's too).
    rate: fn(&HeaderMap) -> Rate,
    /// How requests are authorized.
    auth: Auth,
    /// Access tokens obtained (OAuth).
    pub renewals: u32,
    /// The token endpoint gave a new refresh token (OAuth): it served the
    /// run, and is not kept.
    pub rotated: bool,
    /// The server's clock (its `Date` header) at the first answer since it
    /// was last cleared: a sync's start by the clock the API's timestamps
    /// are written in.
    pub server_time: Option<jiff::Timestamp>,
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
    /// `rate` reads the vendor's rate-limit headers.
    pub fn new(
        vendor: &'static str,
        timeout: Duration,
        limiter: Limiter,
        rate: fn(&HeaderMap) -> Rate,
        auth: Auth,
    ) -> Result<Http, SourceError> {
        let client = Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("revalign/", env!("CARGO_PKG_VERSION")))
            // A redirect could carry a vendor's token header elsewhere, even
            // to plain http: none is followed (a 30x is an error).
            .redirect(reqwest::redirect::Policy::none())
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
            rate,
            auth,
            renewals: 0,
            rotated: false,
            server_time: None,
        })
    }

    /// The access token to send: OAuth's renewed first when it is about to
    /// expire (or `renew`).
    fn token(&mut self, renew: bool) -> Result<String, SourceError> {
        let o = match &mut self.auth {
            Auth::Token(t) => return Ok(t.clone()),
            Auth::OAuth(o) => o,
        };
        let fresh = !renew && o.renew_at.is_none_or(|t| Instant::now() < t);
        if let (Some(access), true) = (&o.access, fresh) {
            return Ok(access.clone());
        }
        let form = reqwest::Url::parse_with_params("http://form.invalid/", &o.form)
            .ok()
            .and_then(|u| u.query().map(String::from))
            .unwrap_or_default();
        let vendor = self.vendor;
        let names = o.names.clone();
        let refused = |status: String, body: &[u8]| {
            let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
            let text = |k: &str| v[k].as_str().unwrap_or("").to_string();
            let why = [text("error"), text("error_description"), text("message")]
                .into_iter()
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>()
                .join(": ");
            SourceError::new(
                format!("{vendor} refused the OAuth credentials in {names} ({status} {why})"),
                "check the app's client id and secret, and that the refresh token was issued to that app and not revoked (nor replaced: where the provider rotates refresh tokens, authorize the app again and export the new one)",
            )
        };
        let mut last = String::new();
        for attempt in 0..3u32 {
            self.limiter.wait();
            let mut req = self
                .client
                .post(&o.url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form.clone());
            if let Some((id, secret)) = &o.basic {
                req = req.basic_auth(id, Some(secret));
            }
            match req.send() {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let body = resp.bytes().map(|b| b.to_vec()).unwrap_or_default();
                    if status >= 500 {
                        last = format!("HTTP {status}");
                    } else if status != 200 {
                        return Err(refused(format!("HTTP {status}"), &body));
                    } else {
                        let v: serde_json::Value = serde_json::from_slice(&body)
                            .map_err(|_| refused("an answer that is not JSON".into(), &[]))?;
                        let Some(access) = v["access_token"].as_str() else {
                            return Err(refused("no access_token".into(), &[]));
                        };
                        // Renewed a quarter of its life before it ends, and
                        // at most a minute before.
                        o.renew_at = v["expires_in"].as_f64().filter(|s| *s > 0.0).map(|s| {
                            let life = Duration::from_secs_f64(s.min(86_400.0 * 365.0));
                            Instant::now() + life - (life / 4).min(Duration::from_secs(60))
                        });
                        // A rotated refresh token serves the rest of the run
                        // (it is never written anywhere).
                        if let Some(r) = v["refresh_token"].as_str()
                            && let Some(f) = o.form.iter_mut().find(|(k, _)| *k == "refresh_token")
                            && f.1 != r
                        {
                            f.1 = r.to_string();
                            self.rotated = true;
                        }
                        o.access = Some(access.to_string());
                        self.renewals += 1;
                        return Ok(access.to_string());
                    }
                }
                Err(e) => {
                    last = if e.is_timeout() {
                        "no answer within the timeout".into()
                    } else {
                        "cannot connect".into()
                    }
                }
            }
            let backoff = self.backoff * 2u32.pow(attempt);
            self.limiter.pause_until(Instant::now() + backoff);
        }
        Err(SourceError::new(
            format!("{vendor}: the OAuth token endpoint failed 3 times (last: {last})"),
            format!("{vendor} may be down; run again later"),
        ))
    }

    /// Sends a request, retrying what can be retried. `what` names it in
    /// errors (`the contacts search`). Statuses that are not retried come
    /// back as answers; `retry_429` decides whether a 429 is worth waiting
    /// for (a daily quota is not).
    ///
    /// `build` gets the access token to send. With OAuth, a 401 renews it
    /// once and the request is tried again.
    pub fn send(
        &mut self,
        what: &str,
        build: impl Fn(&Client, &str) -> RequestBuilder,
        retry_429: impl Fn(&Answer) -> bool,
    ) -> Result<Answer, SourceError> {
        let mut last = String::new();
        let mut renew = false;
        let mut renewed_after_401 = false;
        for attempt in 0..ATTEMPTS {
            // The slot first: a token checked before a long wait could
            // expire during it.
            self.limiter.wait();
            let token = self.token(std::mem::take(&mut renew))?;
            let wait = match build(&self.client, &token).send() {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let headers = resp.headers().clone();
                    self.limiter.observe((self.rate)(&headers));
                    if self.server_time.is_none() {
                        self.server_time = headers
                            .get("date")
                            .and_then(|v| v.to_str().ok())
                            .and_then(|d| {
                                jiff::fmt::rfc2822::DateTimeParser::new()
                                    .parse_timestamp(d)
                                    .ok()
                            });
                    }
                    match resp.bytes() {
                        Ok(body) => {
                            let answer = Answer {
                                status,
                                headers,
                                body: body.to_vec(),
                            };
                            let oauth = matches!(self.auth, Auth::OAuth(_));
                            let retry = match status {
                                429 => retry_429(&answer),
                                500..=599 => true,
                                401 if oauth && !renewed_after_401 => {
                                    renew = true;
                                    renewed_after_401 = true;
                                    true
                                }
                                _ => false,
                            };
                            if !retry {
                                return Ok(answer);
                            }
                            last = format!("HTTP {status}");
                            if renew {
                                Some(Duration::ZERO)
                            } else {
                                retry_after(&answer.headers)
                            }
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
        assert_eq!(l.gap(), Duration::from_millis(206));
        let rate = |max, ms, remaining| Rate {
            max: Some(max),
            interval: Some(Duration::from_millis(ms)),
            remaining: Some(remaining),
        };
        l.observe(rate(100, 10_000, 40));
        assert_eq!(l.gap(), Duration::from_micros(103_000));
        l.set_floor(Duration::from_millis(200));
        assert_eq!(l.gap(), Duration::from_millis(206));
        l.set_floor(Duration::ZERO);
        let before = Instant::now();
        l.observe(rate(100, 50, 0));
        assert!(l.next >= before + Duration::from_millis(50));
        // A header cannot impose more than a minute between requests.
        l.observe(rate(1, u32::MAX.into(), 5));
        assert_eq!(l.gap(), Duration::from_secs(60).mul_f64(MARGIN));
    }

    #[test]
    fn a_token_goes_in_clear_only_to_this_machine() {
        let base = |u| base_url("crm", Some(u), "https://api.example.com");
        assert_eq!(
            base_url("crm", None, "https://api.example.com"),
            Ok("https://api.example.com".to_string())
        );
        assert_eq!(
            base("https://api-eu1.hubapi.com/"),
            Ok("https://api-eu1.hubapi.com".into())
        );
        for ok in [
            "http://127.0.0.1:8080",
            "http://localhost:9/x",
            "http://[::1]:80",
        ] {
            assert!(base(ok).is_ok(), "{ok}");
        }
        for refused in [
            "http://api.hubapi.com",
            "http://10.0.0.1",
            "ftp://localhost",
            "api.hubapi.com",
        ] {
            let e = base(refused).expect_err(refused);
            assert!(
                e.message.contains(refused) || e.message.contains("not a URL"),
                "{e:?}"
            );
        }
    }

    #[test]
    fn an_http_date_is_read_as_the_server_clock() {
        let t = jiff::fmt::rfc2822::DateTimeParser::new()
            .parse_timestamp("Wed, 02 Dec 2026 06:17:09 GMT")
            .expect("IMF-fixdate");
        assert_eq!(t.to_string(), "2026-12-02T06:17:09Z");
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
