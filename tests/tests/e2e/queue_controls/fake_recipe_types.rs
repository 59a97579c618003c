//! A stand-in recipe-types peer: a real tonic server on port 0 that records
//! the job-status notices job-queue sends and answers every other call
//! UNIMPLEMENTED. It can refuse deliveries for a while, to exercise the outbox's
//! retries.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use brigade_proto::recipetypes::v1 as rt;
use brigade_proto::recipetypes::v1::recipe_types_server::{RecipeTypes, RecipeTypesServer};
use futures::Stream;
use tonic::{Request, Response, Status};

#[derive(Clone, Default)]
pub struct FakeRecipeTypes {
    pub received: Arc<Mutex<Vec<rt::NotifyJobStatusRequest>>>,
    /// Deliveries still to refuse with UNAVAILABLE.
    pub refuse: Arc<AtomicUsize>,
}

impl FakeRecipeTypes {
    /// Serves on a free loopback port until the returned handle is dropped.
    pub async fn start(self) -> (String, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr: SocketAddr = listener.local_addr().expect("addr");
        let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
        let server = tonic::transport::Server::builder()
            .add_service(RecipeTypesServer::new(self))
            .serve_with_incoming(incoming);
        let handle = tokio::spawn(async move {
            let _ = server.await;
        });
        (format!("http://{addr}"), handle)
    }

    /// UNAVAILABLE while deliveries are still to be refused.
    fn refusing(&self) -> Result<(), Status> {
        match self
            .refuse
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        {
            Ok(_) => Err(Status::unavailable("fake recipe-types is refusing for now")),
            Err(_) => Ok(()),
        }
    }

    pub fn notices(&self) -> Vec<rt::NotifyJobStatusRequest> {
        self.received.lock().expect("lock").clone()
    }
}

type WatchStream = Pin<Box<dyn Stream<Item = Result<rt::WatchRecipeResponse, Status>> + Send>>;

#[tonic::async_trait]
impl RecipeTypes for FakeRecipeTypes {
    async fn notify_job_status(
        &self,
        request: Request<rt::NotifyJobStatusRequest>,
    ) -> Result<Response<rt::NotifyJobStatusResponse>, Status> {
        self.refusing()?;
        self.received.lock().expect("lock").push(request.into_inner());
        Ok(Response::new(rt::NotifyJobStatusResponse {}))
    }

    async fn notify_job_statuses(
        &self,
        request: Request<rt::NotifyJobStatusesRequest>,
    ) -> Result<Response<rt::NotifyJobStatusesResponse>, Status> {
        self.refusing()?;
        self.received.lock().expect("lock").extend(request.into_inner().notices);
        Ok(Response::new(rt::NotifyJobStatusesResponse {}))
    }

    type WatchRecipeStream = WatchStream;

    async fn watch_recipe(&self, _: Request<rt::WatchRecipeRequest>) -> Result<Response<WatchStream>, Status> {
        Err(Status::unimplemented("fake recipe-types"))
    }

    async fn list_recipe_types(
        &self,
        _: Request<rt::ListRecipeTypesRequest>,
    ) -> Result<Response<rt::ListRecipeTypesResponse>, Status> {
        Err(Status::unimplemented("fake recipe-types"))
    }

    async fn get_recipe_type(
        &self,
        _: Request<rt::GetRecipeTypeRequest>,
    ) -> Result<Response<rt::GetRecipeTypeResponse>, Status> {
        Err(Status::unimplemented("fake recipe-types"))
    }

    async fn create_recipe_type(
        &self,
        _: Request<rt::CreateRecipeTypeRequest>,
    ) -> Result<Response<rt::CreateRecipeTypeResponse>, Status> {
        Err(Status::unimplemented("fake recipe-types"))
    }

    async fn update_recipe_type(
        &self,
        _: Request<rt::UpdateRecipeTypeRequest>,
    ) -> Result<Response<rt::UpdateRecipeTypeResponse>, Status> {
        Err(Status::unimplemented("fake recipe-types"))
    }

    async fn validate_recipe_type(
        &self,
        _: Request<rt::ValidateRecipeTypeRequest>,
    ) -> Result<Response<rt::ValidateRecipeTypeResponse>, Status> {
        Err(Status::unimplemented("fake recipe-types"))
    }

    async fn list_revisions(
        &self,
        _: Request<rt::ListRevisionsRequest>,
    ) -> Result<Response<rt::ListRevisionsResponse>, Status> {
        Err(Status::unimplemented("fake recipe-types"))
    }

    async fn get_revision(
        &self,
        _: Request<rt::GetRevisionRequest>,
    ) -> Result<Response<rt::GetRevisionResponse>, Status> {
        Err(Status::unimplemented("fake recipe-types"))
    }

    async fn notify_job_type_revision(
        &self,
        _: Request<rt::NotifyJobTypeRevisionRequest>,
    ) -> Result<Response<rt::NotifyJobTypeRevisionResponse>, Status> {
        Err(Status::unimplemented("fake recipe-types"))
    }

    async fn create_recipe(
        &self,
        _: Request<rt::CreateRecipeRequest>,
    ) -> Result<Response<rt::CreateRecipeResponse>, Status> {
        Err(Status::unimplemented("fake recipe-types"))
    }

    async fn get_recipe(&self, _: Request<rt::GetRecipeRequest>) -> Result<Response<rt::GetRecipeResponse>, Status> {
        Err(Status::unimplemented("fake recipe-types"))
    }

    async fn list_recipes(
        &self,
        _: Request<rt::ListRecipesRequest>,
    ) -> Result<Response<rt::ListRecipesResponse>, Status> {
        Err(Status::unimplemented("fake recipe-types"))
    }

    async fn cancel_recipe(
        &self,
        _: Request<rt::CancelRecipeRequest>,
    ) -> Result<Response<rt::CancelRecipeResponse>, Status> {
        Err(Status::unimplemented("fake recipe-types"))
    }

    async fn reprocess_recipe(
        &self,
        _: Request<rt::ReprocessRecipeRequest>,
    ) -> Result<Response<rt::ReprocessRecipeResponse>, Status> {
        Err(Status::unimplemented("fake recipe-types"))
    }
}
