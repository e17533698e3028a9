//! The HTML report in a real browser: Debian's Chromium, headless. It lays the page out at
//! 1280 px and reports, from inside the page, its width, the order of its parts, the charts'
//! rendered sizes and any script or resource error; a screenshot shows it painted.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

/// Chromium: `SPOTPLAN_CHROMIUM`, else `chromium` / `chromium-browser` / `google-chrome` on
/// the PATH. `None` (the test says it skipped) when there is none outside CI; `.ci/run`
/// installs Debian's `chromium` and sets SPOTPLAN_REQUIRE_E2E, so a missing browser fails there.
fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SPOTPLAN_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |d| d.join(name)))
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("SPOTPLAN_REQUIRE_E2E").is_none(),
            "SPOTPLAN_REQUIRE_E2E is set but no Chromium was found (apt-get install chromium)"
        );
        eprintln!("no Chromium found: the browser test of the HTML report was skipped");
    }
    found
}

/// Chromium headless with the flags this machine's closed network needs, a fresh profile.
fn headless(browser: &Path, profile: &Path, width: u32, height: u32) -> Command {
    let mut c = Command::new(browser);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .arg(format!("--window-size={width},{height}"));
    c
}

/// Records errors from the first line of the page on (scripts, failed resources,
/// `console.error`).
const COLLECT: &str = "<script>window.__errors=[];\
addEventListener('error',function(e){__errors.push(String(e.message||(e.target&&(e.target.src||e.target.href))||e))},true);\
addEventListener('unhandledrejection',function(e){__errors.push('rejection: '+e.reason)});\
(function(){var f=console.error;console.error=function(){__errors.push([].join.call(arguments,' '));f.apply(console,arguments)}})();</script>";

/// Measures the laid-out page and writes the result into it as JSON (dumped with the DOM).
const PROBE: &str = "<script>(function(){\
var d=document.documentElement,q=function(s){return document.querySelector(s)},top=function(s){var e=q(s);return e?e.getBoundingClientRect().top+scrollY:-1};\
var figs=[].map.call(document.querySelectorAll('figure svg'),function(s){var r=s.getBoundingClientRect();return [r.width,r.height]});\
var wide=[].filter.call(document.querySelectorAll('body *'),function(e){return e.getBoundingClientRect().right>d.clientWidth+1&&!e.closest('.scroll')}).map(function(e){return e.tagName+'#'+e.id+'.'+e.getAttribute('class')+': '+(e.textContent||'').slice(0,40)});\
var h=q('#headline'),hr=h?h.getBoundingClientRect():null;\
var bars=[].map.call(document.querySelectorAll('#bill-chart rect.part'),function(r){return [+r.getAttribute('y'),+r.getAttribute('width'),+r.getAttribute('data-usd')]});\
var totals=[].map.call(document.querySelectorAll('#bill-chart text.total'),function(t){return t.textContent});\
var changed=q('#deployments-table');\
var p=document.createElement('pre');p.id='probe';\
p.textContent=JSON.stringify({scroll_width:d.scrollWidth,client_width:d.clientWidth,errors:__errors,figures:figs,wide:wide.slice(0,5),\
backticks:document.body.textContent.split(String.fromCharCode(96)).length-1,\
headline:h?h.textContent:'',headline_bottom:hr?hr.bottom+scrollY:-1,\
changes:top('#deployments-table'),changed_rows:changed?changed.querySelectorAll('tr').length-1:0,\
more_changes:top('#more-changes'),bars:bars,totals:totals,\
candidates_open:q('#candidates-fold')?q('#candidates-fold').open:null,\
decision:top('#decision'),objectives:top('#objectives-table'),charts:top('#charts'),assumptions:top('#assumptions-table'),candidates:top('#candidates')});\
document.body.appendChild(p)})();</script>";

