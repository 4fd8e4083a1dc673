//! Generates the Acme Analytics CRM export (`examples/acme/data/leads.csv` and
//! `deals.csv`): deterministic for a seed, seasonal, with segments, sources,
//! owners, recycled and disqualified leads, demo requests that skip MQL and
//! SAL, leads touched before they became MQLs, leads never touched, missing
//! stage timestamps, and deals (new business from the funnel, expansion and
//! renewals from customer success). Tuned so the acme scorecard shows passes,
//! warnings and failures.
//!
//! ```text
//! cargo run --release --example gen-acme -- --seed 7 --leads 48000 --out examples/acme/data
//! ```
//!
//! Options: `--seed N` (7), `--leads N` (48000, spread over the months),
//! `--start YYYY-MM` (2025-03), `--months N` (20), `--out DIR`
//! (examples/acme/data). Events after the end of the last month are not in
//! the export, as in a real one taken then.
#![allow(
    clippy::print_stderr,
    clippy::field_reassign_with_default,
    missing_docs
)]

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use jiff::civil::Date;
use jiff::tz::TimeZone;

const H: f64 = 3600.0;
const D: f64 = 86_400.0;

struct Opts {
    seed: u64,
    leads: u64,
    start: Date,
    months: i32,
    out: PathBuf,
}

fn opts() -> Result<Opts, String> {
    let mut o = Opts {
        seed: 7,
        leads: 48_000,
        start: Date::new(2025, 3, 1).map_err(|e| e.to_string())?,
        months: 20,
        out: PathBuf::from("examples/acme/data"),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut v = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--seed" => o.seed = v()?.parse().map_err(|_| "--seed: not a number")?,
            "--leads" => o.leads = v()?.parse().map_err(|_| "--leads: not a number")?,
            "--months" => o.months = v()?.parse().map_err(|_| "--months: not a number")?,
            "--start" => {
                o.start = format!("{}-01", v()?)
                    .parse()
                    .map_err(|_| "--start: write YYYY-MM")?
            }
            "--out" => o.out = PathBuf::from(v()?),
            "-h" | "--help" => {
                return Err(
                    "usage: gen-acme [--seed N] [--leads N] [--start YYYY-MM] [--months N] [--out DIR]"
                        .into(),
                );
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(o)
}

struct Gen {
    rng: fastrand::Rng,
}

impl Gen {
    fn f(&mut self) -> f64 {
        self.rng.f64()
    }
    fn chance(&mut self, p: f64) -> bool {
        self.rng.f64() < p
    }
    fn normal(&mut self) -> f64 {
        // Box-Muller.
        let u1 = self.rng.f64().max(1e-12);
        let u2 = self.rng.f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
    /// A log-normal value with the given median and spread.
    fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }
    fn pick<'a>(&mut self, items: &[(&'a str, f64)]) -> &'a str {
        let total: f64 = items.iter().map(|i| i.1).sum();
        let mut x = self.rng.f64() * total;
        for (name, w) in items {
            if x < *w {
                return name;
            }
            x -= w;
        }
        items[items.len() - 1].0
    }
    fn int(&mut self, lo: i64, hi: i64) -> i64 {
        self.rng.i64(lo..=hi)
    }
}

