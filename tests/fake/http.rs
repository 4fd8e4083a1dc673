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
    /// The body as JSON (`null` when there is none or it is not JSON).
    pub body: serde_json::Value,
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
    let (mut length, mut auth) = (0usize, String::new());
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
            break;
        }
        let (k, v) = h.split_once(':').unwrap_or(("", ""));
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
        body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
    })
}
