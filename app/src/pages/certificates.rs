//! The certificate drop zone and list of a `private_key_jwt` client. Files are opened in the
//! browser; only public certificates are sent to the server, to be checked and listed.

use fennec_core::upload::{self, UploadError, UploadKind, ACCEPTED_EXTENSIONS};
use fennec_core::views::CertificateView;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

use crate::api::inspect_certificate;
use crate::components::{format_timestamp, now_secs, TextField};

/// Most certificates a client may hold (SPEC 3.5).
pub const MAX_CERTIFICATES: usize = 4;

/// Drop zone, PKCS#12 password and the list of accepted certificates.
///
/// It holds browser `File` handles, which live on the browser's one thread, so it is drawn
/// only once the page runs in the browser, never while the server renders the page.
#[component]
pub fn CertificateUpload(
    certificates: RwSignal<Vec<CertificateView>>,
    #[prop(into)] error: Signal<Option<String>>,
) -> impl IntoView {
    let in_browser = RwSignal::new(false);
    Effect::new(move |_| in_browser.set(true));
    view! {
        <Show when=move || in_browser.get() fallback=|| view! { <p class="mb-4 text-sm text-slate-600">"Loading the certificate upload…"</p> }>
            <CertificateDropZone certificates error />
        </Show>
    }
}

#[component]
fn CertificateDropZone(
    certificates: RwSignal<Vec<CertificateView>>,
    error: Signal<Option<String>>,
) -> impl IntoView {
    let password = RwSignal::new(String::new());
    let problems = RwSignal::new(Vec::<String>::new());
    let reading = RwSignal::new(false);
    let dragging = RwSignal::new(false);
    // Subjects of the certificates just added, announced to screen readers.
    let added = RwSignal::new(Vec::<String>::new());
    // PKCS#12 files the password did not open, kept so that a corrected password can retry.
    let unopened = RwSignal::new_local(Vec::<web_sys::File>::new());

    let take_files = move |files: Vec<web_sys::File>| {
        let password = password.get_untracked();
        problems.set(Vec::new());
        added.set(Vec::new());
        unopened.set(Vec::new());
        reading.set(true);
        spawn_local(async move {
            for file in files {
                let name = file.name();
                let found = match read_file(&file).await {
                    Ok(bytes) => certificates_in(&name, &bytes, &password),
                    Err(message) => Err(message),
                };
                match found {
                    Ok(ders) => {
                        for der in ders {
                            add_certificate(&name, der, certificates, problems, added).await;
                        }
                    }
                    Err(message) => {
                        if upload::kind_of(&name) == Some(UploadKind::Pkcs12) {
                            unopened.update(|u| u.push(file));
                        }
                        problems.update(|p| p.push(format!("{name}: {message}")));
                    }
                }
            }
            reading.set(false);
        });
    };
    let retry = move |_| take_files(unopened.get_untracked());

    let on_change = move |ev: leptos::ev::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        if let Some(list) = input.files() {
            take_files(files_of(&list));
        }
        input.set_value("");
    };
    let on_drop = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        dragging.set(false);
        if let Some(list) = ev.data_transfer().and_then(|d| d.files()) {
            take_files(files_of(&list));
        }
    };

    view! {
        <fieldset class="mb-4" data-testid="certificates">
            <legend class="mb-2 text-sm font-medium">"Certificates"</legend>
            <TextField label="PKCS#12 password" value=password input_type="password"
                hint="For .pfx and .p12 files; leave empty for a file without a password. Enter it before choosing the file."
                error=Signal::derive(|| None::<String>) autocomplete="off" />
            <div
                class=move || format!(
                    "mb-3 rounded border-2 border-dashed p-4 text-sm {}",
                    if dragging.get() { "border-sky-500 bg-sky-50" } else { "border-slate-300 bg-white" },
                )
                on:dragover=move |ev: leptos::ev::DragEvent| { ev.prevent_default(); dragging.set(true); }
                on:dragleave=move |_| dragging.set(false)
                on:drop=on_drop
                data-testid="certificate-drop-zone"
            >
                <label class="block">
                    <span class="font-medium">"Add certificate files"</span>
                    " (drop them here or choose them): .pfx or .p12 with the password below, or .cer, .crt, .pem, .der. At most 4."
                    <input
                        type="file"
                        multiple
                        accept=ACCEPTED_EXTENSIONS
                        class="mt-2 block w-full text-sm"
                        on:change=on_change
                    />
                </label>
                <p class="mt-2 text-xs text-slate-500">
                    "A .pfx or .p12 file is opened in this browser: its private key and password never leave it. Only the public certificate is sent."
                </p>
            </div>
            <Show when=move || reading.get()>
                <p class="text-sm" role="status">"Reading certificates…"</p>
            </Show>
            <ul class="mb-2 text-sm text-red-700" role="alert" data-testid="certificate-problems">
                {move || problems.get().into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}
            </ul>
            <Show when=move || !unopened.with(Vec::is_empty)>
                <button type="button" on:click=retry
                    class="mb-2 rounded border border-slate-300 px-3 py-1 text-sm hover:bg-slate-100 focus:outline-none focus:ring-2 focus:ring-sky-300">
                    "Open the .pfx or .p12 file again with the password above"
                </button>
            </Show>
            <p class="sr-only" role="status" data-testid="certificates-added">
                {move || added.get().into_iter().map(|s| format!("Added certificate {s}. ")).collect::<String>()}
            </p>
            <CertificateList certificates />
            <p class="text-sm text-red-700" role="alert">{move || error.get()}</p>
        </fieldset>
    }
}

