//! Reprocessing a recipe with a sub-recipe node: an unchanged, unforced,
//! completed node keeps its child recipe; a node whose sub-recipe revision
//! changed starts a fresh child on the new revision.

use brigade_proto::recipetypes::v1 as rt;
use brigade_tests::Backend;
use serde_json::{Value, json};

use super::recipes::{Fixture, add_one, dep, details, job, n_input, rin};

fn outer(inner: &str, inner_revision: i64) -> Value {
    json!({"version": "7", "input": n_input(), "nodes": {
        "a": job("add", json!([]), json!({"n": rin("n")})),
        "child": {"dependencies": [{"name": "a"}], "input": {"n": dep("a", "n")},
                  "node_type": {"node_type": "recipe", "recipe_type_name": inner, "recipe_type_revision": inner_revision}},
    }})
}

fn child_id(recipe: &rt::Recipe) -> i64 {
    details(recipe)["nodes"]["child"]["node_type"]["recipe_id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no child recipe in {}", recipe.details_json))
}

async fn update(f: &mut Fixture, name: &str, definition: Value) {
    let answer =
        f.rt.update_recipe_type(rt::UpdateRecipeTypeRequest {
            name: name.to_owned(),
            definition_json: Some(definition.to_string()),
            auto_update: false,
            ..Default::default()
        })
        .await
        .unwrap_or_else(|s| panic!("update {name}: {s:?}"))
        .into_inner();
    assert!(answer.new_revision, "{name}: {answer:?}");
}

async fn reprocess(f: &mut Fixture, id: i64, revision_num: Option<i64>) -> rt::Recipe {
    f.rt.reprocess_recipe(rt::ReprocessRecipeRequest {
        id,
        forced_nodes: None,
        revision_num,
    })
    .await
    .unwrap_or_else(|s| panic!("reprocess {id}: {s:?}"))
    .into_inner()
    .recipe
    .expect("recipe")
}

async fn reprocess_and_sub_recipes(backend: Backend) {
    let Some(mut f) = Fixture::new(backend).await else {
        return;
    };
    let add = f.job_type("add", &["n"], &["n"]).await;
    f.worker(&add, add_one());
    let inner_v1 = json!({"version": "7", "input": n_input(), "nodes": {
        "inner": job("add", json!([]), json!({"n": rin("n")})),
    }});
    let inner = f.recipe_type("Inner", inner_v1).await;
    let outer_name = f.recipe_type("Outer", outer(&inner, 1)).await;
    let first = f.create(&outer_name, json!({"json": {"n": 1}})).await;
    let first = f.wait_for(first.id, rt::RecipeStatus::Completed).await;
    let first_child = child_id(&first);

    // Nothing changed and nothing forced: the completed child is reused, and
    // the new recipe completes with it.
    let same = reprocess(&mut f, first.id, None).await;
    let same = f.wait_for(same.id, rt::RecipeStatus::Completed).await;
    assert_eq!(child_id(&same), first_child, "{}", same.details_json);
    assert_eq!(details(&same)["nodes"]["child"]["node_type"]["is_completed"], true);
    let counts = same.counts.expect("counts");
    assert_eq!((counts.sub_recipes_total, counts.sub_recipes_completed), (1, 1));
    let jobs = f.jobs_by_node(&[&add]).await;
    assert!(
        !jobs.keys().any(|(recipe, _)| recipe == &same.id.to_string()),
        "the reprocess ran no job: {:?}",
        jobs.keys()
    );

    // The sub-recipe node now names revision 2 of Inner (which adds one more):
    // a fresh child recipe runs that revision.
    update(
        &mut f,
        &inner,
        json!({"version": "7", "input": n_input(), "nodes": {
            "inner": job("add", json!([]), json!({"n": rin("n")})),
            "again": job("add", json!([{"name": "inner"}]), json!({"n": dep("inner", "n")})),
        }}),
    )
    .await;
    update(&mut f, &outer_name, outer(&inner, 2)).await;
    let changed = reprocess(&mut f, same.id, Some(2)).await;
    let changed = f.wait_for(changed.id, rt::RecipeStatus::Completed).await;
    let fresh = child_id(&changed);
    assert_ne!(fresh, first_child, "{}", changed.details_json);
    let child =
        f.rt.get_recipe(rt::GetRecipeRequest { id: fresh })
            .await
            .expect("child")
            .into_inner()
            .recipe
            .expect("child");
    assert_eq!(child.revision_num, 2);
    assert_eq!(child.parent_recipe_id, Some(changed.id));
    assert_eq!(child.status(), rt::RecipeStatus::Completed);
    // a was reused (unchanged); the fresh child ran both of its nodes on a's old output.
    assert_eq!(
        details(&changed)["nodes"]["a"]["node_type"]["job_id"],
        details(&first)["nodes"]["a"]["node_type"]["job_id"]
    );
    let jobs = f.jobs_by_node(&[&add]).await;
    for node in ["inner", "again"] {
        let ran = &jobs[&(fresh.to_string(), node.to_owned())];
        assert_eq!(ran.len(), 1, "{node}");
    }
    let again = &jobs[&(fresh.to_string(), "again".to_owned())][0];
    assert_eq!(
        serde_json::from_str::<Value>(&again.parameters_json).ok(),
        Some(json!({"n": 3}))
    );
}

#[tokio::test]
async fn reprocess_and_sub_recipes_sqlite() {
    reprocess_and_sub_recipes(Backend::Sqlite).await;
}

#[tokio::test]
async fn reprocess_and_sub_recipes_postgres() {
    reprocess_and_sub_recipes(Backend::Postgres).await;
}
