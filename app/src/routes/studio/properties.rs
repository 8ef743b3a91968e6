//! The properties panel: the fields of the single selected element (or of the process when
//! nothing is selected), each committing one [`PropertyEdit`] when it changes, with FEEL
//! checked as the user types.

use designer::Editor;
use designer::props::{MultiInstanceProps, Properties, PropertyEdit, TimerKind};
use leptos::prelude::*;

use super::problems::feel_error;
use super::state::run;

/// The properties of the single selected element, or of the process when nothing is selected.
#[component]
pub(super) fn PropertiesPanel(
    editor: RwSignal<Editor>,
    revision: Memo<u64>,
    selection: Memo<Vec<String>>,
    problem: RwSignal<Option<String>>,
) -> impl IntoView {
    let target = Memo::new(move |_| {
        revision.track();
        let selected = selection.get();
        match selected.as_slice() {
            [] => editor.with_untracked(|e| e.process_id()),
            [one] => Some(one.clone()),
            _ => None,
        }
    });
    let props = Memo::new(move |_| {
        revision.track();
        let id = target.get()?;
        editor.with_untracked(|e| designer::props::properties(e.definitions(), &id))
    });
    let count = move || selection.read().len();
    view! {
        <section class="properties" data-testid="properties">
            {move || match props.get() {
                None if count() > 1 => view! {
                    <p class="muted">{format!("{} elements selected", count())}</p>
                }
                .into_any(),
                None => view! { <p class="muted">"Nothing to show."</p> }.into_any(),
                Some(p) => view! { <PropertyFields props=p editor problem /> }.into_any(),
            }}
        </section>
    }
}

