//! Background workers: every long-running loop of a server process (garbage collection, the sync supervisor,
//! log trimming, the period puller, scheduled backups, ...) runs as a named worker with a status line, its
//! last error and a stop signal. `meridian worker list` (`GET /admin/workers`) shows them, and shutdown
//! stops them in the reverse order of their start.

use serde::{Deserialize, Serialize};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// One worker as `GET /admin/workers` lists it.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct WorkerInfo {
    pub name: String,
    /// `running`, `stopped` (asked to stop, and did) or `exited` (ended by itself: a one-shot job, or a
    /// fault).
    pub state: String,
    /// What the worker last said it is doing or did.
    pub status: String,
    /// Passes finished without an error.
    pub passes: u64,
    pub errors: u64,
    pub last_error: Option<String>,
    /// RFC 3339.
    pub last_error_at: Option<String>,
    pub last_pass_at: Option<String>,
    pub started_at: String,
}

#[derive(Default)]
struct Progress {
    status: String,
    passes: u64,
    errors: u64,
    last_error: Option<(String, SystemTime)>,
    last_pass: Option<SystemTime>,
}

struct Registered {
    name: String,
    started: SystemTime,
    progress: Arc<Mutex<Progress>>,
    stop: watch::Sender<bool>,
    /// `None` once `stop` has taken it to wait for it.
    task: Option<JoinHandle<()>>,
}

/// The workers of one process.
#[derive(Clone, Default)]
pub struct Workers {
    registered: Arc<Mutex<Vec<Registered>>>,
}

/// A poisoned lock only means a worker panicked while it held it; the progress it guards stays usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn rfc3339(t: SystemTime) -> String {
    time::OffsetDateTime::from(t)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl Workers {
    pub fn new() -> Workers {
        Workers::default()
    }

    /// Starts `run` as the worker `name`; it gets a [`Worker`] handle to report through and to learn that it
    /// must stop.
    pub fn spawn<F, Fut>(&self, name: impl Into<String>, run: F)
    where
        F: FnOnce(Worker) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let name = name.into();
        let progress = Arc::new(Mutex::new(Progress::default()));
        let stop = watch::Sender::new(false);
        let worker = Worker {
            name: name.clone(),
            progress: progress.clone(),
            stop: stop.subscribe(),
        };
        let task = tokio::spawn(run(worker));
        lock(&self.registered).push(Registered {
            name,
            started: SystemTime::now(),
            progress,
            stop,
            task: Some(task),
        });
    }

    pub fn list(&self) -> Vec<WorkerInfo> {
        lock(&self.registered)
            .iter()
            .map(|r| {
                let p = lock(&r.progress);
                let finished = r.task.as_ref().is_none_or(JoinHandle::is_finished);
                let state = match (finished, *r.stop.borrow()) {
                    (false, _) => "running",
                    (true, true) => "stopped",
                    (true, false) => "exited",
                };
                WorkerInfo {
                    name: r.name.clone(),
                    state: state.to_string(),
                    status: p.status.clone(),
                    passes: p.passes,
                    errors: p.errors,
                    last_error: p.last_error.as_ref().map(|(e, _)| e.clone()),
                    last_error_at: p.last_error.as_ref().map(|(_, t)| rfc3339(*t)),
                    last_pass_at: p.last_pass.map(rfc3339),
                    started_at: rfc3339(r.started),
                }
            })
            .collect()
    }

    /// Stops the workers newest first (a worker may use what an older one serves): each is asked, then
    /// waited for at most `grace`; one still running then is aborted.
    pub async fn stop(&self, grace: Duration) {
        // The workers stay registered (without their handles), so the list still shows them, as stopped.
        let tasks: Vec<(String, watch::Sender<bool>, JoinHandle<()>)> = lock(&self.registered)
            .iter_mut()
            .rev()
            .filter_map(|r| Some((r.name.clone(), r.stop.clone(), r.task.take()?)))
            .collect();
        for (name, stop, mut task) in tasks {
            stop.send_replace(true);
            if tokio::time::timeout(grace, &mut task).await.is_err() {
                tracing::warn!(worker = %name, "worker did not stop in time; aborted");
                task.abort();
            }
        }
    }
}

/// A worker's side: its reports and its stop signal. A clone reports into the same worker (for work a
/// worker runs in a task of its own, such as leased work that starts and stops with its lease).
#[derive(Clone)]
pub struct Worker {
    name: String,
    progress: Arc<Mutex<Progress>>,
    stop: watch::Receiver<bool>,
}

impl Worker {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Replaces the status line.
    pub fn status(&self, text: impl Into<String>) {
        lock(&self.progress).status = text.into();
    }

    /// A pass finished without an error.
    pub fn pass_done(&self) {
        let mut p = lock(&self.progress);
        p.passes += 1;
        p.last_pass = Some(SystemTime::now());
    }

    /// A pass failed (the worker logs it itself, at the level it deserves).
    pub fn failed(&self, error: &dyn std::fmt::Display) {
        let mut p = lock(&self.progress);
        p.errors += 1;
        p.last_error = Some((error.to_string(), SystemTime::now()));
    }

    pub fn is_stopping(&self) -> bool {
        *self.stop.borrow()
    }

    /// Resolves once the worker is asked to stop.
    pub async fn stopping(&mut self) {
        // An error means the `Workers` are gone: nobody can ask any more, so never resolve.
        if self.stop.wait_for(|stop| *stop).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// Sleeps `d`; false when the worker was asked to stop meanwhile (it should return then).
    pub async fn sleep(&mut self, d: Duration) -> bool {
        if self.is_stopping() {
            return false;
        }
        tokio::select! {
            _ = tokio::time::sleep(d) => !self.is_stopping(),
            _ = self.stopping() => false,
        }
    }
}

/// A spawned task that is aborted when its handle is dropped: work a worker started ends with it, even when
/// the worker itself is aborted.
pub struct AbortOnDrop(pub JoinHandle<()>);

impl std::ops::Deref for AbortOnDrop {
    type Target = JoinHandle<()>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn workers_report_and_stop_in_order() {
        let workers = Workers::new();
        let order = Arc::new(Mutex::new(Vec::new()));
        for name in ["first", "second"] {
            let order = order.clone();
            workers.spawn(name, move |mut w| async move {
                w.status("waiting");
                while w.sleep(Duration::from_millis(5)).await {
                    w.pass_done();
                }
                lock(&order).push(w.name().to_string());
            });
        }
        workers.spawn("one-shot", |w| async move { w.failed(&"disk full") });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let list = workers.list();
        assert_eq!(list.len(), 3);
        assert_eq!(
            (list[0].state.as_str(), list[0].status.as_str()),
            ("running", "waiting")
        );
        assert!(list[0].passes > 0 && list[0].last_pass_at.is_some());
        assert_eq!(list[2].state, "exited");
        assert_eq!((list[2].errors, list[2].last_error.as_deref()), (1, Some("disk full")));

        workers.stop(Duration::from_secs(5)).await;
        assert_eq!(*lock(&order), vec!["second", "first"]);
        assert!(workers.list().iter().all(|w| w.state == "stopped"));
    }

    #[tokio::test]
    async fn a_worker_that_ignores_stop_is_aborted_after_the_grace() {
        let workers = Workers::new();
        workers.spawn("stubborn", |_w| async move { std::future::pending::<()>().await });
        let started = std::time::Instant::now();
        workers.stop(Duration::from_millis(50)).await;
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(workers.list()[0].state, "stopped");
    }
}
