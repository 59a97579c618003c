//! One conformance suite for recipe-types' storage, on real SQLite and real
//! PostgreSQL: `recipe_types_suite!` makes one named test per case and driver.

use std::sync::Arc;

use brigade_recipe_types::domain::{Description, Edit, OrderBy, OrderField, RecipeType, RecipeTypeId, Title};
use brigade_recipe_types::engine::{JobStatus, RecipeStatus};
use brigade_recipe_types::job_types::GrpcJobTypes;
use brigade_recipe_types::recipe::{NodeKindTag, NodeRecord, NodeRowState, Recipe};
use brigade_recipe_types::repository::{Links, ListFilter, Repository};
use brigade_recipe_types::service::{Limits, RecipeTypes};
use brigade_recipe_types::startup::open_repository;
use brigade_tests::{Backend, TestDatabase};

const EMPTY_DEFINITION: &str = r#"{"version":"7","input":{"files":[],"json":[]},"nodes":{}}"#;

fn recipe(name: &str, title: &str, at: i64) -> RecipeType {
    RecipeType {
        id: RecipeTypeId(0),
        name: name.to_owned(),
        title: title.to_owned(),
        description: Some(format!("about {title}")),
        is_active: true,
        is_system: false,
        revision_num: 1,
        definition: EMPTY_DEFINITION.to_owned(),
        created: at,
        deprecated: None,
        last_modified: at,
        row_version: 1,
    }
}

/// A migrated repository (migrations run twice: they are idempotent), or
/// `None` when PostgreSQL is unreachable outside CI.
async fn repository(backend: Backend) -> Option<(Arc<dyn Repository>, TestDatabase)> {
    let db = TestDatabase::new(backend).await?;
    let target =
        brigade_common::db::DatabaseTarget::resolve(db.url.as_deref(), db.dir.path(), "rt.sqlite3").expect("target");
    let repo = open_repository(&target, 5).await.expect("open");
    repo.migrate().await.expect("second migration run");
    Some((repo, db))
}

/// Creates `parent` (using job 1.0.0 and sub-recipe `child`), `child` and `other`.
async fn seed(repo: &dyn Repository) -> RecipeType {
    let links = Links {
        job_types: vec![("job".into(), "1.0.0".into())],
        sub_recipes: vec!["child".into()],
    };
    let mut tx = repo.begin().await.expect("begin");
    let parent = tx
        .create(&recipe("parent", "Parent", 1), &links)
        .await
        .expect("create")
        .expect("created");
    tx.create(&recipe("child", "Zed child", 3), &Links::default())
        .await
        .expect("create")
        .expect("created");
    tx.create(&recipe("other", "alpha", 4), &Links::default())
        .await
        .expect("create")
        .expect("created");
    tx.commit().await.expect("commit");
    parent
}

fn ordered(field: OrderField, descending: bool) -> ListFilter {
    ListFilter {
        order: vec![OrderBy { field, descending }],
        ..Default::default()
    }
}

async fn create_assigns_ids_and_rejects_a_taken_name(repo: Arc<dyn Repository>) {
    repo.ping().await.expect("ping");
    let parent = seed(repo.as_ref()).await;
    assert!(parent.id.0 > 0);
    assert_eq!(parent.row_version, 1);
    let mut tx = repo.begin().await.expect("begin");
    assert!(
        tx.create(&recipe("parent", "Again", 2), &Links::default())
            .await
            .expect("create")
            .is_none(),
        "name taken"
    );
    assert_eq!(tx.get("parent").await.expect("get").map(|r| r.id), Some(parent.id));
    assert_eq!(
        tx.get_many(&["child".into(), "missing".into()])
            .await
            .expect("many")
            .len(),
        1
    );
}

