//! `revalign report`: the meeting pack over the Acme data in a real git
//! repository, as HTML and markdown; the HTML rendered in headless Chromium
//! (required in CI: `REVALIGN_REQUIRE_CHROMIUM=1`).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{acme_repo, change, run_in};

/// Acme committed on 2026-06-10 with mql-delivery at `>= 600` (warn `>= 660`),
/// raised to `>= 700` (warn `>= 760`) on 2026-09-15.
fn raised() -> tempfile::TempDir {
    let tmp = acme_repo();
    change(
        tmp.path(),
        "sla.toml",
        "target = \">= 600\"\nwarn = \">= 660\"",
        "target = \">= 700\"\nwarn = \">= 760\"",
        "2026-09-15T12:00:00Z",
        "Raise the MQL target (#12)",
    );
    tmp
}

const REPORT: [&str; 7] = [
    "report",
    "alignment",
    "--as-of",
    "2026-11-01",
    "--period",
    "2026-10",
    "--periods",
];

fn report(dir: &Path, out: &str) -> (i32, String, String) {
    let mut args = REPORT.to_vec();
    args.extend(["6", "--out", out]);
    run_in(dir, &args)
}

/// The `d` attribute of the first `<path class="{class}"` inside the figure of `id`.
fn figure_path(html: &str, id: &str, class: &str) -> String {
    let start = html
        .find(&format!("<figure id=\"{id}\""))
        .unwrap_or_else(|| panic!("no figure {id}"));
    let fig = &html[start..start + html[start..].find("</figure>").expect("end")];
    let at = fig
        .find(&format!("<path class=\"{class}\" d=\""))
        .unwrap_or_else(|| panic!("no {class} path in {fig}"));
    let rest = &fig[at + class.len() + 18..];
    rest[..rest.find('"').expect("quote")].to_string()
}

#[test]
fn the_html_pack() {
    let tmp = raised();
    let dir = tmp.path();
    let (code, stdout, stderr) = report(dir, "report.html");
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.is_empty(), "nothing on stdout with --out: {stdout}");
    assert!(
        stderr.starts_with("wrote report.html (21 targets over 6 periods, 2 SLA breaches)"),
        "{stderr}"
    );
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report");

    // Self-contained: nothing to fetch, no script.
    for needle in [
        "src=", "href=", "url(", "@import", "<script", "<link", "<img",
    ] {
        assert!(!html.contains(needle), "the report holds `{needle}`");
    }
    assert!(html.starts_with("<!DOCTYPE html>\n<!-- revalign:report -->"));
    // A chart per goal and commitment (21 in Acme).
    assert_eq!(html.matches("<svg class=\"chart\"").count(), 21);

    // mql-delivery over June to October (May ended before the first commit):
    // actuals 630, 564, 585, 701, 755; targets 600 then 700; warn 660 then
    // 760. The scale: 564 to 760 in about four steps is a step of 50, from
    // 550 to 800, over 148 px from y = 12: v sits at 12 + 148 * (800 - v) / 250,
    // so 600 at 130.4 and 700 at 71.2. Five columns of 92.8 px from x = 86;
    // the target raised on 2026-09-15 steps at the August/September
    // boundary, x = 86 + 3 * 92.8 = 364.4.
    let target = figure_path(&html, "commitment-mql-delivery", "target");
    assert_eq!(
        target,
        "M86 130.4 L178.8 130.4 L178.8 130.4 L271.6 130.4 L271.6 130.4 L364.4 130.4 L364.4 71.2 L457.2 71.2 L457.2 71.2 L550 71.2"
    );
    // The actuals: 630 at the first column's centre, x = 132.4, y = 112.6.
    let actual = figure_path(&html, "commitment-mql-delivery", "actual");
    assert!(actual.starts_with("M132.4 112.6 L225.2 "), "{actual}");
    assert!(html.contains("<title>2026-06: 630 (warn, target &gt;= 600)</title>"));
    assert!(html.contains("<title>2026-09: 701 (warn, target &gt;= 700)</title>"));
    assert!(
        html.contains("<code>c1473b3 2026-09-15 Raise the MQL target (#12) (Priya Raman)"),
        "the commits that set the targets: {html}"
    );

    // The scorecard's previous and current period, the changes since the
    // last meeting (one week: none), the breaches with their records, drift.
    for section in [
        "id=\"scorecard\"",
        "id=\"trends\"",
        "id=\"changes\"",
        "id=\"breaches\"",
        "id=\"drift\"",
    ] {
        assert!(html.contains(section), "{section}");
    }
    assert!(html.contains("What changed in the agreement since 2026-10-25"));
    assert!(html.contains("No commit changed the agreement."));
    // October's missed commitments (as `check --period 2026-10` shows):
    // sales-recycle-reasons (80%) and demo-request-response's last closed
    // week; each lists the records not counted.
    assert!(
        html.contains(
            "<code>sales-recycle-reasons</code> in 2026-10: 80.00% against <code>&gt;= 95%</code>"
        ),
        "{html}"
    );
    let breach = &html[html
        .find("<code>sales-recycle-reasons</code> in 2026-10")
        .expect("breach")..];
    let table = &breach[..breach.find("</table>").expect("table")];
    assert!(table.matches("<tr><td><code>").count() >= 1, "{table}");

    // Rendered by Chromium: the charts draw, the CSS applies, nothing is fetched.
    if let Some(chromium) = chromium() {
        rendered_in_chromium(&chromium, dir, &html);
    }
}

