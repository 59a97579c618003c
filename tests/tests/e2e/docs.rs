//! The README's REST walkthrough run as written, the OpenAPI examples that
//! repeat it, the interface route and PATCH's answer, and `/docs` rendered by a
//! headless Chromium with the network off.

pub(crate) mod browser;
mod examples;
mod interface;
mod readme;
mod walkthrough;
