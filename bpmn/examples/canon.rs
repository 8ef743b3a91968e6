//! Prints the canonical form of a BPMN file: `cargo run -p bpmn --example canon -- FILE`.

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: canon FILE");
        std::process::exit(2);
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    match bpmn::parse_bytes(&bytes, &bpmn::ParseOptions::default()) {
        Ok(defs) => print!("{}", bpmn::to_xml(&defs)),
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    }
}