#[component]
fn PropertyFields(
    props: Properties,
    editor: RwSignal<Editor>,
    problem: RwSignal<Option<String>>,
) -> impl IntoView {
    let id = StoredValue::new(props.id.clone());
    let set = move |edit: PropertyEdit| {
        let id = id.get_value();
        run(editor, problem, |e| e.set_property(&id, edit));
    };
    let text = |label: &'static str,
                key: &'static str,
                value: String,
                feel: Feel,
                edit: fn(String) -> PropertyEdit| {
        view! { <TextField label key value feel on_commit=move |v| set(edit(v)) /> }
    };
    let timer = props.timer.clone().map(|(kind, value)| {
        let kind = RwSignal::new(kind);
        let value = StoredValue::new(value);
        let commit = move || set(PropertyEdit::Timer(kind.get_untracked(), value.get_value()));
        view! {
            <fieldset>
                <legend>"Timer"</legend>
                <label>
                    "Type"
                    <select data-prop="timer-kind" on:change=move |ev| {
                        kind.set(match event_target_value(&ev).as_str() {
                            "date" => TimerKind::Date,
                            "cycle" => TimerKind::Cycle,
                            _ => TimerKind::Duration,
                        });
                        commit();
                    }>
                        <option value="date" selected=kind.get_untracked() == TimerKind::Date>"Date"</option>
                        <option value="duration" selected=kind.get_untracked() == TimerKind::Duration>"Duration"</option>
                        <option value="cycle" selected=kind.get_untracked() == TimerKind::Cycle>"Cycle"</option>
                    </select>
                </label>
                <TextField label="Value" key="timer-value" value=value.get_value() feel=Feel::Optional
                    on_commit=move |v| { value.set_value(v); commit(); } />
                <p class="hint">"ISO 8601: 2026-12-24T09:00:00Z, PT15M, R3/PT1H — or a FEEL expression starting with =."</p>
            </fieldset>
        }
    });
    let multi = props.multi_instance.clone().map(|current| {
        let enabled = current.is_some();
        let value = StoredValue::new(current.unwrap_or_default());
        let commit = move || set(PropertyEdit::MultiInstance(Some(value.get_value())));
        let field = move |label: &'static str, key: &'static str, get: fn(&MultiInstanceProps) -> String, put: fn(&mut MultiInstanceProps, String), feel: Feel| {
            view! {
                <TextField label key value=get(&value.get_value()) feel
                    on_commit=move |v| { value.update_value(|p| put(p, v)); commit(); } />
            }
        };
        view! {
            <fieldset>
                <legend>"Multi-instance"</legend>
                <label class="check">
                    <input type="checkbox" data-prop="multi-instance" checked=enabled on:change=move |ev| {
                        if event_target_checked(&ev) { commit() } else { set(PropertyEdit::MultiInstance(None)) }
                    } />
                    "Run once per item of a collection"
                </label>
                {enabled.then(|| view! {
                    <label class="check">
                        <input type="checkbox" data-prop="mi-sequential" checked=value.get_value().sequential on:change=move |ev| {
                            let sequential = event_target_checked(&ev);
                            value.update_value(|p| p.sequential = sequential);
                            commit();
                        } />
                        "Sequential"
                    </label>
                    {field("Input collection", "mi-input-collection", |p| p.input_collection.clone(), |p, v| p.input_collection = v, Feel::Always)}
                    {field("Input element", "mi-input-element", |p| p.input_element.clone(), |p, v| p.input_element = v, Feel::Never)}
                    {field("Output collection", "mi-output-collection", |p| p.output_collection.clone(), |p, v| p.output_collection = v, Feel::Never)}
                    {field("Output element", "mi-output-element", |p| p.output_element.clone(), |p, v| p.output_element = v, Feel::Always)}
                    {field("Completion condition", "mi-completion", |p| p.completion_condition.clone(), |p, v| p.completion_condition = v, Feel::Always)}
                })}
            </fieldset>
        }
    });
    view! {
        <h2 data-testid="properties-kind">{props.kind.clone()}</h2>
        {text("Id", "id", props.id.clone(), Feel::Never, PropertyEdit::Id)}
        {text("Name", "name", props.name.clone(), Feel::Never, PropertyEdit::Name)}
        <TextArea label="Documentation" key="documentation" value=props.documentation.clone()
            on_commit=move |v| set(PropertyEdit::Documentation(v)) />
        {props.task_type.clone().map(|v| text("Task type", "task-type", v, Feel::Optional, PropertyEdit::TaskType))}
        {props.retries.clone().map(|v| text("Retries", "retries", v, Feel::Optional, PropertyEdit::Retries))}
        {props.headers.clone().map(|rows| view! {
            <PairsField legend="Headers" key="headers" names=("Key", "Value") rows feel_first=Feel::Never
                on_commit=move |rows| set(PropertyEdit::Headers(rows)) />
        })}
        {props.condition.clone().map(|v| text("Condition", "condition", v, Feel::Always, PropertyEdit::Condition))}
        {props.is_default.map(|checked| view! {
            <label class="check">
                <input type="checkbox" data-prop="default" checked=checked
                    on:change=move |ev| set(PropertyEdit::Default(event_target_checked(&ev))) />
                "Default flow"
            </label>
        })}
        {timer}
        {props.message_name.clone().map(|v| text("Message name", "message-name", v, Feel::Optional, PropertyEdit::MessageName))}
        {props.correlation_key.clone().map(|v| text("Correlation key", "correlation-key", v, Feel::Always, PropertyEdit::CorrelationKey))}
        {props.error_code.clone().map(|v| text("Error code", "error-code", v, Feel::Optional, PropertyEdit::ErrorCode))}
        {props.called_process_id.clone().map(|v| text("Called process id", "called-process-id", v, Feel::Optional, PropertyEdit::CalledProcessId))}
        {multi}
        {props.inputs.clone().map(|rows| view! {
            <PairsField legend="Inputs" key="inputs" names=("Source (FEEL)", "Target variable") rows feel_first=Feel::Always
                on_commit=move |rows| set(PropertyEdit::Inputs(rows)) />
        })}
        {props.outputs.map(|rows| view! {
            <PairsField legend="Outputs" key="outputs" names=("Source (FEEL)", "Target variable") rows feel_first=Feel::Always
                on_commit=move |rows| set(PropertyEdit::Outputs(rows)) />
        })}
    }
}

/// Whether a field holds FEEL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Feel {
    Never,
    /// When it starts with `=`.
    Optional,
    /// Always an expression.
    Always,
}

impl Feel {
    fn error(self, text: &str) -> Option<String> {
        match self {
            Feel::Never => None,
            Feel::Optional => feel_error(text, false),
            Feel::Always => feel_error(text, true),
        }
    }
}