async fn list_filters_orders_and_pages(repo: Arc<dyn Repository>) {
    seed(repo.as_ref()).await;
    let mut tx = repo.begin_read().await.expect("begin");
    let (count, page) = tx.list(&ordered(OrderField::Name, false), 0, 2).await.expect("list");
    assert_eq!(count, 3);
    assert_eq!(
        page.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        vec!["child", "other"]
    );
    let (_, page) = tx.list(&ordered(OrderField::Title, true), 0, 10).await.expect("list");
    assert_eq!(
        page[0].name, "child",
        "title order is case-insensitive: Zed > Parent > alpha"
    );
    let (_, page) = tx.list(&ordered(OrderField::Name, false), 2, 10).await.expect("list");
    assert_eq!(page.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), vec!["parent"]);
    let active = ListFilter {
        is_active: Some(false),
        ..ordered(OrderField::Name, false)
    };
    assert_eq!(tx.list(&active, 0, 10).await.expect("list").0, 0);
}

async fn keywords_treat_like_wildcards_literally(repo: Arc<dyn Repository>) {
    seed(repo.as_ref()).await;
    let keyword = ListFilter {
        keywords: vec!["ZED".into(), "100%".into()],
        ..ordered(OrderField::Name, false)
    };
    let mut tx = repo.begin_read().await.expect("begin");
    assert_eq!(tx.list(&keyword, 0, 10).await.expect("list").0, 1);
    let wildcard = ListFilter {
        keywords: vec!["_".into()],
        ..ordered(OrderField::Name, false)
    };
    assert_eq!(
        tx.list(&wildcard, 0, 10).await.expect("list").0,
        0,
        "_ is not a wildcard"
    );
}

async fn a_new_revision_replaces_the_links(repo: Arc<dyn Repository>) {
    let parent = seed(repo.as_ref()).await;
    let mut next = parent.clone();
    next.revision_num = 2;
    next.definition = r#"{"version":"7","input":{"files":[],"json":[]},"nodes":{"x":{}}}"#.to_owned();
    let new_links = Links {
        job_types: vec![("job".into(), "2.0.0".into())],
        sub_recipes: vec![],
    };
    let mut tx = repo.begin().await.expect("begin");
    let saved = tx
        .update(&next, Some(&new_links))
        .await
        .expect("update")
        .expect("written");
    assert_eq!(saved.row_version, parent.row_version + 1);
    tx.commit().await.expect("commit");
    let mut tx = repo.begin_read().await.expect("begin");
    let (count, revisions) = tx.list_revisions(parent.id, 0, 10).await.expect("revisions");
    assert_eq!(count, 2);
    assert_eq!(revisions[0].revision_num, 2, "newest first");
    assert_eq!(
        tx.get_revision(parent.id, 1).await.expect("rev").map(|r| r.definition),
        Some(parent.definition.clone())
    );
    assert!(
        tx.parents_of("child").await.expect("parents").is_empty(),
        "links were replaced"
    );
    assert!(tx.using_job_type("job", "1.0.0").await.expect("using").is_empty());
    assert_eq!(tx.using_job_type("job", "2.0.0").await.expect("using").len(), 1);
    let by_revision = ListFilter {
        is_active: Some(true),
        is_system: Some(false),
        ..ordered(OrderField::RevisionNum, true)
    };
    assert_eq!(tx.list(&by_revision, 0, 1).await.expect("list").1[0].name, "parent");
}

async fn an_update_at_a_stale_row_version_writes_nothing(repo: Arc<dyn Repository>) {
    let parent = seed(repo.as_ref()).await;
    let read = repo
        .begin_read()
        .await
        .expect("begin")
        .get("parent")
        .await
        .expect("get");
    let read = read.expect("exists");
    let mut first = read.clone();
    first.title = "First".into();
    let mut tx = repo.begin().await.expect("begin");
    assert!(tx.update(&first, None).await.expect("update").is_some());
    tx.commit().await.expect("commit");
    let mut second = read;
    second.description = Some("second".into());
    let mut tx = repo.begin().await.expect("begin");
    assert!(
        tx.update(&second, None).await.expect("stale").is_none(),
        "lost the race"
    );
    tx.commit().await.expect("commit");
    let now = repo
        .begin_read()
        .await
        .expect("begin")
        .get("parent")
        .await
        .expect("get");
    let now = now.expect("exists");
    assert_eq!(now.title, "First");
    assert_eq!(now.description, parent.description);
    assert_eq!(now.row_version, parent.row_version + 1);
}

