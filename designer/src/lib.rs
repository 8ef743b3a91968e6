//! The Studio's editor logic, kept out of the browser so it can be unit-tested: an [`Editor`]
//! applies commands (create, move, connect, reconnect, delete, paste, property edits) to a
//! [`bpmn::Definitions`] with an undo stack; [`palette`] lists what can be created;
//! [`props`] reads and writes what the properties panel shows; [`scene`] turns a model into
//! the shapes and edges the canvas draws; [`gesture`] is the canvas's pointer state machine
//! (select, move, lasso, connect, pan, create from the palette), [`shortcut`] its keyboard
//! shortcuts and [`viewport`] its pan and zoom; [`sample`] generates large models for load
//! tests. The Leptos components stay thin over this.

pub mod clipboard;
pub mod editor;
pub mod gesture;
pub mod palette;
pub mod props;
pub mod sample;
pub mod scene;
pub mod shortcut;
mod tree;
pub mod viewport;

pub use clipboard::Clipboard;
pub use editor::{Editor, FlowEnd, GRID};
pub use gesture::{Effect, Gesture, Gestures, Pointer, Press, Target};
pub use palette::PaletteItem;
pub use props::{MultiInstanceProps, Properties, PropertyEdit, TimerKind};
pub use sample::generated;
pub use scene::{EdgeKind, EdgeView, Glyph, Scene, ShapeView};
pub use shortcut::Shortcut;
pub use viewport::Viewport;
