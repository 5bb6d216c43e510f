//! Group commit: one writer task per process records issued certificates and audit events.
//!
//! A certificate is answered only after its ledger row, its kept response and its audit entry
//! are committed. Committing each certificate alone serialises every request on one durable
//! flush (the SQLite write lock, the PostgreSQL `audit_head` row lock), so this module queues
//! the writes of concurrent requests and puts all that are waiting into one transaction: one
//! status check of the pharmacies involved, one multi-row insert per table, one head update of
//! the audit chain and one commit for the whole batch. Each request then gets its own outcome.
//!
//! Before recording, the writer checks in the same transaction that the pharmacy is still
//! active, that no lock stops it (the kill switch, [`dcc_store::locks`]) and that it stays
//! within its rate limits ([`crate::limits`]); all three hold across instances because they
//! are read from the database where the certificate is written.
//!
//! While one batch commits, the next one gathers, so batches grow with the load and a lone
//! request is written at once. The queue is bounded ([`QUEUE_CAPACITY`]): when it is full,
//! requests wait to be queued instead of piling up in memory.
//!
//! If a batch fails as a whole (a database error), every job in it is retried in a transaction
//! of its own, so one bad row cannot fail the requests it happened to share a batch with, and
//! each request gets the precise error of its own write. If the batch failed because the
//! database is unreachable ([`StoreError::is_unavailable`]), retrying alone could only fail the
//! same way, one wait at a time, so every job fails at once with [`StoreError::Unavailable`].
//! A transaction that takes longer than [`WriterSettings::write_timeout`] is abandoned the same
//! way: a database that stops answering (a network partition) would otherwise hold the one
//! writer, and with it every request, until TCP gives up. An abandoned transaction is rolled
//! back by the database, or committed if its commit had already arrived; either way the
//! request was not answered with a certificate, which is the crash case the idempotency key
//! covers.
//!
//! With anomaly detection on ([`RecordPolicy::anomaly`]), the writer also reads the throttles
//! of the batch's pharmacies next to the locks, and after answering a committed batch it hands
//! the recorded certificates to a detection task of their own ([`crate::anomaly`]) and takes
//! the next batch at once: detection's reads never hold up issuing. The detection task
//! evaluates whatever has arrived since its last round in one go (so a slow round is followed
//! by a larger one, not by a queue), and its backlog is bounded ([`DETECTION_BACKLOG`]
//! certificates): a writer that outruns detection for long waits for it rather than letting
//! the backlog grow. An automatic lock therefore stops the certificates written after the
//! round that raised it, milliseconds later; [`Recorder::settled`] waits for that round.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dcc_store::audit::AuditRecord;
use dcc_store::ledger::{self, KeptResponse, LedgerEntry, RecentCount};
use dcc_store::locks::{self, LockScope};
use dcc_store::throttles::{self, Throttle};
use dcc_store::{Backend, Store, StoreError};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

use crate::anomaly::AnomalyDetection;
use crate::audit::AuditEvent;
use crate::limits::{DAY_SECONDS, LimitExceeded, RateLimits};

/// Jobs that may wait for the writer; senders wait when it is full.
pub const QUEUE_CAPACITY: usize = 4096;

/// Most jobs written in one transaction.
pub const MAX_BATCH: usize = 256;

/// Committed certificates that may wait for anomaly detection; beyond this the writer waits
/// for detection before it takes its next batch. A detection round that takes seconds (a
/// refresh that re-counts large windows) is absorbed: at 5,000 certificates/s this is 13 s.
pub const DETECTION_BACKLOG: usize = 65_536;

/// A freshly signed certificate to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedRecord {
    /// The ledger row (no personal data).
    pub entry: LedgerEntry,
    /// The `HC1:` text, kept until `keep_until` for idempotent retries.
    pub hc1: String,
    /// Unix seconds.
    pub keep_until: i64,
    /// The time of the audit entry, unix seconds.
    pub at: i64,
}

/// What became of an [`IssuedRecord`]. Anything but `Recorded` means nothing was recorded and
/// the certificate must not be handed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordOutcome {
    /// Ledger row, kept response and `certificate_issued` audit entry are committed.
    Recorded,
    /// The pharmacy was not active when the batch was written (suspended meanwhile).
    PharmacyNotActive,
    /// Issuance is locked for everyone or for this pharmacy (the kill switch).
    Locked {
        /// The lock's reason code.
        reason: String,
    },
    /// The pharmacy reached a rate limit.
    RateLimited(LimitExceeded),
    /// The UVCI or the pharmacy's idempotency key was taken already (in practice: a concurrent
    /// retry with the same key won): nothing was recorded.
    Conflict,
}

