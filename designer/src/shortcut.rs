//! The Studio's keyboard shortcuts: which key does what, decided here so the mapping is tested
//! without a browser.

/// What a shortcut asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shortcut {
    /// Delete or Backspace: delete the selection.
    Delete,
    /// Escape: drop the gesture under way and the selection.
    Cancel,
    Undo,
    Redo,
    Copy,
    Paste,
    SelectAll,
}

impl Shortcut {
    /// The shortcut of a key press: `key` as the browser names it (`"z"`, `"Delete"`), `ctrl`
    /// for Control or Command (macOS), `shift` for Shift. `None` leaves the key to the page.
    pub fn of_key(key: &str, ctrl: bool, shift: bool) -> Option<Self> {
        Some(match key {
            "Delete" | "Backspace" => Self::Delete,
            "Escape" => Self::Cancel,
            "z" | "Z" if ctrl && shift => Self::Redo,
            "z" | "Z" if ctrl => Self::Undo,
            "y" | "Y" if ctrl => Self::Redo,
            "c" | "C" if ctrl => Self::Copy,
            "v" | "V" if ctrl => Self::Paste,
            "a" | "A" if ctrl => Self::SelectAll,
            _ => return None,
        })
    }
}
