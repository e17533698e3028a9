//! Synthetic task histories of any length, generated on the fly (no file, no memory), for the
//! streaming test and the parsing benchmark.

use std::io::Read;

/// A reader that yields `n` task records as CSV (`csv = true`) or EventBridge JSON lines.
pub struct SyntheticTasks {
    n: u64,
    i: u64,
    csv: bool,
    buf: Vec<u8>,
    pos: usize,
}

impl SyntheticTasks {
    /// `n` records.
    pub fn new(n: u64, csv: bool) -> SyntheticTasks {
        let mut s = SyntheticTasks {
            n,
            i: 0,
            csv,
            buf: Vec::with_capacity(1024),
            pos: 0,
        };
        if csv {
            s.buf.extend_from_slice(
                b"capacityProviderName,cpu,memory,createdAt,pullStartedAt,startedAt,stoppingAt,stoppedAt,stopCode,stoppedReason,group\n",
            );
        }
        s
    }

    fn fill(&mut self) {
        self.buf.clear();
        self.pos = 0;
        if self.i >= self.n {
            return;
        }
        let i = self.i;
        self.i += 1;
        let t0: i64 = 1_767_571_200 + i as i64 * 60;
        let iso = |t: i64| {
            chrono::DateTime::<chrono::Utc>::from_timestamp(t, 0)
                .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                .unwrap_or_default()
        };
        let spot = i.is_multiple_of(2);
        let interrupted = spot && i.is_multiple_of(100);
        let run = 600 + (i % 600) as i64;
        let (created, pull, started) = (t0, t0 + 20, t0 + 45);
        let stopping = interrupted.then_some(started + run / 2);
        let stopped = stopping.map(|s| s + 30).unwrap_or(started + run);
        let cp = if spot { "FARGATE_SPOT" } else { "FARGATE" };
        let (code, reason) = if interrupted {
            ("SpotInterruption", "Your Spot Task was interrupted.")
        } else {
            (
                "EssentialContainerExited",
                "Essential container in task exited",
            )
        };
        let group = format!("family:flow-{}", i % 5);
        if self.csv {
            let line = format!(
                "{cp},1024,2048,{},{},{},{},{},{code},{reason},{group}\n",
                iso(created),
                iso(pull),
                iso(started),
                stopping.map(iso).unwrap_or_default(),
                iso(stopped)
            );
            self.buf.extend_from_slice(line.as_bytes());
        } else {
            let stopping = stopping
                .map(|s| format!(",\"stoppingAt\":\"{}\"", iso(s)))
                .unwrap_or_default();
            let line = format!(
                "{{\"version\":\"0\",\"detail-type\":\"ECS Task State Change\",\"source\":\"aws.ecs\",\"time\":\"{stop}\",\"detail\":{{\"taskArn\":\"arn:aws:ecs:us-east-1:111122223333:task/c/{i:016x}\",\"capacityProviderName\":\"{cp}\",\"cpu\":\"1024\",\"memory\":\"2048\",\"createdAt\":\"{}\",\"pullStartedAt\":\"{}\",\"startedAt\":\"{}\"{stopping},\"stoppedAt\":\"{stop}\",\"lastStatus\":\"STOPPED\",\"desiredStatus\":\"STOPPED\",\"stopCode\":\"{code}\",\"stoppedReason\":\"{reason}\",\"group\":\"{group}\"}}}}",
                iso(created),
                iso(pull),
                iso(started),
                stop = iso(stopped),
            );
            self.buf.extend_from_slice(line.as_bytes());
            self.buf.push(b'\n');
        }
    }
}

impl Read for SyntheticTasks {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.buf.len() {
            self.fill();
            if self.buf.is_empty() {
                return Ok(0);
            }
        }
        let k = out.len().min(self.buf.len() - self.pos);
        out[..k].copy_from_slice(&self.buf[self.pos..self.pos + k]);
        self.pos += k;
        Ok(k)
    }
}
