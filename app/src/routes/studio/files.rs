//! Files in and out of the browser: reading a chosen or dropped file, offering text as a
//! download.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// Offers `text` as a file download.
pub(super) fn download(name: &str, mime: &str, text: &str) {
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options) else {
        return;
    };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else {
        return;
    };
    if let Ok(anchor) = document().create_element("a") {
        let anchor: web_sys::HtmlAnchorElement = anchor.unchecked_into();
        anchor.set_href(&url);
        anchor.set_download(name);
        anchor.click();
    }
    let _ = web_sys::Url::revoke_object_url(&url);
}

/// Reads a file's text and hands it to `done` with the file's name.
#[cfg(feature = "hydrate")]
pub(super) fn read_file(file: web_sys::File, done: impl FnOnce(String, String) + 'static) {
    let name = file.name();
    leptos::task::spawn_local(async move {
        if let Ok(text) = wasm_bindgen_futures::JsFuture::from(file.text()).await {
            done(name, text.as_string().unwrap_or_default());
        }
    });
}

#[cfg(not(feature = "hydrate"))]
pub(super) fn read_file(_file: web_sys::File, _done: impl FnOnce(String, String) + 'static) {}