/// Why a job could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The writer task has stopped (the process is shutting down).
    #[error("the writer has stopped")]
    Stopped,
}

/// Handle to the writer task. Cheap to clone; the task ends when the last handle is dropped,
/// after writing what is queued.
#[derive(Debug, Clone)]
pub struct Recorder {
    sender: mpsc::Sender<Job>,
    counters: Arc<Counters>,
    anomaly: Option<Arc<AnomalyDetection>>,
}

/// The writer's checks before it records a certificate, and what it does after.
#[derive(Debug, Clone)]
pub struct RecordPolicy {
    /// Per-pharmacy ceilings.
    pub limits: RateLimits,
    /// Anomaly detection after every committed batch (and throttles read before it); `None`
    /// switches both off.
    pub anomaly: Option<Arc<AnomalyDetection>>,
}

impl RecordPolicy {
    /// These limits, without anomaly detection.
    pub fn limits_only(limits: RateLimits) -> Self {
        Self {
            limits,
            anomaly: None,
        }
    }
}

/// How the writer bounds and reports its transactions. The default bounds nothing and
/// measures nothing.
#[derive(Clone, Default)]
pub struct WriterSettings {
    /// The longest a transaction may take, connection included, before its jobs fail with
    /// [`StoreError::Unavailable`]; `None` waits as long as the database does.
    pub write_timeout: Option<Duration>,
    /// Measures every transaction, for metrics.
    pub timing: Option<WriteTiming>,
}

/// Reports the duration of each transaction the writer runs. `now` reads a monotonic clock,
/// passed in because this crate reads no clock itself; `observe` receives the duration and
/// the number of jobs, for committed and failed transactions alike.
#[derive(Clone)]
pub struct WriteTiming {
    /// A monotonic clock (`Instant::now` at the server's edge).
    pub now: fn() -> Instant,
    /// Called after every transaction with its duration and number of jobs.
    pub observe: Arc<dyn Fn(Duration, usize) + Send + Sync>,
}

impl std::fmt::Debug for WriteTiming {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("WriteTiming")
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for WriterSettings {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("WriterSettings")
            .field("write_timeout", &self.write_timeout)
            .field("timing", &self.timing.is_some())
            .finish()
    }
}

/// What the writer has done so far (for metrics and tests).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecorderStats {
    /// Transactions committed with a whole batch.
    pub batches: u64,
    /// Jobs in those batches.
    pub jobs: u64,
    /// The most jobs one batch held.
    pub largest_batch: u64,
}

#[derive(Debug, Default)]
struct Counters {
    batches: AtomicU64,
    jobs: AtomicU64,
    largest_batch: AtomicU64,
}

impl Recorder {
    /// Starts the writer task (on SQLite on a thread of its own, see [`spawn_on_own_thread`];
    /// else on the current tokio runtime) and, with anomaly detection on, the detection task
    /// on the current tokio runtime.
    pub fn start(store: Store, policy: RecordPolicy) -> Self {
        Self::start_with(store, policy, WriterSettings::default())
    }