async fn a_dropped_transaction_writes_nothing(repo: Arc<dyn Repository>) {
    let parent = seed(repo.as_ref()).await;
    {
        let mut tx = repo.begin().await.expect("begin");
        let mut next = parent.clone();
        next.title = "Never".into();
        tx.update(&next, None).await.expect("update").expect("written");
        tx.create(&recipe("ghost", "Ghost", 9), &Links::default())
            .await
            .expect("create");
        tx.record_notice("n-dropped", 9).await.expect("record");
    }
    let mut tx = repo.begin_read().await.expect("begin");
    assert_eq!(
        tx.get("parent").await.expect("get").map(|r| r.title),
        Some("Parent".into())
    );
    assert!(tx.get("ghost").await.expect("get").is_none());
    assert!(!tx.notice_seen("n-dropped").await.expect("seen"));
}

async fn notices_are_remembered(repo: Arc<dyn Repository>) {
    let mut tx = repo.begin().await.expect("begin");
    assert!(!tx.notice_seen("n1").await.expect("seen"));
    tx.record_notice("n1", 5).await.expect("record");
    tx.record_notice("n1", 6).await.expect("record twice");
    tx.commit().await.expect("commit");
    assert!(
        repo.begin_read()
            .await
            .expect("begin")
            .notice_seen("n1")
            .await
            .expect("seen")
    );
    // Purging forgets only the notices applied before the cut-off.
    let mut tx = repo.begin().await.expect("begin");
    tx.record_notice("n2", 100).await.expect("record");
    assert_eq!(tx.purge_notices(50).await.expect("purge"), 1);
    tx.commit().await.expect("commit");
    let mut tx = repo.begin_read().await.expect("begin");
    assert!(
        !tx.notice_seen("n1").await.expect("seen"),
        "n1 (applied at 5) is forgotten"
    );
    assert!(tx.notice_seen("n2").await.expect("seen"), "n2 (applied at 100) is kept");
}

async fn notices_recorded_in_a_batch_name_only_the_new_ones(repo: Arc<dyn Repository>) {
    let mut tx = repo.begin().await.expect("begin");
    tx.record_notice("old", 5).await.expect("record");
    let mut fresh = tx.record_notices(&["old", "a", "b"], 6).await.expect("record batch");
    fresh.sort();
    assert_eq!(fresh, vec!["a", "b"]);
    assert!(
        tx.record_notices(&["a", "b"], 7).await.expect("again").is_empty(),
        "a repeated batch applies nothing"
    );
    tx.commit().await.expect("commit");
    let mut tx = repo.begin_read().await.expect("begin");
    assert!(tx.notice_seen("b").await.expect("seen"));
}

