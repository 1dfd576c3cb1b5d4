//! `watch --exec`: runs the user's command for every announced incident change, so that a
//! storm of changes cannot become a storm of processes, nor reach the pager out of order.
//!
//! Owns the hooks' scheduling and their outcome: the changes of one incident run one after
//! another, in the order announced (an incident's `close` never overtakes its `open`); at
//! most `max_running` hooks run at once over all incidents; a hook still running after
//! `timeout` is killed with its process group and reported; a hook that fails (exit
//! status, signal, could not start) is reported on stderr and counted ([`HookStats`], for
//! `/metrics`). At most [`MAX_QUEUED_HOOKS`] wait; past that a change's hook is dropped and
//! counted, never queued without bound. On exit ([`Hooks::shutdown`]) running and queued
//! hooks get a bounded time, then are killed. Does not own what a change says (`view`).
//!
//! Each incident's queue is a task on the app's runtime (no thread per hook); the
//! processes are `tokio::process` children in a process group of their own.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;

use crate::config::HookLimits;
use crate::model::detect::ChangeKind;
use crate::view::watch::Announcement;

/// Hooks waiting to run, over all incidents; past this a change's hook is dropped.
pub(crate) const MAX_QUEUED_HOOKS: usize = 1024;

/// What happened to the hooks so far (read by `/metrics`).
#[derive(Debug, Default)]
pub(crate) struct HookStats {
    /// Hooks that ran to the end with status 0.
    pub(crate) succeeded: AtomicU64,
    /// Hooks that exited non-zero or were killed by a signal not sent by us.
    pub(crate) failed: AtomicU64,
    /// Hooks killed after the timeout.
    pub(crate) timed_out: AtomicU64,
    /// Hooks that could not start.
    pub(crate) not_started: AtomicU64,
    /// Changes whose hook was dropped because [`MAX_QUEUED_HOOKS`] were waiting, or
    /// still queued when `watch` stopped.
    pub(crate) dropped: AtomicU64,
}

/// One hook to run: the change's JSON on stdin, its fixed-vocabulary facts in the
/// environment.
#[derive(Debug)]
struct Job {
    incident: u64,
    event: &'static str,
    kind: String,
    severity: String,
    json: String,
}

/// The hook runner of one `watch`.
pub(crate) struct Hooks {
    cmd: Arc<str>,
    limits: HookLimits,
    permits: Arc<Semaphore>,
    /// One queue per incident with hooks pending or running.
    queues: HashMap<u64, mpsc::UnboundedSender<Job>>,
    tasks: JoinSet<()>,
    queued: Arc<AtomicUsize>,
    stats: Arc<HookStats>,
}

impl Hooks {
    pub(crate) fn new(cmd: &str, limits: HookLimits, stats: Arc<HookStats>) -> Hooks {
        Hooks {
            cmd: cmd.into(),
            limits,
            permits: Arc::new(Semaphore::new(limits.max_running)),
            queues: HashMap::new(),
            tasks: JoinSet::new(),
            queued: Arc::new(AtomicUsize::new(0)),
            stats,
        }
    }

    /// Queues the hook for `change` behind the incident's earlier ones.
    pub(crate) fn submit(&mut self, change: &Announcement) {
        // Queues that ran dry are gone: their tasks ended.
        while self.tasks.try_join_next().is_some() {}
        self.queues.retain(|_, tx| !tx.is_closed());
        if self.queued.load(Ordering::Relaxed) >= MAX_QUEUED_HOOKS {
            let dropped = self.stats.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if dropped.is_power_of_two() {
                eprintln!(
                    "sigil-top: warning: --exec: {MAX_QUEUED_HOOKS} hooks are waiting; dropped \
                     the hook of {} incident #{} ({dropped} dropped so far)",
                    change.kind.as_str(),
                    change.incident
                );
            }
            return;
        }
        let job = Job {
            incident: change.incident,
            event: change.kind.as_str(),
            kind: change.incident_kind.clone(),
            severity: change.severity.clone(),
            json: change.json.to_string(),
        };
        self.queued.fetch_add(1, Ordering::Relaxed);
        let tx = match self.queues.remove(&change.incident) {
            Some(tx) => tx,
            None => self.start_queue(),
        };
        if let Err(mpsc::error::SendError(job)) = tx.send(job) {
            // The queue's task ended between the check and the send: a new one.
            let fresh = self.start_queue();
            let _ = fresh.send(job);
            self.queues.insert(change.incident, fresh);
        } else if change.kind != ChangeKind::Close {
            self.queues.insert(change.incident, tx);
        }
        // After a close the sender is dropped: the task ends once the queue is drained.
    }

