//! Checking the document as it is edited: FEEL syntax in fields and the model's validation
//! findings, listed under the properties (a click selects the element) and marked on the
//! canvas.

use std::collections::HashMap;

use bpmn::{Diagnostic, Severity};
use designer::Editor;
use leptos::prelude::*;

/// The syntax error of a FEEL field, if any. `always` fields are expressions even without the
/// leading `=`.
pub(super) fn feel_error(text: &str, always: bool) -> Option<String> {
    let trimmed = text.trim();
    let expression = match trimmed.strip_prefix('=') {
        Some(expression) => expression,
        None if always => trimmed,
        None => return None,
    };
    if expression.trim().is_empty() {
        return (trimmed.starts_with('=')).then(|| "the expression is empty".to_owned());
    }
    feel::check(expression)
        .into_iter()
        .find(|d| d.severity == feel::Severity::Error)
        .map(|d| d.message)
}

/// The model's findings, with FEEL expressions checked by our parser.
pub(super) fn validate(defs: &bpmn::Definitions) -> Vec<Diagnostic> {
    let check = |expression: &str| -> Result<(), String> {
        match feel_error(expression, true) {
            Some(message) => Err(message),
            None => Ok(()),
        }
    };
    bpmn::validate_with(
        defs,
        &bpmn::ValidateOptions {
            feel: Some(&check),
            ..bpmn::ValidateOptions::default()
        },
    )
}

/// The worst finding per element, for the markers on the canvas.
pub(super) fn worst_per_element(diagnostics: &[Diagnostic]) -> HashMap<String, Severity> {
    let mut worst: HashMap<String, Severity> = HashMap::new();
    for d in diagnostics {
        if let Some(id) = &d.element_id {
            let entry = worst.entry(id.clone()).or_insert(d.severity);
            if d.severity == Severity::Error {
                *entry = Severity::Error;
            }
        }
    }
    worst
}

/// The list of findings; clicking one selects its element.
#[component]
pub(super) fn Problems(
    diagnostics: Memo<Vec<Diagnostic>>,
    editor: RwSignal<Editor>,
) -> impl IntoView {
    view! {
        <section class="problems" data-testid="problems">
            <h2>{move || format!("Problems ({})", diagnostics.read().len())}</h2>
            <ul>
                {move || diagnostics.get().into_iter().map(|d| {
                    let target = d.element_id.clone();
                    let class = if d.severity == Severity::Error { "finding-row error" } else { "finding-row warning" };
                    view! {
                        <li class=class data-code=d.code.to_string() data-element=d.element_id
                            on:click=move |_| if let Some(id) = target.clone() {
                                editor.update(|e| e.select(vec![id]));
                            }>
                            <code>{d.code.to_string()}</code>" "
                            {d.element_id.clone().map(|id| view! { <strong>{id}</strong>": " })}
                            {d.message}
                        </li>
                    }
                }).collect_view()}
            </ul>
        </section>
    }
}