    /// Starts the writer task with a bound on each transaction and/or its measurement.
    pub fn start_with(store: Store, policy: RecordPolicy, settings: WriterSettings) -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE_CAPACITY);
        let counters = Arc::new(Counters::default());
        let anomaly = policy.anomaly.clone();
        let detection = anomaly.as_ref().map(|anomaly| {
            let (sender, receiver) = mpsc::unbounded_channel();
            tokio::spawn(detect(store.clone(), anomaly.clone(), receiver));
            Detection {
                sender,
                backlog: Arc::new(Semaphore::new(DETECTION_BACKLOG)),
            }
        });
        let backend = store.backend();
        let writer = Writer {
            store,
            policy,
            settings,
            detection,
        };
        let writing = run(writer, receiver, counters.clone());
        match backend {
            Backend::Sqlite => spawn_on_own_thread(writing),
            _ => drop(tokio::spawn(writing)),
        }
        Self {
            sender,
            counters,
            anomaly,
        }
    }

    /// Anomaly detection, when it is on (for its counters).
    pub fn anomaly(&self) -> Option<&Arc<AnomalyDetection>> {
        self.anomaly.as_ref()
    }

    /// Batches and jobs committed so far.
    pub fn stats(&self) -> RecorderStats {
        RecorderStats {
            batches: self.counters.batches.load(Ordering::Relaxed),
            jobs: self.counters.jobs.load(Ordering::Relaxed),
            largest_batch: self.counters.largest_batch.load(Ordering::Relaxed),
        }
    }

    /// Records a certificate and its `certificate_issued` audit entry; returns once committed.
    pub async fn issued(&self, record: IssuedRecord) -> Result<RecordOutcome, RecordError> {
        self.submit(Work::Issued(record)).await
    }

    /// Appends an audit entry; returns once committed.
    pub async fn audit(&self, event: AuditEvent, at: i64) -> Result<(), RecordError> {
        self.submit(Work::Audit { event, at }).await.map(|_| ())
    }

    /// Returns once every job queued before it is written and, with anomaly detection on,
    /// evaluated by the detection task (tests and shutdown wait for the writer with it; it
    /// writes nothing).
    pub async fn settled(&self) -> Result<(), RecordError> {
        self.submit(Work::Barrier).await.map(|_| ())
    }

    /// Jobs waiting for the writer (for metrics).
    pub fn queue_depth(&self) -> usize {
        QUEUE_CAPACITY - self.sender.capacity()
    }

    async fn submit(&self, work: Work) -> Result<RecordOutcome, RecordError> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Job { work, reply })
            .await
            .map_err(|_| RecordError::Stopped)?;
        answer.await.map_err(|_| RecordError::Stopped)?
    }
}

struct Job {
    work: Work,
    reply: Reply,
}

#[expect(
    clippy::large_enum_variant,
    reason = "nearly every job is an issued record; boxing it would only add an allocation"
)]
enum Work {
    Issued(IssuedRecord),
    Audit {
        event: AuditEvent,
        at: i64,
    },
    /// Nothing to write; answered after the batch's anomaly evaluation.
    Barrier,
}

type Reply = oneshot::Sender<Result<RecordOutcome, RecordError>>;

/// What the writer hands to the detection task.
enum Detect {
    /// Certificates just committed, with their share of the backlog (released once evaluated).
    Recorded(Vec<LedgerEntry>, OwnedSemaphorePermit),
    /// Answered once everything handed over before it is evaluated.
    Barrier(Reply),
}

/// The writer's end of the detection task: its queue and the bound on what waits in it.
struct Detection {
    sender: mpsc::UnboundedSender<Detect>,
    /// One permit per certificate waiting for detection.
    backlog: Arc<Semaphore>,
}

/// What the writer task owns.
struct Writer {
    store: Store,
    policy: RecordPolicy,
    settings: WriterSettings,
    /// The detection task's queue, when anomaly detection is on.
    detection: Option<Detection>,
}

impl Writer {
    /// [`write`] within the configured bound, measured.
    async fn write(&self, works: &[Work]) -> Result<Vec<RecordOutcome>, StoreError> {
        let started = self.settings.timing.as_ref().map(|timing| (timing.now)());
        let writing = write(&self.store, &self.policy, works);
        let outcome = match self.settings.write_timeout {
            Some(limit) => tokio::time::timeout(limit, writing)
                .await
                .unwrap_or_else(|_| {
                    tracing::warn!(
                        jobs = works.len(),
                        limit_ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
                        "a write transaction timed out; its jobs fail"
                    );
                    Err(StoreError::Unavailable)
                }),
            None => writing.await,
        };
        if let (Some(timing), Some(started)) = (&self.settings.timing, started) {
            (timing.observe)(
                (timing.now)().saturating_duration_since(started),
                works.len(),
            );
        }
        outcome
    }
}

