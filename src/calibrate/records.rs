//! Reading task histories, streaming: ECS task records (`aws ecs describe-tasks` JSON,
//! EventBridge "ECS Task State Change" events as JSON lines, or CSV), "Capacity is
//! unavailable" failures (in the same exports or a plain log), and Prefect flow runs.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{BufRead, Read};

use serde::Deserialize;
use serde_json::Value;

use crate::model::Provider;

/// One ECS task, normalised. Times are Unix milliseconds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TaskRecord {
    /// Deployment key: `group` without `family:`, else `startedBy`.
    pub group: String,
    /// Provider (launch type FARGATE counts as on-demand FARGATE).
    pub provider: Option<Provider>,
    /// Task cpu units.
    pub cpu: Option<u32>,
    /// Task memory MiB.
    pub memory: Option<u32>,
    /// PENDING.
    pub created: Option<i64>,
    /// Image pull start.
    pub pull_started: Option<i64>,
    /// RUNNING.
    pub started: Option<i64>,
    /// SIGTERM (stoppingAt), when known.
    pub stopping: Option<i64>,
    /// STOPPED; `None` when still running at the end of the export (censored).
    pub stopped: Option<i64>,
    /// Stopped by a spot interruption.
    pub interrupted: bool,
    /// The AWS region, from the task or cluster ARN.
    pub region: Option<String>,
}

/// The region of an ARN `arn:aws:ecs:<region>:<account>:…`.
pub fn region_of_arn(arn: &str) -> Option<String> {
    let mut parts = arn.split(':');
    (parts.next()? == "arn").then_some(())?;
    let _partition = parts.next()?;
    let _service = parts.next()?;
    let region = parts.next()?;
    (!region.is_empty()).then(|| region.to_string())
}

/// What the readers produce.
#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    /// A task; `stopped == None` means censored at `censor_at`.
    Task {
        /// The task.
        task: TaskRecord,
        /// End of observation for a censored task (the export's last timestamp).
        censor_at: Option<i64>,
    },
    /// A RunTask capacity failure.
    CapacityFailure {
        /// When, if the source says.
        at: Option<i64>,
    },
}

/// A Prefect flow run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FlowRunRecord {
    /// Deployment name.
    pub deployment: String,
    /// Scheduled time.
    pub expected_start: Option<i64>,
    /// Start.
    pub start: Option<i64>,
    /// End.
    pub end: Option<i64>,
    /// `COMPLETED`, `CRASHED`, `FAILED`, …
    pub state_type: String,
}

/// A record that cannot be read.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct RecordError {
    /// File.
    pub file: String,
    /// Line (1-based).
    pub line: u64,
    /// What is wrong.
    pub message: String,
}

/// The RunTask failure text that means spot capacity was missing.
pub const CAPACITY_TEXT: &str = "Capacity is unavailable at this time";
/// The stop reason of a spot interruption.
pub const SPOT_REASON: &str = "Your Spot Task was interrupted.";

/// Parses an instant: RFC 3339 (`Z` or offset; a space instead of `T` is accepted, as
/// `json.dumps(default=str)` writes it), or a number of Unix seconds.
pub fn instant(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_f64().map(|s| (s * 1000.0).round() as i64),
        Value::String(s) => instant_str(s),
        _ => None,
    }
}

/// Parses an instant from text.
pub fn instant_str(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(x) = s.parse::<f64>() {
        return Some((x * 1000.0).round() as i64);
    }
    let t = if s.len() > 10 && s.as_bytes()[10] == b' ' {
        format!("{}T{}", &s[..10], &s[11..])
    } else {
        s.to_string()
    };
    chrono::DateTime::parse_from_rfc3339(&t)
        .ok()
        .map(|d| d.timestamp_millis())
}

