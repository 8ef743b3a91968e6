//! Validation: structural rules of BPMN and the rules Zeebe applies before it
//! deploys a process. Every finding carries a stable code documented in
//! `DIAGNOSTICS.md`; codes are never reused or renumbered.
//!
//! FEEL syntax is not checked here: pass a [`FeelCheck`] in
//! [`ValidateOptions::feel`] to have every FEEL expression of the model
//! (see [`feel_expressions`]) checked and reported as `BPMN119`.

mod diagnostic;
mod diagram;
mod events;
mod expressions;
mod flows;
mod gateways;
mod mappings;
mod references;
mod tasks;
mod zeebe;

use crate::model::*;
use crate::walk::scopes;

pub use diagnostic::{Code, Diagnostic, Severity};
pub use expressions::{FeelSite, feel_expressions};

/// A FEEL syntax checker supplied by the caller (the `feel` crate).
pub trait FeelCheck {
    /// Checks one expression (without its leading `=`); returns the error message if invalid.
    fn check(&self, expression: &str) -> Result<(), String>;
}

impl<F: Fn(&str) -> Result<(), String>> FeelCheck for F {
    fn check(&self, expression: &str) -> Result<(), String> {
        self(expression)
    }
}

/// What to check.
#[derive(Default, Clone, Copy)]
pub struct ValidateOptions<'a> {
    /// FEEL syntax checker; without it no FEEL checks run.
    pub feel: Option<&'a dyn FeelCheck>,
    /// Skip the Zeebe executability rules (`BPMN1xx`).
    pub skip_zeebe: bool,
    /// Skip the diagram rules (`BPMN022`, `BPMN023`).
    pub skip_di: bool,
}

/// Validates with default options (structural + Zeebe + DI rules, no FEEL).
pub fn validate(defs: &Definitions) -> Vec<Diagnostic> {
    validate_with(defs, &ValidateOptions::default())
}

/// Validates with explicit options. Diagnostics come in a stable order.
pub fn validate_with(defs: &Definitions, options: &ValidateOptions<'_>) -> Vec<Diagnostic> {
    let mut v = Validator {
        defs,
        out: Vec::new(),
    };
    v.ids();
    let all_scopes = scopes(defs);
    for s in &all_scopes {
        v.scope(s);
    }
    v.references();
    if !options.skip_di {
        v.diagram(&all_scopes);
    }
    if !options.skip_zeebe {
        v.zeebe(&all_scopes);
    }
    if let Some(feel) = options.feel {
        v.feel_syntax(feel);
    }
    v.out
}

/// Collects the findings; each family of rules adds its methods in its own module.
struct Validator<'a> {
    defs: &'a Definitions,
    out: Vec<Diagnostic>,
}

fn is_executable(p: &Process) -> bool {
    p.is_executable == Some(true)
}

impl<'a> Validator<'a> {
    fn push(&mut self, code: Code, id: Option<&str>, message: String) {
        self.push_sev(code, code.severity(), id, message);
    }

    fn push_sev(&mut self, code: Code, severity: Severity, id: Option<&str>, message: String) {
        self.out.push(Diagnostic {
            code,
            severity,
            message,
            element_id: id.filter(|s| !s.is_empty()).map(str::to_owned),
        });
    }
}
