//! A fleet rollout's decisions, pure: given its plan and where each client stands, what
//! to do next — start these clients, wait, or end with a verdict. The engine keeps the
//! state in the catalog and acts; whoever continues a rollout (after a crash, on a peer)
//! asks the same question of the same state and gets the same answer.
//!
//! The rules: the canary clients go first, all at once; a canary that fails halts the
//! rollout before any other client is touched; once every canary succeeded, the soak
//! time passes; then the other clients, at most `batch` at once. When more clients
//! failed than `max_failures` allows, no client is started any more, the running ones
//! finish, and the rollout is halted. Paused: nothing new starts. Aborted: nothing new
//! starts, and it ends when the running ones have finished.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::client::ClientId;

/// What a rollout was asked to do.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Deployed first; one failing halts the rollout.
    pub canary: Vec<ClientId>,
    /// The others, in order.
    pub rest: Vec<ClientId>,
    /// At most this many clients deploying at once (at least 1).
    pub batch: usize,
    /// Failures tolerated; one more halts the rollout.
    pub max_failures: usize,
    /// Seconds to wait after the last canary succeeded.
    pub soak_secs: u64,
}

/// Where one client of a rollout stands.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "status")]
pub enum ClientState {
    /// Not started yet.
    Pending,
    /// Already as the rollout would make it: not deployed.
    UpToDate,
    /// Its deploy is under way.
    Running,
    /// Deployed and healthy, at this time (seconds since the epoch).
    Succeeded {
        at: u64,
    },
    Failed,
}

/// How a rollout stands, as a whole.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Running,
    Paused,
    Halted,
    Succeeded,
    Aborted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Halted => "halted",
            Self::Succeeded => "succeeded",
            Self::Aborted => "aborted",
        }
    }

    /// Whether nothing more will happen.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Halted | Self::Succeeded | Self::Aborted)
    }
}

/// What an operator asked of a running rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Request {
    #[default]
    Go,
    Pause,
    Abort,
}

/// What to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Start these clients' deploys now.
    Start(Vec<ClientId>),
    /// Nothing to start: wait for a running deploy, or until this time (the soak's
    /// end), or for an operator (paused).
    Wait { until: Option<u64> },
    /// Over, with this verdict.
    End(Status),
}

fn state(states: &BTreeMap<ClientId, ClientState>, c: ClientId) -> ClientState {
    states.get(&c).copied().unwrap_or(ClientState::Pending)
}

/// The next step of `plan` with clients in `states` (absent: pending), as asked by
/// `request`, at time `now` (seconds since the epoch).
pub fn next(
    plan: &Plan,
    states: &BTreeMap<ClientId, ClientState>,
    request: Request,
    now: u64,
) -> Next {
    let all = || plan.canary.iter().chain(&plan.rest).copied();
    let count = |f: fn(ClientState) -> bool| all().filter(|c| f(state(states, *c))).count();
    let running = count(|s| s == ClientState::Running);
    let failed = count(|s| s == ClientState::Failed);
    let canary_failed = plan
        .canary
        .iter()
        .any(|c| state(states, *c) == ClientState::Failed);
    let stop = match request {
        Request::Abort => Some(Status::Aborted),
        _ if canary_failed || failed > plan.max_failures => Some(Status::Halted),
        _ => None,
    };
    if let Some(end) = stop {
        return if running == 0 {
            Next::End(end)
        } else {
            Next::Wait { until: None }
        };
    }
    if request == Request::Pause {
        return Next::Wait { until: None };
    }
    let pending = |cs: &[ClientId]| -> Vec<ClientId> {
        cs.iter()
            .copied()
            .filter(|c| state(states, *c) == ClientState::Pending)
            .collect()
    };
    // The canaries, all at once.
    let canary = pending(&plan.canary);
    if !canary.is_empty() {
        return Next::Start(canary);
    }
    if plan
        .canary
        .iter()
        .any(|c| state(states, *c) == ClientState::Running)
    {
        return Next::Wait { until: None };
    }
    let soaked = plan
        .canary
        .iter()
        .filter_map(|c| match state(states, *c) {
            ClientState::Succeeded { at } => Some(at),
            _ => None,
        })
        .max()
        .map(|at| at + plan.soak_secs);
    if let Some(until) = soaked
        && now < until
    {
        return Next::Wait { until: Some(until) };
    }
    let rest = pending(&plan.rest);
    let slots = plan.batch.max(1).saturating_sub(running);
    if !rest.is_empty() && slots > 0 {
        return Next::Start(rest.into_iter().take(slots).collect());
    }
    if rest.is_empty() && running == 0 {
        return Next::End(Status::Succeeded);
    }
    Next::Wait { until: None }
}

/// What one of `drivers` live drivers may start of `next`, with `mine` deploys of the
/// batch under way already: its fair share of the batch (at least one), so that
/// servers on one catalog share a rollout's work. Canaries go all at once, whoever
/// starts them.
pub fn my_share(plan: &Plan, next: Next, drivers: usize, mine: usize) -> Next {
    let Next::Start(clients) = next else {
        return next;
    };
    if clients.iter().all(|c| plan.canary.contains(c)) {
        return Next::Start(clients);
    }
    let share = plan.batch.max(1).div_ceil(drivers.max(1));
    let room = share.saturating_sub(mine);
    if room == 0 {
        return Next::Wait { until: None };
    }
    Next::Start(clients.into_iter().take(room).collect())
}