/// A one-line field that commits on change (blur or Enter) and underlines FEEL errors as the
/// user types.
#[component]
fn TextField(
    label: &'static str,
    key: &'static str,
    value: String,
    feel: Feel,
    #[prop(into)] on_commit: Callback<String>,
) -> impl IntoView {
    let error = RwSignal::new(feel.error(&value));
    view! {
        <label class="field">
            {label}
            <input type="text" data-prop=key value=value class:feel-error=move || error.read().is_some()
                aria-invalid=move || error.read().is_some().to_string()
                on:input=move |ev| error.set(feel.error(&event_target_value(&ev)))
                on:change=move |ev| on_commit.run(event_target_value(&ev)) />
            {move || error.get().map(|e| view! { <small class="field-error" data-error-for=key>{e}</small> })}
        </label>
    }
}

#[component]
fn TextArea(
    label: &'static str,
    key: &'static str,
    value: String,
    #[prop(into)] on_commit: Callback<String>,
) -> impl IntoView {
    view! {
        <label class="field">
            {label}
            <textarea data-prop=key rows="3" prop:value=value
                on:change=move |ev| on_commit.run(event_target_value(&ev))></textarea>
        </label>
    }
}

/// Key/value rows (headers, input and output mappings): edit in place, remove, add.
#[component]
fn PairsField(
    legend: &'static str,
    key: &'static str,
    names: (&'static str, &'static str),
    rows: Vec<(String, String)>,
    feel_first: Feel,
    #[prop(into)] on_commit: Callback<Vec<(String, String)>>,
) -> impl IntoView {
    let current = StoredValue::new(rows.clone());
    let new_left = RwSignal::new(String::new());
    let new_right = RwSignal::new(String::new());
    let new_error = Memo::new(move |_| feel_first.error(&new_left.get()));
    let edit = move |index: usize, left: bool, value: String| {
        let mut rows = current.get_value();
        if let Some(row) = rows.get_mut(index) {
            if left {
                row.0 = value;
            } else {
                row.1 = value;
            }
        }
        on_commit.run(rows);
    };
    view! {
        <fieldset class="pairs" data-prop=key>
            <legend>{legend}</legend>
            {rows
                .into_iter()
                .enumerate()
                .map(|(index, (left, right))| {
                    let error = RwSignal::new(feel_first.error(&left));
                    view! {
                        <div class="pair" data-row=index>
                            <input type="text" aria-label=names.0 value=left class:feel-error=move || error.read().is_some()
                                on:input=move |ev| error.set(feel_first.error(&event_target_value(&ev)))
                                on:change=move |ev| edit(index, true, event_target_value(&ev)) />
                            <input type="text" aria-label=names.1 value=right
                                on:change=move |ev| edit(index, false, event_target_value(&ev)) />
                            <button type="button" class="remove" title="Remove" on:click=move |_| {
                                let mut rows = current.get_value();
                                rows.remove(index);
                                on_commit.run(rows);
                            }>"×"</button>
                            {move || error.get().map(|e| view! { <small class="field-error">{e}</small> })}
                        </div>
                    }
                })
                .collect_view()}
            <div class="pair new">
                <input type="text" aria-label=names.0 placeholder=names.0 data-new="left"
                    class:feel-error=move || new_error.read().is_some()
                    prop:value=move || new_left.get() on:input=move |ev| new_left.set(event_target_value(&ev)) />
                <input type="text" aria-label=names.1 placeholder=names.1 data-new="right"
                    prop:value=move || new_right.get() on:input=move |ev| new_right.set(event_target_value(&ev)) />
                <button type="button" data-add=key on:click=move |_| {
                    let (left, right) = (new_left.get_untracked(), new_right.get_untracked());
                    if left.trim().is_empty() && right.trim().is_empty() {
                        return;
                    }
                    let mut rows = current.get_value();
                    rows.push((left, right));
                    new_left.set(String::new());
                    new_right.set(String::new());
                    on_commit.run(rows);
                }>"Add"</button>
                {move || new_error.get().map(|e| view! { <small class="field-error">{e}</small> })}
            </div>
        </fieldset>
    }
}