async fn run(writer: Writer, mut receiver: mpsc::Receiver<Job>, counters: Arc<Counters>) {
    let mut checkpoints = Checkpoints::take_over(&writer.store);
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        let mut barriers = Vec::new();
        let (works, replies): (Vec<Work>, Vec<_>) = jobs
            .drain(..)
            .filter_map(|job| match job.work {
                Work::Barrier => {
                    barriers.push(job.reply);
                    None
                }
                work => Some((work, job.reply)),
            })
            .unzip();
        // Positions in `works` of the certificates recorded, for detection.
        let mut recorded: Vec<usize> = Vec::new();
        let written = match works.is_empty() {
            true => None,
            false => Some(writer.write(&works).await),
        };
        match written {
            None => {}
            Some(Ok(outcomes)) => {
                let size = u64::try_from(outcomes.len()).unwrap_or(u64::MAX);
                counters.batches.fetch_add(1, Ordering::Relaxed);
                counters.jobs.fetch_add(size, Ordering::Relaxed);
                counters.largest_batch.fetch_max(size, Ordering::Relaxed);
                let answers = replies.into_iter().zip(outcomes).zip(&works);
                for (index, ((reply, outcome), work)) in answers.enumerate() {
                    if let (RecordOutcome::Recorded, Work::Issued(_)) = (&outcome, work) {
                        recorded.push(index);
                    }
                    // The request may have gone away; its record stands.
                    let _ = reply.send(Ok(outcome));
                }
            }
            Some(Err(error)) if works.len() == 1 => {
                if let Some(reply) = replies.into_iter().next() {
                    let _ = reply.send(Err(error.into()));
                }
            }
            Some(Err(batch_error)) if batch_error.is_unavailable() => {
                tracing::warn!(%batch_error, jobs = works.len(), "the database is unavailable; the batch's jobs fail");
                for reply in replies {
                    let _ = reply.send(Err(StoreError::Unavailable.into()));
                }
            }
            Some(Err(batch_error)) => {
                tracing::warn!(%batch_error, jobs = works.len(), "batch write failed; writing its jobs one by one");
                for (index, (work, reply)) in works.iter().zip(replies).enumerate() {
                    let outcome = writer.write(std::slice::from_ref(work)).await;
                    let outcome = match outcome {
                        Ok(outcomes) => outcomes.into_iter().next().ok_or(RecordError::Stopped),
                        Err(error) => Err(error.into()),
                    };
                    if let (Ok(RecordOutcome::Recorded), Work::Issued(_)) = (&outcome, work) {
                        recorded.push(index);
                    }
                    let _ = reply.send(outcome);
                }
            }
        }
        checkpoints.after_batch(&writer.store).await;
        // The batch is answered; detection takes it from here while the next batch is written.
        match &writer.detection {
            Some(detection) => {
                let count = u32::try_from(recorded.len()).unwrap_or(u32::MAX);
                if count > 0
                    && let Ok(permit) = detection.backlog.clone().acquire_many_owned(count).await
                {
                    let recorded = take_entries(works, &recorded);
                    // A stopped detection task (shutdown) has nothing left to evaluate.
                    let _ = detection.sender.send(Detect::Recorded(recorded, permit));
                }
                for barrier in barriers {
                    if let Err(mpsc::error::SendError(Detect::Barrier(barrier))) =
                        detection.sender.send(Detect::Barrier(barrier))
                    {
                        let _ = barrier.send(Err(RecordError::Stopped));
                    }
                }
            }
            None => {
                for barrier in barriers {
                    let _ = barrier.send(Ok(RecordOutcome::Recorded));
                }
            }
        }
    }
    checkpoints.finish().await;
}

/// At most how often the writer starts a checkpoint of SQLite's write-ahead log.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(100);

/// At most how often the writer completes a checkpoint itself, which lets the log start again
/// from its beginning.
const COMPLETE_CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);

/// The writer's checkpoints of SQLite's write-ahead log, taken over from the commits
/// ([`Store::defer_checkpoints`]), where SQLite would run one inside the commit that fills the
/// log past 1,000 pages, holding up the writer and every request waiting for it.
///
/// After a batch, at most every [`CHECKPOINT_INTERVAL`] and one at a time, a checkpoint runs on
/// a read connection while the writer goes on with the next batch; it copies the bulk. Such a
/// checkpoint never catches up with a writer that keeps appending, so at most every
/// [`COMPLETE_CHECKPOINT_INTERVAL`], right after one has finished, the writer completes it on
/// its own connection between two batches ([`Store::complete_checkpoint`]): little is left
/// to copy then, and the log starts again from its beginning instead of growing.
struct Checkpoints {
    /// Set once the store has handed its checkpoints over; until then SQLite keeps them.
    deferred: Arc<std::sync::atomic::AtomicBool>,
    started: tokio::time::Instant,
    completed: tokio::time::Instant,
    running: Option<tokio::task::JoinHandle<()>>,
}