    fn start_queue(&mut self) -> mpsc::UnboundedSender<Job> {
        let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
        let cmd = Arc::clone(&self.cmd);
        let permits = Arc::clone(&self.permits);
        let queued = Arc::clone(&self.queued);
        let stats = Arc::clone(&self.stats);
        let timeout = self.limits.timeout;
        self.tasks.spawn(async move {
            while let Some(job) = rx.recv().await {
                let Ok(_permit) = permits.acquire().await else {
                    return;
                };
                run_one(&cmd, &job, timeout, &stats).await;
                queued.fetch_sub(1, Ordering::Relaxed);
            }
        });
        tx
    }

    /// Lets running and queued hooks finish within the exit grace, then kills what is
    /// left (their process groups) and says how many.
    pub(crate) async fn shutdown(mut self) {
        self.queues.clear();
        let grace = self.limits.exit_grace;
        let all_done = tokio::time::timeout(grace, async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        if all_done.is_err() {
            let left = self.queued.load(Ordering::Relaxed);
            self.stats
                .dropped
                .fetch_add(u64::try_from(left).unwrap_or(u64::MAX), Ordering::Relaxed);
            eprintln!(
                "sigil-top: warning: --exec: {left} hook(s) still running or queued after \
                 {grace:?}: killed"
            );
            // Dropping a task drops its child, which `kill_on_drop` kills; its group too.
            self.tasks.abort_all();
            while self.tasks.join_next().await.is_some() {}
        }
    }
}

/// Runs one hook to its end or its timeout, and reports a failure.
async fn run_one(cmd: &str, job: &Job, timeout: std::time::Duration, stats: &HookStats) {
    let spawned = tokio::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(cmd)
        .env("SIGIL_TOP_EVENT", job.event)
        .env("SIGIL_TOP_KIND", &job.kind)
        .env("SIGIL_TOP_SEVERITY", &job.severity)
        .env("SIGIL_TOP_INCIDENT", job.incident.to_string())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        // Its own process group, so a timeout kills what the shell started too.
        .process_group(0)
        .kill_on_drop(true)
        .spawn();
    let what = format!("hook of {} incident #{}", job.event, job.incident);
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            stats.not_started.fetch_add(1, Ordering::Relaxed);
            eprintln!("sigil-top: warning: --exec: the {what} could not start: {e}");
            return;
        }
    };
    let group = child
        .id()
        .and_then(|pid| i32::try_from(pid).ok())
        .and_then(rustix::process::Pid::from_raw);
    let mut group_guard = GroupGuard(group);
    let run = async {
        if let Some(mut stdin) = child.stdin.take() {
            // A hook that does not read its stdin is fine: the write fails, it runs on.
            let _ = stdin.write_all(job.json.as_bytes()).await;
            let _ = stdin.write_all(b"\n").await;
        }
        child.wait().await
    };
    let ended = tokio::time::timeout(timeout, run).await;
    if ended.is_ok() {
        // Reaped: its group id may be reused now, and what it left running in the
        // background on purpose is its own business.
        group_guard.0 = None;
    }
    match ended {
        Ok(Ok(status)) if status.success() => {
            stats.succeeded.fetch_add(1, Ordering::Relaxed);
        }
        Ok(Ok(status)) => {
            stats.failed.fetch_add(1, Ordering::Relaxed);
            eprintln!("sigil-top: warning: --exec: the {what} failed: {status}");
        }
        Ok(Err(e)) => {
            stats.failed.fetch_add(1, Ordering::Relaxed);
            eprintln!("sigil-top: warning: --exec: the {what} failed: {e}");
        }
        Err(_) => {
            stats.timed_out.fetch_add(1, Ordering::Relaxed);
            eprintln!(
                "sigil-top: warning: --exec: the {what} was still running after {timeout:?}: killed"
            );
            let _ = child.kill().await;
        }
    }
}

/// Kills a hook's process group when its run ends without the hook having exited (timed
/// out, or its task aborted at exit): what the shell started dies with it.
struct GroupGuard(Option<rustix::process::Pid>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
    }
}