fn ts(t: f64) -> String {
    jiff::Timestamp::from_second(t.floor() as i64)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

const SDRS: [&str; 8] = [
    "amara.diallo",
    "ben.ortiz",
    "chloe.nguyen",
    "dev.patel",
    "elena.rossi",
    "farid.haddad",
    "grace.kim",
    "hugo.martin",
];
const AES: [&str; 6] = [
    "ines.costa",
    "jack.turner",
    "keiko.sato",
    "liam.walsh",
    "maya.cohen",
    "noah.fischer",
];
const CSMS: [&str; 3] = ["olivia.brown", "pablo.reyes", "quinn.harper"];
const RECYCLE: [&str; 6] = [
    "bad-timing",
    "no-budget",
    "no-authority",
    "no-response",
    "existing-contract",
    "not-ready",
];
const DISQUALIFY: [&str; 7] = [
    "competitor",
    "student",
    "job-seeker",
    "spam",
    "duplicate",
    "out-of-territory",
    "too-small",
];
const COUNTRIES: [(&str, f64); 10] = [
    ("US", 55.0),
    ("CA", 8.0),
    ("GB", 10.0),
    ("DE", 7.0),
    ("NL", 3.0),
    ("FR", 4.0),
    ("AU", 4.0),
    ("IE", 2.0),
    ("IN", 4.0),
    ("BR", 3.0),
];

/// Demand by calendar month (January first): a December dip, a summer lull,
/// autumn and spring peaks.
const SEASON: [f64; 12] = [
    0.92, 1.0, 1.06, 1.02, 1.0, 0.94, 0.84, 0.86, 1.06, 1.1, 1.02, 0.8,
];

fn main() {
    let o = match opts() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("gen-acme: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(&o) {
        eprintln!("gen-acme: {e}");
        std::process::exit(1);
    }
}

fn run(o: &Opts) -> std::io::Result<()> {
    std::fs::create_dir_all(&o.out)?;
    let mut leads = BufWriter::with_capacity(1 << 20, File::create(o.out.join("leads.csv"))?);
    let mut deals = BufWriter::with_capacity(1 << 20, File::create(o.out.join("deals.csv"))?);
    writeln!(
        leads,
        "id,created_at,lead_at,mql_at,sal_at,sql_at,opportunity_at,customer_at,first_touch_at,\
         email,email_type,country,segment,employees,score,source,status,owner_team,owner,\
         routed_owner,sdr_owner,recycle_reason,disqualify_reason,bant_score,meeting_booked,\
         opportunity_id,amount,closed_won"
    )?;
    writeln!(
        deals,
        "id,lead_id,type,segment,owner,created_at,closed_at,amount,currency,won,stage"
    )?;
    let ny = TimeZone::get("America/New_York").map_err(std::io::Error::other)?;
    let mut g = Gen {
        rng: fastrand::Rng::with_seed(o.seed),
    };
    let month_start = |i: i32| -> f64 {
        let d = o
            .start
            .checked_add(jiff::Span::new().months(i))
            .unwrap_or(o.start);
        d.to_zoned(ny.clone())
            .map(|z| z.timestamp().as_second() as f64)
            .unwrap_or(0.0)
    };
    let end = month_start(o.months);
    let weights: Vec<f64> = (0..o.months)
        .map(|i| {
            let m = o
                .start
                .checked_add(jiff::Span::new().months(i))
                .unwrap_or(o.start)
                .month();
            SEASON[(m - 1) as usize] * (1.0 + 0.012 * i as f64)
        })
        .collect();
    let total_w: f64 = weights.iter().sum();
    let mut lead_no = 0u64;
    let mut deal_no = 0u64;
    let scale = o.leads as f64 / 48_000.0;
    let mut line = String::with_capacity(512);
    for (mi, w) in weights.iter().enumerate() {
        let (m0, m1) = (month_start(mi as i32), month_start(mi as i32 + 1));
        let month = o
            .start
            .checked_add(jiff::Span::new().months(mi as i32))
            .unwrap_or(o.start)
            .month();
        let summer = matches!(month, 7 | 8);
        let n = (o.leads as f64 * w / total_w).round() as u64;
        for _ in 0..n {
            lead_no += 1;
            let id = format!("L{lead_no:07}");
            // Created: more during the (US) working day.
            let day = m0 + ((m1 - m0) / D * g.f()).floor() * D;
            let hour = if g.chance(0.75) {
                13.0 + g.f() * 10.0
            } else {
                g.f() * 24.0
            };
            let created = day + hour * H + g.f() * H;
            let segment = g.pick(&[("smb", 55.0), ("mid-market", 30.0), ("enterprise", 15.0)]);
            let source = g.pick(&[
                ("organic", 30.0),
                ("paid-search", 20.0),
                ("content", 20.0),
                ("events", 10.0),
                ("list-import", 13.5),
                ("referral", 5.0),
                ("demo-request", 1.5),
            ]);
            let employees = match segment {
                "smb" => g.int(2, 199),
                "mid-market" => g.int(200, 999),
                _ => g.int(1000, 20000),
            };
            let country = g.pick(&COUNTRIES);
            let personal = g.chance(0.15);
            let mut r = Row::default();
            r.id = id.clone();
            r.created = Some(created);
            // A few list imports lost their lead date in the CRM migration.
            r.lead = if source == "list-import" && g.chance(0.05) {
                None
            } else {
                Some(created)
            };
            r.email = format!(
                "{}@{}",
                lead_no,
                if personal {
                    "gmail.example"
                } else {
                    "corp.example"
                }
            );
            r.email_type = if personal { "personal" } else { "business" }.into();
            r.country = country.into();
            r.segment = if g.chance(0.004) {
                String::new()
            } else {
                segment.into()
            };
            r.employees = employees.to_string();
            r.source = source.into();
            r.status = "open".into();
            r.owner_team = "marketing".into();
            let eligible = !personal
                && !matches!(country, "IN" | "BR")
                && (segment != "smb" || employees >= 10);
            let p_mql = match segment {
                "smb" => 0.26,
                "mid-market" => 0.42,
                _ => 0.47,
            } * if summer { 0.93 } else { 1.0 };
            let is_demo = source == "demo-request";
            let mql = !is_demo && eligible && g.chance(p_mql);
            // Definition drift: a few records in MQL without the score for it.
            let drift = mql && g.chance(0.02);
            r.score = if mql && !drift {
                g.int(65, 100)
            } else {
                g.int(5, 64)
            }
            .to_string();
            let mut sql: Option<f64> = None;
            let mut sdr = SDRS[g.rng.usize(..SDRS.len())];
            if mql {
                let t_mql = created + g.lognormal(1.2 * D, 1.0).min(30.0 * D);
                r.mql = Some(t_mql);
                // The export shows each record's state at its end: what
                // happens later is drawn (to keep the sequence) but not set.
                let now = |t: f64| t < end;
                let routed = g.chance(0.994);
                if routed && now(t_mql) {
                    r.routed_owner = sdr.into();
                }
                // Speed to lead: slower in the summer lull; some never touched;
                // some were touched by outbound before they became MQLs.
                let median = if summer { 2.4 * H } else { 1.4 * H };
                if g.chance(0.03) {
                    r.first_touch = Some(t_mql - g.f() * 5.0 * D);
                } else if g.chance(0.975) {
                    r.first_touch = Some(t_mql + g.lognormal(median, 1.3));
                }
                if now(t_mql) {
                    r.owner = sdr.into();
                }
                if g.chance(if summer { 0.74 } else { 0.79 }) {
                    let t_sal = t_mql + g.lognormal(5.0 * H, 1.05).min(20.0 * D);
                    r.sal = Some(t_sal);
                    if now(t_sal) {
                        r.status = "accepted".into();
                        r.sdr_owner = sdr.into();
                        r.owner_team = "sdr".into();
                    }
                    if g.chance(0.2) {
                        sql = Some(t_sal + g.lognormal(11.0 * D, 0.8).min(120.0 * D));
                    } else if g.chance(0.35) {
                        let reason = pick_reason(&mut g, &RECYCLE, 0.965);
                        if now(t_sal) {
                            r.status = "recycled".into();
                            r.recycle_reason = reason;
                        }
                    }
                } else if drift {
                    // SDRs leave the MQLs below the scoring bar unworked: they
                    // sit in MQL without meeting its criteria. (Same draws as
                    // a rejection, to keep the rest of the data as it was.)
                    if g.chance(0.55) {
                        pick_reason(&mut g, &RECYCLE, 0.965);
                    } else {
                        pick_reason(&mut g, &DISQUALIFY, 0.965);
                    }
                } else if g.chance(0.55) {
                    let reason = pick_reason(&mut g, &RECYCLE, 0.965);
                    if now(t_mql) {
                        r.status = "recycled".into();
                        r.recycle_reason = reason;
                    }
                } else {
                    let reason = pick_reason(&mut g, &DISQUALIFY, 0.965);
                    if now(t_mql) {
                        r.status = "disqualified".into();
                        r.disqualify_reason = reason;
                    }
                }
            } else if is_demo && g.chance(0.7) {
                // Demo requests skip MQL and SAL: straight to an AE.
                sql = Some(created + g.lognormal(10.0 * 60.0, 1.0));
                sdr = AES[g.rng.usize(..AES.len())];
                r.routed_owner = sdr.into();
                if g.chance(0.93) {
                    r.first_touch = Some(created + g.lognormal(20.0 * 60.0, 0.9));
                }
            } else if eligible && g.chance(0.04) {
                r.status = "disqualified".into();
                r.disqualify_reason = pick_reason(&mut g, &DISQUALIFY, 0.9);
            }
            if let Some(t_sql) = sql {
                r.sql = Some(t_sql);
                let ae = AES[g.rng.usize(..AES.len())];
                let bant = g.int(3, 4).to_string();
                if t_sql < end {
                    r.owner = ae.into();
                    r.owner_team = "sales".into();
                    r.status = "qualified".into();
                    r.bant_score = bant;
                    r.meeting_booked = "true".into();
                }
                if g.chance(if summer { 0.57 } else { 0.63 }) {
                    let t_opp = t_sql + g.lognormal(6.0 * D, 0.7).min(60.0 * D);
                    r.opportunity = Some(t_opp);
                    deal_no += 1;
                    let deal_id = format!("D{deal_no:06}");
                    let deal_seg = if segment.is_empty() { "smb" } else { segment };
                    let amount = (match deal_seg {
                        "smb" => g.lognormal(6_000.0, 0.5),
                        "mid-market" => g.lognormal(19_000.0, 0.5),
                        _ => g.lognormal(48_000.0, 0.6),
                    } / 100.0)
                        .round()
                        * 100.0;
                    r.opportunity_id = deal_id.clone();
                    r.amount = format!("{amount:.2}");
                    if t_opp < end {
                        r.status = "opportunity".into();
                    }
                    let p_win = if deal_seg == "smb" { 0.34 } else { 0.27 };
                    let t_close = t_opp + g.lognormal(55.0 * D, 0.45);
                    let won = g.chance(p_win);
                    let closed = t_close < end;
                    if closed && won {
                        r.customer = Some(t_close);
                        r.closed_won = "true".into();
                        r.status = "customer".into();
                    }
                    if t_opp < end {
                        deal_row(
                            &mut line,
                            &deal_id,
                            &id,
                            "new-business",
                            deal_seg,
                            ae,
                            t_opp,
                            closed.then_some(t_close),
                            amount,
                            won,
                        );
                        deals.write_all(line.as_bytes())?;
                    }
                } else if g.chance(0.15) {
                    let reason = pick_reason(&mut g, &RECYCLE, 0.96);
                    if t_sql < end {
                        r.status = "recycled".into();
                        r.recycle_reason = reason;
                    }
                }
            }
            r.write(&mut line, end);
            leads.write_all(line.as_bytes())?;
        }
        // Customer success: expansion and renewal deals on existing accounts.
        let expansions = (32.0 / 3.0 * scale * SEASON[(month - 1) as usize]).round() as u64;
        for k in 0..expansions + (expansions / 3) {
            deal_no += 1;
            let renewal = k >= expansions;
            let created = m0 + g.f() * (m1 - m0);
            let t_close = created + g.lognormal(35.0 * D, 0.5);
            let closed = t_close < end;
            let amount = (g.lognormal(if renewal { 60_000.0 } else { 28_000.0 }, 0.55) / 100.0)
                .round()
                * 100.0;
            let won = g.chance(if renewal { 0.9 } else { 0.8 });
            deal_row(
                &mut line,
                &format!("D{deal_no:06}"),
                "",
                if renewal { "renewal" } else { "expansion" },
                g.pick(&[("mid-market", 60.0), ("enterprise", 40.0)]),
                CSMS[g.rng.usize(..CSMS.len())],
                created,
                closed.then_some(t_close),
                amount,
                won,
            );
            deals.write_all(line.as_bytes())?;
        }
    }
    leads.flush()?;
    deals.flush()?;
    eprintln!(
        "gen-acme: {lead_no} leads and {deal_no} deals in {}",
        o.out.display()
    );
    Ok(())
}

fn pick_reason(g: &mut Gen, reasons: &[&str], p_given: f64) -> String {
    if g.chance(p_given) {
        reasons[g.rng.usize(..reasons.len())].to_string()
    } else {
        String::new()
    }
}

#[allow(clippy::too_many_arguments)]
fn deal_row(
    line: &mut String,
    id: &str,
    lead: &str,
    kind: &str,
    segment: &str,
    owner: &str,
    created: f64,
    closed: Option<f64>,
    amount: f64,
    won: bool,
) {
    line.clear();
    let (closed_at, won, stage) = match closed {
        Some(t) => (
            ts(t),
            if won { "true" } else { "false" },
            if won { "closedwon" } else { "closedlost" },
        ),
        None => (String::new(), "", "negotiation"),
    };
    line.push_str(&format!(
        "{id},{lead},{kind},{segment},{owner},{},{closed_at},{amount:.2},USD,{won},{stage}\n",
        ts(created)
    ));
}

#[derive(Default)]
struct Row {
    id: String,
    created: Option<f64>,
    lead: Option<f64>,
    mql: Option<f64>,
    sal: Option<f64>,
    sql: Option<f64>,
    opportunity: Option<f64>,
    customer: Option<f64>,
    first_touch: Option<f64>,
    email: String,
    email_type: String,
    country: String,
    segment: String,
    employees: String,
    score: String,
    source: String,
    status: String,
    owner_team: String,
    owner: String,
    routed_owner: String,
    sdr_owner: String,
    recycle_reason: String,
    disqualify_reason: String,
    bant_score: String,
    meeting_booked: String,
    opportunity_id: String,
    amount: String,
    closed_won: String,
}

impl Row {
    /// The CSV line; events after the export's end are not in it yet.
    fn write(&self, line: &mut String, end: f64) {
        line.clear();
        let t = |v: Option<f64>| v.filter(|t| *t < end).map(ts).unwrap_or_default();
        let future = |v: Option<f64>| v.is_some_and(|t| t >= end);
        // Fields that only exist once a stage is reached are blank before it.
        let (opp_id, amount) = if self.opportunity.is_some() && !future(self.opportunity) {
            (self.opportunity_id.as_str(), self.amount.as_str())
        } else {
            ("", "")
        };
        let cells = [
            self.id.clone(),
            t(self.created),
            t(self.lead),
            t(self.mql),
            t(self.sal),
            t(self.sql),
            t(self.opportunity),
            t(self.customer),
            t(self.first_touch),
            self.email.clone(),
            self.email_type.clone(),
            self.country.clone(),
            self.segment.clone(),
            self.employees.clone(),
            self.score.clone(),
            self.source.clone(),
            self.status.clone(),
            self.owner_team.clone(),
            self.owner.clone(),
            self.routed_owner.clone(),
            self.sdr_owner.clone(),
            self.recycle_reason.clone(),
            self.disqualify_reason.clone(),
            self.bant_score.clone(),
            self.meeting_booked.clone(),
            opp_id.to_string(),
            amount.to_string(),
            if future(self.customer) {
                String::new()
            } else {
                self.closed_won.clone()
            },
        ];
        line.push_str(&cells.join(","));
        line.push('\n');
    }
}