impl Checkpoints {
    /// Asks the store for its checkpoints in a task of its own, so that a writer connection
    /// held elsewhere at start-up delays only that, not the first batch's answer. Nothing
    /// changes where the store has no such log.
    fn take_over(store: &Store) -> Self {
        let deferred = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (flag, store) = (deferred.clone(), store.clone());
        drop(tokio::spawn(async move {
            match store.defer_checkpoints().await {
                Ok(taken) => flag.store(taken, Ordering::Release),
                Err(error) => tracing::warn!(%error, "checkpoints stay with SQLite's commits"),
            }
        }));
        Self {
            deferred,
            started: tokio::time::Instant::now(),
            completed: tokio::time::Instant::now(),
            running: None,
        }
    }

    async fn after_batch(&mut self, store: &Store) {
        if !self.deferred.load(Ordering::Acquire)
            || self
                .running
                .as_ref()
                .is_some_and(|task| !task.is_finished())
        {
            return;
        }
        if self.running.take().is_some() && self.completed.elapsed() >= COMPLETE_CHECKPOINT_INTERVAL
        {
            self.completed = tokio::time::Instant::now();
            if let Err(error) = store.complete_checkpoint().await {
                tracing::warn!(%error, "checkpoint of the write-ahead log failed; the next one retries");
            }
            return;
        }
        if self.started.elapsed() < CHECKPOINT_INTERVAL {
            return;
        }
        self.started = tokio::time::Instant::now();
        let store = store.clone();
        self.running = Some(tokio::spawn(async move {
            if let Err(error) = store.checkpoint().await {
                tracing::warn!(%error, "checkpoint of the write-ahead log failed; the next one retries");
            }
        }));
    }

    /// Waits for the checkpoint in progress (the writer is stopping).
    async fn finish(self) {
        if let Some(task) = self.running {
            let _ = task.await;
        }
    }
}

/// Runs the SQLite writer on a thread of its own, with a single-threaded runtime.
///
/// Each batch is several round trips to SQLite's connection thread, and the writer is the one
/// task every request waits for. Woken from that thread, a task of the shared runtime queues
/// behind the request tasks the busy workers are running (the global queue is only looked at
/// every few dozen polls); on its own runtime the writer is polled as soon as an answer is
/// there. The thread ends with the writer, when the last [`Recorder`] handle is dropped. Should
/// the thread or its runtime not start, the writer runs on the shared runtime as a fallback.
fn spawn_on_own_thread(writing: impl Future<Output = ()> + Send + 'static) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::warn!(%error, "the writer's own runtime did not start; it shares the server's");
            drop(tokio::spawn(writing));
            return;
        }
    };
    let (start, started) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("dcc-writer".to_owned())
        .spawn(move || {
            if let Ok(writing) = started.recv() {
                runtime.block_on(writing);
            }
        });
    match spawned {
        // The thread only waits for its future, so handing it over cannot fail.
        Ok(_) => drop(start.send(writing)),
        Err(error) => {
            tracing::warn!(%error, "the writer's thread did not start; it shares the server's runtime");
            drop(tokio::spawn(writing));
        }
    }
}

/// The ledger entries of the works at `positions` (ascending), moved out of the batch.
fn take_entries(works: Vec<Work>, positions: &[usize]) -> Vec<LedgerEntry> {
    let mut wanted = positions.iter().copied().peekable();
    works
        .into_iter()
        .enumerate()
        .filter_map(|(index, work)| match work {
            Work::Issued(record) if wanted.next_if_eq(&index).is_some() => Some(record.entry),
            _ => None,
        })
        .collect()
}

/// Most committed batches one detection round takes together.
const DETECTION_ROUND: usize = 1024;

/// The detection task: each round evaluates every certificate handed over since the last one,
/// then answers the barriers that came with them.
async fn detect(
    store: Store,
    anomaly: Arc<AnomalyDetection>,
    mut receiver: mpsc::UnboundedReceiver<Detect>,
) {
    let mut handed = Vec::with_capacity(DETECTION_ROUND);
    while receiver.recv_many(&mut handed, DETECTION_ROUND).await > 0 {
        let mut recorded = Vec::new();
        let mut permits = Vec::new();
        let mut barriers = Vec::new();
        for item in handed.drain(..) {
            match item {
                Detect::Recorded(entries, permit) => {
                    recorded.extend(entries);
                    permits.push(permit);
                }
                Detect::Barrier(reply) => barriers.push(reply),
            }
        }
        if !recorded.is_empty() {
            let entries: Vec<&LedgerEntry> = recorded.iter().collect();
            anomaly.after_commit(&store, &entries).await;
        }
        drop(permits);
        for barrier in barriers {
            let _ = barrier.send(Ok(RecordOutcome::Recorded));
        }
    }
}