async fn node_rows_written_in_a_batch_are_upserted(repo: Arc<dyn Repository>) {
    let rt = seed(repo.as_ref()).await;
    let mut tx = repo.begin().await.expect("begin");
    let revision = tx
        .get_revision(rt.id, rt.revision_num)
        .await
        .expect("revision")
        .expect("one");
    let recipe = Recipe {
        id: 0,
        recipe_type_id: rt.id.0,
        revision_id: revision.id,
        revision_num: revision.revision_num,
        input: "{}".into(),
        configuration: "{}".into(),
        status: RecipeStatus::Running,
        counts: Default::default(),
        canceled: false,
        parent_recipe_id: None,
        parent_node: None,
        root_recipe_id: None,
        is_superseded: false,
        superseded_recipe_id: None,
        superseded_by_recipe_id: None,
        needs_step: false,
        created: 1,
        started: Some(1),
        completed: None,
        ended: None,
        superseded: None,
        last_modified: 1,
        row_version: 1,
    };
    let id = tx.insert_recipe(&recipe).await.expect("recipe");
    // More rows than one statement takes, so the chunks meet.
    let mut rows: Vec<NodeRecord> = (0..450)
        .map(|i| NodeRecord::new(id, &format!("n{i}"), NodeKindTag::Job, NodeRowState::Creating, 2))
        .collect();
    tx.put_nodes(&rows.iter().collect::<Vec<_>>()).await.expect("insert");
    rows[7].state = NodeRowState::Job(JobStatus::Completed);
    rows[7].results = Some(r#"{"n":8}"#.into());
    rows[449].job_id = Some("job-449".into());
    tx.put_nodes(&[&rows[7], &rows[449]]).await.expect("upsert");
    tx.commit().await.expect("commit");
    let stored = repo.begin_read().await.expect("begin").nodes(id).await.expect("nodes");
    assert_eq!(stored.len(), 450);
    let find = |name: &str| stored.iter().find(|n| n.node_name == name).expect("node");
    assert_eq!(find("n7").state, NodeRowState::Job(JobStatus::Completed));
    assert_eq!(find("n7").results.as_deref(), Some(r#"{"n":8}"#));
    assert_eq!(find("n449").job_id.as_deref(), Some("job-449"));
    assert_eq!(find("n8").state, NodeRowState::Creating);
}

/// Two PATCHes of one recipe type at once, one changing the title and one the
/// description: both answer, and neither change is lost (the row version
/// guards each update; the loser re-reads and re-applies).
async fn concurrent_patches_of_title_and_description_lose_nothing(repo: Arc<dyn Repository>) {
    let service = service_on(repo);
    let created = service
        .create(brigade_recipe_types::domain::NewRecipeType {
            title: Title::parse("Contended".into()).expect("title"),
            description: None,
            definition: EMPTY_DEFINITION.to_owned(),
        })
        .await
        .expect("create");
    let name = created.recipe_type.name;
    let edit = |title: Option<String>, description: Option<String>| Edit {
        title: title.map(|t| Title::parse(t).expect("title")),
        description: description.map(|d| Description::parse(d).expect("description")),
        definition: None,
        auto_update: false,
        is_active: None,
    };
    for round in 0..50 {
        let (a, b) = (service.clone(), service.clone());
        let (name_a, name_b) = (name.clone(), name.clone());
        let title = edit(Some(format!("Title {round}")), None);
        let description = edit(None, Some(format!("description {round}")));
        let first = tokio::spawn(async move { a.edit(&name_a, title).await });
        let second = tokio::spawn(async move { b.edit(&name_b, description).await });
        first.await.expect("join").expect("title PATCH");
        second.await.expect("join").expect("description PATCH");
        let now = service.get(&name).await.expect("get");
        assert_eq!(now.title, format!("Title {round}"), "round {round}: title lost");
        assert_eq!(
            now.description,
            Some(format!("description {round}")),
            "round {round}: description lost"
        );
        assert_eq!(
            now.row_version,
            1 + 2 * (round + 1),
            "round {round}: two writes each round"
        );
    }
}

/// Creates of one title at once: one creates it, every other is told the
/// name is taken (Scale's 400), as one after it would be, never a conflict.
async fn concurrent_creates_of_one_name_make_one_and_refuse_the_rest(repo: Arc<dyn Repository>) {
    let service = service_on(repo);
    for round in 0..20 {
        let creates: Vec<_> = (0..4)
            .map(|_| {
                let service = service.clone();
                tokio::spawn(async move {
                    service
                        .create(brigade_recipe_types::domain::NewRecipeType {
                            title: Title::parse(format!("Raced {round}")).expect("title"),
                            description: None,
                            definition: EMPTY_DEFINITION.to_owned(),
                        })
                        .await
                })
            })
            .collect();
        let mut made = 0;
        for create in creates {
            match create.await.expect("join") {
                Ok(_) => made += 1,
                Err(brigade_recipe_types::error::Error::InvalidArgument(message)) => {
                    assert!(
                        message.starts_with("Existing recipe types found"),
                        "round {round}: {message}"
                    );
                }
                Err(e) => panic!("round {round}: {e:?}"),
            }
        }
        assert_eq!(made, 1, "round {round}");
    }
}

fn service_on(repo: Arc<dyn Repository>) -> Arc<RecipeTypes> {
    // No definition in these cases names a job type, so job-queue is never called.
    let job_types = Arc::new(GrpcJobTypes::new("http://127.0.0.1:9").expect("client"));
    Arc::new(RecipeTypes::new(repo, job_types, Limits::default()))
}

fn with_sub_recipe(name: &str, revision: i64) -> String {
    serde_json::json!({"version": "7", "input": {"files": [], "json": []}, "nodes": {"sub": {
        "dependencies": [], "input": {},
        "node_type": {"node_type": "recipe", "recipe_type_name": name, "recipe_type_revision": revision}}}})
    .to_string()
}

fn sub_revision(rt: &RecipeType) -> i64 {
    let def: serde_json::Value = serde_json::from_str(&rt.definition).expect("json");
    def["nodes"]["sub"]["node_type"]["recipe_type_revision"]
        .as_i64()
        .expect("sub revision")
}

/// The PATCH's cascades (auto_update up the chain, then deactivation of every
/// type containing this one) run in the PATCH's own transaction.
async fn patch_cascades_up_the_chain(repo: Arc<dyn Repository>) {
    let service = service_on(repo);
    let create = |title: &str, definition: String| brigade_recipe_types::domain::NewRecipeType {
        title: Title::parse(title.into()).expect("title"),
        description: None,
        definition,
    };
    service
        .create(create("Child", EMPTY_DEFINITION.into()))
        .await
        .expect("child");
    service
        .create(create("Parent", with_sub_recipe("child", 1)))
        .await
        .expect("parent");
    service
        .create(create("Grandparent", with_sub_recipe("parent", 1)))
        .await
        .expect("grandparent");
    let new_child =
        r#"{"version":"7","input":{"files":[],"json":[{"name":"x","type":"integer","required":false}]},"nodes":{}}"#;
    let edit = Edit {
        title: None,
        description: None,
        definition: Some(new_child.into()),
        auto_update: true,
        is_active: None,
    };
    service.edit("child", edit).await.expect("patch child");
    let parent = service.get("parent").await.expect("parent");
    assert_eq!((parent.revision_num, sub_revision(&parent)), (2, 2));
    let grandparent = service.get("grandparent").await.expect("grandparent");
    assert_eq!((grandparent.revision_num, sub_revision(&grandparent)), (2, 2));
    let deactivate = Edit {
        title: None,
        description: None,
        definition: None,
        auto_update: false,
        is_active: Some(false),
    };
    let report = service
        .edit("child", deactivate)
        .await
        .expect("deactivate child")
        .report;
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.name == "DEPRECATED_RECIPES" && w.description.contains("[parent]")),
        "{report:?}"
    );
    for name in ["child", "parent", "grandparent"] {
        let rt = service.get(name).await.expect("get");
        assert!(!rt.is_active && rt.deprecated.is_some(), "{name} deactivated");
    }
}

macro_rules! recipe_types_suite {
    ($($case:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let (repo, _db) = super::repository(brigade_tests::Backend::Sqlite).await.expect("sqlite");
                    super::$case(repo).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some((repo, _db)) = super::repository(brigade_tests::Backend::Postgres).await else {
                        return;
                    };
                    super::$case(repo).await;
                }
            )+
        }
    };
}

recipe_types_suite!(
    create_assigns_ids_and_rejects_a_taken_name,
    list_filters_orders_and_pages,
    keywords_treat_like_wildcards_literally,
    a_new_revision_replaces_the_links,
    an_update_at_a_stale_row_version_writes_nothing,
    a_dropped_transaction_writes_nothing,
    notices_are_remembered,
    notices_recorded_in_a_batch_name_only_the_new_ones,
    node_rows_written_in_a_batch_are_upserted,
    concurrent_patches_of_title_and_description_lose_nothing,
    concurrent_creates_of_one_name_make_one_and_refuse_the_rest,
    patch_cascades_up_the_chain,
);
