//! The OpenAPI 3.1 document, generated from the handlers' annotations and the answers'
//! types (utoipa), at `/api/v1/openapi.json`; the interactive page at `/api/docs` (Swagger
//! UI compiled into the binary from the `utoipa-swagger-ui-vendored` crate: no CDN, no
//! download when building).

use crate::SharedState;
use axum::Router;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::OpenApi as Document;
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::{Config, SwaggerUi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "holdco",
        description = "The model of one holdco store, answered from memory: structure, history, \
            roll-ups (reported, restated, organic), explanations, reconciliation, calibration, \
            classification, the capital plan and scenarios. Every endpoint but /health and \
            /ready takes `Authorization: Bearer TOKEN` (`holdco token create`). JSON bodies \
            are the values the CLI prints with --json; `Accept: text/csv` gives the CLI's \
            --csv where it has one. Errors: a JSON body {error, message, parameter?, pointer?}.",
        license(name = "Apache-2.0")
    ),
    modifiers(&Bearer),
    tags(
        (name = "reads", description = "Questions about the model"),
        (name = "scenarios", description = "Scenario valuation (whole group only)"),
        (name = "people", description = "Who holds which role (a scoped token sees the people of its subtrees only)"),
        (name = "changesets", description = "Change sets: propose, review, apply; the audit trail"),
        (name = "dashboard", description = "The small reads the browser dashboard needs beside the API")
    )
)]
struct ApiDoc;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("hc1.ID.SECRET")
                    .description(Some("A token from `holdco token create`"))
                    .build(),
            ),
        );
    }
}

/// The document's fixed parts; the paths are added by the routers merged in [`crate::api`].
pub fn document() -> Document {
    ApiDoc::openapi()
}

/// `/api/v1/openapi.json` and the page at `/api/docs`.
pub fn docs(document: Document) -> Router<SharedState> {
    let ui = SwaggerUi::new("/api/docs")
        .url("/api/v1/openapi.json", document)
        // Swagger UI would otherwise send the document to validator.swagger.io.
        .config(Config::from("/api/v1/openapi.json").validator_url("none"));
    Router::new().merge(ui)
}

/// Declares answer types whose schema is a described JSON value of the given type
/// (`object` or `array`): their Rust types live in crates without the OpenAPI derive, and
/// the document names them and points at their description.
macro_rules! described {
    ($($name:ident ($kind:ident): $text:literal),* $(,)?) => {$(
        #[doc = $text]
        pub struct $name;
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                match stringify!($kind) {
                    "array" => utoipa::openapi::schema::ArrayBuilder::new()
                        .items(utoipa::openapi::schema::ObjectBuilder::new())
                        .description(Some($text))
                        .into(),
                    _ => utoipa::openapi::schema::ObjectBuilder::new()
                        .schema_type(utoipa::openapi::schema::Type::Object)
                        .description(Some($text))
                        .into(),
                }
            }
        }
        impl utoipa::ToSchema for $name {}
    )*};
}
pub(crate) use described;