fn num(v: &Value) -> Option<u32> {
    match v {
        Value::Number(n) => n.as_u64().map(|x| x as u32),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn group_of(group: Option<&str>, started_by: Option<&str>) -> String {
    match (group, started_by) {
        (Some(g), _) if !g.is_empty() => g.strip_prefix("family:").unwrap_or(g).to_string(),
        (_, Some(s)) if !s.is_empty() => s.to_string(),
        _ => "unknown".into(),
    }
}

fn provider_of(cp: Option<&str>, launch: Option<&str>) -> Option<Provider> {
    match (cp, launch) {
        (Some(c), _) if !c.is_empty() => Provider::from_ecs_name(c),
        (_, Some("FARGATE")) => Some(Provider::Fargate),
        _ => None,
    }
}

fn interrupted(code: Option<&str>, reason: Option<&str>) -> bool {
    matches!(code, Some("SpotInterruption") | Some("TerminationNotice"))
        || reason.is_some_and(|r| r.trim() == SPOT_REASON)
}

/// A task from a JSON task object (describe-tasks element or EventBridge `detail`).
pub fn task_from_json(t: &Value) -> TaskRecord {
    let s = |k: &str| t[k].as_str();
    TaskRecord {
        group: group_of(s("group"), s("startedBy")),
        provider: provider_of(s("capacityProviderName"), s("launchType")),
        cpu: num(&t["cpu"]),
        memory: num(&t["memory"]),
        created: instant(&t["createdAt"]),
        pull_started: instant(&t["pullStartedAt"]),
        started: instant(&t["startedAt"]),
        stopping: instant(&t["stoppingAt"]),
        stopped: instant(&t["stoppedAt"]),
        interrupted: interrupted(s("stopCode"), s("stoppedReason")),
        region: s("taskArn").or(s("clusterArn")).and_then(region_of_arn),
    }
}

fn latest(t: &TaskRecord) -> Option<i64> {
    [t.created, t.pull_started, t.started, t.stopping, t.stopped]
        .into_iter()
        .flatten()
        .max()
}

/// A maker of errors located in `file`.
fn err_in(file: &str) -> impl Fn(u64, String) -> RecordError + '_ {
    move |line, message| RecordError {
        file: file.to_string(),
        line,
        message,
    }
}

/// The longest line read (an ECS event is a few KB): past it the input is not records, and
/// reading on would only fill memory (`--ecs-events /dev/zero`).
pub const MAX_LINE: u64 = 16 << 20;
/// The largest whole document read at once (`describe-tasks` output, Prefect exports).
pub const MAX_DOCUMENT: u64 = 512 << 20;

/// Reads one line of at most [`MAX_LINE`] bytes into `buf` (appending); 0 at the end.
fn read_line_capped(
    reader: &mut dyn BufRead,
    buf: &mut String,
    line_no: u64,
    err: &impl Fn(u64, String) -> RecordError,
) -> Result<usize, RecordError> {
    let n = std::io::Read::take(&mut *reader, MAX_LINE)
        .read_line(buf)
        .map_err(|e| err(line_no, format!("cannot read: {e}")))?;
    if n as u64 == MAX_LINE && !buf.ends_with('\n') {
        return Err(err(
            line_no,
            format!(
                "a line longer than {} MiB: not a record (is this the right file?)",
                MAX_LINE >> 20
            ),
        ));
    }
    Ok(n)
}

/// Reads the rest of the input, at most [`MAX_DOCUMENT`] bytes, into `buf` (appending).
fn read_rest_capped(
    reader: &mut dyn BufRead,
    buf: &mut String,
    err: &impl Fn(u64, String) -> RecordError,
) -> Result<(), RecordError> {
    let n = std::io::Read::take(&mut *reader, MAX_DOCUMENT + 1)
        .read_to_string(buf)
        .map_err(|e| err(1, format!("cannot read: {e}")))?;
    if n as u64 > MAX_DOCUMENT {
        return Err(err(
            1,
            format!(
                "a JSON document larger than {} MiB; export events one per line instead (they are read as a stream)",
                MAX_DOCUMENT >> 20
            ),
        ));
    }
    Ok(())
}

/// Reads one ECS export, whatever its shape, calling `sink` for every record. Tasks still
/// running when the export ends are passed as censored at its last timestamp.
pub fn read_ecs(
    reader: &mut dyn BufRead,
    file: &str,
    sink: &mut dyn FnMut(Record),
) -> Result<(), RecordError> {
    let err = err_in(file);
    let mut first = String::new();
    let n = read_line_capped(reader, &mut first, 1, &err)?;
    if n == 0 {
        return Ok(());
    }
    // a byte-order mark (Windows editors, PowerShell's Out-File) is not part of the data
    if let Some(rest) = first.strip_prefix('\u{feff}') {
        first = rest.to_string();
    }
    let head = first.trim_start();
    let first_value = head
        .starts_with('{')
        .then(|| serde_json::from_str::<Value>(head.trim_end()).ok())
        .flatten();
    // `describe-tasks` output on one line is a document too
    let one_line_document = first_value
        .as_ref()
        .is_some_and(|v| v.get("tasks").is_some());
    let complete_json = first_value.is_some() && !one_line_document;
    if head.starts_with('{') && !complete_json || head.starts_with('[') {
        // one JSON document: describe-tasks output
        let mut text = first.clone();
        read_rest_capped(reader, &mut text, &err)?;
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| err(e.line() as u64, format!("not valid JSON: {e}")))?;
        let tasks = v["tasks"].as_array().ok_or_else(|| {
            err(1, "a JSON document without `tasks`: expected `aws ecs describe-tasks` output, EventBridge events one per line, or CSV".into())
        })?;
        let parsed: Vec<TaskRecord> = tasks.iter().map(task_from_json).collect();
        let end = parsed.iter().filter_map(latest).max();
        for t in parsed {
            let censor_at = if t.stopped.is_none() { end } else { None };
            sink(Record::Task { task: t, censor_at });
        }
        for f in v["failures"].as_array().into_iter().flatten() {
            if f["reason"]
                .as_str()
                .is_some_and(|r| r.contains(CAPACITY_TEXT))
            {
                sink(Record::CapacityFailure { at: None });
            }
        }
        return Ok(());
    }
    if !complete_json && head.contains("createdAt") && head.contains(',') {
        return read_csv(first, reader, file, sink);
    }
    // events one per line, possibly mixed with log lines (a worker's log with the events
    // it printed): every line is read on its own
    read_event_lines(first, reader, file, sink)
}

