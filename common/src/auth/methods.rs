//! The scope of every RPC of Brigade's two services, for the services to pass
//! to [`AuthLayer`](super::AuthLayer). The tests below fail when an RPC is
//! added to a proto without a scope here.

use super::grpc::MethodScopes;
use super::scope::Scope::{self, Admin, Read, Submit, Work};

pub const JOB_QUEUE_SERVICE: &str = "brigade.jobqueue.v1.JobQueue";
pub const RECIPE_TYPES_SERVICE: &str = "brigade.recipetypes.v1.RecipeTypes";

const JOB_QUEUE: &[(&str, Scope)] = &[
    ("ListServices", Read),
    ("GetService", Read),
    ("CreateService", Admin),
    // Changes name, description and schemas; TopChef workers that PATCH only to
    // check in should move to Heartbeat (work).
    ("UpdateService", Admin),
    ("Heartbeat", Work),
    ("GetServiceRevision", Read),
    ("GetServiceStats", Read),
    ("SubmitJob", Submit),
    ("SubmitJobs", Submit),
    ("ListJobs", Read),
    ("GetJob", Read),
    // TopChef's PATCH of status and results is how its workers finish a job.
    ("UpdateJob", Work),
    ("GetQueue", Read),
    ("NextJob", Read),
    ("ClaimJobs", Work),
    ("ExtendLease", Work),
    ("CompleteJob", Work),
    ("CompleteJobs", Work),
    ("FailJob", Work),
    ("CancelJob", Admin),
    ("WatchQueue", Read),
    ("WatchJob", Read),
    ("ValidateJson", Read),
    // Called by recipe-types with its own service token.
    ("ResolveJobTypes", Read),
    // Steering the queue, like cancel.
    ("RetryJob", Admin),
    ("DeleteJob", Admin),
    ("CancelJobs", Admin),
    ("RetryJobs", Admin),
    ("CreateToken", Admin),
    ("ListTokens", Admin),
    ("RevokeToken", Admin),
    // The gateway and recipe-types ask with their own (admin) service tokens.
    ("Authenticate", Admin),
];

const RECIPE_TYPES: &[(&str, Scope)] = &[
    ("ListRecipeTypes", Read),
    ("GetRecipeType", Read),
    ("CreateRecipeType", Admin),
    ("UpdateRecipeType", Admin),
    ("ValidateRecipeType", Read),
    ("ListRevisions", Read),
    ("GetRevision", Read),
    // Sent by job-queue's outbox with job-queue's own service token.
    ("NotifyJobTypeRevision", Admin),
    ("CreateRecipe", Submit),
    ("GetRecipe", Read),
    ("ListRecipes", Read),
    ("CancelRecipe", Admin),
    ("ReprocessRecipe", Submit),
    ("WatchRecipe", Read),
    ("NotifyJobStatus", Admin),
    ("NotifyJobStatuses", Admin),
];

fn table(service: &str, methods: &[(&str, Scope)]) -> MethodScopes {
    let paths: Vec<(String, Scope)> = methods
        .iter()
        .map(|(method, scope)| (format!("/{service}/{method}"), *scope))
        .collect();
    let borrowed: Vec<(&str, Scope)> = paths.iter().map(|(p, s)| (p.as_str(), *s)).collect();
    MethodScopes::new(&borrowed)
}

pub fn job_queue() -> MethodScopes {
    table(JOB_QUEUE_SERVICE, JOB_QUEUE)
}

pub fn recipe_types() -> MethodScopes {
    table(RECIPE_TYPES_SERVICE, RECIPE_TYPES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rpc_has_a_scope_and_no_scope_is_stale() {
        for (service, scopes) in [(JOB_QUEUE_SERVICE, job_queue()), (RECIPE_TYPES_SERVICE, recipe_types())] {
            let all = super::super::grpc::method_paths(brigade_proto::FILE_DESCRIPTOR_SET, service);
            assert!(!all.is_empty(), "{service} not found in the descriptor set");
            let undeclared = scopes.undeclared(brigade_proto::FILE_DESCRIPTOR_SET, service);
            assert!(undeclared.is_empty(), "RPCs without a scope: {undeclared:?}");
            let stale = scopes.unknown(brigade_proto::FILE_DESCRIPTOR_SET, service);
            assert!(stale.is_empty(), "scopes for RPCs that do not exist: {stale:?}");
        }
    }

    #[test]
    fn undeclared_lists_what_is_missing() {
        let partial = MethodScopes::new(&[("/brigade.jobqueue.v1.JobQueue/ClaimJobs", Work)]);
        let missing = partial.undeclared(brigade_proto::FILE_DESCRIPTOR_SET, JOB_QUEUE_SERVICE);
        assert!(missing.contains(&"/brigade.jobqueue.v1.JobQueue/CancelJob".to_owned()));
        assert!(!missing.contains(&"/brigade.jobqueue.v1.JobQueue/ClaimJobs".to_owned()));
    }
}
