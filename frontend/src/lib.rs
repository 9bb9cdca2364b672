//! The WASM entry point that hydrates the console rendered by the server.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(fennec_app::App);
}