/// The accepted certificates with their details and a remove button each.
#[component]
fn CertificateList(certificates: RwSignal<Vec<CertificateView>>) -> impl IntoView {
    view! {
        <ul class="space-y-2">
            {move || certificates.get().into_iter().map(|cert| {
                let now = now_secs();
                let valid = cert.is_valid_at(now);
                let thumbprint = cert.sha256_thumbprint.clone();
                let remove = move |_| {
                    certificates.update(|list| list.retain(|c| c.sha256_thumbprint != thumbprint));
                };
                let dates_class = if valid { "text-slate-700" } else { "font-medium text-red-700" };
                let remove_label = format!("Remove certificate {} (kid {})", cert.subject, cert.kid);
                view! {
                    <li class="rounded border border-slate-200 bg-white p-3 text-sm" data-testid="certificate">
                        <div class="flex items-start justify-between gap-2">
                            <div class="font-medium break-all">{cert.subject.clone()}</div>
                            <button
                                type="button"
                                class="rounded border border-slate-300 px-2 py-1 hover:bg-slate-100 focus:outline-none focus:ring-2 focus:ring-sky-300"
                                aria-label=remove_label
                                on:click=remove
                            >
                                "Remove"
                            </button>
                        </div>
                        <div class=dates_class data-testid="certificate-validity">
                            "Valid from " {format_timestamp(cert.not_before)} " to " {format_timestamp(cert.not_after)}
                            {(!valid).then_some(" (not valid now)")}
                        </div>
                        <div>"Key: " {cert.key_type.clone()} " " {cert.key_size} " bits"</div>
                        <div class="break-all">"Key id (kid, x5t): " <code data-testid="certificate-kid">{cert.kid.clone()}</code></div>
                        <div class="break-all">"SHA-1 thumbprint: " <code>{cert.sha1_thumbprint.clone()}</code></div>
                        <div class="break-all">"SHA-256 thumbprint: " <code>{cert.sha256_thumbprint.clone()}</code></div>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

/// The DER certificates a file holds, opened here in the browser.
fn certificates_in(name: &str, bytes: &[u8], password: &str) -> Result<Vec<Vec<u8>>, String> {
    match upload::kind_of(name) {
        Some(UploadKind::Certificate) => {
            upload::certificates_in_file(bytes).map_err(|e| e.to_string())
        }
        Some(UploadKind::Pkcs12) => {
            fennec_core::pkcs12::certificates_in_pkcs12(bytes, password).map_err(|e| e.to_string())
        }
        None => Err(UploadError::UnsupportedFile.to_string()),
    }
}

/// Has the server check one certificate, then lists it unless it is a duplicate or one too many.
async fn add_certificate(
    file_name: &str,
    der: Vec<u8>,
    certificates: RwSignal<Vec<CertificateView>>,
    problems: RwSignal<Vec<String>>,
    added: RwSignal<Vec<String>>,
) {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(&der);
    let problem = match inspect_certificate(encoded).await {
        Err(e) => Some(e.field("certificates").unwrap_or_else(|| e.summary())),
        Ok(view) => {
            let list = certificates.get_untracked();
            if list
                .iter()
                .any(|c| c.sha256_thumbprint == view.sha256_thumbprint)
            {
                Some("This certificate is already in the list.".to_string())
            } else if list.len() >= MAX_CERTIFICATES {
                Some(format!(
                    "A client can have at most {MAX_CERTIFICATES} certificates."
                ))
            } else {
                added.update(|a| a.push(view.subject.clone()));
                certificates.update(|l| l.push(view));
                None
            }
        }
    };
    if let Some(problem) = problem {
        problems.update(|p| p.push(format!("{file_name}: {problem}")));
    }
}

fn files_of(list: &web_sys::FileList) -> Vec<web_sys::File> {
    (0..list.length()).filter_map(|i| list.get(i)).collect()
}

async fn read_file(file: &web_sys::File) -> Result<Vec<u8>, String> {
    let buffer = wasm_bindgen_futures::JsFuture::from(file.array_buffer())
        .await
        .map_err(|_| "The file could not be read.".to_string())?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}