/// Writes the works in one transaction and returns one outcome per work, in order.
async fn write(
    store: &Store,
    policy: &RecordPolicy,
    works: &[Work],
) -> Result<Vec<RecordOutcome>, StoreError> {
    let mut tx = store.begin().await?;
    let mut checks = Checks::read(&mut tx, policy, works).await?;
    let mut decided: Vec<Option<RecordOutcome>> = Vec::with_capacity(works.len());
    let mut candidates = Vec::with_capacity(works.len());
    for work in works {
        let Work::Issued(record) = work else {
            decided.push(Some(RecordOutcome::Recorded));
            continue;
        };
        let telematik_id = record.entry.telematik_id.as_str();
        let refusal = if !checks.active.contains(telematik_id) {
            Some(RecordOutcome::PharmacyNotActive)
        } else if let Some(reason) = checks.lock_reason(telematik_id, record.entry.operator_id) {
            Some(RecordOutcome::Locked {
                reason: reason.to_owned(),
            })
        } else {
            let operator = record.entry.operator_id;
            let limits = checks.limits(&policy.limits, telematik_id);
            let pharmacy_count = checks.counts.entry(telematik_id.to_owned()).or_default();
            let operator_count = operator.map(|id| *checks.operator_counts.entry(id).or_default());
            let verdict = limits
                .check(pharmacy_count.long, pharmacy_count.short)
                .and_then(|()| match operator_count {
                    Some(count) => limits.check_operator(count.long, count.short),
                    None => Ok(()),
                });
            match verdict {
                Err(exceeded) => Some(RecordOutcome::RateLimited(exceeded)),
                Ok(()) => {
                    pharmacy_count.long += 1;
                    pharmacy_count.short += 1;
                    if let Some(count) = operator.and_then(|id| checks.operator_counts.get_mut(&id))
                    {
                        count.long += 1;
                        count.short += 1;
                    }
                    candidates.push(record.entry.clone());
                    None
                }
            }
        };
        decided.push(refusal);
    }
    let inserted = ledger::insert_batch(&mut tx, &candidates).await?;
    let mut outcomes = Vec::with_capacity(works.len());
    let mut responses = Vec::with_capacity(inserted.len());
    let mut events = Vec::with_capacity(works.len());
    for (work, refusal) in works.iter().zip(decided) {
        match (work, refusal) {
            (Work::Audit { event, at }, _) => {
                events.push((event.clone(), *at));
                outcomes.push(RecordOutcome::Recorded);
            }
            (Work::Issued(_), Some(refusal)) => outcomes.push(refusal),
            (Work::Issued(record), None) if inserted.contains(&record.entry.uvci) => {
                responses.push(KeptResponse {
                    uvci: &record.entry.uvci,
                    hc1: &record.hc1,
                    keep_until: record.keep_until,
                });
                events.push((issued_event(&record.entry), record.at));
                outcomes.push(RecordOutcome::Recorded);
            }
            (Work::Issued(_), None) => outcomes.push(RecordOutcome::Conflict),
            (Work::Barrier, _) => outcomes.push(RecordOutcome::Recorded),
        }
    }
    ledger::insert_responses(&mut tx, &responses).await?;
    let records: Vec<AuditRecord<'_>> = events
        .iter()
        .map(|(event, at)| crate::audit::audit_record(event, *at))
        .collect();
    dcc_store::audit::append_batch(&mut tx, &records).await?;
    dcc_store::commit(tx).await?;
    Ok(outcomes)
}

/// What the writer reads before deciding a batch: which pharmacies are active, the locks that
/// apply, throttled pharmacies, and the pharmacies' recent counts.
struct Checks {
    active: HashSet<String>,
    all_lock: Option<String>,
    pharmacy_locks: HashMap<String, String>,
    operator_locks: HashMap<String, String>,
    throttles: HashMap<String, Throttle>,
    counts: HashMap<String, RecentCount>,
    operator_counts: HashMap<i64, RecentCount>,
}