/// A string or a number in an event (timestamps and sizes come both ways).
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar<'a> {
    Text(#[serde(borrow)] Cow<'a, str>),
    Num(f64),
}

impl Scalar<'_> {
    fn instant(&self) -> Option<i64> {
        match self {
            Scalar::Text(s) => instant_str(s),
            Scalar::Num(n) => Some((n * 1000.0).round() as i64),
        }
    }
    fn num(&self) -> Option<u32> {
        match self {
            Scalar::Text(s) => s.trim().parse().ok(),
            Scalar::Num(n) => Some(*n as u32),
        }
    }
    fn text(&self) -> Option<&str> {
        match self {
            Scalar::Text(s) => Some(s),
            Scalar::Num(_) => None,
        }
    }
}

/// The fields of an EventBridge task-state-change `detail` spotplan reads; the rest is
/// skipped without being built.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Detail<'a> {
    #[serde(borrow)]
    group: Option<Scalar<'a>>,
    #[serde(borrow)]
    started_by: Option<Scalar<'a>>,
    #[serde(borrow)]
    capacity_provider_name: Option<Scalar<'a>>,
    #[serde(borrow)]
    launch_type: Option<Scalar<'a>>,
    #[serde(borrow)]
    cpu: Option<Scalar<'a>>,
    #[serde(borrow)]
    memory: Option<Scalar<'a>>,
    #[serde(borrow)]
    created_at: Option<Scalar<'a>>,
    #[serde(borrow)]
    pull_started_at: Option<Scalar<'a>>,
    #[serde(borrow)]
    started_at: Option<Scalar<'a>>,
    #[serde(borrow)]
    stopping_at: Option<Scalar<'a>>,
    #[serde(borrow)]
    stopped_at: Option<Scalar<'a>>,
    #[serde(borrow)]
    stop_code: Option<Scalar<'a>>,
    #[serde(borrow)]
    stopped_reason: Option<Scalar<'a>>,
    #[serde(borrow)]
    last_status: Option<Scalar<'a>>,
    #[serde(borrow)]
    task_arn: Option<Scalar<'a>>,
    #[serde(borrow)]
    cluster_arn: Option<Scalar<'a>>,
}

#[derive(Deserialize)]
struct Event<'a> {
    #[serde(rename = "detail-type", borrow)]
    detail_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    detail: Option<Detail<'a>>,
    #[serde(borrow)]
    time: Option<Scalar<'a>>,
    #[serde(borrow)]
    reason: Option<Cow<'a, str>>,
}

fn text<'b>(x: &'b Option<Scalar<'_>>) -> Option<&'b str> {
    x.as_ref().and_then(Scalar::text)
}

fn task_from_detail(d: &Detail) -> TaskRecord {
    let t = text;
    let i = |x: &Option<Scalar>| x.as_ref().and_then(Scalar::instant);
    TaskRecord {
        group: group_of(t(&d.group), t(&d.started_by)),
        provider: provider_of(t(&d.capacity_provider_name), t(&d.launch_type)),
        cpu: d.cpu.as_ref().and_then(Scalar::num),
        memory: d.memory.as_ref().and_then(Scalar::num),
        created: i(&d.created_at),
        pull_started: i(&d.pull_started_at),
        started: i(&d.started_at),
        stopping: i(&d.stopping_at),
        stopped: i(&d.stopped_at),
        interrupted: interrupted(t(&d.stop_code), t(&d.stopped_reason)),
        region: t(&d.task_arn).or(t(&d.cluster_arn)).and_then(region_of_arn),
    }
}

