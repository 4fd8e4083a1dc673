//! HTTP/1.1 as the loopback stand-ins for vendors' APIs read it (the
//! tests' and the benchmarks' fakes share it).
#![allow(dead_code)] // each user takes a subset

/// One HTTP/1.1 request as the loopback stand-ins read it.
pub struct Request {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path and query.
    pub target: String,
    /// The `Authorization` header.
    pub auth: String,
    /// Every header, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body as JSON (`null` when there is none or it is not JSON).
    pub body: serde_json::Value,
    /// The body as text.
    pub text: String,
}

impl Request {
    /// The body as a form (`a=1&b=2`), decoded.
    pub fn form(&self) -> Vec<(String, String)> {
        split_target(&format!("?{}", self.text)).1
    }

    /// A header's value (`name` in lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads a request from a connection: the request line, the headers that
/// matter, the body by its `Content-Length`. `None` when the peer hung up.
pub fn read_request(stream: &std::net::TcpStream) -> Option<Request> {
    use std::io::{BufRead, BufReader, Read};
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next().unwrap_or("").to_string();
    let (mut length, mut auth, mut headers) = (0usize, String::new(), Vec::new());
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
            break;
        }
        let (k, v) = h.split_once(':').unwrap_or(("", ""));
        headers.push((k.to_ascii_lowercase(), v.trim().to_string()));
        match k.to_ascii_lowercase().as_str() {
            "content-length" => length = v.trim().parse().unwrap_or(0),
            "authorization" => auth = v.trim().to_string(),
            _ => {}
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    Some(Request {
        method,
        target,
        auth,
        headers,
        text: String::from_utf8_lossy(&body).into_owned(),
        body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
    })
}

/// `%2C` and `+` decoded.
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A request target as its path and decoded query.
pub fn split_target(target: &str) -> (String, Vec<(String, String)>) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect();
    (path.to_string(), query)
}

/// How an answer is spoiled on its way out (a fault).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spoil {
    /// Sent as it is.
    None,
    /// Sent after this many milliseconds.
    Slow(u64),
    /// Half the body, though its length says all.
    CutOff,
    /// Half the body and a brace: not JSON.
    Malformed,
}

/// An answer: status, extra header lines (each ending in CRLF), JSON body.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: String,
    pub body: serde_json::Value,
    pub spoil: Spoil,
}

impl Reply {
    /// A plain JSON answer.
    pub fn json(status: u16, body: serde_json::Value) -> Reply {
        Reply {
            status,
            headers: String::new(),
            body,
            spoil: Spoil::None,
        }
    }
}

/// Serves on `addr` (`127.0.0.1:0` for any port) until the process ends,
/// each connection on its own thread, one request each; returns the base URL.
pub fn listen(addr: &str, handler: impl Fn(Request) -> Reply + Send + Sync + 'static) -> String {
    use std::io::Write;
    let listener = std::net::TcpListener::bind(addr).expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let handler = std::sync::Arc::new(handler);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let handler = std::sync::Arc::clone(&handler);
            std::thread::spawn(move || {
                let Some(request) = read_request(&stream) else {
                    return;
                };
                let reply = handler(request);
                let mut text = reply.body.to_string();
                let mut declared = text.len();
                match reply.spoil {
                    Spoil::None => {}
                    Spoil::Slow(ms) => std::thread::sleep(std::time::Duration::from_millis(ms)),
                    Spoil::Malformed => {
                        text = text[..text.len() / 2].to_string() + "}";
                        declared = text.len();
                    }
                    Spoil::CutOff => text.truncate(text.len() / 2),
                }
                let _ = write!(
                    stream,
                    "HTTP/1.1 {} X\r\nContent-Type: application/json\r\n{}Content-Length: {declared}\r\nConnection: close\r\n\r\n{text}",
                    reply.status, reply.headers
                );
                let _ = stream.flush();
            });
        }
    });
    base
}