/// Renders `report` for `scenario` (extra `args`), lays the page out in Chromium at 1280 px
/// and returns the probe's findings, with the directory (removed by the caller).
fn probed(
    browser: &Path,
    name: &str,
    scenario: &Path,
    args: &[&str],
) -> (serde_json::Value, PathBuf) {
    let dir = std::env::temp_dir().join(format!("spotplan-browser-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = dir.join("report");
    let mut all = vec![
        "report",
        scenario.to_str().unwrap(),
        "-q",
        "--out",
        out.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    let o = spotplan(&all);
    assert!(o.status.success(), "{}", stderr(&o));
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    // citations are of public sources only, never of documents users do not have
    for private in ["domain file", "domain/", "§"] {
        assert!(!html.contains(private), "the page cites `{private}`");
    }
    let probe = html
        .replacen("<head>", &format!("<head>{COLLECT}"), 1)
        .replacen("</body>", &format!("{PROBE}</body>"), 1);
    let probe_file = out.join("probe.html");
    std::fs::write(&probe_file, probe).unwrap();
    let dom = headless(browser, &dir.join("profile-dom"), 1280, 800)
        .arg("--dump-dom")
        .arg(format!("file://{}", probe_file.display()))
        .output()
        .expect("chromium runs");
    assert!(dom.status.success(), "chromium: {}", stderr(&dom));
    let dom = stdout(&dom);
    let json = dom
        .split("<pre id=\"probe\">")
        .nth(1)
        .and_then(|s| s.split("</pre>").next())
        .unwrap_or_else(|| panic!("the probe did not run; the DOM was:\n{dom}"))
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">");
    (serde_json::from_str(&json).unwrap(), dir)
}

/// What every page must be: no errors, 1280 px wide without sideways scrolling, no literal
/// backtick, five charts at the page's width in 3:2; the decision on the first screen (1280 ×
/// 800: the headline with a money amount, and the deployments it changes when it changes
/// any); the parts in order, the candidates last and folded; the bill's bars to scale.
fn check_page(p: &serde_json::Value, changes: bool) {
    assert_eq!(
        p["errors"],
        serde_json::json!([]),
        "errors in the page: {p}"
    );
    assert_eq!(p["client_width"], 1280, "{p}");
    assert_eq!(p["backticks"], 0, "literal backticks on the page: {p}");
    assert!(
        p["scroll_width"].as_f64().unwrap() <= 1280.0,
        "the page scrolls sideways at 1280 px: {p}"
    );
    assert_eq!(
        p["wide"],
        serde_json::json!([]),
        "wider than the window: {p}"
    );
    let figures = p["figures"].as_array().unwrap();
    assert_eq!(figures.len(), 5, "five charts: {p}");
    for f in figures {
        let (w, h) = (f[0].as_f64().unwrap(), f[1].as_f64().unwrap());
        assert!(
            (900.0..=1280.0).contains(&w) && (h - w * 800.0 / 1200.0).abs() < 2.0,
            "a chart is laid out {w}×{h} px, not at the page's width in 3:2: {p}"
        );
    }
    let at = |k: &str| p[k].as_f64().unwrap();
    let headline = p["headline"].as_str().unwrap();
    assert!(
        headline.contains('$') && headline.contains(" a month"),
        "the headline names no money amount: {p}"
    );
    assert!(
        at("headline_bottom") < 800.0,
        "the headline is below the first screen: {p}"
    );
    if changes {
        assert!(
            0.0 < at("changes") && at("changes") < 800.0,
            "the deployments it changes start below the first screen: {p}"
        );
        let rows = p["changed_rows"].as_u64().unwrap();
        assert!((1..=10).contains(&rows), "{rows} changed rows shown: {p}");
    }
    assert!(
        0.0 < at("decision")
            && at("decision") < at("objectives")
            && at("objectives") < at("charts")
            && at("charts") < at("assumptions")
            && at("assumptions") < at("candidates"),
        "decision, objectives, charts, assumptions, candidates in that order: {p}"
    );
    assert_eq!(
        p["candidates_open"], false,
        "the candidates are folded: {p}"
    );
    // the bars: each part's width in proportion to its money, the same scale in every bar,
    // and each bar's total the sum of its parts
    let bars = p["bars"].as_array().unwrap();
    assert!(!bars.is_empty(), "no bill bars: {p}");
    let scale: Vec<f64> = bars
        .iter()
        .filter(|b| b[2].as_f64().unwrap() > 1.0)
        .map(|b| b[1].as_f64().unwrap() / b[2].as_f64().unwrap())
        .collect();
    for k in &scale {
        assert!(
            (k / scale[0] - 1.0).abs() < 1e-3,
            "bars drawn at different scales: {p}"
        );
    }
    let mut sums: Vec<(f64, f64)> = Vec::new();
    for b in bars {
        let (y, usd) = (b[0].as_f64().unwrap(), b[2].as_f64().unwrap());
        match sums.iter_mut().find(|s| s.0 == y) {
            Some(s) => s.1 += usd,
            None => sums.push((y, usd)),
        }
    }
    let totals = p["totals"].as_array().unwrap();
    assert_eq!(totals.len(), sums.len(), "{p}");
    for ((_, sum), t) in sums.iter().zip(totals) {
        let shown: f64 = t.as_str().unwrap().replace(['$', ','], "").parse().unwrap();
        assert!(
            (shown - sum).abs() <= 0.01 + 0.001 * sum,
            "a bar's total {t} is not the sum of its parts {sum}: {p}"
        );
    }
}

#[test]
fn the_report_is_a_page_for_a_decision_in_chromium() {
    let Some(browser) = chromium() else {
        return;
    };
    let shipped = root().join("scenarios/prefect3-hourly-etl.toml");
    let (p, dir) = probed(
        &browser,
        "hourly",
        &shipped,
        &["-n", "20", "--horizon", "3d"],
    );
    check_page(&p, true);
    let _ = std::fs::remove_dir_all(&dir);
    // a team of 6 deployments and a platform of 100 (the 100 show 10 changes, the rest folded)
    for (n, seed) in [(6, 3), (100, 1)] {
        let file = std::env::temp_dir().join(format!(
            "spotplan-browser-{}-platform-{n}.toml",
            std::process::id()
        ));
        std::fs::write(&file, spotplan::scenario::generate::platform(n, seed)).unwrap();
        let (p, dir) = probed(
            &browser,
            &format!("p{n}"),
            &file,
            &["-n", "20", "--horizon", "3d"],
        );
        check_page(&p, true);
        let headline = p["headline"].as_str().unwrap();
        assert!(
            headline.contains(&format!(" of {n} deployments to Fargate Spot")),
            "{p}"
        );
        if n == 100 {
            assert_eq!(p["changed_rows"], 10, "{p}");
            assert!(
                p["more_changes"].as_f64().unwrap() > 0.0,
                "the rest folded: {p}"
            );
        }
        let _ = std::fs::remove_file(&file);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn the_report_paints_in_chromium() {
    let Some(browser) = chromium() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("spotplan-browser-shot-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = dir.join("report");
    let o = spotplan(&[
        "report",
        "scenarios/prefect3-hourly-etl.toml",
        "-n",
        "20",
        "--horizon",
        "3d",
        "-q",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // and it paints: a screenshot of the real page, mostly white but far from blank
    let shot = dir.join("shot.png");
    let s = headless(&browser, &dir.join("profile-shot"), 1280, 900)
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", out.join("index.html").display()))
        .output()
        .expect("chromium runs");
    assert!(s.status.success(), "chromium: {}", stderr(&s));
    let img = image::open(&shot).expect("a PNG screenshot").to_rgb8();
    assert_eq!(img.dimensions(), (1280, 900));
    let inked = img
        .pixels()
        .filter(|px| px.0.iter().any(|&c| c < 200))
        .count();
    let share = inked as f64 / (1280.0 * 900.0);
    assert!(
        (0.01..0.6).contains(&share),
        "{:.1}% of the screenshot is inked",
        100.0 * share
    );
    let _ = std::fs::remove_dir_all(&dir);
}
