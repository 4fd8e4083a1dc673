//! The HubSpot stand-in of the tests (`tests/fake/hubspot.rs`) as a server,
//! for the fetch benchmark (`benches/hubspot.sh`): Acme's contacts repeated
//! up to `--contacts`, in an account allowing `--per-second` requests a
//! second (enforced with 429s; the search's own 5 a second too). Prints its
//! base URL and serves until killed.
//!
//! `cargo run --release --example hubspot-fake -- --contacts 200000 --per-second 100`

use std::io::Write as _;
use std::sync::{Arc, Mutex};

#[path = "../tests/fake/hubspot.rs"]
mod fake;
#[path = "../tests/fake/http.rs"]
mod http;

fn main() {
    let mut contacts = 200_000usize;
    let mut per_second = 100usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let value = args.next().and_then(|v| v.parse().ok());
        match (a.as_str(), value) {
            ("--contacts", Some(n)) => contacts = n,
            ("--per-second", Some(n)) => per_second = n,
            _ => {
                let _ = writeln!(
                    std::io::stderr(),
                    "usage: hubspot-fake [--contacts N] [--per-second N]"
                );
                std::process::exit(2);
            }
        }
    }
    let hub = fake::acme(contacts, per_second);
    let base = fake::serve(Arc::new(Mutex::new(hub)));
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{base}");
    let _ = out.flush();
    loop {
        std::thread::park();
    }
}