#[test]
fn the_markdown_pack_and_what_it_will_not_overwrite() {
    let tmp = raised();
    let dir = tmp.path();
    // A week's changes: the raise, with --since.
    let mut args = REPORT.to_vec();
    args.extend(["3", "--since", "2026-09-01"]);
    let (code, md, stderr) = run_in(dir, &args);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        md.starts_with("<!-- revalign:report -->\n# Acme Analytics: sales and marketing review")
    );
    assert!(
        md.contains("| month | 2026-08 | 2026-09 | 2026-10 |"),
        "{md}"
    );
    assert!(md.contains("| commitment `mql-delivery` | ❌ fail 585 (`>= 600`) | ⚠️ warn 701 (`>= 700`) | ⚠️ warn 755 (`>= 700`) |"), "{md}");
    assert!(
        md.contains("## What changed in the agreement since 2026-09-01"),
        "{md}"
    );
    assert!(
        md.contains(
            "- `c1473b3` Raise the MQL target (#12) (Priya Raman, 2026-09-15T12:00:00+00:00)"
        ),
        "{md}"
    );
    assert!(
        md.contains("commitment `mql-delivery`: target: >= 600 → >= 700"),
        "{md}"
    );
    assert!(md.contains("## SLA breaches"), "{md}");

    // --out: a file revalign did not write is left alone (exit 2) ...
    std::fs::write(dir.join("notes.md"), "my meeting notes\n").expect("write");
    let (code, _, stderr) = report(dir, "notes.md");
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("exists and is not a report revalign wrote"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.md")).expect("read"),
        "my meeting notes\n"
    );
    // ... and its own report is replaced; `.md` writes markdown.
    let (code, _, stderr) = report(dir, "pack.md");
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = report(dir, "pack.md");
    assert_eq!(code, 0, "{stderr}");
    let text = std::fs::read_to_string(dir.join("pack.md")).expect("read");
    assert!(text.starts_with("<!-- revalign:report -->\n# "));
    assert!(!dir.join(".pack.md.revalign-tmp").exists());

    // --todays-targets: August judged by today's >= 700.
    let mut args = REPORT.to_vec();
    args.extend(["3", "--todays-targets"]);
    let (code, md, stderr) = run_in(dir, &args);
    assert_eq!(code, 0, "{stderr}");
    assert!(md.contains("Every period is judged by today's targets (--todays-targets)."));
    assert!(
        md.contains("| commitment `mql-delivery` | ❌ fail 585 (`>= 700`) |"),
        "{md}"
    );
}

#[test]
fn outside_git_the_targets_are_todays_and_it_says_so() {
    let tmp = raised();
    let plain = tempfile::tempdir().expect("tempdir");
    common::copy_alignment(
        &tmp.path().join("alignment"),
        &plain.path().join("alignment"),
    );
    let mut args = REPORT.to_vec();
    args.push("3");
    let (code, md, stderr) = run_in(plain.path(), &args);
    assert_eq!(code, 0, "{stderr}");
    assert!(md.contains("Targets are today's: the alignment is not in a git repository"));
    assert!(md.contains("is not in a git repository: no history of the agreement to show"));
    // Today's >= 700 judges August too.
    assert!(
        md.contains("| commitment `mql-delivery` | ❌ fail 585 (`>= 700`) |"),
        "{md}"
    );
}