fn read_event_lines(
    first: String,
    reader: &mut dyn BufRead,
    file: &str,
    sink: &mut dyn FnMut(Record),
) -> Result<(), RecordError> {
    let err = err_in(file);
    let mut running: HashMap<String, TaskRecord> = HashMap::new();
    let mut end: Option<i64> = None;
    let mut line = first;
    let mut line_no = 0u64;
    loop {
        line_no += 1;
        let t = line.trim();
        if !t.is_empty() {
            if t.starts_with('{') {
                let v: Event = serde_json::from_str(t)
                    .map_err(|e| err(line_no, format!("not valid JSON: {e}")))?;
                if v.detail_type
                    .as_deref()
                    .is_some_and(|d| d != "ECS Task State Change")
                {
                    // other EventBridge events in the same export
                } else if let Some(d) = &v.detail {
                    let task = task_from_detail(d);
                    end = end
                        .max(latest(&task))
                        .max(v.time.as_ref().and_then(Scalar::instant));
                    let arn = d
                        .task_arn
                        .as_ref()
                        .and_then(Scalar::text)
                        .unwrap_or("")
                        .to_string();
                    match d.last_status.as_ref().and_then(Scalar::text) {
                        Some("STOPPED") => {
                            if !running.is_empty() {
                                running.remove(&arn);
                            }
                            sink(Record::Task {
                                task,
                                censor_at: None,
                            });
                        }
                        Some(_) if !arn.is_empty() => {
                            running.insert(arn, task);
                        }
                        _ => {
                            return Err(err(
                                line_no,
                                "an ECS task state change without `lastStatus`".into(),
                            ));
                        }
                    }
                } else if v
                    .reason
                    .as_deref()
                    .is_some_and(|r| r.contains(CAPACITY_TEXT))
                {
                    sink(Record::CapacityFailure {
                        at: v.time.as_ref().and_then(Scalar::instant),
                    });
                } else {
                    return Err(err(
                        line_no,
                        "a JSON line that is neither an ECS task state change event (with `detail`) nor a capacity failure".into(),
                    ));
                }
            } else if t.contains(CAPACITY_TEXT) {
                let at = t.split_whitespace().next().and_then(instant_str);
                end = end.max(at);
                sink(Record::CapacityFailure { at });
            }
            // any other line is a log line: nothing in it to count
        }
        line.clear();
        if read_line_capped(reader, &mut line, line_no + 1, &err)? == 0 {
            break;
        }
    }
    let mut left: Vec<(String, TaskRecord)> = running.into_iter().collect();
    left.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, t) in left {
        sink(Record::Task {
            task: t,
            censor_at: end,
        });
    }
    Ok(())
}

/// CSV columns spotplan reads (others are ignored).
pub const CSV_COLUMNS: [&str; 12] = [
    "capacityProviderName",
    "launchType",
    "cpu",
    "memory",
    "createdAt",
    "pullStartedAt",
    "startedAt",
    "stoppingAt",
    "stoppedAt",
    "stopCode",
    "stoppedReason",
    "group",
];

fn read_csv(
    first: String,
    reader: &mut dyn BufRead,
    file: &str,
    sink: &mut dyn FnMut(Record),
) -> Result<(), RecordError> {
    let err = err_in(file);
    let chained = std::io::Read::chain(std::io::Cursor::new(first.into_bytes()), reader);
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(chained);
    let headers = rdr
        .headers()
        .map_err(|e| err(1, format!("bad CSV header: {e}")))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h.trim() == name);
    let idx: Vec<Option<usize>> = CSV_COLUMNS.iter().map(|c| col(c)).collect();
    let started_by = col("startedBy");
    let task_arn = col("taskArn");
    if idx[4].is_none() || idx[8].is_none() {
        return Err(err(
            1,
            "a CSV without `createdAt` and `stoppedAt` columns".into(),
        ));
    }
    let mut rec = csv::StringRecord::new();
    let mut running = Vec::new();
    let mut end: Option<i64> = None;
    loop {
        match rdr.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                return Err(err(line, format!("bad CSV record: {e}")));
            }
        }
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let get = |k: usize| {
            idx[k]
                .and_then(|i| rec.get(i))
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        let time = |k: usize| -> Result<Option<i64>, RecordError> {
            match get(k) {
                None => Ok(None),
                Some(s) => instant_str(s).map(Some).ok_or_else(|| {
                    err(
                        line,
                        format!("`{}` is not a time in column `{}`", s, CSV_COLUMNS[k]),
                    )
                }),
            }
        };
        let task = TaskRecord {
            group: group_of(get(11), started_by.and_then(|i| rec.get(i))),
            provider: provider_of(get(0), get(1)),
            cpu: get(2).and_then(|s| s.parse().ok()),
            memory: get(3).and_then(|s| s.parse().ok()),
            created: time(4)?,
            pull_started: time(5)?,
            started: time(6)?,
            stopping: time(7)?,
            stopped: time(8)?,
            interrupted: interrupted(get(9), get(10)),
            region: task_arn.and_then(|i| rec.get(i)).and_then(region_of_arn),
        };
        if task.created.is_none() {
            return Err(err(line, "a task without `createdAt`".into()));
        }
        end = end.max(latest(&task));
        if task.stopped.is_none() {
            running.push(task);
        } else {
            sink(Record::Task {
                task,
                censor_at: None,
            });
        }
    }
    for t in running {
        sink(Record::Task {
            task: t,
            censor_at: end,
        });
    }
    Ok(())
}

