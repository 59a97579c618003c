//! Group commit for submissions: new jobs of concurrent submit calls that
//! arrive while an insert is in flight go in together, as one statement and
//! one commit. On SQLite every commit waits for its `fsync` and writers take
//! turns, so sixty-four clients submitting one job each would otherwise
//! commit one job at a time; on PostgreSQL it saves a commit and a round trip
//! per call.
//!
//! Nothing waits for company: a lone call is inserted at once, and a batch
//! is whatever queued up meanwhile. A batch that fails is retried call by
//! call, so one bad call fails alone and every answer is that call's own.

use std::sync::Arc;

use tokio::sync::{Mutex, mpsc, oneshot};

use crate::domain::Job;
use crate::error::{Error, Result};
use crate::repository::{CHUNK, Repository};

/// Calls that may wait for a lane before submitters are held back.
const QUEUE: usize = 4096;

struct Pending {
    jobs: Vec<Job>,
    answer: oneshot::Sender<Result<Vec<Job>>>,
}

pub struct InsertBatcher {
    queue: mpsc::Sender<Pending>,
}

impl InsertBatcher {
    /// Starts `lanes` inserting tasks (more than one only helps a database
    /// that takes concurrent writers); they end when the batcher is dropped.
    pub fn start(repo: Arc<dyn Repository>, lanes: usize) -> Self {
        let (queue, waiting) = mpsc::channel(QUEUE);
        let waiting = Arc::new(Mutex::new(waiting));
        for _ in 0..lanes.max(1) {
            tokio::spawn(lane(repo.clone(), waiting.clone()));
        }
        Self { queue }
    }

    /// Stores `jobs`, all or none, and gives them back once committed.
    pub async fn insert(&self, jobs: Vec<Job>) -> Result<Vec<Job>> {
        let (answer, answered) = oneshot::channel();
        let stopped = || Error::Internal("the submission writer has stopped".into());
        self.queue.send(Pending { jobs, answer }).await.map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }
}

async fn lane(repo: Arc<dyn Repository>, waiting: Arc<Mutex<mpsc::Receiver<Pending>>>) {
    loop {
        let batch = {
            let mut waiting = waiting.lock().await;
            let Some(first) = waiting.recv().await else {
                return;
            };
            let mut rows = first.jobs.len();
            let mut batch = vec![first];
            while rows < CHUNK {
                match waiting.try_recv() {
                    Ok(next) => {
                        rows += next.jobs.len();
                        batch.push(next);
                    }
                    Err(_) => break,
                }
            }
            batch
        };
        write(&*repo, batch).await;
    }
}

async fn write(repo: &dyn Repository, batch: Vec<Pending>) {
    let sizes: Vec<usize> = batch.iter().map(|p| p.jobs.len()).collect();
    let mut all = Vec::with_capacity(sizes.iter().sum());
    let mut answers = Vec::with_capacity(batch.len());
    for Pending { jobs, answer } in batch {
        all.extend(jobs);
        answers.push(answer);
    }
    let together = repo.insert_jobs(&all).await;
    let mut pieces = Vec::with_capacity(sizes.len());
    for size in sizes.iter().rev() {
        pieces.push(all.split_off(all.len() - size));
    }
    pieces.reverse();
    let mut pairs = pieces.into_iter().zip(answers);
    match together {
        Ok(()) => {
            for (jobs, answer) in pairs {
                let _ = answer.send(Ok(jobs));
            }
        }
        Err(e) if sizes.len() == 1 => {
            if let Some((_, answer)) = pairs.next() {
                let _ = answer.send(Err(e));
            }
        }
        // Nothing of the batch was stored: each call again on its own.
        Err(_) => {
            for (jobs, answer) in pairs {
                let _ = answer.send(repo.insert_jobs(&jobs).await.map(|()| jobs));
            }
        }
    }
}