/// Debian's chromium, if installed; required when REVALIGN_REQUIRE_CHROMIUM is set (CI).
#[allow(clippy::print_stderr)] // says why the rendering check is skipped
fn chromium() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|p| p.join(name))
                    .find(|p| p.is_file())
            })
        });
    if found.is_none() && std::env::var_os("REVALIGN_REQUIRE_CHROMIUM").is_some() {
        panic!(
            "REVALIGN_REQUIRE_CHROMIUM is set but chromium is not on PATH: apt-get install chromium"
        );
    }
    if found.is_none() {
        eprintln!(
            "chromium not found: the rendering check is skipped (apt-get install chromium; CI requires it)"
        );
    }
    found
}

/// Loads a copy of the report with a probe script appended, and reads back
/// what the browser laid out.
fn rendered_in_chromium(chromium: &Path, dir: &Path, html: &str) {
    const PROBE: &str = r#"<script>
const charts = [...document.querySelectorAll('svg.chart')];
const out = {
  charts: charts.length,
  drawn: charts.filter(s => { const r = s.getBoundingClientRect(); return r.width > 300 && r.height > 100; }).length,
  steps: [...document.querySelectorAll('svg.chart path.target')].filter(p => p.getTotalLength() > 100).length,
  points: document.querySelectorAll('svg.chart circle.point').length,
  overflow: document.documentElement.scrollWidth > window.innerWidth,
  fail_badge: getComputedStyle(document.querySelector('.badge.fail')).backgroundColor,
  fetched: performance.getEntriesByType('resource').length,
  title: document.title,
};
const pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = JSON.stringify(out);
document.body.appendChild(pre);
</script>"#;
    let probe = dir.join("probe.html");
    std::fs::write(&probe, html.replace("</body>", &format!("{PROBE}</body>"))).expect("probe");
    let profile = tempfile::tempdir().expect("profile");
    let flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,4000",
        "--virtual-time-budget=5000",
    ];
    let out = Command::new(chromium)
        .args(flags)
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", probe.display()))
        .output()
        .expect("run chromium");
    let dom = String::from_utf8_lossy(&out.stdout);
    let at = dom.find("<pre id=\"probe\">").unwrap_or_else(|| {
        panic!(
            "chromium did not run the probe: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let json = &dom[at + 16..];
    let json = json[..json.find("</pre>").expect("end")].replace("&quot;", "\"");
    let v: serde_json::Value = serde_json::from_str(&json).expect("probe JSON");
    assert_eq!(v["charts"], 21, "{v}");
    assert_eq!(
        v["drawn"], 21,
        "every chart laid out at a readable size: {v}"
    );
    assert!(
        v["steps"].as_u64().unwrap_or(0) >= 20,
        "target lines drawn: {v}"
    );
    assert!(v["points"].as_u64().unwrap_or(0) >= 80, "{v}");
    assert_eq!(
        v["overflow"], false,
        "no horizontal scrolling at 1280 px: {v}"
    );
    assert_eq!(
        v["fail_badge"], "rgb(207, 34, 46)",
        "the inline CSS applies: {v}"
    );
    assert_eq!(v["fetched"], 0, "nothing fetched: {v}");
    assert_eq!(v["title"], "Acme Analytics: sales and marketing review");

    // A screenshot for people (kept next to the report in the test's folder).
    let shot = dir.join("report.png");
    let status = Command::new(chromium)
        .args(flags)
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", dir.join("report.html").display()))
        .output()
        .expect("run chromium");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let png = std::fs::read(&shot).expect("screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 50_000,
        "a real screenshot"
    );
    if let Some(keep) = std::env::var_os("REVALIGN_KEEP_REPORT") {
        let keep = PathBuf::from(keep);
        let _ = std::fs::create_dir_all(&keep);
        let _ = std::fs::copy(&shot, keep.join("report.png"));
        let _ = std::fs::copy(dir.join("report.html"), keep.join("report.html"));
    }
}
