use serde_json::json;

use crate::definition::Resolved;
use crate::engine::test_support::*;
use crate::engine::*;

#[test]
fn instance_json_has_scales_shape() {
    let def = parse(json!({"nodes": {
        "node_a": job("job-type-1", json!([]), json!({})),
        "node_b": job("job-type-1", json!([{"name": "node_a"}]), json!({})),
        "node_c": recipe_node("recipe-type-1", 5, json!([{"name": "node_b"}]), json!({})),
        "node_d": cond_node(json!([{"name": "node_a"}]), json!({}), json!({"files": [], "json": []}),
            json!({"filters": [{"name": "x", "type": "integer", "condition": "==", "values": [1]}]})),
    }}));
    let types = job_type(
        Resolved::default(),
        "job-type-1",
        Default::default(),
        Default::default(),
    );
    let data = RecipeData::default();
    let mut state = RecipeState::default();
    step(&def, &types, &data, &mut state);
    complete(&mut state, "node_a", json!({}));
    step(&def, &types, &data, &mut state);
    complete(&mut state, "node_b", json!({}));
    step(&def, &types, &data, &mut state);
    let child = RecipeCounts {
        jobs_total: 12,
        jobs_blocked: 2,
        jobs_queued: 3,
        jobs_running: 2,
        jobs_failed: 1,
        jobs_completed: 4,
        sub_recipes_total: 3,
        sub_recipes_completed: 1,
        ..RecipeCounts::default()
    };
    if let Some(NodeFacts::SubRecipe(sub)) = state.nodes.get_mut("node_c") {
        sub.counts = child;
    }
    let shown = serde_json::to_value(recipe_details(&def, &state)).unwrap_or_default();
    assert_eq!(
        shown,
        json!({"nodes": {
            "node_a": {"dependencies": [], "node_type": {"node_type": "job", "job_type_name": "job-type-1",
                "job_type_version": "1.0", "job_type_revision": 1, "job_id": "job-node_a", "status": "COMPLETED"}},
            "node_b": {"dependencies": [{"name": "node_a"}], "node_type": {"node_type": "job",
                "job_type_name": "job-type-1", "job_type_version": "1.0", "job_type_revision": 1,
                "job_id": "job-node_b", "status": "COMPLETED"}},
            "node_c": {"dependencies": [{"name": "node_b"}], "node_type": {"node_type": "recipe",
                "recipe_type_name": "recipe-type-1", "recipe_type_revision": 5, "recipe_id": "recipe-node_c",
                "is_completed": false, "jobs_total": 12, "jobs_pending": 0, "jobs_blocked": 2, "jobs_queued": 3,
                "jobs_running": 2, "jobs_failed": 1, "jobs_completed": 4, "jobs_canceled": 0,
                "sub_recipes_total": 3, "sub_recipes_completed": 1}},
            "node_d": {"dependencies": [{"name": "node_a"}], "node_type": {"node_type": "condition",
                "condition_id": null, "is_processed": true, "is_accepted": false}},
        }})
    );
    let back: Result<RecipeInstance, _> = serde_json::from_value(shown);
    assert_eq!(back.ok(), Some(recipe_details(&def, &state)));

    let counts = recipe_counts(&def, &state);
    assert_eq!((counts.jobs_total, counts.jobs_completed), (14, 6));
    assert_eq!((counts.sub_recipes_total, counts.sub_recipes_completed), (4, 1));
}

#[test]
fn nodes_not_run_yet_show_no_ids() {
    let def = parse(json!({"nodes": {
        "a": job("w", json!([]), json!({})),
        "r": recipe_node("sub", 1, json!([{"name": "a"}]), json!({})),
        "c": cond_node(json!([{"name": "a"}]), json!({}), json!({"files": [], "json": []}), json!({})),
    }}));
    let shown = serde_json::to_value(recipe_details(&def, &RecipeState::default())).unwrap_or_default();
    assert_eq!(shown["nodes"]["a"]["node_type"]["job_id"], json!(null));
    assert_eq!(shown["nodes"]["a"]["node_type"]["status"], json!("PENDING"));
    assert_eq!(shown["nodes"]["r"]["node_type"]["recipe_id"], json!(null));
    assert_eq!(shown["nodes"]["c"]["node_type"]["is_processed"], json!(false));
    assert_eq!(recipe_counts(&def, &RecipeState::default()).jobs_pending, 1);
}
