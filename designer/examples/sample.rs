//! Prints a generated process of about N flow elements (default 1,000) as BPMN XML, for
//! trying the Studio on a large model and for its benchmark (`end2end/bench/studio.mjs`).
//!
//!     cargo run -p designer --example sample -- 1000 > generated.bpmn

fn main() {
    let nodes = std::env::args()
        .nth(1)
        .map(|n| n.parse().expect("the argument is a number of elements"))
        .unwrap_or(1000);
    print!("{}", bpmn::to_xml(&designer::generated(nodes)));
}
