//! The WASM entry point that hydrates the console rendered by the server.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Waits for the current page's part of the bundle before hydrating it.
    leptos::mount::hydrate_lazy(fennec_app::App);
}