/// The status to show while a rollout is not over.
pub fn shown(next: &Next, request: Request) -> Status {
    match (next, request) {
        (Next::End(s), _) => *s,
        (_, Request::Pause) => Status::Paused,
        _ => Status::Running,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(ns: &[u64]) -> Vec<ClientId> {
        ns.iter()
            .map(|n| ClientId::from_number(*n).unwrap())
            .collect()
    }

    fn plan(canary: &[u64], rest: &[u64], batch: usize, max_failures: usize) -> Plan {
        Plan {
            canary: ids(canary),
            rest: ids(rest),
            batch,
            max_failures,
            soak_secs: 60,
        }
    }

    fn with(pairs: &[(u64, ClientState)]) -> BTreeMap<ClientId, ClientState> {
        pairs
            .iter()
            .map(|(n, s)| (ClientId::from_number(*n).unwrap(), *s))
            .collect()
    }

    use ClientState::*;

    #[test]
    fn the_canary_goes_first_and_its_failure_halts_before_anyone_else() {
        let p = plan(&[7], &[1, 2, 3], 2, 5);
        assert_eq!(next(&p, &with(&[]), Request::Go, 0), Next::Start(ids(&[7])));
        assert_eq!(
            next(&p, &with(&[(7, Running)]), Request::Go, 0),
            Next::Wait { until: None }
        );
        // Failed: halted at once, whatever max_failures allows; no one else started.
        assert_eq!(
            next(&p, &with(&[(7, Failed)]), Request::Go, 0),
            Next::End(Status::Halted)
        );
    }

    #[test]
    fn after_the_canary_the_soak_then_batches_of_at_most_n() {
        let p = plan(&[7], &[1, 2, 3, 4, 5], 2, 0);
        let ok = Succeeded { at: 100 };
        assert_eq!(
            next(&p, &with(&[(7, ok)]), Request::Go, 130),
            Next::Wait { until: Some(160) }
        );
        assert_eq!(
            next(&p, &with(&[(7, ok)]), Request::Go, 160),
            Next::Start(ids(&[1, 2]))
        );
        // One of the two done: one slot.
        let s = with(&[(7, ok), (1, ok), (2, Running)]);
        assert_eq!(next(&p, &s, Request::Go, 200), Next::Start(ids(&[3])));
        let s = with(&[(7, ok), (1, ok), (2, Running), (3, Running)]);
        assert_eq!(next(&p, &s, Request::Go, 200), Next::Wait { until: None });
        // Up-to-date clients are never started; all done: succeeded.
        let s = with(&[(7, ok), (1, ok), (2, ok), (3, ok), (4, UpToDate), (5, ok)]);
        assert_eq!(next(&p, &s, Request::Go, 300), Next::End(Status::Succeeded));
    }

    #[test]
    fn max_failures_counts_concurrent_failures_and_lets_the_running_finish() {
        let p = plan(&[], &[1, 2, 3, 4, 5, 6], 3, 1);
        // One failure is tolerated: the next client starts.
        let s = with(&[(1, Failed), (2, Running), (3, Running)]);
        assert_eq!(next(&p, &s, Request::Go, 0), Next::Start(ids(&[4])));
        // Two failed while a third runs: nothing new, wait for it, then halted.
        let s = with(&[(1, Failed), (2, Failed), (3, Running), (4, Running)]);
        assert_eq!(next(&p, &s, Request::Go, 0), Next::Wait { until: None });
        let s = with(&[
            (1, Failed),
            (2, Failed),
            (3, Succeeded { at: 1 }),
            (4, Failed),
        ]);
        assert_eq!(next(&p, &s, Request::Go, 0), Next::End(Status::Halted));
    }

    #[test]
    fn pause_starts_nothing_and_abort_ends_when_the_running_finish() {
        let p = plan(&[], &[1, 2, 3], 1, 0);
        let s = with(&[(1, Succeeded { at: 1 })]);
        let n = next(&p, &s, Request::Pause, 10);
        assert_eq!(n, Next::Wait { until: None });
        assert_eq!(shown(&n, Request::Pause), Status::Paused);
        assert_eq!(next(&p, &s, Request::Go, 10), Next::Start(ids(&[2])));
        let s = with(&[(1, Succeeded { at: 1 }), (2, Running)]);
        assert_eq!(next(&p, &s, Request::Abort, 10), Next::Wait { until: None });
        let s = with(&[(1, Succeeded { at: 1 }), (2, Succeeded { at: 5 })]);
        assert_eq!(next(&p, &s, Request::Abort, 10), Next::End(Status::Aborted));
        assert!(Status::Aborted.is_final() && !Status::Paused.is_final());
    }

    #[test]
    fn drivers_share_the_batch_and_canaries_go_at_once() {
        let p = plan(&[9], &[1, 2, 3, 4, 5], 4, 0);
        let start = |ns: &[u64]| Next::Start(ids(ns));
        // Alone: the whole batch.
        assert_eq!(
            my_share(&p, start(&[1, 2, 3, 4]), 1, 0),
            start(&[1, 2, 3, 4])
        );
        // One of two: half of it, less what it runs already.
        assert_eq!(my_share(&p, start(&[1, 2, 3, 4]), 2, 0), start(&[1, 2]));
        assert_eq!(my_share(&p, start(&[3, 4]), 2, 1), start(&[3]));
        assert_eq!(
            my_share(&p, start(&[3, 4]), 2, 2),
            Next::Wait { until: None }
        );
        // One of three with a batch of 4: two each (rounded up), never none.
        assert_eq!(my_share(&p, start(&[1, 2, 3]), 3, 0), start(&[1, 2]));
        assert_eq!(my_share(&p, start(&[1]), 9, 0), start(&[1]));
        // Canaries are not shared out.
        assert_eq!(my_share(&p, start(&[9]), 4, 3), start(&[9]));
        assert_eq!(
            my_share(&p, Next::End(Status::Succeeded), 2, 0),
            Next::End(Status::Succeeded)
        );
    }
}
