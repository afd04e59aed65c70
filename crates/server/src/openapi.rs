//! The OpenAPI document, generated from the handlers' annotations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "tantalum", description = "Matching known material by hash: tantalum's API (/v1) and HMA's (/m, /h, /c)."),
    paths(
        crate::v1::hash,
        crate::v1::match_hashes,
        crate::v1::match_upload,
        crate::v1::list_banks,
        crate::v1::create_bank,
        crate::v1::get_bank,
        crate::v1::delete_bank,
        crate::v1::post_entries,
        crate::v1::get_entry,
        crate::v1::delete_entry,
        crate::v1::import,
        crate::v1::export,
        crate::v1::index_status,
        crate::hma::raw_lookup,
        crate::hma::lookup_get,
        crate::hma::lookup_post,
        crate::hma::compare,
        crate::hma::index_status,
        crate::hma::hash_get,
        crate::hma::hash_post,
        crate::hma::list_banks,
        crate::hma::create_bank,
        crate::hma::get_bank,
        crate::hma::update_bank,
        crate::hma::delete_bank,
        crate::hma::post_content,
        crate::hma::post_signal,
        crate::hma::get_content,
        crate::hma::put_content,
        crate::hma::delete_content,
    ),
    modifiers(&Bearer)
)]
struct Doc;

/// The document as JSON.
pub fn document() -> String {
    Doc::openapi().to_json().unwrap_or_else(|_| "{}".into())
}