/// Reads Prefect flow runs: a JSON array, JSON lines, or CSV with `deployment`,
/// `expected_start_time`, `start_time`, `end_time`, `state_type` (and `state_name`).
pub fn read_prefect(
    reader: &mut dyn BufRead,
    file: &str,
    sink: &mut dyn FnMut(FlowRunRecord),
) -> Result<(), RecordError> {
    let err = err_in(file);
    let mut text = String::new();
    read_rest_capped(reader, &mut text, &err)?;
    if let Some(rest) = text.strip_prefix('\u{feff}') {
        text = rest.to_string();
    }
    let from_json = |v: &Value| FlowRunRecord {
        deployment: v["deployment"]
            .as_str()
            .or(v["deployment_name"].as_str())
            .unwrap_or("unknown")
            .to_string(),
        expected_start: instant(&v["expected_start_time"]),
        start: instant(&v["start_time"]),
        end: instant(&v["end_time"]),
        state_type: v["state_type"].as_str().unwrap_or("").to_string(),
    };
    // read whole (flow-run exports are small next to task events) and fed in schedule order,
    // which is what the schedule estimate needs
    let mut runs: Vec<FlowRunRecord> = Vec::new();
    let t = text.trim_start();
    if t.starts_with('[') {
        let v: Value = serde_json::from_str(t)
            .map_err(|e| err(e.line() as u64, format!("not valid JSON: {e}")))?;
        runs.extend(v.as_array().into_iter().flatten().map(from_json));
    } else if t.starts_with('{') {
        for (i, l) in text.lines().enumerate() {
            if l.trim().is_empty() {
                continue;
            }
            let v: Value = serde_json::from_str(l)
                .map_err(|e| err(i as u64 + 1, format!("not valid JSON: {e}")))?;
            runs.push(from_json(&v));
        }
    }
    if t.starts_with('[') || t.starts_with('{') {
        runs.sort_by_key(|r| r.expected_start);
        for r in runs {
            sink(r);
        }
        return Ok(());
    }
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let h = rdr
        .headers()
        .map_err(|e| err(1, format!("bad CSV header: {e}")))?
        .clone();
    let c = |n: &str| h.iter().position(|x| x.trim() == n);
    let (dep, exp, st, en, ty) = (
        c("deployment").or(c("deployment_name")),
        c("expected_start_time"),
        c("start_time"),
        c("end_time"),
        c("state_type"),
    );
    if dep.is_none() || exp.is_none() {
        return Err(err(
            1,
            "Prefect runs CSV needs `deployment` and `expected_start_time` columns".into(),
        ));
    }
    for (i, r) in rdr.records().enumerate() {
        let r = r.map_err(|e| err(i as u64 + 2, format!("bad CSV record: {e}")))?;
        let g = |k: Option<usize>| k.and_then(|k| r.get(k)).unwrap_or("").trim().to_string();
        let time = |k: Option<usize>, name: &str| -> Result<Option<i64>, RecordError> {
            let s = g(k);
            if s.is_empty() {
                return Ok(None);
            }
            instant_str(&s).map(Some).ok_or_else(|| {
                err(
                    i as u64 + 2,
                    format!("`{s}` is not a time in column `{name}`"),
                )
            })
        };
        runs.push(FlowRunRecord {
            deployment: g(dep),
            expected_start: time(exp, "expected_start_time")?,
            start: time(st, "start_time")?,
            end: time(en, "end_time")?,
            state_type: g(ty),
        });
    }
    runs.sort_by_key(|r| r.expected_start);
    for r in runs {
        sink(r);
    }
    Ok(())
}
