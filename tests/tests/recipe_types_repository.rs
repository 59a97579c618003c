//! One conformance suite for recipe-types' repository, on real SQLite and real PostgreSQL.

use std::sync::Arc;

use brigade_recipe_types::domain::{OrderBy, OrderField, RecipeType};
use brigade_recipe_types::repository::{Links, ListFilter, Repository};
use brigade_recipe_types::startup::open_repository;
use brigade_tests::{Backend, TestDatabase};

fn recipe(name: &str, title: &str, at: i64) -> RecipeType {
    RecipeType {
        id: 0,
        name: name.to_owned(),
        title: title.to_owned(),
        description: Some(format!("about {title}")),
        is_active: true,
        is_system: false,
        revision_num: 1,
        definition: r#"{"version":"7","input":{"files":[],"json":[]},"nodes":{}}"#.to_owned(),
        created: at,
        deprecated: None,
        last_modified: at,
    }
}

async fn repository(backend: Backend) -> Option<(Arc<dyn Repository>, TestDatabase)> {
    let db = TestDatabase::new(backend).await?;
    let target =
        brigade_common::db::DatabaseTarget::resolve(db.url.as_deref(), db.dir.path(), "rt.sqlite3").expect("target");
    let repo = open_repository(&target, 5).await.expect("open");
    repo.migrate().await.expect("second migration run");
    Some((repo, db))
}

async fn conformance(repo: Arc<dyn Repository>) {
    repo.ping().await.expect("ping");
    let links = Links {
        job_types: vec![("job".into(), "1.0.0".into())],
        sub_recipes: vec!["child".into()],
    };
    let parent = repo
        .create(&recipe("parent", "Parent", 1), &links)
        .await
        .expect("create")
        .expect("created");
    assert!(parent.id > 0);
    assert!(
        repo.create(&recipe("parent", "Again", 2), &Links::default())
            .await
            .expect("create")
            .is_none(),
        "name taken"
    );
    let child = repo
        .create(&recipe("child", "Zed child", 3), &Links::default())
        .await
        .expect("create")
        .expect("created");
    repo.create(&recipe("other", "alpha", 4), &Links::default())
        .await
        .expect("create");
    assert_eq!(repo.get("parent").await.expect("get").map(|r| r.id), Some(parent.id));
    assert_eq!(
        repo.get_many(&["child".into(), "missing".into()])
            .await
            .expect("many")
            .len(),
        1
    );
    // Filters, ordering, paging.
    let by = |field, descending| ListFilter {
        order: vec![OrderBy { field, descending }],
        ..Default::default()
    };
    let (count, page) = repo.list(&by(OrderField::Name, false), 0, 2).await.expect("list");
    assert_eq!(count, 3);
    assert_eq!(
        page.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        vec!["child", "other"]
    );
    let (_, page) = repo.list(&by(OrderField::Title, true), 0, 10).await.expect("list");
    assert_eq!(
        page[0].name, "child",
        "title order is case-insensitive: Zed > Parent > alpha"
    );
    let keyword = ListFilter {
        keywords: vec!["ZED".into(), "100%".into()],
        order: vec![OrderBy {
            field: OrderField::Name,
            descending: false,
        }],
        ..Default::default()
    };
    assert_eq!(
        repo.list(&keyword, 0, 10).await.expect("list").0,
        1,
        "LIKE wildcards in keywords are literal"
    );
    // Updates: a new revision replaces links; a stale revision writes nothing.
    let mut next = parent.clone();
    next.revision_num = 2;
    next.definition = r#"{"version":"7","input":{"files":[],"json":[]},"nodes":{"x":{}}}"#.to_owned();
    let new_links = Links {
        job_types: vec![("job".into(), "2.0.0".into())],
        sub_recipes: vec![],
    };
    assert!(repo.update(&next, 1, &new_links).await.expect("update"));
    assert!(!repo.update(&next, 1, &new_links).await.expect("stale"));
    let (count, revisions) = repo.list_revisions(parent.id, 0, 10).await.expect("revisions");
    assert_eq!(count, 2);
    assert_eq!(revisions[0].revision_num, 2, "newest first");
    assert_eq!(
        repo.get_revision(parent.id, 1)
            .await
            .expect("rev")
            .map(|r| r.definition),
        Some(parent.definition.clone())
    );
    assert!(
        repo.parents_of("child").await.expect("parents").is_empty(),
        "links were replaced"
    );
    assert!(repo.using_job_type("job", "1.0.0").await.expect("using").is_empty());
    assert_eq!(repo.using_job_type("job", "2.0.0").await.expect("using").len(), 1);
    let filter = ListFilter {
        is_active: Some(true),
        is_system: Some(false),
        order: vec![OrderBy {
            field: OrderField::RevisionNum,
            descending: true,
        }],
        ..Default::default()
    };
    assert_eq!(repo.list(&filter, 0, 1).await.expect("list").1[0].name, "parent");
    // Notices are remembered.
    assert!(!repo.notice_seen("n1").await.expect("seen"));
    repo.record_notice("n1", 5).await.expect("record");
    repo.record_notice("n1", 6).await.expect("record twice");
    assert!(repo.notice_seen("n1").await.expect("seen"));
    let _ = child;
}

#[tokio::test]
async fn recipe_types_repository_on_sqlite() {
    let (repo, _db) = repository(Backend::Sqlite).await.expect("sqlite");
    conformance(repo).await;
}

#[tokio::test]
async fn recipe_types_repository_on_postgres() {
    let Some((repo, _db)) = repository(Backend::Postgres).await else {
        return;
    };
    conformance(repo).await;
}