impl Checks {
    async fn read(
        tx: &mut dcc_store::Tx<'_>,
        policy: &RecordPolicy,
        works: &[Work],
    ) -> Result<Self, StoreError> {
        let mut latest = i64::MIN;
        let mut pharmacies = HashSet::new();
        for work in works {
            if let Work::Issued(record) = work {
                pharmacies.insert(record.entry.telematik_id.as_str());
                latest = latest.max(record.at);
            }
        }
        if pharmacies.is_empty() {
            return Ok(Self {
                active: HashSet::new(),
                all_lock: None,
                pharmacy_locks: HashMap::new(),
                operator_locks: HashMap::new(),
                throttles: HashMap::new(),
                counts: HashMap::new(),
                operator_counts: HashMap::new(),
            });
        }
        let pharmacies: Vec<&str> = pharmacies.into_iter().collect();
        let active = dcc_store::pharmacies::active_among(tx, &pharmacies).await?;
        let mut all_lock = None;
        let mut pharmacy_locks = HashMap::new();
        for lock in locks::applying_to_pharmacies(tx, &pharmacies).await? {
            match lock.scope {
                LockScope::All => all_lock = Some(lock.reason),
                LockScope::Pharmacy(telematik_id) => {
                    pharmacy_locks.insert(telematik_id, lock.reason);
                }
                LockScope::Operator(_) => {}
            }
        }
        let mut operator_locks = HashMap::new();
        let mut operator_counts = HashMap::new();
        let operators: Vec<i64> = works
            .iter()
            .filter_map(|work| match work {
                Work::Issued(record) => record.entry.operator_id,
                Work::Audit { .. } | Work::Barrier => None,
            })
            .collect::<HashSet<i64>>()
            .into_iter()
            .collect();
        if !operators.is_empty() {
            for lock in locks::operator_locks(tx).await? {
                if let LockScope::Operator(id) = lock.scope {
                    operator_locks.insert(id, lock.reason);
                }
            }
            if policy.limits.operator_per_day > 0 || policy.limits.operator_burst > 0 {
                operator_counts = ledger::recent_counts_by_operator(
                    tx,
                    &operators,
                    latest - DAY_SECONDS,
                    latest - policy.limits.burst_window_seconds,
                )
                .await?;
            }
        }
        let throttles = match policy.anomaly {
            Some(_) => throttles::in_force(tx, &pharmacies, latest).await?,
            None => HashMap::new(),
        };
        // Counting is only needed where a ceiling applies: every pharmacy when the configured
        // pharmacy limits are on, else only the throttled ones (a throttle sets ceilings).
        let limited = policy.limits.pharmacy_per_day > 0 || policy.limits.pharmacy_burst > 0;
        let counted: Vec<&str> = pharmacies
            .iter()
            .copied()
            .filter(|telematik_id| limited || throttles.contains_key(*telematik_id))
            .collect();
        let counts = match counted.is_empty() {
            true => HashMap::new(),
            false => {
                ledger::recent_counts(
                    tx,
                    &counted,
                    latest - DAY_SECONDS,
                    latest - policy.limits.burst_window_seconds,
                )
                .await?
            }
        };
        Ok(Self {
            active,
            all_lock,
            pharmacy_locks,
            operator_locks,
            throttles,
            counts,
            operator_counts,
        })
    }

    /// The limits of this pharmacy: the configured ones, lowered while it is throttled.
    fn limits(&self, configured: &RateLimits, telematik_id: &str) -> RateLimits {
        match self.throttles.get(telematik_id) {
            Some(throttle) => {
                configured.lowered(throttle.pharmacy_burst, throttle.pharmacy_per_day)
            }
            None => *configured,
        }
    }

    /// The reason of the lock that stops this pharmacy or operator, if any (`all` first).
    fn lock_reason(&self, telematik_id: &str, operator_id: Option<i64>) -> Option<&str> {
        self.all_lock
            .as_deref()
            .or_else(|| self.pharmacy_locks.get(telematik_id).map(String::as_str))
            .or_else(|| {
                operator_id
                    .and_then(|id| self.operator_locks.get(&id.to_string()))
                    .map(String::as_str)
            })
    }
}

fn issued_event(entry: &LedgerEntry) -> AuditEvent {
    AuditEvent::CertificateIssued {
        telematik_id: entry.telematik_id.clone(),
        uvci: entry.uvci.clone(),
        certificate_type: entry.certificate_type.as_str(),
        kid: entry.kid.clone(),
        operator_id: entry.operator_id,
    }
}
